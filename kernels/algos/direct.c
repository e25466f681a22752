/* direct: zero-free stride-phase (sub-pixel) decomposition; each phase is a stride-1 convolution.
 */
#include <stdlib.h>

#include "common.h"

/* A run of output columns of one phase (ox = ox_start + j*stride_w, j < pixels) over which the
 * same kernel columns land inside the input, so one micro-kernel call covers it. */
typedef struct column_segment {
    size_t ox_start, pixels;
    size_t tap_begin, tap_end; /* range in the column tap arrays */
} column_segment;

typedef struct direct_state {
    float *w_packed, *bias_packed;
    tconv_axis_taps rows; /* per output row: (ky, iy) pairs */
    column_segment *segments;
    size_t segment_count;
    uint32_t *col_tap; /* kx of each column tap of a segment */
    size_t *col_input; /* input column of the segment's first pixel for that kx */
    const float **x_taps, **w_taps;
} direct_state;

static int compare_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Walks every phase's segments; with NULL arrays it only counts segments and taps. */
static void walk_segments(const tconv_geometry *g, direct_state *st, size_t *bounds,
                          size_t *segments_out, size_t *taps_out) {
    const tconv_shape *s = &g->s;
    int64_t sw = s->stride_w, dw = s->dilation_w, pw = s->pad_w, kw = s->kernel_w;
    int64_t in_w = s->in_w, phases = sw < g->out_w ? sw : g->out_w;
    size_t nseg = 0, ntap = 0;
    for (int64_t ox0 = 0; ox0 < phases; ox0++) {
        int64_t pixels = (g->out_w - 1 - ox0) / sw + 1;
        size_t nb = 0;
        bounds[nb++] = 0;
        bounds[nb++] = (size_t)pixels;
        /* Kernel column kx lands on this phase when ox0 + pw - kx*dw is a multiple of sw; then
         * pixel j reads input column base + j, valid for j in [lo, hi). */
        for (int64_t kx = 0; kx < kw; kx++) {
            int64_t num = ox0 + pw - kx * dw;
            if (((num % sw) + sw) % sw != 0) continue;
            int64_t base = num / sw;
            int64_t lo = base < 0 ? -base : 0, hi = in_w - base < pixels ? in_w - base : pixels;
            if (lo < hi) bounds[nb++] = (size_t)lo, bounds[nb++] = (size_t)hi;
        }
        qsort(bounds, nb, sizeof *bounds, compare_size);
        for (size_t i = 0; i + 1 < nb; i++) {
            size_t a = bounds[i], b = bounds[i + 1];
            if (a == b) continue;
            if (st->segments)
                st->segments[nseg] =
                    (column_segment){(size_t)ox0 + a * (size_t)sw, b - a, ntap, ntap};
            for (int64_t kx = 0; kx < kw; kx++) {
                int64_t num = ox0 + pw - kx * dw;
                if (((num % sw) + sw) % sw != 0) continue;
                int64_t base = num / sw;
                if (base + (int64_t)a >= 0 && base + (int64_t)b <= in_w) {
                    if (st->col_tap)
                        st->col_tap[ntap] = (uint32_t)kx,
                        st->col_input[ntap] = (size_t)(base + (int64_t)a);
                    ntap++;
                }
            }
            if (st->segments) st->segments[nseg].tap_end = ntap;
            nseg++;
        }
    }
    *segments_out = nseg;
    *taps_out = ntap;
}

static tconv_status build_segments(tconv_plan *plan, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t *bounds, nseg, ntap;
    tconv_status rc = tconv_plan_alloc(plan, "segment bounds", 2 * (size_t)g->s.kernel_w + 2,
                                       sizeof(size_t), (void **)&bounds);
    if (rc != TCONV_OK) return rc;
    walk_segments(g, st, bounds, &nseg, &ntap);
    if ((rc = tconv_plan_alloc(plan, "column segments", nseg, sizeof(column_segment),
                               (void **)&st->segments)) ||
        (rc = tconv_plan_alloc(plan, "column taps", ntap, sizeof(uint32_t),
                               (void **)&st->col_tap)) ||
        (rc = tconv_plan_alloc(plan, "column taps", ntap, sizeof(size_t), (void **)&st->col_input)))
        return rc;
    walk_segments(g, st, bounds, &st->segment_count, &ntap);
    return TCONV_OK;
}

static tconv_status direct_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t mr = plan->k.conv.mr;
    direct_state *st;
    tconv_status rc = tconv_plan_alloc(plan, "direct state", 1, sizeof *st, (void **)&st);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_h, g->out_h, s->kernel_h, s->stride_h, s->pad_h,
                                   s->dilation_h, &st->rows);
    if (rc == TCONV_OK) rc = build_segments(plan, st);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "tap pointers", g->taps, sizeof(float *), (void **)&st->x_taps);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "tap pointers", g->taps, sizeof(float *), (void **)&st->w_taps);
    if (rc == TCONV_OK) rc = tconv_pack_tap_weights(plan, w, mr, 0, &st->w_packed);
    if (rc == TCONV_OK) rc = tconv_pack_bias_blocks(plan, bias, mr, &st->bias_packed);
    if (rc == TCONV_OK) plan->state = st;
    return rc;
}

/* One block of output channels of one output row: a micro-kernel call per column segment with
 * exactly the (ky, kx) taps that land there. */
static void direct_row(const tconv_plan *plan, direct_state *st, const float *x_group,
                       const float *w_block, const float *bias, size_t rows, size_t oy,
                       float *y_block) {
    const tconv_geometry *g = &plan->g;
    size_t kw = (size_t)g->s.kernel_w, tap_stride = g->cin_g * plan->k.conv.mr;
    for (size_t sgi = 0; sgi < st->segment_count; sgi++) {
        const column_segment *seg = &st->segments[sgi];
        size_t n = 0;
        for (size_t r = st->rows.start[oy]; r < st->rows.start[oy + 1]; r++) {
            const float *x_row = x_group + st->rows.input[r] * g->in_w;
            for (size_t q = seg->tap_begin; q < seg->tap_end; q++) {
                st->x_taps[n] = x_row + st->col_input[q];
                st->w_taps[n++] = w_block + (st->rows.tap[r] * kw + st->col_tap[q]) * tap_stride;
            }
        }
        plan->k.conv.fn(rows, seg->pixels, n, st->x_taps, g->in_plane, g->cin_g, st->w_taps, bias,
                        y_block + oy * g->out_ws + seg->ox_start, g->out_plane,
                        (size_t)g->s.stride_w);
    }
}

static void direct_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    direct_state *st = plan->state;
    size_t mr = plan->k.conv.mr, blocks = tconv_div_up(g->cout_g, mr);
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            const float *xg = x + (n * g->groups + grp) * g->cin_g * g->in_plane;
            for (size_t b = 0; b < blocks; b++) {
                size_t rows = g->cout_g - b * mr < mr ? g->cout_g - b * mr : mr;
                const float *wb = st->w_packed + tconv_tap_weight_offset(g, mr, grp, b, 0);
                const float *bias = st->bias_packed + (grp * blocks + b) * mr;
                float *yb = y + ((n * g->groups + grp) * g->cout_g + b * mr) * g->out_plane;
                for (size_t oy = 0; oy < g->out_hs; oy++)
                    direct_row(plan, st, xg, wb, bias, rows, oy, yb);
            }
        }
}

const tconv_algo_ops tconv_direct_ops = {"direct", direct_create, direct_run};
