"""timestamp_precision: RFC 3339 times with an explicit offset and sub-second precision.

Go's RFC3339Nano trims trailing zeros, so one short fraction proves nothing: a source is judged by all its
entries together, on the most significant digits any of them carries.
"""

from __future__ import annotations

from typing import Iterator, Union

from ..auditlog.formats import format_of
from ..auditlog.model import Entries, Record
from .base import Check, CheckContext, Finding, Skip, Visitor, feed

ID = "timestamp_precision"
_SHOW = 3


class Precision(Visitor):
    def __init__(self, ctx: CheckContext) -> None:
        self.digits = ctx.settings.timestamp_digits
        self.fix = format_of(ctx.settings).precision_fix
        self.time_fix = format_of(ctx.settings).time_fix
        self.bad: list[Record] = []  # the first few entries whose time is not RFC 3339
        self.nbad = 0
        self.good = 0
        self.best = 0
        self.first = ""

    def entries(self, batch: Entries) -> None:
        if not batch.utc_times():
            for rec in batch.records():
                self.entry(rec)
            return
        # Every time parses (Entries.utc_times): their significant digits are those of the fraction.
        times = batch.time
        self.good += len(times)
        if self.best < 9 and times:
            self.best = max(self.best, max(len(t[20:-1].rstrip("0")) for t in times))
        if not self.first and times:
            self.first = batch.where(0)

    def entry(self, rec: Record) -> None:
        ts = rec.ts
        if ts is None:
            self.nbad += 1
            if len(self.bad) <= _SHOW:
                self.bad.append(rec)
        else:
            self.good += 1
            if ts[2] > self.best:
                self.best = ts[2]
        if not self.first:
            self.first = rec.where

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, Precision)
        self.bad = (self.bad + later.bad)[: _SHOW + 1]
        self.nbad += later.nbad
        self.good += later.good
        self.best = max(self.best, later.best)
        self.first = self.first or later.first
        self.merge_excused(later)

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        # No entry at all: nothing here; the engine fails a check that judged nothing (judged_something).
        for e in self.bad[:_SHOW]:
            said = (f"The entry's time {e.time[:40]!r} is not an RFC 3339 time with an explicit offset." if e.time
                    else "The entry has no time as text (its time field is missing, empty, or not a string such "
                         "as an epoch number): an RFC 3339 time with an explicit offset is required.")
            yield Finding(ID, "", said, self.time_fix, where=e.where, request_id=e.request_id)
        if self.nbad > _SHOW:
            yield Finding(ID, "", f"{self.nbad - _SHOW} more entries have times that are not RFC 3339 with an offset.",
                          "as above", where=self.bad[_SHOW].where)
        if self.good and self.best < self.digits:
            yield Finding(
                ID,
                "",
                f"Across {self.good} entries the times carry at most {self.best} significant fractional digit(s), "
                f"fewer than the {self.digits} required (timestamp_digits): sub-second order and correlation are lost.",
                self.fix,
                where=self.first,
            )


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from feed(Precision(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="Timestamps are precise",
    requirement="RFC 3339 time with an explicit offset and sub-second precision (timestamp_digits, default 3)",
    run=run,
    visitor=Precision,
)
