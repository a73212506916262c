// FrequencyControl: the spike-frequency knob k of SEEDS-FREQUENCY.md, for the elastic bi-spike.
//
// What it is: a small value (k, mode, coupling) that a site's neuron reads on every forward call,
// so the workbench can change it between calls, for one site or for all.
// What it is not: the neuron itself (ElasticBiSpike.swift), nor the LIF/GIF threshold scaling
// (those families apply `v_threshold = (k/2)·v_threshold(model)` in their own files).
//
// The released SpikeLM code initialises α_t = 2·mean|m_t| (LSQ's step-size initialisation, the
// 2 is the only frequency coefficient in spikeLM-BERT/spiking.py); spikescope turns that 2 into k:
//   static   α_t(in force) = (k/2)·α_t(checkpoint or first-input calibration)     default, k = 2
//   dynamic  α_t(in force) = k·mean|m_t| of the current input (over its real, unpadded tokens)
// A spike fires when |m_t| > α_t/2, so a larger k means fewer spikes, each carrying more amplitude.

/// The frequency control of one elastic site. Default (k = 2, static, coupled) is the released behaviour.
public struct FrequencyControl: Sendable, Equatable, Codable {
    /// Where α comes from.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// α_t = (k/2)·α_t(calibrated or from the checkpoint), frozen across inputs.
        case `static`
        /// α_t = k·mean|m_t| of the current input: the firing rate no longer depends on the input's scale.
        case dynamic
    }

    /// What k moves. α is amplitude, threshold and reset term at once in the released neuron.
    public enum Coupling: String, Sendable, Codable, CaseIterable {
        /// k scales α everywhere (threshold α/2, amplitude α, reset term α): the released coupling.
        case amplitudeAndThreshold
        /// k scales only the threshold; the spikes keep the calibrated amplitude α_t (k = 2 scale).
        case thresholdOnly
    }

    /// Frequency coefficient; 2 reproduces the released code. Must be > 0.
    public var k: Float
    public var mode: Mode
    public var coupling: Coupling

    public init(k: Float = 2, mode: Mode = .static, coupling: Coupling = .amplitudeAndThreshold) {
        self.k = k
        self.mode = mode
        self.coupling = coupling
    }

    /// The released behaviour (k = 2, static, amplitude and threshold coupled).
    public static let released = FrequencyControl()

    /// One-line description for the UI, e.g. "k=2 static, amplitude+threshold".
    public var summary: String {
        let c = coupling == .amplitudeAndThreshold ? "amplitude+threshold" : "threshold only"
        return "k=\(k) \(mode.rawValue), \(c)"
    }
}
