/* The derived error bound shared by tests and benchmarks (see check.h). */
#define _GNU_SOURCE
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

size_t tconv_check_x_elems(const tconv_shape *s) {
    return (size_t)(s->batch * s->in_channels * s->in_h * s->in_w);
}

size_t tconv_check_w_elems(const tconv_shape *s) {
    return (size_t)(s->in_channels * (s->out_channels / s->groups) * s->kernel_h * s->kernel_w);
}

size_t tconv_check_y_elems(const tconv_shape *s) {
    int64_t oh, ow;
    if (tconv_output_size(s, &oh, &ow) != TCONV_OK) return 0;
    return (size_t)(s->batch * s->out_channels * oh * ow);
}

double tconv_check_bound_scale(const tconv_shape *s) {
    double L = (double)(s->in_channels / s->groups * s->kernel_h * s->kernel_w);
    return TCONV_CHECK_BOUND_C * L * ldexp(1.0, -24);
}

static float *abs_copy(const float *p, size_t n) {
    float *q = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; q && i < n; i++) q[i] = fabsf(p[i]);
    return q;
}

typedef struct reference_job {
    const tconv_shape *s;
    const float *x, *w, *bias;
    float *y;
    int threads;
    tconv_status st;
} reference_job;

/* The reference algorithm on the job's thread count (explicit: TCONV_NUM_THREADS, which the perf
 * gate sets to 1, is for the code under test, not for the oracle; its output is the same for any
 * thread count). */
static void *reference_thread(void *arg) {
    reference_job *j = arg;
    tconv_plan_options opt = {.isa = NULL, .threads = j->threads};
    tconv_plan *plan = NULL;
    j->st = tconv_plan_create_ex(j->s, TCONV_ALGO_REFERENCE, j->w, j->bias, &opt, &plan);
    if (j->st == TCONV_OK) j->st = tconv_plan_run(plan, j->x, j->y);
    tconv_plan_destroy(plan);
    return NULL;
}

static int cpus_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

tconv_status tconv_check_reference(const tconv_shape *s, const float *x, const float *w,
                                   const float *bias, float *ref, float *mag) {
    size_t nx = tconv_check_x_elems(s), nw = tconv_check_w_elems(s);
    float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw);
    float *ab = bias ? abs_copy(bias, (size_t)s->out_channels) : NULL;
    tconv_status st = TCONV_ERR_NOMEM;
    if (ax && aw && (!bias || ab)) {
        /* The two reference runs are independent: the absolute one on a second thread, and the
         * process's CPUs shared between them (wall time only; nothing is timed while the reference
         * runs). All CPUs stay busy whether the reference plan splits its work or not. */
        int cpus = cpus_available();
        reference_job job = {s, ax, aw, ab, mag, cpus / 2 > 0 ? cpus / 2 : 1, TCONV_ERR_INVALID};
        reference_job own = {
            s, x, w, bias, ref, cpus - job.threads > 0 ? cpus - job.threads : 1, TCONV_ERR_INVALID};
        pthread_t th;
        int threaded = pthread_create(&th, NULL, reference_thread, &job) == 0;
        reference_thread(&own);
        if (threaded)
            pthread_join(th, NULL);
        else
            reference_thread(&job);
        st = own.st == TCONV_OK ? job.st : own.st;
    }
    free(ax), free(aw), free(ab);
    return st;
}

int tconv_check_compare(const tconv_shape *s, const float *ref, const float *mag, const float *y,
                        tconv_check_result *out) {
    size_t ny = tconv_check_y_elems(s);
    double scale = tconv_check_bound_scale(s);
    tconv_check_result r = {0};
    r.checked = ny;
    r.worst_ratio = -1.0;
    for (size_t i = 0; i < ny; i++) {
        double bound = scale * (double)mag[i];
        double err = fabs((double)y[i] - (double)ref[i]);
        double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0.0);
        if (isnan(err)) ratio = INFINITY;
        if (!(err <= bound)) { /* also catches NaN */
            if (r.bad++ == 0) r.first_bad = i;
        }
        if (ratio > r.worst_ratio) {
            r.worst_ratio = ratio, r.worst_index = i, r.worst_error = err, r.worst_bound = bound;
            r.expected = (double)ref[i], r.actual = (double)y[i];
        }
    }
    if (ny == 0) r.worst_ratio = 0.0;
    if (out) *out = r;
    return r.bad == 0;
}

void tconv_check_index_string(const tconv_shape *s, size_t index, char *buf, size_t n) {
    int64_t oh = 0, ow = 0;
    tconv_output_size(s, &oh, &ow);
    size_t plane = (size_t)(oh * ow), chw = plane * (size_t)s->out_channels;
    if (plane == 0) {
        snprintf(buf, n, "?");
        return;
    }
    snprintf(buf, n, "n%zu c%zu y%zu x%zu", index / chw, index % chw / plane,
             index % plane / (size_t)ow, index % (size_t)ow);
}
