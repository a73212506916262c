// Dropout with a seeded generator (inverted scaling, as PyTorch).
//
// What it is: y = x ⊙ mask / (1 − p), mask_i ~ Bernoulli(1 − p) drawn from `SeededRNG`, so a run
// repeats exactly from its seed. Identity (no draw, no copy) when p = 0 or not training.
// p = 1 gives zeros. Backward: dx = g ⊙ mask / (1 − p).
// What it is not: spatial/channel dropout.

import Foundation

extension Tensor {
    static func dropoutMask(_ shape: [Int], p: Float, rng: inout SeededRNG) throws -> Tensor {
        guard p >= 0, p <= 1 else {
            throw EngineError.invalidArgument(op: "dropout", reason: "probability \(p) is outside [0, 1]")
        }
        let keep = 1 - p
        let scale: Float = keep > 0 ? 1 / keep : 0
        var m = Tensor(zeros: shape)
        m.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = rng.nextUniform() < keep ? scale : 0 }
        }
        return m
    }

    /// Inverted dropout; returns `self` unchanged when `p == 0` or `!training`.
    public func dropout(p: Float, training: Bool, rng: inout SeededRNG) throws -> Tensor {
        if p == 0 || !training { return self }
        return try self * Tensor.dropoutMask(shape, p: p, rng: &rng)
    }
}

extension Variable {
    /// Inverted dropout; returns `self` (the same node) when `p == 0` or `!training`.
    public func dropout(p: Float, training: Bool, rng: inout SeededRNG) throws -> Variable {
        if p == 0 || !training { return self }
        let mask = try Tensor.dropoutMask(shape, p: p, rng: &rng)
        return Variable.make(try value * mask, parents: [self]) { g in [try g * mask] }
    }
}
