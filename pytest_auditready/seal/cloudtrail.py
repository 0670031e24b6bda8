"""Validate a local copy of an AWS CloudTrail trail (digest files and log files) the way
`aws cloudtrail validate-logs` does against S3, without network access.

CloudTrail writes an hourly digest file (gzip'd JSON) naming each log file delivered in the hour with the SHA-256
of its uncompressed content, and the previous digest by S3 location, SHA-256 and signature. Each digest is signed
with the region's RSA key (PKCS#1 v1.5 over SHA-256) over the signing string::

    digestEndTime "\\n" digestS3Bucket "/" digestS3Object "\\n" hex(sha256(uncompressed digest)) "\\n"
    previousDigestSignature

(``null`` for the first digest of a chain). The signature itself lives in the digest object's S3 metadata
(``x-amz-meta-signature``, hex), which a plain copy loses: keep it beside each digest as ``DIGEST.sig`` (the hex)
or ``DIGEST.metadata.json`` (``aws s3api head-object ... --query Metadata``). Public keys come from
``aws cloudtrail list-public-keys`` (JSON; ``Value`` is the base64 DER key, matched by ``Fingerprint``, valid for
digests that end within its ``ValidityStartTime``..``ValidityEndTime``). Digests chain per trail, account and region;
a starting digest (no previous) after a gap is CloudTrail's record that logging was off meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import gzip
import hashlib
import json
import os
import posixpath
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import AuditReadyError
from ..safeio import MAX_LIST_BYTES, open_regular, read_small, size_text

DIGEST_MARK = "_CloudTrail-Digest_"
FIX_LOG = ("treat the log file as tampered: restore it from the bucket (S3 versioning / Object Lock) and find out "
           "who could write it")
FIX_DIGEST = "treat the digest chain as tampered: restore the digest files from the bucket and compare"
FIX_COPY = "copy the missing files from the bucket (aws s3 sync), with each digest's signature metadata"
# A digest file lists an hour's log files: some KiB, a few MiB for the busiest trails. Past this, decompressed, it
# is not one (a gzip bomb inflates 1000-fold), and it is refused before it is held.
MAX_DIGEST_BYTES = 16 << 20
MAX_SIGNATURE_BYTES = 64 << 10  # DIGEST.sig (hex) and DIGEST.metadata.json
# A log file's content is hashed as it streams, but not without end: CloudTrail delivers every five minutes, and
# the offline reader refuses a file past this too (offline/reader.py CLOUDTRAIL_MAX_BYTES).
MAX_LOG_BYTES = 256 << 20


@dataclass(frozen=True)
class TrailProblem:
    kind: str  # "digest-signature", "digest-missing", "digest-chain", "gap", "log-missing", "log-changed", "key", ...
    message: str
    fix: str
    where: str = ""

    def text(self) -> str:
        return self.message


@dataclass
class TrailReport:
    root: str
    digests: int = 0
    log_files: int = 0
    valid_log_files: int = 0
    problems: list[TrailProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # log files delivered after the newest digest while the digest that will list them is not due yet: each a
    # sentence for the pass (``not_yet_digested``), neither valid nor a problem
    excused: list[str] = field(default_factory=list)

    @property
    def unproved(self) -> bool:
        """Whether the trail's log files are all ones delivered since the newest digest (excused until the next is
        due: ``excused``), with no problem: none was validated, nothing of it is proved yet, so it is no valid trail
        (fail closed). verify-cloudtrail and tamper_evidence both ask it."""
        return bool(self.excused) and not self.valid_log_files and not self.problems

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unproved

    def summary(self) -> str:
        state = ("valid" if self.ok else "NOT validated yet: none of its log files is covered by a digest yet"
                 if self.unproved else f"NOT valid ({len(self.problems)} problem(s))")
        return (f"{self.root}: CloudTrail trail {state}: {self.digests} digest file(s), {self.valid_log_files}/"
                f"{self.log_files} log file(s) valid" + (f", {len(self.excused)} delivered since the newest digest "
                                                           "and not yet covered by one" if self.excused else ""))


@dataclass
class _Digest:
    path: Path
    rel: str
    data: dict[str, Any]
    sha256: str
    signature: Optional[str]
    signature_error: str = ""  # why the signature beside it could not be read

    @property
    def s3(self) -> tuple[str, str]:
        return str(self.data.get("digestS3Bucket", "")), str(self.data.get("digestS3Object", ""))


@dataclass(frozen=True)
class PublicKey:
    """One of CloudTrail's public keys and the period it signs digests in (None: unbounded on that side)."""

    key: rsa.RSAPublicKey
    valid_from: Optional[datetime.datetime] = None
    valid_to: Optional[datetime.datetime] = None

    def covers(self, when: Optional[datetime.datetime]) -> bool:
        if when is None:
            return self.valid_from is None and self.valid_to is None
        return ((self.valid_from is None or self.valid_from <= when)
                and (self.valid_to is None or when <= self.valid_to))


