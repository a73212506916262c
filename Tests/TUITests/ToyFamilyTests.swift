// A third model family defined only here — an embedding, one linear, one LIF site — goes through
// the same seam as SpikeGPT and SpikeBERT with no change outside this file: a registry that lists
// it detects and loads its checkpoint, the Workbench runs it, the workbench screen draws it (a
// snapshot), and the inspect report describes it. This is the "Adding a model family" recipe of
// the README, followed.
import Testing
import Foundation
import Engine
import Neurons
import Formats
import Models
@testable import TUI
@testable import Workbench

/// toy: x = emb[id]; h = W·x; spikes = LIF(h) over the tokens; logits = emb · spikes.
struct ToyModel: InspectableModel {
    let emb: Tensor   // [V, C]
    let proj: Tensor  // [C, C]
    var lif = LIFConfig()
    var neuron: NeuronKind = .lif

    var V: Int { emb.shape[0] }
    var C: Int { emb.shape[1] }
    var summary: ModelSummary { ModelSummary(family: ToyFamily.traits, layers: 1, width: C, vocab: V) }
    var siteNames: [String] { ["toy.lif"] }
    var neuronChoices: [NeuronKind] { ToyFamily().neuronKinds }
    func frequency(site: String) -> Float { lif.k }
    mutating func setFrequency(_ k: Float, site: String?) { lif.k = k }
    mutating func scaleThreshold(by factor: Float, site: String?) { lif.vThreshold *= factor }
    var timesteps: Int? { get { nil } set {} }
    var linearUses: [LinearUse] {
        [LinearUse(name: "toy.proj", inputSite: nil, inFeatures: C, outFeatures: C),
         LinearUse(name: "toy.head", inputSite: "toy.lif", inFeatures: C, outFeatures: V)]
    }
    var weights: [String: Tensor] { ["toy.emb": emb, "toy.proj": proj] }
    func copy() -> any InspectableModel { self }

    func run(_ input: ModelInput, probe: Probe?) throws -> ModelRun {
        let e = emb.values, w = proj.values
        let T = input.ids.count
        var current = [Float](repeating: 0, count: T * C)
        for (t, id) in input.ids.enumerated() {
            guard id >= 0 && id < V else { throw ModelError.invalidInput(field: "ids", reason: "id \(id) outside 0..<\(V)", hint: "") }
            for o in 0..<C { current[t * C + o] = (0..<C).reduce(0) { $0 + w[o * C + $1] * e[id * C + $1] } }
        }
        var cell = LIF(width: C, config: lif)
        var spikes = [Float](repeating: 0, count: T * C), charged = [Float](repeating: 0, count: T * C)
        if neuron == .none { spikes = current; charged = current } else {
            current.withUnsafeBufferPointer { x in
                spikes.withUnsafeMutableBufferPointer { s in
                    charged.withUnsafeMutableBufferPointer { h in cell.run(steps: T, x.baseAddress!, spikes: s.baseAddress!, charged: h.baseAddress!) }
                }
            }
        }
        probe?.record("toy.lif", neuron: neuron, width: C, membrane: charged, spikes: spikes, current: current)
        let logits = (0..<T).map { t in (0..<V).map { v in (0..<C).reduce(Float(0)) { $0 + e[v * C + $1] * spikes[t * C + $1] } } }
        let hidden = (0..<T).map { Array(spikes[($0 * C)..<(($0 + 1) * C)]) }
        return ModelRun(logits: logits, hidden: hidden, steps: T)
    }
}

struct ToyFamily: ModelFamily {
    static let traits = FamilyTraits(id: "toy", displayName: "ToySpike", steps: .tokens, generates: false)
    var traits: FamilyTraits { Self.traits }
    var neuronKinds: [NeuronKind] { [.lif, .none] }
    var signature: String { "toy.emb, toy.proj" }
    func recognises(_ names: Set<String>) -> Bool { names.contains("toy.emb") && names.contains("toy.proj") }
    func load(_ ws: WeightSet) throws -> any InspectableModel {
        guard let emb = ws["toy.emb"], emb.shape.count == 2 else { throw ModelError.missingTensor(name: "toy.emb", hint: "[V, C]") }
        let C = emb.shape[1]
        let proj = try ws.require("toy.proj", shape: [C, C], why: "C from toy.emb")
        return ToyModel(emb: emb, proj: proj)
    }

