// Event-driven linear in GEMM order: Y[R, Out] = X[R, In] · W[In, Out] for sparse X (spikes
// ±α, binary, ReLU²), bit-identical to the dense ss_gemm_f32 on AVX2+FMA.
//
// What it is: the kernel behind SpikeBERT's fast path, where a layer picks dense GEMM or events by
// the measured firing rate and must give the same numbers either way (so batch = single rows, and
// the choice never moves a spike across its threshold). Two phases:
//   1. ss_events_build: per row r, the ascending nonzeros (j, x[r][j]) and where each 64-input
//      chunk starts in that list (one pass over X, compact.c).
//   2. ss_events_linear_f32: per 96-column slab s of W (packed contiguous [In, 96] by
//      ss_events_pack_f32), for each row r and each 256-input block b (gemm.c's KC):
//        acc = 0;  acc = fma(x[r][j], W[j, slab], acc)  for the active j of b, ascending
//        Y[r, slab] += acc                                 (Y zeroed first)
//      which is exactly the dense micro-kernel's sum with the zero terms left out: an FMA with a
//      zero factor adds exactly +0 (W finite), so skipping it changes no bit.
// Cache: a block is walked in groups of SUBC chunks (SUBC·64 inputs × 96 columns × 4 B = 24 KiB
// at SUBC = 1) over TB rows at a time, so that piece of W stays in L1 while the rows reuse it;
// the running acc of a row is parked in a TB×64 scratch between groups. Rows are independent
// (no cross-row state), so a row's result does not depend on the batch around it.
// Cost: nnz·Out FMAs, each with its own L1 load of W (no register reuse), so the event path
// beats the dense GEMM (6 reuses per loaded B value) below a firing rate of roughly 0.4-0.5.
// What it is not: a general sparse library; it trusts its arguments (Swift checks shapes).

#include "spike_events.h"
#include "kernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

// Must equal KC in gemm.c (the depth block of the dense GEMM): bit-identity depends on it, and
// SpikeBERTFastTests checks it (events vs ss_gemm_f32 on In = 600 > 2 blocks).
#define GEMM_KC 256
// Chunk of inputs whose start is recorded per row (divides GEMM_KC).
#define CHUNK 64
// Slab width of the packed layout (ss_events_pack_f32): 12 ymm accumulators + 1 broadcast.
// 96 rather than spike.c's 64: per event 12 W loads share the index and value loads (14 loads per
// 12 FMAs instead of 10 per 8; loads are the limit). Measured (MiniLM T = 4, batch 1): ~1.1× faster.
#define SLAB 96
// Chunks per L1 group, rows per pass (see header comment). Measured on the bench (MiniLM, T = 4).
#ifndef SUBC
#define SUBC 1
#endif
#ifndef TB
#define TB 32
#endif
// Rows per task (a multiple of TB): 256 rows of events at rate ~0.4 and In = 384 are ~300 KiB.
#define RB 256
// Below this many FMAs stay on the calling thread (pool wake-up ~10-50 µs).
#define PARALLEL_MIN_WORK (1 << 18)

typedef struct {
    int32_t R, In, chunks, pad[13];  // 64-byte header
} events_hdr;

static int g_avx2 = 0, g_avx512 = 0;
static pthread_once_t g_pick = PTHREAD_ONCE_INIT;
static void pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    g_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    g_avx512 = g_avx2 && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512");
#endif
}
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline size_t off_count(int R, int chunks) { return ((size_t)R * (chunks + 1) + 15) & ~(size_t)15; }

size_t ss_events_bytes(int R, int In) {
    int chunks = (In + CHUNK - 1) / CHUNK;
    return sizeof(events_hdr) + 4 * off_count(R, chunks) + 8 * (size_t)R * (size_t)In + 64;
}

static inline int32_t *ev_off(const events_hdr *h) { return (int32_t *)(h + 1); }
static inline int32_t *ev_idx(const events_hdr *h) { return ev_off(h) + off_count(h->R, h->chunks); }
static inline float *ev_val(const events_hdr *h) { return (float *)(ev_idx(h) + (size_t)h->R * h->In); }

// ---------------------------------------------------------------------------------------------
// Packed weights: slab b is the contiguous [In, SLAB] array W[:, b·SLAB ..< b·SLAB + SLAB], zero past Out.

size_t ss_events_packed_count(int In, int Out) {
    if (In <= 0 || Out <= 0) return 0;
    return (size_t)((Out + SLAB - 1) / SLAB) * SLAB * (size_t)In;
}

