"""Known values (canaries, tokens, --canaries values) are found in every encoding the producer writes (issue 12).

OpenBao and Vault log through Go's encoding/json, which writes ``& < >`` as ``\\u0026 \\u003c \\u003e``, U+2028 and
U+2029 as ``\\u2028 \\u2029``, other control characters as ``\\u00XX`` (``\\n \\r \\t \\" \\\\`` short), and bytes that
are not UTF-8 as ``\\ufffd``; Python's json, .NET's and a shipper that wraps the line in a string of its own write
the same value differently again. Each encoder below is written from those documented rules; each must be found
by the judge (``KnownValues.find``), by the fast block scan and by the line-by-line judge alike, and a real
OpenBao's log_raw device must be reported by line (an HMAC device: nothing)."""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.known import _LINE_BREAK, KnownValues
from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.conftest import assert_no_secret, remember_secret

TAIL = "Zm9vYmFyLXRlc3QtY2FuYXJ5LTQy"  # fixed (not random): xdist workers must collect the same ids
VALUES = {
    "amp-lt-gt": "k&<>" + TAIL,
    "line-separators": "a\u2028b\u2029c-" + TAIL,
    "non-ascii": "p\u00e4ssw\u00f6rd-\u00e9-\U0001f600-" + TAIL,
    "controls": 'x"\\\n\t\x01\x7f/' + TAIL,
    "html-in-the-middle": TAIL[:14] + "</script><b>&amp;" + TAIL[14:],
    "plus-space": "a b+c=" + TAIL,
}
for _v in VALUES.values():
    remember_secret(_v)


# -- the producers' encoders, from their documented rules ---------------------------------------------------------
def go_string(value: str) -> str:
    """The inside of the JSON string Go's encoding/json writes for ``value`` (HTML escaping on, as OpenBao and
    Vault's audit devices leave it)."""
    out = []
    for c in value:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif o < 0x20 or c in "<>&" or c in "\u2028\u2029":
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    return "".join(out)


def go_bytes(data: bytes) -> str:
    """Go's string for bytes that may not be UTF-8: each byte that does not start a valid sequence is \\ufffd."""
    return "".join("\\ufffd" if c == "\ufffd" else go_string(c) for c in data.decode("utf-8", "replace"))


def every_char(value: str, upper: bool = False) -> str:
    """A generic encoder that \\u-escapes every character (UTF-16 units, so a surrogate pair beyond the BMP)."""
    units = value.encode("utf-16-be", "surrogatepass")
    out = "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    return out.upper().replace("\\U", "\\u") if upper else out


def dotnet(value: str) -> str:
    """System.Text.Json's default encoder: HTML-sensitive characters, '+', and everything non-ASCII as \\uXXXX
    with upper-case hex."""
    out = []
    for c in value:
        if c in "&<>'+`" or not c.isascii() or ord(c) < 0x20:
            out.append(every_char(c, upper=True))
        elif c in '"\\':
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def shipped(inner: Callable[[str], str]) -> Callable[[str], str]:
    """A log shipper that wraps the producer's line in a JSON string of its own: every backslash doubled."""
    return lambda v: json.dumps(inner(v))[1:-1]


def lower_pct(v: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(v, safe=""))


def b64(v: str, k: int = 0) -> str:
    return base64.b64encode(b"\0" * k + v.encode()).decode()


