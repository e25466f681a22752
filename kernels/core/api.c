/* Public entry points: plan lifecycle, one-shot forward, output size and FLOP counts. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../algos/auto_tune.h"
#include "error.h"
#include "plan.h"

static const tconv_algo_ops *ops_for(tconv_algo algo) {
    switch (algo) {
    case TCONV_ALGO_REFERENCE: return &tconv_reference_ops;
    case TCONV_ALGO_ZERO_INSERT: return &tconv_zero_insert_ops;
    case TCONV_ALGO_DIRECT: return &tconv_direct_ops;
    case TCONV_ALGO_GEMM: return &tconv_gemm_ops;
    case TCONV_ALGO_SPARSE: return &tconv_sparse_ops;
    case TCONV_ALGO_GEMM_BLAS: return &tconv_gemm_blas_ops;
    case TCONV_ALGO_AUTO: break;
    }
    return NULL;
}

static const char *const algo_names[TCONV_ALGO_COUNT] = {
    "auto", "reference", "zero_insert", "direct", "gemm", "sparse", "gemm_blas"};

const char *tconv_algo_name(tconv_algo algo) {
    return (unsigned)algo < TCONV_ALGO_COUNT ? algo_names[algo] : NULL;
}

tconv_status tconv_algo_from_name(const char *name, tconv_algo *out) {
    if (out == NULL) return tconv_fail(TCONV_ERR_INVALID, "algorithm output pointer is NULL");
    for (int i = 0; name && i < TCONV_ALGO_COUNT; i++) {
        if (strcmp(name, algo_names[i]) == 0) {
            *out = (tconv_algo)i;
            return tconv_succeed();
        }
    }
    return tconv_fail(TCONV_ERR_INVALID, "algorithm name (%s) is not known", name ? name : "NULL");
}

/* Each buffer is preceded by one aligned header slot holding the previous buffer, so the plan
 * owns any number of buffers as a chain and frees them all in tconv_plan_destroy. */
tconv_status tconv_plan_alloc(tconv_plan *plan, const char *what, size_t count, size_t size,
                              void **out) {
    size_t bytes;
    tconv_status st = tconv_size_mul(&plan->g, what, &bytes, count, size);
    if (st != TCONV_OK) return st;
    if (bytes > SIZE_MAX - 2 * TCONV_ALIGNMENT) return tconv_size_overflow(&plan->g, what);
    bytes = tconv_round_up(bytes ? bytes : 1, TCONV_ALIGNMENT);
    char *block = aligned_alloc(TCONV_ALIGNMENT, TCONV_ALIGNMENT + bytes);
    if (block == NULL)
        return tconv_fail(TCONV_ERR_NOMEM, "cannot allocate %zu bytes for %s", bytes, what);
    memcpy(block, &plan->buffers, sizeof plan->buffers);
    plan->buffers = block;
    memset(block + TCONV_ALIGNMENT, 0, bytes);
    plan->memory_bytes += bytes;
    *out = block + TCONV_ALIGNMENT;
    return TCONV_OK;
}

void tconv_plan_destroy(tconv_plan *plan) {
    if (plan == NULL) return;
    tconv_parallel_destroy(&plan->par); /* before the buffers: workers are idle, nothing runs */
    for (void *block = plan->buffers, *prev; block != NULL; block = prev) {
        memcpy(&prev, block, sizeof prev);
        free(block);
    }
    free(plan);
}

/* One pass over w: cheap next to any algorithm's packing, and every plan reports its density. */
static size_t count_nonzeros(const float *w, size_t n) {
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += w[i] != 0.0f;
    return nz;
}

/* One plan of a resolved algorithm: threads first (drivers size per-thread scratch by them), then
 * the driver's tables and packing, then the weight count. */
static tconv_status build_plan(const tconv_geometry *g, tconv_algo algo,
                               const tconv_kernels *kernels, const float *w, const float *bias,
                               const tconv_plan_options *options, tconv_plan **out) {
    tconv_plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL) return tconv_fail(TCONV_ERR_NOMEM, "cannot allocate the plan");
    plan->g = *g;
    plan->algo = algo;
    plan->k = *kernels;
    plan->ops = ops_for(algo);
    plan->memory_bytes = sizeof *plan;
    tconv_status st = tconv_parallel_init(plan, options);
    if (st == TCONV_OK) st = plan->ops->create(plan, w, bias);
    /* After create: every driver has read all of w by then, so w is known to be that long. */
    if (st == TCONV_OK) plan->weight_nonzeros = count_nonzeros(w, g->w_elems);
    if (st != TCONV_OK) {
        tconv_plan_destroy(plan);
        return st;
    }
    *out = plan;
    return TCONV_OK;
}

