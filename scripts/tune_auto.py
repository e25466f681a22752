#!/usr/bin/python3
"""AUTO's hit rate from tconv-bench JSON: is AUTO's choice within 10% of the fastest of ours?

Usage: scripts/tune_auto.py RUN.json [RUN.json ...] [--isa avx512] [--threads 1] [--fit]

"Ours" are direct, gemm and sparse (zero_insert and the reference are never candidates; gemm_blas
is OpenBLAS's GEMM, a peer). Per (ISA, threads, shape) the time of an algorithm is the median of
its repetitions (--benchmark_repetitions) over every run given, from cpu_time for rows timed in
thread CPU time and real_time otherwise. AUTO's choice comes from the auto/<isa>/t<N>/<shape>
rows (their label starts with "chose <algo>"). With --fit the script instead fits the
log-linear cost model of kernels/algos/auto.c to the runs (same features and terms, kept in step
by hand), prints its coefficients in C syntax and scores the model's own choices (in-sample);
--loo adds the leave-one-out hit rate (each shape predicted by a fit without it).
A shape counts as a hit when the chosen algorithm's median time is at most 1.10x the fastest
median of ours. Prints every miss and the hit rate over the real layers and over the sweep.
"""
import argparse
import json
import math
import re
import statistics
import sys
from collections import defaultdict

OURS = ("direct", "gemm", "sparse")
TOLERANCE = 1.10


def row_seconds(b):
    """Seconds per run of one benchmark row, on the clock the harness used for it."""
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
    key = "real_time" if b.get("wall_clock", 0) else "cpu_time"
    return b[key] * unit


