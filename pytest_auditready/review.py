"""The access review of the evidence bundle: who read each secret, how often and when, who is new, and what looks
unusual, as review items for a person to look at (never a failure, never an exit code).

``Review`` is a streaming Visitor fed the same entries as the checks, in the same single read of a log. It keeps,
per secret path (named with its namespace; every path outside the vault's own ``sys/`` (but ``sys/raw``, the storage
under every mount), ``auth/`` and ``identity/`` endpoints, or the ``review_paths`` globs), per identity (display
name and entity id, as ``auditready access`` groups them) the requests and denied requests of each operation, the
first and last time, the source addresses and the token accessors (HMAC digests as logged; an accessor in clear is
shown only as a fingerprint). Each request entry counts once (the response of the same request is not counted
again); a request the vault refused counts as denied.
As ``auditready access`` counts them: an unwrap of a response-wrapped read (``sys/wrapping/unwrap``, linked to the
read, or to a rewrap of it, by the HMAC digests of the wrapping token) is operation ``unwrap`` of the path read, by
whoever unwrapped it; a request sent with a wrapping token itself (its only policy "response-wrapping"; its entry
carries its creator's display name) is by "holder of a wrapping token from <creator>"; a ``cubbyhole/`` path is each
token's own (``cubbyhole/x (the cubbyhole of token ...)``).
Kubernetes and CloudTrail logs are reviewed by what each request reached (``k8s_reach``, ``cloudtrail_reach``;
every Secret and every Secrets Manager secret and SSM parameter unless ``review_paths``), by the Kubernetes user
(with impersonation, "<user> as <impersonated user>") or the userIdentity ARN, from sourceIPs[0] or
sourceIPAddress: a list or watch of Secrets, a BatchGetSecretValue by filters, a GetParametersByPath name no
secret and count on what they asked for, with what they saw (``scope``, and ``unnamed`` in all).

Four patterns on reads (requests with operation ``read``, an unwrap, a Kubernetes or CloudTrail request that read
secrets) are flagged as review items:

- ``burst``: ``review_burst_reads`` reads of one path by one identity within ``review_burst_seconds`` (one item per
  run of reads that stays that dense);
- ``new_source``: a read from a source address the identity had not used before, once the first
  ``review_learning_days`` of the log are over (the addresses used in that span are what is known);
- ``off_hours``: reads outside ``review_hours`` on ``review_workdays`` in ``review_timezone`` (one item per path,
  identity and local day);
- ``denied_run``: ``review_denied_run`` or more denied reads in a row by one identity, each within
  ``review_denied_seconds`` of the one before (an allowed read, or a longer pause, ends a run).

A request that reached a standby of an HA cluster is logged there (its local attempt, refused "cannot write to
readonly storage"; a login's, "invalid request") and on the active node under another request id: the standby's
request entry is taken back from the counts where the completeness pass of its file (the same read) found the
active node's entries in a file of the run (``completeness.forwarded``, by connection, path, operation and token;
``fold_forwarded``, when the state is made), so that the review counts it once, as ``auditready access`` does, and
says how many it folded.

Memory is bounded whatever the log's size: at most ``MAX_PATHS`` paths, ``MAX_IDENTITIES`` identities per path and
overall, ``_KEEP`` addresses and accessors each, ``MAX_ITEMS`` items a pattern; what does not fit is counted.

The state is plain data (``state``/``from_state``, JSON-able and picklable): a Review that read one part of a log
``merge``-s the state of a Review that read the part that follows, with the same result as one pass over both
(counts beyond the caps aside: those stay totals, attributed to ``*_more``).
"""

from __future__ import annotations

import datetime
import re
import zlib
from itertools import compress
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from .auditlog.model import Entries, in_scope, parse_time
from .checks.access_policy import (
    CLOUDTRAIL_SOURCE_BYTES,
    COUNT,
    K8S_HELD,
    K8S_IDS,
    K8S_REFUSED,
    PathMatch,
    RawLines,
    Reach,
    Who,
    cloudtrail_reach,
    holder,
    k8s_created,
    k8s_once,
    k8s_reach,
    k8s_user,
    line_object,
    paths_regex,
    who,
    who_of,
)
from .checks.base import Visitor, bounded, iso_ns
from .checks.completeness import TRACES, stamps_of, told_of, trace_at, trace_hint
from .cli.access import (
    _CUBBYHOLE,
    _K8S_LAST_STAGES,
    _REWRAPS,
    _UNWRAP,
    _WRAPPED_RESPONSE,
    _WRAPPING_POLICY,
    _accessor,
    _sub,
    aws_caller,
    unwraps,
    wrap_asked,
    wrap_asked_raw,
    wrapped_before,
)

if TYPE_CHECKING:
    from .config import Settings

SCHEMA = "auditready-review/1"
PATTERNS = ("burst", "new_source", "off_hours", "denied_run")
MAX_PATHS = 500
MAX_IDENTITIES = 1000  # overall; per path _KEEP
MAX_ITEMS = 200  # kept per pattern; the rest counted
_KEEP = 50
# Request ids kept per log (a bottom-k sample: those of the lowest CRC-32, the same in every file that holds them),
# to tell the files of a run that hold the same requests again: several audit devices' copies (``merged``).
_SAMPLE = 4096
_EPISODES = 20  # bursts (and denied runs) kept per key
DEFAULT_NEW_DAYS = 7
_S = 1_000_000_000
_DAY = 86_400 * _S
_MINUTE = 60 * _S
_REQUEST = "request".__eq__
# the vault's own endpoints, left out by default; but sys/raw, which reads the storage under every mount past the
# ACLs: its requests are reviewed as a secret path's
_OWN = re.compile(r"(?!sys/raw(?:/|\Z))(?:sys|auth|identity)(?:/|\Z)")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORMATS = ("vault", "k8s", "cloudtrail")
# what is reviewed without review_paths: Kubernetes Secrets (a list or watch of them reaches each), and every
# secret or parameter a Secrets Manager or SSM record reached
_DEFAULT_PATHS = {"k8s": ("api/v1/namespaces/+/secrets/*", "api/v1/secrets/*"), "cloudtrail": ("*",)}
_WRAPS = 10_000  # wrapping tokens kept (the oldest forgotten first)
_UNLINKED = 1_000  # unwraps (and rewraps) of tokens not wrapped in what was read, kept for a part read before
_WRAP_INFO = b'"wrap_info":{'
_DEFAULT_SAID = {"vault": "every path but sys/ (sys/raw included), auth/, identity/", "k8s": "every Kubernetes Secret",
                 "cloudtrail": "every Secrets Manager secret and SSM parameter"}


def since_ns(text: Optional[str]) -> Optional[int]:
    """``review_since`` as ns since the epoch: an RFC 3339 time, or a UTC date (its first instant)."""
    if not text:
        return None
    from .cli.access import _bound

    return _bound(text, "review_since", False)


def _add(d: dict[str, int], key: str, n: int = 1) -> int:
    """Count ``key`` in ``d`` (at most _KEEP distinct keys); what did not fit (0 or ``n``)."""
    if key in d:
        d[key] += n
        return 0
    if len(d) >= _KEEP:
        return n
    d[key] = n
    return 0


