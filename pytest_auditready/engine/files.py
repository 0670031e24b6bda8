"""Exported logs: the paths of a run (files, folders, globs), and each file read once through the one driver.

No pytest here: ``auditready verify`` and ``pytest --auditready-offline`` both call ``expand`` and ``verify_file``.
Checks without a streaming form (``Check.visitor``) run once with no entries and ``ctx.log_path`` set to the file,
so a check that reads beside the log (a digest chain, the file's mode) works offline too.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from ..checks.base import (
    Check,
    CheckContext,
    Finding,
    Note,
    Outcome,
    Skip,
    Tally,
    Visitor,
    evaluate,
    stat_log,
    verdicts,
)
from ..config import Settings
from ..errors import AuditReadyError
from ..offline.reader import FileStats, open_log
from .driver import drive, reader_for

if TYPE_CHECKING:
    from ..checks.completeness import Pairs

_MALLOC_TUNED = False


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system after every block: each
    block allocates and frees a few megabytes, and giving them back means faulting fresh zeroed pages in again
    (measured on 200 MB: 49,000 page faults without this, 17,000 with it, half the system time). Peak RSS stays
    about the same (+0.5 MB), as only what was freed is kept. A no-op where there is no glibc."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, ImportError):  # not glibc (musl, macOS, Windows)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 4 << 20)  # blocks of 512 KiB come from the heap, not a fresh mapping each
    mallopt(m_trim_threshold, 64 << 20)


def expand(paths: Sequence[str]) -> list[str]:
    """Every log file named by ``paths``: a file as given, a folder's log files (recursively, sorted; digest
    chains and keys left out), a glob's matches (the same left out: ``audit.log*`` matches the chain
    ``audit.log.digests`` too), an object-store URL's objects (``engine.objects``). A digest chain, rotated or not
    (``rotation.chain_name``), is never read as a log, even named on its own (the shell expands ``audit.log*``
    before the command sees it): tamper_evidence finds it beside its log. A path that names nothing is an
    AuditReadyError, as is a folder or glob holding no file, or a run naming only chains: an empty set of evidence
    is never a pass."""
    import glob
    import os

    from ..auditlog.rotation import chain_name
    from .objects import expand_url, is_url, not_a_log

    out: list[str] = []
    chains: list[str] = []
    for p in paths:
        if is_url(p):  # object storage: an object, a prefix or a glob (engine.objects)
            out.extend(expand_url(p))
        elif os.path.isdir(p):
            found = sorted(os.path.join(d, n) for d, _, names in os.walk(p) for n in names
                           if not not_a_log(os.path.join(d, n)) and not chain_name(n))
            if not found:
                raise AuditReadyError(f"the folder {p} holds no log file", "name the folder that holds the audit logs")
            out.extend(found)
        elif os.path.lexists(p) or not glob.has_magic(p):
            if chain_name(os.path.basename(p)) and os.path.isfile(p):
                chains.append(p)  # a chain named on its own, or by a glob the shell expanded
            else:
                out.append(p)  # opening it says what is wrong, if anything
        else:
            found = sorted(m for m in glob.glob(p, recursive=True)
                           if os.path.isfile(m) and not not_a_log(m) and not chain_name(os.path.basename(m)))
            if not found:
                raise AuditReadyError(f"no file matches {p}", "check the pattern (quote it so the shell does not "
                                      "expand it first)")
            out.extend(found)
    if chains and not out:
        raise AuditReadyError(f"{chains[0]} is a digest chain written by `auditready seal`, not an audit log",
                              "name the log it seals (or its folder): tamper_evidence finds the chain beside it")
    seen: set[str] = set()
    return [p for p in out if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]  # set.add: None


def offline_checks(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.live_only]


def read_canaries(path: Optional[str]) -> dict[str, str]:
    """Known secret values, one a line (blank lines and lines starting with # ignored; spaces and tabs around a
    value dropped), named canary:1, ..."""
    if not path:
        return {}
    from ..safeio import MAX_LIST_BYTES, read_small

    try:
        text = read_small(path, "canaries file", MAX_LIST_BYTES).decode("utf-8")
        # one value a line, split at newlines only: a value may hold U+2028, \x0b, \x0c or \x85 itself
        lines = [ln.strip(" \t\r") for ln in text.split("\n")]
    except FileNotFoundError:
        raise AuditReadyError(f"no such canaries file: {path}", "check the path given to --canaries") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise AuditReadyError(f"cannot read the canaries file {path}: {why}", "give one known value a line") from None
    values = [ln for ln in lines if ln and not ln.startswith("#")]
    short = [i for i, v in enumerate(values, 1) if len(v) < 8]
    if short:
        raise AuditReadyError(f"canary {short[0]} in {path} is shorter than 8 characters, which would match by "
                              "chance", "list only real secret values (at least 8 characters)")
    return {f"canary:{i}": v for i, v in enumerate(values, 1)}


def prepare(settings: Settings, paths: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """What every offline front end does before it reads a log: the paths expanded, the known values read, the key
    files checked. Each refusal is an AuditReadyError (exit 2), before any verdict."""
    secrets = read_canaries(settings.canaries_file)
    check_inputs(settings)
    return expand(paths), secrets


def check_inputs(settings: Settings) -> None:
    """Refuse, before any verdict, key files that are no regular file of sane size (a FIFO, a device, a folder):
    input that cannot be read is exit 2 in one line, never a tamper_evidence finding blamed on the log."""
    from ..safeio import MAX_KEY_BYTES, MAX_LIST_BYTES, read_small

    for path, what, cap in ((settings.public_key, "public key", MAX_KEY_BYTES),
                            (settings.cloudtrail_public_keys, "CloudTrail public keys file", MAX_LIST_BYTES)):
        if path:
            read_small(path, what, cap)


@dataclass
class FileResult:
    """One file's verdicts and the accounting every report shows: its format, the lines read, the entries
    parsed, the lines that could not be read."""

    path: str
    outcomes: list[Outcome]
    stats: FileStats = field(default_factory=FileStats)
    seconds: float = 0.0
    format: str = ""
    entries: int = 0
    bad_lines: int = 0
    review: Optional[dict[str, Any]] = None  # the access review's state (review.Review.state), Vault/OpenBao only

    def accounting(self) -> dict[str, Any]:
        """What was read, judged and excused, as data (JSON, evidence, JUnit properties)."""
        return {
            "file": self.path,
            "format": self.format,
            "lines": self.stats.lines,
            "bytes": self.stats.bytes,
            "entries": self.entries,
            "unreadable_lines": self.bad_lines,
            **({"framing": self.stats.framing, "left_out": self.stats.left_out} if self.stats.framing else {}),
            "checks": {o.check_id: o.tally.to_json() for o in self.outcomes},
        }


def detect(path: str, settings: Settings) -> Settings:
    """The settings to read ``path`` with: its format (and device prefix) told from its content, checked against
    a format the user named. Content of no known format raises UnknownFormat (exit 2, one line)."""
    import dataclasses

    from ..auditlog.detect import SAMPLE_BYTES, check_format, sniff

    f = open_log(path)
    try:
        try:
            sample = f.read(SAMPLE_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise AuditReadyError(f"cannot read {path}: {exc}", "check the file (a compressed file may be truncated)") \
                from None
    finally:
        f.close()
    complete = len(sample) <= SAMPLE_BYTES
    found = sniff(path, sample[:SAMPLE_BYTES], complete, prefix=settings.log_prefix, framing=settings.log_framing)
    fmt = check_format(path, found, settings.log_format, settings.field_map)
    return dataclasses.replace(settings, log_format=fmt, log_framing=found.framing or "none")


def verify_file(path: str, settings: Settings, checks: Sequence[Check], secrets: Mapping[str, str],
                log_set: Sequence[str] = (), *, detected: bool = False) -> FileResult:
    """Run ``checks`` (the offline ones) over one file, reading it once through the one driver. Raises
    AuditReadyError when the file cannot be read at all, or holds no format the checks can read; bad lines are
    findings. A check fed no entry to judge fails (``judged_something``)."""
    started = time.monotonic()
    _keep_freed_memory()
    name = str(path)
    if not detected:  # ``settings`` came from ``detect(path, ...)`` already when ``detected``
        settings = detect(name, settings)
    f = open_log(name)
    ctx = CheckContext(settings=settings, ledger=None, entries=[], bad_lines=[], secrets=dict(secrets),
                       log_file=stat_log(name), source=name, log_path=name, log_set=tuple(log_set) or (name,))
    streaming = [(c, c.visitor(ctx)) for c in checks if c.visitor is not None]
    from ..review import Review, reviewable

    review = Review(settings) if reviewable(settings) else None  # fed by the same pass as the checks
    read_blocks, parse, whole_block = reader_for(settings, name)
    stats = FileStats()
    try:
        counts = drive([v for _, v in streaming] + ([review] if review is not None else []),
                       read_blocks(f, name, stats), name, parse, whole_block)
    finally:
        f.close()
    finished = {check.id: visitor for check, visitor in streaming}
    empty = empty_member(name, log_set, stats)
    outcomes: list[Outcome] = []
    for check in checks:
        visitor = finished.get(check.id)
        if visitor is not None:
            said = with_set(check, visitor, name, log_set, settings, counts.entries)  # before the tally: it may judge
            tally = Tally(counts.entries, tuple(sorted(visitor.excused.items())))
            outcomes.extend(verdicts(check, said, [""], tally, name, empty).values())
        else:
            outcomes.extend(evaluate(check, ctx, [""]).values())
    return FileResult(name, outcomes, stats, time.monotonic() - started, settings.log_format, counts.entries,
                      counts.bad_lines, review.state() if review is not None else None)


def _holds_bytes(path: str) -> bool:
    from .objects import is_url

    if is_url(path):  # its size as the store lists it (the listing of the run's prefix, not a request each)
        from .objects import _fs

        try:
            fs, key = _fs(path)
            return int(fs.size(key) or 0) > 0
        except Exception:  # the store's client raises its own types: its own verdict says what is wrong
            return True
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def last_holding(log_set: Sequence[str]) -> str:
    """The last file of the set that holds bytes (the last one when none does): where a verdict on the whole set is
    given, never on a log just rotated and still empty."""
    for p in reversed(log_set):
        if _holds_bytes(p):
            return p
    return log_set[-1]


def empty_member(name: str, log_set: Sequence[str], stats: FileStats) -> str:
    """Why ``name``, a file from which nothing was read, has no entry to judge when other files of its set hold
    bytes: a log just rotated (logrotate's create, the vault reopening its file on SIGHUP) or rotated while idle
    (ifempty); "" otherwise. A check that judged nothing in it is then skipped with this reason instead of failing
    (``checks.base.judged_something``); checks of the set (retention, tamper_evidence) and of the file (its mode)
    keep their verdicts. A file alone, or a set of nothing but empty files, still fails: no evidence is never a
    pass."""
    if stats.bytes or stats.lines:
        return ""
    others = [p for p in log_set if p != name]
    if not any(_holds_bytes(p) for p in others):
        return ""
    return (f"{name} is empty (a log just rotated, or rotated while idle): no entry in it to judge; the other "
            f"{len(others)} file(s) of the set hold the entries")


# -- request/response pairs across the files of a set ---------------------------------------------------------
#
# completeness judges each file alone and excuses a pair broken at its edges: a request still in flight when the
# file ends, a response whose request was written before it begins. Those excuses say the partner is in the next
# (or previous) file of the set; where that file is in the run, it is looked for there. What rotation loses between
# two files (logrotate's copytruncate loses what the vault writes between the copy and the truncation; a shipper
# loses a chunk; a file between the two is deleted) then shows as a partner missing at the boundary.


@dataclass(frozen=True)
class Edges:
    """What one file's completeness pass left open at its edges, and the span of its paired entries: its requests
    still in flight at its end and its responses without a request at its start, by request id -> (ns, file,
    line)."""

    name: str
    first: int
    last: int
    entries: int
    pending: Mapping[str, tuple[int, str, int]]
    orphans: Mapping[str, tuple[int, str, int]]

    def same_content(self, other: "Edges") -> bool:
        """Whether ``other`` holds the same entries as far as can be told without a second read (a copy kept beside
        its compressed twin): the same span, count and open pairs."""
        return (self.first, self.last, self.entries) == (other.first, other.last, other.entries) and \
            set(self.pending) == set(other.pending) and set(self.orphans) == set(other.orphans)


_EDGES: dict[tuple[object, ...], Optional[Edges]] = {}
_SHOW_BROKEN = 20
_EDGES_MAX = 4096


def _edges_key(path: str, settings: Settings) -> Optional[tuple[object, ...]]:
    from .objects import is_url

    if is_url(path):
        return ("url", path, settings.completeness_window)  # dropped once its set is judged (``with_set``)
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, settings.completeness_window,
            settings.log_prefix, settings.field_map)


def edges_of(visitor: "Pairs", name: str, entries: int) -> Optional[Edges]:
    """The edges a finished (fed) completeness visitor left open; None for a log with no pairs (not Vault/OpenBao,
    or no entry with a request id and a time)."""
    if visitor.skip or visitor.first_t is None:
        return None
    return Edges(name, visitor.first_t, visitor.max_t, entries,
                 {rid: (p[0], p[1], p[2]) for rid, p in visitor.pending.items()},
                 {o[0]: (o[1], o[2], o[3]) for o in visitor.orphans})  # (id, ns, file, line, ...)


V = TypeVar("V", bound=Visitor)


def read_with(make: Callable[[CheckContext], V], path: str, settings: Settings) -> tuple[V, int]:
    """One visitor (``make``) fed the whole of ``path`` through the engine, its format told from its content, and
    the entries read: a set's check that needs another file of the set (its pairs' edges, its days). ``settings``
    are those told for the file that asks: the format and framing of ``path`` are told anew, as its own pass tells
    them (a rotated file framed by a container runtime beside a plain one)."""
    import dataclasses

    s = detect(path, dataclasses.replace(settings, log_format="auto", log_framing="auto"))
    visitor = make(CheckContext(settings=s, ledger=None, entries=[], bad_lines=[], source=path, log_path=None))
    read_blocks, parse, whole = reader_for(s, path)
    f = open_log(path)
    try:
        counts = drive([visitor], read_blocks(f, path, FileStats()), path, parse, whole)
    finally:
        f.close()
    return visitor, counts.entries


def read_edges(path: str, settings: Settings) -> Optional[Edges]:
    """The edges of ``path``, remembered from its own pass in this process, else read once through the engine."""

    from ..checks.completeness import Pairs

    key = _edges_key(path, settings)
    if key is not None and key in _EDGES:
        return _EDGES[key]
    pairs, entries = read_with(Pairs, path, settings)
    found = edges_of(pairs, path, entries)
    _remember_edges(key, found)
    return found


def _remember_edges(key: Optional[tuple[object, ...]], edges: Optional[Edges]) -> None:
    if key is None:
        return
    if len(_EDGES) >= _EDGES_MAX:
        _EDGES.clear()
    _EDGES[key] = edges


def with_set(check: Check, visitor: Visitor, name: str, log_set: Sequence[str], settings: Settings,
             entries: int) -> Iterable[Union[Finding, Skip, Note]]:
    """What ``visitor`` (the file ``name``'s, fed) says; for completeness, with the set around it. Called where a
    file's visitors are finished (``verify_file``, ``engine.parallel.finish_file``), before its tally is taken.

    On the file that carries the set's verdicts (``last_holding``), and on a file every entry of which is half of a
    pair split at its edges (a small rotated file or shipper's chunk, which would otherwise have judged nothing), the
    pairs split between this file and the ones next to it in time are looked for there: those found are judged, no
    longer excused. On the first, what the set's boundaries say is added (``boundaries``)."""
    from ..checks.completeness import ID, Pairs

    if check.id != ID or not isinstance(visitor, Pairs):
        return visitor.finish()
    mine = edges_of(visitor, name, entries)
    _remember_edges(_edges_key(name, settings), mine)
    others = [p for p in log_set if p != name]
    judge = bool(others) and last_holding(log_set) == name
    halves = mine is not None and bool(visitor.pending or visitor.orphans) and sum(visitor.excused.values()) >= entries
    if mine is None or not (judge or (others and halves)):
        return visitor.finish()
    ordered, twins = _in_set(mine, others, settings, archived=False)
    window = int(settings.completeness_window * 10**9)
    if any(isinstance(x, Finding) for x in boundaries(ordered, twins, window)) and (settings.seal_archive
                                                                                    or settings.retention_archive):
        ordered, twins = _in_set(mine, others, settings, archived=True)  # a file between two may be archived
    if judge:
        for k in [k for k in _EDGES if k[0] == "url"]:
            del _EDGES[k]  # an object may be rewritten under the same key: never reused for another run's set
    _pair_off(visitor, mine, ordered)
    if not judge:
        return visitor.finish()
    return _then(visitor.finish(), boundaries(ordered, twins, window))


def _in_set(mine: Edges, others: Sequence[str], settings: Settings, archived: bool
            ) -> tuple[list[Edges], list[tuple[str, str]]]:
    """The set's files with pairs to look at, in time (``in_time``): ``mine``, the other files of the run and, when
    ``archived``, the files of the archive folders (seal_archive, retention_archive) not named in the run, where a
    file between two named ones may have been moved."""
    members = [e for e in (read_edges(p, settings) for p in others) if e is not None]
    if archived:
        from .objects import is_url

        named = [mine.name, *others]
        for p in _archive(settings):
            if (is_url(p) or os.path.isfile(p)) and not any(_same_file(p, q) for q in named):
                try:
                    e = read_edges(p, settings)
                except AuditReadyError:
                    continue  # tamper_evidence and retention say what is wrong with an archive
                if e is not None:
                    members.append(e)
    return in_time([*members, mine])


def _archive(settings: Settings) -> list[str]:
    try:
        return expand([*settings.seal_archive, *settings.retention_archive])
    except AuditReadyError:
        return []


def _same_file(a: str, b: str) -> bool:
    try:
        return a == b or os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _then(first: Iterable[Union[Finding, Skip, Note]],
          second: Iterable[Union[Finding, Note]]) -> Iterator[Union[Finding, Skip, Note]]:
    yield from first
    yield from second


def in_time(members: Sequence[Edges]) -> tuple[list[Edges], list[tuple[str, str]]]:
    """``members`` in the time order of their entries (not of their names: audit.log.10 is older than audit.log.9,
    an object store's keys carry random suffixes), each file holding the same entries as one before it (a copy
    beside its compressed twin) left out and named in the pairs (twin, kept) returned with them."""
    ordered: list[Edges] = []
    twins: list[tuple[str, str]] = []
    for e in sorted(members, key=lambda e: (e.first, e.last, e.name)):
        twin = next((o for o in ordered if o.same_content(e)), None)
        if twin is not None:
            twins.append((e.name, twin.name))
        else:
            ordered.append(e)
    return ordered, twins


def _sequential(ordered: Sequence[Edges]) -> bool:
    """Whether each file begins where the one before it ends (not before its last time, unless a pair split between
    them shows the one follows the other, written out of order by a few concurrent requests): where files overlap
    in time (the logs of several writers in one set) no file is known to follow another. In doubt, no pair is
    looked for across files, as before."""
    return all(b.first >= a.last or not a.pending.keys().isdisjoint(b.orphans) for a, b in zip(ordered, ordered[1:]))


def _one_log(a: Edges, b: Edges, window: int) -> bool:
    """Whether ``b`` may continue the log ``a`` is a piece of: it begins within the pairing window of ``a``'s end,
    or both are named as pieces of one log (``_log_name``). A log of another vault that begins long after one ends
    is none, so the requests in flight when the first ended are not looked for in it."""
    return b.first - a.last <= window or _log_name(a.name) == _log_name(b.name)


def _log_name(path: str) -> str:
    """What names the log a file is a piece of: for a local file the stem of its name (audit.log.1,
    audit.log-20261122.gz, audit-20261122.log: "audit", wherever logrotate's olddir put it); for an object, its
    URL up to the first date partition (Fluent Bit's and Vector's keys: .../TAG/2026/11/22/...)."""
    from .objects import is_url

    if is_url(path):
        parts = path.split("/")
        cut = next((i for i, p in enumerate(parts) if i > 2 and (p.isdigit() or p.startswith("date="))),
                   len(parts) - 1)
        return "/".join(parts[:cut])
    return re.split(r"[-_.]", path.replace("\\", "/").rpartition("/")[2], maxsplit=1)[0]


def _pair_off(visitor: "Pairs", mine: Edges, ordered: Sequence[Edges]) -> None:
    """Take out of ``visitor``'s open edges the pairs whose other half is at the facing edge of the file before or
    after it in time: judged, not excused."""
    at = next((i for i, e in enumerate(ordered) if e.same_content(mine)), None)
    if at is None or not _sequential(ordered):
        return
    before = ordered[at - 1] if at > 0 else None
    after = ordered[at + 1] if at + 1 < len(ordered) else None
    if after is not None:
        for rid in [rid for rid in visitor.pending if rid in after.orphans]:
            del visitor.pending[rid]
    if before is not None:
        visitor.orphans[:] = [o for o in visitor.orphans if o[0] not in before.pending]


def boundaries(ordered: Sequence[Edges], twins: Sequence[tuple[str, str]], window: int
               ) -> Iterator[Union[Finding, Note]]:
    """Pairs broken between files that follow each other in time (``in_time``): a request in flight at the end of
    one file whose response does not open the next, a response opening a file whose request is not in flight at the
    end of the one before. Nothing is said where the files overlap in time (``_sequential``), nor between two files
    not known to be pieces of one log (``_one_log``)."""
    from ..checks.completeness import _DROP_FIX, ID

    if not _sequential(ordered):
        return
    pairs = list(zip(ordered, ordered[1:]))
    fix = (_DROP_FIX + "; rotate the log with logrotate's create and have the vault reopen its file on SIGHUP "
           "(Vault and OpenBao do) instead of copytruncate, which loses what is written between the copy and the "
           "truncation; restore a rotated file that is missing from the set")
    shown = 0
    for a, b in pairs:
        if not _one_log(a, b, window):
            continue
        lost = [(rid, a.pending[rid], "request") for rid in a.pending if rid not in b.orphans]
        lost += [(rid, b.orphans[rid], "response") for rid in b.orphans if rid not in a.pending]
        for rid, (_, file, line), kind in sorted(lost, key=lambda x: x[1]):
            if kind == "request":
                what = (f"The request entry has no response entry: it was still in flight when {a.name} ends, and "
                        f"{b.name}, the next file of the set in time, does not hold its response")
            else:
                what = (f"The response entry has no request entry: it opens {b.name}, and {a.name}, the file of the "
                        "set before it in time, does not end with its request in flight")
            shown += 1
            if shown > _SHOW_BROKEN:
                continue
            yield Finding(ID, "", f"{what}; the entries written between the two files are lost (logrotate's "
                          "copytruncate, a lost chunk, or a file of the set missing between them).", fix,
                          where=f"{file}:{line}", request_id=rid)
    if shown > _SHOW_BROKEN:
        yield Finding(ID, "", f"{shown - _SHOW_BROKEN} more entries have no partner entry across the boundaries of "
                      "the files of the set.", fix)
    if not shown and twins:
        said = "; ".join(f"{x} holds the same entries as {y}" for x, y in twins[:3])
        yield Note("", f"{said} (judged once); no request/response pair is broken between the files of the set")
