"""The per-core fast paths of issue 16 say exactly what the plain per-entry algorithm says.

``Review.entries`` picks request entries from the columns, walks to their raw lines without splitting the block,
keeps identities by auth bytes and reads UTC times inline; ``Pairs.entries`` keeps (file, line) and formats a
place only for a finding. Each is held here to an oracle written the plain way (one entry at a time, every raw
line from a split, every time through ``parse_time``, every place as text), over real OpenBao lines in the shapes
the fast paths take shortcuts on: CRLF line ends, times with an offset, batches whose lines are not in order or
whose raw block is another file's, lines the vault refused, and requests dropped or left in flight.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.model import Entries, Record, parse_time
from pytest_auditready.checks.access_policy import RawLines, who
from pytest_auditready.checks.base import CheckContext
from pytest_auditready.checks.completeness import PAIR_WINDOW, Pairs
from pytest_auditready.cli.access import _accessor
from pytest_auditready.config import Settings
from pytest_auditready.offline.reader import vault_parser
from pytest_auditready.review import _OWN, Review

ROOT = Path(__file__).resolve().parent.parent
VAULT = Settings(log_format="vault")
LOGS = [ROOT / "fixtures" / "openbao" / "clean.log", *sorted((ROOT / "fixtures" / "review").glob("*.log"))]


class PlainReview(Review):
    """The review's per-entry algorithm as first written: a raw line from a split block, ``who`` on every line,
    ``parse_time`` on every time (the oracle)."""

    def _setup(self) -> None:
        super()._setup()
        self.plain_raw = RawLines()

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.plain_raw.block(file, first_line, data)

    def entries(self, batch: Entries) -> None:
        for t in batch.time:
            p = parse_time(t)
            if p is not None:
                self.first = p[0] if self.first is None else min(self.first, p[0])
                self.last = p[0] if self.last is None else max(self.last, p[0])
        for i, (typ, path) in enumerate(zip(batch.type, batch.resource)):
            if typ != "request" or not path or _OWN.match(path) is not None:
                continue
            self._sampled([batch.request_id[i]])  # one request at a time
            ts = parse_time(batch.time[i])
            raw = self.plain_raw.get(batch.file, batch.lines[i])
            w = who(raw) if raw is not None else None
            error = batch.result[i].startswith("error:")
            if w is None:
                dn, eid, acc, denied = batch.identity[i], "", "", False
            else:
                dn, eid = w.display_name, w.entity_id
                acc, denied = _accessor(w.accessor) if w.accessor else "", error or w.refused
            self._count(path, dn, eid, acc, batch.source[i], batch.action[i] or "(none)",
                        ts[0] if ts is not None else None, denied)


def _lines(seed: int) -> list[bytes]:
    """Real OpenBao lines, shuffled in runs and with some times moved to an offset (the same instant)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for log in LOGS:
        out += [ln for ln in log.read_bytes().splitlines() if ln.startswith(b"{")]
    rng.shuffle(out)
    for k in rng.sample(range(len(out)), len(out) // 10):
        d = json.loads(out[k])
        t = d.get("time", "")
        if t.endswith("Z") and len(t) > 20:
            hh = int(t[11:13])
            d["time"] = f"{t[:11]}{(hh + 2) % 24:02d}{t[13:-1]}+02:00" if hh < 22 else t
            out[k] = json.dumps(d, separators=(",", ":")).encode()
    return out


def _feed(visitor: Any, file: str, lines: list[bytes], seed: int, crlf: bool) -> None:
    """Blocks of random sizes, each fed as raw text then as column batches (in order, reversed, or with the
    raw block of another file), as the driver feeds them."""
    rng = random.Random(seed)
    parse = vault_parser(file)
    n, at = 1, 0
    while at < len(lines):
        chunk = lines[at : at + rng.randint(1, 40)]
        data = b"\n".join(ln + (b"\r" if crlf else b"") for ln in chunk)
        shape = rng.choice(["plain", "plain", "reversed", "other"])
        visitor.block("other.log" if shape == "other" else file, n, data)
        recs = [parse(n + k, ln) for k, ln in enumerate(chunk)]
        assert all(isinstance(r, Record) for r in recs)
        if shape == "reversed":
            recs = recs[::-1]
        visitor.entries(Entries.of(recs))  # type: ignore[arg-type]
        n, at = n + len(chunk), at + len(chunk)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("crlf", [False, True])
def test_the_review_says_what_the_plain_per_entry_review_says(seed: int, crlf: bool) -> None:
    lines = _lines(seed)
    fast, plain = Review(VAULT), PlainReview(VAULT)
    _feed(fast, "audit.log", lines, seed, crlf)
    _feed(plain, "audit.log", lines, seed, crlf)
    assert plain.requests > 100 and plain.denied > 0  # the shapes were fed: requests, refused ones among them
    assert fast.state() == plain.state()
    assert json.dumps(fast.report(), sort_keys=True) == json.dumps(plain.report(), sort_keys=True)


def test_a_raw_line_is_found_past_the_end_of_a_block_as_none() -> None:
    """Entries whose line numbers reach past the raw block fed are counted from their columns alone (as a
    split block's missing line said)."""
    line = (ROOT / "fixtures" / "review" / "clean.log").read_bytes().splitlines()[0]
    rec = vault_parser("audit.log")(5, line)
    assert isinstance(rec, Record)
    fast, plain = Review(VAULT), PlainReview(VAULT)
    for v in (fast, plain):
        v.block("audit.log", 1, line + b"\n" + line)  # lines 1 and 2 (and an empty 3rd): line 5 is not there
        v.entries(Entries.of([rec]))
    assert fast.state() == plain.state()
    ((_, _, _, _, who_list),) = fast.state()["paths"]
    assert [(dn, eid) for dn, eid, _ in who_list] == [(rec.identity, "")]


class PlainPairs(Pairs):
    """completeness' pairing one Record at a time, every place kept as text (the oracle)."""

    def entries(self, batch: Entries) -> None:
        for rec in batch.records():
            self.entry(rec)


def _pairs(seed: int) -> list[Record]:
    rng = random.Random(seed)
    parse = vault_parser("audit.log")
    lines = [ln for ln in (ROOT / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines()
             if ln.startswith(b"{")]
    recs: list[Record] = []
    for k, ln in enumerate(lines * 3):
        d = json.loads(ln)
        if rng.random() < 0.05:
            continue  # a dropped line: its partner has none
        if k >= len(lines):  # later copies: fresh ids, times moved on past the pairing window
            d.setdefault("request", {})["id"] = f"{d.get('request', {}).get('id', '')}-{k // len(lines)}"
            p = parse_time(d["time"])
            assert p is not None
            s = (p[0] + (k // len(lines)) * 3 * PAIR_WINDOW) // 10**9
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{p[0] % 10**9:09d}"
            d["time"] = stamp[: 20 + rng.randint(1, 9)] + "Z"  # 1 to 9 fraction digits
        r = parse(k + 1, json.dumps(d).encode())
        assert isinstance(r, Record)
        recs.append(r)
    return recs


@pytest.mark.parametrize("seed", range(4))
def test_pairs_column_path_says_what_the_record_path_says(seed: int) -> None:
    recs = _pairs(seed)
    ctx = CheckContext(settings=VAULT, ledger=None, entries=[], bad_lines=[], secrets={})
    fast, plain = Pairs(ctx), PlainPairs(ctx)
    rng = random.Random(seed)
    at = 0
    while at < len(recs):
        batch = recs[at : at + rng.randint(1, 50)]
        fast.entries(Entries.of(batch))
        plain.entries(Entries.of(batch))
        at += len(batch)
    found = list(fast.finish())
    assert found and [f.__dict__ for f in found] == [f.__dict__ for f in plain.finish()]
    assert fast.excused == plain.excused and fast.found == plain.found
