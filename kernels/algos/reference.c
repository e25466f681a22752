/* reference: output-centric gather with double accumulation; the oracle, never vectorized. */
#include <string.h>

#include "common.h"

typedef struct reference_state {
    float *w, *bias; /* private copies: the caller may free its arrays after planning */
    tconv_axis_taps rows, cols;
} reference_state;

static tconv_status reference_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    reference_state *st;
    tconv_status rc = tconv_plan_alloc(plan, "reference state", 1, sizeof *st, (void **)&st);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "weights", g->w_elems, sizeof(float), (void **)&st->w);
    if (rc == TCONV_OK && bias)
        rc = tconv_plan_alloc(plan, "bias", g->groups * g->cout_g, sizeof(float),
                              (void **)&st->bias);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_h, g->out_h, s->kernel_h, s->stride_h, s->pad_h,
                                   s->dilation_h, &st->rows);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_w, g->out_w, s->kernel_w, s->stride_w, s->pad_w,
                                   s->dilation_w, &st->cols);
    if (rc != TCONV_OK) return rc;
    memcpy(st->w, w, g->w_elems * sizeof(float));
    if (bias) memcpy(st->bias, bias, g->groups * g->cout_g * sizeof(float));
    plan->state = st;
    return TCONV_OK;
}

/* One output value: bias plus every (input channel, tap) that lands on (oy, ox). */
static double reference_point(const tconv_plan *plan, const float *x_group, const float *w_group,
                              size_t co, size_t oy, size_t ox) {
    const tconv_geometry *g = &plan->g;
    const reference_state *st = plan->state;
    size_t kw = (size_t)g->s.kernel_w;
    double acc = 0.0;
    for (size_t c = 0; c < g->cin_g; c++) {
        const float *xc = x_group + c * g->in_plane;
        const float *wc = w_group + (c * g->cout_g + co) * g->taps;
        for (size_t r = st->rows.start[oy]; r < st->rows.start[oy + 1]; r++)
            for (size_t q = st->cols.start[ox]; q < st->cols.start[ox + 1]; q++)
                acc += (double)xc[st->rows.input[r] * g->in_w + st->cols.input[q]] *
                       (double)wc[st->rows.tap[r] * kw + st->cols.tap[q]];
    }
    return acc;
}

/* Output planes [p0, p0 + np) (plane = batch * Cout + channel), rows [r0, r0 + nr) of each. */
typedef struct reference_work {
    const tconv_plan *plan;
    const float *x;
    float *y;
} reference_work;

static void reference_tile(void *context, size_t p0, size_t r0, size_t np, size_t nr) {
    const reference_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const reference_state *st = plan->state;
    size_t cout = g->groups * g->cout_g;
    for (size_t plane = p0; plane < p0 + np; plane++) {
        size_t n = plane / cout, channel = plane % cout;
        size_t grp = channel / g->cout_g, co = channel % g->cout_g;
        const float *xg = work->x + (n * g->groups + grp) * g->cin_g * g->in_plane;
        const float *wg = st->w + grp * g->cin_g * g->cout_g * g->taps;
        float *yc = work->y + plane * g->out_plane;
        double b = st->bias ? (double)st->bias[channel] : 0.0;
        for (size_t oy = r0; oy < r0 + nr; oy++)
            for (size_t ox = 0; ox < g->out_ws; ox++)
                yc[oy * g->out_ws + ox] = (float)(b + reference_point(plan, xg, wg, co, oy, ox));
    }
}

/* Every output value is its own sum: planes and rows are split freely over the threads. */
static void reference_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    reference_work work = {plan, x, y};
    size_t planes = g->batch * g->groups * g->cout_g;
    size_t row_pieces = tconv_div_up(8 * plan->par.threads, planes);
    tconv_parallel_2d(&plan->par, reference_tile, &work, planes, g->out_hs, 1,
                      tconv_parallel_tile(g->out_hs, row_pieces, 1));
}

const tconv_algo_ops tconv_reference_ops = {reference_create, reference_run};
