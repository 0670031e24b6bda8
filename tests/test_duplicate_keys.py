"""A key written twice in one JSON object (auditlog/dupkeys.py): no producer writes one, readers disagree on which
value counts (RFC 8259 leaves it undefined; msgspec, orjson, Python and Go keep the last), so such a line is an
unreadable entry at its line in every format and on both paths, never the entry one reader makes of it. Each case
is held both ways: the planted line is a finding at its number, the producer's own file gives none."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog import dupkeys
from pytest_auditready.auditlog.source import read_line
from pytest_auditready.checks import required_fields
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.scan import native

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
VAULT = (ROOT / "openbao" / "clean.log").read_bytes().splitlines()
K8S = (ROOT / "k8s" / "real" / "correct.log").read_bytes().splitlines()
TRAIL = json.loads((ROOT / "cloudtrail" / "real" / "correct.json").read_bytes())

needs_c = pytest.mark.skipif(native.lib is None, reason="the C extension is not built")


@pytest.fixture(params=["native", "pure"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "native" and native.lib is None:
        pytest.skip("the C extension is not built")
    if request.param == "pure":
        monkeypatch.setattr(native, "lib", None)
    return str(request.param)


def _bad_lines(log: Path, settings: Settings) -> tuple[str, list[str]]:
    o = verify_file(str(log), settings, [required_fields.CHECK], {}).outcomes[0]
    return o.status, [f.text() for f in o.findings]


def _write(tmp_path: Path, name: str, lines: list[bytes]) -> Path:
    log = tmp_path / name
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    return log


def _add(line: bytes, extra: bytes) -> bytes:
    """``line`` (one JSON object) with ``extra`` ("key":value pairs) added before its closing brace."""
    return line[:-1] + b"," + extra + b"}"


# -- Vault/OpenBao: the block path and the line path, native and pure ------------------------------------------------
VAULT_TWICE = [
    (b'"type":"request"', '"type"'),  # a response entry that also reads as a request
    (b'"error":""', '"error"'),  # an error another reader keeps
    (b'"t\\u0079pe":"request"', '"type"'),  # the same key through an escape: equal once decoded
    (b'"time":"2026-01-01T00:00:00.000000001Z"', '"time"'),  # a hop that added its own time
]


@pytest.mark.parametrize(("extra", "named"), VAULT_TWICE)
def test_a_vault_line_with_a_key_twice_is_a_bad_line_at_its_number(tmp_path: Path, path: str, extra: bytes,
                                                                   named: str) -> None:
    lines = list(VAULT)
    at = next(i for i, ln in enumerate(lines) if b'"type":"response"' in ln and i > 20)
    lines[at] = _add(lines[at], extra)
    status, found = _bad_lines(_write(tmp_path, "audit.log", lines), Settings())
    assert status == FAILED
    twice = [t for t in found if "twice" in t]
    assert len(twice) == 1 and f"Line {at + 1} of" in twice[0] and named in twice[0], found


def test_a_key_twice_in_a_nested_object_and_not_in_two_objects(tmp_path: Path, path: str) -> None:
    lines = list(VAULT)
    at = next(i for i, ln in enumerate(lines) if b'"auth":{' in ln and i > 20)
    lines[at] = lines[at].replace(b'"auth":{', b'"auth":{"display_name":"root",', 1)  # who acted, said twice
    # the same key in two sibling objects, and in an object and the one inside it, is what producers write
    lines[at + 1] = _add(lines[at + 1], b'"x_extra":[{"id":1},{"id":2}],"y_extra":{"id":{"id":3}}')
    _status, found = _bad_lines(_write(tmp_path, "audit.log", lines), Settings())
    twice = [t for t in found if "twice" in t]
    assert len(twice) == 1 and f"Line {at + 1} of" in twice[0] and '"display_name"' in twice[0], found
    assert not any(f"Line {at + 2} of" in t for t in found), found


def test_the_producers_logs_hold_no_key_twice(path: str) -> None:
    """Every real producer's file in the fixtures: not one line is taken for a key written twice."""
    seen = 0
    for f in sorted(ROOT.rglob("*")):
        if f.suffix not in (".log", ".json", ".jsonl") or not f.is_file() or "dup" in f.name:
            continue
        data = f.read_bytes()
        lines = [data] if f.suffix == ".json" else data.splitlines()
        for ln in lines:
            if ln.strip()[:1] == b"{":
                seen += 1
                assert dupkeys.line_duplicates(ln.replace(b"\n", b" ").replace(b"\r", b" ")) == [], (f, ln[:200])
    assert seen > 1000


