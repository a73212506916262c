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
//         2. for each block of CB output columns, for each token: 12 ymm accumulators hold
//            y[t, c0:c0+96] while the token's active W rows stream through      (parallel over
//            column blocks; a block of W, In×CB×4 B = 288 KiB at In = 768, stays in the 512 KiB
//            L2 while all T tokens reuse it).
// What it is not: a sparse-matrix library (X is dense storage; only zeros are skipped), and it
// does not exploit binary values (x = 1 still multiplies; the FMA costs the same as an add).

#include "kernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

// Column block: 96 = 12 ymm accumulators (+1 broadcast register of 16), see the file header.
#ifndef CB
#define CB 96
#endif
#ifndef SS_PD
#define SS_PD 2
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
            if (a + SS_PD < n) {  // the row SS_PD spikes ahead: its lines arrive from L2 in time
                const char *q = (const char *)(W + (size_t)idx[a + SS_PD] * ldw + c);
                _mm_prefetch(q, _MM_HINT_T0);
                _mm_prefetch(q + 64, _MM_HINT_T0);
                _mm_prefetch(q + 128, _MM_HINT_T0);
                _mm_prefetch(q + 192, _MM_HINT_T0);
                _mm_prefetch(q + 256, _MM_HINT_T0);
                _mm_prefetch(q + 320, _MM_HINT_T0);
            }
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
// Scratch (per calling thread, grown as needed, freed at thread exit): active lists.

typedef struct { int32_t *idx; float *val; int *cnt; size_t cap, tcap; } scratch_t;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static void scratch_free(void *p) {
    scratch_t *s = p;
    free(s->idx); free(s->val); free(s->cnt); free(s);
}
static void key_make(void) { pthread_key_create(&g_key, scratch_free); }

