/* The harness core (C): benchmark list, per-shape data and reference, verification before
 * timing, the timed loop, counters and progress. Google Benchmark is reached through gb_shim.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_internal.h"
#include "check.h"
#include "gb_shim.h"

tb_config tb_cfg = {
    .time_basis = TB_TIME_CPU,
    .cold = 0,
    .max_sets = 64,
    .min_time = "0.1",
    .max_run_seconds = 5.0,
    .sweep_max_run_seconds = 0.25,
    .peers = TB_PEER_ONEDNN_NCHW | TB_PEER_ONEDNN_BLOCKED | TB_PEER_XNNPACK,
    .test_wrong_kernel = 0,
    .with_bias = 1,
    .sweep_all_isas = 0,
    .auto_all_isas = 0,
    .filter = "",
    .threads = {1},
    .thread_counts = 1,
    .sweep_threads = {1},
    .sweep_thread_counts = 1,
};

int tb_cpus_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

/* Wall clock for every row when --time=real, or when any count > 1 was asked for without --time
 * (so speedups compare like with like); with --time=cpu only the t1 rows keep CPU time, since the
 * calling thread's CPU time misses the work of the other threads. */
int tb_uses_real_time(int threads) { return tb_cfg.time_basis == TB_TIME_REAL || threads > 1; }

/* The basis of the benchmark in flight (tb_now), set when it is activated. */
static int row_real_time;

/* ---- clocks and helpers ---- */

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
double tb_wall(void) { return clock_seconds(CLOCK_MONOTONIC); }
double tb_thread_cpu(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }
double tb_process_cpu(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }
double tb_now(void) { return row_real_time ? tb_wall() : tb_thread_cpu(); }

void *tb_alloc(size_t bytes) {
    size_t total = (bytes + 64 + 63) / 64 * 64; /* slack: some peers read a little past the end */
    void *p = aligned_alloc(64, total);
    if (p) memset(p, 0, total);
    return p;
}

void tb_fill_nan(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = NAN;
}

/* ---- benchmark list ---- */

static tb_bench *benches;
static size_t bench_count, bench_capacity, selected_count;

static tb_bench *new_bench(void) {
    if (bench_count == bench_capacity) {
        size_t cap = bench_capacity ? 2 * bench_capacity : 256;
        tb_bench *p = realloc(benches, cap * sizeof *p);
        if (!p) return NULL;
        benches = p, bench_capacity = cap;
    }
    tb_bench *b = &benches[bench_count++];
    memset(b, 0, sizeof *b);
    return b;
}

/* Why an ISA is not run here ("" when it is): not supported, or outside TCONV_MAX_ISA /
 * TCONV_FORCE_ISA (the harness honours the caps like the dispatcher does). */
static void isa_skip_reason(const char *isa, char *why, size_t n) {
    why[0] = '\0';
    const char *force = getenv("TCONV_FORCE_ISA"), *cap = getenv("TCONV_MAX_ISA");
    if (!tconv_isa_supported(isa)) {
        tconv_cpu_info cpu;
        tconv_get_cpu_info(&cpu);
        snprintf(why, n, "ISA %s is compiled in but not supported by this CPU/OS (%s)", isa,
                 cpu.brand);
        return;
    }
    if (force && *force) {
        if (strcmp(force, isa) != 0)
            snprintf(why, n, "TCONV_FORCE_ISA=%s: only that ISA is run", force);
        return;
    }
    if (cap && *cap) {
        int cap_index = -1, isa_index = -1;
        for (int i = 0; i < tconv_isa_count(); i++) {
            if (strcmp(tconv_isa_name(i), cap) == 0) cap_index = i;
            if (strcmp(tconv_isa_name(i), isa) == 0) isa_index = i;
        }
        if (cap_index >= 0 && isa_index > cap_index)
            snprintf(why, n, "above the cap TCONV_MAX_ISA=%s", cap);
    }
}

/* The weights variant being registered: -1 dense random, else a density; or bilinear. */
static double reg_density = -1;
static int reg_bilinear;

/* "d0.1/" or "bilinear/" between t<N> and the shape name; "" for the default weights. */
static void weights_segment(char *out, size_t n) {
    if (reg_bilinear)
        snprintf(out, n, "bilinear/");
    else if (reg_density >= 0)
        snprintf(out, n, "d%g/", reg_density);
    else
        out[0] = '\0';
}

