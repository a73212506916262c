// One softmax-attention head in SpikeBERT's reference order, 16 lanes at a time (two queries at
// once) on AVX-512F, 8 on AVX2.
//
// What it is: the inner loops of SpikeBERT's fast attention (SpikeBERT+Fast.swift runs one call
// per sequence × timestep × head on the pool). K is first transposed to kt[e][jj] so the score
// loop runs over contiguous keys; each score is still Σ_e q[e]·k[e] accumulated in e order from 0,
// and each output Σ_j p_j·v_j[e] in key order, with a separate multiply and add (FP_CONTRACT OFF),
// exactly as SpikeBERT.forwardReference's Swift loops do; exp is libm's expf, as in Swift.
// So this gives the reference's bits, 8 keys (or 8 output columns) per instruction.
// What it is not: a fused/flash attention (the L×L scores of one query row live in scratch).

#include "attention.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

#pragma STDC FP_CONTRACT OFF

// kt[e][jj] = k[keys[jj]][e]
static void transpose_keys(int d, const int32_t *keys, int nk, const float *k, int stride, float *kt) {
    for (int jj = 0; jj < nk; jj++) {
        const float *kr = k + (size_t)keys[jj] * stride;
        for (int e = 0; e < d; e++) kt[(size_t)e * nk + jj] = kr[e];
    }
}

// p[jj] = max-shifted exp of the scaled scores, returns Σ p (in key order).
static float softmax_row(int nk, float scale, float *p) {
    float mx = -INFINITY;
    for (int jj = 0; jj < nk; jj++) {
        float s = p[jj] * scale;
        p[jj] = s;
        if (s > mx) mx = s;
    }
    float z = 0.0f;
    for (int jj = 0; jj < nk; jj++) { float e = expf(p[jj] - mx); p[jj] = e; z += e; }
    return z;
}

static void head_scalar(int L, int d, const int32_t *keys, int nk, const float *q, const float *k, const float *v,
                        int stride, float scale, float *out, int ldo, float *scratch) {
    float *kt = scratch, *p = scratch + (size_t)d * nk;
    transpose_keys(d, keys, nk, k, stride, kt);
    for (int i = 0; i < L; i++) {
        const float *qi = q + (size_t)i * stride;
        for (int jj = 0; jj < nk; jj++) p[jj] = 0.0f;
        for (int e = 0; e < d; e++) {
            float qe = qi[e];
            const float *kr = kt + (size_t)e * nk;
            for (int jj = 0; jj < nk; jj++) { float m = qe * kr[jj]; p[jj] = p[jj] + m; }
        }
        float iz = 1.0f / softmax_row(nk, scale, p);
        float *oi = out + (size_t)i * ldo;
        for (int e = 0; e < d; e++) oi[e] = 0.0f;
        for (int jj = 0; jj < nk; jj++) {
            float pj = p[jj] * iz;
            const float *vj = v + (size_t)keys[jj] * stride;
            for (int e = 0; e < d; e++) { float m = pj * vj[e]; oi[e] = oi[e] + m; }
        }
    }
}

