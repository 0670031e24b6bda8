"""Syslog framing: an audit entry carried behind an RFC 3164 or RFC 5424 header, recognised line by line.

A syslog hop (rsyslog, syslog-ng, ``logger``, a journald export) writes each message with a header before it:

- RFC 3164 / rsyslog's ``RSYSLOG_TraditionalFileFormat``: ``Dec  1 09:13:13 host tag[pid]: {...}``;
- ``journalctl -o short`` / ``short-precise``: ``Dec 01 09:13:13.583001 host bao[812]: {...}``;
- rsyslog's ``RSYSLOG_FileFormat``, syslog-ng's ISO dates, ``journalctl -o short-iso``:
  ``2026-12-01T09:13:13.583001+00:00 host tag: {...}``;
- RFC 5424 / ``RSYSLOG_SyslogProtocol23Format``: ``<13>1 2026-12-01T09:13:13.583Z host app pid msgid [sd] {...}``.
- a capture of a TCP syslog stream framed by octet counting (RFC 6587), one message a line:
  ``269 <13>1 2026-12-01T09:13:13.583Z host app pid msgid - {...}`` (the count is framing too).

The header is framing: ``unframe`` gives back the entry it carries, so the checks see the entry the vault wrote at
the same file:line. What a hop does to an entry is judged here too: a message cut at the hop's size limit (rsyslog
cuts at ``maxMessageSize``, 8k by default, and writes the rest as a message of its own) is a bad line that names
the limit and the setting; rsyslog's escaping of control characters (``#011`` for a tab) is undone when that is
what makes the entry readable, and its escaping of 8-bit bytes (``#303#251`` for ``é``) where the reader finds a
whole file so escaped (``eight_bit``); the relay's own messages (``rsyslogd-2177: ... begin to drop messages``) are
named, a loss as a loss. Nothing here imports pytest.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Optional

import orjson

_HEADER = re.compile(
    rb"(?:(?:\d{1,7} )?<\d{1,3}>(?:\d{1,2} )?)?"  # RFC 6587's octet count, PRI, and the RFC 5424 version
    rb"(?:[A-Z][a-z]{2} [ 0-9]\d(?: \d{4})? \d\d:\d\d:\d\d(?:\.\d{1,9})?"  # RFC 3164 (+ year, fraction)
    rb"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"  # RFC 3339 / ISO 8601
    rb" +[^\s{]+ "  # host
)
# Between the host and the entry: a tag (``bao:``, ``bao[42]:``), RFC 5424's app, pid, msgid and structured data
# (``- - - -``, ``[timeQuality tzKnown="1"]``), each followed by spaces; then a UTF-8 BOM may start the message.
# (One character or one bracketed group at a time: no nested repetition, so a hostile line costs linear time.)
_MIDDLE = re.compile(rb" *(?:(?:\[[^\]]*\]|[^\s{\[])+ +)*(?:\xef\xbb\xbf)?(?:@cee: *)?")
# The CEE cookie (``@cee:``, rsyslog's mmjsonparse and liblognorm) before a JSON message, with or without a space:
# framing too, also at the start of a line a ``%msg%`` template wrote without a header.
_CEE = re.compile(rb"@cee: *(?=\{)")
# The server's own log (hclog's standard format: ``2026-12-02T03:48:31.583Z [INFO]  core: ...``), which shares a
# unit's journal and a syslog tag with the audit entries when the device writes to stdout: behind a header, no audit
# entry, left out as the journal framing leaves it out (``auditlog.container``). Bare, it is judged: text on a
# container's stdout stream is the device's (its server log goes to stderr).
_SERVER_LOG = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d) +"
                         rb"\[(?:TRACE|DEBUG|INFO|WARN|ERROR)\] ")
# ... and in hclog's JSON format (log_format = "json"): its keys sorted, so "@level" first.
_SERVER_JSON = re.compile(rb'\{"@level":"(?:trace|debug|info|warn|warning|error)","@message":')
# journalctl's own lines between the messages of its short formats and -o cat (a new boot, nothing matched, the
# cursor): no message of the journal, left out.
_JOURNALCTL_NOTE = re.compile(rb"-- (?:Boot [0-9a-f]{32} --|Reboot --|No entries --|"
                              rb"(?:Logs|Journal) begins? at .{0,200} --|cursor: \S+) *\r?\Z")
_MAX_MIDDLE = 512
_ESCAPE = re.compile(rb"#(0[0-3][0-7]|177)")  # rsyslog's $EscapeControlCharactersOnReceive (on by default)

# Message size limits of syslog transports and relays: rsyslog's maxMessageSize (8k by default), syslog-ng's
# log-msg-size (64k), RFC 3164's 1024, RFC 5424's 2048 minimum, and the usual powers of two between.
LIMITS = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144)
SETTING = "rsyslog: $MaxMessageSize / global(maxMessageSize=...)"
LINE_MAX = 49152  # journald's LineMax= (48K by default): the size of each piece of a longer stdout line


def header_length(raw: bytes) -> int:
    """The length of the syslog header ``raw`` starts with (up to the message), or 0 when it has none."""
    m = _HEADER.match(raw)
    if m is None:
        cee = _CEE.match(raw)
        return cee.end() if cee is not None else 0
    rest = _MIDDLE.match(raw, m.end(), min(len(raw), m.end() + _MAX_MIDDLE))
    end = rest.end() if rest is not None else m.end()
    return end


def server_log(raw: bytes) -> bool:
    """``raw`` (a line, no header) is a line of the vault server's own log, hclog's standard or JSON format: never an
    audit entry (those start with ``{"auth"``, ``{"time"``...). Left out only where the stream merges the server's
    stdout and stderr (a journal, a log command with no framing of its own), never from a container's stdout."""
    return _SERVER_LOG.match(raw) is not None or _SERVER_JSON.match(raw) is not None


def truncated(payload: bytes) -> Optional[bool]:
    """None when ``payload`` is a JSON object; True when it is the start of one that ends too early (cut);
    False when it is malformed in some other way."""
    try:
        return None if isinstance(orjson.loads(payload), dict) else False
    except orjson.JSONDecodeError as exc:
        return exc.pos >= len(payload)


def cut_limit(size: int) -> int:
    """The size limit a message of ``size`` bytes was most likely cut at: the smallest usual limit not below it
    when it is within 512 bytes of one (the sender's own header counts too), else ``size`` itself."""
    for limit in LIMITS:
        if limit - 512 <= size <= limit:
            return limit
    return size


def cut_reason(size: int) -> str:
    """Why a message of ``size`` bytes behind a syslog header ends mid-entry: a hop's size limit when ``size`` is at
    (or a header short of) a usual one; else it may as well have been cut while it was written or copied."""
    if size == LINE_MAX:  # journald's pieces, printed by journalctl -o short* behind its syslog-like header
        return (f"cut at {size} bytes: journald splits a line longer than LineMax= (48K) into pieces, which "
                "journalctl -o short* prints as lines: read the journal with journalctl -o json --all, whose "
                "_LINE_BREAK=line-max marks let the pieces be joined, or raise LineMax= above the largest entry")
    limit = cut_limit(size)
    if limit != size or size in LIMITS:
        return (f"cut at {limit} bytes: the syslog hop's message size limit ({SETTING}); raise it above the largest "
                "audit entry on every hop (syslog-ng: log-msg-size(); logger: --size, 1 KiB by default)")
    return (f"ends mid-entry after {size} bytes, a size no usual syslog limit has: the file was cut or copied while "
            "it was being written (a copy taken mid-write, a full disk, a shipper that stopped), or a hop cuts "
            f"messages at {size} bytes; keep the whole line (copy a rotated file, not the live one; {SETTING})")


FRAGMENT = (f"no JSON object after the syslog header: the rest of an entry the syslog hop cut at its message size "
            f"limit ({SETTING}) or journald split at LineMax= (see the line before), or a message that is no audit "
            "entry")
REPEATED = ("rsyslog's repeated-message reduction wrote this line in place of messages identical to the one before "
            "it: those audit entries are not in the log as the vault wrote them; turn it off on every hop "
            "($RepeatedMsgReduction off) and look for the hop that sends a line twice")
_REPEATED = re.compile(rb"(?:^|\s)message repeated \d+ times: \[")
# The relay's own messages that say it dropped messages (rsyslog's imuxsock and imjournal rate limits, an action's
# "message lost", a disk queue's lost or skipped messages, a queue discarded at shutdown; journald's RateLimitBurst,
# syslog-ng's full queue): audit entries lost on the way, never only a stray line.
_LOSS = re.compile(rb"(?i)(?:messages? lost|lost \d+ messages|skipped \d+ messages|begins? to drop messages|"
                   rb"dropping messages|suppressed \d+ messages|messages? (?:were |was )?(?:dropped|discarded)|"
                   rb"will be discarded|ratelimit|rate-limit)")
# rsyslog tags its own messages "rsyslogd:", or with their error number "rsyslogd-2177:" (and "rsyslogd0:" in some
# 8.x); journald gives them "rsyslogd[pid]:"; impstats writes its counters as "rsyslogd-pstats:".
_RELAY = re.compile(rb"\s*(?:\[[\d. ]+\] )?(rsyslogd(?:-?\d{1,5}|-pstats)?|rsyslog|syslog-ng|systemd-journald|journald|"
                    rb"imuxsock|imjournal|imtcp|imudp|kernel)(?:\[\d+\])?(?::|\s)")  # a tag, an APP-NAME (RFC 5424)
# impstats' counters of messages discarded (a queue full or nearly full, imuxsock's rate limit): a loss when not 0
_COUNTED_LOSS = re.compile(rb"\b(?:discarded\.(?:full|nf)|ratelimit\.discarded)=[1-9]")
# an rsyslog action that stopped delivering (rsyslogd-2007): "action 'NAME' suspended (module '...'), retry 0"
_SUSPENDED = re.compile(rb"\baction '[^']{0,200}' suspended\b")
LOSS = ("the relay says it dropped messages here ({tag}: rate limiting, a full queue or a failed action): audit "
        "entries of that window are lost; turn rate limiting off for the vault's messages (rsyslog: "
        "imuxsock/imjournal RateLimit.Interval=0; journald: RateLimitIntervalSec=0) and give the relay's queue room")
SUSPENDED = ("the relay says one of its actions stopped delivering here ({tag}: action suspended): an action not "
             "retried for ever discards what it could not deliver (rsyslog: action.resumeRetryCount, 0 by default), "
             "so audit entries of that window may be lost on its way; give each action that carries the audit log "
             "a disk-assisted queue and action.resumeRetryCount=\"-1\"")
RELAY = ("a message of the relay itself ({tag}), not an audit entry: the hop writes its own messages into the audit "
         "log's file; route only the vault's messages there (rsyslog: a filter on the program name)")
# rsyslog's escapes of the control characters JSON allows between its tokens: read as a space (inside a string a
# raw control character is no JSON at all, so an object that only reads unescaped has them between tokens)
_BLANK = frozenset((0o11, 0o12, 0o15))


def unframe(raw: bytes) -> tuple[Optional[bytes], str]:
    """What a line read through a syslog hop carries: (the entry's bytes, "") when ``raw`` is a syslog header and a
    JSON object (rsyslog's ``#ooo`` escapes of control characters undone when the object only reads that way);
    (None, why) when the header carries no whole entry (cut at the hop's size limit, or the rest of a cut one);
    (None, "") when ``raw`` has no syslog header at all; (b"", "") for a line of the server's own log behind a
    header (hclog's standard or JSON format: a unit's stdout and stderr merged by journald, or a syslog stream of the
    vault's program) and for journalctl's own notes (``-- Boot ID --``): no audit entry, left out."""
    if raw[:1] == b"{" or _SERVER_LOG.match(raw) is not None:
        return None, ""  # a bare line of the server's log (no header: no merged stream) is judged as it is
    if raw[:3] == b"-- " and _JOURNALCTL_NOTE.match(raw) is not None:
        return b"", ""
    if raw[:1].isdigit():
        frames = _frames(raw)
        if frames is not None:
            return None, _joined(frames)
    n = header_length(raw)
    if not n:
        return None, ""
    payload = raw[n:].rstrip(b" \r")
    if _SERVER_JSON.match(payload) is not None or (b" [" in raw[:n] and _server_log(raw)):
        return b"", ""  # (hclog's level is a bracketed word, which _MIDDLE reads as part of the header)
    if payload[:1] != b"{" or (b"message repeated " in raw[:n] and _REPEATED.search(raw[:n]) is not None):
        return None, _not_an_entry(raw)
    escaped = b"#" in payload and _ESCAPE.search(payload) is not None
    if payload[-1:] == b"}" and not escaped and len(payload) + n not in LIMITS and len(payload) not in LIMITS:
        return payload, ""  # the parser judges it (the usual case: one parse, not two)
    state = truncated(payload)
    if state is None:
        return payload, ""
    if escaped:
        unescaped = _ESCAPE.sub(_unescape, payload)
        if truncated(unescaped) is None:
            return unescaped, ""
    if state:
        return None, cut_reason(len(payload))
    return payload, ""  # malformed in another way: the parser says how


_COUNTED = re.compile(rb"(\d{1,7}) (?=<\d{1,3}>)")


def _frames(raw: bytes) -> Optional[list[bytes]]:
    """The messages of a line of an octet-counted syslog stream (RFC 6587: each message after its length) that
    holds more than one, each by its count, or None. A message cut at the hop's size limit loses the line end its
    template wrote, so the next message joins its line."""
    frames = []
    at = 0
    while at < len(raw):
        m = _COUNTED.match(raw, at)
        if m is None:
            break
        at = m.end() + int(m.group(1))
        frames.append(raw[m.end():at])
    return frames if len(frames) > 1 else None


_JOINED = "messages of an octet-counted syslog stream (RFC 6587) on one line"


UNENDED = "none of them cut"


def _joined(frames: list[bytes]) -> str:
    """Why a line that holds several messages of an octet-counted stream (``_frames``) gives no entry: a message
    cut at the hop's size limit lost its line end, or (``UNENDED``) the stream has no line ends at all."""
    why = next((w for w in (unframe(f)[1] for f in frames[:-1]) if w), "")
    if not why:
        return (f"{len(frames)} {_JOINED}, {UNENDED}: the stream holds no line ends; receive it with a syslog "
                "server that writes one message a line (rsyslog's imtcp and omfile)")
    return (f"{len(frames)} {_JOINED}: {why}; a message cut at the hop's size limit loses its line end, so the next "
            "message joins its line, and no entry of the line is read; receive the stream with a syslog server that "
            "writes one message a line (rsyslog's imtcp and omfile)")


def last_joined(reason: str, raw: bytes) -> Optional[bytes]:
    """The entry the last message of a line of several octet-counted messages carries (``_frames``: the one that
    kept the line end, so the one most likely whole) when ``reason`` is why such a line gave no entry, else None:
    what completeness pairs by, while the line stays unreadable for required_fields."""
    if _JOINED not in reason:
        return None
    frames = _frames(raw)
    framed = unframe(frames[-1])[0] if frames else None
    return framed or None


def carried_prefix(raw: bytes, framed: bytes, prefix: bytes) -> bytes:
    """``framed`` (the entry ``unframe`` took from behind ``raw``'s syslog header) with the device ``prefix`` put
    back where the header holds it: a socket device's prefix reaches the hop as the start of the message, which it
    reads as its tag or APP-NAME (``AUDIT: {...}`` becomes ``<13>1 ... host AUDIT - - - {...}``), or keeps among the
    header's words. Else ``framed`` as it is."""
    word = prefix.strip(b" \t:")
    if not word or framed.startswith(prefix):
        return framed
    n = header_length(raw)
    return prefix + framed if n and word in raw[:n] else framed


def _server_log(raw: bytes) -> bool:
    """``raw`` (a line with a syslog header) carries a line of the server's own log: after the header's host and
    the tag or RFC 5424's fields (no ``{`` before it), hclog's time and level."""
    host = _HEADER.match(raw)
    if host is None:
        return False
    m = _SERVER_LOG.search(raw, host.end(), host.end() + 160)
    return m is not None and b"{" not in raw[host.end():m.start()]


def _unescape(m: "re.Match[bytes]") -> bytes:
    """The byte rsyslog escaped as ``#ooo``; a tab, line feed or carriage return as a space (the same JSON between
    tokens, and no line break inside the entry's line)."""
    code = int(m.group(1), 8)
    return b" " if code in _BLANK else bytes((code,))


# rsyslog's parser.escape8BitCharactersOnReceive writes every byte above 127 of a message as "#" and its three
# octal digits, so a non-ASCII character of an entry as the escapes of its UTF-8 bytes ("é" as "#303#251"). One
# match is one character: a lead byte (0xC2-0xDF, 0xE0-0xEF, 0xF0-0xF4) and its continuation bytes (0x80-0xBF).
_EIGHT_BIT = re.compile(rb"(?:#3(?:0[2-7]|[1-3][0-7])|#3[45][0-7]#2[0-7]{2}|#36[0-4]#2[0-7]{2}#2[0-7]{2})#2[0-7]{2}")


def eight_bit_escaped(data: bytes) -> bool:
    """Whether ``data`` holds what rsyslog's escaping of 8-bit bytes writes for a UTF-8 character (``#303#251``)."""
    return b"#" in data and _EIGHT_BIT.search(data) is not None


def eight_bit(entry: bytes) -> bytes:
    """``entry`` (one that came through a hop escaping 8-bit bytes: the caller tells) with each run of ``#ooo``
    escapes that spells one UTF-8 character written as that character, the text the vault wrote; ``entry`` itself
    when there is none. Escapes that spell no character (an overlong form, a lone lead byte) stay as written."""
    return _EIGHT_BIT.sub(_utf8, entry) if b"#" in entry else entry


def _utf8(m: "re.Match[bytes]") -> bytes:
    """The UTF-8 character a run of ``#ooo`` escapes spells, or the run as written when it spells none."""
    run = m.group(0)
    code = bytes(int(run[i + 1:i + 4], 8) for i in range(0, len(run), 4))
    try:
        code.decode("utf-8")
    except UnicodeDecodeError:
        return run
    return code


def _not_an_entry(raw: bytes) -> str:
    """Why a syslog line (``raw``, header and all) carries no JSON object: rsyslog's "message repeated N times",
    the relay's own message (tagged by the relay: rsyslogd, journald, the kernel; one that says messages were
    dropped is a loss, an action suspended a possible one), else the rest of a cut entry or a stray message. Only
    the tag right after the host names a relay: the rest of a cut entry may hold any words (a path
    sys/quotas/rate-limit)."""
    if _REPEATED.search(raw[:1024]) is not None:
        return REPEATED
    host = _HEADER.match(raw)
    relay = _RELAY.match(raw, host.end() - 1, host.end() + 64) if host is not None else None
    if relay is None:
        return FRAGMENT
    told = raw[relay.end():relay.end() + 512]
    inner = _RELAY.match(told, 0, 64) if relay.group(1) == b"kernel" else None  # journald's, through the kernel
    tag = (inner or relay).group(1).decode()
    if tag == "rsyslogd-pstats":  # impstats' counters: a loss only where one of messages discarded is not 0
        return (LOSS if _COUNTED_LOSS.search(told) is not None else RELAY).format(tag=tag)
    if _LOSS.search(told) is not None:
        return LOSS.format(tag=tag)
    return (SUSPENDED if _SUSPENDED.search(told) is not None else RELAY).format(tag=tag)


# RFC 5424's sequence numbers (7.3.1: ``[meta sequenceId="N"]``, 1 to 2147483647, then 1 again), which syslog-ng's
# syslog() destination and other senders write: a number skipped is a message lost on the way.
_NUMBERED = re.compile(rb"(?:\d{1,7} )?<\d{1,3}>\d{1,2} \S+ (\S+ \S+ \S+) \S+ ")
_SEQUENCE = re.compile(rb'\[meta(?: [^\]]*?)? sequenceId="(\d{1,10})"')
_SENDERS = 10_000  # senders remembered at most (host, app, process)


def sequence_of(raw: bytes) -> Optional[tuple[bytes, int]]:
    """(the sender: host, app and process, its sequence number) of an RFC 5424 line that carries
    ``[meta sequenceId="N"]`` in its structured data, else None."""
    m = _NUMBERED.match(raw)
    if m is None:
        return None
    seq = _SEQUENCE.match(raw, m.end()) or _SEQUENCE.search(raw, m.end(), min(len(raw), m.end() + _MAX_MIDDLE))
    return (m.group(1), int(seq.group(1))) if seq is not None else None


def numbered(head: bytes) -> bool:
    """Whether a file's first bytes hold lines numbered by their sender (``sequence_of``)."""
    return b"sequenceId=" in head and any(sequence_of(ln) is not None for ln in head.split(b"\n")[:50])


def sequence_gaps(lines: Iterable[bytes]) -> Iterator[tuple[int, int, int, int]]:
    """Messages missing from ``lines`` (a file's lines, in order) by their senders' numbers: (the line after the
    gap, the line before it, the first and the last number missing). A sender starting again from 1 (a restart),
    and a number not above the last (a relay's retry, a reorder), are no gap."""
    last: dict[bytes, tuple[int, int]] = {}
    for n, raw in enumerate(lines, 1):
        got = sequence_of(raw)
        if got is None:
            continue
        sender, seq = got
        before = last.get(sender)
        if before is not None and seq > before[0] + 1:
            yield n, before[1], before[0] + 1, seq - 1
        if before is None and len(last) >= _SENDERS:
            last.clear()
        last[sender] = (seq, n)
