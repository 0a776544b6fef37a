#!/usr/bin/python3
"""End-to-end check of the harness's isolation against a hostile provider (issue 11).

Runs wspharness on the provider (and, for comparisons, on the baseline: the same module without
the hostile behaviour), then asserts:
  --expect-exit N                 the harness's exit status (default 1);
  --expect-all-errors T[,T]       every case is an <error> whose type is one of T and reports no
                                  rule; with --cases-of BASE the cases are exactly BASE's;
  --or-baseline                   with the above: a case may have BASE's verdict instead, and at
                                  least one case is such an error;
  --expect-same-as-baseline BASE  every case's verdict (outcome and rule IDs) equals BASE's, apart
                                  from the attacked cases below;
  --attacked TYPE [--attacked-count N] [--attacked-message TEXT|ALT]...
                                  exactly N cases (default 1) are an <error type=TYPE> reporting
                                  nothing else, each with a message containing TEXT (or ALT);
                                  '{pid}' stands for the pid in the pid file;
  --forbid-text TEXT              no case's error or failure type or message contains TEXT;
  --stdout-junit                  the report goes to stdout (--junit -): the harness's stdout
                                  must be exactly a valid JUnit document;
  --pidfile                       HOSTILE_PIDFILE names a fresh file; the pid the provider
                                  writes there must be gone after the run;
  --kill-parent                   once the pid file exists (the provider is hanging), the harness
                                  is killed with SIGKILL; the process of the pid must be gone.
                                  The hang is a busy loop (HOSTILE_HANG_BUSY=1): a sleeping one
                                  is ended by the stall monitor, maybe before the SIGKILL;
  --once                          HOSTILE_ONCE names a fresh file (the attack happens once);
  --relative                      the harness runs in the provider's folder and is given the
                                  provider's bare file name.
Every run (the baseline's too) must leave no process behind (hostile_common.py).
"""
import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile

import junitparser

from hostile_common import MARK_VAR, carries, check_no_leftovers, new_mark, wait_until
from run_case import findings, host_path

GONE_CAP = 30.0        # seconds a process is given to disappear
PIDFILE_CAP = 180.0    # seconds a provider is given to reach its hang (Wine's start-up included)
RUN_CAP = 150          # seconds a whole run is given (natively it takes seconds)


def outcome(case):
    for r in case.result:
        if isinstance(r, junitparser.Error):
            return "error"
        if isinstance(r, junitparser.Failure):
            return "failure"
        if isinstance(r, junitparser.Skipped):
            return "skipped"
    return "pass"


def error_of(case):
    for r in case.result:
        if isinstance(r, junitparser.Error):
            return r
    return None


def texts(case):
    """Types and messages of the case's errors and failures."""
    out = []
    for r in case.result:
        if isinstance(r, (junitparser.Error, junitparser.Failure)):
            out += [r.type or "", r.message or ""]
    return out


