// SafetensorsIO: the trainer's thin bridge to `Formats` — float32 safetensors files and atomic
// writes, with Formats' errors reported as `TrainingError.badCheckpoint` naming the file.
//
// What it is: read all tensors of a file (copied out of the mapping so the file can be replaced
// while training continues), write tensors + `__metadata__` atomically, write raw bytes atomically.
// What it is not: the format itself (Formats/SafeTensors.swift, Formats/AtomicWrite.swift).

import Foundation
import Engine
import Formats

enum SafetensorsIO {
    /// Writes `tensors` (float32, names sorted) with `metadata` to `url` atomically.
    static func write(_ tensors: [String: Tensor], metadata: [String: String], to url: URL) throws {
        do {
            try SafeTensors.write(tensors.map { (name: $0.key, tensor: $0.value.contiguous()) }, to: url.path, metadata: metadata)
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot write (\(error))", hint: "is the disk full or the folder read-only?")
        }
    }

    /// Reads every tensor (as owned float32 copies) and the metadata of `url`.
    static func read(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "missing", hint: "the checkpoint was never completed")
        }
        do {
            let f = try SafeTensorsFile(path: url.path)
            var out: [String: Tensor] = [:]
            for name in f.names {
                let t = try f.tensor(name)
                out[name] = try Tensor(shape: t.shape, values: t.values)  // own the bytes: the file may be replaced
            }
            return (out, f.metadata)
        } catch let e as TrainingError {
            throw e
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "\(error)", hint: "the file is truncated or not a safetensors file")
        }
    }

    /// Writes `data` to `url` so a reader sees either the old file or the whole new one.
    static func atomicWrite(_ data: Data, to url: URL) throws {
        do {
            try AtomicWrite.write(to: url.path) { sink in try sink.write([UInt8](data)) }
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot write (\(error))", hint: "is the disk full or the folder read-only?")
        }
    }
}

extension Dictionary where Key == String, Value == Tensor {
    /// Writes these tensors as a float32 safetensors file, atomically.
    public func writeSafetensors(to url: URL, metadata: [String: String] = [:]) throws {
        try SafetensorsIO.write(self, metadata: metadata, to: url)
    }

    /// Reads a safetensors file into owned float32 tensors.
    public static func readSafetensors(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try SafetensorsIO.read(url)
    }
}
