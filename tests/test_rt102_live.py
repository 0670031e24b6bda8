"""Red team rt102, live mode against real OpenBao: each finding reproduced on a real server (URL target, shared per
module), and the setup done right passing.

F1: an audit token made without the default policy was called invalid (it only lacked read on
auth/token/lookup-self); F2: a second file device that stopped writing went unnoticed, and the report said it
records; F3: a policy letting every token ask sys/audit-hash (an HMAC oracle on the log) passed log_protection;
F4: audit_non_hmac_*_keys = data on a KV v2 mount was said to write the secrets in clear (the fields under it keep
their HMAC; a field itself named data does not); F5: a bootstrap's "X-Vault-Token: <root token>" was blanked twice
into "<redacted> token>", and a refused revoke-accessor left the run's tokens although each may revoke itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from pytest_auditready.auditlog.sources import blank_secrets
from pytest_auditready.checks import log_protection
from pytest_auditready.text import redact
from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.auditrun import AuditRun, assert_no_secret_in_outputs, run_audit
from tests.conftest import leftover, remember_secret

pytestmark = pytest.mark.vault

ROOT = Path(__file__).resolve().parents[1]
POLICY = (ROOT / "examples" / "auditready-policy.hcl").read_text()
# a sys/audit-hash grant of the kind the red team added to the default policy
HASH_GRANT = '\npath "sys/audit-hash/*" {\n  capabilities = ["update"]\n}\n'


def _without(policy: str, path: str) -> str:
    out, n = re.subn(r'path "' + re.escape(path) + r'" \{[^}]*\}\n', "", policy)
    assert n == 1, path
    return out


@contextlib.contextmanager
def _admin(server: EmbeddedServer) -> Iterator[VaultClient]:
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        yield c
    finally:
        c.close()


def _token(server: EmbeddedServer, name: str, policy: str, *, no_default: bool = True) -> str:
    """A token of the audit policy ``policy`` (written as ``name``), made without the default policy as hardened
    setups make it (``bao token create -policy=NAME -no-default-policy``)."""
    with _admin(server) as c:
        assert c.call("PUT", f"sys/policies/acl/{name}", {"policy": policy}).ok
        r = c.call("POST", "auth/token/create", {"policies": [name], "no_default_policy": no_default, "ttl": "10m"})
        assert r.ok, r.error
        return remember_secret(str((r.body or {})["auth"]["client_token"]))


def _as(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("VAULT_TOKEN", token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)


def _out(run: AuditRun) -> str:
    return run.result.stdout.str() + run.result.stderr.str()


@pytest.fixture(scope="module")
def shared() -> Iterator[EmbeddedServer]:
    """One real OpenBao (file device, mode 0600) for the module's URL-target runs; each test puts back what it
    changed."""
    with EmbeddedServer() as server:
        remember_secret(server.root_token)
        yield server


# -- F1: a token without the default policy ---------------------------------------------------------------------
def test_the_vault_tells_a_known_token_from_an_unknown_one_without_any_policy(shared: EmbeddedServer) -> None:
    """What preflight rests on, on the real server: a known token without read on auth/token/lookup-self and an
    unknown token both get 403 there (OpenBao words them differently: a policy's refusal is a multierror), and
    sys/internal/ui/mounts, which needs no policy, answers the known token (200) and refuses the unknown one (403)."""
    known = _token(shared, "rt102-nothing", 'path "secret/data/rt102-nothing" { capabilities = ["read"] }\n')
    for token, lookup_error, mounts in ((known, "1 error occurred:\n\t* permission denied\n\n", 200),
                                        ("s.rt102notatokenthevaultknows", "permission denied", 403)):
        c = VaultClient(shared.url, token, timeout=5)
        try:
            r = c.call("GET", "auth/token/lookup-self")
            assert r.status == 403 and (r.body or {}).get("errors") == [lookup_error], r.body
            assert c.call("GET", "sys/internal/ui/mounts").status == mounts
        finally:
            c.close()


def test_a_token_without_the_default_policy_lacking_its_lookup_is_told_so(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "the vault ... rejected the token (403: permission denied); fix: export a valid, unexpired token".
    The token is valid: what it lacks is named, with the line of policy that grants it."""
    _as(monkeypatch, _token(shared, "rt102-no-lookup", _without(POLICY, "auth/token/lookup-self")))
    run = run_audit(pytester, shared, seal=False)
    out = _out(run)
    assert run.result.ret == 2, out[-2000:]
    line = next(ln for ln in out.splitlines() if "auditready:" in ln)
    assert "may not read auth/token/lookup-self" in line and "knows it" in line, line
    assert 'add path "auth/token/lookup-self" { capabilities = ["read"] }' in line, line
    assert "export a valid, unexpired token" not in line and "rejected the token" not in line, line


def test_a_token_the_vault_does_not_know_is_still_refused_as_such(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as(monkeypatch, "s.rt102notatokenthevaultknows")
    run = run_audit(pytester, shared, seal=False)
    out = _out(run)
    assert run.result.ret == 2 and "rejected the token (403" in out and "export a valid, unexpired token" in out
    assert "lookup-self" not in out.split("rejected the token", 1)[1].splitlines()[0]


def test_the_example_policy_without_the_default_policy_passes_every_check(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's least-privilege token, hardened (-no-default-policy): the example policy is enough. With the
    vault's own default policy (no sys/audit-hash for ordinary tokens), log_protection passes (F3 done right)."""
    _as(monkeypatch, _token(shared, "rt102-example", POLICY))
    run = run_audit(pytester, shared, seal=False)
    assert run.result.ret == 0, _out(run)[-3000:]
    assert run.failed_checks() == set()
    assert run.status("log_protection") == "passed"
    assert leftover(shared) == {"canaries": [], "policies": [], "tokens": []}
    assert_no_secret_in_outputs(run)


# -- F3: sys/audit-hash for every token --------------------------------------------------------------------------
def test_a_default_policy_that_lets_every_token_ask_the_devices_hmac_fails_log_protection(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _admin(shared) as c:
        default = str(c.call("GET", "sys/policies/acl/default").data["policy"])
        assert c.call("PUT", "sys/policies/acl/default", {"policy": default + HASH_GRANT}).ok
        try:
            ordinary = remember_secret(str(c.call("POST", "auth/token/create", {"policies": ["default"],
                                                                                "ttl": "1m"}).body["auth"]["client_token"]))
            guess = c.with_token(ordinary).call("POST", "sys/audit-hash/auditready", {"input": "hunter2"})
            assert guess.ok and str(guess.data.get("hash", "")).startswith("hmac-sha256:")  # the oracle is real
            _as(monkeypatch, shared.root_token)
            run = run_audit(pytester, shared, seal=False)
        finally:
            assert c.call("PUT", "sys/policies/acl/default", {"policy": default}).ok
    assert run.failed_checks() == {"log_protection"}, _out(run)[-3000:]
    text = run.text("log_protection")
    assert "holds update on sys/audit-hash/auditready" in text and "compute its HMAC of any value" in text, text
    assert "remove update on sys/audit-hash/*" in text and "policies default" in text, text


# -- F4: audit_non_hmac_*_keys = data on a KV v2 mount -----------------------------------------------------------
def test_data_on_a_kv2_mount_is_said_to_spare_only_a_field_named_data(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log is the ground truth: with data tuned on secret/, a secret's field named password keeps its HMAC and
    a field named data is written in clear (OpenBao spares a value by its innermost key). The finding says that,
    not that the secrets' values are written in clear; the run's own canaries stay HMAC'd."""
    clear, hidden = remember_secret("rt102-" + "d" * 26), remember_secret("rt102-" + "p" * 26)
    tune = {"audit_non_hmac_request_keys": ["data"], "audit_non_hmac_response_keys": ["data"]}
    with _admin(shared) as c:
        assert c.call("POST", "sys/mounts/secret/tune", tune).status == 204
        try:
            assert c.call("POST", "secret/data/rt102-fields", {"data": {"data": clear, "password": hidden}}).ok
            assert c.call("GET", "secret/data/rt102-fields").ok
            _as(monkeypatch, shared.root_token)
            run = run_audit(pytester, shared, seal=False)
        finally:
            c.call("DELETE", "secret/metadata/rt102-fields")
            untune = {"audit_non_hmac_request_keys": [""], "audit_non_hmac_response_keys": [""]}
            assert c.call("POST", "sys/mounts/secret/tune", untune).status == 204
    log = shared.log_path.read_text()
    assert clear in log and hidden not in log
    assert run.status("no_secret_leak") == "passed" and run.status("integrity_digest") == "passed"
    text = run.text("log_protection")
    assert "'data' is the map a secret's fields are written and read in" in text, text
    assert "keep their HMAC under their own names" in text and "a field that is itself named 'data'" in text, text
    assert "writes the values of 'data' in clear" not in text, text


def test_data_is_judged_by_the_mounts_version_and_value_stays_a_leak() -> None:
    """KV v1 has no map under data: a field named data is what it spares, as any key; value still fails."""
    def said(keys: list[str], version: str) -> str:
        out = list(log_protection._clear_keys({"secret/": {"request": keys}}, {"secret/": "kv"},
                                              versions={"secret/": version}))
        assert len(out) == 1 and isinstance(out[0], log_protection.Finding)
        return out[0].message

    v2 = said(["data", "value"], "2")
    assert "writes the values of 'value' in clear text" in v2 and "itself named 'data'" in v2, v2
    assert "writes the values of 'data' in clear text" in said(["data"], "1")
    assert "writes the values of 'value' in clear text" in said(["value"], "2")


# -- F5b: revoke-accessor refused ---------------------------------------------------------------------------------
def test_tokens_revoke_themselves_when_revoke_accessor_is_refused(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the three tokens stayed, named, exit 1. (The audit token carries the default policy here, so that
    only the revocation is refused.)"""
    policy = _without(_without(POLICY, "auth/token/revoke-accessor"), "auth/token/lookup-accessor")
    _as(monkeypatch, _token(shared, "rt102-no-revoke", policy, no_default=False))
    try:
        run = run_audit(pytester, shared, seal=False)
        left = leftover(shared)["tokens"]
    finally:
        _revoke_run_tokens(shared)
    out = _out(run)
    assert left == [] and "could NOT remove" not in out, out[-3000:]
    assert run.result.ret == 0 and run.failed_checks() == set(), out[-3000:]
    assert run.status("completeness") == "passed"  # the run's three revoke-accessor steps were sent, and refused


def test_a_token_that_cannot_revoke_itself_is_named_with_its_ttl(
    pytester: pytest.Pytester, shared: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unprivileged identity without the default policy, of a policy without revoke-self: its token stays,
    and clean-up says how each revocation answered and when it expires."""
    policy = _without(_without(POLICY, "auth/token/revoke-accessor"), "auth/token/lookup-accessor")
    _as(monkeypatch, _token(shared, "rt102-no-revoke", policy, no_default=False))
    with _admin(shared) as c:
        assert c.call("PUT", "sys/policies/acl/rt102-plain",
                      {"policy": 'path "secret/data/rt102-nothing" { capabilities = ["read"] }\n'}).ok
    try:
        run = run_audit(pytester, shared, seal=False, unprivileged_policies=["rt102-plain"],
                        unprivileged_no_default_policy=True, token_ttl="2m")
        left = leftover(shared)["tokens"]
    finally:
        _revoke_run_tokens(shared)
    assert len(left) == 1 and left[0].endswith("-unprivileged"), left
    out = run.result.stdout.str()
    assert run.result.ret == 1, out[-3000:]
    said = out.split("clean-up could NOT remove:")[1].splitlines()[0]
    assert "token of unprivileged (display name" in said and "token of writer" not in said, said
    assert "auth/token/revoke-accessor answered 403, and its own revoke-self 403" in said, said
    assert "it expires after its ttl of 2m" in said, said


def _revoke_run_tokens(server: EmbeddedServer) -> None:
    with _admin(server) as c:
        for acc in c.call("LIST", "auth/token/accessors").data.get("keys", []):
            meta = c.call("POST", "auth/token/lookup-accessor", {"accessor": acc}).data
            if str(meta.get("display_name", "")).startswith("token-auditready"):
                c.call("POST", "auth/token/revoke-accessor", {"accessor": acc})


# -- F5a: a bootstrap's stderr blanked once ------------------------------------------------------------------------
def test_a_header_with_the_root_token_is_blanked_once() -> None:
    """As vault/targets.py blanks a failing bootstrap's stderr: the root token in any spelling, then what has a
    credential's shape. Before: "X-Vault-Token: <redacted> token>"."""
    root = remember_secret("s.rt102RootTokenRootTokenRoot")
    err = f"+ curl -sf -H 'X-Vault-Token: {root}' http://127.0.0.1:8200/v1/sys/nothing\nexit 22\n"
    err = redact(err, {"root token": root})
    said = blank_secrets(re.sub(re.escape(root), "<root token>", err, flags=re.IGNORECASE), {"BAO_TOKEN": root})
    assert "X-Vault-Token: <root token>'" in said and "token>'" not in said.replace("<root token>'", ""), said
    # a placeholder that is only part of a value does not spare the rest of it
    assert blank_secrets("TOKEN=<redacted>tail password=<x>", {}) == "TOKEN=<redacted> password=<redacted>"


def test_a_failing_bootstrap_shows_the_header_with_the_root_token_once(pytester: pytest.Pytester,
                                                                       tmp_path: Path) -> None:
    folder = tmp_path / "vault-config"
    shutil.copytree(ROOT / "examples" / "vault-config", folder)
    script = folder / "bootstrap.sh"
    script.write_text("#!/bin/sh\nprintf \"+ curl -sf -H 'X-Vault-Token: %s' %s/v1/sys/nothing\\n\" "
                      "\"$BAO_TOKEN\" \"$BAO_ADDR\" >&2\nexit 22\n")
    script.chmod(0o755)
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", bootstrap="./bootstrap.sh")
    out = _out(run)
    assert run.result.ret == 2 and "failed (exit 22)" in out, out[-2000:]
    said = out[out.index("failed (exit 22)"):].splitlines()[0]
    assert "X-Vault-Token: <root token>'" in said and "<redacted> token>" not in said, said


# -- F2: a second device that stopped writing -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_devices() -> Iterator[EmbeddedServer]:
    """A real OpenBao with the run's device (auditready) and a second file device (siemcopy), for URL-target runs
    that name the device they read (audit_device)."""
    with EmbeddedServer(extra_devices={"siemcopy": {"mode": "0600"}}) as server:
        remember_secret(server.root_token)
        yield server


@contextlib.contextmanager
def _cannot_write(server: EmbeddedServer, device: str) -> Iterator[None]:
    """Every write of ``device`` fails as on a full disk, the other device's go on: its file is made a 1 GiB hole
    (no disk used) and the server may write no file past 512 MiB (RLIMIT_FSIZE; Go ignores SIGXFSZ, so the write
    fails with EFBIG). Put back after: the file's own size, the limit, the device reopened."""
    path = server.file_logs[device]
    size = path.stat().st_size
    pid = server._proc.pid  # type: ignore[union-attr]
    limit = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    os.truncate(path, 1 << 30)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (512 << 20, limit[1]))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limit)
        os.truncate(path, size)
        server.reopen_audit_files()


def _two_device_run(pytester: pytest.Pytester, server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch,
                    device: str = "auditready") -> AuditRun:
    _as(monkeypatch, server.root_token)
    return run_audit(pytester, server, server.file_logs[device], seal=False, audit_device=device)


def test_a_second_device_that_writes_is_said_to_record_because_its_file_holds_the_run(
    pytester: pytest.Pytester, two_devices: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _two_device_run(pytester, two_devices, monkeypatch)
    assert run.result.ret == 0 and run.failed_checks() == set(), _out(run)[-3000:]
    reason = run.text("fail_closed")
    copy = two_devices.file_logs["siemcopy"]
    m = re.search(rf"'siemcopy' \(file_path={re.escape(str(copy))}\): its file holds (\d+) of the (\d+) requests of "
                  r"the run answered with a request id, so it records", reason)
    assert m and m.group(1) == m.group(2) and int(m.group(2)) >= 10, reason


def test_a_second_device_that_cannot_write_is_a_finding_of_fail_closed(
    pytester: pytest.Pytester, two_devices: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: every check passed (exit 0), and fail_closed's skip said the vault serves while 'siemcopy'
    records, although its file held none of the run's entries."""
    copy = two_devices.file_logs["siemcopy"]
    with _cannot_write(two_devices, "siemcopy"):
        run = _two_device_run(pytester, two_devices, monkeypatch)
        assert two_devices.said("failed:siemcopy") > 0  # the server says so in its own log, nowhere else
    assert run.result.ret == 1 and run.failed_checks() == {"fail_closed"}, _out(run)[-3000:]
    text = run.text("fail_closed")
    assert re.search(rf"Audit device 'siemcopy' \(file_path={re.escape(str(copy))}\) wrote none of the run's \d+ "
                     r"requests that the vault answered with a request id \(its file did not grow\): that copy is "
                     r"failing", text), text
    assert "the log the run reads is the file of device 'auditready'" in text and "backend failed to log" in text
    assert "so it records" not in text and "siemcopy' (file_path" in text
    assert_no_secret_in_outputs(run)


def test_the_device_read_that_cannot_write_is_named_as_the_likely_cause(
    pytester: pytest.Pytester, two_devices: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _cannot_write(two_devices, "auditready"):
        run = _two_device_run(pytester, two_devices, monkeypatch)
    assert {"completeness", "fail_closed"} <= run.failed_checks(), _out(run)[-3000:]
    text = run.text("fail_closed")
    assert "Audit device 'auditready'" in text and "wrote none of the run's" in text, text
    assert "it is the log the run reads" in text and "a device that cannot write is the likely cause" in text


def test_a_device_file_not_on_this_host_is_not_said_to_record(tmp_path: Path) -> None:
    """A file at the device's path that the run cannot tie to the vault (the log read is not a device's file): the
    note says it was not checked, never that it records, and no finding is made of it."""
    from types import SimpleNamespace

    from pytest_auditready.checks import fail_closed
    from pytest_auditready.checks.base import CheckContext, evaluate
    from pytest_auditready.config import Settings
    from pytest_auditready.vault.scenario import VaultFacts
    from tests.conftest import probed_ledger

    devices = {"main": {"type": "file", "options": {"file_path": "/var/log/vault/audit.log"}},
               "copy": {"type": "file", "options": {"file_path": "/var/log/vault/copy.log"}},
               "siem": {"type": "socket", "options": {"socket_type": "tcp"}}}
    for marks, said in (({}, "not checked (its file was not looked at)"),
                        ({"copy": {"file_path": "/var/log/vault/copy.log", "run_requests": 12, "found": 0,
                                   "grew": 0}}, "nothing shows it is the vault's"),
                        ({"copy": {"file_path": "/var/log/vault/copy.log", "unread": "there is no file at that "
                                   "path here (No such file or directory)"}}, "not checked (there is no file")):
        facts = VaultFacts(devices=devices, device="main", device_files=marks)
        ctx = CheckContext(settings=Settings(target="https://vault.example:8200"), ledger=probed_ledger("url"),
                           entries=[SimpleNamespace(request_id="p")], bad_lines=[], facts=facts)
        out = evaluate(fail_closed.CHECK, ctx, [""])[""]
        assert out.status == "skipped" and said in out.reason, out.reason
        assert "records (a request" not in out.reason and "so it records" not in out.reason
        assert "'siem' (type socket): not checked" in out.reason, out.reason
    assert json.dumps(facts.to_json())  # the marks go to the evidence bundle as plain data
