"""A URL target: a real OpenBao configured right passes every check; each misconfiguration an auditor would
look for makes the check that owns it fail, with a message a user can act on."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.vault.client import VaultClient
from tests.auditrun import assert_no_secret_in_outputs, run_audit

pytestmark = pytest.mark.vault

ALL = {
    "completeness",
    "required_fields",
    "timestamp_precision",
    "timestamp_accuracy",
    "no_secret_leak",
    "integrity_digest",
    "denied_access_logged",
    "log_protection",
    "tamper_evidence",  # skipped here: require_tamper_evidence = false (tests/conftest.py write_config)
    "retention",  # skipped here: retention_days = 0 (tests/conftest.py write_config)
    "data_minimisation",
    "access_policy",  # skipped: no access rules
    "fail_closed",  # skipped: a URL target is never drilled
}


def admin(server: Any) -> VaultClient:
    return VaultClient(server.url, server.root_token, timeout=5)


# -- no false alarms --------------------------------------------------------------------------------------------
def test_well_configured_vault_passes_every_check(pytester, bao, url_env):
    server = bao()
    url_env(server)
    run = run_audit(pytester, server)
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.failed_checks() == set()
    assert {n.split("[")[0] for n in run.items} == ALL
    assert_no_secret_in_outputs(run)


def test_faithful_pipeline_passes_every_check(pytester, bao, url_env, pipeline, tmp_path):
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, lambda e: e)
    run = run_audit(pytester, server, shipped)
    assert run.failed_checks() == set(), run.result.stdout.str()


# -- the vault itself misconfigured -----------------------------------------------------------------------------
def test_log_raw_device_leaks_and_is_flagged(pytester, bao, url_env):
    server = bao(audit_options={"log_raw": "true"})
    url_env(server)
    run = run_audit(pytester, server)
    assert run.result.ret == 1
    assert {"no_secret_leak", "log_protection", "integrity_digest"} <= run.failed_checks()
    assert "<canary:c1>" in run.text("no_secret_leak")
    assert "log_raw" in run.text("log_protection")
    assert_no_secret_in_outputs(run)


def test_non_hmac_request_key_on_the_mount_leaks_the_canary(pytester, bao, url_env):
    server = bao()
    url_env(server)
    c = admin(server)
    r = c.call("POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["value"]})
    assert r.status == 204, r.error
    run = run_audit(pytester, server)
    assert "no_secret_leak" in run.failed_checks()
    text = run.text("no_secret_leak")
    assert "<canary:c1>" in text and "under key 'value'" in text
    assert_no_secret_in_outputs(run)


def test_non_hmac_response_key_leaks_on_read(pytester, bao, url_env):
    server = bao()
    url_env(server)
    r = admin(server).call("POST", "sys/mounts/secret/tune", {"audit_non_hmac_response_keys": ["value"]})
    assert r.status == 204, r.error
    run = run_audit(pytester, server)
    assert "no_secret_leak" in run.failed_checks()
    assert_no_secret_in_outputs(run)


@pytest.mark.parametrize(("mount", "enable", "tune"), [
    # another key of the canary's own mount: every KV value is a secret
    ("secret/", None, {"audit_non_hmac_request_keys": ["password"]}),
    # another KV mount the run never writes to
    ("apps/", ("sys/mounts/apps", {"type": "kv", "options": {"version": "2"}}),
     {"audit_non_hmac_response_keys": ["value"]}),
    # an auth method's password (userpass logins and user writes)
    ("auth/corp/", ("sys/auth/corp", {"type": "userpass"}), {"audit_non_hmac_request_keys": ["password"]}),
    # an SSH one-time password or a TOTP seed, answered or given as "key" (red team rt21)
    ("ssh/", ("sys/mounts/ssh", {"type": "ssh"}), {"audit_non_hmac_response_keys": ["key"]}),
    ("totp/", ("sys/mounts/totp", {"type": "totp"}), {"audit_non_hmac_response_keys": ["barcode"]}),
    # the cubbyhole: arbitrary secrets under any key (red team rt40, F1)
    ("cubbyhole/", None, {"audit_non_hmac_response_keys": ["api_creds"]}),
])
def test_a_mount_tuned_to_log_secrets_in_clear_fails_log_protection(pytester, bao, url_env, mount, enable, tune):
    """A key tuned out of HMAC anywhere has every device write its values in clear: before, it was caught only
    when the run's canary happened to be written under it (red team report rt12, F03)."""
    server = bao()
    url_env(server)
    c = admin(server)
    if enable is not None:
        assert c.call("POST", *enable).status == 204
    where = f"sys/auth/{mount[5:]}tune" if mount.startswith("auth/") else f"sys/mounts/{mount}tune"
    assert c.call("POST", where, tune).status == 204
    run = run_audit(pytester, server)
    assert "log_protection" in run.failed_checks(), run.result.stdout.str()
    (key,) = next(iter(tune.values()))
    assert f"Mount {mount!r}" in run.text("log_protection") and f"'{key}'" in run.text("log_protection")
    assert_no_secret_in_outputs(run)


