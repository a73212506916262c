// Matrix products on Tensor, forwarded to the CKernels GEMM.
// Shapes: a [..., M, K] · b [K, N] → [..., M, N]  (weights shared over the batch), or
//         a [B, M, K] · b [B, K, N] → [B, M, N]  (batched, equal leading dims).
// With `transposeB`, b is stored [N, K] (the PyTorch nn.Linear weight layout: y = x·Wᵀ).

import CKernels

extension Tensor {
    /// y = a · op(b). See the file header for the accepted shapes. Throws naming both shapes.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw EngineError.shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape, hint: "both operands need rank ≥ 2")
        }
        let M = a.shape[a.rank - 2], K = a.shape[a.rank - 1]
        let bK = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let N = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        guard K == bK else {
            throw EngineError.shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape,
                                            hint: "inner dimensions \(K) and \(bK) differ" + (transposeB ? " (b is transposed)" : ""))
        }
        let ca = a.contiguous(), cb = b.contiguous()
        let batchA = Array(a.shape.dropLast(2))
        if b.rank == 2 {
            // Fold the batch into M: one big GEMM.
            let rows = batchA.reduce(1, *) * M
            let out = Tensor(zeros: batchA + [M, N])
            gemm(rows, N, K, ca.storage.base + ca.offset, cb.storage.base + cb.offset, transposeB, out.storage.base)
            _ = out.count
            return withExtendedLifetime((ca, cb)) { out }
        }
        let batchB = Array(b.shape.dropLast(2))
        guard batchA == batchB else {
            throw EngineError.shapeMismatch(op: "matmul (batched)", lhs: a.shape, rhs: b.shape, hint: "leading (batch) dimensions differ")
        }
        let nb = batchA.reduce(1, *)
        let out = Tensor(zeros: batchA + [M, N])
        for i in 0..<nb {
            gemm(M, N, K, ca.storage.base + ca.offset + i * M * K, cb.storage.base + cb.offset + i * K * N,
                 transposeB, out.storage.base + i * M * N)
        }
        _ = out.count
        return withExtendedLifetime((ca, cb)) { out }
    }

    /// Raw GEMM on contiguous row-major buffers: c[M,N] = a[M,K] · (tb ? bᵀ : b).
    @inline(__always)
    public static func gemm(_ M: Int, _ N: Int, _ K: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            _ transposeB: Bool, _ c: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if M == 0 || N == 0 { return }
        ss_gemm_f32(0, transposeB ? 1 : 0, Int32(M), Int32(N), Int32(K), 1, a, Int32(K), b,
                    Int32(transposeB ? K : N), accumulate ? 1 : 0, c, Int32(N))
    }
}
