// GEMM: C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, row-major, leading dimensions.
//
// What it is: the cache-blocked, packed, register-blocked SGEMM behind Tensor.matmul, in the
// Goto/BLIS layout (loops jc → pc → ic → jr → ir around a 6×16 micro-kernel):
//   for jc in N step NC:             B panel [KC, NC] packed into 16-column slivers   (L3)
//     for pc in K step KC:
//       for ic in M step MC:         A panel [MC, KC] packed into 6-row slivers, ×alpha (L2)
//         for jr, ir:                C[6,16] += Ã[6,KC]·B̃[KC,16] in 12 ymm accumulators (L1/regs)
// Packing makes every micro-kernel load contiguous and aligned whatever the transposes and
// leading dimensions are, and zero-pads edge slivers so the micro-kernel always runs a full 6×16
// tile; edge tiles (M % 6, N % 16) are written back through a small buffer.
// Micro-kernels: AVX2+FMA (x86-64, chosen at run time; with AVX-512F, full 12-row tiles go to a
// 12×16 zmm kernel of the same per-element arithmetic), NEON (arm64), portable C elsewhere.
// Parallelism: the larger of M and N is cut into ss_threads_get() strips run by the pool in
// threadpool.c; each strip is an independent serial GEMM with its own (thread-local) buffers.
// What it is not: a BLAS (no complex/double, no column-major API); not tuned for M ≤ 4 (GEMV).
// ss_gemm_naive_f32 is the scalar reference (triple loop, double accumulator), kept forever.

#include "kernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

// Register tile: 6 rows × 16 columns = 12 ymm accumulators + 2 for B + 1 broadcast of A (of 16
// ymm registers; the BLIS Haswell/Zen sgemm kernel uses the same 6×16 shape for this reason).
#define MR 6
#define NR 16
// Cache blocks (measured on AMD EPYC Zen 3, 32 KiB L1d / 512 KiB L2 per core, see the commit
// body for the sweep): a B sliver KC×16×4 B = 16 KiB stays in L1 while an A panel MC×KC×4 B
// = 96 KiB stays in L2; the packed B panel KC×NC×4 B = 2 MiB lives in L3.
#ifndef MC
#define MC 96
#endif
#ifndef KC
#define KC 256
#endif
#ifndef NC
#define NC 2048
#endif
// Below this many multiply-adds a GEMM runs on the calling thread only: waking the pool costs
// ~10-50 µs, which is 1M MACs at ~30 GFLOP/s per core.
#define PARALLEL_MIN_MACS (1 << 20)

typedef void (*ukr_fn)(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, int set);

static inline int imin(int a, int b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------------------------
// Scalar reference.

void ss_gemm_naive_f32(int ta, int tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;  // C[i][j] = Σ_k A[i][k]·B[k][j]
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += (double)a * b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
            C[(size_t)i * ldc + j] = alpha * (float)acc + prev;
        }
}

// ---------------------------------------------------------------------------------------------
// Packing. op(A) block rows [0,mc) × depth [0,kc) → slivers of MR rows: dst[s][k][r] =
// alpha · op(A)[s·MR + r][k], rows past mc are zero. A points at op(A)[0][0] of the block.

static void pack_a(int ta, int mc, int kc, const float *A, int lda, float alpha, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
        int m = imin(MR, mc - i0);
        if (!ta) {
            // op(A)[i][k] = A[i·lda + k]: MR row streams, interleaved.
            const float *row[MR];
            for (int r = 0; r < MR; r++) row[r] = A + (size_t)(i0 + (r < m ? r : 0)) * lda;
            for (int k = 0; k < kc; k++)
                for (int r = 0; r < MR; r++) dst[k * MR + r] = r < m ? alpha * row[r][k] : 0.0f;
        } else {
            // op(A)[i][k] = A[k·lda + i]: already MR-contiguous per k.
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)k * lda + i0;
                for (int r = 0; r < MR; r++) dst[k * MR + r] = r < m ? alpha * src[r] : 0.0f;
            }
        }
    }
}

