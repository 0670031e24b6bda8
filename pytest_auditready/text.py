"""Text from a log or a path, made safe to print anywhere: one place that decides what is shown as an escape.

Log lines and file names are attacker-controlled. Before any of it reaches a terminal, a report or a workflow
command, every character that could act rather than read is shown as an escape: C0 controls (newline and carriage
return included, so no text can start a line of its own: no forged ``::error::`` or ``::stop-commands::``), DEL,
C1 controls (ESC/CSI/OSC sequences, BEL), Unicode line and paragraph separators, bidirectional overrides, and lone
surrogates (which cannot be encoded at all and would end a report with UnicodeEncodeError).
"""

from __future__ import annotations

import re
from typing import Mapping

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
                                "\ud800-\udfff]")


def _escape(m: "re.Match[str]") -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def visible(text: str) -> str:
    """``text`` on one line, every control, separator, bidi override and lone surrogate shown as an escape."""
    return _UNSAFE.sub(_escape, text)


def visible_lines(text: str) -> str:
    """As ``visible``, but newlines and tabs kept (for multi-line report bodies built by the tool itself)."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every known secret value replaced by its name (``<canary:c1>``, ``<token:admin>``)."""
    for name, value in secrets.items():
        if value and value in text:
            text = text.replace(value, f"<{name}>")
    return text
