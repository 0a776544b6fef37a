#!/usr/bin/python3
"""The bundled concurrent scenarios (scenarios/concurrent) under --stress: every run of every
scenario passes with no finding (exit 0, no failure, error or warning in the JUnit report), the
report holds exactly the expected cases (concurrent scenarios x runs x kinds, each named
NAME#stress-K), the ping-pong case that can only pass when two threads run at once passed in
every run, and the same --seed prints the same start offsets (-v) while another seed prints
others. Under --wrapper wine the paths are handed over as Z: paths."""
import argparse
import fnmatch
import os
import re
import shlex
import subprocess
import sys

import junitparser
import yaml


def host(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def concurrent_names(folder):
    names = []
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            if f.endswith(".yaml"):
                with open(os.path.join(root, f)) as fh:
                    doc = yaml.safe_load(fh)
                names += [s["name"] for s in doc["scenarios"] if s.get("concurrent")]
    return names


def run(a, extra, junit=None):
    wine = bool(a.wrapper)
    cmd = shlex.split(a.wrapper or "") + [a.harness, "run", host(a.provider, wine), "--scenarios",
                                          host(a.scenarios, wine)]
    cmd += ["--" + k.replace("nonifs", "non-ifs") for k in a.kind]
    if a.lower:
        cmd += ["--layered", "--lower", host(a.lower, wine)]
    if junit:
        cmd += ["--junit", host(junit, wine)]
    cmd += extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return p, cmd


def check_stress(a):
    junit = os.path.abspath(a.junit)
    if os.path.exists(junit):
        os.remove(junit)
    filt = ":".join(f"-*/{x}#*" for x in a.exclude)
    p, cmd = run(a, ["--stress", str(a.stress), "-q"] + (["--filter", filt] if filt else []), junit)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    names = [n for n in concurrent_names(a.scenarios)
             if not any(fnmatch.fnmatchcase(n, x) for x in a.exclude)]
    want = len(names) * a.stress * len(a.kind)
    cases = [c for s in junitparser.JUnitXml.fromfile(junit) for c in s]
    if len(cases) != want:
        fail(f"{len(cases)} cases in the JUnit report, expected {want} ({len(names)} concurrent "
             f"scenarios x {a.stress} runs x {len(a.kind)} kinds)")
    for c in cases:
        out = c.system_out or ""
        if c.result or re.search(r"\[warning\]|not reached", out):
            fail(f"{c.classname}/{c.name} is not clean: {c.result} {out[:2000]}")
        if not re.search(r"#stress-\d+\[(non)?ifs\]$", c.name):
            fail(f"case {c.name} is not named NAME#stress-K[kind]")
    pingpong = [c for c in cases if "/ping-pong-needs-two-threads#" in c.name]
    if len(pingpong) != a.stress * len(a.kind):
        fail(f"the ping-pong case ran {len(pingpong)} times")


def offsets(a, seed):
    p, cmd = run(a, ["--stress", "3", "--seed", str(seed), "-v", "--filter", "*ping-pong*"])
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("stress ")]
    if not lines:
        fail(f"-v printed no start offsets:\n{p.stdout}")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--lower")
    ap.add_argument("--kind", action="append", required=True, choices=["ifs", "nonifs"])
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--stress", type=int, default=5)
    ap.add_argument("--junit", required=True)
    ap.add_argument("--check-seed", action="store_true")
    ap.add_argument("--exclude", action="append", default=[],
                    help="a scenario name (glob) left out of the run (--filter -*/NAME#*)")
    a = ap.parse_args()
    check_stress(a)
    if a.check_seed:
        one, two, other = offsets(a, 42), offsets(a, 42), offsets(a, 43)
        if one != two:
            fail(f"the same seed printed other offsets:\n{one}\n{two}")
        if one == other:
            fail(f"another seed printed the same offsets:\n{one}")
        if len(one) != 3 or not all(re.match(r"stress \S+#stress-\d: start offsets left=\d+ "
                                               r"right=\d+$", l) for l in one):
            fail(f"unexpected offset lines: {one}")
    print("ok")


if __name__ == "__main__":
    main()
