/* tconv-bench: the Google Benchmark harness for tconv (see bench/README section in README.md).
 * Our flags are parsed here and removed; the rest goes to Google Benchmark (--benchmark_*). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench_config.h"
#include "bench_internal.h"
#include "check.h"
#include "gb_shim.h"
#include "harness.h"
#include "shapes.h"

#define TB_DEFAULT_MIN_TIME "0.05"

#if TB_HAVE_OPENBLAS
#include <cblas.h>
#endif
#if TB_HAVE_LIBCPUID
#include <libcpuid/libcpuid.h>
#endif

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: tconv-bench [options] [--benchmark_* flags]\n"
        "  --layers=FILE          real layers file (default %s/layers.txt); --layers=none: no "
        "layers\n"
        "  --sweep=default|full|none   the i/k/s/p sweep (default: default)\n"
        "  --sweep-isas=best|all  sweep on the dispatcher's ISA only (default) or on every "
        "compiled ISA\n"
        "  --auto-isas=best|all   AUTO's rows (auto/, auto_tuned/) on the dispatcher's ISA only "
        "(default) or on every compiled ISA\n"
        "  --shape=DESC[:NAME]    a benchdnn-like descriptor, e.g. mb1ic512ih8oc256kh4sh2ph1 "
        "(repeatable;\n"
        "                         when given, layers and sweep are off unless asked for)\n"
        "  --with-reference       also time the reference algorithm (timing check denominator)\n"
        "  --peers=all|none|LIST  LIST of onednn_nchw,onednn_blocked,xnnpack (default all found)\n"
        "  --threads=LIST         thread counts, e.g. 1,2 or 1,all (all: every CPU of the "
        "process,\n"
        "                         sched_getaffinity; default 1): every benchmark once per count, "
        "named\n"
        "                         <algo>/<isa>/t<N>/<shape>; ours get options.threads = N, oneDNN\n"
        "                         omp_set_num_threads(N), XNNPACK a pthreadpool of N (none at 1)\n"
        "  --sweep-threads=LIST   thread counts for the sweep shapes (default: the first of "
        "--threads)\n"
        "  --time=cpu|real        timing basis: thread CPU time or wall clock. Default: thread "
        "CPU\n"
        "                         time when every count is 1, else wall clock for every row; rows "
        "at\n"
        "                         more than one thread are always timed in wall-clock time\n"
        "  --cold                 cache-cold: rotate input/output buffer sets > 2x the last-level "
        "cache\n"
        "  --max-sets=N           cap on rotated sets in cold mode (default 64)\n"
        "  --max-run-seconds=S    skip a layer benchmark whose single run would take longer "
        "(default 5)\n"
        "  --sweep-max-run-seconds=S  same for the sweep (default 0.25)\n"
        "  --no-bias              benchmark without bias\n"
        "  --no-machine           skip the start-up peak and bandwidth measurement (rows get no\n"
        "                         pct_peak/pct_roofline; for checks that only need the rows)\n"
        "  --weight-density=LIST  layer rows per weight density, e.g. 1,0.3,0.1: weights pruned "
        "at\n"
        "                         random (seeded, unstructured); names get d<D>/ before the shape\n"
        "  --weights=bilinear     also FCN layers (fcn*) with FCN's channel-diagonal bilinear\n"
        "                         weights; names get bilinear/ before the shape\n"
        "  (default --benchmark_min_time is " TB_DEFAULT_MIN_TIME
        " s, one value for every benchmark)\n"
        "  --test-wrong-kernel    also register perturbed_direct/<isa>/...: a deliberately wrong "
        "kernel\n"
        "                         (one output changed) that the check must refuse before timing\n",
        TB_SHAPES_DIR);
}

/* "1,2,all" -> distinct counts in the order given; 0 and a message on a bad list. */
static int parse_thread_list(const char *flag, const char *list, int *out, int *count, char *err,
                             size_t n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (strcmp(tok, "all") == 0) {
            v = tb_cpus_available();
        } else {
            char *end;
            v = strtol(tok, &end, 10);
            if (end == tok || *end != '\0' || v < 1 || v > 4096) {
                snprintf(err, n, "%s: '%s' is not a thread count (1 to 4096, or all)", flag, tok);
                return 0;
            }
        }
        int seen = 0;
        for (int i = 0; i < *count; i++) seen |= out[i] == (int)v;
        if (seen) continue;
        if (*count == TB_MAX_THREAD_COUNTS) {
            snprintf(err, n, "%s: more than %d thread counts", flag, TB_MAX_THREAD_COUNTS);
            return 0;
        }
        out[(*count)++] = (int)v;
    }
    if (*count == 0) {
        snprintf(err, n, "%s: empty list", flag);
        return 0;
    }
    return 1;
}

