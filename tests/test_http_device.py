"""OpenBao's ``http`` audit device received by the embedded target itself (``audit_transport = "http"``), and a
``vault_config`` whose other devices send to collectors: the throw-away server reaches none of them.

Real OpenBao, real POSTs: the device posts each entry to auditready's loopback receiver and counts it logged on a
2xx answer. A hop between them (an HTTP relay in the audited session, through ``socket_relay``) that drops an
entry while answering 204, or cuts one short, fails the owning check and names the hop; the receiver itself refuses
what is not one entry (over the line limit, no length, another method).
"""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import pytest

from pytest_auditready.auditlog.http_source import HttpReceiver
from pytest_auditready.auditlog.lines import MAX_LINE_BYTES
from pytest_auditready.vault.client import VaultClient
from tests.conftest import probe_until_broken, server_from_hcl
from tests.relay import assert_the_device_passes, assert_the_hop_fails

# A hop between the device and the receiver, in the audited session: it relays each POST and, once N were relayed,
# does MODE to the next one, once: "drop" answers 204 and relays nothing (a collector hop that loses an entry and
# says it took it), "cut" relays the head and half the body, closes, and answers 204.
RELAY = '''
import socket, threading
from pytest_auditready.vault.targets import EmbeddedTarget

MODE, N = {mode!r}, {n}
_state = {{"posts": 0, "done": False}}
_lock = threading.Lock()

def _read_request(f):
    head = b""
    while not head.endswith(b"\\r\\n\\r\\n"):
        line = f.readline()
        if not line:
            return None, None
        head += line
    length = 0
    for line in head.split(b"\\r\\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, f.read(length)

def _pipe(down, up_addr):
    try:  # the receiver may be gone (the fail-closed drill): then so is the device's connection
        up = socket.create_connection(up_addr, timeout=5)
    except OSError:
        down.close()
        return
    fd, fu = down.makefile("rb"), up.makefile("rb")
    try:
        while True:
            head, body = _read_request(fd)
            if head is None:
                return
            with _lock:
                act = "relay"
                if _state["posts"] >= N and not _state["done"]:
                    _state["done"], act = True, MODE
                _state["posts"] += 1
            if act == "drop":
                down.sendall(b"HTTP/1.1 204 No Content\\r\\nContent-Length: 0\\r\\n\\r\\n")
                continue
            if act == "cut":
                up.sendall(head + body[: len(body) // 2])
                up.close()
                down.sendall(b"HTTP/1.1 204 No Content\\r\\nContent-Length: 0\\r\\n\\r\\n")
                up = socket.create_connection(up_addr, timeout=5)
                fu = up.makefile("rb")
                continue
            up.sendall(head + body)
            status = fu.readline()
            if not status:
                return
            while fu.readline() not in (b"\\r\\n", b""):
                pass
            down.sendall(status + b"Content-Length: 0\\r\\n\\r\\n")
    except OSError:
        return
    finally:
        down.close()
        up.close()

'''


@pytest.mark.vault
def test_the_http_device_passes_every_check_the_file_device_passes(pytester: pytest.Pytester) -> None:
    assert_the_device_passes(pytester, "http")


@pytest.mark.vault
@pytest.mark.parametrize(("mode", "owner", "said"), [
    ("drop", "completeness", "entry in the embedded http audit device's POSTs"),
    ("cut", "required_fields", "in the middle of an entry"),
])
def test_a_hop_that_loses_an_entry_fails_naming_the_http_hop(pytester: pytest.Pytester, mode: str, owner: str,
                                                             said: str) -> None:
    assert_the_hop_fails(pytester, "http", RELAY, mode, owner, said, ("http audit device's POSTs (http://127.0.0.1:", "http:127.0.0.1:"))


