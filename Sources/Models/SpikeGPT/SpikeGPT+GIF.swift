// SpikeGPT with GIF-coded linear inputs (SpikeLLM, SEEDS-SPIKELLM.md): every linear layer of the
// blocks reads its input through GIF neurons (the head and the embedding stay dense), with a
// per-channel T from Optimal Brain Spiking or uniform, calibrated on a few prompts.
//
// What it is: the calibration of a `GIFPlan` (Models/Common) per block linear, and the hook
// `layerIn` that SpikeGPT.forward calls before each block linear. What it is not: a trained
// model — the plan is post-training conversion of the float RWKV (LIF sites bypassed).

import Foundation
import Engine
import Neurons

/// How the workbench builds a GIF plan: levels L, the average-bits budget, the outlier fraction
/// (0 = uniform allocation), and k.
public struct GIFSettings: Sendable, Codable, Equatable {
    public var levels: Int = 2
    /// Average bits per activation; default: 4 merged steps of log2(2L+1) bits.
    public var bits: Double = 4 * log2(5.0)
    public var outlierFraction: Double = 0
    public var k: Float = 2
    public init() {}
    public var base: GIFConfig { GIFConfig(timesteps: levels, levels: levels, bidirectional: true, k: k) }
}

/// Collected inputs per linear layer during calibration.
final class InputCollector: @unchecked Sendable {
    var rows: [String: [Float]] = [:]
}

extension SpikeGPT {
    /// y = W·x for a block linear, with the input GIF-coded when a plan is in force.
    func layerIn(_ name: String, _ x: [Float], _ W: Tensor, _ y: inout [Float], rows T: Int, probe: Probe?) throws {
        let C = W.shape[1]
        if controls.collectInputs, let probe {
            // Calibration: record the real input as a site of kind `.none`.
            probe.record(name + ".in", neuron: .none, width: C, membrane: Array(x[0..<(T * C)]),
                         spikes: Array(x[0..<(T * C)]), current: nil)
        }
        guard controls.neuron == .gif, let plan = controls.gif, let alloc = plan.sites[name] else {
            linear(x, W, &y, rows: T)
            return
        }
        let decoded = plan.code(Array(x[0..<(T * C)]), rows: T, width: C, allocation: alloc, site: name + ".gif", probe: probe)
        linear(decoded, W, &y, rows: T)
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

    /// Calibrates a GIF plan on `prompts` (token ids), running the float model (LIF bypassed).
    /// `outlierFraction` 0 → uniform allocation at the same budget.
    public func calibrateGIF(prompts: [[Int]], base: GIFConfig, bits: Double, outlierFraction: Double) throws -> GIFPlan {
        try base.validate()
        var m = self
        m.controls.neuron = .none
        m.controls.collectInputs = true
        m.controls.gif = nil
        var collected: [String: [Float]] = [:]
        for p in prompts {
            var st = m.initialState()
            let probe = Probe(recordCurrent: false)
            _ = try m.forward(tokens: p, state: &st, probe: probe)
            for site in probe.trace.sites where site.name.hasSuffix(".in") {
                collected[String(site.name.dropLast(3)), default: []].append(contentsOf: site.membrane)
            }
        }
        var layersPlan: [String: ChannelAllocation] = [:]
        for (name, W) in blockLinears {
            guard let x = collected[name] else { continue }
            let C = W.shape[1], O = W.shape[0], R = x.count / C
            let theta = max(x.map(abs).max() ?? 1, 1e-6)
            let alloc = OptimalBrainSpiking.allocate(x: x, rows: R, weight: W.values, out: O, in: C, theta: theta,
                                                     bits: bits, outlierFraction: outlierFraction, base: base)
            layersPlan[name] = alloc
        }
        return GIFPlan(base: base, bits: bits, outlierFraction: outlierFraction, sites: layersPlan)
    }
}
