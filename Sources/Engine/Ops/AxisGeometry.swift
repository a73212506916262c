// Axis bookkeeping shared by the reductions, softmax, LayerNorm, concat and slicing ops.
//
// What it is: a contiguous tensor of shape S seen along axis `a` as [outer, n, inner], with
// outer = Π S[..<a], n = S[a], inner = Π S[(a+1)...]; element (o, k, i) sits at (o·n + k)·inner + i.
// What it is not: a public API (internal helpers only).

extension Tensor {
    /// Normalises a possibly negative axis, throwing when it is out of range.
    static func normalizedAxis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw EngineError.invalidArgument(op: op, reason: "axis \(axis) is out of range for rank \(rank). Hint: axes run from \(-rank) to \(rank - 1)")
        }
        return a
    }

    /// (outer, n, inner) of `shape` around `axis` (already normalised).
    static func axisSplit(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }

    /// Runs `body` with a read pointer to contiguous values, keeping the storage alive.
    @inline(__always)
    func withContiguousPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try withExtendedLifetime(c.storage) { try body(UnsafePointer(c.storage.base + c.offset)) }
    }

    /// A fresh zero tensor of `shape` and a write pointer to it (owned, contiguous).
    @inline(__always)
    static func makeOutput(_ shape: [Int]) -> (Tensor, UnsafeMutablePointer<Float>) {
        let t = Tensor(zeros: shape)
        return (t, t.storage.base)
    }
}
