"""Log sources: where the entries a live run produced are read from.

A source is marked before the scenario starts and then polled; it hands back only what was appended since the
mark, whole lines only (a partial last line waits for its newline).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Optional, Protocol, Union

from ..errors import AuditReadyError
from ..safeio import open_regular
from . import container
from .model import AuditEntry, BadLine
from .rotation import locate_copy, locate_rotated
from .syslog import carried_prefix, server_log, unframe
from .vault_json import parse_line

_CHUNK = 1 << 20
_ANCHOR = 256


@dataclass
class LogBatch:
    """What a source has produced so far: parsed entries, lines that would not parse, and where it came from."""

    entries: list[AuditEntry] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    left_out: list[BadLine] = field(default_factory=list)  # the server's own log lines: no entry, still scanned
    # the fields a platform's or a shipper's record holds beside the line it carries (``Framing.beside``): scanned
    around: list[BadLine] = field(default_factory=list)

    def add(self, item: Union[AuditEntry, BadLine]) -> None:
        if isinstance(item, AuditEntry):
            self.entries.append(item)
        elif item.reason == SERVER_LINE:
            self.left_out.append(item)
        else:
            self.bad_lines.append(item)


# The reason of a line of the server's own log a live source read (merged stdout and stderr, a syslog stream of
# both): no audit entry, so left out of the entries and counted, and still scanned for secrets.
SERVER_LINE = "a line of the server's own log, left out"


def read_line(name: str, line: int, raw: bytes, prefix: str = "",
              merged: bool = False) -> Optional[Union[AuditEntry, BadLine]]:
    """One line a live source read: the entry it holds (behind a syslog header: the entry the header carries), or
    a BadLine saying why not (a hop that cut it names its limit: ``auditlog.syslog``). A line of the server's own
    log behind a syslog header (or journalctl's note), or bare when ``merged`` (a command printing a unit's merged
    stdout and stderr, ``journalctl -o cat``), holds no audit entry: a BadLine whose reason is ``SERVER_LINE``, which
    ``LogBatch`` keeps apart (left out, counted, scanned for secrets)."""
    raw = raw.rstrip(b"\r")
    if merged and server_log(raw):
        return BadLine(name, line, SERVER_LINE, raw.decode("utf-8", "replace"))
    framed, problem = unframe(raw)
    if problem:
        return BadLine(name, line, problem, raw.decode("utf-8", "replace"))
    if framed == b"":
        return BadLine(name, line, SERVER_LINE, raw.decode("utf-8", "replace"))
    if framed is not None and prefix:
        framed = carried_prefix(raw, framed, prefix.encode("utf-8"))
    return parse_line(name, line, raw if framed is None else framed, prefix)


class Framing:
    """A live source's lines through the platform's or shipper's framing they come in (journalctl -o json, a CRI
    file, a JSON record of the line), told from the first lines that hold anything, then taken off line by line,
    as offline (``auditlog.container``)."""

    def __init__(self) -> None:
        self.known = False
        self.unwrap: Optional[container.Unwrap] = None

    def tell(self, lines: list[bytes]) -> None:
        """Tell the framing from ``lines``, the first time they hold anything."""
        if not self.known and any(ln.strip() for ln in lines):
            self.known = True
            framing = container.detect(lines[:200])
            self.unwrap = container.Unwrap(framing) if framing else None

    def item(self, name: str, line: int, raw: bytes, prefix: str, around: Optional[list[BadLine]] = None,
             merged: bool = False) -> Optional[Union[AuditEntry, BadLine]]:
        """What line ``line`` (``raw``) holds with its framing taken off (``read_line``; ``merged`` when no framing
        is taken off); None for nothing to read: a blank line, a piece of a split line. A record of the server's own
        output (``container.Unwrap`` leaves it out) is a BadLine of ``SERVER_LINE``, as ``read_line`` makes one. The
        fields a record holds beside the line it kept (``container.around``) go to ``around`` when given
        (``LogBatch.around``), a line to scan for secrets."""
        if not raw.strip():
            return None
        if self.unwrap is None:
            return read_line(name, line, raw, prefix, merged=merged)
        skipped = self.unwrap.skipped
        self.unwrap.beside = None
        text = self.unwrap.one(raw.rstrip(b"\r"))
        if text == container.LOST:
            return BadLine(name, line, self.unwrap.problems.pop(0), "")
        if self.unwrap.skipped != skipped:  # the server's own output (stderr, its banner): left out, still scanned,
            # as the text it holds (a journal field written as byte values: ``container.as_text``), the record whole
            return BadLine(name, line, SERVER_LINE,
                           container.as_text(raw.rstrip(b"\r")).decode("utf-8", "replace"))
        if around is not None and self.unwrap.beside is not None:
            around.append(BadLine(name, line, AROUND_LINE, self.unwrap.beside.decode("utf-8", "replace")))
        return read_line(name, line, text, prefix) if text.strip() else None


# The reason of a record's fields beside the line it carries, as a live source keeps them (``LogBatch.around``)
AROUND_LINE = "the fields a platform or a log shipper wrote beside an entry"


class LogSource(Protocol):
    """The interface a `pytest_auditready_make_log_source` hook returns."""

    name: str
    path: Optional[Path]  # the local file behind it, when there is one (log_protection stats it)

    def mark(self) -> None:
        """Remember the current end of the log: entries before it are not this run's."""

    def poll(self, batch: LogBatch) -> None:
        """Append to ``batch`` what is new since the last poll."""


