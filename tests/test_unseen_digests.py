"""integrity_digest on Vault/OpenBao logs whose token digests a hop took out (a shipper's processor, a SIEM's field
filter, `jq 'del(..)'`): every entry made with a token carries auth.client_token and auth.accessor (the accessor in
clear under hmac_accessor=false, none for a batch token), its request the same as request.client_token, a login's
response the new token's (response.auth), a wrapped response its wrapping token's (response.wrap_info). An entry made
without a token (a login, an unauthenticated endpoint, the device's self-test) carries none: it is excused, named by
its rule, and a log of nothing else is judged nothing (a failure, not a pass).

What is learnt from OpenBao itself: the fixtures' real logs (fixtures/openbao, tests/schemas/opt_*) and fresh runs
of the `bao` fixture under the device options.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN, integrity_digest
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import load_script, remember_secret

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "schemas"
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "integrity_digest"]
CORRECT = [ROOT / "fixtures" / "openbao" / p for p in ("clean.log", "unix-socket.log", "odd/correct.log",
                                                       "unseen/oidc-login.log")]
CORRECT += [SCHEMAS / p for p in ("opt_correct.log", "opt_elide_list_responses.log", "opt_headers.log",
                                  "opt_non_hmac_secret.log", "opt_unauthenticated.log")]
# hmac_accessor=false: digests whole and in place, but every request's token accessor in clear (red team rt10)
ACCESSORS_IN_CLEAR = [ROOT / "fixtures" / "openbao" / "odd" / "correct-accessors-in-clear.log",
                      SCHEMAS / "opt_hmac_accessor_false.log"]
CORRECT += sorted((ROOT / "fixtures" / "vault" / "unseen").glob("*.log"))
ODD = ROOT / "fixtures" / "openbao" / "odd" / "correct.log"
TOKEN_FIELDS = ("auth.client_token", "auth.accessor", "request.client_token", "request.client_token_accessor")


def _outcome(path: Path) -> Any:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), CHECK, {})
    (out,) = [o for o in res.outcomes if o.check_id == "integrity_digest"]
    return out


def _stripped_lines(out: Any) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings if "took them out" in f.message)


def _write(tmp_path: Path, name: str, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
    path.chmod(0o600)
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def _del(e: dict[str, Any], dotted: str) -> bool:
    """jq 'del(.a.b)': whether it was there."""
    *head, last = dotted.split(".")
    obj: Any = e
    for part in head:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return isinstance(obj, dict) and obj.pop(last, None) is not None


def _drop_digests(obj: Any) -> Any:
    """A processor that drops every HMAC'd value (jq 'del(.. | select(type == "string" and startswith("hmac-")))')."""
    if isinstance(obj, dict):
        return {k: _drop_digests(v) for k, v in obj.items()
                if not (isinstance(v, str) and v.startswith("hmac-sha256:"))}
    if isinstance(obj, list):
        return [_drop_digests(v) for v in obj if not (isinstance(v, str) and v.startswith("hmac-sha256:"))]
    return obj


def _has_token(e: dict[str, Any]) -> bool:
    return e.get("auth", {}).get("token_type") in ("service", "batch")


# -- correct logs: nothing to report, and something judged --------------------------------------------------------

@pytest.mark.parametrize("path", CORRECT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_correct_real_log_passes_and_is_judged(path: Path) -> None:
    out = _outcome(path)
    assert out.status == PASSED, [f.text() for f in out.findings]
    assert out.tally.judged and out.tally.judged > 0
    # what was excused is named by a rule that says why the entry carries no token digest, never by what is missing
    for rule, _n in out.tally.excused:
        assert "without a token" in rule


def _clear_accessor_lines(out: Any) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings if f.where and "accessor in clear" in f.message)


def _clear_accessors(path: Path) -> list[int]:
    """The lines whose request names its token's accessor in clear (not a digest)."""
    return [n for n, e in enumerate(_read(path), 1)
            if not str(e.get("request", {}).get("client_token_accessor", "hmac-sha256:")).startswith("hmac-sha256:")
            and e["request"]["client_token_accessor"]]


