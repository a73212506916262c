// Placeholder until SpikeBERT lands: BERT checkpoints are recognised but not built yet.
import Formats

extension ModelLoader {
    static func loadBERT(_ ws: WeightSet) throws -> any InspectableModel {
        throw ModelError.badInput(reason: "'\(ws.path)' is a BERT checkpoint, and SpikeBERT is not in this build",
                                  hint: "use a SpikeGPT checkpoint")
    }
}
