#!/usr/bin/python3
"""Issue 10's and 11's performance targets, checked against benchmark runs (tconv-bench JSON).

Usage: scripts/targets.py RUN.json [RUN.json ...] [--density DENSITY.json ...]

RUN files are main-job runs (`bash scripts/bench.sh`, or tconv-bench with the layers and the
sweep); DENSITY files are the density job's (`--weight-density=... --weights=bilinear`). Every
figure is at 1 thread and is the median over the given runs of each row (the issues ask for
medians of at least 3 runs: pass 3 files, or runs made with --benchmark_repetitions). "Ours" are
direct, gemm, sparse, auto and auto_tuned (zero_insert is the seed's recipe, not a candidate);
peers are gemm_blas, oneDNN (both layouts) and XNNPACK. Each target prints PASS or MISS with the
figure; the exit status is 0 whatever the verdicts (this is a report, not a gate).
"""
import argparse
import json
import math
import statistics
from collections import defaultdict

from tune_auto import row_seconds  # scripts/ is on sys.path when this script runs

OURS = ("direct", "gemm", "sparse", "auto", "auto_tuned")
DENSE_OURS = ("direct", "gemm")
PEERS = ("gemm_blas", "onednn_nchw", "onednn_blocked", "xnnpack_nhwc")
COMPUTE_BOUND = ("dcgan_512_256", "dcgan_b4_256_128", "pix2pix_dec_1024_512", "unet_up_128_64",
                 "unet_deep_1024_512", "maskrcnn_mask_256", "cyclegan_up_128_64")
FCN = ("fcn8s_upscore8", "fcn16s_upscore16", "fcn32s_upscore")


