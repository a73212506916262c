// ModelLoader: opens a checkpoint (safetensors, PyTorch zip, or a model folder with config.json)
// and lets the registry's families pick and build the model from its tensor names.
// What it is not: tokenizer discovery (Workbench pairs a model with its tokenizer).

import Foundation
import Engine
import Formats

public struct LoadedModel: Sendable {
    public var model: any InspectableModel
    /// The weights file actually read.
    public var weightsPath: String
    public var family: any ModelFamily
    public var metadata: [String: String]
}

public enum ModelLoader {
    /// Loads `path` (a weights file or a folder) into a model of the family that recognises it.
    /// - Throws: `FormatError` for unreadable files, `ModelError` (naming the file) for unknown
    ///   layouts or bad shapes.
    public static func load(path: String, registry: ModelRegistry = .standard) throws -> LoadedModel {
        var ws = try Checkpoint.load(path, keepHalf: true)
        do {
            let family = try registry.detect(names: ws.names)
            if !family.readsHalfPrecision { ws.convertHalf() }
            return LoadedModel(model: try family.load(ws), weightsPath: ws.path, family: family, metadata: ws.metadata)
        } catch let e as ModelError { throw e.locating(ws.path) }
    }
}
