// Energy: the operation count and energy estimate of one run (SEEDS.md, "Energy model").
//   dense layer:        MACs = in · out per row
//   spike-driven layer: ACs  = (nonzero input spikes) · out per row (+ one MAC per output per
//                       timestep when the spikes carry an amplitude α: y = α·(W·s))
//   energy = 4.6 pJ · MAC + 0.9 pJ · AC   (45 nm, Horowitz 2014, as SpikeGPT and SpikeLM use)
// Spikes that are added to a residual stream (SpikeGPT's LIF outputs) cost one AC each.
// What it is not: a measurement. It counts what the model computes, not what the CPU does.

import Neurons
import Models

public struct EnergyEstimate: Sendable, Equatable, Codable {
    public var mac: Double = 0
    public var ac: Double = 0
    /// Picojoules, 4.6·MAC + 0.9·AC.
    public var pj: Double { Energy.pjPerMAC * mac + Energy.pjPerAC * ac }
    /// The same network run dense in float (every linear a MAC), for the ratio the papers quote.
    public var denseMAC: Double = 0
    public var densePJ: Double { Energy.pjPerMAC * denseMAC }

    public init() {}
}

public enum Energy {
    /// 45 nm figures (Horowitz, ISSCC 2014), as quoted by SpikeGPT and SpikeLM.
    public static let pjPerMAC = 4.6
    public static let pjPerAC = 0.9

    /// Counts operations for `rows` inputs (tokens, or timesteps × tokens) through `uses`.
    /// `trace` supplies the nonzero spike counts of the sites that feed spike-driven layers.
    public static func estimate(uses: [LinearUse], trace: Trace, rows: Int, residualSites: [String] = []) -> EnergyEstimate {
        var e = EnergyEstimate()
        for u in uses {
            let dense = Double(rows) * Double(u.inFeatures) * Double(u.outFeatures)
            if let name = u.inputSite, let site = trace[name], site.neuron != .none {
                let nnz = site.spikes.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
                e.ac += Double(nnz) * Double(u.outFeatures)
                if site.neuron == .elastic || site.neuron == .gif {
                    e.mac += Double(site.steps) * Double(u.outFeatures)  // α · (W·s) per row
                }
                e.denseMAC += Double(site.steps) * Double(u.inFeatures) * Double(u.outFeatures)
            } else {
                e.mac += dense
                e.denseMAC += dense
            }
        }
        for name in residualSites {
            if let site = trace[name], site.neuron != .none {
                e.ac += Double(site.spikes.reduce(0) { $0 + ($1 != 0 ? 1 : 0) })
            }
        }
        return e
    }
}
