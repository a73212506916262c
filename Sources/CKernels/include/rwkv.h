// Element-wise steps of batch-1 RWKV/SpikeGPT inference (SpikeGPTRunner), vectorised.
// No stable API; Models wraps these.
#ifndef SPIKESCOPE_RWKV_H
#define SPIKESCOPE_RWKV_H

#ifdef __cplusplus
extern "C" {
#endif

// e^x in float32 (2^n · polynomial, |relative error| < 2e-7 for x in [-87, 88]; 0 below -87.33,
// +inf above 88.72). The vector and scalar paths give the same bits.
float ss_exp_f32(float x);

// One WKV step over C channels (stable running-max form, SEEDS.md §1), in place on the state:
//   ww = u + k;  p = max(pp, ww);  e1 = exp(pp − p);  e2 = exp(ww − p)
//   y = σ(r) · (e1·aa + e2·v) / (e1·bb + e2)
//   ww = pp + w;  p = max(ww, k);  e1 = exp(ww − p);  e2 = exp(k − p)
//   aa = e1·aa + e2·v;  bb = e1·bb + e2;  pp = p
// (u = time_first, w = time_decay as stored, i.e. already −exp(decay).)
void ss_wkv_step(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                 float *aa, float *bb, float *pp, float *y);

// Its portable C twin (what non-AVX2 machines run): the same bits.
void ss_wkv_step_portable(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                          float *aa, float *bb, float *pp, float *y);

// Test hook: the step on one path, 0 portable / 1 AVX2+FMA / 2 AVX-512F; returns 0 (nothing
// written) when this CPU lacks it (or SPIKESCOPE_NO_AVX512 is set, for 2). All give the same bits.
int ss_wkv_step_on(int path, int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                   float *aa, float *bb, float *pp, float *y);
// The path ss_wkv_step takes here: "avx512f", "avx2-fma" or "portable".
const char *ss_wkv_path(void);

// o[c] = σ(r[c]) · v[c]
void ss_sigmoid_mul(int n, const float *r, const float *v, float *o);

#ifdef __cplusplus
}
#endif
#endif
