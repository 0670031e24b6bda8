"""Live front end (`pytest --auditready`) against vault setups a team really has, found by a blind pass: each test
boots real OpenBao servers (shared per module where the setup allows) and judges the run's verdict, its clean-up
message against what the server really holds afterwards, and that no secret reached any output."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.conftest import leftover, remember_secret, write_config

pytestmark = pytest.mark.vault

POLICY = (Path(__file__).resolve().parents[1] / "examples" / "auditready-policy.hcl").read_text()


def _without(policy: str, path: str) -> str:
    """``policy`` with the block of ``path`` removed."""
    out, n = re.subn(r'path "' + re.escape(path) + r'" \{[^}]*\}\n', "", policy)
    assert n == 1, path
    return out


def _caps(policy: str, path: str, caps: str) -> str:
    """``policy`` with the capabilities of ``path`` replaced by ``caps``."""
    out, n = re.subn(r'(path "' + re.escape(path) + r'" \{\s*capabilities = )\[[^\]]*\]', r"\g<1>" + caps, policy)
    assert n == 1, path
    return out


@pytest.fixture(scope="module")
def shared() -> Iterator[EmbeddedServer]:
    """One real OpenBao (file device, mode 0600) for the module's URL-target runs; each run cleans up after itself
    and each test checks the server afterwards."""
    with EmbeddedServer() as server:
        remember_secret(server.root_token)
        yield server


def _token(server: EmbeddedServer, name: str, policy: str) -> str:
    """A token of the audit policy ``policy`` (written as ``name``), as docs/own-vault.md makes one."""
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert c.call("PUT", f"sys/policies/acl/{name}", {"policy": policy}).ok
        r = c.call("POST", "auth/token/create", {"policies": [name], "ttl": "10m"})
        assert r.ok, r.error
        return remember_secret(str((r.body or {})["auth"]["client_token"]))
    finally:
        c.close()


def _revoke_run_tokens(server: EmbeddedServer) -> None:
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        for acc in c.call("LIST", "auth/token/accessors").data.get("keys", []):
            meta = c.call("POST", "auth/token/lookup-accessor", {"accessor": acc}).data
            if str(meta.get("display_name", "")).startswith("token-auditready"):
                c.call("POST", "auth/token/revoke-accessor", {"accessor": acc})
    finally:
        c.close()


def test_tokens_left_are_named_when_the_audit_token_may_not_look_them_up(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token without revoke-accessor and lookup-accessor cannot remove the run's tokens nor look them up: each
    token then revokes itself (red team rt102 F5), and the one that may not (the unprivileged identity, made without
    the default policy, of a policy without revoke-self) stays in the vault, and clean-up must name it (it used to
    read the refused look-up as "removed" and say nothing)."""
    policy = _without(_without(POLICY, "auth/token/revoke-accessor"), "auth/token/lookup-accessor")
    monkeypatch.setenv("VAULT_TOKEN", _token(shared, "blind-no-revoke", policy))
    c = VaultClient(shared.url, shared.root_token, timeout=5)
    try:
        assert c.call("PUT", "sys/policies/acl/blind-plain",
                      {"policy": 'path "secret/data/blind-nothing" { capabilities = ["read"] }\n'}).ok
    finally:
        c.close()
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    evidence = pytester.path / "evidence"
    try:
        run = run_audit(pytester, shared, None, f"--auditready-evidence={evidence}", seal=False,
                        unprivileged_policies=["blind-plain"], unprivileged_no_default_policy=True)
        left = leftover(shared)
    finally:
        _revoke_run_tokens(shared)
    assert len(left["tokens"]) == 1, left
    out = run.result.stdout.str()
    assert "clean-up could NOT remove: token of unprivileged" in out
    assert run.result.ret == 1, out  # live tokens left in a vault that outlives the run fail it, checks or not
    said = out.split("clean-up could NOT remove:")[1].splitlines()[0]
    assert "-unprivileged)" in said and "-writer)" not in said and "-reader)" not in said, said
    assert not left["canaries"] and not left["policies"]
    # every report says so, as the exit code does (red team rt4, F6: each said PASS)
    report = (pytester.path / "compliance.xml").read_text()
    assert 'name="auditready.verdict" value="failed"' in report and "auditready.cleanup" in report
    # ... and a failed testcase of its own, in the compliance report and pytest's --junitxml, which a CI dashboard
    # counts (red team rt95, F4: both showed 0 failures)
    import xml.etree.ElementTree as ET

    for name, case in (("compliance.xml", "cleanup"), ("pytest-junit.xml", "cleanup")):
        suites = ET.parse(pytester.path / name).getroot()
        failed = [tc.get("name") for tc in suites.iter("testcase") if tc.find("failure") is not None]
        assert failed == [case], (name, failed)
        assert int(suites.get("failures") or next(suites.iter("testsuite")).get("failures") or 0) == 1, name
    assert "clean-up could not remove 1 thing(s)" in report
    doc = json.loads((evidence / "evidence.json").read_text())
    assert doc["run"]["verdict"] == "failed" and len(doc["run"]["cleanup_could_not_remove"]) == 1
    for md in (evidence / "summary.md", summary):
        text = md.read_text()
        assert "Verdict: **FAIL**" in text and "Clean-up could not remove" in text, text
    assert "::error title=auditready clean-up incomplete::" in out
    assert "ran with a root token" not in "".join(run.outputs.values())  # a token of the example policy
    assert_no_secret_in_outputs(run)


