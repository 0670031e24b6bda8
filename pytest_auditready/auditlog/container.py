"""Container and journal framing: an audit device writing to standard output, read where the platform keeps it.

A vault whose audit device writes to ``stdout`` (``file_path = "stdout"``, common on Kubernetes and under systemd)
has its entries stored by the platform, one record a line, with the platform's framing around each:

- **CRI** (containerd, CRI-O: ``/var/log/containers/*.log``): ``<RFC 3339 time> <stream> <tag> <text>``. The tag
  ``P`` marks a partial line: the runtime splits a line longer than its limit (containerd's
  ``max_container_log_line_size``, 16 KiB by default) into ``P`` pieces and a final ``F`` one.
- **Docker's json-file driver**: ``{"log": "<text>\\n", "stream": "stdout", "time": "..."}``. A line longer than
  16 KiB is split too: every piece but the last lacks the final ``\\n``.
- **A CloudWatch Logs export** (an export task to S3): ``<RFC 3339 time> <message>``, the time in milliseconds
  (a CloudWatch event's timestamp is); AWS keeps no time order within an exported file (``ORDERLESS``).
- **A time before each line** in any other precision (``timestamped``): ``kubectl logs --timestamps`` (Go's
  RFC3339Nano: up to nine digits, trailing zeros trimmed), ``aws logs tail --format short`` (whole seconds, no
  zone), a collector's own time. Written as the lines were read, in file order, which is judged.
- **journald's JSON export** (``journalctl -o json``, or ``-o json-seq``: the same records, each after an RFC 7464
  record separator): the line is ``MESSAGE``. journald splits a standard-output line longer than ``LineMax=`` (48K
  by default) and marks each piece but the last ``_LINE_BREAK=line-max``; and ``journalctl`` writes a field over
  4096 bytes as ``null`` unless it is given ``--all``.
- **A log shipper's or SIEM's JSON record** of a line it read from the audit file (``shipper``): the line is kept as
  a string in ``event.original`` (ECS: Filebeat, Elastic Agent, Logstash), ``message`` (Filebeat, Logstash,
  Vector, Fluentd, a CloudWatch Logs event), ``log`` (Fluent Bit's tail input), ``_raw`` (a Splunk export, also
  under ``result``), ``line`` (``logcli --output=jsonl``), under ``_source`` (an Elasticsearch document), or in a
  Google Cloud Logging LogEntry's ``textPayload`` or ``jsonPayload.message``. A record is read so only when that
  string holds a producer's entry (or the first piece of one); a line the shipper cut at its size limit (Splunk's
  ``TRUNCATE``, 10000 bytes by default) is a finding that names the limit. A line the container runtime split,
  kept by the shipper a piece a record (Fluent Bit's cri parser: ``logtag`` P, then F; Docker's pieces, whatever
  the order of the record's keys), is joined again as on the runtime's own file.

- **The server's output streams with no framing** (``merged``, told from the content by ``auditlog.detect``):
  `bao server > FILE 2>&1`, ``kubectl logs`` or ``docker logs`` of a device with ``file_path = "stdout"``: the
  server's own output among the entries is left out as on a CRI ``stdout`` stream, with the blank lines of its
  banner; any other blank line is an entry removed, as in the device's own file.

The framing is taken off here, line for line, so the checks see each entry as the vault wrote it at the file:line of
the platform's record that ends it (the pieces before it read as blank lines). The vault's own server log is not
audit evidence: records of the ``stderr`` stream (CRI, Docker), journal messages that hold no JSON object (a
unit's stdout and stderr share its journal), and what the server prints itself on ``stdout`` (its banner, and its
log under -combine-logs: ``Unwrap._server_output``) are left out and counted (``Unwrap.skipped``, the report's
``left_out``); any other text on a ``stdout`` stream is judged. What a hop lost is
judged, never guessed: a piece that is never completed, or a message journalctl withheld, becomes a line that says
so, for ``required_fields`` to report. Nothing here imports pytest.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional, Union

import orjson

from .lines import MAX_LINE_BYTES
from .model import BadLine
from .syslog import server_log
from .vault_json import SERVER_BANNER

# The vault server's output streams captured with no framing of their own (`bao server > FILE 2>&1`, kubectl or docker
# logs of a device with file_path = "stdout"), told from the content (``auditlog.detect``), never named by log_framing:
# the server's own output among the entries is left out, as the platforms' framings leave it out (``Unwrap._merged``).
MERGED = "merged"
FRAMINGS = {"cri": "containerd, CRI-O", "docker": "Docker json-file", "journal": "journalctl -o json",
            "cloudwatch": "a CloudWatch Logs export",
            "timestamped": "a time before each line (kubectl logs --timestamps, aws logs tail --format short)",
            "shipper": "a log shipper's or SIEM's JSON record holding the line: Filebeat, Logstash, Vector, "
                       "Fluent Bit, Splunk, Loki, Elasticsearch"}
# Framings whose files keep no time order: file order proves nothing there (timestamp_accuracy skips it).
ORDERLESS = {"cloudwatch": "a CloudWatch Logs export keeps no time order within a file (AWS documents it for "
                           "exports to S3), so file order is not checked"}
# A time before the line: RFC 3339 UTC, or the whole seconds with no zone of `aws logs tail --format short` (aws-cli's
# ShortLogEventsFormatter: strftime("%Y-%m-%dT%H:%M:%S") of the event's UTC time, a space, the message)
_TIME = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:(?:\.\d{1,9})?Z)? "
_CLOUDWATCH = re.compile(_TIME + rb"(?=\{[ \t]*[\"}])")  # then an object
_TIME_FIRST = re.compile(_TIME)  # what is taken off, whatever follows
_MILLISECONDS = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")  # a CloudWatch event's time
_CRI = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) (stdout|stderr) ([A-Z:]+) ")
CRI_SPLIT = ("the container runtime's partial lines (CRI tag P) were never completed by a final piece (tag F): "
             "the log was cut while the runtime was writing an entry it had split at its line size limit "
             "(containerd: max_container_log_line_size, 16 KiB by default)")
DOCKER_SPLIT = ("Docker's json-file pieces of a line split at 16 KiB were never completed by the piece that ends "
                "it (\\n): the log was cut while the runtime was writing that entry")
JOURNAL_SPLIT = ("journald's pieces of a line it split at LineMax (_LINE_BREAK=line-max) were never completed: the "
                 "export was cut inside that entry")
JOURNAL_HEADLESS = ("the rest of an audit entry journald split at LineMax (_LINE_BREAK=line-max), whose first piece is "
                    "not in the export: a record was lost, or the export begins inside the entry (journalctl --since "
                    "or --cursor), so the entry cannot be read")
# Docker's journald log driver (and Podman's conmon) splits a line over 16 KiB too, and marks each piece but the last
# CONTAINER_PARTIAL_MESSAGE=true (docs.docker.com/engine/logging/drivers/journald): joined per container and stream
_DOCKER = ("Docker's journald log driver (or Podman's) split at 16 KiB (CONTAINER_PARTIAL_MESSAGE=true on each piece "
           "but the last)")
DOCKER_JOURNAL_SPLIT = (f"the pieces of a line {_DOCKER} were never completed by the piece that ends it: the export "
                        "was cut inside that entry")
DOCKER_HEADLESS = (f"the rest of an audit entry {_DOCKER}, whose first piece is not in the export: a record was "
                   "lost, or the export begins inside the entry (journalctl --since or --cursor), so the entry "
                   "cannot be read")
MERGED_BLANK = ("an empty line among the audit entries, outside the banner the vault server writes: the audit device "
                "never writes one (each entry is one JSON object and a newline), so the entry written here was "
                "removed and its line left blank")
JOURNAL_NULL = ("journalctl wrote MESSAGE as null: it withholds a field over 4096 bytes unless given --all, so "
                "this audit entry is not in the export; export with journalctl --all -o json (or -o cat)")
JOURNAL_DROPPED = ("journald dropped messages here ({what}): the audit entries the vault wrote to its standard "
                   "output in that window are lost; turn journald's rate limit off for the vault "
                   "(LogRateLimitIntervalSec=0 in its unit, or RateLimitIntervalSec=0 in journald.conf)")
# The end of a JSON object split off its start: a string's or a value's end, then the objects' closing braces
# ("...hmac-sha256:9f...\"}},\"type\":\"request\"}"), as no server log line ends
_JSON_TAIL = re.compile(rb'(?:"|[0-9]|true|false|null)\s*(?:[}\]]\s*)+\Z')
# journald's own record that it dropped a service's messages: SD_MESSAGE_JOURNAL_DROPPED, "Suppressed N messages"
_DROPPED_ID = "a596d6fe7bfa4994828e72309e95d61e"
_SUPPRESSED = re.compile(rb"[Ss]uppressed \d+ messages")
# The fields that tell one journald stream from another (a unit's stdout connection: _STREAM_ID; else the process)
_STREAM_KEYS = ("_STREAM_ID", "_BOOT_ID", "_PID", "_TRANSPORT", "_SYSTEMD_UNIT")
_MAX_STREAMS = 1000  # streams with a split line open at once
SHIPPER_SPLIT = ("the pieces of a line the container runtime split at 16 KiB (containerd, CRI-O: CRI tag P, "
                 "max_container_log_line_size; Docker json-file: a piece with no \\n), which the shipper kept as "
                 "records of their own and did not merge (Fluent Bit's cri parser: logtag P; its multiline cri "
                 "parser: _p P), were never completed by the piece that ends it: the export was cut inside that "
                 "entry")
# A container runtime's split line, each piece kept by a shipper as a record of its own, marked by the runtime's tag:
# Fluent Bit's documented cri parser (docs.fluentbit.io, Kubernetes: "Container Runtime Interface (CRI) parser":
# time, stream, logtag, message; some configurations name the last group log) and Fluentd's keep it as logtag,
# Fluent Bit's multiline cri parser as _p on a piece it did not merge (src/multiline/flb_ml_parser_cri.c)
_PIECE_TAGS = ("logtag", "_p")
# The fields that tell one container's stream from another in such records (Fluent Bit's kubernetes filter)
_SOURCE_KEYS = ("namespace_name", "pod_name", "pod_id", "container_name", "docker_id", "container_id")
# The start of a producer's entry as it writes it (Go's encoding/json, in its struct's order): Vault/OpenBao's
# time and type, a Kubernetes audit Event's kind and apiVersion; what the first piece of a split entry holds
_ENTRY_START = re.compile(rb'\{"(?:time":"[^"]{0,64}","type":"(?:request|response)"'
                          rb'|kind":"Event","apiVersion":"audit\.k8s\.io/)')
SHIPPER_CUT = ("the line a log shipper or SIEM kept is cut at {size} bytes: the entry is longer than the "
               "shipper's line limit (Splunk: TRUNCATE in props.conf, 10000 bytes by default; Filebeat: max_bytes; "
               "Fluent Bit: Buffer_Max_Size); raise it above the largest audit entry and export again")
# Query tools whose export is one page of results: told from the record's shape, with the numbers of records their
# default limits stop at, and how to lift them. An export of exactly that many records is a page, not the log.
QUERY_TOOLS = {
    "logcli": ((30,), "logcli query's --limit (30 entries by default)",
               "give logcli query a --limit above the number of entries, with --forward"),
    "splunk": ((100,), "the splunk search command's -maxout (100 results by default)",
               "give -maxout 0, or export with the search/jobs/export REST endpoint, which has no limit"),
    "elasticsearch": ((10, 10000), "Elasticsearch's _search size (10 hits by default; never more than "
                      "index.max_result_window, 10000)", "page through every hit (search_after with a point in "
                      "time, or elasticdump)"),
}
QUERY_CAPPED = ("the export holds exactly {n} records, the number {limit} stops at: it is most likely one page of "
                "the query's results, not the whole log, and the entries past it (or the partner of an entry it "
                "cut off) cannot be told from entries never written; {fix}, and verify that export")


def query_tool(rec: dict[str, Any]) -> str:
    """The query tool whose export record ``rec`` is (a key of ``QUERY_TOOLS``), or "" for none known."""
    if "line" in rec and "labels" in rec and "timestamp" in rec:  # logcli --output=jsonl
        return "logcli"
    if isinstance(rec.get("result"), dict) and "preview" in rec:  # Splunk's export: {"preview", "offset", "result"}
        return "splunk"
    if "_source" in rec and "_index" in rec:  # an Elasticsearch hit
        return "elasticsearch"
    return ""


# Where a shipper or a SIEM export keeps the line it read, in the order tried: ECS's event.original is the line as
# read even where the shipper has parsed it into other fields.
CARRIERS = (("event", "original"), ("message",), ("log",), ("_raw",), ("line",), ("result", "_raw"),
            ("_source", "event", "original"), ("_source", "message"), ("_source", "log"),
            ("properties", "log"),  # Azure Monitor's diagnostic record of an AKS cluster (category kube-audit)
            # Google Cloud Logging's LogEntry (a sink to Cloud Storage, gcloud logging read --format=json through
            # jq -c '.[]'): a line not parsed as JSON is kept in textPayload, a structured one in jsonPayload, the
            # line itself in its message where the agent kept it so (cloud.google.com/logging/docs/structured-logging;
            # the LogEntry's own fields: timestamp, insertId, logName, resource, severity, receiveTimestamp; red team
            # rt90 F4)
            ("textPayload",), ("jsonPayload", "message"),
            ("event",))  # Splunk HTTP Event Collector's event, the line as a string (red team rt85 F4)
# What `vault server` / `bao server` itself prints on its standard output, where a "stdout" file device writes the
# audit entries (command/server.go): a banner ("==> OpenBao server configuration:", its settings as "%24s: %s"
# lines, "==> OpenBao server started!", "==> Vault server started! Log data will stream in below:"), in dev mode a
# notice with the unseal key and the root token (before that line in Vault, after it in OpenBao), and
# "==> ... shutdown triggered" / "reload triggered" later. With -combine-logs its server log (hclog) is there too.
_BANNER = SERVER_BANNER
_INNER_LOOK = 20  # lines a CloudWatch export's or a shipper's carried lines are looked at for a framing of their own
_SETTING = re.compile(rb" {0,40}[A-Z][A-Za-z0-9 ]{0,40}:(?: .*)?\Z")
_DEV_START = b"WARNING! dev mode is enabled!"
_DEV_END = b"Development mode should NOT be used in production installations!"
_DEV_LINES = 40  # the dev notice is about 20 lines: past this many, lines are judged again
RS = b"\x1e"  # RFC 7464's record separator, before each record of ``journalctl -o json-seq``
LOST = b"\x00auditready-lost"  # in place of an entry a hop lost: ``split`` turns it into a BadLine saying why
ENTRY_CAP = MAX_LINE_BYTES  # a piece chain longer than a line may be is given back joined, for the parser to refuse


def kind(line: bytes) -> str:
    """The platform framing ``line`` is in: "cri", "docker", "journal", "cloudwatch", "timestamped", "shipper", or
    "" for none."""
    if line[:1] == RS:
        line = line[1:]
    if line[:1] == b"{":
        if line.startswith(b'{"log":') and b'"stream":' in line:
            return "docker"
        if b'"__CURSOR":' in line[:200] or (b'"MESSAGE":' in line and b'"__REALTIME_TIMESTAMP":' in line):
            return "journal"
        return "shipper" if _shipped(line) else ""
    if _CRI.match(line):
        return "cri"
    if _CLOUDWATCH.match(line) is None:
        t = _TIME_FIRST.match(line)  # a CloudWatch event of a container runtime's line (``Unwrap._nested``)
        if t is None or _CRI.match(line, t.end()) is None:
            return ""
    # CloudWatch keeps milliseconds; a time of another precision (kubectl's RFC3339Nano) is a stream in write order
    return "cloudwatch" if _MILLISECONDS.match(line) is not None else "timestamped"


def _producer(obj: Any) -> bool:
    """``obj`` is an audit entry of a producer the checks read (Vault/OpenBao, Kubernetes, a CloudTrail record); the
    full judgement is ``auditlog.detect``'s, this only tells a shipper's record from the entry it carries."""
    if not isinstance(obj, dict):
        return False
    api = obj.get("apiVersion")
    return (obj.get("type") in ("request", "response") or (isinstance(api, str) and api.startswith("audit.k8s.io/"))
            or ("eventVersion" in obj and "eventTime" in obj  # an Insights event has eventType and eventID instead
                and ("eventSource" in obj or ("eventType" in obj and "eventID" in obj))))


def carriers(rec: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Each of ``CARRIERS`` with what ``rec`` holds there (None where nothing is), in their order."""
    for path in CARRIERS:
        value: Any = rec
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        yield path, value


