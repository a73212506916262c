// A small persistent pthread pool for the parallel kernels (GEMM, spike-driven linear).
//
// What it is: `ss_parallel_run(n, fn, ctx)` runs fn(ctx, 0..n-1) on the calling thread plus up to
// ss_threads_get()-1 worker threads. Workers are created once (lazily, on first use) and then sleep
// on a condition variable between jobs: no thread is created per call.
// Tasks are handed out dynamically (an atomic counter), so uneven tasks balance themselves.
//
// Concurrency contract: any thread may call ss_parallel_run at any time. Only one caller owns the
// pool at a time (pthread_mutex_trylock on `g_owner`); a caller that finds it busy — another
// thread's job, or a task of the pool's own job calling back in (nesting) — runs all its tasks
// serially on its own thread. So results never depend on who wins, only speed does, and nesting
// cannot deadlock.
// What it is not: a general scheduler (no futures, no priorities, no work stealing across jobs).

#include "kernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

// Upper bound on worker threads; more than enough for the machines spikescope targets.
#define SS_MAX_THREADS 64

static pthread_mutex_t g_owner = PTHREAD_MUTEX_INITIALIZER;  // held by the caller that owns the pool
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;     // guards the job fields below
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;     // workers wait here for a new job
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;     // the owner waits here for the job's end

static int g_workers;              // worker threads created so far (never shrinks)
static atomic_ulong g_generation;  // bumped once per job (release; under g_mu); a worker runs each once
static atomic_int g_pending;       // workers that have not finished the current generation
static int g_active;               // workers with index < g_active take tasks in this job
static ss_task_fn g_fn;
static void *g_ctx;
static int g_tasks;
static atomic_int g_next;          // next task index to hand out

static atomic_int g_threads;       // 0 = not set yet → online CPUs

static void run_tasks(void) {
    for (;;) {
        int t = atomic_fetch_add_explicit(&g_next, 1, memory_order_relaxed);
        if (t >= g_tasks) return;
        g_fn(g_ctx, t);
    }
}

// Spinning before sleeping: jobs come in bursts (a forward pass is dozens of GEMMs tens of µs
// apart) and a condition-variable wake costs 5–50 µs, as much as a small GEMM. So a worker polls
// for the next generation for ~SPIN_ROUNDS pauses (a few hundred µs) before it blocks, and the
// owner polls for the end of a job before it blocks. Measured on a batch-1 MiniLM forward
// (32 tokens, 2 threads): 6.1 → 5.8 ms.
#define SPIN_ROUNDS 20000

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// The generation current when worker i was created (written before pthread_create, which orders
// it before the thread's reads): the worker waits for the next one, never runs an old job.
static unsigned long g_start_gen[SS_MAX_THREADS];

static void *worker_main(void *arg) {
    int index = (int)(intptr_t)arg;
    unsigned long seen = g_start_gen[index];
    for (;;) {
        unsigned long gen = atomic_load_explicit(&g_generation, memory_order_acquire);
        for (int spin = 0; gen == seen && spin < SPIN_ROUNDS; spin++) {
            relax();
            gen = atomic_load_explicit(&g_generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&g_mu);
            while ((gen = atomic_load_explicit(&g_generation, memory_order_acquire)) == seen)
                pthread_cond_wait(&g_wake, &g_mu);
            pthread_mutex_unlock(&g_mu);
        }
        seen = gen;
        if (index < g_active) run_tasks();
        if (atomic_fetch_sub_explicit(&g_pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&g_mu);   // the owner may be waiting on g_done (checked under g_mu)
            pthread_cond_signal(&g_done);
            pthread_mutex_unlock(&g_mu);
        }
    }
    return NULL;
}

void ss_threads_set(int n) {
    if (n < 1) n = 1;
    if (n > SS_MAX_THREADS) n = SS_MAX_THREADS;
    atomic_store(&g_threads, n);
}

int ss_threads_get(void) {
    int n = atomic_load(&g_threads);
    if (n > 0) return n;
    // First use: online CPUs, cached (sysconf reads /sys on Linux; too slow for every GEMM).
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus < 1 ? 1 : (cpus > SS_MAX_THREADS ? SS_MAX_THREADS : (int)cpus);
    int unset = 0;
    atomic_compare_exchange_strong(&g_threads, &unset, n);  // keep a concurrent ss_threads_set
    return atomic_load(&g_threads);
}

int ss_parallel_run(int n_tasks, ss_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return 1;
    int want = ss_threads_get();
    if (want > n_tasks) want = n_tasks;
    if (want <= 1 || pthread_mutex_trylock(&g_owner) != 0) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return 1;
    }
    // We own the pool. Create missing workers (once; they live for the whole process).
    while (g_workers < want - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        g_start_gen[g_workers] = atomic_load(&g_generation);
        int rc = pthread_create(&th, &attr, worker_main, (void *)(intptr_t)g_workers);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;  // cannot grow: run with what we have
        pthread_mutex_lock(&g_mu);
        g_workers++;
        pthread_mutex_unlock(&g_mu);
    }
    pthread_mutex_lock(&g_mu);
    g_fn = fn;
    g_ctx = ctx;
    g_tasks = n_tasks;
    atomic_store_explicit(&g_next, 0, memory_order_relaxed);
    g_active = want - 1;
    atomic_store_explicit(&g_pending, g_workers, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_release);   // publishes the fields above
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_mu);

    run_tasks();

    for (int spin = 0; atomic_load_explicit(&g_pending, memory_order_acquire) > 0 && spin < SPIN_ROUNDS; spin++) relax();
    pthread_mutex_lock(&g_mu);
    while (atomic_load_explicit(&g_pending, memory_order_acquire) > 0) pthread_cond_wait(&g_done, &g_mu);
    int used = (g_active < g_workers ? g_active : g_workers) + 1;
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_unlock(&g_owner);
    return used;
}
