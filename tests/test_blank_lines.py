"""An entry removed and its line left blank (``sed 's/.*kv1.*//'``, an editor's "clear line") in a Vault/OpenBao log:
the file device writes each entry as one JSON object and a newline, never an empty line, so an empty or blank line
is a line whose entry is gone. It used to be skipped as if it were not there: a request and its response blanked
together left no trace for any check (87 lines read, 85 entries, 0 unreadable). Other producers' exports (JSON
lines, CloudTrail lines) may hold blank lines between records, and still skip them.

Logs: fixtures/openbao/clean.log (a real OpenBao 2 run) and fixtures/cloudtrail/lines/correct.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.auditlog.detect import UnknownFormat
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = ROOT / "openbao" / "clean.log"
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)
OFFLINE = offline_checks(BUILTIN)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _pair(lines: list[str]) -> tuple[int, int]:
    """The 0-based indexes of the first KV read's request and response entries."""
    for i, ln in enumerate(lines):
        e = json.loads(ln)
        if e["type"] == "request" and e["request"]["path"].startswith("secret/data/") \
                and e["request"]["operation"] == "read":
            rid = e["request"]["id"]
            j = next(j for j in range(i + 1, len(lines)) if json.loads(lines[j])["request"]["id"] == rid)
            return i, j
    raise AssertionError("no KV read in the fixture")


