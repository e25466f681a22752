#!/usr/bin/env python3
"""Deterministic performance gate: callgrind instruction counts per variant and shape vs a baseline."""
import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE_SHAPES = os.path.join(ROOT, "bench", "shapes", "gate.txt")
ENTRY_FAIL = 0.01      # one entry more than +1% instructions fails
GEOMEAN_FAIL = 0.005   # a variant's geomean over its shapes more than +0.5% fails
WARN = 0.001           # smaller increases above +0.1% warn
STALE = 0.02           # improvements beyond -2% mean the baseline is stale

EXIT_PASS, EXIT_REGRESSION, EXIT_ERROR, EXIT_SKIPPED = 0, 1, 2, 3


def default_baseline():
    machine = os.uname().machine
    return os.path.join(ROOT, "perf", "baselines", f"callgrind-{machine}.txt")


def valgrind_version():
    out = subprocess.run(["valgrind", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def cpu_model():
    """Vendor, family, model and name: glibc's string functions (inside the counted region) and
    the ISAs valgrind can run depend on the CPU, so a baseline holds for one CPU model."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    key, value = (x.strip() for x in line.split(":", 1))
                    fields.setdefault(key, value)
    except OSError:
        pass
    return (f"{fields.get('vendor_id', '?')} family {fields.get('cpu family', '?')} model "
            f"{fields.get('model', '?')} ({fields.get('model name', os.uname().machine)})")


def toolchain(gate_binary):
    out = subprocess.run([gate_binary, "--toolchain"], capture_output=True, text=True, check=True)
    meta = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                for line in out.stdout.strip().splitlines())
    meta["valgrind"] = valgrind_version()
    meta["cpu"] = cpu_model()
    return meta


def git_commit(path=ROOT):
    out = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def collect(gate_binary):
    """Runs the gate driver under callgrind once and returns {entry: instructions}."""
    with tempfile.TemporaryDirectory(prefix="tconv-gate-") as tmp:
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
               f"--callgrind-out-file={tmp}/callgrind.out", gate_binary, "--shapes", GATE_SHAPES]
        env = dict(os.environ)
        for var in ("TCONV_FORCE_ISA", "TCONV_MAX_ISA"):
            env.pop(var, None)
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if run.returncode != 0:
            sys.stderr.write(run.stderr[-4000:])
            raise RuntimeError(f"gate driver failed under valgrind (exit {run.returncode})")
        counts = {}
        for name in sorted(os.listdir(tmp)):
            entry, total = parse_dump(os.path.join(tmp, name))
            if entry is not None:
                counts[entry] = total
        if not counts:
            raise RuntimeError("callgrind produced no client-request dumps")
        return counts


def parse_dump(path):
    entry = total = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"desc: Trigger: Client Request: (.+)", line)
            if m:
                entry = m.group(1).strip()
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m:
                total = int(m.group(1))
    return (entry, total) if entry and total is not None else (None, None)


def write_counts(path, meta, counts):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# tconv callgrind instruction counts (scripts/perf_gate.py)\n")
        for key in ("compiler", "flags", "valgrind", "cpu", "commit"):
            f.write(f"# {key}: {meta.get(key, 'unknown')}\n")
        for entry in sorted(counts):
            f.write(f"{entry} {counts[entry]}\n")


def read_counts(path):
    meta, counts = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"# (\w+): (.*)", line)
            if m:
                meta[m.group(1)] = m.group(2)
            elif line and not line.startswith("#"):
                entry, value = line.rsplit(" ", 1)
                counts[entry] = int(value)
    return meta, counts


def variant_of(entry):
    algo, isa, _ = entry.split("/", 2)
    return f"{algo}/{isa}"


def compare(base, cur):
    """Returns rows (entry, base, cur, change, status) and per-variant geomeans."""
    rows = []
    for entry in sorted(set(base) | set(cur)):
        if entry not in cur:
            rows.append((entry, base[entry], None, None, "MISSING"))
        elif entry not in base:
            rows.append((entry, None, cur[entry], None, "new"))
        else:
            change = cur[entry] / base[entry] - 1.0
            status = ("REGRESSION" if change > ENTRY_FAIL else "warn" if change > WARN
                      else "stale" if change < -STALE else "ok")
            rows.append((entry, base[entry], cur[entry], change, status))
    logs = {}
    for entry, b, c, change, _ in rows:
        if change is not None:
            logs.setdefault(variant_of(entry), []).append(math.log(c / b))
    geomeans = []
    for variant in sorted(logs):
        g = math.exp(sum(logs[variant]) / len(logs[variant])) - 1.0
        status = ("REGRESSION" if g > GEOMEAN_FAIL else "warn" if g > WARN
                  else "stale" if g < -STALE else "ok")
        geomeans.append((variant, len(logs[variant]), g, status))
    return rows, geomeans


def pct(change):
    return "—" if change is None else f"{change * 100:+.2f}%"


def report(rows, geomeans, note):
    regressions = [r for r in rows if r[4] in ("REGRESSION", "MISSING")]
    bad_variants = [g for g in geomeans if g[3] == "REGRESSION"]
    warns = [r for r in rows if r[4] == "warn"]
    stale = [r for r in rows if r[4] == "stale"]
    verdict = "REGRESSION" if regressions or bad_variants else "clean"
    lines = ["## tconv performance gate: callgrind instruction counts", ""]
    if note:
        lines += [f"> {note}", ""]
    lines.append(f"Verdict: {verdict}. Entries compared: {len(rows)}; over +{ENTRY_FAIL:.0%} or "
                 f"missing: {len(regressions)}; variants over +{GEOMEAN_FAIL:.1%} geomean: "
                 f"{len(bad_variants)}; warnings: {len(warns)}; stale-baseline improvements: "
                 f"{len(stale)}.")
    lines += ["", "### Regressions", ""]
    if regressions or bad_variants:
        lines += ["| entry | baseline Ir | current Ir | change |", "|---|---:|---:|---:|"]
        lines += [f"| {e} | {b or '—'} | {c or '—'} | {pct(ch)} |" for e, b, c, ch, _ in regressions]
        lines += [f"| {v} (geomean of {n}) | | | {pct(g)} |" for v, n, g, _ in bad_variants]
    else:
        lines.append("None.")
    lines += ["", "### Per-variant geomeans", "", "| variant | shapes | geomean change | status |",
              "|---|---:|---:|---|"]
    lines += [f"| {v} | {n} | {pct(g)} | {s} |" for v, n, g, s in geomeans]
    lines += ["", "### Details", "", "| entry | baseline Ir | current Ir | change | status |",
              "|---|---:|---:|---:|---|"]
    lines += [f"| {e} | {b if b is not None else '—'} | {c if c is not None else '—'} | {pct(ch)} | {s} |"
              for e, b, c, ch, s in rows]
    if stale:
        lines += ["", f"Note: {len(stale)} entries improved by more than {STALE:.0%}: the baseline is "
                      "stale; refresh it with `bash scripts/update_perf_baselines.sh`."]
    return "\n".join(lines) + "\n", verdict


MATCHED = ("compiler", "flags", "valgrind", "cpu")


def same_toolchain(a, b):
    return all(a.get(k) == b.get(k) for k in MATCHED)


def rebuild_baseline_counts(commit, current_meta):
    """Builds the baseline's commit with this toolchain and measures it, for a fair comparison."""
    tmp = tempfile.mkdtemp(prefix="tconv-gate-base-")
    src, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
    try:
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", src, commit], check=True,
                       capture_output=True)
        subprocess.run(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                        f"-DCMAKE_C_COMPILER={current_meta.get('compiler_path', 'cc')}",
                        f"-DCMAKE_C_FLAGS={current_meta.get('cflags', '')}",
                        "-DTCONV_BUILD_TESTS=OFF"], check=True, capture_output=True)
        subprocess.run(["cmake", "--build", build, "--target", "tconv-gate", "-j", str(os.cpu_count())],
                       check=True, capture_output=True)
        return collect(os.path.join(build, "perf", "tconv-gate"))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", src], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_check(args):
    meta = toolchain(args.gate)
    meta["commit"] = git_commit()
    counts = collect(args.gate)
    if args.current:
        write_counts(args.current, meta, counts)
    if not os.path.exists(args.baseline):
        print(f"perf gate: SKIPPED LOUDLY: no baseline {args.baseline}; create it with "
              "bash scripts/update_perf_baselines.sh")
        return EXIT_SKIPPED
    base_meta, base = read_counts(args.baseline)
    note = ""
    if not same_toolchain(meta, base_meta):
        diff = ", ".join(f"{k}: baseline '{base_meta.get(k)}' vs here '{meta.get(k)}'"
                         for k in MATCHED if base_meta.get(k) != meta.get(k))
        print(f"perf gate: toolchain differs from the baseline's ({diff})")
        # The commit that last changed the baseline file holds the code that produced it (baselines
        # are committed with the change that causes them); the header's commit is the fallback.
        log = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%H", "--", args.baseline],
                             capture_output=True, text=True)
        commit = log.stdout.strip() or base_meta.get("commit", "")
        try:
            base = rebuild_baseline_counts(commit, meta)
            note = (f"Toolchain differs from the committed baseline ({diff}); compared against the "
                    f"baseline's commit {commit} rebuilt here with this toolchain.")
        except (subprocess.CalledProcessError, RuntimeError) as e:
            print(f"perf gate: SKIPPED LOUDLY: toolchain differs and the baseline's commit "
                  f"{commit} could not be rebuilt ({e}); no comparison made")
            return EXIT_SKIPPED
    text, verdict = report(*compare(base, counts), note)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(text)
    print(text)
    print(f"perf gate verdict: {verdict}")
    return EXIT_REGRESSION if verdict == "REGRESSION" else EXIT_PASS


def cmd_update(args):
    meta = toolchain(args.gate)
    meta["commit"] = git_commit()
    counts = collect(args.gate)
    write_counts(args.baseline, meta, counts)
    print(f"perf gate: wrote {len(counts)} entries to {args.baseline}")
    return EXIT_PASS


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("command", choices=["check", "update"])
    p.add_argument("--gate", required=True, help="path to the built tconv-gate driver")
    p.add_argument("--baseline", default=default_baseline())
    p.add_argument("--report", help="write the Markdown report here")
    p.add_argument("--current", help="also write the measured counts here")
    args = p.parse_args()
    try:
        return cmd_check(args) if args.command == "check" else cmd_update(args)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        print(f"perf gate: error: {e}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