def test_a_mount_tuned_to_log_a_name_in_clear_is_told_not_failed(pytester, bao, url_env):
    """PKI's common_name, the Vault docs' own example: a name, not a secret (told in a note)."""
    server = bao()
    url_env(server)
    c = admin(server)
    assert c.call("POST", "sys/mounts/pki", {"type": "pki"}).status == 204
    assert c.call("POST", "sys/mounts/pki/tune", {"audit_non_hmac_request_keys": ["common_name"]}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()
    said = "\n".join(run.outputs.values())
    assert "Mount 'pki/' (pki) is tuned to log the request keys 'common_name'" in said, said[-3000:]


def test_auditing_the_token_header_in_clear_is_no_finding(pytester, bao, url_env):
    """X-Vault-Token audited with hmac=false: the vault never writes that header into an entry (the run's own
    tokens, known to no_secret_leak, stay out of the log), so nothing leaks and no digest is missing. Before, the
    header probe expected its canary there and integrity_digest blamed the log's device (red team rt12, F07)."""
    server = bao()
    url_env(server)
    c = admin(server)
    assert c.call("POST", "sys/config/auditing/request-headers/x-vault-token", {"hmac": False}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]
    assert '"x-vault-token":[' not in Path(server.log_path).read_text()  # as an audited header's values


def test_world_readable_audit_file_fails_log_protection(pytester, bao, url_env):
    server = bao(audit_options={"mode": "0644"})
    url_env(server)
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"log_protection"}
    assert "0644" in run.text("log_protection") and "others can read" in run.text("log_protection")


def test_a_wide_mode_option_fails_even_while_the_file_is_narrower(pytester, bao, url_env):
    """A device enabled with mode 0644 whose file was chmod-ed 0600 by hand: the vault sets 0644 again whenever it
    opens the file (a SIGHUP after a rotation), so the option is the finding (red team report rt12, F04)."""
    server = bao(audit_options={"mode": "0644"})
    url_env(server)
    Path(server.log_path).chmod(0o600)
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()
    said = run.text("log_protection")
    assert "with mode 0644 (it is 0600 now" in said and "others can read" in said, said


def test_group_writable_audit_file_fails_even_when_reading_is_allowed(pytester, bao, url_env):
    server = bao(audit_options={"mode": "0660"})
    url_env(server)
    run = run_audit(pytester, server, log_max_mode="0640")
    assert run.failed_checks() == {"log_protection"}
    assert "group can change or erase it" in run.text("log_protection")


def test_group_readable_file_passes_when_configured(pytester, bao, url_env):
    server = bao(audit_options={"mode": "0640"})
    url_env(server)
    run = run_audit(pytester, server, log_max_mode="0640")
    assert run.failed_checks() == set()


def test_log_in_a_folder_anyone_can_write_fails_log_protection(pytester, bao, url_env, pipeline, tmp_path):
    server = bao()
    url_env(server)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    shipped = shared / "audit.log"
    pipeline(server.log_path, shipped, lambda e: e)
    run = run_audit(pytester, server, shipped)
    assert run.failed_checks() == {"log_protection"}
    assert "writable by others" in run.text("log_protection")


def test_clear_accessors_fail_log_protection(pytester, bao, url_env):
    server = bao(audit_options={"hmac_accessor": "false"})
    url_env(server)
    run = run_audit(pytester, server)
    assert "log_protection" in run.failed_checks()
    assert "hmac_accessor=false" in run.text("log_protection")


def test_default_policy_that_can_see_and_disable_audit_devices(pytester, bao, url_env):
    server = bao()
    url_env(server)
    c = admin(server)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    loose = default + '\npath "sys/audit" { capabilities = ["read", "sudo"] }\n' \
        'path "sys/audit/*" { capabilities = ["update", "delete", "sudo"] }\n'
    assert c.call("PUT", "sys/policies/acl/default", {"policy": loose}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"log_protection"}
    text = run.text("log_protection")
    assert "can list the audit devices" in text
    assert "can disable an audit device" in text and "nothing was switched off" in text
    assert "holds" in text and "sys/audit/auditready" in text
    # the device survived: the attempt named a path that does not exist
    assert "auditready/" in c.call("GET", "sys/audit").data


