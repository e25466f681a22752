/* gemm: col = W^T X per group with our cache-blocked GEMM (packed panels), then col2im. */
#include "col2im.h"

#include <string.h>

/* Cache blocking (GOTO/BLIS), sized at plan time from the detected caches (gemm_blocking):
 * kc rows of K per pass, an mc x kc block of A per L2 stay, a kc x nc panel of B per thread. */
#define GEMM_KC_MIN 256         /* the old constant: a K split never goes below it */
#define GEMM_KC_MAX 2048        /* bounds the per-thread B panel when the L2 is reported huge */
#define GEMM_L2_FALLBACK_KB 512 /* when libcpuid cannot tell: Zen 3's, what the constants fit */
/* gemm_blas: tiles per (batch, group) GEMM, for any thread count (see gemm_prepare). */
#define BLAS_TILES 64

typedef struct gemm_state {
    float *a_packed; /* per group: W^T in [k block][MR panel][kc][MR] order */
    float
        *b_packed; /* run-time scratch per thread slot: a KC x NC panel of X, [NR panel][kc][NR] */
    float *col;    /* [cout_g*Kh*Kw][H*W]; NULL when fused and K fits one KC block, or y_is_col */
    float *bias;   /* [Cout] or NULL */
    size_t m, m_padded, k;
    size_t kc, mc, nc;      /* cache blocking (gemm_blocking) */
    size_t l2_bytes;        /* detected (or fallback) L2 size */
    size_t band_in_rows;    /* input rows per band of banded_gemm_col2im; 0: no bands */
    size_t b_panel_elems;   /* one slot's b_packed, then its MR x NR tile (fused) */
    int fused;              /* every output gets exactly one tap: GEMM tiles go straight into y */
    int y_is_col;           /* fused, and col's layout is y's (see col_is_y_layout) */
    int pairs_in_registers; /* fused tiles stored by the AVX-512 pairs kernel (use_pairs_kernel) */
    size_t m_tile, n_tile;  /* GEMM tile of one parallel task (see choose_gemm_tiles) */
    size_t c2i_channels, c2i_rows; /* col2im tile: output channels x output rows */
    tconv_col2im_plan c2i;
} gemm_state;

/* A = W_g^T: A[m][kk] = w[g*cin_g + kk][m], since w[ci] is the contiguous [cout_g*Kh*Kw] row. */
static void pack_a(const tconv_plan *plan, const gemm_state *st, const float *w) {
    const tconv_geometry *g = &plan->g;
    size_t mr = plan->k.gemm.mr;
    for (size_t grp = 0; grp < g->groups; grp++) {
        float *dst_group = st->a_packed + grp * st->m_padded * st->k;
        const float *wg = w + grp * g->cin_g * st->m;
        for (size_t pc = 0; pc < st->k; pc += st->kc) {
            size_t kc = st->k - pc < st->kc ? st->k - pc : st->kc;
            float *dst_block = dst_group + pc * st->m_padded;
            for (size_t m = 0; m < st->m; m++)
                for (size_t kk = 0; kk < kc; kk++)
                    dst_block[(m / mr) * mr * kc + kk * mr + m % mr] = wg[(pc + kk) * st->m + m];
        }
    }
}

/* Tiles of col = A X for the parallel tasks: N (pixels) split first, in multiples of NR, while a
 * tile keeps at least 8 NR panels; the rest of the wanted pieces split M in multiples of MR (so
 * every micro-kernel call covers the same elements as in the whole-matrix loop, and each element
 * is the same sum). pieces == 1: one tile, the plain blocked GEMM. */
static void choose_gemm_tiles(size_t m, size_t n, size_t mr, size_t nr, size_t pieces,
                              size_t *m_tile, size_t *n_tile) {
    size_t n_pieces = n / (8 * nr);
    if (n_pieces > pieces) n_pieces = pieces;
    if (n_pieces < 1) n_pieces = 1;
    *n_tile = tconv_parallel_tile(n, n_pieces, nr);
    *m_tile = tconv_parallel_tile(m, tconv_div_up(pieces, n_pieces), mr);
}

/* col2im tasks: output channels, and output rows too when there are fewer channels than wanted
 * pieces (FSRCNN's and the 1->1 upsample's single channel). */
static void choose_col2im_tiles(const tconv_geometry *g, size_t pieces, gemm_state *st) {
    st->c2i_channels = tconv_parallel_tile(g->cout_g, pieces, 1);
    st->c2i_rows = g->out_hs;
    if (pieces > 1 && g->cout_g < pieces)
        st->c2i_rows = tconv_parallel_tile(g->out_hs, tconv_div_up(pieces, g->cout_g), 1);
}

/* Each output receives at most one tap per axis when the kernel's span is shorter than the
 * stride: o = i*s - p + t*d with |t1 - t2|*d <= d*(k - 1) < s forces i1 = i2 and t1 = t2. Then
 * col2im is a permutation of col (plus the bias) and the GEMM can write y directly. Measured on
 * the shared Xeon (bench medians, avx512, t1, base and this build interleaved): Mask R-CNN
 * 119.5 -> 123.2 GFLOP/s, U-Net 128->64 107 -> 108-122 (noisy), i16 k1 s8 c1 164 -> 270
 * MFLOP/s, c32 5.04 -> 6.19 GFLOP/s. Callgrind (avx2) counts 1.4-4% more instructions on the
 * k == s layers (scalar-indexed runs of at most NR columns against col2im's long vector rows),
 * but y is written once and col (Mask R-CNN: 800 KiB) never leaves L1. (The k1 s8 figures
 * were for k < s, fused then; no longer: see gemm_prepare.) */
