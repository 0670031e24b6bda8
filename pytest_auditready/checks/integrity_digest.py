"""integrity_digest: digests are well formed, no token the vault always digests is in clear (log_raw), no entry made
with a token lacks the token digests the vault writes in it (a hop took them out), and the vault's own
sys/audit-hash is found where values were logged."""

from __future__ import annotations

import json
import re
from itertools import compress, repeat
from operator import attrgetter, eq, gt, methodcaller
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from ..auditlog.formats import format_of
from ..auditlog.model import HMAC_PREFIX, HMAC_RE, AuditEntry, Entries, Record
from ..scan.hyperscan import digest_checks
from ..text import clip
from .base import Check, CheckContext, Finding, Note, Skip, Visitor, feed
from .completeness import LOGIN, comparable
from .required_fields import login as _login

ID = "integrity_digest"
_BAD_DIGEST_FIX = "ship entries unchanged: a digest must stay 'hmac-sha256:' followed by 64 lowercase hex digits"


def _short(digest: str) -> str:
    return digest[: len(HMAC_PREFIX) + 12] + "…"


# A digested value that is not exactly 64 lowercase hex digits before its closing quote (or escaped quote), or whose
# prefix is a misspelling of the one the vault writes (scan.hyperscan.MALFORMED_DIGEST: "HMAC-SHA256:", "hmac_sha256:",
# "hmac-sha512:"...); the second only in a Vault/OpenBao log, where every such value is one of the vault's digests.
_MALFORMED = re.compile(rb'"hmac-sha256:(?![0-9a-f]{64}(?:"|\\"))')
_MALFORMED_OR_MISSPELLED = re.compile(rb'"(?:hmac-sha256:(?![0-9a-f]{64}(?:"|\\"))|(?!hmac-sha256:)'
                                      rb'(?i:hmac[-_]?sha[-_]?)[0-9]+:)')
_NEXT_FRAME = re.compile(rb" <\d{1,3}>")  # after the octet count the hex run took in: the next message's PRI
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]*")
_SHOW = 5
_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')  # a JSON string (its quotes unescaped)


def _escaped_value(data: bytes, quote: int) -> Optional[str]:
    """The JSON string that opens at ``data[quote]`` decoded, when it holds a \\u escape (JSON allows any
    character so: a re-encoding hop may write plain ASCII that way, and the value is the same); None otherwise."""
    m = _STRING.match(data, quote)
    if m is None or b"\\u" not in m.group(0):
        return None
    try:
        value = json.loads(m.group(0))
    except ValueError:
        return None
    return value if isinstance(value, str) else None


# -- a map's key is no digest ---------------------------------------------------------------------------------------
# The audit broker digests values, never a map's keys (openbao internal/audit/hashstructure.go, hashMap: the values
# it walks are replaced, the keys kept; fixtures/openbao/rt101-values): a KV secret's key that starts with
# "hmac-sha256:" (or a misspelling of it) is the caller's name for a value, not a digest, and is never judged as one.
_GAP = re.compile(rb"[ \t\r]*")  # what may stand between a JSON object's key and its colon on one line
_GAP_DOC = re.compile(rb"[ \t\r\n]*")  # ... in a document taken out of a string (a pretty-printed one: lines)
_DOC_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # a JSON string in such a document
_OPENS = re.compile(rb'"(?i:hmac[-_]?sha)')  # where a value the malformed-digest scan may name opens (a quote)
_KEY_DEPTH = 4  # documents inside strings looked into (a shipper's wrapper, and ones around it)


def object_key(data: bytes, quote: int, line: Optional[tuple[int, int]] = None,
               lines: Optional[dict[int, dict[int, bool]]] = None) -> bool:
    """Whether the JSON string that opens at ``data[quote]`` (a quote of one line of ``data``, before "hmac-sha256:"
    or a misspelling of it) is an object's key: its closing quote is followed by a colon. The string closes at the
    first quote after it that no backslash escapes, so an escaped quote inside it is its own ("hmac-sha256:k\\":x" is
    a value, "hmac-sha256:a\\"b" a key). A quote written escaped (\\", inside a string of the line) opens a key only
    where that string holds a JSON document (a line a shipper carries in a string: Filebeat's message) in which it
    opens one (``keys_in``); a message that quotes such text ('... \\"hmac-sha256:k\\" : ...') is no document, and
    its text a value. A string the line ends in (a cut line), or one not followed by a colon: no key. ``line``: the
    line's (start, end) in ``data``, when the caller knows them; ``lines``: the answers of ``keys_in`` kept by line
    start (a line of many such quotes is read once)."""
    if line is None:
        found = data.find(b"\n", quote)
        line = (data.rfind(b"\n", 0, quote) + 1, len(data) if found < 0 else found)
    start, end = line
    if data[quote - 1 : quote] != b"\\":
        m = _STRING.match(data, quote, end)
        return m is not None and _closes_key(data, m.end(), end, False)
    keys = lines.get(start) if lines is not None else None
    if keys is None:
        keys = keys_in(data[start:end])
        if lines is not None:
            lines[start] = keys
    return keys.get(quote - start, False)


def _closes_key(text: bytes, after: int, end: int, doc: bool) -> bool:
    """A colon follows white space after ``after`` (a string's end) in ``text``, before ``end``."""
    gap = (_GAP_DOC if doc else _GAP).match(text, after, end)
    at = gap.end() if gap is not None else after
    return text[at : at + 1] == b":"


def keys_in(text: bytes, doc: bool = False, depth: int = 0) -> dict[int, bool]:
    """For each quote of ``text`` (one line; with ``doc``, a document decoded from a string) that opens a value the
    malformed-digest scan may name (``_OPENS``), at any depth of strings inside strings: whether it opens an object's
    key. A string's own opening is judged where it stands; the ones inside a string are judged in the document the
    string holds, decoded (from its first "{"; none: no key), each string once, so the time is linear in the text
    at each of _KEY_DEPTH depths. Where decoding changes how many there are (a quote written as a \\u escape), none of
    that string's is a key."""
    out: dict[int, bool] = {}
    for m in (_DOC_STRING if doc else _STRING).finditer(text):
        s, e = m.span()
        if _OPENS.match(text, s) is not None:
            out[s] = _closes_key(text, e, len(text), doc)
        inside = [x.start() for x in _OPENS.finditer(text, s + 1, e - 1)]
        if not inside:
            continue
        found: dict[int, bool] = {}
        if depth < _KEY_DEPTH:
            try:
                value = json.loads(m.group(0))
                if not isinstance(value, str) or "{" not in value:
                    raise ValueError("no document")
                json.JSONDecoder().raw_decode(value, value.index("{"))
                inner = value.encode("utf-8", "surrogatepass")
            except ValueError:  # no JSON document: its text is a value's
                inner = b""
            if inner:
                at = [x.start() for x in _OPENS.finditer(inner)]
                if len(at) == len(inside):
                    deeper = keys_in(inner, True, depth + 1)
                    found = {raw: deeper.get(dec, False) for raw, dec in zip(inside, at)}
        for raw in inside:
            out[raw] = found.get(raw, False)
    return out


# Values Vault and OpenBao always write as digests unless the device logs raw (log_raw=true): the caller's token
# (auth.client_token, request.client_token, response.auth.client_token) and a response-wrapping token
# (response.wrap_info.token). Neither hmac_accessor nor a mount's audit_non_hmac_* keys reach them. One in clear
# means the entry was written raw: no value of it is a digest to verify, and every secret it holds is in clear.
# Matched also with its quotes escaped at any depth (a shipper's line inside a string: filebeat, Splunk, syslog).
# Two expressions, each led by a literal (several times faster than one alternation over every quote).
_RAW_TOKEN = re.compile(rb'client_token\\*":\\*"(?!hmac-sha256:|\\*")')
_RAW_WRAP = re.compile(rb'wrap_info\\*":\{[^{}]*?\\*"token\\*":\\*"(?!hmac-sha256:|\\*")')
_RAW_FIX = ("re-create the audit device without log_raw (log_raw=false) and rotate every token and secret the "
            "log holds; until then restrict and purge the log")
# The accessor of the request's token (request.client_token_accessor), which the vault digests unless the device
# sets hmac_accessor=false (Vault/OpenBao audit device options): in clear, anyone who reads the log can look up,
# renew or revoke the token it names (auth/token/lookup-accessor, revoke-accessor). A device setting, judged from
# the log where the device's options cannot be asked (offline); the live run also names the option
# (log_protection).
_CLEAR_ACCESSOR = re.compile(rb'client_token_accessor\\*":\\*"(?!hmac-sha256:|\\*")')
_HOLDERS = 100_000  # token holders (a token digest and who it names) remembered at most, in memory and time
_TWO_FIX = ("judge the log the vault wrote: find the hop or hand that rewrote the entry's token digests (compare "
            "with the vault's own file or a sealed copy)")