@pytest.mark.vault
def test_a_vault_config_that_sends_to_collectors_boots_and_reaches_none_of_them(tmp_path: Path) -> None:
    """A production configuration: a file device, a socket device to a SIEM, an http device with an auth header
    read from the environment, a syslog device. On a CI runner none of those can be reached (OpenBao refused to
    start before: 'audit backend failed test message'). The throw-away server points each socket and http device
    at a receiver of its own and writes the syslog device to a file of its folder; sys/audit shows it, the
    evidence says so beside each device, and the drill breaks them all."""
    server = server_from_hcl(
        tmp_path,
        'audit "file" "main" {\n  options {\n    file_path = "/var/log/openbao/audit.log"\n  }\n}\n'
        'audit "socket" "siem" {\n  options {\n    address = "192.0.2.1:9090"\n    socket_type = "udp"\n'
        '    hmac_accessor = "false"\n  }\n}\n'
        'audit "http" "collector" {\n  options {\n    uri = "https://192.0.2.1/ingest"\n'
        '    headers = "{\\"Authorization\\": [\\"env://AUDITREADY_TEST_UNSET_TOKEN\\"]}"\n  }\n}\n'
        'audit "syslog" "local" {\n  options {\n    tag = "openbao"\n    facility = "AUTH"\n'
        '    elide_list_responses = "true"\n  }\n}\n')
    try:
        server.start()
        assert server.device == "main" and server.audit_transport == "file"
        assert set(server.sinks) == {"siem", "collector"} and set(server.file_logs) == {"main", "local"}
        c = VaultClient(server.url, server.root_token, timeout=5)
        try:
            devices = c.call("GET", "sys/audit").data
            assert devices["siem/"]["options"]["address"] == server.sinks["siem"].address
            assert devices["siem/"]["options"]["hmac_accessor"] == "false"  # the rest of the stanza is kept
            assert devices["collector/"]["options"]["uri"] == f"http://{server.sinks['collector'].address}/audit"
            assert "headers" not in devices["collector/"]["options"]
            assert devices["local/"]["type"] == "file" and devices["local/"]["options"]["elide_list_responses"] == "true"
            assert "this syslog device writes to a file" in devices["local/"]["description"]
            assert c.call("GET", "sys/mounts").ok
            for name in ("siem", "collector"):  # each got the entries the file device got
                deadline = time.monotonic() + 10  # the socket device's bytes reach its receiver after the answer
                while (b'"path":"sys/mounts"' not in server.sinks[name].spool.read_bytes()
                       and time.monotonic() < deadline):
                    time.sleep(0.02)
                assert b'"path":"sys/mounts"' in server.sinks[name].spool.read_bytes(), name
            assert b'"path":"sys/mounts"' in server.file_logs["local"].read_bytes()
            assert server.break_audit() == ["collector", "local", "main", "siem"]
            probe_until_broken(server, c, ["collector", "local", "main", "siem"])
            assert c.call("GET", "sys/mounts").status == 500  # no device could log: refused
            server.restore_audit()
            assert c.call("GET", "sys/mounts").ok
        finally:
            c.close()
    finally:
        server.stop()
    assert server.workdir is None


def _post(port: int, body: bytes, method: str = "POST", headers: dict[str, str] | None = None) -> int:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request(method, "/audit", body=body, headers=headers or {})
        return c.getresponse().status
    finally:
        c.close()


def test_the_receiver_takes_one_entry_a_post_and_refuses_the_rest(tmp_path: Path,
                                                                   capfd: pytest.CaptureFixture[str]) -> None:
    r = HttpReceiver(tmp_path / "spool.log")
    r.start()
    try:
        r.mark()
        assert _post(r.port, b'{"a":1}\n') == 204
        assert _post(r.port, b'{"b":2}') == 204  # a newline is added where the writer left none
        assert _post(r.port, b"x" * (MAX_LINE_BYTES + 1)) == 413
        assert _post(r.port, b"", method="GET") == 405
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:  # no length
            s.sendall(b"POST /audit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 411")
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:  # cut short
            s.sendall(b"POST /audit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"c\":")
            s.shutdown(socket.SHUT_WR)
            s.recv(100)
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:  # gone before its answer
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            s.sendall(b"POST /audit HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n{\"d\":4}\n")
        deadline = time.monotonic() + 5
        while len(r.events) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        r.stop()
    assert (tmp_path / "spool.log").read_bytes() in (b'{"a":1}\n{"b":2}\n', b'{"a":1}\n{"b":2}\n{"d":4}\n')
    assert "Traceback" not in capfd.readouterr().err  # a sender gone mid-answer is no traceback
    said = [e.what for e in r.events]
    assert len(said) in (3, 4), said  # the reset connection may have lost its body before it was read
    assert "over the" in said[0] and "Content-Length" in said[1] and "in the middle of an entry" in said[2]
    assert all("in the middle of an entry" in w for w in said[3:])


def test_a_content_length_of_other_digits_is_refused_as_none(tmp_path: Path,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    """A Content-Length of a digit Python's isdigit takes and int() refuses ("\u00b2") is no length: 411, one event,
    no traceback in the receiver's thread."""
    r = HttpReceiver(tmp_path / "spool.log")
    r.start()
    try:
        r.mark()
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
            s.sendall("POST /audit HTTP/1.1\r\nHost: x\r\nContent-Length: \u00b2\r\n\r\n{}".encode("latin-1"))
            assert s.recv(100).startswith(b"HTTP/1.1 411")
        assert _post(r.port, b'{"a":1}\n') == 204  # and it keeps receiving
    finally:
        r.stop()
    assert "Traceback" not in capfd.readouterr().err
    assert [e.what for e in r.events][:1] == ["a POST came without a Content-Length; it was refused (411)"]


def test_break_closes_kept_alive_connections_and_restore_listens_again(tmp_path: Path) -> None:
    """The drill's break must fail the device's next POST even on a connection it keeps alive."""
    r = HttpReceiver(tmp_path / "spool.log")
    r.start()
    try:
        c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=5)
        c.request("POST", "/audit", body=b'{"a":1}\n')
        assert c.getresponse().status == 204
        r.break_()
        with pytest.raises((OSError, http.client.HTTPException)):
            c.request("POST", "/audit", body=b'{"b":2}\n')
            c.getresponse()
        c.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", r.port), timeout=2).close()
        r.restore()
        assert _post(r.port, b'{"c":3}\n') == 204
    finally:
        r.stop()
    assert (tmp_path / "spool.log").read_bytes() == b'{"a":1}\n{"c":3}\n'


