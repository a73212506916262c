// Shape ops: concat and stack along an axis, slicing along an axis, reshape, transpose, permute.
//
// What it is: forward on Tensor (concat/stack; the views are in Tensor.swift) and differentiable
// versions on Variable. Gradients of views are the inverse view of g; the gradient of a slice is g
// placed into zeros; concat's gradient is g cut into the input pieces.
// What it is not: a general strided scatter or gather (see Embedding.swift for row gathers).
//
// Shapes: concat of [..., n_i, ...] along `axis` → [..., Σ n_i, ...] (other axes equal);
//         stack of k tensors of shape S along `axis` → S with k inserted at `axis`.

import Foundation

extension Tensor {
    /// Joins tensors along `axis`. Throws when ranks or the other axes differ (naming both shapes).
    public static func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else {
            throw EngineError.invalidArgument(op: "concat", reason: "needs at least one tensor")
        }
        let a = try normalizedAxis(axis, rank: first.rank, op: "concat")
        var outShape = first.shape
        outShape[a] = 0
        for p in parts {
            var s = p.shape, f = first.shape
            guard s.count == f.count else {
                throw EngineError.shapeMismatch(op: "concat", lhs: first.shape, rhs: p.shape, hint: "ranks differ")
            }
            outShape[a] += s[a]
            s[a] = 0; f[a] = 0
            guard s == f else {
                throw EngineError.shapeMismatch(op: "concat", lhs: first.shape, rhs: p.shape, hint: "all axes except \(axis) must be equal")
            }
        }
        let (outer, total, inner) = axisSplit(outShape, a)
        let (out, o) = makeOutput(outShape)
        var start = 0
        for p in parts {
            let n = p.shape[a]
            p.withContiguousPointer { src in
                for oi in 0..<outer {
                    (o + (oi * total + start) * inner).update(from: src + oi * n * inner, count: n * inner)
                }
            }
            start += n
        }
        return out
    }

    /// Stacks equal-shaped tensors along a new axis `axis` (0...rank).
    public static func stack(_ parts: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = parts.first else {
            throw EngineError.invalidArgument(op: "stack", reason: "needs at least one tensor")
        }
        let a = try normalizedAxis(axis, rank: first.rank + 1, op: "stack")
        var expanded: [Tensor] = []
        for p in parts {
            guard p.shape == first.shape else {
                throw EngineError.shapeMismatch(op: "stack", lhs: first.shape, rhs: p.shape, hint: "stacked tensors must have equal shapes")
            }
            var s = p.shape
            s.insert(1, at: a)
            expanded.append(try p.reshaped(s))
        }
        return try concat(expanded, axis: a)
    }
}

extension Variable {
    /// Differentiable concat along `axis`.
    public static func concat(_ parts: [Variable], axis: Int) throws -> Variable {
        let y = try Tensor.concat(parts.map(\.value), axis: axis)
        let a = try Tensor.normalizedAxis(axis, rank: y.rank, op: "concat")
        let sizes = parts.map { $0.shape[a] }
        return make(y, parents: parts) { g in
            var out: [Tensor?] = []
            var start = 0
            for n in sizes {
                out.append(try g.slice(axis: a, start..<(start + n)).contiguous())
                start += n
            }
            return out
        }
    }

    /// Differentiable stack along a new axis.
    public static func stack(_ parts: [Variable], axis: Int = 0) throws -> Variable {
        guard let first = parts.first else {
            throw EngineError.invalidArgument(op: "stack", reason: "needs at least one tensor")
        }
        let a = try Tensor.normalizedAxis(axis, rank: first.value.rank + 1, op: "stack")
        let expanded = try parts.map { p -> Variable in
            guard p.shape == first.shape else {
                throw EngineError.shapeMismatch(op: "stack", lhs: first.shape, rhs: p.shape, hint: "stacked tensors must have equal shapes")
            }
            var s = p.shape
            s.insert(1, at: a)
            return try p.reshaped(s)
        }
        return try concat(expanded, axis: a)
    }

    /// Elements `range` along `axis`; the gradient lands in the same positions of a zero tensor.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Variable {
        let y = try value.slice(axis: axis, range).contiguous()
        let a = try Tensor.normalizedAxis(axis, rank: value.rank, op: "slice")
        let full = shape
        return Variable.make(y, parents: [self]) { g in
            let (outer, n, inner) = Tensor.axisSplit(full, a)
            let (dx, o) = Tensor.makeOutput(full)
            let k = range.count
            g.withContiguousPointer { pg in
                for oi in 0..<outer {
                    (o + (oi * n + range.lowerBound) * inner).update(from: pg + oi * k * inner, count: k * inner)
                }
            }
            return [dx]
        }
    }

    /// Same values, new shape (one axis may be -1).
    public func reshaped(_ newShape: [Int]) throws -> Variable {
        let full = shape
        return Variable.make(try value.reshaped(newShape), parents: [self]) { g in [try g.reshaped(full)] }
    }

    /// Swaps two axes.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Variable {
        Variable.make(try value.transposed(a, b), parents: [self]) { g in [try g.transposed(a, b).contiguous()] }
    }

    /// Reorders axes: y.shape[i] = x.shape[order[i]].
    public func permuted(_ order: [Int]) throws -> Variable {
        let y = try value.permuted(order)
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Variable.make(y, parents: [self]) { g in [try g.permuted(inverse).contiguous()] }
    }
}
