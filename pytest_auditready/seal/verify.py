"""Verify a sealed log set against its digest chain (``LOG.digests``), streaming both.

First the chain: every record well formed, signed by the given public key, naming the previous record's hash and
signature, sequence numbers without gaps. Then each segment's bytes against its records. A segment is one file:
the log itself or a rotated one (audit.log.1, audit.log.2.gz), looked for beside the log, in the archive folders
the user declared (``seal_archive``) and among the files named in the run, and recognised by content (its first
record's byte range and SHA-256, on the decompressed stream for a compressed file), else by its first entry time,
else by inode (a rename keeps it). A segment whose file is found nowhere is a problem of its own (``missing``):
a sealed file was deleted, and CloudTrail's validator calls that invalid too.

A mismatch is localised: after a record fails, the verifier looks for the next records a little further on or
back (a deleted or inserted line shifts everything after it), so one edit yields one finding naming the segment
and the sealed lines it touched, not a cascade.

Problems carry a kind (``content``, ``truncated``, ``unsealed``, ``missing``, ``unmatched``, ``record``,
``chain``, ``key``, ``coverage``), a sentence, the fix, the segment, the sealed line range and the file they
concern (empty for the chain itself and for a missing file). One about a range of sealed lines is located by that
range (``sealed_span``), not by its first line: a record's hash cannot tell which of its lines changed.

The chain's last record says how often a following sealer seals (``interval_s``): lines at the end of the live log
written since that record, while it is recent enough that the sealer is alive, are not sealed yet by design, and
are excused (``SealReport.excused``) rather than reported. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import lzma
import math
import os
import re
import stat
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

from ..auditlog.rotation import RotatedFile, chain_name, compression_of, open_rotated, related_name, rotated_name
from ..errors import AuditReadyError
from ..safeio import open_regular, same_file
from .chain import DIGESTS_SUFFIX, GENESIS, PathLike, Record, digests_path_for, key_id, parse_record, signature_ok
from .sealer import MAX_TIME_LINE, entry_time

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHUNK = 1 << 20
_RESYNC_AHEAD = 4
_RESYNC_CAP = 64 << 20
_PROBE_CAP = 64 << 20  # bytes of a file's start read to recognise the segment it holds (a record is <= 8 MiB)
_MAX_RECORD_LINE = 1 << 16  # a digest record is a few hundred bytes: a longer line is not one
_SETTLED_NS = 2_000_000_000  # a file unchanged this long (mtime and ctime) may be remembered between verifications
_DECOMPRESS_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)
_DECOMPRESS_SLACK = _RESYNC_CAP  # decompressed past a file's seal, at most (a bomb must not fill the disk)
_ZCHUNK = 64 << 10  # reads from a decompressor: a damaged stream loses what the failing read had decompressed

FIX_CONTENT = ("treat the log as tampered: restore it from a trusted copy (backup or log store) and find out who "
               "could write it")
FIX_CHAIN = "treat the digest chain as tampered: restore LOG.digests from a trusted copy"
_MALFORMED_SHOWN = 20  # lines of a digests file that are no record, each said; the rest counted in one
FIX_UNSEALED = ("keep `auditready seal LOG --key KEY --follow` running beside the vault (or run `auditready seal` "
                "before verifying); lines written after the last seal are not protected")
FIX_NEVER_SEALED = ("treat those lines as unverified (they may have been added after the file was rotated); keep "
                    "`auditready seal LOG --key KEY --follow` running and let logrotate compress or move a file only "
                    "after the next rotation (delaycompress), so that each file is sealed to its end first")
FIX_MISSING = ("restore the file from a trusted copy (backup or log store) beside the log; if rotated files are moved "
               "elsewhere on purpose, name that folder in seal_archive = [\"/path/to/archive\"] in [tool.auditready]: "
               "they are then looked for, and verified, there")
FIX_MISSING_ARCHIVED = ("restore the file from a trusted copy (backup or log store) into the archive folder; a file "
                        "declared archived (seal_archive) must be there to be verified")
FIX_COPYTRUNCATE = ("treat those lines as unverified, and rotate the log without copytruncate: logrotate's `create` "
                    "with a `postrotate` that sends SIGHUP to the vault (`kill -HUP $(pidof vault)`, or bao for "
                    "OpenBao), on which Vault and OpenBao reopen the file audit device's file; the running sealer "
                    "then seals the renamed file to its end before it moves on (add delaycompress if you compress)")
FIX_ROTATED_CHAIN = ("keep LOG.digests out of log rotation (it is one file for the life of the set: name only the log "
                     "in logrotate's rule, never its folder), and put the rotated pieces back together as LOG.digests, "
                     "oldest first and decompressed (`zcat -f LOG.digests.2.gz LOG.digests.1 LOG.digests > NEW`, then "
                     "NEW renamed to LOG.digests); if no rotation rule matches the chain, treat it as tampered and "
                     "restore LOG.digests from a trusted copy")
FIX_UNMATCHED = ("if it was altered, restore it from a trusted copy; otherwise seal the log from its first line on "
                 "(keep `auditready seal LOG --key KEY --follow` running) so that every rotated file is covered")


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    fix: str
    segment: Optional[int] = None
    lines: str = ""  # "lines 41-60" in the numbering the sealer saw
    where: str = ""  # file:line
    file: str = ""  # the log file the problem is in; "" for the chain itself and for a file that is missing

    def text(self) -> str:
        loc = ", ".join(x for x in (f"segment {self.segment}" if self.segment is not None else "", self.lines) if x)
        return f"[{loc}] {self.message}" if loc else self.message


_SPAN_RE = re.compile(r"\[segment \d+, lines (\d+)-(\d+)\] ")


def sealed_span(text: str) -> Optional[tuple[int, int]]:
    """The range of sealed lines a problem's ``text()`` opens with ("[segment S, lines A-B] "), as (A, B), or None:
    where a finding about a record's lines is located (a SARIF region), its ``where`` naming the file alone."""
    m = _SPAN_RE.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class Member:
    """A file found to hold one segment of the chain."""

    segment: int
    path: str
    how: str  # "content", "first entry time", "inode", or "its path" (the log itself)
    lines: str
    times: str
    sealed_as: str = ""  # what the chain recorded of the file: its name and inode ("audit.log, inode 2449449")
    origin: str = ""  # the host or cluster its first entry names, when the log format gives one

    def text(self) -> str:
        span = ", ".join(x for x in (self.lines, self.times) if x)
        return f"segment {self.segment} ({span}; recognised by {self.how})"


@dataclass
class SealReport:
    log_path: str
    digests_path: str
    key_id: str
    records: int = 0
    segments: int = 0
    verified_lines: int = 0
    verified_bytes: int = 0
    unsealed_bytes: int = 0
    unsealed_lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # segments found nowhere, past the retention period
    members: list[Member] = field(default_factory=list)
    subject: str = ""  # the file that was asked about (``verify_member``), when it is not the log
    last_record: str = ""  # the chain's last valid record, "seq N, sealed at T": where what it proves ends
    entries: str = ""  # the first and last entry times the chain's records name, "A to B"
    # Lines at the end of the live log not sealed yet within the following sealer's interval: each a sentence for
    # the pass, in the shape of a problem (its file) so that ``excused_for`` picks them as ``problems_for`` does.
    excused: list[Problem] = field(default_factory=list)
    empty: bool = False  # the subject holds no byte (an idle day's rotation): no segment, and none lost from it

    @property
    def ok(self) -> bool:
        return not self.problems

    def members_for(self, path: PathLike) -> list[Member]:
        return [m for m in self.members if same_file(m.path, path)]

    def problems_for(self, path: PathLike, named: Iterable[PathLike] = ()) -> list[Problem]:
        """The problems a verdict on ``path`` carries when the files ``named`` are judged in the same run: all but
        those in another named file (that file's own verdict carries them). The chain's own problems and missing
        files concern every file of the set."""
        return _concerning(self.problems, path, named)

    def excused_for(self, path: PathLike, named: Iterable[PathLike] = ()) -> list[Problem]:
        """The excused unsealed tails a pass of ``path`` names, picked as ``problems_for`` picks problems."""
        return _concerning(self.excused, path, named)

    def verdict(self, path: Optional[PathLike] = None) -> str:
        """Which segment(s) of which chain hold ``path`` (default: the subject, else the log)."""
        who = os.fspath(path) if path is not None else (self.subject or self.log_path)
        mine = self.members_for(who)
        if not mine:
            return f"{who} holds no segment of the digest chain {self.digests_path}" + (
                ": it is empty (a log rotated while the vault wrote nothing, logrotate's default ifempty), so no "
                "sealed line can be lost from it" if self.empty and who == (self.subject or self.log_path) else "")
        ends = (f", which ends with record {self.last_record} (compare with its copy off the host: a tail cut with "
                "its records is not seen here)") if self.last_record else ""
        return (f"{who} is " + "; ".join(m.text() for m in mine) + f" of the digest chain {self.digests_path}{ends}"
                + self.origin(mine))

    def origin(self, mine: Sequence[Member]) -> str:
        """What the chain says of where its lines come from (red team rt77 F6): the file each segment was sealed
        from, with its inode, the host or cluster a first entry names, and the entries' time span. A chain names no
        vault: another vault's set sealed with the same key verifies as well, so only one key per vault ties it."""
        said = [f"segment {m.segment} as sealed from {m.sealed_as}"
                + (f" (its first entry names {m.origin})" if m.origin else "") for m in mine if m.sealed_as]
        if self.entries:
            said.append(f"entries from {self.entries}")
        if not said:
            return ""
        return ("; the chain records " + ", ".join(said) + ": it names no vault or host, so it ties this file to "
                "this vault only if its key seals no other vault's or host's log")

    def summary(self) -> str:
        state = "verifies" if self.ok else f"does NOT verify ({len(self.problems)} problem(s))"
        return (f"{self.verdict()}; the chain {state}: {self.records} record(s) in {self.segments} segment(s), "
                f"{self.verified_lines} line(s) ({self.verified_bytes} bytes) match their seal, "
                f"{self.unsealed_lines} line(s) ({self.unsealed_bytes} bytes) unsealed")


