// One attention head for SpikeBERT (attention.c). No stable API.
#ifndef SPIKESCOPE_ATTENTION_H
#define SPIKESCOPE_ATTENTION_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// For queries i in 0..<L and the nk keys listed in `keys` (rows of k and v):
//   s_j = (Σ_e q_i[e]·k_j[e])·scale;  p_j = exp(s_j − max s) / Σ_j exp(·);  out_i[e] = Σ_j p_j·v_j[e]
// q, k, v point at column h·d of row 0 (rows `stride` floats apart); out rows are `ldo` apart.
// Sums run in the order of SpikeBERT.forwardReference's loops, with separate multiply and add (no
// FMA), so the results are the same bits. scratch: ss_attention_scratch_count(d, nk) floats.
void ss_attention_head_f32(int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                           const float *v, int stride, float scale, float *out, int ldo, float *scratch);
// Floats of scratch ss_attention_head_f32 needs: d·nk + 2·nk.
size_t ss_attention_scratch_count(int d, int nk);
// Test hook: the head on one path, 0 portable / 1 AVX2 / 2 AVX-512F; returns 0 (out untouched) when
// this CPU lacks it (or SPIKESCOPE_NO_AVX512 is set, for 2). All give the same bits.
int ss_attention_head_on_f32(int path, int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                             const float *v, int stride, float scale, float *out, int ldo, float *scratch);
// The path ss_attention_head_f32 takes here: "avx512f", "avx2" or "portable".
const char *ss_attention_path(void);

#ifdef __cplusplus
}
#endif
#endif
