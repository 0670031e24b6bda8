"""A run in a namespace asks the namespace's own policies (red team rt95, F1).

Each namespace has its own ``default`` policy, attached to every token made there (OpenBao's namespaces). The run's
unprivileged identity is made in the namespace; its token is refused every request in the root namespace, where the
audit devices are, so the run asks the root namespace's default policy about those. The namespace's own paths (its
KV mounts, their tuning, its policies) were asked there too, and answered by the root namespace's policy: a team
default policy that reads every secret of the team's KV mount, or tunes the team's mounts to log keys in clear,
passed. They are now asked of the identity in its namespace. Real OpenBao servers on loopback."""

from __future__ import annotations

import json

import pytest

from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.test_unseen_live import NOTHING, _team, admin, left

pytestmark = pytest.mark.vault


def _widen_team_default(server: object, grant: str) -> None:
    team = admin(server, "team")
    default = team.call("GET", "sys/policies/acl/default").data["policy"]
    assert team.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204


@pytest.mark.parametrize("grant, said", [
    ('path "kv/data/*" { capabilities = ["read"] }', "can read every secret of the KV mount kv/"),
    ('path "sys/mounts/+/tune" { capabilities = ["read", "update"] }', "sys/mounts/"),
], ids=["reads-the-team-kv-mount", "tunes-the-team-mounts"])
def test_a_namespace_default_policy_that_widens_every_token_fails_log_protection(pytester, bao, url_env, grant,
                                                                                said):
    server = bao()
    url_env(server)
    team = _team(server)
    assert team.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    _widen_team_default(server, grant)
    evidence = pytester.path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-evidence={evidence}", seal=False, namespace="team")
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "[default]" in text and said in text, text
    facts = json.loads((evidence / "evidence.json").read_text())["vault"]
    assert "asked of the identity in namespace team/" in facts["capabilities_note"], facts["capabilities_note"]
    # the audit devices' paths are still the root namespace's (its default policy, asked there)
    assert facts["capabilities"]["sys/audit"] == ["deny"]
    assert left(server, "team") == NOTHING and left(server) == NOTHING
    assert_no_secret_in_outputs(run)


def test_the_same_grant_in_the_root_namespace_does_not_fail_a_namespace_run(pytester, bao, url_env):
    """The control: the root namespace's default policy reading its own KV mount grants nothing to the team's
    tokens, which carry the team's default policy."""
    server = bao()
    url_env(server)
    team = _team(server)
    assert team.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    root = admin(server)
    assert root.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    default = root.call("GET", "sys/policies/acl/default").data["policy"]
    grant = 'path "kv/data/*" { capabilities = ["read"] }'
    assert root.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    run = run_audit(pytester, server, None, seal=False, namespace="team")
    assert "log_protection" not in run.failed_checks(), run.text("log_protection")
    assert left(server, "team") == NOTHING and left(server) == NOTHING