class FileLogSource:
    """A file written by a file audit device (or by a pipeline that copies one).

    The file stays open from mark() on, so that a rotation (rename, then a new file at the path, as logrotate
    and a SIGHUP do) loses nothing: the old file is read to its end, then the new one from its start. A file
    truncated in place (logrotate's copytruncate) is read on from the copy made beside it (found by the bytes last
    read), then again from its start; where there is no such copy, or for the lines written between the copy and
    the cut (logrotate's own caveat), what it held is gone, and the checks say which actions are missing.

    Entries read from a file that is then rotated are named by the file's new name (found beside the log by its
    inode), so that file:line points at the line even after the path names a new file.
    """

    def __init__(self, path: Union[str, Path], prefix: str = "") -> None:
        self.path: Optional[Path] = Path(path)
        self.name = str(path)
        self.prefix = prefix
        self._fh: Optional[BinaryIO] = None
        self._offset = 0
        self._line = 0  # lines before _offset
        self._tail = b""
        self._anchor = b""  # the bytes just before _offset: if they change, the file was cut and rewritten
        self._read: list[tuple[list[Any], int]] = []  # where this file's entries sit in the batch: (list, index)
        self._framing = Framing()  # a platform's framing around each line, once told
        # Files rotated away while being read, still open: the vault writes to a renamed file until it reopens its
        # path (logrotate's create makes the new file before its postrotate SIGHUP), so each is read to its end at
        # every poll, under its new name.
        self._retired: list["FileLogSource"] = []

    @property
    def position(self) -> Optional[tuple[int, int]]:
        """(lines, bytes) this source has passed in its file; None once the file was rotated away while it was
        read (the counts are then of another file)."""
        return None if self._retired else (self._line, self._offset)

    def _need_path(self) -> Path:
        assert self.path is not None
        return self.path

    def _open(self) -> Optional[BinaryIO]:
        """The log file, None while it does not exist; anything but a readable regular file (a FIFO or a device
        would hang the reads) is an AuditReadyError."""
        path = self._need_path()
        try:
            return open_regular(path, "audit log", fix="point --auditready-log at the regular file the file audit "
                                "device writes, readable by this user")
        except FileNotFoundError:
            return None

    def mark(self) -> None:
        self.close()
        self._fh = self._open()
        self._offset, self._line, self._tail, self._anchor = 0, 0, b"", b""
        self._read = []
        if self._fh is None:
            return  # a device may create its file on the first request: start from nothing
        last = b""
        while True:
            chunk = self._fh.read(_CHUNK)
            if not chunk:
                break
            self._line += chunk.count(b"\n")
            self._offset += len(chunk)
            last = (last + chunk)[-_ANCHOR:]
        self._anchor = last

    def _drain(self, batch: LogBatch) -> None:
        assert self._fh is not None
        try:
            size = os.fstat(self._fh.fileno()).st_size
        except OSError:
            return
        if size < self._offset or not self._anchor_holds():
            # Truncated in place, possibly already refilled past our offset: read on in the copy made before the
            # cut, where what was read before now lies (its entries renamed to it), then start again from the top.
            # Without a copy, what was read keeps its file:line: the lines are gone from the file.
            copy = locate_copy(self._need_path(), self._offset, self._anchor)
            if copy is not None:
                try:
                    self._retire(copy, batch)
                    self._renamed(copy)
                except (OSError, AuditReadyError):  # gone (compressed, removed) since it was found
                    pass
            self._offset, self._line, self._tail, self._anchor = 0, 0, b"", b""
            self._read = []
        self._fh.seek(self._offset)
        while True:
            data = self._fh.read(_CHUNK)
            if not data:
                break
            self._offset += len(data)
            self._anchor = (self._anchor + data)[-_ANCHOR:]
            self._feed(data, batch)

    def _anchor_holds(self) -> bool:
        assert self._fh is not None
        if not self._anchor:
            return True
        self._fh.seek(self._offset - len(self._anchor))
        return self._fh.read(len(self._anchor)) == self._anchor

    def _feed(self, data: bytes, batch: LogBatch) -> None:
        data = self._tail + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._tail = data
            return
        self._tail = data[cut + 1 :]
        lines = data[:cut].split(b"\n")
        self._framing.tell(lines)  # a shipped copy in a platform's or shipper's framing, as offline
        for raw in lines:
            self._line += 1
            item = self._framing.item(self.name, self._line, raw, self.prefix, batch.around)
            if item is None:
                continue
            batch.add(item)
            kept = batch.entries if isinstance(item, AuditEntry) else batch.bad_lines
            self._read.append((kept, len(kept) - 1))

    def _rotated(self) -> bool:
        assert self._fh is not None
        try:
            now = os.stat(self._need_path())
        except FileNotFoundError:
            return False  # renamed away, nothing new yet: keep reading the old one
        except OSError:
            return False
        old = os.fstat(self._fh.fileno())
        return (now.st_ino, now.st_dev) != (old.st_ino, old.st_dev)

    def poll(self, batch: LogBatch) -> None:
        if self._fh is None:
            self._fh = self._open()
            if self._fh is None:
                return
        self._drain(batch)
        for old in self._retired:
            old._drain(batch)
        if self._rotated():
            # Keep the old file (the vault may still write to it until it reopens the path), then follow the path.
            now = locate_rotated(self._need_path(), os.fstat(self._fh.fileno()).st_ino)
            self._renamed(now)
            self._retire(now or self._need_path(), None, self._fh)
            self._fh = self._open()
            self._offset, self._line, self._tail, self._anchor = 0, 0, b"", b""
            if self._fh is not None:
                self._drain(batch)

    def _retire(self, path: Path, batch: Optional[LogBatch], fh: Optional[BinaryIO] = None) -> None:
        """Go on reading where this file was read to in ``path`` (its renamed self, open as ``fh``; or the copy
        copytruncate made, opened here and read now into ``batch``), at every poll, under that name."""
        old = FileLogSource(path, self.prefix)
        old._fh = fh if fh is not None else open_regular(path, "audit log copy")
        old._offset, old._line, old._tail, old._anchor = self._offset, self._line, self._tail, self._anchor
        old._framing = self._framing
        self._retired.append(old)
        if batch is not None:
            old._drain(batch)

    def _renamed(self, now: Optional[Path]) -> None:
        """The file read so far was rotated to ``now`` (None: not found beside the log, e.g. compressed or
        deleted, so its entries keep the path they were read from)."""
        if now is not None:
            name = str(now)
            for kept, i in self._read:
                if kept[i].file == self.name:
                    kept[i] = dataclasses.replace(kept[i], file=name)
        self._read = []

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        for old in self._retired:
            old.close()
        self._retired = []
