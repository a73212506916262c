// thread_buffer.h — per-thread scratch for the kernels that need one beside their arguments
// (thread_buffer.c). Internal to CKernels, not part of its API (not in include/).
#ifndef SPIKESCOPE_THREAD_BUFFER_H
#define SPIKESCOPE_THREAD_BUFFER_H
#include <stddef.h>

// One buffer per slot and thread: users that can be live on a thread at the same time take
// different slots.
enum {
    SS_TBUF_BF16_WIDEN = 0,   // bf16rows.c: a block of W widened to fp32 (the GEMM way)
    SS_TBUF_BF16_DOT = 1,     // bf16dot.c: x as bf16 pairs (GEMV), a task's W slivers (GEMM)
    SS_TBUF_SLOTS = 2
};

// This thread's buffer of `slot`, at least `bytes` long and 64-byte aligned (grown as needed, the
// old contents dropped; freed when the thread exits), or NULL when out of memory.
void *ss_thread_buffer(int slot, size_t bytes);

#endif
