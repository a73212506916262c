// bf16rows.c — products with bf16 weights in the checkpoint's own layout, W[n_out, n_in]
// row-major, read in place (a read-only memory map of the file): nothing is repacked, and the
// GEMM converts only one block of rows at a time, so resident memory stays ≈ the file size.
//
// GEMV (batch-1 decode): four rows at a time share each load of x; the bf16 → fp32 widening is
// a zero-extension and a 16-bit shift. The whole product is one streaming read of W, so each of
// the four row streams gets a software prefetch rows_prefetch_elems (tuning.h) elements ahead.
// The summation order of a row is fixed (the "16-lane order"), the same on every path:
//   s[l] = fma(w[i], x[i], s[l]) for i = 16b + l over the full 16-blocks b in order (s = +0 first)
//   t[k] = s[k] + s[k+8] (k < 8);  u[k] = t[k] + t[k+4] (k < 4);  r = (u[0] + u[2]) + (u[1] + u[3])
//   r = fma(w[i], x[i], r) for the n_in % 16 tail elements in order
// AVX-512F holds s in one zmm per row; AVX2 in two ymm (elements 0–7 and 8–15 of each block), so
// its first reduction step is the add of the two; the scalar twin spells it out with fmaf. All
// three give the same bits (tested), and a row's bits do not depend on its neighbours, so any
// split of the rows (ss_gemv_batch) gives the same result as one call.
//
// GEMM (prefill, m tokens): up to 128 tokens (AVX-512; 32 with AVX2) the GEMV per token over
// L2-sized blocks of rows (W read from memory once); beyond, blocks of rows widened into a
// per-thread fp32 scratch and multiplied by the packed, register-blocked ss_gemm_f32 (gemm.c).
// Details and measurements at the GEMM below.
#include "bf16rows.h"
#include "kernels.h"
#include "tuning.h"
#include "thread_buffer.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

static inline float bf16f(uint16_t v) {
    uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4);
    return f;
}

// ---- portable twin -----------------------------------------------------------------------------

static float row_dot_scalar(int n, const uint16_t *w, const float *x) {
    float s[16] = { 0 };
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) s[l] = fmaf(bf16f(w[i + l]), x[i + l], s[l]);
    float t[8], u[4];
    for (int k = 0; k < 8; k++) t[k] = s[k] + s[k + 8];
    for (int k = 0; k < 4; k++) u[k] = t[k] + t[k + 4];
    float r = (u[0] + u[2]) + (u[1] + u[3]);
    for (; i < n; i++) r = fmaf(bf16f(w[i]), x[i], r);
    return r;
}

static void rows_scalar(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    for (int o = 0; o < n_out; o++) y[o] = row_dot_scalar(n_in, W + (long)o * n_in, x);
}

// ---- x86: AVX2+FMA and AVX-512F ----------------------------------------------------------------
#ifdef SS_X86

// Elements (of one row) ahead of the current position to prefetch: 2 KB per row stream, 8 KB
// for the four. Near a row's end the address moves on to the same row of the next 4-row group
// (+3 rows), which is what is read next, instead of into a row being read right now.
// Measured (one thread, 2048² and 8192×2048 streamed from DRAM on the 2-vCPU AMD EPYC VM with
// AVX-512, 1 MB L2, 32 MB L3; same-process A/B): no software prefetch 18–23 GB/s; 1024 elements
// with the move 27–29, without it 23–24; 512 or 2048 elements 21–25; 8 rows at a time, or a
// T1 or non-temporal hint, no better. The streaming-read probe gets 34–38 GB/s there.
// The distance is per CPU: tuning.h's rows_prefetch_elems (1024 on both machines measured so far).

static int cpu_avx2, cpu_avx512;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static void cpu_probe(void) {
    // __builtin_cpu_supports also checks that the OS saves the ymm/zmm state (XCR0).
    cpu_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    cpu_avx512 = cpu_avx2 && __builtin_cpu_supports("avx512f");
}
static inline void cpu_check(void) { pthread_once(&cpu_once, cpu_probe); }

static inline long pf_offset(int i, int n_in, long ahead) {
    return i + ahead < n_in ? ahead : ahead + 3L * n_in;
}