@pytest.mark.parametrize("path", ACCESSORS_IN_CLEAR, ids=lambda p: p.name)
def test_a_log_with_token_accessors_in_clear_fails_at_those_lines_alone(path: Path) -> None:
    """A device with hmac_accessor=false was judged only live (log_protection asks the device's options); offline
    its log passed. Anyone who reads it can look up, renew or revoke the tokens it names (HashiCorp counted an
    accessor in an audit log as a leak: GO-2024-3113). Each such entry is named, and nothing else is."""
    out = _outcome(path)
    want = _clear_accessors(path)
    assert out.status == FAILED and len(want) >= 5
    assert _clear_accessor_lines(out) == want[:5]
    assert any(f.message.startswith(f"{len(want) - 5} more entries hold their token's accessor") for f in out.findings)
    assert len(out.findings) == 6, [f.text() for f in out.findings]


def test_logins_self_test_and_refused_tokens_are_excused_not_judged() -> None:
    """odd/correct.log: the device's self-test, two logins without a token (one failed: its response too), a request
    with an unknown token and its response: 6 of its 55 entries carry no digest of a caller's token, counted so."""
    out = _outcome(ODD)
    excused = dict(out.tally.excused)
    assert excused == {integrity_digest._SELF_TEST: 1, integrity_digest._UNAUTHENTICATED: 5}
    assert out.tally.judged == 49


# -- hops that take digests out -----------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [ODD, SCHEMAS / "opt_correct.log", SCHEMAS / "opt_hmac_accessor_false.log"],
                         ids=lambda p: p.name)
def test_jq_del_of_the_token_fields_is_found_at_every_line(tmp_path: Path, source: Path) -> None:
    """`jq -c 'del(.auth.client_token, .auth.accessor, .request.client_token, .request.client_token_accessor)'`:
    every entry made with a token is a finding at its line, and no other."""
    entries = _read(source)
    expect = []
    for n, e in enumerate(entries, 1):
        if any([_del(e, f) for f in TOKEN_FIELDS]) and _has_token(e):
            expect.append(n)
    assert len(expect) > 5
    out = _outcome(_write(tmp_path, "stripped.log", entries))
    assert out.status == FAILED
    shown = _stripped_lines(out)
    assert shown == expect[: len(shown)] and len(shown) == 5
    more = [f.message for f in out.findings if f.message.startswith(f"{len(expect) - 5} more entries")]
    assert more, [f.message for f in out.findings]
    first = next(f for f in out.findings if "took them out" in f.message)
    assert "auth.client_token" in first.message and "request.client_token" in first.message
    assert "dropped" in first.message
    assert first.request_id == entries[expect[0] - 1]["request"]["id"]


def test_a_processor_that_drops_every_digest_is_named_so(tmp_path: Path) -> None:
    entries = [_drop_digests(e) for e in _read(ODD)]
    out = _outcome(_write(tmp_path, "nodigests.log", entries))
    assert out.status == FAILED
    assert "the line holds no digest at all" in out.findings[0].message
    assert _stripped_lines(out)[0] == next(n for n, e in enumerate(entries, 1) if _has_token(e))


@pytest.mark.parametrize("field", ("auth.client_token", "auth.accessor", "response.auth.client_token",
                                   "response.auth.accessor", "response.wrap_info.token", "response.wrap_info.accessor"))
def test_each_field_alone_dropped_or_blanked_is_found(tmp_path: Path, field: str) -> None:
    """One field taken out of one entry (the first that has it), or blanked ("" from a masking rule): found at
    that line, naming the field."""
    for blank in (False, True):
        entries = _read(SCHEMAS / "opt_correct.log")
        n = next(i for i, e in enumerate(entries, 1) if _has_token(e) and _del(dict(json.loads(json.dumps(e))), field))
        *head, last = field.split(".")
        obj: Any = entries[n - 1]
        for part in head:
            obj = obj[part]
        if blank:
            obj[last] = ""
        else:
            del obj[last]
        out = _outcome(_write(tmp_path, f"one-{blank}.log", entries))
        assert _stripped_lines(out) == [n], (field, blank, [f.text() for f in out.findings])
        assert field in out.findings[-1].message
        assert ("blanked" in out.findings[-1].message) is blank


