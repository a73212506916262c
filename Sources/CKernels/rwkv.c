// rwkv.c — the element-wise part of a batch-1 SpikeGPT step: WKV and σ gates with a vector exp.
// libm's scalar expf was ~5 of every 100 µs of a step (five exps per channel per layer).
//
// exp(x) = 2^n · e^f, n = round(x·log2 e), f = x − n·ln 2 (ln 2 split in two for exactness),
// e^f by a degree-6 Taylor/minimax polynomial on |f| ≤ ln2/2 evaluated with FMA (Horner), 2^n
// by building the exponent bits. Same steps in the scalar twin, so the same bits.
#include "rwkv.h"
#pragma STDC FP_CONTRACT OFF   // the scalar twin must round every product as the vector code does
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

#define EXP_LO (-87.33654f)   // below: e^x < FLT_MIN → 0
#define EXP_HI (88.72283f)    // above: overflow → +inf
static const float LOG2E = 1.44269504088896341f;
static const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
// e^f ≈ 1 + f + f²/2 + … (Cephes expf coefficients, degree 6 on |f| ≤ ln2/2)
static const float C6 = 1.9875691500e-4f, C5 = 1.3981999507e-3f, C4 = 8.3334519073e-3f,
                   C3 = 4.1665795894e-2f, C2 = 1.6666665459e-1f, C1 = 5.0000001201e-1f;

float ss_exp_f32(float x) {
    if (x != x) return x;
    if (x < EXP_LO) return 0.0f;
    if (x > EXP_HI) return INFINITY;
    float n = nearbyintf(x * LOG2E);
    float f = fmaf(n, -LN2_HI, x);
    f = fmaf(n, -LN2_LO, f);
    float p = C6;
    p = fmaf(p, f, C5); p = fmaf(p, f, C4); p = fmaf(p, f, C3); p = fmaf(p, f, C2); p = fmaf(p, f, C1);
    float f2 = f * f;
    p = fmaf(p, f2, f + 1.0f);
    // 2^n in two factors so n = 128 (x near EXP_HI) and n = −126 … −127 stay representable
    int32_t ni = (int32_t)n, h = ni / 2;
    uint32_t b1 = (uint32_t)(h + 127) << 23, b2 = (uint32_t)(ni - h + 127) << 23;
    float s1, s2; memcpy(&s1, &b1, 4); memcpy(&s2, &b2, 4);
    return p * s1 * s2;
}

static inline float sigmoid1(float z) { return 1.0f / (1.0f + ss_exp_f32(-z)); }

static void wkv_scalar(int c0, int C, const float *k, const float *v, const float *r, const float *u,
                       const float *w, float *aa, float *bb, float *pp, float *y) {
    for (int c = c0; c < C; c++) {
        float kk = k[c], vv = v[c], a0 = aa[c], b0 = bb[c], p0 = pp[c];
        float ww = u[c] + kk, p = p0 > ww ? p0 : ww;
        float e1 = ss_exp_f32(p0 - p), e2 = ss_exp_f32(ww - p);
        float wkv = (e1 * a0 + e2 * vv) / (e1 * b0 + e2);
        ww = p0 + w[c];
        p = ww > kk ? ww : kk;
        e1 = ss_exp_f32(ww - p); e2 = ss_exp_f32(kk - p);
        aa[c] = e1 * a0 + e2 * vv;
        bb[c] = e1 * b0 + e2;
        pp[c] = p;
        y[c] = wkv * sigmoid1(r[c]);
    }
}

#if defined(SS_X86)
__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(EXP_LO), hi = _mm256_set1_ps(EXP_HI);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ), over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_HI), xc);
    f = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_LO), f);
    __m256 p = _mm256_set1_ps(C6);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C5)); p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C3)); p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C1));
    __m256 f2 = _mm256_mul_ps(f, f);
    p = _mm256_fmadd_ps(p, f2, _mm256_add_ps(f, _mm256_set1_ps(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    // h = ni / 2 truncating toward zero, as C's integer division
    __m256i h = _mm256_srai_epi32(_mm256_add_epi32(ni, _mm256_srli_epi32(ni, 31)), 1);
    __m256i b1 = _mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23);
    __m256i b2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23);
    __m256 res = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(b1)), _mm256_castsi256_ps(b2));
    res = _mm256_andnot_ps(under, res);
    res = _mm256_blendv_ps(res, _mm256_set1_ps(INFINITY), over);
    return _mm256_blendv_ps(res, x, nan);
}

