/* direct: stride-phase (sub-pixel) decomposition, no inserted zeros; a stride-1 conv per phase. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    size_t *col_input; /* column of the segment's first pixel for that kx in a (padded) row */
    const float **x_taps, **w_taps; /* per thread slot, g->taps each */
    size_t *row_order; /* output rows phase by phase (py, py + sh, ..., then py + 1, ...), the
                          rows some kernel row reaches first (see plan_row_tiles) */
    size_t tap_rows;   /* those rows: the first tap_rows of row_order, the tiles' range */
    size_t row_tile;   /* rows of row_order per parallel task */
    /* One group's input re-laid out as [iy][c][pad_left zeros, ix, pad_right zeros, zeros to the
     * pitch], or NULL when the plain [c][iy][ix] layout is the same thing (one channel, no
     * padding). The micro-kernel walks channels at a fixed pixel offset, and with [c][iy][ix] a
     * power-of-two plane (64x64: 16 KB) would put every channel's row in the same L1 set. */
    float *x_rows;
    size_t pad_left, pad_right;
    size_t row_width;  /* floats per packed row: the padded width, then its pitch (row_pitch) */
    size_t row_expand; /* rowconv with stride_w < 16: x_rows hold each input column stride_w
                          times (tconv_rowconv_job's expanded rows); else 1 */
    size_t *phase_segments; /* segments of column phase p: [phase_segments[p], [p + 1]) */
    int column_phase_major; /* loop order, see direct_block */
    int empty_segments;     /* some segment has no column tap (k < s): its outputs are the bias */
    /* rowconv (see choose_rowconv): weights packed [group][ky][tconv_rowconv_job's], the bias per
     * output channel, and the weight floats of one (group, ky). */
    int rowconv;
    float *w_rowconv, *bias_rowconv;
    size_t rc_slots, rc_taps, rc_ky_stride; /* slots T*C, T taps per lane */
    uint16_t *rc_masks;                     /* per slot: lanes with a real tap */
    /* Runs of consecutive output rows that no kernel row reaches (bias only), at most
     * FILL_RUN_FLOATS per channel: run i is rows [fill_runs[2i], + fill_runs[2i + 1]). */
    size_t *fill_runs, fill_run_count;
    int fill_ahead; /* see choose_fill_ahead */
    int row_phases; /* see tconv_direct_takes_row_phases */
} direct_state;

/* Where the micro-kernel reads one group's input: row iy starts at base + iy*row_stride and
 * consecutive channels are cstride apart. */
typedef struct input_view {
    const float *base;
    size_t row_stride, cstride;
} input_view;

/* Kernel column kx lands on phase ox0 when ox0 + pw - kx*dw is a multiple of sw; pixel j of the
 * phase then reads input column base + j, which is inside the input for j in [lo, hi). */
typedef struct column_tap {
    int64_t base, lo, hi;
} column_tap;

static int column_tap_at(const tconv_geometry *g, int64_t ox0, int64_t pixels, int64_t kx,
                         column_tap *ct) {
    const tconv_shape *s = &g->s;
    int64_t num = ox0 + s->pad_w - kx * s->dilation_w;
    if (((num % s->stride_w) + s->stride_w) % s->stride_w != 0) return 0;
    ct->base = num / s->stride_w;
    ct->lo = ct->base < 0 ? -ct->base : 0;
    ct->hi = s->in_w - ct->base < pixels ? s->in_w - ct->base : pixels;
    return ct->lo < ct->hi;
}

static int64_t phase_pixels(const tconv_geometry *g, int64_t ox0) {
    return (g->out_w - 1 - ox0) / g->s.stride_w + 1;
}

static int64_t column_phases(const tconv_geometry *g) {
    return g->s.stride_w < g->out_w ? g->s.stride_w : g->out_w;
}

/* Kernel columns grouped by the column phase they land on (ox0 = (kx*dw - pw) mod sw, when that
 * phase exists), ascending within a phase: phase j's are kx[start[j] .. start[j + 1]). The
 * plan-time walks below visit only these, O(kernel_w + phases), where phases x kernel_w could be
 * 2^40 for 4 MiB of weights (stride 2^20, kernel 2^20). */
typedef struct phase_columns {
    size_t *start;
    int64_t *kx;
} phase_columns;

static int64_t landing_phase(const tconv_geometry *g, int64_t kx) {
    int64_t r = (kx * g->s.dilation_w - g->s.pad_w) % g->s.stride_w;
    return r < 0 ? r + g->s.stride_w : r;
}

static tconv_status bucket_columns(tconv_plan *plan, phase_columns *pc) {
    const tconv_geometry *g = &plan->g;
    int64_t phases = column_phases(g);
    tconv_status rc = tconv_plan_alloc(plan, "column phases (stride_w)", (size_t)phases + 1,
                                       sizeof(size_t), (void **)&pc->start);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "kernel columns (kernel_w)", (size_t)g->s.kernel_w,
                              sizeof(int64_t), (void **)&pc->kx);
    if (rc != TCONV_OK) return rc;
    for (int64_t kx = 0; kx < g->s.kernel_w; kx++) {
        int64_t ph = landing_phase(g, kx);
        if (ph < phases) pc->start[ph + 1]++;
    }
    for (int64_t ph = 0; ph < phases; ph++) pc->start[ph + 1] += pc->start[ph];
    for (int64_t kx = 0; kx < g->s.kernel_w; kx++) { /* start[ph] walks, then is restored */
        int64_t ph = landing_phase(g, kx);
        if (ph < phases) pc->kx[pc->start[ph]++] = kx;
    }
    for (int64_t ph = phases; ph > 0; ph--) pc->start[ph] = pc->start[ph - 1];
    pc->start[0] = 0;
    return TCONV_OK;
}

static int all_finite(const float *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i])) return 0;
    return 1;
}

/* Zero columns around the packed input rows let one call cover a whole phase row (taps that
 * leave the input read zeros) instead of splitting it at the borders into 1- or 2-pixel
 * segments, which fill vectors badly and cost a full pass over taps x channels each. Chosen
 * while the multiply-adds on zeros stay within 2x the useful ones (padded <= 3 x useful), and
 * only for finite weights: 0 * NaN and 0 * Inf are NaN, which would reach outputs the reference
 * leaves finite. The bound was 1/8 (DCGAN 512->256 wastes 1/15); kernels as wide as the input
 * cut every phase row into 1-pixel segments, which ran far slower than computing the zeros:
 * bench, avx512 t1, thread CPU time, bound 1.125 -> 3 (one run each, machine under load, rows
 * whose choice does not change moved by up to +-25%): i16 k16 s1 p8 c1 11.9x faster, c32 2.6x
 * (73 -> 211 iterations in 0.1 s), i16 k4 s1 p2 c1 1.6x, the seed's 2x2 example 3.2x; of the
 * real layers only DCGAN 4x4 (1.14 padded/useful) and the seed (2.0) change. Counts in double:
 * pixels x taps can pass 2^63. */
