#!/usr/bin/python3
"""--jobs N: the same JUnit report as --jobs 1 (the same cases, in the same order, with the same
verdicts), and a case that crashes, aborts or exits in one child does not disturb the others.

Runs the harness twice on the provider (--jobs 1, then --jobs N) with the extra arguments after --,
and compares the case lists of the two reports (times and traces aside). --expect-error TYPE says
some case must be an <error> of that type and --expect-pass that some case must pass, so a run
that goes wrong in the same way twice does not pass. --variant-env NAME=VALUE sets a variable for
the second run only: WSPHARNESS_CASES_PER_CHILD=1 (a child per case, nothing sent ahead) must give
the report of the default persistent child, which gets its next command while a case runs."""
import argparse
import os
import shlex
import subprocess
import sys

import junitparser


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def verdicts(path):
    out = []
    for suite in junitparser.JUnitXml.fromfile(path):
        for case in suite:
            kinds = []
            for r in case.result:
                skip = r.message or "" if isinstance(r, junitparser.Skipped) else ""
                kinds.append((type(r).__name__, r.type or "", skip))
            out.append((case.classname, case.name, tuple(sorted(kinds))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--expect-error", action="append", default=[])
    ap.add_argument("--expect-pass", action="store_true")
    ap.add_argument("--variant-env", action="append", default=[])
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    os.makedirs(a.workdir, exist_ok=True)
    ok = True
    reports = {}
    variant = dict(kv.split("=", 1) for kv in a.variant_env)
    for jobs in ["1", a.jobs]:
        env = dict(os.environ)
        if jobs == a.jobs:
            env.update(variant)
        junit = os.path.join(a.workdir, f"jobs-{jobs}.xml")
        if os.path.exists(junit):
            os.remove(junit)
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine),
                                                "--jobs", jobs, "-q", "--junit",
                                                host_path(junit, wine)] + a.extra
        shown = [f"{k}={v}" for k, v in variant.items()] if jobs == a.jobs else []
        print("$", " ".join(shown + cmd), flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        sys.stdout.write(p.stdout + p.stderr)
        if p.returncode != a.expect_exit:
            print(f"FAIL: --jobs {jobs}: exit status {p.returncode}, expected {a.expect_exit}")
            ok = False
        if not os.path.exists(junit):
            print(f"FAIL: --jobs {jobs}: no report")
            return 1
        reports[jobs] = verdicts(junit)
    one, many = reports["1"], reports[a.jobs]
    print(f"--jobs 1: {len(one)} case(s); --jobs {a.jobs}: {len(many)} case(s)")
    if not one:
        print("FAIL: no cases")
        ok = False
    if one != many:
        ok = False
        names1 = [c[:2] for c in one]
        names2 = [c[:2] for c in many]
        if names1 != names2:
            print(f"FAIL: the case lists differ (in content or order)")
        for x, y in zip(one, many):
            if x != y:
                print(f"FAIL: {x[0]}/{x[1]}: --jobs 1 {x[2]} but --jobs {a.jobs} {y[2]}")
    errors = {k[1] for c in one for k in c[2] if k[0] == "Error"}
    for etype in a.expect_error:
        if etype in errors:
            print(f"ok: some case is an <error type=\"{etype}\">")
        else:
            print(f"FAIL: no case is an <error type=\"{etype}\"> (errors: {sorted(errors)})")
            ok = False
    if a.expect_pass:
        passed = sum(1 for c in one if not c[2])
        print(f"{passed} case(s) passed")
        if not passed:
            print("FAIL: no case passed")
            ok = False
    if ok:
        print("ok: the reports hold the same cases in the same order with the same verdicts")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
