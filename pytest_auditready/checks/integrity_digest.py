"""integrity_digest: digests are well formed, and the vault's own sys/audit-hash is found where values were logged."""

from __future__ import annotations

import re
from typing import Iterator, Union

from ..auditlog.model import HMAC_PREFIX, HMAC_RE
from .base import Check, CheckContext, Finding, Skip

ID = "integrity_digest"
_BAD_DIGEST_FIX = "ship entries unchanged: a digest must stay 'hmac-sha256:' followed by 64 lowercase hex digits"
_DIGEST_IN_TEXT = re.compile(r"hmac-sha256:[^\"\\,}\]\s]*")


def _short(digest: str) -> str:
    return digest[: len(HMAC_PREFIX) + 12] + "…"


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    bad_shown = 0
    for e in ctx.entries:
        if HMAC_PREFIX not in e.raw:
            continue
        for _key, value in e.strings():
            if value.startswith(HMAC_PREFIX) and not HMAC_RE.match(value):
                if bad_shown < 5:
                    yield Finding(ID, "", f"A digested value is malformed ({value[:24]!r}…, {len(value)} chars): "
                                  "it cannot be compared with sys/audit-hash.", _BAD_DIGEST_FIX,
                                  where=e.where, request_id=e.request_id)
                bad_shown += 1
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
    # Which device's digests does the log carry? With none named, the one whose digests are found.
    best_dev, best_found = candidates[0], -1
    checked: list[tuple[str, str, object]] = []
    for dev in candidates:
        digests = facts.digests.get(dev, {})
        found = 0
        for a in ctx.ledger.actions:
            entries = ctx.match(a.name).entries
            if not entries:
                continue
            for name in a.secrets:
                d = digests.get(name)
                if d and any(d in e.raw for e in entries):
                    found += 1
        if found > best_found:
            best_dev, best_found = dev, found
    digests = facts.digests.get(best_dev, {})
    missing: dict[str, list[str]] = {}
    for a in ctx.ledger.actions:
        entries = ctx.match(a.name).entries
        if not entries:
            continue
        for name in a.secrets:
            d = digests.get(name)
            if d is None:
                continue
            if not any(d in e.raw for e in entries):
                missing.setdefault(name, []).append(a.name)
                checked.append((name, a.name, entries[0]))
    for name, actions in missing.items():
        first = next(c for c in checked if c[0] == name)
        entry = first[2]
        where = getattr(entry, "where", "")
        rid = getattr(entry, "request_id", "")
        yield Finding(
            ID,
            "",
            f"The vault's own HMAC of <{name}> (sys/audit-hash/{best_dev}: {_short(digests[name])}) is not in the "
            f"entries of {', '.join(actions[:4])}{' …' if len(actions) > 4 else ''}, where that value was logged: "
            f"the log was not written by device {best_dev!r}, or the value is not HMAC'd.",
            "point --auditready-log at the file of the device named by audit_device (a re-enabled device has a new "
            "salt), and remove log_raw / audit_non_hmac_* keys",
            where=where,
            request_id=rid,
        )


CHECK = Check(
    id=ID,
    title="HMAC digests verify against the vault",
    requirement="every digested value is hmac-sha256: + 64 hex; the vault's own sys/audit-hash/<device> of each "
    "canary and scenario token is found where that value was logged",
    run=run,
)
