#!/usr/bin/python3
"""Each command as a user meets it: COMMAND --help; an unknown command, a misplaced argument and an
option a command does not take are exit 2 with a message naming them (and the closest names);
`rules ID...` prints those rules; `list --ifs/--non-ifs` select kinds; `show` refuses a file that
is not a trace by saying what it looks like, and a malformed trace keeps its file:line: column
message. Exact messages and exit statuses; the invocations only parse or read, several at once.
--part native: all of it (the native build). --part wine: the Windows error text (LoadLibrary's
message with its %1 filled) and one --help, under Wine (a Windows process costs seconds to start)."""
import argparse
import concurrent.futures
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def first_line(text):
    return text.splitlines()[0] if text.strip() else ""


def help_cases():
    """(args, rc, stdout's first line, stderr's first line or None for anything)"""
    cases = []
    for cmd, usage in [("run", "usage: wspharness run [PROVIDER] [OPTION]..."),
                       ("list", "usage: wspharness list [OPTION]..."),
                       ("rules", "usage: wspharness rules [ID]... [OPTION]..."),
                       ("show", "usage: wspharness show TRACE"),
                       ("explore", "usage: wspharness explore [PROVIDER] [OPTION]...")]:
        for flag in ("--help", "-h"):
            cases.append(([cmd, flag], 0, usage, ""))
    return cases


def refusal_cases():
    w = "wspharness: "
    return [
        (["runn", "x.so"], 2, "", w + "unknown command 'runn' (did you mean 'run'?)"),
        (["lsit"], 2, "", w + "unknown command 'lsit' (did you mean 'list'?)"),
        (["frobnicate"], 2, "", w + "unknown command 'frobnicate' (the commands are 'run', "
                                    "'list', 'rules', 'show' and 'explore')"),
        (["x.so"], 2, "", w + "unknown command 'x.so' (the commands are 'run', 'list', 'rules', "
                              "'show' and 'explore'; to run a provider: wspharness run x.so)"),
        (["--ifs", "run"], 2, "", w + "'--ifs' before a command: the command comes first "
                                      "('run', 'list', 'rules', 'show' and 'explore')"),
        (["run", "a.so", "b.so"], 2, "", w + "unexpected argument 'b.so' ('run' takes one "
                                             "PROVIDER, given as 'a.so')"),
        (["list", "x.so"], 2, "", w + "unexpected argument 'x.so' ('list' takes options only)"),
        (["show"], 2, "", w + "'show' needs a TRACE (a file written by run --trace FILE)"),
        (["show", "a", "b"], 2, "", w + "unexpected argument 'b' ('show' takes one TRACE, "
                                        "given as 'a')"),
        (["list", "--junit", "x.xml"], 2, "", w + "--junit does not apply to 'list' (only to "
                                                  "'run')"),
        (["list", "--deterministic"], 2, "", w + "--deterministic does not apply to 'list' "
                                                 "(only to 'run')"),
        (["list", "-j2"], 2, "", w + "-j does not apply to 'list' (only to 'run')"),
        (["rules", "--rule", "SPI.Startup.RefCount"], 2, "",
         w + "--rule does not apply to 'rules' (only to 'run'; to print a rule: wspharness "
             "rules ID...)"),
        (["rules", "--filter", "x"], 2, "", w + "--filter does not apply to 'rules' (only to "
                                                "'run' and 'list'; to print a rule: wspharness "
                                                "rules ID...)"),
        (["rules", "--allow-empty"], 2, "", w + "--allow-empty does not apply to 'rules' (only "
                                                "to 'run' and 'list')"),
        (["show", "--junit", "x"], 2, "", w + "--junit does not apply to 'show' (only to 'run')"),
        (["show", "t.jsonl", "--trace", "x"], 2, "",
         w + "--trace does not apply to 'show' (only to 'run'; show reads the TRACE file given "
             "as its argument)"),
        (["show", "--scenarios", "x"], 2, "", w + "--scenarios does not apply to 'show' (only "
                                                  "to 'run', 'list' and 'rules')"),
        (["run", "--non-if"], 2, "", w + "unknown option '--non-if' (did you mean '--non-ifs'?)"),
        (["list", "--filtr=x"], 2, "", w + "unknown option '--filtr=x' (did you mean "
                                           "'--filter'?)"),
        (["rules", "SPI.Startup.Refcount"], 2, "",
         w + "unknown rule 'SPI.Startup.Refcount' (did you mean 'SPI.Startup.RefCount'?)"),
        (["rules", "WPU.CloseSocketHandle.OnClose", "No.Such"], 2, "",
         w + "unknown rule 'No.Such'"),
    ]


