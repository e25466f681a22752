/* col2im driver: bias fill, then one micro-kernel call per (channel, tap, input row). */
#include "col2im.h"

/* Inputs i in [begin, end) with i*stride - pad + t*dilation in [0, out) (clamped to [0, in)). */
static void axis_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t dilation,
                       int64_t t, size_t *begin, size_t *end) {
    int64_t lo_num = pad - t * dilation;
    int64_t hi_num = out - 1 + pad - t * dilation;
    int64_t lo = lo_num <= 0 ? 0 : (lo_num + stride - 1) / stride;
    int64_t hi = hi_num < 0 ? 0 : hi_num / stride + 1;
    if (hi > in) hi = in;
    *begin = (size_t)lo;
    *end = (size_t)(hi > lo ? hi : lo);
}

static tconv_status alloc_ranges(tconv_plan *plan, int64_t count, size_t **begin, size_t **end) {
    tconv_status rc =
        tconv_plan_alloc(plan, "col2im ranges", (size_t)count, sizeof(size_t), (void **)begin);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "col2im ranges", (size_t)count, sizeof(size_t), (void **)end);
    return rc;
}

/* AVX-512 plans with output rows of at most 4 vectors (64 floats: DCGAN's and pix2pix's 16-
 * and 32-wide rows) keep each output row in registers from its bias to its last tap
 * (col2im_rows_in_registers); at most MAX_ROW_TAPS kernel rows and columns (a bounded list of
 * a row's taps on the stack, a small mask table). Measured (bench default sweep, gemm avx512
 * t1, medians of 5 x 3 interleaved rounds against 3a281ac on the shared Xeon): geomean 1.25x
 * over its 107 shapes, e.g. i16 k4 s1 p2 c32 121 -> 68 us, k4 s2 p1 c32 108 -> 79, k3 s4 c32
 * 90 -> 69, i8 k4 s2 p1 c32 35 -> 22. Layers (own driver, thread CPU time, best / median
 * of 20-100 runs, 5 rounds, same checksums): DCGAN 512->256 1.66 -> 1.56 / 1.76 -> 1.68 ms
 * (col2im 7.7% -> 5.1% of its samples), pix2pix decoder 6.40 -> 6.19 / 6.66 -> 6.51, DCGAN b4
 * 7.09 -> 6.84 / 7.46 -> 7.35; DCGAN's last layer 1-2% faster.
 * Not for one kernel column: a row then takes one tap at most, and the plain path's plane-wide
 * bias fill plus one call per tapped row beat a call per output row (i16 k1 s3 c32 12.9 ->
 * 20.4 us, k1 s2 c32 9.6 -> 11.5). */
#define ROW_KERNEL_MAX_W 64
#define MAX_ROW_TAPS 16
static int use_row_kernel(const tconv_plan *plan) {
#if TCONV_HAVE_AVX512
    const tconv_shape *s = &plan->g.s;
    return plan->k.isa == TCONV_ISA_avx512 && plan->g.out_ws <= ROW_KERNEL_MAX_W &&
           s->kernel_w >= 2 && s->kernel_h <= MAX_ROW_TAPS && s->kernel_w <= MAX_ROW_TAPS;
#else
    (void)plan;
    return 0;
#endif
}

/* Per kernel column kx and output vector q: the lanes ox + stride*j (j < n, the kx's input
 * columns from ix_begin) that fall in outputs [16q, 16q + 16), and the col offset of the first
 * of them (the taps of one vector are consecutive col elements). */
static tconv_status prepare_row_masks(tconv_plan *plan, tconv_col2im_plan *c) {
    const tconv_shape *s = &plan->g.s;
    size_t kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    tconv_status rc =
        tconv_plan_alloc(plan, "col2im row masks", kw * 4, sizeof(uint32_t), (void **)&c->row_mask);
    if (rc == TCONV_OK)
        rc = tconv_plan_alloc(plan, "col2im row offsets", kw * 4, sizeof(size_t),
                              (void **)&c->row_off);
    if (rc != TCONV_OK) return rc;
    for (size_t kx = 0; kx < kw; kx++) {
        size_t lo = c->ix_begin[kx], n = c->ix_end[kx] - lo;
        int64_t ox0 = (int64_t)lo * s->stride_w - s->pad_w + (int64_t)kx * s->dilation_w;
        for (size_t q = 0; q < 4; q++) {
            c->row_mask[kx * 4 + q] = 0, c->row_off[kx * 4 + q] = 0;
            size_t count = 0;
            for (size_t j = 0; j < n; j++) {
                size_t ox = (size_t)ox0 + j * sw; /* inside [0, out_w) by axis_range */
                if (ox / 16 != q) continue;
                if (count++ == 0) c->row_off[kx * 4 + q] = lo + j;
                c->row_mask[kx * 4 + q] |= 1u << (ox % 16);
            }
            c->row_mask[kx * 4 + q] |= ((1u << count) - 1u) << 16;
        }
    }
    return TCONV_OK;
}

