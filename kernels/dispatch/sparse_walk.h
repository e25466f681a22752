/* The sparse micro-kernels' walk over one output channel's nonzeros, shared by every ISA file:
 * each includes it after defining its vector ops (vec, VL, NV, v_zero, v_set1, v_load, v_store,
 * v_fma(w, x, acc) = acc + w*x, v_add). */
#ifndef TCONV_SPARSE_WALK_H
#define TCONV_SPARSE_WALK_H

#include "ukernels.h"

/* Vectors per channel in the four-channel (quad) kernel: 4 x QV accumulators must fit the
 * register file next to the x vectors and four broadcasts. */
#ifndef QV
#define QV (NV / 2)
#endif

/* nv vectors of one accumulator row, every nonzero of the run summed in registers before one
 * load-add-store of acc: the row is read and written once per run, not once per nonzero. Two
 * sets of accumulators (even and odd nonzeros) double the independent FMA chains, which short
 * rows need to hide the FMA latency. nv is a constant after inlining, so the arrays live in
 * registers. The order is fixed by the plan, never by the thread count. */
static inline __attribute__((always_inline)) void sparse_block(size_t nv, size_t begin, size_t end,
                                                               const uint32_t *chan, const float *w,
                                                               const float *xt, float *y,
                                                               int first) {
    vec a[NV], b[NV];
#pragma GCC unroll 16
    for (size_t v = 0; v < nv; v++) a[v] = v_zero(), b[v] = v_zero();
    size_t k = begin;
    for (; k + 2 <= end; k += 2) {
        const float *x0 = xt + chan[k], *x1 = xt + chan[k + 1];
        const vec w0 = v_set1(w[k]), w1 = v_set1(w[k + 1]);
#pragma GCC unroll 16
        for (size_t v = 0; v < nv; v++) {
            a[v] = v_fma(w0, v_load(x0 + v * VL), a[v]);
            b[v] = v_fma(w1, v_load(x1 + v * VL), b[v]);
        }
    }
    if (k < end) {
        const float *x0 = xt + chan[k];
        const vec w0 = v_set1(w[k]);
#pragma GCC unroll 16
        for (size_t v = 0; v < nv; v++) a[v] = v_fma(w0, v_load(x0 + v * VL), a[v]);
    }
    /* A first run stores: the driver then skips clearing acc (FCN-8s bilinear: the clear was
     * 1/4 of its time). */
    if (first) {
#pragma GCC unroll 16
        for (size_t v = 0; v < nv; v++) v_store(y + v * VL, v_add(a[v], b[v]));
        return;
    }
#pragma GCC unroll 16
    for (size_t v = 0; v < nv; v++)
        v_store(y + v * VL, v_add(v_load(y + v * VL), v_add(a[v], b[v])));
}

/* Columns past the last whole vector, one by one (only the unpadded layout has them). */
static inline void sparse_tail(size_t n, size_t begin, size_t end, const uint32_t *chan,
                               const float *w, const float *xt, float *y, int first) {
    for (size_t j = 0; j < n; j++) {
        float s = 0.0f;
        for (size_t k = begin; k < end; k++) s = __builtin_fmaf(w[k], xt[chan[k] + j], s);
        y[j] = first ? s : y[j] + s;
    }
}

/* One row of one run: blocks of NV vectors, then the last 1..NV-1 vectors, then the tail. */
static inline void sparse_row(size_t cols, size_t begin, size_t end, const uint32_t *chan,
                              const float *w, const float *xt, float *y, int first) {
    size_t j = 0;
    for (; j + NV * VL <= cols; j += NV * VL)
        sparse_block(NV, begin, end, chan, w, xt + j, y + j, first);
    switch ((cols - j) / VL) {
#define SPARSE_CASE(n)                                                                             \
    case n: sparse_block(n, begin, end, chan, w, xt + j, y + j, first); break;
        SPARSE_CASE(1)
#if NV > 2
        SPARSE_CASE(2)
        SPARSE_CASE(3)
#endif
#if NV > 4
        SPARSE_CASE(4)
        SPARSE_CASE(5)
        SPARSE_CASE(6)
        SPARSE_CASE(7)
#endif
#undef SPARSE_CASE
    default: break;
    }
    j += (cols - j) / VL * VL;
    if (j < cols) sparse_tail(cols - j, begin, end, chan, w, xt + j, y + j, first);
}

