#!/usr/bin/python3
"""Waits that end when nothing can change any more (POSIX: the platform reads what every thread
waits on). Two scenarios on mockbase, neither of which can ever be satisfied:

- a blocking receive no data will ever reach: run with a time limit of ten minutes, the case must
  end as a timeout whose message says the provider is waiting and nothing can wake it (it can only
  end at all by being found still), and the run goes on to the next case, which passes;
- an overlapped receive no data will ever complete, whose `complete` step must report that nothing
  can wake it instead of waiting out its limit ("within 300 ms").

Both isolated (the child's monitor) and in-process for the second (the driver's own waits).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import junitparser

STALL = "the provider is waiting and nothing can wake it"

SCENARIOS = """scenarios:
  - name: receive-nothing-blocking
    description: A blocking receive on a connection nobody writes to.
    checks: [WPU.BlockingCallback.NullIsNormal]
    steps:
      - startup:
      - socket: {as: listener}
      - bind: {socket: listener, addr: "127.0.0.1:7590"}
      - listen: {socket: listener}
      - socket: {as: client}
      - connect: {socket: client, addr: "127.0.0.1:7590"}
      - accept: {socket: listener, as: server}
      - recv: {socket: server, len: 6, data: "never!"}
      - close: {socket: client}
      - close: {socket: server}
      - close: {socket: listener}
      - cleanup:

  - name: receive-nothing-overlapped
    description: An overlapped receive on a connection nobody writes to; its completion never comes.
    checks: [WPU.CompleteOverlapped.AbortOnClose]
    steps:
      - startup:
      - socket: {as: listener}
      - bind: {socket: listener, addr: "127.0.0.1:7591"}
      - listen: {socket: listener}
      - socket: {as: client}
      - connect: {socket: client, addr: "127.0.0.1:7591"}
      - accept: {socket: listener, as: server}
      - recv: {socket: server, overlapped: true, completion: event, op: r1}
      - complete: {op: r1}
      - close: {socket: server}
      - close: {socket: client}
      - close: {socket: listener}
      - cleanup:

  - name: after-them
    description: The run goes on.
    checks: [SPI.Cleanup.SuccessReturnsZero]
    steps:
      - startup:
      - cleanup:
"""


def cases(path):
    xml = junitparser.JUnitXml.fromfile(path)
    suites = xml if isinstance(xml, junitparser.JUnitXml) else [xml]
    return {c.name: c for s in suites for c in s}


def text_of(case):
    return " ".join((r.message or "") + " " + (r.text or "") for r in case.result)


def run(args, tmp, extra, tag):
    junit = os.path.join(tmp, tag + ".xml")
    cmd = [args.harness, "run", args.provider, "--non-ifs", "--scenarios", tmp,
           "--timeout", "600", "--junit", junit, "--color=never"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    print("$ " + " ".join(cmd))
    print(p.stdout[-3000:], p.stderr[-2000:])
    return p.returncode, cases(junit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    args = ap.parse_args()
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "stall.yaml"), "w") as f:
            f.write(SCENARIOS)
        rc, cs = run(args, tmp, [], "isolated")
        if rc != 1:
            bad.append("isolated run: exit %d, expected 1" % rc)
        blk = next((c for n, c in cs.items() if "receive-nothing-blocking" in n), None)
        if blk is None or not any(isinstance(r, junitparser.Error) and r.type == "timeout"
                                  for r in blk.result) or STALL not in text_of(blk):
            bad.append("the blocking receive did not end as a timeout saying '%s': %s"
                       % (STALL, text_of(blk) if blk else "no case"))
        for tag, extra in (("isolated", None), ("in-process", ["--no-isolation"])):
            if extra is not None:
                rc, cs = run(args, tmp, extra + ["--filter", "*overlapped*:*after-them*"], tag)
            ov = next((c for n, c in cs.items() if "receive-nothing-overlapped" in n), None)
            t = text_of(ov) if ov else "no case"
            if STALL not in t or "within 300 ms" in t:
                bad.append("%s: the complete step did not say '%s': %s" % (tag, STALL, t))
            after = next((c for n, c in cs.items() if "after-them" in n), None)
            if after is None or after.result:
                bad.append("%s: the case after them did not pass" % tag)
    for b in bad:
        print("FAIL: " + b)
    print("%d passed, %d failed" % (0 if bad else 1, 1 if bad else 0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
