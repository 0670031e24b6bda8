"""completeness: every scenario action has its request and response entry in the log."""

from __future__ import annotations

from typing import Iterator, Union

from .base import Check, CheckContext, Finding, Skip, describe, every_action

ID = "completeness"
_FIX = (
    "make the audit device and every pipeline stage after it keep all request and response entries "
    "(no sampling, filters or dropped lines), and raise log_wait if the pipeline lags"
)


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
    requirement="every scenario action has its request and response entry in the log",
    run=run,
    subjects=every_action,
    live_only=True,
)
