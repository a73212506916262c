// ModelLoader: opens a checkpoint (safetensors, PyTorch zip, or a model folder with config.json)
// and builds the right model family from its tensor names.
// What it is not: tokenizer discovery (Workbench pairs a model with its tokenizer).

import Foundation
import Engine
import Formats

public struct LoadedModel: Sendable {
    public var model: any InspectableModel
    /// The weights file actually read.
    public var weightsPath: String
    public var architecture: Architecture
    public var metadata: [String: String]
}

public enum ModelLoader {
    /// Loads `path` (a weights file or a folder) into a model.
    /// - Throws: `FormatError` for unreadable files, `ModelError` for unknown layouts or bad shapes.
    public static func load(path: String) throws -> LoadedModel {
        let ws = try Checkpoint.load(path)
        do { return try build(ws) } catch let e as ModelError { throw e.locating(ws.path) }
    }

    private static func build(_ ws: WeightSet) throws -> LoadedModel {
        let arch = try Architecture.detect(names: ws.names)
        switch arch {
        case .spikegpt:
            var cfg = try SpikeGPT.inferConfig(ws.tensors)
            if ws.metadata["binary_embedding"] == "true" { cfg.binaryEmbedding = true }
            let m = try SpikeGPT(weights: ws.tensors, config: cfg)
            return LoadedModel(model: m, weightsPath: ws.path, architecture: arch, metadata: ws.metadata)
        case .spikebert:
            return LoadedModel(model: try loadBERT(ws), weightsPath: ws.path, architecture: arch, metadata: ws.metadata)
        }
    }
}
