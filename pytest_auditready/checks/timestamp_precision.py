"""timestamp_precision: RFC 3339 times with an explicit offset and sub-second precision.

Go's RFC3339Nano trims trailing zeros, so one short fraction proves little: a source is judged by all its
entries together, on the most significant digits any of them carries. In a Vault/OpenBao log (one Go clock writing up
to ``best`` digits), trimming leaves k digits or fewer one time in 10^(best - k) (a 9-digit clock: a whole second
once in a billion entries). Short times (fewer than ``timestamp_digits``, or than ``best`` less two: a millisecond time
in a nanosecond log passes timestamp_digits, yet a 9-digit clock leaves 3 digits once in a million entries) in
numbers chance explains with a probability under one in ten million (Poisson, ``RETIMED``) are entries a hop re-timed
or another writer wrote, and are reported at their lines. The bar is set by how often the check runs, not by one log:
a gate judges a live log on every merge. (One in a thousand cried wolf on correct logs: OpenBao's own 128-entry live
log holds three trimmed 6-digit times about once in 3,000 runs. One in ten thousand still did: two 5-digit times
among a live log's 114, a 6.5e-5 tail, failed this project's suite, which judges many live logs a run, about once
in ten runs.) Times cut to milliseconds or coarser, six digits or more below the producer's, are judged at one in a
hundred thousand (``RETIMED_CUT``): trimmed zeros leave them a millionth of the time or less, and a hop's cuts are
these. So in a live run's log (about 120 entries) six entries cut to microseconds are found, and fewer pass as
chance; one cut to whole seconds, and two cut to milliseconds, are found (in a log of under 10,000 entries:
one, and three). Other producers may mix clocks of several resolutions (a service's tenths beside another's
nanoseconds), so there only times with no sub-second part at all are counted, by their significant digits (a
fraction padded with zeros, ".000000", is none): a JSON-lines source whose times are whole seconds but one, or a
Kubernetes log re-timed to whole seconds and padded, fails. CloudTrail writes every eventTime in whole seconds, so
there a fraction that is not all zeros is a hop's re-timing, reported at its record, and never the source's
precision.

Where each entry names the writer whose clock stamped its time, each writer's entries are judged on their own (red
team rt102): a Cloud Logging export read as JSON lines, its time the LogEntry's ``timestamp``, mixes services
(Secret Manager's nanoseconds beside Bigtable's milliseconds), and a Cloud Audit Logs entry names its own in
protoPayload.serviceName (logName and resource.type name the log and the resource, not the clock). A service's
whole seconds are counted against its own best digits, by the same bars: a millisecond service leaves one in 1,000
entries by chance, so its few are no re-timing, while whole seconds among a nanosecond service's entries are. A
service whose times carry fewer digits than timestamp_digits is weighed as a clock of that many: cut to whole
seconds, three of its entries are chance once in a billion and are found at their lines; one or two cannot tell.
Entries that name no service are judged against the log's best, as before, and a log none of whose times carries
timestamp_digits fails as a whole. Past a thousand service names (``_SERVICES``), the log is judged as a whole.

What the producer is known to write bounds ``best`` from below, so that a log re-timed as a whole does not pass as
its own best (red team rt72, F2): Go's time.Now() counts in nanoseconds on Linux and the BSDs, in 100 ns on Windows
and in microseconds on macOS, so a Vault/OpenBao log is judged as writing at least six digits (trimming leaves three
or fewer once in a thousand entries: a log cut to milliseconds, ".24Z", fails; one cut to microseconds is a macOS
vault's as far as its times show); the Kubernetes API server writes MicroTime, six digits of a microsecond clock, so
a fraction ending in "000" comes once in a thousand requests (a log cut to milliseconds and padded, ".123000Z",
fails; a whole second, once in a million, is judged alone as before). Go writes at most nine digits: a longer
fraction in either log is no reading of theirs. A producer of unknown resolution is judged on its own best, as above.

MicroTime is no trimmed reading: its MarshalJSON writes ``t.UTC().Format(RFC3339Micro)``, RFC3339Micro being
"2006-01-02T15:04:05.000000Z07:00" (k8s.io/apimachinery pkg/apis/meta/v1/micro_time.go), so every
requestReceivedTimestamp and stageTimestamp the API server writes (audit.k8s.io v1, v1beta1, v1alpha1) has six
fractional digits and "Z". One event whose time has three, nine, or an offset such as "+01:00" was re-timed by a
hop, and is reported at its line on its own (red team rt91 F4), not counted: its digits are neither the log's
precision nor a chance to weigh. v1beta1's ``timestamp`` and ``metadata.creationTimestamp`` are metav1.Time
(whole seconds) and are not read here.
"""