#if defined(SS_X86)
__attribute__((target("avx2")))
static void head_avx2(int L, int d, const int32_t *keys, int nk, const float *q, const float *k, const float *v,
                      int stride, float scale, float *out, int ldo, float *scratch) {
    float *kt = scratch, *p = scratch + (size_t)d * nk;
    transpose_keys(d, keys, nk, k, stride, kt);
    for (int i = 0; i < L; i++) {
        const float *qi = q + (size_t)i * stride;
        // p[jj] = Σ_e q[e]·kt[e][jj], e ascending, multiply then add. 32 keys at a time in four
        // independent sums (each key's order unchanged): one 8-key chain was add-latency-bound.
        int jj = 0;
        for (; jj + 32 <= nk; jj += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int e = 0; e < d; e++) {
                __m256 qe = _mm256_set1_ps(qi[e]);
                const float *row = kt + (size_t)e * nk + jj;
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(qe, _mm256_loadu_ps(row)));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(qe, _mm256_loadu_ps(row + 8)));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(qe, _mm256_loadu_ps(row + 16)));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(qe, _mm256_loadu_ps(row + 24)));
            }
            _mm256_storeu_ps(p + jj, a0); _mm256_storeu_ps(p + jj + 8, a1);
            _mm256_storeu_ps(p + jj + 16, a2); _mm256_storeu_ps(p + jj + 24, a3);
        }
        for (; jj + 8 <= nk; jj += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int e = 0; e < d; e++)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(qi[e]), _mm256_loadu_ps(kt + (size_t)e * nk + jj)));
            _mm256_storeu_ps(p + jj, acc);
        }
        for (; jj < nk; jj++) {
            float acc = 0.0f;
            for (int e = 0; e < d; e++) { float m = qi[e] * kt[(size_t)e * nk + jj]; acc = acc + m; }
            p[jj] = acc;
        }
        float iz = 1.0f / softmax_row(nk, scale, p);
        float *oi = out + (size_t)i * ldo;
        int e = 0;
        // out[e] = Σ_jj (p[jj]·iz)·v[jj][e], keys ascending; 32 columns in four independent sums.
        for (; e + 32 <= d; e += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int j2 = 0; j2 < nk; j2++) {
                __m256 pj = _mm256_set1_ps(p[j2] * iz);
                const float *vr = v + (size_t)keys[j2] * stride + e;
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(pj, _mm256_loadu_ps(vr)));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(pj, _mm256_loadu_ps(vr + 8)));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(pj, _mm256_loadu_ps(vr + 16)));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(pj, _mm256_loadu_ps(vr + 24)));
            }
            _mm256_storeu_ps(oi + e, a0); _mm256_storeu_ps(oi + e + 8, a1);
            _mm256_storeu_ps(oi + e + 16, a2); _mm256_storeu_ps(oi + e + 24, a3);
        }
        for (; e + 8 <= d; e += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int j2 = 0; j2 < nk; j2++) {
                __m256 pj = _mm256_set1_ps(p[j2] * iz);
                acc = _mm256_add_ps(acc, _mm256_mul_ps(pj, _mm256_loadu_ps(v + (size_t)keys[j2] * stride + e)));
            }
            _mm256_storeu_ps(oi + e, acc);
        }
        for (; e < d; e++) {
            float acc = 0.0f;
            for (int j2 = 0; j2 < nk; j2++) { float m = (p[j2] * iz) * v[(size_t)keys[j2] * stride + e]; acc = acc + m; }
            oi[e] = acc;
        }
    }
}
#endif

#if defined(SS_X86)
// AVX-512F: two queries at a time (i and i + 1 share every load of K and V), 16 keys or output
// columns per register, the last partial register masked. Each score and each output element is
// still one multiply-then-add chain in the reference's order, so the bits are the AVX2 kernel's;
// two queries give each loop four independent chains at d = 32 (MiniLM), where one query's two
// 16-lane chains would wait on the add latency.
static inline __mmask16 tail_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// p0[jj] = Σ_e q0[e]·kt[e][jj] and the same for q1 (q1 may equal q0, p1 then equals p0).
__attribute__((target("avx512f,avx2")))
static void scores2_avx512(int d, int nk, const float *kt, const float *q0, const float *q1, float *p0, float *p1) {
    int jj = 0;
    for (; jj + 32 <= nk; jj += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        for (int e = 0; e < d; e++) {
            const float *row = kt + (size_t)e * nk + jj;
            __m512 r0 = _mm512_loadu_ps(row), r1 = _mm512_loadu_ps(row + 16);
            __m512 x0 = _mm512_set1_ps(q0[e]), x1 = _mm512_set1_ps(q1[e]);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(x0, r0)); a1 = _mm512_add_ps(a1, _mm512_mul_ps(x0, r1));
            b0 = _mm512_add_ps(b0, _mm512_mul_ps(x1, r0)); b1 = _mm512_add_ps(b1, _mm512_mul_ps(x1, r1));
        }
        _mm512_storeu_ps(p0 + jj, a0); _mm512_storeu_ps(p0 + jj + 16, a1);
        _mm512_storeu_ps(p1 + jj, b0); _mm512_storeu_ps(p1 + jj + 16, b1);
    }
    for (; jj < nk; jj += 16) {
        __mmask16 m = tail_mask(nk - jj);
        __m512 a = _mm512_setzero_ps(), b = a;
        for (int e = 0; e < d; e++) {
            __m512 r = _mm512_maskz_loadu_ps(m, kt + (size_t)e * nk + jj);
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(q0[e]), r));
            b = _mm512_add_ps(b, _mm512_mul_ps(_mm512_set1_ps(q1[e]), r));
        }
        _mm512_mask_storeu_ps(p0 + jj, m, a);
        _mm512_mask_storeu_ps(p1 + jj, m, b);
    }
}

