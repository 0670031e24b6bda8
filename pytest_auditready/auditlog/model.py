"""Plain records that flow from the scenario and the log into the checks.

Nothing here holds a secret value: the ledger names canaries and identities, and entries keep the log's own
(HMAC'd) text. Both serialise to JSON for the evidence bundle.
"""

from __future__ import annotations

import calendar
import ipaddress
import operator
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from ..scan import native as _native

HMAC_PREFIX = "hmac-sha256:"
HMAC_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}\Z")

# RFC 3339 with a mandatory offset; the fraction is optional here so that a missing one can be reported. ASCII
# digits only (RFC 3339's DIGIT): ``\d`` alone would take any script's digits, which int() reads as numbers. A
# space may stand for the "T" (RFC 3339 5.6's note; Python's str() of an aware datetime, PostgreSQL's timestamptz).
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z", re.ASCII
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Timestamp:
    """A parsed RFC 3339 time: nanoseconds since the epoch plus what the text said about its precision."""

    ns: int
    fraction_digits: int  # as written
    significant_digits: int  # after dropping trailing zeros (Go's RFC3339Nano never writes them)


def parse_rfc3339(text: object) -> Optional[Timestamp]:
    """Parse an RFC 3339 time with an explicit offset; None when it is not one."""
    t = parse_time(text)
    return None if t is None else Timestamp(*t)


_SCALE = (1_000_000_000, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)
_SECONDS: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" (UTC) -> epoch seconds, for parse_time's fast path


def parse_time(text: object) -> Optional[tuple[int, int, int]]:
    """(ns since the epoch, fraction digits written, significant fraction digits) of an RFC 3339 time with an
    explicit offset, or None. A log's times share their leading seconds, so those are computed once."""
    if not isinstance(text, str):
        return None
    if text[-1:] == "Z" and text[19:20] == ".":
        seconds = _SECONDS.get(text[:19])
        frac = text[20:-1]
        n = len(frac)
        if seconds is not None and 0 < n <= 9 and frac.isdigit() and frac.isascii():
            return seconds * 1_000_000_000 + int(frac) * _SCALE[n], n, len(frac.rstrip("0"))
    m = _RFC3339_RE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    # RFC 3339 5.7: a real calendar day (no February 30), hours 00-23, minutes 00-59, offsets of 00:00 to 23:59;
    # second 60 only for a leap second, which ends a month's last UTC minute (23:59:60Z)
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1] + (month == 2 and calendar.isleap(year))
            and hour <= 23 and minute <= 59 and second <= 60):
        return None
    if m.group(9) and (int(m.group(10)) > 23 or int(m.group(11)) > 59):
        return None
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0))
    except (OverflowError, ValueError):
        return None
    frac = m.group(7) or ""
    ns_frac = int((frac + "000000000")[:9]) if frac else 0
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    if second == 60:  # read as the next month's first second, as the UTC clock that skipped it does
        seconds += 1
        try:
            if seconds % 86400 or time.gmtime(seconds).tm_mday != 1:
                return None
        except (OverflowError, OSError, ValueError):
            return None
    if not m.group(9) and text[:19].isascii() and text[4] == "-" and text[10] in "Tt":
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        _SECONDS[text[:10] + "T" + text[11:19]] = seconds
    return seconds * 1_000_000_000 + ns_frac, len(frac), len(frac.rstrip("0"))


@dataclass(frozen=True)
class Action:
    """One simulated access, as the client saw it. Plain data: it goes into the evidence bundle."""

    name: str
    identity: str  # scenario identity name: "reader", "writer", "unprivileged", ...
    display_name: str  # what the vault logs as auth.display_name for that identity
    method: str
    path: str  # API path without /v1/, e.g. "secret/data/auditready/<run>/c1"
    operation: str  # the logical operation the vault logs: create, read, update, delete, list
    sent_ns: int
    received_ns: int
    status: int  # HTTP status; 0 when no answer came back
    request_id: str = ""
    error: str = ""  # the vault's error text, if any (never a secret)
    expect: str = "allowed"  # "allowed", "denied", "probe" (ought to be denied) or "info" (see ActionSpec)
    secrets: tuple[str, ...] = ()  # names of secrets whose HMAC must appear in this action's entries

    @property
    def denied(self) -> bool:
        return self.status == 403

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["secrets"] = list(self.secrets)
        return d