#ifdef SS_X86
// The line at element `pf` of each of the four row streams, into L1.
static inline void prefetch4(const uint16_t *w0, const uint16_t *w1, const uint16_t *w2, const uint16_t *w3, long pf) {
    _mm_prefetch((const char *)(w0 + pf), _MM_HINT_T0);
    _mm_prefetch((const char *)(w1 + pf), _MM_HINT_T0);
    _mm_prefetch((const char *)(w2 + pf), _MM_HINT_T0);
    _mm_prefetch((const char *)(w3 + pf), _MM_HINT_T0);
}
#endif

// r = (u0 + u2) + (u1 + u3) of u = lo4(t) + hi4(t), then the tail with FMAs.
__attribute__((target("avx2,fma")))
static inline float finish8(__m256 t, int i, int n, const uint16_t *w, const float *x) {
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));             // [u0 + u2, u1 + u3, ·, ·]
    __m128 r = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));
    for (; i < n; i++) r = _mm_fmadd_ss(_mm_set_ss(bf16f(w[i])), _mm_set_ss(x[i]), r);
    return _mm_cvtss_f32(r);
}

// 8 bf16 → 8 fp32: zero-extend to 32 bits, shift into the high half.
__attribute__((target("avx2,fma")))
static inline __m256 wide8(const uint16_t *w) {
    __m128i h = _mm_loadu_si128((const __m128i *)w);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

__attribute__((target("avx2,fma")))
static void rows_avx2(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    int o = 0;
    const long ahead = ss_tuning_current()->rows_prefetch_elems;
    for (; o + 4 <= n_out; o += 4) {
        const uint16_t *w0 = W + (long)o * n_in, *w1 = w0 + n_in, *w2 = w1 + n_in, *w3 = w2 + n_in;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;   // elements 0–7 of a block
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;                    // elements 8–15
        int i = 0;
#define SS_BLOCK(j)                                                                                \
        do {                                                                                       \
            __m256 xl = _mm256_loadu_ps(x + (j)), xh = _mm256_loadu_ps(x + (j) + 8);               \
            a0 = _mm256_fmadd_ps(wide8(w0 + (j)), xl, a0); b0 = _mm256_fmadd_ps(wide8(w0 + (j) + 8), xh, b0); \
            a1 = _mm256_fmadd_ps(wide8(w1 + (j)), xl, a1); b1 = _mm256_fmadd_ps(wide8(w1 + (j) + 8), xh, b1); \
            a2 = _mm256_fmadd_ps(wide8(w2 + (j)), xl, a2); b2 = _mm256_fmadd_ps(wide8(w2 + (j) + 8), xh, b2); \
            a3 = _mm256_fmadd_ps(wide8(w3 + (j)), xl, a3); b3 = _mm256_fmadd_ps(wide8(w3 + (j) + 8), xh, b3); \
        } while (0)
        for (; i + 32 <= n_in; i += 32) {   // one 64-byte line of each row per pass
            if (ahead) prefetch4(w0, w1, w2, w3, i + pf_offset(i, n_in, ahead));
            SS_BLOCK(i);
            SS_BLOCK(i + 16);
        }
        if (i + 16 <= n_in) { SS_BLOCK(i); i += 16; }
#undef SS_BLOCK
        y[o + 0] = finish8(_mm256_add_ps(a0, b0), i, n_in, w0, x);
        y[o + 1] = finish8(_mm256_add_ps(a1, b1), i, n_in, w1, x);
        y[o + 2] = finish8(_mm256_add_ps(a2, b2), i, n_in, w2, x);
        y[o + 3] = finish8(_mm256_add_ps(a3, b3), i, n_in, w3, x);
    }
    for (; o < n_out; o++) {   // the last n_out % 4 rows, one at a time, in the same order
        const uint16_t *w = W + (long)o * n_in;
        __m256 a = _mm256_setzero_ps(), b = a;
        int i = 0;
        for (; i + 16 <= n_in; i += 16) {
            a = _mm256_fmadd_ps(wide8(w + i), _mm256_loadu_ps(x + i), a);
            b = _mm256_fmadd_ps(wide8(w + i + 8), _mm256_loadu_ps(x + i + 8), b);
        }
        y[o] = finish8(_mm256_add_ps(a, b), i, n_in, w, x);
    }
}

// 16 bf16 → 16 fp32.
__attribute__((target("avx512f,avx2,fma")))
static inline __m512 wide16(const uint16_t *w) {
    __m256i h = _mm256_loadu_si256((const __m256i *)w);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// t[k] = s[k] + s[k+8], then as finish8.
__attribute__((target("avx512f,avx2,fma")))
static inline float finish16(__m512 s, int i, int n, const uint16_t *w, const float *x) {
    __m256 lo = _mm512_castps512_ps256(s);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));   // AVX-512F only
    return finish8(_mm256_add_ps(lo, hi), i, n, w, x);
}

