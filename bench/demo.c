/* tconv-demo: every algorithm on the seed example and a few real layers, checked and timed. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tconv.h"

typedef struct layer {
    const char *name;
    tconv_shape shape;
} layer;

/* batch, Cin, Cout, H, W, Kh, Kw, sh, sw, ph, pw, oph, opw, dh, dw, groups */
static const layer layers[] = {
    {"dcgan_512_256 (DCGAN generator)", {1, 512, 256, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}},
    {"unet_128_64 (U-Net up-conv)", {1, 128, 64, 64, 64, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1}},
    {"fsrcnn_x3 (FSRCNN deconv)", {1, 56, 1, 64, 64, 9, 9, 3, 3, 4, 4, 2, 2, 1, 1, 1}},
    {"fcn8s_upscore8 (FCN-8s)", {1, 21, 21, 28, 28, 16, 16, 8, 8, 4, 4, 0, 0, 1, 1, 1}},
    {"upsample_256 (1->1 256x256)", {1, 1, 1, 256, 256, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1}},
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t out_elems(const tconv_shape *s) {
    int64_t oh, ow;
    tconv_output_size(s, &oh, &ow);
    return (size_t)(s->batch * s->out_channels * oh * ow);
}

static void print_seed_example(void) {
    const tconv_shape s = {1, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    const float x[] = {2, 3, 1, 3}, w[] = {0, 1, 1, 0, 1, 0, 1, 0, 1};
    printf("seed example: x=[[2,3],[1,3]], k=[[0,1,1],[0,1,0],[1,0,1]], s1 p0\n");
    for (int a = TCONV_ALGO_REFERENCE; a < TCONV_ALGO_COUNT; a++) {
        float y[16];
        tconv_status st = tconv_forward(&s, (tconv_algo)a, x, w, NULL, y);
        printf("  %-12s", tconv_algo_name((tconv_algo)a));
        if (st != TCONV_OK) {
            printf(" %s\n", tconv_last_error());
            continue;
        }
        for (int r = 0; r < 4; r++)
            printf(" [%g %g %g %g]", (double)y[4 * r], (double)y[4 * r + 1], (double)y[4 * r + 2],
                   (double)y[4 * r + 3]);
        printf("\n");
    }
}

/* Median wall time of `reps` runs of a plan (after one warm-up run). */
static double time_plan(tconv_plan *plan, const float *x, float *y, int reps) {
    double t[16];
    tconv_plan_run(plan, x, y);
    for (int i = 0; i < reps; i++) {
        double t0 = now_seconds();
        tconv_plan_run(plan, x, y);
        t[i] = now_seconds() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], compare_double);
    return t[reps / 2];
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

static void run_layer(const layer *l, int reps) {
    const tconv_shape *s = &l->shape;
    size_t nx = (size_t)(s->batch * s->in_channels * s->in_h * s->in_w);
    size_t nw = (size_t)(s->in_channels * s->out_channels / s->groups * s->kernel_h * s->kernel_w);
    size_t ny = out_elems(s);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *ref = malloc(ny * sizeof *ref);
    float *y = malloc(ny * sizeof *y), *bias = calloc((size_t)s->out_channels, sizeof *bias);
    srand(7);
    for (size_t i = 0; i < nx; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    double nominal, useful;
    tconv_flops(s, &nominal, &useful);
    tconv_forward(s, TCONV_ALGO_REFERENCE, x, w, bias, ref);
    printf("\n%s: %.1f MFLOP useful\n", l->name, useful * 1e-6);
    printf("  %-12s %-7s %10s %9s %12s\n", "algorithm", "isa", "median ms", "GFLOP/s", "max |y-ref|");
    for (int a = TCONV_ALGO_ZERO_INSERT; a < TCONV_ALGO_COUNT; a++) {
        tconv_plan *plan;
        if (tconv_plan_create(s, (tconv_algo)a, w, bias, &plan) != TCONV_OK) {
            printf("  %-12s skipped: %s\n", tconv_algo_name((tconv_algo)a), tconv_last_error());
            continue;
        }
        double t = time_plan(plan, x, y, reps);
        printf("  %-12s %-7s %10.3f %9.2f %12.3g\n", tconv_algo_name((tconv_algo)a),
               tconv_plan_isa(plan), t * 1e3, useful / t * 1e-9, max_abs_diff(y, ref, ny));
        tconv_plan_destroy(plan);
    }
    free(x), free(w), free(ref), free(y), free(bias);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 16) reps = 5;
    printf("tconv demo (single thread, ISA %s, median of %d runs)\n\n", tconv_active_isa(), reps);
    print_seed_example();
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) run_layer(&layers[i], reps);
    return 0;
}
