"""Every report says the same true thing as the JSON report and the exit code, by real `auditready verify` and
`pytest --auditready-offline` runs over logs a real OpenBao wrote (fixtures/openbao):

- A check that failed below ``fail_on`` did not hold, and the run does not fail on it (exit 0): the compliance JUnit
  shows no ``<failure>`` (a ``<skipped type="auditready.below_fail_on">`` with every finding, status "failed"),
  pytest's own JUnit an xfail, SARIF level "warning" (not "error"), a ``::warning`` annotation, "fail (below
  fail_on)" in the step summary, summary.md and report.html, and the terminal says it on the check's line. With
  ``fail_on = any`` the same check is a ``<failure>``, SARIF "error" (whatever its severity) and ``::error``.
- Findings a baseline accepted are SARIF results with ``suppressions`` (kind external, a justification naming the
  baseline, who and why), valid under the SARIF subset schema, whose ``suppression`` is the official one.
- A mixed run (several files, one unreadable line, skipped checks, checks that judged nothing, accepted findings,
  findings below fail_on, hostile text from the log and from the baseline, a folder name with spaces, ``#``,
  ``::``, ``%0A``, HTML, bidi and invisible characters): every report agrees with the JSON report on each check's
  status, its findings and acceptances and on what each file gave the checks, and escapes for its medium.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from pytest_auditready.report.github import md_cell
from tests.test_unseen_reports import SCHEMAS, XSD, _write, in_actions

ROOT = Path(__file__).resolve().parents[1]
CLEAN = (ROOT / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines(keepends=True)
ODD = (ROOT / "fixtures" / "openbao" / "odd" / "correct.log").read_bytes().splitlines(keepends=True)
BELOW = "auditready.below_fail_on"
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
# what an entry's time holds in the hostile file: a forged workflow command, an encoded line break, HTML,
# Markdown, a link, bidi and invisible characters, and a very long tail
HOSTILE_TIME = ("2026-01-01T00:00:00Z\n::error title=forged::all passed%0A<script>x</script>&amp;|`*[l](http://e)"
                "$x$\u202egnp.exe\u200b" + "Z" * 3000)
# a folder name with what each medium must escape: spaces, #, a workflow command, %0A, HTML, a cell break, bidi
# and invisible characters
WEIRD = "logs dir #1 ::error::x%0A<i>|\u202eevil\u200b"
# a baseline's reason is text a person wrote, reported everywhere: hostile too, and long
REASON = ("known <b>gap</b> | ::warning::x %0A `c` http://evil.example/p www.evil.example [l](http://e) "
          "\u202erevo\u200b " + "L" * 1200)
RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
RAW = ("\u202e", "\u200b", "\x1b", "<script", "<b>", "<i>")  # never raw in any report (HTML/XML: as entities)


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (in_actions(tmp_path, monkeypatch) / "auditready.toml").write_text(CONFIG)
    return tmp_path


def _below_log(folder: Path) -> Path:
    """A real log with one unreadable line and a request without its source address (required_fields, medium),
    and an entry whose time is hostile text (timestamp_precision, low): findings below fail_on = high."""
    entries = [json.loads(line) for line in ODD]
    listed = next(i for i, e in enumerate(entries) if e.get("type") == "request"
                  and e["request"].get("operation") == "list")
    entries[listed]["time"] = HOSTILE_TIME
    source = next(e for e in entries[listed + 2:] if e.get("type") == "request"
                  and e["request"].get("remote_address"))
    del source["request"]["remote_address"]
    lines = [json.dumps(e).encode() + b"\n" for e in entries]
    lines.insert(5, b"{not json at all\n")
    return _write(folder / "a.log", lines)


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", "--config", "auditready.toml", "--junit", "out.xml", "--sarif", "out.sarif",
               "--evidence", "ev", "--json", "out.json", *args])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out + cap.err


def _sarif(work: Path) -> dict[str, Any]:
    import jsonschema

    doc: dict[str, Any] = json.loads((work / "out.sarif").read_text())
    jsonschema.validate(doc, json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text()))
    return doc


def _junit(path: Path) -> ET.Element:
    XSD.validate(str(path))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def _annotations(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith(("::error", "::warning"))]


def _commands(out: str) -> list[str]:
    """The lines GitHub's runner would act on as workflow commands (a line that starts with "::" after blanks)."""
    return [ln.lstrip() for ln in out.splitlines() if ln.lstrip().startswith("::")]


def _text(f: dict[str, str]) -> str:
    """A finding of the JSON report as every report writes it (Finding.text)."""
    loc = [x for x in (f["where"], f["request_id"] and f"request id {f['request_id']}") if x]
    return f"{'[' + ', '.join(loc) + '] ' if loc else ''}{f['message']} Fix: {f['fix']}"


