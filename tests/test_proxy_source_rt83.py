"""Red team rt83 F1 and F5: the source of each access, behind a reverse proxy or load balancer.

The logs are a real OpenBao 2.7.2's (fixtures/openbao/rt83, its README), each the lines of one live run through a
real nginx 1.22.1 or haproxy 2.6.12, with the run's ledger and the address its connections came from (127.0.0.1).

- F1: nginx drops the inherited X-Forwarded-For in one location (secret/), and the vault, which trusts the proxy,
  logs every access there as from the proxy (127.0.0.5) while auth/ and sys/ name the client. Each access of the
  ledger is judged: the finding names the route, the accesses and their lines. Every route with the client's address
  (nginx appending X-Forwarded-For, haproxy option forwardfor, PROXY protocol v2, a direct connection) passes.
- F5: the fix says what fits what the log shows: the proxy's per-route header config when some routes name the
  client; the possibilities side by side (trust, a proxy sending no header, a TCP load balancer's PROXY protocol, a
  fixed or client-written X-Forwarded-For) when every entry names another address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.match import match_actions
from pytest_auditready.auditlog.model import AccessLedger, Action, AuditEntry
from pytest_auditready.auditlog.vault_json import parse_line
from pytest_auditready.checks import required_fields
from pytest_auditready.checks.base import CheckContext, evaluate
from pytest_auditready.config import Settings
from pytest_auditready.vault.scenario import VaultFacts
from tests.auditrun import run_audit
from tests.conftest import servers

RT83 = Path(__file__).resolve().parent.parent / "fixtures" / "openbao" / "rt83"


def _context(name: str, tmp_path: Path, edit: Any = None) -> CheckContext:
    """The check context of run ``name`` as the live run builds it: its log's entries matched to its ledger."""
    saved = json.loads((RT83 / f"{name}.ledger.json").read_text())
    led = saved["ledger"]
    ledger = AccessLedger(led["run_id"], led["target"], [Action(**{**a, "secrets": tuple(a["secrets"])})
                                                         for a in led["actions"]],
                          led["canaries"], led["identities"])
    lines = (RT83 / f"{name}.log").read_bytes().splitlines()
    if edit is not None:
        lines = [edit(x) for x in lines]
    log = tmp_path / f"{name}.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    entries = [e for i, raw in enumerate(lines, 1) for e in (parse_line(str(log), i, raw),)
               if isinstance(e, AuditEntry)]
    assert len(entries) == len(lines) == 116
    matches = match_actions(ledger.actions, entries, 2_000_000_000)
    return CheckContext(settings=Settings(target=saved["target"]), ledger=ledger, entries=entries, bad_lines=[],
                        matches=matches, facts=VaultFacts(client_addresses=saved["client_addresses"]),
                        source=str(log), log_path=str(log))


def _whole(name: str, tmp_path: Path, edit: Any = None) -> Any:
    ctx = _context(name, tmp_path, edit)
    assert ctx.ledger is not None
    return evaluate(required_fields.CHECK, ctx, ["", *(a.name for a in ctx.ledger.actions)])[""]


# -- F1: one route logged with the proxy's address ---------------------------------------------------------------
def test_a_route_the_proxy_sends_without_x_forwarded_for_fails_naming_its_accesses_and_lines(tmp_path: Path) -> None:
    """Before: the auth/ and sys/ entries named the client, so the run passed though every access on secret/
    (create, reads, the denied read, list, destroy) named the proxy."""
    out = _whole("n13", tmp_path)
    assert out.status == "failed", out
    (finding,) = out.findings
    text = finding.text()
    assert "logged 14 of its 28 accesses as from 127.0.0.5, those on secret/, while those on auth/token/, sys/ " \
        "name the client" in text, text
    assert "create secret/data/auditready/20261206t154253-408d6a/c1 (lines 19, 20)" in text, text
    assert "; and 8 more." in text and finding.where.endswith("n13.log:19"), text
    first = json.loads((RT83 / "n13.log").read_bytes().splitlines()[int(finding.where.rsplit(":", 1)[1]) - 1])
    assert first["request"]["path"].startswith("secret/") and first["request"]["remote_address"] == "127.0.0.5"
    # F5: the fix is the proxy's per-route header config, and the listener refusing a request without the header
    assert "on every route" in finding.fix and "x_forwarded_for_reject_not_present = true" in finding.fix
    assert "x_forwarded_for_authorized_addrs" not in finding.fix, finding.fix


