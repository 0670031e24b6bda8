"""timestamp_precision: RFC 3339 times with an explicit offset and sub-second precision.

Go's RFC3339Nano trims trailing zeros, so one short fraction proves nothing: a source is judged by all its
entries together, on the most significant digits any of them carries.
"""

from __future__ import annotations

from typing import Iterator, Union

from .base import Check, CheckContext, Finding, Skip

ID = "timestamp_precision"
_SHOW = 3


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    if not ctx.entries:
        yield Skip("", "no entries to judge")
        return
    digits = ctx.settings.timestamp_digits
    bad = []
    best = 0
    for e in ctx.entries:
        ts = e.timestamp
        if ts is None:
            bad.append(e)
        else:
            best = max(best, ts.significant_digits)
    for e in bad[:_SHOW]:
        shown = repr(e.time_text[:40]) if e.time_text else "no time at all"
        yield Finding(ID, "", f"The entry's time {shown} is not an RFC 3339 time with an explicit offset.",
                      "ship the vault's own 'time' field unchanged (RFC 3339, e.g. 2026-01-02T03:04:05.123456789Z)",
                      where=e.where, request_id=e.request_id)
    if len(bad) > _SHOW:
        yield Finding(ID, "", f"{len(bad) - _SHOW} more entries have times that are not RFC 3339 with an offset.",
                      "as above", where=bad[_SHOW].where)
    good = len(ctx.entries) - len(bad)
    if good and best < digits:
        yield Finding(
            ID,
            "",
            f"Across {good} entries the times carry at most {best} significant fractional digit(s), fewer than "
            f"the {digits} required (timestamp_digits): sub-second order and correlation are lost.",
            "stop the pipeline from rounding or reformatting 'time'; keep the vault's nanosecond RFC3339Nano value",
            where=ctx.entries[0].where,
        )


CHECK = Check(
    id=ID,
    title="Timestamps are precise",
    requirement="RFC 3339 time with an explicit offset and sub-second precision (timestamp_digits, default 3)",
    run=run,
)
