#!/usr/bin/python3
"""The conformance matrix page in a real browser: headless Chromium (Debian's `chromium`) at
1400x900, what a reader's first screen shows.

Two runs: a faulty provider that breaks one known rule (a failing run), and the reference provider
as a non-IFS base provider (a passing run). Two Chromium starts (each costs seconds), each used for
several checks:

1. A probe copy of the failing page (the page plus a script the test adds; the page itself has
   none), its DOM dumped: every upcall row and every rule rendered, in the three tables; measured
   with every <details> closed, the summary box and the first failing case lie within the first
   900 px, the first failing case names the known rule and links to its row, no "pass" verdict is
   on the first screen, and the 16 upcall rows are short (each a line or two, all together within
   a bounded height). The probe also logs a deliberate console error, to prove the console check
   can fail.
2. The failing page as written, screenshot at 1400x900: taken, and nothing on the console (no
   errors, no blocked loads).
The passing page is read as written (a static page: its DOM is its source): it says PASS, and the
LSP.* rules and the IFS-only rules say "n/a" (every case that checks them was skipped or is not of
their kind) while rules a non-IFS base case reached say "pass".

Chromium missing is a failure, not a skip: `make check` installs it (tools/setup.sh browser).
"""
import argparse
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import yaml

WIDTH, HEIGHT = 1400, 900
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         f"--window-size={WIDTH},{HEIGHT}"]
# An upcall row's height at most, in lines of its text: most rows are a line or two, a long published
# description four (before the lists were folded, one row of 40 cases took ~700 px); and the 16
# rows together, in lines per row on average (room for other fonts than the test machine's).
ROW_MAX = 6
ROWS_MAX = 3.5

# Measures the closed page and writes what it found into <pre id="probe"> (read from the DOM dump).
PROBE = """<pre id="probe"></pre><script>
const FIRST_SCREEN = %d;
console.error("deliberate");
for (const d of document.querySelectorAll("details")) d.open = false;
const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
  return {top: r.top + scrollY, bottom: r.bottom + scrollY, height: r.height}; };
const first = document.querySelector("ol.failures > li");
const rows = [...document.querySelectorAll("#upcalls tbody tr.row")];
const one = document.createElement("div");
one.textContent = "x";
document.querySelector("#upcalls td").appendChild(one);
const line = one.getBoundingClientRect().height;
one.remove();
const passes = [...document.querySelectorAll(".verdict.v-pass")].map(box)
  .filter(b => b.top < FIRST_SCREEN);
document.getElementById("probe").textContent = JSON.stringify({
  width: innerWidth, height: innerHeight, line: line,
  summary: box(document.getElementById("summary")),
  verdict: document.querySelector("#summary .run-verdict").textContent,
  first: box(first), first_text: first ? first.textContent : "",
  first_links: first ? [...first.querySelectorAll("a")].map(a => a.getAttribute("href")) : [],
  rows: rows.map(r => ({fn: r.dataset.function, height: box(r).height})),
  passes_on_first_screen: passes.length,
  scenarios_closed: [...document.querySelectorAll("#upcalls td.scenarios details")]
    .every(d => !d.open && /^\\d+ cases?$/.test(d.querySelector("summary").textContent))});
</script>""" % HEIGHT


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser, page, tmp, *extra):
    """Runs Chromium on page with a fresh profile; returns (exit status, stdout, console lines)."""
    profile = tempfile.mkdtemp(dir=tmp, prefix="profile-")
    cmd = [browser] + FLAGS + ["--user-data-dir=" + profile] + list(extra) + ["file://" + page]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
    console = [l for l in p.stderr.splitlines() if re.search(r":CONSOLE[:(]|Uncaught|Refused to", l)]
    return p.returncode, p.stdout, console


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def run_harness(harness, provider, rules, page):
    p = subprocess.run([harness, "run", provider, "--non-ifs", "--rules", rules, "-q",
                        "--deterministic", "--report", "matrix-html:" + page],
                       capture_output=True, text=True, timeout=300)
    return p.returncode


