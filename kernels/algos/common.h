/* Helpers shared by the algorithm drivers: weight/bias packing and per-axis tap tables. */
#ifndef TCONV_ALGOS_COMMON_H
#define TCONV_ALGOS_COMMON_H

#include "../core/error.h"
#include "../core/plan.h"

/* Weights per (group, block of mr output channels, tap, input channel) as [..][c][mr], zero-padded
 * past the last output channel; `flip` rotates the kernel by 180 degrees (zero_insert). */
tconv_status tconv_pack_tap_weights(tconv_plan *plan, const float *w, size_t mr, int flip,
                                    float **out);
/* Bias per (group, block) as mr values, zero-padded; zeros when bias is NULL. */
tconv_status tconv_pack_bias_blocks(tconv_plan *plan, const float *bias, size_t mr, float **out);
/* Float offset of one (group, block, tap) slice in tconv_pack_tap_weights' layout. */
static inline size_t tconv_tap_weight_offset(const tconv_geometry *g, size_t mr, size_t group,
                                             size_t block, size_t tap) {
    size_t blocks = tconv_div_up(g->cout_g, mr);
    return ((group * blocks + block) * g->taps + tap) * g->cin_g * mr;
}

/* For one axis: the kernel taps that land on output index o, with their input index
 * (o = i*stride - pad + tap*dilation). Stored as a flat list with per-output offsets. */
typedef struct tconv_axis_taps {
    size_t *start; /* [out + 1] offsets into tap/input */
    uint32_t *tap; /* kernel index along the axis */
    size_t *input; /* input index along the axis */
} tconv_axis_taps;

tconv_status tconv_axis_taps_build(tconv_plan *plan, int64_t in, int64_t out, int64_t k,
                                   int64_t stride, int64_t pad, int64_t dilation,
                                   tconv_axis_taps *t);

#endif
