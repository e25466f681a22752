/* The portable body of the sparse store-back (stride-phase layout to output rows), shared by the
 * ISA files that have no vector version and by the vector ones for strides they do not cover. */
#ifndef TCONV_SPARSE_STORE_H
#define TCONV_SPARSE_STORE_H

#include "ukernels.h"

/* Column phase by column phase, so each phase row is read in order; the output row is written
 * at stride `stride` (it stays in L1 while its phases interleave). */
static inline void sparse_store_portable(size_t n, size_t stride, const float *acc,
                                         size_t phase_stride, float bias, float *y) {
    size_t phases = stride < n ? stride : n;
    for (size_t px = 0; px < phases; px++) {
        const float *row = acc + px * phase_stride;
        size_t cells = (n - px + stride - 1) / stride;
        for (size_t q = 0; q < cells; q++) y[px + q * stride] = bias + row[q];
    }
}

#endif