tconv_status tconv_plan_create_ex(const tconv_shape *s, tconv_algo algo, const float *w,
                                  const float *bias, const tconv_plan_options *options,
                                  tconv_plan **out) {
    if (out == NULL) return tconv_fail(TCONV_ERR_INVALID, "plan output pointer is NULL");
    *out = NULL;
    tconv_geometry g;
    tconv_status st = tconv_geometry_init(s, &g);
    if (st != TCONV_OK) return st;
    if (w == NULL) return tconv_fail(TCONV_ERR_INVALID, "w is NULL");
    if ((unsigned)algo >= TCONV_ALGO_COUNT)
        return tconv_fail(TCONV_ERR_INVALID, "algo (%d) is not a known algorithm", (int)algo);
    tconv_kernels kernels;
    st = tconv_select_kernels(options ? options->isa : NULL, &kernels);
    if (st != TCONV_OK) return st;
    if (options && (options->tune < 0 || options->tune > 1))
        return tconv_fail(TCONV_ERR_INVALID,
                          "tune (%d) must be 0 (AUTO uses its heuristic) or 1 (AUTO measures)",
                          options->tune);
    if (algo == TCONV_ALGO_AUTO && options && options->tune == 1)
        return tconv_auto_tune_create(&g, &kernels, w, bias, options, out);
    int automatic = algo == TCONV_ALGO_AUTO;
    if (automatic) algo = tconv_auto_choose(&g, &kernels);
    tconv_plan *plan;
    st = build_plan(&g, algo, &kernels, w, bias, options, &plan);
    /* The model may pick sparse for a shape beyond its 32-bit indices: the faster dense one. */
    if (automatic && st == TCONV_ERR_UNSUPPORTED && algo == TCONV_ALGO_SPARSE)
        st = build_plan(&g, tconv_auto_choose_dense(&g, &kernels), &kernels, w, bias, options,
                        &plan);
    if (st != TCONV_OK) return st;
    /* The density is known once a plan has read all of w: below the crossover AUTO trades the
     * dense plan for a sparse one (plan time twice, on those shapes only). A shape sparse does
     * not take (UNSUPPORTED: its 32-bit indices) keeps the dense plan; other failures (NOMEM)
     * are reported like any plan's. */
    tconv_plan *sparse_plan;
    if (automatic && plan->algo != TCONV_ALGO_SPARSE &&
        tconv_sparse_preferred(&g, tconv_plan_weight_density(plan))) {
        st = build_plan(&g, TCONV_ALGO_SPARSE, &kernels, w, bias, options, &sparse_plan);
        if (st != TCONV_OK && st != TCONV_ERR_UNSUPPORTED) {
            tconv_plan_destroy(plan);
            return st;
        }
        if (st == TCONV_OK) tconv_plan_destroy(plan), plan = sparse_plan;
    }
    *out = plan;
    return tconv_succeed();
}

tconv_status tconv_plan_create(const tconv_shape *s, tconv_algo algo, const float *w,
                               const float *bias, tconv_plan **out) {
    return tconv_plan_create_ex(s, algo, w, bias, NULL, out);
}

/* Refuses a read tensor whose bytes intersect y's: the drivers write y while still reading it
 * (y is bias-filled first, scattered into, or written block by block), so the result would be
 * wrong without any error. Element counts are the geometry's, so the byte counts fit size_t. */
static tconv_status check_no_overlap(const char *name, const float *in, size_t in_elems,
                                     const float *y, size_t y_elems) {
    /* [a, a + in bytes) and [b, b + y bytes) intersect; written without a + size, which could
     * wrap around the address space for the sizes a huge shape describes. */
    uintptr_t a = (uintptr_t)in, b = (uintptr_t)y;
    int overlap = a <= b ? b - a < in_elems * sizeof(float) : a - b < y_elems * sizeof(float);
    if (in != NULL && overlap)
        return tconv_fail(TCONV_ERR_INVALID,
                          "%s and y overlap: %s [%p, +%zu bytes), y [%p, +%zu bytes); y must not "
                          "alias an input",
                          name, name, (const void *)in, in_elems * sizeof(float), (void *)y,
                          y_elems * sizeof(float));
    return TCONV_OK;
}

tconv_status tconv_plan_run(tconv_plan *plan, const float *x, float *y) {
    if (plan == NULL) return tconv_fail(TCONV_ERR_INVALID, "plan is NULL");
    if (x == NULL) return tconv_fail(TCONV_ERR_INVALID, "x is NULL");
    if (y == NULL) return tconv_fail(TCONV_ERR_INVALID, "y is NULL");
    tconv_status st = check_no_overlap("x", x, plan->g.x_elems, y, plan->g.y_elems);
    if (st != TCONV_OK) return st;
    plan->ops->run(plan, x, y);
    return tconv_succeed();
}

