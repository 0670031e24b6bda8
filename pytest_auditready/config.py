"""Settings: read [tool.auditready] and the command line, validate once, freeze.

Every key has one definition below (type, default, what is allowed); both front ends go through ``load``.
Errors name the key, where it came from and the allowed values.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .auditlog.model import REQUIRED_FIELDS
from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


# data_minimisation's detectors (checks/data_minimisation.py), all on by default
DETECTORS: tuple[str, ...] = ("card", "email", "phone", "iban", "national_id")
# the operations an access rule may name (as Vault/OpenBao log request.operation)
ACCESS_OPERATIONS: tuple[str, ...] = ("read", "create", "update", "patch", "delete", "list")


@dataclass(frozen=True)
class AccessRule:
    """One [[tool.auditready.access.rules]] table: requests on ``paths`` (Vault policy globs) with one of
    ``operations`` may come only from ``identities`` (globs on display name or entity id) or tokens holding one
    of ``policies``."""

    name: str
    paths: tuple[str, ...]
    operations: tuple[str, ...]
    identities: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    target: str = "embedded"
    log: Optional[str] = None
    log_prefix: str = ""
    # a program that prints the run's audit lines (journalctl -o cat -f, kubectl logs -f): auditlog/sources.py
    log_command: Optional[str] = None
    report: Optional[str] = None
    kv_mount: str = "secret"
    prefix: str = "auditready"
    namespace: Optional[str] = None
    ca_file: Optional[str] = None
    audit_device: Optional[str] = None
    # embedded: how the audit device's entries reach auditready, "file", "socket" (received over TCP:
    # auditlog/socket_source.py) or "http" (POSTs received: auditlog/http_source.py); a SPEC extension
    audit_transport: str = "file"
    log_wait: float = 10.0
    request_timeout: float = 5.0
    timestamp_digits: int = 3
    max_skew: float = 2.0
    # the longest a Kubernetes request may run: the API server's --request-timeout (kube-apiserver's default, 1m)
    k8s_request_timeout: float = 60.0
    # how far a Kubernetes webhook receiver's file may put a batch after later ones: 0 for the log backend's file,
    # which the API server writes in order; a receiver writes batches as they come, and the webhook backend sends
    # them concurrently and retries one that failed (--audit-webhook-batch-max-wait plus its retries' backoff)
    k8s_webhook_reorder: float = 0.0
    required_fields: tuple[str, ...] = tuple(REQUIRED_FIELDS)
    unprivileged_policies: tuple[str, ...] = ("default",)
    # the vault attaches its default policy to every token unless told not to (a role's token_no_default_policy):
    # true only where ordinary users' tokens really come without it; the unprivileged identity then lacks it too
    unprivileged_no_default_policy: bool = False
    log_max_mode: str = "0600"
    canaries: int = 2
    token_ttl: str = "15m"
    evidence: Optional[str] = None  # directory for the evidence bundle
    sarif: Optional[str] = None  # SARIF 2.1.0 file for findings with a file:line
    fail_on: str = "any"  # "any" failed check, or only checks of this severity or higher
    require_tamper_evidence: bool = True  # false: no chain is excused (skipped); a chain that is there is verified
    public_key: Optional[str] = None  # Ed25519 public key (KEY.pub) that verifies LOG.digests
    cloudtrail_public_keys: Optional[str] = None  # `aws cloudtrail list-public-keys` JSON: verifies digest files
    seal_archive: tuple[str, ...] = ()  # folders where rotated files of a sealed log are kept once moved away
    baseline: Optional[str] = None  # accepted findings (accept.py); default .auditready-baseline.json if present
    allow_foreign_prefix: bool = False  # let prefix leave auditready's own namespace (it must hold nothing else)
    # "auto": told from each file's content (auditlog/detect.py); a named format that disagrees is refused
    log_format: str = "auto"
    # "auto": a platform's framing around each entry (auditlog/container.py) told from the content; or one named
    log_framing: str = "auto"
    field_map: tuple[tuple[str, str], ...] = ()  # offline jsonl: canonical field -> dotted JSON path
    # offline jsonl: the producer's words in field_map's type field -> "request" or "response" (``_type_values``)
    type_values: tuple[tuple[str, str], ...] = ()
    # offline jsonl: the unit of an epoch number in field_map's time field ("" for none: RFC 3339 text only)
    epoch_unit: str = ""
    canaries_file: Optional[str] = None  # offline: known secret values, one a line
    # retention: the log set spans this many days (0: no retention required, the check is skipped), the newest
    # retention_online_days of it outside retention_archive, with no run of days without an entry longer than
    # retention_max_gap_days; retention_archive: folders or globs of archived files of the same log
    # offline completeness: how long after a request its response may come (the vault's max_request_duration,
    # 90 s by default, and room): beyond it a request without its response is a finding
    completeness_window: int = 120
    retention_days: int = 365
    retention_online_days: int = 90
    retention_max_gap_days: int = 1
    # the number logrotate gives the newest rotated file (its `start`, 1 by default): the numbers below it are
    # never written, so a set from there up with the log itself lacks nothing (red team rt93, F11)
    rotation_start: int = 1
    retention_archive: tuple[str, ...] = ()
    # retention: the day the set is judged as of (an archive closed that day); "" is the verification's day, so that
    # days from the set's newest entry up to now without one are a gap too
    retention_as_of: str = ""
    # data_minimisation: the detectors that run (an empty list skips the check)
    data_minimisation_detectors: tuple[str, ...] = DETECTORS
    access: tuple["AccessRule", ...] = ()  # [[tool.auditready.access.rules]]: who may do what on which paths
    # the access review of the evidence bundle (review.py): review items, never failures
    review_since: Optional[str] = None  # identities first seen at or after this are "new" (default: last 7 days)
    review_paths: tuple[str, ...] = ()  # Vault policy globs; () = every path but sys/, auth/, identity/
    review_burst_reads: int = 20  # this many reads of one path by one identity ...
    review_burst_seconds: float = 60.0  # ... within this many seconds is a burst
    review_learning_days: float = 7.0  # source addresses used in the log's first days are known ones
    review_hours: str = "08:00-18:00"  # working hours, on review_workdays, in review_timezone
    review_workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    review_timezone: str = "UTC"
    review_denied_run: int = 5  # this many denied reads in a row by one identity
    review_denied_seconds: float = 3600.0  # ... each within this many seconds of the one before
    # the embedded target boots from the user's vault configuration folder (vault/config.py), then runs bootstrap
    # (a command, with the throw-away server's address and token in its environment) within bootstrap_timeout
    vault_config: Optional[str] = None
    bootstrap: Optional[str] = None
    bootstrap_timeout: float = 300.0
    # Where each key's value came from, and (key "") the file of settings read: what ``origin`` answers. No setting:
    # an InitVar, which dataclasses.fields, to_json and == leave out; __post_init__ keeps it under its own name,
    # where dataclasses.replace finds it and hands it to the copy (and pickle with the instance's other attributes).
    origins: InitVar[tuple[tuple[str, str], ...]] = ()

    def __post_init__(self, origins: tuple[tuple[str, str], ...]) -> None:
        object.__setattr__(self, "origins", tuple(origins))

    def origin(self, key: str = "") -> str:
        """Where ``key``'s value was set (a --config file as given, "[tool.auditready] of pyproject.toml", or
        CLI_ORIGIN); for a key left at its default, or "", the file of settings that was read; "" when none was (or
        the Settings were made in code)."""
        known: dict[str, str] = dict(self.__dict__.get("origins", ()))
        return known.get(key) or known.get("", "")

    def set_in(self, key: str = "") -> str:
        """Where ``key`` is (or would be) set, for a skip reason or a fix: "in lax.toml", "in [tool.auditready] of
        pyproject.toml", "on the command line"; "in [tool.auditready]" when no file of settings was read."""
        where = self.origin(key)
        if where == CLI_ORIGIN:
            return "on the command line"
        return f"in {where or '[tool.auditready]'}"

    @property
    def rules_table(self) -> str:
        """The TOML name of the access rules' tables where the settings were read: "[[access.rules]]" in a file of
        top-level settings, else "[[tool.auditready.access.rules]]"."""
        where = self.origin()
        return "[[access.rules]]" if where and not where.startswith("[tool.auditready]") else _RULES_TABLE

    @property
    def embedded(self) -> bool:
        return self.target == "embedded"

    @property
    def max_skew_ns(self) -> int:
        return int(self.max_skew * 1_000_000_000)

    def to_json(self) -> dict[str, Any]:
        """The settings as data: nothing here is secret (tokens never enter Settings)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


OWN_PREFIX = "auditready"
_RULES_TABLE = "[[tool.auditready.access.rules]]"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")
_MOUNT_RE = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\Z")
_TTL_RE = re.compile(r"\d+[smh]\Z")


def _str(allowed: str, pattern: Optional["re.Pattern[str]"] = None) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        if not isinstance(v, str) or not v or (pattern is not None and not pattern.match(v)):
            raise ValueError(allowed)
        return v

    return conv


def _opt_str(allowed: str) -> Callable[[Any], Any]:
    inner = _str(allowed)

    def conv(v: Any) -> Any:
        return None if v is None or v == "" else inner(v)

    return conv


# Converters that accept a number or boolean written as text (from the command line), which a TOML file must write
# as a number or boolean: in a file, a quoted "3" or "false" is a type error (``load``), with this hint.
_TYPED: dict[Callable[[Any], Any], str] = {}


def _num(kind: type, lo: float, hi: float) -> Callable[[Any], Any]:
    allowed = f"{'a whole number' if kind is int else 'a number'} from {lo:g} to {hi:g}"

    def conv(v: Any) -> Any:
        if isinstance(v, str):
            try:
                v = kind(v)
            except ValueError:
                raise ValueError(allowed) from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
            raise ValueError(allowed)
        if not lo <= v <= hi:
            raise ValueError(allowed)
        return kind(v)

    _TYPED[conv] = f"{allowed}, written without quotes"
    return conv


def _target(v: Any) -> Any:
    """"embedded", or a URL of scheme, host, port and (behind a proxy) a path: what VAULT_ADDR holds. A query or a
    fragment would be glued before every API path, and a bad port fail only at the first request: refused here."""
    from urllib.parse import urlsplit

    allowed = ('"embedded" or an http(s):// URL of a Vault/OpenBao server, as VAULT_ADDR holds it (e.g. '
               '"https://vault.example.com:8200")')
    if v == "embedded":
        return v
    if not isinstance(v, str) or not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S+\Z", v):
        if isinstance(v, str) and re.match(r"[^\s/:]+(:\d+)?\Z", v) and v.lower() != "embedded":
            raise ValueError(allowed + ": add the scheme, http:// or https://")
        raise ValueError(allowed)
    try:
        parts = urlsplit(v)
        port = parts.port  # ValueError for a port that is no number from 0 to 65535
    except ValueError:
        raise ValueError(allowed + ": a host, and a port from 1 to 65535 if any") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(allowed)
    if port == 0:
        raise ValueError(allowed + ": a host, and a port from 1 to 65535 if any")
    if parts.query or parts.fragment or v.endswith(("?", "#")):
        raise ValueError(allowed + ", without a ?query or #fragment")
    if parts.path.rstrip("/").lower().endswith("/v1"):  # every API path is sent as <address>/v1/...
        raise ValueError(allowed + ", without the API's /v1 (the client adds it to every request): give "
                         + strip_userinfo(v.rstrip("/")[:-3])[0])
    url = parts.scheme.lower() + v[len(parts.scheme):]
    return strip_userinfo(url.rstrip("/"))[0]


def strip_userinfo(url: str) -> tuple[str, bool]:
    """``url`` without any user:password@ part (credentials come from the environment only), and whether it had
    one. Only the authority is looked at; nothing of what was removed is kept."""
    from .text import userinfo_end

    end = userinfo_end(url)
    if end < 0:
        return url, False
    scheme = url.partition("://")[0]
    return f"{scheme}://{url[end:]}", True


def _fields(v: Any) -> Any:
    # an empty list would let required_fields pass having asked nothing of any entry
    allowed = "a list drawn from " + ", ".join(REQUIRED_FIELDS) + " (at least one)"
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)) or not v or any(f not in REQUIRED_FIELDS for f in v):
        raise ValueError(allowed)
    return tuple(v)


def _policies(v: Any) -> Any:
    allowed = "a non-empty list of policy names"
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)) or not v or any(not isinstance(p, str) or not _NAME_RE.match(p) for p in v):
        raise ValueError(allowed)
    return tuple(v)


def _mode(v: Any) -> Any:
    # log_protection judges the group's and others' read bits against it (write is always a finding; the owner is
    # the device, which writes the file): a mode that says more ("0400", "0700", "0650") would be ignored there
    allowed = ('an octal file mode "0600", "0640", "0604" or "0644", never writable by group or others: the owner '
               '(the audit device) reads and writes, group and others may at most read')
    if not isinstance(v, str) or not re.match(r"0?6[04][04]\Z", v):
        raise ValueError(allowed)
    return v.zfill(4)


def _fail_on(v: Any) -> Any:
    from .compliance import severity_levels

    levels = severity_levels()
    allowed = '"any" (every failed check fails the run) or a severity: ' + ", ".join(levels)
    if not isinstance(v, str) or v.strip().lower() not in ("any", *levels):
        raise ValueError(allowed)
    return v.strip().lower()


def _bool(v: Any) -> Any:
    allowed = "true or false"
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise ValueError(allowed)


_TYPED[_bool] = "true or false, written without quotes"


LOG_FORMATS = ("vault", "jsonl", "k8s", "cloudtrail")


def _log_format(v: Any) -> Any:
    if v not in (*LOG_FORMATS, "auto"):
        raise ValueError('"auto" (told from the content, the default), "vault" (Vault/OpenBao file audit device, with '
                         'or without prefix), "jsonl" (generic JSON lines, with field_map), "k8s" (Kubernetes audit '
                         'events) or "cloudtrail" (AWS CloudTrail log files)')
    return v


def _log_framing(v: Any) -> Any:
    from .auditlog.container import FRAMINGS

    if v not in ("auto", "none", *FRAMINGS):
        raise ValueError('"auto" (told from the content, the default), "none", or the framing a platform writes around '
                         'each entry: ' + ", ".join(f'"{k}" ({t})' for k, t in FRAMINGS.items()))
    return v


FIELD_MAP_NAMES = ("type", *REQUIRED_FIELDS)


def field_alternatives(spec: str) -> tuple[str, ...]:
    """A field_map entry as the dotted paths it is read from, in order: the first that holds a value gives the
    field's (a list in the settings, kept joined by "|" in one string)."""
    return tuple(spec.split("|"))


