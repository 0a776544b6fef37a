#!/usr/bin/python3
"""Golden-file test: one deterministic run writes the console summary and every report (JUnit, TAP,
trace, matrix in Markdown and HTML), `show` prints the trace; each output, normalised, must equal
its file in tests/golden/expected/NAME/. Every report is also validated (tests/reports/validate.py).

Normalising makes one golden serve the native build and the Windows build under Wine: CRLF -> LF,
the provider's path (as given, and as reports show it) -> <provider>, its SHA-256 -> <sha256>, and module suffixes .so/.dll -> .<mod>.
Times, host names, timestamps, pointer values and thread IDs are already stable (--deterministic).

After an intended change, rewrite the golden files with
  WSPH_UPDATE_GOLDEN=1 meson test -C build --suite golden
and review the diff.
"""
import argparse
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports"))
import validate  # noqa: E402

OUTPUTS = ["console.txt", "junit.xml", "tap.tap", "trace.jsonl", "matrix.md", "matrix.html", "show.txt"]


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def report_form(path, root, wine):
    """The path as reports show it: relative to the working directory (root) when under it,
    else absolute; '/' separators on both builds (README.md, "Paths in reports")."""
    path, root = os.path.abspath(path), os.path.abspath(root)
    if os.path.commonpath([path, root]) == root:
        return os.path.relpath(path, root).replace(os.sep, "/")
    return ("Z:" if wine else "") + path


def normalise(text, provider, sha, shown=None):
    text = text.replace("\r\n", "\n")
    forms = {provider, json.dumps(provider)[1:-1]} | ({shown} if shown else set())
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "<provider>")
    if sha:
        text = text.replace(sha, "<sha256>")
    return re.sub(r"\b([A-Za-z0-9_+-]+)\.(so|dll)\b", r"\1.<mod>", text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--kind", action="append", default=[], choices=["ifs", "nonifs"])
    ap.add_argument("--name", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--update", action="store_true", default=os.environ.get("WSPH_UPDATE_GOLDEN") == "1")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    harness = os.path.abspath(a.harness)  # the runs below start in the source root
    root = os.path.abspath(a.source_root)
    out = os.path.abspath(os.path.join(a.workdir, a.name))
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    provider = host_path(a.provider, wine)
    with open(a.provider, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()

    # One set of golden files for both builds: on Windows mockbase's IFS sockets are kernel
    # handles, whose values are the system's; this makes them the counter values POSIX uses
    # (tests/e2e's kbase-iocp and iocplsp-port check the kernel handles).
    env = dict(os.environ, MOCKBASE_COUNTER_HANDLES="1")

    def run(*args):
        cmd = ([a.wrapper] if wine else []) + [harness] + list(args)
        print("$", " ".join(cmd), flush=True)
        return subprocess.run(cmd, cwd=root, capture_output=True, timeout=300, env=env)

    # Relative scenario and rule paths (from the source root) keep file names identical everywhere.
    p = run("run", provider, *["--ifs" if k == "ifs" else "--non-ifs" for k in a.kind],
            "--scenarios", "tests/golden/scenarios", "--rules", "scenarios/rules.yaml",
            "--deterministic", "--color=never", "-v",
            "--junit", host_path(os.path.join(out, "junit.xml"), wine),
            "--tap", host_path(os.path.join(out, "tap.tap"), wine),
            "--trace", host_path(os.path.join(out, "trace.jsonl"), wine),
            "--matrix", host_path(os.path.join(out, "matrix.md"), wine),
            "--report", "matrix-html:" + host_path(os.path.join(out, "matrix.html"), wine))
    sys.stdout.write(p.stderr.decode("utf-8", "replace"))
    ok = True
    if p.returncode != a.expect_exit:
        print(f"FAIL: exit status {p.returncode}, expected {a.expect_exit}")
        ok = False
    with open(os.path.join(out, "console.txt"), "wb") as f:
        f.write(p.stdout)
    s = run("show", host_path(os.path.join(out, "trace.jsonl"), wine))
    if s.returncode != 0:
        print(f"FAIL: show exited {s.returncode}: {s.stderr.decode('utf-8', 'replace')}")
        ok = False
    with open(os.path.join(out, "show.txt"), "wb") as f:
        f.write(s.stdout)

    rules = os.path.join(root, "scenarios", "rules.yaml")
    for name in OUTPUTS[1:6]:
        try:
            validate.validate(os.path.join(out, name), rules_yaml=rules)
            print(f"ok: {name} is valid")
        except Exception as e:
            print(f"FAIL: {name}: {type(e).__name__}: {e}")
            ok = False

    expected_dir = os.path.join(root, "tests", "golden", "expected", a.name)
    for name in OUTPUTS:
        path = os.path.join(out, name)
        if not os.path.exists(path):
            print(f"FAIL: {name} was not written")
            ok = False
            continue
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            got = normalise(f.read(), provider, sha, report_form(a.provider, root, wine))
        want_path = os.path.join(expected_dir, name)
        if a.update:
            os.makedirs(expected_dir, exist_ok=True)
            with open(want_path, "w", encoding="utf-8", newline="\n") as f:
                f.write(got)
            print(f"updated: {want_path}")
            continue
        try:
            with open(want_path, encoding="utf-8", newline="") as f:
                want = f.read()
        except FileNotFoundError:
            print(f"FAIL: no golden file {want_path} (WSPH_UPDATE_GOLDEN=1 writes it)")
            ok = False
            continue
        if got == want:
            print(f"ok: {name} matches the golden file")
            continue
        ok = False
        print(f"FAIL: {name} differs from {want_path}:")
        diff = difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now", n=2)
        sys.stdout.writelines(list(diff)[:80])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
