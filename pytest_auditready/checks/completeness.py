"""completeness: every scenario action has its request and response entry in the log; offline, every request
entry of a Vault/OpenBao log has its response entry and every response its request.

The vault writes a request entry before it handles a request and a response entry after (recorded from OpenBao:
every request of fixtures/openbao is paired but the audit device's self-test). A hop that drops lines (a
shipper's filter, sampling, a full buffer) breaks pairs, which no other check can see in an unsealed log. At the
edges of a log a pair is legitimately broken: a request still in flight when the log ends (or rotates), a response
whose request was written before the log begins. Those are excused by that rule when they lie within the window
(``completeness_window``, 120 s by default) of the log's last or first time (a request lasts at most the vault's
max request duration, 90 s by default: a vault that allows longer requests needs a longer window), and are judged
everywhere else. Within the window the time tells first: the vault answers most requests within milliseconds, so an
entry without partner is an edge only within LATE (20) times the longest any request of the log took (at least
LATE_FLOOR, 25 ms) of the edge it faces; further in, its partner was written in this log and a hop dropped it (a log
of a few seconds, as exported test runs are, is all within the window). A file cut while a request far slower than
every other of it was in flight is verified with the files before and after it: in a set, each file leaves such an
edge to the set's judge, which pairs it with the file that continues the log, and calls it late only where no file
of the run does (``engine.files.late_edges``).
Within that bound the connection may still tell: a request comes on one connection (its
``remote_address`` and ``remote_port``), and HTTP/1.1 serves the requests of a connection one at a time, the vault
writing a request's response entry before it answers, so before the client can send the next. A request with no
response entry after which the same connection sent another request, or a response with no request entry that an
entry of the same connection precedes in the log, lost its partner in this log: a finding, not an edge (recorded
from OpenBao 2.7 with one keep-alive client: tests/test_blind_vault_workloads.py). A connection seen answering a
request while an earlier one of it waited, anywhere in the log (HTTP/2 multiplexes requests), tells nothing, and
neither does an entry without ``remote_port`` or a log whose connections were too many to remember (CONNS). (An
HTTP/2 connection that never showed two requests at once but had a long one in flight at the log's edge while
later ones came and went looks like HTTP/1.1 and is judged as such.) In a set of files judged together
(``engine.files.with_set``) those edges are judged against the files before and after in time (paired there, or a
finding of the set) and counted judged in each file's table; only the edges no file of the run faces stay excused.

An entry of a request already written is a finding at its line that names the first: a request entry while the
first waits for its response, a request or response entry after the response (OpenBao writes one request and one
response entry a request to each audit device's file: recorded with two devices). Written at the first's very time
it is a copy of the line (a shipper retrying without deduplication); at another time, a second writer (two audit
devices declared with one file_path: each writes its own entries, with its own time and HMAC salt, into it) or a
made-up entry. Responses are remembered for that while they are within the window of the log's latest time, at most
ANSWERED (20,000) of them, so memory stays bounded: a copy written later than that is no longer named a copy, but
is still a finding (a response with no request) outside the log's first window.

Kubernetes: a request's events share its auditID, one a stage (Kubernetes "Auditing": RequestReceived "as soon as
the audit handler receives the request", ResponseStarted for a long-running request once its headers are sent,
ResponseComplete once "no more bytes will be sent", Panic), and the audit policy decides which stages are written
(``omitStages``, for the whole policy or one rule; empty by default). The stages of a request need not follow each
other in file order: the webhook backend sends its batches concurrently (k8s.io/apiserver's buffered backend runs its
delegate asynchronously for the webhook, AsyncDelegate), and a receiver writes them as they come, so a ResponseComplete
before its RequestReceived is no finding (red team rt57 F3; the log backend writes in order). A request's outcome
(allowed or refused: its responseStatus) is in its later stages only, and PCI DSS 10.2.2 asks for the success or
failure of every event: so a RequestReceived event no later stage of its auditID follows, anywhere in the file, is a
finding at its line, its outcome not recorded (red team rt57 F1: a deleted ResponseComplete passed every check, and a
denied read lost its 403; rt102 F2: a pipeline that de-duplicates by auditID keeps RequestReceived alone, and a log
whose every outcome it dropped passed). An audit policy may omit RequestReceived (``omitStages: [RequestReceived]``,
common: the later stage alone then carries the request, K8S_ALONE); one that omits the later stages loses every
outcome, a misconfiguration the finding names (``k8s_unkept``: others of the same policy key have no later stage
either), never an excuse. Excused, by their rules and counted, are only the requests that may still be running: a
RequestReceived within the larger of k8s_request_timeout (the API server ends a request that is not long-running by
then) and the window of the file's last event (in flight there; its later stage is in the next file, paired by the
set's judge, ``engine.files``); a long-running one (watch, proxy, exec, attach, port-forward, log; a list with
watch=true is a watch) anywhere, but only where the log shows a policy that omits ResponseStarted (a long-running
request of it paired by its ResponseComplete with no ResponseStarted: K8S_LONG), for a long-running request's outcome
is in its ResponseStarted, written "once the response headers are sent" (Kubernetes "Auditing"), and only its
ResponseComplete, written when it ends, carries it where that stage is omitted; and one within that bound of the
file's first event where the file shows a webhook receiver's batches out of order (a later stage before its
RequestReceived, or ``k8s_webhook_reorder`` set: the later stage may be in the file before; the log backend writes
in order, so no such excuse there). What the log shows is what it showed so far for an event told before the end
(past SEEN others), which errs toward a finding. A finding names a request of the same policy key with both stages
where there is one (user and groups, verb, objectRef apiGroup, resource, subresource, namespace and name, or
non-resource path, at the same level: ``k8s_lost``), else how many of its key lack it too (``k8s_unkept``), else
that it is the only one (``k8s_once``, red team rt91 F2). Likewise a later stage whose RequestReceived the log does
not hold is a dropped line where its key shows both stages and its request began well within the log (rt91 F1);
otherwise it is excused (a policy that omits that stage). Every stage's event of a request is the one Event written
again (``_Same``): one that says otherwise than another stage of its request was altered (rt91 F3). A log with no
pair to judge is skipped (required_fields then judges nothing of a log of RequestReceived events alone: it counts a
RequestReceived event excused, as it carries no result). Every event line is decoded once more (``_k8s_event``); the
requests still open are those within that bound of the latest event, those past it are remembered by auditID up to
SEEN, the judged ones up to _KEEP (the rest counted by policy key), and the keys of the requests paired up to KEYS.

One Kubernetes or CloudTrail record written twice is judged: the same Kubernetes auditID, stage and
requestReceivedTimestamp, or the same CloudTrail eventID (CloudTrail writes one record a call, with no pair); so is
a record of generic JSON lines with a request id mapped and no type (one record an event), by its request id, time
and action (red team rt100 F2). Unchanged it is a delivery repeated (a webhook's retried batch; one event in two
trails' files joined), excused by that rule; with other content it is a finding at the second naming the first. But
one delivered CloudTrail log file (a ``{"Records": [...]}`` document, told by its head: ``_delivered``) holds each
event once: what CloudTrail documents delivering again is a whole file (an event in each trail that records it, a
global service event in each trail that includes them; the same action seen by two accounts is two events, two
eventIDs, one sharedEventID), so a record repeated within one is a finding at the copy, naming the first (red team
rt102 F6: one record 300 times passed); records one a line (an export, EventBridge's events, delivered at least
once) and records repeated across files keep the excuse. The
last SEEN (20,000) keys are remembered, and a Kubernetes log or keyed JSON lines are read whole by one process
(``splits``). The same auditID at another receive time is not judged: a client, or the API server in front of an
aggregated one, may choose the Audit-ID. Across the files of a set, the first SEEN records of a file are compared
with the first and last SEEN of the file before it in time (``engine.files``), as one pass would; so is a
Vault/OpenBao entry of a file's first window with the requests in flight and the responses of the last window of the
file before it (``head``).

An HA cluster's nodes each write their own audit log (OpenBao's "Eventual consistency": a standby serves reads
itself and forwards a request that writes to the active node). A write that reaches a standby is logged there as a
pair whose response records "cannot write to readonly storage" (its local attempt), and on the active node as the
request's own pair, under another request id, on the same connection, path, operation and token (recorded from a
3-node OpenBao 2.7.2 raft cluster: fixtures/openbao/ha). Such a forwarding trace (``trace_of``) is paired with the
active node's entries in whichever file of the run holds them (``forwarded``); where none does while the run holds
another node's log covering that time, the active node's entries were dropped: a finding at the standby's line.
Where the run holds no such log, the pass says the forwarded requests' entries are in the active node's log.

A pass rests on pairs: a request whose every entry a hop dropped (a whole request/response pair, lost to a
copytruncate rotation or a rate limit at a pair's edge) leaves no trace in the rest of the log, so where no seal is
beside the log the pass says so, once, on its line (red team rt58 F3): only a seal (``auditready seal``, judged by
tamper_evidence) shows such a loss. Where the vault's own version changes between two entries of a Vault/OpenBao
file (``mount_running_version`` of a built-in mount: ``v2.6.1+builtin.bao`` then ``v2.7.2+builtin.bao``), it was
restarted there, and the silence of a restart would hide such a loss too: the pass names that line (red team rt80 F3).
"""

from __future__ import annotations

import functools
import os
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple, Optional, Sequence, Union

from ..auditlog.formats import format_of, k8s_long_running
from ..auditlog.lines import long_entry, unscanned
from ..auditlog.match import Match, on_path
from ..auditlog.model import HMAC_RE, Action, BadLine, Entries, Record, in_scope, parse_time
from ..auditlog.syslog import last_joined
from ..auditlog.vault_json import dumps
from ..config import unordered
from ..errors import AuditReadyError
from .base import Check, CheckContext, Finding, Note, Skip, Visitor, describe, every_action

if TYPE_CHECKING:
    from ..config import Settings

ID = "completeness"
_FIX = (
    "make the audit device and every pipeline stage after it keep all request and response entries "
    "(no sampling, filters or dropped lines), and raise log_wait if the pipeline lags"
)


PAIR_WINDOW = 120 * 10**9  # ns, the default window: the default max request duration (90 s) and room for clock steps
_KEEP = 10_000  # findings kept (sorted by line at the end; the rest counted)
ANSWERED = 20_000  # responses remembered at most (within the window) to name an entry written again
SEEN = 20_000  # Kubernetes and CloudTrail: the latest records remembered to find one written twice
KEYS = 100_000  # Kubernetes: the audit policy keys (``_policy_key``) of the requests paired, at most
_EARLY = 100_000  # request ids a later range keeps from its first 2 windows (for ``Pairs.merge``)
HEAD = 100_000  # entries of a log's first window remembered (``Pairs.head``) for the set's judge
_SHOW = 20
UNTIMED = 10_000  # request ids of entries without a readable time remembered at most, of each type
CONNS = 100_000  # connections remembered at most (the log's first windows; connections with a request pending)
# An entry without partner at an edge of the log is excused as in flight there only within LATE times the longest any
# request of the log took (at least LATE_FLOOR ns) of that edge (``Pairs.late``)
LATE = 20
LATE_FLOOR = 25 * 10**6
SELF_TEST = "the audit device's self-test write (sys/audit/test): the vault writes no response for it"
# An audit device disabled and enabled again on the same file (how a device's options are changed): the device writes
# the request entry of its own disabling and not its response (it is gone), and, enabled again, its self-test and the
# response of its own enabling, not its request (written before it existed) (red team rt88 F3). Told by the self-test
# right after the one and right before the other; a dropped line anywhere else is still found.
DEVICE_OFF = ("the request that disabled this audit device (sys/audit/<device>, delete), right before the device's "
              "self-test when it was enabled again: the device was gone when the response was written")
DEVICE_ON = ("the response that enabled this audit device again (sys/audit/<device>, update), right after its "
             "self-test: the request was written before the device existed")
_AUDIT_TEST = "sys/audit/test"


def in_flight(window: int) -> str:
    return (f"a request still in flight when the log ends (within {window // 10**9} s of its last entry, and "
            f"{LATE} times the longest a request of the log took): its "
            "response is in the next file of the set, or was never written")


def before_log(window: int) -> str:
    return (f"a response whose request was written before the log begins (within {window // 10**9} s of its "
            f"first entry, and {LATE} times the longest a request of the log took): in the previous file of the "
            "set")


IN_FLIGHT, BEFORE = in_flight(PAIR_WINDOW), before_log(PAIR_WINDOW)  # the rules' words at the default window
# Requests that take as long as the caller asks, not as long as a vault's other requests (red team rt99 F1: a
# `bao debug` run's profile made a live log fail): a CPU profile or execution trace over ``seconds``
# (sys/pprof/profile, 30 s by default; sys/pprof/trace), a log stream (sys/monitor) or an event subscription
# (sys/events/subscribe/...) kept open until the client leaves. At a log's edge, one is excused for the window
# (completeness_window), a stream whatever its distance; a request whose connection sent another is still lost.
LONG_RUNNING = re.compile(r"\A(?:sys/pprof/(?:profile|trace)|sys/monitor|sys/events/subscribe/.*)\Z")
_STREAMS = re.compile(r"\A(?:sys/monitor|sys/events/subscribe/.*)\Z")


def long_running(window: int) -> str:
    return (f"a long-running request at the log's edge (sys/pprof/profile or trace within {window // 10**9} s of "
            "it, sys/monitor or an event subscription at any distance) with no partner entry in the log: it lasts "
            "as long as its caller asked, and its response entry is written when it ends")
# Requests OpenBao (and Vault) writes a request entry for and never a response entry (openbao internal/vault:
# wrapping.go validateWrappingToken audits the request alone when the wrapping token is invalid, core.go
# sealWithRequest and ha.go's step-down audit the request and then seal or step down), with the errors that mark the
# first: recorded from OpenBao 2.7 for an unwrap and a lookup of a wrapping token that does not exist.
WRAPPING_PATHS = ("sys/wrapping/lookup", "sys/wrapping/rewrap", "sys/wrapping/unwrap")
_ALONE_PATHS = (*WRAPPING_PATHS, "sys/seal", "sys/step-down")
_WRAPPING_ERRORS = ("error: wrapping token is not valid or does not exist", "error: error validating wrapping token")
ALONE = ("a request the vault writes no response entry for: a wrapping token refused as invalid (sys/wrapping/lookup, "
         "rewrap, unwrap), a seal (sys/seal) or a step-down (sys/step-down)")


def alone(kind: str, path: str, result: str) -> bool:
    """Whether a Vault/OpenBao entry is the request entry of a request the vault writes no response for (ALONE)."""
    if kind != "request" or path not in _ALONE_PATHS:
        return False
    return result.startswith(_WRAPPING_ERRORS) if path in WRAPPING_PATHS else True


def _any_alone(batch: Entries) -> bool:
    """Whether a batch holds an entry ``alone`` names (a path of _ALONE_PATHS is looked for first, at C speed)."""
    res = batch.resource
    if not any(p in res for p in _ALONE_PATHS):
        return False
    return any(alone(t, r, x) for t, r, x in zip(batch.type, res, batch.result))


UNTYPED = ("a JSON lines entry whose type (field_map's type) is neither request nor response has no partner to be "
           "paired with")
NO_KEY = ("an entry with no request id or no readable time has nothing to pair it by (required_fields and "
          "timestamp_precision judge it)")
_DROP_FIX = ("make every hop after the audit device keep every line (no filters, sampling or dropped lines: check the "
             "shipper's buffer and back-pressure settings), and seal the log (auditready seal) so that a dropped line "
             "is proven, not inferred")


_LATE_FIX = ("; where the vault serves requests that take longer than the rest of this log's (a key made, an "
             "external login), verify this file together with the files before and after it in time (name the whole "
             "set)")


_DUP_FIX = ("find the hop that writes a line twice (a shipper that retries without deduplication, a file named by two "
            "audit devices) and make it write each entry once; seal the log (auditready seal) so that an added line "
            "is proven, not inferred")


# What a response entry repeats of its request entry (the vault writes both of one request struct: recorded from
# OpenBao 2.7, every pair of fixtures/ agrees on these): request.path, request.operation, request.remote_address,
# request.remote_port, and who sent it (``Record.sender``: auth.display_name, entity_id, accessor and client_token:
# both entries' auth come from the one token the request carried, HMAC'd by the one device with its salt, openbao
# audit/format.go; 345k request/response pairs of real OpenBao logs agree on all four; every token auth/token/create
# makes is named "token"), but at a login (LOGIN), whose response names the token it made. The digests are compared
# where both entries give one, and not where the request id was written twice (two devices' entries of one request
# in one file, a finding of its own: each device has its own salt). And the namespace request.path is relative to
# (``Record.scope``, request.namespace.path: audit/entry_formatter.go FormatRequest and FormatResponse both write
# request.namespace from the one request's context, OpenBao's {"id":"root"} alike): compared where either entry
# names one, as a path changed to the root namespace's (none) moves the request to another secret (red team rt64 F2).
Asked = tuple[str, str, str, str, str, str]
_ASKED_WHAT = ("request.path", "request.operation", "request.remote_address", "request.remote_port",
               "who sent it (auth.display_name, entity_id, accessor or client_token)",
               "request.namespace (the namespace request.path is relative to)")
