// Divergences between two runs' outputs: how far a spiking/quantised model is from the float one.
import Foundation
import Engine

/// KL(p‖q) of the softmax distributions of two logit tables [T, V], averaged over the T rows
/// (p: the reference, e.g. the float model). Computed in Double with log-sum-exp.
public func meanKL(_ p: Tensor, _ q: Tensor) -> Double {
    let T = p.shape[0], V = p.shape[1]
    let a = p.values, b = q.values
    var total = 0.0
    for t in 0..<T {
        let ra = a[(t * V)..<((t + 1) * V)].map(Double.init), rb = b[(t * V)..<((t + 1) * V)].map(Double.init)
        let ma = ra.max()!, mb = rb.max()!
        let la = log(ra.map { exp($0 - ma) }.reduce(0, +)), lb = log(rb.map { exp($0 - mb) }.reduce(0, +))
        for v in 0..<V {
            let lpa = ra[v] - ma - la, lpb = rb[v] - mb - lb
            total += exp(lpa) * (lpa - lpb)
        }
    }
    return total / Double(max(T, 1))
}

/// The same over logit rows ([T][V] as `ModelRun.logits` holds them).
public func meanKL(_ p: [[Float]], _ q: [[Float]]) -> Double {
    let V = p.first?.count ?? 0
    guard let a = try? Tensor(shape: [p.count, V], values: p.flatMap { $0 }),
          let b = try? Tensor(shape: [q.count, V], values: q.flatMap { $0 }), p.count == q.count else { return .nan }
    return meanKL(a, b)
}

/// The cosine similarity of two rows (in Double; 0 when either is all zeros).
public func cosine<A: Collection, B: Collection>(_ x: A, _ y: B) -> Double where A.Element == Float, B.Element == Float {
    var dot = 0.0, nx = 0.0, ny = 0.0
    for (u, v) in zip(x, y) { dot += Double(u) * Double(v); nx += Double(u) * Double(u); ny += Double(v) * Double(v) }
    return dot / max((nx * ny).squareRoot(), 1e-30)
}

/// Mean over rows of the cosine similarity of two [R][C] tables.
public func meanCosine(_ a: [[Float]], _ b: [[Float]]) -> Double {
    var total = 0.0
    for (x, y) in zip(a, b) { total += cosine(x, y) }
    return total / Double(max(min(a.count, b.count), 1))
}
