// Elementwise GELU for SpikeBERT (gelu.c). No stable API.
#ifndef SPIKESCOPE_GELU_H
#define SPIKESCOPE_GELU_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// x[i] = 0.5·x·(1 + erf(x/√2)) in place, erf by ss_erf_f32's polynomials (|error| < 5e-7).
void ss_gelu_erf_f32(size_t n, float *x);
// erf(x) by two fitted polynomials (see gelu.c); the scalar twin of the vector code, same bits.
float ss_erf_f32(float x);

#ifdef __cplusplus
}
#endif
#endif