class Run:
    def __init__(self, a, provider, workdir, tag):
        self.a, self.provider, self.workdir, self.tag = a, provider, workdir, tag
        self.wine = bool(a.wrapper)
        self.junit = os.path.join(workdir, tag + ".xml")
        self.pidfile = os.path.join(workdir, tag + ".pid")
        self.once = os.path.join(workdir, tag + ".once")
        self.stdout_path = os.path.join(workdir, tag + ".stdout")
        self.stderr_path = os.path.join(workdir, tag + ".stderr")
        for f in (self.junit, self.pidfile, self.once):
            if os.path.exists(f):
                os.remove(f)
        self.mark = new_mark()
        self.failures = []

    def command(self, hostile):
        a = self.a
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += [a.wrapper] if self.wine else []
        cmd.append(a.harness if not a.relative else os.path.abspath(a.harness))
        prov = os.path.basename(self.provider) if a.relative else host_path(self.provider, self.wine)
        cmd += ["run", prov, "--non-ifs" if a.kind == "nonifs" else "--ifs", "--color=never"]
        # with the report on stdout, the console summary goes to stderr (README, Isolation)
        cmd += ["--junit", "-" if (a.stdout_junit and hostile) else host_path(self.junit, self.wine)]
        return cmd + a.extra

    def env(self, hostile):
        env = dict(os.environ)
        env[MARK_VAR] = self.mark
        if hostile and self.a.pidfile:
            env["HOSTILE_PIDFILE"] = host_path(self.pidfile, self.wine)
        if hostile and self.a.kill_parent:
            env["HOSTILE_HANG_BUSY"] = "1"
        if hostile and self.a.once:
            env["HOSTILE_ONCE"] = host_path(self.once, self.wine)
        return env

    def output(self):
        with open(self.stdout_path, "rb") as fo, open(self.stderr_path, "rb") as fe:
            return fo.read(), fe.read()

    def read_pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def run(self, hostile):
        cmd = self.command(hostile)
        cwd = os.path.dirname(os.path.abspath(self.provider)) if self.a.relative else None
        print(f"$ {'(cd ' + cwd + ') ' if cwd else ''}{' '.join(cmd)}", flush=True)
        # A session of its own: a provider's kill(0, ...) reaches the harness's group, never this
        # script. Output goes to files, not pipes: a process the run leaves behind may hold them,
        # and the wait is for the harness itself, never for the end of its output.
        with open(self.stdout_path, "wb") as fo, open(self.stderr_path, "wb") as fe:
            p = subprocess.Popen(cmd, cwd=cwd, env=self.env(hostile), stdin=subprocess.DEVNULL,
                                 stdout=fo, stderr=fe, start_new_session=True)
        if hostile and self.a.kill_parent:
            return self.kill_parent(p)
        try:
            p.wait(timeout=RUN_CAP)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            self.failures.append(f"FAIL: the harness did not finish within {RUN_CAP} s")
        self.rc = p.returncode
        self.out, self.err = self.output()
        sys.stdout.write(self.err.decode(errors="replace"))
        if not (hostile and self.a.stdout_junit):
            sys.stdout.write(self.out.decode(errors="replace"))
        if hostile and self.a.pidfile:
            self.check_pid_gone()
        self.failures += check_no_leftovers(self.mark, GONE_CAP)
        return self

    def check_pid_gone(self):
        """The process the provider named in the pid file is gone (before the marker scan, which
        kills what it finds). Under Wine the pid is a Windows one: the marker scan finds it."""
        pid = self.read_pid()
        if pid is None:
            self.failures.append(f"FAIL: the provider wrote no pid to {self.pidfile}")
        elif not self.wine:
            if wait_until(lambda: not carries(pid, self.mark), GONE_CAP):
                print(f"ok: process {pid} (from the pid file) is gone")
            else:
                self.failures.append(f"FAIL: process {pid} (from the pid file) is still there "
                                     f"{GONE_CAP:.0f} s after the run")

    def kill_parent(self, p):
        """Waits until the provider hangs (its pid file exists), kills the harness, then waits
        until the process that wrote the pid file is gone."""
        got = wait_until(lambda: self.read_pid() is not None or p.poll() is not None, PIDFILE_CAP)
        pid = self.read_pid()
        if not got or pid is None:
            self.failures.append(f"FAIL: no pid in {self.pidfile} within {PIDFILE_CAP:.0f} s "
                                 f"(harness status {p.poll()})")
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        else:
            print(f"the provider's process {pid} hangs; SIGKILL to the harness ({p.pid})")
            p.kill()
            p.wait()
            out, err = self.output()
            sys.stdout.write(out.decode(errors="replace") + err.decode(errors="replace"))
            self.check_pid_gone()
        self.rc = p.returncode
        self.failures += check_no_leftovers(self.mark, GONE_CAP)
        return self

    def report(self, hostile):
        """Parses and validates the report; returns {case: (ids, case)} or None."""
        if hostile and self.a.stdout_junit:
            # all of stdout, as it came: xmllint below fails on anything but one document
            with open(self.junit, "wb") as f:
                f.write(self.out)
        if not os.path.exists(self.junit):
            self.failures.append(f"FAIL: no JUnit report written ({self.tag})")
            return None
        xsd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema", "junit.xsd")
        lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, self.junit],
                              capture_output=True, text=True)
        if lint.returncode != 0:
            self.failures.append(f"FAIL: the report ({self.tag}) is not a valid JUnit document:\n"
                                 f"{lint.stderr}")
            return None
        try:
            xml = junitparser.JUnitXml.fromfile(self.junit)
        except Exception as e:  # noqa: BLE001 - any parse error is the finding
            self.failures.append(f"FAIL: the report ({self.tag}) does not parse: {e}")
            return None
        cases = findings(xml)
        if not cases:
            self.failures.append(f"FAIL: the report ({self.tag}) has no test cases")
        return cases


