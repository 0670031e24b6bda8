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
from ..errors import AuditReadyError
from ..text import clip, visible

if TYPE_CHECKING:
    from ..config import Settings
    from ..vault.scenario import VaultFacts
    from .log_protection import Guards

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


_LONGEST_TEXT = 4000  # characters of a finding's sentence, fix or subject shown at most
_LONGEST = {"request_id": 120, "where": 1200}  # a request id (a UUID is 36), a file:line


def bounded(text: str, limit: int, named: bool = False) -> str:
    """``text`` cut to ``limit`` characters (``clip``: never inside a token's run), saying how long it was (``named``:
    and its fingerprint, so that two long texts with one head stay two)."""
    if len(text) <= limit:
        return text
    if not named:
        return f"{clip(text, limit // 2)} ({len(text)} characters)"
    from ..scan.known import fingerprint

    return f"{clip(text, limit // 2)} ({len(text)} characters, sha256 {fingerprint(text)})"


@dataclass(frozen=True)
class Finding:
    """One thing wrong: a full sentence (what and where), and how to fix it. Never a secret value."""

    check_id: str
    subject: str
    message: str
    fix: str
    where: str = ""  # file:line
    request_id: str = ""
    # the further lines of the same file that hold the same thing, every one kept (no_secret_leak: the lines to
    # purge), where the message names the first few
    also_on: tuple[int, ...] = ()
    # How many entries (lines, records) of the log this finding stands for: 1 for a finding at one entry; past a
    # check's cap on the findings of one kind, a roll-up ("N more entries lack ...") stands for the N it counts, and a
    # finding that names further lines (``also_on``, or lines it counted without listing) for all of them. Every
    # report counts these beside its findings (red team rt96 F1: 21 findings said nothing of 25 defective entries).
    # (A check that judges something other than entries counts what it judges: retention's runs of days, the files
    # of a set.)
    entries: int = 1

    def __post_init__(self) -> None:
        least = 1 + len(self.also_on)  # (itself and every further line it names)
        if self.entries < least:
            object.__setattr__(self, "entries", least)
        # Whatever a finding quotes from a log or a path is shown, never acted on: one line, escapes visible; and
        # bounded, so that one hostile line (a request id of megabytes) cannot blow up every report.
        for name in ("subject", "message", "fix", "where", "request_id"):
            value = getattr(self, name)
            if name == "request_id" and len(value) > _LONGEST[name]:
                # no head: a client's id this long may be a credential (a JWT as a Kubernetes Audit-ID), and its
                # head would no longer be the value no_secret_leak masks (red team rt42, F12)
                from ..scan.known import fingerprint

                object.__setattr__(self, name, f"<{len(value)} characters, sha256 {fingerprint(value)}>")
                continue
            safe = bounded(visible(value), _LONGEST.get(name, _LONGEST_TEXT))
            if safe is not value and safe != value:
                object.__setattr__(self, name, safe)

    def text(self) -> str:
        loc = []
        if self.where:
            loc.append(self.where)
        if self.request_id:
            loc.append(f"request id {self.request_id}")
        prefix = f"[{', '.join(loc)}] " if loc else ""
        return f"{prefix}{self.message} Fix: {self.fix}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check_id,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
            "where": self.where,
            "request_id": self.request_id,
        }
        if self.also_on:
            out["also_on"] = list(self.also_on)
        if self.entries > 1:
            out["entries"] = self.entries
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Finding":
        """A finding as ``to_json`` gave it (a verdict sent from a worker process)."""
        return cls(d["check"], d["subject"], d["message"], d["fix"], d["where"], d["request_id"],
                   tuple(int(n) for n in d.get("also_on", ())), int(d.get("entries", 1)))

    @property
    def unlisted(self) -> int:
        """How many of the entries it stands for no report locates: those past its own line and ``also_on``."""
        return max(0, self.entries - len(self.also_on) - (1 if line_of(self.where) is not None else 0))


def line_of(where: str) -> Optional[int]:
    """The line (or record) number a finding's ``where`` ("file:line") names; None when it names a file alone or
    nothing."""
    path, sep, line = where.rpartition(":")
    return int(line) if sep and path and line.isascii() and line.isdigit() else None


