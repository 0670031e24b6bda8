"""What a check is, what it gets, and what it says. No pytest here: both front ends use these.

A check is a pure function of a CheckContext that yields Findings (and Skips). It declares its subjects up front,
from the planned actions, so that pytest can collect one item per subject before anything runs: "" is the check
as a whole, an action name is that action.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from ..auditlog.match import Match
from ..auditlog.model import AccessLedger, Action, AuditEntry, BadLine, Entries, Record

if TYPE_CHECKING:
    from ..config import Settings
    from ..vault.scenario import VaultFacts

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class Finding:
    """One thing wrong: a full sentence (what and where), and how to fix it. Never a secret value."""

    check_id: str
    subject: str
    message: str
    fix: str
    where: str = ""  # file:line
    request_id: str = ""

    def text(self) -> str:
        loc = []
        if self.where:
            loc.append(self.where)
        if self.request_id:
            loc.append(f"request id {self.request_id}")
        prefix = f"[{', '.join(loc)}] " if loc else ""
        return f"{prefix}{self.message} Fix: {self.fix}"

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.check_id,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
            "where": self.where,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class Skip:
    subject: str
    reason: str


@dataclass(frozen=True)
class PlannedAction:
    """What collection knows of an action before the run."""

    name: str
    identity: str
    expect: str


@dataclass(frozen=True)
class LogFileInfo:
    path: str
    mode: int
    uid: int
    dir_mode: int


def stat_log(path: Optional[str]) -> Optional[LogFileInfo]:
    """The mode and owner of a local log file and its folder (log_protection reads them); None if absent."""
    if not path:
        return None
    try:
        st = os.stat(path)
        dst = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return None
    return LogFileInfo(path, st.st_mode, st.st_uid, dst.st_mode)


@dataclass
class CheckContext:
    settings: "Settings"
    ledger: Optional[AccessLedger]
    entries: list[AuditEntry]
    bad_lines: list[BadLine]
    matches: dict[str, Match] = field(default_factory=dict)
    facts: Optional["VaultFacts"] = None
    log_file: Optional[LogFileInfo] = None
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # name -> value: memory only
    source: str = ""  # how findings name the log ("the embedded audit log", a path)
    log_path: Optional[str] = None  # the local file the entries were read from, when there is one
    # tamper_evidence judged while the files existed (the embedded target removes its log when it stops)
    tamper: Optional[Any] = None

    def __repr__(self) -> str:
        return f"CheckContext(source={self.source!r}, entries={len(self.entries)})"

    def action(self, name: str) -> Optional[Action]:
        return self.ledger.by_name(name) if self.ledger else None

    def match(self, name: str) -> Match:
        return self.matches.get(name, Match())


Subjects = Callable[[Sequence[PlannedAction]], list[str]]


def whole(_: Sequence[PlannedAction]) -> list[str]:
    return [""]


def every_action(actions: Sequence[PlannedAction]) -> list[str]:
    return [a.name for a in actions]


class Visitor:
    """The streaming form of a check: fed every entry, bad line and raw block of one log once, in file order,
    then asked what it found. It holds only what it needs (counters, the latest time, a few findings), so a
    gigabyte log costs no more memory than a small one. The live run feeds it ``ctx.entries`` (see ``feed``),
    the offline readers feed it a file: one implementation serves both.

    ``block`` gets the raw bytes of consecutive whole lines (``first_line`` is the number of the first), for
    checks that search text faster than they could walk parsed values. Leave a method out to not be called
    (``entries`` counts as overridden when ``entry`` is)."""

    def entry(self, rec: Record) -> None:
        """One parsed entry's canonical fields."""

    def entries(self, batch: Entries) -> None:
        """Consecutive parsed entries, as columns: by default ``entry`` for each. A check overrides this to answer
        a whole batch at once in the common case, falling back to ``entry`` for anything else."""
        entry = self.entry
        for rec in batch.records():
            entry(rec)

    def bad_line(self, bad: BadLine) -> None:
        """A line that could not be parsed."""

    def block(self, file: str, first_line: int, data: bytes) -> None:
        """Raw text of whole lines, newline-separated."""

    def finish(self) -> Iterable[Union["Finding", "Skip"]]:
        """What the check found, once everything was fed."""
        return ()


