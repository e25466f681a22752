/* Harness internals shared by harness.c and main.c. */
#ifndef TB_BENCH_INTERNAL_H
#define TB_BENCH_INTERNAL_H

#include <stdio.h>

#include "gb_shim.h"
#include "harness.h"

typedef struct tb_bench {
    char name[224];
    const tb_shape_entry *entry;
    const tb_runner_ops *ops;
    tconv_algo algo;
    const char *isa; /* our ISA tag; NULL for oneDNN / XNNPACK */
    int threads;     /* N of the t<N> in the name */
    int perturb;     /* test-only wrong kernel */
    int tune;        /* AUTO only: options.tune (1: the auto_tuned rows) */
    int peer;        /* gemm_blas, oneDNN, XNNPACK */
    int selected;    /* matches --benchmark_filter */
    char skip[256];  /* known before running: why it is skipped ("" when it runs) */
    double density;  /* -1: dense random weights; else pruned to this density (d<D> in the name) */
    int bilinear;    /* FCN bilinear weights ("bilinear" in the name) */
} tb_bench;

size_t tb_register_all(const tb_shape_list *shapes);
size_t tb_selected_count(void);
void tb_list_selected(FILE *out); /* the selected names, one a line (--benchmark_list_tests) */
void tb_body(tb_state *st, void *arg);
void tb_finish(void);

#endif
