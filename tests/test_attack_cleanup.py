"""Clean-up under attack: a SIGINT or SIGTERM while a create is in flight, a create that never gets its answer, and
a vault that stops answering during clean-up. A loopback proxy in front of a real OpenBao holds a chosen request
until the test has acted, so each interrupt lands at a defined point. Afterwards the real vault is listed with the
root token: nothing of the run may remain, or whatever remains is named in the run's last line, which never
claims a removal it did not verify."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit

import pytest

from pytest_auditready.vault.client import VaultClient
from tests.conftest import assert_no_secret, leftover, remember_secret

pytestmark = pytest.mark.vault
EMPTY = {"canaries": [], "policies": [], "tokens": []}
REMOVED = "auditready: interrupted; the run's canaries, tokens and policies were removed"


class Hold:
    """A request the proxy keeps until ``release``: then it forwards it to the vault or not, and answers or not."""

    def __init__(self, method: str, path_prefix: str, nth: int, auto: Optional[tuple[bool, bool]]) -> None:
        self.method, self.path_prefix, self.nth = method, path_prefix, nth
        self.seen = 0
        self.arrived = threading.Event()  # the request is in flight, held by the proxy
        self.done = threading.Event()  # the proxy is through with it (forwarded, if it was to be)
        self._go = threading.Event()
        self.forward, self.answer = auto if auto is not None else (True, True)
        if auto is not None:
            self._go.set()

    def release(self, *, forward: bool = True, answer: bool = True) -> None:
        self.forward, self.answer = forward, answer
        self._go.set()


class VaultProxy:
    """A loopback HTTP proxy in front of a vault: one upstream connection per request, every request recorded
    (method, path). ``hold`` picks a request to keep; ``go_dead`` makes it read requests and never answer."""

    def __init__(self, upstream: str) -> None:
        u = urlsplit(upstream)
        self._upstream = (u.hostname or "127.0.0.1", u.port or 80)
        self._srv = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._srv.getsockname()[1]}"
        self._holds: list[Hold] = []
        self._dead = threading.Event()
        self._stop = threading.Event()
        self._seen = threading.Condition()
        self.requests: list[tuple[str, str]] = []
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> "VaultProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._srv.close()
        for c in list(self._conns):
            c.close()

    def hold(self, method: str, path_prefix: str, nth: int = 1,
             auto: Optional[tuple[bool, bool]] = None) -> Hold:
        """Hold the nth request with this method whose path starts with path_prefix. With ``auto`` =
        (forward, answer) it is not held but handled so at once."""
        h = Hold(method, path_prefix, nth, auto)
        self._holds.append(h)
        return h

    def go_dead(self) -> None:
        self._dead.set()

    def wait_for_request(self, after: int, timeout: float = 60) -> bool:
        """Wait until more than ``after`` requests have arrived."""
        with self._seen:
            return self._seen.wait_for(lambda: len(self.requests) > after, timeout)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            raw = _read_request(conn)
            if raw is None:
                return
            method, path = raw.split(b" ", 2)[:2]
            req = (method.decode(), path.decode().split("?")[0])
            hold = None
            for h in self._holds:
                if req[0] == h.method and req[1].startswith(h.path_prefix):
                    h.seen += 1
                    if h.seen == h.nth:
                        hold = h
            with self._seen:
                self.requests.append(req)
                self._seen.notify_all()
            forward = answer = not self._dead.is_set()
            if hold is not None:
                hold.arrived.set()
                while not hold._go.wait(0.1):
                    if self._stop.is_set():
                        return
                forward, answer = hold.forward, hold.answer
            reply = self._forward(raw) if forward else b""
            if hold is not None:
                hold.done.set()
            if not answer or self._dead.is_set():
                self._stop.wait()  # keep the connection open, silent, until the test ends
                return
            try:
                conn.sendall(reply)
            except OSError:
                pass

    def _forward(self, raw: bytes) -> bytes:
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(self._upstream, timeout=30) as up:
            up.sendall(request)
            chunks = []
            while True:
                data = up.recv(65536)
                if not data:
                    return b"".join(chunks)
                chunks.append(data)


def _read_request(conn: socket.socket) -> Optional[bytes]:
    conn.settimeout(60)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        want = int(m.group(1)) if m else 0
        while len(body) < want:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
    except OSError:
        return None
    return head + b"\r\n\r\n" + body


@pytest.fixture
def proxy(bao: Callable[..., Any]) -> Iterator[tuple[Any, VaultProxy]]:
    server = bao()
    with VaultProxy(server.url) as p:
        yield server, p


def start_audit(workdir: Path, url: str, log: Path, token: str, **config: Any) -> "subprocess.Popen[str]":
    """`pytest --auditready` against ``url`` in its own process, which the test can signal."""
    keys = {"require_tamper_evidence": "false", "log_wait": "1.0", "request_timeout": "2.0"}
    keys.update({k: str(v) for k, v in config.items()})
    (workdir / "pyproject.toml").write_text("[tool.auditready]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    env = {k: v for k, v in os.environ.items() if k not in ("BAO_TOKEN", "PYTEST_ADDOPTS")}
    env["VAULT_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--auditready", f"--auditready-target={url}",
         f"--auditready-log={log}"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(proc: "subprocess.Popen[str]", timeout: float = 90) -> str:
    try:
        out = proc.communicate(timeout=timeout)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "Traceback" not in out, out[-3000:]
    assert_no_secret(out, "the run's output")
    return out


def last_word(out: str) -> str:
    """The one line the run ended with (`auditready: ...`)."""
    lines = [ln for ln in out.splitlines() if "auditready: " in ln]
    assert lines, out[-3000:]
    return lines[-1].strip("! ").replace("_pytest.outcomes.Exit: ", "")


def assert_all_named(left: dict[str, list[str]], line: str) -> None:
    """Everything the run left in the vault is named in its last line."""
    for run_dir in left["canaries"]:  # LIST secret/metadata/auditready answers "<run id>/"
        assert f"canary secret/data/auditready/{run_dir}" in line, line
    for display in left["tokens"]:
        assert f"display name {display}" in line, line
    for policy in left["policies"]:
        assert f"policy {policy}" in line, line


HELD = {
    # the writer's token: the first token the run creates
    "token-create": ("POST", "/v1/auth/token/create"),
    # the first canary: create-c1, as the writer
    "canary-create": ("POST", "/v1/secret/data/auditready/"),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("held", list(HELD))
def test_interrupt_while_a_create_is_in_flight_leaves_nothing(proxy, tmp_path, held, sig):
    server, p = proxy
    hold = p.hold(*HELD[held])
    proc = start_audit(tmp_path, p.url, server.log_path, server.root_token)
    try:
        assert hold.arrived.wait(60), "the run never sent the request to hold"
        os.kill(proc.pid, sig)
        hold.release()  # the vault gets the create and it is answered: it exists now
    finally:
        out = finish(proc)
    assert hold.done.wait(10)
    assert leftover(server) == EMPTY
    assert proc.returncode == 2, out[-3000:]
    assert last_word(out) == REMOVED


@pytest.mark.parametrize("held", list(HELD))
def test_interrupt_then_a_vault_that_stops_answering_names_what_is_left(proxy, tmp_path, held):
    """The held create lands in the vault but its answer never comes; the vault then answers nothing, and a second
    Ctrl-C comes while clean-up is at work. The run must name what it left, never say it was removed."""
    server, p = proxy
    hold = p.hold(*HELD[held])
    # Every request to the silent vault waits request_timeout (the held create, then each of clean-up's): 1 s, not
    # the module's 2 s, halves the wait; the vault answers the run's other requests in milliseconds.
    proc = start_audit(tmp_path, p.url, server.log_path, server.root_token, request_timeout="1.0")
    try:
        assert hold.arrived.wait(60), "the run never sent the request to hold"
        sent = len(p.requests)  # the run waits on the held request: nothing else comes until it gives up on it
        os.kill(proc.pid, signal.SIGINT)
        p.go_dead()
        hold.release(forward=True, answer=False)
        assert hold.done.wait(30)
        assert p.wait_for_request(after=sent), "clean-up sent nothing"
        os.kill(proc.pid, signal.SIGINT)  # a second Ctrl-C, while clean-up waits on the silent vault
    finally:
        out = finish(proc)
    assert proc.returncode == 2, out[-3000:]
    line = last_word(out)
    assert line.startswith("auditready: interrupted; clean-up could NOT remove: "), line
    assert "were removed" not in line
    left = leftover(server)
    assert left["policies"] and left["tokens"], left  # what the run had made by then is there, and named
    assert_all_named(left, line)
    if held == "token-create":
        assert "token of writer if it was made (display name" in line


def test_token_create_without_an_answer_is_found_and_revoked(proxy, tmp_path):
    """The vault makes the writer's token but its answer never arrives: its accessor is unknown. Clean-up finds it
    by display name and run id among the vault's accessors and revokes it."""
    server, p = proxy
    hold = p.hold(*HELD["token-create"], auto=(True, False))
    # the unanswered create waits request_timeout: 1 s, not the module's 2 s
    proc = start_audit(tmp_path, p.url, server.log_path, server.root_token, request_timeout="1.0")
    out = finish(proc)
    assert hold.done.is_set()
    assert proc.returncode == 2, out[-3000:]
    line = last_word(out)
    assert "did not answer POST auth/token/create within 1 s; fix:" in line, line
    assert "could not remove" not in line
    assert leftover(server) == EMPTY


