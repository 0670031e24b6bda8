"""retention: the log set holds the history the policy asks for, without holes.

The set is every file named in the run (``ctx.log_set``: rotated and compressed files of one log) plus the archived
files ``retention_archive`` names. Its span, from the day of the earliest entry to the day of the latest (UTC,
both counted), must reach ``retention_days``; the newest ``retention_online_days`` of it must be at hand, that is,
in files outside ``retention_archive``; and no run of days without a single entry inside the span may be longer
than ``retention_max_gap_days``. ``retention_days = 0`` skips the check.

One file is read at a time by the engine, so the visitor counts the entries of its own file per day and the set is
judged once, on the last file of ``ctx.log_set``, from every member's day counts: a member already read in this
process (``auditready verify`` reads them in order) is looked up, any other is read once through the same engine
(counting days only). The other files of the set pass with a note naming the file that carries the verdict.

A live run against a URL target judges the log file it reads with its rotated files beside it (audit.log.1,
audit.log.2.gz: at hand) and the archive, which together rarely hold a year unless archiving is set up; the embedded
target is a server started for the run, with no history, and is skipped.
"""

from __future__ import annotations

import datetime
import os
import re
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, Union

from ..auditlog.model import BadLine, Entries, Record
from ..errors import AuditReadyError
from ..safeio import same_file
from .base import FORMAT_TERMS, UNKNOWN_TERMS, Check, CheckContext, Finding, Note, Skip, Tally, Visitor, feed

if TYPE_CHECKING:
    from ..config import Settings

ID = "retention"
EMBEDDED_SKIP = ("the embedded target is an OpenBao started for this run, with no history to retain: run retention "
                 "against the real vault's log (a URL target with retention_archive) or its archived files "
                 "(auditready verify)")
_SHOW_GAPS = 20
_DAY = itemgetter(slice(0, 10))


def narrowed(settings: "Settings") -> str:
    """What retention_days and retention_online_days below their defaults, retention_max_gap_days above its default
    and retention_as_of before the verification's day let pass, for the pass to say (red team rt75 F3: a one-day log
    passed, mapped to PCI DSS 10.5.1's twelve months); "" when none of them asks less."""
    from ..config import Settings, narrowing

    said = []
    for key in narrowing(settings, ID):
        value, where = getattr(settings, key), settings.set_in(key)
        if key == "retention_as_of":
            said.append(f'retention_as_of = "{value}" {where} (default: the verification\'s day): the set is judged by '
                        "what it held then, and the days since are not asked for")
            continue
        default = getattr(Settings, key)
        what = {"retention_days": f"a set spanning {value} day{'s' if value != 1 else ''} passes",
                "retention_online_days": (f"only the newest {value} day{'s' if value != 1 else ''} need be at hand"
                                          if value else "no day need be at hand"),
                "retention_max_gap_days": f"up to {value} days in a row without entries pass",
                "rotation_start": rotation_said(value)}.get(key, "asks less")
        said.append(f"{key} = {value} {where} (default {default}): {what}")
    if not said:
        return ""
    return (f"Narrowed by settings: {'; '.join(said)}. PCI DSS 10.5.1 asks for 12 months of history, the most "
            "recent three at hand: this pass is no evidence of them.")


def rotation_said(start: int) -> str:
    """What rotation_start above 1 lets pass, for a pass's note."""
    below = "the rotated file numbered 1" if start == 2 else f"rotated files numbered 1 to {start - 1}"
    return (f"{below} (logrotate's `start {start}` writes none) {'is' if start == 2 else 'are'} not asked for beside "
            "the log, so where the log's rotation numbers from 1, this pass is no evidence that its newest rotated "
            "files were kept")


def off_skip(settings: "Settings") -> str:
    """The skip of a run that requires no retention, naming where retention_days = 0 was set."""
    return f"retention_days = 0 {settings.set_in('retention_days')}: no retention period is required"


