"""Red team rt68 F3: under the pytest front ends a stale baseline (an acceptance that matches no finding) fails the
run, and pytest's own summary, short summary and --junitxml say so as a failed test ``auditready::baseline``; a
baseline all of whose acceptances match adds no test."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
LEAKY, CANARIES = FIXTURES / "leaky.log", FIXTURES / "canaries.txt"


@pytest.fixture
def work(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real OpenBao log with findings, its settings, and a baseline that accepts every finding."""
    here = pytester.path
    monkeypatch.chdir(here)
    log = here / "audit.log"
    log.write_bytes(LEAKY.read_bytes())
    log.chmod(0o600)
    (here / "ar.toml").write_text(f'require_tamper_evidence = false\ncanaries_file = "{CANARIES}"\n')
    assert main(["baseline", "audit.log", "--config", "ar.toml", "--reason", "planted on purpose in a fixture",
                 "--owner", "sec-team", "--expires", "2099-12-31"]) == 0
    return here


def _run(pytester: pytest.Pytester, here: Path) -> tuple[int, str, ET.Element]:
    xml = here / "pytest.xml"
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(here / "audit.log"),
                                     "--auditready-config", str(here / "ar.toml"), f"--junitxml={xml}")
    return int(r.ret), r.stdout.str(), ET.parse(xml).getroot()


def test_a_stale_acceptance_is_a_failed_test_in_pytests_own_reports(work: Path, pytester: pytest.Pytester) -> None:
    name = work / ".auditready-baseline.json"
    doc = json.loads(name.read_text())
    doc["accepted"].append({**doc["accepted"][0], "fingerprint": "0" * 24})  # an acceptance nothing matches
    name.write_text(json.dumps(doc))
    rc, out, root = _run(pytester, work)
    assert rc == 1
    summary = [line for line in out.splitlines() if line.startswith("=") and " in " in line][-1]
    assert "1 failed" in summary, out
    assert "FAILED auditready::baseline" in out
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    case = [c for c in root.iter("testcase") if c.get("name") == "baseline"]
    assert len(case) == 1 and case[0].find("failure") is not None
    assert "matched no finding of this run" in (case[0].find("failure").get("message") or "")  # type: ignore


def test_a_baseline_that_holds_adds_no_test_and_passes(work: Path, pytester: pytest.Pytester) -> None:
    rc, out, root = _run(pytester, work)
    assert rc == 0, out
    assert "failed" not in [line for line in out.splitlines() if line.startswith("=")][-1]
    assert not [c for c in root.iter("testcase") if c.get("name") == "baseline"]
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
