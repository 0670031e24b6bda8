"""completeness across a rotation: a request far slower than the rest of its file, in flight when the file rotated.

A file alone excuses an entry without partner at its edge only within LATE (20) times the longest request it
answered (``test_completeness_late``); further in, a hop dropped the partner. In a set of files named together, the
file after it in time may hold the response: a slow request spanning the rotation (a key made, an external login)
was reported as dropped even with the next file given, and its fix said to do what had been done, name the set (red
team rt10, finding 2). Now each file of a set leaves such edges to the set's judge, which pairs them with the file
that continues the log, and reports them as late only where no file of the run does (the set's first and last
file), with the accounting to match.

Logs: fixtures/openbao/clean.log (a real OpenBao 2 run, every request answered within 1 ms), re-timed so that one
request waits seconds for its response across the cut between two files.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
LATE_WORDS = "and the log goes on for more than"


def _middle_pair(lines: list[str]) -> tuple[int, int]:
    """The indexes of the middle one of ``lines``' requests directly followed by their own response."""
    entries = [json.loads(ln) for ln in lines]
    pairs = [(k, k + 1) for k, (a, b) in enumerate(zip(entries, entries[1:]))
             if a["type"] == "request" and b["type"] == "response" and a["request"].get("id") == b["request"].get("id")]
    return pairs[len(pairs) // 2]


def _shift(stamp: str, seconds: float) -> str:
    head, frac = stamp.rstrip("Z").split(".")
    t = datetime.datetime.fromisoformat(head) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"


def _spanning(tmp_path: Path, drop_response: bool = False) -> tuple[Path, Path, str, int]:
    """audit.log.1 and audit.log: a lookup's request entry moved six entries earlier, the entries after it in the
    first file 5 s later and the second file, which opens with its response, 13 s later. The two files, the slow
    request's id and its line in audit.log.1."""
    entries = [json.loads(ln) for ln in CLEAN.read_text().splitlines()]
    at: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        at.setdefault(e["request"].get("id", ""), []).append(i)
    i, j = next((v[0], v[1]) for k, v in at.items() if k and len(v) == 2 and v[1] == v[0] + 1 and 50 < v[0])
    request = entries.pop(i)
    entries.insert(i - 6, request)
    request["time"] = entries[i - 7]["time"]
    for k in range(i - 5, len(entries)):
        entries[k]["time"] = _shift(entries[k]["time"], 5 if k < j else 13)
    first, second = entries[:j], entries[j:]
    assert second[0]["type"] == "response" and second[0]["request"]["id"] == request["request"]["id"]
    if drop_response:
        second = second[1:]
    paths = []
    for name, part in (("audit.log.1", first), ("audit.log", second)):
        path = tmp_path / name
        path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in part))
        path.chmod(0o600)
        paths.append(path)
    return paths[0], paths[1], request["request"]["id"], i - 6 + 1


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    return path


def _completeness(capsys: pytest.CaptureFixture[str], tmp_path: Path, *paths: Path,
                  jobs: int = 1) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """The completeness findings of a verify run (each file's outcome), and each file's completeness excuses."""
    report = tmp_path / "report.json"
    main(["verify", *map(str, paths), "--config", str(_config(tmp_path)), "--json", str(report), "--jobs", str(jobs)])
    capsys.readouterr()
    data = json.loads(report.read_text())
    found = [f for o in data["outcomes"] if o["check"] == "completeness" for f in o["findings"]]
    excused = {Path(f["file"]).name: {x["rule"]: x["entries"] for x in f["checks"]["completeness"]["excused"]}
               for f in data["files"]}
    return found, excused


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_slow_request_spanning_the_rotation_is_paired_with_the_next_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int) -> None:
    old, new, _rid, _line = _spanning(tmp_path)
    found, excused = _completeness(capsys, tmp_path, old, new, jobs=jobs)
    assert found == []
    assert not any("in flight" in rule for rule in excused["audit.log.1"])  # judged with the next file, not excused


def test_the_first_file_alone_still_calls_it_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the file that continues the log, the far edge is what it was: a finding at its line. (With that file
    beside it but not named, the edge is excused naming it: tests/test_completeness_offline.py.)"""
    old, new, rid, line = _spanning(tmp_path)
    new.unlink()
    found, _ = _completeness(capsys, tmp_path, old)
    assert [(f["where"], f["request_id"]) for f in found] == [(f"{old}:{line}", rid)]
    assert LATE_WORDS in found[0]["message"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_response_dropped_from_the_next_file_is_found_at_the_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int) -> None:
    old, new, rid, line = _spanning(tmp_path, drop_response=True)
    found, _ = _completeness(capsys, tmp_path, old, new, jobs=jobs)
    assert [(f["where"], f["request_id"]) for f in found] == [(f"{old}:{line}", rid)]
    assert "does not hold its response" in found[0]["message"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_late_edge_no_file_of_the_run_faces_is_still_a_finding(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int) -> None:
    """The set's last file: a request far from its end, its response deleted; the set's first file: a response far
    from its start, its request deleted. No file of the run continues the log there, so each is late, found at its
    line, and no longer counted excused in its file's accounting."""
    old, new, _rid, _line = _spanning(tmp_path)
    tail = new.read_text().splitlines()
    k, r = _middle_pair(tail)
    lost_request = json.loads(tail[k])["request"]["id"]
    new.write_text("\n".join(tail[:r] + tail[r + 1:]) + "\n")
    head = old.read_text().splitlines()
    a, b = _middle_pair(head)
    lost_response = json.loads(head[b])["request"]["id"]
    old.write_text("\n".join(head[:a] + head[a + 1:]) + "\n")

    found, excused = _completeness(capsys, tmp_path, old, new, jobs=jobs)
    assert sorted((f["where"], f["request_id"]) for f in found) == sorted(
        [(f"{new}:{k + 1}", lost_request), (f"{old}:{b}", lost_response)])
    assert all(LATE_WORDS in f["message"] or "comes more than" in f["message"] for f in found)
    assert not any("in flight" in rule for rule in excused.get("audit.log", {}))
    assert not any("before the log" in rule for rule in excused.get("audit.log.1", {}))
