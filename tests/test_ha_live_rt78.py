"""A live run against a real 2-node OpenBao raft cluster (red team rt78, F1, F5, F6): a standby serves reads from
its own copy of the storage (OpenBao's default, disable_standby_reads = false), so a read right after a write may
not see it. The run sends back the newest X-Vault-Index the cluster gave it, with X-Vault-Inconsistent:
forward-active-node, on every later request of every identity (OpenBao's "Eventual consistency" page): a run
against a standby passes and leaves nothing in the cluster, the vault's HA facts are recorded, and the refusals
that HA causes name it.

The cluster is built by the module's fixture on loopback as OpenBao documents it (storage "raft", retry_join, one
init, an unseal on each node), each node started in its own folder so that the audit stanza, which every node must
declare alike, writes each node's own log/audit.log."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from pytest_auditready.auditlog.model import AccessLedger
from pytest_auditready.vault.client import VaultClient, _Pool
from pytest_auditready.vault.embedded import EmbeddedServer, _popen, child_env, find_bao
from pytest_auditready.vault.scenario import (
    ActionSpec,
    Runner,
    ScenarioError,
    add_builtin_actions,
    new_plan,
    new_run_id,
)
from tests.auditrun import SECRET_RECORDER
from tests.conftest import remember_secret, write_config

pytestmark = pytest.mark.vault

POLICY = (Path(__file__).resolve().parents[1] / "examples" / "auditready-policy.hcl").read_text()


def _ha(cluster: "Cluster", is_self: bool, audit_token: bool) -> dict[str, Any]:
    """facts.ha as a run with the audit token (or the root token) should record it: every node where the token may
    read sys/ha-status, else the active node and the refusal."""
    active = cluster.active().url
    if audit_token and 'path "sys/ha-status"' not in POLICY:
        return {"enabled": True, "is_self": is_self, "leader": active, "nodes": [active],
                "nodes_error": "sys/ha-status answered 403: permission denied"}
    return {"enabled": True, "is_self": is_self, "leader": active, "nodes": sorted(n.url for n in cluster.nodes)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str, method: str, path: str, token: str = "", body: Any = None,
         timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """One request as the vault CLI sends it, with no index header: the fixture's and the checks' own view."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, "/v1/" + path, body=None if body is None else json.dumps(body),
                     headers={"X-Vault-Token": token} if token else {})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {}
    return resp.status, parsed if isinstance(parsed, dict) else {}


def _until(what: str, check: Callable[[], Any], within: float = 30.0) -> Any:
    """``check()``'s first true answer, asked until ``within`` seconds have passed (a node that is not up yet
    refuses the connection)."""
    ends = time.monotonic() + within
    while time.monotonic() < ends:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {within:g} s")


@dataclass
class Node:
    folder: Path
    url: str
    proc: Optional["subprocess.Popen[bytes]"] = None

    @property
    def log(self) -> Path:
        return self.folder / "log" / "audit.log"

    def start(self) -> None:
        with open(self.folder / "server.out", "ab") as out:
            self.proc = _popen([find_bao(), "server", f"-config={self.folder / 'config.hcl'}"], cwd=self.folder,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               env=child_env(self.folder), start_new_session=True)
        _until(f"{self.url} listening", lambda: _api(self.url, "GET", "sys/seal-status")[0] == 200)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Cluster:
    nodes: list[Node]
    # (the unseal key and tokens kept out of the repr, which pytest prints of a failing test's fixture)
    key: str = field(default="", repr=False)
    root: str = field(default="", repr=False)
    audit: str = field(default="", repr=False)  # a token of examples/auditready-policy.hcl (as docs/own-vault.md
    # makes one)
    tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def leader(self, node: Node) -> dict[str, Any]:
        return _api(node.url, "GET", "sys/leader")[1]

    def active(self) -> Node:
        return next(n for n in self.nodes if self.leader(n).get("is_self") is True)

    def standby(self) -> Node:
        return next(n for n in self.nodes if self.leader(n).get("is_self") is False)

    def unseal(self, node: Node) -> None:
        _until(f"{node.url} unsealed",
               lambda: _api(node.url, "PUT", "sys/unseal", body={"key": self.key})[1].get("sealed") is False)

    def settled(self) -> None:
        """Until one node is active and every other one a standby that names it, knows the audit token and serves
        the KV mount (a standby answers 400 until it has seen the new mount's upgrade to KV v2)."""
        def ready() -> bool:
            views = [self.leader(n) for n in self.nodes]
            actives = [n.url for n, v in zip(self.nodes, views) if v.get("is_self") is True]
            return len(actives) == 1 and all(v.get("leader_address") == actives[0] for v in views) and all(
                _api(n.url, "GET", "sys/mounts/secret", self.audit)[0] == 200
                and _api(n.url, "GET", "secret/data/ha-rt78-settled", self.root)[0] == 404 for n in self.nodes)
        _until("one active node, the others its standbys", ready, within=60)