// A (not transposed) rows [0, mc) in 4-row slivers: dst[k·4 + r] = alpha·A[r][k], zero past mc.
static void pack_a4(int mc, int kc, const float *A, int lda, float alpha, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += 4, dst += 4 * kc) {
        int m = imin(4, mc - i0);
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < 4; r++) dst[k * 4 + r] = r < m ? alpha * A[(size_t)(i0 + r) * lda + k] : 0.0f;
    }
}

// op(B) block depth [0,kc) × columns [0,nc) → slivers of NR columns: dst[s][k][c] =
// op(B)[k][s·NR + c], columns past nc are zero. B points at op(B)[0][0] of the block.
static void pack_b(int tb, int kc, int nc, const float *B, int ldb, float *dst) {
    for (int j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
        int n = imin(NR, nc - j0);
        if (!tb) {
            // op(B)[k][j] = B[k·ldb + j]: copy NR-wide row pieces.
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)k * ldb + j0;
                float *d = dst + k * NR;
                if (n == NR) memcpy(d, src, NR * sizeof(float));
                else {
                    for (int c = 0; c < n; c++) d[c] = src[c];
                    for (int c = n; c < NR; c++) d[c] = 0.0f;
                }
            }
        } else {
            // op(B)[k][j] = B[j·ldb + k]: each stored row is one column of the sliver.
            for (int c = 0; c < NR; c++) {
                if (c < n) {
                    const float *src = B + (size_t)(j0 + c) * ldb;
                    for (int k = 0; k < kc; k++) dst[k * NR + c] = src[k];
                } else {
                    for (int k = 0; k < kc; k++) dst[k * NR + c] = 0.0f;
                }
            }
        }
    }
}

// Adds (set: writes) a full MR×NR tile buffer into C, only the top-left m×n part.
static inline void add_tile(const float *t, float *c, int ldc, int m, int n, int set) {
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) c[(size_t)r * ldc + j] = set ? t[r * NR + j] : c[(size_t)r * ldc + j] + t[r * NR + j];
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels: C[m,n] += Ã[MR,kc] · B̃[kc,NR] (packed, zero-padded), m ≤ MR, n ≤ NR; with
// `set`, C[m,n] = the product instead (the first depth block when β = 0: no zeroing pass; the
// accumulators start at +0, so the product is never −0 where 0 + product would be +0: same bits).

// Portable: C[r][c] += Σ_k a[k][r] · b[k][c]; the compiler vectorises the c loop.
static void ukr_portable(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, int set) {
    float acc[MR * NR];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++, a += MR, b += NR)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r * NR + j] += a[r] * b[j];
    add_tile(acc, c, ldc, m, n, set);
}

#if defined(SS_X86)
// AVX2+FMA: per k, two 8-wide loads of B̃[k][0:16], six broadcasts of Ã[k][r], twelve FMAs:
//   c_r0 += a[k][r] · b[k][0:8],  c_r1 += a[k][r] · b[k][8:16]
__attribute__((target("avx2,fma")))
static void ukr_avx2(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                     int ldc, int m, int n, int set) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    // Touch the C tile early so its lines arrive while the k loop runs.
    for (int r = 0; r < m; r++) _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
    for (int r = 0; r < m; r++) _mm_prefetch((const char *)(c + (size_t)r * ldc + NR - 1), _MM_HINT_T0);
#define SS_STEP(off)                                                                              \
    do {                                                                                          \
        __m256 b0 = _mm256_load_ps(b + (off) * NR), b1 = _mm256_load_ps(b + (off) * NR + 8);      \
        __m256 av;                                                                                \
        av = _mm256_broadcast_ss(a + (off) * MR + 0);                                             \
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);                   \
        av = _mm256_broadcast_ss(a + (off) * MR + 1);                                             \
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);                   \
        av = _mm256_broadcast_ss(a + (off) * MR + 2);                                             \
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);                   \
        av = _mm256_broadcast_ss(a + (off) * MR + 3);                                             \
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);                   \
        av = _mm256_broadcast_ss(a + (off) * MR + 4);                                             \
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);                   \
        av = _mm256_broadcast_ss(a + (off) * MR + 5);                                             \
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);                   \
    } while (0)
    int k = 0;
    for (; k + 4 <= kc; k += 4, a += 4 * MR, b += 4 * NR) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR + 16), _MM_HINT_T0);
        SS_STEP(0); SS_STEP(1); SS_STEP(2); SS_STEP(3);
    }
    for (; k < kc; k++, a += MR, b += NR) SS_STEP(0);
