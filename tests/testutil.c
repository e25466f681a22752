/* Test helpers: deterministic data, guard-page buffers and the derived error bound check. */
#define _DEFAULT_SOURCE
#include "testutil.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void tu_seed(tu_rng *r, uint64_t seed) { r->state = seed * 0x9E3779B97F4A7C15ull + 1; }

uint64_t tu_next(tu_rng *r) { /* splitmix64 */
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tu_uniform(tu_rng *r) {
    return (float)((double)(tu_next(r) >> 40) / (double)(1ull << 23) - 1.0);
}

void tu_fill(tu_rng *r, float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = tu_uniform(r);
}

int64_t tu_range(tu_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(tu_next(r) % (uint64_t)(hi - lo + 1));
}

int tu_guarded_alloc(tu_guarded *g, size_t count, int at_end) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = count * sizeof(float);
    size_t data_pages = (bytes + page - 1) / page;
    if (data_pages == 0) data_pages = 1;
    g->map_bytes = (data_pages + 2) * page;
    g->base = mmap(NULL, g->map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED) return 0;
    char *data_start = (char *)g->base + page;
    if (mprotect(data_start, data_pages * page, PROT_READ | PROT_WRITE) != 0) return 0;
    g->data = (float *)(at_end ? data_start + data_pages * page - bytes : data_start);
    return 1;
}

void tu_guarded_free(tu_guarded *g) {
    if (g->base && g->base != MAP_FAILED) munmap(g->base, g->map_bytes);
    g->base = NULL;
}

static int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t p, int64_t op, int64_t d) {
    return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

size_t tu_x_elems(const tconv_shape *s) {
    return (size_t)(s->batch * s->in_channels * s->in_h * s->in_w);
}
size_t tu_w_elems(const tconv_shape *s) {
    return (size_t)(s->in_channels * (s->out_channels / s->groups) * s->kernel_h * s->kernel_w);
}
size_t tu_y_elems(const tconv_shape *s) {
    return (size_t)(s->batch * s->out_channels *
                    out_extent(s->in_h, s->kernel_h, s->stride_h, s->pad_h, s->out_pad_h,
                               s->dilation_h) *
                    out_extent(s->in_w, s->kernel_w, s->stride_w, s->pad_w, s->out_pad_w,
                               s->dilation_w));
}

void tu_shape_string(const tconv_shape *s, char *buf, size_t n) {
    snprintf(buf, n,
             "mb%" PRId64 "ic%" PRId64 "ih%" PRId64 "iw%" PRId64 "oc%" PRId64 "kh%" PRId64
             "kw%" PRId64 "sh%" PRId64 "sw%" PRId64 "ph%" PRId64 "pw%" PRId64 "oph%" PRId64
             "opw%" PRId64 "dh%" PRId64 "dw%" PRId64 "g%" PRId64,
             s->batch, s->in_channels, s->in_h, s->in_w, s->out_channels, s->kernel_h, s->kernel_w,
             s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->out_pad_h, s->out_pad_w,
             s->dilation_h, s->dilation_w, s->groups);
}

/* Reference output and magnitude term (|b| + sum |x||w|) for one check. */
typedef struct reference {
    float *ref, *mag;
} reference;

static void reference_free(reference *r) {
    free(r->ref), free(r->mag);
    r->ref = r->mag = NULL;
}

static int reference_compute(const tconv_shape *s, const float *x, const float *w,
                             const float *bias, reference *r) {
    size_t ny = tu_y_elems(s);
    r->ref = malloc(ny * sizeof(float)), r->mag = malloc(ny * sizeof(float));
    if (!r->ref || !r->mag || tconv_check_reference(s, x, w, bias, r->ref, r->mag) != TCONV_OK) {
        printf("reference failed: %s\n", tconv_last_error());
        reference_free(r);
        return 0;
    }
    return 1;
}

/* Compares y with a computed reference under the derived bound; prints the first failures. */
static int compare_output(const tconv_shape *s, const char *algo, const char *isa, const float *y,
                          const reference *r) {
    size_t ny = tu_y_elems(s);
    double scale = tconv_check_bound_scale(s);
    int failures = 0;
    for (size_t i = 0; i < ny; i++) {
        double bound = scale * (double)r->mag[i];
        double err = fabs((double)y[i] - (double)r->ref[i]);
        if (!(err <= bound)) { /* also catches NaN */
            if (failures++ < 5) {
                char desc[256];
                tu_shape_string(s, desc, sizeof desc);
                printf("MISMATCH algo=%s isa=%s shape=%s index=%zu expected=%.9g actual=%.9g "
                       "error=%.3g bound=%.3g\n",
                       algo, isa ? isa : tconv_active_isa(), desc, i, (double)r->ref[i],
                       (double)y[i], err, bound);
            }
        }
    }
    return failures == 0;
}

int tu_check_output(const tconv_shape *s, const char *algo, const char *isa, const float *x,
                    const float *w, const float *bias, const float *y) {
    reference r;
    if (!reference_compute(s, x, w, bias, &r)) return 0;
    int ok = compare_output(s, algo, isa, y, &r);
    reference_free(&r);
    return ok;
}

/* tu_run_case's cache of the last reference, per thread: every algorithm and ISA run on one shape
 * and data set compares against one reference (the slow part, above all under emulation). The
 * main thread's cache is freed at exit; another thread using tu_run_case calls
 * tu_release_reference_cache before it ends. */
static _Thread_local struct {
    tconv_shape shape;
    int has_bias;
    float *x, *w, *bias;
    reference r;
} cache;

void tu_release_reference_cache(void) {
    free(cache.x), free(cache.w), free(cache.bias);
    reference_free(&cache.r);
    memset(&cache, 0, sizeof cache);
}

static void register_release_at_exit(void) { atexit(tu_release_reference_cache); }

static int cache_matches(const tconv_shape *s, const float *x, const float *w, const float *bias) {
    return cache.r.ref && memcmp(&cache.shape, s, sizeof *s) == 0 &&
           cache.has_bias == (bias != NULL) &&
           memcmp(cache.x, x, tu_x_elems(s) * sizeof(float)) == 0 &&
           memcmp(cache.w, w, tu_w_elems(s) * sizeof(float)) == 0 &&
           (!bias || memcmp(cache.bias, bias, (size_t)s->out_channels * sizeof(float)) == 0);
}

static float *copy_floats(const float *p, size_t n) {
    float *q = malloc((n ? n : 1) * sizeof(float));
    if (q && p) memcpy(q, p, n * sizeof(float));
    return q;
}

static int check_output_cached(const tconv_shape *s, const char *algo, const char *isa,
                               const float *x, const float *w, const float *bias, const float *y) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_release_at_exit);
    if (!cache_matches(s, x, w, bias)) {
        tu_release_reference_cache();
        if (!reference_compute(s, x, w, bias, &cache.r)) return 0;
        cache.shape = *s, cache.has_bias = bias != NULL;
        cache.x = copy_floats(x, tu_x_elems(s));
        cache.w = copy_floats(w, tu_w_elems(s));
        cache.bias = copy_floats(bias, bias ? (size_t)s->out_channels : 0);
    }
    int ok = compare_output(s, algo, isa, y, &cache.r);
    if (!cache.x || !cache.w || !cache.bias) tu_release_reference_cache(); /* copies failed */
    return ok;
}

