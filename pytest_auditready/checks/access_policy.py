"""access_policy: who may do what on which secret, as code, checked against every request the log holds.

Each ``[[tool.auditready.access.rules]]`` table names ``paths`` (globs with Vault policy semantics: a trailing ``*``
matches the rest of the path, a ``+`` segment any one segment), ``operations``, and who may do them: ``identities``
(globs on the display name, the entity id or the token accessor as logged) and/or ``policies`` (token policy names). A
Vault or OpenBao request entry on a matching path with a listed operation that the vault let through must come from an
allowed identity or from a token holding an allowed policy; anything else is a finding naming the entry, the identity
and the rule. A request the vault refused (its request entry carries the error) accessed nothing: the vault enforced
the rule. A path in a namespace other than the root is matched with the namespace before it
(``team-a/secret/data/db``), as a client outside the namespace names it: the vault logs it relative to
``request.namespace.path``. As in a Vault policy, a listing (logged on its folder with a trailing '/') is named by the
path without it; an OpenBao ``scan`` is a ``list`` of every path below its folder; an unwrap of a token that wrapped a
covered response is that response's request (its operation on its path), by whoever unwrapped it. The rules are the
reviewer's intent; the vault's policies are what it enforces: this check is where the two are compared, request by
request.

Kubernetes audit events and CloudTrail records are judged too, by what each request reached (``k8s_reach``,
``cloudtrail_reach``), once a request: a list or watch of a namespace's Secrets returns each of them, so it is a
``read`` (and ``list``) of every one of them a rule names; a Secrets Manager or SSM read (GetSecretValue,
BatchGetSecretValue, GetParameter, GetParameters, GetParametersByPath, GetParameterHistory) is a ``read`` of the
secrets it named or took in by filter or path; writes are ``create``/``update``/``patch``, deletions ``delete``.
Identities are matched on the Kubernetes user (a request made with impersonation: the user who sent it, or
"<user> as <impersonated user>") or the CloudTrail userIdentity ARN.

The canonical fields (``Record``) carry one identity; who a token is (display name, entity id, accessor) and which
policies it holds are read from the raw line of each entry the rules cover (``RawLines``), so the cost is one JSON
parse per covered request.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Container, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from ..auditlog.formats import format_of
from ..auditlog.model import Entries, Record, in_scope, vault_identity
from .base import FAILED, SKIPPED, Check, CheckContext, Finding, Note, Outcome, Skip, Visitor, feed

if TYPE_CHECKING:
    from ..config import AccessRule, Settings

ID = "access_policy"


def no_rules(settings: "Settings") -> str:
    """The skip of a run without access rules, naming the file of settings that was read (or none)."""
    where = settings.origin()
    read = f"in {where}" if where else "in the settings (no file of settings was read)"
    return (f"no {settings.rules_table} {read}: there is no rule to hold the log to (name who may read, write or "
            "list which secret paths)")


_MAX = 50
# How the skip of a quiet file of a run of several begins (``Rules._held_none``): the mark ``run_verdict`` knows it by
QUIET_FILE = "no request of this file is on a path and operation the rules name"
EXCUSE_RESPONSE = "a response entry (its request entry is the one judged)"
EXCUSE_SELF_TEST = ("the audit device's self-test write when it is enabled (sys/audit/test with no token): the vault's "
                    "own, made by no identity")
EXCUSE_STAGE = "a Kubernetes event of a request judged at another stage (its last one)"
EXCUSE_OWN = ("a request of this run (its scenario identities' and its audit token's: the canaries it reads and "
              "writes, its sys/audit-hash look-ups, the fail-closed drill), known by the vault's HMAC of its token")
# A Kubernetes request's stages before its last: held until the last comes, or counted alone at the end. A watch's
# ResponseStarted event is all the log holds of it while it is open (the docs' example policy omits
# RequestReceived), and a failed authentication is one ResponseStarted event (401, no user).
K8S_HELD = frozenset({"RequestReceived", "ResponseStarted"})
K8S_REFUSED = frozenset({"401", "403"})  # a Kubernetes request's status that says it was refused
_K8S_JUDGED = K8S_HELD | {"ResponseComplete", "Panic"}
K8S_IDS = 100_000  # Kubernetes auditIDs of the requests counted (the oldest forgotten first): a request counts once
UNWRAP, REWRAP = "sys/wrapping/unwrap", "sys/wrapping/rewrap"
# A KV mount's write, patch or delete answers no value: KV version 2 the new version's metadata (created_time,
# version), version 1 nothing. Every other engine's answer may be a secret (a pki issue, a transit decrypt, the data
# sys/wrapping/wrap wraps), as a read's is. The unwrap of such a wrapped response received that (``no_value``).
KV_WRITES = frozenset({"create", "update", "patch", "delete"})
NO_VALUE = "no value: "
WRAPS = 100_000  # wrapping token digests kept (the oldest forgotten first): a wrapping token is used once
# A token store creation by a caller without an entity that a range or file cannot place: (the caller's digests, the
# token's, where)
Mint = tuple[tuple[str, ...], tuple[str, ...], str]
_K = TypeVar("_K")
_V = TypeVar("_V")


def no_value(op: str, mount_type: Any) -> str:
    """``op`` when a request of operation ``op`` on a mount of type ``mount_type`` answers no value of its path (a
    KV write: ``KV_WRITES``), else ""."""
    return op if op in KV_WRITES and mount_type == "kv" else ""


def put_bounded(kept: dict[_K, _V], key: _K, value: _V) -> bool:
    """``kept[key] = value`` in a dict of at most WRAPS entries, the oldest forgotten first to make room (memory
    stays bounded however long the log); whether one was."""
    dropped = key not in kept and len(kept) >= WRAPS
    if dropped:
        kept.pop(next(iter(kept)))
    kept[key] = value
    return dropped
_HELD_UNWRAPS = 10_000  # unwraps of tokens a range did not wrap, kept for the merge with the ranges before it


def vault_glob(pattern: str, rooted: bool = False) -> "re.Pattern[str]":
    """A path pattern with Vault policy semantics as a regex: a trailing ``*`` matches the rest of the path (any
    characters, '/' included), a ``+`` segment any characters of one segment; everything else is literal. A
    leading '/' is ignored, as the vault ignores it; with ``rooted`` it is part of the name (``Reach.rooted``)."""
    prefix = pattern.endswith("*")
    body = pattern[:-1] if prefix else pattern
    parts = [r"[^/]*" if seg == "+" else re.escape(seg) for seg in (body if rooted else body.lstrip("/")).split("/")]
    return re.compile("/".join(parts) + (".*" if prefix else "") + r"\Z", re.DOTALL)


def paths_regex(patterns: Sequence[str], rooted: bool = False) -> "re.Pattern[str]":
    """One regex for any of ``patterns`` (see ``vault_glob``)."""
    return re.compile("|".join(f"(?:{vault_glob(p, rooted).pattern})" for p in patterns), re.DOTALL)


LISTINGS = frozenset({"list", "scan"})  # operations the vault logs on the folder's path with a trailing '/'


def path_matches(regex: "re.Pattern[str]", path: str, operation: str) -> bool:
    """Whether ``regex`` (``paths_regex``) names ``path`` as the vault's ACL does for ``operation``: a listing is
    logged on the folder with a trailing '/' (``secret/metadata/app/``), and a policy path without it
    (``secret/metadata/app``, ``secret/metadata/+``) grants it, so a listing matches either form. Any other request
    on a path with a trailing '/' names the secret without it too: a KV version 2 mount keeps a secret's metadata
    under its key cleaned of that '/' (keysutil's encryptedKeyStorage: paths.Clean), so a read of
    ``secret/data/app/db/`` looks up secret ``app/db`` (and fails, "could not find version data": red team rt94
    F11); an attempt on it is an attempt on that secret."""
    if regex.match(path) is not None:
        return True
    if len(path) < 2 or not path.endswith("/"):
        return False
    return regex.match(path[:-1] if operation in LISTINGS else path.rstrip("/")) is not None


SCAN = "scan"  # OpenBao's recursive listing: every name below the folder, at any depth


def rule_operation(operation: str) -> str:
    """The rules' operation a Vault/OpenBao request counts as: a ``scan`` lists (recursively), so it is a ``list``."""
    return "list" if operation == SCAN else operation


# sys/raw (raw_storage_endpoint = true) reads and writes the storage under every mount past their ACLs, decrypted
# (https://openbao.org/api-docs/system/raw/): its path names a storage key (logical/<mount uuid>/...), which no
# secret path and no rule names, so it reaches every secret.
RAW = re.compile(r"sys/raw(?:/.*)?")
RAW_SCOPE = "everything the vault stores (sys/raw reads and writes the storage under every mount, past their ACLs)"
# A list of sys/raw answers the names of storage keys, no value (OpenBao's API: "returns a list keys for a given
# path prefix"), under a mount's storage the log names by its uuid only (red team rt94, F7)
RAW_LIST_SCOPE = ("the names of what the vault stores under a sys/raw path (a sys/raw list: the storage keys of a "
                  "mount, of any secret, no value)")


def raw_reach(path: str, action: str) -> Optional[Reach]:
    """What a request on sys/raw reached: every secret, named none (``RAW_SCOPE``; a list, their storage keys'
    names: ``RAW_LIST_SCOPE``); None for any other path."""
    if RAW.fullmatch(path) is None:
        return None
    scope = RAW_LIST_SCOPE if action in LISTINGS else RAW_SCOPE
    return Reach(action or "(none)", frozenset({rule_operation(action)}), (), scope, path, ("*",))


# What a Vault/OpenBao response entry says its request returned (``vault_returned``). OpenBao answers a read whose
# backend returned no response with 404 (sdk/logical/response_util.go, RespondErrorCommon: "case req.Operation ==
# ReadOperation: if resp == nil { return http.StatusNotFound }"; a list with none, or no keys, likewise), and the
# audit entry of such a response holds none of data, secret, auth and wrap_info (a missing secret, a missing KV
# version 2 version, a sys/raw key that does not exist). A KV version 2 mount answers a path of none of its
# endpoints (``bao read secret/app/db``: no data/) with a raw 404, "Invalid path for a versioned K/V secrets engine"
# (internal/builtin/logical/kv/backend.go, pathInvalid): that path names no secret of the mount.
RETURNED, NOTHING, NO_SECRET, EMPTY = "", "nothing", "no secret", "empty"
ANSWERING = frozenset({"read", "list", "scan"})  # operations whose answer is what the request got
_ANSWER_KEYS = ("data", "secret", "auth", "wrap_info")
KV2_ENDPOINTS = frozenset({"data", "metadata", "detailed-metadata", "delete", "undelete", "destroy", "subkeys",
                           "config"})


def raw_status(doc: Any) -> Optional[int]:
    """The HTTP status of a raw answer (``response.data.http_status_code`` beside ``http_raw_body``: a KV version 2
    deleted or destroyed version, an invalid path), else None."""
    resp = doc.get("response") if isinstance(doc, dict) else None
    data = resp.get("data") if isinstance(resp, dict) else None
    status = data.get("http_status_code") if isinstance(data, dict) and "http_raw_body" in data else None
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def vault_returned(doc: Any, op: str) -> str:
    """What the request of a Vault/OpenBao response entry (parsed) returned: ``NOTHING`` when the entry carries an
    error, a raw answer of an error status (``raw_status`` >= 400), or (a read, list or scan) a response that holds
    none of data, secret, auth and wrap_info (OpenBao's 404 for a read of nothing); ``NO_SECRET`` when that is the
    KV version 2 engine's raw 404 for a path of none of its endpoints (``KV2_ENDPOINTS``: the path names no secret);
    else ``RETURNED`` (an entry without a ``response`` object says nothing of it: as returned)."""
    if not isinstance(doc, dict):
        return RETURNED
    error = doc.get("error")
    if isinstance(error, str) and error:
        return NOTHING
    resp = doc.get("response")
    if not isinstance(resp, dict):
        return RETURNED
    status = raw_status(doc)
    if status is not None and status >= 400:
        req = doc.get("request")
        path = req.get("path") if isinstance(req, dict) else None
        mount = req.get("mount_point") if isinstance(req, dict) else None
        kind = resp.get("mount_type") or (req.get("mount_type") if isinstance(req, dict) else None)
        space = req.get("namespace") if isinstance(req, dict) else None
        within = space.get("path") if isinstance(space, dict) else None
        if isinstance(mount, str) and isinstance(within, str) and within and mount.startswith(within):
            mount = mount[len(within):]  # (logged with its namespace; the path without it)
        if (status == 404 and kind == "kv" and isinstance(path, str) and isinstance(mount, str) and mount
                and path.startswith(mount)):
            rel = path[len(mount):]
            first, _, rest = rel.partition("/")
            if first not in KV2_ENDPOINTS or (first != "config" and not rest):
                return NO_SECRET
        return NOTHING
    if op in ANSWERING and not any(resp.get(k) for k in _ANSWER_KEYS):
        return EMPTY  # (as a hop that took response.data out would leave it: see ``answered_somewhere``)
    return RETURNED


# A response entry whose response holds data: Vault/OpenBao write the request before the response on a line
_RESPONSE_DATA = re.compile(rb'"response":\{[^\n]*?"data":\{(?!\})')


def answers_in(data: bytes) -> int:
    """1 when a block of a Vault/OpenBao log holds a response entry whose response holds data, else 0: a log whose
    every answer a hop took out holds none (``answered_somewhere``)."""
    return 1 if b'"response":{' in data and _RESPONSE_DATA.search(data) is not None else 0


def answered_somewhere(empty: int, answered: int) -> bool:
    """Whether reads whose response entry holds no answer (``EMPTY``: OpenBao's 404) may be taken as reads of
    nothing: only where some read of the same log shows its answer (``answered`` of them). A hop (a shipper's
    filter, Vault Enterprise's audit exclude) that takes response.data out of every entry leaves each read as a
    404 leaves it; such a log shows no answer at all, and its reads stay reads: who read the secret is never left
    out on the strength of an entry a hop may have emptied."""
    return not empty or answered > 0


def k8s_failed(code: str, verb: str = "") -> bool:
    """Whether a Kubernetes request's status says it reached nothing: refused (401, 403), or rejected by the API
    server before it was served (any other 4xx: a get of a Secret that does not exist is 404 NotFound with no
    object; a 409 or 422 write changed nothing; a 429 was not served). A 5xx (a Panic) may follow a part of the
    answer, a list streamed, or a write done: counted as reached (the safe side)."""
    try:
        n = int(code)
    except ValueError:
        return False
    return 400 <= n < 500


def listing_reach(path: str, action: str) -> Optional[Reach]:
    """What a listing reached, named none: a scan (``SCAN``: OpenBao's recursive listing) the name of every secret
    below its folder, a list the names in its folder (red team rt39, F4: the list of the folder that holds PATTERN
    was not counted, a scan above it was). Names under the listing's own path: a KV v2 secret's value (data/) is
    not reached by a listing of its metadata/ (what the answer for data/ counts is who saw the value). None for any
    other request."""
    if action not in LISTINGS:
        return None
    folder = (path if path.endswith("/") else path + "/").lstrip("/")
    what = ("the name of every secret below {} (a scan lists them at any depth" if action == SCAN else
            "the names in {} (a list of the folder")
    return Reach(action, frozenset({rule_operation(action)}), (),
                 what.format(folder) + "; which ones, the log does not say)", path,
                 (folder + ("*" if action == SCAN else "+"),))


def scan_reaches(patterns: Sequence[str], regex: "re.Pattern[str]", path: str) -> bool:
    """Whether a scan of the folder ``path`` lists a path that one of ``patterns`` names: the folder itself (as a
    listing, ``path_matches``) or any path below it."""
    if path_matches(regex, path, SCAN):
        return True
    below = (path if path.endswith("/") else path + "/").lstrip("/") + "*"
    return any(globs_meet(p, below) for p in patterns)


# -- what one request reached, by producer (shared with `auditready access`) -------------------------------------
# A request can see a secret without naming it: a Kubernetes list or watch of a collection returns every object of
# it, data included; a Secrets Manager BatchGetSecretValue with filters, an SSM GetParametersByPath, every secret
# the filter or path takes in. Such a request reaches a *scope*, written as Vault policy globs of the paths it
# covers, and it reached PATTERN when some path matches both (``globs_meet``).


@dataclass(frozen=True)
class Named:
    """A secret a request named: the path shown for it, and every name it goes by (a Secrets Manager secret by
    its name, partial ARN and full ARN; an SSM parameter by its name and ARN): PATTERN may give any of them."""

    shown: str
    names: tuple[str, ...]
    full: tuple[str, ...] = ()  # the Secrets Manager full ARNs (with the random suffix) the record gave for it


@dataclass(frozen=True)
class Reach:
    """What one request reached: the secrets it named, or (``scope``) the ones it saw without naming them, with
    the operation as shown and the rule operations (``ACCESS_OPERATIONS``) it counts as."""

    op: str
    rule_ops: frozenset[str]
    named: tuple[Named, ...] = ()
    scope: str = ""  # e.g. "all secrets in namespace prod"; empty when the request named what it reached
    shown: str = ""  # the path shown for a scope (the collection, the parameter path, the filters)
    globs: tuple[str, ...] = ()  # the scope as Vault policy globs of the paths it covers
    # a leading '/' is part of the names (AWS: the SSM parameter /prod/db and the Secrets Manager secret prod/db are
    # two; a hierarchical parameter is always named with it: red team rt94, F5), not ignored as a vault ignores it
    rooted: bool = False
    # globs of the paths a ``metadata.name!=X`` field selector left out of the scope: a PATTERN that names one of them
    # alone was not reached (red team rt94, F13)
    excluded: tuple[str, ...] = ()


def _glob_tokens(glob: str, rooted: bool = False) -> tuple[tuple[str, str], ...]:
    """A Vault policy glob as tokens: ("c", char), ("s", "") for a ``+`` segment (any run of characters but '/'),
    ("a", "") for a trailing ``*`` (any run of characters); a leading '/' kept with ``rooted`` (see vault_glob)."""
    tail = glob.endswith("*")
    out: list[tuple[str, str]] = []
    body = glob[:-1] if tail else glob
    for i, seg in enumerate((body if rooted else body.lstrip("/")).split("/")):
        if i:
            out.append(("c", "/"))
        if seg == "+":
            out.append(("s", ""))
        else:
            out.extend(("c", ch) for ch in seg)
    if tail:
        out.append(("a", ""))
    return tuple(out)


def _one_char(x: tuple[str, str], y: tuple[str, str]) -> bool:
    """Whether one character can be taken by both tokens."""
    if x[0] == "c" and y[0] == "c":
        return x[1] == y[1]
    if x[0] == "c":
        return y[0] == "a" or x[1] != "/"
    if y[0] == "c":
        return x[0] == "a" or y[1] != "/"
    return True


@functools.lru_cache(maxsize=4096)
def globs_meet(a: str, b: str, rooted: bool = False) -> bool:
    """Whether some path matches both Vault policy globs ``a`` and ``b`` (the product of their automata); ``rooted``:
    see vault_glob."""
    ta, tb = _glob_tokens(a, rooted), _glob_tokens(b, rooted)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(ta) and j == len(tb):
            return True
        x = ta[i] if i < len(ta) else None
        y = tb[j] if j < len(tb) else None
        if x is not None and x[0] != "c":
            todo.append((i + 1, j))  # a star that takes nothing more
        if y is not None and y[0] != "c":
            todo.append((i, j + 1))
        if x is not None and y is not None and _one_char(x, y):
            todo.append((i if x[0] != "c" else i + 1, j if y[0] != "c" else j + 1))
    return False


class PathMatch:
    """PATTERN (or a rule's paths) held against what a request reached: a named secret matches when any of its
    names does; a scope when some path of it does (``globs_meet``). A Secrets Manager full ARN pattern (with the
    random ``-AbCdEf`` suffix) also matches the secret by its name or partial ARN, as the service resolves them,
    but not a record that gives another full ARN: that suffix names another secret of the same name (one deleted
    and created again: AWS makes the suffix random so that the ARNs differ; red team rt71, F3)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        more = [_SM_SUFFIX.sub("", p) for p in patterns if _SM_ARN.match(p) and _SM_SUFFIX.search(p)]
        self.regex = paths_regex([*patterns, *more])
        self.all = (*patterns, *more)
        self._own = paths_regex(patterns) if more else None  # the patterns as given, full ARNs with their suffix
        self._rooted: Optional["re.Pattern[str]"] = None  # ``regex`` with leading '/' kept, made when first asked

    def named(self, n: Named, rooted: bool = False) -> bool:
        if rooted:
            if self._rooted is None:
                self._rooted = paths_regex(self.all, rooted=True)
            match = self._rooted.match
        else:
            match = self.regex.match
        if not any(match(name) is not None for name in n.names):
            return False
        if self._own is None or any(self._own.match(name) is not None for name in n.names):
            return True
        return not n.full  # matched by name or partial ARN alone: a full ARN with another suffix is another secret

    def scope(self, globs: Sequence[str], rooted: bool = False, excluded: Sequence[str] = ()) -> bool:
        """Whether some path of ``globs`` matches a pattern, but a path that ``excluded`` holds and that pattern,
        naming one path (no '*' or '+'), names alone."""
        return any(globs_meet(p, g, rooted) for p in self.all if not (excluded and _names_only(p, excluded))
                   for g in globs)

    def reached(self, r: Reach) -> tuple[list[str], bool]:
        """The named paths of ``r`` that match, and whether its scope does."""
        return ([n.shown for n in r.named if self.named(n, r.rooted)],
                bool(r.globs) and self.scope(r.globs, r.rooted, r.excluded))


def _names_only(pattern: str, globs: Sequence[str]) -> bool:
    """Whether ``pattern`` names one path (no '*', no '+' segment) and one of ``globs`` matches it."""
    if pattern.endswith("*") or "+" in pattern.split("/"):
        return False
    return any(vault_glob(g).match(pattern.lstrip("/")) is not None for g in globs)


# Kubernetes: verbs as the rules' operations; a list or watch returns the objects' data, so it is a read of each
K8S_COLLECTION_VERBS = frozenset({"list", "watch", "deletecollection"})
_K8S_OPS: dict[str, frozenset[str]] = {
    "get": frozenset({"read"}), "list": frozenset({"read", "list"}), "watch": frozenset({"read", "list"}),
    "create": frozenset({"create"}), "update": frozenset({"update"}), "patch": frozenset({"patch"}),
    "delete": frozenset({"delete"}), "deletecollection": frozenset({"delete"}),
}


_K8S_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")  # a DNS subdomain name, as objects are named


def _selector_terms(values: Sequence[str]) -> list[tuple[str, str, str]]:
    """fieldSelector terms as (key, operator, value)."""
    out = []
    for v in values:
        for term in v.split(","):
            m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", term)
            if m is not None:
                out.append((m.group(1), m.group(2), m.group(3)))
    return out


@functools.lru_cache(maxsize=4096)
def k8s_reach(uri: str, verb: str, created: str = "") -> Reach:
    """What a Kubernetes request reached, from its requestURI and verb: the object it names (``get``, a list or
    watch with ``fieldSelector=metadata.name=X``, the old ``/watch/.../NAME`` path, a create posted to the
    collection with ``created``, its objectRef.name), else, for a list, watch or deletecollection of a
    collection, every object of it in the namespace (or the cluster), or those a labelSelector or another field
    selector takes, which ones the log does not say."""
    from urllib.parse import parse_qs, unquote

    path, _, query = uri.partition("?")
    # requestURI is the URI as the client sent it; the API server routes on its percent-decoded path, split on "/"
    # with the slashes at either end trimmed (RequestInfoFactory): /api/v1/namespaces/prod/secrets/d%62 and
    # .../secrets/db/ read Secret db as .../secrets/db does (red team rt11: such a read was nobody's)
    segs = unquote(path, errors="replace").strip("/").split("/")
    n = 2 if segs[0] == "api" else 3 if segs[0] == "apis" else 0
    if n and len(segs) > n + 1 and segs[n] == "watch":  # the old watch paths: /api/v1/watch/namespaces/prod/...
        segs = segs[:n] + segs[n + 1 :]
    path = "/".join(segs)
    ops = _K8S_OPS.get(verb, frozenset())
    rest = segs[n:] if n else []
    ns = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if created and verb == "create" and len(rest) == 1 and rest[0]:
        return Reach(verb, ops, (Named(path + "/" + created, (path + "/" + created,)),))
    if verb not in K8S_COLLECTION_VERBS or len(rest) != 1 or not rest[0]:
        return Reach(verb, ops, (Named(path, (path,)),))
    resource = rest[0]
    params = parse_qs(query, keep_blank_values=True)
    terms = _selector_terms(params.get("fieldSelector", []))
    name = next((v for k, o, v in terms if k == "metadata.name" and o != "!=" and v), "")
    if not ns:
        ns = next((v for k, o, v in terms if k == "metadata.namespace" and o != "!=" and v), "")
    base = "/".join(segs[:n])
    if name and ns:
        own = f"{base}/namespaces/{ns}/{resource}/{name}"
        return Reach(verb, ops, (Named(own, (own,)),))
    if name:  # across the cluster by name (kubectl get -A --field-selector metadata.name=X): each namespace's X
        own = f"{base}/{resource}/{name}"  # (a resource of no namespace: the one object)
        return Reach(verb, ops, (Named(own, (own,)),), f"the {resource} named {name} in every namespace", path,
                     (f"{base}/namespaces/+/{resource}/{name}",))
    if ns:  # the collection's own path too: PATTERN may name it
        globs: tuple[str, ...] = (path, f"{base}/namespaces/{ns}/{resource}/+")
        where = f"namespace {ns}"
    else:
        globs = (path, f"{base}/{resource}/+", f"{base}/namespaces/+/{resource}", f"{base}/namespaces/+/{resource}/+")
        where = "the cluster"
    picks = [f"fieldSelector {k}{o}{v}" for k, o, v in terms if k not in ("metadata.namespace",)]
    picks += [f"labelSelector {v}" for v in params.get("labelSelector", []) if v]
    scope = (f"the {resource} in {where} matching {' and '.join(picks)}, which ones the log does not say" if picks
             else f"all {resource} in {where}")
    # (only a name an object can have: a '*' there names no object, and must exclude nothing)
    left_out = [v for k, o, v in terms if k == "metadata.name" and o == "!=" and _K8S_NAME.fullmatch(v)]
    excluded = tuple(f"{base}/namespaces/{ns}/{resource}/{v}" for v in left_out) if ns else tuple(
        g for v in left_out for g in (f"{base}/namespaces/+/{resource}/{v}", f"{base}/{resource}/{v}"))
    return Reach(verb, ops, (), scope, path, globs, excluded=excluded)


# AWS: Secrets Manager secrets and SSM parameters by every name they go by
_SM_ARN = re.compile(r"arn:([^:]*):secretsmanager:([^:]*):([^:]*):secret:(.+)\Z", re.DOTALL)
_SM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")  # a full ARN's random suffix, which names never end with
_SSM_ARN = re.compile(r"arn:([^:]*):ssm:([^:]*):([^:]*):parameter/?(.*)\Z", re.DOTALL)
_SSM_REF = "/aws/reference/secretsmanager/"  # Parameter Store handing out a Secrets Manager secret
_CT_OPS: dict[str, str] = {
    "GetSecretValue": "read", "BatchGetSecretValue": "read", "GetParameter": "read", "GetParameters": "read",
    "GetParametersByPath": "read", "GetParameterHistory": "read",
    "CreateSecret": "create", "PutSecretValue": "update", "UpdateSecret": "update", "RotateSecret": "update",
    "UpdateSecretVersionStage": "update", "PutParameter": "update", "LabelParameterVersion": "update",
    "DeleteSecret": "delete", "DeleteParameter": "delete", "DeleteParameters": "delete",
    "ListSecrets": "list", "ListSecretVersionIds": "list", "DescribeParameters": "list",
}
_VALUE_READS = frozenset({"GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"})
CLOUDTRAIL_SOURCES = frozenset({"secretsmanager.amazonaws.com", "ssm.amazonaws.com"})
CLOUDTRAIL_SOURCE_BYTES = tuple(s.encode() for s in sorted(CLOUDTRAIL_SOURCES))  # a raw record worth parsing


def _secret(sid: str, part: str, region: str, account: str) -> Named:
    """A Secrets Manager secret by its name, partial ARN and (when known) full ARN; shown as its partial ARN when
    the region and account are known (one secret, one path, however the caller named it)."""
    m = _SM_ARN.match(sid)
    full = ""
    if m is not None:
        part, region, account, name = m.group(1), m.group(2), m.group(3), m.group(4)
        if _SM_SUFFIX.search(name):
            full, name = sid, _SM_SUFFIX.sub("", name)
    else:
        name = sid
    arn = f"arn:{part}:secretsmanager:{region}:{account}:secret:{name}" if region and account else ""
    return Named(arn or name, tuple(x for x in (name, arn, full) if x), (full,) if full else ())


def _parameter(raw: str, part: str, region: str, account: str) -> Named:
    """An SSM parameter by its name (without a ``:version`` or ``:label`` selector) and ARN; a reference to a
    Secrets Manager secret (``/aws/reference/secretsmanager/ID``) is that secret."""
    m = _SSM_ARN.match(raw)
    if m is not None:
        part, region, account, name = m.group(1), m.group(2), m.group(3), "/" + m.group(4)
    else:
        name = raw
    if name.startswith(_SSM_REF):
        return _secret(name[len(_SSM_REF):], part, region, account)
    name = name.split(":", 1)[0]
    arn = f"arn:{part}:ssm:{region}:{account}:parameter/{name.lstrip('/')}" if region and account else ""
    return Named(name, tuple(x for x in (name, arn) if x))  # a hierarchy's name with its leading '/' (Reach.rooted)


def _strs_of(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v] if v else []
    return [x for x in v if isinstance(x, str) and x] if isinstance(v, list) else []


def cloudtrail_reach(doc: dict[str, Any]) -> Optional[Reach]:
    """What a Secrets Manager or SSM Parameter Store record reached: the secrets or parameters it names (a
    ``secretId``, a ``secretIdList``, the secrets a BatchGetSecretValue's response names, ``name``/``names``), or
    the ones a BatchGetSecretValue's ``filters`` or a GetParametersByPath's ``path`` take in. None for a record of
    another service (a KMS Decrypt reveals no secret by itself)."""
    source = doc.get("eventSource")
    if source not in CLOUDTRAIL_SOURCES:
        return None
    def text(d: dict[str, Any], k: str) -> str:
        v = d.get(k)
        return v if isinstance(v, str) else ""

    def obj(d: dict[str, Any], k: str) -> dict[str, Any]:
        v = d.get(k)
        return v if isinstance(v, dict) else {}

    event, region = text(doc, "eventName"), text(doc, "awsRegion")
    params, ident = obj(doc, "requestParameters"), obj(doc, "userIdentity")
    account = text(doc, "recipientAccountId") or text(ident, "accountId")
    arn = text(ident, "arn")
    part = arn.split(":")[1] if arn.startswith("arn:") and arn.count(":") > 1 else "aws"
    ops = frozenset({_CT_OPS[event]}) if event in _CT_OPS else frozenset()
    op = event + (" withDecryption" if event in _VALUE_READS and params.get("withDecryption") is True else "")
    named: dict[str, Named] = {}
    if source == "secretsmanager.amazonaws.com":
        ids = _strs_of(params.get("secretId")) + _strs_of(params.get("secretIdList"))
        resp = doc.get("responseElements")
        for v in (resp.get("secretValues") if isinstance(resp, dict) else None) or []:
            if isinstance(v, dict):
                ids += _strs_of(v.get("aRN") or v.get("arn") or v.get("name"))
        for r in doc.get("resources") or []:
            if isinstance(r, dict) and isinstance(r.get("ARN"), str) and _SM_ARN.match(r["ARN"]):
                ids.append(r["ARN"])
        for sid in ids:
            s = _secret(sid, part, region, account)
            if s.shown in named:
                was = named[s.shown]
                s = Named(s.shown, tuple(dict.fromkeys((*was.names, *s.names))),
                          tuple(dict.fromkeys((*was.full, *s.full))))
            named[s.shown] = s
        filters = params.get("filters")
        if not named and event == "BatchGetSecretValue" and isinstance(filters, list) and filters:
            said: list[str] = []
            globs: list[str] = []
            only_names = True
            for f in filters:
                key = f.get("key") if isinstance(f, dict) else None
                values = _strs_of(f.get("values")) if isinstance(f, dict) else []
                said.append(f"{key}={','.join(values)}")
                if key != "name" or any(v.startswith("!") for v in values):
                    only_names = False
                else:
                    for v in values:
                        globs += [v + "*", f"arn:{part}:secretsmanager:{region}:{account}:secret:{v}*"]
            what = "; ".join(said)
            return Reach(op, ops, (), f"every secret matching the filters {what}, which ones the log does not say",
                         f"filters {what}", tuple(globs) if only_names and globs else ("*",), rooted=True)
    else:
        for raw in _strs_of(params.get("name")) + _strs_of(params.get("names")):
            p = _parameter(raw, part, region, account)
            named.setdefault(p.shown, p)
        path = params.get("path")
        if event == "GetParametersByPath" and isinstance(path, str) and path:
            deep = params.get("recursive") is True
            base = path.strip("/")
            tail = "*" if deep else "+"
            # (a hierarchy's parameters are named from its root: /prod/db, never prod/db)
            under = (f"/{base}/{tail}" if base else f"/{tail}",
                     f"arn:{part}:ssm:{region}:{account}:parameter/{base + '/' if base else ''}{tail}")
            scope = f"every parameter under {path}" + (" and below" if deep else " (one level)")
            return Reach(op, ops, (), scope, path, under, rooted=True)
    if not named:
        return None
    return Reach(op, ops, tuple(named.values()), rooted=True)


@dataclass(frozen=True)
class Who:
    """Who made a request, as a Vault/OpenBao entry says: display name, entity id, token accessor (as logged: an
    HMAC digest unless the device logs accessors in clear), the token's policies, the policies that granted the
    request, the source address, and whether the vault refused it."""

    display_name: str = ""
    entity_id: str = ""
    accessor: str = ""
    policies: tuple[str, ...] = ()
    granting: tuple[str, ...] = ()
    remote_address: str = ""
    refused: bool = False
    client_token: str = ""  # as logged: an HMAC digest

    @property
    def name(self) -> str:
        return vault_identity(self.display_name, self.entity_id, self.accessor) or "no identity (no token)"


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


def line_object(raw: bytes, prefix: str = "") -> Optional[dict[str, Any]]:
    """One raw Vault/OpenBao line as its JSON object (with or without the device ``prefix``, after any framing
    before the first "{"); None when the line holds no JSON object."""
    import orjson

    pre = prefix.encode("utf-8")
    if pre and raw.startswith(pre):
        raw = raw[len(pre) :]
    start = raw.find(b"{")
    if start < 0:
        return None
    try:
        data = orjson.loads(raw[start:])
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def who(raw: bytes, prefix: str = "") -> Optional[Who]:
    """Who made the request of one raw Vault/OpenBao line (with or without the device ``prefix``); None when the
    line holds no JSON object."""
    data = line_object(raw, prefix)
    return who_of(data) if data is not None else None


def who_of(data: dict[str, Any]) -> Who:
    """Who made the request of one Vault/OpenBao entry, parsed (``line_object``)."""
    auth: dict[str, Any] = data["auth"] if isinstance(data.get("auth"), dict) else {}
    req: dict[str, Any] = data["request"] if isinstance(data.get("request"), dict) else {}

    def text(d: Any, k: str) -> str:
        v = d.get(k)
        return v if isinstance(v, str) else ""

    pols: list[str] = []
    for k in ("policies", "token_policies", "identity_policies"):
        for p in _strs(auth.get(k)):
            if p not in pols:
                pols.append(p)
    results: dict[str, Any] = auth["policy_results"] if isinstance(auth.get("policy_results"), dict) else {}
    grants = results.get("granting_policies")
    granting = tuple(str(g["name"]) for g in (grants if isinstance(grants, list) else ())
                     if isinstance(g, dict) and isinstance(g.get("name"), str))
    refused = bool(text(data, "error")) or results.get("allowed") is False
    return Who(text(auth, "display_name"), text(auth, "entity_id"), text(auth, "accessor"), tuple(pols), granting,
               text(req, "remote_address"), refused, text(auth, "client_token"))


def unwrapped_by(w: Who, wraps: Container[str]) -> Who:
    """Who an unwrap of a wrapped response delivered it to: its sender, but for one sent with the wrapping token
    itself (as X-Vault-Token), whose entry carries the token's creator's name: whoever held the token, not its
    creator (a holder no rule names). Refused, such an entry names no one: ``w`` as it is."""
    if (w.display_name or w.entity_id) and (w.client_token in wraps or w.accessor in wraps or _wrapping(w)):
        return dataclasses.replace(w, display_name=f"holder of a wrapping token from {w.display_name or w.entity_id}",
                                   entity_id="")
    return w


def _wrapping(w: Who) -> bool:
    """Whether ``w`` sent the request with a response-wrapping token itself: its only policy is
    "response-wrapping" (OpenBao writes the token's creator's name beside it: red team rt35, F2)."""
    return w.policies == ("response-wrapping",)


def holder(w: Who) -> Who:
    """``w``, named as the holder of a wrapping token when it sent the request with one (``unwrapped_by``)."""
    return unwrapped_by(w, ()) if _wrapping(w) else w


class RawLines:
    """The raw text of the lines of the block being fed (``Visitor.block`` comes before the entries of the same
    lines), so that a check can read a field the canonical ones leave out."""

    def __init__(self) -> None:
        self.file = ""
        self.first = 0
        self.data = b""
        self._lines: Optional[list[bytes]] = None

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.file, self.first, self.data, self._lines = file, first_line, data, None

    def __getstate__(self) -> dict[str, object]:
        """Pickled (a part's state sent to the merging process): empty. The block is the log's raw text, secrets
        and all; it only serves the entries of the same block, in the process that read it."""
        return {"file": "", "first": 0, "data": b"", "_lines": None}

    def get(self, file: str, line: int) -> Optional[bytes]:
        if file != self.file:
            return None
        if self._lines is None:
            self._lines = self.data.split(b"\n")
        i = line - self.first
        if not 0 <= i < len(self._lines):
            return None
        raw = self._lines[i]
        return raw[:-1] if raw.endswith(b"\r") else raw


def k8s_user(raw: Optional[bytes], user: str) -> str:
    """``user``, or "<user> as <impersonated user>" when the request was made with impersonation (Kubernetes
    authorizes it as the impersonated user; the one who sent it is ``user``)."""
    if raw is None or b'"impersonatedUser"' not in raw:
        return user
    doc = line_object(raw)
    imp = doc.get("impersonatedUser") if doc is not None else None
    name = imp.get("username") if isinstance(imp, dict) else None
    return f"{user} as {name}" if isinstance(name, str) and name else user


def k8s_created(raw: Optional[bytes], verb: str) -> str:
    """The objectRef.name of a Kubernetes create (posted to the collection, so its URI names no object)."""
    if verb != "create" or raw is None or b'"objectRef"' not in raw:
        return ""
    doc = line_object(raw)
    ref = doc.get("objectRef") if doc is not None else None
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) and "/" not in name else ""


AGAIN, HELD, COUNT = 0, 1, 2  # what ``k8s_once`` says of a Kubernetes event


def k8s_once(counted: dict[str, None], held: dict[str, Any], rid: str, stage: str, row: Any) -> tuple[int, Any]:
    """Kubernetes: a request is counted once, by its auditID, at its last stage. AGAIN: an event of a request
    already counted (a stage logged twice, a log read twice); HELD: an event of a stage before the last
    (``K8S_HELD``), kept in ``held`` as ``row`` until a later stage of the request comes (or the end counts it
    alone), with the row it replaces (None if none); COUNT: count it now, with the row it held (None if none).
    ``counted`` remembers the last K8S_IDS auditIDs counted."""
    if rid and rid in counted:
        return AGAIN, None
    if stage in K8S_HELD:
        was = held.get(rid)
        held[rid] = row
        return HELD, was
    was = held.pop(rid, None)
    if rid:
        if len(counted) >= K8S_IDS:
            counted.pop(next(iter(counted)))
        counted[rid] = None
    return COUNT, was


def _allowed(rule: "AccessRule", w: Who, sender: str = "") -> bool:
    """Whether ``w`` is allowed by ``rule``: an identity glob matches its display name, its entity id, its token
    accessor as logged (an HMAC digest, or the accessor where the device logs it in clear) or (a Kubernetes
    request made with impersonation) the user who sent it, or it holds an allowed policy."""
    for g in rule.identities:
        if any(v and fnmatch.fnmatchcase(v, g) for v in (w.display_name, w.entity_id, w.accessor, sender)):
            return True
    return any(p in rule.policies for p in w.policies)


# A display name the token store wrote (openbao internal/vault/token_store.go, handleCreateCommon; Vault's is the
# same): "token" for a token made with auth/token/create (or create-orphan, or a role's create/<role>) without a
# display_name, else "token-" and the name its creator gave, every character but letters, digits and "-" made "-"
# and a trailing "-" cut. Whoever may call those paths picks it (`bao token create -display-name=ci-deploy` is
# logged as "token-ci-deploy"): it says what the creator called the token, not who made a request with it. A login's
# is "<auth mount path>-<user>" ("userpass-alice"), the vault's own composition (a mount whose path begins "token-" is
# taken for the token store's: its tokens have an entity, which a rule names instead).
def chosen_name(display_name: str) -> bool:
    """Whether ``display_name`` is one the token store wrote from what the token's creator gave (or "token": none)."""
    return display_name == "token" or display_name.startswith("token-")


YES, BY_NAME = "yes", "by name"  # how a rule allows a request (``grant``); "" when it does not


def grant(rule: "AccessRule", w: Who) -> str:
    """How ``rule`` allows a Vault/OpenBao request by ``w``: YES (an identity glob matches its entity id, its token
    accessor as logged, or a display name the vault composed; or it holds an allowed policy), BY_NAME (a glob
    matches only a display name the token's creator chose, ``chosen_name``), or "" (not at all). ``Rules._hold``
    says what BY_NAME is worth: nothing when the entry names an entity (the entity made the request; a child token
    inherits its parent's, token_store.go "inherit the parent's entity identifier"), nor on a token the log (any file
    of a set of them) shows an entity made without one (an orphan: ``Rules.minted``); the creator's word otherwise."""
    by_name = False
    for g in rule.identities:
        if any(v and fnmatch.fnmatchcase(v, g) for v in (w.entity_id, w.accessor)):
            return YES
        if w.display_name and fnmatch.fnmatchcase(w.display_name, g):
            if not chosen_name(w.display_name):
                return YES
            by_name = True
    if any(p in rule.policies for p in w.policies):
        return YES
    return BY_NAME if by_name else ""


# The token store's create paths (auth/token/create, create-orphan, create/<role>): the response entry of one names the
# token it made (response.auth: its digest, its accessor's, its entity) beside the caller (auth)
TOKEN_CREATE = re.compile(r"(?:.*/)?auth/token/create(?:-orphan|/[^/]+)?\Z", re.DOTALL)


def describe_rule(rule: "AccessRule") -> str:
    allowed = []
    if rule.identities:
        allowed.append("identities " + ", ".join(rule.identities))
    if rule.policies:
        allowed.append("policies " + ", ".join(rule.policies))
    return (f"rule {rule.name!r} (paths {', '.join(rule.paths)}; operations {', '.join(rule.operations)}; allows "
            + (" or ".join(allowed) if allowed else "nobody") + ")")


@dataclass
class _Compiled:
    rule: "AccessRule"
    paths: "re.Pattern[str]"
    ops: frozenset[str] = field(default_factory=frozenset)


class Rules(Visitor):
    """Judges the request entries on covered paths; counts the others as excused, by rule. A Kubernetes or
    CloudTrail request is judged by what it reached (``k8s_reach``, ``cloudtrail_reach``): a list of a namespace's
    secrets reached each of them, so it is judged as a read of each by every rule on one of them."""

    def __init__(self, ctx: CheckContext) -> None:
        self.rules = [_Compiled(r, paths_regex(r.paths), frozenset(r.operations)) for r in ctx.settings.access]
        self.all_paths = [p for r in ctx.settings.access for p in r.paths]
        self.any_path = paths_regex(self.all_paths) if self.rules else None
        self.ops = frozenset(o for r in ctx.settings.access for o in r.operations)
        self.fmt = format_of(ctx.settings).name
        self.vault = self.fmt == "vault"
        self.other = self.fmt in ("k8s", "cloudtrail")
        self.matchers = [PathMatch(r.paths) for r in ctx.settings.access] if self.other else []
        # Kubernetes: requests seen at RequestReceived and at no later stage yet (judged at ``finish`` unless their
        # last stage comes), and the auditIDs judged (the oldest forgotten first)
        self.pending: dict[str, tuple[Record, str, str, Reach]] = {}
        self.judged: dict[str, None] = {}
        self.prefix = ctx.settings.log_prefix
        self.raw = RawLines()
        # what the reasons and fixes name: the rules' tables as the file of settings read writes them
        self.table, self.no_rules = ctx.settings.rules_table, no_rules(ctx.settings)
        self.findings: list[Finding] = []
        self.more = 0
        self.covered = self.refused = self.uncovered = 0
        self.nothing = 0  # requests let through whose response says they returned nothing (``vault_returned``)
        # of those, the ones whose response only held no answer (``EMPTY``), as taken back (finding, broke, named),
        # given back at ``finish`` where no covered read of the file showed an answer (``answered_somewhere``)
        self.emptied: list[tuple[Optional[Finding], bool, tuple[int, ...]]] = []
        self.answers = 0  # 1 once a response entry of the file holds data (``answers_in``)
        # Vault requests let through and held to the rules, by request id, until their response entry says what
        # they returned (``_answered``): [the finding they made (None: none, or one past _MAX), whether they broke
        # a rule, the rules that named them]; and the response entries of this range that said a request returned
        # nothing whose request entry is not in it (an earlier range's: ``merge``), by request id -> how
        self.open: dict[str, tuple[Optional[Finding], bool, tuple[int, ...]]] = {}
        self.unanswered: dict[str, str] = {}
        self.named = [0] * len(self.rules)  # requests each rule named (let through or refused)
        # Response wrapping: whoever unwraps a wrapped response gets what the request read. Wrapping token (and
        # accessor) digests of covered responses -> (path, operation); unwraps of tokens not (yet) known here,
        # held for ``merge`` (a range's unwrap of a token an earlier range wrapped)
        self.wraps: dict[str, tuple[str, str]] = {}
        self.held: list[tuple[Record, Who, tuple[str, ...]]] = []
        # rewraps of tokens not (yet) known here, as (the old token's digest, the new token's and accessor's): the
        # wrap may be in an earlier range or file (red team rt94 F1: wrap before a rotation, rewrap and unwrap after)
        self.rewraps: list[tuple[str, tuple[str, ...]]] = []
        # Display names a token's creator chose (``grant``'s BY_NAME). Tokens this log shows made without an entity by
        # a caller with one (an orphan: create-orphan, an orphan token role, no_parent), or down a chain from such a
        # token, by their digests (token and accessor) -> (that entity, where it made the first); the creations by a
        # caller without an entity that this range cannot place, (the caller's digests, the token's, where), for
        # ``merge`` (the caller's token may have been made in a range before); the requests let through only by such
        # a name on a token without an entity, by request id -> (record, who, the rule's index, the rules that
        # named it), which ``merge`` judges again against the tokens made in the ranges before, ``finish`` against
        # the whole file's and ``resolve_makers`` against the set's other files'; and their count.
        self.minted: dict[str, tuple[str, str]] = {}
        self.mints: list[Mint] = []
        self.chosen: dict[str, tuple[Record, Who, int, tuple[int, ...]]] = {}
        self.trusted = 0
        # A live run: the vault's HMACs of the run's own tokens, the audit token's ("token:admin") and the scenario
        # identities' (``EXCUSE_OWN``)
        self.own: frozenset[str] = frozenset()
        self.live = ctx.ledger is not None  # a live run: the log of the run's window, not the vault's history
        files = ctx.set_size
        self.in_set = files if files > 1 else 0  # the files of a run of several
        facts = ctx.facts
        if ctx.ledger is not None and facts is not None and facts.device:
            made = facts.digests.get(facts.device, {})
            self.own = frozenset(d for name, d in made.items() if name.startswith("token:"))

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.raw.block(file, first_line, data)
        if not self.answers and self.vault:
            self.answers = answers_in(data)

    @classmethod
    def splits(cls, ctx: CheckContext) -> bool:
        """A Kubernetes log held to rules is read whole: a request's stages may fall in two ranges."""
        return not (ctx.settings.access and format_of(ctx.settings).name == "k8s")

    def entry(self, rec: Record) -> None:
        if self.any_path is not None and self.other:
            self._other(rec)
            return
        if self.any_path is None or not self.vault:
            return
        if rec.type != "request":
            self.excuse(EXCUSE_RESPONSE)
            if rec.type == "response" and "auth/token/create" in rec.resource:
                self._mint(rec)
            if rec.type == "response" and self._wraps_kept(rec.resource, rec.action, rec.secret):
                self._response(rec, rec.secret)
            if rec.type == "response" and (rec.request_id in self.open or self._covers(
                    self.any_path, self.all_paths, rec.secret, rec.action)):
                self._answered(rec)
        elif rec.resource == UNWRAP and self._unwrap(rec):
            return
        elif not self._covers(self.any_path, self.all_paths, rec.secret, rec.action):
            self.uncovered += 1
        else:
            self._judge(rec)

    def entries(self, batch: Entries) -> None:
        if self.any_path is not None and self.other:
            for i in range(len(batch)):
                self._other(batch.record(i))
            return
        if self.any_path is None or not self.vault:
            return
        covered, ops = self.any_path, self.ops
        responses = 0
        scope = batch.scope
        for i, (t, path, op) in enumerate(zip(batch.type, batch.resource, batch.action)):
            if t != "request":
                responses += 1
                if t == "response" and "auth/token/create" in path:
                    self._mint(batch.record(i))
                if t == "response" and self._wraps_kept(path, op, batch.secret(i)):
                    self._response(batch.record(i), batch.secret(i))
                if t == "response" and (batch.request_id[i] in self.open or (rule_operation(op) in ops and self._covers(
                        covered, self.all_paths, path if scope is None else in_scope(scope[i], path), op))):
                    self._answered(batch.record(i))
            elif path == UNWRAP and self._unwrap(batch.record(i)):
                continue
            elif rule_operation(op) not in ops or not self._covers(
                    covered, self.all_paths, path if scope is None else in_scope(scope[i], path), op):
                self.uncovered += 1
            else:
                self._judge(batch.record(i))
        if responses:
            self.excuse(EXCUSE_RESPONSE, responses)

    def _answered(self, rec: Record) -> None:
        """The response entry of a request on a covered path: when it says the request returned nothing
        (``vault_returned``: an error, a 404 of a missing secret or version), the request, let through and held to
        the rules at its request entry, accessed nothing, as one the vault refused (red team rt94 F3); one on a
        path of none of a KV version 2 mount's endpoints (its raw 404 "Invalid path") named no secret, and no rule
        named it (a rule written so names no secret either: rt94 F9). Its request entry may be in an earlier range
        (``unanswered``, settled at ``merge``)."""
        rid = rec.request_id
        if not rid:
            return
        raw = self.raw.get(rec.file, rec.line)
        how = vault_returned(line_object(raw, self.prefix), rec.action) if raw is not None else RETURNED
        if rid in self.open:
            if how:
                self._retract(rid, how)
            else:
                del self.open[rid]
        elif how and len(self.unanswered) < WRAPS:
            self.unanswered[rid] = how

    def _retract(self, rid: str, how: str) -> None:
        """Take back the judgment of the request ``rid`` let through (``open``): it returned nothing (``how``)."""
        finding, broke, named = self.open.pop(rid)
        if self.chosen.pop(rid, None) is not None:  # let through by a chosen name: it accessed nothing
            self.trusted -= 1
        if how == EMPTY:
            self.emptied.append((finding, broke, named))
        self.covered -= 1
        if how == NO_SECRET:
            self.uncovered += 1
            for i in named:
                self.named[i] -= 1
        else:
            self.nothing += 1
        if broke:
            if finding is not None and any(f is finding for f in self.findings):
                self.findings = [f for f in self.findings if f is not finding]
            elif self.more:
                self.more -= 1

    def _wraps_kept(self, resource: str, action: str, secret: str) -> bool:
        """Whether a response entry's wrapping token is kept (``_response``): a rewrap's, or a covered request's."""
        return resource == REWRAP or (rule_operation(action) in self.ops and self.any_path is not None
                                      and path_matches(self.any_path, secret, action))

    def _response(self, rec: Record, secret: str) -> None:
        """Keep the wrapping token digests of a covered response that was wrapped (or of a rewrap of one)."""
        raw = self.raw.get(rec.file, rec.line)
        if raw is None or b'"wrap_info"' not in raw:
            return
        doc = line_object(raw, self.prefix)
        resp = doc.get("response") if doc is not None else None
        info = resp.get("wrap_info") if isinstance(resp, dict) else None
        if doc is None or not isinstance(resp, dict) or not isinstance(info, dict):
            return
        target = (secret, rec.action)
        req = doc.get("request")
        kind = resp.get("mount_type") or (req.get("mount_type") if isinstance(req, dict) else None)
        if no_value(rec.action, kind):  # its answer is version metadata: no value, no write
            target = (secret, NO_VALUE + rec.action)
        new = tuple(v for v in (info.get("token"), info.get("accessor")) if isinstance(v, str) and v)
        if rec.resource == REWRAP:  # the new token wraps what the old one did
            req = doc.get("request")
            data = req.get("data") if isinstance(req, dict) else None
            old = data.get("token") if isinstance(data, dict) else None
            if not isinstance(old, str) or not old:
                return
            if old not in self.wraps:
                if len(self.rewraps) < _HELD_UNWRAPS:
                    self.rewraps.append((old, new))
                return
            target = self.wraps[old]
        self._wrapped(new, target)

    def _wrapped(self, tokens: Sequence[str], target: tuple[str, str]) -> None:
        """Keep ``tokens`` (a wrapping token's digests) as wrapping ``target``; then the held rewraps of them."""
        for v in tokens:
            put_bounded(self.wraps, v, target)
        if self.rewraps and any(old in tokens for old, _ in self.rewraps):
            self._rewrapped()

    def _rewrapped(self) -> None:
        """The held rewraps whose old token is now known wrap what it did (a chain of them, in any order)."""
        while True:
            ready = [(old, new) for old, new in self.rewraps if old in self.wraps]
            if not ready:
                return
            self.rewraps = [r for r in self.rewraps if r[0] not in self.wraps]
            for old, new in ready:
                target = self.wraps[old]
                for v in new:
                    put_bounded(self.wraps, v, target)

    def _unwrap(self, rec: Record) -> bool:
        """Judge an unwrap of a token a covered response wrapped as that response's operation on its path, by
        whoever unwrapped it; True when it was (or is held for the merge: it is judged, or counted, there)."""
        raw = self.raw.get(rec.file, rec.line)
        doc = line_object(raw, self.prefix) if raw is not None else None
        if doc is None:
            return False
        req = doc.get("request")
        data = req.get("data") if isinstance(req, dict) else None
        auth = doc.get("auth")
        keys = tuple(v for v in ((data.get("token") if isinstance(data, dict) else None),
                                 *((auth.get("client_token"), auth.get("accessor")) if isinstance(auth, dict)
                                   else ())) if isinstance(v, str) and v)
        w = who_of(doc)
        target = next((self.wraps[k] for k in keys if k in self.wraps), None)
        if target is None:
            if keys and len(self.held) < _HELD_UNWRAPS:
                self.held.append((rec, w, keys))
                return True
            return False
        self._judge_unwrap(rec, w, target)
        return True

    def resolve(self, wraps: Mapping[str, tuple[str, str]]) -> None:
        """Judge the held unwraps whose token one of ``wraps`` (another file's: ``engine.files``) wrapped."""
        self.wraps.update(wraps)
        self._rewrapped()
        left = []
        for rec, w, keys in self.held:
            target = next((self.wraps[k] for k in keys if k in self.wraps), None)
            if target is None:
                left.append((rec, w, keys))
            else:
                self._judge_unwrap(rec, w, target)
        self.held = left

    def _judge_unwrap(self, rec: Record, w: Who, target: tuple[str, str]) -> None:
        """An unwrap, judged as what it received (red team rt94 F8): the wrapped response of ``target``'s
        operation on its path; of a KV write (``NO_VALUE``), version metadata, which is no value of the path and no
        write by the unwrapper (the write was done, and authorised, for the requester when it was made), so no
        rule's operation names it."""
        path, op = target
        if op.startswith(NO_VALUE):
            self.uncovered += 1
            return
        self._hold(rec, unwrapped_by(w, self.wraps), path, op, f"unwrap of a response-wrapped {op} of {path}")

    def _covers(self, regex: "re.Pattern[str]", patterns: Sequence[str], path: str, operation: str) -> bool:
        """Whether rules of ``patterns`` (as ``regex``) name a request on ``path`` (operations aside); every rule
        names one on sys/raw (``RAW``), which reaches every secret."""
        if RAW.fullmatch(path) is not None:
            return rule_operation(operation) in self.ops
        if operation == SCAN:
            return "list" in self.ops and scan_reaches(patterns, regex, path)
        return operation in self.ops and path_matches(regex, path, operation)

    def _judge(self, rec: Record, known: Optional[Who] = None) -> None:
        """A request on a covered path with a covered operation (``known``: who made it, when already read)."""
        raw = self.raw.get(rec.file, rec.line) if known is None else None
        w = known or (who(raw, self.prefix) if raw is not None else None)
        if w is None:
            w = Who(display_name=rec.identity)
        if w.client_token and w.client_token in self.own:
            self.excuse(EXCUSE_OWN)
            return
        if (self.vault and rec.resource == "sys/audit/test" and rec.action == "update" and not rec.identity
                and not w.client_token and not w.accessor):
            self.excuse(EXCUSE_SELF_TEST)
            return
        self._hold(rec, w, rec.secret, rec.action)

    def _hold(self, rec: Record, w: Who, path: str, action: str, what: str = "") -> None:
        """Hold the request of ``rec`` by ``w`` (``action`` on ``path``) to every rule that names it: counted as
        covered, refused by the vault, or named by no rule; a finding for the first rule it breaks (``what``: how
        the finding names the request, when not as logged)."""
        refused = w.refused or rec.result.startswith("error:")
        broken: Optional["AccessRule"] = None
        named: list[int] = []
        by_name = why = ""  # a rule's match on a display name the token's creator chose (``grant``), and its worth
        trusted = -1  # the first rule that let it through on that name alone, the creator's word (no entity)
        op = rule_operation(action)
        for i, c in enumerate(self.rules):
            if op in c.ops and self._covers(c.paths, c.rule.paths, path, action):
                named.append(i)
                self.named[i] += 1
                if broken is not None or refused:
                    continue
                how = grant(c.rule, w)
                if how == BY_NAME:
                    why = self._chooser(w)
                    if not why:  # a token without an entity whose maker the log does not show: its creator's word
                        trusted = i if trusted < 0 else trusted
                        continue
                    by_name = w.display_name
                if how != YES:
                    broken = c.rule
        if not named:
            self.uncovered += 1
        elif refused:
            self.refused += 1  # the vault enforced it: nothing was accessed
        else:
            self.covered += 1
            finding = (self._violation(rec, broken, w, vault_what=what, by_name=by_name, why=why)
                       if broken is not None else None)
            if broken is None and trusted >= 0:
                self.trusted += 1
                if rec.request_id and len(self.chosen) < WRAPS:  # judged again at ``merge``
                    self.chosen[rec.request_id] = (rec, w, trusted, tuple(named))
            if rec.type == "request" and rec.request_id:  # until its response says what it returned
                put_bounded(self.open, rec.request_id, (finding, broken is not None, tuple(named)))

    def _chooser(self, w: Who) -> str:
        """Who chose the display name of ``w``'s token, as far as the log tells: its entity (a token inherits its
        parent's: the entity made the request), or the entity this log shows made it without one (``minted``); ""
        when neither is known (a token made by one without an entity, root's; or made outside this log)."""
        if w.entity_id:
            return (f"the entity {w.entity_id} made the request (a token made with auth/token/create, not as an "
                    "orphan, keeps its parent's entity)")
        for d in (w.client_token, w.accessor):
            if d and d in self.minted:
                entity, where = self.minted[d]
                return (f"the token has no entity, but this log shows it made by entity {entity} ({where}) as a token "
                        "without one (auth/token/create-orphan, an orphan token role, or down a chain from such a "
                        "token), so it is that entity's")
        return ""

    def _mint(self, rec: Record) -> None:
        """The response entry of a token store create (``TOKEN_CREATE``): a token made without an entity by a caller
        with one, or by a token ``minted`` already, is that entity's (``minted``); one made by another caller without
        an entity is kept for ``merge`` (``mints``). A token made with an entity is judged by it."""
        if TOKEN_CREATE.match(rec.resource) is None:
            return
        raw = self.raw.get(rec.file, rec.line)
        doc = line_object(raw, self.prefix) if raw is not None else None
        resp = doc.get("response") if doc is not None else None
        made = resp.get("auth") if isinstance(resp, dict) else None
        if doc is None or not isinstance(made, dict) or made.get("entity_id"):
            return
        child = tuple(v for v in (made.get("client_token"), made.get("accessor")) if isinstance(v, str) and v)
        if not child:
            return
        maker = who_of(doc)
        origin = (maker.entity_id, f"line {rec.line}") if maker.entity_id else next(
            (self.minted[d] for d in (maker.client_token, maker.accessor) if d and d in self.minted), None)
        if origin is not None:
            for d in child:
                put_bounded(self.minted, d, origin)
            return
        creator = tuple(d for d in (maker.client_token, maker.accessor) if d)
        if creator and len(self.mints) < _HELD_UNWRAPS:
            self.mints.append((creator, child, f"line {rec.line}"))

    def _placed(self, mints: Sequence[Mint]) -> list[Mint]:
        """Add to ``minted`` the tokens of ``mints`` made by one ``minted`` holds (a chain of them, in any order); the
        rest. Each creation is looked at once, by an index of them by their creator's digests: a set's files may
        bring many (``resolve_makers``)."""
        by_creator: dict[str, list[int]] = {}
        for i, (creator, _child, _where) in enumerate(mints):
            for d in creator:
                by_creator.setdefault(d, []).append(i)
        todo = [d for d in by_creator if d in self.minted]
        placed: set[int] = set()
        while todo:
            d = todo.pop()
            origin = self.minted.get(d)
            if origin is None:  # (forgotten to make room: another of its digests may place it)
                continue
            for i in by_creator.get(d, ()):
                if i in placed:
                    continue
                placed.add(i)
                for c in mints[i][1]:
                    put_bounded(self.minted, c, origin)
                    if c in by_creator:
                        todo.append(c)
        return [m for i, m in enumerate(mints) if i not in placed]

    def resolve_makers(self, minted: Mapping[str, tuple[str, str]], mints: Sequence[Mint]) -> None:
        """Judge again the requests let through only by a display name their token's creator chose (``chosen``)
        against what the set's other files show (``engine.files``): the tokens made there without an entity by one
        (``minted``, each where naming its file) and the creations they could not place (``mints``), so that a
        chain through several files, read in any order, leads to its entity. Only what leads to a held request's
        token is taken in (``minted`` stays bounded)."""
        if not self.chosen:
            return
        every = [*self.mints, *mints]
        made_by: dict[str, list[int]] = {}  # a token's digest -> the creations that made it
        for i, (_creator, child, _where) in enumerate(every):
            for d in child:
                made_by.setdefault(d, []).append(i)
        wanted = {d for _rec, w, _i, _named in self.chosen.values() for d in (w.client_token, w.accessor) if d}
        todo = list(wanted)
        useful: set[int] = set()
        while todo:
            d = todo.pop()
            if d in self.minted or d in minted:
                continue  # its entity is known: nothing before it is needed
            for i in made_by.get(d, ()):
                if i in useful:
                    continue
                useful.add(i)
                for c in every[i][0]:
                    if c not in wanted:
                        wanted.add(c)
                        todo.append(c)
        for d in wanted:
            if d in minted and d not in self.minted:
                put_bounded(self.minted, d, minted[d])
        self._placed([every[i] for i in sorted(useful)])
        self._chosen_all()

    def _chosen_all(self) -> None:
        """Every request held in ``chosen`` judged again against the tokens ``minted`` holds now (its own held
        creations placed first): a token's maker may be logged after its use (ranges or files read in another
        order, lines out of order), and the order of reading never turns a finding into a pass."""
        if not self.chosen:
            return
        self.mints = self._placed(self.mints)
        for rid in list(self.chosen):
            self._chosen_again(rid)

    def _other(self, rec: Record) -> None:
        """A Kubernetes event or a CloudTrail record: judged by what its request reached, once a request."""
        raw = self.raw.get(rec.file, rec.line)
        user = rec.identity
        if self.fmt == "k8s":
            if rec.type not in _K8S_JUDGED:
                self.excuse(EXCUSE_STAGE)
                return
            reach = k8s_reach(rec.resource, rec.action, k8s_created(raw, rec.action))
            if not reach.rule_ops & self.ops:
                self.uncovered += 1
                return
            name = k8s_user(raw, user)
            said, was = k8s_once(self.judged, self.pending, rec.request_id, rec.type, (rec, name, user, reach))
            if said == HELD:
                if was is not None:
                    self.excuse(EXCUSE_STAGE)  # its RequestReceived event, held until its ResponseStarted came
                return
            if said == AGAIN or was is not None:
                self.excuse(EXCUSE_STAGE)  # the same request's event again, or its RequestReceived held until now
                if said == AGAIN:
                    return
            self._judge_other(rec, reach, name, user, k8s_failed(rec.result, rec.action))
            return
        doc = line_object(raw) if raw is not None and any(s in raw for s in CLOUDTRAIL_SOURCE_BYTES) else None
        got = cloudtrail_reach(doc) if doc is not None else None
        if got is None or not got.rule_ops & self.ops:
            self.uncovered += 1
            return
        self._judge_other(rec, got, user, "", rec.result.startswith("error:"))

    def _unheld(self, rec: Record, w: Who) -> None:
        """An unwrap of a token no covered response wrapped: judged on its own path, as any request."""
        if self.any_path is None or not self._covers(self.any_path, self.all_paths, rec.secret, rec.action):
            self.uncovered += 1
        else:
            self._judge(rec, w)

    def _judge_other(self, rec: Record, reach: Reach, name: str, sender: str, refused: bool) -> None:
        hits = []
        for i, (c, m) in enumerate(zip(self.rules, self.matchers)):
            if reach.rule_ops & c.ops:
                named, wide = m.reached(reach)
                if named or wide:
                    hits.append((c, named))
                    self.named[i] += 1
        if not hits:
            self.uncovered += 1
            return
        if refused:
            self.refused += 1  # the API server or the service refused it: nothing was reached
            return
        self.covered += 1
        w = Who(display_name=name, remote_address=rec.source)
        for c, named in hits:
            if not _allowed(c.rule, w, sender if sender != name else ""):
                seen = "" if named else f" (it named no secret; its answer held {reach.scope})"
                self._violation(rec, c.rule, w, f"{reach.op} of {', '.join(named) or reach.shown}", seen)
                break

    def _violation(self, rec: Record, rule: "AccessRule", w: Who, what: str = "", seen: str = "",
                   vault_what: str = "", by_name: str = "", why: str = "") -> Optional[Finding]:
        """Record the finding of ``rec`` breaking ``rule`` (past _MAX, counted in ``more``); the finding, if kept.
        ``by_name``: the display name the token's creator chose, the rule's only match; ``why``: who the request is
        then (``_chooser``)."""
        if len(self.findings) >= _MAX:
            self.more += 1
            return None
        if self.other:
            fix = ("if this identity should not have it, take the permission out of its " +
                   ("RBAC Role or ClusterRole binding" if self.fmt == "k8s" else "IAM or resource policy") +
                   " and review what it saw; if it should, add it to the rule in " + self.table)
            self.findings.append(Finding(ID, "", f"{what} by {w.display_name or 'no identity'}{seen} breaks "
                                         f"{describe_rule(rule)}.", fix, where=rec.where, request_id=rec.request_id))
            return self.findings[-1]
        ids = [f"display name {w.display_name!r}" if w.display_name else "",
               f"entity {w.entity_id}" if w.entity_id else ""]
        who_text = ", ".join(x for x in ids if x) or w.name
        pols = f"; token policies {', '.join(w.policies)}" if w.policies else "; no token policy"
        granted = (f"; granted by vault policy {', '.join(w.granting)}" if w.granting else "")
        deep = (" (a recursive listing of every name below it)" if rec.action == SCAN else
                " (raw storage: it reaches every secret, past the mounts' ACLs)" if RAW.fullmatch(rec.secret) else "")
        chosen = (f" It matched the rule only by its display name {by_name!r}, which the token's creator chose (`bao "
                  f"token create -display-name`, logged as \"token-\" and the name) and which proves nothing of who "
                  f"made the request: {why}." if by_name else "")
        fix = ("if this identity should not have it, take the grant out of the vault policy that allowed it"
               + (f" ({', '.join(w.granting)})" if w.granting else "")
               + " and review what it accessed; if it should, add the identity or its policy to the rule in "
               + self.table)
        if by_name:
            fix = ("name who may do it in the rule by what a token's creator cannot choose: the entity id "
                   "(auth.entity_id), the token accessor as logged, or a token policy (policies = [...]), never a "
                   "token's display name; " + fix)
        self.findings.append(Finding(
            ID, "", f"{vault_what or f'{rec.action} of {rec.secret}{deep}'} by {who_text}{pols}{granted} breaks "
            f"{describe_rule(rule)}.{chosen}", fix, where=rec.where, request_id=rec.request_id))
        return self.findings[-1]

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, Rules)
        # the tokens the later range saw made by one this range knows as an entity's, then its own such tokens; its
        # requests let through by a chosen name on a token without an entity are held here until judged again below
        left = self._placed(later.mints)
        for k, v in later.minted.items():
            put_bounded(self.minted, k, v)
        self.mints += left[:max(0, _HELD_UNWRAPS - len(self.mints))]
        again = [rid for rid in later.chosen if rid not in self.chosen]
        for rid in again:
            if len(self.chosen) < WRAPS:
                self.chosen[rid] = later.chosen[rid]
        self.trusted += later.trusted
        for f in later.findings:
            if len(self.findings) >= _MAX:
                self.more += 1
            else:
                self.findings.append(f)
        self.more += later.more
        self.covered += later.covered
        self.refused += later.refused
        self.uncovered += later.uncovered
        self.nothing += later.nothing
        self.emptied += later.emptied
        self.answers = max(self.answers, later.answers)
        self.named = [a + b for a, b in zip(self.named, later.named)]
        for rid, entry in later.open.items():  # (their responses may be in a range after it)
            put_bounded(self.open, rid, entry)
        for rid, how in later.unanswered.items():  # responses whose request entry may be in this range
            if rid in self.open:
                self._retract(rid, how)
            elif len(self.unanswered) < WRAPS:
                self.unanswered[rid] = how
        self.rewraps += later.rewraps[:max(0, _HELD_UNWRAPS - len(self.rewraps))]  # maybe of tokens wrapped here
        self._rewrapped()
        for rec, w, keys in later.held:  # unwraps of tokens the later range did not wrap: maybe this one did
            target = next((self.wraps[k] for k in keys if k in self.wraps), None)
            if target is not None:
                self._judge_unwrap(rec, w, target)
            elif len(self.held) < _HELD_UNWRAPS:
                self.held.append((rec, w, keys))
            else:
                self._unheld(rec, w)
        for k, v in later.wraps.items():
            put_bounded(self.wraps, k, v)
        for rid in again:  # (after the later range's answers: one that returned nothing was taken back, chosen too)
            self._chosen_again(rid)
        self.merge_excused(later)

    def _chosen_again(self, rid: str) -> None:
        """Judge again a request let through only by a display name its token's creator chose, on a token without an
        entity (``chosen``), now that more of the log is known (the ranges before its own, the whole file, the set's
        other files): a finding where it shows an entity made its token (``_chooser``); the request's response,
        still to come, may take the finding back (``open``)."""
        held = self.chosen.get(rid)
        if held is None:
            return
        rec, w, index, named = held
        why = self._chooser(w)
        if not why:
            return
        del self.chosen[rid]
        self.trusted -= 1
        finding = self._violation(rec, self.rules[index].rule, w, by_name=w.display_name, why=why)
        if rid in self.open:
            self.open[rid] = (finding, True, named)

    # Any: Finding, Skip and a Note (what the pass rests on), which the engine keeps as the pass's reason
    def finish(self) -> Iterator[Any]:
        if not self.rules:
            yield Skip("", self.no_rules)
            return
        if not self.vault and not self.other:
            yield Skip("", "access rules name Vault/OpenBao, Kubernetes or CloudTrail paths and operations; this log "
                       "is none of those")
            return
        self._chosen_all()  # tokens made after their use was logged (in the file, or a range after its own)
        for rec, name, user, reach in self.pending.values():  # Kubernetes requests whose last stage was not logged
            self._judge_other(rec, reach, name, user, k8s_failed(rec.result, rec.action))
        self.pending.clear()
        for rec, w, _ in self.held:  # unwraps of tokens no covered response wrapped: requests as any other
            self._unheld(rec, w)
        self.held.clear()
        if not answered_somewhere(len(self.emptied), self.answers):
            for finding, broke, _named in self.emptied:  # no read of the file showed an answer: reads as logged
                self.nothing -= 1
                self.covered += 1
                if broke and finding is not None and len(self.findings) < _MAX:
                    self.findings.append(finding)
                elif broke:
                    self.more += 1
            self.emptied.clear()
        if self.own and not self.findings and not (self.covered or self.refused or self.uncovered) \
                and self.excused.get(EXCUSE_OWN):
            # A live run on a quiet vault, with rules that name every request it made: the rules are held to the
            # vault's users, none of whom made a request in the run's seconds. Nothing was judged, and nothing is
            # wrong with the log either: skipped (not passed), saying where the rules are judged.
            yield Skip("", f"in the run's window the vault served no request but the run's own "
                       f"({self.excused[EXCUSE_OWN]}), and the rules are held to the vault's users' requests only: "
                       "run `auditready verify` on the vault's audit log to hold its whole history to them")
            return
        if not self.findings and not self.more and not (self.covered or self.refused or self.nothing):
            yield from self._held_none()
            return
        yield from self.findings
        if self.more:
            yield Finding(ID, "", f"{self.more} more requests break the access rules (only the first {_MAX} are "
                          "listed).", "review the rules and the vault policies together", entries=self.more)
        idle = [c.rule for c, n in zip(self.rules, self.named) if not n]
        unused = ("; " + "; ".join(f"{describe_rule(r)} named no request of this log" for r in idle)
                  + " (check its paths and operations against the log's: a KV version 2 secret is read at "
                  "<mount>/data/<path> and listed at <mount>/metadata/<path>)") if idle else ""
        nothing = (f"; {self.nothing} more let through that returned nothing (an error, a missing secret or version: "
                   "404)") if self.nothing else ""
        trusted = (f" ({self.trusted} of them by a token without an entity that a rule allows only by the display "
                   "name its creator chose, which is that creator's word: a token made by the root token or another "
                   "token without an entity, as CI tokens often are, or an orphan made outside this log; name a "
                   "policy of those tokens in the rule to hold them to more)") if self.trusted > 0 else ""
        yield Note("", f"{self.covered} requests let through on paths and operations the rules name, each by an "
                   f"allowed identity or policy{trusted}; {self.refused} more refused by the vault{nothing}; "
                   f"{self.uncovered} requests on paths or operations no rule names{unused}")


    def _held_none(self) -> Iterator[Union[Finding, Skip, Note]]:
        """No request of the log fell under a rule (red team rt68, F8). A rule that allows someone names access
        that happens: if none of the log's requests is on its paths and operations, the log shows nothing of it,
        and the likeliest cause is a rule that does not name paths as the log does (a mistyped mount, a KV version
        2 secret without its data/ segment): a check that judged nothing does not pass, so this fails, naming those
        rules. A rule that allows nobody (identities and policies empty) names access that must not happen: a log
        of requests none of which is on its paths is what it asks, a pass that says so. A live run judges the
        seconds of its window, where a rule's secrets are rarely touched: skipped there, pointing at verify. A file
        of a run of several is skipped (``QUIET_FILE``): the run fails once when no file held such a request
        (``run_verdict``)."""
        idle = [c.rule for c in self.rules]
        named = "; ".join(f"{describe_rule(r)} named no request" for r in idle)
        if self.live:
            yield Skip("", f"no request in the run's window is on a path and operation the rules name, so none was "
                       f"held to them ({self.uncovered} requests on others; {named}): run `auditready verify` on "
                       "the vault's audit log to hold its whole history to them")
            return
        allowing = [r for r in idle if r.identities or r.policies]
        hint = _PATH_HINT.get(self.fmt, _PATH_HINT["vault"])
        if self.uncovered and not allowing:
            yield Note("", f"none of the {self.uncovered} requests of this log is on a path and operation the rules "
                       f"name, and the rules allow nobody: nothing they forbid was done ({named}; check their paths "
                       f"and operations against the log's: {hint})")
            return
        if self.in_set:  # a quiet file of a set (a day nobody read those secrets); each file is judged alone
            yield Skip("", f"{QUIET_FILE} ({self.uncovered} requests on others; {named}): a quiet file of the run's "
                       f"{self.in_set} files, each judged alone; the run fails on access_policy when none of its "
                       "files holds such a request")
            return
        if not self.uncovered:
            said = "this log holds no request, so none was held to the rules"
        else:
            said = (f"none of the {self.uncovered} requests of this log is on a path and operation the rules name, "
                    f"so none was held to them")
        yield judged_nothing(said, allowing or idle, [self.fmt])


# How each format names a secret's path, for a rule that named nothing
_PATH_HINT = {
    "vault": "a KV version 2 secret is read at <mount>/data/<path> and listed at <mount>/metadata/<path>",
    "k8s": "a Secret is api/v1/namespaces/<namespace>/secrets/<name>",
    "cloudtrail": "a Secrets Manager secret by its name or ARN, an SSM parameter by its name",
}


def judged_nothing(said: str, rules: Sequence["AccessRule"], formats: Sequence[str]) -> Finding:
    """The finding of rules that named no request (``said``: of what), naming ``rules`` and how the log's
    ``formats`` name a secret's path."""
    hints = "; ".join(dict.fromkeys(_PATH_HINT.get(f, _PATH_HINT["vault"]) for f in formats or ["vault"]))
    return Finding(ID, "", f"access_policy judged nothing: {said}; "
                   + "; ".join(f"{describe_rule(r)} named no request" for r in rules) + ".",
                   "check each rule's paths and operations against the log's: paths are Vault policy globs on the "
                   f"path as the log names it (a trailing * matches the rest of the path, a + segment any one "
                   f"segment; {hints}) and operations are read, create, update, patch, delete or "
                   "list; if the log is right and its requests fall under no rule, it cannot show that the rules "
                   "hold: verify a log (or a set of files) that holds such requests")


def quiet_file(o: Outcome) -> bool:
    """Whether ``o`` is this check's skip of a quiet file of a run of several (``Rules._held_none``)."""
    return o.check_id == ID and o.status == SKIPPED and not o.accepted and o.reason.startswith(QUIET_FILE)


def run_verdict(outcomes: Sequence[Outcome], settings: "Settings", formats: Sequence[str] = ()) -> Optional[Outcome]:
    """The run's own access_policy verdict over the files of an offline run of several, each judged alone (red
    team rt69, F2): when no file held a request to the rules (each of the check's outcomes skipped, nothing
    accepted, one at least a quiet file: ``quiet_file``), the run judged nothing under them, as a file alone that
    fails (``Rules._held_none``), and this fails once for the run (subject ""), naming the rules that allow
    someone (all of them when none does). None otherwise: a file held a request to the rules (it passed, failed
    or had its findings accepted; a file of requests none of which is on the paths of rules that allow nobody
    passes), or no file was quiet. ``outcomes``: every file's (other checks' are ignored); ``formats``: the
    files' formats, for how each names a secret's path."""
    mine = [o for o in outcomes if o.check_id == ID]
    if not settings.access or not any(quiet_file(o) for o in mine):
        return None
    if any(o.status != SKIPPED or o.accepted for o in mine):
        return None
    allowing = [r for r in settings.access if r.identities or r.policies] or list(settings.access)
    files = len({o.subject for o in mine})
    said = (f"no request of the run's {files} files is on a path and operation the rules name (each file, judged "
            "alone, was skipped), so none was held to them")
    return Outcome(ID, "", FAILED, (judged_nothing(said, allowing, formats),))


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    if not ctx.settings.access:
        yield Skip("", no_rules(ctx.settings))
        return
    yield from feed(Rules(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="Only the allowed identities reach the secrets",
    requirement="every request on a path matched by a [[tool.auditready.access.rules]] table (paths globs with "
    "Vault policy semantics, operations, identities and/or policies) comes from an allowed identity or policy; "
    "rules that allow someone and name no request of the log (in a run of several files: of any of them) judged "
    "nothing, and fail",
    run=run,
    visitor=Rules,
)
