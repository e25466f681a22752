/* col2im micro-kernel, portable C: scatter-add one column row into an output row. */
#include "../dispatch/ukernels.h"

void tconv_f32_col2im_ukernel__scalar(size_t n, const float *col, float *y, size_t y_stride) {
    for (size_t j = 0; j < n; j++) y[j * y_stride] += col[j];
}
