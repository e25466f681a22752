/* Weight/bias packing into the micro-kernels' tile layout, and per-axis tap tables. */
#include "common.h"

tconv_status tconv_pack_tap_weights(tconv_plan *plan, const float *w, size_t mr, int flip,
                                    float **out) {
    const tconv_geometry *g = &plan->g;
    size_t blocks = tconv_div_up(g->cout_g, mr), count;
    tconv_status st =
        tconv_size_mul4("packed weights", &count, g->groups * blocks, g->taps, g->cin_g, mr);
    if (st == TCONV_OK)
        st = tconv_plan_alloc(plan, "packed weights", count, sizeof(float), (void **)out);
    if (st != TCONV_OK) return st;
    float *dst = *out;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t co = 0; co < g->cout_g; co++)
            for (size_t c = 0; c < g->cin_g; c++) {
                /* w is [Cin][Cout/g][Kh][Kw]; input channel grp*cin_g + c feeds group grp. */
                const float *src = w + ((grp * g->cin_g + c) * g->cout_g + co) * g->taps;
                for (size_t t = 0; t < g->taps; t++) {
                    size_t tap = flip ? g->taps - 1 - t : t;
                    dst[tconv_tap_weight_offset(g, mr, grp, co / mr, t) + c * mr + co % mr] =
                        src[tap];
                }
            }
    return TCONV_OK;
}

tconv_status tconv_pack_bias_blocks(tconv_plan *plan, const float *bias, size_t mr, float **out) {
    const tconv_geometry *g = &plan->g;
    size_t blocks = tconv_div_up(g->cout_g, mr);
    tconv_status st =
        tconv_plan_alloc(plan, "packed bias", g->groups * blocks, mr * sizeof(float), (void **)out);
    if (st != TCONV_OK || bias == NULL) return st;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t co = 0; co < g->cout_g; co++)
            (*out)[(grp * blocks + co / mr) * mr + co % mr] = bias[grp * g->cout_g + co];
    return TCONV_OK;
}

tconv_status tconv_axis_taps_build(tconv_plan *plan, int64_t in, int64_t out, int64_t k,
                                   int64_t stride, int64_t pad, int64_t dilation,
                                   tconv_axis_taps *t) {
    /* The offsets array first, so a huge output fails fast; then count, then fill. */
    tconv_status st =
        tconv_plan_alloc(plan, "tap table", (size_t)out + 1, sizeof(size_t), (void **)&t->start);
    if (st != TCONV_OK) return st;
    size_t total = 0;
    for (int64_t o = 0; o < out; o++)
        for (int64_t kk = 0; kk < k; kk++) {
            int64_t num = o + pad - kk * dilation;
            if (num >= 0 && num % stride == 0 && num / stride < in) total++;
        }
    st = tconv_plan_alloc(plan, "tap table", total, sizeof(uint32_t), (void **)&t->tap);
    if (st == TCONV_OK)
        st = tconv_plan_alloc(plan, "tap table", total, sizeof(size_t), (void **)&t->input);
    if (st != TCONV_OK) return st;
    size_t n = 0;
    for (int64_t o = 0; o < out; o++) {
        t->start[o] = n;
        for (int64_t kk = 0; kk < k; kk++) {
            int64_t num = o + pad - kk * dilation;
            if (num >= 0 && num % stride == 0 && num / stride < in) {
                t->tap[n] = (uint32_t)kk;
                t->input[n++] = (size_t)(num / stride);
            }
        }
    }
    t->start[out] = n;
    return TCONV_OK;
}
