/* sparse: zero weights dropped at plan time; each output channel streams its nonzero weights,
 * each times the input rectangle its kernel tap reads (C^T's pixel structure, per tap). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sparse.h"

/* Why this layout: random (unstructured) pruning leaves no dense blocks of output channels to
 * vectorize over, so the kernels vectorize over pixels instead (as XNNPACK's sparse 1x1 kernels
 * do). In stride-phase layout (output (oy, ox) stored at phase (oy % s, ox % s), cell
 * (oy / s, ox / s)) every tap's contribution is a dense input rectangle added to a dense
 * rectangle shifted by a constant, so the inner loop is a plain multiply-add over a row. */
typedef struct sparse_state {
    tconv_sparse_tap *taps; /* [taps]: each tap's rectangle (rows 0: lands nowhere) */
    tconv_sparse_run *runs; /* per (group, output channel), the taps with nonzeros, in order */
    size_t *chan_runs;      /* [groups*cout_g*blocks + 1] offsets into runs, per input block */
    /* Quads (padded layout, cout_g % 4 == 0, mostly dense weights): the (input channel, tap)
     * entries whose four weights of a block of four output channels are all nonzero, one x load
     * for four FMAs; the other nonzeros stay in per-channel runs. */
    int quads;
    size_t *quad_runs;     /* [groups*cout_g/4*blocks + 1] offsets into runs, per input block */
    uint32_t *chan;        /* per nonzero (per quad entry: 4 slots): input channel * in_plane */
    float *w;              /* per nonzero: its weight (per quad entry: the four channels') */
    float *bias;           /* [groups*cout_g] */
    float *acc;            /* [threads][chunk*acc_elems]: output channels in phase layout */
    size_t nnz, acc_elems; /* nnz: slots of chan and w */
    /* Cache blocking (padded layout): input channels in blocks of block_c whose padded planes fit
     * L1, each block swept over a chunk of output channels whose accumulators fit L2, so x is
     * read from L1 rather than once per output channel from L2. blocks = 1 otherwise. */
    size_t block_c, blocks, chunk;
    size_t phases_h, phases_w, cells_h, cells_w; /* phase grid and cells per phase */
    size_t phase_elems, acc_rstride;             /* one phase's acc floats; its row stride */
    /* Padded layout (all weights finite): x copied into zero-padded planes whose row stride is
     * acc's, so every tap of a phase reads one contiguous stream as long as the whole phase, and
     * all taps of a phase form one run (summed in registers by the kernels). */
    int padded;
    size_t pad_h, pad_w, x_rstride, x_plane; /* x's layout as the kernels see it */
    float *xpad;                             /* [channels*x_plane + VL slack] */
} sparse_state;

/* One axis of one tap: output o = i*stride - pad + t*dilation lies in phase (t*d - p) mod s, cell
 * i + floor((t*d - p) / s). The input range [i0, i0 + n) is the one whose cells exist in that
 * phase (phase p holds ceil((out - p) / s) cells). */
typedef struct axis_span {
    size_t phase, i0, n;
    int64_t shift;
} axis_span;

static axis_span axis_span_of(int64_t in, int64_t out, int64_t t, int64_t stride, int64_t pad,
                              int64_t dilation) {
    int64_t off = t * dilation - pad, shift = tconv_floor_div(off, stride);
    int64_t phase = off - shift * stride;
    axis_span a = {(size_t)phase, 0, 0, shift};
    if (phase >= out) return a;
    int64_t cells = tconv_ceil_div(out - phase, stride);
    int64_t lo = shift < 0 ? -shift : 0, hi = cells - shift < in ? cells - shift : in;
    if (hi > lo) a.i0 = (size_t)lo, a.n = (size_t)(hi - lo);
    return a;
}

static void build_taps(const tconv_geometry *g, sparse_state *st) {
    const tconv_shape *s = &g->s;
    size_t phase_cells = st->cells_h * st->cells_w;
    for (int64_t ky = 0; ky < s->kernel_h; ky++)
        for (int64_t kx = 0; kx < s->kernel_w; kx++) {
            axis_span r = axis_span_of(s->in_h, g->out_h, ky, s->stride_h, s->pad_h, s->dilation_h);
            axis_span c = axis_span_of(s->in_w, g->out_w, kx, s->stride_w, s->pad_w, s->dilation_w);
            tconv_sparse_tap *t = &st->taps[ky * s->kernel_w + kx];
            if (r.n == 0 || c.n == 0) continue; /* zeroed: rows 0 */
            size_t qy = (size_t)((int64_t)r.i0 + r.shift), qx = (size_t)((int64_t)c.i0 + c.shift);
            size_t base = (r.phase * st->phases_w + c.phase) * phase_cells;
            *t = (tconv_sparse_tap){(uint32_t)(r.i0 * g->in_w + c.i0),
                                    (uint32_t)(base + qy * st->cells_w + qx), (uint32_t)r.n,
                                    (uint32_t)c.n};
            /* Whole rows on both sides: the rectangle is one contiguous row (fewer, longer
             * loops for small planes). */
            if (c.n == g->in_w && c.n == st->cells_w) t->cols *= t->rows, t->rows = 1;
        }
}