def carried(rec: dict[str, Any]) -> Optional[str]:
    """The line a shipper's record ``rec`` carries (``CARRIERS``: a string, or a producer's entry the shipper parsed
    into an object, written out again), or None when it carries none (or is itself a producer's entry, with fields
    a shipper added beside its own: read as it is)."""
    found = carried_at(rec)
    return found[1] if found is not None else None


def carried_at(rec: dict[str, Any]) -> Optional[tuple[tuple[str, ...], str]]:
    """Where in ``rec`` the line ``carried`` gives is (one of ``CARRIERS``), and the line."""
    if _producer(rec):
        # a producer's entry a shipper decoded in place, keeping the line it read beside it (Filebeat's
        # decode_json_fields with target "": message): that line is the entry as written, and the rest of the
        # record (the shipper's own fields, the decoded copies) is what lies beside it (red team rt90 F7)
        for path, value in carriers(rec):
            if isinstance(value, str) and _holds_entry(value.encode("utf-8", "surrogatepass"), framed=False):
                return path, value
        return None
    for path, value in carriers(rec):
        if isinstance(value, str):
            return path, value
        if isinstance(value, dict) and _producer(value):  # a shipper that parsed the line it carries (an AKS
            return path, orjson.dumps(value).decode("utf-8")  # export's properties.log as an object): the entry
    return None


