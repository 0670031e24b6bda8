"""The sealed digest chain: keys, the record format, signing and checking one record.

``LOG.digests`` is a JSON-lines file beside the log. Each record covers the bytes sealed since the previous one
(``start``/``end`` byte offsets and ``first_line``/``lines`` within its segment, their SHA-256, the first and last
entry times), names the previous record by hash and signature, and is signed with Ed25519 over its canonical
JSON (sorted keys, no spaces) without the ``sig`` field. A segment is one log file: after rotation the next file
starts a new segment whose first record still chains to the old segment's last one. Signed optional fields: a
chain started over with ``--new-chain`` names in its first record what it replaces (``restarted_after``: the old
chain's last seq, hash and seal time, or "none"), and a following sealer writes its ``interval_s`` in each record.

Nothing here reads the log itself and nothing here imports pytest.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Mapping, Optional, Union

from ..errors import AuditReadyError
from ..safeio import MAX_KEY_BYTES, open_regular, read_small, write_all

if TYPE_CHECKING:  # cryptography is imported where a key is used: a log without a chain never loads it (6 MB)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "auditready-seal/1"
GENESIS = "0" * 64
DIGESTS_SUFFIX = ".digests"
MAX_TAIL = 16 << 20  # a record is a few hundred bytes: a tail this long without one is not a chain
DIGESTS_FIX = "LOG.digests must be the regular file `auditready seal` writes: move whatever is there away"

PathLike = Union[str, "os.PathLike[str]"]


def digests_path_for(log_path: PathLike) -> Path:
    """Where the chain of ``log_path`` lives: ``LOG.digests`` beside it."""
    return Path(str(log_path) + DIGESTS_SUFFIX)


def canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def record_hash(record: Mapping[str, Any]) -> str:
    """The hash the next record names as ``prev``: SHA-256 of the full canonical record, signature included."""
    return hashlib.sha256(canonical(record)).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short public fingerprint of a key (never the key itself): the first 16 hex of SHA-256 of its raw bytes."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_record(private_key: Ed25519PrivateKey, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` plus its ``sig``."""
    sig = private_key.sign(canonical(body))
    out = dict(body)
    out["sig"] = base64.b64encode(sig).decode("ascii")
    return out


def signature_ok(public_key: Ed25519PublicKey, record: Mapping[str, Any]) -> bool:
    sig_text = record.get("sig")
    if not isinstance(sig_text, str):
        return False
    try:
        sig = base64.b64decode(sig_text, validate=True)
    except (binascii.Error, ValueError):
        return False
    from cryptography.exceptions import InvalidSignature

    body = {k: v for k, v in record.items() if k != "sig"}
    try:
        public_key.verify(sig, canonical(body))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# -- records -------------------------------------------------------------------------------------------------

_INT_FIELDS = ("seq", "segment", "start", "end", "first_line", "lines")
_STR_FIELDS = ("format", "sha256", "prev", "prev_sig", "key_id", "sig", "file")


@dataclass(frozen=True)
class Record:
    """One parsed digest record (the JSON is kept for hashing and signature checks)."""

    data: Mapping[str, Any]
    where: int  # line number in the digests file

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def segment(self) -> int:
        return int(self.data["segment"])

    @property
    def start(self) -> int:
        return int(self.data["start"])

    @property
    def end(self) -> int:
        return int(self.data["end"])

    @property
    def first_line(self) -> int:
        return int(self.data["first_line"])

    @property
    def lines(self) -> int:
        return int(self.data["lines"])

    @property
    def last_line(self) -> int:
        return self.first_line + self.lines - 1

    @property
    def sha256(self) -> str:
        return str(self.data["sha256"])

    @property
    def inode(self) -> Optional[int]:
        v = self.data.get("inode")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    @property
    def file(self) -> str:
        return str(self.data.get("file", ""))

    @property
    def sig(self) -> str:
        return str(self.data["sig"])

    def hash(self) -> str:
        return record_hash(self.data)


