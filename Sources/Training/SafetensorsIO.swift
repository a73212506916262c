// SafetensorsIO: a minimal float32 safetensors reader/writer and an atomic file write, for the
// trainer's checkpoints.
//
// TO BE REPLACED: the `Formats` target (branch `formats`) owns the real safetensors reader/writer
// and atomic writes; when it lands in main, `Checkpoint.swift` calls it and this file goes.
// What it is: F32 tensors only, `__metadata__` string map, header padded to 8 bytes.
// What it is not: a general reader (no F16/BF16/I64, no mmap).
//
// Layout (safetensors spec): u64 little-endian N, then N bytes of JSON header
//   {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}
// then the raw little-endian data; offsets are relative to the end of the header.

import Foundation
import Engine

enum SafetensorsIO {
    /// The file's bytes for `tensors` (sorted by name, so the file is deterministic).
    static func encode(_ tensors: [String: Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let n = t.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + n]]
            offset += n
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned (allowed by the spec).
        while (json.count % 8) != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!.contiguous()
            t.withUnsafeBufferPointer { p in out.append(UnsafeBufferPointer(start: p.baseAddress, count: p.count)) }
        }
        return out
    }

    /// Reads every tensor and the metadata. Throws `badCheckpoint` on any inconsistency.
    static func decode(_ data: Data, path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func bad(_ reason: String) -> TrainingError {
            .badCheckpoint(path: path, reason: reason, hint: "the file is truncated or not a float32 safetensors file")
        }
        guard data.count >= 8 else { throw bad("only \(data.count) bytes") }
        let n = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else { throw bad("header length \(n) exceeds the file (\(data.count) bytes)") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + Int(n)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" { metadata = entry as? [String: String] ?? [:]; continue }
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offs = e["data_offsets"] as? [Int], offs.count == 2 else {
                throw bad("entry '\(name)' is malformed")
            }
            guard dtype == "F32" else { throw bad("tensor '\(name)' is \(dtype); only F32 is read here") }
            let count = shape.reduce(1, *)
            guard offs[1] - offs[0] == count * 4, offs[0] >= 0, base + offs[1] <= data.count else {
                throw bad("tensor '\(name)' data [\(offs[0]), \(offs[1])) does not fit shape \(shape) in \(data.count - base) data bytes")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: (base + offs[0])..<(base + offs[1]))
            }
            tensors[name] = try Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Writes `data` to `url` so a reader sees either the old file or the whole new one:
    /// temp file in the same directory → fsync → rename → fsync the directory.
    static func atomicWrite(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw TrainingError.badCheckpoint(path: tmp.path, reason: "cannot create (errno \(errno))", hint: "is the session directory writable?")
        }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let w = write(fd, raw.baseAddress! + done, raw.count - done)
                if w <= 0 { return false }
                done += w
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw TrainingError.badCheckpoint(path: url.path, reason: "write or rename failed (errno \(errno))", hint: "is the disk full?")
        }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}

extension Dictionary where Key == String, Value == Tensor {
    /// Writes these tensors as a float32 safetensors file, atomically (see `SafetensorsIO`).
    public func writeSafetensors(to url: URL, metadata: [String: String] = [:]) throws {
        try SafetensorsIO.atomicWrite(SafetensorsIO.encode(self, metadata: metadata), to: url)
    }

    /// Reads a float32 safetensors file.
    public static func readSafetensors(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = try? Data(contentsOf: url) else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot read", hint: "check the path")
        }
        return try SafetensorsIO.decode(data, path: url.path)
    }
}