static void choose_padding(const tconv_geometry *g, const phase_columns *pc, int weights_finite,
                           direct_state *st) {
    double useful = 0, padded = 0;
    int64_t left = 0, right = 0;
    column_tap ct;
    for (int64_t ox0 = 0; weights_finite && ox0 < column_phases(g); ox0++) {
        int64_t pixels = phase_pixels(g, ox0);
        for (size_t j = pc->start[ox0]; j < pc->start[ox0 + 1]; j++) {
            if (!column_tap_at(g, ox0, pixels, pc->kx[j], &ct)) continue;
            useful += (double)(ct.hi - ct.lo);
            padded += (double)pixels;
            if (-ct.base > left) left = -ct.base;
            if (ct.base + pixels - g->s.in_w > right) right = ct.base + pixels - g->s.in_w;
        }
    }
    if ((left > 0 || right > 0) && padded <= useful * 3)
        st->pad_left = (size_t)left, st->pad_right = (size_t)right;
    st->row_width = st->pad_left + g->in_w + st->pad_right;
}

static int compare_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Cuts one phase row at the borders where kernel columns leave the input (no padding), or
 * keeps it whole (padding); returns the number of bounds, sorted. */
static size_t segment_bounds(const tconv_geometry *g, const phase_columns *pc,
                             const direct_state *st, int64_t ox0, size_t *bounds) {
    int64_t pixels = phase_pixels(g, ox0);
    size_t nb = 0;
    column_tap ct;
    bounds[nb++] = 0;
    bounds[nb++] = (size_t)pixels;
    if (st->row_width > g->in_w) return nb;
    for (size_t j = pc->start[ox0]; j < pc->start[ox0 + 1]; j++)
        if (column_tap_at(g, ox0, pixels, pc->kx[j], &ct))
            bounds[nb++] = (size_t)ct.lo, bounds[nb++] = (size_t)ct.hi;
    qsort(bounds, nb, sizeof *bounds, compare_size);
    return nb;
}

/* Input column of pixel 0 of phase ox0 for kernel column kx, which lands on that phase. */
static int64_t tap_base(const tconv_geometry *g, int64_t ox0, int64_t kx) {
    return (ox0 + g->s.pad_w - kx * g->s.dilation_w) / g->s.stride_w;
}

/* Phase ox0's columns in [lo, hi) have decreasing bases (kx ascending): the first whose base is
 * at most `bound`. */
static size_t first_base_at_most(const tconv_geometry *g, const phase_columns *pc, int64_t ox0,
                                 size_t lo, size_t hi, int64_t bound) {
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tap_base(g, ox0, pc->kx[mid]) <= bound)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Walks every phase's segments; with NULL arrays it only counts segments and taps. A tap belongs
 * to segment [a, b) when it reads only inside the (padded) row, left + base + [a, b) within
 * [0, width), and reads at least one input pixel, base in (-pixels, in_w): a range of bases, so
 * a run of the phase's columns found by bisection. Counting is then O(segments x log), not
 * segments x columns (up to 2^41 for a 2^20-column kernel before the tap arrays were known to
 * fit in memory). */
static void walk_segments(const tconv_geometry *g, const phase_columns *pc, direct_state *st,
                          size_t *bounds, size_t *segments_out, size_t *taps_out) {
    int64_t sw = g->s.stride_w, left = (int64_t)st->pad_left, width = (int64_t)st->row_width;
    size_t nseg = 0, ntap = 0;
    for (int64_t ox0 = 0; ox0 < column_phases(g); ox0++) {
        int64_t pixels = phase_pixels(g, ox0);
        size_t nb = segment_bounds(g, pc, st, ox0, bounds);
        if (st->phase_segments) st->phase_segments[ox0] = nseg;
        for (size_t i = 0; i + 1 < nb; i++) {
            size_t a = bounds[i], b = bounds[i + 1];
            if (a == b) continue;
            if (st->segments)
                st->segments[nseg] =
                    (column_segment){(size_t)ox0 + a * (size_t)sw, b - a, ntap, ntap};
            int64_t lo_base = -left - (int64_t)a, hi_base = width - left - (int64_t)b;
            if (lo_base < 1 - pixels) lo_base = 1 - pixels;
            if (hi_base > g->s.in_w - 1) hi_base = g->s.in_w - 1;
            size_t j0 = first_base_at_most(g, pc, ox0, pc->start[ox0], pc->start[ox0 + 1], hi_base);
            size_t j1 = first_base_at_most(g, pc, ox0, j0, pc->start[ox0 + 1], lo_base - 1);
            for (size_t j = j0; st->col_tap && j < j1; j++) {
                int64_t kx = pc->kx[j];
                st->col_tap[ntap + j - j0] = (uint32_t)kx;
                st->col_input[ntap + j - j0] = (size_t)(left + tap_base(g, ox0, kx) + (int64_t)a);
            }
            ntap += j1 - j0;
            if (st->segments) st->segments[nseg].tap_end = ntap;
            nseg++;
        }
    }
    if (st->phase_segments) st->phase_segments[column_phases(g)] = nseg;
    *segments_out = nseg;
    *taps_out = ntap;
}

static tconv_status build_segments(tconv_plan *plan, const phase_columns *pc, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t *bounds, nseg, ntap;
    tconv_status rc = tconv_plan_alloc(plan, "segment bounds", 2 * (size_t)g->s.kernel_w + 2,
                                       sizeof(size_t), (void **)&bounds);
    if (rc != TCONV_OK) return rc;
    walk_segments(g, pc, st, bounds, &nseg, &ntap);
    if ((rc = tconv_plan_alloc(plan, "column segments", nseg, sizeof(column_segment),
                               (void **)&st->segments)) ||
        (rc = tconv_plan_alloc(plan, "column taps", ntap, sizeof(uint32_t),
                               (void **)&st->col_tap)) ||
        (rc = tconv_plan_alloc(plan, "column taps", ntap, sizeof(size_t),
                               (void **)&st->col_input)) ||
        (rc = tconv_plan_alloc(plan, "column phases", (size_t)column_phases(g) + 1, sizeof(size_t),
                               (void **)&st->phase_segments)))
        return rc;
    walk_segments(g, pc, st, bounds, &st->segment_count, &ntap);
    for (size_t i = 0; i < st->segment_count; i++)
        if (st->segments[i].tap_begin == st->segments[i].tap_end) st->empty_segments = 1;
    return TCONV_OK;
}

/* Rows of one row phase use the same kernel rows. When their weights for one block of output
 * channels are too big to stay in L2 next to the input (DCGAN 512->256 with 16 channels per
 * block: 256 KB), column phases go outermost too, so each call's taps were used by the row
 * before; otherwise whole rows are written at once, which keeps output lines in cache. */
