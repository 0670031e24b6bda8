"""A small Vault/OpenBao HTTP client on the standard library's http.client: it times every call, never raises on
HTTP errors, and bounds each whole request by a deadline.

Each call returns a Reply with the client-side send/receive times (UTC, ns), the HTTP status, the request id the
vault returned (successful answers carry one) and the vault's error text. Network failures become an
AuditReadyError naming the cause and the fix. Tokens live only in the request headers this module builds.

The standard library, not hvac and requests: a live audit makes about seventy calls, and those two cost 0.15 s to
import and about 1.4 ms a call more (measured on the embedded server: 2.1 ms a call against 0.8 ms). No proxy from
the environment is used (timings and the logged source address must be ours, and a token must not go through a
proxy nobody configured for this); TLS is verified against ``ca_file`` or the system's CAs, host name included.
A redirect is followed, up to five times, only within the target's own origin (scheme, host and port): the token
goes nowhere the user did not point at. One to another origin (an SSO proxy's login page, or a standby's 307 to the
active node, which OpenBao sends only where it cannot forward the request itself) is refused in one line naming
where it pointed. An answer that is not the vault's JSON (a proxy's login, maintenance or error page) is never taken
for the vault's: a 2xx, 400, 401 or 403 one is refused naming its content type, and a 5xx one says a proxy or load
balancer answered.

Read-after-write on an HA cluster: an OpenBao standby serves reads from its own copy of the storage, which may not
yet hold a write the active node just made (OpenBao's "Eventual consistency" page). From 2.7, OpenBao's answers to
writes carry ``X-Vault-Index`` (base64 JSON of its cluster and storage index); the client keeps the newest one any
answer of the run gave (one for every identity's client) and sends it back on every later request with
``X-Vault-Inconsistent: forward-active-node``, so that a standby that has not applied it forwards the request to the
active node instead of answering from stale data. A vault that sends no such index (a ``-dev`` server, HashiCorp
Vault; Vault Enterprise's index is another format, and Vault refuses the forwarding header unless its replication
stanza allows it) is sent nothing new.

``timeout`` bounds each whole request, not each socket read: a vault that trickles its answer a byte at a time
would otherwise hold a run for as long as it likes. One watchdog thread shuts a request's sockets down when its
deadline passes, and whatever arrived by then is discarded.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import http.client
import itertools
import json as jsonlib
import os
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import quote, urljoin, urlsplit

from ..errors import AuditReadyError

MAX_BODY = 64 << 20  # bytes of one answer: more is no vault's answer to anything this client asks
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_PORTS = {"http": 80, "https": 443}  # the default port of each scheme this client speaks
_READS = ("GET", "HEAD", "LIST")  # methods a vault changes nothing for: safe to send again on a new connection
INDEX_HEADER = "X-Vault-Index"
# What a standby that has not applied the index sent does with the request: hand it to the active node (OpenBao's
# "conditional forwarding"), never answer from its stale copy.
INCONSISTENT_HEADER, FORWARD = "X-Vault-Inconsistent", "forward-active-node"
_INDEX_MAX = 4096  # characters of an index worth echoing (OpenBao's is about 90): a longer value is no index
# the proxy variables other HTTP clients read: named (never their values, which may hold a password) where the
# vault cannot be reached, since this client does not use them
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_CERTIFICATE = re.compile(rb"certificate", re.IGNORECASE)  # a hop's 400 page that asks for a client certificate


class Deadline:
    """A wall-clock limit for one request. Every socket the request uses is enrolled; when the limit passes before
    the request is done, the watchdog shuts those sockets down, which ends any blocked read."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.done = False
        self.expired = False  # set only while the request was still running
        self.addresses: set[str] = set()  # the local addresses the request's connections were made from

    def __enter__(self) -> "Deadline":
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.done = True
            self._socks = []  # the watchdog keeps a done deadline until its time comes: not its sockets

    def left(self) -> float:
        """Seconds until the deadline (at least a millisecond: a socket timeout of 0 would mean non-blocking)."""
        return max(0.001, self.ends - time.monotonic())

    def enrol(self, sock: socket.socket) -> None:
        try:
            self.addresses.add(str(sock.getsockname()[0]))
        except (OSError, IndexError, TypeError):  # not connected (yet), or not an IP socket
            pass
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        """The deadline passed: unless the request is done, shut its sockets down."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            for sock in self._socks:
                _shut(sock)


class _Watchdog:
    """One daemon thread for every request's deadline (a thread a request cost 0.7 ms a call): it sleeps until the
    earliest deadline of a request still running and expires it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._pid = 0  # the process whose thread runs: a forked child starts its own

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():
                self._pid, self._heap = os.getpid(), []
                threading.Thread(target=self._run, name="auditready-deadlines", daemon=True).start()
            heapq.heappush(self._heap, (deadline.ends, next(self._order), deadline))
            if self._heap[0][2] is deadline:  # earlier than any it sleeps towards
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                left = heap[0][0] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(heap)[2].expire()


