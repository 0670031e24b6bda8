"""The fail-closed drill (issue 14): on the embedded target's own throw-away server, every file audit device is made
unable to write (its file becomes /dev/full, what a full disk looks like, reopened on SIGHUP); the vault must refuse
what it cannot audit and must not apply it; after the restore the log records again. A URL target is never
drilled."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_auditready.auditlog.model import AccessLedger
from pytest_auditready.checks import fail_closed
from pytest_auditready.checks.base import CheckContext, evaluate
from pytest_auditready.config import Settings
from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.embedded import drill_for
from pytest_auditready.vault.scenario import VaultFacts
from pytest_auditready.vault.targets import EmbeddedTarget
from tests.auditrun import run_audit
from tests.conftest import probe_until_broken


@pytest.mark.vault
def test_a_vault_that_cannot_audit_refuses_and_records_again_after_the_restore(bao: Any) -> None:
    server = bao()
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert c.call("POST", "secret/data/before", {"data": {"v": "1"}}).status == 200
        kept = server.log_path.read_bytes()
        assert server.break_audit() == ["auditready"]
        assert server.log_path.is_symlink()
        probe_until_broken(server, c, ["auditready"])  # CI saw a write succeed right after the break
        refused = c.call("POST", "secret/data/drill", {"data": {"v": "1"}})
        assert refused.status == 500
        server.restore_audit()  # returns once the server said it reopened the files: after what it said before
        assert server.said("unaudited") >= 1 and server.said("failed:auditready") >= 1
        assert not server.log_path.is_symlink() and server.log_path.read_bytes().startswith(kept)
        assert c.call("GET", "secret/data/drill").status == 404  # the write it could not audit was not applied
        after = c.call("GET", "sys/mounts/secret")
        assert after.request_id
    finally:
        c.close()
    assert after.request_id.encode() in server.log_path.read_bytes()


@pytest.mark.vault
def test_only_the_embedded_targets_own_server_may_be_drilled(bao: Any) -> None:
    server = bao()
    assert drill_for(server.url) is None  # started by a test, as a URL target's vault would be: never drilled
    target = EmbeddedTarget(Settings())
    endpoint = target.open()
    try:
        assert drill_for(endpoint.url) is not None
    finally:
        target.close()
    assert drill_for(endpoint.url) is None


@pytest.mark.vault
def test_a_url_target_is_never_drilled(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    server = bao()
    url_env(server)
    run = run_audit(pytester, server)
    assert run.result.ret == 0, run.result.stdout.str()[-2000:]
    assert run.status("fail_closed") == "skipped"
    assert "a URL target is never drilled" in run.result.stdout.str() + run.outputs.get("compliance report", "")
    assert server.said("reload:auditready") == 0  # no SIGHUP reached it
    assert not server.log_path.is_symlink()
    # nor does the run enable auth methods or mounts on a vault that is not its own throw-away
    assert run.items["completeness[enable-userpass]"] == "skipped"
    assert run.items["completeness[read-audit-devices]"] == "passed"
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        mounts = json.dumps(c.call("GET", "sys/auth").body) + json.dumps(c.call("GET", "sys/mounts").body)
    finally:
        c.close()
    assert "auditready-" not in mounts


# -- judging what the drill recorded (no server) -----------------------------------------------------------------
def _ctx(drill: dict[str, Any], devices: dict[str, Any], target: str = "embedded", entries: Any = ()) -> CheckContext:
    facts = VaultFacts(devices=devices, drill=drill)
    return CheckContext(settings=Settings(target=target), ledger=AccessLedger("r", target), entries=list(entries),
                        bad_lines=[], facts=facts)


FILE = {"type": "file", "options": {"file_path": "/w/audit.log"}, "origin": {"": "server.hcl:3"}}


def _drill(write_status: int, back_status: int, failed: list[str]) -> dict[str, Any]:
    return {"ran": True, "broken": ["file"], "failed_devices": failed, "server_said_unaudited": write_status == 500,
            "path": "secret/data/x", "steps": [
                {"step": "write", "what": "POST secret/data/x", "status": write_status, "request_id": "w"},
                {"step": "read-back", "status": back_status, "request_id": ""},
                {"step": "logged-again", "what": "GET sys/mounts/secret", "status": 200, "request_id": "p"}]}


def _judge(ctx: CheckContext) -> Any:
    return evaluate(fail_closed.CHECK, ctx, [""])[""]


def test_a_refused_write_that_was_applied_anyway_fails() -> None:
    out = _judge(_ctx(_drill(500, 200, ["file"]), {"file": FILE}, entries=[SimpleNamespace(request_id="p")]))
    assert out.status == "failed" and "but applied it" in out.findings[0].message


def test_a_working_second_device_may_serve_and_the_check_says_so() -> None:
    sock = {"type": "socket", "options": {}, "origin": {"": "server.hcl:20"}}
    out = _judge(_ctx(_drill(200, 200, ["file"]), {"file": FILE, "collector": sock},
                      entries=[SimpleNamespace(request_id="p")]))
    assert out.status == "passed"
    assert "a working second device, 'collector' (type socket, declared at server.hcl:20)" in out.reason


def test_the_log_must_record_again_after_the_restore() -> None:
    out = _judge(_ctx(_drill(500, 404, ["file"]), {"file": FILE}, entries=[SimpleNamespace(request_id="other")]))
    assert out.status == "failed" and "auditing did not resume" in out.findings[0].message


def test_judged_on_a_url_target_it_is_skipped_with_the_reason() -> None:
    out = _judge(_ctx({}, {"file": FILE}, target="https://vault.example:8200"))
    assert out.status == "skipped" and "never drilled" in out.reason


def test_the_restore_waits_until_the_server_lets_the_broken_file_go(tmp_path: Any) -> None:
    """OpenBao says it reloads a file device before the device lets its old file go, and a write that fails on the
    old file fails its request although the device reopens: CI saw the first request after a restore answered 500.
    The restore returns only once the server holds no descriptor on /dev/full (Linux's /proc), or says it still
    does."""
    import os
    import subprocess

    from pytest_auditready.errors import AuditReadyError
    from pytest_auditready.vault.embedded import _BROKEN_FILE, EmbeddedServer

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc here: the restore has nothing to look at")
    with open(_BROKEN_FILE, "w") as full:
        holder = subprocess.Popen(["sleep", "30"], stdout=full)
    try:
        with pytest.raises(AuditReadyError, match="still writes to /dev/full"):
            EmbeddedServer._let_go(SimpleNamespace(_proc=holder), _BROKEN_FILE, timeout=0.3)  # type: ignore[arg-type]
        EmbeddedServer._let_go(SimpleNamespace(_proc=holder), "/nonexistent/file", timeout=0.3)  # type: ignore[arg-type]
    finally:
        holder.kill()
        holder.wait(10)


@pytest.mark.vault
def test_after_the_restore_no_descriptor_of_the_server_is_on_dev_full(bao: Any) -> None:
    import os

    server = bao()
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        server.break_audit()
        probe_until_broken(server, c, ["auditready"])
        server.restore_audit()
        fds = f"/proc/{server._proc.pid}/fd"
        if os.path.isdir(fds):
            held = []
            for n in os.listdir(fds):
                try:
                    held.append(os.readlink(os.path.join(fds, n)))
                except OSError:
                    pass
            assert "/dev/full" not in held and str(server.log_path) in held
        assert c.call("GET", "sys/mounts/secret").status == 200
    finally:
        c.close()