def trace_files(tmp):
    """(name, content, the message after the path): files show must refuse."""
    return [
        ("junit.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="wspharness">\n'
                      b'</testsuites>\n',
         " is not a wspharness trace (it looks like XML, e.g. a JUnit report; 'wspharness run "
         "--trace FILE' writes one)"),
        ("notes.txt", b"hello, world\n",
         " is not a wspharness trace (it looks like text that starts 'hello, world'; "
         "'wspharness run --trace FILE' writes one)"),
        ("empty.jsonl", b"",
         " is not a wspharness trace (it is empty; 'wspharness run --trace FILE' writes one)"),
        ("report.tap", b"TAP version 13\n1..0\n",
         " is not a wspharness trace (it looks like a TAP report; 'wspharness run --trace FILE' "
         "writes one)"),
        ("matrix.html", b"<!DOCTYPE html>\n<html lang=\"en\">\n",
         " is not a wspharness trace (it looks like HTML, e.g. the matrix-html report; "
         "'wspharness run --trace FILE' writes one)"),
        ("blob.bin", b"\x00\x01\x02\xff",
         " is not a wspharness trace (it looks like binary data; 'wspharness run --trace FILE' "
         "writes one)"),
        # a trace cut short, and one with a malformed line: the place of the fault
        ("cut.jsonl", b'{"schema":"wspharness.trace/1","type":"hea',
         ":1: column 40: unterminated string"),
        ("bad-line.jsonl", b'{"schema":"wspharness.trace/1","type":"header"}\nxyz\n',
         ":2: column 1: unexpected 'x'"),
    ]


def native(run, host, a, tmp):
    cases = help_cases() + refusal_cases()
    show_files = trace_files(tmp)
    for name, content, _ in show_files:
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(content)
    cases += [(["show", host(os.path.join(tmp, n))], 2, "", host(os.path.join(tmp, n)) + want)
              for n, _, want in show_files]
    extra = [["rules", "SPI.Startup.RefCount", "WPU.CloseSocketHandle.OnClose"],
             ["list"], ["list", "--ifs"], ["list", "--non-ifs"], ["--help"]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: run(*c[0]), cases))
        more = list(pool.map(lambda args: run(*args), extra))
    for (args, rc_want, out_want, err_want), (rc, out, err) in zip(cases, results):
        ok = rc == rc_want and first_line(out) == out_want and first_line(err) == err_want
        check(ok, f"{' '.join(args)}: exit {rc_want}, {(out_want or err_want)!r} "
                  f"(got {rc}: {first_line(out)!r} / {first_line(err)!r})")

    # help: the options each command takes, none it does not; the usage hint after bad input
    by_args = {tuple(c[0]): r for c, r in zip(cases, results)}
    run_help, list_help = by_args[("run", "--help")][1], by_args[("list", "--help")][1]
    rules_help, show_help = by_args[("rules", "--help")][1], by_args[("show", "--help")][1]
    check("  --junit PATH" in run_help and "  --rule ID" in run_help and "Exit status: 0" in run_help,
          "run --help lists run's options and the exit status")
    check("  --filter GLOB" in list_help and "  --ifs, --non-ifs" in list_help and
          "--junit" not in list_help and "--rule " not in list_help,
          "list --help lists list's options only")
    check("  --scenarios PATH" in rules_help and "--filter" not in rules_help,
          "rules --help lists rules' options only")
    check("  -h, --help" in show_help and "--scenarios" not in show_help,
          "show --help lists --help alone")
    _, _, err = by_args[("list", "--junit", "x.xml")]
    check(err.splitlines()[1:] == ["usage: wspharness list [OPTION]...",
                                   "'wspharness list --help' lists its options."],
          f"bad input for a command ends with its synopsis and where its help is ({err!r})")
    _, out, _ = by_args[("rules", "SPI.Startup.Refcount")]
    check(out == "", "an unknown rule ID prints no rule")

    rc, out, err = more[0]
    blocks = re.findall(r"^(\S+)  \[", out, re.M)
    check(rc == 0 and blocks == ["SPI.Startup.RefCount", "WPU.CloseSocketHandle.OnClose"]
          and "Upcalls Exposed" not in out,
          f"rules ID ID prints those rules, in order, without the table (got {rc}: {blocks})")
    check(re.search(r"^  source: \[STARTUP\]", out, re.M) and "  status: checked\n" in out and
          re.search(r"^  checked by: lifecycle\.startup/reference-count$", out, re.M) and
          re.search(r"^  tripped by: fault-no-refcount$", out, re.M),
          "rules ID prints the rule's statement, source, status, providers and scenarios")
    ids = {name: [l.split()[0] for l in r[1].splitlines() if l.strip()]
           for name, r in zip(["all", "ifs", "nonifs"], more[1:4])}
    check(ids["all"] and ids["ifs"] and ids["nonifs"] and
          all(i.endswith("[ifs]") for i in ids["ifs"]) and
          all(i.endswith("[nonifs]") for i in ids["nonifs"]) and
          sorted(ids["ifs"] + ids["nonifs"]) == sorted(ids["all"]),
          f"list --ifs / --non-ifs list that kind's cases, list both "
          f"({len(ids['ifs'])} + {len(ids['nonifs'])} = {len(ids['all'])})")
    rc, out, _ = more[4]
    check(rc == 0 and "wspharness rules [ID]..." in out and "COMMAND --help" in out,
          "wspharness --help shows rules ID... and COMMAND --help")


