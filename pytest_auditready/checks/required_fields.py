"""required_fields: each matched entry has time, identity, resource, action, result, source and request id."""

from __future__ import annotations

from typing import Iterator, Optional, Sequence, Union

from ..auditlog.formats import FORMATS, field_sources, format_of
from ..auditlog.model import BadLine, Entries, Record
from .base import Check, CheckContext, Finding, PlannedAction, Skip, Visitor, every_action, feed

ID = "required_fields"
MEANING = field_sources(None)  # a Vault/OpenBao log's: what each field means and where it is read from
_FIX = FORMATS["vault"].fields_fix


def subjects(actions: Sequence[PlannedAction]) -> list[str]:
    return ["", *every_action(actions)]


_BAD_FIX = "find what rewrites or truncates the log (a pipeline, a full disk) and fix it"
_SHOW = 20


def missing(rec: Record, wanted: Sequence[str], denied: Optional[bool]) -> list[str]:
    """The wanted canonical fields ``rec`` lacks. A request is logged before its outcome exists, so it needs a
    result only when it was denied (``denied`` None: not known, as offline)."""
    out = []
    for f in wanted:
        v = getattr(rec, f)
        if v and not v.isspace():
            continue
        if f == "result" and rec.type == "request" and not denied:
            continue
        out.append(f)
    return out


def _complete(r: Record) -> bool:
    """All seven canonical fields present (the common case, checked without a loop)."""
    return bool(r.time and r.identity and r.resource and r.action and (r.result or r.type == "request")
                and r.source and r.request_id) and not (
        r.time.isspace() or r.identity.isspace() or r.resource.isspace() or r.action.isspace()
        or r.source.isspace() or r.request_id.isspace() or (r.result.isspace() and r.type != "request"))


def _all_complete(b: Entries) -> bool:
    """True only if ``_complete`` holds for every entry of ``b`` (False: look at each)."""
    cols = (b.time, b.identity, b.resource, b.action, b.source, b.request_id)
    # A request needs no result (one without a policy decision, e.g. a login, has none).
    results = "" not in b.result or all(t == "request" for r, t in zip(b.result, b.type) if not r)
    return (all(all(c) for c in cols) and results
            and not any(any(map(str.isspace, c)) for c in (*cols, b.result)))


def _internal(rec: Record) -> bool:
    # Requests the vault makes to itself have no client, hence no source address: the device's self-test write
    # to sys/audit/test when it starts, and a dev server's own setup (request ids "dev-...", or none).
    if rec.resource == "sys/audit/test" and not rec.identity:
        return True
    return not rec.source and (not rec.request_id or rec.request_id.startswith("dev-"))


class Fields(Visitor):
    """Bad lines always; every entry's fields when there is no scenario to match entries to (offline)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.wanted = tuple(ctx.settings.required_fields)
        self.every_entry = ctx.ledger is None
        self.all_fields = set(self.wanted) == set(MEANING)
        self.meaning = field_sources(ctx.settings)  # as the log's format (and field_map) names the fields
        self.fix = format_of(ctx.settings).fields_fix
        self.findings: list[Finding] = []
        self.more: dict[str, int] = {}  # what is lacking -> how many entries beyond the ones shown
        self.bad_more = 0

    def bad_line(self, bad: BadLine) -> None:
        if sum(1 for f in self.findings if f.fix == _BAD_FIX) >= _SHOW:
            self.bad_more += 1
            return
        self.findings.append(Finding(ID, "", f"Line {bad.line} of {bad.file} is not a readable audit entry: "
                                     f"{bad.reason}.", _BAD_FIX, where=bad.where))

    def entries(self, batch: Entries) -> None:
        if not self.every_entry or (self.all_fields and _all_complete(batch)):
            return
        for rec in batch.records():
            self.entry(rec)

    def entry(self, rec: Record) -> None:
        if not self.every_entry or (self.all_fields and _complete(rec)):
            return
        lacking = missing(rec, self.wanted, None)
        if not lacking or _internal(rec):
            return
        what = "; ".join(self.meaning[f] for f in lacking)
        if len(self.findings) - sum(1 for f in self.findings if f.fix == _BAD_FIX) >= _SHOW:
            self.more[what] = self.more.get(what, 0) + 1
            return
        kind = f"{rec.type} entry" if rec.type else "entry"
        self.findings.append(Finding(ID, "", f"The {kind} lacks {what}.", self.fix, where=rec.where,
                                     request_id=rec.request_id))

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        yield from self.findings
        if self.bad_more:
            yield Finding(ID, "", f"{self.bad_more} more lines are not readable audit entries.", _BAD_FIX)
        for what, n in self.more.items():
            yield Finding(ID, "", f"{n} more entries lack {what}.", self.fix)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from feed(Fields(ctx), ctx).finish()
    if ctx.ledger is None:
        return
    wanted = ctx.settings.required_fields
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        if not m.entries:
            yield Skip(a.name, "no entry matched this action (see completeness)")
            continue
        for e in m.entries:
            lacking = missing(e.record, wanted, a.denied)
            if lacking:
                what = "; ".join(MEANING[f] for f in lacking)
                yield Finding(ID, a.name, f"The {e.type} entry for {a.name} lacks {what}.", _FIX,
                              where=e.where, request_id=e.request_id or a.request_id)


CHECK = Check(
    id=ID,
    title="Who, what, which secret, when, result, source",
    requirement="each matched entry has non-empty: " + ", ".join(MEANING),
    run=run,
    subjects=subjects,
    visitor=Fields,
)
