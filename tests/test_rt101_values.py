"""Red team rt101, findings A and B: values a real OpenBao 2.7.2 writes in clear that are no leak, and map keys that
look like digests (fixtures/openbao/rt101-values, README there).

Decisions an auditor can read here:
- A mount tuned with allowed_response_headers (the PKI docs tell operators to allow Replay-Nonce, Link and Location
  for ACME) has its plugin's headers written in response.headers, never HMAC'd. ACME's Replay-Nonce (RFC 8555
  6.5.1, "1*base64url") is handed to any client, unauthenticated ones too: in that shape it is judged only by the
  detectors of a secret's own format (a GitHub token placed there is still found); the same random value under any
  other header, or a value of another shape under Replay-Nonce, is judged as usual. Location, Link, Retry-After,
  Last-Modified and Cache-Control read as no secret and stay judged by every detector (a credential in a URL is
  found); a credential header (Authorization, X-Vault-Token, a session cookie) audited in clear stays a finding.
- The audit broker digests values, never a map's keys (internal/audit/hashstructure.go): a key that starts with
  "hmac-sha256:" is no digest, at any depth and with escapes in it; a value that starts so and is not 64 hex digits
  stays malformed, also one holding an escaped quote and a colon ("hmac-sha256:k\\":x"). Each is held on the
  C extension's walk, Hyperscan's database and the regex alone (the flag is a prefilter: the key is told in Python,
  the same on every path), and in a process of its own with AUDITREADY_PURE_PYTHON=1 and without.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import integrity_digest, no_secret_leak
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.checks.integrity_digest import object_key
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.scan.secrets import GenericScanner, public_header
from tests.conftest import remember_secret
from tests.test_native import _both
from tests.test_unseen_vault_options import _edit

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "rt101-values"
ACME = HERE / "acme-unauth.log"
NONCE_LINE = 41  # new-nonce's response: Link and Replay-Nonce in response.headers
ACCOUNT_LINE = 43  # new-account's response: Link, Location and Replay-Nonce
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)


def _copy(src: Path, tmp_path: Path, lines: list[str] | None = None) -> Path:
    path = tmp_path / src.name
    path.write_text("".join(ln + "\n" for ln in lines) if lines is not None else src.read_text())
    path.chmod(0o600)
    return path


def _outcome(path: Path, check: Any) -> Outcome:
    (o,) = verify_file(str(path), SETTINGS, [check.CHECK], {}).outcomes
    return o


def _lines_of(o: Outcome) -> list[int]:
    return sorted({int(f.where.rsplit(":", 1)[1]) for f in o.findings if ":" in f.where})


def _headers(n: int, **more: list[str]) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["response"]["headers"].update(more)


# -- A: ACME's Replay-Nonce and the other response headers -----------------------------------------------------------
def test_the_real_acme_log_has_no_leak() -> None:
    """Eight responses of a real ACME exchange carry a Replay-Nonce in clear (lines 41-55): no finding (each was a
    Base64 High Entropy String)."""
    lines = ACME.read_text().splitlines()
    nonces = [json.loads(ln)["response"]["headers"]["Replay-Nonce"][0] for ln in lines[40:]
              if '"Replay-Nonce"' in ln]
    assert len(nonces) == 8 and all(len(n) == 62 for n in nonces)
    o = _outcome(ACME, no_secret_leak)
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]


def test_the_real_acme_log_agrees_native_and_pure(tmp_path: Path) -> None:
    _both(tmp_path, [str(ACME), "--format", "vault"])


_RANDOM = random.Random(101)  # (fixed values: a test's id is the same in every process of a run, -n 2)


def _b64url(size: int) -> str:
    return base64.urlsafe_b64encode(bytes(_RANDOM.randrange(256) for _ in range(size))).decode().rstrip("=")


@pytest.mark.parametrize("nonce", [
    "dmF1bHQw" + _b64url(40),  # OpenBao's and Vault's (nonceutil: "vault0", IV, sealed counter): 62 characters
    _b64url(16),  # Dogtag's 22 characters
    _b64url(32),  # a 256-bit nonce: 43
], ids=["openbao-62", "dogtag-22", "bits256-43"])
@pytest.mark.parametrize("name", ["Replay-Nonce", "replay-nonce", "REPLAY-NONCE"])
def test_replay_nonces_of_every_server_s_shape_are_no_secret(name: str, nonce: str) -> None:
    """RFC 8555 6.5.1: a Replay-Nonce is 1*base64url, of whatever length the server picks; the header's name in any
    case (a plugin's headers keep its spelling; audited request headers are written lower-case)."""
    assert public_header(name, nonce)
    with GenericScanner() as g:
        assert g.scan_value(name, nonce) == ()


def test_the_other_acme_headers_in_their_real_shapes_pass(tmp_path: Path) -> None:
    """Location and Link as the engine writes them (lines 41, 43), and the headers the PKI docs add or the engine sets
    beside them (Last-Modified, Cache-Control, a Retry-After's seconds and date), and an entity tag (RFC 9110 8.8.3:
    quoted, strong or weak) a plugin may set: no finding."""
    lines = _edit(ACME.read_text().splitlines(), NONCE_LINE, _headers(
        NONCE_LINE, **{"Cache-Control": ["no-store"], "Last-Modified": ["Mon, 07 Dec 2026 20:24:00 GMT"],
                       "Retry-After": ["120"], "retry-after": ["Mon, 07 Dec 2026 20:26:00 GMT"],
                       "ETag": ['"' + _b64url(30) + '"'], "Etag": ['W/"' + _b64url(24) + '"']}))
    o = _outcome(_copy(ACME, tmp_path, lines), no_secret_leak)
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]


