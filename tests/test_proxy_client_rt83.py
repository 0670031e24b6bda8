"""The live client behind proxies (red team rt83, F2, F3, F4, F6): loopback HTTP servers answer as the red team's
nginx and SSO front doors did (a 302 to an identity provider on another origin, a 200 maintenance page, the hop's
own 502 and 400 pages), and a relay passes requests to a real OpenBao for the setups that must work.

- F2: a redirect to another origin (scheme, host, port) is refused naming that origin (never its query, which may
  hold a code), and nothing, the token least, is sent there; a redirect within the target's origin is followed. A
  2xx that is not the vault's JSON is "not the vault's", never a mount's fault.
- F3: a 5xx whose body is no Vault JSON says a proxy or load balancer answered, naming its page and Server header.
- F4: a 400 page that names a certificate points at VAULT_CLIENT_CERT/VAULT_CLIENT_KEY, never at the token.
- F6: HTTPS_PROXY/HTTP_PROXY are named (never their values) where the vault cannot be reached."""

from __future__ import annotations

import http.client
import http.server
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import embedded_root, write_config
from tests.test_vault_client import _Server

Answer = Callable[[http.server.BaseHTTPRequestHandler, bytes], None]  # the handler and the body sent
TOKEN = "hvs.rt83-not-a-real-token-000000"


class Hop(_Server):
    """A loopback HTTP/1.1 server that keeps each request (tests.test_vault_client's) and answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(lambda handler, _method, body: answer(handler, body))


def _page(status: int, body: bytes, kind: str = "text/html", **headers: str) -> Answer:
    def answer(h: http.server.BaseHTTPRequestHandler, _sent: bytes) -> None:
        h.send_response_only(status)  # no Server header of http.server's own: only the ones given
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)
    return answer


def _relay(upstream: str) -> Answer:
    """Pass the request to ``upstream`` (the real OpenBao) and its answer back, as a plain reverse proxy does."""
    host, port = upstream.rsplit("/", 1)[-1].rsplit(":", 1)

    def answer(h: http.server.BaseHTTPRequestHandler, sent: bytes) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request(h.command, h.path, body=sent or None, headers={k: v for k, v in h.headers.items()
                                                     if k.lower().startswith("x-vault-")})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        h.send_response_only(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
    return answer


@pytest.fixture
def hop() -> Iterator[Callable[[Answer], Hop]]:
    made: list[Hop] = []

    def make(answer: Answer) -> Hop:
        made.append(Hop(answer))
        return made[-1]

    yield make
    for h in made:
        h.close()


@pytest.fixture(scope="module")
def openbao() -> Iterator[tuple[EmbeddedServer, Any]]:
    with embedded_root() as (server, client):
        yield server, client


# -- F2: redirects to another origin, and 2xx pages that are not the vault's -------------------------------------

def _sso(idp: Hop) -> Answer:
    """nginx's ``return 302 http://idp/oauth2/start?rd=$request_uri`` (red team rt83 N10), with a code in it."""
    def answer(h: http.server.BaseHTTPRequestHandler, _sent: bytes) -> None:
        _page(302, b"", Location=f"{idp.url}/oauth2/start?rd={h.path}&code=c0de-rt83")(h, b"")
    return answer


def test_a_redirect_to_another_origin_is_refused_and_no_token_goes_there(hop: Callable[[Answer], Hop]) -> None:
    """Before: followed five times with X-Vault-Token, and the IdP's 200 page taken for the vault's answer."""
    idp = hop(_page(200, b"<html>Sign in</html>"))
    front = hop(_sso(idp))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    c.close()
    text = str(err.value)
    assert idp.seen == [] and len(front.seen) == 1
    assert text.startswith(f"the vault at {front.url} redirected GET /v1/auth/token/lookup-self to another address, "
                           f"{idp.url} ("), text
    assert "not followed, since the token goes only where --auditready-target points" in text
    assert "oauth2" not in text and "c0de" not in text and TOKEN not in text


@pytest.mark.parametrize("where", ["http://127.0.0.1:{other}/v1/x", "https://127.0.0.1:{port}/v1/x",
                                   "http://localhost:{port}/v1/x"])