def test_an_entry_without_its_auth_object_is_found(tmp_path: Path) -> None:
    entries = _read(ODD)
    n = next(i for i, e in enumerate(entries, 1) if _has_token(e))
    del entries[n - 1]["auth"]
    out = _outcome(_write(tmp_path, "noauth.log", entries))
    assert _stripped_lines(out) == [n]
    assert "has no auth object" in out.findings[0].message


def test_keys_a_shipper_reordered_are_still_read(tmp_path: Path) -> None:
    """A hop that re-serialises with sorted keys changes no value: nothing to report; the same hop that also drops
    the accessor is found."""
    entries = _read(ODD)
    path = tmp_path / "sorted.log"
    path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries))
    assert _outcome(path).status == PASSED
    n = next(i for i, e in enumerate(entries, 1) if _has_token(e))
    del entries[n - 1]["auth"]["accessor"]
    path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries))
    assert _stripped_lines(_outcome(path)) == [n]


def test_a_stripped_line_inside_a_shippers_wrapper_is_found(tmp_path: Path) -> None:
    """Filebeat's file output (the vault's line in "message"): the digests gone from the carried line."""
    entries = _read(ODD)
    n = next(i for i, e in enumerate(entries, 1) if _has_token(e))
    for f in TOKEN_FIELDS:
        _del(entries[n - 1], f)
    path = tmp_path / "filebeat.ndjson"
    path.write_text("".join(json.dumps({"@timestamp": e["time"], "message": json.dumps(e, separators=(",", ":")),
                                        "log": {"offset": i}, "agent": {"type": "filebeat"}}) + "\n"
                            for i, e in enumerate(entries)))
    assert _stripped_lines(_outcome(path)) == [n]


def test_a_log_of_entries_without_tokens_only_is_not_a_pass(tmp_path: Path) -> None:
    """Only logins and self-tests: nothing that must carry a digest, so nothing judged: it fails saying so."""
    entries = [e for e in _read(ODD) if not _has_token(e) and "client_token" not in e.get("request", {})]
    assert entries
    out = _outcome(_write(tmp_path, "logins.log", entries))
    assert out.status == FAILED
    assert "judged nothing" in out.findings[0].message


def test_the_pure_python_path_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Hyperscan's block test, every block is searched: the same findings."""
    entries = _read(ODD)
    for e in entries[10:20]:
        for f in TOKEN_FIELDS:
            _del(e, f)
    path = _write(tmp_path, "s.log", entries)
    fast = [f.text() for f in _outcome(path).findings]
    monkeypatch.setattr(integrity_digest, "suspects", lambda: None)
    assert [f.text() for f in _outcome(path).findings] == fast and fast


# -- fresh OpenBao runs -------------------------------------------------------------------------------------------

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api