#define PHASE_MAJOR_WEIGHT_BYTES (128 * 1024)
static void choose_loop_order(const tconv_plan *plan, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t max_ky = 0;
    for (size_t oy = 0; oy < g->out_hs; oy++) {
        size_t n = st->rows.start[oy + 1] - st->rows.start[oy];
        if (n > max_ky) max_ky = n;
    }
    double bytes = (double)max_ky * (double)g->s.kernel_w * (double)g->cin_g *
                   (double)plan->k.conv.mr * sizeof(float);
    st->column_phase_major = bytes > PHASE_MAJOR_WEIGHT_BYTES;
}

/* rowconv: every output row in vectors of 16 consecutive columns with per-lane weights
 * (tconv_rowconv_job). Needs no dilation and stride_w below 16 or a multiple of it; lanes
 * without a tap (kernel_w not a multiple of stride_w) are masked off, never multiplied (a zero
 * weight times an infinite input would be NaN where the reference has no product), and needs
 * finite weights (the zero-padded input columns are multiplied). Taken where the phase path is
 * weak: 1 to 3 output channels, which fill 1-3 rows of its 16-channel tile; stride_w >= 8 with
 * kernel_w a multiple of it, whose phase rows store 16 scalars per vector (FCN); and one tap per
 * lane (kernel_w <= stride_w, 4 or 8) with at least 5/8 of the lanes live. Bench, avx512 t1,
 * GFLOP/s, phase path -> rowconv (base and branch builds interleaved in one session, medians of
 * 5, shared machine): FCN-8s 62-68 -> 66-88, FCN-16s 55 -> 107, FCN-32s 32 -> 89, 1 -> 1 upsample
 * 10.3 -> 16.8 (84% of its bandwidth roofline), pix2pix outermost (128 -> 3) 37 -> 49; DCGAN's
 * 128 -> 3 level (42-49 either way). With masks (thread CPU us, phase path -> rowconv, same
 * method): one channel, k < s or kernel_w not a multiple of stride_w: i16 k4 s8 9.4-9.6 -> 3.8-3.9,
 * k5 s8 13.4-14.0 -> 4.3-4.5, k6 s8 18.4-18.6 -> 4.7-6.1, k7 s8 23.8-24.2 -> 4.7-5.1, k3 s4 4.0-6.4
 * -> 1.6-1.7, k3 s2 p1 1.8-2.2 -> 0.9-1.0, k3 s3 3.6-3.7 -> 2.4-2.5, k4 s3 p1 3.8-4.0 -> 2.8-3.0,
 * k2 s3 1.9-2.5 -> 2.0
 * (gemm/avx512: 5.4-5.6, 8.0-8.2, 10.2-11.4, 14.2-14.4, 2.7, 1.1, 2.3, 2.2-2.3, 1.4); kernel_w 1
 * stays on the phase path (k1 s3 0.7-1.0 -> 1.4, one product per output, whose phase rows are
 * already cheap). 32 channels, one tap per lane: k4 s4 123-129 -> 82-86 (XNNPACK's 90 in run
 * vm-20261129-2121), k3 s4 81-89 -> 77-82, k5 s8 317-357 -> 304-311, k6 s8 424-444 -> 340-360, k7
 * s8 561-679 -> 399-404; below 5/8 live lanes it lost (k4 s8 233-241 -> 254-341, k2 s4 47 -> 60).
 * Not for more channels otherwise: a channel group streams cin x its weight vectors per vector
 * tile, and stride-2 slots hold 8x the weights (c32 k3 s2 p1 46-50 -> 117-118, k8 s4 (two taps
 * per lane) 297-303 -> 486-559, stride 3 (three weight classes) k3 s3 60-67 -> 144-174; ENet's k3
 * s2 p1 32 -> 32 801 -> 1365, CycleGAN 128 -> 64 25.9 -> 53.8 ms, Mask R-CNN k2 s2 256 -> 256 994
 * -> 4622; single runs before masks: DCGAN 512 -> 256 71 -> 7 GFLOP/s, U-Net 128 -> 64 53 ->
 * 31). */
int tconv_direct_takes_rowconv(const tconv_geometry *g, const tconv_kernels *k) {
#if TCONV_HAVE_AVX512
    const tconv_shape *s = &g->s;
    int64_t sw = s->stride_w;
    int shape_fits = s->dilation_w == 1 && (sw < 16 || sw % 16 == 0);
    /* The weights are packed for every one of the stride's classes (sw/16 for wide strides), but a
     * row uses at most its vector count of them: beyond 16, more classes than the row has vectors
     * would only grow the packed weights (the fuzzer's stride_w of 4428111282176, about 2^42, on
     * a one-column input asked for 2^48 bytes). */
    int64_t row_vectors = (g->out_w + s->pad_w % 16 + 15) / 16;
    int classes_used = shape_fits && ((int64_t)tconv_rowconv_classes((size_t)sw) <= 16 ||
                                      (int64_t)tconv_rowconv_classes((size_t)sw) <= row_vectors);
    int64_t kw = s->kernel_w;
    /* stride 1 has one phase: nothing to gain, and 16 weight copies per tap. */
    int few_channels = sw >= 2 && kw >= 2 && g->cout_g <= 3;
    int one_tap_mostly_live = (sw == 4 || sw == 8) && kw <= sw && 8 * kw >= 5 * sw;
    int wanted = few_channels || (sw >= 8 && kw % sw == 0) || one_tap_mostly_live;
    return k->isa == TCONV_ISA_avx512 && shape_fits && classes_used && wanted;
#else
    (void)g, (void)k;
    return 0;
#endif
}

static int choose_rowconv(const tconv_plan *plan, int weights_finite) {
    return weights_finite && tconv_direct_takes_rowconv(&plan->g, &plan->k);
}

/* rowconv's expanded rows (stride_w < 16, see tconv_rowconv_job): the vector at q (a multiple of
 * 16, up to q_last) reads expanded columns q - (T-1)*sw .. q + 15. Left padding rounded up to 16
 * and rows to multiples of 16 floats so the t = 0 loads are 64-byte aligned. */
static tconv_status plan_expanded_rows(tconv_plan *plan, direct_state *st, size_t sw, size_t T,
                                       size_t q_last) {
    const tconv_geometry *g = &plan->g;
    size_t columns;
    tconv_status rc = tconv_size_mul(g, "rowconv expanded rows", &columns, g->in_w, sw);
    if (rc != TCONV_OK) return rc;
    st->row_expand = sw;
    st->pad_left = tconv_round_up((T - 1) * sw, 16);
    st->pad_right = q_last + 16 > columns ? q_last + 16 - columns : 0;
    st->row_width = tconv_round_up(st->pad_left + columns + st->pad_right, 16);
    return TCONV_OK;
}