def test_any_other_scheme_host_or_port_is_another_origin(hop: Callable[[Answer], Hop], where: str) -> None:
    to: list[str] = []  # the Location, once the hop's own port is known
    front = hop(lambda h, _b: _page(307, b"", Location=to[0])(h, b""))
    port = int(front.url.rsplit(":", 1)[1])
    to.append(where.format(port=port, other=port + 1 if port < 65535 else 1024))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError, match="to another address"):
        c.call("GET", "sys/leader")
    c.close()


def test_a_redirect_within_the_targets_origin_reaches_the_real_vault(
        hop: Callable[[Answer], Hop], openbao: tuple[EmbeddedServer, Any]) -> None:
    """A hop that moved the API under /vault/ and 301s the old paths there, on its own origin: followed, and the
    real OpenBao answers the token lookup with no refusal."""
    server, _ = openbao
    relay = _relay(server.url)

    def answer(h: http.server.BaseHTTPRequestHandler, sent: bytes) -> None:
        if h.path.startswith("/vault/"):
            h.path = h.path[len("/vault"):]
            relay(h, sent)
        else:
            _page(301, b"", Location="/vault" + h.path)(h, b"")

    front = hop(answer)
    c = VaultClient(front.url, server.root_token, timeout=5)
    r = c.call("GET", "auth/token/lookup-self")
    c.close()
    assert r.ok and r.data.get("policies") == ["root"], (r.status, r.error)
    assert [r["path"] for r in front.seen] == ["/v1/auth/token/lookup-self", "/vault/v1/auth/token/lookup-self"]


@pytest.mark.parametrize("kind", ["text/html", "text/plain", "application/json"])
def test_a_2xx_that_is_not_the_vaults_json_is_refused_naming_its_content_type(hop: Callable[[Answer], Hop],
                                                                             kind: str) -> None:
    """nginx's ``return 200 "<html>maintenance</html>"`` (rt83 N14), or a JSON that is no object: before, taken as a
    valid token lookup, and the run blamed the KV mount."""
    body = b"[]" if kind == "application/json" else b"<html>maintenance</html>"
    front = hop(_page(200, body, kind, Server="nginx/1.22.1"))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    c.close()
    text = str(err.value)
    assert text.startswith(f"the answer to GET /v1/auth/token/lookup-self from {front.url} is not the vault's "
                           f"(200, {kind}, Server: nginx/1.22.1): a login (SSO), maintenance or other page"), text
    assert "maintenance</html>" not in text and "KV" not in text


def test_the_real_vaults_answers_pass_through_a_plain_proxy(hop: Callable[[Answer], Hop],
                                                             openbao: tuple[EmbeddedServer, Any]) -> None:
    """The correct setup: a relay to the real OpenBao. Its 200, 204, 403 and 400 (JSON) answers are the vault's:
    none is refused, and the 403 and 400 keep the vault's own error text."""
    server, _ = openbao
    front = hop(_relay(server.url))
    root = VaultClient(front.url, server.root_token, timeout=5)
    assert root.call("GET", "sys/seal-status").ok
    assert root.call("PUT", "sys/policies/acl/rt83", {"policy": 'path "x/*" { capabilities = ["read"] }'}).ok
    bad = root.call("POST", "auth/token/create", {"ttl": "not-a-duration"})
    assert bad.status == 400 and bad.error and "not the vault's" not in bad.error
    root.call("DELETE", "sys/policies/acl/rt83")
    root.close()
    stranger = VaultClient(front.url, TOKEN, timeout=5)
    denied = stranger.call("GET", "auth/token/lookup-self")
    stranger.close()
    assert denied.status == 403 and "permission denied" in denied.error


# -- F3: the hop's own 5xx page ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, server", [(502, "nginx/1.22.1"), (504, "nginx/1.22.1"), (503, "")])
def test_a_hops_5xx_page_is_said_to_be_the_hops(hop: Callable[[Answer], Hop], status: int, server: str) -> None:
    """nginx's 502/504 and haproxy's 503 (no Server header) pages: before, "no error text" and the vault blamed."""
    headers = {"Server": server} if server else {}
    front = hop(_page(status, b"<html><center><h1>Bad Gateway</h1></center></html>", **headers))
    c = VaultClient(front.url, TOKEN, timeout=5)
    r = c.call("GET", "auth/token/lookup-self")
    c.close()
    page = f"text/html, Server: {server}" if server else "text/html"
    assert r.status == status and r.error == (f"not the vault's answer ({page}): a proxy or load balancer in front "
                                              "of the vault answered, as one does when it cannot reach the vault")


