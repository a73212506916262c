// LIF: the leaky integrate-and-fire neuron with SpikingJelly's `LIFNode` semantics, as SpikeGPT
// uses it (SEEDS.md §1). Time is the token sequence; the state is one membrane per channel.
//
// What it is: a value type with its config and state, stepped one token at a time over C channels.
// The config is mutable between steps: it is a live control of the workbench.
// What it is not: differentiable. Training uses `Variable.heaviside` (arctan surrogate) through the
// same equations in the SpikeGPT training form.
//
//   charge: h = v + (x - (v - v_reset)) / tau          (decay_input = true)
//           h = v - (v - v_reset) / tau + x            (decay_input = false)
//   fire:   s = h >= v_th ? 1 : 0                      (SpikingJelly's heaviside: x >= 0 → 1)
//   reset:  v = s ? v_reset : h                        (hard reset)
//           v = h - s·v_th                             (soft reset)
//   v_th = (k / 2) · v_threshold                       (frequency control, SEEDS-FREQUENCY.md)

public struct LIFConfig: Sendable, Codable, Equatable {
    /// Membrane time constant; SpikingJelly default 2.
    public var tau: Float = 2
    /// Firing threshold before the frequency control; SpikingJelly default 1.
    public var vThreshold: Float = 1
    /// Reset potential; SpikingJelly default 0.
    public var vReset: Float = 0
    public var decayInput: Bool = true
    public var hardReset: Bool = true
    /// Arctangent surrogate width (SpikingJelly `surrogate.ATan(alpha=2)`), used in training.
    public var surrogateAlpha: Float = 2
    /// Frequency control k (default 2 = the model's own threshold).
    public var k: Float = 2

    public init() {}

    /// The threshold in force: (k / 2) · v_threshold.
    public var threshold: Float { k / 2 * vThreshold }

    /// The charge step, the one place it is written (the neuron here, SpikeGPT's fast runner and
    /// the fused training op all call it): h = v + (x − (v − v_r))/τ with decay_input, else
    /// h = v − (v − v_r)/τ + x.
    @inlinable @inline(__always)
    public func charge(_ v: Float, _ x: Float) -> Float {
        decayInput ? v + (x - (v - vReset)) / tau : v - (v - vReset) / tau + x
    }
}

public struct LIF: Sendable {
    public var config: LIFConfig
    /// Membrane potential after the last step's reset, one per channel.
    public var v: [Float]

    public init(width: Int, config: LIFConfig = LIFConfig()) {
        self.config = config
        self.v = [Float](repeating: config.vReset, count: width)
    }

    public var width: Int { v.count }

    public mutating func reset() {
        for i in v.indices { v[i] = config.vReset }
    }

    /// One step over C channels: reads x[C], writes spikes s[C] and, when given, the charged
    /// potential h[C] (before reset — what the workbench draws).
    public mutating func step(_ x: UnsafePointer<Float>, spikes s: UnsafeMutablePointer<Float>,
                              charged h: UnsafeMutablePointer<Float>? = nil) {
        let cfg = config, vr = config.vReset, th = config.threshold
        let hard = config.hardReset
        v.withUnsafeMutableBufferPointer { vp in
            for c in 0..<vp.count {
                let vm = vp[c]
                let hc = cfg.charge(vm, x[c])
                let sc: Float = hc >= th ? 1 : 0
                s[c] = sc
                h?[c] = hc
                vp[c] = hard ? (sc > 0 ? vr : hc) : hc - sc * th
            }
        }
    }

    /// Steps over T rows of a row-major [T, C] buffer.
    public mutating func run(steps T: Int, _ x: UnsafePointer<Float>, spikes s: UnsafeMutablePointer<Float>,
                             charged h: UnsafeMutablePointer<Float>? = nil) {
        let C = width
        for t in 0..<T {
            step(x + t * C, spikes: s + t * C, charged: h.map { $0 + t * C })
        }
    }
}