# -- Kubernetes, JSON lines, CloudTrail, live sources ------------------------------------------------------------
def test_a_kubernetes_event_with_a_key_twice(tmp_path: Path, path: str) -> None:
    lines = list(K8S)
    lines[3] = _add(lines[3], b'"user":{"username":"someone-else"}')  # who acted, said twice
    status, found = _bad_lines(_write(tmp_path, "k8s.log", lines), Settings())
    twice = [t for t in found if "twice" in t]
    assert status == FAILED and len(twice) == 1 and "Line 4 of" in twice[0] and '"user"' in twice[0], found
    assert _bad_lines(_write(tmp_path, "k8s-ok.log", list(K8S)), Settings())[0] == PASSED


def test_a_json_line_with_a_key_twice(tmp_path: Path, path: str) -> None:
    rows = [json.dumps({"ts": f"2026-01-05T08:00:0{i}.123Z", "who": "alice", "what": "kv/app", "verb": "read",
                        "ok": "success", "ip": "10.0.0.1", "rid": f"r{i}"}).encode() for i in range(6)]
    rows[2] = _add(rows[2], b'"who":"mallory"')
    settings = Settings(log_format="jsonl", field_map={"time": "ts", "identity": "who", "resource": "what",
                                                       "action": "verb", "result": "ok", "source": "ip",
                                                       "request_id": "rid"})
    status, found = _bad_lines(_write(tmp_path, "app.jsonl", rows), settings)
    twice = [t for t in found if "twice" in t]
    assert status == FAILED and len(twice) == 1 and "Line 3 of" in twice[0] and '"who"' in twice[0], found


def _trail(tmp_path: Path, name: str, text: bytes) -> Path:
    log = tmp_path / name
    log.write_bytes(gzip.compress(text))
    log.chmod(0o600)
    return log


def test_a_cloudtrail_record_with_a_key_twice_compact_and_pretty(tmp_path: Path, path: str) -> None:
    records = [json.dumps(r, separators=(",", ":")).encode() for r in TRAIL["Records"]]
    records[1] = _add(records[1], b'"eventName":"ListSecrets"')  # the API called, said twice
    compact = b'{"Records":[' + b",".join(records) + b"]}"
    # pretty-printed with the key twice in the record (json.dumps cannot write that): from the compact bytes
    pretty = (b'{\n  "Records": [\n    ' + b",\n    ".join(r.replace(b',"', b',\n      "') for r in records)
              + b"\n  ]\n}\n")
    for name, text in (("compact.json.gz", compact), ("pretty.json.gz", pretty)):
        status, found = _bad_lines(_trail(tmp_path, name, text), Settings(log_format="cloudtrail"))
        twice = [t for t in found if "twice" in t]
        assert status == FAILED and len(twice) == 1 and f"{name}:2]" in twice[0], (name, found)
        assert '"eventName"' in twice[0]
    ok = json.dumps({"Records": TRAIL["Records"]}, indent=2).encode()
    assert _bad_lines(_trail(tmp_path, "ok.json.gz", ok), Settings(log_format="cloudtrail"))[0] == PASSED


def test_a_cloudtrail_file_with_records_twice_hides_no_list(tmp_path: Path, path: str) -> None:
    """{"Records": [...], "Records": [...]}: every reader that keeps the last never sees the first list; the file's
    records are bad lines that say so, not a clean second list."""
    first = json.dumps(TRAIL["Records"][:1], separators=(",", ":")).encode()
    rest = json.dumps(TRAIL["Records"][1:], separators=(",", ":")).encode()
    status, found = _bad_lines(_trail(tmp_path, "two.json.gz", b'{"Records":' + first + b',"Records":' + rest + b"}"),
                               Settings(log_format="cloudtrail"))
    assert status == FAILED and found and all("the file's object holds the key \"Records\" twice" in t
                                              for t in found), found


def test_a_live_line_with_a_key_twice(path: str) -> None:
    line = VAULT[30]
    assert type(read_line("device", 31, line)).__name__ == "AuditEntry"
    bad: Any = read_line("device", 31, _add(line, b'"type":"request"'))
    assert type(bad).__name__ == "BadLine" and '"type"' in bad.reason and "twice" in bad.reason


# -- a number beyond a double's range: Go's encoding/json neither reads nor writes one -------------------------------
BEYOND = [b"1e999999", b"-1e400", b"1" + b"0" * 400, b"1E+309", b"0.001e312"]
WITHIN = [b"1.7976931348623157e308", b"-1.7976931348623157e+308", b"1e-999", b"0.00001e310", b"9" * 300, b"1.5e300"]