/* Blocking from the L2 size (tconv_get_cpu_info). On the Sapphire Rapids-class Xeon the 12x32
 * AVX-512 kernel runs at peak with its kc x NR sliver of B in L2 rather than L1 (synthetic loop:
 * 176 GFLOP/s at kc 512 with B from L2), while every extra K pass reloads and re-stores the whole
 * C tile, from L3 once A has streamed through L2. So K is done in one pass while the B sliver
 * fits in an eighth of L2, else split into equal passes; the mc x kc block of A takes a quarter
 * of L2 and the kc x nc panel of B half of it. Measured (driver, best of 1 s, t1, interleaved):
 * kc = K instead of 256 bought pix2pix decoder (K 1024) 123-126 -> 135-139 GFLOP/s, U-Net deep
 * (K 1024, fused: no col buffer left) 140-144 -> 152-153, DCGAN 133 -> 135; the rest within
 * noise. Only a K split's boundaries enter the sums, and they depend on the shape and the CPU,
 * never on the thread count. */
static void gemm_blocking(size_t k, size_t mr, size_t nr, gemm_state *st) {
    tconv_cpu_info cpu;
    size_t l2 = (size_t)GEMM_L2_FALLBACK_KB * 1024;
    if (tconv_get_cpu_info(&cpu) == TCONV_OK && cpu.l2_kb > 0) l2 = (size_t)cpu.l2_kb * 1024;
    st->l2_bytes = l2;
    size_t kc_max = l2 / 8 / (nr * sizeof(float));
    if (kc_max < GEMM_KC_MIN) kc_max = GEMM_KC_MIN;
    if (kc_max > GEMM_KC_MAX) kc_max = GEMM_KC_MAX;
    size_t passes = tconv_div_up(k, kc_max);
    st->kc = tconv_div_up(k, passes);
    size_t mc = l2 / 4 / (st->kc * sizeof(float)) / mr * mr;
    st->mc = mc < mr ? mr : mc;
    size_t nc = l2 / 2 / (st->kc * sizeof(float)) / nr * nr;
    st->nc = nc < nr ? nr : nc;
}

/* Bands for banded_gemm_col2im: as many input rows as keep the band's col columns (all M rows)
 * in half the L2, when col itself is bigger than that. A band narrower than 8 NR panels would
 * re-stream A (the packed weights) too often for its work (pix2pix decoder: 32 MiB of A for 64
 * columns), so such shapes keep the one-pass order. */
static size_t band_input_rows(const tconv_geometry *g, const gemm_state *st, size_t nr) {
    size_t budget_cols = st->l2_bytes / 2 / (st->m * sizeof(float));
    if (budget_cols < 8 * nr || budget_cols >= g->in_plane) return 0;
    size_t rows = budget_cols / g->in_w;
    return rows < 1 ? 1 : rows;
}

/* A 1x1 kernel, stride 1, no padding and output as large as the input: col row co is output
 * channel co's plane, element for element, so the GEMM can write y itself (see fused_micro_tile).
 */
static int col_is_y_layout(const tconv_geometry *g) {
    const tconv_shape *s = &g->s;
    return g->taps == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 && s->pad_w == 0 &&
           g->out_hs == g->in_h && g->out_ws == g->in_w;
}

static int taps_never_overlap(const tconv_shape *s) {
    return s->dilation_h * (s->kernel_h - 1) < s->stride_h &&
           s->dilation_w * (s->kernel_w - 1) < s->stride_w;
}

/* Without overlap each output has at most one (input, tap) pair per axis, so every output is
 * reached iff the pair counts equal the output extents (k == s, no padding: U-Net, Mask R-CNN). */
static int every_output_has_a_tap(const tconv_geometry *g) {
    const tconv_shape *s = &g->s;
    return tconv_axis_pairs(s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->dilation_h, g->out_h) ==
               (tconv_u128)g->out_h &&
           tconv_axis_pairs(s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->dilation_w, g->out_w) ==
               (tconv_u128)g->out_w;
}

/* The AVX-512 pairs kernel (fused_pairs_tiles) stores a fused tile straight from its registers:
 * for a 2-wide, stride-2 kernel without padding or dilation (U-Net's and Mask R-CNN's k2 s2),
 * the tile's rows are (kx 0, kx 1) pairs that interleave into one output run. Only when K is
 * one KC block (the tile is complete after one call) and the tile is the 12x32 kernel's. */
static int use_pairs_kernel(const tconv_plan *plan, const gemm_state *st) {
#if TCONV_HAVE_AVX512
    const tconv_shape *s = &plan->g.s;
    return plan->k.isa == TCONV_ISA_avx512 && plan->k.gemm.mr == 12 && plan->k.gemm.nr == 32 &&
           st->fused && !st->y_is_col && st->k <= st->kc && s->kernel_w == 2 && s->stride_w == 2 &&
           s->dilation_w == 1 && s->pad_h == 0 && s->pad_w == 0;
#else
    (void)plan, (void)st;
    return 0;
#endif
}

