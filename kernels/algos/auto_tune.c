/* AUTO with tune = 1: times the candidate algorithms on the real shape at plan time (like FFTW's
 * FFTW_MEASURE), caches the decision per (shape, ISA, threads) and keeps it in TCONV_WISDOM. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "auto_tune.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"

/* Budget of one tuning: this many runs of the heuristic's choice, or BUDGET_MIN_SECONDS, whichever
 * is larger. A candidate whose estimated run (the heuristic's measured time scaled by the cost
 * model's ratio) does not fit in what is left is not tried. */
#define BUDGET_HEURISTIC_RUNS 10.0
#define BUDGET_MIN_SECONDS 0.050
/* Runs per candidate: the minimum of a few is the least disturbed by other processes. */
#define RUNS_PER_CANDIDATE 3

/* One lock for the cache, the wisdom file and the measurements: two threads tuning at once would
 * time each other's work, so tuned plan creation is serialised (plain runs are not affected). */
static pthread_mutex_t tune_lock = PTHREAD_MUTEX_INITIALIZER;
static tconv_tune_cache cache;
static char *wisdom_loaded; /* path whose decisions are in the cache (NULL: none loaded) */
static unsigned long measurements;

static const tconv_algo candidates[] = {TCONV_ALGO_DIRECT, TCONV_ALGO_GEMM, TCONV_ALGO_SPARSE,
                                        TCONV_ALGO_GEMM_BLAS};
#define CANDIDATE_COUNT (sizeof candidates / sizeof candidates[0])

int tconv_tune_candidate(tconv_algo algo) {
    for (size_t i = 0; i < CANDIDATE_COUNT; i++)
        if (candidates[i] == algo) return 1;
    return 0;
}

static int same_key(const tconv_tune_key *a, const tconv_tune_key *b) {
    return a->isa == b->isa && a->threads == b->threads && memcmp(&a->s, &b->s, sizeof a->s) == 0;
}

const tconv_tune_entry *tconv_tune_cache_find(const tconv_tune_cache *c, const tconv_tune_key *k) {
    for (size_t i = 0; i < c->count; i++)
        if (same_key(&c->items[i].key, k)) return &c->items[i];
    return NULL;
}

tconv_status tconv_tune_cache_put(tconv_tune_cache *c, const tconv_tune_key *k, tconv_algo algo) {
    tconv_tune_entry *found = (tconv_tune_entry *)tconv_tune_cache_find(c, k);
    if (found) {
        found->algo = algo;
        return TCONV_OK;
    }
    if (c->count == c->capacity) {
        size_t cap = c->capacity ? 2 * c->capacity : 16;
        tconv_tune_entry *items = realloc(c->items, cap * sizeof *items);
        if (items == NULL)
            return tconv_fail(TCONV_ERR_NOMEM, "cannot grow the AUTO decision cache to %zu entries",
                              cap);
        c->items = items, c->capacity = cap;
    }
    memset(&c->items[c->count], 0, sizeof c->items[c->count]);
    c->items[c->count].key = *k;
    c->items[c->count].algo = algo;
    c->count++;
    return TCONV_OK;
}

void tconv_tune_cache_free(tconv_tune_cache *c) {
    free(c->items);
    memset(c, 0, sizeof *c);
}

void tconv_auto_tune_reset(void) {
    pthread_mutex_lock(&tune_lock);
    tconv_tune_cache_free(&cache);
    free(wisdom_loaded);
    wisdom_loaded = NULL;
    measurements = 0;
    pthread_mutex_unlock(&tune_lock);
}