_NAMESPACE = 5  # (its place in Asked)
_UNREAD = "\0"  # the namespace of an entry whose line could not be read (an empty one is the root namespace's)
# An auth method's login (auth/userpass/login/alice, auth/approle/login, auth/oidc/oidc/callback): its response
# entry's auth is the token the login made, not the (absent) caller's.
LOGIN = re.compile(r"auth/.+/(?:login|callback)(?:/.*)?")


def comparable(p: str, q: str) -> bool:
    """Whether two values of a sender's digest field can be told apart as two tokens: both well-formed digests, or
    both in clear (log_raw, hmac_accessor=false); a malformed digest, or one beside a value in clear, is
    integrity_digest's to name."""
    if p.startswith("hmac-") or q.startswith("hmac-"):
        return HMAC_RE.match(p) is not None and HMAC_RE.match(q) is not None
    return True


def _other_sender(a: str, b: str, digests: bool = True) -> bool:
    """Whether two senders (``Record.sender``, or an identity), each naming someone (display name, entity id or
    accessor: one that names no one is required_fields'), name another token: another display name or entity id,
    or (when ``digests``) another accessor or token digest where both give one (``comparable``)."""
    x, y = a.split("\x1f"), b.split("\x1f")
    if len(x) != 4 or len(y) != 4:
        return a != b
    if not any(x[:3]) or not any(y[:3]):
        return False
    if x[:2] != y[:2]:
        return True
    return digests and any(p and q and p != q and comparable(p, q) for p, q in zip(x[2:], y[2:]))


def differs(asked: Asked, refused: bool, said: Asked, error: bool, digests: bool = True) -> str:
    """What a response entry (``said``; ``error`` when it records an error) says otherwise than its request entry
    (``asked``; ``refused`` when it records an error): the fields named, "" when it repeats it (a field one of the
    two lacks is required_fields' to name, not a second finding here). A request entry
    recording an error is one the vault refused before handling it (a permission denied, a token it did not
    know), so its response records one too. ``digests``: compare the sender's token digests (not where two
    devices' entries of the request meet)."""
    if said[0] == asked[0] + "/" and asked[0]:  # the vault's router: a mount named without its slash ("GET
        # /v1/secret", `bao path-help secret/`) is routed as "secret/", and the response entry is written from the
        # routed request (router.go routeCommon, in OpenBao and Vault; red team rt88 F1)
        said = (asked[0], *said[1:])
    if asked[4] != said[4] and (LOGIN.fullmatch(asked[0]) or not _other_sender(asked[4], said[4], digests)):
        asked, said = (*asked[:4], "", *asked[5:]), (*said[:4], "", *said[5:])
    # one missing: required_fields' (but a namespace: none is the root namespace, whose path is empty)
    what = [w for i, (w, a, b) in enumerate(zip(_ASKED_WHAT, asked, said))
            if ((a and b) or (i == _NAMESPACE and _UNREAD not in (a, b))) and a != b]
    if refused and not error:
        what.append("the result (the request entry records an error, the response entry none)")
    return ", ".join(what)


# -- an HA cluster's standby forwarding a request to the active node (red team rt78 F3, F4) ----------------------
# An OpenBao standby (standby reads on, the default with raft) handles a request itself and, when it must write,
# fails it with logical.ErrReadOnly's text and forwards it to the active node (openbao.org/docs/concepts/consistency):
# its audit device logs that local attempt, the active node's logs the request itself. A login that
# reached a standby is logged there refused "invalid request" (recorded from OpenBao 2.7.2: fixtures/openbao/ha):
# a trace only where the login's forwarded entries are found, as that error has other causes.
READONLY = "cannot write to readonly storage"
_LOGIN_REFUSED = "error: invalid request"
# how far apart in time a trace and its forwarded request's entry may be (the active node logs it within
# milliseconds; the nodes' clocks may differ by a few seconds)
FORWARD_WINDOW = 5 * 10**9
TRACES = 100_000  # forwarding traces a log's pass keeps (the rest counted, not paired)
SURE, LOGIN_TRACE = 2, 1


def trace_hint(data: bytes) -> bool:
    """Whether a block of raw lines may hold a forwarding trace (``trace_of``): a search at C speed."""
    return b"readonly storage" in data or b"invalid request" in data


def trace_of(kind: str, path: str, op: str, result: str) -> int:
    """SURE for a Vault/OpenBao response entry that records a standby's local attempt at a write (its error is
    READONLY), LOGIN_TRACE for a login's response refused "invalid request" (a standby's, only where its forwarded
    entries are found), else 0."""
    if kind != "response" or not result.startswith("error: "):
        return 0
    if READONLY in result:
        return SURE
    return LOGIN_TRACE if result == _LOGIN_REFUSED and op == "update" and LOGIN.fullmatch(path) else 0


def forward_key(source: str, port: str, path: str, op: str, sender: str, scope: str) -> str:
    """What a standby's trace and the active node's entries of the forwarded request share: the client's connection
    (remote_address and remote_port), the path, operation, namespace and who sent it (``Record.sender``: the token's
    digests, alike on every node, whose one audit device salt is in the cluster's storage), as a digest."""
    import hashlib

    text = "\0".join((source, port, path, op, sender, scope))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Trace(NamedTuple):
    """A standby's forwarding trace: its response entry (time, file, line, request id), its connection
    (remote_address NUL remote_port), ``forward_key``, and whether it is SURE (else a login's: a trace only where
    its forwarded entries are found)."""

    ns: int
    file: str
    line: int
    rid: str
    conn: str
    key: str
    sure: bool


def stamps_of(batch: Entries) -> Sequence[Optional[int]]:
    """Each entry's time in ns since the epoch (None where it cannot be read)."""
    if batch.utc_times():
        return batch.times_ns()
    return [t[0] if t is not None else None for t in map(parse_time, batch.time)]


def trace_at(batch: Entries, i: int, stamps: Optional[Sequence[Optional[int]]] = None) -> Optional[Trace]:
    """Entry ``i`` of a Vault/OpenBao batch as a forwarding trace (``trace_of``), when it is one made on a connection
    (remote_address and remote_port: what ties it to the forwarded request) with a request id and a readable time;
    ``stamps``: the batch's times, when known."""
    sure = trace_of(batch.type[i], batch.resource[i], batch.action[i], batch.result[i])
    port, source = batch.ports()[i], batch.source[i]
    if not sure or not port or not source or not batch.request_id[i]:
        return None
    ns = (stamps if stamps is not None else stamps_of(batch))[i]
    if ns is None:
        return None
    key = forward_key(source, port, batch.resource[i], batch.action[i], batch.senders()[i],
                      batch.scope[i] if batch.scope is not None else "")
    return Trace(ns, batch.file, batch.lines[i], batch.request_id[i], source + "\0" + port, key, sure == SURE)


def traces_in(batch: Entries) -> list[Trace]:
    """The forwarding traces of a Vault/OpenBao batch (``trace_at``)."""
    out: list[Trace] = []
    stamps: Optional[Sequence[Optional[int]]] = None
    for i, (kind, result) in enumerate(zip(batch.type, batch.result)):
        if kind != "response" or not result.startswith("error: "):
            continue
        stamps = stamps_of(batch) if stamps is None else stamps
        t = trace_at(batch, i, stamps)
        if t is not None:
            out.append(t)
    return out


SENDERS = 100_000  # the distinct senders a file's read for ``forwarded`` keeps (past it: any other file shares one)


class _Forwards(Visitor):
    """One file read for the entries of the connections forwarding traces were made on (``forwarded``): by request
    id, the first entry's time and line, ``forward_key`` (of its request entry where there is one) and whether it
    is a trace itself; the file's span, which of the traces' own request ids it holds, and who sent its requests
    (``Record.sender``: token digests, alike on every node of one cluster, whose audit salt they share, and on no
    other vault's)."""

    def __init__(self, ctx: CheckContext, conns: frozenset[str], rids: frozenset[str]) -> None:
        self.vault = format_of(ctx.settings).name == "vault"
        self.conns, self.rids = conns, rids
        self.first: Optional[int] = None
        self.last = -1
        self.found: dict[str, tuple[int, int, str, bool, bool]] = {}  # rid -> (ns, line, key, request, trace)
        self.holds: set[str] = set()
        self.senders: set[str] = set()
        self.senders_over = False

    def entries(self, batch: Entries) -> None:
        if not self.vault or not len(batch):
            return
        if not self.senders_over:
            self.senders.update(batch.senders())
            self.senders.discard("")
            self.senders_over = len(self.senders) > SENDERS
        stamps = stamps_of(batch)
        known = [ns for ns in stamps if ns is not None]
        if known:
            lo, hi = min(known), max(known)
            self.first = lo if self.first is None or lo < self.first else self.first
            self.last = max(self.last, hi)
        ids = batch.request_id
        if self.rids and not self.rids.isdisjoint(ids):
            self.holds.update(self.rids.intersection(ids))
        ports, sources, conns = batch.ports(), batch.source, self.conns
        for i, port in enumerate(ports):
            if not port or sources[i] + "\0" + port not in conns or not ids[i] or stamps[i] is None:
                continue
            kind, rid, ns = batch.type[i], ids[i], stamps[i]
            assert ns is not None
            trace = bool(trace_of(kind, batch.resource[i], batch.action[i], batch.result[i]))
            had = self.found.get(rid)
            if had is not None and (had[3] or kind != "request"):
                self.found[rid] = (min(ns, had[0]), had[1], had[2], had[3], had[4] or trace)
                continue
            # (the request entry's key where there is one: a login's response names the token it made)
            key = forward_key(sources[i], port, batch.resource[i], batch.action[i], batch.senders()[i],
                              batch.scope[i] if batch.scope is not None else "")
            self.found[rid] = (min(ns, had[0]) if had is not None else ns, batch.lines[i], key, kind == "request",
                               trace or (had is not None and had[4]))


class Forwarded(NamedTuple):
    """What ``forwarded`` found: by the index of each trace, where its forwarded request's entry is (file:line);
    each file's span (first and last time); which traces' own request ids each file holds (the standby's own file,
    a copy of it, another audit device's file of the same node); and who sent each file's requests (None: more
    than were kept)."""

    matched: dict[int, str]
    spans: dict[str, tuple[int, int]]
    holds: dict[str, frozenset[str]]
    senders: dict[str, Optional[frozenset[str]]]

    def same_vault(self, a: str, b: str) -> bool:
        """Whether files ``a`` and ``b`` are logs of one vault (one cluster): a token digest in both (or more
        senders than were kept)."""
        x, y = self.senders.get(a), self.senders.get(b)
        return x is None or y is None or not x.isdisjoint(y)


# each file's entries on the connections asked about, by what names the file's content: (its name, device, inode,
# size, mtime), with the connections and request ids it was read for (a later ask within them reads nothing again)
_FORWARDS: dict[tuple[object, ...], tuple[frozenset[str], frozenset[str], _Forwards]] = {}
_FORWARDS_MAX = 256


def _file_key(path: str) -> Optional[tuple[object, ...]]:
    from ..engine.objects import is_url
    from ..safeio import stat_key

    return None if is_url(path) else stat_key(path)


def _read_forwards(path: str, settings: "Settings", conns: frozenset[str],
                   rids: frozenset[str]) -> Optional[_Forwards]:
    """``_Forwards`` of ``path`` (read once a process for the connections and ids asked, or more); None for a file
    that cannot be read (its own pass says why)."""
    from ..engine.files import read_with

    key = _file_key(path)
    got = _FORWARDS.get(key) if key is not None else None
    if got is not None and conns <= got[0] and rids <= got[1]:
        return got[2]
    if got is not None:
        conns, rids = conns | got[0], rids | got[1]
    try:
        seen, _ = read_with(lambda ctx: _Forwards(ctx, conns, rids), path, settings)
    except (AuditReadyError, OSError):
        return None
    if key is not None:
        if len(_FORWARDS) >= _FORWARDS_MAX:
            _FORWARDS.clear()
        _FORWARDS[key] = (conns, rids, seen)
    return seen


def forwarded(traces: Sequence[Trace], files: Sequence[str], settings: "Settings") -> Forwarded:
    """Each forwarding trace paired with the entries of its forwarded request in ``files`` (the run's, the trace's
    own too: a merged log holds every node's): an entry of another request id (and no trace itself) with the same
    ``forward_key``, within FORWARD_WINDOW of the trace, one request to one trace, in time order."""
    matched: dict[int, str] = {}
    spans: dict[str, tuple[int, int]] = {}
    holds: dict[str, frozenset[str]] = {}
    senders: dict[str, Optional[frozenset[str]]] = {}
    if not traces:
        return Forwarded(matched, spans, holds, senders)
    import dataclasses

    from ..engine.files import given

    fmt, framing = given(settings)
    base = dataclasses.replace(settings, log_format=fmt, log_framing=framing)
    conns, rids = frozenset(t.conn for t in traces), frozenset(t.rid for t in traces)
    pool: dict[str, list[tuple[int, str]]] = {}
    for path in dict.fromkeys(files):
        seen = _read_forwards(path, base, conns, rids)
        if seen is None:
            continue
        if seen.first is not None:
            spans[path] = (seen.first, seen.last)
        holds[path] = frozenset(seen.holds & rids)
        senders[path] = None if seen.senders_over else frozenset(seen.senders)
        for rid, (ns, line, key, _request, trace) in seen.found.items():
            if not trace and rid not in rids:
                pool.setdefault(key, []).append((ns, f"{path}:{line}"))
    by_key: dict[str, list[int]] = {}
    for i, t in enumerate(traces):
        by_key.setdefault(t.key, []).append(i)
    for key, ids in by_key.items():
        cands = sorted(pool.get(key, ()))
        used = [False] * len(cands)
        for i in sorted(ids, key=lambda k: traces[k].ns):
            ns = traces[i].ns
            for j, (at, where) in enumerate(cands):
                if not used[j] and abs(at - ns) <= FORWARD_WINDOW:
                    used[j] = True
                    matched[i] = where
                    break
    return Forwarded(matched, spans, holds, senders)


# What completeness found of each forwarding trace it paired (``Pairs._forwarding``), by (file, request id): whether
# its forwarded entries are in a file of the run. The access review of the same file, read in the same pass, takes
# it when its state is made (``review.Review.state``), after the file's checks are finished (engine.files).
_TOLD: dict[tuple[str, str], bool] = {}
_TOLD_MAX = 200_000


def told(traces: Sequence[Trace], got: Forwarded) -> None:
    """Remember what ``forwarded`` found of ``traces`` (``_TOLD``)."""
    if len(_TOLD) + len(traces) > _TOLD_MAX:
        _TOLD.clear()
    for i, t in enumerate(traces):
        _TOLD[(t.file, t.rid)] = i in got.matched


def told_of(file: str, rid: str) -> Optional[bool]:
    """Whether the forwarding trace of request ``rid`` in ``file`` was paired with its forwarded entries (True), or
    found with none in the run (False), by the completeness pass of its file; None when no such pass told."""
    return _TOLD.get((file, rid))


def _typed_lines(settings: Any) -> bool:
    """Whether a log is generic JSON lines whose field_map names each entry's type: paired as Vault's are."""
    return format_of(settings).name == "jsonl" and any(f == "type" for f, _ in settings.field_map)


def keyed_lines(settings: Any) -> bool:
    """Whether a log is generic JSON lines of one record an event (its field_map maps no type) with a request id:
    its records are keyed by request id, time and action (``Pairs._seen``)."""
    return (format_of(settings).name == "jsonl" and not _typed_lines(settings)
            and any(f == "request_id" for f, _ in settings.field_map))