/* w[grp*cin_g + c][o][tap] (PyTorch's layout). */
static float weight_at(const tconv_geometry *g, const float *w, size_t grp, size_t o, size_t c,
                       size_t tap) {
    return w[((grp * g->cin_g + c) * g->cout_g + o) * g->taps + tap];
}

/* Counts (fill == 0) or stores the nonzeros and runs of every output channel, taps in order and
 * input channels in order within a tap. Taps landing nowhere are dropped with their weights. */
static void walk_nonzeros(const tconv_geometry *g, const float *w, sparse_state *st, int fill,
                          size_t *nnz_out, size_t *runs_out) {
    size_t nnz = 0, runs = 0;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t o = 0; o < g->cout_g; o++) {
            if (fill) st->chan_runs[grp * g->cout_g + o] = runs;
            for (size_t t = 0; t < g->taps; t++) {
                if (st->taps[t].rows == 0) continue;
                size_t begin = nnz;
                for (size_t c = 0; c < g->cin_g; c++) {
                    float v = weight_at(g, w, grp, o, c, t);
                    if (v == 0.0f) continue;
                    if (fill) st->chan[nnz] = (uint32_t)(c * g->in_plane), st->w[nnz] = v;
                    nnz++;
                }
                if (nnz == begin) continue;
                if (fill)
                    st->runs[runs] =
                        (tconv_sparse_run){(uint32_t)t, (uint32_t)begin, (uint32_t)nnz, 0, 0};
                runs++;
            }
        }
    if (fill) st->chan_runs[g->groups * g->cout_g] = runs;
    *nnz_out = nnz, *runs_out = runs;
}

static int all_finite(const float *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i])) return 0;
    return 1;
}

/* The padded layout's sizes: pads so that every cell q of a phase reads input q - shift + pad
 * inside the plane, rows Wp wide; one spare row and 16 floats of slack (after the last plane)
 * absorb the junk columns and the phase length rounded up to whole vectors. Returns 0 when the
 * offsets would not fit 32 bits (then the rectangle layout is used). */
