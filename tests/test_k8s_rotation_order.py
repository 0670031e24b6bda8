"""A Kubernetes audit log's backups renamed out of order are found, as a Vault/OpenBao log's are.

The API server's log backend rotates through lumberjack (--audit-log-maxsize, --audit-log-maxbackup): the live file
keeps its name and each backup is named by the time it was rotated, ``audit-2026-01-05T14-00-00.000.log``. The set's
files were never ordered by time for Kubernetes, since an event's time is when its request began and a long watch's
event ends a file hours after it; so two backups swapped passed, while the same on a Vault set is found (red team
rt13, F2). A file's span is now when its events were written (their stageTimestamp).

Log: fixtures/k8s/real/correct.log (15 events of a real API server's shapes, a watch among them that began 8.5 min
before it ended), replayed three times six hours apart with fresh audit ids.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from pathlib import Path

import pytest

from tests.test_unseen_rotation import _config, _failed, _verify, _write

EVENTS = (Path(__file__).resolve().parents[1] / "fixtures" / "k8s" / "real" / "correct.log").read_text().splitlines()
_STAMP = re.compile(r'"(requestReceivedTimestamp|stageTimestamp)":"([^"]+)"')
OUT_OF_ORDER = "but their names say the opposite"


def _later(stamp: str, hours: float) -> str:
    t = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _piece(hours: float, watch_began: float = 0.0) -> list[bytes]:
    """The events ``hours`` later, each with an audit id of its own. With ``watch_began``, the file opens with the
    watch's event (the last of the fixture), ended just before the first other one and begun that many hours
    earlier."""
    events = [json.loads(line) for line in EVENTS]
    for e in events:
        e["auditID"] = str(uuid.uuid4())
        e["stageTimestamp"] = _later(e["stageTimestamp"], hours)
        e["requestReceivedTimestamp"] = _later(e["requestReceivedTimestamp"], hours)
    if watch_began:
        watch = events.pop()
        assert watch["verb"] == "watch" and watch["stage"] == "ResponseComplete"
        watch["stageTimestamp"] = _later(events[0]["requestReceivedTimestamp"], -1e-6 / 3600)
        watch["requestReceivedTimestamp"] = _later(watch["stageTimestamp"], -watch_began)
        events.insert(0, watch)
    return [json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events]


def _backup(hours: float) -> str:
    """lumberjack's backup name for a rotation ``hours`` after the first piece's events."""
    t = datetime.datetime(2026, 1, 5, 8, 0, 1) + datetime.timedelta(hours=hours)
    return f"audit-{t.strftime('%Y-%m-%dT%H-%M-%S')}.000.log"


def _set(folder: Path, names: list[str], watch_began: float = 0.0) -> None:
    folder.mkdir()
    for k, name in enumerate(names):  # oldest first; the live file last
        _write(folder / name, _piece(6 * k, watch_began if k == len(names) - 1 else 0.0))


NAMES = [_backup(0), _backup(6), _backup(12), "audit.log"]


def test_backups_in_their_order_pass_though_a_watch_began_before_them(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The live file opens with a watch's event whose request began ten hours earlier, before both backups before
    it: the file is still the newest by when its events were written."""
    _set(tmp_path / "logs", NAMES, watch_began=10)
    rc, out = _verify(capsys, _config(tmp_path), tmp_path / "logs")
    assert rc == 0 and not _failed(out), out


@pytest.mark.parametrize("swap", [(0, 2), (1, 2)], ids=["oldest-and-newest", "two-newest"])
def test_two_backups_swapped_are_found(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       swap: tuple[int, int]) -> None:
    names = list(NAMES)
    a, b = swap
    names[a], names[b] = names[b], names[a]
    _set(tmp_path / "logs", names)
    rc, out = _verify(capsys, _config(tmp_path), tmp_path / "logs")
    assert rc == 1 and any(OUT_OF_ORDER in ln for ln in _failed(out)), out
    assert f"{NAMES[a]}" in out and f"{NAMES[b]}" in out
