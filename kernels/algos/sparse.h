/* Read-only view of a sparse plan's C^T matrix (for tests and tools; not part of the public API).
 */
#ifndef TCONV_SPARSE_H
#define TCONV_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "tconv.h"

typedef struct tconv_sparse_view {
    size_t rows, cols, nnz; /* rows: output pixels; cols: input pixels */
    const uint64_t *row_ptr;
    const uint32_t *col_idx; /* input pixel iy*W + ix */
    const uint32_t *tap_idx; /* kernel tap ky*Kw + kx */
} tconv_sparse_view;

/* Builds C^T of the plan's shape into malloc'ed arrays (the plan itself stores it per tap);
 * release them with tconv_sparse_view_free. */
tconv_status tconv_sparse_matrix(const tconv_plan *plan, tconv_sparse_view *view);
void tconv_sparse_view_free(tconv_sparse_view *view);

#endif