@pytest.mark.parametrize("caps", [["read"], ["list"], ["read", "list"]])
def test_read_on_sys_audit_without_sudo_lists_nothing_and_is_no_finding(pytester, bao, url_env, caps):
    """Listing the audit devices needs sudo beside read (the vault answers the identity's attempt 403): read or list
    alone is no finding (red team rt4, F10); with sudo it is (above)."""
    server = bao()
    url_env(server)
    c = admin(server)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    loose = default + f'\npath "sys/audit" {{ capabilities = {json.dumps(caps)} }}\n'
    assert c.call("PUT", "sys/policies/acl/default", {"policy": loose}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.text("log_protection")


def test_default_policy_that_reads_every_secret(pytester, bao, url_env):
    server = bao()
    url_env(server)
    c = admin(server)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    loose = default + '\npath "secret/*" { capabilities = ["read"] }\n'
    assert c.call("PUT", "sys/policies/acl/default", {"policy": loose}).status == 204
    run = run_audit(pytester, server)
    assert "denied_access_logged" in run.failed_checks()
    assert "was not denied" in run.text("denied_access_logged")


def test_log_written_by_another_device_fails_integrity(pytester, bao, url_env):
    # Two devices, two salts: reading device "second"'s file while naming "auditready" as the device.
    server = bao(extra_devices={"second": {}})
    url_env(server)
    other = server.workdir / "second.log"
    run = run_audit(pytester, server, other, audit_device="auditready")
    assert "integrity_digest" in run.failed_checks()
    assert "not written by device 'auditready'" in run.text("integrity_digest")


@pytest.mark.parametrize("sink", ["discard", "/dev/null"])
def test_a_url_target_with_a_device_that_keeps_nothing_fails_fail_closed(pytester, bao, url_env, sink):
    """A second device whose writes never fail and keep nothing keeps the vault serving, recording nowhere, when the
    device that keeps the log fails: as a UDP socket device, a fail_closed finding from sys/audit (red team rt18:
    passed on a URL target, which is never drilled)."""
    server = bao(extra_devices={"blackhole": {"file_path": sink}})
    url_env(server)
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"fail_closed"}, run.result.stdout.str()
    assert "'blackhole'" in run.text("fail_closed") and "keeps nothing" in run.text("fail_closed")


# -- pipelines that break the log -------------------------------------------------------------------------------
def _drop_denied(e: dict) -> Any:
    return None if e.get("error") else e


def _round_seconds(e: dict) -> Any:
    e["time"] = re.sub(r"\.\d+Z$", "Z", e["time"])
    return e


def _pad_millis(e: dict) -> Any:
    # keeps 9 digits of text but only centiseconds of information
    e["time"] = re.sub(r"\.(\d{2})\d*Z$", lambda m: "." + m.group(1) + "0000000Z", e["time"])
    return e


def _strip(*path: str) -> Callable[[dict], Any]:
    def f(e: dict) -> Any:
        d = e
        for k in path[:-1]:
            d = d.get(k, {})
        d.pop(path[-1], None)
        return e

    return f