def _traffic(s: EmbeddedServer) -> None:
    """Logins (AppRole, a failed userpass), a batch token, a wrapped read and its unwrap, a denied read, a list, a
    request with an unknown token, the self-test the device wrote at start."""
    _api(s, "POST", "secret/data/app/db", {"data": {"password": remember_secret(secrets.token_urlsafe(32))}})
    _api(s, "LIST", "secret/metadata/app")
    _api(s, "POST", "sys/auth/approle", {"type": "approle"})
    _api(s, "POST", "auth/approle/role/billing", {"token_policies": ["default"]})
    role = _api(s, "GET", "auth/approle/role/billing/role-id")["data"]["role_id"]
    sid = _api(s, "POST", "auth/approle/role/billing/secret-id")["data"]["secret_id"]
    tok = remember_secret(_api(s, "POST", "auth/approle/login", {"role_id": role, "secret_id": sid}, anonymous=True)
                          ["auth"]["client_token"])
    _api(s, "GET", "secret/data/app/db", token=tok)  # denied
    _api(s, "POST", "sys/auth/userpass", {"type": "userpass"})
    _api(s, "POST", "auth/userpass/login/nobody", {"password": "wrong"}, anonymous=True)
    # a user and a role named "login" (auth/userpass/users/login is no login: red team rt31, F8), a login as that
    # user, and a renewal of the token it issued
    password = remember_secret(secrets.token_urlsafe(16))
    _api(s, "POST", "auth/userpass/users/login", {"password": password, "token_policies": ["default"]})
    named = remember_secret(_api(s, "POST", "auth/userpass/login/login", {"password": password}, anonymous=True)
                            ["auth"]["client_token"])
    _api(s, "POST", "auth/token/renew-self", token=named)
    _api(s, "POST", "auth/approle/role/login", {"token_policies": ["default"]})
    _api(s, "GET", "auth/approle/role/login/role-id")
    batch = remember_secret(_api(s, "POST", "auth/token/create", {"type": "batch", "policies": ["default"]})
                            ["auth"]["client_token"])
    _api(s, "GET", "auth/token/lookup-self", token=batch)
    wrapped = _api(s, "GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})["wrap_info"]["token"]
    _api(s, "POST", "sys/wrapping/unwrap", {"token": remember_secret(wrapped)})
    _api(s, "GET", "secret/data/app/db", token="s." + secrets.token_urlsafe(18))  # unknown token


def _answered(text: str) -> bool:
    """Whether ``text`` (a device's file) ends a line and holds a response entry for each request entry's id but the
    device's self-test's (sys/audit/test: a request alone). (Counted as two requests more than responses, this never
    held where OpenBao writes one self-test, and each run waited its whole 10 s.)"""
    if not text.endswith("\n"):
        return False
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    answered = {e.get("request", {}).get("id") for e in entries if e.get("type") == "response"}
    return all(e.get("request", {}).get("id") in answered for e in entries
               if e.get("type") == "request" and e.get("request", {}).get("path") != "sys/audit/test")


@pytest.mark.vault
@pytest.mark.parametrize("options", [{}, {"hmac_accessor": "false"}, {"elide_list_responses": "true"}],
                         ids=["defaults", "hmac_accessor_false", "elide_list_responses"])
def test_fresh_openbao_logs_pass_and_their_stripped_copies_fail(bao: Callable[..., EmbeddedServer],
                                                                 tmp_path: Path, options: dict[str, str]) -> None:
    server = bao(audit_options=options)
    _traffic(server)
    log = tmp_path / "audit.log"
    end = time.monotonic() + 10
    while time.monotonic() < end:  # the device writes a response after the answer: until each request has its own
        if _answered(Path(server.log_path).read_text()):
            break
        time.sleep(0.05)
    log.write_text(Path(server.log_path).read_text())
    log.chmod(0o600)
    out = _outcome(log)
    if options.get("hmac_accessor") == "false":  # judged a finding at each line, and nothing else
        assert out.status == FAILED and _clear_accessor_lines(out) == _clear_accessors(log)[:5]
        assert all("accessor in clear" in f.message or "hold their token's accessor" in f.message
                   for f in out.findings)
    else:
        assert out.status == PASSED, [f.text() for f in out.findings]
    entries = _read(log)
    assert any(e.get("auth", {}).get("token_type") == "batch" for e in entries)
    assert any("wrap_info" in e.get("response", {}) for e in entries)
    assert dict(out.tally.excused).get(integrity_digest._UNAUTHENTICATED, 0) >= 3
    expect = []
    for n, e in enumerate(entries, 1):
        hit = [_del(e, f) for f in (*TOKEN_FIELDS, "response.auth.client_token", "response.auth.accessor")]
        if any(hit) and (_has_token(e) or "auth" in e.get("response", {})):
            expect.append(n)
    stripped = _outcome(_write(tmp_path, "stripped.log", entries))
    assert stripped.status == FAILED
    assert _stripped_lines(stripped) == expect[:5]


@pytest.mark.vault
def test_a_request_on_a_user_named_login_that_names_no_one_is_found(bao: Callable[..., EmbeddedServer],
                                                                    tmp_path: Path) -> None:
    """required_fields excuses a login's request entry for naming no one (the caller holds no token yet), read
    within its auth mount as integrity_digest reads it: the admin's write of auth/userpass/users/login (a user named
    "login") with its auth taken out was excused by the path alone; a real login's entry keeps its excuse."""
    server = bao()
    _traffic(server)
    _api(server, "POST", "auth/userpass/users/login", {"token_policies": ["default"]})  # updates, as a login is
    _api(server, "POST", "auth/approle/role/login", {"token_ttl": "10m"})
    end = time.monotonic() + 10
    while not Path(server.log_path).read_text().count('"path":"auth/approle/role/login"') >= 4:
        assert time.monotonic() < end, "the device did not write the last response within 10 s"
        time.sleep(0.05)
    entries = _read(Path(server.log_path))
    check = [c for c in offline_checks(BUILTIN) if c.id == "required_fields"]

    def findings(path: Path) -> list[int]:
        res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), check, {})
        (out,) = res.outcomes
        return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings)

    assert findings(_write(tmp_path, "real.log", entries)) == []
    user, role = (next(n for n, e in enumerate(entries, 1) if e["type"] == "request" and e["request"]["path"] == p
                       and e["request"]["operation"] == "update")
                  for p in ("auth/userpass/users/login", "auth/approle/role/login"))
    login = next(n for n, e in enumerate(entries, 1)
                 if e["type"] == "request" and e["request"]["path"] == "auth/userpass/login/login")
    assert "auth" not in entries[login - 1] or not entries[login - 1]["auth"].get("display_name")
    for n in (user, role):
        del entries[n - 1]["auth"]
    assert findings(_write(tmp_path, "stripped.log", entries)) == [user, role]


