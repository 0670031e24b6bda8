"""JSON no producer writes: a key twice in one object, or a number beyond a double's range.

Vault, OpenBao (Go's encoding/json), the Kubernetes API server and CloudTrail write each key of an object once. RFC
8259 (section 4) leaves an object with a repeated name undefined: most readers (msgspec, orjson, Python's json, Go's)
keep the last value, others the first, so an entry with ``"type"``, ``"error"`` or ``"auth"`` twice reads as two
different entries to two tools, and a CloudTrail file with ``"Records"`` twice hides the first list of records from
every reader that keeps the last. Go's encoding/json refuses a number beyond float64's range both ways (Unmarshal:
"cannot unmarshal number 1e999 into Go value of type float64"; Marshal cannot write an infinity), so a vault never
writes one, where Python's json reads it as an infinity and msgspec skips it unread. Such a line is unreadable
evidence (a hop merged fields into it or rewrote it, or it was edited): the readers report it as a bad line, never as
the entry one reader would make of it.

``duplicate_keys`` and ``out_of_range`` are the reference: Python's json reads the keys decoded (``"t\\u0079pe"`` is
``"type"``) and each number as written. The C extension's ``key_suspects`` names the only lines they need to read:
two keys of one object with the same bytes, a key written with an escape, an object of many keys, or a number of
300 digits or more before its point, its exponent counted. Without it, a line that orjson writes back byte for byte
holds neither (orjson refuses a number beyond a double's range), as ``odd_lines`` uses.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import orjson

from ..scan import native
from ..text import clip

SHOWN = 3  # keys a reason names


def duplicate_keys(text: bytes, outermost: bool = False) -> list[str]:
    """The keys (decoded, sorted, each once) that some object of the JSON text ``text`` (``outermost``: the text's
    own object) holds twice or more; [] for a text that is no JSON (its reader says why) or holds none. Texts nested
    deeper than the interpreter's limit are read on a thread made for them, as the readers do
    (``vault_json.decode_deep``)."""
    return _read(text, outermost)[0]


def out_of_range(text: bytes) -> str:
    """The first number of the JSON text ``text`` beyond a double's range (beyond 1.8e308 either way), as written;
    "" for a text that is no JSON or holds none."""
    return _read(text)[1]


def _read(text: bytes, outermost: bool = False) -> tuple[list[str], str]:
    found: set[str] = set()
    huge: list[str] = []

    def number(written: str) -> float:
        value = float(written)  # the text, read as a double (a literal of any length reads as inf, never raises)
        if not huge and math.isinf(value):
            huge.append(written)
        return value

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
        return json.loads(b, object_pairs_hook=pairs, parse_float=number, parse_int=number)

    try:
        try:
            loads(text)
        except RecursionError:
            from .vault_json import decode_deep

            decode_deep(loads, text)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or deeper than any reader
        return [], ""
    return sorted(found), huge[0] if huge else ""


def _written_again(text: bytes) -> bool:
    """Whether orjson writes ``text`` back byte for byte once read: then no object of it holds a key twice (one
    kept would leave the text written again a key shorter). A compact text a producer wrote usually is; one with
    escapes orjson does not write (Go's "\u0026"), spaces or a key twice is not, and the reference decides."""
    try:
        return orjson.dumps(orjson.loads(text)) == text
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return False


def odd_lines(data: bytes) -> dict[int, str]:
    """For a block of JSON texts, one a line: {offset of a line's first byte: ``problem`` of it} for each line that
    holds a key twice in one object or a number beyond a double's range."""
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
    out: dict[int, str] = {}
    for s in starts:
        e = data.find(b"\n", s)
        why = _problem(data[s : e if e >= 0 else len(data)])
        if why:
            out[s] = why
    return out


def _plain(text: bytes) -> bool:
    """Whether the fast pass (the C extension's where it is built) clears the one JSON text ``text`` of both."""
    lib = native.lib
    if lib is not None:
        return b"\n" not in text and not lib.key_suspects(text)
    return _written_again(text)


def line_duplicates(text: bytes) -> list[str]:
    """``duplicate_keys`` of one JSON text, a fast pass first."""
    return [] if _plain(text) else duplicate_keys(text)


def reason(keys: list[str], where: str = "an object in it") -> str:
    """A bad line's reason for an object holding ``keys`` twice."""
    shown = ", ".join(clip(json.dumps(k), 62) for k in keys[:SHOWN]) + (f" and {len(keys) - SHOWN} more"
                                                                   if len(keys) > SHOWN else "")
    return (f"{where} holds the key{'s' if len(keys) > 1 else ''} {shown} twice: which value counts is undefined "
            "(RFC 8259), readers disagree, and its producer writes each key once, so a hop merged fields into it or "
            "it was edited")


def problem(text: bytes) -> Optional[str]:
    """The reason a JSON text is unreadable evidence (a key twice in one object, a number beyond a double's range),
    else None."""
    return None if _plain(text) else _problem(text)


def _problem(text: bytes) -> Optional[str]:
    keys, huge = _read(text)
    if keys:
        return reason(keys)
    if huge:
        shown = huge if len(huge) <= 40 else f"{huge[:20]}...{huge[-12:]} ({len(huge):,} characters)"
        return (f"it holds the number {shown}, beyond a double's range: its producer's encoder (Go's encoding/json) "
                "neither reads nor writes one, so a hop rewrote the line or it was edited")
    return None
