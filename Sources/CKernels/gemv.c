// gemv.c — matrix-vector kernels for batch-1 inference. Each has a scalar twin or reduces to one.
#include "gemv.h"
#include "bf16rows.h"
#include "tuning.h"
#include <string.h>
#include <stdlib.h>
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

static inline float bf16_to_f32(uint16_t v) {
    uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4);
    return f;
}

void ss_gemv_naive_f32(int n_out, int n_in, float *y, const float *W, const float *x) {
    for (int o = 0; o < n_out; o++) {
        float acc = 0;  // y[o] = Σ_i W[o][i]·x[i]
        for (int i = 0; i < n_in; i++) acc += W[(long)o * n_in + i] * x[i];
        y[o] = acc;
    }
}

#ifdef SS_X86
static int have_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}

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

// bf16 → fp32 of 8 weights: zero-extend to 32 bits and shift into the high half.
__attribute__((target("avx2,fma")))
static inline __m256 bf16x8(const uint16_t *w) {
    __m128i h = _mm_loadu_si128((const __m128i *)w);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}


__attribute__((target("avx2,fma")))
static float hsum8(__m256 a) {
    float r[8];
    _mm256_storeu_ps(r, a);
    return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
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

#endif

// ---- bf16 panels: W[out, in] regrouped so a batch-1 product reads one sequential stream ----
// Panel p holds outputs 32p ..< 32p+32 for every input i: 64 bytes (one cache line) per i, two
// 16-value groups of 32 bytes. In group g the 32-bit word k holds output 16g+k in its low half
// and 16g+8+k in its high half, so a shift and a mask turn one 32-byte load into two fp32 vectors
// of consecutive outputs — cheaper than widening 8 values at a time (the first session's row-wise
// bf16 kernel), and one sequential stream instead of four row streams. Outputs past n_out in the last panel are zero weights.

// The software prefetch distance is per CPU (tuning.h: panel_prefetch_bytes, 3 KB on Zen 3).

long ss_bf16_panel_count(int n_out, int n_in) { return (long)((n_out + 31) / 32) * n_in * 32; }

static inline long panel_slot(int o, int i, int n_in) {
    int p = o / 32, r = o % 32, g = r / 16, q = r % 16;
    int k = q % 8, hi = q / 8;
    return ((long)p * n_in + i) * 32 + g * 16 + 2 * k + hi;
}

void ss_bf16_panel_pack(int n_out, int n_in, uint16_t *dst, const uint16_t *W) {
    memset(dst, 0, sizeof(uint16_t) * (size_t)ss_bf16_panel_count(n_out, n_in));
    for (int o = 0; o < n_out; o++)
        for (int i = 0; i < n_in; i++) dst[panel_slot(o, i, n_in)] = W[(long)o * n_in + i];
}

// Scalar twin of panel_range_avx2: same layout walk, same two chains (even and odd i), same bits
// when the compiler contracts a·b + c to an FMA as the vector path does (fmaf makes it explicit).
static void panel_range_scalar(int n_out, int p0, int p1, int n_in, float *y, const uint16_t *P, const float *x) {
    for (int p = p0; p < p1; p++) {
        const uint16_t *w = P + (long)p * n_in * 32;
        float a[32] = { 0 }, b[32] = { 0 };
        for (int i = 0; i < n_in; i++) {
            const uint16_t *wi = w + (long)i * 32;
            float *acc = (i & 1) ? b : a;
            for (int g = 0; g < 2; g++)
                for (int k = 0; k < 8; k++) {
                    acc[16 * g + k] = fmaf(bf16_to_f32(wi[16 * g + 2 * k]), x[i], acc[16 * g + k]);
                    acc[16 * g + 8 + k] = fmaf(bf16_to_f32(wi[16 * g + 2 * k + 1]), x[i], acc[16 * g + 8 + k]);
                }
        }
        for (int r = 0; r < 32 && p * 32 + r < n_out; r++) y[p * 32 + r] = a[r] + b[r];
    }
}

#ifdef SS_X86
__attribute__((target("avx2,fma")))
static void panel_range_avx2(int n_out, int p0, int p1, int n_in, float *y, const uint16_t *P, const float *x) {
    const __m256i mask = _mm256_set1_epi32((int)0xFFFF0000u);
    const long pf = ss_tuning_current()->panel_prefetch_bytes / 2;   // in bf16 elements
    for (int p = p0; p < p1; p++) {
        const uint16_t *w = P + (long)p * n_in * 32;
        // Two sets of four accumulators (even and odd i) keep eight FMA chains in flight.
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int i = 0;
        for (; i + 2 <= n_in; i += 2) {
            const uint16_t *wi = w + (long)i * 32;
            // Ask for the lines 3 KB ahead with the non-temporal hint: measured 15–25% faster
            // than the hardware prefetcher alone (BENCHMARKS.md); T0 prefetches were slower.
            if (pf) {
                _mm_prefetch((const char *)(wi + pf), _MM_HINT_NTA);
                _mm_prefetch((const char *)(wi + pf + 32), _MM_HINT_NTA);
            }
            __m256 xa = _mm256_broadcast_ss(x + i), xb = _mm256_broadcast_ss(x + i + 1);
            __m256i l0 = _mm256_load_si256((const __m256i *)wi), l1 = _mm256_load_si256((const __m256i *)(wi + 16));
            __m256i m0 = _mm256_load_si256((const __m256i *)(wi + 32)), m1 = _mm256_load_si256((const __m256i *)(wi + 48));
            a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l0, 16)), xa, a0);
            a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l0, mask)), xa, a1);
            a2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l1, 16)), xa, a2);
            a3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l1, mask)), xa, a3);
            b0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(m0, 16)), xb, b0);
            b1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(m0, mask)), xb, b1);
            b2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(m1, 16)), xb, b2);
            b3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(m1, mask)), xb, b3);
        }
        if (i < n_in) {
            const uint16_t *wi = w + (long)i * 32;
            __m256 xa = _mm256_broadcast_ss(x + i);
            __m256i l0 = _mm256_load_si256((const __m256i *)wi), l1 = _mm256_load_si256((const __m256i *)(wi + 16));
            a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l0, 16)), xa, a0);
            a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l0, mask)), xa, a1);
            a2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l1, 16)), xa, a2);
            a3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l1, mask)), xa, a3);
        }
        float r[32];
        _mm256_storeu_ps(r, _mm256_add_ps(a0, b0)); _mm256_storeu_ps(r + 8, _mm256_add_ps(a1, b1));
        _mm256_storeu_ps(r + 16, _mm256_add_ps(a2, b2)); _mm256_storeu_ps(r + 24, _mm256_add_ps(a3, b3));
        int o0 = p * 32, n = n_out - o0 < 32 ? n_out - o0 : 32;
        memcpy(y + o0, r, sizeof(float) * (size_t)n);
    }
}
#endif

