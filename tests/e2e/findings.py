#!/usr/bin/python3
"""Exact findings: runs wspharness on a provider and compares every (rule, case, count) it reports.

The findings are read from the JSON-lines trace (`--trace`): one triple per rule ID and case ID,
counting that rule's finding records in that case. A case that could not run to its end (an
<error>: crash, timeout, ...) counts as the pseudo-rule `error:<type>`, so a crash is never lost.
The expected file has one triple per line, `RULE CASE COUNT`; `#` starts a comment. A triple
missing from the run, an extra one or a different count fails the test, and the comparison is
printed in full. `--print-actual` prints the run's triples in the file's format (to update one
after a deliberate change, reviewing the diff).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

from hostile_common import MARK_VAR, check_no_leftovers, new_mark
from run_case import host_path


def read_expected(path):
    """{(rule, case): count} from the expected file; a malformed line is an error with its line."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 1:
                raise ValueError(f"{path}:{n}: expected 'RULE CASE COUNT' (COUNT >= 1), got {text!r}")
            key = (parts[0], parts[1])
            if key in out:
                raise ValueError(f"{path}:{n}: {parts[0]} {parts[1]} is listed twice")
            out[key] = int(parts[2])
    return out


def read_trace(path):
    """({(rule, case): count}, [case records]) from a wspharness.trace/1 file."""
    found, cases = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            rec = json.loads(line)
            if n == 1 and rec.get("schema") != "wspharness.trace/1":
                raise ValueError(f"{path}: not a wspharness.trace/1 trace")
            kind = rec.get("type")
            if kind == "finding":
                key = (rec["rule"], rec["case"])
                found[key] = found.get(key, 0) + 1
            elif kind == "case":
                cases.append(rec)
                if rec.get("outcome") == "error":
                    key = (f"error:{rec.get('error_type') or 'unknown'}", rec["case"])
                    found[key] = found.get(key, 0) + 1
    return found, cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper", help="a program to run the harness with (wine)")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--kind", action="append", default=[], choices=["ifs", "nonifs"])
    ap.add_argument("--expected", required=True, help="the expected triples")
    ap.add_argument("--trace", required=True, help="where the run's JSON-lines trace goes")
    ap.add_argument("--print-actual", action="store_true",
                    help="also print the run's triples in the expected file's format")
    ap.add_argument("extra", nargs="*", help="more arguments for `wspharness run` (after --)")
    a = ap.parse_args()

    try:
        expected = read_expected(a.expected)
    except (OSError, ValueError) as e:
        print(f"FAIL: {e}")
        return 1

    wine = bool(a.wrapper)
    trace = os.path.abspath(a.trace)
    if os.path.exists(trace):
        os.remove(trace)
    os.makedirs(os.path.dirname(trace), exist_ok=True)
    # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself, as in run_case.py.
    cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
    cmd += ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine)]
    cmd += ["--" + ("ifs" if k == "ifs" else "non-ifs") for k in a.kind]
    cmd += ["--trace", host_path(trace, wine), "--color=never"] + a.extra
    print("$", " ".join(cmd), flush=True)
    env = dict(os.environ)
    mark = new_mark()
    env[MARK_VAR] = mark
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    ok = True
    for line in check_no_leftovers(mark):
        print(line)
        ok = False
    # 0 and 1 are verdicts; 2 (bad input) and 3 (internal error) mean the run itself failed.
    if p.returncode not in (0, 1):
        print(f"FAIL: exit status {p.returncode}: the run did not complete")
        return 1
    try:
        actual, cases = read_trace(trace)
    except (OSError, ValueError, KeyError) as e:
        print(f"FAIL: cannot read the trace: {e}")
        return 1
    if not cases:
        print("FAIL: the trace has no cases")
        return 1

    print(f"\nfindings of {len(cases)} case(s), compared with {a.expected}:")
    bad = 0
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[1], k[0])):
        want, got = expected.get(key, 0), actual.get(key, 0)
        rule, case = key
        if want == got:
            print(f"  ok  {rule} {case} {got}")
        elif not got:
            print(f"  -   {rule} {case} {want}   (expected, not reported)")
        elif not want:
            print(f"  +   {rule} {case} {got}   (reported, not expected)")
        else:
            print(f"  ~   {rule} {case}: reported {got}, expected {want}")
        bad += want != got
    # The exit status must agree with the findings: 1 exactly when something failed.
    failed = any(c.get("outcome") in ("fail", "error") for c in cases)
    if p.returncode != (1 if failed else 0):
        print(f"FAIL: exit status {p.returncode}, but {'some' if failed else 'no'} case failed")
        ok = False
    if a.print_actual:
        print("\n# the run's triples:")
        for (rule, case), n in sorted(actual.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            print(f"{rule} {case} {n}")
    if bad:
        print(f"FAIL: {bad} triple(s) differ (- expected but not reported, + reported but not "
              f"expected, ~ another count)")
        ok = False
    else:
        print(f"ok: the {len(actual)} triple(s) reported are exactly the expected ones")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