def entries_of(findings: Iterable[Finding]) -> int:
    """The entries ``findings`` stand for (``Finding.entries``), added up."""
    return sum(f.entries for f in findings)


def counted(findings: int, entries: int) -> str:
    """'21 finding(s)', or '21 finding(s) on 25 entries' where a finding stands for more than one entry (a roll-up
    past a check's cap, a leak on many lines): the words every report counts findings with."""
    return f"{findings} finding(s)" + (f" on {entries:,} entries" if entries != findings else "")


@dataclass(frozen=True)
class Skip:
    subject: str
    reason: str


@dataclass(frozen=True)
class Note:
    """What a pass rests on (e.g. which segment of which digest chain verified a file): kept as the outcome's
    ``reason`` when the subject passes (a subject's notes joined in order), ignored when it fails or is skipped."""

    subject: str
    text: str


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
    real_path: str = ""  # when ``path`` is a symbolic link: the file it leads to
    real_dir_mode: int = 0  # and the mode of that file's folder
    guards: Optional["Guards"] = None  # owners, ACLs and folders up to / (log_protection.guards_of), when read


def stat_log(path: Optional[str]) -> Optional[LogFileInfo]:
    """The mode and owner of a local log file and its folder (log_protection reads them), and where a symbolic
    link leads; None if absent."""
    if not path:
        return None
    try:
        st = os.stat(path)
        dst = os.stat(os.path.dirname(os.path.abspath(path)))
        real = os.path.realpath(path) if os.path.islink(path) else ""
        rdst = os.stat(os.path.dirname(real)).st_mode if real else 0
    except (OSError, ValueError):  # (a NUL in an object key's URL: no local file)
        return None
    from .log_protection import guards_of

    try:
        guards: Optional[Guards] = guards_of(path)
    except OSError:
        guards = None
    return LogFileInfo(path, st.st_mode, st.st_uid, dst.st_mode, real, rdst, guards)


_DISTINCT: list[Any] = [None, 0]  # the last set asked about (the same tuple for every file of a run), its size