static int plan_padding(const tconv_geometry *g, sparse_state *st) {
    const tconv_shape *s = &g->s;
    int64_t sy_min = INT64_MAX, sy_max = INT64_MIN, sx_min = INT64_MAX, sx_max = INT64_MIN;
    for (int64_t ky = 0; ky < s->kernel_h; ky++)
        for (int64_t kx = 0; kx < s->kernel_w; kx++) {
            axis_span r = axis_span_of(s->in_h, g->out_h, ky, s->stride_h, s->pad_h, s->dilation_h);
            axis_span c = axis_span_of(s->in_w, g->out_w, kx, s->stride_w, s->pad_w, s->dilation_w);
            if (r.n == 0 || c.n == 0) continue;
            sy_min = r.shift < sy_min ? r.shift : sy_min,
            sy_max = r.shift > sy_max ? r.shift : sy_max;
            sx_min = c.shift < sx_min ? c.shift : sx_min,
            sx_max = c.shift > sx_max ? c.shift : sx_max;
        }
    if (sy_min == INT64_MAX) return 0; /* no tap lands: nothing to stream */
    double ph = sy_max > 0 ? (double)sy_max : 0.0, pw = sx_max > 0 ? (double)sx_max : 0.0;
    double wp = pw + (double)s->in_w, hp = ph + (double)s->in_h;
    if (pw - (double)sx_min + (double)st->cells_w > wp)
        wp = pw - (double)sx_min + (double)st->cells_w;
    if (ph - (double)sy_min + (double)st->cells_h > hp)
        hp = ph - (double)sy_min + (double)st->cells_h;
    hp += 1.0;
    double phase = (double)st->cells_h * wp + 16.0; /* bound on the rounded length */
    if ((double)(g->cin_g + 2) * hp * wp >= (double)UINT32_MAX ||
        (double)st->phases_h * (double)st->phases_w * phase >= (double)UINT32_MAX ||
        (double)g->groups * (double)g->cin_g * hp * wp >= 1e15)
        return 0;
    /* Tiny phases (stride near the output size) would round up to mostly junk: the padded
     * accumulator may be at most twice the rectangle layout's. */
    if (2.0 * (double)st->acc_elems < (double)st->phases_h * (double)st->phases_w * phase) return 0;
    st->pad_h = (size_t)ph, st->pad_w = (size_t)pw, st->x_rstride = (size_t)wp;
    st->x_plane = (size_t)hp * (size_t)wp, st->acc_rstride = (size_t)wp;
    st->phase_elems = (st->cells_h * st->x_rstride + 15) / 16 * 16;
    st->acc_elems = st->phases_h * st->phases_w * st->phase_elems;
    size_t plane_bytes = st->x_plane * sizeof(float);
    /* Inputs of at most 128 KB (FCN: 21 channels) stay cached whole: blocks would only add
     * passes over acc (measured slower there). */
    st->block_c = plane_bytes < 32768 ? 32768 / plane_bytes : 1;
    if (g->cin_g * plane_bytes <= 131072) st->block_c = g->cin_g;
    /* Planes of more than 8 KB: blocks of 1-3 channels leave a run of 1-3 nonzeros per pass over
     * acc (load and store of every vector per nonzero); one block streams x from L2 instead,
     * each x vector read once per output channel (or quad). U-Net 128->64 (64x64 planes), t1 CPU
     * ms, d1 / 0.3 / 0.1: 14.4 / 5.5 / 2.8 -> 4.9 / 3.3 / 2.0 (gemm 2.2). */
    if (st->block_c < 4) st->block_c = g->cin_g;
    if (st->block_c > g->cin_g) st->block_c = g->cin_g;
    st->blocks = (g->cin_g + st->block_c - 1) / st->block_c;
    st->chunk = st->acc_elems < 65536 ? 65536 / st->acc_elems : 1;
    if (st->chunk > g->groups * g->cout_g) st->chunk = g->groups * g->cout_g;
    return 1;
}

/* Padded layout: one run per (output channel, phase) holding every tap of the phase; a
 * nonzero's chan is its channel's plane plus its tap's start, so the run's taps interleave in
 * one register-summed pass. Taps in order within a phase, input channels in order within a tap.
 * order/first: the landing taps grouped by phase (counting sort, taps ascending). */
static int quad_full(const tconv_geometry *g, const float *w, size_t grp, size_t o4, size_t c,
                     size_t t) {
    for (size_t i = 0; i < 4; i++)
        if (weight_at(g, w, grp, o4 + i, c, t) == 0.0f) return 0;
    return 1;
}

/* Quad runs, then single-channel runs. A quad run per (quad, input block, phase), every phase in
 * block 0 (marked first: it stores); single runs then only add the nonzeros no quad took. */
static void walk_quads(const tconv_geometry *g, const float *w, sparse_state *st,
                       const uint32_t *order, const size_t *first, const uint32_t *tap_x, int fill,
                       size_t *nnz_io, size_t *runs_io) {
    size_t nnz = *nnz_io, runs = *runs_io, phases = st->phases_h * st->phases_w;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t o4 = 0; o4 < g->cout_g; o4 += 4)
            for (size_t b = 0; b < st->blocks; b++) {
                if (fill) st->quad_runs[((grp * g->cout_g + o4) / 4) * st->blocks + b] = runs;
                size_t c0 = b * st->block_c, c1 = c0 + st->block_c;
                if (c1 > g->cin_g) c1 = g->cin_g;
                for (size_t ph = 0; ph < phases; ph++) {
                    size_t begin = nnz;
                    for (size_t i = first[ph]; i < first[ph + 1]; i++) {
                        size_t t = order[i];
                        for (size_t c = c0; c < c1; c++) {
                            if (!quad_full(g, w, grp, o4, c, t)) continue;
                            for (size_t j = 0; fill && j < 4; j++)
                                st->chan[nnz + j] = (uint32_t)(c * st->x_plane + tap_x[t]),
                                               st->w[nnz + j] = weight_at(g, w, grp, o4 + j, c, t);
                            nnz += 4;
                        }
                    }
                    if (nnz == begin && b > 0) continue;
                    if (fill)
                        st->runs[runs] =
                            (tconv_sparse_run){(uint32_t)ph, (uint32_t)begin, (uint32_t)nnz, b == 0,
                                               (uint32_t)st->acc_elems};
                    runs++;
                }
            }
    if (fill) st->quad_runs[g->groups * g->cout_g / 4 * st->blocks] = runs;
    *nnz_io = nnz, *runs_io = runs;
}

