#!/usr/bin/python3
"""Validity checks for every report format, by consumers independent of the writers.

JUnit: xmllint against tests/schema/junit.xsd, and python3-junitparser. TAP 13: a reader with the
rules meson's TAP parser applies, the YAML blocks loaded with PyYAML. Trace: every line strict JSON,
the wspharness.trace/1 fields and types, seqs and the events findings point at, what a case did not
reach, and the groups record (one group per rule and site, holding exactly those findings).
Matrix: the Markdown table shape and the HTML page's tables, rows and self-containment (links only
to its own elements), the summary and the failing cases before the tables, and no "fail" verdict in
a row whose Used cell says the provider under test made no upcall.

Used as a module by the golden tests, and as a program:
  validate.py [--xsd F] [--rules rules.yaml] REPORT...       (by extension: .xml .tap .jsonl .md .html)
  validate.py --fixture-writer EXE --outdir DIR [--wrapper wine] [--xsd F]
"""
import argparse
import html.parser
import json
import os
import re
import subprocess
import sys
import tempfile

import junitparser
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_XSD = os.path.join(HERE, "..", "schema", "junit.xsd")
SCHEMA = "wspharness.trace/1"


class Invalid(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Invalid(what)


# ---- JUnit ----

def xmllint(path, xsd=DEFAULT_XSD):
    p = subprocess.run(["xmllint", "--noout", "--schema", xsd, path], capture_output=True, text=True)
    return p.returncode == 0, p.stderr.strip()


def validate_junit(path, xsd=DEFAULT_XSD):
    ok, err = xmllint(path, xsd)
    need(ok, f"{path}: xmllint --schema: {err}")
    xml = junitparser.JUnitXml.fromfile(path)
    n = 0
    for suite in xml:
        need(suite.name and suite.hostname and suite.timestamp, f"{path}: suite without name/hostname/timestamp")
        for case in suite:
            n += 1
            need(case.classname and case.name, f"{path}: case without classname or name")
            for r in case.result:
                if isinstance(r, (junitparser.Failure, junitparser.Error)):
                    need(r.type and r.message is not None, f"{path}: {case.name}: failure without type/message")
                    need("\n" not in r.message, f"{path}: {case.name}: multi-line message")
    need(n == int(xml._elem.get("tests")), f"{path}: tests= says {xml._elem.get('tests')}, found {n} cases")
    return n


def schema_rejects_broken_reports(good, xsd=DEFAULT_XSD):
    """The schema is strict: each mutation of a valid report must be refused."""
    with open(good, encoding="utf-8") as f:
        text = f.read()
    mutations = {
        "no hostname": re.sub(r' hostname="[^"]*"', "", text, count=1),
        "zoned timestamp": re.sub(r'timestamp="([^"]*)"', r'timestamp="\1Z"', text, count=1),
        "comma decimal": re.sub(r' time="(\d+)\.(\d+)"', r' time="\1,\2"', text, count=1),
        "unknown attribute": text.replace("<testcase ", '<testcase status="PASSED" ', 1),
        "properties after a case": re.sub(r"(<properties>.*?</properties>\n)(\s*<testcase .*?</testcase>\n)",
                                          r"\2\1", text, count=1, flags=re.S),
        "failure without type": re.sub(r'<failure type="[^"]*"', "<failure", text, count=1),
        "duplicate case": re.sub(r"(\s*<testcase .*?</testcase>\n)", r"\1\1", text, count=1, flags=re.S),
    }
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for what, bad in mutations.items():
            if bad == text:
                problems.append(f"mutation '{what}' did not apply to {good}")
                continue
            p = os.path.join(d, "bad.xml")
            with open(p, "w", encoding="utf-8") as f:
                f.write(bad)
            ok, _ = xmllint(p, xsd)
            if ok:
                problems.append(f"the schema accepts a report with '{what}'")
    need(not problems, "; ".join(problems))


# ---- TAP 13 ----

POINT = re.compile(r"^(not ok|ok)\b(?: (\d+))?(?: - ([^#]*(?:\\#[^#]*)*))?(?:\s*#\s*(SKIP|TODO)\b\s*(.*))?$")


def validate_tap(path, expect_points=None):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.replace("\r\n", "\n").split("\n")
    need(lines and lines[-1] == "", f"{path}: does not end with a newline")
    lines = lines[:-1]
    need(lines[0] == "TAP version 13", f"{path}:1: not 'TAP version 13'")
    plans = [i for i, l in enumerate(lines) if re.match(r"^1\.\.\d+", l)]
    need(len(plans) == 1, f"{path}: {len(plans)} plans")
    m = re.match(r"^1\.\.(\d+)(?: # SKIP .*)?$", lines[plans[0]])
    need(m, f"{path}:{plans[0] + 1}: bad plan")
    planned = int(m.group(1))
    number, i, points = 0, 1, []
    while i < len(lines):
        line = lines[i]
        if i == plans[0] or line.startswith("#"):
            i += 1
            continue
        pm = POINT.match(line)
        need(pm, f"{path}:{i + 1}: not a TAP line: {line!r}")
        number += 1
        need(int(pm.group(2)) == number, f"{path}:{i + 1}: test point {pm.group(2)}, expected {number}")
        points.append((pm.group(1), pm.group(3), pm.group(4)))
        i += 1
        if i < len(lines) and lines[i] == "  ---":
            end = lines.index("  ...", i)
            block = yaml.safe_load("\n".join(l[2:] for l in lines[i + 1:end]))
            need(isinstance(block, dict), f"{path}:{i + 1}: YAML block is not a mapping")
            if pm.group(1) == "not ok":
                need(block.get("severity") in ("fail", "error") and block.get("message"),
                     f"{path}:{i + 1}: not ok without severity/message")
            for fnd in block.get("findings", []):
                need(isinstance(fnd, dict) and fnd.get("rule") and fnd.get("message"),
                     f"{path}:{i + 1}: a finding without rule or message")
            i = end + 1
    need(number == planned, f"{path}: plan 1..{planned} but {number} test points")
    if expect_points is not None:
        need(number == expect_points, f"{path}: {number} test points, expected {expect_points}")
    return points


# ---- the JSON-lines trace ----

def _strict(s):
    raise Invalid(f"non-standard JSON constant {s}")


TYPES = {
    "case": {"case": str, "classname": (str, type(None)), "name": str, "file": (str, type(None)),
             "line": (int, type(None)), "outcome": str, "time": (int, float), "events": int,
             "findings": int, "error_type": (str, type(None)), "error_message": (str, type(None)),
             "skip_reason": (str, type(None)), "unreached": list, "steps": list},
    "event": {"case": str, "seq": int, "time_ns": int, "thread": int, "kind": str, "function": str,
              "args": dict, "ret": (int, str, type(None)), "errno": (int, type(None)),
              "errno_name": (str, type(None)), "module": (str, type(None)),
              "behalf": (str, type(None)), "step": (int, type(None)),
              "parent": (int, type(None)), "table": (str, type(None)), "current_table": (str, type(None)),
              "fault": (int, type(None)), "fault_name": (str, type(None))},
    "finding": {"case": str, "seq": (int, type(None)), "rule": str, "severity": str,
                "level": (str, type(None)), "step": (int, type(None)), "file": (str, type(None)),
                "line": (int, type(None)), "column": (int, type(None)), "message": str,
                "statement": (str, type(None)), "source": (str, type(None)),
                "module": (str, type(None)), "call": (str, type(None)), "upcall": (str, type(None))},
    "groups": {"groups": list},
    "summary": {"tests": int, "passed": int, "failures": int, "errors": int, "skipped": int,
                "warnings": int, "time": (int, float)},
}
UNREACHED = {"rule": (str, type(None)), "step": (int, type(None)), "reason": str}
GROUP = {"rule": str, "severity": str, "module": (str, type(None)), "call": (str, type(None)),
         "upcall": (str, type(None)), "site": str, "cases": int, "findings": int, "first": str,
         "case_ids": list, "message": str}
HEADER = {"schema": str, "type": str, "harness_version": (str, type(None)), "provider": (str, type(None)),
          "provider_sha256": (str, type(None)), "kind": (str, type(None)), "hostname": str,
          "timestamp": str, "deterministic": bool}


def _fields(where, rec, spec):
    need(set(rec) == set(spec), f"{where}: fields {sorted(set(rec) ^ set(spec))} differ from the schema")
    for k, t in spec.items():
        need(isinstance(rec[k], t) and not (t is int and isinstance(rec[k], bool)),
             f"{where}: '{k}' is {type(rec[k]).__name__}")


def validate_trace(path):
    with open(path, "rb") as f:
        raw = f.read()
    need(raw.endswith(b"\n"), f"{path}: does not end with a newline")
    text = raw.decode("utf-8")  # strict: invalid UTF-8 raises
    lines = text.split("\n")[:-1]
    recs = []
    for n, line in enumerate(lines, 1):
        need(line and "\r" not in line, f"{path}:{n}: empty line or CR")
        rec = json.loads(line, parse_constant=_strict)
        need(isinstance(rec, dict), f"{path}:{n}: not an object")
        recs.append(rec)
    need(recs, f"{path}: empty")
    _fields(f"{path}:1", recs[0], HEADER)
    need(recs[0]["schema"] == SCHEMA and recs[0]["type"] == "header", f"{path}:1: not a {SCHEMA} header")
    need(recs[-1].get("type") == "summary", f"{path}: the last record is not the summary")
    cases, current, seqs, found, groups = {}, None, set(), {}, None
    for n, rec in enumerate(recs[1:], 2):
        t = rec.get("type")
        need(t in TYPES, f"{path}:{n}: unknown type {t!r}")
        spec = dict(TYPES[t], type=str)
        _fields(f"{path}:{n}", rec, spec)
        if t == "case":
            need(rec["case"] not in cases, f"{path}:{n}: case {rec['case']} twice")
            need(rec["outcome"] in ("pass", "fail", "error", "skip"), f"{path}:{n}: bad outcome")
            current, seqs = rec, set()
            cases[rec["case"]] = {"events": 0, "findings": 0, "outcome": rec["outcome"], "rec": rec}
            need(all(isinstance(op, str) and op for op in rec["steps"]),
                 f"{path}:{n}: steps: each step's operation is a non-empty string")
            for i, u in enumerate(rec["unreached"]):
                need(isinstance(u, dict), f"{path}:{n}: unreached[{i}] is not an object")
                _fields(f"{path}:{n}: unreached[{i}]", u, UNREACHED)
                need(u["rule"] is not None or (u["step"] or 0) > 0,
                     f"{path}:{n}: unreached[{i}]: a step not run without its number")
        elif t in ("event", "finding"):
            need(current and rec["case"] == current["case"], f"{path}:{n}: {t} outside its case")
            c = cases[rec["case"]]
            if t == "event":
                need(rec["seq"] == c["events"] + 1, f"{path}:{n}: seq {rec['seq']}, expected {c['events'] + 1}")
                need(rec["kind"] in ("call", "return", "upcall"), f"{path}:{n}: bad kind")
                need(rec["parent"] is None or rec["parent"] in seqs, f"{path}:{n}: parent is no earlier event")
                need(rec["kind"] != "call" or rec["ret"] is None, f"{path}:{n}: a call with a result")
                need(rec["errno_name"] is None or rec["errno"] is not None, f"{path}:{n}: errno_name without errno")
                seqs.add(rec["seq"])
                c["events"] += 1
            else:
                need(rec["seq"] is None or rec["seq"] in seqs, f"{path}:{n}: finding at unknown event {rec['seq']}")
                need(rec["severity"] in ("error", "warning"), f"{path}:{n}: bad severity")
                c["findings"] += 1
                key = (rec["rule"], rec["module"] or "", rec["call"], rec["upcall"])
                found.setdefault(key, []).append(rec["case"])
        elif t == "groups":
            need(groups is None, f"{path}:{n}: a second groups record")
            groups = rec["groups"]
            for i, g in enumerate(groups):
                need(isinstance(g, dict), f"{path}:{n}: groups[{i}] is not an object")
                _fields(f"{path}:{n}: groups[{i}]", g, GROUP)
                need(g["severity"] in ("error", "warning"), f"{path}:{n}: groups[{i}]: bad severity")
                need(len(g["case_ids"]) == g["cases"] and g["case_ids"] and g["case_ids"][0] == g["first"],
                     f"{path}:{n}: groups[{i}]: cases, case_ids and first disagree")
        elif t == "summary":
            counts = {k: sum(1 for c in cases.values() if c["outcome"] == o)
                      for k, o in (("passed", "pass"), ("failures", "fail"), ("errors", "error"), ("skipped", "skip"))}
            need(rec["tests"] == len(cases) and all(rec[k] == v for k, v in counts.items()),
                 f"{path}:{n}: summary does not match the cases")
    for name, c in cases.items():
        need(c["events"] == c["rec"]["events"] and c["findings"] == c["rec"]["findings"],
             f"{path}: case {name}: record counts differ from the lines that follow")
    # One group per rule and site, holding exactly the findings of that key.
    need(groups is not None, f"{path}: no groups record")
    keys = [(g["rule"], g["module"] or "", g["call"], g["upcall"]) for g in groups]
    need(len(set(keys)) == len(keys), f"{path}: two groups with the same rule and site")
    need(set(keys) == set(found), f"{path}: the groups do not match the findings' rules and sites")
    for g, k in zip(groups, keys):
        need(g["findings"] == len(found[k]) and g["case_ids"] == list(dict.fromkeys(found[k])),
             f"{path}: group {k}: counts or cases differ from its findings")
    return len(cases)


# ---- the matrix ----

def md_cells(line):
    cells, cur, esc = [], "", False
    for ch in line.strip()[1:]:
        if esc:
            cur += "\\" + ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
    need(cur.strip() == "", f"table line does not end with '|': {line!r}")
    return cells


def rules_catalogue(rules_yaml):
    with open(rules_yaml, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    rows = [r["function"] for r in data["upcall_table"]["rows"]]
    rules = [r["id"] for r in data["rules"]]
    return rows, rules


def validate_matrix_md(path, rules_yaml=None):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    need(text.startswith("# wspharness conformance matrix\n"), f"{path}: no title")
    tables, cur = [], None
    for line in text.split("\n"):
        if line.startswith("|"):
            if cur is None:
                cur = []
                tables.append(cur)
            cur.append(md_cells(line))
        else:
            cur = None
    need(len(tables) == 3, f"{path}: {len(tables)} tables, expected 3")
    need(re.search(r"\n## Summary\n\n\*\*(FAIL|PASS|NOTHING RAN)\*\*: ", text) and
         text.index("\n## Summary") < text.index("\n## Failing cases (") < text.index("\n## Upcalls"),
         f"{path}: no summary, then the failing cases, before the tables")
    for t, width in zip(tables, (7, 5, 5)):
        need(all(len(r) == width for r in t), f"{path}: a row of a {width}-column table has another width")
        need(all(re.fullmatch(r"-+", c) for c in t[1]), f"{path}: no delimiter row")
    rows = [r[0] for r in tables[0][2:]]
    rules = [r[0] for r in tables[1][2:] + tables[2][2:]]
    for r in tables[0][2:]:
        need(not (r[3] == "no" and r[5] == "**fail**"), f"{path}: {r[0]}: never used, yet fail")
    verdicts = {"**fail**", "**warn**", "**missing**", "pass", "not reached", "n/a", "not checkable",
                "not run"}
    for r in tables[0][2:] + tables[1][2:] + tables[2][2:]:
        need(r[-2] in verdicts, f"{path}: {r[0]}: unknown verdict {r[-2]!r}")
    if rules_yaml:
        want_rows, want_rules = rules_catalogue(rules_yaml)
        need(rows == want_rows, f"{path}: upcall rows {rows} != {want_rows}")
        need(sorted(rules) == sorted(want_rules), f"{path}: rule rows differ from the catalogue")
    return rows, rules


class _Page(html.parser.HTMLParser):
    VOID = {"meta", "link", "br", "img", "hr", "input", "col"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.rows, self.table = [], [], {}, None
        self.external, self.ids, self.fragments = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if (a.get("href") or "").startswith("#"):
            self.fragments.append(a["href"][1:])
        for k in ("src", "href", "action", "srcset"):
            if k in a and not (a[k] or "").startswith(("data:", "#")):
                self.external.append(f"{tag} {k}={a[k]}")
        if tag == "script":
            self.external.append("script")
        if tag == "table":
            self.table = a.get("id")
            self.rows[self.table] = []
        if tag == "tr" and self.table and a.get("class") in ("row", "rule"):
            self.rows[self.table].append(a.get("data-function") or a.get("data-rule"))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "table":
            self.table = None


def validate_matrix_html(path, rules_yaml=None):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    need(text.startswith("<!DOCTYPE html>"), f"{path}: no doctype")
    p = _Page()
    p.feed(text)
    p.close()
    need(not p.errors and not p.stack, f"{path}: badly nested: {p.errors[:3]} {p.stack}")
    for row in re.findall(r'<tr class="row".*?</tr>', text, re.S):
        need(not ('<td class="used">no</td>' in row and 'class="verdict v-fail"' in row),
             f"{path}: a row never used, yet fail: {row[:80]}")
    need(not p.external, f"{path}: not self-contained: {p.external}")
    dangling = sorted(set(p.fragments) - p.ids)
    need(not dangling, f"{path}: links to no element: {dangling[:3]}")
    need(re.search(r'<section id="summary" class="summary s-(fail|pass|none)"', text) and
         text.index('id="summary"') < text.index('id="failures"') < text.index('<table id="upcalls"'),
         f"{path}: no summary box, then the failing cases, before the tables")
    need(set(p.rows) == {"upcalls", "lifecycle-rules", "other-rules"}, f"{path}: tables {sorted(p.rows)}")
    if rules_yaml:
        want_rows, want_rules = rules_catalogue(rules_yaml)
        need(p.rows["upcalls"] == want_rows, f"{path}: upcall rows differ")
        need(sorted(p.rows["lifecycle-rules"] + p.rows["other-rules"]) == sorted(want_rules),
             f"{path}: rule rows differ")
    return p.rows


def validate(path, xsd=DEFAULT_XSD, rules_yaml=None):
    if path.endswith(".xml"):
        return validate_junit(path, xsd)
    if path.endswith(".tap"):
        return validate_tap(path)
    if path.endswith(".jsonl"):
        return validate_trace(path)
    if path.endswith(".md"):
        return validate_matrix_md(path, rules_yaml)
    if path.endswith(".html"):
        return validate_matrix_html(path, rules_yaml)
    raise Invalid(f"{path}: unknown report type")


def host_path(path, wine):
    path = os.path.abspath(path)
    return "Z:" + path.replace("/", "\\") if wine else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xsd", default=DEFAULT_XSD)
    ap.add_argument("--rules")
    ap.add_argument("--fixture-writer")
    ap.add_argument("--outdir")
    ap.add_argument("--wrapper")
    ap.add_argument("reports", nargs="*")
    a = ap.parse_args()
    paths = list(a.reports)
    if a.fixture_writer:
        os.makedirs(a.outdir, exist_ok=True)
        for f in os.listdir(a.outdir):
            os.remove(os.path.join(a.outdir, f))
        cmd = ([a.wrapper] if a.wrapper else []) + [a.fixture_writer, host_path(a.outdir, bool(a.wrapper))]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        sys.stdout.write(p.stdout + p.stderr)
        if p.returncode != 0:
            print(f"FAIL: {' '.join(cmd)} exited {p.returncode}")
            return 1
        paths += sorted(os.path.join(a.outdir, f) for f in os.listdir(a.outdir))
    failed = 0
    for path in paths:
        try:
            validate(path, a.xsd, a.rules)
            print(f"ok: {path}")
        except Exception as e:  # any consumer's complaint is a failure of the report
            print(f"FAIL: {path}: {type(e).__name__}: {e}")
            failed += 1
    if a.fixture_writer:
        try:
            schema_rejects_broken_reports(os.path.join(a.outdir, "det-fixture-junit.xml"), a.xsd)
            print("ok: the schema refuses broken reports")
        except Invalid as e:
            print(f"FAIL: {e}")
            failed += 1
    print(f"{len(paths) - failed} valid, {failed} invalid")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
