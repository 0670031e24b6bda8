"""Secrets in Vault/OpenBao namespaces are told apart by "who saw that secret?".

The vault logs ``request.path`` relative to ``request.namespace.path``: a read of ``secret/data/db`` in namespace
``ns1/`` and one in the root namespace carry the same ``request.path``. Before, `auditready access`, the
``access_policy`` rules and the access review named both ``secret/data/db``: the root secret's readers included
the namespace's, and ``ns1/secret/data/db`` (how a client outside the namespace names it) matched nothing, a false
"nobody read it". Real OpenBao traffic in two namespaces, read by the column path, the line-by-line path and the
C-less path, each answer held to a count made here from the raw lines.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.model import Entries, Record, in_scope
from pytest_auditready.offline.reader import Block, vault_block, vault_parser
from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed
from tests.conftest import log_copy, remember_secret


def run(*args: str, cwd: Path, env: Any = None) -> subprocess.CompletedProcess[str]:
    return completed([*args], cwd, env, timeout=120)


def _token(admin: VaultClient, name: str, policies: list[str], ns: str = "") -> VaultClient:
    r = admin.call("POST", f"{ns}auth/token/create", {"display_name": name, "policies": policies, "ttl": "15m"})
    assert r.status == 200, r.error
    return admin.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))


@pytest.fixture(scope="module")
def two_namespaces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same secret path written and read in the root namespace and in ns1 (addressed by the path prefix
    and by the X-Vault-Namespace header), by different identities; ns1's own sys/ endpoints are called too."""
    from pytest_auditready.vault.embedded import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    remember_secret(server.root_token)
    try:
        admin = VaultClient(server.url, server.root_token, timeout=5)
        assert admin.call("POST", "sys/namespaces/ns1").status in (200, 204)
        assert admin.call("POST", "ns1/sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}).status == 204
        admin.call("PUT", "ns1/sys/policies/acl/db-read",
                   {"policy": 'path "secret/data/db" { capabilities = ["read"] }'})
        admin.call("PUT", "sys/policies/acl/db-read", {"policy": 'path "secret/data/db" { capabilities = ["read"] }'})
        ns_reader = _token(admin, "ns-reader", ["db-read"], "ns1/")
        root_reader = _token(admin, "root-reader", ["db-read"])
        assert admin.call("POST", "ns1/secret/data/db", {"data": {"v": "n" * 20}}).status == 200
        assert admin.call("POST", "secret/data/db", {"data": {"v": "r" * 20}}).status == 200
        for _ in range(2):
            assert ns_reader.call("GET", "ns1/secret/data/db").status == 200
        assert ns_reader.call("GET", "secret/data/db", headers={"X-Vault-Namespace": "ns1"}).status == 200
        assert root_reader.call("GET", "secret/data/db").status == 200
        assert ns_reader.call("GET", "secret/data/db").status == 403  # its token is not valid in the root
        admin.close()
        return log_copy(server, tmp_path_factory.mktemp("ns"))
    finally:
        server.stop()


def by_hand(log: Path, secret: str) -> dict[str, int]:
    """display name -> requests on ``secret`` (namespace path + request path), from the raw lines."""
    out: dict[str, int] = {}
    for raw in log.read_text().splitlines():
        e = json.loads(raw)
        req = e.get("request") or {}
        full = ((req.get("namespace") or {}).get("path") or "") + req.get("path", "")
        if e.get("type") == "request" and full == secret:
            name = (e.get("auth") or {}).get("display_name", "")
            out[name] = out.get(name, 0) + 1
    return out


def answered(log: Path, pattern: str, cwd: Path) -> dict[str, int]:
    out = cwd / "answer.json"
    proc = run("access", pattern, str(log), "--json", str(out), cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    return {i["display_name"]: sum(c["requests"] for c in i["operations"].values()) for i in doc["identities"]}


@pytest.mark.vault
def test_access_tells_a_namespace_secret_from_the_root_one(two_namespaces: Path, tmp_path: Path) -> None:
    log = two_namespaces
    in_ns1, in_root = by_hand(log, "ns1/secret/data/db"), by_hand(log, "secret/data/db")
    # the traffic is what the test means: three reads by ns-reader in ns1; in the root one by root-reader and
    # ns-reader's refused try; a write in each by the root token
    assert in_ns1 == {"token-ns-reader": 3, "token": 1}, in_ns1
    assert in_root == {"token-root-reader": 1, "token-ns-reader": 1, "token": 1}, in_root
    assert answered(log, "ns1/secret/data/db", tmp_path) == in_ns1
    assert answered(log, "secret/data/db", tmp_path) == in_root
    assert answered(log, "+/secret/data/db", tmp_path) == in_ns1  # a + segment is one namespace


@pytest.mark.vault
def test_every_read_path_names_the_namespace(two_namespaces: Path) -> None:
    """The column decoder, the line-by-line parser and the general parser give each entry the same scope."""
    data = two_namespaces.read_bytes().rstrip(b"\n")
    batch = vault_block(str(two_namespaces))(Block(1, data))
    assert batch is not None and batch.scope is not None
    parse = vault_parser(str(two_namespaces))
    records = [parse(i + 1, raw) for i, raw in enumerate(data.split(b"\n"))]
    assert all(isinstance(r, Record) for r in records)
    by_line = Entries.of([r for r in records if isinstance(r, Record)])
    assert by_line.scope == batch.scope
    assert [batch.secret(i) for i in range(len(batch))] == [by_line.secret(i) for i in range(len(by_line))]
    assert "ns1/secret/data/db" in {batch.secret(i) for i in range(len(batch))}
    from pytest_auditready.auditlog.model import AuditEntry
    from pytest_auditready.auditlog.vault_json import parse_line

    general = [parse_line("x", i + 1, raw) for i, raw in enumerate(data.split(b"\n"))]
    assert [g.record.secret for g in general if isinstance(g, AuditEntry)] == [batch.secret(i) for i in range(len(batch))]
    # a log without namespaces keeps no scope column
    root_only = b"\n".join(raw for raw in data.split(b"\n") if b'"path":"ns1/"' not in raw)
    plain = vault_block("x")(Block(1, root_only))
    assert plain is not None and plain.scope is None
    assert in_scope("ns1", "secret/x") == "ns1/secret/x" and in_scope("", "secret/x") == "secret/x"


@pytest.mark.vault
def test_access_rules_and_the_review_name_the_namespace(two_namespaces: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.auditready]\nrequire_tamper_evidence = false\n"
        "[[tool.auditready.access.rules]]\nname = 'root db'\npaths = ['secret/data/db']\noperations = ['read']\n"
        "identities = ['token-root-reader', 'root']\n"
        "[[tool.auditready.access.rules]]\nname = 'ns1 db'\npaths = ['ns1/secret/data/db']\noperations = ['read']\n"
        "identities = ['root']\n")
    evidence = tmp_path / "ev"
    proc = run("verify", str(two_namespaces), "--evidence", str(evidence), cwd=tmp_path)
    out = proc.stdout
    violations = [ln for ln in out.splitlines() if "breaks rule" in ln]
    # ns-reader's three reads in ns1 break 'ns1 db'; nothing breaks 'root db' (ns-reader's reads are not in it)
    assert len(violations) == 3, out
    assert all("read of ns1/secret/data/db by display name 'token-ns-reader'" in v and "'ns1 db'" in v
               for v in violations), out
    review = json.loads((evidence / "evidence.json").read_text())["review"]
    paths = {p["path"] for p in review["paths"]}
    assert {"ns1/secret/data/db", "secret/data/db"} <= paths, paths
    assert not any(p.startswith(("ns1/sys/", "ns1/auth/", "sys/", "auth/")) for p in paths), paths