class Pairs(Visitor):
    """Offline, Vault/OpenBao: request and response entries paired by request id, and entries written again, in one
    pass in bounded memory (the requests younger than the window, at most ANSWERED responses); Kubernetes,
    CloudTrail and keyed JSON lines (``keyed_lines``): records written twice (at most SEEN keys)."""

    def __init__(self, ctx: CheckContext) -> None:
        fmt = format_of(ctx.settings).name
        # JSON lines whose field_map names each entry's type are paired as Vault's are (request and response)
        paired = fmt == "vault" or _typed_lines(ctx.settings)
        # JSON lines of one record an event, with a request id: a record written twice is judged as CloudTrail's
        # (``_seen``), by its request id, time and action (red team rt100 F2: an event written again with other
        # content passed)
        self.keyed = keyed_lines(ctx.settings)
        self.skip = "" if paired else K8S_NO_PAIRS if fmt == "k8s" else (
            f"a {format_of(ctx.settings).title} log has no request/response pairs to check (one record a call)" + (
                "; no record repeats the key of another with other content" if fmt == "cloudtrail" else
                "; field_map names no type (request or response) to pair its entries by" + (
                    "; no record repeats the request id, time and action of another with other content"
                    if self.keyed else "") if fmt == "jsonl" else ""))
        self.window = int(ctx.settings.completeness_window * 10**9)
        # an export that keeps no time order (a CloudWatch Logs export, an Elasticsearch search's hits): a request
        # entry after its own response entry is their pair, not lines reordered by a hop (red team rt90 F2)
        self.unordered = unordered(ctx.settings)
        self.late_paired = 0
        self.first_t: Optional[int] = None
        self.max_t = -1
        # request id -> (ns, file, line, what the request asked, whether it records an error)
        self.pending: "OrderedDict[str, tuple[int, str, int, Asked, bool]]" = OrderedDict()
        # responses with no request yet: (id, ns, file, line, max before)
        self.orphans: list[tuple[str, int, str, int, int]] = []
        # (file, line, kind, request id, the first entry's file:line for a duplicate, else "")
        self.found: list[tuple[str, int, str, str, str]] = []
        self.more = 0
        # responses written within the window (at most ANSWERED): request id -> (ns, file, line), so that an entry
        # of a request already answered is named as written again, at the first's line
        # (the response's time, file, line, and its request entry's time: -1 where none came before it)
        self.answered: "OrderedDict[str, tuple[int, str, int, int]]" = OrderedDict()
        self.answered_over = False  # an id left ``answered`` by count (ANSWERED), not by time
        # the entries the vault writes alone (``alone``: no response entry), by request id: one written again is a
        # duplicate as any other entry (the last ANSWERED remembered)
        self.alone_seen: "OrderedDict[str, tuple[int, str, int, str]]" = OrderedDict()  # (..., excuse)
        self.answered_peak = 0  # the most ``answered`` held (at a batch's end): what ``merge`` adds to the next
        self.longest = 0  # the longest a request of the log took from its request entry to its response entry (ns)
        # Kubernetes and CloudTrail: the last SEEN (id, stage, time) keys -> (file, line, digest of the record)
        self.seen: "OrderedDict[str, tuple[str, int, bytes]]" = OrderedDict()
        self.seen_over = False
        # for the set's judge: the first SEEN keys of the file (the last are ``seen``) and its records' span
        self.seen_head: dict[str, tuple[str, int, bytes]] = {}
        self.seen_first: Optional[int] = None
        self.seen_last = -1
        self.digests: dict[int, tuple[str, bytes]] = {}  # line -> (key id, digest) of the block being fed
        self.fmt = fmt
        # the request and response entries of the log's first window, request id -> (ns, file, line): for the
        # set's judge (``engine.files.boundaries``), an entry of the file before it written again at its start
        self.head: dict[str, tuple[int, str, int]] = {}
        self.head_answers: dict[str, tuple[int, str, int]] = {}
        self.head_open = True  # entries may still fall in the first window (closed a window past it)
        self.head_over = False  # more than HEAD entries in the first window: the rest not remembered
        # on the file that judged its set: the set's word on the other files' tallies (``engine.files.settle``)
        self.settles: tuple[tuple[str, str, str, int], ...] = ()
        # One of several files judged as a set: an edge too far from the file's end or start to be in flight there
        # (``late``) is left to the set's judge, which pairs it with the file after or before it in time when one
        # continues the log (a slow request spanning a rotation), and reports it as late where none does
        # (``engine.files.boundaries``).
        self.in_set = ctx.set_size > 1
        self.log_path, self.log_set = ctx.log_path or "", tuple(ctx.log_set)
        # A file judged alone while a file of its rotated set lies beside it, not named: a slow request that spans
        # the rotation has its other entry there (red team rt55 F3: a 2.6 s RSA-4096 key issued as audit.log was
        # renamed and the vault reopened it was "a hop dropped a line"). Its edges are judged by the window the
        # vault bounds a request by (completeness_window), not by the log's own pace, and the excuse names the file.
        self.beside = "" if self.in_set or not ctx.log_path else unnamed_neighbour(ctx.log_path, ctx.log_set)
        # The query tool whose export the file is (``query_export``): its end is where the query stopped, not where
        # the vault's log does, so nothing at that end is "in flight"
        self.export_tool = ""
        # Connections (remote_address "\0" remote_port): what tells a lost partner from an edge within the window.
        self.pend_conn: dict[str, str] = {}  # pending request id -> its connection
        self.open: dict[str, list[str]] = {}  # connection -> its pending request ids, in file order
        self.suspect: set[str] = set()  # pending request ids after which their connection sent another request
        self.mux: set[str] = set()  # connections seen serving two requests at once: nothing is inferred on them
        self.conns_over = False  # more connections than CONNS: nothing is inferred
        # connections of the entries of the first two windows -> (ns of the first entry, of the first request or -1)
        self.seen_conns: dict[str, tuple[int, int]] = {}
        # responses without request (``orphans``), by (file, line): (connection, an entry of it before, a request of
        # it before, a request of it pending then)
        self.orphan_conn: dict[tuple[str, int], tuple[str, bool, bool, bool]] = {}
        # what each of those responses repeats of its request, and whether it records an error, by (file, line):
        # for a request that ``merge`` pairs it with
        self.orphan_said: dict[tuple[str, int], tuple[Asked, bool]] = {}
        # entries with a request id but no readable time (NO_KEY): their partners are paired with them by id, so that
        # the defect is named once, at the entry that lost its time (at most UNTIMED of each)
        self.untimed_requests: set[str] = set()
        self.untimed_responses: set[str] = set()
        # request ids whose request entry was written again (at most ANSWERED): two devices' entries of one request
        # may meet in their pairing, so their digests are not compared (``differs``)
        self.twice: set[str] = set()
        self.unasked: set[str] = set()  # request ids of responses written with no request entry before them
        # Kubernetes: each auditID's first event (file, line, stage, what it says of the request), at most SEEN; the
        # lines of the current block whose authorization decision is forbid
        self.stages: "OrderedDict[str, tuple[str, int, str, tuple[str, str, str, str], Optional[_Same]]]" = \
            OrderedDict()
        self.same: dict[int, _Same] = {}  # this block's Kubernetes events: what every stage of a request says alike
        self.forbid: set[int] = set()
        # Kubernetes: each request's RequestReceived event paired with a later stage of its auditID (``_k8s_stage``).
        # A request not long-running ends within k8s_request_timeout; the window is the floor, as for a vault.
        self.bound = max(self.window, int(ctx.settings.k8s_request_timeout * 10**9))
        self.narrowed = narrowed(ctx.settings, fmt, paired)  # said beside the pass
        self.received: dict[int, tuple[bytes, bool]] = {}  # RequestReceived line -> ``_policy_key``, this block
        # RequestReceived events with no later stage yet, by auditID: those within ``bound`` of the latest event
        # (``open``), then those past it (``late``, at most SEEN; the oldest then told at once: ``_told``)
        self.k8s_open: "OrderedDict[str, Open]" = OrderedDict()
        self.k8s_late: "OrderedDict[str, Open]" = OrderedDict()
        self.k8s_told: dict[str, int] = {}  # excuse rule -> RequestReceived events told out of ``late``
        self.k8s_lost: list[Open] = []  # told out of ``late`` with neither excuse: judged by the policy key at the end
        self.k8s_lost_more: dict[bytes, int] = {}  # past _KEEP of those: their number by policy key
        self.k8s_both: dict[bytes, str] = {}  # policy key of a request paired -> its RequestReceived's file:line
        self.k8s_paired: "OrderedDict[str, None]" = OrderedDict()  # auditIDs paired (the last SEEN)
        self.k8s_unasked: "OrderedDict[str, int]" = OrderedDict()  # auditID -> its later events, no RequestReceived yet
        self.k8s_pairs = 0  # requests paired
        self.k8s_alone = 0  # events of requests whose RequestReceived the log does not hold (``K8S_ALONE``)
        # auditID -> the first later stage's event of a request with no RequestReceived yet: (receive time, file, line,
        # policy key), judged by its key at the end (red team rt91 F1)
        self.k8s_headless: "OrderedDict[str, tuple[int, str, int, bytes]]" = OrderedDict()
        # Kubernetes: what the log shows of how it was written, for the excuses that rest on it (``_k8s_excuse``):
        # a later stage written before its request's RequestReceived (a webhook receiver's file: its batches are sent
        # concurrently), and the long-running requests (at most SEEN) paired by a ResponseComplete or Panic with no
        # ResponseStarted of theirs (yet): a policy that omits ResponseStarted (a long-running request's outcome is
        # then written when it ends)
        self.k8s_reordered = ctx.settings.k8s_webhook_reorder > 0  # (declared so: a receiver's reordered batches)
        self.k8s_unstarted: "OrderedDict[str, None]" = OrderedDict()
        self._delivered: Optional[bool] = None  # CloudTrail: the file is one delivered log file (``_delivery_file``)
        self.keys: dict[int, bytes] = {}  # this block's later stages' events: their policy key
        self.k8s_first_w: Optional[int] = None  # the first and latest time an event was written (stageTimestamp)
        self.k8s_last_w = -1
        # Vault/OpenBao: an HA standby's forwarding traces (``traces_in``), paired across the run's files at the end
        # (``_forwarding``); whether the block being fed may hold one (``trace_hint``)
        self.settings = ctx.settings
        self.traces: list[Trace] = []
        self.traces_more = 0
        self.hint = False
        # Vault/OpenBao: the vault's own version (``_CORE_VERSION``) first seen (line, version) and last seen; where it
        # changes (line, from, to), at most _RESTARTS (the rest counted): a restart, said beside a pass
        self.version_first: Optional[tuple[int, bytes]] = None
        self.version_last = b""
        self.restarts: list[tuple[int, bytes, bytes]] = []
        self.restarts_more = 0
        # Vault/OpenBao: the (file, line) of a device's own disabling and enabling again (DEVICE_OFF, DEVICE_ON); the
        # last entry fed (file, line, type, operation, path)
        self.device_off: dict[tuple[str, int], tuple[str, int]] = {}  # -> (its path, the self-test's line)
        self.device_on: set[tuple[str, int]] = set()
        self.off_tests: set[tuple[str, int]] = set()  # the self-tests right after a DEVICE_OFF
        self.last_fed: Optional[tuple[str, int, str, str, str]] = None
        self.opens_with_test = False  # the first entry fed is a self-test (``merge``: the one before may be OFF)

    def _device(self, batch: Entries) -> bool:
        """Mark the device's own disabling right before a self-test (DEVICE_OFF: ``_settle_off`` excuses it) and its
        enabling again right after it (DEVICE_ON: ``_unpaired`` does); whether the batch holds or follows one."""
        n = len(batch)
        if n == 0:
            return False
        last, self.last_fed = self.last_fed, (batch.file, batch.lines[-1], batch.type[-1], batch.action[-1],
                                              batch.resource[-1])
        res = batch.resource
        if last is None and res[0] == _AUDIT_TEST:
            self.opens_with_test = True
        test_before = last is not None and last[0] == batch.file and last[2] == "request" and last[4] == _AUDIT_TEST
        if not test_before and _AUDIT_TEST not in res:
            return False
        entries = [(batch.file, batch.lines[i], batch.type[i], batch.action[i], res[i]) for i in range(n)]
        if last is not None and last[0] == batch.file:
            entries.insert(0, last)
        for i in range(1, len(entries)):
            (file, line, kind, op, path), before = entries[i], entries[i - 1]
            if kind == "request" and path == _AUDIT_TEST:
                if before[2:4] == ("request", "delete") and before[4].startswith("sys/audit/") and before[4] != path:
                    self.device_off[(file, before[1])] = (before[4], line)
                    self.off_tests.add((file, line))
            elif (before[2] == "request" and before[4] == _AUDIT_TEST and (kind, op) == ("response", "update")
                  and path.startswith("sys/audit/") and (file, before[1]) in self.off_tests):
                self.device_on.add((file, line))
        self._settle_off()
        return True

    def _settle_off(self) -> None:
        """Take the pending requests that are DEVICE_OFF out, excused."""
        for rid in [r for r, p in self.pending.items() if (p[1], p[2]) in self.device_off]:
            ns, file, line = self.pending.pop(rid)[:3]
            self._closed(rid)
            self._alone(rid, ns, file, line, DEVICE_OFF)

    def entries(self, batch: Entries) -> None:
        """The common case column by column (no Record built): every time a UTC RFC 3339 time; else ``entry``."""
        if self.skip and not self.digests:  # a format with nothing to judge (JSON lines)
            return
        if self.fmt == "vault" and self._device(batch):
            self._entries(batch)
            self._settle_off()  # (a disabling in this batch: pending once fed)
            return
        self._entries(batch)

    def _entries(self, batch: Entries) -> None:
        """``entries`` but a device's own disabling and enabling."""
        if self.hint and self.fmt == "vault":
            self._traces(batch)
        if self.skip or self.fmt == "jsonl" or not batch.utc_times():
            for rec in batch.records():
                self.entry(rec)
            return
        stamps = batch.times_ns()
        file, lines = batch.file, batch.lines
        conns = _conns(batch.source, batch.ports())
        track = self.early is not None  # a later range of a file: what ``merge`` needs
        if (not track and stamps and "" not in batch.request_id and "sys/audit/test" not in batch.resource
                and not _any_alone(batch)):
            if self.head_open:  # a batch of the log's first windows only, never per entry past them
                self._head(batch.type, batch.request_id, stamps, file, lines)
            self._plain(batch.type, batch.request_id, stamps, file, lines, conns, batch.resource, batch.action,
                        batch.result, batch.source, batch.ports(), batch.senders(),
                        batch.scope if batch.scope is not None else [""] * len(batch))
            return
        for i, (kind, rid, ns) in enumerate(zip(batch.type, batch.request_id, stamps)):
            if not rid:
                self.excuse(NO_KEY)
                continue
            if kind == "request" and not batch.identity[i] and batch.resource[i] == "sys/audit/test":
                self._alone(rid, ns, file, lines[i], SELF_TEST)
                continue
            if alone(kind, batch.resource[i], batch.result[i]):
                self._alone(rid, ns, file, lines[i])
                continue
            self._one(kind, rid, ns, file, lines[i], conns[i],
                      (batch.resource[i], batch.action[i], batch.source[i], batch.ports()[i], batch.senders()[i],
                       batch.scope[i] if batch.scope is not None else ""),
                      batch.result[i].startswith("error: "))

    def _traces(self, batch: Entries) -> None:
        """Keep the batch's forwarding traces (at most TRACES; the rest counted)."""
        found = traces_in(batch)
        room = max(0, TRACES - len(self.traces))
        self.traces += found[:room]
        self.traces_more += len(found) - len(found[:room])

    def _plain(self, types: list[str], ids: list[str], stamps: list[int], file: str, lines: Sequence[int],
               conns: list[str], paths: list[str], ops: list[str], results: list[str], addrs: list[str],
               ports: list[str], who: list[str], scopes: list[str]) -> None:
        """``entries`` for a batch with nothing to excuse (every entry has a request id, none is the device's
        self-test) of a range that is not a later one: ``_one``'s steps inlined, for the pairs that are whole."""
        if self.first_t is None:
            self.first_t = stamps[0]
        pending, answered, window, max_t = self.pending, self.answered, self.window, self.max_t
        pop, get, cap = pending.pop, answered.get, ANSWERED
        early = self.first_t + 2 * window if len(self.seen_conns) < CONNS else -1  # seen_conns: the first windows
        # _opened and _closed, inlined for the common case: a connection with no other request pending
        open_, open_get, pend_conn, pend_get, suspect = self.open, self.open.get, self.pend_conn, self.pend_conn.get, \
            self.suspect
        longest = self.longest
        for kind, rid, ns, line, conn, path, op, result, addr, port, by, scope in zip(
                types, ids, stamps, lines, conns, paths, ops, results, addrs, ports, who, scopes):
            before = max_t
            if ns > max_t:
                self.max_t = max_t = ns
                if pending and next(iter(pending.values()))[0] + window < ns:
                    self._expire(ns)
            if kind == "request":
                first = pending.get(rid)
                done = get(rid) if first is None else None
                if first is None and (done is None or done[0] + window < max_t):
                    pending[rid] = (ns, file, line, (path, op, addr, port, by, scope), result[:7] == "error: ")
                    if conn:
                        if open_get(conn) is None and len(open_) < CONNS:
                            open_[conn] = [rid]
                            pend_conn[rid] = conn
                        else:
                            self._opened(rid, conn)
                else:
                    self._again(file, line, rid, ns, first, done)
            elif kind == "response":
                asked = pop(rid, None)
                if asked is None:
                    self._unpaired(rid, ns, file, line, before, conn, (path, op, addr, port, by, scope),
                                   result[:7] == "error: ")
                else:
                    q = asked[3]  # (compared field by field: no tuple made for the common, agreeing pair)
                    if q[0] != path or q[1] != op or q[2] != addr or q[3] != port or q[4] != by or q[5] != scope or (
                            asked[4] and result[:7] != "error: "):
                        self._differs(asked, rid, file, line, (path, op, addr, port, by, scope),
                                      result[:7] == "error: ")
                    if ns - asked[0] > longest:
                        longest = ns - asked[0]
                    if conn:
                        waiting = open_get(conn)
                        if (waiting is not None and len(waiting) == 1 and waiting[0] == rid and rid not in suspect
                                and pend_get(rid) == conn):
                            del open_[conn]
                            del pend_conn[rid]
                        else:
                            self._closed(rid)
                    answered[rid] = (ns, file, line, asked[0])
                    if len(answered) > cap:  # _trim, inlined for the common case: the oldest is within the window
                        if next(iter(answered.values()))[0] < max_t - window:
                            self._trim()
                        else:
                            answered.popitem(last=False)
                            self.answered_over = True
            if conn and ns <= early:
                self._saw(conn, ns, kind == "request")
        self.longest = longest
        if len(answered) > self.answered_peak:  # at least as many as were within the window at any entry
            self.answered_peak = len(answered)
        if answered and next(iter(answered.values()))[0] + window < max_t:
            self._trim()  # memory: only the window's

    def _head(self, types: list[str], ids: list[str], stamps: list[int], file: str, lines: Sequence[int]) -> None:
        """The entries of a batch that lie in the log's first window, into ``head`` and ``head_answers``; the
        first window closed once a batch begins a window past it."""
        start = self.first_t if self.first_t is not None else stamps[0]
        limit = start + self.window
        if stamps[0] > limit + self.window:
            self.head_open = False
            return
        for kind, rid, ns, line in zip(types, ids, stamps, lines):
            if ns <= limit:
                self._head_one(kind, rid, ns, file, line)

    def _head_one(self, kind: str, rid: str, ns: int, file: str, line: int) -> None:
        into = self.head if kind == "request" else self.head_answers if kind == "response" else None
        if into is None or rid in into:
            return
        if len(self.head) + len(self.head_answers) >= HEAD:
            self.head_over = True
            return
        into[rid] = (ns, file, line)

    def entry(self, rec: Record) -> None:
        if self.skip:
            if self.digests:
                self._seen(rec)
            return
        rid, ts = rec.request_id, rec.ts
        if self.fmt == "jsonl" and rec.type not in ("request", "response"):
            self.excuse(UNTYPED)
            return
        if not rid or ts is None:
            self.excuse(NO_KEY)
            if rid and rec.type in ("request", "response"):
                self._untimed(rec.type, rid)
            return
        if rec.type == "request" and rec.resource == "sys/audit/test" and not rec.identity:
            self._alone(rid, ts[0], rec.file, rec.line, SELF_TEST)
            return
        if alone(rec.type, rec.resource, rec.result):
            self._alone(rid, ts[0], rec.file, rec.line)
            return
        conn = rec.source + "\0" + rec.port if rec.source and rec.port else ""
        self._one(rec.type, rid, ts[0], rec.file, rec.line, conn,
                  (rec.resource, rec.action, rec.source, rec.port, rec.sender or rec.identity, rec.scope),
                  rec.result.startswith("error: "))

    def bad_line(self, bad: BadLine) -> None:
        """A line too long to read (``lines.too_long``) is still the entry its head says it is (its kind, request id
        and, where the entry opens with it, its time), and a line of several octet-counted syslog messages (a cut
        one lost its line end) the entry of its last one (``syslog.last_joined``): paired by that, so that its
        partner is not called lost. A response whose time is not told pairs with its request still pending;
        anything else is left to required_fields, which names the line."""
        if self.skip or not bad.raw:
            return
        if unscanned(bad.reason):
            what = long_entry(bad.raw)
        else:
            framed = last_joined(bad.reason, bad.raw.encode("utf-8"))
            what = long_entry(framed.decode("utf-8", "replace")) if framed is not None else None
        if what is None or what.kind not in ("request", "response"):
            return
        stamp = parse_time(what.time) if what.time else None
        asked = self.pending.get(what.request_id)
        if stamp is None and (what.kind != "response" or asked is None):
            return
        ns = stamp[0] if stamp is not None else max(asked[0], self.max_t) if asked is not None else 0
        self._one(what.kind, what.request_id, ns, bad.file, bad.line, "", ("", "", "", "", "", _UNREAD),
                  asked[4] if asked is not None else False)

    def _one(self, kind: str, rid: str, ns: int, file: str, line: int, conn: str, said: Asked, error: bool) -> None:
        """One entry with a request id and a time, not the device's self-test: ``said`` what it records of its
        request (``Asked``), ``error`` whether it records an error."""
        if self.first_t is None:
            self.first_t = ns
        if self.head_open:
            if ns <= self.first_t + self.window:
                self._head_one(kind, rid, ns, file, line)
            elif ns > self.first_t + 2 * self.window:
                self.head_open = False
        if self.early is not None:
            self._early(rid, ns, kind == "request")
        before = self.max_t
        if ns > before:
            self.max_t = ns
            self._expire(ns)
        if kind == "request":
            first = self.pending.get(rid)
            done = self.answered.get(rid) if first is None else None
            if first is None and (done is None or done[0] + self.window < self.max_t):
                self.pending[rid] = (ns, file, line, said, error)
                if conn:
                    self._opened(rid, conn)
            else:
                self._again(file, line, rid, ns, first, done)
        elif kind == "response":
            asked = self.pending.pop(rid, None)
            if asked is None:
                self._unpaired(rid, ns, file, line, before, conn, said, error)
            else:
                if asked[3] != said or (asked[4] and not error):
                    self._differs(asked, rid, file, line, said, error)
                self.longest = max(self.longest, ns - asked[0])
                if conn:
                    self._closed(rid)
                self._answer(rid, ns, file, line, asked[0])
        if conn and ns <= self.first_t + 2 * self.window and len(self.seen_conns) < CONNS:
            self._saw(conn, ns, kind == "request")

    # -- connections: a lost partner within the window ------------------------------------------------------
    def _opened(self, rid: str, conn: str) -> None:
        """A request now pending on ``conn``: the requests still pending there are followed by another."""
        waiting = self.open.get(conn)
        if waiting is None:
            if len(self.open) >= CONNS:
                self.conns_over = True
                return
            self.open[conn] = [rid]
        else:
            self.suspect.update(waiting)
            waiting.append(rid)
        self.pend_conn[rid] = conn

    def _closed(self, rid: str) -> None:
        """A pending request answered (or given up): off its connection; answered after its connection sent another
        request, the connection serves requests at once (``mux``)."""
        conn = self.pend_conn.pop(rid, None)
        if conn is None:
            return
        waiting = self.open.get(conn)
        if waiting is not None:
            if rid in waiting:
                waiting.remove(rid)
            if not waiting:
                del self.open[conn]
        if rid in self.suspect:
            self.suspect.discard(rid)
            self._multiplexed(conn)

    def _multiplexed(self, conn: str) -> None:
        if len(self.mux) >= CONNS:
            self.conns_over = True
        else:
            self.mux.add(conn)

    def _saw(self, conn: str, ns: int, request: bool) -> None:
        """An entry of ``conn`` in the first two windows (``seen_conns``)."""
        got = self.seen_conns.get(conn)
        if got is None:
            if len(self.seen_conns) >= CONNS:
                self.conns_over = True
                return
            self.seen_conns[conn] = (ns, ns if request else -1)
        elif request and got[1] < 0:
            self.seen_conns[conn] = (got[0], ns)

    def late(self) -> int:
        """How far from the log's edge an entry without partner may lie and still be excused as in flight there
        (ns): LATE times the longest any request of the log took, at least LATE_FLOOR, at most the window; the
        window itself beside an unnamed file of the log's set (``beside``)."""
        return self.window if self.beside else min(self.window, max(LATE_FLOOR, LATE * self.longest))

    def _lost(self) -> tuple[dict[str, str], dict[tuple[str, int], str]]:
        """The requests in flight and the responses without request that lost their partner in this log (see the
        module's docstring), with what shows it ("conn": their connection; "late": their distance from the log's
        edge, but in a file of a set: ``in_set``): the request ids, and the responses' (file, line)."""
        requests: dict[str, str] = {}
        responses: dict[tuple[str, int], str] = {}
        if not self.conns_over:
            mux = self.mux
            requests = {rid: "conn" for rid in self.pending
                        if rid in self.suspect and self.pend_conn.get(rid) not in mux}
            for _rid, _ns, file, line, _before in self.orphans:
                info = self.orphan_conn.get((file, line))
                if info is not None and info[1] and not info[3] and info[0] not in mux:
                    responses[(file, line)] = "conn"
        if self.first_t is not None and not self.in_set:
            late, end, start = self.late(), self.max_t, self.first_t
            long_requests, long_responses = self.long_edges()
            for rid, (ns, *_) in self.pending.items():
                if end - ns > late and rid not in long_requests:
                    requests.setdefault(rid, "late")
            for _rid, ns, file, line, _before in self.orphans:
                if ns - start > late and (file, line) not in long_responses:
                    responses.setdefault((file, line), "late")
        return requests, responses

    def _long(self, path: str, far: int) -> bool:
        """Whether a request on ``path`` without its partner ``far`` ns from the log's edge is a long-running one
        still running there (LONG_RUNNING)."""
        return LONG_RUNNING.match(path) is not None and (far <= self.window or _STREAMS.match(path) is not None)

    def long_edges(self) -> tuple[set[str], set[tuple[str, int]]]:
        """The long-running ones (``_long``) among the requests in flight at the log's end (their request ids) and
        the responses without request at its start (their file and line)."""
        if self.first_t is None:
            return set(), set()
        end, start = self.max_t, self.first_t
        requests = {rid for rid, (ns, _f, _n, asked, _e) in self.pending.items() if self._long(asked[0], end - ns)}
        responses = set()
        for _rid, ns, file, line, _before in self.orphans:
            said = self.orphan_said.get((file, line))
            if said is not None and self._long(said[0][0], ns - start):
                responses.add((file, line))
        return requests, responses

    def _answer(self, rid: str, ns: int, file: str, line: int, asked: int = -1) -> None:
        """Remember a response (paired or not, ``asked`` the time of its request entry) to name an entry of its
        request written again."""
        answered = self.answered
        answered[rid] = (ns, file, line, asked)
        if len(answered) > ANSWERED or next(iter(answered.values()))[0] + self.window < self.max_t:
            self._trim()
        if len(answered) > self.answered_peak:
            self.answered_peak = len(answered)

    def _trim(self) -> None:
        """The responses older than the window out of ``answered`` from its oldest on; then, while it holds more
        than ANSWERED, the oldest of those within the window too (``answered_over``)."""
        answered, limit = self.answered, self.max_t - self.window
        old = 0  # counted in one walk from the oldest (an iterator a pop would cost one each)
        for t in answered.values():
            if t[0] >= limit:
                break
            old += 1
        pop = answered.popitem
        for _ in range(old):
            pop(False)
        while len(answered) > ANSWERED:
            answered.popitem(last=False)
            self.answered_over = True

    def _untimed(self, kind: str, rid: str) -> None:
        """An entry with request id ``rid`` and no readable time: its pending request is answered by it (a
        response), or its response will be (a request)."""
        if kind == "response":
            if self.pending.pop(rid, None) is not None:
                self._closed(rid)
            elif len(self.untimed_responses) < UNTIMED:
                self.untimed_responses.add(rid)
        elif len(self.untimed_requests) < UNTIMED:
            self.untimed_requests.add(rid)

    def _unpaired(self, rid: str, ns: int, file: str, line: int, before: int, conn: str, said: Asked,
                  error: bool) -> None:
        """A response whose request is not pending: paired with a request entry that has no readable time, written
        again (its request answered within the window), or an orphan."""
        if (file, line) in self.device_on:
            self.excuse(DEVICE_ON)
            self._answer(rid, ns, file, line)
            return
        if rid in self.untimed_requests:
            self.untimed_requests.discard(rid)
            self._answer(rid, ns, file, line)
            return
        done = self.answered.get(rid)
        if done is not None and done[0] + self.window >= self.max_t:
            self._again(file, line, rid, ns, None, done, "response")
            return
        self._orphan(rid, ns, file, line, before, conn, said, error)
        self._answer(rid, ns, file, line)

    def _differs(self, asked: tuple[int, str, int, Asked, bool], rid: str, file: str, line: int, said: Asked,
                 error: bool) -> None:
        """A response entry paired with its request entry ``asked`` that says otherwise of the request (``differs``):
        a finding at the response, naming the request entry and the fields."""
        what = differs(asked[3], asked[4], said, error, rid not in self.twice)
        if what:
            self._find(file, line, "differs", rid, differs_note(asked[1], asked[2], what))

    def _again(self, file: str, line: int, rid: str, ns: int, first: Optional[tuple[int, str, int, Asked, bool]],
               done: Optional[tuple[int, str, int, int]], kind: str = "request") -> None:
        """An entry of a request already written: ``first`` its request entry still pending, else ``done`` its
        response entry. The same time as the first entry of its kind is the same entry copied; another time, another
        writer."""
        if first is not None:
            what, (t, f, n) = "dup_request", first[:3]
            if len(self.twice) >= ANSWERED:
                self.twice.clear()
            self.twice.add(rid)
        else:
            assert done is not None
            what, (t, f, n) = ("dup_response" if kind == "response" else "dup_answered"), done[:3]
            if kind == "request":
                t = done[3]  # (a request entry copied repeats its request entry's time, not its response's)
            if kind == "request" and rid in self.unasked:  # its response came first, with no request entry before
                # it: the lines were reordered
                orphan = next((o for o in self.orphans if o[0] == rid and (o[2], o[3]) == (f, n)), None)
                found = next((x for x in self.found if x[:4] == (f, n, "response", rid)), None)
                if orphan is not None:
                    self.orphans.remove(orphan)
                    what = "dup_late"
                elif found is not None:  # (said "has no request entry": withdrawn, this one says why)
                    self.found.remove(found)
                    what = "dup_late"
                if what == "dup_late" and self.unordered:
                    self.late_paired += 1
                    return
        self._find(file, line, what + ("=" if t == ns else ""), rid, f"{f}:{n}")

    # -- Kubernetes and CloudTrail: one record written twice ------------------------------------------------
    def block(self, file: str, first_line: int, data: bytes) -> None:
        """Kubernetes and CloudTrail: each line's digest, for ``entry`` to compare a record whose key comes again.
        A Kubernetes event's digest is of its bytes past any platform framing (a retried webhook batch is encoded
        again by the same encoder: the same bytes; decoding every event again would double the read); a CloudTrail
        record's is of the record with its keys sorted (files are small, and read whole), with its eventID."""
        if self.fmt == "vault":
            self.hint = trace_hint(data)
            if b"+builtin." in data:
                self._versions(first_line, data)
        if self.fmt not in ("k8s", "cloudtrail") and not self.keyed:
            return
        import hashlib

        import orjson

        blake2b = hashlib.blake2b
        trail = self.fmt == "cloudtrail" or self.keyed  # (a record's digest with its keys sorted)
        digests: dict[int, tuple[str, bytes]] = {}
        self.forbid = set()
        self.received = received = {}
        self.same = same = {}
        self.keys = keys = {}
        n = first_line - 1
        for raw in data.split(b"\n"):
            n += 1
            if not raw or raw.isspace():
                continue
            text = raw.rstrip(b"\r")
            if text[:1] != b"{" and b"{" in text:
                text = text[text.find(b"{"):]  # past a platform's framing (a container runtime's time and stream)
            eid = ""
            if trail:
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict):
                    got = obj.get("eventID")
                    eid = got if isinstance(got, str) else ""
                    text = dumps(obj, sort_keys=True)
            digests[n] = (eid, blake2b(text, digest_size=16).digest())
            if not trail and b"forbid" in text and _FORBID.search(text) is not None:
                self.forbid.add(n)
            if not trail and b'"auditID"' in text:
                got, alike, key = _k8s_event(text)
                if got is not None:
                    received[n] = got
                elif key:
                    keys[n] = key
                if alike is not None:
                    same[n] = alike
        self.digests = digests

    def _seen(self, rec: Record) -> None:
        """A record of Kubernetes (key: auditID, stage and requestReceivedTimestamp), CloudTrail (key: eventID) or
        keyed JSON lines (key: request id, time and action) that its producer writes once: the same key again with
        the same record is a delivery repeated (excused by that rule), with another record a finding at the second
        line naming the first. The last SEEN keys are remembered. A Kubernetes or JSON lines record without a key
        is excused (NO_KEY), not counted judged."""
        excuse_keyless = self.fmt == "k8s" or self.keyed
        got = self.digests.get(rec.line)
        if got is None:
            if excuse_keyless:
                self.excuse(NO_KEY)
            return
        eid, digest = got
        if self.fmt == "cloudtrail":
            key, rid = eid, eid
        elif self.keyed:
            rid = rec.request_id
            key = f"{rid}\0{rec.time}\0{rec.action}" if rid and rec.time else ""
        else:
            rid = rec.request_id
            key = f"{rid}\0{rec.type}\0{rec.time}" if rid and rec.type and rec.time else ""
        if not key:
            if excuse_keyless:
                self.excuse(NO_KEY)
            return
        # when it was written: a Kubernetes event's stageTimestamp (its time is when its request began, and a long
        # watch's event ends a file hours after that), so a set's files are told in time by what each holds
        when = rec.wts if rec.wts is not None and self.fmt == "k8s" else rec.ts
        if when is not None:
            ns = when[0]
            if self.seen_first is None:  # the first record's, as a Vault/OpenBao log's first entry's
                self.seen_first = ns
            if ns > self.seen_last:
                self.seen_last = ns
        if len(self.seen_head) < SEEN:
            self.seen_head.setdefault(key, (rec.file, rec.line, digest))
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = (rec.file, rec.line, digest)
            if len(self.seen) > SEEN:
                self.seen.popitem(last=False)
                self.seen_over = True
        elif first[2] == digest:
            if self.fmt == "cloudtrail" and first[0] == rec.file and self._delivery_file():
                # one delivered log file (one {"Records": [...]} document) holds each event once: a repeated delivery
                # is a whole file (another trail's, a copy), never a record within one (red team rt102 F6)
                self._find(rec.file, rec.line, "trail_again", rid, f"{first[0]}:{first[1]}")
                return
            self.excuse(REDELIVERED[self.fmt])
            return
        else:
            self._find(rec.file, rec.line, "conflict", rid, f"{first[0]}:{first[1]}")
            return
        if self.fmt == "k8s":
            self._stages(rec)
            self._k8s_stage(rec)

    def _delivery_file(self) -> bool:
        """CloudTrail: whether the log file is one delivered log file, a ``{"Records": [...]}`` document (read once,
        on its first repeated record), not records one a line (an export, EventBridge's events: delivered at least
        once each, so a record may come twice among them). A file that cannot be read again is taken as one: the
        reader read it as such, or refused it."""
        if self._delivered is None:
            self._delivered = _delivered(self.log_path) if self.log_path else False
        return self._delivered

    def _stages(self, rec: Record) -> None:
        """Kubernetes: the events of one request (one auditID, each stage its own event) name the one request its
        user, verb, URI and source made; and an event the authorizer forbade (authorization.k8s.io/decision forbid)
        was answered 403, never 2xx. An event edited to credit another user, or a forbidden read made a success,
        passed (red team rt45 F4)."""
        if rec.line in self.forbid and rec.result[:1] == "2":
            self._find(rec.file, rec.line, "forbid", rec.request_id, rec.result)
        said = (rec.identity, rec.action, rec.resource, rec.source)
        alike = self.same.get(rec.line)
        if alike is not None and alike.received_at:  # (a RequestReceived event's stageTimestamp is its receive time)
            self._find(rec.file, rec.line, "received_at", rec.request_id, alike.received_at)
        first = self.stages.get(rec.request_id)
        if first is None:
            self.stages[rec.request_id] = (rec.file, rec.line, rec.type, said, alike)
            if len(self.stages) > SEEN:
                self.stages.popitem(last=False)
            return
        what = [w for w, a, b in zip(_STAGE_WHAT, said, first[3]) if a and b and a != b]
        if alike is not None and first[4] is not None:
            what += _unlike(alike, first[4])
        if what and first[2] != rec.type:
            self._find(rec.file, rec.line, "stages", rec.request_id,
                       f"{first[0]}:{first[1]}\0{first[2]}\0{', '.join(what)}")

    def _k8s_stage(self, rec: Record) -> None:
        """Kubernetes: a request's RequestReceived event paired with a later stage of its auditID, in either order
        (``open`` until one comes, ``late`` past ``bound``); a later stage of a request whose RequestReceived the log
        does not hold (yet) is counted as such (``K8S_ALONE``), and no longer once its RequestReceived comes."""
        rid = rec.request_id
        when = rec.wts if rec.wts is not None else rec.ts
        ns = when[0] if when is not None else self.k8s_last_w
        if when is not None:
            # (the earliest time, not the first line's: one line dated at the log's end, planted first, made every
            # request "near the start", and stopped open requests from ageing: red team rt63 F2)
            if self.k8s_first_w is None or ns < self.k8s_first_w:
                self.k8s_first_w = ns
            if ns > self.k8s_last_w:
                self.k8s_last_w = ns
                self._k8s_expire(ns)
        if rec.type != "RequestReceived":
            if rec.type == "ResponseStarted" and self.k8s_unstarted:
                self.k8s_unstarted.pop(rid, None)  # (written after its ResponseComplete: a webhook's batches)
            held = self.k8s_open.pop(rid, None)
            if held is None:
                held = self.k8s_late.pop(rid, None)
            if held is not None:
                self._k8s_pair(rid, held.key, f"{held.file}:{held.line}")
                if held.long and rec.type != "ResponseStarted":
                    self.k8s_unstarted[rid] = None
                    if len(self.k8s_unstarted) > SEEN:
                        self.k8s_unstarted.popitem(last=False)
            elif rid not in self.k8s_paired:
                self.k8s_alone += 1
                self.k8s_unasked[rid] = self.k8s_unasked.get(rid, 0) + 1
                if len(self.k8s_unasked) > SEEN:  # (its events stay counted as with no RequestReceived)
                    self.k8s_unasked.popitem(last=False)
                received = rec.ts[0] if rec.ts is not None else ns
                if rid not in self.k8s_headless:
                    self.k8s_headless[rid] = (received, rec.file, rec.line, self.keys.get(rec.line, b""))
                    if len(self.k8s_headless) > SEEN:
                        self.k8s_headless.popitem(last=False)
            return
        key, long = self.received.get(rec.line, (b"", False))
        self.k8s_headless.pop(rid, None)
        later = self.k8s_unasked.pop(rid, 0)
        if later:  # its later stage came first (a webhook's batches, sent concurrently)
            self.k8s_reordered = True
            self.k8s_alone -= later
            self._k8s_pair(rid, key, rec.where)
        elif rid in self.k8s_open or rid in self.k8s_late or rid in self.k8s_paired:
            self.excuse(K8S_AGAIN)
        else:
            self.k8s_open[rid] = Open(ns, rec.file, rec.line, key, long)

    def _k8s_pair(self, rid: str, key: bytes, where: str) -> None:
        self.k8s_pairs += 1
        self.k8s_paired[rid] = None
        if len(self.k8s_paired) > SEEN:
            self.k8s_paired.popitem(last=False)
        if key and key not in self.k8s_both and len(self.k8s_both) < KEYS:
            self.k8s_both[key] = where

    def _k8s_expire(self, now: int) -> None:
        """The open RequestReceived events more than ``bound`` before ``now`` into ``late``; past SEEN of those, the
        oldest told (``_told``)."""
        opened, late, bound = self.k8s_open, self.k8s_late, self.bound
        while opened:
            rid, held = next(iter(opened.items()))
            if held.ns + bound >= now:
                break
            del opened[rid]
            late[rid] = held
            if len(late) > SEEN:
                self._told(*late.popitem(last=False))

    def _told(self, rid: str, held: "Open") -> None:
        """A RequestReceived event no later stage followed within SEEN others: excused (``_k8s_excuse``), or judged
        by its policy key at the end (``k8s_lost``)."""
        rule = self._k8s_excuse(held, late=True)
        if rule:
            self.k8s_told[rule] = self.k8s_told.get(rule, 0) + 1
        elif len(self.k8s_lost) < _KEEP:
            self.k8s_lost.append(held._replace(rid=rid))
        else:
            self.k8s_lost_more[held.key] = self.k8s_lost_more.get(held.key, 0) + 1

    def _k8s_excuse(self, held: "Open", late: bool) -> str:
        """Why a RequestReceived event with no later stage of its request is not a request whose outcome the log
        lost (see the module's docstring), or "" when it is one (a finding: ``_k8s_verdict``): within ``bound`` of
        the log's last event (``late`` False: in flight there, long-running or not); long-running where the log shows
        a policy that omits ResponseStarted (``k8s_unstarted``: its outcome is written when it ends); within
        ``bound`` of the log's first event where the log shows a webhook's reordered batches (``k8s_reordered``).
        What the log shows is what it showed so far where an event is told before the end (``_told``)."""
        if not late:
            return k8s_in_flight(self.bound)
        if held.long and self.k8s_unstarted:
            return K8S_LONG
        if (self.k8s_reordered and self.k8s_first_w is not None
                and held.ns - self.k8s_first_w <= self.bound):
            return k8s_before(self.bound)
        return ""

    def _k8s_verdict(self) -> tuple[dict[str, int], list[tuple[str, int, str, str, str]], int]:
        """Kubernetes, once fed: the RequestReceived events with no later stage excused, by rule (with the events
        without RequestReceived), those judged (no outcome recorded) as (file, line, kind, auditID, the file:line of
        a request of the same policy key paired, or how many of its key have no later stage either), and how many
        more of those were not kept (``k8s_lost_more``). None is excused by its policy key: a policy that omits the
        later stages loses the outcome of every such request, which is reported, not excused (red team rt102 F2)."""
        if self.k8s_last_w >= 0:  # the requests still open past ``bound`` of the log's latest time are late, however
            self._k8s_expire(self.k8s_last_w)  # early in the file that time came
        rules = dict(self.k8s_told)
        lost: list[tuple[str, int, str, str, str]] = []
        alone = self.k8s_alone
        for rid, (received, file, line, key) in self.k8s_headless.items():
            # a later stage whose RequestReceived is not in the log, where the log shows that the policy writes that
            # stage for such a request and the request began well within the log (not before its start, nor so near
            # its end that a webhook's later batch would hold it): that event was dropped
            paired = self.k8s_both.get(key) if key else None
            if (paired is not None and self.k8s_first_w is not None and received - self.k8s_first_w > self.bound
                    and self.k8s_last_w - received > self.bound):
                lost.append((file, line, "k8s_headless", rid, paired))
                alone -= self.k8s_unasked.get(rid, 1)
        if alone > 0:
            rules[K8S_ALONE] = alone
        told = [(self._k8s_excuse(h, late=False), h._replace(rid=r)) for r, h in self.k8s_open.items()]
        told += [(self._k8s_excuse(h, late=True), h._replace(rid=r)) for r, h in self.k8s_late.items()]
        told += [("", h) for h in self.k8s_lost]
        # the policy keys of the requests with no later stage: how many of each, for the finding to say whether
        # others of its kind lost theirs too (a policy that omits the later stages, or a hop that drops them all)
        lone: dict[bytes, int] = dict(self.k8s_lost_more)
        for rule, held in told:
            if not rule and held.key:
                lone[held.key] = lone.get(held.key, 0) + 1
        for rule, held in told:
            if rule:
                rules[rule] = rules.get(rule, 0) + 1
                continue
            paired = self.k8s_both.get(held.key) if held.key else None
            if paired is not None:
                lost.append((held.file, held.line, "k8s_lost", held.rid, paired))
            elif held.key and lone[held.key] > 1:
                lost.append((held.file, held.line, "k8s_unkept", held.rid, str(lone[held.key])))
            else:
                lost.append((held.file, held.line, "k8s_once", held.rid, ""))
        return rules, lost, sum(self.k8s_lost_more.values())

    @classmethod
    def splits(cls, ctx: CheckContext) -> bool:
        """A Kubernetes log, and JSON lines keyed by request id, time and action (``keyed``), are read whole: the
        records they remember (SEEN) are the last ones of one pass (cut into ranges, ``merge`` declined and the file
        was read a second time, whole)."""
        return format_of(ctx.settings).name != "k8s" and not keyed_lines(ctx.settings)

    def _expire(self, now: int) -> None:
        """Requests older than the window before ``now``: their response can no longer come."""
        pending = self.pending
        while pending:
            rid, (ns, file, line, *_) = next(iter(pending.items()))
            if ns + self.window >= now:
                break
            del pending[rid]
            if self.pend_conn:
                self._expired(rid)
            self._find(file, line, "request", rid)

    def _expired(self, rid: str) -> None:
        """A pending request given up (a finding already): off its connection, telling nothing of it."""
        self.suspect.discard(rid)
        self._closed(rid)

    def _orphan(self, rid: str, ns: int, file: str, line: int, before: int, conn: str, said: Asked,
                error: bool) -> None:
        assert self.first_t is not None
        if len(self.unasked) >= ANSWERED:
            self.unasked.clear()
        self.unasked.add(rid)
        if before <= self.first_t + self.window:
            self.orphans.append((rid, ns, file, line, before))  # perhaps its request was before the log (or range)
            self.orphan_said[(file, line)] = (said, error)
            if conn:
                seen = self.seen_conns.get(conn)
                self.orphan_conn[(file, line)] = (conn, seen is not None, seen is not None and seen[1] >= 0,
                                                  bool(self.open.get(conn)))
        else:
            self._find(file, line, "response", rid)

    def _alone(self, rid: str, ns: int, file: str, line: int, why: str = ALONE) -> None:
        """An entry the vault writes alone (the device's self-test too: ``why``): excused for its missing response,
        unless its request id was seen in such an entry already (then it is that entry written again)."""
        first = self.alone_seen.get(rid)
        if first is not None:
            self._alone_again(first, rid, ns, file, line)
            return
        self.excuse(why)
        self.alone_seen[rid] = (ns, file, line, why)
        if len(self.alone_seen) > ANSWERED:
            self.alone_seen.popitem(last=False)

    def _alone_again(self, first: tuple[int, str, int, str], rid: str, ns: int, file: str, line: int) -> None:
        self._find(file, line, "dup_alone" + ("=" if first[0] == ns else ""), rid, f"{first[1]}:{first[2]}")

    def _merge_alone(self, later: "Pairs") -> None:
        """Take in ``later``'s entries written alone: one whose request id this range saw in such an entry is
        written again (which ``later``, not knowing the first, excused)."""
        excused: dict[str, int] = self.__dict__.setdefault("_excused", {})
        for rid, (ns, file, line, why) in later.alone_seen.items():
            first = self.alone_seen.get(rid)
            if first is None:
                self.alone_seen[rid] = (ns, file, line, why)
                continue
            self._alone_again(first, rid, ns, file, line)
            excused[why] -= 1
        while len(self.alone_seen) > ANSWERED:
            self.alone_seen.popitem(last=False)

    def _find(self, file: str, line: int, kind: str, rid: str, first: str = "") -> None:
        if kind == "request" and (file, line) in self.device_off:  # (its window ran out while the device was off)
            self.excuse(DEVICE_OFF)
            return
        if len(self.found) >= _KEEP:
            self.more += 1
            return
        self.found.append((file, line, kind, rid, first))

    # A later range of a file (``later_range``): its earliest time, and the ids of the entries it holds in its
    # first two windows (the only ones an entry before the range could pair with or be written again of), for
    # ``merge``: requests in ``early``, responses in ``early_answers``.
    low_t: Optional[int] = None
    early: Optional[set[str]] = None
    early_answers: Optional[set[str]] = None
    early_over = False

    def _versions(self, first_line: int, data: bytes) -> None:
        """Where the vault's own version changes in the block: one search a change (``_other_version``)."""
        at, line_at, line = 0, 0, first_line
        current = self.version_last
        while len(self.restarts) < _RESTARTS:
            m = (_other_version(current) if current else _CORE_VERSION).search(data, at)
            if m is None:
                break
            line += data.count(b"\n", line_at, m.start())
            line_at = at = m.start()
            if current:
                self.restarts.append((line, current, m.group(1)))
            else:
                self.version_first = (line, m.group(1))
            current = m.group(1)
            at = m.end()
        else:  # (more changes than kept: counted, to the block's last version)
            while True:
                m = _other_version(current).search(data, at)
                if m is None:
                    break
                self.restarts_more += 1
                current, at = m.group(1), m.end()
        self.version_last = current

    def _merge_versions(self, later: "Pairs") -> None:
        """The versions of ``later``'s range after this one's: a change where it begins, then its own."""
        if self.version_last and later.version_first is not None and later.version_first[1] != self.version_last:
            self.restarts.append((later.version_first[0], self.version_last, later.version_first[1]))
        self.restarts.extend(later.restarts)
        self.restarts_more += later.restarts_more + len(self.restarts[_RESTARTS:])
        del self.restarts[_RESTARTS:]
        self.version_first = self.version_first or later.version_first
        self.version_last = later.version_last or self.version_last

    def later_range(self) -> None:
        self.early, self.early_answers = set(), set()

    def _early(self, rid: str, ns: int, request: bool) -> None:
        assert self.early is not None and self.first_t is not None
        if self.low_t is None or ns < self.low_t:
            self.low_t = ns
        if ns <= self.first_t + 2 * self.window:
            ids = self.early if request else self.early_answers
            assert ids is not None
            if len(ids) < _EARLY:
                ids.add(rid)
            else:
                self.early_over = True

    def merge(self, later: "Visitor") -> None:
        """Take in the visitor of the lines right after this one's: its early responses may answer this one's last
        requests, and one pass's times expire them as they come. Where the ranges' times or ids interleave so that
        one pass could have judged differently (``later`` earlier than this range by more than the window, or
        than a request still pending here when ``later`` found an entry without its partner; a request id pending
        or answered here seen again in ``later``; more findings than are kept; more responses to remember than
        ANSWERED), it declines (NotImplementedError) and the file is read whole."""
        assert isinstance(later, Pairs)
        if self.unordered:
            raise NotImplementedError("an export that keeps no time order is judged in one pass")
        last = self.last_fed
        if self.device_off or later.device_off or (last is not None and later.opens_with_test and last[2:4] == (
                "request", "delete") and last[4].startswith("sys/audit/") and last[4] != _AUDIT_TEST):
            raise NotImplementedError("an audit device's own disabling and enabling is judged in one pass")
        self.merge_excused(later)
        self._merge_versions(later)
        traces = self.traces + later.traces  # (kept whichever way the merge goes on)
        self.traces = later.traces = traces[:TRACES]
        self.traces_more = later.traces_more = self.traces_more + later.traces_more + len(traces[TRACES:])
        if self.seen or later.seen:
            raise NotImplementedError("records remembered by key are judged in one pass")
        self._merge_alone(later)
        if later.first_t is None:
            return
        if self.first_t is None:
            found_here, alone_here = self.found, self.alone_seen
            self.__dict__.update({k: v for k, v in later.__dict__.items() if k != "_excused" and k not in _VERSIONS})
            self.found, self.alone_seen = found_here + later.found, alone_here
            return
        if later.early is None or later.early_answers is None or later.low_t is None:
            raise NotImplementedError("the visitor of a later range was not told so (later_range)")
        newest = max((p[0] for p in self.pending.values()), default=-1)
        kinds = {kind for _, _, kind, _, _ in later.found}
        answered = self.answered
        cut = max(self.max_t, later.low_t)  # one pass's time at any entry of ``later`` is at least this
        while answered and next(iter(answered.values()))[0] + self.window < cut:
            answered.popitem(last=False)  # too old to name any entry of ``later``
        fresh = {rid for rid, (ns, *_) in answered.items() if ns + self.window >= cut}
        if (later.first_t < self.first_t or later.low_t + self.window < self.max_t
                or (later.low_t < newest and "request" in kinds) or (later.first_t < newest and "response" in kinds)
                or (self.pending and (later.early_over or not later.early.isdisjoint(self.pending)))
                or (fresh and (later.early_over or not (later.early.isdisjoint(fresh)
                                                        and later.early_answers.isdisjoint(fresh))))
                or self.answered_over or later.answered_over or len(answered) + later.answered_peak > ANSWERED
                or self.more or later.more
                or len(self.found) + len(self.pending) + len(later.found) + len(later.orphans) >= _KEEP):
            raise NotImplementedError("request/response pairs that one pass could judge otherwise")
        self.conns_over = self.conns_over or later.conns_over
        self.twice |= later.twice
        self.longest = max(self.longest, later.longest)
        for rid in later.untimed_responses:  # entries of ``later`` without a time that answer requests pending here
            if self.pending.pop(rid, None) is not None:
                self._closed(rid)
            elif len(self.untimed_responses) < UNTIMED:
                self.untimed_responses.add(rid)
        for rid, ns, file, line, before in later.orphans:
            seen = max(self.max_t, before)  # one pass's latest time before this response
            # what one pass had expired when it came to this response, by its own time too (only this range's
            # requests are pending yet): a response more than the window after its request pairs with none
            self._expire(max(seen, ns))
            info = later.orphan_conn.get((file, line))
            if rid in self.untimed_requests:
                self.untimed_requests.discard(rid)
                continue
            asked = self.pending.pop(rid, None)
            if asked is not None:
                said = later.orphan_said.get((file, line))
                if said is not None:
                    self._differs(asked, rid, file, line, *said)
                self.longest = max(self.longest, ns - asked[0])
                if info is not None and info[2]:  # its connection sent a request in ``later`` before this answer
                    self.suspect.add(rid)
                self._closed(rid)
                continue
            if seen <= self.first_t + self.window:
                self.orphans.append((rid, ns, file, line, seen))
                if (file, line) in later.orphan_said:
                    self.orphan_said[(file, line)] = later.orphan_said[(file, line)]
                if info is not None:
                    here = self.seen_conns.get(info[0])
                    self.orphan_conn[(file, line)] = (info[0], info[1] or here is not None,
                                                      info[2] or (here is not None and here[1] >= 0),
                                                      info[3] or bool(self.open.get(info[0])))
            else:
                self._find(file, line, "response", rid)
        for conn, waiting in self.open.items():  # one pass: a request of ``later`` on a connection still waiting
            there = later.seen_conns.get(conn)
            if there is not None and there[1] >= 0:
                self.suspect.update(waiting)
        limit2 = self.first_t + 2 * self.window
        for conn, (ns, req) in later.seen_conns.items():
            if ns > limit2:
                continue
            had = self.seen_conns.get(conn)
            if had is None:
                if len(self.seen_conns) >= CONNS:
                    self.conns_over = True
                    break
                self.seen_conns[conn] = (ns, req if req <= limit2 else -1)
            elif had[1] < 0 and 0 <= req <= limit2:
                self.seen_conns[conn] = (had[0], req)
        for conn in later.mux:
            self._multiplexed(conn)
        limit = self.first_t + self.window
        for mine, theirs in ((self.head, later.head), (self.head_answers, later.head_answers)):
            for rid, at in theirs.items():
                if at[0] <= limit and rid not in mine:
                    if len(self.head) + len(self.head_answers) >= HEAD:
                        self.head_over = True
                        break
                    mine[rid] = at
        self.head_over = self.head_over or later.head_over
        self.max_t = max(self.max_t, later.max_t)
        self._expire(self.max_t)
        self.pending.update(later.pending)
        self.pend_conn.update(later.pend_conn)
        self.suspect.update(later.suspect)
        self.untimed_requests.update(list(later.untimed_requests)[: max(0, UNTIMED - len(self.untimed_requests))])
        for conn, waiting in later.open.items():
            self.open.setdefault(conn, []).extend(waiting)
        answered.update(later.answered)
        while answered and next(iter(answered.values()))[0] + self.window < self.max_t:
            answered.popitem(last=False)
        self.answered_peak = max(self.answered_peak, len(answered))
        for f in later.found:
            if len(self.found) < _KEEP:
                self.found.append(f)
            else:
                self.more += 1
        self.more += later.more

    def query_export(self, tool: str) -> None:
        """The file is an export of the query tool ``tool`` (``engine.files.verify_file``, red team rt67 F3): a
        request without its response at its end is a finding, for the export ends where the query's range or limit
        did (its response may lie past it), not where the vault's log does."""
        self.export_tool = tool

    def _export_cut(self, lost_requests: Mapping[str, str]) -> list[tuple[str, int, str, str, str]]:
        """The requests without a response at the end of a query tool's export, as findings (``finish``)."""
        if not self.export_tool:
            return []
        return [(file, line, "export", rid, self.export_tool) for rid, (_ns, file, line, *_) in self.pending.items()
                if rid not in lost_requests]

    @property
    def excused(self) -> dict[str, int]:
        """Entries excused so far, by rule: with the requests still in flight and the responses whose request came
        before, as they stand once everything was fed (nothing is excused for them until then); no request at the
        end of a query tool's export is in flight (``query_export``)."""
        out = dict(self.__dict__.get("_excused", {}))
        lost_requests, lost_responses = self._lost()
        flight, before = in_flight(self.window), before_log(self.window)
        if self.beside:
            w, there = self.window // 10**9, (f": {self.beside}, a file of this log's rotated set, lies beside it and "
                                              "is not named in this run (name it to have the pair judged)")
            flight = f"a request still in flight when the log ends (within {w} s of its last entry){there}"
            before = ("a response whose request was written before the log begins (within "
                      f"{w} s of its first entry){there}")
        long_requests, long_responses = self.long_edges() if not self.export_tool else (set(), set())
        flight_n = 0 if self.export_tool else sum(1 for rid in self.pending
                                                    if rid not in lost_requests and rid not in long_requests)
        answers = [(file, line) for _rid, _ns, file, line, _b in self.orphans if (file, line) not in lost_responses]
        before_n = sum(1 for at in answers if at not in long_responses)
        long_n = sum(1 for rid in self.pending if rid in long_requests and rid not in lost_requests) + (
            len(answers) - before_n)
        for rule, n in ((flight, flight_n), (before, before_n), (long_running(self.window), long_n)):
            if n:
                out[rule] = out.get(rule, 0) + n
        if self.fmt == "k8s":
            for rule, n in self._k8s_verdict()[0].items():
                out[rule] = out.get(rule, 0) + n
        return out

    def finish(self) -> Iterator[Any]:  # findings, a skip, a note
        lost_requests, lost_responses = self._lost()
        lost = [(file, line, "request~" + lost_requests[rid], rid, "") for rid, (_ns, file, line, *_)
                in self.pending.items() if rid in lost_requests]
        lost += [(file, line, "response~" + lost_responses[(file, line)], rid, "") for rid, _ns, file, line, _b
                 in self.orphans if (file, line) in lost_responses]
        lost += self._export_cut(lost_requests)
        unforwarded, alone = self._forwarding()
        lost += unforwarded
        more = self.more
        if self.fmt == "k8s":
            _rules, dropped, unkept = self._k8s_verdict()
            lost += dropped
            more += unkept
        found = sorted(self.found + lost[: max(0, _KEEP - len(self.found))], key=lambda f: (f[0], f[1]))
        for file, line, kind, rid, first in found[:_SHOW]:
            if kind == "conflict":
                yield Finding(ID, "", _conflict(self.fmt, first), _CONFLICT_FIX[self.fmt], where=f"{file}:{line}",
                              request_id=rid)
                continue
            if kind.startswith("dup_"):
                yield Finding(ID, "", _again_text(kind, first, self.window), _DUP_FIX, where=f"{file}:{line}",
                              request_id=rid)
                continue
            if kind == "differs":
                yield Finding(ID, "", differs_text(first), DIFFERS_FIX, where=f"{file}:{line}", request_id=rid)
                continue
            if kind == "stages":
                at, stage, what = first.split("\0")
                yield Finding(ID, "", f"The event names another {what} than the {stage} event of its request ({at}): "
                              "the API server writes every stage's event of a request from the one request, with its "
                              "user, verb, URI, source, level, user agent, receive time and object (an object's "
                              "fields and the impersonated user are only ever filled in later, never changed), so one "
                              "of the two was altered after it was written.",
                              _CONFLICT_FIX["k8s"], where=f"{file}:{line}", request_id=rid)
                continue
            if kind in _K8S_FOUND:  # (red team rt91)
                text, fix = _K8S_FOUND[kind](first, self.bound)
                yield Finding(ID, "", text, fix, where=f"{file}:{line}", request_id=rid)
                continue
            if kind == "forbid":
                yield Finding(ID, "", f"The event's authorization decision is forbid (its annotation "
                              f"authorization.k8s.io/decision) but its result is {first}: the API server answers a "
                              "request its authorizer forbade with 403 Forbidden, so the event was altered after it "
                              "was written.", _CONFLICT_FIX["k8s"], where=f"{file}:{line}", request_id=rid)
                continue
            if kind == "export":
                label = {"elasticsearch": "an Elasticsearch", "splunk": "a Splunk"}.get(first, f"a {first}")
                yield Finding(ID, "", f"The request entry has no response entry, in {label} export: the export ends "
                              "where the query's range or limit did, not where the vault's log does, so its response "
                              "may lie past it, or was never written.",
                              "export the whole range with no result limit (logcli --limit 0 or --batch, Splunk "
                              "-maxout 0, Elasticsearch search_after or a scroll), or verify the vault's own file",
                              where=f"{file}:{line}", request_id=rid)
                continue
            if kind == "k8s_lost":
                yield Finding(ID, "", k8s_lost_text(first, self.bound), K8S_DROP_FIX, where=f"{file}:{line}",
                              request_id=rid)
                continue
            if kind == "forwarded":
                yield Finding(ID, "", forwarded_text(first, file), FORWARDED_FIX, where=f"{file}:{line}",
                              request_id=rid)
                continue
            if "~" in kind:
                kind, why = kind.split("~")
                text = _lost_text(kind) if why == "conn" else self._late_text(kind)
                yield Finding(ID, "", text, _DROP_FIX + (_LATE_FIX if why == "late" else ""),
                              where=f"{file}:{line}", request_id=rid)
                continue
            other = "response" if kind == "request" else "request"
            when = ("no response entry follows it within "
                    f"{self.window // 10**9} s" if kind == "request" else "its request entry is not in the log")
            fix = _DROP_FIX + (f"; a vault whose max_request_duration is over {self.window // 10**9} s needs "
                               "completeness_window raised to match" if kind == "request" else "")
            yield Finding(ID, "", f"The {kind} entry has no {other} entry: {when}; a hop dropped a line.",
                          fix, where=f"{file}:{line}", request_id=rid)
        hidden = len(found) - _SHOW + more + max(0, len(lost) - max(0, _KEEP - len(self.found)))
        if hidden > 0:  # one finding that stands for them all (``entries``), at the first of them kept
            at = f"{found[_SHOW][0]}:{found[_SHOW][1]}" if len(found) > _SHOW else ""
            yield (Finding(ID, "", f"{hidden} more events have no later stage or are written twice.", K8S_DROP_FIX,
                           where=at, entries=hidden)
                   if self.fmt == "k8s" else
                   Finding(ID, "", f"{hidden} more records repeat the eventID of another record.", TRAIL_AGAIN_FIX,
                           where=at, entries=hidden)
                   if self.fmt == "cloudtrail" else
                   Finding(ID, "", f"{hidden} more entries have no partner entry or are written twice.", _DROP_FIX,
                           where=at, entries=hidden))
        if found or hidden > 0:
            return
        if self.skip and not (self.fmt == "k8s" and self.k8s_pairs):
            waiting = len(self.k8s_open) + len(self.k8s_late) + sum(self.k8s_told.values()) if self.fmt == "k8s" else 0
            yield Skip("", k8s_waiting(waiting, self.bound) if waiting else self.skip)
            return
        if self.narrowed:  # first: a report that shows a pass's notes cut short keeps it
            yield Note("", self.narrowed)
        if alone or self.traces_more:
            yield Note("", forwarded_note(alone, self.traces_more))
        if self.log_path and self._once() and not self._sealed():
            yield Note("", PAIRS_ONLY)
        if self.restarts and self.log_path and not self._sealed():
            yield Note("", restarted_note(self.restarts[0], len(self.restarts) - 1 + self.restarts_more))
        if self.late_paired:
            said = ("request entry came after its own response entry and was paired with it" if self.late_paired == 1
                    else "request entries came after their own response entries and were paired with them")
            yield Note("", f"{self.late_paired} {said}: {self.unordered}")
        if self.device_off:
            (_file, line), (path, again) = min(self.device_off.items())
            more = len(self.device_off) - 1
            yield Note("", f"The audit device writing this log was disabled at line {line} ({path}) and enabled again "
                       f"at line {again}{f'; and {more} more times' if more else ''}: what the vault served between "
                       "them is in no entry of this log (only another audit device's log holds it).")

    def _forwarding(self) -> tuple[list[tuple[str, int, str, str, str]], int]:
        """This file's forwarding traces paired across the run's files (``forwarded``; what was found is told to
        the access review of the same pass: ``told``): the SURE ones whose forwarded entries no file holds while
        another node's log covers their time (another file of the run whose span holds it, which does not hold the
        trace's own request id and shares a token digest with this file: another node of the same cluster; or this
        file where it holds the forwarded entries of others of its traces: a merged log) as findings at the trace's
        line, naming that log; and how many have no such log in the run (said in a note)."""
        if not self.traces or not self.log_path:
            return [], 0
        got = forwarded(self.traces, self.log_set or (self.log_path,), self.settings)
        told(self.traces, got)
        merged = {where.rsplit(":", 1)[0] for where in got.matched.values()}
        lost: list[tuple[str, int, str, str, str]] = []
        alone = 0
        for i, t in enumerate(self.traces):
            if i in got.matched or not t.sure:
                continue
            witness = next((f for f, (a, b) in got.spans.items() if f != t.file and a <= t.ns <= b
                            and t.rid not in got.holds.get(f, frozenset()) and got.same_vault(f, t.file)), "")
            if not witness and t.file in merged:
                witness = t.file
            if witness:
                lost.append((t.file, t.line, "forwarded", t.rid, witness))
            else:
                alone += 1
        return lost, alone

    def _once(self) -> bool:
        """Whether this file says what the run's passes rest on: a file alone, or the one that judges its set."""
        from ..engine.files import last_holding

        return not self.in_set or last_holding(self.log_set) == self.log_path

    def _sealed(self) -> bool:
        """Whether a digest chain lies beside the log file (its own ``LOG.digests``, or one of its rotated set's)."""
        from pathlib import Path

        from ..engine.objects import is_url
        from ..seal.chain import digests_path_for
        from ..seal.verify import chains_near

        if is_url(self.log_path):
            return False
        try:
            return os.path.lexists(digests_path_for(self.log_path)) or bool(
                chains_near(Path(self.log_path), self.log_set)[0])
        except OSError:
            return False


    def _late_text(self, kind: str) -> str:
        return late_text(kind, self.longest, self.late())