@pytest.mark.parametrize("number", BEYOND)
def test_a_vault_line_with_a_number_beyond_a_double_is_a_bad_line_at_its_number(tmp_path: Path, path: str,
                                                                                number: bytes) -> None:
    """OpenBao refuses such a number in a request ("cannot unmarshal number 1e999999 into Go value of type float64",
    seen on a real server) and cannot write one; a line holding one was rewritten, on both paths."""
    lines = list(VAULT)
    at = next(i for i, ln in enumerate(lines) if b'"remote_port":' in ln and i > 20)
    lines[at] = re.sub(rb'"remote_port":\d+', b'"remote_port":' + number, lines[at], count=1)
    lines[at + 2] = _add(lines[at + 2], b'"x_extra":{"n":[1,' + number + b']}')  # a nested one, unread by any field
    status, found = _bad_lines(_write(tmp_path, "audit.log", lines), Settings())
    beyond = [t for t in found if "beyond a double's range" in t]
    assert status == FAILED and len(beyond) == 2, found
    assert f"Line {at + 1} of" in beyond[0] and f"Line {at + 3} of" in beyond[1], found
    assert (number.decode() if len(number) <= 40 else "characters)") in beyond[0]
    bad: Any = read_line("device", at + 1, lines[at])  # the live reader alike
    assert type(bad).__name__ == "BadLine" and "beyond a double's range" in bad.reason


def test_numbers_a_go_producer_writes_are_read(tmp_path: Path, path: str) -> None:
    """The largest double, an underflow to zero (Go reads 1e-999 as 0), 300 digits: read as the vault's."""
    lines = list(VAULT)
    at = next(i for i, ln in enumerate(lines) if b'"type":"response"' in ln and i > 20)
    for k, number in enumerate(WITHIN):
        lines[at + k] = _add(lines[at + k], b'"x_extra":[' + number + b"]")
    assert _bad_lines(_write(tmp_path, "audit.log", lines), Settings())[0] == PASSED
    assert all(dupkeys.problem(b'{"a":' + n + b"}") is None for n in WITHIN)


def test_the_reason_escapes_and_bounds_the_keys() -> None:
    said = dupkeys.reason(["\x1b[31mred", "a" * 500, "b", "c", "d"])
    assert "\x1b" not in said and "a" * 61 not in said and "and 2 more" in said and "keys" in said


# -- the C pass names every line the reference would, and decides alone only where it can -----------------------------
_KEYS = ["a", "b", "id", "type", "t\\u0079pe", "\\u0061", "x\\\\y", "é", "\\ud83d\\ude00", "😀", ""]


def _value(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice(['1', '"v"', '"a\\"b"', 'null', '"{\\"a\\":1}"', '"[,]"', '"x,\\"a\\":"'])
    if r < 0.7:
        return "[" + ",".join(_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    return _object(rng, depth + 1)


def _object(rng: random.Random, depth: int = 0) -> str:
    n = rng.randint(0, 5)
    return "{" + ",".join(f'"{rng.choice(_KEYS)}"{rng.choice([":", " : "])}{_value(rng, depth)}'
                          for _ in range(n)) + "}"


def _lines() -> list[bytes]:
    rng = random.Random(3)
    out = [_object(rng).encode() for _ in range(3000)]
    out += [("{" + ",".join(f'"k{i}":{i}' for i in range(300)) + "}").encode()]  # many keys, none twice
    out += [("{" + ",".join(f'"k{i}":{i}' for i in range(300)) + ',"k7":0}').encode()]  # many keys, one twice
    out += [b"", b"not json", b'{"a":1,"a"', b'{"a":"\\', b'"a":1,"a":2', b'[{"a":1,"a":2}]']
    out += [b"[" * 3000 + b'{"a":1,"a":2}' + b"]" * 3000]  # deeper than Python's recursion limit
    return out


def _json(text: bytes) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@needs_c
def test_key_suspects_names_every_line_with_a_key_twice() -> None:
    assert native.lib is not None
    lines = _lines()
    block = b"\n".join(lines)
    starts, at = [], 0
    for ln in lines:
        starts.append(at)
        at += len(ln) + 1
    named = set(native.lib.key_suspects(block))
    twice = 0
    for s, ln in zip(starts, lines):
        want = dupkeys.duplicate_keys(ln)
        if want:
            twice += 1
            assert s in named, ln[:200]
        if s in named and b"\\" not in ln and len(ln) < 2000 and _json(ln):  # same bytes twice: twice
            assert want, ln[:200]
        assert dupkeys.line_duplicates(ln) == want
    assert twice > 500 and len(named) < len(lines)
    assert dupkeys.odd_lines(block) == {s: dupkeys.reason(dupkeys.duplicate_keys(ln)) for s, ln in zip(starts, lines)
                                        if dupkeys.duplicate_keys(ln)}
