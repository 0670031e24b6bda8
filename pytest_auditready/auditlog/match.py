"""Pair each ledger action with the log entries that recorded it.

By request id where the vault returned one; else (denied requests carry none) by path (with its namespace) +
operation + identity within the action's time window widened by max_skew, taking the closest unclaimed entry, and
then the response that carries that request's id. An action nothing matched within that window is then looked for
within WIDE of it: the run's paths hold its run id and its identities are its own, so the entry is the action's
even when the vault's clock is off, and timestamp_accuracy (not completeness) says by how much. That second window
is centred where the vault's clock puts the action: the entries the vault's request ids tie to actions show how far
off it is (``clock_offset``), so a vault half an hour off has its denials and 204 answers found, not called dropped
(red team rt72, F3).

Look-alike actions (one path, operation and identity) are sent one after another and the vault logs them in that
order, so their entries are finally handed out in it (``_in_order``): a window that an offset's estimate or max_skew
moved by a millisecond cannot give one action its neighbour's entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from .model import Action, AuditEntry, in_scope

WIDE = 15 * 60 * 10**9  # ns: how far off a vault's clock may be for an entry still to be matched to its action


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
    pool: dict[str, list[AuditEntry]] = {}  # the entries by the path they name (on_path), in log order
    for e in entries:
        if e.type not in ("request", "response"):
            continue
        rid = e.request_id
        if rid:
            by_id.setdefault(rid, {}).setdefault(e.type, e)
        pool.setdefault(_norm(in_scope(e.scope, e.path)), []).append(e)
    claimed: set[int] = set()
    result: dict[str, Match] = {}
    for a in actions:
        found: dict[str, AuditEntry] = {}
        how = ""
        if a.request_id and a.request_id in by_id:
            found = dict(by_id[a.request_id])
            how = "request id"
        if _look_alikes(found, a, pool, by_id, claimed, digests, max_skew_ns):
            how = how or "path, operation, identity and time"
        result[a.name] = Match(found.get("request"), found.get("response"), how)
    offset = clock_offset(actions, by_id)
    for a in actions:  # what nothing matched in time: within WIDE, once every action took what lay in its window
        m = result[a.name]
        if m.request is not None or m.response is not None:
            continue
        found = {}
        _look_alikes(found, a, pool, by_id, claimed, digests, WIDE, offset)
        if found:
            result[a.name] = Match(found.get("request"), found.get("response"), "path, operation, identity")
    _in_order(actions, result, by_id, claimed, max_skew_ns)
    return result


def clock_offset(actions: Sequence[Action], by_id: Mapping[str, Mapping[str, AuditEntry]]) -> int:
    """How far (ns) the log's times are off the client's clock, as the entries the vault's request ids tie to actions
    show: the median of each request entry's time less its action's send time and each response entry's less its
    receive time; 0 without one."""
    offsets = sorted(
        ts.ns - (a.sent_ns if kind == "request" else a.received_ns)
        for a in actions if a.request_id
        for kind, e in by_id.get(a.request_id, {}).items()
        if (ts := e.timestamp) is not None)
    return offsets[len(offsets) // 2] if offsets else 0


def _in_order(actions: Sequence[Action], result: dict[str, Match], by_id: Mapping[str, Mapping[str, AuditEntry]],
              claimed: set[int], max_skew_ns: int) -> None:
    """Hand the entries matched to look-alike actions (one path, operation and identity; matched without a request
    id) back out in the order the actions were sent, a request with its own response: the first sent takes the
    earliest. Only where they make one pair per action (with the unclaimed other half of a pair the windows split),
    every time is readable and no two of the actions overlapped in time (the vault may log either first)."""
    groups: dict[tuple[str, str, str], list[Action]] = {}
    for a in actions:
        if result[a.name].by not in ("", "request id"):
            groups.setdefault((_norm(a.path), a.operation, a.identity), []).append(a)
    for group in groups.values():
        group.sort(key=lambda a: a.sent_ns)
        if len(group) < 2 or any(b.sent_ns <= a.received_ns for a, b in zip(group, group[1:])):
            continue
        units: dict[object, dict[str, AuditEntry]] = {}
        for a in group:
            for e in result[a.name].entries:
                units.setdefault(e.request_id or id(e), {})[e.type] = e
        halves = []
        for rid, unit in units.items():
            for kind in ("request", "response"):
                other = by_id.get(rid, {}).get(kind) if isinstance(rid, str) else None
                if kind not in unit and other is not None and id(other) not in claimed:
                    unit[kind] = other
                    halves.append(other)
        times = [min((e.timestamp.ns for e in u.values() if e.timestamp is not None), default=None)
                 for u in units.values()]
        if len(units) != len(group) or None in times:
            continue
        claimed.update(id(e) for e in halves)
        order = sorted(zip(times, range(len(times)), units.values()), key=lambda x: (x[0], x[1]))
        for a, (t, _i, u) in zip(group, order):
            near = t is not None and a.sent_ns - max_skew_ns <= t <= a.received_ns + max_skew_ns
            result[a.name] = Match(u.get("request"), u.get("response"),
                                   "path, operation, identity and time" if near else "path, operation, identity")


def _look_alikes(found: dict[str, AuditEntry], a: Action, pool: Mapping[str, Sequence[AuditEntry]],
                 by_id: Mapping[str, Mapping[str, AuditEntry]], claimed: set[int], digests: Mapping[str, str],
                 slack_ns: int, offset_ns: int = 0) -> bool:
    """Add to ``found`` (kind -> entry of action ``a``) what it lacks, and claim what it holds then: a response
    belongs to the request it answers, so once the request is found its own response (same request id) is the
    match, not the closest look-alike of another client (two runs with one token); else the closest look-alike
    within ``slack_ns`` of the action's span moved by ``offset_ns`` (``_closest``). Whether a look-alike was
    taken. ``pool``: the log's entries by the path they name."""
    took = False
    near = pool.get(_norm(a.path), ())
    if a.request_id:  # the vault said which request it logged: another request's entries are never its
        near = [e for e in near if not e.request_id or e.request_id == a.request_id]
    for kind in ("request", "response"):
        if kind in found:
            continue
        rid = found["request"].request_id if kind == "response" and "request" in found else ""
        pair = by_id.get(rid, {}).get(kind) if rid else None
        if pair is not None and id(pair) not in claimed:
            found[kind] = pair
            continue
        best = _closest(near, claimed, kind, a, digests, slack_ns, offset_ns)
        if best is not None:
            found[kind] = best
            took = True
    claimed.update(id(e) for e in found.values())
    return took


