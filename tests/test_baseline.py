"""Accepted findings (issue "Release-grade", item 2): a baseline accepts a known finding by fingerprint, with a
reason, an owner and an expiry; the run passes and every report shows the acceptance; an expired or unused
acceptance fails the run; the baseline never holds a value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema

from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
LEAKY, CANARIES = FIXTURES / "leaky.log", FIXTURES / "canaries.txt"
SCHEMAS = Path(__file__).parent / "schemas"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "audit.log"
    log.write_bytes(LEAKY.read_bytes())
    log.chmod(0o600)
    (tmp_path / "ar.toml").write_text(f'require_tamper_evidence = false\ncanaries_file = "{CANARIES}"\n')
    return tmp_path


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["verify", "audit.log", "--config", "ar.toml", *args])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _accept(expires: str = "2099-12-31") -> int:
    return main(["baseline", "audit.log", "--config", "ar.toml", "--reason", "planted on purpose in a fixture",
                 "--owner", "sec-team", "--expires", expires])


def test_accepted_findings_pass_and_every_report_shows_them(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _verify(capsys)
    assert rc == 1 and "FAIL no_secret_leak" in out
    assert _accept() == 0
    text = (work / ".auditready-baseline.json").read_text()
    for secret in CANARIES.read_text().split():
        assert secret not in text  # fingerprints and messages, never a value
    accepted = json.loads(text)["accepted"]
    assert accepted and all(a["owner"] == "sec-team" and a["expires"] == "2099-12-31" for a in accepted)
    rc, out = _verify(capsys, "--junit", "c.xml", "--sarif", "r.sarif", "--evidence", "ev", "--json", "r.json")
    assert rc == 0, out
    assert "ACCEPTED no_secret_leak" in out and "~ accepted [" in out and "accepted by sec-team until 2099-12-31" in out
    assert f"{len(accepted)} finding(s) accepted by" in out
    # JUnit: skipped, with the acceptance as the reason; valid against the schema
    junit = (work / "c.xml").read_text()
    xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd")).validate(str(work / "c.xml"))
    assert "<skipped" in junit and "planted on purpose in a fixture" in junit and "<failure" not in junit
    # SARIF: each accepted finding with a line is a suppressed result
    sarif = json.loads((work / "r.sarif").read_text())["runs"][0]["results"]
    assert sarif and all(r["suppressions"][0]["status"] == "accepted" for r in sarif)
    # evidence and JSON: every acceptance, with who and why
    ev = json.loads((work / "ev" / "evidence.json").read_text())["acceptances"]
    assert len(ev["used"]) == len(accepted) and not ev["unused"] and ev["accepted_findings"]
    outcomes = json.loads((work / "r.json").read_text())["outcomes"]
    assert sum(len(o["accepted"]) for o in outcomes) >= len(accepted)


def test_an_expired_acceptance_fails_again(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _accept() == 0  # (a date already past is refused when written: tests/test_baseline_scope.py)
    path = work / ".auditready-baseline.json"
    doc = json.loads(path.read_text())
    doc["accepted"] = [{**a, "expires": "2020-01-01"} for a in doc["accepted"]]
    path.write_text(json.dumps(doc))
    rc, out = _verify(capsys)
    assert rc == 1 and "FAIL no_secret_leak" in out and "expired on 2020-01-01" in out


def test_an_unused_acceptance_fails_the_run(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _accept() == 0
    # the finding of one line is fixed (the line removed): its acceptance is now stale
    lines = (work / "audit.log").read_bytes().splitlines(keepends=True)
    keys = [i for i, ln in enumerate(lines) if b"BEGIN" in ln and b"PRIVATE" in ln]
    assert keys
    (work / "audit.log").write_bytes(b"".join(ln for i, ln in enumerate(lines) if i not in keys))
    rc, out = _verify(capsys)
    assert rc == 1 and "FAIL baseline" in out and "matched no finding of this run: the baseline is stale" in out


def test_pytest_offline_honours_the_same_baseline(work: Path, pytester: pytest.Pytester) -> None:
    assert _accept() == 0
    args = ["-p", "no:cacheprovider", "-rs", "--auditready-offline", str(work / "audit.log"),
            "--auditready-config", str(work / "ar.toml")]
    pytester.chdir()
    (pytester.path / ".auditready-baseline.json").write_text((work / ".auditready-baseline.json").read_text())
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 0, r.stdout.str()
    assert "accepted by sec-team until 2099-12-31" in r.stdout.str()
    doc = json.loads((pytester.path / ".auditready-baseline.json").read_text())
    doc["accepted"].append({**doc["accepted"][0], "fingerprint": "0" * 24})  # an acceptance nothing matches
    (pytester.path / ".auditready-baseline.json").write_text(json.dumps(doc))
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 1 and "the baseline is stale" in r.stdout.str()


@pytest.mark.parametrize("content", ["not json", '{"accepted": [{"fingerprint": "x"}]}',
                                     '{"accepted": [{"fingerprint": "x", "check": "c", "reason": "r", '
                                     '"owner": "o", "expires": "soon"}]}'])
def test_a_malformed_baseline_is_refused_in_one_line(work: Path, capsys: pytest.CaptureFixture[str],
                                                     content: str) -> None:
    (work / ".auditready-baseline.json").write_text(content)
    rc, out = _verify(capsys)
    assert rc == 2 and len(out.strip().splitlines()) == 1 and "baseline" in out and "Traceback" not in out


def test_a_log_whose_name_ends_in_a_colon_and_another_digit_is_accepted_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A file named "a:\u00b2": a finding's where about the file alone ends in ":\u00b2", a digit to str.isdigit
    that int() refuses. Baseline and verify read it as a name, not a line number."""
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "a:\u00b2"
    log.write_bytes(LEAKY.read_bytes())
    log.chmod(0o600)
    (tmp_path / "ar.toml").write_text(f'canaries_file = "{CANARIES}"\n')  # (no chain: a finding about the file)
    assert main(["baseline", log.name, "--config", "ar.toml", "--reason", "a name of its own", "--owner", "sec",
                 "--expires", "2099-12-31"]) == 0
    rc = main(["verify", log.name, "--config", "ar.toml", "--sarif", "r.sarif", "--evidence", "ev"])
    out = capsys.readouterr()
    assert rc == 0 and "Traceback" not in out.out + out.err, out.out + out.err
    assert "accepted by sec until 2099-12-31" in out.out + out.err
