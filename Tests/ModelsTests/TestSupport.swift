// Test support for ModelsTests: fixture paths and JSON helpers.
import Foundation
import Engine

enum Fixture {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ rel: String) -> URL { dir.appendingPathComponent(rel) }
    static func json(_ rel: String) throws -> [String: Any] {
        let d = try Data(contentsOf: url(rel))
        return try JSONSerialization.jsonObject(with: d) as! [String: Any]
    }

    /// Minimal F32-only safetensors reader for fixtures written by Tests/Reference scripts.
    /// (The product's reader lives in Formats; this one keeps ModelsTests independent of it.)
    static func safetensors(_ rel: String) throws -> [String: Tensor] {
        let data = try Data(contentsOf: url(rel))
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(n)))) as! [String: Any]
        var out: [String: Tensor] = [:]
        for (name, v) in header where name != "__metadata__" {
            let d = v as! [String: Any]
            let shape = (d["shape"] as! [Int])
            let off = d["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (8 + Int(n) + off[0])..<(8 + Int(n) + off[1]))
            let vals = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            out[name] = try Tensor(shape: shape, values: vals)
        }
        return out
    }
}

func floats2D(_ a: Any?) -> [[Float]] { (a as! [[Double]]).map { $0.map(Float.init) } }
