"""Epoch numbers as times (red team rt100 F6). GitHub's audit log stream writes @timestamp (and created_at) in epoch
milliseconds, and no setting could say so: every entry of a correct log was a timestamp_precision finding and
timestamp_accuracy judged nothing, so the log could never pass. ``epoch_unit`` names the unit of the number in
field_map's time field; each such number is read as the UTC time it names, written with that unit's digits, and
judged as any RFC 3339 time is. What is no whole number is still a finding at its line; without the setting an
epoch number is still no time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.config import ConfigError, load
from pytest_auditready.engine.files import verify_file
from pytest_auditready.offline.reader import epoch_time
from tests.test_unseen_jsonl import OFFLINE, _compact, _log, _rows, _settings, _toml
from tests.verifying import verify_lines

GITHUB = "github-audit-stream"


def _config(unit: str = "ms") -> str:
    return _toml(GITHUB, f'epoch_unit = "{unit}"\n' if unit else "")


@pytest.mark.parametrize(("text", "unit", "time"), [
    ("1764496800123", "ms", "2025-11-30T10:00:00.123Z"),
    ("1764496800", "s", "2025-11-30T10:00:00Z"),
    ("1764496800000001", "us", "2025-11-30T10:00:00.000001Z"),
    ("1764496800000000009", "ns", "2025-11-30T10:00:00.000000009Z"),
    ("1000000000000", "ms", "2001-09-09T01:46:40.000Z"),  # the unit's length: 10 digits of seconds and its own
    ("9999999999999", "ms", "2286-11-20T17:46:39.999Z"),
    ("0", "ms", ""),
    ("999999999999", "ms", ""),
    ("1764496800", "ms", ""),  # seconds under ms (red team rt101: read as 1970, the seconds' last digits a fraction)
    ("1764496800123", "s", ""),
    ("0764496800123", "ms", ""),
    ("253402300799999", "ms", ""),
    ("1764496800123.5", "ms", ""),
    ("-1", "ms", ""),
    ("2025-11-30T10:00:00.123Z", "ms", ""),
])
def test_an_epoch_number_is_the_utc_time_it_names_in_its_units_digits(text: str, unit: str, time: str) -> None:
    assert epoch_time(text, unit) == time


def test_githubs_correct_log_passes_with_its_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, found, text = verify_lines(tmp_path, capsys, _compact(_rows(GITHUB)), _config(), name="github.jsonl")
    assert (rc, found) == (0, {}), text
    assert "PASS timestamp_precision" in text and "PASS timestamp_accuracy" in text, text


def test_without_the_setting_an_epoch_number_is_still_no_time(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    rc, found, text = verify_lines(tmp_path, capsys, _compact(_rows(GITHUB)), _config(""), name="github.jsonl")
    assert rc == 1 and found["timestamp_precision"] == [1, 2, 3], found
    assert 'epoch_unit = "ms" for GitHub' in text, text


def test_time_defects_in_epoch_numbers_are_caught_at_their_lines(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """An entry whose time goes back before the one above it; a time that is no whole number (a float, a word); the
    same log's times read as whole seconds (epoch_unit = "s") have no fraction at all."""
    rows = _rows(GITHUB)
    rows[1]["@timestamp"] = rows[0]["@timestamp"] - 5000
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), _config(), name="github.jsonl")
    assert rc == 1 and found == {"timestamp_accuracy": [2]}, found
    rows = _rows(GITHUB)
    rows[1]["@timestamp"] = rows[1]["@timestamp"] + 0.5
    rows[2]["@timestamp"] = "yesterday"
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), _config(), name="github.jsonl")
    assert rc == 1 and found == {"timestamp_precision": [2, 3]}, found
    seconds = [dict(r, **{"@timestamp": r["@timestamp"] // 1000}) for r in _rows(GITHUB)]
    rc, found, text = verify_lines(tmp_path, capsys, _compact(seconds), _config("s"), name="github.jsonl")
    assert rc == 1 and found == {"timestamp_precision": [1]}, found
    assert "the times carry at most 0 significant fractional digit(s)" in text, text


def test_times_of_another_unit_are_caught_at_their_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GitHub's milliseconds a hop cut to seconds, under epoch_unit = "ms": no time at each line (red team rt101:
    read as milliseconds they were times of 1970, their last digits a fraction, and every check passed)."""
    seconds = [dict(r, **{"@timestamp": r["@timestamp"] // 1000}) for r in _rows(GITHUB)]
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(seconds), _config(), name="github.jsonl")
    assert rc == 1 and found["timestamp_precision"] == [1, 2, 3], found


@pytest.mark.parametrize("value", ["millis", "MS", 3, ""])
def test_an_epoch_unit_that_is_no_unit_is_refused_naming_the_units(value: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"epoch_unit": value})])
    assert "'epoch_unit'" in str(exc.value) and '"ms"' in str(exc.value)


def test_a_log_of_rfc_3339_times_is_read_as_before_with_the_setting(tmp_path: Path) -> None:
    """epoch_unit reads numbers only: an RFC 3339 time is judged as it is (an Okta log under the same setting
    passes; one without its offset is still a finding)."""
    settings = _settings("okta-systemlog", epoch_unit="ms")
    res = verify_file(str(_log(tmp_path, "okta-systemlog", _rows("okta-systemlog"))), settings, OFFLINE, {})
    assert [o.check_id for o in res.outcomes if o.status == "failed"] == []
    rows = _rows("okta-systemlog")
    rows[1]["published"] = rows[1]["published"][:-1]
    res = verify_file(str(_log(tmp_path, "okta-systemlog", rows)), settings, OFFLINE, {})
    failed = {o.check_id: [f.where.rsplit(":", 1)[-1] for f in o.findings] for o in res.outcomes
              if o.status == "failed"}
    assert failed == {"timestamp_precision": ["2"]}, failed