def forwarded_text(witness: str, file: str) -> str:
    """The finding for a standby's forwarding trace whose forwarded request's entries no file of the run holds,
    while ``witness`` (another node's log, or ``file`` itself holding other nodes' entries) covers its time."""
    other = ("this file holds the active node's entries of other forwarded requests" if witness == file else
             f"{witness}, another node's log of the run, covers that time")
    return (f"The response entry records the vault answering {READONLY!r}: the request reached a standby of an HA "
            "cluster, which forwards a request that writes to the active node, and the active node logs the "
            "request's own entries (another request id, on the same connection, path, operation and token) with "
            f"its outcome. No file of the run holds them, while {other}: the active node's entries of this "
            "request were dropped (or, if that log was a standby's too then, the active node's log is not in the "
            "run), so whether it was carried out is not in the log.")


FORWARDED_FIX = ("keep every node's audit log whole (every hop after each node's audit device: no filters, sampling or "
                 "dropped lines) and verify every node's log of the cluster together (name each node's file); seal "
                 "each node's log (auditready seal) so that a dropped line is proven, not inferred")


def forwarded_note(n: int, more: int = 0) -> str:
    """What a pass says of the forwarding traces no log of the run could pair (``Pairs._forwarding``), and of those
    past TRACES, not paired."""
    said = (f"{n} request(s) this log records as refused with {READONLY!r} reached this node as a standby of an HA "
            "cluster, which forwarded them to the active node: their own entries and outcome are in the active "
            "node's log, which no file of this run covers then; verify every node's log together to have them "
            "paired." if n else "")
    return " ".join(x for x in (said, f"{more} more forwarding traces than the {TRACES} a log's pass keeps were not "
                                      "paired with the active node's entries." if more else "") if x)


