"""no_secret_leak: no canary value or scenario token in any encoding, and nothing detect-secrets would flag."""

from __future__ import annotations

from typing import Iterator, Union

from ..auditlog.model import Record
from ..scanner import LeakScanner, LineHits
from .base import Check, CheckContext, Finding, Skip, Visitor, feed

ID = "no_secret_leak"
_KNOWN_FIX = (
    "log HMAC'd values only: remove log_raw from every audit device, and take the key out of "
    "audit_non_hmac_request_keys / audit_non_hmac_response_keys of the mount (bao secrets tune)"
)
_GENERIC_FIX = (
    "rotate the exposed credential, then find how it reached the log in clear text (log_raw, a non-HMAC key, an "
    "audited header, a pipeline that adds fields)"
)
_MAX = 20


class Leaks(Visitor):
    """Scans raw text block by block (see scanner.LeakScanner); stops judging after _MAX findings."""

    def __init__(self, ctx: CheckContext) -> None:
        self.scanner = LeakScanner(ctx.secrets).__enter__()
        self.found: list[tuple[str, LineHits]] = []
        self.reported = 0
        self.request_ids: dict[tuple[str, int], str] = {}
        self.closed = False

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if self.reported >= _MAX:
            return
        for hits in self.scanner.scan_block(data, first_line):
            self.found.append((file, hits))
            self.request_ids[(file, hits.line)] = ""
            self.reported += len(hits.known) + len(hits.generic)

    def entry(self, rec: Record) -> None:
        if self.request_ids and (rec.file, rec.line) in self.request_ids:
            self.request_ids[(rec.file, rec.line)] = rec.request_id

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        if not self.closed:
            self.closed = True
            self.scanner.__exit__(None, None, None)
        shown = 0
        for file, hits in self.found:
            where = f"{file}:{hits.line}"
            rid = self.request_ids.get((file, hits.line), "")
            for name, encoding, key in hits.known:
                if shown >= _MAX:
                    break
                under = f" under key {key!r}" if key else ""
                what = "the log" if hits.parsed else "an unparseable line"
                yield Finding(ID, "", f"<{name}> appears in {what} ({encoding}){under}.", _KNOWN_FIX,
                              where=where, request_id=rid)
                shown += 1
            for g in hits.generic:
                if shown >= _MAX:
                    break
                if hits.parsed:
                    msg = f"A value under key {g.key!r} looks like a {g.kind} (sha256 {g.fingerprint})."
                else:
                    msg = f"An unparseable line holds what looks like a {g.kind} (sha256 {g.fingerprint})."
                yield Finding(ID, "", msg, _GENERIC_FIX, where=where, request_id=rid)
                shown += 1
        if self.reported >= _MAX:
            yield Finding(ID, "", f"Stopped after {_MAX} findings; there may be more.", _GENERIC_FIX)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from feed(Leaks(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="No secret in the log",
    requirement="no canary value and no scenario token appears in any encoding (raw, base64 standard/URL-safe/"
    "unpadded, hex, URL-encoded, JSON-escaped); detect-secrets finds nothing in values that are not HMAC digests",
    run=run,
    visitor=Leaks,
)