/* Kernel column of lane l in rowconv weight slot t*C + h (tconv_rowconv_job); kernel_w or more
 * when the lane holds no tap. */
static size_t rowconv_kx(size_t sw, size_t C, size_t slot, size_t l) {
    return sw * (slot / C) + (16 * (slot % C) + l) % sw;
}

/* rowconv's weights, [group][ky][channel group of R][ci][slot = t*C + h][r < R][lane]: lane l of
 * slot (t, h) is kernel column rowconv_kx, zero past the kernel, where the lane mask (one per
 * slot) keeps the multiply-add off. The first layout,
 * [ci][ky][slot][co][16], put a kernel row's channels kernel_h*slots*cout_g*64 bytes apart (86016
 * on FCN-16s, a multiple of 4 KiB), so a channel group's 21 channels shared 7 L1 sets; the
 * blocked layout took FCN-16s from 58 to 84 GFLOP/s and FCN-32s from 53 to 69 (bench, avx512 t1,
 * one run each in one session). And its bias (zeros when absent). Also the input padding its reads
 * need: T - 1 columns left (t reaches back T - 1 inputs), and right up to the last input column the
 * row's last vector reads. */
static tconv_status pack_rowconv(tconv_plan *plan, const float *w, const float *bias,
                                 direct_state *st) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t sw = (size_t)s->stride_w, kw = (size_t)s->kernel_w, kh = (size_t)s->kernel_h;
    size_t C = tconv_rowconv_classes(sw), n;
    st->rc_taps = tconv_div_up(kw, sw);
    /* Checked before any product is formed: a hostile kernel_w makes taps x classes x 16 wrap. */
    tconv_status rc = tconv_size_mul4(g, "rowconv weights", &st->rc_ky_stride, st->rc_taps, C * 16,
                                      g->cin_g, g->cout_g);
    st->rc_slots = st->rc_taps * C; /* below rc_ky_stride when that did not overflow */
    if (rc == TCONV_OK)
        rc = tconv_size_mul(g, "rowconv weights", &n, st->rc_ky_stride, kh * g->groups);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "rowconv weights", n, sizeof(float), (void **)&st->w_rowconv);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "rowconv bias", g->groups * g->cout_g, sizeof(float),
                              (void **)&st->bias_rowconv);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "rowconv lane masks", st->rc_slots, sizeof(uint16_t),
                              (void **)&st->rc_masks);
    if (rc != TCONV_OK) return rc;
    for (size_t slot = 0; slot < st->rc_slots; slot++)
        for (size_t l = 0; l < 16; l++)
            if (rowconv_kx(sw, C, slot, l) < kw) st->rc_masks[slot] |= (uint16_t)(1u << l);
    float *out = st->w_rowconv;
    size_t cgroups = tconv_div_up(g->cout_g, TCONV_ROWCONV_MAX_ROWS), r_base = g->cout_g / cgroups,
           r_extra = g->cout_g % cgroups;
    for (size_t grp = 0; grp < g->groups; grp++)
        for (size_t ky = 0; ky < kh; ky++)
            for (size_t cg = 0, r0 = 0; cg < cgroups; r0 += r_base + (cg < r_extra), cg++)
                for (size_t ci = grp * g->cin_g; ci < (grp + 1) * g->cin_g; ci++)
                    for (size_t slot = 0; slot < st->rc_slots; slot++)
                        for (size_t co = r0; co < r0 + r_base + (cg < r_extra); co++)
                            for (size_t l = 0; l < 16; l++) {
                                size_t kx = rowconv_kx(sw, C, slot, l);
                                *out++ =
                                    kx < kw ? w[((ci * g->cout_g + co) * kh + ky) * kw + kx] : 0;
                            }
    for (size_t co = 0; bias && co < g->groups * g->cout_g; co++) st->bias_rowconv[co] = bias[co];
    size_t pad16 = (size_t)s->pad_w % 16, nv = (g->out_w + pad16 + 15) / 16;
    size_t q_last = (size_t)s->pad_w - pad16 + 16 * (nv - 1);
    if (sw < 16) return plan_expanded_rows(plan, st, sw, st->rc_taps, q_last);
    st->row_expand = 1;
    st->pad_left = st->rc_taps - 1;
    st->pad_right = q_last / sw + 1 > g->in_w ? q_last / sw + 1 - g->in_w : 0;
    st->row_width = st->pad_left + g->in_w + st->pad_right;
    return TCONV_OK;
}

/* Row phases (tconv_phases_job): kernel_w == stride_w (2 or 3; rowconv takes k4 s4) without padding
 * or dilation, so output column s*j + k is exactly input column j times kernel column k, every tap
 * inside the input (no padded columns are multiplied, so any weights do); no output padding along
 * w, whose extra columns the phase kernel computes against a zero column (the call writes s*in_w
 * columns). AVX-512 only, 16-channel blocks. The phase kernel's calls per column phase load once
 * per multiply-add (a broadcast of x or of a weight), here one x broadcast feeds S of them. Thread
 * CPU us, avx512 t1, base (phase kernel) / row phases, min of 41 samples, interleaved: Mask R-CNN
 * 256 -> 256 k2 s2 748-779 / 642-705, U-Net 1024 -> 512 30571-30908 / 22003-22119, U-Net 128 -> 64
 * 2507-2543 / 2269-2300, i16 k3 s3 c32 56-58 / 37-38, i16 k2 s2 c32 25-36 / 17-18. Where the 16
 * lanes are half empty or the channel sum is short, the transposed stores cost more than the shared
 * broadcasts save: 32 -> 8 k2 s2 106-107 / 139-144, 1 -> 16 91-97 / 118-119, 8 -> 16 108-121 /
 * 139-144; 32 -> 12 was 227-229 / 208-212; 16 -> 16 140-141 / 145-149. */
/* Also stride 2, pad 1 with kernel_w 4 (DCGAN, pix2pix) or 3 (CycleGAN, ENet; ov_tile): thread CPU
 * ms, avx512 t1, medians of 3, base (phase kernel) / row phases, gemm in brackets, two runs: DCGAN
 * 512 -> 256 1.95-1.98 / 1.52-1.54 (1.77), batch 4 256 -> 128 8.14-8.4 / 6.10 (7.25), pix2pix
 * decoder 1024 -> 512 10.4-10.6 / 6.32-6.7 (6.75-6.91), DCGAN 4x4 0.71 / 0.61 (0.51), CycleGAN 128
 * -> 64 20.2-21.3 / 17.8-18.7 (23.6), ENet 32 -> 32 0.595 / 0.536; sweep c32 i4/i8/i16/i32 k4 s2
 * p1 0.65x/0.69x/0.79x/0.86x the time, i16 k3 s2 p1 0.81x. */
