"""integrity_digest: digests are well formed, and the vault's own sys/audit-hash is found where values were logged."""

from __future__ import annotations

import re
from typing import Iterator, Union

from ..auditlog.formats import format_of
from ..auditlog.model import HMAC_PREFIX, AuditEntry, Entries, Record
from ..scan.hyperscan import any_match
from .base import Check, CheckContext, Finding, Skip, Visitor, feed

ID = "integrity_digest"
_BAD_DIGEST_FIX = "ship entries unchanged: a digest must stay 'hmac-sha256:' followed by 64 lowercase hex digits"


def _short(digest: str) -> str:
    return digest[: len(HMAC_PREFIX) + 12] + "…"


# A digested value that is not exactly 64 lowercase hex digits before its closing quote (or escaped quote).
_MALFORMED = re.compile(rb'"hmac-sha256:(?![0-9a-f]{64}(?:"|\\"))')
_MALFORMED_HS = rb'"hmac-sha256:(?:[0-9a-f]{0,63}[^0-9a-f]|[0-9a-f]{64}[^"\\])'
_SHOW = 5


class DigestFormat(Visitor):
    """Every string value that starts with 'hmac-sha256:' is followed by exactly 64 lowercase hex digits."""

    def __init__(self, ctx: CheckContext) -> None:
        self.bad: list[tuple[str, int, str]] = []  # (file, line, shown) of the first few
        self.count = 0
        self.request_ids: dict[int, str] = {}
        self.has_malformed = any_match((_MALFORMED_HS,))  # yes/no per block; _MALFORMED then finds where
        self.format = format_of(ctx.settings)
        self.seen = False  # any digest at all

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if b"hmac-sha256:" not in data:
            return
        self.seen = True
        if self.has_malformed is not None and not self.has_malformed(data):
            return
        line, pos = first_line, 0
        for m in _MALFORMED.finditer(data):
            self.count += 1
            if len(self.bad) >= _SHOW:
                continue
            line += data.count(b"\n", pos, m.start())
            pos = m.start()
            end = data.find(b'"', m.start() + 1, m.start() + 300)
            value = data[m.start() + 1 : end if end > 0 else m.start() + 40].decode("utf-8", "replace")
            self.bad.append((file, line, f"{value[:24]!r}…, {len(value)} chars"))
            self.request_ids[line] = ""

    def entry(self, rec: Record) -> None:
        if self.request_ids and rec.line in self.request_ids:
            self.request_ids[rec.line] = rec.request_id

    def entries(self, batch: Entries) -> None:
        if self.request_ids:
            lines = batch.lines
            for line in self.request_ids:
                if line in lines:
                    self.entry(batch.record(lines.index(line)))

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, DigestFormat)
        for file, line, shown in later.bad[: _SHOW - len(self.bad)]:
            self.bad.append((file, line, shown))
            self.request_ids[line] = later.request_ids.get(line, "")
        self.count += later.count
        self.seen = self.seen or later.seen
        self.merge_excused(later)

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        if not self.seen and not self.format.hmac_values:
            own = self.format.own_integrity
            yield Skip("", f"a {self.format.title} log carries no hmac-sha256 digests"
                       + (f"; {own} are checked by tamper_evidence (and auditready verify-cloudtrail)" if own else ""))
            return
        for file, line, shown in self.bad:
            yield Finding(ID, "", f"A digested value is malformed ({shown}): it cannot be compared with "
                          "sys/audit-hash.", _BAD_DIGEST_FIX, where=f"{file}:{line}",
                          request_id=self.request_ids.get(line, ""))
        if self.count > len(self.bad):
            yield Finding(ID, "", f"{self.count - len(self.bad)} more digested values are malformed.",
                          _BAD_DIGEST_FIX)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from feed(DigestFormat(ctx), ctx).finish()
    if ctx.ledger is None or ctx.facts is None:
        return
    facts = ctx.facts
    if not facts.digests or not any(facts.digests.values()):
        why = facts.devices_error or "no audit device could be identified"
        yield Finding(ID, "", f"The vault's sys/audit-hash could not be asked ({why}), so no logged digest can be "
                      "verified.", "give the audit token sudo+read on sys/audit and update on sys/audit-hash/*, "
                      "and set audit_device in [tool.auditready] when several devices exist")
        return
    device = facts.device or ""
    candidates = [device] if device else list(facts.digests)

    def placements(dev: str) -> Iterator[tuple[str, str, AuditEntry, bool]]:
        """(secret, action, its first entry, whether the device's HMAC of the secret is in the action's
        entries), for every secret an action's matched entries should carry."""
        assert ctx.ledger is not None
        digests = facts.digests.get(dev, {})
        for a in ctx.ledger.actions:
            entries = ctx.match(a.name).entries
            if not entries:
                continue
            for name in a.secrets:
                d = digests.get(name)
                if d is not None:
                    yield name, a.name, entries[0], any(d in e.raw for e in entries)

    # Which device's digests does the log carry? With none named, the one whose digests are found most.
    best_dev = max(candidates, key=lambda dev: sum(found for *_, found in placements(dev)))
    digests = facts.digests.get(best_dev, {})
    missing: dict[str, tuple[AuditEntry, list[str]]] = {}
    for name, action, entry, found in placements(best_dev):
        if not found:
            missing.setdefault(name, (entry, []))[1].append(action)
    for name, (entry, actions) in missing.items():
        yield Finding(
            ID,
            "",
            f"The vault's own HMAC of <{name}> (sys/audit-hash/{best_dev}: {_short(digests[name])}) is not in the "
            f"entries of {', '.join(actions[:4])}{' …' if len(actions) > 4 else ''}, where that value was logged: "
            f"the log was not written by device {best_dev!r}, or the value is not HMAC'd.",
            "point --auditready-log at the file of the device named by audit_device (a re-enabled device has a new "
            "salt), and remove log_raw / audit_non_hmac_* keys",
            where=entry.where,
            request_id=entry.request_id,
        )

CHECK = Check(
    id=ID,
    title="HMAC digests verify against the vault",
    requirement="every digested value is hmac-sha256: + 64 hex; the vault's own sys/audit-hash/<device> of each "
    "canary and scenario token is found where that value was logged",
    run=run,
    visitor=DigestFormat,
)
