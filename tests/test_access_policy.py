"""access_policy (issue 18, item 3): rules as code ([[tool.auditready.access.rules]]) held against every request.

Real traffic: an OpenBao where the vault's own policies grant more than the rules allow (a broad "ops" policy),
so that one read goes through that the rules forbid; and a live run whose scenario reads break a rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Outcome
from pytest_auditready.config import AccessRule, Settings, load, read_toml
from pytest_auditready.engine.files import verify_file
from pytest_auditready.errors import ConfigError
from pytest_auditready.vault.client import VaultClient
from tests.auditrun import run_audit
from tests.conftest import remember_secret

RULE = AccessRule("app secrets", ("secret/data/app/*",), ("read",), ("token-ci-*",), ("app-read",))


def outcome(path: Path, *rules: AccessRule) -> Outcome:
    return verify_file(str(path), Settings(access=rules), [ap.CHECK], {}).outcomes[0]


# -- the rules: glob semantics and the settings ---------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("secret/data/app/*", "secret/data/app/db", True),
    ("secret/data/app/*", "secret/data/app/team/db", True),  # a trailing * matches the rest, '/' included
    ("secret/data/app/*", "secret/data/apple", False),
    ("secret/data/app*", "secret/data/apple", True),
    ("secret/+/app/db", "secret/data/app/db", True),  # + is one segment
    ("secret/+/app/db", "secret/metadata/app/db", True),
    ("secret/+/app/db", "secret/data/x/app/db", False),
    ("secret/data/app/db", "secret/data/app/db2", False),  # no glob: the exact path
    ("secret/data/a.b/*", "secret/data/aXb/c", False),  # regex characters are literal
])
def test_vault_policy_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert (ap.vault_glob(pattern).match(path) is not None) is matches


def test_rules_from_pyproject_tables(tmp_path: Path) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text('[tool.auditready]\n'
                 '[[tool.auditready.access.rules]]\nname = "app"\npaths = ["secret/data/app/*"]\n'
                 'operations = ["read", "list"]\nidentities = ["token-ci-*"]\n'
                 '[[tool.auditready.access.rules]]\npaths = ["sys/audit*"]\noperations = ["update", "delete"]\n'
                 'policies = ["audit-admin"]\n')
    s = load([("pyproject.toml", read_toml(p, table_required=True))])
    assert s.access == (AccessRule("app", ("secret/data/app/*",), ("read", "list"), ("token-ci-*",), ()),
                        AccessRule("rule 2", ("sys/audit*",), ("update", "delete"), (), ("audit-admin",)))


@pytest.mark.parametrize(("rule", "says"), [
    ({"paths": ["secret/*"], "operations": ["write"], "identities": ["x"]},
     "in rule 1, operations takes a non-empty list drawn from read, create, update, patch, delete, list"),
    ({"paths": ["secret/*/db"], "operations": ["read"], "identities": ["x"]}, "'*' only at the end"),
    ({"paths": ["secret/a+/db"], "operations": ["read"], "identities": ["x"]}, "'+' only as a whole segment"),
    ({"paths": ["secret/*"], "operations": ["read"]}, "names neither identities nor policies"),
    ({"paths": ["secret/*"], "operations": ["read"], "identity": ["x"]}, "unknown key 'identity'"),
    ({"paths": [], "operations": ["read"], "identities": ["x"]}, "at least one path and one operation"),
])
def test_bad_rules_name_the_key_and_what_is_allowed(rule: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"access": {"rules": [rule]}})])
    msg = str(exc.value)
    assert "bad value for 'access'" in msg and "[[tool.auditready.access.rules]]" in msg and says in msg, msg


def test_without_rules_the_check_is_skipped_with_the_reason() -> None:
    log = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
    o = verify_file(str(log), Settings(), [ap.CHECK], {}).outcomes[0]
    assert o.status == SKIPPED and "no [[tool.auditready.access.rules]]" in o.reason


@pytest.mark.parametrize("paths", [("secrets/data/app-c9d897/*",), ("secret/app-c9d897/*",)])
def test_rules_that_name_no_request_of_the_log_do_not_pass(paths: tuple[str, ...]) -> None:
    """A rule whose path is mistyped (the mount misspelt; a KV version 2 secret named without data/) holds no
    request of a real OpenBao log to it: nothing was judged, so the check fails saying why, never passes (red team
    rt11 #5; a skip left the run green: rt68 F8). The same rule with the path the log writes holds the reads and
    passes."""
    log = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
    rule = AccessRule("app", paths, ("read",), ("token-*",), ())
    o = outcome(log, rule)
    assert o.status == FAILED, (o.status, o.reason)
    (f,) = o.findings
    assert f.message.startswith("access_policy judged nothing: none of the"), f.message
    assert f"rule 'app' (paths {paths[0]}; operations read; allows identities token-*) named no request" in f.message
    assert "<mount>/data/<path>" in f.fix
    fixed = outcome(log, AccessRule("app", ("secret/data/app-c9d897/*",), ("read",), ("token-*",), ()))
    # (token-reader's 8 reads are of secrets whose writes were refused: OpenBao answered 404 with no data, so they
    # returned nothing and are no access let through; red team rt94 F3)
    assert fixed.status == PASSED and fixed.reason.startswith("0 requests let through"), fixed.reason
    assert "8 more let through that returned nothing" in fixed.reason, fixed.reason


# -- real OpenBao traffic ----------------------------------------------------------------------------------------
def _token(admin: VaultClient, name: str, policies: list[str]) -> VaultClient:
    r = admin.call("POST", "auth/token/create", {"display_name": name, "policies": policies, "ttl": "15m"})
    assert r.status == 200, r.error
    return admin.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    dst.chmod(0o600)
    return dst


@pytest.mark.vault
def test_a_read_the_vault_allows_but_the_rules_do_not_is_a_finding(bao: Any, tmp_path: Path) -> None:
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert admin.call("PUT", "sys/policies/acl/app-read",
                          {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'}).status == 204
        # the misconfiguration: an operators' policy that reaches every secret
        assert admin.call("PUT", "sys/policies/acl/ops",
                          {"policy": 'path "secret/*" { capabilities = ["read", "list"] }'}).status == 204
        assert admin.call("POST", "secret/data/app/db", {"data": {"password": "x" * 24}}).status == 200
        ci, alice, nobody = (_token(admin, "ci-deploy", ["default"]), _token(admin, "alice", ["app-read"]),
                             _token(admin, "nobody", ["default"]))
        bob = _token(admin, "bob", ["ops"])
        assert alice.call("GET", "secret/data/app/db").status == 200  # allowed: policy app-read
        assert ci.call("GET", "secret/data/app/db").status == 403  # an allowed identity the vault refuses
        assert nobody.call("GET", "secret/data/app/db").status == 403  # refused: nothing accessed
        assert bob.call("LIST", "secret/metadata/app").status == 200  # not a path and operation the rule names
        ok = _copy(server.log_path, tmp_path / "ok.log")
        assert bob.call("GET", "secret/data/app/db").status == 200  # the vault lets it through; the rule does not
    finally:
        admin.close()
    bad = _copy(server.log_path, tmp_path / "bad.log")
    good = outcome(ok, RULE)
    assert good.status == PASSED, [f.text() for f in good.findings]
    assert good.reason.startswith("1 requests let through on paths and operations the rules name")
    assert "2 more refused by the vault" in good.reason
    o = outcome(bad, RULE)
    assert o.status == FAILED and len(o.findings) == 1, [f.text() for f in o.findings]
    f = o.findings[0]
    assert f.message == ("read of secret/data/app/db by display name 'token-bob'; token policies default, ops; "
                         "granted by vault policy ops breaks rule 'app secrets' (paths secret/data/app/*; operations "
                         "read; allows identities token-ci-* or policies app-read).")
    assert "take the grant out of the vault policy that allowed it (ops)" in f.fix
    line = bad.read_text().splitlines()[int(f.where.rsplit(":", 1)[1]) - 1]
    entry = json.loads(line)
    assert entry["type"] == "request" and entry["auth"]["display_name"] == "token-bob"
    assert entry["request"]["id"] == f.request_id
    # the same read, allowed by identity: it holds
    assert outcome(bad, AccessRule("app secrets", RULE.paths, RULE.operations, ("token-bob", "token-ci-*"),
                                   RULE.policies)).status == PASSED
    # a rule nobody may pass: every read let through is named (alice's and bob's)
    nobody_rule = AccessRule("frozen", ("secret/data/app/*",), ("read",), (), ())
    assert len(outcome(bad, nobody_rule).findings) == 2


def _rules_config(pytester: pytest.Pytester, identities: str) -> Path:
    cfg = pytester.path / "rules.toml"
    cfg.write_text("log_wait = 1.0\nrequire_tamper_evidence = false\nretention_days = 0\n"
                   "[[access.rules]]\nname = \"canaries\"\npaths = [\"secret/data/auditready/*\"]\n"
                   f"operations = [\"read\"]\nidentities = [\"{identities}\"]\n")
    return cfg


@pytest.mark.vault
def test_live_run_excuses_its_own_requests_from_the_rules(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    """The scenario's identities are the run's, not the vault's users: a rule that names only the writer is not
    broken by the run's reader reading its canaries (each such request is excused, by the HMAC of its token, and
    counted so). A read by a token of the vault's own is judged (tests/test_live_url.py)."""
    server = bao()
    url_env(server)
    for who in ("token-auditready-*-reader", "token-auditready-*-writer"):
        cfg = _rules_config(pytester, who)
        run = run_audit(pytester, server, None, f"--auditready-config={cfg}", seal=False)
        # every request on the rule's paths was the run's own (excused): none was held to the rule, so no pass
        assert run.status("access_policy") == "skipped" and run.failed_checks() == set(), run.result.stdout.str()[-3000:]
        assert "a request of this run" in run.result.stdout.str()
