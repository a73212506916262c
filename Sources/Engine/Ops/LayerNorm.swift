// LayerNorm over the last axis with an elementwise weight and bias.
//
// What it is: the fused forward on Tensor (used by inference) and the differentiable Variable op
// with the full backward for x, weight and bias.
// What it is not: RMSNorm, or a norm over several axes.
//
// Shapes: x [..., C], weight [C], bias [C] → y [..., C]. Per row of C:
//   μ = mean(x);  σ² = mean((x − μ)²) (biased, as PyTorch);  r = 1/√(σ² + eps)
//   x̂ = (x − μ)·r;  y = x̂ ⊙ w + b
// Backward (g = dL/dy, sums over the C entries of a row, Σ_rows over all rows):
//   dw = Σ_rows g ⊙ x̂;   db = Σ_rows g
//   d = g ⊙ w;   dx = r · (d − mean(d) − x̂ · mean(d ⊙ x̂))
// eps: PyTorch's default 1e-5 (SpikeGPT); BERT/MiniLM configs use layer_norm_eps = 1e-12.

import Foundation

extension Tensor {
    static func checkLayerNorm(_ x: [Int], _ w: [Int], _ b: [Int]?) throws -> Int {
        guard let c = x.last else {
            throw EngineError.invalidShape(op: "layerNorm", shape: x, reason: "needs rank ≥ 1")
        }
        guard w == [c] else {
            throw EngineError.shapeMismatch(op: "layerNorm (weight)", lhs: x, rhs: w, hint: "weight must be [\(c)], the last axis of x")
        }
        if let b, b != [c] {
            throw EngineError.shapeMismatch(op: "layerNorm (bias)", lhs: x, rhs: b, hint: "bias must be [\(c)], the last axis of x")
        }
        return c
    }

    /// Normalises each row; writes y (and optionally x̂ and r for the backward).
    static func layerNormRows(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                              _ y: UnsafeMutablePointer<Float>, xhat: UnsafeMutablePointer<Float>?,
                              rstd: UnsafeMutablePointer<Float>?, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            // Mean and variance in Double: rows of 768 Float values with a large common offset
            // otherwise lose digits in σ² (two passes, no E[x²]−μ² cancellation).
            var s: Double = 0
            for i in 0..<cols { s += Double(xr[i]) }
            let mu = s / Double(cols)
            var v: Double = 0
            for i in 0..<cols { let d = Double(xr[i]) - mu; v += d * d }
            let rs = Float(1 / (v / Double(cols) + Double(eps)).squareRoot())
            let m = Float(mu)
            rstd?[r] = rs
            for i in 0..<cols {
                let h = (xr[i] - m) * rs
                xhat?[r * cols + i] = h
                yr[i] = h * w[i] + (b?[i] ?? 0)
            }
        }
    }

    /// y = LayerNorm(x) ⊙ weight + bias over the last axis. Throws when weight/bias are not [C].
    public func layerNorm(weight: Tensor, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        let c = try Tensor.checkLayerNorm(shape, weight.shape, bias?.shape)
        let rows = c == 0 ? 0 : count / c
        let (out, o) = Tensor.makeOutput(shape)
        withContiguousPointer { px in
            weight.withContiguousPointer { pw in
                if let bias {
                    bias.withContiguousPointer { pb in
                        Tensor.layerNormRows(px, pw, pb, o, xhat: nil, rstd: nil, rows: rows, cols: c, eps: eps)
                    }
                } else {
                    Tensor.layerNormRows(px, pw, nil, o, xhat: nil, rstd: nil, rows: rows, cols: c, eps: eps)
                }
            }
        }
        return out
    }
}

extension Variable {
    /// Differentiable LayerNorm over the last axis (see the file header for the backward).
    public func layerNorm(weight: Variable, bias: Variable?, eps: Float = 1e-5) throws -> Variable {
        let x = value, w = weight.value
        let c = try Tensor.checkLayerNorm(x.shape, w.shape, bias?.value.shape)
        let rows = c == 0 ? 0 : x.count / c
        let (y, o) = Tensor.makeOutput(x.shape)
        let (xhat, ph) = Tensor.makeOutput(x.shape)
        let (rstd, pr) = Tensor.makeOutput([rows])
        x.withContiguousPointer { px in
            w.withContiguousPointer { pw in
                if let b = bias?.value {
                    b.withContiguousPointer { pb in
                        Tensor.layerNormRows(px, pw, pb, o, xhat: ph, rstd: pr, rows: rows, cols: c, eps: eps)
                    }
                } else {
                    Tensor.layerNormRows(px, pw, nil, o, xhat: ph, rstd: pr, rows: rows, cols: c, eps: eps)
                }
            }
        }
        let parents = bias.map { [self, weight, $0] } ?? [self, weight]
        let needX = requiresGrad, hasBias = bias != nil
        return Variable.make(y, parents: parents) { g in
            let (dx, pdx) = Tensor.makeOutput(x.shape)
            let (dw, pdw) = Tensor.makeOutput([c])
            let (db, pdb) = Tensor.makeOutput([c])
            let invC = 1 / Float(Swift.max(c, 1))
            g.withContiguousPointer { pg in
                w.withContiguousPointer { pw in
                    for r in 0..<rows {
                        let gr = pg + r * c, hr = ph + r * c, dr = pdx + r * c
                        var md: Float = 0, mdh: Float = 0
                        for i in 0..<c {
                            pdw[i] += gr[i] * hr[i]
                            pdb[i] += gr[i]
                            let d = gr[i] * pw[i]
                            md += d; mdh += d * hr[i]
                        }
                        guard needX else { continue }
                        md *= invC; mdh *= invC
                        let rs = pr[r]
                        for i in 0..<c { dr[i] = rs * (gr[i] * pw[i] - md - hr[i] * mdh) }
                    }
                }
            }
            return withExtendedLifetime((xhat, rstd)) { hasBias ? [dx, dw, db] : [dx, dw] }
        }
    }
}
