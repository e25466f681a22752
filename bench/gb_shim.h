/* gb_shim: the C face of Google Benchmark (1.7.1 from Debian). Everything else in bench/ is C;
 * this header and gb_shim.cc are the only places that know about benchmark::State. */
#ifndef TB_GB_SHIM_H
#define TB_GB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_state tb_state; /* a benchmark::State, opaque to C */
typedef void tb_body_fn(tb_state *state, void *arg);

/* benchmark::Initialize: consumes the --benchmark_* flags from argv. Returns the remaining argc;
 * unknown flags are reported by the caller. */
int tb_gb_initialize(int argc, char **argv);
/* Registers one benchmark. min_time_s > 0 sets MinTime; real_time != 0 sets UseRealTime. */
void tb_gb_register(const char *name, tb_body_fn *body, void *arg, double min_time_s,
                    int real_time);
void tb_gb_add_context(const char *key, const char *value);
/* Runs the selected benchmarks with a console reporter that shows, per row, the rate counter
 * `display_rate` (e.g. FLOP/s) as a column and the counters named in `label_counters`
 * (comma-separated) plus the label in the label column; every counter still goes to the file
 * reporter (--benchmark_out). out_format: the --benchmark_out_format when --benchmark_out is given
 * ("json" when only the file is), NULL without a file. Rows keep their registered names in both
 * reporters: the "/real_time" suffix Google Benchmark appends under UseRealTime is dropped (JSON
 * file and console; the deprecated CSV reporter keeps it). The harness registers only the
 * benchmarks its own --benchmark_filter selects, so Google Benchmark's filter (which would see the
 * suffix) is left at "all". Returns the number of benchmarks run. */
size_t tb_gb_run(const char *display_rate, const char *label_counters, const char *out_format);
void tb_gb_shutdown(void);
const char *tb_gb_version(void);

/* ---- inside a benchmark body ---- */
int tb_keep_running(tb_state *st);
void tb_skip_with_error(tb_state *st, const char *message); /* then return from the body */
int64_t tb_iterations(const tb_state *st);
/* kind: 0 plain value, 1 iteration-invariant rate (value per iteration / benchmark time). */
void tb_counter(tb_state *st, const char *name, double value, int kind);
void tb_set_label(tb_state *st, const char *label);
void tb_keep_alive(void *p); /* benchmark::DoNotOptimize + ClobberMemory */

#ifdef __cplusplus
}
#endif
#endif