tconv_status tconv_col2im_prepare(tconv_plan *plan, tconv_col2im_plan *c) {
    const tconv_shape *s = &plan->g.s;
    tconv_status rc = alloc_ranges(plan, s->kernel_w, &c->ix_begin, &c->ix_end);
    if (rc == TCONV_OK) rc = alloc_ranges(plan, s->kernel_h, &c->iy_begin, &c->iy_end);
    if (rc != TCONV_OK) return rc;
    for (int64_t kx = 0; kx < s->kernel_w; kx++)
        axis_range(s->in_w, plan->g.out_w, s->stride_w, s->pad_w, s->dilation_w, kx,
                   &c->ix_begin[kx], &c->ix_end[kx]);
    for (int64_t ky = 0; ky < s->kernel_h; ky++)
        axis_range(s->in_h, plan->g.out_h, s->stride_h, s->pad_h, s->dilation_h, ky,
                   &c->iy_begin[ky], &c->iy_end[ky]);
    c->row_mask = NULL, c->row_off = NULL;
    if (use_row_kernel(plan)) return prepare_row_masks(plan, c);
    return TCONV_OK;
}

/* Rows of up to 4 are added here: the micro-kernel call and its vector setup cost ~40
 * instructions for a 2-pixel row (the seed's 2x2 example: 18 such rows, 720 of gemm's 2645
 * instructions per run, callgrind avx2). One call covers all input rows of a tap (one call per
 * row, its loop and spills, still cost ~75 instructions a row there: 1354 of 2376 per run).
 * Same adds, same order: same bits. */
#define SHORT_ROW 4
static __attribute__((noinline)) void add_short_rows(size_t rows, size_t n, const float *col,
                                                     size_t col_step, float *y, size_t y_step,
                                                     size_t stride) {
    /* Unrolled by n (each element of a row is a different output, so their order is free): the
     * plain j loop with its stride multiply took 9 instructions per element (callgrind, seed). */
    /* Pointers formed per row, never one step past the last (with a hostile stride that step
     * overflows the address space: UBSan's pointer-overflow check in test_hostile). */
    for (size_t r = 0; r < rows; r++) {
        const float *c = col + r * col_step;
        float *o = y + r * y_step;
        switch (n) {
        case 4: o[3 * stride] += c[3]; /* fall through */
        case 3: o[2 * stride] += c[2]; /* fall through */
        case 2: o[stride] += c[1];     /* fall through */
        default: o[0] += c[0];
        }
    }
}

/* `rows` rows of one tap, row r: y[r*y_step + j*stride] += col[r*col_step + j], j < n. The
 * short path out of line keeps the long-row loop as it was (inlined, it cost FCN-8s 1.2% more
 * instructions; out of line, ~0.1%). */
static inline void add_tap_rows(const tconv_plan *plan, size_t rows, size_t n, const float *col,
                                size_t col_step, float *y, size_t y_step, size_t stride) {
    if (n <= SHORT_ROW) {
        add_short_rows(rows, n, col, col_step, y, y_step, stride);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        plan->k.col2im.fn(n, col + r * col_step, y + r * y_step, stride);
}

/* One row (col2im_rows): the same adds as add_tap_rows with rows 1. */
static inline void add_row(const tconv_plan *plan, size_t n, const float *col, float *y,
                           size_t stride) {
    add_tap_rows(plan, 1, n, col, 0, y, 0, stride);
}

static void fill_bias(float *y, size_t n, float value) {
    for (size_t i = 0; i < n; i++) y[i] = value;
}

/* Whole planes of channels [c0, c1): bias fill, then tap by tap, input row by input row (the
 * input rows whose output row exists: iy_begin..iy_end, from the plan). */
static void col2im_planes(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                          const float *bias_group, float *y_group, size_t c0, size_t c1) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    size_t y_step = (size_t)s->stride_h * g->out_ws;
    for (size_t co = c0; co < c1; co++) {
        float *yc = y_group + co * g->out_plane;
        fill_bias(yc, g->out_plane, bias_group ? bias_group[co] : 0.0f);
        for (size_t ky = 0; ky < kh; ky++) {
            size_t iy0 = c->iy_begin[ky], rows = c->iy_end[ky] - iy0;
            if (rows == 0) continue;
            int64_t oy0 = (int64_t)iy0 * s->stride_h - s->pad_h + (int64_t)ky * s->dilation_h;
            for (size_t kx = 0; kx < kw; kx++) {
                size_t lo = c->ix_begin[kx], n = c->ix_end[kx] - lo;
                if (n == 0) continue;
                const float *col_row = col + ((co * kh + ky) * kw + kx) * g->in_plane;
                int64_t ox = (int64_t)lo * s->stride_w - s->pad_w + (int64_t)kx * s->dilation_w;
                add_tap_rows(plan, rows, n, col_row + iy0 * g->in_w + lo, g->in_w,
                             yc + (size_t)oy0 * g->out_ws + (size_t)ox, y_step, sw);
            }
        }
    }
}