def field_paths(spec: str) -> tuple[tuple[str, ...], ...]:
    """``field_alternatives`` of a field_map entry, each split into its keys."""
    return tuple(tuple(p.split(".")) for p in field_alternatives(spec))


# What each field a field_map names shows of an entry: one key read as two of them shows one fact, not two.
FIELD_FACTS: Mapping[str, str] = {
    "type": "which half of a request", "time": "when", "identity": "who acted", "resource": "which secret or path",
    "action": "what was done", "result": "the outcome", "source": "from where", "request_id": "which request"}
# The one pair of fields that may be read from one key: a producer whose log holds only actions that took place
# (1Password's item usages, Infisical's audit log) writes no outcome, and its action's word is all it says of one.
SHARED_KEY_FIELDS = frozenset({"action", "result"})


def json_path_key(path: str) -> tuple[str, ...]:
    """A dotted path as ``offline.reader.resolve`` walks it: a list index by its number ("sourceIPs.00" reads what
    "sourceIPs.0" does); every other key as written (JSON keys are case-sensitive)."""
    return tuple(str(int(k)) if k.isascii() and k.isdigit() else k for k in path.split("."))


def one_key(reads: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """The keys read as two or more fields, each with those fields (in FIELD_MAP_NAMES order), where ``reads`` gives
    each field the path it reads first: that path's value is then the value of each of them in every entry that
    writes it, so no entry could show them apart, nor lack one of them and not the others (red team rt102 F5: one
    key given to six fields, and required_fields passed). A later path of a list is read only where the earlier ones
    hold nothing (Okta's resource = ["target.0.alternateId", "eventType"]: an event with no target is named by its
    type), so it may be another field's. Action and result alone may share one (``SHARED_KEY_FIELDS``)."""
    by: dict[tuple[str, ...], list[str]] = {}
    for name in FIELD_MAP_NAMES:
        if name in reads:
            by.setdefault(json_path_key(reads[name]), []).append(name)
    return [(reads[names[0]], tuple(names)) for names in by.values()
            if len(names) > 1 and not set(names) <= SHARED_KEY_FIELDS]


def listed(items: Sequence[str]) -> str:
    """``items`` as a message names them: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def one_key_refusal(shared: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[str, str]:
    """The cause and fix of a refused field_map whose fields ``shared`` (``one_key``) read one key each."""
    import json

    cause = "; ".join(f"{listed(names)} are {'all ' if len(names) > 2 else ''}read from one key, {json.dumps(path)}, "
                      f"and one value cannot be {'both' if len(names) == 2 else 'each of'} "
                      f"{listed([FIELD_FACTS[n] for n in names])}" for path, names in shared)
    fix = ("map each field to the key where the producer writes that fact (e.g. identity = \"actor.id\", source = "
           "\"client.ip\"; of a list of paths, the first is the one read where the producer writes it); result may "
           "share action's key only for a producer whose log holds nothing but actions that took place; a field the "
           "producer never writes: take it out of field_map and of required_fields")
    return cause, fix


class Refused(ValueError):
    """A value of the allowed shape that cannot be used: ``cause`` and ``fix`` said as they are (``load``)."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(fix)
        self.cause, self.fix = cause, fix


def _field_map(v: Any) -> Any:
    allowed = ("a table from " + ", ".join(FIELD_MAP_NAMES) + " to dotted JSON paths (or lists of them, tried in "
               'order: a producer that names one field under several keys), e.g. {time = "eventTime", identity = '
               '["actor.userId", "actor.identityId"]}')
    if isinstance(v, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in v):
        v = dict(v)
    if not isinstance(v, Mapping):
        raise ValueError(allowed)
    unknown = [str(k) for k in v if k not in FIELD_MAP_NAMES]
    if unknown:  # name the key that is no canonical field (a producer's own name put on the wrong side)
        raise ValueError(allowed + f" ({', '.join(repr(k) for k in unknown)}: no canonical field)")
    # a list of paths for one field (red team rt86 F5: Infisical names the actor under actorMetadata.userId,
    # .identityId or .serviceId by its kind): kept joined by "|", read by ``field_paths``
    v = {k: ("|".join(p) if isinstance(p, (list, tuple)) and p and all(isinstance(q, str) for q in p) else p)
         for k, p in v.items()}
    if any(not isinstance(p, str) or any(not q.strip(". ") for q in field_alternatives(p)) for p in v.values()):
        raise ValueError(allowed)
    shared = one_key({k: field_alternatives(p)[0] for k, p in v.items()})
    if shared:  # one value read as two facts of an entry (red team rt102 F5)
        raise Refused(*one_key_refusal(shared))
    return tuple((k, v[k]) for k in FIELD_MAP_NAMES if k in v)


EPOCH_UNITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}  # an epoch number's unit -> the digits of its second's fraction