tconv_status tconv_forward(const tconv_shape *s, tconv_algo algo, const float *x, const float *w,
                           const float *bias, float *y) {
    /* Argument checks first so a NULL tensor is refused before any allocation. */
    tconv_geometry g;
    tconv_status st = tconv_geometry_init(s, &g);
    if (st != TCONV_OK) return st;
    if (x == NULL) return tconv_fail(TCONV_ERR_INVALID, "x is NULL");
    if (y == NULL) return tconv_fail(TCONV_ERR_INVALID, "y is NULL");
    tconv_plan *plan;
    st = tconv_plan_create(s, algo, w, bias, &plan);
    if (st != TCONV_OK) return st;
    /* After planning, which only reads w and bias, so a shape too big for memory still reports
     * NOMEM: y overlapping x, w or bias is refused before anything is written. */
    if ((st = check_no_overlap("x", x, g.x_elems, y, g.y_elems)) ||
        (st = check_no_overlap("w", w, g.w_elems, y, g.y_elems)) ||
        (st = check_no_overlap("bias", bias, g.groups * g.cout_g, y, g.y_elems))) {
        tconv_plan_destroy(plan);
        return st;
    }
    st = tconv_plan_run(plan, x, y);
    tconv_plan_destroy(plan);
    return st;
}

tconv_algo tconv_plan_algo(const tconv_plan *plan) { return plan ? plan->algo : TCONV_ALGO_AUTO; }
const char *tconv_plan_isa(const tconv_plan *plan) {
    return plan ? tconv_isa_tag(plan->k.isa) : NULL;
}
const char *tconv_plan_kernel_name(const tconv_plan *plan, int loop_index) {
    if (plan == NULL) return NULL;
    if (loop_index == 0 && plan->loop0_kernel) return plan->loop0_kernel;
    return tconv_kernel_name(plan->algo, loop_index, tconv_isa_tag(plan->k.isa));
}
size_t tconv_plan_memory_bytes(const tconv_plan *plan) { return plan ? plan->memory_bytes : 0; }
int tconv_plan_threads(const tconv_plan *plan) { return plan ? (int)plan->par.threads : 0; }
double tconv_plan_weight_density(const tconv_plan *plan) {
    if (plan == NULL || plan->g.w_elems == 0) return 0.0;
    return (double)plan->weight_nonzeros / (double)plan->g.w_elems;
}

tconv_status tconv_output_size(const tconv_shape *s, int64_t *out_h, int64_t *out_w) {
    if (out_h == NULL || out_w == NULL)
        return tconv_fail(TCONV_ERR_INVALID, "out_h or out_w pointer is NULL");
    tconv_geometry g;
    tconv_status st = tconv_geometry_init(s, &g);
    if (st != TCONV_OK) return st;
    *out_h = g.out_h;
    *out_w = g.out_w;
    return tconv_succeed();
}

tconv_status tconv_flops(const tconv_shape *s, double *nominal, double *useful) {
    if (nominal == NULL || useful == NULL)
        return tconv_fail(TCONV_ERR_INVALID, "nominal or useful pointer is NULL");
    tconv_geometry g;
    tconv_status st = tconv_geometry_init(s, &g);
    if (st != TCONV_OK) return st;
    double channel_pairs = (double)s->batch * (double)s->in_channels * (double)g.cout_g;
    *nominal = 2.0 * channel_pairs * (double)g.taps * (double)g.in_plane;
    *useful = 2.0 * channel_pairs *
              (double)tconv_axis_pairs(s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->dilation_h,
                                       g.out_h) *
              (double)tconv_axis_pairs(s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->dilation_w,
                                       g.out_w);
    return tconv_succeed();
}

const char *tconv_kernel_name(tconv_algo algo, int loop_index, const char *isa) {
    tconv_kernels k;
    if (tconv_select_kernels(isa, &k) != TCONV_OK) return NULL;
    const char *loops[3] = {NULL, NULL, NULL};
    switch (algo) {
    case TCONV_ALGO_ZERO_INSERT:
    case TCONV_ALGO_DIRECT: loops[0] = k.conv.name; break;
    case TCONV_ALGO_GEMM: loops[0] = k.gemm.name, loops[1] = k.col2im.name; break;
    case TCONV_ALGO_GEMM_BLAS: loops[0] = "cblas_sgemm", loops[1] = k.col2im.name; break;
    case TCONV_ALGO_SPARSE: loops[0] = k.sparse.name, loops[1] = k.sparse_store.name; break;
    case TCONV_ALGO_REFERENCE:
        loops[0] = "tconv_reference (double accumulation, not dispatched)";
        break;
    case TCONV_ALGO_AUTO: break;
    }
    return loop_index >= 0 && loop_index < 3 ? loops[loop_index] : NULL;
}

/* Compiled into the library, so a program sees the version of the libtconv.so it runs with. */
const char *tconv_version(void) { return TCONV_VERSION_STRING; }
