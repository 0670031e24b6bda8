"""Know what you are reading: the format of a log, told from its content before any check judges it.

A log of no known format is refused in one line that says what was found and what to set (exit 2), never handed
to the checks, where it would read as a cascade of vault defects. The formats told apart:

- ``vault``: Vault/OpenBao audit entries, one JSON object a line (``type`` request/response, ``time``,
  ``request``/``auth`` objects), with or without a constant device ``prefix`` before each object;
- ``k8s``: Kubernetes audit events (``audit.k8s.io`` apiVersion, kind Event), one a line;
- ``cloudtrail``: an AWS CloudTrail delivery file, ``{"Records": [...]}`` of CloudTrail records (not the
  ``Records`` of an AWS event notification: S3, SNS, SQS), or CloudTrail records one a line, whole (``jq -c
  '.Records[]'``, a SIEM's copy, ``lookup-events`` through jq), or EventBridge's
  "... via CloudTrail" events one a line (each record under ``detail``): told as ``cloudtrail-record`` and read
  as ``cloudtrail``, one record a line;
- ``jsonl``: JSON objects a line of no known producer, readable only through a ``field_map``.

CloudTrail records as query engines and SIEMs give them back are refused, naming the tool and the way out, where a
field the checks judge lost its meaning: CloudTrail Lake's and Athena's query results (structs as text, a time with
no zone: none is assumed), records whose objects are text or whose eventTime has no zone, Elastic's ECS documents
without event.original. Records a shipper or a SIEM kept whole are read (``auditlog.container``).

Lines behind a syslog header (RFC 3164 or RFC 5424: rsyslog, syslog-ng, ``logger``, journald exports) are judged
by the entry they carry (``auditlog.syslog``), line by line; a shipper's record holding the line is unwrapped by
``auditlog.container``, and so is the vault server's output stream with its own lines among the entries
(``container.MERGED``). Anything else is refused: JSONx (a Vault device's) and other XML, an HTML page or an error
document saved in place of the log, CSV, plain text, JSON spread over several lines (pretty-printed or wrapped by a
shipper), a prefix nobody declared; and, naming the tool and the way out, the lines inside one exported JSON document
or a shipper's string field, a tool's own line format, archives, compressions not read, binary data, base64 of gzip
(CloudWatch Logs subscription payloads), entries a shipper's parser took the time out of (Google Cloud Logging's
jsonPayload among them), and an export newest first (a search's order). A fix's command reads the file as it is kept
(``_filtered``: through zcat, bzcat or xzcat when it is compressed).
Nothing here imports pytest.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import csv
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..config import field_alternatives
from ..errors import AuditReadyError
from . import container
from .formats import gcp_audit, gcp_status_left_out
from .syslog import FRAGMENT, UNENDED, carried_prefix, server_log, truncated, unframe

SAMPLE_BYTES = 256 * 1024
SAMPLE_LINES = 200


def read_sample(f: Any) -> tuple[bytes, bool]:
    """The bytes the format is told from, and whether they run to the end of the file (else the caller judges the
    first SAMPLE_BYTES): the file's start, or, when it starts with lines longer than that, the lines after them. Long
    first lines (a response that returns a large secret, a rotated file that starts at one, or one hostile line)
    would otherwise be all the sample holds, cut, and the whole file refused for them; the reader reports such a line
    in its place (over MAX_LINE_BYTES) or reads it, and reads the rest. A file of one such line and nothing else (a
    rotated file of one listing's answer) is that line, whole, up to MAX_LINE_BYTES. A file of nothing but such lines,
    a CloudTrail file, or one whose long lines run past SKIP_BYTES (a file that grows with no newline is not chased)
    is told from its start."""
    from .lines import MAX_LINE_BYTES

    head: bytes = f.read(SAMPLE_BYTES + 1)
    if len(head) <= SAMPLE_BYTES or b"\n" in head or _CLOUDTRAIL_RE.match(head.lstrip()):
        return head, len(head) <= SAMPLE_BYTES
    buf, skipped, in_long = b"", len(head), True  # buf: bytes from the start of a line on
    first: Optional[list[bytes]] = [head]  # the first line's pieces, while it may be the file's only line
    while skipped < SKIP_BYTES:  # long lines streamed past, never held, as the reader streams past them
        piece: bytes = f.read(1 << 20)
        if not piece:
            if buf.strip():
                return buf, len(buf) <= SAMPLE_BYTES
            return (b"".join(first), True) if first is not None else (head, False)
        if in_long:
            end = piece.find(b"\n")
            if first is not None:
                first.append(piece if end < 0 else piece[:end + 1])
                if skipped + len(first[-1]) > MAX_LINE_BYTES:
                    first = None  # over the reader's limit: told from its start, as any such line
            if end < 0:
                skipped += len(piece)
                continue
            skipped += end + 1
            piece, in_long = piece[end + 1:], False
        buf += piece
        if first is not None and buf.strip():
            first = None  # another line follows
        while len(buf) > SAMPLE_BYTES:
            if b"\n" in buf[:SAMPLE_BYTES + 1]:
                return buf[:SAMPLE_BYTES + 1], False
            end = buf.find(b"\n")  # this line is longer than the sample too
            if end < 0:
                skipped, buf, in_long = skipped + len(buf), b"", True
            else:
                skipped, buf = skipped + end + 1, buf[end + 1:]
    return head, False


SKIP_BYTES = 1 << 30

TITLES = {
    "vault": "a Vault/OpenBao audit log",
    "k8s": "a Kubernetes audit log",
    "cloudtrail": "an AWS CloudTrail log file",
    "jsonl": "JSON lines of no known audit format",
    "cloudtrail-record": "CloudTrail records one a line (an export, or EventBridge's events of CloudTrail records)",
}

_SYSLOG_RE = re.compile(
    rb"(?:<\d{1,3}>\d? ?)?"  # PRI and RFC 5424 version
    rb"(?:[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    rb" \S+ "  # host
)
_K8S_LEGACY = re.compile(rb" AUDIT: id=\"[0-9a-f-]+\" ")
_CLOUDTRAIL_RE = re.compile(rb'\A\s*\{\s*"Records"\s*:\s*\[')
DELIVERY_FILE = _CLOUDTRAIL_RE  # the start of a CloudTrail delivery file (offline.reader tells the two shapes)


class UnknownFormat(AuditReadyError):
    """The content is no format the checks can read (exit 2). ``unmapped``: for generic JSON lines refused only for
    want of a field_map, the cause without that way out (for a command that reads no such log: auditready access)."""

    def __init__(self, cause: str, fix: str = "", unmapped: str = "") -> None:
        super().__init__(cause, fix)
        self.unmapped = " ".join(unmapped.split())


@dataclass(frozen=True)
class Detected:
    """What a log is: its format ("" for an empty log), and the constant text before each JSON object."""

    format: str
    prefix: str = ""
    lines: int = 0  # lines sampled
    framing: str = ""  # the platform framing around each entry (auditlog.container), "" for none
    nested: str = ""  # JSON lines of no known format: the key under which each holds a producer's entry, if any
    # JSON lines of no known format that hold CloudTrail's fields in another producer's shape: (what, fix)
    reshaped: tuple[str, str] = ("", "")
    # the JSON objects sampled (one a line, as read), for check_format to test a field_map against
    samples: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def title(self) -> str:
        return TITLES.get(self.format, "an empty log")


# The stages of an audit Event (k8s.io/apiserver pkg/apis/audit/v1 types.go).
_K8S_STAGES = frozenset({"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"})


def _k8s_item(obj: dict[str, Any]) -> bool:
    """``obj`` is an audit Event as an EventList of the webhook backend holds it: the API server writes the list's
    kind and apiVersion, not (always) each item's, so ``jq -c '.items[]'`` gives events without them, or with
    ``"kind": "Event"`` alone (falco's recorded webhook traces). Told by the fields every Event has (level, auditID,
    stage, requestURI, verb; all required)."""
    return (obj.get("stage") in _K8S_STAGES and all(isinstance(obj.get(k), str)
                                                    for k in ("auditID", "level", "requestURI", "verb")))


def _kind(obj: Any) -> str:
    """The producer of one parsed JSON object: vault, k8s, cloudtrail (a record), or jsonl."""
    if not isinstance(obj, dict):
        return ""
    api = obj.get("apiVersion")
    if isinstance(api, str) and api.startswith("audit.k8s.io/") and obj.get("kind") == "Event":
        return "k8s"
    if isinstance(api, str) and api.startswith("audit.k8s.io/") and obj.get("kind") == "EventList":
        return "k8s-list"
    if obj.get("kind", "Event") == "Event" and (api is None or (isinstance(api, str) and api.startswith(
            "audit.k8s.io/"))) and _k8s_item(obj):  # an item of a list, with its kind or its apiVersion or neither
        return "k8s"
    # (a "request" or "auth" that is no object is another producer's: an access log's request line, say)
    if obj.get("type") in ("request", "response") and (
        isinstance(obj.get("request"), dict) or isinstance(obj.get("auth"), dict)
        or ("time" in obj and obj.get("request", {}) == {} and obj.get("auth", {}) == {})
    ):
        return "vault"
    if cloudtrail_record(obj) or cloudtrail_record(eventbridge_detail(obj)):
        return "cloudtrail-record"
    return "jsonl"


# The keys of an EventBridge event (its envelope): an event with no other key is read as the record it carries.
EVENTBRIDGE_KEYS = frozenset({"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                              "detail"})


def eventbridge_detail(obj: Any) -> Any:
    """The CloudTrail record an EventBridge event carries (``detail`` of an event whose detail-type is "AWS API
    Call via CloudTrail", "AWS Console Sign In via CloudTrail", ... and whose source is "aws.<service>"; or of an
    event trimmed to some of its envelope's keys, ``{"detail": <record>}`` as an input transformer or a SIEM keeps
    it, when the detail is a CloudTrail record), else None."""
    if not isinstance(obj, dict) or "detail" not in obj:
        return None
    kind, source = obj.get("detail-type"), obj.get("source")
    if isinstance(kind, str) and kind.endswith("via CloudTrail") and isinstance(source, str) \
            and source.startswith("aws."):
        return obj["detail"]
    if kind is None and EVENTBRIDGE_KEYS.issuperset(obj) and cloudtrail_record(obj["detail"]):
        return obj["detail"]
    return None


# Names every CloudTrail record has (CloudTrail record contents), of which a record a pipeline cut keeps some.
_CLOUDTRAIL_KEYS = ("eventVersion", "eventTime", "eventSource", "eventName", "eventID", "eventType", "userIdentity")


def cloudtrail_record(obj: Any) -> bool:
    """``obj`` is a CloudTrail record (CloudTrail record contents: eventVersion, eventTime and the eventSource the
    call went to, "<service>.amazonaws.com"; an Insights event has its eventSource under insightDetails, and an
    eventType and eventID of its own), of AWS: its awsRegion, or an eventSource of amazonaws.com. Producers modelled
    on CloudTrail's record share its other names (Alibaba Cloud ActionTrail: acsRegion, "<service>.aliyuncs.com",
    eventVersion 1) and are generic JSON lines (red team rt39, F6)."""
    return (isinstance(obj, dict) and "eventVersion" in obj and "eventTime" in obj
            and ("eventSource" in obj or ("eventType" in obj and "eventID" in obj)) and not _notification(obj)
            and ("awsRegion" in obj or str(obj.get("eventSource", "")).endswith(".amazonaws.com")))


def _notification(obj: dict[str, Any]) -> bool:
    """A record of an AWS event notification (S3, SNS, SQS, DynamoDB streams to Lambda): its source is written
    "aws:<service>", never a CloudTrail eventSource."""
    source = obj.get("eventSource", obj.get("EventSource"))
    return isinstance(source, str) and source.startswith("aws:")


def foreign_record(obj: Any) -> bool:
    """``obj`` (the first item of a ``{"Records": [...]}`` file, or a line among records one a line) is plainly not a
    CloudTrail record (one that lost some of its fields still is one, for required_fields to judge): no object, an
    event notification, or an object with none of a CloudTrail record's names."""
    return not isinstance(obj, dict) or _notification(obj) or not any(k in obj for k in _CLOUDTRAIL_KEYS)