#ifdef SS_X86
// AVX-512F twin of panel_range_avx2: one 64-byte line per input is one zmm; its 32-bit words
// 0–7 are group 0 and 8–15 group 1, so the shift gives outputs {0–7, 16–23} and the mask
// {8–15, 24–31} of the panel. The same even/odd-i chains and final a + b per output as the AVX2
// kernel: the same bits, with half the instructions per line (tests compare the paths).
static int have_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = have_avx2() && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512");
    return cached;
}

__attribute__((target("avx512f,avx2,fma")))
static void panel_range_avx512(int n_out, int p0, int p1, int n_in, float *y, const uint16_t *P, const float *x) {
    const __m512i mask = _mm512_set1_epi32((int)0xFFFF0000u);
    const long pf = ss_tuning_current()->panel_prefetch_bytes / 2;   // in bf16 elements
    for (int p = p0; p < p1; p++) {
        const uint16_t *w = P + (long)p * n_in * 32;
        __m512 alo = _mm512_setzero_ps(), ahi = alo, blo = alo, bhi = alo;
        int i = 0;
        for (; i + 2 <= n_in; i += 2) {
            const uint16_t *wi = w + (long)i * 32;
            if (pf) {
                _mm_prefetch((const char *)(wi + pf), _MM_HINT_NTA);
                _mm_prefetch((const char *)(wi + pf + 32), _MM_HINT_NTA);
            }
            __m512 xa = _mm512_set1_ps(x[i]), xb = _mm512_set1_ps(x[i + 1]);
            __m512i l = _mm512_load_si512((const void *)wi), m = _mm512_load_si512((const void *)(wi + 32));
            alo = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(l, 16)), xa, alo);
            ahi = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(l, mask)), xa, ahi);
            blo = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(m, 16)), xb, blo);
            bhi = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(m, mask)), xb, bhi);
        }
        if (i < n_in) {
            const uint16_t *wi = w + (long)i * 32;
            __m512 xa = _mm512_set1_ps(x[i]);
            __m512i l = _mm512_load_si512((const void *)wi);
            alo = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(l, 16)), xa, alo);
            ahi = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(l, mask)), xa, ahi);
        }
        float lo[16], hi[16], r[32];
        _mm512_storeu_ps(lo, _mm512_add_ps(alo, blo));
        _mm512_storeu_ps(hi, _mm512_add_ps(ahi, bhi));
        memcpy(r, lo, 32); memcpy(r + 8, hi, 32); memcpy(r + 16, lo + 8, 32); memcpy(r + 24, hi + 8, 32);
        int o0 = p * 32, n = n_out - o0 < 32 ? n_out - o0 : 32;
        memcpy(y + o0, r, sizeof(float) * (size_t)n);
    }
}
#endif