/* A quad run over nv vectors of a row: each entry's x vectors are loaded once and feed four
 * FMAs (one per output channel), where single-channel runs need one x load per FMA (plus an
 * index and a broadcast per FMA row). What it bought is measured in sparse.c (use_quads). */
static inline __attribute__((always_inline)) void
sparse_quad_block(size_t nv, size_t begin, size_t end, const uint32_t *chan, const float *w,
                  const float *xt, float *y, size_t ystep, int first) {
    vec a0[QV], a1[QV], a2[QV], a3[QV];
#pragma GCC unroll 16
    for (size_t v = 0; v < nv; v++)
        a0[v] = v_zero(), a1[v] = v_zero(), a2[v] = v_zero(), a3[v] = v_zero();
    for (size_t k = begin; k < end; k += 4) {
        const float *x0 = xt + chan[k];
        const vec w0 = v_set1(w[k]), w1 = v_set1(w[k + 1]), w2 = v_set1(w[k + 2]),
                  w3 = v_set1(w[k + 3]);
#pragma GCC unroll 16
        for (size_t v = 0; v < nv; v++) {
            const vec xv = v_load(x0 + v * VL);
            a0[v] = v_fma(w0, xv, a0[v]), a1[v] = v_fma(w1, xv, a1[v]);
            a2[v] = v_fma(w2, xv, a2[v]), a3[v] = v_fma(w3, xv, a3[v]);
        }
    }
#pragma GCC unroll 16
    for (size_t v = 0; v < nv; v++) {
        float *p0 = y + v * VL, *p1 = p0 + ystep, *p2 = p1 + ystep, *p3 = p2 + ystep;
        if (first) {
            v_store(p0, a0[v]), v_store(p1, a1[v]), v_store(p2, a2[v]), v_store(p3, a3[v]);
        } else {
            v_store(p0, v_add(v_load(p0), a0[v])), v_store(p1, v_add(v_load(p1), a1[v]));
            v_store(p2, v_add(v_load(p2), a2[v])), v_store(p3, v_add(v_load(p3), a3[v]));
        }
    }
}

/* One row of a quad run. Quad runs exist only in the padded layout, whose rows are whole phases
 * of a multiple of 16 floats: whole vectors, no tail. */
static inline void sparse_quad_row(size_t cols, size_t begin, size_t end, const uint32_t *chan,
                                   const float *w, const float *xt, float *y, size_t ystep,
                                   int first) {
    size_t j = 0;
    for (; j + QV * VL <= cols; j += QV * VL)
        sparse_quad_block(QV, begin, end, chan, w, xt + j, y + j, ystep, first);
    switch ((cols - j) / VL) {
#define QUAD_CASE(n)                                                                               \
    case n: sparse_quad_block(n, begin, end, chan, w, xt + j, y + j, ystep, first); break;
        QUAD_CASE(1)
#if QV > 2
        QUAD_CASE(2)
        QUAD_CASE(3)
#endif
#undef QUAD_CASE
    default: break;
    }
}

static inline void sparse_walk(size_t runs, const tconv_sparse_run *run,
                               const tconv_sparse_tap *tap, const uint32_t *chan, const float *w,
                               const float *x, size_t x_rstride, float *acc, size_t acc_rstride) {
    for (size_t r = 0; r < runs; r++) {
        const tconv_sparse_tap t = tap[run[r].tap];
        for (size_t i = 0; i < t.rows; i++) {
            const float *xt = x + t.x_off + i * x_rstride;
            float *y = acc + t.y_off + i * acc_rstride;
            if (run[r].quad_step)
                sparse_quad_row(t.cols, run[r].begin, run[r].end, chan, w, xt, y, run[r].quad_step,
                                (int)run[r].first);
            else
                sparse_row(t.cols, run[r].begin, run[r].end, chan, w, xt, y, (int)run[r].first);
        }
    }
}

#endif