def _shift(seconds: int) -> Callable[[dict], Any]:
    import datetime

    def f(e: dict) -> Any:
        t = datetime.datetime.strptime(e["time"][:19], "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(seconds=seconds)
        e["time"] = t.strftime("%Y-%m-%dT%H:%M:%S") + e["time"][19:]
        return e

    return f


def _local_time_without_offset(e: dict) -> Any:
    e["time"] = e["time"].rstrip("Z")
    return e


def _drop_responses(e: dict) -> Any:
    return None if e.get("type") == "response" else e


def _truncate_digests(e: dict) -> Any:
    text = json.dumps(e)
    return re.sub(r"(hmac-sha256:[0-9a-f]{16})[0-9a-f]{48}", r"\1", text)


def _garble_one(e: dict) -> Any:
    if e.get("type") == "request" and e.get("request", {}).get("operation") == "list":
        return json.dumps(e)[:80]  # cut mid-line: malformed JSON
    return e


def _inject_token(e: dict) -> Any:
    e2 = copy.deepcopy(e)
    if e2.get("type") == "request":
        e2.setdefault("request", {}).setdefault("headers", {})["x-debug"] = ["hvs.CAESIJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG"]
    return e2


def _response_before_request(e: dict) -> Any:
    # a shipper that stamps responses with a stale cached clock, 50 ms behind
    if e.get("type") == "response":
        import datetime

        t = datetime.datetime.strptime(e["time"][:26], "%Y-%m-%dT%H:%M:%S.%f") - datetime.timedelta(milliseconds=50)
        e["time"] = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    return e


def _reorder() -> Callable[[dict], Any]:

    def f(e: dict) -> Any:
        # emit each request entry's time 5 s later than its neighbours by rewriting every 7th time backwards
        f.n = getattr(f, "n", 0) + 1  # type: ignore[attr-defined]
        if f.n == 12:  # type: ignore[attr-defined]
            return _shift(-10)(e)
        return e

    return f


def _other_token_in_requests(e: dict) -> Any:
    """The reader's request entries carry another well-formed token digest; their responses keep the right one
    (found by red team rt24, F2: one right digest among an action's entries was enough)."""
    if e.get("type") == "request" and (e.get("auth") or {}).get("display_name", "").endswith("-reader"):
        other = "hmac-sha256:" + "5e" * 32
        e["auth"]["client_token"] = other
        if "client_token" in e.get("request", {}):
            e["request"]["client_token"] = other
    return e


def _rewrite(e: dict) -> Any:
    """Who, which secret and what, rewritten in the entries of the reader's and the writer's accesses (a SIEM parser
    that maps fields wrongly): each entry still carries its request id (found by red team rt4)."""
    who, req = (e.get("auth") or {}).get("display_name", ""), e.get("request") or {}
    if who.endswith("-reader") and "/data/" in req.get("path", "") and req["path"].endswith("/c1"):
        req["path"] = "secret/data/public/readme"
        e["auth"]["display_name"] = who.replace("-reader", "-writer")
    if who.endswith("-writer") and req.get("operation") == "create":
        req["operation"] = "read"
    return e


PIPELINES = [
    pytest.param(_drop_denied, {"denied_access_logged", "completeness"}, "denial", id="drops-denied-entries"),
    pytest.param(_round_seconds, {"timestamp_precision"}, "fewer than the 3 required", id="rounds-to-seconds"),
    pytest.param(_pad_millis, {"timestamp_precision"}, "at most 2 significant", id="pads-lost-precision"),
    pytest.param(_strip("request", "remote_address"), {"required_fields"}, "where from", id="strips-source"),
    # Without auth, denials and body-less answers can no longer be tied to who made them.
    pytest.param(_strip("auth"), {"required_fields", "denied_access_logged", "completeness"}, "who",
                 id="strips-identity"),
    pytest.param(_strip("request", "id"), {"required_fields"}, "request id", id="strips-request-id"),
    pytest.param(_strip("error"), {"required_fields", "denied_access_logged"}, "result", id="strips-errors"),
    pytest.param(_shift(5), {"timestamp_accuracy"}, "beyond max_skew", id="clock-5s-ahead"),
    pytest.param(_local_time_without_offset, {"timestamp_precision", "timestamp_accuracy"}, "explicit offset",
                 id="drops-utc-offset"),
    pytest.param(_drop_responses, {"completeness"}, "No response entry", id="drops-responses"),
    pytest.param(_truncate_digests, {"integrity_digest"}, "malformed", id="truncates-digests"),
    pytest.param(_other_token_in_requests, {"integrity_digest"}, "not the vault's HMAC of <token:reader>",
                 id="another-token-in-requests"),
    pytest.param(_garble_one, {"required_fields"}, "not a readable audit entry", id="garbles-a-line"),
    pytest.param(_inject_token, {"no_secret_leak"}, "Vault Token", id="adds-a-clear-token"),
    pytest.param(_reorder(), {"timestamp_accuracy"}, "goes back in time", id="reorders-entries"),
    pytest.param(_response_before_request, {"timestamp_accuracy"}, "earlier than its request",
                 id="response-before-request"),
    pytest.param(_strip("request", "operation"), {"required_fields"}, "what action", id="strips-operation"),
    pytest.param(_rewrite, {"completeness"}, "a hop rewrote the entry", id="rewrites-who-what-which"),
]


@pytest.mark.parametrize("transform, failing, phrase", PIPELINES)
def test_broken_pipeline_fails_the_owning_check(pytester, bao, url_env, pipeline, tmp_path, transform, failing,
                                               phrase):
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, transform)
    run = run_audit(pytester, server, shipped, log_wait=1.0)
    assert run.result.ret == 1, run.result.stdout.str()
    assert failing <= run.failed_checks(), (failing, run.failed_checks())
    owner_text = "\n".join(run.text(c) for c in failing)
    assert phrase in owner_text, owner_text
    assert "Fix:" in owner_text
    assert_no_secret_in_outputs(run)


def test_least_privilege_audit_token_from_the_readme_policy(pytester, bao, monkeypatch):
    server = bao()
    c = admin(server)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    assert c.call("PUT", "sys/policies/acl/auditready", {"policy": policy}).status == 204
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m", "display_name": "auditor"})
    token = r.body["auth"]["client_token"]
    from tests.conftest import remember_secret

    remember_secret(token)
    monkeypatch.setenv("VAULT_TOKEN", token)
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]
    from tests.conftest import leftover

    assert leftover(server) == {"canaries": [], "policies": ["auditready"], "tokens": []}