from __future__ import annotations

import math
import operator
import re
from itertools import compress, repeat
from operator import lt
from typing import Any, Generic, Iterator, Optional, TypeVar, Union

from ..auditlog.formats import format_of, gcp_audit, producer_record
from ..auditlog.model import Entries, Record
from ..config import field_alternatives
from ..text import clip
from .access_policy import line_object
from .base import Check, CheckContext, Finding, Note, Skip, Visitor, feed

ID = "timestamp_precision"
_SHOW = 3
_SHORT = 7  # times of fewer fractional digits are counted by their digits (a 9-digit clock leaves 6 or fewer 1 in 1000)
_GO_FLOOR = 6  # digits Go's time.Now() carries on every platform (ns on Linux, 100 ns on Windows, µs on macOS)
_MICRO = 6  # the digits of the API server's MicroTime: a microsecond clock's, trailing zeros kept
_MAX_DIGITS = 9  # Go's RFC3339Nano writes nanoseconds at most
_MICRO_JUDGED = (0, _MICRO - 3)  # Kubernetes: the significant digits at or below which short times are counted
# The API server's MicroTime fields (audit.k8s.io Event: requestReceivedTimestamp, stageTimestamp), as MarshalJSON
# writes them: RFC3339Micro in UTC, "2006-01-02T15:04:05.000000Z" (apimachinery pkg/apis/meta/v1/micro_time.go).
_MICRO_FIELDS = frozenset({"requestReceivedTimestamp", "stageTimestamp"})
_MICRO_RUN = re.compile(r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\n)*", re.ASCII)  # such times, one a line
_MICRO_FIX = ("find the hop that re-renders the events' times (a shipper's or SIEM's time parsing and formatting, a "
              "conversion to local time or to milliseconds) and ship requestReceivedTimestamp and stageTimestamp as "
              "the API server wrote them (RFC 3339 in UTC with six fractional digits, e.g. "
              "2026-01-02T03:04:05.123456Z)")


_RECEIVED = "requestReceivedTimestamp"
T = TypeVar("T")


class _Sample(Generic[T]):
    """How many of a kind were seen (``n``), the first ``keep`` of them (``shown``), to name, and the one after them
    (``next``), where the roll-up of the rest points."""

    def __init__(self, keep: int = _SHOW) -> None:
        self.keep = keep
        self.items: list[T] = []  # (at most keep + 1)
        self.n = 0

    def add(self, item: T) -> None:
        self.n += 1
        if len(self.items) <= self.keep:
            self.items.append(item)

    def merge(self, later: "_Sample[T]") -> None:
        """``later``'s, seen after these."""
        self.items = (self.items + later.items)[: self.keep + 1]
        self.n += later.n

    @property
    def shown(self) -> list[T]:
        return self.items[: self.keep]

    @property
    def next(self) -> T:
        """The first of those past ``shown`` (only asked when ``more``)."""
        return self.items[self.keep]

    @property
    def more(self) -> int:
        """How many were seen past those shown."""
        return self.n - len(self.shown)


class _Clock:
    """The entries of one clock, where a log names each entry's (``Precision.clocks``): how many have a time, the
    most significant digits one carries, and the short ones by digits (a count and the first few, in file order)."""

    __slots__ = ("best", "good", "nshort", "short")

    def __init__(self) -> None:
        self.good = 0
        self.best = 0
        self.nshort: dict[int, int] = {}
        self.short: dict[int, list[Record]] = {}

    def add(self, digits: int, rec: Record) -> None:
        _add_short(self.nshort, self.short, digits, rec)

    def merge(self, later: "_Clock") -> None:
        """``later``'s, seen after these."""
        self.good += later.good
        self.best = max(self.best, later.best)
        _merge_short(self.nshort, self.short, later.nshort, later.short)


def _add_short(nshort: dict[int, int], short: dict[int, list[Record]], digits: int, rec: Record) -> None:
    """Count a short time of ``digits`` digits, and keep its entry among the first few of that length."""
    nshort[digits] = nshort.get(digits, 0) + 1
    shown = short.setdefault(digits, [])
    if len(shown) <= _SHOW:  # (the one after those named: where their roll-up points)
        shown.append(rec)


def _merge_short(nshort: dict[int, int], short: dict[int, list[Record]], later_n: dict[int, int],
                 later: dict[int, list[Record]]) -> None:
    """Add the short times counted after these (``later_n``, ``later``) to ``nshort`` and ``short``."""
    for k, n in later_n.items():
        nshort[k] = nshort.get(k, 0) + n
    for k, recs in later.items():
        short[k] = (short.get(k, []) + recs)[:_SHOW + 1]


