// spike_events_slab.h — the slab loop of ss_events_linear_f32, a template included by
// spike_events.c once per instruction set (it defines SS_SLAB_NAME, SS_SLAB_TARGET, the vector type
// SS_VEC of SS_VW lanes, SS_ALIGN, the ops SS_ZERO/LOAD/STORE/LOADU/STOREU/SET1/FMADD/ADDV and
// SS_ACC(X), which applies X to each accumulator index; SS_VW × their count = SLAB). Undefines them
// at the end. Not a header of the API: nothing else includes it.
//
// One slab s (SLAB columns) for rows r_lo..<r_hi: per TB rows, per 256-input block, per chunk group:
//   acc = 0 (first group of the block) or the parked acc;  acc = fma(x[r][j], W[j, slab], acc) for
//   the active j in input order;  park acc, or at the block's end Y[r, slab] += acc.
__attribute__((target(SS_SLAB_TARGET)))
static void SS_SLAB_NAME(const linear_job *jb, int s, int r_lo, int r_hi) {
    const events_hdr *h = jb->h;
    int In = h->In, chunks = h->chunks;
    const int32_t *off = ev_off(h), *idx = ev_idx(h);
    const float *val = ev_val(h);
    const float *P = jb->packed + (size_t)s * SLAB * In;
    int c0 = s * SLAB, w = imin(SLAB, jb->Out - c0);
    _Alignas(SS_ALIGN) float scratch[TB * SLAB];
    _Alignas(SS_ALIGN) float tmp[SLAB];
    for (int r = r_lo; r < r_hi; r++) memset(jb->Y + (size_t)r * jb->ldy + c0, 0, sizeof(float) * (size_t)w);
    for (int t0 = r_lo; t0 < r_hi; t0 += TB) {
        int tn = imin(TB, r_hi - t0);
        for (int kb = 0; kb < In; kb += GEMM_KC) {
            int cf = kb / CHUNK, cl = (imin(In, kb + GEMM_KC) - 1) / CHUNK;  // chunks of this block
            for (int cg = cf; cg <= cl; cg += SUBC) {
                int ge = imin(cg + SUBC, cl + 1);
                int first = cg == cf, last = ge == cl + 1;
                // The next chunk group's weights (the next rows of this slab) into L2, a few lines per
                // row, on the first row block only (later ones find them in L2): they come cold from
                // DRAM, once per layer. MiniLM T = 4, batch 1: 21.4 → 20.0 ms (BENCHMARKS.md).
                const char *nx = (const char *)(P + (size_t)ge * CHUNK * SLAB);
                size_t nlines = t0 == r_lo && ge * CHUNK < In ? (size_t)imin(SUBC * CHUNK, In - ge * CHUNK) * SLAB * 4 / 64 : 0;
                size_t per = (nlines + (size_t)tn - 1) / (size_t)tn, done = 0;
                for (int t = 0; t < tn; t++) {
                    int r = t0 + t;
                    for (size_t q = 0; q < per && done < nlines; q++, done++) _mm_prefetch(nx + done * 64, _MM_HINT_T1);
                    const int32_t *o = off + (size_t)r * (chunks + 1);
                    int lo = o[cg], hi = o[ge];
                    const int32_t *ix = idx + (size_t)r * In;
                    const float *vx = val + (size_t)r * In;
                    float *sc = scratch + t * SLAB;
#define SS_DECL(i) SS_VEC a##i = first ? SS_ZERO() : SS_LOAD(sc + SS_VW * (i));
                    SS_ACC(SS_DECL)
#undef SS_DECL
                    // acc += x[r][j] · W[j, slab]  for active j in input order (one FMA chain per lane)
                    for (int e = lo; e < hi; e++) {
                        const float *p = P + (size_t)ix[e] * SLAB;
                        SS_VEC v = SS_SET1(vx + e);
#define SS_FMA(i) a##i = SS_FMADD(v, SS_LOADU(p + SS_VW * (i)), a##i);
                        SS_ACC(SS_FMA)
#undef SS_FMA
                    }
                    if (!last) {
#define SS_PARK(i) SS_STORE(sc + SS_VW * (i), a##i);
                        SS_ACC(SS_PARK)
#undef SS_PARK
                        continue;
                    }
                    // Y[r, slab] += acc   (the dense micro-kernel's C += tile at the end of a block)
                    float *y = jb->Y + (size_t)r * jb->ldy + c0;
                    if (w == SLAB) {
#define SS_ADD(i) SS_STOREU(y + SS_VW * (i), SS_ADDV(SS_LOADU(y + SS_VW * (i)), a##i));
                        SS_ACC(SS_ADD)
#undef SS_ADD
                    } else {
#define SS_TMP(i) SS_STORE(tmp + SS_VW * (i), a##i);
                        SS_ACC(SS_TMP)
#undef SS_TMP
                        for (int c = 0; c < w; c++) y[c] += tmp[c];
                    }
                }
            }
        }
    }
}

#undef SS_SLAB_NAME
#undef SS_SLAB_TARGET
#undef SS_VEC
#undef SS_VW
#undef SS_ALIGN
#undef SS_ZERO
#undef SS_LOAD
#undef SS_STORE
#undef SS_LOADU
#undef SS_STOREU
#undef SS_SET1
#undef SS_FMADD
#undef SS_ADDV
#undef SS_ACC
