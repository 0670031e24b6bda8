"""logrotate's ``start N`` (red team rt93, F11): "if you specify 9, log files will be created with a .9, skipping
0-8" (logrotate(8)). Such a set holds audit.log, audit.log.5, audit.log.6.gz, ... and lacks nothing, yet it read as
audit.log.1 to .4 deleted, with no setting to say otherwise. ``rotation_start = N`` says where the numbers begin:
the numbers below it are not asked for (and the pass says so), a gap above it is still found, and ``start 0`` can
now be held to its audit.log.0.

The sets are made by the real logrotate from a real OpenBao's entries (tests/test_unseen_rotation)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tests.test_retention import days_between
from tests.test_unseen_rotation import NO_RETENTION, _append, _config, _failed, _logrotate, _on_day, _verify

D = datetime.date
DAYS = days_between(D(2026, 11, 1), D(2026, 11, 6))
RETAIN_5 = ("require_tamper_evidence = false\nretention_days = 5\nretention_online_days = 5\n"
            'retention_as_of = "2026-11-07"\n')


def _set(logs: Path, start: int) -> None:
    """A day a file, rotated daily by logrotate with ``start``: audit.log and audit.log.START, .START+1.gz, ..."""
    logs.mkdir()
    for i, day in enumerate(DAYS):
        _append(logs / "audit.log", _on_day(day, 2 * i))
        if i < len(DAYS) - 1:
            _logrotate(logs, f"rotate 30\nstart {start}\ncompress\ndelaycompress\ncreate 0600\nmissingok")


@pytest.mark.parametrize("body", [NO_RETENTION, RETAIN_5], ids=["completeness", "retention"])
def test_a_set_numbered_from_start_5_passes_with_rotation_start_5_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> None:
    logs = tmp_path / "logs"
    _set(logs, 5)
    assert sorted(p.name for p in logs.iterdir()) == ["audit.log", "audit.log.5", "audit.log.6.gz", "audit.log.7.gz",
                                                      "audit.log.8.gz", "audit.log.9.gz"]
    check = "completeness" if body == NO_RETENTION else "retention"
    rc, out = _verify(capsys, _config(tmp_path, body), logs)  # at the default (start 1): .1 to .4 read as deleted
    assert rc == 1, out
    said = [ln for ln in _failed(out) if "audit.log.1, " in ln]
    assert said and "are not in the log set" in said[0] and "set rotation_start = 5" in said[0], out
    assert [ln.split()[1] for ln in _failed(out) if ln.startswith("FAIL ")] == [check], out
    rc, out = _verify(capsys, _config(tmp_path, body + "rotation_start = 5\n"), logs)
    assert rc == 0 and not _failed(out), out
    note = next(ln for ln in out.splitlines() if ln.startswith(f"PASS {check}"))
    assert "Narrowed by settings: " in note and "rotation_start = 5" in note, note
    assert "rotated files numbered 1 to 4 (logrotate's `start 5` writes none) are not asked for" in note, note


def test_a_file_deleted_above_the_start_is_still_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _set(logs, 5)
    (logs / "audit.log.7.gz").unlink()
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + "rotation_start = 5\n"), logs)
    assert rc == 1, out
    said = [ln for ln in _failed(out) if "are not in the log set" in ln or "is not in the log set" in ln]
    assert len(said) == 1 and f"{logs / 'audit.log'}.7 is not in the log set" in said[0], out
    assert "rotation_start" not in said[0]  # a gap between numbers: no setting explains it


def test_the_newest_rotated_file_deleted_is_still_found_with_the_start_set(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _set(logs, 5)
    (logs / "audit.log.5").unlink()
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + "rotation_start = 5\n"), logs)
    assert rc == 1 and f"{logs / 'audit.log'}.5 is not in the log set" in out, out


def test_start_0_is_held_to_its_audit_log_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _set(logs, 0)
    assert (logs / "audit.log.0").exists()
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + "rotation_start = 0\n"), logs)
    assert rc == 0 and not _failed(out), out
    (logs / "audit.log.0").unlink()
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + "rotation_start = 0\n"), logs)
    assert rc == 1 and f"{logs / 'audit.log'}.0 is not in the log set" in out, out
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION), logs)  # at 1, LOG.0 is not told from start 1
    assert rc == 0, out


def test_a_value_that_is_no_number_is_refused_in_one_line(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _set(logs, 1)
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + 'rotation_start = "five"\n'), logs)
    assert rc == 2 and "rotation_start" in out and "a whole number" in out, out
