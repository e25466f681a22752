/* zero_insert: the seed's recipe: insert s-1 zeros, pad d*(k-1)-p, flip, stride-1 convolution. */
#include <string.h>

#include "common.h"

typedef struct zero_insert_state {
    float *w_packed;           /* flipped kernel, [group][block][tap][c][mr] */
    float *bias_packed;        /* [group][block][mr] */
    float *padded;             /* one group's zero-inserted, padded input: [cin_g][zh][zw] */
    const float **x_taps;      /* per thread slot, per tap: row pointer handed to the kernel */
    const float **w_taps;      /* per thread slot, per tap: packed weight slice */
    size_t zh, zw, zplane;     /* padded input size */
    int64_t pad_top, pad_left; /* may be negative: the zero-inserted input is then cropped */
} zero_insert_state;

/* Padded extent along one axis: the stride-1 convolution input needs out + d*(k-1) entries. */
static tconv_status padded_extent(const char *what, size_t out, int64_t k, int64_t d, size_t *ext) {
    return tconv_size_add(what, ext, out, (size_t)(d * (k - 1)));
}

static tconv_status zero_insert_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t mr = plan->k.conv.mr;
    zero_insert_state *st;
    tconv_status rc = tconv_plan_alloc(plan, "zero_insert state", 1, sizeof *st, (void **)&st);
    if (rc != TCONV_OK) return rc;
    /* Step 2 of the seed, dilation-aware: d*(k-1)-p zeros before; after, plus output padding.
     * d*(k-1) cannot overflow: the output size computation already included it. */
    st->pad_top = s->dilation_h * (s->kernel_h - 1) - s->pad_h;
    st->pad_left = s->dilation_w * (s->kernel_w - 1) - s->pad_w;
    size_t plane, slot_taps;
    if ((rc = padded_extent("zero-inserted height", g->out_hs, s->kernel_h, s->dilation_h,
                            &st->zh)) ||
        (rc = padded_extent("zero-inserted width", g->out_ws, s->kernel_w, s->dilation_w,
                            &st->zw)) ||
        (rc = tconv_size_mul("zero-inserted plane", &st->zplane, st->zh, st->zw)) ||
        (rc = tconv_size_mul("zero-inserted input", &plane, st->zplane, g->cin_g)) ||
        (rc = tconv_plan_alloc(plan, "zero-inserted input", plane, sizeof(float),
                               (void **)&st->padded)) ||
        (rc = tconv_size_mul("tap pointers", &slot_taps, g->taps, plan->par.threads)) ||
        (rc = tconv_plan_alloc(plan, "tap pointers", slot_taps, sizeof(float *),
                               (void **)&st->x_taps)) ||
        (rc = tconv_plan_alloc(plan, "tap pointers", slot_taps, sizeof(float *),
                               (void **)&st->w_taps)) ||
        (rc = tconv_pack_tap_weights(plan, w, mr, 1, &st->w_packed)) ||
        (rc = tconv_pack_bias_blocks(plan, bias, mr, &st->bias_packed)))
        return rc;
    plan->state = st;
    return TCONV_OK;
}

/* What one (batch, group) slice's parallel steps read and write. */
typedef struct zero_insert_work {
    const tconv_plan *plan;
    const float *x_group;
    float *y_group;
    size_t grp;
} zero_insert_work;

/* Steps 1 and 2 for channels [c0, c0 + nc): input sample (iy, ix) goes to
 * (iy*sh + pad_top, ix*sw + pad_left); all else 0. */
static void insert_zeros(void *context, size_t c0, size_t nc) {
    const zero_insert_work *work = context;
    const tconv_geometry *g = &work->plan->g;
    const tconv_shape *s = &g->s;
    const zero_insert_state *st = work->plan->state;
    memset(st->padded + c0 * st->zplane, 0, nc * st->zplane * sizeof(float));
    for (size_t c = c0; c < c0 + nc; c++)
        for (int64_t iy = 0; iy < s->in_h; iy++) {
            int64_t zy = iy * s->stride_h + st->pad_top;
            if (zy < 0 || zy >= (int64_t)st->zh) continue;
            float *dst = st->padded + c * st->zplane + (size_t)zy * st->zw;
            const float *src = work->x_group + c * g->in_plane + (size_t)iy * g->in_w;
            for (int64_t ix = 0; ix < s->in_w; ix++) {
                int64_t zx = ix * s->stride_w + st->pad_left;
                if (zx >= 0 && zx < (int64_t)st->zw) dst[zx] = src[ix];
            }
        }
}

/* Steps 3 and 4 for channel blocks [b0, b0 + nb) and output rows [r0, r0 + nr): the flipped
 * kernel (packed at plan time) slides with stride 1 over every row. */
static void convolve_tile(void *context, size_t b0, size_t r0, size_t nb, size_t nr) {
    const zero_insert_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    const zero_insert_state *st = plan->state;
    size_t mr = plan->k.conv.mr, kw = (size_t)s->kernel_w, grp = work->grp;
    size_t dh = (size_t)s->dilation_h, dw = (size_t)s->dilation_w;
    size_t slot = tconv_parallel_claim(&plan->par);
    const float **x_taps = st->x_taps + slot * g->taps, **w_taps = st->w_taps + slot * g->taps;
    for (size_t b = b0; b < b0 + nb; b++) {
        size_t rows = g->cout_g - b * mr < mr ? g->cout_g - b * mr : mr;
        for (size_t t = 0; t < g->taps; t++)
            w_taps[t] = st->w_packed + tconv_tap_weight_offset(g, mr, grp, b, t);
        const float *bias = st->bias_packed + (grp * tconv_div_up(g->cout_g, mr) + b) * mr;
        for (size_t oy = r0; oy < r0 + nr; oy++) {
            for (size_t t = 0; t < g->taps; t++)
                x_taps[t] = st->padded + (oy + (t / kw) * dh) * st->zw + (t % kw) * dw;
            plan->k.conv.fn(rows, g->out_ws, g->taps, x_taps, st->zplane, g->cin_g, w_taps, bias,
                            work->y_group + b * mr * g->out_plane + oy * g->out_ws, g->out_plane,
                            1);
        }
    }
    tconv_parallel_release(&plan->par, slot);
}

/* Per (batch, group): the zero-inserted input by channels, then the convolution by (channel
 * block, output row) tiles; each output is one micro-kernel sum whatever the tiling. */
static void zero_insert_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    size_t threads = plan->par.threads, blocks = tconv_div_up(g->cout_g, plan->k.conv.mr);
    size_t row_tile = tconv_parallel_tile(g->out_hs, tconv_div_up(4 * threads, blocks), 1);
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            size_t slot = n * g->groups + grp;
            zero_insert_work work = {plan, x + slot * g->cin_g * g->in_plane,
                                     y + slot * g->cout_g * g->out_plane, grp};
            tconv_parallel_1d(&plan->par, insert_zeros, &work, g->cin_g,
                              tconv_parallel_tile(g->cin_g, threads, 1));
            tconv_parallel_2d(&plan->par, convolve_tile, &work, blocks, g->out_hs, 1, row_tile);
        }
}

const tconv_algo_ops tconv_zero_insert_ops = {zero_insert_create, zero_insert_run};