static void walk_nonzeros_padded(const tconv_geometry *g, const float *w, sparse_state *st,
                                 const uint32_t *order, const size_t *first, const uint32_t *tap_x,
                                 int fill, size_t *nnz_out, size_t *runs_out) {
    size_t nnz = 0, runs = 0, phases = st->phases_h * st->phases_w;
    if (st->quads) walk_quads(g, w, st, order, first, tap_x, fill, &nnz, &runs);
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t o = 0; o < g->cout_g; o++)
            for (size_t b = 0; b < st->blocks; b++) {
                if (fill) st->chan_runs[(grp * g->cout_g + o) * st->blocks + b] = runs;
                size_t c0 = b * st->block_c, c1 = c0 + st->block_c;
                if (c1 > g->cin_g) c1 = g->cin_g;
                for (size_t ph = 0; ph < phases; ph++) {
                    size_t begin = nnz;
                    for (size_t i = first[ph]; i < first[ph + 1]; i++) {
                        size_t t = order[i];
                        for (size_t c = c0; c < c1; c++) {
                            float v = weight_at(g, w, grp, o, c, t);
                            if (v == 0.0f) continue;
                            if (st->quads && quad_full(g, w, grp, o / 4 * 4, c, t)) continue;
                            if (fill)
                                st->chan[nnz] = (uint32_t)(c * st->x_plane + tap_x[t]),
                                st->w[nnz] = v;
                            nnz++;
                        }
                    }
                    /* Block 0 has a run for every phase, empty or not, marked first: it stores
                     * the phase whole, so acc needs no clearing per image (with quads, their
                     * block 0 runs do that). */
                    int stores = b == 0 && !st->quads;
                    if (nnz == begin && !stores) continue;
                    if (fill)
                        st->runs[runs] = (tconv_sparse_run){(uint32_t)ph, (uint32_t)begin,
                                                            (uint32_t)nnz, stores, 0};
                    runs++;
                }
            }
    if (fill) st->chan_runs[g->groups * g->cout_g * st->blocks] = runs;
    *nnz_out = nnz, *runs_out = runs;
}

/* The padded layout's tables: tap[phase] is the whole phase as one row; per landing tap its
 * stream start in a padded plane, grouped by phase. */
static tconv_status build_padded(tconv_plan *plan, sparse_state *st, uint32_t **order,
                                 size_t **first, uint32_t **tap_x) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t phases = st->phases_h * st->phases_w;
    tconv_status rc =
        tconv_plan_alloc(plan, "sparse phase table", phases, sizeof *st->taps, (void **)&st->taps);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse tap order", g->taps, sizeof **order, (void **)order);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse tap starts", g->taps, sizeof **tap_x, (void **)tap_x);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse phase firsts", phases + 1, sizeof **first,
                              (void **)first);
    if (rc != TCONV_OK) return rc;
    for (size_t ph = 0; ph < phases; ph++)
        st->taps[ph] =
            (tconv_sparse_tap){0, (uint32_t)(ph * st->phase_elems), 1, (uint32_t)st->phase_elems};
    size_t *count = *first;
    memset(count, 0, (phases + 1) * sizeof *count);
    uint32_t *phase_of = *order; /* reused: phase per tap, then the sorted order */
    for (int64_t ky = 0; ky < s->kernel_h; ky++)
        for (int64_t kx = 0; kx < s->kernel_w; kx++) {
            size_t t = (size_t)(ky * s->kernel_w + kx);
            axis_span r = axis_span_of(s->in_h, g->out_h, ky, s->stride_h, s->pad_h, s->dilation_h);
            axis_span c = axis_span_of(s->in_w, g->out_w, kx, s->stride_w, s->pad_w, s->dilation_w);
            phase_of[t] = UINT32_MAX;
            if (r.n == 0 || c.n == 0) continue;
            phase_of[t] = (uint32_t)(r.phase * st->phases_w + c.phase);
            (*tap_x)[t] = (uint32_t)((size_t)((int64_t)st->pad_h - r.shift) * st->x_rstride +
                                     (size_t)((int64_t)st->pad_w - c.shift));
            count[phase_of[t] + 1]++;
        }
    for (size_t ph = 0; ph < phases; ph++) count[ph + 1] += count[ph];
    /* Stable placement by phase; phase_of is read before order overwrites it, via a copy. */
    uint32_t *sorted = malloc(g->taps * sizeof *sorted);
    size_t *next = malloc((phases + 1) * sizeof *next);
    if (!sorted || !next) {
        free(sorted), free(next);
        return tconv_fail(TCONV_ERR_NOMEM, "cannot allocate the sparse tap sort (%zu taps)",
                          g->taps);
    }
    memcpy(next, count, (phases + 1) * sizeof *next);
    for (size_t t = 0; t < g->taps; t++)
        if (phase_of[t] != UINT32_MAX) sorted[next[phase_of[t]]++] = (uint32_t)t;
    memcpy(*order, sorted, g->taps * sizeof *sorted);
    free(sorted), free(next);
    return TCONV_OK;
}

