/* tconv-gate: runs every valgrind-runnable variant once per gate shape under callgrind requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "gate_config.h"
#include "shapes.h"
#include "tconv.h"

/* Algorithms whose code is ours (gemm_blas counts would measure OpenBLAS; reference is frozen). */
static const tconv_algo gate_algos[] = {TCONV_ALGO_ZERO_INSERT, TCONV_ALGO_DIRECT, TCONV_ALGO_GEMM,
                                        TCONV_ALGO_SPARSE};

/* valgrind 3.19 executes up to AVX2; AVX-512 code is covered by the timing check only. */
static int valgrind_can_run(const char *isa) { return strcmp(isa, "avx512") != 0; }

static float *filled(size_t n, unsigned seed) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; p && i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
    return p;
}

static size_t elems_x(const tconv_shape *s) {
    return (size_t)(s->batch * s->in_channels * s->in_h * s->in_w);
}
static size_t elems_w(const tconv_shape *s) {
    return (size_t)(s->in_channels * (s->out_channels / s->groups) * s->kernel_h * s->kernel_w);
}
static size_t elems_y(const tconv_shape *s) {
    int64_t oh, ow;
    tconv_output_size(s, &oh, &ow);
    return (size_t)(s->batch * s->out_channels * oh * ow);
}

/* One measured entry: plan outside the instrumented region, one warm-up run, one counted run. */
static int measure(const tb_shape_entry *e, tconv_algo algo, const char *isa, int list_only) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s/%s", tconv_algo_name(algo), isa, e->name);
    if (list_only) return printf("%s\n", name) < 0;
    const tconv_shape *s = &e->shape;
    float *x = filled(elems_x(s), 1), *w = filled(elems_w(s), 2), *b = filled((size_t)s->out_channels, 3);
    float *y = malloc(elems_y(s) * sizeof *y);
    tconv_plan_options opt = {.isa = isa, .threads = 1}; /* counts of the single-thread path */
    tconv_plan *plan = NULL;
    int failed = !x || !w || !b || !y || tconv_plan_create_ex(s, algo, w, b, &opt, &plan) != TCONV_OK;
    if (!failed) {
        tconv_plan_run(plan, x, y);
        CALLGRIND_START_INSTRUMENTATION;
        CALLGRIND_ZERO_STATS;
        tconv_plan_run(plan, x, y);
        CALLGRIND_STOP_INSTRUMENTATION;
        CALLGRIND_DUMP_STATS_AT(name);
    } else {
        fprintf(stderr, "tconv-gate: %s: %s\n", name, tconv_last_error());
    }
    tconv_plan_destroy(plan);
    free(x), free(w), free(b), free(y);
    return failed;
}

static void usage(void) {
    fprintf(stderr, "usage: tconv-gate --shapes FILE [--list] [--toolchain]\n"
                    "  run under: valgrind --tool=callgrind --instr-atstart=no tconv-gate ...\n");
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int list_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--shapes=", 9) == 0) path = argv[i] + 9;
        else if (strcmp(argv[i], "--shapes") == 0 && i + 1 < argc) path = argv[++i];
        else if (strcmp(argv[i], "--list") == 0) list_only = 1;
        else if (strcmp(argv[i], "--toolchain") == 0) {
            printf("compiler: %s\nflags: %s\ncompiler_path: %s\ncflags: %s\n", TCONV_GATE_COMPILER,
                   TCONV_GATE_FLAGS, TCONV_GATE_COMPILER_PATH, TCONV_GATE_CFLAGS);
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (path == NULL) {
        usage();
        return 2;
    }
    tb_shape_list shapes = {0};
    char err[256];
    if (tb_load_layers(path, &shapes, err, sizeof err) < 0) {
        fprintf(stderr, "tconv-gate: %s\n", err);
        return 2;
    }
    int failures = 0;
    for (size_t k = 0; k < shapes.count; k++)
        for (int i = 0; i < tconv_isa_count(); i++) {
            const char *isa = tconv_isa_name(i);
            if (!tconv_isa_compiled(isa) || !tconv_isa_supported(isa) || !valgrind_can_run(isa))
                continue;
            for (size_t a = 0; a < sizeof gate_algos / sizeof gate_algos[0]; a++)
                failures += measure(&shapes.items[k], gate_algos[a], isa, list_only);
        }
    tb_shape_list_free(&shapes);
    return failures ? 1 : 0;
}
