/* Sparse store-back, AVX2 build: output rows from stride-phase layout, the portable loop (the
 * strided interleave has no cheap vector form below AVX-512's two-source permutes). */
#include "../dispatch/sparse_store.h"

void tconv_f32_sparse_store_ukernel_1x1__avx2(size_t n, size_t stride, const float *acc,
                                              size_t phase_stride, float bias, float *y) {
    sparse_store_portable(n, stride, acc, phase_stride, bias, y);
}
