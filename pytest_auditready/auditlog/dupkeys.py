"""A key written twice in one JSON object: an entry no producer writes.

Vault, OpenBao (Go's encoding/json), the Kubernetes API server and CloudTrail write each key of an object once. RFC
8259 (section 4) leaves an object with a repeated name undefined: most readers (msgspec, orjson, Python's json, Go's)
keep the last value, others the first, so an entry with ``"type"``, ``"error"`` or ``"auth"`` twice reads as two
different entries to two tools, and a CloudTrail file with ``"Records"`` twice hides the first list of records from
every reader that keeps the last. Such a line is unreadable evidence (a hop merged fields into it, or it was edited):
the readers report it as a bad line, never as the entry one reader would make of it.

``duplicate_keys`` is the reference: Python's json reads the keys decoded (``"t\\u0079pe"`` is ``"type"``). The C
extension's ``key_suspects`` names the only lines it needs to read: two keys of one object with the same bytes, a key
written with an escape, or an object of many keys. Without it, a line that orjson writes back byte for byte holds
none either (``lines_with_duplicates``).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import orjson

from ..scan import native

SHOWN = 3  # keys a reason names


def duplicate_keys(text: bytes, outermost: bool = False) -> list[str]:
    """The keys (decoded, sorted, each once) that some object of the JSON text ``text`` (``outermost``: the text's
    own object) holds twice or more; [] for a text that is no JSON (its reader says why) or holds none. Texts nested
    deeper than the interpreter's limit are read on a thread made for them, as the readers do
    (``vault_json.decode_deep``)."""
    found: set[str] = set()

    def pairs(items: list[tuple[str, Any]]) -> None:
        if outermost:  # objects close inside out: the last one read is the text's own
            found.clear()
        if len(items) > 1:
            seen: set[str] = set()
            for k, _ in items:
                if k in seen:
                    found.add(k)
                seen.add(k)
        return None  # the values are not needed: nothing is kept

    def loads(b: bytes) -> Any:
        return json.loads(b, object_pairs_hook=pairs)

    try:
        try:
            loads(text)
        except RecursionError:
            from .vault_json import decode_deep

            decode_deep(loads, text)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or deeper than any reader
        return []
    return sorted(found)


def _written_again(text: bytes) -> bool:
    """Whether orjson writes ``text`` back byte for byte once read: then no object of it holds a key twice (one
    kept would leave the text written again a key shorter). A compact text a producer wrote usually is; one with
    escapes orjson does not write (Go's "\u0026"), spaces or a key twice is not, and the reference decides."""
    try:
        return orjson.dumps(orjson.loads(text)) == text
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return False


def lines_with_duplicates(data: bytes) -> dict[int, list[str]]:
    """For a block of JSON texts, one a line: {offset of a line's first byte: ``duplicate_keys`` of it} for each line
    that holds a key twice in one object."""
    lib = native.lib
    starts: Any
    if lib is not None:
        starts = lib.key_suspects(data)
    else:
        starts, at = [], 0
        for line in data.split(b"\n"):
            if not _written_again(line):
                starts.append(at)
            at += len(line) + 1
    out: dict[int, list[str]] = {}
    for s in starts:
        e = data.find(b"\n", s)
        keys = duplicate_keys(data[s : e if e >= 0 else len(data)])
        if keys:
            out[s] = keys
    return out


def line_duplicates(text: bytes) -> list[str]:
    """``duplicate_keys`` of one JSON text, a fast pass first (the C extension's where it is built)."""
    lib = native.lib
    if lib is not None and b"\n" not in text and not lib.key_suspects(text):
        return []
    if lib is None and _written_again(text):
        return []
    return duplicate_keys(text)


def reason(keys: list[str], where: str = "an object in it") -> str:
    """A bad line's reason for an object holding ``keys`` twice."""
    shown = ", ".join(json.dumps(k[:60]) for k in keys[:SHOWN]) + (f" and {len(keys) - SHOWN} more"
                                                                   if len(keys) > SHOWN else "")
    return (f"{where} holds the key{'s' if len(keys) > 1 else ''} {shown} twice: which value counts is undefined "
            "(RFC 8259), readers disagree, and its producer writes each key once, so a hop merged fields into it or "
            "it was edited")


def problem(text: bytes) -> Optional[str]:
    """``reason`` for a JSON text with a key twice in one object, else None."""
    keys = line_duplicates(text)
    return reason(keys) if keys else None