def _epoch_unit(v: Any) -> Any:
    if not isinstance(v, str) or v not in EPOCH_UNITS:
        raise ValueError('the unit of the epoch number in field_map\'s time field: "s", "ms" (GitHub\'s audit log '
                         'stream), "us" or "ns"')
    return v


def _type_values(v: Any) -> Any:
    """What the producer writes in field_map's type field for the two halves of a request: Consul's
    OperationStart and OperationComplete (red team rt86 F2: a correct log could not pass, as no setting said so)."""
    allowed = ('a table of request and response to the words (or lists of words) the producer writes in field_map\'s '
               'type field, e.g. {request = "OperationStart", response = "OperationComplete"}')
    if not isinstance(v, Mapping) or not v or any(k not in ("request", "response") for k in v):
        raise ValueError(allowed)
    out: dict[str, str] = {}
    for canonical, words in v.items():
        items = [words] if isinstance(words, str) else words if isinstance(words, (list, tuple)) else None
        if not items or any(not isinstance(w, str) or not w.strip() for w in items):
            raise ValueError(allowed)
        for w in items:
            if out.setdefault(w, canonical) != canonical:
                raise ValueError(allowed + f" ({w!r} names both)")
    return tuple(sorted(out.items()))


def _paths_list(v: Any) -> tuple[str, ...]:
    """A folder, glob or file path, or a list of them."""
    allowed = "a folder, file or glob path, or a list of them"
    items = [v] if isinstance(v, str) else v if isinstance(v, (list, tuple)) else None
    if items is None or any(not isinstance(p, str) or not p.strip() for p in items):
        raise ValueError(allowed)
    return tuple(items)


