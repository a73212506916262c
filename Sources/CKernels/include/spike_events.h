// Event lists and a GEMM-order event-driven linear (spike_events.c). No stable API: SpikeBERT's
// fast path calls these; the Swift side checks shapes.
#ifndef SPIKESCOPE_SPIKE_EVENTS_H
#define SPIKESCOPE_SPIKE_EVENTS_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bytes of an event buffer for R rows of In inputs (the worst case: every input nonzero).
size_t ss_events_bytes(int R, int In);
// Compacts the nonzeros of X [R, In] (row stride ldx) into `events` (ss_events_bytes, 64-byte
// aligned): per row, ascending (index, value) pairs and where each 64-input chunk starts.
// Returns the number of nonzeros. Runs on the thread pool when R·In is large.
size_t ss_events_build(int R, int In, const float *X, int ldx, void *events);
// W [In, Out] (row stride ldw) → slabs of 96 columns, each a contiguous [In, 96] array, zero past
// Out (ss_events_packed_count floats, base 32-byte aligned).
size_t ss_events_packed_count(int In, int Out);
void ss_events_pack_f32(int In, int Out, const float *W, int ldw, float *packed);
// Y[R, Out] = X · W from the events of X and W packed by ss_events_pack_f32.
// Bit-identical to ss_gemm_f32(0, 0, R, Out, In, 1, X, ldx, W, Out, 0, Y, ldy) on AVX2+FMA: the
// sum over inputs is cut into the same 256-input blocks and each block is a chain of FMAs from
// zero in input order, added to Y at the block's end (zeros contribute exactly 0 to an FMA).
// Cost ∝ nnz(X)·Out. Runs column slabs on the thread pool.
void ss_events_linear_f32(const void *events, int Out, const float *packed, float *Y, int ldy);
// Paths of the slab loop (AVX-512F and AVX2 give the same bits; the CPU's best is chosen).
enum { SS_EVENTS_PATH_PORTABLE = 0, SS_EVENTS_PATH_AVX2 = 1, SS_EVENTS_PATH_AVX512 = 2 };
// Test hook: ss_events_linear_f32 on one path; returns 0 (Y untouched) when this CPU lacks it (or
// SPIKESCOPE_NO_AVX512 is set, for the AVX-512 path), else 1.
int ss_events_linear_on_f32(int path, const void *events, int Out, const float *packed, float *Y, int ldy);
// The path ss_events_linear_f32 takes here: "avx512f", "avx2-fma" or "portable".
const char *ss_events_path(void);

#ifdef __cplusplus
}
#endif
#endif
