// Spike-driven linear: Y[T, Out] = X[T, In] · W[In, Out], doing work only for nonzero inputs.
//
// What it is: the event-driven twin of a dense GEMM for spiking (or ReLU²-sparse) activations.
//   y[t, :] = Σ_{j : x[t][j] ≠ 0} x[t][j] · W[j, :]
// W is stored [In, Out] (one contiguous row per input = PyTorch's [Out, In] Linear weight
// transposed once at load), so each spike adds one contiguous row. Cost ≈ nnz(X)·Out multiply-adds
// instead of T·In·Out: at firing rate r it is ~r of the dense work, but each FMA needs its own
// load of W (no register reuse as in GEMM), so the break-even rate is well below 1 (the Swift
// dispatcher in Engine/Kernels/SpikeLinear.swift measures it).
// Steps:  1. per token, compact the nonzeros of X into (index, value) lists   (parallel over T)
//         2. per block of output columns, per token, accumulate the token's active W rows into
//            ymm registers holding y[t, block]                            (parallel over blocks)
// Two layouts of W:
//  - plain [In, Out] (ss_spike_linear_f32): blocks of CB = 96 columns, 12 accumulators. Rows are
//    4·Out bytes apart; when that is a multiple of 4 KiB (Out = 1024, 3072, …) the rows of a block
//    fold onto a few cache sets, so the block does not stay in L2.
//  - packed (ss_spike_pack_f32 once at load, then ss_spike_linear_packed_f32): each slab of
//    PCB = 64 columns is one contiguous In×64 array, cut into row ranges (choose_range) whose
//    sub-slab stays close while all tokens use it and the next one is prefetched. This is the
//    path SpikeLinear uses at every rate (faster than plain from 0.02 up, cold weights).
// Binary spikes (every nonzero of a token is exactly 1, as LIF neurons emit) go through an add-only
// loop: one load fewer per active row than the multiply-add, the same bits.
// Measured (2 threads, wall, T = 128, 768 → 3072, binary, Zen 3, BENCHMARKS.md): see choose_range;
// ~0.92 ms at rate 0.15 against ~3.2 ms for the dense GEMM on W packed once. Per active row of 64
// columns this is ~7 cycles (the 8 loads of the row alone take 4 from L1; each (token, range)
// visit adds ~25-40, and the sub-slab shares L1 with the accumulator tile), while the dense GEMM
// reuses each loaded B value 6 times from registers at ~2 FMAs per cycle; so the speed-up at rate
// r stays below about 1/(2·r).
// What it is not: a sparse-matrix library (X is dense storage; only zeros are skipped).

#include "kernels.h"
#include "tuning.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

// Plain-layout column block: 96 = 12 ymm accumulators (+1 broadcast register of 16).
#ifndef CB
#define CB 96
#endif
// Packed layout: slabs of PCB = 64 columns (8 ymm accumulators = FMA latency 4 × 2 pipes).
// Measured on Zen 3 (CPU time, 128×768 → 3072 at rate 0.15): 64, 96, 112, 128 all within
// noise (4.2-4.7 ns per active row and 64 columns); 64 keeps the last-slab padding small.
// Also tried and dropped (no gain beyond noise): software prefetch of the next active rows, and
// of the whole slab into L2 at task start.
#ifndef PCB
#define PCB 64
#endif
// Below this many multiply-adds the kernel stays on the calling thread (pool wake ~10-50 µs).
#define PARALLEL_MIN_MACS (1 << 18)

static inline int imin(int a, int b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------------------------
// Scalar reference.

void ss_spike_linear_naive_f32(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                               int accumulate, float *Y, int ldy) {
    for (int t = 0; t < T; t++) {
        float *y = Y + (size_t)t * ldy;
        if (!accumulate) memset(y, 0, sizeof(float) * (size_t)Out);
        for (int j = 0; j < In; j++) {
            float x = X[(size_t)t * ldx + j];
            if (x == 0.0f) continue;  // y[t,:] += x[t][j] · W[j,:]
            const float *w = W + (size_t)j * ldw;
            for (int c = 0; c < Out; c++) y[c] += x * w[c];
        }
    }
}

size_t ss_count_nonzero_f32(size_t n, const float *x) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += x[i] != 0.0f;
    return k;
}