def _detectors(v: Any) -> Any:
    allowed = "a list drawn from " + ", ".join(DETECTORS) + " (an empty list skips data_minimisation)"
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)) or any(d not in DETECTORS for d in v):
        raise ValueError(allowed)
    return tuple(d for d in DETECTORS if d in v)


_RULE_KEYS = ("name", "paths", "operations", "identities", "policies")
_ACCESS_HELP = ("[[tool.auditready.access.rules]] tables, each with paths (Vault policy globs: a trailing * matches "
                "the rest of the path, a + segment one segment), operations (drawn from "
                + ", ".join(ACCESS_OPERATIONS) + "), and identities (globs on display names or entity ids) and/or "
                "policies (token policy names); name is optional")
_RULES = "[[tool.auditready.access.rules]] tables"


def _vault_glob(p: Any) -> bool:
    """A path as a Vault policy names one: '*' only at the end, '+' only as a whole segment."""
    if not isinstance(p, str) or not p.strip() or p != p.strip() or "*" in p[:-1]:
        return False
    return all("+" not in seg or seg == "+" for seg in p.rstrip("*").split("/"))


def _names(rule: int, key: str, v: Any, check: Callable[[Any], bool], what: str) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)) or any(not check(x) for x in v):
        raise ValueError(f"{_RULES}; in rule {rule}, {key} takes {what}")
    return tuple(v)


def _access(v: Any) -> Any:
    if not isinstance(v, Mapping) or set(v) - {"rules"}:
        raise ValueError(_ACCESS_HELP)
    rules = v.get("rules", [])
    if not isinstance(rules, (list, tuple)):
        raise ValueError(_ACCESS_HELP)
    out = []
    for i, r in enumerate(rules, 1):
        if not isinstance(r, Mapping):
            raise ValueError(f"{_RULES}; rule {i} is not a table")
        unknown = sorted(str(k) for k in r if k not in _RULE_KEYS)
        if unknown:
            raise ValueError(f"{_RULES}; rule {i} has the unknown key {unknown[0]!r} (a rule's keys: "
                             + ", ".join(_RULE_KEYS) + ")")
        name = r.get("name", f"rule {i}")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{_RULES}; in rule {i}, name takes a non-empty string")
        paths = _names(i, "paths", r.get("paths"), _vault_glob,
                       "a non-empty list of paths such as \"secret/data/app/*\" ('*' only at the end, '+' only as "
                       "a whole segment)")
        ops = _names(i, "operations", r.get("operations"), lambda o: o in ACCESS_OPERATIONS,
                     "a non-empty list drawn from " + ", ".join(ACCESS_OPERATIONS))
        if not paths or not ops:
            raise ValueError(f"{_RULES}; rule {i} needs at least one path and one operation")
        if "identities" not in r and "policies" not in r:
            raise ValueError(f"{_RULES}; rule {i} names neither identities nor policies (to allow nobody, set "
                             "identities = [])")
        ids = _names(i, "identities", r.get("identities", []), lambda x: isinstance(x, str) and bool(x.strip()),
                     "a list of display names or entity ids (globs)")
        pols = _names(i, "policies", r.get("policies", []), lambda x: isinstance(x, str) and bool(x.strip()),
                      "a list of policy names")
        out.append(AccessRule(name.strip(), paths, ops, ids, pols))
    return tuple(out)


