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

    /// Float tensors of a safetensors fixture, read with the product's reader (Formats).
    static func safetensors(_ rel: String) throws -> [String: Tensor] { try TestSafeTensors.read(url(rel)) }
}

func floats2D(_ a: Any?) -> [[Float]] { (a as! [[Double]]).map { $0.map(Float.init) } }
