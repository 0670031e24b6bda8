"""`auditready access` and what the `bao kv` commands leave in the log (red team rt54, F2, F4).

Every log here is written by a real OpenBao dev server (the venv's `bao`), driven by the `bao` command line itself:

- F2: `bao kv get secret/app/db` first asks `sys/internal/ui/mounts/secret/app/db` which mount holds the path; a
  token with no capability on it is refused there, and the command stops: the refusal was the attempt's only trace,
  and the answer said "0 requests". It is now a denied `mount lookup` of the path, also when PATTERN names it as
  the API path of a KV version 2 mount (`secret/data/app/db`); an allowed lookup is none (its read follows).
- F4: the "did you mean data/" hint looked after the first segment only: a KV version 2 mount at `kv/team/`, or
  one in namespace `team-b` (`team-b/secret/db` is logged as `team-b/secret/data/db`), left "nobody" standing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from pytest_auditready.vault.embedded import EmbeddedServer, find_bao
from tests._native_runs import completed
from tests.conftest import assert_no_secret, remember_secret


def access(*args: str) -> subprocess.CompletedProcess[str]:
    return completed(["access", *args])  # a fork of the verify server (tests/_native_runs.py)


def kv(server: EmbeddedServer, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(BAO_ADDR=server.url, BAO_TOKEN=token, HOME=str(server.workdir))
    return subprocess.run([find_bao(), "kv", *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with EmbeddedServer() as server:
        root = remember_secret(server.root_token)

        def call(method: str, path: str, body: Any = None, ns: str = "") -> requests.Response:
            headers = {"X-Vault-Token": root, **({"X-Vault-Namespace": ns} if ns else {})}
            return requests.request(method, f"{server.url}/v1/{path}", headers=headers, json=body, timeout=5)

        def token(name: str, policies: list[str]) -> str:
            r = call("POST", "auth/token/create", {"policies": policies, "display_name": name})
            assert r.status_code == 200, r.text
            return remember_secret(str(r.json()["auth"]["client_token"]))

        assert call("PUT", "sys/policies/acl/app-read",
                    {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'}).status_code == 204
        assert call("POST", "sys/mounts/kv/team", {"type": "kv", "options": {"version": "2"}}).ok
        assert call("POST", "sys/namespaces/team-b").ok
        assert call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, ns="team-b").ok
        alice, mallory = token("alice", ["app-read"]), token("mallory", ["default"])
        value = remember_secret("kvcmd-" + "m" * 24)
        for args in (("put", "secret/app/db", f"k={value}"), ("put", "kv/team/db", f"k={value}"),
                     ("get", "kv/team/db"), ("put", "-namespace=team-b", "secret/db", f"k={value}"),
                     ("get", "-namespace=team-b", "secret/db")):
            r = kv(server, root, *args)
            assert r.returncode == 0, (args, r.stderr)
        r = kv(server, alice, "get", "secret/app/db")
        assert r.returncode == 0 and value in r.stdout, r.stderr
        for path in ("secret/app/db", "secret/other/x"):  # refused at the mount lookup: the command stops there
            r = kv(server, mallory, "get", path)
            assert r.returncode != 0 and "403" in r.stderr, r.stderr
        server.settle()
        log = tmp_path_factory.mktemp("kv-commands") / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
    yield log


def entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines() if x.strip()]


def ask(pattern: str, log: Path) -> tuple[int, dict[str, Any], str]:
    proc = access(pattern, str(log), "--json", "-")
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def ops_of(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(i["display_name"], op): (c["requests"], c["denied"])
            for i in doc["identities"] for op, c in i["operations"].items()}


def test_the_log_holds_what_the_commands_did(real_log: Path) -> None:
    """The premises, from the raw lines: mallory's only entries on her attempts are refused mount lookups (the
    error on the response entry only), and no request of hers names the secret."""
    es = entries(real_log)
    mallory = [e for e in es if e.get("auth", {}).get("display_name") == "token-mallory"]
    lookups = [e for e in mallory if e["request"]["path"].startswith("sys/internal/ui/mounts/")]
    assert {e["request"]["path"] for e in lookups} == {"sys/internal/ui/mounts/secret/app/db",
                                                       "sys/internal/ui/mounts/secret/other/x"}
    assert all(e.get("error") for e in lookups if e["type"] == "response"), lookups
    assert not any(e["request"]["path"].startswith("secret/") for e in mallory)
    alice = [e for e in es if e.get("auth", {}).get("display_name") == "token-alice" and e["type"] == "request"]
    assert [e["request"]["path"] for e in alice] == ["sys/internal/ui/mounts/secret/app/db", "secret/data/app/db"]


def test_a_kv_command_refused_at_its_mount_lookup_is_a_denied_attempt(real_log: Path) -> None:
    code, doc, err = ask("secret/data/app/db", real_log)
    assert code == 0 and not err, err
    assert ops_of(doc) == {("token", "create"): (1, 0), ("token-alice", "read"): (1, 0),
                           ("token-mallory", "mount lookup"): (1, 1)}, ops_of(doc)
    (mallory,) = [i for i in doc["identities"] if i["display_name"] == "token-mallory"]
    assert mallory["paths"] == {"secret/app/db": 1}  # the path the command named
    assert (doc["requests"], doc["denied"]) == (3, 1)
    for pattern in ("secret/app/db", "secret/+/app/db", "secret/*"):
        assert ("token-mallory", "mount lookup") in ops_of(ask(pattern, real_log)[1]), pattern
    # her other attempt is on another path; alice's allowed lookup is no request of its own
    assert ops_of(ask("secret/data/other/x", real_log)[1]) == {("token-mallory", "mount lookup"): (1, 1)}
    assert ops_of(ask("secret/data/app/*", real_log)[1]) == ops_of(doc)
    assert_no_secret(json.dumps(doc) + access("secret/data/app/db", str(real_log)).stdout)


def test_refused_lookups_do_not_hide_the_kv2_hint(real_log: Path) -> None:
    """Asked by the command-line path, the answer holds mallory's refused lookup, and still says where the reads
    are logged: a lookup names the path as given, not as the vault logs its requests."""
    code, doc, err = ask("secret/app/db", real_log)
    assert code == 0 and ops_of(doc) == {("token-mallory", "mount lookup"): (1, 1)}, ops_of(doc)
    assert doc["kv2"] == {"pattern": "secret/data/app/db", "requests": 2}, doc.get("kv2")  # (not the lookup)
    assert "fix: ask for secret/data/app/db" in err, err


@pytest.mark.parametrize(("asked", "near"), [("kv/team/db", "kv/team/data/db"),
                                             ("team-b/secret/db", "team-b/secret/data/db")])
def test_the_kv2_hint_finds_the_mount_past_its_first_segment(real_log: Path, asked: str, near: str) -> None:
    want = sum(1 for e in entries(real_log) if e["type"] == "request"
               and (e["request"].get("namespace", {}).get("path", "") + e["request"]["path"]) == near)
    assert want == 2  # the put and the get
    code, doc, err = ask(asked, real_log)
    assert code == 0 and doc["requests"] == 0
    assert doc["kv2"] == {"pattern": near, "requests": want}, doc.get("kv2")
    assert f"no request named {asked}, but {want} named {near}" in err and f"fix: ask for {near}" in err, err
    code, doc, err = ask(near, real_log)
    assert code == 0 and doc["requests"] == want and "kv2" not in doc and not err


@pytest.mark.parametrize("asked", ["kv/team/none", "team-b/secret/none", "kv/team/data/db2", "nomount/x/y"])
def test_no_kv2_hint_where_no_api_path_holds_it_either(real_log: Path, asked: str) -> None:
    code, doc, err = ask(asked, real_log)
    assert doc["requests"] == 0 and "kv2" not in doc and "KV version 2" not in err, err
    # a mount no path of the log names: said, exit 1 (red team rt94, F6: tests/test_access_unseen_rt94.py)
    assert code == (1 if asked.startswith("nomount/") else 0), err
    assert ("pattern_unseen" in doc) == asked.startswith("nomount/")
