/* tconv_output_size against a hand-derived table (PyTorch formula, Dumoulin & Visin relations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tconv.h"

/* One row: per-axis geometry and the expected output extent, derived by hand from
 *   Ho = (H - 1)*sh - 2*ph + dh*(Kh - 1) + oph + 1   (same for W)
 * and written literally, so the test does not share a formula with the library. */
typedef struct size_row {
    const char *what;
    int64_t in_h, in_w, k_h, k_w, s_h, s_w, p_h, p_w, op_h, op_w, d_h, d_w;
    int64_t out_h, out_w;
} size_row;

/* Dumoulin & Visin ("A guide to convolution arithmetic", arXiv 1603.07285) number their
 * transposed relationships 8..14 and the dilated convolution relationship 15; the i' of a
 * transposed convolution is the o of the convolution it transposes, and their a is output
 * padding. Each D&V row uses the paper's own figure example, named by its convolution. */
static const size_row valid_rows[] = {
    /* what                                       H  W  Kh Kw sh sw ph pw oph opw dh dw  Ho  Wo */
    {"basic: 1x1 input, 1x1 kernel", 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"basic: 4 + 3 - 1", 4, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 6, 6},
    {"basic: stride 2: 3*2 + 2 + 1", 4, 4, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 9, 9},
    {"basic: stride 3, kernel 2: 4*3 + 1 + 1", 5, 5, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 14, 14},
    {"seed example: 2x2 by 3x3 -> 4x4", 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4, 4},
    {"single pixel ignores stride", 1, 1, 1, 1, 1000, 7, 0, 0, 0, 0, 1, 1, 1, 1},
    {"stride > kernel: 2*4 + 1 + 1", 3, 3, 2, 2, 4, 4, 0, 0, 0, 0, 1, 1, 10, 10},
    {"padding crops 2 per axis: 3 - 2 + 2 + 1", 4, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 4, 4},
    {"padding with stride: 8 - 4 + 3 + 1", 5, 5, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, 8, 8},
    {"padding down to exactly 1: 0 - 2 + 2 + 1", 1, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
    {"7x7 same padding: 8 - 6 + 6 + 1", 9, 9, 7, 7, 1, 1, 3, 3, 0, 0, 1, 1, 9, 9},
    {"DCGAN k4 s2 p1 doubles: 2046 - 2 + 3 + 1", 1024, 1024, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 2048,
     2048},
    {"output padding: k3 s2 p1 op1 doubles: 6 - 2 + 2 + 2", 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8,
     8},
    {"output padding s-1 = 2: 6 - 2 + 2 + 2 + 1", 3, 3, 3, 3, 3, 3, 1, 1, 2, 2, 1, 1, 9, 9},
    {"output padding rescues a cropped axis: 2 - 2 + 0 + 1 + 1", 2, 2, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1,
     2, 2},
    {"output padding allowed by dilation (s1 d2 op1): 2 + 4 + 1 + 1", 3, 3, 3, 3, 1, 1, 0, 0, 1, 1,
     2, 2, 8, 8},
    {"dilation 3: 2 + 6 + 1", 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 3, 3, 9, 9},
    {"dilation, stride, padding: 8 - 4 + 4 + 1", 5, 5, 3, 3, 2, 2, 2, 2, 0, 0, 2, 2, 9, 9},
    {"dilation, stride, padding, op < d: 4 - 2 + 6 + 2 + 1", 3, 3, 3, 3, 2, 2, 1, 1, 2, 2, 3, 3, 11,
     11},
    {"rectangular kernel, stride, padding, op", 3, 5, 2, 4, 1, 2, 0, 1, 0, 1, 1, 1, 4, 11},
    {"rectangular dilation: h 3 + 4 + 1, w 3 + 2 + 1", 4, 4, 3, 3, 1, 1, 0, 0, 0, 0, 2, 1, 8, 6},
    {"rectangular input only", 2, 7, 3, 3, 2, 2, 1, 1, 1, 0, 1, 1, 4, 13},
    {"every field differs: h 15 - 4 + 4 + 1 + 1, w 4 + 2 + 1 + 1", 6, 3, 5, 2, 3, 2, 2, 0, 1, 1, 1,
     2, 17, 8},
    {"D&V rel 8, no padding, unit strides: o' = i' + (k-1), conv i=4 k=3", 2, 2, 3, 3, 1, 1, 0, 0,
     0, 0, 1, 1, 4, 4},
    {"D&V rel 9, zero padding, unit strides: o' = i' + (k-1) - 2p, conv i=5 k=4 p=2", 6, 6, 4, 4, 1,
     1, 2, 2, 0, 0, 1, 1, 5, 5},
    {"D&V rel 10, half padding: o' = i', conv i=5 k=3 p=1", 5, 5, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 5,
     5},
    {"D&V rel 11, full padding: o' = i' - (k-1), conv i=5 k=3 p=2", 7, 7, 3, 3, 1, 1, 2, 2, 0, 0, 1,
     1, 5, 5},
    {"D&V rel 12, no padding, strides: o' = s(i'-1) + k, conv i=5 k=3 s=2", 2, 2, 3, 3, 2, 2, 0, 0,
     0, 0, 1, 1, 5, 5},
    {"D&V rel 13, padding, strides: o' = s(i'-1) + k - 2p, conv i=5 k=3 s=2 p=1", 3, 3, 3, 3, 2, 2,
     1, 1, 0, 0, 1, 1, 5, 5},
    {"D&V rel 14, with a: o' = s(i'-1) + a + k - 2p, conv i=6 k=3 s=2 p=1", 3, 3, 3, 3, 2, 2, 1, 1,
     1, 1, 1, 1, 6, 6},
    {"D&V rel 15 transposed, dilation: 7x7 -> 3x3 by k3 d2, back to 7", 3, 3, 3, 3, 1, 1, 0, 0, 0,
     0, 2, 2, 7, 7},
};

/* Rows whose output would be < 1 on one axis: the library must refuse them and say why. */
typedef struct refused_row {
    const char *what;
    int64_t in_h, in_w, k_h, k_w, s_h, s_w, p_h, p_w, op_h, op_w, d_h, d_w;
    const char *message_part; /* must occur in tconv_last_error() */
} refused_row;

static const refused_row refused_rows[] = {
    /* what                                   H  W  Kh Kw sh sw ph pw oph opw dh dw */
    {"1x1 by 1x1, pad 1: 0 - 2 + 0 + 1 = -1", 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1,
     "output height (-1) must be at least 1"},
    {"2 by 3, pad 2: 1 - 4 + 2 + 1 = 0", 2, 2, 3, 3, 1, 1, 2, 2, 0, 0, 1, 1,
     "output height (0) must be at least 1"},
    {"width only: 3 - 8 + 3 + 1 = -1", 4, 4, 4, 4, 1, 1, 0, 4, 0, 0, 1, 1,
     "output width (-1) must be at least 1"},
    {"output padding does not rescue: 0 - 2 + 0 + 1 + 1 = 0", 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1,
     "output height (0) must be at least 1"},
    {"dilation does not rescue: 0 - 8 + 6 + 1 = -1", 1, 1, 3, 3, 1, 1, 4, 4, 0, 0, 3, 3,
     "output height (-1) must be at least 1"},
};

/* Output padding must be below max(stride, dilation) (PyTorch's rule), even when the output
 * size formula would be fine. */
static const refused_row out_pad_rows[] = {
    {"op == stride, d1", 4, 4, 3, 3, 2, 2, 0, 0, 2, 0, 1, 1, "output padding (2)"},
    {"op == dilation == stride", 4, 4, 3, 3, 2, 2, 0, 0, 0, 2, 2, 2, "output padding (2)"},
    {"op 1 with s1 d1", 4, 4, 3, 3, 1, 1, 0, 0, 1, 0, 1, 1, "output padding (1)"},
};

/* A 1-channel shape carrying a row's per-axis geometry. */
static tconv_shape make_shape(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, int64_t s_h,
                              int64_t s_w, int64_t p_h, int64_t p_w, int64_t op_h, int64_t op_w,
                              int64_t d_h, int64_t d_w) {
    /* The field order of tconv_shape: batch, cin, cout, then the spatial fields, then groups. */
    return (tconv_shape){1,   1,   1,   in_h, in_w, k_h, k_w, s_h,
                         s_w, p_h, p_w, op_h, op_w, d_h, d_w, 1};
}

static tconv_shape refused_shape(const refused_row *r) {
    return make_shape(r->in_h, r->in_w, r->k_h, r->k_w, r->s_h, r->s_w, r->p_h, r->p_w, r->op_h,
                      r->op_w, r->d_h, r->d_w);
}

static void test_valid_sizes(void **state) {
    (void)state;
    size_t n = sizeof valid_rows / sizeof valid_rows[0];
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        const size_row *r = &valid_rows[i];
        tconv_shape s = make_shape(r->in_h, r->in_w, r->k_h, r->k_w, r->s_h, r->s_w, r->p_h, r->p_w,
                                   r->op_h, r->op_w, r->d_h, r->d_w);
        int64_t oh = -7, ow = -7;
        tconv_status st = tconv_output_size(&s, &oh, &ow);
        if (st != TCONV_OK || oh != r->out_h || ow != r->out_w)
            printf("row %zu (%s): status %s (%s), got %lldx%lld, expected %lldx%lld\n", i, r->what,
                   tconv_status_string(st), tconv_last_error(), (long long)oh, (long long)ow,
                   (long long)r->out_h, (long long)r->out_w);
        assert_int_equal(st, TCONV_OK);
        assert_int_equal(oh, r->out_h);
        assert_int_equal(ow, r->out_w);
        assert_string_equal(tconv_last_error(), ""); /* documented: "" after a success */
    }
    printf("output size: %zu valid rows\n", n);
}

