// tuning.c — per-CPU values of the kernels' speed knobs (prefetch distances, range sizes): a table
// keyed by CPUID vendor/family/model, measured on the machines named in each row (BENCHMARKS.md,
// "Per-CPU tuning"), defaults for CPUs not in it, and `spikescope bench tune` to measure a new one.
// None of these values changes a result bit, only the time (tests check the bits across values).
#include "tuning.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SS_X86 1
#endif

typedef struct {
    const char *vendor;
    int family, model;   // display family / model; model -1 = any model of the family
    const char *name;
    ss_tuning t;
} tuning_row;

// Defaults: the values first measured on Zen 3 (family 25 model 1), which every CPU not in the
// table gets.
static const ss_tuning k_default = { 3072, 1024, 16 };

static const tuning_row k_table[] = {
    // AMD EPYC family 25 model 1 (Zen 3, AVX2): the first sessions' measurements (BENCHMARKS.md,
    // issue 9): 3 KB NTA panel prefetch 15–25% over none; ranges of 16/rate rows.
    { "AuthenticAMD", 25, 1, "Zen 3", { 3072, 1024, 16 } },
    // AMD EPYC family 26 model 2 (Zen 5, AVX-512, 48 KB L1d, 1 MB L2): `bench tune`, paired
    // in-process ratios to the Zen 3 values (BENCHMARKS.md "Per-CPU tuning"): panel prefetch
    // 12 KB 0.86–0.99× the time of 3 KB (never slower; the gain shows when the VM is busy), spike
    // ranges of 8/rate rows 0.89–0.94× of 16/rate; the row GEMV's 1024 elements stay best.
    { "AuthenticAMD", 26, 2, "Zen 5", { 12288, 1024, 8 } },
};

static ss_tuning g_tuning;
static char g_source[160];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

void ss_cpu_identity(char vendor[13], int *family, int *model) {
    memset(vendor, 0, 13);
    *family = 0; *model = 0;
#ifdef SS_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4);
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int base_family = (a >> 8) & 0xF, base_model = (a >> 4) & 0xF;
    int ext_family = (a >> 20) & 0xFF, ext_model = (a >> 16) & 0xF;
    *family = base_family == 0xF ? base_family + ext_family : base_family;
    *model = (base_family == 0xF || base_family == 0x6) ? (ext_model << 4) | base_model : base_model;
#endif
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void clamp_all(ss_tuning *t) {
    t->panel_prefetch_bytes = clampi(t->panel_prefetch_bytes, 0, 1 << 16) / 64 * 64;
    t->rows_prefetch_elems = clampi(t->rows_prefetch_elems, 0, 1 << 14) / 32 * 32;
    t->spike_range_events = clampi(t->spike_range_events, 1, 256);
}

// "key=value,key=value": returns 1 when a field changed.
static int apply_env(ss_tuning *t, const char *s) {
    int changed = 0;
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char item[64];
        if (len < sizeof item) {
            memcpy(item, s, len); item[len] = 0;
            char *eq = strchr(item, '=');
            if (eq) {
                *eq = 0;
                int v = atoi(eq + 1);
                if (!strcmp(item, "panel_prefetch")) { t->panel_prefetch_bytes = v; changed = 1; }
                else if (!strcmp(item, "rows_prefetch")) { t->rows_prefetch_elems = v; changed = 1; }
                else if (!strcmp(item, "spike_range")) { t->spike_range_events = v; changed = 1; }
            }
        }
        s = end ? end + 1 : NULL;
    }
    return changed;
}

static void tuning_init(void) {
    char vendor[13]; int family, model;
    ss_cpu_identity(vendor, &family, &model);
    g_tuning = k_default;
    snprintf(g_source, sizeof g_source, "default");
    for (size_t i = 0; i < sizeof k_table / sizeof k_table[0]; i++) {
        const tuning_row *r = &k_table[i];
        if (!strcmp(r->vendor, vendor) && r->family == family && (r->model < 0 || r->model == model)) {
            g_tuning = r->t;
            snprintf(g_source, sizeof g_source, "table: %s family %d model %d (%s)",
                     !strcmp(vendor, "AuthenticAMD") ? "AMD" : !strcmp(vendor, "GenuineIntel") ? "Intel" : vendor,
                     family, model, r->name);
            break;
        }
    }
    if (apply_env(&g_tuning, getenv("SPIKESCOPE_TUNING"))) {
        size_t n = strlen(g_source);
        snprintf(g_source + n, sizeof g_source - n, " + SPIKESCOPE_TUNING");
    }
    clamp_all(&g_tuning);
}

const ss_tuning *ss_tuning_current(void) {
    pthread_once(&g_once, tuning_init);
    return &g_tuning;
}

void ss_tuning_set(const ss_tuning *t, const char *source, int keep_env) {
    pthread_once(&g_once, tuning_init);
    g_tuning = *t;
    snprintf(g_source, sizeof g_source, "%s", source ? source : "set");
    if (keep_env && apply_env(&g_tuning, getenv("SPIKESCOPE_TUNING"))) {
        size_t n = strlen(g_source);
        snprintf(g_source + n, sizeof g_source - n, " + SPIKESCOPE_TUNING");
    }
    clamp_all(&g_tuning);
}

const char *ss_tuning_source(void) {
    pthread_once(&g_once, tuning_init);
    return g_source;
}