def load(paths):
    """times[(isa, threads, shape)][algo] = [seconds...];
    chose[mode][(isa, threads, shape)] = algo for mode auto (tune 0) and auto_tuned (tune 1);
    direct[(isa, threads, shape)]: the direct row's label (which kernel it ran)."""
    times = defaultdict(lambda: defaultdict(list))
    chose = {}
    direct = {}
    for path in paths:
        with open(path) as f:
            run = json.load(f)
        for b in run["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            parts = b["name"].split("/", 3)
            if len(parts) < 4:
                continue
            algo, isa, threads, shape = parts
            key = (isa, int(threads.lstrip("t")), shape)
            if algo == "direct":
                direct[key] = b.get("label", "")
            if algo in ("auto", "auto_tuned"):
                m = re.match(r"chose (\w+)", b.get("label", ""))
                if m:
                    chose.setdefault(algo, {})[key] = m.group(1)
            if algo in OURS or algo in ("auto", "auto_tuned", "gemm_blas"):
                times[key][algo].append(row_seconds(b))
    return times, chose, direct


# ---- the cost model of kernels/algos/auto.c, for checking it against a run ----

def shape_of(name, layers):
    """(batch, cin, cout, ih, iw, kh, kw, sh, sw, ph, pw, oph, opw, dh, dw, groups)."""
    m = re.match(r"sweep/i(\d+)_k(\d+)_s(\d+)_p(\d+)_c(\d+)$", name)
    if m:
        i, k, s, p, c = map(int, m.groups())
        return dict(mb=1, ic=c, oc=c, ih=i, iw=i, kh=k, kw=k, sh=s, sw=s, ph=p, pw=p, oph=0, opw=0,
                    dh=1, dw=1, g=1)
    return layers.get(name)


def parse_descriptor(desc):
    v = dict(re.findall(r"([a-z]+)(\d+)", desc))
    v = {k: int(x) for k, x in v.items()}
    out = dict(mb=v.get("mb", 1), ic=v["ic"], oc=v["oc"], ih=v["ih"], iw=v.get("iw", v["ih"]),
               kh=v["kh"], kw=v.get("kw", v["kh"]), sh=v.get("sh", 1), ph=v.get("ph", 0),
               oph=v.get("oph", 0), dh=v.get("dh", 1), g=v.get("g", 1))
    out["sw"] = v.get("sw", out["sh"])
    out["pw"] = v.get("pw", out["ph"])
    out["opw"] = v.get("opw", out["oph"])
    out["dw"] = v.get("dw", out["dh"])
    return out


def read_layers(path):
    layers = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, desc = line.split()[:2]
                layers[name] = parse_descriptor(desc)
    return layers


def features(s):
    oh = (s["ih"] - 1) * s["sh"] - 2 * s["ph"] + s["dh"] * (s["kh"] - 1) + s["oph"] + 1
    ow = (s["iw"] - 1) * s["sw"] - 2 * s["pw"] + s["dw"] * (s["kw"] - 1) + s["opw"] + 1
    return dict(cin_g=s["ic"] // s["g"], cout_g=s["oc"] // s["g"], in_plane=s["ih"] * s["iw"],
                out_plane=oh * ow, taps=s["kh"] * s["kw"], groups=s["g"], batch=s["mb"],
                gaps=s["kh"] < s["sh"] or s["kw"] < s["sw"])


def axis_pairs(n_in, k, s, p, d, n_out):
    """(input, tap) pairs of one axis that land inside the output (tconv_axis_pairs)."""
    return sum(1 for i in range(n_in) for t in range(k) if 0 <= i * s - p + t * d < n_out)


# Register tiles (variants.def): direct's conv kernel covers mr output channels, gemm's mr rows of
# cout_g*taps by nr pixels; a partial tile costs a whole one.
TILES = {"avx512": {"conv": 16, "gemm": (12, 32)}, "avx2": {"conv": 16, "gemm": (6, 16)},
         "sse41": {"conv": 8, "gemm": (6, 8)}, "scalar": {"conv": 4, "gemm": (4, 4)},
         "neon": {"conv": 8, "gemm": (8, 12)}}


def up(v, m):
    return (v + m - 1) // m * m


def model_features(s, isa, direct_label):
    """The log-linear model's features (kernels/algos/auto.c, model_features): a run of algorithm
    a takes exp(sum(coef[a][i] * feature[i])) seconds. direct_label: the kernel the direct row ran
    (its bench label): rowconv (tconv_direct_takes_rowconv in C), with two more features saying
    whether that path masks lanes (kernel_w not a multiple of stride_w) and whether stride_w does
    not divide 16 (weight classes); or row phases (tconv_direct_takes_row_phases)."""
    rowconv = "rowconv" in direct_label
    row_phases = "conv_phases" in direct_label
    f = features(s)
    mr = TILES[isa]["conv"]
    gm, gn = TILES[isa]["gemm"]
    oh = (s["ih"] - 1) * s["sh"] - 2 * s["ph"] + s["dh"] * (s["kh"] - 1) + s["oph"] + 1
    ow = (s["iw"] - 1) * s["sw"] - 2 * s["pw"] + s["dw"] * (s["kw"] - 1) + s["opw"] + 1
    pairs = axis_pairs(s["ih"], s["kh"], s["sh"], s["ph"], s["dh"], oh) * \
        axis_pairs(s["iw"], s["kw"], s["sw"], s["pw"], s["dw"], ow)
    bg = f["batch"] * f["groups"]
    useful = bg * f["cin_g"] * f["cout_g"] * pairs
    nominal = bg * f["cin_g"] * f["cout_g"] * f["taps"] * f["in_plane"]
    y = bg * f["cout_g"] * f["out_plane"]
    x = bg * f["cin_g"] * f["in_plane"]
    taps_per_phase = max(f["taps"] / (s["sh"] * s["sw"]), 1.0 / 64)
    gemm_pad = up(f["cout_g"] * f["taps"], gm) * up(f["in_plane"], gn) / \
        (f["cout_g"] * f["taps"] * f["in_plane"])
    return [1.0, math.log(max(useful, 1)), math.log(max(nominal, 1)), math.log(y), math.log(x),
            math.log(f["cin_g"]), math.log(up(f["cout_g"], mr) / f["cout_g"]),
            math.log(taps_per_phase), 1.0 if f["gaps"] else 0.0, math.log(gemm_pad),
            math.log(s["iw"]), 1.0 if rowconv else 0.0,
            1.0 if rowconv and s["kw"] % s["sw"] != 0 else 0.0,
            1.0 if rowconv and 16 % s["sw"] != 0 else 0.0, 1.0 if row_phases else 0.0]


RIDGE = 3.0  # ridge weight of the fit (see kernels/algos/auto.c, DERIVATION)


def model_terms(phi):
    """The model's terms: the features (phi[0] is the constant 1) and every product of two of
    the others, f[i]*f[j] for 1 <= i <= j, in the order kernels/algos/auto.c computes them."""
    terms = list(phi)
    for i in range(1, len(phi)):
        for j in range(i, len(phi)):
            terms.append(phi[i] * phi[j])
    return terms


def fit(times, direct, layers, isa, threads):
    """Ridge regression (weight RIDGE) of log(median time) on the model's terms, per algorithm
    (every row of every run given weighs the same)."""
    data = []
    for (i, t, shape), per_algo in times.items():
        if i != isa or t != threads:
            continue
        med = {a: statistics.median(v) for a, v in per_algo.items() if a in OURS}
        s = shape_of(shape, layers)
        if len(med) == len(OURS) and s:
            label = direct.get((isa, t, shape), "")
            data.append((shape, model_terms(model_features(s, isa, label)), med))
    return data, ridge(data) if data else {}


def ridge(data):
    """coef[algo]: the ridge solution over data rows (shape, terms, medians)."""
    import numpy as np
    X = np.array([phi for _, phi, _ in data])
    coef = {}
    for a in OURS:
        y = np.array([math.log(med[a]) for _, _, med in data])
        coef[a] = np.linalg.solve(X.T @ X + RIDGE * np.eye(X.shape[1]), X.T @ y)
    return coef


def predict(coef, phi, a):
    return sum(c * x for c, x in zip(coef[a], phi))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--isa", default=None, help="only this ISA (default: every ISA in the run)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--layers", default="bench/shapes/layers.txt")
    ap.add_argument("--fit", action="store_true",
                    help="fit the cost model's coefficients to the run and report its hit rate")
    ap.add_argument("--loo", action="store_true",
                    help="with --fit: also the leave-one-out hit rate (mode model_loo)")
    args = ap.parse_args()
    times, chose, direct = load(args.runs)
    if args.fit:
        layers = read_layers(args.layers)
        isas = sorted({k[0] for k in times}) if not args.isa else [args.isa]
        for isa in isas:
            data, coef = fit(times, direct, layers, isa, args.threads or 1)
            if not data:
                continue
            print("%s: coefficients of log(seconds) over %d shapes" % (isa, len(data)))
            for a in OURS:
                print("  {%s}, /* %s */" % (", ".join("%.6g" % c for c in coef[a]), a))
            for i, (shape, phi, med) in enumerate(data):
                key = (isa, args.threads or 1, shape)
                chose.setdefault("model", {})[key] = min(OURS, key=lambda a: predict(coef, phi, a))
                if args.loo:
                    held_out = ridge(data[:i] + data[i + 1:])
                    chose.setdefault("model_loo", {})[key] = min(
                        OURS, key=lambda a: predict(held_out, phi, a))
        chose = {m: chose[m] for m in ("model", "model_loo") if m in chose}
    hits = defaultdict(lambda: [0, 0])
    for mode in sorted(chose):
        for key in sorted(times):
            isa, threads, shape = key
            if (args.isa and isa != args.isa) or (args.threads and threads != args.threads):
                continue
            # tune = 1 may pick gemm_blas (OpenBLAS's GEMM + our col2im, a candidate of the
            # measured mode): its own row's time then counts, against the fastest of ours.
            med = {a: statistics.median(t) for a, t in times[key].items()
                   if a in OURS or a == "gemm_blas"}
            pick = chose[mode].get(key)
            if pick not in med or not any(a in med for a in OURS):  # no choice or no rows
                continue
            best = min((a for a in med if a in OURS), key=med.get)
            group = "sweep" if shape.startswith("sweep/") else "layers"
            ratio = med[pick] / med[best]
            hits[(mode, isa, threads, group)][1] += 1
            if ratio <= TOLERANCE:
                hits[(mode, isa, threads, group)][0] += 1
            else:
                print("miss %s %s/t%d/%s: chose %s (%.3g ms), fastest %s (%.3g ms): %.2fx"
                      % (mode, isa, threads, shape, pick, med[pick] * 1e3, best,
                         med[best] * 1e3, ratio))
    if not hits:
        print("no shape with auto rows and rows of ours (run the bench with auto/ rows)")
        return 1
    for (mode, isa, threads, group), (hit, total) in sorted(hits.items()):
        print("%-10s %s t%d %-6s choice within 10%% of the fastest of ours on %d of %d shapes "
              "(%.1f%%)" % (mode, isa, threads, group, hit, total, 100.0 * hit / total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