def _first_record(body: bytes) -> Any:
    """The first item of the Records array that ``body`` (starting with ``{"Records": [``) holds, parsed; None
    when the array is empty or its first item is cut by the sample's end."""
    return next(iter(_records(body, 1)), None)


def _records(body: bytes, most: int) -> list[Any]:
    """The first ``most`` items of the Records array that ``body`` (starting with ``{"Records": [``) holds, parsed,
    up to the first one the sample's end cuts."""
    text = body.decode("utf-8", "replace")
    at, decoder = text.index("[") + 1, json.JSONDecoder()
    out: list[Any] = []
    while len(out) < most:
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        try:
            item, at = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):
            break
        out.append(item)
    return out


# CloudTrail records as query engines give them back (AWS CloudTrail User Guide, "Supported SQL schemas for event
# data stores"; Amazon Athena User Guide, "Create a table for CloudTrail logs"): what was found, and the way out.
LAKE_ROWS = ("rows: each a list of one-column objects, userIdentity and the other structs as text, "
             "requestParameters a map of strings, eventTime a SQL timestamp with no zone")
LAKE_FIX = ("verify the records as CloudTrail writes them: the delivery files of a trail that logs these events "
            "(aws s3 sync s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/ DIR/, then auditready verify DIR); a Lake query's "
            "rows cannot be turned back into them")
ATHENA_TEXT = "every column as text, a struct such as useridentity printed as {type=IAMUser, arn=...}, which no " \
              "parser reads back safely"
ATHENA_FIX = ("the Athena table reads the trail's delivery files: list those that hold these rows (SELECT DISTINCT "
              "\"$path\" FROM cloudtrail_logs WHERE <your filter>), copy them (aws s3 cp S3_PATH DIR/) and verify "
              "them")
ATHENA_LAKE_FIX = ATHENA_FIX + " (CloudTrail Lake rows: the delivery files of a trail that logs the same events)"

# The fields CloudTrail writes as objects, arrays or null, never as text (CloudTrail record contents); a query
# engine's rows or a SIEM that flattened the record give them back as text.
_CT_OBJECTS = ("userIdentity", "requestParameters", "responseElements", "additionalEventData", "resources",
               "serviceEventDetails", "tlsDetails", "insightDetails")
# eventTime as CloudTrail writes it: RFC 3339 with its zone (CloudTrail writes UTC, "Z"; a SIEM's re-rendering with
# an explicit offset or a fraction is the same instant).
_CT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)\Z")
# CloudTrail's record names as a query engine's or a warehouse's columns write them (lowercase, snake_case)
_CT_COLUMNS = frozenset(k.lower() for k in (*_CLOUDTRAIL_KEYS, "awsRegion", "sourceIPAddress", "requestParameters",
                                            "requestID", "recipientAccountId", "errorCode"))
_LAKE_ROW = re.compile(rb'\[\s*(?:\[\s*)?\{\s*"([A-Za-z_]{1,40})"\s*:\s*(?:"(?:[^"\\]|\\.)*"|null|true|false|-?[\d.]+)'
                       rb'\s*\}\s*,\s*\{\s*"[A-Za-z_]{1,40}"\s*:')


_TIMEISH = re.compile(r"[0-9TZ:.+ /-]{1,40}(?: UTC)?")
_FORM = re.compile(r'\s*\[?\{\s*"?[A-Za-z][A-Za-z0-9_]{0,40}"?\s*[=:]')  # a struct's text or JSON: its first name


def _flattened(rec: Any) -> tuple[tuple[str, str], ...]:
    """What of a CloudTrail record is not as CloudTrail writes it, as (name, value) pairs: an eventTime with no zone
    or not RFC 3339 (a SQL timestamp, "2023-05-10 12:00:00.000"; an epoch number), and objects given as text (a
    struct printed {type=IAMUser, arn=...}, or JSON in a string). A record that lacks a field is no such thing: the
    checks judge it."""
    if not isinstance(rec, dict):
        return ()
    found: list[tuple[str, str]] = []
    t = rec.get("eventTime")
    if (isinstance(t, str) and t and not _CT_TIME.match(t)) or (isinstance(t, (int, float))
                                                                 and not isinstance(t, bool)):
        found.append(("eventTime", str(t)))
    for key in _CT_OBJECTS:
        v = rec.get(key)
        if isinstance(v, str) and v.lstrip()[:1] in ("{", "["):
            found.append((key, v))
    return tuple(found)


def _flat_refusal(name: str, flats: Sequence[tuple[tuple[str, str], ...]]) -> UnknownFormat:
    """The refusal of CloudTrail records whose fields a query engine or a SIEM flattened (``_flattened``)."""
    first: dict[str, str] = {}
    for flat in flats:
        for key, value in flat:
            first.setdefault(key, value)
    said = []
    for key, value in first.items():  # a value is shown only when it is a time: the rest may hold a secret
        if key == "eventTime":
            shown = json.dumps(value) if _TIMEISH.fullmatch(value) else "that is no time"
            said.append(f"eventTime {shown} (no zone, or not RFC 3339)")
        else:
            form = _FORM.match(value)
            said.append(f"{key} as text ({form.group(0)}…)" if form else f"{key} as text")
    what = (f"{name} holds CloudTrail records whose fields are not as CloudTrail writes them: " + ", ".join(said)
            + f" in {len(flats)} of the records sampled (a query's rows made into objects: CloudTrail Lake, Athena; "
            "or a SIEM that flattened them)")
    texts = [k for k in first if k != "eventTime"]
    if "eventTime" not in first and all(_json_text(v) for flat in flats for k, v in flat):
        keys = ", ".join(json.dumps(k) for k in texts)
        jq = ("jq -c 'with_entries(if (.key | IN(" + keys + ")) then .value = (.value as $v | try ($v | fromjson) "
              "catch $v) else . end)'")
        return UnknownFormat(what, f"turn the JSON text back into objects ({_filtered(name, jq, 'records')}) and "
                                   "verify that")
    return UnknownFormat(what, "verify the records as CloudTrail writes them (eventTime RFC 3339 UTC, e.g. "
                               "2026-01-02T03:04:05Z; objects as JSON): the trail's delivery files (aws s3 sync "
                               "s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/ DIR/, then auditready verify DIR); no zone "
                               "is assumed and no struct text is parsed")


def _json_text(value: str) -> bool:
    try:
        return isinstance(json.loads(value), (dict, list))
    except (ValueError, RecursionError):
        return False


def _reshaped(obj: dict[str, Any]) -> str:
    """"ecs" when ``obj`` (JSON of no known format) is Elastic's ECS document of a CloudTrail record (the aws
    integration's aws.cloudtrail fields), "lake" when it is one column of a CloudTrail Lake row, "columns" when it
    holds CloudTrail's fields under a query engine's or a warehouse's column names (eventtime, useridentity: Athena,
    CloudTrail Lake, event_time: a warehouse), else "".
    An Elasticsearch document one a line (``_source``) is judged by its source."""
    source = obj.get("_source")
    if isinstance(source, dict):
        obj = source
    aws = obj.get("aws")
    if (isinstance(aws, dict) and isinstance(aws.get("cloudtrail"), dict)) or any(
            isinstance(k, str) and k.startswith("aws.cloudtrail") for k in obj):
        return "ecs"
    names = {k.lower().replace("_", "") for k in obj if isinstance(k, str)}
    if len(names) == 1 and names <= _CT_COLUMNS:
        return "lake"  # one column a line: jq -c '.QueryResultRows[][]'
    # (spelled as CloudTrail spells it, eventTime is a record's own name: a producer modelled on CloudTrail's record)
    return ("columns" if "eventtime" in names and "eventTime" not in obj and names & {"eventname", "eventsource"}
            else "")


_RESHAPED = {
    "lake": (f"CloudTrail Lake query rows one column a line (as `aws cloudtrail get-query-results` prints them: "
             f"{LAKE_ROWS}), not CloudTrail records", LAKE_FIX),
    "ecs": ("Elastic's aws.cloudtrail documents (ECS: CloudTrail's fields renamed and reshaped, such as event.action, "
            "aws.cloudtrail.user_identity.arn, source.ip, @timestamp, request_parameters flattened to text) without "
            "the record as read (event.original)",
            "keep each record in event.original (the AWS integration's preserve_original_event tag), which is read, "
            "or verify the trail's delivery files (aws s3 sync s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/ DIR/)"),
    "columns": ("CloudTrail's fields under a query engine's column names (eventtime, useridentity, requestparameters "
                "as text: an Athena query's rows, UNLOAD or CTAS to JSON, a CloudTrail Lake or warehouse export), "
                "not the records as CloudTrail writes them", ATHENA_LAKE_FIX),
}


def _loads(text: bytes) -> Any:
    try:
        try:
            return json.loads(text)
        except RecursionError:  # deeper than the interpreter's limit: the producers' decoders take up to 10000
            from .vault_json import loads_deep

            return loads_deep(text)
        except ValueError as exc:
            if "integer string conversion" not in str(exc):
                raise
            # a number past Python's 4300 digits: still one JSON object a line, told by its keys; the reader finds
            # the line (red team rt47, F5: the file was refused as JSON spread over several lines)
            return json.loads(text, parse_int=str)
    except (ValueError, RecursionError):
        return None