__attribute__((target("avx512f,avx2,fma")))
static void rows_avx512(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    int o = 0;
    const long ahead = ss_tuning_current()->rows_prefetch_elems;
    for (; o + 4 <= n_out; o += 4) {
        const uint16_t *w0 = W + (long)o * n_in, *w1 = w0 + n_in, *w2 = w1 + n_in, *w3 = w2 + n_in;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
#define SS_BLOCK(j)                                                                                \
        do {                                                                                       \
            __m512 xv = _mm512_loadu_ps(x + (j));                                                  \
            a0 = _mm512_fmadd_ps(wide16(w0 + (j)), xv, a0);                                        \
            a1 = _mm512_fmadd_ps(wide16(w1 + (j)), xv, a1);                                        \
            a2 = _mm512_fmadd_ps(wide16(w2 + (j)), xv, a2);                                        \
            a3 = _mm512_fmadd_ps(wide16(w3 + (j)), xv, a3);                                        \
        } while (0)
        for (; i + 32 <= n_in; i += 32) {
            if (ahead) prefetch4(w0, w1, w2, w3, i + pf_offset(i, n_in, ahead));
            SS_BLOCK(i);
            SS_BLOCK(i + 16);
        }
        if (i + 16 <= n_in) { SS_BLOCK(i); i += 16; }
#undef SS_BLOCK
        y[o + 0] = finish16(a0, i, n_in, w0, x);
        y[o + 1] = finish16(a1, i, n_in, w1, x);
        y[o + 2] = finish16(a2, i, n_in, w2, x);
        y[o + 3] = finish16(a3, i, n_in, w3, x);
    }
    for (; o < n_out; o++) {
        const uint16_t *w = W + (long)o * n_in;
        __m512 a = _mm512_setzero_ps();
        int i = 0;
        for (; i + 16 <= n_in; i += 16) a = _mm512_fmadd_ps(wide16(w + i), _mm512_loadu_ps(x + i), a);
        y[o] = finish16(a, i, n_in, w, x);
    }
}
#endif

// ---- dispatch ----------------------------------------------------------------------------------

void ss_gemv_bf16_rows(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    if (n_out <= 0) return;
    if (ss_bf16_dot_get() && ss_gemv_bf16_rows_dot(n_out, n_in, y, W, x)) return;   // opt-in (bf16dot.c)
#ifdef SS_X86
    cpu_check();
    if (cpu_avx512) { rows_avx512(n_out, n_in, y, W, x); return; }
    if (cpu_avx2) { rows_avx2(n_out, n_in, y, W, x); return; }
#endif
    rows_scalar(n_out, n_in, y, W, x);
}

void ss_gemv_bf16_rows_portable(int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    if (n_out > 0) rows_scalar(n_out, n_in, y, W, x);
}

int ss_gemv_bf16_rows_on(int path, int n_out, int n_in, float *y, const uint16_t *W, const float *x) {
    if (path == SS_BF16_ROWS_PORTABLE) { ss_gemv_bf16_rows_portable(n_out, n_in, y, W, x); return 1; }
#ifdef SS_X86
    cpu_check();
    if (path == SS_BF16_ROWS_AVX2 && cpu_avx2) { if (n_out > 0) rows_avx2(n_out, n_in, y, W, x); return 1; }
    if (path == SS_BF16_ROWS_AVX512 && cpu_avx512) { if (n_out > 0) rows_avx512(n_out, n_in, y, W, x); return 1; }
#endif
    return 0;
}

const char *ss_bf16_rows_path(void) {
    if (ss_bf16_dot_get()) return "avx512bf16 dot (x rounded to bf16)";
#ifdef SS_X86
    cpu_check();
    if (cpu_avx512) return "avx512f";
    if (cpu_avx2) return "avx2-fma";
#endif
    return "portable";
}

