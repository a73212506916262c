// Broadcasting binary ops on Tensor (NumPy rules: align trailing axes, size-1 axes stretch).
// Forward only; the differentiable versions on Variable live in Ops/Arithmetic.swift.

import Foundation

extension Tensor {
    /// The broadcast shape of two shapes, or a thrown error naming both.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw EngineError.shapeMismatch(op: op, lhs: a, rhs: b, hint: "axis \(i) has \(da) vs \(db); broadcasting needs equal sizes or 1")
            }
        }
        return out
    }

    /// A view of `self` broadcast to `target` (stride 0 on stretched axes).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let r = target.count
        guard rank <= r else { throw EngineError.shapeMismatch(op: "broadcast", lhs: shape, rhs: target) }
        var st = [Int](repeating: 0, count: r)
        for i in 0..<r {
            let j = i - (r - rank)
            if j < 0 { st[i] = 0; continue }
            if shape[j] == target[i] { st[i] = strides[j] }
            else if shape[j] == 1 { st[i] = 0 }
            else { throw EngineError.shapeMismatch(op: "broadcast", lhs: shape, rhs: target) }
        }
        return Tensor(storage: storage, shape: target, strides: st, offset: offset)
    }

    /// Elementwise `f(a, b)` with broadcasting. Fast path when shapes are equal and contiguous.
    public static func zipWith(_ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float) throws -> Tensor {
        let shape = try broadcastShape(a.shape, b.shape, op: op)
        let out = Tensor(zeros: shape)
        let n = out.count
        let o = out.storage.base
        if a.shape == shape && b.shape == shape {
            let ca = a.contiguous(), cb = b.contiguous()
            let pa = ca.storage.base + ca.offset, pb = cb.storage.base + cb.offset
            withExtendedLifetime((ca, cb)) { for i in 0..<n { o[i] = f(pa[i], pb[i]) } }
            return out
        }
        if b.count == 1 {
            let cb = b.contiguous()  // may be a copy at offset 0: read through cb, not b
            let s = cb.storage.base[cb.offset]
            let ca = try a.broadcast(to: shape).contiguous()
            let pa = ca.storage.base + ca.offset
            withExtendedLifetime(ca) { for i in 0..<n { o[i] = f(pa[i], s) } }
            return out
        }
        let ca = try a.broadcast(to: shape).contiguous(), cb = try b.broadcast(to: shape).contiguous()
        let pa = ca.storage.base + ca.offset, pb = cb.storage.base + cb.offset
        withExtendedLifetime((ca, cb)) { for i in 0..<n { o[i] = f(pa[i], pb[i]) } }
        _ = out.shape
        return out
    }

    /// Elementwise `f(x)`.
    public func map(_ f: (Float) -> Float) -> Tensor {
        let c = contiguous()
        let out = Tensor(zeros: shape)
        let o = out.storage.base, p = c.storage.base + c.offset
        withExtendedLifetime(c) { for i in 0..<count { o[i] = f(p[i]) } }
        _ = out.count
        return out
    }

    /// Sums a broadcast gradient back down to `shape` (the reverse of broadcasting).
    public func sumToShape(_ target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let r = rank
        guard target.count <= r else { throw EngineError.shapeMismatch(op: "sumToShape", lhs: shape, rhs: target) }
        let out = Tensor(zeros: target)
        let tStrides = Tensor.contiguousStrides(target)
        // Map every source index to a target offset (stretched axes contribute 0).
        var mapStride = [Int](repeating: 0, count: r)
        for i in 0..<r {
            let j = i - (r - target.count)
            if j >= 0 {
                if target[j] == shape[i] { mapStride[i] = tStrides[j] }
                else if target[j] != 1 { throw EngineError.shapeMismatch(op: "sumToShape", lhs: shape, rhs: target) }
            }
        }
        let c = contiguous()
        let src = c.storage.base + c.offset, dst = out.storage.base
        var idx = [Int](repeating: 0, count: r)
        var t = 0
        withExtendedLifetime(c) {
            for i in 0..<count {
                dst[t] += src[i]
                var d = r - 1
                while d >= 0 {
                    idx[d] += 1; t += mapStride[d]
                    if idx[d] < shape[d] { break }
                    t -= mapStride[d] * shape[d]; idx[d] = 0; d -= 1
                }
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try zipWith(a, b, op: "add", +) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try zipWith(a, b, op: "sub", -) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try zipWith(a, b, op: "mul", *) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try zipWith(a, b, op: "div", /) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }
}