static tb_bench *add_tconv_bench(const tb_shape_entry *e, int threads, tconv_algo a,
                                 const char *isa, const char *prefix, int perturb) {
    tb_bench *b = new_bench();
    if (!b) return NULL;
    char seg[32];
    weights_segment(seg, sizeof seg);
    b->density = reg_density, b->bilinear = reg_bilinear;
    b->entry = e, b->ops = &tb_tconv_ops, b->algo = a, b->isa = isa, b->perturb = perturb;
    b->threads = threads;
    b->peer = a == TCONV_ALGO_GEMM_BLAS;
    snprintf(b->name, sizeof b->name, "%s%s/%s/t%d/%s%s", prefix, tconv_algo_name(a), isa, threads,
             seg, e->name);
    isa_skip_reason(isa, b->skip, sizeof b->skip);
    return b;
}

/* AUTO's two modes, so the cost of the heuristic's misses shows next to the algorithms it picks
 * from: auto/... (tune = 0) and auto_tuned/... (tune = 1; its plan_ms includes the measurement
 * the first time the process plans that shape, ISA and thread count, a cache or TCONV_WISDOM hit
 * after). Their label names the algorithm chosen. */
static void add_auto_benches(const tb_shape_entry *e, int threads, const char *isa) {
    add_tconv_bench(e, threads, TCONV_ALGO_AUTO, isa, "", 0);
    tb_bench *b = add_tconv_bench(e, threads, TCONV_ALGO_AUTO, isa, "", 0);
    if (!b) return;
    b->tune = 1;
    char seg[32];
    weights_segment(seg, sizeof seg);
    snprintf(b->name, sizeof b->name, "auto_tuned/%s/t%d/%s%s", isa, threads, seg, e->name);
}

static void add_peer_bench(const tb_shape_entry *e, int threads, const tb_runner_ops *ops,
                           const char *algo) {
    tb_bench *b = new_bench();
    if (!b) return;
    b->entry = e, b->ops = ops, b->peer = 1, b->threads = threads;
    char seg[32];
    weights_segment(seg, sizeof seg);
    b->density = reg_density, b->bilinear = reg_bilinear;
    snprintf(b->name, sizeof b->name, "%s/native/t%d/%s%s", algo, threads, seg, e->name);
}

static int filter_selects(const char *name, const regex_t *re, int negate, int empty) {
    if (empty) return 0;
    int match = regexec(re, name, 0, NULL, 0) == 0;
    return negate ? !match : match;
}

/* The ISAs a shape is benchmarked on: every ISA the library has kernels for (its own list, so
 * variants merged later appear without any change here); for the sweep, unless --sweep-isas=all,
 * only the dispatcher's choice, which keeps the sweep's size independent of the variant count. */
static int isa_wanted(const tb_shape_entry *e, const char *isa) {
    if (!tconv_isa_compiled(isa)) return 0;
    if (e->group != TB_GROUP_SWEEP || tb_cfg.sweep_all_isas) return 1;
    const char *active = tconv_active_isa();
    return strcmp(active, "none") == 0 || strcmp(active, isa) == 0;
}

/* AUTO's rows, by default on the dispatcher's ISA only (the AUTO a user gets): on every ISA
 * its two modes were 432 of the main job's rows and pushed it past its 6-minute budget
 * (run vm-20261129-1636: 6 min 55 s). --auto-isas=all brings the other ISAs back. */
static int auto_wanted(const tb_shape_entry *e, const char *isa) {
    if (!isa_wanted(e, isa)) return 0;
    if (tb_cfg.auto_all_isas) return 1;
    const char *active = tconv_active_isa();
    return strcmp(active, "none") == 0 || strcmp(active, isa) == 0;
}

/* Every benchmark of one shape at one thread count. */
static void register_shape_at(const tb_shape_entry *e, int n, int sweep);

