"""completeness across a rotation whose next file begins a little before the last entry of the file before it.

The vault times an entry before it writes it: requests in flight when it reopens its file (a SIGHUP after logrotate's
rename) land in either file out of time order. A real OpenBao under four concurrent clients began the next file
0.5 ms before the last entry of the one before it, and that one boundary made the whole set "overlapping": no pair
split at any of its boundaries was judged, and a response deleted at another rotation passed (red team rt13, F1).
Files of one log may now overlap by up to files.REOPEN_OVERLAP_NS (1 s) and a tenth of the shorter one's span; the
logs of several writers overlap by most of their span and are still not paired across
(test_unseen_rotation.py::test_two_writers_overlapping_in_time_are_not_paired_with_each_other).

Log: fixtures/openbao/clean.log (a real OpenBao 2 run) cut into three rotated files, the first boundary re-timed to
overlap, a request and its response split by the second.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from tests.test_set_late_edges import CLEAN, _completeness, _middle_pair


def _earlier(stamp: str, ns: int) -> str:
    head, frac = stamp.rstrip("Z").split(".")
    t = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.timezone.utc)
    total = int(t.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9]) - ns
    return (datetime.datetime.fromtimestamp(total // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            + f".{total % 10**9:09d}Z")


def _set(tmp_path: Path, overlap_ns: int, drop_response: bool) -> tuple[list[Path], str, int]:
    """audit.log.2, audit.log.1 and audit.log: the second begins ``overlap_ns`` before the first ends; a request
    ends the second and its response opens the third (dropped with ``drop_response``). The files, the split
    request's id and its line in audit.log.1."""
    lines = CLEAN.read_text().splitlines()
    k, r = _middle_pair(lines)  # the request at k, its response at r = k + 1: the second boundary
    cut = k // 2
    while json.loads(lines[cut - 1])["time"] >= json.loads(lines[cut])["time"]:
        cut += 1  # a boundary between two entries in time order
    parts = [[json.loads(ln) for ln in lines[:cut]], [json.loads(ln) for ln in lines[cut:r]],
             [json.loads(ln) for ln in lines[r:]]]
    parts[1][0]["time"] = _earlier(parts[0][-1]["time"], overlap_ns)  # written before the reopen, timed after
    rid = parts[1][-1]["request"]["id"]
    assert parts[2][0]["request"]["id"] == rid and parts[2][0]["type"] == "response"
    if drop_response:
        parts[2] = parts[2][1:]
    paths = []
    for name, part in zip(("audit.log.2", "audit.log.1", "audit.log"), parts):
        path = tmp_path / name
        path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in part))
        path.chmod(0o600)
        paths.append(path)
    return paths, rid, len(parts[1])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_response_dropped_at_one_rotation_is_found_though_another_overlaps(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int) -> None:
    paths, rid, line = _set(tmp_path, 500_000, drop_response=True)
    found, _ = _completeness(capsys, tmp_path, *paths, jobs=jobs)
    assert [(f["where"], f["request_id"]) for f in found] == [(f"{paths[1]}:{line}", rid)]
    assert "does not hold its response" in found[0]["message"]


def test_the_intact_set_is_judged_across_both_boundaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No finding, and the split pair is paired across the files, not excused as in flight at a file's end."""
    paths, _rid, _line = _set(tmp_path, 500_000, drop_response=False)
    found, excused = _completeness(capsys, tmp_path, *paths)
    assert found == []
    assert not any("in flight" in rule for rule in excused["audit.log.1"])
    assert not any("before the log" in rule for rule in excused["audit.log"])
