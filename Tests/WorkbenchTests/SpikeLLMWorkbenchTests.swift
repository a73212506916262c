import Testing
import Foundation
@testable import Workbench
import Models
import Neurons

/// A codec for the tiny LLaMA fixture (V = 399): each character's scalar value mod 399.
private let llamaCodec = TextCodec(name: "mod399", encode: { text, _ in
    (text.unicodeScalars.map { Int($0.value) % 399 }, [], text.map { String($0) })
}, decode: { ids in ids.map { String($0) }.joined(separator: " ") })

private func tinyLlama() throws -> any InspectableModel {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures/llama/llama-tiny")
    return try ModelLoader.load(path: url.standardized.path).model
}

@Suite struct SpikeLLMWorkbenchTests {
    /// A LLaMA folder in the workbench: GIF sites per projection, generation traced over prompt and
    /// continuation, and the SpikeLLM keys turning abits / addbit / low_p live.
    @Test func spikeLLMControlsChangeTheTraceLive() throws {
        let wb = Workbench(model: try tinyLlama(), codec: llamaCodec, input: .prompt("spiking llamas"), generate: 3)
        wb.apply(.neuron(.gif))
        var s = wb.runAndWait()
        #expect(s.error == nil)
        #expect(s.spikeLLM == SpikeLLMSettings())
        #expect(s.siteNames.count == 2 * 7 && s.siteNames[0] == "model.layers.0.self_attn.q_proj")
        let tokens = 14 + 3
        let q0 = try #require(s.trace["model.layers.0.self_attn.q_proj"])
        #expect(q0.layout == [2, tokens])
        #expect(q0.levels == 16 && q0.spikes.max()! <= 15)
        #expect(!q0.salient.isEmpty)
        // abits 4 → 3: 8 levels per step, every level fired ≤ 7.
        wb.apply(.spikeLLM(.abits, up: false))
        s = wb.runAndWait()
        #expect(s.spikeLLM?.abits == 3)
        let q1 = try #require(s.trace["model.layers.0.self_attn.q_proj"])
        #expect(q1.levels == 8 && q1.spikes.max()! <= 7)
        // addbit 1 → 2: four GIF steps for the salient channels.
        wb.apply(.spikeLLM(.addbit, up: true))
        s = wb.runAndWait()
        #expect(s.trace["model.layers.0.mlp.down_proj"]?.layout == [4, tokens])
        // low_p 0.90 → 0.80: more salient channels after recalibration.
        let before = s.trace["model.layers.0.mlp.down_proj"]!.salient.count
        wb.apply(.spikeLLM(.lowP, up: false)); wb.apply(.spikeLLM(.lowP, up: false))
        s = wb.runAndWait()
        #expect(abs((s.spikeLLM?.lowP ?? 0) - 0.8) < 1e-9)
        #expect(s.trace["model.layers.0.mlp.down_proj"]!.salient.count > before)
        // Float: sites record the inputs uncoded, and the knobs still answer.
        wb.apply(.neuron(.none))
        s = wb.runAndWait()
        #expect(s.trace.sites.allSatisfy { $0.neuron == .none })
    }

    /// A session keeps SpikeLLM's controls (plain keys), refuses bad ones by field, and a session
    /// written before them still loads.
    @Test func sessionsKeepSpikeLLMControls() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spikellm-session-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wb = Workbench(model: try tinyLlama(), codec: llamaCodec, input: .prompt("spiking llamas"))
        wb.apply(.neuron(.gif))
        wb.apply(.spikeLLM(.abits, up: false)); wb.apply(.spikeLLM(.addbit, up: true)); wb.apply(.spikeLLM(.lowP, up: false))
        let s = wb.runAndWait()
        _ = try SessionFile(state: s, tokenizer: nil, glueFile: nil).save(in: dir)
        let text = try String(contentsOfFile: SessionFile.path(in: dir), encoding: .utf8)
        #expect(text.contains("\"abits\"") && text.contains("\"lowP\""))
        let other = Workbench(model: try tinyLlama(), codec: llamaCodec, input: .prompt("x"))
        try SessionFile.load(from: dir).apply(to: other)
        let r = other.runAndWait()
        #expect(r.neuron == .gif && r.spikeLLM == SpikeLLMSettings(abits: 3, addbit: 2, lowP: 0.85))
        #expect(r.trace["model.layers.0.self_attn.q_proj"]?.levels == 8)
        // A bad value is refused by field; an old session (no spikeLLM key) loads.
        try text.replacingOccurrences(of: "\"abits\" : 3", with: "\"abits\" : 1").replacingOccurrences(of: "\"abits\":3", with: "\"abits\":1")
            .write(toFile: SessionFile.path(in: dir), atomically: true, encoding: .utf8)
        let e = try #require(throws: (any Error).self) { try SessionFile.load(from: dir) }
        #expect("\(e)".contains("spikeLLM"), "\(e)")
        var old = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        old["spikeLLM"] = nil
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: SessionFile.path(in: dir)))
        #expect(try SessionFile.load(from: dir).spikeLLM == nil)
    }

    @Test func knobsStayInRange() {
        var s = SpikeLLMSettings(abits: 2, addbit: 0, lowP: 0)
        s = SpikeLLMKnob.abits.stepped(s, up: false); s = SpikeLLMKnob.addbit.stepped(s, up: false); s = SpikeLLMKnob.lowP.stepped(s, up: false)
        #expect(s == SpikeLLMSettings(abits: 2, addbit: 0, lowP: 0))
        s = SpikeLLMSettings(abits: 8, addbit: 4, lowP: 1)
        s = SpikeLLMKnob.abits.stepped(s, up: true); s = SpikeLLMKnob.addbit.stepped(s, up: true); s = SpikeLLMKnob.lowP.stepped(s, up: true)
        #expect(s == SpikeLLMSettings(abits: 8, addbit: 4, lowP: 1))
        #expect(throws: Never.self) { try s.validate() }
    }
}