def _md_row(md: str, check: str) -> str:
    return next(ln for ln in md.splitlines() if ln.startswith(f"| `{check}` |"))


def _html_row(page: str, check: str) -> str:
    return page.split(f'data-check="{check}"', 1)[0].rsplit("<tr", 1)[1] + \
        page.split(f'data-check="{check}"', 1)[1].split("</tr>", 1)[0]


# -- a check below fail_on: did not hold, does not fail the run, and every report says both ---------------------


def test_a_check_below_fail_on_did_not_hold_and_fails_no_report(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _below_log(work / "logs").relative_to(work)
    rc, out = _verify(capsys, "--fail-on", "high", str(log))
    assert rc == 0, out
    report = json.loads((work / "out.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    below = {"required_fields", "timestamp_precision"}
    assert report["verdict"] == "passed" and {i for i, c in checks.items() if c["status"] == "failed"} == below
    assert not any(c["fails_run"] for c in checks.values())
    assert checks["required_fields"]["findings"] == 2 and checks["timestamp_precision"]["findings"] == 1
    findings = {o["check"]: [f["message"] for f in o["findings"]] for o in report["outcomes"] if o["findings"]}

    # the compliance JUnit: no <failure> (a CI test reporter stays green, as the exit code), but the check's status
    # is "failed" and a typed <skipped> says it did not hold, with every finding
    suite = _junit(work / "out.xml")
    assert suite.get("failures") == "0" and not list(suite.iter("failure"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["auditready.verdict"] == "passed"
    for check in below:
        (case,) = [tc for tc in suite.iter("testcase") if tc.get("name") == check]
        (skipped,) = case.findall("skipped")
        assert case.get("status") is None and skipped.get("type") == BELOW  # xunit2: the status is a property
        assert (skipped.get("message") or "").startswith(f"did not hold: {len(findings[check])} finding(s) (severity ")
        assert "below fail_on=high: it does not fail the run" in (skipped.get("message") or "")
        assert all(m in (skipped.text or "") for m in findings[check])
        assert props[f"check.{check}.status"] == "failed" and props[f"check.{check}.fails_run"] == "false"
    assert props["check.completeness.status"] == "passed" and props["check.tamper_evidence.status"] == "skipped"

    # SARIF: "warning", not "error" (GitHub code scanning gates on "error"), for the rule and each result
    run = _sarif(work)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    results = [r for r in run["results"] if r["ruleId"] in below]
    assert len(results) == 3 and {r["level"] for r in results} == {"warning"}
    assert not any(r["properties"]["failsRun"] for r in results)
    assert {rules[c]["defaultConfiguration"]["level"] for c in below} == {"warning"}
    assert rules["completeness"]["defaultConfiguration"]["level"] == "error"  # high: would fail the run
    assert run["invocations"][0]["properties"]["verdict"] == "passed"

    # annotations: one ::warning per check, saying why it does not fail the run
    notes = _annotations(out)
    assert len(notes) == 2 and all(n.startswith("::warning file=logs/a.log,line=") for n in notes), notes
    assert all("below fail_on=high: it does not fail the run" in n for n in notes)

    # step summary, summary.md, report.html: the check failed, below fail_on; the verdict is a pass
    for md in ((work / "ev" / "summary.md").read_text(), (work / "step-summary.md").read_text()):
        assert "Verdict: **PASS**" in md
        assert all("fail (below fail\\_on)" in _md_row(md, c) for c in below)
        assert "2 failed check(s) below fail\\_on=high, which do not fail the run: `required_fields`, " \
               "`timestamp_precision`." in md and "that fail the run" not in md
    page = (work / "ev" / "report.html").read_text()
    assert 'class="verdict passed"' in page
    for check in below:
        row = _html_row(page, check)
        assert row.startswith(' class="failed below"') and "FAIL (below fail_on)" in row
    assert "below fail_on=high: it does not fail the run)</h3>" in page
    evidence = json.loads((work / "ev" / "evidence.json").read_text())
    assert evidence["run"]["verdict"] == "passed"
    assert {c["id"]: (c["status"], c["fails_run"], c["findings"]) for c in evidence["checks"]} == {
        c["id"]: (c["status"], c["fails_run"], c["findings"]) for c in report["checks"]}

    # the terminal: each check's line and the closing line
    assert "FAIL required_fields logs/a.log (severity medium, below fail_on=high: it does not fail the run)" in out
    assert "FAIL timestamp_precision logs/a.log (severity low, below fail_on=high: it does not fail the run)" in out
    assert ("failed: required_fields, timestamp_precision (fail_on=high: 0 fail the run; below it, not failing "
            "the run: required_fields, timestamp_precision)") in out

    # fail_on = any: the same log fails the run, and every report says so, whatever the severity
    rc, out = _verify(capsys, str(log))
    assert rc == 1
    suite = _junit(work / "out.xml")
    assert suite.get("failures") == "2" and not [s for s in suite.iter("skipped") if s.get("type") == BELOW]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["auditready.verdict"] == "failed" and props["check.required_fields.fails_run"] == "true"
    run = _sarif(work)["runs"][0]
    levels = {(r["ruleId"], r["level"], r["properties"]["failsRun"]) for r in run["results"]}
    assert levels == {("required_fields", "error", True), ("timestamp_precision", "error", True)}
    notes = _annotations(out)
    assert len(notes) == 2 and all(n.startswith("::error ") and "below fail_on" not in n for n in notes)
    md = (work / "ev" / "summary.md").read_text()
    assert "Verdict: **FAIL**" in md and "2 failed check(s) that fail the run" in md and "below fail" not in md
    assert 'class="failed below"' not in (work / "ev" / "report.html").read_text()


def test_pytest_reports_a_check_below_fail_on_as_xfailed_not_failed(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's own JUnit and terminal: an xfail (pytest's JUnit writes <skipped type="pytest.xfail">) with every
    finding, in process and under pytest-xdist; the compliance JUnit as `auditready verify` writes it."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    work = pytester.path
    log = _below_log(work / "logs")
    pytester.makepyprojecttoml(f'[tool.auditready]\n{CONFIG}fail_on = "high"\n')
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(log),
                                     f"--junitxml={work / 'pytest.xml'}", f"--auditready-report={work / 'c.xml'}")
    assert r.ret == 0, r.stdout.str()
    r.assert_outcomes(passed=6, skipped=3, xfailed=2)
    suite = ET.parse(work / "pytest.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and not list(suite.iter("failure"))
    xfailed = {tc.get("name"): s for tc in suite.iter("testcase") for s in tc.findall("skipped")
               if s.get("type") == "pytest.xfail"}
    assert set(xfailed) == {"required_fields", "timestamp_precision"}
    for s in xfailed.values():
        assert (s.get("message") or "").startswith("did not hold (severity ")
    assert "Line 6 of" in (xfailed["required_fields"].get("message") or "")
    assert "lacks where from (request.remote_address)" in (xfailed["required_fields"].get("message") or "")
    text = r.stdout.str()
    assert "failed checks below fail_on=high (they did not hold, and do not fail the run; shown as xfailed): " \
           "required_fields, timestamp_precision" in text
    assert re.search(r"^  - required_fields: \[\S*logs/a\.log:6\] Line 6 of ", text, re.M), text  # said without -rx
    assert re.search(r"^  - timestamp_precision: \[\S*logs/a\.log:49, request id ", text, re.M)
    compliance = _junit(work / "c.xml")
    assert not list(compliance.iter("failure"))
    assert {tc.get("name") for tc in compliance.iter("testcase") for s in tc.findall("skipped")
            if s.get("type") == BELOW} == {"required_fields", "timestamp_precision"}
    assert not [ln for ln in text.splitlines() if ln.lstrip().startswith("::") and not ln.startswith("::warning ")]
    # under pytest-xdist the xfail travels from the workers as it is
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--auditready-offline", str(log),
                                      f"--junitxml={work / 'xdist.xml'}")
    assert r.ret == 0, r.stdout.str()
    r.assert_outcomes(passed=6, skipped=3, xfailed=2)
    assert not list(ET.parse(work / "xdist.xml").getroot().iter("failure"))


# -- accepted findings: suppressed SARIF results -----------------------------------------------------------------

# The `suppression` object of the official OASIS SARIF 2.1.0 schema (sarif-schema-2.1.0.json, errata01), without
# its descriptions, and `result.suppressions`: the subset schema must hold them as they are.
OFFICIAL_SUPPRESSION = {
    "additionalProperties": False,
    "type": "object",
    "properties": {
        "guid": {"type": "string",
                 "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"},
        "kind": {"enum": ["inSource", "external"], "type": "string"},
        "status": {"enum": ["accepted", "underReview", "rejected"], "type": "string"},
        "justification": {"type": "string"},
        "location": {"$ref": "#/definitions/location"},
        "properties": {"$ref": "#/definitions/propertyBag"},
    },
    "required": ["kind"],
}
OFFICIAL_RESULT_SUPPRESSIONS = {"type": "array", "minItems": 0, "uniqueItems": True,
                                "items": {"$ref": "#/definitions/suppression"}}


def test_the_subset_schema_holds_the_official_suppression_and_refuses_what_it_refuses() -> None:
    import jsonschema

    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text())
    assert schema["definitions"]["suppression"] == OFFICIAL_SUPPRESSION
    assert schema["definitions"]["result"]["properties"]["suppressions"] == OFFICIAL_RESULT_SUPPRESSIONS

    def doc(suppressions: Any) -> dict[str, Any]:
        return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [
            {"message": {"text": "m"}, "suppressions": suppressions}]}]}

    jsonschema.validate(doc([{"kind": "external", "status": "accepted", "justification": "j"}]), schema)
    for bad in ([{"status": "accepted"}], [{"kind": "baseline"}], [{"kind": "external", "status": "ok"}],
                [{"kind": "external", "reason": "j"}], {"kind": "external"},
                [{"kind": "external"}, {"kind": "external"}]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc(bad), schema)


