#!/usr/bin/python3
"""`meson install` into a DESTDIR under the build folder, then the installed program finds its
installed scenarios: a marker scenario added to the installed copy (and only there) shows up in
`wspharness list`. The manual page is checked when man/ is part of the build (--expect-man)."""
import argparse
import os
import shutil
import subprocess
import sys

MARKER = """scenarios:
  - name: installed-marker
    description: Exists only in the installed scenario folder.
    checks: [SPI.Errno.OnFailure]
    steps:
      - startup:
      - cleanup:
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meson", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--destdir", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--expect-man", action="store_true")
    a = ap.parse_args()
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        failures += not cond

    shutil.rmtree(a.destdir, ignore_errors=True)
    p = subprocess.run([a.meson, "install", "-C", a.build_root, "--no-rebuild", "--quiet",
                        "--destdir", a.destdir], capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"meson install --destdir {a.destdir}: {p.stderr.strip()[-500:]}")
    found = {}
    for d, _, files in os.walk(a.destdir):
        for f in files:
            found.setdefault(f, os.path.join(d, f))
    exe = found.get("wspharness.exe") or found.get("wspharness")
    check(exe is not None and os.path.basename(os.path.dirname(exe)) == "bin", f"the program is installed: {exe}")
    rules = found.get("rules.yaml")
    check(rules is not None and rules.endswith(os.path.join("share", "wspharness", "scenarios", "rules.yaml")),
          f"the scenarios are installed: {rules}")
    if not exe or not rules:
        return 1
    scen = os.path.dirname(rules)
    check(os.path.exists(os.path.join(scen, "sockets", "stream.yaml")), "with their subfolders")
    with open(os.path.join(scen, "installed-marker.yaml"), "w") as f:
        f.write(MARKER)
    env = {k: v for k, v in os.environ.items() if k != "WSPHARNESS_SCENARIOS"}
    cmd = ([a.wrapper] if a.wrapper else []) + [exe, "list"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=a.destdir, timeout=300)
    check(p.returncode == 0 and "/installed-marker[nonifs]" in p.stdout,
          f"the installed program lists the installed scenarios (exit {p.returncode}) {p.stderr.strip()[:300]}")
    check("sockets.stream/connect-accept-transfer[nonifs]" in p.stdout, "and the bundled ones")
    if a.expect_man:
        man = found.get("wspharness.1")
        check(man is not None and man.endswith(os.path.join("man1", "wspharness.1")), f"the manual page is installed: {man}")
        if man and shutil.which("groff"):
            g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", man], capture_output=True, text=True)
            check(g.returncode == 0 and not g.stderr.strip(), f"groff reads it without warnings {g.stderr.strip()[:300]}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
