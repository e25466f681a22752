/* The plan's threads: pool creation from options, environment or affinity; tiled parallel loops. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "parallel.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "plan.h"

/* CPUs this process may run on (taskset, cgroups cpusets), not the machine's count. */
static size_t affinity_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN); /* more than CPU_SETSIZE CPUs, or no affinity */
    return online > 0 ? (size_t)online : 1;
}

/* TCONV_NUM_THREADS must be a whole decimal number in [1, TCONV_MAX_THREADS], nothing else: a
 * typo must not silently become "all CPUs" or "one thread". */
static tconv_status threads_from_env(const char *value, size_t *out) {
    char *end;
    errno = 0;
    if (*value < '0' || *value > '9') /* strtol would skip blanks and take a sign */
        return tconv_fail(TCONV_ERR_INVALID,
                          "TCONV_NUM_THREADS (%s) must be a whole number from 1 to %d", value,
                          TCONV_MAX_THREADS);
    long n = strtol(value, &end, 10);
    if (end == value || *end != '\0' || errno == ERANGE || n < 1 || n > TCONV_MAX_THREADS)
        return tconv_fail(TCONV_ERR_INVALID,
                          "TCONV_NUM_THREADS (%s) must be a whole number from 1 to %d", value,
                          TCONV_MAX_THREADS);
    *out = (size_t)n;
    return TCONV_OK;
}

/* Automatic count: every CPU we may run on, but at least this many multiply-adds per thread. Below
 * it a parallel section's wake-up and join (microseconds, milliseconds on a loaded machine where a
 * worker waits for a time slice) cost more than the split saves; the seed's 2x2 example or a
 * test's 5x5 shape then runs on the caller alone. 2^20 is about 10 us of one core's work. */
#define MIN_MACS_PER_THREAD (1u << 20)

static size_t automatic_threads(const tconv_geometry *g) {
    double macs = (double)g->batch * (double)g->groups * (double)g->cin_g * (double)g->cout_g *
                  (double)g->taps * (double)g->in_plane;
    double by_work = macs / MIN_MACS_PER_THREAD;
    size_t cpus = affinity_cpus();
    if (cpus > TCONV_MAX_THREADS) cpus = TCONV_MAX_THREADS;
    if (by_work < 1) return 1;
    return by_work < (double)cpus ? (size_t)by_work : cpus;
}

static tconv_status resolve_threads(const tconv_geometry *g, const tconv_plan_options *o,
                                    size_t *out) {
    int requested = o ? o->threads : 0;
    if (requested < 0 || requested > TCONV_MAX_THREADS)
        return tconv_fail(TCONV_ERR_INVALID, "threads (%d) must be 0 (automatic) or 1 to %d",
                          requested, TCONV_MAX_THREADS);
    if (requested > 0) {
        *out = (size_t)requested;
        return TCONV_OK;
    }
    const char *env = getenv("TCONV_NUM_THREADS");
    if (env != NULL && *env != '\0') return threads_from_env(env, out); /* "" is unset */
    *out = automatic_threads(g);
    return TCONV_OK;
}

/* More threads than CPUs (a request, TCONV_NUM_THREADS or a caller's pool): workers sleep on the
 * futex as soon as a parallel call ends instead of spinning for the next one. A spinning worker
 * then holds a CPU that a thread with work is waiting for. test_threads' determinism matrix (1, 2,
 * 3 and 7 threads on the 2-CPU Xeon): 112 s wall, 91% of its samples in pthreadpool's spin loop,
 * before this flag. */
static uint32_t pool_flags(size_t threads) {
    return threads > affinity_cpus() ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0;
}