@pytest.mark.parametrize("may_read_headers", [True, False])
def test_a_header_audited_in_clear_is_found_with_the_least_privilege_token(pytester, bao, monkeypatch,
                                                                           may_read_headers):
    """X-Api-Key audited without hmac: the README policy's token could not read which headers are audited, sent
    none, and no_secret_leak passed (red team rt30, F10). The policy now grants it, and the header's canary is found;
    a token refused the listing fails the check saying what it could not judge."""
    server = bao()
    c = admin(server)
    assert c.call("POST", "sys/config/auditing/request-headers/X-Api-Key", {"hmac": False}).status == 204
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    if not may_read_headers:
        policy = policy.replace('path "sys/config/auditing/request-headers"', 'path "sys/config/auditing/none"')
    assert c.call("PUT", "sys/policies/acl/auditready", {"policy": policy}).status == 204
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m", "display_name": "auditor"})
    from tests.conftest import remember_secret

    monkeypatch.setenv("VAULT_TOKEN", remember_secret(r.body["auth"]["client_token"]))
    run = run_audit(pytester, server)
    # (in clear, the header's value is no HMAC either: integrity_digest says so too)
    want = {"no_secret_leak", "integrity_digest"} if may_read_headers else {"no_secret_leak"}
    assert run.failed_checks() == want, run.result.stdout.str()[-3000:]
    said = run.text("no_secret_leak")
    if may_read_headers:
        assert "<canary:header> appears in the log (raw) under key 'x-api-key'" in said, said
    else:
        assert "could not be read (403" in said and "sys/config/auditing/request-headers" in said, said
    assert_no_secret_in_outputs(run)


def test_headers_audited_in_clear_for_what_they_are_carry_no_canary(pytester, bao, url_env):
    """User-Agent and X-Request-Id audited with OpenBao's default hmac = false (the feature's purpose): the probe sent
    its canary in them and the run failed no_secret_leak and integrity_digest for a leak it made (red team rt40,
    F6). They carry none now and log_protection tells them; a credential's header in clear still fails."""
    server = bao()
    url_env(server)
    c = admin(server)
    for name in ("User-Agent", "X-Request-Id"):
        assert c.call("POST", f"sys/config/auditing/request-headers/{name}", {"hmac": False}).status == 204
    run = run_audit(pytester, server)
    assert run.result.ret == 0 and run.failed_checks() == set(), run.result.stdout.str()[-3000:]
    said = "\n".join(run.outputs.values())
    assert "request headers 'user-agent', 'x-request-id' without HMAC" in said, said[-3000:]
    assert c.call("POST", "sys/config/auditing/request-headers/X-Auth-Token", {"hmac": False}).status == 204
    run = run_audit(pytester, server, seal=False)
    assert "no_secret_leak" in run.failed_checks(), run.result.stdout.str()[-3000:]
    assert "under key 'x-auth-token'" in run.text("no_secret_leak")


def test_headers_the_vault_acts_on_carry_no_canary(pytester, bao, url_env):
    """Audited X-Vault-Namespace, X-Vault-Wrap-TTL and X-Forwarded-For (HMAC'd, as the API docs' example): the
    probe sent its canary in each, the vault looked for a namespace of that name and parsed a TTL of it, and a
    correct vault could not be audited (exit 2; red team rt30, F12; a trusted proxy's X-Forwarded-For is logged as
    the remote address). They carry none now; X-Api-Key still carries it, HMAC'd: a pass."""
    server = bao()
    url_env(server)
    c = admin(server)
    for name in ("X-Vault-Namespace", "X-Vault-Wrap-TTL", "X-Forwarded-For", "X-Api-Key"):
        assert c.call("POST", f"sys/config/auditing/request-headers/{name}", {"hmac": True}).status == 204
    run = run_audit(pytester, server)
    assert run.result.ret == 0 and run.failed_checks() == set(), run.result.stdout.str()[-3000:]
    sent = [set((json.loads(ln).get("request") or {}).get("headers") or {})
            for ln in server.log_path.read_text().splitlines()]
    assert any("x-api-key" in h for h in sent) and not any(h - {"x-api-key"} for h in sent), sent


def test_a_log_read_through_a_command_says_its_file_was_not_judged(pytester, bao, url_env):
    """Read through log_command, the audit file itself (here world-readable) is not looked at: log_protection
    judged the device's options and passed without a word about the file (red team rt30, F4). It now says what it
    did not judge and where to judge it; the same file named with --auditready-log fails it."""
    server = bao()
    url_env(server)
    server.log_path.chmod(0o644)
    command = f"--auditready-log-command=tail -n +1 -F {server.log_path}"
    run = run_audit(pytester, server, None, command, "--auditready-evidence=ev", seal=False, log_wait=3.0)
    checks = json.loads((pytester.path / "ev" / "evidence.json").read_text())["checks"]
    (lp,) = [o for c in checks if c["id"] == "log_protection" for o in c["outcomes"]]
    assert lp["status"] == "passed" and "was judged by the device's options only" in lp["reason"], lp
    named = run_audit(pytester, server, server.log_path, seal=False)
    assert "log_protection" in named.failed_checks(), named.result.stdout.str()[-2000:]
    assert run.result.ret in (0, 1)