static void panel_range(int n_out, int p0, int p1, int n_in, float *y, const uint16_t *P, const float *x) {
#ifdef SS_X86
    if (have_avx512()) { panel_range_avx512(n_out, p0, p1, n_in, y, P, x); return; }
    if (have_avx2()) { panel_range_avx2(n_out, p0, p1, n_in, y, P, x); return; }
#endif
    panel_range_scalar(n_out, p0, p1, n_in, y, P, x);
}

int ss_gemv_bf16_panel_on(int path, int n_out, int n_in, float *y, const uint16_t *P, const float *x) {
    int np = (n_out + 31) / 32;
    switch (path) {
    case 0: panel_range_scalar(n_out, 0, np, n_in, y, P, x); return 1;
#ifdef SS_X86
    case 1: if (!have_avx2()) return 0; panel_range_avx2(n_out, 0, np, n_in, y, P, x); return 1;
    case 2: if (!have_avx512()) return 0; panel_range_avx512(n_out, 0, np, n_in, y, P, x); return 1;
#endif
    default: return 0;
    }
}

const char *ss_gemv_f32_path(void) {
#ifdef SS_X86
    if (have_avx2()) return "avx2-fma";
#endif
    return "portable";
}

const char *ss_bf16_panel_path(void) {
#ifdef SS_X86
    if (have_avx512()) return "avx512f";
    if (have_avx2()) return "avx2-fma";
#endif
    return "portable";
}

void ss_gemv_bf16_panel(int n_out, int n_in, float *y, const uint16_t *P, const float *x) {
    panel_range(n_out, 0, (n_out + 31) / 32, n_in, y, P, x);
}

void ss_gemv_bf16_panel_portable(int n_out, int n_in, float *y, const uint16_t *P, const float *x) {
    panel_range_scalar(n_out, 0, (n_out + 31) / 32, n_in, y, P, x);
}


