// SpikeLLM's neuron as released (SEEDS-SPIKELLM.md; github.com/Xingrun-Xing2/SpikeLLM,
// `spike_driven_quant/quantizer.py` UniformAffineQuantizer and `spike_linear.py` SpikeQuantLinear).
//
// What it is: the activation coding of one linear layer's input x [R tokens, C channels]:
//   per token r, for b bits:  scale = clamp((max_r − min_r)/(2^b − 1), 1e-5, 1e4)
//                             zp    = round(clamp(−min_r/scale, −1e4, 1e4))
//                             q     = clamp(round(x/scale) + zp, 0, 2^b − 1),  x̂ = (q − zp)·scale
//   (round = half to even, as torch.round). Ordinary channels use b = abits, salient channels
//   b = abits + addbit (a second quantiser over the same token row); x̂ is what the layer reads
//   (the released default mode, "fake_binary_simulate").
//   GIF view of a salient channel: T = 2^addbit steps of a neuron with L = 2^abits levels,
//   mem = q; each step fires s = min(mem, L − 1) and subtracts it (soft reset). After T steps
//   at most T·(L − 1) of q ≤ T·L − 1 is carried: a channel whose q is beyond that keeps a
//   residue, counted as "uncarried" (the released mode computes with q all the same).
//   An ordinary channel is one step that fires q (< L).
// Saliency (`add_batch`/`static`/`get_channel_mask`): s_j = mean over calibration tokens of
//   x ⊙ (x·Wᵀ·W); with quota = ⌊low_p·C⌋ the channels with s ≤ (quota-th smallest s) are
//   ordinary, the rest salient. One deliberate difference: quota 0 (low_p < 1/C) makes every
//   channel salient, where the released indexing (sorted[-1]) would make every channel ordinary.
// Weights (`--wbits`): per output row the same asymmetric min-max quantiser (round to nearest,
//   no learned clipping — OmniQuant's LWC/LET need training and are not here).
// What it is not: the attention matmul quantisers (SpikeQuantMatMul); Q·Kᵀ and P·V stay float.

import Foundation
import Engine
import Neurons

/// The SpikeLLM controls: activation bits, extra bits (timesteps) for salient channels, the
/// ordinary fraction, and optional weight bits.
public struct SpikeLLMSettings: Sendable, Codable, Equatable {
    /// Bits of an ordinary channel (levels per GIF step L = 2^abits).
    public var abits: Int = 4
    /// Extra bits of a salient channel: T = 2^addbit GIF steps.
    public var addbit: Int = 1
    /// Fraction of channels that stay ordinary (the lowest by saliency); 1 = uniform abits.
    public var lowP: Double = 0.9
    /// Weight bits (per-output-channel RTN), nil = weights as loaded.
    public var wbits: Int? = nil

    public init(abits: Int = 4, addbit: Int = 1, lowP: Double = 0.9, wbits: Int? = nil) {
        self.abits = abits; self.addbit = addbit; self.lowP = lowP; self.wbits = wbits
    }

    public var steps: Int { 1 << addbit }
    public var levels: Int { 1 << abits }

    /// Refuses settings the released quantiser rejects (2 ≤ bits ≤ 16 for both quantisers).
    public func validate() throws {
        guard (2...16).contains(abits) else { throw ModelError.invalidInput(field: "--abits", reason: "is \(abits)", hint: "use 2…16") }
        guard addbit >= 0, abits + addbit <= 16 else {
            throw ModelError.invalidInput(field: "--addbit", reason: "is \(addbit)", hint: "use 0…\(16 - abits) so that abits + addbit ≤ 16")
        }
        guard lowP >= 0, lowP <= 1 else { throw ModelError.invalidInput(field: "--low-p", reason: "is \(lowP)", hint: "a fraction in 0…1") }
        if let w = wbits, !(2...16).contains(w) { throw ModelError.invalidInput(field: "--wbits", reason: "is \(w)", hint: "use 2…16") }
    }

    /// Bits per activation with `salient` of `channels` channels at abits + addbit.
    public func averageBits(salient: Int, channels: Int) -> Double {
        Double(abits) + Double(addbit) * Double(salient) / Double(max(channels, 1))
    }
}

/// One site's calibrated channel split.
public struct SpikeLLMMask: Sendable, Codable, Equatable {
    /// true = salient (more steps).
    public var salient: [Bool]
    /// Mean saliency per channel (signed).
    public var saliency: [Float]
    public var salientChannels: [Int] { salient.indices.filter { salient[$0] } }
}

