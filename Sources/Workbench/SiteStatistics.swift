// SiteStatistics: what the workbench derives from one recorded site (a `SiteTrace`): firing rate,
// spike counts by direction, membrane summary and histogram, α per timestep, outlier channels.
//
// What it is: pure functions of a trace, computed once per new trace, off the UI thread.
// What it is not: a recorder (see Neurons/Probe.swift) or a view.
//
// Shape legend: S steps recorded at the site, C its width.

import Foundation
import Neurons

public struct OutlierChannel: Sendable, Equatable, Codable {
    /// Channel index within the site.
    public var channel: Int
    /// The channel's mean |value| over the steps (membrane, or pre-spike current when recorded).
    public var value: Float
    /// (value − mean over channels) / std over channels.
    public var zScore: Float
    /// Fraction of steps in which the channel fired.
    public var firingRate: Float
}

public struct SiteStatistics: Sendable, Equatable {
    public var name: String
    public var neuron: NeuronKind
    public var width: Int
    public var steps: Int
    /// Fraction of nonzero spikes over all steps and channels.
    public var firingRate: Double
    /// Fractions of positive and negative spikes (sum = firing rate).
    public var positiveFraction: Double
    public var negativeFraction: Double
    /// Firing rate per step (S values) and per channel (C values).
    public var firingRatePerStep: [Float]
    public var firingRatePerChannel: [Float]
    /// Firing rate per token: a [T, L] site (timesteps, or GIF sub-steps) averages its T rows of
    /// each token; a [tokens] site is `firingRatePerStep`. The workbench's overview heatmap.
    public var firingRatePerToken: [Float]
    public var membraneMean: Float, membraneStd: Float, membraneMin: Float, membraneMax: Float
    /// Histogram of the membrane over `histogramRange` in `histogram.count` equal bins.
    public var histogram: [Int]
    public var histogramRange: ClosedRange<Float>
    /// α (or θ, or v_th) per timestep as recorded.
    public var amplitude: [Float]
    public var threshold: Float
    public var k: Float
    /// Channels whose mean |membrane| (or |current|) stands out: z ≥ `outlierZ`, largest first.
    public var outliers: [OutlierChannel]

    /// z-score above which a channel is an outlier. 3σ: under a normal spread, ~0.1% of channels.
    public static let outlierZ: Float = 3

    public init(_ site: SiteTrace, bins: Int = 24, maxOutliers: Int = 16) {
        name = site.name; neuron = site.neuron; width = site.width
        let C = max(site.width, 1)
        let S = site.spikes.count / C
        steps = S
        amplitude = site.amplitude; threshold = site.threshold; k = site.k
        // One pass over the spikes (pointer loops: this runs for every site on every published
        // stage of a rerun, ~10⁷ values on a released model).
        var pos = 0, neg = 0
        var perStep = [Float](repeating: 0, count: S), perChan = [Float](repeating: 0, count: C)
        site.spikes.withUnsafeBufferPointer { sp in
            perChan.withUnsafeMutableBufferPointer { pc in
                for t in 0..<S {
                    let row = sp.baseAddress! + t * C
                    var p = 0, n = 0
                    for c in 0..<C {
                        let v = row[c]
                        p &+= v > 0 ? 1 : 0
                        n &+= v < 0 ? 1 : 0
                        pc[c] += v != 0 ? 1 : 0
                    }
                    pos &+= p; neg &+= n
                    perStep[t] = Float(p + n)
                }
            }
        }
        let n = Double(max(S * C, 1))
        positiveFraction = Double(pos) / n
        negativeFraction = Double(neg) / n
        firingRate = site.neuron == .none ? 0 : positiveFraction + negativeFraction
        firingRatePerStep = perStep.map { $0 / Float(C) }
        firingRatePerChannel = perChan.map { $0 / Float(max(S, 1)) }
        if site.layout.count == 2, site.layout[0] > 0, site.layout[0] * site.layout[1] == S {
            let (T, L) = (site.layout[0], site.layout[1])
            firingRatePerToken = (0..<L).map { tok in (0..<T).reduce(Float(0)) { $0 + perStep[$1 * L + tok] } / Float(T * C) }
        } else {
            firingRatePerToken = firingRatePerStep
        }

        // Membrane: mean, std, range (finite values only), then the histogram over the range.
        let m = site.membrane
        var mean: Double = 0, sq: Double = 0
        var lo = Float.infinity, hi = -Float.infinity
        m.withUnsafeBufferPointer { mp in
            let rowLen = 4096  // Float partial sums per block, Double across blocks
            var i = 0
            while i < mp.count {
                let end = min(i + rowLen, mp.count)
                var s: Float = 0, s2: Float = 0, l = Float.infinity, h = -Float.infinity
                for j in i..<end {
                    let v = mp[j]
                    if v.isFinite { s += v; s2 += v * v; l = min(l, v); h = max(h, v) }
                }
                mean += Double(s); sq += Double(s2); lo = min(lo, l); hi = max(hi, h)
                i = end
            }
        }
        let cnt = Double(max(m.count, 1))
        mean /= cnt
        membraneMean = Float(mean)
        membraneStd = Float(max(sq / cnt - mean * mean, 0).squareRoot())
        if lo > hi { lo = 0; hi = 0 }
        membraneMin = lo; membraneMax = hi
        let range: ClosedRange<Float> = lo < hi ? lo...hi : (lo - 1)...(hi + 1)
        histogramRange = range
        var hist = [Int](repeating: 0, count: bins)
        let scale = Float(bins) / (range.upperBound - range.lowerBound), base = range.lowerBound
        m.withUnsafeBufferPointer { mp in
            hist.withUnsafeMutableBufferPointer { hp in
                for v in mp where v.isFinite {
                    let b = Int((v - base) * scale)
                    hp[min(max(b, 0), bins - 1)] &+= 1
                }
            }
        }
        histogram = hist

        // Outliers: per channel mean |x| over steps, x = current when recorded, else membrane.
        let src = site.current.count == site.membrane.count && !site.current.isEmpty ? site.current : m
        var chan = [Float](repeating: 0, count: C)
        if S > 0 {
            src.withUnsafeBufferPointer { xp in
                chan.withUnsafeMutableBufferPointer { ch in
                    for t in 0..<S { let row = xp.baseAddress! + t * C; for c in 0..<C { ch[c] += abs(row[c]) } }
                }
            }
        }
        for c in 0..<C { chan[c] /= Float(max(S, 1)) }
        let cm = chan.reduce(0, +) / Float(C)
        let cs = (chan.map { ($0 - cm) * ($0 - cm) }.reduce(0, +) / Float(C)).squareRoot()
        var outs: [OutlierChannel] = []
        if cs > 0 {
            for c in 0..<C {
                let z = (chan[c] - cm) / cs
                if z >= SiteStatistics.outlierZ {
                    outs.append(OutlierChannel(channel: c, value: chan[c], zScore: z, firingRate: firingRatePerChannel[c]))
                }
            }
        }
        outs.sort { $0.zScore > $1.zScore }
        outliers = Array(outs.prefix(maxOutliers))
    }
}
