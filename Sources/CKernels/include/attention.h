// One attention head for SpikeBERT (attention.c). No stable API.
#ifndef SPIKESCOPE_ATTENTION_H
#define SPIKESCOPE_ATTENTION_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// For queries i in 0..<L and the nk keys listed in `keys` (rows of k and v):
//   s_j = (Σ_e q_i[e]·k_j[e])·scale;  p_j = exp(s_j − max s) / Σ_j exp(·);  out_i[e] = Σ_j p_j·v_j[e]
// q, k, v point at column h·d of row 0 (rows `stride` floats apart); out rows are `ldo` apart.
// Sums run in the order of SpikeBERT.forwardReference's loops, with separate multiply and add (no
// FMA), so the results are the same bits. scratch: d·nk + nk floats.
void ss_attention_head_f32(int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                           const float *v, int stride, float scale, float *out, int ldo, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