void ss_gemv_f32(int n_out, int n_in, float *y, const float *W, const float *x) {
#ifdef SS_X86
    if (have_avx2()) { gemv_avx2(n_out, n_in, y, W, x); return; }
#endif
    ss_gemv_naive_f32(n_out, n_in, y, W, x);
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

// ---------------------------------------------------------------------------------------------
// Event-driven GEMV over a column range, f32 or bf16 weights, and the two-thread batch runner.
//
// y[o] = Σ_{j: x_j ≠ 0} x_j · Wt[j, o]  for o in [o0, o1)   (Wt is [n_in, n_out], row stride n_out)
// Four active rows are added per pass so each 8-wide slice of y is loaded and stored once per
// four rows instead of once per row.

static inline float wt_at(const void *Wt, int bf16, long i) {
    return bf16 ? bf16_to_f32(((const uint16_t *)Wt)[i]) : ((const float *)Wt)[i];
}

static void sparse_range_scalar(int n_out, int o0, int o1, int n_in, float *y, const void *Wt, int bf16,
                                const float *x) {
    for (int o = o0; o < o1; o++) y[o] = 0;
    for (int j = 0; j < n_in; j++) {
        if (x[j] == 0.0f) continue;
        for (int o = o0; o < o1; o++) y[o] += x[j] * wt_at(Wt, bf16, (long)j * n_out + o);
    }
}

#ifdef SS_X86
__attribute__((target("avx2,fma")))
static inline __m256 wt8(const void *Wt, int bf16, long i) {
    return bf16 ? bf16x8((const uint16_t *)Wt + i) : _mm256_loadu_ps((const float *)Wt + i);
}

__attribute__((target("avx2,fma")))
static void sparse_range_avx2(int n_out, int o0, int o1, int n_in, float *y, const void *Wt, int bf16,
                              const float *x) {
    for (int o = o0; o < o1; o++) y[o] = 0;
    int idx[4], m = 0;
    for (int j = 0; j <= n_in; j++) {
        if (j < n_in) {
            if (x[j] == 0.0f) continue;  // silent input: its weight row is never read
            idx[m++] = j;
            if (m < 4) continue;
        }
        if (m == 0) break;
        if (m == 4) {
            __m256 s0 = _mm256_set1_ps(x[idx[0]]), s1 = _mm256_set1_ps(x[idx[1]]);
            __m256 s2 = _mm256_set1_ps(x[idx[2]]), s3 = _mm256_set1_ps(x[idx[3]]);
            long r0 = (long)idx[0] * n_out, r1 = (long)idx[1] * n_out, r2 = (long)idx[2] * n_out, r3 = (long)idx[3] * n_out;
            int o = o0;
            for (; o + 8 <= o1; o += 8) {
                __m256 acc = _mm256_loadu_ps(y + o);
                acc = _mm256_fmadd_ps(s0, wt8(Wt, bf16, r0 + o), acc);
                acc = _mm256_fmadd_ps(s1, wt8(Wt, bf16, r1 + o), acc);
                acc = _mm256_fmadd_ps(s2, wt8(Wt, bf16, r2 + o), acc);
                acc = _mm256_fmadd_ps(s3, wt8(Wt, bf16, r3 + o), acc);
                _mm256_storeu_ps(y + o, acc);
            }
            for (; o < o1; o++)
                y[o] = (((y[o] + x[idx[0]] * wt_at(Wt, bf16, r0 + o)) + x[idx[1]] * wt_at(Wt, bf16, r1 + o))
                        + x[idx[2]] * wt_at(Wt, bf16, r2 + o)) + x[idx[3]] * wt_at(Wt, bf16, r3 + o);
        } else {
            for (int q = 0; q < m; q++) {
                __m256 s = _mm256_set1_ps(x[idx[q]]);
                long r = (long)idx[q] * n_out;
                int o = o0;
                for (; o + 8 <= o1; o += 8)
                    _mm256_storeu_ps(y + o, _mm256_fmadd_ps(s, wt8(Wt, bf16, r + o), _mm256_loadu_ps(y + o)));
                for (; o < o1; o++) y[o] += x[idx[q]] * wt_at(Wt, bf16, r + o);
            }
        }
        m = 0;
    }
}
#endif

static void sparse_range(int n_out, int o0, int o1, int n_in, float *y, const void *Wt, int bf16, const float *x) {
#ifdef SS_X86
    if (have_avx2()) { sparse_range_avx2(n_out, o0, o1, n_in, y, Wt, bf16, x); return; }
#endif
    sparse_range_scalar(n_out, o0, o1, n_in, y, Wt, bf16, x);
}

void ss_gemv_sparse_bf16(int n_out, int n_in, float *y, const uint16_t *Wt, const float *x) {
    sparse_range(n_out, 0, n_out, n_in, y, Wt, 1, x);
}

// ---- two-thread runner ---------------------------------------------------------------------
// One persistent worker thread, started on first use. A task is cut into SS_CHUNKS chunks that
// the caller and the worker claim one at a time from a shared counter, so if the worker is late
// (asleep, or descheduled on a busy machine) the caller simply takes more chunks — at worst it
// does them all, as one thread would — and only waits for chunks the worker actually started.
// The worker spins a while after its last chunk (the next task of a token follows within
// microseconds), then sleeps on a condition variable so an idle process does not burn a core.
// A second concurrent caller finds the runner busy and runs every chunk itself. Chunks split
// outputs, never a reduction, so results do not depend on who ran what.
// (A general C thread pool is being written elsewhere — threadpool.c — and can replace this.)
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>

#define SS_CHUNKS 8
typedef void (*ss_part_fn)(void *ctx, int part, int parts);

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int claim;   // next chunk to hand out; >= SS_CHUNKS when there is no work
    atomic_int done;    // chunks finished of the current task
    atomic_int busy;    // a caller owns the runner
    ss_part_fn fn;
    void *ctx;
    int started;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, SS_CHUNKS, 0, 0, 0, 0, 0 };
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void) {
#ifdef SS_X86
    _mm_pause();
#endif
}

