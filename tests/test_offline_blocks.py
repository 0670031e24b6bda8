"""The offline engine's fast path (a whole block decoded at once, its entries checked as columns) says exactly
what reading the same file line by line and judging each entry on its own (``Visitor.entry``) says: same
findings, same text, file:line and request id, whatever is odd about the lines. Blocks are made small here so
that a recorded log spans many of them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.auditlog.model import Entries, Record
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import Visitor
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from pytest_auditready.offline import reader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
CLEAN, LEAKY, CANARIES = FIXTURES / "clean.log", FIXTURES / "leaky.log", FIXTURES / "canaries.txt"
OFFLINE = offline_checks(BUILTIN)
SETTINGS = Settings(require_tamper_evidence=False)


def outcomes(path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool, block: int, settings: Settings = SETTINGS
             ) -> list[Any]:
    """Every outcome of every offline check, with its findings as (text, where, request id)."""
    with monkeypatch.context() as m:
        m.setattr(reader, "BLOCK", block)
        used: list[int] = []
        real = reader.vault_block

        def counting(file: str, prefix: str = "") -> Callable[[reader.Block], Optional[Entries]]:
            decode = real(file, prefix)

            def wrapped(blk: reader.Block) -> Optional[Entries]:
                batch = decode(blk) if fast else None
                used.append(batch is not None)
                return batch

            return wrapped

        m.setattr(reader, "vault_block", counting)
        if not fast:  # the reference: every entry on its own, through each check's ``entry``
            for check in OFFLINE:
                if check.visitor is not None and isinstance(check.visitor, type):
                    m.setattr(check.visitor, "entries", Visitor.entries)
        res = verify_file(str(path), settings, OFFLINE, read_canaries(str(CANARIES)))
    out = [(o.check_id, o.status, o.reason, [(f.text(), f.where, f.request_id) for f in o.findings])
           for o in res.outcomes]
    out.append(("fast blocks", any(used)))
    return out


def same_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, block: int = 4096,
                   settings: Settings = SETTINGS) -> list[Any]:
    fast = outcomes(path, monkeypatch, True, block, settings)
    slow = outcomes(path, monkeypatch, False, block, settings)
    assert fast[:-1] == slow[:-1]
    assert fast[-1] == ("fast blocks", True), "no block took the fast path: the test proves nothing"
    return fast[:-1]


def write(tmp_path: Path, lines: list[bytes], name: str = "audit.log") -> Path:
    p = tmp_path / name
    p.write_bytes(b"\n".join(lines) + b"\n")
    p.chmod(0o600)
    return p


def lines_of(src: Path, copies: int = 3) -> list[bytes]:
    base = [ln for ln in src.read_bytes().splitlines() if ln.strip()]
    return base * copies


def set_field(line: bytes, fn: Callable[[dict[str, Any]], None]) -> bytes:
    d = json.loads(line)
    fn(d)
    return json.dumps(d, separators=(",", ":")).encode()


def test_one_malformed_line_among_good_ones_is_reported_at_its_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lines = lines_of(CLEAN)
    lines[40] = lines[40][: len(lines[40]) // 2]
    log = write(tmp_path, lines)
    out = same_both_ways(log, monkeypatch, block=1 << 16)
    rf = next(o for o in out if o[0] == "required_fields")
    assert [w for _t, w, _r in rf[3]] == [f"{log}:41"]
    assert "malformed JSON" in rf[3][0][0]


def test_clean_and_leaky_logs_read_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for src in (CLEAN, LEAKY):
        log = write(tmp_path, lines_of(src), src.name)
        for block in (1 << 12, 1 << 19):
            same_both_ways(log, monkeypatch, block)


def _shift_time(text: str) -> Callable[[bytes], bytes]:
    def fn(ln: bytes) -> bytes:
        return set_field(ln, lambda d: d.__setitem__("time", text))
    return fn


def _drop(*keys: str) -> Callable[[bytes], bytes]:
    def fn(d: dict[str, Any]) -> None:
        node = d
        for k in keys[:-1]:
            node = node.get(k) or {}
        if isinstance(node, dict):
            node.pop(keys[-1], None)
    return lambda ln: set_field(ln, fn)


# What pipelines do to lines (each applied to a few lines of a recorded log).
EDITS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda ln: ln[: len(ln) // 2],
    "blank": lambda ln: b"",
    "whitespace only": lambda ln: b"   ",
    "leading whitespace": lambda ln: b"  " + ln,
    "CRLF": lambda ln: ln + b"\r",
    "two objects on a line": lambda ln: ln + ln,
    "two objects and a space": lambda ln: ln + b" " + ln,
    "one object over two lines": lambda ln: ln.replace(b',"', b',\n"', 1),
    "a brace on a line of its own": lambda ln: ln.replace(b'{"', b'{\n{"', 1),
    "not UTF-8": lambda ln: ln.replace(b'"type"', b'"t\xff\xfepe"'),
    "UTF-8 in the time": lambda ln: ln.replace(b'"time":"', b'"time":"\xc3\xa9', 1),
    "device prefix": lambda ln: b"prefix: " + ln,
    "a string": lambda ln: b'"just a string"',
    "a list": lambda ln: b"[1, 2]",
    "response a list": lambda ln: set_field(ln, lambda d: d.__setitem__("response", [1])),
    "response null": lambda ln: set_field(ln, lambda d: d.__setitem__("response", None)),
    "time a number": lambda ln: set_field(ln, lambda d: d.__setitem__("time", 5)),
    "one digit": _shift_time("2026-11-22T19:15:59.1Z"),
    "trailing zero": _shift_time("2026-11-22T19:15:59.10Z"),
    "no fraction": _shift_time("2026-11-22T19:15:59Z"),
    "back an hour": _shift_time("2026-11-22T18:15:59.488842857Z"),
    "back a little": _shift_time("2026-11-22T19:15:58.999999999Z"),
    "ahead a day": _shift_time("2026-11-23T19:15:58.999999999Z"),
    "an offset": _shift_time("2026-11-22T19:15:59.488842857+01:00"),
    "lowercase t": _shift_time("2026-11-22t19:15:59.488842857Z"),
    "leap second": _shift_time("2026-11-22T23:59:60.5Z"),
    "no such day": _shift_time("2026-02-30T19:15:59.5Z"),
    "ten digits": _shift_time("2026-11-22T19:15:59.1234567890Z"),
    "a non-ASCII digit": _shift_time("2026-11-22T19:15:5\u0669.5Z"),
    "two times": _shift_time("2026-11-22T19:15:59.5Z\n2026-11-22T19:15:59.5Z"),
    "empty time": _shift_time(""),
    "blank time": _shift_time(" "),
    "no source": _drop("request", "remote_address"),
    "no request id": _drop("request", "id"),
    "no display name": _drop("auth", "display_name"),
    "no auth": _drop("auth"),
    "no error": _drop("error"),
    "blank error": lambda ln: set_field(ln, lambda d: d.__setitem__("error", "  ")),
    "tab path": lambda ln: set_field(ln, lambda d: d.get("request", {}).__setitem__("path", "\t")),
    "re-encoded": lambda ln: set_field(ln, lambda d: None),
    "malformed digest": lambda ln: ln.replace(b"hmac-sha256:", b"hmac-sha256:xyz", 1),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_odd_line_reads_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    lines = lines_of(CLEAN, 4)
    for i in (30, 31, 250):
        lines[i] = EDITS[edit](lines[i])
    log = write(tmp_path, lines)
    same_both_ways(log, monkeypatch, block=8192)


@pytest.mark.parametrize("seed", range(6))
def test_odd_lines_together_read_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    seed: int) -> None:
    """Several kinds in one block (a blank line and two objects on a line keep the count of lines)."""
    rng = random.Random(seed)
    lines = lines_of(LEAKY if seed % 2 else CLEAN, 4)
    for _ in range(12):
        i = rng.randrange(len(lines))
        lines[i] = rng.choice(list(EDITS.values()))(lines[i])
    lines[100] = EDITS["two objects on a line"](lines[100])
    lines[102] = b""
    lines[200] = EDITS["one object over two lines"](lines[200])
    lines[203] = EDITS["two objects on a line"](lines[203])
    log = write(tmp_path, lines)
    same_both_ways(log, monkeypatch, block=rng.choice([2048, 8192, 1 << 16]))


def test_with_a_device_prefix_a_line_without_it_is_a_bad_line(tmp_path: Path) -> None:
    """The device writes its prefix before every entry: with log_prefix set, an entry without it came from
    something else (it was read as the device's before), and is a bad line at its line; the others are read."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.engine.files import offline_checks, verify_file

    lines = [b"prefix: " + ln for ln in lines_of(CLEAN, 1)]
    lines[5] = lines[5][len(b"prefix: "):]
    log = write(tmp_path, lines)
    res = verify_file(str(log), Settings(require_tamper_evidence=False, log_prefix="prefix: "),
                      offline_checks(BUILTIN), {})
    out = {o.check_id: o for o in res.outcomes}["required_fields"]
    texts = [f.text() for f in out.findings]
    assert [t for t in texts if "without the prefix" in t] == [t for t in texts if "Line 6 of" in t], texts
    assert any("Line 6 of" in t and 'without the prefix "prefix: "' in t for t in texts), texts
    assert res.stats.lines == len(lines) and res.bad_lines == 1 and res.entries == len(lines) - 1


def test_entries_batch_gives_back_its_records() -> None:
    recs = [Record("f", n, "request", "2026-01-02T03:04:05.1Z", "who", "path", "read", "", "1.2.3.4", f"id{n}")
            for n in (3, 5, 9)]
    b = Entries.of(recs)
    assert len(b) == 3 and b.where(1) == "f:5"
    assert [vars_of(r) for r in b.records()] == [vars_of(r) for r in recs]
    assert b.utc_times()


def vars_of(r: Record) -> tuple[Any, ...]:
    return tuple(getattr(r, k) for k in Record.__slots__)


def test_times_out_of_order_with_trimmed_fractions_read_the_same_both_ways(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent requests log times slightly out of order, and RFC3339Nano trims trailing zeros: the latest
    time so far, and the one that goes back too far, are the same both ways."""
    lines = lines_of(CLEAN, 4)
    fractions = ["5", "45", "123456789", "1", "10", "100000000", "9", "95", "0000001"]
    out = []
    for i, ln in enumerate(lines):
        second = 10 + i // 9
        stamp = f"2026-11-22T19:16:{second % 60:02d}.{fractions[i % 9]}Z" if second < 60 else \
            f"2026-11-22T19:17:{second % 60:02d}.{fractions[i % 9]}Z"
        if i == 300:
            stamp = "2026-11-22T19:16:11.5Z"  # back by more than max_skew
        out.append(set_field(ln, lambda d, s=stamp: d.__setitem__("time", s)))
    log = write(tmp_path, out)
    result = same_both_ways(log, monkeypatch, block=8192)
    order = next(o for o in result if o[0] == "timestamp_accuracy")
    # (the synthetic fractions also put some responses before their requests: those findings are not file order)
    assert [w for t, w, _r in order[3] if "goes back in time" in t] == [f"{log}:301"]


_RESULT_EDITS = {
    "denied": lambda d: d.get("auth", {}).get("policy_results", {}).__setitem__("allowed", False),
    "allowed not a bool": lambda d: d.get("auth", {}).get("policy_results", {}).__setitem__("allowed", "true"),
    "no policy results": lambda d: d.get("auth", {}).pop("policy_results", None),
    "an error": lambda d: d.__setitem__("error", "  permission denied \n"),
    "a response without one": lambda d: d.pop("response", None),
    "only an accessor": lambda d: [d.get("auth", {}).pop(k, None) for k in ("display_name", "entity_id")],
    "only an entity": lambda d: d.get("auth", {}).__setitem__("display_name", ""),
}


def test_block_columns_are_the_line_parsers_fields() -> None:
    """Field by field, the block decoder's columns are what the line parser makes of each line (identity and
    result are derived inline there, for speed)."""
    lines = lines_of(CLEAN, 1) + lines_of(LEAKY, 1)
    for i, fn in enumerate(_RESULT_EDITS.values()):
        for j in range(i, len(lines), len(_RESULT_EDITS)):
            lines[j] = set_field(lines[j], fn)
    data = b"\n".join(lines)
    batch = reader.vault_block("f.log")(reader.Block(1, data))
    assert batch is not None, "the block should take the fast path"
    parse = reader.vault_parser("f.log")
    records = [parse(n, raw) for n, raw in enumerate(lines, 1)]
    assert [vars_of(r) for r in batch.records()] == [vars_of(r) for r in records]
    results = {r.result for r in records}
    assert {"allowed", "success", ""} <= results and any(r.startswith("error: ") for r in results)
    assert len({r.identity for r in records}) > 2
