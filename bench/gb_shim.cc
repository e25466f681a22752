// gb_shim: the only C++ in the harness. Thin wrappers over Google Benchmark 1.7.1 for C callers,
// plus a console reporter that keeps the table narrow (details stay in the JSON file).
#include "gb_shim.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

benchmark::State &S(tb_state *st) { return *reinterpret_cast<benchmark::State *>(st); }

std::vector<std::string> split(const std::string &s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// UseRealTime makes Google Benchmark append "/real_time" to a benchmark's name. The harness
// names rows <algo>/<isa>/t<N>/<shape> and says per row which clock timed it (the wall_clock
// counter), so the reporters drop that suffix.
void drop_time_type(std::vector<benchmark::BenchmarkReporter::Run> &runs) {
    for (benchmark::BenchmarkReporter::Run &r : runs) r.run_name.time_type.clear();
}

template <class Base> class PlainNameReporter : public Base {
  public:
    void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run> &runs) override {
        std::vector<benchmark::BenchmarkReporter::Run> renamed(runs);
        drop_time_type(renamed);
        Base::ReportRuns(renamed);
    }
};

// Console rows: one rate column and a compact label; the file reporter gets the full runs.
class NarrowConsoleReporter : public benchmark::ConsoleReporter {
  public:
    NarrowConsoleReporter(OutputOptions opts, std::string rate, std::vector<std::string> in_label)
        : ConsoleReporter(opts), rate_(std::move(rate)), in_label_(std::move(in_label)) {}

    void ReportRuns(const std::vector<Run> &runs) override {
        std::vector<Run> shown(runs);
        drop_time_type(shown);
        for (Run &r : shown) {
            if (r.error_occurred) continue;
            std::string extra;
            for (const std::string &name : in_label_) {
                auto it = r.counters.find(name);
                if (it == r.counters.end()) continue;
                char buf[64];
                std::snprintf(buf, sizeof buf, "%s%s=%.3g", extra.empty() ? "" : " ", name.c_str(),
                              it->second.value);
                extra += buf;
            }
            benchmark::UserCounters kept;
            auto it = r.counters.find(rate_);
            if (it != r.counters.end()) kept[rate_] = it->second;
            r.counters = kept;
            r.report_label = extra + (r.report_label.empty() ? "" : "  " + r.report_label);
        }
        ConsoleReporter::ReportRuns(shown);
    }

  private:
    std::string rate_;
    std::vector<std::string> in_label_;
};

} // namespace

extern "C" {

int tb_gb_initialize(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    return argc;
}

void tb_gb_register(const char *name, tb_body_fn *body, void *arg, double min_time_s,
                    int real_time) {
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [body, arg](benchmark::State &st) { body(reinterpret_cast<tb_state *>(&st), arg); });
    b->Unit(benchmark::kMillisecond);
    if (min_time_s > 0) b->MinTime(min_time_s);
    if (real_time) b->UseRealTime();
}

void tb_gb_add_context(const char *key, const char *value) {
    benchmark::AddCustomContext(key, value);
}

size_t tb_gb_run(const char *display_rate, const char *label_counters, const char *out_format) {
    int opts = benchmark::ConsoleReporter::OO_Tabular;
    if (isatty(STDOUT_FILENO)) opts |= benchmark::ConsoleReporter::OO_Color;
    NarrowConsoleReporter reporter(static_cast<benchmark::ConsoleReporter::OutputOptions>(opts),
                                   display_rate ? display_rate : "",
                                   split(label_counters ? label_counters : ""));
    std::string format = out_format ? out_format : "";
    if (format == "json") {
        PlainNameReporter<benchmark::JSONReporter> file;
        return benchmark::RunSpecifiedBenchmarks(&reporter, &file);
    }
    return benchmark::RunSpecifiedBenchmarks(&reporter);
}

void tb_gb_shutdown(void) { benchmark::Shutdown(); }

const char *tb_gb_version(void) { return TB_BENCHMARK_VERSION; }

int tb_keep_running(tb_state *st) { return S(st).KeepRunning() ? 1 : 0; }

void tb_skip_with_error(tb_state *st, const char *message) { S(st).SkipWithError(message); }

int64_t tb_iterations(const tb_state *st) {
    return static_cast<int64_t>(reinterpret_cast<const benchmark::State *>(st)->iterations());
}

void tb_counter(tb_state *st, const char *name, double value, int kind) {
    S(st).counters[name] =
        benchmark::Counter(value, kind == 1 ? benchmark::Counter::kIsIterationInvariantRate
                                            : benchmark::Counter::kDefaults);
}

void tb_set_label(tb_state *st, const char *label) { S(st).SetLabel(label); }

void tb_keep_alive(void *p) {
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
}

} // extern "C"
