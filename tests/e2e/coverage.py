#!/usr/bin/python3
"""Rule coverage: every rule of scenarios/rules.yaml is either checked (a scenario names it in
`checks` and a faulty provider trips it, listed in `tripped_by`) or marked `not_checkable` with a
reason; every `tripped_by` name is a faulty provider the build makes, paired with that rule in its
meson list (so the end-to-end test of that pair exists); every rule a scenario names is defined.

A rule only the concurrent faulty providers trip (faulty_concurrent) is noted rather than failed
while no scenarios/concurrent/ folder exists: the scenarios that check it need the parallel step.

Reads the sources only: scenarios/**.yaml, providers/faulty/meson.build (faulty_specs,
faulty_reruns, faulty_concurrent; faulty_status_specs, the variants whose defect is a hang: a
known status and an existing scenario file), providers/passthru-lsp/meson.build
(faulty_lsp_specs) and
providers/hostile/meson.build (hostile_specs whose expectation is a rule ID).
"""
import argparse
import os
import re
import sys

import yaml


def meson_list(text, name):
    """The string items of `name = [ [...], ... ]` in a meson file, as lists of strings."""
    m = re.search(r"^%s\s*=\s*\[" % re.escape(name), text, re.M)
    if not m:
        return []
    depth, i = 1, m.end()
    while depth and i < len(text):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        i += 1
    body = re.sub(r"#[^\n]*", "", text[m.end():i - 1])
    return [re.findall(r"'([^']*)'", item) for item in re.findall(r"\[([^\[\]]*)\]", body)]


def scenario_rules(root):
    """rule ID -> set of 'file:scenario' naming it in checks; and every ID named anywhere."""
    checks, named = {}, {}
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            if not f.endswith(".yaml") or (dirpath == root and f == "rules.yaml"):
                continue
            with open(path, encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
            rel = os.path.relpath(path, root)
            for sc in doc.get("scenarios", []):
                where = f"{rel}:{sc['name']}"
                for rid in sc.get("checks", []):
                    checks.setdefault(rid, set()).add(where)
                    named.setdefault(rid, set()).add(where)
                for st in sc.get("steps", []):
                    if isinstance(st, dict) and st.get("rule"):
                        named.setdefault(st["rule"], set()).add(where)
    return checks, named


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()
    root = a.source_root
    with open(os.path.join(root, "scenarios", "rules.yaml"), encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)["rules"]
    by_id = {r["id"]: r for r in rules}
    checks, named = scenario_rules(os.path.join(root, "scenarios"))

    pairs = set()  # (faulty provider, rule) that an end-to-end test runs
    with open(os.path.join(root, "providers", "faulty", "meson.build"), encoding="utf-8") as fh:
        text = fh.read()
    specs = meson_list(text, "faulty_specs")
    for item in specs:
        pairs.add((item[0], item[1]))
    for item in meson_list(text, "faulty_reruns"):
        pairs.add((item[1], item[2]))
    # Races and deadlocks: shown by the concurrent scenarios (scenarios/concurrent/); an entry
    # whose expectation is an outcome ('deadlock', no '.') names no rule.
    concurrent = set()
    for item in meson_list(text, "faulty_concurrent"):
        if "." in item[1]:
            pairs.add((item[0], item[1]))
            concurrent.add(item[0])
    concurrent_scenarios = os.path.isdir(os.path.join(root, "scenarios", "concurrent"))
    lsp_file = os.path.join(root, "providers", "passthru-lsp", "meson.build")
    if os.path.exists(lsp_file):
        with open(lsp_file, encoding="utf-8") as fh:
            for item in meson_list(fh.read(), "faulty_lsp_specs"):
                pairs.add((item[0], item[1]))
    # Hostile providers whose expectation is a rule may be named in tripped_by too (not required).
    hostile = set()
    hostile_file = os.path.join(root, "providers", "hostile", "meson.build")
    if os.path.exists(hostile_file):
        with open(hostile_file, encoding="utf-8") as fh:
            for item in meson_list(fh.read(), "hostile_specs"):
                if len(item) > 2 and "." in item[2]:
                    hostile.add((item[0], item[2]))
    pairs |= hostile
    built = {p for p, _ in pairs}
    if not specs:
        print("FAIL: no faulty_specs found in providers/faulty/meson.build")
        return 1

    problems, notes = [], []
    for rid, where in sorted(named.items()):
        if rid not in by_id:
            problems.append(f"{rid}: named by {', '.join(sorted(where))} but not defined in rules.yaml")
    listed = set()
    for r in rules:
        rid, tripped = r["id"], r.get("tripped_by") or []
        if rid.startswith("HARNESS."):
            continue  # the harness's own expectation rule, not one of spec §7
        if r.get("not_checkable"):
            if tripped:
                problems.append(f"{rid}: not checkable, yet tripped_by {tripped}")
            continue
        if not checks.get(rid) and tripped and set(tripped) <= concurrent and not concurrent_scenarios:
            notes.append(f"{rid}: awaits the concurrent scenarios (scenarios/concurrent/)")
        elif not checks.get(rid):
            problems.append(f"{rid}: checkable, but no scenario lists it in 'checks'")
        if not tripped:
            problems.append(f"{rid}: checkable, but no faulty provider trips it (tripped_by)")
        for name in tripped:
            listed.add((name, rid))
            if name not in built:
                problems.append(f"{rid}: tripped_by {name}, which no meson list builds")
            elif (name, rid) not in pairs:
                problems.append(f"{rid}: tripped_by {name}, but its meson entry is for another rule")
    for name, rid in sorted(pairs - listed - hostile):
        if rid in by_id and not rid.startswith("HARNESS."):
            problems.append(f"{rid}: {name} trips it (meson) but rules.yaml does not list it in tripped_by")
        elif rid not in by_id:
            problems.append(f"{name}: its meson entry names {rid}, which rules.yaml does not define")

    # Faulty providers whose defect is a hang, not a broken rule: a status every report knows,
    # and a scenario file of the tests' data.
    data = os.path.join(root, "tests", "e2e", "data")
    for item in meson_list(text, "faulty_status_specs"):
        if len(item) < 4 or item[1] not in ("deadlock", "timeout"):
            problems.append(f"faulty_status_specs {item}: the status must be deadlock or timeout")
        elif not os.path.exists(os.path.join(data, item[3])):
            problems.append(f"{item[0]}: its scenario file tests/e2e/data/{item[3]} does not exist")
        elif item[0] in built:
            problems.append(f"{item[0]}: listed with a status and with a rule")

    n_checked = sum(1 for r in rules if not r.get("not_checkable") and not r["id"].startswith("HARNESS."))
    n_not = sum(1 for r in rules if r.get("not_checkable"))
    print(f"{len(rules)} rules: {n_checked} checked, {n_not} not checkable; "
          f"{len(built)} faulty providers in {len(pairs)} pairings")
    for n in notes:
        print("NOTE:", n)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