void ss_transpose_f32(int rows, int cols, float *dst, const float *src) {
    // dst[c][r] = src[r][c], in 32×32 tiles so both sides stay in cache.
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32)
            for (int r = r0; r < imin(rows, r0 + 32); r++)
                for (int c = c0; c < imin(cols, c0 + 32); c++)
                    dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

// ---------------------------------------------------------------------------------------------
// Row kernels: y[0:w] (+)= Σ_a val[a] · W[idx[a]·ldw + 0:w]   (val == NULL means every val is 1)

typedef void (*rows_fn)(int n, const int32_t *idx, const float *val, const float *W, size_t ldw,
                        float *y, int w, int accumulate);

static void rows_portable(int n, const int32_t *idx, const float *val, const float *W, size_t ldw,
                          float *y, int w, int accumulate) {
    if (!accumulate) memset(y, 0, sizeof(float) * (size_t)w);
    for (int a = 0; a < n; a++) {
        const float *row = W + (size_t)idx[a] * ldw;
        float v = val ? val[a] : 1.0f;
        for (int c = 0; c < w; c++) y[c] += v * row[c];
    }
}

#if defined(SS_X86)
__attribute__((target("avx2,fma")))
static void rows_avx2(int n, const int32_t *idx, const float *val, const float *W, size_t ldw,
                      float *y, int w, int accumulate) {
    int c = 0;
    // Full 96-wide blocks: acc_i = y[c+8i : c+8i+8], acc_i += v_a · W[j_a][c+8i : c+8i+8]
    for (; c + 96 <= w; c += 96) {
        __m256 s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;
        if (accumulate) {
            s0 = _mm256_loadu_ps(y + c + 0);  s1 = _mm256_loadu_ps(y + c + 8);
            s2 = _mm256_loadu_ps(y + c + 16); s3 = _mm256_loadu_ps(y + c + 24);
            s4 = _mm256_loadu_ps(y + c + 32); s5 = _mm256_loadu_ps(y + c + 40);
            s6 = _mm256_loadu_ps(y + c + 48); s7 = _mm256_loadu_ps(y + c + 56);
            s8 = _mm256_loadu_ps(y + c + 64); s9 = _mm256_loadu_ps(y + c + 72);
            s10 = _mm256_loadu_ps(y + c + 80); s11 = _mm256_loadu_ps(y + c + 88);
        } else {
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = s11 = _mm256_setzero_ps();
        }
        for (int a = 0; a < n; a++) {
            const float *p = W + (size_t)idx[a] * ldw + c;
            __m256 v = val ? _mm256_broadcast_ss(val + a) : _mm256_set1_ps(1.0f);
            s0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 0), s0);
            s1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 8), s1);
            s2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 16), s2);
            s3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 24), s3);
            s4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 32), s4);
            s5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 40), s5);
            s6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 48), s6);
            s7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 56), s7);
            s8 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 64), s8);
            s9 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 72), s9);
            s10 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 80), s10);
            s11 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 88), s11);
        }
        _mm256_storeu_ps(y + c + 0, s0);   _mm256_storeu_ps(y + c + 8, s1);
        _mm256_storeu_ps(y + c + 16, s2);  _mm256_storeu_ps(y + c + 24, s3);
        _mm256_storeu_ps(y + c + 32, s4);  _mm256_storeu_ps(y + c + 40, s5);
        _mm256_storeu_ps(y + c + 48, s6);  _mm256_storeu_ps(y + c + 56, s7);
        _mm256_storeu_ps(y + c + 64, s8);  _mm256_storeu_ps(y + c + 72, s9);
        _mm256_storeu_ps(y + c + 80, s10); _mm256_storeu_ps(y + c + 88, s11);
    }
    // 32-wide pieces (4 independent chains hide most of the 4-cycle FMA latency).
    for (; c + 32 <= w; c += 32) {
        __m256 s0, s1, s2, s3;
        if (accumulate) {
            s0 = _mm256_loadu_ps(y + c); s1 = _mm256_loadu_ps(y + c + 8);
            s2 = _mm256_loadu_ps(y + c + 16); s3 = _mm256_loadu_ps(y + c + 24);
        } else {
            s0 = s1 = s2 = s3 = _mm256_setzero_ps();
        }
        for (int a = 0; a < n; a++) {
            const float *p = W + (size_t)idx[a] * ldw + c;
            __m256 v = val ? _mm256_broadcast_ss(val + a) : _mm256_set1_ps(1.0f);
            s0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p), s0);
            s1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 8), s1);
            s2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 16), s2);
            s3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 24), s3);
        }
        _mm256_storeu_ps(y + c, s0); _mm256_storeu_ps(y + c + 8, s1);
        _mm256_storeu_ps(y + c + 16, s2); _mm256_storeu_ps(y + c + 24, s3);
    }
    // 8-wide pieces, then a masked piece of 1..7 columns (masked loads never touch W past w).
    for (; c < w; c += 8) {
        int left = w - c;
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 s = accumulate ? _mm256_maskload_ps(y + c, mask) : _mm256_setzero_ps();
        for (int a = 0; a < n; a++) {
            const float *p = W + (size_t)idx[a] * ldw + c;
            __m256 v = val ? _mm256_broadcast_ss(val + a) : _mm256_set1_ps(1.0f);
            s = _mm256_fmadd_ps(v, _mm256_maskload_ps(p, mask), s);
        }
        _mm256_maskstore_ps(y + c, mask, s);
    }
}
#endif