static void register_weights_variant(const tb_shape_entry *e, int n) {
    /* Ours: every algorithm but the oracle, on every compiled ISA (library lists); AUTO in both
     * of its modes. */
    for (int a = 0; a < TCONV_ALGO_COUNT; a++) {
        if (a == TCONV_ALGO_AUTO || a == TCONV_ALGO_REFERENCE || a == TCONV_ALGO_GEMM_BLAS)
            continue;
        for (int i = 0; i < tconv_isa_count(); i++)
            if (isa_wanted(e, tconv_isa_name(i)))
                add_tconv_bench(e, n, (tconv_algo)a, tconv_isa_name(i), "", 0);
    }
    for (int i = 0; i < tconv_isa_count(); i++)
        if (auto_wanted(e, tconv_isa_name(i))) add_auto_benches(e, n, tconv_isa_name(i));
    /* The oracle never changes: the timing check divides by its time, measured in this run. */
    if (tb_cfg.with_reference) add_tconv_bench(e, n, TCONV_ALGO_REFERENCE, "scalar", "", 0);
    if (tb_cfg.test_wrong_kernel)
        for (int i = 0; i < tconv_isa_count(); i++)
            if (isa_wanted(e, tconv_isa_name(i)))
                add_tconv_bench(e, n, TCONV_ALGO_DIRECT, tconv_isa_name(i), "perturbed_", 1);
    /* Peers: gemm_blas (OpenBLAS GEMM + our col2im per ISA), oneDNN, XNNPACK. */
    for (int i = 0; i < tconv_isa_count(); i++)
        if (isa_wanted(e, tconv_isa_name(i)))
            add_tconv_bench(e, n, TCONV_ALGO_GEMM_BLAS, tconv_isa_name(i), "", 0);
#if TB_HAVE_ONEDNN
    if (tb_cfg.peers & TB_PEER_ONEDNN_NCHW)
        add_peer_bench(e, n, &tb_onednn_nchw_ops, "onednn_nchw");
    if (tb_cfg.peers & TB_PEER_ONEDNN_BLOCKED)
        add_peer_bench(e, n, &tb_onednn_blocked_ops, "onednn_blocked");
#endif
#if TB_HAVE_XNNPACK
    if (tb_cfg.peers & TB_PEER_XNNPACK) add_peer_bench(e, n, &tb_xnnpack_ops, "xnnpack_nhwc");
#endif
}

size_t tb_register_all(const tb_shape_list *shapes) {
    /* Shape by shape, every thread count of a shape together: its inputs and reference output
     * are prepared once. */
    for (size_t si = 0; si < shapes->count; si++) {
        const tb_shape_entry *e = &shapes->items[si];
        int sweep = e->group == TB_GROUP_SWEEP;
        const int *counts = sweep ? tb_cfg.sweep_threads : tb_cfg.threads;
        int ncounts = sweep ? tb_cfg.sweep_thread_counts : tb_cfg.thread_counts;
        for (int t = 0; t < ncounts; t++) register_shape_at(e, counts[t], sweep);
    }
    /* Selection by --benchmark_filter, done here on the registered names (Google Benchmark's
     * semantics: POSIX extended regex search, '-' negates, "" and "all" select everything) and
     * not by Google Benchmark, which would match names with "/real_time" appended. Only the
     * selected benchmarks are registered with it. */
    const char *filter = tb_cfg.filter;
    int negate = filter[0] == '-', empty = 0; /* "" means all, as in RunSpecifiedBenchmarks */
    const char *pattern = negate ? filter + 1 : filter;
    if (pattern[0] == '\0' || strcmp(pattern, "all") == 0) pattern = ".";
    regex_t re;
    int have_re = !empty && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
    for (size_t i = 0; i < bench_count; i++) {
        benches[i].selected = have_re && filter_selects(benches[i].name, &re, negate, empty);
        selected_count += (size_t)benches[i].selected;
    }
    if (have_re) regfree(&re);
    if (!have_re)
        fprintf(stderr, "tconv-bench: --benchmark_filter=%s is not a valid regex\n", filter);
    for (size_t i = 0; i < bench_count; i++)
        if (benches[i].selected)
            tb_gb_register(benches[i].name, tb_body, &benches[i], 0,
                           tb_uses_real_time(benches[i].threads));
    return bench_count;
}

size_t tb_selected_count(void) { return selected_count; }

void tb_list_selected(FILE *out) {
    for (size_t i = 0; i < bench_count; i++)
        if (benches[i].selected) fprintf(out, "%s\n", benches[i].name);
}

/* Every benchmark of one shape at one thread count, once per weights variant: the default dense
 * random weights, or (layers only) each --weight-density and, for FCN layers, bilinear. */
