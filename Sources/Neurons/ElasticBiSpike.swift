// ElasticBiSpike: SpikeLM's elastic bi-spiking neuron (ternary spikes × α per timestep), forward only.
//
// What it is: a value type holding one spiking site's config (T, α per timestep, frequency control,
// variant) and its `run` over T timesteps, with optional probe recording. Two uses in SpikeBERT:
//   recurrent = true   the membrane of a SpikeLinear input (Q, K, V, attention output, FFN in/out)
//   recurrent = false  the extra spike on K and V after their projection (one quantiser per t)
// What it is not: the LSQ backward (Training owns gradients), nor the linear layer W·o + b.
//
// Released code (spikeLM-BERT/spiking.py, `SpikeLinear.forward` and `ElasticBiSpiking.forward`),
// checked line by line; SEEDS.md §2 states the same:
//   m_0 = x_0
//   m_t = m_{t-1} · 0.25 · (α_{t-1} − o_{t-1}) + x_t        t ≥ 1, elementwise, α and o detached
//   s_t = clamp(round(m_t / α_t), −1, +1)                   torch.round: round half to even
//   o_t = s_t · α_t
// Note the "reset" is multiplicative and scales with α: after a +1 spike (o = α) the memory is
// wiped, after no spike it keeps 0.25·α·m, after a −1 spike 0.5·α·m. It is not a leak constant;
// spikescope keeps it as released because checkpoints were trained with it.
// α_t (`act_clip_val.{t}`, `clip_key.{t}`, `clip_value.{t}`) is initialised on the first batch as
// 2·mean|m_t| (LSQ init with Qp = 1) and clamped at ≥ 1e-5 (the released `eps`). The released
// code takes the mean over the whole batch tensor, padding included; spikescope takes it over the
// real (unpadded) rows only, so a padded input calibrates like the same input unpadded.
// input_bits = 1 in the released code gives `sign(m)·α` (our `.signed`); `.binary` is {0, 1}
// with the ternary threshold (fires when m/α > 1/2), a SpikeLM ablation.
//
// Frequency control (FrequencyControl.swift): the α in force at step t is
//   static:  a_t = (k/2)·α_t        dynamic: a_t = k·mean|m_t| (current input, real rows)
// threshold a_t/2; amplitude (and reset term) a_t, or α_t with `.thresholdOnly` coupling.
//
// Shape legend: T timesteps, R rows per timestep (tokens), C width; N = R·C values per timestep.

import Engine

/// SpikeLM's elastic bi-spiking neuron at one site.
///
/// `s = clamp(round(m/α_t), −1, 1)`, `o = s·α_t`; with `recurrent`, `m_t = m_{t−1}·0.25·(α_{t−1} − o_{t−1}) + x_t`.
public struct ElasticBiSpike: Sendable, Equatable {
    /// Spike alphabet (Engine's `SpikeAlphabet`, the one shared vocabulary).
    public typealias Variant = SpikeAlphabet

    /// Released clamp on α (`eps = 1e-5` in spiking.py).
    public static let alphaFloor: Float = 1e-5
    /// Released reset factor in the SpikeLinear membrane update.
    public static let resetFactor: Float = 0.25

    /// Number of timesteps T.
    public var steps: Int
    /// α_t per timestep at k = 2 (from a checkpoint or calibrated on the first input). Empty (or a
    /// count other than `steps`) means "not calibrated": the next `run` calibrates and freezes it.
    public var alpha: [Float]
    public var control: FrequencyControl
    public var variant: Variant
    /// SpikeLinear membrane across T (true) or an independent quantiser per timestep (false).
    public var recurrent: Bool
    /// Amplitude (α in force) and threshold per timestep during the last `run`.
    public private(set) var lastAmplitude: [Float] = []
    public private(set) var lastThreshold: [Float] = []

    public init(steps: Int, alpha: [Float] = [], control: FrequencyControl = .released,
                variant: Variant = .ternary, recurrent: Bool = true) {
        self.steps = steps
        self.alpha = alpha
        self.control = control
        self.variant = variant
        self.recurrent = recurrent
    }

    public var isCalibrated: Bool { alpha.count == steps }

    /// The probe's name for this variant.
    public var kind: NeuronKind { NeuronKind(alphabet: variant) }

    /// Round half to even, as torch.round does (0.5 → 0, 1.5 → 2, −0.5 → −0).
    @inline(__always)
    public static func roundHalfEven(_ q: Float) -> Float { q.rounded(.toNearestOrEven) }

    /// Spike value for q = m/a (threshold a/2) under `variant`.
    /// Ternary: clamp(round_half_even(q), −1, 1) written as comparisons, which is the same value
    /// (round(±0.5) = 0, anything past ±0.5 rounds to a magnitude ≥ 1 and clamps to ±1; NaN stays
    /// NaN) except that it gives +0 where rounding gave −0 (equal as numbers, and adds the same).
    /// The comparison form vectorises; `rounded(.toNearestOrEven)` is a libm call on baseline x86-64.
    @inline(__always)
    static func spike(_ m: Float, _ a: Float, _ variant: Variant) -> Float {
        switch variant {
        case .ternary: return ternary(m / a)
        case .binary: return m / a > 0.5 ? 1 : 0
        case .signed: return m > 0 ? 1 : (m < 0 ? -1 : 0)
        }
    }

    @inline(__always)
    static func ternary(_ q: Float) -> Float { q > 0.5 ? 1 : (q < -0.5 ? -1 : (q.isNaN ? q : 0)) }

