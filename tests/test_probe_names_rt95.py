"""A grant over a name's start is no grant over a whole KV mount (red team rt95, F2).

log_protection asks the vault what the unprivileged identity holds on a made-up secret of each KV mount: allowed
there, only a grant over every name of the mount could allow it. One probe name (``auditready-probe``) let a narrow
grant such as ``kv/data/audit*`` through, reported as "can read every secret of the KV mount kv/", while the vault
denies every other secret. The mount now has two probe names of different first characters; only a grant that
allows both is a whole mount. Real OpenBao servers on loopback."""

from __future__ import annotations

import pytest

from tests.auditrun import run_audit
from tests.test_unseen_live import NOTHING, admin, left, token

pytestmark = pytest.mark.vault


@pytest.mark.parametrize("grant, whole", [
    ('path "kv/data/audit*" { capabilities = ["read"] }', False),
    ('path "kv/data/a*" { capabilities = ["read"] }', False),
    ('path "kv/data/*" { capabilities = ["read"] }', True),
], ids=["audit-prefix", "a-prefix", "every-name"])
def test_only_a_grant_over_every_name_reads_the_whole_mount(pytester, bao, url_env, grant, whole):
    server = bao()
    url_env(server)
    root = admin(server)
    assert root.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    assert root.call("PUT", "sys/policies/acl/app-users", {"policy": grant}).status == 204
    # what the vault itself says of the grant: another secret of the mount is read only under a whole-mount grant
    user = root.with_token(token(root, ["app-users"]))
    caps = user.call("POST", "sys/capabilities-self", {"paths": ["kv/data/payments/db"]}).data["kv/data/payments/db"]
    assert ("read" in caps) is whole, caps
    run = run_audit(pytester, server, None, seal=False, unprivileged_policies=["app-users"])
    said = run.text("log_protection") if "log_protection" in run.failed_checks() else ""
    assert ("can read every secret of the KV mount kv/" in said) is whole, said or run.result.stdout.str()[-2000:]
    assert run.failed_checks() == ({"log_protection"} if whole else set()), run.result.stdout.str()[-3000:]
    assert left(server) == NOTHING