static void *pool_worker(void *unused) {
    (void)unused;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&pool.claim, memory_order_acquire) >= SS_CHUNKS) {
            if (++spins < 20000) { cpu_relax(); continue; }   // ≈ 1 ms of spinning, then sleep
            pthread_mutex_lock(&pool.mu);
            while (atomic_load_explicit(&pool.claim, memory_order_acquire) >= SS_CHUNKS)
                pthread_cond_wait(&pool.cv, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        for (;;) {
            int c = atomic_fetch_add_explicit(&pool.claim, 1, memory_order_acq_rel);
            if (c >= SS_CHUNKS) break;
            pool.fn(pool.ctx, c, SS_CHUNKS);
            atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
        }
    }
    return NULL;
}

static void pool_start(void) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pool.started = pthread_create(&t, &a, pool_worker, NULL) == 0;
    pthread_attr_destroy(&a);
}

// Runs fn(ctx, c, SS_CHUNKS) for every chunk c, on the caller and (threads >= 2) the worker.
static void run_parts(ss_part_fn fn, void *ctx, int threads) {
    if (threads >= 2) {
        pthread_once(&pool_once, pool_start);
        int expected = 0;
        if (pool.started && atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
            pool.fn = fn; pool.ctx = ctx;
            atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
            pthread_mutex_lock(&pool.mu);
            atomic_store_explicit(&pool.claim, 0, memory_order_release);   // publishes fn, ctx
            pthread_cond_signal(&pool.cv);
            pthread_mutex_unlock(&pool.mu);
            for (;;) {
                int c = atomic_fetch_add_explicit(&pool.claim, 1, memory_order_acq_rel);
                if (c >= SS_CHUNKS) break;
                fn(ctx, c, SS_CHUNKS);
                atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
            }
            int spins = 0;
            while (atomic_load_explicit(&pool.done, memory_order_acquire) < SS_CHUNKS) {
                if (++spins > 2048) { sched_yield(); spins = 0; } else cpu_relax();
            }
            atomic_store(&pool.busy, 0);
            return;
        }
    }
    for (int c = 0; c < SS_CHUNKS; c++) fn(ctx, c, SS_CHUNKS);
}

// ---- batched GEMVs -------------------------------------------------------------------------
typedef struct { const ss_gemv_job *jobs; int n, sparse_parts; } batch_ctx;

// Boundary of chunk `part` of `parts` over n outputs, rounded to a multiple of `align`.
static inline int chunk_edge(int n, int part, int parts, int align) {
    if (part >= parts) return n;
    int e = (int)(((long)n * part / parts) / align * align);
    return e > n ? n : e;
}