def bad_exe(provider, path):
    """The provider DLL with SizeOfImage cut to one page: headers this program accepts, an image
    the system loader refuses with ERROR_BAD_EXE_FORMAT (193)."""
    with open(provider, "rb") as f:
        data = bytearray(f.read())
    opt = struct.unpack_from("<I", data, 0x3c)[0] + 24
    struct.pack_into("<I", data, opt + 56, 0x1000)
    with open(path, "wb") as f:
        f.write(data)


def wine(run, host, a, tmp):
    dll = os.path.join(tmp, "bad-image.dll")
    bad_exe(a.provider, dll)
    calls = [["run", host(dll), "--filter", "lifecycle.startup/startup-and-cleanup*"],
             ["show", "--help"]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        (rc, _, err), (hrc, hout, _) = list(pool.map(lambda c: run(*c), calls))
    want = (f"wspharness: {host(dll)}: LoadLibrary failed: Bad EXE format for {host(dll)} "
            f"(error 193: not a DLL this Windows build can load; build the provider with the "
            f"mingw-w64 cross build)")
    check(rc == 2 and first_line(err) == want and "%1" not in err,
          f"LoadLibrary's message has its %1 filled: exit 2, {want!r} (got {rc}: {err.strip()!r})")
    check(hrc == 0 and first_line(hout) == "usage: wspharness show TRACE", "show --help, exit 0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--wrapper")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["native", "wine"], required=True)
    a = ap.parse_args()
    is_wine = bool(a.wrapper)

    def host(path):
        path = os.path.abspath(path)
        return "Z:" + path.replace("/", "\\") if is_wine else path

    def run(*args):
        # WSPH_HARNESS_WRAPPER (e.g. valgrind) goes in front of the harness itself.
        cmd = shlex.split(os.environ.get("WSPH_HARNESS_WRAPPER", ""))
        cmd += ([a.wrapper] if is_wine else []) + [a.harness] + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=300)
        out = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
        err = p.stderr.decode("utf-8", "replace").replace("\r\n", "\n")
        return p.returncode, out, err

    os.makedirs(a.workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=a.workdir)
    (native if a.part == "native" else wine)(run, host, a, tmp)
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
