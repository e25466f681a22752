/* Peer: oneDNN (libdnnl) deconvolution forward, inference, f32, CPU engine, N OpenMP threads.
 *   onednn_nchw:    user memory in plain NCHW / PyTorch weight layout; oneDNN picks an
 *                   implementation for those layouts (no reorders anywhere).
 *   onednn_blocked: memory descriptors "any", so oneDNN picks its preferred (blocked) layouts.
 *                   The weight reorder is one-time (part of plan_ms); the per-run source and
 *                   destination reorders are excluded from the timing and reported as layout_ms.
 * Threads: this libdnnl uses the OpenMP runtime (libgomp); each benchmark calls
 * omp_set_num_threads(N) before creating its primitives (oneDNN sizes its work split from the
 * OpenMP thread count at primitive creation, and runs with the count set on this thread), so the
 * primitives of t<N> are made and run with N threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "harness.h"

/* libgomp, which libdnnl is linked against (declared here so any C compiler can call it). */
void omp_set_num_threads(int n);
int omp_get_max_threads(void);

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_state; /* 0 not tried, 1 ready, -1 failed */

static int ensure_engine(char *why, size_t n) {
    if (engine_state == 0) {
        omp_set_num_threads(1);
        engine_state =
            dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
                    dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success
                ? 1
                : -1;
    }
    if (engine_state < 0) snprintf(why, n, "oneDNN CPU engine could not be created");
    return engine_state > 0;
}

void tb_onednn_context(void (*add)(const char *key, const char *value)) {
    char buf[256];
    char why[64];
    ensure_engine(why, sizeof why);
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d (hash %s, cpu runtime %s)", v->major, v->minor, v->patch,
             v->hash, dnnl_runtime2str(v->cpu_runtime));
    add("peer.onednn.version", buf);
    add("peer.onednn.isa", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    snprintf(
        buf, sizeof buf,
        "OpenMP runtime (libgomp): omp_set_num_threads(N) before creating the primitives of t<N> "
        "(and 1 at start-up; omp_get_max_threads()=%d then)",
        omp_get_max_threads());
    add("peer.onednn.threads", buf);
}

typedef struct onednn_impl {
    int blocked, nsets;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t user_src, user_wei, user_bias, user_dst;
    const dnnl_memory_desc_t *src_md, *wei_md, *dst_md;
    dnnl_memory_t wei, bias;
    dnnl_memory_t *src, *dst;
    dnnl_primitive_t src_reorder, dst_reorder; /* NULL when the layout is already plain */
    dnnl_memory_t user_x, user_y;              /* plain views over data/scratch for reorders */
    float *y_plain;
    size_t ny;
} onednn_impl;

#define CHECK(call, what)                                                                          \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success) {                                                                 \
            snprintf(why, n, "oneDNN %s failed: %s", what, dnnl_status2str(st_));                  \
            return TB_SKIP;                                                                        \
        }                                                                                          \
    } while (0)

/* Layout of a memory descriptor in oneDNN's letter notation, e.g. aBcd8b. */
static void md_string(const dnnl_memory_desc_t *md, char *buf, size_t n) {
    if (md->format_kind != dnnl_blocked) {
        snprintf(buf, n, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], nd = md->ndims, blocked[DNNL_MAX_NDIMS] = {0};
    for (int i = 0; i < b->inner_nblks; i++) blocked[b->inner_idxs[i]] = 1;
    for (int i = 0; i < nd; i++) order[i] = i;
    for (int i = 0; i < nd; i++) /* outer dims by decreasing stride */
        for (int j = i + 1; j < nd; j++)
            if (b->strides[order[j]] > b->strides[order[i]]) {
                int t = order[i];
                order[i] = order[j], order[j] = t;
            }
    size_t len = 0;
    for (int i = 0; i < nd && len + 1 < n; i++)
        buf[len++] = (char)((blocked[order[i]] ? 'A' : 'a') + order[i]);
    buf[len] = '\0';
    for (int i = 0; i < b->inner_nblks; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%lld%c", (long long)b->inner_blks[i],
                 'a' + (int)b->inner_idxs[i]);
    }
}