#undef SS_STEP
    if (m == MR && n == NR && set) {
#define SS_SET(r, lo, hi) _mm256_storeu_ps(c + (size_t)(r) * ldc, lo); _mm256_storeu_ps(c + (size_t)(r) * ldc + 8, hi)
        SS_SET(0, c00, c01); SS_SET(1, c10, c11); SS_SET(2, c20, c21);
        SS_SET(3, c30, c31); SS_SET(4, c40, c41); SS_SET(5, c50, c51);
#undef SS_SET
    } else if (m == MR && n == NR) {
        // C[r][0:16] += c_r
#define SS_ADD(r, lo, hi)                                                                         \
        _mm256_storeu_ps(c + (size_t)(r) * ldc, _mm256_add_ps(_mm256_loadu_ps(c + (size_t)(r) * ldc), lo)); \
        _mm256_storeu_ps(c + (size_t)(r) * ldc + 8, _mm256_add_ps(_mm256_loadu_ps(c + (size_t)(r) * ldc + 8), hi))
        SS_ADD(0, c00, c01); SS_ADD(1, c10, c11); SS_ADD(2, c20, c21);
        SS_ADD(3, c30, c31); SS_ADD(4, c40, c41); SS_ADD(5, c50, c51);
#undef SS_ADD
    } else {
        // Edge tile: spill the accumulators, add only the valid m×n part.
        _Alignas(32) float t[MR * NR];
        _mm256_store_ps(t + 0 * NR, c00); _mm256_store_ps(t + 0 * NR + 8, c01);
        _mm256_store_ps(t + 1 * NR, c10); _mm256_store_ps(t + 1 * NR + 8, c11);
        _mm256_store_ps(t + 2 * NR, c20); _mm256_store_ps(t + 2 * NR + 8, c21);
        _mm256_store_ps(t + 3 * NR, c30); _mm256_store_ps(t + 3 * NR + 8, c31);
        _mm256_store_ps(t + 4 * NR, c40); _mm256_store_ps(t + 4 * NR + 8, c41);
        _mm256_store_ps(t + 5 * NR, c50); _mm256_store_ps(t + 5 * NR + 8, c51);
        add_tile(t, c, ldc, m, n, set);
    }
}
#endif

#if defined(SS_X86)
// The 4-row twin of ukr_avx2 for the last rows of a panel (A packed 4 rows per k): eight FMA
// chains are still enough to keep both FMA pipes busy, so 4 rows cost 4/6 of a 6-row tile instead
// of a whole one. Each element is computed as in ukr_avx2 (k-ordered FMAs from zero, then added
// to C), so the bits are the same.
__attribute__((target("avx2,fma")))
static void ukr4_avx2(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                      int ldc, int m, int n, int set) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, a += 4, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), av;
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    }
    _Alignas(32) float t[MR * NR];   // rows 4, 5 unused
    _mm256_store_ps(t + 0 * NR, c00); _mm256_store_ps(t + 0 * NR + 8, c01);
    _mm256_store_ps(t + 1 * NR, c10); _mm256_store_ps(t + 1 * NR + 8, c11);
    _mm256_store_ps(t + 2 * NR, c20); _mm256_store_ps(t + 2 * NR + 8, c21);
    _mm256_store_ps(t + 3 * NR, c30); _mm256_store_ps(t + 3 * NR + 8, c31);
    add_tile(t, c, ldc, m, n, set);
}
#endif

#if defined(SS_X86)
// C rows r < rows of a 16-column sliver ← acc[r] (set) or C + acc[r], the first n columns only:
// the end of every AVX-512F micro-kernel below.
__attribute__((target("avx512f")))
static inline void store_rows_avx512(const __m512 *acc, int rows, float *c, int ldc, int n, int set) {
    __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    for (int r = 0; r < rows; r++) {
        float *row = c + (size_t)r * ldc;
        __m512 v = set ? acc[r] : _mm512_add_ps(_mm512_maskz_loadu_ps(mask, row), acc[r]);
        _mm512_mask_storeu_ps(row, mask, v);
    }
}
#endif

