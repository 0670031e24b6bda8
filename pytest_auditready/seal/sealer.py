"""The sealer: appends signed digest records to ``LOG.digests`` as the log grows.

It reads the log in bounded chunks (memory does not grow with the log), seals whole lines only (an unterminated
last line waits for its newline), and cuts a record every ``lines_per_record`` lines, at ``max_record_bytes``,
or, when following, once the oldest unsealed line is ``every_seconds`` old. It resumes from the last record of
an existing chain, so it can be stopped and restarted. When the log is rotated (the path names a new file, or
the file was truncated in place) the rest of the old file is sealed first when it can still be found (a rename
keeps its inode; after a restart, a file compressed or moved meanwhile is found by the bytes the chain sealed),
then the new file starts a new segment chained to the old one. A compressed file (gzip, bzip2, xz: history
rotated before sealing began, sealed once) is sealed on its decompressed stream, as the verifier reads it.

With a state folder (``state_dir``; `auditready seal` always keeps one) the sealer records there, after each
write is durable, the last record it signed: a chain that was cut, emptied, deleted or replaced below that is
refused at start instead of being sealed on (whoever can write the log's folder can do that, not sign records).
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import lzma
import os
import re
import stat
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator, Mapping, Optional

from ..auditlog.rotation import (
    compression_of,
    locate_rotated,
    open_rotated,
    rotated_name,
    rotation_slot,
    rotation_sorted,
)
from ..errors import AuditReadyError
from ..safeio import open_append, open_regular, read_small, same_file, write_all, write_atomic
from .chain import (
    FORMAT,
    GENESIS,
    PathLike,
    Record,
    digests_path_for,
    key_id,
    last_record,
    record_hash,
    records_backward,
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
CHAIN_FIX = ("run the sealer as a user that can write beside the log, and move away whatever is at LOG.digests if "
             "it is not the chain `auditready seal` writes")
STATE_FORMAT = "auditready-seal-state/1"
GONE_FIX = ("investigate (auditready verify LOG --public-key KEY.pub; compare with the copy of LOG.digests shipped "
            "off the host), then start a new chain with --new-chain")
STATE_FIX = GONE_FIX + " (the old file is kept beside it)"
STATE_DIR_FIX = "pass --state DIR: a folder only the sealer's user can write (systemd: StateDirectory=auditready)"
MTIME_SLACK = 300.0  # seconds a file's mtime may seem to precede the time its last entry carries


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


# how much earlier than the sealer's start a rename may seem: the start is read in clock ticks (/proc, 10 ms) and
# the boot time behind it from the wall clock, each rounded
_START_SLACK = 0.05


def process_started() -> Optional[float]:
    """When this process started (epoch seconds), from Linux's /proc; None where that cannot be read."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])  # field 22, starttime, counted after the name
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
        return time.time() - up + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _content(path: Path) -> BinaryIO:
    """``path``'s content as the verifier reads it: the file itself, or a compressed file's decompressed stream."""
    kind = compression_of(path)
    return _decompressed(path, kind) if kind is not None else open_regular(path, "log", fix=LOG_FIX)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sealed_range_in(path: Path, rec: Record) -> bool:
    """Whether ``path``'s content (decompressed) holds, at ``rec``'s byte range, the bytes ``rec`` sealed. Reads
    no further than the range's end."""
    h = hashlib.sha256()
    pos = 0
    try:
        with open_rotated(path, compression_of(path)) as f:
            while pos < rec.end:
                data = f.read(min(CHUNK, rec.end - pos))
                if not data:
                    return False
                if pos + len(data) > rec.start:
                    h.update(data[max(0, rec.start - pos):])
                pos += len(data)
    except (AuditReadyError, *_DECOMPRESS_ERRORS):
        return False
    return h.hexdigest() == rec.sha256


# -- the sealer's state -----------------------------------------------------------------------------------------