static void onednn_destroy(tb_runner *r) {
    onednn_impl *o = r->impl;
    if (!o) return;
    for (int i = 0; i < o->nsets; i++) {
        if (o->src && o->src[i]) dnnl_memory_destroy(o->src[i]);
        if (o->dst && o->dst[i]) dnnl_memory_destroy(o->dst[i]);
    }
    free(o->src), free(o->dst);
    if (o->wei) dnnl_memory_destroy(o->wei);
    if (o->bias) dnnl_memory_destroy(o->bias);
    if (o->user_x) dnnl_memory_destroy(o->user_x);
    if (o->user_y) dnnl_memory_destroy(o->user_y);
    if (o->src_reorder) dnnl_primitive_destroy(o->src_reorder);
    if (o->dst_reorder) dnnl_primitive_destroy(o->dst_reorder);
    if (o->prim) dnnl_primitive_destroy(o->prim);
    if (o->pd) dnnl_primitive_desc_destroy(o->pd);
    free(o->y_plain);
    free(o);
    r->impl = NULL;
}

static dnnl_status_t reorder(dnnl_primitive_t prim, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, 2, args);
    return st == dnnl_success ? dnnl_stream_wait(stream) : st;
}

static tb_status make_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                              dnnl_primitive_t *out, char *why, size_t n) {
    dnnl_primitive_desc_t rpd;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL),
          "reorder descriptor");
    dnnl_status_t st = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    CHECK(st, "reorder creation");
    return TB_OK;
}

