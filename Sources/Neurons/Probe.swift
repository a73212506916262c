// Probe and Trace: what a spiking site did, recorded during a forward pass.
//
// What it is: a recorder passed to `forward(…, probe:)`. Each spiking site appends rows (one row
// of C values per step: per token for SpikeGPT; per timestep × token, timestep-major, for
// SpikeBERT) of the charged membrane potential (before reset), the spike values, and the
// pre-spike input current; plus the amplitude α per timestep where the neuron has one.
// What it is not: global state. No probe → nothing is recorded and nothing is paid.
//
// Shape legend: S steps recorded, C width of the site.

import Engine

/// The neuron kinds users pick (the one vocabulary of the CLI, sessions and the workbench).
public enum NeuronKind: String, Codable, Sendable, CaseIterable {
    case lif, elastic, gif, none
    /// {0,1} spikes with a fixed threshold (SpikeLM ablation), ±1 spikes (binary sign).
    case binary, signed

    /// The spike alphabet of the amplitude (α) kinds; nil for LIF, GIF and none.
    public var alphabet: SpikeAlphabet? {
        switch self {
        case .elastic: return .ternary
        case .binary: return .binary
        case .signed: return .signed
        case .lif, .gif, .none: return nil
        }
    }

    /// The kind whose spikes use `alphabet`.
    public init(alphabet: SpikeAlphabet) {
        switch alphabet {
        case .ternary: self = .elastic
        case .binary: self = .binary
        case .signed: self = .signed
        }
    }
}

/// Everything recorded at one site. Arrays are row-major [S, C].
public struct SiteTrace: Sendable, Equatable {
    public var name: String
    public var neuron: NeuronKind
    public var width: Int
    /// Logical layout of the S rows: [tokens] (SpikeGPT) or [T, L] (SpikeBERT, timestep-major).
    public var layout: [Int]
    public var membrane: [Float] = []
    public var spikes: [Float] = []
    public var current: [Float] = []
    /// α per timestep (elastic), θ per timestep (gif) or v_threshold (lif) — the scale in force.
    public var amplitude: [Float] = []
    /// Threshold in force (for drawing), in membrane units.
    public var threshold: Float = 1
    /// Frequency control k in force when this trace was recorded.
    public var k: Float = 2
    /// GIF: levels L and exact bits per activation; nil elsewhere.
    public var levels: Int? = nil
    public var bitsPerActivation: Double? = nil
    /// GIF (Optimal Brain Spiking): the most salient channels, most salient first, with their
    /// saliency and the timesteps T each got; empty elsewhere.
    public var salientChannels: [SalientChannel] = []
    /// GIF: ‖x̂ − x‖/‖x‖ of the coded input against the real (float) input at this site.
    public var codingError: Double? = nil
    /// SpikeLLM: every salient channel (more steps), ascending; empty elsewhere.
    public var salient: [Int] = []
    /// SpikeLLM: salient activations whose level the GIF steps could not carry in full (nil elsewhere).
    public var uncarried: Int? = nil

    public init(name: String, neuron: NeuronKind, width: Int, layout: [Int] = []) {
        self.name = name
        self.neuron = neuron
        self.width = width
        self.layout = layout
    }

    public var steps: Int { width == 0 ? 0 : spikes.count / width }

    /// ‖decoded − real‖ / ‖real‖ (the relative error a GIF site adds), both [n].
    public static func relativeError(_ decoded: [Float], _ real: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for (a, b) in zip(decoded, real) { num += Double(a - b) * Double(a - b); den += Double(b) * Double(b) }
        return (num / max(den, 1e-30)).squareRoot()
    }

    /// Mean |s| over the whole trace: the firing rate (for elastic/gif, fraction of nonzero spikes).
    public var firingRate: Double {
        if spikes.isEmpty { return 0 }
        var nz = 0
        for s in spikes where s != 0 { nz += 1 }
        return Double(nz) / Double(spikes.count)
    }

    /// Row `step` of an array recorded here.
    public func row(_ array: [Float], step: Int) -> ArraySlice<Float> {
        array[(step * width)..<((step + 1) * width)]
    }
}

/// One channel of a GIF site's saliency ranking.
public struct SalientChannel: Sendable, Equatable {
    public var channel: Int
    public var saliency: Float
    public var timesteps: Int
    /// Whether the allocation treated it as an outlier (more steps, its own threshold).
    public var outlier: Bool
    public init(channel: Int, saliency: Float, timesteps: Int, outlier: Bool) {
        self.channel = channel; self.saliency = saliency; self.timesteps = timesteps; self.outlier = outlier
    }
}

/// The recorded sites of one forward pass, in the order they ran.
public struct Trace: Sendable, Equatable {
    public var sites: [SiteTrace]
    public init(sites: [SiteTrace] = []) { self.sites = sites }
    public subscript(name: String) -> SiteTrace? { sites.first { $0.name == name } }
}

