#!/usr/bin/python3
"""A failing case that left nothing behind keeps its child process.

Runs a buggy LSP whose every case fails (over the whole bundled suite) with WSPHARNESS_CHILD_LOG=1
and reads why each child was replaced. The only replacement allowed is the scenario that unloads
the provider without its final WSPCleanup; a build whose leak checker watches the child's exit
(ASan, valgrind) replaces it after each failing case instead, and says so.
"""
import argparse
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--min-failed", type=int, default=40)
    a = ap.parse_args()
    prov = os.path.abspath(a.provider)
    if a.wrapper:
        prov = "Z:" + prov.replace("/", "\\")
    cmd = ([a.wrapper] if a.wrapper else []) + [a.harness, "run", prov, "--layered"]
    env = dict(os.environ, WSPHARNESS_CHILD_LOG="1")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")
    out = p.stdout.replace("\r", "")
    err = p.stderr.replace("\r", "")
    if p.returncode != 1:
        print(f"FAIL: exit status {p.returncode}, wanted 1\n{err[-3000:]}")
        return 1
    m = re.search(r"^(\d+) passed, (\d+) failed, (\d+) errors", out, re.M)
    if not m or int(m.group(2)) < a.min_failed or int(m.group(3)) != 0:
        print(f"FAIL: wanted at least {a.min_failed} failed cases and no error:\n{out[-2000:]}")
        return 1
    reasons = re.findall(r"^wspharness: child replaced after (\S+) \(\d+ case\(s\)\): (.*)$", err, re.M)
    leak_checked = [r for r in reasons if "leak checker" in r[1]]
    others = [r for r in reasons if "leak checker" not in r[1]]
    print(f"{m.group(2)} failed cases; children replaced: {len(others)} "
          f"(+{len(leak_checked)} for a leak checker)")
    for case, why in others:
        print(f"  {case}: {why}")
    if len(others) != 1 or "without its final WSPCleanup" not in others[0][1]:
        print("FAIL: a failing case that left nothing behind must keep the child")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
