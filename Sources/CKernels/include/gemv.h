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

// y[out] = Wt[in, out]ᵀ · x[in] reading only rows j of Wt where x[j] != 0 (event-driven):
// y = Σ_{j: x_j ≠ 0} x_j · Wt[j, :]. Adds only; zeros cost nothing.
void ss_gemv_sparse_f32(int n_out, int n_in, float *y, const float *Wt, const float *x);

// Event-driven GEMV with bf16 weights Wt[in, out] (as ss_gemv_sparse_f32), fp32 accumulate.
void ss_gemv_sparse_bf16(int n_out, int n_in, float *y, const uint16_t *Wt, const float *x);

// bf16 weights regrouped into 32-output panels (layout in gemv.c) for ss_gemv_bf16_panel:
// ss_bf16_panel_count elements (outputs padded to a multiple of 32 with zeros); dst 32-byte aligned.
long ss_bf16_panel_count(int n_out, int n_in);
void ss_bf16_panel_pack(int n_out, int n_in, uint16_t *dst, const uint16_t *W);
// y[out] = W · x from the panel layout (P 32-byte aligned), fp32 accumulate.
void ss_gemv_bf16_panel(int n_out, int n_in, float *y, const uint16_t *P, const float *x);
// Its portable C twin (what non-AVX2 machines run): the same bits.
void ss_gemv_bf16_panel_portable(int n_out, int n_in, float *y, const uint16_t *P, const float *x);
// Test hook: the panel product on one path, 0 portable / 1 AVX2+FMA / 2 AVX-512F; returns 0 (y
// untouched) when this CPU does not have it (or SPIKESCOPE_NO_AVX512 is set, for 2). All paths
// give the same bits.
int ss_gemv_bf16_panel_on(int path, int n_out, int n_in, float *y, const uint16_t *P, const float *x);
// The path ss_gemv_f32 takes here: "avx2-fma" or "portable".
const char *ss_gemv_f32_path(void);
// The path ss_gemv_bf16_panel takes here: "avx512f", "avx2-fma" or "portable".
const char *ss_bf16_panel_path(void);

// One matrix-vector product of a batch. kind picks the layout:
//   SS_GEMV_F32: W[n_out, n_in] row-major (as ss_gemv_f32)
//   SS_GEMV_SPARSE_F32 / SS_GEMV_SPARSE_BF16: Wt[n_in, n_out], zeros of x skipped
//   SS_GEMV_BF16_PANEL: W packed by ss_bf16_panel_pack (chunks are whole panels)
//   SS_GEMV_BF16_ROWS: bf16 W[n_out, n_in] row-major, read in place (as ss_gemv_bf16_rows, bf16rows.h)
enum { SS_GEMV_F32 = 0, SS_GEMV_SPARSE_F32 = 2, SS_GEMV_SPARSE_BF16 = 3, SS_GEMV_BF16_PANEL = 4,
       SS_GEMV_BF16_ROWS = 5 };
typedef struct {
    int kind, n_out, n_in;
    float *y;
    const void *W;
    const float *x;
    // Sparse kinds only, may be NULL: n_out floats of scratch. Given, the inputs are split in two
    // halves (each reads whole weight rows; the second half's sum lands here and is added to y).
    // Without it the outputs are split between the threads instead.
    float *partial;
} ss_gemv_job;

// Runs independent jobs (no job's y may be another's x). Every job's outputs are cut into 8
// slices that the caller and (threads >= 2, worker not in use by another caller) one persistent
// worker thread claim dynamically, so a late worker costs nothing but its help. Dense kinds give
// bit-identical results to ss_gemv_f32 / ss_gemv_bf16_panel / ss_gemv_bf16_rows.
void ss_gemv_batch(const ss_gemv_job *jobs, int n, int threads);

// Sum of p[0..<n] read once, split over `threads` (1 or 2): a streaming-read bandwidth probe.
// prefetch != 0 adds the software prefetch the bf16 panel kernel uses (non-temporal, 3 KB ahead).
double ss_stream_read_f32(const float *p, long n, int threads, int prefetch);

#ifdef __cplusplus
}
#endif
#endif
