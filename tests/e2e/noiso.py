#!/usr/bin/python3
"""--no-isolation keeps a watchdog (README, Running): a case that hangs, SIGINT and a closed stdout
end the run in order.

Modes (--mode):
  timeout          hostile-hang-pidfile hangs in its first WSPSocket: with --timeout 5 the run
                   ends, exit status 1, with a complete, valid JUnit report holding the selected
                   cases in order up to that one: those that finished, then the hung one as
                   <error type="timeout">.
  interrupt        the same provider, no time limit to speak of: once it hangs (its pid file
                   names the harness itself), one SIGINT ends the run the same way, the hung case
                   an <error type="interrupted">, and stderr says the run was interrupted.
  interrupt-twice  the report goes to a pipe of one page nobody reads, so after the first SIGINT
                   the harness is stuck writing it; a second SIGINT ends it at once, status 130.
  closed-stdout    mockbase with stdout a pipe whose reader is gone (`| head -c0`), then with
                   stdout closed (`>&-`), in process and isolated: no SIGPIPE death, exit status
                   3, the reason on stderr, the JUnit file still written.
No assertion depends on timing: the hang is detected by the pid file, a stuck write by the pipe
being full; the waits are generous caps.
"""
import argparse
import fcntl
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import termios

import junitparser

from hostile_common import MARK_VAR, check_no_leftovers, new_mark, wait_until
from run_case import host_path

CAP = 150.0  # seconds any one step is given (Wine's start-up included)
FILTER = "lifecycle.startup/*:sockets.nonifs/*"
F_SETPIPE_SZ = 1031


class Harness:
    def __init__(self, a):
        self.a = a
        self.wine = bool(a.wrapper)
        self.dir = tempfile.mkdtemp(dir=a.workdir)
        self.junit = os.path.join(self.dir, "report.xml")
        self.pidfile = os.path.join(self.dir, "hang.pid")
        self.mark = new_mark()
        self.failures = []

    def command(self, *extra, junit=True):
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([self.a.wrapper] if self.wine else []) + [self.a.harness]
        cmd += ["run", host_path(self.a.provider, self.wine), "--non-ifs", "--color=never"]
        if junit:
            cmd += ["--junit", host_path(self.junit, self.wine)]
        return cmd + list(extra)

    def env(self):
        env = dict(os.environ)
        env[MARK_VAR] = self.mark
        env["HOSTILE_PIDFILE"] = host_path(self.pidfile, self.wine)
        return env

    def start(self, cmd, stdout):
        print("$", " ".join(cmd), flush=True)
        self.err_path = os.path.join(self.dir, "stderr")
        with open(self.err_path, "wb") as fe:
            return subprocess.Popen(cmd, env=self.env(), stdin=subprocess.DEVNULL, stdout=stdout,
                                    stderr=fe, start_new_session=True)

    def finish(self, p):
        """Waits for the harness (killing it after CAP); returns its status and its stderr."""
        try:
            p.wait(timeout=CAP)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            self.fail(f"the harness did not end within {CAP:.0f} s")
        with open(self.err_path, "rb") as f:
            err = f.read().decode(errors="replace")
        sys.stdout.write(err)
        self.failures += check_no_leftovers(self.mark)
        return p.returncode, err

    def fail(self, text):
        self.failures.append("FAIL: " + text)

    def expect(self, cond, text):
        if not cond:
            self.fail(text)

    def read_pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def wait_hang(self, p):
        """Waits until the provider hangs (its pid file exists). True when it does."""
        got = wait_until(lambda: self.read_pid() is not None or p.poll() is not None, CAP)
        if not got or self.read_pid() is None:
            self.fail(f"the provider never reached its hang (harness status {p.poll()})")
            return False
        # in process, the process that hangs is the harness itself
        self.expect(self.read_pid() == p.pid,
                    f"the pid file names {self.read_pid()}, not the harness ({p.pid})")
        return True

    def report(self, last_error):
        """The report is whole and valid: the cases that finished, then the one that hangs (the
        first to call WSPSocket) as <error type=last_error>."""
        others = [f for f in os.listdir(self.dir) if f.startswith("report.xml") and f != "report.xml"]
        self.expect(not others, f"partial report files left: {others}")
        if not os.path.exists(self.junit):
            self.fail("no JUnit report written")
            return
        xsd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema", "junit.xsd")
        lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, self.junit],
                              capture_output=True, text=True)
        if lint.returncode != 0:
            self.fail(f"the report is not a valid JUnit document:\n{lint.stderr}")
            return
        cases = [c for s in junitparser.JUnitXml.fromfile(self.junit) for c in s]
        ids = [c.name for c in cases]  # the case ID (README.md, "JUnit")
        errors = [(c.name, r.type, r.message or "") for c in cases for r in c.result
                  if isinstance(r, junitparser.Error)]
        print(f"{len(cases)} case(s); errors: {errors}")
        selected = [i for i in self.listed(FILTER) if i.endswith("[nonifs]")]
        # the cases in selection order up to the hung one, which is the last; one finished first
        self.expect(len(ids) >= 2 and ids == selected[:len(ids)],
                    f"the report's cases {ids} are not the selection's first ones {selected}")
        self.expect(len(errors) == 1 and errors[0][:2] == (cases[-1].name, last_error),
                    f"one error expected: the last case's <error type=\"{last_error}\">")
        return errors

    def listed(self, filt):
        cmd = self.command("--filter", filt, junit=False)
        run_at = cmd.index("run")
        cmd = cmd[:run_at] + ["list", "--non-ifs", "--filter", filt]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=CAP).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]


