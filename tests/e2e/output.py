#!/usr/bin/python3
"""End-to-end check of the provider's own output in the reports (issue 14).

The provider (providers/hostile: hostile-output) writes to stdout in its first WSPStartup what
HOSTILE_OUTPUT_* say. Asserts:
  - output with NUL bytes and invalid UTF-8 is in the JUnit report whole, the bytes that are not
    text written \\xHH (what follows a NUL too), and the file is valid XML; the TAP report and the
    JSON-lines trace of the same run are well-formed, the console (-v) has no NUL byte;
  - 64 MiB without a newline: the report says how many bytes were not kept (all but the last
    64 KiB, exactly), and the peak RSS of the harness (its children included: os.wait4 of the
    harness) grows less than RSS_SLACK over a run whose provider writes nothing. Memory only,
    never time.
Every run must leave no process behind (hostile_common.py).
"""
import argparse
import codecs
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from hostile_common import MARK_VAR, check_no_leftovers, new_mark
from run_case import host_path

FILTER = "lifecycle.startup/startup-and-cleanup*"
PLAIN = b"hostile output abcdefghijklmnopqrstuvwxyz|"
HOSTILE = b"out\0after-nul \xff\xfe bad-utf8 \xc3( tail|"
KEEP = 64 * 1024             # WSPH_CASEIO_OUTPUT_KEEP (harness/caseio.h)
RSS_SLACK = 16 * 1024        # KiB: 64 MiB of output kept whole would be 64 MiB more
RUN_CAP = 300                # seconds a run is given


def escaped(data):
    """The harness's report text for bytes: \\xHH for NUL, controls but tab/LF/CR, DEL and each byte
    of invalid UTF-8 (harness/caseio.h, wsph_caseio_kept_text)."""
    codecs.register_error("wsph_hex", lambda e: ("".join("\\x%02x" % b for b in
                                                         e.object[e.start:e.end]), e.end))
    text = data.decode("utf-8", errors="wsph_hex")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), text)


def provider_bytes(total, line, nul):
    """What hostile-output writes for total <= 64 KiB: the text again and again, every line-th
    byte a newline."""
    pat = HOSTILE if nul else PLAIN
    return bytes(10 if line and i % line == line - 1 else pat[i % len(pat)] for i in range(total))


class Runner:
    def __init__(self, a, workdir):
        self.a, self.workdir, self.wine = a, workdir, bool(a.wrapper)

    def run(self, name, total, line, nul, extra=()):
        a, w = self.a, self.wine
        junit = os.path.join(self.workdir, name + ".xml")
        once = os.path.join(self.workdir, name + ".once")
        cmd = ([a.wrapper] if w else []) + [a.harness, "run", host_path(a.provider, w),
                                            "--filter", FILTER, "--junit", host_path(junit, w)]
        cmd += list(extra)
        mark = new_mark()
        env = dict(os.environ, HOSTILE_OUTPUT_BYTES=str(total), HOSTILE_OUTPUT_LINE=str(line),
                   HOSTILE_OUTPUT_NUL="1" if nul else "0", HOSTILE_ONCE=host_path(once, w))
        env[MARK_VAR] = mark
        with open(os.path.join(self.workdir, name + ".out"), "wb") as out:
            p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        left = check_no_leftovers(mark)
        if left:
            sys.exit("\n".join(left))
        if p.returncode != 0:
            sys.exit(f"FAIL {name}: exit status {p.returncode} (expected 0): {' '.join(cmd)}")
        with open(os.path.join(self.workdir, name + ".out"), "rb") as f:
            console = f.read()
        return junit, usage.ru_maxrss, console


def system_out(junit):
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError as e:
        sys.exit(f"FAIL: {junit} is not valid XML: {e}")
    outs = [so.text or "" for so in root.iter("system-out")]
    if len(outs) != 1:
        sys.exit(f"FAIL: {junit}: {len(outs)} <system-out> elements, expected 1")
    head = "--- provider output ---\n"
    if head not in outs[0]:
        sys.exit(f"FAIL: {junit}: no provider output in <system-out>:\n{outs[0][:2000]}")
    return outs[0][outs[0].index(head) + len(head):]


def check_escaped(r):
    total, line = 3000, 70
    tap = os.path.join(r.workdir, "escapes.tap")
    trace = os.path.join(r.workdir, "escapes.jsonl")
    junit, _, console = r.run("escapes", total, line, True,
                              ["-v", "--report", "tap:" + host_path(tap, r.wine),
                               "--report", "trace:" + host_path(trace, r.wine)])
    got = system_out(junit)
    want = escaped(provider_bytes(total, line, True))
    want += "" if want.endswith("\n") else "\n"
    if got != want:
        sys.exit(f"FAIL: the provider output in {junit} differs from what it wrote:\n"
                 f"got:  {got[:400]!r}\nwant: {want[:400]!r}")
    if got.count("\\x00after-nul") < 40:
        sys.exit("FAIL: text after a NUL byte is missing")
    with open(tap, "rb") as f:
        lines = f.read().decode("utf-8").splitlines()
    if not lines or not re.match(r"^(TAP version 13|1\.\.1)$", lines[0]) or "ok 1 - " not in \
            "\n".join(lines):
        sys.exit(f"FAIL: {tap} is not the TAP of one passing case")
    with open(trace, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                json.loads(raw.decode("utf-8"))
            except ValueError as e:
                sys.exit(f"FAIL: {trace}:{n} is not JSON: {e}")
    if b"\0" in console:
        sys.exit("FAIL: a NUL byte on the console")
    print(f"ok: {total} bytes with NUL and invalid UTF-8 in the JUnit report, escaped and whole")


def check_bounded(r):
    big = r.a.bytes
    _, base, _ = r.run("base", 0, 0, False)
    junit, rss, _ = r.run("no-newline", big, 0, False)
    got = system_out(junit)
    m = re.match(r"\.\.\. \((\d+) earlier bytes not kept\)\n", got)
    if not m or int(m.group(1)) != big - KEEP:
        sys.exit(f"FAIL: expected '... ({big - KEEP} earlier bytes not kept)', got {got[:200]!r}")
    kept = got[m.end():]
    if len(kept) != KEEP + 1:
        sys.exit(f"FAIL: {len(kept) - 1} bytes kept, expected {KEEP}")
    print(f"peak RSS: {base} KiB without output, {rss} KiB with {big} bytes without a newline")
    if rss > base + RSS_SLACK:
        sys.exit(f"FAIL: {big} bytes of output cost {rss - base} KiB of RSS "
                 f"(more than {RSS_SLACK} KiB)")
    print(f"ok: {big} bytes without a newline, {rss - base} KiB more")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--bytes", type=int, default=64 * 1024 * 1024)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=a.workdir) as workdir:
        r = Runner(a, workdir)
        check_escaped(r)
        check_bounded(r)


if __name__ == "__main__":
    main()