#if defined(SS_X86)
// AVX-512F: two packed 6-row slivers (rows ir..ir+11) against one 16-column sliver of B̃, one
// zmm accumulator per row: per k one 16-wide load of B̃[k][0:16], twelve FMAs with A broadcast
// from memory. Twelve independent chains keep two 512-bit FMA pipes full (latency 4). Each
// element is k-ordered FMAs from +0, then set or added to C: exactly ukr_avx2's arithmetic per
// element, so the result has the same bits (tests compare them where the CPU has both).
// Only full 12-row tiles; n ≤ 16 columns (masked loads/stores).
typedef void (*ukr12_fn)(int kc, const float *a0, const float *a1, const float *b, float *c, int ldc, int n, int set);

__attribute__((target("avx512f")))
static void ukr12_avx512(int kc, const float *restrict a0, const float *restrict a1, const float *restrict b,
                         float *restrict c, int ldc, int n, int set) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
    __m512 c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    for (int r = 0; r < 12; r++) _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
    for (int k = 0; k < kc; k++, a0 += MR, a1 += MR, b += NR) {
        if ((k & 3) == 0) _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        __m512 bv = _mm512_load_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[0]), bv, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a0[1]), bv, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a0[2]), bv, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a0[3]), bv, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a0[4]), bv, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a0[5]), bv, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a1[0]), bv, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a1[1]), bv, c7);
        c8 = _mm512_fmadd_ps(_mm512_set1_ps(a1[2]), bv, c8);
        c9 = _mm512_fmadd_ps(_mm512_set1_ps(a1[3]), bv, c9);
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(a1[4]), bv, c10);
        c11 = _mm512_fmadd_ps(_mm512_set1_ps(a1[5]), bv, c11);
    }
    __m512 acc[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    store_rows_avx512(acc, 12, c, ldc, n, set);
}
#endif

#if defined(SS_X86)
// AVX-512F for the 8 tail rows of a packed-B panel (two 4-row slivers packed by pack_a4, as
// ukr4_avx2 reads them): one zmm accumulator per row, eight chains, one 16-wide load of B̃ per k
// where ukr4_avx2 makes two 4-row passes of two ymm loads. Per element the same k-ordered FMAs
// from +0, then set or added to C: the same bits. mc = 32 (a 32-token batch) = 12 + 12 + 8 rows.
__attribute__((target("avx512f")))
static void ukr8_avx512(int kc, const float *restrict a0, const float *restrict a1, const float *restrict b,
                        float *restrict c, int ldc, int n, int set) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++, a0 += 4, a1 += 4, b += NR) {
        __m512 bv = _mm512_load_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[0]), bv, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a0[1]), bv, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a0[2]), bv, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a0[3]), bv, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a1[0]), bv, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a1[1]), bv, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a1[2]), bv, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a1[3]), bv, c7);
    }
    __m512 acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
    store_rows_avx512(acc, 8, c, ldc, n, set);
}
#endif

#if defined(SS_X86)
// AVX-512F for a lone full 6-row sliver (a 10-token sentence: 6 + 4 rows): six zmm chains, one
// 16-wide load of B̃ per k. Six chains leave the FMA pipes a quarter idle (latency 4 × 2 pipes),
// still fewer instructions than ukr_avx2's twelve ymm chains. Same arithmetic per element: same bits.
__attribute__((target("avx512f")))
static void ukr6_avx512(int kc, const float *restrict a, const float *restrict unused, const float *restrict b,
                        float *restrict c, int ldc, int n, int set) {
    (void)unused;
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
    __m512 c3 = _mm512_setzero_ps(), c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m512 bv = _mm512_load_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bv, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bv, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bv, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bv, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bv, c5);
    }
    __m512 acc[6] = {c0, c1, c2, c3, c4, c5};
    store_rows_avx512(acc, 6, c, ldc, n, set);
}
#endif

