"""`auditready access`: response wrapping of requests that reach a secret without naming it, of KV writes, and
unwraps known from their response entry only (red team rt54, F1, F3, F7).

Every log here is written by a real OpenBao dev server (the venv's `bao`, `raw_storage_endpoint = true`), driven
over its HTTP API:

- F1: a `sys/raw` read of a secret's storage, a LIST of its folder and a SCAN above it, each asked with
  `X-Vault-Wrap-TTL` and unwrapped by someone else: the one who unwrapped received the secret (or its name) and
  was left out, while the wrapper, who got a wrapping token only, was shown as a plain reader.
- F7: the unwrap of a wrapped KV version 2 write received the version metadata, not the secret: it was shown as
  `unwrap`, like one that received the value.
- F3: with a hop that dropped an unwrap's request entry, its response entry (which names who unwrapped, the token
  unwrapped and when) was not counted: the reader was missing, exit 0, nothing said.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests import test_blind_access_round3 as round3
from tests._native_runs import completed
from tests.conftest import assert_no_secret, remember_secret, server_from_hcl

HCL = ('raw_storage_endpoint = true\n'
       'audit "file" "main" {\n  options {\n    file_path = "/var/log/audit.log"\n  }\n}\n')
VALUE = "rawvalue-" + "q" * 24


def access(*args: str) -> subprocess.CompletedProcess[str]:
    return completed(["access", *args])  # a fork of the verify server (tests/_native_runs.py)


class Api(round3.Api):
    """round3's API client, with wrapping and unwrapping."""

    def wrapped(self, token: str, method: str, path: str, body: Any = None) -> str:
        r = self.call(token, method, path, body, wrap="300s")
        assert r.status_code == 200, r.text
        return remember_secret(str(r.json()["wrap_info"]["token"]))

    def unwrap(self, token: str, wrapping: str) -> dict[str, Any]:
        r = self.call(token, "POST", "sys/wrapping/unwrap", {"token": wrapping})
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("wrapped-reach")
    server = server_from_hcl(folder, HCL)
    try:
        server.start()
        remember_secret(server.root_token)
        api = Api(server)
        root = api.root
        for name, text in (
            ("rawr", 'path "sys/raw/*" { capabilities = ["read", "list", "sudo"] }'),
            ("lister", 'path "kv1/*" { capabilities = ["list", "scan"] }\n'
                       'path "secret/data/app/*" { capabilities = ["read"] }'),
        ):
            assert api.call(root, "PUT", f"sys/policies/acl/{name}", {"policy": text}).status_code == 204
        assert api.call(root, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}).ok
        assert api.call(root, "POST", "kv1/app/db", {"password": remember_secret(VALUE)}).ok
        assert api.call(root, "POST", "kv1/other/x", {"password": "other-" + "w" * 20}).ok
        uuid = api.call(root, "GET", "sys/mounts").json()["data"]["kv1/"]["uuid"]
        ops, alice = api.token("ops", ["rawr"]), api.token("alice", ["lister"])
        mallory, bob, carol = api.token("mallory", ["default"]), api.token("bob", ["default"]), \
            api.token("carol", ["default"])
        # F1: a wrapped sys/raw read of kv1/app/db's storage, unwrapped by alice: she receives the value
        got = api.unwrap(alice, api.wrapped(ops, "GET", f"sys/raw/logical/{uuid}/app/db"))
        assert VALUE in json.dumps(got), got
        # F1: a wrapped list of kv1/app/ by alice, unwrapped by mallory (the names); a wrapped scan of kv1/ by
        # alice, unwrapped by bob (every name below)
        assert api.unwrap(mallory, api.wrapped(alice, "LIST", "kv1/app"))["data"]["keys"] == ["db"]
        assert "app/db" in api.unwrap(bob, api.wrapped(alice, "SCAN", "kv1/"))["data"]["keys"]
        # none of kv1/app/db's: a wrapped list of kv1/other/, unwrapped by carol
        assert api.unwrap(carol, api.wrapped(alice, "LIST", "kv1/other"))["data"]["keys"] == ["x"]
        # F7: a wrapped KV version 2 write, unwrapped by carol (version metadata), and a wrapped read, by mallory
        w = api.wrapped(root, "POST", "secret/data/app/db", {"data": {"k": remember_secret("kv2-" + "z" * 24)}})
        meta = api.unwrap(carol, w)
        assert meta["data"].get("version") == 1 and "kv2-" not in json.dumps(meta), meta
        assert "kv2-" in json.dumps(api.unwrap(mallory, api.wrapped(alice, "GET", "secret/data/app/db")))
        server.settle()
        log = folder / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
    finally:
        server.stop()
    yield log


def ops_of(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(i["display_name"], op): (c["requests"], c["denied"])
            for i in doc["identities"] for op, c in i["operations"].items()}


def ask(pattern: str, log: Path) -> tuple[int, dict[str, Any], str]:
    proc = access(pattern, str(log), "--json", "-")
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


RAW = "everything the vault stores"


