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

static void reference_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    const reference_state *st = plan->state;
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            const float *xg = x + (n * g->groups + grp) * g->cin_g * g->in_plane;
            const float *wg = st->w + grp * g->cin_g * g->cout_g * g->taps;
            for (size_t co = 0; co < g->cout_g; co++) {
                size_t channel = grp * g->cout_g + co;
                float *yc = y + (n * g->groups * g->cout_g + channel) * g->out_plane;
                double b = st->bias ? (double)st->bias[channel] : 0.0;
                for (size_t oy = 0; oy < g->out_hs; oy++)
                    for (size_t ox = 0; ox < g->out_ws; ox++)
                        yc[oy * g->out_ws + ox] =
                            (float)(b + reference_point(plan, xg, wg, co, oy, ox));
            }
        }
}

const tconv_algo_ops tconv_reference_ops = {reference_create, reference_run};
