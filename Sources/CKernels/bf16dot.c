// bf16dot.c — products with bf16 weights by the AVX-512 BF16 dot-product instruction (vdpbf16ps),
// an opt-in numerics mode for bf16 row-major weights (bf16rows.h: ss_bf16_dot_set).
//
// What changes: x (the activations) is rounded to bf16 (round to nearest even, as
// vcvtne2ps2bf16 does), and each instruction adds two products w·x of bf16 pairs to an fp32
// accumulator (the products are exact in fp32; vdpbf16ps flushes denormal inputs and results to
// zero). So y moves by at most ~2⁻⁸·Σ|w·x| from the fp32-activation kernels of bf16rows.c (x's
// rounding, 2⁻⁹ relative, plus the fp32 sums), and the result is no longer the bits of those
// kernels. The default stays off: every other path of spikescope keeps its scalar twin's bits.
// What it buys (BENCHMARKS.md, issue 21): the decoding GEMV reads the same bytes with a quarter of
// the instructions; the prefill GEMM does twice the multiply-adds per instruction.
//
//   GEMV: 4 rows at a time, 32 inputs (16 pairs) per register, two accumulators per row, then the
//         lanes summed; an odd last input is added in fp32 (its product is exact).
//   GEMM: X is packed once into 12-row slivers of bf16 pairs, W per task into 16-output slivers
//         of pairs (64 outputs a task); a 12×16 micro-kernel of 12 zmm accumulators runs the whole
//         depth (one chain per output). Which thread computes an output never changes its bits.

#include "bf16rows.h"
#include "kernels.h"
#include "tuning.h"
#include "thread_buffer.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

static int g_have = 0, g_on = 0;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void probe(void) {
#ifdef SS_X86
    __builtin_cpu_init();
    g_have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") &&
             __builtin_cpu_supports("avx512bw") && !getenv("SPIKESCOPE_NO_AVX512");
#endif
}

int ss_bf16_dot_available(void) { pthread_once(&g_once, probe); return g_have; }
int ss_bf16_dot_set(int on) { pthread_once(&g_once, probe); g_on = on && g_have; return g_on == (on != 0); }
int ss_bf16_dot_get(void) { return g_on; }

// This thread's buffer of at least n 32-bit words (pairs; 16 spare), 64-byte aligned, or NULL.
static uint32_t *thread_words(size_t n) { return ss_thread_buffer(SS_TBUF_BF16_DOT, (n + 16) * sizeof(uint32_t)); }

#ifdef SS_X86
// dst[0 ..< ⌈n/2⌉] = x as bf16 pairs (element 2k in the low half), a zero high half past n.
__attribute__((target("avx512f,avx512bf16,avx512bw")))
static void pairs(int n, const float *x, uint32_t *dst) {
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(dst + i / 2), (__m512i)v);
    }
    if (i < n) {
        __mmask16 lo = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        __mmask16 hi = (__mmask16)(n - i - 16 >= 16 ? 0xFFFF : n - i > 16 ? (1u << (n - i - 16)) - 1 : 0);
        __m512 a = _mm512_maskz_loadu_ps(lo, x + i), b = _mm512_maskz_loadu_ps(hi, x + i + 16);
        __m512bh v = _mm512_cvtne2ps_pbh(b, a);
        int words = (n - i + 1) / 2;
        _mm512_mask_storeu_epi32(dst + i / 2, (__mmask16)((1u << words) - 1), (__m512i)v);
    }
}

static inline float bf16f(uint16_t v) { uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4); return f; }
static inline float bf16_of_pair_lo(uint32_t w) { return bf16f((uint16_t)(w & 0xFFFF)); }