def test_whoever_unwraps_a_request_that_reached_the_secret_unnamed_saw_it(real_log: Path) -> None:
    code, doc, err = ask("kv1/app/db", real_log)
    assert code == 0 and not err, err
    assert ops_of(doc) == {
        ("token", "create"): (1, 0),  # the root token's write
        ("token-ops", "read (wrapped)"): (1, 0), ("token-alice", "unwrap"): (1, 0),  # sys/raw
        ("token-alice", "list (wrapped)"): (1, 0), ("token-mallory", "unwrap"): (1, 0),  # list of kv1/app/
        ("token-alice", "scan (wrapped)"): (1, 0), ("token-bob", "unwrap"): (1, 0),  # scan of kv1/
    }, ops_of(doc)  # carol's unwrap of the list of kv1/other/ is none of kv1/app/db's
    scopes = {i["display_name"]: set(i["scopes"]) for i in doc["identities"]}
    assert any(s.startswith(RAW) for s in scopes["token-alice"]), scopes
    assert any(s.startswith("wrapped: " + RAW) for s in scopes["token-ops"]), scopes
    assert any("the names in kv1/app/" in s and not s.startswith("wrapped") for s in scopes["token-mallory"])
    assert any("below kv1/" in s and not s.startswith("wrapped") for s in scopes["token-bob"]), scopes
    # the wrappers got wrapping tokens: what they reached is theirs as wrapped, not as seen
    assert {i["display_name"]: i["unnamed"] for i in doc["identities"]} == {
        "token": 0, "token-ops": 0, "token-alice": 1, "token-mallory": 1, "token-bob": 1}
    table = access("kv1/app/db", str(real_log)).stdout
    assert "token-ops had wrapped, for whoever unwrapped it, everything the vault stores" in table, table
    assert "token-alice saw everything the vault stores" in table, table
    assert_no_secret(table + json.dumps(doc))


def test_a_raw_read_unwrapped_counts_for_every_pattern_as_the_raw_read_does(real_log: Path) -> None:
    code, doc, _ = ask("secret/data/nothing/here", real_log)
    assert code == 0
    assert ops_of(doc) == {("token-ops", "read (wrapped)"): (1, 0), ("token-alice", "unwrap"): (1, 0)}, ops_of(doc)


def test_the_unwrap_of_a_wrapped_kv_write_is_no_read_of_the_value(real_log: Path) -> None:
    code, doc, _ = ask("secret/data/app/db", real_log)
    assert code == 0
    assert ops_of(doc) == {("token", "create (wrapped)"): (1, 0), ("token-carol", "unwrap (of create)"): (1, 0),
                           ("token-alice", "read (wrapped)"): (1, 0), ("token-mallory", "unwrap"): (1, 0),
                           ("token-ops", "read (wrapped)"): (1, 0), ("token-alice", "unwrap"): (1, 0)}, ops_of(doc)
    # who received the value: mallory (and alice, through the sys/raw read of every secret), never carol
    receivers = {i["display_name"] for i in doc["identities"] if "unwrap" in i["operations"]}
    assert receivers == {"token-mallory", "token-alice"}, receivers


def _cut(log: Path, out: Path, drop: Any) -> Path:
    lines = log.read_bytes().splitlines()
    kept = [ln for ln in lines if not drop(json.loads(ln))]
    assert len(kept) < len(lines)
    out.write_bytes(b"\n".join(kept) + b"\n")
    out.chmod(0o600)
    return out


def _unwrap_request(e: dict[str, Any]) -> bool:
    return e["type"] == "request" and e["request"]["path"] == "sys/wrapping/unwrap"


@pytest.mark.parametrize("pattern", ["kv1/app/db", "secret/data/app/db"])
def test_an_unwrap_whose_request_entry_was_dropped_counts_from_its_response(real_log: Path, tmp_path: Path,
                                                                           pattern: str) -> None:
    code, whole, err = ask(pattern, real_log)
    assert code == 0 and whole["counted_from_response"] == 0 and not err
    cut = _cut(real_log, tmp_path / "cut.log", _unwrap_request)
    code, doc, err = ask(pattern, cut)
    assert code == 1, err
    assert ops_of(doc) == ops_of(whole)  # the same readers, the same operations
    unwraps = sum(c["requests"] for i in whole["identities"] for op, c in i["operations"].items()
                  if op.startswith("unwrap"))
    assert unwraps and doc["counted_from_response"] == unwraps, doc
    assert f"{unwraps} matching requests are counted from their response entry" in err, err
    assert doc["unwraps_not_attributed"]["count"] == 0


def test_a_dropped_unwrap_request_of_another_secret_changes_nothing(real_log: Path, tmp_path: Path) -> None:
    """Only carol's unwrap of the list of kv1/other/ lost its request entry: no reader of kv1/app/db is added."""
    lines = [json.loads(x) for x in real_log.read_text().splitlines()]
    other = next(e["response"]["wrap_info"]["token"] for e in lines if e["type"] == "response"
                 and e["request"]["path"] == "kv1/other/")
    cut = _cut(real_log, tmp_path / "cut.log",
               lambda e: _unwrap_request(e) and e["request"].get("data", {}).get("token") == other)
    assert ask("kv1/app/db", cut)[1]["identities"] == ask("kv1/app/db", real_log)[1]["identities"]
    code, doc, err = ask("kv1/other/x", cut)
    assert code == 1 and ("token-carol", "unwrap") in ops_of(doc), (ops_of(doc), err)