/* Runs a refusal table: status INVALID and a message containing the row's fragment. */
static void check_refused(const refused_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        tconv_shape s = refused_shape(&rows[i]);
        int64_t oh = -7, ow = -7;
        tconv_status st = tconv_output_size(&s, &oh, &ow);
        const char *msg = tconv_last_error();
        if (st != TCONV_ERR_INVALID || strstr(msg, rows[i].message_part) == NULL)
            printf("row %zu (%s): status %s, message \"%s\", expected \"%s\"\n", i, rows[i].what,
                   tconv_status_string(st), msg, rows[i].message_part);
        assert_int_equal(st, TCONV_ERR_INVALID);
        assert_non_null(strstr(msg, rows[i].message_part));
    }
}

static void test_output_below_one_refused(void **state) {
    (void)state;
    check_refused(refused_rows, sizeof refused_rows / sizeof refused_rows[0]);
}

static void test_output_padding_limit_refused(void **state) {
    (void)state;
    check_refused(out_pad_rows, sizeof out_pad_rows / sizeof out_pad_rows[0]);
}

/* Every valid row stays valid with batch/channels/groups changed: those fields never change
 * the spatial size. */
static void test_channels_do_not_change_size(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        const size_row *r = &valid_rows[i];
        tconv_shape s = make_shape(r->in_h, r->in_w, r->k_h, r->k_w, r->s_h, r->s_w, r->p_h, r->p_w,
                                   r->op_h, r->op_w, r->d_h, r->d_w);
        s.batch = 3, s.in_channels = 6, s.out_channels = 9, s.groups = 3;
        int64_t oh = 0, ow = 0;
        assert_int_equal(tconv_output_size(&s, &oh, &ow), TCONV_OK);
        assert_int_equal(oh, r->out_h);
        assert_int_equal(ow, r->out_w);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_sizes),
        cmocka_unit_test(test_output_below_one_refused),
        cmocka_unit_test(test_output_padding_limit_refused),
        cmocka_unit_test(test_channels_do_not_change_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
