#!/usr/bin/python3
"""The conformance matrix page in a real browser: headless Chromium (Debian's `chromium`) renders
the HTML report of a run, takes a screenshot, and dumps the DOM it built. The test checks that the
screenshot was taken, that the page logged nothing to the console (no errors, no blocked loads)
and that every row of the upcall table and every rule of the catalogue is in the rendered tables.

A page with a deliberate console error is rendered first, to prove the console check can fail.
Chromium missing is a failure, not a skip: `make check` installs it (tools/setup.sh browser).
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import yaml

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1400,1000"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser, page, tmp, *extra):
    """Runs Chromium on page with a fresh profile; returns (stdout, console lines)."""
    profile = tempfile.mkdtemp(dir=tmp, prefix="profile-")
    cmd = [browser] + FLAGS + ["--user-data-dir=" + profile] + list(extra) + ["file://" + page]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
    console = [l for l in p.stderr.splitlines() if re.search(r":CONSOLE[:(]|Uncaught|Refused to", l)]
    return p.returncode, p.stdout, console


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        failures += not cond

    browser = chromium()
    if not browser:
        print("FAIL: chromium is not installed (tools/setup.sh browser installs it)")
        return 1
    os.makedirs(a.workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=a.workdir)

    # The detector must see a console error when there is one.
    bad = os.path.join(tmp, "bad.html")
    with open(bad, "w") as f:
        f.write('<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head>'
                '<body><script>console.error("deliberate")</script></body></html>')
    _, _, console = render(browser, bad, tmp, "--dump-dom")
    check(any("deliberate" in l for l in console), "a deliberate console error is detected")

    page = os.path.join(tmp, "matrix.html")
    p = subprocess.run([a.harness, "run", a.provider, "--non-ifs", "--ifs", "--rules", a.rules,
                        "-q", "--report", "matrix-html:" + page], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode in (0, 1) and os.path.exists(page), f"the harness wrote the page (exit {p.returncode})")
    if not os.path.exists(page):
        return 1

    shot = os.path.join(tmp, "matrix.png")
    rc, _, console = render(browser, page, tmp, "--screenshot=" + shot)
    size = png_size(shot) if os.path.exists(shot) else None
    check(rc == 0 and size is not None and size[0] >= 800 and size[1] >= 600,
          f"screenshot taken: {shot} {size}")
    check(not console, "no console messages while rendering: " + "; ".join(console[:3]))

    rc, dom, console = render(browser, page, tmp, "--dump-dom")
    check(rc == 0 and "</html>" in dom, "the DOM was dumped")
    check(not console, "no console messages in the DOM run: " + "; ".join(console[:3]))
    with open(a.rules, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    rows = [r["function"] for r in data["upcall_table"]["rows"]]
    rules = [r["id"] for r in data["rules"]]
    got_rows = re.findall(r'<tr class="row" data-function="([^"]+)"', dom)
    got_rules = re.findall(r'<tr class="rule" data-rule="([^"]+)"', dom)
    check(got_rows == rows, f"every upcall table row is rendered, in order ({len(got_rows)}/{len(rows)})")
    check(sorted(got_rules) == sorted(rules), f"every rule is rendered ({len(got_rules)}/{len(rules)})")
    tables = re.findall(r'<table id="([^"]+)"', dom)
    check(tables == ["upcalls", "lifecycle-rules", "other-rules"], f"the three tables: {tables}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