def _config(node: int, api: int, cluster: int, join: int) -> str:
    retry = f'  retry_join {{ leader_api_addr = "http://127.0.0.1:{join}" }}\n' if join != api else ""
    # performance_multiplier = 1: raft's timeouts as on a production network (the default, 5, is for slow
    # machines), so that an election after a node's restart takes seconds, not half a minute
    return (f'storage "raft" {{\n  path = "data"\n  node_id = "node{node}"\n  performance_multiplier = 1\n'
            f'{retry}}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{api}"\n  cluster_address = "127.0.0.1:{cluster}"\n'
            '  tls_disable = true\n}\n'
            f'api_addr = "http://127.0.0.1:{api}"\ncluster_addr = "http://127.0.0.1:{cluster}"\n'
            'disable_mlock = true\n'
            # every node must declare the same devices (OpenBao refuses a node whose device options differ): a
            # relative path, each node started in its own folder, is each node's own file
            'audit "file" "file" {\n  options {\n    file_path = "log/audit.log"\n    mode = "0600"\n  }\n}\n')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two raft nodes on loopback: node 1 initialised and unsealed, node 2 joined to it (retry_join) and
    unsealed; a KV v2 mount at secret/; the audit token. Both nodes are stopped at the end."""
    root = tmp_path_factory.mktemp("ha")
    ports = [_free_port() for _ in range(4)]
    nodes = []
    for i in range(2):
        folder = root / f"n{i + 1}"
        (folder / "log").mkdir(parents=True)
        (folder / "data").mkdir()
        (folder / "config.hcl").write_text(_config(i + 1, ports[2 * i], ports[2 * i + 1], ports[0]))
        nodes.append(Node(folder, f"http://127.0.0.1:{ports[2 * i]}"))
    c = Cluster(nodes)
    try:
        first, second = nodes
        first.start()
        _, init = _api(first.url, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 1}, timeout=60)
        c.key, c.root = init["keys_base64"][0], remember_secret(init["root_token"])
        c.unseal(first)
        _until("node 1 active", lambda: c.leader(first).get("is_self") is True, within=60)
        second.start()
        c.unseal(second)
        # node 2 joins as a non-voter; autopilot makes it a voter once stable (1 s here, 10 s by default). Only then
        # is a write committed after node 2 has it, and node 2 learns of the commit with the leader's next message
        # (raft's commit timeout, 50 ms): a read it serves right after a write is stale every time, as on the red
        # team's 3-node cluster (a non-voter hears of each entry already committed)
        assert _api(first.url, "POST", "sys/storage/raft/autopilot/configuration", c.root,
                    {"server_stabilization_time": "1s"})[0] == 204
        _until("node 2 a voter", lambda: all(s["voter"] for s in _api(
            first.url, "GET", "sys/storage/raft/configuration", c.root)[1]["data"]["config"]["servers"]), within=60)
        assert _api(first.url, "POST", "sys/mounts/secret", c.root, {"type": "kv", "options": {"version": "2"}})[0] \
            == 204
        assert _api(first.url, "PUT", "sys/policies/acl/auditready", c.root, {"policy": POLICY})[0] == 204
        _, made = _api(first.url, "POST", "auth/token/create", c.root, {"policies": ["auditready"], "ttl": "1h"})
        c.audit = remember_secret(made["auth"]["client_token"])
        c.settled()
        yield c
    finally:
        for n in nodes:
            n.stop()


def _left(active: Node, token: str, run_id: str) -> list[str]:
    """What of the run ``run_id`` the active node holds: canaries, policies, tokens (asked without any index)."""
    _, canaries = _api(active.url, "LIST", "secret/metadata/auditready", token)
    found = [f"canary {k}" for k in (canaries.get("data") or {}).get("keys", []) if run_id in k]
    _, policies = _api(active.url, "LIST", "sys/policies/acl", token)
    found += [f"policy {p}" for p in (policies.get("data") or {}).get("keys", []) if run_id in p]
    _, accessors = _api(active.url, "LIST", "auth/token/accessors", token)
    for acc in (accessors.get("data") or {}).get("keys", []):
        _, meta = _api(active.url, "POST", "auth/token/lookup-accessor", token, {"accessor": acc})
        if run_id in str((meta.get("data") or {}).get("display_name", "")):
            found.append(f"token {(meta.get('data') or {}).get('display_name')}")
    return found


def test_a_run_against_a_standby_passes_and_leaves_nothing(
    pytester: pytest.Pytester, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F1: the run against a standby, every node's log read (a log_command following both files: reads a standby
    serves are logged in its own file). It used to stop at read-allowed-c1 (404: the standby had not applied the
    create 3 ms before), blame the reader's policy, and leave its canary in the cluster (clean-up's delete was
    answered by the stale standby, never forwarded). Now it passes with every check, and the active node holds
    nothing of it. The evidence names the vault's HA facts (F5)."""
    active, standby = cluster.active(), cluster.standby()
    monkeypatch.setenv("VAULT_TOKEN", cluster.audit)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    write_config(pytester, log_wait=5.0)
    pytester.makeconftest(SECRET_RECORDER)
    evidence = pytester.path / "evidence"
    result = pytester.runpytest(
        "--auditready", f"--auditready-target={standby.url}", "-p", "no:cacheprovider",
        f"--auditready-log-command=tail -q -F -n 20 {cluster.nodes[0].log} {cluster.nodes[1].log}",
        f"--auditready-evidence={evidence}")
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    assert " failed" not in out.splitlines()[-1] and "could NOT remove" not in out
    doc = json.loads((evidence / "evidence.json").read_text())
    assert _left(active, cluster.root, doc["run"]["id"]) == []
    assert doc["vault"]["ha"] == _ha(cluster, is_self=False, audit_token=True)


