#!/usr/bin/env python3
"""tconv benchmark report: Google Benchmark JSON files from tconv-bench -> RESULTS.md + PNG plots.

Usage: scripts/report.py [--out RESULTS.md] [--plots results/] results/<host>-<date>.json [...]

Several JSON files (several machines or runs) give one section each plus a cross-machine summary.
Names are <algo>/<isa>/t<N>/<shape> (runs from before --threads, <algo>/<isa>/<shape>, read as t1).
With several thread counts: per-count tables, a scaling table (speedup of N threads over 1 for the
best of ours and for each peer; best of ours against the best peer at each N) and a scaling plot.
Error rows (skipped benchmarks: Google Benchmark 1.7.1 reports SkipWithError as an error row) are
dropped from every table and plot and listed with their reasons. Only python3 + matplotlib.
"""
import argparse
import copy
import json
import math
import os
import re
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

DEFAULT_PEERS = ["gemm_blas", "onednn_nchw", "onednn_blocked", "xnnpack_nhwc"]
ALGO_ORDER = ["zero_insert", "direct", "gemm", "sparse", "gemm_blas", "onednn_nchw", "onednn_blocked",
              "xnnpack_nhwc"]
COLORS = {"zero_insert": "#9e9e9e", "direct": "#1f77b4", "gemm": "#2ca02c", "sparse": "#9467bd",
          "gemm_blas": "#bcbd22", "onednn_nchw": "#ff7f0e", "onednn_blocked": "#d62728",
          "xnnpack_nhwc": "#17becf"}
SWEEP_RE = re.compile(r"^sweep/i(\d+)_k(\d+)_s(\d+)_p(\d+)_c(\d+)$")
THREADS_RE = re.compile(r"^t(\d+)$")
DENSITY_RE = re.compile(r"^d([0-9.]+(?:e[-+]?\d+)?)/(.+)$")  # --weight-density rows: d<D>/<layer>
BILINEAR_PREFIX = "bilinear/"  # --weights=bilinear rows: bilinear/<layer>
DENSITY_ALGOS = ["direct", "gemm", "sparse"]  # the crossover plot's lines


def split_name(name):
    """<algo>/<isa>/t<N>/<shape> -> (algo, isa, N, shape); without t<N> (older runs): N = 1."""
    parts = name.split("/")
    if len(parts) > 3 and THREADS_RE.match(parts[2]):
        return parts[0], parts[1], int(parts[2][1:]), "/".join(parts[3:])
    return parts[0], parts[1], 1, "/".join(parts[2:])


def split_weights(shape):
    """d0.1/dcgan_512_256 -> (0.1, "dcgan_512_256"); bilinear/fcn8s -> ("bilinear", "fcn8s");
    a plain shape (random dense weights) -> (None, shape)."""
    m = DENSITY_RE.match(shape)
    if m:
        try:
            return float(m.group(1)), m.group(2)
        except ValueError:
            pass
    if shape.startswith(BILINEAR_PREFIX):
        return "bilinear", shape[len(BILINEAR_PREFIX):]
    return None, shape


def color(algo):
    return COLORS.get(algo, "#8c564b")


class Row:
    """One verified-and-timed benchmark."""

    def __init__(self, b):
        self.name = b.get("run_name", b["name"])
        self.algo, self.variant, self.threads, self.shape = split_name(self.name)
        self.key = self.algo + "/" + self.variant
        self.gflops = b.get("useful_FLOPs", 0.0) / 1e9
        self.nominal_gflops = b.get("nominal_FLOPs", 0.0) / 1e9
        unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        self.cpu_ms = b.get("cpu_time", 0.0) * unit
        self.real_ms = b.get("real_time", 0.0) * unit
        self.pct_peak = b.get("pct_peak")
        self.pct_roof = b.get("pct_roofline")
        self.peak = b.get("peak_GFLOPs")
        self.roof = b.get("roofline_GFLOPs")
        self.ai = b.get("AI")
        self.plan_ms = b.get("plan_ms")
        self.plan_bytes = b.get("plan_bytes")
        self.layout_ms = b.get("layout_ms")
        self.err_ratio = b.get("err_ratio")
        self.cpu_ratio = b.get("cpu_ratio")
        self.wall_clock = bool(b.get("wall_clock", 0))
        self.ms = self.real_ms if self.wall_clock else self.cpu_ms  # the time its rate is based on
        self.label = b.get("label", "")
        self.iterations = b.get("iterations", 0)
        # Weight rows (--weight-density, --weights=bilinear): `weights` is the density or
        # "bilinear", `layer` the plain layer name; None / the shape for the dense-weight rows.
        self.weights, self.layer = split_weights(self.shape)
        self.weight_density = b.get("weight_density")
        self.effective_gflops = b.get("effective_FLOPs", 0.0) / 1e9


