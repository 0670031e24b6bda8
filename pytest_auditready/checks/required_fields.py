"""required_fields: each matched entry has time, identity, resource, action, result, source and request id."""

from __future__ import annotations

from typing import Iterator, Sequence, Union

from .base import Check, CheckContext, Finding, PlannedAction, Skip, every_action

ID = "required_fields"
MEANING = {
    "time": "when (time)",
    "identity": "who (auth.display_name, auth.entity_id or auth.accessor)",
    "resource": "which secret (request.path)",
    "action": "what action (request.operation)",
    "result": "the result (success, or error with its reason)",
    "source": "where from (request.remote_address)",
    "request_id": "the request id (request.id)",
}
_FIX = (
    "log the entries as the vault writes them: make every pipeline stage keep these fields, and behind a proxy "
    "or load balancer set x_forwarded_for_authorized_addrs so that remote_address is the real client"
)


def subjects(actions: Sequence[PlannedAction]) -> list[str]:
    return [""] + every_action(actions)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    for bad in ctx.bad_lines:
        yield Finding(ID, "", f"Line {bad.line} of {bad.file} is not a readable audit entry: {bad.reason}.",
                      "find what rewrites or truncates the log (a pipeline, a full disk) and fix it",
                      where=bad.where)
    if ctx.ledger is None:
        return
    wanted = ctx.settings.required_fields
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        if not m.entries:
            yield Skip(a.name, "no entry matched this action (see completeness)")
            continue
        for e in m.entries:
            # A request is logged before its outcome exists: only a denied one carries a result.
            need = [f for f in wanted if not (f == "result" and e.type == "request" and not a.denied)]
            missing = [f for f in need if not e.get_field(f).strip()]
            if missing:
                what = "; ".join(MEANING[f] for f in missing)
                yield Finding(ID, a.name, f"The {e.type} entry for {a.name} lacks {what}.", _FIX,
                              where=e.where, request_id=e.request_id or a.request_id)


CHECK = Check(
    id=ID,
    title="Who, what, which secret, when, result, source",
    requirement="each matched entry has non-empty: " + ", ".join(MEANING),
    run=run,
    subjects=subjects,
)
