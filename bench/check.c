/* The derived error bound shared by tests and benchmarks (see check.h). */
#include "check.h"

#include <math.h>
#include <pthread.h>
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
    tconv_status st;
} reference_job;

static void *reference_thread(void *arg) {
    reference_job *j = arg;
    j->st = tconv_forward(j->s, TCONV_ALGO_REFERENCE, j->x, j->w, j->bias, j->y);
    return NULL;
}

tconv_status tconv_check_reference(const tconv_shape *s, const float *x, const float *w,
                                   const float *bias, float *ref, float *mag) {
    size_t nx = tconv_check_x_elems(s), nw = tconv_check_w_elems(s);
    float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw);
    float *ab = bias ? abs_copy(bias, (size_t)s->out_channels) : NULL;
    tconv_status st = TCONV_ERR_NOMEM;
    if (ax && aw && (!bias || ab)) {
        /* The two reference runs are independent: the absolute one on a second thread (wall time
         * only; nothing is timed while the reference runs). */
        reference_job job = {s, ax, aw, ab, mag, TCONV_ERR_INVALID};
        pthread_t th;
        int threaded = pthread_create(&th, NULL, reference_thread, &job) == 0;
        st = tconv_forward(s, TCONV_ALGO_REFERENCE, x, w, bias, ref);
        if (threaded) pthread_join(th, NULL);
        else reference_thread(&job);
        if (st == TCONV_OK) st = job.st;
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
    snprintf(buf, n, "n%zu c%zu y%zu x%zu", index / chw, index % chw / plane, index % plane / (size_t)ow,
             index % (size_t)ow);
}