class Run:
    """One JSON file: context, timed rows, skipped rows."""

    def __init__(self, path):
        with open(path) as f:
            doc = json.load(f)
        self.path = path
        self.tag = os.path.splitext(os.path.basename(path))[0]
        self.ctx = doc.get("context", {})
        peers = self.ctx.get("peers.algorithms")
        self.peers = peers.split(",") if peers else DEFAULT_PEERS
        self.rows, self.skipped = [], []
        by_name = OrderedDict()
        for b in doc.get("benchmarks", []):
            if b.get("error_occurred"):
                self.skipped.append((b.get("run_name", b["name"]), b.get("error_message", "")))
                continue
            # With --benchmark_repetitions keep the median aggregate, else the single iteration row.
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") != "median":
                    continue
                by_name[b.get("run_name")] = Row(b)
            elif b.get("run_name", b["name"]) not in by_name or b.get("repetitions", 1) == 1:
                by_name.setdefault(b.get("run_name", b["name"]), Row(b))
        # The weight rows are kept apart: the dense tables, plots and summaries never see them.
        self.weight_rows = [r for r in by_name.values() if r.weights is not None]
        self.rows = [r for r in by_name.values() if r.weights is None]
        self.order = {}  # shape -> first position among the benchmarks (registration order)
        for b in doc.get("benchmarks", []):
            shape = split_name(b.get("run_name", b["name"]))[3]
            self.order.setdefault(shape, len(self.order))
        self.threads = sorted({r.threads for r in self.rows}) or \
            sorted({r.threads for r in self.weight_rows}) or [1]
        self.layers = OrderedDict()  # layer name -> (descriptor, source), from the context
        for k, v in self.ctx.items():
            if k.startswith("layer."):
                desc, _, src = v.partition(" | ")
                self.layers[k[len("layer."):]] = (desc, src)

    def absorb(self, other):
        """Takes the weight rows and skipped rows of a companion run (bench.sh's -density.json)."""
        self.weight_rows += other.weight_rows
        self.skipped += other.skipped
        for shape in other.order:
            self.order.setdefault(shape, len(self.order))
        self.density_tag = other.tag

    def is_peer(self, row):
        return row.algo in self.peers

    def at(self, n):
        """The same run restricted to the rows at n threads (skipped rows: those at n)."""
        view = copy.copy(self)
        view.rows = [r for r in self.rows if r.threads == n]
        view.weight_rows = [r for r in self.weight_rows if r.threads == n]
        view.skipped = [(name, msg) for name, msg in self.skipped if split_name(name)[2] == n]
        view.threads = [n]
        return view

    def by_shape(self):
        d = OrderedDict()
        for r in self.rows:
            d.setdefault(r.shape, []).append(r)
        return d

    def peaks(self):
        return {k[len("peak_gflops."):]: float(v) for k, v in self.ctx.items() if k.startswith("peak_gflops.")}


def fmt(v, digits=3):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return "%.0f" % v
    return ("%%.%dg" % digits) % v


def real_layer_shapes(run):
    """Real layers (and --shape ones) in benchmark order, including fully skipped ones."""
    shapes = []
    for name in [r.name for r in run.rows] + [n for n, _ in run.skipped]:
        shape = split_name(name)[3]
        if split_weights(shape)[0] is not None:
            continue  # weight rows: the sparse-weights section
        if not shape.startswith("sweep/") and shape not in shapes:
            shapes.append(shape)
    order = run.order
    return sorted(shapes, key=lambda s: order.get(s, len(order)))


def short_descriptor(desc):
    """mb1g1ic512ih8iw8oc256kh4kw4sh2sw2ph1pw1oph0opw0dh1dw1 -> mb1ic512ih8oc256kh4sh2ph1."""
    v = dict(re.findall(r"([a-z]+?)(\d+)", desc))
    if not v:
        return desc
    out = "mb%s" % v.get("mb", "1")
    if v.get("g", "1") != "1":
        out += "g" + v["g"]
    out += "ic%sih%s" % (v.get("ic"), v.get("ih"))
    if v.get("iw") != v.get("ih"):
        out += "iw" + v["iw"]
    out += "oc%skh%s" % (v.get("oc"), v.get("kh"))
    if v.get("kw") != v.get("kh"):
        out += "kw" + v["kw"]
    for a, b, dflt in (("sh", "sw", "1"), ("ph", "pw", "0"), ("oph", "opw", "0"), ("dh", "dw", "1")):
        if v.get(a, dflt) != dflt or v.get(b, dflt) != v.get(a, dflt):
            out += a + v.get(a, dflt)
        if v.get(b, dflt) != v.get(a, dflt):
            out += b + v.get(b, dflt)
    return out


def best(rows):
    return max(rows, key=lambda r: r.gflops) if rows else None


def layer_summary(run):
    """Per real layer: fastest of ours, best peer, ratio."""
    out = []
    for shape in real_layer_shapes(run):
        rows = run.by_shape().get(shape, [])
        ours = best([r for r in rows if not run.is_peer(r)])
        peer = best([r for r in rows if run.is_peer(r)])
        out.append((shape, ours, peer))
    return out


# ---------------------------------------------------------------------------------------------
# plots

