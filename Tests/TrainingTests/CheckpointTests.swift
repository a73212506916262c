// Checkpoint files: round trip, truncation is caught, and a `kill -9` of a real `spikescope train`
// process leaves only complete checkpoints and a resumable `latest`.
import Foundation
import Testing
import Engine
@testable import Training

@Suite(.serialized) struct CheckpointTests {
    @Test func safetensorsRoundTripAndTruncation() throws {
        let dir = Fixture.tempDir("st")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.safetensors")
        let t: [String: Tensor] = ["a": try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "b": Tensor([-1.5])]
        try t.writeSafetensors(to: url, metadata: ["arch": "spikegpt"])
        let (back, meta) = try [String: Tensor].readSafetensors(url)
        #expect(meta["arch"] == "spikegpt")
        #expect(back["a"]?.shape == [2, 3] && back["a"]?.values == [1, 2, 3, 4, 5, 6] && back["b"]?.values == [-1.5])
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 4).write(to: url)
        #expect(throws: TrainingError.self) { try [String: Tensor].readSafetensors(url) }
        try data.prefix(5).write(to: url)
        #expect(throws: TrainingError.self) { try [String: Tensor].readSafetensors(url) }
    }

    @Test func latestIgnoresAnInterruptedCheckpoint() throws {
        let dir = Fixture.tempDir("ckpt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CheckpointStore.forSession(dir)
        #expect(try store.latest() == nil)
        // A weights file without the rest (a crash between renames) must not become `latest`.
        try ["x": Tensor([1])].writeSafetensors(to: store.weightsURL("step-000009"))
        #expect(try store.latest() == nil)
        try Data("garbage".utf8).write(to: store.latestURL)
        #expect(throws: TrainingError.self) { try store.latest() }
    }

    /// Launches the real binary, kills it with SIGKILL once a checkpoint exists, checks the
    /// directory, then resumes and checks the first reported step.
    @Test func killDashNineLeavesResumableCheckpoints() throws {
        let binary = Fixture.packageRoot.appendingPathComponent(".build/debug/spikescope")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("\(binary.path) is missing: run 'swift build' first (this test launches the built binary)")
            return
        }
        let dir = Fixture.tempDir("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("corpus.txt")
        try String(try String(contentsOf: Fixture.corpusURL, encoding: .utf8).prefix(30_000)).write(to: corpus, atomically: true, encoding: .utf8)
        let session = dir.appendingPathComponent("session")
        let args = ["train", "--corpus", corpus.path, "--session", session.path, "--steps", "1000000", "--layers", "1",
                    "--width", "32", "--context", "16", "--batch", "4", "--checkpoint-every", "3", "--eval-every", "0", "--json-progress"]
        let store = CheckpointStore(directory: session.appendingPathComponent("checkpoints"))

        let p = Process()
        p.executableURL = binary; p.arguments = args
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait for the second checkpoint so the kill lands in the middle of steady checkpointing.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? store.latest()) ?? nil).flatMap({ Int($0.dropFirst(5)) }).map({ $0 < 6 }) ?? true {
            usleep(20_000)
        }
        usleep(37_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)

        guard let latest = try store.latest() else { Issue.record("no checkpoint appeared within 60 s"); return }
        let loaded = try store.read(latest)  // all three files complete
        #expect(loaded.state.step == Int(latest.dropFirst(5)))
        let files = try FileManager.default.contentsOfDirectory(atPath: store.directory.path)
        for f in files where f.hasPrefix("step-") && f.hasSuffix(".safetensors") {
            // Every file under a final name is complete: it decodes.
            _ = try [String: Tensor].readSafetensors(store.directory.appendingPathComponent(f))
        }
        print("killed after \(latest); files: \(files.sorted())")

        let r = Process()
        r.executableURL = binary; r.arguments = args + ["--resume"]
        let out = Pipe()
        r.standardOutput = out; r.standardError = FileHandle.nullDevice
        try r.run()
        var buffer = Data()
        let h = out.fileHandleForReading
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        kill(r.processIdentifier, SIGKILL)
        r.waitUntilExit()
        let line = buffer.split(separator: UInt8(ascii: "\n")).first.map { Data($0) } ?? Data()
        let obj = try JSONSerialization.jsonObject(with: line) as? [String: Any]
        #expect(obj?["step"] as? Int == loaded.state.step + 1, "resumed run started at \(obj?["step"] ?? "nothing"), expected \(loaded.state.step + 1)")
    }
}