def runtime_piece(rec: dict[str, Any], path: tuple[str, ...], text: str) -> Optional[bool]:
    """What a shipper's record ``rec`` says of the ``text`` it carries at ``path``, a line a container runtime may
    have split at 16 KiB: True for a piece that more pieces follow, False for the last piece (or a line never
    split), None when the record says nothing of it. Told by the runtime's tag (``_PIECE_TAGS``: CRI's
    ":"-separated flags, P for a partial line, F for a full one), or, in Docker json-file's record whatever the
    order the shipper gave its keys (its ``log`` and ``stream``), by the "\\n" that only the last piece has."""
    for key in _PIECE_TAGS:
        tag = rec.get(key)
        if isinstance(tag, str) and tag:
            flags = tag.split(":")
            if "P" in flags:
                return True
            if "F" in flags:
                return False
    if path == ("log",) and rec.get("stream") in ("stdout", "stderr"):
        return not text.endswith("\n")
    return None


def _whole(text: bytes) -> bool:
    """``text`` is one whole JSON object."""
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


def around(rec: dict[str, Any], path: tuple[str, ...], line: str) -> Optional[bytes]:
    """The fields of a platform's or a shipper's record ``rec`` beside the ``line`` it carries at ``path`` (Docker's
    attrs from --log-opt env and labels, a journal's _CMDLINE, a shipper's added fields), as one line of JSON for
    the leak scan: a secret there is in the file as much as one in an entry (red team rt90 F1). Only their text
    that is not in the line: a shipper that parsed the entry into fields of its own (Elastic's ECS fields, a SIEM's)
    copies the entry's values, which the entry's own scan judges where the producer put them (a CloudTrail access
    key id is no secret under userIdentity). None when nothing is left but a container runtime's stream and time."""
    rest = dict(rec)
    outer: list[dict[str, Any]] = [rest]
    for key in path[:-1]:  # (copies along the path only: the record itself is left as read)
        inner = outer[-1].get(key)
        if not isinstance(inner, dict):
            break
        outer[-1][key] = dict(inner)
        outer.append(outer[-1][key])
    else:
        outer[-1].pop(path[-1], None)
        for key, parent in zip(reversed(path[:-1]), reversed(outer[:-1])):  # an object left empty goes too
            if not parent[key]:
                del parent[key]
    left = _unseen(_texts(rest), line)
    if not isinstance(left, dict) or set(left) <= _BARE:
        return None
    return orjson.dumps(left)