@dataclass
class AccessLedger:
    """Every action of the scenario, in order, plus the names (never values) of what it planted."""

    run_id: str
    target: str
    actions: list[Action] = field(default_factory=list)
    canaries: dict[str, str] = field(default_factory=dict)  # canary name -> KV path
    identities: dict[str, str] = field(default_factory=dict)  # identity -> display name

    def record(self, action: Action) -> None:
        self.actions.append(action)

    def by_name(self, name: str) -> Optional[Action]:
        for a in self.actions:
            if a.name == name:
                return a
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "target": self.target,
            "canaries": dict(self.canaries),
            "identities": dict(self.identities),
            "actions": [a.to_json() for a in self.actions],
        }


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ""


@dataclass(frozen=True)
class AuditEntry:
    """One parsed line of a Vault/OpenBao file audit device."""

    file: str
    line: int
    data: Mapping[str, Any]
    raw: str = field(default="", repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def type(self) -> str:
        return _text(self.data.get("type"))

    @property
    def time_text(self) -> str:
        return _text(self.data.get("time"))

    @property
    def timestamp(self) -> Optional[Timestamp]:
        return parse_rfc3339(self.data.get("time"))

    @property
    def request_id(self) -> str:
        return _text(_get(self.data, "request", "id"))

    @property
    def path(self) -> str:
        return _text(_get(self.data, "request", "path"))

    @property
    def scope(self) -> str:
        """The namespace the request was made in (``request.namespace.path``, e.g. "team-a/"), empty for the root
        namespace: ``path`` is relative to it (see ``in_scope``)."""
        return _text(_get(self.data, "request", "namespace", "path"))

    @property
    def operation(self) -> str:
        return _text(_get(self.data, "request", "operation"))

    @property
    def display_name(self) -> str:
        return _text(_get(self.data, "auth", "display_name"))

    @property
    def entity_id(self) -> str:
        return _text(_get(self.data, "auth", "entity_id"))

    @property
    def accessor(self) -> str:
        return _text(_get(self.data, "auth", "accessor"))

    @property
    def client_token(self) -> str:
        return _text(_get(self.data, "auth", "client_token"))

    @property
    def identity(self) -> str:
        """Who (``vault_identity``); empty when a field of it holds a number, object or array: the vault writes text
        there, so a hop rewrote who made the request and no part of it is evidence."""
        auth = self.data.get("auth")
        if isinstance(auth, Mapping) and not all(
                isinstance(auth.get(k), (str, type(None))) for k in ("display_name", "entity_id", "accessor")):
            return ""
        return vault_identity(self.display_name, self.entity_id, self.accessor)

    @property
    def remote_address(self) -> str:
        return _text(_get(self.data, "request", "remote_address"))

    @property
    def remote_port(self) -> str:
        """``request.remote_port`` as text (the vault writes a number), empty when absent."""
        return port_text(_get(self.data, "request", "remote_port"))

    @property
    def error(self) -> str:
        return _text(self.data.get("error"))

    @property
    def result(self) -> str:
        """success / error: <reason> for a response; for a request, its error or the policy decision."""
        return vault_result(self.type, self.error, isinstance(self.data.get("response"), Mapping),
                            _get(self.data, "auth", "policy_results", "allowed"),
                            _text(_get(self.data, "response", "data", "error")))

    @property
    def record(self) -> "Record":
        """The entry's canonical fields, as the streaming checks read them."""
        return Record(self.file, self.line, self.type, self.time_text, self.identity, self.path, self.operation,
                      self.result, self.remote_address, self.request_id, self.scope, self.remote_port,
                      sender=vault_sender(self.display_name, self.entity_id, self.accessor, self.client_token))

    def get_field(self, name: str) -> str:
        """The canonical field ``name`` (see REQUIRED_FIELDS) as text, empty when absent."""
        return FIELD_GETTERS[name](self)

    def strings(self) -> Iterator[tuple[str, str]]:
        """Every string value in the entry with the key it sits under (list items take their list's key)."""
        return walk_strings(self.data)


def walk_strings(data: Any) -> Iterator[tuple[str, str]]:
    """Every string value in parsed JSON with the key it sits under (list items take their list's key). Keys can
    carry data too (KV v1 keys, header names): a long key is yielded as a value."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        key, v = stack.pop()
        if isinstance(v, str):
            yield key, v
        elif isinstance(v, Mapping):
            for k, vv in v.items():
                if isinstance(k, str) and len(k) > 16:
                    yield key, k
                stack.append((k if isinstance(k, str) else key, vv))
        elif isinstance(v, list):
            for vv in v:
                stack.append((key, vv))


def port_text(value: object) -> str:
    """A Vault/OpenBao ``request.remote_port`` (a JSON number) as text; empty for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return str(value)
    return ""


def in_scope(scope: str, path: str) -> str:
    """A request path with the namespace it was made in: Vault and OpenBao log ``request.path`` relative to
    ``request.namespace.path``, so ``secret/data/db`` in namespace ``team-a/`` is ``team-a/secret/data/db`` (the
    path a client outside the namespace names it by). The root namespace adds nothing."""
    if not scope:
        return path
    return (scope if scope.endswith("/") else scope + "/") + path


def vault_identity(display_name: str, entity_id: str, accessor: str) -> str:
    """Who, in a Vault/OpenBao entry: the display name, else the entity id, else the token accessor."""
    return display_name or entity_id or accessor


def vault_sender(display_name: str, entity_id: str, accessor: str, client_token: str) -> str:
    """Who sent a Vault/OpenBao request, field by field: what its entry's auth names of the token it carried
    (display name, entity id, accessor, the token's digest), joined by U+001F; empty when it names none. The
    request and response entries of one request name the same (but at a login, whose response names the token it
    made): one device HMACs both with its salt (openbao audit/format.go); another device's digests differ."""
    if not (display_name or entity_id or accessor or client_token):
        return ""
    return f"{display_name}\x1f{entity_id}\x1f{accessor}\x1f{client_token}"


def vault_result(type_: str, error: str, has_response: bool, allowed: object, data_error: str = "") -> str:
    """The result of a Vault/OpenBao entry: "error: <reason>" (the entry's error, or for a response the error
    its data carries, as a failed login's ``response.data.error``), "success" for a response that carries one,
    "allowed" for a request the policies allowed, else empty."""
    if error:
        return "error: " + error.strip()
    if type_ == "response":
        if data_error.strip():
            return "error: " + data_error.strip()
        return "success" if has_response else ""
    return "allowed" if allowed is True else ""


class Record:
    """The canonical fields of one entry, whatever its format: what the streaming checks read. Built from an
    AuditEntry (``entry.record``) or straight from a line by the offline readers."""

    __slots__ = (
        "action",
        "file",
        "identity",
        "line",
        "port",
        "request_id",
        "resource",
        "result",
        "scope",
        "sender",
        "source",
        "time",
        "ts",
        "type",
        "written",
        "wts",
    )

    def __init__(self, file: str, line: int, type: str, time: str, identity: str, resource: str, action: str,
                 result: str, source: str, request_id: str, scope: str = "", port: str = "", written: str = "",
                 sender: str = "") -> None:
        self.file = file
        self.line = line
        self.type = type  # "request", "response", or "" when the format does not say
        self.time = time
        self.identity = identity
        self.resource = resource
        self.action = action
        self.result = result
        self.source = source
        self.request_id = request_id
        self.scope = scope  # the Vault/OpenBao namespace ``resource`` is relative to ("" for the root namespace)
        self.port = port  # the Vault/OpenBao request's remote_port as text ("" when not logged): its connection
        self.ts = parse_time(time)  # (ns, digits written, significant digits) or None
        # When the entry was written, where the format says so apart from ``time`` (a Kubernetes event's
        # stageTimestamp: ``time`` is when its request was received): whether an entry that goes back in file order
        # was written in its place (checks.timestamp_accuracy).
        self.written = written
        self.wts = parse_time(written) if written else None
        # Who sent the request, field by field (``vault_sender``: Vault/OpenBao); empty where the format names no
        # more than ``identity``.
        self.sender = sender

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def secret(self) -> str:
        """The resource with its namespace (``in_scope``): which secret, across namespaces."""
        return in_scope(self.scope, self.resource)

    def get_field(self, name: str) -> str:
        """The canonical field ``name`` (one of REQUIRED_FIELDS) as text, empty when absent."""
        value = getattr(self, name)
        return value if isinstance(value, str) else ""


_UTC_NS: Optional[Callable[[list[str]], Optional[list[int]]]] = getattr(_native.lib, "utc_ns", None)
_TIMES_RUN = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,9}Z\n)*")
_CANONICAL: set[str] = set()  # "YYYY-MM-DDTHH:MM" prefixes known to name a real UTC minute (see utc_times)
_MINUTE = operator.itemgetter(slice(None, 16))
_SECOND = operator.itemgetter(slice(17, 19))