@pytest.mark.vault
def test_a_token_issuing_response_whose_request_names_another_token_is_found(bao: Callable[..., EmbeddedServer],
                                                                             tmp_path: Path) -> None:
    """The response of a token's creation, renewal or unwrap names its caller in auth, the token issued in
    response.auth (only a login's auth is the token issued): another digest put in its request.client_token was
    excused with every response that carries response.auth (red team rt31, F1)."""
    server = bao()
    _traffic(server)
    end = time.monotonic() + 10
    while not Path(server.log_path).read_text().count('"path":"auth/approle/role/login/role-id"') >= 2:
        assert time.monotonic() < end, "the device did not write the last response within 10 s"
        time.sleep(0.05)
    entries = _read(server.log_path)
    assert _two_token_lines(_outcome(_write(tmp_path, "real.log", entries))) == []
    other = "hmac-sha256:" + secrets.token_hex(32)
    picked = [n for n, e in enumerate(entries, 1) if e["type"] == "response" and e.get("response", {}).get("auth")
              and e["request"].get("client_token") and "/login" not in e["request"]["path"]]
    assert {entries[n - 1]["request"]["path"] for n in picked} >= {"auth/token/create", "auth/token/renew-self"}
    for n in picked:
        entries[n - 1]["request"]["client_token"] = other
    out = _outcome(_write(tmp_path, "other.log", entries))
    assert _two_token_lines(out) == picked[:5], [f.text() for f in out.findings]


# -- a digest whose prefix a hop or a hand misspelled ---------------------------------------------------------------
# OpenBao and Vault write one spelling, "hmac-sha256:" (salt.GetIdentifiedHMAC); anything else that reads as an HMAC
# digest's prefix was changed after the vault wrote it and cannot be compared with sys/audit-hash.
MISSPELLED = ("HMAC-SHA256:", "Hmac-Sha256:", "hmac-SHA256:", "hmac_sha256:", "hmacsha256:", "hmac-sha-256:",
              "hmac-sha512:", "hmac-sha1:", "hmac-sha384:", "hmac-sha2560:")