#if defined(__ARM_NEON) && defined(__aarch64__)
// NEON (arm64, 32 q registers): 6×16 = 24 accumulators of 4 lanes, 4 B registers, 2 for A.
//   acc[r][q] += a[k][r] · b[k][4q:4q+4]
static void ukr_neon(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                     int ldc, int m, int n, int set) {
    float32x4_t acc[MR][4];
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_f32(0.0f);
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        for (int r = 0; r < MR; r++) {
            float ar = a[r];
            acc[r][0] = vfmaq_n_f32(acc[r][0], b0, ar);
            acc[r][1] = vfmaq_n_f32(acc[r][1], b1, ar);
            acc[r][2] = vfmaq_n_f32(acc[r][2], b2, ar);
            acc[r][3] = vfmaq_n_f32(acc[r][3], b3, ar);
        }
    }
    float t[MR * NR];
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) vst1q_f32(t + r * NR + 4 * q, acc[r][q]);
    add_tile(t, c, ldc, m, n, set);
}
#endif

// Chosen once: the best micro-kernel this CPU runs.
static ukr_fn pick_kernel(const char **name) {
#if defined(SS_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *name = "avx2-fma 6x16";
        return ukr_avx2;
    }
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
    *name = "neon 6x16";
    return ukr_neon;
#endif
    *name = "portable 6x16";
    return ukr_portable;
}

static pthread_once_t g_pick_once = PTHREAD_ONCE_INIT;
static ukr_fn g_ukr;
static const char *g_ukr_name;
static ukr_fn g_ukr4;   // the 4-row kernel where there is one (AVX2), else NULL
#if !defined(SS_X86)
typedef void (*ukr12_fn)(int kc, const float *a0, const float *a1, const float *b, float *c, int ldc, int n, int set);
#endif
static ukr12_fn g_ukr12; // the 12-row kernel (AVX-512F) for pairs of full slivers, else NULL
static ukr12_fn g_ukr8;  // the 8-row kernel (AVX-512F) for pairs of full 4-row tail slivers, else NULL
static ukr12_fn g_ukr6;  // the 6-row kernel (AVX-512F) for a lone full sliver, else NULL
static void pick_once(void) {
    g_ukr = pick_kernel(&g_ukr_name);
#if defined(SS_X86)
    if (g_ukr == ukr_avx2) g_ukr4 = ukr4_avx2;
    // Same bits as ukr_avx2 per element, twice the width: full 12-row tiles go to it.
    if (g_ukr == ukr_avx2 && __builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512")) {
        g_ukr12 = ukr12_avx512;
        g_ukr8 = ukr8_avx512;
        g_ukr6 = ukr6_avx512;
        g_ukr_name = "avx512f 12x16, 8x16, 6x16 (avx2-fma edges)";
    }
#endif
}

const char *ss_gemm_kernel_name(void) {
    pthread_once(&g_pick_once, pick_once);
    return g_ukr_name;
}

// ---------------------------------------------------------------------------------------------
// Per-thread packing buffers (allocated on a thread's first GEMM, freed when the thread exits).

typedef struct { float *a, *b; } bufs_t;
static pthread_key_t g_buf_key;
static pthread_once_t g_buf_once = PTHREAD_ONCE_INIT;
static void bufs_free(void *p) {
    bufs_t *bf = p;
    free(bf->a);
    free(bf->b);
    free(bf);
}
static void bufs_key_make(void) { pthread_key_create(&g_buf_key, bufs_free); }

static bufs_t *thread_bufs(void) {
    pthread_once(&g_buf_once, bufs_key_make);
    bufs_t *bf = pthread_getspecific(g_buf_key);
    if (bf) return bf;
    bf = calloc(1, sizeof *bf);
    if (!bf) return NULL;
    // 64-byte alignment: whole cache lines, and aligned 32-byte AVX loads.
    if (posix_memalign((void **)&bf->a, 64, sizeof(float) * MC * KC) != 0) bf->a = NULL;
    if (posix_memalign((void **)&bf->b, 64, sizeof(float) * KC * NC) != 0) bf->b = NULL;
    if (!bf->a || !bf->b) { bufs_free(bf); return NULL; }
    pthread_setspecific(g_buf_key, bf);
    return bf;
}

// ---------------------------------------------------------------------------------------------
// Serial blocked GEMM on one strip.