class Entries:
    """Consecutive entries of one file as columns (one list per canonical field): what the streaming checks'
    ``Visitor.entries`` read. A check answers the common case of a whole batch with a few C-speed list operations
    and falls back to ``record(i)`` one entry at a time for anything else, so a batch and its entries one by one
    always give the same findings."""

    __slots__ = (
        "_ns",
        "_utc",
        "action",
        "decoded",
        "file",
        "identity",
        "lines",
        "port",
        "request_id",
        "resource",
        "result",
        "scope",
        "sender",
        "source",
        "time",
        "type",
        "written",
    )

    def __init__(self, file: str, lines: Sequence[int], type: list[str], time: list[str], identity: list[str],
                 resource: list[str], action: list[str], result: list[str], source: list[str],
                 request_id: list[str]) -> None:
        self.file = file
        self.lines = lines  # line numbers (a range when the entries are consecutive lines)
        self.type = type
        self.time = time
        self.identity = identity
        self.resource = resource
        self.action = action
        self.result = result
        self.source = source
        self.request_id = request_id
        self._utc: Optional[bool] = None
        self._ns: Optional[list[int]] = None
        # The objects the columns were made of, when a reader decoded whole lines into them (offline/reader.py's
        # vault_block: its Vault/OpenBao line structs), so that a visitor can read a field the columns leave out
        # without going back to the raw line. None otherwise.
        self.decoded: Optional[Sequence[Any]] = None
        # Each entry's Vault/OpenBao namespace (``Record.scope``), when any entry of the batch was made outside the
        # root namespace; None when all were (and for formats without namespaces).
        self.scope: Optional[list[str]] = None
        # Each entry's Vault/OpenBao ``request.remote_port`` as text (``Record.port``), when the batch was made of
        # records that carry one; None otherwise (a reader that decoded whole lines leaves them in ``decoded``).
        self.port: Optional[list[str]] = None
        # Each entry's ``Record.written``, when the batch was made of records that carry one; None otherwise.
        self.written: Optional[list[str]] = None
        # Each entry's ``Record.sender``: see ``senders``.
        self.sender: Optional[list[str]] = None

    @classmethod
    def of(cls, records: Sequence[Record]) -> "Entries":
        """A batch of records of one file."""
        batch = cls(records[0].file if records else "", [r.line for r in records], [r.type for r in records],
                    [r.time for r in records], [r.identity for r in records], [r.resource for r in records],
                    [r.action for r in records], [r.result for r in records], [r.source for r in records],
                    [r.request_id for r in records])
        if any(r.scope for r in records):
            batch.scope = [r.scope for r in records]
        if any(r.port for r in records):
            batch.port = [r.port for r in records]
        if any(r.written for r in records):
            batch.written = [r.written for r in records]
        if any(r.sender for r in records):
            batch.sender = [r.sender for r in records]
        return batch

    def __len__(self) -> int:
        return len(self.lines)

    def record(self, i: int) -> Record:
        """Entry ``i`` as a Record."""
        return Record(self.file, self.lines[i], self.type[i], self.time[i], self.identity[i], self.resource[i],
                      self.action[i], self.result[i], self.source[i], self.request_id[i],
                      self.scope[i] if self.scope is not None else "", self.ports()[i],
                      self.written[i] if self.written is not None else "",
                      self.senders()[i] if self.sender is not None or self.decoded is not None else "")

    def ports(self) -> list[str]:
        """Each entry's ``request.remote_port`` as text ("" where none): from the records the batch was made of, or
        from the Vault/OpenBao lines a reader decoded into it (``decoded``)."""
        if self.port is None:
            if self.decoded is None:
                self.port = [""] * len(self.lines)
            else:  # port_text, written out: a call per entry costs more than the rest of the column
                ports = [getattr(getattr(item, "request", None), "remote_port", None) for item in self.decoded]
                self.port = [str(v) if type(v) is int and 0 < v < 65536 else "" for v in ports]
        return self.port

    def senders(self) -> list[str]:
        """Each entry's ``Record.sender`` (who sent the request, field by field): from the records the batch was
        made of, or from the Vault/OpenBao lines a reader decoded into it (``decoded``); else ``identity``."""
        if self.sender is not None:
            return self.sender
        if self.decoded is None:
            return self.identity
        # vault_sender, written out: a call per entry costs more than the rest of the column
        auths = [getattr(item, "auth", None) for item in self.decoded]
        self.sender = [f"{a.display_name}\x1f{a.entity_id}\x1f{a.accessor}\x1f{a.client_token}"
                       if a is not None and (a.display_name or a.entity_id or a.accessor or a.client_token) else ""
                       for a in auths]
        return self.sender

    def secret(self, i: int) -> str:
        """Entry ``i``'s resource with its namespace (``in_scope``): which secret, across namespaces."""
        return in_scope(self.scope[i], self.resource[i]) if self.scope is not None else self.resource[i]

    def records(self) -> Iterator[Record]:
        return (self.record(i) for i in range(len(self.lines)))

    def where(self, i: int) -> str:
        return f"{self.file}:{self.lines[i]}"

    def utc_times(self) -> bool:
        """True when every time reads "YYYY-MM-DDTHH:MM:SS.<1 to 9 digits>Z" (ASCII digits) and names a real UTC
        second: then parse_time reads each of them, and the order of the times without their final "Z" as text
        is their order in time (a prefix that differs orders by it; within one second, by the fraction). The C
        extension's utc_ns answers this and makes ``times_ns`` in the same pass, when it is built."""
        if self._utc is None and _UTC_NS is not None and type(self.time) is list:
            self._ns = _UTC_NS(self.time)
            self._utc = self._ns is not None
        if self._utc is None:
            times = self.time
            joined = "\n".join(times) + "\n"
            ok = joined.count("\n") == len(times) and _TIMES_RUN.fullmatch(joined) is not None
            if ok and times:
                # A real second: a real minute, and 00 to 59 seconds (a leap second's 60 is left to parse_time).
                ok = max(map(_SECOND, times)) <= "59"
                for minute in set(map(_MINUTE, times)) if ok else ():
                    if minute not in _CANONICAL:
                        t = parse_time(minute + ":00.0Z")
                        if t is None or _utc_text(t[0] // 1_000_000_000) != minute + ":00":
                            ok = False
                            break
                        if len(_CANONICAL) > 4096:
                            _CANONICAL.clear()
                        _CANONICAL.add(minute)
            self._utc = ok
        return self._utc


    def times_ns(self) -> list[int]:
        """The ns since the epoch of every time, for a batch ``utc_times`` vouched for: made once a batch, whichever
        visitor asks first (each second's value is parse_time's, kept by its text)."""
        if self._ns is None:
            assert self.utc_times(), "times_ns needs a batch whose times utc_times vouched for"
            seconds, scale, out = _SECONDS, _SCALE, []
            for t in self.time:
                sec = seconds.get(t[:19])
                if sec is None:
                    out.append(parse_time(t)[0])  # type: ignore[index]  # utc_times: it parses (and is now kept)
                else:
                    out.append(sec * 1_000_000_000 + int(t[20:-1]) * scale[len(t) - 21])
            self._ns = out
        return self._ns


def _utc_text(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


FIELD_GETTERS: dict[str, Callable[[AuditEntry], str]] = {
    "time": lambda e: e.time_text,
    "identity": lambda e: e.identity,
    "resource": lambda e: e.path,
    "action": lambda e: e.operation,
    "result": lambda e: e.result,
    "source": lambda e: e.remote_address,
    "request_id": lambda e: e.request_id,
}
REQUIRED_FIELDS: Sequence[str] = tuple(FIELD_GETTERS)


@dataclass(frozen=True)
class BadLine:
    """A log line that could not be parsed: kept so that it is reported (and still scanned for leaks)."""

    file: str
    line: int
    reason: str
    raw: str = field(default="", repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address as a producer writes a source (a zone allowed, no brackets)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