def default_state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where `auditready seal` keeps its state unless given ``--state``: systemd's StateDirectory
    ($STATE_DIRECTORY, the first when it names several), else $XDG_STATE_HOME/auditready, else
    ~/.local/state/auditready."""
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    if given:
        return Path(given)
    xdg = environ.get("XDG_STATE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "auditready"
    home = os.path.expanduser("~")
    if not os.path.isabs(home):
        raise AuditReadyError("the sealer has no folder for its state (no $STATE_DIRECTORY and no home folder)",
                              STATE_DIR_FIX)
    return Path(home) / ".local" / "state" / "auditready"


def state_path_for(digests_path: PathLike, state_dir: PathLike) -> Path:
    """The state file of the chain ``digests_path`` in ``state_dir``: one per chain, named by the chain's real path
    (whichever spelling of it the sealer is given)."""
    real = os.path.realpath(digests_path)
    tag = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]
    return Path(state_dir) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', os.path.basename(real))[:64]}-{tag}.json"


@dataclass(frozen=True)
class SealState:
    """What the sealer last signed into its chain and saw durable (``seq``, its record's ``hash`` and
    ``sealed_at``); for a chain started over that holds no record yet (``seq`` None), what its first record is to
    name as replaced (``restarted_after``)."""

    seq: Optional[int]
    hash: Optional[str]
    sealed_at: Optional[str]
    restarted_after: Any = None

    def when(self) -> str:
        return f" (sealed at {self.sealed_at})" if self.sealed_at else ""


def _check_state_dir(folder: Path, log: Path, digests: Path) -> None:
    """Make the state folder (mode 0700) when missing, and refuse one that whoever can write the log could write:
    a state that can be rewound no longer tells a cut or replaced chain from the sealer's own."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder)
    except OSError as exc:
        raise AuditReadyError(f"cannot use {folder} as the sealer's state folder: {exc.strerror or exc}",
                              STATE_DIR_FIX) from None
    if not stat.S_ISDIR(st.st_mode):
        raise AuditReadyError(f"the sealer's state folder {folder} is not a folder", STATE_DIR_FIX)
    if st.st_mode & 0o022 or st.st_uid not in (0, os.geteuid()):
        raise AuditReadyError(
            f"the sealer's state folder {folder} can be written by others (mode {stat.S_IMODE(st.st_mode):04o}, "
            f"owner uid {st.st_uid}): they could rewind the sealer's record of what it signed",
            f"chmod go-w {folder} (owned by the sealer's user), or {STATE_DIR_FIX}")
    if same_file(folder, log.parent) or same_file(folder, digests.parent):
        raise AuditReadyError(f"the sealer's state folder {folder} is the log's folder: whoever writes the log "
                              "could rewind the sealer's record of what it signed", STATE_DIR_FIX)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AuditReadyError(f"cannot write the sealer's state folder {folder}: permission denied", STATE_DIR_FIX)


def _read_state(path: Path) -> Optional[SealState]:
    """The state in ``path``, None when there is none yet; a file that is not one the sealer wrote is refused."""
    try:
        raw = read_small(path, "sealer's state", 1 << 16, fix=STATE_FIX)
    except FileNotFoundError:
        return None
    bad = AuditReadyError(f"the sealer's state {path} is not the file `auditready seal` writes: it was edited or "
                          "damaged", "restore it from a backup if it was damaged; else " + STATE_FIX)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise bad
    seq, h, at = data.get("seq"), data.get("hash"), data.get("sealed_at")
    if seq is None:
        ok = h is None
    else:
        ok = isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 and isinstance(h, str) and len(h) == 64
    if not ok or not isinstance(at, (str, type(None))):
        raise bad
    return SealState(seq, h, at, data.get("restarted_after") if seq is None else None)