/* 32-bit offsets keep the streamed records small; these bounds make them fit. */
static tconv_status check_index_range(const tconv_geometry *g, size_t acc_elems) {
    if (g->in_plane > UINT32_MAX / g->cin_g || g->w_elems > UINT32_MAX || acc_elems > UINT32_MAX)
        return tconv_fail(TCONV_ERR_UNSUPPORTED,
                          "algo sparse: input plane (%zu) x channels per group (%zu), weights "
                          "(%zu) or output plane (%zu) exceed 32-bit indices",
                          g->in_plane, g->cin_g, g->w_elems, acc_elems);
    return TCONV_OK;
}

/* Quads pay when most nonzeros sit in full quads; random pruning at density d leaves a fraction
 * d^3 of them there, so in practice quads serve density near 1. Measured (AVX-512, t1, medians of
 * 5 of thread CPU time, shared 2-vCPU Xeon) at density 1: DCGAN 512->256 5.6 -> 2.96 ms,
 * pix2pix decoder 23.3 -> 13.0 ms (gemm 1.86 / 9.7); U-Net 128->64 needed one input block too
 * (plan_padding). Plan time at density 1 about doubles (DCGAN 19 -> 44 ms: this count and the
 * per-nonzero quad test), plan bytes unchanged. */
static int use_quads(const tconv_geometry *g, const float *w) {
    if (g->cout_g % 4) return 0;
    size_t full = 0, nz = 0;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t o4 = 0; o4 < g->cout_g; o4 += 4)
            for (size_t c = 0; c < g->cin_g; c++)
                for (size_t t = 0; t < g->taps; t++) {
                    size_t here = 0;
                    for (size_t i = 0; i < 4; i++)
                        here += weight_at(g, w, grp, o4 + i, c, t) != 0.0f;
                    nz += here, full += here == 4 ? 4 : 0;
                }
    return nz > 0 && 2 * full >= nz;
}

