"""The embedded target's socket audit device, received by the plugin itself (audit_transport = "socket"), against
a real OpenBao: a whole stream passes every check the file device passes; a hop that closes the connection, cuts a
line or stops forwarding fails the owning check with a message naming the socket hop."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from pytest_auditready.auditlog.socket_source import SocketLogSource, SocketReceiver
from pytest_auditready.auditlog.source import LogBatch
from pytest_auditready.errors import AuditReadyError
from tests.conftest import server_from_hcl
from tests.relay import assert_the_device_passes, assert_the_hop_fails

pytestmark = pytest.mark.vault

# A hop between the device and the receiver, in the audited session: it forwards the device's bytes line by line
# and, after N lines, does MODE: "close" (closes the device's connection, once), "cut" (forwards half of the next
# line, then closes both sides, once) or "blackhole" (keeps reading, forwards nothing more).
RELAY = '''
import socket, threading
from pytest_auditready.vault.targets import EmbeddedTarget

MODE, N = {mode!r}, {n}
_state = {{"lines": 0, "done": False}}
_lock = threading.Lock()

def _pipe(down, up_addr):
    up = socket.create_connection(up_addr, timeout=5)
    down.settimeout(30)
    buf = b""
    try:
        while True:
            data = down.recv(65536)
            if not data:
                return
            buf += data
            while b"\\n" in buf:
                line, buf = buf.split(b"\\n", 1)
                with _lock:
                    if _state["lines"] >= N and not _state["done"] and MODE != "blackhole":
                        _state["done"] = True
                        if MODE == "cut":
                            up.sendall(line[: len(line) // 2])
                        return
                    _state["lines"] += 1
                    forward = MODE != "blackhole" or _state["lines"] <= N
                if forward:
                    up.sendall(line + b"\\n")
    except OSError:
        return
    finally:
        down.close()
        up.close()

'''


def test_socket_device_passes_every_check_the_file_device_passes(pytester: pytest.Pytester) -> None:
    run = assert_the_device_passes(pytester, "socket")
    assert "socket audit device's stream" in run.result.stdout.str()


@pytest.mark.parametrize(("mode", "owner", "said"), [
    ("close", "required_fields", "the sender closed connection"),
    ("cut", "required_fields", "in the middle of a line"),
    ("blackhole", "completeness", "No request"),
])
def test_a_hop_that_drops_lines_fails_naming_the_socket_hop(pytester: pytest.Pytester, mode: str, owner: str,
                                                            said: str) -> None:
    assert_the_hop_fails(pytester, "socket", RELAY, mode, owner, said, ("socket audit device's stream (tcp 127.0.0.1:", "socket:127.0.0.1:"))


def test_vault_config_socket_stanza_is_received_and_file_devices_still_written(pytester: pytest.Pytester,
                                                                              tmp_path: Path) -> None:
    server = server_from_hcl(
        tmp_path,
        'audit "socket" "collector" {\n  options {\n    address = "logs.example.invalid:9090"\n'
        '    socket_type = "tcp"\n  }\n}\n')
    try:
        server.start()
        assert server.receiver is not None and server.audit_transport == "socket"
        assert server.log_path.name == "socket-audit.log"
        assert (os.stat(server.log_path).st_mode & 0o777) == 0o600
        from pytest_auditready.vault.client import VaultClient

        source = SocketLogSource(server.receiver)
        source.mark()
        c = VaultClient(server.url, server.root_token, timeout=5)
        try:
            reply = c.call("GET", "sys/mounts")
            assert reply.ok
        finally:
            c.close()
        batch = LogBatch()
        deadline = time.monotonic() + 5
        # until both entries came: the response entry may reach the socket in a later poll than the request's
        while time.monotonic() < deadline and sorted(e.type for e in batch.entries
                                                     if e.request_id == reply.request_id) != ["request", "response"]:
            source.poll(batch)
            time.sleep(0.02)
        assert [e.type for e in batch.entries if e.request_id == reply.request_id] == ["request", "response"]
        assert not batch.bad_lines
    finally:
        server.stop()
    assert server.workdir is None


def test_socket_transport_with_a_file_device_in_vault_config_is_refused(tmp_path: Path) -> None:
    server = server_from_hcl(tmp_path, 'audit "file" "f" {\n  options {\n    file_path = "/var/log/a.log"\n  }\n}\n',
                             audit_transport="socket")
    with pytest.raises(AuditReadyError, match="audit_transport is \"socket\" but"):
        server.start()
    assert server.workdir is None


def test_receiver_keeps_what_a_connection_held_when_the_drill_breaks_it(tmp_path: Path) -> None:
    """What the device wrote before the break is the log's: break_ reads it before closing (found as a 1-in-12
    lost response entry of the action just before the drill, before the fix)."""
    r = SocketReceiver(tmp_path / "spool.log")
    r.start()
    try:
        r.mark()
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as c:
            deadline = time.monotonic() + 5
            while not r._conns and time.monotonic() < deadline:  # accepted
                time.sleep(0.01)
            with r._lock:  # the receiver's loop cannot read meanwhile: break_ itself must take what it holds
                c.sendall(b'{"a": 1}\n{"b": 2}\n{"c"')  # on loopback, in the receiver's buffer once sent
                r.break_()
        assert (tmp_path / "spool.log").read_bytes() == b'{"a": 1}\n{"b": 2}\n'
        assert [e.what.split(":")[0] for e in r.events] == [
            "connection 1 was closed by the fail-closed drill in the middle of a line"]
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", r.port), timeout=2).close()
        r.restore()
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as c:
            c.sendall(b'{"d": 4}\n')
        r.settle(2)
    finally:
        r.stop()
    assert (tmp_path / "spool.log").read_bytes().endswith(b'{"d": 4}\n')


_SELF_TEST = (b'{"time":"2026-12-01T12:53:00.1Z","type":"request","auth":{"token_type":"default"},"request":{"id":"'
              b'0b8c","operation":"update","path":"sys/audit/test"}}\n')
_RUN_LINE = (b'{"time":"2026-12-01T12:53:01.1Z","type":"request","auth":{"display_name":"token"},"request":{"id":"'
             b'1c9d","operation":"read","path":"secret/data/c1"}}\n')


@pytest.mark.parametrize(("sent", "lost"), [(_SELF_TEST, False), (_SELF_TEST + _RUN_LINE, True), (_RUN_LINE, True)])
def test_a_close_after_the_run_began_is_the_hops_unless_the_connection_only_carried_the_device_test(
        tmp_path: Path, sent: bytes, lost: bool) -> None:
    """OpenBao's enable test dials its own connection, writes the sys/audit/test entry and closes it, whenever the
    discarded backend goes: seen after the run began (a CI failure). A connection that carried only that entry is
    the device's start; one that carried the run's entries and was closed by the sender lost one."""
    r = SocketReceiver(tmp_path / "spool.log")
    r.start()
    try:
        r.mark()
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as c:
            c.sendall(sent)
        deadline = time.monotonic() + 5
        while (r._accepted == 0 or r._conns) and time.monotonic() < deadline:  # accepted, read and closed
            time.sleep(0.01)
        r.settle(2)
    finally:
        r.stop()
    assert (tmp_path / "spool.log").read_bytes() == sent
    said = [e.what for e in r.events]
    assert said == (["the sender closed connection 1 after spooled line %d (what it wrote into a closed connection "
                     "is lost)" % sent.count(b"\n")] if lost else []), said


@pytest.mark.parametrize("transport", ["file", "socket"])
def test_embedded_server_is_killed_once_its_log_is_sealed_and_nothing_is_lost(tmp_path: Path,
                                                                              transport: str) -> None:
    """Issue 16: the embedded server is SIGKILLed (no ~0.4 s graceful stop) once keep_log has read and sealed its
    log; the kept copy holds the last request's response entry, and the server's folder is gone."""
    import signal

    from pytest_auditready.config import Settings
    from pytest_auditready.vault.client import VaultClient
    from pytest_auditready.vault.targets import EmbeddedTarget

    target = EmbeddedTarget(Settings(audit_transport=transport))
    endpoint = target.open()
    try:
        c = VaultClient(endpoint.url, endpoint.token, timeout=5)
        try:
            last = c.call("GET", "sys/mounts")
        finally:
            c.close()
        kept = target.keep_log(str(tmp_path))
        proc, workdir = target._server._proc, target._server.workdir
        assert proc is not None and workdir is not None
    finally:
        target.close()
    assert proc.returncode == -signal.SIGKILL
    assert not workdir.exists()
    lines = [json.loads(ln) for ln in Path(kept.path).read_text().splitlines()]
    assert [e["type"] for e in lines if e.get("request", {}).get("id") == last.request_id] == ["request", "response"]
    assert kept.public_key is not None


def test_embedded_server_not_sealed_stops_gracefully() -> None:
    """Without keep_log (an interrupted run), the stop is the graceful one."""
    import signal

    from pytest_auditready.config import Settings
    from pytest_auditready.vault.targets import EmbeddedTarget

    target = EmbeddedTarget(Settings())
    target.open()
    proc = target._server._proc
    target.close()
    assert proc is not None and proc.returncode != -signal.SIGKILL


def test_socket_transport_on_a_url_target_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_auditready.config import Settings
    from pytest_auditready.errors import ConfigError
    from pytest_auditready.vault.targets import UrlTarget

    monkeypatch.setenv("VAULT_TOKEN", "not-used")
    target = UrlTarget(Settings(target="http://127.0.0.1:8200", audit_transport="socket", log="/nonexistent"))
    with pytest.raises(ConfigError, match="is for the embedded target"):
        target.open()


def test_audit_transport_accepts_only_file_socket_or_http(tmp_path: Path) -> None:
    from pytest_auditready.config import KEYS

    assert KEYS["audit_transport"]("socket") == "socket" and KEYS["audit_transport"]("http") == "http"
    for bad in ("udp", "https", "syslog", "", 1):
        with pytest.raises(ValueError):
            KEYS["audit_transport"](bad)
