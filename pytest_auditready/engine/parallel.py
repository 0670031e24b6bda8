"""The offline checks of a log set across processes (``auditready verify --jobs N``) or a Dask cluster
(``--dask-scheduler``), merged into the report one process would make.

The work is cut into parts: a whole file, or a byte range of a large plain file. A range starts where the one-pass
reader (``offline.reader.blocks``) starts a block: after the last newline before a multiple of ``BLOCK``, and it is
read with the same chunk grid, so every visitor is fed exactly the blocks, entries and bad lines one pass feeds it,
with the same line numbers (each range's first line number is counted in this process while the first ranges are
read). A part is read by ``run_part``: each check's visitor (and the access review's) is fed, and its state comes
back; this process then builds fresh visitors for the file, loads the first range's state, ``merge``-s the later
ranges' in order (``checks.base.Visitor.merge``), and calls ``finish`` file by file in the order of the run, so
checks that judge the set (retention, on the last file) see the files as one process would. The checks without a
visitor (tamper_evidence) run in the part that reads a file's first range. A file whose visitors cannot all merge
(or whose merge declines: NotImplementedError) is read whole.

Local workers are forked after set-up (settings, known values, compiled scan databases; spawn where there is no
fork), ignore Ctrl-C (this process kills them), die with this process, have their address space bounded, and are
waited for with a deadline; a worker that dies is a one-line error. Known values reach workers through the fork or
the pool's pipe (Dask: scattered data under a random key), never through argv, a task key or a log line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence

from ..checks.base import Check, CheckContext, Outcome, Tally, Visitor, evaluate, stat_log, verdicts
from ..errors import AuditReadyError
from ..offline.reader import (
    BLOCK,
    BOM,
    HEAD_SAMPLE,
    MAX_LINE_BYTES,
    Block,
    FileStats,
    bytes_there,
    head_framing,
    open_log,
)
from .driver import drive, reader_for
from .files import (
    FileResult,
    _keep_freed_memory,
    detect,
    empty_member,
    judged_state,
    set_member,
    settles_of,
    stored_state,
    with_set,
)

if TYPE_CHECKING:
    from ..config import Settings

MIN_BYTES = 16 << 20  # below this in all, one process reads everything: starting workers would cost more
RANGE_MIN = 16 << 20  # the smallest range a file is cut into
SPLIT_FORMATS = ("vault", "jsonl", "k8s")  # line formats (a CloudTrail file is one JSON document)
DEADLINE_BASE = 120.0  # seconds every run may take, plus one per DEADLINE_RATE bytes
DEADLINE_RATE = 1 << 20
WORKER_ADDRESS_SPACE = 4 << 30  # RLIMIT_AS of a local worker: a runaway fails alone, in one line
_PR_SET_PDEATHSIG = 1


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined,unused-ignore]  # Linux only
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Part:
    """A file whole (``end`` None from 0), or its bytes [start, end) whose first line is number ``first_line``."""

    path: str
    index: int = 0  # which range of the file; 0: the first (or the whole file)
    start: int = 0
    end: Optional[int] = None
    first_line: int = 1
    # a local file as the plan found it (``_identity``): its size and the digest of its head, which the part's
    # reader checks before it reads (a file rotated away, another file at the path on a Dask worker)
    seen: Optional[tuple[int, str]] = None


@dataclass
class PartResult:
    path: str
    index: int
    packed: list[Any]  # each visitor's state (``_pack``): the checks' with a visitor, in order, then the review
    entries: int
    bad_lines: int
    stats: FileStats
    outcomes: list[Outcome]  # the checks without a visitor (first range only)
    seconds: float


@dataclass
class Setup:
    """What every part needs: each file's settings (its format told), the checks, the known values, the set."""

    settings: dict[str, "Settings"]
    checks: tuple[Check, ...]
    secrets: Mapping[str, str] = field(repr=False)
    log_set: tuple[str, ...] = ()
    extras: bool = True  # feed the access review too (as engine.files.verify_file does)
    digest_key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)  # CheckContext.digest_key
    # scan.known.fingerprint's key, the front end's: a worker names each value as the front end does
    fingerprint_key: bytes = field(default_factory=lambda: _fingerprint_key(), repr=False)

    def __repr__(self) -> str:  # never the known values
        return f"Setup(files={len(self.settings)}, checks={len(self.checks)})"


def _fingerprint_key() -> bytes:
    from ..scan.known import fingerprint_key

    return fingerprint_key()


