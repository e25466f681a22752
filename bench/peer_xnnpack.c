/* Peer: XNNPACK xnn_create/setup_deconvolution2d_nhwc_f32 (Debian's 2022-02 snapshot), f32, run
 * at t1 with a NULL pthreadpool (the calling thread only), at t<N> with pthreadpool_create(N),
 * given to both setup (which sizes its tiles from the pool) and run.
 *   XNNPACK works in NHWC with weights [g][Cout/g][Kh][Kw][Cin/g]. The weight transpose is one-time
 *   (part of plan_ms); the per-run input NCHW->NHWC and output NHWC->NCHW transposes are excluded
 *   from the timing and reported as layout_ms.
 *   XNNPACK's "padding" crops the output (PyTorch's padding) and its "adjustment" is PyTorch's
 *   output_padding (it must be smaller than the stride). Output clamping is disabled (-inf, inf).
 *   In cold mode one operator per buffer set (setup binds the buffers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "harness.h"

static int xnn_state; /* 0 not tried, 1 ready, -1 failed */

static int ensure_xnn(char *why, size_t n) {
    if (xnn_state == 0) xnn_state = xnn_initialize(NULL) == xnn_status_success ? 1 : -1;
    if (xnn_state < 0) snprintf(why, n, "xnn_initialize failed (unsupported CPU?)");
    return xnn_state > 0;
}

void tb_xnnpack_context(void (*add)(const char *key, const char *value)) {
    char why[64];
    add("peer.xnnpack.version", TB_XNNPACK_VERSION);
    add("peer.xnnpack.status", ensure_xnn(why, sizeof why) ? "initialized" : why);
    add("peer.xnnpack.threads",
        "t1: NULL pthreadpool (the calling thread only); t<N>: a pthreadpool_create(N) "
        "per benchmark, passed to setup and run");
}

typedef struct xnn_impl {
    int nsets;
    xnn_operator_t *ops;
    pthreadpool_t pool; /* NULL at one thread */
    float **x, **y;     /* NHWC */
    float *wx; /* weights in XNNPACK's layout (kept: some versions reference them lazily) */
    size_t nx, ny;
    int64_t n, c_in, h, w, c_out, oh, ow;
} xnn_impl;

static void xnn_destroy(tb_runner *r) {
    xnn_impl *t = r->impl;
    if (!t) return;
    for (int i = 0; i < t->nsets; i++) {
        if (t->ops && t->ops[i]) xnn_delete_operator(t->ops[i]);
        if (t->x) free(t->x[i]);
        if (t->y) free(t->y[i]);
    }
    if (t->pool) pthreadpool_destroy(t->pool);
    free(t->ops), free(t->x), free(t->y), free(t->wx), free(t);
    r->impl = NULL;
}

/* [n][c][hw] <-> [n][hw][c] */
static void nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < hw; p++)
                dst[(b * hw + p) * c + ch] = src[(b * c + ch) * hw + p];
}
static void nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t ch = 0; ch < c; ch++)
                dst[(b * c + ch) * hw + p] = src[(b * hw + p) * c + ch];
}

static const char *xnn_status_name(enum xnn_status st) {
    switch (st) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    }
    return "unknown status";
}

