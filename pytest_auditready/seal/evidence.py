"""Judge a log's tamper evidence for the ``tamper_evidence`` check: verify the chain of the sealed set it belongs
to (it may be the log or any rotated file of it, compressed or not), then prove on a copy of its own segment that
the verification has teeth (a changed byte, a deleted line, a swapped pair of lines and a truncated tail are each
detected). No pytest here; the embedded target calls ``seal_with_ephemeral_key`` before its files are removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

from ..auditlog.rotation import compression_of, open_rotated
from ..errors import AuditReadyError
from ..safeio import open_regular
from .chain import PathLike, digests_path_for, last_record, load_private_key, load_public_key, parse_record
from .sealer import seal
from .verify import SealReport, chains_near, verify_log, verify_member

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from .cloudtrail import TrailReport

TAMPERINGS = ("changed byte", "deleted line", "swapped lines", "truncated tail")
TEETH_LIMIT = 16 << 20  # bytes of the log copied for the self-test


@dataclass(frozen=True)
class Tooth:
    kind: str
    detected: bool
    detail: str  # what the verifier said (first problem), or why the tampering could not be made


@dataclass
class Assessment:
    """What the check needs: the verification report and the self-test, or why there is none."""

    mechanism: str = ""  # "sealed digest chain" or "CloudTrail log file validation" when one was found
    report: Optional[Union[SealReport, "TrailReport"]] = None
    teeth: list[Tooth] = field(default_factory=list)
    error: Optional[AuditReadyError] = None  # the chain or key could not be read
    verdict: str = ""  # which segment(s) of which chain hold the file


def _wait_for_seal(log: Path, wait: float) -> None:
    """A live run against a real vault: give a following sealer up to ``wait`` s to seal what is in the log now."""
    if wait <= 0:
        return
    try:
        st = os.stat(log)
    except OSError:
        return
    deadline = time.monotonic() + wait
    digests = digests_path_for(log)
    while True:
        try:
            last = last_record(digests)
        except AuditReadyError:
            return
        # No whole record yet: a sealer just started is still writing its first one. A last record of another
        # file: the log was rotated and the sealer has not reached the new file yet. Either way, not caught up.
        caught_up = last is not None and last.inode == st.st_ino and last.end >= st.st_size
        if caught_up or time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def _copy_sealed_prefix(log: Path, digests: Path, dest: Path, limit: int, segment: Optional[int] = None
                        ) -> Optional[int]:
    """Copy into ``dest`` the chain up to the last record of ``segment`` (default: the chain's last, the log's
    own) that ends within ``limit`` bytes, and the bytes of ``log`` it covers, decompressed when ``log`` is
    compressed. Returns the number of bytes copied, or None when there is no such record."""
    last = last_record(digests)
    if last is None:
        return None
    seg = last.segment if segment is None else segment
    keep_lines: list[bytes] = []
    end = None
    with open_regular(digests, "digest chain") as f:
        for raw in f:
            rec = parse_record(raw.rstrip(b"\r\n"), 0)
            if rec is not None and end is not None and rec.segment != seg:
                break  # the segment is over
            if rec is not None and rec.segment == seg:
                if end is not None and rec.end > limit:
                    break
                end = rec.end
            keep_lines.append(raw if raw.endswith(b"\n") else raw + b"\n")
            if rec is not None and rec.seq == last.seq:
                break
    if end is None:
        return None
    (dest / "digests").write_bytes(b"".join(keep_lines))
    with open_rotated(log, compression_of(log)) as src, open(dest / "log", "wb") as out:
        left = end
        while left > 0:
            data = src.read(min(1 << 20, left))
            if not data:
                break
            out.write(data)
            left -= len(data)
    return end


def _tamper(data: bytes, kind: str) -> Optional[bytes]:
    lines = data.split(b"\n")[:-1]  # data ends with a newline
    if len(lines) < 3:
        return None
    mid = len(lines) // 2
    if kind == "changed byte":
        line = bytearray(lines[mid])
        if not line:
            return None
        k = len(line) // 2
        line[k] = ord("a") if line[k] != ord("a") else ord("b")
        lines[mid] = bytes(line)
    elif kind == "deleted line":
        del lines[mid]
    elif kind == "swapped lines":
        for k in list(range(mid, len(lines) - 1)) + list(range(0, mid)):
            if lines[k] != lines[k + 1]:
                lines[k], lines[k + 1] = lines[k + 1], lines[k]
                break
        else:
            return None
    elif kind == "truncated tail":
        lines = lines[:-1]
    return b"".join(ln + b"\n" for ln in lines)


def prove_teeth(log: Path, digests: Path, public_key: Ed25519PublicKey, limit: int = TEETH_LIMIT,
                segment: Optional[int] = None) -> list[Tooth]:
    """Tamper with a copy of ``log`` (the file holding ``segment``, default the chain's last) in each of the four
    ways and verify each copy as that segment: every one must be detected, and the untouched copy must verify
    (else detecting the others proves nothing)."""
    tmp = Path(tempfile.mkdtemp(prefix="auditready-teeth-"))
    try:
        os.chmod(tmp, 0o700)
        base = tmp / "base"
        base.mkdir()
        if _copy_sealed_prefix(log, digests, base, limit, segment) is None:
            return [Tooth(k, False, "the log's own segment has no sealed record to tamper with") for k in TAMPERINGS]
        seg = segment if segment is not None else _last_segment(base / "digests")
        original = (base / "log").read_bytes()
        shutil.copyfile(base / "digests", base / "log.digests")
        untouched = verify_log(base / "log", public_key, only_segment=seg, remember=False)
        if not untouched.ok:
            why = f"the untouched copy already fails verification ({untouched.problems[0].message}), so its failing " \
                  "after this change proves nothing"
            return [Tooth(k, False, why) for k in TAMPERINGS]
        teeth = []
        for n, kind in enumerate(TAMPERINGS):
            changed = _tamper(original, kind)
            if changed is None:
                teeth.append(Tooth(kind, False, "the sealed log has too few (distinct) lines to make this change"))
                continue
            d = tmp / f"t{n}"
            d.mkdir()
            (d / "log").write_bytes(changed)
            shutil.copyfile(base / "digests", d / "log.digests")
            rep = verify_log(d / "log", public_key, only_segment=seg, remember=False)
            detail = rep.problems[0].message if rep.problems else "verification reported nothing"
            teeth.append(Tooth(kind, not rep.ok, detail))
        return teeth
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _last_segment(digests: Path) -> Optional[int]:
    last = last_record(digests)
    return last.segment if last is not None else None


def assess(log_path: PathLike, public_key_path: Optional[PathLike], *, wait: float = 0.0, teeth: bool = True,
           archive: Sequence[PathLike] = (), log_set: Sequence[PathLike] = (),
           expired_before: Optional[int] = None) -> Assessment:
    """Verify the sealed set ``log_path`` belongs to with the public key: its own ``LOG.digests``, else the chain
    beside it (or beside a file of ``log_set``) one of whose segments it holds, its files looked for beside the
    log, in the ``archive`` folders and in ``log_set`` (a segment that ends before ``expired_before`` may be gone:
    ``verify_log``). Then prove the verification's teeth on a copy of the file's own segment."""
    log = Path(log_path)
    digests = digests_path_for(log)
    if wait > 0 and public_key_path is not None:  # a sealer started just before the audit: its first record
        deadline = time.monotonic() + wait
        while not os.path.lexists(digests) and time.monotonic() < deadline:
            time.sleep(0.05)
    own = os.path.lexists(digests)
    related, other = ([], []) if own else chains_near(log, log_set)
    if not (own or related) and (public_key_path is None or not other):
        return Assessment()  # another log's chain alone can only be tied to this file with the key
    a = Assessment(mechanism="sealed digest chain")
    if public_key_path is None:
        a.error = AuditReadyError(
            f"{log} has a digest chain ({digests.name if own else related[0][1]}) but no public key was given to "
            "verify it",
            "set public_key = \"KEY.pub\" in [tool.auditready] (or pass --public-key KEY.pub to auditready verify)")
        return a
    try:
        key = load_public_key(public_key_path)
        if own:
            _wait_for_seal(log, wait)
        report = verify_member(log, key, archive=archive, log_set=log_set, expired_before=expired_before)
        if report is None:
            return Assessment()
        a.report = report
        a.verdict = report.verdict(log)
        mine = report.members_for(log)
        if teeth and mine and not report.problems_for(log, log_set):
            a.teeth = prove_teeth(Path(mine[0].path), Path(report.digests_path), key, segment=mine[0].segment)
    except AuditReadyError as exc:
        a.error = exc
    return a


CLOUDTRAIL_KEYS_FIX = ("save the trail's public keys (aws cloudtrail list-public-keys --start-time ... > keys.json) "
                       "and set cloudtrail_public_keys = \"keys.json\" in [tool.auditready] (or pass "
                       "--cloudtrail-public-keys keys.json to auditready verify)")


def _record_spans(content: bytes) -> list[tuple[int, int]]:
    """Where each record of a CloudTrail file's Records array sits in its bytes (empty: not a CloudTrail file)."""
    import msgspec

    from ..offline.reader import _trail_decoder

    try:
        records = _trail_decoder.decode(content).Records
    except (msgspec.DecodeError, msgspec.ValidationError):
        return []
    spans, at = [], 0
    for raw in records:
        body = bytes(raw)
        start = content.find(body, at)
        if start < 0:
            return []
        spans.append((start, start + len(body)))
        at = start + len(body)
    return spans


def _tamper_records(content: bytes, kind: str) -> Optional[bytes]:
    """``_tamper`` for a CloudTrail file, record by record (its records are items of one JSON array). None when
    the file has too few (distinct) records for the change."""
    spans = _record_spans(content)
    if not spans:
        return None
    mid = len(spans) // 2
    s, e = spans[mid]
    if kind == "changed byte":
        data = bytearray(content)
        k = (s + e) // 2
        data[k] = ord("a") if data[k] != ord("a") else ord("b")
        return bytes(data)
    if kind == "deleted line":
        if len(spans) == 1:
            return content[:s] + content[e:]
        cut_end = spans[mid + 1][0] if mid + 1 < len(spans) else e
        cut_start = s if mid + 1 < len(spans) else spans[mid - 1][1]
        return content[:cut_start] + content[cut_end:]
    if kind == "swapped lines":
        for k in range(len(spans) - 1):
            (a0, a1), (b0, b1) = spans[k], spans[k + 1]
            if content[a0:a1] != content[b0:b1]:
                return content[:a0] + content[b0:b1] + content[a1:b0] + content[a0:a1] + content[b1:]
        return None
    if kind == "truncated tail":
        return content[: spans[-1][0]]
    return None


def assess_cloudtrail(log_path: PathLike, keys_path: Optional[PathLike], *, teeth: bool = True) -> Assessment:
    """An AWS CloudTrail log file: validate it with the trail's own signed digest files (copied beside it with
    their S3 keys as paths), then prove on copies of its content that the SHA-256 its digest records catches each
    tampering of ``TAMPERINGS`` (record by record). No digest folder: no mechanism."""
    from .cloudtrail import check_log_file, digest_folder_for

    log = Path(log_path)
    folder = digest_folder_for(log)
    if folder is None:
        return Assessment()
    a = Assessment(mechanism="CloudTrail log file validation")
    if keys_path is None:
        a.error = AuditReadyError(f"{log} has CloudTrail digest files ({folder}) but no public keys were given to "
                                  "verify them", CLOUDTRAIL_KEYS_FIX)
        return a
    try:
        check = check_log_file(log, folder, Path(keys_path))
    except AuditReadyError as exc:
        a.error = exc
        return a
    a.report = check.report
    if teeth and check.content is not None and check.report.ok:
        for kind in TAMPERINGS:
            changed = _tamper_records(check.content, kind)
            if changed is None:
                continue  # e.g. no two distinct records to swap: nothing to prove
            caught = hashlib.sha256(changed).hexdigest() != check.recorded
            a.teeth.append(Tooth(kind, caught, f"the SHA-256 recorded in {check.listed_in} "
                                 + ("no longer matches" if caught else "still matches")))
    return a


def seal_with_ephemeral_key(log_path: PathLike, workdir: PathLike, dest: PathLike,
                            keygen: Optional[Callable[[Path], tuple[Path, Path, str]]] = None
                            ) -> tuple[str, Optional[str], Optional[AuditReadyError]]:
    """What the embedded target does before it stops: an ephemeral key pair in its private ``workdir``, one seal
    of its own audit log (the private key removed at once), then the log, its chain and the public key copied
    into ``dest``, modes kept. (log copy, public key or None, the problem when it could not be sealed)."""
    import shutil

    from .chain import digests_path_for, write_keypair

    keydir = Path(workdir) / "seal-key"
    kept = Path(dest) / Path(log_path).name
    try:
        keydir.mkdir(mode=0o700, exist_ok=True)
        priv, pub, _ = (keygen or write_keypair)(keydir / "key")
        try:
            seal(log_path, load_private_key(priv))
        finally:
            priv.unlink()
        shutil.copy2(log_path, kept)
        shutil.copy2(digests_path_for(log_path), digests_path_for(kept))
        kept_pub = Path(dest) / pub.name
        shutil.copy2(pub, kept_pub)
    except AuditReadyError as exc:
        return str(kept), None, exc
    except OSError as exc:
        return str(kept), None, AuditReadyError(f"cannot seal the embedded log: {exc.strerror}",
                                                "check the free space and permissions of the temp folder")
    return str(kept), str(kept_pub), None
