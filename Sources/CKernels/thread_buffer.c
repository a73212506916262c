// thread_buffer.c — per-thread, growable scratch buffers (thread_buffer.h).
#include "thread_buffer.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct { void *p[SS_TBUF_SLOTS]; size_t cap[SS_TBUF_SLOTS]; } tbuf_t;
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void tbuf_free(void *v) {
    tbuf_t *t = v;
    for (int i = 0; i < SS_TBUF_SLOTS; i++) free(t->p[i]);
    free(t);
}
static void key_make(void) { pthread_key_create(&g_key, tbuf_free); }

void *ss_thread_buffer(int slot, size_t bytes) {
    if (slot < 0 || slot >= SS_TBUF_SLOTS) return NULL;
    pthread_once(&g_once, key_make);
    tbuf_t *t = pthread_getspecific(g_key);
    if (!t) {
        if (!(t = calloc(1, sizeof *t))) return NULL;
        if (pthread_setspecific(g_key, t) != 0) { free(t); return NULL; }
    }
    if (t->cap[slot] < bytes) {
        free(t->p[slot]);
        t->p[slot] = NULL; t->cap[slot] = 0;
        if (posix_memalign(&t->p[slot], 64, bytes) != 0) { t->p[slot] = NULL; return NULL; }
        t->cap[slot] = bytes;
    }
    return t->p[slot];
}
