// SpikeGPT with SpikeLLM's neuron at every block linear's input (SEEDS-SPIKELLM.md; the same
// neuron as the LLaMA family, Common/SpikeLLMQuantizer.swift): per token, ordinary channels at
// abits, salient ones at abits + addbit as 2^addbit GIF steps; the head and the embedding stay
// dense, the LIF sites are bypassed.
//
// What it is: the calibration of the salient channels per block linear (saliency x ⊙ (x·Wᵀ·W) on
// the float model's inputs), and the hook `layerIn` that SpikeGPT.forward calls before each block
// linear. What it is not: a trained model — post-training conversion of the float RWKV. Unlike the
// LLaMA family (block by block on the coded model, as released), every block here is calibrated
// on the float model's inputs in one pass.

import Foundation
import Engine
import Neurons

extension SpikeGPT {
    /// y = W·x for a block linear, with the input GIF-coded when a plan is in force.
    func layerIn(_ name: String, _ x: [Float], _ W: Tensor, _ y: inout [Float], rows T: Int, probe: Probe?, chunk: Bool = false) throws {
        let C = W.shape[1]
        if controls.collectInputs, let probe {
            // Calibration: record the real input as a site of kind `.none`.
            probe.record(name + ".in", neuron: .none, width: C, membrane: Array(x[0..<(T * C)]),
                         spikes: Array(x[0..<(T * C)]), current: nil)
        }
        guard controls.neuron == .gif, let masks = controls.gifMasks else {
            linear(x, W, &y, rows: T, chunk: chunk)
            return
        }
        let decoded = SpikeLLMQuantizer.codeAndRecord(Array(x[0..<(T * C)]), rows: T, width: C, mask: masks[name], settings: controls.spikeLLM,
                                                      site: name + ".gif", probe: probe)
        linear(decoded, W, &y, rows: T, chunk: chunk)
    }

    /// The block linears in order, with their weights (for calibration).
    var blockLinears: [(name: String, weight: Tensor)] {
        layers.enumerated().flatMap { (i, L) -> [(name: String, weight: Tensor)] in
            let p = "blocks.\(i)."
            return [(p + "att.key", L.attK), (p + "att.value", L.attV), (p + "att.receptance", L.attR),
                    (p + "att.output", L.attO), (p + "ffn.key", L.ffnK), (p + "ffn.value", L.ffnV),
                    (p + "ffn.receptance", L.ffnR)]
        }
    }

    /// Calibrates the salient channels of every block linear on `prompts` (token ids), running
    /// the float model (LIF bypassed), with `settings.lowP` of the channels ordinary.
    public func calibrateGIF(prompts: [[Int]], settings: SpikeLLMSettings) throws -> [String: SpikeLLMMask] {
        try settings.validate()
        var m = self
        m.controls.neuron = .none
        m.controls.collectInputs = true
        m.controls.gifMasks = nil
        var acc: [String: SaliencyAccumulator] = [:]
        for p in prompts {
            var st = m.initialState()
            let probe = Probe(recordCurrent: false)
            _ = try m.forward(tokens: p, state: &st, probe: probe)
            for site in probe.trace.sites where site.name.hasSuffix(".in") {
                let name = String(site.name.dropLast(3))
                guard let W = blockLinears.first(where: { $0.name == name })?.weight else { continue }
                var a = acc[name] ?? SaliencyAccumulator(channels: W.shape[1])
                a.add(x: site.membrane, rows: site.membrane.count / W.shape[1], weight: W.elementPointer, out: W.shape[0])
                acc[name] = a
            }
        }
        return acc.mapValues { SpikeLLMQuantizer.mask(saliency: $0.mean, lowP: settings.lowP) }
    }
}
