"""Whole lines out of a byte stream that arrives in pieces (a program's stdout, a socket): what the live stream
sources share. Nothing here imports pytest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Union

from ..text import clip

MAX_LINE_BYTES = 16 * 1024 * 1024
_TOO_LONG = "bytes, over the {} byte limit".format(MAX_LINE_BYTES)


HEAD_BYTES = 65536  # of a line over the limit, kept (as its BadLine's raw) to tell which entry it is: ``long_entry``


def too_long(size: int, head: bytes = b"") -> str:
    """The BadLine reason for a line of ``size`` bytes, over MAX_LINE_BYTES: skipped as it streams past, never held
    (and so never scanned: ``unscanned``); with the line's ``head`` (its first HEAD_BYTES), what entry it is."""
    zeros = len(head) - len(head.lstrip(b"\x00"))
    if zeros >= _HOLE:  # (red team rt53 F8: a hole of 100 MB was blamed on the size of a request)
        return (f"line is {size} {_TOO_LONG}: it begins with {zeros:,}{'+' if zeros == len(head) else ''} zero bytes, "
                f"{ZERO_RUN}")
    what = long_entry(head.decode("utf-8", "replace")) if head else None
    if what is None or not what.kind:
        return f"line is {size} {_TOO_LONG}"
    on = f" on {clip(json.dumps(what.path), 120)}" if what.path else ""
    if what.kind == "response" and what.operation == "list":
        return (f"line is {size} {_TOO_LONG}: the response entry of a list request{on}, whose keys the vault writes "
                "whole unless the audit device sets elide_list_responses")
    return f"line is {size} {_TOO_LONG}: a {what.kind} entry{on}"


# A run of zero bytes where a line begins (a writer without O_APPEND that wrote on at its old offset after a
# copytruncate, or a crash that left allocated space unwritten), however long: no entry is that, and no request size
_HOLE = 4096
ZERO_RUN = "space the file system kept for data never written (a crash, or a copy truncated under its writer)"


def long_fix(reason: str, otherwise: str) -> str:
    """The fix for a line ``too_long`` said ``reason`` of: for a list response, the device option that writes the
    keys' count instead; for a run of zero bytes, where the file was truncated under its writer; ``otherwise`` for
    any other."""
    if ZERO_RUN in reason:
        return ("find what truncated the file under its writer (logrotate's copytruncate with a writer that does not "
                "append, or a crash) and restore the entries of that span from the source or its archive; rotate by "
                "rename and a signal (SIGHUP) instead of copytruncate")
    if "elide_list_responses" in reason:
        return ("set elide_list_responses = true on the audit device (it writes the number of keys instead of the "
                "keys), so that each entry can be read and judged, or list fewer keys at once (a folder each)")
    return otherwise


# What a line's reason says when a mapped field holds an object or array (required_fields gives it its own fix).
NOT_ONE = "not one value that field_map can read"


def not_one(name: str, path: str, held: Union[dict[str, Any], list[Any]]) -> str:
    """Why a line whose mapped field ``name`` (at ``path``) holds ``held``, an object or array, is no entry."""
    what = (f"an array of {len(held)} value{'s' if len(held) != 1 else ''}" if isinstance(held, list)
            else f"an object of {len(held)} key{'s' if len(held) != 1 else ''}")
    return f"its {name} ({path}) holds {what}, {NOT_ONE}"


@dataclass(frozen=True)
class LongEntry:
    """What the head of a Vault/OpenBao entry too long to read says of it: what ``Pairs`` pairs it by."""

    kind: str  # "request", "response", or "" when the head does not say
    request_id: str
    time: str  # "" unless the entry opens with its time (OpenBao's order; Vault 1.18+ writes it last)
    operation: str
    path: str


_HEAD_OPEN = re.compile(r'\A\s*\{"time":"([^"\\]{1,64})","type":"(request|response)"')
_HEAD_TYPE = re.compile(r'"type":"(request|response)"')
# the request object's own id: its first "id" key, past at most one level of nested objects (namespace, headers)
_HEAD_REQUEST = re.compile(r'"request":\{(?:[^{}"]|"(?:[^"\\]|\\.)*"|\{[^{}]*\})*?"id":"([^"\\]{1,200})"')
_HEAD_OPERATION = re.compile(r'"operation":"([a-z-]{1,20})"')
_HEAD_PATH = re.compile(r'"path":"((?:[^"\\]|\\.){0,400})"')


def long_entry(head: str) -> "Optional[LongEntry]":
    """What the first HEAD_BYTES of a line too long to read (``head``) say of the Vault/OpenBao entry it is: None
    when they name no request id. Its kind is told by its type (or, in Vault's alphabetical order where the type
    comes last, by a response object), its time only where the entry opens with it."""
    rid = _HEAD_REQUEST.search(head)
    if rid is None:
        return None
    opened = _HEAD_OPEN.match(head)
    kind = opened.group(2) if opened else ""
    if not kind:
        typed = _HEAD_TYPE.search(head)
        kind = typed.group(1) if typed else "response" if '"response":{' in head else ""
    after = head[rid.start():]
    operation = _HEAD_OPERATION.search(after)
    path = _HEAD_PATH.search(after)
    text = ""
    if path is not None:
        try:
            text = json.loads(f'"{path.group(1)}"')
        except ValueError:
            text = ""
    return LongEntry(kind, rid.group(1), opened.group(1) if opened else "",
                     operation.group(1) if operation else "", text)


def unscanned(reason: str) -> bool:
    """Whether a BadLine's ``reason`` is ``too_long``'s: its text was never held, so never scanned."""
    return reason.startswith("line is ") and _TOO_LONG in reason


class WholeLines:
    """Cuts a stream into whole lines: a partial last line waits for its newline; a line over ``limit`` bytes is
    not kept (memory stays bounded) and is said by its size, in its place among the lines."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self.buf = b""  # the start of a line whose newline has not come yet
        self.skipping = 0  # bytes of an over-long line being dropped

    @property
    def pending(self) -> int:
        """Bytes of a line begun and not ended (kept or being dropped)."""
        return len(self.buf) + self.skipping

    def feed(self, data: bytes) -> Iterator[Union[bytes, int]]:
        """What ``data`` completes, in order: runs of whole lines (bytes, each line ending with a newline) and, for
        a line over the limit, its size (an int)."""
        if self.skipping:
            cut = data.find(b"\n")
            if cut < 0:
                self.skipping += len(data)
                return
            yield self.skipping + cut
            self.skipping, data = 0, data[cut + 1:]
        data = self.buf + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.buf = data
            if len(self.buf) > self.limit:
                self.skipping, self.buf = len(self.buf), b""
            return
        self.buf = data[cut + 1:]
        whole = data[:cut + 1]
        if len(whole) <= self.limit:  # no line in it can be over the limit
            yield whole
            return
        run = start = 0
        while start < len(whole):
            end = whole.index(b"\n", start)
            if end - start > self.limit:
                if run < start:
                    yield whole[run:start]
                yield end - start
                run = end + 1
            start = end + 1
        if run < len(whole):
            yield whole[run:]