def mode_timeout(h):
    p = h.start(h.command("--no-isolation", "--timeout", "5", "--filter", FILTER),
                subprocess.DEVNULL)
    rc, err = h.finish(p)
    h.expect(rc == 1, f"exit status {rc}, expected 1")
    h.expect("with --no-isolation a case that hangs ends the run" in err,
             "stderr does not say the hang ended the run")
    errors = h.report("timeout")
    h.expect(bool(errors) and "did not finish within 5000 ms" in errors[0][2],
             "the timeout's message does not name the limit")


def mode_interrupt(h):
    p = h.start(h.command("--no-isolation", "--timeout", "600", "--filter", FILTER),
                subprocess.DEVNULL)
    if h.wait_hang(p):
        p.send_signal(signal.SIGINT)
    rc, err = h.finish(p)
    h.expect(rc == 1, f"exit status {rc}, expected 1")
    h.expect("interrupted after" in err, "stderr does not say the run was interrupted")
    h.report("interrupted")


def pipe_full(fd, size):
    n = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return int.from_bytes(n, sys.byteorder) >= size


def mode_interrupt_twice(h):
    r, w = os.pipe()
    size = fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    p = h.start(h.command("--no-isolation", "--timeout", "600", "--filter", FILTER,
                          junit=False) + ["--junit", "-"], w)
    os.close(w)
    if h.wait_hang(p):
        p.send_signal(signal.SIGINT)
        # the report (larger than the pipe) fills it, and nobody reads: the harness is stuck
        full = wait_until(lambda: pipe_full(r, size) or p.poll() is not None, CAP)
        if p.poll() is not None or not full:
            h.fail(f"the harness was not stuck writing its report (status {p.poll()}); the "
                   f"report must be larger than {size} bytes for this test")
        else:
            print(f"the pipe holds {size} bytes; second SIGINT")
            p.send_signal(signal.SIGINT)
    rc, err = h.finish(p)
    os.close(r)
    h.expect(rc == 130, f"exit status {rc}, expected 130")
    h.expect("interrupted again" in err, "stderr does not say the second interrupt ended it")


def closed_stdout(h, how, extra):
    if os.path.exists(h.junit):
        os.remove(h.junit)
    cmd = h.command("--filter", "lifecycle.startup/startup-and-cleanup*", *extra)
    if how == "pipe":
        r, w = os.pipe()
        os.close(r)  # `| head -c0`
        p = h.start(cmd, w)
        os.close(w)
        reason = "Broken pipe"
    else:
        p = h.start(["sh", "-c", 'exec "$@" >&-', "sh"] + cmd, None)
        reason = "Bad file descriptor"
    rc, err = h.finish(p)
    what = f"stdout {how} {' '.join(extra)}"
    h.expect(rc == 3, f"{what}: exit status {rc}, expected 3 (141 or -13: SIGPIPE)")
    h.expect(f"cannot write to stdout: {reason}" in err, f"{what}: stderr does not say why")
    h.expect(os.path.exists(h.junit), f"{what}: no JUnit report written")


def mode_closed_stdout(h):
    for how in ("pipe", "closed"):
        for extra in (["--no-isolation"], []):
            closed_stdout(h, how, extra)


MODES = {"timeout": mode_timeout, "interrupt": mode_interrupt,
         "interrupt-twice": mode_interrupt_twice, "closed-stdout": mode_closed_stdout}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mode", required=True, choices=sorted(MODES))
    ap.add_argument("--wrapper")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    h = Harness(a)
    MODES[a.mode](h)
    for f in h.failures:
        print(f)
    print("ok" if not h.failures else f"{len(h.failures)} failure(s)")
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