static void register_shape_at(const tb_shape_entry *e, int n, int sweep) {
    int fcn = strncmp(e->name, "fcn", 3) == 0;
    reg_density = -1, reg_bilinear = 0;
    if (sweep || tb_cfg.density_count == 0) register_weights_variant(e, n);
    if (!sweep)
        for (int i = 0; i < tb_cfg.density_count; i++) {
            reg_density = tb_cfg.densities[i];
            register_weights_variant(e, n);
        }
    if (!sweep && fcn && tb_cfg.bilinear) {
        reg_density = -1, reg_bilinear = 1;
        register_weights_variant(e, n);
    }
    reg_density = -1, reg_bilinear = 0;
}

/* ---- per-shape data: inputs and the reference, shared by all benchmarks of the shape ---- */

static tb_data data;

static void free_data(void) {
    free(data.x), free(data.w), free(data.b), free(data.ref), free(data.mag);
    memset(&data, 0, sizeof data);
}

static uint64_t splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill_uniform(float *p, size_t n, uint64_t *state) { /* [-1, 1) */
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((double)(splitmix(state) >> 40) / (double)(1ull << 23) - 1.0);
}

/* FCN's upsample_filt: the bilinear kernel of size k, on the channel diagonal (w[c][c] =
 * filt(ky) * filt(kx), zero off it), as FCN initializes its upscore layers. */
static void fill_bilinear(const tconv_shape *s, float *w) {
    int64_t cout_g = s->out_channels / s->groups, taps = s->kernel_h * s->kernel_w;
    memset(w, 0, (size_t)(s->in_channels * cout_g * taps) * sizeof *w);
    for (int64_t c = 0; c < s->in_channels; c++) {
        int64_t o = c % (s->in_channels / s->groups); /* the diagonal within the group */
        if (o >= cout_g) continue;
        for (int64_t ky = 0; ky < s->kernel_h; ky++)
            for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                double fy = (double)((s->kernel_h + 1) / 2), fx = (double)((s->kernel_w + 1) / 2);
                double cy = s->kernel_h % 2 ? fy - 1 : fy - 0.5,
                       cx = s->kernel_w % 2 ? fx - 1 : fx - 0.5;
                w[(c * cout_g + o) * taps + ky * s->kernel_w + kx] =
                    (float)((1 - fabs((double)ky - cy) / fy) * (1 - fabs((double)kx - cx) / fx));
            }
    }
}

/* Unstructured magnitude-free pruning: each weight kept with probability `density` (seeded). */
static void prune(float *w, size_t n, double density, uint64_t *state) {
    for (size_t i = 0; i < n; i++)
        if ((double)(splitmix(state) >> 11) / (double)(1ull << 53) >= density) w[i] = 0.0f;
}

static const tb_data *get_data(const tb_bench *b) {
    const tb_shape_entry *e = b->entry;
    if (data.entry == e && data.density_asked == b->density && data.bilinear == b->bilinear)
        return &data;
    free_data();
    data.entry = e;
    data.density_asked = b->density, data.bilinear = b->bilinear;
    data.s = e->shape;
    tconv_output_size(&data.s, &data.oh, &data.ow);
    data.nx = tconv_check_x_elems(&data.s), data.nw = tconv_check_w_elems(&data.s);
    data.ny = tconv_check_y_elems(&data.s);
    data.nb = tb_cfg.with_bias ? (size_t)data.s.out_channels : 0;
    tb_format_descriptor(&data.s, data.desc, sizeof data.desc);
    tconv_flops(&data.s, &data.nominal_flops, &data.useful_flops);
    data.min_bytes = 4.0 * (double)(data.nx + data.nw + data.nb + data.ny);
    data.x = tb_alloc(data.nx * sizeof(float)), data.w = tb_alloc(data.nw * sizeof(float));
    data.b = data.nb ? tb_alloc(data.nb * sizeof(float)) : NULL;
    data.ref = tb_alloc(data.ny * sizeof(float)), data.mag = tb_alloc(data.ny * sizeof(float));
    if (!data.x || !data.w || (data.nb && !data.b) || !data.ref || !data.mag) {
        snprintf(data.error, sizeof data.error, "out of memory for shape %s", data.desc);
        return &data;
    }
    uint64_t seed = 1469598103934665603ull; /* deterministic per shape: FNV-1a of the descriptor */
    for (const char *p = data.desc; *p; p++) seed = (seed ^ (unsigned char)*p) * 1099511628211ull;
    fill_uniform(data.x, data.nx, &seed);
    fill_uniform(data.w, data.nw, &seed);
    if (data.b) fill_uniform(data.b, data.nb, &seed);
    uint64_t prune_seed = seed ^ 0x5eed;
    if (data.bilinear) fill_bilinear(&data.s, data.w);
    if (data.density_asked >= 0) prune(data.w, data.nw, data.density_asked, &prune_seed);
    size_t nonzero = 0;
    for (size_t i = 0; i < data.nw; i++) nonzero += data.w[i] != 0.0f;
    data.density = data.nw ? (double)nonzero / (double)data.nw : 0;
    double t0 = tb_wall();
    if (tconv_check_reference(&data.s, data.x, data.w, data.b, data.ref, data.mag) != TCONV_OK)
        snprintf(data.error, sizeof data.error, "reference failed on %s: %s", data.desc,
                 tconv_last_error());
    double t = tb_wall() - t0;
    if (t > 2.0) fprintf(stderr, "        (reference for %s took %.1f s)\n", e->name, t);
    return &data;
}