def verdicts(cases):
    return {n: (outcome(c), tuple(sorted(ids))) for n, (ids, c) in cases.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--kind", default="nonifs", choices=["ifs", "nonifs"])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--expect-exit", type=int, default=1)
    ap.add_argument("--expect-all-errors")
    ap.add_argument("--cases-of")
    ap.add_argument("--error-message",
                    help="with --expect-all-errors: each error's message contains this (ALT|ALT)")
    ap.add_argument("--or-baseline", action="store_true",
                    help="with --expect-all-errors and --cases-of: a case may instead have the "
                         "baseline's verdict, and at least one case is such an error (a thread "
                         "the module starts at load crashes in whichever case it runs in)")
    ap.add_argument("--expect-same-as-baseline")
    ap.add_argument("--attacked")
    ap.add_argument("--attacked-count", type=int, default=1)
    ap.add_argument("--attacked-message", action="append", default=[])
    ap.add_argument("--forbid-text", action="append", default=[])
    ap.add_argument("--stdout-junit", action="store_true")
    ap.add_argument("--pidfile", action="store_true")
    ap.add_argument("--kill-parent", action="store_true")
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--relative", action="store_true")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    if a.kill_parent:
        a.pidfile = True
    os.makedirs(a.workdir, exist_ok=True)
    workdir = tempfile.mkdtemp(dir=a.workdir)

    failures = []
    base_cases = None
    base_name = a.expect_same_as_baseline or a.cases_of
    if base_name:
        b = Run(a, base_name, workdir, "baseline").run(hostile=False)
        base_cases = b.report(hostile=False)
        failures += b.failures
        if base_cases is None:
            failures.append("FAIL: the baseline run gave no report to compare with")

    h = Run(a, a.provider, workdir, "hostile").run(hostile=True)
    failures += h.failures
    if a.kill_parent:
        if h.rc != -signal.SIGKILL:
            failures.append(f"FAIL: the harness ended with status {h.rc}, not by the SIGKILL")
        return finish(failures)

    if h.rc != a.expect_exit:
        failures.append(f"FAIL: exit status {h.rc}, expected {a.expect_exit}")
    n_before = len(h.failures)
    cases = h.report(hostile=True)
    failures += h.failures[n_before:]
    if cases is None:
        return finish(failures)
    pid = h.read_pid() if a.pidfile else None

    for name, (ids, c) in sorted(cases.items()):
        print(f"  {name}: {outcome(c)} {' '.join(sorted(ids))}"
              + (f" ({error_of(c).message})" if error_of(c) is not None else ""))

    # --forbid-text: nothing the provider forged is believed
    for text in a.forbid_text:
        for name, (_, c) in sorted(cases.items()):
            if any(text in t for t in texts(c)):
                failures.append(f"FAIL: {name}: {text!r} in an error or failure: {texts(c)}")

    if a.expect_all_errors:
        allowed = set(a.expect_all_errors.split(","))
        theirs = verdicts(base_cases) if a.or_baseline and base_cases is not None else {}
        errors = 0
        for name, (ids, c) in sorted(cases.items()):
            e = error_of(c)
            if name in theirs and verdicts({name: (ids, c)})[name] == theirs[name]:
                continue
            errors += e is not None and e.type in allowed
            if e is None or e.type not in allowed:
                failures.append(f"FAIL: {name} is {outcome(c)} {sorted(ids)}, not an <error> of "
                                f"type {'/'.join(sorted(allowed))}")
            elif set(ids) != {e.type}:
                failures.append(f"FAIL: {name} reports more than its error: {sorted(ids)}")
            elif a.error_message and not any(m in (e.message or "") for m in a.error_message.split("|")):
                failures.append(f"FAIL: {name}'s error does not say {a.error_message!r}: "
                                f"{e.message!r}")
        if a.or_baseline and not errors:
            failures.append(f"FAIL: no case is an <error> of type {'/'.join(sorted(allowed))}")
        if base_cases is not None and set(cases) != set(base_cases):
            failures.append(f"FAIL: the cases are not the selected ones: missing "
                            f"{sorted(set(base_cases) - set(cases))}, extra "
                            f"{sorted(set(cases) - set(base_cases))}")
        elif base_cases is not None:
            print(f"ok: all {len(cases)} selected cases are in the report")

    attacked = set()
    if a.attacked:
        attacked = {n for n, (ids, c) in cases.items()
                    if error_of(c) is not None and error_of(c).type == a.attacked}
        if len(attacked) != a.attacked_count:
            failures.append(f"FAIL: {len(attacked)} case(s) are an <error type=\"{a.attacked}\">, "
                            f"expected {a.attacked_count}")
        for n in sorted(attacked):
            ids, c = cases[n]
            if set(ids) != {a.attacked}:
                failures.append(f"FAIL: {n} reports more than its error: {sorted(ids)}")
            msg = error_of(c).message or ""
            for want in a.attacked_message:
                alts = [w.replace("{pid}", str(pid)) for w in want.split("|")]
                if "{pid}" in want and pid is None:
                    failures.append(f"FAIL: {n}: no pid to look for in the message")
                elif not any(w in msg for w in alts):
                    failures.append(f"FAIL: {n}: the message does not contain "
                                    f"{' or '.join(map(repr, alts))}: {msg!r}")
                else:
                    print(f"ok: {n}: {a.attacked} with {' or '.join(map(repr, alts))} in its message")

    if a.expect_same_as_baseline and base_cases is not None:
        mine, theirs = verdicts(cases), verdicts(base_cases)
        if set(mine) != set(theirs):
            failures.append(f"FAIL: not the baseline's cases: missing "
                            f"{sorted(set(theirs) - set(mine))}, extra {sorted(set(mine) - set(theirs))}")
        same = 0
        for n in sorted(set(mine) & set(theirs)):
            if n in attacked:
                continue
            if mine[n] != theirs[n]:
                failures.append(f"FAIL: {n}: {mine[n][0]} {list(mine[n][1])}, the baseline "
                                f"{theirs[n][0]} {list(theirs[n][1])}")
            else:
                same += 1
        print(f"ok: {same} case(s) with the baseline's verdict" if same else
              "no case with the baseline's verdict")

    return finish(failures)


def finish(failures):
    for f in failures:
        print(f)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