def test_removed_canaries_and_policies_are_not_reported_left_when_their_check_up_is_refused(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token that may delete but not read the run's canary metadata and policies: the vault confirms each
    removal (204) and really holds nothing of the run afterwards, so clean-up must not claim it left them (it
    used to name every canary and policy as "could NOT remove" because the read-back answered 403)."""
    policy = _caps(_caps(POLICY, "secret/metadata/auditready/*", '["delete"]'),
                   "sys/policies/acl/auditready-*", '["create", "update", "delete"]')
    monkeypatch.setenv("VAULT_TOKEN", _token(shared, "blind-no-read", policy))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, shared, seal=False)
    left = leftover(shared)
    assert left == {"canaries": [], "policies": [], "tokens": []}, left
    out = run.result.stdout.str()
    assert run.result.ret == 0, out
    assert "could NOT remove" not in out
    assert_no_secret_in_outputs(run)


def test_device_booleans_are_read_as_openbao_reads_them(
    pytester: pytest.Pytester, bao: Callable[..., EmbeddedServer], url_env: Callable[[EmbeddedServer], None]
) -> None:
    """OpenBao reads a device's boolean options with Go's strconv.ParseBool: ``hmac_accessor = "f"`` writes the
    accessors in clear and ``log_raw = "t"`` writes secrets in clear, as "false" and "true" do. log_protection
    must name both devices (it used to know only true/1/yes and false/0/no, and passed)."""
    server = bao(extra_devices={"acc": {"hmac_accessor": "f", "mode": "0600"},
                                "raw": {"log_raw": "t", "mode": "0600"}})
    url_env(server)
    run = run_audit(pytester, server, seal=False)
    # what the devices really did: the "acc" device's entries carry an accessor in clear, the "raw" one a canary
    acc_log = server.file_logs["acc"].read_text()
    assert '"accessor":"' in acc_log and not re.search(r'"accessor":"(?!hmac-sha256:)', server.log_path.read_text())
    assert re.search(r'"accessor":"(?!hmac-sha256:)', acc_log)
    assert any(v in server.file_logs["raw"].read_text() for k, v in run.secrets.items() if k.startswith("canary:"))
    assert run.failed_checks() == {"log_protection"}, run.failed_checks()
    text = run.text("log_protection")
    assert "Audit device 'acc' logs token accessors in clear" in text
    assert "Audit device 'raw' logs raw values" in text
    assert_no_secret_in_outputs(run)


def test_a_vault_without_audit_devices_fails_log_protection(
    pytester: pytest.Pytester, bao: Callable[..., EmbeddedServer], url_env: Callable[[EmbeddedServer], None]
) -> None:
    """A running OpenBao whose audit stanza was removed (configuration reloaded with SIGHUP) answers ``GET
    sys/audit`` with ``"data": {}``. log_protection must say the vault has no audit device (it used to take the
    empty "data" object of the answer for a device named "data", and passed); the old file the run reads gets
    nothing, so completeness fails too."""
    server = bao()
    assert server.workdir is not None and server._proc is not None  # the server's own config file and process
    (server.workdir / "server.hcl").write_text("")
    server._proc.send_signal(signal.SIGHUP)
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        deadline = time.monotonic() + 10
        while c.call("GET", "sys/audit").data and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the condition, bounded: the server drops the device on its reload
        assert c.call("GET", "sys/audit").data == {}
    finally:
        c.close()
    url_env(server)
    run = run_audit(pytester, server, seal=False)
    assert run.status("log_protection") == "failed"
    assert "The vault has no audit device enabled" in run.text("log_protection")
    assert "'data'" not in run.text("log_protection")
    assert run.status("completeness") == "failed"
    assert_no_secret_in_outputs(run)


def test_unprivileged_policies_naming_a_missing_policy_is_refused(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``unprivileged_policies = ["ordinary-users"]`` where the vault has no such policy (a typo, another
    cluster's name): a token may carry any policy name, so the unprivileged identity would hold nothing, and the
    run used to fail log_protection blaming the default policy. It is refused in one line naming the policy, before
    anything is written; a policy that exists is taken."""
    monkeypatch.setenv("VAULT_TOKEN", shared.root_token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    result = run_audit(pytester, shared, seal=False, unprivileged_policies=["ordinary-users"]).result
    out = result.stdout.str()
    assert result.ret == 2, out
    assert "unprivileged_policies names the policy 'ordinary-users', which the vault at" in out
    assert "bao policy list" in out and "Traceback" not in out
    assert leftover(shared) == {"canaries": [], "policies": [], "tokens": []}
    # the same name, once the vault has it (as ordinary users' tokens carry it): the run goes ahead and passes
    c = VaultClient(shared.url, shared.root_token, timeout=5)
    try:
        assert c.call("PUT", "sys/policies/acl/ordinary-users",
                      {"policy": 'path "auth/token/lookup-self" { capabilities = ["read"] }\n'}).ok
        ok = run_audit(pytester, shared, seal=False, unprivileged_policies=["ordinary-users", "default"])
    finally:
        c.call("DELETE", "sys/policies/acl/ordinary-users")
        c.close()
    ok_out = ok.result.stdout.str()
    assert ok.result.ret == 0, ok_out
    assert not ok.failed_checks()
    assert_no_secret_in_outputs(ok)


def test_a_target_url_with_the_api_path_is_refused_naming_the_address_to_give(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--auditready-target https://host:8200/v1`` (the API's prefix copied into the address): one line that says
    the address must come without it, and gives the address (it used to blame the vault's health for the 404, and
    with a token other than root said the vault rejected the token: red team rt12, F08). Refused with the other
    malformed addresses, before anything is sent."""
    monkeypatch.setenv("VAULT_TOKEN", shared.root_token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    write_config(pytester)
    result = pytester.runpytest("--auditready", f"--auditready-target={shared.url}/v1",
                                f"--auditready-log={shared.log_path}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert "without the API's /v1" in out and f"give {shared.url}" in out, out
    assert "rejected the token" not in out and "Traceback" not in out


def test_audit_device_naming_no_device_of_the_vault_is_refused(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``audit_device = "nope"`` on a URL target whose only device is another: refused in one line naming the
    devices the vault has, before the run writes anything (it used to run, then fail integrity_digest saying no
    device could be identified and asking for rights the token had)."""
    monkeypatch.setenv("VAULT_TOKEN", shared.root_token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    result = run_audit(pytester, shared, seal=False, audit_device="nope").result
    out = result.stdout.str()
    assert result.ret == 2, out
    assert f"audit_device 'nope' is not an audit device of the vault at {shared.url} (it has: auditready)" in out
    assert "Traceback" not in out
    assert leftover(shared) == {"canaries": [], "policies": [], "tokens": []}


def test_a_live_run_under_xdist_is_one_run_in_one_process(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project whose addopts hold ``-n 2`` (pytest-xdist) runs ``pytest --auditready``: every worker used to run
    a scenario of its own, and the controller, holding no run, ended in a traceback with no report. The live audit
    runs once, in one process, says that -n is off, passes and leaves nothing behind."""
    pytest.importorskip("xdist")
    monkeypatch.setenv("VAULT_TOKEN", shared.root_token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, shared, None, "-n", "2", subprocess=True, seal=False)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 0, out
    assert "Traceback" not in out and "AssertionError" not in out
    assert len([line for line in out.splitlines() if line.startswith("run ") and " against " in line]) == 1
    assert "the live audit runs in one process: -n 2 (pytest-xdist) is off for this run" in out
    assert not run.failed_checks() and run.status("completeness") == "passed"
    assert leftover(shared) == {"canaries": [], "policies": [], "tokens": []}
    assert_no_secret_in_outputs(run)


@pytest.mark.parametrize("grants_audit, verdict", [(False, "passed"), (True, "failed")])
def test_a_hardened_default_policy_is_judged_through_the_accessor(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, grants_audit: bool,
    verdict: str
) -> None:
    """A team hardens the ``default`` policy so that ordinary tokens may not even call sys/capabilities-self. The
    audit token asks sys/capabilities-accessor for the unprivileged identity instead: a default policy that holds
    nothing on sys/audit passes log_protection (it used to fail it, "Could not ask sys/capabilities-self"), and one
    that holds sudo on sys/audit/* still fails, found the same way."""
    policy = 'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'
    if grants_audit:
        policy += 'path "sys/audit/*" {\n  capabilities = ["sudo", "update"]\n}\n'
    monkeypatch.setenv("VAULT_TOKEN", shared.root_token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    c = VaultClient(shared.url, shared.root_token, timeout=5)
    original = str(c.call("GET", "sys/policies/acl/default").data["policy"])
    try:
        assert c.call("PUT", "sys/policies/acl/default", {"policy": policy}).ok
        run = run_audit(pytester, shared, seal=False)
    finally:
        c.call("PUT", "sys/policies/acl/default", {"policy": original})
        c.close()
    assert run.status("log_protection") == verdict, run.text("log_protection")
    assert "Could not ask sys/capabilities-self" not in run.text("log_protection")
    if grants_audit:
        assert "holds sudo, update on sys/audit/auditready" in run.text("log_protection")
    else:
        assert not run.failed_checks()
        # the audit's own powers, told with the pass (red team rt18: a root token went unmentioned everywhere)
        assert "The audit ran with a root token (policy root)" in run.outputs["compliance report"]
    assert leftover(shared) == {"canaries": [], "policies": [], "tokens": []}
    assert_no_secret_in_outputs(run)
