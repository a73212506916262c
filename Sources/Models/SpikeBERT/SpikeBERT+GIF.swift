// SpikeBERT with SpikeLLM's neuron at its spiking sites (SEEDS-SPIKELLM.md; the same neuron as the
// LLaMA family, Common/SpikeLLMQuantizer.swift): every site's input (the linear inputs and the K/V
// spikes) is coded per token, ordinary channels at abits, salient ones at abits + addbit as
// 2^addbit GIF steps, the salient channels calibrated on an input; the dequantised value is what
// the next linear reads. The model's own T is 1 in this mode: GIF neurons carry their own steps.
//
// What it is: the site hook `runGIF` (called from `runSite`) and `calibrateGIF`.
// What it is not: trained GIF weights — this is post-training conversion of the float BERT.

import Foundation
import Engine
import Neurons

extension SpikeBERT {
    /// GIF at one site over `rows` rows: collect (calibration), code, or pass through.
    func runGIF(_ site: String, _ input: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                valid: [Bool], probe: Probe?) {
        let n = rows * width
        if gifCollector != nil {
            // Calibration: real inputs of the valid (unpadded) rows; the output is the input.
            for r in 0..<rows where r >= valid.count || valid[r] {
                gifCollector![site, default: []].append(contentsOf: UnsafeBufferPointer(start: input + r * width, count: width))
            }
            out.update(from: input, count: n)
            return
        }
        guard let masks = gifMasks else {
            out.update(from: input, count: n)
            return
        }
        let x = Array(UnsafeBufferPointer(start: input, count: n))
        let decoded = SpikeLLMQuantizer.codeAndRecord(x, rows: rows, width: width, mask: masks[site], settings: spikeLLM, site: site, probe: probe)
        decoded.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: n) }
    }

    /// Calibrates the salient channels of every site on `inputs` (token ids and type ids): collects
    /// every site's real input (the float model's), then ranks its channels by x ⊙ (x·Wᵀ·W) with the
    /// weight of the linear that reads it (`weights` names the HF tensors); the K/V spikes (no
    /// linear after them) rank channels by the mean of x².
    public func calibrateGIF(inputs: [(ids: [Int], typeIds: [Int]?)], settings: SpikeLLMSettings,
                             weights tensors: [String: Tensor]) throws -> [String: SpikeLLMMask] {
        try settings.validate()
        let savedNeuron = neuron
        defer { neuron = savedNeuron; gifCollector = nil }
        neuron = .gif
        gifMasks = nil
        gifCollector = [:]
        for inp in inputs { _ = try forward(ids: inp.ids, typeIds: inp.typeIds) }
        let collected = gifCollector ?? [:]
        var masks: [String: SpikeLLMMask] = [:]
        for name in siteNames {
            guard let x = collected[name], !x.isEmpty else { continue }
            let W = tensors[name + ".weight"] ?? tensors["bert." + name + ".weight"]
            let C = W?.shape[1] ?? config.hiddenSize
            var acc = SaliencyAccumulator(channels: C)
            acc.add(x: x, rows: x.count / C, weight: W?.elementPointer, out: W?.shape[0] ?? C)
            masks[name] = SpikeLLMQuantizer.mask(saliency: acc.mean, lowP: settings.lowP)
        }
        return masks
    }
}