// Chunk `part` gets a contiguous slice of every job's outputs: dense rows cut at multiples of 4
// (so the 4-row grouping, hence every result bit, is the same as one thread). Sparse jobs are cut
// into only `sparse_parts` (1 or 2, one per thread) column slices at multiples of 8, given to the
// first chunks: narrower slices would read each active weight row in short strided pieces, which
// the prefetchers stream badly (measured: 8 slices made the event-driven path slower than dense).
static void batch_part(void *vctx, int part, int parts) {
    const batch_ctx *c = vctx;
    for (int k = 0; k < c->n; k++) {
        const ss_gemv_job *j = &c->jobs[k];
        int sparse = j->kind == SS_GEMV_SPARSE_F32 || j->kind == SS_GEMV_SPARSE_BF16;
        int o0, o1;
        if (j->kind == SS_GEMV_BF16_PANEL) {   // chunks are whole panels
            int np = (j->n_out + 31) / 32;
            int q0 = (int)((long)np * part / parts), q1 = (int)((long)np * (part + 1) / parts);
            if (q1 > q0) panel_range(j->n_out, q0, q1, j->n_in, j->y, (const uint16_t *)j->W, j->x);
            continue;
        }
        if (sparse && j->partial) {
            // Split by inputs: half 0 → y, half 1 → partial (summed by ss_gemv_batch), full rows
            // each, so a silent input skips a whole contiguous row. Two halves however many threads.
            if (part >= 2) continue;
            int h = j->n_in / 2, i0 = part ? h : 0, i1 = part ? j->n_in : h;
            size_t esz = j->kind == SS_GEMV_SPARSE_BF16 ? 2 : 4;
            const char *W0 = (const char *)j->W + (size_t)i0 * (size_t)j->n_out * esz;
            sparse_range(j->n_out, 0, j->n_out, i1 - i0, part ? j->partial : j->y, W0,
                         j->kind == SS_GEMV_SPARSE_BF16, j->x + i0);
            continue;
        }
        if (sparse) {
            if (part >= c->sparse_parts) continue;
            o0 = chunk_edge(j->n_out, part, c->sparse_parts, 8); o1 = chunk_edge(j->n_out, part + 1, c->sparse_parts, 8);
        } else {
            o0 = chunk_edge(j->n_out, part, parts, 4); o1 = chunk_edge(j->n_out, part + 1, parts, 4);
        }
        if (o1 <= o0) continue;
        switch (j->kind) {
        case SS_GEMV_F32:
            ss_gemv_f32(o1 - o0, j->n_in, j->y + o0, (const float *)j->W + (long)o0 * j->n_in, j->x);
            break;
        case SS_GEMV_BF16_ROWS:   // a row's bits do not depend on its neighbours (bf16rows.c)
            ss_gemv_bf16_rows(o1 - o0, j->n_in, j->y + o0, (const uint16_t *)j->W + (long)o0 * j->n_in, j->x);
            break;
        case SS_GEMV_SPARSE_F32:
            sparse_range(j->n_out, o0, o1, j->n_in, j->y, j->W, 0, j->x);
            break;
        case SS_GEMV_SPARSE_BF16:
            sparse_range(j->n_out, o0, o1, j->n_in, j->y, j->W, 1, j->x);
            break;
        }
    }
}

void ss_gemv_batch(const ss_gemv_job *jobs, int n, int threads) {
    batch_ctx c = { jobs, n, threads >= 2 ? 2 : 1 };
    run_parts(batch_part, &c, threads);
    for (int k = 0; k < n; k++) {
        const ss_gemv_job *j = &jobs[k];
        if ((j->kind == SS_GEMV_SPARSE_F32 || j->kind == SS_GEMV_SPARSE_BF16) && j->partial)
            for (int o = 0; o < j->n_out; o++) j->y[o] += j->partial[o];
    }
}

// ---- memory bandwidth probe ----------------------------------------------------------------
typedef struct { const float *p; long n; int nta; double sum[SS_CHUNKS]; } stream_ctx;

#ifdef SS_X86
__attribute__((target("avx2,fma")))
static double stream_sum_avx2(const float *p, long n, int nta) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const long d = ss_tuning_current()->panel_prefetch_bytes / 4;   // in floats
    if (!d) nta = 0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        if (nta) {   // the panel kernel's prefetch (this CPU's distance, non-temporal), for a fair limit
            _mm_prefetch((const char *)(p + i + d), _MM_HINT_NTA);
            _mm_prefetch((const char *)(p + i + d + 16), _MM_HINT_NTA);
        }
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    double s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += p[i];
    return s;
}
#endif

static void stream_part(void *vctx, int part, int parts) {
    stream_ctx *c = vctx;
    long lo = c->n * part / parts, hi = c->n * (part + 1) / parts;
    double s = 0;
#ifdef SS_X86
    if (have_avx2()) s = stream_sum_avx2(c->p + lo, hi - lo, c->nta);
    else
#endif
    for (long i = lo; i < hi; i++) s += c->p[i];
    c->sum[part] = s;
}

double ss_stream_read_f32(const float *p, long n, int threads, int prefetch) {
    stream_ctx c = { p, n, prefetch, { 0 } };
    run_parts(stream_part, &c, threads);
    double s = 0;
    for (int k = 0; k < SS_CHUNKS; k++) s += c.sum[k];
    return s;
}