# -- one part, in whichever process ---------------------------------------------------------------------------
def _context(setup: Setup, name: str) -> CheckContext:
    """The context ``verify_file`` makes for ``name``."""
    return CheckContext(settings=setup.settings[name], ledger=None, entries=[], bad_lines=[],
                        secrets=dict(setup.secrets), log_file=stat_log(name), source=name, log_path=name,
                        log_set=setup.log_set or (name,), digest_key=setup.digest_key)


def _review(settings: "Settings") -> Optional[Visitor]:
    """The access review ``verify_file`` feeds alongside the checks, if there is one for this log."""
    try:
        from ..review import Review, reviewable
    except ImportError:  # pragma: no cover - a tree without the review
        return None
    return Review(settings) if reviewable(settings) else None


def _visitors(setup: Setup, ctx: CheckContext) -> list[Visitor]:
    """The visitors one pass over a file feeds: each streaming check's, in order, then the extras (the review)."""
    out = [c.visitor(ctx) for c in setup.checks if c.visitor is not None]
    review = _review(ctx.settings) if setup.extras else None
    return out + ([review] if review is not None else [])


class _Range:
    """Bytes [pos, end) of ``f`` read as the one-pass reader reads the whole file: never across a multiple of
    BLOCK, so the chunks (and the blocks made of them) are the same."""

    def __init__(self, f: Any, start: int, end: Optional[int]) -> None:
        self.f, self.pos, self.end = f, start, end
        f.seek(start)

    def bytes_there(self) -> Optional[int]:
        """For the reader (``offline.reader.bytes_there``): the last range of a local file is read, as a whole file
        is, to the file's size when its read began and the line then being written; the others end where planned."""
        return bytes_there(self.f) if self.end is None else None

    def read(self, n: int = -1) -> bytes:
        want = BLOCK - self.pos % BLOCK
        if n >= 0:
            want = min(want, n)
        if self.end is not None:
            want = min(want, self.end - self.pos)
        if want <= 0:
            return b""
        data: bytes = self.f.read(want)
        self.pos += len(data)
        return data


def _shifted(blocks: Iterator[Block], by: int) -> Iterator[Block]:
    """``blocks`` of a range, numbered from the range's first line in the file."""
    for blk in blocks:
        blk.first += by
        if not isinstance(blk.data, bytes):  # a BadLine (an over-long line)
            blk.data = dataclasses.replace(blk.data, line=blk.data.line + by)
        yield blk


def _pack(v: Visitor) -> Any:
    """What a visitor read, to send to the merging process: a visitor that says how it pickles (``__getstate__``)
    is sent whole; any other, as its picklable attributes (set-up that does not pickle, a compiled database or a
    closure, is made again by the receiver), never its CheckContext (the known values) or what it says ``stays``
    (a key)."""
    own = getattr(type(v), "__getstate__", None)
    if own is not None and own is not getattr(object, "__getstate__", None):
        return ("whole", pickle.dumps(v, pickle.HIGHEST_PROTOCOL))
    state: dict[str, bytes] = {}
    stays = type(v).stays
    for k, value in vars(v).items():
        if isinstance(value, CheckContext) or k in stays:
            continue
        try:
            state[k] = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception:  # set-up that does not pickle (pickle raises many types): the receiver has its own
            continue
    return ("state", state)


def _unpack(fresh: Visitor, packed: Any, setup: Optional[dict[str, Any]] = None) -> Visitor:
    """``packed`` loaded into ``fresh`` (a visitor made for the same file here), or, given ``setup`` (what
    ``fresh`` held before anything was loaded into it), into a new visitor made of that set-up."""
    how, data = packed
    if how == "whole":
        out: Visitor = pickle.loads(data)
        return out
    v = fresh
    if setup is not None:
        v = type(fresh).__new__(type(fresh))
        v.__dict__.update(setup)
    v.__dict__.update({k: pickle.loads(b) for k, b in data.items()})
    return v


def run_part(setup: Setup, part: Part) -> PartResult:
    """Feed one part to every visitor, through the one driver; the checks without a visitor on a first range."""
    started = time.monotonic()
    _keep_freed_memory()
    from ..scan.known import use_fingerprint_key

    use_fingerprint_key(setup.fingerprint_key)
    name = part.path
    ctx = _context(setup, name)
    visitors = _visitors(setup, ctx)
    if part.index:
        for v in visitors:
            v.later_range()
    read_blocks, parse, whole_block = reader_for(ctx.settings, name)
    stats = FileStats()
    _same_file(part)
    before = stored_state(name)
    f = open_log(name)
    try:
        src = _Range(f, part.start, part.end) if (part.start or part.end is not None) else f
        # a later range (a line format: ``splittable``) does not stand at the file's head
        blocks = read_blocks(src, name, stats, head=False) if part.start else read_blocks(src, name, stats)
        if part.first_line > 1:
            blocks = _shifted(blocks, part.first_line - 1)
        counts = drive(visitors, blocks, name, parse, whole_block, to_end=part.end is None)
        stats.blank = counts.blank
    finally:
        f.close()
    stats.stored = judged_state(before, stored_state(name))
    outcomes: list[Outcome] = []
    if part.index == 0:
        for check in setup.checks:
            if check.visitor is None:
                outcomes.extend(evaluate(check, ctx, [""]).values())
    return PartResult(name, part.index, [_pack(v) for v in visitors], counts.entries, counts.bad_lines, stats,
                      outcomes, time.monotonic() - started)


