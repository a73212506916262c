// Per-CPU tuning of the kernels (tuning.c): the distances and sizes that do not change a result,
// only how fast it comes. No stable API; Engine wraps it.
#ifndef SPIKESCOPE_TUNING_H
#define SPIKESCOPE_TUNING_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    // bf16 panel GEMV (gemv.c): bytes ahead of the line being read that a non-temporal software
    // prefetch asks for; 0 = no software prefetch (the hardware prefetchers alone).
    int panel_prefetch_bytes;
    // bf16 row GEMV (bf16rows.c): elements ahead in each of the four row streams (T0); 0 = none.
    int rows_prefetch_elems;
    // Packed spike-linear (spike.c): a row range holds about this many active rows per token
    // (range = events / rate rows, clamped to 128…384, a multiple of 32).
    int spike_range_events;
} ss_tuning;

// The values in use. Chosen once, on first use: the table row of this CPU (vendor, family,
// model), else the defaults; then SPIKESCOPE_TUNING ("panel_prefetch=4096,rows_prefetch=1024,
// spike_range=16", any subset) overrides fields. Never NULL.
const ss_tuning *ss_tuning_current(void);
// Replaces the values in use (a calibration's result, or a candidate while calibrating). Values
// out of range are clamped; with keep_env != 0 SPIKESCOPE_TUNING still overrides its fields.
// `source` (e.g. "cache: ~/.cache/spikescope/tuning.json") is what ss_tuning_source reports.
// Call it between kernel calls, not while kernels run on other threads.
void ss_tuning_set(const ss_tuning *t, const char *source, int keep_env);
// Where the values in use came from: "table: AMD family 26 model 2 (Zen 5)", "default",
// or ss_tuning_set's source — with " + SPIKESCOPE_TUNING" when the variable changed a field.
const char *ss_tuning_source(void);
// This CPU as CPUID reports it: vendor ("AuthenticAMD", "GenuineIntel", "" off x86), display
// family and model (0 off x86).
void ss_cpu_identity(char vendor[13], int *family, int *model);

#ifdef __cplusplus
}
#endif
#endif