def _lines(sample: bytes, complete: bool) -> list[bytes]:
    lines = sample.split(b"\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample cut the last line
    return [ln.rstrip(b"\r") for ln in lines if ln.strip()][:SAMPLE_LINES]


# (a "-" joins the parts of many tokens, Slack's xoxb-<team>-<bot>-<random>: a run of 20 with it is one run; red
# team rt92 F5)
_SECRETISH = re.compile(r"[A-Za-z0-9+/=_~-]{20,}|(?=[A-Za-z0-9+/=_~]*[0-9])(?=[A-Za-z0-9+/=_~]*[A-Za-z])"
                        r"[A-Za-z0-9+/=_~]{12,}")


# A value assigned or mapped in text (".env"'s KEY=value, "password = \"...\"", YAML's "key: value" at a line's
# start, "ldap bind pw: ..." after a word of a credential): whatever its key, its value may be a secret of no shape
# ("correct-horse-battery"), so it is never shown. A log line's "core: security barrier..." is shown.
_ASSIGNED = re.compile(r"(?im)(=[ \t]*|^[ \t]*[\w.-]+:[ \t]+"
                       r"|(?:pass|pw|pwd|secret|token|key|credential|auth)\w*:[ \t]+)"
                       r"(?:\"[^\"]*\"?|'[^']*'?|[^\s,;&]+)")


def _show(text: bytes, limit: int = 40) -> str:
    """The start of a refused file, quoted, with each assigned value (_ASSIGNED) and each run that could be a secret
    (12 or more letters and digits mixed, or any 20) shown as <...>: a file named by mistake may be a token file or
    a .env (red team rt53 F5: "POSTGRES_PASSWORD=correct-horse-battery" lost only its key to the run rule)."""
    from ..text import URL_CREDENTIALS

    # masked whole before it is cut: a cut may fall inside a secret (red team rt92 F5: the "@" that shows a URL's
    # password was past the cut, and the run rules saw a part too short)
    s = URL_CREDENTIALS.sub(r"\1<...>@", text[:limit * 8].decode("utf-8", "replace"))
    s = _ASSIGNED.sub(lambda m: m.group(1) + "<...>", s)
    s = _SECRETISH.sub("<...>", s)
    quoted = json.dumps(s[:limit])  # (escaped as JSON: no control character of the file reaches the terminal)
    return quoted[:-1] + "…\"" if len(s) > limit or len(text) > limit * 8 else quoted  # (the ellipsis is ours)


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
        # No byte-order mark: iconv reads "UTF-16" without one as big-endian, so name the order the zeros show
        # (ASCII's zero bytes come after each character in little-endian text, before it in big-endian). Only
        # when the zeros stand where a wide encoding puts them and the other bytes are text: a program or an
        # image (an ELF header is mostly zeros too) is binary data, which ``_binary`` names.
        width = 4 if zeros * 4 >= len(head) * 3 - 3 else 2
        head = head[:len(head) - len(head) % width]
        units = [head[i:i + width] for i in range(0, len(head), width)]
        little = all(u[1:] == bytes(width - 1) for u in units)
        big = all(u[:-1] == bytes(width - 1) for u in units)
        chars = bytes(u[0] if little else u[-1] for u in units)
        if not (little or big) or not all(c in _TEXT_BYTES for c in chars):
            return ""
        if width == 4:
            return "UTF-32LE" if little else "UTF-32BE"
        return "UTF-16LE" if little else "UTF-16BE"
    return ""


_TEXT_BYTES = frozenset(b"\t\n\r" + bytes(range(32, 127)))


# Containers and encodings a log can arrive in that are not read here (gzip, bzip2 and xz are, once: offline.reader),
# told by their magic bytes: (magic, offset, what it is, how to get the log out of it, the command that undoes it on
# a pipe: "" for none). The first three are met only inside a compressed file (which is read decompressed).
_PACKED = (
    (b"\x1f\x8b", 0, "gzip data inside the decompressed file (compressed twice: Kinesis Data Firehose's GZIP "
     "compression of CloudWatch Logs subscription data, which is gzip already)",
     "decompress it twice and verify what that gives", "zcat"),
    (b"BZh", 0, "bzip2 data inside the decompressed file (compressed twice)", "decompress it twice and verify that",
     "bzcat"),
    (b"\xfd7zXZ\x00", 0, "xz data inside the decompressed file (compressed twice)",
     "decompress it twice and verify that", "xzcat"),
    (b"PK\x03\x04", 0, "a ZIP archive (Kinesis Data Firehose's ZIP compression, or an export bundle)",
     "unzip FILE and verify the log files it holds", ""),
    (b"\x28\xb5\x2f\xfd", 0, "zstd-compressed data", "decompress it (zstd -d FILE) and verify that", "zstd -dc"),
    (b"\xff\x06\x00\x00sNaPpY", 0, "Snappy-framed data (Kinesis Data Firehose's Snappy compression)",
     "decompress it (python -m snappy -d FILE FILE.log) or deliver with GZIP compression, and verify that", ""),
    (b"\x04\x22\x4d\x18", 0, "LZ4-compressed data", "decompress it (lz4 -d FILE) and verify that", "lz4 -dc"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive", "extract it (7z x FILE) and verify the log files it holds", ""),
    (b"ustar", 257, "a tar archive", "extract it (tar xf FILE) and verify the log files it holds", ""),
    (b"PAR1", 0, "Apache Parquet (Kinesis Data Firehose's record format conversion)",
     "deliver the records as JSON (no record format conversion) and verify those", ""),
    (b"Obj\x01", 0, "Apache Avro", "convert it to JSON lines (avro-tools tojson FILE) and verify that", ""),
)
# The command that writes a file compressed as offline.reader reads it (``_packing``) decompressed to a pipe.
_CAT = {"gzip": "zcat", "bzip2": "bzcat", "xz": "xzcat"}
_PACKED_NAME = re.compile(r"\.(?:gz|gzip|bz2|xz)\Z", re.IGNORECASE)


def _on_disk(name: str, fix: str) -> str:
    """``fix`` (a shell command line with FILE for the file, and STEM for its name less a compressor's suffix) for
    ``name``: an object-store URL is copied to a local file first (no shell command reads or writes one), which the
    command then names."""
    local = name if "://" not in name else (name.rstrip("/").rsplit("/", 1)[-1] or "audit.log")
    said = fix.replace("STEM", _PACKED_NAME.sub("", local) or local).replace("FILE", local)
    if local is name:
        return said
    return f"copy it here first (aws s3 cp, gcloud storage cp or azcopy: {name} to {local}), then " + said


def _packing(name: str) -> str:
    """The compression ("gzip", "bzip2" or "xz") the file ``name`` is kept in, told by its first bytes as the
    reader tells it (offline.reader.open_log), whatever its name says; "" for none, or a name that is no file."""
    from .rotation import GzipReader, compression_in

    if "://" in name:  # an object: opened as the reader opens it (a small one is kept from the read before)
        try:
            from ..engine.objects import open_url

            f = open_url(name)
        except (AuditReadyError, OSError, ImportError):
            return ""
        try:
            if isinstance(f, GzipReader):
                return "gzip"
            # bzip2 and xz are read through rotation's stream reader, which keeps the kind it undoes
            return str(getattr(getattr(f, "raw", None), "_kind", "") or "")
        finally:
            f.close()
    try:
        if not os.path.isfile(name):  # (never a FIFO or a device: a read there could wait forever)
            return ""
        with open(name, "rb") as fh:
            return compression_in(fh.read(6)) or ""
    except OSError:
        return ""


# The keys a record's time is under in the JSON arrays producers export (Cloud Logging, Okta, CloudTrail, Vector)
_ARRAY_TIMES = ("timestamp", "published", "eventTime", "time", "@timestamp", "receiveTimestamp")


def _newest_first(body: bytes) -> bool:
    """Whether a JSON array of records begins newest first: its first record's time (RFC 3339) is after its
    second's. gcloud logging read writes newest first by default (--order=desc), so a `jq -c '.[]'`
    of it reads as a log going back in time (red team rt100 F3)."""
    decoder = json.JSONDecoder()
    text = body[1:].decode("utf-8", "replace")
    records: list[Any] = []
    at = 0
    try:
        while len(records) < 2:
            at = len(text) - len(text[at:].lstrip(" \t\r\n,"))
            record, at = decoder.raw_decode(text, at)
            records.append(record)
    except ValueError:
        return False
    a, b = records
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    from .model import parse_time

    for k in _ARRAY_TIMES:
        ta, tb = parse_time(a.get(k)), parse_time(b.get(k))
        if ta is not None and tb is not None:
            return ta[0] > tb[0]
    return False


def _filtered(name: str, command: str, suffix: str, stdin: bool = False, then: str = "") -> str:
    """The shell line that runs ``command`` (then the pipeline ``then``) over the log ``name``, writing what it gives
    beside it with ``suffix``: ``command FILE > FILE.suffix`` (``stdin``: ``command < FILE``); for a compressed file,
    told by its content, ``zcat FILE | command > STEM.suffix`` (bzcat, xzcat), as no such command reads compressed
    bytes."""
    cat = _CAT.get(_packing(name), "")
    if cat:
        return _on_disk(name, f"{cat} FILE | {command}{then} > STEM.{suffix}")
    return _on_disk(name, f"{command} {'< ' if stdin else ''}FILE{then} > FILE.{suffix}")


def _packed(name: str, sample: bytes) -> None:
    """Raises UnknownFormat when ``sample`` is a container or compression not read here."""
    for magic, at, what, fix, stream in _PACKED:
        if sample[at:at + len(magic)] == magic:
            outer = _packing(name)
            if outer and stream:  # inside the compression the reader undid: both undone on one pipe
                fix = f"decompress it ({_CAT[outer]} FILE | {stream} > STEM.log) and verify what that gives"
            elif outer and "tar xf" not in fix:  # (tar reads a compressed archive itself)
                out = "STEM" if _PACKED_NAME.search(name) else "FILE.decompressed"
                fix = f"decompress it first ({_CAT[outer]} FILE > {out}), then " + fix.replace("FILE", out)
            if outer and stream not in _CAT.values():
                what += f" inside its {outer} compression"
            raise UnknownFormat(f"{name} holds {what}, not text", _on_disk(name, fix))


def _binary(name: str, sample: bytes) -> None:
    """Raises UnknownFormat when the first line of ``sample`` is binary data, not text: control bytes, or mostly
    bytes that are no UTF-8. (Zero bytes before the text, as a file truncated under a writer leaves, are not
    counted: the lines after them are still read.)"""
    first = sample[:512].split(b"\n", 1)[0].lstrip(b"\x00")
    if not first:
        return
    controls = sum(1 for b in first if b < 9 or (13 < b < 32 and b not in (0x1b, 0x1e)))
    high = sum(1 for b in first if b > 127)
    if controls * 20 >= len(first) or (high * 10 >= len(first) * 3 and not _utf8(first)):
        raise UnknownFormat(f"{name} holds binary data, not text (its first bytes are {_show(first, 16)})",
                            "point at the audit log itself, decompressed (gzip, bzip2 and xz files are read as they "
                            "are)")


def _utf8(text: bytes) -> bool:
    """``text`` is UTF-8, but for a character cut at its end."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(text) - 3
    return True


_KEY = re.compile(rb'"([A-Za-z_@][A-Za-z0-9_@.]{0,40})"\s*:')


def _document(name: str, body: bytes) -> None:
    """Raises UnknownFormat when ``body`` is a query answer or an export that holds the log's lines inside one JSON
    document (compact or pretty-printed), told by the names its API documents."""
    if body[:1] != b"{":
        return
    head = body[:4096]
    keys = set(_KEY.findall(head))  # an escaped quote ends no name: the names of carried lines are not read
    first = _KEY.match(head, len(head) - len(head[1:].lstrip()))
    found: Optional[tuple[str, str]] = None
    generic = False  # generic JSON lines once written out (auditready access reads none: UnknownFormat.unmapped)

    def run(command: str, suffix: str, then: str = "") -> str:
        return _filtered(name, command, suffix, then=then)

    if b"CloudTrailEvent" in keys and keys & {b"Events", b"EventId", b"EventName"}:
        events = ".Events[]" if b"Events" in keys else ""  # the answer, or its events one a line (jq -c '.Events[]')
        found = ("`aws cloudtrail lookup-events` output (each record as a JSON string in CloudTrailEvent)",
                 run(f"jq -c '{events}.CloudTrailEvent | fromjson'", "records")
                 + " (one record a line, read with CloudTrail's rules)")
    elif b"events" in keys and keys & {b"nextForwardToken", b"nextBackwardToken", b"searchedLogStreams",
                                     b"ingestionTime"}:
        found = ("the answer of `aws logs get-log-events` or `filter-log-events` (CloudWatch Logs events in one JSON "
                 "document)", run("jq -r '.events | sort_by(.timestamp) | .[].message'", "log"))
    elif b"logEvents" in keys and keys & {b"messageType", b"subscriptionFilters", b"logGroup"}:
        found = ("CloudWatch Logs subscription data (messageType, logEvents), as a subscription filter delivers it "
                 "to Kinesis, Firehose or Lambda", run("jq -r '.logEvents[].message'", "log")
                 + " (jq reads payloads written one after another)")
    elif first is not None and first.group(1) == b"awslogs":
        found = ("a Lambda event of CloudWatch Logs subscription data (awslogs.data: base64 of gzip)",
                 run("jq -r .awslogs.data", "log", then=" | base64 -d | zcat | jq -r '.logEvents[].message'"))
    elif b"resultType" in keys and keys & {b"values", b"streams"}:
        found = ("a Loki query API answer (data.result[].values, newest first by default)",
                 _on_disk(name, "logcli query --forward --output=raw '<your query>' > STEM.log") + ", or "
                 + run("jq -r '[.data.result[].values[]] | sort_by(.[0]) | .[][1]'", "log"))
    elif first is not None and first.group(1) == b"data" and b"attributes" in keys and re.search(
            rb'"type"\s*:\s*"log"', head):
        found = ("a Datadog Logs API answer (data[].attributes.message)",
                 run("jq -r '.data | sort_by(.attributes.timestamp) | .[].attributes.message'", "log"))
    elif b"hits" in keys and keys & {b"_source", b"_shards", b"took"}:
        found = ("an Elasticsearch or OpenSearch search answer (hits.hits[]._source)",
                 run("jq -c '.hits.hits | sort_by(._source[\"@timestamp\"]) | .[]'", "jsonl")
                 + " (one document a line, which is read)")
    elif first is not None and first.group(1) == b"records" and keys & {b"operationName", b"resourceId", b"category"}:
        found = ("Azure Monitor resource logs in one JSON document ({\"records\": [...]}, as Event Hubs delivers them "
                 "and storage accounts wrote them before 2018-11)", run("jq -c '.records[]'", "jsonl")
                 + " (one record a line, as the PT1H.json blobs are now written, which is read with a field_map)")
        generic = True
    elif first is not None and first.group(1) in (b"results", b"preview", b"init_offset") and b"results" in keys \
            and b"_raw" in keys:  # (an export's one result a line has "result", and is read)
        found = ("a Splunk search answer (results[]._raw)", run("jq -c '.results[]'", "jsonl")
                 + " (one result a line, which is read), with the search sorted by _time ascending (| sort 0 _time)")
    elif first is not None and first.group(1) == b"resourceLogs" and keys & {b"scopeLogs", b"logRecords"}:
        # the OpenTelemetry Collector's file exporter (OTLP/JSON, one LogsData a line, many records each): a
        # field_map would reach the first record of each only (red team rt44, F3)
        found = ("OpenTelemetry logs (OTLP/JSON LogsData, as the Collector's file exporter writes them: many "
                 "records a line, each line in body.stringValue)",
                 run("jq -r '.resourceLogs[].scopeLogs[].logRecords[].body.stringValue'", "log"))
    elif b"QueryResultRows" in keys and keys & {b"QueryStatus", b"QueryStatistics", b"NextToken"}:
        raise UnknownFormat(f"{name} holds the answer of `aws cloudtrail get-query-results` (a CloudTrail Lake "
                            f"query's {LAKE_ROWS}), not CloudTrail records", LAKE_FIX)
    elif b"ResultSet" in keys and keys & {b"Rows", b"ResultSetMetadata"} and b"VarCharValue" in keys:
        raise UnknownFormat(f"{name} holds the answer of `aws athena get-query-results` (ResultSet.Rows[].Data[]."
                            f"VarCharValue: {ATHENA_TEXT}), not the records the table reads", ATHENA_FIX)
    if found is not None:
        what, fix = found
        held = f"{name} holds {what}, not the audit entries one a line"
        raise UnknownFormat(held, f"write the entries one a line: {fix}, and verify that",
                            unmapped=held if generic else "")


# Markup before a document's root element: an XML declaration, comments, a doctype other than HTML's, blanks.
_PROLOG = re.compile(rb"(?:\s+|<\?xml[^>]{0,200}\?>|<!--.{0,2000}?-->|<!DOCTYPE(?![ \t\r\n]+html)[^>]{0,500}>)*",
                     re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]{0,40})")
_HTML = re.compile(rb"<!DOCTYPE[ \t\r\n]+html|<(?:html|head|body)[\s>]", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]{0,100}>([^<]{1,80})</title", re.IGNORECASE)
# The error document an object store or a cloud API answers a refused or failed request with (S3's and every AWS
# query API's <Error><Code>, Google Cloud Storage's XML API, Azure Storage's <Error><Code>; EC2's <Response><Errors>)
_ERROR_ROOTS = frozenset({b"Error", b"ErrorResponse", b"Errors", b"Response"})
_ERROR_CODE = re.compile(rb"<Code>\s*([A-Za-z][A-Za-z.]{0,63})\s*</Code>")
_JSONX = re.compile(rb"<json:(?:object|array)\b|http://www\.ibm\.com/xmlns/prod/2009/jsonx")
_FETCH_AGAIN = ("fetch the log again with a command that fails on a refused or failed request instead of saving its "
                "answer (curl --fail; aws s3 cp, gcloud storage cp, azcopy), after checking the URL, the object's name "
                "and the credentials, and verify what that saves")


def _jsonx(name: str, prefix: bytes = b"") -> UnknownFormat:
    """The refusal of Vault's JSONx, each line after the device's ``prefix`` if it has one."""
    after = f", each line after the device's prefix {_show(prefix)}" if prefix else ""
    return UnknownFormat(f"{name} holds JSONx (XML, as an audit device with format = \"jsonx\" writes it: Vault's; "
                         f"OpenBao has no JSONx){after}, not JSON lines",
                         "set the audit device's format to \"json\" (the default) and verify what it writes from "
                         "then on; JSONx is not read")


def _markup(name: str, body: bytes) -> UnknownFormat:
    """The refusal of ``body``, text that starts with "<" and no syslog header: Vault's JSONx (a device with
    format = "jsonx"; OpenBao has none), an HTML page or an XML error document saved in place of the log (a
    download that saved the server's answer to a refused or failed request), or any other XML."""
    head = body[:4096]
    at = _PROLOG.match(head)
    rest = head[at.end() if at is not None else 0:]
    if _JSONX.search(head):
        return _jsonx(name)
    if _HTML.match(rest):
        title = _TITLE.search(body[:16384])
        shown = f" (its title: {_show(title.group(1).strip(), 60)})" if title is not None else ""
        return UnknownFormat(f"{name} holds an HTML page{shown}, not an audit log: an HTTP error page or a web page "
                             "saved in place of the log (curl or wget of a URL that answered with an error or a "
                             "sign-in page, a proxy's or a load balancer's error page); the file holds no audit entry",
                             _FETCH_AGAIN)
    root = _ROOT.match(rest)
    code = _ERROR_CODE.search(head)
    if root is not None and root.group(1) in _ERROR_ROOTS and code is not None:
        return UnknownFormat(f"{name} holds an XML error document (<{root.group(1).decode()}> with the code "
                             f"{code.group(1).decode()}: the answer of an object store or a cloud API to a refused or "
                             "failed request, as S3, Google Cloud Storage and Azure Storage write it), saved in place "
                             "of the log; the file holds no audit entry", _FETCH_AGAIN)
    what = f" (its root element <{root.group(1).decode('ascii', 'replace')}>)" if root is not None else ""
    return UnknownFormat(f"{name} holds XML{what} or other markup, not JSON lines",
                         "point at the audit log itself (one JSON object a line, as the audit device writes it); XML "
                         "is not read")


_OCTETS = re.compile(rb"\d{1,7} <\d{1,3}>")
_LOGCLI = re.compile(rb"\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d) \{[^{}]*\} +\{")
_FLUENT_BIT = re.compile(rb"[^\s:\[]+: \[\d+(?:\.\d+)?, *\{")
_FLUENTD = re.compile(rb"[^\t{]+\t[^\t{]+\t\{")
_ARRAY = re.compile(rb'\[ *(?:"[^"]*", *)?\[?\d+(?:\.\d+)?(?:, *\d+)?\]?, *\{')


def _shape(name: str, lines: list[bytes]) -> None:
    """Raises UnknownFormat naming the tool when ``lines`` are a shipper's or an export's known way of writing the
    log's lines that is not read (the entries one a line inside something else): what it is and how to get the
    lines out."""
    first = lines[0] if lines else b""
    found = None
    if any(ln.startswith((b"__CURSOR=", b"__REALTIME_TIMESTAMP=")) for ln in lines[:40]) and any(
            ln.startswith(b"MESSAGE") for ln in lines):
        found = ("journalctl's export format (-o export: one field a line, entries apart by a blank line)",
                 "export with journalctl -o json (read as it is) or -o cat")
    elif _OCTETS.match(first) and len(_OCTETS.findall(first[:65536])) > 1:
        found = ("an RFC 6587 octet-counted syslog stream (each message after its length, not on a line of its own, "
                 "as a TCP syslog sender frames them)", "receive it with a syslog server that writes one message a "
                 "line (rsyslog's imtcp and omfile) and verify that file")
    elif _LOGCLI.match(first):
        found = ("logcli's default output (time, labels, then the line)",
                 "query with logcli query --forward --output=raw (the lines only, oldest first)")
    elif _FLUENT_BIT.match(first):
        found = ("Fluent Bit's out_file format (tag: [time, record])",
                 "set the file output's Format to plain (one record a line, which is read)")
    elif _FLUENTD.match(first):
        found = ("Fluentd's out_file format (time, tag and record apart by tabs)",
                 "write the records as JSON alone (<format> @type json </format> in the out_file match), which is read")
    elif _ARRAY.match(first):
        found = ("records as [time, record] arrays (Fluentd's forward protocol, or msgpack turned into JSON)",
                 "write each record alone (" + _filtered(name, "jq -c '.[-1]'", "jsonl") + ") and verify that")
    elif first[:1] == b"{" and _cr_ended(first):
        found = ("lines that end with a carriage return alone (CR, classic Mac OS line ends), no newline",
                 "turn each CR into a newline (" + _filtered(name, "tr '\\r' '\\n'", "lf", stdin=True)
                 + ") and verify that")
    elif first[:1] == b"{" and lines and _concatenated(first):
        found = ("JSON objects written one after another with no newline between them (as Kinesis Data Firehose "
                 "delivers records to S3 unless it is set to add a newline delimiter)",
                 f"write one object a line ({_filtered(name, 'jq -c .', 'jsonl')}; jq reads such a stream) and verify "
                 "that")
    elif _cloudtrail_csv(lines):
        found = (f"CSV of CloudTrail's fields (an Athena query's result file, or query rows downloaded as CSV: "
                 f"{ATHENA_TEXT})", ATHENA_LAKE_FIX)
    else:
        column = _csv_column(lines)
        if column:
            found = (f"CSV whose column {json.dumps(column)} holds the entries (a SIEM's CSV export"
                     f"{', Splunk' if column == '_raw' else ''})",
                     "export the events as JSON (Splunk: output_mode=json; one result a line is read) or as the raw "
                     "lines, and verify that")
    if found is not None:
        raise UnknownFormat(f"{name} holds {found[0]}, not the audit entries one a line", found[1])


def _cr_ended(line: bytes) -> bool:
    """``line`` holds JSON objects apart by a carriage return alone: JSON writes a CR inside a string escaped
    (``\\r``), so a raw CR between a "}" and a "{" ends a line."""
    return re.search(rb"\}\r+\{", line) is not None


def _concatenated(line: bytes) -> bool:
    """``line`` starts with a whole JSON object that another one follows at once."""
    try:
        _, end = json.JSONDecoder().raw_decode(line.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return False
    return line.decode("utf-8", "replace")[end:].lstrip()[:1] == "{"


def _cloudtrail_csv(lines: list[bytes]) -> bool:
    """``lines`` start with a CSV header that names CloudTrail's fields (eventtime and eventname or eventsource)."""
    if len(lines) < 2 or lines[0].count(b",") < 2:
        return False
    try:
        header = next(csv.reader([lines[0].decode("utf-8", "replace")]))
    except (csv.Error, StopIteration):
        return False
    names = {h.strip().lower().replace("_", "") for h in header}
    return "eventtime" in names and bool(names & {"eventname", "eventsource"})


def _csv_column(lines: list[bytes]) -> str:
    """The name of the column of a CSV export (a header line, then rows) whose values are JSON objects, or ""."""
    if len(lines) < 2 or b"{" in lines[0]:
        return ""
    try:
        header, row = list(csv.reader([lines[0].decode("utf-8", "replace"), lines[1].decode("utf-8", "replace")]))
    except csv.Error:
        return ""
    if len(header) < 2 or not all(re.fullmatch(r"[\w@. -]{1,64}", h) for h in header):
        return ""
    for h, value in zip(header, row):
        if value.lstrip()[:1] == "{":
            return h
    return ""


def sniff(name: str, sample: bytes, complete: bool, *, prefix: str = "", framing: str = "auto") -> Detected:
    """The format of a log whose first bytes are ``sample`` (``complete``: the whole log). Raises UnknownFormat
    with what was found and what to set."""
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    if sample[:64].strip(b"\x00") == b"" and sample[:1] == b"\x00":
        raise UnknownFormat(f"{name} starts with zero bytes, not text (space kept for a file that was never written, "
                            "a crash, or logrotate's copytruncate under a writer that keeps its offset without "
                            "O_APPEND)", "find the log the vault wrote (a rotated copy, a backup) and "
                            "verify that; keep this file as evidence of the gap")
    _packed(name, sample)
    wide = _wide(sample)
    if wide:
        raise UnknownFormat(f"{name} is {wide} text, not UTF-8 (an export tool re-encoded it: PowerShell's "
                            "Out-File, a Windows editor)",
                            "convert it back: " + _filtered(name, f"iconv -f {wide} -t UTF-8", "utf8") +
                            ", and verify that")
    _binary(name, sample)
    body = sample.lstrip()
    if not body:
        return Detected("")
    if _CLOUDTRAIL_RE.match(body):
        first = _first_record(body)
        if first is not None and foreign_record(first):
            source = first.get("eventSource", first.get("EventSource")) if isinstance(first, dict) else None
            what = (f"AWS event notifications (eventSource {json.dumps(source)}), as S3, SNS or SQS send them"
                    if isinstance(source, str) and source.startswith("aws:") else
                    f"records that are no CloudTrail records (the first is {_show(json.dumps(first).encode())})")
            raise UnknownFormat(f"{name} holds {{\"Records\": [...]}} of {what}, not an AWS CloudTrail log file",
                                "point at the log files the trail delivers (AWSLogs/ACCOUNT/CloudTrail/REGION/...), "
                                "whose records carry eventVersion, eventTime and an eventSource such as "
                                "secretsmanager.amazonaws.com")
        # records sampled, for check_format to test a field_map that overrides CloudTrail's paths against
        return Detected("cloudtrail", samples=tuple(r for r in _records(body, 20) if isinstance(r, dict)))
    _document(name, body)
    lake = _LAKE_ROW.match(body) if body[:1] == b"[" else None
    if lake is not None and lake.group(1).decode().lower().replace("_", "") in _CT_COLUMNS:
        raise UnknownFormat(f"{name} holds CloudTrail Lake query rows (as `aws cloudtrail get-query-results` prints "
                            f"them: {LAKE_ROWS}), not CloudTrail records", LAKE_FIX)
    if body[:1] == b"[" and body[1:].lstrip()[:1] in (b"{", b""):
        # One JSON array of records (compact or pretty-printed): an API's list answer or an export (the Okta System
        # Log API's GET /api/v1/logs, gcloud logging read --format=json, a SIEM's JSON export).
        newest_first = _newest_first(body)
        raise UnknownFormat(f"{name} holds one JSON array of records (an API's list answer or an export, such as the "
                            "Okta System Log API or gcloud logging read --format=json), not one record a line"
                            + (", newest first" if newest_first else ""),
                            "write one record a line, oldest first ("
                            + _filtered(name, "jq -c 'reverse[]'" if newest_first else "jq -c '.[]'", "jsonl")
                            + ") and verify that")
    if body[:1] == b"<" and not _SYSLOG_RE.match(body):
        raise _markup(name, body)
    lines = read = _lines(sample, complete)
    captured = _captured(sample, complete, framing)
    if captured is not None:  # the server's output streams, its own output among the entries: left out
        lines, framing = captured, container.MERGED
    else:
        _server_log_file(name, lines)
    if framing in container.FRAMINGS:  # named by log_framing: lines in it, or the log is read as something else
        # (not most of them: a sink file may open with the vault's start-up server log, shipped in that framing)
        platforms = [container.kind(ln) for ln in lines if ln.strip()]
        if platforms and framing not in platforms:
            seen = container.detect(lines)
            raise UnknownFormat(f"{name} is not in the framing log_framing = \"{framing}\" names "
                                f"({container.FRAMINGS[framing]}): " + (
                                    f"its lines are in {container.FRAMINGS[seen]}'s" if seen
                                    else "its lines carry no platform framing"),
                                f"set log_framing = \"{seen or 'none'}\", or leave it out (\"auto\": told from the "
                                "content)")
    if framing != container.MERGED:
        framing = container.detect(lines, framing)
    if framing and framing != container.MERGED:  # a platform's framing around each entry (CRI, Docker json-file,
        # journald JSON): taken off
        unwrap = container.Unwrap(framing)
        lines = [ln for ln in unwrap.lines(lines) if ln.strip() and ln != container.LOST]
        if not lines:
            return Detected("vault", prefix, 0, framing)
    pre = prefix.encode("utf-8")
    kinds: dict[str, int] = {}
    before: dict[bytes, int] = {}  # text before the first "{" of a line -> how many lines
    fragments = 0
    not_utf8: Optional[int] = None  # a byte of a line that is whole JSON but no UTF-8 (8-bit text), as found
    eight_bit = 0  # lines that are whole JSON only read as 8-bit text
    wide_utf8 = False  # a line read whole holds UTF-8 beyond ASCII
    framed_bad = 0  # lines behind a syslog header that carry no whole entry (cut by the hop): bad lines
    cut_starts = 0  # of those, the ones that carry the start of an entry (a JSON object cut short)
    untimed = 0  # Vault/OpenBao entries without their time
    times: list[Any] = []  # the time of each Vault/OpenBao or Kubernetes entry, in file order
    nested: dict[str, int] = {}  # JSON lines of no known format: the key holding a producer's entry -> how many
    samples: list[Any] = []  # the JSON objects read
    flats: list[tuple[tuple[str, str], ...]] = []  # CloudTrail records sampled whose fields were flattened
    reshaped: dict[str, int] = {}  # JSON of no known format holding CloudTrail's fields otherwise shaped -> how many
    prefixed = 0  # lines that carry the declared prefix
    eaten = 0  # of those, lines whose prefix is the start of a whole JSON object of the line
    for ln in lines:
        framed, problem = unframe(ln) if ln[:1] != b"{" else (None, "")
        if problem:
            framed_bad += 1
            cut_starts += problem != FRAGMENT and UNENDED not in problem  # (an octet-counted stream: refused below)
            continue
        if framed == b"":  # the server's own log (auditlog.syslog): no entry, nothing to tell the format by
            continue
        if framed is not None:
            ln = carried_prefix(ln, framed, pre) if pre else framed  # a prefix the hop read as its tag
        body_ln = ln[len(pre):] if pre and ln.startswith(pre) else ln
        prefixed += body_ln is not ln
        start = body_ln.find(b"{")
        if start < 0:
            kinds["text"] = kinds.get("text", 0) + 1
            continue
        head, obj_text = body_ln[:start], body_ln[start:]
        obj = _loads(obj_text)
        if obj is None:
            fragments += 1
            if body_ln is not ln and ln[:1] == b"{" and _loads(ln) is not None:
                eaten += 1  # whole JSON with the "prefix" on: it is the object's own text (rt44 F4)
            if _eight_bit(obj_text):
                eight_bit += 1
                if not_utf8 is None:
                    not_utf8 = next(b for b in obj_text if b >= 0x80)
            continue
        if not wide_utf8 and _HIGH_BYTE.search(obj_text) is not None:
            wide_utf8 = True
        if head.strip():
            before[head] = before.get(head, 0) + 1
            continue
        k = _kind(obj)
        kinds[k] = kinds.get(k, 0) + 1
        if isinstance(obj, dict):
            samples.append(obj)
        if k == "vault":
            untimed += "time" not in obj
            times.append(obj.get("time"))
        elif k == "k8s":
            times.append(obj.get("stageTimestamp"))
        elif k == "cloudtrail-record":
            flat = _flattened(obj if cloudtrail_record(obj) else eventbridge_detail(obj))
            if flat:
                flats.append(flat)
        elif k == "jsonl":
            key = next((key for key, v in obj.items() if _kind(v) in ("vault", "k8s", "cloudtrail-record")), "")
            if key:
                nested[key] = nested.get(key, 0) + 1
            elif isinstance(obj, dict):
                shape = _reshaped(obj)
                if shape:
                    reshaped[shape] = reshaped.get(shape, 0) + 1
    n = len(lines)
    if kinds.get("k8s-list", 0) * 2 >= n:
        # The webhook backend's batches (--audit-webhook-batch-*), stored as received: one line holds many events,
        # which a field_map would read as one entry.
        raise UnknownFormat(f"{name} holds Kubernetes audit EventList batches (as the API server's webhook backend "
                            "sends them), not one audit Event a line",
                            "write the events one a line (" + _filtered(name, "jq -c '.items[]'", "events")
                            + ") and verify that, or verify the API server's log backend file (--audit-log-path)")
    known = {k: v for k, v in kinds.items() if k in ("vault", "k8s", "jsonl", "cloudtrail-record")}
    if (known and eight_bit >= 2 and eight_bit * 10 >= n and eight_bit == fragments and not wide_utf8
            and not_utf8 is not None):
        # Every line that is no UTF-8 (two or more, a tenth of the lines at least) is a whole entry in 8-bit text,
        # and no line holds UTF-8 beyond ASCII: the file was re-encoded whole (its ASCII lines read alike either
        # way), not a log with a damaged line (red team rt53 F4: 8 of 15 lines were findings and the checks passed
        # on the rest). Fewer such lines are each a finding at its line, as bytes a hop damaged are: the run fails
        # either way, and only the cause it names differs.
        raise _eight_bit_refusal(name, not_utf8)
    if known:
        best = max(known, key=lambda k: known[k])
        if known[best] * 2 >= n - framed_bad or not before:
            if best == "vault" and pre and not prefixed:  # settings, not the log: one line (exit 2)
                raise UnknownFormat(f"log_prefix is {json.dumps(prefix)}, but none of the first {n} lines of {name} "
                                    "starts with it: its entries are written without a prefix",
                                    "remove log_prefix from [tool.auditready], or set it to the prefix this log's "
                                    "device writes (its prefix option)")
            if best == "vault":
                _timed(name, kinds["vault"], untimed)
            if best in ("vault", "k8s") and framing not in container.ORDERLESS:
                _oldest_first(name, times)
            if best == "cloudtrail-record" and flats and len(flats) * 2 >= known[best]:
                raise _flat_refusal(name, flats)
            inside = max(nested, key=lambda k: nested[k]) if best == "jsonl" and nested else ""
            shape = max(reshaped, key=lambda k: reshaped[k]) if best == "jsonl" and reshaped else ""
            return Detected(best, prefix, n, framing, inside if nested.get(inside, 0) * 2 >= known[best] else "",
                            samples=tuple(samples),
                            reshaped=_RESHAPED[shape] if reshaped.get(shape, 0) * 2 >= known[best] else ("", ""))
    if framed_bad * 2 >= n and not before and not fragments and cut_starts:
        # Behind syslog headers, entries the hop cut: read them, so that each cut line is a finding that names the
        # hop's limit (``auditlog.syslog``), not a refusal of the whole file.
        return Detected("vault", prefix, n, framing)
    if eaten * 2 >= n:  # settings, not the log
        raise UnknownFormat(f"log_prefix is {json.dumps(prefix)}, but that is the start of the JSON object on the "
                            f"lines of {name}: taken off, they hold no whole object",
                            "set log_prefix to the text the audit device writes before each object (its prefix "
                            "option), or remove it from [tool.auditready] when the device writes none")
    _shape(name, read)
    if before:
        heads = sorted(before.items(), key=lambda kv: -kv[1])
        head, count = heads[0]
        if len(before) == 1 and count * 2 >= n:
            shown = head.decode("utf-8", "replace")
            if _SECRETISH.search(shown):  # a prefix is the device's text, but may be anything: never a secret shown
                raise UnknownFormat(f"every line of {name} starts with the same text before its JSON object (an "
                                    f"audit device prefix: {_show(head)}, each run that may be a secret withheld)",
                                    "set log_prefix in [tool.auditready] to that text (or the audit device's prefix "
                                    "option to \"\")")
            raise UnknownFormat(f"every line of {name} starts with the text {json.dumps(shown)} before its JSON object "
                                "(an audit device prefix)",
                                f"set log_prefix = {json.dumps(shown)} in [tool.auditready] (or the audit device's "
                                "prefix option to \"\")")
        raise UnknownFormat(f"the lines of {name} carry varying text before their JSON objects "
                            f"(e.g. {_show(head)})",
                            "export the audit entries one JSON object a line, as the audit device writes them")
    quoted = sum(1 for ln in lines[:20] if ln.lstrip()[:4] == b'"{\\"')
    bare = sum(1 for ln in lines[:20] if ln.lstrip()[:3] == b'{\\"')
    if lines and max(quoted, bare) * 2 > min(len(lines), 20):
        fix = (f"unquote each line ({_filtered(name, 'jq -r .', 'jsonl')}) and verify that" if quoted > bare else
               "write the message as it is (rsyslog: %msg%, not %msg:::json%), or unescape each line ("
               + _filtered(name, "jq -R -c '(\"\\\"\" + . + \"\\\"\") | fromjson | fromjson'", "jsonl")
               + ") and verify that")
        raise UnknownFormat(f"each line of {name} is an audit entry JSON-escaped as a string ({_show(lines[0])}): a "
                            "hop wrote the message escaped (rsyslog's %msg:::json%, a shipper's string field)", fix)
    if fragments and len(lines) == 1 and lines[0][:1] == b"{":
        # one line that reads as no object: too deep for any producer's decoder, or longer than the part read (a
        # line over the reader's limit); not JSON spread over lines (red team rt34, F8)
        from .lines import MAX_LINE_BYTES
        from .vault_json import GO_MAX_DEPTH, nesting, too_deep

        if nesting(lines[0]) > GO_MAX_DEPTH:
            raise UnknownFormat(f"{name} holds one line of {too_deep(lines[0])}",
                                "verify the audit log the producer writes: no entry of it nests that deep")
        text = lines[0].rstrip(b"\r\n")
        if len(text) < SAMPLE_BYTES:  # read whole: a short line that is no object (red team rt50 F7)
            cut = truncated(text)
            what = (f"an entry cut short ({_show(text)}), as a file copied or shipped while it was written, or cut "
                    "by a full disk, is" if cut else f"malformed ({_show(text)})")
            raise UnknownFormat(f"{name} holds one line of {len(text):,} bytes and no other, and it is no whole JSON "
                                f"object: {what}", "recover the whole file from where it was written (the vault's own "
                                "audit file, a backup) and verify that" if cut else "verify the file its producer "
                                "wrote: something edited this one")
        raise UnknownFormat(f"{name} holds one line, longer than the {SAMPLE_BYTES:,} bytes a file's format is told "
                            f"from, and no other: its format cannot be told (and a line over {MAX_LINE_BYTES:,} bytes "
                            "is never read)",
                            "find what wrote so long a line (an entry of a request of many MiB: Vault's "
                            "max_request_size is 32 MiB by default) and keep such requests away from the audited "
                            "vault")
    if fragments and not_utf8 is not None:
        # Go's encoding/json writes valid UTF-8 only: a hop re-encoded the file to an 8-bit code page (red team rt44,
        # F2: refused as JSON spread over lines, whose fix, jq -c, replaces the bytes and makes a log that passes)
        raise _eight_bit_refusal(name, not_utf8)
    if sum(ln.startswith(b"EVENTS\t") for ln in lines[:20]) * 2 >= min(len(lines), 20):
        # the AWS CLI's --output text of a log-fetching call: EVENTS rows of tab-separated fields, the message among
        # them (red team rt67 F5: refused as pretty-printed JSON, with a jq that fails on it)
        raise UnknownFormat(f"{name} holds the text output of `aws logs filter-log-events` or `get-log-events` "
                            "(--output text: an EVENTS row a log event, its fields tab-separated, the message among "
                            "them), not the log's lines",
                            "fetch the messages alone: the same command with --output json | jq -r '.events | "
                            "sort_by(.timestamp) | .[].message' > FILE, or with --query 'events[].[message]' "
                            "--output text > FILE, and verify that")
    if fragments:
        # jq -c . writes a pretty-printed EventList back as one batch a line, refused above; an array of objects
        # never reaches here (refused as one JSON array of records)
        head = b"".join(ln.strip() for ln in lines[:20])
        every = ".items[]" if re.search(rb'"kind"\s*:\s*"EventList"', head) else "."
        raise UnknownFormat(f"{name} holds JSON spread over several lines (pretty-printed, or lines wrapped or cut "
                            "by a log shipper), not one JSON object a line",
                            "export one object a line (" + _filtered(name, "jq -c '" + every + "'", "jsonl")
                            + "), and make the shipper keep each entry on one line whole")
    first = lines[0] if lines else b""
    if any(_K8S_LEGACY.search(ln) for ln in lines[:20]):
        raise UnknownFormat(f"{name} holds Kubernetes audit events in the legacy text format ({_show(first)})",
                            "set the API server's --audit-log-format=json and verify "
                            "what it writes from then on")
    if first.count(b",") >= 2 and all(ln.count(b",") == first.count(b",") for ln in lines[:20]):
        raise UnknownFormat(f"{name} holds CSV ({_show(first)}), not JSON audit entries",
                            "export the audit log as the vault writes it (one JSON object a line)")
    at = first.find(b"<")
    if at > 0 and _JSONX.search(first) is not None:  # (a device with a prefix: red team rt88 L2)
        raise _jsonx(name, first[:at])
    packed = _base64_gzip(first)
    if packed:
        raise _base64_refusal(name, packed)
    raise UnknownFormat(f"{name} holds plain text ({_show(first)}), not JSON audit entries",
                        "point at the audit device's output (one JSON object a line)")


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_BASE64_GZIP = re.compile(rb"H4sI[A-Za-z0-9+/]{12,}={0,2}\Z")  # base64 of gzip's magic (1f 8b 08) and the rest


def _base64_gzip(line: bytes) -> str:
    """"subscription" when ``line`` is base64 of gzip of CloudWatch Logs subscription data (messageType, logEvents,
    as a Lambda function gets it in awslogs.data), "gzip" for base64 of other gzip data, "" for neither."""
    text = line.strip()
    if _BASE64_GZIP.match(text) is None:
        return ""
    try:
        packed = base64.b64decode(text[:len(text) - len(text) % 4], validate=True)
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(packed, 8192)  # (a line cut by the sample: its start)
    except (binascii.Error, ValueError, zlib.error):
        return "gzip"
    return "subscription" if b'"messageType"' in head and b'"logEvents"' in head else "gzip"


def _base64_refusal(name: str, packed: str) -> UnknownFormat:
    """The refusal of a file of base64 of gzip data (``_base64_gzip``), one a line (red team rt90 F6)."""
    if packed == "subscription":
        return UnknownFormat(f"{name} holds CloudWatch Logs subscription payloads (base64 of gzip of messageType, "
                             "logEvents, as a subscription filter delivers them: a Lambda function's awslogs.data), "
                             "one a line, not the audit entries one a line",
                             "write the entries one a line ("
                             + _filtered(name, "base64 -d", "messages", then=" | zcat | jq -r '.logEvents[].message'")
                             + ") and verify that")
    return UnknownFormat(f"{name} holds base64 of gzip-compressed data, not JSON audit entries",
                         f"decode and decompress it ({_filtered(name, 'base64 -d', 'decoded', then=' | zcat')}) and "
                         "verify what that gives")


def _eight_bit_refusal(name: str, byte: int) -> UnknownFormat:
    return UnknownFormat(f"{name} is not UTF-8: its lines are whole JSON objects but hold bytes such as "
                         f"0x{byte:02X}, 8-bit text (ISO-8859-1 or Windows-1252: a hop re-encoded the log; "
                         "the producer writes UTF-8)",
                         f"convert it back ({_filtered(name, 'iconv -f WINDOWS-1252 -t UTF-8', 'utf8')}) and verify "
                         "that; make the hop keep UTF-8 (never a tool that replaces the bytes it cannot read)")


def _eight_bit(text: bytes) -> bool:
    """``text`` is no UTF-8 but a whole JSON object when read as 8-bit text (ISO-8859-1)."""
    try:
        text.decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    return _loads(text.decode("latin-1").encode("utf-8")) is not None  # (nested deep too, as the reader takes it)


def _timed(name: str, entries: int, untimed: int) -> None:
    """Raises UnknownFormat when none of the Vault/OpenBao entries sampled has its ``time``: the vault writes it in
    every entry, and a shipper's JSON parser takes it away as the record's own time unless told to keep it."""
    if entries >= 2 and untimed == entries:
        raise UnknownFormat(f"no entry of {name} has the time every Vault/OpenBao audit entry carries: a log shipper "
                            "parsed the entries and took \"time\" as its record's own time (Fluentd's json parser "
                            "unless keep_time_key true; Fluent Bit's with Time_Key time unless Time_Keep On; Google "
                            "Cloud Logging's agent always: the time is in each LogEntry's timestamp)",
                            "keep the time in the record (keep_time_key true / Time_Keep On), or ship the lines as "
                            "read, and verify that; from a Cloud Logging export, write the entries with "
                            f"{_GCP_ENTRIES} (the LogEntry's timestamp put back as the entry's time)")


_INSTANT = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?\Z")


def _seconds(value: Any) -> Optional[float]:
    """An RFC 3339 time as seconds since the epoch, None when it is none."""
    m = _INSTANT.match(value) if isinstance(value, str) else None
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    try:
        t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) + float(m.group(7) or 0)
    except (ValueError, OverflowError):
        return None
    zone = m.group(8) or "Z"
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        t -= sign * (int(zone[1:3]) * 3600 + int(zone[-2:]) * 60)
    return t


# The start of a Vault/OpenBao audit entry as the device writes it (Go's encoding/json: "time", then "type").
_AUDIT_ENTRY = re.compile(rb'\{"time":"[^"]*","type":"(?:request|response)"')


def _captured(sample: bytes, complete: bool, framing: str) -> Optional[list[bytes]]:
    """The first lines (SAMPLE_LINES) that are not the vault server's own output, when ``sample`` (no platform
    framing, none named) is a capture of its output streams: some of its lines the server's own output
    (``container.Unwrap._server_output``: its banner, its log), the rest mostly its audit device's entries (a device
    with file_path = "stdout", captured by `bao server > FILE 2>&1`, kubectl or docker logs). The whole sample is
    looked at: a server may log more than SAMPLE_LINES lines before its device writes. Else None."""
    if framing != "auto" or container.detect(_lines(sample, complete)):
        return None
    every = sample.split(b"\n")
    if not complete and len(every) > 1:
        every = every[:-1]  # the sample cut the last line
    unwrap = container.Unwrap(container.MERGED)
    rest = [ln for ln in unwrap.lines([ln for ln in every if ln.strip()]) if ln.strip() and ln != container.LOST]
    if not unwrap.skipped or not rest:
        return None
    rest = rest[:SAMPLE_LINES]
    entries = sum(1 for ln in rest if _AUDIT_ENTRY.search(ln) is not None)
    return rest if entries * 2 >= len(rest) else None


# A line of Vault Agent's or Vault Proxy's own log (hclog, as text or JSON): its module ("agent.auth.handler",
# "proxy.apiproxy"; OpenBao's server logs "proxy environment: ..." with no module), never a server's.
_AGENT_LOG = re.compile(rb'(?:\[[A-Z]+\] +|"@module":")(agent|proxy)(?:[.:"])')


def _server_log_file(name: str, lines: Sequence[bytes]) -> None:
    """Raises UnknownFormat when most of ``lines`` are the vault server's own log (hclog, as text or JSON), not its
    audit log: the file a user names by mistake (``journalctl -u openbao -o cat``, ``/var/log/vault.log``), or a
    Vault Agent's or Proxy's log, which keeps no audit log of its own."""
    shown = [ln for ln in lines if ln.strip()]
    if shown and sum(1 for ln in shown if server_log(ln.lstrip())) * 2 > len(shown):
        modules = [m.group(1).decode() for m in map(_AGENT_LOG.search, shown[:20]) if m is not None]
        agent = max(set(modules), key=modules.count) if len(modules) * 2 > min(len(shown), 20) else ""
        if agent:
            raise UnknownFormat(f"{name} holds a Vault or OpenBao {agent}'s own log (hclog lines such as "
                                f"{_show(shown[0])}), not an audit log: the {agent} ({agent} mode of the vault binary) "
                                "writes none",
                                f"verify the audit log of the vault server the {agent} talks to (its audit device's "
                                "file_path: bao audit list -detailed against that server)")
        entries = sum(1 for ln in shown if _AUDIT_ENTRY.search(ln) is not None)
        if entries:  # its output stream, named with log_framing = "none": its own lines are judged as they are
            raise UnknownFormat(
                f"{name} holds the vault server's own log (hclog lines such as {_show(shown[0])}) with audit entries "
                f"among them ({entries} of the first {len(shown)} lines), and log_framing says it has no framing",
                'leave log_framing out (its own lines are then left out and counted), or keep the audit entries ('
                + _filtered(name, "grep '^{\"time\":'", "audit.log") + ") and verify that")
        raise UnknownFormat(f"{name} holds the vault server's own log (hclog lines such as {_show(shown[0])}), not "
                            "its audit log", "verify the file the audit device writes (its file_path: bao audit list "
                            "-detailed, or the audit stanza of the server's configuration)")


def _oldest_first(name: str, times: Sequence[Any]) -> None:
    """Raises UnknownFormat when the entries sampled run newest first: a search's order (Splunk, Loki, Datadog and
    most SIEM searches answer newest first), never the order a vault or an API server writes its log in. A writer's
    own order goes back now and then by a little (concurrent requests); newest first goes back nearly every step."""
    seen = [t for t in map(_seconds, times) if t is not None]
    back = sum(1 for a, b in zip(seen, seen[1:]) if b < a)
    forth = sum(1 for a, b in zip(seen, seen[1:]) if b > a)
    if back >= 4 and back >= 9 * forth:
        raise UnknownFormat(f"the entries of {name} run newest first ({back} of the {len(seen) - 1} steps between "
                            "the first entries go back in time): an export in a search's order, not the log as "
                            "written", "export oldest first (Splunk: | sort 0 _time; logcli: --forward; Elasticsearch: "
                            "sort @timestamp asc), or reverse the file (tac), and verify that")


def check_format(name: str, found: Detected, wanted: str, field_map: Sequence[tuple[str, str]],
                 required: Sequence[str] = ()) -> str:
    """The format to read ``name`` with: the detected one, unless ``wanted`` (a --format or log_format the user
    set; "auto" for none) disagrees, which is refused. Generic JSON lines need a field_map that names each field
    ``required`` (required_fields) lists; a field_map read over a Kubernetes or CloudTrail log must fit it too."""
    fmt = found.format
    if not fmt:
        return wanted if wanted != "auto" else "vault"
    named = "cloudtrail" if fmt == "cloudtrail-record" else fmt  # records one a line: read as CloudTrail's
    if fmt == "jsonl" and found.samples and len(found.samples) <= 2 and all(map(_error_answer, found.samples)):
        raise UnknownFormat(f"{name} holds {_error_answer(found.samples[0])}, not an audit log: the answer to a "
                            "refused or failed request, saved in place of the log; the file holds no audit entry",
                            _FETCH_AGAIN)
    if fmt == "jsonl" and wanted != "jsonl" and found.reshaped[0]:
        # CloudTrail's fields in another shape, whatever the format said (log_format = "jsonl" with a field_map
        # judges them by the generic rules instead, knowingly)
        raise UnknownFormat(f"{name} holds {found.reshaped[0]}", found.reshaped[1])
    if fmt == "jsonl" and wanted != "jsonl" and found.samples and all(map(_vault_integration, found.samples)):
        # Elastic's HashiCorp Vault integration parsed the line into its own fields and dropped it: read as generic
        # JSON lines (a field_map), the vault's own rules would not run (red team rt67 F6)
        raise UnknownFormat(f"{name} holds records of Elastic's HashiCorp Vault integration (hashicorp_vault.audit: "
                            "each entry parsed into the integration's fields, its time cut to milliseconds in "
                            "@timestamp, and the line as the vault wrote it, event.original, removed), not the "
                            "vault's entries", "turn on the integration's preserve_original_event option, which "
                            "keeps each line in event.original (read as written), and export again; or verify the "
                            "audit device's own file")
    if fmt == "jsonl" and wanted != "jsonl" and found.nested and not field_map:
        raise _nested(name, found.nested)  # entries inside a wrapper, whatever the format said: the way out
    if wanted not in ("auto", fmt, named) and not (wanted == "jsonl" and fmt in ("vault", "k8s", "cloudtrail-record")):
        raise UnknownFormat(f"{name} is {found.title}, not {TITLES.get(wanted, wanted)} as log_format/--format "
                            f"says", f"use --format {named} (or leave the format out: it is told from the content)")
    if wanted == "jsonl" and fmt in ("vault", "k8s", "cloudtrail-record") and field_map:
        # read as generic JSON lines, the producer's own rules (a Vault log's request/response pairing, the digests
        # it writes; a Kubernetes event's stages) would not run, and a log that lost lines passed (red team rt34, F4)
        raise UnknownFormat(f"{name} is {found.title}: log_format/--format jsonl with a field_map would judge it by "
                            "the generic rules only and leave out its own (a dropped entry would pass)",
                            f"leave log_format out for this file (the format is told from the content), or use "
                            f"--format {named}")
    if wanted == "jsonl" and fmt == "jsonl" and found.nested and field_map:
        # the same one level down, inside a shipper's record (Filebeat's decode_json_fields target, an index's
        # _source): its field_map's paths go through the key, and the producer's rules would not run (red team rt39,
        # F2: a dropped response passed)
        raise UnknownFormat(f"{name} holds JSON records with each audit entry of a Vault/OpenBao, Kubernetes or "
                            f"CloudTrail log under the key {json.dumps(found.nested)}: log_format/--format jsonl "
                            "with a field_map would judge them by the generic rules only and leave out their own (a "
                            "dropped entry would pass)",
                            f"write the entries one a line ({_filtered(name, _under(found.nested), 'entries')}) and "
                            "verify that with log_format left out")
    if wanted == "jsonl":
        _mapped_paths(name, found, field_map)
        fmt = "jsonl"
    elif fmt == "cloudtrail-record":
        fmt = "cloudtrail"  # CloudTrail's own rules, one record a line (offline.reader.CloudTrailReader)
    if fmt == "jsonl" and not field_map and found.nested:
        raise _nested(name, found.nested)
    if fmt == "jsonl" and field_map and wanted != "jsonl":
        _mapped_paths(name, found, field_map)
    if fmt == "jsonl" and not field_map and found.format != "jsonl":  # --format jsonl over a producer's log
        raise UnknownFormat(f"{name} is {found.title}, and log_format/--format jsonl reads generic JSON lines "
                            "through a field_map, which none sets",
                            f"use --format {named} (or leave the format out: it is told from the content)")
    if fmt == "jsonl" and not field_map and found.samples and all(_cloudtrail_digest(o) for o in found.samples):
        raise UnknownFormat(f"{name} is a CloudTrail digest file (log file validation), not a log of calls",
                            "name the trail's log files, with their CloudTrail-Digest folder beside them "
                            "(tamper_evidence validates them with --cloudtrail-public-keys), or validate a copy of the "
                            "trail with `auditready verify-cloudtrail DIR --public-keys keys.json`")
    if fmt == "jsonl" and not field_map:
        carried = _carried_text(found.samples)
        if carried is not None:
            raise _carried_refusal(name, *carried)
        wrapper = _wrapper(found.samples)  # (entries inside a SIEM's records: the field_map goes through its key)
        gcp = bool(found.samples) and all(gcp_audit(o[wrapper] if wrapper else o) for o in found.samples)
        example = (_GCP_FIELD_MAP.replace(' = "', f' = "{wrapper}.') if gcp and wrapper else _GCP_FIELD_MAP if gcp
                   else "{time = \"ts\", identity = \"user\", resource = \"path\", action = \"op\", "
                   "result = \"status\", source = \"ip\", request_id = \"id\"}")
        what = ((f" (Google Cloud Logging entries of Cloud Audit Logs under each record's {json.dumps(wrapper)}, as "
                 "a SIEM exports them)" if wrapper else " (Google Cloud Logging entries of Cloud Audit Logs, as a "
                 "GKE cluster's audit log is exported)") if gcp
                else " (neither Vault/OpenBao, Kubernetes nor CloudTrail entries)")
        raise UnknownFormat(f"{name} holds {TITLES['jsonl']}{what}, and no field_map says where its fields are",
                            f"set log_format = \"jsonl\" and field_map in [tool.auditready], e.g. {example}",
                            unmapped=f"{name} holds {TITLES['jsonl']}{what}")
    if fmt == "k8s" and not field_map and found.samples and all(_k8s_first_schema(o) for o in found.samples):
        raise UnknownFormat(f"{name} holds audit.k8s.io/v1beta1 events as Kubernetes 1.8 wrote them (one "
                            "\"timestamp\", no requestReceivedTimestamp or stageTimestamp, which the API server "
                            "writes since 1.9)", "verify a log written by Kubernetes 1.9 or later, or name the "
                            "paths this one uses in field_map with log_format = \"jsonl\" (time = \"timestamp\")")
    if fmt in ("k8s", "cloudtrail") and field_map:
        _mapped_paths(name, found, field_map, overrides=fmt)  # its paths replace the format's own (formats.py)
    if fmt in ("jsonl", "k8s", "cloudtrail") and field_map:
        _one_key(name, fmt, field_map)
    if fmt == "jsonl":
        _unmapped(name, field_map, required)
    return fmt


def _one_key(name: str, fmt: str, field_map: Sequence[tuple[str, str]]) -> None:
    """Raises ConfigError when two fields would be read from one key (``config.one_key``): field_map's own (settings
    made without ``config.load``, which refuses them), or one of its paths and a path of the format's own that it
    leaves in place (identity = "sourceIPs.0" over a Kubernetes log, whose source is read there)."""
    from ..config import listed, one_key, one_key_refusal
    from ..errors import ConfigError
    from .formats import CLOUDTRAIL_FIELDS, K8S_FIELDS

    mapped = {k: field_alternatives(p)[0] for k, p in dict(field_map).items()}
    own: dict[str, str] = ({} if fmt == "jsonl" else dict(K8S_FIELDS) if fmt == "k8s"
                           else {k: ps[0] for k, ps in CLOUDTRAIL_FIELDS.items()})
    shared = one_key({**own, **mapped})
    if not shared:
        return
    cause, fix = one_key_refusal(shared)
    names = [n for _, group in shared for n in group]
    kept = [n for n in names if n not in mapped]
    if not kept:
        raise ConfigError(f"{name} is read with a field_map whose {cause}", fix)
    given = [n for n in names if n in mapped]
    raise ConfigError(f"{name} is {TITLES.get(fmt, fmt)}, read by its own path for {listed(kept)} and by "
                      f"field_map's for {listed(given)}: {cause}", fix)


def _vault_integration(obj: Any) -> bool:
    """``obj`` is a record of Elastic's HashiCorp Vault integration (its ``hashicorp_vault.audit`` fields), or that
    record as an Elasticsearch hit's ``_source``."""
    if isinstance(obj, dict) and isinstance(obj.get("_source"), dict):
        obj = obj["_source"]
    vault = obj.get("hashicorp_vault") if isinstance(obj, dict) else None
    return isinstance(vault, dict) and isinstance(vault.get("audit"), dict)


def _error_answer(obj: Any) -> str:
    """What API's error answer ``obj`` is ("" for none): Vault's and OpenBao's ({"errors": [...]}), Google's and
    Azure's ({"error": {"code": ..., "message": ...}}), an AWS JSON API's ({"__type": ..., "message": ...}), the
    Kubernetes API server's (a Status of Failure)."""
    if not isinstance(obj, dict):
        return ""
    errors, error = obj.get("errors"), obj.get("error")
    if set(obj) == {"errors"} and isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return "the Vault/OpenBao API's error answer ({\"errors\": [...]})"
    if set(obj) == {"error"} and isinstance(error, dict) and {"code", "message"} <= set(error):
        return "a cloud API's error answer ({\"error\": {\"code\": ..., \"message\": ...}}: Google Cloud, Azure)"
    if "__type" in obj and {"message", "Message"} & set(obj) and len(obj) <= 4:
        return "an AWS API's error answer ({\"__type\": ..., \"message\": ...})"
    if obj.get("kind") == "Status" and obj.get("status") == "Failure":
        return "the Kubernetes API server's error answer (a Status of Failure)"
    return ""


def _unmapped(name: str, field_map: Sequence[tuple[str, str]], required: Sequence[str]) -> None:
    """Raises ConfigError when required_fields lists a field the field_map names no path for: generic JSON lines
    have no path of their own, so every entry would read as lacking it, a verdict on the settings, not the log."""
    from ..errors import ConfigError

    mapped = dict(field_map)
    absent = [f for f in required if f not in mapped]
    if absent:
        raise ConfigError(f"{name} is read as generic JSON lines, and field_map names no path for "
                          f"{', '.join(absent)}, which required_fields asks of every entry",
                          "name in field_map the dotted JSON path where this log writes each (e.g. identity = "
                          "\"user.name\"), or take a field its producer never writes out of required_fields in "
                          "[tool.auditready]")


# Cloud Audit Logs' fields in a Cloud Logging LogEntry (a GKE cluster's Kubernetes audit log as Google exports it:
# protoPayload of type google.cloud.audit.AuditLog), as a field_map names them.
_GCP_FIELD_MAP = ("{time = \"timestamp\", identity = \"protoPayload.authenticationInfo.principalEmail\", "
                  "resource = \"protoPayload.resourceName\", action = \"protoPayload.methodName\", "
                  "result = \"protoPayload.status.code\", source = \"protoPayload.requestMetadata.callerIp\", "
                  "request_id = \"insertId\"}")


def _wrapper(samples: Sequence[Any]) -> str:
    """The key under which each sampled record holds its entry when a SIEM wrapped it (an Elasticsearch document's
    ``_source``, a Splunk HTTP Event Collector event's ``event``), "" for none."""
    return next((k for k in ("_source", "event")
                 if samples and all(isinstance(o, dict) and isinstance(o.get(k), dict) for o in samples)), "")


def _k8s_first_schema(obj: Any) -> bool:
    """``obj`` is an audit Event of Kubernetes 1.8's audit.k8s.io/v1beta1 (its one "timestamp", no stage times)."""
    return (isinstance(obj, dict) and obj.get("apiVersion") == "audit.k8s.io/v1beta1" and "timestamp" in obj
            and "stageTimestamp" not in obj and "requestReceivedTimestamp" not in obj)


def _cloudtrail_digest(obj: Any) -> bool:
    """``obj`` is a CloudTrail digest file's document (its account, its period and the log files it covers)."""
    return isinstance(obj, dict) and {"awsAccountId", "digestStartTime", "digestEndTime", "logFiles"} <= set(obj)


def _nested(name: str, key: str) -> UnknownFormat:
    if key == "jsonPayload":  # Google Cloud Logging's LogEntry of a structured line (red team rt90 F5)
        return UnknownFormat(f"{name} holds Google Cloud Logging LogEntry records (a log sink's export, or gcloud "
                             f"logging read) with each audit entry parsed into jsonPayload ({_GCP_TIME}), not the "
                             "entries as the producer wrote them",
                             "write the entries one a line with their time put back ("
                             + _filtered(name, _GCP_ENTRIES, "entries") + ") and verify that")
    return UnknownFormat(f"{name} holds JSON records with each audit entry under the key {json.dumps(key)} (a log "
                         "shipper's or SIEM's record of a parsed line), not the entries as the producer wrote them",
                         f"write the entries one a line ({_filtered(name, _under(key), 'entries')}) and verify that, "
                         "or ship the lines as read (the shipper's message field is read)")


# Google's logging agent takes a structured line's "time" out of jsonPayload into the LogEntry's timestamp, always
# (cloud.google.com/logging/docs/agent/logging/configuration, "Timestamp processing"; GoogleCloudPlatform/
# fluent-plugin-google-cloud issue 291), which keeps its nanoseconds: the jq puts it back first, as the vault writes
# it, and keeps an entry's own time where it is still there
_GCP_TIME = "Google's logging agent moves an entry's \"time\" into the LogEntry's timestamp"
_GCP_ENTRIES = "jq -c '{time: .timestamp} + .jsonPayload'"


def _under(key: str) -> str:
    """The jq that writes the objects under ``key`` one a line."""
    return "jq -c '.[" + json.dumps(key) + "]'"


def _mapped_paths(name: str, found: Detected, field_map: Sequence[tuple[str, str]], overrides: str = "") -> None:
    """Raises UnknownFormat when a field_map path is in none of the entries sampled (two at least): the mapping
    names a path this log does not use (a typo, another producer's names, or the log is of a format read otherwise),
    which would otherwise read as every entry lacking that field. ``overrides``: the format (k8s, cloudtrail) the
    log is read as, whose own paths the field_map replaces."""
    from ..offline.reader import resolve

    if len(found.samples) < 2:
        return
    absent = [(k, p) for k, p in dict(field_map).items()
              if all(resolve(obj, q.split(".")) is None and gcp_status_left_out(obj, q.split(".")) is None
                     for obj in found.samples for q in field_alternatives(p))]  # (a list: none of its paths in any)
    if not absent:
        return
    shown = ", ".join(f"{k} = {json.dumps(p)}" for k, p in absent)
    n = len(found.samples)
    if overrides:
        raise UnknownFormat(f"{name} is {found.title}, and none of its first {n} entries has field_map's {shown}, "
                            "which replace its format's own paths",
                            "field_map in [tool.auditready] applies to every file of a run: verify this log in a run "
                            "without that field_map (it is read by its format's own paths), or name in field_map "
                            "the paths its entries use")
    if found.format in ("vault", "k8s", "cloudtrail-record"):
        fmt = "cloudtrail" if found.format == "cloudtrail-record" else found.format
        fix = (f"read it as what it is: --format {fmt} or log_format = \"{fmt}\" (or leave the format out: it is told "
               "from the content), or name the paths its entries use in field_map")
        if fmt == "cloudtrail":
            fix = ("read it as what it is: --format cloudtrail or log_format = \"cloudtrail\" (or leave the format "
                   "out), which reads each record with CloudTrail's own rules, or name the paths its records use in "
                   "field_map (e.g. time = \"eventTime\")")
        raise UnknownFormat(f"{name} is {found.title}, and none of its first {n} entries has field_map's {shown}", fix)
    carried = _carried_text(found.samples)
    if carried is not None:  # the entries are text inside the shipper's field, where no path reaches
        raise _carried_refusal(name, *carried)
    some = _keys(found.samples)
    raise UnknownFormat(f"none of the first {n} entries of {name} has field_map's {shown}: the mapping names paths "
                        f"this log does not use (its entries' keys: {some})",
                        "set field_map in [tool.auditready] to the dotted JSON paths this log uses (list items by "
                        "index, e.g. target.0.alternateId); a field the producer never writes: take it out of "
                        "field_map and of required_fields")


def _keys(samples: Sequence[Any]) -> str:
    """The keys of the first objects of ``samples``, as a list for a message (at most 12)."""
    keys: dict[str, None] = {}
    for obj in samples[:20]:
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(str(k) for k in obj))
    return ", ".join(list(keys)[:12]) + (", ..." if len(keys) > 12 else "")


# Who keeps a line as read in each of ``container.CARRIERS``: how a refusal names the shipper.
_CARRIER_NAMES = {
    ("event", "original"): "ECS records' event.original (Filebeat, Elastic Agent, Logstash)",
    ("message",): "a shipper's records' message (Vector, Filebeat, Logstash, Fluentd, a CloudWatch Logs event)",
    ("log",): "Fluent Bit's records' log",
    ("_raw",): "a Splunk export's _raw",
    ("line",): "Loki's records' line (logcli --output=jsonl)",
    ("result", "_raw"): "a Splunk export's result._raw",
    ("_source", "event", "original"): "Elasticsearch documents' _source.event.original",
    ("_source", "message"): "Elasticsearch documents' _source.message",
    ("_source", "log"): "Elasticsearch documents' _source.log",
    ("properties", "log"): "Azure Monitor records' properties.log",
    ("textPayload",): "Google Cloud Logging LogEntry records' textPayload",
    ("jsonPayload", "message"): "Google Cloud Logging LogEntry records' jsonPayload.message",
}


def _carried_text(samples: Sequence[Any]) -> Optional[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """Where most of ``samples`` (JSON lines of no known format) carry a line of JSON as text: the shipper's field
    (``container.CARRIERS``) and the objects that text holds; None when they do not. (A line of a producer the
    checks read there is read through the shipper framing: ``container``.)"""
    found: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for obj in samples:
        for path, value in container.carriers(obj):
            if isinstance(value, str):  # the line the shipper kept (``container.carried`` takes the first)
                inner = _loads(value.strip().encode("utf-8", "surrogatepass")) if value.lstrip()[:1] == "{" else None
                if isinstance(inner, dict):
                    found.setdefault(path, []).append(inner)
                break
    if not found:
        return None
    most = max(found, key=lambda p: len(found[p]))
    return (most, found[most]) if len(found[most]) * 2 >= len(samples) else None


def _carried_refusal(name: str, path: tuple[str, ...], inner: Sequence[dict[str, Any]]) -> UnknownFormat:
    """The refusal of JSON lines of no known format that a shipper kept as text in ``path`` (``_carried_text``):
    what holds them, and the jq that writes them out, before a field_map can name their paths."""
    dotted = ".".join(path)
    out = _filtered(name, "jq -c '." + dotted + " | fromjson'", "jsonl")
    held = (f"{name} holds {_CARRIER_NAMES.get(path, dotted)}, each a line of a JSON log of no known audit format kept "
            f"as text in {json.dumps(dotted)} (its entries' keys: {_keys(inner)})")
    return UnknownFormat(f"{held}, which no field_map path reaches",
                         f"write the lines out ({out}), then verify that with log_format = \"jsonl\" and field_map in "
                         "[tool.auditready] naming the dotted JSON paths its entries use (e.g. {time = \"timestamp\", "
                         "identity = \"actor.id\"})", unmapped=held)


def detect_lines(name: str, raws: Sequence[str], prefix: str = "") -> Detected:
    """The same judgement over lines already read (a live source's unreadable lines)."""
    data = "\n".join(raws).encode("utf-8", "surrogatepass")
    return sniff(name, data, True, prefix=prefix)
