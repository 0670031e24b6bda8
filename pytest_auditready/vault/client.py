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

        self.url = url
        self.timeout = timeout
        self._namespace = namespace
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
        if deadline.expired:  # the answer may have been cut off at the deadline: never trust it
            raise self._failure(method, path, None, True)
        received = time.time_ns()
        body: Optional[dict[str, Any]] = None
        if resp.content:
            try:
                parsed = resp.json()
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        errors = (body or {}).get("errors")
        error = "; ".join(str(e).strip() for e in errors) if isinstance(errors, list) else ""
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
            return AuditReadyError(
                f"TLS verification failed for {self.url}",
                "set ca_file in [tool.auditready] to the CA bundle that signed the vault's certificate",
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return AuditReadyError(
                f"cannot connect to the vault at {self.url}",
                "start it, or point --auditready-target at a running Vault/OpenBao",
            )
        return AuditReadyError(f"request to {self.url} failed: {type(exc).__name__}", "check the URL")

    def close(self) -> None:
        self._session.close()
