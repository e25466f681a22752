/* The benchmark harness (C): configuration, per-shape data, runners (ours and peers). */
#ifndef TB_HARNESS_H
#define TB_HARNESS_H

#include <stddef.h>

#include "shapes.h"
#include "tconv.h"

/* ---- clocks ---- */
typedef enum tb_time_basis { TB_TIME_CPU, TB_TIME_REAL } tb_time_basis;
double tb_now(void);         /* seconds on the configured basis (thread CPU time or monotonic) */
double tb_wall(void);        /* monotonic seconds */
double tb_thread_cpu(void);  /* this thread's CPU seconds */
double tb_process_cpu(void); /* the whole process's CPU seconds (all threads) */

/* ---- configuration (command line) ---- */
#define TB_MAX_THREAD_COUNTS 16
typedef struct tb_config {
    tb_time_basis time_basis;
    int cold;               /* rotate buffer sets larger than the last-level cache */
    int max_sets;           /* cap on rotated sets in cold mode */
    char min_time[32];      /* --benchmark_min_time, as given (one value for all benchmarks) */
    double max_run_seconds; /* skip a benchmark whose modelled run time exceeds this */
    double sweep_max_run_seconds;
    int peers;             /* bit mask of TB_PEER_* to register */
    int test_wrong_kernel; /* register the perturbed test-only variant */
    int no_machine;        /* --no-machine: no start-up peak/bandwidth measurement */
    int with_reference;    /* also time the frozen reference (the timing check's yardstick) */
    int with_bias;
    int sweep_all_isas; /* sweep: every compiled ISA (1) or only the dispatcher's choice (0) */
    int auto_all_isas; /* AUTO's rows: every compiled ISA (1) or only the dispatcher's choice (0) */
    const char *filter; /* --benchmark_filter (applied by the harness, see tb_register_all) */
    int time_given;     /* --time was on the command line (else real time when any N > 1) */
    /* Thread counts (--threads, --sweep-threads): every benchmark exists once per count. */
    int threads[TB_MAX_THREAD_COUNTS];
    int thread_counts;
    int sweep_threads[TB_MAX_THREAD_COUNTS];
    int sweep_thread_counts;
    /* --weight-density=LIST: layer rows per density, weights pruned at random (seeded) */
    double densities[TB_MAX_THREAD_COUNTS];
    int density_count;
    int bilinear; /* --weights=bilinear: FCN layers also with their bilinear upsampling weights */
} tb_config;
extern tb_config tb_cfg;
/* Every CPU this process may run on (sched_getaffinity; 1 when that fails). */
int tb_cpus_available(void);
/* Whether a benchmark at this thread count is timed in wall-clock time. */
int tb_uses_real_time(int threads);

/* ---- the machine (measured at start-up) ---- */
#define TB_MAX_ISAS 16
typedef struct tb_machine {
    int isa_count;
    const char *isa[TB_MAX_ISAS];
    double peak_gflops[TB_MAX_ISAS]; /* 0: not measured (no peak loop, or ISA not supported) */
    double best_peak_gflops;         /* highest measured: the ceiling for peers */
    const char *best_peak_isa;
    double bw_triad_gbs, bw_read_gbs;
    size_t llc_bytes;
} tb_machine;
extern tb_machine tb_mach;
/* Caches always; peaks and bandwidth unless timed is 0 (--no-machine: they stay 0). */
void tb_measure_machine(int timed);
double tb_peak_for_isa(const char *isa); /* 0 when unknown */
int tb_peak_compiled(const char *isa);

/* ---- one shape's data, shared by every benchmark of that shape ---- */
typedef struct tb_data {
    const tb_shape_entry *entry;
    tconv_shape s;
    int64_t oh, ow;
    size_t nx, nw, nb, ny;
    float *x, *w, *b; /* b NULL without bias */
    float *ref, *mag; /* reference output and the absolute sum (for the bound) */
    double nominal_flops, useful_flops, min_bytes;
    double density_asked; /* -1: uniform random weights; else pruned to it (tb_bench.density) */
    int bilinear;         /* FCN's channel-diagonal bilinear weights */
    double density;       /* nonzero weights / weights, as generated */
    char desc[192];       /* canonical descriptor */
    char error[256];      /* why the data could not be prepared ("" when fine) */
} tb_data;

/* ---- runners: one algorithm (ours or a peer) on one shape ---- */
typedef enum tb_status { TB_OK = 0, TB_SKIP = 1 } tb_status;

typedef struct tb_runner tb_runner;
typedef struct tb_runner_ops {
    /* Builds everything outside the timed loop: the plan / primitive / operator (timed into
     * r->plan_seconds), nsets input sets (initialised from d->x, converted to the runner's layout)
     * and nsets output sets filled with NaN. TB_SKIP + reason in why when it cannot run. */
    tb_status (*create)(tb_runner *r, const tb_data *d, int nsets, char *why, size_t n);
    void (*run)(tb_runner *r, int set);              /* the timed work, nothing else */
    void (*output)(tb_runner *r, int set, float *y); /* set's output in NCHW, untimed */
    void (*destroy)(tb_runner *r);
} tb_runner_ops;

struct tb_runner {
    const tb_runner_ops *ops;
    /* what to run (filled before create) */
    tconv_algo algo;
    const char *isa; /* our ISA tag; NULL for peers */
    int threads;     /* threads the runner uses: our plan's, oneDNN's OpenMP, XNNPACK's pool */
    int perturb;     /* test-only: change one output after every run */
    int tune;        /* options.tune of our plan (AUTO: 0 heuristic, 1 measured) */
    /* filled by create */
    void *impl;
    double plan_seconds; /* one-time cost: plan / primitive / operator creation + weight packing */
    double plan_bytes;   /* memory the plan holds (-1 unknown) */
    double layout_seconds; /* per run, excluded from the timing: layout transforms/reorders (-1
                              none) */
    const char *peak_isa;  /* the measured peak that applies to this runner */
    char label[192];
};

extern const tb_runner_ops tb_tconv_ops;
#define TB_PEER_ONEDNN_NCHW 1
#define TB_PEER_ONEDNN_BLOCKED 2
#define TB_PEER_XNNPACK 4
#if TB_HAVE_ONEDNN
extern const tb_runner_ops tb_onednn_nchw_ops, tb_onednn_blocked_ops;
void tb_onednn_context(void (*add)(const char *key, const char *value));
#endif
#if TB_HAVE_XNNPACK
extern const tb_runner_ops tb_xnnpack_ops;
void tb_xnnpack_context(void (*add)(const char *key, const char *value));
#endif

/* test hook: how often the perturbed kernel ran */
extern long tb_perturbed_runs;
extern size_t tb_perturbed_index;

/* helpers */
void *tb_alloc(size_t bytes); /* 64-byte aligned, zeroed, with 64 bytes of slack; NULL on failure */
void tb_fill_nan(float *p, size_t n);

#endif
