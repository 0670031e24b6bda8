"""completeness: an entry without partner is excused as in flight at an edge of the log only near that edge.

A request whose response entry is missing, in a log shorter than completeness_window (120 s), was excused as "still
in flight when the log ends" wherever it lay, and so was a response without request as "written before the log
began": a response line deleted from a short log (a script's run of a few seconds, as most exported test logs are)
passed, unless a keep-alive connection showed it. The vault answers most requests in milliseconds; a request still
in flight at the end lies within a few durations of it. So an entry without partner is excused only within LATE (20)
times the longest request of the log took (at least 25 ms) of the edge it faces.

Logs: fixtures/openbao/clean.log (a real OpenBao 2 run over 0.13 s, every request answered within 1 ms), and
fixtures/openbao/unseen/oidc-login.log (an OIDC login that took 1.5 s).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import CheckContext
from pytest_auditready.checks.completeness import IN_FLIGHT, LATE, Pairs
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.offline.reader import Block, vault_block

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
CLEAN = ROOT / "clean.log"
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "completeness"]


def _lines() -> list[str]:
    return CLEAN.read_text().splitlines()


def _ns(stamp: str) -> int:
    from pytest_auditready.auditlog.model import parse_time

    ts = parse_time(stamp)
    assert ts is not None
    return ts[0]


def _pairs(lines: list[str]) -> list[tuple[int, int]]:
    """(request index, response index) of each answered request, in file order."""
    out, open_ = [], {}
    for i, ln in enumerate(lines):
        e = json.loads(ln)
        rid = e["request"].get("id")
        if e["type"] == "request":
            open_[rid] = i
        elif rid in open_:
            out.append((open_.pop(rid), i))
    return out


def _verify(tmp_path: Path, lines: list[str], name: str = "audit.log") -> tuple[str, list[tuple[int, str]], Any]:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    (out,) = verify_file(str(path), SETTINGS, CHECK, {}).outcomes
    return out.status, [(int(f.where.rsplit(":", 1)[1]), f.message) for f in out.findings if f.where], out


def _far_from(lines: list[str], edge: int, at_least_ns: int) -> tuple[int, int]:
    """A pair whose request lies at least ``at_least_ns`` from the log's end (edge -1) or start (edge 0)."""
    end, start = _ns(json.loads(lines[-1])["time"]), _ns(json.loads(lines[0])["time"])
    for i, j in _pairs(lines):
        t = _ns(json.loads(lines[i if edge < 0 else j])["time"])
        if (end - t if edge < 0 else t - start) > at_least_ns:
            return i, j
    raise AssertionError("no pair that far from the edge")


def test_a_response_deleted_from_a_short_log_is_found_at_its_request(tmp_path: Path) -> None:
    lines = _lines()
    i, j = _far_from(lines, -1, 60 * 10**6)
    del lines[j]
    status, found, _ = _verify(tmp_path, lines)
    assert status == "failed"
    assert [n for n, _ in found] == [i + 1]
    assert "goes on for more than" in found[0][1] and "a hop dropped it" in found[0][1]


def test_a_request_deleted_from_a_short_log_is_found_at_its_response(tmp_path: Path) -> None:
    lines = _lines()
    i, j = _far_from(lines, 0, 60 * 10**6)
    del lines[i]
    status, found, _ = _verify(tmp_path, lines)
    assert status == "failed"
    assert [n for n, _ in found] == [j]  # the response moved up one line
    assert "after the log's first entry" in found[0][1]