/* ---- observed rates, for the run-time estimate that guards against hour-long benchmarks ---- */

static struct {
    char key[64];
    double flops_per_s;
} rates[256];
static int rate_count;

static double *rate_slot(const char *key) {
    for (int i = 0; i < rate_count; i++)
        if (strcmp(rates[i].key, key) == 0) return &rates[i].flops_per_s;
    if (rate_count == 256) return NULL;
    snprintf(rates[rate_count].key, sizeof rates[rate_count].key, "%s", key);
    rates[rate_count].flops_per_s = 0;
    return &rates[rate_count++].flops_per_s;
}

/* FLOPs one run of the benchmark executes (not the useful ones): zero_insert convolves the
 * zero-inserted input with every tap at every output pixel; gemm computes every tap (col2im then
 * drops the cropped ones); the others do about the useful work. */
static double modelled_flops(const tb_bench *b, const tb_data *d) {
    const tconv_shape *s = &d->s;
    if (b->ops != &tb_tconv_ops) return d->nominal_flops;
    switch (b->algo) {
    case TCONV_ALGO_ZERO_INSERT:
        return 2.0 * (double)s->batch * (double)s->in_channels *
               (double)(s->out_channels / s->groups) * (double)(s->kernel_h * s->kernel_w) *
               (double)(d->oh * d->ow);
    case TCONV_ALGO_GEMM:
    case TCONV_ALGO_GEMM_BLAS: return d->nominal_flops;
    case TCONV_ALGO_SPARSE: return d->useful_flops * d->density; /* zero weights skipped */
    default: return d->useful_flops;
    }
}

/* "<algo>/<isa>/t<N>": rates are kept per thread count. */
static void rate_key(const tb_bench *b, int threads, char *key, size_t n) {
    const char *slash = strchr(b->name, '/');
    slash = slash ? strchr(slash + 1, '/') : NULL;
    snprintf(key, n, "%.*s/t%d", slash ? (int)(slash - b->name) : (int)strlen(b->name), b->name,
             threads);
}

/* The best rate seen for this algorithm/ISA at this thread count, else at one thread (a
 * pessimistic estimate for more threads), else 0. */
static double known_rate(const tb_bench *b) {
    char key[64];
    rate_key(b, b->threads, key, sizeof key);
    double *slot = rate_slot(key);
    if (slot && *slot > 0) return *slot;
    rate_key(b, 1, key, sizeof key);
    slot = rate_slot(key);
    return slot ? *slot : 0;
}

/* ---- the benchmark in flight: set up once, reused by Google Benchmark's repeated calls ---- */

static struct {
    tb_bench *bench;
    tb_runner runner;
    int ready, nsets;
    double err_ratio;
    char message[768];
} cur;
static size_t started;
static double start_wall;

static void release_current(void) {
    if (cur.bench && cur.runner.ops && cur.runner.impl) cur.runner.ops->destroy(&cur.runner);
    memset(&cur, 0, sizeof cur);
}