def on_path(e: AuditEntry, a: Action) -> bool:
    """Whether entry ``e`` names the path of action ``a``: the action's path names its namespace, the log's is
    relative to request.namespace.path."""
    return _norm(in_scope(e.scope, e.path)) == _norm(a.path)


def _closest(pool: Sequence[AuditEntry], claimed: set[int], kind: str, a: Action, digests: Mapping[str, str],
             slack_ns: int, offset_ns: int = 0) -> Optional[AuditEntry]:
    """The unclaimed entry of ``kind`` of ``pool`` (entries on the action's path) with the action's operation and
    identity closest in time to it, within ``slack_ns`` of its send and receive times (both moved by ``offset_ns``:
    the log's clock's)."""
    best: Optional[AuditEntry] = None
    best_gap = 0
    sent, received = a.sent_ns + offset_ns, a.received_ns + offset_ns
    for e in pool:
        if id(e) in claimed or e.type != kind:
            continue
        if e.operation != a.operation:
            continue
        if not _identity_ok(e, a, digests):
            continue
        ts = e.timestamp
        if ts is None:
            gap = slack_ns  # an unreadable time neither proves nor disproves the match
        elif ts.ns < sent - slack_ns or ts.ns > received + slack_ns:
            continue
        else:
            gap = abs(ts.ns - (sent + received) // 2)
        if best is None or gap < best_gap:
            best, best_gap = e, gap
    return best
