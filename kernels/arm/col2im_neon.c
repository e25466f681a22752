/* col2im micro-kernel, AArch64 NEON: scatter-add a column row; vector paths for strides 1 to 4. */
#include <arm_neon.h>

#include "../dispatch/ukernels.h"

/* Strides 2-4: vldNq de-interleaves 4 output positions (lane 0 of each group of N) and their
 * neighbours, which are written back unchanged. The block spans y[j*s .. (j+4)*s - 1], inside the
 * written range y[0 .. (n-1)*s] when j + 5 <= n; the rest goes element by element. */
#define COL2IM_STRIDED(N)                                                                          \
    for (; j + 5 <= n; j += 4) {                                                                   \
        float32x4x##N##_t v = vld##N##q_f32(y + j * N);                                            \
        v.val[0] = vaddq_f32(v.val[0], vld1q_f32(col + j));                                        \
        vst##N##q_f32(y + j * N, v);                                                               \
    }

void tconv_f32_col2im_ukernel__neon(size_t n, const float *col, float *y, size_t y_stride) {
    size_t j = 0;
    switch (y_stride) {
    case 1:
        for (; j + 8 <= n; j += 8) {
            vst1q_f32(y + j, vaddq_f32(vld1q_f32(y + j), vld1q_f32(col + j)));
            vst1q_f32(y + j + 4, vaddq_f32(vld1q_f32(y + j + 4), vld1q_f32(col + j + 4)));
        }
        if (j + 4 <= n) {
            vst1q_f32(y + j, vaddq_f32(vld1q_f32(y + j), vld1q_f32(col + j)));
            j += 4;
        }
        break;
    case 2: COL2IM_STRIDED(2) break;
    case 3: COL2IM_STRIDED(3) break;
    case 4: COL2IM_STRIDED(4) break;
    default: break;
    }
    for (; j < n; j++) y[j * y_stride] += col[j];
}