def _concerning(items: Sequence[Problem], path: PathLike, named: Iterable[PathLike]) -> list[Problem]:
    """The ``items`` that concern ``path`` when the files ``named`` are judged in the same run: all but those in
    another named file."""
    others = [n for n in named if not same_file(n, path)]
    return [p for p in items if not p.file or same_file(p.file, path) or not any(same_file(p.file, n) for n in others)]


def _lines(a: int, b: int) -> str:
    return f"line {a}" if a == b else f"lines {a}-{b}"


# -- remembering what depends only on a file's bytes -------------------------------------------------------------


class _Memo:
    """A small LRU. Keys of file results carry the file's identity, size, mtime and ctime, and are only made for a
    file left unchanged for _SETTLED_NS (``_file_key``): a later change moves its ctime, which no one can set back,
    and timestamps coarser than that margin cannot hide one. Naming every file of a set then verifies each once."""

    def __init__(self, size: int) -> None:
        self._d: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        if key is None:
            return None
        with self._lock:
            if key not in self._d:
                return None
            self._d.move_to_end(key)
            return self._d[key]

    def put(self, key: Any, value: Any) -> None:
        if key is None:
            return
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self._size:
                self._d.popitem(last=False)


_CHAINS = _Memo(8)
_PROBES = _Memo(4096)
_CONTENT = _Memo(4096)


def _now_ns() -> int:
    return time.time_ns()


def _file_key(path: Path, st: os.stat_result) -> Optional[tuple[Any, ...]]:
    if max(st.st_mtime_ns, st.st_ctime_ns) >= _now_ns() - _SETTLED_NS:
        return None
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# -- reading a log file ------------------------------------------------------------------------------------------


def _open_log(path: Path) -> IO[bytes]:
    try:
        return open_regular(path, "log")
    except FileNotFoundError:
        raise AuditReadyError(f"the log {path} does not exist", "check the path") from None


class _File:
    """Bounded reads from one log file; a compressed one is decompressed once into an anonymous temporary file
    (the verifier reads back and forth after a mismatch), at most ``limit`` bytes of it (a file that decompresses
    to far more than was sealed must not fill the disk)."""

    def __init__(self, path: Path, kind: Optional[str] = None, limit: Optional[int] = None) -> None:
        self.path = path
        self.damage = ""  # why decompression stopped early
        self.capped = False  # decompression stopped at ``limit``: there is more
        self._limit = limit
        self.f: IO[bytes]
        if kind is None:
            self.f = _open_log(path)
        else:
            try:
                src = open_rotated(path, kind)
            except FileNotFoundError:
                raise AuditReadyError(f"the log {path} does not exist", "check the path") from None
            self.f = tempfile.TemporaryFile(prefix="auditready-")
            try:
                self._decompress(src)
            except BaseException:
                self.f.close()
                raise
        self.size = os.fstat(self.f.fileno()).st_size

    def _decompress(self, src: RotatedFile) -> None:
        written = 0
        try:
            while True:
                try:
                    data = src.read(_ZCHUNK)
                except _DECOMPRESS_ERRORS as exc:
                    self.damage = str(exc) or type(exc).__name__
                    break
                if not data:
                    break
                if self._limit is not None and written + len(data) > self._limit:
                    data, self.capped = data[: self._limit - written], True
                written += len(data)
                try:
                    self.f.write(data)
                except OSError as exc:
                    raise AuditReadyError(f"cannot decompress {self.path} into a temporary file: {exc.strerror}",
                                          "set TMPDIR to a folder with room for the decompressed log") from None
                if self.capped:
                    break
            self.f.flush()
        finally:
            src.close()

    def close(self) -> None:
        self.f.close()

    def sha256(self, start: int, length: int) -> str:
        h = hashlib.sha256()
        self.f.seek(start)
        left = length
        while left > 0:
            data = self.f.read(min(CHUNK, left))
            if not data:
                break
            h.update(data)
            left -= len(data)
        return h.hexdigest()

    def count_lines(self, start: int, end: int) -> int:
        self.f.seek(start)
        left, n = end - start, 0
        while left > 0:
            data = self.f.read(min(CHUNK, left))
            if not data:
                break
            n += data.count(b"\n")
            left -= len(data)
        return n

    def read(self, start: int, length: int) -> bytes:
        self.f.seek(start)
        return self.f.read(length)


# -- one segment's bytes against its records --------------------------------------------------------------------


@dataclass
class _SegResult:
    problems: list[Problem] = field(default_factory=list)
    verified_lines: int = 0
    verified_bytes: int = 0
    tail_bytes: int = 0  # after the segment's last seal
    tail_lines: int = 0


def _resync(lf: _File, recs: list[Record], i: int, a: int) -> Optional[tuple[int, int]]:
    """After record i failed at offset a: the first later record (a few on) found intact at a line start near
    where it should be, as (index, offset)."""
    n = len(recs)
    last = min(i + _RESYNC_AHEAD, n - 1)
    if last <= i:
        return None
    span = recs[last].end - recs[i].start
    buf = lf.read(a, min(2 * span + (1 << 16), _RESYNC_CAP))
    for j in range(i + 1, last + 1):
        rj = recs[j]
        length = rj.end - rj.start
        s = 0
        while s + length <= len(buf):
            if buf[s + length - 1] == 10 and buf.count(b"\n", s, s + length) == rj.lines:
                if hashlib.sha256(memoryview(buf)[s : s + length]).hexdigest() == rj.sha256:
                    return j, a + s
            nl = buf.find(b"\n", s)
            if nl < 0:
                break
            s = nl + 1
    return None


def _crlf(lf: _File, r: Record) -> bool:
    """Whether record ``r``'s lines are in the file as sealed but for a CR before each newline (a Windows editor,
    or a transfer in text mode): they then lie one byte further per line before them, and one longer each."""
    at, length = r.start + r.first_line - 1, r.end - r.start + r.lines
    data = lf.read(at, length)
    return (len(data) == length and data.count(b"\r\n") == r.lines
            and hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest() == r.sha256)


def _describe(lf: _File, recs: list[Record], first: int, last: int, a: int, b: int) -> str:
    if _crlf(lf, recs[first]):
        return ("each line ends in CR LF where the vault wrote LF: the line endings were converted (a Windows "
                "editor, or a copy in text mode), so the file is not the one that was sealed, though its entries read "
                "the same")
    exp_lines = sum(r.lines for r in recs[first : last + 1])
    exp_bytes = recs[last].end - recs[first].start
    got_lines = lf.count_lines(a, b)
    got_bytes = b - a
    if got_lines < exp_lines:
        what = f"{exp_lines - got_lines} line(s) fewer than were sealed: lines were deleted"
    elif got_lines > exp_lines:
        what = f"{got_lines - exp_lines} line(s) more than were sealed: lines were inserted"
    elif got_bytes == exp_bytes:
        what = ("the same number of lines and bytes with different content: changed in place or reordered "
                "(e.g. swapped lines)")
    else:
        what = f"the same number of lines but {got_bytes - exp_bytes:+d} bytes: lines were changed"
    return what