void ss_events_pack_f32(int In, int Out, const float *W, int ldw, float *packed) {
    for (int b = 0; b * SLAB < Out; b++) {
        int w = imin(SLAB, Out - b * SLAB);
        float *dst = packed + (size_t)b * SLAB * In;
        for (int j = 0; j < In; j++) {
            memcpy(dst + (size_t)j * SLAB, W + (size_t)j * ldw + (size_t)b * SLAB, sizeof(float) * (size_t)w);
            if (w < SLAB) memset(dst + (size_t)j * SLAB + w, 0, sizeof(float) * (size_t)(SLAB - w));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 1: compaction.

typedef struct {
    events_hdr *h;
    const float *X;
    int ldx, parts;
    size_t nnz[64];
} build_job;

static void build_rows(events_hdr *h, const float *X, int ldx, int r0, int r1, size_t *nnz_out) {
    int In = h->In, chunks = h->chunks;
    int32_t *off = ev_off(h), *idx = ev_idx(h);
    float *val = ev_val(h);
    size_t nnz = 0;
    for (int r = r0; r < r1; r++) {
        const float *x = X + (size_t)r * ldx;
        int32_t *o = off + (size_t)r * (chunks + 1), *ix = idx + (size_t)r * In;
        float *vx = val + (size_t)r * In;
        int n = 0;
        for (int c = 0; c < chunks; c++) {
            o[c] = n;
            int j = c * CHUNK;
            n += ss_compact_f32(x + j, imin(In, j + CHUNK) - j, j, ix + n, vx + n, NULL);
        }
        o[chunks] = n;
        nnz += (size_t)n;
    }
    *nnz_out = nnz;
}

static void build_task(void *ctx, int t) {
    build_job *j = ctx;
    int R = j->h->R, per = (R + j->parts - 1) / j->parts;
    int r0 = t * per, r1 = imin(R, r0 + per);
    j->nnz[t] = 0;
    if (r0 < r1) build_rows(j->h, j->X, j->ldx, r0, r1, &j->nnz[t]);
}

size_t ss_events_build(int R, int In, const float *X, int ldx, void *events) {
    events_hdr *h = events;
    pthread_once(&g_pick, pick);
    memset(h, 0, sizeof *h);
    h->R = R;
    h->In = In;
    h->chunks = (In + CHUNK - 1) / CHUNK;
    if (R <= 0 || In <= 0) return 0;
    build_job j = {h, X, ldx, 1, {0}};
    int threads = imin(ss_threads_get(), 64);
    if (threads > 1 && (size_t)R * In >= (1u << 16)) j.parts = imin(threads, R);
    if (j.parts > 1) ss_parallel_run(j.parts, build_task, &j);
    else build_task(&j, 0);
    size_t total = 0;
    for (int t = 0; t < j.parts; t++) total += j.nnz[t];
    return total;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: per slab, rows × blocks × chunk groups.

typedef struct {
    const events_hdr *h;
    const float *packed;
    float *Y;
    int Out, ldy;
    int path;   // SS_EVENTS_PATH_*
} linear_job;

#if defined(SS_X86)
// One slab for every row, written once in spike_events_slab.h and instantiated per ISA: AVX2 holds
// the 96 columns in 12 ymm accumulators, AVX-512F in 6 zmm. Lane c of the slab runs the same FMA
// chain in the same input order, parked and added to Y at the same points, so the two give the
// same bits (and those of the dense GEMM); AVX-512 loads a W row in 6 loads instead of 12.
#define SS_SLAB_NAME slab_task_avx2
#define SS_SLAB_TARGET "avx2,fma"
#define SS_VEC __m256
#define SS_VW 8
#define SS_ALIGN 32
#define SS_ZERO() _mm256_setzero_ps()
#define SS_LOAD(p) _mm256_load_ps(p)
#define SS_STORE(p, v) _mm256_store_ps(p, v)
#define SS_LOADU(p) _mm256_loadu_ps(p)
#define SS_STOREU(p, v) _mm256_storeu_ps(p, v)
#define SS_SET1(p) _mm256_broadcast_ss(p)
#define SS_FMADD(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SS_ADDV(a, b) _mm256_add_ps(a, b)
#define SS_ACC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#include "spike_events_slab.h"

#define SS_SLAB_NAME slab_task_avx512
#define SS_SLAB_TARGET "avx512f,avx2,fma"
#define SS_VEC __m512
#define SS_VW 16
#define SS_ALIGN 64
#define SS_ZERO() _mm512_setzero_ps()
#define SS_LOAD(p) _mm512_load_ps(p)
#define SS_STORE(p, v) _mm512_store_ps(p, v)
#define SS_LOADU(p) _mm512_loadu_ps(p)
#define SS_STOREU(p, v) _mm512_storeu_ps(p, v)
#define SS_SET1(p) _mm512_set1_ps(*(p))
#define SS_FMADD(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SS_ADDV(a, b) _mm512_add_ps(a, b)
#define SS_ACC(X) X(0) X(1) X(2) X(3) X(4) X(5)
#include "spike_events_slab.h"
#endif

// Portable twin (same order; FMA only if the compiler contracts, so bit-identity with the dense
// GEMM then holds only against its portable micro-kernel).
static void slab_task_portable(const linear_job *jb, int s, int r_lo, int r_hi) {
    const events_hdr *h = jb->h;
    int In = h->In, chunks = h->chunks;
    const int32_t *off = ev_off(h), *idx = ev_idx(h);
    const float *val = ev_val(h);
    const float *P = jb->packed + (size_t)s * SLAB * In;
    int c0 = s * SLAB, w = imin(SLAB, jb->Out - c0);
    float acc[SLAB];
    for (int r = r_lo; r < r_hi; r++) {
        float *y = jb->Y + (size_t)r * jb->ldy + c0;
        memset(y, 0, sizeof(float) * (size_t)w);
        const int32_t *o = off + (size_t)r * (chunks + 1);
        for (int kb = 0; kb < In; kb += GEMM_KC) {
            int lo = o[kb / CHUNK], hi = o[imin(chunks, (kb + GEMM_KC) / CHUNK)];
            memset(acc, 0, sizeof acc);
            for (int e = lo; e < hi; e++) {
                const float *p = P + (size_t)idx[(size_t)r * In + e] * SLAB;
                float v = val[(size_t)r * In + e];
                for (int c = 0; c < SLAB; c++) acc[c] += v * p[c];
            }
            for (int c = 0; c < w; c++) y[c] += acc[c];
        }
    }
}

// Task t = (row block t / slabs, slab t % slabs): consecutive tasks share a row block, so its
// event lists stay in L2 across slabs (with one task per slab over all rows, a 32×128 batch at
// T = 4 re-read ~20 MB of events from memory per slab).
static void slab_task(void *ctx, int t) {
    const linear_job *jb = ctx;
    int slabs = (jb->Out + SLAB - 1) / SLAB, rb = t / slabs, s = t % slabs;
    int r_lo = rb * RB, r_hi = imin(jb->h->R, r_lo + RB);
#if defined(SS_X86)
    if (jb->path == SS_EVENTS_PATH_AVX512) { slab_task_avx512(jb, s, r_lo, r_hi); return; }
    if (jb->path == SS_EVENTS_PATH_AVX2) { slab_task_avx2(jb, s, r_lo, r_hi); return; }
#endif
    slab_task_portable(jb, s, r_lo, r_hi);
}

static int best_path(void) {
    pthread_once(&g_pick, pick);
    return g_avx512 ? SS_EVENTS_PATH_AVX512 : g_avx2 ? SS_EVENTS_PATH_AVX2 : SS_EVENTS_PATH_PORTABLE;
}

const char *ss_events_path(void) {
    static const char *names[] = { "portable", "avx2-fma", "avx512f" };
    return names[best_path()];
}

static void events_linear(int path, const void *events, int Out, const float *packed, float *Y, int ldy);

void ss_events_linear_f32(const void *events, int Out, const float *packed, float *Y, int ldy) {
    events_linear(best_path(), events, Out, packed, Y, ldy);
}

int ss_events_linear_on_f32(int path, const void *events, int Out, const float *packed, float *Y, int ldy) {
    pthread_once(&g_pick, pick);
    if ((path == SS_EVENTS_PATH_AVX512 && !g_avx512) || (path == SS_EVENTS_PATH_AVX2 && !g_avx2) ||
        path < 0 || path > SS_EVENTS_PATH_AVX512) return 0;
    events_linear(path, events, Out, packed, Y, ldy);
    return 1;
}

static void events_linear(int path, const void *events, int Out, const float *packed, float *Y, int ldy) {
    const events_hdr *h = events;
    if (h->R <= 0 || Out <= 0) return;
    linear_job jb = {h, packed, Y, Out, ldy, path};
    int slabs = (Out + SLAB - 1) / SLAB, tasks = slabs * ((h->R + RB - 1) / RB);
    // Work ≈ nnz·Out; nnz is the sum of the rows' last offsets.
    size_t total = 0;
    const int32_t *off = ev_off(h);
    for (int r = 0; r < h->R; r++) total += (size_t)off[(size_t)r * (h->chunks + 1) + h->chunks];
    if (ss_threads_get() > 1 && tasks > 1 && total * (size_t)Out >= PARALLEL_MIN_WORK) {
        ss_parallel_run(tasks, slab_task, &jb);
    } else {
        for (int t = 0; t < tasks; t++) slab_task(&jb, t);
    }
}
