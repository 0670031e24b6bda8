"""The only module that imports hvac: a small client that times every call and never raises on HTTP errors.

Each call returns a Reply with the client-side send/receive times (UTC, ns), the HTTP status, the request id the
vault returned (successful answers carry one) and the vault's error text. Network failures become an
AuditReadyError naming the cause and the fix. Tokens live only inside the adapter's headers.

``timeout`` bounds each whole request, not each socket read: a vault that trickles its answer a byte at a time
would otherwise hold a run for as long as it likes. A watchdog shuts the request's sockets down when the deadline
passes, and whatever arrived by then is discarded.
"""

from __future__ import annotations

import functools
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..errors import AuditReadyError

_local = threading.local()  # the Deadline of the request this thread is making, if any


class Deadline:
    """A wall-clock limit for one request. The connection classes below enrol every socket the request uses; when
    the limit passes before the request is done, those sockets are shut down, which ends any blocked read."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._done = threading.Event()
        self.expired = False  # set only while the request was still running
        self.addresses: set[str] = set()  # the local addresses the request's connections were made from

    def __enter__(self) -> "Deadline":
        _local.deadline = self
        threading.Thread(target=self._watch, name="auditready-deadline", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done.set()
        _local.deadline = None

    def enrol(self, sock: Optional[socket.socket]) -> None:
        if sock is None:
            return
        try:
            self.addresses.add(str(sock.getsockname()[0]))
        except (OSError, IndexError, TypeError):  # not connected (yet), or not an IP socket
            pass
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        while True:  # again until the request ends: a socket may still be on its way (a connect in progress)
            with self._lock:
                if self._done.is_set():
                    return
                self.expired = True
                for sock in self._socks:
                    _shut(sock)
            if self._done.wait(0.05):
                return


def _shut(sock: socket.socket) -> None:
    try:
        # The plain socket's method also for a TLS socket: it acts on the descriptor and wakes a blocked read.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _enrol(sock: Optional[socket.socket]) -> None:
    deadline: Optional[Deadline] = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.enrol(sock)


@functools.lru_cache(maxsize=None)
def _deadline_adapter_class() -> Any:
    """A requests adapter whose connections enrol their sockets with the current Deadline: new ones as soon as
    they exist (before a TLS handshake), reused ones when a request starts on them."""
    import requests.adapters
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Conn(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _enrol(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> Any:
            _enrol(self.sock)
            return super().request(*args, **kwargs)

    # HTTPSConnection is an HTTPConnection: the same two overrides, reached through the MRO
    class TLSConn(Conn, HTTPSConnection):
        pass

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    return Adapter


_MULTI = re.compile(r"^\d+ errors? occurred:\s*")


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
        _session: Any = None,
    ) -> None:
        import hvac.adapters  # lazy: only a live audit needs it
        import requests

        if ca_file and _session is None:
            _check_ca_file(ca_file)
        self.url = url
        self.timeout = timeout
        self._namespace = namespace.strip("/") if namespace else None
        namespace = self._namespace
        self._ca_file = ca_file
        if _session is None:
            _session = requests.Session()
            adapter = _deadline_adapter_class()()
            _session.mount("http://", adapter)
            _session.mount("https://", adapter)
            # On the session, not only the adapter: hvac's RawAdapter takes a given session's verify over its own
            # argument, and a fresh session's is True (the system CAs), which would drop ca_file.
            _session.verify = ca_file if ca_file else True
        self._session = _session
        if not isinstance(getattr(_session, "auditready_addresses", None), set):
            _session.auditready_addresses = set()  # shared by every identity's client of this connection pool
        # No proxy from the environment between us and the vault: timings and the logged source address
        # must be ours, and a token must not go through a proxy nobody configured for this.
        self._session.trust_env = False
        self._adapter = hvac.adapters.RawAdapter(
            base_uri=url,
            token=token,
            verify=ca_file if ca_file else True,
            timeout=timeout,
            namespace=namespace,
            session=self._session,
            ignore_exceptions=True,
        )

    def with_token(self, token: str) -> "VaultClient":
        """A client for another identity, sharing this one's connection pool."""
        return VaultClient(
            self.url,
            token,
            timeout=self.timeout,
            namespace=self._namespace,
            ca_file=self._ca_file,
            _session=self._session,
        )

    @property
    def local_addresses(self) -> list[str]:
        """The addresses this client's connections to the vault were made from: what the vault logs as
        remote_address when nothing in between (a proxy, a load balancer, NAT) stands in for them."""
        return sorted(self._session.auditready_addresses)

    @property
    def namespace(self) -> str:
        """The namespace every call is made in ("" for the root namespace)."""
        return self._namespace or ""

    def in_root(self) -> "VaultClient":
        """The same identity in the root namespace (where Vault and OpenBao keep the audit devices), sharing this
        client's connection pool."""
        if not self._namespace:
            return self
        return VaultClient(self.url, self._adapter.token, timeout=self.timeout, ca_file=self._ca_file,
                           _session=self._session)

    def call(self, method: str, path: str, json: Optional[dict[str, Any]] = None,
             headers: Optional[Mapping[str, str]] = None) -> Reply:
        import http.client

        import requests
        import urllib3.exceptions

        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = json
        if headers:
            kwargs["headers"] = dict(headers)
        sent = time.time_ns()
        deadline = Deadline(self.timeout)
        try:
            with deadline:
                resp = self._adapter.request(method, "/v1/" + path.lstrip("/"), raise_exception=False, **kwargs)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                OSError) as exc:  # whatever a broken or hostile answer raises, it is one line, never a traceback
            raise self._failure(method, path, exc, deadline.expired) from None
        self._session.auditready_addresses.update(deadline.addresses)
        if deadline.expired:  # the answer may have been cut off at the deadline: never trust it
            raise self._failure(method, path, None, True)
        received = time.time_ns()
        if resp.status_code == 400 and resp.content.startswith(b"Client sent an HTTP request to an HTTPS server"):
            raise AuditReadyError(f"the vault at {self.url} serves HTTPS on that port",
                                  "use https:// in --auditready-target (and ca_file for a private CA)")
        body: Optional[dict[str, Any]] = None
        if resp.content:
            try:
                parsed = resp.json()
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        errors = (body or {}).get("errors")
        error = "; ".join(_plain(str(e)) for e in errors) if isinstance(errors, list) else ""
        if resp.status_code == 503 and "sealed" in error.lower():
            raise AuditReadyError(f"the vault at {self.url} is sealed", "unseal it, then run the audit again")
        request_id = (body or {}).get("request_id")
        return Reply(
            status=resp.status_code,
            body=body,
            request_id=request_id if isinstance(request_id, str) else "",
            error=error,
            sent_ns=sent,
            received_ns=received,
        )

    def _failure(self, method: str, path: str, exc: Optional[Exception], expired: bool) -> AuditReadyError:
        import requests

        if expired or isinstance(exc, requests.exceptions.Timeout):
            return AuditReadyError(
                f"the vault at {self.url} did not answer {method} {path} within {self.timeout:g} s",
                "check that it is up and not overloaded, or raise request_timeout",
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return self._tls_failure(str(exc))
        if isinstance(exc, requests.exceptions.ConnectionError) and _broke_after_connecting(exc) and \
                self._reachable():
            return AuditReadyError(
                f"the connection to the vault at {self.url} broke during {method} {path} (reset or closed before "
                "an answer came)",
                "check the proxy, load balancer or network between here and the vault (idle and request "
                "timeouts, connection limits), then run the audit again",
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return AuditReadyError(
                f"cannot connect to the vault at {self.url}",
                "start it, or point --auditready-target at a running Vault/OpenBao",
            )
        return AuditReadyError(f"request to {self.url} failed: {type(exc).__name__}", "check the URL")

    def _reachable(self) -> bool:
        """Whether a new TCP connection to the vault's address is accepted (within 2 s): after a connection broke,
        it tells a vault that went away from a hop that reset one connection."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=min(self.timeout, 2.0)):
                return True
        except OSError:
            return False

    def _tls_failure(self, text: str) -> AuditReadyError:
        """One line for a failed TLS handshake, naming which of the usual causes OpenSSL reported."""
        from urllib.parse import urlsplit

        host = urlsplit(self.url).hostname or self.url
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
        if self._ca_file:
            return AuditReadyError(f"TLS verification failed for {self.url}: its certificate is not signed by a CA "
                                   f"in ca_file {self._ca_file}",
                                   "set ca_file in [tool.auditready] to the CA bundle that signed the vault's "
                                   "certificate (VAULT_CACERT of your vault CLI)")
        return AuditReadyError(f"TLS verification failed for {self.url}",
                               "set ca_file in [tool.auditready] to the CA bundle that signed the vault's certificate "
                               "(no CA this system trusts did)")

    def close(self) -> None:
        self._session.close()


def _broke_after_connecting(exc: Exception) -> bool:
    """Whether a requests ConnectionError came from a connection that was up and then reset or closed (the vault
    or a hop in between was reached), not from one that could not be made (refused, no route, no such host)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

    cause: Any = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    if isinstance(cause, NewConnectionError):
        return False
    return isinstance(cause, ProtocolError)


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
