"""Verify a log against its sealed digest chain (``LOG.digests``), streaming both.

Two passes in one: the chain (every record well formed, signed by the given public key, naming the previous
record's hash and signature, sequence numbers without gaps, byte and line ranges contiguous within a segment),
then each segment's bytes against its records. A mismatch is localised: after a record fails, the verifier
looks for the next records a little further on or back (a deleted or inserted line shifts everything after it),
so one edit yields one finding naming the segment and the sealed lines it touched, not a cascade.

Problems carry a kind (``content``, ``truncated``, ``unsealed``, ``record``, ``chain``, ``key``, ``coverage``),
a sentence, the fix, the segment and the sealed line range. Nothing here imports pytest.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..auditlog.rotation import locate_rotated
from ..errors import AuditReadyError
from .chain import GENESIS, PathLike, Record, digests_path_for, key_id, parse_record, signature_ok

CHUNK = 1 << 20
_RESYNC_AHEAD = 4
_RESYNC_CAP = 64 << 20

FIX_CONTENT = ("treat the log as tampered: restore it from a trusted copy (backup or log store) and find out who "
               "could write it")
FIX_CHAIN = "treat the digest chain as tampered: restore LOG.digests from a trusted copy"
FIX_UNSEALED = ("keep `auditready seal LOG --key KEY --follow` running beside the vault (or run `auditready seal` "
                "before verifying); lines written after the last seal are not protected")


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    fix: str
    segment: Optional[int] = None
    lines: str = ""  # "lines 41-60" in the numbering the sealer saw
    where: str = ""  # file:line

    def text(self) -> str:
        loc = ", ".join(x for x in (f"segment {self.segment}" if self.segment is not None else "", self.lines) if x)
        return f"[{loc}] {self.message}" if loc else self.message


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

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "verifies" if self.ok else f"does NOT verify ({len(self.problems)} problem(s))"
        return (f"{self.log_path}: the sealed digest chain {state}: {self.records} record(s) in {self.segments} "
                f"segment(s), {self.verified_lines} line(s) ({self.verified_bytes} bytes) match their seal, "
                f"{self.unsealed_lines} line(s) ({self.unsealed_bytes} bytes) unsealed")


def _lines(a: int, b: int) -> str:
    return f"line {a}" if a == b else f"lines {a}-{b}"


class _File:
    """Bounded reads from one log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.f: BinaryIO = open(path, "rb")
        except FileNotFoundError:
            raise AuditReadyError(f"the log {path} does not exist", "check the path") from None
        except OSError as exc:
            raise AuditReadyError(f"cannot read the log {path}: {exc.strerror}", "give this user read access")\
                from None
        self.size = os.fstat(self.f.fileno()).st_size

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


def _describe(lf: _File, recs: list[Record], first: int, last: int, a: int, b: int) -> str:
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


def _check_segment(lf: _File, recs: list[Record], seg: int, report: SealReport, *, last_segment: bool) -> None:
    name = str(lf.path)
    size = lf.size
    # coverage: contiguous from byte 0 / line 1
    prev_end, prev_line = 0, 0
    for r in recs:
        if r.start != prev_end or r.first_line != prev_line + 1:
            report.problems.append(Problem(
                "coverage",
                f"{_lines(prev_line + 1, r.first_line - 1)} (bytes {prev_end}-{r.start}) of {name} are not covered "
                "by any valid digest record (a record was deleted or edited), so changes there cannot be detected.",
                FIX_CHAIN, seg, _lines(prev_line + 1, r.first_line - 1), f"{name}:{prev_line + 1}"))
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
        report.problems.append(Problem(
            "content",
            f"Sealed {lines} of {name} (bytes {recs[first].start}-{recs[last].end}, {seqs}) do not match their "
            f"seal: {_describe(lf, recs, first, last, a0, b0)}.",
            FIX_CONTENT, seg, lines, f"{name}:{recs[first].first_line}"))
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
            report.problems.append(Problem(
                "truncated",
                f"{name} ends at byte {size}, {missing} bytes before the end of its seal (byte {recs[-1].end}): "
                f"sealed {lines} are cut off or shortened (truncated tail or deleted lines).",
                FIX_CONTENT, seg, lines, f"{name}:{r.first_line}"))
            tail_known = False
            break
        if lf.sha256(a, length) == r.sha256:
            flush_bad()
            report.verified_lines += r.lines
            report.verified_bytes += length
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
    if tail_known and recs:
        end = recs[-1].end + shift
        if size > end:
            if last_segment:
                report.unsealed_bytes += size - end
                report.unsealed_lines += lf.count_lines(end, size)
            else:
                report.notes.append(f"segment {seg}: {size - end} bytes after its last seal were never sealed "
                                    "(written just before rotation)")