int tconv_direct_takes_row_phases(const tconv_geometry *g, const tconv_kernels *k) {
#if TCONV_HAVE_AVX512
    const tconv_shape *s = &g->s;
    int full_lanes = g->cout_g >= 12 && g->cin_g >= 32;
    int k_is_s =
        s->kernel_w == s->stride_w && s->stride_w >= 2 && s->stride_w <= 3 && s->pad_w == 0;
    /* ov_tile: stride 2, pad 1, k4 (2 in_w columns) or k3 (2 in_w - 1, or 2 in_w with output
     * padding 1); every other output padding adds columns no tile owns. */
    int overlap = s->stride_w == 2 && s->pad_w == 1 &&
                  ((s->kernel_w == 4 && s->out_pad_w == 0) || s->kernel_w == 3);
    return k->isa == TCONV_ISA_avx512 && k->conv.mr == 16 && (k_is_s || overlap) &&
           s->dilation_w == 1 && (s->out_pad_w == 0 || overlap) && full_lanes;
#else
    (void)g, (void)k;
    return 0;
#endif
}

/* The packed rows' pitch, in floats: the padded row width rounded up to whole 64-byte lines, an
 * odd number of them. A pitch of whole lines gives every channel's row the same alignment, so a
 * vector load at a 16-float offset from the row start reads one line, not two (CycleGAN 128 -> 64:
 * 129 floats put 15 of 16 channels' loads across two lines); an odd count walks all 64 L1 sets
 * as channels advance, where an even one would share them (128 floats: 8 sets, and a tap's rows
 * lie a multiple of 4 KiB apart, so 4 taps x 4 channels per set exceed 12 ways). Only for rows
 * whose width is not already whole lines, and of at least ROW_PITCH_MIN floats: shorter rows would
 * waste up to half their lines and L1 room, and their vectors straddle lines anyway. A kernel-only
 * loop (16 rows, 128 pixels, 128 channels, 4 taps at column offsets 0, 1, 0, 1, stride 2, data in
 * L2; avx512, best of 7, three runs) ran 129-130 GFLOP/s at a 129-float pitch and 146-148 at 144.
 * In whole layers, where x streams from beyond L2, the gain was within the shared machine's noise
 * (bench, avx512 t1, medians of 5, base / pitch alone, two interleaved rounds): CycleGAN 128 -> 64
 * 111-115 / 113-117 GFLOP/s, its 136-column variant (137 -> 144) 108-110 / 104-108, ENet 32 -> 32
 * (65 -> 80), both with conv_avx512.c's prefetch, 120-123 / 118-125. The copy grows by the pitch's
 * share (CycleGAN: 12%). */
#define ROW_PITCH_MIN 64
static size_t row_pitch(size_t width) {
    if (width < ROW_PITCH_MIN || width % 16 == 0) return width;
    size_t lines = tconv_div_up(width, 16);
    return 16 * (lines | 1);
}

/* The packed input rows, when the kernel cannot read x as it is. */
static tconv_status alloc_input_rows(tconv_plan *plan, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t rows, row_bytes;
    if (g->cin_g == 1 && st->row_width == g->in_w) return TCONV_OK;
    const char *what = "input rows (in_h*in_channels/groups*in_w plus padding)";
    tconv_status rc = tconv_size_mul(g, what, &rows, g->in_h, g->cin_g);
    if (rc == TCONV_OK) rc = tconv_size_mul(g, what, &row_bytes, st->row_width, sizeof(float));
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "input rows", rows, row_bytes, (void **)&st->x_rows);
    return rc;
}

/* Bias-only outputs are written before the taps (fill_bias_runs) in runs of rows at memset-like
 * speed: whole planes when a channel's plane is small (then the rows with taps overwrite their
 * phases while the plane is still cached), else only the rows no kernel row reaches, and rows
 * with empty segments are filled by direct_row just before their taps, in L1. Thread CPU time,
 * avx512 t1, base (row by row in direct_row) / whole plane / rows with taps in direct_row:
 * i16 k4 s8 c1 (61 KB plane) 9.3-9.4 / 9.05-9.2 / 9.4-10 us; c32 (32 planes) 259-263 /
 * 236-241 / 258-260; k2 s8 c32 128-136 / 106-109 / 116-122; i64 k4 s8 c1 (1 MB plane) 69-72 /
 * 73-76 / 69-70; i128 k2 s8 c1 (4 MB plane) 227-238 / 264-267 / 209-278 (the plane leaves L2
 * before the taps overwrite it). */
#define FILL_AHEAD_PLANE_FLOATS 16384
static int choose_fill_ahead(const tconv_plan *plan) {
    return plan->g.out_plane <= FILL_AHEAD_PLANE_FLOATS;
}

/* Rows that fill_bias_runs fills: no kernel row reaches them, or (fill_ahead) some column
 * segment has no taps. */
static int row_needs_fill(const direct_state *st, size_t oy) {
    return st->rows.start[oy] == st->rows.start[oy + 1] || (st->fill_ahead && st->empty_segments);
}

/* A run starts where a row needs a fill and the previous one does not, or where the run so far
 * reached `cap` rows: runs of at most 64 KiB per channel give threads parallel work on big
 * single-channel planes, and fixed at plan time the partition is the same for any thread count. */
static int run_starts(const direct_state *st, size_t oy, size_t rows_so_far, size_t cap) {
    return row_needs_fill(st, oy) && (oy == 0 || !row_needs_fill(st, oy - 1) || rows_so_far == cap);
}

#define FILL_RUN_FLOATS 16384
static tconv_status plan_fill_runs(tconv_plan *plan, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t runs = 0, len = 0, cap = FILL_RUN_FLOATS / g->out_ws ? FILL_RUN_FLOATS / g->out_ws : 1;
    for (size_t oy = 0; oy < g->out_hs; oy++) {
        if (run_starts(st, oy, len, cap)) runs++, len = 0;
        len++;
    }
    st->fill_run_count = runs;
    if (runs == 0) return TCONV_OK;
    tconv_status rc = tconv_plan_alloc(plan, "bias-only row runs", 2 * runs, sizeof(size_t),
                                       (void **)&st->fill_runs);
    if (rc != TCONV_OK) return rc;
    for (size_t oy = 0, r = 0; oy < g->out_hs; oy++) {
        if (run_starts(st, oy, r ? st->fill_runs[2 * r - 1] : 0, cap)) st->fill_runs[2 * r++] = oy;
        if (row_needs_fill(st, oy)) st->fill_runs[2 * r - 1]++;
    }
    return TCONV_OK;
}

/* Whether some kernel row reaches output row oy (else it is only the bias, fill_bias_runs). */
static int row_has_taps(const direct_state *st, size_t oy) {
    return st->rows.start[oy] != st->rows.start[oy + 1];
}

