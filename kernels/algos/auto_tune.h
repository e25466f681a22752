/* AUTO with tune = 1: measured choice per (shape, ISA, threads), its cache and the wisdom file. */
#ifndef TCONV_AUTO_TUNE_H
#define TCONV_AUTO_TUNE_H

#include <stddef.h>

#include "../core/plan.h"

/* What a decision is keyed by: the shape as given, the plan's ISA and its thread count. */
typedef struct tconv_tune_key {
    tconv_shape s;
    tconv_isa isa;
    size_t threads;
} tconv_tune_key;

typedef struct tconv_tune_entry {
    tconv_tune_key key;
    tconv_algo algo;
} tconv_tune_entry;

/* A growable list of decisions, one per key (a later put replaces). */
typedef struct tconv_tune_cache {
    tconv_tune_entry *items;
    size_t count, capacity;
} tconv_tune_cache;

const tconv_tune_entry *tconv_tune_cache_find(const tconv_tune_cache *c, const tconv_tune_key *k);
/* NOMEM (with a message) when the list cannot grow. */
tconv_status tconv_tune_cache_put(tconv_tune_cache *c, const tconv_tune_key *k, tconv_algo algo);
void tconv_tune_cache_free(tconv_tune_cache *c);

/* The algorithms tune = 1 times (zero_insert and the reference are never candidates). */
int tconv_tune_candidate(tconv_algo algo);

/* ---- the wisdom file (wisdom.c) ---- */
#define TCONV_WISDOM_MAGIC "tconv-wisdom"
#define TCONV_WISDOM_VERSION 1
/* Longest line accepted: a decision line is under 200 characters. */
#define TCONV_WISDOM_LINE_MAX 512

/* Reads every decision of `path` into `out` (appended). A missing file is no decision and OK.
 * Anything else wrong (header, version, another CPU, a malformed or truncated line, an unknown
 * ISA or algorithm, an invalid shape) is TCONV_ERR_INVALID naming the file and line, and `out`
 * is left as it was. */
tconv_status tconv_wisdom_load(const char *path, tconv_tune_cache *out);
/* Writes every decision of `c` to `path` atomically (a temporary file in the same directory, then
 * rename): a reader sees the old file or the new one, never half of one. */
tconv_status tconv_wisdom_save(const char *path, const tconv_tune_cache *c);
/* The header line for this CPU, without the newline. */
void tconv_wisdom_header(char *buf, size_t n);

/* ---- the tuned plan (auto_tune.c) ---- */
/* Creates the plan for AUTO with options->tune == 1: the cached decision for (shape, ISA,
 * threads) if there is one (from this process or the TCONV_WISDOM file), else the fastest
 * candidate timed on this shape within the budget. g and k are the validated shape and the
 * plan's kernels (the heuristic's input). */
tconv_status tconv_auto_tune_create(const tconv_geometry *g, const tconv_kernels *k, const float *w,
                                    const float *bias, const tconv_plan_options *options,
                                    tconv_plan **out);

/* Test hooks: forget every cached decision and the loaded wisdom file; how many shapes were
 * timed since the start (or the last reset). */
void tconv_auto_tune_reset(void);
unsigned long tconv_auto_tune_measurements(void);

#endif