__attribute__((target("avx2,fma")))
static inline __m256 sigmoid8(__m256 z) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

__attribute__((target("avx2,fma")))
static void wkv_avx2(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                     float *aa, float *bb, float *pp, float *y) {
    int c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 kk = _mm256_loadu_ps(k + c), vv = _mm256_loadu_ps(v + c);
        __m256 a0 = _mm256_loadu_ps(aa + c), b0 = _mm256_loadu_ps(bb + c), p0 = _mm256_loadu_ps(pp + c);
        __m256 ww = _mm256_add_ps(_mm256_loadu_ps(u + c), kk);
        __m256 p = _mm256_max_ps(ww, p0);   // p0 > ww ? p0 : ww (ties: equal values)
        __m256 e1 = exp8(_mm256_sub_ps(p0, p)), e2 = exp8(_mm256_sub_ps(ww, p));
        __m256 num = _mm256_add_ps(_mm256_mul_ps(e1, a0), _mm256_mul_ps(e2, vv));
        __m256 den = _mm256_add_ps(_mm256_mul_ps(e1, b0), e2);
        __m256 wkv = _mm256_div_ps(num, den);
        ww = _mm256_add_ps(p0, _mm256_loadu_ps(w + c));
        p = _mm256_max_ps(kk, ww);
        e1 = exp8(_mm256_sub_ps(ww, p)); e2 = exp8(_mm256_sub_ps(kk, p));
        _mm256_storeu_ps(aa + c, _mm256_add_ps(_mm256_mul_ps(e1, a0), _mm256_mul_ps(e2, vv)));
        _mm256_storeu_ps(bb + c, _mm256_add_ps(_mm256_mul_ps(e1, b0), e2));
        _mm256_storeu_ps(pp + c, p);
        _mm256_storeu_ps(y + c, _mm256_mul_ps(wkv, sigmoid8(_mm256_loadu_ps(r + c))));
    }
    wkv_scalar(c, C, k, v, r, u, w, aa, bb, pp, y);
}

__attribute__((target("avx2,fma")))
static void sigmoid_mul_avx2(int n, const float *r, const float *v, float *o) {
    int c = 0;
    for (; c + 8 <= n; c += 8)
        _mm256_storeu_ps(o + c, _mm256_mul_ps(sigmoid8(_mm256_loadu_ps(r + c)), _mm256_loadu_ps(v + c)));
    for (; c < n; c++) o[c] = sigmoid1(r[c]) * v[c];
}

// AVX-512F twins: 16 lanes, the same operations per lane (mask registers for the special cases),
// so the same bits as the AVX2 and scalar code.
__attribute__((target("avx512f,avx2,fma")))
static inline __m512 exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(EXP_LO), hi = _mm512_set1_ps(EXP_HI);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), xc);
    f = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), f);
    __m512 p = _mm512_set1_ps(C6);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C5)); p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C3)); p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C1));
    __m512 f2 = _mm512_mul_ps(f, f);
    p = _mm512_fmadd_ps(p, f2, _mm512_add_ps(f, _mm512_set1_ps(1.0f)));
    __m512i ni = _mm512_cvtps_epi32(n);
    __m512i h = _mm512_srai_epi32(_mm512_add_epi32(ni, _mm512_srli_epi32(ni, 31)), 1);
    __m512i b1 = _mm512_slli_epi32(_mm512_add_epi32(h, _mm512_set1_epi32(127)), 23);
    __m512i b2 = _mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(ni, h), _mm512_set1_epi32(127)), 23);
    __m512 res = _mm512_mul_ps(_mm512_mul_ps(p, _mm512_castsi512_ps(b1)), _mm512_castsi512_ps(b2));
    res = _mm512_mask_blend_ps(under, res, _mm512_setzero_ps());
    res = _mm512_mask_blend_ps(over, res, _mm512_set1_ps(INFINITY));
    return _mm512_mask_blend_ps(nan, res, x);
}

__attribute__((target("avx512f,avx2,fma")))
static inline __m512 sigmoid16(__m512 z) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), z))));
}