static pthread_once_t g_pick_once = PTHREAD_ONCE_INIT;
static rows_fn g_rows = rows_portable;
static void pick_once(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) g_rows = rows_avx2;
#endif
}
static rows_fn rows_kernel(void) {
    pthread_once(&g_pick_once, pick_once);
    return g_rows;
}

void ss_spike_accumulate_f32(int n_active, const int32_t *active, int C, const float *W, float *y) {
    rows_kernel()(n_active, active, NULL, W, (size_t)C, y, C, 1);
}

// ---------------------------------------------------------------------------------------------
// Packed slab kernel: out[0:PCB] = in[0:PCB] (zeros if in == NULL) + Σ_a val[a] · Wb[idx[a]][0:PCB],
// Wb rows PCB floats apart; val == NULL means every value is 1 (binary spikes: adds only, the
// same bits as the multiply-add by 1). `in` and `out` may be the same tile row.

typedef void (*slab_fn)(int n, const int32_t *idx, const float *val, const float *Wb, const float *in, float *out);

static void slab_portable(int n, const int32_t *idx, const float *val, const float *Wb, const float *in, float *out) {
    float y[PCB];
    for (int c = 0; c < PCB; c++) y[c] = in ? in[c] : 0.0f;
    for (int a = 0; a < n; a++) {
        const float *row = Wb + (size_t)idx[a] * PCB;
        if (val) {
            float v = val[a];
            for (int c = 0; c < PCB; c++) y[c] += v * row[c];
        } else {
            for (int c = 0; c < PCB; c++) y[c] += row[c];
        }
    }
    memcpy(out, y, sizeof y);
}

