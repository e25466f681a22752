/* The sparse micro-kernels' walk over one output channel's nonzeros, shared by every ISA file:
 * each includes it after defining its vector ops (vec, VL, NV, v_zero, v_set1, v_load, v_store,
 * v_fma(w, x, acc) = acc + w*x, v_add). */
#ifndef TCONV_SPARSE_WALK_H
#define TCONV_SPARSE_WALK_H

#include "ukernels.h"

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

static inline void sparse_walk(size_t runs, const tconv_sparse_run *run,
                               const tconv_sparse_tap *tap, const uint32_t *chan, const float *w,
                               const float *x, size_t x_rstride, float *acc, size_t acc_rstride) {
    for (size_t r = 0; r < runs; r++) {
        const tconv_sparse_tap t = tap[run[r].tap];
        for (size_t i = 0; i < t.rows; i++)
            sparse_row(t.cols, run[r].begin, run[r].end, chan, w, x + t.x_off + i * x_rstride,
                       acc + t.y_off + i * acc_rstride, (int)run[r].first);
    }
}

#endif