_ACCESSOR_FIX = ("re-create the audit device without hmac_accessor=false (the default digests accessors); until then "
                 "restrict who reads this log")


# -- digests a hop removed ------------------------------------------------------------------------------------
# Vault and OpenBao write, in every entry made with a token, the token's digest and its accessor's first in the
# entry's auth object ({"client_token":"hmac-sha256:…","accessor":"…",…}; Vault 1.18+ in alphabetical order,
# accessor first); a response that issues a token (response.auth, a login) and a wrapped response
# (response.wrap_info) likewise; and every entry has an auth object (an unauthenticated one: {"token_type":
# "default"}). hmac_accessor=false writes the accessor in clear and log_raw=true the token: both still there. A
# block where all of that holds in the plain shape is done in one Hyperscan pass (``_SUSPECT``); the lines of any
# other block that break the shape (``_LOCATE``: an entry without a token, a key order a shipper changed, a field a
# hop dropped or blanked) are read whole and judged (``_judge``, which also judges their request.client_token).
def _digest_escaped(data: bytes, quote: int) -> bool:
    """Whether the value opening at ``data[quote]`` (a plain quote) is a digest, or empty, written with \\u
    escapes."""
    if data[quote : quote + 1] != b'"' or data[quote - 1 : quote] == b"\\":
        return False
    value = _escaped_value(data, quote)
    return value is not None and (value.startswith(HMAC_PREFIX) or not value)


def _not_prefix(word: bytes) -> bytes:
    """An expression for text that does not start with ``word`` (Hyperscan has no lookahead)."""
    alts = []
    for i in range(len(word)):
        ch = word[i : i + 1]
        alts.append(re.escape(word[:i]) + b"[^" + (b"\\" + ch if ch in b"\\]^-" else ch) + b"]")
    return b"(?:" + b"|".join(alts) + b")"


def _pair_broken(key: bytes) -> bytes:
    """After an object's "{": neither '"KEY":"<v>","accessor":"<v>' (the order OpenBao and Vault before 1.18 write)
    nor '"accessor":"<v>","KEY":"<v>' (Vault 1.18+ writes fields in alphabetical order); values non-empty, no
    escape."""
    value = rb'[^"\\]+'
    alts = [b'[^"]', b'"[^' + key[:1] + b"a]"]
    for first, second in ((key, b"accessor"), (b"accessor", key)):
        head = first + b'":"'
        alts += [
            b'"' + first[:1] + _not_prefix(head[1:]),
            b'"' + re.escape(head) + rb'["\\]',
            b'"' + re.escape(head) + value + rb"\\",
            b'"' + re.escape(head) + value + b'"' + _not_prefix(b',"' + second + b'":"'),
            b'"' + re.escape(head) + value + b'","' + second + rb'":"["\\]',
        ]
    return b"(?:" + b"|".join(alts) + b")"


_SUSPECT = (
    rb'"auth":\{' + _pair_broken(b"client_token"),
    rb'"wrap_info":\{' + _pair_broken(b"token"),
    rb'"type":"(?:request|response)",' + _not_prefix(b'"auth":{'),
    rb'\\+"auth\\+":\{',  # a line carried inside a string (a shipper's wrapper): read by _LOCATE
)
_Q = rb'\\*"'  # a quote, escaped at any depth


def _pair(first: bytes, second: bytes) -> bytes:
    """'"FIRST":"<v>","SECOND":"<v>', quotes escaped at any depth."""
    return (_Q + first + _Q + b":" + _Q + rb'[^"\\]+' + _Q + b"," + _Q + second + _Q + b":" + _Q + rb'[^"\\]')


# (each alternative led by a literal: several times faster than one led by the optional escapes of its quote)
_LOCATE = re.compile(
    b"auth" + _Q + rb":\{(?!" + _pair(b"client_token", b"accessor") + b"|" + _pair(b"accessor", b"client_token")
    + b")|wrap_info" + _Q + rb":\{(?!" + _pair(b"token", b"accessor") + b"|" + _pair(b"accessor", b"token")
    + b")|type" + _Q + b":" + _Q + b"(?:request|response)" + _Q + b",(?!" + _Q + b"auth" + _Q + rb":\{)"
)


def suspects() -> Optional[Callable[[bytes], Optional[list[int]]]]:
    """Where ``_SUSPECT`` matches in a block, in one Hyperscan pass (compiled once, in a child, or loaded from the
    cache): the end offsets of its plain-shape matches, or None when a line carried inside a string may break the
    shape (then ``_LOCATE`` reads the whole block). None without Hyperscan."""
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency
        return None
    from ..scan.hyperscan import block_db

    db = block_db(tuple(_SUSPECT), "integrity_digest.suspects")
    escaped = len(_SUSPECT) - 1

    def where(data: bytes) -> Optional[list[int]]:
        ends: list[int] = []
        carried: list[int] = []

        def hit(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> Optional[bool]:
            if pattern == escaped:
                carried.append(end)
                return True  # stop: the whole block is read
            ends.append(end)
            return None

        try:
            db.scan(data, match_event_handler=hit)
        except hyperscan.ScanTerminated:  # the handler stopped the scan (a carried line): the whole block is read
            pass
        return None if carried else ends

    return where


_TOKEN_TYPES = ("service", "batch")
_UNAUTHENTICATED = ("entries made without a token the vault accepted (a login, an unauthenticated endpoint, a refused "
                    "unknown token): the vault writes no digest of a caller's token in them")
_SELF_TEST = "the audit device's own self-test write (sys/audit/test), made without a token"
_STRIP_FIX = ("ship the vault's lines unchanged: remove the processor or filter that drops or blanks them (Filebeat "
              "drop_fields, Fluent Bit/Vector remove_keys, Logstash mutate remove_field, a SIEM field filter, jq "
              "del()); they are HMAC digests and reveal no token, and without them an entry cannot be tied to the "
              "token that made it. Judge the log the vault wrote")
# Vault Enterprise 1.18+ lets an audit device drop fields itself: its `exclude` option (JSON pointers such as
# /auth/client_token, developer.hashicorp.com/vault/docs/enterprise/audit/exclusion) deletes them from the entry
# before it is written. The entry is the same as one a shipper's filter dropped them from (red team rt64 F3).
_EXCLUDED = ", or (Vault Enterprise 1.18+) the audit device itself, through an exclude option naming them"
_EXCLUDED_FIX = ("; if the device excludes them (`vault audit list -detailed` shows its exclude option), enable a "
                 "device whose exclude list leaves out the token digests and accessors (/auth/client_token, "
                 "/auth/accessor, /request/client_token, /request/client_token_accessor, /response/auth/...)")


def _entry_in(obj: Any, depth: int = 0) -> Optional[dict[str, Any]]:
    """The Vault/OpenBao entry in a decoded line: the object itself, or one a shipper's wrapper carries in a
    string or an object (Filebeat's message, Elasticsearch's event.original, Splunk's result._raw)."""
    if isinstance(obj, str):
        start = obj.find("{")
        if start < 0 or depth > 4:
            return None
        try:
            obj = json.loads(obj[start:])
        except ValueError:
            return None
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("type"), str) and isinstance(obj.get("request"), dict):
        return obj
    if depth < 4:
        for value in obj.values():
            if isinstance(value, (dict, str)):
                found = _entry_in(value, depth + 1)
                if found is not None:
                    return found
    return None


def _has(obj: dict[str, Any], key: str) -> bool:
    """Whether ``obj`` holds ``key`` as the vault writes a digest or accessor: non-blank text (a number, object or
    array in its place is a hop's rewrite, not a value the vault wrote)."""
    v = obj.get(key)
    return isinstance(v, str) and not v.isspace() and v != ""


def _holds_token(auth: dict[str, Any]) -> bool:
    """Whether an auth object describes a token the vault accepted (its type, or, where a hop dropped the type
    too, the policies, name or entity only a token has)."""
    if "token_type" in auth:
        return auth.get("token_type") in _TOKEN_TYPES
    return any(auth.get(k) for k in ("policies", "token_policies", "display_name", "entity_id"))


# OpenBao's inline authentication (X-Vault-Inline-Auth-* headers, OpenBao 2.x): a login sent with the request itself,
# whose token "is not stored" (openbao.org/docs/auth, "Inline authentication"), so it gets no accessor: the request
# made with it names the token's digest and no accessor, right after the login's entries on the same connection,
# whose response issued that token (red team rt88 F2). An entry missing exactly its accessors is excused where such a
# login went before it; a hop that took the accessors out of any other entry is still found.
INLINE_AUTH = ("a request made with an inline-authentication token (OpenBao's X-Vault-Inline-Auth-*: the token is "
               "not stored, so it has no accessor), issued by the login just before it on the same connection")
