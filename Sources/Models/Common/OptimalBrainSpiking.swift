// Optimal Brain Spiking (SEEDS-SPIKELLM.md): rank the input channels of a spiking linear layer by
// saliency, treat the top ones as outliers, and give them more GIF timesteps under a budget of
// average bits per activation.
//
// What it is: pure functions on calibration activations X [R, in] and the layer's weight W [out, in].
//   saliency   S_j = H_jj · ‖W[:, j]‖²,   H_jj = mean_r x_rj²      (OBS/GPTQ diagonal estimate)
//   allocation uniform: every channel T_u = the largest multiple of L with (T/L)·b₁ ≤ B;
//              saliency: the top p% channels get T_high, the rest T_low (multiples of L), the pair
//              that minimises Σ_j S_j·mse_j(T_j) subject to mean_j (T_j/L)·b₁ ≤ B,
//              b₁ = log2(L+1) (log2(2L+1) bidirectional) bits per merged step.
//   thresholds dividing the outliers also divides the threshold: θ_out = max |x| over the outlier
//              channels, θ_rest = max |x| over the others (uniform: one θ = max |x| over all),
//              so the bulk of the channels is no longer quantised on the outliers' scale.
// The saliency measure is our inference from the paper's name ("Optimal Brain" = second-order
// saliency), as SEEDS-SPIKELLM.md says; the budget search is ours.
// What it is not: a model transform — models call `GIFPlan` to apply the result.

import Foundation
import Neurons

public struct ChannelAllocation: Sendable, Equatable, Codable {
    /// T per input channel.
    public var timesteps: [Int]
    /// Outlier channels (got T_high), most salient first.
    public var outliers: [Int]
    /// Exact average bits per activation over the channels.
    public var averageBits: Double
    /// Saliency per channel.
    public var saliency: [Float]
    /// GIF threshold θ per channel.
    public var thresholds: [Float]
}

public enum OptimalBrainSpiking {
    /// S_j = mean_r x_rj² · Σ_o W[o, j]² for X [R, in], W [out, in] (row-major).
    public static func saliency(x: [Float], rows R: Int, weight W: [Float], out O: Int, in I: Int) -> [Float] {
        var h = [Double](repeating: 0, count: I), wn = [Double](repeating: 0, count: I)
        for r in 0..<R { for j in 0..<I { let v = Double(x[r * I + j]); h[j] += v * v } }
        for o in 0..<O { for j in 0..<I { let w = Double(W[o * I + j]); wn[j] += w * w } }
        return (0..<I).map { Float(h[$0] / Double(max(R, 1)) * wn[$0]) }
    }

    /// Bits of one merged step.
    static func bitsPerStep(_ base: GIFConfig) -> Double { log2(Double(base.bidirectional ? 2 * base.levels + 1 : base.levels + 1)) }

    /// The uniform allocation within `bits`: every channel the same T.
    public static func uniform(channels C: Int, bits B: Double, base: GIFConfig, saliency: [Float], theta: Float) -> ChannelAllocation {
        let b1 = bitsPerStep(base)
        let steps = max(1, Int((B / b1 + 1e-9).rounded(.down)))
        let T = steps * base.levels
        return ChannelAllocation(timesteps: Array(repeating: T, count: C), outliers: [],
                                 averageBits: Double(steps) * b1, saliency: saliency, thresholds: Array(repeating: theta, count: C))
    }

    /// Mean squared GIF error of channel j with T timesteps, over the calibration rows.
    static func channelError(_ x: [Float], rows R: Int, width C: Int, channel j: Int, theta: Float, base: GIFConfig, T: Int) -> Double {
        var cfg = base
        cfg.timesteps = T
        var e = 0.0
        for r in 0..<R {
            let v = x[r * C + j]
            let d = Double(GIF.encode(v, theta: theta, config: cfg) - v)
            e += d * d
        }
        return e / Double(max(R, 1))
    }

    /// Saliency-based allocation: top `outlierFraction` of channels by saliency get more steps.
    /// `outlierFraction` 0 returns the uniform allocation.
    public static func allocate(x: [Float], rows R: Int, weight W: [Float], out O: Int, in C: Int, theta: Float,
                                bits B: Double, outlierFraction p: Double, base: GIFConfig) -> ChannelAllocation {
        let s = saliency(x: x, rows: R, weight: W, out: O, in: C)
        let uni = uniform(channels: C, bits: B, base: base, saliency: s, theta: theta)
        let nOut = Int((p * Double(C)).rounded(.up))
        if p <= 0 || nOut == 0 || nOut >= C { return uni }
        let order = (0..<C).sorted { s[$0] > s[$1] }
        let outliers = Array(order.prefix(nOut))
        let isOut = Set(outliers)
        var thOut: Float = 1e-12, thRest: Float = 1e-12
        for r in 0..<R { for j in 0..<C { let a = abs(x[r * C + j]); if isOut.contains(j) { thOut = max(thOut, a) } else { thRest = max(thRest, a) } } }
        let thetas = (0..<C).map { isOut.contains($0) ? thOut : thRest }
        let b1 = bitsPerStep(base), L = base.levels
        let maxSteps = Int((B / b1 + 1e-9).rounded(.down))  // uniform steps fit; low can be 1…that
        var best: (err: Double, low: Int, high: Int)? = nil
        var errCache: [Int: [Double]] = [:]  // T → per-channel mse
        func errs(_ T: Int) -> [Double] {
            if let e = errCache[T] { return e }
            let e = (0..<C).map { channelError(x, rows: R, width: C, channel: $0, theta: thetas[$0], base: base, T: T) }
            errCache[T] = e
            return e
        }
        for lowSteps in stride(from: max(maxSteps, 1), through: 1, by: -1) {
            // mean steps ≤ B/b1:  nOut·high + (C − nOut)·low ≤ C·B/b1
            let budgetSteps = Double(C) * B / b1
            let highSteps = Int(((budgetSteps - Double(C - nOut) * Double(lowSteps)) / Double(nOut) + 1e-9).rounded(.down))
            if highSteps < lowSteps { continue }
            let highCap = min(highSteps, 64)  // beyond 64 merged steps the error is flat; bounds the search
            let eLow = errs(lowSteps * L), eHigh = errs(highCap * L)
            var total = 0.0
            for j in 0..<C { total += Double(s[j]) * (isOut.contains(j) ? eHigh[j] : eLow[j]) }
            if best == nil || total < best!.err { best = (total, lowSteps, highCap) }
            if lowSteps <= maxSteps - 3 { break }  // a few candidates around uniform are enough
        }
        guard let b = best else { return uni }
        let T = (0..<C).map { isOut.contains($0) ? b.high * L : b.low * L }
        let avg = T.map { Double($0 / L) * b1 }.reduce(0, +) / Double(C)
        return ChannelAllocation(timesteps: T, outliers: outliers, averageBits: avg, saliency: s, thresholds: thetas)
    }