unsigned long tconv_auto_tune_measurements(void) {
    pthread_mutex_lock(&tune_lock);
    unsigned long n = measurements;
    pthread_mutex_unlock(&tune_lock);
    return n;
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Merges the TCONV_WISDOM file into the cache once per path; a bad file fails every tuned plan
 * creation (it is read again each time, so fixing or removing it is enough). */
static tconv_status load_wisdom(const char *path) {
    if (wisdom_loaded && strcmp(wisdom_loaded, path) == 0) return TCONV_OK;
    tconv_tune_cache file = {0};
    tconv_status st = tconv_wisdom_load(path, &file);
    for (size_t i = 0; st == TCONV_OK && i < file.count; i++)
        if (!tconv_tune_cache_find(&cache, &file.items[i].key)) /* this process's own win */
            st = tconv_tune_cache_put(&cache, &file.items[i].key, file.items[i].algo);
    tconv_tune_cache_free(&file);
    if (st != TCONV_OK) return st;
    char *copy = strdup(path);
    if (copy == NULL) return tconv_fail(TCONV_ERR_NOMEM, "cannot copy the TCONV_WISDOM path");
    free(wisdom_loaded);
    wisdom_loaded = copy;
    return TCONV_OK;
}

/* Scratch tensors the candidates run on: x with small pseudo-random values (no zeros, no
 * denormals, so no kernel takes a data-dependent shortcut), y written by every run. */
typedef struct scratch {
    float *x, *y;
} scratch;

static tconv_status scratch_alloc(const tconv_geometry *g, scratch *sc) {
    sc->x = malloc(g->x_elems * sizeof(float));
    sc->y = malloc(g->y_elems * sizeof(float));
    if (sc->x == NULL || sc->y == NULL) {
        free(sc->x), free(sc->y);
        return tconv_fail(TCONV_ERR_NOMEM,
                          "AUTO tune: cannot allocate %zu + %zu floats of scratch x and y",
                          g->x_elems, g->y_elems);
    }
    uint32_t state = 0x9e3779b9u;
    for (size_t i = 0; i < g->x_elems; i++) {
        state = state * 1664525u + 1013904223u;
        sc->x[i] = 0.25f + (float)(state >> 8) * (1.0f / 16777216.0f); /* [0.25, 1.25) */
    }
    return TCONV_OK;
}

/* Runs the plan up to RUNS_PER_CANDIDATE times while before `deadline` (at least once); the
 * fastest run. */
static double time_plan(tconv_plan *plan, const scratch *sc, double deadline) {
    double best = 0;
    for (int r = 0; r < RUNS_PER_CANDIDATE; r++) {
        double t0 = seconds_now();
        plan->ops->run(plan, sc->x, sc->y);
        double t = seconds_now() - t0;
        if (r == 0 || t < best) best = t;
        if (seconds_now() >= deadline) break;
    }
    return best;
}

/* Times every candidate the budget allows against `*best` (the heuristic's plan, replaced by a
 * faster one). A candidate that cannot be planned (no OpenBLAS in this build, out of memory, a
 * kernel beyond its index range) is skipped: the heuristic's plan stands. */
static tconv_status measure(const tconv_geometry *g, const tconv_kernels *k, const float *w,
                            const float *bias, const tconv_plan_options *sub, tconv_plan **best) {
    scratch sc;
    tconv_status st = scratch_alloc(g, &sc);
    if (st != TCONV_OK) return st;
    double start = seconds_now();
    double best_time = time_plan(*best, &sc, start + BUDGET_MIN_SECONDS);
    double budget = BUDGET_HEURISTIC_RUNS * best_time;
    if (budget < BUDGET_MIN_SECONDS) budget = BUDGET_MIN_SECONDS;
    double heuristic_cost = tconv_auto_cost(g, k, (*best)->algo);
    for (size_t i = 0; i < CANDIDATE_COUNT; i++) {
        tconv_algo a = candidates[i];
        if (a == (*best)->algo) continue;
        double left = start + budget - seconds_now();
        double estimate = best_time * tconv_auto_cost(g, k, a) / heuristic_cost;
        if (estimate > left) continue;
        tconv_plan *p;
        if (tconv_plan_create_ex(&g->s, a, w, bias, sub, &p) != TCONV_OK) continue;
        double t = time_plan(p, &sc, start + budget);
        if (t < best_time) {
            tconv_plan_destroy(*best);
            *best = p, best_time = t;
        } else {
            tconv_plan_destroy(p);
        }
    }
    free(sc.x), free(sc.y);
    measurements++;
    return TCONV_OK;
}

/* The plan for a decision read from the cache; NULL when that algorithm cannot be planned here
 * (e.g. a gemm_blas decision in a build without OpenBLAS): the shape is then timed again. */
static tconv_plan *plan_cached(const tconv_geometry *g, tconv_algo algo, const float *w,
                               const float *bias, const tconv_plan_options *sub,
                               tconv_plan **heuristic) {
    if (algo == (*heuristic)->algo) {
        tconv_plan *p = *heuristic;
        *heuristic = NULL;
        return p;
    }
    tconv_plan *p;
    return tconv_plan_create_ex(&g->s, algo, w, bias, sub, &p) == TCONV_OK ? p : NULL;
}

static tconv_status tune_locked(const tconv_geometry *g, const tconv_kernels *k, const float *w,
                                const float *bias, const tconv_plan_options *sub,
                                tconv_plan **plan) {
    const char *path = getenv("TCONV_WISDOM");
    if (path && *path == '\0') path = NULL; /* "" is unset */
    tconv_status st = path ? load_wisdom(path) : TCONV_OK;
    if (st != TCONV_OK) return st;
    tconv_tune_key key;
    memset(&key, 0, sizeof key);
    key.s = g->s, key.isa = (*plan)->k.isa, key.threads = (*plan)->par.threads;
    const tconv_tune_entry *known = tconv_tune_cache_find(&cache, &key);
    if (known) {
        tconv_plan *p = plan_cached(g, known->algo, w, bias, sub, plan);
        if (p) {
            tconv_plan_destroy(*plan);
            *plan = p;
            return TCONV_OK;
        }
    }
    st = measure(g, k, w, bias, sub, plan);
    if (st == TCONV_OK) st = tconv_tune_cache_put(&cache, &key, (*plan)->algo);
    if (st == TCONV_OK && path) st = tconv_wisdom_save(path, &cache);
    return st;
}

tconv_status tconv_auto_tune_create(const tconv_geometry *g, const tconv_kernels *k, const float *w,
                                    const float *bias, const tconv_plan_options *options,
                                    tconv_plan **out) {
    tconv_plan_options sub = *options;
    sub.tune = 0; /* the candidates are plain plans of one algorithm each */
    /* The heuristic's plan first: it resolves the thread count the key needs, is the yardstick
     * of the budget, and is the answer when nothing else is faster. */
    tconv_plan *plan;
    tconv_status st = tconv_plan_create_ex(&g->s, TCONV_ALGO_AUTO, w, bias, &sub, &plan);
    if (st != TCONV_OK) return st;
    pthread_mutex_lock(&tune_lock);
    st = tune_locked(g, k, w, bias, &sub, &plan);
    pthread_mutex_unlock(&tune_lock);
    if (st != TCONV_OK) {
        tconv_plan_destroy(plan);
        return st;
    }
    *out = plan;
    return tconv_succeed();
}
