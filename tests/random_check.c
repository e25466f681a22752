/* random_check: N random valid shapes x every algorithm x every usable ISA against the reference. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* A random valid shape: small spatial sizes, strides, dilations, groups and output padding. */
static tconv_shape random_shape(tu_rng *r) {
    tconv_shape s = {0};
    s.groups = tu_range(r, 1, 3);
    s.in_channels = s.groups * tu_range(r, 1, 6);
    s.out_channels = tu_range(r, 0, 4) == 0 ? s.in_channels : s.groups * tu_range(r, 1, 9);
    s.batch = tu_range(r, 1, 2);
    s.in_h = tu_range(r, 1, 12), s.in_w = tu_range(r, 1, 12);
    s.kernel_h = tu_range(r, 1, 7), s.kernel_w = tu_range(r, 1, 7);
    s.stride_h = tu_range(r, 1, 5), s.stride_w = tu_range(r, 1, 5);
    s.dilation_h = tu_range(r, 1, 3), s.dilation_w = tu_range(r, 1, 3);
    s.pad_h = tu_range(r, 0, s.dilation_h * (s.kernel_h - 1));
    s.pad_w = tu_range(r, 0, s.dilation_w * (s.kernel_w - 1));
    int64_t max_oph = s.stride_h > s.dilation_h ? s.stride_h : s.dilation_h;
    int64_t max_opw = s.stride_w > s.dilation_w ? s.stride_w : s.dilation_w;
    s.out_pad_h = tu_range(r, 0, max_oph - 1), s.out_pad_w = tu_range(r, 0, max_opw - 1);
    return s;
}

/* gemm_blas is built only with OpenBLAS; without it the library refuses it, which is no failure. */
static int gemm_blas_available(void) {
    const tconv_shape s = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    const float one = 1.0f;
    float y;
    return tconv_forward(&s, TCONV_ALGO_GEMM_BLAS, &one, &one, NULL, &y) != TCONV_ERR_UNSUPPORTED;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 300;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    tu_rng rng;
    tu_seed(&rng, seed);
    int runs = 0, failures = 0, shapes = 0, with_blas = gemm_blas_available();
    if (!with_blas) printf("random_check: gemm_blas skipped: %s\n", tconv_last_error());
    while (shapes < count) {
        tconv_shape s = random_shape(&rng);
        int64_t oh, ow;
        if (tconv_output_size(&s, &oh, &ow) != TCONV_OK) continue; /* output below 1: redraw */
        shapes++;
        for (int i = 0; i < tconv_isa_count(); i++) {
            const char *isa = tconv_isa_name(i);
            if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa)) continue;
            for (int a = TCONV_ALGO_AUTO; a < TCONV_ALGO_COUNT; a++) {
                if (a == TCONV_ALGO_REFERENCE || (a == TCONV_ALGO_GEMM_BLAS && !with_blas)) continue;
                runs++;
                failures += !tu_run_case(&s, (tconv_algo)a, isa, tu_next(&rng), shapes % 2);
            }
        }
    }
    printf("random_check: %d shapes, %d runs\n", shapes, runs);
    printf("%d passed, %d failed\n", runs - failures, failures);
    return failures != 0;
}