// y[o] for rows o0..<o1 from the pairs xb of x (n_in inputs; W rows read as 32-bit pairs).
__attribute__((target("avx512f,avx512bf16,avx512bw")))
static void rows_dot(int o0, int o1, int n_in, float *y, const uint16_t *W, const uint32_t *xb) {
    int k2 = n_in / 2, odd = n_in & 1;
    const long ahead = ss_tuning_current()->rows_prefetch_elems;
    int o = o0;
    for (; o < o1; o += 4) {
        int rows = o1 - o < 4 ? o1 - o : 4;
        const uint16_t *w[4];
        for (int r = 0; r < 4; r++) w[r] = W + (size_t)(o + (r < rows ? r : 0)) * n_in;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int k = 0;
        for (; k + 32 <= k2; k += 32) {
            if (ahead) {   // as the default row kernel: each stream's line `ahead` elements on (near a
                           // row's end, the same row of the next 4-row group), both lines of this step
                long e = 2L * k, pf = e + ahead < n_in ? e + ahead : e + ahead + 3L * n_in;
                for (int r = 0; r < 4; r++) {
                    _mm_prefetch((const char *)(w[r] + pf), _MM_HINT_T0);
                    _mm_prefetch((const char *)(w[r] + pf + 32), _MM_HINT_T0);
                }
            }
            __m512bh x0 = (__m512bh)_mm512_loadu_si512(xb + k), x1 = (__m512bh)_mm512_loadu_si512(xb + k + 16);
#define SS_ROW(r, A, B)                                                                               \
            A = _mm512_dpbf16_ps(A, (__m512bh)_mm512_loadu_si512((const uint32_t *)w[r] + k), x0);   \
            B = _mm512_dpbf16_ps(B, (__m512bh)_mm512_loadu_si512((const uint32_t *)w[r] + k + 16), x1);
            SS_ROW(0, a0, b0) SS_ROW(1, a1, b1) SS_ROW(2, a2, b2) SS_ROW(3, a3, b3)
#undef SS_ROW
        }
        for (; k < k2; k += 16) {
            __mmask16 m = (__mmask16)(k2 - k >= 16 ? 0xFFFF : (1u << (k2 - k)) - 1);
            __m512bh x0 = (__m512bh)_mm512_maskz_loadu_epi32(m, xb + k);
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi32(m, (const uint32_t *)w[0] + k), x0);
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_maskz_loadu_epi32(m, (const uint32_t *)w[1] + k), x0);
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_maskz_loadu_epi32(m, (const uint32_t *)w[2] + k), x0);
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_maskz_loadu_epi32(m, (const uint32_t *)w[3] + k), x0);
        }
        float s[4] = { _mm512_reduce_add_ps(_mm512_add_ps(a0, b0)), _mm512_reduce_add_ps(_mm512_add_ps(a1, b1)),
                       _mm512_reduce_add_ps(_mm512_add_ps(a2, b2)), _mm512_reduce_add_ps(_mm512_add_ps(a3, b3)) };
        for (int r = 0; r < rows; r++) {
            if (odd) s[r] += bf16f(w[r][n_in - 1]) * bf16_of_pair_lo(xb[k2]);
            y[o + r] = s[r];
        }
    }
}
#endif

int ss_gemv_bf16_rows_dot(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    if (!ss_bf16_dot_available()) return 0;
#ifdef SS_X86
    if (n_out <= 0) return 1;
    uint32_t *xb = thread_words((size_t)n_in / 2 + 1);
    if (!xb) return 0;
    pairs(n_in, x, xb);
    rows_dot(0, n_out, n_in, y, W, xb);
    return 1;
#else
    (void)n_in; (void)y; (void)W; (void)x;
    return 0;
#endif
}

// ---- GEMM ---------------------------------------------------------------------------------------
#define DOT_MR 12
#define DOT_NR 16
#define DOT_TASK_COLS 64   // outputs per task (4 slivers)

#ifdef SS_X86
__attribute__((target("avx512f,avx512bf16,avx512bw")))
static void ukr_dot(int k2, const uint32_t *a, const uint32_t *b, float *c, int ldc, int rows, int cols) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (int k = 0; k < k2; k++, a += DOT_MR, b += DOT_NR) {
        __m512bh bv = (__m512bh)_mm512_load_si512((const void *)b);
#define SS_D(r, C) C = _mm512_dpbf16_ps(C, (__m512bh)_mm512_set1_epi32((int)a[r]), bv);
        SS_D(0, c0) SS_D(1, c1) SS_D(2, c2) SS_D(3, c3) SS_D(4, c4) SS_D(5, c5)
        SS_D(6, c6) SS_D(7, c7) SS_D(8, c8) SS_D(9, c9) SS_D(10, c10) SS_D(11, c11)
#undef SS_D
    }
    __m512 acc[DOT_MR] = { c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 };
    __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, m, acc[r]);
}

typedef struct {
    int m, n_out, n_in, k2, kp, ldy, odd;
    float *Y;
    const uint16_t *W;
    const uint32_t *A;   // packed X: ⌈m/12⌉ slivers of [kp][12] pairs (kp = k2, plus 1 for an odd depth)
    atomic_int failed;   // a task could not get its W buffer (out of memory)
} dot_job;