ENCODERS: dict[str, tuple[Callable[[str], str], str]] = {
    "go": (go_string, "json-escaped"),
    "python-ascii": (lambda v: json.dumps(v)[1:-1], "json-escaped"),
    "python-utf8": (lambda v: json.dumps(v, ensure_ascii=False)[1:-1], "json-escaped"),
    "every-char": (every_char, "json-escaped"),
    "every-char-upper-hex": (lambda v: every_char(v, upper=True), "json-escaped"),
    "dotnet": (dotnet, "json-escaped"),
    "go-in-a-shipper": (shipped(go_string), "json-escaped"),
    "go-shipped-twice": (shipped(shipped(go_string)), "json-escaped"),
    "url": (lambda v: quote(v, safe=""), "url-encoded"),
    "url-plus": (lambda v: quote_plus(v, safe=""), "url-encoded"),
    "url-lower-hex": (lower_pct, "url-encoded"),
    "url-then-go": (lambda v: go_string(quote(v, safe="/&")), "url-encoded"),
    "base64-go": (lambda v: go_string(b64(v, 1)), "base64"),
    "base64-dotnet": (lambda v: dotnet(b64(v, 2)), "base64"),
    "base64url-unpadded": (lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="), "base64"),
    "hex": (lambda v: v.encode().hex(), "hex"),
    "HEX-every-char": (lambda v: every_char(v.encode().hex().upper()), "HEX"),
}


def line_with(spelled: str) -> bytes:
    """An audit line (as a log_raw device writes it) with ``spelled`` as the inside of one string value."""
    head = '{"time":"2026-01-05T08:00:00.123456789Z","type":"request","auth":{"client_token":"hmac-sha256:' + \
        "ab" * 32 + '"},"request":{"id":"3f0c8a44-1c2e-4d1b-9a55-0b7f1e2d3c4a","operation":"update",' + \
        '"path":"secret/data/app","data":{"data":{"value":"'
    return (head + spelled + '"}}}}').encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def scanner() -> Iterator[LeakScanner]:
    with LeakScanner(VALUES) as s:
        yield s


def fast(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[tuple[str, str]]]:
    return {h.line: {(n, e) for n, e, _ in h.known} for h in scanner.scan_block(b"\n".join(lines), 1) if h.known}


def slow(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[tuple[str, str]]]:
    out = {}
    for n, raw in enumerate(lines, 1):
        h = scanner.judge_line(n, raw)
        if h is not None and h.known:
            out[n] = {(name, e) for name, e, _ in h.known}
    return out


@pytest.mark.parametrize("label", sorted(VALUES))
@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_every_producer_encoding_is_found_the_same_way_fast_and_slow(scanner, label, encoder):
    encode, kind = ENCODERS[encoder]
    spelled = encode(VALUES[label])
    if spelled == VALUES[label]:
        kind = "raw"  # this encoder writes this value as it is (Go: non-ASCII characters)
    lines = [line_with("nothing here"), line_with(spelled), line_with("nothing here either")]
    found = slow(scanner, lines)
    assert set(found) == {2}, found
    assert any(name == label and enc.startswith(kind) for name, enc in found[2]), found
    assert fast(scanner, lines) == found


@pytest.mark.parametrize("label", sorted(VALUES))
def test_go_escaped_value_is_named_json_escaped_under_its_key(scanner, label):
    spelled = go_string(VALUES[label])
    hits = scanner.judge_line(7, line_with(spelled))
    assert hits is not None and hits.line == 7
    assert hits.known == ((label, "raw" if spelled == VALUES[label] else "json-escaped", "value"),)


def test_invalid_utf8_written_as_replacement_characters_is_found(scanner):
    """A value whose non-ASCII characters reached the vault in Latin-1: Go writes each such byte as \\ufffd."""
    value = VALUES["non-ascii"].replace("\U0001f600", "")
    with LeakScanner({"latin": value}) as s:
        lines = [line_with(go_bytes(value.encode("latin-1")))]
        assert "\\ufffd" in lines[0].decode()
        assert fast(s, lines) == slow(s, lines) == {1: {("latin", "json-escaped")}}
        raw_replaced = [line_with(value.encode("latin-1").decode("utf-8", "replace"))]
        assert fast(s, raw_replaced) == slow(s, raw_replaced) == {1: {("latin", "raw")}}


@pytest.mark.parametrize("label", sorted(VALUES))
def test_a_near_miss_is_not_found(scanner, label):
    value = VALUES[label]
    other = value[:-3] + ("X" if value[-3] != "X" else "Y") + value[-2:]
    lines = [line_with(enc(other)) for enc, _ in ENCODERS.values()]
    assert slow(scanner, lines) == {} == fast(scanner, lines)


# -- one rule for every spelling: the judge's shortcut and the block scan's prefilter skip nothing ---------------
_ALPHABET = "aZ9_-+/=. &<>\"\\\n\t\x01é\u2028\U0001f600%"


def _spellings(c: str) -> list[str]:
    """Every way the rules above write ``c`` once: raw, \\u (either case), short escape, %XX (either case)."""
    units = c.encode("utf-16-be", "surrogatepass")
    u = "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    pct = "".join(f"%{b:02X}" for b in c.encode())
    out = [c, u, u.upper().replace("\\U", "\\u"), pct, pct.lower()]
    short = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\n": "\\n", "\t": "\\t"}.get(c)
    if short:
        out.append(short)
    if c == " ":
        out.append("+")
    return out


def _pick(c: str, k: int) -> str:
    """The k-th spelling of ``c``, never a raw newline (it would end the line)."""
    opts = [o for o in _spellings(c) if "\n" not in o]
    return opts[k % len(opts)]


# Values built from the characters every rule touches (fixed: one block scanner serves every example).
_RNG = random.Random(12)
MIXED = {f"mixed:{i}": "".join(_RNG.choice(_ALPHABET) for _ in range(_RNG.randint(8, 24))) for i in range(40)}


@pytest.fixture(scope="module")
def mixed_scanner() -> Iterator[LeakScanner]:
    with LeakScanner(MIXED) as s:
        yield s


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(MIXED)),
    choices=st.lists(st.integers(0, 6), min_size=24, max_size=24),
    depth=st.integers(0, 2),
    noise=st.text(_ALPHABET.replace("\n", "") + "\\u0", max_size=12),
)
def test_any_mixture_of_spellings_is_found_fast_and_slow(mixed_scanner, name, choices, depth, noise):
    value = MIXED[name]
    spelled = "".join(_pick(c, k) for c, k in zip(value, choices))
    for _ in range(depth):
        spelled = json.dumps(spelled)[1:-1]
    text = noise + spelled + noise
    assert name in {h.name for h in KnownValues({name: value}).find(text)}
    lines = [line_with("x"), text.encode("utf-8", "surrogatepass"), line_with(spelled)]
    got = fast(mixed_scanner, lines)
    assert got == slow(mixed_scanner, lines)
    assert name in {n for n, _ in got.get(2, ())} and name in {n for n, _ in got.get(3, ())}


