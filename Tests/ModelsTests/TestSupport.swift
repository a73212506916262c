// Test support for ModelsTests: fixture paths, JSON helpers and the finite-difference gradient check.
import Foundation
import Engine
import Testing

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

/// Central finite differences against the recorded gradients: for each parameter in `names`, two
/// entries with a gradient above 1e-4 (drawn with `seed`) are moved by ±h and the loss recomputed.
/// Float32 with h = 1e-2: truncation O(h²·f''') and rounding O(ε·|f|/h) ≈ 1e-5 stay under
/// 2e-3 + 2%·|fd| on O(1) losses; each miss is recorded as an issue naming the entry.
/// - Returns: the worst error relative to max(1, |fd|).
func finiteDifferenceCheck(_ parameters: [String: Variable], names: [String], seed: UInt64 = 5,
                           loss lossValue: () throws -> Float, sourceLocation: SourceLocation = #_sourceLocation) throws -> Float {
    var rng = SeededRNG(seed: seed)
    let h: Float = 1e-2
    var worst: Float = 0
    for name in names {
        let p = try #require(parameters[name], "no parameter \(name)", sourceLocation: sourceLocation)
        let g = try #require(p.grad, "\(name) got no gradient", sourceLocation: sourceLocation).contiguous().values
        let candidates = g.indices.filter { abs(g[$0]) > 1e-4 }
        #expect(!candidates.isEmpty, "\(name) got no gradient", sourceLocation: sourceLocation)
        for _ in 0..<2 where !candidates.isEmpty {
            let i = candidates[Int(rng.next() % UInt64(candidates.count))]
            let orig = p.value.contiguous()
            var plus = orig.values; plus[i] += h
            var minus = orig.values; minus[i] -= h
            p.value = try Tensor(shape: orig.shape, values: plus)
            let fp = try lossValue()
            p.value = try Tensor(shape: orig.shape, values: minus)
            let fm = try lossValue()
            p.value = orig
            let fd = (fp - fm) / (2 * h)
            let err = abs(fd - g[i])
            worst = max(worst, err / max(1, abs(fd)))
            #expect(err <= 2e-3 + 2e-2 * abs(fd), "\(name)[\(i)]: autograd \(g[i]) vs finite difference \(fd)", sourceLocation: sourceLocation)
        }
    }
    return worst
}