static tb_status onednn_create_common(tb_runner *r, const tb_data *d, int nsets, int blocked,
                                      char *why, size_t n) {
    if (!ensure_engine(why, n)) return TB_SKIP;
    omp_set_num_threads(r->threads);
    onednn_impl *o = calloc(1, sizeof *o);
    if (!o) return snprintf(why, n, "out of memory"), TB_SKIP;
    r->impl = o;
    o->blocked = blocked, o->nsets = nsets, o->ny = d->ny;
    const tconv_shape *s = &d->s;
    int64_t g = s->groups;
    dnnl_dims_t src_dims = {s->batch, s->in_channels, s->in_h, s->in_w};
    dnnl_dims_t dst_dims = {s->batch, s->out_channels, d->oh, d->ow};
    dnnl_dims_t bias_dims = {s->out_channels};
    dnnl_dims_t wei_dims = {s->out_channels, s->in_channels, s->kernel_h, s->kernel_w};
    dnnl_dims_t gwei_dims = {g, s->out_channels / g, s->in_channels / g, s->kernel_h, s->kernel_w};
    CHECK(dnnl_memory_desc_init_by_tag(&o->user_src, 4, src_dims, dnnl_f32, dnnl_nchw), "src md");
    CHECK(dnnl_memory_desc_init_by_tag(&o->user_dst, 4, dst_dims, dnnl_f32, dnnl_nchw), "dst md");
    CHECK(dnnl_memory_desc_init_by_tag(&o->user_bias, 1, bias_dims, dnnl_f32, dnnl_x), "bias md");
    /* PyTorch's weight [Cin][Cout/g][Kh][Kw] is oneDNN's iohw (giohw with groups). */
    if (g == 1)
        CHECK(dnnl_memory_desc_init_by_tag(&o->user_wei, 4, wei_dims, dnnl_f32, dnnl_iohw),
              "weights md");
    else
        CHECK(dnnl_memory_desc_init_by_tag(&o->user_wei, 5, gwei_dims, dnnl_f32, dnnl_giohw),
              "weights md");
    dnnl_memory_desc_t any_src, any_dst, any_wei;
    CHECK(dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, dnnl_f32, dnnl_format_tag_any),
          "src md");
    CHECK(dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any),
          "dst md");
    CHECK(dnnl_memory_desc_init_by_tag(&any_wei, g == 1 ? 4 : 5, g == 1 ? wei_dims : gwei_dims,
                                       dnnl_f32, dnnl_format_tag_any),
          "weights md");
    dnnl_dims_t strides = {s->stride_h, s->stride_w};
    dnnl_dims_t dilates = {s->dilation_h - 1, s->dilation_w - 1}; /* oneDNN dilation is 0-based */
    dnnl_dims_t pad_l = {s->pad_h, s->pad_w};
    dnnl_dims_t pad_r = {s->pad_h - s->out_pad_h, s->pad_w - s->out_pad_w}; /* output padding */
    dnnl_deconvolution_desc_t dd;
    double t0 = tb_now();
    CHECK(dnnl_dilated_deconvolution_forward_desc_init(
              &dd, dnnl_forward_inference, dnnl_deconvolution_direct,
              blocked ? &any_src : &o->user_src, blocked ? &any_wei : &o->user_wei,
              d->b ? &o->user_bias : NULL, blocked ? &any_dst : &o->user_dst, strides, dilates,
              pad_l, pad_r),
          "deconvolution descriptor");
    CHECK(dnnl_primitive_desc_create(&o->pd, &dd, NULL, engine, NULL), "primitive descriptor");
    CHECK(dnnl_primitive_create(&o->prim, o->pd), "primitive creation");
    o->src_md = dnnl_primitive_desc_query_md(o->pd, dnnl_query_src_md, 0);
    o->wei_md = dnnl_primitive_desc_query_md(o->pd, dnnl_query_weights_md, 0);
    o->dst_md = dnnl_primitive_desc_query_md(o->pd, dnnl_query_dst_md, 0);
    /* Weights: plain user memory over the caller's array, or reordered once into oneDNN's layout.
     */
    dnnl_memory_t user_w;
    CHECK(dnnl_memory_create(&user_w, &o->user_wei, engine, (void *)d->w), "weights memory");
    if (dnnl_memory_desc_equal(o->wei_md, &o->user_wei)) {
        o->wei = user_w;
    } else {
        dnnl_primitive_t wr = NULL;
        tb_status ts = make_reorder(&o->user_wei, o->wei_md, &wr, why, n);
        dnnl_status_t st =
            ts == TB_OK ? dnnl_memory_create(&o->wei, o->wei_md, engine, DNNL_MEMORY_ALLOCATE)
                        : dnnl_runtime_error;
        if (st == dnnl_success) st = reorder(wr, user_w, o->wei);
        if (wr) dnnl_primitive_destroy(wr);
        dnnl_memory_destroy(user_w);
        if (ts != TB_OK) return ts;
        CHECK(st, "weights reorder");
    }
    if (d->b)
        CHECK(dnnl_memory_create(&o->bias, &o->user_bias, engine, (void *)d->b), "bias memory");
    r->plan_seconds = tb_now() - t0;
    int64_t scratch = 0;
    dnnl_primitive_desc_query(o->pd, dnnl_query_memory_consumption_s64, 0, &scratch);
    r->plan_bytes = (double)dnnl_memory_desc_get_size(o->wei_md) + (double)scratch;
    /* Per-set source and destination memory in the primitive's layouts. */
    o->src = calloc((size_t)nsets, sizeof *o->src), o->dst = calloc((size_t)nsets, sizeof *o->dst);
    o->y_plain = tb_alloc(d->ny * sizeof(float));
    if (!o->src || !o->dst || !o->y_plain) return snprintf(why, n, "out of memory"), TB_SKIP;
    CHECK(dnnl_memory_create(&o->user_x, &o->user_src, engine, (void *)d->x), "source memory");
    CHECK(dnnl_memory_create(&o->user_y, &o->user_dst, engine, o->y_plain), "destination memory");
    int src_plain = dnnl_memory_desc_equal(o->src_md, &o->user_src);
    int dst_plain = dnnl_memory_desc_equal(o->dst_md, &o->user_dst);
    if (!src_plain && make_reorder(&o->user_src, o->src_md, &o->src_reorder, why, n) != TB_OK)
        return TB_SKIP;
    if (!dst_plain && make_reorder(o->dst_md, &o->user_dst, &o->dst_reorder, why, n) != TB_OK)
        return TB_SKIP;
    for (int i = 0; i < nsets; i++) {
        CHECK(dnnl_memory_create(&o->src[i], o->src_md, engine, DNNL_MEMORY_ALLOCATE),
              "source memory");
        CHECK(dnnl_memory_create(&o->dst[i], o->dst_md, engine, DNNL_MEMORY_ALLOCATE),
              "destination memory");
        void *p;
        dnnl_memory_get_data_handle(o->src[i], &p);
        if (src_plain)
            memcpy(p, d->x, d->nx * sizeof(float));
        else
            CHECK(reorder(o->src_reorder, o->user_x, o->src[i]), "source reorder");
        dnnl_memory_get_data_handle(o->dst[i], &p);
        tb_fill_nan(p, dnnl_memory_desc_get_size(o->dst_md) / sizeof(float));
    }
    /* Per-run cost of the layout changes a caller with NCHW tensors would pay, timed apart. */
    r->layout_seconds = -1;
    if (o->src_reorder || o->dst_reorder) {
        double best = INFINITY;
        for (int rep = 0; rep < 3; rep++) {
            double t = tb_now();
            if (o->src_reorder) reorder(o->src_reorder, o->user_x, o->src[0]);
            if (o->dst_reorder) reorder(o->dst_reorder, o->dst[0], o->user_y);
            t = tb_now() - t;
            if (t < best) best = t;
        }
        r->layout_seconds = best;
        void *p;
        dnnl_memory_get_data_handle(o->dst[0], &p);
        tb_fill_nan(p, dnnl_memory_desc_get_size(o->dst_md) / sizeof(float));
    }
    r->peak_isa = NULL; /* oneDNN dispatches on its own: judged against the machine's best peak */
    const char *impl = "?";
    dnnl_primitive_desc_query(o->pd, dnnl_query_impl_info_str, 0, &impl);
    char fs[48], fw[48], fd[48];
    md_string(o->src_md, fs, sizeof fs), md_string(o->wei_md, fw, sizeof fw),
        md_string(o->dst_md, fd, sizeof fd);
    snprintf(r->label, sizeof r->label, "%s src:%s wei:%s dst:%s omp:%d", impl, fs, fw, fd,
             omp_get_max_threads());
    return TB_OK;
}

