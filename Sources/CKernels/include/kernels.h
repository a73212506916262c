// CKernels: the innermost loops of spikescope, in C. No stable API: only Engine calls these,
// and the Swift wrappers check shapes (the C code trusts them).
// Naming: ss_<noun>_<verb>_f32(count first, output before inputs).
#ifndef SPIKESCOPE_KERNELS_H
#define SPIKESCOPE_KERNELS_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C, row-major with leading dimensions.
// op(X) = X, or Xᵀ when trans_x != 0 (then X is stored [K,M] / [N,K]).
void ss_gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
// The scalar reference of ss_gemm_f32: same contract, triple loop. Kept forever as test oracle.
void ss_gemm_naive_f32(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// Worker threads used by the parallel kernels (default: number of online CPUs).
void ss_threads_set(int n);
int ss_threads_get(void);

#ifdef __cplusplus
}
#endif
#endif
