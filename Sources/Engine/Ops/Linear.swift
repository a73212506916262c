// Differentiable matrix products: Variable.matmul and linear (the nn.Linear layer).
//
// What it is: the Variable side of Tensor.matmul (MatMul.swift) plus `Tensor.matmulTransposedA`
// (aᵀ·b through ss_gemm_f32 with trans_a = 1), which the weight gradients need.
// What it is not: a GEMM implementation (CKernels) or a parameter container (Models).
//
// Shapes (B batch, M rows, K inner, N out; "op(b)" is b or bᵀ with transposeB):
//   shared:  a [..., M, K] · op(b) [K, N] → y [..., M, N]      b stored [K, N] or [N, K]
//   batched: a [..., M, K] · op(b) [..., K, N] → y [..., M, N]  (equal leading dims)
// Backward with A = a flattened to [R, K] (shared case, R = rows of all batches), G = g as [R, N]:
//   !transposeB: da = g · bᵀ;  db = Aᵀ · G  [K, N]
//    transposeB: da = g · b;   db = Gᵀ · A  [N, K]
// The batched case applies the same per batch.
// linear: y = x · Wᵀ + b, W [out, in], b [out];  dW = Gᵀ·X, db = Σ_rows G, dx = g · W.

import CKernels

extension Tensor {
    /// c [K, N] = aᵀ · b for a [R, K], b [R, N] (contiguous views of the last two axes;
    /// any leading axes are batch axes that must match). Used by the weight gradients.
    public static func matmulTransposedA(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.rank >= 2, b.rank == a.rank, a.shape.dropLast(2) == b.shape.dropLast(2),
              a.shape[a.rank - 2] == b.shape[b.rank - 2] else {
            throw EngineError.shapeMismatch(op: "matmulTransposedA", lhs: a.shape, rhs: b.shape,
                                            hint: "needs a [..., R, K] and b [..., R, N] with equal leading dims")
        }
        let R = a.shape[a.rank - 2], K = a.shape[a.rank - 1], N = b.shape[b.rank - 1]
        let batch = Array(a.shape.dropLast(2))
        let nb = batch.reduce(1, *)
        let ca = a.contiguous(), cb = b.contiguous()
        let out = Tensor(zeros: batch + [K, N])
        if K > 0 && N > 0 {
            for i in 0..<nb {
                ss_gemm_f32(1, 0, Int32(K), Int32(N), Int32(R), 1,
                            ca.storage.base + ca.offset + i * R * K, Int32(K),
                            cb.storage.base + cb.offset + i * R * N, Int32(N),
                            0, out.storage.base + i * K * N, Int32(N))
            }
        }
        return withExtendedLifetime((ca, cb)) { out }
    }

    /// y = x · Wᵀ + b (nn.Linear). x [..., in], weight [out, in], bias [out].
    public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard rank >= 1, weight.rank == 2, shape.last == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "linear", lhs: shape, rhs: weight.shape,
                                            hint: "x [..., in] needs weight [out, in]")
        }
        let inF = weight.shape[1], outF = weight.shape[0]
        let x2 = try reshaped([count / Swift.max(inF, 1), inF])
        var y = try Tensor.matmul(x2, weight, transposeB: true)
        if let bias {
            guard bias.shape == [outF] else {
                throw EngineError.shapeMismatch(op: "linear (bias)", lhs: weight.shape, rhs: bias.shape, hint: "bias must be [out] = [\(outF)]")
            }
            let rows = y.shape[0]
            y.withUnsafeMutableBufferPointer { py in
                bias.withContiguousPointer { pb in
                    for r in 0..<rows { for j in 0..<outF { py[r * outF + j] += pb[j] } }
                }
            }
        }
        return try y.reshaped(Array(shape.dropLast()) + [outF])
    }
}

extension Variable {
    /// y = a · op(b); see the file header for shapes and gradients. Throws naming both shapes.
    public static func matmul(_ a: Variable, _ b: Variable, transposeB: Bool = false) throws -> Variable {
        let av = a.value, bv = b.value
        let y = try Tensor.matmul(av, bv, transposeB: transposeB)
        let needA = a.requiresGrad, needB = b.requiresGrad
        return make(y, parents: [a, b]) { g in
            // da = g · op(b)ᵀ: with op(b) = b, that is g·bᵀ (transposeB: true); with op(b) = bᵀ, g·b.
            let da = needA ? try Tensor.matmul(g, bv, transposeB: !transposeB) : nil
            var db: Tensor? = nil
            if needB {
                if bv.rank == 2 {
                    let K = av.shape[av.rank - 1], N = g.shape[g.rank - 1]
                    let A = try av.reshaped([-1, K]), G = try g.reshaped([-1, N])
                    db = transposeB ? try Tensor.matmulTransposedA(G, A) : try Tensor.matmulTransposedA(A, G)
                } else {
                    db = transposeB ? try Tensor.matmulTransposedA(g, av) : try Tensor.matmulTransposedA(av, g)
                }
            }
            return [da, db]
        }
    }

    /// y = a · op(b) (method form of `Variable.matmul`).
    public func matmul(_ b: Variable, transposeB: Bool = false) throws -> Variable {
        try Variable.matmul(self, b, transposeB: transposeB)
    }

    /// nn.Linear: y = x · Wᵀ + b with x [..., in], weight [out, in], bias [out].
    public func linear(weight: Variable, bias: Variable? = nil) throws -> Variable {
        let y = try Variable.matmul(self, weight, transposeB: true)
        guard let bias else { return y }
        guard bias.shape == [weight.shape[0]] else {
            throw EngineError.shapeMismatch(op: "linear (bias)", lhs: weight.shape, rhs: bias.shape,
                                            hint: "bias must be [out] = [\(weight.shape[0])]")
        }
        return try y + bias
    }
}