// ---- GEMM (prefill) -----------------------------------------------------------------------------
// Two ways, picked by the number of tokens m (measured on the same VM, 4096² and 11008×4096
// matrices streamed from DRAM, one thread):
//  - m ≤ gemv_max_m(): W in row blocks of ≤ 256 KB (they stay in L2), each block's GEMV run for
//    every token before the next block is read. W comes from memory once; the m − 1 other passes
//    read L2. Same bits as ss_gemv_bf16_rows per token. The AVX-512 GEMV sustains ≈ 80–95 GFLOP/s
//    a core from L2, the AVX2 one ≈ 52–58, against the widened GEMM's 44 (m = 16) to 90 (m ≥ 256):
//    this way is faster up to m ≈ 128 (AVX-512) / 32 (AVX2).
//  - larger m: blocks of W rows widened (and transposed) into a per-thread fp32 scratch, then
//    ss_gemm_f32 (gemm.c): Y[:, block] = X · blockᵀ at the GEMM's speed. One block of W is
//    converted at a time, so the extra memory is the scratch: 2 MB a thread (16 rows when
//    n_in > 32768), besides ss_gemm_f32's own packing buffers.
// Blocks are shared by `threads` threads of the pool (threadpool.c); the shape alone fixes the
// blocks, so the bits never depend on `threads`.

static int gemv_max_m(void) {
#ifdef SS_X86
    cpu_check();
    if (cpu_avx512) return 128;
    if (cpu_avx2) return 32;
#endif
    return 1;
}

int ss_bf16_rows_gemv_max_m(void) { return gemv_max_m(); }

// Bytes of W per block of the GEMV way: well inside a 512 KB–1 MB L2 next to x and y.
#define GEMV_BLOCK_BYTES (256 * 1024)

// Scratch budget per thread for one widened block of the GEMM way (floats): 2 MB.
#ifndef BLOCK_FLOATS
#define BLOCK_FLOATS (512 * 1024)
#endif

// This thread's scratch of at least n floats (64-byte aligned), or NULL when out of memory.
static float *scratch_get(size_t n) { return ss_thread_buffer(SS_TBUF_BF16_WIDEN, n * sizeof(float)); }

// Rows per block of the GEMM way: the scratch budget over n_in, a multiple of 16 (the GEMM's
// column tile) in [16, 256], and no more than a quarter of the outputs (rounded up to 16) so two
// threads get several blocks each.
static int gemm_block_rows(int n_out, int n_in) {
    long nb = BLOCK_FLOATS / n_in / 16 * 16;
    if (nb > 256) nb = 256;
    long quarter = ((long)n_out + 3) / 4;
    quarter = (quarter + 15) / 16 * 16;
    if (nb > quarter) nb = quarter;
    if (nb < 16) nb = 16;
    return (int)nb;
}

// Rows per block of the GEMV way: GEMV_BLOCK_BYTES of W, a multiple of 4 (the kernels' row group).
static int gemv_block_rows(int n_in) {
    long r = GEMV_BLOCK_BYTES / (2L * n_in) / 4 * 4;
    return r < 4 ? 4 : (r > (1 << 20) ? (1 << 20) : (int)r);
}

// T[k, c] = W[c, k] as fp32 for a block of nb rows (T row stride nb): the block transposed, so
// the GEMM reads it as an untransposed B, whose packing copies 16-float rows (packing a
// transposed B gathers one float at a time and cost 3× the widening, measured).
// Rows c0 ..< c1, depths k0 ..< k1 of it.
static void widen_t_part(int nb, int K, int c0, int c1, int k0, int k1, float *T, const uint16_t *W) {
    for (int k = k0; k < k1; k++)
        for (int c = c0; c < c1; c++) T[(size_t)k * nb + c] = bf16f(W[(size_t)c * K + k]);
}