def test_accepted_findings_are_suppressed_sarif_results_naming_the_baseline(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _below_log(work / "logs").relative_to(work)
    assert main(["baseline", "--config", "auditready.toml", "--reason", REASON, "--owner", "ops\u202e",
                 "--expires", "2099-12-31", "--output", "baseline.json", str(log)]) == 0
    accepted = {a["fingerprint"] for a in json.loads((work / "baseline.json").read_text())["accepted"]}
    rc, out = _verify(capsys, "--baseline", "baseline.json", str(log))
    assert rc == 0, out
    report = json.loads((work / "out.json").read_text())
    assert report["verdict"] == "passed" and sum(c["accepted"] for c in report["checks"]) == 3 == len(accepted)
    results = _sarif(work)["runs"][0]["results"]
    assert len(results) == 3  # none dropped: each accepted finding is a result, suppressed
    for r in results:
        (s,) = r["suppressions"]
        assert s["kind"] == "external" and s["status"] == "accepted"
        assert s["justification"].startswith(f"baseline baseline.json, acceptance {r['properties']['acceptance']}: "
                                              "accepted by ops\\u202e until 2099-12-31: known <b>gap</b> | ")
        assert r["properties"]["failsRun"] is False
    assert {r["properties"]["acceptance"] for r in results} == accepted
    assert not _annotations(out)  # nothing that does not hold is left to annotate
    # every finding of the two checks was accepted: each is skipped with its acceptances, shown, never live
    suite = _junit(work / "out.xml")
    for check in ("required_fields", "timestamp_precision"):
        (case,) = [tc for tc in suite.iter("testcase") if tc.get("name") == check]
        (skipped,) = case.findall("skipped")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props[f"check.{check}.status"] == "accepted"  # did not hold; accepted (rt68: not "skipped")
        assert "finding(s) accepted by the baseline; first: " in (skipped.get("message") or "")
        assert "ops\\u202e" in (skipped.get("message") or "")
    for name in ("out.xml", "out.sarif", "out.json", "ev/summary.md", "ev/report.html", "ev/evidence.json",
                 "step-summary.md"):
        assert "\u202e" not in (work / name).read_text(), name
    assert "\u202e" not in out


# -- red team: a mixed, hostile run, and every report against the JSON report ------------------------------------


def _mixed_logs(work: Path) -> list[str]:
    """Three folders: a.log (an unreadable line, findings below fail_on, one with hostile text, which the baseline
    accepts), a copy of a whole clean log in a hostile folder name, and c.log (only the audit device's self-test
    entry: completeness, required_fields and integrity_digest judge nothing); baseline.json accepts the hostile
    finding. The paths, relative to ``work`` (the working directory)."""
    a = _below_log(work / "logs")
    weird = _write(work / WEIRD / "b.log", CLEAN)
    c = _write(work / "self test" / "c.log", ODD[:1])
    paths = [str(a.relative_to(work)), str(weird.relative_to(work)), str(c.relative_to(work))]
    assert main(["baseline", "--config", "auditready.toml", "--reason", REASON, "--owner", "ops&<co>",
                 "--expires", "2099-12-31", "--output", "all.json", *paths]) == 0
    doc = json.loads((work / "all.json").read_text())  # accept the hostile finding only
    doc["accepted"] = [x for x in doc["accepted"] if x["check"] == "timestamp_precision"]
    assert len(doc["accepted"]) == 1
    (work / "baseline.json").write_text(json.dumps(doc))
    return paths


def _mixed_run(work: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    paths = _mixed_logs(work)
    rc, out = _verify(capsys, "--fail-on", "high", "--baseline", "baseline.json", *paths)
    return rc, out, paths


def test_pytest_and_verify_write_the_same_reports_of_a_mixed_run(pytester: pytest.Pytester,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The two offline front ends: the same compliance JUnit (files in the order given, checks and findings alike)
    and the same SARIF, from the same logs, baseline and fail_on."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    work = pytester.path
    (work / "auditready.toml").write_text(CONFIG)
    paths = _mixed_logs(work)
    pytester.makepyprojecttoml(f'[tool.auditready]\n{CONFIG}fail_on = "high"\nbaseline = "baseline.json"\n')
    capsys.readouterr()
    assert main(["verify", "--jobs", "1", "--config", "pyproject.toml", "--junit", "cli.xml", "--sarif",
                 "cli.sarif", *paths]) == 1
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-report=py.xml",
                                     "--auditready-sarif=py.sarif", "--auditready-offline", *paths)
    assert r.ret == 1
    r.assert_outcomes(failed=2, xfailed=2, passed=19, skipped=10)

    def junit(name: str) -> Any:
        suite = _junit(work / name)
        cases = {tc.get("name"): (tc.attrib, [(k.tag, k.attrib, k.text) for k in tc]) for tc in suite.iter("testcase")}
        props = {p.get("name"): p.get("value") for p in suite.iter("property") if p.get("name") != "auditready.version"}
        return cases, props

    assert junit("py.xml") == junit("cli.xml")
    assert junit("py.xml")[1]["auditready.file.1"] == "logs/a.log"  # the order given, not sorted
    sarif = {name: json.loads((work / name).read_text())["runs"][0] for name in ("cli.sarif", "py.sarif")}
    assert sarif["py.sarif"]["results"] == sarif["cli.sarif"]["results"]
    assert sarif["py.sarif"]["invocations"] == sarif["cli.sarif"]["invocations"]


def test_every_report_agrees_with_the_json_report_on_a_hostile_mixed_run(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, paths = _mixed_run(work, capsys)
    report = json.loads((work / "out.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    outcomes = report["outcomes"]
    files = report["files"]
    fails_run = {i for i, c in checks.items() if c["fails_run"]}
    failed = {i for i, c in checks.items() if c["status"] == "failed"}
    # the run has every case: a failure that fails the run, one below fail_on, an accepted finding, skipped checks,
    # checks that judged nothing, an unreadable line
    assert rc == 1 and report["verdict"] == "failed", out
    assert {"completeness", "integrity_digest"} <= fails_run and "required_fields" in failed - fails_run
    assert checks["timestamp_precision"]["accepted"] == 1 and checks["timestamp_precision"]["findings"] == 0
    assert {i for i, c in checks.items() if c["status"] == "skipped"} == {"tamper_evidence", "retention",
                                                                           "access_policy"}
    messages = [f["message"] for o in outcomes for f in o["findings"]]
    assert sum("judged nothing" in m for m in messages) == 3 and any("not a readable audit entry" in m
                                                                     for m in messages)
    assert [f["unreadable_lines"] for f in files] == [1, 0, 0] and [f["file"] for f in files] == paths
    findings = {i: [f for o in outcomes if o["check"] == i for f in o["findings"]] for i in checks}
    accepted = {i: [a for o in outcomes if o["check"] == i for a in o["accepted"]] for i in checks}
    assert {i: len(v) for i, v in findings.items()} == {i: c["findings"] for i, c in checks.items()}
    assert {i: len(v) for i, v in accepted.items()} == {i: c["accepted"] for i, c in checks.items()}

    # evidence.json: the same verdicts, findings, acceptances and accounting
    ev = json.loads((work / "ev" / "evidence.json").read_text())
    assert ev["run"]["verdict"] == report["verdict"] and ev["accounting"] == files
    for c in ev["checks"]:
        assert (c["status"], c["fails_run"], c["findings"], c["accepted"]) == tuple(
            checks[c["id"]][k] for k in ("status", "fails_run", "findings", "accepted"))
        assert [f["message"] for o in c["outcomes"] for f in o["findings"]] == [f["message"] for f in findings[c["id"]]]
    assert [a["check"] for a in ev["acceptances"]["accepted_findings"]] == ["timestamp_precision"]

    # the compliance JUnit: per check its status, a <failure> exactly when it fails the run, a typed <skipped>
    # when it failed below fail_on, every finding a line, every acceptance; per file what was read and judged
    suite = _junit(work / "out.xml")
    assert suite.get("failures") == str(len(fails_run))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["auditready.verdict"] == report["verdict"]
    for case in suite.iter("testcase"):
        c = checks[case.get("name") or ""]
        kids = [(k.tag, k.get("type")) for k in case if k.tag != "system-out"]
        want = ([("failure", "AuditFinding")] if c["fails_run"] else [("skipped", BELOW)]
                if c["status"] == "failed" else [("skipped", "skipped")] if c["status"] == "skipped" else [])
        assert props[f"check.{case.get('name')}.status"] == c["status"] and kids == want, (c, kids)
        if c["status"] == "failed":
            body = case.find("failure" if c["fails_run"] else "skipped")
            assert body is not None and len((body.text or "").splitlines()) == c["findings"]
            assert (body.get("message") or "").split(" finding(s)")[0].endswith(str(c["findings"]))
        assert "".join(case.itertext()).count("accepted by the baseline: ") == c["accepted"]
        assert props[f"check.{c['id']}.status"] == c["status"]
        assert props[f"check.{c['id']}.fails_run"] == str(c["fails_run"]).lower()
    for n, f in enumerate(files, 1):
        key = f"auditready.file.{n}"
        assert (props[f"{key}.lines"], props[f"{key}.entries"], props[f"{key}.unreadable_lines"]) == (
            str(f["lines"]), str(f["entries"]), str(f["unreadable_lines"]))
        for cid, t in f["checks"].items():
            if t.get("judged") is not None:
                assert props[f"{key}.{cid}.judged"] == str(t["judged"])

    # SARIF: per check one result per finding (level "error" exactly when it fails the run) and one suppressed
    # result per acceptance; the invocation's verdict and accounting
    run = _sarif(work)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert run["invocations"][0]["properties"]["verdict"] == report["verdict"]
    assert run["invocations"][0]["properties"]["accounting"] == files
    for cid, c in checks.items():
        mine = [r for r in run["results"] if r["ruleId"] == cid]
        open_ = [r for r in mine if "suppressions" not in r]
        assert len(open_) == c["findings"] and len(mine) - len(open_) == c["accepted"], cid
        level = "error" if RANK[c["severity"]] >= RANK["high"] else "warning"  # as fail_on = high gates
        assert all(r["level"] == level for r in mine) and rules[cid]["defaultConfiguration"]["level"] == level
        assert all(r["properties"]["failsRun"] is c["fails_run"] for r in open_)
        # (written as a SARIF plain text message: brackets and braces escaped, 3.11.5-6)
        shown = [r["message"]["text"].replace("\\[", "[").replace("\\]", "]").replace("{{", "{").replace("}}", "}")
                 for r in open_]
        assert sorted(shown) == sorted(map(_text, findings[cid]))
    (suppressed,) = [r for r in run["results"] if "suppressions" in r]
    assert "baseline baseline.json, acceptance " in suppressed["suppressions"][0]["justification"]
    assert "known <b>gap</b>" in suppressed["suppressions"][0]["justification"]  # data in JSON, escaped by JSON

    # annotations: one per failed check, ::error exactly when it fails the run; nothing else is a command
    notes = _annotations(out)
    by_check = {re.search(r",title=auditready (\w+) failed", n)[1]: n for n in notes}  # type: ignore[index]
    assert len(by_check) == len(notes) and set(by_check) == failed
    assert {c for c, n in by_check.items() if n.startswith("::error ")} == fails_run
    assert _commands(out) == notes  # a forged command in a path, a log value or the reason is never one
    for note in notes:
        assert "\n" not in note and "::error title=forged" not in note

    # the terminal: each check's verdict per file, its findings and acceptances, what each file gave the checks
    said: dict[str, list[str]] = {}
    counts = {i: [0, 0] for i in checks}
    current = ""
    for line in out.splitlines():
        m = re.match(r"(PASS|FAIL|SKIP|ACCEPTED) (\w+) ", line)
        if m:
            current = m[2]
            said.setdefault(current, []).append(m[1])
        elif current and line.startswith("  - "):
            counts.setdefault(current, [0, 0])[0] += 1
        elif current and line.startswith("  ~ accepted ["):
            counts.setdefault(current, [0, 0])[1] += 1
        elif not line.startswith("    "):
            current = ""
    word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "accepted": "ACCEPTED"}
    for cid, c in checks.items():
        worst = ("FAIL" if "FAIL" in said[cid] else "SKIP" if set(said[cid]) == {"SKIP"} else "ACCEPTED"
                 if set(said[cid]) <= {"SKIP", "ACCEPTED"} else "PASS")
        assert worst == word[c["status"]] and counts[cid] == [c["findings"], c["accepted"]], (cid, said[cid])
    for f in files:
        shown = f["file"].encode("unicode_escape").decode().replace("\\\\", "\\")  # as `visible` shows it
        assert f"{shown} (vault): {f['lines']} lines read, {f['entries']} entries, {f['unreadable_lines']} " \
               "unreadable" in out
    held = sum(c["status"] == "passed" for c in checks.values())
    assert f"; {held}/{len(checks)} checks hold, 3 skipped (access_policy, retention, tamper_evidence); " \
           f"failed: {', '.join(sorted(failed))}; 1 finding(s) accepted by baseline.json (fail_on=high: " \
           f"{len(fails_run)} fail the run; below it, not failing the run: " \
           f"{', '.join(sorted(failed - fails_run))})" in out

    judged = [", ".join(f"{cid} {x['judged']}" for cid, x in f["checks"].items() if x.get("judged") is not None)
              for f in files]  # per file, as every report lists the entries each check judged
    excused = [[f"{cid} {e['entries']}" for cid, x in f["checks"].items() for e in x.get("excused", ())]
               for f in files]
    assert all(judged) and all(excused)
    for line in judged:
        assert f"  entries judged: {line}\n" in out
    # (a table's judged cell says beside a skipped check's count the entries it did not judge: no rule excused them)
    judged_cells = [", ".join(f"{cid} {x['judged']}" + (f" ({x['not_judged']['entries']} not judged: the check was "
                                                        f"skipped ({x['not_judged']['reason']}))"
                                                        if x.get("not_judged") else "")
                              for cid, x in f["checks"].items() if x.get("judged") is not None) for f in files]
    assert any("not judged" in c for c in judged_cells)
    # the step summary and summary.md: each check's word, acceptances and finding count; what each file gave
    for md in ((work / "ev" / "summary.md").read_text(), (work / "step-summary.md").read_text()):
        assert f"Verdict: **{'FAIL' if report['verdict'] == 'failed' else 'PASS'}**" in md
        assert f": {held}/{len(checks)} checks passed against offline" in md
        for cid, c in checks.items():
            row = _md_row(md, cid)
            cells = re.split(r"(?<!\\)\|", row)[1:-1]
            assert len(cells) == 5, row  # nothing from a log opened a cell
            result = cells[1].strip()
            assert result.startswith({"passed": "\u2705 pass", "skipped": "\u2796 skipped"}.get(
                c["status"], "\u274c fail" if c["fails_run"] else "\u26a0\ufe0f fail (below fail\\_on)")), row
            assert ("accepted)" in result) is bool(c["accepted"])
            assert (f"(+{c['findings'] - 1} more)" in cells[4]) is (c["findings"] > 1)
        rows = [ln for ln in md.splitlines() if ln.startswith("| ") and " lines read, " in ln]
        assert [re.search(r"vault: (\d+) lines read, (\d+) entries, (\d+) unreadable", r).groups()  # type: ignore[union-attr]
                for r in rows] == [(str(f["lines"]), str(f["entries"]), str(f["unreadable_lines"])) for f in files]
        assert all(len(re.split(r"(?<!\\)\|", r)) == 6 for r in rows)
        for row, line, numbers in zip(rows, judged_cells, excused):
            cells = re.split(r"(?<!\\)\|", row)
            assert cells[3].strip() == md_cell(line) and all(md_cell(n) + ":" in cells[4] for n in numbers), row
        # escaped for Markdown: no tag, no link (GitHub links a bare URL by itself), no invisible character
        assert not re.search(r"<(?!br>)[a-zA-Z/]", md) and "http://" not in md and "www.evil" not in md
        assert "http\\://evil.example" in md and "&lt;b&gt;gap&lt;/b&gt;" in md and "L" * 300 not in md
    # report.html: each check's row and its findings, acceptances and what each file gave
    page = (work / "ev" / "report.html").read_text()
    for cid, c in checks.items():
        row = _html_row(page, cid)
        cls = c["status"] + (" below" if c["status"] == "failed" and not c["fails_run"] else "")
        assert row.startswith(f' class="{cls}"'), row[:80]
        assert ">" + {"passed": "PASS", "skipped": "SKIPPED"}.get(
            c["status"], "FAIL" if c["fails_run"] else "FAIL (below fail_on)") in row
        if c["status"] == "failed":
            assert f"<code>{cid}</code> ({c['severity']}): {c['findings']} finding(s)" in page
        if c["accepted"]:
            assert f"<code>{cid}</code>: {c['accepted']} finding(s) accepted by the baseline" in page
    table = page.split('<table id="accounting">', 1)[1].split("</table>", 1)[0]
    assert [html.unescape(m) for m in re.findall(r"<td>(vault: [^<]*)</td>", table)] == [
        f"vault: {f['lines']} lines read, {f['entries']} entries, {f['unreadable_lines']} unreadable" for f in files]
    assert [html.unescape(m) for m in re.findall(r"</td><td>([^<]*)</td><td>[^<]*</td></tr>", table)] == judged_cells
    assert f"{held}/{len(checks)} checks passed." in page
    assert "&lt;b&gt;gap&lt;/b&gt;" in page and "&lt;i&gt;" in page

    # nothing invisible, reordering or live in any report; the XML and JSON reports parse
    texts = {"terminal": out, "junit": (work / "out.xml").read_text(), "sarif": (work / "out.sarif").read_text(),
             "json": (work / "out.json").read_text(), "summary.md": (work / "ev" / "summary.md").read_text(),
             "step summary": (work / "step-summary.md").read_text(), "report.html": page,
             "evidence.json": (work / "ev" / "evidence.json").read_text()}
    for name, text in texts.items():
        for raw in RAW:
            if name in ("terminal", "sarif", "json", "evidence.json") and raw in ("<script", "<b>", "<i>"):
                continue  # plain text and JSON carry the text itself (JSON escapes what JSON must)
            assert raw not in text, (name, raw)
        assert "Z" * 200 not in text, name  # the 3000-character value is quoted short, never whole


# -- a URL target's credentials, and findings that name no file ---------------------------------------------------


def test_a_url_target_s_credentials_reach_no_report_and_a_finding_without_a_file_is_in_sarif(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compliance JUnit named a URL target as given (user:password@ and all) in its suite name and its
    properties; and SARIF, which cannot place a finding that names no file (code scanning refuses a whole upload
    with a location-less result), dropped it: it is listed with the invocation instead."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.checks.base import FAILED, PASSED, Finding, Outcome
    from pytest_auditready.config import Settings
    from pytest_auditready.report import json_text, write_all
    from pytest_auditready.result import AuditResult

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    password = "pa55w0rd-Q7xZ"
    target = f"https://auditor:{password}@vault.example:8200"
    settings = Settings(target=target, report="c.xml", sarif="r.sarif", evidence="ev", fail_on="high")
    checks = [c for c in BUILTIN if c.id in ("log_protection", "required_fields")]
    unplaced = Finding("log_protection", "", "The unprivileged identity can list the audit devices.", "deny it")
    below = Finding("required_fields", "", "An entry lacks its source address.", "keep it")
    result = AuditResult(settings=settings, target=target, run_id="run-1", checks=checks,
                         outcomes=[Outcome("log_protection", "", FAILED, (unplaced,)),
                                   Outcome("required_fields", "", FAILED, (below,)),
                                   Outcome("required_fields", "read-allowed", PASSED)])
    write_all(result, "r.json")
    texts = {p.name: p.read_text() for p in (tmp_path / "c.xml", tmp_path / "r.sarif", tmp_path / "r.json",
                                            tmp_path / "ev" / "evidence.json", tmp_path / "ev" / "summary.md",
                                            tmp_path / "ev" / "report.html")}
    assert texts["r.json"] == json_text(result)
    for name, text in texts.items():
        assert password not in text and "auditor:" not in text, name
    suite = _junit(tmp_path / "c.xml")
    assert suite.get("name") == "auditready https://vault.example:8200"
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["auditready.target"] == \
        "https://vault.example:8200"
    import jsonschema

    doc = json.loads(texts["r.sarif"])
    jsonschema.validate(doc, json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text()))
    run = doc["runs"][0]
    assert run["results"] == []  # no location to give them
    unlocated = run["invocations"][0]["properties"]["findingsWithoutLocation"]
    assert [(u["ruleId"], u["message"], u["failsRun"], u["accepted"]) for u in unlocated] == [
        ("required_fields", below.text(), False, False), ("log_protection", unplaced.text(), True, False)]


def test_a_check_none_of_whose_items_ran_is_never_reported_as_passed(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`-k completeness` runs one check: the others judged nothing, and every report says they were not run
    (skipped, with why), never that they passed; and the run, which left them out, fails (red team rt74 F1)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    work = pytester.path
    log = _write(work / "logs" / "audit.log", CLEAN)
    pytester.makepyprojecttoml(f"[tool.auditready]\n{CONFIG}")
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(log), "-k", "completeness",
                                     "--auditready-report=c.xml", "--auditready-evidence=ev")
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r.assert_outcomes(passed=1, deselected=10, failed=1)  # the failure: auditready-offline::not_run
    evidence = json.loads((work / "ev" / "evidence.json").read_text())
    assert [c["id"] for c in evidence["checks"] if c["status"] == "passed"] == ["completeness"]
    suite = _junit(work / "c.xml")
    assert suite.get("skipped") == "10" and all(
        (s.get("message") or "").startswith("not run: deselected") for s in suite.iter("skipped"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    status = {tc.get("name"): props[f"check.{tc.get('name')}.status"] for tc in suite.iter("testcase")
              if tc.get("name") != "not_run"}  # the run's own failure: checks left out
    assert status.pop("completeness") == "passed" and set(status.values()) == {"skipped"}
    assert suite.find("testcase[@name='not_run']/failure") is not None
    md = (work / "ev" / "summary.md").read_text()
    assert ": 1/11 checks passed against offline" in md and "not run: deselected" in _md_row(md, "retention")
    # the verdict says what it leaves out (red team rt14 F5: "Verdict: PASS" alone read as the whole audit's), and
    # a run that leaves checks out fails (red team rt74 F1)
    assert "Verdict: **FAIL** (10 checks not run: " in md and "(deselected); a run that leaves out audit items" in md
    page = (work / "ev" / "report.html").read_text()
    assert "1/11 checks passed (10 checks not run: " in page
    assert _html_row(page, "no_secret_leak").startswith(' class="skipped"')
    assert "1/11 checks hold on every file, 10 not run (" in r.stdout.str()  # deselected: not run, not skipped