@pytest.mark.parametrize("name", ["n2", "h5", "h2", "direct"])
def test_every_route_with_the_client_s_address_passes_and_one_route_without_it_fails(name: str,
                                                                                     tmp_path: Path) -> None:
    """nginx appending X-Forwarded-For (N2), haproxy option forwardfor (H5), PROXY protocol v2 (H2), and a direct
    connection: each access of the run names the client, and the run passes. The same log with the secret/ route's
    entries naming a hop (as N13's location without the header logs them) fails."""
    out = _whole(name, tmp_path)
    assert out.status == "passed" and not out.findings, [f.text() for f in out.findings]

    def hop(raw: bytes) -> bytes:
        if json.loads(raw)["request"]["path"].startswith("secret/"):
            return raw.replace(b'"remote_address":"127.0.0.1"', b'"remote_address":"127.0.0.5"')
        return raw

    out = _whole(name, tmp_path, hop)
    assert out.status == "failed", out
    (finding,) = out.findings
    assert "logged 14 of its 28 accesses as from 127.0.0.5, those on secret/, while those on auth/token/, sys/ " \
        "name the client" in finding.message, finding.message


def test_one_access_logged_with_another_address_is_found_however_the_rest_look(tmp_path: Path) -> None:
    """The class, not the example: the client's own run with one canary read's entries alone naming the proxy."""
    ctx = _context("n2", tmp_path)
    assert ctx.ledger is not None
    read = next(a for a in ctx.ledger.actions if a.path.startswith("secret/data/") and a.operation == "read")
    lines = {e.line for e in ctx.match(read.name).entries}

    def edit(raw: bytes) -> bytes:
        o = json.loads(raw)
        if o["request"].get("id") == read.request_id or (o["request"]["path"] == read.path and not read.request_id):
            return raw.replace(b'"remote_address":"127.0.0.1"', b'"remote_address":"127.0.0.5"')
        return raw

    out = _whole("n2", tmp_path, edit)
    assert out.status == "failed", out
    text = out.findings[0].text()
    assert "logged 1 of its 28 accesses as from 127.0.0.5" in text and read.path in text, text
    at = ", ".join(map(str, sorted(lines)))
    assert f"{read.path} (lines {at})" in text and out.findings[0].where.endswith(f"n2.log:{min(lines)}"), text


# -- F5: every entry with another address -------------------------------------------------------------------------
@pytest.mark.parametrize("name, logged", [("n4", "127.0.0.5"), ("n3", "10.1.2.3")])
def test_every_entry_with_another_address_fails_and_names_each_possible_cause(name: str, logged: str,
                                                                                tmp_path: Path) -> None:
    """N4: the proxy strips X-Forwarded-For, the vault trusts it (reject_not_present = false); N3: the proxy sets a
    fixed X-Forwarded-For the vault takes. The log alone cannot tell them apart from an untrusted proxy or a TCP
    load balancer: the fix names each."""
    out = _whole(name, tmp_path)
    assert out.status == "failed", out
    (finding,) = out.findings
    assert f"sent from 127.0.0.1, and the vault logged them as from {logged}" in finding.message, finding.message
    fix = finding.fix
    for cause in ("x_forwarded_for_authorized_addrs", "x_forwarded_for_reject_not_present = true",
                  'proxy_protocol_behavior = "allow_authorized"', "proxy_protocol_authorized_addrs",
                  "send-proxy-v2", "a fixed X-Forwarded-For or passes on one the client wrote"):
        assert cause in fix, (cause, fix)


# -- F1 live: a real OpenBao behind a proxy that drops X-Forwarded-For on secret/ ---------------------------------
@pytest.fixture
def xff_bao() -> Any:
    from tests.test_unseen_live import xff_server

    yield from servers(xff_server)


@pytest.mark.vault
def test_live_a_route_without_x_forwarded_for_fails_and_the_run_leaves_nothing(pytester: Any, xff_bao: Any,
                                                                              url_env: Any) -> None:
    """The vault takes X-Forwarded-For from the proxy (reject_not_present = false); the proxy sends none on
    /v1/secret/: the live run fails required_fields alone, naming secret/ and the client's other routes."""
    from tests.test_unseen_live import NOTHING, ForwardingProxy, left

    server = xff_bao()
    url_env(server)
    proxy = ForwardingProxy(server.proxied_url, bare="/v1/secret/")  # (as N13's nginx)
    try:
        run = run_audit(pytester, server, None, f"--auditready-target={proxy.url}", seal=False)
    finally:
        proxy.close()
    assert run.failed_checks() == {"required_fields"}, run.result.stdout.str()
    text = run.text("required_fields")
    assert "as from 127.0.0.2, those on secret/, while those on " in text and "name the client" in text, text
    assert "on every route" in text and "x_forwarded_for_reject_not_present = true" in text, text
    assert left(server) == NOTHING