def test_token_create_without_an_answer_is_named_when_it_cannot_be_searched_for(proxy, tmp_path):
    """The same with the least-privilege token of examples/auditready-policy.hcl, which may not list the vault's
    accessors: the token that may exist is named, with its display name, rather than passed over."""
    server, p = proxy
    root = VaultClient(server.url, server.root_token, timeout=5)
    policy = (Path(__file__).parent.parent / "examples" / "auditready-policy.hcl").read_text()
    assert root.call("PUT", "sys/policies/acl/audit-runner", {"policy": policy}).status == 204
    token = remember_secret(root.call("POST", "auth/token/create", {"policies": ["audit-runner"]}).body["auth"][
        "client_token"])
    hold = p.hold(*HELD["token-create"], auto=(True, False))
    proc = start_audit(tmp_path, p.url, server.log_path, token, request_timeout="1.0")  # as above
    out = finish(proc)
    assert hold.done.is_set()
    assert proc.returncode == 2, out[-3000:]
    line = last_word(out)
    assert "did not answer POST auth/token/create within 1 s; and clean-up could not remove: token of writer if it " \
           "was made (display name token-auditready-" in line, line
    assert "listing them needs sudo on auth/token/accessors" in line
    left = leftover(server)
    assert left == {"canaries": [], "policies": [], "tokens": left["tokens"]} and len(left["tokens"]) == 1
    assert_all_named(left, line)


