#!/usr/bin/python3
"""--deterministic reports are identical from run to run (README.md, "Deterministic reports"):
the full bundled suite in both kinds, every report format (JUnit, TAP, trace, Markdown and HTML
matrix, console) and what the program prints, ROUNDS runs compared byte for byte. Also: no raw
pointer, no absolute path of the working directory, no temporary path, no time, host name or
thread ID in them. Natively the rounds run several at a time; under Wine (--wrapper) fewer
rounds over a part of the suite (--filter), see tests/e2e/meson.build."""
import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys

REPORTS = [("junit", "junit.xml"), ("tap", "tap.tap"), ("trace", "trace.jsonl"),
           ("matrix", "matrix.md"), ("matrix-html", "matrix.html"), ("console", "console.txt")]
# What must never be in a deterministic report: a 64-bit address (9 or more hex digits; the
# harness's socket and thread handles have 8), a time, a host's name. A value with bit 63 set is
# no user-space address: it is a socket address the trace keeps packed (bit 63, the family, the
# port, the IPv4 address: wsph_decode_pack_sockaddr in harness/decode.h), a value, stable.
POINTER = re.compile(r"\b0x(?![89a-fA-F][0-9a-fA-F]{15}\b)[0-9a-fA-F]{9,16}\b")
NOT_DETERMINISTIC = [
    (re.compile(r'time="(?!0\.000")'), "a JUnit time that is not 0.000"),
    (re.compile(r'"time_ns":[1-9]'), "a trace time"),
    (re.compile(r"duration: "), "a TAP duration"),
    (re.compile(r'timestamp="(?!1970-01-01T00:00:00")'), "a real timestamp"),
]


def host(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def run_round(a, i):
    out = os.path.join(a.workdir, f"round-{i:02d}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    wine = bool(a.wrapper)
    cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
    cmd += ([a.wrapper] if wine else []) + [a.harness, "run", host(a.provider, wine), "--ifs",
                                            "--non-ifs", "--deterministic", "--color=never"]
    cmd += ["--filter", a.filter] if a.filter else []
    cmd += ["--jobs", a.jobs] if a.jobs else []
    for fmt, name in REPORTS:
        cmd += ["--report", f"{fmt}:{host(os.path.join(out, name), wine)}"]
    # From the source root: the bundled scenarios' paths are then relative (scenarios/...).
    # mockbase's IFS sockets on Windows are kernel handles, whose values are the system's (an IFS
    # provider's own handles are printed as it made them): counter values as on POSIX, as the
    # golden files have them.
    env = dict(os.environ, MOCKBASE_COUNTER_HANDLES="1")
    p = subprocess.run(cmd, cwd=a.source_root, capture_output=True, timeout=900, env=env)
    files = {"exit status": str(p.returncode).encode(), "stdout": p.stdout}
    for _, name in REPORTS:
        try:
            with open(os.path.join(out, name), "rb") as f:
                files[name] = f.read()
        except OSError as e:
            files[name] = f"(not written: {e})".encode()
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=4, help="rounds at a time")
    ap.add_argument("--jobs", help="--jobs for each run")
    ap.add_argument("--filter", help="a part of the suite (Wine: each process costs seconds)")
    a = ap.parse_args()
    a.harness = os.path.abspath(a.harness)
    a.provider = os.path.abspath(a.provider)
    a.source_root = os.path.abspath(a.source_root)
    a.workdir = os.path.abspath(a.workdir)
    os.makedirs(a.workdir, exist_ok=True)
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        failures += not cond

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.parallel)) as pool:
        rounds = list(pool.map(lambda i: run_round(a, i), range(a.rounds)))
    first = rounds[0]
    check(first["exit status"] == b"0", f"the first run exits 0 (got {first['exit status']})")
    check(b"<testcase" in first["junit.xml"] and first["trace.jsonl"].count(b'"type":"event"') > 100,
          "the first run's reports hold cases and events")
    for i, r in enumerate(rounds[1:], 2):
        differ = [name for name in first if r[name] != first[name]]
        check(not differ, f"run {i} is byte for byte run 1" + (f" (differs: {differ})" if differ else ""))
        for name in differ[:2]:
            diff = difflib.unified_diff(first[name].decode("utf-8", "replace").splitlines(True),
                                        r[name].decode("utf-8", "replace").splitlines(True),
                                        "run 1", f"run {i}", n=1)
            sys.stdout.writelines(list(diff)[:40])

    cwd_forms = {a.source_root, a.source_root.replace("/", "\\"), a.workdir}
    for name, data in first.items():
        text = data.decode("utf-8", "replace")
        ptrs = sorted(set(POINTER.findall(text)))
        check(not ptrs, f"{name}: no raw pointer value" + (f" (found {ptrs[:5]})" if ptrs else ""))
        paths = [f for f in cwd_forms if f in text]
        check(not paths, f"{name}: no absolute path of the working directory or a temporary "
              f"folder" + (f" (found {paths})" if paths else ""))
        bad = [why for rx, why in NOT_DETERMINISTIC if rx.search(text)]
        check(not bad, f"{name}: no time or timestamp" + (f" ({bad})" if bad else ""))
    check(b'file="scenarios/' in first["junit.xml"] and b"\\" not in first["junit.xml"]
          .split(b"<system-out>")[0], "JUnit file= is relative to the working directory, with '/'")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