static void format_thread_list(const int *counts, int n, char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%d", i ? "," : "", counts[i]);
    }
}

static int starts(const char *arg, const char *prefix, const char **value) {
    size_t n = strlen(prefix);
    if (strncmp(arg, prefix, n) != 0) return 0;
    *value = arg + n;
    return 1;
}

/* printf into one of a few rotating buffers: key and value may both come from here. */
static char *ctx_buf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ctx_buf(const char *fmt, ...) {
    static char bufs[4][2048];
    static int next;
    char *buf = bufs[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return buf;
}

/* A TCONV_AVX512_EMULATION test build (x86_features.c marks its detection string): its avx512
 * benchmarks time SIMDe code on AVX2+FMA, not AVX-512. */
static int avx512_emulated(const tconv_cpu_info *cpu) {
    return strstr(cpu->detection, "avx512: emulated") != NULL;
}

static const char *avx512_kind(const tconv_cpu_info *cpu) {
    if (avx512_emulated(cpu))
        return "avx512: emulated (SIMDe on AVX2+FMA, TCONV_AVX512_EMULATION test build): avx512 "
               "timings are "
               "not AVX-512's; do not publish them";
    return tconv_isa_compiled("avx512") ? "native" : "not compiled";
}

static void add_context(const tb_shape_list *shapes, const char *sweep_mode, int sweep_invalid) {
    tconv_cpu_info cpu;
    tconv_get_cpu_info(&cpu);
    tb_gb_add_context("tconv.version", TB_TCONV_VERSION);
    tb_gb_add_context("git.commit", TB_GIT_COMMIT);
    tb_gb_add_context("git.dirty_at_configure", TB_GIT_DIRTY);
    tb_gb_add_context("build.type", TB_BUILD_TYPE);
    tb_gb_add_context("build.c_compiler", TB_C_COMPILER);
    tb_gb_add_context("build.c_flags", TB_C_FLAGS);
    tb_gb_add_context("build.cxx_compiler", TB_CXX_COMPILER);
    tb_gb_add_context("build.isa_flags", TB_ISA_FLAGS);
    tb_gb_add_context("build.scalar_flags",
                      "-fno-tree-vectorize (library scalar kernels and peak_scalar.c)");
    tb_gb_add_context("google_benchmark.version", tb_gb_version());
#if TB_HAVE_LIBCPUID
    tb_gb_add_context("libcpuid.version", cpuid_lib_version());
#endif
    tb_gb_add_context("cpu.brand", cpu.brand);
    tb_gb_add_context("cpu.vendor", cpu.vendor);
    tb_gb_add_context("cpu.family_model_stepping",
                      ctx_buf("%d/%d/%d", cpu.family, cpu.model, cpu.stepping));
    tb_gb_add_context("cpu.caches_kb",
                      ctx_buf("L1d %d, L2 %d, L3 %d", cpu.l1d_kb, cpu.l2_kb, cpu.l3_kb));
    tb_gb_add_context("cpu.detection", cpu.detection);
    tb_gb_add_context("isa.avx512", avx512_kind(&cpu));
    /* ISAs: every tag the library knows, compiled (has kernels), supported, measured peak. */
    char isas[1024] = "";
    for (int i = 0; i < tconv_isa_count(); i++) {
        const char *t = tconv_isa_name(i);
        size_t len = strlen(isas);
        snprintf(isas + len, sizeof isas - len, "%s%s:%s,%s", len ? ";" : "", t,
                 tconv_isa_compiled(t) ? "compiled" : "not-compiled",
                 tconv_isa_supported(t) ? "supported" : "not-supported");
        double peak = tb_peak_for_isa(t);
        if (peak > 0) tb_gb_add_context(ctx_buf("peak_gflops.%s", t), ctx_buf("%.2f", peak));
    }
    tb_gb_add_context("isa.list", isas);
    tb_gb_add_context("isa.active", tconv_active_isa());
    const char *cap = getenv("TCONV_MAX_ISA"), *force = getenv("TCONV_FORCE_ISA");
    tb_gb_add_context("isa.cap", ctx_buf("TCONV_MAX_ISA=%s TCONV_FORCE_ISA=%s",
                                         cap ? cap : "(unset)", force ? force : "(unset)"));
    char variants[2048] = "";
    for (int i = 0; i < tconv_variant_count(); i++) {
        size_t len = strlen(variants);
        snprintf(variants + len, sizeof variants - len, "%s%s", len ? "," : "",
                 tconv_variant_name(i));
    }
    tb_gb_add_context("tconv.variants", variants);
    tb_gb_add_context("machine.peak_isa", tb_mach.best_peak_isa ? tb_mach.best_peak_isa : "none");
    tb_gb_add_context("machine.peak_gflops", ctx_buf("%.2f", tb_mach.best_peak_gflops));
    tb_gb_add_context("machine.bw_triad_gbs", ctx_buf("%.2f", tb_mach.bw_triad_gbs));
    tb_gb_add_context("machine.bw_read_gbs", ctx_buf("%.2f", tb_mach.bw_read_gbs));
    tb_gb_add_context(
        "machine.method",
        "peak: best of 40 ~10 ms runs of independent multiply-add chains per ISA "
        "(bench/peak/peak_<isa>.c, the ISA's flags); bandwidth: STREAM-like triad a=b+s*c "
        "over 3 arrays of 4x LLC, counting 3 arrays of bytes, best of 5; single core");
    int any_multi = 0;
    for (int i = 0; i < tb_cfg.thread_counts; i++) any_multi |= tb_cfg.threads[i] > 1;
    for (int i = 0; i < tb_cfg.sweep_thread_counts; i++) any_multi |= tb_cfg.sweep_threads[i] > 1;
    tb_gb_add_context("timing.basis",
                      tb_cfg.time_basis == TB_TIME_REAL
                          ? "wall clock (UseRealTime) for every row; rates use real_time"
                      : any_multi
                          ? "per row (counter wall_clock): t1 rows thread CPU time (cpu_time), "
                            "t<N> rows with N > 1 wall clock (UseRealTime, real_time); rates use it"
                          : "thread CPU time (Google Benchmark cpu_time; rates use it)");
    char list[128], sweep_list[128];
    format_thread_list(tb_cfg.threads, tb_cfg.thread_counts, list, sizeof list);
    format_thread_list(tb_cfg.sweep_threads, tb_cfg.sweep_thread_counts, sweep_list,
                       sizeof sweep_list);
    tb_gb_add_context("threads.list", list);
    tb_gb_add_context("threads.sweep_list", sweep_list);
    tb_gb_add_context("threads.cpus_available",
                      ctx_buf("%d (sched_getaffinity)", tb_cpus_available()));
    tb_gb_add_context(
        "threads.counters",
        "threads = N of t<N>; wall_clock = 1 when the row is timed in wall-clock time; cpu_ratio = "
        "process CPU / thread CPU over the timed loop at t1 (1.0: only this thread worked), "
        "process CPU / wall time at t<N> with N > 1 (utilisation: N when every thread worked "
        "all along)");
    tb_gb_add_context("threads.peaks",
                      "peak_GFLOPs at t<N> = N x the single-core peak of the ISA (the cores "
                      "measured independent); the roofline's bandwidth is the single-core triad");
    tb_gb_add_context("timing.cold",
                      tb_cfg.cold ? ctx_buf("on: rotating up to %d input/output sets "
                                            "(> 2x LLC when possible); weights stay in the plan",
                                            tb_cfg.max_sets)
                                  : "off (warm caches)");
    tb_gb_add_context("timing.min_time",
                      ctx_buf("%s s per benchmark (--benchmark_min_time)", tb_cfg.min_time));
    tb_gb_add_context("timing.max_run_seconds",
                      ctx_buf("layers %.3g s, sweep %.3g s", tb_cfg.max_run_seconds,
                              tb_cfg.sweep_max_run_seconds));
    tb_gb_add_context("check.bound",
                      ctx_buf("|y-ref| <= %.1f * L * 2^-24 * (|b| + sum |x||w|), L = Cin/g*Kh*Kw "
                              "(bench/check.h, shared with tests)",
                              TCONV_CHECK_BOUND_C));
    tb_gb_add_context("data", tb_cfg.with_bias
                                  ? "x, w, bias uniform in [-1, 1), seeded per shape"
                                  : "x, w uniform in [-1, 1), no bias, seeded per shape");
    tb_gb_add_context("sweep.mode",
                      ctx_buf("%s (%d invalid combinations left out)", sweep_mode, sweep_invalid));
    tb_gb_add_context("sweep.isas", tb_cfg.sweep_all_isas
                                        ? "every compiled ISA"
                                        : ctx_buf("the dispatcher's choice only (%s); "
                                                  "--sweep-isas=all for every ISA",
                                                  tconv_active_isa()));
    tb_gb_add_context("auto.isas", tb_cfg.auto_all_isas
                                       ? "every compiled ISA"
                                       : ctx_buf("the dispatcher's choice only (%s); "
                                                 "--auto-isas=all for every ISA",
                                                 tconv_active_isa()));
    tb_gb_add_context("peers.algorithms", "gemm_blas,onednn_nchw,onednn_blocked,xnnpack_nhwc");
#if TB_HAVE_OPENBLAS
    tb_gb_add_context("peer.gemm_blas.openblas",
                      ctx_buf("%s (%s); openblas_get_num_threads()=%d", TB_OPENBLAS_VERSION,
                              openblas_get_config(), openblas_get_num_threads()));
    tb_gb_add_context("peer.gemm_blas.threads",
                      "at t<N> the library's gemm_blas plan runs on N threads of its own "
                      "pool: OpenBLAS sgemm on fixed tiles of the col buffer, then our "
                      "col2im; OpenBLAS itself pinned to one thread (openblas_set_num_threads(1) "
                      "by the harness at start-up and by the plan), so its threads do not "
                      "nest inside the plan's");
#else
    tb_gb_add_context("peer.gemm_blas.openblas",
                      "not found at configure time (gemm_blas plans refuse)");
#endif
#if TB_HAVE_ONEDNN
    tb_onednn_context(tb_gb_add_context);
#else
    tb_gb_add_context("peer.onednn.version", "not found at configure time");
#endif
#if TB_HAVE_XNNPACK
    tb_xnnpack_context(tb_gb_add_context);
#else
    tb_gb_add_context("peer.xnnpack.version", "not found at configure time");
#endif
    for (size_t i = 0; i < shapes->count; i++) {
        const tb_shape_entry *e = &shapes->items[i];
        if (e->group == TB_GROUP_SWEEP) continue;
        char desc[192];
        tb_format_descriptor(&e->shape, desc, sizeof desc);
        tb_gb_add_context(ctx_buf("layer.%s", e->name), ctx_buf("%s | %s", desc, e->source));
    }
}

/* "1,0.5,0.1": each in [0, 1], at most TB_MAX_THREAD_COUNTS of them. */
static int parse_density_list(const char *list) {
    tb_cfg.density_count = 0;
    for (const char *p = list; *p;) {
        char *end;
        double d = strtod(p, &end);
        if (end == p || !(d >= 0 && d <= 1) || (*end && *end != ',') ||
            tb_cfg.density_count == TB_MAX_THREAD_COUNTS) {
            fprintf(stderr,
                    "tconv-bench: --weight-density wants up to %d numbers in [0, 1] separated by "
                    "commas (got '%s')\n",
                    TB_MAX_THREAD_COUNTS, list);
            return 0;
        }
        tb_cfg.densities[tb_cfg.density_count++] = d;
        p = *end ? end + 1 : end;
    }
    return tb_cfg.density_count > 0;
}

#if TB_HAVE_OPENBLAS
/* OpenBLAS cores whose sgemm uses AVX-512, and those older than AVX2 (its fallbacks). */
static int core_in(const char *core, const char *const *list) {
    for (; *list; list++)
        if (strcasecmp(core, *list) == 0) return 1;
    return 0;
}

/* Debian 12's OpenBLAS 0.3.21 does not know CPUs newer than itself (this Xeon, family 6 model
 * 207) and falls back to its Prescott (SSE3) kernels: gemm_blas ran U-Net deep at 22.6 GFLOP/s,
 * 81.9 with OPENBLAS_CORETYPE=SkylakeX (one process each, same minute). A peer must run at its
 * best, so when OpenBLAS picked a core below what the CPU runs, the bench re-executes itself once
 * with OPENBLAS_CORETYPE set (read when the library loads, so it cannot be changed in-process).
 * A user's own OPENBLAS_CORETYPE is kept; the JSON context names the core either way. */
static void give_openblas_its_kernels(char **argv) {
    static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const pre_avx2_cores[] = {
        "Prescott",    "Core2",        "Penryn",    "Dunnington", "Nehalem",   "Sandybridge",
        "Katmai",      "Coppermine",   "Northwood", "Banias",     "Atom",      "Athlon",
        "Opteron",     "Opteron_SSE3", "Barcelona", "Bobcat",     "Bulldozer", "Piledriver",
        "Steamroller", "Excavator",    NULL};
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *core = openblas_get_corename(), *want = NULL;
#if defined(__x86_64__) || defined(__i386__)
    /* The CPU itself (not tconv's dispatch, which an emulated AVX-512 build overrides). */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        !core_in(core, avx512_cores))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             core_in(core, pre_avx2_cores))
        want = "Haswell";
