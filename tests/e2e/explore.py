#!/usr/bin/python3
"""wspharness explore, end to end.

--part mockbase: 300 sequences of seed 1 on the reference provider find nothing (exit 0, no file),
  in each --kind given (nonifs, ifs, or layered: PROVIDER as a layer over --lower); with
  --crashing PATH, a provider that crashes at load is no pass: exit 1, its crashed cases counted
  on stderr, no file.
--part faulty: each --faulty NAME=PATH=RULE=KIND=RUNS[=MAX]: RUNS sequences of seed 1 exit 1 and
  write DIR/RULE-*.yaml of at most MAX steps (default 8), which `wspharness run PATH --scenarios FILE` reproduces
  (its output names the rule); with --again, the first one is explored once more with the same
  seed: the same files with the same scenarios.

Usage: explore.py --harness WSPHARNESS --provider MOCKBASE --workdir DIR --part mockbase|faulty
                  [--kind K]... [--lower PATH] [--faulty NAME=PATH=RULE=KIND=RUNS[=MAX]]...
                  [--again]
                  [--wrapper PROGRAM]"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

RUNS = "300"


def kind_args(a, kind):
    if kind == "layered":
        return ["--layered", "--lower", a.lower]
    return ["--" + ("ifs" if kind == "ifs" else "non-ifs")]


def explore(a, provider, out, kind="nonifs", runs=RUNS):
    shutil.rmtree(out, ignore_errors=True)
    cmd = a.wrapper + [a.harness, "explore", provider] + kind_args(a, kind) + [
        "--seed", "1", "--runs", str(runs), "--out", out]
    return subprocess.run(cmd, capture_output=True, timeout=600)


def body(path):
    """The scenario without its comment header (the finding's message holds addresses)."""
    with open(path, encoding="utf-8") as f:
        return "".join(line for line in f if not line.startswith("#"))


def steps(path):
    """The number of steps (the items under 'steps:', not those under 'faults:')."""
    n, inside = 0, False
    for line in body(path).splitlines():
        if line.startswith("    ") and not line.startswith("     "):
            inside = line.strip() == "steps:"
        elif inside and line.startswith("      - "):
            n += 1
    return n


def part_mockbase(a):
    bad = 0
    for kind in a.kind or ["nonifs"]:
        out = os.path.join(a.workdir, "clean-" + kind)
        r = explore(a, a.provider, out, kind)
        files = glob.glob(os.path.join(out, "*.yaml"))
        if r.returncode != 0 or files:
            print(f"FAIL: {kind}: exit {r.returncode}, files {files}\n{r.stderr.decode()}")
            bad = 1
        elif b"300 sequences" not in r.stderr:
            print(f"FAIL: {kind}: no summary of 300 sequences on stderr:\n{r.stderr.decode()}")
            bad = 1
        else:
            print(f"ok: {kind}: 300 sequences, nothing found")
    return bad or (crashing(a) if a.crashing else 0)


def crashing(a):
    out = os.path.join(a.workdir, "crashing")
    r = explore(a, a.crashing, out)
    files = glob.glob(os.path.join(out, "*.yaml"))
    if r.returncode != 1 or files or b"300 case(s) crashed or timed out" not in r.stderr:
        print(f"FAIL: crashing provider: exit {r.returncode}, files {files}\n{r.stderr.decode()}")
        return 1
    print("ok: a provider that crashes at load: exit 1, its 300 cases counted, no file")
    return 0


def one_faulty(a, name, path, rule, kind, runs, most, again):
    out = os.path.join(a.workdir, name)
    r = explore(a, path, out, kind, runs)
    files = sorted(glob.glob(os.path.join(out, rule + "-*.yaml")))
    if r.returncode != 1 or not files:
        print(f"FAIL: {name}: exit {r.returncode}, no {rule}-*.yaml in {out}\n{r.stderr.decode()}")
        return 1
    bad = 0
    for f in files:
        n = steps(f)
        if n > most:
            print(f"FAIL: {name}: {f} has {n} steps (at most {most})")
            bad = 1
        run = subprocess.run(a.wrapper + [a.harness, "run", path] + kind_args(a, kind) +
                             ["--scenarios", f], capture_output=True, timeout=300)
        if rule.encode() not in run.stdout + run.stderr:
            print(f"FAIL: {name}: run --scenarios {f} does not report {rule} "
                  f"(exit {run.returncode}):\n{run.stdout.decode()}{run.stderr.decode()}")
            bad = 1
    if again:
        first = {os.path.basename(f): body(f) for f in glob.glob(os.path.join(out, "*.yaml"))}
        r2 = explore(a, path, out + "-again", kind, runs)
        second = {os.path.basename(f): body(f)
                  for f in glob.glob(os.path.join(out + "-again", "*.yaml"))}
        if r2.returncode != r.returncode or first != second:
            print(f"FAIL: {name}: the same seed gave other files: {sorted(first)} vs "
                  f"{sorted(second)}")
            bad = 1
    if not bad:
        print(f"ok: {name}: {rule} in {len(files)} file(s), "
              f"{max(steps(f) for f in files)} steps at most, reproduced by run")
    return bad


def part_faulty(a):
    bad = 0
    for i, spec in enumerate(a.faulty):
        name, path, rule, kind, runs, *most = spec.split("=")
        bad |= one_faulty(a, name, path, rule, kind, int(runs), int(most[0]) if most else 8,
                          a.again and i == 0)
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["mockbase", "faulty"], required=True)
    ap.add_argument("--faulty", action="append", default=[])
    ap.add_argument("--crashing", default=None)
    ap.add_argument("--kind", action="append", default=[],
                    choices=["nonifs", "ifs", "layered"])
    ap.add_argument("--lower", default=None)
    ap.add_argument("--again", action="store_true")
    ap.add_argument("--wrapper", default=None)
    a = ap.parse_args()
    a.wrapper = [a.wrapper] if a.wrapper else []
    os.makedirs(a.workdir, exist_ok=True)
    return part_mockbase(a) if a.part == "mockbase" else part_faulty(a)


if __name__ == "__main__":
    sys.exit(main())
