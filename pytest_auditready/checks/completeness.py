"""completeness: every scenario action has its request and response entry in the log; offline, every request
entry of a Vault/OpenBao log has its response entry and every response its request.

The vault writes a request entry before it handles a request and a response entry after (recorded from OpenBao:
every request of fixtures/openbao is paired but the audit device's self-test). A hop that drops lines (a
shipper's filter, sampling, a full buffer) breaks pairs, which no other check can see in an unsealed log. At the
edges of a log a pair is legitimately broken: a request still in flight when the log ends (or rotates), a response
whose request was written before the log begins. Those are excused by that rule when they lie within the window
(``completeness_window``, 120 s by default) of the log's last or first time (a request lasts at most the vault's
max request duration, 90 s by default: a vault that allows longer requests needs a longer window), and are judged
everywhere else. A request entry written again while the first waits for its response is a finding at the second
(a hop that replays lines, or two audit devices naming one file: the vault writes one request entry a request).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Optional, Sequence, Union

from ..auditlog.formats import format_of
from ..auditlog.model import Entries, Record
from .base import Check, CheckContext, Finding, Skip, Visitor, describe, every_action

ID = "completeness"
_FIX = (
    "make the audit device and every pipeline stage after it keep all request and response entries "
    "(no sampling, filters or dropped lines), and raise log_wait if the pipeline lags"
)


PAIR_WINDOW = 120 * 10**9  # ns, the default window: the default max request duration (90 s) and room for clock steps
_KEEP = 10_000  # findings kept (sorted by line at the end; the rest counted)
_EARLY = 100_000  # request ids a later range keeps from its first 2 windows (for ``Pairs.merge``)
_SHOW = 20
SELF_TEST = "the audit device's self-test write (sys/audit/test): the vault writes no response for it"


def in_flight(window: int) -> str:
    return (f"a request still in flight when the log ends (within {window // 10**9} s of its last entry): its "
            "response is in the next file of the set, or was never written")


def before_log(window: int) -> str:
    return (f"a response whose request was written before the log begins (within {window // 10**9} s of its "
            "first entry): in the previous file of the set")


IN_FLIGHT, BEFORE = in_flight(PAIR_WINDOW), before_log(PAIR_WINDOW)  # the rules' words at the default window
NO_KEY = ("an entry with no request id or no readable time has nothing to pair it by (required_fields and "
          "timestamp_precision judge it)")
_DROP_FIX = ("make every hop after the audit device keep every line (no filters, sampling or dropped lines: check the "
             "shipper's buffer and back-pressure settings), and seal the log (auditready seal) so that a dropped line "
             "is proven, not inferred")


_DUP_FIX = ("find the hop that writes a line twice (a shipper that retries without deduplication, a file named by two "
            "audit devices) and make it write each entry once; seal the log (auditready seal) so that an added line "
            "is proven, not inferred")


class Pairs(Visitor):
    """Offline, Vault/OpenBao: request and response entries paired by request id, in one pass in constant memory
    (only requests younger than the window are held)."""

    def __init__(self, ctx: CheckContext) -> None:
        fmt = format_of(ctx.settings).name
        self.skip = "" if fmt == "vault" else (
            f"a {format_of(ctx.settings).title} log has no request/response pairs to check (one record a call, or "
            "stages the audit policy may omit)")
        self.window = int(ctx.settings.completeness_window * 10**9)
        self.first_t: Optional[int] = None
        self.max_t = -1
        self.pending: "OrderedDict[str, tuple[int, str, int]]" = OrderedDict()  # request id -> (ns, file, line)
        # responses with no request yet: (id, ns, file, line, max before)
        self.orphans: list[tuple[str, int, str, int, int]] = []
        self.found: list[tuple[str, int, str, str]] = []  # (file, line, kind, request id)
        self.more = 0

    def entries(self, batch: Entries) -> None:
        """The common case column by column (no Record built): every time a UTC RFC 3339 time; else ``entry``."""
        if self.skip:
            return
        if not batch.utc_times():
            for rec in batch.records():
                self.entry(rec)
            return
        stamps = batch.times_ns()
        pending, file, lines = self.pending, batch.file, batch.lines
        track = self.early is not None  # a later range of a file: what ``merge`` needs
        if not track and stamps and "" not in batch.request_id and "sys/audit/test" not in batch.resource:
            self._plain(batch.type, batch.request_id, stamps, file, lines)
            return
        max_t = self.max_t
        for i, (kind, rid, ns) in enumerate(zip(batch.type, batch.request_id, stamps)):
            if not rid:
                self.excuse(NO_KEY)
                continue
            request = kind == "request"
            if request and not batch.identity[i] and batch.resource[i] == "sys/audit/test":
                self.excuse(SELF_TEST)
                continue
            if self.first_t is None:
                self.first_t = ns
            if track:
                self._early(rid, ns, request)
            before = max_t
            if ns > before:
                self.max_t = max_t = ns
                if pending and next(iter(pending.values()))[0] + self.window < ns:
                    self._expire(ns)
            if request:
                if rid in pending:
                    self._find(file, lines[i], "duplicate", rid)
                else:
                    pending[rid] = (ns, file, lines[i])
            elif kind == "response" and pending.pop(rid, None) is None:
                self._orphan(rid, ns, file, lines[i], before)

    def _plain(self, types: list[str], ids: list[str], stamps: list[int], file: str, lines: Sequence[int]) -> None:
        """``entries`` for a batch with nothing to excuse (every entry has a request id, none is the device's
        self-test) of a range that is not a later one: the same steps, with nothing else looked at."""
        if self.first_t is None:
            self.first_t = stamps[0]
        pending, window, max_t = self.pending, self.window, self.max_t
        pop = pending.pop
        for kind, rid, ns, line in zip(types, ids, stamps, lines):
            before = max_t
            if ns > max_t:
                self.max_t = max_t = ns
                if pending and next(iter(pending.values()))[0] + window < ns:
                    self._expire(ns)
            if kind == "request":
                if rid in pending:
                    self._find(file, line, "duplicate", rid)
                else:
                    pending[rid] = (ns, file, line)
            elif kind == "response" and pop(rid, None) is None:
                self._orphan(rid, ns, file, line, before)

    def entry(self, rec: Record) -> None:
        if self.skip:
            return
        rid, ts = rec.request_id, rec.ts
        if not rid or ts is None:
            self.excuse(NO_KEY)
            return
        if rec.type == "request" and rec.resource == "sys/audit/test" and not rec.identity:
            self.excuse(SELF_TEST)
            return
        ns = ts[0]
        if self.first_t is None:
            self.first_t = ns
        if self.early is not None:
            self._early(rid, ns, rec.type == "request")
        before = self.max_t
        if ns > self.max_t:
            self.max_t = ns
            self._expire(ns)
        if rec.type == "request":
            if rid in self.pending:
                self._find(rec.file, rec.line, "duplicate", rid)
            else:
                self.pending[rid] = (ns, rec.file, rec.line)
        elif rec.type == "response":
            if self.pending.pop(rid, None) is None:
                self._orphan(rid, ns, rec.file, rec.line, before)

    def _expire(self, now: int) -> None:
        """Requests older than the window before ``now``: their response can no longer come."""
        pending = self.pending
        while pending:
            rid, (ns, file, line) = next(iter(pending.items()))
            if ns + self.window >= now:
                break
            del pending[rid]
            self._find(file, line, "request", rid)

    def _orphan(self, rid: str, ns: int, file: str, line: int, before: int) -> None:
        assert self.first_t is not None
        if before <= self.first_t + self.window:
            self.orphans.append((rid, ns, file, line, before))  # perhaps its request was before the log (or range)
        else:
            self._find(file, line, "response", rid)

    def _find(self, file: str, line: int, kind: str, rid: str) -> None:
        if len(self.found) >= _KEEP:
            self.more += 1
            return
        self.found.append((file, line, kind, rid))

    # A later range of a file (``later_range``): its earliest time, and the ids of the requests it holds in its
    # first two windows (the only ones a request still pending before the range could share), for ``merge``.
    low_t: Optional[int] = None
    early: Optional[set[str]] = None
    early_over = False

    def later_range(self) -> None:
        self.early = set()

    def _early(self, rid: str, ns: int, request: bool) -> None:
        assert self.early is not None and self.first_t is not None
        if self.low_t is None or ns < self.low_t:
            self.low_t = ns
        if request and ns <= self.first_t + 2 * self.window:
            if len(self.early) < _EARLY:
                self.early.add(rid)
            else:
                self.early_over = True

    def merge(self, later: "Visitor") -> None:
        """Take in the visitor of the lines right after this one's: its early responses may answer this one's last
        requests, and one pass's times expire them as they come. Where the ranges' times or ids interleave so that
        one pass could have judged differently (``later`` earlier than this range by more than the window, or
        than a request still pending here when ``later`` found an entry without its partner; a request id pending
        here seen again in ``later``; more findings than are kept), it declines (NotImplementedError) and the
        file is read whole."""
        assert isinstance(later, Pairs)
        self.merge_excused(later)
        if later.first_t is None:
            return
        if self.first_t is None:
            self.__dict__.update({k: v for k, v in later.__dict__.items() if k != "_excused"})
            return
        if later.early is None or later.low_t is None:
            raise NotImplementedError("the visitor of a later range was not told so (later_range)")
        newest = max((ns for ns, _, _ in self.pending.values()), default=-1)
        kinds = {kind for _, _, kind, _ in later.found}
        if (later.first_t < self.first_t or later.low_t + self.window < self.max_t
                or (later.low_t < newest and "request" in kinds) or (later.first_t < newest and "response" in kinds)
                or (self.pending and (later.early_over or not later.early.isdisjoint(self.pending)))
                or self.more or later.more
                or len(self.found) + len(self.pending) + len(later.found) + len(later.orphans) >= _KEEP):
            raise NotImplementedError("request/response pairs that one pass could judge otherwise")
        for rid, ns, file, line, before in later.orphans:
            seen = max(self.max_t, before)  # one pass's latest time before this response
            self._expire(seen)  # what one pass had expired by then (only this range's requests are pending yet)
            if self.pending.pop(rid, None) is not None:
                continue
            if seen <= self.first_t + self.window:
                self.orphans.append((rid, ns, file, line, seen))
            else:
                self._find(file, line, "response", rid)
        self.max_t = max(self.max_t, later.max_t)
        self._expire(self.max_t)
        self.pending.update(later.pending)
        for f in later.found:
            if len(self.found) < _KEEP:
                self.found.append(f)
            else:
                self.more += 1
        self.more += later.more

    @property
    def excused(self) -> dict[str, int]:
        """Entries excused so far, by rule: with the requests still in flight and the responses whose request came
        before, as they stand once everything was fed (nothing is excused for them until then)."""
        out = dict(self.__dict__.get("_excused", {}))
        for rule, n in ((in_flight(self.window), len(self.pending)), (before_log(self.window), len(self.orphans))):
            if n:
                out[rule] = out.get(rule, 0) + n
        return out

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        if self.skip:
            yield Skip("", self.skip)
            return
        found = sorted(self.found, key=lambda f: (f[0], f[1]))
        for file, line, kind, rid in found[:_SHOW]:
            if kind == "duplicate":
                yield Finding(ID, "", "The request entry is written a second time while the first still waits for "
                              "its response: the vault writes one a request, so a hop replayed a line (or two audit "
                              "devices write to one file).", _DUP_FIX, where=f"{file}:{line}", request_id=rid)
                continue
            other = "response" if kind == "request" else "request"
            when = ("no response entry follows it within "
                    f"{self.window // 10**9} s" if kind == "request" else "its request entry is not in the log")
            fix = _DROP_FIX + (f"; a vault whose max_request_duration is over {self.window // 10**9} s needs "
                               "completeness_window raised to match" if kind == "request" else "")
            yield Finding(ID, "", f"The {kind} entry has no {other} entry: {when}; a hop dropped a line.",
                          fix, where=f"{file}:{line}", request_id=rid)
        hidden = len(found) - _SHOW + self.more
        if hidden > 0:
            yield Finding(ID, "", f"{hidden} more entries have no partner entry or are written twice.", _DROP_FIX)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    if ctx.ledger is None:
        return
    silent = not ctx.entries and not ctx.bad_lines
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        missing = [kind for kind, e in (("request", m.request), ("response", m.response)) if e is None]
        if not missing:
            continue
        if silent:
            msg = (
                f"The log {ctx.source} received no entries at all since the run began, so {describe(a)} "
                "is unrecorded."
            )
        else:
            msg = f"No {' and no '.join(missing)} entry in {ctx.source} records {describe(a)}"
            msg += (
                f" (request id {a.request_id})."
                if a.request_id
                else " (looked for by path, operation, identity and time)."
            )
        yield Finding(ID, a.name, msg, _FIX, request_id=a.request_id)


CHECK = Check(
    id=ID,
    title="Every access is in the log",
    requirement="every scenario action has its request and response entry in the log; offline, every request "
    "entry has its response and every response its request",
    run=run,
    subjects=every_action,
    visitor=Pairs,
)
