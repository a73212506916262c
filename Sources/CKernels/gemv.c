// gemv.c — matrix-vector kernels for batch-1 inference. Each has a scalar twin or reduces to one.
#include "gemv.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

void ss_gemv_naive_f32(int n_out, int n_in, float *y, const float *W, const float *x) {
    for (int o = 0; o < n_out; o++) {
        float acc = 0;  // y[o] = Σ_i W[o][i]·x[i]
        for (int i = 0; i < n_in; i++) acc += W[(long)o * n_in + i] * x[i];
        y[o] = acc;
    }
}

#ifdef SS_X86
__attribute__((target("avx2,fma")))
static void gemv_avx2(int n_out, int n_in, float *y, const float *W, const float *x) {
    int o = 0;
    // Four rows at a time share each load of x.
    for (; o + 4 <= n_out; o += 4) {
        const float *w0 = W + (long)o * n_in, *w1 = w0 + n_in, *w2 = w1 + n_in, *w3 = w2 + n_in;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 8 <= n_in; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), xv, a3);
        }
        float r[4][8];
        _mm256_storeu_ps(r[0], a0); _mm256_storeu_ps(r[1], a1);
        _mm256_storeu_ps(r[2], a2); _mm256_storeu_ps(r[3], a3);
        for (int k = 0; k < 4; k++) {
            float s = 0;
            for (int j = 0; j < 8; j++) s += r[k][j];
            const float *wk = W + (long)(o + k) * n_in;
            for (int ii = i; ii < n_in; ii++) s += wk[ii] * x[ii];  // tail
            y[o + k] = s;
        }
    }
    if (o < n_out) ss_gemv_naive_f32(n_out - o, n_in, y + o, W + (long)o * n_in, x);
}

__attribute__((target("avx2,fma")))
static void gemv_bf16_avx2(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    for (int o = 0; o < n_out; o++) {
        const uint16_t *w = W + (long)o * n_in;
        __m256 a = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= n_in; i += 8) {
            // bf16 → fp32: zero-extend to 32 bits and shift into the high half.
            __m128i h = _mm_loadu_si128((const __m128i *)(w + i));
            __m256 wf = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
            a = _mm256_fmadd_ps(wf, _mm256_loadu_ps(x + i), a);
        }
        float r[8];
        _mm256_storeu_ps(r, a);
        float s = r[0] + r[1] + r[2] + r[3] + r[4] + r[5] + r[6] + r[7];
        for (; i < n_in; i++) {
            uint32_t b = (uint32_t)w[i] << 16; float f; memcpy(&f, &b, 4);
            s += f * x[i];
        }
        y[o] = s;
    }
}

__attribute__((target("avx2,fma")))
static void gemv_sparse_avx2(int n_out, int n_in, float *y, const float *Wt, const float *x) {
    memset(y, 0, sizeof(float) * (size_t)n_out);
    for (int j = 0; j < n_in; j++) {
        float xj = x[j];
        if (xj == 0.0f) continue;  // event-driven: silent inputs read no weights
        const float *w = Wt + (long)j * n_out;
        __m256 s = _mm256_set1_ps(xj);
        int o = 0;
        for (; o + 8 <= n_out; o += 8)
            _mm256_storeu_ps(y + o, _mm256_fmadd_ps(s, _mm256_loadu_ps(w + o), _mm256_loadu_ps(y + o)));
        for (; o < n_out; o++) y[o] += xj * w[o];
    }
}

static int have_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#endif

void ss_gemv_f32(int n_out, int n_in, float *y, const float *W, const float *x) {
#ifdef SS_X86
    if (have_avx2()) { gemv_avx2(n_out, n_in, y, W, x); return; }
#endif
    ss_gemv_naive_f32(n_out, n_in, y, W, x);
}

void ss_gemv_bf16(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
#ifdef SS_X86
    if (have_avx2()) { gemv_bf16_avx2(n_out, n_in, y, W, x); return; }
#endif
    for (int o = 0; o < n_out; o++) {
        float s = 0;
        for (int i = 0; i < n_in; i++) {
            uint32_t b = (uint32_t)W[(long)o * n_in + i] << 16; float f; memcpy(&f, &b, 4);
            s += f * x[i];
        }
        y[o] = s;
    }
}

void ss_gemv_sparse_f32(int n_out, int n_in, float *y, const float *Wt, const float *x) {
#ifdef SS_X86
    if (have_avx2()) { gemv_sparse_avx2(n_out, n_in, y, Wt, x); return; }
#endif
    memset(y, 0, sizeof(float) * (size_t)n_out);
    for (int j = 0; j < n_in; j++) {
        if (x[j] == 0.0f) continue;
        for (int o = 0; o < n_out; o++) y[o] += x[j] * Wt[(long)j * n_out + o];
    }
}