@dataclass
class SealSummary:
    records: int = 0
    lines: int = 0
    bytes: int = 0
    segments_started: int = 0
    unsealed_tail: int = 0  # bytes of an unterminated last line left for the next seal
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what an operator must see at once: also passed to on_note


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
        state_dir: Optional[PathLike] = None,
        new_chain: bool = False,
        on_note: Optional[Callable[[str, str], None]] = None,
        started_at: Optional[float] = None,
    ) -> None:
        """``state_dir``: where the sealer records how far it signed (None: no record, a chain is taken as found).
        ``new_chain``: move the chain there is aside and start another. ``on_note(kind, text)``: each note
        ("note") and warning ("warning") as it arises; its text names the log, its rotated files and its chain as
        they are (a file name's control characters included): whoever prints it makes it visible (text.visible).
        ``started_at``: when the sealer was started (epoch seconds: `auditready seal`'s process start): a file
        that rotation renamed since then, before a new chain's first record, is sealed first
        (``_rotated_while_starting``)."""
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
        self.new_chain = new_chain
        self._on_note = on_note
        self.state_path = state_path_for(self.digests_path, state_dir) if state_dir is not None else None
        self._out: list[bytes] = []
        self._fd: Optional[int] = None
        self._chain_size = 0  # what the chain holds after this sealer's last write: anything else is someone else's
        self._cursor: Optional[_Cursor] = None
        self.summary = SealSummary()
        # chain state
        self._seq = 0
        self._prev = GENESIS
        self._prev_sig = ""
        self._segment = -1
        self._sealed_at: Optional[str] = None  # of the last record made
        self._restarted_after: Any = None  # what the first record of a chain started over names as replaced
        self._started_at = started_at
        self._interval: Optional[float] = None  # set by follow(): written into each record as interval_s

    def _note(self, text: str, *, warning: bool = False) -> None:
        (self.summary.warnings if warning else self.summary.notes).append(text)
        if self._on_note is not None:
            self._on_note("warning" if warning else "note", text)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def __enter__(self) -> "Sealer":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Lock the chain, check it against the sealer's state, resume from its last record, and position on the
        log. The chain is opened without following a link (a planted LOG.digests link would have the sealer append
        to its target) and must be a regular file."""
        state = None
        if self.state_path is not None:
            _check_state_dir(self.state_path.parent, self.log_path, self.digests_path)
            state = _read_state(self.state_path)
        if (state is not None and state.seq is not None and not self.new_chain
                and not os.path.lexists(self.digests_path)):  # refused before an empty chain is made there
            raise AuditReadyError(f"the chain {self.digests_path} is gone but this sealer signed up to seq "
                                  f"{state.seq}{state.when()}: it was deleted or moved", GONE_FIX)
        self._fd = self._open_chain()
        try:
            self._resume(state)
        except BaseException:
            self.close()
            raise

    def _open_chain(self) -> int:
        fd = open_append(self.digests_path, "digest chain", mode=0o600, read=True, fix=CHAIN_FIX)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AuditReadyError(f"another sealer is already appending to {self.digests_path}",
                                  "run one sealer per log (stop the other one first)") from None
        return fd

    def _resume(self, state: Optional[SealState]) -> None:
        assert self._fd is not None
        last: Optional[Record] = None
        if self.new_chain:
            self._start_new_chain(state)
        else:
            frag = self._fragment()
            with os.fdopen(os.dup(self._fd), "rb") as chain:  # the file locked, not whatever the path names now
                last = last_record(self.digests_path, f=chain)
            if state is not None:
                self._check_state(state, last, frag)
            if frag:
                self._drop_fragment(frag, last, state)
        self._chain_size = os.fstat(self._fd).st_size
        if last is None:
            if state is not None and state.seq is None:
                self._restarted_after = state.restarted_after
            early = self._rotated_while_starting()
            if early is not None:  # the file the log was when sealing was asked for: segment 0
                self._cursor = self._open_file(early, segment=0, pos=0, next_line=1, reason="start")
                self._segment = 0
                self._note(f"{early} was rotated away from {self.log_path} after the sealer was started and before "
                           "it opened the log: sealed first, as segment 0")
                self._say_sealing_begins(self._cursor, early)
                self._drain()
            self._cursor = self._open_log(segment=0 if early is None else 1, pos=0, next_line=1,
                                          reason="start" if early is None else "rotated")
            if self._cursor is not None and early is None:
                self._say_sealing_begins(self._cursor)
            return
        if last.data.get("key_id") != self._key_id or not signature_ok(self._pub, last.data):
            raise AuditReadyError(
                f"the last record of {self.digests_path} was not signed by this key (key id {self._key_id})",
                "seal with the key that started the chain, or start a new chain with --new-chain (the old file is "
                "kept beside it)",
            )
        if self.state_path is not None and (state is None or state.seq != last.seq):
            if state is None:
                self._note(f"the sealer has no state for {self.digests_path} in {self.state_path.parent}: the chain "
                           f"is taken as found (it ends at record seq {last.seq}); from now on a chain that ends "
                           "before what this sealer signed is refused", warning=True)
            self._save_state(last.seq, last.hash(), last.data.get("sealed_at"))
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
        # The log was rotated or truncated since the last seal: finish the old file if it is still beside the log
        # (by its inode; by content when compression or a move gave it another), then the files rotated after it.
        old = self._find_by_inode(last.inode) if last.inode is not None else None
        truncated = st is not None and st.st_ino == last.inode
        if old is None:
            # The log's inode and not its bytes: truncated in place, or a new log that got the freed inode of the
            # sealed file, compressed by a rotation meanwhile (a file system reuses a freed inode): the sealed bytes
            # are then found in a rotated file, as after a copytruncate's copy
            old = self._find_by_content(last)
            if old is not None:
                how = (f"{self.log_path} has its inode but not its bytes: a new file that reuses the inode, or the "
                       "log truncated after a copy" if truncated else "compressed or moved while the sealer was "
                       "stopped")
                self._note(f"the file sealed as segment {last.segment} is now {old} ({how}; found by the bytes it "
                           f"sealed): sealing the rest of it")
                truncated = False
        if old is not None:
            self._cursor = self._open_file(old, segment=last.segment, pos=last.end, next_line=last.last_line + 1,
                                           reason=None)
            self._drain()
            for newer in self._rotated_after(old):
                self._note(f"{newer} was rotated whole while the sealer was stopped: sealed as segment "
                           f"{self._segment + 1}")
                self._segment += 1
                self._cursor = self._open_file(newer, segment=self._segment, pos=0, next_line=1, reason="rotated")
                self._drain()
        elif truncated:
            self._note(f"{self.log_path} was truncated in place since the last seal (it had been "
                       f"sealed to byte {last.end}; it no longer holds what the last record sealed, "
                       "as after logrotate's copytruncate); its new content starts a new segment")
        else:
            self._note(f"the file sealed as segment {last.segment} ({last.file}) is no longer beside the log; its "
                       f"bytes after offset {last.end} were never sealed", warning=True)
        self._cursor = self._open_log(segment=self._segment + 1, pos=0, next_line=1,
                                      reason="truncated" if truncated else "rotated")

    def _fragment(self) -> int:
        """The length of what follows the chain's last newline: a record a stopped sealer was writing, or a cut."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        n = min(size, 1 << 16)
        data = os.pread(self._fd, n, size - n)
        if not data or data.endswith(b"\n"):
            return 0
        cut = data.rfind(b"\n")
        if cut < 0 and size > n:
            raise AuditReadyError(f"{self.digests_path} ends in more than 64 KiB without a newline: no digest record "
                                  "is that long", STATE_FIX)
        return n - cut - 1

    def _check_state(self, state: SealState, last: Optional[Record], frag: int) -> None:
        """Refuse a chain that ends before the last record this sealer signed, or holds another in its place: it
        was cut, emptied or replaced (a missing final newline proves no crash; the state does). The chain may end
        later than the state: a sealer stopped between its write and its state's."""
        d = self.digests_path
        if state.seq is None:
            if last is not None:
                raise AuditReadyError(f"the chain {d} holds records (it ends at seq {last.seq}) but this sealer "
                                      "started a new chain there and has signed nothing in it yet: the file was "
                                      "replaced", STATE_FIX)
            return
        if last is None:
            raise AuditReadyError(f"the chain {d} holds no whole record but this sealer signed up to seq "
                                  f"{state.seq}{state.when()}: it was emptied, cut or replaced", STATE_FIX)
        if last.seq < state.seq:
            raise AuditReadyError(f"the chain {d} ends at seq {last.seq} but this sealer signed up to seq "
                                  f"{state.seq}{state.when()}: records were cut or the file replaced", STATE_FIX)
        assert self._fd is not None
        rec = None
        with os.fdopen(os.dup(self._fd), "rb") as chain:
            for r in records_backward(chain, os.fstat(self._fd).st_size - frag):
                if r.seq <= state.seq:
                    rec = r if r.seq == state.seq else None
                    break
        if rec is None or rec.hash() != state.hash:
            what = "lacks the record" if rec is None else "holds another record in place of the record"
            raise AuditReadyError(f"the chain {d} {what} seq {state.seq} this sealer signed{state.when()}: the file "
                                  "was replaced or edited", STATE_FIX)

    def _drop_fragment(self, frag: int, last: Optional[Record], state: Optional[SealState]) -> None:
        """Cut off an incomplete last record before appending: its seq is past the state's, so it was never
        complete (without a state, a missing final newline is taken as a sealer killed in its write)."""
        assert self._fd is not None
        os.ftruncate(self._fd, os.fstat(self._fd).st_size - frag)
        seq = last.seq + 1 if last is not None else 0
        why = f" (the sealer's state ends at seq {state.seq}: seq {seq} was never completed)" \
            if state is not None and state.seq is not None else ""
        self._note(f"dropped an incomplete last record ({frag} bytes) from {self.digests_path}, left by an "
                   f"interrupted sealer{why}")

    def _start_new_chain(self, state: Optional[SealState]) -> None:
        """--new-chain: move what LOG.digests holds aside (kept: it is evidence), start an empty chain in its place,
        and keep what it replaces for the new chain's first record (``restarted_after``) and in the state."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        old: Optional[Record] = None
        if size:
            try:
                with os.fdopen(os.dup(self._fd), "rb") as chain:
                    old = last_record(self.digests_path, f=chain)
            except AuditReadyError:
                old = None  # a damaged chain: moved aside all the same
        after: Any = "none"
        ended = ""
        if state is not None and state.seq is not None:
            after = {"seq": state.seq, "hash": state.hash, "sealed_at": state.sealed_at}
            ended = f" (this sealer had signed up to seq {state.seq}{state.when()})"
        elif old is not None:
            after = {"seq": old.seq, "hash": old.hash(), "sealed_at": old.data.get("sealed_at")}
            ended = f" (it ends at seq {old.seq})"
        elif state is not None and state.restarted_after is not None:
            after = state.restarted_after  # started over before, and nothing signed since
        moved = self._move_chain_aside() if size else None
        if moved is not None and isinstance(after, dict):
            after = {**after, "chain": moved.name}
        self._restarted_after = after
        self._save_state(None, None, None, restarted_after=after)
        self._note(f"starting a new chain in {self.digests_path} (--new-chain)"
                   + (f"; the old one was moved to {moved}" if moved is not None else "") + ended
                   + "; the new chain's first record names what it replaces (restarted_after)", warning=True)

    def _move_chain_aside(self) -> Path:
        assert self._fd is not None
        d = self.digests_path
        st = os.fstat(self._fd)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = d.with_name(f"{d.name}.replaced-{stamp}")
        n = 1
        while os.path.lexists(aside):
            aside = d.with_name(f"{d.name}.replaced-{stamp}-{n}")
            n += 1
        try:
            now = os.lstat(d)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise AuditReadyError(f"{d} was replaced while the sealer started", "start the sealer again")
            os.rename(d, aside)
        except OSError as exc:
            raise AuditReadyError(f"cannot move {d} aside to {aside.name}: {exc.strerror}", CHAIN_FIX) from None
        fd = self._open_chain()
        os.close(self._fd)
        self._fd = fd
        return aside

    def _say_sealing_begins(self, c: _Cursor, path: Optional[Path] = None) -> None:
        """A chain that starts over a log (or ``path``, a file rotated from it) with lines in it: say at once that
        those are sealed as found."""
        size = os.fstat(c.f.fileno()).st_size
        if size:
            self._note(f"sealing of {path or self.log_path} begins now: the {size} bytes already in it are sealed as "
                       "found, and nothing shows whether they were changed before now", warning=True)

    def _save_state(self, seq: Optional[int], h: Optional[str], sealed_at: Optional[str], *,
                    restarted_after: Any = None) -> None:
        """Record the last durable record this sealer signed (written whole, then renamed into place)."""
        if self.state_path is None:
            return
        body: dict[str, Any] = {"format": STATE_FORMAT, "log": os.path.abspath(self.log_path),
                                "digests": os.path.realpath(self.digests_path), "key_id": self._key_id,
                                "seq": seq, "hash": h, "sealed_at": sealed_at}
        if restarted_after is not None:
            body["restarted_after"] = restarted_after
        write_atomic(self.state_path, json.dumps(body, sort_keys=True, indent=1) + "\n", "sealer's state",
                     mode=0o600)

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

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.f.close()
            self._cursor = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _find_by_inode(self, inode: int) -> Optional[Path]:
        return locate_rotated(self.log_path, inode)

    def _find_by_content(self, last: Record) -> Optional[Path]:
        """The rotated file beside the log that holds, at the last record's range, the bytes it sealed (compressed
        files on their decompressed stream), the most recently written first. Files last written before the
        record's last entry was made cannot hold it and are not read."""
        from ..auditlog.model import parse_time

        t = parse_time(last.data.get("last_time"))
        not_before = t[0] / 1e9 - MTIME_SLACK if t is not None else None
        folder = self.log_path.parent
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        found: list[tuple[float, str]] = []
        for nm in names:
            if not rotated_name(self.log_path, nm):
                continue
            try:
                st = os.stat(folder / nm)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and (not_before is None or st.st_mtime >= not_before):
                found.append((st.st_mtime, nm))
        for _, nm in sorted(found, reverse=True):
            if _sealed_range_in(folder / nm, last):
                return folder / nm
        return None

    def _rotated_after(self, old: Path) -> list[Path]:
        """The files beside the log that rotation named after ``old`` (lower numbers, later dates: made whole while
        the sealer was stopped), oldest first; of a number both compressed and not, the file not compressed."""
        slot = rotation_slot(old.name)
        if slot is None or old.parent != self.log_path.parent:
            return []
        _live, pattern, numbers, newer_lower = slot
        newer: dict[tuple[int, ...], str] = {}
        try:
            names = sorted(os.listdir(old.parent))
        except OSError:
            return []
        for nm in names:
            s = rotation_slot(nm)
            if (nm == old.name or s is None or s[1] != pattern or not rotated_name(self.log_path, nm)
                    or not (s[2] < numbers if newer_lower else s[2] > numbers)
                    or not (old.parent / nm).is_file()):
                continue
            if s[2] not in newer or compression_of(old.parent / newer[s[2]]) is not None:
                newer[s[2]] = nm
        return [old.parent / newer[k] for k in sorted(newer, reverse=newer_lower)]

    def _rotated_while_starting(self) -> Optional[Path]:
        """The newest file beside the log that rotation named (``rotated_name``, ``rotation_sorted``), when its inode
        changed (a rename sets that time) after ``started_at``: a sealer starting a new chain opens the log a moment
        (on a loaded host, seconds) after it was started, and a rotation in between would leave unsealed the file the
        log was, though sealing had been asked for before it was rotated (red team rt93, F5). Only the newest: the
        older ones that the same rotation renamed again were rotated before. None for none."""
        if self._started_at is None:
            return None
        folder = self.log_path.parent
        try:
            names = [str(folder / nm) for nm in os.listdir(folder) if rotated_name(self.log_path, nm)]
        except OSError:
            return None
        if not names:
            return None
        newest = Path(rotation_sorted(names)[-1])
        try:
            st = os.stat(newest)
        except OSError:
            return None
        return newest if stat.S_ISREG(st.st_mode) and st.st_ctime >= self._started_at - _START_SLACK else None

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
        if self._restarted_after is not None:
            body["restarted_after"] = self._restarted_after
            self._restarted_after = None
        if self._interval is not None:
            body["interval_s"] = float(self._interval)
        self._sealed_at = body["sealed_at"]
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
            self._note(f"{c.tail_len} bytes of an unterminated last line in the rotated file were left unsealed")
        c.f.close()
        self._cursor = None
        self.flush()

    def flush(self) -> None:
        """Append the records made, once the chain is still the file this sealer left; then record in the state
        how far it signed."""
        if not self._out or self._fd is None:
            return
        self._check_chain_in_place()
        data = b"".join(self._out)
        self._out.clear()
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as exc:
            raise AuditReadyError(f"cannot append to {self.digests_path}: {exc.strerror}",
                                  "free space beside the log (the chain's last record was not written)") from None
        self._chain_size += len(data)
        self._save_state(self._seq - 1, self._prev, self._sealed_at)

    def _check_chain_in_place(self) -> None:
        """Refuse to append to a chain someone else cut, extended, moved or deleted since this sealer's last write:
        records appended there would be lost, or seal on from a chain that is not the one signed."""
        assert self._fd is not None
        d = self.digests_path
        st = os.fstat(self._fd)
        if st.st_size != self._chain_size:
            raise AuditReadyError(f"{d} changed while this sealer was appending to it ({st.st_size} bytes where it "
                                  f"had left {self._chain_size}): records were cut or written by someone else",
                                  STATE_FIX)
        try:
            now: Optional[os.stat_result] = os.lstat(d)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise AuditReadyError(f"{d} was deleted, moved or replaced while this sealer was appending to it",
                                  GONE_FIX + "; a logrotate rule on the log's whole folder moves the chain too: "
                                  "name only the log in it")

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
        unsealed line is ``every_seconds`` old (written into each record as ``interval_s``). On stop, everything
        whole is sealed."""
        stop = stop or threading.Event()
        self._interval = every_seconds
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
                    self._note(f"{self.log_path} was truncated in place; a new segment starts")
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
    """Seal every whole line of ``log_path`` now (the one-shot `auditready seal`; ``kwargs`` as ``Sealer``'s)."""
    check_log(log_path)
    with Sealer(log_path, private_key, **kwargs) as s:
        return s.seal_once()