#if defined(SS_X86)
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline)) void slab_avx2(int n, const int32_t *idx, const float *val, const float *Wb, const float *in, float *out) {
    // PCB/8 accumulators; the constant-trip loops below are fully unrolled and `s` lives in
    // ymm registers (checked with objdump: no stack traffic at PCB = 64 or 112).
    enum { NV = PCB / 8 };
    __m256 s[NV];
#pragma clang loop unroll(full)
    for (int i = 0; i < NV; i++) s[i] = in ? _mm256_loadu_ps(in + 8 * i) : _mm256_setzero_ps();
    if (val) {
        for (int a = 0; a < n; a++) {
            // s_i += val[a] · Wb[idx[a]][8i : 8i+8]
            const float *p = Wb + (size_t)idx[a] * PCB;
            __m256 v = _mm256_broadcast_ss(val + a);
#pragma clang loop unroll(full)
            for (int i = 0; i < NV; i++) s[i] = _mm256_fmadd_ps(v, _mm256_load_ps(p + 8 * i), s[i]);
        }
    } else {
        // Binary spikes: s_i += Wb[idx[a]][8i : 8i+8]. One load fewer per row than the FMA loop
        // (no value broadcast); the loads are the bound. Measured 9% faster per active row.
        for (int a = 0; a < n; a++) {
            const float *p = Wb + (size_t)idx[a] * PCB;
#pragma clang loop unroll(full)
            for (int i = 0; i < NV; i++) s[i] = _mm256_add_ps(_mm256_load_ps(p + 8 * i), s[i]);
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < NV; i++) _mm256_storeu_ps(out + 8 * i, s[i]);
}
#endif

#if defined(SS_X86)
// AVX-512F twin of slab_avx2: PCB/16 zmm accumulators, each lane summing the same products in
// the same order as the AVX2 lanes (one row at a time, FMA or add), so the same bits with half
// the loads' instructions (tests compare the paths).
__attribute__((target("avx512f,avx2,fma")))
static inline __attribute__((always_inline)) void slab_avx512(int n, const int32_t *idx, const float *val, const float *Wb, const float *in, float *out) {
    enum { NV = PCB / 16 };
    __m512 s[NV];
#pragma clang loop unroll(full)
    for (int i = 0; i < NV; i++) s[i] = in ? _mm512_loadu_ps(in + 16 * i) : _mm512_setzero_ps();
    if (val) {
        for (int a = 0; a < n; a++) {
            const float *p = Wb + (size_t)idx[a] * PCB;
            __m512 v = _mm512_set1_ps(val[a]);
#pragma clang loop unroll(full)
            for (int i = 0; i < NV; i++) s[i] = _mm512_fmadd_ps(v, _mm512_loadu_ps(p + 16 * i), s[i]);
        }
    } else {
        for (int a = 0; a < n; a++) {
            const float *p = Wb + (size_t)idx[a] * PCB;
#pragma clang loop unroll(full)
            for (int i = 0; i < NV; i++) s[i] = _mm512_add_ps(_mm512_loadu_ps(p + 16 * i), s[i]);
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < NV; i++) _mm512_storeu_ps(out + 16 * i, s[i]);
}
#endif

static pthread_once_t g_slab_once = PTHREAD_ONCE_INIT;
static slab_fn g_slab = slab_portable;
static int g_slab_path = SS_SPIKE_PATH_PORTABLE;
static void slab_pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { g_slab = slab_avx2; g_slab_path = SS_SPIKE_PATH_AVX2; }
    if (g_slab == slab_avx2 && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512")) {
        g_slab = slab_avx512; g_slab_path = SS_SPIKE_PATH_AVX512;
    }
#endif
}

// ---------------------------------------------------------------------------------------------
// Scratch (per calling thread, grown as needed, freed at thread exit): active lists.

typedef struct { int32_t *idx; float *val; int *cnt; size_t cap, ccap; float *tile; size_t tcap; } scratch_t;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static void scratch_free(void *p) {
    scratch_t *s = p;
    free(s->idx); free(s->val); free(s->cnt); free(s->tile); free(s);
}
static void key_make(void) { pthread_key_create(&g_key, scratch_free); }

static scratch_t *scratch_self(void) {
    pthread_once(&g_key_once, key_make);
    scratch_t *s = pthread_getspecific(g_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        pthread_setspecific(g_key, s);
    }
    return s;
}

// This thread's accumulator tile of at least n floats (64-byte aligned), or NULL.
static float *tile_get(size_t n) {
    scratch_t *s = scratch_self();
    if (!s) return NULL;
    if (s->tcap < n) {
        free(s->tile);
        s->tile = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        s->tcap = s->tile ? n : 0;
    }
    return s->tile;
}

static scratch_t *scratch_get(size_t entries, size_t tokens) {
    scratch_t *s = scratch_self();
    if (!s) return NULL;
    if (s->cap < entries) {
        free(s->idx); free(s->val);
        s->idx = malloc(sizeof(int32_t) * entries);
        s->val = malloc(sizeof(float) * entries);
        s->cap = (s->idx && s->val) ? entries : 0;
        if (!s->cap) return NULL;
    }
    if (s->ccap < tokens) {
        free(s->cnt);
        s->cnt = malloc(sizeof(int) * 2 * tokens);   // counts, then non-one counts
        s->ccap = s->cnt ? tokens : 0;
        if (!s->cnt) return NULL;
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// Parallel driver.

typedef struct {
    int T, In, Out, ldx, ldw, ldy, accumulate;
    const float *X, *W;
    float *Y;
    int32_t *idx;
    float *val;
    int *cnt;       // cnt[t] = number of nonzero x[t][j]; cnt[T + t] = how many of them are ≠ 1
    int *off;       // packed: off[t·(R+1) + r] = first active of token t with j ≥ r·rb
    int R, rb;      // packed: row ranges of rb inputs each (see choose_range)
    int tok_step;   // tokens per task
    int col_blocks; // column blocks in phase 2
    int packed;
    int pf_stride;  // packed: slabs between one task of a thread and its next (≈ threads)
} spike_job;

// Phase 1: idx[t][0..<cnt[t]] = { j : x[t][j] ≠ 0 } in increasing j, val = the x values.
static void compact_task(void *ctx, int task) {
    const spike_job *jb = ctx;
    int t0 = task * jb->tok_step, t1 = imin(jb->T, t0 + jb->tok_step);
    for (int t = t0; t < t1; t++)
        jb->cnt[t] = ss_compact_f32(jb->X + (size_t)t * jb->ldx, jb->In, 0, jb->idx + (size_t)t * jb->In,
                                    jb->val + (size_t)t * jb->In, &jb->cnt[jb->T + t]);
}

// Phase 2, plain layout: task = (column block of CB, token chunk); the In×CB block of W stays in
// L2 while the chunk's tokens reuse it.
static void plain_task(void *ctx, int task) {
    const spike_job *jb = ctx;
    rows_fn rows = rows_kernel();
    int cbk = task % jb->col_blocks, tchunk = task / jb->col_blocks;
    int c0 = cbk * CB, w = imin(CB, jb->Out - c0);
    int t0 = tchunk * jb->tok_step, t1 = imin(jb->T, t0 + jb->tok_step);
    for (int t = t0; t < t1; t++)
        rows(jb->cnt[t], jb->idx + (size_t)t * jb->In, jb->val + (size_t)t * jb->In,
             jb->W + c0, (size_t)jb->ldw, jb->Y + (size_t)t * jb->ldy + c0, w, jb->accumulate);
}

static inline void prefetch_l1(const char *p) {
#if defined(SS_X86)
    _mm_prefetch(p, _MM_HINT_T0);
#elif defined(__GNUC__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

static inline void prefetch_l2(const char *p) {
#if defined(SS_X86)
    _mm_prefetch(p, _MM_HINT_T1);
#elif defined(__GNUC__)
    __builtin_prefetch(p, 0, 2);
#else
    (void)p;
#endif
}

// Phase 2, packed layout: task = (slab of PCB columns, token chunk). For each range r of rb
// inputs, the rb×PCB sub-slab is reused from L1 by every token of the chunk:
//   y[t, c0:c0+PCB] += Σ_{j ∈ range r, x[t][j] ≠ 0} x[t][j] · W[j, c0:c0+PCB]
// Partial sums live in a contiguous tile (this thread's scratch): rows of Y are 4·ldy bytes
// apart, often a multiple of 4 KiB (Out = 3072), which folds every token's piece onto the same few
// L1 sets. The first range reads Y (accumulate) or starts from zero; the last writes Y directly.
// `slab` is a constant in each caller below, so the kernel is inlined into the token loop.
static inline __attribute__((always_inline)) void packed_body(const spike_job *jb, int task, slab_fn slab) {
    int cbk = task % jb->col_blocks, tchunk = task / jb->col_blocks;
    int c0 = cbk * PCB, w = imin(PCB, jb->Out - c0);
    int t0 = tchunk * jb->tok_step, t1 = imin(jb->T, t0 + jb->tok_step), nt = t1 - t0;
    const float *Wb = jb->W + (size_t)cbk * PCB * jb->In;
    float *tile = tile_get((size_t)PCB * (size_t)nt);
    _Alignas(32) float one[PCB];
    if (!tile) {   // no memory for the tile: each token runs all its ranges through `one`
        for (int t = t0; t < t1; t++) {
            const int *off = jb->off + (size_t)t * (jb->R + 1);
            const float *val = jb->cnt[jb->T + t] ? jb->val + (size_t)t * jb->In : NULL;
            float *out = jb->Y + (size_t)t * jb->ldy + c0;
            if (jb->accumulate) memcpy(one, out, sizeof(float) * (size_t)w);
            slab(off[jb->R], jb->idx + (size_t)t * jb->In, val, Wb, jb->accumulate ? one : NULL, one);
            memcpy(out, one, sizeof(float) * (size_t)w);
        }
        return;
    }
    int direct = w == PCB;   // a full slab: the last range stores straight into Y
    int In = jb->In, R = jb->R;
    float *ybase = jb->Y + (size_t)t0 * jb->ldy + c0;
    if (jb->accumulate && !direct)
        for (int t = 0; t < nt; t++) memcpy(tile + (size_t)t * PCB, ybase + (size_t)t * jb->ldy, sizeof(float) * (size_t)w);
    for (int r = 0; r < R; r++) {
        int last = r + 1 == R;
        // Where token t's partial sums come from and go to in this pass: from zero, Y or the tile;
        // to the tile, or to Y on the last range of a full slab.
        int zero = r == 0 && !jb->accumulate;
        const float *in_base = r == 0 && direct ? ybase : tile;
        size_t in_stride = r == 0 && direct ? (size_t)jb->ldy : PCB;
        float *out_base = last && direct ? ybase : tile;
        size_t out_stride = last && direct ? (size_t)jb->ldy : PCB;
        // While the tokens run over this sub-slab, prefetch the next one into L2 a few lines per
        // token: the next range of this slab, or after the last range the first range of the slab
        // this thread probably takes next (tasks are claimed in turn, so `pf_stride` slabs on).
        // Weights come cold from DRAM in a real forward pass (each layer's once); measured with
        // flushed caches at rate 0.15: 1.59 → 1.30 ms (BENCHMARKS.md).
        const char *next = NULL;
        size_t lines = 0;
        if (!last) {
            next = (const char *)(Wb + (size_t)(r + 1) * jb->rb * PCB);
            lines = (size_t)imin(jb->rb, In - (r + 1) * jb->rb) * PCB * sizeof(float) / 64;
        } else if (cbk + jb->pf_stride < jb->col_blocks) {
            next = (const char *)(jb->W + (size_t)(cbk + jb->pf_stride) * PCB * In);
            lines = (size_t)imin(jb->rb, In) * PCB * sizeof(float) / 64;
        }
        size_t per = (lines + (size_t)nt - 1) / (size_t)nt, done = 0;
        const int *o = jb->off + (size_t)t0 * (R + 1) + r, *other = jb->cnt + jb->T + t0;
        const int32_t *ix = jb->idx + (size_t)t0 * In;
        const float *vx = jb->val + (size_t)t0 * In;
        for (int t = 0; t < nt; t++, o += R + 1, ix += In, vx += In) {
            size_t stop = done + per < lines ? done + per : lines;
            for (; done < stop; done++) prefetch_l2(next + done * 64);
            int a0 = o[0], n = o[1] - a0;
            // The next token's first row of this range into L1 while this one runs: each visit
            // otherwise starts with a miss its short chain cannot hide. Measured at rate 0.15:
            // 1.01 → 0.94 ms (one row; two rows, or two tokens ahead, no better; prefetching rows
            // inside a visit costs load slots: 1.15 ms).
            if (t + 1 < nt && o[R + 2] > o[R + 1]) {
                const char *row = (const char *)(Wb + (size_t)ix[In + o[R + 1]] * PCB);
                for (int q = 0; q < PCB * (int)sizeof(float); q += 64) prefetch_l1(row + q);
            }
            const float *in = zero ? NULL : in_base + (size_t)t * in_stride;
            float *out = out_base + (size_t)t * out_stride;
            if (n > 0 || in != out) slab(n, ix + a0, other[t] ? vx + a0 : NULL, Wb, in, out);
        }
    }
    if (!direct)
        for (int t = 0; t < nt; t++) memcpy(ybase + (size_t)t * jb->ldy, tile + (size_t)t * PCB, sizeof(float) * (size_t)w);
}

static void packed_task_portable(void *ctx, int task) { packed_body(ctx, task, slab_portable); }
#if defined(SS_X86)
__attribute__((target("avx2,fma")))
static void packed_task_avx2(void *ctx, int task) { packed_body(ctx, task, slab_avx2); }
__attribute__((target("avx512f,avx2,fma")))
static void packed_task_avx512(void *ctx, int task) { packed_body(ctx, task, slab_avx512); }
#endif

// Input rows per range for the packed path. Cutting W into row ranges keeps a sub-slab close (and
// lets the next one be prefetched while it is used), but each (token, range) visit costs ~25-40
// cycles beyond its rows (the accumulators' load and store, and a loop exit whose trip count is
// random). So: rb ≈ 16/rate rows, between 128 and 384, rounded up to 32.
// Measured (2 threads, caches flushed before each call, 128×768→3072 binary spikes, Zen 3, best
// wall ms; best in bold):
//   rate 0.02: rb 128 0.35, 192 0.34, 256 0.32, 384 **0.31**   rate 0.05: 128 0.51, 256 **0.48**, 384 0.49
//   rate 0.10: 128 0.74, 160 **0.74**, 256 0.78, 384 0.81      rate 0.15: 128 0.99, 160 **0.99**, 192 1.01, 384 1.12
//   rate 0.25: 128 **1.42**, 192 1.51, 384 1.94
static int choose_range(int In, double rate) {
    double ev = ss_tuning_current()->spike_range_events;   // per CPU (tuning.h); 16 on Zen 3
    double rb = rate > 0 ? ev / rate : 384;
    if (rb < 128) rb = 128;
    if (rb > 384) rb = 384;
    int r = ((int)rb + 31) / 32 * 32;
    return r >= In ? In : r;
}

// The reference on the packed layout: slab by slab (used only if scratch memory runs out).
static void naive_packed(int T, int In, int Out, const float *X, int ldx, const float *packed,
                         int accumulate, float *Y, int ldy) {
    for (int b = 0; b * PCB < Out; b++)
        ss_spike_linear_naive_f32(T, In, imin(PCB, Out - b * PCB), X, ldx, packed + (size_t)b * PCB * In, PCB,
                                  accumulate, Y + (size_t)b * PCB, ldy);
}

static void spike_linear(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                         int packed, int path, int accumulate, float *Y, int ldy) {
    if (T <= 0 || Out <= 0) return;
    if (In <= 0) {
        if (!accumulate)
            for (int t = 0; t < T; t++) memset(Y + (size_t)t * ldy, 0, sizeof(float) * (size_t)Out);
        return;
    }
    scratch_t *s = scratch_get((size_t)T * In, (size_t)T);
    if (!s) {  // no memory for the lists: the reference gives the same answer, slower
        if (packed) naive_packed(T, In, Out, X, ldx, W, accumulate, Y, ldy);
        else ss_spike_linear_naive_f32(T, In, Out, X, ldx, W, ldw, accumulate, Y, ldy);
        return;
    }
    pthread_once(&g_slab_once, slab_pick);
    int threads = ss_threads_get();
    spike_job jb = {T, In, Out, ldx, ldw, ldy, accumulate, X, W, Y, s->idx, s->val, s->cnt, NULL, 1, In,
                    0, 0, packed, threads};

    // Phase 1, in chunks of ≥ 16 tokens (a 768-wide row scan is ~1 µs; smaller tasks cost more
    // to hand out than they save); one chunk when the whole scan is small.
    jb.tok_step = (T + 2 * threads - 1) / (2 * threads);
    if (jb.tok_step < 16) jb.tok_step = 16;
    if (jb.tok_step > T || (size_t)T * In < (1u << 16)) jb.tok_step = T;
    ss_parallel_run((T + jb.tok_step - 1) / jb.tok_step, compact_task, &jb);

    size_t nnz = 0;
    for (int t = 0; t < T; t++) nnz += (size_t)s->cnt[t];
    int *off = NULL;
    if (packed) {
        // Row ranges, and where each starts in every token's (sorted) active list.
        jb.rb = choose_range(In, (double)nnz / ((double)T * In));
        jb.R = (In + jb.rb - 1) / jb.rb;
        off = malloc(sizeof(int) * (size_t)T * (size_t)(jb.R + 1));
        if (!off) { naive_packed(T, In, Out, X, ldx, W, accumulate, Y, ldy); return; }
        for (int t = 0; t < T; t++) {
            const int32_t *ix = s->idx + (size_t)t * In;
            int *o = off + (size_t)t * (jb.R + 1), a = 0, n = s->cnt[t];
            for (int r = 0; r < jb.R; r++) {
                o[r] = a;
                while (a < n && ix[a] < (r + 1) * jb.rb) a++;
            }
            o[jb.R] = n;
        }
        jb.off = off;
    }

    // Phase 2. The work estimate nnz·Out decides serial vs parallel.
    int width = packed ? PCB : CB;
    ss_task_fn fn = packed ? packed_task_portable : plain_task;
#if defined(SS_X86)
    if (packed && path == SS_SPIKE_PATH_AVX2) fn = packed_task_avx2;
    if (packed && path == SS_SPIKE_PATH_AVX512) fn = packed_task_avx512;
#endif
    jb.col_blocks = (Out + width - 1) / width;
    if (threads <= 1 || (double)nnz * Out < PARALLEL_MIN_MACS) {
        jb.tok_step = T;
        jb.pf_stride = 1;   // slabs in order on this thread
        for (int b = 0; b < jb.col_blocks; b++) fn(&jb, b);
    } else {
        // Enough column blocks: one task per block (all T tokens). Too few (narrow Out): also
        // cut the tokens so every thread gets work.
        int chunks = jb.col_blocks >= 2 * threads ? 1 : imin(T, 2 * threads);
        jb.tok_step = (T + chunks - 1) / chunks;
        chunks = (T + jb.tok_step - 1) / jb.tok_step;
        ss_parallel_run(jb.col_blocks * chunks, fn, &jb);
    }
    free(off);
}

void ss_spike_linear_f32(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                         int accumulate, float *Y, int ldy) {
    spike_linear(T, In, Out, X, ldx, W, ldw, 0, 0, accumulate, Y, ldy);
}

size_t ss_spike_packed_count(int In, int Out) {
    if (In <= 0 || Out <= 0) return 0;
    return (size_t)((Out + PCB - 1) / PCB) * PCB * (size_t)In;
}

void ss_spike_pack_f32(int In, int Out, const float *W, int ldw, float *packed) {
    // packed[b][j][c] = W[j][b·PCB + c], zero past Out: each column slab is one contiguous
    // In×PCB block, so its rows never collide in the cache sets (a row stride of 4·Out bytes is
    // often a multiple of 4 KiB, e.g. Out = 3072, which folds all rows onto a few sets).
    for (int b = 0; b * PCB < Out; b++) {
        int w = imin(PCB, Out - b * PCB);
        float *dst = packed + (size_t)b * PCB * In;
        for (int j = 0; j < In; j++) {
            memcpy(dst + (size_t)j * PCB, W + (size_t)j * ldw + (size_t)b * PCB, sizeof(float) * (size_t)w);
            if (w < PCB) memset(dst + (size_t)j * PCB + w, 0, sizeof(float) * (size_t)(PCB - w));
        }
    }
}

void ss_spike_linear_packed_f32(int T, int In, int Out, const float *X, int ldx, const float *packed,
                                int accumulate, float *Y, int ldy) {
    pthread_once(&g_slab_once, slab_pick);
    spike_linear(T, In, Out, X, ldx, packed, PCB, 1, g_slab_path, accumulate, Y, ldy);
}

int ss_spike_linear_packed_on_f32(int path, int T, int In, int Out, const float *X, int ldx, const float *packed,
                                  int accumulate, float *Y, int ldy) {
    pthread_once(&g_slab_once, slab_pick);
    if (path > g_slab_path || path < 0) return 0;   // the paths this CPU has are 0 ... g_slab_path
    spike_linear(T, In, Out, X, ldx, packed, PCB, 1, path, accumulate, Y, ldy);
    return 1;
}

const char *ss_spike_packed_path(void) {
    pthread_once(&g_slab_once, slab_pick);
    return g_slab_path == SS_SPIKE_PATH_AVX512 ? "avx512f" : g_slab_path == SS_SPIKE_PATH_AVX2 ? "avx2-fma" : "portable";
}