static tconv_status gemm_prepare(tconv_plan *plan, const float *w, const float *bias,
                                 int own_gemm) {
    const tconv_geometry *g = &plan->g;
    gemm_state *st;
    size_t col_elems, a_elems;
    tconv_status rc = tconv_plan_alloc(plan, "gemm state", 1, sizeof *st, (void **)&st);
    if (rc != TCONV_OK) return rc;
    st->k = g->cin_g;
    if (own_gemm) gemm_blocking(st->k, plan->k.gemm.mr, plan->k.gemm.nr, st);
    const char *col_what = "column buffer (out_channels/groups*kernel_h*kernel_w*in_h*in_w)";
    if ((rc = tconv_size_mul(g, "GEMM rows (out_channels/groups*kernel_h*kernel_w)", &st->m,
                             g->cout_g, g->taps)) ||
        (rc = tconv_size_mul(g, col_what, &col_elems, st->m, g->in_plane)))
        return rc;
    /* Fused only when every output gets a tap (k == s without padding: U-Net, Mask R-CNN, and
     * 1x1 stride 1). With outputs no tap reaches (k < s, padding, output padding) the fused run
     * needed a bias fill of y before the GEMM and then wrote y in short scalar strided runs,
     * where the unfused GEMM + col2im fills and adds each plane in the ISA's vectors: measured
     * (bench medians, avx512, t1, both paths in one build, interleaved) i16 k1 s2 c32 13.7 ->
     * 10.4 us, k1 s3 c32 17.4 -> 14.5, k2 s3 c32 50-55 -> 37-49, k3 s4 c32 111-160 -> 96,
     * k1 s2 c1 0.42-0.50 -> 0.31; k1 s8 c32 80-93 vs 79-97, Mask R-CNN's layer with padding 1
     * and U-Net 128->64's with output padding 1 level within noise. */
    st->fused = own_gemm && taps_never_overlap(&g->s) && every_output_has_a_tap(g);
    st->y_is_col = st->fused && col_is_y_layout(g);
    st->pairs_in_registers = own_gemm && use_pairs_kernel(plan, st);
    if (own_gemm && !st->fused) st->band_in_rows = band_input_rows(g, st, plan->k.gemm.nr);
    /* Fused with K in one KC block: each tile is complete after one micro-kernel call, so it
     * lives in the slot's MR x NR scratch and col is not needed at all; y_is_col: every KC pass
     * writes y itself. */
    if (!st->fused || (st->k > st->kc && !st->y_is_col)) {
        rc = tconv_plan_alloc(plan, col_what, col_elems, sizeof(float), (void **)&st->col);
        if (rc != TCONV_OK) return rc;
    }
    /* After col: a refused column buffer must not first cost col2im's per-tap tables (a hostile
     * kernel_w of 715827883 filled 11 GiB of them, 20 s, before the refusal). */
    if ((rc = tconv_col2im_prepare(plan, &st->c2i))) return rc;
    if (bias) {
        rc = tconv_plan_alloc(plan, "bias", g->groups * g->cout_g, sizeof(float),
                              (void **)&st->bias);
        if (rc != TCONV_OK) return rc;
        for (size_t i = 0; i < g->groups * g->cout_g; i++) st->bias[i] = bias[i];
    }
    size_t threads = plan->par.threads, pieces = threads > 1 ? 4 * threads : 1;
    choose_col2im_tiles(g, pieces, st);
    if (own_gemm) {
        size_t mr = plan->k.gemm.mr, nr = plan->k.gemm.nr;
        st->m_padded = tconv_round_up(st->m, mr);
        choose_gemm_tiles(st->m, g->in_plane, mr, nr, pieces, &st->m_tile, &st->n_tile);
        size_t panel_cols = st->n_tile < st->nc ? st->n_tile : st->nc;
        st->b_panel_elems = st->kc * tconv_round_up(panel_cols, nr) + (st->fused ? mr * nr : 0);
        const char *what = "packed weights (out_channels*kernel_h*kernel_w*in_channels/groups)";
        if ((rc = tconv_size_mul4(g, what, &a_elems, g->groups, st->m_padded, st->k, 1)) ||
            (rc = tconv_plan_alloc(plan, what, a_elems, sizeof(float), (void **)&st->a_packed)) ||
            (rc = tconv_plan_alloc(plan, "packed input panel", threads * st->b_panel_elems,
                                   sizeof(float), (void **)&st->b_packed)))
            return rc;
        pack_a(plan, st, w);
    } else {
        /* OpenBLAS tiles depend on the shape only: whether a sub-GEMM's elements are the same
         * sums whatever its bounds is OpenBLAS's business, so every thread count uses them. */
        choose_gemm_tiles(st->m, g->in_plane, 16, 64, BLAS_TILES, &st->m_tile, &st->n_tile);
        /* OpenBLAS reads the weights as they are: keep a private copy. */
        if ((rc = tconv_plan_alloc(plan, "weights", g->w_elems, sizeof(float),
                                   (void **)&st->a_packed)))
            return rc;
        for (size_t i = 0; i < g->w_elems; i++) st->a_packed[i] = w[i];
    }
    plan->state = st;
    return TCONV_OK;
}

static tconv_status gemm_create(tconv_plan *plan, const float *w, const float *bias) {
    return gemm_prepare(plan, w, bias, 1);
}

/* Rows of B packed per step: a few rows of X at a time keep both sides streaming (8 source rows,
 * 8 x NR contiguous floats of each destination panel) instead of walking one panel down all kc
 * rows, which reads lines 4*n bytes apart (16 KiB for a 64x64 input: one L1 set). */
#define PACK_ROWS 8

/* rows x `width` floats from a row-major source (leading dimension n) into a [rows][width]
 * panel slice. `width` is a compile-time constant at every hot call, so each row's memcpy is
 * inlined as a few vector moves (a memcpy call cost 9% of the U-Net layer's time). A plain
 * element loop is not enough: gcc turned the 32-float rows (AVX-512's NR) back into memmove
 * calls, 5% of U-Net 128->64's time under perf; a constant-size memcpy is always inlined
 * (U-Net 128->64: 127-129 -> 130 GFLOP/s, driver, three interleaved runs). */
static inline void copy_rows(float *restrict dst, const float *restrict src, size_t rows, size_t n,
                             size_t width) {
    for (size_t kk = 0; kk < rows; kk++, dst += width, src += n)
        memcpy(dst, src, width * sizeof(float));
}

/* Full NR-wide panels of columns [0, full) for rows kk..kk+rows of the kc-row block. */
static void pack_full_panels(const float *src, size_t n, size_t kk, size_t rows, size_t kc,
                             size_t full, size_t nr, float *dst) {
    for (size_t jr = 0; jr < full; jr += nr) {
        float *d = dst + jr * kc + kk * nr; /* panel jr/nr starts at (jr/nr)*kc*nr */
        switch (nr) {
        case 8: copy_rows(d, src + jr, rows, n, 8); break;
        case 16: copy_rows(d, src + jr, rows, n, 16); break;
        case 32: copy_rows(d, src + jr, rows, n, 32); break;
        default: copy_rows(d, src + jr, rows, n, nr); break;
        }
    }
}