def _lo(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return b if a is None else a if b is None else max(a, b)


class Burst:
    """Dense runs of reads of one path by one identity: a read is in a burst when it and the ``n - 1`` reads before
    it lie within ``w`` ns. An episode is a run of consecutive reads in a burst: [start (the first read of its
    first window), end, reads, lead]. The first ``n - 1`` reads (``head``) cannot be judged without what came
    before them; ``lead`` marks an episode that begins at the first read that could: ``merge`` joins it to an
    episode still open at the end of the part before."""

    __slots__ = ("closed", "cur", "down", "head", "more", "reads", "tail")

    def __init__(self) -> None:
        self.reads = 0
        self.head: list[int] = []
        self.tail: list[int] = []  # the last n - 1 read times
        self.down = 0  # how many times ``tail`` goes back in time from one read to the next (-1: count it again)
        self.closed: list[list[int]] = []
        self.cur: Optional[list[int]] = None
        self.more = 0

    def add(self, t: int, n: int, w: int) -> None:
        self.reads += 1
        tail = self.tail
        down = self.down
        if down < 0:
            down = sum(1 for a, b in zip(tail, tail[1:]) if b < a)
        if len(tail) >= n - 1:
            lo = hi = t  # of the window: the last n - 1 reads before and this one
            if n > 1:
                if down == 0 and t >= tail[-1]:  # in time order (a log's usual case): its first and this one
                    lo = tail[len(tail) - (n - 1)]
                else:
                    window = tail[len(tail) - (n - 1):]
                    lo, hi = min(lo, min(window)), max(hi, max(window))
            if hi - lo <= w:
                if self.cur is not None:
                    self.cur[1], self.cur[2] = t, self.cur[2] + 1
                else:
                    self.cur = [lo, t, n, int(self.reads == n)]
            elif self.cur is not None:
                self._close(self.cur)
                self.cur = None
        elif self.reads <= n - 1:
            self.head.append(t)
        if tail and t < tail[-1]:
            down += 1
        tail.append(t)
        if len(tail) > max(n - 1, 0):
            if len(tail) > 1 and tail[1] < tail[0]:
                down -= 1
            del tail[0]
        self.down = down

    def _close(self, ep: list[int]) -> None:
        if len(self.closed) < _EPISODES:
            self.closed.append(ep)
        else:
            self.more += 1

    def merge(self, b: "Burst", n: int, w: int) -> None:
        """Fold in ``b``, which read the reads that follow."""
        if not b.reads:
            return
        total = self.reads + b.reads
        if not self.reads:
            self.head, self.tail, self.closed, self.more = list(b.head), list(b.tail), [list(e) for e in b.closed], \
                b.more
            self.down = -1
            self.cur = list(b.cur) if b.cur is not None else None
            self.reads = total
            return
        for t in b.head:  # judged now that the reads before them are known
            self.add(t, n, w)
        if b.reads > len(b.head):  # b judged its own reads after its head
            eps = [list(e) for e in b.closed]
            cur = list(b.cur) if b.cur is not None else None
            first = eps[0] if eps else cur
            if first is not None and first[3]:
                first[3] = 0
                if self.cur is not None:  # one episode across the boundary
                    first[0], first[2], first[3] = self.cur[0], self.cur[2] + first[2] - (n - 1), self.cur[3]
                    self.cur = None
            if self.cur is not None:
                self._close(self.cur)
            for e in eps:
                self._close(e)
            self.more += b.more
            self.cur, self.tail, self.down = cur, list(b.tail), -1
        self.reads = total

    def episodes(self) -> list[list[int]]:
        return [*self.closed, *([self.cur] if self.cur is not None else [])]

    def state(self) -> list[Any]:
        return [self.reads, self.head, self.tail, self.closed, self.cur, self.more]

    @classmethod
    def of(cls, s: list[Any]) -> "Burst":
        b = cls()
        b.reads, b.head, b.tail, b.down = s[0], list(s[1]), list(s[2]), -1
        b.closed, b.cur, b.more = [list(e) for e in s[3]], (list(s[4]) if s[4] is not None else None), s[5]
        return b


class Denied:
    """Runs of denied reads by one identity: [start, end, reads, first path]. A run ends at an allowed read, or when
    the next denied read comes more than ``gap`` ns after the last. Until its first run ended a part cannot tell
    whether that run continues one of the part before: ``lead`` keeps it for ``merge`` to join."""

    __slots__ = ("closed", "ended", "lead", "more", "run")

    def __init__(self) -> None:
        self.ended = False  # the first run (or an allowed read before any) has ended: ``lead`` is final
        self.lead: Optional[list[Any]] = None
        self.run: Optional[list[Any]] = None
        self.closed: list[list[Any]] = []
        self.more = 0

    def add(self, t: int, path: str, denied: bool, n: int, gap: int) -> None:
        run = self.run
        if denied:
            if run is not None and t - run[1] <= gap:
                run[1], run[2] = t, run[2] + 1
                return
            if run is not None:
                self._end(run, n)
            self.run = [t, t, 1, path]
        elif run is not None:
            self._end(run, n)
            self.run = None
        else:
            self.ended = True

    def _end(self, run: list[Any], n: int) -> None:
        if not self.ended:
            self.ended, self.lead = True, run
        elif run[2] >= n:
            if len(self.closed) < _EPISODES:
                self.closed.append(run)
            else:
                self.more += 1

    def merge(self, b: "Denied", n: int, gap: int) -> None:
        first = b.lead if b.ended else b.run
        if first is not None and self.run is not None and first[0] - self.run[1] <= gap:
            first = [self.run[0], first[1], self.run[2] + first[2], self.run[3]]  # one run across the boundary
        elif self.run is not None:
            self._end(self.run, n)
        elif b.ended and first is None:
            self.ended = True
        self.run = None
        if not b.ended:
            self.run = list(first) if first is not None else None
            return
        if first is not None:
            self._end(list(first), n)
        for r in b.closed:
            self._end(list(r), n)
        self.more += b.more
        self.run = list(b.run) if b.run is not None else None

    def runs(self, n: int) -> list[list[Any]]:
        return [r for r in (self.lead, *self.closed, self.run) if r is not None and r[2] >= n]

    def state(self) -> list[Any]:
        return [self.ended, self.lead, self.run, self.closed, self.more]

    @classmethod
    def of(cls, s: list[Any]) -> "Denied":
        d = cls()
        d.ended, d.lead, d.run = s[0], s[1], s[2]
        d.closed, d.more = [list(r) for r in s[3]], s[4]
        return d


class PathIdentity:
    """One identity's requests on one path."""

    __slots__ = ("accessors", "accessors_more", "burst", "first", "last", "ops", "sources", "sources_more")

    def __init__(self) -> None:
        self.ops: dict[str, list[int]] = {}  # operation -> [requests, denied]
        self.first: Optional[int] = None
        self.last: Optional[int] = None
        self.sources: dict[str, int] = {}
        self.sources_more = 0
        self.accessors: dict[str, int] = {}
        self.accessors_more = 0
        self.burst = Burst()

    def merge(self, b: "PathIdentity", n: int, w: int) -> None:
        for op, (r, d) in b.ops.items():
            c = self.ops.setdefault(op, [0, 0])
            c[0] += r
            c[1] += d
        self.first, self.last = _lo(self.first, b.first), _hi(self.last, b.last)
        for k, v in b.sources.items():
            self.sources_more += _add(self.sources, k, v)
        for k, v in b.accessors.items():
            self.accessors_more += _add(self.accessors, k, v)
        self.sources_more += b.sources_more
        self.accessors_more += b.accessors_more
        self.burst.merge(b.burst, n, w)

    def state(self) -> list[Any]:
        return [self.ops, self.first, self.last, self.sources, self.sources_more, self.accessors,
                self.accessors_more, self.burst.state()]

    @classmethod
    def of(cls, s: list[Any]) -> "PathIdentity":
        p = cls()
        p.ops = {k: list(v) for k, v in s[0].items()}
        p.first, p.last, p.sources, p.sources_more = s[1], s[2], dict(s[3]), s[4]
        p.accessors, p.accessors_more, p.burst = dict(s[5]), s[6], Burst.of(s[7])
        return p


class PathStat:
    """One reviewed path; ``scope``: what the requests that named no secret saw ("all secrets in namespace
    prod"), empty for a secret named."""

    __slots__ = ("denied", "requests", "scope", "who", "who_more")

    def __init__(self) -> None:
        self.scope = ""
        self.requests = 0
        self.denied = 0
        self.who: dict[tuple[str, str], PathIdentity] = {}
        self.who_more = 0  # requests by identities beyond the cap


class IdentityStat:
    """One identity over every reviewed path: first and last request, the addresses its reads came from (address
    -> [first time, path, reads]), and its runs of denied reads."""

    __slots__ = ("denied", "first", "last", "requests", "sources", "sources_more")

    def __init__(self) -> None:
        self.requests = 0
        self.first: Optional[int] = None
        self.last: Optional[int] = None
        self.sources: dict[str, list[Any]] = {}
        self.sources_more = 0
        self.denied = Denied()


class Review(Visitor):
    """Fed a Vault/OpenBao log's entries (and raw blocks), builds the access review; ``report`` gives it as data."""

    def __init__(self, settings: "Settings", leave_out: tuple[str, ...] = ()) -> None:
        self.settings = settings
        # A live run's own canary folders (<kv_mount>/data|metadata/<prefix>/<run id>): counted as any path, but what
        # the run did there is its ledger's, no item to review (red team rt40, F10: every clean run outside working
        # hours listed its own reads)
        self.leave_out = leave_out
        self._setup()
        self.first: Optional[int] = None  # the log's span: every entry with a readable time
        self.last: Optional[int] = None
        self.requests = 0  # request entries on reviewed paths
        self.denied = 0
        self.untimed = 0  # reviewed reads without a readable time: counted, not judged for patterns
        self.paths: dict[str, PathStat] = {}
        self.paths_more = 0  # requests on paths beyond MAX_PATHS
        self.idents: dict[tuple[str, str], IdentityStat] = {}
        self.idents_more = 0
        self.off: dict[tuple[str, str, str, str], list[int]] = {}  # (path, name, entity, local day) -> [n, first, last]
        self.off_more = 0
        self.formats = {settings.log_format} & set(FORMATS)  # of the logs reviewed
        self.unnamed = 0  # Kubernetes and CloudTrail requests that named no secret but saw them (a list of Secrets)
        # Response wrapping: wrapping token / accessor (as logged) -> the path its response wrapped; the unwraps
        # (and rewraps) of a token not wrapped in what was read, for a part read before it (``fold``):
        # [[tokens], display name, entity id, accessor, source, ns, denied] ([old token, [new tokens]])
        self.wraps: dict[str, str] = {}
        self.unlinked: list[list[Any]] = []
        self.rewraps: list[list[Any]] = []
        self.unlinked_more = 0
        # Kubernetes: requests seen at RequestReceived and at no later stage yet, by auditID (counted at the end
        # unless their last stage comes), and the auditIDs counted (a request counts once)
        self.received: dict[str, list[Any]] = {}
        self.counted: dict[str, None] = {}
        # Vault/OpenBao: the sample of counted requests' ids ((CRC-32, id), ascending, at most _SAMPLE), and how many
        # of a file's were in the files before it (``merged``): the same requests counted once per copy
        self._sample: dict[str, int] = {}  # request id -> CRC-32: the sample and more (``_trim``)
        self._top: Optional[tuple[int, str]] = None  # the sample's greatest, once it is full
        self.again = 0
        # Vault/OpenBao: the forwarding traces of an HA standby on reviewed paths, each [file, request id, SURE, path,
        # display name, entity id, accessor, source, operation] as its request entry was counted, for
        # ``fold_forwarded``; how many were folded, and how many SURE ones no file of the run paired
        self.traces: list[list[Any]] = []
        self.traces_more = 0
        self.folded = 0
        self.unforwarded = 0

    def _setup(self) -> None:
        s = self.settings
        self.match = paths_regex(s.review_paths).match if s.review_paths else None
        self.fmt = s.log_format
        self.other = self.fmt in ("k8s", "cloudtrail")  # else read as Vault/OpenBao (a live run's log too)
        self.reach = PathMatch(s.review_paths or _DEFAULT_PATHS.get(self.fmt, ("*",)))  # Kubernetes, CloudTrail
        self._raw = RawLines()  # the block being fed, split into lines only when a line is needed (not Vault's)
        self._wrapped = False  # the block being fed holds a "wrap_info" object
        self._cubby = False  # a cubbyhole path was reviewed: each token's is its own
        self._file, self._first_line, self._data = "", 0, b""  # the block being fed (``block``)
        self._trace_hint = False  # the block being fed may hold a forwarding trace (``trace_hint``)
        self._auth: dict[bytes, tuple[str, str, str, Optional[bool]]] = {}  # auth object bytes -> who (_who)
        self._shown: dict[str, str] = {}  # accessor -> as shown (``_decoded``)
        self._reviewed: dict[str, bool] = {}  # path -> reviewed (_reviewable)
        self._minutes: dict[int, tuple[bool, str]] = {}  # minute -> (within working hours, local day)
        self.n, self.w = s.review_burst_reads, int(s.review_burst_seconds * _S)
        self.deny_n, self.deny_gap = s.review_denied_run, int(s.review_denied_seconds * _S)
        self.since = since_ns(s.review_since)
        h0, h1 = s.review_hours.split("-")
        self.h0, self.h1 = int(h0[:2]) * 60 + int(h0[3:]), int(h1[:2]) * 60 + int(h1[3:])
        self.days = frozenset(WEEKDAYS.index(d) for d in s.review_workdays)
        self.tz = _zone(s.review_timezone)

    # -- pickling: the settings and the state, never the last raw block ---------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "state": self.state()}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__init__(d["settings"])  # type: ignore[misc]
        self._load(d["state"])

    # -- feeding ----------------------------------------------------------------------------------------------
    def block(self, file: str, first_line: int, data: bytes) -> None:
        self._file, self._first_line, self._data = file, first_line, data
        self._raw.block(file, first_line, data)
        if not self.other:
            self._wrapped = _has_wrap_info(data)
            self._trace_hint = trace_hint(data)

    def entries(self, batch: Entries) -> None:
        times = batch.time
        if times:
            if batch.utc_times():
                lo, hi = parse_time(min(times)), parse_time(max(times))
                self.first = _lo(self.first, lo[0] if lo else None)
                self.last = _hi(self.last, hi[0] if hi else None)
            else:
                for t in times:
                    p = parse_time(t)
                    if p is not None:
                        self.first, self.last = _lo(self.first, p[0]), _hi(self.last, p[0])
        if self.other:
            self._other(batch)
            return
        self._vault(batch)
        if self._wrapped or _UNWRAP in batch.resource or _WRAPPED_RESPONSE in batch.resource:  # rare, at C speed
            self._wrapping(batch)
        if self._trace_hint and "response" in batch.type:
            self._traces(batch)

    def _traces(self, batch: Entries) -> None:
        """Keep the forwarding traces of the batch (``completeness.trace_at``) on reviewed paths, with where their
        request entry was counted (path, identity, accessor, source, operation, as ``_count`` was given them)."""
        rel, scope, get = batch.resource, batch.scope, self._raw.get
        stamps = None
        for i, kind in enumerate(batch.type):
            if kind != "response" or not batch.result[i].startswith("error: "):
                continue
            stamps = stamps_of(batch) if stamps is None else stamps
            trace = trace_at(batch, i, stamps)
            if trace is None:
                continue
            path = rel[i] if scope is None else in_scope(scope[i], rel[i])
            if not (self._reviewable(path) if scope is None else self._reviewable(path, rel[i])):
                continue
            raw = get(batch.file, batch.lines[i])
            w = who(raw, self.settings.log_prefix) if raw is not None else None
            if w is None:
                continue  # no line at hand: where its request was counted is not known
            w = holder(w)
            acc = _accessor(w.accessor) if w.accessor else ""
            if self._cubby and rel[i].startswith(_CUBBYHOLE):
                path = _cubbyhole(path, acc)
            op = (batch.action[i] or "(none)") + (" (wrapped)" if wrap_asked_raw(raw, self.settings.log_prefix)
                                                    else "")
            if len(self.traces) < TRACES:
                self.traces.append([trace.file, trace.rid, trace.sure, path, w.display_name, w.entity_id, acc,
                                    batch.source[i], op])
            else:
                self.traces_more += 1

    def fold_forwarded(self) -> None:
        """Take each forwarding trace the completeness pass of its file judged (``completeness.told_of``): one
        paired with its forwarded entries is taken back from the counts (the active node's entries count the
        request), a SURE one with none in the run is counted as such; one no pass judged stays held (counted at the
        standby, as before)."""
        held = []
        for row in self.traces:
            paired = told_of(row[0], row[1])
            if paired is None:
                held.append(row)
            elif paired and self._uncount(*row[3:]):
                self.folded += 1
            elif not paired and row[2]:
                self.unforwarded += 1
        self.traces = held

    def _uncount(self, path: str, dn: str, eid: str, acc: str, source: str, op: str) -> bool:
        """Take back one request ``_count`` counted with these (its counts, source and accessor; what a read added
        to the patterns stays); False where it was not counted there (past a limit of what is kept)."""
        p = self.paths.get(path)
        pi = p.who.get((dn, eid)) if p is not None else None
        c = pi.ops.get(op) if pi is not None else None
        if p is None or pi is None or c is None or c[0] < 1:
            return False
        self.requests -= 1
        p.requests -= 1
        c[0] -= 1
        if not c[0]:
            del pi.ops[op]
        for d, key, more in ((pi.sources, source, "sources_more"), (pi.accessors, acc, "accessors_more")):
            if key in d:
                d[key] -= 1
                if not d[key]:
                    del d[key]
            elif key and getattr(pi, more):
                setattr(pi, more, getattr(pi, more) - 1)
        ident = self.idents.get((dn, eid))
        if ident is not None:
            ident.requests -= 1
        return True

    def _vault(self, batch: Entries) -> None:
        """A Vault/OpenBao batch: its request entries on reviewed paths."""
        times = batch.time
        # Only request entries on reviewed paths count: picked from the columns at C speed, each distinct path
        # judged once.
        resource, reviewed, scope = batch.resource, self._reviewed, batch.scope
        picked: list[int] = []
        if scope is None:
            for i in compress(range(len(batch.type)), map(_REQUEST, batch.type)):
                ok = reviewed.get(resource[i])
                if ok is None:
                    ok = self._reviewable(resource[i])
                if ok:
                    picked.append(i)
        else:  # some requests were made in a namespace: each path is named with its namespace (in_scope)
            resource = [in_scope(ns, r) for ns, r in zip(scope, resource)]
            for i in compress(range(len(batch.type)), map(_REQUEST, batch.type)):
                if self._reviewable(resource[i], batch.resource[i]):
                    picked.append(i)
        if picked and _WRAPPED_RESPONSE in batch.resource:  # a wrapping token's read of its response: an unwrap,
            rel, get = batch.resource, self._raw.get     # counted on the path wrapped (``_wrapping``)
            picked = [i for i in picked if rel[i] != _WRAPPED_RESPONSE
                      or not unwraps(rel[i], batch.action[i], get(batch.file, batch.lines[i]))]
        if not picked:
            return
        self._sampled([batch.request_id[i] for i in picked])
        stamps = batch.times_ns() if batch.utc_times() else None
        if batch.decoded is not None:  # who made each request, from the line structs the reader decoded
            self._decoded(batch, resource, picked, stamps)
            return
        # The raw line of each picked entry, when the entries are of the block being fed: walked to from the
        # line before (the picked lines ascend), never splitting the whole block.
        data = self._data if batch.file == self._file else None
        at, pos, size = self._first_line, 0, len(self._data)
        who_of, count, cubby, rel = self._who, self._count, self._cubby, batch.resource
        source, action, result, lines = batch.source, batch.action, batch.result, batch.lines
        for i in picked:
            t = times[i]
            ns: Optional[int]
            if stamps is not None:
                ns = stamps[i]
            else:
                ts = parse_time(t)
                ns = ts[0] if ts is not None else None
            raw = None
            ln = lines[i]
            if data is not None and ln < at:  # not after the line before: walk from the block's first line
                at, pos = self._first_line, 0
            if data is not None and ln >= at:
                while at < ln and pos <= size:
                    pos = data.find(b"\n", pos) + 1 or size + 1
                    at += 1
                if pos <= size:
                    end = data.find(b"\n", pos)
                    raw = data[pos:end if end >= 0 else size]
                    if raw[-1:] == b"\r":
                        raw = raw[:-1]
            dn, eid, acc, denied = who_of(raw, batch.identity[i], result[i])
            path = resource[i]
            if cubby and rel[i].startswith(_CUBBYHOLE):
                path = _cubbyhole(path, acc)
            op = action[i] or "(none)"
            if wrap_asked_raw(raw, self.settings.log_prefix):
                op += " (wrapped)"  # its caller got a wrapping token: whoever unwraps it reads the secret
            count(path, dn, eid, acc, source[i], op, ns, denied)

    @property
    def sample(self) -> list[tuple[int, str]]:
        """The sample of the request ids counted: the _SAMPLE least (CRC-32, id), ascending."""
        self._trim()
        return sorted((c, r) for r, c in self._sample.items())

    def _sampled(self, ids: Iterable[str]) -> None:
        """Take the request ids ``ids`` into the sample where they belong."""
        top, d = self._top, self._sample
        for c, rid in zip(map(zlib.crc32, map(str.encode, ids)), ids):
            if rid and (top is None or (c, rid) < top):
                d[rid] = c
        if len(d) >= 2 * _SAMPLE:
            self._trim()

    def _trim(self) -> None:
        """Down to the _SAMPLE least (the rest can never be among them again)."""
        if len(self._sample) > _SAMPLE:
            kept = sorted((c, r) for r, c in self._sample.items())[:_SAMPLE]
            self._sample = {r: c for c, r in kept}
            self._top = kept[-1]

    def _decoded(self, batch: Entries, resource: list[str], picked: list[int], stamps: Optional[list[int]]) -> None:
        """``entries`` for a batch with its decoded Vault/OpenBao lines: display name, entity id and accessor from
        each line's ``auth`` (sent with a wrapping token: its holder, ``access_policy.holder``), refused when the line
        has an error or its policies did not allow it (what ``_who`` reads from the raw line). ``resource``: each
        entry's path as the review names it."""
        decoded, shown, count, cubby, rel = batch.decoded, self._shown, self._count, self._cubby, batch.resource
        assert decoded is not None
        source, action, result, times = batch.source, batch.action, batch.result, batch.time
        for i in picked:
            e = decoded[i]
            a = e.auth
            if stamps is not None:
                ns: Optional[int] = stamps[i]
            else:
                ts = parse_time(times[i])
                ns = ts[0] if ts is not None else None
            denied = result[i].startswith("error:") or bool(e.error)
            if a is None:
                dn = eid = acc = ""
            else:
                dn, eid, acc = a.display_name, a.entity_id, a.accessor
                if a.token_policies == [_WRAPPING_POLICY] and (dn or eid):  # sent with a wrapping token itself
                    held = holder(Who(dn, eid, policies=(_WRAPPING_POLICY,)))
                    dn, eid = held.display_name, held.entity_id
                if acc:
                    got = shown.get(acc)
                    if got is None:
                        if len(shown) >= 4096:
                            shown.clear()
                        got = shown[acc] = _accessor(acc)
                    acc = got
                pr = a.policy_results
                denied = denied or (pr is not None and pr.allowed is False)
            path = resource[i]
            if cubby and rel[i].startswith(_CUBBYHOLE):
                path = _cubbyhole(path, acc)
            op = action[i] or "(none)"
            request = e.request
            if request is not None and request.wrap_ttl and request.wrap_ttl != "0":
                op += " (wrapped)"  # its caller got a wrapping token: whoever unwraps it reads the secret
            count(path, dn, eid, acc, source[i], op, ns, denied)

    def _reviewable(self, path: str, relative: Optional[str] = None) -> bool:
        """Whether request entries on ``path`` are reviewed (kept by path: a log names few paths). ``relative``:
        the path within its namespace, when ``path`` names one (the vault's own endpoints are in every namespace);
        such answers are not kept (the same text could name another namespace's own endpoint). A folder's
        listing is logged with a trailing '/', which a review path without it names (as a Vault policy path
        does, ``access_policy.path_matches``)."""
        match = self.match
        own = relative if relative is not None else path
        ok = bool(path) and ((match(path) is not None or (path.endswith("/") and match(path[:-1]) is not None))
                             if match is not None else _OWN.match(own) is None)
        if ok and own.startswith(_CUBBYHOLE):
            self._cubby = True
        if relative is None:
            if len(self._reviewed) >= 4096:
                self._reviewed.clear()
            self._reviewed[path] = ok
        return ok

    def _who(self, raw: Optional[bytes], identity: str, result: str) -> tuple[str, str, str, bool]:
        """Display name, entity id, accessor as shown (``access``'s form) and whether the token's policies refused
        it, from the raw line (``access_policy.who``; ``identity`` and no more when the raw line is not at hand).
        These depend on the entry's ``auth`` object alone, so they are kept by its exact bytes when it precedes
        ``request`` as Vault/OpenBao write it: a token's repeated requests are read once."""
        if raw is None:
            return identity, "", "", False
        key = b""
        a = raw.find(b'"auth":{')
        if a >= 0:
            z = raw.find(b'"request":{', a)
            key = raw[a:z] if z > 0 else b""
        error = result.startswith("error:")
        got = self._auth.get(key) if key else None
        if got is None or (got[3] is None and not error):
            w = who(raw, self.settings.log_prefix)
            if w is None:
                return identity, "", "", False
            w = holder(w)  # sent with a wrapping token itself: by its holder, not its creator (rt71, F4)
            # a line with an error is refused whatever its auth says: what its auth alone says is not known then
            got = (w.display_name, w.entity_id, _accessor(w.accessor) if w.accessor else "",
                   None if error else w.refused)
            if key:
                if len(self._auth) >= 4096:
                    self._auth.clear()
                self._auth[key] = got
        return got[0], got[1], got[2], error or bool(got[3])

    def _count(self, path: str, dn: str, eid: str, acc: str, source: str, op: str, ns: Optional[int],
               denied: bool, read: bool = False, again: bool = False, served: bool = True) -> None:
        """Count one request on ``path``: a read (for the patterns) when ``op`` is "read" or ``read`` says so;
        ``again``: the same request as the call before, on another path it reached (counted once overall);
        ``served``: not answered with an error that gave nothing (a Kubernetes 404, 429 or 500)."""
        if not again:
            self.requests += 1
            self.denied += denied
        p = self.paths.get(path)
        if p is None:
            if len(self.paths) >= MAX_PATHS:
                self.paths_more += not again
                return
            p = self.paths[path] = PathStat()
        p.requests += 1
        p.denied += denied
        key = (dn, eid)
        pi = p.who.get(key)
        if pi is None:
            if len(p.who) >= _KEEP:
                p.who_more += 1
                return
            pi = p.who[key] = PathIdentity()
        c = pi.ops.get(op)
        if c is None:
            c = pi.ops[op] = [0, 0]
        c[0] += 1
        c[1] += denied
        if ns is not None:
            if pi.first is None or ns < pi.first:
                pi.first = ns
            if pi.last is None or ns > pi.last:
                pi.last = ns
        if source:
            d = pi.sources
            if source in d:
                d[source] += 1
            elif len(d) < _KEEP:
                d[source] = 1
            else:
                pi.sources_more += 1
        if acc:
            d = pi.accessors
            if acc in d:
                d[acc] += 1
            elif len(d) < _KEEP:
                d[acc] = 1
            else:
                pi.accessors_more += 1
        ident = self.idents.get(key) if not again else None  # ``again``: counted at the request's first path
        if ident is None and not again:
            if len(self.idents) >= MAX_IDENTITIES:
                self.idents_more += 1
            else:
                ident = self.idents[key] = IdentityStat()
        if ident is not None:
            ident.requests += 1
            if ns is not None:
                if ident.first is None or ns < ident.first:
                    ident.first = ns
                if ident.last is None or ns > ident.last:
                    ident.last = ns
        if op != "read" and not read:
            return
        if ns is None:
            self.untimed += not again
            return
        if ident is not None:
            ident.denied.add(ns, path, denied, self.deny_n, self.deny_gap)
        if denied or not served:  # a refused or failed attempt read nothing: the patterns are of reads served
            return
        pi.burst.add(ns, self.n, self.w)
        if ident is not None:
            if source:
                s = ident.sources.get(source)
                if s is not None:
                    s[2] += 1
                    if ns < s[0]:
                        s[0], s[1] = ns, path
                elif len(ident.sources) < _KEEP:
                    ident.sources[source] = [ns, path, 1]
                else:
                    ident.sources_more += 1
        got = self._minutes.get(ns // _MINUTE)
        working, day = got if got is not None else self._when(ns)
        if not working:
            k = (path, dn, eid, day)
            o = self.off.get(k)
            if o is not None:
                o[0], o[1], o[2] = o[0] + 1, min(o[1], ns), max(o[2], ns)
            elif len(self.off) < MAX_ITEMS:
                self.off[k] = [1, ns, ns]
            else:
                self.off_more += 1

    # -- response wrapping (Vault/OpenBao) ---------------------------------------------------------------------
    def _wrapping(self, batch: Entries) -> None:
        """Keep the wrapping tokens of the responses on reviewed paths (and of rewraps of them); count an unwrap
        of one (``sys/wrapping/unwrap``, linked by the HMAC digests of the token, as ``auditready access`` links
        them) as operation ``unwrap``, a read of that path by whoever sent it. An unwrap or rewrap of a token not
        wrapped in what was read is kept (``unlinked``, ``rewraps``) for a part read before it."""
        prefix, get, wraps = self.settings.log_prefix, self._raw.get, self.wraps
        rel, scope = batch.resource, batch.scope
        for i, t in enumerate(batch.type):
            if t == "response":
                if not self._wrapped:
                    continue
                path = rel[i] if scope is None else in_scope(scope[i], rel[i])
                if rel[i] not in _REWRAPS and not (self._reviewable(path) if scope is None else
                                                   self._reviewable(path, rel[i])):
                    continue
                raw = get(batch.file, batch.lines[i])
                if raw is None or _WRAP_INFO not in raw:
                    continue
                doc = line_object(raw, prefix)
                info = _sub(doc, "response", "wrap_info")
                if doc is None or not isinstance(info, dict):
                    continue
                tokens = [v for v in (info.get("token"), info.get("accessor")) if isinstance(v, str) and v]
                if rel[i] in _REWRAPS:  # the new token wraps what the old one did
                    olds = wrapped_before(doc)
                    path = next((wraps[k] for k in olds if k in wraps), "")
                    if not path:
                        for old in olds:
                            if len(self.rewraps) < _UNLINKED:
                                self.rewraps.append([old, tokens])
                            else:
                                self.unlinked_more += 1
                        continue
                elif rel[i].startswith(_CUBBYHOLE):
                    a = who_of(doc).accessor
                    path = _cubbyhole(path, _accessor(a) if a else "")
                _remember(wraps, tokens, path)
            elif t == "request" and rel[i] in _REWRAPS:
                raw = get(batch.file, batch.lines[i])
                doc = line_object(raw, prefix) if raw is not None and unwraps(rel[i], batch.action[i], raw) else None
                if doc is None:
                    continue  # no unwrap, or no line at hand: who sent it and with which token are not known
                own = [v for v in (_sub(doc, "auth", "client_token"), _sub(doc, "auth", "accessor"))
                       if isinstance(v, str) and v]  # the token it was sent with (a wrapping token, maybe)
                body = _sub(doc, "request", "data", "token")
                tokens = ([body] if isinstance(body, str) and body else []) + own
                w = who_of(doc)
                ts = parse_time(batch.time[i])
                got = [tokens, w.display_name, w.entity_id, _accessor(w.accessor) if w.accessor else "",
                       batch.source[i], ts[0] if ts is not None else None,
                       w.refused or batch.result[i].startswith("error:"), own,
                       "unwrap (wrapped)" if wrap_asked(doc) else "unwrap"]
                if not self._unwrap(got, wraps):
                    if len(self.unlinked) < _UNLINKED:
                        self.unlinked.append(got)
                    else:
                        self.unlinked_more += 1

    def _unwrap(self, u: list[Any], wraps: Mapping[str, str]) -> bool:
        """Count the unwrap ``u`` (an ``unlinked`` row) when one of its tokens is in ``wraps``."""
        path = next((wraps[k] for k in u[0] if k in wraps), "")
        if path:
            name, entity = u[1], u[2]
            if (name or entity) and any(k in wraps for k in (u[7] if len(u) > 7 else ())):
                # sent with the wrapping token itself, whose entry carries its creator's display name: by whoever
                # held it (as ``auditready access`` names it)
                name, entity = f"holder of a wrapping token from {name or entity}", ""
            # (asked with wrap_ttl, its caller got a new wrapping token: no read of the secret)
            op = u[8] if len(u) > 8 else "unwrap"
            self._count(path, name, entity, u[3], u[4], op, u[5], u[6], op == "unwrap")
        return bool(path)

    # -- Kubernetes and CloudTrail ------------------------------------------------------------------------------
    def _other(self, batch: Entries) -> None:
        """A Kubernetes or CloudTrail batch, by what each request reached (``k8s_reach``, ``cloudtrail_reach``, as
        ``auditready access`` and ``access_policy`` judge them): a Kubernetes request once (its last stage, else
        its RequestReceived event), by its user (with impersonation, "<user> as <impersonated user>"); a Secrets
        Manager or SSM record by its userIdentity ARN (a caller from another account, logged without one, by its
        principal id with "(account N)": ``aws_caller``, as ``auditready access`` names it). A request that named
        no secret (a list of Secrets, a GetParametersByPath) counts on what it asked for, with what it saw
        (``PathStat.scope``)."""
        k8s, get, reached = self.fmt == "k8s", self._raw.get, self.reach.reached
        stamps = batch.times_ns() if batch.utc_times() else None
        for i, t in enumerate(batch.type):
            reach: Optional[Reach]
            caller = batch.identity[i]
            if k8s:
                if t not in _K8S_LAST_STAGES and t not in K8S_HELD:
                    continue
                act = batch.action[i]
                reach = k8s_reach(batch.resource[i], act, k8s_created(get(batch.file, batch.lines[i]), act)
                                  if act == "create" else "")
            else:
                raw = get(batch.file, batch.lines[i])
                doc = line_object(raw) if raw is not None and any(b in raw for b in CLOUDTRAIL_SOURCE_BYTES) \
                    else None
                reach = cloudtrail_reach(doc) if doc is not None else None
                if reach is None:
                    continue  # not a Secrets Manager or SSM request on a secret
                caller = aws_caller(raw, caller)  # (another account's caller with its account, as access says)
            named, wide = reached(reach)
            if not named and not wide:
                continue
            if stamps is not None:
                ns: Optional[int] = stamps[i]
            else:
                ts = parse_time(batch.time[i])
                ns = ts[0] if ts is not None else None
            result = batch.result[i]
            row: list[Any] = [named or [f"{reach.shown} ({reach.scope})"], "" if named else reach.scope,
                              caller, batch.source[i], reach.op or "(none)", ns,
                              "read" in reach.rule_ops, k8s and result in K8S_REFUSED,
                              # served: a 2xx (or no status yet, at RequestReceived); a 404, 429 or 500 read nothing
                              not result or result[:1] == "2" if k8s else not result.startswith("error:")]
            if k8s:
                row[2] = k8s_user(get(batch.file, batch.lines[i]), row[2])
                if k8s_once(self.counted, self.received, batch.request_id[i], t, row)[0] == COUNT:
                    self._reached(row, row[7])
            else:
                self._reached(row, result.startswith("error:"))

    def _reached(self, row: list[Any], denied: bool) -> None:
        """Count one Kubernetes or CloudTrail request: [paths, scope, identity, source, operation, ns, read,
        whether the stage held says it was refused, and whether it was served]."""
        paths, scope, dn, source, op, ns, read, _refused, *more = row
        served = bool(more[0]) if more else True
        for j, path in enumerate(paths):
            self._count(path, dn, "", "", source, op, ns, denied, read, j > 0, served)
            if scope:
                p = self.paths.get(path)
                if p is not None:
                    p.scope = scope
        self.unnamed += bool(scope)

    def _when(self, ns: int) -> tuple[bool, str]:
        """Whether ``ns`` is within working hours, and its local day (time zones move by whole minutes)."""
        m = ns // _MINUTE
        got = self._minutes.get(m)
        if got is None:
            t = datetime.datetime.fromtimestamp(m * 60, tz=self.tz)
            minute = t.hour * 60 + t.minute
            got = (t.weekday() in self.days and self.h0 <= minute < self.h1, t.strftime("%Y-%m-%d"))
            if len(self._minutes) >= 4096:
                self._minutes.clear()
            self._minutes[m] = got
        return got

    # -- merging ----------------------------------------------------------------------------------------------
    def merge(self, later: Visitor) -> None:
        """Fold in ``later``, the Review of the byte range of the file right after this one's: afterwards this
        holds what one pass over both would. Where a limit on what is kept by key (paths, identities, sources,
        off-hours items) makes one pass keep or drop other keys than the fold would (a request on a path, or by an
        identity of a path, that did not fit is counted for no identity), it declines (NotImplementedError) and
        the file is read whole."""
        if not isinstance(later, Review):
            raise TypeError(f"a Review cannot merge a {type(later).__name__}")
        why = self._inexact(later)
        if why:
            raise NotImplementedError(why)
        self.fold(later)

    def _inexact(self, later: "Review") -> str:
        """Why folding ``later`` in could differ from one pass ("" when it cannot). A limit ``later`` reached alone
        dropped keys this one may hold, unless this one's keys are all among those ``later`` kept; a limit reached
        only by the two together drops what one pass drops, except for paths and a path's identities, whose
        dropped requests one pass never counts for their identity."""

        def hidden(mine: Mapping[Any, Any], theirs: Mapping[Any, Any], more: int) -> bool:
            return bool(more) and not all(k in theirs for k in mine)

        def over(mine: Mapping[Any, Any], theirs: Mapping[Any, Any], cap: int) -> bool:
            return len(mine) + sum(1 for k in theirs if k not in mine) > cap

        if any(k in self.wraps for u in later.unlinked for k in u[0]) or any(
                old in self.wraps for old, _ in later.rewraps) or (later.unlinked_more and self.wraps):
            return "an unwrap of a token wrapped in the part before"
        if any(rid in self.counted for rid in later.counted) or len(self.counted) + len(later.counted) > K8S_IDS:
            return "a Kubernetes request in both parts, or more than the review keeps"
        if hidden(self.paths, later.paths, later.paths_more) or over(self.paths, later.paths, MAX_PATHS):
            return "more paths than the review keeps"
        if hidden(self.idents, later.idents, later.idents_more) or hidden(self.off, later.off, later.off_more):
            return "more identities or off-hours items than the review keeps"
        for path, bp in later.paths.items():
            p = self.paths.get(path)
            if p is None:
                continue
            if hidden(p.who, bp.who, bp.who_more) or over(p.who, bp.who, _KEEP):
                return "more identities of a path than the review keeps"
            for key, bpi in bp.who.items():
                pi = p.who.get(key)
                if pi is not None and (hidden(pi.sources, bpi.sources, bpi.sources_more)
                                       or hidden(pi.accessors, bpi.accessors, bpi.accessors_more)):
                    return "more sources or accessors than the review keeps"
        for key, bi in later.idents.items():
            i = self.idents.get(key)
            if i is not None and hidden(i.sources, bi.sources, bi.sources_more):
                return "more sources of an identity than the review keeps"
        return ""

    def fold(self, later: "Review") -> None:
        """Fold in ``later``, a Review of the part of the log that follows the part this one read (the same
        settings), under the limits of what is kept; ``merged`` folds whole files so."""
        n, w = self.n, self.w
        self.first, self.last = _lo(self.first, later.first), _hi(self.last, later.last)
        if later._sample:
            self._sampled([rid for _, rid in later.sample])
        self.again += later.again
        self.requests += later.requests
        self.denied += later.denied
        self.untimed += later.untimed
        self.paths_more += later.paths_more
        for path, bp in later.paths.items():
            p = self.paths.get(path)
            if p is None:
                if len(self.paths) >= MAX_PATHS:
                    self.paths_more += bp.requests
                    continue
                p = self.paths[path] = PathStat()
            p.requests += bp.requests
            p.denied += bp.denied
            p.who_more += bp.who_more
            p.scope = p.scope or bp.scope
            for key, bpi in bp.who.items():
                pi = p.who.get(key)
                if pi is None:
                    if len(p.who) >= _KEEP:
                        p.who_more += sum(c[0] for c in bpi.ops.values())
                        continue
                    pi = p.who[key] = PathIdentity()
                pi.merge(bpi, n, w)
        self.idents_more += later.idents_more
        for key, bi in later.idents.items():
            i = self.idents.get(key)
            if i is None:
                if len(self.idents) >= MAX_IDENTITIES:
                    self.idents_more += bi.requests
                    continue
                i = self.idents[key] = IdentityStat()
            i.requests += bi.requests
            i.first, i.last = _lo(i.first, bi.first), _hi(i.last, bi.last)
            for addr, (t, path, reads) in bi.sources.items():
                s = i.sources.get(addr)
                if s is not None:
                    s[2] += reads
                    if t < s[0]:
                        s[0], s[1] = t, path
                elif len(i.sources) < _KEEP:
                    i.sources[addr] = [t, path, reads]
                else:
                    i.sources_more += reads
            i.sources_more += bi.sources_more
            i.denied.merge(bi.denied, self.deny_n, self.deny_gap)
        self.off_more += later.off_more
        for k, (c, t0, t1) in later.off.items():
            o = self.off.get(k)
            if o is not None:
                o[0], o[1], o[2] = o[0] + c, min(o[1], t0), max(o[2], t1)
            elif len(self.off) < MAX_ITEMS:
                self.off[k] = [c, t0, t1]
            else:
                self.off_more += c
        self.unnamed += later.unnamed
        self.formats |= later.formats
        room = max(0, TRACES - len(self.traces))
        self.traces += later.traces[:room]
        self.traces_more += later.traces_more + len(later.traces[room:])
        self.folded += later.folded
        self.unforwarded += later.unforwarded
        self._fold_pending(later)

    def _fold_pending(self, later: "Review") -> None:
        """What ``later`` left for the part before: its Kubernetes requests seen at RequestReceived (one whose last
        stage came in ``later`` counted there), the auditIDs it counted, its wrapping tokens, and its unwraps and
        rewraps of tokens wrapped here (counted now, after ``later``'s requests: ``merge`` declines when there are
        such, so a file cut in ranges is reviewed as in one pass)."""
        for rid in later.counted:
            self.received.pop(rid, None)
        for rid, row in later.received.items():
            if rid not in self.counted:
                self.received[rid] = list(row)
        for rid in later.counted:
            if rid not in self.counted and len(self.counted) >= K8S_IDS:
                self.counted.pop(next(iter(self.counted)))
            self.counted[rid] = None
        known = dict(self.wraps)
        for old, tokens in later.rewraps:
            path = known.get(old, "")
            if path:
                _remember(self.wraps, list(tokens), path)
                known.update(dict.fromkeys(tokens, path))
            elif len(self.rewraps) < _UNLINKED:
                self.rewraps.append([old, list(tokens)])
            else:
                self.unlinked_more += 1
        for k, v in later.wraps.items():
            _remember(self.wraps, [k], v)
        for u in later.unlinked:
            if not self._unwrap(u, known):
                if len(self.unlinked) < _UNLINKED:
                    self.unlinked.append(list(u))
                else:
                    self.unlinked_more += 1
        self.unlinked_more += later.unlinked_more

    # -- state as plain data ----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything fed so far as JSON-able data (``from_state`` reads it back); the forwarding traces its file's
        completeness pass judged folded first (``fold_forwarded``)."""
        if self.traces:
            self.fold_forwarded()
        return {
            "span": [self.first, self.last],
            "counts": [self.requests, self.denied, self.untimed, self.paths_more, self.idents_more, self.off_more],
            "paths": [[path, p.requests, p.denied, p.who_more,
                       [[dn, eid, pi.state()] for (dn, eid), pi in p.who.items()]] for path, p in self.paths.items()],
            "identities": [[dn, eid, i.requests, i.first, i.last, [[a, *v] for a, v in i.sources.items()],
                            i.sources_more, i.denied.state()] for (dn, eid), i in self.idents.items()],
            "off_hours": [[*k, *v] for k, v in self.off.items()],
            "scopes": [[path, p.scope] for path, p in self.paths.items() if p.scope],
            "unnamed": self.unnamed,
            "formats": sorted(self.formats),
            "wraps": [[k, v] for k, v in self.wraps.items()],
            "unlinked": [self.unlinked, self.rewraps, self.unlinked_more],
            "received": [[k, v] for k, v in self.received.items()],
            "counted": list(self.counted),
            "sample": [list(x) for x in self.sample],
            "again": self.again,
            "traces": [self.traces, self.traces_more, self.folded, self.unforwarded],
            **({"leave_out": list(self.leave_out)} if self.leave_out else {}),
        }

    @classmethod
    def from_state(cls, settings: "Settings", state: dict[str, Any]) -> "Review":
        r = cls(settings)
        r._load(state)
        return r

    def _load(self, st: dict[str, Any]) -> None:
        self.leave_out = tuple(st.get("leave_out", ()))
        self.first, self.last = st["span"]
        self.requests, self.denied, self.untimed, self.paths_more, self.idents_more, self.off_more = st["counts"]
        for path, req, den, more, who_list in st["paths"]:
            p = self.paths[path] = PathStat()
            p.requests, p.denied, p.who_more = req, den, more
            for dn, eid, s in who_list:
                p.who[(dn, eid)] = PathIdentity.of(s)
        for dn, eid, req, first, last, sources, more, den in st["identities"]:
            i = self.idents[(dn, eid)] = IdentityStat()
            i.requests, i.first, i.last, i.sources_more = req, first, last, more
            i.sources = {a: [t, p, n] for a, t, p, n in sources}
            i.denied = Denied.of(den)
        self.off = {(p, dn, eid, day): [n, t0, t1] for p, dn, eid, day, n, t0, t1 in st["off_hours"]}
        for path, scope in st.get("scopes", ()):
            self.paths[path].scope = scope
        self.unnamed = st.get("unnamed", 0)
        self.formats = set(st.get("formats", self.formats))
        self.wraps = {k: v for k, v in st.get("wraps", ())}
        unlinked, rewraps, self.unlinked_more = st.get("unlinked", ([], [], 0))
        self.unlinked, self.rewraps = [list(u) for u in unlinked], [list(r) for r in rewraps]
        self.received = {k: list(v) for k, v in st.get("received", ())}
        self.counted = dict.fromkeys(st.get("counted", ()))
        self._sampled([str(r) for _c, r in st.get("sample", ())])
        self.again = int(st.get("again", 0))
        traces, self.traces_more, self.folded, self.unforwarded = st.get("traces", ([], 0, 0, 0))
        self.traces = [list(t) for t in traces]

    # -- the review as data -----------------------------------------------------------------------------------
    def items(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The review items (sorted by time) and, per pattern, how many more were left out."""
        s = self.settings
        out: dict[str, list[dict[str, Any]]] = {p: [] for p in PATTERNS}
        more = dict.fromkeys(PATTERNS, 0)
        for path, p in self.paths.items():
            for (dn, eid), pi in p.who.items():
                more["burst"] += pi.burst.more
                for start, end, reads, _ in pi.burst.episodes():
                    out["burst"].append(_item("burst", path, dn, eid, start, end, reads, "",
                                              f"{reads} reads within {iso_ns(start)} to {iso_ns(end)}; the threshold "
                                              f"is {s.review_burst_reads} reads within {s.review_burst_seconds:g} s"))
        learned = self.first + int(s.review_learning_days * _DAY) if self.first is not None else None
        for (dn, eid), i in self.idents.items():
            known = sorted(i.sources.items(), key=lambda kv: (kv[1][0], kv[0]))
            for addr, (t, path, reads) in known[1:]:
                if learned is not None and t >= learned:
                    out["new_source"].append(_item(
                        "new_source", path, dn, eid, t, t, reads, addr,
                        f"first read from {addr} (after the {s.review_learning_days:g} day learning span; "
                        f"{reads} reads from it in all)"))
            more["denied_run"] += i.denied.more
            for start, end, reads, path in i.denied.runs(self.deny_n):
                out["denied_run"].append(_item("denied_run", path, dn, eid, start, end, reads, "",
                                               f"{reads} denied reads in a row (the first on this path), none "
                                               f"more than {s.review_denied_seconds:g} s after the one before; "
                                               f"the threshold is {s.review_denied_run}"))
        for (path, dn, eid, day), (n, t0, t1) in self.off.items():
            out["off_hours"].append(_item("off_hours", path, dn, eid, t0, t1, n, "",
                                          f"{n} reads on {day} outside working hours ({s.review_hours} "
                                          f"{'/'.join(s.review_workdays)}, {s.review_timezone})"))
        more["off_hours"] += self.off_more
        if self.leave_out:
            own = tuple(f"/{p}/" for p in self.leave_out)  # (under a namespace's name, too)
            out = {k: [x for x in v if not any(o in f"/{x['path']}/" for o in own)] for k, v in out.items()}
        items: list[dict[str, Any]] = []
        for pattern, found in out.items():
            found.sort(key=lambda x: (x["when"], x["path"], x["display_name"], x["entity_id"]))
            more[pattern] += max(len(found) - MAX_ITEMS, 0)
            items.extend(found[:MAX_ITEMS])
        items.sort(key=lambda x: (x["when"], x["pattern"], x["path"], x["display_name"], x["entity_id"]))
        return items, {k: v for k, v in more.items() if v}

    def new_identities(self) -> dict[str, Any]:
        """Identities whose first request on a reviewed path is at or after the cutoff: ``review_since``, else the
        start of the last DEFAULT_NEW_DAYS days of the log. Judged only when the log reaches back before the
        cutoff (otherwise every identity would look new); with ``review_since`` set they are listed either way,
        saying whether the log reaches back."""
        if self.since is not None:
            cutoff, source = self.since, "review_since"
        elif self.last is not None:
            cutoff, source = self.last - DEFAULT_NEW_DAYS * _DAY, f"the last {DEFAULT_NEW_DAYS} days of the log"
        else:
            cutoff, source = None, f"the last {DEFAULT_NEW_DAYS} days of the log"
        reaches = cutoff is not None and self.first is not None and self.first < cutoff
        judged = reaches or self.since is not None
        found = [{"display_name": dn, "entity_id": eid, "first": iso_ns(i.first), "last": _iso(i.last),
                  "requests": i.requests}
                 for (dn, eid), i in self.idents.items() if cutoff is not None and i.first is not None
                 and i.first >= cutoff] if judged else []
        found.sort(key=lambda x: (x["first"], x["display_name"], x["entity_id"]))
        reason = "" if reaches else (
            "the log begins after the cutoff, so an identity first seen in it may be older" if judged else
            f"the log spans less than {DEFAULT_NEW_DAYS} days, so no identity can be told new: set review_since")
        return {"since": _iso(cutoff), "cutoff": source, "judged": judged, "history_before_cutoff": reaches,
                "reason": reason, "identities": found[:MAX_ITEMS], "more": max(len(found) - MAX_ITEMS, 0)}

    def report(self) -> dict[str, Any]:
        """The review as data (the evidence bundle's ``review`` section): no value, only paths, identities, counts,
        times and addresses. The Kubernetes requests whose last stage never came count here, at the event held
        (RequestReceived, or ResponseStarted: denied when it says 401 or 403)."""
        if self.received:
            done = Review.from_state(self.settings, self.state())
            for row in done.received.values():
                done._reached(row, bool(row[7]))
            done.received.clear()
            return done.report()
        s = self.settings
        paths = []
        for path, p in sorted(self.paths.items(), key=lambda kv: (-kv[1].requests, kv[0])):
            idents: list[dict[str, Any]] = []
            for (dn, eid), pi in p.who.items():
                req = sum(c[0] for c in pi.ops.values())
                idents.append({
                    "display_name": _shown(dn), "entity_id": _shown(eid),
                    "accessors": dict(sorted(pi.accessors.items())), "accessors_more": pi.accessors_more,
                    "requests": req, "denied": sum(c[1] for c in pi.ops.values()),
                    "operations": {op: {"requests": c[0], "denied": c[1]} for op, c in sorted(pi.ops.items())},
                    "first": _iso(pi.first), "last": _iso(pi.last),
                    "sources": {_shown(k): v for k, v in sorted(pi.sources.items())},
                    "sources_more": pi.sources_more,
                })
            idents.sort(key=lambda x: (-x["requests"], x["display_name"], x["entity_id"]))
            paths.append({"path": _shown(path), "requests": p.requests, "denied": p.denied, "identities": idents,
                          "identities_more": p.who_more, "scope": p.scope})
        items, more = self.items()
        return {
            "schema": SCHEMA,
            "span": {"first": _iso(self.first), "last": _iso(self.last)},
            "settings": {"paths": list(s.review_paths) or [
                _DEFAULT_SAID[f] for f in sorted(self.formats or {"vault"})],
                         "burst_reads": s.review_burst_reads, "burst_seconds": s.review_burst_seconds,
                         "learning_days": s.review_learning_days, "hours": s.review_hours,
                         "workdays": list(s.review_workdays), "timezone": s.review_timezone,
                         "denied_run": s.review_denied_run, "denied_seconds": s.review_denied_seconds,
                         "since": s.review_since},
            "requests": self.requests,
            "denied": self.denied,
            "unnamed": self.unnamed,
            "untimed_reads": self.untimed,
            "paths": paths,
            "paths_more": self.paths_more,
            "identities": len(self.idents),
            "identities_more": self.idents_more,
            "new_identities": self.new_identities(),
            "items": items,
            "items_more": more,
            # of the sampled request ids of the files after the first, how many an earlier file of the run held too
            # (several audit devices' copies, or a file given twice): each copy is counted above
            "again_in_other_files": self.again,
            # requests that reached an HA standby (its entries refused "cannot write to readonly storage", or a
            # login's "invalid request") and were forwarded to the active node: "folded", counted once as the active
            # node logged them; "not_found", whose forwarded entries no file reviewed holds (counted at the standby)
            "forwarded_from_standby": {"folded": self.folded, "not_found": self.unforwarded},
        }


def _iso(ns: Optional[int]) -> Optional[str]:
    return iso_ns(ns) if ns is not None else None


def _cubbyhole(path: str, acc: str) -> str:
    """A cubbyhole path as ``auditready access`` shows it: each token's cubbyhole is its own."""
    return f"{path} (the cubbyhole of token {acc or 'unknown'})"


def _remember(wraps: dict[str, str], tokens: list[str], path: str) -> None:
    for k in tokens:
        if k not in wraps and len(wraps) >= _WRAPS:
            wraps.pop(next(iter(wraps)))
        wraps[k] = path


_WRAP_MATCH: Any = None


def _has_wrap_info(data: bytes) -> bool:
    """Whether a block holds a "wrap_info" object (Hyperscan when built: a pass over the block at memory speed)."""
    global _WRAP_MATCH
    if _WRAP_MATCH is None:
        from .scan.hyperscan import any_match

        _WRAP_MATCH = any_match((re.escape(_WRAP_INFO),)) or (lambda d: _WRAP_INFO in d)
    return bool(_WRAP_MATCH(data))


def _item(pattern: str, path: str, dn: str, eid: str, start: int, end: int, reads: int, source: str,
          detail: str) -> dict[str, Any]:
    return {"pattern": pattern, "path": _shown(path), "display_name": _shown(dn), "entity_id": _shown(eid),
            "when": iso_ns(start), "until": iso_ns(end), "reads": reads, "source": _shown(source), "detail": detail}


_LONGEST_SHOWN = 1024  # characters of a path, a name or a source the review shows


def _shown(text: str) -> str:
    """``text`` as the review shows it: whole up to _LONGEST_SHOWN characters; beyond, its head, its length and its
    fingerprint, so that one hostile line (a path of megabytes) does not make every report as large, copied into
    each place a path is shown (red team rt32, F11), and two such paths stay two."""
    return bounded(text, _LONGEST_SHOWN, named=True)


def _zone(name: str) -> datetime.tzinfo:
    if name.upper() == "UTC":
        return datetime.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def reviewable(settings: "Settings") -> bool:
    """Whether a log read with ``settings`` can be reviewed (a Vault/OpenBao, Kubernetes or CloudTrail audit
    log)."""
    return settings.log_format in FORMATS


def shown_state(state: Optional[dict[str, Any]], secrets: Mapping[str, str]) -> Optional[dict[str, Any]]:
    """``state`` as it may travel on a test report to the process that merges it (pytest --debug prints a report's
    attributes): every string with the run's known secret values redacted (``text.redact``) and every credential of
    a documented format (``scan.tokens``: a token in a display name or a request path) masked as the reports show
    it. The same text is shown the same way in every file, so the states still merge."""
    if state is None:
        return None
    from .report.common import map_strings, redacted

    seen: dict[str, str] = {}

    def text(s: str) -> str:
        out = seen.get(s)
        if out is None:
            out = seen[s] = redacted(s, secrets)
        return out

    shown: dict[str, Any] = map_strings(state, text)
    return shown


def merged(settings: "Settings", states: "list[Optional[dict[str, Any]]]") -> Optional[Review]:
    """One Review of the states of consecutive parts (files) of a log, in order; None when there is none."""
    out: Optional[Review] = None
    for st in states:
        if st is None:
            continue
        r = Review.from_state(settings, st)
        if out is None:
            out = r
        else:
            out._trim()
            r._trim()
            held = out._sample  # (its ids: no sorted copy for each of a set's thousands of files)
            out.again += sum(rid in held for rid in r._sample)
            out.fold(r)
    return out


def summary(doc: Optional[dict[str, Any]]) -> Optional[str]:
    """The one terminal line for a review report."""
    if doc is None:
        return None
    return (f"access review: {len(doc['paths'])} paths, {doc['identities']} identities, "
            f"{len(doc['items']) + sum(doc['items_more'].values())} items to review (in the evidence bundle: "
            "evidence.json and report.html)" + (f"; {AGAIN}" if doc.get("again_in_other_files") else ""))


AGAIN = ("some requests are in more than one file of the run (the same request id: several audit devices' copies, "
         "or a file given twice), and the review counts each copy: review one device's files, or ask auditready "
         "access, which counts each request once")
