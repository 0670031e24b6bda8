"""completeness offline: a response entry repeats its request entry. OpenBao writes both entries of a request from
one request struct, so they agree on request.path, request.operation, the connection (remote_address, remote_port)
and, but at a login, who sent it; and a request refused before it was handled (its request entry records an error)
is answered with an error. An edited half (a path, a port or the sender rewritten, an error taken out of the
response) is a finding at the response naming the request; every real pair of the recorded logs agrees. The same
holds for a pair read in two ranges (``--jobs``) and for a pair split between two files of a set (rotation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import completeness
from pytest_auditready.checks.base import PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from tests.test_completeness_late import whole_and_in_two

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CORRECT = ROOT / "openbao/odd/correct.log"  # recorded from OpenBao 2.7.2: logins, KV reads and writes, a denial
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)


def _lines() -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in CORRECT.read_text().splitlines()]


def _dump(entries: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(e, separators=(",", ":")).encode() for e in entries]


def _write(tmp_path: Path, entries: list[dict[str, Any]], name: str = "audit.log") -> Path:
    p = tmp_path / name
    p.write_bytes(b"\n".join(_dump(entries)) + b"\n")
    p.chmod(0o600)
    return p


def _findings(path: Path, log_set: tuple[str, ...] = ()) -> tuple[str, list[tuple[int, str]]]:
    res = verify_file(str(path), SETTINGS, [completeness.CHECK], {}, log_set)
    (o,) = res.outcomes
    return o.status, [(int(f.where.rsplit(":", 1)[1]), f.message) for f in o.findings if f.where]


def _pair(entries: list[dict[str, Any]], denied: bool = False) -> tuple[int, int]:
    """The indexes of a request entry and its response entry (a refused request's when ``denied``), a few lines
    apart in the middle of the log."""
    for i, e in enumerate(entries):
        if (e["type"] != "request" or bool(e.get("error")) != denied or not e["request"].get("id")
                or not e["request"].get("remote_port")):
            continue
        rid = e["request"]["id"]
        j = next((j for j in range(i + 1, len(entries)) if entries[j]["type"] == "response"
                  and entries[j]["request"]["id"] == rid), None)
        if j is not None and i > 2:
            return i, j
    raise AssertionError("no such pair in the recorded log")


def test_the_recorded_log_and_every_real_log_agree_pair_by_pair(tmp_path: Path) -> None:
    for name in ("odd/correct.log", "clean.log", "unix-socket.log", "unseen/oidc-login.log"):
        status, found = _findings(_write(tmp_path, [json.loads(ln) for ln in
                                                   (ROOT / "openbao" / name).read_text().splitlines()]))
        assert status == PASSED and not found, (name, found)


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(e: dict[str, Any]) -> None:
        e["request"][field] = value
    return edit


def _auth(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(e: dict[str, Any]) -> None:
        e["auth"][field] = value
    return edit


def _no_error(e: dict[str, Any]) -> None:
    e.pop("error", None)
    e["response"] = {"data": {"value": "hmac-sha256:" + "ab" * 32}}


@pytest.mark.parametrize(("half", "edit", "named"), [
    ("response", _set("path", "secret/data/other"), "request.path"),
    ("request", _set("path", "secret/data/other"), "request.path"),
    ("response", _set("operation", "delete"), "request.operation"),
    ("response", _set("remote_address", "10.9.9.9"), "remote_address"),
    ("response", _set("remote_port", 1), "remote_port"),
    # who sent it: both entries' auth come from the one token the request carried (red team rt17)
    ("request", _auth("display_name", "token-admin"), "who sent it"),
    ("response", _auth("display_name", "token-admin"), "who sent it"),
    # under the same display name (every token auth/token/create makes is "token"): another entity, another
    # accessor, another token's digest (red team rt26)
    ("request", _auth("entity_id", "5a1c7b3e-0000-4000-8000-000000000001"), "who sent it"),
    ("request", _auth("accessor", "hmac-sha256:" + "cd" * 32), "who sent it"),
    ("response", _auth("client_token", "hmac-sha256:" + "cd" * 32), "who sent it"),
    ("response", _auth("display_name", ""), "who sent it"),  # taken out of one half, the token's digests left
])
def test_an_edited_half_is_named_at_the_response(tmp_path: Path, half: str, edit: Callable[[dict[str, Any]], None],
                                                 named: str) -> None:
    entries = _lines()
    i, j = _pair(entries)
    edit(entries[i if half == "request" else j])
    status, found = _findings(_write(tmp_path, entries))
    assert status != PASSED
    assert [line for line, _ in found] == [j + 1], found
    assert named in found[0][1] and f"audit.log:{i + 1}" in found[0][1]


def test_a_login_whose_response_names_the_token_it_made_is_no_finding(tmp_path: Path) -> None:
    """A login's response entry carries the token the login made (the recorded approle login sent with a token
    present names another accessor in its response): not an edit."""
    entries = _lines()
    logins = [e for e in entries if e["request"].get("path") == "auth/approle/login"]
    assert logins and any((e.get("auth") or {}).get("accessor") for e in logins)
    for e in logins:
        if e["type"] == "response":
            e.setdefault("auth", {})["display_name"] = "approle-made"
    status, found = _findings(_write(tmp_path, entries))
    assert status == PASSED and not found, found


def test_a_refused_request_answered_as_allowed_is_named(tmp_path: Path) -> None:
    entries = _lines()
    i, j = _pair(entries, denied=True)
    assert "permission denied" in entries[i]["error"]
    _no_error(entries[j])
    status, found = _findings(_write(tmp_path, entries))
    assert status != PASSED
    assert [line for line, _ in found] == [j + 1] and "the result" in found[0][1], found


def test_read_in_two_ranges_it_finds_the_same(tmp_path: Path) -> None:
    """``--jobs``: a pair cut by the ranges' boundary is compared when the ranges merge."""
    entries = _lines()
    i, j = _pair(entries)
    entries[j]["request"]["path"] = "secret/data/other"
    whole, first = whole_and_in_two(_dump(entries), i + 1)  # the request ends the first range, its response not
    expected = [f"audit.log:{j + 1}"]
    assert [f.where for f in first.finish()] == [f.where for f in whole.finish()] == expected