def _check_segment(lf: _File, recs: list[Record], seg: int) -> _SegResult:
    name = str(lf.path)
    size = lf.size
    out = _SegResult()

    def problem(kind: str, message: str, fix: str, lines: str, line: int) -> None:
        # several lines: the file alone, the range in the text (``sealed_span``), since a record's hash cannot say
        # which of its lines changed and its first line is no more likely than another (red team rt77 F7)
        where = name if lines.startswith("lines ") else f"{name}:{line}"
        out.problems.append(Problem(kind, message, fix, seg, lines, where, name))

    if lf.damage:
        problem("content", f"{name} cannot be decompressed past byte {size} of its content ({lf.damage}): it was "
                "damaged or altered after it was sealed.", FIX_CONTENT, "", 1)
    # coverage: contiguous from byte 0 / line 1
    prev_end, prev_line = 0, 0
    for r in recs:
        if r.first_line <= prev_line:  # it repeats lines the records before it cover (a copied or edited record)
            span = _lines(r.first_line, min(prev_line, r.last_line))
            problem("coverage", f"{span} (bytes {r.start}-{min(prev_end, r.end)}) of {name} are covered by more than "
                    "one digest record (a record was copied or edited).", FIX_CHAIN, span, r.first_line)
        elif r.start != prev_end or r.first_line != prev_line + 1:
            span = _lines(prev_line + 1, r.first_line - 1)
            problem("coverage", f"{span} (bytes {prev_end}-{r.start}) of {name} are not covered by any valid digest "
                    "record (a record was deleted or edited), so changes there cannot be detected.", FIX_CHAIN, span,
                    prev_line + 1)
        prev_end, prev_line = r.end, r.last_line
    shift = 0
    tail_known = True
    bad: Optional[list[int]] = None  # [first record, last record, actual start, actual end]

    def flush_bad() -> None:
        nonlocal bad
        if bad is None:
            return
        first, last, a0, b0 = bad
        lines = _lines(recs[first].first_line, recs[last].last_line)
        seqs = f"record seq {recs[first].seq}" + (f"-{recs[last].seq}" if last > first else "")
        problem("content", f"Sealed {lines} of {name} (bytes {recs[first].start}-{recs[last].end}, {seqs}) do not "
                f"match their seal: {_describe(lf, recs, first, last, a0, b0)}.", FIX_CONTENT, lines,
                recs[first].first_line)
        bad = None

    i = 0
    n = len(recs)
    while i < n:
        r = recs[i]
        a = r.start + shift
        length = r.end - r.start
        if a + length > size:
            flush_bad()
            lines = _lines(r.first_line, recs[-1].last_line)
            missing = recs[-1].end + shift - size
            problem("truncated", f"{name} ends at byte {size}, {missing} bytes before the end of its seal (byte "
                    f"{recs[-1].end}): sealed {lines} are cut off or shortened (truncated tail or deleted lines).",
                    FIX_CONTENT, lines, r.first_line)
            tail_known = False
            break
        if lf.sha256(a, length) == r.sha256:
            flush_bad()
            out.verified_lines += r.lines
            out.verified_bytes += length
            i += 1
            continue
        found = _resync(lf, recs, i, a)
        if found is not None:
            j, p = found
            if bad is None:
                bad = [i, j - 1, a, p]
            else:
                bad[1], bad[3] = j - 1, p
            shift = p - recs[j].start
            i = j
        else:
            if bad is None:
                bad = [i, i, a, a + length]
            else:
                bad[1], bad[3] = i, a + length
            i += 1
    flush_bad()
    if lf.capped and tail_known and recs:
        problem("unsealed", f"{name} decompresses to more than {size} bytes, over {size - recs[-1].end - shift} past "
                f"the end of its seal (byte {recs[-1].end}): what follows the seal was never sealed (and was not read "
                "further).", FIX_NEVER_SEALED, f"after line {recs[-1].last_line}", recs[-1].last_line)
    elif tail_known and recs:
        end = recs[-1].end + shift
        if size > end:
            out.tail_bytes = size - end
            out.tail_lines = lf.count_lines(end, size)
    return out


# -- the chain ---------------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """Consecutive valid records of one segment, as the chain lists them."""

    segment: int
    first: Record
    last: Record
    names: set[str]
    start: int = 0  # byte offset of its first record line in the digests file
    end: int = 0  # ... and just past its last one
    first_lineno: int = 0
    digest: str = ""  # SHA-256 of its record lines: what reading them back must find again

    @property
    def lines(self) -> str:
        return _lines(self.first.first_line, self.last.last_line)

    @property
    def times(self) -> str:
        a, b = self.first.data.get("first_time"), self.last.data.get("last_time")
        if not isinstance(a, str) or not isinstance(b, str):
            return ""
        return a if a == b else f"{a} to {b}"


@dataclass
class _Chain:
    problems: list[Problem]
    notes: list[str]
    records: int
    segments: int
    runs: list[_Run]
    skip: frozenset[int]  # line numbers of well-formed records left out of the runs (not signed by the key)
    size: int  # bytes of the digests file read
    sha256: str
    open_end: bool = False  # its last line has no newline: a record being written, or a cut chain


def _read_lines(f: IO[bytes], begin: int, end: int, h: Any = None) -> Iterator[tuple[int, bytes]]:
    """The lines of bytes [begin, end) of ``f`` as (offset, line with its newline; the last may lack it), each
    byte fed to ``h``. A line longer than any record is cut short (it is not a record either way): memory stays
    bounded."""
    f.seek(begin)
    pos, left = begin, end - begin
    tail, tail_off, overlong = b"", begin, False
    while left > 0:
        data = f.read(min(CHUNK, left))
        if not data:
            break
        left -= len(data)
        if h is not None:
            h.update(data)
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            if overlong:
                yield tail_off, tail + b"\n"
            elif tail:
                yield tail_off, tail + data[start : nl + 1]
            else:
                yield pos + start, data[start : nl + 1]
            tail, overlong, start = b"", False, nl + 1
        if start < len(data) and not overlong:
            if not tail:
                tail_off = pos + start
            tail += data[start:]
            if len(tail) > _MAX_RECORD_LINE:
                tail, overlong = tail[:_MAX_RECORD_LINE], True
        pos += len(data)
    if tail:
        yield tail_off, tail


def _open_digests(dpath: Path, log: Path) -> IO[bytes]:
    try:
        return open_regular(dpath, "digest chain",
                            fix="LOG.digests must be the regular file `auditready seal` writes: move whatever is "
                            "there away")
    except FileNotFoundError:
        raise AuditReadyError(f"{log} has no digest chain ({dpath} does not exist)",
                              "seal the log with `auditready seal LOG --key KEY` (keep it running with --follow)"
                              ) from None


def _load_chain(dpath: Path, log: Path, public_key: Ed25519PublicKey, *, remember: bool = True) -> _Chain:
    """The chain's records checked one by one and against each other, and its segments' runs. Remembered by the
    digests file's content, so a set named file by file reads and checks its chain once."""
    with _open_digests(dpath, log) as df:
        size = os.fstat(df.fileno()).st_size
        h = hashlib.sha256()
        try:
            left = size
            while left > 0:
                data = df.read(min(CHUNK, left))
                if not data:
                    break
                h.update(data)
                left -= len(data)
        except OSError as exc:
            raise AuditReadyError(f"cannot read {dpath}: {exc.strerror}", "give this user read access") from None
        memo_key = (str(dpath), key_id(public_key), size, h.hexdigest())
        chain: Optional[_Chain] = _CHAINS.get(memo_key)
        if chain is not None:
            return chain
        df.seek(0)
        chain = _parse_chain(df, size, dpath, public_key)
    if chain.sha256 != memo_key[3]:
        raise AuditReadyError(f"{dpath} changed while it was being verified", "verify again; if it changes again, "
                              "something other than `auditready seal` is writing it: treat it as tampered")
    if remember:
        _CHAINS.put(memo_key, chain)
    return chain