/* The rows in phase order (the serial loop order) and the tile of them one task computes: about
 * 4 tasks per thread over (channel block, rows); one thread takes all rows at once. Rows that no
 * kernel row reaches go last and outside the tiles' range: with k < s along h most rows are
 * only the bias (k1 s8: 105 of 121), and a call per such row just to return cost i16 k1 s8 c1 a
 * fifth of direct's time (perf, avx512 t1). */
static tconv_status plan_row_tiles(tconv_plan *plan, direct_state *st) {
    const tconv_geometry *g = &plan->g;
    size_t sh = (size_t)g->s.stride_h, r = 0;
    tconv_status rc =
        tconv_plan_alloc(plan, "row order", g->out_hs, sizeof(size_t), (void **)&st->row_order);
    if (rc != TCONV_OK) return rc;
    for (int taps = 1; taps >= 0; taps--) {
        for (size_t py = 0; py < sh && py < g->out_hs; py++)
            for (size_t oy = py; oy < g->out_hs; oy += sh)
                if (row_has_taps(st, oy) == taps) st->row_order[r++] = oy;
        if (taps) st->tap_rows = r;
    }
    size_t blocks = st->rowconv ? 1 : tconv_div_up(g->cout_g, plan->k.conv.mr);
    st->row_tile =
        tconv_parallel_tile(st->tap_rows, tconv_div_up(4 * plan->par.threads, blocks), 1);
    return TCONV_OK;
}

static tconv_status direct_create(tconv_plan *plan, const float *w, const float *bias) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t mr = plan->k.conv.mr;
    direct_state *st;
    phase_columns pc;
    if (s->kernel_w - 1 > (int64_t)UINT32_MAX) /* col_tap holds kx in 32 bits */
        return tconv_fail(TCONV_ERR_UNSUPPORTED,
                          "algo direct: kernel_w (%" PRId64 ") exceeds 32-bit tap indices",
                          s->kernel_w);
    /* Weights first: the tables below walk the kernel, which must be known to fit in memory
     * before any loop over it (a 2^40-column kernel looped for minutes before failing). */
    tconv_status rc = tconv_plan_alloc(plan, "direct state", 1, sizeof *st, (void **)&st);
    if (rc == TCONV_OK) rc = tconv_pack_tap_weights(plan, w, mr, 0, &st->w_packed);
    if (rc == TCONV_OK) rc = tconv_pack_bias_blocks(plan, bias, mr, &st->bias_packed);
    if (rc == TCONV_OK)
        rc = tconv_axis_taps_build(plan, s->in_h, g->out_h, s->kernel_h, s->stride_h, s->pad_h,
                                   s->dilation_h, &st->rows);
    int weights_finite = rc == TCONV_OK && all_finite(w, g->w_elems);
    if (rc == TCONV_OK) st->rowconv = choose_rowconv(plan, weights_finite);
    if (rc == TCONV_OK && st->rowconv) rc = pack_rowconv(plan, w, bias, st);
    if (rc == TCONV_OK && st->rowconv) plan->loop0_kernel = "tconv_f32_rowconv_ukernel__avx512";
    if (rc == TCONV_OK && !st->rowconv) rc = bucket_columns(plan, &pc);
    int row_phases =
        rc == TCONV_OK && !st->rowconv && tconv_direct_takes_row_phases(&plan->g, &plan->k);
    if (rc == TCONV_OK && !st->rowconv) {
        /* Row phases read only inside the input: no padded copy of it. */
        choose_padding(g, &pc, weights_finite && !row_phases, st);
        rc = build_segments(plan, &pc, st);
    }
    if (rc == TCONV_OK && !st->rowconv) choose_loop_order(plan, st);
    /* After the segments: their taps read the padded width only; the pitch's extra columns stay
     * zero and unread. */
    if (rc == TCONV_OK && !st->rowconv && (g->cin_g > 1 || st->row_width > g->in_w))
        st->row_width = row_pitch(st->row_width);
    if (rc == TCONV_OK && row_phases) {
        st->row_phases = 1, st->column_phase_major = 0; /* one call covers every column phase */
        plan->loop0_kernel = "tconv_f32_conv_phases_ukernel_16__avx512";
    }
    size_t slot_taps = 0;
    if (rc == TCONV_OK)
        rc = tconv_size_mul(g, "tap pointers (kernel_h*kernel_w*threads)", &slot_taps, g->taps,
                            plan->par.threads);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "tap pointers", slot_taps, sizeof(float *),
                              (void **)&st->x_taps);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "tap pointers", slot_taps, sizeof(float *),
                              (void **)&st->w_taps);
    if (rc == TCONV_OK) rc = plan_row_tiles(plan, st);
    if (rc == TCONV_OK) rc = alloc_input_rows(plan, st);
    if (rc == TCONV_OK) st->fill_ahead = choose_fill_ahead(plan);
    if (rc == TCONV_OK) rc = plan_fill_runs(plan, st);
    if (rc == TCONV_OK) plan->state = st;
    return rc;
}

/* Per-task tap pointer arrays: the thread slot's part of the plan's scratch. */
typedef struct tap_scratch {
    const float **x_taps, **w_taps;
} tap_scratch;

/* Output row oy of `rows` channels set to their bias, contiguously. */
static void fill_row_bias(const tconv_geometry *g, const float *bias, size_t rows, size_t oy,
                          float *y_block) {
    for (size_t m = 0; m < rows; m++) {
        float *y = y_block + m * g->out_plane + oy * g->out_ws, value = bias[m]; /* no alias */
        for (size_t i = 0; i < g->out_ws; i++) y[i] = value;
    }
}

/* n floats set to value at memset-like speed from portable C: a short loop, then the filled
 * prefix doubled by memcpy (libc's is vectorised for this CPU; this file may not be) up to
 * FILL_CHUNK floats, copied on from there. Chunks stay under glibc's rep-movsb threshold (4 KiB
 * for AVX2), whose string copy valgrind counts per iteration (callgrind gate shapes would
 * show the bytes as instructions). Copies bits, so every element is exactly value. */
#define FILL_CHUNK 512
static void fill_floats(float *y, size_t n, float value) {
    size_t done = n < 64 ? n : 64;
    for (size_t i = 0; i < done; i++) y[i] = value;
    while (done < n) {
        size_t step = done < FILL_CHUNK ? done : FILL_CHUNK;
        if (step > n - done) step = n - done;
        memcpy(y + done, y, step * sizeof(float));
        done += step;
    }
}

/* One bias-only run: 64-byte stores on AVX-512 plans; fill_floats' memcpy doubling, which gcc
 * inlines as rep movsq (chunks of at most 2 KiB), wrote the 58 KB plane of i16 k1 s8 c1 at
 * about 20 bytes a cycle, half of direct's time there (perf, avx512 t1). With the tap rows'
 * tiles (plan_row_tiles), thread CPU us, avx512 t1, min of 5 repetitions, medians of 5
 * interleaved runs against 7eb86f1 on the shared machine: i16 c1 k1 s2 0.60 -> 0.49, k1 s3
 * 0.72 -> 0.52, k1 s4 0.86 -> 0.59, k1 s8 2.29 -> 1.70 (gemm 1.63), k2 s8 2.81 -> 2.16, k3 s8
 * 3.37 -> 2.43, k4 s8 3.42 -> 2.74; c32 k1 s2 12.4 -> 11.5, k1 s3 17.8 -> 15.8. */
