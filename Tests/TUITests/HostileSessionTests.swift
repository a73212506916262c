// A session.json is user input. Each field a hand edit (or a corrupted disk) can get wrong is
// refused with the field named, or clamped; what loads is applied to a real workbench, run, and
// drawn at 80×24 and 160×48 — none of which may crash. The named cases below each crashed or ran
// away before (negative site/neuron/neuronOffset/step, neuronOffset = Int.max, T = 10⁶); the
// fuzz loop mutates every field of a valid session (SPIKESCOPE_FUZZ_ROUNDS for long runs).
import Testing
import Foundation
import Engine
@testable import TUI
@testable import Workbench
import Models
import Formats

enum HostileSession {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ModelsTests/Fixtures/spikegpt").standardized

    static func workbench() throws -> Workbench {
        let model = try SpikeGPT(weights: Checkpoint.load(fixtures.appendingPathComponent("tiny.safetensors").path).tensors)
        let tok = try TokenizerLoader.load(path: fixtures.appendingPathComponent("tiny.vocab.json").path)
        return Workbench(model: model, codec: Opener.codec(tok, modelPath: "tiny"), input: .prompt("spikes"))
    }

    /// A valid session of the tiny model, as JSON text.
    static func validJSON() throws -> [String: Any] {
        let wb = try workbench()
        let s = wb.runAndWait()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-hostile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try SessionFile(state: s, tokenizer: nil, glueFile: nil).save(in: dir)
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p))) as? [String: Any])
    }

    /// Writes `json` as DIR/session.json and loads it; the error text when refused.
    static func load(_ json: Any) throws -> Result<SessionFile, Error> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
        try data.write(to: URL(fileURLWithPath: dir + "/session.json"))
        return Result { try SessionFile.load(from: dir) }
    }

    /// Applies a loaded session to a fresh workbench, runs it and draws it at two sizes.
    static func applyRunAndDraw(_ file: SessionFile) throws {
        let wb = try workbench()
        file.apply(to: wb)
        let s = wb.runAndWait()
        for (w, h) in [(80, 24), (160, 48)] {
            var a = WorkbenchApp(workbench: wb)
            a.tick()
            var buf = ScreenBuffer(width: w, height: h)
            a.render(into: &buf, size: buf.size)
            // Keys after a hostile restore must not crash either.
            for key: KeyEvent in [.pageDown, .pageDown, .end, .right, .down, .char("]"), .home, .pageUp] { _ = a.handle(key) }
            a.tick()
            a.render(into: &buf, size: buf.size)
        }
        let c = s.cursor
        #expect(c.site >= 0 && c.site < max(s.siteNames.count, 1))
        #expect(c.neuronOffset >= 0 && c.neuronOffset < max(s.summary.width, 1))
        #expect(c.neuron >= 0 && c.neuron < max(s.summary.width, 1))
    }

    static func setting(_ json: [String: Any], _ path: [String], _ value: Any) -> [String: Any] {
        var j = json
        if path.count == 1 { j[path[0]] = value; return j }
        let inner = (j[path[0]] as? [String: Any]) ?? [:]
        j[path[0]] = setting(inner, Array(path.dropFirst()), value)
        return j
    }
}

@Suite struct HostileSessionTests {
    @Test func negativeIndicesAreRefusedWithTheFieldNamed() throws {
        let valid = try HostileSession.validJSON()
        for field in ["site", "step", "token", "neuronOffset", "neuron"] {
            let r = try HostileSession.load(HostileSession.setting(valid, ["cursor", field], -3))
            guard case .failure(let e) = r else { Issue.record("cursor.\(field) = -3 was accepted"); continue }
            #expect("\(e)".contains("cursor.\(field)") && "\(e)".contains("-3"), "\(e)")
        }
    }

    @Test func hugeIndicesAreClampedAndDrawn() throws {
        let valid = try HostileSession.validJSON()
        var j = HostileSession.setting(valid, ["cursor", "neuronOffset"], Int.max)
        j = HostileSession.setting(j, ["cursor", "site"], Int.max)
        j = HostileSession.setting(j, ["cursor", "neuron"], 1 << 40)
        j = HostileSession.setting(j, ["cursor", "step"], Int.max)
        j = HostileSession.setting(j, ["cursor", "token"], Int.max)
        let file = try HostileSession.load(j).get()
        try HostileSession.applyRunAndDraw(file)
    }