def narrowed(settings: "Settings", fmt: str, paired: bool) -> str:
    """What settings that ask less let pass, for the pass to say: a window above its default (``_window``), and
    rotation_start above 1 where completeness judges a set's numbers (retention_days = 0: ``numbers_missing``); ""
    when none does."""
    from ..config import Settings
    from .retention import rotation_said

    said = [_window(settings, fmt, paired)]
    start = settings.rotation_start
    if settings.retention_days == 0 and start > Settings.rotation_start:
        said.append(f"rotation_start = {start} (default {Settings.rotation_start}): {rotation_said(start)}")
    return "Narrowed by settings: " + "; ".join(s for s in said if s) + "." if any(said) else ""


def _window(settings: "Settings", fmt: str, paired: bool) -> str:
    """What a window set above its default excuses at a log's edges (red team rt74 F3): the completeness_window of a
    log of request/response pairs (``paired``), and for a Kubernetes log the larger of it and k8s_request_timeout;
    "" at or below the defaults, and for a log with no pairs."""
    from ..config import Settings

    window, default = settings.completeness_window, Settings.completeness_window
    if fmt == "k8s":
        timeout, usual_timeout = settings.k8s_request_timeout, Settings.k8s_request_timeout
        bound, usual = max(window, timeout), max(default, usual_timeout)
        reorder = settings.k8s_webhook_reorder
        start = (f"k8s_webhook_reorder = {reorder:g} s (default {Settings.k8s_webhook_reorder:g} s, the log "
                 f"backend's file, written in order): a RequestReceived event with no later stage is excused up to "
                 f"{bound:g} s from the file's first event, as a webhook's batch may have put its later stage in the "
                 "file before; this pass is no evidence of events dropped that near its start"
                 if reorder > Settings.k8s_webhook_reorder else "")
        if bound <= usual:
            return start
        which = (f"completeness_window = {window:g} s (default {default:g} s)" if window >= timeout else
                 f"k8s_request_timeout = {timeout:g} s (default {usual_timeout:g} s)")
        return "; ".join(x for x in (
            f"{which}: a RequestReceived event with no later stage is excused up to {bound:g} s from the file's last "
            f"event (and its first, where the file shows a webhook's reordered batches), the defaults' {usual:g} s "
            "at most; this pass is no evidence of events dropped that near an edge", start) if x)
    if not paired or window <= default:
        return ""
    return (f"completeness_window = {window:g} s (default {default:g} s): an entry without its request or response "
            f"is excused as in flight up to {window:g} s from the log's end or start, the default's {default:g} s at "
            "most; this pass is no evidence of lines dropped that near an edge")