static tconv_status sparse_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    sparse_state st0 = {0};
    /* Phases that hold no output (stride > out) are not stored: at most out phases. */
    st0.phases_h = (size_t)(s->stride_h < g->out_h ? s->stride_h : g->out_h);
    st0.phases_w = (size_t)(s->stride_w < g->out_w ? s->stride_w : g->out_w);
    st0.cells_h = (size_t)tconv_ceil_div(g->out_h, s->stride_h);
    st0.cells_w = (size_t)tconv_ceil_div(g->out_w, s->stride_w);
    size_t ph, pw; /* phases*cells < 2*out per axis, so no overflow past out_plane's checks */
    tconv_status rc =
        tconv_size_mul(g, "sparse accumulator (out_h*out_w)", &ph, st0.phases_h, st0.cells_h);
    if (rc == TCONV_OK)
        rc = tconv_size_mul(g, "sparse accumulator (out_h*out_w)", &pw, st0.phases_w, st0.cells_w);
    if (rc == TCONV_OK)
        rc = tconv_size_mul(g, "sparse accumulator (out_h*out_w)", &st0.acc_elems, ph, pw);
    if (rc == TCONV_OK) rc = check_index_range(g, st0.acc_elems);
    if (rc != TCONV_OK) return rc;
    st0.phase_elems = st0.cells_h * st0.cells_w, st0.acc_rstride = st0.cells_w;
    st0.x_rstride = g->in_w, st0.x_plane = g->in_plane;
    st0.block_c = g->cin_g, st0.blocks = 1, st0.chunk = 1;
    st0.padded = all_finite(w, g->w_elems) && plan_padding(g, &st0);
    sparse_state *st;
    rc = tconv_plan_alloc(plan, "sparse state", 1, sizeof *st, (void **)&st);
    if (rc == TCONV_OK) *st = st0;
    if (rc == TCONV_OK && !st->padded)
        rc = tconv_plan_alloc(plan, "sparse tap table", g->taps, sizeof *st->taps,
                              (void **)&st->taps);
    if (rc == TCONV_OK && st->padded) /* zeroed once: only the interior is rewritten per image */
        rc = tconv_plan_alloc(plan, "sparse padded input (channels*padded plane)",
                              g->groups * g->cin_g * st->x_plane + 16, sizeof(float),
                              (void **)&st->xpad);
    if (rc == TCONV_OK && st->padded)
        memset(st->xpad, 0, (g->groups * g->cin_g * st->x_plane + 16) * sizeof(float));
    if (rc != TCONV_OK) return rc;
    st->quads = st->padded && use_quads(g, w);
    if (st->quads) { /* chunks and tiles of whole quads */
        st->chunk = st->chunk < 4 ? 4 : st->chunk / 4 * 4;
        rc = tconv_plan_alloc(plan, "sparse quad runs", g->groups * g->cout_g / 4 * st->blocks + 1,
                              sizeof *st->quad_runs, (void **)&st->quad_runs);
        if (rc != TCONV_OK) return rc;
    }
    uint32_t *order = NULL, *tap_x = NULL;
    size_t *first = NULL, runs;
    if (st->padded) {
        rc = build_padded(plan, st, &order, &first, &tap_x);
        if (rc != TCONV_OK) return rc;
        walk_nonzeros_padded(g, w, st, order, first, tap_x, 0, &st->nnz, &runs);
    } else {
        build_taps(g, st);
        walk_nonzeros(g, w, st, 0, &st->nnz, &runs);
    }
    rc = tconv_plan_alloc(plan, "sparse runs", runs, sizeof *st->runs, (void **)&st->runs);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse channel runs", g->groups * g->cout_g * st->blocks + 1,
                              sizeof *st->chan_runs, (void **)&st->chan_runs);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse channels", st->nnz, sizeof *st->chan,
                              (void **)&st->chan);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse weights", st->nnz, sizeof *st->w, (void **)&st->w);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse bias", g->groups * g->cout_g, sizeof(float),
                              (void **)&st->bias);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "sparse accumulators (threads*out_h*out_w)", plan->par.threads,
                              st->chunk * st->acc_elems * sizeof(float), (void **)&st->acc);
    if (rc != TCONV_OK) return rc;
    if (st->padded)
        walk_nonzeros_padded(g, w, st, order, first, tap_x, 1, &st->nnz, &runs);
    else
        walk_nonzeros(g, w, st, 1, &st->nnz, &runs);
    if (bias) memcpy(st->bias, bias, g->groups * g->cout_g * sizeof(float));
    plan->state = st;
    return TCONV_OK;
}

/* y[oy][ox] = bias + acc[phase][cell]: the phase layout back to rows, row by row so each output
 * row stays in L1 while its column phases interleave (no division per pixel: at FCN's outputs
 * that alone cost more than the multiply-adds). */
static void store_rows(const tconv_plan *plan, const sparse_state *st, const float *acc, float bias,
                       float *y, size_t oy0, size_t oy_step) {
    const tconv_geometry *g = &plan->g;
    size_t sh = (size_t)g->s.stride_h, sw = (size_t)g->s.stride_w;
    size_t phase_cells = st->phase_elems;
    for (size_t oy = oy0; oy < g->out_hs; oy += oy_step) {
        const float *src =
            acc + (oy % sh) * st->phases_w * phase_cells + (oy / sh) * st->acc_rstride;
        plan->k.sparse_store.fn(g->out_ws, sw, src, phase_cells, bias, y + oy * g->out_ws);
    }
}

/* One input block: every phase has exactly one run, in phase order, so each row phase's runs
 * are followed at once by its output rows' store-back, which then re-reads acc from L1 rather
 * than L2 (FCN-8s/16s/32s bilinear, t1 CPU ms: 0.65/1.31/1.65 -> 0.64/1.27/1.52). */
static void channel_by_row_phase(const tconv_plan *plan, const sparse_state *st, size_t ch,
                                 const float *x, float *acc, float *y) {
    const tconv_sparse_run *runs = st->runs + st->chan_runs[ch];
    for (size_t py = 0; py < st->phases_h; py++) {
        plan->k.sparse.fn(st->phases_w, runs + py * st->phases_w, st->taps, st->chan, st->w, x,
                          st->x_rstride, acc, st->acc_rstride);
        store_rows(plan, st, acc, st->bias[ch], y, py, (size_t)plan->g.s.stride_h);
    }
}

typedef struct sparse_work {
    const tconv_plan *plan;
    const float *x, *bias;
    float *y;
} sparse_work;

