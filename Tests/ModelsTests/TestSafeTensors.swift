// TestSafeTensors: a minimal safetensors reader for the ModelsTests fixtures and MiniLM (test-only).
//
// What it is: reads the 8-byte little-endian header length, the JSON header, and copies every F32
// tensor into a Tensor; tensors of other dtypes (MiniLM's I64 `embeddings.position_ids`) are skipped.
// What it is not: the Formats reader (mmap, F16/BF16, errors with offsets); the lead swaps that in.

import Foundation
import Engine

enum TestSafeTensors {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func read(_ url: URL) throws -> [String: Tensor] {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        guard data.count >= 8 else { throw Failure(description: "\(url.path): shorter than 8 bytes") }
        let n = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        guard 8 + n <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] else {
            throw Failure(description: "\(url.path): bad header (length \(n))")
        }
        var out: [String: Tensor] = [:]
        for (name, v) in header where name != "__metadata__" {
            guard let info = v as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2 else {
                throw Failure(description: "\(url.path): bad entry for '\(name)'")
            }
            guard dtype == "F32" else { continue }
            let count = shape.reduce(1, *)
            guard offs[1] - offs[0] == count * 4, 8 + n + offs[1] <= data.count else {
                throw Failure(description: "\(url.path): '\(name)' has \(offs[1] - offs[0]) bytes for shape \(shape)")
            }
            var t = Tensor(zeros: shape)
            t.withUnsafeMutableBufferPointer { dst in
                data.withUnsafeBytes { raw in
                    let src = raw.baseAddress! + 8 + n + offs[0]
                    if count > 0 { memcpy(dst.baseAddress!, src, count * 4) }   // little-endian hosts only
                }
            }
            out[name] = t
        }
        return out
    }
}

/// Paths the ModelsTests use, found from this file's location.
enum TestPaths {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = here.appendingPathComponent("Fixtures/spikebert")
    /// Package root: walk up from this file until Package.swift.
    static var packageRoot: URL {
        var u = here
        while u.path != "/" {
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { return u }
            u = u.deletingLastPathComponent()
        }
        return here
    }
    static var minilm: URL { packageRoot.appendingPathComponent(".downloads/minilm") }
}

extension Tensor {
    /// Values as Ints (fixtures store small integers as float32).
    var ints: [Int] { values.map { Int($0.rounded()) } }
}