def late_text(kind: str, longest: int, late: int) -> str:
    """The finding for an entry without partner that lies too far from the log's edge to be in flight there: the
    longest a request of the log took, and the bound that makes (``Pairs.late``), in ns."""
    slowest, bound = _span(longest), _span(late)
    if kind == "request":
        return (f"The request entry has no response entry, and the log goes on for more than {bound} after it: "
                f"the slowest request this log answered took {slowest}, and a request is excused as still in "
                f"flight at the log's end only within {LATE} times that (at least {LATE_FLOOR // 10**6} ms) of "
                "its last entry, so the response entry was written and a hop dropped it.")
    return (f"The response entry has no request entry, and it comes more than {bound} after the log's first "
            f"entry: the slowest request this log answered took {slowest}, and a response is excused as "
            f"answering a request written before the log began only within {LATE} times that (at least "
            f"{LATE_FLOOR // 10**6} ms) of its first entry, so the request entry was written in this log and a "
            "hop dropped it.")


def unnamed_neighbour(path: str, log_set: Sequence[str]) -> str:
    """A file of ``path``'s rotated set (its live log, or a rotated file of it) lying beside it and not in
    ``log_set``: the nearest name, or ""."""
    from ..auditlog.rotation import rotation_slot
    from .retention import rotated_beside

    folder, name = os.path.split(path)
    slot = rotation_slot(name)
    live = os.path.join(folder, slot[0]) if slot else path
    family = ([live] if live != path and os.path.isfile(live) else []) + rotated_beside(live)
    named = {os.path.realpath(p) for p in (*log_set, path)}
    return next((f for f in family if os.path.realpath(f) not in named), "")