/* B panel: rows pc..pc+kc, columns jc..jc+nc of X (row-major, leading dimension n), as NR-wide
 * column panels [kc][NR], zero-padded past the last column (only the last panel). */
static void pack_b(const float *x, size_t n, size_t pc, size_t kc, size_t jc, size_t nc, size_t nr,
                   float *dst) {
    size_t full = nc / nr * nr, cols = nc - full;
    const float *src = x + pc * n + jc;
    for (size_t kk = 0; kk < kc; kk += PACK_ROWS) {
        size_t rows = kc - kk < PACK_ROWS ? kc - kk : PACK_ROWS;
        pack_full_panels(src + kk * n, n, kk, rows, kc, full, nr, dst);
    }
    if (cols == 0) return;
    float *last = dst + full * kc;
    for (size_t kk = 0; kk < kc; kk++) {
        size_t j = 0;
        for (; j < cols; j++) last[kk * nr + j] = src[kk * n + full + j];
        for (; j < nr; j++) last[kk * nr + j] = 0.0f;
    }
}

/* What one (batch, group) slice's parallel steps read and write. */
typedef struct gemm_work {
    const tconv_plan *plan;
    const float *a_group, *x_group, *bias_group;
    float *y_group;
    size_t n_base, row_base; /* banded runs: the band's first col column and output row */
} gemm_work;

/* y[2j] = a[j] + bias, y[2j + 1] = b[j] + bias: the two kernel columns of a 2-wide, stride-2
 * kernel fill one output row segment together (the compiler interleaves them in vectors). */
static void store_pairs(float *restrict y, const float *restrict a, const float *restrict b,
                        size_t n, float bias) {
    for (size_t j = 0; j < n; j++) {
        y[2 * j] = a[j] + bias;
        y[2 * j + 1] = b[j] + bias;
    }
}

static void store_strided(float *restrict y, const float *restrict a, size_t n, size_t stride,
                          float bias) {
    if (stride == 1)
        for (size_t j = 0; j < n; j++) y[j] = a[j] + bias;
    else
        for (size_t j = 0; j < n; j++) y[j * stride] = a[j] + bias;
}

/* scatter_tile without padding: fused shapes then map every (input, tap) pair to an output
 * (o = i*s + t*d <= (in - 1)*s + (k - 1)*d < out), so no run is clipped and each row's runs
 * are consecutive input rows of one output row pointer. The same stores as the clipped walk.
 * Measured (bench medians of 5, avx512, t1, interleaved with bf7d242, which lacks this and the
 * y_is_col path): Mask R-CNN 833 -> 760 us, U-Net 128->64 2.29 -> 2.18 ms, i16 k2 s2 c1 0.62 ->
 * 0.46 us, k4 s4 c32 186 -> 153 us, k2 s2 c32 26.7 -> 25.7 (medians of 9, noisy). */
static inline __attribute__((always_inline)) void
scatter_unclipped(const gemm_work *work, const float *c, size_t ldc, size_t rows, size_t cols,
                  int pairs, size_t iy0, size_t ix00, size_t co, size_t ky, size_t kx) {
    const tconv_geometry *g = &work->plan->g;
    const tconv_shape *s = &g->s;
    size_t kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w, in_w = g->in_w;
    size_t row_step = (size_t)s->stride_h * g->out_ws;
    for (size_t i = 0; i < rows; i++, c += ldc) {
        int pair = pairs && kx == 0 && i + 1 < rows; /* as in scatter_tile */
        float bias = work->bias_group ? work->bias_group[co] : 0.0f;
        float *row = work->y_group + co * g->out_plane +
                     (iy0 * (size_t)s->stride_h + ky * (size_t)s->dilation_h) * g->out_ws +
                     kx * (size_t)s->dilation_w;
        size_t ix0 = ix00;
        /* The row pointer steps only to a run that follows: past the last run it would leave the
         * output (by stride_h output rows, which a hostile stride takes past the address space;
         * the fuzzer's UBSan found that). */
        for (size_t done = 0;;) {
            size_t len = in_w - ix0 < cols - done ? in_w - ix0 : cols - done;
            if (pair)
                store_pairs(row + ix0 * sw, c + done, c + done + ldc, len, bias);
            else
                store_strided(row + ix0 * sw, c + done, len, sw, bias);
            done += len;
            if (done >= cols) break;
            row += row_step, ix0 = 0;
        }
        if (pair) i++, c += ldc, kx++;
        if (++kx == kw) {
            kx = 0;
            if (++ky == (size_t)s->kernel_h) ky = 0, co++;
        }
    }
}

/* Fused col2im for shapes whose taps never overlap: rows [m0, m0 + rows) x columns [n0, n0 +
 * cols) of col, held in c (leading dimension ldc) while still in L1, go to their outputs as
 * bias + value, the bits col2im would produce (bias fill, then one add). Rows are (co, ky, kx) in
 * that order; each row's columns are walked in runs inside one input row. Rows outermost, with
 * (co, ky, kx) and the runs stepped rather than divided out: the old runs-outer walk paid three
 * divisions per (run, row) pair, which perf put at most of the scatter's cost (19% of Mask
 * R-CNN's time, 18% of U-Net 128->64's). Each output is still written once, with the same
 * value. Measured (driver, best of 1 s, t1, three interleaved runs): Mask R-CNN 124 -> 131-133
 * GFLOP/s; U-Net 128->64 (64-wide rows: one run per row already) unchanged.
 * Inlined by force: with sliver_gemm as a second caller gcc kept it (and fused_micro_tile) out
 * of line, a call per micro-tile: gate_llc_8 +2.6% instructions (callgrind avx2, sse41), level
 * again when inlined (-1%); its time, Mask R-CNN's and U-Net 128->64's within noise either way. */
