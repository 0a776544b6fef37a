#!/usr/bin/python3
"""The direction of every dependency in the program's sources (docs/architecture.md), read from
their #include lines:

- nothing in harness/ (the core and its platform layer) includes a header of reports/ or cli/;
- nothing in reports/ includes the platform layer (harness/platform/) or a header of cli/;
- the platform layer includes nothing of the core (platform/posix/exports.c is the program's:
  the POSIX stand-ins for what a provider imports from ws2_32 and kernel32, which call the core);
- the modules of harness/ (a module is NAME.c with NAME.h) include each other without a circle,
  and each includes only modules on the floors below its own in docs/architecture.md's list
  (every module of harness/ is on it).

Usage: layering.py SOURCE_ROOT. Prints each breach, then "N passed, N failed"."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# The program's own file among the platform's (linked into the program, not the core library).
PROGRAM_FILES = {"harness/platform/posix/exports.c"}


def sources(root, folder):
    """Every .c and .h under folder, as paths relative to root."""
    out = []
    for base, _, files in os.walk(os.path.join(root, folder)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                out.append(os.path.relpath(os.path.join(base, f), root))
    return sorted(out)


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def headers_of(root, folder):
    return {os.path.basename(p) for p in sources(root, folder) if p.endswith(".h")}


def module(path):
    return os.path.splitext(os.path.basename(path))[0]


def circles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in sorted(graph.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


def floors(root):
    """{module: floor} from docs/architecture.md's list (the top line is the highest floor)."""
    text = open(os.path.join(root, "docs", "architecture.md"), encoding="utf-8").read()
    m = re.search(r"<!-- core floors: begin -->\s*```\n(.*?)```\s*<!-- core floors: end -->",
                  text, re.S)
    if not m:
        return None
    lines = [ln.split() for ln in m.group(1).strip().splitlines()]
    return {mod: len(lines) - i for i, ln in enumerate(lines) for mod in ln}


def main():
    root = sys.argv[1]
    core = [p for p in sources(root, "harness") if "/platform/" not in p.replace(os.sep, "/")]
    platform = [p for p in sources(root, "harness")
                if p not in core and p.replace(os.sep, "/") not in PROGRAM_FILES]
    reports = sources(root, "reports")
    report_h = headers_of(root, "reports")
    cli_h = headers_of(root, "cli") if os.path.isdir(os.path.join(root, "cli")) else set()
    core_h = {os.path.basename(p) for p in core if p.endswith(".h")}
    breaches, checked = [], 0

    for p in core + platform:
        for inc in includes(root, p):
            checked += 1
            name = os.path.basename(inc)
            if name in report_h or name in cli_h:
                breaches.append(f"{p} includes {inc}: the core never depends on reports or cli")
    for p in reports:
        for inc in includes(root, p):
            checked += 1
            if inc.startswith("platform/") or os.path.basename(inc) in cli_h:
                breaches.append(f"{p} includes {inc}: reports read the results model only")
    for p in platform:
        for inc in includes(root, p):
            checked += 1
            name = os.path.basename(inc)
            if name in core_h and "platform" not in inc:
                breaches.append(f"{p} includes {inc}: the platform layer is below the core")

    graph = {}
    for p in core:
        for inc in includes(root, p):
            name = os.path.basename(inc)
            if name in core_h and module(name) != module(p):
                graph.setdefault(module(p), set()).add(module(name))
    floor = floors(root)
    checked += 1
    if floor is None:
        breaches.append("docs/architecture.md has no list of the core's floors")
        floor = {}
    for mod in sorted({module(p) for p in core}):
        checked += 1
        if floor and mod not in floor:
            breaches.append(f"module {mod} of harness/ is on no floor of docs/architecture.md")
    for a in sorted(graph):
        for b in sorted(graph[a]):
            checked += 1
            if a in floor and b in floor and floor[b] >= floor[a]:
                breaches.append(f"{a} includes {b}, which is not on a floor below it "
                                "(docs/architecture.md)")
    checked += 1
    for comp in circles(graph):
        breaches.append("these modules of harness/ include each other in a circle: " +
                        ", ".join(comp))

    for b in breaches:
        print("FAIL: " + b)
    print(f"{checked - len(breaches)} passed, {len(breaches)} failed")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
