// GIF: the generalized integrate-and-fire neuron of SpikeLLM (SEEDS-SPIKELLM.md), which merges
// each run of L binary timesteps into one step that fires a multi-level spike n ∈ 0…L (or −L…L).
//
// What it is: a stateless-per-call quantiser of an activation x over T binary-equivalent steps,
// run as T/L merged steps, returning the levels of every merged step and the decoded value.
// Each merged step integrates the input of the L binary steps it replaces (our reading of the
// paper's "compress T steps into T/L steps", chosen so that GIF(T, L) fires exactly as IF over T):
//   m ← m + L·x
//   n = clamp(floor(m/θ), 0, L)              (bidirectional: clamp(trunc(m/θ), −L, L))
//   m ← m − n·θ                              (soft reset by the charge that fired)
//   decoded x̂ = θ/T · Σ n                    (the rate code: spikes per binary step × θ)
// L = 1 is the plain IF neuron; L = T is one step, a uniform quantiser with step θ/T.
// Bits per activation: (T/L)·log2(L+1), bidirectional (T/L)·log2(2L+1).
// θ_eff = (k/2)·θ: the frequency control (SEEDS-FREQUENCY.md).
// What it is not: differentiable by itself; `straightThrough` gives the STE gradient rule.

import Foundation

public struct GIFConfig: Sendable, Codable, Equatable {
    /// Binary-equivalent timesteps T (a multiple of `levels`).
    public var timesteps: Int = 4
    /// Levels L merged per step.
    public var levels: Int = 4
    public var bidirectional: Bool = true
    /// Frequency control k (2 = calibrated θ).
    public var k: Float = 2

    public init(timesteps: Int = 4, levels: Int = 4, bidirectional: Bool = true, k: Float = 2) {
        self.timesteps = timesteps; self.levels = levels; self.bidirectional = bidirectional; self.k = k
    }

    /// Merged steps T/L (at least one).
    public var steps: Int { max(1, timesteps / max(levels, 1)) }

    /// Exact bits of one activation: (T/L)·log2(L+1), or (T/L)·log2(2L+1) when bidirectional.
    public var bitsPerActivation: Double {
        Double(steps) * log2(Double(bidirectional ? 2 * levels + 1 : levels + 1))
    }

    public func validate() throws {
        guard levels >= 1, timesteps >= levels, timesteps % levels == 0 else {
            throw NeuronError.invalidConfig("GIF needs T ≥ L ≥ 1 with T a multiple of L; got T = \(timesteps), L = \(levels)")
        }
    }
}

public enum NeuronError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidConfig(String)
    public var description: String {
        switch self { case .invalidConfig(let s): return "neuron config: \(s)" }
    }
}

public enum GIF {
    /// Runs the GIF neuron for one activation x with threshold θ (> 0).
    /// Writes the level of each merged step into `levels` (count `config.steps`) when given.
    /// Returns the decoded value θ/T·Σn.
    @inline(__always)
    public static func encode(_ x: Float, theta: Float, config c: GIFConfig, levels out: UnsafeMutablePointer<Float>? = nil) -> Float {
        let L = Float(c.levels), th = max(theta * c.k / 2, 1e-12)
        var m: Float = 0, total: Float = 0
        for s in 0..<c.steps {
            m += L * x
            let q = m / th
            let n: Float = c.bidirectional ? min(max(q.rounded(.towardZero), -L), L) : min(max(q.rounded(.down), 0), L)
            m -= n * th
            total += n
            out?[s] = n
        }
        return th / Float(c.timesteps) * total
    }

    /// The plain IF neuron over T binary steps (the reference GIF must agree with):
    /// m += x; s = m ≥ θ (or ≤ −θ); m −= s·θ. Returns θ/T·Σs.
    public static func integrateAndFire(_ x: Float, theta: Float, timesteps T: Int, bidirectional: Bool) -> Float {
        var m: Float = 0, total: Float = 0
        for _ in 0..<T {
            m += x
            var s: Float = 0
            if m >= theta { s = 1 } else if bidirectional && m <= -theta { s = -1 }
            m -= s * theta
            total += s
        }
        return theta / Float(T) * total
    }

    /// Quantises rows of x [R, C] channel by channel, channel c using `timesteps[c]` (per-channel T,
    /// the Optimal Brain Spiking allocation) and the site's θ. Returns decoded values [R, C] and
    /// the levels, [maxSteps, R, C] step-major, zero-padded where a channel has fewer steps.
    /// `thetas` (per channel) overrides `theta` where given.
    public static func quantize(_ x: [Float], rows R: Int, width C: Int, theta: Float, base: GIFConfig,
                                timesteps: [Int]? = nil, thetas: [Float]? = nil) -> (decoded: [Float], levels: [Float], maxSteps: Int) {
        let perChannel = timesteps ?? Array(repeating: base.timesteps, count: C)
        let maxSteps = perChannel.map { max(1, $0 / max(base.levels, 1)) }.max() ?? 1
        var dec = [Float](repeating: 0, count: R * C)
        var lv = [Float](repeating: 0, count: maxSteps * R * C)
        var tmp = [Float](repeating: 0, count: maxSteps)
        for c in 0..<C {
            var cfg = base
            cfg.timesteps = max(perChannel[c], base.levels)
            tmp.withUnsafeMutableBufferPointer { tp in
                for r in 0..<R {
                    for s in 0..<maxSteps { tp[s] = 0 }
                    dec[r * C + c] = encode(x[r * C + c], theta: thetas?[c] ?? theta, config: cfg, levels: tp.baseAddress!)
                    for s in 0..<maxSteps { lv[(s * R + r) * C + c] = tp[s] }
                }
            }
        }
        return (dec, lv, maxSteps)
    }
}
