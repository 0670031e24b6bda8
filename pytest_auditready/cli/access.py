"""`auditready access PATTERN PATH...`: who read, wrote, listed or tried to read the secrets matching PATTERN.

After an incident the first question is who had access to a secret, and when: the answer scopes the rotation. This
reads audit logs (files, folders, globs, gzip) through the same engine as `auditready verify`, one block at a time,
and keeps one counter set per identity: memory does not grow with the logs. PATTERN is a Vault policy glob (a
trailing ``*`` matches the rest, a ``+`` segment one segment) over each request's path, and each request counts once:

- Vault/OpenBao: the request entry's path, with the namespace it was made in (``team-a/secret/data/db``: the vault logs
  the path relative to ``request.namespace.path``); the response entry of the same request is not counted again; a
  request the vault refused (its request entry carries the error, or its policies did not allow it) counts as denied;
  a request that reached a standby of an HA cluster, which logs its local attempt refused "cannot write to readonly
  storage" and forwards it to the active node, counts once, as the active node logged it, in whichever file
  (``completeness.forwarded``: same connection, path, operation and token; a login's standby attempt is refused
  "invalid request"), and the answer says how many such traces were folded; one whose forwarded entries no file
  holds counts as "outcome not logged", never as denied;
  one refused for its token (used up, a spent wrapping token) names no identity, and counts under the one another entry
  names for the same token digest (an entry made with a wrapping token names its holder: ``holder``). A response-wrapped
  read hands its caller a wrapping token (operation ``read (wrapped)``: its request carries ``wrap_ttl``), and whoever
  unwraps it sees the secret: an ``sys/wrapping/unwrap`` whose token (the client token, or ``token`` in the request's
  data; HMAC digests, which the vault makes alike) is one a matching read's response wrapped (``response.wrap_info``, or
  a ``sys/wrapping/rewrap`` of it), in whichever file and order, counts as operation ``unwrap`` of that path, by whoever
  sent it (sent with the wrapping token itself: by its holder, never as its creator's own). So does an unwrap of a
  wrapped request that reached PATTERN without naming it (``sys/raw``, a list, a scan), as having seen what it reached;
  of a wrapped KV write (its answer is version metadata, no value) as ``unwrap (of <operation>)``; an unwrap whose
  request entry a hop dropped counts from its response entry. A `kv` command refused at its mount lookup
  (``sys/internal/ui/mounts/<path>``) counts as a denied ``mount lookup`` of that path. A cubbyhole is each token's own:
  its paths are shown with the token (``cubbyhole/x (the cubbyhole of token hmac-sha256:...)``), as the same path names
  another secret for another token. A request on ``sys/raw`` (the storage under every mount) counts for any PATTERN as
  one that saw every secret without naming it (``raw_reach``). A request found again under its request id (another audit
  device's file of the vault) counts once.
- Kubernetes: the event at the request's last stage (ResponseComplete, or Panic), once per auditID; its requestURI
  without the leading ``/`` and the query (``api/v1/namespaces/prod/secrets/db``; the old ``/watch/`` paths as the
  object they watch; a list or watch narrowed by ``fieldSelector=metadata.name=X`` as that object; a create posted
  to the collection as its objectRef.name); a 401 or 403 counts as denied. A list, watch or deletecollection of a
  collection returns every object of it (data included) and names none: it counts for PATTERN when PATTERN can
  name one of them, as a request that named no secret, and the answer says what it saw ("all secrets in namespace
  prod", or those a label selector took, which the log does not say). A request made with impersonation is by
  "<user> as <impersonatedUser>": the API server authorized it as the impersonated user. A request whose
  RequestReceived or ResponseStarted event no later stage follows (an audit policy that omits them, a watch still
  open, a failed authentication: 401 with no user) counts at that event; one known by its RequestReceived event
  alone counts as "outcome not logged", neither allowed nor denied: its status is in the ResponseComplete event the
  files lack (a request in flight when the log ends, a policy that omits the later stages, or a dropped line, which
  `auditready verify` names: red team rt57 F1, where a deleted 403 read as an allowed get). A
  ``pods/exec`` is a request on the pod, never a Secret read; a workload created to mount a Secret reaches it
  through the kubelet, with no API read in the log, and is not counted either.
- AWS CloudTrail: Secrets Manager and SSM Parameter Store records by what they reached (``cloudtrail_reach``): a secret
  by its name, partial ARN or full ARN (PATTERN may give any of them; the answer shows its partial ARN), the secrets of
  a BatchGetSecretValue's ``secretIdList`` or response, a parameter by name (with or without a ``:version``; a
  hierarchy's from its root: an AWS name's leading ``/`` counts, so ``prod/db`` is a secret and ``/prod/db`` a
  parameter, ``Reach.rooted``) or ARN; a BatchGetSecretValue by ``filters`` and a GetParametersByPath reach every secret
  they take in, named none. Every other record: its resource as the checks read it (the first ``resources`` ARN, else
  the ``secretId``, ``name`` or ``keyId`` the caller sent, else the service): a KMS Decrypt is a request on the key. A
  record with an ``errorCode`` counts as denied, as does one with an ``errorMessage`` and no code (AWS writes both for
  an error; verify finds such a record lacking its result). A caller without an ARN (from another account) is shown with
  its ``accountId``.
- Generic JSON lines are refused, also with a ``field_map``: what such a request reached (a listing of a project's
  secrets?) and whether it was refused (a result field holds whatever its producer writes) cannot be known
  without inventing it.

Each identity is one system's (``system``: a folder may mix Vault, Kubernetes and CloudTrail logs, and a pattern can
match in each). A file holding the same lines as one read before it (a rotated copy beside its compressed twin) counts
once (its ``files`` entry names the other in ``same_as``). A Vault/OpenBao PATTERN given as the `kv` commands show a
path (``secret/app/db``) is also looked for as a KV version 2 mount logs it (``kv2_near``: ``secret/data/app/db``):
when requests PATTERN does not match name it so, the answer says so (``kv2``), whatever matched PATTERN. Where the files
leave a hole in the period asked about (a rotated file missing or not named between two named ones, days without an
entry past ``retention_max_gap_days``: ``holes``) the answer says so (``covers.holes``). When no request names a path
PATTERN matches and no path of the files' Vault and Kubernetes entries starts with PATTERN's first segment (a mistyped
mount or namespace, a Kubernetes Secret asked for without ``api/v1/namespaces/``), the answer says so
(``pattern_unseen``) rather than let "nobody" stand (``unseen_head``; CloudTrail names are free-form: not judged).
Exit 0: answered from every line; 1: answered, but some lines could not be read, a request is known only from its
response, a request's outcome is not logged in the files (a Vault/OpenBao request entry with no response entry, a
Kubernetes request known by its RequestReceived event alone, a request an HA standby forwarded whose active node's
entries are in none of the files: each counted as "outcome not logged", red team rt102 F3), an unwrap used a
wrapping token whose wrapped response is in none of the files, the files leave a hole in the period, or PATTERN
starts as no path of the files does (the answer may be incomplete, the count is said); 2: usage error, a file that
cannot be read or is no Vault/OpenBao, Kubernetes or CloudTrail audit log.
"""

from __future__ import annotations

import argparse
import calendar
import collections
import copy
import datetime
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple, Optional, Sequence

from ..auditlog.model import Entries, parse_time
from ..checks.access_policy import (
    ANSWERING,
    CLOUDTRAIL_SOURCE_BYTES,
    COUNT,
    EMPTY,
    HELD,
    K8S_HELD,
    RETURNED,
    Named,
    PathMatch,
    RawLines,
    Reach,
    Who,
    answered_somewhere,
    answers_in,
    cloudtrail_reach,
    holder,
    k8s_created,
    k8s_failed,
    k8s_once,
    k8s_reach,
    k8s_user,
    line_object,
    listing_reach,
    no_value,
    path_matches,
    paths_regex,
    raw_reach,
    unwrapped_by,
    vault_glob,
    vault_returned,
    who_of,
)
from ..checks.access_policy import (
    put_bounded as _put,
)
from ..checks.base import Visitor
from ..checks.completeness import SURE, Trace, forwarded, trace_at, trace_hint, trace_of
from ..errors import AuditReadyError, ConfigError
from ..report import without_workflow_commands
from ..text import json_ready, shown_error, visible

SCHEMA = "auditready-access/1"
FORMATS = ("vault", "k8s", "cloudtrail")  # the logs whose requests name a path, an identity and an outcome
_INSIGHT = "AwsCloudTrailInsight"  # a CloudTrail Insights event's eventType
_K8S_LAST_STAGES = frozenset({"ResponseComplete", "Panic"})  # one event a request, the one with its outcome
_KEEP = 50  # distinct source addresses and paths kept per identity (the rest is counted)
_WRAPS = 100_000  # wrapping tokens kept (the oldest forgotten first): a response-wrapped secret's token is used once
_UNWRAP, _REWRAP = "sys/wrapping/unwrap", "sys/wrapping/rewrap"
_WRAPPING_POLICY = "response-wrapping"  # a wrapping token's only policy
_CUBBYHOLE = "cubbyhole/"  # a token's own storage: the same path names another secret for each token
_ANON = 10_000  # tokens whose unnamed requests are held apart (the rest count as no identity at once)
_RIDS = 1_000_000  # request ids of counted Vault requests kept (``Accesses.counted_rids``)
_TOKEN_KEYS = (("auth", "client_token"), ("request", "client_token"), ("auth", "accessor"),
               ("request", "client_token_accessor"))  # the digests that tell which token sent a request
# `bao kv get secret/app/db` (and every `kv` command of the bao and vault CLIs) first asks
# sys/internal/ui/mounts/secret/app/db which mount holds the path and its KV version; refused there (its token has
# no capability on the path, or no mount holds it), the command stops: that refusal is the only trace of the attempt
# (red team rt54, F2). It counts as a denied ``mount lookup`` of the path the command named. Given the mount apart
# (`bao kv get -mount=secret app/db`, the form OpenBao's kv docs use), the command asks about the mount alone
# (sys/internal/ui/mounts/secret) and the path under it is in no entry: such a refusal counts, for a PATTERN under
# that mount, as a denied ``mount lookup`` that named no secret, "a secret under secret/" (red team rt80, F2).
_UI_MOUNTS = "sys/internal/ui/mounts/"
LOOKUP = "mount lookup"
_WRAPPED_SCOPE = "wrapped: "  # a scope the caller got wrapped (a wrapping token): whoever unwrapped it saw it
SYSTEMS = {"vault": "Vault/OpenBao", "k8s": "Kubernetes", "cloudtrail": "AWS CloudTrail"}
_DAY_NS = 86_400 * 1_000_000_000
_SHOWN_HEADS = 12  # of them, named in the answer
_HEADS = 4096  # first segments of paths kept (``Accesses.heads``): past that many, none is judged unseen


def _sub(doc: Any, *keys: str) -> Any:
    for k in keys:
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc


