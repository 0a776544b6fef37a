#!/usr/bin/python3
"""A full run of a provider (both kinds, every bundled scenario) makes all 16 WPU calls: the 15
entries of WSPUPCALLTABLE and WPUCompleteOverlappedRequest. Read from the JSON-lines trace
(--trace FILE); the run itself must pass. Only calls made by provider code count (the module of
the event is not the harness program). For a layered provider (--kind and the harness's --layered
flags after --), both layers count: the trace is of the whole chain under test."""
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

# Microsoft's table: required for non-IFS providers only; an IFS provider's handles are the OS's
# own, so it never creates, queries or closes a socket handle through the upcalls, and its
# overlapped operations complete through the OS, not through WPUCompleteOverlappedRequest.
NONIFS_ONLY = {"WPUCreateSocketHandle", "WPUQuerySocketHandleContext", "WPUCloseSocketHandle",
               "WPUCompleteOverlappedRequest"}


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--kind", action="append", choices=["nonifs", "ifs"],
                    help="the kinds to run (default: both)")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    wine = bool(a.wrapper)
    trace = os.path.abspath(a.trace)
    if os.path.exists(trace):
        os.remove(trace)
    cmd = ([a.wrapper] if wine else []) + [a.harness, "run", host_path(a.provider, wine),
                                            "--trace", host_path(trace, wine), "--color=never"]
    for kind in a.kind or ["nonifs", "ifs"]:
        cmd.append("--non-ifs" if kind == "nonifs" else "--ifs")
    cmd += [host_path(x, wine) if os.path.exists(x) else x for x in a.extra]
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
            if (ev.get("type") == "event" and ev.get("kind") == "upcall"
                    and not os.path.basename(ev.get("module") or "").startswith("wspharness")):
                seen[ev["function"]] = seen.get(ev["function"], 0) + 1
    kinds = a.kind or ["nonifs", "ifs"]
    expected = [f for f in WPU if "nonifs" in kinds or f not in NONIFS_ONLY]
    missing = [f for f in expected if f not in seen]
    for f in WPU:
        print(f"{f:32} {seen.get(f, 0)}")
    if missing:
        print("FAIL: never called:", ", ".join(missing))
        return 1
    if "nonifs" not in kinds:
        unexpected = sorted(f for f in NONIFS_ONLY if f in seen)
        if unexpected:
            print("FAIL: an IFS-only chain made non-IFS upcalls:", ", ".join(unexpected))
            return 1
        print(f"ok: all {len(expected)} WPU functions an IFS chain can make appear in the trace, "
              "and none of the 4 non-IFS ones")
        return 0
    print(f"ok: all {len(WPU)} WPU functions appear in the trace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
