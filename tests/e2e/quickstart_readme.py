#!/usr/bin/python3
"""Runs the README's quick start and "Test your provider" commands as written.

The commands are the sh blocks between `<!-- REGION:begin` and `<!-- REGION:end -->` (REGION is
quickstart for the native build, quickstart-win for the Windows build under Wine). They run as one
bash script (set -e: every command must succeed) in a temporary folder that mirrors a clone: a link
to every top-level entry of the source tree, and `build` (or `build-win`) linked to the meson build
folder the test runs in, so nothing is rebuilt that is not out of date and the source tree gets no
new files. Each `wspharness run` line also gets `--junit FILE`, and every run must be clean: no
failure, no error, no warning. When the commands include `make demo`, every command its closing
hints print must be one the README gives.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BUILD_DIRS = {"build", "build-win", "build-asan", "build-fuzz", ".git", ".cache"}
RUN_RE = re.compile(r"(^|\s)\S*wspharness(\.exe)? run\s")


def sh_blocks(text, region):
    """The sh blocks of every REGION:begin .. REGION:end part of the README, in order."""
    blocks = []
    pattern = r"<!-- %s:begin\b.*?-->(.*?)<!-- %s:end -->" % (re.escape(region), re.escape(region))
    for part in re.findall(pattern, text, re.S):
        blocks += re.findall(r"^```sh\n(.*?)^```", part, re.M | re.S)
    return blocks


def logical_lines(text):
    """Commands with their continuation lines joined; comment lines left out."""
    out, cur = [], ""
    for line in text.splitlines():
        line = line.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip() and not cur.strip().startswith("#"):
            out.append(" ".join(cur.split()))
        cur = ""
    return out


def strip_comment(cmd):
    """A command without its trailing `# ...` comment (the README's commands quote no '#')."""
    return cmd.split(" #", 1)[0].strip()


def host_path(path, wine):
    return "Z:" + path if wine else path


def mirror(source_root, build_root, build_name, tmp):
    for name in sorted(os.listdir(source_root)):
        if name in BUILD_DIRS:
            continue
        os.symlink(os.path.join(source_root, name), os.path.join(tmp, name))
    os.symlink(build_root, os.path.join(tmp, build_name))


def check_junit(path):
    """Problems of one run's JUnit report: failures, errors, warnings, no case at all."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return ["no readable JUnit report (%s)" % e]
    problems = []
    cases = root.iter("testcase")
    n = 0
    for case in cases:
        n += 1
        name = "%s/%s" % (case.get("classname"), case.get("name"))
        for bad in ("failure", "error"):
            if case.find(bad) is not None:
                problems.append("%s: <%s>" % (name, bad))
        out = case.findtext("system-out") or ""
        if re.search(r"^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+ \[warning\]", out, re.M):
            problems.append("%s: a warning" % name)
    if n == 0:
        problems.append("no case ran")
    return problems


def demo_hints(output):
    """The commands make demo's closing hints print (the indented lines after 'Next')."""
    tail = output.split("\nNext (README", 1)
    if len(tail) < 2:
        return None
    hints = []
    for line in tail[1].splitlines()[1:]:
        if not line.startswith("  "):
            break  # the end of make demo's output
        if line.startswith("       "):
            hints.append(" ".join(line.split()))
    return hints


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--region", choices=["quickstart", "quickstart-win"], required=True)
    a = ap.parse_args()
    wine = a.region == "quickstart-win"
    build_name = "build-win" if wine else "build"

    with open(os.path.join(a.source_root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    blocks = sh_blocks(readme, a.region)
    if not blocks:
        print("not ok: README.md has no sh block between <!-- %s:begin --> and its end" % a.region)
        return 1
    documented = {strip_comment(c) for b in re.findall(r"^```sh\n(.*?)^```", readme, re.M | re.S)
                  for c in logical_lines(b)}

    failures = 0
    with tempfile.TemporaryDirectory(prefix="wsph-quickstart-") as tmp:
        root = os.path.join(tmp, "clone")
        os.mkdir(root)
        mirror(os.path.realpath(a.source_root), os.path.realpath(a.build_root), build_name, root)
        reports = []
        script = ["set -e"]
        for block in blocks:
            for cmd in logical_lines(block):
                if RUN_RE.search(cmd):
                    junit = os.path.join(tmp, "junit-%d.xml" % (len(reports) + 1))
                    reports.append((cmd, junit))
                    cmd = strip_comment(cmd) + " --junit " + shlex.quote(host_path(junit, wine))
                elif strip_comment(cmd) == "make demo":
                    reports.append((cmd, os.path.join(root, build_name, "demo", "junit.xml")))
                script.append("printf '+ %%s\\n' %s" % shlex.quote(cmd))
                script.append(cmd)
        p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=root, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        print(p.stdout)
        if p.returncode != 0:
            print("not ok: the commands stopped with exit status %d" % p.returncode)
            failures += 1
        for cmd, junit in reports:
            problems = check_junit(junit)
            for problem in problems:
                print("not ok: %s: %s" % (cmd, problem))
            failures += bool(problems)
        if any(strip_comment(c) == "make demo" for b in blocks for c in logical_lines(b)):
            hints = demo_hints(p.stdout)
            if not hints:
                print("not ok: make demo printed no next steps")
                failures += 1
            for hint in hints or []:
                if hint not in documented:
                    print("not ok: make demo suggests a command the README does not give: %s" % hint)
                    failures += 1
    print("%d problem(s); %d run(s) checked" % (failures, len(reports)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