static void fmt_duration(double s, char *buf, size_t n) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void progress(const tb_bench *b) {
    if (started == 0) start_wall = tb_wall();
    started++;
    double elapsed = tb_wall() - start_wall;
    char el[32], eta[32] = "?";
    if (started > 1) {
        size_t total = selected_count > started ? selected_count : started;
        fmt_duration(elapsed / (double)(started - 1) * (double)(total - started + 1), eta,
                     sizeof eta);
    }
    fmt_duration(elapsed, el, sizeof el);
    fprintf(stderr, "[%zu/%zu] %s elapsed, ~%s left: %s\n", started, selected_count, el, eta,
            b->name);
}

static int nsets_for(const tb_data *d) {
    if (!tb_cfg.cold) return 1;
    double per_set = 4.0 * (double)(d->nx + d->ny);
    int sets = (int)ceil(2.0 * (double)tb_mach.llc_bytes / (per_set > 0 ? per_set : 1));
    if (sets < 2) sets = 2;
    if (sets > tb_cfg.max_sets) sets = tb_cfg.max_sets;
    return sets;
}

static void activate(tb_bench *b) {
    release_current();
    cur.bench = b;
    progress(b);
    if (b->skip[0]) {
        snprintf(cur.message, sizeof cur.message, "%s", b->skip);
        return;
    }
    const tb_data *d = get_data(b);
    if (d->error[0]) {
        snprintf(cur.message, sizeof cur.message, "%s", d->error);
        return;
    }
    /* Guard: skip when even the best rate seen so far (or the peak) makes one run too long. */
    double seen = known_rate(b);
    double rate = seen > 0
                      ? seen
                      : 1e9 * b->threads *
                            tb_peak_for_isa(b->ops == &tb_tconv_ops && !b->peer ? b->isa : NULL);
    double work = modelled_flops(b, d);
    double limit =
        b->entry->group == TB_GROUP_SWEEP ? tb_cfg.sweep_max_run_seconds : tb_cfg.max_run_seconds;
    if (rate > 0 && work / rate > limit) {
        snprintf(cur.message, sizeof cur.message,
                 "not run: one run would take about %.3g s (%.3g GFLOP executed by this algorithm "
                 "at %.3g "
                 "GFLOP/s, the best rate %s so far) > limit %.3g s (--max-run-seconds%s)",
                 work / rate, work * 1e-9, rate * 1e-9,
                 seen > 0 ? "it reached" : "of the ISA's peak", limit,
                 b->entry->group == TB_GROUP_SWEEP ? ", sweep" : "");
        return;
    }
    cur.runner.ops = b->ops, cur.runner.algo = b->algo, cur.runner.isa = b->isa,
    cur.runner.perturb = b->perturb, cur.runner.tune = b->tune;
    cur.runner.threads = b->threads;
    cur.nsets = nsets_for(d);
    char why[512] = "";
    if (b->ops->create(&cur.runner, d, cur.nsets, why, sizeof why) != TB_OK) {
        snprintf(cur.message, sizeof cur.message, "%s", why[0] ? why : "runner refused the shape");
        return;
    }
    /* Verification before any timing: every buffer set runs once and is checked. */
    float *y = tb_alloc(d->ny * sizeof(float));
    if (!y) {
        snprintf(cur.message, sizeof cur.message, "out of memory for the check");
        return;
    }
    cur.err_ratio = 0;
    for (int set = 0; set < cur.nsets; set++) {
        tb_fill_nan(y, d->ny);
        b->ops->run(&cur.runner, set);
        b->ops->output(&cur.runner, set, y);
        tconv_check_result res;
        if (!tconv_check_compare(&d->s, d->ref, d->mag, y, &res)) {
            char where[64];
            tconv_check_index_string(&d->s, res.worst_index, where, sizeof where);
            snprintf(
                cur.message, sizeof cur.message,
                "MISMATCH, not timed: worst error %.3g > bound %.3g at index %zu (%s) expected "
                "%.9g "
                "actual %.9g; %zu of %zu outputs outside the bound (first at %zu); buffer set %d; "
                "shape %s",
                res.worst_error, res.worst_bound, res.worst_index, where, res.expected, res.actual,
                res.bad, res.checked, res.first_bad, set, d->desc);
            fprintf(stderr, "        refused: %s: %s\n", b->name, cur.message);
            free(y);
            return;
        }
        if (res.worst_ratio > cur.err_ratio) cur.err_ratio = res.worst_ratio;
    }
    free(y);
    cur.ready = 1;
}