def test_every_identity_reads_the_runs_writes_through_a_standby(cluster: Cluster) -> None:
    """F1 at the client: a KV write through the standby, then at once a read, a delete and its check-up through
    it, each identity's client sharing the index. The read sees the write, the delete reaches the active node.
    The index is OpenBao's own (base64 JSON of its cluster and storage index), sent back as it came."""
    active, standby = cluster.active(), cluster.standby()
    admin = VaultClient(standby.url, cluster.root, timeout=10)
    try:
        path = f"secret/data/ha-rt78/{new_run_id()}"
        meta = path.replace("/data/", "/metadata/", 1)
        wrote = admin.call("POST", path, {"data": {"value": "x"}})
        reader = admin.with_token(cluster.root)  # another identity's client: the same run, the same index
        read = reader.call("GET", path)
        assert wrote.ok and read.status == 200 and read.data["data"] == {"value": "x"}
        assert admin.call("DELETE", meta).status == 204
        assert admin.call("GET", meta).status == 404
        assert not wrote.index_sent and read.index_sent  # the first write had no index to send: the vault gave it
        index = json.loads(base64.b64decode(admin.consistency_index))
        assert set(index) == {"cluster", "value"} and index["value"].isdigit()
    finally:
        admin.close()
    assert _api(active.url, "GET", meta, cluster.root)[0] == 404  # gone from the active node too


def _openbao_index(cluster: str, value: str) -> str:
    return base64.b64encode(json.dumps({"cluster": cluster, "value": value}).encode()).decode()


def test_only_openbaos_index_is_kept_and_the_newest_of_a_cluster_wins() -> None:
    """The index kept is OpenBao's (base64 JSON of its cluster and storage index, as the cluster above gives it): an
    older one of the same cluster (a node that answers from before the run's newest write) does not replace it, one
    of another cluster does (the later answer's). Any other value is never sent back: Vault Enterprise's index is
    another format, and HashiCorp Vault answers 400 to the forwarding header unless its replication stanza allows
    it."""
    pool = _Pool(None)
    for value in ("", "not base64!", base64.b64encode(b"v1:cluster:12:34:hmac").decode(),
                  _openbao_index("c1", "12a"), _openbao_index("c1", "\u00b2"), "x" * 5000):
        pool.note_index(value)
        assert pool.index == "", value
    pool.note_index(_openbao_index("c1", "608"))
    pool.note_index(_openbao_index("c1", "607"))
    assert pool.index == _openbao_index("c1", "608")
    pool.note_index(_openbao_index("c1", "617"))
    assert pool.index == _openbao_index("c1", "617")
    pool.note_index(_openbao_index("c2", "3"))
    assert pool.index == _openbao_index("c2", "3")


