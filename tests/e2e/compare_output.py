#!/usr/bin/python3
"""Runs a program (through an optional wrapper such as wine) and compares its output with a golden file."""
import subprocess
import sys


def main():
    expected_path, program, *rest = sys.argv[1:]
    wrapper = []
    if rest[:1] == ["--wrapper"]:
        wrapper = [rest[1]]
    out = subprocess.run(wrapper + [program], capture_output=True, text=True, timeout=120)
    got = out.stdout.replace("\r\n", "\n").splitlines()
    with open(expected_path, encoding="utf-8") as f:
        want = f.read().splitlines()
    if out.returncode != 0:
        print(f"{program} exited with {out.returncode}\n{out.stderr}")
        return 1
    if got != want:
        import difflib
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(want, got, "expected", "got", lineterm=""))
        return 1
    print(f"{len(got)} lines match {expected_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
