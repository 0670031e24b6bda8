"""Blind-pass cases on Vault/OpenBao audit logs of workloads the scenario does not drive, recorded from a real OpenBao
started here: KV v1 and v2, transit, userpass, tokens, response wrapping, cubbyhole and refused requests, sent by one
keep-alive HTTP/1.1 client (``requests``); and HTTP/2 traffic multiplexed on one connection (``curl --http2
--parallel`` against the dev TLS listener). Each log is verified offline as recorded (no finding) and with one
defect planted at a time (found at its line, by the check whose contract covers it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import requests

from pytest_auditready.auditlog.model import Entries
from pytest_auditready.checks.base import CheckContext
from pytest_auditready.checks.completeness import ALONE, Pairs, in_flight
from pytest_auditready.config import Settings
from pytest_auditready.offline.reader import Block, vault_block, vault_parser
from pytest_auditready.vault.embedded import EmbeddedServer
from tests._native_runs import cli_process, completed
from tests.conftest import remember_secret

pytestmark = pytest.mark.vault

# A log this short lies wholly within completeness_window of its first and last entry: only the connection can tell
# a dropped line from an edge of the log.
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


def _entries(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def workload() -> Iterator[bytes]:
    """The audit log of one keep-alive client's workload on a fresh OpenBao dev server."""
    server = EmbeddedServer()
    server.start()
    try:
        root = remember_secret(server.root_token)
        s = requests.Session()

        def call(method: str, path: str, token: Optional[str] = root, body: Any = None,
                 headers: Optional[dict[str, str]] = None) -> Any:
            h = {} if token is None else {"X-Vault-Token": token}
            h.update(headers or {})
            r = s.request(method, f"{server.url}/v1/{path}", headers=h, json=body, timeout=10)
            return r.json() if r.content else None

        call("POST", "sys/mounts/kv1", body={"type": "kv", "options": {"version": "1"}})
        call("POST", "sys/mounts/transit", body={"type": "transit"})
        call("POST", "sys/auth/userpass", body={"type": "userpass"})
        call("PUT", "kv1/app/db", body={"password": remember_secret(os.urandom(16).hex())})
        call("GET", "kv1/app/db")
        call("LIST", "kv1/app")
        call("POST", "secret/data/app/web", body={"options": {"cas": 0}, "data": {"k": os.urandom(16).hex()}})
        call("PATCH", "secret/data/app/web", body={"data": {"more": "x"}},
             headers={"Content-Type": "application/merge-patch+json"})
        call("GET", "secret/subkeys/app/web")
        call("GET", "secret/data/with space/ünï")
        call("POST", "secret/delete/app/web", body={"versions": [1]})
        call("POST", "secret/undelete/app/web", body={"versions": [1]})
        call("POST", "transit/keys/k1")
        ct = call("POST", "transit/encrypt/k1", body={"plaintext": "aGVsbG8gd29ybGQ="})["data"]["ciphertext"]
        call("POST", "transit/decrypt/k1", body={"ciphertext": ct})
        password = remember_secret("pw-" + os.urandom(12).hex())
        call("POST", "auth/userpass/users/alice", body={"password": password})
        user = remember_secret(call("POST", "auth/userpass/login/alice", token=None,
                                    body={"password": password})["auth"]["client_token"])
        call("POST", "auth/userpass/login/alice", token=None, body={"password": "not-the-password"})
        call("GET", "secret/data/app/web", token=user)  # refused by policy
        call("GET", "auth/token/lookup-self", token=user)
        wrapped = call("GET", "secret/data/app/web", headers={"X-Vault-Wrap-TTL": "60"})
        call("POST", "sys/wrapping/unwrap", token=remember_secret(wrapped["wrap_info"]["token"]))
        # wrapping tokens that do not exist: the vault writes the request entry alone (ALONE)
        call("POST", "sys/wrapping/unwrap", body={"token": "hvs.notawrappingtoken0123456789"})
        call("POST", "sys/wrapping/unwrap", token="not-a-wrapping-token-0123456789")
        call("POST", "cubbyhole/mine", token=user, body={"c": remember_secret(os.urandom(16).hex())})
        call("GET", "cubbyhole/mine", token=user)
        call("POST", "auth/token/revoke-self", token=user)
        call("GET", "sys/mounts")
        call("GET", "auth/token/lookup-self")
        server.settle()
        yield server.log_path.read_bytes()
    finally:
        server.stop()


