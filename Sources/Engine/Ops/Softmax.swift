// Softmax and log-softmax over the last axis, numerically stable (the row maximum is subtracted).
//
// What it is: forward on Tensor (`softmaxLastAxis`, also in place), differentiable on Variable.
// What it is not: a masked softmax (add a large negative mask to the logits first).
//
// Shapes: x [..., C] → y [..., C]; each row of C is independent.
//   softmax:     y_i = e^(x_i − m) / Σ_j e^(x_j − m),  m = max_j x_j
//                dx_i = y_i · (g_i − Σ_j g_j·y_j)
//   log-softmax: y_i = x_i − m − ln Σ_j e^(x_j − m)
//                dx_i = g_i − softmax_i · Σ_j g_j

import Foundation

extension Tensor {
    /// Softmax of each row of the last axis, written into `o` (may alias `p`).
    static func softmaxRows(_ p: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let x = p + r * cols, y = o + r * cols
            var m = -Float.infinity
            for i in 0..<cols where x[i] > m { m = x[i] }
            var s: Float = 0
            for i in 0..<cols { let e = expf(x[i] - m); y[i] = e; s += e }
            let inv = 1 / s
            for i in 0..<cols { y[i] *= inv }
        }
    }

    /// Softmax over the last axis.
    public func softmaxLastAxis() -> Tensor {
        let cols = shape.last ?? 1
        let rows = cols == 0 ? 0 : count / cols
        let (out, o) = Tensor.makeOutput(shape)
        withContiguousPointer { p in Tensor.softmaxRows(p, o, rows: rows, cols: cols) }
        return out
    }

    /// Softmax over the last axis, in this tensor's own buffer.
    public mutating func applySoftmaxLastAxis() {
        let cols = shape.last ?? 1
        let rows = cols == 0 ? 0 : count / cols
        withUnsafeMutableBufferPointer { b in
            if let base = b.baseAddress { Tensor.softmaxRows(base, base, rows: rows, cols: cols) }
        }
    }

    /// Log-softmax over the last axis.
    public func logSoftmaxLastAxis() -> Tensor {
        let cols = shape.last ?? 1
        let rows = cols == 0 ? 0 : count / cols
        let (out, o) = Tensor.makeOutput(shape)
        withContiguousPointer { p in
            for r in 0..<rows {
                let x = p + r * cols, y = o + r * cols
                var m = -Float.infinity
                for i in 0..<cols where x[i] > m { m = x[i] }
                var s: Float = 0
                for i in 0..<cols { s += expf(x[i] - m) }
                let lse = m + logf(s)
                for i in 0..<cols { y[i] = x[i] - lse }
            }
        }
        return out
    }
}

extension Variable {
    /// Softmax over the last axis.
    public func softmax() -> Variable {
        let y = value.softmaxLastAxis()
        let cols = shape.last ?? 1
        return Variable.make(y, parents: [self]) { g in
            let (dx, o) = Tensor.makeOutput(y.shape)
            let rows = cols == 0 ? 0 : y.count / cols
            y.withContiguousPointer { py in
                g.withContiguousPointer { pg in
                    for r in 0..<rows {
                        let b = r * cols
                        var dot: Float = 0
                        for i in 0..<cols { dot += pg[b + i] * py[b + i] }
                        for i in 0..<cols { o[b + i] = py[b + i] * (pg[b + i] - dot) }
                    }
                }
            }
            return [dx]
        }
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Variable {
        let y = value.logSoftmaxLastAxis()
        let cols = shape.last ?? 1
        return Variable.make(y, parents: [self]) { g in
            let (dx, o) = Tensor.makeOutput(y.shape)
            let rows = cols == 0 ? 0 : y.count / cols
            y.withContiguousPointer { py in
                g.withContiguousPointer { pg in
                    for r in 0..<rows {
                        let b = r * cols
                        var gs: Float = 0
                        for i in 0..<cols { gs += pg[b + i] }
                        for i in 0..<cols { o[b + i] = pg[b + i] - expf(py[b + i]) * gs }
                    }
                }
            }
            return [dx]
        }
    }
}
