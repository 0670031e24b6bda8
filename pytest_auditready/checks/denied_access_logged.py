"""denied_access_logged: every denied action is logged with identity, path and the error."""

from __future__ import annotations

from typing import Iterator, Sequence, Union

from .base import Check, CheckContext, Finding, PlannedAction, Skip, describe

ID = "denied_access_logged"


def subjects(actions: Sequence[PlannedAction]) -> list[str]:
    """Every action the scenario expects the vault to refuse, whoever makes it (a hook's denied write by the
    reader is a denial to audit as much as the unprivileged identity's read)."""
    return [a.name for a in actions if a.expect in ("denied", "probe")]


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    if ctx.ledger is None:
        return
    planned = set(subjects([PlannedAction(a.name, a.identity, a.expect) for a in ctx.ledger.actions]))
    for a in ctx.ledger.actions:
        if a.name not in planned:
            continue
        if not a.denied:
            if a.expect == "denied" and a.identity == "unprivileged":
                yield Finding(ID, a.name, f"{describe(a)} was not denied (HTTP {a.status}): an identity with only "
                              f"the policies ordinary users get was allowed, so there is no denial to audit.",
                              "remove the grant on this path from the policies in unprivileged_policies "
                              "(the 'default' policy must not read secrets)")
            elif a.expect == "denied":
                yield Finding(ID, a.name, f"{describe(a)} was not denied (HTTP {a.status}): the scenario expects the "
                              f"vault to refuse it, so there is no denial to audit.",
                              f"remove the grant on this path from the {a.identity} identity's policy, or expect "
                              "the action to be allowed in the scenario")
            else:
                yield Skip(a.name, f"the vault answered {a.status}, not a denial (log_protection judges this)")
            continue
        m = ctx.match(a.name)
        if not m.entries:
            yield Finding(ID, a.name, f"The denial of {describe(a)} is not in the log.",
                          "keep denied requests in the log: no pipeline filter on errors or status codes")
            continue
        good = [e for e in m.entries if e.identity and e.path and e.error]
        if not good:
            e = m.entries[0]
            lacking = [n for n, v in (("identity", e.identity), ("path", e.path), ("error", e.error)) if not v]
            yield Finding(ID, a.name, f"The denial of {a.name} is logged without {', '.join(lacking)}.",
                          "keep the vault's auth, request.path and error fields in denied entries",
                          where=e.where, request_id=e.request_id)


CHECK = Check(
    id=ID,
    title="Denied access is logged",
    requirement="every denied action is logged with identity, path and the error",
    run=run,
    subjects=subjects,
    live_only=True,
)
