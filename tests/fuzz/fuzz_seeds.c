/* Seed inputs: small valid shapes per algorithm, ISA and pointer case, non-finite data, and the
 * hostile shapes that found bugs before. */
#include "fuzz_seeds.h"

#include <stdio.h>
#include <string.h>

#include "fuzz_case.h"

#define P40 ((INT64_C(1) << 40) + 1)

/* Fields in tconv_shape order: batch, in_channels, out_channels, in_h, in_w, kernel_h, kernel_w,
 * stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w, dilation_h, dilation_w, groups. */
static const struct named_shape {
    const char *name;
    tconv_shape s;
} shapes[] = {
    {"seed2x2", {1, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1}}, /* the seed's worked example */
    {"dcgan", {1, 4, 3, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}},
    {"groups", {2, 4, 6, 3, 5, 3, 2, 2, 1, 1, 0, 1, 0, 1, 2, 2}},
    {"dilated", {1, 3, 2, 5, 4, 3, 3, 1, 2, 2, 1, 1, 1, 2, 2, 1}},
};
#define SHAPE_COUNT (sizeof shapes / sizeof shapes[0])

static const tconv_shape stride3 = {1, 2, 2, 3, 3, 2, 2, 3, 3, 0, 0, 2, 1, 1, 1, 1};
static const tconv_shape depthwise = {1, 6, 6, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6};
static const tconv_shape gemm_path = {1, 48, 4, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1};
/* Signed overflow in geometry (stride INT64_MAX, pads 2^61, output padding 2^62). */
static const tconv_shape overflow = {
    1, 1, 1, 3, 1, 2, 1, 1, INT64_MAX, 0, INT64_C(1) << 61, 0, INT64_C(1) << 62, 1, 1, 1};
/* A 2^40-tap kernel cropped to a 4x4 output: any loop over the taps hangs. */
static const tconv_shape huge_kernel = {1, 1, 1, 4, 4, 1, P40, 1, 1, 0, INT64_C(1) << 39,
                                        0, 0, 1, 1, 1};
/* stride_w INT64_MAX with a 1-pixel-wide input: direct's column arithmetic overflowed. */
static const tconv_shape stride_max = {2, 2, 2, 1, 1, 5, 3, 1, INT64_MAX, 0, 0, 0, 2, 2, 1, 1};
/* Border columns computed against zero padding: a non-finite weight leaked NaN into outputs the
 * reference leaves finite (direct, via auto). */