def _review_since(v: Any) -> Any:
    """An RFC 3339 time with an offset, or a UTC date YYYY-MM-DD."""
    import datetime

    from .auditlog.model import parse_time

    allowed = "an RFC 3339 time with an offset (2026-01-31T18:00:00Z) or a UTC date (2026-01-31)"
    if v is None or v == "":
        return None
    if isinstance(v, datetime.datetime) and v.tzinfo is not None:  # a TOML offset date-time
        v = v.isoformat()
    elif isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):  # a TOML local date
        v = v.isoformat()
    if not isinstance(v, str):
        raise ValueError(allowed)
    v = v.strip()
    if parse_time(v) is not None:
        return v
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", v)
    try:
        if m is not None and datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            return v
    except ValueError:
        pass
    raise ValueError(allowed)


def _as_of(v: Any) -> Any:
    """A UTC date YYYY-MM-DD (a TOML local date too), or "" for the verification's day."""
    import datetime

    allowed = 'a UTC date such as "2026-01-31" (the day an archived set was closed), or "" for today'
    if v is None or v == "":
        return ""
    day: Optional[datetime.date] = None
    if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        day = v
    elif isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        try:
            day = datetime.date.fromisoformat(v.strip())
        except ValueError:
            pass
    if day is None:
        raise ValueError(allowed)
    if day > datetime.datetime.now(datetime.timezone.utc).date():  # (red team rt99 F5: judged days yet to come)
        raise ValueError(f"{allowed}: not a day after today (UTC), which no set can have been closed on")
    return day.isoformat()


def _review_paths(v: Any) -> Any:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or any(not _vault_glob(p) for p in v):
        raise ValueError("a list of Vault policy path globs such as \"secret/data/prod/*\" ('*' only at the end, "
                         "'+' only as a whole segment; an empty list reviews every path but sys/, auth/, identity/)")
    return tuple(v)


def _review_hours(v: Any) -> Any:
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", v.strip()) if isinstance(v, str) else None
    if m is None or (m.group(3) == "24" and m.group(4) != "00") or m.group(1, 2) >= m.group(3, 4):
        raise ValueError('working hours as "HH:MM-HH:MM", the start before the end (e.g. "08:00-18:00")')
    return v.strip()


def _review_workdays(v: Any) -> Any:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)) or any(not isinstance(d, str) or d.lower() not in days for d in v):
        raise ValueError("a list drawn from " + ", ".join(days))
    return tuple(d for d in days if d in {x.lower() for x in v})


def _review_timezone(v: Any) -> Any:
    allowed = 'an IANA time zone name such as "UTC" or "Europe/Berlin"'
    if not isinstance(v, str) or not v.strip():
        raise ValueError(allowed)
    if v.strip().upper() == "UTC":
        return "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(v.strip())
    except Exception:  # ZoneInfoNotFoundError, ValueError for a malformed key, no tz database
        raise ValueError(allowed + " (known to this system's time zone database)") from None
    return v.strip()


KEYS: Mapping[str, Callable[[Any], Any]] = {
    "target": _target,
    "log": _opt_str("a file path"),
    "log_command": _opt_str("a command line that prints audit lines, such as \"journalctl -o cat -f -u openbao\""),
    "log_prefix": lambda v: "" if v in (None, "") else _str("a string")(v),
    "report": _opt_str("a file path"),
    "kv_mount": _str("a KV version 2 mount path such as \"secret\"", _MOUNT_RE),
    "prefix": _str("a path segment of letters, digits, '.', '_' or '-'", _NAME_RE),
    "namespace": _opt_str("a Vault namespace path"),
    "ca_file": _opt_str("a file path to a PEM CA bundle"),
    "audit_device": _opt_str("the path of an audit device, such as \"file\""),
    "audit_transport": _str('"file" (a file audit device), "socket" (a TCP socket audit device the embedded target '
                            'receives itself) or "http" (an http audit device it receives itself)',
                            re.compile(r"(file|socket|http)\Z")),
    "log_wait": _num(float, 0, 600),
    "request_timeout": _num(float, 0.1, 120),
    "timestamp_digits": _num(int, 0, 9),
    "max_skew": _num(float, 0, 3600),
    "k8s_request_timeout": _num(float, 1, 86400),
    "k8s_webhook_reorder": _num(float, 0, 86400),
    "required_fields": _fields,
    "unprivileged_policies": _policies,
    "unprivileged_no_default_policy": _bool,
    "log_max_mode": _mode,
    "canaries": _num(int, 1, 20),
    "token_ttl": _str('a duration such as "15m"', _TTL_RE),
    "evidence": _opt_str("a directory path"),
    "sarif": _opt_str("a file path"),
    "fail_on": _fail_on,
    "require_tamper_evidence": _bool,
    "allow_foreign_prefix": _bool,
    "public_key": _opt_str("a file path to the sealer's Ed25519 public key (KEY.pub of `auditready keygen`)"),
    "cloudtrail_public_keys": _opt_str("a file path to the JSON of `aws cloudtrail list-public-keys`"),
    "baseline": _opt_str("a file path (the accepted findings, as `auditready baseline` writes them)"),
    "seal_archive": lambda v: tuple(
        _str("a folder path, or a list of folder paths, where rotated files of a sealed log are kept once moved "
             "away from the log's folder")(p)
        for p in ([v] if isinstance(v, str) else v if isinstance(v, (list, tuple)) else [None])),
    "log_format": _log_format,
    "log_framing": _log_framing,
    "field_map": _field_map,
    "type_values": _type_values,
    "epoch_unit": _epoch_unit,
    "canaries_file": _opt_str("a file path (known secret values, one a line)"),
    "completeness_window": _num(int, 1, 86400),
    "retention_days": _num(int, 0, 36500),
    "retention_online_days": _num(int, 0, 36500),
    "retention_max_gap_days": _num(int, 0, 36500),
    "rotation_start": _num(int, 0, 10000),
    "retention_archive": _paths_list,
    "retention_as_of": _as_of,
    "data_minimisation_detectors": _detectors,
    "access": _access,
    "review_since": _review_since,
    "review_paths": _review_paths,
    "review_burst_reads": _num(int, 2, 1_000_000),
    "review_burst_seconds": _num(float, 0.001, 31_536_000),
    "review_learning_days": _num(float, 0, 36500),
    "review_hours": _review_hours,
    "review_workdays": _review_workdays,
    "review_timezone": _review_timezone,
    "review_denied_run": _num(int, 1, 1_000_000),
    "review_denied_seconds": _num(float, 0.001, 31_536_000),
    "vault_config": _opt_str("a folder path (the vault's server *.hcl/*.json files, policies/*.hcl)"),
    "bootstrap": _opt_str("a command line (run in the vault_config folder)"),
    "bootstrap_timeout": _num(float, 1, 3600),
}
assert set(KEYS) == {f.name for f in dataclasses.fields(Settings)}


