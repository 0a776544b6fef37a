#!/usr/bin/python3
"""Every input bounded, from the command line: numbers out of range (flags, environment, a
scenario's timeout: times the multiplier) are exit 2 with a message naming the number and its
range; --filter takes linear time on any pattern, excludes with '-', refuses empty patterns, and a
selection of no case is exit 2 unless --allow-empty; a long scenario name keeps its [kind].
--part numbers|filter (two tests, so that each fits its time limit under Wine). Runs the native
program or the Windows one under Wine."""
import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import tempfile

import junitparser

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def first_line(err):
    return err.splitlines()[0] if err.strip() else ""


def bounded_numbers(run, host, a, tmp):
    """Every number the program reads is finite and in its range, else exit 2 naming it."""
    t = "wspharness: --timeout must be a number of seconds from 0.001 to 86400, not '{}'"
    m = "wspharness: WSPHARNESS_TIMEOUT_MULTIPLIER must be a number from 0.01 to 1000, not '{}'"
    cases = [([v], {}, t.format(v)) for v in ("inf", "1e308", "4294968", "nan", "0", "-1", "5s", "")]
    cases += [([], {"WSPHARNESS_TIMEOUT_MULTIPLIER": v}, m.format(v))
              for v in ("1e300", "nan", "inf", "0", "2x", "")]
    cases += [
        (["100"], {"WSPHARNESS_TIMEOUT_MULTIPLIER": "1000"},
         "wspharness: --timeout 100 s times WSPHARNESS_TIMEOUT_MULTIPLIER 1000 is 100000 s; "
         "a case's time limit must be from 0.001 to 86400 s"),
        ([], {"WSPHARNESS_TIMEOUT_MULTIPLIER": "0.01", "WSPHARNESS_CASES_PER_CHILD": "-1"},
         "wspharness: WSPHARNESS_CASES_PER_CHILD must be a whole number of cases from 0 to "
         "1000000, not '-1'"),
        ([], {"GTEST_SHARD_INDEX": "0", "GTEST_TOTAL_SHARDS": "1e3"},
         "wspharness: GTEST_TOTAL_SHARDS must be a whole number from 1 to 1000000, not '1e3'"),
        ([], {"GTEST_SHARD_INDEX": "3", "GTEST_TOTAL_SHARDS": "3"},
         "wspharness: GTEST_SHARD_INDEX (3) must be below GTEST_TOTAL_SHARDS (3)"),
    ]
    cases = [(["run", host(a.provider)] + (["--timeout", timeout[0]] if timeout else []), env, want)
             for timeout, env, want in cases
             # an empty variable does not reach a Windows process through Wine
             if not (env.get("WSPHARNESS_TIMEOUT_MULTIPLIER") == "" and a.wrapper)]
    cases += [(["run", host(a.provider)] + args, {}, want) for args, want in [
            (["--jobs", "65"], "wspharness: --jobs must be a number of processes from 0 to 64 or "
                               "auto, not '65'"),
            (["--shard", "0/0"], "wspharness: --shard takes K/N with 0 <= K < N <= 1000000, not '0/0'"),
            (["--shard", "1/4294967297"], "wspharness: --shard takes K/N with 0 <= K < N <= "
                                          "1000000, not '1/4294967297'")]]
    # each run only parses and exits: several at once (a Windows process costs seconds to start)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: run(*c[0], env=c[1]), cases))
    for (args, env, want), (rc, _, err) in zip(cases, results):
        check(rc == 2 and first_line(err) == want,
              f"{' '.join(args[2:])} {env}: exit 2, '{want}' (got {rc}: {first_line(err)!r})")

    # A scenario's own timeout: times the multiplier stays within 86400 s, checked before any case
    long = os.path.join(tmp, "long-timeout.yaml")
    with open(long, "w") as f:
        f.write("scenarios:\n  - name: slow\n    checks: [WPU.CloseSocketHandle.OnClose]\n"
                "    timeout: 3600\n    steps:\n      - startup:\n      - cleanup:\n")
    common = ["run", host(a.provider), "--scenarios", host(long), "--rules", host(a.rules), "-q"]
    rc, _, err = run(*common, env={"WSPHARNESS_TIMEOUT_MULTIPLIER": "24"})
    check(rc == 0, f"timeout: 3600 times 24 is within the limit (got {rc}: {err.strip()[-300:]})")
    rc, _, err = run(*common, env={"WSPHARNESS_TIMEOUT_MULTIPLIER": "25"})
    want = (r"long-timeout\.yaml:4:14: the scenario's timeout 3600 s times "
            r"WSPHARNESS_TIMEOUT_MULTIPLIER 25 is 90000 s; a case's time limit must be from "
            r"0\.001 to 86400 s$")
    check(rc == 2 and re.search(want, first_line(err)) and "passed" not in err,
          f"timeout: 3600 times 25 is bad input at its timeout: key (got {rc}: {first_line(err)!r})")
    # the bundled scenario-timeout.yaml's 0.5 s: within the limit at either end of the range
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "scenario-timeout.yaml")
    for mul in ("0.01", "1000"):
        rc, out, err = run("list", "--scenarios", host(data), "--rules", host(a.rules),
                           env={"WSPHARNESS_TIMEOUT_MULTIPLIER": mul})
        check(rc == 0 and "close-hangs[nonifs]" in out, f"scenario-timeout.yaml lists with "
              f"multiplier {mul} (got {rc}: {first_line(err)!r})")


