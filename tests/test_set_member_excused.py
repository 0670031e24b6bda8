"""A file of a set whose every entry a check excuses is skipped for that check, not failed; alone, it still fails.

The newest file of a rotation may hold nothing but a refused request made with an unknown token (the vault writes
no identity and no token digest for it: required_fields and integrity_digest excuse both entries). Each such file
failed "judged nothing" though the set's other files held what those checks judge, so a correct set failed (red team
rt13, case 01, a real OpenBao set rotated by rename and SIGHUP). A check that judged none of the set's files still
reads as skipped, never passed; a file alone that gives nothing to judge still fails.

Log: fixtures/openbao/odd/correct.log (a real OpenBao 2.7.2 run); its refused unknown-token pair (lines 30-31) is
moved, a second later, into the live file of the set.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from tests.test_unseen_rotation import _config, _failed, _verify, _write

CORRECT = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "odd" / "correct.log"
CHECKS = ("required_fields", "integrity_digest")


def _set(folder: Path) -> tuple[Path, Path]:
    lines = CORRECT.read_bytes().splitlines(keepends=True)
    refused = lines[29:31]
    assert all(b'permission denied' in ln and b'"auth":{"token_type":"default"}' in ln for ln in refused)
    rest = lines[:29] + lines[31:]
    last = datetime.datetime.fromisoformat(json.loads(rest[-1])["time"][:26] + "+00:00")
    moved = []
    for k, ln in enumerate(refused):
        e = json.loads(ln)
        e["time"] = (last + datetime.timedelta(seconds=1, microseconds=k)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "001Z"
        moved.append(json.dumps(e, separators=(",", ":")).encode() + b"\n")
    folder.mkdir()
    return _write(folder / "audit.log.1", rest), _write(folder / "audit.log", moved)


def test_the_newest_file_of_refused_requests_is_skipped_in_its_set(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    older, newest = _set(tmp_path / "logs")
    rc, out = _verify(capsys, _config(tmp_path), tmp_path / "logs")
    assert rc == 0 and not _failed(out), out
    for check in CHECKS:
        (line,) = [ln for ln in out.splitlines() if ln.startswith(f"SKIP {check} {newest}")]
        assert "is one of the files of its log in the set, and the other 1 hold the entries" in line, line
        assert any(ln.startswith(f"PASS {check} {older}") for ln in out.splitlines()), out


def test_the_same_file_alone_still_fails_judged_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _older, newest = _set(tmp_path / "logs")
    rc, out = _verify(capsys, _config(tmp_path), newest)
    assert rc == 1
    for check in CHECKS:
        assert any(f"{check} judged nothing" in ln for ln in _failed(out)), out