def _parse_chain(df: IO[bytes], size: int, dpath: Path, public_key: Ed25519PublicKey) -> _Chain:
    dname = str(dpath)
    mine = key_id(public_key)
    problems: list[Problem] = []
    notes: list[str] = []
    runs: list[_Run] = []
    skip: set[int] = set()
    other_keys: dict[str, int] = {}
    records = 0
    prev_hash: Optional[str] = GENESIS  # None: unknown (the previous line was damaged or did not verify)
    prev_sig: Optional[str] = ""
    prev_rec: Optional[Record] = None
    first = True
    cur: Optional[_Run] = None
    segments_seen: set[int] = set()
    h = hashlib.sha256()
    run_hash: Any = None
    lineno = 0
    malformed = 0
    open_end = False
    try:
        for off, raw in _read_lines(df, 0, size, h):
            lineno += 1
            if not raw.strip():
                continue
            where = f"{dname}:{lineno}"
            rec = parse_record(raw.rstrip(b"\r\n"), lineno)
            if rec is None:
                if not raw.endswith(b"\n"):
                    notes.append(f"the last line of {dname} has no newline yet (a record being written): not read")
                    open_end = True
                    break
                malformed += 1
                if malformed <= _MALFORMED_SHOWN:
                    problems.append(Problem("record", f"{where} is not a well-formed digest record: the chain was "
                                            "edited or damaged.", FIX_CHAIN, where=where))
                prev_hash = prev_sig = None
                first = False
                continue
            records += 1
            kid = str(rec.data.get("key_id"))
            valid = signature_ok(public_key, rec.data)
            if not valid:
                if kid != mine:
                    other_keys[kid] = other_keys.get(kid, 0) + 1
                else:
                    problems.append(Problem(
                        "record", f"Digest record seq {rec.seq} ({where}) does not verify against its signature: it "
                        "was edited after it was signed.", FIX_CHAIN, rec.segment,
                        _lines(rec.first_line, rec.last_line), where))
            if first:
                if rec.seq != 0 or rec.data["prev"] != GENESIS:
                    pieces = _rotated_chains(dpath)
                    problems.append(Problem(
                        "chain", f"The chain starts at record seq {rec.seq} ({where}): the first {rec.seq} record(s) "
                        "were deleted" + (f", or rotated away into {', '.join(pieces)} beside it (a rotation rule "
                                          "that matches the chain too)" if pieces else "") + ".",
                        FIX_CHAIN + ("; keep LOG.digests out of log rotation (it is one file for the life of the "
                                     "set: name only the log in logrotate's rule, never the folder)" if pieces
                                     else ""), rec.segment, "", where))
            elif prev_hash is not None and (rec.data["prev"] != prev_hash or rec.data["prev_sig"] != prev_sig):
                if prev_rec is not None and rec.seq > prev_rec.seq + 1:
                    gone = f"seq {prev_rec.seq + 1}" + (f"-{rec.seq - 1}" if rec.seq - 1 > prev_rec.seq + 1 else "")
                    problems.append(Problem(
                        "chain", f"Digest record(s) {gone} are missing before {where}: deleted from the chain.",
                        FIX_CHAIN, rec.segment, "", where))
                else:
                    problems.append(Problem(
                        "chain", f"Digest record seq {rec.seq} ({where}) does not name the record before it (hash "
                        "and signature differ): records were edited, inserted or reordered.",
                        FIX_CHAIN, rec.segment, "", where))
            elif prev_rec is not None and prev_hash is not None and rec.seq != prev_rec.seq + 1:
                problems.append(Problem(
                    "chain", f"Digest record seq {rec.seq} ({where}) follows seq {prev_rec.seq}: the sequence was "
                    "altered.", FIX_CHAIN, rec.segment, "", where))
            first = False
            prev_hash, prev_sig = (rec.hash(), rec.sig) if valid else (None, None)
            prev_rec = rec
            if not valid:
                skip.add(lineno)
                continue
            if cur is not None and rec.segment == cur.segment:
                cur.last = rec
                cur.names.add(rec.file)
            else:
                if rec.segment in segments_seen:
                    problems.append(Problem("chain", f"Segment {rec.segment} appears again at {where}: the chain "
                                            "was reordered.", FIX_CHAIN, rec.segment, "", where))
                segments_seen.add(rec.segment)
                if cur is not None:
                    cur.digest = run_hash.hexdigest()
                cur = _Run(rec.segment, rec, rec, {rec.file}, start=off, first_lineno=lineno)
                run_hash = hashlib.sha256()
                runs.append(cur)
            run_hash.update(raw)
            cur.end = off + len(raw)
    except OSError as exc:
        raise AuditReadyError(f"cannot read {dpath}: {exc.strerror}", "give this user read access") from None
    if cur is not None:
        cur.digest = run_hash.hexdigest()
    if other_keys:
        ids = ", ".join(sorted(other_keys))
        count = sum(other_keys.values())
        whole = count == records
        problems.insert(0, Problem(
            "key", f"{'The digest chain is' if whole else f'{count} digest record(s) are'} signed by another key "
            f"(key id {ids}), not by the public key given (key id {mine}).",
            "verify with the public key of the sealer that wrote this chain; if that is the key given, the chain "
            "was re-signed by someone else: treat it as tampered"))
    if malformed > _MALFORMED_SHOWN:
        problems.append(Problem("record", f"{malformed - _MALFORMED_SHOWN} more line(s) of {dname} are no well-formed "
                                "digest record either.", FIX_CHAIN, where=dname))
    if records == 0:
        # a logrotate rule on the log's whole folder rotates the chain too: its records are then in the rotated
        # pieces beside it (audit.log.digests.1, audit.log.digests.2.gz), which verification never reads as the chain
        pieces = _rotated_chains(dpath)
        problems.append(Problem(
            "record", f"{dname} holds no digest record" + (
                f": its records were rotated away into {', '.join(pieces)} beside it (a rotation rule that matches "
                "the chain too)" if pieces else "") + ".",
            FIX_ROTATED_CHAIN if pieces else FIX_UNSEALED, where=dname))
    return _Chain(problems, notes, records, len(segments_seen), runs, frozenset(skip), size, h.hexdigest(),
                  open_end)


def _rotated_chains(dpath: Path) -> list[str]:
    """Rotated copies of the chain ``dpath`` beside it (audit.log.digests.1, audit.log.digests-20260101.gz)."""
    try:
        names = sorted(os.listdir(dpath.parent))
    except OSError:
        return []
    return [n for n in names if n != dpath.name and n.startswith(dpath.name) and chain_name(n)][:5]


def _run_records(df: IO[bytes], dpath: Path, chain: _Chain, run: _Run) -> list[Record]:
    """The records of one run, read back from the digests file: the same bytes the chain was checked on, else an
    error (the file changed in between)."""
    h = hashlib.sha256()
    recs: list[Record] = []
    lineno = run.first_lineno - 1
    try:
        for _, raw in _read_lines(df, run.start, run.end):
            lineno += 1
            if lineno in chain.skip:
                continue
            rec = parse_record(raw.rstrip(b"\r\n"), lineno)
            if rec is not None:
                h.update(raw)
                recs.append(rec)
    except OSError as exc:
        raise AuditReadyError(f"cannot read {dpath}: {exc.strerror}", "give this user read access") from None
    if h.hexdigest() != run.digest or not recs:
        raise AuditReadyError(f"{dpath} changed while it was being verified", "verify again; if it changes again, "
                              "something other than `auditready seal` is writing it: treat it as tampered")
    return recs


# -- which file holds which segment ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Cand:
    """A file that may hold a segment, and what was read of its start."""

    path: Path
    st: os.stat_result
    kind: Optional[str]  # its compression, None when plain
    related: bool  # named like the log (or a rotated form of it): may be recognised by first entry time or inode
    beside: bool  # the log or a rotated name of it (beside it, in an archive folder, named): may hold the last segment
    inode_ok: bool  # plain and on the log's file system: its inode can be the one the sealer recorded
    is_log: bool = False
    first_time: Optional[str] = None
    have_time: bool = False
    hashes: dict[tuple[int, int], str] = field(default_factory=dict)
    origin: str = ""  # the host or cluster its first entry names (``_origin``)

    @property
    def key(self) -> Optional[tuple[Any, ...]]:
        return _file_key(self.path, self.st)