static void gemm_blocked(ukr_fn ukr, ukr12_fn ukr12, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    // C ← beta·C first (beta = 0 writes zeros, so NaN/garbage in C is ignored, as in BLAS),
    // then every micro-kernel call only adds.
    if (beta != 1.0f)
        for (int i = 0; i < M; i++) {
            float *row = C + (size_t)i * ldc;
            if (beta == 0.0f) memset(row, 0, sizeof(float) * N);
            else for (int j = 0; j < N; j++) row[j] *= beta;
        }
    if (alpha == 0.0f || K == 0) return;
    bufs_t *bf = thread_bufs();
    if (!bf) {  // out of memory for 2 MiB of buffers: still give the right answer
        ss_gemm_naive_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, 1.0f, C, ldc);
        return;
    }
    for (int jc = 0; jc < N; jc += NC) {
        int nc = imin(NC, N - jc);
        for (int pc = 0; pc < K; pc += KC) {
            int kc = imin(KC, K - pc);
            const float *Bp = tb ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc;
            pack_b(tb, kc, nc, Bp, ldb, bf->b);
            for (int ic = 0; ic < M; ic += MC) {
                int mc = imin(MC, M - ic);
                const float *Ap = ta ? A + (size_t)pc * lda + ic : A + (size_t)ic * lda + pc;
                pack_a(ta, mc, kc, Ap, lda, alpha, bf->a);
                for (int jr = 0; jr < nc; jr += NR) {
                    const float *bs = bf->b + (size_t)jr * kc;
                    int ir = 0;
                    if (ukr12)
                        for (; ir + 2 * MR <= mc; ir += 2 * MR)
                            ukr12(kc, bf->a + (size_t)ir * kc, bf->a + (size_t)(ir + MR) * kc, bs,
                                  C + (size_t)(ic + ir) * ldc + jc + jr, ldc, imin(NR, nc - jr), 0);
                    for (; ir < mc; ir += MR)
                        ukr(kc, bf->a + (size_t)ir * kc, bs, C + (size_t)(ic + ir) * ldc + jc + jr, ldc,
                            imin(MR, mc - ir), imin(NR, nc - jr), 0);
                }
            }
        }
    }
}

