#!/usr/bin/python3
"""`wspharness show` exactly (README.md, "Reading a trace"), on a trace kept in the tree
(tests/e2e/data/show/trace.jsonl, recorded from show.yaml next to it): every argument decoded by
name (an address, a socket option, an ioctl code, FD_* sets, a window message, a select reply with
its error, the select sets given and returned), the steps that make no WSP call on the driver's
thread shown so step numbers do not jump, and the helper thread's events under a header that names
the thread and their step. No provider runs. The output must equal expected.txt there (CRLF read
as LF); WSPH_UPDATE_GOLDEN=1 rewrites it (review the diff).
"""
import argparse
import difflib
import os
import subprocess
import sys

DATA = os.path.join("tests", "e2e", "data", "show")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()
    root = os.path.abspath(a.source_root)
    cmd = ([a.wrapper] if a.wrapper else []) + [os.path.abspath(a.harness), "show",
                                                os.path.join(DATA, "trace.jsonl")]
    print("$", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, cwd=root, capture_output=True, timeout=120)
    sys.stdout.write(p.stderr.decode("utf-8", "replace"))
    if p.returncode != 0:
        print(f"FAIL: show exited {p.returncode}")
        return 1
    got = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    want_path = os.path.join(root, DATA, "expected.txt")
    if os.environ.get("WSPH_UPDATE_GOLDEN") == "1":
        with open(want_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(got)
        print(f"updated: {want_path}")
        return 0
    with open(want_path, encoding="utf-8", newline="") as f:
        want = f.read()
    if got != want:
        print("FAIL: show's output differs from " + want_path)
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                   "expected", "now"))
        return 1
    print("ok: show's output matches expected.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
