/* Runner for our algorithms: one tconv plan pinned to one ISA and thread count
 * (tconv_plan_create_ex). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

long tb_perturbed_runs;
size_t tb_perturbed_index;

typedef struct tconv_impl {
    tconv_plan *plan;
    int nsets;
    size_t nx, ny;
    float **x, **y;
} tconv_impl;

static void tconv_destroy(tb_runner *r) {
    tconv_impl *t = r->impl;
    if (!t) return;
    tconv_plan_destroy(t->plan);
    for (int i = 0; i < t->nsets; i++) {
        if (t->x) free(t->x[i]);
        if (t->y) free(t->y[i]);
    }
    free(t->x), free(t->y), free(t);
    r->impl = NULL;
}

static tb_status tconv_create(tb_runner *r, const tb_data *d, int nsets, char *why, size_t n) {
    tconv_impl *t = calloc(1, sizeof *t);
    if (!t) return snprintf(why, n, "out of memory"), TB_SKIP;
    r->impl = t;
    t->nsets = nsets, t->nx = d->nx, t->ny = d->ny;
    t->x = calloc((size_t)nsets, sizeof *t->x), t->y = calloc((size_t)nsets, sizeof *t->y);
    if (!t->x || !t->y) return snprintf(why, n, "out of memory"), TB_SKIP;
    for (int i = 0; i < nsets; i++) {
        t->x[i] = tb_alloc(d->nx * sizeof(float)), t->y[i] = tb_alloc(d->ny * sizeof(float));
        if (!t->x[i] || !t->y[i])
            return snprintf(why, n, "out of memory (%d buffer sets)", nsets), TB_SKIP;
        memcpy(t->x[i], d->x, d->nx * sizeof(float));
        tb_fill_nan(t->y[i], d->ny);
    }
    /* The benchmark's thread count, explicitly (TCONV_NUM_THREADS only applies to threads = 0).
     * gemm_blas: the plan pins OpenBLAS to one thread and runs its GEMM tiles and col2im on the
     * plan's threads, so the harness leaves OpenBLAS's own count alone. */
    tconv_plan_options opt = {.isa = r->isa, .threads = r->threads, .tune = r->tune};
    double t0 = tb_now();
    tconv_status st = tconv_plan_create_ex(&d->s, r->algo, d->w, d->b, &opt, &t->plan);
    r->plan_seconds = tb_now() - t0;
    if (st != TCONV_OK) {
        snprintf(why, n, "plan refused: %s: %s", tconv_status_string(st), tconv_last_error());
        return TB_SKIP;
    }
    if (tconv_plan_threads(t->plan) != r->threads) {
        snprintf(why, n, "plan runs on %d threads, not the %d asked for",
                 tconv_plan_threads(t->plan), r->threads);
        return TB_SKIP;
    }
    r->plan_bytes = (double)tconv_plan_memory_bytes(t->plan);
    r->layout_seconds = -1;
    tconv_algo algo = tconv_plan_algo(t->plan); /* AUTO: the algorithm it chose */
    /* gemm_blas runs OpenBLAS's own kernels for the GEMM: judge it against the machine's best
     * peak; every other algorithm runs only the plan's ISA kernels. */
    r->peak_isa = algo == TCONV_ALGO_GEMM_BLAS ? NULL : tconv_plan_isa(t->plan);
    r->label[0] = '\0';
    /* AUTO's label names its choice ("chose gemm: <kernels>"; scripts/tune_auto.py reads it). */
    if (r->algo == TCONV_ALGO_AUTO)
        snprintf(r->label, sizeof r->label, "chose %s: ", tconv_algo_name(algo));
    for (int loop = 0; loop < 4; loop++) {
        const char *k = tconv_plan_kernel_name(t->plan, loop);
        if (!k) break;
        size_t len = strlen(r->label);
        snprintf(r->label + len, sizeof r->label - len, "%s%s", loop ? "+" : "", k);
    }
    if (r->perturb) {
        tb_perturbed_index = d->ny / 2;
        size_t len = strlen(r->label);
        snprintf(r->label + len, sizeof r->label - len, " (test-only: output %zu perturbed)",
                 tb_perturbed_index);
    }
    return TB_OK;
}

static void tconv_run(tb_runner *r, int set) {
    tconv_impl *t = r->impl;
    tconv_plan_run(t->plan, t->x[set], t->y[set]);
    if (r->perturb) { /* test-only wrong kernel: one output off by far more than the bound */
        float *v = &t->y[set][tb_perturbed_index];
        *v += 0.01f * (1.0f + fabsf(*v));
        tb_perturbed_runs++;
    }
}

static void tconv_output(tb_runner *r, int set, float *y) {
    tconv_impl *t = r->impl;
    memcpy(y, t->y[set], t->ny * sizeof(float));
}

const tb_runner_ops tb_tconv_ops = {tconv_create, tconv_run, tconv_output, tconv_destroy};
