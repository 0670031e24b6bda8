"""Matching a live run's actions to their entries when the vault's clock is far off (red team rt72, F3 and N1).

A vault whose clock (or a hop that re-times entries) was more than 15 minutes off had its denials and 204 answers,
which carry no request id, reported as dropped by a pipeline filter. Their window is now centred where the entries
the request ids tie to actions put the vault's clock, and look-alike actions (one path, operation and identity)
take their entries in the order they were sent, so an offset's estimate off by a fraction of a millisecond cannot
give one its neighbour's entry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.auditlog.match import clock_offset, match_actions
from pytest_auditready.auditlog.model import Action, AuditEntry
from tests.test_time_rt72 import _go, _ns

BASE = 1795373509_000000000
SKEW = 2 * 10**9


def _entry(line: int, kind: str, ns: int, path: str, name: str = "token-r", rid: str = "") -> AuditEntry:
    return AuditEntry("a.log", line, {"time": _go(ns), "type": kind, "auth": {"display_name": name},
                                      "request": {"id": rid, "path": path, "operation": "read"}})


def _read(offset: int) -> tuple[Action, list[AuditEntry]]:
    """A read the vault answered with its request id, its entries ``offset`` ns off the client's clock."""
    a = Action("read", "reader", "token-r", "GET", "p/ok", "read", BASE, BASE + 1_000_000, 200, request_id="r0")
    return a, [_entry(1, "request", BASE + offset + 300_000, "p/ok", rid="r0"),
               _entry(2, "response", BASE + offset + 700_000, "p/ok", rid="r0")]


def _revokes(offset: int, n: int = 3, gap: int = 1_000_000, first_line: int = 3,
             estimate_error: int = 0) -> tuple[list[Action], list[AuditEntry]]:
    """``n`` revocations by root ``gap`` ns apart with no request id returned (204), logged ``offset`` ns off (and
    ``estimate_error`` ns more than what the read shows)."""
    acts = [Action(f"revoke-{k}", "admin", "root", "POST", "auth/token/revoke-accessor", "read",
                   BASE + 10_000_000 + k * gap, BASE + 10_400_000 + k * gap, 204) for k in range(n)]
    entries = []
    for k in range(n):
        at = BASE + offset + estimate_error + 10_100_000 + k * gap
        entries += [_entry(first_line + 2 * k, "request", at, "auth/token/revoke-accessor", "root", f"v{k}"),
                    _entry(first_line + 2 * k + 1, "response", at + 200_000, "auth/token/revoke-accessor", "root",
                           f"v{k}")]
    return acts, entries


def _taken(m: dict[str, Any], acts: list[Action]) -> list[Optional[str]]:
    return [m[a.name].request.request_id if m[a.name].request else None for a in acts]


def test_a_vault_clock_half_an_hour_off_still_matches_the_actions_without_a_request_id() -> None:
    """Entries 30 minutes before the client's times: the read (request id) shows it, so the denial (none) is
    matched to its own entries that far off, for timestamp_accuracy to report; with no action to show the offset,
    an entry 20 minutes off is still nobody's."""
    off = -1800 * 10**9
    ok, entries = _read(off)
    denied = Action("read-denied", "reader", "token-r", "GET", "p/denied", "read", BASE + 5_000_000,
                    BASE + 6_000_000, 403)
    entries += [_entry(3, "request", BASE + off + 5_300_000, "p/denied", rid="d1"),
                _entry(4, "response", BASE + off + 5_700_000, "p/denied", rid="d1")]
    m = match_actions([ok, denied], entries, SKEW)
    assert m["read-denied"].entries == (entries[2], entries[3]), m
    assert m["read-denied"].by == "path, operation, identity", m
    assert match_actions([denied], entries[2:], SKEW)["read-denied"].entries == ()
    far = [_entry(3, "request", BASE - 1200 * 10**9, "p/denied", rid="d1")]
    assert match_actions([denied], far, SKEW)["read-denied"].entries == ()


def test_the_offset_is_the_median_of_what_the_request_ids_show() -> None:
    """The offset is taken from the request entry against the send time and the response against the receipt."""
    ok, entries = _read(-1800 * 10**9)
    by_id = {"r0": {"request": entries[0], "response": entries[1]}}
    # request: +0.3 ms after the send; response: 0.3 ms before the receipt; the median of the two is the later
    assert clock_offset([ok], by_id) == -1800 * 10**9 + 300_000
    assert clock_offset([], by_id) == 0