# A wrapped response lies in its wrapping token's cubbyhole, under "response": read there with that token (its only
# policy, response-wrapping, allows it; OpenBao answers the wrapped response, secret included), it is unwrapped as by
# sys/wrapping/unwrap.
_WRAPPED_RESPONSE = "cubbyhole/response"
# Requests whose answer, when itself wrapped, wraps what the token they name or were sent with wrapped: a rewrap, and
# an unwrap (or a read of the wrapped response) asked with wrap_ttl, whose caller gets a new wrapping token only.
_REWRAPS = (_REWRAP, _UNWRAP, _WRAPPED_RESPONSE)


def unwraps(path: str, op: str, raw: Optional[bytes]) -> bool:
    """Whether a Vault request entry on ``path`` unwraps a wrapping token: ``sys/wrapping/unwrap``, or a read of
    ``cubbyhole/response`` with a wrapping token (its policies "response-wrapping")."""
    return path == _UNWRAP or (path == _WRAPPED_RESPONSE and op == "read" and raw is not None
                               and b'"response-wrapping"' in raw)


def wrap_asked(doc: Any) -> bool:
    """Whether a Vault entry's request asked for its answer wrapped (``request.wrap_ttl``, written only when set):
    its caller got a wrapping token, not the answer."""
    ttl = _sub(doc, "request", "wrap_ttl")
    return bool(ttl) and ttl != "0"


def wrap_asked_raw(raw: Optional[bytes], prefix: str = "") -> bool:
    """``wrap_asked`` of a raw line (read whole only when it names wrap_ttl)."""
    return raw is not None and b'"wrap_ttl"' in raw and wrap_asked(line_object(raw, prefix))


def wrapped_before(doc: Any) -> list[str]:
    """The token digests a rewrap, an unwrap or a read of a wrapped response names or was sent with: what the new
    wrapping token of its answer wraps."""
    keys = (_sub(doc, "request", "data", "token"), _sub(doc, "auth", "client_token"), _sub(doc, "auth", "accessor"))
    return [k for k in keys if isinstance(k, str) and k]


class Wrapped(NamedTuple):
    """What a wrapping token wraps, for PATTERN: the response of a request on ``path`` (named), or, with ``seen``,
    of one that reached PATTERN without naming it (a ``sys/raw`` read, a list, a scan: ``path`` is then what it
    asked for, ``seen`` what its answer held); ``op`` the operation of a request whose response holds no value of
    the path (``no_value``), else "" (its unwrap received the secret, the names, the data it wraps)."""

    path: str
    seen: str
    op: str


_SELF_TEST = "sys/audit/test"  # the audit device's self-test write: no token, and no response entry


def unwrap_op(wrapped: str) -> str:
    """The operation an unwrap of a wrapped response counts as: ``unwrap`` (it received what the path holds), or
    for a response that holds no value (``no_value``) ``unwrap (of <operation>)``: the unwrap of a wrapped KV write
    received its version metadata, not the secret, and the answer does not count it as a read of the value (red team
    rt54, F7)."""
    return f"unwrap (of {wrapped})" if wrapped else "unwrap"


def kv_names(path: str) -> tuple[str, ...]:
    """The API paths a path given to a `kv` command of the CLI can be logged at: itself (a KV version 1 mount), and
    with ``data/``, ``metadata/`` (or the other KV version 2 words) after any of its segments but the last (the
    mount may span several segments, and a namespace comes before it): the log does not say where the mount ends."""
    segments = path.split("/")
    out = [path]
    for k in range(1, len(segments)):
        out.extend("/".join([*segments[:k], word, *segments[k:]]) for word in _KV2_WORDS if word != "config")
    return tuple(out)


def aws_caller(raw: Optional[bytes], name: str) -> str:
    """A CloudTrail caller as the answer (and the access review) names it: ``name`` (its ARN, else its principal
    id, ...), with the AWS account it belongs to when ``name`` does not say it and it is not the account the
    record (its raw line) was delivered to (``recipientAccountId``): a caller from another account is logged with
    its ``accountId`` and principal id, no ARN, and its account is the first thing to know of an outside reader
    (red team rt54, F8). A role session that carries a source identity (``sessionContext.sourceIdentity``: who
    assumed the role, set once and kept through every role chained after it) is named with it: behind a generic
    session name it is the person (red team rt94, F12)."""
    arn = name.startswith("arn:")
    doc = (line_object(raw) if raw is not None and ((b"accountId" in raw and not arn) or b"sourceIdentity" in raw)
           else None)
    source = _sub(doc, "userIdentity", "sessionContext", "sourceIdentity")
    by = f" (source identity {source})" if isinstance(source, str) and source.strip() else ""
    account = None if arn else _sub(doc, "userIdentity", "accountId")
    if (not isinstance(account, str) or not account.strip() or account in name
            or account == _sub(doc, "recipientAccountId")):
        return name + by  # (a caller of the trail's own account: its account goes without saying)
    return (f"{name} (account {account})" if name else f"account {account}") + by


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser
    p = sub.add_parser("access", help="who read, wrote, listed or tried to read the secrets matching a pattern",
                       description="Answer who accessed the secrets matching PATTERN in Vault/OpenBao, Kubernetes or "
                       "AWS CloudTrail audit logs: per identity (display name, entity id, token accessor digest) the "
                       "requests and denied requests "
                       "of each operation, first and last time, source addresses. Exit 0: answered; 1: answered, but "
                       "the answer may be incomplete (lines that could not be read, a request whose outcome is not "
                       "logged, a hole in the period the files cover, ...: said on standard error); 2: usage or "
                       "unreadable input.")
    p.add_argument("pattern", metavar="PATTERN",
                   help="secret paths as the API names them, with Vault policy globs: a trailing * matches the rest "
                   "of the path, a + segment one segment (e.g. 'secret/data/prod/+/db*'; Kubernetes: "
                   "'api/v1/namespaces/prod/secrets/db*'; CloudTrail: 'arn:aws:secretsmanager:*' or a secret's name)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audit log files (plain or gzip-compressed), folders of them, or glob patterns")
    p.add_argument("--since", metavar="T", default=None,
                   help="only requests at or after T (RFC 3339 time with offset, or a UTC date YYYY-MM-DD)")
    p.add_argument("--until", metavar="T", default=None,
                   help="only requests at or before T (RFC 3339 time, or a UTC date YYYY-MM-DD: to its end)")
    p.add_argument("--json", dest="json_path", metavar="PATH", default=None,
                   help="write the answer as JSON (schema in the README; '-' for standard output, then no table)")
    p.add_argument("--config", metavar="PATH", default=None,
                   help="read settings (log_prefix) from this TOML file instead of the nearest pyproject.toml")
    p.set_defaults(func=run)
    return p


def _bound(text: Optional[str], option: str, end: bool) -> Optional[int]:
    """ns since the epoch of a --since/--until value; a date alone means its first (--since) or last (--until)
    nanosecond, UTC."""
    if text is None:
        return None
    t = parse_time(text.strip())
    if t is not None:
        return t[0]
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if m is not None:
        try:
            day = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            day = None
        if day is not None:
            start = calendar.timegm(day.timetuple()) * 1_000_000_000
            return start + 86_400 * 1_000_000_000 - 1 if end else start
    raise AuditReadyError(f"{option} {visible(text)!r} is not a time", f"give {option} an RFC 3339 time with an offset "
                          "(2026-01-31T18:00:00Z) or a UTC date (2026-01-31)")


def _pattern_ok(p: str) -> bool:
    from ..config import _vault_glob

    return bool(_vault_glob(p))


@dataclass
class OpCount:
    requests: int = 0
    denied: int = 0
    unnamed: int = 0  # requests that saw the secrets without naming them (a list of the namespace's secrets)
    first: Optional[int] = None
    last: Optional[int] = None
    unlogged: int = 0  # Kubernetes requests known by their RequestReceived event alone: outcome not logged

    def absorb(self, other: "OpCount") -> None:
        self.requests += other.requests
        self.denied += other.denied
        self.unnamed += other.unnamed
        self.unlogged += other.unlogged
        for ns in (other.first, other.last):
            if ns is not None:
                self.first = ns if self.first is None or ns < self.first else self.first
                self.last = ns if self.last is None or ns > self.last else self.last

    def add(self, ns: Optional[int], denied: bool, unnamed: bool = False, unlogged: bool = False) -> None:
        self.requests += 1
        self.denied += denied
        self.unnamed += unnamed
        self.unlogged += unlogged
        if ns is not None:
            self.first = ns if self.first is None or ns < self.first else self.first
            self.last = ns if self.last is None or ns > self.last else self.last


class _Counted(NamedTuple):
    """What one Vault request added when it was counted (``Accesses._count``), to take it back (``_uncount``): the
    operation's and the identity's counts, its scope's, the identity, and the paths, accessor and source it added
    (the accessor as kept, "" when none)."""

    op: OpCount
    total: OpCount
    scope: Optional[list[int]]
    ident: "Identity"
    paths: tuple[str, ...]
    accessor: str
    source: str
    unnamed: bool


@dataclass
class _Unwrap:
    """An unwrap of a wrapping token no response read so far wrapped (a file named before the one that wrapped it,
    or a wrap in none of the files): held by its token digests until a response wraps one of them."""

    who: Who
    ns: Optional[int]
    keys: tuple[str, ...]
    tokens: tuple[str, ...]
    rid: str
    denied: bool
    answered: bool = False  # its response entry came (and said ``denied`` if it carried an error)
    wrapped: bool = False  # asked with wrap_ttl: its caller got a new wrapping token, not what was wrapped
    from_response: bool = False  # known from its response entry only: a hop dropped its request entry


@dataclass
class Identity:
    """One identity (display name and entity id): its tokens (accessors as logged when HMAC digests, else a
    fingerprint: an accessor in clear is shown by no output), counts per operation, sources and paths. A client
    that logs in for every job has a token a job: they are counted under the one identity, so memory is bounded
    by the identities, not by the tokens."""

    display_name: str
    entity_id: str
    system: str = "vault"  # the log format it was counted from (``FORMATS``): a folder may mix systems
    ops: dict[str, OpCount] = field(default_factory=dict)
    total: OpCount = field(default_factory=OpCount)
    accessors: dict[str, int] = field(default_factory=dict)
    accessors_more: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    sources_more: int = 0
    paths: dict[str, int] = field(default_factory=dict)
    paths_more: int = 0
    # what the requests that named no secret saw ("all secrets in namespace prod") -> [requests, denied]
    scopes: dict[str, list[int]] = field(default_factory=dict)
    scopes_more: int = 0

    def absorb(self, other: "Identity") -> None:
        """Add the counts of ``other`` (requests of this identity held apart) to this identity's."""
        for op, c in other.ops.items():
            self.ops.setdefault(op, OpCount()).absorb(c)
        self.total.absorb(other.total)
        for mine, theirs, more in ((self.accessors, other.accessors, "accessors_more"),
                                   (self.sources, other.sources, "sources_more"),
                                   (self.paths, other.paths, "paths_more")):
            extra = getattr(other, more)
            for k, n in theirs.items():
                if k in mine or len(mine) < _KEEP:
                    mine[k] = mine.get(k, 0) + n
                else:
                    extra += n
            setattr(self, more, getattr(self, more) + extra)
        for k, v in other.scopes.items():
            if k in self.scopes or len(self.scopes) < _KEEP:
                both = self.scopes.setdefault(k, [0, 0])
                both[0] += v[0]
                both[1] += v[1]
            else:
                self.scopes_more += v[0]
        self.scopes_more += other.scopes_more

    def to_json(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "entity_id": self.entity_id,
            "system": self.system,
            "accessors": dict(sorted(self.accessors.items())),
            "accessors_more": self.accessors_more,
            "requests": self.total.requests,
            "denied": self.total.denied,
            "unnamed": self.total.unnamed,
            "outcome_not_logged": self.total.unlogged,
            "first": _iso(self.total.first),
            "last": _iso(self.total.last),
            "operations": {op: {"requests": c.requests, "denied": c.denied, "outcome_not_logged": c.unlogged,
                                "first": _iso(c.first), "last": _iso(c.last)} for op, c in sorted(self.ops.items())},
            "sources": dict(sorted(self.sources.items())),
            "sources_more": self.sources_more,
            "paths": dict(sorted(self.paths.items())),
            "paths_more": self.paths_more,
            "scopes": {k: {"requests": v[0], "denied": v[1]} for k, v in sorted(self.scopes.items())},
            "scopes_more": self.scopes_more,
        }


