"""timestamp_accuracy: entry times agree with the client's clock; responses follow requests; file order holds.

Offline, the two readings of one request are also held apart (red team rt72, F1): Vault/OpenBao reads Go's time.Now()
for the request entry and again for its response entry (OpenBao audit/format.go; Vault's audit event), and between the
two it writes the request entry to every device and handles the request; the Kubernetes API server reads its clock
for each stage past RequestReceived (stageTimestamp) after the request's requestReceivedTimestamp (k8s.io/apiserver
processAuditEvent; at RequestReceived both are one reading by design, and are not judged). That takes tens of
microseconds at the least, while a clock that shows nanoseconds (a Vault/OpenBao log whose times carry 8 or 9 digits:
Linux and the BSDs; Windows counts in 100 ns and ticks in up to 15.6 ms, macOS in microseconds, so their logs are not
judged) or MicroTime's microseconds ticks within ``_TICK_NS``. So two readings of one request read alike only when
they were taken within that tick: if the time taken has no more weight near zero than up to ``_APART_NS``, at most
``_TICK_NS / _APART_NS`` of the requests whose two readings lie within ``_APART_NS`` read alike. More than that bound
explains with a probability under one in ten thousand (Poisson) is a log whose times a hop replaced (one value for the
whole log or a stretch of it, each response given its request's time). Readings of different requests are not held
apart: how often they meet depends on the request rate and the clock's tick, which a log that lists many requests in
one tick (a loaded Windows vault) does not show.
"""

from __future__ import annotations

import re
import time
from itertools import islice
from operator import itemgetter, le
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Union

from ..auditlog.formats import format_of
from ..auditlog.model import Entries, Record, parse_time
from ..config import unordered
from ..text import clip
from .base import Check, CheckContext, Finding, Note, PlannedAction, Skip, Visitor, every_action, feed, iso_ns
from .timestamp_precision import CHANCE, poisson_tail

if TYPE_CHECKING:
    from ..config import Settings

ID = "timestamp_accuracy"
_CLOCK_FIX = (
    "synchronise the clock of the host that writes the log (the vault's, the API server's; NTP/chrony) and make "
    "sure no pipeline stage rewrites its times; "
    "raise max_skew only for a known, documented offset"
)


def subjects(actions: Sequence[PlannedAction]) -> list[str]:
    return ["", *every_action(actions)]


_NO_Z = itemgetter(slice(None, -1))
# A CloudTrail log file's name: AccountID_CloudTrail_RegionName_YYYYMMDDTHHmmZ_UniqueString.json.gz (AWS CloudTrail
# user guide, "CloudTrail log file name format"), the delivery time as its groups
_INSIGHT = "AwsCloudTrailInsight"  # an Insights event's time is its anomaly's window, not its delivery's
_DELIVERED = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_")
_LOWS = 10_000
_SHOW = 3
_OPEN = 65_536  # requests awaiting their response, at most (a log that drops more responses: see FileOrder._pair)
# No audit log of these producers can be older than this: CloudTrail began in November 2013, Vault in 2015, the
# Kubernetes audit log in 2017. A time before it is a clock reset (to the 1970 epoch, a dead RTC) or not the
# producer's.
FLOOR = "2013-01-01T00:00:00"
FLOOR_NS = 1_356_998_400 * 10**9


# Two readings of one request (module docstring): the coarsest tick of a clock whose times show nanoseconds or
# microseconds, and how far apart the readings judged lie at most (the time taken between them is longer: OpenBao's
# shortest request-to-response gap in the real logs here is 33 µs).
_TICK_NS = 1_000
_APART_NS = 10_000
# The significant digits a log's times must show for its clock's tick to be known (its most: Vault/OpenBao's 8 or 9,
# nanoseconds; Kubernetes' 6, MicroTime's microseconds), and those a reading judged shows at least (fewer: a time a
# hop cut short or padded, which timestamp_precision names).
_UNITS = {"vault": 8, "k8s": 6}
_FINE = {"vault": 7, "k8s": 4}
_REPLACED_FIX = ("find the stage that replaces the producer's times (a shipper's time key, an ingest or batch time) "
                 "and make it keep the producer's own time fields")

# A Kubernetes webhook receiver writes the API server's batches as they arrive; the backend sends them concurrently
# and retries one that failed after a backoff (k8s.io/apiserver plugin/pkg/audit/buffered), so a batch may land after
# later ones (red team rt91 F6).
_WEBHOOK_RULE = ("an event of a webhook's batch delivered after later batches, by no more than k8s_webhook_reorder "
                 "(the API server sends its webhook batches concurrently and retries a failed one)")
_NO_TIME = ("an entry with no readable time (RFC 3339 with an offset; timestamp_precision names it) has no place in "
            "time to judge")