/* Output channels [c0, c0 + n) of one image, (group, channel) flattened, in chunks whose
 * accumulators stay in cache; each input block is swept over the whole chunk. A channel's sums
 * run in the plan's order (blocks, then phases) whatever the chunk or thread, so y does not
 * depend on the thread count. */
static void sparse_channels(void *context, size_t c0, size_t n) {
    const sparse_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const sparse_state *st = plan->state;
    size_t slot = tconv_parallel_claim(&plan->par);
    float *acc = st->acc + slot * st->chunk * st->acc_elems;
    for (size_t k0 = c0; k0 < c0 + n; k0 += st->chunk) {
        size_t kn = c0 + n - k0 < st->chunk ? c0 + n - k0 : st->chunk;
        if (st->padded && st->blocks == 1 && !st->quads) {
            for (size_t k = 0; k < kn; k++)
                channel_by_row_phase(plan, st, k0 + k,
                                     work->x + (k0 + k) / g->cout_g * g->cin_g * st->x_plane,
                                     acc + k * st->acc_elems, work->y + (k0 + k) * g->out_plane);
            continue;
        }
        if (!st->padded) memset(acc, 0, kn * st->acc_elems * sizeof *acc); /* else: first runs */
        for (size_t b = 0; b < st->blocks; b++) {
            for (size_t k = 0; st->quads && k < kn; k += 4) { /* quads first: block 0 stores */
                size_t r = (k0 + k) / 4 * st->blocks + b;
                plan->k.sparse.fn(st->quad_runs[r + 1] - st->quad_runs[r],
                                  st->runs + st->quad_runs[r], st->taps, st->chan, st->w,
                                  work->x + (k0 + k) / g->cout_g * g->cin_g * st->x_plane,
                                  st->x_rstride, acc + k * st->acc_elems, st->acc_rstride);
            }
            for (size_t k = 0; k < kn; k++) {
                size_t ch = k0 + k, r = ch * st->blocks + b;
                plan->k.sparse.fn(st->chan_runs[r + 1] - st->chan_runs[r],
                                  st->runs + st->chan_runs[r], st->taps, st->chan, st->w,
                                  work->x + ch / g->cout_g * g->cin_g * st->x_plane, st->x_rstride,
                                  acc + k * st->acc_elems, st->acc_rstride);
            }
        }
        for (size_t k = 0; k < kn; k++)
            store_rows(plan, st, acc + k * st->acc_elems, st->bias[k0 + k],
                       work->y + (k0 + k) * g->out_plane, 0, 1);
    }
    tconv_parallel_release(&plan->par, slot);
}

/* One image's x into the padded planes' interiors (the borders stay zero from create). */
static void pad_input(const tconv_geometry *g, const sparse_state *st, const float *x) {
    for (size_t c = 0; c < g->groups * g->cin_g; c++)
        for (size_t iy = 0; iy < (size_t)g->s.in_h; iy++)
            memcpy(st->xpad + c * st->x_plane + (st->pad_h + iy) * st->x_rstride + st->pad_w,
                   x + c * g->in_plane + iy * g->in_w, g->in_w * sizeof *x);
}

/* Channels per parallel tile: whole chunks when there are enough for every thread four times,
 * else smaller tiles for balance. Any tiling gives the same y. */
static size_t sparse_tile(const tconv_plan *plan) {
    const sparse_state *st = plan->state;
    size_t channels = plan->g.groups * plan->g.cout_g, threads = plan->par.threads;
    size_t share = (channels + 4 * threads - 1) / (4 * threads);
    size_t tile = st->chunk < share ? st->chunk : share;
    if (st->quads) tile = (tile + 3) / 4 * 4; /* whole quads */
    return tile ? tile : 1;
}

static void sparse_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    size_t channels = g->groups * g->cout_g;
    const sparse_state *st = plan->state;
    for (size_t n = 0; n < g->batch; n++) {
        const float *xn = x + n * g->groups * g->cin_g * g->in_plane;
        if (st->padded) pad_input(g, st, xn), xn = st->xpad;
        sparse_work work = {plan, xn, NULL, y + n * channels * g->out_plane};
        tconv_parallel_1d(&plan->par, sparse_channels, &work, channels, sparse_tile(plan));
    }
}

const tconv_algo_ops tconv_sparse_ops = {sparse_create, sparse_run};

