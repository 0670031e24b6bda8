"""Know what you are reading: the format of a log, told from its content before any check judges it.

A log of no known format is refused in one line that says what was found and what to set (exit 2), never handed
to the checks, where it would read as a cascade of vault defects. The formats told apart:

- ``vault``: Vault/OpenBao audit entries, one JSON object a line (``type`` request/response, ``time``,
  ``request``/``auth`` objects), with or without a constant device ``prefix`` before each object;
- ``k8s``: Kubernetes audit events (``audit.k8s.io`` apiVersion, kind Event), one a line;
- ``cloudtrail``: an AWS CloudTrail delivery file, ``{"Records": [...]}`` of CloudTrail records (not the
  ``Records`` of an AWS event notification: S3, SNS, SQS);
- ``jsonl``: JSON objects a line of no known producer, readable only through a ``field_map``.

Lines behind a syslog header (RFC 3164 or RFC 5424: rsyslog, syslog-ng, ``logger``, journald exports) are judged
by the entry they carry (``auditlog.syslog``), line by line. Anything else is refused: XML (a JSONx device), CSV,
plain text, JSON spread over several lines (pretty-printed or wrapped by a shipper), a prefix nobody declared.
Nothing here imports pytest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import AuditReadyError
from . import container
from .syslog import FRAGMENT, unframe

SAMPLE_BYTES = 256 * 1024
SAMPLE_LINES = 200

TITLES = {
    "vault": "a Vault/OpenBao audit log",
    "k8s": "a Kubernetes audit log",
    "cloudtrail": "an AWS CloudTrail log file",
    "jsonl": "JSON lines of no known audit format",
    "cloudtrail-record": "CloudTrail records one a line (as `jq -c '.Records[]'` writes them)",
}

_SYSLOG_RE = re.compile(
    rb"(?:<\d{1,3}>\d? ?)?"  # PRI and RFC 5424 version
    rb"(?:[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    rb" \S+ "  # host
)
_K8S_LEGACY = re.compile(rb" AUDIT: id=\"[0-9a-f-]+\" ")
_CLOUDTRAIL_RE = re.compile(rb'\A\s*\{\s*"Records"\s*:\s*\[')


class UnknownFormat(AuditReadyError):
    """The content is no format the checks can read (exit 2)."""


@dataclass(frozen=True)
class Detected:
    """What a log is: its format ("" for an empty log), and the constant text before each JSON object."""

    format: str
    prefix: str = ""
    lines: int = 0  # lines sampled
    framing: str = ""  # the platform framing around each entry (auditlog.container), "" for none

    @property
    def title(self) -> str:
        return TITLES.get(self.format, "an empty log")


def _kind(obj: Any) -> str:
    """The producer of one parsed JSON object: vault, k8s, cloudtrail (a record), or jsonl."""
    if not isinstance(obj, dict):
        return ""
    api = obj.get("apiVersion")
    if isinstance(api, str) and api.startswith("audit.k8s.io/") and obj.get("kind") == "Event":
        return "k8s"
    if isinstance(api, str) and api.startswith("audit.k8s.io/") and obj.get("kind") == "EventList":
        return "k8s-list"
    if obj.get("type") in ("request", "response") and (
        isinstance(obj.get("request"), dict) or isinstance(obj.get("auth"), dict) or "time" in obj
    ):
        return "vault"
    if cloudtrail_record(obj):
        return "cloudtrail-record"
    return "jsonl"


# Names every CloudTrail record has (CloudTrail record contents), of which a record a pipeline cut keeps some.
_CLOUDTRAIL_KEYS = ("eventVersion", "eventTime", "eventSource", "eventName", "eventID", "eventType", "userIdentity")


def cloudtrail_record(obj: Any) -> bool:
    """``obj`` is a CloudTrail record (CloudTrail record contents: eventVersion, eventTime and the eventSource the
    call went to, "<service>.amazonaws.com")."""
    return (isinstance(obj, dict) and "eventVersion" in obj and "eventTime" in obj and "eventSource" in obj
            and not _notification(obj))


def _notification(obj: dict[str, Any]) -> bool:
    """A record of an AWS event notification (S3, SNS, SQS, DynamoDB streams to Lambda): its source is written
    "aws:<service>", never a CloudTrail eventSource."""
    source = obj.get("eventSource", obj.get("EventSource"))
    return isinstance(source, str) and source.startswith("aws:")


def _foreign_record(obj: Any) -> bool:
    """The first item of a ``{"Records": [...]}`` file is plainly not a CloudTrail record (one that lost some of
    its fields still is one, for required_fields to judge): no object, an event notification, or an object with
    none of a CloudTrail record's names."""
    return not isinstance(obj, dict) or _notification(obj) or not any(k in obj for k in _CLOUDTRAIL_KEYS)