def test_a_vault_that_gives_no_index_is_sent_none(tmp_path: Path) -> None:
    """A server with no HA storage index (a -dev server, HashiCorp Vault) gives no X-Vault-Index: the client sends
    no consistency header, and the facts say no HA (sys/leader: ha_enabled false)."""
    with EmbeddedServer() as server:
        remember_secret(server.root_token)
        client = VaultClient(server.url, server.root_token, timeout=5)
        try:
            assert client.call("POST", "secret/data/ha-rt78/x", {"data": {"value": "x"}}).ok
            read = client.call("GET", "secret/data/ha-rt78/x")
            assert read.ok and not read.index_sent and client.consistency_index == ""
            runner = _runner(client)
            runner.preflight()
            assert runner.facts.ha == {}
        finally:
            client.close()


def _runner(admin: VaultClient) -> Runner:
    plan = new_plan(run_id=new_run_id(), kv_mount="secret", prefix="auditready", canaries=1,
                    unprivileged_policies=("default",), token_ttl="5m")
    add_builtin_actions(plan)
    return Runner(plan, admin, AccessLedger(plan.run_id, admin.url))


def test_the_facts_name_the_cluster_as_each_node_sees_it(cluster: Cluster) -> None:
    """F5: facts.ha from sys/leader (unauthenticated) and sys/ha-status (where the audit token may: the example
    policy does not grant it, and the refusal is said)."""
    active, standby = cluster.active(), cluster.standby()
    for url, token, want in (
        (standby.url, cluster.audit, _ha(cluster, is_self=False, audit_token=True)),
        (active.url, cluster.root, _ha(cluster, is_self=True, audit_token=False)),
    ):
        client = VaultClient(url, token, timeout=10)
        try:
            runner = _runner(client)
            runner.preflight()
            assert runner.facts.ha == want
        finally:
            client.close()