static void fill_run(const tconv_plan *plan, float *y, size_t n, float value) {
#if TCONV_HAVE_AVX512
    if (plan->k.isa == TCONV_ISA_avx512) {
        tconv_f32_fill__avx512(y, n, value);
        return;
    }
#endif
    (void)plan;
    fill_floats(y, n, value);
}

/* Row phases: one call for the whole row (every column phase), taps of its kernel rows. */
static void direct_row_phases(const tconv_plan *plan, const direct_state *st, const tap_scratch *ts,
                              const input_view *in, const float *w_block, const float *bias,
                              size_t rows, size_t oy, float *y_block) {
#if TCONV_HAVE_AVX512
    const tconv_geometry *g = &plan->g;
    size_t kw = (size_t)g->s.kernel_w, tap_stride = g->cin_g * plan->k.conv.mr, n = 0;
    for (size_t r = st->rows.start[oy]; r < st->rows.start[oy + 1]; r++, n++) {
        ts->x_taps[n] = in->base + st->rows.input[r] * in->row_stride + st->pad_left;
        ts->w_taps[n] = w_block + st->rows.tap[r] * kw * tap_stride;
    }
    tconv_phases_job job = {.rows = rows,
                            .pixels = g->in_w,
                            .stride = (size_t)g->s.stride_w,
                            .kernel_w = kw,
                            .columns = (size_t)g->out_w,
                            .row_taps = n,
                            .channels = g->cin_g,
                            .x_cstride = in->cstride,
                            .w_kx_stride = tap_stride,
                            .y_cstride = g->out_plane,
                            .x_rows = ts->x_taps,
                            .w_rows = ts->w_taps,
                            .bias = bias,
                            .y = y_block + oy * g->out_ws};
    tconv_f32_conv_phases_ukernel_16__avx512(&job);
#else
    (void)plan, (void)st, (void)ts, (void)in, (void)w_block, (void)bias, (void)rows, (void)oy,
        (void)y_block;
#endif
}

/* One block of output channels of one output row, segments [first, last): a micro-kernel call
 * per column segment with exactly the (ky, kx) taps that land there. Outputs that no tap reaches
 * (k < s) are only the bias: rows without kernel rows were filled by fill_bias_runs; a row with
 * segments without kernel columns too when fill_ahead, else it is filled here whole (once, with
 * its first segments) and its taps then overwrite the phases they reach. */
static void direct_row(const tconv_plan *plan, const direct_state *st, const tap_scratch *ts,
                       const input_view *in, const float *w_block, const float *bias, size_t rows,
                       size_t oy, size_t first, size_t last, float *y_block) {
    const tconv_geometry *g = &plan->g;
    size_t kw = (size_t)g->s.kernel_w, tap_stride = g->cin_g * plan->k.conv.mr;
    if (st->rows.start[oy] == st->rows.start[oy + 1]) return; /* bias only: filled before */
    if (st->empty_segments && !st->fill_ahead && first == 0)
        fill_row_bias(g, bias, rows, oy, y_block);
    if (st->row_phases) {
        direct_row_phases(plan, st, ts, in, w_block, bias, rows, oy, y_block);
        return;
    }
    for (size_t sgi = first; sgi < last; sgi++) {
        const column_segment *seg = &st->segments[sgi];
        size_t n = 0;
        if (seg->tap_begin == seg->tap_end) continue; /* bias only: filled above */
        for (size_t r = st->rows.start[oy]; r < st->rows.start[oy + 1]; r++) {
            const float *x_row = in->base + st->rows.input[r] * in->row_stride;
            for (size_t q = seg->tap_begin; q < seg->tap_end; q++) {
                ts->x_taps[n] = x_row + st->col_input[q];
                ts->w_taps[n++] = w_block + (st->rows.tap[r] * kw + st->col_tap[q]) * tap_stride;
            }
        }
        plan->k.conv.fn(rows, seg->pixels, n, ts->x_taps, in->cstride, g->cin_g, ts->w_taps, bias,
                        y_block + oy * g->out_ws + seg->ox_start, g->out_plane,
                        (size_t)g->s.stride_w);
    }
}

/* The group's input as the micro-kernel reads it: the padded [iy][c][ix] rows when the plan has
 * them (filled by pack_input_rows), else x itself. */
static input_view view_input(const tconv_plan *plan, const direct_state *st, const float *xg) {
    const tconv_geometry *g = &plan->g;
    if (st->x_rows == NULL) return (input_view){xg, g->in_w, g->in_plane};
    return (input_view){st->x_rows, g->cin_g * st->row_width, st->row_width};
}

/* What one (batch, group) slice's parallel steps read and write. */
typedef struct direct_work {
    const tconv_plan *plan;
    const float *x_group;
    float *y_group;
    input_view in;
    size_t grp;
} direct_work;

/* Input rows [iy0, iy0 + n) copied to the padded [iy][c][ix] layout, or expanded for rowconv
 * (row_expand), once per run for every output row and thread that reads them (the padding
 * columns were zeroed at allocation and are never written). */
static void pack_input_rows(void *context, size_t iy0, size_t n) {
    const direct_work *work = context;
    const tconv_geometry *g = &work->plan->g;
    const direct_state *st = work->plan->state;
    /* The expand test once per call, not per row: inside the loop it cost the plain copy up to
     * 1.4% more instructions (callgrind gate, avx2 gate_dilated). */
#if TCONV_HAVE_AVX512
    if (st->row_expand > 1) {
        for (size_t c = 0; c < g->cin_g; c++)
            tconv_f32_rowconv_expand__avx512(
                n, g->in_w, st->row_expand, work->x_group + c * g->in_plane + iy0 * g->in_w,
                g->in_w, st->x_rows + (iy0 * g->cin_g + c) * st->row_width + st->pad_left,
                g->cin_g * st->row_width);
        return;
    }
#endif
    for (size_t iy = iy0; iy < iy0 + n; iy++)
        for (size_t c = 0; c < g->cin_g; c++)
            memcpy(st->x_rows + (iy * g->cin_g + c) * st->row_width + st->pad_left,
                   work->x_group + c * g->in_plane + iy * g->in_w, g->in_w * sizeof(float));
}

/* One block of output channels, rows [r0, r1) of row_order: rows of one phase use the same kernel
 * rows, so their weights are still cached from the previous row. With column_phase_major each run
 * of same-phase rows goes column phase by column phase. */