def parse_record(raw: bytes, where: int) -> Optional[Record]:
    """A record from one line of the digests file, or None when the line is not a well-formed record."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    for k in _INT_FIELDS:
        v = data.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return None
    for k in _STR_FIELDS:
        if not isinstance(data.get(k), str):
            return None
    if data["end"] < data["start"] or data["lines"] < 1 or data["first_line"] < 1:
        return None
    return Record(data, where)


def last_record(digests: PathLike, window: int = 1 << 16, f: Optional[BinaryIO] = None) -> Optional[Record]:
    """The last well-formed record of a digests file, reading only its tail (the file can be large, a record is
    not: the tail read grows to MAX_TAIL at most). ``f``: the file already open (the sealer's own, left open),
    else ``digests`` is opened (a regular file only)."""
    try:
        opened = contextlib.nullcontext(f) if f is not None else open_regular(digests, "digest chain",
                                                                              fix=DIGESTS_FIX)
        with opened as fh:
            size = fh.seek(0, os.SEEK_END)
            step = window
            while True:
                start = max(0, size - step)
                fh.seek(start)
                data = fh.read(size - start)
                lines = data.split(b"\n")
                lines = lines[:-1]  # after the last newline: nothing, or a record still being written
                if start > 0:
                    lines = lines[1:]  # the first piece may be a partial line
                for raw in reversed(lines):
                    if raw.strip():
                        rec = parse_record(raw, 0)
                        if rec is not None:
                            return rec
                        break  # the last line is damaged: say so rather than resume from an older record
                else:
                    if start > 0 and step < MAX_TAIL:
                        step *= 4
                        continue
                    if start == 0:
                        return None
                raise AuditReadyError(
                    f"the last line of {digests} is not a digest record",
                    "run `auditready verify` on the log to see what changed; move the damaged file away to "
                    "start a new chain",
                )
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditReadyError(f"cannot read {digests}: {exc.strerror}", "fix its permissions") from None


def records_backward(f: BinaryIO, end: int, limit: int = MAX_TAIL) -> Iterator[Record]:
    """The records of the open digests file ``f`` that end by byte ``end`` (0 or just after a newline), the last
    one first, reading at most about ``limit`` bytes back from ``end``; it stops at a line that is no record."""
    pos, head = end, b""
    while pos > 0 and end - pos < limit:
        n = min(1 << 16, pos)
        pos -= n
        f.seek(pos)
        lines = (f.read(n) + head).split(b"\n")
        head = lines.pop(0) if pos > 0 else b""  # (maybe the end of a line that starts before ``pos``)
        for raw in reversed(lines):
            if raw.strip():
                rec = parse_record(raw, 0)
                if rec is None:
                    return
                yield rec


# -- keys ------------------------------------------------------------------------------------------------------

KEY_FIX = "make a key pair with `auditready keygen KEY` (KEY is private, KEY.pub public) and pass that file"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_keypair(path: PathLike) -> tuple[Path, Path, str]:
    """Make an Ed25519 key pair: the private key (PKCS#8 PEM, mode 0600) at ``path`` and the public key at
    ``path.pub``. Never overwrites. Returns both paths and the key id."""
    priv_path = Path(path)
    pub_path = Path(str(path) + ".pub")
    for p in (priv_path, pub_path):
        if os.path.lexists(p):  # a dangling link too: O_EXCL below would refuse it anyway
            raise AuditReadyError(f"{p} already exists", "choose another KEY path; keys are never overwritten")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    priv_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except OSError as exc:
        raise AuditReadyError(f"cannot create {priv_path}: {exc.strerror}", "check the folder exists and is "
                              "writable") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        write_all(fd, priv_pem)
    finally:
        os.close(fd)
    try:
        fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    except OSError as exc:
        priv_path.unlink()
        raise AuditReadyError(f"cannot create {pub_path}: {exc.strerror}", "check the folder is writable") from None
    try:
        write_all(fd, pub_pem)
    finally:
        os.close(fd)
    return priv_path, pub_path, key_id(key.public_key())


def _read_key_file(path: PathLike, what: str) -> bytes:
    """A key file's bytes: a regular file of at most MAX_KEY_BYTES (a FIFO or device is refused, never read)."""
    try:
        return read_small(path, what, MAX_KEY_BYTES, fix=KEY_FIX)
    except FileNotFoundError:
        raise AuditReadyError(f"the {what} {path} does not exist", KEY_FIX) from None


def load_private_key(path: PathLike) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0
    data = _read_key_file(path, "private key")
    if b"PUBLIC KEY" in data:
        raise AuditReadyError(f"{path} is a public key", "pass the private key (KEY, not KEY.pub) to the sealer")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise AuditReadyError(f"{path} is not an unencrypted PEM private key",
                              "pass the private key written by `auditready keygen KEY`") from None
    except Exception:
        raise AuditReadyError(f"{path} is not a usable private key",
                              "pass the private key written by `auditready keygen KEY`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditReadyError(f"{path} is not an Ed25519 key", "make one with `auditready keygen KEY`")
    if mode & 0o077:
        raise AuditReadyError(f"the private key {path} has mode {mode:04o}: others on this machine can read it",
                              f"chmod 600 {path}")
    return key


def load_public_key(path: PathLike) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_key_file(path, "public key")
    if b"PRIVATE KEY" in data:
        raise AuditReadyError(f"{path} holds a private key", f"pass the public key ({path}.pub); the private key "
                              "stays with the sealer")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise AuditReadyError(f"{path} is not a PEM public key", "pass KEY.pub written by `auditready keygen KEY`"
                              ) from None
    except Exception:
        raise AuditReadyError(f"{path} is not a usable public key",
                              "pass KEY.pub written by `auditready keygen KEY`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditReadyError(f"{path} is not an Ed25519 public key", "pass KEY.pub written by `auditready keygen`")
    return key