def _bad_lines(path: Path) -> tuple[dict[str, str], list[int]]:
    res = verify_file(str(path), SETTINGS, OFFLINE, {})
    status = {o.check_id: o.status for o in res.outcomes}
    (rf,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    return status, [int(f.where.rsplit(":", 1)[1]) for f in rf.findings if "never writes" in f.message]


@pytest.mark.parametrize("blank", ["", "   ", "\t", "\r"], ids=["empty", "spaces", "tab", "cr"])
def test_a_request_and_its_response_blanked_are_found_at_their_lines(tmp_path: Path, blank: str) -> None:
    lines = CLEAN.read_text().splitlines()
    i, j = _pair(lines)
    lines[i] = lines[j] = blank
    status, found = _bad_lines(_write(tmp_path, "audit.log", "\n".join(lines) + "\n"))
    assert found == [i + 1, j + 1]
    assert status["required_fields"] == FAILED


def test_the_report_counts_the_blank_lines_as_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = CLEAN.read_text().splitlines()
    i, j = _pair(lines)
    lines[i] = lines[j] = ""
    log = _write(tmp_path, "audit.log", "\n".join(lines) + "\n")
    cfg = _write(tmp_path, "pyproject.toml", "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n")
    assert main(["verify", str(log), "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert f"audit.log (vault): {len(lines)} lines read, {len(lines) - 2} entries, 2 unreadable" in out, out
    assert f"[{log}:{i + 1}]" in out and f"[{log}:{j + 1}]" in out


def test_the_last_entries_blanked_are_found_and_one_newline_too_many_is_not(tmp_path: Path) -> None:
    """The last request and response blanked leave two empty lines at the end of the file: found there. One empty
    line at the end is an export's newline too many ("\\n".join(lines) + "\\n" of lines split with their last,
    empty, piece): no entry is missing there."""
    text = CLEAN.read_text()
    n = len(text.splitlines())
    status, found = _bad_lines(_write(tmp_path, "two.log", text + "\n\n"))
    assert found == [n + 1, n + 2] and status["required_fields"] == FAILED
    status, found = _bad_lines(_write(tmp_path, "one.log", text + "\n"))
    assert found == [] and status["required_fields"] == PASSED


def test_a_log_written_double_spaced_is_padding_and_an_entry_blanked_in_it_is_found(tmp_path: Path) -> None:
    """Lines that kept their newline joined with another ("\\n".join(f.readlines())) put an empty line after every
    entry: padding, no finding. An entry blanked in such a file leaves three empty lines in a row where one was:
    the two beyond the padding are found (the entry's own line among them)."""
    lines = CLEAN.read_text().splitlines(keepends=True)
    status, found = _bad_lines(_write(tmp_path, "padded.log", "\n".join(lines) + "\n"))
    assert found == [] and status["required_fields"] == PASSED
    i, _ = _pair([ln.rstrip("\n") for ln in lines])
    lines[i] = "\n"
    status, found = _bad_lines(_write(tmp_path, "padded-blanked.log", "\n".join(lines) + "\n"))
    assert found == [2 * i + 1, 2 * i + 2] and status["required_fields"] == FAILED


def test_the_log_as_the_device_wrote_it_has_none(tmp_path: Path) -> None:
    status, found = _bad_lines(_write(tmp_path, "audit.log", CLEAN.read_text()))
    assert found == [] and status["required_fields"] == PASSED


def test_blank_lines_between_json_lines_records_are_skipped(tmp_path: Path) -> None:
    """An export of CloudTrail records one a line with blank lines between them: nothing removed, nothing found."""
    rows = (ROOT / "cloudtrail" / "lines" / "correct.jsonl").read_text().splitlines()
    log = _write(tmp_path, "trail.jsonl", "\n\n".join(rows) + "\n\n")
    res = verify_file(str(log), SETTINGS, OFFLINE, {})
    (rf,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    assert rf.status == PASSED, [f.text() for f in rf.findings]


@pytest.mark.parametrize("blank", ["", "  "], ids=["empty", "spaces"])
def test_blank_lines_that_open_the_file_are_found_each(tmp_path: Path, blank: str) -> None:
    """Padding follows an entry, so a blank line that opens the file is none: the first entry blanked is found at
    line 1 (it used to be taken as padding and left out of the count: 3 lines read, 1 entry, 1 unreadable), and
    a file of blank lines only is no log: refused."""
    lines = CLEAN.read_text().splitlines()
    lines[0] = blank
    status, found = _bad_lines(_write(tmp_path, "first.log", "\n".join(lines) + "\n"))
    assert found == [1] and status["required_fields"] == FAILED
    lines[1] = blank
    status, found = _bad_lines(_write(tmp_path, "two.log", "\n".join(lines) + "\n"))
    assert found == [1, 2] and status["required_fields"] == FAILED
    with pytest.raises(UnknownFormat, match="holds nothing but 4 empty line"):  # no log (red team rt73, F1)
        _bad_lines(_write(tmp_path, "blank.log", f"{blank}\n\t\n \n\n"))


def test_every_line_is_accounted_when_the_file_opens_blank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two blank lines before the log's one entry: both are counted (the check for padding, which a file of one entry
    passes, used to excuse the first unsaid)."""
    lines = ["", "", CLEAN.read_text().splitlines()[0]]
    log = _write(tmp_path, "audit.log", "\n".join(lines) + "\n")
    cfg = _write(tmp_path, "pyproject.toml", "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n")
    for jobs in ("1", "2"):
        assert main(["verify", str(log), "--config", str(cfg), "--jobs", jobs]) == 1
        out = capsys.readouterr().out
        assert f"audit.log (vault): {len(lines)} lines read, {len(lines) - 2} entries, 2 unreadable" in out, out


def test_the_empty_lines_that_are_no_entry_are_counted_apart(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Every line read is in one bucket: an export's padding and its newline too many at the end are neither entries
    nor unreadable, and are said as such (red team rt23: one line was in no bucket)."""
    text = CLEAN.read_text()
    n = len(text.splitlines())
    cfg = _write(tmp_path, "pyproject.toml", "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n")
    padded = "\n".join(text.splitlines(keepends=True)) + "\n"
    for name, body, empty in (("one.log", text + "\n", 1), ("padded.log", padded, n), ("as-written.log", text, 0)):
        log = _write(tmp_path, name, body)
        assert main(["verify", str(log), "--config", str(cfg)]) == 0
        out = capsys.readouterr().out
        said = f"{name} (vault): {n + empty} lines read, {n} entries, 0 unreadable"
        assert said + (f", {empty} empty (an export's padding or last newline, no entry)\n" if empty else "\n") in out
