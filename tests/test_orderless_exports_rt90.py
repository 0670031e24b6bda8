"""Exports that keep no time order (red team rt90 F2). AWS documents that an export task's file holds chunks of a log
group's events in no guaranteed order ("Time-based sorting on chunks of log data inside an exported file is not
guaranteed", CreateExportTask), and an Elasticsearch search (or elasticdump's scroll) gives hits in shard order
unless sorted. A request entry whose chunk or shard comes after its response's is their pair there, not lines a hop
reordered: completeness said so at every such pair. A response really dropped is still found, and the vault's own
file, written in order, still fails on the same reordering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LINES = [ln for ln in (FIXTURES / "openbao" / "clean.log").read_text().splitlines() if ln.strip()]
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"


def _pair_cut() -> int:
    """An index that splits a request (before it) from its response (at it)."""
    for i in range(1, len(LINES)):
        a, b = json.loads(LINES[i - 1]), json.loads(LINES[i])
        if (a["type"], b["type"]) == ("request", "response") and a["request"]["id"] == b["request"]["id"]:
            return i
    raise AssertionError("no pair in the fixture")


CUT = _pair_cut()


def _dropped() -> int:
    """A response entry (index) halfway through the log whose request entry is in it: dropping it leaves that
    request alone, far in time from either end (where a request may be in flight when a range ends)."""
    entries = [json.loads(ln) for ln in LINES]
    asked = {e["request"].get("id"): i for i, e in enumerate(entries) if e["type"] == "request"}
    return next(i for i in range(len(LINES) // 2, len(LINES))
                if entries[i]["type"] == "response" and asked.get(entries[i]["request"].get("id"), i) < i)


def _time_ms(line: str) -> str:
    t = json.loads(line)["time"]  # 2026-...T..:..:..(.fraction)Z
    whole, _, frac = t.rstrip("Z").partition(".")
    return f"{whole}.{(frac + '000')[:3]}Z"


def _cloudwatch(lines: list[str]) -> list[str]:
    return [f"{_time_ms(ln)} {ln}" for ln in lines]


def _elastic(lines: list[str]) -> list[str]:
    return [json.dumps({"_index": "logs-openbao-2026.12.07", "_id": f"d{i:06d}", "_score": 1.0,
                        "_source": {"@timestamp": _time_ms(ln), "message": ln}}) for i, ln in enumerate(lines)]


def _reordered(lines: list[str]) -> list[str]:
    """The chunk from the cut on first, then the one before it: a request's entry after its response's."""
    return lines[CUT:] + lines[:CUT]


EXPORTS = {"cloudwatch-export": (_cloudwatch, "export.log"), "elasticsearch-hits": (_elastic, "hits.ndjson")}


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_an_export_in_chunks_out_of_time_order_is_no_finding(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], export: str) -> None:
    """Fails without the fix: completeness found "the request entry comes after its own response entry"."""
    frame, name = EXPORTS[export]
    rc, found, text = verify_lines(tmp_path, capsys, frame(_reordered(LINES)), CONFIG, name=name)
    assert found == {}, text
    assert rc == 0 and "came after its own response entry and was paired with it" in text, text


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_a_response_dropped_from_such_an_export_is_found_at_its_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], export: str) -> None:
    frame, name = EXPORTS[export]
    drop = _dropped()
    rid = json.loads(LINES[drop])["request"]["id"]
    kept = [ln for i, ln in enumerate(LINES) if i != drop]
    lines = _reordered(kept)
    request_at = next(i for i, ln in enumerate(lines) if json.loads(ln)["request"].get("id") == rid) + 1
    rc, found, text = verify_lines(tmp_path, capsys, frame(lines), CONFIG, name=name)
    assert found.get("completeness") == [request_at], text
    assert rc == 1


def test_the_vault_s_own_file_reordered_so_still_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The device writes in order: there the same reordering is lines a hop moved."""
    rc, found, text = verify_lines(tmp_path, capsys, _reordered(LINES), CONFIG)
    assert found.get("completeness") == [len(LINES) - CUT + CUT], text
    assert rc == 1 and "comes after its own response entry" in text, text
