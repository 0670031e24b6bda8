"""Streaming readers: a log file (plain or gzip) as blocks of whole lines, each line parsed into a Record.

Memory stays flat whatever the file size: a block is about 512 KiB of whole lines, and a line longer than
MAX_LINE_BYTES is skipped as it streams past (reported as a bad line), never held.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import msgspec
import orjson

from ..auditlog.model import AuditEntry, BadLine, Record, vault_identity, vault_result
from ..errors import AuditReadyError

BLOCK = 1 << 19
MAX_LINE_BYTES = 16 * 1024 * 1024


# -- Vault / OpenBao: decode only the fields the checks read (msgspec skips the rest at C speed) -------------
class _Policy(msgspec.Struct, gc=False):
    allowed: Any = None


class _Auth(msgspec.Struct, gc=False):
    display_name: str = ""
    entity_id: str = ""
    accessor: str = ""
    policy_results: Optional[_Policy] = None


class _Request(msgspec.Struct, gc=False):
    id: str = ""
    path: str = ""
    operation: str = ""
    remote_address: str = ""


class _VaultLine(msgspec.Struct, gc=False):
    time: str = ""
    type: str = ""
    auth: Optional[_Auth] = None
    request: Optional[_Request] = None
    error: str = ""
    response: msgspec.Raw = msgspec.Raw(b"")


_vault_decoder = msgspec.json.Decoder(_VaultLine)
_EMPTY_AUTH = _Auth()
_EMPTY_REQUEST = _Request()

Parsed = Union[Record, BadLine]


def _bad_json(file: str, line: int, raw: bytes) -> BadLine:
    text = raw.decode("utf-8", "replace")
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return BadLine(file, line, f"malformed JSON ({str(exc).split(':')[0]})", text)
    return BadLine(file, line, "the line's JSON is not an object", text)


def vault_parser(file: str, prefix: str = "") -> Callable[[int, bytes], Parsed]:
    """Vault/OpenBao file device lines, with or without the device prefix ``prefix`` (log_prefix)."""
    from ..auditlog.vault_json import parse_line

    prefix_b = prefix.encode("utf-8")

    def parse(line: int, raw: bytes) -> Parsed:
        body = raw[len(prefix_b) :] if prefix_b and raw.startswith(prefix_b) else raw
        if body[:1] != b"{":
            # Whatever is odd about it (text before the object, no object at all), the general parser says.
            item = parse_line(file, line, raw, prefix)
            return item.record if isinstance(item, AuditEntry) else item
        try:
            e = _vault_decoder.decode(body)
        except msgspec.ValidationError:
            # Valid JSON of unexpected types: the general parser (the one live runs use) decides.
            item = parse_line(file, line, raw, prefix)
            return item.record if isinstance(item, AuditEntry) else item
        except msgspec.DecodeError:
            return _bad_json(file, line, body)
        a = e.auth or _EMPTY_AUTH
        r = e.request or _EMPTY_REQUEST
        allowed = a.policy_results.allowed if a.policy_results is not None else None
        has_response = bytes(memoryview(e.response)[:1]) == b"{"
        return Record(file, line, e.type, e.time, vault_identity(a.display_name, a.entity_id, a.accessor),
                      r.path, r.operation, vault_result(e.type, e.error, has_response, allowed),
                      r.remote_address, r.id)

    return parse


def _lookup(data: Any, path: Sequence[str]) -> str:
    for k in path:
        if isinstance(data, Mapping):
            data = data.get(k)
        elif isinstance(data, list) and k.isdigit() and int(k) < len(data):
            data = data[int(k)]
        else:
            return ""
    if isinstance(data, str):
        return data
    if isinstance(data, bool) or data is None or isinstance(data, (dict, list)):
        return "" if data is None or isinstance(data, (dict, list)) else str(data).lower()
    return str(data)


def jsonl_parser(file: str, field_map: Mapping[str, str]) -> Callable[[int, bytes], Parsed]:
    """Generic JSON lines: ``field_map`` names the dotted JSON path of each canonical field."""
    paths = {name: tuple(p.split(".")) for name, p in field_map.items()}
    names = ("type", "time", "identity", "resource", "action", "result", "source", "request_id")
    order = [paths.get(n) for n in names]

    def parse(line: int, raw: bytes) -> Parsed:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return BadLine(file, line, f"malformed JSON ({str(exc).split(':')[0]})", raw.decode("utf-8", "replace"))
        if not isinstance(data, dict):
            return BadLine(file, line, "the line's JSON is not an object", raw.decode("utf-8", "replace"))
        v = [_lookup(data, p) if p else "" for p in order]
        return Record(file, line, *v)

    return parse


@dataclass
class FileStats:
    lines: int = 0
    bytes: int = 0


def open_log(path: str) -> IO[bytes]:
    """Open a log for reading (gzip by its magic bytes). Missing or unreadable: an AuditReadyError."""
    try:
        f: IO[bytes] = open(path, "rb")
    except FileNotFoundError:
        raise AuditReadyError(f"no such file: {path}", "check the path of the exported log") from None
    except IsADirectoryError:
        raise AuditReadyError(f"{path} is a folder, not a log file", "name the log files themselves") from None
    except OSError as exc:
        raise AuditReadyError(f"cannot read {path}: {exc.strerror}", "give this user read access to it") from None
    try:
        magic = f.read(2)
        f.seek(0)
    except OSError as exc:
        f.close()
        raise AuditReadyError(f"cannot read {path}: {exc.strerror}", "give this user read access to it") from None
    if magic == b"\x1f\x8b":
        return gzip.open(f, "rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return f


def blocks(f: IO[bytes], file: str, stats: FileStats) -> Iterator[tuple[int, Union[bytes, BadLine]]]:
    """(number of the first line, bytes of whole lines without the final newline), or a BadLine for an
    over-long line, in file order."""
    tail = b""
    line = 1  # number of the first line in tail
    skipping = 0  # bytes of an over-long line being skipped
    while True:
        try:
            chunk = f.read(BLOCK)
        except (OSError, EOFError) as exc:
            raise AuditReadyError(f"cannot read {file} after {stats.bytes} bytes: {exc}",
                                  "check the file (a gzip file may be truncated)") from None
        if not chunk:
            break
        stats.bytes += len(chunk)
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                skipping += len(chunk)
                continue
            yield line, BadLine(file, line, f"line is {skipping + cut} bytes, over the {MAX_LINE_BYTES} byte limit")
            line += 1
            skipping = 0
            chunk = chunk[cut + 1 :]
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            if len(tail) > MAX_LINE_BYTES:
                skipping, tail = len(tail), b""
            continue
        block, tail = data[:cut], data[cut + 1 :]
        yield line, block
        line += block.count(b"\n") + 1
        if len(tail) > MAX_LINE_BYTES:
            skipping, tail = len(tail), b""
    if skipping:
        yield line, BadLine(file, line, f"line is {skipping} bytes, over the {MAX_LINE_BYTES} byte limit "
                            "(and the file ends without a newline)")
        line += 1
    elif tail:
        yield line, tail  # no final newline: parsed like any line (a cut-off entry is then malformed JSON)
        line += 1
    stats.lines = line - 1