int tu_run_case(const tconv_shape *s, tconv_algo algo, const char *isa, uint64_t seed,
                int with_bias) {
    return tu_run_case_ex(s, algo, isa, seed, (int)(seed & 1), with_bias);
}

int tu_run_case_ex(const tconv_shape *s, tconv_algo algo, const char *isa, uint64_t data_seed,
                   int at_end, int with_bias) {
    tu_rng rng;
    tu_seed(&rng, data_seed);
    tu_guarded gx = {0}, gw = {0}, gb = {0}, gy = {0};
    size_t nx = tu_x_elems(s), nw = tu_w_elems(s), ny = tu_y_elems(s);
    int ok = tu_guarded_alloc(&gx, nx, at_end) && tu_guarded_alloc(&gw, nw, at_end) &&
             tu_guarded_alloc(&gb, (size_t)s->out_channels, at_end) &&
             tu_guarded_alloc(&gy, ny, at_end);
    if (!ok) {
        printf("guarded allocation failed\n");
    } else {
        tu_fill(&rng, gx.data, nx);
        tu_fill(&rng, gw.data, nw);
        tu_fill(&rng, gb.data, (size_t)s->out_channels);
        for (size_t i = 0; i < ny; i++) gy.data[i] = NAN; /* every output must be written */
        tconv_plan_options opt = {.isa = isa};
        tconv_plan *plan = NULL;
        const float *bias = with_bias ? gb.data : NULL;
        tconv_status st = tconv_plan_create_ex(s, algo, gw.data, bias, &opt, &plan);
        if (st == TCONV_OK) st = tconv_plan_run(plan, gx.data, gy.data);
        tconv_plan_destroy(plan);
        if (st != TCONV_OK) {
            char desc[256];
            tu_shape_string(s, desc, sizeof desc);
            printf("FAILED CALL algo=%s shape=%s: %s: %s\n", tconv_algo_name(algo), desc,
                   tconv_status_string(st), tconv_last_error());
            ok = 0;
        } else {
            ok =
                check_output_cached(s, tconv_algo_name(algo), isa, gx.data, gw.data, bias, gy.data);
        }
    }
    tu_guarded_free(&gx), tu_guarded_free(&gw), tu_guarded_free(&gb), tu_guarded_free(&gy);
    return ok;
}