def overrides(visitor: Visitor, name: str) -> bool:
    """Whether ``visitor`` has its own ``name`` method (the engine calls only those). A visitor with its own
    ``entry`` is fed ``entries`` (whose default calls ``entry``)."""
    if name == "entries" and overrides(visitor, "entry"):
        return True
    return getattr(type(visitor), name) is not getattr(Visitor, name)


def feed(visitor: Visitor, ctx: "CheckContext") -> Visitor:
    """Feed the entries and bad lines of an in-memory context to ``visitor``, in file order: the same calls the
    offline engine makes (consecutive entries as one batch, each line's raw text as a block before its entry)."""
    items: list[Union[AuditEntry, BadLine]] = [*ctx.entries, *ctx.bad_lines]
    items.sort(key=lambda i: (i.file, i.line))
    want_entry, want_bad, want_block = (overrides(visitor, n) for n in ("entries", "bad_line", "block"))
    pending: list[Record] = []

    def flush() -> None:
        if pending:
            visitor.entries(Entries.of(pending))
            pending.clear()

    for item in items:
        if isinstance(item, AuditEntry):
            if pending and pending[-1].file != item.file:
                flush()
            if want_block and item.raw:
                visitor.block(item.file, item.line, item.raw.encode("utf-8", "surrogatepass"))
            if want_entry:
                pending.append(item.record)
        else:
            flush()
            if want_block and item.raw:
                visitor.block(item.file, item.line, item.raw.encode("utf-8", "surrogatepass"))
            if want_bad:
                visitor.bad_line(item)
    flush()
    return visitor


@dataclass(frozen=True)
class Check:
    """A check: stable snake_case id (equal to its module name), title, and what must hold."""

    id: str
    title: str
    requirement: str
    run: Callable[[CheckContext], Iterable[Union[Finding, Skip]]]
    subjects: Subjects = whole
    live_only: bool = False  # needs a scenario (ledger + facts); not part of offline verification
    # The streaming form (see Visitor) for offline verification of large logs; run() uses the same visitor on the
    # in-memory entries. A check without one gets a context with no entries and only ``log_path`` offline.
    visitor: Optional[Callable[[CheckContext], Visitor]] = None


@dataclass(frozen=True)
class Outcome:
    check_id: str
    subject: str
    status: str
    findings: tuple[Finding, ...] = ()
    reason: str = ""

    @property
    def name(self) -> str:
        return f"{self.check_id}[{self.subject}]" if self.subject else self.check_id

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check_id,
            "subject": self.subject,
            "status": self.status,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
        }


def evaluate(check: Check, ctx: CheckContext, subjects: Sequence[str]) -> dict[str, Outcome]:
    """Run ``check`` once and sort what it says by subject. A check that names an undeclared subject is a bug
    in that check, and is reported as such rather than lost."""
    findings: dict[str, list[Finding]] = {s: [] for s in subjects}
    skips: dict[str, str] = {}
    for item in check.run(ctx):
        if item.subject not in findings:
            raise RuntimeError(f"check {check.id} reported on undeclared subject {item.subject!r}")
        if isinstance(item, Skip):
            skips.setdefault(item.subject, item.reason)
        else:
            findings[item.subject].append(item)
    out: dict[str, Outcome] = {}
    for s in subjects:
        if findings[s]:
            out[s] = Outcome(check.id, s, FAILED, tuple(findings[s]))
        elif s in skips:
            out[s] = Outcome(check.id, s, SKIPPED, reason=skips[s])
        else:
            out[s] = Outcome(check.id, s, PASSED)
    return out


def iso_ns(ns: int) -> str:
    """An ns timestamp as RFC 3339 UTC with nanoseconds, for messages."""
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


def describe(action: Action) -> str:
    who = action.display_name or action.identity
    return f"{action.name} ({action.method} {action.path} as {who}, sent {iso_ns(action.sent_ns)})"