def _make_cand(p: Path, log_dev: int, *, related: bool, beside: bool, is_log: bool = False) -> Optional[_Cand]:
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            return None
        kind = compression_of(p) if st.st_size else None
    except (OSError, AuditReadyError):
        return None
    c = _Cand(p, st, kind, related, beside, kind is None and st.st_dev == log_dev, is_log)
    cached = _PROBES.get(c.key)
    if cached is not None:
        c.first_time, c.have_time, c.hashes, c.origin = cached
    return c


def _device(log: Path) -> int:
    for p in (log, log.parent):
        try:
            return os.stat(p).st_dev
        except OSError:
            continue
    return -1


def _candidates(log: Path, names: set[str], archive: Sequence[PathLike], named: Sequence[PathLike]) -> list[_Cand]:
    """The log, the files beside it and in the archive folders named like it or like a rotated form of it, and
    the files named in the run: each file once, the log first."""
    log_dev = _device(log)
    out: list[_Cand] = []
    seen: set[tuple[int, int]] = set()

    def add(p: Path, *, related: bool, beside: bool, is_log: bool = False) -> None:
        c = _make_cand(p, log_dev, related=related, beside=beside, is_log=is_log)
        if c is not None and (c.st.st_dev, c.st.st_ino) not in seen:
            seen.add((c.st.st_dev, c.st.st_ino))
            out.append(c)

    add(log, related=True, beside=True, is_log=True)
    folders: list[tuple[Path, bool]] = [(log.parent, False)] + [(Path(a), True) for a in archive]
    for folder, is_archive in folders:
        try:
            listing = sorted(os.listdir(folder))
        except OSError:
            continue
        for nm in listing:
            if chain_name(nm) or (not is_archive and nm == log.name):
                continue
            if related_name(names, nm):
                add(folder / nm, related=True, beside=rotated_name(log, nm) or nm == log.name)
    for x in named:
        q = Path(x)
        add(q, related=related_name(names, q.name), beside=rotated_name(log, q.name))
    return out


def _probe(c: _Cand, ranges: Iterable[tuple[int, int]]) -> None:
    """Read what is missing of the time of the file's first entry and of the SHA-256 of each byte range of its
    (decompressed) start, in one pass over that start."""
    want = sorted({r for r in ranges if r not in c.hashes and r[1] <= _PROBE_CAP})
    if c.have_time and not want:
        return
    zero = sorted({e for s, e in want if s == 0})
    others = {r: hashlib.sha256() for r in want if r[0] != 0}
    stop = max((e for _, e in want), default=0)
    h0 = hashlib.sha256()
    zi = 0
    pos = 0
    head = b""
    need_time = not c.have_time
    try:
        src = open_rotated(c.path, c.kind)
    except (OSError, AuditReadyError):
        return
    try:
        while pos < stop or need_time:
            try:
                data = src.read(_ZCHUNK if c.kind else CHUNK)
            except _DECOMPRESS_ERRORS:
                break
            if not data:
                break
            if need_time:
                head += data[: MAX_TIME_LINE + 1 - len(head)]
                nl = head.find(b"\n")
                if nl >= 0 or len(head) > MAX_TIME_LINE:
                    c.first_time = entry_time(head[:nl]) if nl >= 0 else None
                    c.origin = _origin(head[:nl]) if nl >= 0 else ""
                    need_time, c.have_time = False, True
            end = pos + len(data)
            p = pos
            while zi < len(zero) and zero[zi] <= end:
                e = zero[zi]
                h0.update(data[p - pos : e - pos])
                p = e
                c.hashes[(0, e)] = h0.copy().hexdigest()
                zi += 1
            if zi < len(zero):
                h0.update(data[p - pos :])
            for (s, e), h in others.items():
                lo, hi = max(s, pos), min(e, end)
                if lo < hi:
                    h.update(data[lo - pos : hi - pos])
                if e <= end and (s, e) not in c.hashes:
                    c.hashes[(s, e)] = h.hexdigest()
            pos = end
    finally:
        src.close()
    if need_time:  # the whole file is one unterminated line, or empty
        c.first_time, c.have_time = (entry_time(head) if head else None), True
    _PROBES.put(c.key, (c.first_time, c.have_time, c.hashes, c.origin))


# Where an entry says it comes from, in the formats that say it (Vault's, OpenBao's and Kubernetes' own entries name
# no host or cluster): a shipper's host field (Vector, Fluent Bit, rsyslog's JSON; ECS's host.name from Beats), a GKE
# cluster's Cloud Logging entry, an AKS cluster's Azure Monitor record.
_ORIGIN_FIELDS = ((("hostname",), "host"), (("host",), "host"), (("host", "hostname"), "host"),
                  (("host", "name"), "host"), (("resource", "labels", "cluster_name"), "cluster"),
                  (("resourceId",), "Azure resource"))