_ACCESSORS = ["auth.accessor", "request.client_token_accessor"]
INLINE_LOOKBACK = 1 << 18  # bytes before a block kept to find such a login (its entries come right before the request)


def _inline(e: dict[str, Any], before: bytes) -> bool:
    """Whether an entry that names a token but no accessor follows, in ``before`` (the log's text up to it), the
    response of a login that issued that token on the same connection (``INLINE_AUTH``)."""
    auth, request = e.get("auth"), e.get("request")
    if not isinstance(auth, dict) or not isinstance(request, dict):
        return False
    token = auth.get("client_token")
    if not isinstance(token, str) or not HMAC_RE.match(token) or request.get("client_token") != token:
        return False
    needle = b'"client_token":"' + token.encode("ascii") + b'"'
    at = before.rfind(needle)
    while at >= 0:
        start = before.rfind(b"\n", 0, at) + 1
        end = before.find(b"\n", at)
        login = _parsed(before[start : end if end >= 0 else len(before)])
        asked = login.get("request") if login is not None else None
        answer = login.get("response") if login is not None else None
        minted = answer.get("auth") if isinstance(answer, dict) else None
        if (isinstance(asked, dict) and isinstance(minted, dict) and login is not None
                and login.get("type") == "response" and _login(asked) and minted.get("client_token") == token):
            return all(asked.get(k) == request.get(k) for k in ("remote_address", "remote_port"))
        at = before.rfind(needle, 0, start)
    return False


def _judge(e: dict[str, Any]) -> tuple[str, list[str]]:
    """("", missing fields) for an entry that must carry token digests, or (the excuse rule, []) for one that
    carries none to judge."""
    auth = e.get("auth")
    request = e.get("request") if isinstance(e.get("request"), dict) else {}
    assert isinstance(request, dict)
    response = e.get("response") if isinstance(e.get("response"), dict) else {}
    assert isinstance(response, dict)
    if not isinstance(auth, dict):
        return "", ["auth (the whole object)"]
    missing: list[str] = []
    minted = response.get("auth") if isinstance(response.get("auth"), dict) else None
    if _holds_token(auth):
        batch = auth.get("token_type") == "batch"
        missing += [f"auth.{k}" for k in ("client_token", "accessor")
                    if not _has(auth, k) and (k != "accessor" or not batch)]
        # A login's response names the token it issued in auth too (the same digest as response.auth's, or, wrapped,
        # with none in response.auth); its request carried none. A response that issues another token
        # (auth/token/create) was asked with one.
        issued_here = minted is not None and minted.get("client_token") == auth.get("client_token")
        if not _login(request) and not issued_here:
            missing += [f"request.{k}" for k in ("client_token", "client_token_accessor")
                        if not _has(request, k) and (k == "client_token" or not batch)]
    elif request.get("path") == "sys/audit/test" and not request.get("client_token"):
        rule = _SELF_TEST
    else:
        rule = _UNAUTHENTICATED
    if minted is not None and not minted.get("mfa_requirement") and minted.get("token_type", "service") in _TOKEN_TYPES:
        batch = minted.get("token_type") == "batch"
        # a renewal by accessor answers with the renewed token's auth, its client_token blanked by the vault itself
        # (token_store.go handleRenewAccessor; the API docs' sample shows "client_token": ""): only its accessor
        blanked = request.get("path") == "auth/token/renew-accessor"
        missing += [f"response.auth.{k}" for k in ("client_token", "accessor")
                    if not _has(minted, k) and (k != "accessor" or not batch) and (k != "client_token" or not blanked)]
    wrap = response.get("wrap_info")
    if isinstance(wrap, dict):
        missing += [f"response.wrap_info.{k}" for k in ("token", "accessor") if not _has(wrap, k)]
    if missing or _holds_token(auth):
        return "", missing
    return rule, []


# The requests whose successful response issues a token, which the vault writes into the response entry (as its
# digest, response.auth.client_token; response.wrap_info.token when the answer was wrapped): a login (and an OIDC
# login's callback) and a token's creation; and any request asked with wrap_ttl, whose answer is a wrapping token.
_TOKEN_CREATE = re.compile(r"auth/token/create(?:-orphan)?(?:/[^/]+)?\Z")
# (by the path alone: a superset of the requests ``_unissued`` judges, which reads a login within its mount)
_ISSUES = re.compile(rf"{_TOKEN_CREATE.pattern}|auth/.+/login(?:/[^/]+)?\Z|auth/.+/oidc/callback\Z")
_ISSUING_MARKS = (b"auth/token/create", b"/login", b"/oidc/callback", b'"wrap_ttl":')
_MINTED = "response.auth (the token it issued)"
_WRAPPED = "response.wrap_info (the wrapping token asked for with wrap_ttl)"


def _unissued(e: dict[str, Any]) -> str:
    """What a successful response entry lacks of the token its request issues (``_ISSUES``; a read or list asked
    with wrap_ttl), or "": the whole object that holds it (a field of one that is there is ``_judge``'s). A write
    asked with wrap_ttl may answer nothing, which is not wrapped."""
    response = e.get("response") if isinstance(e.get("response"), dict) else None
    request = e.get("request") if isinstance(e.get("request"), dict) else None
    if e.get("type") != "response" or response is None or request is None or e.get("error"):
        return ""
    data = response.get("data")
    if isinstance(data, dict) and data.get("error"):
        return ""
    if isinstance(response.get("wrap_info"), dict):
        return ""  # its digests are _judge's
    path = request.get("path")
    minted = response.get("auth")
    if isinstance(path, str) and (_TOKEN_CREATE.match(path) is not None or _login(request, issuing=True)):
        return "" if isinstance(minted, dict) else _MINTED  # (its fields, and an MFA step's lack of them: _judge's)
    return ""


# A read or list asked with wrap_ttl whose response entry holds nothing: the vault wraps only an answer there is ("We
# are wrapping if there is anything to wrap (not a nil response)", request_handling.go), and a read of a path that
# holds nothing answers nothing (404): no wrapping token to log. A hop that took out response.wrap_info would leave
# the same entry, which nothing in it tells apart (red team rt94 F4: a real wrapped read of a missing secret failed).
NOTHING_WRAPPED = ("a read or list asked with wrap_ttl whose response holds nothing: the vault wraps only an answer "
                   "there is, and a read of a path that holds nothing (404) answers nothing")


def _nothing_wrapped(e: dict[str, Any]) -> bool:
    """Whether ``e`` is the response entry of a read or list asked with wrap_ttl that holds no answer at all."""
    response, request = e.get("response"), e.get("request")
    return (e.get("type") == "response" and isinstance(response, dict) and isinstance(request, dict)
            and bool(request.get("wrap_ttl")) and request.get("operation") in ("read", "list")
            and not e.get("error") and not any(k in response for k in ("data", "auth", "wrap_info", "secret")))


def _cut(data: bytes, quote: int) -> bool:
    """Whether the string value opening at ``data[quote]`` runs to its line's end unclosed: a line a hop cut inside
    it (what it holds is the start of a value, a digest's too, not a value in clear: required_fields names the
    line)."""
    close = data.find(b'"', quote + 1)
    newline = data.find(b"\n", quote + 1)
    return close < 0 or 0 <= newline < close


# JSON the vault does not write but a hop may: a key's colon with JSON's blanks around it (Python's json.dumps
# default, a pretty printer kept on one line; a carriage return is JSON whitespace too), and a printable ASCII
# character written as a \u escape (Go's encoder escapes only <, > and & so, besides control characters: a
# re-encoder that escapes every character, or a key or digest spelled to hide it). The byte tests below read the
# vault's compact form; such a line is judged in that form (``_compact``).
_LOOSE_EXPRS = (rb'"[ \t\r]*:[ \t\r]', rb'"[ \t\r]+:', rb"\\u00(?:2[0-57-9a-fA-F]|3[0-9abdfABDF]|[4-7][0-9a-fA-F])")
_LOOSE_RE = re.compile(b"|".join(_LOOSE_EXPRS))
_LOOSE_HS: list[Callable[[bytes], bool]] = []


def _loose_py(data: bytes) -> bool:
    """Whether ``data`` may hold a line in a JSON form other than the vault's compact one (``_LOOSE_RE``)."""
    return _LOOSE_RE.search(data) is not None


