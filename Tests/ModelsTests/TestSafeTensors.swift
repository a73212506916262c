// Test support: fixture reading through the product's own safetensors reader (Formats), and the
// paths ModelsTests use.

import Foundation
import Engine
import Formats
import TestSupport

enum TestSafeTensors {
    /// Every float tensor of a safetensors file (integer tensors such as MiniLM's position_ids are
    /// skipped by `Checkpoint.load`, as the models never read them).
    static func read(_ url: URL) throws -> [String: Tensor] { try Checkpoint.load(url.path).tensors }
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
    /// The real MiniLM, fetched on first use (TestSupport); a failed fetch throws its reason.
    static func minilm() throws -> URL { try TestData.minilm() }
}

extension Tensor {
    /// Values as Ints (fixtures store small integers as float32).
    var ints: [Int] { values.map { Int($0.rounded()) } }
}
