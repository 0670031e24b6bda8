"""no_secret_leak: no canary value or scenario token in any encoding, and nothing detect-secrets would flag."""

from __future__ import annotations

from typing import Iterator, Union

from ..scanner import GenericScanner, KnownValues
from .base import Check, CheckContext, Finding, Skip

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


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    known = KnownValues(ctx.secrets)
    reported = 0
    for e in ctx.entries:
        if reported >= _MAX:
            break
        if known and known.find(e.raw):
            keys: dict[tuple[str, str], str] = {}  # (secret, encoding) -> the key it sat under
            for key, value in e.strings():
                for hit in known.find(value):
                    keys.setdefault((hit.name, hit.encoding), key)
            for hit in known.find(e.raw):
                key = keys.get((hit.name, hit.encoding), "")
                under = f" under key {key!r}" if key else ""
                yield Finding(ID, "", f"<{hit.name}> appears in the log ({hit.encoding}){under}.", _KNOWN_FIX,
                              where=e.where, request_id=e.request_id)
                reported += 1
    for bad in ctx.bad_lines:
        for hit in known.find(bad.raw) if known else []:
            yield Finding(ID, "", f"<{hit.name}> appears in an unparseable line ({hit.encoding}).", _KNOWN_FIX,
                          where=bad.where)
    with GenericScanner() as scanner:
        for e in ctx.entries:
            if reported >= _MAX:
                yield Finding(ID, "", f"Stopped after {_MAX} findings; there may be more.", _GENERIC_FIX)
                return
            for g in scanner.scan_strings(e.strings()):
                yield Finding(ID, "", f"A value under key {g.key!r} looks like a {g.kind} "
                              f"(sha256 {g.fingerprint}).", _GENERIC_FIX, where=e.where, request_id=e.request_id)
                reported += 1
        for bad in ctx.bad_lines:
            for g in scanner.scan_strings([("line", bad.raw)]):
                yield Finding(ID, "", f"An unparseable line holds what looks like a {g.kind} "
                              f"(sha256 {g.fingerprint}).", _GENERIC_FIX, where=bad.where)


CHECK = Check(
    id=ID,
    title="No secret in the log",
    requirement="no canary value and no scenario token appears in any encoding (raw, base64 standard/URL-safe/"
    "unpadded, hex, URL-encoded, JSON-escaped); detect-secrets finds nothing in values that are not HMAC digests",
    run=run,
)