static inline __attribute__((always_inline)) void scatter_tile(const gemm_work *work,
                                                               const float *c, size_t ldc,
                                                               size_t m0, size_t rows, size_t n0,
                                                               size_t cols) {
    const tconv_plan *plan = work->plan;
    const gemm_state *st = plan->state;
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    const size_t *ix_begin = st->c2i.ix_begin, *ix_end = st->c2i.ix_end;
    size_t kw = (size_t)s->kernel_w, sw = (size_t)s->stride_w, in_w = g->in_w;
    int pairs = sw == 2 && kw == 2 && s->dilation_w == 1 && ix_begin[0] == ix_begin[1] &&
                ix_end[0] == ix_end[1];
    size_t iy0 = n0 / in_w, ix00 = n0 % in_w;
    size_t co = m0 / g->taps, t = m0 % g->taps, ky = t / kw, kx = t % kw;
    if (s->pad_h == 0 && s->pad_w == 0) {
        scatter_unclipped(work, c, ldc, rows, cols, pairs, iy0, ix00, co, ky, kx);
        return;
    }
    for (size_t i = 0; i < rows; i++, c += ldc) {
        /* pairs: rows i (kx 0) and i + 1 (kx 1) of one (co, ky) go out together. */
        int pair = pairs && kx == 0 && i + 1 < rows;
        float bias = work->bias_group ? work->bias_group[co] : 0.0f;
        float *y_ch = work->y_group + co * g->out_plane;
        int64_t oy = (int64_t)iy0 * s->stride_h - s->pad_h + (int64_t)ky * s->dilation_h;
        int64_t ox_off = (int64_t)kx * s->dilation_w - s->pad_w;
        size_t ix0 = ix00;
        for (size_t done = 0; done < cols; oy += s->stride_h, ix0 = 0) {
            size_t len = in_w - ix0 < cols - done ? in_w - ix0 : cols - done;
            size_t lo = ix0 > ix_begin[kx] ? ix0 : ix_begin[kx];
            size_t hi = ix0 + len < ix_end[kx] ? ix0 + len : ix_end[kx];
            if (oy >= 0 && oy < g->out_h && lo < hi) {
                const float *src = c + done + (lo - ix0);
                int64_t ox = (int64_t)lo * s->stride_w + ox_off;
                float *dst = y_ch + (size_t)oy * g->out_ws + (size_t)ox;
                if (pair)
                    store_pairs(dst, src, src + ldc, hi - lo, bias);
                else
                    store_strided(dst, src, hi - lo, sw, bias);
            }
            done += len;
        }
        if (pair) i++, c += ldc, kx++; /* the second row of the pair is done */
        if (++kx == kw) {
            kx = 0;
            if (++ky == (size_t)s->kernel_h) ky = 0, co++;
        }
    }
}

/* y_is_col: rows [m0, m0 + rows) x columns [n0, n0 + cols) of y (leading dimension n), which
 * hold the finished sums, get their channel's bias: the same one add as the scatter's a + bias
 * (a bias of 0 without one, as there), so the same bits. */
static void add_bias_rows(float *y, size_t n, size_t m0, size_t rows, size_t cols,
                          const float *bias_group) {
    for (size_t i = 0; i < rows; i++, y += n) {
        float bias = bias_group ? bias_group[m0 + i] : 0.0f;
        for (size_t j = 0; j < cols; j++) y[j] += bias;
    }
}

/* One MR x NR micro-tile of the last KC block, fused: the micro-kernel writes the slot's tile
 * (K in one block) or finishes the partial sums in col, and the tile goes to y at once. When y
 * is laid out as col (y_is_col: col is y, every KC pass wrote there), the micro-kernel writes
 * y and only the bias is left: no tile round trip, no scatter. The scatter's per-run work (two
 * 16-float runs per row of a 16-wide input, in 16-byte moves) cost more than the micro-kernel
 * on a 32 -> 32 channel 1x1 layer on 16x16 (perf: 55% vs 45% of the call). Measured (bench
 * medians of 5, avx512, t1, interleaved with bf7d242): i16 k1 s1 c32 8.8 -> 5.4 us (4.8 with the
 * AVX-512 8-row tiles), c1 0.36 -> 0.16 us. */
static inline __attribute__((always_inline)) void
fused_micro_tile(const gemm_work *work, const gemm_state *st, float *col, size_t rows, size_t cols,
                 size_t kc, const float *a, const float *b, size_t ldb, size_t pc, size_t ir,
                 size_t j, float *tile) {
    const tconv_gemm_variant *uk = &work->plan->k.gemm;
    size_t n = work->plan->g.in_plane;
    if (st->y_is_col) {
        uk->fn(rows, cols, kc, a, b, ldb, col + ir * n + j, n, pc > 0);
        add_bias_rows(col + ir * n + j, n, ir, rows, cols, work->bias_group);
        return;
    }
    float *c = pc == 0 ? tile : col + ir * n + j;
    size_t ldc = pc == 0 ? uk->nr : n;
    uk->fn(rows, cols, kc, a, b, ldb, c, ldc, pc > 0);
    scatter_tile(work, c, ldc, ir, rows, j, cols);
}

/* The full 12-row fused tiles of rows [m0, m1) (columns [j, j + cols) inside one input row)
 * through the AVX-512 pairs kernel; returns the first row left (the edge tile, for the plain
 * path). Row pair p of a tile (kx 0 and 1 of one (co, ky)) is one output run of 2 cols floats.
 * Rows come in (co, ky, kx) order and m0 is even, so every tile starts on kx 0; (co, ky) are
 * stepped, not divided out per tile.
 * Measured on the shared, loaded Xeon against 3a281ac, interleaved: U-Net 128->64 at t1 (own
 * driver, thread CPU time, best and median of 100 runs, 5 rounds) 1.90 -> 1.74 ms best, 2.03
 * -> 1.86 median (141 -> 154 GFLOP/s best), the same checksum; at t2 (bench medians, wall,
 * 3 rounds) 0.99 -> 0.87 ms. perf: the driver's scatter (fused_sliver) 12% -> 1% of the
 * samples; the pairs kernel's stores do not show. Mask R-CNN (14-wide rows: slivers cross
 * input rows, so it keeps the scatter) level: 0.711 -> 0.711 ms median. */
