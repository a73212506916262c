// The neuron controls `inspect` and the workbench both take (--neuron, --timesteps, --k), parsed
// and range-checked once. Whether the model's family can take them is checked by the model
// (`InspectableModel.checkNeuron` / `checkTimesteps`).
import ArgumentParser
import Models
import Neurons

struct ControlOptions: ParsableArguments {
    @Option(help: "Neuron at the spiking sites: lif, elastic, gif, binary, signed, none (what the model's family runs).")
    var neuron: String?
    // Numeric options read the next word even when it starts with '-', so that a negative value
    // gets its range error instead of "Missing value".
    @Option(parsing: .unconditional, help: "Timesteps T (families that run T timesteps).")
    var timesteps: Int?
    @Option(parsing: .unconditional, help: "Frequency control k at every site (2 = the model's own threshold).")
    var k: Float?

    var neuronKind: NeuronKind? { neuron.flatMap(NeuronKind.init(rawValue:)) }

    func validate() throws {
        if let n = neuron, NeuronKind(rawValue: n) == nil {
            throw ValidationError("The value '\(n)' is invalid for '--neuron'. Use one of: \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if let t = timesteps, !(1...BERTConfig.maxTimesteps).contains(t) {
            throw ValidationError("--timesteps must be in 1…\(BERTConfig.maxTimesteps), got \(t)")
        }
        if let k, !(k > 0) { throw ValidationError("--k must be positive, got \(k)") }
    }
}
