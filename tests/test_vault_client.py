"""The live client (vault/client.py, on the standard library's http.client) against loopback HTTP servers that
answer as a vault's standby, a hostile hop or a misplaced service would, and against OpenBao: the headers and body
a vault reads, redirects followed only where safe, kept-alive connections reused or replaced, answers bounded,
one watchdog thread for every deadline, and Nagle's algorithm off."""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault import client as client_module
from pytest_auditready.vault.client import VaultClient

Answer = Callable[[http.server.BaseHTTPRequestHandler, str, bytes], None]


class _Server:
    """A loopback HTTP/1.1 server whose every request (method, path, headers, body, client port) is kept and
    answered by ``answer``."""

    def __init__(self, answer: Answer, tls: "ssl.SSLContext | None" = None) -> None:
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                   "body": body, "port": self.client_address[1]})
                answer(self, self.command, body)

            do_GET = do_PUT = do_POST = do_DELETE = do_LIST = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(handler: http.server.BaseHTTPRequestHandler, status: int, doc: Any, close: bool = False) -> None:
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(handler: http.server.BaseHTTPRequestHandler, status: int, location: str) -> None:
    handler.send_response(status)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    made: list[_Server] = []

    def make(answer: Answer, tls: "ssl.SSLContext | None" = None) -> _Server:
        made.append(_Server(answer, tls))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _ok(handler: http.server.BaseHTTPRequestHandler, _method: str, _body: bytes) -> None:
    _json(handler, 200, {"request_id": "rid-1", "data": {"k": "v"}})


def test_a_call_sends_what_a_vault_reads_and_returns_its_answer(serve: Callable[..., _Server]) -> None:
    s = serve(_ok)
    c = VaultClient(s.url, "tok-" + "a" * 20, timeout=5, namespace="/team-a/")
    r = c.call("POST", "/secret//data/x", {"data": {"password": "p"}})
    assert (r.status, r.request_id, r.data) == (200, "rid-1", {"k": "v"})
    c.call("LIST", "secret/metadata/")
    (post, listing) = s.seen
    assert post["method"] == "POST" and post["path"] == "/v1/secret/data/x"
    assert post["headers"]["X-Vault-Token"] == "tok-" + "a" * 20 and post["headers"]["X-Vault-Request"] == "true"
    assert post["headers"]["X-Vault-Namespace"] == "team-a"
    assert post["headers"]["Content-Type"] == "application/json"
    assert json.loads(post["body"]) == {"data": {"password": "p"}}
    assert listing["method"] == "LIST" and listing["body"] == b"" and "Content-Type" not in listing["headers"]
    assert post["port"] == listing["port"], "the second call did not reuse the kept-alive connection"
    assert c.local_addresses == ["127.0.0.1"]
    c.close()


def test_a_307_within_the_target_is_followed_with_the_same_method_and_body(serve: Callable[..., _Server]) -> None:
    def answer(h: Any, m: str, b: bytes) -> None:
        if h.path.startswith("/v1/"):
            _redirect(h, 307, "/vault" + h.path)
        else:
            _ok(h, m, b)

    s = serve(answer)
    c = VaultClient(s.url, "t" * 24, timeout=5)
    r = c.call("PUT", "secret/data/x", {"data": {"a": 1}})
    assert r.ok and r.request_id == "rid-1"
    assert [x["method"] for x in s.seen] == ["PUT", "PUT"] and json.loads(s.seen[1]["body"]) == {"data": {"a": 1}}
    c.close()


