"""The embedded target's ``socket`` audit device, received by the plugin itself: no file device, no file the vault
writes (``embedded_audit = "socket"``, or a socket stanza in ``vault_config``).

``SocketReceiver`` listens on an ephemeral loopback TCP port, bound before the server (and so the device) starts;
OpenBao's socket device dials it and writes one JSON entry a line. One thread receives every connection (a selector
with a short timeout, so that nothing blocks) and appends each whole line to a spool file (0600, created with
O_EXCL in the server's 0700 folder), which is then an ordinary log for the checks, the sealer and ``keep_log``.

What the hop did during the run is kept as events, each an unreadable line named ``socket:ADDRESS`` that says
what happened (``required_fields`` owns it) and said in the hop's name too, which findings about missing entries
(``completeness``) carry: a connection that closed in the middle of a line (what was cut is never spooled), a line
over ``MAX_LINE_BYTES``, and a connection the sender closed while the run's entries flowed (OpenBao documents that
its TCP socket device then omits an entry: the one it wrote into the dead connection, which it counts as logged).
Closes before the run began or after its log was read (the vault stopping), and of a connection that carried only
the device's enable test (OpenBao closes that one when it likes), are not the run's.

For the fail-closed drill, ``break_`` stops listening and closes every connection (the device's writes and its
reconnects then fail, as on a collector that went away), ``restore`` listens on the same port again.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import AuditReadyError
from .lines import MAX_LINE_BYTES, WholeLines
from .model import BadLine
from .source import FileLogSource, LogBatch

_TICK = 0.05
# The entry of the test OpenBao writes when it enables a device, on a connection of its own that it closes when
# the discarded backend goes (at any time, also after the run began): a request on this path, nothing else.
_SELF_TEST = b'"path":"sys/audit/test"'
_FIX = ("the socket audit device's stream must reach its collector whole: no proxy or network hop between them "
        "may close the connection or cut a line")


@dataclass(frozen=True)
class HopEvent:
    line: int  # whole lines spooled before it
    what: str


class _Conn:
    def __init__(self, sock: socket.socket, n: int) -> None:
        self.sock = sock
        self.n = n
        self.split = WholeLines()
        self.lines = 0
        self.at_mark = 0  # lines it had sent when the run began
        self.only_self_test = True  # every line so far was the device's enable test (``_SELF_TEST``)


class SpoolReceiver:
    """What the socket and http receivers share: the spool (0600, created with O_EXCL), the loopback address, what
    the hop did during the run (events are kept only once the run began: ``mark``) and the hop in words."""

    kind = ""

    def __init__(self, spool: Path, device: str = "") -> None:
        self.spool = spool
        self.device = device
        self.port = 0
        self.events: list[HopEvent] = []
        self.lines = 0
        self.marked_at = 0  # lines spooled when the run began (``mark``)
        self._marked = False
        self._lock = threading.RLock()
        self._fd = -1

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _what(self) -> str:
        """The hop, named (without what happened on it)."""
        raise NotImplementedError

    @property
    def hop(self) -> str:
        """The hop in words, with what happened to it during the run."""
        with self._lock:
            events = [e.what for e in self.events if e.line >= self.marked_at]
        said = self._what()
        if events:
            said += " - during the run " + "; ".join(events[:3]) + (f" and {len(events) - 3} more" if len(events) > 3
                                                                      else "")
        return said

    def _open_spool(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(self.spool, flags | getattr(os, "O_CLOEXEC", 0), 0o600)

    def _append(self, data: bytes) -> None:
        """Whole lines to the spool (the caller holds the lock)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self.lines += data.count(b"\n")

    def _close_spool(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _event(self, what: str) -> None:
        with self._lock:
            if self._marked:
                self.events.append(HopEvent(self.lines, what))

    def mark(self) -> None:
        """The run begins: what the hop does from now on is the run's."""
        with self._lock:
            self.marked_at, self._marked = self.lines, True

    def end_run(self) -> None:
        """The run's log has been read: what the hop does from now on (the vault stopping) is not the run's."""
        with self._lock:
            self._marked = False

    def start(self) -> None:
        raise NotImplementedError

    def settle(self, timeout: float) -> None:
        raise NotImplementedError

    def break_(self) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: float = 2.0) -> None:
        raise NotImplementedError