def _origin(line: bytes) -> str:
    """The host or cluster a log line names (``_ORIGIN_FIELDS``), as "host NAME", or ""."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    for path, label in _ORIGIN_FIELDS:
        v: Any = obj
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, str) and v.strip():
            return f"{label} {v[:128]}"
    return ""


def _assign(cands: list[_Cand], runs: list[_Run], log: Optional[_Cand]) -> dict[int, list[tuple[_Cand, str]]]:
    """Which candidate holds which run: by content first (exact: the run's first record; every file that holds it
    is verified), then by first entry time, then by inode, each file once. Only the log or a rotated file of it may
    hold the last run (a rotated one when the log was rotated after its last seal), and the log holds it when
    nothing else does (a copy elsewhere, or a log whose first lines were changed, is checked as itself), unless it
    is an empty file made since (``_made_since``)."""
    ranges = {i: (r.first.start, r.first.end) for i, r in enumerate(runs)}
    by_time: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        t = r.first.data.get("first_time")
        if isinstance(t, str) and r.first.start == 0:
            by_time.setdefault(t, []).append(i)
    strong: dict[int, list[_Cand]] = {}
    timed: dict[int, list[_Cand]] = {}
    for c in cands:
        _probe(c, [])
        likely = by_time.get(c.first_time or "", [])
        _probe(c, [ranges[i] for i in likely])
        hit = [i for i in likely if c.hashes.get(ranges[i]) == runs[i].first.sha256]
        if not hit:  # its first line was changed, or it is not what its name says: try every run
            _probe(c, ranges.values())
            hit = [i for i in ranges if c.hashes.get(ranges[i]) == runs[i].first.sha256]
        if hit:
            strong.setdefault(hit[0], []).append(c)
        elif c.related and likely:
            timed.setdefault(likely[0], []).append(c)
    last = len(runs) - 1
    used: set[int] = set()
    out: dict[int, list[tuple[_Cand, str]]] = {}

    def take(i: int, c: _Cand, how: str) -> bool:
        if i == last and log is not None and c is not log and not c.beside:
            return False  # only the log, or a rotated file of it, holds the last segment
        out.setdefault(i, []).append((c, how))
        used.add(id(c))
        return True

    for i in range(len(runs)):
        for c in strong.get(i, []):
            take(i, c, "content")
    for i in range(len(runs)):
        for c in timed.get(i, []) if i not in out else []:
            if id(c) not in used and take(i, c, "first entry time"):
                break
    for i, r in enumerate(runs):
        if i in out or r.last.inode is None:
            continue
        for c in cands:
            if (id(c) not in used and c.related and c.inode_ok and c.st.st_ino == r.last.inode
                    and (not c.is_log or i == last) and take(i, c, "inode")):
                break
    if last not in out and log is not None and id(log) not in used and not _made_since(log, runs[last]):
        take(last, log, "being the log")
    return out


def _made_since(log: _Cand, run: "_Run") -> bool:
    """Whether the log is an empty file made since the chain last sealed it (another inode than the one recorded, on
    the same file system): a log rotated (logrotate's create) with the file that held its last segment taken away,
    which holds nothing of that segment (red team rt93 F8: "sealed lines cut off" at an empty file that was never
    sealed). An empty log of the recorded inode was cut, and is verified as the log."""
    return (log.st.st_size == 0 and log.inode_ok and run.last.inode is not None
            and log.st.st_ino != run.last.inode)


# -- verification -------------------------------------------------------------------------------------------------


def verify_log(log_path: PathLike, public_key: Ed25519PublicKey, digests_path: Optional[PathLike] = None, *,
               archive: Sequence[PathLike] = (), log_set: Sequence[PathLike] = (), only_segment: Optional[int] = None,
               need_log: bool = True, remember: bool = True, expired_before: Optional[int] = None) -> SealReport:
    """Verify the set sealed in ``log_path``'s chain: the chain itself, then each segment against the file that
    holds it (the log, a rotated file beside it or in an ``archive`` folder, or a file of ``log_set``), a segment
    whose file is found nowhere being a ``missing`` problem. With ``only_segment`` the log is checked as that
    segment and no other file is looked for. ``remember``: keep the chain's reading for the next file of the set
    (not for a throw-away copy). ``expired_before`` (ns since the epoch): a segment found nowhere whose entries all
    end before it is past the retention period (rotation may delete it): a note, not a problem. Raises
    AuditReadyError when the chain or a log cannot be read."""
    log = Path(log_path)
    dpath = Path(digests_path) if digests_path else digests_path_for(log)
    report = SealReport(str(log), str(dpath), key_id(public_key))
    if need_log and not log.is_file():
        raise AuditReadyError(f"the log {log} does not exist", "check the path")
    chain = _load_chain(dpath, log, public_key, remember=remember)
    report.records, report.segments = chain.records, chain.segments
    if chain.runs:
        end = chain.runs[-1].last
        report.last_record = f"seq {end.seq}, sealed at {end.data.get('sealed_at') or '?'}"
        a, b = chain.runs[0].first.data.get("first_time"), end.data.get("last_time")
        if isinstance(a, str) and isinstance(b, str):
            report.entries = f"{a} to {b}"
    report.problems.extend(chain.problems)
    report.notes.extend(chain.notes)
    runs = chain.runs
    if not runs:
        return report
    last = len(runs) - 1
    cands: list[_Cand]
    if only_segment is not None:
        c = _make_cand(log, _device(log), related=True, beside=True, is_log=True)
        cands = [c] if c is not None else []
        idx = [i for i, r in enumerate(runs) if r.segment == only_segment]
        assigned = {idx[-1]: [(c, "being the log")]} if idx and c is not None else {}
    else:
        names = {log.name} | {n for r in runs for n in r.names if n}
        cands = _candidates(log, names, archive, log_set)
        assigned = _assign(cands, runs, cands[0] if cands and cands[0].is_log else None)
    log_cand = cands[0] if cands and cands[0].is_log else None
    log_unsealed = (0, 0)
    log_segment: Optional[int] = runs[last].segment  # None: the log is a newer file, in no segment yet
    with contextlib.ExitStack() as stack:
        df: Optional[IO[bytes]] = None
        for i, run in enumerate(runs):
            for c, how in assigned.get(i, []):
                key = (c.key, run.segment, run.digest) if c.key is not None else None
                res: Optional[_SegResult] = _CONTENT.get(key)
                if res is None:
                    if df is None:
                        df = stack.enter_context(_open_digests(dpath, log))
                    res = _verify_content(c, _run_records(df, dpath, chain, run), run.segment)
                    _CONTENT.put(key, res)
                _merge(report, res, c, how, run, log_cand, i == last, runs[i + 1] if i < last else None,
                       chain.open_end)
                if res.tail_bytes and c is log_cand and i == last:
                    log_unsealed = (res.tail_bytes, res.tail_lines)
    if only_segment is None:

        _missing(report, log, runs, assigned, archive, log_set, expired_before)
        taken = {id(c) for v in assigned.values() for c, _ in v}
        for c in cands:
            if (id(c) not in taken and c.related and not c.is_log and not any(same_file(c.path, x) for x in log_set)
                    and not _holds_nothing(c.path)):
                report.notes.append(f"{c.path} is named like a rotated file of {log.name} but holds no segment of "
                                    "its chain: not verified (rotated before sealing began?)")
        if log_cand is not None and id(log_cand) not in taken and last in assigned:
            holder, how = assigned[last][0]
            report.notes.append(f"{log.name} is a newer file than the one the chain sealed last ({holder.path.name}, "
                                f"recognised by {how}): it is not sealed yet")
            log_segment = None
            new = _File(log)
            try:
                log_unsealed = (new.size, new.count_lines(0, new.size))
            finally:
                new.close()
            report.unsealed_bytes += log_unsealed[0]
            report.unsealed_lines += log_unsealed[1]
    if log_unsealed[0]:
        excuse, late = _not_yet_sealed(runs[last].last, log, *log_unsealed)
        if excuse and not chain.open_end:
            report.excused.append(Problem("unsealed", excuse, FIX_UNSEALED, log_segment,
                                          _tail_span(log_unsealed[1]), str(log), str(log)))
        else:
            report.problems.append(Problem(
                "unsealed",
                f"{_tail(*log_unsealed)} at the end of {log}: written after the last seal, so nothing shows whether "
                f"it was appended or altered.{late}", FIX_UNSEALED, log_segment, _tail_span(log_unsealed[1]),
                str(log), str(log)))
    return report


_SEAL_SLACK_NS = 2_000_000_000  # beyond twice the sealer's interval: its poll, a busy host, clocks a little apart


def _not_yet_sealed(last: Record, log: Path, size: int, lines: int) -> tuple[str, str]:
    """Lines at the end of the newest file after the chain's last record ``last``: (a sentence excusing them, "")
    when that record says how often its sealer seals (``interval_s``, written by `auditready seal --follow`) and
    either it was sealed at most twice that plus 2 s ago (red team rt77 F5) or the oldest of those lines (its entry
    time, read only when the seal is older) is no older than that: a sealer that is alive seals within one interval
    whatever came after a quiet spell with nothing to seal (rt79 F4). Else ("", a sentence for the finding: why they
    are not excused, or "" when the chain does not say). A one-shot seal, or an older chain, says nothing and excuses
    nothing."""
    from ..auditlog.model import parse_time

    interval = last.data.get("interval_s")
    sealed_at = last.data.get("sealed_at")
    when = parse_time(sealed_at)
    if (isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval)
            or interval <= 0 or when is None):
        return "", ""
    now = _now_ns()
    age = now - when[0]
    if age < -_SEAL_SLACK_NS:
        return "", (f" The last seal, at {sealed_at}, is {-age / 1e9:.1f} s ahead of this host's clock, so it cannot "
                    "show that the sealer is keeping up.")
    within = 2 * interval * 1e9 + _SEAL_SLACK_NS
    what = f"{_tail(size, lines)} at the end of {log} written after the last seal at {sealed_at}"
    if age <= within:
        return (f"{what}, {max(age, 0) / 1e9:.1f} s ago, within the sealer's interval of {interval:g} s: not yet "
                "sealed; a sealer that stopped leaves them unsealed past that and this check fails"), ""
    oldest = _oldest_entry(log, _file_size(log) - size)  # (read only now: the tail may be long)
    first = parse_time(oldest) if oldest else None
    waited = now - first[0] if first is not None else None
    if waited is not None and -_SEAL_SLACK_NS <= waited <= within:
        return (f"{what} ({age / 1e9:.1f} s ago: nothing came to seal since), the oldest of them written "
                f"{max(waited, 0) / 1e9:.1f} s ago, within the sealer's interval of {interval:g} s: not yet sealed; a "
                "sealer that stopped leaves them unsealed past that and this check fails"), ""
    since = (f"; so was the oldest line after it, written {waited / 1e9:.1f} s ago" if waited is not None
             and waited > 0 else "")
    return "", (f" The last seal, at {sealed_at}, was {age / 1e9:.1f} s ago: more than the sealer's interval of "
                f"{interval:g} s allows (twice that, plus 2 s){since}, so the sealer has stopped or fallen behind.")


_TAIL_READ = 16 << 20  # bytes of an unsealed tail read for its oldest entry time; a longer tail is no sealer's lag


def _file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _oldest_entry(path: Path, start: int) -> Optional[str]:
    """The earliest entry time among the whole lines of the plain file ``path`` from byte ``start`` (an unsealed
    tail), or None: a compressed file, a tail longer than ``_TAIL_READ``, or a line without a time (nothing shows
    how old it is). The earliest, not the first: whoever can write the tail can put a fresh time on its first line."""
    from ..auditlog.model import parse_time

    if compression_of(path) is not None or start < 0:
        return None
    try:
        with open_regular(path, "audit log") as f:
            f.seek(start)
            data = f.read(_TAIL_READ + 1)
    except (OSError, AuditReadyError):
        return None
    if len(data) > _TAIL_READ:
        return None
    best: Optional[tuple[int, str]] = None
    for line in data.split(b"\n")[:-1]:
        t = entry_time(line)
        ns = parse_time(t) if t else None
        if t is None or ns is None:
            return None
        if best is None or ns[0] < best[0]:
            best = (ns[0], t)
    return best[1] if best is not None else None


def _verify_content(c: _Cand, recs: list[Record], seg: int) -> _SegResult:
    lf = _File(c.path, c.kind, limit=recs[-1].end + _DECOMPRESS_SLACK)
    try:
        return _check_segment(lf, recs, seg)
    finally:
        lf.close()


def _merge(report: SealReport, res: _SegResult, c: _Cand, how: str, run: _Run, log_cand: Optional[_Cand],
           is_last: bool, nxt: Optional[_Run] = None, open_end: bool = False) -> None:
    """One file's verification of one segment into the report (the log's own unsealed tail is the caller's);
    ``nxt``: the chain's next run, which says how the next segment began. A rotated file of the chain's last
    segment is the one the vault wrote until its reopen and the sealer drains next: its tail is excused as the live
    log's is (rt79 F5); ``open_end``: the chain ends in a cut record, which excuses nothing."""
    report.problems.extend(res.problems)
    report.verified_lines += res.verified_lines
    report.verified_bytes += res.verified_bytes
    report.members.append(Member(run.segment, str(c.path), how, run.lines, run.times, _sealed_as(c, run),
                                 c.origin if run.first.start == 0 else ""))
    if res.tail_bytes:
        report.unsealed_bytes += res.tail_bytes
        report.unsealed_lines += res.tail_lines
        if not (c is log_cand and is_last):
            excuse = ""
            if is_last and not open_end:
                excuse, _ = _not_yet_sealed(run.last, c.path, res.tail_bytes, res.tail_lines)
            if excuse:
                report.excused.append(Problem("unsealed", excuse, FIX_UNSEALED, run.segment,
                                              _tail_span(res.tail_lines), str(c.path), str(c.path)))
            else:
                report.problems.append(_tail_problem(c, run, res, later=is_last, nxt=nxt))


def _sealed_as(c: _Cand, run: _Run) -> str:
    """What the chain recorded of the file it sealed as ``run``: its name(s) and inode, and when ``c`` is a plain
    file on the same file system with another inode, that one too (a copy, a restore, or another file)."""
    names = ", ".join(sorted(n for n in run.names if n)) or "a file it does not name"
    ino = run.last.inode
    if ino is None:
        return names
    other = f"; this file's is {c.st.st_ino}" if c.inode_ok and c.st.st_ino != ino else ""
    return f"{names} (inode {ino}{other})"


def _tail(size: int, lines: int) -> str:
    """Bytes after the last seal, as lines: ``lines`` counts their newlines (the sealer seals whole lines only)."""
    if not lines:
        return f"a last line without a newline ({size} bytes)"
    return f"{lines} line(s) ({size} bytes)"


def _tail_span(lines: int) -> str:
    return f"{lines} unsealed line(s)" if lines else "an unterminated line"


def _tail_problem(c: _Cand, run: _Run, res: _SegResult, *, later: bool, nxt: Optional[_Run] = None) -> Problem:
    """Whole lines after a rotated file's last seal: not sealed yet (its segment is the chain's last: the sealer
    has not caught up with the rotation), or never (the chain moved on to the next file). When the next segment
    began because the log was truncated in place (its first record's ``reason``), the file is logrotate's
    copytruncate copy, which holds lines the sealer never read: the fix is another rotation (red team rt77 F3)."""
    name = str(c.path)
    span = _tail_span(res.tail_lines)
    if later:
        return Problem("unsealed", f"{_tail(res.tail_bytes, res.tail_lines)} at the end of {name}: written after its "
                       "last seal and not sealed yet, nothing protects it.", FIX_UNSEALED, run.segment, span, name,
                       name)
    if nxt is not None and nxt.first.data.get("reason") == "truncated":
        log = ", ".join(sorted(n for n in nxt.names if n)) or "the log"
        return Problem("unsealed", f"{_tail(res.tail_bytes, res.tail_lines)} at the end of {name}: never sealed (the "
                       f"chain sealed {run.lines}, then its segment {nxt.segment} began because {log} was truncated "
                       "in place, as logrotate's copytruncate does): lines written between the sealer's last read and "
                       "the copy are in this copy but were emptied from the log before the sealer read them (which "
                       "copytruncate does on every rotation while the vault writes), or they were added to the copy "
                       "since; nothing protects them.", FIX_COPYTRUNCATE, run.segment, span, name, name)
    return Problem("unsealed", f"{_tail(res.tail_bytes, res.tail_lines)} at the end of {name}: never "
                   f"sealed (the chain moved on to the next file after sealing {run.lines}): added after the file "
                   "was rotated, or written just before and compressed or moved before the sealer reached it; nothing "
                   "protects it.", FIX_NEVER_SEALED, run.segment, span, name, name)


def _missing(report: SealReport, log: Path, runs: list[_Run], assigned: dict[int, list[tuple[_Cand, str]]],
             archive: Sequence[PathLike], log_set: Sequence[PathLike], expired_before: Optional[int] = None) -> None:
    """A ``missing`` problem for each segment no file holds; a note for one past the retention period
    (``verify_log``'s ``expired_before``). A segment is past it only when everything the chain says of its time is:
    its first and last entries' times and when the sealer last sealed it (an entry's time is the log's word, which a
    stepped-back clock or an appended line can make old; the record's own is the sealer's), and only when no older
    segment still has a file (rotation deletes the oldest first: a missing middle is never rotation; red team
    rt55 F4)."""
    from ..auditlog.model import parse_time

    dname = report.digests_path
    oldest_kept = min(assigned, default=len(runs))
    for i, r in enumerate(runs):
        if i in assigned:
            continue
        said = [parse_time(t) for t in (r.first.data.get("first_time"), r.last.data.get("last_time"),
                                        r.last.data.get("sealed_at"))]
        ended = max((s[0] for s in said if s is not None), default=None) if all(said) else None
        if expired_before is not None and ended is not None and ended < expired_before and i < oldest_kept:
            report.expired.append(f"segment {r.segment} ({r.times})")
            continue
        looked = (f"no file beside {log} holds it (its rotated names were looked at, compressed or not, by "
                  "content, first entry time and inode)")
        if archive:
            shown = [_archive_name(a) for a in archive]
            gone = [n for a, n in zip(archive, shown) if not os.path.isdir(a)]
            looked += (", nor does any in the archive folder(s) " + ", ".join(shown)
                       + (f" ({', '.join(gone)}: no such folder)" if gone else ""))
        if log_set:
            looked += ", nor any file named in this run"
        recorded = ", ".join(sorted(n for n in r.names if n)) or "?"
        span = ", ".join(x for x in (r.lines, r.times) if x)
        report.problems.append(Problem(
            "missing", f"Segment {r.segment} of the chain {dname} (sealed from {recorded}, {span}) has no file: "
            f"{looked}. A sealed log file was deleted or moved away, so its entries can no longer be verified.",
            FIX_MISSING_ARCHIVED if archive else FIX_MISSING, r.segment, r.lines, f"{dname}:{r.first.where}"))


def _archive_name(folder: PathLike) -> str:
    """An archive folder as a finding may show it: an object-store URL carrying a credential is never shown."""
    from ..engine.objects import credentials_in, is_url

    text = os.fspath(folder)
    return "an object-store URL carrying a credential" if is_url(text) and credentials_in(text) else text


_LISTED: dict[str, tuple[tuple[int, int, int], list[str]]] = {}  # folder -> (its identity and mtime, digests)


def _digests_in(folder: Path) -> list[str]:
    """The names of the digest chains in ``folder``, sorted: listed again only when the folder changed since (its
    mtime), so that the files of a set of 1,000 in one folder do not list it 1,000 times. A name listed that is gone
    since is no file (``chains_near`` checks); one added since changed the mtime."""
    st = os.stat(folder)
    key, stamp = str(folder), (st.st_dev, st.st_ino, st.st_mtime_ns)
    seen = _LISTED.get(key)
    if seen is not None and seen[0] == stamp:
        return seen[1]
    names = sorted(nm for nm in os.listdir(folder) if nm.endswith(DIGESTS_SUFFIX) and nm != DIGESTS_SUFFIX)
    if len(_LISTED) >= 64:
        _LISTED.clear()
    _LISTED[key] = (stamp, names)
    return names


@functools.lru_cache(maxsize=16)
def _set_folders(names: tuple[str, ...]) -> tuple[Path, ...]:
    """The distinct folders of ``names``, in order: found once for a run's log set, which every file of the set
    asks about (compared path by path for each file, a set of 1,000 files cost a million stats)."""
    folders: list[Path] = []
    for d in dict.fromkeys(os.path.dirname(n) for n in names):
        parent = Path(d or ".")
        if not any(same_file(parent, e) for e in folders):
            folders.append(parent)
    return tuple(folders)


def chains_near(path: Path, log_set: Sequence[PathLike] = ()) -> tuple[list[tuple[Path, Path]],
                                                                        list[tuple[Path, Path]]]:
    """The digest chains beside ``path`` and beside the files named in the run, as (log, digests): first those
    whose log ``path`` is named like (a rotated form of its name, or its name in another folder), then the others."""
    # (a run's set is a tuple of names already: not made again for each of its files, 6,000 of them in a year)
    names = log_set if isinstance(log_set, tuple) and all(isinstance(n, str) for n in log_set[:1]) else \
        tuple(map(str, log_set))
    folders = [path.parent, *(e for e in _set_folders(names) if not same_file(path.parent, e))]
    related: list[tuple[Path, Path]] = []
    other: list[tuple[Path, Path]] = []
    for d, log, dpath in _chains_in(folders):
        if same_file(log, path):
            continue
        if rotated_name(log, path.name) or (log.name == path.name and not same_file(d, path.parent)):
            related.append((log, dpath))
        else:
            other.append((log, dpath))
    return related, other


def _chains_in(folders: Sequence[Path]) -> Iterator[tuple[Path, Path, Path]]:
    """(folder, the log it names, the chain file) of each digest chain in ``folders`` (a folder that cannot be
    listed holds none here: reading its logs says why)."""
    for d in folders:
        try:
            listing = _digests_in(d)
        except OSError:
            continue
        for nm in listing:
            dpath = d / nm
            if dpath.is_file():
                yield d, d / nm[: -len(DIGESTS_SUFFIX)], dpath


def find_chain(path: PathLike, public_key: Ed25519PublicKey, *, log_set: Sequence[PathLike] = ()
               ) -> Optional[tuple[Path, Path]]:
    """The chain that seals ``path``, as (its log, its digests file): ``path.digests`` when there is one, else the
    first ``LOG.digests`` beside ``path`` (or beside a file named in the run) one of whose segments ``path`` holds:
    by content, or, for a chain whose log ``path`` is named like, by first entry time or inode. When none holds it,
    a chain it is named like (``verify_member`` then says it holds no segment of it); else None."""
    f = Path(path)
    own = digests_path_for(f)
    if os.path.lexists(own):
        return f, own
    related, other = chains_near(f, log_set)
    for log, dpath in related + other:
        try:
            chain = _load_chain(dpath, log, public_key)
        except AuditReadyError:
            continue
        c = _make_cand(f, _device(log), related=(log, dpath) in related, beside=False)
        if chain.runs and c is not None and _assign([c], chain.runs, None):
            return log, dpath
    return related[0] if related else None


def verify_member(path: PathLike, public_key: Ed25519PublicKey, *, archive: Sequence[PathLike] = (),
                  log_set: Sequence[PathLike] = (), expired_before: Optional[int] = None) -> Optional[SealReport]:
    """Verify the sealed set ``path`` belongs to (``find_chain``), whichever file of it ``path`` is: the whole
    chain across its files, and ``path`` as the segment(s) it holds. None when no chain seals it."""
    f = Path(path)
    found = find_chain(f, public_key, log_set=log_set)
    if found is None:
        return None
    log, dpath = found
    others = [Path(x) for x in log_set if not same_file(x, f)]
    if log == f:
        return verify_log(f, public_key, dpath, archive=archive, log_set=others, expired_before=expired_before)
    report = verify_log(log, public_key, dpath, archive=archive, log_set=[f, *others], need_log=False,
                        expired_before=expired_before)
    report.subject = str(f)
    if report.segments and not report.members_for(f) and _holds_nothing(f):
        # an empty rotated file (logrotate's default ifempty rotates an idle day's empty log; compress then makes a
        # gzip of nothing): it holds no line, so no sealed line can have been lost from it; a sealed file emptied
        # leaves its segment without its bytes, which the chain's own verification reports (red team rt93 F4)
        report.empty = True
    elif report.segments and not report.members_for(f):
        report.problems.append(Problem(
            "unmatched", f"{f} is named like a rotated file of {log} but holds no segment of its chain {dpath} (none "
            "matches its content, first entry time or inode): it was rotated before sealing began, or altered after "
            "it was sealed; either way nothing proves it unchanged.", FIX_UNMATCHED, where=str(f), file=str(f)))
    return report


def _holds_nothing(path: Path) -> bool:
    """Whether ``path`` holds no byte: a file of 0 bytes, or a compressed one whose stream decompresses to none
    (gzip of nothing: 20 bytes). A damaged stream holds something it cannot show: not empty."""
    try:
        st = os.stat(path)
        if st.st_size == 0:
            return stat.S_ISREG(st.st_mode)
        kind = compression_of(path)
        if kind is None:
            return False
        src = open_rotated(path, kind)
    except (OSError, AuditReadyError):
        return False
    try:
        return src.read(1) == b""
    except _DECOMPRESS_ERRORS:
        return False
    finally:
        src.close()


@dataclass
class Orphan:
    """A digest chain in a folder of the run's files whose log (``LOG`` of ``LOG.digests``) is no file, and what
    verifying it, with the files looked for wherever a set's are, found (``orphan_chains``)."""

    log: str
    digests_path: str
    report: SealReport


def orphan_chains(log_set: Sequence[PathLike], public_key: Ed25519PublicKey, *, archive: Sequence[PathLike] = (),
                  elsewhere: Sequence[PathLike] = (), expired_before: Optional[int] = None) -> list[Orphan]:
    """The chains ``LOG.digests`` in the folders of the files named in the run (``log_set``) whose ``LOG`` is gone
    (red team rt93 F1): a sealed file deleted with its chain left beside the others (history sealed file by file,
    `auditready seal FILE`), or every file of a second log of the folder deleted. A set is built from log files, and
    a chain is otherwise opened only beside a log that is there, so such a chain was never read. Each is verified as
    a set's chain is (``verify_log``): its segments looked for beside it under the names its records give (rotated,
    compressed), in the ``archive`` folders, among the run's files and ``elsewhere`` (the files of
    retention_archive); a segment found nowhere is ``missing``, unless past the retention period as
    ``expired_before`` says (``_missing``). A chain one of whose segments a file of the run holds, and which that
    file's own verification reads (``find_chain``), is left out: that file's verdict carries its problems."""
    names = tuple(map(str, log_set))
    named = [*names, *(str(x) for x in elsewhere if not any(same_file(x, n) for n in names))]
    out: list[Orphan] = []
    for _folder, log, dpath in _chains_in(_set_folders(names)):
        if os.path.lexists(log):
            continue
        try:
            report = verify_log(log, public_key, dpath, archive=archive, log_set=named, need_log=False,
                                expired_before=expired_before)
        except AuditReadyError as exc:
            report = SealReport(str(log), str(dpath), key_id(public_key))
            report.problems.append(Problem("chain", f"{dpath} cannot be verified: {exc.cause}.",
                                           exc.fix or FIX_CHAIN, where=str(dpath)))
        if any(_reads(m.path, dpath, public_key, names) for m in report.members
               if any(same_file(m.path, n) for n in names)):
            continue
        out.append(Orphan(str(log), str(dpath), report))
    return out


def _reads(path: str, dpath: Path, public_key: Ed25519PublicKey, names: Sequence[str]) -> bool:
    """Whether the verification of ``path``, a file of the run, reads the chain ``dpath``."""
    try:
        found = find_chain(Path(path), public_key, log_set=names)
    except AuditReadyError:
        return False
    return found is not None and same_file(found[1], dpath)