    /// Relative output error ‖(X̂ − X)·Wᵀ‖ / ‖X·Wᵀ‖ of quantising X with the allocation.
    public static func outputError(x: [Float], rows R: Int, weight W: [Float], out O: Int, in C: Int, theta: Float,
                                   base: GIFConfig, allocation: ChannelAllocation) -> Double {
        let q = GIF.quantize(x, rows: R, width: C, theta: theta, base: base, timesteps: allocation.timesteps,
                             thetas: allocation.thresholds).decoded
        var num = 0.0, den = 0.0
        for r in 0..<R {
            for o in 0..<O {
                var y = 0.0, yq = 0.0
                for j in 0..<C {
                    let w = Double(W[o * C + j])
                    y += w * Double(x[r * C + j]); yq += w * Double(q[r * C + j])
                }
                num += (yq - y) * (yq - y); den += y * y
            }
        }
        return (num / max(den, 1e-30)).squareRoot()
    }
}

extension ChannelAllocation {
    /// The `count` most salient channels with their T, for traces and the outliers panel.
    public func ranking(_ count: Int = 16) -> [SalientChannel] {
        let out = Set(outliers)
        return saliency.indices.sorted { saliency[$0] > saliency[$1] }.prefix(count).map {
            SalientChannel(channel: $0, saliency: saliency[$0], timesteps: timesteps[$0], outlier: out.contains($0))
        }
    }
}

/// A calibrated GIF coding, the one plan type of every family: per coded place (a linear's input
/// or a spiking site, by name) the channels' thresholds and timesteps, at the budget it was built for.
public struct GIFPlan: Sendable, Codable, Equatable {
    public var base: GIFConfig
    public var bits: Double
    public var outlierFraction: Double
    public var sites: [String: ChannelAllocation]
    public init(base: GIFConfig, bits: Double, outlierFraction: Double, sites: [String: ChannelAllocation]) {
        self.base = base; self.bits = bits; self.outlierFraction = outlierFraction; self.sites = sites
    }
    /// Exact average bits per activation over every coded channel.
    public var averageBits: Double {
        let b1 = log2(Double(base.bidirectional ? 2 * base.levels + 1 : base.levels + 1))
        let steps = sites.values.flatMap { $0.timesteps.map { Double($0 / base.levels) } }
        return steps.isEmpty ? 0 : steps.reduce(0, +) / Double(steps.count) * b1
    }
}

extension GIFPlan {
    /// GIF-codes x [rows, width] with `alloc` (this plan's levels and k) and records the coded
    /// place as site `name` in `probe`: the input as membrane per substep, the levels as spikes,
    /// layout [substeps, rows], bits, threshold, saliency ranking and coding error.
    /// - Returns: the decoded values θ_j/T_j·Σn, what the next linear reads.
    public func code(_ x: [Float], rows: Int, width: Int, allocation alloc: ChannelAllocation, site name: String,
                     probe: Probe?) -> [Float] {
        let q = GIF.quantize(x, rows: rows, width: width, theta: 1, base: base, timesteps: alloc.timesteps, thetas: alloc.thresholds)
        if let probe {
            let n = rows * width, steps = q.maxSteps
            var current = [Float](repeating: 0, count: steps * n)
            for s in 0..<steps { for j in 0..<n { current[s * n + j] = x[j] } }
            probe.recordSteps(name, neuron: .gif, width: width, steps: steps, rows: rows,
                              membrane: current, spikes: q.levels, current: current)
            let (levels, k) = (base.levels, base.k)
            probe.annotate(name) { t in
                t.levels = levels
                t.bitsPerActivation = alloc.averageBits
                t.k = k
                t.threshold = alloc.thresholds.max() ?? 0
                t.amplitude = [t.threshold]
                t.salientChannels = alloc.ranking()
                t.codingError = SiteTrace.relativeError(q.decoded, x)
            }
        }
        return q.decoded
    }
}