@settings(max_examples=100, deadline=None)
@given(
    value=st.text(_ALPHABET, min_size=8, max_size=16),
    choices=st.lists(st.integers(0, 6), min_size=16, max_size=16),
    cut=st.integers(0, 200),
    insert=st.text(_ALPHABET + "\\u0fFdD%2", max_size=3),
    noise=st.text(_ALPHABET + "\\u0fFdD%2", max_size=20),
)
def test_the_judges_shortcut_agrees_with_every_pattern_run_everywhere(value, choices, cut, insert, noise):
    """``find`` runs a needle's pattern only where its anchor or an escape token of one of its letters is; on a
    spelling of the value, whole or with a few characters cut or slipped in, that must give what running every
    pattern everywhere gives."""
    spelled = "".join(_pick(c, k) for c, k in zip(value, choices))
    at = cut % (len(spelled) + 1)
    text = noise + spelled[:at] + insert + spelled[at + (cut % 3):] + noise
    known = KnownValues({"v": value})
    joined = _LINE_BREAK.sub("", text)  # ``find`` reads a text with line breaks inside encoded runs joined too
    everywhere: set[str] = set()
    for n in known._needles:  # (a name found by one needle needs no other: each pattern compiled costs ~10 ms)
        if n.name not in everywhere and (n.regex.search(text) or n.regex.search(joined)):
            everywhere.add(n.name)
    assert {h.name for h in known.find(text)} == everywhere


def test_the_shortcut_reads_a_text_joined_at_a_line_break_too() -> None:
    """Found by the property above: a line break slipped between the two \\u escapes of a surrogate pair is read
    as base64 wrapped into lines (``_LINE_BREAK``), so the joined text spells the value; running every pattern on
    the text alone did not say so."""
    value = "9999999\U0001f600999999"
    text = "9999\\u0039\\u0039\\u0039\\ud83d\\uD\ne00999\\u0039\\u0039\\u0039"
    known = KnownValues({"v": value})
    assert not any(n.regex.search(text) for n in known._needles)
    assert {h.name for h in known.find(text)} == {"v"}


# -- a real OpenBao: a log_raw device writes the value Go-escaped, an HMAC device writes only its digest ---------
AMP_SCENARIO = '''
import secrets
from pytest_auditready.vault.scenario import ActionSpec

def pytest_auditready_scenario(plan, config):
    plan.secrets["canary:amp"] = "k&<>" + secrets.token_urlsafe(24)
    plan.add(ActionSpec("write-amp", "writer", "POST", plan.data_path("amp"), "create",
                        lambda box: {"options": {"cas": 0}, "data": {"value": box["canary:amp"]}},
                        secrets=("canary:amp",)))
    plan.add(ActionSpec("read-amp", "reader", "GET", plan.data_path("amp"), "read", secrets=("canary:amp",)))
    plan.add(ActionSpec("destroy-amp", "writer", "DELETE", plan.metadata_path("amp"), "delete", phase="cleanup"))
    # Go writes U+2028 as \\u2028, a control character as \\u00XX (live only: a --canaries file is read by line)
    plan.secrets["canary:sep"] = "s\\u2028\\u00e9\\x01" + secrets.token_urlsafe(24)
    plan.add(ActionSpec("write-sep", "writer", "POST", plan.data_path("sep"), "create",
                        lambda box: {"options": {"cas": 0}, "data": {"value": box["canary:sep"]}},
                        secrets=("canary:sep",)))
    plan.add(ActionSpec("destroy-sep", "writer", "DELETE", plan.metadata_path("sep"), "delete", phase="cleanup"))
'''