def test_a_log_cut_between_a_request_and_its_response_is_still_excused(tmp_path: Path) -> None:
    """A rotation between a request and its response: the first piece ends with the request in flight, the second
    begins with the response; both are excused as edges, nothing found."""
    lines = _lines()
    i, _ = _pairs(lines)[len(_pairs(lines)) // 2]
    status, found, out = _verify(tmp_path, lines[: i + 1], "first.log")
    assert status == "passed" and not found
    assert dict(out.tally.excused).get(IN_FLIGHT) == 1
    status, found, _ = _verify(tmp_path, lines[i + 1:], "second.log")
    assert status == "passed" and not found


def test_a_request_in_flight_at_the_end_within_the_bound_is_excused(tmp_path: Path) -> None:
    """A request still being served while the next few are answered: within LATE times the slowest, excused."""
    lines = _lines()
    i, j = _pairs(lines)[-3]
    end = _ns(json.loads(lines[-1])["time"])
    assert end - _ns(json.loads(lines[i])["time"]) < 25 * 10**6  # the last pairs lie within the floor
    del lines[j]
    status, found, _ = _verify(tmp_path, lines)
    assert status == "passed" and not found


def test_the_bound_grows_with_the_slowest_request_the_log_answered() -> None:
    """One request that took 1.5 s (an OIDC login): a request left without response 2 s before the end is within
    LATE times that, so excused; with no slow request answered, the same is a finding."""
    base = _ns("2026-11-30T10:00:00Z")

    def entry(kind: str, rid: str, at_ms: int) -> dict[str, Any]:
        sec, ms = divmod(at_ms, 1000)
        stamp = f"2026-11-30T10:00:{sec:02d}.{ms:03d}000000Z"
        assert _ns(stamp) == base + at_ms * 10**6
        return {"type": kind, "time": stamp, "auth": {"display_name": "token"},
                "request": {"id": rid, "path": "secret/data/x", "operation": "read", "remote_address": "10.0.0.1"}}

    def run(slow_ms: Optional[int]) -> list[str]:
        es = [entry("request", "a", 0), entry("response", "a", slow_ms or 1)]
        es += [entry("request", "lost", 3000)]
        for k in range(5):
            es += [entry("request", f"r{k}", 4000 + k * 200), entry("response", f"r{k}", 4001 + k * 200)]
        ctx = CheckContext(settings=Settings(), ledger=None, entries=[], bad_lines=[], secrets={})
        v = Pairs(ctx)
        batch = vault_block("audit.log")(Block(1, "\n".join(json.dumps(e) for e in es).encode()))
        assert batch is not None
        v.entries(batch)
        return [f.where for f in v.finish()]

    assert run(1500) == []
    assert run(None) == ["audit.log:3"]
    assert LATE * 1500 > 2000 > LATE * 1


def whole_and_in_two(raw: list[bytes], cut: int) -> tuple[Pairs, Pairs]:
    """The completeness visitor fed the lines ``raw`` whole, and fed them as two ranges cut before line ``cut`` + 1
    and merged (as ``--jobs`` reads a file)."""
    ctx = CheckContext(settings=Settings(), ledger=None, entries=[], bad_lines=[], secrets={})
    decode = vault_block("audit.log")
    whole = Pairs(ctx)
    batch = decode(Block(1, b"\n".join(raw)))
    assert batch is not None
    whole.entries(batch)
    first, second = Pairs(ctx), Pairs(ctx)
    second.later_range()
    b1, b2 = decode(Block(1, b"\n".join(raw[:cut]))), decode(Block(cut + 1, b"\n".join(raw[cut:])))
    assert b1 is not None and b2 is not None
    first.entries(b1)
    second.entries(b2)
    first.merge(second)
    return whole, first


def test_read_in_ranges_it_finds_the_same(tmp_path: Path) -> None:
    """``--jobs``: the ranges' longest durations merge, so a range whose pairs are all fast still excuses a request at
    the end within the bound a slow pair of another range sets."""
    lines = _lines()
    i, j = _far_from(lines, -1, 60 * 10**6)
    del lines[j]
    raw = [ln.encode() for ln in lines]
    whole, first = whole_and_in_two(raw, len(raw) // 2)
    assert first.longest == whole.longest > 0
    assert [f.where for f in first.finish()] == [f.where for f in whole.finish()] == [f"audit.log:{i + 1}"]


@pytest.mark.parametrize("name", ["clean.log", "unix-socket.log", "odd/correct.log", "unseen/oidc-login.log"])
def test_correct_real_logs_still_give_no_finding(tmp_path: Path, name: str) -> None:
    lines = (ROOT / name).read_text().splitlines()
    status, found, _ = _verify(tmp_path, lines)
    assert status == "passed" and not found
