// Energy: the operation count and energy estimate of one run (SEEDS.md, "Energy model").
//   dense layer:        MACs = in · out per row
//   spike-driven layer: ACs  = (nonzero input spikes) · out per row (+ one MAC per output per
//                       timestep when the spikes carry an amplitude α: y = α·(W·s))
//   energy = 4.6 pJ · MAC + 0.9 pJ · AC   (45 nm, Horowitz 2014, as SpikeGPT and SpikeLM use)
// Spikes that are added to a residual stream (SpikeGPT's LIF outputs) cost one AC each.
// So ACs are synaptic operations: Σ over sites of (spikes × fan-out of the layers they feed).
// `dense` is the float model's cost: every linear a MAC per row.
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
    /// Per linear layer: its MACs and ACs, and the site whose spikes it reads (nil: float input).
    public var layers: [Layer] = []
    /// Per spiking site: the ACs its spikes cause (its fan-out in the layers it feeds, plus the
    /// residual adds).
    public var sites: [String: Double] = [:]

    public struct Layer: Sendable, Equatable, Codable {
        public var name: String
        public var inputSite: String?
        public var mac: Double
        public var ac: Double
    }

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
        // Nonzero spikes per site, counted once (a site feeds several layers).
        var nonzero: [String: Int] = [:]
        func spikes(_ site: SiteTrace) -> Int {
            if let n = nonzero[site.name] { return n }
            let n = site.spikes.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
            nonzero[site.name] = n
            return n
        }
        for u in uses {
            let dense = Double(rows) * Double(u.inFeatures) * Double(u.outFeatures)
            var layer = EnergyEstimate.Layer(name: u.name, inputSite: nil, mac: 0, ac: 0)
            if let name = u.inputSite, let site = trace[name], site.neuron != .none {
                let nnz = spikes(site)
                layer.inputSite = name
                layer.ac = Double(nnz) * Double(u.outFeatures)
                if site.neuron == .elastic || site.neuron == .gif {
                    layer.mac = Double(site.steps) * Double(u.outFeatures)  // α · (W·s) per row
                }
                e.sites[name, default: 0] += layer.ac
                // The float model runs this layer once per token.
                e.denseMAC += dense
            } else {
                layer.mac = dense
                e.denseMAC += dense
            }
            e.mac += layer.mac
            e.ac += layer.ac
            e.layers.append(layer)
        }
        for name in residualSites {
            if let site = trace[name], site.neuron != .none {
                let adds = Double(spikes(site))
                e.ac += adds
                e.sites[name, default: 0] += adds
            }
        }
        return e
    }
}