    /// Runs the site over T timesteps.
    /// - Parameters:
    ///   - x: input current [T, R, C], contiguous.
    ///   - out: output o = s·amplitude [T, R, C] (may not alias `x`).
    ///   - validRows: R flags; rows marked false (padding) are computed but left out of the means
    ///     used for calibration and dynamic mode. nil = all rows real.
    ///   - probe: when given, records membrane m_t, spikes s_t and current x_t as T·R rows
    ///     (timestep-major) at `site`, then annotates layout [T, R], amplitude, threshold and k.
    /// - Cost: O(T·R·C), one scratch buffer of R·C floats (two more with a probe).
    public mutating func run(_ x: UnsafePointer<Float>, rows R: Int, width C: Int, into out: UnsafeMutablePointer<Float>,
                             validRows: [Bool]? = nil, site: String = "", probe: Probe? = nil) {
        let N = R * C
        let T = steps
        if !isCalibrated { alpha = [] }
        let calibrating = alpha.isEmpty
        lastAmplitude = []
        lastThreshold = []
        if N == 0 || T == 0 { return }
        let m = UnsafeMutablePointer<Float>.allocate(capacity: N)
        let s: UnsafeMutablePointer<Float>? = probe == nil ? nil : .allocate(capacity: N)
        defer { m.deallocate(); s?.deallocate() }
        let k = max(control.k, 0)
        var ampPrev: Float = 0
        for t in 0..<T {
            let xt = x + t * N
            let ot = out + t * N
            // Membrane. m_t = x_t at t = 0 (and always when not recurrent);
            // m_t = m_{t-1}·0.25·(α_{t-1} − o_{t-1}) + x_t otherwise (m updated in place).
            if recurrent && t > 0 {
                let op = out + (t - 1) * N
                let r = Self.resetFactor
                for i in 0..<N { m[i] = m[i] * r * (ampPrev - op[i]) + xt[i] }
            } else {
                m.update(from: xt, count: N)
            }
            // mean|m_t| over the real rows, when calibration or dynamic mode needs it.
            var meanAbs: Float = 0
            if calibrating || control.mode == .dynamic {
                meanAbs = Self.meanAbs(m, rows: R, width: C, validRows: validRows)
            }
            if calibrating { alpha.append(max(2 * meanAbs, Self.alphaFloor)) }
            let base = alpha[t]
            // α in force: static a = (k/2)·α_t; dynamic a = k·mean|m_t|; clamped like the released eps.
            let a = max(control.mode == .static ? k / 2 * base : k * meanAbs, Self.alphaFloor)
            let amp = control.coupling == .amplitudeAndThreshold ? a : base
            lastAmplitude.append(amp)
            lastThreshold.append(variant == .signed ? 0 : a / 2)
            // s = clamp(round(m/a), −1, 1); o = s·amp
            let v = variant
            if let s {
                for i in 0..<N {
                    let sp = Self.spike(m[i], a, v)
                    s[i] = sp
                    ot[i] = sp * amp
                }
                probe!.record(site, neuron: kind, width: C, rows: R, membrane: m, spikes: s, current: xt)
            } else {
                // One loop per variant (the switch hoisted out of the element loop), o = s·amp.
                switch v {
                case .ternary: for i in 0..<N { ot[i] = Self.ternary(m[i] / a) * amp }
                case .binary: for i in 0..<N { ot[i] = (m[i] / a > 0.5 ? 1 : 0) * amp }
                case .signed: for i in 0..<N { ot[i] = (m[i] > 0 ? 1 : (m[i] < 0 ? -1 : 0)) * amp }
                }
            }
            ampPrev = amp
        }
        if let probe {
            let amps = lastAmplitude, thr = lastThreshold, kk = control.k
            probe.annotate(site) { tr in
                tr.layout = [T, R]
                tr.amplitude = amps
                tr.threshold = thr.reduce(0, +) / Float(thr.count)
                tr.k = kk
            }
        }
    }

    /// mean |m| over the rows flagged valid (all rows when `validRows` is nil), accumulated in Double.
    static func meanAbs(_ m: UnsafePointer<Float>, rows R: Int, width C: Int, validRows: [Bool]?) -> Float {
        var acc = 0.0
        var n = 0
        for r in 0..<R where validRows?[r] ?? true {
            let row = m + r * C
            for j in 0..<C { acc += Double(abs(row[j])) }
            n += C
        }
        return n == 0 ? 0 : Float(acc / Double(n))
    }

    /// Tensor convenience: `x` is [T, …, C] with T = `steps`; returns o of the same shape.
    /// Throws when the first axis is not T.
    public mutating func callAsFunction(_ x: Tensor, validRows: [Bool]? = nil, site: String = "",
                                        probe: Probe? = nil) throws -> Tensor {
        guard x.rank >= 2, x.shape[0] == steps else {
            throw EngineError.invalidShape(op: "ElasticBiSpike", shape: x.shape,
                                           reason: "the first axis must be the \(steps) timesteps and the last the width")
        }
        let C = x.shape[x.rank - 1]
        let R = x.count / max(steps * C, 1)
        if let validRows, validRows.count != R {
            throw EngineError.invalidArgument(op: "ElasticBiSpike", reason: "validRows has \(validRows.count) flags for \(R) rows")
        }
        var out = Tensor(zeros: x.shape)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                run(xb.baseAddress!, rows: R, width: C, into: ob.baseAddress!, validRows: validRows, site: site, probe: probe)
            }
        }
        return out
    }
}
