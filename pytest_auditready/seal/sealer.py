"""The sealer: appends signed digest records to ``LOG.digests`` as the log grows.

It reads the log in bounded chunks (memory does not grow with the log), seals whole lines only (an unterminated
last line waits for its newline), and cuts a record every ``lines_per_record`` lines, at ``max_record_bytes``,
or, when following, once the oldest unsealed line is ``every_seconds`` old. It resumes from the last record of
an existing chain, so it can be stopped and restarted. When the log is rotated (the path names a new file, or
the file was truncated in place) the rest of the old file is sealed first when it can still be found (a rename
keeps its inode), then the new file starts a new segment chained to the old one. A compressed file (gzip, bzip2,
xz: history rotated before sealing began, sealed once) is sealed on its decompressed stream, as the verifier reads
it.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import lzma
import os
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator, Optional

from ..auditlog.rotation import compression_of, locate_rotated, open_rotated
from ..errors import AuditReadyError
from ..safeio import open_append, open_regular, write_all
from .chain import (
    FORMAT,
    GENESIS,
    PathLike,
    Record,
    digests_path_for,
    key_id,
    last_record,
    record_hash,
    sign_record,
    signature_ok,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CHUNK = 4 << 20  # read size: large enough that per-chunk work is noise, small enough to stay in cache
SEEN = 4096  # the last bytes read that must still be in place before reading on (a line or more: its time, its id)
MAX_TIME_LINE = 1 << 20  # longer lines are not parsed for their time
DEFAULT_LINES = 1000
DEFAULT_MAX_BYTES = 8 << 20
_TIME_KEYS = ("time", "timestamp", "@timestamp")
LOG_FIX = "point the sealer at the file_path of the file audit device, readable by this user"


def entry_time(line: bytes) -> Optional[str]:
    """The top-level time of a JSON log line (Vault: ``time``), or None."""
    if len(line) > MAX_TIME_LINE:
        return None
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(obj, dict):
        for k in _TIME_KEYS:
            v = obj.get(k)
            if isinstance(v, str) and v:
                return v[:64]
    return None


def _pread(f: BinaryIO, pos: int, n: int) -> Iterator[bytes]:
    """``n`` bytes of ``f`` from ``pos`` in chunks (fewer at its end), read without moving its position."""
    fd = f.fileno()
    while n > 0:
        try:
            data = os.pread(fd, min(CHUNK, n), pos)
        except OSError as exc:
            raise AuditReadyError(f"cannot read the log {getattr(f, 'name', '')}: {exc.strerror}", LOG_FIX) from None
        if not data:
            return
        yield data
        pos += len(data)
        n -= len(data)


def _pread_all(f: BinaryIO, pos: int, n: int) -> bytes:
    """``n`` bytes of ``f`` from ``pos`` (fewer at its end), read without moving its position."""
    return b"".join(_pread(f, pos, n))


_DECOMPRESS_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)


def _decompressed(path: Path, kind: str) -> BinaryIO:
    """The content of the compressed file ``path`` in an anonymous temporary file (the sealer reads back over what
    it read: ``_Cursor.seen``), or a one-line refusal where it cannot be read whole: a chain over part of it would
    never match the file."""
    src = open_rotated(path, kind)
    out = tempfile.TemporaryFile(prefix="auditready-seal-")
    try:
        while True:
            try:
                data = src.read(1 << 20)
            except _DECOMPRESS_ERRORS as exc:
                raise AuditReadyError(f"{path} cannot be decompressed ({exc or type(exc).__name__}): it is not sealed",
                                      "seal an undamaged copy of the file (its decompressed text is what is sealed)"
                                      ) from None
            if not data:
                break
            try:
                out.write(data)
            except OSError as exc:
                raise AuditReadyError(f"cannot decompress {path} into a temporary file: {exc.strerror}",
                                      "set TMPDIR to a folder with room for the decompressed log") from None
        out.flush()
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
    finally:
        src.close()


def _content(path: Path) -> BinaryIO:
    """``path``'s content as the verifier reads it: the file itself, or a compressed file's decompressed stream."""
    kind = compression_of(path)
    return _decompressed(path, kind) if kind is not None else open_regular(path, "log", fix=LOG_FIX)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SealSummary:
    records: int = 0
    lines: int = 0
    bytes: int = 0
    segments_started: int = 0
    unsealed_tail: int = 0  # bytes of an unterminated last line left for the next seal
    notes: list[str] = field(default_factory=list)


class _Cursor:
    """One log file being sealed as one segment, and the record being built over it."""

    def __init__(self, f: BinaryIO, inode: int, name: str, segment: int, pos: int, next_line: int,
                 reason: Optional[str]) -> None:
        self.f = f
        self.inode = inode
        self.name = name
        self.segment = segment
        self.read_pos = pos  # bytes of the file read so far
        # Read, after the last newline, not sealable yet: its bytes while they are few (``tail``), else only their
        # count and, when ``spilled``, the record's hash so far extended with them (``spill``; None after a record
        # was cut under the long line: rebuilt from the file when the line goes on), so no line is ever held whole.
        self.tail = b""
        self.tail_len = 0
        self.spilled = False
        self.spill: Optional[Any] = None
        self.reason = reason  # set until the segment's first record is written
        self.next_line = next_line  # line number of the next line to enter a record
        self._reset(pos)
        # The last bytes read (up to SEEN): still in their place before each read, or the file was truncated and
        # written again in between (copytruncate), and what now follows them is no continuation of the segment.
        self.seen = _pread_all(f, max(0, pos - SEEN), min(pos, SEEN))
        self.replaced = False
        f.seek(pos)

    def _reset(self, start: int) -> None:
        self.rec_start = start
        self.rec_bytes = 0
        self.rec_lines = 0
        self.rec_hash = hashlib.sha256()
        self.rec_first_time: Optional[str] = None
        self.rec_last_line = b""
        self.rec_opened = 0.0


class Sealer:
    def __init__(
        self,
        log_path: PathLike,
        private_key: Ed25519PrivateKey,
        *,
        digests_path: Optional[PathLike] = None,
        lines_per_record: int = DEFAULT_LINES,
        max_record_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if lines_per_record < 1 or max_record_bytes < 1:
            raise AuditReadyError("a record must hold at least one line", "pass --lines 1 or more")
        self.log_path = Path(log_path)
        self.digests_path = Path(digests_path) if digests_path else digests_path_for(log_path)
        self._key = private_key
        self._pub = private_key.public_key()
        self._key_id = key_id(self._pub)
        self.lines_per_record = lines_per_record
        self.max_record_bytes = max_record_bytes
        self._clock = clock
        self._out: list[bytes] = []
        self._fd: Optional[int] = None
        self._cursor: Optional[_Cursor] = None
        self.summary = SealSummary()
        # chain state
        self._seq = 0
        self._prev = GENESIS
        self._prev_sig = ""
        self._segment = -1

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def __enter__(self) -> "Sealer":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Lock the chain, resume from its last record, and position on the log. The chain is opened without
        following a link (a planted LOG.digests link would have the sealer append to its target) and must be a
        regular file."""
        self._fd = open_append(self.digests_path, "digest chain", mode=0o600, read=True,
                               fix="run the sealer as a user that can write beside the log, and move away "
                               "whatever is at LOG.digests if it is not the chain `auditready seal` writes")
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise AuditReadyError(f"another sealer is already appending to {self.digests_path}",
                                  "run one sealer per log (stop the other one first)") from None
        try:
            self._resume()
        except BaseException:
            self.close()
            raise

    def _resume(self) -> None:
        self._drop_partial_record()
        assert self._fd is not None
        with os.fdopen(os.dup(self._fd), "rb") as chain:  # the file locked, not whatever the path names now
            last = last_record(self.digests_path, f=chain)
        if last is None:
            self._cursor = self._open_log(segment=0, pos=0, next_line=1, reason="start")
            return
        if last.data.get("key_id") != self._key_id or not signature_ok(self._pub, last.data):
            raise AuditReadyError(
                f"the last record of {self.digests_path} was not signed by this key (key id {self._key_id})",
                "seal with the key that started the chain, or move the old chain away to start a new one",
            )
        self._seq = last.seq + 1
        self._prev = last.hash()
        self._prev_sig = last.sig
        self._segment = last.segment
        try:
            st = os.stat(self.log_path)
        except FileNotFoundError:
            st = None
        if st is not None and st.st_ino == last.inode and self._holds(last):
            self._cursor = self._open_log(segment=last.segment, pos=last.end, next_line=last.last_line + 1,
                                          reason=None)
            return
        # The log was rotated or truncated since the last seal: finish the old file if it is still beside the log.
        old = self._find_by_inode(last.inode) if last.inode is not None else None
        if old is not None:
            self._cursor = self._open_file(old, segment=last.segment, pos=last.end, next_line=last.last_line + 1,
                                           reason=None)
            self._drain()
        elif st is not None and st.st_ino == last.inode:
            self.summary.notes.append(f"{self.log_path} was truncated in place since the last seal (it had been "
                                      f"sealed to byte {last.end}; it no longer holds what the last record sealed, "
                                      "as after logrotate's copytruncate); its new content starts a new segment")
        else:
            self.summary.notes.append(f"the file sealed as segment {last.segment} ({last.file}) is no longer beside "
                                      f"the log; its bytes after offset {last.end} were never sealed")
        reason = "truncated" if st is not None and st.st_ino == last.inode else "rotated"
        self._cursor = self._open_log(segment=last.segment + 1, pos=0, next_line=1, reason=reason)

    def _holds(self, last: Record) -> bool:
        """Whether the log still holds, in its place, the bytes the chain's last record sealed: a file truncated in
        place (logrotate's copytruncate) and written again up to or past the sealed end keeps its inode and size,
        and sealing on from that offset would seal the middle of new lines as the old segment's continuation."""
        h = hashlib.sha256()
        try:
            f = _content(self.log_path)
        except FileNotFoundError:
            return False
        with f:
            if os.fstat(f.fileno()).st_size < last.end:
                return False
            for data in _pread(f, last.start, last.end - last.start):
                h.update(data)  # (a file now shorter hashes short: no match)
        return h.hexdigest() == last.sha256

    def _drop_partial_record(self) -> None:
        """A sealer killed in the middle of a write leaves a record without its newline: it was never complete
        (never fsynced as a whole), so cut it off before appending."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        data = os.pread(self._fd, size - max(0, size - (1 << 16)), max(0, size - (1 << 16)))
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n")
        keep = size - len(data) + cut + 1 if cut >= 0 else (0 if size <= (1 << 16) else size)
        if keep == size:
            return
        os.ftruncate(self._fd, keep)
        self.summary.notes.append(f"dropped an incomplete last record ({size - keep} bytes) from "
                                  f"{self.digests_path}, left by an interrupted sealer")

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.f.close()
            self._cursor = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _find_by_inode(self, inode: int) -> Optional[Path]:
        return locate_rotated(self.log_path, inode)

    def _open_file(self, path: Path, *, segment: int, pos: int, next_line: int, reason: Optional[str]) -> _Cursor:
        try:
            inode = os.stat(path).st_ino  # (a compressed file's own, not its decompressed copy's)
            f = _content(path)
        except OSError as exc:  # gone since it was found
            raise AuditReadyError(f"cannot read the log {path}: {exc.strerror}", LOG_FIX) from None
        if reason is not None:
            self.summary.segments_started += 1
        return _Cursor(f, inode, self.log_path.name, segment, pos, next_line, reason)

    def _open_log(self, *, segment: int, pos: int, next_line: int, reason: Optional[str]) -> Optional[_Cursor]:
        if not self.log_path.exists():
            return None  # a device may create its file on the first request
        self._segment = segment
        return self._open_file(self.log_path, segment=segment, pos=pos, next_line=next_line, reason=reason)

    # -- sealing -----------------------------------------------------------------------------------------------
    def _emit(self, c: _Cursor) -> None:
        """Close the record being built (if it holds a line) and queue it."""
        if c.rec_lines == 0:
            return
        body: dict[str, Any] = {
            "format": FORMAT,
            "seq": self._seq,
            "segment": c.segment,
            "file": c.name,
            "inode": c.inode,
            "start": c.rec_start,
            "end": c.rec_start + c.rec_bytes,
            "first_line": c.next_line - c.rec_lines,
            "lines": c.rec_lines,
            "sha256": c.rec_hash.hexdigest(),
            "first_time": c.rec_first_time,
            "last_time": entry_time(c.rec_last_line),
            "sealed_at": _utc_now(),
            "prev": self._prev,
            "prev_sig": self._prev_sig,
            "key_id": self._key_id,
        }
        if c.reason is not None:
            body["reason"] = c.reason
            c.reason = None
        rec = sign_record(self._key, body)
        line = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"
        self._out.append(line)
        self._prev = record_hash(rec)
        self._prev_sig = rec["sig"]
        self._seq += 1
        self.summary.records += 1
        self.summary.lines += c.rec_lines
        self.summary.bytes += c.rec_bytes
        c._reset(c.rec_start + c.rec_bytes)
        if c.spilled:
            c.spill = None  # it extended the record just closed: the long line starts the next one
        if len(self._out) >= 256:
            self.flush()

    def _feed(self, c: _Cursor, data: bytes) -> None:
        """Add freshly read bytes: whole lines go into records, the partial last line waits. Every byte is hashed
        once and copied at most twice, whatever the line lengths: linear time, memory bounded by the chunk size
        and MAX_TIME_LINE."""
        if c.spilled:
            nl = data.find(b"\n")
            spill = c.spill if c.spill is not None else self._rehash_tail(c)
            c.spill = spill
            if nl < 0:
                spill.update(data)
                c.tail_len += len(data)
                return
            spill.update(memoryview(data)[: nl + 1])
            self._add_long_line(c, spill, c.tail_len + nl + 1)
            data = data[nl + 1 :]
            if not data:
                return
        elif c.tail:
            data = c.tail + data
        cut = data.rfind(b"\n") + 1
        rest = len(data) - cut
        c.tail = data[cut:] if rest <= MAX_TIME_LINE else b""
        c.tail_len = rest
        if cut:
            self._add_lines(c, data, cut)
        if rest > MAX_TIME_LINE:  # too long to keep (nor to parse for a time): hash it as it comes
            c.spilled = True
            c.spill = c.rec_hash.copy()
            c.spill.update(memoryview(data)[cut:])

    def _add_lines(self, c: _Cursor, data: bytes, cut: int) -> None:
        """Put the whole lines of ``data[:cut]`` (which starts on a line boundary) into records."""
        mv = memoryview(data)
        p = 0
        n_lines = self.lines_per_record
        find = data.find
        while p < cut:
            if c.rec_lines == 0:
                nl = find(b"\n", p)
                c.rec_first_time = entry_time(data[p:nl]) if nl - p <= MAX_TIME_LINE else None
                c.rec_opened = self._clock()
            need = n_lines - c.rec_lines
            # walk newline to newline (find is memchr: much faster than bytes.count over the same span)
            q, got = p, 0
            while got < need:
                nl = find(b"\n", q, cut)
                if nl < 0:
                    break
                q = nl + 1
                got += 1
            c.rec_hash.update(mv[p:q])
            c.rec_bytes += q - p
            c.rec_lines += got
            c.next_line += got
            # the last line of [p, q) lies wholly inside ``data``
            nl = data.rfind(b"\n", p, q - 1)
            last = nl + 1 if nl >= 0 else p
            c.rec_last_line = data[last : q - 1] if q - 1 - last <= MAX_TIME_LINE else b""
            p = q
            if c.rec_lines >= n_lines or c.rec_bytes >= self.max_record_bytes:
                self._emit(c)

    def _add_long_line(self, c: _Cursor, spill: Any, length: int) -> None:
        """A spilled line got its newline: it joins the record (``spill`` is the record's hash with it)."""
        if c.rec_lines == 0:
            c.rec_first_time = None
            c.rec_opened = self._clock()
        c.rec_hash = spill
        c.rec_bytes += length
        c.rec_lines += 1
        c.next_line += 1
        c.rec_last_line = b""
        c.tail, c.tail_len, c.spilled, c.spill = b"", 0, False, None
        if c.rec_lines >= self.lines_per_record or c.rec_bytes >= self.max_record_bytes:
            self._emit(c)

    def _rehash_tail(self, c: _Cursor) -> Any:
        """The hash of a new record that starts with the spilled partial line: its bytes read again from the file
        (only after a record was cut under a long line, when following)."""
        h = hashlib.sha256()
        for data in _pread(c.f, c.rec_start + c.rec_bytes, c.tail_len):
            h.update(data)  # cut short since: the chain's next record will not verify, as it should not
        return h

    def _pump(self, c: _Cursor, limit: int = 16 * CHUNK) -> int:
        """Read what the file has now (at most ``limit`` bytes); returns bytes read. Nothing is read once the bytes
        read last are no longer in their place (``c.replaced``: the file was truncated and written again)."""
        total = 0
        if c.replaced or (c.seen and _pread_all(c.f, c.read_pos - len(c.seen), len(c.seen)) != c.seen):
            c.replaced = True
            return 0
        while total < limit:
            try:
                data = c.f.read(CHUNK)
            except OSError as exc:
                raise AuditReadyError(f"cannot read the log {self.log_path}: {exc.strerror}",
                                      "run the sealer as a user that can read the log") from None
            if not data:
                break
            c.read_pos += len(data)
            total += len(data)
            c.seen = data[-SEEN:] if len(data) >= SEEN else (c.seen + data)[-SEEN:]
            self._feed(c, data)
        return total

    def _drain(self) -> None:
        """Seal the current file to its end (used before leaving a rotated file)."""
        c = self._cursor
        if c is None:
            return
        while self._pump(c):
            pass
        self._emit(c)
        if c.tail_len:
            self.summary.notes.append(f"{c.tail_len} bytes of an unterminated last line in the rotated file were "
                                      "left unsealed")
        c.f.close()
        self._cursor = None
        self.flush()

    def flush(self) -> None:
        if not self._out or self._fd is None:
            return
        data = b"".join(self._out)
        self._out.clear()
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as exc:
            raise AuditReadyError(f"cannot append to {self.digests_path}: {exc.strerror}",
                                  "free space beside the log (the chain's last record was not written)") from None

    def seal_once(self) -> SealSummary:
        """Seal every whole line the log holds now."""
        c = self._cursor
        if c is None:
            self._cursor = c = self._open_log(segment=self._segment + 1 if self._seq else 0, pos=0, next_line=1,
                                              reason="start" if not self._seq else "rotated")
            if c is None:
                raise AuditReadyError(f"the log {self.log_path} does not exist",
                                      "point the sealer at the file_path of the file audit device")
        while self._pump(c):
            pass
        self._emit(c)
        self.flush()
        self.summary.unsealed_tail = c.tail_len
        return self.summary

    def _rotated(self, c: Optional[_Cursor]) -> Optional[str]:
        """'rotated' when the path names another file, 'truncated' when the file shrank, else None."""
        try:
            st = os.stat(self.log_path)
        except FileNotFoundError:
            return None  # renamed away and not yet re-created: keep reading the old file
        if c is None:
            return "start"
        if st.st_ino != c.inode:
            # The vault writes to the old file until it reopens (SIGHUP): switch once the new file has data, so
            # that nothing written to the old file in between is left unsealed.
            return "rotated" if st.st_size > 0 else None
        if st.st_size < c.read_pos or c.replaced:
            return "truncated"
        return None

    def follow(self, *, every_seconds: float = 5.0, poll: float = 0.2,
               stop: Optional[threading.Event] = None) -> SealSummary:
        """Keep sealing until ``stop`` is set: a record every ``lines_per_record`` lines, or once the oldest
        unsealed line is ``every_seconds`` old. On stop, everything whole is sealed."""
        stop = stop or threading.Event()
        limit = 16 * CHUNK
        while True:
            c = self._cursor
            busy = False
            if c is not None:
                busy = self._pump(c, limit) >= limit  # a backlog: read on without waiting
                if c.rec_lines and self._clock() - c.rec_opened >= every_seconds:
                    self._emit(c)
            change = self._rotated(c)
            if change is not None:
                if change == "rotated" and c is not None:
                    self._drain()
                elif c is not None:
                    self._emit(c)
                    c.f.close()
                    self._cursor = None
                if change == "truncated":
                    self.summary.notes.append(f"{self.log_path} was truncated in place; a new segment starts")
                seg = self._segment + 1 if self._seq or change != "start" else 0
                self._cursor = self._open_log(segment=seg, pos=0, next_line=1,
                                              reason=change if change != "start" or not self._seq else "rotated")
                continue
            self.flush()
            if stop.is_set():
                break
            if not busy:
                stop.wait(poll)
        c = self._cursor
        if c is not None:
            while self._pump(c):
                pass
            self._emit(c)
            self.summary.unsealed_tail = c.tail_len
        self.flush()
        return self.summary


def check_log(log_path: PathLike, missing_fix: str = LOG_FIX) -> None:
    """Refuse a log that does not exist or is not a regular file, before a chain is made for it."""
    try:
        open_regular(log_path, "log", fix=LOG_FIX).close()
    except FileNotFoundError:
        raise AuditReadyError(f"the log {log_path} does not exist", missing_fix) from None


def seal(log_path: PathLike, private_key: Ed25519PrivateKey, **kwargs: Any) -> SealSummary:
    """Seal every whole line of ``log_path`` now (the one-shot `auditready seal`)."""
    check_log(log_path)
    with Sealer(log_path, private_key, **kwargs) as s:
        return s.seal_once()