def filters(run, host, a, tmp):
    """--filter: linear time, exclusions, an empty selection, malformed patterns, long IDs."""
    # the longest name a scenario may have (README, "Limits"); the ID is allocated, never cut
    name = "n" * 200
    longname = os.path.join(tmp, "long-name.yaml")
    with open(longname, "w") as f:
        f.write(f"scenarios:\n  - name: {name}\n    checks: [WPU.CloseSocketHandle.OnClose]\n"
                "    steps:\n      - startup:\n      - cleanup:\n")
    scen = ["--scenarios", host(longname), "--rules", host(a.rules)]
    rc, out, err = run("list", *scen)
    ids = [l.split()[0] for l in out.splitlines() if l.strip()]
    check(rc == 0 and ids == [f"long-name/{name}[nonifs]", f"long-name/{name}[ifs]"],
          f"a 200-character scenario name is listed whole, with its [kind] (got {rc}: "
          f"{[i[-20:] for i in ids]})")
    rc, out, _ = run("list", *scen, "--filter", "*[nonifs]")
    check(rc == 0 and [l.split()[0] for l in out.splitlines()] == [f"long-name/{name}[nonifs]"],
          "--filter '*[nonifs]' selects the long name's nonifs case")
    junit = os.path.join(tmp, "long-name.xml")
    rc, _, err = run("run", host(a.provider), *scen, "--ifs", "--non-ifs", "--filter", "*[nonifs]",
                     "--junit", host(junit), "-q")
    names = [c.name for s in junitparser.JUnitXml.fromfile(junit) for c in s] if rc == 0 else []
    check(names == [f"long-name/{name}[nonifs]"], f"run --filter '*[nonifs]' runs the long name's case "
          f"only (got {rc}: {[n[-20:] for n in names]} {first_line(err)!r})")

    # a pattern that makes a backtracking matcher exponential, over long IDs and the bundled
    # ones: the test's own time limit is the guard
    expo = "*?" * 16 + "!"
    rc, _, err = run("list", *scen, "--filter", expo)
    check(rc == 2 and first_line(err) == f"wspharness: no case matches --filter '{expo}'",
          f"an exponential pattern finishes: no case matches (got {rc}: {first_line(err)!r})")
    rc, out, _ = run("list", *scen, "--filter", "*?" * 16 + "]")
    check(rc == 0 and len(out.splitlines()) == 2, "an exponential pattern that matches finishes")
    rc, out, _ = run("list", "--filter", expo + ":" + "*?" * 16 + "s]")
    check(rc == 0 and out.strip() != "", "an exponential pattern over the bundled IDs finishes")

    rc, out, _ = run("list")
    every = [l.split()[0] for l in out.splitlines() if l.strip()]
    rc, out, _ = run("list", "--filter", "*:-*[ifs]")
    got = [l.split()[0] for l in out.splitlines() if l.strip()]
    check(rc == 0 and got == [i for i in every if not i.endswith("[ifs]")] and got,
          f"--filter '*:-*[ifs]' excludes every [ifs] case ({len(got)} of {len(every)})")
    rc, out, _ = run("list", "--filter", "-*[ifs]:-lifecycle.*")
    got2 = [l.split()[0] for l in out.splitlines() if l.strip()]
    check(rc == 0 and got2 == [i for i in got if not i.startswith("lifecycle.")],
          "--filter of exclusions only selects every case but those")
    junit = os.path.join(tmp, "exclude.xml")
    rc, _, err = run("run", host(a.provider), "--ifs", "--non-ifs", "--filter",
                     "lifecycle.startup/*:-*[ifs]", "--junit", host(junit), "-q")
    names = [c.name for s in junitparser.JUnitXml.fromfile(junit) for c in s] if rc == 0 else []
    check(names and all(n.endswith("[nonifs]") for n in names),
          f"run --filter with an exclusion runs only the other cases (got {rc}: {names})")

    nomatch = "wspharness: no case matches --filter 'no-such-case'"
    for cmd in (["list"], ["run", host(a.provider)]):
        rc, out, err = run(*cmd, "--filter", "no-such-case")
        check(rc == 2 and first_line(err) == nomatch and out == "",
              f"{cmd[0]}: a filter that selects nothing is exit 2 (got {rc}: {first_line(err)!r})")
    rc, out, err = run("list", "--filter", "no-such-case", "--allow-empty")
    check(rc == 0 and out == "" and err == "", f"list --allow-empty: exit 0, nothing (got {rc})")
    junit = os.path.join(tmp, "empty.xml")
    rc, _, err = run("run", host(a.provider), "--filter", "no-such-case", "--allow-empty",
                     "--junit", host(junit), "-q")
    check(rc == 0 and os.path.exists(junit) and
          sum(1 for s in junitparser.JUnitXml.fromfile(junit) for c in s) == 0,
          f"run --allow-empty: exit 0 with an empty report (got {rc}: {first_line(err)!r})")
    for args, want in [
            (["--rule", "WPU.CloseSocketHandle.OnClose", "--filter", "lifecycle.startup/*"],
             "wspharness: no case that matches --filter 'lifecycle.startup/*' checks --rule "
             "'WPU.CloseSocketHandle.OnClose'"),
            (["--shard", "999/1000"], "wspharness: shard 999/1000 has none of the "),
    ]:
        rc, _, err = run("run", host(a.provider), *args)
        check(rc == 2 and first_line(err).startswith(want),
              f"{args}: exit 2, '{want}' (got {rc}: {first_line(err)!r})")

    for bad, why in [("", "is empty"), ("a::b", "has an empty glob"), ("a:", "has an empty glob"),
                     ("-", "has a '-' with no glob after it")]:
        for cmd in (["list"], ["run", host(a.provider)])[:1 if a.wrapper else 2]:
            rc, _, err = run(*cmd, "--filter", bad)
            want = (f"wspharness: --filter takes GLOB[:GLOB]... (* and ?; a glob starting with - "
                    f"excludes), and '{bad}' {why}")
            check(rc == 2 and first_line(err).startswith(want),
                  f"{cmd[0]} --filter '{bad}': exit 2, '{want}' (got {rc}: {first_line(err)!r})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["numbers", "filter"], required=True)
    a = ap.parse_args()
    wine = bool(a.wrapper)

    def host(path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if wine else path

    def run(*args, env=None):
        # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself.
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([a.wrapper] if wine else []) + [a.harness] + list(args)
        full = dict(os.environ)
        for k in ("WSPHARNESS_TIMEOUT_MULTIPLIER", "WSPHARNESS_CASES_PER_CHILD",
                  "GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS", "WSPH_TRACE_MEM_EVENTS"):
            full.pop(k, None)
        full.update(env or {})
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=full)
        return p.returncode, p.stdout.replace("\r\n", "\n"), p.stderr.replace("\r\n", "\n")

    os.makedirs(a.workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=a.workdir)
    (bounded_numbers if a.part == "numbers" else filters)(run, host, a, tmp)
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