def _unattributed(times: Sequence[Optional[int]]) -> dict[str, Any]:
    known = [t for t in times if t is not None]
    return {"count": len(times), "first": _iso(min(known)) if known else None,
            "last": _iso(max(known)) if known else None}


def _token_digests(doc: dict[str, Any]) -> tuple[str, ...]:
    """The token digests of a Vault/OpenBao entry (``_TOKEN_KEYS``), each once."""
    return tuple(dict.fromkeys(v for k in _TOKEN_KEYS for v in (_sub(doc, *k),) if isinstance(v, str) and v))


def _iso(ns: Optional[int]) -> Optional[str]:
    if ns is None:
        return None
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


def _accessor(a: str) -> str:
    from ..auditlog.model import HMAC_RE
    from ..scan.known import fingerprint

    if not a or HMAC_RE.match(a):
        return a
    return f"clear:sha256:{fingerprint(a)}"  # logged in clear (hmac_accessor = false): never shown as such


def _keep(d: dict[str, int], key: str) -> bool:
    """Count ``key`` in ``d`` (at most _KEEP distinct keys); False when it did not fit."""
    if key in d:
        d[key] += 1
        return True
    if len(d) >= _KEEP:
        return False
    d[key] = 1
    return True


class Accesses(Visitor):
    """Counts the request entries on paths matching the pattern, per identity and operation."""

    def __init__(self, pattern: str, since: Optional[int], until: Optional[int], prefix: str,
                 more: Sequence[str] = (), near: Sequence[str] = ()) -> None:
        self.paths = PathMatch([pattern, *more])
        self.match = self.paths.regex.match
        # PATTERN as a KV version 2 mount's API paths name it (``kv2_near``): which of them a Vault request that
        # PATTERN does not match names (their indexes), to say where the secret's readers are (red team rt71, F1)
        self.near = tuple(vault_glob(n) for n in near)
        self.near_any = paths_regex(near) if near else None
        self.near_hit: set[int] = set()
        self._near_seen: dict[str, None] = {}
        self.since, self.until, self.prefix = since, until, prefix
        self.fmt = "vault"  # the format of the file being read (``answer`` sets it)
        # Kubernetes requests seen at RequestReceived or ResponseStarted and at no later stage yet, by auditID (the
        # last flag: known by RequestReceived alone, so no outcome): counted at ``flush`` unless their last stage
        # comes (then they count there, with its status)
        self.received: dict[str, tuple[Who, str, list[str], Optional[int], str, bool, bool]] = {}
        self.counted: dict[str, None] = {}  # auditIDs of the Kubernetes requests counted (a repeated event is not)
        self.raw = RawLines()
        # of the file being read (its lines, decompressed), when it may be a twin of another (``answer``)
        self.content: Optional["hashlib._Hash"] = None
        self.wraps: dict[str, Wrapped] = {}  # wrapping token / accessor (as logged) -> what its response wrapped
        # Unwraps held until a response wraps their token, in whichever file it comes (``_Unwrap``), by token digest
        # and by request id (for their response); and the wrapping tokens of responses on other paths, which
        # settle an unwrap as none of PATTERN's. What is held at ``flush`` is counted in ``unattributed``.
        self.unwraps: dict[str, _Unwrap] = {}
        self.unwrap_rids: dict[str, _Unwrap] = {}
        self.elsewhere: dict[str, None] = {}
        # a rewrap (or an unwrap asked with wrap_ttl) of a token whose wrapping is not read yet: old token digest ->
        # the new token's digests, which wrap whatever the old one did, once that is known; until then an unwrap of
        # a new one is held as any other (red team rt94 F2: it was settled as of "another path", and the unwrapper
        # left out, where the original wrap was in a file not named)
        self.rewrap_of: dict[str, tuple[str, ...]] = {}
        # request ids of the unwraps whose request entry was read, until their response entry comes: an unwrap's
        # response entry without it (a hop dropped the request entry) is counted from the response (rt54, F3)
        self.unwrap_asked: dict[str, None] = {}
        self.unwrap_asked_over = False
        # request ids of the refused mount lookups counted from their request entry (their response is not again)
        self.lookups: dict[str, None] = {}
        self.unattributed: list[Optional[int]] = []  # the times of unwraps whose wrapping no file holds
        self.wrapping = False  # the block being fed holds a wrapped response (b'"wrap_info"')
        self.wrapping_asked = False  # ... a request for a wrapped response (b'"wrap_ttl"')
        self.who: dict[tuple[str, str, str], Identity] = {}  # (display name, entity id, system) -> its counts
        # A request refused for its token (revoked, expired, used up, a wrapping token used twice) is logged with
        # no display name, but with the digest of its token: such requests are held by token here, and counted
        # at ``flush`` under the identity another entry names for the same token digest (``names``), if any.
        self.anon: dict[tuple[str, ...], Identity] = {}
        self.names: dict[str, tuple[str, str]] = {}  # token or accessor digest -> (display name, entity id)
        self.untimed = 0  # matching requests without a readable time, left out when --since/--until is given
        # what the files cover: the first and last time of any entry, and the entries inside --since/--until
        self.span: Optional[tuple[int, int]] = None
        self.in_period = 0
        # each file's span, and per log format the UTC days (since the epoch) with an entry inside --since/--until:
        # where the files leave a hole in the period asked about (``holes``)
        self.file_spans: dict[str, tuple[int, int]] = {}
        self.days: dict[str, set[int]] = {}
        # counted Vault requests whose response entry is still to come, by request id: what each counted
        # (``_Counted``), so that a response that carries an error (a read that failed) counts the request as
        # denied, as one whose request entry carried it does, and a standby's forwarding trace can be taken back
        self.open: dict[str, _Counted] = {}
        self._rid = ""  # the request id of the request being counted (``_count``)
        # Vault requests on matching paths whose request entry was read, until their response entry comes: a
        # response whose request entry is not in the files (a hop dropped it) is counted from the response, which
        # proves the vault served it (red team rt11: such a reader was left out, "nobody" with exit 0)
        self.asked: dict[str, bool] = {}
        self.asked_over = False  # more unanswered than _WRAPS at once: a response not found is not counted
        self.from_response = 0  # requests counted from their response entry
        # the request ids of the Vault requests counted (the oldest forgotten first), and how many came again: every
        # audit device of a vault writes every request under the same id (each with its own HMAC salt, so two
        # devices' files are no twins), and a request counts once
        self.counted_rids: dict[str, None] = {}
        self.again = 0
        # An HA standby's forwarding traces of counted requests (``completeness.trace_of``), with what each counted
        # and whether it was counted denied: folded into the forwarded request's count once every file is read
        # (``fold_forwarded``); how many were folded, and how many have no forwarded entries in the files
        self.traces: list[tuple[Trace, _Counted, bool]] = []
        self.traces_more = 0
        self.trace_hint = False  # the block being fed may hold one (``trace_hint``)
        self.folded = 0
        self.unforwarded = 0
        self.unanswered = 0  # counted Vault requests whose response entry is in none of the files: outcome not logged
        # counted as denied because their response held no answer (``EMPTY``: OpenBao's 404), and the reads whose
        # response did hold one: where none did, a hop may have emptied every response (``answered_somewhere``)
        self.emptied: list[_Counted] = []
        self.answers = 0
        # the first segments of the paths the Vault and Kubernetes entries name (mounts, namespaces, "api"), up to
        # _HEADS: a PATTERN none of whose requests starts as any of them asks about nothing these files log
        # (``unseen_head``: red team rt94, F6)
        self.heads: set[str] = set()
        self.wrapped_unnamed = 0  # wrapped requests counted that saw PATTERN's secrets without naming them

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.raw.block(file, first_line, data)
        if not self.answers:
            self.answers = answers_in(data)
        self.trace_hint = trace_hint(data)
        self.wrapping = b'"wrap_info"' in data
        self.wrapping_asked = b'"wrap_ttl"' in data
        if self.content is not None:
            self.content.update(data)
            self.content.update(b"\n")

    def _cover(self, batch: Entries) -> None:
        """Widen the span the files cover by the batch's times, and count its entries inside --since/--until."""
        if batch.utc_times():
            stamps = batch.times_ns()
        else:
            stamps = [t[0] for t in map(parse_time, batch.time) if t is not None]
        if not stamps:
            return
        lo, hi = min(stamps), max(stamps)
        mine = self.file_spans.get(batch.file)
        self.file_spans[batch.file] = (min(lo, mine[0]), max(hi, mine[1])) if mine is not None else (lo, hi)
        since, until = self.since, self.until
        days = self.days.setdefault(self.fmt, set())
        if (since is None or lo >= since) and (until is None or hi <= until):
            self.in_period += len(stamps)
            if lo // _DAY_NS == hi // _DAY_NS:
                days.add(lo // _DAY_NS)
            else:
                days.update(ns // _DAY_NS for ns in stamps)
        else:
            inside = [ns for ns in stamps if (since is None or ns >= since) and (until is None or ns <= until)]
            self.in_period += len(inside)
            days.update(ns // _DAY_NS for ns in inside)
        if self.span is not None:
            lo, hi = min(lo, self.span[0]), max(hi, self.span[1])
        self.span = (lo, hi)

    def _learn_names(self, batch: Entries) -> None:
        """Remember the identity every entry names for its token's digests, from the decoded entries (any path): a
        request refused for its token names none, and is counted under the one its token has elsewhere
        (``flush``). An entry made with a wrapping token (its only policy "response-wrapping") carries its
        creator's display name: its token is the holder's (``holder``), so a request refused for that token once
        spent (by an unwrap, or a read of cubbyhole/response) counts under "holder of a wrapping token from X",
        never as X's own (red team rt71, F4)."""
        names, cap = self.names, _WRAPS
        for item, kind in zip(batch.decoded or (), batch.type):
            if kind != "request":  # (its response entry names the same token)
                continue
            auth = item.auth
            if auth is None or not (auth.display_name or auth.entity_id):
                continue
            name = (auth.display_name, auth.entity_id)
            if auth.token_policies == [_WRAPPING_POLICY]:
                w = holder(Who(*name, policies=(_WRAPPING_POLICY,)))
                name = (w.display_name, w.entity_id)
            for t in (auth.client_token, auth.accessor):
                if t:
                    if t not in names and len(names) >= cap:
                        names.pop(next(iter(names)))
                    names[t] = name

    def _learn_names_raw(self, batch: Entries) -> None:
        """``_learn_names`` for entries the block decoder did not decode: each request entry that names who sent
        it, parsed from its line."""
        for i, (kind, name) in enumerate(zip(batch.type, batch.identity)):
            if kind != "request" or not name:
                continue
            raw = self.raw.get(batch.file, batch.lines[i])
            doc = line_object(raw, self.prefix) if raw is not None else None
            if doc is not None:
                w = who_of(doc)
                self._named(tuple(t for t in (w.client_token, w.accessor) if t), holder(w))

    def entries(self, batch: Entries) -> None:
        regex, since, until, fmt, scope = self.paths.regex, self.since, self.until, self.fmt, batch.scope
        near, heads = self.near_any, self.heads
        self._cover(batch)
        if fmt == "vault":
            if batch.decoded is not None:
                self._learn_names(batch)
            else:  # read line by line (a device prefix, CRLF, a framing): the names from the raw lines
                self._learn_names_raw(batch)
        for i, (t, path) in enumerate(zip(batch.type, batch.resource)):
            reach: Optional[Reach] = None
            lookup = False  # a refused mount lookup of a `kv` command (``_refused_lookup``)
            if fmt == "vault":
                if scope is not None:
                    path = batch.secret(i)
                if len(heads) < _HEADS:
                    heads.add(path.lstrip("/").partition("/")[0])
                hit_path = path_matches(regex, path, batch.action[i])  # a listing also without its trailing '/'
                if not hit_path and near is not None and path_matches(near, path, batch.action[i]):
                    self._near(path, batch.action[i])
                rid = batch.request_id[i]
                if t != "request":
                    if t == "response" and self.wrapping:
                        self._wrapped(batch, i, self._wrap_target(batch, i, path, hit_path))
                    if t == "response" and self.open:
                        self._answered(rid, batch.result[i], batch, i)
                    if t == "response" and rid in self.unwrap_rids:
                        held = self.unwrap_rids.pop(rid)
                        held.answered = True
                        held.denied = held.denied or batch.result[i].startswith("error:")
                    if t == "response" and rid and batch.resource[i] in _REWRAPS and self._unwrap_answered(batch, i):
                        continue  # an unwrap known from its response entry only, counted as the unwrap of a path
                    if t == "response" and not hit_path and batch.resource[i].startswith(_UI_MOUNTS):
                        reach = self._refused_lookup(batch, i, path, t)
                        if reach is None:
                            continue
                        lookup = True
                    else:
                        if t != "response" or not hit_path or not rid:
                            continue
                        if self.asked.pop(rid, False) or self.asked_over:
                            continue  # its request entry was read (or, past _WRAPS unanswered, may have been)
                        self.from_response += 1  # its request entry is not in the files: counted from this one
                else:
                    unwrap = batch.resource[i] in _REWRAPS and unwraps(batch.resource[i], batch.action[i],
                                                                        self.raw.get(batch.file, batch.lines[i]))
                    if unwrap and rid:  # its response entry is then no unwrap of its own (``_unwrap_answered``)
                        self.unwrap_asked_over |= _put(self.unwrap_asked, rid, None)
                    counted = unwrap and self._unwrap(batch, i)  # as the unwrap of the path wrapped
                    if not hit_path:
                        # storage read past the ACLs (every secret), a scan (the names below its folder), a kv
                        # command refused at its mount lookup
                        reach = None if counted else (raw_reach(path, batch.action[i])
                                                      or listing_reach(path, batch.action[i])
                                                      or self._refused_lookup(batch, i, path, t))
                        if reach is None:
                            continue
                        lookup = reach.op == LOOKUP
                    if rid and not lookup:
                        self.asked_over |= _put(self.asked, rid, True)
                    if counted or (unwrap and batch.resource[i] == _WRAPPED_RESPONSE):
                        continue  # an unwrap, counted on the path wrapped: no request of its own path
            elif fmt == "k8s":
                if len(heads) < _HEADS:
                    heads.add(path.lstrip("/").partition("/")[0])
                if t not in _K8S_LAST_STAGES and t not in K8S_HELD:
                    continue
                act = batch.action[i]
                reach = k8s_reach(path, act, k8s_created(self.raw.get(batch.file, batch.lines[i]), act)
                                  if act == "create" else "")
            elif fmt == "cloudtrail":
                if t == _INSIGHT:
                    continue  # CloudTrail's own analysis of a call rate: no request of anyone's
                reach = self._cloudtrail(batch, i)
            if reach is not None:
                named, wide = self.paths.reached(reach)
                if not named and not wide:
                    continue
                hit = named or [reach.shown]
                seen = "" if named else reach.scope
                op = reach.op or "(none)"
            else:
                hit, seen, op = [path], "", batch.action[i] or "(none)"
            if self.wrapping_asked and fmt == "vault" and self._wrapped_request(batch, i):
                op += " (wrapped)"  # its caller got a wrapping token: whoever unwraps it gets the answer
                seen = _WRAPPED_SCOPE + seen if seen else ""  # (also what it reached without naming it: rt54, F1)
            ts = parse_time(batch.time[i])
            ns = ts[0] if ts is not None else None
            if since is not None or until is not None:
                if ns is None:
                    self.untimed += 1
                    continue
                if (since is not None and ns < since) or (until is not None and ns > until):
                    continue
            result = batch.result[i]
            tokens: tuple[str, ...] = ()
            if fmt == "vault":
                raw = self.raw.get(batch.file, batch.lines[i])
                doc = line_object(raw, self.prefix) if raw is not None else None
                w = holder(who_of(doc)) if doc is not None else Who(display_name=batch.identity[i],
                                                                     remote_address=batch.source[i])
                tokens = self._tokens(doc, w) if doc is not None else ()
                denied = w.refused or result.startswith("error:") or lookup or (
                    t == "response" and bool(vault_returned(doc, batch.action[i])))  # (counted from its response)
                # (a response: answered already; a refused lookup counted at its response: once by its id too)
                self._rid = batch.request_id[i] if t == "request" or lookup else ""
                if batch.resource[i].startswith(_CUBBYHOLE):  # each token has its own: same path, other secrets
                    hit = [f"{p} (the cubbyhole of token {_accessor(w.accessor) or 'unknown'})" for p in hit]
            else:
                name = batch.identity[i]
                if fmt == "k8s":
                    name = k8s_user(self.raw.get(batch.file, batch.lines[i]), name)
                elif fmt == "cloudtrail":
                    name = self._aws_caller(batch, i, name)
                w = Who(display_name=name, remote_address=batch.source[i])
                denied = k8s_failed(result, batch.action[i]) if fmt == "k8s" else result.startswith("error:")
                if fmt == "cloudtrail" and not result:
                    denied = self._error_described(batch, i)
                if fmt == "k8s":
                    row = (w, op, hit, ns, seen, denied, t == "RequestReceived")
                    said, was = k8s_once(self.counted, self.received, batch.request_id[i], t, row)
                    if said == HELD and was is not None and row[6] and not was[6]:
                        self.received[batch.request_id[i]] = was  # (its ResponseStarted, written first, says more)
                    if said != COUNT:
                        continue  # an event of a request counted (or to be counted) at another stage
            self._count(w, op, hit, ns, denied, seen, tokens)

    def _near(self, path: str, op: str) -> None:
        """Note which of PATTERN's KV version 2 API paths (``near``) a Vault entry on ``path`` names (each distinct
        path looked at once)."""
        if path in self._near_seen:
            return
        if len(self._near_seen) >= 4096:
            self._near_seen.clear()
        self._near_seen[path] = None
        self.near_hit.update(k for k, g in enumerate(self.near) if path_matches(g, path, op))

    def _tokens(self, doc: dict[str, Any], w: Who) -> tuple[str, ...]:
        """The token digests of a Vault/OpenBao entry; remembered as ``w``'s when the entry names who it is."""
        return self._named(_token_digests(doc), w)

    def _named(self, out: tuple[str, ...], w: Who) -> tuple[str, ...]:
        """Remember the token digests ``out`` as ``w``'s when ``w`` names who it is; ``out``."""
        if w.display_name or w.entity_id:
            for t in out:
                _put(self.names, t, (w.display_name, w.entity_id))
        return out

    def _aws_caller(self, batch: Entries, i: int, name: str) -> str:
        """``aws_caller`` of record ``i``."""
        return aws_caller(self.raw.get(batch.file, batch.lines[i]), name)

    def _error_described(self, batch: Entries, i: int) -> bool:
        """A CloudTrail record without a result (the reader's "" : an ``errorMessage`` without its ``errorCode``)
        that describes an error: the call failed, whatever cut its code."""
        raw = self.raw.get(batch.file, batch.lines[i])
        doc = line_object(raw) if raw is not None and b"errorMessage" in raw else None
        message = doc.get("errorMessage") if doc is not None else None
        return isinstance(message, str) and bool(message.strip())

    def _cloudtrail(self, batch: Entries, i: int) -> Optional[Reach]:
        """A Secrets Manager or SSM record's reach (read from its raw line); else its resource as a named path."""
        raw = self.raw.get(batch.file, batch.lines[i])
        if raw is not None and any(src in raw for src in CLOUDTRAIL_SOURCE_BYTES):
            doc = line_object(raw)
            reach = cloudtrail_reach(doc) if doc is not None else None
            if reach is not None:
                return reach
        path = batch.resource[i]
        return Reach(batch.action[i], frozenset(), (Named(path, (path,)),))

    def _wrap_target(self, batch: Entries, i: int, path: str, hit_path: bool) -> Optional[Wrapped]:
        """What the response entry ``i`` (on ``path``, with its namespace) wraps for PATTERN: its path when it
        matches, what it reached when it saw PATTERN's secrets without naming them (a ``sys/raw`` read, a list, a
        scan: red team rt54, F1); else None (a rewrap's is what the token it names wrapped: ``_wrapped``)."""
        op = batch.action[i]
        if hit_path:
            return Wrapped(path, "", op)
        if batch.resource[i] in _REWRAPS:
            return None
        reach = raw_reach(path, op) or listing_reach(path, op)
        if reach is None:
            return None
        named, wide = self.paths.reached(reach)
        if named:
            return Wrapped(named[0], "", op)
        return Wrapped(reach.shown, reach.scope, op) if wide else None

    def _wrapped(self, batch: Entries, i: int, target: Optional[Wrapped]) -> None:
        """Keep the wrapping token and accessor of a response that reached PATTERN (``target``, or of a rewrap of
        one); of another response (``target`` None), remember them as wrapping none of PATTERN's secrets. Either
        settles the unwraps held for them."""
        raw = self.raw.get(batch.file, batch.lines[i])
        if raw is None or b'"wrap_info"' not in raw:
            return
        doc = line_object(raw, self.prefix)
        info = _sub(doc, "response", "wrap_info")
        if not isinstance(info, dict):
            return
        new = tuple(v for v in (info.get("token"), info.get("accessor")) if isinstance(v, str) and v)
        if batch.resource[i] in _REWRAPS:  # the new token wraps what the old one did
            olds = wrapped_before(doc)
            target = next((self.wraps[k] for k in olds if k in self.wraps), None)
            if target is None and not any(k in self.elsewhere for k in olds):
                for k in olds:  # not known yet: told when (if) the old one's wrapping is
                    _put(self.rewrap_of, k, self.rewrap_of.get(k, ()) + new)
                return
        elif target is not None:
            mount = _sub(doc, "request", "mount_type") or _sub(doc, "response", "mount_type")
            target = target._replace(op=no_value(target.op, mount))
        todo = list(new)
        while todo:  # each token, and the tokens rewrapped from it, wrap ``target`` (or none of PATTERN's)
            v = todo.pop()
            if target is not None:
                _put(self.wraps, v, target)
            else:
                _put(self.elsewhere, v, None)
            held = self.unwraps.pop(v, None)
            if held is not None:
                self._settle(held, target)
            todo.extend(self.rewrap_of.pop(v, ()))

    def _wrapped_request(self, batch: Entries, i: int) -> bool:
        """Whether a Vault request entry asked for its response wrapped (``wrap_asked``): its caller got a wrapping
        token, not the secret."""
        return wrap_asked_raw(self.raw.get(batch.file, batch.lines[i]), self.prefix)

    def _unwrap_answered(self, batch: Entries, i: int) -> bool:
        """An unwrap's response entry whose request entry was not read (a hop dropped it): the entry repeats the
        request (who, the token named, when), so the unwrap counts from it as from its request entry, and is said
        as a request counted from its response (red team rt54, F3). Whether it was counted (or found again)."""
        rid = batch.request_id[i]
        if rid in self.unwrap_asked:
            del self.unwrap_asked[rid]
            return False
        if self.unwrap_asked_over or not unwraps(batch.resource[i], batch.action[i],
                                                 self.raw.get(batch.file, batch.lines[i])):
            return False  # (past _WRAPS unanswered, its request entry may have been read)
        return self._unwrap(batch, i, from_response=True)

    def _refused_lookup(self, batch: Entries, i: int, path: str, kind: str) -> Optional[Reach]:
        """A `kv` command's mount lookup (``_UI_MOUNTS``) of a path PATTERN names (as itself, or as a KV version 2
        mount logs it: ``kv_names``) that the vault refused: a denied ``mount lookup`` of that path (red team rt54,
        F2); of a path PATTERN is under, one that named no secret: the path may be the mount a command was given
        with ``-mount=`` (the lookup names nothing more, red team rt80 F2). Counted at the entry that carries the
        refusal (the request entry when its policies refused it, else the response entry), once; an allowed lookup
        is none (the command's own request follows it)."""
        resource = batch.resource[i]
        if not resource.startswith(_UI_MOUNTS) or batch.action[i] not in ("read", ""):
            return None
        target = path[: len(path) - len(resource)] + resource[len(_UI_MOUNTS):]  # (its namespace kept)
        if not target.strip("/"):
            return None
        mount = target.rstrip("/")
        reach = Reach(LOOKUP, frozenset({"read"}), (Named(target, kv_names(mount)),),
                      scope=f"a secret under {mount}/ (a `kv -mount={mount}` command refused at its mount lookup "
                      "names no more)", shown=f"{mount}/", globs=(f"{mount}/*",))
        named, under = self.paths.reached(reach)
        if not named and not under:
            return None
        rid = batch.request_id[i]
        refused = batch.result[i].startswith("error:")
        if kind == "request":
            if not refused:
                raw = self.raw.get(batch.file, batch.lines[i])
                doc = line_object(raw, self.prefix) if raw is not None else None
                refused = doc is not None and who_of(doc).refused
            if refused and rid:
                _put(self.lookups, rid, None)
        elif rid in self.lookups:
            del self.lookups[rid]
            return None  # counted at its request entry
        return reach if refused else None

    def _unwrap(self, batch: Entries, i: int, from_response: bool = False) -> bool:
        """Count an unwrap of a token whose response reached PATTERN as operation ``unwrap`` of what it reached
        (``unwrap_op``); hold one of a token no response read so far wrapped (``_Unwrap``). Whether it was counted
        now (or found again)."""
        raw = self.raw.get(batch.file, batch.lines[i])
        doc = line_object(raw, self.prefix) if raw is not None else None
        if doc is None:
            return False  # no line at hand: who sent it and with which token are not known
        keys = tuple(wrapped_before(doc))
        path = next((self.wraps[k] for k in keys if k in self.wraps), None)
        if path is None and (not keys or any(k in self.elsewhere for k in keys)):
            return False  # it unwrapped a response on another path
        ts = parse_time(batch.time[i])
        ns = ts[0] if ts is not None else None
        if self.since is not None or self.until is not None:
            if ns is None:
                self.untimed += 1
                return False
            if (self.since is not None and ns < self.since) or (self.until is not None and ns > self.until):
                return False
        w = who_of(doc)  # the line parsed once
        held = _Unwrap(w, ns, keys, _token_digests(doc), batch.request_id[i],
                       w.refused or batch.result[i].startswith("error:"), answered=from_response,
                       wrapped=wrap_asked(doc), from_response=from_response)
        if path is not None:
            self._settle(held, path)
            return True
        if held.denied:  # refused ("wrapping token is not valid or does not exist"): it received nothing
            return False
        if len(self.unwraps) < _WRAPS:
            for k in keys:
                self.unwraps[k] = held
            if held.rid and not from_response and len(self.unwrap_rids) < _WRAPS:
                self.unwrap_rids[held.rid] = held
        else:
            self.unattributed.append(ns)
        return False

    def _settle(self, held: _Unwrap, target: Optional[Wrapped]) -> None:
        """An unwrap whose token's wrapping is known: counted as the unwrap of what it wrapped (``target``: a path,
        or what a request reached without naming it), or (``target`` None) dropped, as it unwrapped a response on
        another path."""
        for k in held.keys:
            if self.unwraps.get(k) is held:
                del self.unwraps[k]
        if not held.answered:
            self.unwrap_rids.pop(held.rid, None)
        if target is None or (held.rid and held.rid in self.counted_rids
                              and (held.rid in self.asked or held.from_response)):
            return  # an unwrap whose own path matched, counted as that while its wrap was not yet known
        # (refused, the entry names no one: it is counted under the name its token's digest gets here, at ``flush``)
        rid = self._rid = held.rid if held.from_response or not held.answered else ""
        if held.from_response and not (rid and rid in self.counted_rids):
            self.from_response += 1  # (found again under its id in another file: counted there)
        w = unwrapped_by(held.who, self.wraps)
        op = unwrap_op(target.op) + (" (wrapped)" if held.wrapped else "")
        self._count(w, op, [target.path], held.ns, held.denied, target.seen, self._named(held.tokens, w))
        if held.from_response:
            self.open.pop(rid, None)  # its response entry is the one read

    def _answered(self, rid: str, result: str, batch: Entries, i: int) -> None:
        """A response entry (``i`` of ``batch``): its request, if counted and not denied, is denied when it returned
        nothing (``vault_returned``): the response carries an error, or is a raw HTTP answer (``http_raw_body``) of an
        error status (``http_status_code``: the KV version 2 engine answers a path of none of its endpoints, ``bao
        read secret/app/db``, with 404 and "Invalid path for a versioned K/V secrets engine", no value: red team
        rt71, F1), or answers a read, list or scan with no data (OpenBao's 404 for a missing secret or version: it
        is an attempt that received nothing, red team rt94 F3)."""
        counts = self.open.pop(rid, None) if rid else None
        if counts is None:
            return
        kind = trace_of("response", batch.resource[i], batch.action[i], result) if self.trace_hint else 0
        trace = trace_at(batch, i) if kind else None
        if trace is not None:  # a standby's attempt: folded, or said, once every file is read (``fold_forwarded``)
            if len(self.traces) < _WRAPS:
                self.traces.append((trace, counts, kind != SURE))
            else:
                self.traces_more += 1
            if kind == SURE:
                return  # never a refusal: the standby forwarded it
        raw = self.raw.get(batch.file, batch.lines[i]) if not result.startswith("error:") else None
        op = batch.action[i]
        how = vault_returned(line_object(raw, self.prefix), op) \
            if raw is not None and (op in ANSWERING or b'"http_status_code"' in raw) else RETURNED
        if result.startswith("error:") or how:
            self._deny(counts, 1)
            if how == EMPTY and not result.startswith("error:"):
                self.emptied.append(counts)  # given back at ``flush`` where no read of the run showed an answer

    @staticmethod
    def _deny(counts: "_Counted", n: int) -> None:
        counts.op.denied += n
        counts.total.denied += n
        if counts.scope is not None:
            counts.scope[1] += n

    def fold_forwarded(self, paths: Sequence[str], settings: Any) -> None:
        """Fold each forwarding trace held into the count of its forwarded request, where a file of ``paths`` holds
        its entries (``completeness.forwarded``): the request counted at the standby is taken back, as the active
        node's entries count it. A SURE trace with no forwarded entries in the files counts as "outcome not logged";
        a login's (refused "invalid request") stays as counted, a refusal."""
        if not self.traces:
            return
        got = forwarded([t for t, _c, _d in self.traces], paths, settings)
        for i, (trace, counted, denied) in enumerate(self.traces):
            if i in got.matched:
                self._uncount(counted, denied)
                self.folded += 1
            elif trace.sure:
                counted.op.unlogged += 1
                counted.total.unlogged += 1
                self.unforwarded += 1
        self.unforwarded += self.traces_more
        self.traces.clear()

    def _uncount(self, c: _Counted, denied: bool) -> None:
        """Take back what counting one request added (``_Counted``); an identity left with no request goes."""
        for count in (c.op, c.total):
            count.requests -= 1
            count.denied -= denied
            count.unnamed -= c.unnamed
        if c.scope is not None:
            c.scope[0] -= 1
            c.scope[1] -= denied
        ident = c.ident
        for kept, more, keys in ((ident.paths, "paths_more", c.paths), (ident.sources, "sources_more", (c.source,)),
                                 (ident.accessors, "accessors_more", (c.accessor,))):
            for k in keys:
                if not k:
                    continue
                if k in kept:
                    kept[k] -= 1
                    if not kept[k]:
                        del kept[k]
                elif getattr(ident, more):
                    setattr(ident, more, getattr(ident, more) - 1)
        for op, count in list(ident.ops.items()):
            if not count.requests:
                del ident.ops[op]
        if not ident.total.requests:
            for key in [k for k, v in self.who.items() if v is ident]:
                del self.who[key]
            for tokens in [k for k, v in self.anon.items() if v is ident]:
                del self.anon[tokens]

    def flush(self) -> None:
        """Count the Vault requests let through whose response entry never came as "outcome not logged" (an allowed
        request's response is where its error or its 404 shows; in flight when the log ends, or dropped by a hop);
        count the Kubernetes requests whose last stage never came (an open watch, a failed authentication: denied
        when the stage held says 401 or 403); put the Vault requests that named no identity under the identity
        their token's digest has in another entry."""
        if not answered_somewhere(len(self.emptied), self.answers):
            for counted in self.emptied:  # no read of the run showed an answer: reads as logged, not denied
                self._deny(counted, -1)
        self.emptied.clear()
        for c in self.open.values():  # Vault requests whose response entry no file holds (red team rt94 F10)
            if not c.ident.display_name and c.paths == (_SELF_TEST,):
                continue  # the audit device's self-test write (no token): the vault logs no response to it
            c.op.unlogged += 1
            c.total.unlogged += 1
            self.unanswered += 1
        self.open.clear()
        fmt, self.fmt = self.fmt, "k8s"  # (counted as the Kubernetes requests they are, whatever file came last)
        for w, op, paths, ns, seen, denied, unlogged in self.received.values():
            self._count(w, op, paths, ns, denied, seen, unlogged=unlogged)
        self.received.clear()
        self.fmt = fmt
        for unwrap in {id(h): h for h in self.unwraps.values()}.values():  # no file held their wrapping
            if not unwrap.denied:  # (its response refused it: it received nothing)
                self.unattributed.append(unwrap.ns)
        self.unwraps.clear()
        self.unwrap_rids.clear()
        for keys, held in self.anon.items():
            name, entity = next((self.names[k] for k in keys if k in self.names), ("", ""))
            key = (name, entity, "vault")
            ident = self.who.get(key)
            if ident is None:
                ident = self.who[key] = Identity(name, entity, "vault")
            ident.absorb(held)
        self.anon.clear()

    def _ident(self, w: Who) -> Identity:
        key = (w.display_name, w.entity_id, self.fmt)  # (a folder may mix systems: each identity is one system's)
        ident = self.who.get(key)
        if ident is None:
            ident = self.who[key] = Identity(w.display_name, w.entity_id, self.fmt)
        return ident

    def _count(self, w: Who, op: str, paths: list[str], ns: Optional[int], denied: bool, seen: str = "",
               tokens: tuple[str, ...] = (), unlogged: bool = False) -> None:
        """Count one request by ``w`` that reached ``paths`` (named), or, when ``seen`` says what, the secrets it
        saw without naming them (``paths`` is then the collection, filter or path it asked for). A request that
        names no identity but carries token digests (``tokens``) is held by them until ``flush``; ``unlogged``: its
        outcome is not logged (a Kubernetes request known by its RequestReceived event alone)."""
        if self._rid:  # a Vault request: once by its id, whichever files hold it (two audit devices' files)
            if self._rid in self.counted_rids:
                self._rid = ""
                self.again += 1
                return
            if len(self.counted_rids) >= _RIDS:
                self.counted_rids.pop(next(iter(self.counted_rids)))
            self.counted_rids[self._rid] = None
        ident: Optional[Identity] = None
        if tokens and not w.display_name and not w.entity_id:
            ident = self.anon.get(tokens)
            if ident is None and len(self.anon) < _ANON:
                ident = self.anon[tokens] = Identity("", "")
        if ident is None:
            ident = self._ident(w)
        unnamed = bool(seen) and not seen.startswith(_WRAPPED_SCOPE)  # (wrapped: its caller saw a wrapping token)
        self.wrapped_unnamed += bool(seen) and not unnamed  # (it named none of PATTERN's paths either)
        count = ident.ops.setdefault(op, OpCount())
        count.add(ns, denied, unnamed, unlogged)
        ident.total.add(ns, denied, unnamed, unlogged)
        scope: Optional[list[int]] = None
        if seen:
            if seen in ident.scopes or len(ident.scopes) < _KEEP:
                scope = c = ident.scopes.setdefault(seen, [0, 0])
                c[0] += 1
                c[1] += denied
            else:
                ident.scopes_more += 1
        rid, self._rid = self._rid, ""
        accessor = _accessor(w.accessor) if w.accessor else ""
        if rid and not denied:  # a Vault request: its response may carry an error (``_answered``)
            _put(self.open, rid, _Counted(count, ident.total, scope, ident, tuple(paths), accessor,
                                          w.remote_address, unnamed))
        if accessor and not _keep(ident.accessors, accessor):
            ident.accessors_more += 1
        if w.remote_address and not _keep(ident.sources, w.remote_address):
            ident.sources_more += 1
        for path in paths:
            if not _keep(ident.paths, path):
                ident.paths_more += 1


@dataclass
class FileRead:
    file: str
    lines: int
    bytes: int
    entries: int
    unreadable_lines: int
    format: str = "vault"
    same_as: str = ""  # an earlier file of the run with the same lines (a copy beside its compressed twin)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "lines": self.lines, "bytes": self.bytes,
                "entries": self.entries, "unreadable_lines": self.unreadable_lines, "same_as": self.same_as}


# (red team rt86 F3: the refusal offered verify's field_map fix, and with it set, refused the file again)
_NOT_JSONL = ("auditready access answers from the audit logs of a Vault/OpenBao server, the Kubernetes API server "
              "or a CloudTrail trail only (a generic JSON-lines log's fields do not say what a request reached or "
              "whether it was refused): give it those logs; judge this one with `auditready verify` and a field_map")


def answer(pattern: str, paths: Sequence[str], settings: Any, since: Optional[int] = None,
           until: Optional[int] = None, more: Sequence[str] = (), near: Sequence[str] = ()
           ) -> tuple[Accesses, list[FileRead]]:
    """Read every file of ``paths`` once through the engine, counting into one Accesses (of PATTERN, or of any of
    it and ``more``; noting which of ``near`` the Vault requests it does not match name). Raises AuditReadyError for
    a file that cannot be read or is none of FORMATS."""
    from ..auditlog.detect import TITLES, UnknownFormat
    from ..engine.driver import drive, reader_for
    from ..engine.files import detect
    from ..offline.reader import FileStats, open_log

    acc = Accesses(pattern, since, until, settings.log_prefix, more, near)
    files = []
    seen: dict[bytes, str] = {}  # content digest -> the first file of the run with it
    # A file with the lines of another counts once. Only files whose size (a gzip's ISIZE, mod 2**32) another file
    # of the run shares, or cannot be told, can be such a twin: only they are hashed, and have what was counted
    # before them kept to put back (a copy of the state per file costs with many identities).
    hints = [_size_hint(p) for p in paths]
    shared = collections.Counter(h % 2**32 for h in hints if h is not None)
    for path, hint in zip(paths, hints):
        try:
            s = detect(path, settings, judged=False)  # who reached what: no field is required of an entry
        except UnknownFormat as exc:  # verify's way out (log_format = "jsonl" and a field_map) is none here
            if not exc.unmapped:
                raise
            raise AuditReadyError(exc.unmapped, _NOT_JSONL) from None
        if s.log_format not in FORMATS:  # generic JSON lines: what a request reached, and whether it was
            # refused, is not known from a field_map (a result field holds whatever its producer writes)
            what = ('a generic JSON-lines log (log_format = "jsonl")' if s.log_format == "jsonl"
                    else TITLES.get(s.log_format, s.log_format))
            raise AuditReadyError(f"{path} is {what}, not a Vault/OpenBao, Kubernetes or CloudTrail audit log",
                                  _NOT_JSONL)
        acc.fmt = s.log_format
        stats = FileStats()
        read_blocks, parse, whole = reader_for(s, path)
        maybe_twin = hint is None or shared[hint % 2**32] > 1
        before = copy.deepcopy((acc.who, acc.untimed, acc.received, acc.counted, acc.anon, acc.open, acc.in_period,
                                acc.asked, acc.from_response, acc.unwraps, acc.unwrap_rids, acc.unattributed,
                                acc.again, acc.unwrap_asked, acc.lookups, acc.traces, acc.traces_more)
                               ) if maybe_twin and seen else None
        acc.content = hashlib.sha256() if maybe_twin else None
        f = open_log(path)
        try:
            counts = drive([acc], read_blocks(f, path, stats), path, parse, whole)
        finally:
            f.close()
        twin = ""
        if acc.content is not None:
            digest = acc.content.digest()
            twin = seen.get(digest, "") if stats.lines else ""
            if twin and before is not None:
                (acc.who, acc.untimed, acc.received, acc.counted, acc.anon, acc.open, acc.in_period, acc.asked,
                 acc.from_response, acc.unwraps, acc.unwrap_rids, acc.unattributed, acc.again, acc.unwrap_asked,
                 acc.lookups, acc.traces, acc.traces_more) = before
            else:
                seen.setdefault(digest, path)
        files.append(FileRead(path, stats.lines, stats.bytes, counts.entries, counts.bad_lines, s.log_format, twin))
    acc.fold_forwarded([f.file for f in files if not f.same_as], settings)
    acc.flush()
    return acc, files


def _size_hint(path: str) -> Optional[int]:
    """The bytes a local log holds once decompressed, where that is cheap to know: a plain file's size, a gzip
    file's ISIZE (its size mod 2**32, from its last 4 bytes); None for an object or another compression."""
    from ..engine.objects import is_url

    if is_url(path):
        return None
    import stat

    try:
        # never blocks: a FIFO opened for reading waits for a writer (open_log refuses what is no regular file)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            magic = f.read(6)
            if magic[:2] == b"\x1f\x8b":
                f.seek(-4, os.SEEK_END)
                return int.from_bytes(f.read(4), "little")
            if magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00":
                return None
            return os.fstat(f.fileno()).st_size
        except OSError:
            return None


def holes(paths: Sequence[str], acc: Accesses, settings: Any) -> list[dict[str, Any]]:
    """Where the files leave a hole inside the period asked about (--since/--until, else the files' own span), so
    that the answer may lack requests (red team rt71, F2), as the engine tells a missing member of a log set:

    - a numbered rotated file missing between two named ones of one log in one folder (``missing_numbers``:
      logrotate numbers without gaps), or a rotated file of the log in that folder (``rotated_beside``) that holds
      bytes, was not named, and comes between two named ones in rotation order (``rotation_sorted``): its entries
      lie between those files', so the hole counts when that stretch meets the period;
    - a run of days without a single entry of a system's logs inside the period (between its first and last day
      with one) longer than ``retention_max_gap_days``, as retention judges a log set (each system's log its own): a
      quiet day within it is no proof of a lost file (a vault idle over a weekend writes nothing); a longer run is
      said unless a hole above covers it.

    Each hole: ``from``/``to`` (times of the entries around it, or UTC days), ``files`` (those missing or not
    named) and ``why``."""
    from ..auditlog.rotation import rotation_slot, rotation_sorted, uncompressed_name
    from ..checks.retention import _gaps, missing_numbers, rotated_beside
    from ..engine.files import hollow
    from ..engine.objects import is_url

    since, until = acc.since, acc.until
    out: list[dict[str, Any]] = []
    stretches: list[tuple[Optional[int], Optional[int]]] = []
    groups: dict[tuple[str, str], list[str]] = {}  # (folder, live log's name) -> its files named, rotation order
    for p in paths:
        folder, base = os.path.split(p)
        slot = rotation_slot(base)
        groups.setdefault((folder, slot[0] if slot is not None else uncompressed_name(base)), []).append(p)
    for (folder, live), named in groups.items():
        # the rotated files beside them not named (compressed or not, one of the same place as a file named is that
        # one), by the pair of named files they come between: those that hold bytes (``left``; a compressed file of
        # 0 bytes was emptied: ``hollow``), and those that hold nothing (``idle``: a rotation while the vault was
        # idle, logrotate's ifempty), which lost nothing and stand in the set as its numbers go
        left: dict[int, list[str]] = {}
        idle: dict[int, list[str]] = {}
        if not is_url(named[0]):
            slots = {uncompressed_name(os.path.basename(p)) for p in named}
            others = [x for x in rotated_beside(os.path.join(folder, live))
                      if x not in named and uncompressed_name(os.path.basename(x)) not in slots]
            place = {p: k for k, p in enumerate(named, 1)}
            at = 0  # the pair a file not named comes in: between named[at - 1] and named[at]
            for x in rotation_sorted([*named, *others]):
                if x in place:
                    at = place[x]
                elif 0 < at < len(named):
                    (left if _size_hint(x) != 0 or hollow(x) else idle).setdefault(at, []).append(x)
        for at, (a, b) in enumerate(zip(named, named[1:]), 1):
            lost = [f.message for f in missing_numbers([a, b, *idle.get(at, [])], "the files named",
                                                       settings.rotation_start)]
            beside = left.get(at, [])
            if not lost and not beside:
                continue
            lo, hi = acc.file_spans.get(a, (None, None))[1], acc.file_spans.get(b, (None, None))[0]
            if (until is not None and lo is not None and lo >= until) or (since is not None and hi is not None
                                                                            and hi <= since):
                continue  # a hole outside the period asked about (its entries were between lo and hi)
            stretches.append((lo, hi))
            one = len(beside) == 1
            why = lost + ([f"{', '.join(beside)}, {'a rotated file' if one else 'rotated files'} of {live} in "
                           f"{folder or '.'} between {a} and {b} in rotation order, {'holds' if one else 'hold'} "
                           f"bytes but {'was' if one else 'were'} not named"] if beside else [])
            out.append({"from": _iso(lo), "to": _iso(hi), "files": beside, "why": " ".join(why)})
    epoch, max_gap = datetime.date(1970, 1, 1), settings.retention_max_gap_days
    for fmt, held in sorted(acc.days.items()):  # each system's log its own (as retention judges a set)
        days = [epoch + datetime.timedelta(days=d) for d in sorted(held)]
        for first, last in _gaps(days):
            n = (last - first).days + 1
            start = (first - epoch).days * _DAY_NS
            end = start + n * _DAY_NS - 1
            if n <= max_gap or any((lo is None or lo <= start) and (hi is None or hi >= end) for lo, hi in stretches):
                continue
            when = f"on {first}" if first == last else f"from {first} to {last}"
            out.append({"from": first.isoformat(), "to": last.isoformat(), "files": [],
                        "why": f"no {SYSTEMS.get(fmt, fmt)} entry {when} ({n} day{'s' if n != 1 else ''}), inside "
                        f"the period asked about: more than the {max_gap} day{'s' if max_gap != 1 else ''} without "
                        "entries retention_max_gap_days allows (a rotated file lost or not named, a stopped audit "
                        "device, a pipeline outage)"})
    return out


def as_json(pattern: str, since: Optional[int], until: Optional[int], acc: Accesses,
            files: Sequence[FileRead]) -> dict[str, Any]:
    from ..report.common import mask_credentials

    idents = sorted(acc.who.values(), key=lambda i: (-i.total.requests, i.display_name, i.entity_id))
    return {
        "schema": SCHEMA,
        "pattern": pattern,
        "since": _iso(since),
        "until": _iso(until),
        "requests": sum(i.total.requests for i in idents),
        "denied": sum(i.total.denied for i in idents),
        "unnamed": sum(i.total.unnamed for i in idents),
        # Kubernetes requests known by their RequestReceived event alone, Vault requests without a response entry
        # (``response_not_logged``), standby traces not forwarded: neither allowed nor denied is logged
        "outcome_not_logged": sum(i.total.unlogged for i in idents),
        "untimed_left_out": acc.untimed,
        # Vault requests counted from their response entry: their request entry is not in the files
        "counted_from_response": acc.from_response,
        # Vault requests found again in another file (another audit device of the vault) or line: counted once
        "counted_once_again": acc.again,
        # Vault requests that reached an HA standby, which logged its local attempt ("cannot write to readonly
        # storage") and forwarded them: "folded", counted once as the active node logged them; "not_found", whose
        # forwarded entries are in none of the files (counted as outcome not logged)
        "forwarded_from_standby": {"folded": acc.folded, "not_found": acc.unforwarded},
        # Vault requests whose response entry is in none of the files (counted as outcome not logged)
        "response_not_logged": acc.unanswered,
        # unwraps of wrapping tokens whose wrapped response is in none of the files: what they delivered (a secret
        # of PATTERN or another) is not known
        "unwraps_not_attributed": _unattributed(acc.unattributed),
        # what the files hold evidence of: the first and last time of any of their entries, and how many entries
        # fall in the period asked about (all of them without --since/--until)
        "covers": {"first": _iso(acc.span[0]) if acc.span else None, "last": _iso(acc.span[1]) if acc.span else None,
                   "entries_in_period": acc.in_period},
        # paths, names and addresses from the log: a credential a client put in one is shown masked, never as written
        "identities": mask_credentials([i.to_json() for i in idents]),
        "files": [f.to_json() for f in files],
    }


def _table_time(t: Optional[str]) -> str:
    """A time as the table shows it: to the millisecond, with its zone (Z: the JSON and the footer are UTC)."""
    if not t:
        return "-"
    return t[:23] + "Z" if len(t) > 23 and t.endswith("Z") else t


def _table(doc: dict[str, Any], out: IO[str]) -> None:
    head: tuple[str, ...] = ("identity", "entity id", "tokens", "operation", "requests", "denied", "first", "last",
                             "sources")
    # files of several systems (a folder of Vault and CloudTrail logs): each row says which one it comes from, as a
    # pattern can match in each (red team rt54, F6)
    mixed = len({f["format"] for f in doc["files"]}) > 1
    unlogged = bool(doc.get("outcome_not_logged"))  # a column of its own only where some request has it
    rows: list[tuple[str, ...]] = []
    for ident in doc["identities"]:
        first_acc = next(iter(ident["accessors"]), "")
        others = len(ident["accessors"]) - 1
        acc = (first_acc[:20] + "…" if len(first_acc) > 21 else first_acc) + (
            f" (+{others}{'+' if ident['accessors_more'] else ''})" if others > 0 else "")
        sources = ", ".join(ident["sources"]) + (f" (+{ident['sources_more']})" if ident["sources_more"] else "")
        first_row = True
        for op, c in ident["operations"].items():
            name = (ident["display_name"] or "(none)", ident["entity_id"] or "-", acc or "-") if first_row else \
                ("", "", "")
            rows.append((*name, op, str(c["requests"]), str(c["denied"]))
                        + ((str(c["outcome_not_logged"]),) if unlogged else ())
                        + (_table_time(c["first"]), _table_time(c["last"]), sources if first_row else "")
                        + ((SYSTEMS.get(ident["system"], ident["system"]) if first_row else "",) if mixed else ()))
            first_row = False
    if unlogged:
        head = (*head[:6], "outcome not logged", *head[6:])
    if mixed:
        head += ("system",)
    # (a row starts with an identity the log names: _line_start; red team rt32, F8)
    rows = [(_line_start(r[0]), *(visible(x) for x in r[1:])) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    out.write("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip() + "\n")
    said = False
    for ident in doc["identities"]:
        who = _line_start(ident["display_name"] or "(none)")
        if mixed:
            who += f" ({SYSTEMS.get(ident['system'], visible(ident['system']))})"
        for what, c in ident["scopes"].items():
            if not said:
                out.write("not by name (these requests named no secret; each answer held every one it took in):\n")
                said = True
            n, d = c["requests"], c["denied"]
            note = "refused" if d == n else (f"{d} of them refused" if d else "none named it")
            if what.startswith(_WRAPPED_SCOPE):  # its caller got a wrapping token; whoever unwrapped it, the answer
                saw = ("asked, wrapped, for" if d == n else "had wrapped, for whoever unwrapped it,") + " " + \
                    visible(what[len(_WRAPPED_SCOPE):])
            else:
                saw = ("tried to see " if d == n else "saw ") + visible(what)
            out.write(f"  {who} {saw} ({n} request{'s' if n != 1 else ''}, {note})\n")
        if ident["scopes_more"]:
            out.write(f"  {who}: {ident['scopes_more']} more such requests\n")


def _line_start(name: str) -> str:
    """A name from the log that starts a line of the answer: visible, and behind a backslash where it starts with
    "::", which a CI runner (trimming blanks first) would take for a workflow command."""
    text = visible(name)
    return "\\" + text if text.lstrip().startswith("::") else text


_KV2_WORDS = ("data", "metadata", "delete", "undelete", "destroy", "subkeys", "config")


def _named_requests(doc: dict[str, Any]) -> int:
    """The requests of an answer that named what they reached, but the refused mount lookups (``LOOKUP``): those
    name the path a `kv` command was given, not the one the vault logs its requests at."""
    return sum(i["requests"] - i["unnamed"] - (i["operations"].get(LOOKUP) or {}).get("requests", 0)
               for i in doc["identities"])


def kv2_near(pattern: str) -> list[str]:
    """PATTERN as a KV version 2 mount's API names it, when it can be a path the `kv` commands show
    (``secret/app/db`` is read at ``secret/data/app/db``, listed at ``secret/metadata/app/db/``): ``data/``, then
    ``metadata/``, after each segment but the last, as the mount may span several (``kv/team/``) and a namespace
    comes before it (``team-b/secret/db`` is read at ``team-b/secret/data/db``: red team rt54, F4). Empty for a
    pattern of one segment or one that already names such a word after its first."""
    segments = pattern.split("/")
    if len(segments) < 2 or any(s in _KV2_WORDS for s in segments[1:-1]):
        return []
    return ["/".join([*segments[:k], word, *segments[k:]]) for word in ("data", "metadata")
            for k in range(1, len(segments))]


def unseen_head(pattern: str, heads: set[str]) -> Optional[str]:
    """PATTERN's first segment, when no path the files name starts as it can (``heads``: the first segments of the
    paths their Vault and Kubernetes entries name): PATTERN then asks about nothing these files log, a mistyped mount
    or namespace, or a path in another system's form. None when one does, when its first segment is '+', or when
    there are no first segments, or more than _HEADS, to judge by."""
    segments = pattern.lstrip("/").split("/")
    first = segments[0]
    if not heads or len(heads) >= _HEADS or first == "+":
        return None
    if len(segments) == 1 and first.endswith("*"):  # a trailing '*' matches the rest
        return None if any(h.startswith(first[:-1]) for h in heads) else first
    return None if first in heads else first


def _kv2_near(near: Sequence[str], acc: Accesses, files: Sequence[FileRead], paths: Sequence[str], settings: Any,
              since: Optional[int], until: Optional[int]) -> Optional[dict[str, Any]]:
    """The first of ``near`` (``kv2_near``) that Vault/OpenBao requests PATTERN does not match name (``acc``
    noted which while it counted), with the requests that name it: the readers of a KV version 2 secret asked for
    by the path `bao kv get` shows are logged there, whatever else matched PATTERN (a sys/raw request, which counts
    for every pattern without naming it; a `bao read` of the same path, which a KV version 2 mount answers with
    "Invalid path": red team rt71, F1); else None. Only then are the files read again, once for each such path
    until one has requests in the period asked about (a refused mount lookup names the path as given: it is no
    request of these)."""
    if not acc.near_hit or any(f.format != "vault" for f in files):
        return None
    for k in sorted(acc.near_hit):  # (data/ before metadata/)
        found, _ = answer(near[k], paths, settings, since, until)
        n = _named_requests({"identities": [i.to_json() for i in found.who.values()]})
        if n:
            return {"pattern": near[k], "requests": n}
    return None


def run(args: argparse.Namespace) -> int:
    from ..auditlog.rotation import rotation_sorted
    from ..config import discover
    from ..engine.files import expand

    try:
        settings = discover({}, args.config)
    except ConfigError as exc:
        print(f"auditready: {shown_error(exc)}", file=sys.stderr)
        return 2
    if not _pattern_ok(args.pattern):
        raise AuditReadyError(f"the pattern {visible(args.pattern)!r} is not a Vault policy path glob",
                              "put '*' only at the end and '+' only as a whole segment (secret/data/+/db*)")
    since, until = _bound(args.since, "--since", False), _bound(args.until, "--until", True)
    if since is not None and until is not None and since > until:
        raise AuditReadyError("--since is after --until", "give a --since at or before --until")
    if args.json_path and args.json_path != "-":
        from ..safeio import check_writable

        check_writable(args.json_path, "JSON answer")  # before the read, not after gigabytes of it
    started = time.monotonic()
    # each log's rotated files oldest first however they were named (a shell expands audit.log* newest first): a
    # request and its response split by a rotation are then read in order
    paths = rotation_sorted(expand(args.paths))
    near_paths = kv2_near(args.pattern)
    acc, files = answer(args.pattern, paths, settings, since, until, near=near_paths)
    seconds = time.monotonic() - started
    if not any(f.entries for f in files):  # "nobody" from no evidence at all would be a false answer
        lines = sum(f.lines for f in files)
        raise AuditReadyError(f"the {len(files)} file(s) named hold no audit entry ({lines} lines read): there is "
                              "nothing to answer from", "name the audit log files that cover the period asked about")
    if (since is not None or until is not None) and not acc.in_period:  # "nobody" in a period the files miss
        asked = f"between {_iso(since) or 'their start'} and {_iso(until) or 'their end'}"
        held = (f"their entries run from {_iso(acc.span[0])} to {_iso(acc.span[1])}" if acc.span
                else "none of their entries has a readable time")
        raise AuditReadyError(f"the {len(files)} file(s) named hold no entry {asked} ({held}): there is nothing to "
                              "answer from", "name the audit log files that cover the period asked about")
    doc = as_json(args.pattern, since, until, acc, files)
    gaps = doc["covers"]["holes"] = holes(paths, acc, settings)
    near = _kv2_near(near_paths, acc, files, paths, settings, since, until)
    if near is not None:
        doc["kv2"] = near
    named = _named_requests(doc) - acc.wrapped_unnamed  # the requests that named a path PATTERN matches
    unseen = (unseen_head(args.pattern, acc.heads)
              if near is None and not named and all(f.format in ("vault", "k8s") for f in files) else None)
    if unseen is not None:  # "nobody" would answer a question these files cannot answer (red team rt94, F6)
        from ..report.common import mask_credentials

        doc["pattern_unseen"] = {"first_segment": unseen,
                                 "first_segments_named": mask_credentials(sorted(acc.heads)[:_SHOWN_HEADS])}
    out = sys.stdout
    # (no lone surrogate escape; no "##[" workflow command for GitHub's runner: report.without_workflow_commands)
    text = without_workflow_commands(json.dumps(json_ready(doc), indent=2, ensure_ascii=True)) + "\n"
    if args.json_path == "-":
        out.write(text)
    else:
        if args.json_path:
            from ..safeio import write_atomic

            write_atomic(args.json_path, text, "JSON answer")
        n = len(doc["identities"])
        unnamed = f", {doc['unnamed']} named no secret but saw them" if doc["unnamed"] else ""
        unnamed += f", {doc['outcome_not_logged']} outcome not logged" if doc["outcome_not_logged"] else ""
        out.write(f"auditready access {visible(args.pattern)}: {doc['requests']} requests ({doc['denied']} denied"
                  f"{unnamed}) by {n} {'identity' if n == 1 else 'identities'}\n")
        if n:
            _table(doc, out)
        total_mb = sum(f.bytes for f in files) / 1e6
        out.write(f"read {len(files)} file(s), {sum(f.lines for f in files)} lines, {total_mb:.1f} MB in "
                  f"{seconds:.2f} s\n")
        if acc.span is not None:
            period = f"; {acc.in_period} of them in the period asked about" if since is not None or until is not None \
                else ""
            out.write(f"the files' entries run from {_iso(acc.span[0])} to {_iso(acc.span[1])}{period}\n")
        for f in files:
            if f.same_as:
                out.write(f"  {visible(f.file)} holds the same lines as {visible(f.same_as)}: counted once\n")
        if acc.again:
            out.write(f"  {acc.again} matching requests were found again under the same request id (another audit "
                      "device's file of the same vault, or a line written twice): each counted once\n")
        if acc.folded:
            out.write(f"  {acc.folded} matching requests reached a standby of an HA cluster, which logged its own "
                      "attempt (refused 'cannot write to readonly storage', or a login's 'invalid request') and "
                      "forwarded them to the active node: each counted once, as the active node logged it, and not "
                      "as denied\n")
        if args.json_path:
            out.write(f"JSON: {visible(args.json_path)}\n")
    if near is not None:
        said = (f"no request named {visible(args.pattern)}, but {near['requests']} named {visible(near['pattern'])}"
                if not named else
                f"{near['requests']} requests named {visible(near['pattern'])}, which {visible(args.pattern)} does "
                "not match, so the answer above may leave out readers of the secret")
        print(f"auditready: {said}: a KV version 2 mount logs its secrets' API paths, with data/ after the mount "
              f"(metadata/ for their metadata); fix: ask for {visible(near['pattern'])}", file=sys.stderr)
    if unseen is not None:
        heads = doc["pattern_unseen"]["first_segments_named"]
        shown = ", ".join(visible(h + "/") for h in heads) + (", ..." if len(acc.heads) > len(heads) else "")
        k8s = (" (Kubernetes names a Secret api/v1/namespaces/NAMESPACE/secrets/NAME)"
               if any(f.format == "k8s" for f in files) else "")
        print(f"auditready: no path these files name starts with {visible(unseen)} as {visible(args.pattern)} does "
              f"(their paths start with {shown}): no request of these files can name it, so the answer says nothing "
              f"of who saw the secret by name; PATTERN's mount or namespace is mistyped, or it names a path in "
              f"another form than the log's{k8s}; fix: ask for the path as the log names it", file=sys.stderr)
    unreadable = sum(f.unreadable_lines for f in files)
    if acc.span is not None and ((since is not None and since < acc.span[0])
                                 or (until is not None and until > acc.span[1])):
        print(f"auditready: the files' entries run from {_iso(acc.span[0])} to {_iso(acc.span[1])}, less than the "
              "period asked about: requests outside that span are not in them; fix: name the audit log files that "
              "cover the whole period", file=sys.stderr)
    if acc.untimed:
        print(f"auditready: {acc.untimed} matching requests have no readable time and were left out by "
              "--since/--until", file=sys.stderr)
    if acc.from_response:
        print(f"auditready: {acc.from_response} matching requests are counted from their response entry: their "
              "request entry is not in the files, so a hop dropped it and the log may lack other entries too; fix: "
              "see `auditready verify` (completeness) for which entries and where", file=sys.stderr)
    if acc.unforwarded:
        print(f"auditready: {acc.unforwarded} matching requests reached a standby of an HA cluster, which logged "
              "its own attempt (refused 'cannot write to readonly storage') and forwarded them to the active node, "
              "whose entries of them (and their outcome) are in none of these files: counted as \"outcome not "
              "logged\", not as denied; fix: name every node's audit log (`auditready verify` of them all, "
              "completeness, says whether the active node's entries were dropped)", file=sys.stderr)
    if acc.unanswered:
        print(f"auditready: {acc.unanswered} matching Vault requests have a request entry and no response entry in "
              "these files, so whether each returned the secret, an error or nothing is not logged (counted as "
              "\"outcome not logged\", not as allowed): the request was in flight when the log ends, or a hop dropped "
              "its response entry, and the log may lack other entries too; fix: see `auditready verify` "
              "(completeness) for which entries and where", file=sys.stderr)
    k8s_unlogged = doc["outcome_not_logged"] - acc.unforwarded - acc.unanswered
    if k8s_unlogged:
        print(f"auditready: {k8s_unlogged} matching Kubernetes requests are known by their "
              "RequestReceived event alone, so whether each was allowed or refused is not logged (counted as "
              "\"outcome not logged\", not as allowed): the request was in flight when the log ends, a hop dropped "
              "its later stages (ResponseComplete), or the audit policy omits them, which loses every such "
              "request's outcome; fix: see `auditready verify` (completeness) for which", file=sys.stderr)
    lost = doc["unwraps_not_attributed"]
    if lost["count"]:
        print(f"auditready: {lost['count']} unwrap(s) (sys/wrapping/unwrap, {lost['first']} to {lost['last']}) used "
              "wrapping tokens whose wrapped response is in none of these files, so the answer may be incomplete: "
              f"who received what they wrapped (a secret of {visible(args.pattern)} or another) is not known; fix: "
              "name the files that cover when the tokens were made (a wrapping token lives up to its TTL)",
              file=sys.stderr)
    if gaps:
        shown = "; ".join(f"{g['from'] or 'the start'} to {g['to'] or 'the end'}: {visible(g['why'])}"
                          for g in gaps[:3])
        more = f"; and {len(gaps) - 3} more (the JSON's covers.holes)" if len(gaps) > 3 else ""
        print(f"auditready: the files leave {len(gaps)} hole(s) in the period asked about, so the answer may be "
              f"incomplete: {shown}{more}; fix: name the missing files (restore them from the archive), or, for a "
              "vault idle that long, raise retention_max_gap_days", file=sys.stderr)
    if unreadable:
        print(f"auditready: {unreadable} lines could not be read, so the answer may be incomplete; fix: see "
              "`auditready verify` (required_fields) for which lines and why", file=sys.stderr)
    # a request whose outcome is in none of the files makes the answer incomplete, whatever the log (Vault, Kubernetes,
    # an HA standby's forwarded request): exit 1 for each alike (red team rt102 F3)
    unlogged = acc.unanswered or k8s_unlogged or acc.unforwarded
    return 1 if unreadable or acc.from_response or unlogged or lost["count"] or gaps or unseen else 0
