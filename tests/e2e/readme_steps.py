#!/usr/bin/python3
"""The README's step table is what `wspharness list --steps` prints (the step table of
harness/steps.c), line for line.

Usage: readme_steps.py WSPHARNESS README.md [--wrapper PROGRAM]"""
import argparse
import subprocess
import sys


def readme_table(path):
    """The lines of the table that starts with '| Step | Arguments |', up to its end."""
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| Step | Arguments |"):
            table = []
            for row in lines[i:]:
                if not row.startswith("|"):
                    break
                table.append(row)
            return table
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("harness")
    ap.add_argument("readme")
    ap.add_argument("--wrapper", default=None)
    a = ap.parse_args()
    harness, readme = a.harness, a.readme
    wrapper = [a.wrapper] if a.wrapper else []
    out = subprocess.run(wrapper + [harness, "list", "--steps"], capture_output=True,
                         timeout=120)
    if out.returncode != 0:
        print(f"FAIL: list --steps ended with status {out.returncode}: {out.stderr!r}")
        return 1
    printed = out.stdout.decode().replace("\r\n", "\n").rstrip("\n").split("\n")
    table = readme_table(readme)
    if table is None:
        print("FAIL: README.md has no step table ('| Step | Arguments |')")
        return 1
    bad = 0
    for k in range(max(len(table), len(printed))):
        want = printed[k] if k < len(printed) else "(nothing)"
        got = table[k] if k < len(table) else "(nothing)"
        if want != got:
            print(f"FAIL: row {k + 1}:\n  README:        {got}\n  list --steps:  {want}")
            bad += 1
    print(f"{len(printed) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
