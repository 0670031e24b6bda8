"""Text from a log or a path, made safe to print anywhere: one place that decides what is shown as an escape.

Log lines and file names are attacker-controlled. Before any of it reaches a terminal, a report or a workflow
command, every character that could act rather than read is shown as an escape: C0 controls (newline and carriage
return included, so no text can start a line of its own: no forged ``::error::`` or ``::stop-commands::``), DEL,
C1 controls (ESC/CSI/OSC sequences, BEL), Unicode line and paragraph separators, bidirectional overrides, invisible
characters (zero-width spaces, tag characters: a path that reads like another is told apart), and lone surrogates
(which cannot be encoded at all and would end a report with UnicodeEncodeError).
"""

from __future__ import annotations

import re
from typing import Mapping

# Invisible characters (Unicode's default-ignorable code points: zero-width spaces and joiners, the soft hyphen,
# word joiners, variation selectors, the BOM, fillers, and the tag characters that can smuggle whole ASCII words
# past a reader): shown as escapes too, so that a path that reads like another is told apart from it.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2065\u206a-\u206f"
              "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
# What a reader cannot see or what reorders text, beyond the C0 controls and lone surrogates: DEL and the C1
# controls, the line and paragraph separators, the bidi marks and overrides, and the invisible characters.
_HIDDEN = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069" + _INVISIBLE
_UNSAFE = re.compile("[\x00-\x1f\ud800-\udfff" + _HIDDEN + "]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff" + _HIDDEN + "]")


def _escape(m: "re.Match[str]") -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def visible(text: str) -> str:
    """``text`` on one line, every control, separator, bidi override and lone surrogate shown as an escape."""
    return _UNSAFE.sub(_escape, text)


_JSON_UNSAFE = re.compile("[" + _HIDDEN + "]")  # json.dumps escapes the C0 controls itself


def _json_escape(m: "re.Match[str]") -> str:
    data = m.group().encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(data[i:i + 2], 'big'):04x}" for i in range(0, len(data), 2))


def json_visible(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters ``visible`` escapes written as JSON
    ``\\u`` escapes: the same values to a program, nothing invisible or reordering to a person who reads the file
    (json.dumps escapes the C0 controls itself)."""
    return _JSON_UNSAFE.sub(_json_escape, text)


def visible_lines(text: str) -> str:
    """As ``visible``, but newlines and tabs kept (for multi-line report bodies built by the tool itself)."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every known secret value replaced by its name (``<canary:c1>``, ``<token:admin>``)."""
    for name, value in secrets.items():
        if value and value in text:
            text = text.replace(value, f"<{name}>")
    return text
