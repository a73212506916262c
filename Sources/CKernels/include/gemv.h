// Matrix-vector kernels for batch-1 recurrent inference (SpikeGPT generation).
// No stable API; Engine wraps these.
#ifndef SPIKESCOPE_GEMV_H
#define SPIKESCOPE_GEMV_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// y[out] = W[out, in] · x[in]   (W row-major, the PyTorch nn.Linear layout: one dot per row)
void ss_gemv_f32(int n_out, int n_in, float *y, const float *W, const float *x);
// Scalar twin of ss_gemv_f32 (test reference).
void ss_gemv_naive_f32(int n_out, int n_in, float *y, const float *W, const float *x);

// y[out] = W[out, in] · x[in] with W stored as bfloat16 (upper 16 bits of fp32), fp32 accumulate.
void ss_gemv_bf16(int n_out, int n_in, float *y, const uint16_t *W, const float *x);

// y[out] = Wt[in, out]ᵀ · x[in] reading only rows j of Wt where x[j] != 0 (event-driven):
// y = Σ_{j: x_j ≠ 0} x_j · Wt[j, :]. Adds only; zeros cost nothing.
void ss_gemv_sparse_f32(int n_out, int n_in, float *y, const float *Wt, const float *x);

#ifdef __cplusplus
}
#endif
#endif
