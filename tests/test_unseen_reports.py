"""Red-team pass over the reports an auditor and a CI system read, on this round's outcomes, by real
`auditready verify` runs over logs a real OpenBao wrote (fixtures/openbao/clean.log): every report must agree
with the exit code and with the terminal.

- A stale baseline fails the run (exit 1): the JSON report, evidence.json, summary.md, report.html, the compliance
  JUnit (a failed ``baseline`` testcase), SARIF (a ``baseline`` rule and result) and a GitHub annotation say so.
- A finding with no line (a whole file's: no digest chain) or no file at all (a whole set's: retention) is still a
  SARIF result (a whole-file one, line 1) and an annotation (no line), on its file; a set-level finding that
  names a line of another file of the set sits on that file and line.
- Every report says what was read, judged and excused, with the same numbers as the terminal and the JSON
  report: summary.md and the step summary (not "0 entries read" for an offline run), report.html, SARIF.
- What a passing check rests on (its note) is in the compliance JUnit, summary.md and report.html.
- The compliance report of an offline run is classed offline, not as a URL target's.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from pytest_auditready.cli import main
from pytest_auditready.report.github import md_cell
from tests.test_retention import days_between, entries_on

try:  # the loopback S3 server's fixtures (moto[server] and s3fs are in the test extra)
    from tests.test_object_store import s3  # noqa: F401
except pytest.skip.Exception:
    pass

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "fixtures" / "openbao" / "clean.log"
STREAM = CLEAN.read_bytes().splitlines(keepends=True)[1:]  # request, response, ... (pairs adjacent), no self-test
SCHEMAS = Path(__file__).parent / "schemas"
XSD = xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))
NO_RETENTION = "require_tamper_evidence = false\nretention_days = 0\n"
# a folder name with what Markdown, workflow commands, HTML and URIs must each escape
WEIRD = "we|ird [x]%,:`b`*<i>"


def in_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the working folder of a GitHub Actions step (its step summary inside it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    return tmp_path


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return in_actions(tmp_path, monkeypatch)


def _write(path: Path, lines: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    path.chmod(0o600)
    return path


def _config(folder: Path, body: str = NO_RETENTION) -> str:
    cfg = folder / "auditready.toml"
    cfg.write_text(body)
    return str(cfg)


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", "--junit", "out.xml", "--sarif", "out.sarif", "--evidence", "ev",
               "--json", "out.json", *args])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out + cap.err


def _sarif(work: Path) -> dict[str, Any]:
    import jsonschema

    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text())
    doc: dict[str, Any] = json.loads((work / "out.sarif").read_text())
    jsonschema.validate(doc, schema)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:  # every result's rule exists where it points
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/") and " " not in uri and "|" not in uri
    return doc


def _junit(work: Path) -> ET.Element:
    XSD.validate(str(work / "out.xml"))
    return ET.parse(work / "out.xml").getroot()


def _annotations(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith(("::error", "::warning"))]


def _lost_window(work: Path) -> Path:
    """A rotated pair whose boundary lost STREAM[7:11]: audit.log.1 ends with a request whose response is lost,
    audit.log opens with a response whose request is lost: two completeness findings of the set."""
    logs = Path(WEIRD)  # relative to the working directory (work): as reports show it
    _write(logs / "audit.log.1", STREAM[:7])
    _write(logs / "audit.log", STREAM[11:])
    return logs


# -- a stale baseline fails the run: every report says so ------------------------------------------------------


def test_a_stale_baseline_fails_every_report_as_it_fails_the_exit_code(work: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    logs = _lost_window(work)
    cfg = _config(work)
    assert main(["baseline", "--config", cfg, "--reason", "known gap", "--owner", "ops", "--expires", "2099-12-31",
                 "--output", "baseline.json", str(logs)]) == 0
    clean = _write(Path("clean") / "audit.log", STREAM)
    rc, out = _verify(capsys, "--config", cfg, "--baseline", "baseline.json", str(clean))
    assert rc == 1 and "FAIL baseline" in out, out
    assert json.loads((work / "out.json").read_text())["verdict"] == "failed"
    report = json.loads((work / "out.json").read_text())
    assert [s["check"] for s in report["baseline"]["stale"]] == ["completeness", "completeness"]
    ev = json.loads((work / "ev" / "evidence.json").read_text())
    assert ev["run"]["verdict"] == "failed" and len(ev["acceptances"]["stale_findings"]) == 2
    assert "Verdict: **FAIL**" in (work / "ev" / "summary.md").read_text()
    assert "Verdict: **FAIL**" in (work / "step-summary.md").read_text()
    page = (work / "ev" / "report.html").read_text()
    assert 'class="verdict failed"' in page and 'id="stale-baseline"' in page
    suite = _junit(work).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["auditready.verdict"] == "failed"
    failed = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert failed == ["baseline"]
    doc = _sarif(work)
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["baseline", "baseline"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "baseline.json"
    assert doc["runs"][0]["invocations"][0]["properties"]["verdict"] == "failed"
    (stale,) = [a for a in _annotations(out) if "baseline" in a]  # one, as for a failed check
    assert stale.startswith("::error file=baseline.json,title=") and "(+1 more stale acceptance(s))" in stale, out


def test_a_used_baseline_passes_every_report(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _lost_window(work)
    cfg = _config(work)
    assert main(["baseline", "--config", cfg, "--reason", "known gap", "--owner", "ops", "--expires", "2099-12-31",
                 "--output", "baseline.json", str(logs)]) == 0
    rc, out = _verify(capsys, "--config", cfg, "--baseline", "baseline.json", str(logs))
    assert rc == 0, out
    assert json.loads((work / "out.json").read_text())["verdict"] == "passed"
    assert json.loads((work / "out.json").read_text())["baseline"]["stale"] == []
    assert json.loads((work / "ev" / "evidence.json").read_text())["run"]["verdict"] == "passed"
    suite = _junit(work).find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert "baseline" not in [tc.get("name") for tc in suite.iter("testcase")]
    assert not _annotations(out)
    sarif = json.loads((work / "out.sarif").read_text())["runs"][0]
    accepted = [r for r in sarif["results"] if r.get("suppressions")]
    assert len(accepted) == 2 and all(r["ruleId"] == "completeness" for r in accepted)


# -- findings with no line, or no file, and set-level findings: where SARIF and annotations put them ----------------


def test_whole_file_and_whole_set_findings_are_sarif_results_and_annotations_on_their_file(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path(WEIRD) / "audit.log", STREAM)  # no digest chain (a whole file's), one day (a whole set's)
    rc, out = _verify(capsys, "--config", _config(work, ""), str(log))
    assert rc == 1, out
    report = json.loads((work / "out.json").read_text())
    status = {c["id"]: c["status"] for c in report["checks"]}
    assert status["tamper_evidence"] == status["retention"] == "failed", status
    retention = [f for o in report["outcomes"] if o["check"] == "retention" for f in o["findings"]]
    assert retention and retention[0]["where"] == ""  # a whole set's finding names no file
    doc = _sarif(work)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in doc["runs"][0]["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
    uri = "we%7Cird%20%5Bx%5D%25%2C%3A%60b%60%2A%3Ci%3E/audit.log"
    for check in ("tamper_evidence", "retention"):
        assert check in by_rule, sorted(by_rule)
        loc = by_rule[check][0]["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == uri and loc["region"] == {"startLine": 1}
        assert by_rule[check][0]["properties"]["wholeFile"] is True
    notes = {a.split(",title=auditready ")[1].split(" ")[0]: a for a in _annotations(out)}
    prop = "file=we|ird [x]%25%2C%3A`b`*<i>/audit.log,title="
    assert prop in notes["tamper_evidence"] and prop in notes["retention"], notes
    assert "line=" not in notes["tamper_evidence"] + notes["retention"]


def test_set_level_findings_sit_on_the_file_and_line_they_name(work: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    logs = _lost_window(work)
    rc, out = _verify(capsys, "--config", _config(work), str(logs))
    assert rc == 1, out
    # both findings are the set's, reported with audit.log.1; the second names a line of audit.log
    terminal = re.findall(r"^  - \[(.+):(\d+), request id", out, re.M)
    assert terminal == [(f"{WEIRD}/audit.log.1", "7"), (f"{WEIRD}/audit.log", "1")], out
    results = _sarif(work)["runs"][0]["results"]
    where = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1],
              r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results]
    assert where == [("audit.log.1", 7), ("audit.log", 1)]
    (note,) = _annotations(out)
    assert note.startswith("::error file=we|ird [x]%25%2C%3A`b`*<i>/audit.log.1,line=7,title="), note
    assert "\n" not in note and "%0A" not in note.split("::", 2)[1]


# -- what was read, judged and excused: the same numbers in every report --------------------------------------


def _terminal_accounting(out: str) -> dict[str, tuple[int, int]]:
    return {m[1]: (int(m[2]), int(m[3])) for m in
            re.finditer(r"^(.+) \(vault\): (\d+) lines read, (\d+) entries, 0 unreadable$", out, re.M)}


def test_every_report_says_what_each_file_gave_the_checks(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _lost_window(work)
    rc, out = _verify(capsys, "--config", _config(work), str(logs))
    assert rc == 1
    terminal = _terminal_accounting(out)
    assert terminal == {f"{WEIRD}/audit.log": (len(STREAM) - 11, len(STREAM) - 11), f"{WEIRD}/audit.log.1": (7, 7)}
    files = json.loads((work / "out.json").read_text())["files"]
    assert {f["file"]: (f["lines"], f["entries"]) for f in files} == terminal
    assert json.loads((work / "ev" / "evidence.json").read_text())["accounting"] == files
    sarif = _sarif(work)["runs"][0]["invocations"][0]["properties"]
    assert sarif["accounting"] == files
    total_lines = sum(n for n, _ in terminal.values())
    for md in ((work / "ev" / "summary.md").read_text(), (work / "step-summary.md").read_text()):
        assert "0 audit-log entries read" not in md
        assert f"2 file(s), {total_lines} lines read, {total_lines} audit-log entries" in md, md
        row = next(ln for ln in md.splitlines() if ln.startswith("| we\\|ird \\[x\\]%,:\\`b\\`\\*&lt;i&gt;/audit.log.1 |"))
        assert "vault: 7 lines read, 7 entries, 0 unreadable" in row and "completeness 5" in row
        # its request in flight at its end is a finding of the set: judged, not excused
        assert "a request still in flight when the log ends" not in row and "an entry with no request id" in row
        assert row.count(" | ") == 3  # four cells: nothing from the path opened a fifth
    page = (work / "ev" / "report.html").read_text()
    table = page.split('<table id="accounting">', 1)[1].split("</table>", 1)[0]
    assert html.escape(f"{WEIRD}/audit.log.1") in table and "<i>" not in table
    assert "vault: 7 lines read, 7 entries, 0 unreadable" in table
    evidence = json.loads((work / "ev" / "evidence.json").read_text())
    assert evidence["log"]["entries_read"] == total_lines


def test_the_compliance_report_of_an_offline_run_is_classed_offline(work: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path("logs") / "audit.log", STREAM)
    rc, out = _verify(capsys, "--config", _config(work), str(log))
    assert rc == 0, out
    classes = {tc.get("classname") for tc in _junit(work).iter("testcase")}
    assert classes == {"auditready.offline"}


# -- what a pass rests on ----------------------------------------------------------------------------------------


def test_the_note_a_passing_check_rests_on_is_in_every_report(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    log = _write(Path("logs") / "audit.log", [e + b"\n" for e in entries_on(days_between(today - datetime.timedelta(days=9), today))])
    cfg = _config(work, "require_tamper_evidence = false\nretention_days = 7\nretention_online_days = 7\n")
    rc, out = _verify(capsys, "--config", cfg, str(log))
    report = json.loads((work / "out.json").read_text())
    (ret,) = [o for o in report["outcomes"] if o["check"] == "retention"]
    assert ret["status"] == "passed" and "spans" in ret["reason"], (rc, out)
    note = ret["reason"]
    assert f"PASS retention {log} ({note})" in out
    junit = _junit(work)
    (case,) = [tc for tc in junit.iter("testcase") if tc.get("name") == "retention"]
    assert note in "".join(case.itertext())
    summary = (work / "ev" / "summary.md").read_text()
    row = next(ln for ln in summary.splitlines() if ln.startswith("| `retention` |"))
    assert "pass" in row  # cut: the narrowing note (red team rt75 F3) comes first
    page = (work / "ev" / "report.html").read_text()
    cell = page.split('data-check="retention"', 1)[1].split("</tr>", 1)[0]
    assert "Narrowed by settings:" in cell and "spans" in cell, cell


def test_a_path_with_control_characters_is_shown_escaped_in_every_report(work: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path("logs") / "a\x1b[31mred\nx.log", STREAM)
    rc, out = _verify(capsys, "--config", _config(work), str(log.parent))
    assert rc == 0, out
    shown = "logs/a\\x1b[31mred\\x0ax.log"
    assert f"{shown} (vault): {len(STREAM)} lines read" in out
    files = {p.get("name"): p.get("value") for p in _junit(work).iter("property")}
    assert files["auditready.file.1"] == shown  # shown as the terminal shows it, not stripped
    md = (work / "ev" / "summary.md").read_text()
    assert "| logs/a\\\\x1b\\[31mred\\\\x0ax.log |" in md
    page = (work / "ev" / "report.html").read_text()
    assert "logs/a\\x1b[31mred\\x0ax.log" in page.split('<table id="accounting">', 1)[1]
    for text in (out, md, page, (work / "out.xml").read_text(), (work / "out.sarif").read_text(),
                 (work / "step-summary.md").read_text()):
        assert "\x1b" not in text


# -- a live run: the notes its passing checks rest on, its accounting ------------------------------------------------


@pytest.mark.vault
def test_a_live_embedded_run_reports_fail_closed_s_note_and_what_it_read(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.auditrun import assert_no_secret_in_outputs, run_audit

    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    bundle = pytester.path / "evidence"
    run = run_audit(pytester, None, None, f"--auditready-evidence={bundle}")
    assert run.status("fail_closed") == "passed", run.result.stdout.str()
    ev = json.loads((bundle / "evidence.json").read_text())
    (note,) = [o["reason"] for c in ev["checks"] if c["id"] == "fail_closed" for o in c["outcomes"]]
    assert "logged again" in note
    junit = ET.fromstring(run.outputs["compliance report"])
    (case,) = [tc for tc in junit.iter("testcase") if tc.get("name") == "fail_closed"]
    assert case.get("classname") == "auditready.embedded" and note in "".join(case.itertext())
    md = summary.read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| `fail_closed` |"))
    assert md_cell(note)[:120] in row  # the note's start (a cell holds at most 300 characters)
    page = (bundle / "report.html").read_text()
    assert "logged again" in page.split('data-check="fail_closed"', 1)[1].split("</tr>", 1)[0]
    entries = ev["log"]["entries_read"]
    assert entries > 0 and f"{len(ev['ledger']['actions'])} simulated accesses, {entries} audit-log entries" in md
    assert f"{entries} entries" in page.split('<table id="accounting">', 1)[1]
    run.outputs.update({"summary": md, "html": page, "evidence": (bundle / "evidence.json").read_text()})
    assert_no_secret_in_outputs(run)


# -- fail_on: what fails the run is said alike everywhere --------------------------------------------------------


def test_fail_on_is_said_alike_by_the_exit_code_and_every_report(work: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path("logs") / "audit.log", STREAM)  # high: tamper_evidence and retention fail
    rc, out = _verify(capsys, "--config", _config(work, ""), "--fail-on", "critical", str(log))
    assert rc == 0, out
    report = json.loads((work / "out.json").read_text())
    assert report["verdict"] == "passed" and {c["id"] for c in report["checks"] if c["status"] == "failed"} == {
        "tamper_evidence", "retention"}
    assert not any(c["fails_run"] for c in report["checks"])
    props = {p.get("name"): p.get("value") for p in _junit(work).iter("property")}
    assert props["auditready.fail_on"] == "critical" and props["auditready.verdict"] == "passed"
    assert not list(_junit(work).iter("failure"))  # the run passes: no <failure> for a CI reporter to show red
    messages = [s.get("message") or "" for s in _junit(work).iter("skipped") if s.get("type") == "auditready.below_fail_on"]
    assert len(messages) == 2 and all("below fail_on=critical: it does not fail the run" in m for m in messages)
    notes = _annotations(out)
    assert len(notes) == 2 and all(n.startswith("::warning ") for n in notes), notes
    assert "Verdict: **PASS**" in (work / "ev" / "summary.md").read_text()
    assert _sarif(work)["runs"][0]["invocations"][0]["properties"]["verdict"] == "passed"
    # with fail_on=any the same log fails, and every report says so
    rc, out = _verify(capsys, "--config", _config(work, ""), str(log))
    assert rc == 1
    assert json.loads((work / "out.json").read_text())["verdict"] == "failed"
    props = {p.get("name"): p.get("value") for p in _junit(work).iter("property")}
    assert props["auditready.verdict"] == "failed"
    assert all(n.startswith("::error ") for n in _annotations(out))


# -- an object-store log set: SARIF locations code scanning accepts ------------------------------------------------


def test_findings_in_an_object_store_set_have_sarif_locations_code_scanning_accepts(
        work: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
    pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
    pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")
    s3 = request.getfixturevalue("s3")
    s3.put_object(Bucket=s3.bucket, Key="logs/audit.log.1", Body=b"".join(STREAM[:7]))
    s3.put_object(Bucket=s3.bucket, Key="logs/audit.log", Body=b"".join(STREAM[11:]))
    rc, out = _verify(capsys, "--config", _config(work), f"s3://{s3.bucket}/logs/")
    assert rc == 1, out
    results = _sarif(work)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["completeness", "completeness"], out
    locs = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"], r["properties"]["url"]) for r in results]
    assert locs == [(f"s3/{s3.bucket}/logs/audit.log.1", 7, f"s3://{s3.bucket}/logs/audit.log.1"),
                    (f"s3/{s3.bucket}/logs/audit.log", 1, f"s3://{s3.bucket}/logs/audit.log")]
    (note,) = _annotations(out)
    assert note.startswith(f"::error file=s3%3A//{s3.bucket}/logs/audit.log.1,line=7,title="), note


# -- a report on standard output ------------------------------------------------------------------------------------


def test_json_on_standard_output_is_the_json_alone(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path("logs") / "audit.log", STREAM)
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", "--config", _config(work), "--json", "-", str(log)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    doc = json.loads(cap.out)  # nothing else on standard output: `| jq` works
    assert doc["verdict"] == "passed" and doc["files"][0]["lines"] == len(STREAM)
    assert f"PASS completeness {log}" in cap.err and "JSON: standard output" in cap.err
    assert not (work / "-").exists()
    rc = main(["verify", "--jobs", "1", "--config", _config(work), "--sarif", "-", str(log)])
    cap = capsys.readouterr()
    assert rc == 0 and json.loads(cap.out)["version"] == "2.1.0"


def test_two_reports_asking_for_standard_output_are_refused_in_one_line(work: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path("logs") / "audit.log", STREAM)
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", "--config", _config(work), "--json", "-", "--junit", "-", str(log)])
    cap = capsys.readouterr()
    assert rc == 2 and cap.out == ""
    (line,) = cap.err.strip().splitlines()
    assert "--json and --junit each ask for standard output ('-')" in line and "Traceback" not in line


def test_a_check_passing_on_one_file_with_findings_accepted_on_another_says_so(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """completeness passes on audit.log and has both findings of the set accepted on audit.log.1: the check's
    verdict is a pass, and every report names the accepted findings with their acceptance."""
    logs = _lost_window(work)
    cfg = _config(work)
    assert main(["baseline", "--config", cfg, "--reason", "lost in the 2026 migration", "--owner", "ops",
                 "--expires", "2099-12-31", "--output", "baseline.json", str(logs)]) == 0
    rc, out = _verify(capsys, "--config", cfg, "--baseline", "baseline.json", str(logs))
    assert rc == 0 and out.count("  ~ accepted [") == 2, out
    for md in ((work / "ev" / "summary.md").read_text(), (work / "step-summary.md").read_text()):
        row = next(ln for ln in md.splitlines() if ln.startswith("| `completeness` |"))
        assert "(2 accepted)" in row and "accepted (accepted by ops until 2099-12-31: " in row and "lost in the 2026 migration" in row, row
    page = (work / "ev" / "report.html").read_text()
    assert "(2 accepted)" in page.split('data-check="completeness"', 1)[1].split("</tr>", 1)[0]
    assert page.count("lost in the 2026 migration") >= 3  # the table's cell and both items of the list
    (case,) = [tc for tc in _junit(work).iter("testcase") if tc.get("name") == "completeness"]
    assert "".join(case.itertext()).count("accepted by the baseline: ") == 2


# -- workflow commands: only this run's annotations are commands -------------------------------------------------


def _commands(out: str) -> list[str]:
    """The lines GitHub's runner would act on as workflow commands (a line that starts with "::" after blanks),
    honouring ::stop-commands::TOKEN ... ::TOKEN:: as the runner does."""
    acted, stopped = [], ""
    for line in out.splitlines():
        text = line.lstrip()
        if stopped:
            if text == f"::{stopped}::":
                stopped = ""
            continue
        if text.startswith("::stop-commands::"):
            stopped = text[len("::stop-commands::"):]
            continue
        if text.startswith("::"):
            acted.append(text)
    return acted


HOSTILE = "::error title=forged::all checks passed"  # a folder name that is a workflow command


def test_a_path_that_is_a_workflow_command_is_never_one(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(Path(HOSTILE) / "audit.log", STREAM)
    rc, out = _verify(capsys, "--config", _config(work, ""), str(log.parent))
    assert rc == 1
    acted = _commands(out)
    assert acted and all(a.startswith(("::error file=", "::warning file=")) for a in acted), acted
    for a in acted:  # the forged title stays inside the file property, escaped
        props = dict(p.split("=", 1) for p in a.split("::", 2)[1].split(" ", 1)[1].split(","))
        assert props["title"].startswith("auditready ") and props["file"].startswith("%3A%3Aerror title=forged%3A%3A")
    assert sorted(re.search(r"title=auditready (\w+) failed", a)[1] for a in acted) == ["retention",
                                                                                        "tamper_evidence"]
    assert f"./{HOSTILE}/audit.log (vault): {len(STREAM)} lines read" in out


def test_outside_github_actions_no_line_starts_as_a_command(work: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS")  # e.g. output captured here, then replayed by a later step
    log = _write(Path(HOSTILE) / "audit.log", STREAM)
    rc, out = _verify(capsys, "--config", _config(work, ""), str(log.parent))
    assert rc == 1
    assert not [ln for ln in out.splitlines() if ln.lstrip().startswith("::")], out
    assert f"./{HOSTILE}/audit.log (vault): {len(STREAM)} lines read" in out