def plot_layers(run, path):
    shapes = real_layer_shapes(run)
    if not shapes:
        return None
    keys = []
    for r in run.rows:
        if r.shape in shapes and r.key not in keys:
            keys.append(r.key)
    keys.sort(key=lambda k: (ALGO_ORDER.index(k.split("/")[0]) if k.split("/")[0] in ALGO_ORDER else 99, k))
    table = {(r.shape, r.key): r.gflops for r in run.rows}
    n, m = len(shapes), len(keys)
    fig, ax = plt.subplots(figsize=(11, 0.42 * n * max(1, m) / 3 + 2))
    height = 0.8 / m
    for j, key in enumerate(keys):
        ys, xs = [], []
        for i, s in enumerate(shapes):
            v = table.get((s, key))
            if v:
                ys.append(i + (j - (m - 1) / 2) * height)
                xs.append(v)
        algo = key.split("/")[0]
        hatch = "//" if algo in run.peers else None
        ax.barh(ys, xs, height=height, color=color(algo), hatch=hatch, edgecolor="white", linewidth=0.3,
                label=key + (" (peer)" if algo in run.peers else ""))
    ax.set_yticks(range(n))
    ax.set_yticklabels(shapes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    n_threads = run.threads[0]
    ax.set_xlabel("useful GFLOP/s (log scale, %s)" % ("single thread" if n_threads == 1 else "%d threads" % n_threads))
    ax.set_title("%s: real layers at t%d, every algorithm/ISA and peer (%s)" % (
        run.tag, n_threads, run.ctx.get("cpu.brand", "?")), fontsize=9)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_cells(run):
    """(c, k, s) -> rows of the (k, s) grid at i=16 with the default padding."""
    cells = defaultdict(list)
    for r in run.rows:
        m = SWEEP_RE.match(r.shape)
        if not m:
            continue
        i, k, s, p, c = map(int, m.groups())
        if i != 16 or p != (max(0, (k - s + 1) // 2) if k > s else 0):
            continue
        cells[(c, k, s)].append(r)
    return cells


def plot_sweep(run, path):
    cells = sweep_cells(run)
    if not cells:
        return None
    chans = sorted({c for c, _, _ in cells})
    ks = sorted({k for _, k, _ in cells})
    ss = sorted({s for _, _, s in cells})
    fig, axes = plt.subplots(2, len(chans), figsize=(5.2 * len(chans), 9), squeeze=False)
    used = set()
    for col, c in enumerate(chans):
        for row, (title, pick) in enumerate([("ours only", lambda r: not run.is_peer(r)),
                                             ("ours and peers", lambda r: True)]):
            ax = axes[row][col]
            ax.set_xlim(-0.5, len(ss) - 0.5)
            ax.set_ylim(len(ks) - 0.5, -0.5)
            for yi, k in enumerate(ks):
                for xi, s in enumerate(ss):
                    rows = [r for r in cells.get((c, k, s), []) if pick(r)]
                    if not rows:
                        ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, color="#eeeeee"))
                        ax.text(xi, yi, "n/a", ha="center", va="center", fontsize=6, color="#777777")
                        continue
                    rows.sort(key=lambda r: -r.gflops)
                    w = rows[0]
                    others = [r for r in rows if r.algo != w.algo]
                    margin = w.gflops / others[0].gflops if others and others[0].gflops > 0 else None
                    used.add(w.algo)
                    ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, color=color(w.algo),
                                               hatch="xx" if s > k else None, alpha=0.85))
                    txt = w.algo.replace("_", "\n", 1) if len(w.algo) > 8 else w.algo
                    txt += "\n%.2g GF/s" % w.gflops
                    if margin:
                        txt += "\nx%.2g" % margin
                    ax.text(xi, yi, txt, ha="center", va="center", fontsize=5.5)
            ax.set_xticks(range(len(ss)))
            ax.set_xticklabels(["s=%d" % s for s in ss], fontsize=8)
            ax.set_yticks(range(len(ks)))
            ax.set_yticklabels(["k=%d" % k for k in ks], fontsize=8)
            ax.set_title("%d->%d channels, 16x16 input, p=ceil((k-s)/2): winner, %s" % (c, c, title), fontsize=8)
    handles = [Patch(color=color(a), label=a) for a in ALGO_ORDER if a in used]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="xx", label="s > k (output has gaps)"))
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8)
    fig.suptitle("%s: fastest algorithm over (kernel, stride); 'xN' = margin over the best other algorithm"
                 % run.tag, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_roofline(run, path):
    peaks = run.peaks()
    bw = float(run.ctx.get("machine.bw_triad_gbs", "0") or 0)
    shapes = real_layer_shapes(run)
    rows = [r for r in run.rows if r.shape in shapes and r.ai]
    if not rows or not peaks or bw <= 0:
        return None
    fig, ax = plt.subplots(figsize=(9, 6))
    ais = [r.ai for r in rows]
    lo, hi = min(ais) / 2, max(ais) * 2
    xs = [lo * (hi / lo) ** (t / 200) for t in range(201)]
    for isa, pk in sorted(peaks.items(), key=lambda kv: kv[1]):
        ax.plot(xs, [min(pk, x * bw) for x in xs], lw=1.2, label="roof %s: %.3g GFLOP/s, %.3g GB/s" % (isa, pk, bw))
    seen = set()
    for r in rows:
        peer = run.is_peer(r)
        lab = r.algo if r.algo not in seen else None
        seen.add(r.algo)
        ax.scatter([r.ai], [r.gflops], s=18, marker="^" if peer else "o", color=color(r.algo), alpha=0.8,
                   label=lab, edgecolors="none")
    for shape, ours, peer in layer_summary(run):
        if ours:
            ax.annotate(shape, (ours.ai, ours.gflops), fontsize=5.5, xytext=(3, -3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (useful FLOP / minimal bytes: x, w, bias read once, y written once)")
    ax.set_ylabel("useful GFLOP/s")
    ax.set_title("%s: roofline, real layers (o ours, ^ peers); %s" % (run.tag, run.ctx.get("cpu.brand", "?")),
                 fontsize=9)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def density_layers(run):
    """Layers with --weight-density rows, in benchmark order."""
    layers = []
    for r in run.weight_rows:
        if isinstance(r.weights, float) and r.layer not in layers:
            layers.append(r.layer)
    return sorted(layers, key=lambda s: min([run.order.get(n, len(run.order)) for n in run.order
                                             if n.endswith("/" + s)] or [len(run.order)]))


def fastest(rows):
    return min(rows, key=lambda r: r.ms) if rows else None


def density_curve(run, layer, pick):
    """[(density, fastest row among pick(row))] for one layer, ascending density."""
    by_d = defaultdict(list)
    for r in run.weight_rows:
        if r.layer == layer and isinstance(r.weights, float) and pick(r):
            by_d[r.weights].append(r)
    return [(d, fastest(by_d[d])) for d in sorted(by_d)]


def is_dense_ours(run, row):
    # AUTO's rows are not a dense algorithm: at low density AUTO itself switches to sparse.
    return row.algo not in ("sparse", "auto", "auto_tuned") and not run.is_peer(row)


def crossover(points):
    """points: [(density, sparse speedup over the best dense)], ascending density. The density at
    which sparse starts to win going down from the densest point (speedup 1, interpolated linearly
    in log(speedup) between the neighbours); None when it never wins in range, "all" when it wins
    at every density measured."""
    pts = [(d, s) for d, s in points if s and s > 0]
    if not pts:
        return None
    if all(s >= 1 for _, s in pts):
        return "all"
    for (d_lo, s_lo), (d_hi, s_hi) in zip(reversed(pts[:-1]), reversed(pts[1:])):
        if s_hi < 1 <= s_lo:
            a, b = math.log(s_lo), math.log(s_hi)
            return d_lo + (d_hi - d_lo) * (a / (a - b)) if a != b else d_lo
    return None


def speedup_points(run, layer):
    sparse = dict(density_curve(run, layer, lambda r: r.algo == "sparse"))
    dense = dict(density_curve(run, layer, lambda r: is_dense_ours(run, r)))
    return [(d, dense[d].ms / sparse[d].ms if sparse[d].ms > 0 else None)
            for d in sorted(sparse) if d in dense]


def plot_density(run, path):
    """Crossover plot: time against weight density per layer for direct, gemm, sparse (each its
    fastest ISA), one panel per layer; the dotted line marks where sparse starts to win."""
    layers = density_layers(run)
    if not layers:
        return None
    cols = min(3, len(layers))
    rows_n = (len(layers) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.6 * rows_n), squeeze=False)
    for ax, layer in zip(axes.flat, layers):
        for algo in DENSITY_ALGOS:
            curve = density_curve(run, layer, lambda r, a=algo: r.algo == a)
            if curve:
                ax.plot([d for d, _ in curve], [r.ms for _, r in curve], marker="o", color=color(algo),
                        label=algo)
        x = crossover(speedup_points(run, layer))
        if isinstance(x, float):
            ax.axvline(x, color=color("sparse"), linestyle=":", linewidth=1)
            ax.annotate("sparse wins below %.2g" % x, (x, 0.97), xycoords=("data", "axes fraction"),
                        fontsize=7, ha="right", va="top", rotation=90)
        ax.set_xscale("log")
        ax.set_yscale("log")
        densities = sorted({d for algo in DENSITY_ALGOS
                            for d, _ in density_curve(run, layer, lambda r, a=algo: r.algo == a)})
        ax.set_xticks(densities)
        plain = matplotlib.ticker.FormatStrFormatter("%g")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_title("%s (t%d)" % (layer, run.threads[0]), fontsize=9)
        ax.set_xlabel("weight density (nonzero / all)", fontsize=8)
        ax.set_ylabel("ms per run (fastest ISA)", fontsize=8)
        ax.tick_params(which="both", labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(layers):]:
        ax.axis("off")
    fig.suptitle("Sparse weights: time against density (random unstructured pruning)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scaling(run, path):
    """Per real layer: useful GFLOP/s against the thread count, best of ours and each peer."""
    if len(run.threads) < 2:
        return None
    table = scaling_table(run)
    if not table:
        return None
    lines = ["ours (best)"] + [p for p in run.peers
                               if any(p in t[n][1] for t in table.values() for n in run.threads)]
    cols = 4
    nrows = (len(table) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.5 * nrows + 0.8), squeeze=False)
    for i, (shape, per_n) in enumerate(table.items()):
        ax = axes[i // cols][i % cols]
        for name in lines:
            xs, ys = [], []
            for n in run.threads:
                ours, peers, _ = per_n[n]
                r = ours if name == "ours (best)" else peers.get(name)
                if r:
                    xs.append(n)
                    ys.append(r.gflops)
            if xs:
                ax.plot(xs, ys, marker="o" if name == "ours (best)" else "^", ms=4,
                        lw=2.2 if name == "ours (best)" else 1.2,
                        color="#000000" if name == "ours (best)" else color(name),
                        label=name)
        ax.set_title(shape, fontsize=8)
        ax.set_xticks(run.threads)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for j in range(len(table), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.suptitle("%s: useful GFLOP/s (y) against threads (x) per real layer; best of ours and each peer's best "
                 "variant (%s)" % (run.tag, run.ctx.get("cpu.brand", "?")), fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# markdown

def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def machine_section(run):
    c = run.ctx
    peaks = run.peaks()
    lines = [
        "- CPU: %s (%s, family/model/stepping %s), %s logical CPUs at %s MHz nominal; caches %s" % (
            c.get("cpu.brand", "?"), c.get("cpu.vendor", "?"), c.get("cpu.family_model_stepping", "?"),
            c.get("num_cpus", "?"), c.get("mhz_per_cpu", "?"), c.get("cpu.caches_kb", "?")),
        "- Host %s, run %s, load average at start %s" % (c.get("host_name", "?"), c.get("date", "?"),
                                                         ", ".join("%.2f" % x for x in c.get("load_avg", []))),
        "- Measured at start-up (one core): peak " + ", ".join(
            "%s %.3g GFLOP/s" % (k, v) for k, v in sorted(peaks.items(), key=lambda kv: kv[1])) +
        "; streaming bandwidth: triad %s GB/s, read %s GB/s" % (c.get("machine.bw_triad_gbs", "?"),
                                                               c.get("machine.bw_read_gbs", "?")),
        "- tconv %s at git %s (dirty at configure: %s); ISAs: %s; active %s; cap %s" % (
            c.get("tconv.version", "?"), c.get("git.commit", "?")[:12], c.get("git.dirty_at_configure", "?"),
            c.get("isa.list", "?"), c.get("isa.active", "?"), c.get("isa.cap", "?")),
        "- Compiler: %s; flags %s; per-ISA files: %s" % (c.get("build.c_compiler", "?"), c.get("build.c_flags", "?"),
                                                        c.get("build.isa_flags", "?")),
        "- Timing: %s; min time %s; %s; cache %s" % (c.get("timing.basis", "?"), c.get("timing.min_time", "?"),
                                                     "max run " + c.get("timing.max_run_seconds", "?"),
                                                     c.get("timing.cold", "?")),
        "- Check: %s" % c.get("check.bound", "?"),
        "- Peers: oneDNN %s (ISA %s; %s); XNNPACK %s (%s); gemm_blas: %s (%s)" % (
            c.get("peer.onednn.version", "?"), c.get("peer.onednn.isa", "?"), c.get("peer.onednn.threads", "?"),
            c.get("peer.xnnpack.version", "?"), c.get("peer.xnnpack.threads", "?"),
            c.get("peer.gemm_blas.openblas", "?"), c.get("peer.gemm_blas.threads", "?")),
        "- Google Benchmark %s (the Debian library reports build type '%s'; that is the benchmark "
        "library's own build, the code under test is %s)" % (c.get("google_benchmark.version", "?"),
                                                            c.get("library_build_type", "?"), c.get("build.type", "?")),
    ]
    return "\n".join(lines)


def threads_phrase(n):
    return "1 thread" if n == 1 else "%d threads" % n


def best_by_algo(rows):
    """{algo: best row of that algorithm over its ISA variants}."""
    out = {}
    for r in rows:
        if r.algo not in out or r.gflops > out[r.algo].gflops:
            out[r.algo] = r
    return out


def scaling_table(run):
    """Per real layer and thread count: best of ours, each peer's best variant, best peer."""
    table = OrderedDict()
    for shape in real_layer_shapes(run):
        per_n = {}
        for n in run.threads:
            rows = [r for r in run.rows if r.shape == shape and r.threads == n]
            ours = best([r for r in rows if not run.is_peer(r)])
            peers = best_by_algo([r for r in rows if run.is_peer(r)])
            per_n[n] = (ours, peers, best(list(peers.values())))
        table[shape] = per_n
    return table


def speedup(a, b):
    return a.gflops / b.gflops if a and b and b.gflops > 0 else None


def ratio_str(v):
    return ("%.2fx" % v) if v else "-"


def scaling_section(run):
    """Speedup of N threads over 1 per layer, ours and each peer; best ours vs best peer at each N."""
    if len(run.threads) < 2 or 1 not in run.threads:
        return ""
    many = [n for n in run.threads if n != 1]
    table = scaling_table(run)
    peers = [p for p in run.peers if any(p in t[n][1] for t in table.values() for n in run.threads)]
    out = ["#### Scaling: speedup of N threads over 1 thread per real layer", "",
           "Best of ours at N (any algorithm/ISA) over best of ours at 1, and each peer's best variant at N "
           "over its best at 1 (gemm_blas: OpenBLAS sgemm tiles + our col2im on the plan's threads). "
           "Wall-clock times; every output checked against the reference first.", ""]
    header = ["layer"]
    for n in many:
        header += ["ours t%d (GFLOP/s)" % n, "ours t%d/t1" % n] + ["%s t%d/t1" % (p, n) for p in peers]
    rows = []
    for shape, per_n in table.items():
        o1, p1, _ = per_n[1]
        line = [shape]
        for n in many:
            on, pn, _ = per_n[n]
            line += [("%s %s" % (on.key, fmt(on.gflops))) if on else "-", ratio_str(speedup(on, o1))]
            line += [ratio_str(speedup(pn.get(p), p1.get(p))) for p in peers]
        rows.append(line)
    out.append(md_table(header, rows))
    out += ["", "#### Best of ours against the best peer at each thread count (>1: ours faster)", ""]
    header = ["layer"]
    for n in run.threads:
        header += ["t%d: ours" % n, "best peer", "ours / peer"]
    rows = []
    for shape, per_n in table.items():
        line = [shape]
        for n in run.threads:
            o, _, p = per_n[n]
            line += [("%s %s" % (o.key, fmt(o.gflops))) if o else "-",
                     ("%s %s" % (p.key, fmt(p.gflops))) if p else "-", ratio_str(speedup(o, p))]
        rows.append(line)
    out.append(md_table(header, rows))
    return "\n".join(out)


def layers_section(run):
    shapes = real_layer_shapes(run)
    if not shapes:
        return ""
    by_shape = run.by_shape()
    out = ["#### Summary per real layer (%s)" % threads_phrase(run.threads[0]), "",
           "Fastest of ours (algorithm/ISA), its useful GFLOP/s, % of the ISA's measured peak, % of the "
           "roofline min(peak, AI x bandwidth), and its speed relative to the best peer (gemm_blas, oneDNN, "
           "XNNPACK): >1 means ours is faster.", ""]
    rows = []
    for shape, ours, peer in layer_summary(run):
        ratio = ours.gflops / peer.gflops if ours and peer and peer.gflops > 0 else None
        rows.append([shape, short_descriptor(run.layers.get(shape, ("", ""))[0]),
                     ours.key if ours else "-", fmt(ours.gflops) if ours else "-",
                     fmt(ours.pct_peak) if ours else "-", fmt(ours.pct_roof) if ours else "-",
                     peer.key if peer else "-", fmt(peer.gflops) if peer else "-",
                     ("%.2f" % ratio) if ratio else "-"])
    out.append(md_table(["layer", "descriptor", "fastest ours", "GFLOP/s", "% peak", "% roofline",
                         "best peer", "peer GFLOP/s", "ours / peer"], rows))
    # matrix: GFLOP/s per layer x algorithm/variant
    keys = []
    for r in run.rows:
        if r.shape in shapes and r.key not in keys:
            keys.append(r.key)
    keys.sort(key=lambda k: (ALGO_ORDER.index(k.split("/")[0]) if k.split("/")[0] in ALGO_ORDER else 99, k))
    out += ["", "#### Useful GFLOP/s per layer and algorithm, %s (best in bold; '-' = skipped, see below)"
            % threads_phrase(run.threads[0]), ""]
    mrows = []
    for shape in shapes:
        vals = {r.key: r for r in by_shape.get(shape, [])}
        top = max([r.gflops for r in vals.values()] or [0])
        line = [shape]
        for k in keys:
            r = vals.get(k)
            if not r:
                line.append("-")
            else:
                line.append(("**%s**" if r.gflops == top else "%s") % fmt(r.gflops))
        mrows.append(line)
    out.append(md_table(["layer"] + [k.replace("/native", "") for k in keys], mrows))
    # details
    out += ["", "<details><summary>Details per layer: time, % peak, % roofline, plan cost, layout cost, "
                "error/bound, kernels</summary>", ""]
    drows = []
    for shape in shapes:
        for r in sorted(by_shape.get(shape, []), key=lambda r: -r.gflops):
            drows.append([shape, r.key, fmt(r.gflops), fmt(r.ms), fmt(r.pct_peak), fmt(r.pct_roof),
                          fmt(r.plan_ms), fmt(r.plan_bytes / 1e6) if r.plan_bytes is not None else "-",
                          fmt(r.layout_ms), fmt(r.err_ratio, 2), fmt(r.cpu_ratio, 3), r.label])
    n_threads = run.threads[0]
    out.append(md_table(["layer", "algorithm/variant", "GFLOP/s", "ms/run (%s)" % (
                             "wall" if any(r.wall_clock for r in run.rows) else "thread CPU"),
                         "% peak", "% roofline", "plan ms", "plan MB", "layout ms (excluded)", "max err/bound",
                         "proc/thread CPU" if n_threads == 1 else "CPU busy (proc CPU / wall)", "kernels / impl"],
                        drows))
    out += ["", "</details>"]
    return "\n".join(out)


def crossover_phrase(x, densities):
    if x == "all":
        return "wins at every density measured (up to %s)" % fmt(max(densities))
    if x is None:
        return "none in range (%s to %s)" % (fmt(min(densities)), fmt(max(densities))) if densities else "-"
    return "below %.2g" % x


def sparse_weights_section(run):
    """--weight-density and --weights=bilinear rows (at one thread count): sparse against the best
    dense algorithm of ours (not sparse, not a peer), each at its fastest ISA."""
    if not run.weight_rows:
        return ""
    out = ["Weights pruned at random (seeded, unstructured) to each density (`--weight-density`), and FCN's "
           "upscore layers with their channel-diagonal bilinear weights (`--weights=bilinear`); every algorithm "
           "runs on the same weights. *Best dense* is the fastest of ours other than sparse (%s), at its fastest "
           "ISA; speedup = best dense time / sparse time (>1: sparse is faster). Effective GFLOP/s counts only "
           "the multiply-adds with a nonzero weight. Times are %s." % (
               ", ".join(a for a in ALGO_ORDER if a != "sparse" and a not in run.peers),
               "wall clock" if any(r.wall_clock for r in run.weight_rows) else "thread CPU time"), ""]
    layers = density_layers(run)
    if layers:
        rows, cross = [], []
        for layer in layers:
            sparse = dict(density_curve(run, layer, lambda r: r.algo == "sparse"))
            dense = dict(density_curve(run, layer, lambda r: is_dense_ours(run, r)))
            for d in sorted(set(sparse) | set(dense), reverse=True):
                sp, de = sparse.get(d), dense.get(d)
                rows.append([layer, fmt(d), ("%s %s" % (sp.key, fmt(sp.ms))) if sp else "-",
                             ("%s %s" % (de.key, fmt(de.ms))) if de else "-",
                             ratio_str(de.ms / sp.ms) if sp and de and sp.ms > 0 else "-",
                             fmt(sp.effective_gflops) if sp else "-"])
            densities = sorted(sparse)
            cross.append([layer, crossover_phrase(crossover(speedup_points(run, layer)), densities)])
        out += ["#### Density sweep", "",
                md_table(["layer", "density", "sparse (ISA, ms)", "best dense (algorithm/ISA, ms)",
                          "sparse speedup", "sparse effective GFLOP/s"], rows), "",
                "Where sparse starts to win (density at speedup 1, interpolated in log(speedup) between "
                "the measured densities):", "",
                md_table(["layer", "sparse faster than the best dense"], cross), ""]
    bilinear = [r for r in run.weight_rows if r.weights == "bilinear"]
    if bilinear:
        rows = []
        for layer in OrderedDict((r.layer, None) for r in bilinear):
            sp = fastest([r for r in bilinear if r.layer == layer and r.algo == "sparse"])
            de = fastest([r for r in bilinear if r.layer == layer and is_dense_ours(run, r)])
            rows.append([layer, fmt(sp.weight_density if sp else None),
                         ("%s %s" % (sp.key, fmt(sp.ms))) if sp else "-",
                         ("%s %s" % (de.key, fmt(de.ms))) if de else "-",
                         ratio_str(de.ms / sp.ms) if sp and de and sp.ms > 0 else "-",
                         fmt(sp.effective_gflops) if sp else "-"])
        out += ["#### FCN upscore layers with bilinear weights", "",
                md_table(["layer", "weight density", "sparse (ISA, ms)", "best dense (algorithm/ISA, ms)",
                          "sparse speedup", "sparse effective GFLOP/s"], rows), ""]
    return "\n".join(out).rstrip()


def sweep_section(run):
    cells = sweep_cells(run)
    if not cells:
        return ""
    out = ["#### Sweep: fastest over (kernel k, stride s), 16x16 input, p = ceil((k-s)/2)", "",
           "Each cell: fastest of ours / fastest overall (GFLOP/s). s > k cells (marked *) have output gaps.", ""]
    chans = sorted({c for c, _, _ in cells})
    ks = sorted({k for _, k, _ in cells})
    ss = sorted({s for _, _, s in cells})
    for c in chans:
        rows = []
        for k in ks:
            line = ["k=%d" % k]
            for s in ss:
                rs = cells.get((c, k, s), [])
                if not rs:
                    line.append("n/a")
                    continue
                o = best([r for r in rs if not run.is_peer(r)])
                a = best(rs)
                line.append("%s%s %s / %s %s" % ("*" if s > k else "", o.key.split("/")[0] if o else "-",
                                                  fmt(o.gflops, 2) if o else "", a.algo, fmt(a.gflops, 2)))
            rows.append(line)
        out += ["%d->%d channels:" % (c, c), "", md_table(["k \\ s"] + ["s=%d" % s for s in ss], rows), ""]
    # win counts over the whole sweep
    wins_ours, wins_all = defaultdict(int), defaultdict(int)
    for shape, rs in run.by_shape().items():
        if not shape.startswith("sweep/"):
            continue
        o = best([r for r in rs if not run.is_peer(r)])
        a = best(rs)
        if o:
            wins_ours[o.algo] += 1
        if a:
            wins_all[a.algo] += 1
    out.append("Wins over all %d sweep shapes: ours only: %s; with peers: %s." % (
        sum(wins_all.values()), ", ".join("%s %d" % kv for kv in sorted(wins_ours.items(), key=lambda kv: -kv[1])),
        ", ".join("%s %d" % kv for kv in sorted(wins_all.items(), key=lambda kv: -kv[1]))))
    return "\n".join(out)


def skipped_section(run):
    if not run.skipped:
        return "No benchmark was skipped."
    groups = defaultdict(list)
    for name, msg in run.skipped:
        reason = re.sub(r"[0-9.]+(e[-+]?[0-9]+)? (s|GFLOP|GFLOP/s)\b", "N \\2", msg)
        reason = re.sub(r"at index .*", "(see JSON)", reason)
        groups[reason].append((name, msg))
    out = ["%d benchmark(s) skipped (error rows in the JSON, dropped from tables and plots):" % len(run.skipped), ""]
    for reason, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        out.append("- %d x %s" % (len(items), reason))
        for name, msg in items[:12]:
            out.append("  - `%s`: %s" % (name, msg))
        if len(items) > 12:
            out.append("  - ... and %d more" % (len(items) - 12))
    return "\n".join(out)


def print_summary(run, out_path):
    print("%s (%s)" % (run.tag, run.ctx.get("cpu.brand", "?")))
    for n in run.threads:
        print("-- %s" % threads_phrase(n))
        print("%-22s %-22s %9s %8s  %-18s %9s %7s" % ("layer", "fastest ours", "GFLOP/s", "%roof",
                                                      "best peer", "GFLOP/s", "ratio"))
        for shape, o, p in layer_summary(run.at(n)):
            ratio = o.gflops / p.gflops if o and p and p.gflops else float("nan")
            print("%-22s %-22s %9s %8s  %-18s %9s %7.2f" % (
                shape, o.key if o else "-", fmt(o.gflops) if o else "-", fmt(o.pct_roof) if o else "-",
                p.algo if p else "-", fmt(p.gflops) if p else "-", ratio))
    if len(run.threads) > 1 and 1 in run.threads:
        table = scaling_table(run)
        peers = [p for p in run.peers if any(p in t[n][1] for t in table.values() for n in run.threads)]
        for n in [m for m in run.threads if m != 1]:
            print("-- speedup t%d/t1 (ours = best of ours at each count)" % n)
            print("%-22s %7s " % ("layer", "ours") + " ".join("%14s" % p for p in peers))
            for shape, per_n in table.items():
                (o1, p1, _), (on, pn, _) = per_n[1], per_n[n]
                print("%-22s %7s " % (shape, ratio_str(speedup(on, o1))) +
                      " ".join("%14s" % ratio_str(speedup(pn.get(p), p1.get(p))) for p in peers))
    print("%d timed, %d skipped (see %s)" % (len(run.rows), len(run.skipped), out_path))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", default="RESULTS.md")
    ap.add_argument("--plots", default="results")
    ap.add_argument("--reading", help="markdown file with the human reading, included verbatim")
    ap.add_argument("--summary", action="store_true", help="print the per-layer summary to stdout")
    args = ap.parse_args()
    os.makedirs(args.plots, exist_ok=True)
    runs = [Run(p) for p in args.json]
    # bench.sh writes the density sweep to <tag>-density.json next to <tag>.json: one section.
    by_tag = {r.tag: r for r in runs}
    companions = [r for r in runs if r.tag.endswith("-density") and r.tag[:-len("-density")] in by_tag]
    for c in companions:
        by_tag[c.tag[:-len("-density")]].absorb(c)
    runs = [r for r in runs if r not in companions]
    runs.sort(key=lambda r: r.ctx.get("date", ""), reverse=True)  # newest run first
    md_dir = os.path.dirname(os.path.abspath(args.out))
    out = ["# tconv benchmark results", "",
           "Generated by `scripts/report.py` from %s. Rows are per thread count (`t<N>` in the benchmark "
           "names); every number comes from a benchmark whose output was first checked against the reference "
           "with the derived error bound." %
           ", ".join("`%s`" % os.path.relpath(p, md_dir) for p in args.json), ""]
    if args.reading and os.path.exists(args.reading):
        with open(args.reading) as f:
            out += [f.read().rstrip(), ""]
    if len(runs) > 1:
        out += ["## Across machines: fastest of ours vs best peer per real layer", ""]
        shapes = []
        for run in runs:
            for s in real_layer_shapes(run):
                if s not in shapes:
                    shapes.append(s)
        rows = []
        for s in shapes:
            line = [s]
            for run in runs:
                summ = {x[0]: x for x in layer_summary(run.at(run.threads[0]))}
                if s in summ and summ[s][1] and summ[s][2]:
                    _, o, p = summ[s]
                    line.append("%s %s / %s %s" % (o.key, fmt(o.gflops), p.algo, fmt(p.gflops)))
                else:
                    line.append("-")
            rows.append(line)
        out += [md_table(["layer"] + ["%s (t%d)" % (r.tag, r.threads[0]) for r in runs], rows), ""]
    for run in runs:
        out += ["## %s" % run.tag, "", machine_section(run), ""]
        first = run.at(run.threads[0])
        # The sweep runs at its own thread counts (--sweep-threads): the first one that has sweep rows.
        sweep_n = next((n for n in run.threads if any(r.shape.startswith("sweep/") for r in run.at(n).rows)),
                       run.threads[0])
        plots = [plot_scaling(run, os.path.join(args.plots, run.tag + "_scaling.png")),
                 plot_layers(first, os.path.join(args.plots, run.tag + "_layers.png")),
                 plot_sweep(run.at(sweep_n), os.path.join(args.plots, run.tag + "_sweep_winner.png")),
                 plot_roofline(first, os.path.join(args.plots, run.tag + "_roofline.png"))]
        # The density sweep runs at one thread (bench.sh): its lowest thread count.
        weight_n = min({r.threads for r in run.weight_rows} or {1})
        plots.append(plot_density(run.at(weight_n), os.path.join(args.plots, run.tag + "_density.png")))
        for p in plots:
            if p:
                out.append("![%s](%s)" % (os.path.basename(p), os.path.relpath(p, md_dir)))
        out += ["", "### Real layers", ""]
        scaling = scaling_section(run)
        if scaling:
            out += ["Thread counts in this run: %s (%s)." % (", ".join(str(n) for n in run.threads),
                                                            run.ctx.get("timing.basis", "?")), "", scaling, ""]
        for n in run.threads:
            if len(run.threads) > 1:
                out += ["### Real layers at %s" % threads_phrase(n), ""]
            out += [layers_section(run.at(n)), ""]
        if run.weight_rows:
            out += ["### Sparse weights (%s%s)" % (threads_phrase(weight_n), (", from `%s.json`" % run.density_tag)
                                                    if getattr(run, "density_tag", None) else ""), "",
                    sparse_weights_section(run.at(weight_n)), ""]
        out += ["### Sweep (%s)" % threads_phrase(sweep_n), "", sweep_section(run.at(sweep_n)), "",
                "### Skipped benchmarks", "", skipped_section(run), ""]
        if args.summary:
            print_summary(run, args.out)
    with open(args.out, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