    /// A deterministic toy checkpoint: V = 7, C = 6.
    static func writeCheckpoint(to path: String) throws {
        var rng = SeededRNG(seed: 7)
        func values(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in (Float(rng.next() % 2001) / 1000 - 1) * scale } }
        _ = try SafeTensors.write([(name: "toy.emb", tensor: try Tensor(shape: [7, 6], values: values(42, scale: 1))),
                                   (name: "toy.proj", tensor: try Tensor(shape: [6, 6], values: values(36, scale: 1.5)))], to: path)
    }
}

@Suite struct ToyFamilyTests {
    static let codec = TextCodec(name: "letters", encode: { text, _ in
        let ids = text.unicodeScalars.map { Int($0.value) % 7 }
        return (ids, [], text.map { String($0) })
    }, decode: { ids in ids.map { String(Character(Unicode.Scalar(UInt8(97 + $0 % 26)))) }.joined() })

    @Test func aThirdFamilyLoadsRunsDrawsAndReports() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-toy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/toy.safetensors"
        try ToyFamily.writeCheckpoint(to: path)

        // Detection: the standard registry does not know it (and says what each family wants);
        // a registry with one more line does.
        let unknown = try #require(throws: ModelError.self) { _ = try ModelLoader.load(path: path) }
        #expect(unknown.description.contains("toy.safetensors") && unknown.description.contains("SpikeGPT")
                && unknown.description.contains("SpikeBERT"), "\(unknown)")
        let registry = ModelRegistry(families: ModelRegistry.standard.families + [ToyFamily()])
        let loaded = try ModelLoader.load(path: path, registry: registry)
        #expect(loaded.family.traits == ToyFamily.traits)
        #expect(throws: ModelError.self) { try loaded.model.checkNeuron(.elastic) }

        // The workbench runs it.
        let wb = Workbench(model: loaded.model, codec: Self.codec, input: .prompt("spiking toys"), modelPath: path)
        let s = wb.runAndWait()
        #expect(s.error == nil, "\(s.error ?? "")")
        #expect(s.siteNames == ["toy.lif"] && s.stepCount == 12 && s.trace.sites.first?.steps == 12)
        let rate = try #require(s.stats.first?.firingRate)
        #expect(rate > 0 && rate < 1)
        wb.apply(.frequency(up: true)); wb.apply(.frequency(up: true)); wb.apply(.frequency(up: true))
        let tuned = wb.runAndWait()
        #expect(try #require(tuned.stats.first?.firingRate) < rate, "raising k must lower the toy's firing rate")

        // The screen draws it (snapshot), named as the family names itself.
        var shown = s
        shown.status = "computed"  // the real one carries a time in ms
        var buf = Snapshot.canvas(100, 30)
        WorkbenchScreen.render(shown, ui: WorkbenchUI(), caps: .full, into: &buf)
        Snapshot.check(buf, named: "workbench_toy_family_100x30")
        #expect(buf.lines().joined(separator: "\n").contains("ToySpike 1×6 V=7"))

        // inspect-shaped JSON.
        let report = InspectReport(model: loaded.model, path: path,
                                   input: .init(text: "spiking toys", textPair: nil, label: nil, tokens: s.ids, typeIds: []),
                                   run: try #require(s.run), trace: s.trace, traces: true)
        let obj = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect((obj["model"] as? [String: Any])?["arch"] as? String == "toy")
        #expect(obj["steps"] as? Int == 12)
        let site = try #require((obj["sites"] as? [[String: Any]])?.first)
        #expect(site["name"] as? String == "toy.lif" && (site["spikes"] as? [[Double]])?.count == 12)
        // Energy: the head reads the site's spikes (accumulates), the projection dense input (MACs).
        let energy = try #require(obj["energy"] as? [String: Any])
        #expect(try #require(energy["mac"] as? Double) == Double(12 * 6 * 6))
        // ACs = the site's spikes × the head's fan-out (V = 7), by hand from the trace.
        let spikes = s.trace.sites[0].spikes.filter { $0 != 0 }.count
        #expect(try #require(energy["ac"] as? Double) == Double(spikes * 7))
        #expect((energy["sites"] as? [String: Double])?["toy.lif"] == Double(spikes * 7))
    }
}
