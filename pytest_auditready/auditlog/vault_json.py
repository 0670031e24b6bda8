"""Reader for the Vault / OpenBao file audit device: one JSON object a line, optionally after a device prefix."""

from __future__ import annotations

import json
from typing import Union

from .lines import MAX_LINE_BYTES
from .model import AuditEntry, BadLine


def parse_line(file: str, line_no: int, raw: bytes, prefix: str = "") -> Union[AuditEntry, BadLine]:
    """Parse one line (without its newline). Never raises: a bad line comes back as a BadLine."""
    if len(raw) > MAX_LINE_BYTES:
        return BadLine(file, line_no, f"line is {len(raw)} bytes, over the {MAX_LINE_BYTES} byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(file, line_no, f"not UTF-8 (byte {exc.start})", raw.decode("utf-8", "replace"))
    body = text
    if prefix and body.startswith(prefix):
        body = body[len(prefix) :]
    start = body.find("{")
    if start < 0:
        return BadLine(file, line_no, "no JSON object on the line", text)
    if body[:start].strip():
        zeros = len(body) - len(body.lstrip("\x00"))
        if zeros and not body[zeros:start].strip():
            return BadLine(file, line_no, f"{zeros} zero bytes before the entry: space the file system kept for data "
                           "never written (a crash, or a copy truncated under its writer); entries may be lost here",
                           text)
        return BadLine(file, line_no, "text before the JSON object (a device prefix? set log_prefix)", text)
    try:
        data = json.loads(body[start:])
    except ValueError as exc:
        msg = str(exc).split(":")[0]
        if msg == "Extra data" and body[start:].lstrip()[:1] == "{":
            try:
                _obj, end = json.JSONDecoder().raw_decode(body[start:])
            except ValueError:
                end = -1
            if end > 0 and body[start + end :].lstrip()[:1] == "{":
                return BadLine(file, line_no, "JSON objects one after another on one line, no newline between (a "
                               "shipper concatenated records: Kinesis Data Firehose without a newline delimiter)",
                               text)
        return BadLine(file, line_no, f"malformed JSON ({msg})", text)
    except RecursionError:
        return BadLine(file, line_no, "JSON nested too deeply", text)
    if not isinstance(data, dict):
        return BadLine(file, line_no, "the line's JSON is not an object", text)
    return AuditEntry(file, line_no, data, text)