static scratch_t *scratch_get(size_t entries, size_t tokens) {
    pthread_once(&g_key_once, key_make);
    scratch_t *s = pthread_getspecific(g_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        pthread_setspecific(g_key, s);
    }
    if (s->cap < entries) {
        free(s->idx); free(s->val);
        s->idx = malloc(sizeof(int32_t) * entries);
        s->val = malloc(sizeof(float) * entries);
        s->cap = (s->idx && s->val) ? entries : 0;
        if (!s->cap) return NULL;
    }
    if (s->tcap < tokens) {
        free(s->cnt);
        s->cnt = malloc(sizeof(int) * tokens);
        s->tcap = s->cnt ? tokens : 0;
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
    int *cnt;
    int tok_step;   // tokens per task (both phases)
    int col_blocks; // column blocks of CB in phase 2
    size_t block_stride; // floats from one column block of W to the next (CB, or In·CB packed)
    rows_fn rows;
} spike_job;

// Phase 1: idx[t][0..<cnt[t]] = { j : x[t][j] ≠ 0 } in increasing j, val = the x values.
static void compact_task(void *ctx, int task) {
    const spike_job *jb = ctx;
    int t0 = task * jb->tok_step, t1 = imin(jb->T, t0 + jb->tok_step);
    for (int t = t0; t < t1; t++) {
        const float *x = jb->X + (size_t)t * jb->ldx;
        int32_t *ix = jb->idx + (size_t)t * jb->In;
        float *vx = jb->val + (size_t)t * jb->In;
        int n = 0;
        for (int j = 0; j < jb->In; j++) {
            float v = x[j];
            ix[n] = j;          // branch-free compaction: always write, advance only if nonzero
            vx[n] = v;
            n += v != 0.0f;
        }
        jb->cnt[t] = n;
    }
}

// Phase 2: task = (column block, token chunk). All tokens of the chunk reuse the W block.
static void accumulate_task(void *ctx, int task) {
    const spike_job *jb = ctx;
    int cbk = task % jb->col_blocks, tchunk = task / jb->col_blocks;
    int c0 = cbk * CB, w = imin(CB, jb->Out - c0);
    int t0 = tchunk * jb->tok_step, t1 = imin(jb->T, t0 + jb->tok_step);
    for (int t = t0; t < t1; t++)
        jb->rows(jb->cnt[t], jb->idx + (size_t)t * jb->In, jb->val + (size_t)t * jb->In,
                 jb->W + (size_t)cbk * jb->block_stride,
                 (size_t)jb->ldw, jb->Y + (size_t)t * jb->ldy + c0, w, jb->accumulate);
}

static void spike_linear(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                         size_t block_stride, int accumulate, float *Y, int ldy) {
    if (T <= 0 || Out <= 0) return;
    if (In <= 0) {
        if (!accumulate)
            for (int t = 0; t < T; t++) memset(Y + (size_t)t * ldy, 0, sizeof(float) * (size_t)Out);
        return;
    }
    scratch_t *s = scratch_get((size_t)T * In, (size_t)T);
    if (!s) {  // no memory for the lists: the reference gives the same answer, slower
        for (int b = 0; b * CB < Out; b++)
            ss_spike_linear_naive_f32(T, In, imin(CB, Out - b * CB), X, ldx, W + (size_t)b * block_stride, ldw,
                                      accumulate, Y + (size_t)b * CB, ldy);
        return;
    }
    spike_job jb = {T, In, Out, ldx, ldw, ldy, accumulate, X, W, Y, s->idx, s->val, s->cnt, 0, 0, block_stride,
                     rows_kernel()};
    int threads = ss_threads_get();

    // Phase 1, in chunks of ≥ 16 tokens (a 768-wide row scan is ~1 µs; smaller tasks cost more
    // to hand out than they save); one chunk when the whole scan is small.
    jb.tok_step = (T + 2 * threads - 1) / (2 * threads);
    if (jb.tok_step < 16) jb.tok_step = 16;
    if (jb.tok_step > T || (size_t)T * In < (1u << 16)) jb.tok_step = T;
    int tasks1 = (T + jb.tok_step - 1) / jb.tok_step;
    ss_parallel_run(tasks1, compact_task, &jb);

    // Phase 2. Work estimate nnz·Out decides serial vs parallel.
    size_t nnz = 0;
    for (int t = 0; t < T; t++) nnz += (size_t)s->cnt[t];
    jb.col_blocks = (Out + CB - 1) / CB;
    if (threads <= 1 || (double)nnz * Out < PARALLEL_MIN_MACS) {
        jb.tok_step = T;
        for (int b = 0; b < jb.col_blocks; b++) accumulate_task(&jb, b);
        return;
    }
    // Enough column blocks: one task per block (all T tokens). Too few (narrow Out): also cut
    // the tokens so every thread gets work.
    int chunks = jb.col_blocks >= 2 * threads ? 1 : imin(T, 2 * threads);
    jb.tok_step = (T + chunks - 1) / chunks;
    chunks = (T + jb.tok_step - 1) / jb.tok_step;
    ss_parallel_run(jb.col_blocks * chunks, accumulate_task, &jb);
}

void ss_spike_linear_f32(int T, int In, int Out, const float *X, int ldx, const float *W, int ldw,
                         int accumulate, float *Y, int ldy) {
    spike_linear(T, In, Out, X, ldx, W, ldw, CB, accumulate, Y, ldy);
}

size_t ss_spike_packed_count(int In, int Out) {
    return (size_t)((Out + CB - 1) / CB) * CB * (size_t)(In > 0 ? In : 0);
}

void ss_spike_pack_f32(int In, int Out, const float *W, int ldw, float *packed) {
    // packed[b][j][c] = W[j][b·CB + c], zero past Out: each column block is one contiguous
    // In×CB slab, so its rows do not collide in the cache sets (row stride 4·Out bytes is often a
    // multiple of 4 KiB, e.g. Out = 3072, which folds all rows onto 1/16 of the L2 sets).
    for (int b = 0; b * CB < Out; b++) {
        int w = imin(CB, Out - b * CB);
        float *dst = packed + (size_t)b * CB * In;
        for (int j = 0; j < In; j++) {
            memcpy(dst + (size_t)j * CB, W + (size_t)j * ldw + (size_t)b * CB, sizeof(float) * (size_t)w);
            if (w < CB) memset(dst + (size_t)j * CB + w, 0, sizeof(float) * (size_t)(CB - w));
        }
    }
}

void ss_spike_linear_packed_f32(int T, int In, int Out, const float *X, int ldx, const float *packed,
                                int accumulate, float *Y, int ldy) {
    spike_linear(T, In, Out, X, ldx, packed, CB, (size_t)CB * In, accumulate, Y, ldy);
}