def _distinct(log_set: tuple[str, ...]) -> int:
    if _DISTINCT[0] is not log_set:
        _DISTINCT[:] = [log_set, len(set(log_set))]
    return int(_DISTINCT[1])


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
    # why the target's own sealer could not seal its log (the embedded target seals the log it keeps for the checks)
    seal_problem: Optional[AuditReadyError] = None
    log_set: tuple[str, ...] = ()  # every log file of the run (a rotated set is judged as one)
    # a live source's lines of the server's own log (merged stdout and stderr): no entry, yet scanned for secrets
    left_out: list[BadLine] = field(default_factory=list, repr=False)
    # a live source's records' fields beside the lines they carry (Docker's attrs, a journal's _CMDLINE): scanned
    around: list[BadLine] = field(default_factory=list, repr=False)
    # filled by the driver: check id -> what its visitor was fed and excused (see ``feed``)
    tallies: dict[str, "Tally"] = field(default_factory=dict, repr=False)
    current: str = ""  # the check being evaluated (``evaluate`` sets it)
    # The run's key for keyed digests of values found in clear (data_minimisation): the processes of one run tell
    # a value apart by its digest, so the value itself never leaves the process that read it. Memory only.
    digest_key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)

    def __repr__(self) -> str:
        return f"CheckContext(source={self.source!r}, entries={len(self.entries)})"

    @property
    def set_size(self) -> int:
        """How many distinct files the run's set holds (``log_set``), counted once a run: every file asks."""
        return _distinct(self.log_set)

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

    # Attributes that never leave the process that made the visitor (a key): engine.parallel sends a part's state
    # without them, and the receiving visitor keeps its own.
    stays: tuple[str, ...] = ()

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

    def left_out(self, file: str, line: int, raw: bytes) -> None:
        """A line the log's framing left out as no entry (the vault's own server log: a container's stderr, a
        journal's message that holds no entry, a syslog message of the server's), as read, framing included. It
        stands empty in ``block``'s text."""

    def around(self, file: str, first: int, records: Sequence[tuple[int, bytes]]) -> None:
        """The fields a platform's or a log shipper's records hold beside the lines they carry (Docker's attrs, a
        journal's _CMDLINE, a shipper's added fields), for the block from line ``first``: (index in the block, one
        line of JSON). No entry: a secret there is in the file all the same."""

    def finish(self) -> Iterable[Union["Finding", "Skip"]]:
        """What the check found, once everything was fed."""
        return ()

    def excuse(self, rule: str, n: int = 1) -> None:
        """Count ``n`` entries fed but not judged, by the positive ``rule`` that excused them (a sentence naming
        what the entries carry, e.g. "the audit device's own self-test write"). Missing evidence is never a rule."""
        excused: dict[str, int] = self.__dict__.setdefault("_excused", {})
        excused[rule] = excused.get(rule, 0) + n

    @property
    def excused(self) -> dict[str, int]:
        """Entries excused so far, by rule."""
        return dict(self.__dict__.get("_excused", {}))

    # -- one file read in byte ranges by several processes (engine.parallel) --------------------------------
    def later_range(self) -> None:
        """Called before anything is fed when this visitor reads a range of a file that is not its first: it will
        be merged (``merge``) into the visitor of the ranges before it, so it keeps what that merge needs (e.g.
        the entries that would go back in time after a later start). By default nothing."""

    @classmethod
    def splits(cls, ctx: "CheckContext") -> bool:
        """Whether the file of ``ctx`` may be cut into ranges for this visitor (``merge``): by default,
        when the class has its own ``merge``. A visitor whose merge is exact only for some logs says False for
        the others, so that they are read whole at once rather than read twice."""
        return cls.merge is not Visitor.merge

    def merge(self, later: "Visitor") -> None:
        """Take in ``later``, a visitor of the same check that was fed the lines right after the ones this one was
        fed, so that this one ends as if it had been fed both in file order. Ranges start at the driver's block
        boundaries, so block-level behaviour is the same as in one pass. The default raises NotImplementedError:
        a file whose checks include such a visitor is read whole, by one process."""
        raise NotImplementedError(f"{type(self).__name__} cannot merge the visitor of a later range")

    def merge_excused(self, later: "Visitor") -> None:
        """Add the entries ``later`` excused to this visitor's counts (for ``merge``)."""
        mine: dict[str, int] = self.__dict__.setdefault("_excused", {})
        for rule, n in later.__dict__.get("_excused", {}).items():
            mine[rule] = mine.get(rule, 0) + n


def overrides(visitor: Visitor, name: str) -> bool:
    """Whether ``visitor`` has its own ``name`` method (the engine calls only those). A visitor with its own
    ``entry`` is fed ``entries`` (whose default calls ``entry``)."""
    if name == "entries" and overrides(visitor, "entry"):
        return True
    return getattr(type(visitor), name) is not getattr(Visitor, name)


def feed(visitor: Visitor, ctx: "CheckContext") -> Visitor:
    """Feed the log lines of an in-memory context (a live run's) to ``visitor`` through the one driver the offline
    files go through (``engine.driver.drive``): the same parser, batches and blocks, so a check sees the same
    entries either way. What it was fed and excused is kept in ``ctx.tallies`` under the check being evaluated."""
    from ..engine.driver import drive_lines

    fed = drive_lines(visitor, ctx)
    if ctx.current:
        ctx.tallies[ctx.current] = Tally(fed, tuple(sorted(visitor.excused.items())))
    return visitor