def test_tls_vault_needs_its_ca_and_passes_with_ca_file(pytester, bao, url_env):
    server = bao(tls=True)
    url_env(server)
    result = run_audit(pytester, server, seal=False).result  # ends before any log is read
    assert result.ret == 2
    assert f"TLS verification failed for {server.url}; fix: set ca_file" in result.stdout.str()
    run = run_audit(pytester, server, ca_file=str(server.ca_file))
    assert run.failed_checks() == set() and run.result.ret == 0, run.result.stdout.str()[-2000:]


def test_a_vault_clock_off_fails_timestamp_accuracy_alone(pytester, bao, url_env, pipeline, tmp_path):
    """A vault host's clock 5 s ahead: every entry is still the action's (its run's paths and identities), so only
    timestamp_accuracy fails, saying by how much; before, the actions without a request id (the denials) matched
    nothing and read as dropped by a pipeline filter (red team rt4, F4)."""
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, _shift(5))
    run = run_audit(pytester, server, shipped, log_wait=1.0)
    assert run.result.ret == 1
    assert run.failed_checks() == {"timestamp_accuracy"}, run.failed_checks()
    # Off by the shift less the time from the entry's writing to the client's receipt: about +4.99 s, and less on a
    # loaded machine; every action's entries say so.
    offs = [float(x) for x in re.findall(r"off by ([+-]\d+\.\d+) s", run.text("timestamp_accuracy"))]
    assert offs and all(4.0 < off <= 5.0 for off in offs), offs


# The README's example rule (nobody changes audit devices) and the rule a team writes first (only the payments app
# reads secrets): the run's own requests (its canaries, its sys/audit-hash look-ups) are no request of the vault's
# users (red team rt4, F2).
RULES = [
    {"name": "audit devices", "paths": ["sys/audit*", "sys/audit/+"], "operations": ["update", "delete"],
     "identities": []},
    {"name": "payments", "paths": ["secret/data/*"], "operations": ["read"], "policies": ["app-payments"]},
]


def _read_as(server: Any, token: str) -> str:
    """The audited session's conftest text that reads secret/data/payments/db with ``token`` once the log source
    has marked where the run begins, before the run's first request: inside the run's window every time (a timed
    thread missed a window of 0.09 s on a busy CI machine)."""
    return (
        "import urllib.request, pytest\n"
        "@pytest.hookimpl(wrapper=True)\n"
        "def pytest_auditready_make_log_source(settings, endpoint, config):\n"
        "    source = yield\n"
        "    mark = source.mark\n"
        "    def mark_then_read():\n"
        "        mark()\n"
        f"        urllib.request.urlopen(urllib.request.Request('{server.url}/v1/secret/data/payments/db', "
        f"headers={{'X-Vault-Token': '{token}'}}), timeout=5).read()\n"
        "    source.mark = mark_then_read\n"
        "    return source\n"
    )


def _ops_token(server: Any) -> str:
    """A secret to read, and a root token of the vault's own (not the run's) named ops."""
    admin(server).call("POST", "secret/data/payments/db", {"data": {"password": "hmac-me"}})
    other = admin(server).call("POST", "auth/token/create", {"policies": ["root"], "display_name": "ops"})
    return str(other.data.get("auth", {}).get("client_token") or (other.body or {})["auth"]["client_token"])


def test_access_rules_hold_a_correct_vault_without_judging_the_run_s_own_requests(pytester, bao, url_env):
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, access_rules=RULES)
    assert "access_policy" not in run.failed_checks(), run.text("access_policy")
    assert run.result.ret == 0, run.result.stdout.str()
    assert "a request of this run" in run.result.stdout.str()  # excused by that rule, and said so


def test_access_rules_still_catch_a_read_the_rules_do_not_allow(pytester, bao, url_env):
    """A token of the vault's own (not the run's) reads a secret under secret/data/ while the audit runs: found."""
    server = bao()
    url_env(server)
    conftest = _read_as(server, _ops_token(server))
    run = run_audit(pytester, server, conftest=conftest, access_rules=RULES)
    assert "access_policy" in run.failed_checks()
    assert "payments" in run.text("access_policy") and "token-ops" in run.text("access_policy")


CATCH_ALL = [{"name": "nobody but ops", "paths": ["*"], "operations": ["create", "read", "update", "delete", "list"],
              "identities": ["token-ops"]}]


@pytest.mark.parametrize("rogue", [False, True], ids=["quiet-vault", "a-read-by-another"])
def test_rules_over_every_path_skip_a_quiet_vault_and_catch_a_read(pytester, bao, url_env, rogue):
    """Rules that name every path and operation cover every request the run makes, all of them its own. On a quiet
    vault: skipped, saying that only the run's own requests were in its window and where the rules are judged
    (before: failed as having judged nothing, with a fix to point the check at the vault's log, which it was).
    A read by another token in the window is still judged and found."""
    server = bao()
    url_env(server)
    conftest = _read_as(server, _ops_token(server)) if rogue else ""
    rules = CATCH_ALL if not rogue else [{**CATCH_ALL[0], "identities": ["token-payments"]}]
    run = run_audit(pytester, server, conftest=conftest, access_rules=rules)
    if rogue:
        assert "access_policy" in run.failed_checks()
        assert "token-ops" in run.text("access_policy")
        return
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert run.status("access_policy") == "skipped", run.result.stdout.str()[-3000:]
    said = run.text("access_policy")
    assert "no request but the run's own" in said and "auditready verify" in said, said


