"""Reader for the Vault / OpenBao file audit device: one JSON object a line, optionally after a device prefix."""

from __future__ import annotations

import json
import re
import sys
import threading
from itertools import accumulate
from typing import Any, Callable, TypeVar, Union

from .lines import MAX_LINE_BYTES, too_long
from .model import AuditEntry, BadLine
from .syslog import server_log

# A bare line of the vault server's own output (hclog, its banner) where audit entries are read with no framing: a
# file whose first 256 KiB show such lines is read as the server's output streams, which leave them out
# (container.MERGED); past that, or with log_framing = "none", such a line is a finding said for what it is, with the
# way to read the entries.
SERVER_OUTPUT = ("a line of the vault server's own log (hclog's time and level) or of its banner (\"==> ...\"): the "
                 "server's output streams captured together with the audit device's (kubectl logs, docker logs, a "
                 "unit's stdout and stderr in one file)")
# What `vault server` / `bao server` prints at a line's start on its standard output (command/server.go): its banner
# ("==> OpenBao server configuration:", "==> Vault server started! ...", "==> ... shutdown triggered")
SERVER_BANNER = re.compile(rb"==> (?:OpenBao|Vault) ")
# The same, a line of hclog's JSON among the entries (offline.reader.no_vault_entry); and what names a line of
# another producer there
SERVER_LOG_LINE = ("the line is the vault server's own log (hclog), no audit entry: the server's output and the audit "
                   "device's were written to one file")
NOT_VAULT = "no Vault/OpenBao entry"
SERVER_LOG_FIX = ("verify the audit entries alone (grep '^{\"time\":' FILE > audit.log, zgrep for a gzip file: the "
                  "server's JSON lines start with \"@level\"); better, give the audit device a file_path of its own")
MIXED_FIX = ("verify each producer's lines alone: split the file per producer (the audit device's entries are the "
             "objects with a \"time\" and a \"type\" request or response)")
SERVER_OUTPUT_FIX = ("verify the audit entries alone (grep '^{' FILE > audit.log, zgrep for a gzip file), or the "
                     "journal or the container runtime's log file, whose framing tells the server's lines apart (they "
                     "are left out, counted); better, give the audit device a file_path of its own")

T = TypeVar("T")

# Vault's and OpenBao's request decoder (Go's encoding/json) takes JSON nested up to 10000 levels, and the audit
# device logs a request's data (and a response that returns it) as it was decoded, inside the entry's own objects
# (entry, request, data, the secret's data: a few levels). So an entry of the vault's may nest that deep, where
# Python's decoders stop at the interpreter's recursion limit (1000): such a line is decoded again on a thread with
# room for it, and only a line nested deeper than any the vault writes is a bad line.
GO_MAX_DEPTH = 10000
MAX_DEPTH = GO_MAX_DEPTH + 32
_STACK = 256 << 20  # bytes of stack for that thread: a few hundred bytes a level in the C decoders, with room
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_LOCK = threading.Lock()


