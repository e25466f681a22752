/* Minimal tconv consumer: plans one DCGAN generator layer, runs it once and reports what ran. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tconv.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *filled(size_t count, float scale) {
    float *p = malloc(count * sizeof *p);
    if (p == NULL) return NULL;
    for (size_t i = 0; i < count; ++i) p[i] = scale * (float)((int)(i % 13) - 6);
    return p;
}

static int fail(const char *what, tconv_status st) {
    fprintf(stderr, "%s: %s (%s)\n", what, tconv_status_string(st), tconv_last_error());
    return 1;
}

/* DCGAN generator layer: 512 -> 256 channels, 8x8 -> 16x16, 4x4 kernel, stride 2, padding 1. */
static int run_layer(void) {
    const tconv_shape s = {.batch = 1,
                           .in_channels = 512,
                           .out_channels = 256,
                           .in_h = 8,
                           .in_w = 8,
                           .kernel_h = 4,
                           .kernel_w = 4,
                           .stride_h = 2,
                           .stride_w = 2,
                           .pad_h = 1,
                           .pad_w = 1,
                           .dilation_h = 1,
                           .dilation_w = 1,
                           .groups = 1};
    int64_t out_h, out_w;
    tconv_status st = tconv_output_size(&s, &out_h, &out_w);
    if (st != TCONV_OK) return fail("tconv_output_size", st);

    size_t x_count = (size_t)(s.batch * s.in_channels * s.in_h * s.in_w);
    size_t w_count = (size_t)(s.in_channels * s.out_channels * s.kernel_h * s.kernel_w);
    size_t y_count = (size_t)(s.batch * s.out_channels * out_h * out_w);
    float *x = filled(x_count, 0.01f), *w = filled(w_count, 0.001f);
    float *y = malloc(y_count * sizeof *y);
    tconv_plan *plan = NULL;
    int rc = 1;
    if (x == NULL || w == NULL || y == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    st = tconv_plan_create(&s, TCONV_ALGO_AUTO, w, NULL, &plan);
    if (st != TCONV_OK) {
        rc = fail("tconv_plan_create", st);
        goto done;
    }
    double start = now_seconds();
    st = tconv_plan_run(plan, x, y);
    double elapsed = now_seconds() - start;
    if (st != TCONV_OK) {
        rc = fail("tconv_plan_run", st);
        goto done;
    }
    printf("output: %lld x %lld x %lld x %lld\n", (long long)s.batch, (long long)s.out_channels,
           (long long)out_h, (long long)out_w);
    printf("algorithm (AUTO chose): %s, isa %s\n", tconv_algo_name(tconv_plan_algo(plan)),
           tconv_plan_isa(plan));
    printf("time of one run: %.3f ms\n", elapsed * 1e3);
    printf("y[0] = %g\n", (double)y[0]);
    rc = 0;
done:
    tconv_plan_destroy(plan);
    free(x);
    free(w);
    free(y);
    return rc;
}

int main(void) {
    /* The header's version is the one compiled against; tconv_version() the library's at run time.
     */
    printf("tconv_version: %s (header %d.%d.%d)\n", tconv_version(), TCONV_VERSION_MAJOR,
           TCONV_VERSION_MINOR, TCONV_VERSION_PATCH);
    return run_layer();
}