def _digest_paths(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """``native``: the C extension's walk; ``hyperscan``: MALFORMED_DIGEST's database; ``regex``: every block
    searched with integrity_digest's own expression."""
    from pytest_auditready.scan import native

    if path != "native":
        monkeypatch.setattr(native, "lib", None)
    if path == "regex":
        monkeypatch.setattr(integrity_digest, "digest_checks", lambda: None)


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
@pytest.mark.parametrize("prefix", MISSPELLED)
def test_a_misspelled_digest_prefix_is_malformed_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             prefix: str, path: str) -> None:
    """The secret's value digest in line 25 (the response of a KV read) rewritten with another prefix: a malformed
    digest at line 25, the only finding, by each of the three ways a block is searched."""
    _digest_paths(monkeypatch, path)
    lines = ODD.read_text().splitlines(keepends=True)
    at = lines[24].rindex("hmac-sha256:")
    lines[24] = lines[24][:at] + prefix + lines[24][at + len("hmac-sha256:"):]
    log = tmp_path / "misspelled.log"
    log.write_text("".join(lines))
    log.chmod(0o600)
    out = _outcome(log)
    assert out.status == FAILED
    assert [(f.where.rsplit(":", 1)[1], "is malformed" in f.message) for f in out.findings] == [("25", True)]
    assert prefix[:12] in out.findings[0].message


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
def test_near_spellings_that_are_no_digest_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Values that only look near the prefix (an SSH MAC name, a KMS algorithm, a header's scheme, the word with no
    digits or no colon) are written in a Vault log's non-HMAC'd fields and in other producers' logs: no finding."""
    _digest_paths(monkeypatch, path)
    entries = _read(ODD)
    meta = entries[24]["request"].setdefault("headers", {})
    meta.update({"x-mac": ["hmac-sha2-256-etm@openssh.com"], "x-alg": ["HMAC_SHA_256"], "x-sig": ["HMAC-SHA256 x"],
                 "x-b": ["hmac-sha:1"], "x-c": ["HMACSHA256"], "x-d": ["hmac-sha256"]})
    out = _outcome(_write(tmp_path, "near.log", entries))
    assert out.status == PASSED, [f.text() for f in out.findings]
    rows = [{"time": "2026-11-30T10:00:0%d.123456Z" % i, "user": "alice", "op": "GenerateMac", "key": "k1",
             "ok": "true", "ip": "10.0.0.%d" % i, "id": f"r{i}", "sig": "HMAC-SHA256:" + "AB" * 32} for i in range(3)]
    generic = _write(tmp_path, "kms.jsonl", rows)
    fields = (("time", "time"), ("identity", "user"), ("resource", "key"), ("action", "op"), ("result", "ok"),
              ("source", "ip"), ("request_id", "id"))
    res = verify_file(str(generic), Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                                             field_map=fields), CHECK, {})
    (gen,) = [o for o in res.outcomes if o.check_id == "integrity_digest"]
    assert not gen.findings, [f.text() for f in gen.findings]


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
def test_a_line_cut_inside_a_digest_is_named_once_by_required_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     path: str) -> None:
    """A hop cut the line 18 hex digits into a digest (a size limit): the line is unreadable (required_fields says so
    at its line); the digest's end is gone with the rest of the line, so it is no malformed digest as well."""
    _digest_paths(monkeypatch, path)
    lines = ODD.read_text().splitlines(keepends=True)
    at = lines[24].index("hmac-sha256:") + len("hmac-sha256:") + 18
    lines[24] = lines[24][:at] + "\n"
    log = tmp_path / "cut.log"
    log.write_text("".join(lines))
    log.chmod(0o600)
    assert _outcome(log).status == PASSED  # the cut line is no entry integrity_digest judges
    res = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0),
                      [c for c in offline_checks(BUILTIN) if c.id == "required_fields"], {})
    assert [f.where.rsplit(":", 1)[1] for f in res.outcomes[0].findings] == ["25"]


