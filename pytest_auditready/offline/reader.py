"""Streaming readers: a log file (plain or gzip) as blocks of whole lines, each line parsed into a Record.

Memory stays flat whatever the file size: a block is about 512 KiB of whole lines, and a line longer than
MAX_LINE_BYTES is skipped as it streams past (reported as a bad line), never held. A Vault/OpenBao block that is
plainly one object a line is decoded in one call into columns (``vault_block``); any other block is read line by
line (``vault_parser``), which tells exactly which lines are bad.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import time
from dataclasses import dataclass
from operator import attrgetter
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import msgspec
import orjson

from ..auditlog import dupkeys
from ..auditlog.formats import (
    CLOUDTRAIL_FIELDS,
    K8S_FIELDS,
    gcp_status_entry,
    gcp_status_left_out,
    gcp_status_path,
)
from ..auditlog.lines import HEAD_BYTES, MAX_LINE_BYTES, not_one, too_long
from ..auditlog.model import (
    AuditEntry,
    BadLine,
    Entries,
    Record,
    is_ip,
    parse_time,
    port_text,
    vault_identity,
    vault_result,
    vault_sender,
)
from ..auditlog.rotation import TRAILING, compression_in, decompressing
from ..auditlog.syslog import carried_prefix, eight_bit, eight_bit_escaped, truncated, unframe
from ..auditlog.vault_json import NOT_VAULT, SERVER_LOG_LINE
from ..config import EPOCH_UNITS
from ..errors import AuditReadyError
from ..text import clip, listed

if TYPE_CHECKING:
    from ..auditlog import container

__all__ = ["CLOUDTRAIL_FIELDS", "K8S_FIELDS", "MAX_LINE_BYTES"]  # read here, defined beside their kin

BLOCK = 1 << 19


# -- Vault / OpenBao: decode only the fields the checks read (msgspec skips the rest at C speed) -------------
class _Policy(msgspec.Struct, gc=False):
    allowed: Any = None


class _Auth(msgspec.Struct, gc=False):
    display_name: str = ""
    entity_id: str = ""
    accessor: str = ""
    policy_results: Optional[_Policy] = None
    client_token: str = ""  # a digest: checks/integrity_digest.py pairs it with the request's (DigestFormat.entries)
    token_policies: Any = None  # fixed when the token is made (checks/integrity_digest.py: _holders)


class _Namespace(msgspec.Struct, gc=False):
    path: str = ""  # "" in the root namespace ({"id":"root"})


class _Request(msgspec.Struct, gc=False):
    id: str = ""
    path: str = ""
    operation: str = ""
    remote_address: str = ""
    remote_port: Any = None  # with remote_address, the connection (checks/completeness.py)
    namespace: Optional[_Namespace] = None
    client_token: str = ""
    client_token_accessor: str = ""  # the accessor auth.accessor names (checks/integrity_digest.py: _two_tokens)
    wrap_ttl: Any = None  # set when the answer is to be wrapped (checks/integrity_digest.py: _unissued)


class _ResponseData(msgspec.Struct, gc=False):
    error: Any = None


class _Response(msgspec.Struct, gc=False):
    """A response: only whether it is there, the error some refusals carry in data (a failed login's
    ``response.data.error``, HMAC'd, with no top-level ``error``), and the token it issued (auth, wrap_info: see
    checks/integrity_digest.py's _unissued)."""

    data: Optional[_ResponseData] = None
    auth: Any = None
    wrap_info: Any = None


def _data_error(response: Optional[_Response]) -> str:
    err = response.data.error if response is not None and response.data is not None else None
    return err if isinstance(err, str) else ""


class _VaultLine(msgspec.Struct, gc=False):
    time: str = ""
    type: str = ""
    auth: Optional[_Auth] = None
    request: Optional[_Request] = None
    error: str = ""
    response: Optional[_Response] = None


_vault_decoder = msgspec.json.Decoder(_VaultLine)
_EMPTY_AUTH = _Auth()
_EMPTY_REQUEST = _Request()
_ROOT = _Namespace()

Parsed = Union[Record, BadLine]


# The files whose last line, with no newline after it, is being read now: ``_blocks`` names the file while its
# consumer reads that line's block (``engine.driver.drive`` parses a block before it asks for the next), so that the
# parsers say what an entry that ends early there is (``_bad_json``).
_UNENDED: set[str] = set()


def unended(size: int) -> str:
    """Why the last line of a file, ``size`` bytes with no newline after them, is the start of an entry cut short."""
    return (f"ends mid-entry after {size} bytes, where the file ends without a newline: the file was cut or copied "
            "while this entry was being written (a copy of the live file taken mid-write, logrotate's copytruncate, "
            "a full disk, a shipper that stopped); keep the whole line (copy a rotated file, not the live one, and "
            "rotate by rename rather than copytruncate)")


SPLUNK_TRUNCATE = 10000  # Splunk's TRUNCATE (props.conf) default: the bytes of a line it keeps


def _bad_json(file: str, line: int, raw: bytes) -> BadLine:
    text = raw.decode("utf-8", "replace")
    if file in _UNENDED and raw.lstrip()[:1] == b"{" and truncated(raw):
        return BadLine(file, line, unended(len(raw)), text)
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if raw.lstrip()[:1] == b"{":  # objects one after another: the general parser names that
            from ..auditlog.vault_json import parse_line

            item = parse_line(file, line, raw)
            if isinstance(item, BadLine) and item.reason.startswith("JSON objects o"):  # one after another / on one
                return item
        from ..auditlog.vault_json import split_at

        why = split_at(raw)
        if not why and len(raw) == SPLUNK_TRUNCATE and raw[:1] == b"{" and exc.pos >= len(raw):
            from ..auditlog.container import SHIPPER_CUT  # a SIEM's raw export of lines it cut (red team rt67 F9)

            why = SHIPPER_CUT.format(size=len(raw))
        return BadLine(file, line, why or f"malformed JSON ({str(exc).split(':')[0]})", text)
    return BadLine(file, line, "the line's JSON is not an object", text)


class NoBlankLines:
    """A line parser for a log whose producer never writes an empty line (LogFormat.no_blank_lines: the Vault/OpenBao
    file device writes each entry as one object and a newline), as ``engine.driver.reader_for`` gives it:
    ``engine.driver.drive`` reads an empty or blank line there as a line whose entry was removed (``BLANK``), where
    other formats' exports may hold blank lines and skip them."""

    __slots__ = ("parse",)

    def __init__(self, parse: Callable[[int, bytes], Parsed]) -> None:
        self.parse = parse

    def __call__(self, line: int, raw: bytes) -> Parsed:
        return self.parse(line, raw)


BLANK = ("an empty line, which the audit device never writes (each entry is one JSON object and a newline): the "
         "entry written here was removed and its line left blank")


def removed_lines(lines: Sequence[bytes], file_start: bool = False, file_end: bool = True) -> set[int]:
    """The indexes of the empty or blank lines among a block's ``lines`` that stand where an entry was removed
    (``BLANK``). An export that wrote every line twice-ended (an empty line after each entry: lines that kept their
    newline joined with another) pads with one, so there only the empty lines beyond one between two entries are;
    and one empty line that ends the file (``file_end``: the block's last line is the file's) is an export's
    newline too many at the end, no entry. Padding follows an entry: empty lines that open the file
    (``file_start``: the block's first line is the file's) follow none, so each of them stands where an entry
    was."""
    blank = [not ln or ln.isspace() for ln in lines]
    runs: list[tuple[int, int]] = []  # [start, end) of each run of empty lines
    i, n = 0, len(lines)
    while i < n:
        if blank[i]:
            j = i
            while j < n and blank[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    if not runs:
        return set()
    padded = not any(not a and not b for a, b in zip(blank, blank[1:]))  # no two entries side by side
    out: set[int] = set()
    for start, end in runs:
        opening = file_start and start == 0
        if end == n and end - start == 1 and not opening and file_end:
            continue  # a newline too many at the end (or the padding after the last entry)
        out.update(range(start + 1 if padded and not opening else start, end))
    return out


_VAULT_TYPES = frozenset({"request", "response"})
# What a JSON object that is no Vault/OpenBao entry (no request object, no request or response type) is, told by a
# field only its producer writes: such a line in a file read as a Vault/OpenBao log is another producer's (a
# shipper or a SIEM export that merged two logs: red team rt34, F2), never an entry of nobody's.
# The vault server's own log (hclog's JSON: "@level", "@message", "@timestamp") where the head of a file is told
# (auditlog.detect) refuses it whole; a line of it further on is named here.
_PRODUCER_MARKS = ((b'"audit.k8s.io/', "a Kubernetes audit event"), (b'"eventVersion"', "a CloudTrail record"),
                   (b'"protoPayload"', "a Google Cloud audit log entry"))
_SERVER_LOG = b'"@message"'


def _foreign(e: _VaultLine) -> bool:
    """Whether a decoded line is no Vault/OpenBao entry: no type request or response, and no request object with
    the id, path or operation the vault writes in each (a reverse proxy's access log has a "request" object of its
    own: Caddy's, Kong's; red team rt39, F5)."""
    r = e.request
    return e.type not in _VAULT_TYPES and (r is None or not (r.id or r.path or r.operation))


def no_vault_entry(body: bytes) -> str:
    """Why a JSON object line is no Vault/OpenBao entry (``_foreign``), naming what it seems to be."""
    if _SERVER_LOG in body and b'"@level"' in body:
        return SERVER_LOG_LINE
    what = next((name for mark, name in _PRODUCER_MARKS if mark in body), "")
    return (f"the line is {what}, {NOT_VAULT}: the file mixes producers; split it per producer" if what
            else f"the line is {NOT_VAULT}: a JSON object with no type request or response and no request object "
            "as the vault writes one (another producer's line in this file, a reverse proxy's access log, or a hop "
            "that dropped both)")


def vault_parser(file: str, prefix: str = "") -> Callable[[int, bytes], Parsed]:
    """Vault/OpenBao file device lines, each after the device prefix ``prefix`` (log_prefix) when there is one."""
    from ..auditlog.vault_json import decode_deep, missing_prefix, parse_line, too_deep

    prefix_b = prefix.encode("utf-8")

    def parse(line: int, raw: bytes) -> Parsed:
        body = raw[len(prefix_b) :] if prefix_b and raw.startswith(prefix_b) else raw
        if prefix_b and body is raw and raw[:1] == b"{":  # (framing, or other text before it: as below)
            return BadLine(file, line, missing_prefix(prefix), raw.decode("utf-8", "replace"))
        if body[:1] != b"{":
            framed, problem = unframe(raw)
            if problem:
                return BadLine(file, line, problem, raw.decode("utf-8", "replace"))
            if framed is not None:
                return parse(line, carried_prefix(raw, framed, prefix_b) if prefix_b else framed)
            # Whatever is odd about it (text before the object, no object at all), the general parser says.
            item = parse_line(file, line, raw, prefix)
            return item.record if isinstance(item, AuditEntry) else item
        try:
            try:
                e = _vault_decoder.decode(body)
            except RecursionError:  # msgspec bounds nesting by the interpreter's recursion limit
                e = decode_deep(_vault_decoder.decode, body)
        except msgspec.ValidationError:
            # Valid JSON of unexpected types: the general parser (the one live runs use) decides.
            item = parse_line(file, line, raw, prefix)
            return item.record if isinstance(item, AuditEntry) else item
        except msgspec.DecodeError:
            return _bad_json(file, line, body)
        except RecursionError:  # deeper than the vault writes
            return BadLine(file, line, too_deep(body), raw.decode("utf-8", "replace"))
        twice = dupkeys.problem(body)
        if twice:
            return BadLine(file, line, twice, raw.decode("utf-8", "replace"))
        if _foreign(e):
            return BadLine(file, line, no_vault_entry(body), raw.decode("utf-8", "replace"))
        a = e.auth or _EMPTY_AUTH
        r = e.request or _EMPTY_REQUEST
        allowed = a.policy_results.allowed if a.policy_results is not None else None
        return Record(file, line, e.type, e.time, vault_identity(a.display_name, a.entity_id, a.accessor),
                      r.path, r.operation,
                      vault_result(e.type, e.error, e.response is not None, allowed, _data_error(e.response)),
                      r.remote_address, r.id, r.namespace.path if r.namespace is not None else "",
                      port_text(r.remote_port),
                      sender=vault_sender(a.display_name, a.entity_id, a.accessor, a.client_token))

    return parse


_block_decoder = msgspec.json.Decoder(_VaultLine)  # a response that is not an object or null fails the block
_TYPE, _TIME, _ERROR = attrgetter("type"), attrgetter("time"), attrgetter("error")
_DISPLAY_NAME, _ENTITY_ID, _ACCESSOR = attrgetter("display_name"), attrgetter("entity_id"), attrgetter("accessor")
_PATH, _OPERATION, _REMOTE_ADDRESS, _ID = (attrgetter("path"), attrgetter("operation"), attrgetter("remote_address"),
                                          attrgetter("id"))
_NAMESPACE = attrgetter("namespace")


# A block is one object a line when, besides starting with "{" and ending with "}", it has no newline that does
# not sit between "}" and "{" (such a newline is never inside one JSON value, where "}" cannot be followed by
# "{"), and no "}" followed by "{" on one line (two objects; inside a string it is a false alarm, which only
# costs the slow path). One Hyperscan pass tells, instead of counting the newlines and the separators; with the
# C extension (scan.native), ``blocks`` learns it in the pass that counts the lines.
_IRREGULAR = (rb"[^}]\n", rb"\n[^{]", rb"\}[ \t\r]*\{")


class Block:
    """Whole lines of a file (``blocks``): the number of the first, their bytes without the final newline (or a
    BadLine for a line over MAX_LINE_BYTES), and how many lines they are. The count is made on first use unless
    whoever read the block knows it already (``vault_block`` does): counting newlines is a pass over the bytes.
    ``irregular``: whether the block is not plainly one object a line (see _IRREGULAR), when already known.
    ``unwrapped``: a platform's framing was taken off (``auditlog.container``), which leaves a line empty where its
    record was joined to the one before or left out (counted as such), so an empty line is no removed entry.
    ``left``: the lines the framing left out as no entry (the vault's own server log), each as (its index in the
    block, its text as read, framing included): no entry, but a secret there is in the file all the same.
    ``around``: the fields a platform's or a shipper's record holds beside the line it carries, for the lines whose
    line was kept (``auditlog.container.around``): (index in the block, one line of JSON)."""

    __slots__ = ("_lines", "around", "data", "first", "irregular", "left", "unwrapped")

    def __init__(self, first: int, data: Union[bytes, BadLine], lines: Optional[int] = None,
                 unwrapped: bool = False, left: Sequence[tuple[int, bytes]] = (),
                 around: Sequence[tuple[int, bytes]] = ()) -> None:
        self.first = first
        self.data = data
        self._lines = lines
        self.irregular: Optional[bool] = None
        self.unwrapped = unwrapped
        self.left = left
        self.around = around

    @property
    def lines(self) -> int:
        if self._lines is None:
            self._lines = self.data.count(b"\n") + 1 if isinstance(self.data, bytes) else 1
        return self._lines

    @lines.setter
    def lines(self, n: int) -> None:
        self._lines = n


def vault_block(file: str, prefix: str = "") -> Callable[[Block], Optional[Entries]]:
    """The fast path of ``vault_parser``: a whole block of lines (``blocks``) decoded in one call into columns,
    or None when the block holds anything ``vault_parser`` would not read as one plain object a line (then the
    caller parses it line by line, which reports exactly which lines are bad). For the blocks it takes, the
    entries are the ones ``vault_parser`` makes of each line, and the block's line count is set."""
    if prefix:
        return lambda _blk: None  # every line must carry the prefix (vault_parser says which does not)
    from ..scan.hyperscan import any_match

    irregular = any_match(_IRREGULAR)  # None without Hyperscan: count instead

    def decode(blk: Block) -> Optional[Entries]:
        data = blk.data
        if not isinstance(data, bytes) or data[:1] != b"{" or data[-1:] != b"}":
            return None
        expect: Optional[int] = None  # with the Hyperscan test, the lines are as many as the objects
        if blk.irregular is not None:  # told by ``blocks`` (the C extension's pass)
            if blk.irregular:
                return None
        elif irregular is not None:
            if irregular(data):
                return None
        else:
            expect = blk.lines
            if expect > 1 and data.count(b"}\n{") != expect - 1:
                return None
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return None
        if dupkeys.odd_lines(data):
            return None  # line by line says which line holds a key twice
        try:
            items = _block_decoder.decode_lines(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None  # line by line says which line is bad
        n = len(items)
        if expect is not None and n != expect:
            return None
        types = list(map(_TYPE, items))
        if not _VAULT_TYPES.issuperset(types) and any(map(_foreign, items)):
            return None  # a line that is no Vault/OpenBao entry: line by line names it (no_vault_entry)
        blk.lines = n
        first = blk.first
        empty_auth, empty_request = _EMPTY_AUTH, _EMPTY_REQUEST
        auths = [e.auth or empty_auth for e in items]
        requests = [e.request or empty_request for e in items]
        # vault_identity and vault_result, written out: a call per entry costs more than the rest of the column.
        identity = [d or i or a for d, i, a in zip(map(_DISPLAY_NAME, auths), map(_ENTITY_ID, auths),
                                                    map(_ACCESSOR, auths))]
        result = [
            ("error: " + err.strip() if err else
             (("error: " + _data_error(e.response).strip() if _data_error(e.response) else "success")
              if e.response is not None else "") if t == "response"
             else ("allowed" if a.policy_results is not None and a.policy_results.allowed is True else ""))
            for e, t, err, a in zip(items, types, map(_ERROR, items), auths)
        ]
        batch = Entries(file, range(first, first + n), types, list(map(_TIME, items)), identity,
                        list(map(_PATH, requests)), list(map(_OPERATION, requests)), result,
                        list(map(_REMOTE_ADDRESS, requests)), list(map(_ID, requests)))
        batch.decoded = items
        spaces = list(map(_NAMESPACE, requests))
        if spaces.count(_ROOT) + spaces.count(None) != n:  # C-speed: a namespace other than the root is rare
            batch.scope = [s.path if s is not None else "" for s in spaces]
        return batch

    return decode


def resolve(data: Any, path: Sequence[str]) -> Optional[list[Union[str, int]]]:
    """The keys (and list indexes) that the dotted path ``path`` (split at its dots) names in ``data``, or None when
    nothing is there. A key may hold dots itself (Teleport's "addr.remote", the claim URIs of an Azure identity such
    as "http://schemas.microsoft.com/identity/claims/objectidentifier"): where the next segment alone leads nowhere,
    the segments joined by dots are tried, shortest first."""
    if not path:
        return []
    if isinstance(data, list):
        k = path[0]
        if _index(k) and int(k) < len(data):
            rest = resolve(data[int(k)], path[1:])
            return None if rest is None else [int(k), *rest]
        return None
    if not isinstance(data, dict):  # (parsed JSON; typing's Mapping costs a microsecond a call)
        return None
    for j in range(1, len(path) + 1):
        key = ".".join(path[:j])
        if key in data:
            rest = resolve(data[key], path[j:])
            if rest is not None:
                return [key, *rest]
    return None


def _lookup(data: Any, path: Sequence[str], whole: bool = False) -> str:
    """The value at ``path`` as text: a string as it is, a number or boolean as JSON writes it; an object or array
    is no value ("") unless ``whole``, then its compact JSON (a result such as Google's google.rpc.Status, whose
    proto3 JSON omits the code 0 of success and so is {} for every success)."""
    root = data
    for k in path:
        if isinstance(data, dict) and k in data:
            data = data[k]
        elif isinstance(data, list) and _index(k) and int(k) < len(data):
            data = data[int(k)]
        else:
            keys = resolve(root, path)  # (a key with dots in it: rare, so looked for only when the plain walk fails)
            if keys is None:
                return ""
            data = root
            for key in keys:
                data = data[key]
            break
    if isinstance(data, str):
        return data
    if isinstance(data, (dict, list)):
        if not whole:
            return ""
        from ..auditlog.vault_json import dumps

        return dumps(data).decode("utf-8")
    if isinstance(data, bool) or data is None:
        return "" if data is None else str(data).lower()
    return str(data)


def leaf(data: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` as parsed (None when nothing is there)."""
    keys = resolve(data, path)
    if keys is None:
        return None
    for key in keys:
        data = data[key]
    return data


_FIELDS = ("type", "time", "identity", "resource", "action", "result", "source", "request_id")
_RESULT = _FIELDS.index("result")
_WHEN = _FIELDS.index("time")
_REQUEST_ID = _FIELDS.index("request_id")
_EPOCH = re.compile(r"[1-9][0-9]{9,18}\Z")


def epoch_time(text: str, unit: str) -> str:
    """The RFC 3339 UTC time the epoch number ``text`` names in ``unit`` (config.EPOCH_UNITS), with that unit's
    digits (ms: ``2025-11-30T10:00:00.123Z``); "" for text that is no whole number, or not of the unit's length: 10
    digits of seconds and the unit's own (13 for ms), the times from 2001-09-09 to 2286-11-20. A number of another
    length is one of another unit (GitHub's milliseconds cut to seconds by a hop: 1764496800 read as ms is 1970,
    its last digits taken for a fraction; red team rt101), so no time."""
    digits = EPOCH_UNITS[unit]
    if len(text) != 10 + digits or _EPOCH.match(text) is None:
        return ""
    seconds, fraction = divmod(int(text), 10**digits)
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{fraction:0{digits}d}Z" if digits else f"{whole}Z"


# What serialisers and log formats write for "no value" (a null stringified, the common log format's dash): in a
# mapped field it names no one, no time, no path, no request, as an empty field does.
PLACEHOLDERS = frozenset({"-", "--", "null", "nil", "none", "undefined", "n/a", "(null)", "<nil>", "<none>"})


def is_placeholder(value: str) -> bool:
    """``value`` is a placeholder for no value (``PLACEHOLDERS``, whatever its case and the blanks around it)."""
    return len(value) <= 11 and value.strip().lower() in PLACEHOLDERS


# What stands for no request id where a request id is read (generic JSON lines, a Kubernetes event's auditID), besides
# PLACEHOLDERS: "unknown", and an id of zeros alone ("0", the nil UUID 00000000-0000-0000-0000-000000000000, with or
# without braces, an all-zero trace id): the zero value a hop writes for an id it never had (an unset number, .NET's
# Guid.Empty, Go's uuid.Nil), which W3C Trace Context and OpenTelemetry call no valid id. It tells no request apart
# (red team rt102 F5). Vault and OpenBao write a random UUID, the API server a UUID or the client's Audit-ID header.
def no_request_id(value: str) -> bool:
    """``value``, read as a request id, names no request: "unknown" (whatever its case) or zeros alone, with dashes
    and braces or not, and the blanks around it."""
    v = value.strip()
    if v[:1] == "{" and v[-1:] == "}":
        v = v[1:-1]
    if v[:1] in ("u", "U"):
        return v.lower() == "unknown"
    return v[:1] in ("0", "-") and len(v) <= 64 and not v.strip("0-") and "0" in v


def _index(key: str) -> bool:
    """``key`` (a segment of a dotted path) names a list item: ASCII digits alone ("²" and "٣" are keys: int() would
    refuse the one and read the other as 3)."""
    return key.isascii() and key.isdigit()


def _first(data: Any, paths: Sequence[Sequence[str]]) -> str:
    for path in paths:
        value = _lookup(data, path)
        if value:
            return value
    return ""


def _object(file: str, line: int, raw: bytes) -> Union[dict[str, Any], BadLine]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not str(exc).startswith("depth limit exceeded"):
            return _bad_json(file, line, raw)
        from ..auditlog.vault_json import loads_deep, too_deep

        try:  # orjson stops at 1024 levels; the producers' Go decoders take up to 10000
            data = loads_deep(raw)
        except RecursionError:
            return BadLine(file, line, too_deep(raw), raw.decode("utf-8", "replace"))
        except ValueError:
            return _bad_json(file, line, raw)
    if not isinstance(data, dict):
        return _bad_json(file, line, raw)
    twice = dupkeys.problem(raw)
    return BadLine(file, line, twice, raw.decode("utf-8", "replace")) if twice else data


def jsonl_parser(file: str, field_map: Mapping[str, str],
                 judge: Optional[Callable[[dict[str, Any]], str]] = None,
                 types: Optional[Mapping[str, str]] = None, epoch: str = "") -> Callable[[int, bytes], Parsed]:
    """Generic JSON lines: ``field_map`` names the dotted JSON path of each canonical field; a line that ``judge``
    says is no entry of its producer (a reason, "" for none) is a bad line that says why. ``types``: the producer's
    words for a request's two halves (settings' type_values) -> "request" or "response". ``epoch``: the unit of an
    epoch number in the time field (settings' epoch_unit), read as the RFC 3339 time it names (``epoch_time``)."""
    from ..config import field_paths

    paths = {name: field_paths(p) for name, p in field_map.items()}
    order = [paths.get(n) for n in _FIELDS]  # each field's paths, tried in order (a list in field_map)
    status = next((p for p in order[_RESULT] or () if gcp_status_path(p)), None)

    def parse(line: int, raw: bytes) -> Parsed:
        if raw[:1] != b"{":
            framed, problem = unframe(raw)
            if problem:
                return BadLine(file, line, problem, raw.decode("utf-8", "replace"))
            raw = framed if framed is not None else raw
        data = _object(file, line, raw)
        if isinstance(data, BadLine):
            return data
        problem = judge(data) if judge is not None else ""
        if problem:
            return BadLine(file, line, problem, raw.decode("utf-8", "replace"))
        v, used = [], []
        for i, alts in enumerate(order):  # the first of a field's paths that holds a value
            value, at = "", None
            for p in alts or ():
                value = _lookup(data, p, i == _RESULT)
                if value:
                    at = p
                    break
            v.append(value)
            used.append(at)
        if types and v[0] in types:  # (_FIELDS[0] is the type)
            v[0] = types[v[0]]
        if status is not None and not v[_RESULT]:  # Cloud Audit Logs leave a success's status out
            v[_RESULT] = gcp_status_left_out(data, status) or ""
        elif v[_RESULT] in ("[]", "{}") and not (status is not None and gcp_status_entry(data, status) is not None):
            v[_RESULT] = ""  # an empty list or object says no outcome (an AuditLog's {} status is a success's)
        for i, alts in enumerate(order):  # true or false names no one, no time, no path, no request: not evidence
            at = used[i]
            if at and i != _RESULT and v[i] in ("true", "false") and isinstance(leaf(data, at), bool):
                v[i] = ""
            elif is_placeholder(v[i]) or (i == _REQUEST_ID and no_request_id(v[i])):  # nor does a placeholder
                v[i] = ""
            elif alts and i != _RESULT and not v[i]:
                for p in alts:
                    held = leaf(data, p)
                    if held and isinstance(held, (dict, list)):  # there, but no one value: not "lacks" (rt44 F4)
                        return BadLine(file, line, not_one(_FIELDS[i], ".".join(p), held),
                                       raw.decode("utf-8", "replace"))
        if epoch and v[_WHEN]:
            v[_WHEN] = epoch_time(v[_WHEN], epoch) or v[_WHEN]  # (what is no epoch number stays, to be judged)
        return Record(file, line, *v)

    return parse


# What the API server writes in every audit event (k8s.io/apiserver pkg/apis/audit/v1 types.go, Event: stage,
# requestReceivedTimestamp and stageTimestamp are MicroTime, marshalled as RFC 3339 UTC with six fractional digits by
# apimachinery's MicroTime.MarshalJSON; objectRef is set for every resource request, and only non-resource URLs
# such as /healthz or /openapi/v3 have none: https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/).
K8S_STAGES = frozenset({"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"})
# The audit levels an event is written at (Event.level, no omitempty: every event names its level; a rule at level
# None writes no event at all).
K8S_LEVELS = frozenset({"Metadata", "Request", "RequestResponse"})
# A resource request's path (apiserver's RequestInfoFactory): /api/v1/<resource or namespaces>... and
# /apis/<group>/<version>/<resource>...; shorter ones (/api, /api/v1, /apis/<group>/<version>) are discovery.
_K8S_RESOURCE_PATH = re.compile(r"/api/v1/[^/?]+|/apis/[^/?]+/[^/?]+/[^/?]+")


def _k8s_problem(data: Mapping[str, Any], digits: int, skew_ns: int) -> str:
    """Why ``data`` is not an audit event as the API server writes it ("" when it is): a stage it has no such name for,
    a level it writes no event at, an auditID that is no string, a stageTimestamp missing or not an RFC 3339 time with
    an offset and ``digits`` fractional digits (a received time of that kind too, once it reads as a time), a stage
    earlier than the request's receipt by more than ``skew_ns``, sourceIPs that are not IP addresses (the API server
    writes the client's and its proxies' addresses, net.IP), a resource request without its objectRef (but one refused
    at authentication, 401: the failed-authentication audit of fixtures/k8s/real/failed-authn.log names none)."""
    stage = data.get("stage")
    if stage not in K8S_STAGES:
        return (f"its stage {clip(json.dumps(stage), 40) if stage is not None else '(none)'} is none of the API "
                f"server's ({', '.join(sorted(K8S_STAGES))})")
    level = data.get("level")
    if level not in K8S_LEVELS:
        return (f"its level {clip(json.dumps(level), 40) if level is not None else '(none)'} is none the API server "
                f"writes an event at ({', '.join(sorted(K8S_LEVELS))}; at None it writes nothing)")
    aid = data.get("auditID")
    if aid is not None and not isinstance(aid, str):
        return f"its auditID is a JSON {type(aid).__name__}, not the string the API server writes"
    received = data.get("requestReceivedTimestamp")
    rts = parse_time(received) if isinstance(received, str) else None
    if rts is not None and rts[1] < digits:
        return (f"its requestReceivedTimestamp {clip(str(received), 40)!r} has {rts[1]} fractional digit(s): the API "
                "server writes six (MicroTime), so a hop re-timed it")
    st = data.get("stageTimestamp")
    sts = parse_time(st) if isinstance(st, str) else None
    if sts is None:
        return ("it has no stageTimestamp" if st is None else
                f"its stageTimestamp {clip(str(st), 40)!r} is not an RFC 3339 time with an explicit offset")
    if sts[1] < digits:
        return (f"its stageTimestamp {clip(str(st), 40)!r} has {sts[1]} fractional digit(s): the API server writes six "
                "(MicroTime), so a hop re-timed it")
    if rts is not None and sts[0] < rts[0] - skew_ns:
        return (f"its stageTimestamp {clip(str(st), 40)} is before its requestReceivedTimestamp "
                f"{clip(str(received), 40)} by more than max_skew ({skew_ns / 1e9:g} s): a stage is reached after the "
                "request is received")
    ips = data.get("sourceIPs")
    if isinstance(ips, list) and ips and not all(isinstance(ip, str) and is_ip(ip) for ip in ips):
        return f"its sourceIPs {clip(json.dumps(ips), 60)} are not all IP addresses, as the API server writes them"
    uri = data.get("requestURI")
    status = data.get("responseStatus")
    refused_at_authn = isinstance(status, Mapping) and status.get("code") == 401  # before its object is resolved
    if (isinstance(uri, str) and _K8S_RESOURCE_PATH.match(uri.partition("?")[0])
            and not isinstance(data.get("objectRef"), Mapping) and not refused_at_authn):
        return f"it records a resource request ({clip(uri.partition('?')[0], 60)}) without its objectRef"
    return ""


def k8s_parser(file: str, field_map: Mapping[str, str], digits: int = 3,
               skew_ns: int = 2 * 10**9) -> Callable[[int, bytes], Parsed]:
    """Kubernetes audit events: JSON lines read with ``field_map`` (``K8S_FIELDS`` and the user's entries), each
    first judged as an event the API server writes (``_k8s_problem``): one that is not is a bad line saying why.
    A record's ``written`` is its stageTimestamp: the log backend writes an event when its stage is reached, while
    its ``time`` (requestReceivedTimestamp) is when the request began, so the former tells whether an event that
    goes back in file order was written in its place (checks.timestamp_accuracy's latency rule)."""
    stage_time = [""]  # the stageTimestamp of the line being parsed, as the judge saw it

    def judge(data: dict[str, Any]) -> str:
        st = data.get("stageTimestamp")
        stage_time[0] = st if isinstance(st, str) else ""
        return _k8s_problem(data, digits, skew_ns)

    base = jsonl_parser(file, field_map, judge)

    def parse(line: int, raw: bytes) -> Parsed:
        stage_time[0] = ""
        rec = base(line, raw)
        if isinstance(rec, Record) and stage_time[0]:
            rec.written, rec.wts = stage_time[0], parse_time(stage_time[0])
        return rec

    return parse


CLOUDTRAIL_MAX_BYTES = 256 * 1024 * 1024


class _Trail(msgspec.Struct):
    Records: list[msgspec.Raw]


_trail_decoder = msgspec.json.Decoder(_Trail)


class _Joined(io.RawIOBase):
    """``head`` (bytes already read from ``f``), then the rest of ``f``: what ``blocks`` reads."""

    def __init__(self, head: bytes, f: IO[bytes]) -> None:
        super().__init__()
        self.head, self.f = head, f

    def readable(self) -> bool:
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        if self.head:
            n = len(self.head) if size is None or size < 0 else size
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.f.read(-1 if size is None else size)


def _events_unwrapped(data: bytes) -> bytes:
    """``data`` (whole lines) with each EventBridge event of a CloudTrail record that has nothing but the envelope's
    keys replaced by the record (``detail``), compact, at the same line: the checks (the leak scan of raw text too)
    read the record as a delivery file holds it. An event with other keys is kept as read (its record is still
    what ``CloudTrailReader.parse`` reads), so nothing it holds goes unscanned."""
    from ..auditlog.detect import EVENTBRIDGE_KEYS, eventbridge_detail

    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        if b'"detail"' not in raw:
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        detail = eventbridge_detail(obj)
        if isinstance(detail, dict) and EVENTBRIDGE_KEYS.issuperset(obj):
            lines[i] = orjson.dumps(detail)
    return b"\n".join(lines)


class CloudTrailReader:
    """AWS CloudTrail logs, read with CloudTrail's own fields and rules in either shape:

    - a log file as delivered to S3 (``{"Records": [...]}``, usually gzip-compressed): each record becomes one
      line, numbered by its place in Records, so findings say file:N for the Nth record. AWS delivers a file every
      few minutes, so a file is read whole (up to CLOUDTRAIL_MAX_BYTES); a file that starts as one but is not a
      CloudTrail log is read as lines, each a bad line that says so (and still scanned for secrets);
    - records one a line, whole (jq -c '.Records[]', a shipper's or a SIEM's copy, lookup-events through jq; the
      shapes of CloudTrail Lake's and Athena's query results are refused by ``auditlog.detect``), or
      EventBridge's events of them (the record under ``detail``, with the envelope or trimmed to it): streamed as
      lines, findings at file:line;
      a line that is no CloudTrail record (another log's line among them) is a bad line that says so.

    The result is "error: <errorCode>" when the record has one, else "success"; ``field_map`` entries replace the
    default path of a field."""

    def __init__(self, file: str, field_map: Mapping[str, str], framing: str = "auto") -> None:
        self.file = file
        self.paths = {name: tuple(tuple(p.split(".")) for p in ps) for name, ps in CLOUDTRAIL_FIELDS.items()}
        from ..config import field_paths

        for name, p in field_map.items():
            self.paths[name] = field_paths(p)
        self.result_path = self.paths.pop("result", None)
        # CloudTrail writes an eventID in every record ("GUID generated by CloudTrail to uniquely identify each
        # event", Optional: False) and a requestID only where the service returned one (Optional: True): AWS
        # CloudTrail User Guide, "CloudTrail record contents for management, data, and network activity events",
        # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
        # A record without its eventID has no request id, whatever requestID says (unless field_map names one).
        self.event_id_required = "request_id" not in field_map
        self.own = {name: name not in field_map for name in ("identity", "action")}  # read by CloudTrail's rules
        self.problem = ""
        self.framing = framing
        self.one_a_line = False  # records one a line (an export), not a delivery file
        # A delivery file cut short: the line of what is left of the record it was cut in, and why it is bad (its
        # whole records before it are read as any file's)
        self.cut: Optional[tuple[int, str]] = None

    def blocks(self, f: IO[bytes], stats: "FileStats") -> Iterator[Block]:
        from ..auditlog.detect import DELIVERY_FILE

        try:
            head = f.read(4096)
        except (OSError, EOFError) as exc:
            raise read_error(self.file, exc) from None
        if not DELIVERY_FILE.match(head[3:] if head.startswith(b"\xef\xbb\xbf") else head):
            self.one_a_line = True
            for blk in blocks(_Joined(head, f), self.file, stats, self.framing):  # type: ignore[arg-type]
                if isinstance(blk.data, bytes) and b'"detail"' in blk.data:
                    blk.data = _events_unwrapped(blk.data)  # as many lines: the count stays
                yield blk
            return
        try:
            rest = CLOUDTRAIL_MAX_BYTES + 1 - len(head)
            data = head + f.read(rest) if rest > 0 else head
        except (OSError, EOFError) as exc:
            raise read_error(self.file, exc) from None
        if len(data) > CLOUDTRAIL_MAX_BYTES:
            raise AuditReadyError(f"{self.file} is over {CLOUDTRAIL_MAX_BYTES >> 20} MiB, more than one CloudTrail "
                                  "delivery holds", "turn it into one record a line (jq -c '.Records[]' FILE > "
                                  "FILE.jsonl) and verify that (read with CloudTrail's rules as it streams)")
        size_read = len(data)
        if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark an export tool wrote (detect allows it)
            data = data[3:]
        records: Sequence[Union[msgspec.Raw, bytes]]
        try:
            try:
                records = _trail_decoder.decode(data).Records
            except RecursionError:  # a record nested deeper than the interpreter's limit: decoded with room for it
                from ..auditlog.vault_json import decode_deep

                records = decode_deep(_trail_decoder.decode, data).Records
        except RecursionError:
            from ..auditlog.vault_json import too_deep

            self.problem = too_deep(data)
            yield from blocks(io.BytesIO(data), self.file, stats)
            return
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            reason = str(exc).split(" - ")[0].rstrip(".")
            joined = re.search(r"trailing characters \(byte (\d+)\)", str(exc))
            at = int(joined.group(1)) if joined is not None else -1  # (msgspec names the byte after the "{")
            if at > 0 and any(DELIVERY_FILE.match(data[i:].lstrip()) for i in (at - 1, at)):
                # (zcat of delivered objects, cat of .json.gz files: each a document of its own; red team rt34, F5)
                raise AuditReadyError(f"{self.file} holds CloudTrail log files joined together (another "
                                      f"{{\"Records\": ...}} document starts at byte {at})",
                                      "verify the delivered files one by one (each is one JSON document), or write "
                                      "the records one a line (jq -c '.Records[]' FILE > FILE.jsonl) and verify "
                                      "that") from None
            cut = _cut_records(data) if "truncated" in reason else None
            if cut is None:
                self.problem = f"not a CloudTrail log file ({reason})"
                yield from blocks(io.BytesIO(data), self.file, stats)
                return
            records, tail = cut
            self.cut = (len(records) + 1, f"the CloudTrail log file is cut short in its record {len(records) + 1} "
                        f"({reason}): the records before it are read, and this one and any after it are lost")
        if data.count(b'"Records"') > 1:  # "Records" twice: every reader that keeps the last hides the first list
            twice = dupkeys.duplicate_keys(data, outermost=True)
            if twice:
                self.problem = dupkeys.reason(twice, "the file's object")
        stats.bytes = size_read
        from ..engine import progress

        if progress.current is not None:  # a terminal's progress line: one delivery file read whole
            progress.current.next_file()
            progress.current.add(size_read)
        batch: list[bytes] = []
        size, first = 0, 1
        for raw in records:
            line = bytes(raw)
            if b"\n" in line or b"\r" in line:  # a pretty-printed file: one record a line, its bytes kept (a JSON
                line = line.replace(b"\r", b" ").replace(b"\n", b" ")  # string holds no raw line break)
            batch.append(line)
            size += len(line)
            if size >= BLOCK:
                yield Block(first, b"\n".join(batch), len(batch))
                first += len(batch)
                batch, size = [], 0
        if batch:
            yield Block(first, b"\n".join(batch), len(batch))
        stats.lines = len(records)
        if self.cut is not None:
            left = tail.replace(b"\r", b" ").replace(b"\n", b" ")
            yield Block(self.cut[0], _CUT_KEY_ID.sub(rb"\1" + b"X" * 20, left), 1)
            stats.lines += 1

    def parse(self, line: int, raw: bytes) -> Parsed:
        if self.problem:
            return BadLine(self.file, line, self.problem, raw.decode("utf-8", "replace"))
        if self.cut is not None and line == self.cut[0]:
            return BadLine(self.file, line, self.cut[1], raw.decode("utf-8", "replace"))
        if self.one_a_line and raw[:1] != b"{":
            framed, problem = unframe(raw)
            if problem:
                return BadLine(self.file, line, problem, raw.decode("utf-8", "replace"))
            raw = framed if framed is not None else raw
        data = _object(self.file, line, raw)
        if isinstance(data, BadLine):
            return data
        if self.one_a_line:
            found = _record_of(data)
            if isinstance(found, str):
                return BadLine(self.file, line, found, raw.decode("utf-8", "replace"))
            data = found
        problem = _trail_problem(data)
        if problem:
            return BadLine(self.file, line, problem, raw.decode("utf-8", "replace"))
        paths = self.paths
        kind = _first(data, paths.get("type", ()))
        if self.result_path is not None:
            result = _first(data, self.result_path)
        else:
            code, message = _lookup(data, ("errorCode",)), data.get("errorMessage")
            if code:
                result = f"error: {code}"
            elif not _text(message):
                result = "success"
            elif kind.lower() == _SIGN_IN:  # a failed sign-in: errorMessage "Failed authentication", no errorCode
                result = f"error: {message}"
            else:  # an API error's description without its code: the outcome was cut (AWS writes both)
                result = ""
        eid = data.get("eventID")
        request_id = (_first(data, paths["request_id"]) if not self.event_id_required
                      or (isinstance(eid, str) and eid.strip()) else "")
        identity = _first(data, paths["identity"]) if self.own["identity"] and _whole_identity(data, kind) else (
            "" if self.own["identity"] else _first(data, paths["identity"]))
        source = _first(data, paths["source"])
        # a placeholder for no value where CloudTrail names who called or from where names no one (PLACEHOLDERS):
        # read as an empty field, as in generic JSON lines (checks.required_fields names its path and value)
        identity, source = ("" if is_placeholder(v) else v for v in (identity, source))
        # eventName is the API's name within the service eventSource names ("Decrypt" of kms, of another service):
        # one without the other says no action (both "Optional: False" in the record contents above)
        action = _first(data, paths["action"]) if not self.own["action"] or _text(data.get("eventSource")) else ""
        return Record(self.file, line, kind, _first(data, paths["time"]), identity,
                      _first(data, paths["resource"]), action, result, source, request_id)


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


# An access key id under accessKeyId in what is left of a record cut short: CloudTrail logs one in every signed
# call's userIdentity, by design (an identifier, never the secret key); masked in that text, which is judged as text
# (no record, so no rule of the record's keys applies), as it is no finding in a whole record.
_CUT_KEY_ID = re.compile(rb'("accessKeyId"\s*:\s*")(?:AKIA|ASIA)[A-Z0-9]{16}(?=")')


def _cut_records(data: bytes) -> Optional[tuple[list[bytes], bytes]]:
    """A delivery file cut short (msgspec: "Input data was truncated"): its whole records before the cut, and what
    is left of the record it was cut in (the last whole record, when the cut fell right after it: the file cannot
    be known to end there). None when it is not a list of record objects up to the cut."""
    import json

    from ..auditlog.detect import DELIVERY_FILE

    start = DELIVERY_FILE.match(data)
    if start is None:
        return None
    text = data.decode("utf-8", "surrogateescape")
    decode, at, out = json.JSONDecoder().raw_decode, start.end(), []
    ends: list[int] = []
    while True:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        if at >= len(text):
            break
        try:
            obj, end = decode(text, at)
        except (ValueError, RecursionError):
            break
        if not isinstance(obj, dict):
            return None
        out.append(text[at:end].encode("utf-8", "surrogateescape"))
        ends.append(at)
        at = end
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        if at < len(text) and text[at] == ",":
            at += 1
        elif at < len(text):
            return None  # "]" or anything else: not cut in its records
    if at >= len(text):  # cut right after a record (or its comma): that one is the one cut
        if not out:
            return None
        out.pop()
        at = ends.pop()
    return out, text[at:].encode("utf-8", "surrogateescape")


# The record format's version, "major.minor" (record contents: "The eventVersion value is a major and minor version
# in the form major_version.minor_version").
_EVENT_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\Z")


def _trail_problem(data: Mapping[str, Any]) -> str:
    """Why ``data`` is no record CloudTrail writes ("" when it is), by the fields the record contents mark
    "Optional: False" that the canonical fields do not already judge (AWS CloudTrail User Guide, "CloudTrail record
    contents for management, data, and network activity events" and "... for Insights events for trails"):
    ``eventVersion`` and ``awsRegion`` in every record since 1.0; ``eventType`` and (but in an Insights event,
    where it is optional) ``recipientAccountId`` since 1.02, so an older record is not held to them; an Insights
    event's ``insightDetails`` and a network activity event's (``AwsVpceEvent``) ``vpcEndpointId``. Every shape
    read as CloudTrail carries the record whole (a delivery file, records one a line, EventBridge's ``detail``), so
    a missing one is a record a pipeline cut or rewrote."""
    version = data.get("eventVersion")
    m = _EVENT_VERSION.match(version) if isinstance(version, str) else None
    if m is None:
        return ("it has no eventVersion" if version is None else
                f"its eventVersion {clip(json.dumps(version), 20)} is not the major.minor text CloudTrail writes") + (
            ", which CloudTrail writes in every record (Optional: False): a pipeline cut or rewrote the record")
    missing = []
    if not _text(data.get("awsRegion")):
        missing.append("awsRegion")
    kind = data.get("eventType")
    if (int(m.group(1)), int(m.group(2))) >= (1, 2):
        if not _text(kind):
            missing.append("eventType")
        if kind != "AwsCloudTrailInsight" and not _text(data.get("recipientAccountId")):
            missing.append("recipientAccountId")
    if kind == "AwsCloudTrailInsight" and not isinstance(data.get("insightDetails"), Mapping):
        missing.append("insightDetails")
    if kind == "AwsVpceEvent" and not _text(data.get("vpcEndpointId")):
        missing.append("vpcEndpointId")
    if not missing:
        return ""
    which = {"AwsCloudTrailInsight": "Insights ", "AwsVpceEvent": "network activity "}.get(str(kind), "")
    return (f"it has no {' and no '.join(missing)}, which CloudTrail writes in every {which}record of eventVersion "
            f"{version} (Optional: False): a pipeline cut or rewrote the record")


# What names who acted in a CloudTrail record's userIdentity, by its type (AWS CloudTrail User Guide, "CloudTrail
# userIdentity element", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/
# cloudtrail-event-reference-user-identity.html; the record shapes of its examples and of real trails in
# fixtures/real-cloud, fixtures/cloudtrail): type -> (what the type is, the ways its element names who: each way
# the keys within userIdentity that all hold a value). An IAM user, the root user, an assumed role's and a federated
# user's session by ARN and principal id (but a console sign-in event's, whose failed attempt hides the user); an AWS
# service ("The request was made by an AWS account that belongs to an AWS service") by invokedBy, "the name of the
# AWS service that made the request"; a SAML or web identity federated user (AssumeRoleWithSAML,
# AssumeRoleWithWebIdentity) by principalId or userName, the assertion's subject (identityProvider, the issuer, is
# not always written: Amazon Managed Grafana's SAMLUser records carry userName alone); an IAM Identity Center user by
# onBehalfOf.userId; another AWS account ("The request was made by another AWS account", a cross-account call) by
# its accountId or its principal's id: an unauthenticated S3 request is written {"type": "AWSAccount",
# "principalId": "", "accountId": "anonymous"} (or ANONYMOUS_PRINCIPAL), the account that is who there.
_Ways = tuple[tuple[tuple[str, ...], ...], ...]
_ARN_AND_ID = (("arn",), ("principalId",))
_FEDERATED: _Ways = ((("principalId",),), (("userName",),))
_WHO_BY_TYPE: Mapping[str, tuple[str, _Ways]] = {
    "IAMUser": ("an IAM user", (_ARN_AND_ID,)),
    "Root": ("the root user", (_ARN_AND_ID,)),
    "AssumedRole": ("an assumed role's session", (_ARN_AND_ID,)),
    "FederatedUser": ("a federated user's session", (_ARN_AND_ID,)),
    "AWSService": ("the AWS service that acted", ((("invokedBy",),),)),
    "SAMLUser": ("a SAML-federated user", _FEDERATED),
    "WebIdentityUser": ("a web identity federated user", _FEDERATED),
    "IdentityCenterUser": ("an IAM Identity Center user", ((("onBehalfOf", "userId"),),)),
    "AWSAccount": ("the other AWS account", ((("accountId",),), (("principalId",),))),
}
# Any other type (Unknown: "an identity type that CloudTrail cannot determine"; Directory, Role, a type added after
# this table) still names who by one of the fields CloudTrail names callers by: Unknown's documented records carry a
# principalId ("Anonymous" for an unauthenticated IAM Identity Center OIDC call) and often userName and accountId. An
# accountId alone names only the account that granted the permissions, not who acted.
_WHO_ANY: tuple[str, _Ways] = ("a caller of this type", tuple(
    (p,) for p in (("arn",), ("principalId",), ("userName",), ("invokedBy",), ("onBehalfOf", "userId"))))


# CloudTrail's eventType of a console sign-in: "AwsConsoleSignIn" in its records, "AwsConsoleSignin" in the
# examples of the AWS documentation (IAM and CloudTrail user guides), which logs copied from them keep.
_SIGN_IN = "awsconsolesignin"


def _named(ui: Mapping[str, Any], path: Sequence[str]) -> bool:
    """Whether ``path`` within userIdentity holds a value: a string that is not blank nor a placeholder for no value
    (a key a hop dropped and a value it blanked are the same missing evidence)."""
    v = leaf(ui, path)
    return isinstance(v, str) and bool(v.strip()) and not is_placeholder(v)


def _names_who(ui: Mapping[str, Any], t: str) -> bool:
    """Whether userIdentity ``ui`` of type ``t`` holds every field of one of the ways its type names who by."""
    return any(all(_named(ui, p) for p in way) for way in _WHO_BY_TYPE.get(t, _WHO_ANY)[1])


def _whole_identity(data: Mapping[str, Any], kind: str) -> bool:
    """The record's userIdentity names who acted as CloudTrail writes it for its type (``_WHO_BY_TYPE``); with no
    type, only an AWS service event's may (it names the service in ``invokedBy`` instead). A record without
    userIdentity (an Insights event) is judged by required_fields' rules."""
    ui = data.get("userIdentity")
    if not isinstance(ui, Mapping):
        return True
    t = ui.get("type")
    if not isinstance(t, str) or not t.strip():
        return kind == "AwsServiceEvent" and _named(ui, ("invokedBy",))
    if _names_who(ui, t):
        return True
    return kind.lower() == _SIGN_IN and t in ("IAMUser", "Root")  # a sign-in before anyone is resolved


def who_gap(data: Mapping[str, Any]) -> str:
    """Why the userIdentity of the CloudTrail record ``data`` names no one by its type's rule (``_whole_identity``),
    as a clause for a finding ("its userIdentity is of type ..."); "" when it has no userIdentity or names who."""
    ui = data.get("userIdentity")
    if not isinstance(ui, Mapping):
        return ""
    t = ui.get("type")
    if not isinstance(t, str) or not t.strip():
        if _named(ui, ("invokedBy",)):
            return ""
        has = "has no type" if t is None or isinstance(t, str) else f"has the type {clip(json.dumps(t), 20)}"
        return (f"its userIdentity {has}, when CloudTrail writes a type in every record but an AWS service event's, "
                "and that names the service that acted in invokedBy, yet " + _state(ui, ("invokedBy",)))
    if _names_who(ui, t):
        return ""
    what, ways = _WHO_BY_TYPE.get(t, _WHO_ANY)
    paths = [p for way in ways for p in way]
    fields = listed([".".join(p) for p in paths], "and" if len(ways) == 1 else "or")
    states = "; ".join(_state(ui, p) for p in paths if not _named(ui, p))
    shown = clip(json.dumps(t), 40)
    if t in _WHO_BY_TYPE:
        return f"its userIdentity is of type {shown}, which CloudTrail writes with {fields} naming {what}, and {states}"
    return f"its userIdentity is of type {shown} and names no caller by {fields}: {states}"


def _state(ui: Mapping[str, Any], path: Sequence[str]) -> str:
    """What userIdentity holds at ``path`` instead of a value, as "invokedBy is missing"."""
    v = leaf(ui, path)
    name = ".".join(path)
    if v is None:
        return f"{name} is missing"
    if isinstance(v, str) and is_placeholder(v) and v.strip():
        return f"{name} is {clip(json.dumps(v), 20)}, a placeholder for no value"
    return f"{name} is {'empty' if isinstance(v, str) else 'not a string: ' + clip(json.dumps(v), 20)}"


def _record_of(data: dict[str, Any]) -> Union[dict[str, Any], str]:
    """The CloudTrail record a line holds (itself, or an EventBridge event's ``detail``), or why it holds none."""
    from ..auditlog.detect import eventbridge_detail, foreign_record

    detail = eventbridge_detail(data)
    record = detail if detail is not None else data
    if not foreign_record(record):
        return record
    source = record.get("eventSource") if isinstance(record, dict) else None
    if isinstance(source, str) and source.startswith("aws:"):
        return f"an AWS event notification (eventSource {json.dumps(source)}), not a CloudTrail record"
    what = "an EventBridge event whose detail" if detail is not None else "a line that"
    return (f"not a CloudTrail record: {what} has none of eventVersion, eventTime, eventSource, eventName, eventID, "
            "eventType, userIdentity (a line of another log among the CloudTrail records?)")


@dataclass
class FileStats:
    lines: int = 0
    bytes: int = 0
    framing: str = ""  # the platform framing taken off (auditlog.container): cri, docker, journal
    left_out: int = 0  # the platform's records of the vault's own server output (stderr, its banner), no entries
    blank: int = 0  # empty lines that are no removed entry: an export's padding, or its newline too many at the end
    eight_bit: int = 0  # entries read with a syslog hop's escapes of 8-bit bytes undone (``EightBit``)
    # the query tool whose export the file is (``container.query_tool``): its end is the query's, not the log's
    export: str = ""
    # the file's size, time and inode while it was judged (the same before and after), {"changed": True} when it
    # changed meanwhile, None for no local file: the evidence hashes it only as it was judged
    stored: Optional[dict[str, Any]] = None


def open_log(path: str) -> IO[bytes]:
    """Open a log for reading (gzip, bzip2 or xz told by its magic bytes): a local file, or an object-store URL
    (``engine.objects``).
    Missing, unreadable or not a regular file (a FIFO or a device would hang the read): an AuditReadyError."""
    from ..engine.objects import is_url, open_url
    from ..safeio import open_regular

    if is_url(path):  # object storage (s3://, gs://, az://): streamed through fsspec
        return open_url(path)
    try:
        f: IO[bytes] = open_regular(path, "log file",
                                    fix="name the log files themselves (save a stream to a file first)")
    except FileNotFoundError:
        raise AuditReadyError(f"no such file: {path}", "check the path of the exported log") from None
    except IsADirectoryError:
        raise AuditReadyError(f"{path} is a folder, not a log file", "name the log files themselves") from None
    except OSError as exc:
        raise AuditReadyError(f"cannot read {path}: {exc.strerror}", "give this user read access to it") from None
    try:
        magic = f.read(6)
        f.seek(0)
    except OSError as exc:
        f.close()
        raise AuditReadyError(f"cannot read {path}: {exc.strerror}", "give this user read access to it") from None
    # logrotate compresses with gzip, or bzip2 or xz (compresscmd)
    return inflating(f, compression_in(magic), path)


def inflating(raw: IO[bytes], kind: Optional[str], name: str) -> IO[bytes]:
    """``raw`` read through the decompressor ``kind`` names (``rotation.decompressing``), bounded by ``Inflated``;
    ``raw`` itself for None (no compression)."""
    stream = decompressing(raw, kind)  # type: ignore[arg-type]  # a binary file
    return raw if kind is None else Inflated(stream, raw, kind, name)  # type: ignore[return-value]


# How far a compressed log expands, at most: lines and bytes out for each compressed byte read. Measured on logs
# (OpenBao's own; one request repeated 20,000 times; a 240 MB log of one 160 KB list answer repeated; shippers'
# exports), with gzip, bzip2 and xz: at most 0.06 lines a byte, and 30 to 70 bytes a byte, but 800 for xz on the
# list answer repeated (xz gives at most about 7,000, on a run of one byte; gzip at most 1,032). A compression bomb
# of empty or short lines gives 1,000 (gzip) to 1,300,000 (bzip2) lines a byte, each line read and judged: hours
# from a few kilobytes (red team rt73 F1). One line written over and over verbatim, which no producer writes (each
# entry has its own time and request id), gives 1 (gzip), 5 (bzip2) and 30 (xz) lines a byte.
INFLATE_LINES = 16
INFLATE_BYTES = 10_000
_FREE_LINES = 1 << 18  # lines a window may give before its first compressed byte is counted (read ahead of them)
_READ_AHEAD = 128 << 10  # compressed bytes a decompressor reads before it gives out their content (gzip: 128 KiB)
_INFLATE_WINDOW = 1 << 20  # compressed bytes over which the expansion is judged afresh
_TOOLS = {"gzip": "gzip -dc", "bzip2": "bzip2 -dc", "xz": "xz -dc"}


class Inflated(io.RawIOBase):
    """A compressed file's content (``stream``) whose expansion is bounded: past INFLATE_LINES lines or
    INFLATE_BYTES bytes for each byte read of the compressed file (``raw``) over a window of it, the read is
    refused (AuditReadyError, exit 2). Counted for each read (a block), never for each line; the window starts
    afresh each _INFLATE_WINDOW compressed bytes, so a bomb after a real log is refused as early as one alone."""

    def __init__(self, stream: IO[bytes], raw: IO[bytes], kind: str, name: str) -> None:
        super().__init__()
        self._z, self._raw, self._kind, self._name = stream, raw, kind, name
        self._lines = self._out = 0  # in the window
        self._since = self._packed()

    def _packed(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError, AttributeError):  # (a stream that cannot tell: no bound)
            return -1

    def readable(self) -> bool:
        return True

    def read(self, n: Optional[int] = -1) -> bytes:
        if n is None or n < 0:  # to the end: in blocks, each judged before the next is made
            parts: list[bytes] = []
            while True:
                part = self.read(BLOCK)
                if not part:
                    return b"".join(parts)
                parts.append(part)
        data: bytes = self._z.read(n)
        self._out += len(data)
        self._lines += data.count(b"\n")
        packed = self._packed()
        if packed >= 0 and self._since >= 0:
            fed = packed - self._since
            if self._lines > INFLATE_LINES * fed + _FREE_LINES or self._out > INFLATE_BYTES * (fed + _READ_AHEAD):
                raise AuditReadyError(
                    f"{self._name} expands further than any log compresses: {fed:,} bytes of its {self._kind} data "
                    f"(from byte {self._since:,}) gave {self._lines:,} lines, {self._out:,} bytes, past "
                    f"{INFLATE_LINES} lines or {INFLATE_BYTES:,} bytes for each, where logs give less than one line "
                    "(a compression bomb of empty or short lines, or one line written over and over, which no "
                    "producer writes)", f"if it is a log all the same, decompress it ({_TOOLS[self._kind]} "
                    f"{self._name} > {self._name}.log) and verify that; else find what wrote it")
            if fed >= _INFLATE_WINDOW:
                self._since, self._lines, self._out = packed, 0, 0
        return data

    read1 = read

    def readinto(self, buf: "bytearray | memoryview") -> int:  # type: ignore[override]
        data = self.read(len(buf))
        memoryview(buf).cast("B")[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return bool(self._z.seekable())

    def seek(self, pos: int, whence: int = 0) -> int:
        at = self._z.seek(pos, whence)
        self._since, self._lines, self._out = self._packed(), 0, 0  # read again from there: a window afresh
        return at

    def tell(self) -> int:
        return self._z.tell()

    def close(self) -> None:
        try:
            self._z.close()
        finally:
            super().close()


def unframe_block(data: bytes, left_out: Optional[list[tuple[int, bytes]]] = None, prefix: bytes = b"",
                  eight: "Optional[EightBit]" = None) -> bytes:
    """``data`` (whole lines) with each syslog-framed line replaced by the entry it carries (``auditlog.syslog``):
    the header is framing, so the checks (the leak scan of raw text too) see the entry as the vault wrote it, at the
    same line. Lines whose header carries no whole entry (cut by the hop) are kept as read, for the parser to
    report and the leak scan to read; a line that is no message of the vault's (journalctl's ``-- Boot --``, the
    server's own log behind a header) is left empty and (its index, its text as read) added to ``left_out``, for
    the leak scan (``Block.left``). A block that is plainly
    one object a line is returned as is. With a device ``prefix``, an entry whose hop carries the prefix in its
    header gets it back (``syslog.carried_prefix``). Where ``eight`` says the file's hop escaped 8-bit bytes, each
    entry is read with those escapes undone (``syslog.eight_bit``), counted in ``eight.undone``."""
    if data[:1] == b"{" and data.count(b"\n{") == data.count(b"\n"):
        return data
    undo = eight if eight is not None and eight.judge(data) else None
    lines = data.split(b"\n")
    changed = False
    for i, raw in enumerate(lines):
        if raw[:1] != b"{":
            framed, _ = unframe(raw)
            if framed is not None:
                if undo is not None and framed:
                    text = eight_bit(framed)
                    if text != framed:
                        undo.undone += 1
                        framed = text
                lines[i] = carried_prefix(raw, framed, prefix) if prefix and framed else framed
                changed = True
                if not framed and left_out is not None:
                    left_out.append((i, raw))
    return b"\n".join(lines) if changed else data


class EightBit:
    """Whether the syslog hop a file came through escaped its 8-bit bytes (rsyslog's
    ``parser.escape8BitCharactersOnReceive``: each as ``#`` and three octal digits, ``é`` as ``#303#251``), so
    that its entries are read as the vault wrote them (``syslog.eight_bit``). The vault's own text may hold such
    digits (a path ``a#303#251``), so only the whole file tells: escapes that spell UTF-8 characters, and no byte
    above 127 anywhere in it (such a hop leaves none). At the first block that shows escapes the file is read whole
    where it can be (a local or compressed file), and the read goes on where it stood; where it cannot (a range of
    a file, ``--jobs``; a stream), a block that holds such a byte ends the undoing from there on."""

    def __init__(self, f: IO[bytes], file: str) -> None:
        self.f, self.file = f, file
        self.state: Optional[bool] = None  # None until escapes show; then whether they are undone
        self.undone = 0  # entries read with their escapes undone

    def saw(self, data: bytes) -> None:
        """Learn from a block of the file (framed or not): a byte above 127 means the hop passes them as they are."""
        if self.state is not False and not data.isascii():
            self.state = False

    def judge(self, data: bytes) -> bool:
        """Whether the escapes in ``data`` (a block of framed lines, ``saw`` already) are to be undone."""
        if self.state is None and b"#3" in data and eight_bit_escaped(data):
            self.state = _ascii_throughout(self.f, self.file)
        return bool(self.state)


def _ascii_throughout(f: IO[bytes], file: str) -> bool:
    """Whether the whole of ``f`` (``file``) holds no byte above 127, read from its start to its end, then back to
    where it stood; True where it cannot be read so (not seekable: each block is then judged as it comes)."""
    seekable = getattr(f, "seekable", None)
    try:
        if seekable is None or not seekable():
            return True
        at = f.tell()
    except (OSError, ValueError):
        return True
    ascii_only = True
    try:
        f.seek(0)
        while ascii_only:
            chunk = f.read(BLOCK)
            if not chunk:
                break
            ascii_only = chunk.isascii()
    except (OSError, EOFError, ValueError):
        pass  # (the read itself says what is wrong when it comes there)
    try:
        f.seek(at)
    except (OSError, EOFError, ValueError) as exc:
        raise read_error(file, exc) from None
    return ascii_only


BOM = b"\xef\xbb\xbf"
HEAD_SAMPLE = 65536  # bytes of a file's head its platform framing is told from (``head_framing``)


def head_framing(head: bytes, framing: str = "auto") -> str:
    """The platform framing (CRI, Docker json-file, journald JSON: ``auditlog.container``) a file is in, told from
    its head (``framing``: the log_framing setting); "" for none. A byte-order mark is no text."""
    from ..auditlog import container

    if head.startswith(BOM):
        head = head[len(BOM):]
    return container.detect(head[:HEAD_SAMPLE].split(b"\n")[:200], framing)


def blocks(f: IO[bytes], file: str, stats: FileStats, framing: str = "auto", prefix: bytes = b"",
           head: bool = True) -> Iterator[Block]:
    """The file as Blocks of whole lines (syslog framing taken off: ``unframe_block``), or of one BadLine for an
    over-long line, in file order. Lines are numbered by each block's count (``Block.lines``), made once the
    consumer is done with it. ``head``: whether ``f`` stands at the file's start, where an export's byte-order
    mark and a platform's framing are told (a later range of a file, ``--jobs``, has neither: a file with a
    platform's framing is read whole)."""
    from ..auditlog import container
    from ..engine import progress
    from ..scan import native

    shape = native.lib.block_shape if native.lib is not None else None
    shown = progress.current  # a terminal's progress line (engine.progress), when the front end asked for one
    if shown is not None:
        shown.next_file()
    read = 0
    unwrap: "Optional[container.Unwrap]" = None
    decided = not head
    eight = EightBit(f, file)
    # the server's output streams (container.MERGED): the blank lines that end a block, read with the next block, as
    # the line after them tells whether they are the server's banner's or entries removed
    held: Optional[tuple[int, bytes]] = None

    def unwrapped(start: int, text: bytes) -> Iterator[Block]:
        assert unwrap is not None
        for first, data, n, left, beside in container.split(file, start, text, unwrap):
            if isinstance(data, bytes):
                framed: list[tuple[int, bytes]] = []  # a syslog header inside the platform's framing
                data = unframe_block(data, framed, prefix, eight)
                unwrap.skipped += len(framed)
                left = sorted([*left, *framed])
            yield Block(first, data, n, unwrapped=True, left=left, around=beside)

    for blk in _blocks(f, file, stats):
        if shown is not None:
            shown.add(stats.bytes - read)
            read = stats.bytes
        if held is not None and not isinstance(blk.data, bytes):  # a line over the limit follows them
            yield from unwrapped(*held)
            held = None
        if isinstance(blk.data, bytes):
            if not decided:  # a platform's framing (CRI, Docker json-file, journald JSON), told from the first block
                decided = True
                if blk.data.startswith(BOM):  # a UTF-8 byte-order mark an export tool wrote: no text
                    blk.data = blk.data[len(BOM):]
                found = head_framing(blk.data, framing)
                if found:
                    unwrap = container.Unwrap(found)
            eight.saw(blk.data)
            if unwrap is not None:
                start, text = blk.first, blk.data
                if unwrap.framing == container.MERGED:
                    if held is not None:
                        start, text, held = held[0], held[1] + b"\n" + text, None
                    kept, held = _blank_tail(start, text)
                    if kept is None:
                        continue
                    text = kept
                yield from unwrapped(start, text)
                continue
            if shape is not None:
                # one C pass: the line count, whether every line starts with "{" (then no line is syslog-framed
                # and unframe_block would return the block as is), and the _IRREGULAR test
                lines, plain, irregular = shape(blk.data)
                if plain:
                    blk.lines, blk.irregular = lines, irregular
                    yield blk
                    continue
            left_out: list[tuple[int, bytes]] = []
            blk.data = unframe_block(blk.data, left_out, prefix, eight)
            blk.unwrapped = bool(left_out)  # the lines a hop's framing left out are empty: no removed entry
            if left_out:  # counted, as a platform's framing counts what it leaves out
                stats.framing = stats.framing or "syslog"
                stats.left_out += len(left_out)
                blk.left = left_out
        yield blk
    if held is not None:  # blank lines that end the file
        yield from unwrapped(*held)
    stats.eight_bit = eight.undone
    if unwrap is not None:
        stats.framing, stats.left_out = unwrap.framing, unwrap.skipped
        stats.export = unwrap.tool
        for why in (unwrap.finish(), unwrap.capped()):
            if why:
                yield Block(stats.lines, BadLine(file, stats.lines, why, ""), 1)


def _blank_tail(first: int, data: bytes) -> tuple[Optional[bytes], Optional[tuple[int, bytes]]]:
    """``data`` (whole lines from line ``first``) less the blank lines that end it, and those lines as (their first
    line, their bytes); None for either part when there is none."""
    if data[data.rfind(b"\n") + 1:].strip():
        return data, None
    lines = data.split(b"\n")
    keep = len(lines)
    while keep and not lines[keep - 1].strip():
        keep -= 1
    tail = (first + keep, b"\n".join(lines[keep:]))
    return (b"\n".join(lines[:keep]) if keep else None), tail


def bytes_there(f: IO[bytes]) -> Optional[int]:
    """The bytes a plain local file holds from where ``f`` stands, as it is now (None for a stream decompressed on
    the fly or an object: those end where they end). A byte range of a file (engine.parallel) answers for itself."""
    own = getattr(f, "bytes_there", None)
    if callable(own):
        return own()  # type: ignore[no-any-return]
    if not isinstance(f, (io.BufferedReader, io.FileIO)):
        return None
    try:
        st = os.fstat(f.fileno())
        pos = f.tell()
    except (OSError, ValueError):
        return None
    return max(st.st_size - pos, 0) if stat.S_ISREG(st.st_mode) else None


def read_error(file: str, exc: BaseException, after: Optional[int] = None) -> AuditReadyError:
    """The one-line refusal of a file that could not be read (``after``: the bytes read before the block in which it
    failed; of a compressed file, decompressed)."""
    if "Not a gzipped file" in str(exc):  # gzip reads a member whole, then finds no member after it
        return AuditReadyError(f"cannot read {file}: bytes that are no gzip member follow its gzip data ({exc}): "
                               "something appended to it after compression, or joined it with another file",
                               f"decompress the gzip data alone (gzip -dc {file} > {file}.log, which stops there) "
                               "and verify that; find what wrote past it")
    for kind, tool in (("bzip2", "bzip2 -dc"), ("xz", "xz -dc --single-stream")):
        if TRAILING.format(kind=kind) in str(exc):
            return AuditReadyError(f"cannot read {file}: {exc}: something appended to it after compression, or a "
                                   "damaged stream follows the first",
                                   f"decompress what is whole ({tool} {file} > {file}.log) and verify that; find "
                                   "what wrote past it")
    # (a read is of a block: it failed somewhere in the block that follows the bytes read before it)
    where = ("" if after is None else " in its first block read" if not after
             else f" in the block read after its first {after:,} bytes")
    import gzip
    import lzma
    import zlib

    from ..engine.objects import is_url

    # the bytes arrived but do not decompress: the object itself is cut or damaged, wherever it is kept
    content = (isinstance(exc, (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile))
               or "Invalid data stream" in str(exc))
    # a store's error that tells its fix (engine.objects.StoreError: a stalled store, an object rewritten under the
    # read) says it
    fix = getattr(exc, "fix", "") or (
        "check the store's endpoint and the network, then run again" if is_url(file) and not content
        else "check the file (a compressed file may be truncated)" if not is_url(file)
        else "the object's compressed content is cut or damaged (a truncated upload, or a copy of a file cut "
             "short): restore it from the log's source or a backup; running again reads the same bytes")
    return AuditReadyError(f"cannot read {file}{where}: {exc}", fix)


def _blocks(f: IO[bytes], file: str, stats: FileStats) -> Iterator[Block]:
    tail = b""
    line = 1  # number of the first line in tail
    skipping = 0  # bytes of an over-long line being skipped
    head = b""  # its first HEAD_BYTES, which tell what entry it is (``lines.long_entry``)
    # A file that grows while it is read (a live log, a writer faster than this reader) is read as it was when the
    # read began, to the end of the line that was being written then: never chased to an end that keeps moving.
    left = bytes_there(f)
    extra = MAX_LINE_BYTES + 1  # past that size: at most the rest of the line begun before it
    # A file truncated under the reader and written past the size it had (copytruncate under a writer that goes on)
    # reads on, as the new content, from where the reader stood: its head, read again at the end, tells (rt73 F5).
    fd = _fd(f) if left is not None else None
    at, opened = f.tell() if fd is not None else 0, b""
    while True:
        try:
            if left is not None and left <= 0:
                if extra <= 0 or not (tail or skipping):
                    break
                chunk = f.read(min(BLOCK, extra))
                end = chunk.find(b"\n")
                extra = 0 if end >= 0 else extra - len(chunk)
                if end >= 0:
                    chunk = chunk[:end + 1]
            else:
                chunk = f.read(BLOCK if left is None else min(BLOCK, left))
                if left is not None:
                    left -= len(chunk)
        except (OSError, EOFError) as exc:
            raise read_error(file, exc, stats.bytes) from None
        if not chunk:
            if left is not None and left > 0:
                # the file ends before the size it had when the read began: cut under the reader (copytruncate, an
                # emptied file). What was read is neither the file as it was nor as it is (red team rt44, F1).
                raise AuditReadyError(
                    f"{file} shrank while it was read: it ended {left:,} bytes short of the size it had when the read "
                    "began (truncated or emptied meanwhile: logrotate's copytruncate, a writer starting it over)",
                    "verify it when nothing truncates it, or verify a copy (cp) and the rotated file together")
            break
        if fd is not None and not opened:
            opened = chunk[:HEAD_CHECK]
        stats.bytes += len(chunk)
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                skipping += len(chunk)
                continue
            over = skipping + cut
            yield Block(line, _long(file, line, over, head), 1)
            line += 1
            skipping, head = 0, b""
            chunk = chunk[cut + 1 :]
        cut = chunk.rfind(b"\n")  # tail holds no newline: the block ends at the chunk's last one
        if cut < 0:
            tail = tail + chunk if tail else chunk
            if len(tail) > MAX_LINE_BYTES:
                skipping, head, tail = len(tail), tail[:HEAD_BYTES], b""
            continue
        if tail:
            end = chunk.find(b"\n")
            if len(tail) + end > MAX_LINE_BYTES:  # the line begun in tail ends here, over the limit
                over = len(tail) + end
                yield Block(line, _long(file, line, over, tail[:HEAD_BYTES]), 1)
                line += 1
                tail = b""
                if end == cut:
                    tail = chunk[cut + 1 :]
                    continue
                chunk, cut = chunk[end + 1 :], cut - end - 1
        block = b"".join((tail, memoryview(chunk)[:cut])) if tail else chunk[:cut]  # one copy
        tail = chunk[cut + 1 :]
        blk = Block(line, block)
        yield blk
        line += blk.lines
        if len(tail) > MAX_LINE_BYTES:
            skipping, head, tail = len(tail), tail[:HEAD_BYTES], b""
    if opened and fd is not None:
        _same_start(file, fd, at, opened)
    if skipping:
        long = _long(file, line, skipping, head)
        yield Block(line, BadLine(file, line, long.reason + " (and the file ends without a newline)", long.raw), 1)
        line += 1
    elif tail:
        _UNENDED.add(file)  # no final newline: an entry that ends early there was cut as it was written (_bad_json)
        try:
            yield Block(line, tail, 1)
        finally:
            _UNENDED.discard(file)
        line += 1
    stats.lines = line - 1


HEAD_CHECK = 65536  # bytes of where a read began, read again at its end (``_same_start``)


def _fd(f: IO[bytes]) -> Optional[int]:
    """The descriptor of ``f``, a plain local file, to read again where it stood (None where there is none: a byte
    range of a file, ``--jobs``; or no ``os.pread``)."""
    if not hasattr(os, "pread"):
        return None
    try:
        return f.fileno()
    except (OSError, ValueError, AttributeError):  # (io.UnsupportedOperation is both)
        return None


def _same_start(file: str, fd: int, at: int, opened: bytes) -> None:
    """Refuse a file whose bytes where the read began (``opened``, at offset ``at``) are not there any more at its
    end: it was truncated and written again meanwhile (copytruncate under a writer that goes on), so the rest was
    read from another file's content, at the offsets the reader stood at. A file that only grew is the same there."""
    try:
        now = os.pread(fd, len(opened), at)
    except OSError as exc:
        raise read_error(file, exc) from None
    if now == opened:
        return
    fix = "verify it when nothing truncates it, or verify a copy (cp) and the rotated file together"
    if opened.startswith(now):  # cut and not (yet) written again: emptied as the read ended
        raise AuditReadyError(f"{file} shrank while it was read: at the end of the read it holds {len(now):,} of "
                              "the bytes it began with (truncated or emptied meanwhile: logrotate's copytruncate, "
                              "a writer starting it over)", fix)
    raise AuditReadyError(
        f"{file} was truncated and written again while it was read: its first bytes are no longer the ones read at "
        "the start, so what was read joins the file as it was to the file as it is (logrotate's copytruncate under "
        "a writer that goes on, a writer starting the file over)", fix)


def _long(file: str, line: int, size: int, head: bytes) -> BadLine:
    """A line of ``size`` bytes, over MAX_LINE_BYTES, skipped as it streamed past: its reason says what entry its
    ``head`` tells it is, and the head is kept as its raw text, for completeness to pair it by (never scanned or
    shown: ``lines.unscanned``)."""
    return BadLine(file, line, too_long(size, head), head.decode("utf-8", "replace"))