def verify_log(log_path: PathLike, public_key: Ed25519PublicKey,
               digests_path: Optional[PathLike] = None) -> SealReport:
    """Verify ``log_path`` against its chain. Raises AuditReadyError when the chain or log cannot be read."""
    log = Path(log_path)
    dpath = Path(digests_path) if digests_path else digests_path_for(log)
    report = SealReport(str(log), str(dpath), key_id(public_key))
    if not log.is_file():
        raise AuditReadyError(f"the log {log} does not exist", "check the path")
    try:
        df = open(dpath, "rb")
    except FileNotFoundError:
        raise AuditReadyError(f"{log} has no digest chain ({dpath} does not exist)",
                              "seal the log with `auditready seal LOG --key KEY` (keep it running with --follow)"
                              ) from None
    except OSError as exc:
        raise AuditReadyError(f"cannot read {dpath}: {exc.strerror}", "give this user read access") from None
    dname = str(dpath)
    mine = report.key_id
    other_keys: dict[str, int] = {}
    bad_sigs = 0
    prev_hash: Optional[str] = GENESIS  # None: unknown (the previous line was damaged or did not verify)
    prev_sig: Optional[str] = ""
    prev_rec: Optional[Record] = None
    first = True
    group: list[Record] = []
    group_seg: Optional[int] = None
    segments_seen: set[int] = set()

    def finish_group(last: bool) -> None:
        if not group:
            return
        seg = group[0].segment
        inode = group[-1].inode
        target: Optional[Path] = None
        try:
            log_ino: Optional[int] = os.stat(log).st_ino
        except OSError:
            log_ino = None
        if last:
            target = log
            if inode is not None and inode != log_ino:
                rotated = locate_rotated(log, inode)
                if rotated is not None:
                    # the log was rotated after its last seal: the sealed file sits beside it
                    lf = _File(rotated)
                    try:
                        _check_segment(lf, group, seg, report, last_segment=False)
                    finally:
                        lf.close()
                    report.notes.append(f"{log.name} is a newer file than the one the chain sealed last "
                                        f"({rotated.name}, found by its inode): it is not sealed yet")
                    new = _File(log)
                    try:
                        report.unsealed_bytes += new.size
                        report.unsealed_lines += new.count_lines(0, new.size)
                    finally:
                        new.close()
                    return
        else:
            target = locate_rotated(log, inode)
            if target is None:
                span = _lines(group[0].first_line, group[-1].last_line)
                report.notes.append(f"segment {seg} ({group[0].file}, {span}) was not checked against its bytes: "
                                    f"its rotated file was not found beside {log.name}")
                return
        lf = _File(target)
        try:
            _check_segment(lf, group, seg, report, last_segment=last)
        finally:
            lf.close()

    try:
        lineno = 0
        for raw in df:
            lineno += 1
            if not raw.strip():
                continue
            where = f"{dname}:{lineno}"
            rec = parse_record(raw.rstrip(b"\r\n"), lineno)
            if rec is None:
                report.problems.append(Problem("record", f"{where} is not a well-formed digest record: the chain "
                                               "was edited or damaged.", FIX_CHAIN, where=where))
                prev_hash = prev_sig = None
                first = False
                continue
            report.records += 1
            kid = str(rec.data.get("key_id"))
            valid = signature_ok(public_key, rec.data)
            if not valid:
                if kid != mine:
                    other_keys[kid] = other_keys.get(kid, 0) + 1
                else:
                    bad_sigs += 1
                    report.problems.append(Problem(
                        "record", f"Digest record seq {rec.seq} ({where}) does not verify against its signature: it "
                        "was edited after it was signed.", FIX_CHAIN, rec.segment,
                        _lines(rec.first_line, rec.last_line), where))
            if first:
                if rec.seq != 0 or rec.data["prev"] != GENESIS:
                    report.problems.append(Problem(
                        "chain", f"The chain starts at record seq {rec.seq} ({where}): the first {rec.seq} record(s) "
                        "were deleted.", FIX_CHAIN, rec.segment, "", where))
            elif prev_hash is not None and (rec.data["prev"] != prev_hash or rec.data["prev_sig"] != prev_sig):
                if prev_rec is not None and rec.seq > prev_rec.seq + 1:
                    gone = f"seq {prev_rec.seq + 1}" + (f"-{rec.seq - 1}" if rec.seq - 1 > prev_rec.seq + 1 else "")
                    report.problems.append(Problem(
                        "chain", f"Digest record(s) {gone} are missing before {where}: deleted from the chain.",
                        FIX_CHAIN, rec.segment, "", where))
                else:
                    report.problems.append(Problem(
                        "chain", f"Digest record seq {rec.seq} ({where}) does not name the record before it (hash "
                        "and signature differ): records were edited, inserted or reordered.",
                        FIX_CHAIN, rec.segment, "", where))
            elif prev_rec is not None and prev_hash is not None and rec.seq != prev_rec.seq + 1:
                report.problems.append(Problem(
                    "chain", f"Digest record seq {rec.seq} ({where}) follows seq {prev_rec.seq}: the sequence was "
                    "altered.", FIX_CHAIN, rec.segment, "", where))
            first = False
            prev_hash, prev_sig = (rec.hash(), rec.sig) if valid else (None, None)
            prev_rec = rec
            if not valid:
                continue
            if group_seg is not None and rec.segment != group_seg:
                finish_group(last=False)
                group = []
            if rec.segment in segments_seen and rec.segment != group_seg:
                report.problems.append(Problem("chain", f"Segment {rec.segment} appears again at {where}: the chain "
                                               "was reordered.", FIX_CHAIN, rec.segment, "", where))
            segments_seen.add(rec.segment)
            group_seg = rec.segment
            group.append(rec)
        report.segments = len(segments_seen)
        if other_keys:
            ids = ", ".join(sorted(other_keys))
            count = sum(other_keys.values())
            whole = count == report.records
            report.problems.insert(0, Problem(
                "key", f"{'The digest chain is' if whole else f'{count} digest record(s) are'} signed by another key "
                f"(key id {ids}), not by the public key given (key id {mine}).",
                "verify with the public key of the sealer that wrote this chain; if that is the key given, the chain "
                "was re-signed by someone else: treat it as tampered"))
        if report.records == 0:
            report.problems.append(Problem("record", f"{dname} holds no digest record.", FIX_UNSEALED, where=dname))
        if not other_keys or report.records > sum(other_keys.values()):
            finish_group(last=True)
    finally:
        df.close()
    if report.unsealed_bytes:
        report.problems.append(Problem(
            "unsealed",
            f"{report.unsealed_lines} line(s) ({report.unsealed_bytes} bytes) at the end of {log} were written after "
            "the last seal: nothing protects them, so they may have been appended or altered.",
            FIX_UNSEALED, report.segments - 1 if report.segments else None, f"{report.unsealed_lines} unsealed line(s)",
            str(log)))
    return report