@pytest.mark.parametrize("which", ["login", "token create", "wrapped read"])
def test_a_response_without_the_token_it_issued_is_found(tmp_path: Path, which: str) -> None:
    """The whole object that carries the issued token taken out of a successful response: a login's or a token
    creation's response.auth, found at its line (each passed: only a field of an object that was there was missed);
    the real log it comes from has no such finding. A wrapped read's response.wrap_info taken out leaves the entry a
    wrapped read of a path that holds nothing writes (the vault wraps nothing there, and answers 404: red team rt94
    F4, on a real OpenBao), so that one is excused and counted, not found: nothing in the entry tells them apart."""
    entries = _read(ODD)
    assert _stripped_lines(_outcome(_write(tmp_path, "whole.log", entries))) == []

    def wanted(e: dict[str, Any]) -> bool:
        req, resp = e.get("request") or {}, e.get("response") or {}
        path = req.get("path", "")
        if e.get("type") != "response" or e.get("error"):
            return False
        if which == "login":
            return path.endswith("/login") and "auth" in resp
        if which == "token create":
            return path.startswith("auth/token/create") and "auth" in resp
        return bool(req.get("wrap_ttl")) and req.get("operation") == "read" and "wrap_info" in resp

    n = next(i for i, e in enumerate(entries, 1) if wanted(e))
    del entries[n - 1]["response"]["wrap_info" if which == "wrapped read" else "auth"]
    out = _outcome(_write(tmp_path, "taken.log", entries))
    if which == "wrapped read":
        from pytest_auditready.checks.integrity_digest import NOTHING_WRAPPED

        assert _stripped_lines(out) == [] and dict(out.tally.excused).get(NOTHING_WRAPPED) == 1, out.tally
        return
    assert _stripped_lines(out) == [n], [f.text() for f in out.findings]
    assert "response.auth (the token it issued)" in out.findings[0].message


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
@pytest.mark.parametrize("key", ["client_token_accessor", "client_token"])
def test_a_line_cut_inside_a_token_value_s_prefix_is_no_value_in_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     path: str, key: str) -> None:
    """A hop cut the line inside "hmac-sha2" of the request's token (accessor) digest (syslog's 1024 bytes): what is
    left is the start of a digest, not an accessor or token in clear; it was an hmac_accessor=false or log_raw
    finding that sent the reader to the device's options (red team rt28, F1). required_fields names the line."""
    _digest_paths(monkeypatch, path)
    lines = ODD.read_text().splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if f'"{key}":"hmac-sha256:' in ln)
    at = lines[n].index(f'"{key}":"hmac-sha256:') + len(f'"{key}":"hmac-sha2')
    lines[n] = lines[n][:at] + "\n"
    log = tmp_path / "cut.log"
    log.write_text("".join(lines))
    log.chmod(0o600)
    out = _outcome(log)
    assert out.status == PASSED, [f.text() for f in out.findings]
    lines[n] = lines[n][:-1].replace('"hmac-sha2', '"s.9f2kd') + '","x":1}\n'  # a clear value, whole: still found
    log.write_text("".join(lines))
    assert _outcome(log).status == FAILED


def _two_token_lines(out: Any) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings if "names two tokens" in f.message)


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
@pytest.mark.parametrize(("side", "key"), [("auth", "client_token"), ("auth", "accessor"),
                                           ("request", "client_token_accessor")])
def test_an_entry_whose_auth_and_request_name_two_tokens_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  path: str, side: str, key: str) -> None:
    """Another token's digests put in an entry's auth alone (a request moved onto a colleague's token of the same
    display name, red team rt28, F2), or its accessor in the auth or the request (red teams rt45 F2, rt48 F4: only
    the token's digest was compared): the vault writes the auth's and the request's from the one token. A login's
    response, whose auth is the token it issued, is no such entry (the real logs above pass)."""
    _digest_paths(monkeypatch, path)
    entries = _read(ODD)
    other = "hmac-sha256:" + secrets.token_hex(32)
    picked = [i for i, e in enumerate(entries, 1)
              if e.get("auth", {}).get("client_token") and e.get("request", {}).get("client_token")
              and e.get("auth", {}).get("accessor") and e["request"].get("client_token_accessor")
              and not e.get("response", {}).get("auth") and "/login" not in e["request"].get("path", "")][:2]
    assert len(picked) == 2
    for n in picked:
        entries[n - 1][side][key] = other
    out = _outcome(_write(tmp_path, "two.log", entries))
    assert out.status == FAILED and _two_token_lines(out) == picked, [f.text() for f in out.findings]
    assert all(f"request.{'client_token' if key == 'client_token' else 'client_token_accessor'}" in f.message
               for f in out.findings if "names two tokens" in f.message)
    assert _two_token_lines(_outcome(ODD)) == []


def _holder_lines(out: Any) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings if "names another holder" in f.message)


@pytest.mark.parametrize(("log", "field"), [(ODD, "display_name"), (ODD, "token_policies"),
                                            (ROOT / "fixtures/vault/unseen/community-1.21.log", "entity_id")])