/// A coded input: what the linear reads, and the GIF view when asked for.
public struct SpikeLLMCoded {
    public var decoded: [Float]
    /// [steps, R, C] step-major (empty unless recorded): membrane before firing, and the level fired.
    public var membrane: [Float] = []
    public var levels: [Float] = []
    /// Per-token scale of the ordinary quantiser.
    public var scales: [Float] = []
    /// Salient activations whose level T steps could not carry in full.
    public var uncarried = 0
}

public enum SpikeLLMQuantizer {
    /// (scale, rounded zero point) of one token row at `bits`.
    @inline(__always)
    static func affine(min lo: Float, max hi: Float, bits: Int) -> (scale: Float, zp: Float) {
        let qmax = Float((1 << bits) - 1)
        let scale = min(max((hi - lo) / qmax, 1e-5), 1e4)
        let zp = min(max(-lo / scale, -1e4), 1e4).rounded(.toNearestOrEven)
        return (scale, zp)
    }

    @inline(__always)
    static func level(_ x: Float, scale: Float, zp: Float, qmax: Float) -> Float {
        min(max((x / scale).rounded(.toNearestOrEven) + zp, 0), qmax)
    }

    /// Codes x [R, C] per token with `mask` (nil = every channel ordinary). Records the GIF steps
    /// when `record`.
    public static func code(_ x: UnsafePointer<Float>, rows R: Int, width C: Int, mask: [Bool]?,
                            settings s: SpikeLLMSettings, record: Bool) -> SpikeLLMCoded {
        let T = s.steps, L = Float(s.levels)
        let qLow = Float((1 << s.abits) - 1), qHigh = Float((1 << (s.abits + s.addbit)) - 1)
        var out = SpikeLLMCoded(decoded: [Float](repeating: 0, count: R * C))
        if record {
            out.membrane = [Float](repeating: 0, count: T * R * C)
            out.levels = [Float](repeating: 0, count: T * R * C)
        }
        out.scales = [Float](repeating: 0, count: R)
        for r in 0..<R {
            let row = x + r * C
            var lo = Float.infinity, hi = -Float.infinity
            for j in 0..<C { lo = min(lo, row[j]); hi = max(hi, row[j]) }
            let a = affine(min: lo, max: hi, bits: s.abits), b = affine(min: lo, max: hi, bits: s.abits + s.addbit)
            out.scales[r] = a.scale
            for j in 0..<C {
                let salient = mask?[j] ?? false
                let (p, qmax) = salient ? (b, qHigh) : (a, qLow)
                let q = level(row[j], scale: p.scale, zp: p.zp, qmax: qmax)
                out.decoded[r * C + j] = (q - p.zp) * p.scale
                guard record else { continue }
                if salient {
                    var mem = q
                    for t in 0..<T {
                        let spike = mem >= L ? L - 1 : mem
                        out.membrane[(t * R + r) * C + j] = mem
                        out.levels[(t * R + r) * C + j] = spike
                        mem -= spike
                    }
                    if mem > 0 { out.uncarried += 1 }
                } else {
                    out.membrane[r * C + j] = q
                    out.levels[r * C + j] = q
                }
            }
        }
        return out
    }

    /// Per-output-row asymmetric min-max fake quantisation of W [O, I] at `bits` (RTN).
    public static func quantizeWeightRows(_ w: [Float], out O: Int, in I: Int, bits: Int) -> [Float] {
        var q = w
        let qmax = Float((1 << bits) - 1)
        for o in 0..<O {
            var lo = Float.infinity, hi = -Float.infinity
            for j in 0..<I { lo = min(lo, w[o * I + j]); hi = max(hi, w[o * I + j]) }
            let p = affine(min: lo, max: hi, bits: bits)
            for j in 0..<I { q[o * I + j] = (level(w[o * I + j], scale: p.scale, zp: p.zp, qmax: qmax) - p.zp) * p.scale }
        }
        return q
    }

    /// The salient/ordinary split from the mean saliency per channel (see the header).
    public static func mask(saliency mean: [Float], lowP: Double) -> SpikeLLMMask {
        let C = mean.count
        let quota = Int(lowP * Double(C))  // Python int(): truncation
        guard quota > 0 else { return SpikeLLMMask(salient: Array(repeating: true, count: C), saliency: mean) }
        let thresh = mean.sorted()[min(quota, C) - 1]
        return SpikeLLMMask(salient: mean.map { !($0 <= thresh) }, saliency: mean)
    }
}