def load(paths):
    """rows[shape][(algo, isa)] = {"gflops": [..], "seconds": [..], "roof": [..]}, t1 only;
    the largest peak_GFLOPs seen (the best ISA's measured peak)."""
    rows = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    peak = 0.0
    for path in paths:
        with open(path) as f:
            run = json.load(f)
        for b in run["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            parts = b["name"].split("/", 3)
            if len(parts) < 4 or parts[2] != "t1" or "useful_FLOPs" not in b:
                continue
            algo, isa, _, shape = parts
            r = rows[shape][(algo, isa)]
            r["gflops"].append(b["useful_FLOPs"] / 1e9)
            r["seconds"].append(row_seconds(b))
            if "roofline_GFLOPs" in b:
                r["roof"].append(b["roofline_GFLOPs"])
            peak = max(peak, b.get("peak_GFLOPs", 0.0))
    return rows, peak


def med(values):
    return statistics.median(values) if values else float("nan")


def best(shape_rows, algos):
    """(GFLOP/s, algo/isa, roofline GFLOP/s) of the fastest row whose algorithm is in algos."""
    out = (0.0, "-", float("nan"))
    for (algo, isa), r in shape_rows.items():
        g = med(r["gflops"])
        if algo in algos and g > out[0]:
            out = (g, f"{algo}/{isa}", med(r["roof"]))
    return out


def verdict(ok):
    return "PASS" if ok else "MISS"


def fastest_seconds(shape_rows, algos):
    times = [(med(r["seconds"]), f"{a}/{i}") for (a, i), r in shape_rows.items() if a in algos]
    return min(times) if times else (float("nan"), "-")


def layer_targets(rows, peak):
    layers = [s for s in rows if not s.startswith("sweep/") and "/" not in s]
    ratios = []
    print("## Real layers (1 thread): fastest of ours vs best peer >= 1.10x; geomean >= 1.3x")
    for shape in layers:
        ours, peer = best(rows[shape], OURS), best(rows[shape], PEERS)
        if peer[0] <= 0:
            continue
        ratio = ours[0] / peer[0]
        ratios.append(ratio)
        print(f"  {verdict(ratio >= 1.10)} {shape}: {ours[1]} {ours[0]:.3g} / {peer[1]} "
              f"{peer[0]:.3g} = {ratio:.2f}x")
    if ratios:
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
        hits = sum(r >= 1.10 for r in ratios)
        print(f"  {verdict(geo >= 1.3)} geomean {geo:.2f}x; {hits} of {len(ratios)} layers >= 1.10x")
    print(f"## Compute-bound layers >= 85% of the best ISA's peak ({peak:.0f} GFLOP/s)")
    for shape in COMPUTE_BOUND:
        if shape in rows:
            g, name, _ = best(rows[shape], OURS)
            print(f"  {verdict(g >= 0.85 * peak)} {shape}: {name} {g:.3g} = {100 * g / peak:.0f}%")
    print("## FCN upscores >= 60% of peak; 1->1 upsample >= 50% of its roofline")
    for shape in FCN:
        if shape in rows:
            g, name, _ = best(rows[shape], OURS)
            print(f"  {verdict(g >= 0.6 * peak)} {shape}: {name} {g:.3g} = {100 * g / peak:.0f}%")
    if "upsample_1ch_256" in rows:
        g, name, roof = best(rows["upsample_1ch_256"], OURS)
        print(f"  {verdict(g >= 0.5 * roof)} upsample_1ch_256: {name} {g:.3g} of roofline "
              f"{roof:.3g} = {100 * g / roof:.0f}%")
    if "seed_example" in rows:
        sec, name = fastest_seconds(rows["seed_example"], OURS)
        print("## Seed 2x2 example: per call < 200 ns")
        print(f"  {verdict(sec < 200e-9)} {name} {sec * 1e9:.0f} ns")


def sweep_targets(rows):
    sweep = [s for s in rows if s.startswith("sweep/")]
    if not sweep:
        return
    ratios, fractions, kls = [], [], []
    for shape in sweep:
        ours, peer = best(rows[shape], OURS), best(rows[shape], PEERS)
        if peer[0] > 0:
            ratios.append((ours[0] / peer[0], shape, ours[1], peer[1]))
        if ours[2] == ours[2] and ours[2] > 0:
            fractions.append(ours[0] / ours[2])
        k, s = [int(p[1:]) for p in shape.split("_")[1:3]]
        if k < s:
            direct = fastest_seconds(rows[shape], ("direct",))[0]
            gemm = fastest_seconds(rows[shape], ("gemm",))[0]
            kls.append((direct / gemm, shape))
    ratios.sort()
    below = [r for r in ratios if r[0] < 1.0]
    print(f"## Sweep ({len(sweep)} shapes): no shape below 1.0x the best peer")
    print(f"  {verdict(not below)} {len(below)} shapes below 1.0x; lowest:")
    for r in ratios[:8]:
        print(f"    {r[0]:.2f}x {r[1]} ({r[2]} vs {r[3]})")
    fractions.sort()
    if fractions:
        median, p10 = statistics.median(fractions), fractions[len(fractions) // 10]
        print(f"  {verdict(median >= 0.5)} median {100 * median:.0f}% of the roofline (>= 50%)")
        print(f"  {verdict(p10 >= 0.2)} 10th percentile {100 * p10:.0f}% of the roofline (>= 20%)")
    if kls:
        kls.sort(reverse=True)
        print(f"  {verdict(kls[0][0] <= 1.2)} direct on k < s at most 1.2x gemm's time: worst "
              + ", ".join(f"{shape} {r:.2f}x" for r, shape in kls[:4]))


def density_targets(paths):
    rows, _ = load(paths)
    print("## Sparse weights (issue 11): sparse against the fastest dense of ours, same weights")
    wanted = {"d1/dcgan_512_256": 0.5, "d1/pix2pix_dec_1024_512": 0.5,
              "d1/unet_up_128_64": 0.5,
              "d0.3/dcgan_512_256": 1.3, "d0.3/pix2pix_dec_1024_512": 1.3,
              "d0.1/dcgan_512_256": 3.0, "d0.1/pix2pix_dec_1024_512": 3.0}
    for f in FCN:
        wanted[f"bilinear/{f}"] = 8.0
    for shape, need in wanted.items():
        if shape not in rows:
            continue
        sparse = fastest_seconds(rows[shape], ("sparse",))
        dense = fastest_seconds(rows[shape], DENSE_OURS)
        speedup = dense[0] / sparse[0]
        print(f"  {verdict(speedup >= need)} {shape}: {sparse[1]} {sparse[0] * 1e3:.3g} ms vs "
              f"{dense[1]} {dense[0] * 1e3:.3g} ms = {speedup:.2f}x (target >= {need}x)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", help="main-job JSON files")
    p.add_argument("--density", nargs="*", default=[], help="density-job JSON files")
    a = p.parse_args()
    if a.runs:
        rows, peak = load(a.runs)
        layer_targets(rows, peak)
        sweep_targets(rows)
    if a.density:
        density_targets(a.density)


if __name__ == "__main__":
    main()