@dataclass(frozen=True)
class DaySummary:
    """What one file holds in time: its entries per UTC day ("YYYY-MM-DD"), its entries, those without a time."""

    days: Mapping[str, int]
    entries: int = 0
    untimed: int = 0
    fmt: str = ""  # the format it was read in: the history of one producer's log is judged apart from another's
    unreadable: int = 0  # lines that were no readable entry (required_fields names each)


@dataclass(frozen=True)
class Member:
    name: str
    online: bool  # named in the run (or the live log), not only in retention_archive
    summary: DaySummary


# Day counts of files read in this process, by what identifies their content (path, inode, size, mtime) and how
# they are read: a set of N files costs N reads, whichever file carries the verdict.
_READ: dict[tuple[object, ...], DaySummary] = {}
_READ_MAX = 4096


def _key(path: str, settings: "Settings") -> Optional[tuple[object, ...]]:
    from ..safeio import stat_key

    key = stat_key(path)  # (None for an object's URL: no local path is one)
    return None if key is None else (*key, settings.log_prefix, settings.field_map)


def _remember(key: Optional[tuple[object, ...]], summary: DaySummary) -> None:
    if key is None:
        return
    if len(_READ) >= _READ_MAX:
        _READ.clear()
    _READ[key] = summary


_EPOCH = datetime.date(1970, 1, 1)