def _first_record(body: bytes) -> Any:
    """The first item of the Records array that ``body`` (starting with ``{"Records": [``) holds, parsed; None
    when the array is empty or its first item is cut by the sample's end."""
    text = body.decode("utf-8", "replace")
    start = text.index("[") + 1
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        return None


def _loads(text: bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _lines(sample: bytes, complete: bool) -> list[bytes]:
    lines = sample.split(b"\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample cut the last line
    return [ln.rstrip(b"\r") for ln in lines if ln.strip()][:SAMPLE_LINES]


def _show(text: bytes, limit: int = 40) -> str:
    s = text[:limit].decode("utf-8", "replace")
    return json.dumps(s + ("…" if len(text) > limit else ""))


def _wide(sample: bytes) -> str:
    """"UTF-16" or "UTF-32" when ``sample`` is text in one of them (a byte-order mark, or JSON's ASCII with the
    zero bytes of a wide encoding between), else ""."""
    if sample.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = sample[:64]
    zeros = head.count(0)
    if len(head) >= 8 and zeros < len(head) and zeros * 2 >= len(head) - 1:
        return "UTF-32" if zeros * 4 >= len(head) * 3 - 3 else "UTF-16"
    return ""


def sniff(name: str, sample: bytes, complete: bool, *, prefix: str = "", framing: str = "auto") -> Detected:
    """The format of a log whose first bytes are ``sample`` (``complete``: the whole log). Raises UnknownFormat
    with what was found and what to set."""
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    if sample[:64].strip(b"\x00") == b"" and sample[:1] == b"\x00":
        raise UnknownFormat(f"{name} starts with zero bytes, not text (space kept for a file that was never written, "
                            "or a crash left it)", "find the log the vault wrote (a rotated copy, a backup) and "
                            "verify that; keep this file as evidence of the gap")
    wide = _wide(sample)
    if wide:
        raise UnknownFormat(f"{name} is {wide} text, not UTF-8 (an export tool re-encoded it: PowerShell's "
                            "Out-File, a Windows editor)", f"convert it back: iconv -f {wide} -t UTF-8 {name} > "
                            f"{name}.utf8, and verify that")
    body = sample.lstrip()
    if not body:
        return Detected("")
    if _CLOUDTRAIL_RE.match(body):
        first = _first_record(body)
        if first is not None and _foreign_record(first):
            source = first.get("eventSource", first.get("EventSource")) if isinstance(first, dict) else None
            what = (f"AWS event notifications (eventSource {json.dumps(source)}), as S3, SNS or SQS send them"
                    if isinstance(source, str) and source.startswith("aws:") else
                    f"records that are no CloudTrail records (the first is {_show(json.dumps(first).encode())})")
            raise UnknownFormat(f"{name} holds {{\"Records\": [...]}} of {what}, not an AWS CloudTrail log file",
                                "point at the log files the trail delivers (AWSLogs/ACCOUNT/CloudTrail/REGION/...), "
                                "whose records carry eventVersion, eventTime and an eventSource such as "
                                "secretsmanager.amazonaws.com")
        return Detected("cloudtrail")
    if body[:1] == b"<" and not _SYSLOG_RE.match(body):
        raise UnknownFormat(f"{name} holds XML, not JSON lines (an audit device with format = \"jsonx\"?)",
                            "set the audit device's format to \"json\" (the default) and verify what it writes from "
                            "then on; JSONx is not read")
    lines = _lines(sample, complete)
    framing = container.detect(lines, framing)
    if framing:  # a platform's framing around each entry (CRI, Docker json-file, journald JSON): taken off
        unwrap = container.Unwrap(framing)
        lines = [ln for ln in unwrap.lines(lines) if ln.strip() and ln != container.LOST]
        if not lines:
            return Detected("vault", prefix, 0, framing)
    pre = prefix.encode("utf-8")
    kinds: dict[str, int] = {}
    before: dict[bytes, int] = {}  # text before the first "{" of a line -> how many lines
    fragments = 0
    framed_bad = 0  # lines behind a syslog header that carry no whole entry (cut by the hop): bad lines
    cut_starts = 0  # of those, the ones that carry the start of an entry (a JSON object cut short)
    for ln in lines:
        framed, problem = unframe(ln) if ln[:1] != b"{" else (None, "")
        if problem:
            framed_bad += 1
            cut_starts += problem != FRAGMENT
            continue
        if framed is not None:
            ln = framed
        body_ln = ln[len(pre):] if pre and ln.startswith(pre) else ln
        start = body_ln.find(b"{")
        if start < 0:
            kinds["text"] = kinds.get("text", 0) + 1
            continue
        head, obj_text = body_ln[:start], body_ln[start:]
        obj = _loads(obj_text)
        if obj is None:
            fragments += 1
            continue
        if head.strip():
            before[head] = before.get(head, 0) + 1
            continue
        k = _kind(obj)
        kinds[k] = kinds.get(k, 0) + 1
    n = len(lines)
    if kinds.get("k8s-list", 0) * 2 >= n:
        # The webhook backend's batches (--audit-webhook-batch-*), stored as received: one line holds many events,
        # which a field_map would read as one entry.
        raise UnknownFormat(f"{name} holds Kubernetes audit EventList batches (as the API server's webhook backend "
                            "sends them), not one audit Event a line",
                            f"write the events one a line (jq -c '.items[]' {name} > {name}.events) and verify that, "
                            "or verify the API server's log backend file (--audit-log-path)")
    known = {k: v for k, v in kinds.items() if k in ("vault", "k8s", "jsonl", "cloudtrail-record")}
    if known:
        best = max(known, key=lambda k: known[k])
        if known[best] * 2 >= n - framed_bad or not before:
            return Detected(best, prefix, n, framing)
    if framed_bad * 2 >= n and not before and not fragments and cut_starts:
        # Behind syslog headers, entries the hop cut: read them, so that each cut line is a finding that names the
        # hop's limit (``auditlog.syslog``), not a refusal of the whole file.
        return Detected("vault", prefix, n, framing)
    if before:
        heads = sorted(before.items(), key=lambda kv: -kv[1])
        head, count = heads[0]
        if len(before) == 1 and count * 2 >= n:
            shown = head.decode("utf-8", "replace")
            raise UnknownFormat(f"every line of {name} starts with the text {json.dumps(shown)} before its JSON object "
                                "(an audit device prefix)",
                                f"set log_prefix = {json.dumps(shown)} in [tool.auditready] (or the audit device's "
                                "prefix option to \"\")")
        raise UnknownFormat(f"the lines of {name} carry varying text before their JSON objects "
                            f"(e.g. {_show(head)})",
                            "export the audit entries one JSON object a line, as the audit device writes them")
    if fragments:
        raise UnknownFormat(f"{name} holds JSON spread over several lines (pretty-printed, or lines wrapped or cut "
                            "by a log shipper), not one JSON object a line",
                            "export one object a line (jq -c . FILE), and make the shipper keep each entry on one "
                            "line whole")
    first = lines[0] if lines else b""
    if any(_K8S_LEGACY.search(ln) for ln in lines[:20]):
        raise UnknownFormat(f"{name} holds Kubernetes audit events in the legacy text format ({_show(first)})",
                            "set the API server's --audit-log-format=json and verify "
                            "what it writes from then on")
    if first.count(b",") >= 2 and all(ln.count(b",") == first.count(b",") for ln in lines[:20]):
        raise UnknownFormat(f"{name} holds CSV ({_show(first)}), not JSON audit entries",
                            "export the audit log as the vault writes it (one JSON object a line)")
    raise UnknownFormat(f"{name} holds plain text ({_show(first)}), not JSON audit entries",
                        "point at the audit device's output (one JSON object a line)")


def check_format(name: str, found: Detected, wanted: str, field_map: Sequence[tuple[str, str]]) -> str:
    """The format to read ``name`` with: the detected one, unless ``wanted`` (a --format or log_format the user
    set; "auto" for none) disagrees, which is refused. Generic JSON lines need a field_map."""
    fmt = found.format
    if not fmt:
        return wanted if wanted != "auto" else "vault"
    if wanted not in ("auto", fmt) and not (wanted == "jsonl" and fmt in ("vault", "k8s", "cloudtrail-record")):
        raise UnknownFormat(f"{name} is {found.title}, not {TITLES.get(wanted, wanted)} as log_format/--format "
                            f"says", f"use --format {fmt} (or leave the format out: it is told from the content)")
    if wanted == "jsonl":
        fmt = "jsonl"
    elif fmt == "cloudtrail-record":
        raise UnknownFormat(f"{name} holds {TITLES[fmt]}, not a CloudTrail delivery file",
                            "verify the delivered files themselves (log_format = \"cloudtrail\"), or read these "
                            "lines with log_format = \"jsonl\" and a field_map")
    if fmt == "jsonl" and not field_map:
        raise UnknownFormat(f"{name} holds {TITLES['jsonl']} (neither Vault/OpenBao, Kubernetes nor CloudTrail "
                            "entries), and no field_map says where its fields are",
                            "set log_format = \"jsonl\" and field_map in [tool.auditready], e.g. "
                            "{time = \"ts\", identity = \"user\", resource = \"path\", action = \"op\", "
                            "result = \"status\", source = \"ip\", request_id = \"id\"}")
    return fmt


def detect_lines(name: str, raws: Sequence[str], prefix: str = "") -> Detected:
    """The same judgement over lines already read (a live source's unreadable lines)."""
    data = "\n".join(raws).encode("utf-8", "surrogatepass")
    return sniff(name, data, True, prefix=prefix)
