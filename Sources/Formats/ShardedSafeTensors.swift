// ShardedSafeTensors: a checkpoint split over several safetensors files, as HF writes big models:
// `model.safetensors.index.json` = {"metadata": {...}, "weight_map": {"<tensor>": "<shard file>"}}
// beside `model-0000N-of-0000M.safetensors`.
//
// What it is: the index reader; every shard is mapped (no tensor data read) and checked to hold
// the tensors the index gives it. What it is not: a writer of sharded checkpoints.

import Engine
import Foundation

public enum ShardedSafeTensors {
    /// Loads every tensor the index names from its shard (in the index's order).
    /// - Throws: `FormatError` naming the index or shard file: a weight_map that is not an object
    ///   of file names, a shard name that leaves the folder, a missing shard, or a tensor the index
    ///   lists that its shard lacks.
    public static func load(index path: String, keepHalf: Bool = false) throws -> WeightSet {
        let json = try JSONValue.parse(file: path)
        guard case let .object(map)? = json["weight_map"] else {
            throw FormatError.malformed(path: path, offset: nil, what: "no \"weight_map\" object",
                                        hint: "a sharded checkpoint's index maps each tensor name to its shard file")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var shards: [String: WeightSet] = [:]
        var names: [String] = [], tensors: [String: Tensor] = [:], half: [String: HalfTensor] = [:]
        var skipped: [WeightSet.Skipped] = []
        var metadata: [String: String] = [:]
        for (name, v) in map {
            guard let file = v.string else {
                throw FormatError.malformed(path: path, offset: nil, what: "weight_map[\"\(name)\"] is not a file name", hint: "the index is corrupt")
            }
            guard !file.contains("/"), !file.contains("\\"), file != "..", !file.isEmpty else {
                throw FormatError.malformed(path: path, offset: nil, what: "weight_map[\"\(name)\"] = \"\(file)\" is not a file in the index's folder",
                                            hint: "shards must sit beside the index")
            }
            if shards[file] == nil {
                let shardPath = folder + "/" + file
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw FormatError.notFound(path: shardPath, what: "shard \(file) (named by \(URL(fileURLWithPath: path).lastPathComponent) for tensor \(name))",
                                               hint: "download every shard the index lists into the same folder")
                }
                let ws = try SafeTensorsFile(path: shardPath).weights(keepHalf: keepHalf)
                shards[file] = ws
                skipped += ws.skipped
                metadata.merge(ws.metadata) { a, _ in a }
            }
            let shard = shards[file]!
            if let t = shard[name] { tensors[name] = t } else if let h = shard.half[name] { half[name] = h } else {
                if shard.skipped.contains(where: { $0.name == name }) { continue }
                throw FormatError.missingTensor(path: shard.path, tensor: name,
                                                hint: "the index says \(file) holds it; the shard and the index do not match (re-download both)")
            }
            names.append(name)
        }
        return WeightSet(path: path, format: .safetensors, names: names, tensors: tensors, skipped: skipped,
                         metadata: metadata, half: half)
    }
}