static __attribute__((noinline)) size_t fused_pairs_tiles(const gemm_work *work, size_t m0,
                                                          size_t m1, size_t j, size_t cols,
                                                          size_t kc, const float *a_block,
                                                          const float *b, size_t ldb) {
#if TCONV_HAVE_AVX512
    const tconv_geometry *g = &work->plan->g;
    const tconv_shape *s = &g->s;
    size_t kh = (size_t)s->kernel_h, iy = j / g->in_w, ix = j % g->in_w;
    size_t co = m0 / g->taps, ky = m0 % g->taps / 2, ir = m0;
    float *run = work->y_group + iy * (size_t)s->stride_h * g->out_ws + 2 * ix;
    size_t ky_step = (size_t)s->dilation_h * g->out_ws;
    for (; m1 - ir >= 12; ir += 12) {
        float *y[6], bias[6];
        for (size_t p = 0; p < 6; p++) {
            y[p] = run + co * g->out_plane + ky * ky_step;
            bias[p] = work->bias_group ? work->bias_group[co] : 0.0f;
            if (++ky == kh) ky = 0, co++;
        }
        tconv_f32_gemm_pairs_ukernel_12x32__avx512(cols, kc, a_block + ir * kc, b, ldb, y, bias);
    }
    return ir;
#else
    (void)work, (void)m1, (void)j, (void)cols, (void)kc, (void)a_block, (void)b, (void)ldb;
    return m0;
#endif
}

/* The MR tiles [m0, m1) of one NR-column sliver of the last KC block, fused. Out of line, one
 * call per sliver: inlined into sliver_gemm and blocked_gemm, the scatter's registers made
 * their plain (unfused) loops spill, +1.2-1.6% instructions on gate_depthwise and
 * gate_upsample_1ch (callgrind, scalar/sse41/avx2) once the y_is_col and unclipped paths came
 * in. The micro-tiles inside still inline fused_micro_tile (see scatter_tile). */
static __attribute__((noinline)) void fused_sliver(const gemm_work *work, const gemm_state *st,
                                                   float *col, size_t m0, size_t m1, size_t cols,
                                                   size_t kc, const float *a_block, const float *b,
                                                   size_t ldb, size_t pc, size_t j, float *tile) {
    size_t mr = work->plan->k.gemm.mr, in_w = work->plan->g.in_w;
    /* The pairs kernel takes one output run per row pair: the sliver inside one input row. Not
     * for at most 16 columns, where the 12x16 kernel runs half the FMAs (Mask R-CNN's last
     * sliver of 4: that sliver at full width cost the layer 0.74 -> 0.79 ms). */
    if (st->pairs_in_registers && cols > 16 && j % in_w + cols <= in_w)
        m0 = fused_pairs_tiles(work, m0, m1, j, cols, kc, a_block, b, ldb);
    for (size_t ir = m0; ir < m1; ir += mr) {
        size_t rows = m1 - ir < mr ? m1 - ir : mr;
        fused_micro_tile(work, st, col, rows, cols, kc, a_block + ir * kc, b, ldb, pc, ir, j, tile);
    }
}

/* sliver_gemm's limit in MR tiles per sliver: up to it the in-place B beat packing (4 and 7
 * tiles above); CycleGAN 128->64 (M 576: 48 tiles re-reading 128 rows 64 KiB apart, one page
 * each) lost 24-27 -> 29-30 ms with it, U-Net 128->64 (22 tiles) was level, so larger M keeps
 * the packed panels of the blocked loop. */
#define SLIVER_MAX_TILES 8

/* blocked_gemm for at most SLIVER_MAX_TILES MR tiles (FSRCNN: M 81, DCGAN's last layer: M 48):
 * one A block (ic loop of one pass), so the MR tiles of one NR-column sliver run back to back, and
 * the micro-kernel reads a full sliver of B where it lies in x (ldb = N) instead of from a packed
 * panel. Packing cost what it saved here: the panel copy (16-byte moves in this baseline-ISA
 * file) was 12-14% of FSRCNN x3's and DCGAN 64->3's time under perf, while the few MR tiles per
 * sliver (4 and 7) re-read its rows from L2 cheaply. Measured (own driver, best of 7 x 2000
 * runs, thread CPU time, avx512, t1, base 8bb4d12 interleaved): DCGAN 64->3 61.2-61.5 -> 50.7-
 * 51.3 us; FSRCNN x3 484-493 -> 462-467 us (packing each sliver into L1 instead: 468, 61).
 * Only the last, narrower sliver is packed (zero-padded): reading NR floats of its rows could
 * pass the end of x. Same products summed in the same order: the same bits. */
static void sliver_gemm(const gemm_work *work, const gemm_state *st, float *col, size_t m0,
                        size_t m1, size_t n0, size_t n1, float *sliver, float *tile) {
    const tconv_plan *plan = work->plan;
    const tconv_gemm_variant *uk = &plan->k.gemm;
    size_t mr = uk->mr, nr = uk->nr, n = plan->g.in_plane;
    for (size_t pc = 0; pc < st->k; pc += st->kc) {
        size_t kc = st->k - pc < st->kc ? st->k - pc : st->kc;
        const float *a_block = work->a_group + pc * st->m_padded;
        int fuse = st->fused && pc + kc == st->k;
        for (size_t j = n0; j < n1; j += nr) {
            size_t cols = n1 - j < nr ? n1 - j : nr, ldb = n;
            const float *b = work->x_group + pc * n + j;
            if (cols < nr) {
                pack_b(work->x_group, n, pc, kc, j, cols, nr, sliver);
                b = sliver, ldb = nr;
            }
            if (fuse) {
                fused_sliver(work, st, col, m0, m1, cols, kc, a_block, b, ldb, pc, j, tile);
                continue;
            }
            for (size_t ir = m0; ir < m1; ir += mr) {
                size_t rows = m1 - ir < mr ? m1 - ir : mr;
                uk->fn(rows, cols, kc, a_block + ir * kc, b, ldb, col + ir * n + j, n, pc > 0);
            }
        }
    }
}