def _unseen(value: Any, line: str) -> Any:
    """``value`` (a record's field) with only its strings that are not in ``line``, or None for none."""
    if isinstance(value, str):
        return value if value not in line else None
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _unseen(v, line)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [v for v in (_unseen(v, line) for v in value) if v is not None]
        return items or None
    return None  # a number, a truth value, null: no secret's text


_BARE = {"stream", "time"}  # a container runtime's own fields beside its line (Docker json-file)


def _shipped(line: bytes) -> bool:
    """``line`` is a shipper's record whose carried line holds a producer's entry, as it is or in a platform's
    framing (a Splunk export's _raw holding Docker's json-file record, Filebeat's message holding a container
    runtime's line: red team rt85 F1)."""
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    found = carried_at(rec) if isinstance(rec, dict) else None
    if found is None:
        return False
    text = found[1].encode("utf-8", "surrogatepass")
    # (or the first piece of an entry a container runtime split, kept as a record of its own: red team rt90 F3)
    return _holds_entry(text, framed=True) or (
        bool(runtime_piece(rec, *found)) and _ENTRY_START.match(text) is not None)


def _holds_entry(text: bytes, framed: bool) -> bool:
    """``text`` is a producer's entry; or, where ``framed``, a container runtime's line or Docker's or a shipper's
    record of one (one layer: Docker's "log" is one of ``CARRIERS``)."""
    text = text.strip()
    if framed and text[:1] != b"{":
        m = _CRI.match(text)
        if m is not None and b"P" in m.group(2).split(b":"):  # the first piece of an entry the runtime split
            return _ENTRY_START.match(text, m.end()) is not None
        return m is not None and _holds_entry(text[m.end():], framed=False)
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    if _producer(obj):
        return True
    if not framed or not isinstance(obj, dict):
        return False
    inner = carried(obj)
    return inner is not None and _holds_entry(inner.encode("utf-8", "surrogatepass"), framed=False)


