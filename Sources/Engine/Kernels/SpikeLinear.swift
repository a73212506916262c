// SpikeLinear: y = x·W for spiking or otherwise sparse x, by event-driven accumulation or dense
// GEMM, whichever is faster for the measured nonzero fraction of x.
//
// What it is: a weight holder (W kept three times: [In, Out] row-major, packed once for the dense
// GEMM (ss_gemm_packed_b_f32) and packed for CKernels' ss_spike_linear_packed_f32) plus a
// dispatcher. The event path computes
//   y[t, :] = Σ_{j : x[t][j] ≠ 0} x[t][j] · W[j, :]
// so its cost is ∝ nnz(x)·Out; the dense path is T·In·Out at ~2.5× the per-MAC speed (see
// spike.c). Any float values work: binary {0,1}, ternary ±α, multi-level n·θ, ReLU² outputs.
// What it is not: an autograd op (inference/probing only; use Tensor.matmul in training), and it
// has no bias (add it after).
// Shape legend: T tokens (all leading axes of x folded), In input width, Out output width.

import CKernels
import Foundation

public struct SpikeLinear: @unchecked Sendable {
    /// Which kernel computes the product.
    public enum Path: String, Sendable, CaseIterable {
        case dense  // ss_gemm_packed_b_f32 on [T, In]·[In, Out] (W packed once at init)
        case event  // ss_spike_linear_packed_f32: only nonzero inputs do work
    }

    public let inFeatures: Int
    public let outFeatures: Int
    /// W as [In, Out], contiguous (one row per input).
    public let weight: Tensor
    private let packed: TensorStorage
    /// W packed for ss_gemm_packed_b_f32 (64-byte aligned TensorStorage).
    private let gemmPacked: TensorStorage

    /// From a weight stored [In, Out] (one contiguous row per input).
    /// - Throws: `EngineError.invalidShape` unless `weightInOut` is rank 2 with both sides ≥ 1.
    /// - Cost: one copy and one packing pass over W (In·Out floats each).
    public init(weightInOut: Tensor) throws {
        guard weightInOut.rank == 2, weightInOut.shape[0] > 0, weightInOut.shape[1] > 0 else {
            throw EngineError.invalidShape(op: "SpikeLinear(weightInOut:)", shape: weightInOut.shape,
                                           reason: "expected [In, Out] with In, Out ≥ 1. Hint: a PyTorch nn.Linear weight is [Out, In]; use SpikeLinear(pytorchWeight:)")
        }
        let w = weightInOut.contiguous()
        let inF = w.shape[0], outF = w.shape[1]
        let own = Tensor(zeros: [inF, outF])
        own.storage.base.update(from: w.storage.base + w.offset, count: inF * outF)
        let p = TensorStorage(count: ss_spike_packed_count(Int32(inF), Int32(outF)))
        ss_spike_pack_f32(Int32(inF), Int32(outF), own.storage.base, Int32(outF), p.base)
        let g = TensorStorage(count: ss_gemm_packed_b_count(Int32(inF), Int32(outF)))
        ss_gemm_pack_b_f32(0, Int32(inF), Int32(outF), own.storage.base, Int32(outF), g.base)
        self.inFeatures = inF
        self.outFeatures = outF
        self.weight = own
        self.packed = p
        self.gemmPacked = g
    }

    /// From a PyTorch nn.Linear weight [Out, In] (y = x·Wᵀ): transposed once here.
    public init(pytorchWeight: Tensor) throws {
        try self.init(weightInOut: try SpikeLinear.transposeToInOut(pytorchWeight))
    }

    /// [Out, In] → [In, Out] (a contiguous copy), e.g. for a PyTorch Linear weight.
    /// - Throws: `EngineError.invalidShape` unless the weight is rank 2.
    public static func transposeToInOut(_ w: Tensor) throws -> Tensor {
        guard w.rank == 2 else {
            throw EngineError.invalidShape(op: "SpikeLinear.transposeToInOut", shape: w.shape,
                                           reason: "expected a rank-2 [Out, In] weight")
        }
        let c = w.contiguous()
        let out = Tensor(zeros: [w.shape[1], w.shape[0]])
        ss_transpose_f32(Int32(w.shape[0]), Int32(w.shape[1]), out.storage.base, c.storage.base + c.offset)
        return out
    }

    /// y = x·W for x [..., In] → [..., Out].
    /// - Parameter path: force a kernel; nil picks by `x`'s nonzero fraction against
    ///   `SpikeLinear.breakEvenRate`.
    /// - Throws: `EngineError.shapeMismatch` naming x's shape and the weight's [In, Out] when the
    ///   last axis of x is not In (or x is a scalar).
    /// - Cost: event ∝ nnz(x)·Out, dense ∝ T·In·Out; counting nonzeros is one pass over x.
    public func forward(_ x: Tensor, path: Path? = nil) throws -> Tensor {
        let y = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        try forward(x, into: y, path: path)
        return y
    }