def test_a_token_that_names_another_holder_in_one_request_s_entries_is_found(tmp_path: Path, log: Path,
                                                                             field: str) -> None:
    """Both entries of one request given another identity alike (a display name, an entity, or the policies of a
    token of the same name: red team rt48 F5): each half agrees with the other, but the token's digest names another
    holder in its other entries, which a token never does. The real log passes (its logins' responses too)."""
    entries = _read(log)
    assert _holder_lines(_outcome(log)) == []
    by_token: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        token = e.get("auth", {}).get("client_token")
        if token and e["auth"].get(field) and "/login" not in e.get("request", {}).get("path", ""):
            by_token.setdefault(token, []).append(i)
    token, at = next((t, ix) for t, ix in by_token.items() if len(ix) >= 4)
    rid = entries[at[-2]]["request"]["id"]
    edited = [i for i in at if entries[i]["request"]["id"] == rid]
    other = ["default", "admin"] if field == "token_policies" else "someone-else"
    for i in edited:
        entries[i]["auth"][field] = other
    out = _outcome(_write(tmp_path, "swapped.log", entries))
    assert out.status == FAILED and _holder_lines(out) == [edited[0] + 1], [f.text() for f in out.findings]
    assert f"at {tmp_path / 'swapped.log'}:{at[0] + 1}" in out.findings[0].message


def _spaced(line: str) -> str:
    return json.dumps(json.loads(line))  # Python's default separators: '", "' and '": "'


def _sorted_spaced(line: str) -> str:
    return json.dumps(json.loads(line), sort_keys=True)


def _escaped_keys(line: str) -> str:
    return (line.replace('"client_token_accessor":', '"client_token_\\u0061ccessor":')
            .replace('"client_token":', '"client_\\u0074oken":'))


def _cr_after_colons(line: str) -> str:
    return line.replace('":', '":\r')  # a carriage return is JSON whitespace too


def _escaped_punctuation(line: str) -> str:
    return line.replace("hmac-sha256:", "hmac\\u002dsha256\\u003a")  # "-" and ":" as \u escapes (RFC 8259 7)


def _shipped_spaced(line: str) -> str:
    return json.dumps({"@timestamp": "2026-11-22T19:29:04Z", "message": _spaced(line), "agent": {"type": "x"}})


def _findings_by_line(path: Path) -> list[tuple[str, str]]:
    return sorted((f.where.rsplit(":", 1)[-1], f.message[:60]) for f in _outcome(path).findings)


@pytest.mark.parametrize("path", ["native", "hyperscan", "regex"])
@pytest.mark.parametrize("hop", [_spaced, _sorted_spaced, _escaped_keys, _shipped_spaced, _cr_after_colons,
                                 _escaped_punctuation],
                         ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("source", [ROOT / "fixtures" / "openbao" / "leaky-raw.log", ACCESSORS_IN_CLEAR[0], ODD],
                         ids=lambda p: p.name)
def test_a_hop_that_rewrites_the_json_loses_no_digest_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             path: str, hop: Callable[[str], str],
                                                             source: Path) -> None:
    """Tokens written raw and accessors in clear were found in the vault's compact JSON only: once a hop wrote it
    with blanks around its colons (Python's json.dumps; a carriage return), sorted, or spelled a key or a digest's
    punctuation with \\u escapes, the same log passed (red teams rt28, F8; rt31, F2, F3). The same lines give the
    same findings after each such hop; the correct log none."""
    _digest_paths(monkeypatch, path)
    lines = source.read_text().splitlines()
    want = _findings_by_line(source)
    assert (want == []) is (source == ODD)
    got = _findings_by_line(_write_lines(tmp_path, "hop.log", [hop(ln) for ln in lines]))
    assert got == want


def _write_lines(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(ln + "\n" for ln in lines))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("spelled", ["hmac\\u002dsha256:", "hmac-sha256\\u003a"])
def test_a_malformed_digest_whose_punctuation_is_escaped_is_malformed(tmp_path: Path, spelled: str) -> None:
    """A digest cut short or in upper-case hex is malformed however its "-" or ":" is spelled (red team rt31, F2:
    it passed written as \\u002d or \\u003a)."""
    lines = ODD.read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if '"request":{' in ln and '"client_token":"hmac-sha256:' in ln)
    at = lines[n].index('"client_token":"hmac-sha256:', lines[n].index('"request":{'))
    digest = lines[n][at + 16 : at + 16 + 76]
    for bad in (spelled + digest[12:32], spelled + digest[12:].upper()):
        lines2 = list(lines)
        lines2[n] = lines[n][:at + 16] + bad + lines[n][at + 16 + 76:]
        out = _outcome(_write_lines(tmp_path, "m.log", lines2))
        assert [(f.where.rsplit(":", 1)[-1], "malformed" in f.message) for f in out.findings] == [(str(n + 1), True)]
