"""Live runs against a vault the team already has, in the shapes real teams run them: a namespace, a reverse proxy
in front, TLS with a private CA, the tokens and mounts teams hand the run, slow and flaky targets. Each run is a
real OpenBao on loopback; each wrong verdict or untrue message found here has a test that fails on the old code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.vault.client import VaultClient
from tests.auditrun import AuditRun, assert_no_secret_in_outputs, run_audit
from tests.conftest import leftover, remember_secret, servers

pytestmark = pytest.mark.vault

ADMIN_POLICY = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'


def admin(server: Any, namespace: Optional[str] = None) -> VaultClient:
    return VaultClient(server.url, server.root_token, timeout=5, namespace=namespace,
                       ca_file=str(server.ca_file) if getattr(server, "ca_file", None) else None)


def token(client: VaultClient, policies: list[str], **extra: Any) -> str:
    r = client.call("POST", "auth/token/create", {"policies": policies, "ttl": "15m", **extra})
    assert r.status == 200, r.error
    return remember_secret(str((r.body or {})["auth"]["client_token"]))


def left(server: Any, ns: Optional[str] = None) -> dict[str, Any]:
    """What a run may have left (inside namespace ``ns``): canaries, auditready policies, auditready tokens."""
    return leftover(server, client=admin(server, ns))


NOTHING = {"canaries": [], "policies": [], "tokens": []}


def one_line_error(run: AuditRun) -> str:
    """The run's `auditready: ...; fix: ...` line; the run stopped with exit 2 and no traceback."""
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, out
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if "auditready: " in ln and "fix: " in ln]
    assert len(lines) == 1, out
    return lines[0]


# -- 1. namespaces ----------------------------------------------------------------------------------------------
def _team(server: Any) -> VaultClient:
    c = admin(server)
    assert c.call("POST", "sys/namespaces/team").status in (200, 204)
    ns = admin(server, "team")
    assert ns.call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}).status == 204
    return ns


def test_a_run_in_a_namespace_passes_and_leaves_nothing(pytester, bao, url_env):
    """Before: the audit-device probes and sys/audit-hash were sent inside the namespace, where OpenBao answers 400
    "operation only available in root namespace" and audits nothing: completeness failed for three actions (the
    vault blamed for dropping entries), and integrity_digest and log_protection failed for want of sys/audit."""
    server = bao()
    url_env(server)
    _team(server)
    evidence = pytester.path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-evidence={evidence}", seal=False, namespace="/team/")
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.failed_checks() == set()
    for probe in ("list-audit-devices", "disable-audit-attempt"):  # denied in the root namespace and logged so
        assert run.items[f"denied_access_logged[{probe}]"] == "passed"
    doc = json.loads((evidence / "evidence.json").read_text())
    facts = doc["vault"]
    assert facts["namespace"] == "team" and facts["devices"], facts
    # the unprivileged token of team/ was asked where the devices are, and the root namespace refused it
    # (and what would let it give itself rights there: its policies' paths, auth/token/create)
    from pytest_auditready.checks.log_protection import ESCALATION_PROBES, auth_probes, kv_probes, tune_probes

    assert set(facts["capabilities"]) == {"sys/audit", "sys/audit/auditready", "sys/audit-hash/auditready",
                                          "sys/policies/acl/default",
                                          "sys/policy/default", "auth/token/create", "auth/token/create-orphan",
                                          *ESCALATION_PROBES, *auth_probes(facts["auth_types"]),
                                          *tune_probes(facts["mounts"]), *kv_probes(facts["kv_mounts"])}, \
        facts["capabilities"]
    assert all(c == ["deny"] for c in facts["capabilities"].values())
    assert "namespace team/ is refused every request in the root namespace" in facts["capabilities_note"]
    assert "asked instead for a token of the root namespace with its default policy" in facts["capabilities_note"]
    paths = {a["name"]: a["path"] for a in doc["ledger"]["actions"]}
    assert paths["read-allowed-c1"].startswith("team/secret/data/auditready/") and paths["list-audit-devices"] == \
        "sys/audit"
    assert left(server, "team") == NOTHING
    assert left(server) == NOTHING
    assert_no_secret_in_outputs(run)