def _planted(tmp_path: Path, line: int, **headers: list[str]) -> Outcome:
    lines = _edit(ACME.read_text().splitlines(), line, _headers(line, **headers))
    return _outcome(_copy(ACME, tmp_path, lines), no_secret_leak)


def test_a_nonce_s_random_value_under_another_header_is_found_at_its_line(tmp_path: Path) -> None:
    """The exemption is the header's, by its protocol: the same kind of random value under a header of no such
    protocol (a plugin's own, allowed by the operator) is a Base64 High Entropy String at its line."""
    value = remember_secret(base64.urlsafe_b64encode(secrets.token_bytes(46)).decode().rstrip("="))
    o = _planted(tmp_path, ACCOUNT_LINE, **{"X-Upstream-Key": [value]})
    assert o.status == FAILED and _lines_of(o) == [ACCOUNT_LINE], [f.text() for f in o.findings]
    assert "'X-Upstream-Key'" in o.findings[0].message and "High Entropy" in o.findings[0].message


def test_a_token_placed_under_replay_nonce_is_still_found(tmp_path: Path) -> None:
    """Only the detectors that judge a value by its randomness are left out: a GitHub token (base64url's alphabet)
    written as the header's value is found by its own format."""
    token = remember_secret("ghp_" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                                             for _ in range(36)))
    o = _planted(tmp_path, NONCE_LINE, **{"Replay-Nonce": [token]})
    assert o.status == FAILED and _lines_of(o) == [NONCE_LINE], [f.text() for f in o.findings]
    assert "GitHub Token" in o.findings[0].message


def test_a_replay_nonce_of_another_shape_is_judged_as_usual(tmp_path: Path) -> None:
    """Standard base64 with '+', '/' and padding is no base64url: no nonce by RFC 8555, judged by every detector."""
    value = remember_secret(base64.b64encode(b"\xfb\xff" + secrets.token_bytes(43)).decode())
    assert not public_header("Replay-Nonce", value)
    o = _planted(tmp_path, NONCE_LINE, **{"Replay-Nonce": [value]})
    assert o.status == FAILED and _lines_of(o) == [NONCE_LINE], [f.text() for f in o.findings]


def test_a_credential_in_a_location_url_is_found(tmp_path: Path) -> None:
    """Location stays judged by every detector: a URL with a password in its user information is found."""
    url = "https://deploy:" + remember_secret(secrets.token_urlsafe(18)) + "@acme.example/v1/pki/acme/account/1"
    o = _planted(tmp_path, ACCOUNT_LINE, Location=[url])
    assert o.status == FAILED and _lines_of(o) == [ACCOUNT_LINE], [f.text() for f in o.findings]