    /// y = x·W written into `y` (every element overwritten), for callers that reuse one output
    /// buffer across calls (no allocation or zeroing per call).
    /// - Throws: `EngineError.shapeMismatch` as `forward(_:path:)`, or when `y` is not a contiguous
    ///   tensor of x's leading shape + [Out].
    public func forward(_ x: Tensor, into y: Tensor, path: Path? = nil) throws {
        guard x.rank >= 1, x.shape[x.rank - 1] == inFeatures else {
            throw EngineError.shapeMismatch(
                op: "SpikeLinear.forward", lhs: x.shape, rhs: [inFeatures, outFeatures],
                hint: "x's last axis must be the input width In = \(inFeatures) (weight is [In, Out])")
        }
        let outShape = Array(x.shape.dropLast()) + [outFeatures]
        guard y.shape == outShape, y.isContiguous else {
            throw EngineError.shapeMismatch(
                op: "SpikeLinear.forward(into:)", lhs: y.shape, rhs: outShape,
                hint: "the output must be a contiguous tensor of shape \(outShape)")
        }
        let xc = x.contiguous()
        let tokens = xc.count / inFeatures
        if tokens == 0 { return }
        let xp = UnsafePointer(xc.storage.base + xc.offset)
        let rate = SpikeLinear.nonzeroFraction(xp, count: xc.count)
        let (t, i, o) = (Int32(tokens), Int32(inFeatures), Int32(outFeatures))
        let yp = y.storage.base + y.offset
        switch path ?? choosePath(rate: rate) {
        case .dense:
            ss_gemm_packed_b_f32(t, o, i, 1, xp, i, gemmPacked.base, 0, yp, o)
        case .event where rate < SpikeLinear.plainLayoutBelowRate:
            ss_spike_linear_f32(t, i, o, xp, i, weight.storage.base, o, 0, yp, o)
        case .event:
            ss_spike_linear_packed_f32(t, i, o, xp, i, packed.base, 0, yp, o)
        }
        withExtendedLifetime(xc) {}
    }

    /// Below this rate the event path reads W in its plain [In, Out] layout (96-column blocks)
    /// instead of the packed slabs. Once 0.07 (one core, warm caches); with the prefetching packed
    /// path, measured on Zen 3 with 2 threads and cold weights, 128×768 → 3072, packed wins at
    /// every rate (0.53 vs 0.61 ms at 0.02, 0.88 vs 1.01 at 0.05), so the plain layout is unused.
    public static let plainLayoutBelowRate = 0.0

    /// The kernel `forward` uses for inputs with nonzero fraction `rate`.
    public func choosePath(rate: Double) -> Path {
        rate < SpikeLinear.breakEvenRate ? .event : .dense
    }

    /// Fraction of nonzero entries in x[0..<count].
    public static func nonzeroFraction(_ x: UnsafePointer<Float>, count: Int) -> Double {
        count == 0 ? 0 : Double(ss_count_nonzero_f32(count, x)) / Double(count)
    }

    // MARK: break-even rate

    /// Nonzero fraction below which the event path is used. 0.5 until `calibrate` runs:
    /// measured on AMD EPYC Zen 3, 2 threads, 128 tokens × 768 → 3072, the event path is 1.3×
    /// faster at 0.5 and the two cross near 0.65; 0.5 keeps a margin for other shapes/CPUs.
    public static var breakEvenRate: Double {
        get { calibration.value ?? defaultBreakEvenRate }
        set { calibration.value = newValue }
    }
    public static let defaultBreakEvenRate = 0.5

    /// Measures the break-even rate on this machine for a [tokens, In]·[In, Out] product: times
    /// both kernels (best of `runs`) at rates 0.05, 0.1, …, 1.0 of random binary spikes, returns
    /// the first rate where the event path is no longer faster (linearly interpolated), and makes
    /// it the new `breakEvenRate`. Cost: ~40 products of the given size (≈0.5 s at the default).
    @discardableResult
    public static func calibrate(tokens: Int = 128, inFeatures: Int = 768, outFeatures: Int = 3072,
                                 runs: Int = 3, seed: UInt64 = 1) -> Double {
        var rng = SeededRNG(seed: seed)
        let w = Tensor.randomUniform([inFeatures, outFeatures], -1, 1, rng: &rng)
        guard let layer = try? SpikeLinear(weightInOut: w) else { return defaultBreakEvenRate }
        func best(_ x: Tensor, _ p: Path) -> Double {
            let clock = ContinuousClock()
            var b = Double.infinity
            for _ in 0..<(runs + 1) {  // the first run warms caches and the pool
                let d = clock.measure { _ = try? layer.forward(x, path: p) }
                b = min(b, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            }
            return b
        }
        var previous: (rate: Double, margin: Double)? = nil
        var found = 1.0
        for step in 1...20 {
            let rate = Double(step) * 0.05
            let x = Tensor(shape: [tokens, inFeatures]) { _ in Double(rng.nextUniform()) < rate ? 1 : 0 }
            let margin = best(x, .dense) - best(x, .event)  // > 0 while the event path wins
            if margin <= 0 {
                if let p = previous, p.margin > 0 {
                    found = p.rate + (rate - p.rate) * p.margin / (p.margin - margin)
                } else {
                    found = rate
                }
                break
            }
            previous = (rate, margin)
        }
        breakEvenRate = found
        return found
    }

    private static let calibration = Calibration()
}

/// The calibrated rate, shared by all threads.
private final class Calibration: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Double?
    var value: Double? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