@pytest.fixture
def verify(tmp_path: Path) -> Callable[[bytes], list[tuple[str, int, str]]]:
    """``auditready verify`` (a child process, as a user runs it) on a log: (check, line, message) of each finding."""
    (tmp_path / "auditready.toml").write_text(CONFIG)

    def run(raw: bytes, pure: bool = False) -> list[tuple[str, int, str]]:
        log = tmp_path / "audit.log"
        log.write_bytes(raw)
        log.chmod(0o600)
        out = tmp_path / "out.json"
        code, stdout, stderr = cli_process(["verify", str(log), "--config", str(tmp_path / "auditready.toml"),
                                            "--json", str(out), "-q"], Path.cwd(), pure)
        assert code in (0, 1), stdout + stderr
        found = []
        for o in json.loads(out.read_text())["outcomes"]:
            for f in o["findings"]:
                where = f.get("where", "")
                found.append((o["check"], int(where.rsplit(":", 1)[1]) if where[-1:].isdigit() else 0, f["message"]))
        return found

    return run


def _pair(entries: list[dict[str, Any]], path: str, k: int = 0) -> tuple[int, int]:
    """The 0-based lines of the request and the response entry of the k-th request on ``path``."""
    reqs = [i for i, e in enumerate(entries) if e["type"] == "request" and e["request"].get("path") == path]
    i = reqs[k]
    rid = entries[i]["request"]["id"]
    j = next(j for j in range(i + 1, len(entries))
             if entries[j]["type"] == "response" and entries[j]["request"].get("id") == rid)
    return i, j


def _without(raw: bytes, *drop: int) -> bytes:
    lines = raw.splitlines(keepends=True)
    return b"".join(line for n, line in enumerate(lines) if n not in drop)


def test_the_recorded_workload_has_no_finding(workload: bytes, verify: Any) -> None:
    """The log as the vault wrote it: every check holds (a false alarm switches the tool off), including the
    request entries OpenBao writes alone for wrapping tokens that do not exist, whose callers have no identity."""
    entries = _entries(workload)
    alone = [e for e in entries if e["request"].get("path") == "sys/wrapping/unwrap" and e.get("error")]
    assert len(alone) == 2 and all(e["type"] == "request" for e in alone)
    assert verify(workload) == []


@pytest.mark.parametrize("path", ["kv1/app/db", "secret/subkeys/app/web", "transit/decrypt/k1",
                                  "auth/userpass/login/alice", "cubbyhole/mine", "sys/wrapping/unwrap"])
def test_a_dropped_response_is_found_at_its_request_line(workload: bytes, verify: Any, path: str) -> None:
    """The whole log lies within completeness_window of its end, so a request without response could be in flight;
    but its connection sent further requests, which HTTP/1.1 sends only after the answer: a hop dropped it."""
    i, j = _pair(_entries(workload), path)
    found = verify(_without(workload, j))
    assert [(c, n) for c, n, _ in found] == [("completeness", i + 1)]
    assert "same connection" in found[0][2]


@pytest.mark.parametrize("path", ["kv1/app/db", "secret/data/app/web", "transit/encrypt/k1",
                                  "auth/token/lookup-self", "auth/token/revoke-self"])
def test_a_dropped_request_is_found_at_its_response_line(workload: bytes, verify: Any, path: str) -> None:
    """Within the log's first window a response without request could follow a request written before the log
    began; but an entry of its connection comes before it in the log, so its request came after that one."""
    i, j = _pair(_entries(workload), path, -1)  # the client's (the first revoke-self is the dev server's own)
    found = verify(_without(workload, i))
    assert [(c, n) for c, n, _ in found] == [("completeness", j)]  # the response moved up one line


def test_a_log_split_inside_a_pair_leaves_its_edges_excused(workload: bytes, verify: Any) -> None:
    """A rotation between a request and its response: the first file ends with a request in flight, the second
    starts with a response whose request is in the first, and no entry of that connection is on the wrong side."""
    lines = workload.splitlines(keepends=True)
    i, j = _pair(_entries(workload), "transit/decrypt/k1")
    assert j == i + 1
    assert verify(b"".join(lines[: i + 1])) == []
    assert verify(b"".join(lines[j:])) == []


def test_a_response_without_its_time_is_found_once_at_its_line(workload: bytes, verify: Any) -> None:
    """An entry whose time a hop mangled is the finding, at its line; its partner is paired by request id, not
    reported as having lost its response."""
    lines = workload.splitlines(keepends=True)
    _, j = _pair(_entries(workload), "kv1/app/db")
    e = json.loads(lines[j])
    e["time"] = e["time"][:20] + "Z"  # "...:SS.Z"
    lines[j] = (json.dumps(e) + "\n").encode()
    found = verify(b"".join(lines))
    assert found and {(c, n) for c, n, _ in found} == {("timestamp_precision", j + 1)}