@pytest.mark.vault
def test_a_vault_config_http_device_is_the_audited_one_when_it_is_the_only_one(tmp_path: Path) -> None:
    """With no file device, the only http device of vault_config is audited: received, not posted to its uri."""
    from pytest_auditready.auditlog.socket_source import SocketLogSource
    from pytest_auditready.auditlog.source import LogBatch

    server = server_from_hcl(tmp_path, 'audit "http" "collector" {\n  options {\n    uri = "https://192.0.2.1/in"\n'
                             '    hmac_accessor = "false"\n  }\n}\n')
    try:
        server.start()
        assert server.audit_transport == "http" and server.device == "collector" and not server.sinks
        assert server.log_path.name == "http-audit.log"
        assert server.receiver is not None
        source = SocketLogSource(server.receiver)
        source.mark()
        c = VaultClient(server.url, server.root_token, timeout=5)
        try:
            reply = c.call("GET", "sys/mounts")
            assert reply.ok
            devices = c.call("GET", "sys/audit").data
            assert devices["collector/"]["options"]["hmac_accessor"] == "false"
        finally:
            c.close()
        batch = LogBatch()
        source.poll(batch)  # spooled before the vault's answer: there at once
        assert [e.type for e in batch.entries if e.request_id == reply.request_id] == ["request", "response"]
        assert not batch.bad_lines
    finally:
        server.stop()


@pytest.mark.vault
def test_a_url_target_s_devices_are_judged_as_sys_audit_lists_them(pytester: pytest.Pytester, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Audited as a URL target, the devices are what sys/audit lists: the http device's uri (scheme and host) and
    the socket device's address reach the evidence, where log_protection judges them (red team rt40, F14/F15: they
    were dropped, so an http:// or TCP device to another host passed), and the origin marks in a description,
    text a vault may hold, are not read (rt40 F16: a forged mark made a UDP device pass fail_closed)."""
    import json

    from tests.auditrun import run_audit

    server = server_from_hcl(
        tmp_path,
        'audit "file" "main" {\n  options {\n    file_path = "/var/log/openbao/audit.log"\n  }\n}\n'
        'audit "socket" "siem" {\n  options {\n    address = "192.0.2.1:9090"\n    socket_type = "udp"\n  }\n}\n'
        'audit "http" "collector" {\n  options {\n    uri = "https://192.0.2.1/ingest?token=x"\n  }\n}\n')
    try:
        server.start()
        monkeypatch.delenv("BAO_TOKEN", raising=False)
        monkeypatch.setenv("VAULT_TOKEN", server.root_token)
        run = run_audit(pytester, server, None, "--auditready-evidence=ev", seal=False)
        devices = json.loads((pytester.path / "ev" / "evidence.json").read_text())["vault"]["devices"]
        assert not [d for d in devices.values() if "origin" in d], devices
        assert devices["siem"]["options"]["address"] == server.sinks["siem"].address
        assert devices["collector"]["options"]["uri"] == f"http://{server.sinks['collector'].address}", devices
        # here they are this host's receivers, over TCP and to loopback, as the vault really sends: no finding
        assert not {"fail_closed", "log_protection"} & run.failed_checks(), run.result.stdout.str()[-3000:]
    finally:
        server.stop()


@pytest.mark.parametrize(("dev", "found"), [
    ({"type": "socket", "options": {"address": "10.0.4.20:514", "socket_type": "tcp"}}, "over TCP in clear"),
    ({"type": "socket", "options": {"address": "siem.example.net:9090"}}, "over TCP in clear"),  # tcp by default
    ({"type": "socket", "options": {"address": "[2001:db8::7]:514", "socket_type": "udp"}}, "over UDP in clear"),
    ({"type": "http", "options": {"uri": "http://10.0.4.20:8080"}}, "over plain HTTP"),
    ({"type": "socket", "options": {"address": "127.0.0.1:5170", "socket_type": "tcp"}}, ""),
    ({"type": "socket", "options": {"address": "[::1]:5170"}}, ""),
    ({"type": "socket", "options": {"address": "localhost:5170"}}, ""),
    ({"type": "socket", "options": {"address": "/run/collector.sock", "socket_type": "unix"}}, ""),
    ({"type": "http", "options": {"uri": "https://10.0.4.20"}}, ""),
    ({"type": "http", "options": {"uri": "http://127.0.0.1:8080"}}, ""),
], ids=["tcp", "tcp-default", "udp-v6", "http", "loopback", "loopback-v6", "localhost", "unix", "https",
        "http-loopback"])
def test_a_device_that_sends_the_log_across_the_network_in_clear_is_found(dev: dict[str, object],
                                                                          found: str) -> None:
    from types import SimpleNamespace

    from pytest_auditready.checks import log_protection

    ctx = SimpleNamespace(facts=SimpleNamespace(devices={"siem": dev}), settings=None)
    said = [f.text() for f in log_protection._transport_findings(ctx)]  # type: ignore[arg-type]
    assert (said and found in said[0] and "'siem'" in said[0]) if found else said == [], said