def _span(ns: int) -> str:
    """A duration for a finding: milliseconds under a second, else seconds, three significant digits."""
    return f"{ns / 1e6:.3g} ms" if ns < 10**9 else f"{ns / 1e9:.3g} s"


def _conns(sources: list[str], ports: list[str]) -> list[str]:
    """Each entry's connection, remote_address and remote_port joined ("" without either)."""
    return [a + "\0" + p if a and p else "" for a, p in zip(sources, ports)]


def _lost_text(kind: str) -> str:
    """The finding for a request in flight (``kind`` "request") or a response without request at an edge of the log
    whose connection shows its partner was lost in this log."""
    if kind == "request":
        return ("The request entry has no response entry, and the same connection (remote_address and remote_port) "
                "sent another request after it: the vault writes a request's response entry before it answers, and "
                "HTTP/1.1 sends a connection's next request only after the answer, so the response entry was written "
                "and a hop dropped it.")
    return ("The response entry has no request entry, and an entry of the same connection (remote_address and "
            "remote_port) comes before it in the log: HTTP/1.1 sends a connection's next request only after the "
            "answer to the one before, so this request's entry was written after that one and a hop dropped it.")


def _again_text(kind: str, first: str, window: int) -> str:
    """The finding for a Vault/OpenBao entry of a request already written (``kind`` dup_request, dup_answered,
    dup_late or dup_response, "=" added when its time equals the first's): what it is and what wrote it."""
    what = kind[4:].rstrip("=")
    if what == "request":
        head = f"The request entry is written a second time while the first ({first}) still waits for its response"
    elif what == "alone":
        head = (f"The request entry, which the vault writes alone (no response entry follows it), is written a second "
                f"time (the first at {first})")
    elif what == "late":  # (red team rt48 F7: it was said to be written a second time, by a second writer)
        return (f"The request entry comes after its own response entry ({first}), which had no request entry before "
                "it: the lines are out of the order the vault wrote them in (a shipper's parallel workers, a merge of "
                "files by anything but time), or the entry was made up. The vault writes a request's entry before "
                "its response's.")
    elif what == "answered":
        head = (f"The request entry is written a second time after its request was answered (response entry at "
                f"{first}), so this one has no response entry")
    else:
        head = f"The response entry is written a second time (the first at {first}): its request was answered"
    cause = (": the same entry at the same time, so a hop copied the line (a shipper retrying without "
             "deduplication, a file joined with a copy of itself)"
             if kind.endswith("=") else
             ": another entry for one request id, with its own time, so a second writer wrote it: two audit devices "
             "declared with one file_path (OpenBao writes each device's entry, with its own time and HMAC salt, "
             "to that one file), or an entry made up")
    return f"{head}{cause}. The vault writes one request and one response entry a request to each device's file."


def differs_note(file: str, line: int, what: str) -> str:
    """What a "differs" finding keeps until it is worded (``differs_text``): the request entry's file:line and the
    fields (``differs``)."""
    return f"{file}:{line}\0{what}"


def differs_text(note: str) -> str:
    """The finding for a response entry that says otherwise than its request entry (``differs_note``)."""
    first, what = note.split("\0", 1)
    return (f"The response entry does not repeat its request entry ({first}): {what} differ(s). The vault writes both "
            "entries of one request from the same request (the response entry repeats its namespace, path, operation, "
            "connection and, but at a login, the token that sent it; a request refused before it was handled is "
            "answered with an error), so one of the two "
            "was altered, made up, or joined from another log.")


DIFFERS_FIX = ("compare the two entries with the audit device's own file (and another device's, if the vault has "
               "two); find the hop that rewrites entries, and seal the log where it is written (auditready seal) so "
               "that a changed entry is proven")


# Kubernetes: a request's RequestReceived event and its later stages (see the module's docstring).
K8S_NO_PAIRS = ("a Kubernetes audit log has no request/response pairs to check here: no RequestReceived event of it "
                "has a later stage of its request in the log (an audit policy that omits RequestReceived, omitStages, "
                "writes none); no record repeats the key of another with other content")
def k8s_waiting(n: int, bound: int) -> str:
    """Why a Kubernetes log none of whose requests has two stages in it, ``n`` of them RequestReceived events each
    excused (in flight at its end), has no pair to check: it records no outcome of those."""
    return (f"a Kubernetes audit log has no request/response pairs to check here: its {n} RequestReceived event(s) "
            f"are each within {bound // 10**9} s of its last event with no later stage of their request (in flight "
            "there, so not judged), and no other event of it has its RequestReceived in the log; the log records "
            "no outcome of those requests (required_fields does not count them judged)")


K8S_ALONE = ("a Kubernetes event of a request whose RequestReceived event the log does not hold: the audit policy may "
             "omit that stage (omitStages), so it has no pair to check (no other event repeats its key with other "
             "content)")
K8S_LONG = ("a long-running request's RequestReceived event (watch, proxy, exec, attach, port-forward, log) with no "
            "later stage, in a log that shows a policy omitting ResponseStarted (a long-running request of it has its "
            "ResponseComplete and no ResponseStarted): such a request runs for minutes or hours, and its outcome is "
            "then written only when it ends")
# (no longer an excuse of a file's own pass, red team rt102 F2: a policy that omits the later stages loses the outcome
# of every such request, a finding; kept for the set's word on a file's tally, engine.files._k8s_settles)
K8S_UNKEPT = ("a RequestReceived event with no later stage of its request, where no other request the same audit "
              "policy rule matched (user and groups, verb, object or non-resource path, level) has both: the policy "
              "may omit the later stages of such requests (omitStages)")
K8S_AGAIN = ("a RequestReceived event of an auditID another RequestReceived event of the log has, at another receive "
             "time (a client may choose the Audit-ID): not paired")
K8S_DROP_FIX = ("make every hop after the API server's audit backend keep every event (no filters, sampling or dropped "
                "lines); look in the API server's own log for a restart or 'audit buffer queue blocked' (the batch "
                "backend drops events when its buffer is full); and seal the log (auditready seal) so that a dropped "
                "line is proven, not inferred")
# what a pass rests on where no seal is beside the log (red team rt58 F3)
PAIRS_ONLY = ("It rests on pairs: a request a hop dropped whole (every entry of it) leaves no trace in the rest of "
              "the log; only a seal shows that (auditready seal, tamper_evidence).")
# The vault's own version as a built-in mount's entry names it (OpenBao "v2.7.2+builtin.bao", Vault
# "v1.15.6+builtin.vault", "v1.21.1+ent+builtin.vault"; a plugin's own, Vault's KV "v0.21.0+builtin" or an
# external "v0.22.0", is no restart); the group is its number (a version's characters only: it is printed)
_CORE_VERSION = re.compile(rb'"mount_running_version":"(v[0-9A-Za-z.\-]{1,40})(?:\+ent)?\+builtin\.(?:bao|vault)"')
_RESTARTS = 20  # version changes kept per file (the first is said)
_VERSIONS = frozenset({"version_first", "version_last", "restarts", "restarts_more"})  # (``Pairs.merge``)


@functools.lru_cache(maxsize=64)
def _other_version(version: bytes) -> "re.Pattern[bytes]":
    """The vault's own version (``_CORE_VERSION``) where it is not ``version``."""
    return re.compile(rb'"mount_running_version":"(?!' + re.escape(version) + rb'\+)(v[0-9A-Za-z.\-]{1,40})'
                      rb'(?:\+ent)?\+builtin\.(?:bao|vault)"')


def restarted_note(first: tuple[int, bytes, bytes], more: int) -> str:
    """What a pass says of the vault's restarts in the file (``Pairs.restarts``): the first, and how many more."""
    line, old, new = first
    return (f"The vault's own version changes at line {line} ({old.decode('ascii', 'replace')} to "
            f"{new.decode('ascii', 'replace')}{f'; and {more} more times' if more else ''}): it was restarted there, "
            "and the gap a restart leaves would hide requests dropped whole around it too.")


def k8s_in_flight(bound: int) -> str:
    return (f"a RequestReceived event within {bound // 10**9} s of the log's last event with no later stage of its "
            "request: the request may still have been in flight (its ResponseComplete is in the next file of the "
            "set, or was never written)")


def k8s_before(bound: int) -> str:
    return (f"a RequestReceived event within {bound // 10**9} s of the log's first event with no later stage of its "
            "request: a webhook backend sends its batches concurrently, so the later stage may be in the file before")


def k8s_lost_text(paired: str, bound: int) -> str:
    """The finding for a RequestReceived event no later stage of its request follows (``Pairs._k8s_verdict``)."""
    return (f"The RequestReceived event has no later stage of its request (no ResponseComplete, ResponseStarted or "
            f"Panic event of its auditID in the log), and the log goes on for more than {bound // 10**9} s after "
            "it: the API server writes a request's ResponseComplete once its response is sent, within "
            "k8s_request_timeout for a request that is not long-running, and the audit policy keeps that stage for "
            f"such a request (another request by the same user and groups, verb, object and level has both: "
            f"{paired}). So a hop dropped the event, or the API server stopped before it finished the request; "
            "the request's outcome (allowed or refused) is not in the log.")


def k8s_once_text(bound: int) -> str:
    """The finding for a RequestReceived event with no later stage whose policy key no other request has."""
    return (f"The RequestReceived event has no later stage of its request (no ResponseComplete, ResponseStarted or "
            f"Panic event of its auditID in the log), and the log goes on for more than {bound // 10**9} s after "
            "it: the API server writes a request's ResponseComplete once its response is sent, within "
            "k8s_request_timeout for a request that is not long-running (a long-running one's ResponseStarted as "
            "soon as its response headers are sent), unless the audit policy omits that stage (omitStages). No "
            "other request the same policy rule matched (user and groups, verb, object and level) is in the log to "
            "show which, and either way the log does not say whether this request was allowed or refused: a hop "
            "dropped the event, or the policy hides the outcome (PCI DSS 10.2.2 asks for the success or failure of "
            "every event).")


def k8s_unkept_text(others: str, bound: int) -> str:
    """The finding for a RequestReceived event with no later stage where ``others`` (a count, with it) requests of
    its policy key have none either and none has both (red team rt102 F2: they were excused as the policy's)."""
    return (f"The RequestReceived event has no later stage of its request (no ResponseComplete, ResponseStarted or "
            f"Panic event of its auditID in the log), and the log goes on for more than {bound // 10**9} s after "
            f"it. It is one of {others} requests of the log that the same policy rule matched (user and groups, "
            "verb, object and level), and none of them has a later stage: the audit policy omits the later stages "
            "of such requests (omitStages), or a hop drops them (a pipeline that de-duplicates events by auditID "
            "keeps only the first stage). Either way the log does not record whether these requests were allowed "
            "or refused (PCI DSS 10.2.2 asks for the success or failure of every event); an audit policy may omit "
            "RequestReceived, never the stages that carry the outcome.")


K8S_ONCE_FIX = (K8S_DROP_FIX + "; if the cluster's audit policy omits ResponseComplete for such requests, keep that "
                "stage: without it no event says whether the request was allowed or refused")