def _loose(data: bytes) -> bool:
    """``_loose_py``, by the C extension's loose_form (the same rule at memchr speed) when it is built, else in one
    Hyperscan pass."""
    from ..scan import native

    lib = native.lib
    if lib is not None:
        return bool(lib.loose_form(data))
    if not _LOOSE_HS:
        from ..scan.hyperscan import any_match

        _LOOSE_HS.append(any_match(_LOOSE_EXPRS, native=False) or _loose_py)
    return _LOOSE_HS[0](data)


def _compact(data: bytes) -> bytes:
    """``data`` with each line that is not in the vault's compact form written in it: the Vault/OpenBao entry it
    holds (carried in a shipper's record too) as compact JSON, one line for one, so that line numbers stay. A line
    that holds no readable entry stays as it is."""
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if _loose(line):
            e = _parsed(line)
            if e is not None:
                lines[i] = json.dumps(e, separators=(",", ":")).encode()
    return b"\n".join(lines)


def _line_starts(data: bytes, last: int) -> list[int]:
    """The offsets where lines 0 to ``last`` of ``data`` (whole lines) begin; fewer when it holds fewer."""
    starts = [0]
    pos = data.find(b"\n")
    while pos >= 0 and len(starts) <= last:
        starts.append(pos + 1)
        pos = data.find(b"\n", pos + 1)
    return starts


def _parsed(line: bytes) -> Optional[dict[str, Any]]:
    """The Vault/OpenBao entry a raw line holds (after any framing before its "{"), or None."""
    try:
        return _entry_in(json.loads(line[line.find(b"{"):]) if b"{" in line else None)
    except (ValueError, RecursionError):
        return None


def _lone(e: dict[str, Any]) -> bool:
    """Whether the entry's auth names a token (its digest) and its request names none (as text), or its auth's
    accessor is blank: what ``DigestFormat.entries`` tells from decoded columns."""
    auth, request = e.get("auth"), e.get("request")
    if not isinstance(auth, dict):
        return False
    asked = request.get("client_token") if isinstance(request, dict) else None
    accessor = auth.get("accessor")
    return ((bool(auth.get("client_token")) and not (isinstance(asked, str) and asked))
            or (isinstance(accessor, str) and accessor.isspace()) or bool(_two_tokens(e)) or _ssct(e) is not None)


def _other_holder(mine: tuple[str, ...], held: tuple[str, ...]) -> str:
    """What an entry's token names (display name, entity id, accessor, token policies) otherwise than its first
    entry did, where both name it ("" for nothing)."""
    return "; ".join(f"{field} {a!r} here and {b!r} there" for field, a, b in zip(
        ("display name", "entity id", "accessor", "token policies"), mine, held[:4])
        if a and b and a != b and (field != "accessor" or comparable(a, b)))  # (a malformed one: _MALFORMED's)


def _consistent_pair(token: str, asked: str, accessor: str, named: str) -> bool:
    """Whether an entry's auth.client_token ``token``, request.client_token ``asked``, auth.accessor ``accessor`` and
    request.client_token_accessor ``named`` have the shape HashiCorp Vault (1.10+) writes for a request made with a
    server-side consistent token (SSCT, ``hvs.CAES…``): two different token digests (or two values in clear) and
    one accessor in both places (``_ssct``)."""
    return (bool(token) and bool(asked) and token != asked and bool(accessor) and accessor == named
            and not accessor.isspace() and comparable(token, asked) and comparable(accessor, named))


def _ssct(e: dict[str, Any]) -> Optional[tuple[str, str]]:
    """(auth.client_token, request.client_token) of an entry in the shape Vault writes for a request made with a
    server-side consistent token, or None. vault/request_handling.go PopulateTokenEntry keeps the token the client
    sent (req.InboundSSCToken) and sets req.ClientToken to the SSCT's inner token, whose entry gives both accessors
    (req.ClientTokenAccessor = te.Accessor, and the auth built from it); audit/entry_formatter.go then writes "If the
    request contains a Server-Side Consistency Token (SSCT), and we have an auth response, overwrite the existing
    client token with the SSCT" (data.Auth.ClientToken = data.Request.InboundSSCToken). So auth.client_token is the
    HMAC of the SSCT and request.client_token that of its inner token, with the same accessor digest in both
    (support.hashicorp.com article 360000995548, "Vault CLI with Token Example", red team rt64 F1). Such a pair is
    held to the rest of the log instead (``DigestFormat._pair``): an SSCT has one inner token, which no entry uses
    as a token of its own."""
    auth, request = e.get("auth"), e.get("request")
    if not isinstance(auth, dict) or not isinstance(request, dict):
        return None
    token, asked = auth.get("client_token"), request.get("client_token")
    accessor, named = auth.get("accessor"), request.get("client_token_accessor")
    if not (isinstance(token, str) and isinstance(asked, str) and isinstance(accessor, str) and isinstance(named, str)):
        return None
    return (token, asked) if _consistent_pair(token, asked, accessor, named) else None


def _used_as_itself(inner: Optional[tuple[str, int]], outer: Optional[tuple[str, int]]) -> str:
    """What breaks an SSCT pair (``_ssct``) whose inner token (request.client_token) another entry names in its auth
    (``inner``: where) or whose SSCT another entry names in its request (``outer``): "" for nothing. A client holds
    the SSCT alone, and the vault writes its inner token in the request alone."""
    if inner is not None:
        return (f"its request.client_token names the token {inner[0]}:{inner[1]} was made with, in its auth, where "
                "here another token is named in auth")
    if outer is not None:
        return (f"its auth.client_token names the token {outer[0]}:{outer[1]} was made with, in its request too, where "
                "here another token is named in the request")
    return ""


def _two_tokens(e: dict[str, Any]) -> str:
    """Which of the entry's auth and request name another token ("" for none): auth.client_token and
    request.client_token, or auth.accessor and request.client_token_accessor, two well-formed digests (or two values
    in clear) that differ. The vault writes both from the one token a request was made with (openbao
    audit/hashstructure.go: auth from the token's entry, the request's from the request), but in a login's entries,
    whose auth describes the token the login issued: those are not judged. A response that creates, renews or
    unwraps a token names its caller in auth (the token issued is in response.auth), and is judged. The accessor
    pair was not compared, and an entry given another token's accessor passed (red teams rt45 F2, rt48 F4). Two
    token digests with one accessor are the shape Vault writes for a server-side consistent token (``_ssct``), held
    to the rest of the log instead."""
    auth, request = e.get("auth"), e.get("request")
    if not isinstance(auth, dict) or not isinstance(request, dict) or _login(request):
        return ""
    for mine, theirs in (("client_token", "client_token"), ("accessor", "client_token_accessor")):
        if mine == "client_token" and _ssct(e) is not None:
            continue
        a, b = auth.get(mine), request.get(theirs)
        if (isinstance(a, str) and isinstance(b, str) and a and b and a != b
                and (HMAC_RE.match(a) is not None) == (HMAC_RE.match(b) is not None)
                and (HMAC_RE.match(a) is not None or not a.startswith("hmac-"))):
            return f"auth.{mine} is not its request.{theirs}"
    return ""


def _hop(line: bytes, e: dict[str, Any], missing: list[str]) -> str:
    """Which kind of hop the line shows."""
    if any(m.count(".") and _typed(e, m) for m in missing):
        return "replaced by a value that is not text (a number, object or array: a hop's type conversion or mapping)"
    blank = [m for m in missing if m.count(".") and _blank(e, m)]
    if blank:
        return "blanked (present and empty: a masking or redaction rule)"
    if HMAC_PREFIX.encode() not in line:
        return ("dropped, and the line holds no digest at all (a shipper's processor or a SIEM filter that removes "
                "HMAC'd values, or drops these fields by name)")
    return "dropped by name (a field filter or jq del() that keeps the other digests)"


