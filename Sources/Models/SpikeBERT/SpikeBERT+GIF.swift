// SpikeBERT with GIF neurons at its spiking sites (SpikeLLM, SEEDS-SPIKELLM.md): every site's
// input (the linear inputs and the K/V spikes) is coded by GIF neurons with a per-channel T from
// Optimal Brain Spiking (or uniform), calibrated on an input; the decoded value θ_j/T_j·Σn is what
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
        guard let plan = gifPlan, let alloc = plan.sites[site] else {
            out.update(from: input, count: n)
            return
        }
        let x = Array(UnsafeBufferPointer(start: input, count: n))
        let decoded = plan.code(x, rows: rows, width: width, allocation: alloc, site: site, probe: probe)
        decoded.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: n) }
    }

    /// Calibrates a GIF plan on `inputs` (token ids and type ids): collects every site's real
    /// input (the float model's), then allocates per site. `weights` names the HF tensors, so a
    /// SpikeLinear site's saliency uses its own linear's weight; the K/V spikes (no linear after
    /// them) rank channels by H_jj alone.
    public func calibrateGIF(inputs: [(ids: [Int], typeIds: [Int]?)], base: GIFConfig, bits: Double, outlierFraction: Double,
                             weights tensors: [String: Tensor]) throws -> GIFPlan {
        try base.validate()
        let savedNeuron = neuron
        defer { neuron = savedNeuron; gifCollector = nil }
        neuron = .gif
        gifPlan = nil
        gifCollector = [:]
        for inp in inputs { _ = try forward(ids: inp.ids, typeIds: inp.typeIds) }
        let collected = gifCollector ?? [:]
        var sitesPlan: [String: ChannelAllocation] = [:]
        for name in siteNames {
            guard let x = collected[name], !x.isEmpty else { continue }
            let W = tensors[name + ".weight"] ?? tensors["bert." + name + ".weight"]
            let C = W?.shape[1] ?? config.hiddenSize
            let O = W?.shape[0] ?? C
            let R = x.count / C
            let w: [Float]
            if let W { w = W.values } else {
                var id = [Float](repeating: 0, count: C * C)
                for j in 0..<C { id[j * C + j] = 1 }
                w = id
            }
            let theta = max(x.map(abs).max() ?? 1, 1e-6)
            sitesPlan[name] = OptimalBrainSpiking.allocate(x: x, rows: R, weight: w, out: O, in: C, theta: theta,
                                                          bits: bits, outlierFraction: outlierFraction, base: base)
        }
        return GIFPlan(base: base, bits: bits, outlierFraction: outlierFraction, sites: sitesPlan)
    }
}
