/* The sparse micro-kernels' walk over one output channel's nonzeros, shared by every ISA file:
 * each includes it after defining row4() and row1(), its vector loops over one accumulator row. */
#ifndef TCONV_SPARSE_WALK_H
#define TCONV_SPARSE_WALK_H

#include "ukernels.h"

/* Four nonzeros of one tap share the accumulator row (one load and store of acc per four FMAs);
 * the rest go one by one. The order is fixed by the plan, never by the thread count. */
static inline void sparse_walk(size_t runs, const tconv_sparse_run *run,
                               const tconv_sparse_tap *tap, const uint32_t *chan, const float *w,
                               const float *x, size_t x_rstride, float *acc, size_t acc_rstride) {
    for (size_t r = 0; r < runs; r++) {
        const tconv_sparse_tap t = tap[run[r].tap];
        const float *xt = x + t.x_off;
        float *y = acc + t.y_off;
        size_t k = run[r].begin, end = run[r].end;
        for (; k + 4 <= end; k += 4) {
            const float *x0 = xt + chan[k], *x1 = xt + chan[k + 1], *x2 = xt + chan[k + 2],
                        *x3 = xt + chan[k + 3];
            for (size_t i = 0; i < t.rows; i++) {
                size_t xo = i * x_rstride;
                row4(t.cols, w + k, x0 + xo, x1 + xo, x2 + xo, x3 + xo, y + i * acc_rstride);
            }
        }
        for (; k < end; k++)
            for (size_t i = 0; i < t.rows; i++)
                row1(t.cols, w[k], xt + chan[k] + i * x_rstride, y + i * acc_rstride);
    }
}

#endif
