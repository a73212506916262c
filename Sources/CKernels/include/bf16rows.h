// Products with bf16 weights stored as they arrive in a checkpoint: W[n_out, n_in] row-major
// (the PyTorch nn.Linear layout), read in place (e.g. from a read-only memory map) — never
// repacked or converted as a whole. fp32 accumulate; bf16 → fp32 is (uint32_t)v << 16.
// No stable API; Engine wraps these (Kernels.gemvBF16Rows, Kernels.gemmBF16Rows).
#ifndef SPIKESCOPE_BF16ROWS_H
#define SPIKESCOPE_BF16ROWS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// y[n_out] = W[n_out, n_in] · x[n_in]. Every row is summed the same way on every path (the
// "16-lane order", bf16rows.c): lane l accumulates the products of elements i ≡ l (mod 16) of
// the full 16-blocks with FMAs, the lanes are added as a fixed tree, then the n_in % 16 tail
// products are added in order with FMAs. So the AVX-512F, AVX2+FMA and portable paths give the
// same bits, and a row's result does not depend on which other rows are computed with it.
void ss_gemv_bf16_rows(int n_out, int n_in, float *y, const uint16_t *W, const float *x);
// The portable C twin (what machines without AVX2+FMA run): the same bits.
void ss_gemv_bf16_rows_portable(int n_out, int n_in, float *y, const uint16_t *W, const float *x);
// Test hook: runs ss_gemv_bf16_rows on one path, SS_BF16_ROWS_PORTABLE / _AVX2 / _AVX512;
// returns 0 (y untouched) when this CPU or build does not have that path, else 1.
enum { SS_BF16_ROWS_PORTABLE = 0, SS_BF16_ROWS_AVX2 = 1, SS_BF16_ROWS_AVX512 = 2 };
int ss_gemv_bf16_rows_on(int path, int n_out, int n_in, float *y, const uint16_t *W, const float *x);
// The path ss_gemv_bf16_rows takes on this CPU: "avx512f", "avx2-fma" or "portable".
const char *ss_bf16_rows_path(void);

// Y[m, n_out] = X[m, n_in] · Wᵀ (prefill: m tokens through one nn.Linear), row strides ldy, ldx.
// m ≤ ss_bf16_rows_gemv_max_m(): for each block of rows (≤ 256 KB of W, kept in L2) the GEMV of
// every token, so W is read from memory once; each Y row has the bits of ss_gemv_bf16_rows.
// Larger m: each block of rows is widened to fp32 (transposed) in a per-thread scratch (≤ ~2 MB:
// only one block of W is ever converted) and multiplied by ss_gemm_f32, with its bits.
// Blocks are shared by `threads` (1 or 2) threads of the pool (threadpool.c); the blocks depend
// on the shape only, so the result does not depend on `threads`. threads = 1 computes on one
// thread (the nested GEMMs included).
void ss_gemm_bf16_rows(int m, int n_out, int n_in, float *Y, int ldy, const float *X, int ldx,
                       const uint16_t *W, int threads);
// The largest m that ss_gemm_bf16_rows runs as GEMVs on this CPU: 128 (AVX-512F), 32 (AVX2+FMA),
// 1 (portable) — where the GEMV way stopped being the faster one (bf16rows.c).
int ss_bf16_rows_gemv_max_m(void);

// ---- bf16 dot products (bf16dot.c): opt-in, a numerics change -----------------------------------
// With the mode on (ss_bf16_dot_set(1), only where the CPU has AVX-512 BF16), ss_gemv_bf16_rows,
// the SS_GEMV_BF16_ROWS batch jobs and ss_gemm_bf16_rows round x to bf16 and use vdpbf16ps:
// |y − y_fp32-activations| ≤ 2⁻⁸·Σ|w·x| (x's rounding and the fp32 sums), no longer the bits of
// the paths above. Off by default. Set it before kernels run on other threads.
// 1 when this CPU has the instructions (and SPIKESCOPE_NO_AVX512 is unset).
int ss_bf16_dot_available(void);
// Turns the mode on or off; returns 0 when asked to turn it on where it is not available.
int ss_bf16_dot_set(int on);
int ss_bf16_dot_get(void);
// The two kernels of the mode, callable directly (tests): return 0 (nothing written) when the CPU
// lacks the instructions or memory runs out, else 1. Rows of Y do not depend on m or threads.
int ss_gemv_bf16_rows_dot(int n_out, int n_in, float *y, const uint16_t *W, const float *x);
int ss_gemm_bf16_rows_dot(int m, int n_out, int n_in, float *Y, int ldy, const float *X, int ldx,
                          const uint16_t *W, int threads);

#ifdef __cplusplus
}
#endif
#endif