def nesting(raw: Union[bytes, str]) -> int:
    """How deep the arrays and objects of the JSON text ``raw`` nest (brackets inside strings not counted)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    marks = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKET).translate(_BRACKETS)
    return max(accumulate(b - 256 if b > 127 else b for b in marks), default=0)


def decode_deep(decode: Callable[[Any], T], text: Any) -> T:
    """``decode(text)`` for JSON nested deeper than the interpreter's recursion limit but at most MAX_DEPTH: run
    on a thread with a stack made for it, with the limit raised meanwhile (one such decode at a time). Raises
    RecursionError when ``text`` nests deeper than that, and whatever ``decode`` raises."""
    depth = nesting(text)
    if depth > MAX_DEPTH:
        raise RecursionError(f"{depth} levels")
    return _deep(decode, text, depth)


def dumps(obj: Any, sort_keys: bool = False) -> bytes:
    """``obj`` (decoded JSON) written back as compact JSON, as orjson writes it, however deep it nests: orjson
    refuses to write more than 254 levels, which a line the readers took (up to MAX_DEPTH) may hold; such an
    object is written by Python's json on a thread with room for it."""
    import orjson

    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:

        def write(o: Any) -> bytes:
            return json.dumps(o, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode("utf-8", "surrogatepass")

        return _deep(write, obj, MAX_DEPTH)


def _deep(call: Callable[[Any], T], arg: Any, depth: int) -> T:
    """``call(arg)`` on a thread with stack and recursion limit for ``depth`` levels (see decode_deep)."""
    out: list[T] = []
    err: list[BaseException] = []

    def run() -> None:
        try:
            out.append(call(arg))
        except BaseException as exc:  # handed back to the caller's thread as it is
            err.append(exc)

    with _LOCK:
        old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
        try:
            threading.stack_size(_STACK)
            sys.setrecursionlimit(max(old_limit, depth * 2 + 200))
            worker = threading.Thread(target=run, name="auditready-deep-json", daemon=True)
            worker.start()
            worker.join()
        finally:
            threading.stack_size(old_stack)
            sys.setrecursionlimit(old_limit)
    if err:
        raise err[0]
    return out[0]


def missing_prefix(prefix: str) -> str:
    """The BadLine reason for an entry without the device prefix its log's every line carries."""
    return (f"an entry without the prefix {json.dumps(prefix)} (log_prefix) that the audit device writes before each "
            "of its entries: this line was written by something else, or its prefix was cut")


def too_deep(text: Union[bytes, str]) -> str:
    """The BadLine reason for a line nested deeper than its producer writes."""
    return (f"JSON nested too deeply ({nesting(text)} levels: the producers' decoders (Go's encoding/json in Vault, "
            f"OpenBao, the Kubernetes API server) take at most {GO_MAX_DEPTH}, so no entry they write nests that deep)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")  # Python's json reads NaN and Infinity; JSON (and Go) has neither


def _loads(text: Union[str, bytes]) -> Any:
    """JSON as RFC 8259 has it (as the offline reader's msgspec and orjson read it): no NaN, no Infinity."""
    return json.loads(text, parse_constant=_no_constant)


def loads_deep(raw: Union[str, bytes]) -> Any:
    """``raw`` decoded when a fast decoder stopped at its own depth limit (orjson's 1024, msgspec's and json's
    recursion limit): up to MAX_DEPTH levels. Raises RecursionError past that, ValueError when it is no JSON."""
    return decode_deep(_loads, raw)


def loads(text: Union[str, bytes]) -> Any:
    """``text`` decoded by orjson, or past orjson's 1024 levels by ``loads_deep``. Raises ValueError when it is no
    JSON, RecursionError when it nests deeper than MAX_DEPTH."""
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if not str(exc).startswith("depth limit exceeded"):
            raise
    return loads_deep(text)


# Line sizes at which a platform splits a longer line into pieces, when what reads it prints the pieces as lines
# (journalctl -o cat, or without its _LINE_BREAK marks; a runtime's pieces read without their framing).
_SPLIT_AT = {
    49152: "journald splits a line longer than LineMax= (48K) into pieces: read the journal with `journalctl -o json`, "
           "whose _LINE_BREAK=line-max marks let the pieces be joined, or raise LineMax= above the largest entry",
    16384: "a container runtime splits a line longer than 16 KiB into pieces (containerd, CRI-O, Docker): read the "
           "runtime's log file, whose framing marks the pieces, or kubectl/docker logs, which join them",
}
# A name and its value, or two strings of a list: JSON text, where a prefix (or RFC 5424's [sd id="1"]) has none.
_JSON_TEXT = re.compile(r'"\s*:\s*["{\[0-9tfn-]|"\s*,\s*"')


def split_at(raw: bytes) -> str:
    """Why ``raw`` is no whole entry when it is the start of one cut where a platform splits lines (``_SPLIT_AT``):
    the reason a BadLine gives, else ""."""
    split = _SPLIT_AT.get(len(raw))
    start = raw.find(b"{")
    if not split or start < 0:
        return ""
    from .container import ends_early

    return f"cut at {len(raw)} bytes: {split}" if ends_early(raw[start:].rstrip()) else ""


def parse_line(file: str, line_no: int, raw: bytes, prefix: str = "") -> Union[AuditEntry, BadLine]:
    """Parse one line (without its newline). Never raises: a bad line comes back as a BadLine."""
    if len(raw) > MAX_LINE_BYTES:
        return BadLine(file, line_no, too_long(len(raw)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(file, line_no, f"not UTF-8 (byte {exc.start})", raw.decode("utf-8", "replace"))
    body = text
    if prefix and body.startswith(prefix):
        body = body[len(prefix) :]
    elif prefix and body[:1] == "{":
        return BadLine(file, line_no, missing_prefix(prefix), text)
    start = body.find("{")
    if start != 0 and (server_log(raw.lstrip()) or SERVER_BANNER.match(raw) is not None):
        return BadLine(file, line_no, SERVER_OUTPUT, text)
    if start != 0 and _JSON_TEXT.search(body, 0, start if start > 0 else len(body)):  # an entry's middle
        return BadLine(file, line_no, "JSON text before the line's first '{' (or with none): the rest of an entry a "
                       "hop cut or split at its line size limit (see the line before), not a device prefix", text)
    zeros = len(body) - len(body.lstrip("\x00"))
    if zeros and not body[zeros : start if start >= 0 else len(body)].strip():
        return BadLine(file, line_no, f"{zeros} zero bytes {'before the entry' if start >= 0 else 'for a line'}: "
                       "space the file system kept for data never written (a crash, or a copy truncated under its "
                       "writer); entries may be lost here", text)
    if start < 0:
        return BadLine(file, line_no, "no JSON object on the line", text)
    if body[:start].strip():
        return BadLine(file, line_no, "text before the JSON object (a device prefix? set log_prefix)", text)
    try:
        try:
            data = _loads(body[start:])
        except RecursionError:
            data = decode_deep(_loads, body[start:])
    except ValueError as exc:
        msg = str(exc).split(":")[0]
        if msg == "Extra data" and body[start:].lstrip()[:1] == "{":
            try:
                _obj, end = json.JSONDecoder().raw_decode(body[start:])
            except ValueError:
                end = -1
            if end > 0 and body[start + end :].lstrip()[:1] == "{" and "\r" in body[start + end :].split("{", 1)[0]:
                return BadLine(file, line_no, "JSON objects on one line apart by a carriage return alone (CR line "
                               "ends, no newline: a copy through a tool that writes classic Mac OS line ends)", text)
            if end > 0 and body[start + end :].lstrip()[:1] == "{":
                return BadLine(file, line_no, "JSON objects one after another on one line, no newline between (a "
                               "shipper concatenated records: Kinesis Data Firehose without a newline delimiter)",
                               text)
        split = split_at(raw)
        if split:
            return BadLine(file, line_no, split, text)
        return BadLine(file, line_no, f"malformed JSON ({msg})", text)
    except RecursionError:
        return BadLine(file, line_no, too_deep(body[start:]), text)
    if not isinstance(data, dict):
        return BadLine(file, line_no, "the line's JSON is not an object", text)
    from .dupkeys import problem

    twice = problem(body[start:].encode("utf-8"))
    if twice:
        return BadLine(file, line_no, twice, text)
    return AuditEntry(file, line_no, data, text)
