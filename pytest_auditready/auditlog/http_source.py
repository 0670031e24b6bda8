"""The embedded target's ``http`` audit device, received by the plugin itself (``audit_transport = "http"``, or an
``http`` audit stanza in ``vault_config``): OpenBao POSTs each entry to a URI and counts it logged on a 2xx answer.

``HttpReceiver`` serves HTTP/1.1 on an ephemeral loopback port, bound before the server starts. Each POST's body is
one entry (the device's JSON writer ends it with a newline); it is appended to a spool file (0600, created with
O_EXCL in the server's 0700 folder) before the 204 answer goes back, so an entry the vault counts as logged is in
the spool. The spool is then an ordinary log for the checks, the sealer and ``keep_log``; ``SocketLogSource``
reads it, with what the hop did during the run as unreadable lines named ``http:ADDRESS``: a body cut short (the
connection ended before its Content-Length), an entry over ``MAX_LINE_BYTES`` (refused with 413: the vault's
request then fails unless another device logs it), a POST without a length (411).

The same receiver is the local stand-in for the http devices of a ``vault_config`` that are not audited: the
throw-away server must not post to the production collector (nor fail to start because a CI runner cannot reach
it). For the fail-closed drill, ``break_`` stops listening and closes every connection (the device's POSTs then
fail, as against a collector that went away), ``restore`` listens on the same port again.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from pathlib import Path
from typing import Any, Optional

from ..errors import AuditReadyError
from .lines import MAX_LINE_BYTES
from .socket_source import SpoolReceiver

_TICK = 0.05
_DISCARD_MAX = 256 << 20  # an over-long entry's body is read and dropped up to this size, then the answer goes
# Seconds a connection may stay silent (mid-body, or idle between keep-alive requests): longer than the 90 s after
# which Go's client drops an idle connection itself. Were the receiver to close one first, a POST could be written
# into it just as it closes, and Go does not retry a POST: the vault's request would fail for nothing.
_READ_TIMEOUT = 120.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: "HttpReceiver"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (the sender went away mid-answer, a timeout): never a traceback on stderr;
        what the hop did to an entry is already one of the receiver's events."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's client expects
    timeout = _READ_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.receiver._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.receiver._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # never on stderr: a request line is no business of the run's output

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        r = self.server.receiver
        r._begin()
        try:
            self._post(r)
        finally:
            r._end()

    def _post(self, r: "HttpReceiver") -> None:
        length = self.headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()):  # ("²" is a digit to isdigit, and int() refuses it)
            r._event("a POST came without a Content-Length; it was refused (411)")
            self.close_connection = True
            self._answer(411)
            return
        n = int(length)
        if n > MAX_LINE_BYTES:
            r._event(f"an entry of {n} bytes, over the {MAX_LINE_BYTES} byte limit, was refused (413)")
            self.close_connection = True
            left = n if n <= _DISCARD_MAX else 0  # read (and dropped) so that the sender sees the answer
            while left > 0:
                try:
                    got = self.rfile.read(min(left, 1 << 16))
                except OSError:
                    return
                if not got:
                    return
                left -= len(got)
            self._answer(413)
            return
        try:
            body = self.rfile.read(n)
        except OSError:
            body = b""
        if len(body) < n:
            r._event(f"a connection ended in the middle of an entry: {len(body)} of its {n} bytes came; it was not "
                     "spooled")
            self.close_connection = True
            return
        r._spool(body)
        self._answer(204)

    def _refuse(self) -> None:
        self.close_connection = True
        self._answer(405)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse


class HttpReceiver(SpoolReceiver):
    """Receive an http audit device's entries on 127.0.0.1 into ``spool``. ``start`` before the vault starts;
    ``stop`` (idempotent) after it has stopped."""

    kind = "http"

    def __init__(self, spool: Path, device: str = "") -> None:
        super().__init__(spool, device)
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._conns: set[socket.socket] = set()
        self._busy = 0  # POSTs being handled

    @property
    def uri(self) -> str:
        return f"http://{self.address}/audit"

    def _what(self) -> str:
        return f"the embedded http audit device's POSTs ({self.uri}, received by auditready)"

    def start(self) -> None:
        self._open_spool()
        self._listen(0)

    def _listen(self, port: int) -> None:
        server = _Server(("127.0.0.1", port), _Handler)
        server.receiver = self
        self.port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": _TICK},
                                  name="auditready-http-audit", daemon=True)
        with self._lock:
            self._server, self._thread = server, thread
        thread.start()

    # -- called by the handlers ---------------------------------------------------------------------------------
    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    def _begin(self) -> None:
        with self._lock:
            self._busy += 1

    def _end(self) -> None:
        with self._lock:
            self._busy -= 1

    def _spool(self, body: bytes) -> None:
        with self._lock:
            self._append(body if body.endswith(b"\n") else body + b"\n")

    # -- the run --------------------------------------------------------------------------------------------------
    def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until no POST is being spooled. (An entry the vault counted as logged was
        spooled before its answer: nothing else can be on the way once the vault has answered.)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy:
                    return
            time.sleep(0.01)

    def _shut(self) -> None:
        with self._lock:
            server, thread, self._server, self._thread = self._server, self._thread, None, None
            conns = list(self._conns)
        if server is not None:
            server.shutdown()
            server.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=2)

    def break_(self) -> None:
        """The drill: stop listening and close every connection, as a collector that went away."""
        self._shut()

    def restore(self) -> None:
        """Listen on the same port again."""
        with self._lock:
            if self._server is not None:
                return
        try:
            self._listen(self.port)
        except OSError as exc:
            raise AuditReadyError(f"the http audit receiver cannot listen on {self.address} again: {exc.strerror}",
                                  "retry the run (another program took the port)") from None

    def stop(self, timeout: float = 2.0) -> None:
        """Stop listening, end every connection, close the spool."""
        self.settle(timeout)
        self._shut()
        self._close_spool()
