/* The machine's limits, measured at start-up: peak FP32 throughput per ISA (bench/peak/) and
 * single-core streaming bandwidth. Nothing here is hard-coded per CPU. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_shim.h"
#include "harness.h"
#include "peak/peak.h"

tb_machine tb_mach;

typedef double peak_fn(long iters, double *flops);
static const struct {
    const char *isa;
    peak_fn *fn;
} peak_table[] = {
#define TB_PEAK(isa) {#isa, tb_peak_##isa},
#include "tb_peaks.def"
#undef TB_PEAK
};
#define PEAK_COUNT (sizeof peak_table / sizeof peak_table[0])

static volatile double sink;

int tb_peak_compiled(const char *isa) {
    for (size_t i = 0; i < PEAK_COUNT; i++)
        if (strcmp(peak_table[i].isa, isa) == 0) return 1;
    return 0;
}

/* Best of 40 trials of about 10 ms: the host may be shared, the maximum is the machine's. */
static double measure_peak(peak_fn *fn) {
    long iters = 1000;
    double flops, t;
    for (;;) { /* calibrate */
        t = tb_now();
        sink = fn(iters, &flops);
        t = tb_now() - t;
        if (t > 0.01 || iters > (1l << 40)) break;
        iters *= 4;
    }
    iters = (long)((double)iters * 0.01 / (t > 1e-6 ? t : 1e-6)) + 1;
    double best = 0;
    for (int trial = 0; trial < 40; trial++) {
        t = tb_now();
        sink = fn(iters, &flops);
        t = tb_now() - t;
        if (t > 0 && flops / t > best) best = flops / t;
    }
    return best * 1e-9;
}

/* STREAM-style triad a = b + s*c over arrays well beyond the last-level cache, counting the
 * 3 arrays' bytes (no write-allocate traffic), and a read-only sum; best of several passes. */
static void measure_bandwidth(size_t llc_bytes) {
    size_t bytes = 4 * llc_bytes;
    if (bytes < ((size_t)64 << 20)) bytes = (size_t)64 << 20;
    size_t n = bytes / sizeof(float);
    float *a = tb_alloc(bytes), *b = tb_alloc(bytes), *c = tb_alloc(bytes);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return;
    }
    for (size_t i = 0; i < n; i++) a[i] = 0.f, b[i] = 1.f, c[i] = 2.f;
    double best_triad = 0, best_read = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t = tb_now();
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
        t = tb_now() - t;
        tb_keep_alive(a);
        if (t > 0 && 3.0 * (double)bytes / t > best_triad) best_triad = 3.0 * (double)bytes / t;
        t = tb_now();
        float s[16] = {0};
        for (size_t i = 0; i + 15 < n; i += 16)
            for (int j = 0; j < 16; j++) s[j] += b[i + j];
        t = tb_now() - t;
        for (int j = 1; j < 16; j++) s[0] += s[j];
        sink = (double)s[0];
        if (t > 0 && (double)bytes / t > best_read) best_read = (double)bytes / t;
    }
    tb_mach.bw_triad_gbs = best_triad * 1e-9;
    tb_mach.bw_read_gbs = best_read * 1e-9;
    free(a), free(b), free(c);
}

void tb_measure_machine(int timed) {
    tconv_cpu_info cpu;
    size_t llc = (size_t)32 << 20;
    if (tconv_get_cpu_info(&cpu) == TCONV_OK) {
        if (cpu.l3_kb > 0)
            llc = (size_t)cpu.l3_kb << 10;
        else if (cpu.l2_kb > 0)
            llc = (size_t)cpu.l2_kb << 10;
    }
    tb_mach.llc_bytes = llc;
    tb_mach.isa_count = 0;
    for (int i = 0; i < tconv_isa_count() && i < TB_MAX_ISAS; i++) {
        const char *isa = tconv_isa_name(i);
        tb_mach.isa[i] = isa;
        tb_mach.peak_gflops[i] = 0;
        tb_mach.isa_count = i + 1;
        if (!timed || !tconv_isa_supported(isa)) continue;
        for (size_t j = 0; j < PEAK_COUNT; j++)
            if (strcmp(peak_table[j].isa, isa) == 0)
                tb_mach.peak_gflops[i] = measure_peak(peak_table[j].fn);
        if (tb_mach.peak_gflops[i] > tb_mach.best_peak_gflops)
            tb_mach.best_peak_gflops = tb_mach.peak_gflops[i], tb_mach.best_peak_isa = isa;
    }
    if (timed) measure_bandwidth(llc);
}

double tb_peak_for_isa(const char *isa) {
    if (!isa) return tb_mach.best_peak_gflops;
    for (int i = 0; i < tb_mach.isa_count; i++)
        if (strcmp(tb_mach.isa[i], isa) == 0) return tb_mach.peak_gflops[i];
    return 0;
}