/* The density at or below which AUTO should pick sparse. Measured (AVX-512, 1 thread, medians of
 * 3 of thread CPU time, shared 2-vCPU Xeon, noisy) against the fastest dense of ours, with the
 * padded layout and input blocks:
 *   DCGAN 512->256 (8x8 in): d1 5.47 ms vs 1.85, d0.3 1.83 vs 1.91, d0.1 0.75 vs 1.83:
 *     crossover about 0.3;
 *   pix2pix 1024->512 (8x8): d1 25.3 vs 10.9, d0.3 7.53 vs 10.2, d0.1 3.70 vs 10.3: about 0.4;
 *   FCN upscores, bilinear (density 1/21 = 0.048): 0.83 / 1.94 / 2.54 ms vs direct 3.60 / 6.98 /
 *     10.3: sparse 3.6-4.3x faster.
 * Bench run vm-20261129-1636 (idle machine, thread CPU time, against the fastest dense algorithm):
 * crossovers DCGAN 0.28, pix2pix 0.38, but U-Net 128->64 (k2 s2) 0.09: when taps never overlap
 * (k <= s) gemm writes y straight from its tiles and is hard to beat. So two classes.
 * Bench run vm-20261129-1826 (idle, after quad runs, the sparse_store family and the L2-sized
 * GEMM): DCGAN 0.28, pix2pix 0.24, U-Net 0.13 (sparse d1/0.3/0.1/0.05 against gemm: U-Net 0.43x,
 * 0.65x, 1.09x, 1.26x). So TCONV_SPARSE_CROSSOVER_DEFAULT (0.25, plan.h) for overlapping taps,
 * 0.12 for k <= s (was 0.08 before U-Net's input blocks changed). */
#define SPARSE_CROSSOVER_NO_OVERLAP 0.12
int tconv_sparse_preferred(const tconv_geometry *g, double density) {
    const tconv_shape *s = &g->s;
    int no_overlap = s->dilation_h * (s->kernel_h - 1) < s->stride_h &&
                     s->dilation_w * (s->kernel_w - 1) < s->stride_w;
    return density <= (no_overlap ? SPARSE_CROSSOVER_NO_OVERLAP : TCONV_SPARSE_CROSSOVER_DEFAULT);
}

/* C^T in CSR (rows: output pixels), built on request from the shape alone: every (ky, kx)
 * landing on each output pixel. Two passes: count, then fill. */
static size_t fill_view(const tconv_geometry *g, uint64_t *row_ptr, uint32_t *col, uint32_t *tap) {
    const tconv_shape *s = &g->s;
    size_t nz = 0;
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            if (row_ptr) row_ptr[oy * g->out_w + ox] = nz;
            for (int64_t ky = 0; ky < s->kernel_h; ky++) {
                int64_t ny = oy + s->pad_h - ky * s->dilation_h, iy = ny / s->stride_h;
                if (ny < 0 || ny % s->stride_h || iy >= s->in_h) continue;
                for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                    int64_t nx = ox + s->pad_w - kx * s->dilation_w, ix = nx / s->stride_w;
                    if (nx < 0 || nx % s->stride_w || ix >= s->in_w) continue;
                    if (col) col[nz] = (uint32_t)(iy * s->in_w + ix);
                    if (tap) tap[nz] = (uint32_t)(ky * s->kernel_w + kx);
                    nz++;
                }
            }
        }
    if (row_ptr) row_ptr[g->out_plane] = nz;
    return nz;
}

tconv_status tconv_sparse_matrix(const tconv_plan *plan, tconv_sparse_view *view) {
    if (plan == NULL || plan->algo != TCONV_ALGO_SPARSE || view == NULL)
        return tconv_fail(TCONV_ERR_INVALID, "tconv_sparse_matrix needs a sparse plan");
    const tconv_geometry *g = &plan->g;
    size_t nnz = fill_view(g, NULL, NULL, NULL);
    uint64_t *row_ptr = malloc((g->out_plane + 1) * sizeof *row_ptr);
    uint32_t *col = malloc((nnz ? nnz : 1) * sizeof *col),
             *tap = malloc((nnz ? nnz : 1) * sizeof *tap);
    if (!row_ptr || !col || !tap) {
        free(row_ptr), free(col), free(tap);
        return tconv_fail(TCONV_ERR_NOMEM, "cannot allocate the C^T view");
    }
    fill_view(g, row_ptr, col, tap);
    *view = (tconv_sparse_view){g->out_plane, g->in_plane, nnz, row_ptr, col, tap};
    return TCONV_OK;
}

void tconv_sparse_view_free(tconv_sparse_view *view) {
    if (view == NULL) return;
    free((void *)view->row_ptr), free((void *)view->col_idx), free((void *)view->tap_idx);
    view->row_ptr = NULL, view->col_idx = NULL, view->tap_idx = NULL;
}