extension SpikeLLMQuantizer {
    /// Codes x [R, C] for the site `name` with `mask` and records it into `probe`: the levels of
    /// every GIF step (layout [steps, tokens], merged across calls), the membrane before each
    /// firing, the input as current, the per-token scale (as amplitude), the salient channels,
    /// the bits per activation, how many activations the steps could not carry, and the coding
    /// error. Returns what the next linear reads.
    public static func codeAndRecord(_ x: [Float], rows R: Int, width C: Int, mask: SpikeLLMMask?, settings s: SpikeLLMSettings,
                                     site name: String, probe: Probe?) -> [Float] {
        let coded = x.withUnsafeBufferPointer { code($0.baseAddress!, rows: R, width: C, mask: mask?.salient, settings: s, record: probe != nil) }
        guard let probe else { return coded.decoded }
        let T = s.steps
        var current = [Float](repeating: 0, count: T * R * C)
        for t in 0..<T { for j in 0..<(R * C) { current[t * R * C + j] = x[j] } }
        probe.recordSteps(name, neuron: .gif, width: C, steps: T, rows: R, membrane: coded.membrane, spikes: coded.levels, current: current)
        let salient = mask?.salientChannels ?? []
        probe.annotate(name) { t in
            t.levels = s.levels
            t.bitsPerActivation = s.averageBits(salient: salient.count, channels: C)
            t.amplitude += coded.scales
            t.threshold = Float(s.levels - 1)
            t.salient = salient
            t.uncarried = (t.uncarried ?? 0) + coded.uncarried
            if let mask {
                t.salientChannels = mask.saliency.indices.sorted { mask.saliency[$0] > mask.saliency[$1] }.prefix(16).map {
                    SalientChannel(channel: $0, saliency: mask.saliency[$0], timesteps: mask.salient[$0] ? T : 1, outlier: mask.salient[$0])
                }
            }
            t.codingError = max(t.codingError ?? 0, SiteTrace.relativeError(coded.decoded, x))
        }
        return coded.decoded
    }

    /// Exact average bits per activation over every channel of `masks`.
    public static func averageBits(_ masks: [String: SpikeLLMMask], settings s: SpikeLLMSettings) -> Double? {
        let all = masks.values.reduce(0) { $0 + $1.salient.count }
        guard all > 0 else { return nil }
        return s.averageBits(salient: masks.values.reduce(0) { $0 + $1.salientChannels.count }, channels: all)
    }
}

/// Accumulates the released saliency x ⊙ (x·Wᵀ·W) over calibration tokens of one site.
public struct SaliencyAccumulator: Sendable {
    public private(set) var sum: [Double]
    public private(set) var tokens = 0
    public init(channels: Int) { sum = [Double](repeating: 0, count: channels) }

    /// Adds rows x [R, C] given g = (x·Wᵀ)·W [R, C].
    public mutating func add(x: UnsafePointer<Float>, g: UnsafePointer<Float>, rows R: Int) {
        let C = sum.count
        for r in 0..<R { for j in 0..<C { sum[j] += Double(x[r * C + j]) * Double(g[r * C + j]) } }
        tokens += R
    }

    public var mean: [Float] { sum.map { Float($0 / Double(max(tokens, 1))) } }

    /// Adds rows x [R, C] of the input of a linear with weight W [O, C] (row-major; nil = no
    /// linear reads it, then g = x and the saliency is the mean of x²).
    public mutating func add(x: [Float], rows R: Int, weight W: UnsafePointer<Float>?, out O: Int) {
        let C = sum.count
        guard let W else { x.withUnsafeBufferPointer { add(x: $0.baseAddress!, g: $0.baseAddress!, rows: R) }; return }
        var xw = [Float](repeating: 0, count: R * O), g = [Float](repeating: 0, count: R * C)
        Kernels.gemm(transA: false, transB: true, m: R, n: O, k: C, alpha: 1, a: x, lda: C, b: W, ldb: C, beta: 0, c: &xw, ldc: O)
        Kernels.gemm(transA: false, transB: false, m: R, n: C, k: O, alpha: 1, a: xw, lda: O, b: W, ldb: C, beta: 0, c: &g, ldc: C)
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { add(x: xp.baseAddress!, g: $0.baseAddress!, rows: R) } }
    }
}
