#!/usr/bin/python3
"""One case ID everywhere (README.md, "Case IDs"): the ID `list` prints, `suite/scenario[kind]`,
is the JUnit testcase's name (its classname the suite: wspharness.SUITE), the TAP test point's
description, the trace's "case", the matrix's and the progress line's; pasted into --filter it
selects exactly that case, from every report. Paths in reports are relative to the working
directory (or --report-root) with '/' on both builds, and absolute (cleaned) outside it."""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ID = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\[(?:ifs|nonifs)\]")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    failures += not cond


class Harness:
    def __init__(self, a):
        self.a = a
        self.wine = bool(a.wrapper)

    def host(self, path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if self.wine else path

    def run(self, *args, cwd=None):
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([self.a.wrapper] if self.wine else []) + [self.a.harness] + list(args)
        p = subprocess.run(cmd, cwd=cwd or self.a.source_root, capture_output=True, text=True,
                           timeout=600)
        return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")


def listed(h, *args, cwd=None):
    rc, out, err = h.run("list", *args, cwd=cwd)
    return rc, [line.split("  (")[0] for line in out.splitlines() if line.strip()], out, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--filter", default="sockets.*:blocking.*",
                    help="the cases the report run takes (each ID is pasted back)")
    a = ap.parse_args()
    a.harness = os.path.abspath(a.harness)
    a.source_root = os.path.abspath(a.source_root)
    os.makedirs(a.workdir, exist_ok=True)
    h = Harness(a)
    out = os.path.abspath(a.workdir)

    # The IDs, as list prints them, and the reports of a run over them.
    rc, ids, text, err = listed(h, "--filter", a.filter)
    check(rc == 0 and len(ids) > 4 and all(ID.fullmatch(i) for i in ids),
          f"list prints suite/scenario[kind] IDs ({len(ids)}; exit {rc}; {err.strip()[:200]})")
    check(all("*" not in i and "?" not in i for i in ids), "no ID holds a glob character")
    paths = re.findall(r"  \((.*):\d+\)$", text, re.M)
    check(paths and all(p.startswith("scenarios/") and "\\" not in p and ".." not in p
                        for p in paths),
          f"list's paths are relative to the working directory, with '/' ({paths[:2]})")
    reports = {"junit": "junit.xml", "tap": "tap.tap", "trace": "trace.jsonl",
               "matrix": "matrix.md", "matrix-html": "matrix.html"}
    args = ["run", h.host(a.provider), "--ifs", "--non-ifs", "--deterministic", "-v",
            "--color=never", "--filter", a.filter]
    for fmt, name in reports.items():
        args += ["--report", f"{fmt}:{h.host(os.path.join(out, name))}"]
    rc, stdout, stderr = h.run(*args)
    check(rc == 0, f"the run passes (exit {rc}; {stderr[-300:]!r})")

    found = {}
    root = ET.parse(os.path.join(out, "junit.xml")).getroot()
    cases = root.iter("testcase")
    junit = []
    for c in cases:
        junit.append(c.get("name"))
        suite = c.get("name", "").split("/")[0]
        check(c.get("classname") == "wspharness." + suite,
              f"JUnit {c.get('name')}: classname is the suite ({c.get('classname')})")
        f = c.get("file", "")
        check(f.startswith("scenarios/") and "\\" not in f and ".." not in f,
              f"JUnit {c.get('name')}: file= is relative, with '/' ({f})")
    found["junit"] = junit
    with open(os.path.join(out, "tap.tap"), encoding="utf-8") as f:
        found["tap"] = [m.group(1) for m in re.finditer(r"^(?:not )?ok \d+ - (\S+)", f.read(), re.M)]
    with open(os.path.join(out, "trace.jsonl"), encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    found["trace"] = [r["case"] for r in recs if r.get("type") == "case"]
    check(all(r["case"] in found["trace"] for r in recs if r.get("type") == "event"),
          "every trace event names its case by ID")
    check(all(r.get("file", "scenarios/").startswith("scenarios/") for r in recs
              if r.get("type") in ("case", "finding")), "trace file paths are relative")
    for fmt in ("matrix", "matrix-html"):
        with open(os.path.join(out, reports[fmt]), encoding="utf-8") as f:
            found[fmt] = sorted(set(ID.findall(f.read())))
    found["progress"] = [m.group(1) for m in re.finditer(r"^\[\d+/\d+\] (\S+)", stderr, re.M)]

    # list prints the cases that run; the run also reports a scenario for the other kind only
    # as a skipped case, under its ID.
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    known = set(ids) | set(skipped)
    for fmt, got in found.items():
        extra = sorted(set(got) - known)
        check((got or fmt == "matrix") and not extra,
              f"{fmt}: every case ID is one list prints or a skipped case's ({len(got)}"
              + (f"; unknown: {extra[:3]}" if extra else "") + ")")
    for fmt in ("junit", "tap", "trace", "progress"):
        check(sorted(found[fmt]) == sorted(known), f"{fmt}: names every case of the run, once")

    # Pasted into --filter, an ID selects exactly its case: every distinct ID natively; under
    # Wine (a process costs seconds) one that runs and one skipped (all reports name them alike).
    every = sorted(set(i for got in found.values() for i in got))
    paste = every if not h.wine else sorted(set(ids[:1] + skipped[:1]))
    bad = []
    for i in paste:
        rc, tap, err = h.run("run", h.host(a.provider), "--ifs", "--non-ifs", "-q",
                             "--filter", i, "--report", "tap:-")
        sel = re.findall(r"^(?:not )?ok \d+ - (\S+)", tap, re.M)
        if rc != 0 or sel != [i]:
            bad.append((i, rc, sel[:3], err.strip()[:100]))
        if i in ids:
            rc, sel, _, err = listed(h, "--filter", i)
            if rc != 0 or sel != [i]:
                bad.append(("list", i, rc, sel[:3], err.strip()[:100]))
    check(not bad, f"--filter ID selects exactly that case ({len(paste)} IDs pasted)"
          + (f": {bad[:3]}" if bad else ""))

    # --report-root: paths relative to it; a path outside it stays absolute, cleaned.
    rc, _, text, _ = listed(h, "--filter", ids[0], "--report-root", "scenarios")
    p = re.findall(r"  \((.*):\d+\)$", text, re.M)
    check(p and not p[0].startswith("scenarios/") and "/" in p[0] and "\\" not in p[0],
          f"--report-root scenarios: paths relative to it ({p})")
    with tempfile.TemporaryDirectory() as other:
        rc, _, text, _ = listed(h, "--filter", ids[0], "--report-root", h.host(other))
        p = re.findall(r"  \((.*):\d+\)$", text, re.M)
        want = ("Z:" if h.wine else "") + a.source_root + "/scenarios/"
        check(p and p[0].startswith(want) and ".." not in p[0] and "\\" not in p[0],
              f"outside --report-root: absolute, cleaned, with '/' ({p}, want {want}...)")
    # A path given with "..", from another folder: cleaned.
    sub = os.path.join(a.source_root, "scenarios", "sockets")
    rc, _, text, _ = listed(h, "--filter", ids[0], "--scenarios", "../../scenarios", cwd=sub)
    p = re.findall(r"  \((.*):\d+\)$", text, re.M)
    want = ("Z:" if h.wine else "") + a.source_root + "/scenarios/"
    check(p and p[0].startswith(want) and "/../" not in p[0],
          f"a path through '..' outside the working directory is absolute and cleaned ({p})")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