static const tconv_shape border_pad = {2, 4, 14, 8, 8, 3, 3, 4, 4, 0, 0, 0, 3, 1, 2, 1};
/* x == y: a batch-2, channel-by-channel shape where outputs overwrite inputs not yet read. */
static const tconv_shape alias_shape = {2, 4, 4, 8, 8, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1};
static const tconv_shape hostile[] = {
    {INT64_MIN, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {1, INT64_C(1) << 32, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {1, 1, 1, INT64_C(1) << 31, INT64_C(1) << 31, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {1, 1, 1, 2, 2, 3, 3, INT64_MAX, 1, INT64_C(1) << 62, 0, 0, 0, 1, 1, 1},
    {1, 1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, INT64_MAX, INT64_MAX, 1},
    {1, 2, 2, 2, 2, 3, 3, 1, 1, -1, 0, 0, 0, 1, 1, 1},
    {1, 4, 6, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4},
};

static int write_seed(const char *dir, const char *name, const fuzz_case *c, int isa_choice) {
    uint8_t buf[FUZZ_MAX_INPUT];
    size_t n = fuzz_encode(c, isa_choice, buf, sizeof buf);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && n <= sizeof buf && fwrite(buf, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "cannot write %s\n", path);
    return ok;
}

static fuzz_case make_case(const tconv_shape *s, int algo) {
    fuzz_case c = {0};
    c.shape = *s, c.algo = algo, c.with_bias = 1, c.data_seed = 1;
    return c;
}

static const char *algo_label(int algo) {
    const char *n = tconv_algo_name((tconv_algo)algo);
    return n ? n : "out-of-range";
}

static int write_algorithm_seeds(const char *dir) {
    int ok = 1;
    char name[128];
    for (int a = 0; a < TCONV_ALGO_COUNT; a++)
        for (unsigned i = 0; i < SHAPE_COUNT; i++) {
            fuzz_case c = make_case(&shapes[i].s, a);
            c.with_bias = (int)(i % 2 == 0);
            snprintf(name, sizeof name, "algo-%s-%s", algo_label(a), shapes[i].name);
            ok &= write_seed(dir, name, &c, 0);
        }
    const int odd[] = {-1, 7, 1000};
    for (int i = 0; i < 3; i++) {
        fuzz_case c = make_case(&shapes[0].s, odd[i]);
        snprintf(name, sizeof name, "algo-%d-seed2x2", odd[i]);
        ok &= write_seed(dir, name, &c, 0);
    }
    fuzz_case c = make_case(&depthwise, TCONV_ALGO_AUTO);
    ok &= write_seed(dir, "algo-auto-depthwise", &c, 0);
    c = make_case(&gemm_path, TCONV_ALGO_AUTO);
    ok &= write_seed(dir, "algo-auto-gemm-path", &c, 0);
    return ok;
}

static int write_isa_seeds(const char *dir) {
    int ok = 1;
    char name[128];
    fuzz_case c = make_case(&shapes[1].s, TCONV_ALGO_DIRECT);
    for (int i = 0; i < tconv_isa_count(); i++) {
        snprintf(name, sizeof name, "isa-%s-direct", tconv_isa_name(i));
        ok &= write_seed(dir, name, &c, fuzz_isa_choice(FUZZ_ISA_TAG, i));
    }
    ok &= write_seed(dir, "isa-options-null-direct", &c, fuzz_isa_choice(FUZZ_ISA_NULL, 0));
    ok &= write_seed(dir, "isa-unknown-empty", &c, fuzz_isa_choice(FUZZ_ISA_UNKNOWN, 0));
    ok &= write_seed(dir, "isa-unknown-AVX2", &c, fuzz_isa_choice(FUZZ_ISA_UNKNOWN, 2));
    return ok;
}

static int write_pointer_seeds(const char *dir) {
    int ok = 1;
    char name[128];
    for (int p = 1; p < FUZZ_PTR_COUNT; p++) {
        fuzz_case c = make_case(&stride3, TCONV_ALGO_DIRECT);
        c.pointers = (fuzz_pointers)p, c.overlap = 3;
        snprintf(name, sizeof name, "pointers-%d-direct", p);
        ok &= write_seed(dir, name, &c, 0);
    }
    fuzz_case c = make_case(&stride3, TCONV_ALGO_GEMM);
    c.pointers = FUZZ_PTR_ALIAS;
    ok &= write_seed(dir, "pointers-alias-gemm", &c, 0);
    for (int a = TCONV_ALGO_DIRECT; a <= TCONV_ALGO_GEMM; a++) {
        fuzz_case alias = make_case(&alias_shape, a);
        alias.pointers = FUZZ_PTR_ALIAS;
        snprintf(name, sizeof name, "pointers-alias-%s-batch2", algo_label(a));
        ok &= write_seed(dir, name, &alias, 0);
    }
    c.with_bias = 0, c.pointers = FUZZ_PTR_NORMAL;
    ok &= write_seed(dir, "pointers-no-bias-gemm", &c, 0);
    return ok;
}

static int write_data_seeds(const char *dir) {
    static const struct {
        const char *name;
        int algo;
        fuzz_special special;
        uint32_t pick; /* count - 1 in the low 2 bits; value (NaN, +Inf, -Inf) from pick / 4 */
    } seeds[] = {
        {"data-nan-w-direct", TCONV_ALGO_DIRECT, FUZZ_DATA_NONFINITE_W, 0},
        {"data-inf-w-direct", TCONV_ALGO_DIRECT, FUZZ_DATA_NONFINITE_W, 4},
        {"data-inf-w-zero-insert", TCONV_ALGO_ZERO_INSERT, FUZZ_DATA_NONFINITE_W, 4},
        {"data-nan-x-gemm", TCONV_ALGO_GEMM, FUZZ_DATA_NONFINITE_X, 1},
        {"data-inf-bias-sparse", TCONV_ALGO_SPARSE, FUZZ_DATA_NONFINITE_BIAS, 4},
        {"data-zero-w-sparse", TCONV_ALGO_SPARSE, FUZZ_DATA_ZERO_W, 0},
        /* pick bit 16: NaN/Inf in x too, meeting zero weights (count 4, values from 16 / 4) */
        {"data-zero-w-nonfinite-x-sparse", TCONV_ALGO_SPARSE, FUZZ_DATA_ZERO_W, 16 + 3},
        {"data-zero-w-nonfinite-x-auto", TCONV_ALGO_AUTO, FUZZ_DATA_ZERO_W, 16 + 3},
    };
    int ok = 1;
    for (unsigned i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        fuzz_case c = make_case(&shapes[1].s, seeds[i].algo);
        c.special = seeds[i].special, c.special_pick = seeds[i].pick;
        ok &= write_seed(dir, seeds[i].name, &c, 0);
    }
    return ok;
}

static int write_hostile_seeds(const char *dir) {
    int ok = 1;
    char name[128];
    const int algos[] = {TCONV_ALGO_DIRECT, TCONV_ALGO_GEMM, TCONV_ALGO_ZERO_INSERT,
                         TCONV_ALGO_SPARSE};
    for (int i = 0; i < 4; i++) {
        fuzz_case c = make_case(&overflow, algos[i]);
        snprintf(name, sizeof name, "hostile-overflow-%s", algo_label(algos[i]));
        ok &= write_seed(dir, name, &c, 0);
    }
    fuzz_case c = make_case(&huge_kernel, TCONV_ALGO_DIRECT);
    ok &= write_seed(dir, "hostile-huge-kernel-direct", &c, 0);
    c = make_case(&stride_max, TCONV_ALGO_DIRECT);
    ok &= write_seed(dir, "hostile-stride-max-direct", &c, 0);
    c = make_case(&border_pad, TCONV_ALGO_DIRECT);
    c.special = FUZZ_DATA_NONFINITE_W, c.special_pick = 0, c.data_seed = 0;
    ok &= write_seed(dir, "data-nan-w-direct-border", &c, 0);
    c.special_pick = 4;
    ok &= write_seed(dir, "data-inf-w-direct-border", &c, 0);
    for (unsigned i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        c = make_case(&hostile[i], (int)(i % TCONV_ALGO_COUNT));
        snprintf(name, sizeof name, "hostile-%u", i);
        ok &= write_seed(dir, name, &c, 0);
    }
    return ok;
}

int fuzz_write_seeds(const char *dir) {
    int ok = write_algorithm_seeds(dir) & write_isa_seeds(dir) & write_pointer_seeds(dir) &
             write_data_seeds(dir) & write_hostile_seeds(dir);
    printf("seeds written to %s%s\n", dir, ok ? "" : " (with errors)");
    return ok;
}
