#!/usr/bin/python3
"""Runs one libFuzzer target for a bounded time: every seed first, then mutations.

New inputs are kept in --work (the first corpus folder libFuzzer is given, so the seed folders are
only read); a crash, leak, sanitizer finding or slow input is written there as crash-*, leak-*,
timeout-* or slow-unit-* and the run fails. Reproduce with `FUZZER WORK/crash-...`.
"""
import argparse
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzzer", required=True)
    ap.add_argument("--work", required=True, help="folder for new inputs and findings")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--dict")
    ap.add_argument("seeds", nargs="*", help="seed folders (read only)")
    a = ap.parse_args()

    # `make fuzz` sets WSPH_FUZZ_SECONDS (from FUZZ_SECONDS) for longer runs than meson test's.
    seconds = int(os.environ.get("WSPH_FUZZ_SECONDS") or a.seconds)
    os.makedirs(a.work, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS",
                   "halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1:print_stacktrace=1")
    cmd = [a.fuzzer, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
           "-print_final_stats=1", "-artifact_prefix=" + os.path.join(a.work, "")]
    if a.dict:
        cmd.append("-dict=" + a.dict)
    cmd += [a.work] + [s for s in a.seeds if os.path.isdir(s)]
    print("$", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env)
    if p.returncode != 0:
        found = sorted(f for f in os.listdir(a.work)
                       if f.split("-")[0] in ("crash", "leak", "timeout", "slow", "oom"))
        print(f"FAIL: {os.path.basename(a.fuzzer)} exited with {p.returncode}; findings in "
              f"{a.work}: " + (", ".join(found) or "none written"))
        return 1
    print(f"ok: {os.path.basename(a.fuzzer)} ran {seconds} s with no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