_SERVICES = 1000  # distinct services judged apart; past them, the log is judged as a whole (Precision.overflow)
_SERVICE_KEY = b'"serviceName"'
_AUDIT_LOG = b'"type.googleapis.com/google.cloud.audit.AuditLog"'
_SERVICE_TEXT = re.compile(rb'"serviceName"[ \t]*:[ \t]*"([^"\\]{1,200})"')  # (no escape: else parsed)


def log_entry_keys(settings: Any) -> Optional[tuple[str, ...]]:
    """The keys from a JSON line to its Cloud Logging LogEntry, where field_map reads the time from that LogEntry's
    ``timestamp`` alone (its writer's clock: not receiveTimestamp, Cloud Logging's); None otherwise."""
    if format_of(settings).name != "jsonl":
        return None
    spec = dict(getattr(settings, "field_map", ()) or ()).get("time", "")
    paths = field_alternatives(spec) if spec else ()
    keys = tuple(paths[0].split(".")) if len(paths) == 1 else ()
    return keys[:-1] if keys and keys[-1] == "timestamp" else None


def service_of(raw: bytes, keys: tuple[str, ...]) -> str:
    """The protoPayload.serviceName of the Cloud Audit Logs entry at ``keys`` in one raw line: the service whose
    clock stamped its timestamp; "" for a line that holds no AuditLog, or one that names no service. A line of one
    AuditLog entry that names one service is read without parsing it (the common case: a second parse of every
    line costs a tenth of the run)."""
    if not keys and raw.count(_SERVICE_KEY) == 1 and raw.count(_AUDIT_LOG) == 1:
        found = _SERVICE_TEXT.search(raw)
        if found is not None:
            return found[1].decode("utf-8", "replace")
    doc = line_object(raw[:-1] if raw.endswith(b"\r") else raw)
    entry = producer_record(doc, keys) if doc is not None else None
    if entry is None or not gcp_audit(entry):
        return ""
    name = entry["protoPayload"].get("serviceName")
    return name[:200] if isinstance(name, str) else ""