class SocketReceiver(SpoolReceiver):
    """Receive a socket audit device's lines on 127.0.0.1 into ``spool``. ``start`` before the vault starts;
    ``stop`` (idempotent) after it has stopped."""

    kind = "socket"

    def __init__(self, spool: Path, device: str = "") -> None:
        super().__init__(spool, device)
        self._sel = selectors.DefaultSelector()
        self._listener: Optional[socket.socket] = None
        self._conns: dict[int, _Conn] = {}
        self._accepted = 0
        self._running = False
        self._thread: Optional[threading.Thread] = None
        self._idle = threading.Event()  # set after a pass of the loop that found nothing to read

    def _what(self) -> str:
        return f"the embedded socket audit device's stream (tcp {self.address}, received by auditready)"

    def start(self) -> None:
        self._open_spool()
        self._listen(0)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="auditready-socket-audit", daemon=True)
        self._thread.start()

    def _listen(self, port: int) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen(16)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.port = int(s.getsockname()[1])
        with self._lock:
            self._listener = s
            self._sel.register(s, selectors.EVENT_READ, None)

    def mark(self) -> None:
        """The run begins: a connection closed from now on is the hop's doing, not the device's start."""
        with self._lock:
            super().mark()
            for conn in self._conns.values():
                conn.at_mark = conn.lines

    def _loop(self) -> None:
        while self._running:
            try:
                ready = self._sel.select(_TICK)
            except (OSError, ValueError):  # closed by stop()
                return
            got = False
            with self._lock:
                if not self._running:
                    return
                for key, _ in ready:
                    if key.data is None:
                        if key.fileobj is self._listener:
                            got = self._accept() or got
                    else:
                        conn = self._conns.get(key.fd)
                        if conn is not None and conn is key.data:  # not closed meanwhile by break_()
                            got = self._receive(conn) or got
            if got:
                self._idle.clear()
            else:
                self._idle.set()

    def _accept(self) -> bool:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False
        sock.setblocking(False)
        self._accepted += 1
        conn = _Conn(sock, self._accepted)
        self._conns[sock.fileno()] = conn
        self._sel.register(sock, selectors.EVENT_READ, conn)
        return True

    def _receive(self, conn: _Conn) -> bool:
        try:
            data = conn.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self._closed(conn, "closed")
            return True
        self._feed(conn, data)
        return True

    def _feed(self, conn: _Conn, data: bytes) -> None:
        for whole in conn.split.feed(data):
            if isinstance(whole, int):
                self._event(f"connection {conn.n} sent a line of {whole} bytes, over the {MAX_LINE_BYTES} byte "
                            "limit; it was dropped")
                continue
            self._append(whole)
            n = whole.count(b"\n")
            if conn.only_self_test:
                conn.only_self_test = all(_SELF_TEST in ln and b'"type":"request"' in ln
                                          for ln in whole.split(b"\n")[:n])
            conn.lines += n

    def _drain(self, conn: _Conn) -> None:
        """Take what ``conn`` holds now (it may end meanwhile)."""
        while conn.sock.fileno() in self._conns and self._receive(conn):
            pass

    def _closed(self, conn: _Conn, how: str) -> None:
        """``conn`` ended (``how``: "closed" by the sender, or what closed it): a partial line is a cut."""
        self._sel.unregister(conn.sock)
        self._conns.pop(conn.sock.fileno(), None)
        conn.sock.close()
        pending = conn.split.pending
        if pending:
            self._event(f"connection {conn.n} was {how} in the middle of a line: {pending} bytes without their "
                        "newline were cut off and not spooled")
        elif how == "closed" and self._marked and conn.lines > conn.at_mark and not conn.only_self_test:
            self._event(f"the sender closed connection {conn.n} after spooled line {self.lines} (what it wrote "
                        "into a closed connection is lost)")

    def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until a pass of the receiver found nothing more to read."""
        self._idle.clear()
        self._idle.wait(timeout)
        self._idle.clear()
        self._idle.wait(timeout)

    def break_(self) -> None:
        """The drill: stop listening and close every connection, as a collector that went away."""
        with self._lock:
            if self._listener is not None:
                self._sel.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for conn in list(self._conns.values()):
                self._drain(conn)  # what the device wrote before the break is the log's (a file device keeps it)
                if conn.sock.fileno() in self._conns:
                    self._closed(conn, "closed by the fail-closed drill")

    def restore(self) -> None:
        """Listen on the same port again."""
        with self._lock:
            if self._listener is not None:
                return
            try:
                self._listen(self.port)
            except OSError as exc:
                raise AuditReadyError(f"the socket audit receiver cannot listen on {self.address} again: "
                                      f"{exc.strerror}", "retry the run (another program took the port)") from None

    def stop(self, timeout: float = 2.0) -> None:
        """Read what the connections still hold (the vault stopped: each ends) within ``timeout`` s, then close
        everything. A line still cut at the end is a cut."""
        if self._thread is not None and self._running:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with self._lock:
                    if not self._conns:
                        break
                time.sleep(_TICK)
        with self._lock:
            self._running = False
            for conn in list(self._conns.values()):
                self._closed(conn, "still open when the run ended")
            if self._listener is not None:
                self._sel.unregister(self._listener)
                self._listener.close()
                self._listener = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._sel.close()
        self._close_spool()


class SocketLogSource(FileLogSource):
    """The spool of a receiver (the socket or http device's) read as a file, plus what its hop did during the run:
    each event an unreadable line named ``socket:ADDRESS`` (``http:ADDRESS``), in the order it happened."""

    def __init__(self, receiver: SpoolReceiver, prefix: str = "") -> None:
        super().__init__(receiver.spool, prefix)
        self.receiver = receiver
        self._reported = 0

    @property
    def hop(self) -> str:
        return self.receiver.hop

    def mark(self) -> None:
        super().mark()
        self.receiver.mark()
        with self.receiver._lock:
            self._reported = len(self.receiver.events)

    def close(self) -> None:
        super().close()
        self.receiver.end_run()

    def poll(self, batch: LogBatch) -> None:
        super().poll(batch)
        with self.receiver._lock:
            new = self.receiver.events[self._reported:]
            self._reported = len(self.receiver.events)
        for i, ev in enumerate(new):
            batch.add(BadLine(f"{self.receiver.kind}:{self.receiver.address}", self._reported - len(new) + i + 1,
                              f"{ev.what} (the hop {self.receiver.hop.split(' - ')[0]}, after spooled line "
                              f"{ev.line}; {_FIX})"))