def finish_file(setup: Setup, parts: Sequence[PartResult]) -> FileResult:
    """One file's result from its parts, in order: the visitors merged, then finished here (the order of the
    run's files matters to retention, which judges the set on the last one). NotImplementedError when a check's
    visitor declines a merge (the caller reads the file whole); when the access review alone declines (past its
    limits), it alone reads the file again."""
    name = parts[0].path
    ctx = _context(setup, name)
    fresh = _visitors(setup, ctx)
    made = [dict(v.__dict__) for v in fresh]  # the set-up alone (state made lazily, like excused counts, is not)
    merged = [_unpack(v, p) for v, p in zip(fresh, parts[0].packed)]
    # the access review's place (after the checks' visitors), if it is fed; when it declines a merge (past its
    # limits) it alone reads the file again: the checks' verdicts need no second read
    review_at = len(fresh) - 1 if len(fresh) > sum(c.visitor is not None for c in setup.checks) else -1
    review_whole = False
    for later in parts[1:]:
        for i, (m, v, first, p) in enumerate(zip(merged, fresh, made, later.packed)):
            if review_whole and i == review_at:
                continue
            try:
                m.merge(_unpack(v, p, first))
            except NotImplementedError:
                if i != review_at:
                    raise
                review_whole = True
    if review_whole:
        from ..review import Review
        from .files import read_with

        merged[-1] = read_with(lambda c: Review(c.settings), name, ctx.settings)[0]
    entries = sum(p.entries for p in parts)
    stats = FileStats(sum(p.stats.lines for p in parts), sum(p.stats.bytes for p in parts),
                      next((p.stats.framing for p in parts if p.stats.framing), ""),  # a syslog hop's: any part
                      sum(p.stats.left_out for p in parts), sum(p.stats.blank for p in parts),
                      sum(p.stats.eight_bit for p in parts))
    states = [p.stats.stored for p in parts]  # the file as each range was read: one state, or it changed
    stats.stored = (states[0] if all(s == states[0] for s in states) else {"changed": True}) if all(states) else None
    streaming = iter(merged)
    others = {o.check_id: o for o in parts[0].outcomes}
    empty = empty_member(name, setup.log_set, stats)  # a file just rotated and still empty, as verify_file says it
    member = set_member(name, setup.log_set, stats)
    outcomes: list[Outcome] = []
    for check in setup.checks:
        if check.visitor is not None:
            visitor = next(streaming)
            said = with_set(check, visitor, name, setup.log_set, ctx.settings, entries)  # may judge edge entries
            tally = Tally(entries, tuple(sorted(visitor.excused.items())))
            outcomes.extend(verdicts(check, said, [""], tally, name, empty, member, fmt=ctx.settings.log_format,
                                     unreadable=sum(p.bad_lines for p in parts)).values())
        else:
            outcomes.append(others[check.id])
    review = next(streaming, None)
    extra: dict[str, Any] = {"settles": settles_of(merged)}
    if review is not None and "review" in {f.name for f in dataclasses.fields(FileResult)}:
        extra["review"] = review.state()  # type: ignore[attr-defined]  # review.Review
    from ..checks.no_secret_leak import mask_quoted

    outcomes = mask_quoted(outcomes)
    return FileResult(name, outcomes, stats, sum(p.seconds for p in parts), ctx.settings.log_format, entries,
                      sum(p.bad_lines for p in parts), **extra)