static tb_status onednn_nchw_create(tb_runner *r, const tb_data *d, int nsets, char *why,
                                    size_t n) {
    return onednn_create_common(r, d, nsets, 0, why, n);
}
static tb_status onednn_blocked_create(tb_runner *r, const tb_data *d, int nsets, char *why,
                                       size_t n) {
    return onednn_create_common(r, d, nsets, 1, why, n);
}

static void onednn_run(tb_runner *r, int set) {
    onednn_impl *o = r->impl;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, o->src[set]},
                               {DNNL_ARG_WEIGHTS, o->wei},
                               {DNNL_ARG_DST, o->dst[set]},
                               {DNNL_ARG_BIAS, o->bias}};
    dnnl_primitive_execute(o->prim, stream, o->bias ? 4 : 3, args);
    dnnl_stream_wait(stream);
}

static void onednn_output(tb_runner *r, int set, float *y) {
    onednn_impl *o = r->impl;
    if (o->dst_reorder) {
        reorder(o->dst_reorder, o->dst[set], o->user_y);
        memcpy(y, o->y_plain, o->ny * sizeof(float));
    } else {
        void *p;
        dnnl_memory_get_data_handle(o->dst[set], &p);
        memcpy(y, p, o->ny * sizeof(float));
    }
}

const tb_runner_ops tb_onednn_nchw_ops = {onednn_nchw_create, onednn_run, onednn_output,
                                          onednn_destroy};
const tb_runner_ops tb_onednn_blocked_ops = {onednn_blocked_create, onednn_run, onednn_output,
                                             onednn_destroy};
