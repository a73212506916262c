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

// The blocked algorithm with the portable C micro-kernel, serial (what non-x86, non-NEON
// machines run). Same contract; exists so tests can check that path on any machine.
void ss_gemm_portable_f32(int trans_a, int trans_b, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// The blocked algorithm with this CPU's SIMD micro-kernels, serial; `wide` = 0 keeps full tiles
// on the 6×16 kernel (no AVX-512 12×16). Same bits either way; exists so tests can compare them.
void ss_gemm_simd_f32(int wide, int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
// 1 when the AVX-512F 12×16 kernel is in use on this CPU (and SPIKESCOPE_NO_AVX512 is unset).
int ss_gemm_has_wide_kernel(void);

// Worker threads used by the parallel kernels (default: number of online CPUs).
void ss_threads_set(int n);
int ss_threads_get(void);

// Runs fn(ctx, t) for t in 0..<n_tasks on the caller plus the persistent pool (threadpool.c).
// Safe from any thread: if another caller owns the pool (or fn calls back in), the tasks run
// serially on the calling thread. Returns the number of threads that took part (1 = serial).
typedef void (*ss_task_fn)(void *ctx, int task);
int ss_parallel_run(int n_tasks, ss_task_fn fn, void *ctx);

// B packed once (weights reused across calls): ss_gemm_pack_b_f32 writes op(B) [K, N]
// (tb as in ss_gemm_f32) into ss_gemm_packed_b_count floats (64-byte aligned base), then
// ss_gemm_packed_b_f32 computes C[M,N] = alpha·A[M,K]·B + beta·C (A not transposed) with the
// same bits as ss_gemm_f32 on the unpacked B, without re-packing B on every call.
size_t ss_gemm_packed_b_count(int K, int N);
void ss_gemm_pack_b_f32(int tb, int K, int N, const float *B, int ldb, float *dst);
void ss_gemm_packed_b_f32(int M, int N, int K, float alpha, const float *A, int lda, const float *Bp, float beta,
                          float *C, int ldc);

// Which GEMM micro-kernel ss_gemm_f32 uses on this CPU: "avx512f 12x16 (avx2-fma 6x16 edges)",
// "avx2-fma 6x16", "neon 6x16", "portable 6x16".
const char *ss_gemm_kernel_name(void);

// Spike-driven linear (spike.c). X [T, In] (row stride ldx), W [In, Out] (row stride ldw, one
// contiguous row per input: the transpose of PyTorch's [Out, In] Linear weight),
// Y [T, Out] (row stride ldy):   Y = X·W   (beta = 0)   or   Y += X·W   (accumulate != 0).
// Only nonzero x[t][j] do work: y[t,:] += x[t][j] · W[j,:]. Any float values are allowed
// (binary, ternary ±α, multi-level n·θ, ReLU² activations); zeros are skipped.
void ss_spike_linear_f32(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                         int accumulate, float *Y, int ldy);
// The same with W pre-packed by ss_spike_pack_f32: slabs of 64 columns, each a contiguous
// [In, 64] array (zero-padded past Out; ss_spike_packed_count floats; base 32-byte aligned).
// The fast path: a slab stays in cache while all tokens use it (see spike.c).
size_t ss_spike_packed_count(int In, int Out);
void ss_spike_pack_f32(int In, int Out, const float *W, int ldw, float *packed);
void ss_spike_linear_packed_f32(int T, int In, int Out, const float *X, int ldx, const float *packed,
                                int accumulate, float *Y, int ldy);
// Paths of the packed kernel's slab loop (all give the same bits; the CPU's best is chosen).
enum { SS_SPIKE_PATH_PORTABLE = 0, SS_SPIKE_PATH_AVX2 = 1, SS_SPIKE_PATH_AVX512 = 2 };
// Test hook: ss_spike_linear_packed_f32 on one path; returns 0 (Y untouched) when this CPU lacks
// it (or SPIKESCOPE_NO_AVX512 is set, for the AVX-512 path), else 1.
int ss_spike_linear_packed_on_f32(int path, int T, int In, int Out, const float *X, int ldx, const float *packed,
                                  int accumulate, float *Y, int ldy);
// The path ss_spike_linear_packed_f32 takes here: "avx512f", "avx2-fma" or "portable".
const char *ss_spike_packed_path(void);
// Scalar reference of ss_spike_linear_f32: same contract, plain loops. Kept as test oracle.
void ss_spike_linear_naive_f32(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                               int accumulate, float *Y, int ldy);
// y[c] += W[j][c] for each input j that spiked: adds only (the STYLE.md building block).
void ss_spike_accumulate_f32(int n_active, const int32_t *active, int C, const float *W, float *y);
// Number of nonzero entries of x[0..<n].
size_t ss_count_nonzero_f32(size_t n, const float *x);
// Row compaction for the event kernels (compact.c): ix[0..<k] = base + the positions j < n with
// x[j] ≠ 0, increasing; vx[0..<k] = those x[j]; returns k. If `other` is not NULL, *other = how
// many of those values are not exactly 1. Writes up to 15 entries past k (never past ix[n − 1] /
// vx[n − 1]): ix and vx need n entries. A NaN counts as nonzero (and not 1), −0 as zero.
int ss_compact_f32(const float *x, int n, int base, int32_t *ix, float *vx, int *other);
// Test hook: ss_compact_f32 on one path (0 portable, 1 AVX2, 2 AVX-512F); −1 when this CPU lacks it
// (or SPIKESCOPE_NO_AVX512 is set, for 2). All paths give the same lists.
int ss_compact_on_f32(int path, const float *x, int n, int base, int32_t *ix, float *vx, int *other);
// The path ss_compact_f32 takes here: "avx512f", "avx2" or "portable".
const char *ss_compact_path(void);
// dst[c][r] = src[r][c] for src [rows, cols] → dst [cols, rows] (e.g. PyTorch [Out,In] → [In,Out]).
void ss_transpose_f32(int rows, int cols, float *dst, const float *src);

#ifdef __cplusplus
}
#endif
#endif
