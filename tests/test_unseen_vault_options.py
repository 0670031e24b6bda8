"""Right on logs written under the audit device and mount options that change what Vault/OpenBao write, and in the
shapes newer Vault versions add. The opt_* logs (tests/schemas, written by opt_build.py from real OpenBao dev
servers) are the device's own output: a correct one gives no finding, a leaky one is caught at its lines, by the
native and the pure-Python scanner alike.

Decisions an auditor can read here:
- an accessor in clear (hmac_accessor=false) is no leak: it cannot authenticate, and it is what an operator revokes a
  token seen in the log by (only a value of an accessor's shape is let through under an accessor key);
- a request header audited with hmac=false is judged by what it carries: a correlation id is no finding, a
  credential header (Authorization, Proxy-Authorization, X-Vault-Token, X-Api-Key, a session cookie) always is;
- a token the vault always digests (client_token, wrap_info.token) in clear means the entry was written raw:
  integrity_digest fails there, it does not pass a log whose values it cannot verify;
- jsonx is refused in one line (OpenBao removed it in 2.0); a device prefix is read with log_prefix.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.secrets import GenericScanner, header_credentials, skippable
from tests.conftest import remember_secret
from tests.test_native import _both

SCHEMAS = Path(__file__).resolve().parent / "schemas"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
           "integrity_digest", "data_minimisation")
CORRECT = ["opt_correct.log", "opt_elide_list_responses.log"]  # (hmac_accessor=false: a finding, below)
B62 = string.ascii_letters + string.digits

for _f in SCHEMAS.glob("opt_*.canaries.txt"):
    for _v in read_canaries(str(_f)).values():
        remember_secret(_v)


def _canaries(name: str) -> dict[str, str]:
    path = SCHEMAS / name.replace(".log", ".canaries.txt")
    return read_canaries(str(path)) if path.exists() else {}


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(ln + "\n" for ln in lines))
    path.chmod(0o600)
    return path


def _lines(name: str) -> list[str]:
    return (SCHEMAS / name).read_text().splitlines()


def _findings(path: Path, canaries: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """Check id -> (line, message) of each finding, over the content checks that failed."""
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, canaries)
    return {o.check_id: [(int(f.where.rsplit(":", 1)[1]) if ":" in f.where else 0, f.message) for f in o.findings]
            for o in res.outcomes if o.check_id in CONTENT and o.status == FAILED}


def _at(found: list[tuple[int, str]]) -> list[int]:
    return sorted({line for line, _ in found})


def _edit(lines: list[str], n: int, fn: Callable[[dict[str, Any]], None]) -> list[str]:
    """``lines`` with line ``n`` (1-based) parsed, changed by ``fn`` and written back as Go writes it."""
    out = list(lines)
    entry = json.loads(out[n - 1])
    fn(entry)
    out[n - 1] = json.dumps(entry, separators=(",", ":"))
    return out


def _cli_and_native_agree(tmp_path: Path, path: Path, canaries: dict[str, str]) -> None:
    """``auditready verify`` says the same with the C extension and in pure Python."""
    if not canaries:  # a canaries file that lists none is refused
        _both(tmp_path, [str(path)])
        return
    cfile = tmp_path / "canaries.txt"
    cfile.write_text("".join(v + "\n" for v in canaries.values()))
    cfile.chmod(0o600)
    _both(tmp_path, [str(path), "--canaries", str(cfile)])


@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMAS.glob("opt_*.log")))
def test_native_and_pure_python_say_the_same_on_every_option_log(tmp_path: Path, name: str) -> None:
    _cli_and_native_agree(tmp_path, _write(tmp_path, name, _lines(name)), _canaries(name))


# -- correct logs under each option -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_log_under_each_option_gives_no_finding(tmp_path: Path, name: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The device's own output under elide_list_responses, and a mount with non-secret keys un-HMAC'd: nothing to
    report, with the run's canary, token and wrapping token known (they are only ever logged as digests there)."""
    path = _write(tmp_path, name, _lines(name))
    assert _findings(path, _canaries("opt_correct.log")) == {}
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 0, capsys.readouterr().out


