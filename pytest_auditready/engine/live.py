"""Judging a live run: the run's log goes through the same driver and checks as an exported file, its format is
checked the same way (a log of no known format is refused, not blamed on the vault), and its accounting is the
same shape. No pytest here."""

from __future__ import annotations

from typing import Any, Sequence

from ..checks.base import Check, Outcome
from ..live import LiveResult, evaluate_all, planned_actions, run_live

__all__ = ["judge", "planned_actions", "run_live"]


def refuse_unreadable(live: LiveResult) -> None:
    """Raise UnknownFormat when most of what the run's log source read is no Vault/OpenBao entry (a JSONx device,
    an undeclared prefix, a shipper's framing): one line naming what was found, instead of every action 'missing'."""
    from ..auditlog.detect import check_format, detect_lines

    ctx = live.context
    if not ctx.bad_lines or len(ctx.bad_lines) < len(ctx.entries):
        return
    raws = [b.raw for b in ctx.bad_lines[:200] if b.raw] + [e.raw for e in ctx.entries[:200]]
    if not raws:
        return
    found = detect_lines(ctx.source, raws, ctx.settings.log_prefix)
    check_format(ctx.source, found, "vault", ())


def accounting(live: LiveResult, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """What the run's log held and what each check judged, in the shape an exported file's accounting has."""
    ctx = live.context
    checks = {o.check_id: o.tally.to_json() for o in outcomes if o.subject == ""}
    return {
        "file": ctx.log_path or ctx.source,
        "format": "vault",
        "lines": len(ctx.entries) + len(ctx.bad_lines),
        "bytes": sum(len(e.raw) + 1 for e in ctx.entries) + sum(len(b.raw) + 1 for b in ctx.bad_lines),
        "entries": len(ctx.entries),
        "unreadable_lines": len(ctx.bad_lines),
        "checks": checks,
    }


def judge(checks: Sequence[Check], live: LiveResult, plan: Any) -> tuple[dict[tuple[str, str], Outcome],
                                                                           dict[str, Any]]:
    """Every check over every subject, keyed by (check id, subject), and the log's accounting."""
    refuse_unreadable(live)
    outcomes = evaluate_all(checks, live.context, planned_actions(plan))
    return {(o.check_id, o.subject): o for o in outcomes}, accounting(live, outcomes)
