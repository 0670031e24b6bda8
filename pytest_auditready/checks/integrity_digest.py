"""integrity_digest: digests are well formed, no token the vault always digests is in clear (log_raw), and the
vault's own sys/audit-hash is found where values were logged."""

from __future__ import annotations

import re
from typing import Iterator, Union

from ..auditlog.formats import format_of
from ..auditlog.model import HMAC_PREFIX, AuditEntry, Entries, Record
from ..scan.hyperscan import digest_checks
from .base import Check, CheckContext, Finding, Skip, Visitor, feed

ID = "integrity_digest"
_BAD_DIGEST_FIX = "ship entries unchanged: a digest must stay 'hmac-sha256:' followed by 64 lowercase hex digits"


def _short(digest: str) -> str:
    return digest[: len(HMAC_PREFIX) + 12] + "…"


# A digested value that is not exactly 64 lowercase hex digits before its closing quote (or escaped quote).
_MALFORMED = re.compile(rb'"hmac-sha256:(?![0-9a-f]{64}(?:"|\\"))')
_SHOW = 5
# Values Vault and OpenBao always write as digests unless the device logs raw (log_raw=true): the caller's token
# (auth.client_token, request.client_token, response.auth.client_token) and a response-wrapping token
# (response.wrap_info.token). Neither hmac_accessor nor a mount's audit_non_hmac_* keys reach them. One in clear
# means the entry was written raw: no value of it is a digest to verify, and every secret it holds is in clear.
# Matched also with its quotes escaped at any depth (a shipper's line inside a string: filebeat, Splunk, syslog).
# Two expressions, each led by a literal (several times faster than one alternation over every quote).
_RAW_TOKEN = re.compile(rb'client_token\\*":\\*"(?!hmac-sha256:|\\*")')
_RAW_WRAP = re.compile(rb'wrap_info\\*":\{[^{}]*?\\*"token\\*":\\*"(?!hmac-sha256:|\\*")')
_RAW_FIX = ("re-create the audit device without log_raw (log_raw=false) and rotate every token and secret the "
            "log holds; until then restrict and purge the log")


class DigestFormat(Visitor):
    """Every string value that starts with 'hmac-sha256:' is followed by exactly 64 lowercase hex digits, and (in a
    Vault/OpenBao log) no token the vault always digests is in clear."""

    def __init__(self, ctx: CheckContext) -> None:
        self.bad: list[tuple[str, int, str]] = []  # (file, line, shown) of the first few
        self.count = 0
        self.request_ids: dict[int, str] = {}
        # per block, in one pass: bit 1, a malformed digest may be there (_MALFORMED then finds where); bit 2, a
        # token the vault always digests may be in clear (_RAW_TOKEN and _RAW_WRAP then find where)
        self.flags = digest_checks()
        self.format = format_of(ctx.settings)
        self.seen = False  # any digest at all
        self.raw: list[tuple[str, int]] = []  # (file, line) of the first few entries written raw
        self.raw_count = 0

    def block(self, file: str, first_line: int, data: bytes) -> None:
        flags = self.flags(data) if self.flags is not None else 3
        if self.format.hmac_values and flags & 2:
            self._raw(file, first_line, data)
        if b"hmac-sha256:" not in data:
            return
        self.seen = True
        if not flags & 1:
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

    def _raw(self, file: str, first_line: int, data: bytes) -> None:
        """Count the lines of ``data`` with a value the vault always digests written in clear (``_RAW_TOKEN``,
        ``_RAW_WRAP``)."""
        starts = {data.rfind(b"\n", 0, m.start()) + 1 for m in _RAW_TOKEN.finditer(data)}
        if b"wrap_info" in data:
            starts.update(data.rfind(b"\n", 0, m.start()) + 1 for m in _RAW_WRAP.finditer(data))
        for ls in sorted(starts):
            self.raw_count += 1
            if len(self.raw) < _SHOW:
                line = first_line + data.count(b"\n", 0, ls)
                self.raw.append((file, line))
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
        for file, line in later.raw[: _SHOW - len(self.raw)]:
            self.raw.append((file, line))
            self.request_ids[line] = later.request_ids.get(line, "")
        self.raw_count += later.raw_count
        self.seen = self.seen or later.seen
        self.merge_excused(later)

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        if not self.seen and not self.format.hmac_values:
            own = self.format.own_integrity
            yield Skip("", f"a {self.format.title} log carries no hmac-sha256 digests"
                       + (f"; {own} are checked by tamper_evidence (and auditready verify-cloudtrail)" if own else ""))
            return
        for file, line in self.raw:
            yield Finding(ID, "", "The entry holds a token in clear where the vault always writes a digest "
                          "(client_token or wrap_info.token): its device logs raw (log_raw=true), so its values are "
                          "no digests to verify and every secret it holds is in clear.", _RAW_FIX,
                          where=f"{file}:{line}", request_id=self.request_ids.get(line, ""))
        if self.raw_count > len(self.raw):
            yield Finding(ID, "", f"{self.raw_count - len(self.raw)} more entries were written raw (log_raw).",
                          _RAW_FIX)
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
