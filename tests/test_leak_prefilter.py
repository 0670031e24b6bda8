"""The fast leak scan (a Hyperscan prefilter, then detect-secrets as judge) must find everything the slow path
finds: judging every line whole. These tests compare the two on recorded OpenBao lines and on generated values
built to sit at the prefilter's edges (run lengths, where the first non-hex character is, which key holds it)."""

from __future__ import annotations

import base64
import json
import secrets
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_auditready.scan.hyperscan import LeakScanner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openbao"
CANARIES = {f"canary:{i}": v for i, v in enumerate((FIXTURES / "canaries.txt").read_text().split(), 1)}


@pytest.fixture(scope="module")
def scanner():
    with LeakScanner(CANARIES) as s:
        yield s


def slow(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    """Line -> what the judge finds when handed every line whole."""
    out = {}
    for n, raw in enumerate(lines, 1):
        hits = scanner.judge_line(n, raw)
        if hits is not None:
            out[n] = {h.kind for h in hits.generic} | {f"{name}/{enc}" for name, enc, _ in hits.known}
    return out


def fast(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    out = {}
    for hits in scanner.scan_block(b"\n".join(lines), 1):
        out[hits.line] = {h.kind for h in hits.generic} | {f"{name}/{enc}" for name, enc, _ in hits.known}
    return out


def missed(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    want, got = slow(scanner, lines), fast(scanner, lines)
    return {n: kinds - got.get(n, set()) for n, kinds in want.items() if kinds - got.get(n, set())}


@pytest.mark.parametrize("name", ["clean.log", "leaky.log", "leaky-raw.log"])
def test_recorded_logs_fast_scan_misses_nothing(scanner, name):
    lines = (FIXTURES / name).read_bytes().splitlines()
    assert missed(scanner, lines) == {}
    if name != "clean.log":
        assert fast(scanner, lines), "the leaky fixtures hold planted secrets"


def _line(key: str, value: object) -> bytes:
    """An OpenBao-like line with ``value`` under ``key`` in the request data (log_raw: values are not hashed)."""
    entry = {
        "time": "2026-01-05T08:00:00.123456789Z",
        "type": "request",
        "auth": {"client_token": "hmac-sha256:" + "ab" * 32, "display_name": "token-auditready-reader"},
        "request": {"id": "3f0c8a44-1c2e-4d1b-9a55-0b7f1e2d3c4a", "client_id": "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8=",
                    "operation": "update", "path": "secret/data/app", "data": {key: value}},
    }
    return json.dumps(entry, separators=(",", ":")).encode()


def _hexrun(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


# Values at the prefilter's edges. Each is flagged by detect-secrets under a neutral key.
EDGE_VALUES = {
    "sha1-like lowercase hex (40)": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "uppercase hex (40)": "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3",
    "short hex (12)": "9f8e7d6c5b4a",
    "first non-hex character at 30": _hexrun(30) + "GHIJKLMNOPQRSTUVWXYZ",
    "base64 (32 bytes)": base64.b64encode(secrets.token_bytes(32)).decode(),
    "urlsafe (23 chars)": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(23)) + "",
}


@pytest.mark.parametrize("key", ["data", "id", "token", "client_idx", "x_id", "entity_ids", "API_ID", "path"])
@pytest.mark.parametrize("label", sorted(EDGE_VALUES))
def test_edge_values_fast_scan_misses_nothing(scanner, key, label):
    value = EDGE_VALUES[label]
    lines = [_line(key, value), _line("list", [value, "x"]), _line(key, "plain"), _line("k", {value: 1})]
    assert missed(scanner, lines) == {}


def test_edge_values_are_found_under_a_neutral_key(scanner):
    """The edges above are real findings, so the comparison is not vacuous: a prefilter that dropped one of them
    would fail it."""
    for label, value in EDGE_VALUES.items():
        if label == "urlsafe (23 chars)":
            continue  # 23 random characters repeat one about half the time, and then stay under 4.5 bits
        got = fast(scanner, [_line("data", value)])
        assert got and any("High Entropy" in k for k in got[1]), label


def test_id_keys_are_left_to_detect_secrets_rule(scanner):
    """A run under a key ending in "_id" is not handed to the judge (detect-secrets drops it there), under "id"
    it is."""
    value = EDGE_VALUES["base64 (32 bytes)"]
    assert fast(scanner, [_line("entity_id", value)]) == {} == slow(scanner, [_line("entity_id", value)])
    assert fast(scanner, [_line("id", value)])


alphabet = string.ascii_letters + string.digits + "+/=_-\\\"':{}[],. é"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["data", "id", "x_id", "x_ID", "secret", "path", "client_id", "display_name", "a" * 30])
    | st.text(alphabet, max_size=30),
    value=st.text(alphabet, min_size=0, max_size=60)
    | st.builds(lambda a, b: a + b, st.text("0123456789abcdef-", max_size=40), st.text(alphabet, max_size=30)),
    shape=st.sampled_from(["value", "list", "key", "nested"]),
)
def test_generated_values_fast_scan_misses_nothing(scanner, key, value, shape):
    v: object = {"value": value, "list": [value, value], "key": {value: value}, "nested": {"k": {key: value}}}[shape]
    assert missed(scanner, [_line(key, v)]) == {}


@pytest.mark.parametrize("value, flagged", [
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4, False, id="digest"),  # skipped, as the judge skips it
    pytest.param("hmac-sha256:" + "0123456789ABCDEF" * 4, True, id="uppercase"),
    pytest.param("hmac-sha256:" + "ghijklmnopqrstuv" * 4, True, id="not-hex"),
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4 + "0", True, id="65-digits"),
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4 + "\\\"", True, id="escaped-quote-after"),
])
def test_digest_shaped_values_under_a_keyword(scanner, value, flagged):
    """A well-formed digest under a keyword ("password":"hmac-sha256:...") is passed over without the judge; any
    other value of that shape is still judged."""
    lines = [_line("password", value)]
    assert missed(scanner, lines) == {}
    assert bool(fast(scanner, lines)) is flagged
