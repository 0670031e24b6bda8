"""Tokens of an existing token role, and the default policy's KV reads through ``+``, judged as the vault answers
them (red team rt79).

F1: a policy granting only update on auth/token/create/ci, where the token role ci allows the policy ops (sudo on
sys/audit/*), passed: a token role was judged only as a pair (write on the role and on its tokens). Proved on a real
OpenBao: a token of the default policy mints a token of ops. Each role the identity may make tokens of (by name, or
each listed role through a glob) is now read with the audit token and judged by the policies its tokens may carry
(allowed_policies, and allowed_policies_glob matched against the vault's policies).

F2: a default policy reading +/data/payments/* (any mount) or team/+/data/payments/*, or listing
secret/+/payments/* (metadata/), passed: a policy path was matched to a KV mount by prefix, and a + after the mount
read as data/ only. Each mount is now matched segment by segment and the path asked under each.

Real OpenBao servers: the embedded target booted from a copy of examples/vault-config (as the README's gate
command) for the bad grants and for a realistic set that must pass, and URL targets audited with the
least-privilege policy of examples/auditready-policy.hcl (as shipped, and without its token-role lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import log_protection
from pytest_auditready.vault.client import VaultClient
from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.conftest import remember_secret
from tests.test_escalation_rt76 import AUDIT_ADMIN, POLICY, _folder, _gate

pytestmark = pytest.mark.vault

OPS = 'path "sys/audit/*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }\n'
# The red team's grants, each in the default policy of one vault (the bootstrap makes the roles and mounts real)
BAD_DEFAULT = '''
path "auth/token/create/ci" { capabilities = ["update"] }
path "auth/token/create/deploy-*" { capabilities = ["update"] }
path "+/data/payments/*" { capabilities = ["read"] }
path "team/+/data/payments/*" { capabilities = ["read"] }
path "secret/+/billing/*" { capabilities = ["list"] }
path "+/payroll/*" { capabilities = ["read"] }
'''
BAD_BOOTSTRAP = '''
bao write auth/token/roles/ci allowed_policies=ops orphan=true
bao write auth/token/roles/deploy-prod allowed_policies_glob='audit-*' disallowed_policies=ops
bao secrets enable -path=kv -version=2 kv
bao secrets enable -path=team/kv -version=2 kv
bao secrets enable -path=kv1 -version=1 kv
'''
# A realistic team's grants (the red team's fa_realistic, which passed, and tokens of roles whose policies hold no
# power over the audit devices): OpenBao's built-in default policy plus a per-user KV area by template, a deny
# stanza through +, + segments outside KV, CI tokens of the role ci and of every web-* role
GOOD_DEFAULT = '''
path "secret/data/users/{{identity.entity.name}}/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "secret/metadata/users/{{identity.entity.name}}/*" { capabilities = ["read", "list", "delete"] }
path "secret/data/users/{{identity.entity.id}}" { capabilities = ["read"] }
path "secret/+/breakglass/*" { capabilities = ["deny"] }
path "+/data/breakglass/*" { capabilities = ["deny"] }
path "identity/oidc/token/+" { capabilities = ["read"] }
path "sys/wrapping/*" { capabilities = ["update"] }
path "sys/mounts" { capabilities = ["read"] }
path "auth/token/create/ci" { capabilities = ["update"] }
path "auth/token/create/web-*" { capabilities = ["update"] }
'''
GOOD_BOOTSTRAP = '''
bao policy read default > default.now
cat default.extra >> default.now
bao policy write default default.now
bao write auth/token/roles/ci allowed_policies=app-payments orphan=true
bao write auth/token/roles/web-frontend allowed_policies_glob='web-*,app-*' token_no_default_policy=true
bao write auth/token/roles/admin allowed_policies=ops
'''
# the payments service's own policy (an unprivileged policy here): allowed_parameters, the UI's listing of the
# mount's top folder, a + below its own folder, tokens of its own policy only
APP_PAYMENTS = '''
path "secret/data/payments/*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "data" = []
    "options" = []
  }
}
path "secret/metadata/payments/*" { capabilities = ["read", "list"] }
path "secret/metadata/" { capabilities = ["list"] }
path "secret/data/payments/+/config" { capabilities = ["read"] }
path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = {
    "policies" = ["app-payments"]
    "ttl" = []
  }
}
'''
WEB_READ = 'path "secret/data/web/*" { capabilities = ["read"] }\n'


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("bad")
    return _gate(where, _folder(where, BAD_DEFAULT, BAD_BOOTSTRAP, {"ops": OPS, "audit-admin": AUDIT_ADMIN}))


@pytest.mark.parametrize("named", [
    # F1: tokens of the role ci (allowed_policies=ops), by name
    "update on auth/token/create/ci: it can make tokens of the token role ci, which carry the policies the role "
    "allows (allowed_policies, allowed_policies_glob) whatever their maker holds; those policies hold create, delete, "
    "sudo, update on sys/audit/* (policy ops): switch auditing off",
    # ... and of the role deploy-prod through the glob deploy-*: its allowed_policies_glob audit-* reaches audit-admin
    "update on auth/token/create/deploy-prod: it can make tokens of the token role deploy-prod, which carry the "
    "policies the role allows (allowed_policies, allowed_policies_glob) whatever their maker holds; those policies "
    "hold delete, sudo, update on sys/audit/* (policy audit-admin)",
    # F2: + for the mount (two KV v2 mounts of one segment), + inside a nested mount's path, + for metadata/ (list),
    # + for the mount reaching a KV v1 mount's secrets
    "grants read on +/data/payments/* (secrets of the KV mount secret/; the vault answered read for "
    "secret/data/payments/auditready-probe as the unprivileged identity)",
    "grants read on +/data/payments/* (secrets of the KV mount kv/; the vault answered read for "
    "kv/data/payments/auditready-probe",
    "grants read on team/+/data/payments/* (secrets of the KV mount team/kv/; the vault answered read for "
    "team/kv/data/payments/auditready-probe",
    "grants list on secret/+/billing/* (secrets of the KV mount secret/; the vault answered list for "
    "secret/metadata/billing/auditready-probe",
    "grants read on +/payroll/* (secrets of the KV mount kv1/; the vault answered read for kv1/payroll/auditready-probe",
], ids=["token-role-by-name", "token-role-by-glob", "plus-mount", "plus-mount-second", "plus-nested-mount",
        "plus-metadata-list", "plus-kv1"])
def test_a_token_role_use_or_a_plus_kv_read_fails_log_protection(bad: dict[str, Any], named: str) -> None:
    """Before: exit 0, log_protection passed (the red team's f1_tokenrole_use, f2a_plus_mount; f2b_mix named only
    its control paths)."""
    assert bad["rc"] == 1, bad["out"][-3000:]
    assert {n.split("[")[0] for n, s in bad["items"].items() if s == "failed"} == {"log_protection"}, bad["out"][-3000:]
    assert named in bad["text"], bad["text"]


def test_the_roles_were_read_and_the_plus_paths_asked(bad: dict[str, Any]) -> None:
    """The evidence holds each role's policies as its tokens may carry them (the glob matched to the vault's
    policies, the disallowed one taken out), and the vault's answer for each mount's concrete path."""
    facts = bad["vault"]
    assert facts["use_objects"]["auth/token/roles/ci"] == {"policies": ["ops"]}
    assert facts["use_objects"]["auth/token/roles/deploy-prod"] == {"policies": ["audit-admin"]}
    caps = facts["capabilities"]
    assert caps["auth/token/create/ci"] == ["update"] and caps["auth/token/roles/ci"] == ["deny"]
    for path, cap in (("secret/data/payments/auditready-probe", "read"), ("kv/data/payments/auditready-probe", "read"),
                      ("team/kv/data/payments/auditready-probe", "read"),
                      ("secret/metadata/billing/auditready-probe", "list"), ("kv1/payroll/auditready-probe", "read")):
        assert cap in caps[path], path


def test_a_realistic_team_policy_set_passes_having_read_its_roles(tmp_path: Path) -> None:
    """OpenBao's built-in default policy with the red team's realistic additions (templated per-user KV paths, deny
    stanzas through +, + segments outside KV, CI tokens of roles whose policies cannot touch the audit devices, the
    role admin it may not use) and app-payments with allowed_parameters and the UI's listing: zero findings, after
    each usable role was read and each + KV path asked."""
    folder = _folder(tmp_path, "", GOOD_BOOTSTRAP, {"app-payments": APP_PAYMENTS, "web-read": WEB_READ, "ops": OPS},
                     unprivileged='unprivileged_policies = ["default", "app-payments"]')
    (folder / "policies" / "default.hcl").unlink()  # the server's own: OpenBao's built-in default policy
    (folder / "default.extra").write_text(GOOD_DEFAULT)
    run = _gate(tmp_path, folder)
    assert run["rc"] == 0, run["out"][-3000:]
    assert not [n for n, s in run["items"].items() if s == "failed"], run["out"][-3000:]
    facts = run["vault"]
    assert facts["use_objects"]["auth/token/roles/ci"] == {"policies": ["app-payments"]}
    assert facts["use_objects"]["auth/token/roles/web-frontend"] == {"policies": ["app-payments", "web-read"]}
    assert "auth/token/roles/admin" not in facts["use_objects"]  # its tokens are not the identity's to make
    assert facts["capabilities"]["auth/token/create/admin"] == ["deny"]
    assert facts["capabilities"]["auth/token/create/web-frontend"] == ["update"]
    assert "auth/token/create/web-*" in json.dumps(facts["policy_grants"]["default"])


def _url_run(pytester: pytest.Pytester, server: Any, monkeypatch: Any, policy: str) -> Any:
    """A URL target whose default policy may make tokens of the role ci and of every role (the glob), ci allowing
    ops and deploy allowing audit-* by glob, audited with a token of ``policy``."""
    c = VaultClient(server.url, server.root_token, timeout=5)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    grants = ('path "auth/token/create/ci" { capabilities = ["update"] }\n'
              'path "auth/token/create/*" { capabilities = ["update"] }\n')
    for path, body in (("sys/policies/acl/auditready", {"policy": policy}),
                       ("sys/policies/acl/default", {"policy": default + grants}),
                       ("sys/policies/acl/ops", {"policy": OPS}),
                       ("sys/policies/acl/audit-admin", {"policy": AUDIT_ADMIN}),
                       ("auth/token/roles/ci", {"allowed_policies": "ops"}),
                       ("auth/token/roles/deploy", {"allowed_policies_glob": "audit-*"})):
        assert c.call("POST", path, body).status in (200, 204), path
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m"})
    assert r.body is not None, r.status
    monkeypatch.setenv("VAULT_TOKEN", remember_secret(r.body["auth"]["client_token"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    return run_audit(pytester, server, seal=False)


def test_the_least_privilege_token_reads_the_roles_and_matches_their_globs(pytester: pytest.Pytester, bao: Any,
                                                                          monkeypatch: Any) -> None:
    """examples/auditready-policy.hcl as shipped reads the role ci and the role deploy the audit token lists, and
    lists the vault's policies to match deploy's glob: both named with the policy that switches auditing off."""
    run = _url_run(pytester, bao(), monkeypatch, POLICY.read_text())
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "update on auth/token/create/ci: it can make tokens of the token role ci" in text, text
    assert "update on sys/audit/* (policy ops)" in text, text
    assert "update on auth/token/create/deploy: it can make tokens of the token role deploy" in text, text
    assert "sudo, update on sys/audit/* (policy audit-admin)" in text, text
    assert "could not be told" not in text and "could not be listed" not in text, text
    assert_no_secret_in_outputs(run)


def test_roles_the_audit_token_cannot_read_or_list_fail_naming_the_fix(pytester: pytest.Pytester, bao: Any,
                                                                       monkeypatch: Any) -> None:
    """Without read on auth/token/roles/* and list on auth/token/roles: the role ci cannot be read, and the roles
    the glob reaches cannot be listed; each fails, naming what the audit token needs."""
    policy = POLICY.read_text()
    for stanza in ('path "auth/token/roles/*" {\n  capabilities = ["read"]\n}\n',
                   'path "auth/token/roles" {\n  capabilities = ["list"]\n}\n'):
        assert stanza in policy
        policy = policy.replace(stanza, "")
    run = _url_run(pytester, bao(), monkeypatch, policy)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "update on auth/token/create/ci: it can make tokens of the token role ci, which carry the policies the " \
           "role allows (allowed_policies, allowed_policies_glob) whatever their maker holds; what such a token may " \
           "do could not be told (auth/token/roles/ci answered 403" in text, text
    assert "give the audit token read on auth/token/roles/* and sys/policies/acl/* and list on sys/policies/acl" \
        in text, text
    assert "update on auth/token/create/*: it can make tokens of every token role, which carry any policy the role " \
           "allows; the token roles could not be listed (LIST auth/token/roles answered 403" in text, text
    assert_no_secret_in_outputs(run)


@pytest.mark.parametrize("pattern, places", [
    ("+/data/payments/*", [("kv/", "kv/data/payments/auditready-probe", ("read",)),
                           ("kv1/", "kv1/data/payments/auditready-probe", ("read", "list")),
                           ("secret/", "secret/data/payments/auditready-probe", ("read",))]),
    ("secret/+/payments/*", [("secret/", "secret/data/payments/auditready-probe", ("read",)),
                             ("secret/", "secret/metadata/payments/auditready-probe", ("list",))]),
    ("team/+/data/payments/*", [("team/kv/", "team/kv/data/payments/auditready-probe", ("read",))]),
    ("+/+/+/x/*", [("secret/", "secret/data/auditready-probe/x/auditready-probe", ("read",)),
                   ("secret/", "secret/metadata/auditready-probe/x/auditready-probe", ("list",)),
                   ("team/kv/", "team/kv/data/x/auditready-probe", ("read",)),
                   ("team/kv/", "team/kv/metadata/x/auditready-probe", ("list",))]),
    ("secret/+/", [("secret/", "secret/metadata/", ("list",))]),
    ("secret/data/users/{{identity.entity.name}}/*", []),  # templated: told in a note, not asked
    ("secret/*", []), ("+/*", []), ("secret/+", []), ("identity/oidc/provider/+/authorize", []),
], ids=["plus-mount", "plus-data-or-metadata", "plus-nested-mount", "plus-nested-all", "plus-metadata-folder",
        "templated", "whole-mount", "whole-mounts", "no-secret-path", "not-kv"])
def test_kv_paths_are_matched_to_mounts_segment_by_segment(pattern: str, places: list[Any]) -> None:
    """Each KV mount whose segments the pattern names (a + is any one), and the path asked there: data/ for read,
    metadata/ for list when the segment after the mount is +; a glob over a whole mount is left to its probe."""
    mounts = {"secret/": "2", "kv/": "2", "team/kv/": "2", "kv1/": "1"}
    if pattern in ("+/*", "+/+/+/x/*"):
        mounts = {"secret/": "2", "team/kv/": "2"}
    assert log_protection.kv_places(pattern, mounts) == places


@pytest.mark.parametrize("role, known, policies, why", [
    ({"allowed_policies": ["ops"]}, (), ["ops"], ""),
    ({"allowed_policies_glob": ["audit-*", "*-ops"], "disallowed_policies_glob": ["*-ro"]},
     ["audit-admin", "audit-ro", "dev-ops", "default", "web"], ["audit-admin", "dev-ops"], ""),
    ({"allowed_policies": "ops,web", "disallowed_policies": "web"}, (), ["ops"], ""),
    ({"allowed_policies": ["root"]}, (), [], ""),  # a root token needs a root maker
    ({"disallowed_policies": ["ops"]}, (), [], ""),  # no allowed_*: its tokens get their maker's policies
    ({"allowed_policies": ["ops"], "allowed_policies_glob": ["audit-*"]}, "LIST sys/policies/acl answered 403",
     ["ops"], "its allowed_policies_glob audit-* could not be matched to the vault's policies (LIST sys/policies/acl "
     "answered 403)"),
], ids=["allowed", "globs", "disallowed", "root", "disallowed-only", "unlisted"])
def test_a_token_roles_policies_are_resolved_as_the_token_store_does(role: dict[str, Any], known: Any,
                                                                     policies: list[str], why: str) -> None:
    """OpenBao's resolveTokenPolicies: any of allowed_policies and of the vault's policies allowed_policies_glob
    matches (``*`` any run of characters), none disallowed; never root."""
    assert log_protection.token_role_policies(role, known) == (policies, why)


def test_a_glob_over_the_token_roles_with_roles_left_unasked_fails() -> None:
    """auth/token/create/* with more token roles than the run asks by name (a vault of over 100 roles): those past
    the first were never read, so the glob fails, naming why; with every role asked (and each harmless), nothing."""
    from pytest_auditready.checks.base import CheckContext, evaluate
    from pytest_auditready.config import Settings
    from pytest_auditready.vault.scenario import VaultFacts
    from tests.conftest import probed_ledger

    def found(cut: list[str]) -> list[str]:
        facts = VaultFacts(capabilities={f"auth/token/create/{log_protection.PROBE}": ["update"],
                                         "auth/token/create/r0": ["update"], "auth/token/roles/r0": ["deny"]},
                           use_objects={"auth/token/roles/r0": {"policies": ["web-read"]}},
                           policy_grants={"default": [["auth/token/create/*", ["update"]]],
                                          "web-read": [["secret/data/web/*", ["read"]]]},
                           names={"auth/token/roles": ["r0"]}, names_cut=cut, unprivileged_policies=["default"])
        ctx = CheckContext(settings=Settings(target="embedded"), ledger=probed_ledger("embedded"), entries=[],
                           bad_lines=[], facts=facts)
        return [f.message for f in evaluate(log_protection.CHECK, ctx, [""])[""].findings if "auth/token" in f.message]

    assert found(["auth/token/roles: 101, 100 asked"]) == [
        "An identity with only the policies [default] holds update on auth/token/create/*: it can make tokens of every "
        "token role, which carry any policy the role allows; the audit token listed more token roles than the run asks "
        "about (auth/token/roles: 101, 100 asked), and the rest were not read, so whether one of them could switch "
        "auditing off was not judged."]
    assert found([]) == []


@pytest.mark.parametrize("default_grants", [False, True])
def test_listing_a_whole_kv_mount_is_a_note_unless_the_default_policy_grants_it(default_grants: bool) -> None:
    """A UI grant (list on secret/metadata/*) in an ordinary user's policy shows names, not values: a note (red team
    rt79's judgement call: it failed as a whole-mount read); the same grant in the default policy, which every token
    carries, fails; reading the whole mount fails either way."""
    from pytest_auditready.checks.base import CheckContext, evaluate
    from pytest_auditready.config import Settings
    from pytest_auditready.vault.scenario import VaultFacts
    from tests.conftest import probed_ledger

    probe = f"secret/metadata/{log_protection.PROBE}"
    grants = {"default": [["secret/metadata/*", ["list"]]]} if default_grants else {
        "app-ui": [["secret/metadata/*", ["list"]]]}

    def judged(caps: dict[str, list[str]]) -> tuple[list[str], list[str]]:
        facts = VaultFacts(capabilities=caps, kv_mounts={"secret/": "2"}, policy_grants=grants,
                           unprivileged_policies=["default"] if default_grants else ["app-ui", "default"],
                           devices={"file": {"type": "file", "options": {"file_path": "/var/log/bao/audit.log"}}},
                           device="file")
        ctx = CheckContext(settings=Settings(target="embedded"), ledger=probed_ledger("embedded"), entries=[],
                           bad_lines=[], facts=facts)
        out = evaluate(log_protection.CHECK, ctx, [""])[""]
        assert [f.message for f in out.findings if "secret/" not in f.message] == [], out.findings
        return [f.message for f in out.findings], [n for n in [out.reason] if "secret's name (not value)" in n]

    other = log_protection._OTHER_PROBE  # the mount's second probe name: a grant over every name holds both
    listed = {probe: ["list"], f"secret/metadata/{other}": ["list"]}
    findings, notes = judged(listed)
    if default_grants:
        assert len(findings) == 1 and "The default policy" in findings[0] and "list" in findings[0], findings
    else:
        assert findings == [] and len(notes) == 1 and "secret/metadata/*" in notes[0], (findings, notes)
    findings, _ = judged({**listed, f"secret/data/{log_protection.PROBE}": ["read"], f"secret/data/{other}": ["read"]})
    assert any("can read every secret of the KV mount secret/" in f for f in findings), findings
