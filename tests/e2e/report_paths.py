#!/usr/bin/python3
"""Where reports go (README.md, "Reports"): a report file is replaced whole through a temporary
file of its own, a FIFO or a device is written directly, a write error is named, and every
requested report is attempted before the run exits 3. Runs the native program or the Windows one
under Wine (then NUL instead of the FIFO and the devices, and no file size limit)."""
import argparse
import os
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

failures = 0
FILTER = ["--filter", "lifecycle.startup/startup-and-cleanup*"]


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def parses(path):
    try:
        return ET.parse(path).getroot().tag == "testsuites"
    except (ET.ParseError, OSError):
        return False


class Harness:
    def __init__(self, a):
        a.harness = os.path.abspath(a.harness)  # some runs start in a folder of their own
        self.a = a
        self.wine = bool(a.wrapper)

    def host(self, path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if self.wine else path

    def command(self, reports):
        # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself.
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([self.a.wrapper] if self.wine else []) + [self.a.harness, "run",
                                                          self.host(self.a.provider)] + FILTER
        for fmt, path in reports:
            cmd += ["--report", f"{fmt}:{path}"]
        return cmd

    def run(self, reports, **kw):
        p = subprocess.run(self.command(reports), capture_output=True, text=True, timeout=300,
                           **kw)
        return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")


def leftovers(d, keep):
    """Files in d other than keep: a temporary file left behind shows here."""
    return sorted(set(os.listdir(d)) - set(keep))


def test_unwritable_first(h, d):
    """The first of three reports cannot be written: the other two are, the summary prints, exit 3."""
    blocker = os.path.join(d, "not-a-dir")
    open(blocker, "w").close()
    bad = os.path.join(blocker, "sub", "report.xml")
    junit, tap = os.path.join(d, "second.xml"), os.path.join(d, "third.tap")
    rc, out, err = h.run([("junit", h.host(bad)), ("junit", h.host(junit)), ("tap", h.host(tap))])
    check(rc == 3, f"an unwritable report exits 3 (got {rc}: {err.strip()[-300:]})")
    check(f"wspharness: cannot write {h.host(bad)}: " in err,
          f"the failure names the path and a reason ({err.strip()[-300:]})")
    check(parses(junit), "the second report is written whole")
    check(os.path.exists(tap) and open(tap).read().startswith("TAP version 13"),
          "the third report is written")
    check("1 passed" in out, "the console summary still prints")
    check(leftovers(d, ["not-a-dir", "second.xml", "third.tap"]) == [],
          f"no temporary file left ({leftovers(d, ['not-a-dir', 'second.xml', 'third.tap'])})")


def test_directory_target(h, d):
    target = os.path.join(d, "report.xml")
    os.mkdir(target)
    rc, _, err = h.run([("junit", h.host(target))])
    check(rc == 3 and f"cannot write {h.host(target)}: " in err,
          f"a directory at the path is a named failure, exit 3 (got {rc}: {err.strip()[-200:]})")
    check(os.path.isdir(target) and leftovers(d, ["report.xml"]) == [],
          "the directory stays, no temporary file left")


def test_concurrent(h, d):
    """Two runs writing one path: whatever the order, one complete report and nothing else."""
    # each round is a fresh race; under Wine a run costs seconds, so fewer rounds there
    rounds = 3 if h.wine else 10
    target = os.path.join(d, "report.xml")
    for i in range(rounds):
        procs = [subprocess.Popen(h.command([("junit", h.host(target))]), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        codes = [p.wait(timeout=300) for p in procs]
        errs = " | ".join(p.stderr.read().strip()[-200:] for p in procs)
        for p in procs:
            p.stderr.close()
        if codes != [0, 0] or not parses(target) or leftovers(d, ["report.xml"]):
            check(False, f"round {i}: two writers, exit {codes}, valid XML {parses(target)}, "
                  f"left {leftovers(d, ['report.xml'])} ({errs})")
            return
    check(True, f"{rounds} rounds of two concurrent writers: always one valid report, no temp file")


def test_nul(h, d):
    """Windows: NUL is a device, written directly (no file appears in the working directory)."""
    rc, _, err = h.run([("junit", "NUL")], cwd=d)
    check(rc == 0, f"--junit NUL writes (got {rc}: {err.strip()[-200:]})")
    check(os.listdir(d) == [], f"nothing created next to it ({os.listdir(d)})")


def device(d, name, minor):
    """A character device for the tests: a node of its own in d (1, minor is /dev/null or
    /dev/full) when the test may make one, so that a harness that replaced its target would
    replace only that node; the system's own device when this user cannot make nodes (nor replace
    anything in /dev); None when it is root without the right to make nodes."""
    path = os.path.join(d, name)
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        return path
    except OSError:
        return None if os.geteuid() == 0 else "/dev/" + name


def test_dev_null(h, d):
    null = device(d, "null", 3)
    if not null:
        print("skip: no device node can be made here")
        return
    rc, _, err = h.run([("junit", null)])
    check(rc == 0, f"--junit {null} writes (got {rc}: {err.strip()[-200:]})")
    check(stat.S_ISCHR(os.stat(null).st_mode), f"{null} is still a character device")
    check(leftovers(d, ["null"]) == [], "nothing else created")


def test_dev_full(h, d):
    full = device(d, "full", 7)
    if not full:
        print("skip: no device node can be made here")
        return
    tap = os.path.join(d, "after.tap")
    rc, _, err = h.run([("junit", full), ("tap", tap)])
    check(rc == 3, f"--junit {full} exits 3 (got {rc})")
    check(f"wspharness: cannot write {full}: No space left on device" in err,
          f"the failure says why ({err.strip()[-200:]})")
    check(stat.S_ISCHR(os.stat(full).st_mode), f"{full} is still a character device")
    check(os.path.exists(tap) and open(tap).read().startswith("TAP version 13"),
          "the report after it is still written")
    check(leftovers(d, ["full", "after.tap"]) == [], "no temporary file left")


def test_fifo(h, d):
    fifo = os.path.join(d, "report.fifo")
    os.mkfifo(fifo)
    got = []

    def reader():
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rc, _, err = h.run([("junit", fifo)])
    t.join(timeout=60)
    check(rc == 0, f"--junit FIFO writes (got {rc}: {err.strip()[-200:]})")
    ok = False
    if got:
        try:
            ok = ET.fromstring(got[0]).tag == "testsuites"
        except ET.ParseError:
            pass
    check(ok, "the reader gets the whole report")
    check(stat.S_ISFIFO(os.stat(fifo).st_mode) and leftovers(d, ["report.fifo"]) == [],
          "the FIFO stays a FIFO, nothing else created")


def test_temp_symlink(h, d):
    """The old fixed temporary name, a symbolic link to another file: never followed."""
    victim = os.path.join(d, "victim.txt")
    with open(victim, "w") as f:
        f.write("untouched\n")
    os.symlink(victim, os.path.join(d, "report.xml.tmp"))
    target = os.path.join(d, "report.xml")
    rc, _, err = h.run([("junit", h.host(target))])
    check(rc == 0 and parses(target), f"the report is written (got {rc}: {err.strip()[-200:]})")
    check(open(victim).read() == "untouched\n" and os.path.islink(os.path.join(d, "report.xml.tmp")),
          "the file a symbolic link named like a temporary file points to is untouched")
    check(leftovers(d, ["victim.txt", "report.xml.tmp", "report.xml"]) == [], "no temporary file left")


def test_symlink_target(h, d):
    """A symbolic link at the path: the file it leads to is replaced, the link stays."""
    real_dir = os.path.join(d, "real")
    os.mkdir(real_dir)
    real = os.path.join(real_dir, "target.xml")
    with open(real, "w") as f:
        f.write("old\n")
    link = os.path.join(d, "link.xml")
    os.symlink(real, link)
    rc, _, err = h.run([("junit", h.host(link))])
    check(rc == 0, f"a report through a symbolic link is written (got {rc}: {err.strip()[-200:]})")
    check(os.path.islink(link) and os.readlink(link) == real, "the link stays a link")
    check(parses(real), "the file it leads to holds the report")
    check(leftovers(real_dir, ["target.xml"]) == [] and leftovers(d, ["real", "link.xml"]) == [],
          "no temporary file left in either directory")
    dangling = os.path.join(d, "dangling.xml")
    os.symlink(os.path.join(d, "nowhere", "x.xml"), dangling)
    rc, _, _ = h.run([("junit", h.host(dangling))])
    check(rc == 0 and not os.path.islink(dangling) and parses(dangling),
          "a link that leads nowhere is replaced by the report")


def test_stdout_file(h, d):
    """/dev/stdout with stdout redirected to a file (`>>`): written through the harness's own
    descriptor after the summary, the file neither replaced nor rewritten from its start."""
    out = os.path.join(d, "out.txt")
    with open(out, "w") as f:
        f.write("before\n")
    inode = os.stat(out).st_ino
    with open(out, "a") as f:
        p = subprocess.run(h.command([("junit", "/dev/stdout")]), stdout=f,
                           stderr=subprocess.PIPE, text=True, timeout=300)
    text = open(out).read()
    check(p.returncode == 0 and os.stat(out).st_ino == inode,
          f"--junit /dev/stdout into a file writes (got {p.returncode}: {p.stderr.strip()[-200:]})")
    at = text.find("<?xml")
    ok = text.startswith("before\n") and 0 < text.find("1 passed") < at
    try:
        ok = ok and ET.fromstring(text[at:]).tag == "testsuites"
    except ET.ParseError:
        ok = False
    check(ok, "what was there, the summary, then the whole report")
    check(leftovers(d, ["out.txt"]) == [], "nothing else created")


def limit_file_size():
    # A write past the limit fails with EFBIG instead of raising SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))


def test_write_error(h, d):
    """A write that fails half-way: the previous report stays whole, no temporary file, exit 3."""
    target = os.path.join(d, "report.xml")
    rc, _, _ = h.run([("junit", target)])
    before = open(target, "rb").read()
    tap = os.path.join(d, "small.tap")
    rc, _, err = h.run([("junit", target), ("tap", tap)], preexec_fn=limit_file_size)
    check(rc == 3 and f"wspharness: cannot write {target}: File too large" in err,
          f"a failed write is named, exit 3 (got {rc}: {err.strip()[-200:]})")
    check(open(target, "rb").read() == before, "the previous report is untouched")
    check(os.path.exists(tap), "the next report is still written")
    check(leftovers(d, ["report.xml", "small.tap"]) == [],
          f"no temporary file left ({leftovers(d, ['report.xml', 'small.tap'])})")


# Under Wine, symbolic links made on the POSIX side are links to the Windows program too.
COMMON = [test_unwritable_first, test_directory_target, test_concurrent, test_temp_symlink,
          test_symlink_target]
POSIX = [test_dev_null, test_dev_full, test_fifo, test_stdout_file, test_write_error]
WINDOWS = [test_nul]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    h = Harness(a)
    os.makedirs(a.workdir, exist_ok=True)
    dirs = []
    for test in COMMON + (WINDOWS if h.wine else POSIX):
        print(f"-- {test.__name__}", flush=True)
        dirs.append(tempfile.mkdtemp(dir=a.workdir, prefix=test.__name__ + "-"))
        test(h, dirs[-1])
    print(f"{failures} failure(s)")
    if not failures:  # what failed stays to be looked at
        for d in dirs:
            shutil.rmtree(d)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
