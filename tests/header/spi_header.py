#!/usr/bin/python3
"""include/wsph/spi.h with the C library's headers, and its WSPStartup declaration.

  spi_header.py orders --include DIR --cc CC [--cc CC]...
      Compiles (syntax only) a translation unit with spi.h before all the standard and POSIX
      headers below, and one with spi.h after them, under each -std mode, with each compiler; then
      the headers of ALONE one at a time, before and after spi.h, under the first compiler's
      default mode. Any diagnostic fails (-Wall -Wextra -Werror).
  spi_header.py wspapi --include DIR --cc CC [--cc CC]...
      A definition of WSPStartup without WSPAPI must not compile ("conflicting types"; gcc), or
      must get the Windows x64 convention from the declaration (clang makes a redeclaration
      without a calling convention inherit the declared one): its first argument is read from
      %cx, not from the System V %di. The same definition with WSPAPI must compile.
"""
import argparse
import concurrent.futures
import os
import shlex
import subprocess
import sys
import tempfile

# The C standard headers and the POSIX headers a provider commonly includes. The sockets headers
# (<sys/socket.h>, <netinet/in.h>, <arpa/inet.h>, <sys/ioctl.h>) define the Winsock names with other
# values and are not to be combined with spi.h (its opening comment says so).
HEADERS = [
    "assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h", "locale.h", "math.h",
    "setjmp.h", "signal.h", "stdarg.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h",
    "stdlib.h", "string.h", "time.h", "wchar.h", "wctype.h",
    "sys/types.h", "sys/select.h", "sys/time.h", "sys/stat.h", "sys/wait.h", "sys/mman.h",
    "pthread.h", "unistd.h", "fcntl.h", "poll.h", "dlfcn.h", "sched.h", "strings.h",
]
# The headers whose definitions depend on the mode, or that the others pull in: each is also
# compiled alone, before and after spi.h.
ALONE = ["stdlib.h", "sys/types.h", "sys/select.h", "sys/time.h"]
STDS = ["gnu17", "gnu11", "c11", "c99"]
FLAGS = ["-fsyntax-only", "-Wall", "-Wextra", "-Werror"]

# Uses what the header declares, so a type that is only half defined fails too.
BODY = """
int wsph_header_probe(void);
int wsph_header_probe(void)
{
	fd_set set = {0};
	u_long nonblocking = 1;
	set.fd_array[0] = (SOCKET)1;
	set.fd_count = 1;
	return (int)(sizeof set.fd_array / sizeof set.fd_array[0]) + (int)sizeof nonblocking +
	       FD_SETSIZE + (int)sizeof(u_char) + (int)sizeof(u_short) + (int)sizeof(u_int);
}
_Static_assert(sizeof(u_long) == 4, "u_long is Winsock's");
_Static_assert(FD_SETSIZE == 64, "FD_SETSIZE is Winsock's");
"""

STARTUP = """
#include "wsph/spi.h"

WSPH_PROVIDER_EXPORT int %s WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
				       LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
				       LPWSPPROC_TABLE lpProcTable)
{
	(void)lpWSPData;
	(void)lpProtocolInfo;
	(void)UpcallTable;
	(void)lpProcTable;
	return wVersionRequested;
}
"""


def source(headers, spi_first):
    spi = ['#include "wsph/spi.h"']
    libc = ["#include <%s>" % h for h in headers]
    return "\n".join(spi + libc if spi_first else libc + spi) + "\n" + BODY


def compile_job(cc, include, std, text, label, tmp):
    fd, path = tempfile.mkstemp(suffix=".c", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    cmd = shlex.split(cc) + FLAGS + (["-std=" + std] if std else []) + ["-I", include, path]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return label, p.returncode, p.stdout


def orders(a, tmp):
    jobs = []
    for cc in a.cc:
        for std in STDS:
            for first in (True, False):
                where = "before" if first else "after"
                jobs.append((cc, std, source(HEADERS, first),
                             "%s -std=%s: spi.h %s every header" % (cc, std, where)))
    for h in ALONE:
        for first in (True, False):
            where = "before" if first else "after"
            jobs.append((a.cc[0], None, source([h], first),
                         "%s (default mode): spi.h %s <%s> alone" % (a.cc[0], where, h)))
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        futs = [ex.submit(compile_job, cc, a.include, std, text, label, tmp)
                for cc, std, text, label in jobs]
        for fut in futs:
            label, rc, out = fut.result()
            if rc != 0:
                failed += 1
                print("not ok: %s\n%s" % (label, out))
    print("%d of %d compilations clean" % (len(jobs) - failed, len(jobs)))
    return 1 if failed else 0


def first_argument_register(cc, include, tmp):
    """The register WSPStartup (defined without WSPAPI) reads its first argument from."""
    path = os.path.join(tmp, "startup.c")
    with open(path, "w") as f:
        f.write(STARTUP % "")
    cmd = shlex.split(cc) + ["-O2", "-S", "-o", "-", "-I", include, path]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    body = p.stdout.split("WSPStartup:", 1)[-1].split("ret", 1)[0]
    if "%cx" in body or "%ecx" in body:
        return "cx"
    return "di" if "%di" in body or "%edi" in body else "unknown:\n" + p.stdout


def wspapi(a, tmp):
    failed = 0
    for cc in a.cc:
        label, rc, out = compile_job(cc, a.include, None, STARTUP % "", "without WSPAPI", tmp)
        if rc == 0:
            reg = first_argument_register(cc, a.include, tmp)
            if reg != "cx":
                failed += 1
                print("not ok: %s: WSPStartup defined without WSPAPI compiled, and reads its "
                      "first argument from %s, not %%cx (the declaration's ms_abi)" % (cc, reg))
            else:
                print("ok: %s: without WSPAPI the definition inherits the declared ms_abi" % cc)
        elif "conflicting types" not in out:
            failed += 1
            print("not ok: %s: WSPStartup defined without WSPAPI failed without "
                  "'conflicting types'\n%s" % (cc, out))
        else:
            print("ok: %s: without WSPAPI, 'conflicting types'" % cc)
        label, rc, out = compile_job(cc, a.include, None, STARTUP % "WSPAPI", "with WSPAPI", tmp)
        if rc != 0:
            failed += 1
            print("not ok: %s: WSPStartup defined with WSPAPI does not compile\n%s" % (cc, out))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["orders", "wspapi"])
    ap.add_argument("--include", required=True, help="the folder that holds wsph/spi.h")
    ap.add_argument("--cc", action="append", required=True,
                    help="a compiler command (repeatable); the first also compiles each header alone")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="spi-header-") as tmp:
        return orders(a, tmp) if a.mode == "orders" else wspapi(a, tmp)


if __name__ == "__main__":
    sys.exit(main())