def _at(e: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in ``e``, or KeyError (the class) when nothing is there."""
    obj: Any = e
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return KeyError
        obj = obj[part]
    return obj


def _blank(e: dict[str, Any], dotted: str) -> bool:
    v = _at(e, dotted)
    return v is None or (isinstance(v, str) and not v.strip())


def _typed(e: dict[str, Any], dotted: str) -> bool:
    v = _at(e, dotted)
    return v is not KeyError and v is not None and not isinstance(v, str)


_AUTH_OF, _REQUEST_OF = attrgetter("auth"), attrgetter("request")
_STARTS_AUTH = methodcaller("startswith", "auth/")


class DigestFormat(Visitor):
    """Every string value that starts with 'hmac-sha256:' is followed by exactly 64 lowercase hex digits, and (in a
    Vault/OpenBao log) none starts with a misspelling of that prefix, no token the vault always digests is in clear,
    and no entry made with a token lacks its digests.

    The request's own copy of the caller's token digest (request.client_token) sits far from the auth object the
    one-pass shape test reads, so a hop that drops only it leaves that shape whole. Every entry whose auth names a
    token and whose request names none is therefore judged too: found in the decoded columns (the token fields of
    offline/reader.py's structs, C-speed passes; only such entries, logins' responses mostly, are read whole), or,
    for a block read line by line, in its text."""

    stays = ("held", "this_block", "last_block")  # blocks' raw text, judged in the process that read them

    def __init__(self, ctx: CheckContext) -> None:
        self.held: Optional[tuple[str, int, bytes]] = None  # the block whose entries come next (``entries``)
        self.judged: set[int] = set()  # lines of that block ``_stripped`` judged already
        self.bad: list[tuple[str, int, str]] = []  # (file, line, shown) of the first few
        self.count = 0
        self.request_ids: dict[int, str] = {}
        # per block, in one pass: bit 1, a malformed digest may be there (_MALFORMED then finds where); bit 2, a
        # token the vault always digests may be in clear (_RAW_TOKEN and _RAW_WRAP then find where)
        self.flags = digest_checks()
        self.format = format_of(ctx.settings)
        self.seen = False  # any digest at all
        self.raw: list[tuple[str, int]] = []  # (file, line) of the first few entries written raw
        self.raw_count = 0
        self.clear: list[tuple[str, int]] = []  # (file, line) of the first few with a token accessor in clear
        self.clear_count = 0
        # entries a hop took token digests from: (file, line, request id, what is missing, which kind of hop)
        self.stripped: list[tuple[str, int, str, str, str]] = []
        self.stripped_count = 0
        self.this_block = self.last_block = b""  # the block being read and the one before it, for ``_inline``
        self.later = False  # a later range of a file (``later_range``)
        self.unsure = False  # it found an entry without accessors in its first block that ``_inline`` did not excuse
        # entries whose auth and request name two tokens (``_two_tokens``): (file, line, request id)
        self.two: list[tuple[str, int, str, str]] = []
        self.two_count = 0
        # Vault's server-side consistent tokens (``_ssct``): each inner token digest (request.client_token) -> the
        # SSCT digest (auth.client_token) and (file, line, request id) of its first such entry, and each SSCT digest ->
        # its inner token's; every token digest some entry names in auth.client_token -> (file, line) of the first;
        # the entries that break these (file, line, request id, what), judged at the end (``_ssct_breaks``)
        self.inner: dict[str, tuple[str, str, int, str]] = {}
        self.outer: dict[str, tuple[str, str, int, str]] = {}
        self.authed: dict[str, tuple[str, int]] = {}
        self.selfed: dict[str, tuple[str, int]] = {}  # tokens an entry names alike in auth and request: the first
        self.broken: list[tuple[str, int, str, str]] = []
        self.broken_count = 0
        # each token digest's holders in the order first seen: (token, display name, entity id, accessor, token
        # policies) -> (file, line, request id) of its first entry; judged at the end (``_swapped``), so that ranges
        # merged in order judge as one pass does
        self.holders: dict[tuple[str, str, str, str, str], tuple[str, int, str]] = {}
        self.known: set[str] = set()  # senders (Record.sender and policies) recorded already
        self.offline = ctx.ledger is None  # no vault to ask for its digests: their form alone is judged
        # the C extension answers the flags and the suspects in one walk over the block's quotes (digest_walk),
        # where the flags' walk and a Hyperscan pass would read it twice
        from ..scan import native

        self.walk = native.lib.digest_walk if native.lib is not None and self.format.hmac_values else None
        self.suspect = suspects() if self.format.hmac_values and self.walk is None else None

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if self.held is not None:  # a block none of whose lines was an entry: read it as text
            self._tokens_text(*self.held)
        self.judged = set()
        if self.format.hmac_values and _loose(data):
            data = _compact(data)
        self.last_block, self.this_block = self.this_block, data
        if self.format.hmac_values:
            self.held = (file, first_line, data)
        ends: Optional[list[int]]
        if self.walk is not None:
            flags, ends = self.walk(data)
        else:
            flags = self.flags(data) if self.flags is not None else 7
            ends = self.suspect(data) if self.suspect is not None and self.format.hmac_values else None
        if self.format.hmac_values:
            raw = self._raw(file, first_line, data) if flags & 2 else set()
            if flags & 4:  # an entry written raw holds its accessor in clear too: said once, as raw
                self._clear_accessor(file, first_line, data, raw)
            if ends is None:
                self._stripped(file, first_line, data, _LOCATE.finditer(data))
            elif ends:
                self._stripped(file, first_line, data, ((e - 1, e) for e in sorted(ends)))
        if b"hmac-sha256:" in data:
            self.seen = True
        if not flags & 1:
            return
        line, pos = first_line, 0
        keys: dict[int, dict[int, bool]] = {}  # (object_key's, by line start)
        bounds = (0, -1)  # the line of the last match: (start, end)
        for m in (_MALFORMED_OR_MISSPELLED if self.format.hmac_values else _MALFORMED).finditer(data):
            escaped = _escaped_value(data, m.start())
            if escaped is not None and HMAC_RE.match(escaped):
                continue  # a well-formed digest with characters written as \u escapes
            if m.start() > bounds[1]:
                found = data.find(b"\n", m.start())
                bounds = (data.rfind(b"\n", 0, m.start()) + 1, len(data) if found < 0 else found)
            if object_key(data, m.start(), bounds, keys):
                continue  # a map's key, which the vault never digests (a KV secret's key "hmac-sha256:k")
            cut = _HEX_RUN.match(data, m.end()).end()  # type: ignore[union-attr]  # matches the empty run too
            if cut == len(data) or data[cut : cut + 1] in (b"\n", b"\r") or _NEXT_FRAME.match(data, cut):
                continue  # the line ends inside the digest: a line a hop cut, which required_fields names (in an
                # octet-counted stream the next message's count and PRI follow: syslog._frames)
            if data.find(b"{", data.rfind(b"\n", 0, m.start()) + 1, m.start()) < 0:
                continue  # in no JSON object: the rest of an entry a hop cut (rsyslog took "hmac-sha256:" for the
                # tag of a message of its own), or no entry at all, which required_fields names
            self.count += 1
            if len(self.bad) >= _SHOW:
                continue
            line += data.count(b"\n", pos, m.start())
            pos = m.start()
            end = data.find(b'"', m.start() + 1, m.start() + 300)
            value = data[m.start() + 1 : end if end > 0 else m.start() + 40].decode("utf-8", "replace")
            self.bad.append((file, line, f"{clip(value, 24)!r}, {len(value)} chars"))
            self.request_ids[line] = ""

    def _raw(self, file: str, first_line: int, data: bytes) -> set[int]:
        """Count the lines of ``data`` with a value the vault always digests written in clear (``_RAW_TOKEN``,
        ``_RAW_WRAP``); their starts."""
        matches = list(_RAW_TOKEN.finditer(data))
        if b"wrap_info" in data:
            matches += _RAW_WRAP.finditer(data)
        starts = {data.rfind(b"\n", 0, m.start()) + 1 for m in matches
                  if not _digest_escaped(data, m.end() - 1) and not _cut(data, m.end() - 1)}
        self.raw_count += self._shown(self.raw, file, first_line, data, starts)
        return starts

    def _shown(self, into: list[tuple[str, int]], file: str, first_line: int, data: bytes, starts: set[int]) -> int:
        """Add to ``into`` the (file, line) of the lines of ``data`` starting at ``starts``, up to _SHOW in all (each
        line shown is named without a request id); how many lines ``starts`` holds."""
        for ls in sorted(starts)[: max(0, _SHOW - len(into))]:
            line = first_line + data.count(b"\n", 0, ls)
            into.append((file, line))
            self.request_ids[line] = ""
        return len(starts)

    def _clear_accessor(self, file: str, first_line: int, data: bytes, raw: set[int]) -> None:
        """Count the lines of ``data`` with a token accessor in clear (``_CLEAR_ACCESSOR``), but those at ``raw``
        (written raw)."""
        starts = {data.rfind(b"\n", 0, m.start()) + 1 for m in _CLEAR_ACCESSOR.finditer(data)
                  if not _digest_escaped(data, m.end() - 1) and not _cut(data, m.end() - 1)} - raw
        self.clear_count += self._shown(self.clear, file, first_line, data, starts)

    def _stripped(self, file: str, first_line: int, data: bytes, spans: Iterable[Any], lone: bool = False) -> None:
        """Judge the lines of ``data`` at ``spans`` (regex matches, or (first, end) offsets of a match, in file order)
        that break the shape of an entry with its token digests: excuse those made without a token, count those a
        hop took digests from. ``lone``: judge only entries whose auth names a token and whose request names none
        (what ``entries`` finds in decoded columns)."""
        seen = -1
        line_no, counted = first_line, 0
        for span in spans:
            at, stop = (span.start(), span.end()) if isinstance(span, re.Match) else span
            start = data.rfind(b"\n", 0, at) + 1
            if start <= seen:
                continue
            seen = start
            line_no += data.count(b"\n", counted, start)
            counted = start
            if line_no in self.judged:
                continue
            end = data.find(b"\n", stop)
            line = data[start : end if end >= 0 else len(data)]
            e = _parsed(line)
            if e is None:
                continue  # not an entry (required_fields names an unreadable line)
            if lone:
                self._self_used(e, file, line_no)
                if not _lone(e):
                    continue
            self.judged.add(line_no)
            which = _two_tokens(e)
            if which:
                self.two_count += 1
                if len(self.two) < _SHOW:
                    request = e.get("request")
                    rid = request.get("id", "") if isinstance(request, dict) else ""
                    self.two.append((file, line_no, str(rid or ""), which))
            pair = _ssct(e)
            if pair is not None:
                request = e.get("request")
                rid = request.get("id", "") if isinstance(request, dict) else ""
                self._pair(pair[0], pair[1], file, line_no, str(rid or ""))
            rule, missing = _judge(e)
            if rule:
                self.excuse(rule)
                continue
            if not missing:
                continue
            if missing == _ACCESSORS and _inline(e, self._before(data, start)):
                self.excuse(INLINE_AUTH)
                continue
            if missing == _ACCESSORS and self.later and not self.last_block:
                self.unsure = True  # its login may end the range before: ``merge`` declines
            self.stripped_count += 1
            if len(self.stripped) < _SHOW:
                request = e.get("request")
                rid = request.get("id", "") if isinstance(request, dict) else ""
                self.stripped.append((file, line_no, str(rid or ""), ", ".join(missing), _hop(line, e, missing)))

    def _before(self, data: bytes, start: int) -> bytes:
        """The log's text before offset ``start`` of ``data``: the block's own, after the end of the block before it
        when ``data`` is the block being read (a login just before a block's first line: ``_inline``)."""
        if data is self.this_block and self.last_block:
            return self.last_block[-INLINE_LOOKBACK:] + b"\n" + data[:start]
        return data[:start]

    def entry(self, rec: Record) -> None:
        if self.request_ids and rec.line in self.request_ids:
            self.request_ids[rec.line] = rec.request_id

    def _self_used(self, e: dict[str, Any], file: str, line: int) -> None:
        """Remember the token an entry names alike in auth.client_token and request.client_token (a token used as
        itself, which neither side of an SSCT's pair is)."""
        auth, request = e.get("auth"), e.get("request")
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if (isinstance(token, str) and token and isinstance(request, dict) and request.get("client_token") == token
                and token not in self.selfed and len(self.selfed) < _HOLDERS):
            self.selfed[token] = (file, line)

    def _pair(self, token: str, inner: str, file: str, line: int, rid: str) -> None:
        """Hold one entry's SSCT pair (``_ssct``: auth.client_token ``token``, request.client_token ``inner``) to the
        log's others: an SSCT has one inner token and an inner token one SSCT, and no entry names the inner token
        in its auth (a client holds the SSCT alone). A pair that breaks this had one of its digests changed."""
        first = self.inner.get(inner)
        other = self.outer.get(token)
        what = _used_as_itself(self.authed.get(inner) or self.selfed.get(inner), self.selfed.get(token))
        if what:
            pass
        elif first is not None and first[0] != token:
            what = f"its request.client_token is paired with another auth.client_token at {first[1]}:{first[2]}"
        elif other is not None and other[0] != inner:
            what = f"its auth.client_token is paired with another request.client_token at {other[1]}:{other[2]}"
        if first is None and len(self.inner) < _HOLDERS:
            self.inner[inner] = (token, file, line, rid)
        if other is None and len(self.outer) < _HOLDERS:
            self.outer[token] = (inner, file, line, rid)
        if what:
            self._broke(file, line, rid, what)

    def _broke(self, file: str, line: int, rid: str, what: str) -> None:
        if any(b[0] == file and b[1] == line for b in self.broken):
            return  # (found again when a later range is merged)
        self.broken_count += 1
        if len(self.broken) < _SHOW:
            self.broken.append((file, line, rid, what))

    def _ssct_breaks(self) -> None:
        """At the end: the first SSCT pair of an inner token some entry names in its auth only after it (or in a
        later range): the same break as ``_pair`` finds in file order."""
        for inner, (token, file, line, rid) in self.inner.items():
            what = _used_as_itself(self.authed.get(inner) or self.selfed.get(inner), self.selfed.get(token))
            if what:
                self._broke(file, line, rid, what)
        for token, (_inner, file, line, rid) in self.outer.items():
            what = _used_as_itself(None, self.selfed.get(token))
            if what:
                self._broke(file, line, rid, what)

    def entries(self, batch: Entries) -> None:
        if self.format.hmac_values and (batch.decoded is not None or batch.sender is not None):
            self._holders(batch)  # first: the tokens used as themselves, which an SSCT pair's inner token is not
        if self.held is not None and batch.decoded is not None:
            self._selfed_decoded(batch)
        held, self.held = self.held, None
        if held is not None:
            items = batch.decoded
            if items is None:
                self._tokens_text(*held)
                self._issued(*held)
            else:
                # C-speed: the entries whose auth names a token (its digest) and whose request names none
                auths = list(map(_AUTH_OF, items))
                tokens = list(map(getattr, auths, repeat("client_token"), repeat("")))
                asked = list(map(getattr, map(_REQUEST_OF, items), repeat("client_token"), repeat("")))
                lone = list(compress(batch.lines, map(gt, map(bool, tokens), map(bool, asked))))
                accessors = list(map(getattr, auths, repeat("accessor"), repeat("")))
                named = list(map(getattr, map(_REQUEST_OF, items), repeat("client_token_accessor"), repeat("")))
                if tokens != asked:  # two tokens named (a login's response, mostly): read whole; an SSCT's pair
                    # (``_ssct``: one accessor) is held to the log's others from the columns
                    two = []
                    for i, (n, t, q) in enumerate(zip(batch.lines, tokens, asked)):
                        if t and q and t != q:
                            if _consistent_pair(t, q, accessors[i], named[i]):
                                self._pair(t, q, batch.file, n, batch.request_id[i])
                            else:
                                two.append(n)
                    lone = sorted({*lone, *two})
                if accessors != named:  # the same for the token's accessor
                    lone = sorted({*lone, *(n for n, a, q in zip(batch.lines, accessors, named) if a and q and a != q)})
                if any(map(str.isspace, accessors)):  # a blank accessor (masked): rare, judged too
                    lone = sorted({*lone, *compress(batch.lines, map(str.isspace, accessors))})
                if lone:
                    self._tokens_at(held, lone)
                self._issued_decoded(held, batch, items)
        if self.request_ids:
            lines = batch.lines
            for line in self.request_ids:
                if line in lines:
                    self.entry(batch.record(lines.index(line)))

    def _selfed_decoded(self, batch: Entries) -> None:
        """``_self_used`` for a decoded batch, from its columns (a token's first entry once, at C speed)."""
        items = batch.decoded
        assert items is not None
        tokens = list(map(getattr, map(_AUTH_OF, items), repeat("client_token"), repeat("")))
        asked = list(map(getattr, map(_REQUEST_OF, items), repeat("client_token"), repeat("")))
        new = set(compress(tokens, map(eq, tokens, asked))).difference(self.selfed, ("",))
        if not new or len(self.selfed) >= _HOLDERS:
            return
        for token, question, line in zip(tokens, asked, batch.lines):
            if token == question and token in new and token not in self.selfed:
                self.selfed[token] = (batch.file, line)

    def _holders(self, batch: Entries) -> None:
        """The same token digest naming two identities across entries: a token's display name, entity and accessor
        are fixed when it is made, and one device writes its digest alike in every entry, so an entry given
        another's who (both entries of a request edited alike: red team rt48 F5) shows against the token's other
        entries. A login's entries are not judged (their auth is the token the login made)."""
        known, holders = self.known, self.holders
        senders = batch.senders()
        items = batch.decoded
        for i, sender in enumerate(senders):
            if items is not None:  # (and its token policies, fixed when it is made too)
                policies = getattr(items[i].auth, "token_policies", None)
                sender += "\x1f" + (",".join(map(str, policies)) if isinstance(policies, list) else "")
            if not sender or sender in known or len(known) >= _HOLDERS or LOGIN.fullmatch(batch.resource[i]):
                continue
            known.add(sender)
            parts = sender.split("\x1f")
            if len(parts) < 4 or not parts[3]:
                continue
            name, entity, accessor, token = parts[:4]
            key = (token, name, entity, accessor, parts[4] if len(parts) > 4 else "")
            holders.setdefault(key, (batch.file, batch.lines[i], batch.request_id[i]))
            if token not in self.authed and len(self.authed) < _HOLDERS:
                self.authed[token] = (batch.file, batch.lines[i])

    def _swapped(self) -> tuple[list[tuple[str, int, str, str, str]], int]:
        """The entries whose token names another holder than its first entry did (the first few, and how many):
        each holder once, at its first entry."""
        first: dict[str, tuple[tuple[str, ...], tuple[str, int, str]]] = {}
        shown: list[tuple[str, int, str, str, str]] = []
        count = 0
        for key, at in self.holders.items():
            holder = key[1:]
            held = first.setdefault(key[0], (holder, at))
            what = _other_holder(holder, held[0])
            if what:
                count += 1
                if len(shown) < _SHOW:
                    shown.append((at[0], at[1], at[2], what, f"{held[1][0]}:{held[1][1]}"))
        return shown, count

    def _issued_decoded(self, held: tuple[str, int, bytes], batch: Entries, items: Any) -> None:
        """``_issued`` for a decoded block: the responses on an auth/ path (a login, a token's creation) and those
        asked with wrap_ttl, picked from its columns and structs; only one that carries neither response.auth nor
        response.wrap_info is read as text and judged (``_unissued``)."""
        file, first, data = held
        res = batch.resource
        # (a request on an auth/ path that issues no token, such as lookup-self, is never read as text: _unissued
        # passes it whatever its response holds)
        rows = {i for i in compress(range(len(res)), map(_STARTS_AUTH, res))
                if items[i].request is not None and _ISSUES.match(items[i].request.path) is not None}
        if any(map(getattr, map(_REQUEST_OF, items), repeat("wrap_ttl"), repeat(None))):
            rows.update(i for i, e in enumerate(items) if e.request is not None and e.request.wrap_ttl)
        picked = [batch.lines[i] for i in sorted(rows) if items[i].type == "response"
                  and items[i].response is not None and not isinstance(items[i].response.auth, dict)
                  and not isinstance(items[i].response.wrap_info, dict)]  # (a response without either: rare)
        if not picked:
            return
        starts = _line_starts(data, picked[-1] - first)
        for n in picked:
            pos = starts[n - first]
            end = data.find(b"\n", pos)
            self._note_unissued(file, n, data[pos : end if end >= 0 else len(data)])

    def _note_unissued(self, file: str, line: int, raw: bytes) -> None:
        """Count (and keep the first few of) the entry on ``raw`` if it lacks the token its request issued."""
        e = _parsed(raw)
        missing = _unissued(e) if e is not None else ""
        if e is not None and not missing and _nothing_wrapped(e):
            self.excuse(NOTHING_WRAPPED)
        if not missing or e is None:
            return
        self.stripped_count += 1
        if len(self.stripped) < _SHOW:
            request = e.get("request")
            rid = request.get("id", "") if isinstance(request, dict) else ""
            self.stripped.append((file, line, str(rid or ""), missing, _hop(raw, e, [missing])))

    def _issued(self, file: str, first: int, data: bytes) -> None:
        """The responses that issue a token (a login, auth/token/create, a wrapped read: ``_unissued``) without it,
        among the lines of the held block that name such a request (found by their text, then read whole)."""
        spans: set[tuple[int, int]] = set()
        for mark in _ISSUING_MARKS:
            pos = data.find(mark)
            while pos >= 0:
                end = data.find(b"\n", pos)
                end = len(data) if end < 0 else end
                spans.add((data.rfind(b"\n", 0, pos) + 1, end))
                pos = data.find(mark, end)
        line, counted = first, 0
        for start, end in sorted(spans):
            raw = data[start:end]
            if b'"response"' not in raw:
                continue  # a request entry (or no entry)
            line += data.count(b"\n", counted, start)
            counted = start
            self._note_unissued(file, line, raw)

    def _tokens_at(self, held: tuple[str, int, bytes], lines: list[int]) -> None:
        """Judge ``lines`` (numbers) of the held block, one object a line (a decoded block)."""
        file, first, data = held
        lines = [n for n in lines if n not in self.judged]
        if not lines:
            return
        starts = _line_starts(data, lines[-1] - first)
        self._stripped(file, first, data, ((starts[n - first], starts[n - first]) for n in lines
                                            if n - first < len(starts)), lone=True)

    def _tokens_text(self, file: str, first_line: int, data: bytes) -> None:
        """Judge every line of a block read line by line that holds a token digest key and was not judged."""
        self.held = None
        if b'client_token' not in data:
            return
        spans = []
        line, pos = first_line, 0
        at = data.find(b'client_token')
        while at >= 0:
            line += data.count(b"\n", pos, at)
            pos = at
            end = data.find(b"\n", at)
            if line not in self.judged:
                spans.append((at, at))
            if end < 0:
                break
            line += 1
            pos = end + 1
            at = data.find(b'client_token', pos)
        self._stripped(file, first_line, data, spans, lone=True)

    def later_range(self) -> None:
        self.later = True

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, DigestFormat)
        if later.unsure:
            raise NotImplementedError("an inline-authentication login may end the range before: read in one pass")
        for file, line, shown in later.bad[: _SHOW - len(self.bad)]:
            self.bad.append((file, line, shown))
            self.request_ids[line] = later.request_ids.get(line, "")
        self.count += later.count
        for file, line in later.raw[: _SHOW - len(self.raw)]:
            self.raw.append((file, line))
            self.request_ids[line] = later.request_ids.get(line, "")
        self.raw_count += later.raw_count
        for file, line in later.clear[: _SHOW - len(self.clear)]:
            self.clear.append((file, line))
            self.request_ids[line] = later.request_ids.get(line, "")
        self.clear_count += later.clear_count
        self.stripped += later.stripped[: _SHOW - len(self.stripped)]
        self.stripped_count += later.stripped_count
        self.two += later.two[: _SHOW - len(self.two)]
        self.two_count += later.two_count
        for file, line, rid, what in later.broken:
            self._broke(file, line, rid, what)
        self.broken_count += later.broken_count - len(later.broken)
        for used in (later.authed, later.selfed):
            into = self.authed if used is later.authed else self.selfed
            for token, where in used.items():
                if len(into) < _HOLDERS:
                    into.setdefault(token, where)
        for inner, (token, file, line, rid) in later.inner.items():  # a later range's pairs after this one's
            self._pair(token, inner, file, line, rid)
        for token, (inner, file, line, rid) in later.outer.items():
            if token not in self.outer:
                self._pair(token, inner, file, line, rid)
        for key, at in later.holders.items():  # a later range's holders after this one's, in order
            if len(self.holders) < _HOLDERS:
                self.holders.setdefault(key, at)
        self.seen = self.seen or later.seen
        self.merge_excused(later)

    def finish(self) -> Iterator[Any]:  # findings, a skip, a note
        if not self.seen and not self.format.hmac_values:
            own = self.format.own_integrity
            yield Skip("", f"a {self.format.title} log carries no hmac-sha256 digests"
                       + (f"; {own} are checked by tamper_evidence (and auditready verify-cloudtrail)" if own else ""))
            return
        for file, line in self.raw:
            yield Finding(ID, "", "The entry holds a token in clear where the vault always writes a digest "
                          "(client_token or wrap_info.token): its device logs raw (log_raw=true), so its values are "
                          "no digests to verify and every secret it holds is in clear.", _RAW_FIX,
                          where=f"{file}:{line}", request_id=self.request_ids.get(line, ""))
        for file, line, rid, missing, hop in self.stripped:
            what = ("The entry has no auth object, which the vault writes in every entry (with the digests of the "
                    "token, when one was used)" if missing.startswith("auth (") else
                    f"The response entry of a request that issues a token has no {missing}, which the vault writes "
                    "(as HMAC digests) in every such answer" if missing in (_MINTED, _WRAPPED) else
                    f"The entry was made with a token but has no {missing}, which the vault writes (as HMAC digests) "
                    "in every such entry")
            dropped = hop.startswith("dropped")  # (a device's exclude deletes keys: it neither blanks nor retypes)
            yield Finding(ID, "", f"{what}: a hop between the vault and this file took them out"
                          f"{_EXCLUDED if dropped else ''}; they were {hop}. The entry can no longer be tied to the "
                          "token that made it.", _STRIP_FIX + (_EXCLUDED_FIX if dropped else ""),
                          where=f"{file}:{line}", request_id=rid)
        if self.stripped_count > len(self.stripped):
            yield Finding(ID, "", f"{self.stripped_count - len(self.stripped)} more entries made with a token lack "
                          "the token digests the vault writes in them.", _STRIP_FIX + _EXCLUDED_FIX,
                          entries=self.stripped_count - len(self.stripped))
        if self.raw_count > len(self.raw):
            yield Finding(ID, "", f"{self.raw_count - len(self.raw)} more entries were written raw (log_raw).",
                          _RAW_FIX, entries=self.raw_count - len(self.raw))
        for file, line, rid, which in self.two:
            yield Finding(ID, "", f"The entry names two tokens: its {which}, which the vault writes from the one "
                          "token the request was made with. One of them was "
                          "changed after the vault wrote the entry, so the entry cannot be tied to who made it.",
                          _TWO_FIX, where=f"{file}:{line}", request_id=rid)
        if self.two_count > len(self.two):
            yield Finding(ID, "", f"{self.two_count - len(self.two)} more entries name two tokens.", _TWO_FIX,
                          entries=self.two_count - len(self.two))
        self._ssct_breaks()
        for file, line, rid, what in self.broken:
            yield Finding(ID, "", "The entry names two tokens: its auth.client_token is not its request.client_token "
                          "(with one accessor, as HashiCorp Vault writes a request made with a server-side "
                          "consistent token: the SSCT's digest in auth, its inner token's in the request), but "
                          f"{what}. An SSCT has one inner token, so one of the digests was changed after the vault "
                          "wrote the entry, and the entry cannot be tied to who made it.", _TWO_FIX,
                          where=f"{file}:{line}", request_id=rid)
        if self.broken_count > len(self.broken):
            yield Finding(ID, "", f"{self.broken_count - len(self.broken)} more entries name two tokens.", _TWO_FIX,
                          entries=self.broken_count - len(self.broken))
        swapped, swapped_count = self._swapped()
        for file, line, rid, what, first in swapped:
            yield Finding(ID, "", f"The entry's token (auth.client_token) names another holder than at {first}: its "
                          f"{what}. A token's display name, entity, accessor and policies are fixed when it is made, "
                          "and one device writes its digest alike in every entry, so one of the entries was edited "
                          "after the vault wrote it: who made the request cannot be told.", _TWO_FIX,
                          where=f"{file}:{line}", request_id=rid)
        if swapped_count > len(swapped):
            yield Finding(ID, "", f"{swapped_count - len(swapped)} more entries name another holder of "
                          "their token.", _TWO_FIX, entries=swapped_count - len(swapped))
        for file, line in self.clear:
            yield Finding(ID, "", "The entry holds its token's accessor in clear (client_token_accessor), where the "
                          "vault writes its digest unless the device sets hmac_accessor=false: whoever reads the log "
                          "and holds the accessor endpoints (auth/token/lookup-accessor, renew-accessor, "
                          "revoke-accessor: an operator's or a tool's token) can look up, renew or revoke the token "
                          "it names.", _ACCESSOR_FIX,
                          where=f"{file}:{line}", request_id=self.request_ids.get(line, ""))
        if self.clear_count > len(self.clear):
            yield Finding(ID, "", f"{self.clear_count - len(self.clear)} more entries hold their token's accessor "
                          "in clear (hmac_accessor=false).", _ACCESSOR_FIX, entries=self.clear_count - len(self.clear))
        for file, line, shown in self.bad:
            yield Finding(ID, "", f"A digested value is malformed ({shown}): it cannot be compared with "
                          "sys/audit-hash.", _BAD_DIGEST_FIX, where=f"{file}:{line}",
                          request_id=self.request_ids.get(line, ""))
        if self.count > len(self.bad):
            yield Finding(ID, "", f"{self.count - len(self.bad)} more digested values are malformed.",
                          _BAD_DIGEST_FIX, entries=self.count - len(self.bad))
        if self.offline:  # the title says what a live run proves: say what this one did
            yield Note("", "Offline, the digests' form was judged (hmac-sha256: and 64 lowercase hex; none in clear "
                       "where the vault writes one, none taken out), not their values: only the vault holds each "
                       "device's salt (sys/audit-hash/<device>, which a live run asks), so a digest replaced by "
                       "another well-formed one is not found here (a change to a sealed log is: tamper_evidence).")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    yield from feed(DigestFormat(ctx), ctx).finish()
    if ctx.ledger is None or ctx.facts is None:
        return
    facts = ctx.facts
    if not facts.digests or not any(facts.digests.values()):
        why = facts.devices_error or facts.hash_error or "no audit device could be identified"
        yield Finding(ID, "", f"The vault's sys/audit-hash could not be asked ({why}), so no logged digest can be "
                      "verified.", "give the audit token sudo+read on sys/audit and update on sys/audit-hash/*, "
                      "and set audit_device in [tool.auditready] when several devices exist")
        return
    if facts.hash_withheld:
        yield Note("", f"The audit token's own entries were not held to its digest: {facts.hash_withheld}.")
    device = facts.device or ""
    candidates = [device] if device else list(facts.digests)

    def placements(dev: str) -> Iterator[tuple[str, str, AuditEntry, bool]]:
        """(secret, action, its first entry, whether the device's HMAC of the secret is in the action's
        entries), for every secret an action's matched entries should carry; found, or missing from both its
        entries (an action with an entry missing is completeness's to name, not a device's fault here)."""
        assert ctx.ledger is not None
        digests = facts.digests.get(dev, {})
        for a in ctx.ledger.actions:
            m = ctx.match(a.name)
            entries = m.entries
            if not entries:
                continue
            for name in a.secrets:
                d = digests.get(name)
                if d is not None:
                    found = any(d in e.raw for e in entries)
                    if found or m.complete:
                        yield name, a.name, entries[0], found

    # Which device's digests does the log carry? With none named, the one whose digests are found most.
    best_dev = max(candidates, key=lambda dev: sum(found for *_, found in placements(dev)))
    digests = facts.digests.get(best_dev, {})
    missing: dict[str, tuple[AuditEntry, list[str]]] = {}
    for name, action, entry, found in placements(best_dev):
        if not found:
            missing.setdefault(name, (entry, []))[1].append(action)
    for name, (entry, actions) in missing.items():
        yield Finding(
            ID,
            "",
            f"The vault's own HMAC of <{name}> (sys/audit-hash/{best_dev}: {_short(digests[name])}) is not in the "
            f"entries of {', '.join(actions[:4])}{' …' if len(actions) > 4 else ''}, where that value was logged: "
            f"the log was not written by device {best_dev!r}, or the value is not HMAC'd.",
            "point --auditready-log at the file of the device named by audit_device (a re-enabled device has a new "
            "salt), and remove log_raw / audit_non_hmac_* keys",
            where=entry.where,
            request_id=entry.request_id,
        )
    yield from _other_tokens(ctx, digests, best_dev)


# Where the vault writes the digest of the token a request was made with, in the request entry and in its response.
_TOKEN_FIELDS = ("auth.client_token", "request.client_token")


def _other_tokens(ctx: CheckContext, digests: dict[str, str], device: str) -> Iterator[Finding]:
    """Each entry of an action made with a run token whose token digest is another well-formed one. Finding the
    vault's digest in one of the action's entries proves nothing of the other: a hop (or a hand) that put another
    token's digest in a request entry, where the response kept the right one, passed."""
    assert ctx.ledger is not None
    for a in ctx.ledger.actions:
        for name in a.secrets:
            want = digests.get(name) if name.startswith("token:") else None
            if want is None:
                continue
            for e in ctx.match(a.name).entries:
                data = dict(e.data)
                wrong = [f for f in _TOKEN_FIELDS if _other_digest(_at(data, f), want)]
                if wrong == ["request.client_token"] and _ssct(data) is not None:
                    continue  # the run's token is a Vault SSCT: its digest in auth, its inner token's in the request
                if wrong:
                    yield Finding(
                        ID, "",
                        f"The {e.type or 'entry'} entry of {a.name} holds in {' and '.join(wrong)} a digest that is "
                        f"not the vault's HMAC of <{name}> (sys/audit-hash/{device}: {_short(want)}), the token the "
                        "run made this request with: the entry was changed after the vault wrote it, or another "
                        "request's entry stands in its place.",
                        "judge the log the vault wrote: find the hop or hand that rewrote the entry's token digests",
                        where=e.where, request_id=e.request_id,
                    )


def _other_digest(value: Any, want: str) -> bool:
    """A well-formed digest other than ``want`` (a malformed one, or one in clear, is the form's finding above)."""
    return isinstance(value, str) and value != want and HMAC_RE.match(value) is not None


CHECK = Check(
    id=ID,
    title="HMAC digests verify against the vault",
    requirement="every digested value is hmac-sha256: + 64 hex; the vault's own sys/audit-hash/<device> of each "
    "canary and scenario token is found where that value was logged",
    run=run,
    visitor=DigestFormat,
)