@pytest.mark.parametrize("what", ["token-create", "policy-write"])
def test_a_create_that_lands_after_clean_up_looked_was_named(proxy, tmp_path, what):
    """A create held by a hop past the client's timeout, and past clean-up's look, lands afterwards: it was taken
    for never made (the accessors searched once; the policy not there) and the run said nothing was left (red team
    rt30, F3). Clean-up cannot prove such a write never lands: it names it as one that may."""
    server, p = proxy
    held = {"token-create": HELD["token-create"], "policy-write": ("PUT", "/v1/sys/policies/acl/auditready-")}[what]
    hold = p.hold(*held)
    # the held request, and clean-up's look, each wait request_timeout: 1 s, not the module's 2 s
    proc = start_audit(tmp_path, p.url, server.log_path, server.root_token, request_timeout="1.0")
    try:
        out = finish(proc)
    finally:
        hold.release(forward=True, answer=False)  # it lands now, after the run
    assert hold.done.wait(10)
    assert proc.returncode == 2, out[-3000:]
    line = last_word(out)
    name = "token of writer if it was made" if what == "token-create" else "policy auditready-"
    assert f"clean-up could not remove: {name}" in line and "land" in line, line
    left = leftover(server)
    assert left["tokens"] or left["policies"], left  # it did land: named, as it had to be
    assert_all_named(left, line)
    root = VaultClient(server.url, server.root_token, timeout=5)
    for p_name in left["policies"]:
        root.call("DELETE", f"sys/policies/acl/{p_name}")


def test_what_is_left_in_the_embedded_throw_away_server_is_not_sent_to_be_removed_by_hand() -> None:
    """The embedded target's OpenBao is stopped and its folder deleted at the end of every run, whatever clean-up
    could remove: telling the user to remove leftovers by hand from a server that no longer exists was untrue."""
    from types import SimpleNamespace

    from pytest_auditready.vault.scenario import Runner

    facts = SimpleNamespace(residue=["canary c1 (secret/data/auditready/x/c1)", "policy auditready-x-reader"])
    for target, by_hand in (("embedded", False), ("https://vault.example:8200", True)):
        said = Runner.interrupted(SimpleNamespace(touched=True, verified=True, facts=facts,  # type: ignore[arg-type]
                                                  ledger=SimpleNamespace(target=target)))
        text = str(said)
        assert "canary c1" in text and "policy auditready-x-reader" in text
        assert ("by hand" in text) == by_hand, text
        assert ("stopped and deleted with everything in it" in text) == (not by_hand), text
