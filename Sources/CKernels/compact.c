// Row compaction for the event-driven kernels (contract in include/kernels.h): which inputs fired,
// and with what value. AVX-512F: 16 inputs per step with the compress instruction; AVX2: 8 per
// step through a 256-entry permutation table (no per-spike branch); portable: a branch-free
// scalar loop. All give the same lists.

#include "kernels.h"
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#endif

static int compact_portable(const float *x, int n, int base, int32_t *ix, float *vx, int *other) {
    int k = 0, o = 0;
    for (int j = 0; j < n; j++) {
        float v = x[j];
        ix[k] = base + j;  // always write, advance only if nonzero
        vx[k] = v;
        k += v != 0.0f;
        o += v != 0.0f && v != 1.0f;
    }
    if (other) *other = o;
    return k;
}

#if defined(SS_X86)
// g_compress[m] = the lanes set in mask m, in increasing order (then zeros): the permutation that
// packs the selected lanes of 8 to the front.
static _Alignas(32) int32_t g_compress[256][8];

// 8 inputs per step: compare with 0 and with 1, permute the nonzero lanes (and their positions) to
// the front, store all 8, advance by the popcount. A store at k ≤ j stays inside the row.
__attribute__((target("avx2,popcnt")))
static int compact_avx2(const float *x, int n, int base, int32_t *ix, float *vx, int *other) {
    int k = 0, o = 0, j = 0;
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    __m256i pos = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(base));
    const __m256i eight = _mm256_set1_epi32(8);
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        int m = _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
        int mo = _mm256_movemask_ps(_mm256_cmp_ps(v, one, _CMP_NEQ_UQ)) & m;
        __m256i perm = _mm256_load_si256((const __m256i *)g_compress[m]);
        _mm256_storeu_si256((__m256i *)(ix + k), _mm256_permutevar8x32_epi32(pos, perm));
        _mm256_storeu_ps(vx + k, _mm256_permutevar8x32_ps(v, perm));
        k += __builtin_popcount((unsigned)m);
        o += __builtin_popcount((unsigned)mo);
        pos = _mm256_add_epi32(pos, eight);
    }
    int rest = 0;
    k += compact_portable(x + j, n - j, base + j, ix + k, vx + k, &rest);
    if (other) *other = o + rest;
    return k;
}
#endif

#if defined(SS_X86)
// 16 inputs per step: the compare masks pick the lanes, vcompress packs them (and their positions)
// to the front of a register, which is stored whole (a register compress and a plain store: the
// compress-to-memory form is microcoded and slow on some CPUs); a store at k ≤ j stays in the row.
__attribute__((target("avx512f,avx2,popcnt")))
static int compact_avx512(const float *x, int n, int base, int32_t *ix, float *vx, int *other) {
    int k = 0, o = 0, j = 0;
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    __m512i pos = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(base));
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (; j + 16 <= n; j += 16) {
        __m512 v = _mm512_loadu_ps(x + j);
        __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
        __mmask16 mo = _mm512_mask_cmp_ps_mask(m, v, one, _CMP_NEQ_UQ);
        _mm512_storeu_si512((void *)(ix + k), _mm512_maskz_compress_epi32(m, pos));
        _mm512_storeu_ps(vx + k, _mm512_maskz_compress_ps(m, v));
        k += __builtin_popcount((unsigned)m);
        o += __builtin_popcount((unsigned)mo);
        pos = _mm512_add_epi32(pos, sixteen);
    }
    int rest = 0;
    k += compact_portable(x + j, n - j, base + j, ix + k, vx + k, &rest);
    if (other) *other = o + rest;
    return k;
}
#endif

typedef int (*compact_fn)(const float *, int, int, int32_t *, float *, int *);
static compact_fn g_paths[3] = { compact_portable, NULL, NULL };
static compact_fn g_compact = compact_portable;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void pick(void) {
#if defined(SS_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) {
        for (int m = 0; m < 256; m++) {
            int k = 0;
            for (int l = 0; l < 8; l++) if (m >> l & 1) g_compress[m][k++] = l;
            while (k < 8) g_compress[m][k++] = 0;
        }
        g_compact = g_paths[1] = compact_avx2;
        if (__builtin_cpu_supports("avx512f") && !getenv("SPIKESCOPE_NO_AVX512")) g_compact = g_paths[2] = compact_avx512;
    }
#endif
}

int ss_compact_f32(const float *x, int n, int base, int32_t *ix, float *vx, int *other) {
    pthread_once(&g_once, pick);
    return g_compact(x, n, base, ix, vx, other);
}

int ss_compact_on_f32(int path, const float *x, int n, int base, int32_t *ix, float *vx, int *other) {
    pthread_once(&g_once, pick);
    if (path < 0 || path > 2 || !g_paths[path]) return -1;
    return g_paths[path](x, n, base, ix, vx, other);
}

const char *ss_compact_path(void) {
    pthread_once(&g_once, pick);
    return g_compact == g_paths[2] && g_paths[2] ? "avx512f" : g_compact == g_paths[1] && g_paths[1] ? "avx2" : "portable";
}