void tb_body(tb_state *st, void *arg) {
    tb_bench *b = arg;
    row_real_time = tb_uses_real_time(b->threads);
    if (cur.bench != b) activate(b);
    if (!cur.ready) {
        tb_skip_with_error(st, cur.message);
        return;
    }
    const tb_data *d = &data;
    tb_runner *r = &cur.runner;
    int set = 0, nsets = cur.nsets;
    double t_thread = tb_thread_cpu(), t_proc = tb_process_cpu(), t_wall = tb_wall(), t0 = tb_now();
    while (tb_keep_running(st)) {
        r->ops->run(r, set);
        tb_keep_alive(r->impl);
        if (++set == nsets) set = 0;
    }
    double secs = tb_now() - t0, wall = tb_wall() - t_wall;
    double thread_cpu = tb_thread_cpu() - t_thread, proc_cpu = tb_process_cpu() - t_proc;
    int64_t iters = tb_iterations(st);
    char key[64];
    rate_key(b, b->threads, key, sizeof key);
    double *slot = rate_slot(key);
    double rate = secs > 0 ? modelled_flops(b, d) * (double)iters / secs : 0;
    if (slot && rate > *slot) *slot = rate;

    /* GFLOP/s: the single-core peak times the thread count (the cores of this machine measured
     * independent); the bandwidth roof stays the single-core measure. */
    double peak = b->threads * tb_peak_for_isa(r->peak_isa);
    double ai = d->useful_flops / d->min_bytes;
    tb_counter(st, "useful_FLOPs", d->useful_flops, 1);
    tb_counter(st, "nominal_FLOPs", d->nominal_flops, 1);
    tb_counter(st, "AI", ai, 0);
    /* Effective: the multiply-adds with a nonzero weight (about useful * density), so sparse's
     * rate is its efficiency on the work it must do; time against the dense best is in report.py.
     */
    tb_counter(st, "weight_density", d->density, 0);
    tb_counter(st, "effective_FLOPs", d->useful_flops * d->density, 1);
    tb_counter(st, "min_bytes", d->min_bytes, 0);
    if (peak > 0) {
        double roof = tb_mach.bw_triad_gbs > 0 && ai * tb_mach.bw_triad_gbs < peak
                          ? ai * tb_mach.bw_triad_gbs
                          : peak;
        tb_counter(st, "peak_GFLOPs", peak, 0);
        tb_counter(st, "roofline_GFLOPs", roof, 0);
        tb_counter(st, "pct_peak", 100.0 * d->useful_flops / (peak * 1e9), 1);
        tb_counter(st, "pct_roofline", 100.0 * d->useful_flops / (roof * 1e9), 1);
    }
    tb_counter(st, "plan_ms", r->plan_seconds * 1e3, 0);
    if (r->plan_bytes >= 0) tb_counter(st, "plan_bytes", r->plan_bytes, 0);
    if (r->layout_seconds >= 0) tb_counter(st, "layout_ms", r->layout_seconds * 1e3, 0);
    tb_counter(st, "err_ratio", cur.err_ratio, 0);
    /* One thread: process CPU / this thread's CPU (1.0 when nothing else worked). More threads:
     * process CPU / wall time, the cores kept busy (N when every thread computed all along). */
    if (b->threads > 1 && wall > 0)
        tb_counter(st, "cpu_ratio", proc_cpu / wall, 0);
    else if (b->threads == 1 && thread_cpu > 0)
        tb_counter(st, "cpu_ratio", proc_cpu / thread_cpu, 0);
    tb_counter(st, "threads", b->threads, 0);
    tb_counter(st, "wall_clock", row_real_time,
               0); /* 1: timed in wall-clock time, 0: thread CPU time */
    tb_counter(st, "sets", nsets, 0);
    if (tb_cfg.cold) tb_counter(st, "rotated_bytes", 4.0 * (double)(d->nx + d->ny) * nsets, 0);
    tb_set_label(st, r->label);
}

void tb_finish(void) {
    release_current();
    free_data();
    if (tb_cfg.test_wrong_kernel)
        fprintf(stderr,
                "test hook: the perturbed kernel (output index %zu changed) ran %ld time(s)\n",
                tb_perturbed_index, tb_perturbed_runs);
    free(benches);
    benches = NULL, bench_count = bench_capacity = 0;
}