class Precision(Visitor):
    # the block being fed and its lines that name their service: for its entries, in the process that read it
    stays = ("_block", "_named")

    def __init__(self, ctx: CheckContext) -> None:
        self.digits = ctx.settings.timestamp_digits
        self.fix = format_of(ctx.settings).precision_fix
        self.time_fix = format_of(ctx.settings).time_fix
        self.bad: _Sample[Record] = _Sample()  # entries whose time is not RFC 3339
        self.good = 0
        self.best = 0
        self.first = ""
        # entries whose time has fewer than ``digits`` digits, by the number of digits: a count and the first few
        self.short: dict[int, list[Record]] = {}
        self.nshort: dict[int, int] = {}
        # Vault and OpenBao write every time with one clock in Go's RFC3339Nano, whose only short fractions are
        # trimmed zeros; other producers mix sources of several resolutions (a service's microseconds beside
        # another's nanoseconds), so a short time there says nothing on its own.
        self.one_clock = format_of(ctx.settings).name == "vault"
        self.zero: _Sample[Record] = _Sample()  # Vault/OpenBao times whose fraction ends in a zero (``entry``)
        # The Kubernetes API server writes its times as MicroTime (apimachinery's RFC3339Micro layout, ".000000"):
        # six digits always, trailing zeros kept: an event at a whole millisecond is no coarser clock (its digits
        # written are its precision), but a fraction of zeros only is none (a log re-timed to whole seconds and
        # padded). Every producer but Vault/OpenBao has its short times counted by significant digits.
        self.padded = format_of(ctx.settings).name == "k8s"
        # CloudTrail writes eventTime in whole seconds ("2026-01-02T03:04:05Z"): a record whose time has a fraction
        # that is not all zeros was re-timed by a hop (``_fraction``; ".000", a re-rendering that kept the value, is
        # none), and its digits are not the trail's precision. Unless field_map reads the time from another field.
        self.whole = (format_of(ctx.settings).name == "cloudtrail"
                      and "time" not in dict(getattr(ctx.settings, "field_map", ()) or ()))
        self.fraction: _Sample[tuple[Record, int]] = _Sample()  # such records, with their significant digits
        # times of fewer digits are counted (``_short``): written by the one Go clock, else significant; none where
        # the producer writes whole seconds (judged against timestamp_digits as a whole, ``finish``)
        # (Kubernetes: a fraction whose last three digits are zeros, a millisecond, comes once in 1000 requests)
        self.counted = (max(self.digits, _SHORT) if self.one_clock else 0 if self.whole
                        else _MICRO - 2 if self.padded else min(self.digits, 1))
        # The digits the producer writes at least, whatever the log shows (module docstring): 0 where unknown.
        self.floor = _GO_FLOOR if self.one_clock else _MICRO if self.padded else 0
        # Kubernetes: each event's MicroTime fields are in RFC3339Micro's layout (module docstring), its time when
        # field_map reads it from one of them (not so v1beta1's "timestamp", metav1.Time), its stageTimestamp
        # (Record.written) always; the first few events with a time that is not, with what each shows (``_micro``)
        mapped = dict(getattr(ctx.settings, "field_map", ()) or ())
        self.micro_time = self.padded and _MICRO_FIELDS.issuperset(
            field_alternatives(mapped.get("time", "requestReceivedTimestamp")))
        self.micro: _Sample[tuple[Record, list[str]]] = _Sample()
        # Times of more than nine fractional digits, where Go wrote them (Vault/OpenBao, Kubernetes): the first few
        self.long: _Sample[Record] = _Sample()
        self.narrowed = narrowed(self.digits, self.floor, self.whole)  # said beside the pass
        # The API server writes each stage of a request (RequestReceived, ResponseStarted, ResponseComplete) with the
        # request's one requestReceivedTimestamp: a request received at a whole second is one chance, not one per
        # stage (``padded``: Kubernetes), and the API server gives each request an auditID of its own, so copies of
        # one event with other times are one chance too. The short times counted, by request id -> digits (a
        # bounded memory; past it, each counts).
        self.short_keys: dict[str, int] = {}
        # Cloud Audit Logs entries name the service whose clock stamped their LogEntry timestamp
        # (protoPayload.serviceName): where field_map reads the time from it (``log_entry_keys``), each service's
        # entries are also counted apart (``clocks``), and those that name none together (``rest``), to be judged
        # on their own clock (module docstring); past _SERVICES names, the log as a whole (``overflow``).
        self.entry_keys = log_entry_keys(ctx.settings)
        self.clocks: dict[str, _Clock] = {}
        self.rest = _Clock()
        self.overflow = False
        self._block: tuple[str, int, bytes] = ("", 0, b"")
        self._named: Optional[dict[int, str]] = None  # the block's lines (index) that name a service -> its name

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if self.entry_keys is not None:
            self._block, self._named = (file, first_line, data), None

    def _names(self, file: str) -> dict[int, str]:
        """The lines of the block being fed (``file``'s) that name their service: index in the block -> name."""
        block_file, _, data = self._block
        if self._named is None:
            self._named = {}
            if self.entry_keys is not None and _SERVICE_KEY in data:
                for i, raw in enumerate(data.split(b"\n")):
                    name = service_of(raw, self.entry_keys) if _SERVICE_KEY in raw else ""
                    if name:
                        self._named[i] = name
        return self._named if file == block_file else {}

    def _clock(self, name: str) -> Optional[_Clock]:
        """Service ``name``'s counts ("": those of the entries that name none); None past _SERVICES names."""
        if not name:
            return self.rest
        clock = self.clocks.get(name)
        if clock is None:
            if len(self.clocks) >= _SERVICES:
                self._overflowed()
                return None
            clock = self.clocks[name] = _Clock()
        return clock

    def _overflowed(self) -> None:
        self.overflow = True
        self.clocks, self.rest = {}, _Clock()

    def _by_service(self, batch: Entries, sigs: list[int]) -> None:
        """Count ``batch`` (its times' significant digits ``sigs``) by the service each entry names."""
        named = self._names(batch.file)
        if not named:  # (every entry of a log that names none: one pass)
            rest = self.rest
            rest.good += len(sigs)
            rest.best = max(rest.best, max(sigs, default=0))
            for i in compress(range(len(sigs)), map(lt, sigs, repeat(self.counted))):
                rest.add(sigs[i], batch.record(i))
            return
        first = self._block[1]
        for i, (line, digits) in enumerate(zip(batch.lines, sigs)):
            clock = self._clock(named.get(line - first, ""))
            if clock is None:
                return
            clock.good += 1
            clock.best = max(clock.best, digits)
            if digits < self.counted:
                clock.add(digits, batch.record(i))

    def entries(self, batch: Entries) -> None:
        if not batch.utc_times():
            for rec in batch.records():
                self.entry(rec)
            return
        # Every time parses (Entries.utc_times): their significant digits are those of the fraction.
        times = batch.time
        if self.whole:  # CloudTrail: every fraction is zeros, or the record was re-timed
            for i, t in enumerate(times):
                frac = t[20:] if t[19:20] == "." else ""  # (the digits before "Z" or an offset)
                digits = len(frac[:len(frac) - len(frac.lstrip("0123456789"))].rstrip("0"))
                if digits:
                    self.fraction.add((batch.record(i), digits))
                else:
                    self.good += 1
                    self.first = self.first or batch.where(i)
            return
        if self.padded and not self._micro_batch(batch):  # an event re-timed: judged one by one (``entry``)
            for rec in batch.records():
                self.entry(rec)
            return
        self.good += len(times)
        if not self.first and times:
            self.first = batch.where(0)
        if self.one_clock and "0Z" in map(_LAST2, times):
            for i, t in enumerate(times):
                if t.endswith("0Z") and t[19:20] == ".":
                    self.zero.add(batch.record(i))
        if not self.one_clock:  # significant digits, each time's once ("YYYY-MM-DDTHH:MM:SS." and "Z" around them)
            sigs = [len(t[20:-1].rstrip("0")) for t in times]
            if self.best < 9 and sigs:
                self.best = max(self.best, max((len(t) - 21 if s else 0) for t, s in zip(times, sigs))
                                if self.padded else max(sigs))
            for i in compress(range(len(sigs)), map(lt, sigs, repeat(self.counted))):
                self._short(sigs[i], batch.record(i))
            if self.entry_keys is not None and not self.overflow:
                self._by_service(batch, sigs)
            return
        if self.best < 9 and times:
            self.best = max(self.best, max(map(self._precision, times)))
        # a time shorter than 21 + digits has fewer digits (one C-speed pass; the entries are looked at one by one
        # only in a batch that holds such a time)
        if times and min(map(len, times)) < 21 + self.counted:
            for i in compress(range(len(times)), map(lt, map(len, times), repeat(21 + self.counted))):
                self._short(len(times[i]) - 21, batch.record(i))

    def _micro_batch(self, batch: Entries) -> bool:
        """Whether every MicroTime of ``batch`` (its times vouched for by ``utc_times``) is in RFC3339Micro's layout:
        one C-speed pass a column."""
        if self.micro_time and set(map(len, batch.time)) - {27}:  # ("YYYY-MM-DDTHH:MM:SS." six digits "Z")
            return False
        written = batch.written
        return not written or _MICRO_RUN.fullmatch("\n".join(written) + "\n") is not None

    def _off_micro(self, rec: Record) -> dict[str, str]:
        """What is not MicroTime's layout in ``rec``'s requestReceivedTimestamp (where ``micro_time``) and
        stageTimestamp, by field, as "<field> '<time>' has <what>"; {} when both are as the API server writes them."""
        out = {}
        for name, text, ts in ((_RECEIVED, rec.time if self.micro_time else "", rec.ts),
                               ("stageTimestamp", rec.written, rec.wts)):
            if not text or ts is None or _MICRO_RUN.fullmatch(text + "\n") is not None:
                continue  # (a time that is no RFC 3339 is reported as such: ``bad``, or the reader's bad line)
            digits = ts[1]
            offset = text[20 + digits:] if digits else text[19:]
            what = ([f"{digits:,} fractional digit{'' if digits == 1 else 's'}"] if digits != _MICRO else []) + (
                [f"the offset {clip(offset, 12)!r}"] if offset != "Z" else [])
            out[name] = f"{name} {clip(text, 40)!r} has {' and '.join(what) or 'a layout other than RFC3339Micro'}"
        return out

    def entry(self, rec: Record) -> None:
        ts = rec.ts
        if self.whole and ts is not None and ts[2]:
            # CloudTrail writes whole seconds (``whole``): a hop re-timed it
            self.fraction.add((rec, ts[2]))
            return
        off = self._off_micro(rec) if self.padded else {}
        if off:
            self.micro.add((rec, list(off.values())))
            if _RECEIVED in off and ts is not None:
                # re-timed: its digits are not the log's precision, nor a short time to count (module docstring)
                self.good += 1
                self.first = self.first or rec.where
                return
        if self.one_clock and ts is not None and rec.time.endswith("0Z") and rec.time[19:20] == ".":
            # Go's RFC3339Nano, which the vault writes, trims trailing zeros whatever its clock's resolution, so a
            # hop rewrote it (cut to milliseconds, or padded: red team rt48 F2, a whole file re-timed passed as its
            # own best precision)
            self.zero.add(rec)
        if ts is None:
            self.bad.add(rec)
        else:
            self.good += 1
            if self.floor and ts[1] > _MAX_DIGITS:  # (only such a time is not a batch's: Entries.utc_times)
                self.long.add(rec)
            precision = min((ts[1] if ts[2] else 0) if self.padded else ts[2], _MAX_DIGITS)
            if precision > self.best:
                self.best = precision
            # Vault/OpenBao: digits written (Go writes no trailing zero; a padded fraction is no re-timing); others:
            # significant
            short = ts[1] if self.one_clock else ts[2]
            if short < self.counted:
                self._short(short, rec)
            clock = (self._clock(self._names(rec.file).get(rec.line - self._block[1], ""))
                     if self.entry_keys is not None and not self.overflow else None)
            if clock is not None:
                clock.good += 1
                clock.best = max(clock.best, precision)
                if short < self.counted:
                    clock.add(short, rec)
        if not self.first:
            self.first = rec.where

    @staticmethod
    def _precision(t: str) -> int:
        """The significant fractional digits of a UTC time of ``utc_times`` (Go writes no trailing zero)."""
        return len(t[20:-1].rstrip("0"))

    def _short(self, digits: int, rec: Record) -> None:
        if self.padded and rec.request_id:
            key = rec.request_id
            if key in self.short_keys:
                return  # another stage of a request counted already
            if len(self.short_keys) < _KEYS:
                self.short_keys[key] = digits
        _add_short(self.nshort, self.short, digits, rec)

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, Precision)
        for key, digits in later.short_keys.items():  # a request whose stages two parts both counted: once
            if key in self.short_keys:
                later.nshort[digits] -= 1
                later.short[digits] = [r for r in later.short.get(digits, []) if r.request_id != key]
            elif len(self.short_keys) < _KEYS:
                self.short_keys[key] = digits
        _merge_short(self.nshort, self.short, later.nshort, later.short)
        self.bad.merge(later.bad)
        self.zero.merge(later.zero)
        self.fraction.merge(later.fraction)
        self.long.merge(later.long)
        self.micro.merge(later.micro)
        self.good += later.good
        self.best = max(self.best, later.best)
        self.first = self.first or later.first
        if self.overflow or later.overflow:
            self._overflowed()
        else:  # (a service first seen in ``later`` comes after those seen here, as in one pass)
            self.rest.merge(later.rest)
            for name, clock in later.clocks.items():
                if name in self.clocks:
                    self.clocks[name].merge(clock)
                else:
                    self.clocks[name] = clock
            if len(self.clocks) > _SERVICES:
                self._overflowed()
        self.merge_excused(later)

    def finish(self) -> Iterator[Any]:  # findings, a skip, a note (what a narrowed pass leaves out)
        # No entry at all: nothing here; the engine fails a check that judged nothing (judged_something).
        if self.narrowed:
            yield Note("", self.narrowed)
        for e in self.bad.shown:
            said = (f"The entry's time {clip(e.time, 40)!r} is not an RFC 3339 time with an explicit offset." if e.time
                    else "The entry has no time as text (its time field is missing, empty, or not a string such "
                         "as an epoch number): an RFC 3339 time with an explicit offset is required.")
            yield Finding(ID, "", said, self.time_fix, where=e.where, request_id=e.request_id)
        # past those shown, each kind's count as one finding that stands for them all (``entries``), at the first
        if self.bad.more:
            yield Finding(ID, "", f"{self.bad.more} more entries have times that are not RFC 3339 with an offset.",
                          "as above", where=self.bad.next.where, entries=self.bad.more)
        if self.good and self.best < self.digits:
            yield Finding(
                ID,
                "",
                f"Across {self.good} entries the times carry at most {self.best} significant fractional digit(s), "
                f"fewer than the {self.digits} required (timestamp_digits): sub-second order and correlation are lost.",
                self.fix,
                where=self.first,
            )
        elif self.clocks and self.good:
            # each service's entries against its own clock; those that name none against the log's best, as before
            # (``entry_keys``)
            for name, clock in self.clocks.items():
                if clock.nshort:
                    yield from self._retimed(clock.good, clock.best, clock.nshort, clock.short, name)
            if self.rest.nshort:
                yield from self._retimed(self.rest.good, self.best, self.rest.nshort, self.rest.short, "")
        elif self.nshort and self.good:
            yield from self._retimed(self.good, self.best, self.nshort, self.short)
        for e in self.zero.shown:
            yield Finding(ID, "", f"The entry's time {clip(e.time, 40)!r} ends its fraction in a zero: the vault "
                          "writes its times in Go's RFC3339Nano, which trims trailing zeros, so a hop rewrote this "
                          "time (cut it to fewer digits, or padded it).", self.fix, where=e.where,
                          request_id=e.request_id)
        if self.zero.more:
            yield Finding(ID, "", f"{self.zero.more} more entries have times whose fraction ends in a zero.",
                          self.fix, where=self.zero.next.where, entries=self.zero.more)
        for e in self.long.shown:
            assert e.ts is not None
            yield Finding(ID, "", f"The entry's time {clip(e.time, 40)!r} has {e.ts[1]:,} fractional digits: "
                          f"{'the API server' if self.padded else 'the vault'} writes its times with Go, at most nine "
                          "(nanoseconds), so a hop rewrote this time.", self.fix, where=e.where,
                          request_id=e.request_id)
        if self.long.more:
            yield Finding(ID, "", f"{self.long.more} more entries have times of more than nine fractional digits.",
                          self.fix, where=self.long.next.where, entries=self.long.more)
        for e, off in self.micro.shown:
            yield Finding(ID, "", f"The {e.type + ' ' if e.type else ''}event's {'; its '.join(off)}: the API server "
                          "writes both times as MicroTime, six fractional digits (trailing zeros kept) in UTC ('Z') "
                          "always, so a hop re-timed this event.", _MICRO_FIX, where=e.where, request_id=e.request_id)
        if self.micro.more:
            yield Finding(ID, "", f"{self.micro.more} more events have a requestReceivedTimestamp or "
                          "stageTimestamp that is not six fractional digits in UTC.", _MICRO_FIX,
                          where=self.micro.next[0].where, entries=self.micro.more)
        for e, n in self.fraction.shown:
            yield Finding(ID, "", f"The record's eventTime {clip(e.time, 40)!r} has {n} significant fractional "
                          "digit(s): CloudTrail writes eventTime in whole seconds, so a hop re-timed this record.",
                          self.time_fix, where=e.where, request_id=e.request_id)
        if self.fraction.more:
            yield Finding(ID, "", f"{self.fraction.more} more records have an eventTime with a fraction of a second "
                          "that is not zeros.", self.time_fix, where=self.fraction.next[0].where,
                          entries=self.fraction.more)

    def _retimed(self, good: int, seen: int, nshort: dict[int, int], short: dict[int, list[Record]],
                 service: Optional[str] = None) -> Iterator[Finding]:
        """The entries whose times are too short for trimmed zeros to explain (see the module's docstring), of
        ``good`` entries weighed against ``seen`` significant digits: the log's, or, where entries name the service
        that stamped them, ``service``'s own (those that name none, "", against the log's). The numbers of k digits
        or fewer are judged together (a few entries of each short length add up); the lengths named are those whose
        own number chance does not explain, so that a log with some re-timed entries does not have its correct
        trimmed times of a common length named with them (red team rt66: three untouched 6-digit OpenBao times were
        named as re-timed, the re-timed 3-digit ones counted among "120 more")."""
        # what the producer writes at least (module docstring), else the log's or the service's; a service whose
        # times carry fewer digits than timestamp_digits asks is weighed as a clock of that many (the log as a whole
        # is judged so before it comes here)
        best = max(seen, self.floor, self.digits)
        cut, count = -1, 0
        for k in range(max(self.digits, min(best - 2, self.counted)) if self.one_clock else self.counted):
            count += nshort.get(k, 0)
            # (Kubernetes: whole seconds, and the millisecond's three zeros, each length below them not alone)
            judged = k in _MICRO_JUDGED or not self.padded
            if count and judged and poisson_tail(count, good * 10.0 ** (k - best)) < _bar(k, best):
                cut = k
        if cut < 0:
            return
        # exactly k digits: the last best - k are zeros and the k-th is not (a whole second: all are zeros)
        own = [k for k in range(cut + 1) if nshort.get(k, 0) and poisson_tail(
            nshort[k], good * 10.0 ** (k - best) * (0.9 if k else 1.0)) < _bar(k, best)]
        lengths = own or list(range(cut + 1))  # (else only together are they too many: every one is named)
        shown = sorted(((r, k) for k in lengths for r in short.get(k, ())), key=lambda rk: rk[0].line)
        writes = (f"this source writes up to {best}" if best == seen else
                  f"the API server writes {best} (MicroTime, a microsecond clock's)" if self.padded else
                  f"the vault writes at least {best} on every platform Go supports")
        of = ("" if service is None else " that name no service in protoPayload.serviceName" if not service else
              f" of {clip(service, 60)!r} (protoPayload.serviceName)")
        for e, n in shown[:_SHOW]:
            said = "no sub-second part" if n == 0 else (f"{n} fractional digit(s)" if self.one_clock else
                                                        f"{n} significant fractional digit(s)")
            chance = (f"a time at a whole second comes about once in {10 ** best:,} requests" if self.padded and not n
                      else f"a fraction whose last {best - n} digits are zeros comes about once in "
                      f"{10 ** (best - n):,} requests" if self.padded
                      else f"trimmed trailing zeros leave so few about once in {10 ** (best - n):,} entries")
            head = f"The entry's time {clip(e.time, 40)!r} has {said} while"
            if not service:  # the log as a whole, or its entries that name no service
                text = (f"{head} {writes} (across {good} entries{of}): {chance}, so a hop re-timed this entry or "
                        "something else wrote it.")
            elif best == seen:  # a service's entries, against its own clock
                text = (f"{head} the {good} entries{of} carry up to {best} significant fractional digits: {chance}, "
                        "so a hop re-timed this entry or something else wrote it.")
            else:  # ... whose times carry fewer digits than asked: against a clock of that many
                text = (f"{head} the {good} entries{of} carry at most {seen} significant fractional digit(s), fewer "
                        f"than the {self.digits} required (timestamp_digits): a clock of {best} digits leaves so few "
                        f"about once in {10 ** (best - n):,} entries, so a hop re-timed these entries or their writer "
                        "stamps coarser times than required.")
            yield Finding(ID, "", text, self.fix, where=e.where, request_id=e.request_id)
        total = sum(nshort.get(k, 0) for k in lengths)
        if total > _SHOW:
            said = (f"{lengths[0]}" if len(lengths) == 1 else
                    f"{', '.join(str(k) for k in lengths[:-1])} or {lengths[-1]}" if own else f"{cut} or fewer")
            yield Finding(ID, "", f"{total - _SHOW} more entries{of} have times with {said} fractional digit(s).",
                          self.fix, where=shown[min(_SHOW, len(shown) - 1)][0].where, entries=total - _SHOW)


