"""The reports state only true figures and words (red team rt68 F6, F10, F11, F12): the compliance JUnit never
states a time of zero; a skipped check's entries are "not judged", never "excused" (SPEC: an entry is excused only
by a positive rule); a check whose findings the baseline all accepted reads "accepted", never "skipped" (the word
of a check out of scope); a CloudTrail file's count is of records."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import PASSED, Outcome
from pytest_auditready.cli import main
from pytest_auditready.report.junit import build_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
XUNIT2 = xmlschema.XMLSchema(str(Path(__file__).parent / "schemas" / "xunit2.xsd"))


def _xml(seconds: object) -> ET.Element:
    outcomes = [Outcome(c.id, "", PASSED) for c in BUILTIN]
    text = build_xml(target="offline", checks=BUILTIN, outcomes=outcomes, seconds=seconds)  # type: ignore[arg-type]
    XUNIT2.validate(text)
    return ET.fromstring(text)


def test_the_suite_time_is_the_run_s_or_none_never_zero() -> None:
    root = _xml(0.1934)
    assert root.get("time") == "0.193" and root.find("testsuite").get("time") == "0.193"  # type: ignore[union-attr]
    for seconds in (None, 0.0, 0.0001):  # not known, or no measure at three decimals: no time at all
        root = _xml(seconds)
        assert root.get("time") is None and root.find("testsuite").get("time") is None  # type: ignore[union-attr]
    assert all(tc.get("time") is None for tc in root.iter("testcase"))  # a check's wall time is not measured


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    (tmp_path / "ar.toml").write_text(f'require_tamper_evidence = false\nretention_days = 0\n'
                                      f'canaries_file = "{CANARIES}"\n')
    return tmp_path


def _log(work: Path, source: Path) -> None:
    log = work / "audit.log"
    log.write_bytes(source.read_bytes())
    log.chmod(0o600)


def _reports(work: Path) -> dict[str, str]:
    return {name: (work / name).read_text() for name in ("c.xml", "r.sarif", "summary.md", "ev/report.html")}


def _props(xml: str) -> dict[str, str]:
    return {str(p.get("name")): str(p.get("value")) for p in ET.fromstring(xml).iter("property")}


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["verify", "audit.log", "--config", "ar.toml", "--junit", "c.xml", "--sarif", "r.sarif",
               "--evidence", "ev", "--json", "r.json", *args])
    return rc, capsys.readouterr().out


def test_a_skipped_check_s_entries_are_not_judged_never_excused(work: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _log(work, FIXTURES / "openbao" / "clean.log")
    rc, out = _verify(capsys)
    assert rc == 0, out
    reports = _reports(work)
    entries = json.loads((work / "r.json").read_text())["files"][0]["entries"]
    assert f"  retention {entries} not judged: the check was skipped (retention_days = 0" in out
    assert "retention excused" not in out and "excused" in out  # the positive rules are still said
    props = _props(reports["c.xml"])
    assert props["auditready.file.1.retention.not_judged"].startswith(f"{entries}: the check was skipped (")
    assert "auditready.file.1.retention.excused" not in props and "auditready.file.1.completeness.excused" in props
    for name in ("summary.md", "ev/report.html"):
        assert f"retention 0 ({entries} not judged: the check was skipped (retention" in reports[name], name
        assert f"retention {entries}: skipped" not in reports[name], name


def test_a_check_whose_findings_were_all_accepted_reads_accepted(work: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _log(work, FIXTURES / "openbao" / "leaky.log")
    assert main(["baseline", "audit.log", "--config", "ar.toml", "--reason", "planted in a fixture", "--owner",
                 "sec-team", "--expires", "2099-12-31"]) == 0
    capsys.readouterr()
    rc, out = _verify(capsys)
    assert rc == 0, out
    reports = _reports(work)
    statuses = {c["id"]: c["status"] for c in json.loads((work / "r.json").read_text())["checks"]}
    assert statuses["no_secret_leak"] == "accepted" and statuses["retention"] == "skipped"
    ev = json.loads((work / "ev" / "evidence.json").read_text())
    assert {c["id"]: c["status"] for c in ev["checks"]}["no_secret_leak"] == "accepted"
    root = ET.fromstring(reports["c.xml"])
    case = next(tc for tc in root.iter("testcase") if tc.get("name") == "no_secret_leak")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "auditready.accepted"
    assert "accepted by the baseline" in str(skipped.get("message")) and "planted in a fixture" in str(
        skipped.get("message"))
    props = _props(reports["c.xml"])
    assert props["check.no_secret_leak.status"] == "accepted" and props["check.no_secret_leak.fails_run"] == "false"
    assert "no_secret_leak=accepted" in props["control.SOC 2 CC6.1"]
    assert props["check.retention.status"] == "skipped"
    (row,) = [ln for ln in reports["summary.md"].splitlines() if ln.startswith("| `no_secret_leak`")]
    assert "accepted" in row and "skipped" not in row
    assert "ACCEPTED (" in reports["ev/report.html"]
    for secret in CANARIES.read_text().split():
        assert all(secret not in text for text in reports.values())


def test_without_a_baseline_nothing_reads_accepted(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(work, FIXTURES / "openbao" / "clean.log")
    rc, out = _verify(capsys)
    assert rc == 0, out
    assert not [v for v in _props(_reports(work)["c.xml"]).values() if v == "accepted" or "=accepted" in v]
    assert {c["status"] for c in json.loads((work / "r.json").read_text())["checks"]} <= {"passed", "skipped"}


def test_a_cloudtrail_file_is_counted_in_records(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trail = work / "trail.json"
    trail.write_bytes((FIXTURES / "cloudtrail" / "secretsmanager.json").read_bytes())  # one line, {"Records": [...]}
    assert trail.read_bytes().count(b"\n") <= 1
    main(["verify", "trail.json", "--config", "ar.toml", "--junit", "c.xml"])
    out = capsys.readouterr().out
    props = _props((work / "c.xml").read_text())
    n = props["auditready.file.1.lines"]
    assert int(n) > 1 and props["auditready.file.1.unit"] == "records"
    assert f"(cloudtrail): {n} records read" in out and "lines read" not in out
    _log(work, FIXTURES / "openbao" / "clean.log")
    main(["verify", "audit.log", "--config", "ar.toml", "--junit", "c.xml"])
    assert "(vault): 117 lines read" in capsys.readouterr().out
    assert _props((work / "c.xml").read_text())["auditready.file.1.unit"] == "lines"