    @Test func runawayTimestepsAndBadControlsAreRefused() throws {
        let valid = try HostileSession.validJSON()
        let cases: [([String], Any, String)] = [
            (["timesteps"], 1_000_000, "timesteps"), (["timesteps"], 0, "timesteps"),
            (["k", "blocks.0.att.lif"], -1.0, "k.blocks.0.att.lif"), (["k", "blocks.0.att.lif"], 1e30, "k.blocks.0.att.lif"),
            (["thresholdScale", "blocks.0.att.lif"], 0.0, "thresholdScale.blocks.0.att.lif"),
            (["version"], 7, "version"),
        ]
        for (path, value, field) in cases {
            guard case .failure(let e) = try HostileSession.load(HostileSession.setting(valid, path, value)) else {
                Issue.record("\(path) = \(value) was accepted"); continue
            }
            #expect("\(e)".contains("'\(field)'"), "\(e)")
        }
    }

    @Test func wrongTypesNameTheFieldInPlainWords() throws {
        let valid = try HostileSession.validJSON()
        let e1 = try #require(try HostileSession.load(HostileSession.setting(valid, ["cursor", "site"], "two")).failure)
        #expect("\(e1)".contains("field 'cursor.site' is not an integer (found the string \"two\")"), "\(e1)")
        let e2 = try #require(try HostileSession.load(HostileSession.setting(valid, ["neuron"], "quantum")).failure)
        #expect("\(e2)".contains("field 'neuron'"), "\(e2)")
        var missing = valid
        missing["cursor"] = nil
        let e3 = try #require(try HostileSession.load(missing).failure)
        #expect("\(e3)".contains("field 'cursor' is missing"), "\(e3)")
        #expect(!"\(e1)\(e2)\(e3)".contains("DecodingError") && !"\(e1)\(e2)\(e3)".contains("CodingKeys"))
    }

    /// A neuron kind the model's family does not run is refused (status says so), not silently
    /// replaced by another kind.
    @Test func anUnsupportedNeuronInASessionIsRefusedOutLoud() throws {
        let valid = try HostileSession.validJSON()
        let file = try HostileSession.load(HostileSession.setting(valid, ["neuron"], "elastic")).get()
        let wb = try HostileSession.workbench()
        file.apply(to: wb)
        let s = wb.runAndWait()
        #expect(s.neuron == .lif)
        #expect(s.status.contains("'elastic' is not one SpikeGPT runs (lif, gif, none)"), "\(s.status)")
    }

    @Test func aFIFOAsSessionFileIsRefusedNotWaitedOn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-fifo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/session.json", 0o600) == 0)
        let e = try #require(throws: ModelError.self) { try SessionFile.load(from: dir) }
        #expect(e.description.contains("named pipe"), "\(e)")
    }

    /// Every field of a valid session mutated to hostile values, one to three at a time.
    @Test func fuzzedSessionsLoadOrFailCleanlyAndNeverCrashTheScreen() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["SPIKESCOPE_FUZZ_ROUNDS"] ?? "").map { $0 / 50 } ?? 60
        let valid = try HostileSession.validJSON()
        // Every leaf path of the valid session.
        func leaves(_ v: Any, _ prefix: [String]) -> [[String]] {
            guard let d = v as? [String: Any] else { return [prefix] }
            return d.keys.sorted().flatMap { leaves(d[$0]!, prefix + [$0]) } + (prefix.isEmpty ? [] : [prefix])
        }
        let paths = leaves(valid, [])
        let values: [Any] = [-1, 0, 1, Int.max, Int.min, -9_999_999, 1_000_000, 1e300, -0.0, 0.5, "", "x", "lif", "gif", "none",
                             NSNull(), true, [Any](), [String: Any](), "/nonexistent/model.safetensors", ["prompt": ["_0": ""]]]
        let numbers: [Any] = [-1, 0, 1, 2, 3, 7, 64, 65, Int.max, 1 << 40, 0.001, 1e6, 2e6]
        var rng = SeededRNG(seed: 0x5E55)
        var accepted = 0, refused = 0
        for _ in 0..<rounds {
            var j = valid
            for _ in 0...Int(rng.next() % 3) {
                let p = paths[Int(rng.next() % UInt64(paths.count))]
                // Half the time a value of the field's own type (numbers stay numbers), so that
                // many mutants load and reach the screen; otherwise anything.
                var original: Any? = valid
                for k in p { original = (original as? [String: Any])?[k] }
                let pool = (original is NSNumber && rng.next() % 2 == 0) ? numbers : values
                j = HostileSession.setting(j, p, pool[Int(rng.next() % UInt64(pool.count))])
            }
            switch try HostileSession.load(j) {
            case .success(let f): try HostileSession.applyRunAndDraw(f); accepted += 1
            case .failure(let e):
                refused += 1
                #expect("\(e)".contains("session.json"), "\(e)")
            }
        }
        print("session fuzz: \(rounds) rounds, \(accepted) accepted and drawn, \(refused) refused")
        #expect(accepted > 0 && refused > 0)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
}