def test_a_first_request_answered_by_a_hops_502_names_the_hop_in_the_run(
        pytester: pytest.Pytester, hop: Callable[[Answer], Hop], monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole run: exit 2, one line that says a proxy or load balancer answered."""
    front = hop(_page(502, b"<html>502 Bad Gateway</html>", Server="nginx/1.22.1"))
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    write_config(pytester)
    log = pytester.path / "audit.log"
    log.write_text("")
    log.chmod(0o600)
    result = pytester.runpytest_subprocess("--auditready", f"--auditready-target={front.url}",
                                           f"--auditready-log={log}", timeout=120)
    out = result.stdout.str() + result.stderr.str()
    lines = [ln for ln in out.splitlines() if "auditready:" in ln]
    assert result.ret == 2 and lines and "Traceback" not in out, out[-2000:]
    assert "answered 502: not the vault's answer (text/html, Server: nginx/1.22.1): a proxy or load balancer" in \
        lines[0], lines[0]
    assert "fix: check the proxy or load balancer in front of the vault" in lines[0], lines[0]


# -- F4: a proxy's 400 that asks for a client certificate ------------------------------------------------------

NGINX_400 = (b"<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center>"
             b"<h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n"
             b"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")


def test_a_proxys_400_that_asks_for_a_client_certificate_points_at_vault_client_cert(
        hop: Callable[[Answer], Hop], monkeypatch: pytest.MonkeyPatch) -> None:
    """nginx ``ssl_verify_client on`` with no certificate sent (rt83 N7): before, "the vault rejected the token"."""
    monkeypatch.delenv("VAULT_CLIENT_CERT", raising=False)
    monkeypatch.delenv("BAO_CLIENT_CERT", raising=False)
    front = hop(_page(400, NGINX_400, Server="nginx/1.22.1"))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "auth/token/lookup-self")
    c.close()
    assert str(err.value) == (
        f"the answer to GET /v1/auth/token/lookup-self from {front.url} is not the vault's (400, text/html, Server: "
        "nginx/1.22.1): a proxy in front of the vault asks for a client certificate and none was sent; fix: set "
        "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY to a certificate and key that the proxy trusts, as for the vault CLI")


def test_a_proxys_other_400_or_403_page_is_the_proxys_not_the_token(hop: Callable[[Answer], Hop]) -> None:
    front = hop(_page(400, b"<html>400 Bad Request</html>"))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError, match=r"is not the vault's \(400, text/html\): a proxy or load balancer in "
                                              r"front of the vault refused the request; fix: if it asks for a client "
                                              r"certificate, set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"):
        c.call("GET", "auth/token/lookup-self")
    c.close()
    front = hop(_page(403, b"<html>Forbidden by policy</html>"))
    c = VaultClient(front.url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError, match=r"\(403, text/html\): a proxy in front of the vault refused the "
                                              r"request by its own authentication or access rules"):
        c.call("GET", "auth/token/lookup-self")
    c.close()


# -- F6: proxy variables named where the vault cannot be reached ---------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_proxy_variables_are_named_not_used_where_the_vault_cannot_be_reached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pr0xy-pass@127.0.0.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://user:pr0xy-pass@127.0.0.1:3128")
    url = f"http://127.0.0.1:{_closed_port()}"
    c = VaultClient(url, TOKEN, timeout=5)
    with pytest.raises(AuditReadyError) as err:
        c.call("GET", "sys/seal-status")
    assert str(err.value) == (
        f"cannot connect to the vault at {url} (HTTPS_PROXY and HTTP_PROXY are set and not used: the token goes "
        "only where --auditready-target points, never through a proxy); fix: start it, or point --auditready-target "
        "at a running Vault/OpenBao that this host reaches without a proxy (run the audit from inside the vault's "
        "network)")
    assert "pr0xy-pass" not in str(err.value)


def test_without_proxy_variables_the_cannot_connect_line_is_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(AuditReadyError) as err:
        VaultClient(url, TOKEN, timeout=5).call("GET", "sys/seal-status")
    assert str(err.value) == (f"cannot connect to the vault at {url}; fix: start it, or point --auditready-target at "
                              "a running Vault/OpenBao")


def test_docs_say_the_proxy_variables_are_not_used() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "own-vault.md").read_text()
    assert "HTTPS_PROXY" in text and "not used" in text
