"""How rotation names and stores an old log file, and finding the old file again.

A rename keeps the file's inode, so a renamed file is found again by it (``locate_rotated``). Compression
(logrotate's ``compress``) makes a new file under a new name (audit.log.2.gz): such a file can only be recognised
by what it holds once decompressed (``compression_of``, ``open_rotated``).

Used where a log is followed across rotation: the live log source (to name where an entry read before a rotation
now lives), the sealer, and the verifier of a sealed, rotated set of files.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import zlib
from pathlib import Path
from typing import BinaryIO, Iterable, Optional

from ..errors import AuditReadyError
from ..safeio import open_regular

# What compressors add to a file's name (logrotate's compressext, gzip, bzip2, xz, zstd, lz4, lzop, compress).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".Z")
# A rotated file's name: the log's stem (a letter in it, and digits too: vault-0-audit.log, host1.audit.log), a
# separator, the rotation's number or date (digit runs with separators between them: 3, 20261101,
# 2026112219-1764839760, 2026-01-05T08-00-00.000), an optional extension. The shortest stem that fits is taken.
_SLOT = re.compile(r"(?P<stem>.*?[A-Za-z].*?)(?P<sep>[.\-_])(?P<slot>\d+(?:[-_T.:]\d+)*)(?P<ext>\.[A-Za-z]\w*)?\Z")


def uncompressed_name(name: str) -> str:
    """``name`` (a file's base name) without the suffix a compressor adds to it."""
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def rotation_slot(name: str) -> Optional[tuple[str, str, tuple[int, ...], bool]]:
    """Where rotation put the file ``name`` (a base name, compressed or not) among the files of its log: (the live
    log's name, the pattern of the log's rotated names, the numbers in this one, whether a newer file carries a
    lower number). logrotate numbers newer files lower (audit.log.1 is newer than audit.log.2); a date (dateext,
    lumberjack's audit-2026-01-05T08-00-00.000.log) grows with time. None for a name that carries no number at its
    end (the live log, a shipper's random object key), and for a short number after "-" or "_"
    (vault-0.log, audit-2.log: the logs of several nodes or writers, which overlap in time; logrotate's numbers
    follow a ".", also with its extension option: audit.1.log)."""
    m = _SLOT.match(uncompressed_name(name))
    if m is None:
        return None
    slot, ext = m.group("slot"), m.group("ext") or ""
    runs = re.findall(r"\d+", slot)
    pattern = m.group("stem") + m.group("sep") + re.sub(r"\d+", "#", slot) + ext
    counter = len(runs) == 1 and len(runs[0]) <= 5  # logrotate's LOG.N; a date has 6 digits at least
    if counter and m.group("sep") != ".":
        return None  # vault-0.log, audit-2.log: a node's or a writer's number (a StatefulSet's pods), no rotation
    return m.group("stem") + ext, pattern, tuple(int(r) for r in runs), counter


def rotation_sorted(paths: Iterable[str]) -> list[str]:
    """``paths`` (a folder's or a glob's files) in name order, except that the files of one log in one folder are
    in the order rotation wrote them, oldest first and the live log last (``rotation_slot``: audit.log.2,
    audit.log.1, audit.log; audit.log-20261101, audit.log-20261102, audit.log), in the places the name order gave
    them. A name sort puts audit.log before audit.log.1, so a request and its response across the rotation would
    not be paired."""
    def group(path: str) -> tuple[str, str]:
        folder, base = os.path.split(path)
        slot = rotation_slot(base)
        return folder, slot[0] if slot is not None else uncompressed_name(base)

    def age(path: str) -> tuple[int, tuple[int, ...], str]:
        base = os.path.basename(path)
        slot = rotation_slot(base)
        if slot is None:
            return 1, (), base  # the live log: the newest
        _live, _pattern, numbers, newer_lower = slot
        return 0, tuple(-n for n in numbers) if newer_lower else numbers, base

    named = sorted(paths)
    members: dict[tuple[str, str], list[str]] = {}
    for p in named:
        members.setdefault(group(p), []).append(p)
    ordered = {g: iter(sorted(ps, key=age)) for g, ps in members.items()}
    return [next(ordered[group(p)]) for p in named]


def distinct_slots(a: str, b: str) -> bool:
    """Whether base names ``a`` and ``b`` are two different places of one log's rotation (audit.log.3.gz and
    audit.log.7.gz, audit.log-20261103 and audit.log-20261107), not one file compressed or not (audit.log.1 and
    audit.log.1.gz) nor the live log and a rotated one."""
    x, y = rotation_slot(a), rotation_slot(b)
    return x is not None and y is not None and x[1] == y[1] and x[2] != y[2]


# Magic bytes of the compressors logrotate is used with that Python reads without extra packages.
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def chain_name(name: str) -> bool:
    """Whether ``name`` is a digest chain (``LOG.digests``) or a rotated copy of one (audit.log.digests.1,
    audit.log.digests-20260101.gz: a logrotate rule on the log's whole folder rotates the chain too): never a log."""
    at = name.rfind(".digests")
    return at > 0 and name[at + len(".digests") : at + len(".digests") + 1] in ("", ".", "-", "_")


def rotated_name(log: Path, name: str) -> bool:
    """Whether ``name`` is how rotation names an old ``log``: audit.log.1, audit.log.2.gz, audit.log-20260101,
    audit-20260101.log, audit.1.log: after the log's name (or its stem, logrotate's extension option) a separator
    and a number or a date. A digest chain, rotated or not, is none (``chain_name``); nor is another file of the
    folder named like the log (audit.hcl, the vault's own configuration; audit.json, an export; audit.log.swp)."""
    if name == log.name or chain_name(name):
        return False
    stem = log.name.split(".", 1)[0]
    for head in (log.name, stem):
        rest = name[len(head):] if name.startswith(head) else ""
        if rest[:1] in ("-", "_", ".") and any(c.isdigit() for c in rest):
            return True
    return False


def related_name(log_names: Iterable[str], name: str) -> bool:
    """Whether ``name`` is one of ``log_names`` or a rotated form of one of them."""
    return any(name == n or rotated_name(Path(n), name) for n in log_names if n) and not chain_name(name)


def locate_rotated(log: Path, inode: Optional[int]) -> Optional[Path]:
    """The rotated file beside ``log`` whose inode is ``inode``, or None (deleted, compressed, moved elsewhere)."""
    if inode is None:
        return None
    try:
        names = sorted(os.listdir(log.parent))
    except OSError:
        return None
    for nm in names:
        if not rotated_name(log, nm):
            continue
        p = log.parent / nm
        try:
            if p.is_file() and os.stat(p).st_ino == inode:
                return p
        except OSError:
            continue
    return None


def locate_copy(log: Path, offset: int, anchor: bytes) -> Optional[Path]:
    """The uncompressed copy beside ``log`` that logrotate's copytruncate made before cutting it: a rotated name
    whose bytes ``offset - len(anchor)`` to ``offset`` are ``anchor`` (the last bytes read of the log before the cut),
    the newest such first; None when there is none (compressed at once, moved, deleted, or the cut lost them)."""
    if not anchor:
        return None
    try:
        names = [nm for nm in os.listdir(log.parent) if rotated_name(log, nm)]
    except OSError:
        return None
    found: list[tuple[float, Path]] = []
    for nm in names:
        p = log.parent / nm
        try:
            st = os.stat(p)
            if not stat.S_ISREG(st.st_mode) or st.st_size < offset:
                continue
            with open_regular(p, "log") as f:
                f.seek(offset - len(anchor))
                if f.read(len(anchor)) == anchor:
                    found.append((st.st_mtime, p))
        except (OSError, AuditReadyError):
            continue
    return max(found)[1] if found else None


def compression_of(path: Path) -> Optional[str]:
    """"gzip", "bzip2" or "xz" when the file starts with that compressor's magic bytes, else None. Only a regular
    file is opened (a FIFO planted among rotated files cannot block); an unreadable one raises OSError or
    AuditReadyError."""
    with open_regular(path, "log") as f:
        head = f.read(6)
    return compression_in(head)


def compression_in(head: bytes) -> Optional[str]:
    """"gzip", "bzip2" or "xz" when ``head`` (a file's first bytes, 6 are enough) is that compressor's magic."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


class GzipReader(gzip.GzipFile):
    """A gzip stream whose damaged deflate data reads as OSError, as a bad CRC already does (zlib raises its own
    ``zlib.error``, no OSError): every reader of logs catches OSError and EOFError, and refuses the file in one
    line instead of a traceback."""

    def read(self, size: Optional[int] = -1) -> bytes:
        try:
            return super().read(-1 if size is None else size)
        except zlib.error as exc:
            raise OSError(f"damaged gzip data ({exc})") from None

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except zlib.error as exc:
            raise OSError(f"damaged gzip data ({exc})") from None


TRAILING = "bytes that are no {kind} stream follow its {kind} data"


class _Streams(io.RawIOBase):
    """bzip2 or xz streams one after another (as bzip2 and xz write a file compressed in parts), to the file's last
    byte. Python's BZ2File and LZMAFile take anything after a stream that is not another stream for the end of the
    file, without a word: lines appended after compression, a damaged second stream, were never read, and the log
    passed (red team rt34, F1). Here such bytes raise OSError (``TRAILING``), as gzip's own reader refuses them; xz's
    stream padding (NUL bytes, xz file format 2.2) is no such bytes. Damaged data raises OSError, a stream cut short
    EOFError."""

    def __init__(self, raw: BinaryIO, kind: str) -> None:
        super().__init__()
        self._raw, self._kind = raw, kind
        # (xz's own format only: an LZMA_Alone stream after an xz stream is none, as xz -t says: red team rt39, F1)
        self._new = bz2.BZ2Decompressor if kind == "bzip2" else lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)
        self._d: "bz2.BZ2Decompressor | lzma.LZMADecompressor" = self._new()
        self._fed = False  # a byte of the current stream was fed
        self._first = True  # the current stream is the file's first
        self._left = b""  # read from the file, not yet fed

    def readable(self) -> bool:
        return True

    def _next_stream(self) -> bool:
        """After a stream's end: start the next one on what follows it; False at the file's end."""
        rest = self._d.unused_data + self._left
        padding = 0  # xz's stream padding: NUL bytes, a multiple of four (xz file format 2.2)
        while True:
            if self._kind == "xz":
                padding += len(rest)
                rest = rest.lstrip(b"\0")
                padding -= len(rest)
            if rest:
                break
            rest = self._raw.read(1 << 16)
            if not rest:
                break
        if padding % 4:
            raise OSError(f"{TRAILING.format(kind=self._kind)} ({padding} NUL bytes, where xz's stream padding is a "
                          "multiple of four)")
        if not rest:
            return False
        magic = next(m for m, k in _MAGIC if k == self._kind)
        while len(rest) < len(magic):  # (a newline appended is no stream cut short: its first bytes say so)
            more = self._raw.read(len(magic) - len(rest))
            if not more:
                break
            rest += more
        if not rest.startswith(magic):
            raise OSError(f"{TRAILING.format(kind=self._kind)} (they do not start with a {self._kind} stream's "
                          "magic bytes)")
        self._d, self._fed, self._first, self._left = self._new(), False, False, rest
        return True

    def readinto(self, buf: "bytearray | memoryview") -> int:  # type: ignore[override]
        out = memoryview(buf).cast("B")
        while True:
            if self._d.eof and not self._next_stream():
                return 0
            if self._d.needs_input:
                chunk, self._left = self._left or self._raw.read(1 << 16), b""
                if not chunk:
                    if not self._fed:
                        return 0  # an empty file
                    raise EOFError(f"the file ends inside its {self._kind} data")
            else:
                chunk = b""  # what the decompressor holds still gives output
            try:
                data = self._d.decompress(chunk, len(out))
            except (OSError, lzma.LZMAError) as exc:
                if not self._fed and not self._first:
                    raise OSError(f"{TRAILING.format(kind=self._kind)} ({exc})") from None
                raise OSError(f"damaged {self._kind} data ({exc})") from None
            self._fed = self._fed or bool(chunk)
            if data:
                out[: len(data)] = data
                return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _strict(raw: BinaryIO, kind: str) -> io.BufferedReader:
    return io.BufferedReader(_Streams(raw, kind), 1 << 16)


def decompressing(f: BinaryIO, kind: Optional[str]) -> BinaryIO:
    """``f`` read through the decompressor ``kind`` names (``compression_in``), or as it is for None: one place
    for a local file and an object alike, so that a log compressed once is read wherever it is kept."""
    if kind == "gzip":
        return GzipReader(fileobj=f, mode="rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    if kind in ("bzip2", "xz"):
        return _strict(f, kind)
    return f


class RotatedFile:
    """A log file's content read front to back: decompressed when it is compressed. Closing it closes the file."""

    def __init__(self, raw: BinaryIO, kind: Optional[str]) -> None:
        self._raw = raw
        self._z: Optional[io.BufferedIOBase] = None
        if kind == "gzip":
            self._z = GzipReader(fileobj=raw, mode="rb")
        elif kind in ("bzip2", "xz"):
            self._z = _strict(raw, kind)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (fewer from a compressed file: one decompression step at a time, so that damaged data
        costs only what follows it); b"" at the end. Damaged compressed data raises OSError, EOFError,
        lzma.LZMAError or zlib.error."""
        return self._z.read1(n) if self._z is not None else self._raw.read(n)

    def close(self) -> None:
        try:
            if self._z is not None:
                self._z.close()
        finally:
            self._raw.close()

    def __enter__(self) -> "RotatedFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_rotated(path: Path, kind: Optional[str] = None) -> RotatedFile:
    """The content of a log file (a regular file only), decompressed when ``kind`` (from ``compression_of``) says
    it is compressed. A missing file raises FileNotFoundError, anything else wrong an AuditReadyError."""
    return RotatedFile(open_regular(path, "log"), kind)