/* Output rows [r0, r1) of channels [c0, c1), row by row: for one output row each ky meets at
 * most one input row, so every output still receives its bias and then its taps in (ky, kx)
 * order, the order of col2im_planes: the same sums, bit for bit. */
static void col2im_rows(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                        const float *bias_group, float *y_group, size_t c0, size_t c1, size_t r0,
                        size_t r1) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w;
    for (size_t co = c0; co < c1; co++)
        for (size_t oy = r0; oy < r1; oy++) {
            float *y_row = y_group + co * g->out_plane + oy * g->out_ws;
            fill_bias(y_row, g->out_ws, bias_group ? bias_group[co] : 0.0f);
            for (int64_t ky = 0; ky < s->kernel_h; ky++) {
                int64_t num = (int64_t)oy + s->pad_h - ky * s->dilation_h;
                if (num < 0 || num % s->stride_h != 0 || num / s->stride_h >= s->in_h) continue;
                size_t iy = (size_t)(num / s->stride_h);
                for (size_t kx = 0; kx < kw; kx++) {
                    size_t lo = c->ix_begin[kx], n = c->ix_end[kx] - lo;
                    if (n == 0) continue;
                    const float *col_row = col + ((co * kh + (size_t)ky) * kw + kx) * g->in_plane;
                    int64_t ox = (int64_t)lo * s->stride_w - s->pad_w + (int64_t)kx * s->dilation_w;
                    add_row(plan, n, col_row + iy * g->in_w + lo, y_row + (size_t)ox, sw);
                }
            }
        }
}

/* col2im_rows with each output row in registers (tconv_f32_col2im_row__avx512). Channels
 * outermost, as col2im_planes: a channel's col rows (DCGAN 512->256: 4 KiB) are read in one
 * sweep, where output rows outermost read 8 lines of every channel's per row, from L3 once the
 * GEMM has streamed the weights through L2. Each row's (ky, input row) taps come without
 * divisions: oy + pad_h = base*stride_h + phase, stepped row by row, and ky*dilation_h =
 * q[ky]*stride_h + r[ky], so ky has a tap iff phase == r[ky], from input row base - q[ky]. Per
 * output: the bias, then its taps in (ky, kx) order, as col2im_rows: the same bits. */
static void col2im_rows_in_registers(const tconv_plan *plan, const tconv_col2im_plan *c,
                                     const float *col, const float *bias_group, float *y_group,
                                     size_t c0, size_t c1, size_t r0, size_t r1) {
#if TCONV_HAVE_AVX512
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, kw = (size_t)s->kernel_w, plane_taps = kw * g->in_plane;
    size_t sh = (size_t)s->stride_h, q[MAX_ROW_TAPS], r[MAX_ROW_TAPS];
    const float *rows[MAX_ROW_TAPS];
    for (size_t ky = 0; ky < kh; ky++) {
        size_t reach = ky * (size_t)s->dilation_h;
        q[ky] = reach / sh, r[ky] = reach % sh;
    }
    for (size_t co = c0; co < c1; co++) {
        const float *col_co = col + co * kh * plane_taps;
        float *y_row = y_group + co * g->out_plane + r0 * g->out_ws;
        float bias = bias_group ? bias_group[co] : 0.0f;
        size_t base = (r0 + (size_t)s->pad_h) / sh, phase = (r0 + (size_t)s->pad_h) % sh;
        for (size_t oy = r0; oy < r1; oy++, y_row += g->out_ws) {
            size_t n = 0;
            for (size_t ky = 0; ky < kh; ky++)
                if (phase == r[ky] && base >= q[ky] && base - q[ky] < g->in_h)
                    rows[n++] = col_co + ky * plane_taps + (base - q[ky]) * g->in_w;
            tconv_f32_col2im_row__avx512(g->out_ws, bias, n, rows, g->in_plane, kw, c->row_mask,
                                         c->row_off, y_row);
            if (++phase == sh) phase = 0, base++;
        }
    }
#else
    (void)plan, (void)c, (void)col, (void)bias_group, (void)y_group, (void)c0, (void)c1, (void)r0,
        (void)r1;
#endif
}

void tconv_col2im_tile(const tconv_plan *plan, const tconv_col2im_plan *c, const float *col,
                       const float *bias_group, float *y_group, size_t c0, size_t c1, size_t r0,
                       size_t r1) {
    if (c->row_mask)
        col2im_rows_in_registers(plan, c, col, bias_group, y_group, c0, c1, r0, r1);
    else if (r0 == 0 && r1 == plan->g.out_hs)
        col2im_planes(plan, c, col, bias_group, y_group, c0, c1);
    else
        col2im_rows(plan, c, col, bias_group, y_group, c0, c1, r0, r1);
}
