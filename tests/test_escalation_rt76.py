"""Grants under a real name, and the default policy's KV reads, are judged as the vault answers them (red team rt76).

F1: log_protection asked sys/capabilities-self only about made-up names (auth/token/roles/auditready-probe...), so a
policy of the unprivileged identity that opened a way to any policy under a real name passed: a token role ci with
tokens of it, the AppRole role payments, the identity group ops, the userpass user alice, the SecretID of a role
whose policy holds sudo on sys/audit/*. Each path the identity's policies name (read with the audit token), and each
real name the audit token lists, is now asked as it is named.

F2: a default policy reading secret/data/payments/*, or a whole second KV mount (kv/data/*), passed: only the canary
path was tried. Each KV mount's made-up path is asked, and the default policy's own KV paths.

Real OpenBao servers: the embedded target booted from a copy of examples/vault-config (as the README's gate
command), once for the bad grants and once for the good ones, and URL targets audited with the least-privilege
policy of examples/auditready-policy.hcl.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.vault.client import VaultClient
from tests.auditrun import SECRET_RECORDER, assert_no_secret_in_outputs, parse_junit, run_audit
from tests.conftest import SEEN_SECRETS, assert_no_secret, remember_secret

pytestmark = pytest.mark.vault

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vault-config"
POLICY = ROOT / "examples" / "auditready-policy.hcl"

# The red team's grants, each in the default policy of one vault (with the bootstrap lines that make the names real)
BAD_DEFAULT = '''
path "auth/token/roles/ci" { capabilities = ["create", "update"] }
path "auth/token/create/ci" { capabilities = ["update"] }
path "auth/approle/role/payments" { capabilities = ["create", "update"] }
path "identity/group/name/ops" { capabilities = ["create", "update"] }
path "auth/userpass/users/alice" { capabilities = ["create", "update"] }
path "auth/approle/role/billing/secret-id" { capabilities = ["update"] }
path "secret/data/payments/*" { capabilities = ["read"] }
path "kv/data/*" { capabilities = ["read"] }
path "sys/policies/acl/app-payments" { capabilities = ["update"] }
path "sys/config/auditing/request-headers/x-correlation-id" { capabilities = ["update", "sudo"] }
path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read", "update"] }
'''
BAD_BOOTSTRAP = '''
bao write identity/group name=ops policies=app-payments
bao auth enable userpass
bao write auth/userpass/users/alice password=Sup3rS3cretPw token_policies=app-payments
bao write auth/approle/role/billing token_policies=audit-admin
bao secrets enable -path=kv -version=2 kv
'''
AUDIT_ADMIN = 'path "sys/audit/*" { capabilities = ["update", "delete", "sudo"] }\n'
# Grants that open no way to more power: a SecretID of a role whose policy reads its own secrets (the payments
# service's), a user's own password by template; and app-payments among the unprivileged policies, reading its own
GOOD_DEFAULT = 'path "auth/approle/role/payments/secret-id" { capabilities = ["update"] }\n'
GOOD_BOOTSTRAP = '''
bao auth enable userpass
acc=$(bao read -field=accessor sys/auth/userpass)
bao policy read default > default.now
printf 'path "auth/userpass/users/{{identity.entity.aliases.%s.name}}/password" { capabilities = ["update"] }\\n' \\
  "$acc" >> default.now
bao policy write default default.now
'''


def _folder(where: Path, default: str = "", bootstrap: str = "", policies: Optional[dict[str, str]] = None,
            unprivileged: str = "") -> Path:
    """A copy of examples/vault-config with ``default`` added to its default policy, ``bootstrap`` to its bootstrap
    script, more ``policies`` (name -> text), and ``unprivileged`` as its unprivileged_policies."""
    folder = where / "vc"
    shutil.copytree(EXAMPLE, folder)
    with open(folder / "policies" / "default.hcl", "a") as f:
        f.write(default)
    with open(folder / "bootstrap.sh", "a") as f:
        f.write(bootstrap)
    for name, text in (policies or {}).items():
        (folder / "policies" / f"{name}.hcl").write_text(text)
    if unprivileged:
        toml = folder / "auditready.toml"
        toml.write_text(toml.read_text().replace('unprivileged_policies = ["default"]', unprivileged))
        assert unprivileged in toml.read_text()
    return folder


def _gate(where: Path, folder: Path) -> dict[str, Any]:
    """The README's gate command on ``folder`` (a pytest of its own, as CI runs it): its exit code, its items'
    outcomes and texts, its evidence, and every output (none may hold a secret of the run)."""
    (where / "conftest.py").write_text(SECRET_RECORDER)
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--auditready",
                          f"--auditready-vault-config={folder}", f"--auditready-config={folder / 'auditready.toml'}",
                          "--auditready-evidence=ev", "--junitxml=junit.xml"],
                         cwd=where, capture_output=True, text=True, timeout=300)
    items, messages = parse_junit(where / "junit.xml")
    secrets = json.loads((where / "secrets.json").read_text())
    SEEN_SECRETS.update(v for v in secrets.values() if v)
    evidence = (where / "ev" / "evidence.json").read_text()
    for name, text in (("stdout", res.stdout), ("stderr", res.stderr), ("junit", (where / "junit.xml").read_text()),
                       ("evidence", evidence)):
        assert_no_secret(text, name)
    doc = json.loads(evidence)
    check = next(c for c in doc["checks"] if c["id"] == "log_protection")
    return {"rc": res.returncode, "out": res.stdout, "items": items, "text": messages.get("log_protection", ""),
            "vault": doc["vault"], "check": json.dumps(check)}


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("bad")
    return _gate(where, _folder(where, BAD_DEFAULT, BAD_BOOTSTRAP, {"audit-admin": AUDIT_ADMIN}))


@pytest.mark.parametrize("named", [
    # a token role of its own (or that one), and tokens of it: proved on a real OpenBao to reach sudo on sys/audit/*
    "create, update on auth/token/roles/ci and update on auth/token/create/ci: it can define a token role",
    "create, update on auth/approle/role/payments: it can write an entry of the approle auth method",
    "create, update on identity/group/name/ops: it can give an entity (its own, once it logs in through an auth "
    "method) any policy",
    "create, update on auth/userpass/users/alice: it can write an entry of the userpass auth method",
    # the SecretID of one role, whose policy may switch auditing off
    "update on auth/approle/role/billing/secret-id: it can make a SecretID of the AppRole role billing and, with its "
    "RoleID (no secret), log in as that role, whose policies hold delete, sudo, update on sys/audit/* (policy "
    "audit-admin)",
    # F2: the default policy reads another team's secrets; a policy reads a whole second KV mount
    "The default policy, which the vault attaches to every token, grants read on secret/data/payments/* (secrets of "
    "the KV mount secret/; the vault answered read for secret/data/payments/auditready-probe",
    "holds read on kv/data/*: every token that carries them can read every secret of the KV mount kv/",
    # a policy it does not hold, which roles and groups it may use carry; one audited header
    "update on sys/policies/acl/app-payments: it can rewrite the policy app-payments, and so give the tokens, roles, "
    "users and groups that carry it",
    "sudo, update on sys/config/auditing/request-headers/x-correlation-id: it can have every audit device write those "
    "request headers in clear",
    # each user's own entity, by template: its policies too (the run's token has none to ask the vault with)
    "The policies [default] grant update on identity/entity/id/{{identity.entity.id}} (default): paths templated on "
    "the requester's identity",
], ids=["token-role", "approle-role", "identity-group", "userpass-user", "role-secret-id", "default-reads-payments",
        "whole-kv-mount", "another-policy", "audited-header", "own-entity-by-template"])
def test_a_grant_under_a_real_name_fails_log_protection(bad: dict[str, Any], named: str) -> None:
    """Before: exit 0, every check passed (the red team's v-q_*, v-p_secretid2, v-d_payments, v-d_kvmount)."""
    assert bad["rc"] == 1, bad["out"][-3000:]
    assert {n.split("[")[0] for n, s in bad["items"].items() if s == "failed"} == {"log_protection"}, bad["out"][-3000:]
    assert named in bad["text"], bad["text"]


def test_the_vault_was_asked_by_name(bad: dict[str, Any]) -> None:
    """The named paths went to sys/capabilities-self as they are named, and the vault answered for each."""
    caps = bad["vault"]["capabilities"]
    assert caps["auth/token/roles/ci"] == ["create", "update"] and caps["auth/token/create/ci"] == ["update"]
    assert caps["secret/data/payments/auditready-probe"] == ["read"] and caps["kv/data/auditready-probe"] == ["read"]
    assert bad["vault"]["use_objects"]["auth/approle/role/billing"] == {"policies": ["audit-admin"]}


def test_the_example_as_shipped_passes_having_asked_every_real_name(tmp_path: Path) -> None:
    """examples/vault-config unchanged: zero findings (the red team's base), after its real names were asked (the
    AppRole role payments the audit token lists, the KV mount secret/) and the default policy's text was read."""
    run = _gate(tmp_path, _folder(tmp_path))
    assert run["rc"] == 0, run["out"][-3000:]
    assert not [n for n, s in run["items"].items() if s == "failed"]
    facts = run["vault"]
    assert facts["names"] == {"auth/approle/role": ["payments"]} and facts["kv_mounts"] == {"secret/": "2"}
    assert [p for p, _ in facts["policy_grants"]["default"]] == [
        "auth/token/lookup-self", "auth/token/renew-self", "auth/token/revoke-self", "sys/capabilities-self",
        "sys/internal/ui/resultant-acl"]
    for path in ("auth/approle/role/payments", "auth/approle/role/payments/secret-id", "secret/data/auditready-probe",
                 "secret/metadata/auditready-probe"):
        assert facts["capabilities"][path] == ["deny"], path
    assert not facts["policies_error"]


def test_grants_that_open_no_way_to_more_power_pass(tmp_path: Path) -> None:
    """A SecretID of the payments role (its policy reads its own secrets: no audit power), a user's own password by
    template (told in a note: the run's token has no entity), and app-payments among the unprivileged policies
    reading its own paths: zero findings, each judged."""
    folder = _folder(tmp_path, GOOD_DEFAULT, GOOD_BOOTSTRAP, unprivileged='unprivileged_policies = ["app-payments"]')
    run = _gate(tmp_path, folder)
    assert run["rc"] == 0, run["out"][-3000:]
    assert not [n for n, s in run["items"].items() if s == "failed"]
    facts = run["vault"]
    assert facts["capabilities"]["auth/approle/role/payments/secret-id"] == ["update"]
    assert facts["use_objects"]["auth/approle/role/payments"] == {"policies": ["app-payments"]}
    assert facts["policy_grants"]["app-payments"] == [["secret/data/payments/*", ["read"]]]
    assert "paths templated on the requester's identity" in run["check"] and "/password (default)" in run["check"]


@pytest.mark.parametrize("readable", [True, False], ids=["policies-readable", "policies-not-readable"])
def test_the_least_privilege_token_judges_named_grants(pytester: pytest.Pytester, bao: Any, monkeypatch: Any,
                                                        readable: bool) -> None:
    """A URL target audited with the token of examples/auditready-policy.hcl: the default policy's named token role
    and a role's SecretID are judged (from the policy's text; else from the token roles the audit token lists, and
    the role's policies then cannot be told). A policy it may not read is a finding naming the fix."""
    server = bao()
    c = VaultClient(server.url, server.root_token, timeout=5)
    policy = POLICY.read_text()
    if not readable:
        policy = policy.replace('path "sys/policies/acl/*" {\n  capabilities = ["read"]\n}\n', "")
        assert 'acl/*"' not in policy
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    for path, body in (("sys/policies/acl/auditready", {"policy": policy}),
                       ("sys/policies/acl/default", {"policy": default + BAD_DEFAULT}),
                       ("sys/policies/acl/audit-admin", {"policy": AUDIT_ADMIN}),
                       ("sys/auth/approle", {"type": "approle"}),
                       ("auth/approle/role/billing", {"token_policies": "audit-admin"}),
                       ("auth/token/roles/ci", {"allowed_policies": "default"})):
        assert c.call("POST", path, body).status in (200, 204), path
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m"})
    monkeypatch.setenv("VAULT_TOKEN", remember_secret(r.body["auth"]["client_token"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "create, update on auth/token/roles/ci and update on auth/token/create/ci" in text, text
    unread = "The policies the unprivileged identity holds could not be read with the audit token " \
             "(sys/policies/acl/default answered 403"
    if readable:
        assert unread not in text
        assert "billing and, with its RoleID (no secret), log in as that role, whose policies hold delete, sudo, " \
               "update on sys/audit/* (policy audit-admin)" in text
    else:
        assert unread in text and "give the audit token read on sys/policies/acl/*" in text
        # the role billing, listed by the audit token: its policy audit-admin cannot be read either
        assert "update on auth/approle/role/billing/secret-id: it can make a SecretID of the AppRole role billing " \
               "and, with its RoleID (no secret), log in as that role; what that login may do could not be told " \
               "(its policies audit-admin (sys/policies/acl/audit-admin answered 403" in text, text
    assert_no_secret_in_outputs(run)