// o0[e] = Σ_jj (p0[jj]·iz0)·v[keys[jj]][e], keys ascending, and the same for row 1.
__attribute__((target("avx512f,avx2")))
static void outputs2_avx512(int d, const int32_t *keys, int nk, const float *v, int stride, const float *p0, float iz0,
                            const float *p1, float iz1, float *o0, float *o1) {
    int e = 0;
    for (; e + 32 <= d; e += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        for (int j = 0; j < nk; j++) {
            const float *vr = v + (size_t)keys[j] * stride + e;
            __m512 r0 = _mm512_loadu_ps(vr), r1 = _mm512_loadu_ps(vr + 16);
            __m512 x0 = _mm512_set1_ps(p0[j] * iz0), x1 = _mm512_set1_ps(p1[j] * iz1);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(x0, r0)); a1 = _mm512_add_ps(a1, _mm512_mul_ps(x0, r1));
            b0 = _mm512_add_ps(b0, _mm512_mul_ps(x1, r0)); b1 = _mm512_add_ps(b1, _mm512_mul_ps(x1, r1));
        }
        _mm512_storeu_ps(o0 + e, a0); _mm512_storeu_ps(o0 + e + 16, a1);
        _mm512_storeu_ps(o1 + e, b0); _mm512_storeu_ps(o1 + e + 16, b1);
    }
    for (; e < d; e += 16) {
        __mmask16 m = tail_mask(d - e);
        __m512 a = _mm512_setzero_ps(), b = a;
        for (int j = 0; j < nk; j++) {
            __m512 r = _mm512_maskz_loadu_ps(m, v + (size_t)keys[j] * stride + e);
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(p0[j] * iz0), r));
            b = _mm512_add_ps(b, _mm512_mul_ps(_mm512_set1_ps(p1[j] * iz1), r));
        }
        _mm512_mask_storeu_ps(o0 + e, m, a);
        _mm512_mask_storeu_ps(o1 + e, m, b);
    }
}

__attribute__((target("avx512f,avx2")))
static void head_avx512(int L, int d, const int32_t *keys, int nk, const float *q, const float *k, const float *v,
                        int stride, float scale, float *out, int ldo, float *scratch) {
    float *kt = scratch, *p0 = scratch + (size_t)d * nk, *p1 = p0 + nk;
    transpose_keys(d, keys, nk, k, stride, kt);
    for (int i = 0; i < L; i += 2) {
        int two = i + 1 < L;   // the last odd row runs as its own pair (same row twice, same bits)
        const float *q0 = q + (size_t)i * stride, *q1 = two ? q0 + stride : q0;
        float *r1 = two ? p1 : p0;
        scores2_avx512(d, nk, kt, q0, q1, p0, r1);
        float iz0 = 1.0f / softmax_row(nk, scale, p0);
        float iz1 = two ? 1.0f / softmax_row(nk, scale, p1) : iz0;
        float *o0 = out + (size_t)i * ldo, *o1 = two ? o0 + ldo : o0;
        outputs2_avx512(d, keys, nk, v, stride, p0, iz0, r1, iz1, o0, o1);
    }
}
#endif

static int g_avx2 = 0, g_avx512 = 0;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    g_avx2 = __builtin_cpu_supports("avx2");
    g_avx512 = g_avx2 && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512");
#endif
}

size_t ss_attention_scratch_count(int d, int nk) { return (size_t)d * nk + 2 * (size_t)nk; }

int ss_attention_head_on_f32(int path, int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                             const float *v, int stride, float scale, float *out, int ldo, float *scratch) {
    pthread_once(&g_once, pick);
    switch (path) {
    case 0: head_scalar(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return 1;
#if defined(SS_X86)
    case 1: if (!g_avx2) return 0; head_avx2(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return 1;
    case 2: if (!g_avx512) return 0; head_avx512(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return 1;
#endif
    default: return 0;
    }
}

const char *ss_attention_path(void) {
    pthread_once(&g_once, pick);
    return g_avx512 ? "avx512f" : g_avx2 ? "avx2" : "portable";
}

void ss_attention_head_f32(int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                           const float *v, int stride, float scale, float *out, int ldo, float *scratch) {
    pthread_once(&g_once, pick);
#if defined(SS_X86)
    if (g_avx512) { head_avx512(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return; }
    if (g_avx2) { head_avx2(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return; }
#endif
    head_scalar(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch);
}