@pytest.mark.parametrize(("name", "value"), [
    ("authorization", "Bearer {}"),
    ("x-vault-token", "hvs.{}"),
    ("cookie", "session={}"),
])
def test_credential_request_headers_audited_in_clear_stay_findings(tmp_path: Path, name: str, value: str) -> None:
    """A request header named in sys/config/auditing/request-headers with hmac=false, on the ACME account's request
    entry (line 42): a credential header is a finding whatever its value's shape."""
    secret = remember_secret(secrets.token_urlsafe(24))
    lines = _edit(ACME.read_text().splitlines(), ACCOUNT_LINE - 1,
                  lambda e: e["request"].setdefault("headers", {}).update({name: [value.format(secret)]}))
    o = _outcome(_copy(ACME, tmp_path, lines), no_secret_leak)
    assert o.status == FAILED and ACCOUNT_LINE - 1 in _lines_of(o), [f.text() for f in o.findings]


def test_a_session_cookie_a_mount_lets_through_in_a_response_is_found_at_its_line(tmp_path: Path) -> None:
    """A plugin's Set-Cookie, in response.headers by the mount's allowed_response_headers (never HMAC'd): a session
    cookie is a credential in clear whatever its value's shape (a short hex one no detector finds by randomness),
    with the mount's setting as the fix; a cookie of no session (a language) and the cookie's attributes are none."""
    value = remember_secret(secrets.token_hex(6))
    o = _planted(tmp_path, ACCOUNT_LINE, **{"Set-Cookie": [f"plugin_session={value}; Path=/; HttpOnly; Secure"]})
    assert o.status == FAILED and _lines_of(o) == [ACCOUNT_LINE], [f.text() for f in o.findings]
    assert "a credential in a response header logged in clear" in o.findings[0].message, o.findings[0].message
    assert "allowed_response_headers" in o.findings[0].fix and value not in o.findings[0].text()
    o = _planted(tmp_path, ACCOUNT_LINE, **{"Set-Cookie": ["lang=en-US; Path=/; Max-Age=31536000"]})
    assert o.status == PASSED, [f.text() for f in o.findings]


# -- B: a map's key is no digest ------------------------------------------------------------------------------------
def _digest_paths(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """``native``: the C extension's walk; ``hyperscan``: MALFORMED_DIGEST's database; ``regex``: every block searched
    with integrity_digest's own expression (as tests/test_unseen_digests.py)."""
    from pytest_auditready.scan import native

    if path != "native":
        monkeypatch.setattr(native, "lib", None)
    if path == "regex":
        monkeypatch.setattr(integrity_digest, "digest_checks", lambda: None)


PATHS = ["native", "hyperscan", "regex"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", ["kv-key-hmac.log", "kv-keys.log"])
def test_real_kv_keys_that_look_like_digests_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str,
                                                  name: str) -> None:
    """A KV secret's keys "hmac-sha256:k", 'hmac-sha256:a"b', "HMAC-SHA256:x", a nested "hmac-sha256:inner" and
    "hmac_sha256:m", in the write's request and the read's answer: the vault wrote them as given, no finding."""
    _digest_paths(monkeypatch, path)
    o = _outcome(_copy(HERE / name, tmp_path), integrity_digest)
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]


def _kv_write_data(value: str) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["request"]["data"]["data"].__setitem__("hmac-sha256:k", value)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("value", ["hmac-sha256:k", 'hmac-sha256:k":x', 'hmac-sha256:k" : "v', "HMAC-SHA256:k",
                                   "hmac-sha256:" + "a" * 63 + '":'])
def test_a_malformed_digest_as_a_value_is_still_found_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  path: str, value: str) -> None:
    """The value under that key made a malformed digest (line 1, the write's request entry): also one that holds an
    escaped quote and then a colon, which ends no key."""
    _digest_paths(monkeypatch, path)
    lines = _edit((HERE / "kv-keys.log").read_text().splitlines(), 1, _kv_write_data(value))
    assert '"hmac-sha256:k":"hmac-sha256:' in lines[0] or '"hmac-sha256:k":"HMAC' in lines[0]
    o = _outcome(_copy(HERE / "kv-keys.log", tmp_path, lines), integrity_digest)
    assert o.status == FAILED and _lines_of(o) == [1], [f.text() for f in o.findings]
    assert "is malformed" in o.findings[0].message