__attribute__((target("avx512f,avx2,fma")))
static void wkv_avx512(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                       float *aa, float *bb, float *pp, float *y) {
    int c = 0;
    for (; c + 16 <= C; c += 16) {
        __m512 kk = _mm512_loadu_ps(k + c), vv = _mm512_loadu_ps(v + c);
        __m512 a0 = _mm512_loadu_ps(aa + c), b0 = _mm512_loadu_ps(bb + c), p0 = _mm512_loadu_ps(pp + c);
        __m512 ww = _mm512_add_ps(_mm512_loadu_ps(u + c), kk);
        __m512 p = _mm512_max_ps(ww, p0);
        __m512 e1 = exp16(_mm512_sub_ps(p0, p)), e2 = exp16(_mm512_sub_ps(ww, p));
        __m512 num = _mm512_add_ps(_mm512_mul_ps(e1, a0), _mm512_mul_ps(e2, vv));
        __m512 den = _mm512_add_ps(_mm512_mul_ps(e1, b0), e2);
        __m512 wkv = _mm512_div_ps(num, den);
        ww = _mm512_add_ps(p0, _mm512_loadu_ps(w + c));
        p = _mm512_max_ps(kk, ww);
        e1 = exp16(_mm512_sub_ps(ww, p)); e2 = exp16(_mm512_sub_ps(kk, p));
        _mm512_storeu_ps(aa + c, _mm512_add_ps(_mm512_mul_ps(e1, a0), _mm512_mul_ps(e2, vv)));
        _mm512_storeu_ps(bb + c, _mm512_add_ps(_mm512_mul_ps(e1, b0), e2));
        _mm512_storeu_ps(pp + c, p);
        _mm512_storeu_ps(y + c, _mm512_mul_ps(wkv, sigmoid16(_mm512_loadu_ps(r + c))));
    }
    if (c < C) wkv_avx2(C - c, k + c, v + c, r + c, u + c, w + c, aa + c, bb + c, pp + c, y + c);
}

__attribute__((target("avx512f,avx2,fma")))
static void sigmoid_mul_avx512(int n, const float *r, const float *v, float *o) {
    int c = 0;
    for (; c + 16 <= n; c += 16)
        _mm512_storeu_ps(o + c, _mm512_mul_ps(sigmoid16(_mm512_loadu_ps(r + c)), _mm512_loadu_ps(v + c)));
    if (c < n) sigmoid_mul_avx2(n - c, r + c, v + c, o + c);
}

static int have_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}

static int have_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = have_avx2() && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512");
    return cached;
}
#endif

void ss_wkv_step(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                 float *aa, float *bb, float *pp, float *y) {
#if defined(SS_X86)
    if (have_avx512()) { wkv_avx512(C, k, v, r, u, w, aa, bb, pp, y); return; }
    if (have_avx2()) { wkv_avx2(C, k, v, r, u, w, aa, bb, pp, y); return; }
#endif
    wkv_scalar(0, C, k, v, r, u, w, aa, bb, pp, y);
}

int ss_wkv_step_on(int path, int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                   float *aa, float *bb, float *pp, float *y) {
    switch (path) {
    case 0: wkv_scalar(0, C, k, v, r, u, w, aa, bb, pp, y); return 1;
#if defined(SS_X86)
    case 1: if (!have_avx2()) return 0; wkv_avx2(C, k, v, r, u, w, aa, bb, pp, y); return 1;
    case 2: if (!have_avx512()) return 0; wkv_avx512(C, k, v, r, u, w, aa, bb, pp, y); return 1;
#endif
    default: return 0;
    }
}

const char *ss_wkv_path(void) {
#if defined(SS_X86)
    if (have_avx512()) return "avx512f";
    if (have_avx2()) return "avx2-fma";
#endif
    return "portable";
}

void ss_sigmoid_mul(int n, const float *r, const float *v, float *o) {
#if defined(SS_X86)
    if (have_avx512()) { sigmoid_mul_avx512(n, r, v, o); return; }
    if (have_avx2()) { sigmoid_mul_avx2(n, r, v, o); return; }
#endif
    for (int c = 0; c < n; c++) o[c] = sigmoid1(r[c]) * v[c];
}

void ss_wkv_step_portable(int C, const float *k, const float *v, const float *r, const float *u, const float *w,
                          float *aa, float *bb, float *pp, float *y) {
    wkv_scalar(0, C, k, v, r, u, w, aa, bb, pp, y);
}