static void gemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    pthread_once(&g_pick_once, pick_once);
    gemm_blocked(g_ukr, g_ukr12, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void ss_gemm_portable_f32(int ta, int tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    gemm_blocked(ukr_portable, NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void ss_gemm_simd_f32(int wide, int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    pthread_once(&g_pick_once, pick_once);
    gemm_blocked(g_ukr, wide ? g_ukr12 : NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int ss_gemm_has_wide_kernel(void) {
    pthread_once(&g_pick_once, pick_once);
    return g_ukr12 != NULL;
}

// ---------------------------------------------------------------------------------------------
// Parallel driver: strips of N (multiples of NR) or of M (multiples of MR).

typedef struct {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_n;  // 1: strips of columns, 0: strips of rows
    int step;     // strip width (a multiple of NR or MR)
} gemm_job;

static void gemm_task(void *ctx, int t) {
    const gemm_job *j = ctx;
    if (j->split_n) {
        int j0 = t * j->step, j1 = imin(j->N, j0 + j->step);
        if (j0 >= j1) return;
        const float *Bs = j->tb ? j->B + (size_t)j0 * j->ldb : j->B + j0;
        gemm_serial(j->ta, j->tb, j->M, j1 - j0, j->K, j->alpha, j->A, j->lda, Bs, j->ldb, j->beta,
                    j->C + j0, j->ldc);
    } else {
        int i0 = t * j->step, i1 = imin(j->M, i0 + j->step);
        if (i0 >= i1) return;
        const float *As = j->ta ? j->A + i0 : j->A + (size_t)i0 * j->lda;
        gemm_serial(j->ta, j->tb, i1 - i0, j->N, j->K, j->alpha, As, j->lda, j->B, j->ldb, j->beta,
                    j->C + (size_t)i0 * j->ldc, j->ldc);
    }
}

void ss_gemm_f32(int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int threads = ss_threads_get();
    double macs = (double)M * N * K;
    if (threads <= 1 || macs < PARALLEL_MIN_MACS) {
        gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = {ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, 0, 0};
    // Cut the longer side into `threads` strips, rounded up to whole register tiles.
    j.split_n = N >= M;
    int len = j.split_n ? N : M, tile = j.split_n ? NR : MR;
    int tiles = (len + tile - 1) / tile;
    int parts = imin(threads, tiles);
    j.step = (tiles + parts - 1) / parts * tile;
    parts = (len + j.step - 1) / j.step;
    ss_parallel_run(parts, gemm_task, &j);
}

// ---------------------------------------------------------------------------------------------
// B packed once (model weights): the same slivers pack_b makes, for every depth block at once.
// Block pc (rows pc ..< pc+kc of op(B)) starts at dst + pc·N16, its sliver jr/NR at + jr·kc.
// A GEMM on it runs exactly the micro-kernel calls of gemm_blocked (same depth blocks, same
// order per C tile), so the result has the same bits as ss_gemm_f32; it only skips re-packing
// B on every call (~40% of a 32-row product's time).

static inline int round_nr(int n) { return (n + NR - 1) / NR * NR; }

size_t ss_gemm_packed_b_count(int K, int N) {
    if (K <= 0 || N <= 0) return 0;
    return (size_t)round_nr(N) * (size_t)K;
}

void ss_gemm_pack_b_f32(int tb, int K, int N, const float *B, int ldb, float *dst) {
    int n16 = round_nr(N);
    for (int pc = 0; pc < K; pc += KC) {
        int kc = imin(KC, K - pc);
        const float *Bp = tb ? B + pc : B + (size_t)pc * ldb;
        pack_b(tb, kc, N, Bp, ldb, dst + (size_t)pc * n16);
    }
}

// Serial: rows [0, M) of A against columns [n0, n1) of the packed B (n0 a multiple of NR).
// Rows of an mc-row panel that go to 4-row tiles: the remainder of mc mod 6 when that is 1–4
// (a 6-row tile would compute 2–5 padded rows), plus one 6-row tile's worth when the remainder is
// 2 (8 = 4 + 4 rows). 0 or 5 left over: all 6-row tiles.
static int tail_rows(int mc) {
    int rem = mc % MR;
    if (rem == 0 || rem == 5) return 0;
    if (rem == 2 && mc >= 8) return 8;
    return rem;
}

static void gemm_packed_blocked(ukr_fn ukr, ukr_fn ukr4, ukr12_fn ukr12, ukr12_fn ukr8, ukr12_fn ukr6, int M, int n0, int n1, int N, int K, float alpha,
                                const float *A, int lda, const float *Bp, float beta, float *C, int ldc) {
    int w = n1 - n0;
    // β = 0: the first depth block writes C (no zeroing pass); otherwise scale C first.
    int set_first = beta == 0.0f && alpha != 0.0f && K > 0;
    if (beta != 1.0f && !set_first)
        for (int i = 0; i < M; i++) {
            float *row = C + (size_t)i * ldc + n0;
            if (beta == 0.0f) memset(row, 0, sizeof(float) * w);
            else for (int j = 0; j < w; j++) row[j] *= beta;
        }
    if (alpha == 0.0f || K == 0) return;
    bufs_t *bf = thread_bufs();
    int n16 = round_nr(N);
    // Without the per-thread A buffer (out of memory), pack A one MR-row sliver at a time on the
    // stack: slower, same calls, same bits.
    _Alignas(64) float a_small[MR * KC];
    float *abuf = bf ? bf->a : a_small;
    int mcmax = bf ? MC : MR;
    for (int pc = 0; pc < K; pc += KC) {
        int kc = imin(KC, K - pc);
        const float *Bblk = Bp + (size_t)pc * n16;
        for (int ic = 0; ic < M; ic += mcmax) {
            int mc = imin(mcmax, M - ic);
            // Rows [0, h6) in 6-row tiles; with the 4-row kernel the tail rows [h6, mc) go in
            // 4-row tiles (mc = 32: 6·4 + 4·2 rows, no padded row computed) — see tail_rows.
            int h6 = ukr4 ? mc - tail_rows(mc) : mc, set = set_first && pc == 0;
            pack_a(0, h6, kc, A + (size_t)ic * lda + pc, lda, alpha, abuf);
            float *a4 = abuf + (size_t)((h6 + MR - 1) / MR) * MR * kc;
            if (h6 < mc) pack_a4(mc - h6, kc, A + (size_t)(ic + h6) * lda + pc, lda, alpha, a4);
            for (int jr = n0; jr < n1; jr += NR) {
                const float *bs = Bblk + (size_t)jr * kc;
                int n = imin(NR, n1 - jr);
                int ir = 0;
                if (ukr12)
                    for (; ir + 2 * MR <= h6; ir += 2 * MR)
                        ukr12(kc, abuf + (size_t)ir * kc, abuf + (size_t)(ir + MR) * kc, bs, C + (size_t)(ic + ir) * ldc + jr, ldc, n, set);
                for (; ir < h6; ir += MR) {
                    if (ukr6 && ir + MR <= h6)
                        ukr6(kc, abuf + (size_t)ir * kc, NULL, bs, C + (size_t)(ic + ir) * ldc + jr, ldc, n, set);
                    else
                        ukr(kc, abuf + (size_t)ir * kc, bs, C + (size_t)(ic + ir) * ldc + jr, ldc, imin(MR, h6 - ir), n, set);
                }
                int it = h6;
                if (ukr8)
                    for (; it + 8 <= mc; it += 8)
                        ukr8(kc, a4 + (size_t)(it - h6) * kc, a4 + (size_t)(it + 4 - h6) * kc, bs, C + (size_t)(ic + it) * ldc + jr, ldc, n, set);
                for (int ir = it; ir < mc; ir += 4)
                    ukr4(kc, a4 + (size_t)(ir - h6) * kc, bs, C + (size_t)(ic + ir) * ldc + jr, ldc, imin(4, mc - ir), n, set);
            }
        }
    }
}

typedef struct {
    int M, N, K;
    float alpha, beta;
    const float *A, *Bp;
    float *C;
    int lda, ldc;
    int split_n, step;
} gemm_packed_job;

static void gemm_packed_task(void *ctx, int t) {
    const gemm_packed_job *j = ctx;
    if (j->split_n) {
        int j0 = t * j->step, j1 = imin(j->N, j0 + j->step);
        if (j0 < j1) gemm_packed_blocked(g_ukr, g_ukr4, g_ukr12, g_ukr8, g_ukr6, j->M, j0, j1, j->N, j->K, j->alpha, j->A, j->lda, j->Bp, j->beta, j->C, j->ldc);
    } else {
        int i0 = t * j->step, i1 = imin(j->M, i0 + j->step);
        if (i0 < i1)
            gemm_packed_blocked(g_ukr, g_ukr4, g_ukr12, g_ukr8, g_ukr6, i1 - i0, 0, j->N, j->N, j->K, j->alpha, j->A + (size_t)i0 * j->lda, j->lda, j->Bp,
                                j->beta, j->C + (size_t)i0 * j->ldc, j->ldc);
    }
}

void ss_gemm_packed_b_f32(int M, int N, int K, float alpha, const float *A, int lda, const float *Bp, float beta,
                          float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    pthread_once(&g_pick_once, pick_once);
    int threads = ss_threads_get();
    if (threads <= 1 || (double)M * N * K < PARALLEL_MIN_MACS) {
        gemm_packed_blocked(g_ukr, g_ukr4, g_ukr12, g_ukr8, g_ukr6, M, 0, N, N, K, alpha, A, lda, Bp, beta, C, ldc);
        return;
    }
    // The same strips as ss_gemm_f32 (the longer side cut into `threads` whole-tile strips).
    gemm_packed_job j = {M, N, K, alpha, beta, A, Bp, C, lda, ldc, N >= M, 0};
    int len = j.split_n ? N : M, tile = j.split_n ? NR : MR;
    int tiles = (len + tile - 1) / tile;
    int parts = imin(threads, tiles);
    j.step = (tiles + parts - 1) / parts * tile;
    parts = (len + j.step - 1) / j.step;
    ss_parallel_run(parts, gemm_packed_task, &j);
}