@dataclass(frozen=True)
class Narrows:
    """How a setting can make ``checks`` ask less than at its default: ``direction`` is "lower" or "higher" (a
    number below or above it), "wider" (a file mode letting more read), "subset" (a list without some of the
    default's items), "earlier" (a day before the verification's) or "set" (any value but the default); ``live``:
    only the live run (pytest --auditready) reads the key."""

    checks: tuple[str, ...]
    direction: str
    live: bool = False


# Every key, by what it does to the checks' passes (red team rt75 F3): a Narrows, each of whose checks then says so
# beside its pass in every report (a Note "Narrowed by settings: ..."; ``narrows`` tells whether a value does), or
# in one word why it narrows none: "where" (which vault, log, files or paths are judged), "input" (how the log is
# read: a wrong value is refused or fails), "output" (what is written where), "timing" (a shorter time only fails
# closed), "widens" (it can only add questions), "review" (review items, never a verdict), "gate" (which failed
# checks fail the run: every report still shows them failed), "skips" (the check is skipped, never passed),
# "baseline" (accepted findings are shown as accepted, never as passed), "subject" (whom the run judges: it must
# match the users' tokens), "repeats" (more of the same actions: one canary already asks every question).
NARROWS: Mapping[str, Union[Narrows, str]] = {
    "target": "where", "log": "where", "log_prefix": "input", "log_command": "where", "report": "output",
    "kv_mount": "where", "prefix": "where", "namespace": "where", "ca_file": "where", "audit_device": "where",
    "audit_transport": "where", "log_wait": "timing", "request_timeout": "timing",
    "timestamp_digits": Narrows(("timestamp_precision",), "lower"),
    "max_skew": Narrows(("timestamp_accuracy",), "higher"),
    "k8s_request_timeout": Narrows(("completeness", "timestamp_accuracy"), "higher"),
    "k8s_webhook_reorder": Narrows(("timestamp_accuracy",), "higher"),
    "required_fields": Narrows(("required_fields",), "subset"),
    "unprivileged_policies": "subject",
    "unprivileged_no_default_policy": Narrows(("log_protection",), "set", live=True),
    "log_max_mode": Narrows(("log_protection",), "wider"),
    "canaries": "repeats", "token_ttl": "timing", "evidence": "output", "sarif": "output", "fail_on": "gate",
    "require_tamper_evidence": "skips", "allow_foreign_prefix": "where", "public_key": "input",
    "cloudtrail_public_keys": "input", "seal_archive": "where", "baseline": "baseline", "log_format": "input",
    "log_framing": "input", "field_map": "input", "type_values": "input", "epoch_unit": "input",
    "canaries_file": "widens",
    "completeness_window": Narrows(("completeness",), "higher"),
    # (tamper_evidence also leaves unjudged the sealed segments with no file that end before retention_days)
    "retention_days": Narrows(("retention",), "lower"),
    "retention_online_days": Narrows(("retention",), "lower"),
    "retention_max_gap_days": Narrows(("retention",), "higher"),
    # (with retention_days = 0 completeness judges the numbers instead, and says so: completeness.narrowed)
    "rotation_start": Narrows(("retention",), "higher"),
    "retention_archive": "where",
    "retention_as_of": Narrows(("retention",), "earlier"),
    "data_minimisation_detectors": Narrows(("data_minimisation",), "subset"),
    "access": "widens",
    **{k: "review" for k in KEYS if k.startswith("review_")},
    "vault_config": "where", "bootstrap": "where", "bootstrap_timeout": "timing",
}
assert set(NARROWS) == set(KEYS)


def narrows(settings: Settings, key: str) -> bool:
    """Whether ``key``'s value in ``settings`` asks less than its default (``NARROWS``); False for a key that
    narrows no check."""
    how = NARROWS[key]
    if isinstance(how, str):
        return False
    value, default = getattr(settings, key), getattr(Settings, key)
    if how.direction == "lower":
        return bool(value < default)
    if how.direction == "higher":
        return bool(value > default)
    if how.direction == "wider":
        return bool(int(value, 8) & ~int(default, 8))
    if how.direction == "subset":
        return not set(default) <= set(value)
    if how.direction == "earlier":
        import datetime

        return bool(value) and value < datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return bool(value != default)


def narrowing(settings: Settings, check: str) -> list[str]:
    """The keys whose values in ``settings`` narrow ``check`` (``narrows``), in the order of ``NARROWS``."""
    return [k for k, how in NARROWS.items()
            if not isinstance(how, str) and check in how.checks and narrows(settings, k)]


