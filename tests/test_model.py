"""RFC 3339 parsing, precision as written vs significant, and the canonical fields of a Vault entry."""

from __future__ import annotations

import pytest

from pytest_auditready.auditlog.match import match_actions
from pytest_auditready.auditlog.model import Action, AuditEntry, parse_rfc3339
from pytest_auditready.auditlog.vault_json import parse_line


@pytest.mark.parametrize(
    "text, ns, written, significant",
    [
        ("2026-11-22T18:51:49.90598361Z", 1795373509905983610, 8, 8),
        ("2026-11-22T18:51:49Z", 1795373509000000000, 0, 0),
        ("2026-11-22T18:51:49.120000000Z", 1795373509120000000, 9, 2),
        ("2026-11-22T19:51:49.5+01:00", 1795373509500000000, 1, 1),
        # RFC 3339 5.6's note: a space for the "T" (Python's str() of an aware datetime)
        ("2026-11-22 18:51:49.905983+00:00", 1795373509905983000, 6, 6),
        ("2026-11-22 18:51:49Z", 1795373509000000000, 0, 0),
    ],
)
def test_parse_rfc3339(text, ns, written, significant):
    ts = parse_rfc3339(text)
    assert ts is not None
    assert (ts.ns, ts.fraction_digits, ts.significant_digits) == (ns, written, significant)


@pytest.mark.parametrize("text", ["2026-11-22T18:51:49.5", "2026-11-22  18:51:49Z", "2026-11-22_18:51:49Z",
                                  "2026-13-01T00:00:00Z", "", None, 5])
def test_not_rfc3339(text):
    assert parse_rfc3339(text) is None


LINE = (
    b'{"time":"2026-11-22T18:52:10.229353095Z","type":"response","auth":{"display_name":"token-x",'
    b'"accessor":"hmac-sha256:18fb"},"request":{"id":"98197fde","operation":"read","path":"secret/data/a",'
    b'"remote_address":"127.0.0.1"},"error":"1 error occurred:\\n\\t* permission denied\\n\\n"}'
)


def test_fields_of_a_denied_response():
    e = parse_line("a.log", 7, LINE)
    assert isinstance(e, AuditEntry)
    assert e.where == "a.log:7"
    assert {f: e.get_field(f) for f in ("identity", "resource", "action", "source", "request_id")} == {
        "identity": "token-x", "resource": "secret/data/a", "action": "read", "source": "127.0.0.1",
        "request_id": "98197fde",
    }
    assert e.result.startswith("error: 1 error occurred")


@pytest.mark.parametrize("raw, reason", [(b'{"time": ', "malformed JSON"), (b"\xff\xfe{}", "not UTF-8"),
                                         (b"[1,2]", "no JSON object"), (b'"x"', "no JSON object")])
def test_bad_lines_never_raise(raw, reason):
    bad = parse_line("a.log", 3, raw)
    assert not isinstance(bad, AuditEntry)
    assert reason in bad.reason and bad.line == 3


def _entry(line, typ, t, path="p", op="read", name="token-r", rid=""):
    return AuditEntry("a.log", line, {"time": t, "type": typ, "auth": {"display_name": name},
                                      "request": {"id": rid, "path": path, "operation": op}})


def _action(sent, recv, rid="", path="p"):
    return Action("a1", "reader", "token-r", "GET", path, "read", sent, recv, 403, request_id=rid)


def test_match_by_request_id_then_by_window():
    base = 1795373509_000000000
    entries = [
        _entry(1, "request", "2026-11-22T18:51:49.1Z", rid="r1"),
        _entry(2, "response", "2026-11-22T18:51:49.2Z", rid="r1"),
        _entry(3, "request", "2026-11-22T18:51:59.1Z"),  # 10 s later: outside the window
    ]
    m = match_actions([_action(base, base + 300_000_000, rid="r1")], entries, 2_000_000_000)["a1"]
    assert m.complete and m.by == "request id"
    m2 = match_actions([_action(base, base + 300_000_000)], entries[:2], 2_000_000_000)["a1"]
    assert m2.complete and m2.by.startswith("path")
    # 10 s outside the window, nothing inside it: the entry is the action's all the same (its run's path and
    # identity), for timestamp_accuracy to say the vault's clock is off; 20 minutes away, no entry is
    m3 = match_actions([_action(base, base + 300_000_000)], entries[2:], 2_000_000_000)["a1"]
    assert m3.entries == (entries[2],) and m3.by == "path, operation, identity"
    far = [_entry(3, "request", "2026-11-22T19:11:59.1Z")]
    assert match_actions([_action(base, base + 300_000_000)], far, 2_000_000_000)["a1"].entries == ()
    m4 = match_actions([_action(base, base + 300_000_000, path="other")], entries[:2], 2_000_000_000)["a1"]
    assert m4.entries == ()


