// Internal to CKernels (not in include/, so Swift does not see it): the compaction of one row of
// activations into its nonzero (position, value) list, shared by spike.c and spike_events.c.
#ifndef SS_COMPACT_H
#define SS_COMPACT_H
#include <stdint.h>

// ix[0..<k] = base + the positions j < n with x[j] ≠ 0, increasing; vx[0..<k] = those x[j];
// returns k. If `other` is not NULL, *other = how many of those values are not exactly 1.
// Writes up to 8 entries past k (never past ix[n − 1] / vx[n − 1]): ix and vx need n entries.
// A NaN counts as nonzero (and not 1), −0 as zero.
int ss_compact_f32(const float *x, int n, int base, int32_t *ix, float *vx, int *other);

#endif