// Outputs [t·64, t·64 + 64): pack their W rows as 16-output slivers of pairs, then every X sliver.
__attribute__((target("avx512f,avx512bf16,avx512bw")))
static void dot_task(void *ctx, int t) {
    dot_job *j = ctx;
    int o0 = t * DOT_TASK_COLS, o1 = o0 + DOT_TASK_COLS < j->n_out ? o0 + DOT_TASK_COLS : j->n_out;
    int slivers = (o1 - o0 + DOT_NR - 1) / DOT_NR;
    uint32_t *B = thread_words((size_t)slivers * (size_t)j->k2 * DOT_NR);
    if (!B) { atomic_store(&j->failed, 1); return; }
    for (int s = 0; s < slivers; s++) {
        uint32_t *bs = B + (size_t)s * j->k2 * DOT_NR;
        for (int n = 0; n < DOT_NR; n++) {
            int o = o0 + s * DOT_NR + n;
            const uint32_t *w = o < o1 ? (const uint32_t *)(j->W + (size_t)o * j->n_in) : NULL;
            for (int k = 0; k < j->k2; k++) bs[(size_t)k * DOT_NR + n] = w ? w[k] : 0;
        }
    }
    for (int r0 = 0; r0 < j->m; r0 += DOT_MR) {
        int rows = j->m - r0 < DOT_MR ? j->m - r0 : DOT_MR;
        const uint32_t *a = j->A + (size_t)(r0 / DOT_MR) * j->kp * DOT_MR;
        for (int s = 0; s < slivers; s++) {
            int c0 = o0 + s * DOT_NR, cols = o1 - c0 < DOT_NR ? o1 - c0 : DOT_NR;
            float *c = j->Y + (size_t)r0 * j->ldy + c0;
            ukr_dot(j->k2, a, B + (size_t)s * j->k2 * DOT_NR, c, j->ldy, rows, cols);
            if (j->odd)   // the last input of an odd depth: its products, exact in fp32, added last
                for (int r = 0; r < rows; r++) {
                    float xv = bf16_of_pair_lo(a[(size_t)j->k2 * DOT_MR + r]);
                    for (int n = 0; n < cols; n++)
                        c[(size_t)r * j->ldy + n] += bf16f(j->W[(size_t)(c0 + n) * j->n_in + j->n_in - 1]) * xv;
                }
        }
    }
}
#endif

int ss_gemm_bf16_rows_dot(int m, int n_out, int n_in, float *Y, int ldy, const float *X, int ldx,
                          const uint16_t *W, int threads) {
    if (!ss_bf16_dot_available()) return 0;
#ifdef SS_X86
    if (m <= 0 || n_out <= 0) return 1;
    if (n_in <= 0) {
        for (int t = 0; t < m; t++) memset(Y + (size_t)t * ldy, 0, sizeof(float) * (size_t)n_out);
        return 1;
    }
    int k2 = n_in / 2, odd = n_in & 1, kp = k2 + odd;
    int sl = (m + DOT_MR - 1) / DOT_MR;
    uint32_t *A = NULL, *row = NULL;
    if (posix_memalign((void **)&A, 64, (size_t)sl * kp * DOT_MR * sizeof(uint32_t) + 64) != 0) return 0;
    if (posix_memalign((void **)&row, 64, ((size_t)kp + 16) * sizeof(uint32_t)) != 0) { free(A); return 0; }
    memset(A, 0, (size_t)sl * kp * DOT_MR * sizeof(uint32_t));   // rows past m: zero pairs
    for (int r = 0; r < m; r++) {
        pairs(n_in, X + (size_t)r * ldx, row);
        uint32_t *dst = A + (size_t)(r / DOT_MR) * kp * DOT_MR + r % DOT_MR;
        for (int k = 0; k < kp; k++) dst[(size_t)k * DOT_MR] = row[k];
    }
    free(row);
    dot_job j = { m, n_out, n_in, k2, kp, ldy, odd, Y, W, A, 0 };
    int tasks = (n_out + DOT_TASK_COLS - 1) / DOT_TASK_COLS;
    // Small products stay on the calling thread (waking the pool costs more than they do).
    if (threads <= 1 || tasks < 2 || (double)m * n_out * n_in < (double)(1 << 20)) for (int t = 0; t < tasks; t++) dot_task(&j, t);
    else ss_parallel_run(tasks, dot_task, &j);
    free(A);
    return atomic_load(&j.failed) ? 0 : 1;
#else
    (void)m; (void)n_out; (void)n_in; (void)Y; (void)ldy; (void)X; (void)ldx; (void)W; (void)threads;
    return 0;
#endif
}