@dataclass(frozen=True)
class Check:
    """A check: stable snake_case id (equal to its module name), title, and what must hold."""

    id: str
    title: str
    requirement: str
    run: Callable[[CheckContext], Iterable[Union[Finding, Skip, Note]]]
    subjects: Subjects = whole
    live_only: bool = False  # needs a scenario (ledger + facts); not part of offline verification
    # The streaming form (see Visitor) for offline verification of large logs; run() uses the same visitor on the
    # in-memory entries. A check without one gets a context with no entries and only ``log_path`` offline.
    visitor: Optional[Callable[[CheckContext], Visitor]] = None
    # Excuse rules for records a producer delivers in files of their own (CloudTrail's Insights events): a file
    # holding only those has nothing for this check to judge, and the check is skipped saying so, not failed.
    alone_rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Tally:
    """What a check looked at: the entries it was fed and, of those, the ones excused (by rule) rather than
    judged. ``fed`` is None for a check that judges something other than entries (actions, a file, the vault).
    ``skipped``: why the check was skipped, when it was: the entries no rule excused are then not judged, and said
    so apart (``not_judged``), never as excused (SPEC: an entry is excused only by a positive rule)."""

    fed: Optional[int] = None
    excused: tuple[tuple[str, int], ...] = ()
    skipped: str = ""

    @property
    def judged(self) -> Optional[int]:
        if self.fed is None:
            return None
        return 0 if self.skipped else self.fed - sum(n for _, n in self.excused)

    @property
    def not_judged(self) -> int:
        """The entries a skipped check did not judge (none excused them)."""
        return self.fed - sum(n for _, n in self.excused) if self.skipped and self.fed is not None else 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fed": self.fed, "judged": self.judged,
                               "excused": [{"rule": r, "entries": n} for r, n in self.excused]}
        if self.skipped:
            out["not_judged"] = {"entries": self.not_judged, "reason": self.skipped}
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Tally":
        said = d.get("not_judged")
        return cls(d.get("fed"), tuple((e["rule"], int(e["entries"])) for e in d.get("excused", ())),
                   str(said.get("reason", "")) if isinstance(said, Mapping) else "")


@dataclass(frozen=True)
class Outcome:
    check_id: str
    subject: str
    status: str
    findings: tuple[Finding, ...] = ()
    reason: str = ""  # why it was skipped; for a pass, what it rests on (a Note), if the check said
    tally: Tally = Tally()
    # findings a baseline accepted (accept.py): (the finding, its fingerprint, the acceptance), shown, never dropped
    accepted: tuple[tuple[Finding, str, str], ...] = ()

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
            "tally": self.tally.to_json(),
            "accepted": [{**f.to_json(), "fingerprint": fp, "acceptance": text} for f, fp, text in self.accepted],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Outcome":
        finding = Finding.from_json
        accepted = tuple((finding(a), a["fingerprint"], a["acceptance"]) for a in d.get("accepted", ()))
        return cls(d["check"], d["subject"], d["status"], tuple(map(finding, d["findings"])), d["reason"],
                   Tally.from_json(d.get("tally", {})), accepted)


def evaluate(check: Check, ctx: CheckContext, subjects: Sequence[str]) -> dict[str, Outcome]:
    """Run ``check`` once and sort what it says by subject (``verdicts``)."""
    if ctx is not None:
        ctx.current = check.id
    said = list(check.run(ctx))
    tally = ctx.tallies.get(check.id, Tally()) if ctx is not None else Tally()
    if ctx is None:
        return verdicts(check, said, subjects, tally, "")
    return verdicts(check, said, subjects, tally, ctx.source, fmt=getattr(ctx.settings, "log_format", ""),
                    unreadable=len(ctx.bad_lines))


def verdicts(check: Check, said: Iterable[Union[Finding, Skip, Note]], subjects: Sequence[str], tally: Tally,
             source: str, empty: str = "", member: str = "", fmt: str = "",
             unreadable: Optional[int] = None) -> dict[str, Outcome]:
    """What a check said (findings, skips, notes), as one outcome per subject: failed with its findings, else
    skipped with the first reason, else passed with its note; ``tally`` goes to the whole-log subject, and a check
    that judged nothing fails (``judged_something``: ``fmt`` and ``unreadable``, the log's format and its unreadable
    lines, when known, say what it held). A check that names an undeclared subject is a bug in that check, and is
    reported as such rather than lost."""
    findings: dict[str, list[Finding]] = {s: [] for s in subjects}
    skips: dict[str, str] = {}
    notes: dict[str, str] = {}
    for item in said:
        if item.subject not in findings:
            raise RuntimeError(f"check {check.id} reported on undeclared subject {item.subject!r}")
        if isinstance(item, Skip):
            skips.setdefault(item.subject, item.reason)
        elif isinstance(item, Note):  # each said, in order
            notes[item.subject] = (notes[item.subject] + " " if item.subject in notes else "") + visible(item.text)
        else:
            findings[item.subject].append(item)
    out: dict[str, Outcome] = {}
    for s in subjects:
        t = tally if s == "" else Tally()
        if findings[s]:
            out[s] = Outcome(check.id, s, FAILED, tuple(findings[s]), tally=t)
        elif s in skips:
            if t.fed and t.judged:  # entries it was fed and, skipped, judged none of: not judged, not excused
                t = Tally(t.fed, t.excused, visible(skips[s]))
            out[s] = Outcome(check.id, s, SKIPPED, reason=skips[s], tally=t)
        else:
            out[s] = Outcome(check.id, s, PASSED, reason=notes.get(s, ""), tally=t)
    return judged_something(check, out, source, empty, member, fmt, unreadable)


