#!/usr/bin/python3
"""The scenario folder walk takes regular files only and stays bounded (README.md, "Scenario
files"): a FIFO, a UNIX socket or a link to a device named *.yaml is reported on stderr and
skipped, the good scenario beside them still lists and runs; the same file given to --scenarios
is bad input (exit 2); a folder reached again through a link (a link loop) is walked once; a path
longer than 1024 bytes, a class name longer than 256 and folders nested deeper than 16 levels are
bad input.

Natively and under Wine (--wrapper) alike, except: Wine shows a FIFO as a pipe, and no UNIX
socket at all (left out there); a DOS device name (nul.yaml: the NUL device) is checked under Wine
only. Nothing is timed: a walk or an open that blocks is caught by meson's timeout for the test.
"""
import argparse
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

failures = 0

GOOD = """scenarios:
  - name: good
    checks: [SPI.Errno.OnFailure]
    steps:
      - startup:
      - cleanup:
"""


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def write(path, text=GOOD):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_socket(path):
    """A UNIX socket file at path, bound from its folder (sun_path is short)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        s.bind(os.path.basename(path))
    finally:
        os.chdir(cwd)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--wrapper")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    sep = "\\" if wine else "/"

    def host(path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if wine else path

    def run(*args):
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([a.wrapper] if wine else []) + [a.harness] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True)
        return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")

    def ours(err):
        """The skip warnings on stderr (under Wine, its own advice lines may come too)."""
        lines = err.splitlines()
        return lines if not wine else [l for l in lines if l.endswith("; skipped")]

    os.makedirs(a.workdir, exist_ok=True)
    top = tempfile.mkdtemp(dir=a.workdir)
    d = os.path.join(top, "walk")
    write(os.path.join(d, "good.yaml"))
    os.symlink(".", os.path.join(d, "loop"))
    write(os.path.join(d, "sub", "deeper.yaml"), GOOD.replace("name: good", "name: deeper"))
    os.symlink("..", os.path.join(d, "sub", "back"))
    loop_why = "a folder this walk has read already (a link loop?)"
    fifo_why = "not a regular file (a pipe)" if wine else "not a regular file (a FIFO)"
    dev_why = "not a regular file (a character device)"
    os.mkfifo(os.path.join(d, "x.yaml"))
    os.symlink("/dev/zero", os.path.join(d, "z.yaml"))
    skipped = [("loop", loop_why)]
    sock = None
    if wine:
        # a DOS device name: the NUL device, not the file of that name
        write(os.path.join(d, "nul.yaml"), "not yaml")
        skipped += [("nul.yaml", dev_why)]
    else:
        # Wine does not show a UNIX socket as a file at all (it is "cannot open")
        sock = make_socket(os.path.join(d, "s.yaml"))
        skipped += [("s.yaml", "not a regular file (a socket)")]
    skipped += [("sub" + sep + "back", loop_why), ("x.yaml", fifo_why), ("z.yaml", dev_why)]
    want = [f"wspharness: {host(d)}{sep}{name}: {why}; skipped" for name, why in skipped]

    rc, out, err = run("list", "--scenarios", host(d))
    check(rc == 0, f"list over the folder exits 0 (got {rc}: {err.strip()[-300:]})")
    check(ours(err) == want, "list reports each skipped entry, in order:\n  "
          + "\n  ".join(want) + "\n got:\n  " + "\n  ".join(ours(err)))
    check("\ngood/good[nonifs]" in "\n" + out and "\nsub.deeper/deeper[nonifs]" in out,
          f"list shows the good scenarios (got {out.strip()!r})")

    junit = os.path.join(top, "run.xml")
    rc, out, err = run("run", host(a.provider), "--scenarios", host(d), "--color=never",
                       "--junit", host(junit))
    check(rc == 0, f"run over the folder exits 0 (got {rc}: {err.strip()[-300:]})")
    check(ours(err) == want, "run reports the same skipped entries (got:\n  "
          + "\n  ".join(ours(err)) + ")")
    report = open(junit, encoding="utf-8").read() if os.path.exists(junit) else ""
    check('name="good/good' in report and 'name="sub.deeper/deeper' in report and "<failure" not in report,
          "the good scenarios ran and passed")

    direct = [("x.yaml", fifo_why), ("z.yaml", dev_why)]
    direct += [("nul.yaml", dev_why)] if wine else [("s.yaml", "not a regular file (a socket)")]
    for name, why in direct:
        p = host(os.path.join(d, name))
        rc, _, err = run("list", "--scenarios", p)
        msg = f"{p}: {why}"
        got = err.strip() if not wine else err.strip().splitlines()[-1:] and err.strip().splitlines()[-1]
        check(rc == 2 and got == msg,
              f"--scenarios {name} given directly is bad input: {msg!r} "
              f"(got {rc}: {err.strip()!r})")

    # A path longer than 1024 bytes under the folder: bad input naming the path's start.
    long_dir = os.path.join(top, "long")
    write(os.path.join(long_dir, "good.yaml"))
    deep = long_dir
    while len(host(deep)) <= 1024:
        deep = os.path.join(deep, "d" * 150)
    write(os.path.join(deep, "far.yaml"))
    rc, _, err = run("list", "--scenarios", host(long_dir))
    first = host(long_dir) + sep + "d" * 150
    check(rc == 2 and "...: the path is longer than 1024 bytes (found " in err
          and err.startswith(first[:200]),
          f"a path over 1024 bytes is bad input (got {rc}: {err.strip()[:120]!r}...)")

    # A class name (the path under the folder, dotted) over 256 bytes: bad input.
    cls = os.path.join(top, "cls")
    far = os.path.join(cls, "c" * 130, "c" * 130, "x.yaml")
    write(far)
    rc, _, err = run("list", "--scenarios", host(cls))
    msg = (f"{host(far)}: the class name (the path under the scenarios folder, dotted) is "
           "longer than 256 bytes (found 263)")
    check(rc == 2 and err.strip().splitlines()[-1:] == [msg],
          f"a class name over 256 bytes is bad input (got {rc}: {err.strip()[-200:]!r})")

    # Folders nested deeper than 16 levels: bad input.
    nest = os.path.join(top, "nest")
    write(os.path.join(nest, *(["n"] * 17), "x.yaml"))
    rc, _, err = run("list", "--scenarios", host(nest))
    check(rc == 2 and err.strip().endswith(": folders nested deeper than 16 levels"),
          f"17 levels of folders are bad input (got {rc}: {err.strip()!r})")
    nest16 = os.path.join(top, "nest16")
    write(os.path.join(nest16, *(["n"] * 16), "x.yaml"))
    rc, out, err = run("list", "--scenarios", host(nest16))
    check(rc == 0 and "n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.x/good[nonifs]" in out,
          f"16 levels of folders load (got {rc}: {err.strip()!r})")

    # errors.yaml beside rules.yaml is optional; a FIFO there is refused by name, never read.
    if not wine:
        rdir = os.path.join(top, "rules")
        write(os.path.join(rdir, "good.yaml"))
        bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "scenarios", "rules.yaml")
        shutil.copyfile(bundled, os.path.join(rdir, "rules.yaml"))
        os.mkfifo(os.path.join(rdir, "errors.yaml"))
        rc, _, err = run("list", "--scenarios", rdir)
        msg = f"{os.path.join(rdir, 'errors.yaml')}: not a regular file (a FIFO)"
        check(rc == 2 and err.strip() == msg,
              f"a FIFO errors.yaml is bad input: {msg!r} (got {rc}: {err.strip()!r})")

    if sock:
        sock.close()
    if not failures:
        shutil.rmtree(top, ignore_errors=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
