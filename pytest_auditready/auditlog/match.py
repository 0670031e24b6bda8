"""Pair each ledger action with the log entries that recorded it.

By request id where the vault returned one; else (denied requests carry none) by path (with its namespace) +
operation + identity within the action's time window widened by max_skew, taking the closest unclaimed entry, and
then the response that carries that request's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from .model import Action, AuditEntry, in_scope


@dataclass(frozen=True)
class Match:
    request: Optional[AuditEntry] = None
    response: Optional[AuditEntry] = None
    by: str = ""  # "request id", "path, operation, identity and time", or "" when nothing matched

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        return tuple(e for e in (self.request, self.response) if e is not None)

    @property
    def complete(self) -> bool:
        return self.request is not None and self.response is not None


def _norm(path: str) -> str:
    return path.strip("/")


def _identity_ok(entry: AuditEntry, action: Action, token_digests: Mapping[str, str]) -> bool:
    if entry.display_name:
        return entry.display_name == action.display_name
    digest = token_digests.get(action.identity)
    return bool(digest) and entry.client_token == digest


def match_actions(
    actions: Sequence[Action],
    entries: Iterable[AuditEntry],
    max_skew_ns: int,
    token_digests: Optional[Mapping[str, str]] = None,
) -> dict[str, Match]:
    """``token_digests``: identity -> HMAC of its token, used when a log carries no display name."""
    digests = token_digests or {}
    by_id: dict[str, dict[str, AuditEntry]] = {}
    pool: list[AuditEntry] = []
    for e in entries:
        if e.type not in ("request", "response"):
            continue
        rid = e.request_id
        if rid:
            by_id.setdefault(rid, {}).setdefault(e.type, e)
        pool.append(e)
    claimed: set[int] = set()
    result: dict[str, Match] = {}
    for a in actions:
        found: dict[str, AuditEntry] = {}
        how = ""
        if a.request_id and a.request_id in by_id:
            found = dict(by_id[a.request_id])
            how = "request id"
        for kind in ("request", "response"):
            if kind in found:
                continue
            # A response belongs to the request it answers: once the request is found, its own response (same
            # request id) is the match, not the closest look-alike of another client (two runs with one token).
            pair = by_id.get(found["request"].request_id, {}).get(kind) if kind == "response" and "request" in \
                found and found["request"].request_id else None
            if pair is not None and id(pair) not in claimed:
                found[kind] = pair
                continue
            best: Optional[AuditEntry] = None
            best_gap = 0
            for e in pool:
                if id(e) in claimed or e.type != kind:
                    continue
                # the action's path names its namespace; the log's is relative to request.namespace.path
                if _norm(in_scope(e.scope, e.path)) != _norm(a.path) or e.operation != a.operation:
                    continue
                if not _identity_ok(e, a, digests):
                    continue
                ts = e.timestamp
                if ts is None:
                    gap = max_skew_ns  # an unreadable time neither proves nor disproves the match
                elif ts.ns < a.sent_ns - max_skew_ns or ts.ns > a.received_ns + max_skew_ns:
                    continue
                else:
                    mid = (a.sent_ns + a.received_ns) // 2
                    gap = abs(ts.ns - mid)
                if best is None or gap < best_gap:
                    best, best_gap = e, gap
            if best is not None:
                found[kind] = best
                how = how or "path, operation, identity and time"
        for e in found.values():
            claimed.add(id(e))
        result[a.name] = Match(found.get("request"), found.get("response"), how)
    return result