def _day_of(ns: int) -> Optional[str]:
    """The UTC day of a time, "YYYY-MM-DD" (None past 9999-12-31, where a leap second could land)."""
    try:
        return (_EPOCH + datetime.timedelta(days=ns // 86_400_000_000_000)).isoformat()
    except OverflowError:
        return None


class Days(Visitor):
    """Counts the entries of one file per UTC day (a few hundred counters for a year, whatever the file's size)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.days: dict[str, int] = {}
        self.fed = 0
        self.fmt = ctx.settings.log_format
        self.untimed = 0
        self.unreadable = 0
        offline = ctx.ledger is None and ctx.log_path
        self.key = _key(ctx.log_path, ctx.settings) if offline and ctx.log_path else None

    def entry(self, rec: Record) -> None:
        self.fed += 1
        day = _day_of(rec.ts[0]) if rec.ts is not None else None
        if day is None:
            self.untimed += 1
            return
        self.days[day] = self.days.get(day, 0) + 1

    def bad_line(self, bad: BadLine) -> None:
        self.unreadable += 1

    def entries(self, batch: Entries) -> None:
        if not batch.utc_times():
            for rec in batch.records():
                self.entry(rec)
            return
        # every time reads "YYYY-MM-DDTHH:MM:SS.fZ" and names a real UTC second: its first ten characters are its day
        self.fed += len(batch)
        days = self.days
        times = batch.time
        if times:  # (C speed) the least and the greatest as text share their first ten characters: so do all
            lo = min(times)[:10]
            if lo == max(times)[:10]:
                days[lo] = days.get(lo, 0) + len(times)
                return
        for day, n in Counter(map(_DAY, times)).items():
            days[day] = days.get(day, 0) + n

    def summary(self) -> DaySummary:
        return DaySummary(dict(self.days), self.fed, self.untimed, self.fmt, self.unreadable)

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, Days)
        for day, n in later.days.items():
            self.days[day] = self.days.get(day, 0) + n
        self.fed += later.fed
        self.untimed += later.untimed
        self.unreadable += later.unreadable
        self.merge_excused(later)

    # Any: Finding, Skip and a Note (what the pass rests on), which the engine keeps as the pass's reason
    def finish(self) -> Iterator[Any]:
        mine = self.summary()
        _remember(self.key, mine)
        ctx = self.ctx
        if ctx.settings.retention_days == 0:
            yield Skip("", off_skip(ctx.settings))
            return
        said = narrowed(ctx.settings)
        if said:  # first: a report that shows a pass's notes cut short keeps it
            yield Note("", said)
        name = ctx.log_path or ctx.source
        log_set = tuple(ctx.log_set) or (name,)
        from ..engine.files import last_holding

        judge = last_holding(log_set)  # never a log just rotated and still empty: it would judge nothing
        # by name first: a set of 1,000 files would cost a million stats path by path
        if not same_file(judge, name) and (name in log_set or any(same_file(p, name) for p in log_set)):
            yield Note("", f"judged with the whole log set of {len(log_set)} files on {judge}")
            return
        members = [Member(name, True, mine)]
        members += [Member(p, True, read_days(p, ctx.settings)) for p in log_set if not same_file(p, name)]
        extra = archived(ctx.settings, [m.name for m in members])
        kept, unsealed = sealed_only(ctx.settings, name, [m.name for m in members], extra)
        yield from unsealed
        yield from judge_logs(ctx.settings, members + kept, live=False)


def read_days(path: str, settings: "Settings") -> DaySummary:
    """The day counts of ``path``, read through the engine (its format told from its content), or remembered from
    an earlier read of the same content in this process."""
    from ..engine.files import read_with

    key = _key(path, settings)
    found = _READ.get(key) if key is not None else None
    if found is not None:
        return found
    summary = read_with(Days, path, settings)[0].summary()
    _remember(key, summary)
    return summary


def archived(settings: "Settings", named: Sequence[str]) -> list[Member]:
    """The files of ``retention_archive`` not already among ``named``, with their day counts."""
    if not settings.retention_archive:
        return []
    from ..engine.files import expand

    try:
        paths = expand(list(settings.retention_archive))
    except AuditReadyError as exc:
        raise AuditReadyError(f"retention_archive: {exc.cause}", f"point retention_archive {settings.set_in()} at "
                              "the folder (or glob) that holds the archived files of the audit log") from None
    seen = list(named)
    out = []
    for p in paths:
        if any(same_file(p, q) for q in seen):
            continue
        seen.append(p)
        out.append(Member(p, False, read_days(p, settings)))
    return out


def sealed_only(settings: "Settings", log: str, named: Sequence[str], extra: Sequence[Member]
                ) -> tuple[list[Member], list[Finding]]:
    """Of the history found beyond the files the run judges (``extra``: retention_archive's files, a live run's
    rotated files beside its log), those that hold a segment of the digest chain that seals ``log``, when one
    does and a public key verifies it; a finding for each other one, whose days are not counted: nothing proves
    its entries are the vault's (tamper_evidence judges only the files of the run). All of ``extra`` when the set
    is not sealed (tamper_evidence says so) or its chain cannot be read (tamper_evidence says why)."""
    if not extra or not settings.public_key or not settings.require_tamper_evidence:
        return list(extra), []
    from pathlib import Path

    from ..seal.chain import load_public_key
    from ..seal.verify import find_chain, verify_log

    try:
        key = load_public_key(settings.public_key)
        found = find_chain(Path(log), key, log_set=list(named))
        if found is None:
            return list(extra), []
        report = verify_log(found[0], key, found[1], archive=settings.seal_archive,
                            log_set=[*named, *(m.name for m in extra)], need_log=False)
    except AuditReadyError:
        return list(extra), []
    kept: list[Member] = []
    unsealed: list[Member] = []
    for m in extra:
        (kept if report.members_for(m.name) or _sealed_alone(m.name, key) else unsealed).append(m)
    return kept, [Finding(ID, "", f"{m.name} holds no segment of the digest chain {found[1]} that seals the log, nor "
                          "has a chain of its own that verifies: nothing proves its entries are the vault's (a file "
                          "put among the history), so its days are not counted.", "keep only sealed files beside "
                          "the log and in retention_archive (history from before sealing began: seal each file once, "
                          "`auditready seal FILE --key KEY`); else restore the archive from a trusted copy and find "
                          "out who added it", where=m.name)
                  for m in unsealed]


def _sealed_alone(path: str, key: Any) -> bool:
    """Whether ``path`` has a chain of its own (``path.digests``) that the key verifies, the file whole in it."""
    from pathlib import Path

    from ..seal.chain import digests_path_for
    from ..seal.verify import verify_member

    if not digests_path_for(path).exists():
        return False
    try:
        report = verify_member(Path(path), key)
    except AuditReadyError:
        return False
    return report is not None and bool(report.members_for(path)) and not report.problems_for(path)


def _set_name(members: Sequence[Member], live: bool) -> str:
    if len(members) == 1:
        return f"the audit log {members[0].name}"
    names = [m.name for m in members]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"the log set of {len(names)} files ({shown})"


def _date(day: str) -> datetime.date:
    return datetime.date.fromisoformat(day)


def _span(first: datetime.date, last: datetime.date) -> str:
    n = (last - first).days + 1
    return f"{n} day{'s' if n != 1 else ''} ({first} to {last})" if n > 1 else f"1 day ({first})"


def _gaps(days: Sequence[datetime.date]) -> Iterator[tuple[datetime.date, datetime.date]]:
    """Runs of consecutive days without an entry between the sorted ``days``: (first missing, last missing)."""
    one = datetime.timedelta(days=1)
    for a, b in zip(days, days[1:]):
        if (b - a).days > 1:
            yield a + one, b - one


def judge_logs(settings: "Settings", members: Sequence[Member], live: bool) -> Iterator[Union[Finding, Note]]:
    """The verdict on each producer's log among ``members`` (``judge_set``): a Kubernetes or CloudTrail log in the
    vault's folder or prefix holds its own history, and its days never fill the vault's gaps. A member without
    entries (a log just rotated) belongs to each."""
    fmts = sorted({m.summary.fmt for m in members if m.summary.entries})
    if len(fmts) <= 1:
        yield from judge_set(settings, members, live)
        return
    for fmt in fmts:
        yield from judge_set(settings, [m for m in members if m.summary.fmt == fmt or not m.summary.entries], live)


def judge_set(settings: "Settings", members: Sequence[Member], live: bool) -> Iterator[Union[Finding, Note]]:
    """The verdict on the union of ``members``' days."""
    name = _set_name(members, live)
    counts: Counter[str] = Counter()
    online: set[str] = set()
    for m in members:
        counts.update(m.summary.days)
        if m.online:
            online.update(m.summary.days)
    keep_fix = ("archive the audit log: keep every rotated file for at least retention_days (beside the log with "
                "logrotate's rotate/maxage, or in an archive with object lock) and judge them together: "
                + (f"set retention_archive {settings.set_in()} to the archive's folder (or glob), so that the live run "
                   "reads it with the log and the rotated files beside it" if live else
                   f"name them all (`auditready verify audit.log*`) or set retention_archive {settings.set_in()} to "
                   "the archive's folder (or glob)"))
    # A day after this verification (past max_skew) is no day of history: no clock that was right wrote it
    # (timestamp_accuracy says so), and counted it would lengthen the span or fill a gap.
    today = (datetime.datetime.now(datetime.timezone.utc)
             + datetime.timedelta(seconds=settings.max_skew)).date()
    future = _drop_after(today, counts, online)
    if future:
        yield Note("", f"{len(future)} day(s) of {name} with entries after this verification ({future[0]}"
                   + (f" to {future[-1]}" if len(future) > 1 else "") + ") are not counted as history")
    # Judged as of retention_as_of (the day an archive was closed): what it held then. A day after it is no history
    # it had on that day (red team rt61 F2: a set that held 242 of 365 days on its as-of day passed, counting the
    # months after it, and so did an as-of day before its first entry).
    as_of = _date(settings.retention_as_of) if settings.retention_as_of else None
    after = _drop_after(as_of, counts, online) if as_of is not None else []
    if after:
        yield Note("", f"{len(after)} day(s) of {name} with entries after {as_of}, the day retention_as_of judges it "
                   f"as of ({after[0]}" + (f" to {after[-1]}" if len(after) > 1 else "") + "), are not counted: it "
                   "is judged by what it held then")
    if not counts:
        entries = sum(m.summary.entries for m in members)
        unreadable = sum(m.summary.unreadable for m in members)
        fmt = next((m.summary.fmt for m in members if m.summary.entries), settings.log_format)
        entry, log = FORMAT_TERMS.get(fmt, UNKNOWN_TERMS)
        why = (f"none of its {entries} entries carries a readable time" if entries else
               f"none of its {unreadable} line(s) is a readable {entry}" if unreadable else f"it holds no {entry}")
        if future or after:
            why = ("every day it holds is after this verification" if not after else
                   f"every day it holds is after {as_of}, the day retention_as_of judges it as of")
        fix = (f"point the check at {log}" if not after else
               "set retention_as_of to the day the archive was closed (on or after its newest entry), or leave it "
               "out to judge the set as of this verification")
        if entries and not (future or after):
            fix += ", and see required_fields and timestamp_precision for the entries without a readable time"
        elif unreadable and not after:
            fix += ", and see required_fields for the lines that could not be read"
        yield Finding(ID, "", f"No history can be measured in {name}: {why}.", fix)
        return
    days = sorted(_date(d) for d in counts)
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    need, need_online, max_gap = (settings.retention_days, settings.retention_online_days,
                                  settings.retention_max_gap_days)
    has_archive = any(not m.online for m in members)
    short = span < need
    if short:
        also = (f", nor the {need_online} most recent days retention_online_days asks to have at hand"
                if not has_archive and span < need_online else "")
        holds = "holds" if len(members) == 1 else "hold"
        what = (f"{name[0].upper()}{name[1:]} {holds} {_span(first, last)} of history: less than the {need} days "
                f"retention_days asks{also}.")
        if future:
            what += f" Its {len(future)} day(s) dated after this verification are not counted."
        if live:
            what += " A live vault's log file rarely holds more than a few days; its archive holds the rest."
        yield Finding(ID, "", what, keep_fix)
    if need_online and (has_archive or not short):
        window = last - datetime.timedelta(days=need_online - 1)
        at_hand = sorted(_date(d) for d in online)
        if not at_hand or at_hand[0] > window:
            held = f"begin on {at_hand[0]}" if at_hand else "hold no entry"
            yield Finding(ID, "", f"The most recent {need_online} days of {name} ({window} to {last}), which "
                          f"retention_online_days asks to have at hand, are not: the files outside retention_archive "
                          f"{held}.", "keep the newest retention_online_days of the log where it can be read at "
                          "once (the log's own folder, not only the archive), and name those files in the run")
        else:  # at hand from before the window on, yet days inside it may be only in the archive
            on_hand = set(at_hand)
            away = [d for d in days if d >= window and d not in on_hand]
            if away:
                listed = ", ".join(str(d) for d in away[:5]) + (f" and {len(away) - 5} more" if len(away) > 5 else "")
                yield Finding(ID, "", f"The most recent {need_online} days of {name} ({window} to {last}), which "
                              f"retention_online_days asks to have at hand, are not all: {len(away)} of their days "
                              f"with entries ({listed}) are only in retention_archive.",
                              "keep the newest retention_online_days of the log where it can be read at once (the "
                              "log's own folder, not only the archive), and name those files in the run")
    yield from missing_numbers([m.name for m in members], name, settings.rotation_start)
    yield from deleted_objects([m.name for m in members], name, as_of or today, need)
    shown = 0
    more, more_days = 0, 0
    for a, b in _gaps(days):
        n = (b - a).days + 1
        if n <= max_gap:
            continue
        if shown >= _SHOW_GAPS:
            more += 1
            more_days += n
            continue
        shown += 1
        when = f"on {a}" if a == b else f"from {a} to {b}"
        yield Finding(ID, "", f"No entry {when} ({n} day{'s' if n != 1 else ''}) in {name}: more than the "
                      f"{max_gap} day{'s' if max_gap != 1 else ''} without entries retention_max_gap_days allows.",
                      "find out why nothing was logged then (a stopped audit device, a rotated file lost or not named "
                      "in this run, a pipeline outage) and restore the missing file from its archive; if the vault is "
                      "idle on such days, raise retention_max_gap_days")
    if more:
        yield Finding(ID, "", f"{more} more runs of days without entries ({more_days} days in all) in {name}.",
                      "restore the missing files from their archive", entries=more)  # (each run, as one above)
    # The days after the newest entry up to the day the set is judged as of (the verification's, unless
    # retention_as_of names the day an archive was closed) are days without entries too: PCI DSS 10.5.1's "most
    # recent three months" are counted back from then, and a set whose newest files were left out or lost still
    # spans retention_days from its own newest day (red team rt55 F1). That day itself may be under way.
    as_of = as_of or today_utc()
    quiet = (as_of - last).days - 1
    if quiet > max_gap:
        a, b = last + datetime.timedelta(days=1), as_of - datetime.timedelta(days=1)
        when = f"on {a}" if a == b else f"from {a} to {b}"
        judged = (f"the day retention_as_of judges it as of ({as_of})" if settings.retention_as_of
                  else f"this verification ({as_of})")
        yield Finding(ID, "", f"No entry {when} ({quiet} day{'s' if quiet != 1 else ''}) in {name}: its newest "
                      f"entry is on {last}, and nothing after it up to {judged}; more than the {max_gap} "
                      f"day{'s' if max_gap != 1 else ''} without entries retention_max_gap_days allows.",
                      "name the newest files of the log in the run (the live file and those rotated since), and find "
                      "out why nothing was logged after that day (a stopped audit device, a pipeline outage); to judge "
                      f"an archive as it was on the day it was closed, set retention_as_of {settings.set_in()}")
    gap_text = f"no run of days without entries longer than {max_gap}"
    online_text = f", the newest {need_online} at hand" if need_online else ""
    if settings.retention_as_of:  # (its entries after that day are not counted: said above)
        aged = f"; judged as of {as_of} (retention_as_of)"
    else:
        age = (today - last).days
        aged = f"; its newest day is {age} days before this verification" if age > max(max_gap, 1) else ""
    yield Note("", f"{name} spans {_span(first, last)}{online_text}, {gap_text}{aged}")


def _drop_after(day: datetime.date, counts: "Counter[str]", online: set[str]) -> list[str]:
    """The days of ``counts`` after ``day``, in order, taken out of ``counts`` and ``online``: no history as of it."""
    later = sorted(d for d in counts if _date(d) > day)
    for d in later:
        del counts[d]
        online.discard(d)
    return later


def today_utc() -> datetime.date:
    """The verification's day, in UTC (the days of a log's entries are UTC days)."""
    return datetime.datetime.now(datetime.timezone.utc).date()


_NUMBERED = re.compile(r"(?P<base>.+?)\.(?P<n>\d{1,4})(?P<ext>\.(?:gz|bz2|xz|zst|lz4|lzma|lzo|Z))?\Z")


def missing_numbers(names: Sequence[str], set_name: str, start: int = 1) -> Iterator[Finding]:
    """Rotated files missing from a numbered set: logrotate (without dateext) renames LOG.N to LOG.N+1 on each
    rotation, so the numbers of one log's rotated files have no gap (``rotate``/``maxage`` remove the oldest, at the
    end). A number missing between two present ones is a rotated file deleted or left out of the run; so is LOG.1
    when LOG and a higher number are there (logrotate numbers from ``start``, 1 by default: rotation_start, from which
    the numbers below the lowest present are asked for; at 1 a missing LOG.0 is not told from ``start 1``). A
    number held in any folder of the set counts (logrotate's olddir, an archive), but where several folders each
    hold the log itself (one folder a host, each with its own audit.log*), each such folder's numbers are its own:
    another host's audit.log.1 does not stand in for this one's (red team rt45 F3).
    Days alone cannot show such a file missing when it held a day or less (``retention_max_gap_days``)."""
    split = [(folder, name.rpartition("/")[2], n)
             for n in names for folder, _, name in [n.replace("\\", "/").rpartition("/")]]
    live: dict[str, set[str]] = {}  # a log's name -> the folders that hold it (not rotated)
    for folder, name, _ in split:
        if _NUMBERED.match(name) is None:
            live.setdefault(name, set()).add(folder)
    groups: dict[tuple[str, str], dict[int, str]] = {}
    plain: set[tuple[str, str]] = set()
    for folder, name, n in split:
        m = _NUMBERED.match(name)
        base = name if m is None else m.group("base")
        # one set for the base, unless several folders hold the log itself: then each folder is its own set
        key = (folder if len(live.get(base, ())) > 1 else "", base)
        if m is None:
            plain.add(key)
            continue
        groups.setdefault(key, {}).setdefault(int(m.group("n")), n)
    for (home, base), held in sorted(groups.items()):
        low, high = min(held), max(held)
        gone = [k for k in range(low + 1, high) if k not in held]
        newest = (home, base) in plain and low > start
        if newest:
            gone = list(range(start, low)) + gone
        if not gone:
            continue
        folder = held[high].replace("\\", "/").rpartition("/")[0]
        where = f"{folder}/{base}" if folder else base
        shown = ", ".join(f"{where}.{k}" for k in gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        around = ", ".join(held[k] for k in sorted(held)[:3]) + (" ..." if len(held) > 3 else "")
        yield Finding(ID, "", f"{shown} {'is' if len(gone) == 1 else 'are'} not in {set_name}, though the numbered "
                      f"rotated files around {'it' if len(gone) == 1 else 'them'} are ({around}): logrotate numbers "
                      "rotated files without gaps, so a rotated file was deleted or left out of this run.",
                      "restore the missing rotated file from its archive (or name it in the run: `auditready verify "
                      "audit.log*`, or its archive folder in retention_archive), and find out who removed it; keep "
                      "rotated audit logs where they cannot be deleted (an archive with object lock)"
                      + (f"; if logrotate numbers from `start {low}` (it writes no lower number), set rotation_start "
                         f"= {low}" if newest and gone[-1] < low else ""), where=held[high])


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    if ctx.settings.retention_days == 0:
        yield Skip("", off_skip(ctx.settings))
        return
    if ctx.ledger is None:  # exported files: the visitor is what the engine runs; this is the same on a context
        yield from feed(Days(ctx), ctx).finish()
        return
    if ctx.settings.embedded:
        yield Skip("", EMBEDDED_SKIP)
        return
    said = narrowed(ctx.settings)
    if said:  # first: a report that shows a pass's notes cut short keeps it
        yield Note("", said)
    if not ctx.log_path and ctx.settings.retention_archive:  # (a log command's entries: the archive is the history)
        yield from judge_logs(ctx.settings, archived(ctx.settings, []), live=True)
        return
    if not ctx.log_path:
        yield Finding(ID, "", f"There is no local log file for {ctx.source or 'this run'}, so its history cannot be "
                      "measured.", f"set retention_archive {ctx.settings.set_in()} to the folder (or glob) of the "
                      "archived audit log, point --auditready-log at the audit log file, or judge the archived files "
                      "with `auditready verify`")
        return
    mine = read_days(ctx.log_path, ctx.settings)
    if ctx.current:
        ctx.tallies[ctx.current] = Tally(mine.entries)
    members = [Member(ctx.log_path, True, mine)]
    beside = []
    for p in rotated_beside(ctx.log_path):
        try:
            beside.append(Member(p, True, read_days(p, ctx.settings)))
        except AuditReadyError as exc:
            yield Finding(ID, "", f"{p}, named like a rotated file of the audit log, cannot be read as one: "
                          f"{exc.cause}.", "move files that are not rotated audit logs away from the log's folder",
                          where=p)
            return
    extra = beside + archived(ctx.settings, [m.name for m in members + beside])
    kept, unsealed = sealed_only(ctx.settings, ctx.log_path, [ctx.log_path], extra)
    yield from unsealed
    yield from judge_logs(ctx.settings, members + kept, live=True)


def deleted_objects(names: Sequence[str], set_name: str, day: datetime.date,
                    need: int) -> Iterator[Union[Finding, Note]]:
    """Log objects of the set deleted in a versioned S3 bucket (``objects.deleted_beside``: a delete marker is
    their newest version; red team rt81 F5): one written within ``need`` days of ``day`` is a rotated log removed
    from the history the policy asks for, which the run did not read. One written before is said in a note (a
    lifecycle rule's expiry deletes them so); so is a folder whose versions could not be listed."""
    from ..engine.objects import deleted_beside, is_url

    urls = [n for n in names if is_url(n)]
    if not urls:
        return
    gone, unasked = deleted_beside(urls)
    start = day - datetime.timedelta(days=need - 1)
    old = []
    for d in gone:
        written = d.written_at or d.deleted_at
        if written[:10] < start.isoformat():
            old.append(d)
            continue
        kept = (f"its last version ({d.version_id}, {d.size:,} bytes, written {d.written_at}) is still in the "
                "bucket" if d.written_at else "no version of it is left")
        yield Finding(ID, "", f"{d.url} was deleted on {d.deleted_at} (a delete marker is its newest version) and "
                      f"{kept}: a log object of {set_name} from within the {need} days retention_days asks for was "
                      "removed, and this run did not read it.",
                      "find out who deleted it (the bucket's DeleteObject events in CloudTrail); restore it by "
                      f"removing the delete marker (`aws s3api delete-object --version-id {d.marker_id}` on its key) "
                      "and judge it in the run; keep audit logs where they cannot be deleted (S3 Object Lock in "
                      "compliance mode)" if d.written_at else "find out who deleted it and its versions (the bucket's "
                      "DeleteObject events in CloudTrail), restore it from a backup and judge it in the run; keep "
                      "audit logs where they cannot be deleted (S3 Object Lock in compliance mode)", where=d.url)
    if old:
        shown = ", ".join(d.url for d in old[:3]) + (f" and {len(old) - 3} more" if len(old) > 3 else "")
        yield Note("", f"{len(old)} deleted log object(s) beside {set_name} ({shown}) were written before {start}, "
                   f"outside the {need} days retention_days asks for (as a lifecycle rule's expiry deletes them)")
    for why in unasked:
        yield Note("", f"Deleted log objects (delete markers in a versioned bucket) were not looked for in {why}")


def rotated_beside(log: str) -> list[str]:
    """The rotated files of ``log`` in its folder (audit.log.1, audit.log.2.gz, audit.log-20260101, ...): with the
    log, the history a live run has at hand. Digest chains, keys and hidden files are left out."""
    from pathlib import Path

    from ..auditlog.rotation import rotated_name

    p = Path(log)
    try:
        names = sorted(os.listdir(p.parent))
    except OSError:
        return []
    return [str(p.parent / n) for n in names
            if rotated_name(p, n) and not n.startswith(".") and not n.endswith((".pub", ".key", ".sig"))
            and (p.parent / n).is_file()]


CHECK = Check(
    id=ID,
    title="A year of history, the last months at hand, no missing days",
    requirement="the log set spans at least retention_days (default 365) with the last retention_online_days "
    "(default 90) at hand, and has no run of days without entries longer than retention_max_gap_days (default 1)",
    run=run,
    visitor=Days,
)