def test_a_run_in_a_namespace_judges_what_the_root_namespace_s_default_policy_grants(pytester, bao, url_env):
    """The namespace's unprivileged token is refused everything in the root namespace, where the audit devices
    are; the root namespace's default policy, which every token and login there carries, is asked instead (red
    team rt40, F8: one granting sudo on sys/audit/* passed, and the evidence said "deny", never asked)."""
    server = bao()
    url_env(server)
    _team(server)
    root = admin(server)
    default = root.call("GET", "sys/policies/acl/default").data["policy"]
    grant = 'path "sys/audit/*" { capabilities = ["create", "update", "delete", "sudo"] }'
    assert root.call("PUT", "sys/policies/acl/default", {"policy": default + "\n" + grant + "\n"}).status == 204
    evidence = pytester.path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-evidence={evidence}", seal=False, namespace="team")
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    assert "sudo" in run.text("log_protection") and "sys/audit/auditready" in run.text("log_protection")
    facts = json.loads((evidence / "evidence.json").read_text())["vault"]
    assert "sudo" in facts["capabilities"]["sys/audit/auditready"], facts["capabilities"]
    assert left(server, "team") == NOTHING and left(server) == NOTHING
    tokens = root.call("LIST", "auth/token/accessors").data["keys"]
    made = [root.call("POST", "auth/token/lookup-accessor", {"accessor": a}).data for a in tokens]
    assert not [m for m in made if "root-default" in str(m.get("display_name"))], made  # the probe's token is gone
    assert_no_secret_in_outputs(run)


