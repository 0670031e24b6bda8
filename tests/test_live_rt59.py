"""Red team rt59: the live run against a running OpenBao, a team's own vault.

F1: ``bao secrets tune -audit-non-hmac-request-keys= secret/`` (the CLI's way to clear the list) leaves ``[""]``, a
key with no name, which log_protection failed as "every KV value in clear, rotate them". F2: the fix for a mount of
another namespace named ``sys/mounts/secret/ (namespace ns1/)tune``. F3: fail_closed's requirement said "embedded
target only (never a URL target)" above a failure on a URL target. F4: the clean-up named leftover tokens
``auditready-<run>-writer`` while the vault shows ``token-auditready-<run>-writer``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.auditlog.model import AccessLedger
from pytest_auditready.checks import fail_closed, log_protection
from pytest_auditready.checks.base import CheckContext, Finding, Note, evaluate
from pytest_auditready.config import Settings
from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.embedded import EmbeddedServer
from pytest_auditready.vault.scenario import VaultFacts
from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.conftest import leftover, remember_secret

POLICY = (Path(__file__).resolve().parents[1] / "examples" / "auditready-policy.hcl").read_text()


def _client(server: EmbeddedServer, namespace: Optional[str] = None) -> VaultClient:
    return VaultClient(server.url, server.root_token, timeout=5, namespace=namespace)


def _ok(c: VaultClient, method: str, path: str, body: Optional[dict[str, Any]] = None) -> None:
    r = c.call(method, path, body)
    assert r.ok, (path, r.status, r.error)


def _tune(c: VaultClient, path: str, **keys: list[str]) -> None:
    """Tune ``path`` as the CLI does (a JSON list per flag: ``-audit-non-hmac-request-keys=`` sends [""])."""
    _ok(c, "POST", path, {f"audit_non_hmac_{k}_keys": v for k, v in keys.items()})


def _clear_keys(non_hmac: dict[str, dict[str, list[str]]], types: dict[str, str],
                places: Optional[dict[str, list[str]]] = None, run_namespace: str = "") -> list[Any]:
    if places is None:  # as the tests of other findings call it
        return list(log_protection._clear_keys(non_hmac, types))
    return list(log_protection._clear_keys(non_hmac, types, places, run_namespace))


# -- F1: a key with no name ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("blank", ["", " "])
@pytest.mark.parametrize("kind", ["kv", "cubbyhole", "pki", "userpass"])
def test_a_key_with_no_name_is_told_not_failed(blank: str, kind: str) -> None:
    mount = "auth/corp/" if kind == "userpass" else f"{kind}/"
    said = _clear_keys({mount: {"request": [blank], "response": [blank]}}, {mount: kind})
    assert not [s for s in said if isinstance(s, Finding)], said
    assert len(said) == 2 and all(isinstance(s, Note) for s in said)
    text = said[0].text
    assert "lists a key with no name in audit_non_hmac_request_keys" in text, text
    assert "rotate" not in text and "every value is a secret" not in text
    clear = ("bao write sys/auth/corp/tune audit_non_hmac_request_keys=\"\"" if kind == "userpass"
             else f"bao write sys/mounts/{kind}/tune audit_non_hmac_request_keys=\"\"")
    assert clear in text, text


def test_a_named_secret_key_beside_the_empty_one_still_fails() -> None:
    (note, finding) = _clear_keys({"secret/": {"request": ["", "password"]}}, {"secret/": "kv"})
    assert isinstance(note, Note) and isinstance(finding, Finding)
    assert "writes the values of 'password' in clear" in finding.message, finding.message
    assert "''" not in finding.message


def test_a_kv_mount_cleared_with_the_cli_passes_on_a_real_openbao(
    pytester: pytest.Pytester, bao: Callable[..., EmbeddedServer], url_env: Callable[[EmbeddedServer], None]
) -> None:
    """The state the red team's real server reported after ``-audit-non-hmac-request-keys=`` (and what a blank
    becomes: OpenBao trims the keys), on the root's KV mount, an auth method and a namespace's KV mount: no finding.
    And the clearing write the note gives leaves no key at all."""
    server = bao()
    url_env(server)
    root = _client(server)
    _tune(root, "sys/mounts/secret/tune", request=[""], response=[" "])
    _ok(root, "POST", "sys/auth/corp", {"type": "userpass"})
    _tune(root, "sys/auth/corp/tune", request=[""])
    _ok(root, "POST", "sys/namespaces/ns1")
    ns1 = _client(server, "ns1")
    _ok(ns1, "POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
    _tune(ns1, "sys/mounts/secret/tune", request=[""])
    assert root.call("GET", "sys/mounts/secret/tune").data["audit_non_hmac_response_keys"] == [""]
    run = run_audit(pytester, server, seal=False)
    assert "log_protection" not in run.failed_checks(), run.text("log_protection")
    said = html.unescape("\n".join(run.outputs.values()))
    assert "Mount 'secret/ (namespace ns1/)' (kv) lists a key with no name" in said, said[-3000:]
    assert 'bao write -namespace=ns1 sys/mounts/secret/tune audit_non_hmac_request_keys=""' in said
    _ok(ns1, "POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ""})  # the note's write
    assert "audit_non_hmac_request_keys" not in ns1.call("GET", "sys/mounts/secret/tune").data
    assert leftover(server) == {"canaries": [], "policies": [], "tokens": []}
    assert_no_secret_in_outputs(run)


# -- F2: the fix for a mount of a namespace -----------------------------------------------------------------------
def test_the_fix_is_built_from_the_namespace_and_the_path() -> None:
    places = {"secret/ (namespace ns1/)": ["ns1", "secret/"], "auth/corp/ (namespace a/b/)": ["a/b", "auth/corp/"],
              "kv/ (root namespace)": ["", "kv/"], "own/": ["team", "own/"]}
    said = _clear_keys({m: {"request": ["password"]} for m in places},
                       {m: "userpass" if "auth/" in m else "kv" for m in places}, places, "team")
    fixes = {s.message.split("'")[1]: s.fix for s in said if isinstance(s, Finding)}
    assert set(fixes) == set(places)
    assert ("ns1/sys/mounts/secret/tune: bao secrets tune -namespace=ns1 -audit-non-hmac-request-keys=KEY secret/"
            in fixes["secret/ (namespace ns1/)"])
    assert ("a/b/sys/auth/corp/tune: bao auth tune -namespace=a/b -audit-non-hmac-request-keys=KEY corp/"
            in fixes["auth/corp/ (namespace a/b/)"])
    assert 'bao write -namespace=a/b sys/auth/corp/tune audit_non_hmac_request_keys=""' in (
        fixes["auth/corp/ (namespace a/b/)"])
    assert "sys/mounts/kv/tune in the root namespace: bao secrets tune -audit" in fixes["kv/ (root namespace)"]
    assert "team/sys/mounts/own/tune: bao secrets tune -namespace=team" in fixes["own/"]
    assert not [f for f in fixes.values() if "namespace)" in f or "/)tune" in f], fixes


def test_the_fix_for_a_namespace_mount_names_an_endpoint_that_works(
    pytester: pytest.Pytester, bao: Callable[..., EmbeddedServer], url_env: Callable[[EmbeddedServer], None]
) -> None:
    """The red team's case on a real OpenBao: a KV mount of ns1 tuned to log ``data`` in clear, found from the root
    namespace. Its fix names ns1/sys/mounts/secret/tune, which the server answers; following it, the vault passes."""
    server = bao()
    url_env(server)
    root = _client(server)
    _ok(root, "POST", "sys/namespaces/ns1")
    ns1 = _client(server, "ns1")
    _ok(ns1, "POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
    _tune(ns1, "sys/mounts/secret/tune", request=["data"], response=["data"])
    run = run_audit(pytester, server, seal=False)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "(namespace ns1/)tune" not in text, text
    assert "ns1/sys/mounts/secret/tune: bao secrets tune -namespace=ns1 -audit-non-hmac-request-keys=KEY" in text
    endpoint = re.search(r"\((\S+/tune): bao secrets tune -namespace=ns1 -audit-non-hmac-response", text)
    assert endpoint is not None, text
    # the endpoint as named, from the root namespace, and the clearing write the fix gives
    assert root.call("GET", endpoint.group(1)).data["audit_non_hmac_response_keys"] == ["data"]
    for kind in ("request", "response"):
        _ok(root, "POST", endpoint.group(1), {f"audit_non_hmac_{kind}_keys": ""})
    again = run_audit(pytester, server, seal=False)
    assert again.failed_checks() == set(), again.text("log_protection")
    assert_no_secret_in_outputs(run)


# -- F3: fail_closed on a URL target ------------------------------------------------------------------------------
def test_fail_closed_says_what_it_judges_on_a_url_target() -> None:
    """A UDP socket device fails fail_closed on a URL target (as sys/audit lists it): the requirement shown above
    the failure must not say the check applies to the embedded target only."""
    devices = {"file": {"type": "file", "options": {"file_path": "/var/log/bao/audit.log"}},
               "udp": {"type": "socket", "options": {"address": "127.0.0.1:9", "socket_type": "udp"}}}
    ctx = CheckContext(settings=Settings(target="http://127.0.0.1:8200"), ledger=AccessLedger("r", "url"),
                       entries=[SimpleNamespace(request_id="p")], bad_lines=[],  # type: ignore[list-item]
                       facts=VaultFacts(devices=devices, device="file"))
    out = evaluate(fail_closed.CHECK, ctx, [""])[""]
    assert out.status == "failed" and "sends over UDP" in out.findings[0].message
    req = fail_closed.CHECK.requirement
    assert "never a URL target):" not in req and not req.startswith("embedded target only"), req
    assert "on every target" in req and "socket device over UDP" in req, req
    assert "drilled on the embedded target only" in req, req


# -- F4: leftover tokens named as the vault shows them ------------------------------------------------------------
def test_leftover_tokens_are_named_by_the_display_name_the_vault_shows(
    pytester: pytest.Pytester, bao: Callable[..., EmbeddedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit token that may not revoke accessors leaves the run's tokens that may not revoke themselves either
    (red team rt102 F5: the others do; here the unprivileged identity's, made without the default policy, of a
    policy without revoke-self): each is named by the display name lookup-accessor answers
    (token-auditready-<run>-<identity>), so an operator can match it."""
    server = bao()
    root = _client(server)
    policy, n = re.subn(r'path "auth/token/revoke-accessor" \{[^}]*\}\n', "", POLICY)
    assert n == 1
    _ok(root, "PUT", "sys/policies/acl/no-revoke", {"policy": policy})
    _ok(root, "PUT", "sys/policies/acl/plain", {"policy": 'path "secret/data/nothing" { capabilities = ["read"] }\n'})
    r = root.call("POST", "auth/token/create", {"policies": ["no-revoke"], "ttl": "10m"})
    assert r.ok, r.error
    monkeypatch.setenv("VAULT_TOKEN", remember_secret(str((r.body or {})["auth"]["client_token"])))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False, unprivileged_policies=["plain"], unprivileged_no_default_policy=True)
    left = leftover(server)["tokens"]
    out = run.result.stdout.str()
    assert run.result.ret == 1 and len(left) == 1 and left[0].endswith("-unprivileged"), (left, out[-3000:])
    named = out.split("clean-up could NOT remove:")[1].splitlines()[0]
    for display in left:
        assert display.startswith("token-auditready-") and f"(display name {display})" in named, (display, named)
    assert_no_secret_in_outputs(run)
