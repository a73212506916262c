// Elementwise GELU for SpikeBERT (gelu.c). No stable API.
#ifndef SPIKESCOPE_GELU_H
#define SPIKESCOPE_GELU_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// x[i] = 0.5·x·(1 + erf(x/√2)) in place, erf by ss_erf_f32's polynomials (|error| < 5e-7).
void ss_gelu_erf_f32(size_t n, float *x);
// Test hook: ss_gelu_erf_f32 on one path, 0 portable / 1 AVX2+FMA / 2 AVX-512F; returns 0 (x
// untouched) when this CPU lacks it (or SPIKESCOPE_NO_AVX512 is set, for 2). All give the same bits.
int ss_gelu_erf_on_f32(int path, size_t n, float *x);
// The path ss_gelu_erf_f32 takes here: "avx512f", "avx2-fma" or "portable".
const char *ss_gelu_path(void);
// erf(x) by two fitted polynomials (see gelu.c); the scalar twin of the vector code, same bits.
float ss_erf_f32(float x);

#ifdef __cplusplus
}
#endif
#endif
