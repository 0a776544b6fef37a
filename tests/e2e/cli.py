#!/usr/bin/python3
"""The command line as a user meets it: help, bad flags, bad input (exit 2 with file:line:column),
list, rules, and the shape of the JUnit report. Runs the native program or the Windows one under Wine."""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

import junitparser

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def awaits_concurrent(rules, block):
    """A rule only the concurrent faulty providers trip (providers/faulty/meson.build,
    faulty_concurrent) has its scenarios in scenarios/concurrent/ (the parallel step): without that
    folder, no scenario yet is no gap (as tests/e2e/coverage.py says)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(rules)))
    meson = os.path.join(root, "providers", "faulty", "meson.build")
    if os.path.isdir(os.path.join(os.path.dirname(rules), "concurrent")) or not os.path.exists(meson):
        return False
    with open(meson, encoding="utf-8") as f:
        m = re.search(r"^faulty_concurrent = \[(.*?)^\]", f.read(), re.M | re.S)
    concurrent = set(re.findall(r"\['(fault-[^']*)'", m.group(1))) if m else set()
    tripped = re.search(r"^  tripped by: (.*)$", block, re.M)
    names = set(tripped.group(1).split(", ")) if tripped else set()
    return bool(names) and names <= concurrent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    wine = bool(a.wrapper)

    def host(path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if wine else path

    def run(*args):
        # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself.
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([a.wrapper] if wine else []) + [a.harness] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")

    os.makedirs(a.workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=a.workdir)

    rc, out, _ = run("--help")
    check(rc == 0 and "usage: wspharness run" in out, "--help prints the usage, exit 0")
    rc, _, err = run("--version")
    rc, _, err = run("run", host(a.provider), "--bogus")
    check(rc == 2 and "unknown option '--bogus'" in err, "an unknown flag is bad input (exit 2)")
    rc, _, err = run("run", host(a.provider), "--jobs", "many")
    check(rc == 2 and "--jobs must be" in err, f"--jobs with a bad value is bad input (got {rc})")
    rc, _, err = run("run", host(a.provider), "--jobs", "-1")
    check(rc == 2 and "--jobs must be" in err, f"--jobs -1 is bad input (got {rc})")
    rc, out, err = run("run", host(a.provider), "--jobs", "auto", "--filter", "lifecycle.*", "-q")
    check(rc == 0 and out == "", f"--jobs auto runs (got {rc}: {err.strip()[-200:]})")
    rc, _, err = run("frobnicate")
    check(rc == 2 and "unknown command 'frobnicate'" in err, "an unknown command is bad input (exit 2)")

    bad = os.path.join(tmp, "bad-key.yaml")
    with open(bad, "w") as f:
        f.write("scenarios:\n  - name: x\n    checks: [SPI.Errno.OnFailure]\n    stepz: []\n")
    rc, _, err = run("run", host(a.provider), "--scenarios", host(bad))
    check(rc == 2 and re.search(r"bad-key\.yaml:4:5: unknown key 'stepz'", err),
          f"an unknown key is reported as file:4:5 with exit 2 (got {rc}: {err.strip()})")

    syntax = os.path.join(tmp, "syntax.yaml")
    with open(syntax, "w") as f:
        f.write("scenarios:\n  - name: x\n    steps: [startup\n")
    rc, _, err = run("run", host(a.provider), "--scenarios", host(syntax))
    check(rc == 2 and re.search(r"syntax\.yaml:\d+:\d+: YAML syntax error", err),
          f"a YAML syntax error is located, exit 2 (got {rc}: {err.strip()})")

    unknown = os.path.join(tmp, "unknown-rule.yaml")
    with open(unknown, "w") as f:
        f.write("scenarios:\n  - name: x\n    checks: [No.Such.Rule]\n    steps:\n      - startup:\n")
    rc, _, err = run("run", host(a.provider), "--scenarios", host(unknown), "--rules", host(a.rules))
    check(rc == 2 and re.search(r"unknown-rule\.yaml:3:14: unknown rule ID 'No\.Such\.Rule'", err),
          f"an unknown rule ID is located, exit 2 (got {rc}: {err.strip()})")

    notdll = os.path.join(tmp, "not-a-provider.dll")
    with open(notdll, "w") as f:
        f.write("this is not a module\n")
    rc, _, err = run("run", host(notdll))
    check(rc == 2 and "not-a-provider" in err, f"an unloadable provider is bad input (got {rc})")
    rc, _, err = run("run", host(os.path.join(tmp, "missing.dll")))
    check(rc == 2, f"a missing provider is bad input (got {rc})")

    rc, out, _ = run("list")
    ids = [l.split()[0] for l in out.splitlines() if l.strip()]
    check(rc == 0 and "sockets.stream/connect-accept-transfer[nonifs]" in ids
          and "sockets.ifs/modified-handle[ifs]" in ids and "sockets.ifs/modified-handle[nonifs]" not in ids,
          f"list prints every case of the kinds it applies to ({len(ids)} cases)")
    rc, out, _ = run("list", "--filter", "lifecycle.*")
    check(rc == 0 and out.strip() and all(l.startswith("lifecycle.") for l in out.splitlines()),
          "list --filter selects by glob")

    rc, out, _ = run("rules")
    with open(a.rules, encoding="utf-8") as f:
        rule_ids = re.findall(r"^  - id: (\S+)", f.read(), re.M)
    missing = [r for r in rule_ids if not re.search(r"^" + re.escape(r) + r"  \[", out, re.M)]
    check(rc == 0 and not missing, f"rules lists all {len(rule_ids)} rules (missing: {missing})")
    check("WPUOpenCurrentThread" in out and "absent" in out and "required-nonifs" in out,
          "rules prints the upcall table rows with their published status")
    block = re.search(r"^WPU\.CloseSocketHandle\.OnClose  \[MUST, error\]\n((?:  .*\n)+)", out, re.M)
    block = block.group(1) if block else ""
    check(re.search(r"^  checked by: .*sockets\.nonifs/create-and-close", block, re.M) is not None,
          "rules names the scenarios that check a rule")
    check("  status: checked\n" in block and
          re.search(r"^  tripped by: .*fault-nonifs-no-close-handle", block, re.M) is not None,
          "rules prints a checked rule's status and the faulty providers that trip it")
    nc = re.search(r"^WPU\.QueryContext\.RoundTrip  \[.*\]\n((?:  .*\n)+)", out, re.M)
    check(nc is not None and "  status: not-checkable\n" in nc.group(1) and
          "  not checkable: " in nc.group(1),
          "rules prints a not-checkable rule's status and its reason")
    gaps = [m.group(1) for m in re.finditer(r"^(\S+)  \[.*\n((?:  .*\n)+)", out, re.M)
            if re.search(r"\(no scenario\)|\(no faulty provider\)", m.group(2))
            and not awaits_concurrent(a.rules, m.group(2))]
    check(not gaps, f"rules shows no checkable rule without a scenario and a faulty provider {gaps}")

    junit = os.path.join(tmp, "sub", "dir", "report.xml")
    rc, out, err = run("run", host(a.provider), "--ifs", "--non-ifs", "--junit", host(junit), "-q")
    check(rc == 0 and out == "", "a clean run with -q prints nothing and exits 0"
          + ("" if rc == 0 and out == "" else f" (exit {rc}; stdout: {out[:2000]!r}; "
             f"stderr: {err[:2000]!r})"))
    xml = junitparser.JUnitXml.fromfile(junit)
    suites = list(xml)
    case = next(c for s in suites for c in s if c.name == "sockets.stream/connect-accept-transfer[ifs]")
    check(case.classname == "wspharness.sockets.stream", f"classname is dotted ({case.classname})")
    check(case._elem.get("file", "").endswith("stream.yaml") and int(case._elem.get("line")) > 0,
          "testcase has file and line of the scenario")
    names = [(c.classname, c.name) for s in suites for c in s]
    check(len(names) == len(set(names)), "(classname, name) pairs are unique")
    check(all(s.hostname and s.timestamp for s in suites), "every suite has hostname and timestamp")
    skipped = [c for s in suites for c in s if c.result and isinstance(c.result[0], junitparser.Skipped)]
    check(len(skipped) > 0, f"cases of the other kind are skipped ({len(skipped)})")

    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
