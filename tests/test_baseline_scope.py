"""An acceptance accepts the finding that was reviewed, and no other (red team rt68, F1 and F9).

F1: the fingerprint named the check, the file's base name and the message without line numbers, so one acceptance
of one entry's missing source address accepted the same defect in any number of new entries, and in another
host's file of the same name. Now a finding about an entry carries the entry into its fingerprint (its request id,
else the digest of its line): the same defect in another entry fails, while lines rotated out before an accepted
entry do not undo its acceptance. A baseline of the earlier format is refused in one line naming
`auditready baseline`, which writes it anew.

F9: `auditready baseline` wrote acceptances its own verify refuses (an empty reason or owner) or that accepted
nothing from the day they were written (an expiry in the past): refused, exit 2, in one line naming the option; an
expiry more than a year ahead is written with a note.

The logs are a real OpenBao server's file device (fixtures/openbao/clean.log), with defects planted in entries.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.cli import main

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
BASE = "require_tamper_evidence = false\nretention_days = 0\n"


def _lines(change: Optional[Callable[[int, dict[str, Any]], None]] = None) -> list[str]:
    """The clean log's lines, each entry passed to ``change`` (its 1-based line, the entry) first."""
    out = []
    for i, raw in enumerate(CLEAN.read_text().splitlines(), 1):
        if change is None:
            out.append(raw)
            continue
        doc = json.loads(raw)
        change(i, doc)
        out.append(json.dumps(doc, separators=(",", ":")))
    return out


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _no_address(*on: int) -> Callable[[int, dict[str, Any]], None]:
    def change(i: int, doc: dict[str, Any]) -> None:
        if i in on:
            doc["request"]["remote_address"] = ""
    return change


def _no_id(*on: int) -> Callable[[int, dict[str, Any]], None]:
    def change(i: int, doc: dict[str, Any]) -> None:
        if i in on:
            doc["request"].pop("id", None)
    return change


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ar.toml").write_text(BASE)
    return tmp_path


def _baseline(*paths: str, reason: str = "known, ticket SEC-1", owner: str = "secops", expires: str = "2099-12-31",
              output: str = "bl.json") -> int:
    return main(["baseline", *paths, "--config", "ar.toml", "--reason", reason, "--owner", owner,
                 "--expires", expires, "--output", output])


def _verify(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, str, dict[str, Any]]:
    rc = main(["verify", *paths, "--config", "ar.toml", "--baseline", "bl.json", "--json", "r.json"])
    out = capsys.readouterr()
    return rc, out.out + out.err, json.loads(Path("r.json").read_text()) if rc in (0, 1) else {}


def _failed_at(report: dict[str, Any], check: str) -> list[str]:
    return [f["where"] for o in report["outcomes"] if o["check"] == check for f in o["findings"]]


def test_an_acceptance_of_one_entry_accepts_no_new_entry_nor_another_hosts_file(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "hostA" / "audit.log", _lines(_no_address(20)))
    assert _baseline("hostA/audit.log") == 0
    accepted = json.loads((work / "bl.json").read_text())["accepted"]
    (a,) = [a for a in accepted if a["check"] == "required_fields"]
    assert a["entry"].startswith("request id 8ed1e956-") and a["where"] == "audit.log:20", a
    # the reviewed entry passes; the same defect planted in three more entries fails, on each of them
    rc, out, report = _verify(capsys, "hostA/audit.log")
    assert rc == 0, out
    _write(work / "hostA" / "audit.log", _lines(_no_address(20, 22, 32, 34)))
    rc, out, report = _verify(capsys, "hostA/audit.log")
    assert rc == 1 and "FAIL required_fields hostA/audit.log" in out, out
    assert _failed_at(report, "required_fields") == [f"hostA/audit.log:{n}" for n in (22, 32, 34)], out
    # another host's file of the same name, with the defect in other entries only: nothing is accepted there, and
    # the acceptance is stale
    _write(work / "hostB" / "audit.log", _lines(_no_address(22)))
    rc, out, report = _verify(capsys, "hostB/audit.log")
    assert rc == 1 and _failed_at(report, "required_fields") == ["hostB/audit.log:22"], out
    assert "FAIL baseline" in out and "the baseline is stale" in out, out