class FileOrder(Visitor):
    """A time may not go back by more than max_skew from the latest time seen before it (the first such entry
    is reported)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.skew = ctx.settings.max_skew_ns
        self.skew_s = ctx.settings.max_skew
        self.latest = -1
        self.latest_text = ""
        self.latest_line = 0
        # The entries that go back in time, in file order: the first _SHOW as findings, and how many in all (red team
        # rt86 F1: only the first was named, the rest counted as judged); and the line whose time each went back from
        self.found: list[Finding] = []
        self.nfound = 0
        self.next_back = ""  # where the first of those past _SHOW is (file:line): their roll-up points there
        self.back_from = 0  # the line every one went back from, while they share it; -1 once they do not
        # CloudTrail files hold records in no particular order (AWS documents it): their order proves nothing.
        self.unordered = format_of(ctx.settings).order_skip
        # Nor do some exports' files (a CloudWatch Logs export, an Elasticsearch search's hits: config.unordered).
        self.unordered = self.unordered or unordered(ctx.settings)
        # Entries whose time is not when they were written (a Kubernetes watch's end): excused, by the format's rule.
        self.exempt, self.exempt_rule = format_of(ctx.settings).order_exempt, format_of(ctx.settings).order_exempt_rule
        # Entries written when the request ends with the time it began (a Kubernetes event past RequestReceived):
        # they may be that much earlier still, by the format's rule (the format's entries are judged one by one).
        # (the format's own bound, the API server's default request timeout, is the cluster's where it is set:
        # k8s_request_timeout; red team rt33, F1: a cluster run with --request-timeout=300s failed on a slow list)
        fmt = format_of(ctx.settings)
        self.latency = int(ctx.settings.k8s_request_timeout * 10**9) if fmt.order_latency_ns else 0
        self.latency_rule = fmt.order_latency_rule
        # A Kubernetes webhook receiver's file: a batch may land after later ones, by up to k8s_webhook_reorder (red
        # team rt91 F6); 0 for the log backend's file, which the API server writes in order.
        self.reorder = int(ctx.settings.k8s_webhook_reorder * 10**9) if fmt.order_latency_ns else 0
        # said beside the pass: what a tolerance set above its default lets pass (red team rt74 F3)
        self.narrowed = narrowed(ctx.settings, ctx.ledger is not None, bool(self.latency))
        # The latest time an entry was written at (``Record.written``: a Kubernetes event's stageTimestamp), of the
        # entries judged: an entry the latency rule would excuse is not, when it was written out of its place too.
        self.latest_written = -1
        self.latest_written_text, self.latest_written_line = "", 0
        # A later range of a file (``later_range``): the entries each earlier than all before them in the range, as
        # (ns, time, where, request id), up to the first finding: the only ones a later start could make go back.
        self.lows: Optional[list[tuple[int, str, str, str]]] = None
        self.lows_over = False  # more of them than _LOWS: not kept
        # Times no clock can have written: after this verification began (plus max_skew), or before FLOOR. The first
        # such entry of each kind, as (time, where, request id).
        self.now_ns = time.time_ns() + self.skew
        self.now_key = _NO_Z(iso_ns(self.now_ns))
        self.future: Optional[tuple[str, str, str]] = None
        self.ancient: Optional[tuple[str, str, str]] = None
        # CloudTrail: a log file's name says when it was delivered (AccountID_CloudTrail_Region_YYYYMMDDTHHmmZ_...;
        # AWS: "a log file delivered at a specific time can contain records written at any point before that
        # time"): a record after it (plus the name's minute and max_skew) was re-timed or moved from a later file,
        # whatever order the file keeps (red team rt33, F5). (file, limit as sortable text, its ns) of the file read;
        # the first such record, and the file's delivery time as named.
        self.cloudtrail = format_of(ctx.settings).name == "cloudtrail"
        self.delivery: tuple[str, str, int, str] = ("", "", -1, "")
        self.after_delivery: Optional[tuple[str, str, str, str]] = None
        # FLOOR is a fact of the producers this tool knows; a generic JSON-lines log may be of anything, of any age
        self.floor = format_of(ctx.settings).name in ("vault", "k8s", "cloudtrail")
        # Response not before request, offline (a live run holds each action's pair to each other in ``run``): the
        # vault writes a request's response entry after its request entry, with a later time, so a response entry
        # earlier than its request's (by request id) was re-timed, or the clock stepped back between the two. A
        # request is looked for within ``completeness_window`` of the latest time before its response.
        self.pairing = ctx.ledger is None and format_of(ctx.settings).name == "vault"
        self.window = int(ctx.settings.completeness_window * 10**9)
        self.open: dict[str, int] = {}  # request id -> the time (ns) of a request entry awaiting its response
        self.plast = -1  # the latest time of the entries paired so far
        self.open_over = False  # more requests awaited their response than _OPEN: pairing stopped there
        self.prune_at = _OPEN // 2  # how many awaited requests make the old ones go
        # The first responses written before their request, as (line, where, request id, what was found), and how
        # many in all.
        self.early: list[tuple[int, str, str, str]] = []
        self.nearly = 0
        # A later range (``later_range``): its responses whose request was not in it, for the range before to pair,
        # as (request id, ns, time, line, where, the latest time before it in this range); ``orphans_over``: too many.
        self.orphans: Optional[list[tuple[str, int, str, int, str, int]]] = None
        self.orphans_over = False
        # Kubernetes: an event's stageTimestamp is not before its requestReceivedTimestamp (the API server stamps
        # both, the stage when it reaches it), by any amount: held like a response to its request (``early``).
        self.staged = format_of(ctx.settings).name == "k8s"
        # The two readings of one request (module docstring): how many requests had theirs within _APART_NS, how many
        # read alike and the first few of those (line, where, request id, time); the most significant digits the log's
        # times show (of nine at most), which says whether its clock's tick is known (_UNITS).
        self.close = 0
        self.alike: list[tuple[int, str, str, str]] = []
        self.nalike = 0
        self.units = 0

    def entries(self, batch: Entries) -> None:
        if self.pairing and batch:
            self._pair(batch)
        if self.staged and batch.written is not None:
            self._stages(batch)
        # Every time parses and their text (without "Z") sorts as they do (``utc_times``): compared as text below.
        keys = list(map(_NO_Z, batch.time)) if batch and batch.utc_times() else None
        if keys is not None:
            self._plausible(batch, keys)
        elif self.unordered:  # times ``utc_times`` does not compare as text (CloudTrail's whole seconds): one by one
            for rec in batch.records():
                self._order(rec)
        if not batch or self.unordered:
            return
        times = batch.time
        if self.exempt is not None or self.latency or self.found:  # (past a finding, each entry is named or counted)
            for rec in batch.records():
                self._order(rec)
            return
        if keys is not None:
            # A batch in order, whose first time is not more than max_skew before the latest so far, cannot go back
            # by more than max_skew.
            first = parse_time(times[0])
            if first is not None and first[0] >= self.latest - self.skew and all(map(le, keys, islice(keys, 1, None))):
                if self.lows is not None and (not self.lows or first[0] < self.lows[-1][0]):
                    self._low(first[0], times[0], batch.where(0), batch.request_id[0])
                last = parse_time(times[-1])
                if last is not None and last[0] > self.latest:
                    j = len(times) - 1  # the first entry with the batch's latest time
                    while j > 0 and (parse_time(times[j - 1]) or (0,))[0] == last[0]:
                        j -= 1
                    self.latest, self.latest_text, self.latest_line = last[0], times[j], batch.lines[j]
                return
            # Out of order (concurrent requests): the same walk as ``entry``, on each time's ns alone.
            latest, at = self.latest, -1
            track = self.lows is not None
            low: float = self.lows[-1][0] if self.lows else float("inf")
            for i, (t, ns) in enumerate(zip(times, batch.times_ns())):
                if ns > latest:
                    latest, at = ns, i
                elif ns < latest - self.skew:
                    if at >= 0:
                        self.latest, self.latest_text, self.latest_line = latest, times[at], batch.lines[at]
                    for j in range(i, len(times)):  # the finding, as entry words it, and the entries after it
                        self._order(batch.record(j))
                    return
                if track and ns < low:
                    low = ns
                    self._low(ns, t, batch.where(i), batch.request_id[i])
            if at >= 0:
                self.latest, self.latest_text, self.latest_line = latest, times[at], batch.lines[at]
            return
        for rec in batch.records():
            self._order(rec)

    def _pair(self, batch: Entries) -> None:
        """Each response entry of the batch held to its request entry (see ``pairing``): ``_pair_one`` on each
        entry, written out for the common case (a request awaits; its response is in time)."""
        if self.open_over:
            return
        nss: Sequence[Optional[int]]
        if batch.utc_times():
            nss = batch.times_ns()
            if self.units < _UNITS["vault"] and batch:  # (significant: "YYYY-MM-DDTHH:MM:SS." and "Z" off)
                self.units = max(self.units, max(len(t[20:-1].rstrip("0")) for t in batch.time))
        else:
            parsed = list(map(parse_time, batch.time))
            nss = [None if t is None else t[0] for t in parsed]
            self.units = max([self.units, *(t[2] for t in parsed if t is not None and t[1] <= 9)])
        opened, latest, window, prune_at = self.open, self.plast, self.window, self.prune_at
        for i, (kind, rid, ns) in enumerate(zip(batch.type, batch.request_id, nss)):
            if ns is None:
                continue
            if not rid or (kind != "request" and kind != "response"):
                pass
            elif kind == "request" and len(opened) < prune_at - 1:  # no pruning after it
                opened[rid] = ns
            elif kind == "response" and (req := opened.get(rid)) is not None and latest - window <= req <= ns:
                del opened[rid]
                if ns - req <= _APART_NS:
                    self._close(batch.lines[i], batch.where(i), rid, batch.time[i], ns - req)
            else:  # anything else, as one entry
                self.plast = latest
                self._pair_one(kind, rid, ns, batch.record(i))
                if self.open_over:
                    return
                opened, prune_at = self.open, self.prune_at
            if ns > latest:
                latest = ns
        self.plast = latest

    def _pair_one(self, kind: str, rid: str, ns: int, rec: Record) -> None:
        """One entry at ``ns``: a request awaits its response; a response is held to the request it answers, if that
        is within ``window`` of the latest time before it."""
        if rec.ts is not None and rec.ts[1] <= 9:
            self.units = max(self.units, rec.ts[2])
        if rid and kind == "request":
            self.open[rid] = ns
            if len(self.open) >= self.prune_at:  # those too old to be paired again go (``plast`` only grows)
                self.open = {k: v for k, v in self.open.items() if v >= self.plast - self.window}
                self.prune_at = max(_OPEN // 2, 2 * len(self.open))
                if len(self.open) > _OPEN:
                    self.open_over, self.open = True, {}
        elif rid and kind == "response":
            req = self.open.pop(rid, None)
            if req is not None and req >= self.plast - self.window:
                if ns < req:
                    self._early(rec.line, rec.where, rid, _before(rec.time, iso_ns(req)))
                elif ns - req <= _APART_NS:
                    self._close(rec.line, rec.where, rid, rec.time, ns - req)
            elif req is None and self.orphans is not None:
                if len(self.orphans) >= _LOWS:
                    self.orphans_over = True
                else:
                    self.orphans.append((rid, ns, rec.time, rec.line, rec.where, self.plast))
        if ns > self.plast:
            self.plast = ns

    def _close(self, line: int, where: str, rid: str, time: str, gap: int) -> None:
        """Two readings of one request ``gap`` ns apart (at most _APART_NS), the later at ``time``: counted where the
        reading shows the clock's tick (``_FINE``: not a time a hop cut short, which timestamp_precision names)."""
        ts = parse_time(time)
        if ts is None or ts[2] < _FINE["k8s" if self.staged else "vault"]:
            return
        self.close += 1
        if gap == 0:
            self.nalike += 1
            # (the first by line, also when ranges merge; and the one after those named, where their roll-up points)
            if len(self.alike) <= _SHOW or line < self.alike[-1][0]:
                self.alike = sorted([*self.alike, (line, where, rid, time)])[:_SHOW + 1]

    def _early(self, line: int, where: str, rid: str, said: str) -> None:
        self.nearly += 1
        if len(self.early) <= _SHOW:  # (and the one after those named, where their roll-up points)
            self.early.append((line, where, rid, said))

    def _delivered(self, file: str) -> tuple[str, str, int, str]:
        """``self.delivery`` for ``file``: its limit, when its name is a CloudTrail log file's ("" otherwise)."""
        if self.delivery[0] != file:
            m = _DELIVERED.search(file.rsplit("/", 1)[-1])
            at = parse_time(f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:00Z") if m else None
            limit = at[0] + 60 * 10**9 + self.skew if at is not None else -1
            named = f"{m.group(1)}{m.group(2)}{m.group(3)}T{m.group(4)}{m.group(5)}Z" if m else ""
            self.delivery = (file, _NO_Z(iso_ns(limit)) if limit >= 0 else "", limit, named)
        return self.delivery

    def _after_delivery(self, time: str, where: str, request_id: str) -> None:
        self.after_delivery = (time, where, request_id, self.delivery[3])

    def _plausible(self, batch: Entries, keys: list[str]) -> None:
        """The first time of the batch after now or before FLOOR, if any (``keys``: its times as sortable text)."""
        if self.future is None and max(keys) > self.now_key:
            i = next(i for i, k in enumerate(keys) if k > self.now_key)
            self.future = (batch.time[i], batch.where(i), batch.request_id[i])
        if self.cloudtrail and self.after_delivery is None:
            limit = self._delivered(batch.file)[1]
            if limit and max(keys) > limit:
                i = next((i for i, (k, t) in enumerate(zip(keys, batch.type)) if k > limit and t != _INSIGHT), -1)
                if i >= 0:
                    self._after_delivery(batch.time[i], batch.where(i), batch.request_id[i])
        if self.floor and self.ancient is None and min(keys) < FLOOR:
            i = next(i for i, k in enumerate(keys) if k < FLOOR)
            self.ancient = (batch.time[i], batch.where(i), batch.request_id[i])

    def entry(self, rec: Record) -> None:
        if self.pairing and rec.ts is not None and not self.open_over:
            self._pair_one(rec.type, rec.request_id, rec.ts[0], rec)
        if self.staged and rec.written:
            if rec.ts is not None and rec.ts[1] <= 9:
                self.units = max(self.units, rec.ts[2])
            self._stage(rec)
        self._order(rec)

    def _stages(self, batch: Entries) -> None:
        """``_stage`` on each event of the batch whose stageTimestamp may be before its requestReceivedTimestamp, or
        within _APART_NS after it: times of one width in UTC compare as text (the API server writes both with 6
        digits), others parsed."""
        assert batch.written is not None
        if self.units < _UNITS["k8s"] and batch.utc_times():  # (significant: "YYYY-MM-DDTHH:MM:SS." and "Z" off)
            self.units = max(self.units, max(len(t[20:-1].rstrip("0")) for t in batch.time))
        types = batch.type
        for i, (t, w) in enumerate(zip(batch.time, batch.written)):
            if not w:
                continue
            # (within _APART_NS of each other, two MicroTimes share their millisecond but across its end: left out)
            if (w < t if len(w) == len(t) and w[-1:] == t[-1:] == "Z" else w != t) or (
                    w[:23] == t[:23] and types[i] != "RequestReceived"):
                self._stage(batch.record(i))

    def _stage(self, rec: Record) -> None:
        """An event whose stageTimestamp is earlier than its requestReceivedTimestamp (``early``), or is a reading of
        its own within _APART_NS after it (past RequestReceived, where both are one reading: ``_close``)."""
        if (rec.wts is not None and rec.ts is not None and rec.type != "RequestReceived"
                and 0 <= rec.wts[0] - rec.ts[0] <= _APART_NS):
            if rec.ts[1] <= 9:  # (a batch not in UTC has its digits counted here)
                self.units = max(self.units, rec.ts[2])
            self._close(rec.line, rec.where, rec.request_id, rec.time, rec.wts[0] - rec.ts[0])
        if rec.wts is not None and rec.ts is not None and rec.wts[0] < rec.ts[0]:
            self._early(rec.line, rec.where, rec.request_id,
                        f"The event's stageTimestamp {clip(rec.written, 40)} is earlier than its "
                        f"requestReceivedTimestamp ({clip(rec.time, 40)}): the API server stamps a stage when the "
                        "request reaches it, after it received the request, so the event was re-timed or the clock "
                        "stepped back between them.")

    def _order(self, rec: Record) -> None:
        """File order, plausibility: ``entry`` without the pairing (which ``entries`` did for the whole batch)."""
        ts = rec.ts
        if ts is None:  # nothing here is judged of it: a log none of whose times is read judged nothing
            self.excuse(_NO_TIME)
            return
        if ((ts[0] > self.now_ns and self.future is None)
                or (self.floor and ts[0] < FLOOR_NS and self.ancient is None)):
            if ts[0] > self.now_ns:
                self.future = (rec.time, rec.where, rec.request_id)
            else:
                self.ancient = (rec.time, rec.where, rec.request_id)
        if self.cloudtrail and self.after_delivery is None and rec.type != _INSIGHT:
            limit_ns = self._delivered(rec.file)[2]
            if 0 <= limit_ns < ts[0]:
                self._after_delivery(rec.time, rec.where, rec.request_id)
        if self.unordered:
            return
        wts = rec.wts  # when the entry was written, where the format says so (a Kubernetes event's stageTimestamp)
        written_back = wts is not None and wts[0] < self.latest_written - self.skew - self.reorder
        exempt = self.exempt is not None and self.exempt(rec)
        if written_back and exempt:
            # a long-running request's end: its start may lie anywhere before, but it was written in its place
            self._went_back((rec.written, rec.where, rec.request_id), self.latest_written_text,
                            self.latest_written_line)
            return
        if wts is not None and wts[0] > self.latest_written:
            self.latest_written = wts[0]
            self.latest_written_text, self.latest_written_line = rec.written, rec.line
        if exempt:
            self.excuse(self.exempt_rule)
            return
        ns = ts[0]
        if ns > self.latest:
            self.latest, self.latest_text, self.latest_line = ns, rec.time, rec.line
        elif ns < self.latest - self.skew:
            if not written_back and ns >= self.latest - self.skew - self.reorder:
                self.excuse(_WEBHOOK_RULE)  # a webhook's batch delivered after later ones (k8s_webhook_reorder)
                return
            # (a RequestReceived event too: the API server writes it once authentication is done, which a token
            # webhook may take seconds over, with the time the request was received: red team rt33, F1)
            slow = bool(self.latency) and not written_back
            if slow and ns >= self.latest - self.skew - self.reorder - self.latency:
                self.excuse(self.latency_rule)  # a slow request's end, written in its place: its time is its start
                return
            self._went_back((rec.time, rec.where, rec.request_id), self.latest_text, self.latest_line,
                            slow and wts is not None)
            return
        if self.lows is not None and not self.found and (not self.lows or ns < self.lows[-1][0]):
            self._low(ns, rec.time, rec.where, rec.request_id)

    def _went_back(self, entry: tuple[str, str, str], latest_text: str, latest_line: int, slow: bool = False) -> None:
        """An entry that goes back in time: named among the first _SHOW, else counted."""
        self.nfound += 1
        self.back_from = latest_line if self.back_from in (0, latest_line) else -1
        if len(self.found) < _SHOW:
            self.found.append(self._back(entry, latest_text, latest_line, slow))
        elif not self.next_back:
            self.next_back = entry[1]

    def _back(self, entry: tuple[str, str, str], latest_text: str, latest_line: int,
              slow: bool = False) -> Finding:
        time, where, request_id = entry
        return Finding(ID, "", f"The log goes back in time: {clip(time, 40)} comes after {clip(latest_text, 40)} "
                       f"(line {latest_line}), "
                       f"more than max_skew={self.skew_s:g} s earlier." + (
                           f" It is an event written in its place, whose time is its request's "
                           f"start: a request that ran longer than k8s_request_timeout="
                           f"{self.latency / 1e9:g} s." if slow else ""),
                       ("set k8s_request_timeout to the API server's --request-timeout if the cluster allows requests "
                        "that long; else find the stage that re-times entries" if slow else self._reorder_fix()),
                       where=where, request_id=request_id)

    def _low(self, ns: int, time: str, where: str, request_id: str) -> None:
        assert self.lows is not None
        if len(self.lows) >= _LOWS:
            self.lows_over = True
        else:
            self.lows.append((ns, time, where, request_id))

    def later_range(self) -> None:
        self.lows = []
        self.orphans = []

    def merge(self, later: Visitor) -> None:
        """The two ranges together, where neither goes back in time and none of ``later``'s lows goes back from this
        range's latest time. Where one does, the file is read whole (NotImplementedError): every entry that goes back
        is named or counted, and a later range's entries past its lows may go back from this range's latest too."""
        assert isinstance(later, FileOrder)
        self.future = self.future or later.future  # the first of the file: this range's, else the later one's
        self.after_delivery = self.after_delivery or later.after_delivery
        self.ancient = self.ancient or later.ancient
        early, self.nearly = self.early + later.early, self.nearly + later.nearly
        self.alike, self.nalike = sorted(self.alike + later.alike)[:_SHOW + 1], self.nalike + later.nalike
        self.close += later.close
        self.units = max(self.units, later.units)
        if self.pairing:
            early += self._merge_pairs(later)
        self.early = sorted(early)[:_SHOW + 1]
        if self.unordered:
            return
        if self.found or later.found:
            raise NotImplementedError("entries that go back in time: the file is read whole to name each")
        if later.lows is None:
            raise NotImplementedError("the visitor of a later range was not told so (later_range)")
        cut = self.latest - self.skew
        hit = next((low for low in later.lows or () if low[0] < cut), None)
        if hit is None and later.lows_over:
            raise NotImplementedError("too many entries that could go back in time at the start of a range")
        if (self.latency and later.excused.get(self.latency_rule)) or later.excused.get(_WEBHOOK_RULE):
            # judged against the latest before its range
            raise NotImplementedError("entries excused by the format's latency or reorder in a later range")
        if hit is not None:
            raise NotImplementedError("a later range goes back in time: the file is read whole to name each entry")
        self.merge_excused(later)
        if self.lows is not None:  # this one is a later range too: its lows, then later's below them
            floor = self.lows[-1][0] if self.lows else float("inf")
            for low in later.lows or ():
                if low[0] < floor:
                    self._low(*low)
                    floor = low[0]
            self.lows_over = self.lows_over or later.lows_over
        if later.latest > self.latest:
            self.latest, self.latest_text, self.latest_line = later.latest, later.latest_text, later.latest_line

    def _merge_pairs(self, later: "FileOrder") -> list[tuple[int, str, str, str]]:
        """The responses of ``later`` whose request is in this range, held to it (what they show, counted in
        ``nearly``); then the requests still awaited after both, as one pass leaves them."""
        if self.open_over or later.open_over or later.orphans_over or later.orphans is None:
            raise NotImplementedError("too many requests awaiting their response at the end of a range")
        early: list[tuple[int, str, str, str]] = []
        kept: list[tuple[str, int, str, int, str, int]] = []
        for rid, ns, time_, line, where, before in later.orphans:
            req = self.open.pop(rid, None)
            if req is not None and req >= max(self.plast, before) - self.window:
                if ns < req:
                    self.nearly += 1
                    early.append((line, where, rid, _before(time_, iso_ns(req))))
                elif ns - req <= _APART_NS:
                    self._close(line, where, rid, time_, ns - req)
            elif req is None:
                kept.append((rid, ns, time_, line, where, max(self.plast, before)))
        self.open.update(later.open)
        self.plast = max(self.plast, later.plast)
        self.open = {k: v for k, v in self.open.items() if v >= self.plast - self.window}
        if self.orphans is not None:  # this one is a later range too: what neither paired waits for the one before
            self.orphans += kept
            self.orphans_over = self.orphans_over or len(self.orphans) > _LOWS
        if len(self.open) > _OPEN:
            raise NotImplementedError("too many requests awaiting their response at the end of a range")
        return early

    def _replaced(self) -> Iterator[Finding]:
        """The requests whose two readings are one, when more of them than the clock's tick explains (module
        docstring): where the log's times show the tick (``units``)."""
        if not self.nalike or self.units < _UNITS["k8s" if self.staged else "vault"]:
            return
        expected = self.close * _TICK_NS / _APART_NS
        if poisson_tail(self.nalike, expected) >= CHANCE:
            return
        counted = (f"{self.nalike} of the {self.close} such events within {_APART_NS // 1000} µs of their request "
                   "read alike here" if self.staged else
                   f"{self.nalike} of the {self.close} responses within {_APART_NS // 1000} µs of their request read "
                   "alike here")
        for _line, where, rid, t in self.alike[:_SHOW]:
            said = (f"The event's stageTimestamp is its requestReceivedTimestamp ({clip(t, 40)}): the API server "
                    "reads its clock for a stage past RequestReceived once the request reached it, longer after "
                    "receiving it than the microsecond MicroTime shows" if self.staged else
                    f"The response entry's time {clip(t, 40)} is its request entry's: the vault reads its clock for "
                    "each entry, before and after writing the request entry and handling the request, which takes "
                    "longer than a clock that shows nanoseconds ticks (1 µs at most)")
            yield Finding(ID, "", f"{said}. {counted}, where the tick explains one in {_APART_NS // _TICK_NS}: a hop "
                          "replaced the times (one value for many entries).",
                          _REPLACED_FIX, where=where, request_id=rid)
        more = self.nalike - len(self.alike[:_SHOW])
        if more > 0:  # one finding that stands for them all (``entries``), at the first of them
            yield Finding(ID, "", f"{more} more " + (
                "events have a stageTimestamp that is their requestReceivedTimestamp." if self.staged else
                "response entries have their request entry's time."), _REPLACED_FIX,
                where=self.alike[min(_SHOW, len(self.alike) - 1)][1], entries=more)

    def finish(self) -> Iterator[Any]:  # findings, a skip, a note (what a narrowed pass leaves out)
        if self.narrowed:
            yield Note("", self.narrowed)
        yield from self._replaced()
        for _line, where, rid, said in self.early[:_SHOW]:
            yield Finding(ID, "", said, _CLOCK_FIX, where=where, request_id=rid)
        early = self.nearly - len(self.early[:_SHOW])
        if early > 0:
            yield Finding(ID, "", f"{early} more " + (
                "events' stageTimestamps are earlier than their requestReceivedTimestamps." if self.staged else
                "response entries are earlier than their request entries."), _CLOCK_FIX,
                where=self.early[min(_SHOW, len(self.early) - 1)][1], entries=early)
        if self.future is not None:
            t, where, rid = self.future
            yield Finding(ID, "", f"The entry's time {clip(t, 40)} is after this verification began "
                          f"({iso_ns(self.now_ns - self.skew)}, max_skew={self.skew_s:g} s): no clock that was right "
                          "wrote it (the producer's clock runs ahead, or something else wrote the time).", _CLOCK_FIX,
                          where=where, request_id=rid)
        if self.after_delivery is not None:
            t, where, rid, named = self.after_delivery
            yield Finding(ID, "", f"The record's eventTime {clip(t, 40)} is after its file was delivered ({named}, as "
                          "its name says): CloudTrail delivers a file with records of before that time only, so the "
                          "record was re-timed or moved from a later file, or the file was renamed.",
                          "judge the files as CloudTrail delivered them: find what rewrote the record or renamed the "
                          "file (and keep the trail's digest files beside them: tamper_evidence validates each file)",
                          where=where, request_id=rid)
        if self.ancient is not None:
            t, where, rid = self.ancient
            yield Finding(ID, "", f"The entry's time {clip(t, 40)} is before {FLOOR[:4]}, before any of these "
                          "producers existed: a clock reset to its epoch (1970-01-01, a dead battery) or a time that "
                          "is not the producer's.", _CLOCK_FIX, where=where, request_id=rid)
        if self.unordered and self.future is None and self.ancient is None and self.after_delivery is None:
            yield Skip("", self.unordered)
        yield from self.found
        if self.nfound > len(self.found):  # one finding that stands for them all (``entries``), at the first of them
            yield Finding(ID, "", f"{self.nfound - len(self.found):,} more entries go back in time by more than "
                          f"max_skew={self.skew_s:g} s" + (
                              f", every one from the time of line {self.back_from}: that entry may be the one re-timed "
                              "(ahead)" if self.back_from > 0 else "") + ".",
                          self._reorder_fix(), where=self.next_back or self.found[-1].where,
                          entries=self.nfound - len(self.found))

    def _reorder_fix(self) -> str:
        """The fix for entries that go back in time; on a Kubernetes log, with the setting for a webhook's file."""
        return "find the stage that reorders or re-times entries (parallel shippers, a bad clock)" + (
            "; if the file is a Kubernetes audit webhook receiver's (batches sent concurrently and retried), set "
            "k8s_webhook_reorder to the batch wait plus the retries' backoff" if self.latency and not self.reorder
            else "")


def _before(time: str, request_time: str) -> str:
    return (f"The response entry's time {clip(time, 40)} is earlier than its request entry's "
            f"({clip(request_time, 40)}): the vault writes a request's response after it, so the entry was re-timed or "
            "the clock stepped back between them.")


def narrowed(settings: "Settings", live: bool, k8s: bool) -> str:
    """What max_skew (and, for a Kubernetes log, ``k8s``, k8s_request_timeout) set above its default lets pass, for
    the pass to say (red team rt74 F3); "" at or below the defaults. ``live``: times are held to the client's too."""
    from ..config import Settings

    said = []
    skew, default = settings.max_skew, Settings.max_skew
    if skew > default:
        said.append(f"max_skew = {skew:g} s (default {default:g} s): a time up to {skew:g} s "
                    + ("off the client's clock, " if live else "") + "behind an earlier entry, or ahead of now passes")
    timeout, default = settings.k8s_request_timeout, Settings.k8s_request_timeout
    if k8s and timeout > default:
        said.append(f"k8s_request_timeout = {timeout:g} s (default {default:g} s): an event written at its "
                    f"request's end may be up to {timeout:g} s behind the events before it")
    reorder = settings.k8s_webhook_reorder
    if k8s and reorder > Settings.k8s_webhook_reorder:
        said.append(f"k8s_webhook_reorder = {reorder:g} s (default {Settings.k8s_webhook_reorder:g} s): an event "
                    f"may be up to {reorder:g} s more behind the events before it, as a webhook's late batch")
    if not said:
        return ""
    return f"Narrowed by settings: {'; '.join(said)}; this pass is no evidence of a clock closer than that."


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    skew = ctx.settings.max_skew_ns
    skew_s = ctx.settings.max_skew
    yield from feed(FileOrder(ctx), ctx).finish()
    if ctx.ledger is None:
        return
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        if not m.entries:
            yield Skip(a.name, "no entry matched this action (see completeness)")
            continue
        lo, hi = a.sent_ns - skew, a.received_ns + skew
        for e in m.entries:
            ts = e.timestamp
            if ts is None:
                yield Finding(ID, a.name, f"The {e.type} entry's time {clip(e.time_text, 40)!r} cannot be read, so "
                              "its accuracy cannot be shown.", "keep the vault's own RFC 3339 'time' field",
                              where=e.where, request_id=e.request_id)
            elif not lo <= ts.ns <= hi:
                off = (ts.ns - a.sent_ns) / 1e9 if ts.ns < lo else (ts.ns - a.received_ns) / 1e9
                yield Finding(ID, a.name, f"The {e.type} entry says {clip(e.time_text, 40)}, but the client sent the "
                              f"request at {iso_ns(a.sent_ns)} and had the answer at {iso_ns(a.received_ns)}: off by "
                              f"{off:+.3f} s, beyond max_skew={skew_s:g} s.", _CLOCK_FIX,
                              where=e.where, request_id=e.request_id)
        if m.request is not None and m.response is not None:
            rq, rs = m.request.timestamp, m.response.timestamp
            if rq is not None and rs is not None and rs.ns < rq.ns:
                yield Finding(ID, a.name, f"The response entry ({clip(m.response.time_text, 40)}) is earlier than "
                              f"its request entry ({clip(m.request.time_text, 40)}).", _CLOCK_FIX,
                              where=m.response.where, request_id=m.response.request_id)


CHECK = Check(
    id=ID,
    title="Timestamps agree with the client's clock",
    requirement="each time within [client send - max_skew, client receive + max_skew]; response not before "
    "request; file order does not go back by more than max_skew",
    run=run,
    subjects=subjects,
    visitor=FileOrder,
)