static void direct_block(const tconv_plan *plan, const direct_state *st, const tap_scratch *ts,
                         const input_view *in, const float *w_block, const float *bias, size_t rows,
                         size_t r0, size_t r1, float *y_block) {
    const tconv_geometry *g = &plan->g;
    size_t sh = (size_t)g->s.stride_h, col_phases = (size_t)column_phases(g);
    if (!st->column_phase_major) {
        for (size_t r = r0; r < r1; r++)
            direct_row(plan, st, ts, in, w_block, bias, rows, st->row_order[r], 0,
                       st->segment_count, y_block);
        return;
    }
    for (size_t run = r0, end; run < r1; run = end) {
        size_t py = st->row_order[run] % sh;
        for (end = run + 1; end < r1 && st->row_order[end] % sh == py; end++) continue;
        for (size_t px = 0; px < col_phases; px++)
            for (size_t r = run; r < end; r++)
                direct_row(plan, st, ts, in, w_block, bias, rows, st->row_order[r],
                           st->phase_segments[px], st->phase_segments[px + 1], y_block);
    }
}

/* rowconv: rows [r0, r1) of row_order, every output channel of the group; rows that no kernel
 * row reaches are the bias, written before by fill_bias_runs. */
static void rowconv_rows(const direct_work *work, const tap_scratch *ts, size_t r0, size_t r1) {
#if TCONV_HAVE_AVX512
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const direct_state *st = plan->state;
    const float *bias = st->bias_rowconv + work->grp * g->cout_g;
    const float *wg = st->w_rowconv + work->grp * (size_t)g->s.kernel_h * st->rc_ky_stride;
    size_t classes = st->rc_slots / st->rc_taps;
    tconv_rowconv_job job = {.rows = g->cout_g,
                             .channels = g->cin_g,
                             .x_rows = ts->x_taps,
                             .x_cstride = work->in.cstride,
                             .w_rows = ts->w_taps,
                             .slots = st->rc_slots,
                             .taps_per_lane = st->rc_taps,
                             .classes = classes,
                             .class0 = ((size_t)g->s.pad_w / 16) % classes,
                             .lane_masks = st->rc_masks,
                             .masked = (size_t)g->s.kernel_w % (size_t)g->s.stride_w != 0,
                             .stride = (size_t)g->s.stride_w,
                             .pad = (size_t)g->s.pad_w,
                             .bias = bias,
                             .y_cstride = g->out_plane,
                             .out_w = g->out_w};
    for (size_t r = r0; r < r1; r++) {
        size_t oy = st->row_order[r], n = 0;
        for (size_t i = st->rows.start[oy]; i < st->rows.start[oy + 1]; i++, n++) {
            ts->x_taps[n] = work->in.base + st->rows.input[i] * work->in.row_stride + st->pad_left;
            ts->w_taps[n] = wg + st->rows.tap[i] * st->rc_ky_stride;
        }
        if (n == 0) continue; /* bias only: filled by fill_bias_runs */
        job.row_taps = n;
        job.y = work->y_group + oy * g->out_ws;
        tconv_f32_rowconv_ukernel__avx512(&job);
    }
#else
    (void)work, (void)ts, (void)r0, (void)r1;
#endif
}

/* Channel blocks [b0, b0 + nb) x rows [r0, r0 + nr) of row_order: disjoint outputs per task. */
static void direct_tile(void *context, size_t b0, size_t r0, size_t nb, size_t nr) {
    const direct_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const direct_state *st = plan->state;
    size_t mr = plan->k.conv.mr, blocks = tconv_div_up(g->cout_g, mr);
    size_t slot = tconv_parallel_claim(&plan->par);
    tap_scratch ts = {st->x_taps + slot * g->taps, st->w_taps + slot * g->taps};
    if (st->rowconv) rowconv_rows(work, &ts, r0, r0 + nr);
    for (size_t b = b0; !st->rowconv && b < b0 + nb; b++) {
        size_t rows = g->cout_g - b * mr < mr ? g->cout_g - b * mr : mr;
        direct_block(plan, st, &ts, &work->in,
                     st->w_packed + tconv_tap_weight_offset(g, mr, work->grp, b, 0),
                     st->bias_packed + (work->grp * blocks + b) * mr, rows, r0, r0 + nr,
                     work->y_group + b * mr * g->out_plane);
    }
    tconv_parallel_release(&plan->par, slot);
}

/* Rows that no kernel row reaches (k < s along h) are only the bias: each run of them is filled
 * first, one contiguous range per channel. Filled row by row at one 16-byte store per 4 floats,
 * fills were ~11% of direct's time on i16 k4 s8 c1 (perf, avx512, t1). The partition (blocks x
 * plan-time runs) does not depend on the thread count. */
static void fill_bias_runs(void *context, size_t b0, size_t i0, size_t nb, size_t ni) {
    const direct_work *work = context;
    const tconv_plan *plan = work->plan;
    const tconv_geometry *g = &plan->g;
    const direct_state *st = plan->state;
    size_t mr = plan->k.conv.mr, blocks = tconv_div_up(g->cout_g, mr);
    for (size_t b = b0; b < b0 + nb; b++) {
        size_t rows = g->cout_g - b * mr < mr ? g->cout_g - b * mr : mr;
        const float *bias = st->bias_packed + (work->grp * blocks + b) * mr;
        float *y_block = work->y_group + b * mr * g->out_plane;
        for (size_t m = 0; m < rows; m++)
            for (size_t i = i0; i < i0 + ni; i++)
                fill_run(plan, y_block + m * g->out_plane + st->fill_runs[2 * i] * g->out_ws,
                         st->fill_runs[2 * i + 1] * g->out_ws, bias[m]);
    }
}

/* Per (batch, group): the input repack as one parallel step (shared by all tasks), then the
 * (channel block x rows) tiles. */
static void direct_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    const direct_state *st = plan->state;
    size_t blocks = st->rowconv ? 1 : tconv_div_up(g->cout_g, plan->k.conv.mr);
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            size_t slot = n * g->groups + grp;
            const float *xg = x + slot * g->cin_g * g->in_plane;
            direct_work work = {plan, xg, y + slot * g->cout_g * g->out_plane,
                                view_input(plan, st, xg), grp};
            if (st->x_rows)
                tconv_parallel_1d(&plan->par, pack_input_rows, &work, g->in_h,
                                  tconv_parallel_tile(g->in_h, plan->par.threads, 1));
            if (st->fill_run_count)
                tconv_parallel_2d(&plan->par, fill_bias_runs, &work,
                                  tconv_div_up(g->cout_g, plan->k.conv.mr), st->fill_run_count, 1,
                                  1);
            tconv_parallel_2d(&plan->par, direct_tile, &work, blocks, st->tap_rows, 1,
                              st->row_tile);
        }
}

const tconv_algo_ops tconv_direct_ops = {direct_create, direct_run};