static tb_status xnn_create(tb_runner *r, const tb_data *d, int nsets, char *why, size_t n) {
    if (!ensure_xnn(why, n)) return TB_SKIP;
    const tconv_shape *s = &d->s;
    if (s->out_pad_h >= s->stride_h || s->out_pad_w >= s->stride_w) {
        snprintf(why, n, "XNNPACK needs output padding (adjustment) < stride");
        return TB_SKIP;
    }
    xnn_impl *t = calloc(1, sizeof *t);
    if (!t) return snprintf(why, n, "out of memory"), TB_SKIP;
    r->impl = t;
    t->nsets = nsets, t->nx = d->nx, t->ny = d->ny;
    t->n = s->batch, t->c_in = s->in_channels, t->h = s->in_h, t->w = s->in_w;
    t->c_out = s->out_channels, t->oh = d->oh, t->ow = d->ow;
    if (r->threads > 1) {
        t->pool = pthreadpool_create((size_t)r->threads);
        if (!t->pool) return snprintf(why, n, "pthreadpool_create(%d) failed", r->threads), TB_SKIP;
        if (pthreadpool_get_threads_count(t->pool) != (size_t)r->threads)
            return snprintf(why, n, "pthreadpool_create(%d) made %zu threads", r->threads,
                            pthreadpool_get_threads_count(t->pool)),
                   TB_SKIP;
    }
    t->ops = calloc((size_t)nsets, sizeof *t->ops);
    t->x = calloc((size_t)nsets, sizeof *t->x), t->y = calloc((size_t)nsets, sizeof *t->y);
    if (!t->ops || !t->x || !t->y) return snprintf(why, n, "out of memory"), TB_SKIP;
    for (int i = 0; i < nsets; i++) {
        t->x[i] = tb_alloc(d->nx * sizeof(float)), t->y[i] = tb_alloc(d->ny * sizeof(float));
        if (!t->x[i] || !t->y[i]) return snprintf(why, n, "out of memory"), TB_SKIP;
        nchw_to_nhwc(d->x, t->x[i], t->n, t->c_in, t->h * t->w);
        tb_fill_nan(t->y[i], d->ny);
    }
    size_t g = (size_t)s->groups, cin_g = (size_t)(s->in_channels / s->groups);
    size_t cout_g = (size_t)(s->out_channels / s->groups),
           taps = (size_t)(s->kernel_h * s->kernel_w);
    double t0 = tb_now();
    t->wx = tb_alloc(d->nw * sizeof(float));
    if (!t->wx) return snprintf(why, n, "out of memory"), TB_SKIP;
    for (size_t grp = 0; grp < g; grp++) /* [g][cin_g][cout_g][taps] -> [g][cout_g][taps][cin_g] */
        for (size_t ci = 0; ci < cin_g; ci++)
            for (size_t co = 0; co < cout_g; co++)
                for (size_t k = 0; k < taps; k++)
                    t->wx[((grp * cout_g + co) * taps + k) * cin_g + ci] =
                        d->w[((grp * cin_g + ci) * cout_g + co) * taps + k];
    for (int i = 0; i < nsets; i++) {
        enum xnn_status st = xnn_create_deconvolution2d_nhwc_f32(
            (uint32_t)s->pad_h, (uint32_t)s->pad_w, (uint32_t)s->pad_h, (uint32_t)s->pad_w,
            (uint32_t)s->kernel_h, (uint32_t)s->kernel_w, (uint32_t)s->stride_h,
            (uint32_t)s->stride_w, (uint32_t)s->dilation_h, (uint32_t)s->dilation_w, (uint32_t)g,
            cin_g, cout_g, (size_t)s->in_channels, (size_t)s->out_channels, t->wx, d->b, -INFINITY,
            INFINITY, 0, &t->ops[i]);
        if (st == xnn_status_success)
            st = xnn_setup_deconvolution2d_nhwc_f32(
                t->ops[i], (size_t)s->batch, (size_t)s->in_h, (size_t)s->in_w,
                (uint32_t)s->out_pad_h, (uint32_t)s->out_pad_w, t->x[i], t->y[i], t->pool);
        if (st != xnn_status_success) {
            snprintf(why, n, "XNNPACK deconvolution2d_nhwc_f32 create/setup refused: %s",
                     xnn_status_name(st));
            return TB_SKIP;
        }
        if (i == 0)
            r->plan_seconds = tb_now() - t0; /* one operator: weight transpose + create + setup */
    }
    r->plan_bytes = -1; /* XNNPACK does not report its packed-weight size */
    /* Per-run cost of the layout changes a caller with NCHW tensors would pay, timed apart. */
    float *scratch_x = tb_alloc(d->nx * sizeof(float)),
          *scratch_y = tb_alloc(d->ny * sizeof(float));
    if (!scratch_x || !scratch_y) {
        free(scratch_x), free(scratch_y);
        return snprintf(why, n, "out of memory"), TB_SKIP;
    }
    double best = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
        double t1 = tb_now();
        nchw_to_nhwc(d->x, scratch_x, t->n, t->c_in, t->h * t->w);
        nhwc_to_nchw(t->y[0], scratch_y, t->n, t->c_out, t->oh * t->ow);
        t1 = tb_now() - t1;
        if (t1 < best) best = t1;
    }
    free(scratch_x), free(scratch_y);
    r->layout_seconds = best;
    r->peak_isa =
        NULL; /* XNNPACK dispatches on its own (cpuinfo): the machine's best peak applies */
    /* XNNPACK's own rule for its two paths (src/operators/deconvolution-nhwc.c). */
    int subconv = (s->stride_h > 1 || s->stride_w > 1) && s->dilation_h == 1 &&
                  s->dilation_w == 1 && s->stride_h <= s->kernel_h && s->stride_w <= s->kernel_w;
    snprintf(r->label, sizeof r->label, "xnn deconvolution2d_nhwc_f32 (%s path) NHWC, %s",
             subconv ? "subconv2d" : "igemm", t->pool ? "pthreadpool" : "no pool");
    return TB_OK;
}

static void xnn_run(tb_runner *r, int set) {
    xnn_impl *t = r->impl;
    xnn_run_operator(t->ops[set], t->pool);
}

static void xnn_output(tb_runner *r, int set, float *y) {
    xnn_impl *t = r->impl;
    nhwc_to_nchw(t->y[set], y, t->n, t->c_out, t->oh * t->ow);
}

const tb_runner_ops tb_xnnpack_ops = {xnn_create, xnn_run, xnn_output, xnn_destroy};