K8S_UNKEPT_FIX = ("keep the stages that carry a request's outcome: remove ResponseComplete (and ResponseStarted, "
                  "Panic) from the audit policy's omitStages, for the whole policy and each rule (omit RequestReceived "
                  "instead, if events must be fewer), and make every hop after the API server's audit backend keep "
                  "every event (no de-duplication by auditID: each stage is an event of its own)")


def k8s_headless_text(paired: str) -> str:
    """The finding for a later stage's event whose request's RequestReceived event is not in the log."""
    return ("The event's request has no RequestReceived event in the log (no event of its auditID at that stage), "
            "though it began well within the log: the API server writes RequestReceived as soon as it receives a "
            "request, and the audit policy keeps that stage for such a request (another request by the same user "
            f"and groups, verb, object and level has both: {paired}). So a hop dropped that event.")


def received_at_text(times: str) -> str:
    """The finding for a RequestReceived event whose stageTimestamp is not its receive time (``times``: the two)."""
    return (f"The RequestReceived event's stageTimestamp is not its requestReceivedTimestamp ({times}): the API "
            "server writes a request's receive time as that stage's time (k8s.io/apiserver, processAuditEvent), so "
            "the event was altered after it was written.")


class Open(NamedTuple):
    """A RequestReceived event with no later stage of its request yet: when it was written (ns), where, its audit
    policy key and whether the request is long-running (``_policy_key``), and (once told) its auditID."""

    ns: int
    file: str
    line: int
    key: bytes
    long: bool
    rid: str = ""


class _Asked(NamedTuple):
    """What ``k8s_long_running`` reads of a request: its verb and URI."""

    action: str
    resource: str


_LONG_SUBRESOURCES = frozenset({"attach", "exec", "portforward", "proxy", "log"})
_WATCH = re.compile(r"(?:\A|&)watch=(?:1|t|T|true|TRUE|True)(?:&|\Z)")  # a list with watch=true (strconv.ParseBool)


def _policy_key(obj: dict[str, Any]) -> tuple[bytes, bool]:
    """A Kubernetes event's audit policy key, as a digest: what a policy rule matches a request by (user.username
    and user.groups, verb, objectRef apiGroup, resource, subresource, namespace and name, or the non-resource path)
    and the level the rule gave it; and whether the request is long-running (a watch, a list with watch=true, proxy,
    exec, attach, port-forward, log, the profiler)."""
    import hashlib

    import orjson

    user = obj.get("user")
    user = user if isinstance(user, dict) else {}
    groups = user.get("groups")
    uri, verb, ref = obj.get("requestURI"), obj.get("verb"), obj.get("objectRef")
    uri = uri if isinstance(uri, str) else ""
    verb = verb if isinstance(verb, str) else ""
    path, _, query = uri.partition("?")
    ref = ref if isinstance(ref, dict) else None
    # (the object's name too: a rule may name its objects, resourceNames, with omitStages of its own: red team rt63
    # F1, a correct log of such a policy failed with 155 findings)
    what = ([ref.get(k) for k in ("apiGroup", "resource", "subresource", "namespace", "name")] if ref is not None
            else path)
    key = [user.get("username"), sorted(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else None,
           verb, obj.get("level"), what]
    long = (verb in ("watch", "proxy") or _WATCH.search(query) is not None or (
        ref.get("subresource") in _LONG_SUBRESOURCES if ref is not None else k8s_long_running(_Asked(verb, uri))))
    return hashlib.blake2b(orjson.dumps(key), digest_size=16).digest(), long


# what the events of one Kubernetes request say of it alike: Record.identity, action, resource and source
_STAGE_WHAT = ("user (user.username)", "verb", "requestURI", "source (sourceIPs)")


class _Same(NamedTuple):
    """What every stage's event of one Kubernetes request says alike, beyond ``_STAGE_WHAT``: k8s.io/apiserver writes
    each stage from the one Event of the request, changing only its stage, stageTimestamp, responseStatus,
    responseObject and annotations (filters/audit.go). An object's fields are filled in once known (audit.
    LogRequestObject sets each only where it is empty), and the impersonated user once the impersonation filter,
    which runs after RequestReceived is written, has run (LogImpersonatedUser); neither is ever changed.
    ``received_at``: for a RequestReceived event whose stageTimestamp is not its requestReceivedTimestamp (the API
    server writes the one as the other at that stage), the two; else ""."""

    level: Any
    user: bytes  # user.uid, groups and extra (username is ``_STAGE_WHAT``'s)
    agent: Any
    received: Any
    ref: dict[str, str]
    impersonated: Optional[bytes]
    received_at: str


def _unlike(a: _Same, b: _Same) -> list[str]:
    """The fields in which two stages' events of one request differ (``_Same``)."""
    out = [w for w, x, y in (("level", a.level, b.level), ("user (uid, groups or extra)", a.user, b.user),
                             ("userAgent", a.agent, b.agent)) if x != y]
    if a.received != b.received and _differ(a.received, b.received):
        out.append("requestReceivedTimestamp")
    out += [f"objectRef.{k}" for k in sorted(a.ref.keys() & b.ref.keys()) if a.ref[k] != b.ref[k]]
    if a.impersonated is not None and b.impersonated is not None and a.impersonated != b.impersonated:
        out.append("impersonatedUser")
    return out


def _differ(a: Any, b: Any) -> bool:
    """Two RFC 3339 times that are both readable and name different instants (one that is not readable, or has no
    offset, is the timestamp checks' to report)."""
    x, y = parse_time(a), parse_time(b)
    return x is not None and y is not None and x[0] != y[0]


def _k8s_event(text: bytes) -> tuple[Optional[tuple[bytes, bool]], Optional[_Same], bytes]:
    """A Kubernetes event's line decoded once: for a RequestReceived event its policy key and whether the request is
    long-running (``_policy_key``; None for another stage), what every stage of its request says alike (``_Same``),
    and its policy key whatever its stage; None, None and b"" for a line that is no event."""
    import orjson

    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None, None, b""
    if not isinstance(obj, dict):
        return None, None, b""
    user = obj.get("user")
    user = user if isinstance(user, dict) else {}
    ref = obj.get("objectRef")
    imp = obj.get("impersonatedUser")
    received = obj.get("requestReceivedTimestamp")
    at = obj.get("stageTimestamp")
    received_at = (f"{at} and {received}" if obj.get("stage") == "RequestReceived" and at != received
                   and _differ(at, received) else "")
    alike = _Same(obj.get("level"), orjson.dumps([user.get("uid"), user.get("groups"), user.get("extra")],
                                                 option=orjson.OPT_SORT_KEYS),
                  obj.get("userAgent"), received,
                  {k: v for k, v in ref.items() if isinstance(v, str) and v} if isinstance(ref, dict) else {},
                  orjson.dumps(imp, option=orjson.OPT_SORT_KEYS) if imp else None, received_at)
    key, long = _policy_key(obj)
    return ((key, long) if obj.get("stage") == "RequestReceived" else None), alike, key


_FORBID = re.compile(rb'"authorization\.k8s\.io/decision"\s*:\s*"forbid"')


def _delivered(path: str) -> bool:
    """Whether the CloudTrail log ``path`` begins as a delivered log file does (``{"Records": [``, past a UTF-8 byte
    order mark, through its compression): ``offline.reader.CloudTrailReader`` reads such a file as one document."""
    from ..auditlog.detect import DELIVERY_FILE
    from ..offline.reader import open_log

    try:
        f = open_log(path)
        try:
            head = f.read(4096)
        finally:
            f.close()
    except (AuditReadyError, OSError, EOFError):
        return True
    return DELIVERY_FILE.match(head.removeprefix(b"\xef\xbb\xbf")) is not None


def trail_again_text(first: str) -> str:
    """The finding for a CloudTrail record repeated byte for byte within one delivered log file (``first``: where the
    first copy is)."""
    return (f"The record repeats another record of this log file ({first}) whole, its eventID and content alike, and "
            "the file is one delivered CloudTrail log file (one {\"Records\": [...]} document): CloudTrail writes an "
            "event once into a log file, and what it delivers again is a whole file (an event in each trail that "
            "records it, a global service event in each trail that includes them), never a record repeated within "
            "one. So the file was altered or assembled after delivery (records copied into it, or files joined and "
            "written as one), and it is not what the trail delivered.")


TRAIL_AGAIN_FIX = ("compare the file with the object the trail delivered to its S3 bucket (and its digest file: "
                   "turn on log file validation) and verify that; keep each delivered file as CloudTrail wrote it, "
                   "and join files only as records one a line (jq -c '.Records[]'), never into one Records array")


def _conflict(fmt: str, first: str) -> str:
    if fmt == "jsonl":
        return (f"The record repeats the request id, time and action of another record ({first}) but not its content: "
                "a producer writes one record an event, and a repeated delivery repeats the same record, so one of the "
                "two was altered or made up, or two pipelines that write records differently were merged.")
    if fmt == "cloudtrail":
        return (f"The record's eventID is already the eventID of another record ({first}) whose content differs: "
                "CloudTrail generates one eventID for each event, and a repeated delivery repeats the same record, so "
                "one of the two was altered, or two trails' or accounts' records were merged by a tool that rewrote "
                "them.")
    return (f"The event repeats the auditID, stage and requestReceivedTimestamp of another event ({first}) but not its "
            "bytes: the API server writes one event a request and stage (a webhook's retried batch repeats it byte "
            "for byte), so one of the two was altered or made up, or two pipelines that encode events differently "
            "write into one file.")


_CONFLICT_FIX = {
    "jsonl": "compare the two records with the producer's own copy (its API or console); let one pipeline write the "
    "file, and seal the log (auditready seal) where it is written so that a changed record is proven",
    "cloudtrail": "compare the two records with the trail's delivered files (and their digest files: turn on log "
    "file validation); keep each trail's files apart, and never rewrite records after delivery",
    "k8s": "compare the two events with the API server's own log backend file; let one pipeline write the file, and "
    "seal the log (auditready seal) where it is written so that a changed event is proven",
}
# Kubernetes (and CloudTrail's trail_again) findings by kind (``Pairs.found``): (text, fix) of what the kind keeps
# and the bound of a request
_K8S_FOUND: dict[str, Callable[[str, int], tuple[str, str]]] = {
    "k8s_once": lambda first, bound: (k8s_once_text(bound), K8S_ONCE_FIX),
    "k8s_unkept": lambda first, bound: (k8s_unkept_text(first, bound), K8S_UNKEPT_FIX),
    "trail_again": lambda first, bound: (trail_again_text(first), TRAIL_AGAIN_FIX),
    "k8s_headless": lambda first, bound: (k8s_headless_text(first), K8S_DROP_FIX),
    "received_at": lambda first, bound: (received_at_text(first), _CONFLICT_FIX["k8s"]),
}
# The rules that excuse a record delivered again unchanged, by format.
REDELIVERED = {
    "jsonl": "a record delivered again unchanged (the same request id, time, action and content): producers and their "
    "shippers deliver at least once (an API polled over overlapping windows, a queue or event bus that retries), so a "
    "receiver may write a record twice",
    "cloudtrail": "a record delivered again unchanged (the same eventID and content): CloudTrail delivers an event to "
    "every trail that records it (global service events to each trail that includes them), so two trails' files "
    "joined, or one file copied twice, hold it twice; deduplicate by eventID",
    "k8s": "an event delivered again unchanged (the same auditID, stage and bytes): the API server's webhook backend "
    "retries a batch that failed, so a receiver may write it twice",
}


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    if ctx.ledger is None:
        return
    silent = not ctx.entries and not ctx.bad_lines
    ids = {}  # action -> the request id of its entries: the vault's answer's, else its matched entry's
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        ids[a.name] = a.request_id or next((e.request_id for e in (m.request, m.response) if e is not None), "")
    wanted = set(ids.values()) - {""}
    written: dict[tuple[str, str, str], list[str]] = {}  # (request id, file, type) -> where each entry is
    for e in ctx.entries:
        rid = e.request_id
        if rid in wanted:
            written.setdefault((rid, e.file, e.type), []).append(e.where)
    order = sorted(written.items())
    for a in ctx.ledger.actions:
        for (rid, _file, kind), at in order:
            if rid == ids[a.name] and len(at) > 1:
                yield Finding(ID, a.name, f"The {kind} entry of {describe(a)} is written {len(at)} times into one "
                              f"file (at {', '.join(at[:3])}): the vault writes one a request to each device's file, "
                              "so a hop copies lines or two audit devices are declared with one file_path.",
                              _DUP_FIX, where=at[1], request_id=rid)
        m = ctx.match(a.name)
        yield from _rewritten(a, m)
        missing = [kind for kind, e in (("request", m.request), ("response", m.response)) if e is None]
        if not missing:
            continue
        if silent:
            msg = (
                f"The log {ctx.source} received no entries at all since the run began, so {describe(a)} "
                "is unrecorded."
            )
        else:
            msg = f"No {' and no '.join(missing)} entry in {ctx.source} records {describe(a)}"
            msg += (
                f" (request id {a.request_id})."
                if a.request_id
                else " (looked for by path, operation, identity and time)."
            )
        yield Finding(ID, a.name, msg, _FIX, request_id=a.request_id)
    said = ha_note(getattr(ctx.facts, "ha", None), ctx.source)
    if said and ctx.ledger.actions:  # once, beside the run's first action's pass
        yield Note(ctx.ledger.actions[0].name, said)


def ha_note(ha: object, source: str) -> str:
    """What a live run against an HA cluster (``VaultFacts.ha``: {"enabled", "is_self", "nodes"}, from sys/leader
    and sys/ha-status) says beside its pass (red team rt78 F5): each node writes its own audit log, and the run
    read one source; "" for a vault that is not HA (or facts that do not say)."""
    if not isinstance(ha, Mapping) or not ha.get("enabled"):
        return ""
    nodes, leader = ha.get("nodes"), ha.get("leader")
    names = [str(n.get("api_address") or n.get("hostname") or n.get("node_id") or "") if isinstance(n, Mapping)
             else str(n) for n in nodes] if isinstance(nodes, (list, tuple)) else []
    names = [n for n in names if n]
    if names and not ha.get("nodes_error"):  # the node list the vault gave (sys/ha-status)
        cluster = f"an HA cluster of {len(names)} nodes ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
    elif ha.get("is_self") is False:  # sys/ha-status not readable, and the target is a standby: a cluster
        cluster = "an HA cluster" + (f" (active node {leader})" if isinstance(leader, str) and leader else "")
    else:  # ... and the target is the active node: whether there is any other node is not known
        cluster = "HA-enabled" + (f" (active node {leader})" if isinstance(leader, str) and leader else "")
        why = str(ha.get("nodes_error") or "")
        return (f"The vault is {cluster}, and how many nodes it has is not known ({why or 'no node list'}; raft "
                "storage is HA-enabled with one node too): if it has standbys, each node writes its own audit log, "
                f"and this run judged {source or 'the log named'} alone. A standby serves reads itself, in its own "
                "log only: collect every node's audit log, or give the audit token read on sys/ha-status to have "
                "the nodes named (red team rt95 F6).")
    is_self = ha.get("is_self")
    target = "the active node" if is_self is True else "a standby" if is_self is False else ""
    return (f"The vault is {cluster}{f', and the target is {target}' if target else ''}: each node writes its own "
            f"audit log, and this run judged {source or 'the log named'} alone (unless it merges every node's). The "
            "requests a standby serves itself (reads) are in that standby's log only, and a write it forwards is in "
            "the active node's: collect every node's audit log (name each node's file to auditready verify, or a "
            "log_command that merges them).")


def _rewritten(a: Action, m: Match) -> Iterator[Finding]:
    """The entries matched to action ``a`` by its request id that record another path or operation than the run
    sent, or (a request entry) another identity: the log names what the run did, so a hop rewrote them (a
    response entry may name another identity: a login's names the token it made)."""
    if m.by != "request id":
        return
    for kind, e in (("request", m.request), ("response", m.response)):
        if e is None:
            continue
        what = []
        if not on_path(e, a):
            what.append(f"path {in_scope(e.scope, e.path)!r} where the run sent {a.path!r}")
        if e.operation != a.operation:
            what.append(f"operation {e.operation!r} where the run sent {a.operation!r}")
        if kind == "request" and e.display_name and a.display_name and e.display_name != a.display_name:
            what.append(f"display name {e.display_name!r} where the run acted as {a.display_name!r}")
        if what:
            yield Finding(ID, a.name, f"The {kind} entry with the request id of {describe(a)} records "
                          f"{'; '.join(what)}: the vault logs what it was asked, so a hop rewrote the entry.",
                          REWRITE_FIX, where=e.where, request_id=e.request_id)


REWRITE_FIX = ("find the hop that rewrites entries (a shipper's transform, a SIEM's parser) and make it pass them "
               "unchanged; seal the log where the vault writes it (auditready seal) so that a change is proven")


CHECK = Check(
    id=ID,
    title="Every access is in the log",
    requirement="every scenario action has its request and response entry in the log; offline, every request "
    "entry has its response and every response its request, no entry of a request is written twice, and no "
    "Kubernetes event, CloudTrail record or keyed JSON lines record repeats another's key with other content",
    run=run,
    subjects=every_action,
    visitor=Pairs,
)
