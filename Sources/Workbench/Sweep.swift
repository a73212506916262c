// Sweep: one control over a grid of values, each run compared with the float twin — the
// "energy vs fidelity" trade-off as one table (issue 18, `spikescope sweep`).
//
// What it is: for every value, the model with that control set (k at every site, T, or SpikeLLM's
// abits / low_p) runs the input; per site its firing rate, the energy its spikes cost downstream
// (ACs × pJ/AC, the energy model of Energy.swift) and the cosine of its output to the float run's;
// for the model, total and dense pJ and the output divergence from float (KL and top-1 agreement
// for generators, Δ class probabilities for classifiers).
// What it is not: a trainer or a search; the grid is the caller's.

import Foundation
import Neurons
import Models

public enum SweepControl: String, Sendable, CaseIterable {
    case k, timesteps, abits, lowP = "low_p"
}

public struct SweepSite: Codable, Sendable, Equatable {
    public var name: String
    public var rate: Double
    public var pj: Double
    /// Cosine of the site's output to the float run's (nil when the float run has no such site).
    public var cosineToFloat: Double?
    enum CodingKeys: String, CodingKey { case name, rate, pj, cosineToFloat = "cosine_to_float" }
}

public struct SweepRow: Codable, Sendable, Equatable {
    public var value: Double
    public var pj: Double
    public var densePJ: Double
    public var outputKL: Double?
    public var top1Agreement: Double?
    public var classProbabilityDelta: [Double]?
    public var sites: [SweepSite]
    enum CodingKeys: String, CodingKey {
        case value, pj, densePJ = "dense_pj", outputKL = "output_kl_vs_float", top1Agreement = "top1_agreement_vs_float",
             classProbabilityDelta = "class_probability_delta_vs_float", sites
    }
}

public struct SweepResult: Codable, Sendable, Equatable {
    public var control: String
    public var neuron: String
    public var tokens: Int
    public var rows: [SweepRow]
}

public enum Sweep {
    /// `count` values from `lo` to `hi` inclusive, evenly spaced (integers rounded for T and abits).
    public static func grid(_ lo: Double, _ hi: Double, _ count: Int, integer: Bool) -> [Double] {
        let n = max(count, 1)
        let v = (0..<n).map { n == 1 ? lo : lo + (hi - lo) * Double($0) / Double(n - 1) }
        guard integer else { return v }
        var out: [Double] = []
        for x in v.map({ $0.rounded() }) where out.last != x { out.append(x) }
        return out
    }

    /// Runs `input` under every value of `control`, each compared with the float twin.
    /// - Throws: `ModelError` when the model has no such control, or a run fails.
    public static func run(model: any InspectableModel, input: ModelInput, control: SweepControl, values: [Double]) throws -> SweepResult {
        var float = model.copy()
        try float.checkNeuron(.none)
        float.neuron = .none
        let fp = Probe(recordCurrent: false)
        let fr = try float.run(input, probe: fp)
        let baseline = ComparableRun(trace: fp.trace, logits: fr.logits, classLogits: fr.classLogits)
        var rows: [SweepRow] = []
        for v in values {
            var m = model.copy()
            switch control {
            case .k:
                guard v > 0 else { throw ModelError.invalidInput(field: "--k", reason: "is \(v)", hint: "k must be positive") }
                m.setFrequency(Float(v), site: nil)
            case .timesteps:
                try m.checkTimesteps(Int(v))
                m.timesteps = Int(v)
                if m.needsPreparation { try m.prepare(for: input) }
            case .abits, .lowP:
                guard var s = m.spikeLLM else {
                    throw ModelError.unsupported(what: "--\(control.rawValue) on \(m.summary.family.displayName)", hint: "SpikeLLM's controls need a family that runs its neuron (--neuron gif)")
                }
                if control == .abits { s.abits = Int(v) } else { s.lowP = v }
                try s.validate()
                m.spikeLLM = s
            }
            if m.needsPreparation { try m.prepare(for: input) }
            let p = Probe(recordCurrent: false)
            let r = try m.run(input, probe: p)
            let energy = Energy.estimate(uses: m.linearUses, trace: p.trace, rows: input.ids.count, residualSites: m.residualSites)
            let cmp = Comparison.compare(ComparableRun(trace: p.trace, logits: r.logits, classLogits: r.classLogits), to: baseline)
            let byName = Dictionary(cmp.sites.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let sites = p.trace.sites.map { s in
                SweepSite(name: s.name, rate: s.neuron == .none ? 0 : s.firingRate, pj: Energy.pjPerAC * (energy.sites[s.name] ?? 0),
                          cosineToFloat: byName[s.name]?.cosine)
            }
            rows.append(SweepRow(value: v, pj: energy.pj, densePJ: energy.densePJ, outputKL: cmp.outputKL,
                                 top1Agreement: cmp.top1Agreement, classProbabilityDelta: cmp.classProbabilityDelta, sites: sites))
        }
        return SweepResult(control: control.rawValue, neuron: model.neuron.rawValue, tokens: input.ids.count, rows: rows)
    }
}