def test_a_request_written_alone_is_no_finding_however_late_the_log_goes_on(workload: bytes, verify: Any) -> None:
    """The request entries of the wrapping tokens that do not exist, 200 s before the rest of the log (an idle
    client): past completeness_window too, the vault writes no response for them."""
    entries = _entries(workload)
    alone = [i for i, e in enumerate(entries) if e["request"].get("path") == "sys/wrapping/unwrap" and e.get("error")]
    out = []
    for n, e in enumerate(entries):
        if n <= alone[-1]:
            e["time"] = _later(e["time"], -200)
        out.append(json.dumps(e, separators=(",", ":")) + "\n")
    assert verify("".join(out).encode()) == []


def _later(stamp: str, seconds: int) -> str:
    head, frac = stamp[:19], stamp[19:]
    t = time.strptime(head, "%Y-%m-%dT%H:%M:%S")
    import calendar

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(calendar.timegm(t) + seconds)) + frac


# -- HTTP/2: requests multiplexed on one connection ------------------------------------------------------------


@pytest.fixture(scope="module")
def multiplexed() -> Iterator[bytes]:
    """The audit log of an RSA-4096 transit key made while 12 reads go by, all multiplexed by curl over one HTTP/2
    connection to the dev TLS listener (the key takes the server long enough for the reads to overlap it)."""
    curl = shutil.which("curl")
    if curl is None or b"HTTP2" not in subprocess.run([curl, "--version"], capture_output=True, timeout=10).stdout:
        pytest.skip("needs curl with HTTP/2")
    server = EmbeddedServer(tls=True)
    server.start()
    try:
        root = remember_secret(server.root_token)
        assert server.ca_file is not None and server.workdir is not None
        h = {"X-Vault-Token": root}
        requests.post(f"{server.url}/v1/sys/mounts/transit", headers=h, json={"type": "transit"}, timeout=10,
                      verify=str(server.ca_file))
        for n in range(3):
            requests.post(f"{server.url}/v1/secret/data/h2/k{n}", headers=h, json={"data": {"v": str(n)}},
                          timeout=10, verify=str(server.ca_file))
        each = f'header = "X-Vault-Token: {root}"\noutput = "/dev/null"\ncacert = "{server.ca_file}"\nhttp2\n'
        cfg = server.workdir / "curl.cfg"
        cfg.write_text(each + f'url = "{server.url}/v1/transit/keys/slow"\nrequest = "POST"\n'
                       'data = "{\\"type\\":\\"rsa-4096\\"}"\n'
                       + "".join(f'next\n{each}url = "{server.url}/v1/secret/data/h2/k{n % 3}"\n' for n in range(12)))
        subprocess.run([curl, "-sS", "--parallel", "--parallel-max", "20", "-K", str(cfg)], capture_output=True,
                       timeout=60, check=True)
        server.settle()
        yield server.log_path.read_bytes()
    finally:
        server.stop()


def test_a_multiplexed_connection_tells_nothing(multiplexed: bytes, verify: Any) -> None:
    """HTTP/2 serves a connection's requests at once: there a request without response may still be in flight at the
    end of the log while later ones come and go, so once the connection is seen doing so, a request left without
    response on it stays excused (as at the edges of any log); the log as recorded has no finding."""
    entries = _entries(multiplexed)
    slow, slow_answer = _pair(entries, "transit/keys/slow")
    reads = [i for i in range(slow + 1, slow_answer) if entries[i]["type"] == "response"
             and entries[i]["request"]["remote_port"] == entries[slow]["request"]["remote_port"]]
    assert reads, "no read was answered on the key's connection while the key was made"
    assert verify(multiplexed) == []
    assert verify(_without(multiplexed, reads[-1])) == []


# -- the same findings however the log is read --------------------------------------------------------------


def _records(raw: bytes) -> Any:
    parse = vault_parser("audit.log")
    return [parse(n, line) for n, line in enumerate(raw.splitlines(), 1)]


def _feed_ranges(raw: bytes, cuts: list[int], columns: bool) -> Pairs:
    """Pairs fed ``raw`` in ranges cut before the given lines, each range by its own visitor merged into the one
    before (as ``auditready verify --jobs N`` reads a large file); by column batches or by records."""
    ctx = CheckContext(settings=Settings(), ledger=None, entries=[], bad_lines=[], secrets={})
    lines = raw.splitlines()
    bounds = [0, *cuts, len(lines)]
    merged: Optional[Pairs] = None
    decode = vault_block("audit.log")
    recs = _records(raw)
    for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
        v = Pairs(ctx)
        if k:
            v.later_range()
        if columns:
            batch = decode(Block(a + 1, b"\n".join(lines[a:b])))
            assert batch is not None
            v.entries(batch)
        else:
            v.entries(Entries.of(recs[a:b]))
        if merged is None:
            merged = v
        else:
            merged.merge(v)
    assert merged is not None
    return merged