/* col[m0:m1, n0:n1] = A_packed[M x K] * X[K x N] over that tile, blocked GOTO-style: jc (NC) > pc
 * (KC) > ic (MC) > jr (NR) > ir (MR), with m0 a multiple of MR and n0 of NR. The ic loop keeps an
 * MC x KC block of A in L2 while all NR panels of B pass over it; without it, layers with large M
 * and small N (DCGAN: M 4096, N 64) re-read the whole KC slice of A (4 MiB) for every NR panel.
 * On this Zen 3 (32 MiB L3) that re-read cost little: DCGAN measured the same within noise for MC
 * 48 to 4096 (no blocking); the loop is kept for smaller L3s. A is packed at plan time, so an A
 * block is just a range of MR panels.
 *
 * Kept out of line: once banded_gemm_col2im also called gemm_tile, gcc inlined this into it and
 * the fused scatter got slower (gate_llc_8, 8 -> 8 channels k2 s2 on 96x96: 0.207-0.211 ->
 * 0.221-0.226 ms at avx2, 0.126-0.131 -> 0.141-0.146 ms at avx512, +4% instructions); noinline
 * measured 0.200-0.212 and 0.129-0.134. */
static __attribute__((noinline)) void blocked_gemm(const gemm_work *work, const gemm_state *st,
                                                   float *col, size_t m0, size_t m1, size_t n0,
                                                   size_t n1, float *b_packed) {
    const tconv_plan *plan = work->plan;
    const float *a_group = work->a_group, *x = work->x_group;
    const tconv_gemm_variant *uk = &plan->k.gemm;
    float *tile = b_packed + st->b_panel_elems - (st->fused ? uk->mr * uk->nr : 0);
    size_t mr = uk->mr, nr = uk->nr, n = plan->g.in_plane;
    /* A blocks must start on an MR panel boundary of the packed A. */
    size_t mc = st->mc;
    if (m1 - m0 <= SLIVER_MAX_TILES * mr) {
        sliver_gemm(work, st, col, m0, m1, n0, n1, b_packed, tile);
        return;
    }
    for (size_t jc = n0; jc < n1; jc += st->nc) {
        size_t nc = n1 - jc < st->nc ? n1 - jc : st->nc;
        for (size_t pc = 0; pc < st->k; pc += st->kc) {
            size_t kc = st->k - pc < st->kc ? st->k - pc : st->kc;
            pack_b(x, n, pc, kc, jc, nc, nr, b_packed);
            const float *a_block = a_group + pc * st->m_padded;
            int fuse = st->fused && pc + kc == st->k;
            for (size_t ic = m0; ic < m1; ic += mc) {
                size_t m_end = m1 - ic < mc ? m1 : ic + mc;
                for (size_t jr = 0; jr < nc; jr += nr) {
                    size_t cols = nc - jr < nr ? nc - jr : nr;
                    const float *b_panel = b_packed + (jr / nr) * kc * nr;
                    if (fuse) {
                        fused_sliver(work, st, col, ic, m_end, cols, kc, a_block, b_panel, nr, pc,
                                     jc + jr, tile);
                        continue;
                    }
                    for (size_t ir = ic; ir < m_end; ir += mr) {
                        size_t rows = m_end - ir < mr ? m_end - ir : mr;
                        uk->fn(rows, cols, kc, a_block + ir * kc, b_panel, nr,
                               col + ir * n + jc + jr, n, pc > 0);
                    }
                }
            }
        }
    }
}

/* GEMM rows [m0, m0 + nm) x columns [n0, n0 + nn) of col, on this thread slot's B panel. */
static void gemm_tile(void *context, size_t m0, size_t n0, size_t nm, size_t nn) {
    const gemm_work *work = context;
    const gemm_state *st = work->plan->state;
    size_t slot = tconv_parallel_claim(&work->plan->par);
    n0 += work->n_base;
    blocked_gemm(work, st, st->y_is_col ? work->y_group : st->col, m0, m0 + nm, n0, n0 + nn,
                 st->b_packed + slot * st->b_panel_elems);
    tconv_parallel_release(&work->plan->par, slot);
}

/* Output channels [c0, c0 + nc) x output rows [r0, r0 + nr) of col2im. */
static void col2im_tile(void *context, size_t c0, size_t r0, size_t nc, size_t nr) {
    const gemm_work *work = context;
    const gemm_state *st = work->plan->state;
    r0 += work->row_base;
    tconv_col2im_tile(work->plan, &st->c2i, st->col, work->bias_group, work->y_group, c0, c0 + nc,
                      r0, r0 + nr);
}

/* col2im of one slice, split by output channel (and row): each output is its bias plus the taps
 * in the same (ky, kx) order whatever the split. */
static void parallel_col2im(const tconv_plan *plan, const gemm_state *st, gemm_work *work) {
    const tconv_geometry *g = &plan->g;
    tconv_parallel_2d(&plan->par, col2im_tile, work, g->cout_g, g->out_hs, st->c2i_channels,
                      st->c2i_rows);
}

/* GEMM and col2im in bands of output rows, for overlapping taps with a col bigger than the L2:
 * each band first computes the col columns of the input rows it reads that are not computed
 * yet, then scatters its output rows, so col2im reads col back from L2 instead of DRAM. Every
 * col element and every output is the same sum as in the unbanded run (col2im's bias-then-taps
 * order holds for any row split). Measured on the shared Xeon (driver, best of 1 s, t1, three
 * interleaved runs): CycleGAN 128->64 k3 s2 on 128x128 (col 36 MiB, 3-row bands) 92-93 -> 98-107
 * GFLOP/s, same checksum; DCGAN b4 (no bands: a band would be under 8 NR panels) unchanged. */
