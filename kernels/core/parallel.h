/* The plan's threads: pool creation from options, environment or affinity, and the only calls
 * into pthreadpool (drivers split their work through the wrappers below). */
#ifndef TCONV_PARALLEL_H
#define TCONV_PARALLEL_H

#include <stdatomic.h>
#include <stddef.h>

#include <pthreadpool.h>

#include "tconv.h"

/* Above this many threads a request is refused: it is a typo, not a machine. */
#define TCONV_MAX_THREADS 4096

typedef struct tconv_parallel {
    pthreadpool_t pool; /* NULL: one thread; every wrapper then calls its task once, whole */
    int owns_pool;      /* 0 when the caller handed the pool in (options.threadpool) */
    size_t threads;     /* the calling thread included */
    uint32_t flags;     /* pthreadpool flags of every parallel call (tconv_parallel_init) */
    /* One flag per thread: which per-thread scratch slot a running task holds. pthreadpool's
     * basic API gives tasks no thread index, and at most `threads` tasks of one parallel call run
     * at once, so a task claims a free slot for its duration. */
    atomic_int *slot_busy;
} tconv_parallel;

/* Task over items [start, start + count) of a 1D range, or the rectangle [i0, i0 + ni) x
 * [j0, j0 + nj) of a 2D range: the same signatures as pthreadpool's tiled tasks. */
typedef void tconv_task_1d(void *context, size_t start, size_t count);
typedef void tconv_task_2d(void *context, size_t i0, size_t j0, size_t ni, size_t nj);

struct tconv_plan;
/* Resolves the thread count (options, TCONV_NUM_THREADS, sched_getaffinity), validates it and
 * creates the pool and the slot flags; failures name the field or variable and the value. */
tconv_status tconv_parallel_init(struct tconv_plan *plan, const tconv_plan_options *options);
void tconv_parallel_destroy(tconv_parallel *p);

/* The pooled halves of the loops below (parallel.c). */
void tconv_parallel_1d_pool(const tconv_parallel *p, tconv_task_1d *task, void *context,
                            size_t range, size_t tile);
void tconv_parallel_2d_pool(const tconv_parallel *p, tconv_task_2d *task, void *context,
                            size_t range_i, size_t range_j, size_t tile_i, size_t tile_j);

/* Runs task over [0, range) in tiles of `tile` items. Without a pool the task gets the whole range
 * in one call, so one thread runs the drivers' plain loops; inline, so the compiler can inline the
 * driver's task there too and one thread costs what the serial code cost. */
static inline void tconv_parallel_1d(const tconv_parallel *p, tconv_task_1d *task, void *context,
                                     size_t range, size_t tile) {
    if (range == 0) return;
    if (p->pool == NULL)
        task(context, 0, range);
    else
        tconv_parallel_1d_pool(p, task, context, range, tile);
}

static inline void tconv_parallel_2d(const tconv_parallel *p, tconv_task_2d *task, void *context,
                                     size_t range_i, size_t range_j, size_t tile_i, size_t tile_j) {
    if (range_i == 0 || range_j == 0) return;
    if (p->pool == NULL)
        task(context, 0, 0, range_i, range_j);
    else
        tconv_parallel_2d_pool(p, task, context, range_i, range_j, tile_i, tile_j);
}

/* A per-thread scratch slot in [0, threads) for the duration of one task; 0 without a pool. */
size_t tconv_parallel_claim_slot(const tconv_parallel *p);
static inline size_t tconv_parallel_claim(const tconv_parallel *p) {
    return p->pool == NULL ? 0 : tconv_parallel_claim_slot(p);
}
static inline void tconv_parallel_release(const tconv_parallel *p, size_t slot) {
    if (p->pool != NULL) atomic_store_explicit(&p->slot_busy[slot], 0, memory_order_release);
}

/* A tile size that cuts `range` into about `pieces` tiles (at least 1 item each), rounded up to a
 * multiple of `align`. */
size_t tconv_parallel_tile(size_t range, size_t pieces, size_t align);

#endif