#ifdef SS_X86
// 8×8 tiles: eight rows of 8 bf16 widened, transposed in registers, stored as 8 rows of T.
__attribute__((target("avx2,fma")))
static void widen_t_avx2(int nb, int K, float *T, const uint16_t *W) {
    int n8 = nb / 8 * 8, k8 = K / 8 * 8;
    for (int k = 0; k < k8; k += 8)   // k outer: the nb·16 bytes of W a pass reads stay in L1
        for (int c = 0; c < n8; c += 8) {
            const uint16_t *w = W + (size_t)c * K + k;
            __m256 r0 = wide8(w), r1 = wide8(w + K), r2 = wide8(w + 2L * K), r3 = wide8(w + 3L * K);
            __m256 r4 = wide8(w + 4L * K), r5 = wide8(w + 5L * K), r6 = wide8(w + 6L * K), r7 = wide8(w + 7L * K);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = T + (size_t)k * nb + c;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(d + nb, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(d + 2L * nb, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(d + 3L * nb, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(d + 4L * nb, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(d + 5L * nb, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(d + 6L * nb, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(d + 7L * nb, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
    widen_t_part(nb, K, n8, nb, 0, K, T, W);    // rows past the last full 8, all depths
    widen_t_part(nb, K, 0, n8, k8, K, T, W);    // depths past the last full 8, the other rows
}
#endif

static void widen_t(int nb, int K, float *T, const uint16_t *W) {
#ifdef SS_X86
    cpu_check();
    if (cpu_avx2) { widen_t_avx2(nb, K, T, W); return; }
#endif
    widen_t_part(nb, K, 0, nb, 0, K, T, W);
}

typedef struct {
    int m, n_out, n_in, ldy, ldx, nb, blocks, lanes, gemv;
    float *Y;
    const float *X;
    const uint16_t *W;
    atomic_int next;
} gemm_ctx;

static void gemm_block(const gemm_ctx *c, int b) {
    int o0 = b * c->nb, nb = c->n_out - o0 < c->nb ? c->n_out - o0 : c->nb;
    const uint16_t *Wb = c->W + (size_t)o0 * (size_t)c->n_in;
    float *S = c->gemv ? NULL : scratch_get((size_t)c->nb * (size_t)c->n_in);
    if (!S) {   // the GEMV way (or out of memory for the scratch: slower, still right)
        for (int t = 0; t < c->m; t++)
            ss_gemv_bf16_rows(nb, c->n_in, c->Y + (size_t)t * c->ldy + o0, Wb, c->X + (size_t)t * c->ldx);
        return;
    }
    widen_t(nb, c->n_in, S, Wb);
    // Y[:, o0 ..< o0+nb] = X · S (S = blockᵀ). Runs serially: this thread is a task of the pool's
    // current job (or the pool is busy), so ss_gemm_f32's own ss_parallel_run finds it owned.
    ss_gemm_f32(0, 0, c->m, nb, c->n_in, 1.0f, c->X, c->ldx, S, nb, 0.0f, c->Y + o0, c->ldy);
}

// Task t < lanes claims blocks until none are left; tasks past `lanes` only exist to make the
// pool's job have two tasks when threads = 1 (see ss_gemm_bf16_rows) and do nothing.
static void gemm_lane(void *vctx, int t) {
    gemm_ctx *c = vctx;
    if (t >= c->lanes) return;
    for (;;) {
        int b = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
        if (b >= c->blocks) return;
        gemm_block(c, b);
    }
}

void ss_gemm_bf16_rows(int m, int n_out, int n_in, float *Y, int ldy, const float *X, int ldx,
                       const uint16_t *W, int threads) {
    if (m <= 0 || n_out <= 0) return;
    if (n_in <= 0) {
        for (int t = 0; t < m; t++) memset(Y + (size_t)t * ldy, 0, sizeof(float) * (size_t)n_out);
        return;
    }
    if (ss_bf16_dot_get()) {   // opt-in (bf16dot.c); out of memory there: the fp32-activation way below
        if (m == 1 ? ss_gemv_bf16_rows_dot(n_out, n_in, Y, W, X)
                   : ss_gemm_bf16_rows_dot(m, n_out, n_in, Y, ldy, X, ldx, W, threads)) return;
    }
    gemm_ctx c = { m, n_out, n_in, ldy, ldx, 0, 0, threads < 1 ? 1 : threads, m <= gemv_max_m(), Y, X, W, 0 };
    c.nb = c.gemv ? gemv_block_rows(n_in) : gemm_block_rows(n_out, n_in);
    c.blocks = (n_out + c.nb - 1) / c.nb;
    if (c.lanes > c.blocks) c.lanes = c.blocks;
    if (c.gemv && c.lanes == 1) { gemm_lane(&c, 0); return; }
    // A pool job of at least two tasks: while it runs the pool is owned, so every nested
    // ss_gemm_f32 is serial and `threads` bounds the threads really used (with threads = 1 a free
    // pool may run the one working task on its worker; still one thread computing).
    ss_parallel_run(c.lanes < 2 ? 2 : c.lanes, gemm_lane, &c);
}