def test_a_standby_nodes_307_to_another_node_is_refused_and_sends_it_nothing(serve: Callable[..., _Server]) -> None:
    """The token goes only where the target points (red team rt83 F2): a redirect to another origin, a standby's to
    the active node as an SSO front door's to its login page, is refused naming where it pointed."""
    active = serve(_ok)
    standby = serve(lambda h, _m, _b: _redirect(h, 307, active.url + h.path + "?code=x"))
    c = VaultClient(standby.url, "t" * 24, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("PUT", "secret/data/x", {"data": {"a": 1}})
    assert active.url in str(err.value) and "code=x" not in str(err.value)
    assert active.seen == []
    c.close()


def test_a_redirect_loop_ends_in_one_line(serve: Callable[..., _Server]) -> None:
    s = serve(lambda h, _m, _b: _redirect(h, 307, h.path))
    c = VaultClient(s.url, "t" * 24, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "sys/health")
    assert str(err.value) == (f"the vault at {s.url} redirected GET /v1/sys/health more than 5 times; fix: point "
                              "--auditready-target at the vault's active node (its api_addr)")
    assert len(s.seen) == 6


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for 127.0.0.1, and the path of that certificate (the client's CA)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, str(cert_path)


def test_a_redirect_from_https_to_http_is_refused_and_the_token_stays(serve: Callable[..., _Server],
                                                                      tmp_path: Path) -> None:
    plain = serve(_ok)
    ctx, ca = _self_signed(tmp_path)
    tls = serve(lambda h, _m, _b: _redirect(h, 307, plain.url + h.path), tls=ctx)
    c = VaultClient(tls.url, "t" * 24, timeout=5, ca_file=ca)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    assert "redirected GET /v1/auth/token/lookup-self to a URL this client does not follow" in str(err.value)
    assert plain.seen == [] and len(tls.seen) == 1
    c.close()


def test_a_kept_alive_connection_the_server_closed_is_replaced(serve: Callable[..., _Server]) -> None:
    """A server (or a hop's idle timeout) that closes the connection after an answer: the next call opens a new
    one instead of failing as 'broke'."""
    s = serve(lambda h, _m, _b: (_json(h, 200, {"request_id": "r"}), setattr(h, "close_connection", True)))
    c = VaultClient(s.url, "t" * 24, timeout=5)
    assert c.call("GET", "sys/health").ok and c.call("GET", "sys/health").ok
    assert len({x["port"] for x in s.seen}) == 2
    c.close()


def _hangs_up_on_the_second_request(h: http.server.BaseHTTPRequestHandler, count: list[int]) -> None:
    """Answers, then hangs up on the next request of that connection without answering (``count``: the requests
    this server had)."""
    count.append(1)
    if len(count) == 2:
        h.close_connection = True
        return
    _json(h, 200, {"request_id": f"r{len(count)}"})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_a_reused_connection_lost_is_sent_again_only_if_it_reads(serve: Callable[..., _Server],
                                                                           method: str) -> None:
    count: list[int] = []
    s = serve(lambda h, _m, _b: _hangs_up_on_the_second_request(h, count))
    c = VaultClient(s.url, "t" * 24, timeout=5)
    assert c.call("GET", "sys/health").ok
    if method == "GET":
        assert c.call("GET", "secret/data/x").request_id == "r3"
        assert [x["path"] for x in s.seen] == ["/v1/sys/health", "/v1/secret/data/x", "/v1/secret/data/x"]
    else:
        with pytest.raises(AuditReadyError) as err:
            c.call("POST", "secret/data/x", {"data": {"a": 1}})
        assert f"the connection to the vault at {s.url} broke during POST secret/data/x" in str(err.value)
        assert [x["method"] for x in s.seen] == ["GET", "POST"], "a write was sent twice"
    c.close()


def test_an_answer_past_the_size_bound_is_one_line(serve: Callable[..., _Server],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_BODY", 1 << 20)
    s = serve(lambda h, _m, _b: _json(h, 200, {"data": "x" * (1 << 20)}))
    c = VaultClient(s.url, "t" * 24, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "sys/mounts")
    assert str(err.value) == (f"the vault at {s.url} answered GET /v1/sys/mounts with more than 1 MiB; fix: check "
                              "that the URL is the vault's, not another service's")


def test_one_watchdog_thread_serves_every_request(serve: Callable[..., _Server]) -> None:
    s = serve(_ok)
    c = VaultClient(s.url, "t" * 24, timeout=5)
    for _ in range(25):
        assert c.call("GET", "sys/health").ok
    names = [t.name for t in threading.enumerate() if t.name.startswith("auditready-deadline")]
    assert names == ["auditready-deadlines"]
    c.close()


@pytest.mark.vault
def test_connections_to_openbao_send_without_nagle_and_are_reused(bao: Callable[..., Any]) -> None:
    """http.client writes a request's headers and its body in two sends: with Nagle's algorithm on, the body waits
    for the server's delayed ACK (40 ms a call). The audit log shows both calls came over one connection."""
    server = bao()
    c = VaultClient(server.url, server.root_token, timeout=5)
    assert c.call("POST", "sys/audit-hash/auditready", {"input": "x"}).ok
    assert c.call("GET", "sys/mounts").ok
    (conn,) = [x for conns in c._pool._idle.values() for x in conns]
    assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    server.settle()
    ports = {e["request"]["remote_port"] for e in map(json.loads, server.log_path.read_text().splitlines())
             if e.get("request", {}).get("path") in ("sys/audit-hash/auditready", "sys/mounts")}
    assert len(ports) == 1, ports
    c.close()


def test_a_vault_that_asks_for_a_client_certificate_is_named_and_given_one(
        serve: Callable[..., _Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A listener with tls_require_and_verify_client_cert: the refusal names the client certificate, not ca_file
    (red team rt51 F9: "not signed by a CA in ca_file", whose fix changed nothing, for any broken handshake), and
    VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, as the vault CLI reads them, are sent."""
    (tmp_path / "server").mkdir()
    (tmp_path / "client").mkdir()
    ctx, ca = _self_signed(tmp_path / "server")
    _, client_cert = _self_signed(tmp_path / "client")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_cert)
    s = serve(_ok, tls=ctx)
    for var in ("VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "BAO_CLIENT_CERT", "BAO_CLIENT_KEY"):
        monkeypatch.delenv(var, raising=False)
    c = VaultClient(s.url, "t" * 24, timeout=5, ca_file=ca)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    # (the server's alert says so; on a loaded machine it may close first, and the client sees only the end)
    assert ("asks for a client certificate" in str(err.value) and "none was sent" in str(err.value)) or \
        "handshake with the vault" in str(err.value), err.value
    assert "not signed by a CA" not in str(err.value) and "VAULT_CLIENT_CERT" in err.value.fix
    c.close()
    monkeypatch.setenv("VAULT_CLIENT_CERT", client_cert)
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(tmp_path / "client" / "key.pem"))
    c = VaultClient(s.url, "t" * 24, timeout=5, ca_file=ca)
    assert c.call("GET", "auth/token/lookup-self").status == 200
    c.close()
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(tmp_path / "missing.pem"))
    c = VaultClient(s.url, "t" * 24, timeout=5, ca_file=ca)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    assert "cannot be loaded" in str(err.value)
    c.close()