def _said(v: Pairs) -> tuple[list[Any], dict[str, int]]:
    return [f.__dict__ for f in v.finish()], v.excused


@pytest.mark.parametrize("drop", ["none", "response", "request"])
def test_ranges_merged_say_what_one_pass_says(workload: bytes, drop: str) -> None:
    """One pass, by columns or by records, and the log read in two or three ranges merged: the same findings and
    the same excused counts, whatever range boundary falls between the lines a connection ties together."""
    i, j = _pair(_entries(workload), "kv1/app/db")
    raw = workload if drop == "none" else _without(workload, j if drop == "response" else i)
    whole = _said(_feed_ranges(raw, [], columns=True))
    assert whole == _said(_feed_ranges(raw, [], columns=False))
    if drop != "none":
        assert whole[0], "the dropped line is found"
    else:
        assert not whole[0] and whole[1].get(ALONE) == 2 and in_flight(120 * 10**9) not in whole[1]
    n = len(raw.splitlines())
    for cut in range(1, n):
        for columns in (True, False):
            assert _said(_feed_ranges(raw, [cut], columns)) == whole, (cut, columns)
    for cut in range(2, n - 1, 7):
        assert _said(_feed_ranges(raw, [cut // 2, cut], True)) == whole, cut


@pytest.mark.parametrize("where", ["next", "end"])
def test_an_entry_written_alone_copied_is_written_twice(workload: bytes, where: str) -> None:
    """OpenBao writes a request for a wrapping token that does not exist alone (no response entry): the same line
    again is a duplicate, found at the copy and naming the first, in one pass and across merged ranges alike; only
    the first is excused. Before, both were excused and the copy passed."""
    entries = _entries(workload)
    i = next(n for n, e in enumerate(entries) if e["type"] == "request" and e["request"].get("path", "").startswith(
        "sys/wrapping/") and "error" in e)
    lines = workload.splitlines(keepends=True)
    at = i + 1 if where == "next" else len(lines)
    raw = b"".join([*lines[:at], lines[i], *lines[at:]])
    whole = _said(_feed_ranges(raw, [], columns=True))
    assert whole == _said(_feed_ranges(raw, [], columns=False))
    texts = [f["message"] for f in whole[0]]
    assert [f["where"] for f in whole[0]] == [f"audit.log:{at + 1}"], texts
    assert f"is written a second time (the first at audit.log:{i + 1})" in texts[0] and "a hop copied" in texts[0]
    assert whole[1].get(ALONE) == 2
    n = len(raw.splitlines())
    for cut in range(1, n, 3):
        assert _said(_feed_ranges(raw, [cut], True)) == whole, cut


@pytest.mark.parametrize("strip", ["nothing", "data.error", "mfa step"])
def test_a_login_answered_without_error_names_who_logged_in(tmp_path: Path, strip: str) -> None:
    """A failed login's response entry names no one and carries its error (OpenBao writes it in response.data);
    a successful one names who logged in. One with neither was edited: a required_fields finding at its line.
    A login's MFA step (response.auth.mfa_requirement) names no one yet and passes."""
    root = Path(__file__).resolve().parent.parent / "fixtures" / "openbao" / "odd" / "correct.log"
    lines = root.read_bytes().splitlines()
    at = next(n for n, ln in enumerate(lines) if b'"type":"response"' in ln and b"/login" in ln and b'"error":"' in ln)
    e = json.loads(lines[at])
    if strip != "nothing":
        e.pop("error", None)
        e["response"].pop("data", None)
    if strip == "mfa step":
        e["response"]["auth"] = {"mfa_requirement": {"mfa_request_id": "5f5c8a1b-0000-4000-8000-000000000001",
                                                     "mfa_constraints": {}}}
    lines[at] = json.dumps(e, separators=(",", ":")).encode()
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    r = completed(["verify", "audit.log"], tmp_path, timeout=120)
    unnamed = f"[audit.log:{at + 1}, request id {e['request']['id']}] The response entry of a login names no one"
    assert (unnamed in r.stdout) == (strip == "data.error"), r.stdout[-3000:]
    assert r.returncode == (1 if strip == "data.error" else 0), r.stdout[-3000:]