@pytest.mark.parametrize("error", [-500_000, -200_000, 0, 200_000, 500_000])
@pytest.mark.parametrize("offset", [-1800 * 10**9, -2_002_000_000, 5 * 10**9, 3 * 10**9 + 1_999_000_000])
def test_look_alike_actions_a_millisecond_apart_each_take_their_own_entry(offset: int, error: int) -> None:
    """Three revocations a millisecond apart, no request id returned, the vault's clock ``offset`` off as the read
    shows, and the look-alikes' own offset ``error`` ns off that estimate (the time an entry takes to be written
    varies): each takes its own entries, in the order sent (rt72 N1; a 5 s shift once gave one action its
    neighbour's entry, off by +5.001 s)."""
    read, entries = _read(offset)
    acts, more = _revokes(offset, estimate_error=error)
    m = match_actions([read, *acts], entries + more, SKEW)
    assert _taken(m, acts) == ["v0", "v1", "v2"], m
    assert [m[a.name].response.request_id for a in acts if m[a.name].response] == ["v0", "v1", "v2"], m


def test_look_alikes_near_max_skew_keep_their_order() -> None:
    """The vault 2 s (max_skew) behind, less a fraction of a millisecond: the first action's entry falls just
    outside its window and the second's just inside the first's; each still takes its own (rt72 N1)."""
    offset = -SKEW - 50_000
    read, entries = _read(offset)
    acts, more = _revokes(offset, n=4, gap=150_000 + 400_000)
    m = match_actions([read, *acts], entries + more, SKEW)
    assert _taken(m, acts) == ["v0", "v1", "v2", "v3"], m


def test_a_dropped_look_alike_is_missing_and_the_rest_keep_their_entries() -> None:
    """Of three revocations the vault logged two (the middle one dropped): two actions are matched, one is not,
    and no entry is matched twice; the earliest entry goes to the first action."""
    read, entries = _read(0)
    acts, more = _revokes(0)
    m = match_actions([read, *acts], entries + more[:2] + more[4:], SKEW)
    taken = _taken(m, acts)
    assert taken[0] == "v0" and sorted(t for t in taken if t) == ["v0", "v2"] and taken.count(None) == 1, m


def test_overlapping_look_alikes_are_left_as_the_window_matched_them() -> None:
    """Two revocations sent at once (each sent before the other's answer came back): the vault may log either
    first, so the closest entry in each window stands."""
    read, entries = _read(0)
    a = Action("revoke-a", "admin", "root", "POST", "auth/token/revoke-accessor", "read", BASE + 10_000_000,
               BASE + 12_000_000, 204)
    b = Action("revoke-b", "admin", "root", "POST", "auth/token/revoke-accessor", "read", BASE + 10_500_000,
               BASE + 20_000_000, 204)
    more = [_entry(3, "request", BASE + 11_000_000, "auth/token/revoke-accessor", "root", "x"),
            _entry(4, "request", BASE + 16_000_000, "auth/token/revoke-accessor", "root", "y")]
    m = match_actions([read, a, b], entries + more, SKEW)
    assert {m["revoke-a"].request.request_id, m["revoke-b"].request.request_id} == {"x", "y"}, m


@pytest.mark.vault
def test_a_live_run_against_a_vault_half_an_hour_behind_fails_timestamp_accuracy_alone(
        pytester: pytest.Pytester, bao: Any, url_env: Any, pipeline: Any, tmp_path: Path) -> None:
    """A real OpenBao whose entries reach the log 30 minutes behind (a host's clock, or a hop that writes local time
    as UTC): every action, the denials and the 204 answers too, is found in the log, and timestamp_accuracy alone
    fails, saying by how much; before, completeness and denied_access_logged said the entries were dropped."""
    from tests.auditrun import run_audit

    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"

    def behind(e: dict[str, Any]) -> Any:
        e["time"] = _go(_ns(e["time"]) - 1800 * 10**9)
        return e

    pipeline(server.log_path, shipped, behind)
    run = run_audit(pytester, server, shipped, log_wait=1.0)
    assert run.result.ret == 1
    assert run.failed_checks() == {"timestamp_accuracy"}, run.failed_checks()
    offs = [float(x) for x in re.findall(r"off by ([+-]\d+\.\d+) s", run.text("timestamp_accuracy"))]
    assert offs and all(-1801.0 < off < -1799.0 for off in offs), offs
