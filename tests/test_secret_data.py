"""no_secret_leak: a secret's data in clear, whatever its key or shape (scan.secret_data; red team rt35, F1).

A mount tuned with audit_non_hmac_request_keys / _response_keys has the vault write those keys' values in clear. On
a KV mount, a cubbyhole and sys/wrapping every value is a secret, however short (a PIN, a word: no detector names
it), and a TOTP code is one by its key. Recorded from a real OpenBao: the same traffic before the tuning (every
value a digest: nothing to report, KV version 2's metadata times in clear included) and after it (each clear value
found at its lines), by the C gate and by the pure-Python path alike.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.scan import native, secret_data
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import load_script

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "no_secret_leak"]
_TOTP_KEY = "JBSWY3DPEHPK3PXP"  # the base32 example of RFC 4648-style TOTP docs; a seed is HMAC'd by its key


def _traffic(s: EmbeddedServer, tag: str) -> dict[str, str]:
    """KV version 2 (write, patch, read, metadata, subkeys, config, list), KV version 1, a cubbyhole, a TOTP code
    and its validation, a wrap and its unwrap: short values no detector names. Returns value -> what it is."""
    values = {f"pin-{tag}-4821": "kv2 note", f"hunter-{tag}": "kv2 pw", f"blue-{tag}": "kv1 apikey",
              f"cubby-{tag}": "cubbyhole pin", f"wrapme-{tag}": "wrapped payload"}
    note, pw, apikey, pin, payload = values
    _api(s, "POST", "secret/data/app/cfg", {"data": {"note": note, "pw": pw, "username": f"svc-{tag}"}})
    _api(s, "PATCH", "secret/data/app/cfg", {"data": {"note": note}},
         headers={"Content-Type": "application/merge-patch+json"})
    _api(s, "GET", "secret/data/app/cfg")
    _api(s, "GET", "secret/metadata/app/cfg")
    _api(s, "GET", "secret/subkeys/app/cfg")
    _api(s, "GET", "secret/config")
    _api(s, "LIST", "secret/metadata/app")
    _api(s, "POST", "kv1/app", {"apikey": apikey})
    _api(s, "GET", "kv1/app")
    _api(s, "POST", "cubbyhole/app", {"pin": pin})
    _api(s, "GET", "cubbyhole/app")
    code = _api(s, "GET", "totp/code/app")["data"]["code"]
    values[code] = "totp code"
    _api(s, "POST", "totp/code/app", {"code": code})
    wrapped = _api(s, "POST", "sys/wrapping/wrap", {"payload": payload}, headers={"X-Vault-Wrap-TTL": "60s"})
    _api(s, "POST", "sys/wrapping/unwrap", {"token": wrapped["wrap_info"]["token"]})
    return values


def _findings(path: Path) -> list[Any]:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), CHECK, {})
    (out,) = res.outcomes
    return list(out.findings)


def _gate(monkeypatch: pytest.MonkeyPatch, gate: str) -> None:
    """Judge by the pure-Python path ("pure"), or by the C extension ("native": skipped when it is not built)."""
    if gate == "pure":
        monkeypatch.setattr(native, "lib", None)
    elif native.lib is None:
        pytest.skip("the C extension is not built")


def _log_lines(s: EmbeddedServer, last: str, times: int) -> list[str]:
    """The server's log lines once ``last`` (the last request's path, as logged) is there ``times`` times."""
    end = time.monotonic() + 10
    while Path(s.log_path).read_text().count(f'"path":"{last}"') < times:
        assert time.monotonic() < end, "the device did not write the last response within 10 s"
        time.sleep(0.05)
    return Path(s.log_path).read_text().splitlines()


def _logs(folder: Path, **parts: list[str]) -> tuple[Path, ...]:
    """Each part written as ``<name>.log`` in ``folder``, mode 0600 as a device writes it."""
    out = []
    for name, lines in parts.items():
        path = folder / f"{name}.log"
        path.write_text("".join(ln + "\n" for ln in lines))
        path.chmod(0o600)
        out.append(path)
    return tuple(out)


def _lines(findings: list[Any]) -> list[int]:
    return sorted({int(f.where.rsplit(":", 1)[1]) for f in findings} | {n for f in findings for n in f.also_on})


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """One real OpenBao's log: the traffic untuned (``before``), then tuned (``after``); the values planted after."""
    s = EmbeddedServer()
    s.start()
    try:
        _api(s, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
        _api(s, "POST", "sys/mounts/totp", {"type": "totp"})
        _api(s, "POST", "totp/keys/app", {"key": _TOTP_KEY, "issuer": "x", "account_name": "y"})
        _traffic(s, "a")
        cut = len(Path(s.log_path).read_text().splitlines())
        for mount, keys in (("secret", ["note", "pw", "username"]), ("kv1", ["apikey"]), ("cubbyhole", ["pin"]),
                            ("totp", ["code"]), ("sys", ["payload"])):
            _api(s, "POST", f"sys/mounts/{mount}/tune", {"audit_non_hmac_request_keys": keys,
                                                         "audit_non_hmac_response_keys": keys})
        planted = _traffic(s, "b")
        lines = _log_lines(s, "sys/wrapping/unwrap", 4)
    finally:
        s.stop()
    before, after = _logs(tmp_path_factory.mktemp("secret_data"), before=lines[:cut], after=lines)
    return before, after, planted


def test_the_untuned_traffic_gives_no_finding(recorded: tuple[Path, Path, dict[str, str]]) -> None:
    before, _, _ = recorded
    text = before.read_text()
    assert '"created_time":"' in text  # KV version 2's metadata times, in clear by design
    assert _findings(before) == []


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_each_secret_value_in_clear_is_found_at_its_lines(recorded: tuple[Path, Path, dict[str, str]],
                                                          monkeypatch: pytest.MonkeyPatch, gate: str) -> None:
    _, after, planted = recorded
    _gate(monkeypatch, gate)
    lines = after.read_text().splitlines()
    want = sorted(n for n, ln in enumerate(lines, 1)
                  if any(f'"{v}"' in ln for v in planted) and '"operation":"list"' not in ln)
    found = _findings(after)
    assert _lines(found) == want
    shown = " ".join(f.message for f in found)
    assert all(v not in shown for v in planted)
    assert '"username":"svc-b"' in after.read_text() and "'username'" not in shown  # who, not a secret
    kinds = {json.loads(lines[n - 1])["request"]["path"] for n in want}
    assert kinds == {"secret/data/app/cfg", "kv1/app", "cubbyhole/app", "totp/code/app", "sys/wrapping/wrap",
                     "sys/wrapping/unwrap"}


def test_the_gate_lets_through_every_line_the_judgment_names(recorded: tuple[Path, Path, dict[str, str]]) -> None:
    """The C gate is a superset of what scan.secret_data judges: every line with a clear value passes it."""
    if native.lib is None:
        pytest.skip("the C extension is not built")
    _, after, _ = recorded
    data = after.read_bytes()
    starts, at = [], 0
    for ln in data.splitlines(keepends=True):
        if secret_data.clear_values(json.loads(ln)):
            starts.append(at)
        at += len(ln)
    gate = secret_data.candidate_lines(data)
    assert starts and set(starts) <= set(gate)
    assert len(gate) < len(data.splitlines())


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_a_line_written_with_escapes_is_judged_alike(recorded: tuple[Path, Path, dict[str, str]], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, gate: str) -> None:
    """The same entries with their keys and values spelled through \\u escapes (no Go encoder writes them; a hop or
    a hand may): the C gate looked for "data" as written and let the escaped lines pass unjudged, where the pure
    path judged them."""
    _, after, _planted = recorded
    _gate(monkeypatch, gate)
    plain = _lines(_findings(after))
    escaped = tmp_path / "escaped.log"
    escaped.write_text(after.read_text().replace('"data":', '"\\u0064ata":').replace('"kv"', '"\\u006bv"'))
    escaped.chmod(0o600)
    assert plain and _lines(_findings(escaped)) == plain


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_entries_that_name_no_mount_type_are_judged_where_path_or_shape_tells(
        recorded: tuple[Path, Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        gate: str) -> None:
    """Vault before 1.5 wrote no mount_type (hashicorp/vault PR 9167), and a hop may drop it: the same entries without
    it passed, every value in clear unjudged. A cubbyhole (always at cubbyhole/) and a KV version 2 secret (its
    data/ path and shape) are still found at their lines; a version 1 secret cannot be told from another endpoint's
    data. The untuned traffic without it gives no finding."""
    before, after, _ = recorded
    _gate(monkeypatch, gate)

    def unnamed(path: Path) -> Path:
        out = []
        for ln in path.read_text().splitlines():
            doc = json.loads(ln)
            for side in ("request", "response"):
                if isinstance(doc.get(side), dict):
                    doc[side].pop("mount_type", None)
            out.append(json.dumps(doc, separators=(",", ":")))
        (copy,) = _logs(tmp_path, **{f"unnamed-{path.stem}": out})
        return copy

    lines = after.read_text().splitlines()
    named = _lines(_findings(after))
    want = {n for n in named if json.loads(lines[n - 1])["request"]["path"] in ("secret/data/app/cfg", "cubbyhole/app")}
    assert len(want) >= 4
    found = set(_lines(_findings(unnamed(after))))
    assert want <= found <= set(named)  # (a version 1 secret's line is still found where a detector names its key)
    assert _findings(unnamed(before)) == []


@pytest.mark.parametrize(("doc", "clear"), [
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/data/x", "operation": "read"},
      "response": {"data": {"data": {"k": "v1"}, "metadata": {"created_time": "2026-01-01T00:00:00Z"}}}}, ["k"]),
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/data/x", "operation": "create"},
      "response": {"data": {"created_time": "2026-01-01T00:00:00Z", "version": 1}}}, []),
    ({"request": {"mount_type": "kv", "mount_point": "kv/", "path": "kv/config", "operation": "create",
                  "data": {"password": "1234"}}}, ["password"]),  # a version 1 secret named config
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/config", "operation": "read"},
      "response": {"data": {"cas_required": False, "delete_version_after": "0s", "max_versions": 0}}}, []),
    ({"request": {"mount_type": "kv", "path": "kv/x", "operation": "list"},
      "response": {"data": {"keys": ["a", "b"]}}}, []),
    ({"request": {"mount_type": "kv", "path": "kv/x", "operation": "read"},
      "response": {"data": {"a": "hmac-sha256:" + "0" * 64, "b": "", "c": ["hmac-sha256:" + "1" * 64, "clear"]}}},
     ["c"]),
    ({"request": {"mount_type": "kv", "mount_point": "db/", "path": "db/data/x", "operation": "create",
                  "data": {"data": {"username": "app", "User_Name": "app", "password": "pw"}}}}, ["password"]),
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/data/x", "operation": "create",
                  "data": {"data": {"a": "in"}, "options": {"cas": 0}, "pw": "beside"}}}, ["a", "pw"]),
    ({"request": {"mount_type": "kv", "mount_point": "ns1/team/kv/", "path": "team/kv/metadata/x", "operation": "read",
                  "namespace": {"id": "Ab1", "path": "ns1/"}},
      "response": {"data": {"current_version": 1, "oldest_version": 0, "versions": {}, "future_key": "clear"}}}, []),
    # numbers: a secret's (a PIN, a backup code), or a setting's, an id's, a time's kept beside it (Terraform's
    # jsonencode({port = 5432})), and a boolean
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/x", "operation": "create",
                  "data": {"pin": 4821, "port": 5432, "pool": 5, "accountId": 123456789012, "expires_at": 1700000000,
                           "rate_limit": 50, "armed": True, "backup_code": 99887766}}}, ["pin", "backup_code"]),
    ({"request": {"mount_type": "transit", "path": "transit/encrypt/k", "operation": "update",
                  "data": {"context": "clear"}}}, []),  # another mount: its keys are judged by what they are
    # no mount_type (Vault before 1.5): told by the path or the shape, never by a "/data/" path alone
    ({"request": {"path": "cubbyhole/x", "operation": "create", "data": {"pin": 4821}}}, ["pin"]),
    ({"request": {"path": "team/kv/data/x", "operation": "read"},
      "response": {"data": {"data": {"pw": "clear"}, "metadata": {"version": 3, "created_time": "2020-01-01T00:00:00Z"}}}},
     ["pw"]),
    ({"request": {"path": "app/data/x", "operation": "update", "data": {"data": {"pin": 4821}, "mode": "x"}},
      "response": {"data": {"data": {"n": 7}}}}, []),
    ({"request": {"path": "kv1/app", "operation": "create", "data": {"apikey": "clear"}}}, []),
    # red team rt49: a MIN/MAX that only begins a word (F1); a number after an object in a list (F2); who, as
    # libpq and directories spell it (F3); a wrapped KV version 2 read unwrapped (F4); times, lifetimes and a key
    # derivation's settings (F5); a key of the secret's own named mount_type (F6); a version 1 secret under config/
    # with a key of version 2's words (F7)
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/minio", "operation": "create",
                  "data": {"MINIO_ROOT_PASSWORD": 73104829, "maxConnections": 5, "MAX_CONNS": 5}}},
     ["MINIO_ROOT_PASSWORD"]),
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/c", "operation": "create",
                  "data": {"codes": [{"version": 1}, 91827364]}}}, ["codes"]),
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/pg", "operation": "create",
                  "data": {"PGUSER": "app", "sAMAccountName": "alice", "binddn": "cn=admin,dc=example,dc=org",
                           "userPrincipalName": "alice@example.org", "ADMIN_USERS": "a,b", "PGPASSWORD": "pw"}}},
     ["PGPASSWORD"]),
    ({"request": {"path": "sys/wrapping/unwrap", "operation": "update"},
      "response": {"data": {"data": {"cvv": 123}, "metadata": {"version": 1, "created_time": "2026-01-01T00:00:00Z"}}}},
     ["cvv"]),
    ({"request": {"path": "sys/wrapping/unwrap", "operation": "update"},
      "response": {"data": {"num_uses": 3, "renewable": True}}}, []),
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/data/oauth", "operation": "create",
                  "data": {"data": {"access_token": "hmac-sha256:" + "2" * 64, "expires_in": 3599, "iat": 1733400000,
                                    "timestamp": 1733400000, "created": 1733400000, "iterations": 600000,
                                    "rsa_bits": 4096}}}}, []),
    ({"request": {"path": "cubbyhole/y", "operation": "create", "data": {"mount_type": "system", "pin": 5555}}},
     ["mount_type", "pin"]),
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/config/app", "operation": "create",
                  "data": {"data": 73104829}}}, ["data"]),
    # red team rt46: a number under a key that names who is no one's name (F4); fractions, flags and small counts
    # are no secret (F5); OpenBao's metadata check-and-set (F7); only a real time is one (F8)
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/data/bank", "operation": "create",
                  "data": {"data": {"account": 123456789012, "username": "alice", "bank": "hmac-sha256:" + "3" * 64}}}},
     ["account"]),
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/data/llm", "operation": "create",
                  "data": {"data": {"temperature": 0.7, "top_p": 0.9, "enabled": 1, "debug": 0, "cpu": 2,
                                    "memory_mb": 512, "scale": 1e3, "pin": 4821, "code": -4821}}}}, ["pin", "code"]),
    ({"request": {"mount_type": "kv", "mount_point": "secret/", "path": "secret/metadata/mc", "operation": "update",
                  "data": {"metadata_cas": 1, "max_versions": 4, "custom_metadata": {"team": "hmac-sha256:" + "4" * 64}}}},
     []),
    ({"request": {"mount_type": "kv", "mount_point": "kv1/", "path": "kv1/t", "operation": "create",
                  "data": {"stamp": "9999-99-99 99:99:99+48:21", "note": "2024-01-01T00:00:00.4111111111111111Z",
                           "created": "2026-01-02T03:04:05.123456789Z", "leap": "2016-12-31T23:59:60+05:30"}}},
     ["stamp", "note"]),
])
def test_which_values_are_a_secrets_data(doc: dict[str, Any], clear: list[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The judgment, and both gates before it: each lets the entry's line through where the judgment names a value
    (the C gate kept a key past the object it closed, [{"version":1},91827364], and looked for "mount_type" anywhere
    in a line: red team rt49 F2, F6)."""
    assert [c.path for c in secret_data.clear_values(doc)] == clear
    line = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
    for gate in ("native", "pure"):
        if gate == "native" and native.lib is None:
            continue
        with monkeypatch.context() as m:
            if gate == "pure":
                m.setattr(native, "lib", None)
            assert not clear or secret_data.candidate_lines(line) == [0], gate


def test_a_log_raw_kv_read_is_one_finding_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  bao: Callable[..., EmbeddedServer]) -> None:
    """log_raw: every read of the secret writes it again; one finding names it, with its other lines."""
    s = bao(audit_options={"log_raw": "true"})
    _api(s, "POST", "secret/data/app/x", {"data": {"pin": "4821-7"}})
    for _ in range(3):
        _api(s, "GET", "secret/data/app/x")
    (path,) = _logs(tmp_path, raw=_log_lines(s, "secret/data/app/x", 8))
    found = [f for f in _findings(path) if secret_data.KIND in f.message]
    assert len(found) == 1 and "'pin'" in found[0].message and "4821-7" not in found[0].message
    assert len(found[0].also_on) == 4  # the write's response and the three reads' responses (the request first)


# -- red teams rt42 and rt43: the rule's other shapes, on a real OpenBao ----------------------------------------------

_NS = {"X-Vault-Namespace": "ns1"}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A real OpenBao's log of what is no secret's data (``good``) and of secrets in clear in the shapes the rule
    missed (``bad``); the values planted in ``bad``, each with what it is."""
    s = EmbeddedServer()
    s.start()
    try:
        _api(s, "POST", "sys/namespaces/ns1")
        _api(s, "POST", "sys/mounts/team/kv", {"type": "kv", "options": {"version": "2"}}, headers=_NS)
        _api(s, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
        keys = ["owner", "username", "DB_USERNAME", "POSTGRES_USER", "pin", "value"]
        for mount, headers in (("secret", None), ("kv1", None), ("team/kv", _NS), ("cubbyhole", _NS)):
            _api(s, "POST", f"sys/mounts/{mount}/tune", {"audit_non_hmac_request_keys": keys,
                                                         "audit_non_hmac_response_keys": keys}, headers=headers)
        # no secret's data: custom metadata tuned to be read (root and a namespace's nested mount), names at any
        # depth and by the names teams give them, version 2's own numbers, untuned strings
        for mount, headers in (("secret", None), ("team/kv", _NS)):
            _api(s, "POST", f"{mount}/metadata/app", {"max_versions": 5, "custom_metadata": {"owner": "payments"}},
                 headers=headers)
            _api(s, "GET", f"{mount}/metadata/app", headers=headers)
            _api(s, "POST", f"{mount}/data/app", {"data": {"db": {"username": "svc", "password": "hmacd-1"}},
                                                  "options": {"cas": 0}}, headers=headers)
            _api(s, "GET", f"{mount}/data/app", headers=headers)
        _api(s, "POST", "kv1/env", {"DB_USERNAME": "svc-app", "POSTGRES_USER": "pg", "DB_PASSWORD": "hmacd-2",
                                    "db_port": 5432, "maxConnections": 20, "timeout": 30, "tls": True})
        _api(s, "GET", "kv1/env")
        _api(s, "POST", "secret/data/gone", {"data": {"k": "hmacd-3"}})
        _api(s, "DELETE", "secret/data/gone")
        _api(s, "GET", "secret/data/gone")  # a deleted version's raw 404 answer: http_status_code
        cut = len(Path(s.log_path).read_text().splitlines())
        planted = {"4821": "a PIN as a JSON number (never HMAC'd)", "opensesame": "a namespace's cubbyhole",
                   "2019-07-04 Tigers": "a value starting with a date", "Rq7-Vx2-Lm9": "a password one level down"}
        _api(s, "POST", "secret/data/pins", {"data": {"door": 4821, "armed": True}})  # no mount tuning needed
        _api(s, "GET", "secret/data/pins")
        _api(s, "POST", "cubbyhole/mine", {"value": "opensesame"}, headers=_NS)
        _api(s, "GET", "cubbyhole/mine", headers=_NS)
        _api(s, "POST", "secret/data/dated", {"data": {"pin": "2019-07-04 Tigers"}})
        _api(s, "POST", "team/kv/data/nested", {"data": {"db": {"username": "svc", "pin": "Rq7-Vx2-Lm9"}}},
             headers=_NS)
        lines = _log_lines(s, "team/kv/data/nested", 2)
    finally:
        s.stop()
    good, bad = _logs(tmp_path_factory.mktemp("shapes"), good=lines[:cut], bad=lines[cut:])
    return good, bad, planted


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_metadata_names_and_the_vaults_own_numbers_are_no_secrets_data(
        shapes: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, gate: str) -> None:
    """OpenBao's metadata answer (current_metadata_version...), a namespace's mount at a nested path (its request
    path the namespace's own), a username one level down or named DB_USERNAME, cas and version numbers, a 404's
    http_status_code, a port or a timeout stored as a number, a boolean: all in clear by design or by a tuning that
    is right, and no finding (red teams rt42 F2, F3, F11, F13; rt43 F1, F4)."""
    good, _, _ = shapes
    _gate(monkeypatch, gate)
    text = good.read_text()
    assert '"owner":"payments"' in text and '"current_metadata_version"' in text  # tuned, and OpenBao's own key
    assert '"namespace":{"id":' in text and '"path":"team/kv/metadata/app"' in text
    assert '"username":"svc"' in text and '"DB_USERNAME":"svc-app"' in text and '"http_status_code":404' in text
    assert '"db_port":5432' in text  # settings kept beside a secret, numbers the vault never HMACs
    assert _findings(good) == []


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_numbers_a_namespaces_cubbyhole_dated_and_nested_values_are_found(
        shapes: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, gate: str) -> None:
    """A PIN stored as a JSON number on an untuned mount, a namespace's cubbyhole (ns_cubbyhole), a value that only
    starts like a time, a value one level down: each found at every line that holds it, named by its key's path;
    a boolean is not (red teams rt42 F1, F4, F5; rt43 F2, F3, F10)."""
    _, bad, planted = shapes
    _gate(monkeypatch, gate)
    lines = bad.read_text().splitlines()
    assert any('"mount_type":"ns_cubbyhole"' in ln for ln in lines)
    want = sorted(n for n, ln in enumerate(lines, 1)
                  if any(f'"{v}"' in ln or f":{v}," in ln or f":{v}}}" in ln for v in planted))
    found = _findings(bad)
    assert _lines(found) == want and len(found) == len(planted)
    shown = " ".join(f.message for f in found)
    assert all(v not in shown for v in planted)
    assert "'door'" in shown and "'db.pin'" in shown and "'armed'" not in shown and "'db.username'" not in shown
    door = next(f for f in found if "'door'" in f.message)  # a number: no tuning to undo, a type to change
    assert "a JSON number" in door.message and "as JSON strings" in door.fix


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_a_path_written_with_an_escaped_slash_is_judged_alike(
        recorded: tuple[Path, Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        gate: str) -> None:
    """sys\\/wrapping\\/wrap is the same JSON string as sys/wrapping/wrap (RFC 8259 allows \\/, PHP's json_encode
    writes it): the gates looked for the slash as written (red teams rt42 F6, rt43 F5)."""
    _, after, _ = recorded
    _gate(monkeypatch, gate)
    plain = _lines(_findings(after))
    escaped = tmp_path / "escaped.log"
    escaped.write_text(after.read_text().replace("sys/wrapping/", "sys\\/wrapping\\/"))
    escaped.chmod(0o600)
    assert plain and _lines(_findings(escaped)) == plain


def test_a_value_nested_deeper_than_pythons_recursion_limit_is_found() -> None:
    """A vault takes request data nested 10,000 deep (Go's decoder): the walk is no recursion."""
    deep: Any = 4821
    for _ in range(3000):
        deep = [deep]
    doc = {"request": {"mount_type": "kv", "mount_point": "kv/", "path": "kv/x", "operation": "create",
                       "data": {"pin": deep}}}
    assert [(c.where, c.path, c.value, c.number) for c in secret_data.clear_values(doc)] == [
        ("request.data", "pin", "4821", True)]
