"""Exported logs: the paths of a run (files, folders, globs), and each file read once through the one driver.

No pytest here: ``auditready verify`` and ``pytest --auditready-offline`` both call ``expand`` and ``verify_file``.
Checks without a streaming form (``Check.visitor``) run once with no entries and ``ctx.log_path`` set to the file,
so a check that reads beside the log (a digest chain, the file's mode) works offline too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ..checks.base import (
    Check,
    CheckContext,
    Outcome,
    Tally,
    evaluate,
    stat_log,
    verdicts,
)
from ..config import Settings
from ..errors import AuditReadyError
from ..offline.reader import FileStats, open_log
from .driver import drive, reader_for

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
            tally = Tally(counts.entries, tuple(sorted(visitor.excused.items())))
            outcomes.extend(verdicts(check, visitor.finish(), [""], tally, name, empty).values())
        else:
            outcomes.extend(evaluate(check, ctx, [""]).values())
    return FileResult(name, outcomes, stats, time.monotonic() - started, settings.log_format, counts.entries,
                      counts.bad_lines, review.state() if review is not None else None)


def _holds_bytes(path: str) -> bool:
    from .objects import is_url

    if is_url(path):
        return True  # not looked at here; its own verdict says what it holds
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
