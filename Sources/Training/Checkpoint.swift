// Checkpoints of a training run: weights, optimiser moments and trainer state, written so that a
// crash at any instant (kill -9 included) leaves only complete checkpoints behind.
//
// What it is: `CheckpointStore` over `<session>/checkpoints/`. A checkpoint `step-NNNNNN` is three
// files, each written atomically (temp → fsync → rename):
//   step-NNNNNN.safetensors        weights, official names, __metadata__ {arch, config…, step}
//   step-NNNNNN.optim.safetensors  AdamW moments: "m.<name>", "v.<name>"
//   step-NNNNNN.trainer.json       step, RNG states, schedule, config (`TrainerState`)
// and then, last, `latest` (atomically replaced) names it. A reader trusts only `latest`; files of
// a checkpoint interrupted before `latest` moved are complete-or-absent and simply ignored.
// What it is not: pruning of old checkpoints (all are kept; they are small at this scale).

import Foundation
import Engine
import Formats

/// Everything besides tensors needed to continue a run exactly.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Format version of this file.
    public var version = 1
    /// Steps done (including skipped non-finite steps).
    public var step: Int
    /// AdamW's update count (bias-correction t).
    public var optimizerStep: Int
    /// Generator of batch positions after `step` steps: the data position.
    public var dataRNG: SeededRNG
    /// Generator of dropout masks after `step` steps.
    public var dropoutRNG: SeededRNG
    public var schedule: LRSchedule
    public var config: TrainerConfig
    /// Training losses of the steps so far (NaN steps are absent), for curves after resume.
    public var losses: [Double]
}

public struct CheckpointStore: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `<session>/checkpoints`, created if needed.
    public static func forSession(_ session: URL) throws -> CheckpointStore {
        let dir = session.appendingPathComponent("checkpoints")
        do { try Folder.create(dir.path) } catch let e as FormatError {
            throw TrainingError.badCheckpoint(path: dir.path, reason: e.ioReason, hint: "check --session points somewhere writable")
        }
        // A run killed mid-write leaves hidden temporaries; clear those of dead writers.
        AtomicWrite.removeStaleTemporaries(in: dir.path)
        return CheckpointStore(directory: dir)
    }

    public static func name(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    public func weightsURL(_ name: String) -> URL { directory.appendingPathComponent(name + ".safetensors") }
    public func optimizerURL(_ name: String) -> URL { directory.appendingPathComponent(name + ".optim.safetensors") }
    public func stateURL(_ name: String) -> URL { directory.appendingPathComponent(name + ".trainer.json") }
    public var latestURL: URL { directory.appendingPathComponent("latest") }

    /// Writes checkpoint `step-NNNNNN` and then points `latest` at it. Returns its name.
    @discardableResult
    public func write(weights: [String: Tensor], metadata: [String: String], optimizer: AdamW, state: TrainerState) throws -> String {
        let name = CheckpointStore.name(step: state.step)
        var meta = metadata
        meta["step"] = String(state.step)
        let cfg = try JSONEncoder().encode(state.config)
        meta["trainer_config"] = String(decoding: cfg, as: UTF8.self)
        try SafetensorsIO.write(weights, metadata: meta, to: weightsURL(name))
        var moments: [String: Tensor] = [:]
        for (k, m) in optimizer.m { moments["m." + k] = Tensor(m) }
        for (k, v) in optimizer.v { moments["v." + k] = Tensor(v) }
        try SafetensorsIO.write(moments, metadata: ["step": String(optimizer.step)], to: optimizerURL(name))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try SafetensorsIO.atomicWrite(enc.encode(state), to: stateURL(name))
        // Last: the pointer. Until this rename lands, readers still see the previous checkpoint.
        try SafetensorsIO.atomicWrite(Data((name + "\n").utf8), to: latestURL)
        return name
    }

    /// The checkpoint `latest` names, or nil when there is none yet.
    public func latest() throws -> String? {
        guard let data = try? Data(contentsOf: latestURL) else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.hasPrefix("step-"), Int(name.dropFirst(5)) != nil else {
            throw TrainingError.badCheckpoint(path: latestURL.path, reason: "does not name a checkpoint ('\(name)')", hint: "delete it to start over")
        }
        return name
    }

    public struct Loaded {
        public var name: String
        public var weights: [String: Tensor]
        public var metadata: [String: String]
        public var m: [String: [Float]]
        public var v: [String: [Float]]
        public var optimizerStep: Int
        public var state: TrainerState
    }

    /// Reads weights only (e.g. to open a checkpoint in the inspector).
    public func readWeights(_ name: String) throws -> (weights: [String: Tensor], metadata: [String: String]) {
        let d = try SafetensorsIO.read(weightsURL(name))
        return (d.tensors, d.metadata)
    }

    /// Reads all three files of checkpoint `name`.
    public func read(_ name: String) throws -> Loaded {
        let (w, meta) = try readWeights(name)
        let ou = optimizerURL(name), su = stateURL(name)
        let (mom, ometa) = try SafetensorsIO.read(ou)
        var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for (k, t) in mom {
            if k.hasPrefix("m.") { m[String(k.dropFirst(2))] = t.values } else if k.hasPrefix("v.") { v[String(k.dropFirst(2))] = t.values }
        }
        let sd: Data
        do { sd = try RegularFile.read(su.path, maxBytes: 64 << 20, what: "a trainer state") } catch let e as FormatError {
            throw TrainingError.badCheckpoint(path: su.path, reason: e.ioReason, hint: "the checkpoint was never completed; delete it (and fix 'latest') to resume from an earlier one")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: sd) } catch {
            throw TrainingError.badCheckpoint(path: su.path, reason: "is not a trainer state: \(JSONDecodeErrors.describe(error, data: sd, path: su.path))",
                                              hint: "the file is corrupt or was written by a different version; delete this checkpoint to resume from an earlier one")
        }
        return Loaded(name: name, weights: w, metadata: meta, m: m, v: v,
                      optimizerStep: Int(ometa["step"] ?? "") ?? state.optimizerStep, state: state)
    }
}