def test_a_pair_split_between_two_files_of_a_set_is_compared(tmp_path: Path) -> None:
    """A rotation between a request entry and its response entry: the set's judge compares the two halves."""
    entries = _lines()
    i, j = _pair(entries)
    head, tail = entries[: i + 1], entries[i + 1:]
    k = j - i - 1
    a = _write(tmp_path, head, "audit.log.1")
    good = _write(tmp_path, tail, "audit.log")
    names = (str(a), str(good))
    assert [_findings(Path(n), names)[1] for n in names] == [[], []]
    tail[k]["request"]["path"] = "secret/data/other"
    _write(tmp_path, tail, "audit.log")
    found = [f for n in names for f in _findings(Path(n), names)[1]]
    assert [line for line, _ in found] == [k + 1], found
    assert "request.path" in found[0][1] and "audit.log.1" in found[0][1]


def test_read_line_by_line_the_whole_sender_is_compared_too(tmp_path: Path) -> None:
    """CRLF line ends take the line-by-line reader (not the block decoder): the sender it keeps is as whole."""
    entries = _lines()
    i, j = _pair(entries)
    entries[i]["auth"]["entity_id"] = "5a1c7b3e-0000-4000-8000-000000000001"
    p = tmp_path / "audit.log"
    p.write_bytes(b"\r\n".join(_dump(entries)) + b"\r\n")
    p.chmod(0o600)
    status, found = _findings(p)
    assert status != PASSED
    assert [line for line, _ in found] == [j + 1] and "who sent it" in found[0][1], found


def _later(e: dict[str, Any], seconds: int) -> None:
    import datetime

    head, frac = e["time"][:19], e["time"][19:]
    t = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(seconds=seconds)
    e["time"] = t.strftime("%Y-%m-%dT%H:%M:%S") + frac


@pytest.mark.parametrize(("gap", "late"), [(119, False), (200, True), (86_400, True)])
def test_a_pair_split_between_two_files_more_than_the_window_apart_is_no_pair(tmp_path: Path, gap: int,
                                                                             late: bool) -> None:
    """A response opening the next file of a set more than completeness_window after the request that ends the file
    before: one pass over both files expires the request before the response comes (two findings); the set paired
    them (red team rt23). Within the window, still a pair."""
    entries = _lines()
    i, j = _pair(entries)
    head, tail = entries[: i + 1], entries[i + 1:]
    for e in tail:
        _later(e, gap)
    a = _write(tmp_path, head, "audit.log.1")
    b = _write(tmp_path, tail, "audit.log")
    names = (str(a), str(b))
    found = []
    for n in names:
        (o,) = verify_file(n, SETTINGS, [completeness.CHECK], {}, names).outcomes
        found += [(Path(f.where.rsplit(":", 1)[0]).name, int(f.where.rsplit(":", 1)[1])) for f in o.findings]
        assert all("completeness_window" in f.message and f"{gap} s later" in f.message for f in o.findings)
    assert sorted(found) == ([("audit.log", j - i), ("audit.log.1", i + 1)] if late else []), found


@pytest.mark.parametrize(("back", "found"), [(1, False), (5, True)])
def test_a_rotated_file_that_begins_before_the_one_before_it_ends_is_named(tmp_path: Path, back: int,
                                                                         found: bool) -> None:
    """The vault writes the old file until it reopens its path: the next file never begins before the last ends,
    but by a reopen's jitter, within max_skew, as one file's order goes back. Its first pair timed 5 s back passed
    as a set where the same bytes as one file fail timestamp_accuracy (red team rt23)."""
    entries = _lines()
    k = next(k for k in range(len(entries) // 2, len(entries) - 1)
             if entries[k]["type"] == "request" and entries[k + 1]["type"] == "response"
             and entries[k]["request"]["id"] == entries[k + 1]["request"]["id"])
    head, tail = entries[:k], entries[k:]
    for e in tail[:2]:
        _later(e, -back)
    names = (str(_write(tmp_path, head, "audit.log.1")), str(_write(tmp_path, tail, "audit.log")))
    said = [f for n in names for f in verify_file(n, SETTINGS, [completeness.CHECK], {}, names).outcomes[0].findings]
    assert bool(said) == found, [f.message for f in said]
    if found:
        (f,) = said
        assert "never overlap in time" in f.message and f.where.endswith("audit.log.1"), f.message
