#!/usr/bin/python3
"""SIGTERM in the middle of a run: the harness stops, and the JUnit report on disk is complete and
valid, holding the cases that ran (the one cut short is an <error type="interrupted">)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import junitparser


def main():
    harness, provider, workdir = sys.argv[1:4]
    os.makedirs(workdir, exist_ok=True)
    junit = os.path.join(tempfile.mkdtemp(dir=workdir), "report.xml")
    # hostile-hang-close hangs in WSPCloseSocket; with a 60 s limit the run is still busy at 1.5 s
    p = subprocess.Popen([harness, "run", provider, "--timeout", "60", "--junit", junit,
                          "--filter", "lifecycle.startup/*:sockets.*"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    print(out, err)
    ok = True
    if p.returncode != 1:
        print(f"FAIL: exit status {p.returncode}, expected 1")
        ok = False
    if "interrupted" not in err:
        print("FAIL: stderr does not say the run was interrupted")
        ok = False
    # the report is written through a temporary ".NAME.XXXXXX" beside it, renamed when whole
    base = os.path.basename(junit)
    temps = [n for n in os.listdir(os.path.dirname(junit)) if n.startswith("." + base + ".")]
    if not os.path.exists(junit) or temps:
        print(f"FAIL: no complete report on disk (temporary files left: {temps})")
        return 1
    xml = junitparser.JUnitXml.fromfile(junit)
    cases = [c for s in xml for c in s]
    errors = [r.type for c in cases for r in c.result if isinstance(r, junitparser.Error)]
    print(f"{len(cases)} case(s) in the report, errors: {errors}")
    if not cases or "interrupted" not in errors:
        print("FAIL: the report should hold the cases that ran, the last one interrupted")
        ok = False
    rc = subprocess.run(["/usr/bin/xmllint", "--noout", junit]).returncode
    if rc != 0:
        print("FAIL: xmllint rejects the report")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