_BYTE_ARRAY = re.compile(rb'":\s*\[\s*\d')  # a field journalctl wrote as an array of byte values


def as_text(raw: bytes) -> bytes:
    """A record as the leak scan reads it: a journal record's fields that ``journalctl -o json`` wrote as arrays of
    byte values (text with control characters, or not UTF-8) written as the text they hold, so a token or a canary
    there is seen (red team rt67 F1); any other record as read. Still one line (the text JSON-escaped)."""
    if _BYTE_ARRAY.search(raw) is None:
        return raw
    try:
        rec = orjson.loads(raw.lstrip(RS))
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(rec, dict):
        return raw
    return orjson.dumps(_texts(rec))


def _texts(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` with each field journalctl wrote as an array of byte values as the text it holds (``as_text``)."""
    for key, value in rec.items():
        if not isinstance(value, list):
            continue
        one = _text(value)
        if one is not None:  # one value
            rec[key] = one.decode("utf-8", "replace")
        else:  # a field given several times: a list of values
            texts = [_text(v) for v in value]
            rec[key] = [t.decode("utf-8", "replace") if t is not None else v for t, v in zip(texts, value)]
    return rec


def _text(value: Any) -> Optional[bytes]:
    """A journal field as bytes: a string, or (binary or control characters) an array of byte values."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    return None


class Unwrap:
    """Takes one log's platform framing off, block after block (state carries across blocks). Each call gives
    back as many lines as it was given: a record's payload in its place, a piece of a split line or a stderr
    record as a blank line, a hop's loss as a line the parser reports."""

    def __init__(self, framing: str) -> None:
        self.framing = framing
        self.pending: list[bytes] = []  # pieces of a split line so far
        self.pending_size = 0
        self.skipped = 0  # records of the vault's own server log (stderr, or no JSON object), left out
        self.left: list[tuple[int, bytes]] = []  # those of the last ``lines`` call: (index, the record: ``as_text``)
        # the last ``lines`` call's records whose line was kept: (index, the fields beside the line: ``around``)
        self.around: list[tuple[int, bytes]] = []
        self.beside: Optional[bytes] = None  # those of the record ``one`` read last
        self.problems: list[str] = []  # why each LOST line was lost, in order
        self.withheld = False  # a piece of the entry being read was withheld (journalctl without --all)
        # journald: the stream (``_STREAM_ID``, else process and transport) whose split line is being read, and the
        # unfinished split lines of other streams: another unit's record may come between two pieces of one line
        self.stream: tuple[Any, ...] = ()
        self.parked: dict[tuple[Any, ...], tuple[list[bytes], int, bool]] = {}
        self.gave_up = False
        self.records = 0  # shipper: the records read
        self.tool = ""  # shipper: the query tool whose export the log is (``query_tool``), told from its first record
        self.marker = "journal"  # what marked the last split line's pieces: "journal" (_LINE_BREAK), "docker"
        self.banner = ""  # within the server's own output on stdout (``_server_output``): "config", "dev"
        self.banner_lines = 0
        self.last = ""  # ``merged``: the kind of the last line given (``_merged``)
        # A CloudWatch export's or a shipper's line in a platform's framing of its own (``_nested``): its Unwrap once
        # told, and the lines looked at for one so far
        self.inner: Optional["Unwrap"] = None
        self.inner_seen = 0

    def lines(self, lines: list[bytes]) -> list[bytes]:
        """``lines`` with the framing taken off; the ones left out as the vault's own server log are in ``left``
        afterwards, as (index, the record as read)."""
        if self.framing == "merged":
            return self._merged(lines)
        out = []
        self.left, self.around = [], []
        for i, raw in enumerate(lines):
            skipped = self.skipped
            self.beside = None
            out.append(self.one(raw.rstrip(b"\r")))
            if self.skipped != skipped:
                self.left.append((i, as_text(raw)))
            elif self.beside is not None:
                self.around.append((i, self.beside))
        return out

    def one(self, raw: bytes) -> bytes:
        if self.framing == "merged":  # (a line alone: a blank one is judged by what surrounds it, in ``lines``)
            return self._merged([raw])[0]
        if not raw.strip():
            return raw
        if raw[:1] == RS and self.framing in ("journal", "shipper"):
            raw = raw[1:]
        if self.framing == "shipper":
            return self._shipper(raw)
        if self.framing == "cri":
            return self._cri(raw)
        if self.framing == "docker":
            return self._docker(raw)
        if self.framing in ("cloudwatch", "timestamped"):
            m = _TIME_FIRST.match(raw)
            if m is None:
                return raw  # no time before it: the parser says what it is
            # both streams of a container (kubectl logs, Docker's awslogs driver): the server's own output is there
            if self._server_output(raw[m.end():]):
                self.skipped += 1
                return b""
            return self._nested(raw[m.end():])
        return self._journal(raw)

    def _nested(self, line: bytes) -> bytes:
        """A line a CloudWatch export or a shipper's record carries that is itself in a platform's framing (Fluent
        Bit's or Docker's records exported from CloudWatch Logs, a Splunk export of Docker's records, Filebeat's
        record of a container runtime's line: red team rt85 F1): that framing taken off too, by an Unwrap of its
        own, so that its split lines are joined across the outer records. The inner framing is told from the first
        lines that show one (``_INNER_LOOK``); a line not in it is given back as it is."""
        if self.inner is None and self.inner_seen < _INNER_LOOK and line.strip():
            k = kind(line)
            if k in ("cri", "docker", "shipper") and k != self.framing:
                self.inner = Unwrap(k)
            else:
                self.inner_seen += 1
        inner = self.inner
        if inner is None:
            return line
        skipped = inner.skipped
        inner.beside = None
        out = inner.one(line)
        self.skipped += inner.skipped - skipped
        if inner.beside is not None:  # (the carried record's own fields: Docker's attrs in a CloudWatch export)
            self.beside = self.beside + b"\n" + inner.beside if self.beside is not None else inner.beside
        if inner.problems:
            self.problems.extend(inner.problems)
            inner.problems.clear()
        return out

    def _server_output(self, text: bytes) -> str:
        """Whether ``text``, a whole line on the container's stdout, is the vault server's own output (``_BANNER``)
        rather than the audit device's: "banner" for its banner, the settings and dev notice under it, "log" for
        (-combine-logs) its server log, in hclog's text or JSON format; "" for neither. Such a line is left out (and
        still scanned for secrets: the dev notice names the root token); anything else there is judged."""
        line = text.rstrip()
        if not line:
            return ""  # a blank line, within the banner or not: nothing to leave out (and no entry removed)
        if _BANNER.match(line) is not None:
            self.banner = "config" if line.endswith(b"server configuration:") else ""
            self.banner_lines = 0
            return "banner"
        if line[:1] == b"{":
            self.banner = ""
            return "log" if server_log(line) else ""
        if line.startswith(_DEV_START):
            self.banner, self.banner_lines = "dev", 0
            return "banner"
        if self.banner == "dev":
            self.banner_lines += 1
            if line.startswith(_DEV_END) or self.banner_lines > _DEV_LINES:
                self.banner = ""
            return "banner" if self.banner_lines <= _DEV_LINES else ""
        if self.banner == "config" and _SETTING.match(line) is not None:
            return "banner"
        self.banner = ""
        return "log" if server_log(text.lstrip()) else ""

    def _merged(self, lines: list[bytes]) -> list[bytes]:
        """``lines`` of a capture of the vault server's output streams with no framing of their own (``merged``:
        `bao server > FILE 2>&1`, kubectl or docker logs of a device writing to stdout): the server's own output
        (``_server_output``) left out, with the blank lines it writes in and around its banner and dev notice (one
        at a time: a blank line that touches such a line); any other blank line stands where an entry was removed
        (the device writes none), a LOST line saying so. A run of blank lines that ends the lines is decided by
        the line after it: ``offline.reader.blocks`` never ends a block with one, but the file's end."""
        out = [raw.rstrip(b"\r") for raw in lines]
        kinds: list[str] = []  # per line: "banner", "log", "blank" or "" (anything else: judged)
        for line in out:
            if line.strip():
                kinds.append(self._server_output(line))
            else:  # (a blank line inside the dev notice is the notice's)
                kinds.append("banner" if self.banner == "dev" else "blank")
        left = [i for i, k in enumerate(kinds) if k in ("banner", "log")]
        i, n = 0, len(kinds)
        while i < n:
            if kinds[i] != "blank":
                i += 1
                continue
            j = i
            while j < n and kinds[j] == "blank":
                j += 1
            ours = set()  # the server writes one blank line at a time: the one that touches its banner's line
            if (kinds[i - 1] if i else self.last) == "banner":
                ours.add(i)
            if j < n and kinds[j] == "banner":
                ours.add(j - 1)
            left.extend(ours)
            for k in range(i, j):
                if k not in ours:
                    out[k] = LOST
                    self.problems.append(MERGED_BLANK)
            i = j
        if kinds:
            self.last = kinds[-1]
        for i in left:
            out[i] = b""
        self.skipped += len(left)
        self.left = [(i, lines[i]) for i in sorted(left)]
        return out

    def _piece(self, text: bytes, last: bool) -> bytes:
        """A piece of a line: b"" until the last, then the whole line."""
        if not last:
            self.pending.append(text)
            self.pending_size += len(text)
            if self.pending_size > ENTRY_CAP:
                whole, self.pending, self.pending_size = b"".join(self.pending), [], 0
                return whole
            return b""
        if self.pending:
            self.pending.append(text)
            text, self.pending, self.pending_size = b"".join(self.pending), [], 0
        return text

    def _cri(self, raw: bytes) -> bytes:
        m = _CRI.match(raw)
        if m is None:
            return self._lost(raw)  # no CRI header: the parser says what it is
        if m.group(1) == b"stderr":
            self.skipped += 1
            return b""
        last = b"P" not in m.group(2).split(b":")
        if last and not self.pending and self._server_output(raw[m.end():]):
            self.skipped += 1
            return b""
        return self._piece(raw[m.end():], last)

    def _docker(self, raw: bytes) -> bytes:
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._lost(raw)
        if not isinstance(rec, dict) or not isinstance(rec.get("log"), str):
            return self._lost(raw)
        if rec.get("stream") == "stderr":
            self.skipped += 1
            return b""
        self.beside = around(rec, ("log",), rec["log"])
        text = rec["log"].encode("utf-8", "surrogatepass")
        last = text.endswith(b"\n")
        if last and not self.pending and self._server_output(text[:-1]):
            self.skipped += 1
            return b""
        return self._piece(text[:-1] if last else text, last)

    def _journal(self, raw: bytes) -> bytes:
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._lost(raw)
        if not isinstance(rec, dict) or "MESSAGE" not in rec:
            return self._lost(raw)
        message = rec["MESSAGE"]
        self.beside = around(rec, ("MESSAGE",), message if isinstance(message, str) else "")
        docker = rec.get("CONTAINER_PARTIAL_MESSAGE") == "true"  # a piece, not the last, of a container's line
        last = rec.get("_LINE_BREAK") != "line-max" and not docker
        stream = tuple(rec.get(k) for k in _STREAM_KEYS)
        if "CONTAINER_ID_FULL" in rec:  # a container journald driver's record: its container's stdout or stderr
            stream += (rec["CONTAINER_ID_FULL"], rec.get("PRIORITY"))
        if not last:
            self.marker = "docker" if docker else "journal"
        if stream != self.stream:
            self._switch(stream)
        if rec["MESSAGE"] is None or self.withheld:  # one entry, however many pieces journalctl withheld
            self.pending, self.pending_size = [], 0
            self.withheld = not last
            if last:
                self.problems.append(JOURNAL_NULL)
                return LOST
            return b""
        text = _text(rec["MESSAGE"])
        if text is None:
            return self._lost(raw)
        if not self.pending and (text.lstrip()[:1] != b"{" or server_log(text.lstrip())):
            if rec.get("MESSAGE_ID") == _DROPPED_ID or (rec.get("SYSLOG_IDENTIFIER") == "systemd-journald"
                                                         and _SUPPRESSED.search(text[:512]) is not None):
                found = _SUPPRESSED.search(text[:512])  # a loss, never the vault's own server log to leave out
                self.problems.append(JOURNAL_DROPPED.format(
                    what=found.group(0).decode() if found is not None else "rate limiting"))
                return LOST
            if not server_log(text.lstrip()) and (not last or _JSON_TAIL.search(text) is not None):
                # a piece of a split entry with no piece before it: its start is not in the export (red team rt48
                # F6: it was left out as the server's own output, and a whole request passed unseen); each such
                # piece is one line lost
                self.problems.append(DOCKER_HEADLESS if docker or "CONTAINER_ID_FULL" in rec
                                     else JOURNAL_HEADLESS)
                return LOST
            self.skipped += 1  # the vault's own server log: a unit's stdout and stderr share its journal
            return b""
        return self._piece(text, last)

    def _switch(self, stream: tuple[Any, ...]) -> None:
        """Read ``stream``'s records from now on: the split line of the stream read so far is kept aside until its
        next piece (with too many open at once, the oldest is given up, and ``finish`` says an entry was cut)."""
        if self.pending or self.withheld:
            self.parked[self.stream] = (self.pending, self.pending_size, self.withheld)
        self.pending, self.pending_size, self.withheld = self.parked.pop(stream, ([], 0, False))
        self.stream = stream
        if len(self.parked) > _MAX_STREAMS:
            del self.parked[next(iter(self.parked))]
            self.gave_up = True

    def _shipper(self, raw: bytes) -> bytes:
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._lost(raw)
        self.records += 1
        if self.records == 1 and isinstance(rec, dict):
            self.tool = query_tool(rec)
        found = carried_at(rec) if isinstance(rec, dict) else None
        if found is None:
            return self._lost(raw)  # no line in it (or a producer's own entry): the parser says what it is
        path, text = found
        self.beside = around(rec, path, text)
        if rec.get("stream") == "stderr":  # a container collector's record of the vault's own server log
            self.skipped += 1
            return b""
        more = runtime_piece(rec, path, text)
        if more is not None:  # a container runtime's line, kept a piece a record: joined again (red team rt90 F3)
            kube = rec.get("kubernetes")
            stream = (rec.get("stream"),) + (tuple(str(kube.get(k)) for k in _SOURCE_KEYS)
                                             if isinstance(kube, dict) else ())
            if stream != self.stream:
                self._switch(stream)
            piece = text.encode("utf-8", "surrogatepass")
            if more and (_whole(piece) if self.pending else not (piece[:1] == b"{" and ends_early(piece))):
                # no piece: a whole entry marked as one (Fluent Bit's multiline parser keeps the first piece's
                # fields, _p P among them, on the line it merged: src/multiline/flb_ml.c), which ends the pieces
                # before it if any (never completed: the line they make with it is judged), or a piece whose start
                # is not in the export, read as a line of its own
                more = False
            if more or self.pending:
                return self._piece(piece if more else piece.rstrip(b"\r\n"), not more)
        line = text.rstrip("\r\n").encode("utf-8", "surrogatepass")
        if rec.get("stream") == "stdout" and self._server_output(line):  # the server's banner there
            self.skipped += 1
            return b""
        if server_log(line.lstrip()):  # the server's own log file, shipped with the audit file (Fluent Bit's tail
            self.skipped += 1  # of both): no entry
            return b""
        if line.lstrip()[:1] == b"{" and line.rstrip()[-1:] != b"}" and ends_early(line):
            self.problems.append(SHIPPER_CUT.format(size=len(line)))
            return LOST
        return self._nested(line)  # text on the audit file's line is judged, whatever it is

    def _lost(self, raw: bytes) -> bytes:
        """A line not in the framing: given back as read (the parser reports it, so the file fails); pieces of a
        split line it interrupts are dropped with it."""
        if self.pending:
            self.pending, self.pending_size = [], 0
        return raw

    def finish(self) -> Optional[str]:
        """At the end of the log: why the last entry is missing, when its pieces were never completed."""
        if self.inner is not None:
            said = self.inner.finish()
            if said is not None:
                return said
        if not self.pending and not self.withheld and not self.parked and not self.gave_up:
            return None
        self.pending, self.pending_size, self.withheld = [], 0, False
        self.parked, self.gave_up = {}, False
        if self.framing == "journal" and self.marker == "docker":
            return DOCKER_JOURNAL_SPLIT
        return {"cri": CRI_SPLIT, "docker": DOCKER_SPLIT, "shipper": SHIPPER_SPLIT}.get(self.framing, JOURNAL_SPLIT)


    def capped(self) -> Optional[str]:
        """At the end of the log: why it is no whole log, when it is a query tool's export of exactly as many
        records as the tool's default limit gives (``QUERY_TOOLS``; red team rt67 F3)."""
        caps, limit, fix = QUERY_TOOLS.get(self.tool, ((), "", ""))
        return QUERY_CAPPED.format(n=self.records, limit=limit, fix=fix) if self.records in caps else None


def ends_early(text: bytes) -> bool:
    """``text`` is the start of a JSON object that ends too early."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return exc.pos >= len(text)
    return False


Run = tuple[int, Union[bytes, BadLine], int, list[tuple[int, bytes]], list[tuple[int, bytes]]]


def split(file: str, first: int, data: bytes, unwrap: Unwrap) -> Iterator[Run]:
    """``data`` (whole lines from line ``first``) with the framing taken off, as runs (first line, bytes or a
    BadLine for a line a hop lost, line count, the run's lines left out as the vault's own server log: (index in
    the run, the record as read), and the fields beside each line kept: (index in the run, ``around``)). A record
    whose text holds several lines (a shipper's multiline merge: Filebeat's multiline, Splunk's SHOULD_LINEMERGE, a
    concat filter; a journal MESSAGE with newlines) gives one run a line,
    each at the record's own line, so every entry is named at the line it is on, and the lines after it too (red
    team rt67 F4); the line count of the runs adds up to that of ``data`` but for those."""
    lines = unwrap.lines(data.split(b"\n"))
    left, beside = unwrap.left, unwrap.around
    if LOST not in lines and not any(b"\n" in ln for ln in lines):
        yield first, b"\n".join(lines), len(lines), left, beside
        return
    start = 0

    def within(end: int, items: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return [(i - start, raw) for i, raw in items if start <= i < end]

    def at(i: int) -> list[tuple[int, bytes]]:  # the fields beside line i's record, for a run of that line alone
        return [(0, raw) for j, raw in beside if j == i]

    for i, ln in enumerate(lines):
        if ln == LOST or b"\n" in ln:
            if i > start:
                yield first + start, b"\n".join(lines[start:i]), i - start, within(i, left), within(i, beside)
            if ln == LOST:
                yield first + i, BadLine(file, first + i, unwrap.problems.pop(0), ""), 1, [], at(i)
            else:
                parts = [part.rstrip(b"\r") for part in ln.split(b"\n") if part.strip()]
                for k, part in enumerate(parts):
                    yield first + i, part, 1, [], at(i) if k == 0 else []
            start = i + 1
    if start < len(lines):
        yield first + start, b"\n".join(lines[start:]), len(lines) - start, within(len(lines), left), \
            within(len(lines), beside)


def detect(lines: list[bytes], named: str = "auto") -> str:
    """The framing most of ``lines`` (a sample) are in, or "" (``named``: the log_framing setting; anything but
    "auto" is taken as said, "none" for no framing)."""
    if named != "auto":
        return "" if named == "none" else named
    counts: dict[str, int] = {}
    n = 0
    for ln in lines:
        if ln.strip():
            n += 1
            k = kind(ln)
            if k:
                counts[k] = counts.get(k, 0) + 1
    if not counts:
        return ""
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] * 2 >= n else ""