@pytest.mark.parametrize("home", ["", "team"], ids=["root-run", "namespace-run"])
def test_every_namespace_s_mounts_are_judged(pytester, bao, url_env, home):
    """A KV mount of another namespace (nested here) tuned to log a key without HMAC: the devices, in the root
    namespace, write its secrets in clear (red team rt40, F3: the run looked at its own namespace and the root only,
    and passed)."""
    server = bao()
    url_env(server)
    _team(server)
    root = admin(server)
    assert root.call("POST", "sys/namespaces/org").status in (200, 204)
    assert admin(server, "org").call("POST", "sys/namespaces/apps").status in (200, 204)
    nested = admin(server, "org/apps")
    assert nested.call("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    assert nested.call("POST", "sys/mounts/kv/tune", {"audit_non_hmac_request_keys": ["db_password"]}).status == 204
    run = run_audit(pytester, server, None, seal=False, **({"namespace": home} if home else {}))
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    said = run.text("log_protection")
    assert "Mount 'kv/ (namespace org/apps/)'" in said and "'db_password'" in said, said
    assert left(server, "team") == NOTHING and left(server) == NOTHING


def test_namespaces_past_the_listing_cap_are_a_finding_not_a_pass(pytester, bao, url_env, monkeypatch):
    """Past the namespaces whose mounts the run lists (_MOST_NAMESPACES, 500: two requests each), a mount of one it
    did not list cannot be ruled out: log_protection fails saying so, never passes on what was not read. The cap is
    lowered to 2 here, with three namespaces on a real OpenBao; under it the same vault passes."""
    import importlib
    import sys

    from pytest_auditready import vault

    server = bao()
    url_env(server)
    _team(server)
    root = admin(server)
    for ns in ("org", "ops"):
        assert root.call("POST", f"sys/namespaces/{ns}").status in (200, 204)
    assert admin(server, "org").call("POST", "sys/namespaces/apps").status in (200, 204)
    run = run_audit(pytester, server, None, seal=False)
    assert "log_protection" not in run.failed_checks(), run.text("log_protection")
    # (an in-process pytester run drops the modules it imported when it ends, and the next imports them again: the
    # cap is lowered in every copy of the module the run may use)
    copies = {id(m): m for m in (getattr(vault, "scenario", None), sys.modules.get("pytest_auditready.vault.scenario"),
                                 importlib.import_module("pytest_auditready.vault.scenario")) if m is not None}
    for module in copies.values():
        monkeypatch.setattr(module, "_MOST_NAMESPACES", 2)
    run = run_audit(pytester, server, None, seal=False)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    said = run.text("log_protection")
    assert "the vault has more than 2 namespaces, and the run lists the mounts of 2" in said, said
    assert left(server) == NOTHING


def test_namespaces_the_audit_token_may_not_list_are_a_finding(pytester, bao, monkeypatch):
    """The README's policy without its namespace paths, on a vault with namespaces: a mount there cannot be ruled
    out, and log_protection says what to grant."""
    server = bao()
    _team(server)
    c = admin(server)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    cut = policy.index('path "sys/namespaces"')
    policy = policy[:cut] + policy[policy.index('path "sys/config/auditing'):]
    assert c.call("PUT", "sys/policies/acl/least", {"policy": policy}).status == 204
    monkeypatch.setenv("VAULT_TOKEN", token(c, ["least"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False)
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    said = run.text("log_protection")
    assert "sys/namespaces answered 403" in said and "list on sys/namespaces" in said, said
    assert left(server) == NOTHING


def test_a_run_in_a_namespace_judges_the_root_namespace_s_mounts_too(pytester, bao, url_env):
    """The audit devices (in the root namespace) write every namespace's requests: a root mount tuned to log a key
    without HMAC writes it in clear into the log judged (red team rt18: a run in a namespace passed)."""
    server = bao()
    url_env(server)
    _team(server)
    root = VaultClient(server.url, server.root_token, timeout=5)
    try:
        r = root.call("POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["password"]})
        assert r.status in (200, 204), r.error
    finally:
        root.close()
    run = run_audit(pytester, server, None, seal=False, namespace="team")
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()
    assert "'secret/ (root namespace)'" in run.text("log_protection") and "password" in run.text("log_protection")


def test_a_namespace_run_with_the_root_policy_names_the_namespace_s_paths(pytester, bao, monkeypatch):
    """The example policy, written in the root namespace, grants nothing under team/: the refusal names the path
    the run needs there (team/sys/policies/acl/...), not the one the token holds (red team rt18: it named the
    root path, which the token had, and said the example policy was enough)."""
    from pathlib import Path

    server = bao()
    _team(server)
    root = admin(server)
    policy = (Path(__file__).resolve().parents[1] / "examples" / "auditready-policy.hcl").read_text()
    assert root.call("PUT", "sys/policies/acl/auditready-example", {"policy": policy}).status == 204
    monkeypatch.setenv("VAULT_TOKEN", token(root, ["auditready-example"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    root.close()
    run = run_audit(pytester, server, seal=False, namespace="team")
    text = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret != 0 and "team/sys/policies/acl/auditready-*" in text, text[-2000:]
    assert "in namespace team/" in text
    assert left(server, "team") == NOTHING


def test_a_namespace_token_is_told_the_audit_devices_are_in_the_root_namespace(pytester, bao, monkeypatch):
    """A token of the namespace (what a team usually holds) cannot read the root namespace's audit devices: the
    checks that need them fail, saying so and what token to use instead, and nothing is left behind."""
    server = bao()
    ns = _team(server)
    assert ns.call("PUT", "sys/policies/acl/team-admin", {"policy": ADMIN_POLICY}).status == 204
    monkeypatch.setenv("VAULT_TOKEN", token(ns, ["team-admin"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False, namespace="team")
    # (and the request headers it audits, which no_secret_leak probes: red team rt30, F10)
    assert run.failed_checks() == {"log_protection", "integrity_digest", "no_secret_leak"}, run.result.stdout.str()
    assert "configured in the root namespace" in run.text("no_secret_leak")
    for check in ("log_protection", "integrity_digest", "no_secret_leak"):
        text = run.text(check)
        assert "root namespace" in text and "token of the root namespace" in text
        assert "error occurred" not in text  # the vault's multi-error framing is taken off
    assert left(server, "team") == NOTHING
    assert_no_secret_in_outputs(run)


def test_a_namespace_that_does_not_exist_is_one_line(pytester, bao, url_env):
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, namespace="nope")
    line = one_line_error(run)
    assert "the namespace nope/ does not exist" in line and "bao namespace list" in line, line
    assert "health" not in line
    assert left(server) == NOTHING


def test_a_token_of_another_namespace_is_one_line(pytester, bao, monkeypatch):
    server = bao()
    _team(server)
    assert admin(server).call("POST", "sys/namespaces/other").status in (200, 204)
    monkeypatch.setenv("VAULT_TOKEN", token(admin(server, "other"), ["default"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False, namespace="team")
    line = one_line_error(run)
    assert "belongs to namespace other/, which is neither team/ nor a parent of it" in line, line
    assert left(server, "team") == NOTHING


class Relay:
    """A TCP hop on loopback in front of a server: a load balancer, a TLS passthrough, or a flaky network.
    ``listen`` is the address it listens on. The first client chunk holding ``reset_on`` makes it reset that
    connection (both sides, RST) instead of passing it on; the first holding ``stall_on`` is held ``stall`` seconds
    before it is passed on (a vault that answers slowly). Later connections and chunks pass as they are."""

    def __init__(self, target: str, listen: str = "127.0.0.1", reset_on: bytes = b"", stall_on: bytes = b"",
                 stall: float = 0.0) -> None:
        import socket
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        self._to = (parts.hostname or "127.0.0.1", parts.port or 0)
        self._scheme = parts.scheme
        self.reset_on, self.stall_on, self.stall = reset_on, stall_on, stall
        self.tripped: list[str] = []  # what it did: "reset", "stall"
        self.stall_began: Optional[float] = None  # time.monotonic() when the stall began
        self._sock = socket.create_server((listen, 0))
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    def _serve(self) -> None:
        import socket
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            try:
                up = socket.create_connection(self._to, timeout=5)
            except OSError:
                conn.close()
                continue
            for a, b, upstream in ((conn, up, True), (up, conn, False)):
                t = threading.Thread(target=self._pipe, args=(a, b, upstream), daemon=True)
                t.start()
                self._threads.append(t)

    def _pipe(self, src: Any, dst: Any, upstream: bool) -> None:
        import socket
        import struct
        import time

        src.settimeout(None)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and self.reset_on and self.reset_on in data and "reset" not in self.tripped:
                    self.tripped.append("reset")
                    for s in (src, dst):  # RST, not FIN, to both: what a load balancer's reset looks like
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        s.close()
                    return
                if upstream and self.stall_on and self.stall_on in data and "stall" not in self.tripped:
                    self.tripped.append("stall")
                    self.stall_began = time.monotonic()
                    time.sleep(self.stall)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(2)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture
def relay():
    made: list[Relay] = []

    def make(*args: Any, **kwargs: Any) -> Relay:
        r = Relay(*args, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


# -- 3. TLS with a private CA -----------------------------------------------------------------------------------
def test_tls_with_the_private_ca_passes(pytester, bao, url_env):
    server = bao(tls=True)
    url_env(server)
    run = run_audit(pytester, server, seal=False, ca_file=str(server.ca_file))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.failed_checks() == set()
    assert left(server) == NOTHING


@pytest.mark.parametrize("ca", ["none", "another", "missing", "not-pem"])
def test_tls_with_a_wrong_ca_is_one_line_naming_it(pytester, bao, url_env, tmp_path, ca):
    """Before: a ca_file that does not exist was 'request ... failed: OSError; fix: check the URL', and a
    ca_file that is set but wrong told the user to set ca_file."""
    server = bao(tls=True)
    url_env(server)
    keys: dict[str, Any] = {}
    if ca == "another":
        other = tmp_path / "other-ca.pem"
        other.write_bytes(bao(tls=True).ca_file.read_bytes())
        keys["ca_file"] = str(other)
    elif ca == "missing":
        keys["ca_file"] = str(tmp_path / "nope.pem")
    elif ca == "not-pem":
        (tmp_path / "junk.pem").write_text("not a certificate\n")
        keys["ca_file"] = str(tmp_path / "junk.pem")
    run = run_audit(pytester, server, seal=False, **keys)
    line = one_line_error(run)
    expect = {"none": "(no CA this system trusts did)", "another": "is not signed by a CA in ca_file",
              "missing": "nope.pem does not exist", "not-pem": "junk.pem holds no PEM certificate"}[ca]
    assert expect in line and "fix: set ca_file" in line, line
    assert left(server) == NOTHING


def test_tls_hostname_mismatch_is_one_line(pytester, bao, url_env, relay):
    """The vault's certificate names 127.0.0.1 and localhost; reached as 127.0.0.2 (a passthrough), it is the
    wrong host, which a new ca_file would not cure."""
    server = bao(tls=True)
    url_env(server)
    hop = relay(server.url, listen="127.0.0.2")
    run = run_audit(pytester, server, None, f"--auditready-target={hop.url}", seal=False, ca_file=str(server.ca_file))
    line = one_line_error(run)
    assert "not issued for 127.0.0.2 (hostname mismatch)" in line, line
    assert "set ca_file" not in line


def test_http_to_a_tls_listener_and_back_is_one_line(pytester, bao, url_env):
    server = bao(tls=True)
    url_env(server)
    run = run_audit(pytester, server, None, "--auditready-target=" + server.url.replace("https://", "http://"),
                    seal=False)
    line = one_line_error(run)
    assert "serves HTTPS on that port" in line and "use https://" in line, line
    plain = bao()
    url_env(plain)
    run = run_audit(pytester, plain, None, "--auditready-target=" + plain.url.replace("http://", "https://"),
                    seal=False)
    line = one_line_error(run)
    assert "does not answer TLS on that port" in line and "set ca_file" not in line, line


# -- 4. the tokens and mounts teams hand the run ----------------------------------------------------------------
def _audit_token(server: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> str:
    c = admin(server)
    assert c.call("PUT", "sys/policies/acl/auditor", {"policy": ADMIN_POLICY}).status == 204
    tok = token(c, ["auditor"], **extra)
    monkeypatch.setenv("VAULT_TOKEN", tok)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    return tok


@pytest.mark.parametrize("extra,expect", [
    ({"type": "batch"}, "is a batch token"),  # before: blamed a missing sudo on auth/token/create
    ({"ttl": "20s"}, "expires in"),  # before: ran, and could die between its writes and their clean-up
    ({"num_uses": 12}, "(11 left)"),  # its lookup took one; before: used up mid-run, then blamed a policy
    ({"num_uses": 500}, "(499 left)"),  # the vault makes no child of it (red team rt40, F7): blamed a policy
])
def test_a_token_that_cannot_last_the_run_is_refused_before_it_writes(pytester, bao, monkeypatch, extra, expect):
    server = bao()
    _audit_token(server, monkeypatch, **extra)
    run = run_audit(pytester, server, seal=False)
    line = one_line_error(run)
    assert expect in line, line
    assert left(server) == NOTHING


REVOKE_SELF = '''
from pytest_auditready.vault.scenario import ActionSpec
def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("token-gone", "admin", "POST", "auth/token/revoke-self", "update"))
'''


def test_a_token_revoked_mid_run_is_named_and_the_leftovers_are_true(pytester, bao, monkeypatch):
    """Before: the next step's 403 was blamed on a policy ("check that secret/ is a KV v2 mount")."""
    server = bao()
    _audit_token(server, monkeypatch)
    run = run_audit(pytester, server, seal=False, conftest=REVOKE_SELF)
    line = one_line_error(run)
    assert "stopped working during the run" in line and "KV v2" not in line, line
    left_now = left(server)
    # what the message names as left is what is left: the canaries and policies (the tokens went with theirs)
    assert left_now["tokens"] == [] and left_now["canaries"] and left_now["policies"], left_now
    for p in left_now["policies"]:
        assert f"policy {p}" in line, line
    assert "token of" not in line, line  # revoked with the audit token: named as left, it was not (red team rt4, F8)
    assert line.count("canary ") == 2, line


def test_a_token_that_plants_canaries_but_cannot_read_sys_audit(pytester, bao, monkeypatch):
    """The README's least-privilege policy without its sys/audit paths: the scenario runs and is judged; the two
    checks that need the audit devices fail, each saying what the token lacks (in one line of the vault's text)."""
    from pathlib import Path

    server = bao()
    c = admin(server)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    cut = policy.index('path "sys/audit"')
    assert c.call("PUT", "sys/policies/acl/least", {"policy": policy[:cut]}).status == 204
    monkeypatch.setenv("VAULT_TOKEN", token(c, ["least"]))
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False)
    assert run.failed_checks() == {"log_protection", "integrity_digest"}, run.result.stdout.str()
    assert run.status("completeness") == "passed" and run.status("denied_access_logged") == "passed"
    assert "could not be listed with the audit token (403: permission denied)" in run.text("log_protection")
    assert "give the audit token sudo+read on sys/audit" in run.text("integrity_digest")
    assert left(server) == NOTHING


@pytest.mark.parametrize("who", ["root", "example-policy", "no-mount-read"])
def test_a_kv_v1_mount_is_one_line_and_nothing_is_written(pytester, bao, url_env, monkeypatch, who):
    """The README's policy reads sys/mounts/secret, not sys/mounts/kv1: the listing tells then (red team rt40, F4:
    the run wrote its canaries at kv1/data/... and could not remove them); a token that may read neither is refused
    before anything is written."""
    server = bao()
    url_env(server)
    c = admin(server)
    assert c.call("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}).status == 204
    if who != "root":
        policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
        if who == "no-mount-read":
            policy = policy.replace('path "sys/mounts" {', 'path "sys/mounts-not" {')
            policy = policy.replace('path "sys/mounts/secret" {', 'path "sys/mounts-not/secret" {')
        assert c.call("PUT", "sys/policies/acl/least", {"policy": policy}).status == 204
        monkeypatch.setenv("VAULT_TOKEN", token(c, ["least"]))
        monkeypatch.delenv("BAO_TOKEN", raising=False)
    run = run_audit(pytester, server, seal=False, kv_mount="kv1")
    line = one_line_error(run)
    if who == "no-mount-read":
        assert "may read neither sys/mounts/kv1 (403) nor sys/mounts (403)" in line, line
    else:
        assert "the mount kv1/ is not a KV version 2 secrets engine" in line, line
    assert left(server) == NOTHING and admin(server).call("LIST", "kv1/auditready").status == 404


@pytest.mark.parametrize("extra", [{"period": "1h"}, {"ttl": "10m", "renewable": False}])
def test_periodic_and_fixed_ttl_tokens_pass(pytester, bao, monkeypatch, extra):
    server = bao()
    _audit_token(server, monkeypatch, **extra)
    c = admin(server)
    assert c.call("POST", "sys/mounts/team/kv", {"type": "kv", "options": {"version": "2"}}).status == 204
    run = run_audit(pytester, server, seal=False, kv_mount="team/kv")
    assert run.result.ret == 0, run.result.stdout.str()
    assert c.call("LIST", "team/kv/metadata/auditready").status == 404
    assert left(server) == NOTHING


# -- 5. slow and flaky targets ----------------------------------------------------------------------------------
def test_a_connection_reset_mid_run_is_named_and_clean_up_still_happens(pytester, bao, url_env, relay):
    """Before: a reset connection (a load balancer's, mid-run) was "cannot connect to the vault; fix: start it",
    though the vault was up, and clean-up removed everything over a new connection."""
    server = bao()
    url_env(server)
    hop = relay(server.url, reset_on=b"sys/capabilities-self")
    run = run_audit(pytester, server, None, f"--auditready-target={hop.url}", seal=False)
    line = one_line_error(run)
    assert hop.tripped == ["reset"]
    assert f"the connection to the vault at {hop.url} broke during POST sys/capabilities-self" in line, line
    assert "start it" not in line and "could not remove" not in line, line
    assert left(server) == NOTHING


def test_a_vault_that_answers_too_slowly_mid_run_still_gets_cleaned(pytester, bao, url_env, relay):
    import time

    server = bao()
    url_env(server)
    hop = relay(server.url, stall_on=b"sys/capabilities-self", stall=4.0)
    began = time.monotonic()
    run = run_audit(pytester, server, None, f"--auditready-target={hop.url}", seal=False, request_timeout=1.0)
    took = time.monotonic() - began
    line = one_line_error(run)
    assert hop.tripped == ["stall"]
    assert "did not answer POST sys/capabilities-self within 1 s" in line, line
    assert "could not remove" not in line, line
    # the deadline held: the run was over before the stalled answer could have come (measured from the stall, not
    # from the run's start: a loaded machine's pytest start-up once took it past a bound on the whole run)
    assert hop.stall_began is not None and began + took < hop.stall_began + hop.stall, took
    assert left(server) == NOTHING


class ForwardingProxy:
    """A reverse proxy on loopback (http.server): forwards each request to the vault from the address ``source``
    (another loopback address, so that the vault tells it from the client's), adding X-Forwarded-For with the
    client's address, as nginx's proxy_add_x_forwarded_for does, on every path but those starting with ``bare``
    (as an nginx location with its own proxy_set_header, which inherits none). The first request whose path holds
    ``fail_path`` is answered 502 by the proxy itself (an upstream that timed out, as the proxy saw it)."""

    def __init__(self, upstream: str, source: str = "127.0.0.2", fail_path: str = "", bare: str = "") -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        up = urlsplit(upstream)
        host, port = up.hostname or "127.0.0.1", up.port or 80
        failed: list[str] = []
        self.failed = failed

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if fail_path and fail_path in self.path and not failed:
                    failed.append(self.path)
                    page = b"<html><body>502 Bad Gateway</body></html>"
                    self.send_response(502)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                if not (bare and self.path.startswith(bare)):
                    headers["X-Forwarded-For"] = self.client_address[0]
                conn = http.client.HTTPConnection(host, port, timeout=5, source_address=(source, 0))
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_PATCH = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def xff_server(**kwargs: Any) -> Any:
    """An OpenBao dev server with a second TCP listener, configured to take X-Forwarded-For from 127.0.0.2 (the
    proxy's address): its ``proxied_url``."""
    from pytest_auditready.vault.embedded import EmbeddedServer

    port = _free_port()

    class XffServer(EmbeddedServer):
        proxied_url = f"http://127.0.0.1:{port}"

        def _config(self) -> str:
            return super()._config() + (
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n'
                '  x_forwarded_for_authorized_addrs = "127.0.0.2/32"\n'
                '  x_forwarded_for_reject_not_authorized = false\n  x_forwarded_for_reject_not_present = false\n}\n')

    return XffServer(**kwargs)


# -- 2. a reverse proxy in front --------------------------------------------------------------------------------
@pytest.fixture
def xff_bao():
    yield from servers(xff_server)


def test_a_proxy_the_vault_logs_instead_of_the_client_fails_required_fields(pytester, xff_bao, url_env):
    """Before: every entry of the run named the proxy (127.0.0.2) as its source, and the run passed."""
    server = xff_bao()
    url_env(server)
    proxy = ForwardingProxy(server.url)  # the dev listener takes no X-Forwarded-For
    try:
        run = run_audit(pytester, server, None, f"--auditready-target={proxy.url}", seal=False)
    finally:
        proxy.close()
    assert run.failed_checks() == {"required_fields"}, run.result.stdout.str()
    text = run.text("required_fields")
    assert "sent from 127.0.0.1, and the vault logged them as from 127.0.0.2" in text, text
    assert "x_forwarded_for_authorized_addrs" in text
    assert left(server) == NOTHING


def test_a_proxy_whose_x_forwarded_for_the_vault_takes_passes(pytester, xff_bao, url_env):
    server = xff_bao()
    url_env(server)
    proxy = ForwardingProxy(server.proxied_url)  # the listener with x_forwarded_for_authorized_addrs
    try:
        run = run_audit(pytester, server, None, f"--auditready-target={proxy.url}", seal=False)
    finally:
        proxy.close()
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.failed_checks() == set()
    assert left(server) == NOTHING


def test_a_proxy_that_fails_a_step_is_not_blamed_on_the_token(pytester, bao, url_env):
    """Before: a 502 from the hop in front was "the token in VAULT_TOKEN needs update and sudo on
    auth/token/create"."""
    server = bao()
    url_env(server)
    proxy = ForwardingProxy(server.url, fail_path="auth/token/create")
    try:
        run = run_audit(pytester, server, None, f"--auditready-target={proxy.url}", seal=False)
    finally:
        proxy.close()
    line = one_line_error(run)
    assert proxy.failed and "answered 502" in line and "needs update and sudo" not in line, line
    assert "or a proxy or load balancer in front of it, failed the request" in line, line
    assert "could not remove" not in line and left(server) == NOTHING


def test_a_rate_limit_quota_is_named_not_blamed_on_the_token(pytester, bao, url_env):
    """Before: the vault's 429 was "the token in VAULT_TOKEN needs update and sudo on auth/token/create"."""
    server = bao()
    url_env(server)
    r = admin(server).call("POST", "sys/quotas/rate-limit/tokens", {"path": "auth/token/create", "rate": 1,
                                                                    "interval": "1m"})
    assert r.status in (200, 204), r.error
    run = run_audit(pytester, server, seal=False)
    line = one_line_error(run)
    assert "answered 429" in line and "rate limit quota of the vault refused it" in line, line
    assert "could not remove" not in line and left(server) == NOTHING


REVOKE_ORPHAN = '''
from pytest_auditready.vault.scenario import ActionSpec
def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("token-gone", "admin", "POST", "auth/token/revoke-orphan", "update",
                        lambda box: {"token": box["token:admin"]}))
'''


def test_a_token_revoked_alone_mid_run_leaves_no_child_of_it(pytester, bao, monkeypatch):
    """Revoked with -mode=orphan (auth/token/revoke-orphan), the audit token leaves the tokens it made alive: they
    were taken to have gone with it and named nowhere (red team rt30, F5). Each revokes itself now, and the line
    names only what is left."""
    server = bao()
    _audit_token(server, monkeypatch)
    run = run_audit(pytester, server, seal=False, conftest=REVOKE_ORPHAN)
    line = one_line_error(run)
    assert "stopped working during the run" in line, line
    left_now = left(server)
    assert left_now["tokens"] == [], left_now
    assert "token of" not in line, line


WRITER_GONE = '''
from pytest_auditready.vault.scenario import ActionSpec
def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("writer-gone", "writer", "POST", "auth/token/revoke-self", "update"))
'''


def test_a_scenario_token_revoked_mid_run_is_named_not_a_policy(pytester, bao, url_env):
    """The writer's token revoked during the run: its next step's 403 was blamed on the writer's policy or the
    KV mount (red team rt30, F6). Its own lookup says it is gone, and the line says so."""
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, conftest=WRITER_GONE)
    line = one_line_error(run)
    assert "the run's token of writer stopped working during the run" in line and "KV v2" not in line, line
    assert left(server) == NOTHING


@pytest.mark.vault
def test_a_sys_mount_logging_input_in_clear_is_never_given_the_token(pytester, bao, url_env):
    """sys/audit-hash takes its value as request data ``input``: with sys/ tuned to log ``input`` without HMAC,
    every device wrote the audit token given to the run (a root token here), the run's tokens and canaries in clear
    (red team rt35, F5). Nothing is asked then: integrity_digest fails saying why, log_protection names the
    tuning, and no value of the run is in the log."""
    from pathlib import Path

    server = bao()
    url_env(server)
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert c.call("POST", "sys/mounts/sys/tune", {"audit_non_hmac_request_keys": ["input"]}).status == 204
    finally:
        c.close()
    run = run_audit(pytester, server, seal=False)
    log = Path(server.log_path).read_text()
    assert '"input":"' not in log
    assert server.root_token not in log and all(v not in log for v in run.secrets.values())
    assert run.status("integrity_digest") == "failed"
    assert "'input' without HMAC" in run.text("integrity_digest")
    assert run.status("log_protection") == "failed"
    assert "Mount 'sys/' (system) is tuned to log the request keys 'input'" in run.text("log_protection")
    assert_no_secret_in_outputs(run)