CHANCE = 1e-4  # below this probability, what a log shows is no chance (timestamp_accuracy's alike readings)
RETIMED = 1e-7  # below this, short times are no trimmed zeros (module docstring: the bar is per run of a gate)
RETIMED_CUT = 1e-5  # the bar for times cut to milliseconds or coarser (``_bar``)


def _bar(k: int, best: int) -> float:
    """The bar for times of ``k`` digits or fewer where the producer writes ``best``: ``RETIMED_CUT`` for six
    digits fewer or more (a nanosecond log's milliseconds, whole seconds), a hop's usual cuts, whose chance is a
    millionth or less an entry, so that even one whole second in a log of under 10,000 entries is found (red team
    rt84 F4); ``RETIMED`` nearer the producer's digits, where trimmed zeros are common."""
    return RETIMED_CUT if k <= best - 6 else RETIMED


_LAST2 = operator.itemgetter(slice(-2, None))  # a time's last two characters ("0Z": its fraction ends in a zero)
_KEYS = 100_000  # short times remembered by request (Precision.short_keys)


def poisson_tail(count: int, expected: float) -> float:
    """An upper bound of P(X >= count) for X ~ Poisson(expected): the first term over one minus the ratio of the
    next, which bounds the geometric series of the rest."""
    if expected <= 0:
        return 0.0
    if expected >= count:
        return 1.0
    first = math.exp(-expected + count * math.log(expected) - math.lgamma(count + 1))
    return min(1.0, first / (1 - expected / (count + 1)))


def narrowed(digits: int, floor: int, whole: bool) -> str:
    """What a timestamp_digits below the default lets pass, for the pass to say (red team rt74 F3); "" at or above
    the default, and where the producer's own resolution (``floor``: Vault/OpenBao, Kubernetes) is judged whatever
    timestamp_digits says: a log of theirs with fewer digits than the default fails all the same (``_retimed``)."""
    from ..config import Settings

    default = Settings.timestamp_digits
    if digits >= default or floor >= default:
        return ""
    what = ("times in whole seconds pass" + (" (CloudTrail writes no other)" if whole else "") if digits == 0 else
            f"times of {digits} fractional digit{'s' if digits > 1 else ''} pass")  # (1 or 2)
    return (f"Narrowed by settings: {digits} fractional digit{'' if digits == 1 else 's'} asked (timestamp_digits = "
            f"{digits}; default {default}): {what}; this pass is no evidence of the {default} digits the default "
            "asks for.")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    yield from feed(Precision(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="Timestamps are precise",
    requirement="RFC 3339 time with an explicit offset and sub-second precision (timestamp_digits, default 3)",
    run=run,
    visitor=Precision,
)
