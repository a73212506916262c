// One softmax-attention head in SpikeBERT's reference order, 8 lanes at a time on AVX2.
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

static int g_avx2 = 0;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    g_avx2 = __builtin_cpu_supports("avx2");
#endif
}

void ss_attention_head_f32(int L, int d, const int32_t *keys, int nk, const float *q, const float *k,
                           const float *v, int stride, float scale, float *out, int ldo, float *scratch) {
    pthread_once(&g_once, pick);
#if defined(SS_X86)
    if (g_avx2) { head_avx2(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch); return; }
#endif
    head_scalar(L, d, keys, nk, q, k, v, stride, scale, out, ldo, scratch);
}