def _squashed(name: str) -> str:
    return re.sub(r"[-_.\s]", "", name.lower())


def _table(path: Path) -> tuple[Optional[dict[str, Any]], dict[str, Any]]:
    """The [tool.auditready] table of the TOML file ``path`` (None if it has none) and the whole document. A table
    under a name that reads as ours but is not ([tool.audit-ready], [tool.pytest-auditready], [tools.auditready])
    would be ignored without a word: refused."""
    from .errors import AuditReadyError
    from .safeio import MAX_CONFIG_BYTES, read_small

    try:
        text = read_small(path, "configuration file", MAX_CONFIG_BYTES).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the path") from None
    except AuditReadyError as exc:  # not a regular file, or too large
        raise ConfigError(exc.cause, exc.fix) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML (not UTF-8 text)", "fix the file") from None
    if text.startswith("\ufeff"):
        raise ConfigError(f"{path} is not valid TOML: it starts with a byte-order mark",
                          "save it as UTF-8 without a byte-order mark (BOM)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc})", "fix the file") from None
    for outer in ("tool", "tools"):
        tables = doc.get(outer)
        if not isinstance(tables, dict):
            continue
        for name in tables:
            if (outer, name) != ("tool", "auditready") and _squashed(name) in ("auditready", "pytestauditready"):
                raise ConfigError(f"[{outer}.{name}] in {path} is not read: the settings table is [tool.auditready]",
                                  "rename the table [tool.auditready]")
    tool = doc.get("tool")
    table = tool.get("auditready") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"[tool.auditready] in {path} is not a table", "make it a TOML table")
    return table, doc


def read_toml(path: Path, *, table_required: bool) -> dict[str, Any]:
    """The [tool.auditready] table of a TOML file, or (a dedicated config file, ``table_required`` False) its top
    level. Top-level keys beside a [tool.auditready] table, or a pyproject.toml without one, would be left unread:
    refused."""
    return _read_settings(path, table_required)[0]


def _read_settings(path: Path, table_required: bool) -> tuple[dict[str, Any], bool]:
    """``read_toml``, and whether the settings were those of a [tool.auditready] table (not the top level)."""
    table, doc = _table(path)
    if table_required:
        return dict(table or {}), True
    top = sorted(str(k) for k in doc if k != "tool")
    if table is not None:
        if top:
            raise ConfigError(f"{path} has both a [tool.auditready] table and top-level keys ({', '.join(top)}), "
                              "and only the table would be read",
                              "put every setting in the [tool.auditready] table, or every one at the top level")
        return dict(table), True
    if "tool" in doc or "project" in doc or "build-system" in doc:
        raise ConfigError(f"{path} has no [tool.auditready] table (and is not a file of settings alone)",
                          "add the settings under [tool.auditready], or give a file of top-level settings")
    return dict(doc), False


def _shown_path(path: Path) -> str:
    """``path`` as a report names it: relative to the working directory (no home folder or runner path in a report
    that is kept), or as it is where it has no relative form."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


CLI_ORIGIN = "the command line"


def load(
    sources: Sequence[tuple[str, Mapping[str, Any]]],
    notices: Optional[list[str]] = None,
    options: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Merge ``sources`` (lowest precedence first, each named for error messages) into Settings. What was
    accepted but changed (credentials removed from a URL) is said in ``notices``, one line each. ``options`` names
    the command-line option of a key (``fail_on`` -> ``--fail-on``), for the errors of the CLI_ORIGIN source; a
    file's numbers and booleans must be TOML ones (``"3"`` is refused there)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for origin, mapping in sources:
        for key, raw in mapping.items():
            if raw is None:
                continue
            # the key as the user wrote it: an option on the command line, else the key
            option = options.get(key) if origin == CLI_ORIGIN and options else None
            said = option or key
            if key == "target" and isinstance(raw, str) and strip_userinfo(raw)[1] and notices is not None:
                notices.append(f"the user:password@ part of {key} in {origin} was ignored: credentials come from "
                               "VAULT_TOKEN (or BAO_TOKEN) only")
            conv = KEYS.get(key)
            if conv is None:
                import difflib

                close = difflib.get_close_matches(str(key), list(KEYS), n=1)
                raise ConfigError(
                    f"unknown key {key!r} in {origin}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                    "use one of: " + ", ".join(sorted(KEYS)),
                )
            if origin != CLI_ORIGIN and isinstance(raw, str) and conv in _TYPED:
                raise ConfigError(f"bad value for {key!r} in {origin}: a quoted string", f"{key} takes {_TYPED[conv]}")
            try:
                values[key] = conv(raw)
            except Refused as exc:
                raise ConfigError(f"bad value for {key!r} in {origin}" + (f" ({option})" if option else "")
                                  + f": {exc.cause}", exc.fix) from None
            except ValueError as exc:
                raise ConfigError(f"bad value for {key!r} in {origin}" + (f" ({option})" if option else ""),
                                  f"{said} takes {exc}") from None
            origins[key] = origin
    prefix = values.get("prefix", Settings.prefix)
    if not prefix.startswith(OWN_PREFIX) and not values.get("allow_foreign_prefix", False):
        # The run writes and deletes under <kv_mount>/<prefix>/: keep that inside a namespace that is ours alone.
        raise ConfigError(
            f"prefix {prefix!r} in {origins.get('prefix', 'the settings')} is outside auditready's own namespace",
            f"use a prefix that starts with {OWN_PREFIX!r} (e.g. \"{OWN_PREFIX}-ci\"), or set "
            "allow_foreign_prefix = true if that path holds nothing else",
        )
    if values.get("unprivileged_no_default_policy") and "default" in values.get("unprivileged_policies", ("default",)):
        # the vault leaves "default" off a token made with no_default_policy even where it is named: the identity
        # would hold no policy, or lack one named, and log_protection and denied_access_logged judge what nobody has
        named = (f"unprivileged_policies in {origins['unprivileged_policies']}" if "unprivileged_policies" in origins
                 else "unprivileged_policies, left at its default [\"default\"],")
        raise ConfigError(
            f"unprivileged_no_default_policy = true in {origins['unprivileged_no_default_policy']}, while {named} "
            "names \"default\": the vault leaves the default policy off a token made without it, even named",
            "set unprivileged_policies to the policies your users' tokens carry without default, or leave "
            "unprivileged_no_default_policy out (their tokens then carry default, as the vault gives every token)")
    read = next((origin for origin, _ in reversed(sources) if origin != CLI_ORIGIN), "")
    return Settings(**values, origins=(*sorted(origins.items()), ("", read)))


TOKEN_VARIABLES = ("VAULT_TOKEN", "BAO_TOKEN")


def token_from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The operator token: VAULT_TOKEN, else BAO_TOKEN (one that is empty or only blanks counts as unset; the
    blanks around a value, such as the newline of `$(cat FILE)`, are dropped). Never read from an option or a
    file. A value with a character no token has (a control character, a line break inside, a non-ASCII letter:
    none can be sent in an HTTP header) is a ConfigError naming the variable, never the value."""
    env = os.environ if environ is None else environ
    for name in TOKEN_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            if any(not " " <= c <= "~" for c in value):
                raise ConfigError(f"{name} holds a character no token has (a control character, a line break or a "
                                  "non-ASCII letter)", f"export the token alone in {name}")
            return value
    return None


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at ``start`` or above it that has a [tool.auditready] table (a run from a
    subdirectory reads its project's; a sub-package's pyproject.toml without the table does not hide it)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _table(candidate)[0] is not None:
            return candidate
    return None