/// Collects site traces during a forward pass. One probe per pass, one thread.
public final class Probe {
    public private(set) var order: [String] = []
    private var sites: [String: SiteTrace] = [:]
    /// Record the pre-spike current too (costs one more copy per site).
    public var recordCurrent: Bool

    public init(recordCurrent: Bool = true) { self.recordCurrent = recordCurrent }

    /// Appends `rows` rows of `width` values at `site`. `current` may be nil.
    public func record(_ site: String, neuron: NeuronKind, width: Int, rows: Int,
                       membrane: UnsafePointer<Float>, spikes: UnsafePointer<Float>,
                       current: UnsafePointer<Float>?) {
        if sites[site] == nil {
            sites[site] = SiteTrace(name: site, neuron: neuron, width: width)
            order.append(site)
        }
        let n = rows * width
        sites[site]!.membrane.append(contentsOf: UnsafeBufferPointer(start: membrane, count: n))
        sites[site]!.spikes.append(contentsOf: UnsafeBufferPointer(start: spikes, count: n))
        if recordCurrent, let current {
            sites[site]!.current.append(contentsOf: UnsafeBufferPointer(start: current, count: n))
        }
    }

    /// Appends a block of `steps` sub-steps × `rows` tokens (sub-step-major, as GIF neurons emit
    /// it) at `site`, keeping the whole site sub-step-major with layout [steps, all tokens so far]:
    /// a model that runs one token per call (recurrent generation) still yields one [S, L] site.
    public func recordSteps(_ site: String, neuron: NeuronKind, width: Int, steps: Int, rows: Int,
                            membrane: [Float], spikes: [Float], current: [Float]?) {
        let block = rows * width
        guard let old = sites[site], old.layout.count == 2, old.layout[0] == steps, old.width == width else {
            record(site, neuron: neuron, width: width, membrane: membrane, spikes: spikes, current: current)
            sites[site]!.layout = [steps, rows]
            return
        }
        let prev = old.layout[1] * width
        func merged(_ a: [Float], _ b: [Float]) -> [Float] {
            guard a.count == steps * prev, b.count == steps * block else { return a + b }
            var out: [Float] = []
            out.reserveCapacity(a.count + b.count)
            for s in 0..<steps {
                out.append(contentsOf: a[(s * prev)..<((s + 1) * prev)])
                out.append(contentsOf: b[(s * block)..<((s + 1) * block)])
            }
            return out
        }
        var t = old
        t.membrane = merged(old.membrane, membrane)
        t.spikes = merged(old.spikes, spikes)
        if recordCurrent, let current { t.current = merged(old.current, current) }
        t.layout = [steps, old.layout[1] + rows]
        sites[site] = t
    }

    /// Starts `site` with rows recorded elsewhere (a cached run's; metadata as given).
    public func seed(_ site: SiteTrace) {
        if sites[site.name] == nil { order.append(site.name) }
        sites[site.name] = site
    }

    /// Appends the rows of a flat (one row per step) trace at its site, seeding it when new.
    public func append(_ rows: SiteTrace) {
        guard sites[rows.name] != nil else { seed(rows); return }
        // In place (no copy of the rows so far): a continuation appends one row per token.
        sites[rows.name]!.membrane += rows.membrane
        sites[rows.name]!.spikes += rows.spikes
        if recordCurrent { sites[rows.name]!.current += rows.current }
        sites[rows.name]!.layout = [sites[rows.name]!.steps]
    }

    /// Array convenience for `record`.
    public func record(_ site: String, neuron: NeuronKind, width: Int, membrane: [Float], spikes: [Float], current: [Float]?) {
        precondition(membrane.count == spikes.count && membrane.count % max(width, 1) == 0)
        membrane.withUnsafeBufferPointer { m in
            spikes.withUnsafeBufferPointer { s in
                if let current {
                    current.withUnsafeBufferPointer { c in
                        record(site, neuron: neuron, width: width, rows: membrane.count / max(width, 1),
                               membrane: m.baseAddress!, spikes: s.baseAddress!, current: c.baseAddress!)
                    }
                } else {
                    record(site, neuron: neuron, width: width, rows: membrane.count / max(width, 1),
                           membrane: m.baseAddress!, spikes: s.baseAddress!, current: nil)
                }
            }
        }
    }

    /// Sets per-site metadata (layout, amplitude per timestep, threshold, k, GIF levels/bits).
    public func annotate(_ site: String, _ body: (inout SiteTrace) -> Void) {
        guard sites[site] != nil else { return }
        body(&sites[site]!)
    }

    public var trace: Trace { Trace(sites: order.map { sites[$0]! }) }
}
