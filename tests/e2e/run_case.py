#!/usr/bin/python3
"""End-to-end check: runs wspharness on a provider and asserts the exit status and the exact rule IDs.

The JUnit report is read with junitparser (an independent consumer), so a report CI systems cannot
parse fails the test too. Under --wrapper wine, paths are handed to the Windows program as Z: paths.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

import junitparser

from hostile_common import MARK_VAR, check_no_leftovers, new_mark


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def findings(xml):
    """Rule IDs per case: failure types plus every 'RULE [severity]' line of the failure bodies."""
    out = {}
    suites = xml if isinstance(xml, junitparser.JUnitXml) else [xml]
    for suite in suites:
        for case in suite:
            ids = set()
            for r in case.result:
                if isinstance(r, (junitparser.Failure, junitparser.Error)):
                    if r.type:
                        ids.add(r.type)
                    for m in re.finditer(r"^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+) \[(error|warning)\]",
                                         r.text or "", re.M):
                        ids.add(m.group(1))
            for m in re.finditer(r"^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+) \[warning\]",
                                 case.system_out or "", re.M):
                ids.add(m.group(1))
            out[f"{case.classname}/{case.name}"] = (ids, case)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--kind", action="append", default=[], choices=["ifs", "nonifs"])
    ap.add_argument("--junit", required=True)
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--expect-rule", action="append", default=[])
    ap.add_argument("--expect-error", action="append", default=[],
                    help="some case is an <error> of this type (crash, timeout, exit, abort, ...)")
    ap.add_argument("--expect-message", action="append", default=[],
                    help="some case's <error> or <failure> message contains this text")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for the harness")
    ap.add_argument("--expect-exact", action="store_true",
                    help="no rule but those of --expect-rule (and --allow-rule) is reported")
    ap.add_argument("--allow-rule", action="append", default=[],
                    help="with --expect-exact: a rule that may be reported too (a warning the "
                         "provider's own code earns, not the defect under test)")
    ap.add_argument("--expect-clean", action="store_true",
                    help="no failure, no error, no warning in any case")
    ap.add_argument("--expect-stderr")
    ap.add_argument("--expect-console", action="append", default=[],
                    help="a regular expression the console output (stdout) must match")
    ap.add_argument("--no-junit", action="store_true", help="the run is expected to write no report")
    ap.add_argument("--layered", action="store_true", help="run the provider as a layer")
    ap.add_argument("--lower", help="the provider below the layer")
    ap.add_argument("--lower-non-ifs", action="store_true")
    ap.add_argument("--keep-isolation", action="store_true",
                    help="run every selected scenario, never only those of the rule (hostile providers, sweeps)")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()

    wine = bool(a.wrapper)
    junit = os.path.abspath(a.junit)
    if os.path.exists(junit):
        os.remove(junit)
    # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself, not of this script.
    cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
    cmd += ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine)]
    cmd += ["--" + ("ifs" if k == "ifs" else "non-ifs") for k in a.kind]
    if a.layered:
        cmd.append("--layered")
    if a.lower:
        cmd += ["--lower", host_path(a.lower, wine)]
    if a.lower_non_ifs:
        cmd.append("--lower-non-ifs")
    cmd += ["--junit", host_path(junit, wine), "--color=never"] + a.extra
    # Every run is isolated (a persistent child per job makes that cheap, under Wine too). Under
    # Wine (WSPH_E2E_FAST) a faulty provider runs only the scenarios that check its rule.
    if os.environ.get("WSPH_E2E_FAST") == "1" and len(a.expect_rule) == 1 and not a.keep_isolation \
            and "--filter" not in a.extra and a.expect_exit == 1:
        cmd += ["--rule", a.expect_rule[0]]
    print("$", " ".join(cmd), flush=True)
    env = dict(os.environ)
    for kv in a.env:
        name, _, value = kv.partition("=")
        env[name] = value
    # Every run must leave no process behind: the marker finds whatever it started.
    mark = new_mark()
    env[MARK_VAR] = mark
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if wine and not p.stdout and not p.stderr and not os.path.exists(junit):
        # The harness always prints at least its summary line: nothing at all, and no report,
        # means Wine did not run it (seen twice in hundreds of runs, in 0.06 s, exit 1). Once more.
        print(f"note: wine ran nothing (exit {p.returncode}, no output, no report): once more",
              flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    ok = True
    for line in check_no_leftovers(mark):
        print(line)
        ok = False
    if p.returncode != a.expect_exit:
        print(f"FAIL: exit status {p.returncode}, expected {a.expect_exit}")
        ok = False
    for pattern in a.expect_console:
        if re.search(pattern, p.stdout, re.M):
            print(f"ok: the console matches {pattern!r}")
        else:
            print(f"FAIL: the console does not match {pattern!r}")
            ok = False
    if a.expect_stderr and a.expect_stderr not in p.stderr:
        print(f"FAIL: stderr does not mention {a.expect_stderr!r}")
        ok = False
    if a.no_junit:
        if os.path.exists(junit):
            print("FAIL: a report was written")
            ok = False
        return 0 if ok else 1
    if not os.path.exists(junit):
        print("FAIL: no JUnit report written")
        return 1
    # Two independent consumers: our strict schema (xmllint), then junitparser below.
    xsd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema", "junit.xsd")
    lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, junit], capture_output=True, text=True)
    if lint.returncode != 0:
        print(f"FAIL: the report does not validate against tests/schema/junit.xsd:\n{lint.stderr}")
        ok = False
    xml = junitparser.JUnitXml.fromfile(junit)
    cases = findings(xml)
    if not cases:
        print("FAIL: the report has no test cases")
        ok = False
    seen = set().union(*(ids for ids, _ in cases.values())) if cases else set()
    for rule in a.expect_rule:
        where = [n for n, (ids, _) in cases.items() if rule in ids]
        if where:
            print(f"ok: {rule} reported in {', '.join(sorted(where)[:4])}")
        else:
            print(f"FAIL: {rule} was not reported (reported: {', '.join(sorted(seen)) or 'nothing'})")
            ok = False
    for etype in a.expect_error:
        where = [n for n, (_, c) in cases.items()
                 if any(isinstance(r, junitparser.Error) and r.type == etype for r in c.result)]
        if where:
            print(f"ok: error type {etype} reported in {', '.join(sorted(where)[:3])}")
        else:
            print(f"FAIL: no case is an <error type=\"{etype}\">")
            ok = False
    for text in a.expect_message:
        where = [n for n, (_, c) in cases.items()
                 if any(isinstance(r, (junitparser.Error, junitparser.Failure))
                        and text in (r.message or "") for r in c.result)]
        if where:
            print(f"ok: {text!r} in the message of {', '.join(sorted(where)[:3])}")
        else:
            print(f"FAIL: no <error> or <failure> message contains {text!r}")
            ok = False
    if a.expect_exact:
        extra = {n: ids - set(a.expect_rule) - set(a.allow_rule) for n, (ids, _) in cases.items()}
        extra = {n: ids for n, ids in extra.items() if ids}
        for n, ids in sorted(extra.items()):
            print(f"FAIL: {n}: also {', '.join(sorted(ids))} (only {', '.join(a.expect_rule)} expected)")
        if extra:
            ok = False
    if a.expect_clean:
        dirty = {n: ids for n, (ids, _) in cases.items() if ids}
        for n, ids in sorted(dirty.items()):
            print(f"FAIL: {n}: {', '.join(sorted(ids))}")
        if dirty:
            ok = False
        ran = sum(1 for _, c in cases.values() if not c.result)
        print(f"{ran} case(s) passed, {len(cases) - ran} skipped or failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