def test_accessors_in_clear_are_integrity_digest_findings_alone(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """hmac_accessor=false: each entry with its token's accessor in clear is named by integrity_digest (red team
    rt10), and nothing else is reported; the run fails."""
    path = _write(tmp_path, "opt_hmac_accessor_false.log", _lines("opt_hmac_accessor_false.log"))
    found = _findings(path, {})
    assert list(found) == ["integrity_digest"]
    assert all("accessor in clear" in m or "hold their token's accessor" in m for _, m in found["integrity_digest"])
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 1, capsys.readouterr().out


def test_the_correct_logs_carry_what_each_option_writes() -> None:
    """The fixtures hold what they claim: accessors in clear, a non-HMAC key's clear value, a wrapped response,
    token metadata in clear (Vault never HMACs auth.metadata)."""
    acc = [json.loads(ln) for ln in _lines("opt_hmac_accessor_false.log")]
    clear = [e["auth"]["accessor"] for e in acc if e.get("auth", {}).get("accessor", "hmac-sha256:")[:5] != "hmac-"]
    assert clear and all(len(a) == 24 for a in clear)
    text = "\n".join(_lines("opt_correct.log"))
    assert '"display_name":"ci-runner","explicit_max_ttl":"2h"' in text  # the token auth method's tuned keys
    assert '"wrap_info":{' in text and '"metadata":{"team":"payments"' in text
    assert "hmac-sha256:" in text


def test_an_accessor_in_clear_is_no_leak_but_a_secret_under_an_accessor_key_is() -> None:
    """Fails without the accessor rule: random base62 of 24 characters passes detect-secrets' base64 entropy
    limit about one time in twenty, so every busy hmac_accessor=false log raised false alarms."""
    with GenericScanner() as g:
        rng = secrets.SystemRandom()
        accessors = ["".join(rng.sample(B62, 24)) for _ in range(200)]  # 24 distinct characters: over the limit
        assert not [a for a in accessors if g.scan_value("accessor", a)]
        assert not g.scan_value("client_token_accessor", accessors[0] + ".AbC12")  # a Vault Enterprise namespace
        assert g.scan_value("accessor", "hvs." + secrets.token_urlsafe(30))  # a token is no accessor
        assert g.scan_value("wrapped_accessor", secrets.token_urlsafe(32))  # nor a longer secret
        assert g.scan_value("my_id", "".join(rng.sample(B62, 24))) == ()  # (detect-secrets' own *_id filter)
        assert g.scan_value("key", "".join(rng.sample(B62, 24)))  # the rule is bound to accessor keys


# -- log_raw ------------------------------------------------------------------------------------------------------

def test_log_raw_fails_no_secret_leak_and_integrity_digest_at_every_raw_entry(tmp_path: Path) -> None:
    """Fails without the raw-token rule of integrity_digest: a log_raw log, with not one digest in it, passed the
    HMAC check."""
    lines = _lines("opt_log_raw.log")
    path = _write(tmp_path, "opt_log_raw.log", lines)
    found = _findings(path, _canaries("opt_log_raw.log"))
    raw = [i for i, ln in enumerate(lines, 1)
           if ('"client_token":"' in ln and '"client_token":"hmac-sha256:' not in ln)
           or ('"wrap_info":{' in ln and '"token":"hmac-sha256:' not in ln)]
    assert raw and set(found) == {"no_secret_leak", "integrity_digest"}
    shown = [line for line, _ in found["integrity_digest"] if line]
    assert shown == raw[:5]
    assert f"{len(raw) - 5} more entries were written raw" in found["integrity_digest"][-1][1]
    leak = " ".join(m for _, m in found["no_secret_leak"])
    assert "<canary:1>" in leak and "<canary:2>" in leak and "<canary:3>" in leak  # canary, token, wrapping token
    for value in _canaries("opt_log_raw.log").values():
        assert value not in leak and all(value not in m for _, m in found["integrity_digest"])
    _cli_and_native_agree(tmp_path, path, _canaries("opt_log_raw.log"))


def test_one_raw_entry_among_correct_ones_is_caught_at_its_line(tmp_path: Path) -> None:
    """Two devices' files merged by a shipper, one of them log_raw: its response-wrapping token, and a caller's
    token, in clear are caught at their own lines by both checks."""
    lines = _lines("opt_correct.log")
    wrap = next(i for i, ln in enumerate(lines, 1) if '"wrap_info":{' in ln)
    token = "hvs." + secrets.token_urlsafe(72)
    remember_secret(token)
    lines = _edit(lines, wrap, lambda e: e["response"]["wrap_info"].__setitem__("token", token))
    lines = _edit(lines, 30, lambda e: e["auth"].__setitem__("client_token", token))
    path = _write(tmp_path, "merged.log", lines)
    found = _findings(path, {})
    assert set(found) == {"no_secret_leak", "integrity_digest"}
    assert _at(found["integrity_digest"]) == sorted({wrap, 30})
    assert _at(found["no_secret_leak"]) == sorted({wrap, 30})[:1]  # one secret: reported once, at its first line
    assert all(token not in m for ms in found.values() for _, m in ms)


# -- audit_non_hmac_request_keys / audit_non_hmac_response_keys -------------------------------------------------

def test_a_secret_under_a_non_hmac_key_is_caught_and_a_plain_value_is_not(tmp_path: Path) -> None:
    lines = _lines("opt_non_hmac_secret.log")
    at = [i for i, ln in enumerate(lines, 1) if '"password":"' in ln and '"password":"hmac-sha256:' not in ln]
    found = _findings(_write(tmp_path, "n.log", lines), _canaries("opt_non_hmac_secret.log"))
    assert set(found) == {"no_secret_leak"} and _at(found["no_secret_leak"]) == at[:1]
    assert any("<canary:1>" in m and "'password'" in m for _, m in found["no_secret_leak"])
    # without canaries too: a random secret under a key named like one
    assert _at(_findings(_write(tmp_path, "m.log", lines), {})["no_secret_leak"]) == at[:1]
    # the correct log's un-HMAC'd display_name and explicit_max_ttl (the token auth method's) are no finding
    # (test_a_correct_log_...); a KV secret's keys in clear are (test_a_kv_secrets_keys_in_clear_...)


# -- audited request headers (sys/config/auditing/request-headers, hmac=false) ------------------------------------

def _header_lines() -> tuple[list[str], list[int], list[int]]:
    """The headers log, the lines with a correlation header, and those with a credential header."""
    lines = _lines("opt_headers.log")
    trace = [i for i, ln in enumerate(lines, 1) if '"x-request-id":["' in ln]
    cred = [i for i, ln in enumerate(lines, 1) if 'authorization":["' in ln or '"cookie":["' in ln]
    assert len(trace) == 6 and len(cred) == 6
    return lines, trace, cred


def test_correlation_headers_in_clear_are_no_finding(tmp_path: Path) -> None:
    """Fails without the trace-id rule: 32 hex digits under x-request-id or x-b3-traceid read as a hex secret."""
    lines, _trace, cred = _header_lines()
    benign = [ln for i, ln in enumerate(lines, 1) if i not in cred]
    path = _write(tmp_path, "trace.log", benign)
    assert _findings(path, {}) == {}
    _cli_and_native_agree(tmp_path, path, {})
    with GenericScanner() as g:  # the id shapes only: a secret under the same header is still one
        assert g.scan_value("x-request-id", secrets.token_urlsafe(32))
        assert not g.scan_value("traceparent", f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01")


def test_credential_headers_in_clear_are_caught_at_their_lines(tmp_path: Path) -> None:
    """Fails without the credential-header rule: a Basic password, a session cookie, a Proxy-Authorization, have
    no shape a detector knows, and their lines were never judged."""
    lines, _trace, cred = _header_lines()
    path = _write(tmp_path, "h.log", lines)
    found = _findings(path, {})
    assert set(found) == {"no_secret_leak"}
    msgs = found["no_secret_leak"]
    assert all("a credential in a request header logged in clear" in m for _, m in msgs)
    assert {ln for ln, _ in msgs} <= set(cred)
    for n in cred:  # each line on its own: every one of them holds a credential
        alone = _findings(_write(tmp_path, f"{n}.log", [lines[n - 1]]), {})  # (half a pair: completeness says so)
        assert _at(alone.get("no_secret_leak", [])) == [1]
    assert {"'authorization'", "'cookie'"} <= {m.split("key ", 1)[1].split(" ", 1)[0] for _, m in msgs}
    with_known = _findings(path, _canaries("opt_headers.log"))["no_secret_leak"]
    assert any("<canary:1>" in m and "'authorization'" in m for _, m in with_known)  # the Basic password, decoded
    for value in _canaries("opt_headers.log").values():
        assert all(value not in m for _, m in with_known)
    _cli_and_native_agree(tmp_path, path, _canaries("opt_headers.log"))


@pytest.mark.parametrize("wrapper", ["filebeat", "splunk", "journal_seq"])
def test_credential_headers_through_a_shipper_are_caught_at_the_same_lines(tmp_path: Path, wrapper: str) -> None:
    """The line inside a shipper's string (quotes escaped) reaches the header judge as the plain line does."""
    from tests.test_unseen_framing import BUILD

    lines, _trace, cred = _header_lines()
    path = tmp_path / "shipped.log"
    path.write_bytes(BUILD.WRAPPERS[wrapper](lines))
    path.chmod(0o600)
    plain = _findings(_write(tmp_path, "plain.log", lines), {})
    shipped = _findings(path, {})
    assert shipped == plain and _at(plain["no_secret_leak"])[0] == cred[0]


def _with_headers(headers: dict[str, list[str]]) -> str:
    line = next(ln for ln in _lines("opt_correct.log") if '"path":"secret/data/app/db"' in ln)
    entry = json.loads(line)
    entry["request"]["headers"] = headers
    return json.dumps(entry, separators=(",", ":"))


@pytest.mark.parametrize(("headers", "leak"), [
    ({"authorization": ["Bearer " + secrets.token_urlsafe(24)]}, True),  # an opaque bearer token
    ({"Authorization": ["Basic " + base64.b64encode(b"svc:" + secrets.token_urlsafe(9).encode()).decode()]}, True),
    ({"x-vault-token": ["root-" + secrets.token_hex(4)]}, True),  # a dev server's chosen root token
    ({"x-api-key": [secrets.token_hex(8)]}, True),
    ({"cookie": ["theme=dark; _oauth2_proxy=" + secrets.token_urlsafe(12)]}, True),
    ({"authorization": ["hmac-sha256:" + secrets.token_hex(32)]}, False),  # audited with hmac=true
    ({"authorization": []}, False),  # the token was taken from it: nothing left to log
    ({"authorization": ["Bearer ****"]}, False),  # masked by a proxy
    ({"authorization": ["Negotiate"]}, False),  # a scheme, no credentials
    ({"cookie": ["theme=dark; lang=en-GB"]}, False),
    ({"user-agent": ["vault-client-go/0.4.3"], "x-forwarded-for": ["203.0.113.7"]}, False),
], ids=["bearer", "basic-capitalised", "x-vault-token", "x-api-key", "oauth-cookie", "hmac", "empty", "masked",
        "scheme-only", "plain-cookie", "benign"])
def test_each_header_shape_is_judged_by_what_it_carries(tmp_path: Path, headers: dict[str, list[str]],
                                                        leak: bool) -> None:
    for vs in headers.values():
        for v in vs:
            remember_secret(v)
    line = _with_headers(headers)
    found = _findings(_write(tmp_path, "one.log", [line]), {})
    got = [m for _, m in found.get("no_secret_leak", [])]
    assert bool(got) == leak, got
    if leak:
        assert all("a credential in a request header logged in clear" in m for m in got)
    assert bool(header_credentials(json.loads(line))) == leak


def test_the_block_scanner_sends_every_credential_header_line_to_the_judge() -> None:
    """LeakScanner's prefilter holds an expression for an audited credential header whose value is neither empty nor
    a digest (a Basic password or an opaque token has no shape a detector knows), in the one Hyperscan pass over
    the block: each such line is judged, and found."""
    lines, _trace, cred = _header_lines()
    with LeakScanner({}) as scanner:
        data = "".join(ln + "\n" for ln in lines).encode()
        hits = {h.line: h for h in scanner.scan_block(data, 1)}
    assert cred and set(cred) <= set(hits), (cred, sorted(hits))
    assert all(g.kind == "a credential in a request header logged in clear" for c in cred for g in hits[c].generic
               if g.key.lower() in ("authorization", "x-vault-token", "x-api-key", "cookie"))


# -- newer Vault shapes -------------------------------------------------------------------------------------------

def _vault_118(entry: dict[str, Any]) -> None:
    """The fields Vault 1.13 to 1.18 (and Enterprise) add to an entry (sdk audit types: entry, request, auth,
    responseWrapInfo), in their real shapes."""
    entry["forwarded"] = True
    entry["forwarded_from"] = "10.0.4.12:8201"
    req = entry["request"]
    req["namespace"] = {"id": "root", "path": ""}
    req["client_certificate_serial_number"] = "7f:3a:91:0c:5e:aa:12:44:90:0b:cd:ef:01:23:45:67"
    req["mount_is_external_plugin"] = False
    req["mount_running_sha256"] = secrets.token_hex(32)
    req["replication_cluster"] = "perf-secondary-eu"
    req["request_uri"] = "/v1/" + req["path"] + "?version=2"
    entry["auth"]["entity_created"] = True
    entry["auth"]["identity_policies"] = ["kv-readers"]
    entry["auth"]["entity_id"] = "0e6f1f7c-5a0c-2e4b-9f5e-5d1d4c1c9a77"
    entry["auth"]["policy_results"]["granting_policies"] = [
        {"name": "kv-readers", "namespace_id": "root", "namespace_path": "", "type": "acl"}]
    resp = entry.setdefault("response", {})
    resp["secret"] = {"lease_id": "database/creds/readonly/" + "".join(secrets.SystemRandom().sample(B62, 24))}
    resp["mount_running_sha256"] = secrets.token_hex(32)


def test_the_fields_newer_vault_versions_add_give_no_finding(tmp_path: Path) -> None:
    lines = _lines("opt_correct.log")
    for n in (12, 13, 32, 33):
        lines = _edit(lines, n, _vault_118)
    assert _findings(_write(tmp_path, "v118.log", lines), _canaries("opt_correct.log")) == {}
    serial = "9b" + secrets.token_hex(15)  # a serial number in plain hex: public, written in the certificate
    lines = _edit(lines, 12, lambda e: e["request"].__setitem__("client_certificate_serial_number", serial))
    assert _findings(_write(tmp_path, "serial.log", lines), {}) == {}
    assert skippable("serial_number", str(int(serial, 16)))
    assert not skippable("serial_number", secrets.token_urlsafe(24))


@pytest.mark.parametrize(("defect", "check"), [
    ("secret in metadata", "no_secret_leak"),
    ("wrapping token in clear", "integrity_digest"),
    ("no time", "required_fields"),
    ("no request id", "required_fields"),
], ids=lambda x: x.replace(" ", "-"))
def test_each_planted_defect_in_a_newer_vault_entry_is_caught_at_its_line(tmp_path: Path, defect: str,
                                                                          check: str) -> None:
    lines = _lines("opt_correct.log")
    for n in (12, 13, 32, 33):
        lines = _edit(lines, n, _vault_118)
    secret = secrets.token_urlsafe(32)
    remember_secret(secret)
    target = 33 if defect == "wrapping token in clear" else 13
    plant: dict[str, Callable[[dict[str, Any]], None]] = {
        "secret in metadata": lambda e: e["auth"].setdefault("metadata", {}).__setitem__("api_key", secret),
        "wrapping token in clear": lambda e: e["response"]["wrap_info"].__setitem__("token", "hvs." + secret),
        "no time": lambda e: e.pop("time"),
        "no request id": lambda e: e["request"].pop("id"),
    }
    found = _findings(_write(tmp_path, "planted.log", _edit(lines, target, plant[defect])), {})
    assert target in _at(found.get(check, [])), found
    assert all(line in (0, target) for ms in found.values() for line, _ in ms), found
    assert all(secret not in m for ms in found.values() for _, m in ms)


@pytest.mark.parametrize(("value", "kind", "found"), [
    ("4111 1111 1111 1111", "card number", True),
    ("GB82 WEST 1234 5698 7654 32", "IBAN", True),
    ("alice@example.com", "e-mail", False),  # an identity's address in token metadata: evidence of who acted
])
def test_token_metadata_is_judged_for_what_is_never_an_identity(tmp_path: Path, value: str, kind: str,
                                                                found: bool) -> None:
    """Fails without the rule for clear-text fields: Vault writes auth.metadata in clear (it never HMACs it), and a
    card number set as token metadata was not judged at all, since the field is clear text by design."""
    lines = _edit(_lines("opt_correct.log"), 13, lambda e: e["auth"].setdefault("metadata", {}).__setitem__(
        "billing", value))
    got = _findings(_write(tmp_path, "meta.log", lines), {})
    if found:
        assert set(got) == {"data_minimisation"} and _at(got["data_minimisation"]) == [13]
        assert "'auth.metadata.billing'" in got["data_minimisation"][0][1] and value not in str(got)
    else:
        assert got == {}


# -- endpoints the vault serves without a token -------------------------------------------------------------------

def test_requests_on_unauthenticated_endpoints_lack_no_identity(tmp_path: Path) -> None:
    """Fails without the unauthenticated-endpoint rule: every visit to the UI's login page, every OIDC relying
    party's key fetch and every CRL download was a required_fields finding."""
    lines = _lines("opt_unauthenticated.log")
    anonymous = [i for i, ln in enumerate(lines, 1) if '"display_name"' not in ln and '"sys/audit/test"' not in ln
                 and '"request":{"id":"dev-' not in ln and '"path":"sys/mounts/secret"' not in ln]
    assert len(anonymous) >= 20  # the UI, wrapping look-up, MFA, OIDC discovery and PKI reads, as the vault wrote them
    path = _write(tmp_path, "u.log", lines)
    assert _findings(path, _canaries("opt_unauthenticated.log")) == {}
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, {})
    rf = next(o for o in res.outcomes if o.check_id == "required_fields")
    assert any("without a token" in rule and n >= len(anonymous) for rule, n in rf.tally.excused)


def test_an_authenticated_read_that_lost_its_auth_is_still_caught(tmp_path: Path) -> None:
    """The rule names endpoints, not the absence of auth: a kv read whose auth a pipeline dropped is a finding."""
    lines = _lines("opt_unauthenticated.log")
    n = len(lines) - 1  # the last request: secret/data/app/db by the root token
    assert '"path":"secret/data/app/db"' in lines[n - 1] and '"type":"request"' in lines[n - 1]
    found = _findings(_write(tmp_path, "stripped.log", _edit(lines, n, lambda e: e.pop("auth"))), {})
    assert set(found) == {"required_fields", "integrity_digest"} and _at(found["required_fields"]) == [n]
    assert _at(found["integrity_digest"]) == [n]  # the vault writes an auth object in every entry


# -- options a reader must refuse or be told about ----------------------------------------------------------------

def test_a_jsonx_device_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """format = "jsonx" (Vault; OpenBao removed it): XML, refused with the cause, not read as a broken log."""
    path = tmp_path / "audit.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><json:object name="vault"><json:string name="time">'
                    "2026-12-01T17:26:17.389946802Z</json:string></json:object>\n")
    path.chmod(0o600)
    assert main(["verify", "--jobs", "1", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "jsonx" in err


def test_a_prefixed_device_log_is_read_with_log_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Vault's prefix option (OpenBao refuses it at boot: 'audit log prefixing is not allowed') writes a text
    before each entry; with log_prefix it reads as the plain log."""
    path = _write(tmp_path, "prefixed.log", ["vault-audit: " + ln for ln in _lines("opt_correct.log")])
    cfg = tmp_path / "auditready.toml"
    cfg.write_text('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\nlog_prefix = '
                   '"vault-audit: "\n')
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 0, capsys.readouterr().out


def test_the_raw_token_prefilter_says_what_the_regular_expressions_find() -> None:
    """integrity_digest asks Hyperscan (RAW_DIGESTED, one pass) whether a block may hold a token in clear before its
    regular expressions look for where: the two must agree on every shape, escaped at any depth."""
    from pytest_auditready.checks.integrity_digest import _RAW_TOKEN, _RAW_WRAP
    from pytest_auditready.scan.hyperscan import RAW_DIGESTED, any_match

    has_raw = any_match(RAW_DIGESTED)
    assert has_raw is not None
    digest = "hmac-sha256:" + "ab" * 32
    values = [digest, "", "hvs.CAESIabc", "s.Xyz", "h", "hm", "hmac-sha25", "hmac-sha256", "hmac-sha256:",
              "hmac-SHA256:x", "\\u0041bc", "HMAC-sha256:" + "ab" * 32]
    for q in ('"', '\\"', '\\\\\\"'):
        for v in values:
            for line in (f'{{{q}auth{q}:{{{q}client_token{q}:{q}{v}{q},{q}x{q}:1}}}}',
                         f'{{{q}response{q}:{{{q}wrap_info{q}:{{{q}ttl{q}:60,{q}token{q}:{q}{v}{q}}}}}}}',
                         f'{{{q}request{q}:{{{q}data{q}:{{{q}token{q}:{q}{v}{q}}}}}}}'):
                data = line.encode()
                want = bool(_RAW_TOKEN.search(data) or _RAW_WRAP.search(data))
                assert has_raw(data) == want, line


def test_one_value_under_several_keys_of_a_line_is_one_finding_naming_each_line_once(tmp_path: Path) -> None:
    """A credential copied into several audited headers of one request (each logged apart): it was one finding per
    detector, and its other lines were listed twice ("also on lines 14, 14"; red team rt35, F9)."""
    lines, trace, _ = _header_lines()
    value = remember_secret(secrets.token_urlsafe(32))  # (an API key: the whole header value)
    req, resp = trace[0], trace[0] + 1

    def copied(e: dict[str, Any]) -> None:
        e["request"]["headers"] = {h: [value] for h in ("authorization", "proxy-authorization", "x-request-id")}

    lines = _edit(_edit(lines, req, copied), resp, copied)
    found = _findings(_write(tmp_path, "dup.log", lines), {})
    leak = [f for f in found["no_secret_leak"] if f[0] in (req, resp)]
    assert len(leak) == 1 and leak[0][0] == req, leak
    assert f"also on line {resp}." in leak[0][1] and value not in leak[0][1], leak