def rule_verdicts(dom):
    """{rule ID: verdict} from the rules tables of a rendered page."""
    out = {}
    for rid, body in re.findall(r'<tr class="rule" data-rule="([^"]+)"(.*?)</tr>', dom, re.S):
        m = re.search(r'<td class="verdict [^"]*">([^<]*)</td>', body)
        out[html.unescape(rid)] = html.unescape(m.group(1)) if m else None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--provider", required=True, help="the reference provider (a passing run)")
    ap.add_argument("--faulty", required=True, help="a faulty provider (a failing run)")
    ap.add_argument("--faulty-rule", required=True, help="the rule the faulty provider breaks")
    ap.add_argument("--rules", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        failures += not cond

    browser = chromium()
    if not browser:
        print("FAIL: chromium is not installed (tools/setup.sh browser installs it)")
        return 1
    os.makedirs(a.workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=a.workdir)
    with open(a.rules, encoding="utf-8") as f:
        catalogue = yaml.safe_load(f)

    failing = os.path.join(tmp, "failing.html")
    passing = os.path.join(tmp, "passing.html")
    rc = run_harness(a.harness, a.faulty, a.rules, failing)
    check(rc == 1 and os.path.exists(failing), f"the failing run wrote its page (exit {rc})")
    rc = run_harness(a.harness, a.provider, a.rules, passing)
    check(rc == 0 and os.path.exists(passing), f"the passing run wrote its page (exit {rc})")
    if not os.path.exists(failing) or not os.path.exists(passing):
        return 1

    # 1. The first screen of the failing run, measured by the probe.
    with open(failing, encoding="utf-8") as f:
        page = f.read()
    check("<script" not in page and "<details" in page, "the page has no script and folds lists")
    probe = os.path.join(tmp, "probe.html")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(page.replace("</body>", PROBE + "\n</body>"))
    _, dom, console = render(browser, probe, tmp, "--dump-dom")
    check(any("deliberate" in l for l in console), "a deliberate console error is detected")
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    try:
        got = json.loads(html.unescape(m.group(1))) if m else None
    except ValueError:
        got = None
    check(got is not None, "the probe measured the page")
    if got is None:
        return 1
    print(f"   viewport {got['width']}x{got['height']}, line {got['line']} px, summary "
          f"{got['summary']}, first failing case {got['first']}")
    check(got["width"] == WIDTH and 0 < got["height"] <= HEIGHT,
          f"a {WIDTH}x{HEIGHT} window (its page area {got['width']}x{got['height']} here)")
    check(got["verdict"].startswith("FAIL:"), f"the summary says FAIL: {got['verdict']!r}")
    check(got["summary"] and got["summary"]["top"] >= 0 and got["summary"]["bottom"] <= HEIGHT,
          "the summary box lies within the first 900 px")
    check(got["first"] and got["first"]["bottom"] <= HEIGHT,
          "the first failing case lies within the first 900 px")
    check(re.search(r"\S+/\S+\[nonifs\]", got["first_text"]) and a.faulty_rule in got["first_text"],
          f"it is named by its case ID and names {a.faulty_rule}: {got['first_text'][:120]!r}")
    check("#rule-" + a.faulty_rule in got["first_links"], "it links to the rule's row")
    check(got["passes_on_first_screen"] == 0, "no \"pass\" verdict on the first screen")
    want_rows = [r["function"] for r in catalogue["upcall_table"]["rows"]]
    heights = [r["height"] for r in got["rows"]]
    check([r["fn"] for r in got["rows"]] == want_rows, f"the {len(want_rows)} upcall rows")
    tallest = max(heights, default=0)
    check(tallest <= ROW_MAX * got["line"],
          f"every upcall row is short: {[round(h) for h in heights]} px, a line {got['line']} px")
    check(sum(heights) <= ROWS_MAX * got["line"] * len(want_rows),
          f"the upcall rows together take {sum(heights):.0f} px")
    check(got["scenarios_closed"], "each Scenarios list is a closed <details> with its count")
    rules = [r["id"] for r in catalogue["rules"]]
    got_rows = re.findall(r'<tr class="row" data-function="([^"]+)"', dom)
    got_rules = re.findall(r'<tr class="rule" data-rule="([^"]+)"', dom)
    check(got_rows == want_rows, f"every upcall table row is rendered, in order ({len(got_rows)}/{len(want_rows)})")
    check(sorted(got_rules) == sorted(rules), f"every rule is rendered ({len(got_rules)}/{len(rules)})")
    tables = re.findall(r'<table id="([^"]+)"', dom)
    check(tables == ["upcalls", "lifecycle-rules", "other-rules"], f"the three tables: {tables}")

    # 2. The failing page as written: a screenshot, and nothing on the console.
    shot = os.path.join(tmp, "failing.png")
    rc, _, console = render(browser, failing, tmp, "--screenshot=" + shot)
    size = png_size(shot) if os.path.exists(shot) else None
    check(rc == 0 and size == (WIDTH, HEIGHT), f"screenshot taken: {shot} {size}")
    check(not console, "no console messages while rendering: " + "; ".join(console[:3]))

    # The passing page: n/a where no case that checks a rule ran to its end.
    with open(passing, encoding="utf-8") as f:
        page = f.read()
    verdicts = rule_verdicts(page)
    check(sorted(verdicts) == sorted(rules), f"every rule has a verdict ({len(verdicts)}/{len(rules)})")
    check(re.search(r'<h2 id="verdict" class="run-verdict">PASS:', page), "the summary says PASS")
    unreached = [r["id"] for r in catalogue["rules"]
                 if r["id"].startswith("LSP.") or r.get("kinds") == ["ifs"]]
    wrong = [f"{r}={verdicts.get(r)}" for r in unreached if verdicts.get(r) != "n/a"]
    check(unreached and not wrong, f"the {len(unreached)} LSP.* and IFS-only rules are n/a: {wrong}")
    # Checked by base scenarios of the non-IFS kind, or named by no scenario (checked by every case).
    reached = ["WPU.CloseSocketHandle.OnClose", "SPI.Startup.RefCount", "WPU.ModifyIFSHandle.IFSOnly",
               "HARNESS.Step.Expectation"]
    wrong = [f"{r}={verdicts.get(r)}" for r in reached if verdicts.get(r) != "pass"]
    check(not wrong, f"rules a non-IFS base case reached pass: {wrong}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
