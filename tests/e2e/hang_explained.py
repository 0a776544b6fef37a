#!/usr/bin/python3
"""A hang explained (README, Statuses of a hang): a provider whose call never returns is reported
with the exact status given (`deadlock` when every thread of the child is blocked for good, one of
them inside the provider; `timeout` otherwise, and under Wine, which does not say what a thread
waits on), and its message names the thread inside the call by the id its events carry, the call,
and the step it belongs to.

Runs one scenario file (its own `timeout:` is the limit where the hang is not seen at once) and
reads the JUnit report and the JSON-lines trace: the thread of the CALL event of the hung function
that has no RETURN must be the one the message names. With --no-isolation the case ends the run
and its events are not in the trace: the message's thread is then checked against its pattern.
No assertion depends on timing: natively the verdict is exact (every thread's system call), and
the deadline is the scenario's own.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

import junitparser

from hostile_common import MARK_VAR, check_no_leftovers, new_mark
from run_case import host_path


def open_calls(trace, fn):
    """Threads with a CALL of fn whose RETURN the trace does not have."""
    calls, returned = {}, set()
    with open(trace, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("type") != "event":
                continue
            if ev["kind"] == "call" and ev["function"] == fn:
                calls[ev["seq"]] = ev["thread"]
            elif ev["kind"] == "return" and ev.get("parent") in calls:
                returned.add(ev["parent"])
    return {t for s, t in calls.items() if s not in returned}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--expect-status", required=True, help="deadlock or timeout")
    ap.add_argument("--call", required=True, help="the WSP call the driver thread hangs in")
    ap.add_argument("--step", required=True, help="'4 (cleanup)': the step of that call")
    ap.add_argument("--expect-message", action="append", default=[],
                    help="the message also contains this text")
    ap.add_argument("--no-isolation", action="store_true")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for the harness")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    os.makedirs(a.workdir, exist_ok=True)
    junit = os.path.join(a.workdir, "report.xml")
    trace = os.path.join(a.workdir, "trace.jsonl")
    others = {fmt: os.path.join(a.workdir, "report." + fmt)
              for fmt in ("tap", "matrix", "matrix-html")}
    for p in [junit, trace] + list(others.values()):
        if os.path.exists(p):
            os.remove(p)
    cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
    cmd += ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine),
                                            "--non-ifs", "--color=never",
                                            "--scenarios", host_path(a.scenarios, wine),
                                            "--junit", host_path(junit, wine),
                                            "--trace", host_path(trace, wine)]
    for fmt, path in others.items():
        cmd += ["--report", f"{fmt}:{host_path(path, wine)}"]
    if a.no_isolation:
        cmd.append("--no-isolation")
    print("$", " ".join(cmd), flush=True)
    env = dict(os.environ)
    for kv in a.env:
        name, _, value = kv.partition("=")
        env[name] = value
    mark = new_mark()
    env[MARK_VAR] = mark
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    sys.stdout.write(p.stdout + p.stderr)
    problems = list(check_no_leftovers(mark))
    if p.returncode != 1:
        problems.append(f"exit status {p.returncode}, expected 1")
    xsd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema", "junit.xsd")
    lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, junit], capture_output=True,
                          text=True)
    if lint.returncode != 0:
        problems.append(f"the JUnit report does not validate: {lint.stderr}")
    # every report shows the status (the console, JUnit below, TAP, the trace, both matrices)
    shown = {"console": p.stdout}
    for fmt, path in list(others.items()) + [("trace", trace)]:
        with open(path, encoding="utf-8") as f:
            shown[fmt] = f.read()
    for fmt, text in shown.items():
        if a.expect_status not in text:
            problems.append(f"the {fmt} report does not show {a.expect_status!r}")
    if a.expect_status == "deadlock" and '"deadlocks":1' not in shown["trace"]:
        problems.append("the trace's summary does not count the deadlock")
    errors = []
    for suite in junitparser.JUnitXml.fromfile(junit):
        for case in suite:
            errors += [r for r in case.result if isinstance(r, junitparser.Error)]
    if len(errors) != 1:
        problems.append(f"{len(errors)} <error> cases, expected 1")
    else:
        err = errors[0]
        msg = err.message or ""
        print(f"status {err.type}: {msg}")
        if err.type != a.expect_status:
            problems.append(f"status {err.type!r}, expected {a.expect_status!r}")
        if a.no_isolation:
            threads = set(int(t) for t in re.findall(
                r"thread (\d+) \(the harness's driver thread\) is in " + re.escape(a.call) + r"\(",
                msg))
        else:
            threads = open_calls(trace, a.call)
        if len(threads) != 1:
            problems.append(f"{len(threads)} threads inside {a.call}, expected 1")
        for tid in threads:
            want = f"thread {tid} (the harness's driver thread) is in {a.call}("
            if want not in msg:
                problems.append(f"the message does not say {want!r}")
        texts = [f"since step {a.step}"] + a.expect_message
        for text in texts:
            if text not in msg:
                problems.append(f"the message does not say {text!r}")
        if a.expect_status == "deadlock" and "(1 deadlock)" not in p.stdout:
            problems.append("the console's summary does not count the deadlock")
    for line in problems:
        print("FAIL:", line)
    if not problems:
        print("ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
