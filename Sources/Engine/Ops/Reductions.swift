// Reductions: sum, mean and maximum over one axis (keepdims option) or over all elements.
//
// What it is: forward on Tensor, differentiable on Variable. Accumulation is in Double for
// all-element sums and means (a 10⁶-element Float sum loses ~3 digits otherwise), in Float
// along one axis (short rows; matches what the models need).
// What it is not: argmax for decoding (see `argmaxLastAxis`, which is forward only).
//
// Shapes: x [..., n, ...] → reduced [..., 1, ...] (keepdims) or [..., ...] (dropped axis).
// Backward: sum: dx = broadcast(g);  mean: dx = broadcast(g)/n;
//           max: dx = g at the first index holding the maximum, 0 elsewhere (PyTorch picks one too).

import Foundation

extension Tensor {
    private func reducedShape(_ axis: Int, keepdims: Bool) -> [Int] {
        var s = shape
        if keepdims { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }

    /// Σ along `axis`.
    public func sum(axis: Int, keepdims: Bool = false) throws -> Tensor {
        let a = try Tensor.normalizedAxis(axis, rank: rank, op: "sum(axis:)")
        let (outer, n, inner) = Tensor.axisSplit(shape, a)
        let (out, o) = Tensor.makeOutput(reducedShape(a, keepdims: keepdims))
        withContiguousPointer { p in
            for oi in 0..<outer {
                let dst = o + oi * inner
                for k in 0..<n {
                    let src = p + (oi * n + k) * inner
                    for i in 0..<inner { dst[i] += src[i] }
                }
            }
        }
        return out
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepdims: Bool = false) throws -> Tensor {
        let a = try Tensor.normalizedAxis(axis, rank: rank, op: "mean(axis:)")
        let n = shape[a]
        return try sum(axis: a, keepdims: keepdims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Maximum along `axis` and the (first) index where it occurs, per output element.
    public func maxWithIndex(axis: Int, keepdims: Bool = false) throws -> (values: Tensor, indices: [Int]) {
        let a = try Tensor.normalizedAxis(axis, rank: rank, op: "max(axis:)")
        let (outer, n, inner) = Tensor.axisSplit(shape, a)
        guard n > 0 else {
            throw EngineError.invalidShape(op: "max(axis:)", shape: shape, reason: "axis \(axis) is empty. Hint: max of nothing is undefined")
        }
        let (out, o) = Tensor.makeOutput(reducedShape(a, keepdims: keepdims))
        var idx = [Int](repeating: 0, count: outer * inner)
        withContiguousPointer { p in
            for oi in 0..<outer {
                for i in 0..<inner {
                    var best = p[oi * n * inner + i], bk = 0
                    for k in 1..<Swift.max(n, 1) {
                        let v = p[(oi * n + k) * inner + i]
                        if v > best { best = v; bk = k }
                    }
                    o[oi * inner + i] = best
                    idx[oi * inner + i] = bk
                }
            }
        }
        return (out, idx)
    }

    /// Maximum along `axis`.
    public func maximum(axis: Int, keepdims: Bool = false) throws -> Tensor {
        try maxWithIndex(axis: axis, keepdims: keepdims).values
    }

    /// Σ of all elements (shape []), accumulated in Double.
    public func sum() -> Tensor {
        let n = count
        let s = withContiguousPointer { p in
            var acc: Double = 0
            for i in 0..<n { acc += Double(p[i]) }
            return acc
        }
        return Tensor(scalar: Float(s))
    }

    /// Mean of all elements (shape []); 0 for an empty tensor.
    public func mean() -> Tensor {
        let n = count
        return n == 0 ? Tensor(scalar: 0) : Tensor(scalar: sum().item / Float(n))
    }

    /// Maximum of all elements (shape []); -∞ for an empty tensor.
    public func maximum() -> Tensor {
        let n = count
        let m = withContiguousPointer { p in
            var best = -Float.infinity
            for i in 0..<n where p[i] > best { best = p[i] }
            return best
        }
        return Tensor(scalar: m)
    }

    /// Index of the largest value in each row of the last axis (forward only; greedy decoding).
    public func argmaxLastAxis() throws -> [Int] {
        try maxWithIndex(axis: -1).indices
    }

    /// g with the reduced axis re-inserted (size 1) and broadcast back to `full`, contiguous.
    static func expandReduced(_ g: Tensor, axis: Int, full: [Int]) throws -> Tensor {
        var kept = full
        kept[axis] = 1
        return try g.reshaped(kept).broadcast(to: full).contiguous()
    }
}

extension Variable {
    public func sum(axis: Int, keepdims: Bool = false) throws -> Variable {
        let a = try Tensor.normalizedAxis(axis, rank: value.rank, op: "sum(axis:)")
        let full = shape
        return Variable.make(try value.sum(axis: a, keepdims: keepdims), parents: [self]) { g in
            [try Tensor.expandReduced(g, axis: a, full: full)]
        }
    }

    public func mean(axis: Int, keepdims: Bool = false) throws -> Variable {
        let a = try Tensor.normalizedAxis(axis, rank: value.rank, op: "mean(axis:)")
        let full = shape
        let inv = 1 / Float(Swift.max(full[a], 1))
        return Variable.make(try value.mean(axis: a, keepdims: keepdims), parents: [self]) { g in
            [try Tensor.expandReduced(g, axis: a, full: full) * inv]
        }
    }

    public func maximum(axis: Int, keepdims: Bool = false) throws -> Variable {
        let a = try Tensor.normalizedAxis(axis, rank: value.rank, op: "max(axis:)")
        let full = shape
        let (y, idx) = try value.maxWithIndex(axis: a, keepdims: keepdims)
        return Variable.make(y, parents: [self]) { g in
            let (outer, n, inner) = Tensor.axisSplit(full, a)
            let (dx, o) = Tensor.makeOutput(full)
            g.withContiguousPointer { pg in
                for oi in 0..<outer {
                    for i in 0..<inner {
                        let j = oi * inner + i
                        o[(oi * n + idx[j]) * inner + i] = pg[j]
                    }
                }
            }
            return [dx]
        }
    }

    /// Σ of all elements (shape []).
    public func sum() -> Variable {
        let full = shape
        return Variable.make(value.sum(), parents: [self]) { g in [Tensor(repeating: g.item, shape: full)] }
    }

    /// Mean of all elements (shape []).
    public func mean() -> Variable {
        let full = shape
        let n = Float(Swift.max(value.count, 1))
        return Variable.make(value.mean(), parents: [self]) { g in [Tensor(repeating: g.item / n, shape: full)] }
    }

    /// Maximum of all elements (shape []); the gradient goes to the first maximal element.
    public func maximum() -> Variable {
        let full = shape
        let v = value.values
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return Variable.make(value.maximum(), parents: [self]) { g in
            let (dx, o) = Tensor.makeOutput(full)
            if !v.isEmpty { o[best] = g.item }
            return [dx]
        }
    }
}