def _verify_leaks(log: Path, value: str, workdir: Path) -> tuple[int, list[dict[str, str]]]:
    """`auditready verify --canaries FILE LOG --json OUT`: the exit code and the no_secret_leak findings."""
    from pytest_auditready.cli import main

    canaries, out = workdir / "canaries.txt", workdir / f"{log.stem}.json"
    canaries.write_text(value + "\n")
    code = main(["verify", str(log), "--canaries", str(canaries), "--json", str(out)])
    text = out.read_text()
    assert_no_secret(text, "the JSON report")
    findings = [f for o in json.loads(text)["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]]
    return code, findings


def _lines_of(report: str, name: str) -> set[int]:
    """The lines a report names for ``<name>`` written JSON-escaped: "[file:N, ...] <name> ... (json-escaped)
    ...; also on lines A, B."."""
    out: set[int] = set()
    for ln in report.splitlines():
        if f"<{name}>" in ln and "(json-escaped)" in ln:
            first = re.search(r":(\d+)[,\]]", ln)
            assert first is not None, ln
            out.add(int(first.group(1)))
            more = re.search(r"also on lines? ([\d, ]+)", ln)
            out.update(int(n) for n in re.findall(r"\d+", more.group(1) if more else ""))
    return out


@pytest.mark.vault
def test_go_escaped_canary_on_a_log_raw_device_is_reported_live_and_offline(pytester, bao, url_env, tmp_path_factory):
    server = bao(audit_options={"log_raw": "true"}, extra_devices={"hmac": {}})
    url_env(server)
    run = run_audit(pytester, server, conftest=AMP_SCENARIO, seal=False, audit_device="auditready")
    value = run.secrets["canary:amp"]
    remember_secret(value)
    raw_log, hmac_log = server.log_path, Path(server.log_path).parent / "hmac.log"
    data = raw_log.read_bytes()
    assert value.encode() not in data, "the device must have written the value Go-escaped, not raw"
    escaped = go_string(value).encode()
    where = {n for n, ln in enumerate(data.splitlines(), 1) if escaped in ln}
    assert where, "the log_raw device wrote the canary Go-escaped"

    # the live run reports it, by line
    assert "no_secret_leak" in run.failed_checks()
    live_text = run.text("no_secret_leak")
    assert "<canary:amp>" in live_text and "json-escaped" in live_text
    sep = run.secrets["canary:sep"]
    assert go_string(sep).encode() in data and "\\u2028" in go_string(sep)
    sep_lines = {n for n, ln in enumerate(data.splitlines(), 1) if go_string(sep).encode() in ln}
    assert _lines_of(live_text, "canary:sep") == sep_lines
    assert_no_secret_in_outputs(run)

    # offline verify of the same file reports it on the same lines, as json-escaped
    work = tmp_path_factory.mktemp("go-escapes")
    code, findings = _verify_leaks(raw_log, value, work)
    assert code == 1
    mine = [f for f in findings if "<canary:1>" in f["message"]]
    assert mine and all("json-escaped" in f["message"] for f in mine), findings
    offline_lines = _lines_of("\n".join(f"[{f['where']}] {f['message']}" for f in mine), "canary:1")
    assert offline_lines == where
    assert _lines_of(live_text, "canary:amp") == offline_lines
    assert str(raw_log) + ":" in live_text

    # the HMAC device of the same vault logged the same requests with digests only
    assert b"hmac-sha256:" in hmac_log.read_bytes()
    _code, hmac_findings = _verify_leaks(hmac_log, value, work)
    assert hmac_findings == []


def test_a_spelling_the_block_library_misses_is_found_fast():
    """Vectorscan 5.4.12 (hyperscan >= 0.7.30) misses some matches of an alternation with an unbounded repeat,
    the shape of a needle's spelled pattern: with these two values in one database, the first, written once
    JSON-escaped with its dash as an escape inside it, went unseen by the block scan while the judge found it
    (found by the property test above). The block scan now looks for literals only, and for a value with no
    anchor, with Python's engine (KnownValues.prefilters, unanchored)."""
    value = MIXED["mixed:17"]
    spelled = json.dumps("".join(_pick(c, k) for c, k in zip(value, [0, 1] + [0] * 22)))[1:-1]
    lines = [line_with("x"), line_with(spelled)]
    with LeakScanner({"mixed:17": value, "mixed:32": MIXED["mixed:32"]}) as s:
        assert fast(s, lines) == slow(s, lines) == {2: {("mixed:17", "json-escaped")}}