# -- cutting a run into parts ---------------------------------------------------------------------------------
def splittable(setup: Setup, name: str) -> bool:
    """Whether ``name`` can be read in ranges: a local plain file of a line format, every visitor able to merge."""
    from .objects import is_url

    settings = setup.settings[name]
    if is_url(name) or settings.log_format not in SPLIT_FORMATS:
        return False
    if settings.log_framing not in ("none", "auto"):  # a platform's framing carries state from line to line (split
        return False  # lines, auditlog.container): read whole
    try:
        f = open_log(name)
    except AuditReadyError:
        return False
    try:  # a plain file, not a stream decompressed on the fly (no seeking into that)
        if not isinstance(f, (io.BufferedReader, io.FileIO)) or not f.seekable():
            return False
        if head_framing(f.read(len(BOM) + HEAD_SAMPLE), settings.log_framing):
            # a platform's framing, told from the file's head as the one-pass reader tells it: it carries state from
            # line to line, and only the file's first range would be told it
            return False
    except OSError:
        return False  # the reader will say what is wrong
    finally:
        f.close()
    kinds = [c.visitor for c in setup.checks if c.visitor is not None]
    review = _review(settings) if setup.extras else None
    ctx = _context(setup, name)
    kinds_ok = all(isinstance(k, type) and issubclass(k, Visitor) and k.splits(ctx) for k in kinds)
    return kinds_ok and (review is None or type(review).splits(ctx))


def _size(name: str) -> int:
    """Bytes of a local file (0 when it cannot be told: the reader then says what is wrong)."""
    try:
        return os.stat(name).st_size
    except (OSError, ValueError):  # (a NUL in an object key's URL)
        return 0


UNKNOWN_SIZE_SECONDS = 3600.0  # what the deadline allows for an object whose size the store does not tell


def _url_seconds(name: str) -> float:
    """The deadline's allowance for an object-store URL: by its size, asked of the store."""
    from .objects import _fs

    try:
        fs, path = _fs(name)
        return float(fs.size(path)) / DEADLINE_RATE
    except Exception:  # the store's client raises its own types; the reader will say what is wrong
        return UNKNOWN_SIZE_SECONDS