def discover(cli: Mapping[str, Any], config_file: Optional[str] = None, start: Optional[Path] = None,
             pyproject: Optional[Path] = None, notices: Optional[list[str]] = None,
             options: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings of a run, found the same way by every front end: ``config_file`` (a TOML file, its
    [tool.auditready] table or its top level) if given, else [tool.auditready] of the nearest pyproject.toml with
    that table at or above ``start`` (default: the working directory), else of ``pyproject`` (pytest's own
    configuration file, when it has the table); then the command line ``cli`` (None values are not given), whose
    keys ``options`` names as the front end's options in errors. The two files are never merged: a ``config_file``
    read while such a pyproject.toml table exists is said in ``notices`` (on standard error when the front end
    collects none), as the Settings say where each value came from (``Settings.origin``)."""
    said: list[str] = [] if notices is None else notices
    sources: list[tuple[str, Any]] = []
    if config_file is not None:
        option = (options or {}).get("config", "--config")
        if not config_file.strip():
            raise ConfigError(f"{option} was given an empty path", f"name the TOML file of settings, or leave {option} "
                              "out to read [tool.auditready] of pyproject.toml")
        values, in_table = _read_settings(Path(config_file), False)
        sources.append((f"[tool.auditready] of {config_file}" if in_table else config_file, values))
        shadowed = _settings_pyproject(start, pyproject, quiet=True)
        if shadowed is not None and path_key(str(shadowed)) != path_key(config_file):
            said.append(f"the settings are those of {option} {config_file} alone: the [tool.auditready] table of "
                        f"{_shown_path(shadowed)} is not read (the two are not merged)")
    else:
        found = _settings_pyproject(start, pyproject, quiet=False)
        if found is not None:
            sources.append((f"[tool.auditready] of {_shown_path(found)}", read_toml(found, table_required=True)))
    sources.append((CLI_ORIGIN, {k: v for k, v in cli.items() if v is not None}))
    settings = load(sources, said, options)
    if notices is None:
        from .text import visible

        for line in said:
            print(f"auditready: {visible(line)}", file=sys.stderr)
    return settings


def _settings_pyproject(start: Optional[Path], pyproject: Optional[Path], *, quiet: bool) -> Optional[Path]:
    """The pyproject.toml whose [tool.auditready] table a run without --config reads (``discover``). ``quiet``: a
    file that cannot be read as one is taken for none (a run given --config does not read it)."""
    try:
        found = find_pyproject(start or Path.cwd())
        if found is None and pyproject is not None and pyproject.is_file() and _table(pyproject)[0] is not None:
            found = pyproject
    except ConfigError:
        if not quiet:
            raise
        return None
    return found


def path_key(path: str) -> str:
    """A local path as the file or folder it names (links and ``..`` resolved, the case as the system compares it):
    two paths naming one file have one key."""
    return os.path.normcase(os.path.realpath(path))


def refuse_clashes(outputs: Sequence[tuple[str, Optional[str]]], inputs: Sequence[tuple[str, Optional[str]]]) -> None:
    """Refuse, before anything is read or written, an output (a report, a file of the evidence bundle) that names
    an input (a log, its seal chain, a key, the canaries, the settings) or another output: the report would be
    written over the audit log it judged, or over another report, without a word. Paths are compared as the files
    they name (``path_key``); object-store URLs and standard output ("-") are left out."""
    seen: dict[str, str] = {}
    for what, path in inputs:
        if path and path != "-" and "://" not in path:
            seen.setdefault(path_key(path), what)
    for what, path in outputs:
        if not path or path == "-" or "://" in path:
            continue
        other = seen.get(path_key(path))
        if other is not None:
            raise ConfigError(f"{what} would be written over {other} ({path})",
                              f"give {what.split(' ')[0]} a path of its own")
        seen[path_key(path)] = what


UNORDERED = "_auditready_unordered"  # the attribute ``engine.files.detect`` keeps why a file's order proves nothing in


def unordered(settings: Settings) -> str:
    """Why the lines of the file ``settings`` were told from keep no time order (an export's), so that file order
    proves nothing there; "" for a log in write order. A framing that never keeps it says so
    (``auditlog.container.ORDERLESS``: a CloudWatch Logs export); a file whose content showed it (an Elasticsearch
    search's hits) has it kept by ``engine.files.detect``."""
    from .auditlog.container import ORDERLESS

    kept = settings.__dict__.get(UNORDERED)
    return kept if isinstance(kept, str) else ORDERLESS.get(settings.log_framing, "")