@pytest.mark.parametrize("readable", [True, False], ids=["policy-readable", "policy-not-readable"])
def test_a_misspelt_unprivileged_policy_is_refused_with_the_least_privilege_token(pytester, bao, monkeypatch,
                                                                                   readable):
    """With the README's token, a name the vault does not have is refused (404); with a token that may not read
    policies, one the run cannot confirm is refused too (403). Before: the lookup's 403 was taken as no answer, the
    unprivileged identity held no rights, and the run passed (red team rt4, F3)."""
    from tests.auditrun import audit_args
    from tests.conftest import leftover, remember_secret, write_config

    server = bao()
    c = admin(server)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    if not readable:
        policy = policy.replace('path "sys/policies/acl/*" {\n  capabilities = ["read"]\n}\n', "")
        assert 'acl/*"' not in policy
    assert c.call("PUT", "sys/policies/acl/auditready", {"policy": policy}).status == 204
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m", "display_name": "auditor"})
    monkeypatch.setenv("VAULT_TOKEN", remember_secret(r.body["auth"]["client_token"]))
    write_config(pytester, unprivileged_policies=["default", "app-readerz"])
    result = pytester.runpytest(*audit_args(server))
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2 and "Traceback" not in out, out[-2000:]
    line = next(ln for ln in out.splitlines() if "auditready:" in ln)
    assert "'app-readerz'" in line and ("does not have" if readable else "answered 403") in line, line
    assert leftover(server) == {"canaries": [], "policies": ["auditready"], "tokens": []}


def test_dropped_responses_are_completeness_s_not_a_wrong_device(pytester, bao, url_env, pipeline, tmp_path):
    """A pipeline that drops every response entry: completeness names each; integrity_digest does not blame the
    device or the HMAC for digests that would be in the entries dropped (red team rt4, F11)."""
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, _drop_responses)
    run = run_audit(pytester, server, shipped, log_wait=1.0)
    assert "completeness" in run.failed_checks()
    assert "not written by device" not in run.text("integrity_digest")


@pytest.mark.parametrize("grant, named", [
    ('path "sys/policies/acl/*" { capabilities = ["create", "update"] }', "sys/policies/acl/default"),
    ('path "auth/token/create" { capabilities = ["create", "update", "sudo"] }', "auth/token/create"),
    # red team rt7, F1: a token role of its own, then a token of that role (no sudo needed)
    ('path "auth/token/roles/*" { capabilities = ["create", "update", "read"] }\n'
     'path "auth/token/create/*" { capabilities = ["create", "update"] }', "auth/token/roles/*"),
    ('path "identity/group" { capabilities = ["create", "update"] }', "identity/group"),
    ('path "identity/entity/id/*" { capabilities = ["update"] }', "identity/entity/id/*"),
    ('path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }', "sys/auth/*"),
    # red team rt12, F02: orphan tokens of any policy
    ('path "auth/token/create-orphan" { capabilities = ["update", "sudo"] }', "auth/token/create-orphan"),
    # red team rt40, F2: an existing group by id, an alias tying a login to an entity, a mount's tuning
    ('path "identity/group/id/*" { capabilities = ["update"] }', "update on identity/group/id/*"),
    ('path "identity/entity-alias" { capabilities = ["create", "update"] }', "on identity/entity-alias:"),
    ('path "sys/mounts/+/tune" { capabilities = ["update"] }', "update on sys/mounts/*/tune: it can"),
    ('path "sys/mounts/secret/tune" { capabilities = ["update"] }', "update on sys/mounts/secret/tune: it can"),
    ('path "sys/auth/+/tune" { capabilities = ["update"] }', "update on sys/auth/*/tune: it can"),
    ('path "sys/config/auditing/request-headers/*" { capabilities = ["create", "update", "sudo"] }',
     "on sys/config/auditing/request-headers/*: it can have every audit device write any request header in clear"),
], ids=["writes-policies", "tokens-of-any-policy", "token-roles", "identity-groups", "entity-policies",
        "auth-methods", "orphan-tokens", "group-by-id", "entity-alias", "any-mount-tuning", "kv-mount-tuning",
        "auth-tuning", "audited-headers"])
def test_an_identity_that_can_grant_itself_audit_rights_fails_log_protection(pytester, bao, url_env, grant, named):
    """A default policy that may rewrite policies, make tokens of any policy, define token roles, put entities in
    groups or enable auth methods holds nothing on sys/audit yet, but can give itself sudo there: log_protection
    names the path (before: every check passed; red team rt4, G1; rt7, F1)."""
    server = bao()
    url_env(server)
    c = admin(server)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    assert c.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    assert named in run.text("log_protection")


