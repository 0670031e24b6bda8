"""A hostile or crashing neighbourhood: a vault that trickles its answer a byte at a time, and a pytest that is
SIGKILLed while its embedded OpenBao runs. Each request ends by its total deadline with one line; the embedded
server dies with its parent and leaves no file with its root token."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault.client import VaultClient
from tests.conftest import remember_secret, write_config

BODY = json.dumps({"request_id": "r", "data": {"display_name": "x" * 2000}}).encode()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)


TRICKLED: dict[str, list[float]] = {}  # a trickling server's URL -> how long each of its clients let it trickle


@pytest.fixture(params=["headers", "body"])
def trickling_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback server that answers every request one byte every half second (well within any per-read
    timeout the tests set): from the status line on ("headers"), or after complete headers ("body"). It gives up
    after 12 s, so a client without a total deadline fails the test by its slowness rather than hanging it."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    answer = HEAD + BODY
    start = 0 if request.param == "headers" else len(HEAD)

    trickled: list[float] = []

    def serve(conn: socket.socket) -> None:
        began = time.monotonic()
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(answer[:start])
                for i in range(start, len(answer)):
                    conn.sendall(answer[i:i + 1])
                    if stop.wait(0.5) or i - start >= 24:
                        return
            except OSError:
                return
            finally:  # how long this client let the trickle go on (a send fails once it has closed)
                trickled.append(time.monotonic() - began)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{srv.getsockname()[1]}"
    TRICKLED[url] = trickled
    yield url
    stop.set()
    TRICKLED.pop(url, None)
    srv.close()


def test_trickling_vault_fails_the_request_by_its_total_deadline(trickling_url):
    client = VaultClient(trickling_url, "x" * 26, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(AuditReadyError) as err:
        client.call("GET", "auth/token/lookup-self")
    took = time.monotonic() - started
    assert took < 3.0, f"the request took {took:.1f} s with request_timeout 1.5 s"
    assert str(err.value) == (f"the vault at {trickling_url} did not answer GET auth/token/lookup-self within 1.5 s; "
                              "fix: check that it is up and not overloaded, or raise request_timeout")
    client.close()


def test_trickling_vault_ends_the_audit_with_one_line(pytester, trickling_url, monkeypatch, tmp_path):
    log = tmp_path / "audit.log"
    log.write_text("")
    monkeypatch.setenv("VAULT_TOKEN", "x" * 26)
    write_config(pytester, request_timeout=1.0)
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "--auditready", f"--auditready-target={trickling_url}", f"--auditready-log={log}", timeout=60,
    )
    took = time.monotonic() - started
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, out[-3000:]
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if "auditready: " in ln]
    assert len(lines) == 1 and "did not answer GET auth/token/lookup-self within 1 s; fix:" in lines[0], out[-3000:]
    # the trickle alone would take 12 s: the client hung up at its 1 s deadline (a send fails within about a second
    # of that), as the server measured it, whatever pytest's own start-up cost on a loaded machine
    deadline = time.monotonic() + 5
    while len(TRICKLED[trickling_url]) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert TRICKLED[trickling_url] and max(TRICKLED[trickling_url]) < 5, (TRICKLED[trickling_url], took)
    assert took < 60


# -- the embedded server when pytest is SIGKILLed ---------------------------------------------------------------
STARTER = r'''
import json, os, sys, threading, time
from pytest_auditready.vault.embedded import EmbeddedServer

server = EmbeddedServer()
if sys.argv[1] == "thread":  # started from a thread that ends at once: the server must outlive it
    t = threading.Thread(target=server.start)
    t.start()
    t.join()
else:
    server.start()
print(json.dumps({"pid": server._proc.pid, "workdir": str(server.workdir), "token": server.root_token,
                  "url": server.url}), flush=True)
time.sleep(120)
'''

SECRET_ENV = {"VAULT_TOKEN": "s.inherited-vault-token", "BAO_TOKEN": "s.inherited-bao-token",
              "AWS_SECRET_ACCESS_KEY": "inherited-aws-secret"}


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie not yet reaped has ended
    except FileNotFoundError:
        return True


@pytest.mark.vault
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death guard is Linux's prctl")
@pytest.mark.parametrize("started_from", ["main", "thread"])
def test_sigkilled_parent_takes_the_embedded_server_along(tmp_path, started_from):
    # a private temp base: another xdist worker's embedded start sweeps the shared /tmp, and would remove this
    # orphan before the sweep under test could (short, for the server's socket paths)
    base = tempfile.mkdtemp(prefix="ar-sigkill-")
    env = {**os.environ, **SECRET_ENV, "TMPDIR": base}
    starter = subprocess.Popen([sys.executable, "-c", STARTER, started_from], env=env, stdout=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    info = None
    try:
        line = starter.stdout.readline()
        assert line, "the starter printed nothing"
        info = json.loads(line)
        remember_secret(info["token"])
        pid, workdir, token = info["pid"], Path(info["workdir"]), info["token"]
        # alive and serving, also after the thread that started it ended
        health = VaultClient(info["url"], None, timeout=5).call("GET", "sys/health")
        assert health.status == 200
        # what the server got: a minimal environment, the token not in argv, its folder private
        environ = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_text().split("\0") if kv)
        assert set(environ) <= {"PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
                                "TZ", "BAO_DEV_ROOT_TOKEN_ID"}, sorted(environ)
        assert not set(SECRET_ENV.values()) & set(environ.values())
        assert token not in Path(f"/proc/{pid}/cmdline").read_text()
        assert os.stat(f"/proc/{pid}/environ").st_mode & 0o777 == 0o400
        assert workdir.stat().st_mode & 0o777 == 0o700

        starter.send_signal(signal.SIGKILL)
        starter.wait(10)
        deadline = time.monotonic() + 5
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid), "the embedded bao outlived the SIGKILLed process that started it"
        for path in workdir.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), f"{path.name} holds the root token"
        # the next embedded start removes a folder whose owner is gone, and only such a folder
        from pytest_auditready.vault.embedded import sweep_orphans

        mine = Path(tempfile.mkdtemp(prefix="auditready-", dir=workdir.parent))
        (mine / "owner.pid").write_text(f"{os.getpid()} x\n")
        try:
            assert workdir.parent == Path(base)
            assert workdir in sweep_orphans(base) and not workdir.exists()
            assert mine.exists()
        finally:
            shutil.rmtree(mine, ignore_errors=True)
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait(10)
        if info is not None:
            if not _gone(info["pid"]):
                os.kill(info["pid"], signal.SIGKILL)
            shutil.rmtree(info["workdir"], ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.vault
def test_ca_file_is_what_verifies_a_tls_vault(bao):
    """The vault's own CA verifies it, also for another identity's client of the same pool, and without it the
    certificate is refused (the system's CAs do not sign the dev server's)."""
    server = bao(tls=True)
    with_ca = VaultClient(server.url, server.root_token, timeout=5, ca_file=str(server.ca_file))
    assert with_ca.call("GET", "auth/token/lookup-self").ok
    assert with_ca.with_token(server.root_token).call("GET", "sys/health").status == 200
    with pytest.raises(AuditReadyError, match="TLS verification failed"):
        VaultClient(server.url, server.root_token, timeout=5).call("GET", "sys/health")
