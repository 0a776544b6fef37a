#!/usr/bin/python3
"""A full run of a provider (both kinds, every bundled scenario) makes all 16 WPU calls: the 15
entries of WSPUPCALLTABLE and WPUCompleteOverlappedRequest. Read from the JSON-lines trace
(--trace FILE); the run itself must pass."""
import argparse
import json
import os
import subprocess
import sys

WPU = [
    "WPUCloseEvent", "WPUCloseSocketHandle", "WPUCreateEvent", "WPUCreateSocketHandle",
    "WPUFDIsSet", "WPUGetProviderPath", "WPUModifyIFSHandle", "WPUPostMessage",
    "WPUQueryBlockingCallback", "WPUQuerySocketHandleContext", "WPUQueueApc", "WPUResetEvent",
    "WPUSetEvent", "WPUOpenCurrentThread", "WPUCloseThread", "WPUCompleteOverlappedRequest",
]


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    trace = os.path.abspath(a.trace)
    if os.path.exists(trace):
        os.remove(trace)
    cmd = ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine),
                                            "--non-ifs", "--ifs", "--trace",
                                            host_path(trace, wine), "-q"] + a.extra
    print("$", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    sys.stdout.write(p.stdout + p.stderr)
    if p.returncode != 0:
        print(f"FAIL: exit status {p.returncode}")
        return 1
    seen = {}
    with open(trace, encoding="utf-8") as fh:
        for line in fh:
            ev = json.loads(line)
            if ev.get("type") == "event" and ev.get("kind") == "upcall":
                seen[ev["function"]] = seen.get(ev["function"], 0) + 1
    missing = [f for f in WPU if f not in seen]
    for f in WPU:
        print(f"{f:32} {seen.get(f, 0)}")
    if missing:
        print("FAIL: never called:", ", ".join(missing))
        return 1
    print(f"ok: all {len(WPU)} WPU functions appear in the trace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