@pytest.mark.parametrize("kind, grant, named", [
    ("approle", 'path "auth/corp-apps/role/*" { capabilities = ["create", "update", "read"] }',
     "create, update on auth/corp-apps/role/*: it can write an entry of the approle auth method at auth/corp-apps/"),
    ("userpass", 'path "auth/corp-users/users/*" { capabilities = ["create", "update"] }',
     "create, update on auth/corp-users/users/*: it can write an entry of the userpass auth method at auth/corp-users/"),
    # userpass's "update policies on user" alone (red team rt40, F2)
    ("userpass", 'path "auth/corp-users/users/+/policies" { capabilities = ["update"] }',
     "update on auth/corp-users/users/*/policies: it can write an entry of the userpass auth method"),
    # using, not writing, a method's entries: any role's SecretID, any user's password, the method's trust (red team
    # rt51 F7, F8: each proved on a real OpenBao, a login with the ops policy at the end)
    ("approle", 'path "auth/corp-apps/role/+/secret-id" { capabilities = ["update"] }\n'
     'path "auth/corp-apps/role/+/role-id" { capabilities = ["read"] }',
     "update on auth/corp-apps/role/*/secret-id: it can make a SecretID of any role"),
    ("userpass", 'path "auth/corp-users/users/+/password" { capabilities = ["update"] }',
     "update on auth/corp-users/users/*/password: it can set any user's password and log in as that user"),
    ("jwt", 'path "auth/corp-jwt/config" { capabilities = ["update"] }',
     "update on auth/corp-jwt/config: it can replace what the method trusts (the issuer's keys)"),
])
def test_an_identity_that_can_write_an_auth_methods_roles_fails_log_protection(pytester, bao, url_env, kind, grant,
                                                                                named):
    """A role or user of a mounted auth method carries the policies its logins get (token_policies): whoever may
    write one logs in with any policy (red team report rt12, F02: proved on a real OpenBao)."""
    server = bao()
    url_env(server)
    c = admin(server)
    mount = {"approle": "corp-apps", "userpass": "corp-users"}.get(kind, f"corp-{kind}")
    assert c.call("POST", f"sys/auth/{mount}", {"type": kind}).status == 204
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    assert c.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    assert named in run.text("log_protection"), run.text("log_protection")


def test_a_hardened_default_policy_passes_with_the_least_privilege_token(pytester, bao, monkeypatch):
    """A default policy without sys/capabilities-self: the README's policy lets the audit token ask by the
    identity's accessor (red team rt40, F11: log_protection failed, "Could not ask", on the tighter vault)."""
    from tests.conftest import remember_secret

    server = bao()
    c = admin(server)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    assert c.call("PUT", "sys/policies/acl/auditready", {"policy": policy}).status == 204
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    hardened = default.replace('path "sys/capabilities-self"', 'path "sys/capabilities-self-not"')
    assert hardened != default
    assert c.call("PUT", "sys/policies/acl/default", {"policy": hardened}).status == 204
    r = c.call("POST", "auth/token/create", {"policies": ["auditready"], "ttl": "10m"})
    monkeypatch.setenv("VAULT_TOKEN", remember_secret(r.body["auth"]["client_token"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]
    assert run.status("log_protection") == "passed"


def test_changing_ones_own_password_or_reading_users_is_no_escalation(pytester, bao, url_env):
    """The userpass docs' own pattern (a user changes their own password: users/<template>/password) and reading
    the users give no login any new policy: not flagged. (users/+/password, anyone's, is: rt51 F8.)"""
    server = bao()
    url_env(server)
    c = admin(server)
    assert c.call("POST", "sys/auth/corp-users", {"type": "userpass"}).status == 204
    accessor = c.call("GET", "sys/auth").data["corp-users/"]["accessor"]
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    grant = (f'path "auth/corp-users/users/{{{{identity.entity.aliases.{accessor}.name}}}}/password" '
             '{ capabilities = ["update"] }\n'
             'path "auth/corp-users/users/*" { capabilities = ["read", "list"] }\n'
             'path "sys/mounts/+/tune" { capabilities = ["read"] }')  # reading a mount's tuning changes nothing
    assert c.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]


def test_making_tokens_of_existing_roles_alone_is_no_escalation(pytester, bao, url_env):
    """create on auth/token/create/* without writing a role uses roles an operator defined: not flagged (only the
    pair is a route to any policy)."""
    server = bao()
    url_env(server)
    c = admin(server)
    default = c.call("GET", "sys/policies/acl/default").data["policy"]
    grant = 'path "auth/token/create/*" { capabilities = ["create", "update"] }'
    assert c.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    run = run_audit(pytester, server)
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]