_WATCHDOG = _Watchdog()


def _shut(sock: socket.socket) -> None:
    try:
        # The plain socket's method also for a TLS socket: it acts on the descriptor and wakes a blocked read.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Broke(Exception):
    """A connection that was up failed before an answer came (reset, closed, or an answer that is no HTTP)."""


def client_certificate() -> tuple[str, str]:
    """The client certificate and key a vault's listener may ask for (tls_require_and_verify_client_cert), as the
    vault CLI takes them: from the environment (VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or BAO_ ones), never an
    option. ("", "") when none is set."""
    import os

    def env(name: str) -> str:
        return os.environ.get(f"BAO_{name}") or os.environ.get(f"VAULT_{name}") or ""

    return env("CLIENT_CERT"), env("CLIENT_KEY")


class _Pool:
    """Kept-alive connections to the vault, shared by every identity's client of one run; the TLS context; and the
    local addresses connections were made from."""

    def __init__(self, ca_file: Optional[str]) -> None:
        self.ca_file = ca_file
        self._tls: Optional[ssl.SSLContext] = None
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self.addresses: set[str] = set()
        self.index = ""  # the newest X-Vault-Index an answer of the run carried ("" while none did)

    def note_index(self, value: Optional[str]) -> None:
        """Keep ``value`` (an answer's X-Vault-Index) if it is OpenBao's and newer than the one kept: two of one
        cluster compare by storage index; one of another cluster (a load balancer over two) replaces it, as the
        later answer's. Any other value is not kept."""
        new = _index_position((value or "").strip())
        if new is None:
            return
        with self._lock:
            old = _index_position(self.index)
            if old is None or old[0] != new[0] or new[1] > old[1]:
                self.index = (value or "").strip()

    def tls(self) -> ssl.SSLContext:
        if self._tls is None:
            tls = ssl.create_default_context(cafile=self.ca_file or None)
            cert, key = client_certificate()
            if cert:
                try:
                    tls.load_cert_chain(cert, key or None)
                except (OSError, ssl.SSLError) as exc:
                    raise AuditReadyError(f"the client certificate {cert} (VAULT_CLIENT_CERT) and its key "
                                          f"{key or '(in the same file)'} (VAULT_CLIENT_KEY) cannot be loaded: "
                                          f"{getattr(exc, 'strerror', None) or exc.__class__.__name__}",
                                          "point VAULT_CLIENT_CERT and VAULT_CLIENT_KEY at a PEM certificate and "
                                          "its unencrypted private key") from None
            self._tls = tls
        return self._tls

    def take(self, key: tuple[str, str, int]) -> Optional[http.client.HTTPConnection]:
        """An idle connection to ``key`` the server has not closed meanwhile, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                return None
            if not _dropped(conn.sock):
                return conn
            conn.close()

    def give(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


def _index_position(index: str) -> Optional[tuple[str, int]]:
    """The cluster and storage index an OpenBao X-Vault-Index names (base64 JSON {"cluster", "value"}), or None for
    any other value."""
    if not index or len(index) > _INDEX_MAX:
        return None
    try:
        decoded = jsonlib.loads(base64.b64decode(index, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, dict):
        return None
    cluster, value = decoded.get("cluster"), decoded.get("value")
    if not isinstance(cluster, str) or not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    return cluster, int(value)


def _dropped(sock: Any) -> bool:
    """Whether a kept-alive connection can no longer carry a request: closed by the server (readable at its end),
    or holding bytes nobody asked for."""
    if sock is None:
        return True
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


_MULTI = re.compile(r"^\d+ errors? occurred:\s*")


def _shown(text: str, limit: int = 80) -> str:
    """A header value or host name fit for the one-line error: printable ASCII only, cut at ``limit``."""
    kept = "".join(c if " " <= c <= "~" else "?" for c in text.strip())
    return kept if len(kept) <= limit else kept[:limit] + "..."


def _plain(error: str) -> str:
    """One line for the vault's error text: Go's multierror ("1 error occurred:\\n\\t* permission denied\\n\\n")
    becomes its items joined by "; " ("permission denied")."""
    error = _MULTI.sub("", error.strip())
    items = [ln.strip().lstrip("*").strip() for ln in error.splitlines()]
    return "; ".join(i for i in items if i)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Optional[dict[str, Any]]
    request_id: str
    error: str
    sent_ns: int
    received_ns: int
    # the request carried the run's X-Vault-Index (with forward-active-node): no node answered it from before the
    # run's newest write, unless the vault ignores the header
    index_sent: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        d = (self.body or {}).get("data")
        return d if isinstance(d, dict) else {}


class VaultClient:
    def __init__(
        self,
        url: str,
        token: Optional[str],
        *,
        timeout: float,
        namespace: Optional[str] = None,
        ca_file: Optional[str] = None,
        _pool: Optional[_Pool] = None,
    ) -> None:
        if ca_file and _pool is None:
            _check_ca_file(ca_file)
        self.url = url
        self.timeout = timeout
        self._token = token
        self._namespace = namespace.strip("/") if namespace else None
        self._ca_file = ca_file
        # one pool for every identity's client of this connection (with_token, in_root)
        self._pool = _pool if _pool is not None else _Pool(ca_file)
        parts = urlsplit(url)
        self._scheme = parts.scheme.lower()
        self._host = parts.hostname or ""
        try:
            self._port = parts.port or _PORTS.get(self._scheme, 80)
        except ValueError:  # a port that is no number
            self._port = 0
        self._prefix = parts.path.rstrip("/")  # a vault served under a path (behind a proxy)

    def with_token(self, token: str) -> "VaultClient":
        """A client for another identity, sharing this one's connection pool."""
        return VaultClient(self.url, token, timeout=self.timeout, namespace=self._namespace, ca_file=self._ca_file,
                           _pool=self._pool)

    @property
    def local_addresses(self) -> list[str]:
        """The addresses this client's connections to the vault were made from: what the vault logs as
        remote_address when nothing in between (a proxy, a load balancer, NAT) stands in for them."""
        return sorted(self._pool.addresses)

    @property
    def namespace(self) -> str:
        """The namespace every call is made in ("" for the root namespace)."""
        return self._namespace or ""

    def in_root(self) -> "VaultClient":
        """The same identity in the root namespace (where Vault and OpenBao keep the audit devices), sharing this
        client's connection pool."""
        if not self._namespace:
            return self
        return VaultClient(self.url, self._token, timeout=self.timeout, ca_file=self._ca_file, _pool=self._pool)

    def in_namespace(self, namespace: str) -> "VaultClient":
        """The same identity in ``namespace`` ("" for the root), sharing this client's connection pool."""
        return VaultClient(self.url, self._token, timeout=self.timeout, namespace=namespace or None,
                           ca_file=self._ca_file, _pool=self._pool)

    def call(self, method: str, path: str, json: Optional[dict[str, Any]] = None,
             headers: Optional[Mapping[str, str]] = None) -> Reply:
        if self._scheme not in ("http", "https") or not self._host or not self._port:
            raise AuditReadyError(f"cannot send requests to {self.url}: not an http:// or https:// URL with a host",
                                  "check the URL (e.g. https://vault.example.com:8200)")
        send: dict[str, str] = {"X-Vault-Request": "true"}  # as the vault CLI and hvac send it (an SSRF guard)
        if self._token:
            send["X-Vault-Token"] = self._token
        if self._namespace:
            send["X-Vault-Namespace"] = self._namespace
        newest = self._pool.index
        index_sent = bool(newest)
        if newest:  # an HA cluster's index of the run's newest write: no answer from before it
            send[INDEX_HEADER] = newest
            send[INCONSISTENT_HEADER] = FORWARD
        body: Optional[bytes] = None
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
            send["Content-Type"] = "application/json"
        if headers:
            send.update(headers)
        target = re.sub("/{2,}", "/", "/v1/" + path.lstrip("/"))
        sent = time.time_ns()
        deadline = Deadline(self.timeout)
        try:
            with deadline:
                status, content, got = self._send(method, target, body, send, deadline)
        except (_Broke, OSError, http.client.HTTPException, ValueError) as exc:
            # whatever a broken or hostile answer raises, it is one line, never a traceback
            raise self._failure(method, path, exc, deadline.expired) from None
        finally:
            self._pool.addresses.update(deadline.addresses)
        if deadline.expired:  # the answer may have been cut off at the deadline: never trust it
            raise self._failure(method, path, None, True)
        received = time.time_ns()
        self._pool.note_index(got.get("index"))
        if status == 400 and content.startswith(b"Client sent an HTTP request to an HTTPS server"):
            raise AuditReadyError(f"the vault at {self.url} serves HTTPS on that port",
                                  "use https:// in --auditready-target (and ca_file for a private CA)")
        reply: Optional[dict[str, Any]] = None
        if content:
            try:
                parsed = jsonlib.loads(content)
                reply = parsed if isinstance(parsed, dict) else None
            except ValueError:  # also bytes that are no UTF-8
                reply = None
        if status == 400 or (reply is None and content and (200 <= status < 300 or status in (401, 403))):
            self._refuse_hop_page(method, target, status, content, reply is None, got)
        errors = (reply or {}).get("errors")
        error = "; ".join(_plain(str(e)) for e in errors) if isinstance(errors, list) else ""
        if reply is None and status >= 500:  # every vault 5xx has a JSON body: this one is a hop's own page
            error = (f"not the vault's answer ({self._page(got)}): a proxy or load balancer in front of the vault "
                     "answered, as one does when it cannot reach the vault")
        if status == 503 and "sealed" in error.lower():
            raise AuditReadyError(f"the vault at {self.url} is sealed", "unseal it, then run the audit again")
        request_id = (reply or {}).get("request_id")
        return Reply(status=status, body=reply, request_id=request_id if isinstance(request_id, str) else "",
                     error=error, sent_ns=sent, received_ns=received, index_sent=index_sent)

    @staticmethod
    def _page(got: Mapping[str, str]) -> str:
        """What a page that is not the vault's was: its content type and the Server header, as far as given."""
        kind = _shown(got.get("type", ""), 60) or "no content type"
        server = _shown(got.get("server", ""), 40)
        return f"{kind}, Server: {server}" if server else kind

    def _refuse_hop_page(self, method: str, target: str, status: int, content: bytes, not_json: bool,
                         got: Mapping[str, str]) -> None:
        """Raise for an answer a hop gave instead of the vault (never its body, which a login page may fill with
        anything): a 2xx, 400, 401 or 403 that is not the vault's JSON, said as a request for a client certificate
        where a 400 page names one. A vault's own 400 (a JSON error document) passes."""
        asks_cert = status == 400 and not_json and bool(_CERTIFICATE.search(content[:4096]))  # (a vault's own
        # JSON 400 may name a certificate: a PKI or cert auth error)
        if not (asks_cert or not_json):
            return
        what = f"the answer to {method} {target} from {self.url} is not the vault's ({status}, {self._page(got)})"
        if asks_cert:
            sent = client_certificate()[0]
            raise AuditReadyError(f"{what}: a proxy in front of the vault asks for a client certificate and "
                                  + (f"refused the one sent ({sent})" if sent else "none was sent"),
                                  "set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY to a certificate and key that the "
                                  "proxy trusts, as for the vault CLI")
        if status == 400:
            raise AuditReadyError(f"{what}: a proxy or load balancer in front of the vault refused the request",
                                  "if it asks for a client certificate, set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY "
                                  "as for the vault CLI; else check its rules for /v1/, or point "
                                  "--auditready-target at the vault itself")
        if status in (401, 403):
            raise AuditReadyError(f"{what}: a proxy in front of the vault refused the request by its own "
                                  "authentication or access rules",
                                  "let the proxy pass /v1/ to the vault with the X-Vault-Token header, or point "
                                  "--auditready-target at the vault itself")
        raise AuditReadyError(f"{what}: a login (SSO), maintenance or other page answered instead of the vault's "
                              "API", "point --auditready-target at the vault's API address (VAULT_ADDR), or let the "
                              "hop in front of it pass /v1/ to the vault")

    def _send(self, method: str, target: str, body: Optional[bytes], headers: dict[str, str],
              deadline: Deadline) -> tuple[int, bytes, dict[str, str]]:
        """The status, body and headers of note (see _exchange) of ``method`` ``target``, redirects within the
        target's origin followed."""
        scheme, host, port, path = self._scheme, self._host, self._port, self._prefix + target
        for _ in range(MAX_REDIRECTS + 1):
            status, content, got = self._once(scheme, host, port, method, path, body, headers, deadline)
            location = got.get("location")
            if status not in _REDIRECTS or not location:
                return status, content, got
            netloc = f"[{host}]" if ":" in host else host  # an IPv6 address
            here = f"{scheme}://{netloc}{'' if port == _PORTS[scheme] else f':{port}'}"
            to = urlsplit(urljoin(here + path, location))
            if to.scheme not in ("http", "https") or not to.hostname or (scheme == "https" and to.scheme != "https"):
                raise AuditReadyError(f"the vault at {self.url} redirected {method} {target} to a URL this client "
                                      "does not follow (only http and https, never from https to http)",
                                      "point --auditready-target at the vault's active node (its api_addr)")
            to_port = to.port or _PORTS[to.scheme]
            if (to.scheme, to.hostname, to_port) != (self._scheme, self._host, self._port):
                netloc = f"[{to.hostname}]" if ":" in to.hostname else to.hostname
                origin = _shown(f"{to.scheme}://{netloc}{'' if to_port == _PORTS[to.scheme] else f':{to_port}'}")
                raise AuditReadyError(
                    f"the vault at {self.url} redirected {method} {target} to another address, {origin} (a proxy's "
                    "login page or another service; a standby that cannot forward sends its clients to the active "
                    "node so): not followed, since the token goes only where --auditready-target points",
                    f"point --auditready-target at the vault's API itself ({origin} if that is its active node's "
                    "api_addr), or let the proxy in front of it pass /v1/ to the vault without a login")
            if status == 303 or (status in (301, 302) and method == "POST"):  # as browsers and requests do
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            scheme, host, port = to.scheme, to.hostname, to_port
            path = (to.path or "/") + (f"?{to.query}" if to.query else "")
        raise AuditReadyError(f"the vault at {self.url} redirected {method} {target} more than {MAX_REDIRECTS} times",
                              "point --auditready-target at the vault's active node (its api_addr)")

    def _once(self, scheme: str, host: str, port: int, method: str, path: str, body: Optional[bytes],
              headers: dict[str, str], deadline: Deadline) -> tuple[int, bytes, dict[str, str]]:
        """One request on a kept-alive connection (or a new one): status, body and headers of note (_exchange).
        Failures after the connection was up are _Broke, except timeouts and TLS errors, which say more as they
        are. A kept-alive connection the server closed as the request left (its idle timeout) is replaced once for a
        request that reads: one that writes may have been done, and is never sent twice."""
        key = (scheme, host, port)
        conn = self._pool.take(key)
        if conn is not None and conn.sock is not None:
            deadline.enrol(conn.sock)
            try:
                return self._exchange(key, conn, method, path, body, headers, deadline)
            except _Broke as exc:
                if method not in _READS or not isinstance(exc.__cause__, (ConnectionResetError, BrokenPipeError)):
                    raise
        return self._exchange(key, self._connect(scheme, host, port, deadline), method, path, body, headers,
                              deadline)

    def _exchange(self, key: tuple[str, str, int], conn: http.client.HTTPConnection, method: str, path: str,
                  body: Optional[bytes], headers: dict[str, str], deadline: Deadline) -> tuple[
                      int, bytes, dict[str, str]]:
        """The status, body and the headers this client reads (as "location", "index", "type" and "server")."""
        try:
            if conn.sock is not None:
                conn.sock.settimeout(deadline.left())  # a silent server: the read ends by itself at the deadline
            conn.request(method, quote(path, safe="!#$%&'()*+,/:;=?@[]~"), body=body, headers=headers)
            resp = conn.getresponse()
            content = resp.read(MAX_BODY + 1)
        except (socket.timeout, TimeoutError, ssl.SSLError):
            conn.close()
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            raise _Broke(str(exc)) from exc
        if len(content) > MAX_BODY:
            conn.close()
            raise AuditReadyError(f"the vault at {self.url} answered {method} {path} with more than "
                                  f"{MAX_BODY >> 20} MiB", "check that the URL is the vault's, not another service's")
        if resp.isclosed() and not resp.will_close and conn.sock is not None:
            self._pool.give(key, conn)
        else:
            conn.close()
        names = {"location": "Location", "index": INDEX_HEADER, "type": "Content-Type", "server": "Server"}
        got = {k: v for k, name in names.items() if (v := resp.getheader(name)) is not None}
        return resp.status, content, got

    def _connect(self, scheme: str, host: str, port: int, deadline: Deadline) -> http.client.HTTPConnection:
        """A new connection, its sockets enrolled with ``deadline`` before a TLS handshake can stall. The TLS context
        (and the client certificate it loads, which may be refused) comes first: no socket is left open."""
        context = self._pool.tls() if scheme == "https" else None
        sock = socket.create_connection((host, port), timeout=deadline.left())
        deadline.enrol(sock)
        # http.client sends a request's headers and body apart: without this, Nagle's algorithm holds the body until
        # the server's delayed ACK (40 ms a call), as http.client's own connect() avoids
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn: http.client.HTTPConnection
        if context is not None:
            tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            deadline.enrol(tls)
            try:
                tls.do_handshake()
            except BaseException:
                tls.close()
                raise
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
            conn.sock = tls
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            conn.sock = sock
        return conn

    def _failure(self, method: str, path: str, exc: Optional[BaseException], expired: bool) -> AuditReadyError:
        if expired or isinstance(exc, (socket.timeout, TimeoutError)):
            return AuditReadyError(
                f"the vault at {self.url} did not answer {method} {path} within {self.timeout:g} s",
                "check that it is up and not overloaded, or raise request_timeout",
            )
        if isinstance(exc, ssl.SSLError):
            return self._tls_failure(str(exc))
        if isinstance(exc, _Broke) and self._reachable():
            return AuditReadyError(
                f"the connection to the vault at {self.url} broke during {method} {path} (reset or closed before "
                "an answer came)",
                "check the proxy, load balancer or network between here and the vault (idle and request "
                "timeouts, connection limits), then run the audit again",
            )
        if isinstance(exc, (_Broke, OSError)):
            proxies = sorted({n.upper() for n in _PROXY_VARIABLES if os.environ.get(n)})
            ignored = (f" ({' and '.join(proxies)} {'is' if len(proxies) == 1 else 'are'} set and not used: the "
                       "token goes only where --auditready-target points, never through a proxy)") if proxies else ""
            return AuditReadyError(
                f"cannot connect to the vault at {self.url}{ignored}",
                "start it, or point --auditready-target at a running Vault/OpenBao"
                + (" that this host reaches without a proxy (run the audit from inside the vault's network)"
                   if proxies else ""),
            )
        return AuditReadyError(f"request to {self.url} failed: {type(exc).__name__}", "check the URL")

    def _reachable(self) -> bool:
        """Whether a new TCP connection to the vault's address is accepted (within 2 s): after a connection broke,
        it tells a vault that went away from a hop that reset one connection."""
        try:
            with socket.create_connection((self._host, self._port), timeout=min(self.timeout, 2.0)):
                return True
        except OSError:
            return False

    def _tls_failure(self, text: str) -> AuditReadyError:
        """One line for a failed TLS handshake, naming which of the usual causes OpenSSL reported."""
        host = self._host or self.url
        low = text.lower()
        if "mismatch" in low or "doesn't match" in low or "not valid for" in low:
            return AuditReadyError(f"TLS verification failed for {self.url}: the vault's certificate is not issued "
                                   f"for {host} (hostname mismatch)",
                                   "use a host name the certificate names in --auditready-target, or re-issue the "
                                   "certificate with that name")
        if "wrong version number" in low or "record layer failure" in low or "unknown protocol" in low:
            return AuditReadyError(f"the vault at {self.url} does not answer TLS on that port",
                                   "use http:// in --auditready-target if the listener has tls_disable, or the "
                                   "port of its TLS listener")
        if "expired" in low:
            return AuditReadyError(f"TLS verification failed for {self.url}: the vault's certificate has expired",
                                   "renew the vault's TLS certificate")
        if "certificate required" in low or "alert bad certificate" in low or "alert unknown ca" in low:
            sent = client_certificate()[0]
            return AuditReadyError(f"the vault at {self.url} asks for a client certificate (its listener's "
                                   "tls_require_and_verify_client_cert) and " + (
                                       f"refused the one sent ({sent})" if sent else "none was sent"),
                                   "set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY to a certificate and key that the "
                                   "listener's tls_client_ca_file trusts, as for the vault CLI")
        if "verify failed" not in low:  # no verdict on the vault's certificate: the handshake broke otherwise
            return AuditReadyError(f"the TLS handshake with the vault at {self.url} failed ({text[:160]})",
                                   "if the listener asks for a client certificate "
                                   "(tls_require_and_verify_client_cert), set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY "
                                   "as for the vault CLI; else check the "
                                   "TLS settings of the listener and of any proxy before it")
        if self._ca_file:
            return AuditReadyError(f"TLS verification failed for {self.url}: its certificate is not signed by a CA "
                                   f"in ca_file {self._ca_file}",
                                   "set ca_file in [tool.auditready] to the CA bundle that signed the vault's "
                                   "certificate (VAULT_CACERT of your vault CLI)")
        return AuditReadyError(f"TLS verification failed for {self.url}",
                               "set ca_file in [tool.auditready] to the CA bundle that signed the vault's certificate "
                               "(no CA this system trusts did)")

    @property
    def consistency_index(self) -> str:
        """The newest X-Vault-Index the vault gave this run, sent back on every request ("" while it gave none of
        OpenBao's kind)."""
        return self._pool.index

    def close(self) -> None:
        self._pool.close()


def _check_ca_file(ca_file: str) -> None:
    """ca_file must be a readable PEM bundle with at least one certificate: otherwise every request would fail
    with an error that blames the URL or the vault."""
    import ssl

    fix = "set ca_file in [tool.auditready] to the PEM bundle that signed the vault's certificate"
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
    except FileNotFoundError:
        raise AuditReadyError(f"the ca_file {ca_file} does not exist", fix) from None
    except (ssl.SSLError, ValueError):
        raise AuditReadyError(f"the ca_file {ca_file} holds no PEM certificate", fix) from None
    except OSError as exc:
        raise AuditReadyError(f"the ca_file {ca_file} cannot be read ({exc.strerror or exc})", fix) from None
    if not ctx.cert_store_stats().get("x509"):
        raise AuditReadyError(f"the ca_file {ca_file} holds no CA certificate", fix)