def _utc(value: Any) -> Optional[datetime.datetime]:
    """A timestamp of CloudTrail's JSON (ISO 8601, "Z" or an offset; or epoch seconds, as the AWS CLI prints with
    cli_timestamp_format = none) in UTC; None when absent. Raises ValueError when it is none of these."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    when = datetime.datetime.fromisoformat(text)
    return when.replace(tzinfo=datetime.timezone.utc) if when.tzinfo is None else when.astimezone(datetime.timezone.utc)


def load_public_keys(path: Path) -> dict[str, PublicKey]:
    """Fingerprint -> key with its validity period, from `aws cloudtrail list-public-keys` output (or its
    PublicKeyList)."""
    save = "save the keys with: aws cloudtrail list-public-keys --start-time ... > FILE"
    try:
        doc = json.loads(read_small(path, "CloudTrail public keys file", MAX_LIST_BYTES, fix=save))
    except FileNotFoundError:
        raise AuditReadyError(f"the public keys file {path} does not exist", save) from None
    except (OSError, ValueError) as exc:
        raise AuditReadyError(f"{path} is not readable JSON ({exc})",
                              "pass the JSON output of `aws cloudtrail list-public-keys`") from None
    items = doc.get("PublicKeyList") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise AuditReadyError(f"{path} holds no PublicKeyList", "pass the JSON output of `aws cloudtrail "
                              "list-public-keys` for the trail's region and time range")
    keys: dict[str, PublicKey] = {}
    for item in items:
        try:
            der = base64.b64decode(item["Value"], validate=True)
            key = serialization.load_der_public_key(der)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise AuditReadyError(f"{path}: a key's Value is not a base64 DER public key",
                                  "pass the unmodified output of `aws cloudtrail list-public-keys`") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise AuditReadyError(f"{path}: a key is not an RSA key", "pass CloudTrail's own public keys")
        try:
            valid_from, valid_to = _utc(item.get("ValidityStartTime")), _utc(item.get("ValidityEndTime"))
        except (ValueError, OverflowError, OSError):
            raise AuditReadyError(f"{path}: a key's ValidityStartTime or ValidityEndTime is not a timestamp",
                                  "pass the unmodified output of `aws cloudtrail list-public-keys`") from None
        fp = str(item.get("Fingerprint") or hashlib.md5(der).hexdigest())
        keys[fp.lower()] = PublicKey(key, valid_from, valid_to)
    return keys


class TooLarge(ValueError):
    """A file holds (or inflates to) more than its kind may."""


def _open_content(path: Path, what: str) -> BinaryIO:
    """The uncompressed content of ``path`` (gzip by its magic bytes) as a stream; a regular file only."""
    f = open_regular(path, what)
    try:
        head = f.read(2)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]  # a binary stream; _stream closes f
    return f


def _stream(path: Path, what: str, limit: int) -> Iterator[bytes]:
    """The uncompressed content of ``path`` in chunks, refused (TooLarge) once it passes ``limit`` bytes: a small
    gzip file can inflate a thousandfold, and nothing past the limit is ever decompressed."""
    f = _open_content(path, what)
    try:
        total = 0
        while True:
            chunk = f.read(min(1 << 20, limit + 1 - total))
            if not chunk:
                return
            total += len(chunk)
            if total > limit:
                raise TooLarge(f"it inflates to over {size_text(limit)}, more than a {what} holds")
            yield chunk
    finally:
        if isinstance(f, gzip.GzipFile) and f.fileobj is not None:
            f.fileobj.close()
        f.close()


def _gunzip(path: Path, what: str = "digest file", limit: int = MAX_DIGEST_BYTES) -> bytes:
    """The uncompressed content of ``path``, at most ``limit`` bytes (TooLarge past it)."""
    return b"".join(_stream(path, what, limit))


def _sha256_uncompressed(path: Path) -> str:
    h = hashlib.sha256()
    for chunk in _stream(path, "CloudTrail log file", MAX_LOG_BYTES):
        h.update(chunk)
    return h.hexdigest()


def _signature_for(path: Path) -> Optional[str]:
    """The hex signature kept beside a digest (DIGEST.sig, or DIGEST.metadata.json), None when there is none.
    Raises AuditReadyError or OSError when one is there but cannot be read."""
    sig = Path(str(path) + ".sig")
    if os.path.lexists(sig):
        return read_small(sig, "digest signature file", MAX_SIGNATURE_BYTES).decode("ascii", "replace").strip()
    meta = Path(str(path) + ".metadata.json")
    if os.path.lexists(meta):
        try:
            doc = json.loads(read_small(meta, "digest metadata file", MAX_SIGNATURE_BYTES))
        except ValueError:
            return None
        if isinstance(doc, dict):
            doc = doc.get("Metadata", doc)
            v = doc.get("signature") or doc.get("x-amz-meta-signature") if isinstance(doc, dict) else None
            return str(v) if v else None
    return None


def _why(exc: BaseException) -> str:
    """An error in a few words: an OSError's reason without its errno, an AuditReadyError's cause."""
    if isinstance(exc, AuditReadyError):
        return exc.cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def signing_string(data: dict[str, Any], digest_sha256: str) -> bytes:
    prev = data.get("previousDigestSignature")
    return "\n".join([
        str(data.get("digestEndTime")),
        f"{data.get('digestS3Bucket')}/{data.get('digestS3Object')}",
        digest_sha256,
        "null" if prev is None else str(prev),
    ]).encode("utf-8")


def _find(root: Path, bucket: str, key: str) -> Optional[Path]:
    for cand in (root / key, root / bucket / key):
        if cand.is_file():
            return cand
    return None


def _load_digests(root: Path, under: Path, report: TrailReport) -> list[_Digest]:
    """The digest files below ``under`` (named relative to ``root``), oldest first; unreadable ones are problems."""
    digests: list[_Digest] = []
    for dirpath, _dirs, files in os.walk(under):
        for name in files:
            if DIGEST_MARK in name and name.endswith((".json.gz", ".json")) and not name.endswith(".metadata.json"):
                p = Path(dirpath) / name
                rel = str(p.relative_to(root))
                try:
                    raw = _gunzip(p)
                    data = json.loads(raw)
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                except (OSError, ValueError, EOFError, zlib.error) as exc:
                    report.problems.append(TrailProblem("digest-damaged", f"Digest file {rel} cannot be read "
                                                        f"({_why(exc)}).", FIX_DIGEST, rel))
                    continue
                except AuditReadyError as exc:  # not a regular file
                    report.problems.append(TrailProblem("digest-damaged", f"Digest file {rel} cannot be read "
                                                        f"({exc.cause}).", FIX_DIGEST, rel))
                    continue
                try:
                    signature, sig_error = _signature_for(p), ""
                except (OSError, AuditReadyError) as exc:
                    signature = None
                    sig_error = exc.cause if isinstance(exc, AuditReadyError) else _why(exc)
                digests.append(_Digest(p, rel, data, hashlib.sha256(raw).hexdigest(), signature, sig_error))
    digests.sort(key=lambda d: (str(d.data.get("digestEndTime")), d.rel))
    return digests


# A digest's S3 key: .../CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_END.json.gz
_DIGEST_KEY = re.compile(r"^(?P<dir>.*?)/\d{4}/\d{2}/\d{2}/(?P<name>(?P<account>[^_/]+)_CloudTrail-Digest_"
                         r"(?P<region>[^_/]+)_[^/]*?)_\d{8}T\d{6}Z(?P<backfill>_backfill)?\.json(?:\.gz)?$")


def _chain_of(d: _Digest) -> tuple[str, ...]:
    """The chain a digest belongs to: one per trail, account and region (its S3 folder and name without the date),
    so that the digests of other regions, accounts or trails copied into the same folder are not taken for gaps.
    Backfill digests (``..._backfill.json.gz``, late log files) chain among themselves, as validate-logs reads them."""
    bucket, key = d.s3
    m = _DIGEST_KEY.match(key)
    if m is None:
        return (bucket, str(d.data.get("awsAccountId", "")), os.path.dirname(d.rel), "")
    return (bucket, m.group("dir"), m.group("name"), m.group("backfill") or "")


def _account_region(name: str, mark: str) -> Optional[tuple[str, str]]:
    """(account, region) from a CloudTrail file name ACCOUNT_<mark>_REGION_..., None when it is not one."""
    parts = name.split("_")
    if len(parts) >= 3 and parts[1] == mark:
        return parts[0], parts[2]
    return None


def _check_digests(digests: list[_Digest], keys: dict[str, PublicKey], report: TrailReport,
                   read: Optional[set[str]] = None) -> None:
    """Each digest's signature with a key valid at its time, the chain of previous digests, and gaps in time
    between them, chain by chain (trail, account and region). ``read``: the folders whose digests were read
    (absolute; None: all of the copy), where a digest the chain names must be."""
    report.digests = len(digests)
    # 0. each digest where CloudTrail delivered it (its digestS3Object; `aws cloudtrail validate-logs`: "INVALID: has
    # been moved from its original location"): a copy elsewhere is no digest of that place, and takes no part in
    # the chain
    moved = {id(d) for d in digests if not _in_place(d)}
    for d in digests:
        if id(d) in moved:
            report.problems.append(TrailProblem("digest-moved", f"Digest file {d.rel} was delivered as {d.s3[1]!r}, "
                                                "not here: it was moved or copied from its original location.",
                                                FIX_DIGEST, d.rel))
    digests = [d for d in digests if id(d) not in moved]
    by_s3 = {d.s3: d for d in digests}
    # 1. each digest's own signature, with the key of its time range (AWS: "retrieve the public keys for the time
    # range corresponding to the digest file", then the one with its fingerprint)
    for d in digests:
        if d.signature is None:
            why = (f"a signature beside it that cannot be read ({d.signature_error})" if d.signature_error else
                   "no signature beside it (.sig or .metadata.json)")
            report.problems.append(TrailProblem("digest-signature", f"Digest file {d.rel} has {why}, so it cannot "
                                                "be verified.", FIX_COPY, d.rel))
            continue
        fp = str(d.data.get("digestPublicKeyFingerprint", "")).lower()
        key = keys.get(fp)
        if key is None:
            report.problems.append(TrailProblem("key", f"Digest file {d.rel} was signed with key {fp or '?'}, which "
                                                "is not among the public keys given: signed by another key.",
                                                "pass CloudTrail's public keys for this region and time range "
                                                "(aws cloudtrail list-public-keys); if they are, treat the digest as "
                                                "forged", d.rel))
            continue
        try:
            when: Optional[datetime.datetime] = _utc(d.data.get("digestEndTime"))
        except (ValueError, OverflowError, OSError):
            when = None
        if not key.covers(when):
            report.problems.append(TrailProblem("key", f"Digest file {d.rel} ends at {d.data.get('digestEndTime')}, "
                                                f"outside the validity period of key {fp} that signed it: a key is "
                                                "only valid for its own period.",
                                                "pass the output of `aws cloudtrail list-public-keys` covering the "
                                                "digest's time; if the key's period is right, treat the digest as "
                                                "forged", d.rel))
            continue
        try:
            key.key.verify(bytes.fromhex(d.signature), signing_string(d.data, d.sha256), padding.PKCS1v15(),
                           hashes.SHA256())
        except (InvalidSignature, ValueError):
            report.problems.append(TrailProblem("digest-signature", f"Digest file {d.rel} does not match its "
                                                "signature: it was changed after CloudTrail signed it.", FIX_DIGEST,
                                                d.rel))
    chains: dict[tuple[str, ...], list[_Digest]] = {}
    for d in digests:  # oldest first already
        chains.setdefault(_chain_of(d), []).append(d)
    for chain in chains.values():
        _check_chain(chain, by_s3, report, read)


def _in_place(d: _Digest) -> bool:
    """Whether the digest file sits at the S3 key it names for itself (the copy keeps keys as paths)."""
    key = d.s3[1].strip("/")
    return bool(key) and d.path.absolute().as_posix().endswith("/" + key)


def _copy_root(d: _Digest) -> Optional[Path]:
    """The folder a digest's S3 key starts from in the copy (its path without that key), None when the digest is
    not at its key."""
    key = d.s3[1].strip("/")
    path = d.path.absolute().as_posix()
    if not key or not path.endswith("/" + key):
        return None
    return Path(path[: -len(key) - 1] or "/")


def _folder_read(d: _Digest, key: str, read: Optional[set[str]]) -> bool:
    """Whether the copy holds the folder of the S3 ``key`` (beside digest ``d``) and its digests were read (``read``:
    the folders read, absolute; None: all of the copy)."""
    root = _copy_root(d)
    if root is None or not key.strip("/"):
        return False
    folder = (root / key.strip("/")).parent
    return folder.is_dir() and (read is None or os.path.abspath(folder) in read)


def _check_chain(chain: list[_Digest], by_s3: dict[tuple[str, str], _Digest], report: TrailReport,
                 read: Optional[set[str]] = None) -> None:
    # 2. the chain: each digest names the previous one by location, hash and signature
    for i, d in enumerate(chain):
        pb, po = d.data.get("previousDigestS3Bucket"), d.data.get("previousDigestS3Object")
        if not po:
            continue
        prev = by_s3.get((str(pb), str(po)))
        if prev is None:
            if i == 0 and not _folder_read(d, str(po), read):
                report.notes.append(f"the oldest digest here ({d.rel}) follows {po}, which is not in the copy")
            elif i == 0:
                report.problems.append(TrailProblem("digest-missing", f"Digest file {po}, named as the previous "
                                                    f"digest by {d.rel}, is missing, although the copy holds its "
                                                    "folder: a digest (and with it the hour of log files it listed) "
                                                    "was deleted.", FIX_DIGEST, d.rel))
            else:
                report.problems.append(TrailProblem("digest-missing", f"Digest file {po}, named as the previous "
                                                    f"digest by {d.rel}, is missing: a digest was deleted.",
                                                    FIX_DIGEST, d.rel))
            continue
        if d.data.get("previousDigestHashValue") != prev.sha256:
            report.problems.append(TrailProblem("digest-chain", f"Digest file {prev.rel} does not have the hash "
                                                f"{d.rel} recorded for it: it was changed or replaced.", FIX_DIGEST,
                                                prev.rel))
        if prev.signature is not None and d.data.get("previousDigestSignature") != prev.signature:
            report.problems.append(TrailProblem("digest-chain", f"The signature beside {prev.rel} is not the one "
                                                f"{d.rel} recorded for it: the digest was re-signed or replaced.",
                                                FIX_DIGEST, prev.rel))
    # 3. gaps in time between consecutive digests. A starting digest (no previous: logging or log file validation
    # was turned back on) after one is CloudTrail's own record that no log file was delivered meanwhile, as `aws
    # cloudtrail validate-logs` reports it; any other gap lacks a digest.
    # Backfill digests (late log files) come when needed, not hourly: only their links are checked.
    if _chain_of(chain[0])[-1]:
        return
    for a, b in zip(chain, chain[1:]):
        if a.data.get("digestEndTime") == b.data.get("digestStartTime"):
            continue
        if not b.data.get("previousDigestS3Object") and b.data.get("previousDigestSignature") is None:
            report.notes.append(f"no log files were delivered between {a.data.get('digestEndTime')} and "
                                f"{b.data.get('digestStartTime')}: {b.rel} starts a new digest chain (logging was "
                                "stopped, or log file validation turned off)")
            continue
        report.problems.append(TrailProblem("gap", f"No digest covers {a.data.get('digestEndTime')} to "
                                            f"{b.data.get('digestStartTime')} (between {a.rel} and {b.rel}): "
                                            "logging was stopped or digests were deleted.", FIX_DIGEST, b.rel))


def validate_trail(root: Path, keys_file: Path) -> TrailReport:
    if not root.is_dir():
        raise AuditReadyError(f"{root} is not a folder", "pass the local copy of the trail's bucket (aws s3 sync)")
    keys = load_public_keys(keys_file)
    report = TrailReport(str(root))
    digests = _load_digests(root, root, report)
    if not digests and not report.problems:
        raise AuditReadyError(f"no CloudTrail digest files under {root}",
                              "copy the trail's CloudTrail-Digest folder too (log file validation must be on)")
    _check_digests(digests, keys, report)
    # 4. every log file each digest names
    named: set[Path] = set()
    for d in digests:
        for lf in d.data.get("logFiles") or []:
            if not isinstance(lf, dict):
                continue
            report.log_files += 1
            obj = str(lf.get("s3Object", ""))
            path = _find(root, str(lf.get("s3Bucket", "")), obj)
            if path is None:
                report.problems.append(TrailProblem("log-missing", f"Log file {obj}, listed in {d.rel}, is missing: "
                                                    "it was deleted (or not copied).", FIX_COPY, obj))
                continue
            named.add(path.resolve())
            try:
                actual = _sha256_uncompressed(path)
            except (OSError, EOFError, zlib.error, ValueError, AuditReadyError) as exc:
                report.problems.append(TrailProblem("log-changed", f"Log file {obj} cannot be read ({_why(exc)}): "
                                                    "it was truncated or damaged.", FIX_LOG, obj))
                continue
            if actual != lf.get("hashValue"):
                report.problems.append(TrailProblem("log-changed", f"Log file {obj} does not match the SHA-256 in "
                                                    f"{d.rel}: it was changed (a byte, a record deleted, reordered "
                                                    "or appended, or the file truncated).", FIX_LOG, obj))
                continue
            report.valid_log_files += 1
    covered = _coverage([d for d in digests if _in_place(d)])
    unlisted: dict[str, list[str]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if "_CloudTrail_" not in name or not name.endswith(".json.gz") or path.resolve() in named:
                continue
            if _within(name, covered):
                obj = str(path.relative_to(root))
                report.problems.append(TrailProblem("log-unlisted", f"Log file {obj} is not listed in any digest, "
                                                    "although the digests here cover the hour after its delivery: "
                                                    "it was added after CloudTrail delivered the trail's files.",
                                                    FIX_LOG, obj))
            else:
                fresh = not_yet_digested(name, covered)
                if fresh:
                    report.excused.append(f"{path.relative_to(root)} {fresh}")
                    continue
                unlisted.setdefault(_unlisted_why(name, covered), []).append(str(path.relative_to(root)))
    # Listed nowhere, and no digest here says it should be: unvalidated, whatever the reason, so the copy does not
    # show the trail valid (`auditready verify` fails such a file too). One problem per reason.
    for why, files in sorted(unlisted.items()):
        files.sort()
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        report.problems.append(TrailProblem("log-unlisted", f"{len(files)} log file(s) are not listed in any digest "
                                            f"here ({shown}): delivered {why}, they cannot be validated.",
                                            "copy the CloudTrail-Digest folders of their days and regions too (a "
                                            "file delivered in the last hour is listed by the next hour's digest: "
                                            "copy again after it); else treat them as added to the trail",
                                            files[0]))
    return report


# CloudTrail lists a log file in the digest of the hour it is delivered in (a backfill digest when late); its name
# carries its time (ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_...) but not its trail. A file listed in no digest,
# whose hour and next hour are covered by a chain of its account and region, was not delivered by CloudTrail,
# unless a chain of the same account and region lacks that hour's digest: that missing digest is the problem then.
_LOG_TIME = re.compile(r"_(\d{8}T\d{4})Z_")
_LISTING_DELAY = datetime.timedelta(hours=1)
_Spans = list[tuple[datetime.datetime, datetime.datetime]]
_Coverage = dict[tuple[str, str], dict[tuple[str, ...], _Spans]]


def _coverage(digests: list[_Digest]) -> _Coverage:
    """(account, region) -> chain -> the (digestStartTime, digestEndTime) of each of its digests here."""
    out: _Coverage = {}
    for d in digests:
        who = _account_region(Path(d.s3[1]).name, "CloudTrail-Digest")
        try:
            start, end = _utc(d.data.get("digestStartTime")), _utc(d.data.get("digestEndTime"))
        except (ValueError, OverflowError, OSError):
            continue
        if who is not None and start is not None and end is not None:
            out.setdefault(who, {}).setdefault(_chain_of(d), []).append((start, end))
    return out


def _placed(name: str, covered: _Coverage) -> tuple[list[Any], Optional[datetime.datetime]]:
    """The spans the digests here of the log file ``name``'s account and region cover ([] when none, or its name
    tells neither), and when its name says it was delivered (None when it does not tell)."""
    who, m = _account_region(name, "CloudTrail"), _LOG_TIME.search(name)
    spans = [span for chains in ([covered.get(who, {})] if who else []) for c in chains.values() for span in c]
    if not spans or m is None:
        return [], None
    try:
        return spans, datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return spans, None


def _unlisted_why(name: str, covered: _Coverage) -> str:
    """When the log file ``name``, listed in no digest here, was delivered, as the digests of its account and
    region here place it: before them, after them, in an hour none covers, or where none is."""
    spans, when = _placed(name, covered)
    if not spans:
        return "in an account and region with no digest here"
    if when is None:
        return "at a time its name does not tell"
    if when < min(a for a, _ in spans):
        return "before the oldest digest here of its account and region"
    if when + _LISTING_DELAY >= max(b for _, b in spans):  # a file is listed in the hour it arrives in, or the next
        return ("at or after the end of the newest digest here of its account and region (the digest that lists "
                "it is not here: not written yet, or not copied)")
    return "in an hour no digest here of its account and region covers (a digest is missing, or the file was added)"


# CloudTrail writes one digest an hour, listing the log files delivered in that hour ("Each digest file contains
# the names of the log files that were delivered to your Amazon S3 bucket during the last hour": AWS CloudTrail User
# Guide, "CloudTrail digest file structure"), and delivers it after the hour ends. A file delivered since the newest
# digest's end is in no digest yet, and cannot be until the next one is delivered: up to an hour after that digest
# ends, plus the same again for its delivery (red team rt93 F6: a live prefix always failed on its current hour).
_DIGEST_PERIOD = datetime.timedelta(hours=1)
_DIGEST_DELIVERY = datetime.timedelta(hours=1)
_CLOCK_SLACK = datetime.timedelta(minutes=5)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def not_yet_digested(name: str, covered: _Coverage, now: Optional[datetime.datetime] = None) -> str:
    """Why the log file ``name``, listed in no digest here, is not yet expected to be (a sentence for the pass), or
    "": it was delivered (its name's time) after the newest digest of its account and region here could list it
    (the hour of that digest's end, or after: ``_LISTING_DELAY``), and the digest that will list it is not due yet
    (the next hour's, delivered within ``_DIGEST_DELIVERY`` after it ends). A file older than that, listed nowhere,
    is not excused: its digest is overdue, deleted or not copied. No digest of its account and region here: ""."""
    spans, when = _placed(name, covered)
    if not spans or when is None:
        return ""
    newest = max(b for _, b in spans)
    now = now or _now()
    due = newest + _DIGEST_PERIOD + _DIGEST_DELIVERY
    if when + _LISTING_DELAY < newest or now > due or when > now + _CLOCK_SLACK:
        return ""
    return (f"was delivered at {when:%Y-%m-%dT%H:%MZ}, after the newest digest here of its account and region "
            f"(which ends {newest:%Y-%m-%dT%H:%M:%SZ}): not yet covered by a digest, since CloudTrail writes one an "
            f"hour and the one that lists it is due by {due:%Y-%m-%dT%H:%MZ}; verify again after that, when it must "
            "be listed")


def _within(name: str, covered: _Coverage) -> bool:
    """Whether the digests here should list the log file ``name`` (see above)."""
    who, m = _account_region(name, "CloudTrail"), _LOG_TIME.search(name)
    if who is None or m is None:
        return False
    try:
        when = datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return False
    chains = [spans for chain, spans in covered.get(who, {}).items() if not chain[-1]]  # hourly, not backfill

    def has(spans: _Spans, t: datetime.datetime) -> bool:
        return any(a <= t < b for a, b in spans)

    def during(spans: _Spans) -> bool:
        return min(a for a, _ in spans) <= when < max(b for _, b in spans)

    return (any(has(c, when) and has(c, when + _LISTING_DELAY) for c in chains)
            and all(has(c, when) for c in chains if during(c)))


# -- one log file, for the tamper_evidence check of an offline CloudTrail log (log_format = "cloudtrail") --------

_DATE_PARTS = (4, 2, 2)  # YYYY/MM/DD folders of CloudTrail's S3 keys


def digest_folder_for(log: Path) -> Optional[Path]:
    """Where CloudTrail keeps the digests of a log file copied with its S3 key as path
    (``.../AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`` -> ``.../AWSLogs/ACCOUNT/CloudTrail-Digest/REGION``),
    or None when the copy has no such folder."""
    parts = log.absolute().parts
    for i in range(len(parts) - 3, 0, -1):
        if parts[i] == "CloudTrail":
            folder = Path(*parts[:i]) / "CloudTrail-Digest" / parts[i + 1]
            return folder if folder.is_dir() else None
    return None


def _day_folders(log: Path, folder: Path) -> list[Path]:
    """The digest folders that can list ``log``: its own day's and the next day's (the digest of a day's last hour
    ends, and is filed, on the next day), and the day before (whose digests may list files deleted since, which no
    file of that day is left to report: check_log_file). The whole region's folder when the copy does not keep
    dated folders."""
    import datetime

    ymd = log.absolute().parts[-4:-1]
    if [len(p) for p in ymd] == list(_DATE_PARTS) and all(p.isdigit() for p in ymd):
        try:
            day = datetime.date(int(ymd[0]), int(ymd[1]), int(ymd[2]))
        except ValueError:
            return [folder]
        days = (day - datetime.timedelta(days=1), day, day + datetime.timedelta(days=1))
        return [folder / f"{d.year:04d}" / f"{d.month:02d}" / f"{d.day:02d}" for d in days]
    return [folder]


@dataclass
class LogFileCheck:
    """How one log file fares against its trail's digests: the digest that lists it, the SHA-256 recorded there
    and the file's content (for the self-test), and the problems: the file's own and those of the digests read."""

    report: TrailReport
    listed_in: str = ""
    recorded: str = ""
    content: Optional[bytes] = None


def _state(files: list[str]) -> tuple[tuple[str, int, int, int], ...]:
    """Each file with its size, mtime and inode: what a cached verdict on them depends on."""
    out = []
    for p in sorted(files):
        try:
            st = os.stat(p)
        except OSError:
            out.append((p, -1, -1, -1))
            continue
        out.append((p, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def _files_below(folders: list[Path]) -> list[str]:
    return [os.path.join(dirpath, name) for top in folders for dirpath, _dirs, files in os.walk(top) for name in files]


# Verified digests of a day and the next, by (keys file, folders, the state of both): the 24 or more log files of a
# day are listed by the same digests, which are read, gunzipped and their signatures checked once, not per file. A
# digest or key file that changes (size, mtime or inode) is read again.
_DAYS: dict[tuple[Any, ...], tuple[list[_Digest], list[TrailProblem], int]] = {}
_DAYS_MAX = 64


def _verified_days(log: Path, folder: Path, keys_file: Path) -> tuple[list[_Digest], list[TrailProblem], int]:
    """(digests of the days that can list ``log``, oldest first; the problems of reading and checking them; their
    count), checked once per process for a given state of the files."""
    days = [d for d in _day_folders(log, folder) if d.is_dir()]
    cache_key = (_state([str(keys_file)]), tuple(map(str, days)), _state(_files_below(days)))
    cached = _DAYS.get(cache_key)
    if cached is not None:
        return cached
    keys = load_public_keys(keys_file)
    shown_from = folder.parent.parent.parent  # digests are named from AWSLogs/ on, as in their S3 keys
    report = TrailReport(str(folder))
    digests: list[_Digest] = []
    for day in days:
        digests.extend(_load_digests(shown_from, day, report))
    digests.sort(key=lambda d: (str(d.data.get("digestEndTime")), d.rel))
    _check_digests(digests, keys, report, {os.path.abspath(d) for d in days})
    if len(_DAYS) >= _DAYS_MAX:
        _DAYS.clear()
    _DAYS[cache_key] = (digests, report.problems, report.digests)
    return _DAYS[cache_key]


def _listed(d: _Digest) -> list[tuple[str, str]]:
    """(bucket, key) of each log file digest ``d`` lists."""
    return [(str(lf.get("s3Bucket", "")), str(lf.get("s3Object", ""))) for lf in d.data.get("logFiles") or []
            if isinstance(lf, dict) and lf.get("s3Object")]


def _emptied_beside(digests: list[_Digest], own: _Digest, has: Callable[[str, str], bool],
                    day: str) -> list[TrailProblem]:
    """The missing files of the digests next to ``own`` (in time, on either side) that no file left of ``day`` (the
    folder of the log file judged) reports: a digest none of whose files is left (a whole hour deleted), or one
    whose files of that day are all gone though one of another day is left. A digest is filed on the day it ends, so
    the one that lists a day's last files lists the next day's first too; a file of that other day, left, is judged
    only when that day is (red team rt33, F4: verifying one day passed with its last file deleted). Stops at a
    digest with a file of ``day`` left (its own check reports the rest), or only files of other days, one left."""
    out: list[TrailProblem] = []
    at = next(i for i, d in enumerate(digests) if d is own)
    for step in (-1, 1):
        i = at + step
        while 0 <= i < len(digests):
            files = _listed(digests[i])
            ours = [(b, k) for b, k in files if posixpath.dirname(k) == day]
            if any(has(b, k) for b, k in ours) or (not ours and any(has(b, k) for b, k in files)):
                break
            gone = [k for b, k in files if not has(b, k)]
            why = ("no file that digest lists is left" if len(gone) == len(files) else
                   "no file of its day that digest lists is left")
            out.extend(TrailProblem("log-missing", f"Log file {k}, listed by {digests[i].rel}, is missing: it was "
                                    f"deleted after delivery ({why}).", FIX_LOG, digests[i].rel) for k in gone)
            i += step
    return out


def _when(text: Any) -> Optional[datetime.datetime]:
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _lost_hours(p: TrailProblem, digests: list[_Digest], own: _Digest, day: str) -> bool:
    """Whether ``p``, a digest missing from the chain or a gap between two digests, follows ``own`` (the digest of
    the log file judged) and leaves hours of ``day`` (the file's folder, .../YYYY/MM/DD) with no digest: their log
    files may have been deleted with it, and the digest after, which reports it, may list no file of the day (red
    team rt39, F3: a day verified alone passed with its last hour of files deleted, and the digest that listed
    them). Reported with the files of ``own``, the day's last digest before the lost hours."""
    if p.kind not in ("digest-missing", "gap"):
        return False
    parts = day.rsplit("/", 3)[-3:]
    try:
        start = datetime.datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=datetime.timezone.utc)
    except (ValueError, IndexError):
        return False
    b = next((d for d in digests if d.rel == p.where), None)
    if b is None:
        return False
    chain = [d for d in digests if _chain_of(d) == _chain_of(b)]
    i = chain.index(b)
    if i == 0 or chain[i - 1] is not own:
        return False
    since, until = _when(own.data.get("digestEndTime")), _when(b.data.get("digestStartTime"))
    return since is not None and until is not None and since < start + datetime.timedelta(days=1) and until > start


def check_log_file(log: Path, folder: Path, keys_file: Path, *,
                   exists: Optional[Callable[[str, str], bool]] = None, name: str = "") -> LogFileCheck:
    """Validate ``log`` with the digests in ``folder`` (see digest_folder_for) that can list it: their signatures
    and chain, every other log file its digest lists still there (``exists(bucket, key)``; by default beside it in
    the copy), then the file's SHA-256 against the one its digest records. ``name``: how findings name the log
    (its URL when it was fetched from object storage)."""
    digests, problems, count = _verified_days(log, folder, keys_file)
    shown = name or str(log)
    report = TrailReport(shown, digests=count, problems=list(problems))
    out = LogFileCheck(report)
    listing: list[Any] = []
    listed_by: Optional[_Digest] = None
    for d in digests:
        for lf in d.data.get("logFiles") or []:
            if isinstance(lf, dict) and Path(str(lf.get("s3Object", ""))).name == log.name:
                out.listed_in, out.recorded = d.rel, str(lf.get("hashValue", ""))
                listing = list(d.data.get("logFiles") or [])
                listed_by = d
                break
        if out.listed_in:
            break
    report.log_files = 1
    own_key = next((str(lf.get("s3Object", "")) for lf in listing if isinstance(lf, dict)
                    and Path(str(lf.get("s3Object", ""))).name == log.name), "")
    if out.listed_in:
        # The file's own digest: its signature, its place in the chain (a deleted or changed neighbour is reported
        # at the digest that names it) and a gap before it. The other files of those days have their own items;
        # but a digest deleted with its log files leaves no file of the day to report it: a missing digest or a
        # gap whose hours fall in the judged file's day is its (``_lost_hours``).
        report.problems = [p for p in report.problems if p.where == out.listed_in or (
            listed_by is not None and _lost_hours(p, digests, listed_by, posixpath.dirname(own_key)))]
    else:
        fresh = not_yet_digested(log.name, _coverage(digests))
        if fresh:
            report.excused.append(f"{shown} {fresh}")
            return out
        report.problems.append(TrailProblem("log-unlisted", f"No digest file beside it lists {log.name} (looked in "
                                            f"{len(digests)} digest(s) of its day and the days around it), so it "
                                            "cannot be "
                                            "validated: it was delivered after the newest digest copied, or its "
                                            "digest was deleted.", FIX_COPY, shown))
        return out
    # the copy's top, where the S3 keys start: the digest's path without the key it names for itself (an
    # organization trail's AWSLogs/o-ORG/ACCOUNT/ and a trail's key prefix put more folders above ACCOUNT/)
    root = (_copy_root(listed_by) if listed_by is not None else None) or folder.parent.parent.parent.parent
    has = exists or (lambda bucket, key: _find(root, bucket, key) is not None)
    for lf in listing:
        key = str(lf.get("s3Object", "")) if isinstance(lf, dict) else ""
        if key and Path(key).name != log.name and not has(str(lf.get("s3Bucket", "")), key):
            report.problems.append(TrailProblem("log-missing", f"Log file {key}, listed by {out.listed_in}, is "
                                                "missing: it was deleted after delivery.", FIX_LOG, out.listed_in))
    if listed_by is not None:
        report.problems.extend(_emptied_beside(digests, listed_by, has, posixpath.dirname(own_key)))
    try:
        out.content = _gunzip(log, "CloudTrail log file", MAX_LOG_BYTES)
    except (OSError, EOFError, zlib.error, ValueError, AuditReadyError) as exc:
        report.problems.append(TrailProblem("log-changed", f"Log file {log.name} cannot be read ({_why(exc)}): it "
                                            "was truncated or damaged.", FIX_LOG, shown))
        return out
    if hashlib.sha256(out.content).hexdigest() != out.recorded:
        report.problems.append(TrailProblem("log-changed", f"Log file {log.name} does not match the SHA-256 in "
                                            f"{out.listed_in}: it was changed (a byte, a record deleted, reordered "
                                            "or appended, or the file truncated).", FIX_LOG, shown))
    else:
        report.valid_log_files = 1
    return out


# -- a log object in S3, for the tamper_evidence check of `auditready verify s3://.../CloudTrail/REGION/...` -----

def check_log_object(url: str, keys_file: Path, workdir: Path) -> Optional[LogFileCheck]:
    """Validate the CloudTrail log object ``url`` exactly as a local copy (``check_log_file``): the object and the
    digest objects of the days that can list it (``CloudTrail-Digest/`` beside ``CloudTrail/``, with the
    signature CloudTrail keeps in each digest's S3 metadata) are fetched into ``workdir`` with their keys as paths,
    each capped (MAX_LOG_BYTES, MAX_DIGEST_BYTES); the other log files a digest lists are looked for in the store.
    None when the URL is not in CloudTrail's bucket layout, or no digest object is beside it."""
    from ..engine.objects import cloudtrail_objects

    found = cloudtrail_objects(url, workdir, MAX_LOG_BYTES, MAX_DIGEST_BYTES)
    if found is None:
        return None
    log, folder, bucket, keys = found
    return check_log_file(log, folder, keys_file, exists=lambda b, k: b == bucket and k in keys, name=url)
