// Losses: cross-entropy from logits with integer targets, and mean squared error.
//
// What it is: forward on Tensor (returns the scalar) and differentiable on Variable.
// What it is not: label smoothing or class weights.
//
// Cross-entropy. logits [..., V] seen as rows [R, V], targets R ints (`ignoreIndex` rows skipped):
//   ℓ_r = logsumexp(z_r) − z_r[t_r];   L = (1/R') Σ_{r not ignored} ℓ_r,  R' = number of kept rows
//   dz_r = (softmax(z_r) − onehot(t_r)) · g / R'   (0 for ignored rows)
// With every row ignored, L = 0 and the gradient is 0 (PyTorch returns NaN there).
// MSE: L = mean((a − b)²);  da = 2(a − b)·g/n, db = −da. Shapes must be equal.

import Foundation

extension Tensor {
    /// Per-row cross-entropy and the softmax (rows [R, V]), after checking the targets.
    static func crossEntropyRows(_ logits: Tensor, _ targets: [Int], ignoreIndex: Int?)
        throws -> (loss: Float, kept: Int, softmax: Tensor) {
        guard let v = logits.shape.last, logits.rank >= 1, v > 0 else {
            throw EngineError.invalidShape(op: "crossEntropy", shape: logits.shape, reason: "logits need a non-empty last axis [..., V]")
        }
        let rows = logits.count / v
        guard targets.count == rows else {
            throw EngineError.shapeMismatch(op: "crossEntropy", lhs: logits.shape, rhs: [targets.count],
                                            hint: "one target per row of logits (\(rows) rows)")
        }
        for (r, t) in targets.enumerated() where t != ignoreIndex && (t < 0 || t >= v) {
            throw EngineError.invalidArgument(op: "crossEntropy", reason: "target \(t) at row \(r) is outside 0..<\(v). Hint: set ignoreIndex for padding")
        }
        let sm = logits.softmaxLastAxis()
        var total: Double = 0, kept = 0
        logits.withContiguousPointer { p in
            for r in 0..<rows where targets[r] != ignoreIndex {
                let z = p + r * v
                var m = -Float.infinity
                for i in 0..<v where z[i] > m { m = z[i] }
                var s: Double = 0
                for i in 0..<v { s += Double(expf(z[i] - m)) }
                total += Double(m) + Foundation.log(s) - Double(z[targets[r]])
                kept += 1
            }
        }
        return (kept == 0 ? 0 : Float(total / Double(kept)), kept, sm)
    }

    /// Mean cross-entropy of logits [..., V] against integer targets (one per row).
    public func crossEntropy(targets: [Int], ignoreIndex: Int? = nil) throws -> Float {
        try Tensor.crossEntropyRows(self, targets, ignoreIndex: ignoreIndex).loss
    }
}

extension Variable {
    /// Mean cross-entropy (scalar Variable, shape []). See the file header.
    public func crossEntropy(targets: [Int], ignoreIndex: Int? = nil) throws -> Variable {
        let (loss, kept, sm) = try Tensor.crossEntropyRows(value, targets, ignoreIndex: ignoreIndex)
        let v = shape.last ?? 1
        return Variable.make(Tensor(scalar: loss), parents: [self]) { g in
            let (dz, o) = Tensor.makeOutput(sm.shape)
            guard kept > 0 else { return [dz] }
            let scale = g.item / Float(kept)
            sm.withContiguousPointer { ps in
                for (r, t) in targets.enumerated() where t != ignoreIndex {
                    for i in 0..<v { o[r * v + i] = ps[r * v + i] * scale }
                    o[r * v + t] -= scale
                }
            }
            return [dz]
        }
    }

    /// Mean squared error between two equal-shaped Variables (scalar, shape []).
    public static func mse(_ a: Variable, _ b: Variable) throws -> Variable {
        guard a.shape == b.shape else {
            throw EngineError.shapeMismatch(op: "mse", lhs: a.shape, rhs: b.shape, hint: "prediction and target must have equal shapes")
        }
        let diff = try a.value - b.value
        let n = Swift.max(diff.count, 1)
        let loss = diff.square().sum().item / Float(n)
        return make(Tensor(scalar: loss), parents: [a, b]) { g in
            let da = diff * (2 * g.item / Float(n))
            return [da, -da]
        }
    }
}
