/* The plan object shared by all algorithm drivers: geometry, kernels, owned buffers. */
#ifndef TCONV_PLAN_H
#define TCONV_PLAN_H

#include "../dispatch/dispatch.h"
#include "geometry.h"
#include "parallel.h"

#define TCONV_ALIGNMENT 64

typedef struct tconv_algo_ops {
    /* Per-shape work: packing, tables, scratch (through tconv_plan_alloc). */
    tconv_status (*create)(tconv_plan *plan, const float *w, const float *bias);
    /* The computation; cannot fail once create succeeded. */
    void (*run)(const tconv_plan *plan, const float *x, float *y);
} tconv_algo_ops;

struct tconv_plan {
    tconv_geometry g;
    tconv_algo algo;
    tconv_kernels k;
    const tconv_algo_ops *ops;
    tconv_parallel par; /* the threads the drivers split their work over */
    void *state;        /* the driver's own data, allocated with tconv_plan_alloc */
    void *buffers;      /* newest block of the chain tconv_plan_alloc builds (NULL: none) */
    size_t memory_bytes;
    size_t weight_nonzeros;   /* weights != 0 (NaN counts as nonzero), counted at creation */
    const char *loop0_kernel; /* set by a driver whose shape-specific path replaces loop 0's */
};

/* Allocates count*size bytes, 64-byte aligned and zeroed, owned and freed by the plan (any number
 * of buffers). Fails with NOMEM, or with INVALID naming `what` when the size overflows. */
tconv_status tconv_plan_alloc(tconv_plan *plan, const char *what, size_t count, size_t size,
                              void **out);

/* The drivers (kernels/algos/). */
extern const tconv_algo_ops tconv_reference_ops, tconv_zero_insert_ops, tconv_direct_ops,
    tconv_gemm_ops, tconv_gemm_blas_ops, tconv_sparse_ops;

/* AUTO's heuristic (tune = 0) for a validated shape and the plan's kernels (kernels/algos/auto.c):
 * direct, gemm or sparse, whichever the cost model estimates fastest. */
tconv_algo tconv_auto_choose(const tconv_geometry *g, const tconv_kernels *k);
/* The same between direct and gemm only (when sparse cannot take the shape). */
tconv_algo tconv_auto_choose_dense(const tconv_geometry *g, const tconv_kernels *k);
/* The cost model behind it: estimated seconds of one single-thread run of `algo` (direct, gemm,
 * sparse; gemm_blas gets gemm's estimate). tune = 1 scales it to skip candidates that cannot fit
 * in its budget. */
double tconv_auto_cost(const tconv_geometry *g, const tconv_kernels *k, tconv_algo algo);
/* direct's rowconv path for this shape and ISA, finite weights assumed (choose_rowconv in
 * direct.c; AUTO's model takes it as a feature). */
int tconv_direct_takes_rowconv(const tconv_geometry *g, const tconv_kernels *k);
/* direct's row-phases kernel (AVX-512; unless it takes rowconv): when it is taken and what it
 * measured. */
int tconv_direct_takes_row_phases(const tconv_geometry *g, const tconv_kernels *k);

/* Weight density (nonzeros / weights) at or below which sparse beats the best dense algorithm
 * on this layer class (kernels/algos/sparse.c, measured: results/READING.md "Sparse weights"). */
#define TCONV_SPARSE_CROSSOVER_DEFAULT 0.25
int tconv_sparse_preferred(const tconv_geometry *g, double density);

#endif
