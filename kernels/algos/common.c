/* Weight/bias packing into the micro-kernels' tile layout, and per-axis tap tables. */
#include "common.h"

#include <inttypes.h>

tconv_status tconv_pack_tap_weights(tconv_plan *plan, const float *w, size_t mr, int flip,
                                    float **out) {
    const tconv_geometry *g = &plan->g;
    size_t blocks = tconv_div_up(g->cout_g, mr), count;
    const char *what = "packed weights (out_channels*kernel_h*kernel_w*in_channels/groups)";
    tconv_status st = tconv_size_mul4(g, what, &count, g->groups * blocks, g->taps, g->cin_g, mr);
    if (st == TCONV_OK) st = tconv_plan_alloc(plan, what, count, sizeof(float), (void **)out);
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

/* The inputs i whose output o = i*stride - pad + tap*dilation lies in [0, out), for one tap:
 * [*lo, *hi). Every term is within TCONV_GEOMETRY_LIMIT, so no intermediate overflows. */
static void tap_input_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t offset,
                            int64_t *lo, int64_t *hi) {
    *lo = tconv_ceil_div(pad - offset, stride);
    *hi = tconv_floor_div(out - 1 + pad - offset, stride) + 1;
    if (*lo < 0) *lo = 0;
    if (*hi > in) *hi = in;
}

/* Counting sort by output index, walking (tap, input) pairs tap by tap: the work is the number of
 * taps plus the number of pairs, each only after the memory it fills is allocated (a huge kernel
 * with a tiny output, or a huge output with a tiny kernel, was out*k loop iterations before). */
tconv_status tconv_axis_taps_build(tconv_plan *plan, int64_t in, int64_t out, int64_t k,
                                   int64_t stride, int64_t pad, int64_t dilation,
                                   tconv_axis_taps *t) {
    if (k - 1 > (int64_t)UINT32_MAX)
        return tconv_fail(TCONV_ERR_UNSUPPORTED,
                          "kernel size (%" PRId64 ") along one axis exceeds the 32-bit tap "
                          "indices of this algorithm",
                          k);
    tconv_u128 pairs = tconv_axis_pairs(in, k, stride, pad, dilation, out);
    size_t total = pairs > SIZE_MAX ? SIZE_MAX : (size_t)pairs; /* SIZE_MAX fails below */
    tconv_status st =
        tconv_plan_alloc(plan, "tap table", (size_t)out + 1, sizeof(size_t), (void **)&t->start);
    if (st == TCONV_OK)
        st = tconv_plan_alloc(plan, "tap table", total, sizeof(uint32_t), (void **)&t->tap);
    if (st == TCONV_OK)
        st = tconv_plan_alloc(plan, "tap table", total, sizeof(size_t), (void **)&t->input);
    if (st != TCONV_OK) return st;
    /* Taps whose span [t*d - pad - ..] can reach the output: t*d in [pad - (in-1)*s, out-1+pad]. */
    int64_t t_first = tconv_ceil_div(pad - (in - 1) * stride, dilation);
    int64_t t_end = tconv_floor_div(out - 1 + pad, dilation) + 1;
    if (t_first < 0) t_first = 0;
    if (t_end > k) t_end = k;
    int64_t lo, hi;
    for (int64_t kk = t_first; kk < t_end; kk++) { /* start[o + 1] = pairs landing on o */
        tap_input_range(in, out, stride, pad, kk * dilation, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) t->start[i * stride - pad + kk * dilation + 1]++;
    }
    for (int64_t o = 0; o < out; o++) t->start[o + 1] += t->start[o];
    for (int64_t kk = t_first; kk < t_end; kk++) { /* start[o] walks o's slots, in tap order */
        tap_input_range(in, out, stride, pad, kk * dilation, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            size_t n = t->start[i * stride - pad + kk * dilation]++;
            t->tap[n] = (uint32_t)kk;
            t->input[n] = (size_t)i;
        }
    }
    for (int64_t o = out; o > 0; o--) t->start[o] = t->start[o - 1]; /* undo the walk */
    t->start[0] = 0;
    return TCONV_OK;
}