def boundaries(name: str, n: int) -> list[int]:
    """Up to ``n - 1`` offsets that cut ``name`` into ranges of about equal size, each where the one-pass reader
    starts a block (after the last newline before a multiple of BLOCK). A line longer than MAX_LINE_BYTES around
    a cut drops that cut."""
    size = _size(name)
    out: list[int] = []
    with open(name, "rb") as f:
        for k in range(1, n):
            p = (size * k // n) // BLOCK * BLOCK
            if p <= (out[-1] if out else 0):
                continue
            hi, cut = p, -1
            while cut < 0 and p - hi < MAX_LINE_BYTES + BLOCK and hi > 0:
                lo = max(0, hi - BLOCK)
                f.seek(lo)
                i = f.read(hi - lo).rfind(b"\n")
                if i >= 0:
                    cut = lo + i + 1
                hi = lo
            if cut > (out[-1] if out else 0) and cut < size:
                out.append(cut)
    return out


def _lines_before(name: str, cuts: Sequence[int]) -> Iterator[int]:
    """For each offset of ``cuts`` (ascending), 1 + the newlines before it: the number of the line it starts."""
    lines, pos = 0, 0
    with open(name, "rb", buffering=0) as f:
        for cut in cuts:
            while pos < cut:
                chunk = f.read(min(8 << 20, cut - pos))
                if not chunk:
                    break
                lines += chunk.count(b"\n")
                pos += len(chunk)
            yield lines + 1


def plan(setup: Setup, paths: Sequence[str], jobs: int, range_bytes: Optional[int] = None) -> list[list[Part]]:
    """Each file's parts: a file of more than one range's worth (the run's bytes over ``jobs``, at least RANGE_MIN,
    or ``range_bytes``) that can be split is cut into ranges; line numbers are filled in by ``_numbered``."""
    sizes = {p: _size(p) for p in paths}
    chunk = range_bytes or max(RANGE_MIN, -(-sum(sizes.values()) // max(jobs, 1)))
    out: list[list[Part]] = []
    for p in paths:
        seen = _identity(p)
        n = round(sizes[p] / chunk)
        cuts = boundaries(p, n) if n > 1 and splittable(setup, p) else []
        edges = [0, *cuts, None]
        out.append([Part(p, i, edges[i] or 0, edges[i + 1], seen=seen) for i in range(len(edges) - 1)]
                   if cuts else [Part(p, seen=seen)])
    return out


_HEAD = 65536  # bytes of a file's head whose digest tells it from another (``_identity``)


def _identity(name: str, upto: Optional[int] = None) -> Optional[tuple[int, str]]:
    """A local file's size and the SHA-256 of its first _HEAD bytes, or of its first ``upto`` when fewer (the size
    a plan measured: a file that grew since has the same head). None for an object-store URL, or a file that cannot
    be read (its reader says what is wrong); a FIFO or a device is never opened (safeio.open_regular)."""
    import hashlib

    from ..safeio import open_regular
    from .objects import is_url

    if is_url(name):
        return None
    try:
        with open_regular(name, "audit log") as f:
            size = os.fstat(f.fileno()).st_size
            return size, hashlib.sha256(f.read(min(size if upto is None else upto, _HEAD))).hexdigest()
    except (OSError, AuditReadyError, ValueError):
        return None


def _same_file(part: Part) -> None:
    """Refuse to read a part whose file is not the one the plan measured: rotated away (renamed, a new file at the
    path) or truncated while the run read it, or another file at that path on a Dask worker. A file that grew
    (a live log) is the same."""
    if part.seen is None:
        return
    size, digest = part.seen
    seen = _identity(part.path, size)
    if seen is None:
        return  # the reader says what is wrong
    now = seen[0]
    if now < size or seen[1] != digest:
        import socket

        raise AuditReadyError(f"{part.path} is not the file the run measured before reading it (on "
                              f"{socket.gethostname()}: {now} bytes, {'another head' if now >= size else 'fewer'}; "
                              f"planned: {size} bytes): it was rotated or rewritten while it was read, or a Dask "
                              "worker holds another file at that path",
                              "verify a rotated file by its new name or a copy, not a path the vault is writing to "
                              "as it rotates; with --dask-scheduler, give every worker the same file (an absolute "
                              "path on a file system they share, or an object-store URL)")


# -- running the parts ----------------------------------------------------------------------------------------
_SETUP: Optional[Setup] = None


def _worker_init(setup: Optional[Setup], limit: int) -> None:
    """In a local worker: the set-up (inherited through fork, or sent once through the pool's pipe under spawn),
    Ctrl-C left to the parent (which kills the workers), death with the parent, a bounded address space, and no
    terminal progress line of its own."""
    global _SETUP
    if setup is not None:
        _SETUP = setup
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if limit:
        try:
            import resource

            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        except (ImportError, ValueError, OSError):  # pragma: no cover - no such limit here
            pass
    from . import objects, progress

    progress.current = None
    # an object store's client made here before the fork (expanding and detecting the run's URLs) is bound to this
    # process's event loop and refuses a forked child ("not fork-safe"): each worker makes its own
    objects._CACHE.clear()


def _local_part(part: Part) -> PartResult:
    if _SETUP is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker without set-up")
    try:
        return run_part(_SETUP, part)
    except MemoryError:
        raise AuditReadyError(f"a worker ran out of memory reading {part.path} (its address space is bounded to "
                              f"{WORKER_ADDRESS_SPACE >> 30} GiB)", "run with --jobs 1, or fewer jobs") from None


def _warm(setup: Setup, paths: Sequence[str]) -> None:
    """Make, in this process, what every worker would make again: imports, scan databases (compiled once and
    kept by the scanners' caches), detect-secrets' settings; forked workers inherit them."""
    _keep_freed_memory()
    seen: set[str] = set()
    for p in paths:
        fmt = setup.settings[p].log_format
        if fmt not in seen:
            seen.add(fmt)
            _visitors(setup, _context(setup, p))


def deadline_for(paths: Sequence[str]) -> float:
    """Seconds a run of ``paths`` may take in all: generous (a megabyte a second, where one core reads about a
    hundred), so only a hang reaches it."""
    from .objects import is_url

    return DEADLINE_BASE + sum(_url_seconds(p) if is_url(p) else _size(p) / DEADLINE_RATE for p in paths)


def prepare_setup(settings: "Settings", checks: Sequence[Check], secrets: Mapping[str, str],
                  paths: Sequence[str]) -> Setup:
    """Each file's format told (one line refusing a file of no known format, before anything is read), as the
    one-process run does."""
    return Setup({p: detect(p, settings) for p in paths}, tuple(checks), dict(secrets), tuple(paths))


class _Runner:
    """Where parts run: ``submit`` returns a handle, ``wait`` the next finished handles, ``result`` a part's."""

    def submit(self, part: Part) -> Any:
        raise NotImplementedError

    def wait(self, pending: set[Any], timeout: float) -> set[Any]:
        raise NotImplementedError

    def result(self, handle: Any) -> PartResult:
        raise NotImplementedError

    def close(self, interrupted: bool) -> None:
        raise NotImplementedError


def _run(setup: Setup, paths: Sequence[str], runner: _Runner, jobs: int, deadline: float,
         range_bytes: Optional[int], rerun: Callable[[Part], PartResult]) -> list[FileResult]:
    """Submit every part (the largest first; a range's first line number counted here while earlier parts run),
    then finish the files in order as their parts come back."""
    from . import progress

    parts = plan(setup, paths, jobs, range_bytes)
    ends = time.monotonic() + deadline
    handles: dict[Any, Part] = {}
    interrupted = True
    try:
        # first ranges and whole files at once, largest first; then each later range, once its first line is known
        for p in sorted((ps[0] for ps in parts), key=lambda p: -((p.end or _size(p.path)) - p.start)):
            handles[runner.submit(p)] = p
        for ps in parts:
            if len(ps) > 1:
                for p, n in zip(ps[1:], _lines_before(ps[0].path, [q.start for q in ps[1:]])):
                    p = dataclasses.replace(p, first_line=n)
                    handles[runner.submit(p)] = p
        done: dict[tuple[str, int], PartResult] = {}
        pending = set(handles)
        results: list[FileResult] = []
        for ps in parts:
            need = [(p.path, p.index) for p in ps]
            while any(k not in done for k in need):
                left = ends - time.monotonic()
                if left <= 0:
                    raise AuditReadyError(f"verifying {len(paths)} file(s) took more than {deadline:.0f} s",
                                          "look for a stuck worker or an unresponsive store; run with --jobs 1 to "
                                          "read in this process")
                for h in runner.wait(pending, left):
                    pending.discard(h)
                    r = runner.result(h)
                    done[(r.path, r.index)] = r
            got = [done.pop(k) for k in need]
            try:
                results.append(finish_file(setup, got))
            except NotImplementedError:  # a visitor declined a merge (rare input): read the file whole
                results.append(finish_file(setup, [rerun(Part(ps[0].path, seen=ps[0].seen))]))
            if progress.current is not None:  # a terminal's progress line, file by file
                progress.current.next_file()
                progress.current.add(results[-1].stats.bytes)
        interrupted = False
        return results
    finally:
        runner.close(interrupted)


class _PoolRunner(_Runner):
    def __init__(self, setup: Setup, jobs: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _SETUP
        fork = "fork" in multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        _SETUP = setup  # a forked worker has it already; a spawned one gets it through the pool's pipe
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                        initargs=(None if fork else setup, WORKER_ADDRESS_SPACE))
        self.procs: dict[int, Any] = {}

    def submit(self, part: Part) -> Any:
        future = self.pool.submit(_local_part, part)
        self.procs.update(getattr(self.pool, "_processes", None) or {})  # kept: the pool forgets a dead one
        return future

    def wait(self, pending: set[Any], timeout: float) -> set[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        return set(done)

    def result(self, handle: Any) -> PartResult:
        from concurrent.futures.process import BrokenProcessPool

        try:
            r: PartResult = handle.result(timeout=0)
        except BrokenProcessPool:
            for p in self.procs.values():
                p.join(2)  # the dead one is reaped at once; the others were ended by the pool
            codes = [p.exitcode for p in self.procs.values() if p.exitcode]
            # the pool ends the workers still alive with SIGTERM once one died: name the one that died first
            codes.sort(key=lambda c: c == -signal.SIGTERM)
            how = (f"was killed by signal {-codes[0]}" if codes and codes[0] < 0
                   else f"exited with code {codes[0]}" if codes else "died")
            raise AuditReadyError(f"a verify worker process {how}", "check the memory and the system log (an "
                                  "out-of-memory kill?), or run with --jobs 1 to read in this process") from None
        return r

    def close(self, interrupted: bool) -> None:
        procs = list({**self.procs, **(getattr(self.pool, "_processes", None) or {})}.values())
        if interrupted:
            for p in procs:
                with contextlib.suppress(Exception):
                    p.kill()
        self.pool.shutdown(wait=not interrupted, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(5)


def verify_files(settings: "Settings", checks: Sequence[Check], secrets: Mapping[str, str], paths: Sequence[str],
                 jobs: int, *, range_bytes: Optional[int] = None, min_bytes: int = MIN_BYTES,
                 deadline: Optional[float] = None, setup: Optional[Setup] = None) -> list[FileResult]:
    """Every file of ``paths`` verified by up to ``jobs`` local processes: the same results, in the same order,
    as ``verify_file`` on each in turn. One job, or fewer than ``min_bytes`` in all, reads in this process."""
    from .files import verify_file

    setup = setup or prepare_setup(settings, checks, secrets, paths)
    total = sum(_size(p) for p in paths)
    if jobs <= 1 or total < min_bytes:
        from ..scan.secrets import held

        with held():  # detect-secrets' settings entered once for the run, not once a file
            return [verify_file(p, setup.settings[p], checks, secrets, tuple(paths), detected=True) for p in paths]
    _warm(setup, paths)
    # no more processes than the run has parts (each at least a range's worth): --jobs 999 would fork 999 workers
    # that wait for nothing, and cost seconds of system time to start and end
    step = range_bytes or RANGE_MIN
    runner = _PoolRunner(setup, max(2, min(jobs, sum(max(1, -(-_size(p) // step)) for p in paths))))
    return _run(setup, paths, runner, jobs, deadline if deadline is not None else deadline_for(paths),
                range_bytes, lambda part: run_part(setup, part))


# -- Dask -----------------------------------------------------------------------------------------------------
_DASK_INSTALL = "pip install 'pytest-auditready[distributed]'"


def _dask_part(setup: Setup, part: Part) -> PartResult:
    """A part on a Dask worker (the set-up is the scattered copy the worker holds)."""
    from . import progress

    progress.current = None
    try:
        return run_part(setup, part)
    except AuditReadyError as exc:
        import socket

        from .objects import is_url

        if is_url(part.path):  # read with the worker's own credentials, not the command's
            said = AuditReadyError(f"a Dask worker (on {socket.gethostname()}) {exc.cause}",
                                   f"{exc.fix}; each Dask worker reads object-store URLs with its own credentials "
                                   "(an IAM role, the worker's environment), not the command's")
            said.exit_code = exc.exit_code
            raise said from None
        if os.path.isabs(part.path) or os.path.exists(part.path):
            raise

        # a relative path is the front end's: a worker looks for it in its own folder (rt3 F7)
        raise AuditReadyError(f"a Dask worker (on {socket.gethostname()}, in the folder {os.getcwd()}) finds no "
                              f"{part.path}: a worker reads a relative path from its own folder",
                              "name the files by absolute paths on a file system the workers share, or by "
                              "object-store URLs") from None


class _DaskRunner(_Runner):
    def __init__(self, client: Any, setup: Setup) -> None:
        self.client = client
        self.run = uuid.uuid4().hex
        # the set-up (with the known values) travels as data under a random key: never in a task's key or repr
        self.setup = client.scatter(setup, broadcast=True, hash=False)
        self.n = 0

    def submit(self, part: Part) -> Any:
        self.n += 1
        return self.client.submit(_dask_part, self.setup, part, key=f"auditready-part-{self.run}-{self.n}",
                                  pure=False, retries=0)

    def wait(self, pending: set[Any], timeout: float) -> set[Any]:
        from distributed import wait

        try:
            with self.client.as_current():
                done, _ = wait(list(pending), timeout=timeout,  # type: ignore[no-untyped-call,unused-ignore]
                               return_when="FIRST_COMPLETED")
        except Exception as exc:  # distributed's own TimeoutError (asyncio's, before Python 3.11)
            if "Timeout" in type(exc).__name__:
                return set()
            raise _task_failed(exc) from None  # futures cancelled: the scheduler or the set-up's worker went away
        return set(done)

    def result(self, handle: Any) -> PartResult:
        try:
            r: PartResult = handle.result(timeout=30)
        except AuditReadyError:
            raise
        except Exception as exc:  # a worker that died (KilledWorker), a lost connection: Dask's own types
            raise _task_failed(exc) from None
        return r

    def close(self, interrupted: bool) -> None:
        if interrupted:  # stop the tasks still queued or running (a finished run's are released with the client)
            with contextlib.suppress(Exception):
                self.client.cancel([self.setup], force=True)


def _task_failed(exc: BaseException) -> AuditReadyError:
    """One line (exit 2) for a Dask task that ended without a result: a worker that died (KilledWorker), futures
    cancelled because the scheduler went away or the only worker holding the run's set-up died (red team rt97 F1:
    FuturesCancelledError escaped as a traceback with exit 1, the exit of findings), a lost connection."""
    said = " ".join(str(exc).split())[:240]
    return AuditReadyError(f"a Dask task failed ({type(exc).__name__}{': ' + said if said else ''}); no verdict "
                           "rests on a part that did not come back",
                           "check the Dask scheduler's and workers' logs and memory (a cluster of one worker cannot "
                           "recover the run's set-up from a worker that died), then run again, or run locally with "
                           "--jobs")


def connect(address: str, timeout: float = 10.0) -> Any:
    """A Dask client of the scheduler at ``address``; one line (exit 2) if it does not answer within ``timeout``."""
    try:
        from distributed import Client
    except ImportError:
        raise AuditReadyError("--dask-scheduler needs dask.distributed", _DASK_INSTALL) from None
    import threading

    # Dask's own timeout bounds the TCP connection, not the handshake after it: a listener that is no scheduler (its
    # dashboard's port, an HTTP server, a port that accepts and never speaks) held the client for ever. So the
    # client is made in a thread of its own, waited for ``timeout`` and a few seconds more.
    made: list[Any] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            made.append(Client(address, timeout=timeout,  # type: ignore[no-untyped-call,unused-ignore]
                               set_as_default=False))
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    fix = ("check the address (tcp://HOST:8786: the scheduler's port, not its dashboard's) and that the scheduler "
           "is running")
    if _refused(address):  # Dask retries a refused connection until its timeout, then says it timed out
        raise AuditReadyError(f"the Dask scheduler {address} refuses connections: nothing listens on that port", fix)
    thread = threading.Thread(target=make, name="auditready-dask-connect", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout + 5)
    if made:
        return made[0]
    if not failed:
        raise AuditReadyError(f"{address} accepted the connection but did not answer as a Dask scheduler within "
                              f"{timeout + 5:g} s", fix)
    exc = failed[0]
    if isinstance(exc, (OSError, TimeoutError, ValueError)):
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        waited = time.monotonic() - started
        said = f"did not answer within {timeout:g} s" if waited >= timeout else "cannot be reached"
        raise AuditReadyError(f"the Dask scheduler {address} {said} ({why})", fix) from None
    raise exc


def _refused(address: str) -> bool:
    """Whether a tcp:// or tls:// scheduler ``address`` refuses a TCP connection at once (nothing listens there);
    False for any other answer, address or scheme (Dask's own connection then says what is wrong)."""
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        return False
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


_CODE: list[str] = []


def code_digest() -> str:
    """A digest of this package's Python source. A Dask run's tasks carry this code's objects (its set-up, its
    visitors' state) both ways, so its workers must run the same code: a worker of another release read them
    otherwise and failed with a traceback (red team rt13, case 04)."""
    if not _CODE:
        import hashlib
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _CODE.append(digest.hexdigest()[:16])
    return _CODE[0]


_SAME_CODE_FIX = ("install on the Dask workers the same release of pytest-auditready as here (the cluster's image), "
                  "or verify on this machine with --jobs")


def _same_code(client: Any, address: Any, timeout: float) -> None:
    """Refuse in one line a cluster whose workers run other code of the package than this process."""
    import threading

    got: list[Any] = []

    def ask() -> None:
        try:
            got.append(client.run(code_digest))
        except BaseException as exc:  # handed to the caller's thread
            got.append(exc)

    thread = threading.Thread(target=ask, name="auditready-dask-code", daemon=True)
    thread.start()
    thread.join(timeout + 5)
    if not got:
        raise AuditReadyError(f"the Dask workers of {address} did not say which code they run within "
                              f"{timeout + 5:g} s", "check the workers' logs, or verify on this machine with --jobs")
    answer = got[0]
    if isinstance(answer, BaseException) or not isinstance(answer, dict):
        why = f"{type(answer).__name__}: {str(answer).splitlines()[0][:160]}" if str(answer) else type(answer).__name__
        raise AuditReadyError(f"the Dask workers of {address} could not run this release's code check ({why}): "
                              "they run another release of pytest-auditready", _SAME_CODE_FIX)
    mine = code_digest()
    other = sorted(str(w) for w, d in answer.items() if d != mine)
    if other:
        raise AuditReadyError(f"{len(other)} of the {len(answer)} Dask workers of {address} run other code of "
                              f"pytest-auditready than this process ({', '.join(other[:3])}"
                              f"{', ...' if len(other) > 3 else ''})", _SAME_CODE_FIX)


def verify_dask(settings: "Settings", checks: Sequence[Check], secrets: Mapping[str, str], paths: Sequence[str],
                address: Any, *, range_bytes: Optional[int] = None, deadline: Optional[float] = None,
                connect_timeout: float = 10.0) -> list[FileResult]:
    """``verify_files`` with the parts run as tasks on the Dask cluster at ``address`` (a scheduler address, or a
    ``distributed.Client``). Workers read the paths themselves: local paths must be where the workers can read
    them too (a shared file system); object-store URLs are read by each worker through fsspec."""
    setup = prepare_setup(settings, checks, secrets, paths)
    own = isinstance(address, str)
    client = connect(address, connect_timeout) if own else address
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        if not workers:  # a scheduler without workers would fail the first task ("No valid workers found")
            try:
                client.wait_for_workers(1, timeout=connect_timeout)
            except (TimeoutError, OSError):
                raise AuditReadyError(f"the Dask scheduler {address} has no workers (none joined within "
                                      f"{connect_timeout:g} s)", "start workers on it (dask worker ADDRESS), or "
                                      "verify on this machine with --jobs") from None
            workers = len(client.scheduler_info().get("workers", {})) or 1
        _same_code(client, address, connect_timeout)
        runner = _DaskRunner(client, setup)
        return _run(setup, paths, runner, workers, deadline if deadline is not None else deadline_for(paths),
                    range_bytes, lambda part: run_part(setup, part))
    finally:
        if own:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