#endif
    if (!want) return;
    fprintf(stderr,
            "tconv-bench: OpenBLAS chose its %s kernels on this CPU; re-running with "
            "OPENBLAS_CORETYPE=%s so gemm_blas runs at its best\n",
            core, want);
    setenv("OPENBLAS_CORETYPE", want, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "tconv-bench: re-executing failed (%s); gemm_blas keeps %s\n", strerror(errno),
            core);
}
#endif

int main(int argc, char **argv) {
#if TB_HAVE_OPENBLAS
    give_openblas_its_kernels(argv);
#endif
    const char *layers_path = TB_SHAPES_DIR "/layers.txt", *sweep_mode = NULL, *value;
    const char *min_time = NULL, *out_file = NULL, *out_format = "json";
    int layers_asked = 0, listing = 0, sweep_threads_given = 0;
    tb_shape_list cli = {0};
    char err[512];
    /* Arguments for Google Benchmark: the program name, the --benchmark_* flags, a default min
     * time. */
    char **gb_argv = calloc((size_t)argc + 2, sizeof *gb_argv);
    if (!gb_argv) return 1;
    gb_argv[0] = argv[0];
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            printf("\nGoogle Benchmark flags (--benchmark_filter=REGEX, --benchmark_out=FILE, ...) "
                   "pass through.\n");
            return 0;
        } else if (starts(a, "--layers=", &value)) {
            layers_path = strcmp(value, "none") == 0 ? NULL : value, layers_asked = 1;
        } else if (starts(a, "--sweep=", &value)) {
            if (strcmp(value, "default") && strcmp(value, "full") && strcmp(value, "none")) {
                fprintf(stderr, "tconv-bench: --sweep must be default, full or none\n");
                return 2;
            }
            sweep_mode = value;
        } else if (starts(a, "--sweep-isas=", &value)) {
            if (strcmp(value, "best") && strcmp(value, "all")) {
                fprintf(stderr, "tconv-bench: --sweep-isas must be best or all\n");
                return 2;
            }
            tb_cfg.sweep_all_isas = strcmp(value, "all") == 0;
        } else if (starts(a, "--auto-isas=", &value)) {
            if (strcmp(value, "best") && strcmp(value, "all")) {
                fprintf(stderr, "tconv-bench: --auto-isas must be best or all\n");
                return 2;
            }
            tb_cfg.auto_all_isas = strcmp(value, "all") == 0;
        } else if (starts(a, "--shape=", &value)) {
            tb_shape_entry e = {0};
            char desc[256];
            snprintf(desc, sizeof desc, "%s", value);
            char *colon = strchr(desc, ':');
            if (colon) *colon = '\0';
            if (!tb_parse_descriptor(desc, &e.shape, err, sizeof err)) {
                fprintf(stderr, "tconv-bench: %s\n", err);
                return 2;
            }
            snprintf(e.name, sizeof e.name, "cli/%.88s", colon ? colon + 1 : desc);
            snprintf(e.source, sizeof e.source, "command line: %.200s", desc);
            e.group = TB_GROUP_CLI;
            tb_shape_list_add(&cli, &e);
        } else if (starts(a, "--peers=", &value)) {
            tb_cfg.peers = 0;
            if (strcmp(value, "all") == 0)
                tb_cfg.peers = TB_PEER_ONEDNN_NCHW | TB_PEER_ONEDNN_BLOCKED | TB_PEER_XNNPACK;
            if (strstr(value, "onednn_nchw")) tb_cfg.peers |= TB_PEER_ONEDNN_NCHW;
            if (strstr(value, "onednn_blocked")) tb_cfg.peers |= TB_PEER_ONEDNN_BLOCKED;
            if (strstr(value, "xnnpack")) tb_cfg.peers |= TB_PEER_XNNPACK;
        } else if (starts(a, "--threads=", &value) || starts(a, "--sweep-threads=", &value)) {
            int sweep = strncmp(a, "--sweep-", 8) == 0;
            if (!parse_thread_list(sweep ? "--sweep-threads" : "--threads", value,
                                   sweep ? tb_cfg.sweep_threads : tb_cfg.threads,
                                   sweep ? &tb_cfg.sweep_thread_counts : &tb_cfg.thread_counts, err,
                                   sizeof err)) {
                fprintf(stderr, "tconv-bench: %s\n", err);
                return 2;
            }
            if (sweep) sweep_threads_given = 1;
        } else if (starts(a, "--time=", &value)) {
            if (strcmp(value, "cpu") && strcmp(value, "real")) {
                fprintf(stderr, "tconv-bench: --time must be cpu or real\n");
                return 2;
            }
            tb_cfg.time_basis = strcmp(value, "cpu") == 0 ? TB_TIME_CPU : TB_TIME_REAL;
            tb_cfg.time_given = 1;
        } else if (strcmp(a, "--cold") == 0) {
            tb_cfg.cold = 1;
        } else if (starts(a, "--max-sets=", &value)) {
            tb_cfg.max_sets = atoi(value) > 0 ? atoi(value) : 1;
        } else if (starts(a, "--max-run-seconds=", &value)) {
            tb_cfg.max_run_seconds = atof(value);
        } else if (starts(a, "--sweep-max-run-seconds=", &value)) {
            tb_cfg.sweep_max_run_seconds = atof(value);
        } else if (starts(a, "--weight-density=", &value)) {
            if (!parse_density_list(value)) return 2;
        } else if (starts(a, "--weights=", &value)) {
            if (strcmp(value, "bilinear") != 0) {
                fprintf(stderr, "tconv-bench: --weights must be bilinear (got '%s')\n", value);
                return 2;
            }
            tb_cfg.bilinear = 1;
        } else if (strcmp(a, "--no-bias") == 0) {
            tb_cfg.with_bias = 0;
        } else if (strcmp(a, "--no-machine") == 0) {
            tb_cfg.no_machine = 1;
        } else if (strcmp(a, "--with-reference") == 0) {
            tb_cfg.with_reference = 1;
        } else if (strcmp(a, "--test-wrong-kernel") == 0) {
            tb_cfg.test_wrong_kernel = 1;
        } else if (strncmp(a, "--benchmark_", 12) == 0) {
            if (strncmp(a, "--benchmark_list_tests", 22) == 0) {
                listing = strcmp(a, "--benchmark_list_tests=false") != 0;
                continue; /* the harness lists the names itself (without "/real_time") */
            }
            if (starts(a, "--benchmark_filter=", &value)) {
                tb_cfg.filter = value; /* applied by the harness on the registered names */
                continue;
            }
            if (starts(a, "--benchmark_min_time=", &value)) min_time = value;
            if (starts(a, "--benchmark_out=", &value)) out_file = value;
            if (starts(a, "--benchmark_out_format=", &value)) out_format = value;
            gb_argv[kept++] = argv[i];
        } else {
            fprintf(stderr, "tconv-bench: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!sweep_threads_given)
        tb_cfg.sweep_threads[0] = tb_cfg.threads[0], tb_cfg.sweep_thread_counts = 1;
    /* Speedups divide a t<N> time by a t1 time: without --time, every row is wall clock as soon as
     * any count exceeds 1 (thread CPU time would miss the other threads' work at t<N>). */
    for (int i = 0; i < tb_cfg.thread_counts && !tb_cfg.time_given; i++)
        if (tb_cfg.threads[i] > 1) tb_cfg.time_basis = TB_TIME_REAL;
    for (int i = 0; i < tb_cfg.sweep_thread_counts && !tb_cfg.time_given; i++)
        if (tb_cfg.sweep_threads[i] > 1) tb_cfg.time_basis = TB_TIME_REAL;
    /* One min time for every benchmark, passed as the global flag: a per-benchmark MinTime would
     * append "/min_time:..." to the names. */
    char min_time_flag[64];
    if (!min_time) {
        min_time = TB_DEFAULT_MIN_TIME;
        snprintf(min_time_flag, sizeof min_time_flag, "--benchmark_min_time=%s", min_time);
        gb_argv[kept++] = min_time_flag;
    }
    snprintf(tb_cfg.min_time, sizeof tb_cfg.min_time, "%s", min_time);
    gb_argv[kept] = NULL;
    int gb_argc = tb_gb_initialize(kept, gb_argv);
    if (gb_argc > 1) {
        fprintf(stderr, "tconv-bench: unknown argument '%s'\n", gb_argv[1]);
        return 2;
    }

    /* Shapes: real layers, command-line shapes, sweep. */
    tb_shape_list shapes = {0};
    int have_cli = cli.count > 0;
    if (layers_path && (!have_cli || layers_asked)) {
        if (tb_load_layers(layers_path, &shapes, err, sizeof err) < 0) {
            fprintf(stderr, "tconv-bench: %s\n", err);
            return 2;
        }
    }
    for (size_t i = 0; i < cli.count; i++) tb_shape_list_add(&shapes, &cli.items[i]);
    if (!sweep_mode) sweep_mode = have_cli ? "none" : "default";
    int invalid = 0;
    if (strcmp(sweep_mode, "none") != 0)
        tb_add_sweep(&shapes, strcmp(sweep_mode, "full") == 0, &invalid);

#if TB_HAVE_OPENBLAS
    openblas_set_num_threads(1);
#endif
    tconv_cpu_info cpu;
    tconv_get_cpu_info(&cpu);
    if (avx512_emulated(&cpu)) fprintf(stderr, "tconv-bench: WARNING: %s\n", avx512_kind(&cpu));
    tb_measure_machine(!listing && !tb_cfg.no_machine);
    if (!listing && !tb_cfg.no_machine) {
        fprintf(stderr, "tconv-bench: measured peak FLOP/s per ISA and streaming bandwidth\n");
        for (int i = 0; i < tb_mach.isa_count; i++)
            if (tb_mach.peak_gflops[i] > 0)
                fprintf(stderr, "  peak %-7s %8.2f GFLOP/s\n", tb_mach.isa[i],
                        tb_mach.peak_gflops[i]);
        fprintf(stderr, "  bandwidth: triad %.2f GB/s, read %.2f GB/s (one core)\n",
                tb_mach.bw_triad_gbs, tb_mach.bw_read_gbs);
    }
    size_t n = tb_register_all(&shapes);
    if (!listing) {
        add_context(&shapes, sweep_mode, invalid);
        fprintf(stderr,
                "tconv-bench: %zu benchmarks registered, %zu selected (%zu shapes; sweep %s; min "
                "time %s s)\n",
                n, tb_selected_count(), shapes.count, sweep_mode, tb_cfg.min_time);
    }
    if (listing || tb_selected_count() == 0) {
        if (listing)
            tb_list_selected(stdout);
        else
            fprintf(stderr, "tconv-bench: no benchmark matches --benchmark_filter=%s\n",
                    tb_cfg.filter);
        tb_finish();
        tb_shape_list_free(&shapes);
        tb_shape_list_free(&cli);
        free(gb_argv);
        return 0;
    }
    double t0 = tb_wall();
    tb_gb_run("useful_FLOPs", "pct_peak,pct_roofline", out_file && *out_file ? out_format : NULL);
    tb_finish();
    if (!listing) {
        double t = tb_wall() - t0;
        fprintf(stderr, "tconv-bench: done in %.0f min %.0f s\n", (double)(long)(t / 60),
                t - 60 * (double)(long)(t / 60));
    }
    tb_gb_shutdown();
    tb_shape_list_free(&shapes);
    tb_shape_list_free(&cli);
    free(gb_argv);
    return 0;
}