class _NoIndex(BaseHTTPRequestHandler):
    """A hop that hands every request to the vault and drops X-Vault-Index from the answers: a vault that gives
    none, as OpenBao did before 2.7 while its standbys already served reads."""

    upstream = ""

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        host, port = self.upstream.rsplit("/", 1)[-1].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request(self.command, self.path, body=body or None,
                         headers={k: v for k, v in self.headers.items() if k.lower().startswith("x-vault-")})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("x-vault-index", "content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_LIST = _relay

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def no_index(cluster: Cluster) -> Iterator[str]:
    """The URL of a hop to the cluster's standby that drops X-Vault-Index."""
    handler = type("Handler", (_NoIndex,), {"upstream": cluster.standby().url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_stale_read_on_a_standby_is_named_as_one(cluster: Cluster, no_index: str) -> None:
    """F1/F6: where a standby answers 404 and the vault gave no index to wait for, the refusal names the likely
    cause (a standby serving reads from a copy that may not yet hold the run's writes) and the active node, before
    the policy text (it used to say only "the reader identity's policy did not take effect ... KV v2 ... Sentinel").
    Where the index was sent back, a 404 is the vault's real answer and is told as before."""
    active = cluster.active()
    client = VaultClient(no_index, cluster.root, timeout=10)
    try:
        runner = _runner(client)
        runner.preflight()
        spec = ActionSpec("read-allowed-c1", "admin", "GET", runner.plan.data_path("c1"), "read")
        with pytest.raises(ScenarioError) as stale:
            runner._call(spec)
    finally:
        client.close()
    assert "answered 404" in stale.value.cause
    assert "HA cluster (the target answered sys/leader as a standby)" in stale.value.cause
    assert "may not yet hold what the run wrote" in stale.value.cause
    assert stale.value.fix.startswith(f"point --auditready-target at the active node ({active.url})")
    assert "if the active node answers so too: the token in VAULT_TOKEN needs" in stale.value.fix

    direct = VaultClient(cluster.standby().url, cluster.root, timeout=10)
    try:
        runner = _runner(direct)
        runner.preflight()
        assert direct.call("POST", "secret/data/ha-rt78/index", {"data": {"value": "x"}}).ok
        with pytest.raises(ScenarioError) as real:
            runner._call(ActionSpec("read-allowed-c1", "admin", "GET", runner.plan.data_path("c1"), "read"))
    finally:
        direct.close()
    assert "answered 404" in real.value.cause and "HA cluster" not in str(real.value)


def test_a_standby_whose_audit_device_fails_is_named(cluster: Cluster) -> None:
    """F6: a node whose audit device cannot write answers every request 500 "internal error" (it fails closed):
    the run's first request says that this is the likeliest cause, and which node (it used to say only "check the
    vault's health"). The standby's file becomes /dev/full (a full disk) and the node reopens it on SIGHUP."""
    standby = cluster.standby()
    assert standby.proc is not None
    held = standby.log.with_name("audit.log.held")
    standby.log.replace(held)
    standby.log.symlink_to("/dev/full")
    try:
        standby.proc.send_signal(signal.SIGHUP)
        _until("the standby failing closed",
               lambda: _api(standby.url, "GET", "auth/token/lookup-self", cluster.audit)[0] == 500)
        client = VaultClient(standby.url, cluster.audit, timeout=10)
        try:
            with pytest.raises(ScenarioError) as failed:
                _runner(client).preflight()
        finally:
            client.close()
    finally:
        standby.log.unlink()
        held.replace(standby.log)
        standby.proc.send_signal(signal.SIGHUP)
        _until("the standby logging again",
               lambda: _api(standby.url, "GET", "auth/token/lookup-self", cluster.audit)[0] == 200)
    assert failed.value.cause == (
        "token lookup answered 500: internal error, which the vault answers above all when none of its audit "
        f"devices could log the request (it fails closed): the node at {standby.url} most likely cannot write its "
        "audit log")
    assert "each node writes its own audit log on its own host" in failed.value.fix


def test_a_step_no_active_node_took_is_not_named_left(cluster: Cluster) -> None:
    """F6: a write a standby answers with 500 "local node not active but active cluster node not found" (the
    cluster has no active node: an election, a lost quorum) reached no active node, so nothing of it was made:
    clean-up neither removes nor names it (it used to name the policy whose write failed so among those it "could
    not remove"), and the fix names the election. Here the standby is restarted while the active node is down (it
    then knows no active node), with a token that may write the run's policies but not read them back, so that no
    check-up can tell; the cluster is restored after."""
    active, standby = cluster.active(), cluster.standby()
    blind = ('path "sys/mounts/secret" { capabilities = ["read"] }\n'
             'path "sys/policies/acl/auditready-*" { capabilities = ["create", "update", "delete"] }\n')
    assert _api(active.url, "PUT", "sys/policies/acl/ha-blind", cluster.root, {"policy": blind})[0] == 204
    _, made = _api(active.url, "POST", "auth/token/create", cluster.root, {"policies": ["ha-blind"], "ttl": "1h"})
    token = remember_secret(made["auth"]["client_token"])
    _until("the standby knows the token", lambda: _api(standby.url, "GET", "auth/token/lookup-self", token)[0] == 200)
    active.stop()
    standby.stop()
    try:
        standby.start()
        cluster.unseal(standby)
        assert "leader_address" not in cluster.leader(standby)
        # just unsealed, a node may still forward reads (CI saw "local node not active but active cluster node not
        # found" on this lookup) until it has set itself up as a standby that serves them from its own storage
        _until("the restarted standby serving reads",
               lambda: _api(standby.url, "GET", "auth/token/lookup-self", token)[0] == 200)
        client = VaultClient(standby.url, token, timeout=10)
        try:
            runner = _runner(client)
            runner.preflight()
            with pytest.raises(ScenarioError) as failed:
                runner.setup()
            runner.teardown()
        finally:
            client.close()
        assert runner.verified and runner.facts.residue == []
        assert [a.name for a in runner.ledger.actions] == ["write-policy-writer"]  # nothing to remove: none sent
        assert "answered 500: local node not active but active cluster node not found" in failed.value.cause
        assert failed.value.fix.startswith("the HA cluster had no active node when the step was sent")
    finally:
        active.start()
        cluster.unseal(active)
        cluster.settled()