# What a log of each format holds, and where its producer writes it: how "judged nothing" (and retention) name them.
FORMAT_TERMS: dict[str, tuple[str, str]] = {
    "vault": ("audit entry", "the audit log the vault's audit device writes (its file_path), with its entries"),
    "k8s": ("audit event", "the API server's audit log (--audit-log-path), with its events"),
    "cloudtrail": ("CloudTrail record", "the trail's log files (AWSLogs/ACCOUNT/CloudTrail/REGION/...), with their "
                                        "records"),
    "jsonl": ("entry", "the log its producer writes, with its entries"),
}
UNKNOWN_TERMS = ("audit entry", "the audit log its producer writes, with its entries")


def judged_something(check: Check, out: dict[str, Outcome], source: str, empty: str = "",
                     member: str = "", fmt: str = "", unreadable: Optional[int] = None) -> dict[str, Outcome]:
    """Fail closed: a check that was fed entries to judge and judged none does not pass. It fails, saying so
    (an empty log, a log of nothing but unreadable lines, or every entry excused), in the terms of the log's format
    ``fmt`` ("" when not known), naming its ``unreadable`` lines when it has some (None: not known). ``empty``:
    why a file that gave no entry at all has none to give (an empty member of a set whose other files hold the
    entries); ``member``: that a file whose entries were all excused is a piece of a log whose other files hold
    entries (the newest file of a rotation holding a refused request or two). The check is then skipped with that
    reason instead: a run none of whose files it judged still reads as skipped, never as passed
    (result.worst_status)."""
    whole_ = out.get("")
    if whole_ is None or whole_.status != PASSED or whole_.tally.fed is None or whole_.tally.judged:
        return out
    t = whole_.tally
    excused = "; ".join(f"{n} by: {r}" for r, n in t.excused)
    alone = bool(t.excused) and all(rule in check.alone_rules for rule, _ in t.excused)
    if t.fed and (alone or member):
        said = "a file of such records holds nothing for this check to judge" if alone else member
        out[""] = Outcome(check.id, "", SKIPPED, reason=f"every entry of {source or 'the log'} was excused "
                          f"({excused}): {said}", tally=t)
        return out
    if t.fed:
        why = f"all {t.fed} entries of {source or 'the log'} were excused ({excused}), so none was judged"
    elif empty:  # an empty file among files that hold the entries (``engine.files.empty_member``): nothing to judge
        out[""] = Outcome(check.id, "", SKIPPED, reason=empty, tally=t)
        return out
    entry, log = FORMAT_TERMS.get(fmt, UNKNOWN_TERMS)
    if not t.fed:
        held = (f"no {entry}" if unreadable == 0 else
                f"no readable {entry}: its {unreadable} line(s) could not be read" if unreadable else
                f"no readable {entry}")
        why = f"{source or 'the log'} holds {held}, so nothing was judged"
    fix = f"point the check at {log}" + (
        ", and see required_fields for the lines that could not be read" if unreadable else
        "; a line that could not be read is a required_fields finding" if unreadable is None else "")
    finding = Finding(check.id, "", f"{check.id} judged nothing: {why}.", fix)
    out[""] = Outcome(check.id, "", FAILED, (finding,), tally=t)
    return out


def iso_ns(ns: int) -> str:
    """An ns timestamp as RFC 3339 UTC with nanoseconds, for messages."""
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


def describe(action: Action) -> str:
    who = action.display_name or action.identity
    return f"{action.name} ({action.method} {action.path} as {who}, sent {iso_ns(action.sent_ns)})"
