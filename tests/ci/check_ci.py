#!/usr/bin/python3
"""The CI recipes in ci/ parse, and every command they run is one README.md documents.

A command is compared by its key: the program's base name (without .exe) and, when the first
argument is a plain word, that subcommand too ("make check", "meson setup", "wspharness run",
"tar"). Pipelines and && lists are split into their commands. The recipes must also run
`make check`, publish JUnit (GitLab's artifacts:reports:junit, GitHub's mikepenz annotations) and,
on Windows, run the harness natively.
"""
import argparse
import os
import re
import shlex
import sys

import yaml

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    failures += not cond


def logical_lines(text):
    out, cur = [], ""
    for line in text.splitlines():
        line = line.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip() and not cur.strip().startswith("#"):
            out.append(cur.strip())
        cur = ""
    return out


def keys_of(command):
    keys = []
    for seg in re.split(r"\s*(?:&&|\|\||;|\|)\s*", command):
        try:
            argv = shlex.split(seg, comments=True)
        except ValueError:
            argv = seg.split()
        if not argv:
            continue
        prog = os.path.basename(argv[0].replace("\\", "/"))
        prog = prog[:-4] if prog.endswith(".exe") else prog
        if len(argv) > 1 and re.fullmatch(r"[a-z][a-z0-9-]*", argv[1]):
            keys.append(f"{prog} {argv[1]}")
        else:
            keys.append(prog)
    return keys


def readme_keys(readme):
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    keys = set()
    for block in re.findall(r"^```(?:sh|shell|bash|console)\n(.*?)^```", text, re.M | re.S):
        for line in logical_lines(block):
            keys.update(keys_of(line))
    return keys


def github_commands(doc):
    cmds, uses = [], []
    for name, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps", []):
            if "run" in step:
                cmds += [(name, c) for c in logical_lines(step["run"])]
            if "uses" in step:
                uses.append((name, step["uses"], step.get("with") or {}))
    return cmds, uses


GITLAB_RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services",
                   "before_script", "after_script", "cache"}


def gitlab_commands(doc):
    cmds = []
    for name, job in doc.items():
        if name in GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        for key in ("before_script", "script", "after_script"):
            for c in job.get(key, []) or []:
                cmds += [(name, l) for l in logical_lines(c)]
    return cmds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()
    root = a.source_root
    documented = readme_keys(os.path.join(root, "README.md"))
    check({"make check", "make demo", "wspharness run"} <= documented,
          "README documents make check, make demo and wspharness run")
    check(not set(keys_of("frobnicate --all")) <= documented, "an undocumented command is noticed")

    with open(os.path.join(root, "ci", "github-actions.yml"), encoding="utf-8") as f:
        gh = yaml.safe_load(f)
    with open(os.path.join(root, "ci", "gitlab-ci.yml"), encoding="utf-8") as f:
        gl = yaml.safe_load(f)
    check(isinstance(gh, dict) and "jobs" in gh, "ci/github-actions.yml parses and has jobs")
    check(isinstance(gl, dict), "ci/gitlab-ci.yml parses")

    gh_cmds, uses = github_commands(gh)
    gl_cmds = gitlab_commands(gl)
    for where, cmds in (("github", gh_cmds), ("gitlab", gl_cmds)):
        for job, c in cmds:
            missing = [k for k in keys_of(c) if k not in documented]
            check(not missing, f"{where}/{job}: '{c}' is documented in README" +
                  (f" (not: {', '.join(missing)})" if missing else ""))
        check(any(k == "make check" for _, c in cmds for k in keys_of(c)), f"{where} runs make check")

    jobs = gh.get("jobs", {})
    win = [n for n, j in jobs.items() if "windows" in str(j.get("runs-on", ""))]
    check(len(win) == 1, "github has one Windows job")
    check(any(j == win[0] and "wspharness run" in keys_of(c) for j, c in gh_cmds),
          "the Windows job runs wspharness natively")
    check(any("msys2/setup-msys2" in u for _, u, _ in uses), "the Windows job builds with MSYS2")
    wine = [n for n, j in jobs.items() if "ubuntu" in str(j.get("runs-on", ""))]
    check(len(wine) == 1, "github has one Ubuntu job (Wine through make check)")
    junit = [(j, w) for j, u, w in uses if u.startswith("mikepenz/action-junit-report@")]
    check({j for j, _ in junit} == set(jobs), "every github job annotates JUnit with mikepenz")
    check(all("report_paths" in w for _, w in junit), "the annotations name their JUnit files")
    check(any(u.startswith("actions/upload-artifact@") for _, u, _ in uses), "reports are uploaded")

    jobs_gl = [j for n, j in gl.items() if n not in GITLAB_RESERVED and isinstance(j, dict)]
    check(any(j.get("image", "").startswith("debian:bookworm") for j in jobs_gl),
          "the GitLab job runs on debian:bookworm")
    reports = [j.get("artifacts", {}).get("reports", {}).get("junit") for j in jobs_gl]
    check(any(r for r in reports), "GitLab reads JUnit through artifacts:reports:junit")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