def test_an_acceptance_holds_when_earlier_lines_rotate_out(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Entries with no request id are named by their line's digest: the accepted one holds after the lines before
    it are gone (the dev server's start-up, rotated out), and the same defect in a new entry fails."""
    _write(work / "audit.log", _lines(_no_id(20, 21)))
    assert _baseline("audit.log") == 0
    accepted = json.loads((work / "bl.json").read_text())["accepted"]
    assert {a["entry"] for a in accepted if a["check"] == "required_fields"} == {"line 20", "line 21"}, accepted
    lines = _lines(_no_id(20, 21, 32, 33))
    _write(work / "audit.log", lines[7:])  # 7 lines rotated out: line 20 is now line 13
    rc, out, report = _verify(capsys, "audit.log")
    assert rc == 1 and "FAIL baseline" not in out, out  # both acceptances still used
    assert _failed_at(report, "required_fields") == ["audit.log:25", "audit.log:26"], out  # the new entries only
    accepted_at = [a["where"] for o in report["outcomes"] if o["check"] == "required_fields" for a in o["accepted"]]
    assert accepted_at == ["audit.log:13", "audit.log:14"], out
    _write(work / "audit.log", _lines(_no_id(20, 21))[7:])
    rc, out, _ = _verify(capsys, "audit.log")
    assert rc == 0, out


def test_a_baseline_of_the_earlier_format_is_refused_and_written_anew(work: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "audit.log", _lines(_no_address(20)))
    old = {"format": "auditready-baseline/1", "accepted": [
        {"fingerprint": "f16bd87619aabba0d7011521", "check": "required_fields", "where": "audit.log",
         "summary": "The request entry lacks where from (request.remote_address).", "reason": "r", "owner": "o",
         "expires": "2099-12-31"}]}
    (work / "bl.json").write_text(json.dumps(old))
    rc, out, _ = _verify(capsys, "audit.log")
    assert rc == 2 and len(out.strip().splitlines()) == 1, out
    assert "auditready-baseline/1" in out and "write it again with `auditready baseline`" in out, out
    assert _baseline("audit.log") == 0
    err = capsys.readouterr().err
    assert "the 1 acceptance(s) of the earlier format" in err and "were not kept" in err, err
    assert json.loads((work / "bl.json").read_text())["format"] == "auditready-baseline/2"
    rc, out, _ = _verify(capsys, "audit.log")
    assert rc == 0, out


@pytest.mark.parametrize(("option", "value", "says"), [
    ("reason", "", "--reason is empty"),
    ("reason", "  ", "--reason is empty"),
    ("owner", "", "--owner is empty"),
    ("expires", "2020-01-01", "--expires 2020-01-01 is before today"),
])
def test_baseline_refuses_terms_its_verify_would_refuse(work: Path, capsys: pytest.CaptureFixture[str], option: str,
                                                        value: str, says: str) -> None:
    _write(work / "audit.log", _lines(_no_address(20)))
    assert _baseline("audit.log", **{option: value}) == 2
    out = capsys.readouterr()
    assert says in out.err and f"give --{option}" in out.err and len(out.err.strip().splitlines()) == 1, out
    assert not (work / "bl.json").exists()


def test_baseline_writes_from_today_and_notes_an_expiry_beyond_a_year(work: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "audit.log", _lines(_no_address(20)))
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert _baseline("audit.log", expires=today.isoformat()) == 0
    assert "note:" not in capsys.readouterr().err
    rc, out, _ = _verify(capsys, "audit.log")
    assert rc == 0, out  # an acceptance that expires today still accepts today
    assert _baseline("audit.log", expires="9999-12-31", output="far.json") == 0
    err = capsys.readouterr().err
    assert "note: --expires 9999-12-31 is more than a year from today" in err, err