tconv_status tconv_parallel_init(tconv_plan *plan, const tconv_plan_options *options) {
    tconv_parallel *p = &plan->par;
    if (options && options->threadpool) {
        p->pool = (pthreadpool_t)options->threadpool;
        p->threads = pthreadpool_get_threads_count(p->pool);
        if (p->threads < 1) p->threads = 1;
    } else {
        tconv_status st = resolve_threads(&plan->g, options, &p->threads);
        if (st != TCONV_OK) return st;
        if (p->threads > 1) {
            p->pool = pthreadpool_create(p->threads);
            if (p->pool == NULL)
                return tconv_fail(TCONV_ERR_NOMEM, "cannot create a pool of %zu threads",
                                  p->threads);
            p->owns_pool = 1;
        }
    }
    if (p->pool == NULL) return TCONV_OK;
    p->flags = pool_flags(p->threads);
    return tconv_plan_alloc(plan, "thread slots", p->threads, sizeof(atomic_int),
                            (void **)&p->slot_busy);
}

void tconv_parallel_destroy(tconv_parallel *p) {
    if (p->owns_pool) pthreadpool_destroy(p->pool);
    p->pool = NULL, p->owns_pool = 0;
}

/* ThreadSanitizer cannot see pthreadpool's hand-off (atomics and futexes in an uninstrumented
 * library), so under TSan each task runs through a trampoline that states the pool's documented
 * guarantee: what the caller wrote before the parallel call happens before every task, and every
 * task happens before the call returns. Races between our own tasks stay visible. */
#if defined(__SANITIZE_THREAD__)
#define TCONV_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TCONV_TSAN 1
#endif
#endif

#ifdef TCONV_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

typedef struct tsan_call {
    tconv_task_1d *task_1d;
    tconv_task_2d *task_2d;
    void *context;
    char before, after; /* addresses that name the two happens-before edges */
} tsan_call;

static void tsan_task_1d(void *call_, size_t start, size_t count) {
    tsan_call *call = call_;
    __tsan_acquire(&call->before);
    call->task_1d(call->context, start, count);
    __tsan_release(&call->after);
}

static void tsan_task_2d(void *call_, size_t i0, size_t j0, size_t ni, size_t nj) {
    tsan_call *call = call_;
    __tsan_acquire(&call->before);
    call->task_2d(call->context, i0, j0, ni, nj);
    __tsan_release(&call->after);
}
#endif

void tconv_parallel_1d_pool(const tconv_parallel *p, tconv_task_1d *task, void *context,
                            size_t range, size_t tile) {
#ifdef TCONV_TSAN
    tsan_call call = {task, NULL, context, 0, 0};
    __tsan_release(&call.before);
    pthreadpool_parallelize_1d_tile_1d(p->pool, tsan_task_1d, &call, range, tile ? tile : 1,
                                       p->flags);
    __tsan_acquire(&call.after);
#else
    pthreadpool_parallelize_1d_tile_1d(p->pool, task, context, range, tile ? tile : 1, p->flags);
#endif
}

void tconv_parallel_2d_pool(const tconv_parallel *p, tconv_task_2d *task, void *context,
                            size_t range_i, size_t range_j, size_t tile_i, size_t tile_j) {
#ifdef TCONV_TSAN
    tsan_call call = {NULL, task, context, 0, 0};
    __tsan_release(&call.before);
    pthreadpool_parallelize_2d_tile_2d(p->pool, tsan_task_2d, &call, range_i, range_j,
                                       tile_i ? tile_i : 1, tile_j ? tile_j : 1, p->flags);
    __tsan_acquire(&call.after);
#else
    pthreadpool_parallelize_2d_tile_2d(p->pool, task, context, range_i, range_j,
                                       tile_i ? tile_i : 1, tile_j ? tile_j : 1, p->flags);
#endif
}

size_t tconv_parallel_claim_slot(const tconv_parallel *p) {
    /* A free slot always exists: at most `threads` tasks run at once and each holds one. */
    for (;;)
        for (size_t i = 0; i < p->threads; i++)
            if (atomic_load_explicit(&p->slot_busy[i], memory_order_relaxed) == 0 &&
                atomic_exchange_explicit(&p->slot_busy[i], 1, memory_order_acquire) == 0)
                return i;
}

size_t tconv_parallel_tile(size_t range, size_t pieces, size_t align) {
    size_t tile = tconv_div_up(range, pieces ? pieces : 1);
    tile = tconv_round_up(tile ? tile : 1, align ? align : 1);
    return tile;
}