def test_an_action_with_a_request_id_takes_no_other_request_s_entries() -> None:
    """The vault said which request it logged: a hop that dropped its entries leaves it unmatched, never matched to
    another client's request on the same path with the same token (red team rt24: completeness passed, or the vault's
    clock was blamed)."""
    base = 1795373509_000000000
    theirs = [_entry(1, "request", "2026-11-22T18:51:49.1Z", rid="theirs"),
              _entry(2, "response", "2026-11-22T18:51:49.2Z", rid="theirs")]
    m = match_actions([_action(base, base + 300_000_000, rid="mine")], theirs, 2_000_000_000)["a1"]
    assert m.entries == () and m.by == ""
    stripped = [_entry(1, "request", "2026-11-22T18:51:49.1Z"), _entry(2, "response", "2026-11-22T18:51:49.2Z")]
    m = match_actions([_action(base, base + 300_000_000, rid="mine")], stripped, 2_000_000_000)["a1"]
    assert m.complete and m.by.startswith("path")  # no id logged at all: found as before, by what it names


def test_a_response_is_paired_with_its_own_request_not_a_closer_look_alike() -> None:
    """Two runs with one token, an action without a request id: the response matched is the one answering the
    request matched, even when another client's look-alike response is closer in time."""
    from pytest_auditready.auditlog.match import match_actions
    from pytest_auditready.auditlog.model import Action, AuditEntry

    def entry(kind: str, rid: str, t: str, line: int) -> AuditEntry:
        return AuditEntry("a.log", line, {"type": kind, "time": f"2026-01-01T00:00:0{t}Z", "auth": {"display_name": "root"},
                                          "request": {"id": rid, "path": "auth/token/revoke-accessor",
                                                      "operation": "update"}})

    base = 1767225600 * 1_000_000_000
    a = Action("revoke", "root", "root", "POST", "auth/token/revoke-accessor", "update", base + 1_000_000_000,
               base + 3_000_000_000, 204)
    entries = [entry("request", "theirs", "1.7", 1), entry("request", "mine", "1.95", 2),
               entry("response", "theirs", "2.05", 3), entry("response", "mine", "2.6", 4)]
    m = match_actions([a], entries, 2_000_000_000)["revoke"]
    assert m.request is not None and m.response is not None
    assert m.request.request_id == m.response.request_id == "mine"


def test_a_failed_login_is_an_error_by_every_parser() -> None:
    """OpenBao writes a failed login's response with no top-level error, only response.data.error (HMAC'd): the
    line parser, the block decoder and the live entry all read it as an error, not a success."""
    import json
    from pathlib import Path

    from pytest_auditready.auditlog.vault_json import parse_line
    from pytest_auditready.offline.reader import Block, vault_block, vault_parser

    log = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "odd" / "correct.log"
    lines = log.read_bytes().splitlines()
    failed = [i for i, ln in enumerate(lines, 1) if b'"data":{"error":"hmac-sha256:' in ln.replace(b" ", b"")
              and json.loads(ln)["type"] == "response" and not json.loads(ln).get("error")]
    assert failed, "the fixture holds a failed login"
    n = failed[0]
    raw = lines[n - 1]
    by_line = vault_parser("f", "")(n, raw)
    by_block = vault_block("f", "")(Block(n, raw + b"\n" + raw, 2))
    entry = parse_line("f", n, raw)
    assert by_block is not None and not isinstance(entry, type(by_line)) and hasattr(entry, "result")
    results = {by_line.result, by_block.result[0], entry.result}  # type: ignore[union-attr]
    assert len(results) == 1 and results.pop().startswith("error: hmac-sha256:")


def test_times_ns_is_parse_time_for_every_time_of_a_utc_batch() -> None:
    """The ns column the visitors share (``Entries.times_ns``) says what parse_time says of each time, whatever
    its fraction's length, across seconds not seen before and seen already."""
    from pytest_auditready.auditlog.model import Entries, Record, parse_time

    times = ["2026-01-05T08:00:00.5Z", "2026-01-05T08:00:00.123456789Z", "2026-01-05T08:00:01.1Z",
             "2031-07-31T23:59:59.000000001Z", "2026-01-05T08:00:00.25Z", "1999-12-31T23:59:59.9Z"]
    batch = Entries.of([Record("f", n, "request", t, "id", "p", "read", "", "10.0.0.1", "r") for n, t in
                        enumerate(times, 1)])
    assert batch.utc_times()
    assert batch.times_ns() == [parse_time(t)[0] for t in times]  # type: ignore[index]
    assert batch.times_ns() is batch.times_ns()  # made once a batch
