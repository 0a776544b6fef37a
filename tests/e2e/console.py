#!/usr/bin/python3
"""The console summary, exactly (README.md, "Reports": Console), and its progress on a stderr that
is not a terminal.

1. One deterministic run of a faulty provider (fault-nonifs-no-close-handle) on
   tests/e2e/data/console/console.yaml: stdout must equal tests/e2e/data/console/expected.txt
   (normalised as the golden files are: CRLF, the provider's path, .so/.dll). It pins the case IDs,
   one line per finding with the call decoded by name (an address, a socket option, an ioctl code,
   an FD_* set and a window message, select sets), each broken rule's statement and source once,
   and the closing table of the broken rules by count. stderr (a pipe) must hold no periodic
   progress line: --deterministic never prints one.
2. A run of hostile-hang-close whose only case hangs until --timeout (0.5 s), with
   WSPHARNESS_PROGRESS_INTERVAL_MS=100: the run lasts longer than the interval by construction (a
   case cannot end before its time limit), so stderr must hold at least one line
   "[1/1] 100% 00:00 elapsed" or "[0/1]   0% 00:00 elapsed, current: console/two-closes[nonifs]"
   (the harness prints one when the run ends if none came yet: no timing slack). A bad interval
   is bad input (exit 2, named; checked natively only).

After an intended change, rewrite expected.txt with WSPH_UPDATE_GOLDEN=1 and review the diff.
"""
import argparse
import os
import re
import subprocess
import sys

from run_case import host_path

DATA = os.path.join("tests", "e2e", "data", "console")
PROGRESS = re.compile(r"^\[ *(\d+)/1\] +(\d+)% \d\d:\d\d elapsed(, current: (.*))?$")


def normalise(text, provider):
    text = text.replace("\r\n", "\n").replace(provider, "<provider>")
    return re.sub(r"\b([A-Za-z0-9_+-]+)\.(so|dll)\b", r"\1.<mod>", text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--hang-provider", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    wine = bool(a.wrapper)
    root = os.path.abspath(a.source_root)
    os.makedirs(a.workdir, exist_ok=True)
    ok = True

    def run(*args, env=None):
        cmd = ([a.wrapper] if wine else []) + [os.path.abspath(a.harness)] + list(args)
        print("$", " ".join(cmd), flush=True)
        return subprocess.run(cmd, cwd=root, capture_output=True, timeout=300,
                              env=dict(os.environ, **(env or {})))

    provider = host_path(a.provider, wine)
    p = run("run", provider, "--non-ifs", "--scenarios", DATA, "--rules", "scenarios/rules.yaml",
            "--deterministic", "--color=never",
            "--trace", host_path(os.path.join(a.workdir, "console.jsonl"), wine),
            env={"WSPHARNESS_PROGRESS_INTERVAL_MS": "1"})
    err = p.stderr.decode("utf-8", "replace")
    sys.stdout.write(err)
    if p.returncode != 1:
        print(f"FAIL: exit status {p.returncode}, expected 1")
        ok = False
    if any(PROGRESS.match(line) for line in err.splitlines()):
        print("FAIL: a periodic progress line under --deterministic")
        ok = False
    got = normalise(p.stdout.decode("utf-8", "replace"), provider)
    want_path = os.path.join(root, DATA, "expected.txt")
    if os.environ.get("WSPH_UPDATE_GOLDEN") == "1":
        with open(want_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(got)
        print(f"updated: {want_path}")
    else:
        with open(want_path, encoding="utf-8", newline="") as f:
            want = f.read()
        if got != want:
            import difflib
            print("FAIL: the console differs from " + want_path)
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True),
                                                       got.splitlines(True), "expected", "now"))
            ok = False
        else:
            print("ok: the console matches expected.txt")

    p = run("run", host_path(a.hang_provider, wine), "--non-ifs", "--scenarios", DATA,
            "--rules", "scenarios/rules.yaml", "--filter", "console/two-closes*",
            "--timeout", "0.5", "--color=never",
            env={"WSPHARNESS_PROGRESS_INTERVAL_MS": "100"})
    lines = p.stderr.decode("utf-8", "replace").replace("\r\n", "\n").splitlines()
    sys.stdout.write("".join(l + "\n" for l in lines))
    ticks = [m for m in map(PROGRESS.match, lines) if m]
    if p.returncode != 1:
        print(f"FAIL: the hanging run exited {p.returncode}, expected 1")
        ok = False
    if not ticks:
        print("FAIL: no progress line on stderr in a run longer than the interval")
        ok = False
    for m in ticks:
        if m.group(4) not in (None, "console/two-closes[nonifs]"):
            print(f"FAIL: the progress line names {m.group(4)!r} as the current case")
            ok = False
    if ticks:
        print(f"ok: {len(ticks)} progress line(s)")

    if not wine:  # the option check is the same code on both builds; a Wine start costs seconds
        p = run("run", provider, "--non-ifs", "--scenarios", DATA, "--filter",
                "console/two-closes*", env={"WSPHARNESS_PROGRESS_INTERVAL_MS": "5s"})
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 2 or "WSPHARNESS_PROGRESS_INTERVAL_MS" not in err:
            print(f"FAIL: a bad interval: exit {p.returncode}, stderr {err!r}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
