// GELU with a vectorisable erf: x·½·(1 + erf(x/√2)), 16 lanes at a time on AVX-512F, 8 on AVX2+FMA.
//
// What it is: the FFN activation of BERT (HF "gelu", Hendrycks & Gimpel 2016) for SpikeBERT,
// where libm's scalar erff cost ~15% of a T = 4 MiniLM forward. erf is odd, so with a = |x|:
//   a < 2:      erf(a) = a·P1(a²)         P1 of degree 9
//   2 ≤ a < 3.95: erf(a) = P2(a − 3)      P2 of degree 11
//   a ≥ 3.95:   erf(a) = 1                (1 − erf(3.95) < 3e-8, below float's ulp at 1)
// P1 and P2 are least-squares fits (numpy.polyfit on 40001 points, double precision:
// Tests/Reference/fit_erf.py prints them) to math.erf; evaluated in float32 by Horner with FMA, the error
// is below 5e-7 absolute over all x (checked against math.erf in SpikeBERTFastTests).
// The vector and scalar paths use the same FMA Horner steps, so they give the same bits.
// What it is not: correctly rounded (glibc erff is < 1 ulp); the GELU output differs from the
// erff one by < 3e-7 relative.

#include "gelu.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

static const float P1[10] = {-2.938460435e-08f, 8.332138664e-07f, -1.171011815e-05f, 1.122432309e-04f,
                             -8.409128015e-04f, 5.209274632e-03f, -2.685692144e-02f, 1.128348058e-01f,
                             -3.761259386e-01f, 1.128379151e+00f};
static const float P2[12] = {-1.004799100e-05f, 2.162837602e-05f, 1.323510372e-05f, -1.400769316e-04f,
                             3.907681555e-04f, -7.357753355e-04f, 1.016546520e-03f, -1.044844454e-03f,
                             7.890947191e-04f, -4.177267539e-04f, 1.392534334e-04f, 9.999779091e-01f};
#define SPLIT 2.0f
#define ONE_FROM 3.95f

float ss_erf_f32(float x) {
    float a = fabsf(x);
    float r;
    if (a < SPLIT) {
        float t = a * a, p = P1[0];
        for (int k = 1; k < 10; k++) p = fmaf(p, t, P1[k]);
        r = p * a;
    } else if (a < ONE_FROM) {
        float u = a - 3.0f, p = P2[0];
        for (int k = 1; k < 12; k++) p = fmaf(p, u, P2[k]);
        r = p;
    } else {
        r = a == a ? 1.0f : a;  // NaN stays NaN
    }
    return copysignf(r, x);
}

static void gelu_scalar(size_t n, float *x) {
    const float s = 0.70710678118654752f;  // 1/√2
    for (size_t i = 0; i < n; i++) { float z = x[i]; x[i] = 0.5f * z * (1.0f + ss_erf_f32(z * s)); }
}

#if defined(SS_X86)
__attribute__((target("avx2,fma")))
static void gelu_avx2(size_t n, float *x) {
    const __m256 s = _mm256_set1_ps(0.70710678118654752f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f), three = _mm256_set1_ps(3.0f);
    const __m256 split = _mm256_set1_ps(SPLIT), onefrom = _mm256_set1_ps(ONE_FROM);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 z = _mm256_loadu_ps(x + i);
        __m256 v = _mm256_mul_ps(z, s);
        __m256 a = _mm256_andnot_ps(sign, v);
        // both polynomials, then pick per lane (same FMA steps as ss_erf_f32)
        __m256 t = _mm256_mul_ps(a, a), p1 = _mm256_set1_ps(P1[0]);
        for (int k = 1; k < 10; k++) p1 = _mm256_fmadd_ps(p1, t, _mm256_set1_ps(P1[k]));
        p1 = _mm256_mul_ps(p1, a);
        __m256 u = _mm256_sub_ps(a, three), p2 = _mm256_set1_ps(P2[0]);
        for (int k = 1; k < 12; k++) p2 = _mm256_fmadd_ps(p2, u, _mm256_set1_ps(P2[k]));
        __m256 r = _mm256_blendv_ps(p2, p1, _mm256_cmp_ps(a, split, _CMP_LT_OQ));
        r = _mm256_blendv_ps(one, r, _mm256_cmp_ps(a, onefrom, _CMP_LT_OQ));
        r = _mm256_blendv_ps(r, a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));            // NaN stays NaN
        r = _mm256_or_ps(r, _mm256_and_ps(v, sign));                                 // copysign
        // 0.5·z·(1 + erf)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, z), _mm256_add_ps(one, r)));
    }
    gelu_scalar(n - i, x + i);
}

// AVX-512F twin: 16 lanes, the same operations per lane (masks instead of blends): the same bits.
__attribute__((target("avx512f,avx2,fma")))
static void gelu_avx512(size_t n, float *x) {
    const __m512 s = _mm512_set1_ps(0.70710678118654752f), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    const __m512 three = _mm512_set1_ps(3.0f), split = _mm512_set1_ps(SPLIT), onefrom = _mm512_set1_ps(ONE_FROM);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 z = _mm512_loadu_ps(x + i);
        __m512 v = _mm512_mul_ps(z, s);
        __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(v)));
        __m512 t = _mm512_mul_ps(a, a), p1 = _mm512_set1_ps(P1[0]);
        for (int k = 1; k < 10; k++) p1 = _mm512_fmadd_ps(p1, t, _mm512_set1_ps(P1[k]));
        p1 = _mm512_mul_ps(p1, a);
        __m512 u = _mm512_sub_ps(a, three), p2 = _mm512_set1_ps(P2[0]);
        for (int k = 1; k < 12; k++) p2 = _mm512_fmadd_ps(p2, u, _mm512_set1_ps(P2[k]));
        __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, split, _CMP_LT_OQ), p2, p1);
        r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, onefrom, _CMP_LT_OQ), one, r);
        r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), r, a);                 // NaN stays NaN
        r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r),
                                                _mm512_and_si512(_mm512_castps_si512(v), sign)));  // copysign
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(half, z), _mm512_add_ps(one, r)));
    }
    gelu_scalar(n - i, x + i);
}
#endif

static int g_avx2 = 0, g_avx512 = 0;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    g_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    g_avx512 = g_avx2 && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512");
#endif
}

int ss_gelu_erf_on_f32(int path, size_t n, float *x) {
    pthread_once(&g_once, pick);
    switch (path) {
    case 0: gelu_scalar(n, x); return 1;
#if defined(SS_X86)
    case 1: if (!g_avx2) return 0; gelu_avx2(n, x); return 1;
    case 2: if (!g_avx512) return 0; gelu_avx512(n, x); return 1;
#endif
    default: return 0;
    }
}

const char *ss_gelu_path(void) {
    pthread_once(&g_once, pick);
    return g_avx512 ? "avx512f" : g_avx2 ? "avx2-fma" : "portable";
}

void ss_gelu_erf_f32(size_t n, float *x) {
    pthread_once(&g_once, pick);
#if defined(SS_X86)
    if (g_avx512) { gelu_avx512(n, x); return; }
    if (g_avx2) { gelu_avx2(n, x); return; }
#endif
    gelu_scalar(n, x);
}