static void banded_gemm_col2im(const tconv_plan *plan, const gemm_state *st, gemm_work *work) {
    const tconv_geometry *g = &plan->g;
    const tconv_shape *s = &g->s;
    size_t n = g->in_plane, nr = plan->k.gemm.nr, n_done = 0;
    size_t band_out_rows = st->band_in_rows * (size_t)s->stride_h;
    for (size_t r0 = 0; r0 < g->out_hs; r0 += band_out_rows) {
        size_t r1 = g->out_hs - r0 < band_out_rows ? g->out_hs : r0 + band_out_rows;
        /* The last input row output row r1 - 1 reads is its ky = 0 tap's. */
        size_t need = (r1 - 1 + (size_t)s->pad_h) / (size_t)s->stride_h + 1;
        if (need > g->in_h) need = g->in_h;
        size_t n_need = tconv_round_up(need * g->in_w, nr);
        if (n_need > n) n_need = n;
        if (n_need > n_done) {
            work->n_base = n_done;
            tconv_parallel_2d(&plan->par, gemm_tile, work, st->m, n_need - n_done, st->m_tile,
                              st->n_tile);
            n_done = n_need;
        }
        work->row_base = r0;
        tconv_parallel_2d(&plan->par, col2im_tile, work, g->cout_g, r1 - r0, st->c2i_channels,
                          st->c2i_rows < r1 - r0 ? st->c2i_rows : r1 - r0);
    }
    work->n_base = work->row_base = 0;
}

static void gemm_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    const gemm_state *st = plan->state;
    for (size_t n = 0; n < g->batch; n++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            size_t slot = n * g->groups + grp;
            gemm_work work = {plan,
                              st->a_packed + grp * st->m_padded * st->k,
                              x + slot * g->cin_g * g->in_plane,
                              st->bias ? st->bias + grp * g->cout_g : NULL,
                              y + slot * g->cout_g * g->out_plane,
                              0,
                              0};
            if (st->band_in_rows) {
                banded_gemm_col2im(plan, st, &work);
                continue;
            }
            tconv_parallel_2d(&plan->par, gemm_tile, &work, st->m, g->in_plane, st->m_tile,
                              st->n_tile);
            if (!st->fused) parallel_col2im(plan, st, &work);
        }
}

const tconv_algo_ops tconv_gemm_ops = {gemm_create, gemm_run};

/* ---- gemm_blas: the same algorithm with OpenBLAS computing col ---- */
#ifdef TCONV_HAVE_OPENBLAS
#include <cblas.h>
#include <limits.h>

static tconv_status gemm_blas_create(tconv_plan *plan, const float *w, const float *bias) {
    /* OpenBLAS on one thread: the plan's own threads run its tiles (gemm_blas_tiles), so its
     * pool does not fight ours. This sets OpenBLAS's process-wide thread count. */
    const tconv_geometry *g = &plan->g;
    if (g->cin_g > INT_MAX || g->in_plane > INT_MAX || g->cout_g * g->taps > INT_MAX)
        return tconv_fail(
            TCONV_ERR_UNSUPPORTED,
            "algo gemm_blas: GEMM size (M %zu, N %zu, K %zu) exceeds the int range of CBLAS",
            g->cout_g * g->taps, g->in_plane, g->cin_g);
    openblas_set_num_threads(1);
    return gemm_prepare(plan, w, bias, 0);
}

/* The shape's fixed tiles with tile indices [ti0, ti0 + nti) x [tj0, tj0 + ntj): col tile =
 * W_g^T rows times X_g columns, W_g stored [K x M] row-major. */
static void gemm_blas_tiles(void *context, size_t ti0, size_t tj0, size_t nti, size_t ntj) {
    const gemm_work *work = context;
    const tconv_geometry *g = &work->plan->g;
    const gemm_state *st = work->plan->state;
    size_t m = st->m, n = g->in_plane;
    for (size_t ti = ti0; ti < ti0 + nti; ti++)
        for (size_t tj = tj0; tj < tj0 + ntj; tj++) {
            size_t m0 = ti * st->m_tile, n0 = tj * st->n_tile;
            size_t mt = m - m0 < st->m_tile ? m - m0 : st->m_tile;
            size_t nt = n - n0 < st->n_tile ? n - n0 : st->n_tile;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)mt, (int)nt, (int)st->k, 1.0f,
                        work->a_group + m0, (int)m, work->x_group + n0, (int)n, 0.0f,
                        st->col + m0 * n + n0, (int)n);
        }
}

static void gemm_blas_run(const tconv_plan *plan, const float *x, float *y) {
    const tconv_geometry *g = &plan->g;
    const gemm_state *st = plan->state;
    size_t m_tiles = tconv_div_up(st->m, st->m_tile),
           n_tiles = tconv_div_up(g->in_plane, st->n_tile);
    for (size_t b = 0; b < g->batch; b++)
        for (size_t grp = 0; grp < g->groups; grp++) {
            size_t slot = b * g->groups + grp;
            gemm_work work = {plan,
                              st->a_packed + grp * g->cin_g * st->m,
                              x + slot * g->cin_g * g->in_plane,
                              st->bias ? st->bias + grp * g->cout_g : NULL,
                              y + slot * g->cout_g * g->out_plane,
                              0,
                              0};
            tconv_parallel_2d(&plan->par, gemm_blas_tiles, &work, m_tiles, n_tiles, 1, 1);
            parallel_col2im(plan, st, &work);
        }
}
#else
static tconv_status gemm_blas_create(tconv_plan *plan, const float *w, const float *bias) {
    (void)plan, (void)w, (void)bias;
    return tconv_fail(TCONV_ERR_UNSUPPORTED, "algo gemm_blas: this build has no OpenBLAS");
}
static void gemm_blas_run(const tconv_plan *plan, const float *x, float *y) {
    (void)plan, (void)x, (void)y;
}
#endif

const tconv_algo_ops tconv_gemm_blas_ops = {gemm_blas_create, gemm_blas_run};