DOCS = [  # (a document, whether the string that begins "hmac-sha256:" in it is a key)
    ({"hmac-sha256:k": "v"}, True),
    ({"a": "hmac-sha256:k"}, False),
    ({"a": 'hmac-sha256:k":x'}, False),  # the value hmac-sha256:k":x: the escaped quote is the value's
    ({'hmac-sha256:a"b': "v"}, True),  # the key hmac-sha256:a"b
    ({"hmac-sha256:a\\": "v"}, True),  # a key ending in a backslash (escaped)
    ({"a": "hmac-sha256:a\\", "b": 1}, False),
    ({"a": ["hmac-sha256:k", 1]}, False),
    ({"a": {"hmac-sha256:k": {"x": 1}}}, True),
    ({"a": 'x" : "hmac-sha256:k" : '}, False),  # a value that quotes text shaped as a key
]


def _encodings(doc: Any) -> list[bytes]:
    """``doc`` as a line: compact (as Go writes it), spaced, and carried inside a string once (a shipper's wrapper),
    pretty-printed inside a string, and inside a string inside a string."""
    compact = json.dumps(doc, separators=(",", ":"))
    return [s.encode() for s in (
        compact, json.dumps(doc), json.dumps({"message": compact}), json.dumps({"message": json.dumps(doc, indent=2)}),
        json.dumps({"event": {"original": json.dumps({"log": compact})}}))]


@pytest.mark.parametrize(("doc", "key"), DOCS, ids=[str(i) for i in range(len(DOCS))])
def test_object_key_tells_a_key_from_a_value_at_any_depth(doc: Any, key: bool) -> None:
    for text in _encodings(doc):
        at = text.index(b"hmac-sha256:") - 1
        assert text[at : at + 1] == b'"', text
        assert object_key(text, at) is key, text


@pytest.mark.parametrize("text", [
    b'{"hmac-sha256:k',  # the line ends inside the string (a cut line)
    b'{"hmac-sha256:k"\n:"v"}',  # a line ends before the colon
    b'{"m":"x\\\\"hmac-sha256:k":1}',  # a quote after two backslashes, which no depth writes
])
def test_object_key_takes_no_broken_text_for_a_key(text: bytes) -> None:
    assert object_key(text, text.index(b"hmac-sha256:") - 1) is False


def test_the_real_kv_keys_agree_native_and_pure(tmp_path: Path) -> None:
    _both(tmp_path, [str(HERE / "kv-keys.log"), "--format", "vault"])


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_line_of_many_such_keys_is_read_in_linear_time(tmp_path: Path, wrapped: bool) -> None:
    """One hostile line: 20,000 keys "hmac-sha256:<n>" in a write's data, as written or carried inside a string (a
    shipper's message): each string is read once, and the check holds (no key is a digest) in seconds."""
    import time

    entry = json.loads((HERE / "kv-keys.log").read_text().splitlines()[0])
    entry["request"]["data"]["data"] = {f"hmac-sha256:{n}": "hmac-sha256:" + "0" * 64 for n in range(20_000)}
    line = json.dumps(entry, separators=(",", ":"))
    text = json.dumps({"message": line}) if wrapped else line
    data = text.encode()
    started = time.monotonic()
    quotes = [m.end() - len(b'"hmac-sha256:') for m in re.finditer(rb'"hmac-sha256:(?=\d)', data)]
    cache: dict[int, dict[int, bool]] = {}
    assert sum(object_key(data, q, (0, len(data)), cache) for q in quotes) == 20_000
    assert time.monotonic() - started < 10
    if not wrapped:
        o = _outcome(_copy(HERE / "kv-keys.log", tmp_path, [line]), integrity_digest)
        assert not o.findings, [f.text() for f in o.findings[:3]]
