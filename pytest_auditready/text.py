"""Text from a log or a path, made safe to print anywhere: one place that decides what is shown as an escape.

Log lines and file names are attacker-controlled. Before any of it reaches a terminal, a report or a workflow
command, every character that could act rather than read is shown as an escape: C0 controls (newline and carriage
return included, so no text can start a line of its own: no forged ``::error::`` or ``::stop-commands::``), DEL,
C1 controls (ESC/CSI/OSC sequences, BEL), Unicode line and paragraph separators, bidirectional overrides, invisible
characters (zero-width spaces, tag characters: a path that reads like another is told apart), Unicode's
noncharacters (U+FFFE, U+FFFF: XML cannot hold them), and lone surrogates
(which cannot be encoded at all and would end a report with UnicodeEncodeError).
"""

from __future__ import annotations

import functools
import html
import json
import re
import urllib.parse
from typing import Any, Mapping, Sequence

# A UUID in its text form (8-4-4-4-12 hex digits, either case): a request id Vault, OpenBao and the API server write.
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# Invisible characters (Unicode's default-ignorable code points: zero-width spaces and joiners, the soft hyphen,
# word joiners, variation selectors, the BOM, fillers, and the tag characters that can smuggle whole ASCII words
# past a reader): shown as escapes too, so that a path that reads like another is told apart from it.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2065\u206a-\u206f"
              "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
# What a reader cannot see or what reorders text, beyond the C0 controls and lone surrogates: DEL and the C1
# controls, the line and paragraph separators, the bidi marks and overrides, and the invisible characters.
# Unicode's noncharacters (U+FDD0..U+FDEF and the last two code points of every plane): never text, and XML 1.0
# has no way to write U+FFFE and U+FFFF at all (a JUnit writer drops them, so a name would read as another).
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}"
                                           for p in range(17))
_HIDDEN = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069" + _INVISIBLE + _NONCHARACTERS
# ...and the second "#" of "##[": GitHub's runner takes its legacy workflow command syntax, "##[name]data",
# anywhere in a line (actions/runner ActionCommand.TryParse), so a path or a log's text holding "##[stop-commands]"
# would silence every annotation after it (red team rt32, F8)
_UNSAFE = re.compile("[\x00-\x1f\ud800-\udfff" + _HIDDEN + "]|(?<=#)#(?=\\[)")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff" + _HIDDEN + "]|(?<=#)#(?=\\[)")


def _escape(m: "re.Match[str]") -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def visible(text: str) -> str:
    """``text`` on one line, every control, separator, bidi override and lone surrogate shown as an escape (and
    the second "#" of "##[", which a CI runner would take for a command)."""
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_ready(value: Any) -> Any:
    """JSON-like ``value`` with every lone surrogate in a string or key (a file name's undecodable byte, as Python
    reads it) shown as ``visible`` shows it, ``\\udcff`` as text: JSON would write it as a ``\\udcff`` escape,
    which names no character and which strict readers refuse (RFC 8259, 8.2). Everything else unchanged."""
    if isinstance(value, str):
        return _SURROGATE.sub(_escape, value) if _SURROGATE.search(value) else value
    if isinstance(value, Mapping):
        return {json_ready(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def visible_lines(text: str) -> str:
    """As ``visible``, but newlines and tabs kept (for multi-line report bodies built by the tool itself)."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


@functools.lru_cache(maxsize=64)
def _spellings(secrets: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """(spelling, replacement) of every known secret, longest first: the value itself and every encoding
    no_secret_leak looks for (base64 standard and URL-safe at each alignment, base32, hex; URL-, JSON- (Go's
    HTML-safe JSON too), HTML- and XML-escaped), so that a report never shows a secret in a form a reader can
    decode."""
    from .scan.known import spellings

    forms: dict[str, str] = {}
    for name, value in secrets:
        if not value:
            continue
        as_json = json.dumps(value, ensure_ascii=False)[1:-1]
        spelled = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                   urllib.parse.quote(value, safe="").lower(), html.escape(value, quote=True),
                   # as XML writers escape text and attributes (ElementTree, junit-xml: & < > and " in attributes,
                   # an apostrophe as it is; red team rt32, F3)
                   html.escape(value, quote=False), html.escape(value, quote=False).replace('"', "&quot;"),
                   json.dumps(value)[1:-1], as_json, *spellings(value),
                   # as Go's encoding/json writes it (the vault's encoder): <, > and & escaped, HTML-safe
                   as_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")}
        for form in spelled:
            if form:
                forms.setdefault(form, f"<{name}>")
    return tuple(sorted(forms.items(), key=lambda kv: (-len(kv[0]), kv[0])))


# A URL's user:password@ (or any user@) after its scheme, in free text (a command, a program's stderr): group 1 is
# the scheme and "://", what follows up to "@" is the credential to hide. (As RFC 3986 reads a URL: a user@ ends
# before any "/"; data_minimisation tells an e-mail address in a path from a URL's user by it.)
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
# The same to withhold: a password pasted as is may hold a "/" (AWS's documented secret access key does, and about
# half of real ones: red team rt92 F1), which RFC 3986 would read as the path's start. So "user:" and anything up to
# the next "@" is withheld too; a host:port followed by a path holding an "@" is withheld with it (never shown is
# the safe side). (A password up to 512 characters: a bound keeps a hostile text of many "a://a:" from taking time
# square in its length.)
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^/\s@]{0,512}@|[^/\s@:]{0,512}:[^\s@]{0,512}@)")


def userinfo_end(url: str) -> int:
    """Where the ``user:password@`` (or ``user@``) after ``url``'s scheme ends (the index past its "@"), else -1. A
    password may hold a "/" (``URL_CREDENTIALS``); a ``host:port/`` before a path that holds an "@" is no password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return -1
    at = rest.find("@")
    if at < 0:
        return -1
    before = rest[:at]
    if "/" in before:
        user, colon, secret = before.partition(":")
        if not colon or "/" in user or re.match(r"\d{1,5}(?:/|\Z)", secret):
            return -1  # a path's "@" (an e-mail address in a key), or a host:port before the path
    return len(scheme) + len(sep) + at + 1


# The characters a token is made of, as no_secret_leak splits a quoted value into pieces to judge each
# (checks.no_secret_leak.mask_quoted): a whole run is masked where it is a secret; a run cut short cannot be judged,
# so ``clip`` never shows one.
PIECE = r"[^\s/:@=,;&?#\"'()\[\]{}<>]"
_PIECE_AT = re.compile(PIECE)
_TRAILING_PIECE = re.compile(PIECE + r"+\Z")


def listed(items: Sequence[str], word: str = "and") -> str:
    """``items`` as words of a sentence: "a", "a and b", "a, b and c" (or ``word`` in place of "and")."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, then an ellipsis, never inside a run of the characters a token is
    made of: the run the cut falls in is left out whole. A credential's head is no safer to show than all of it, and
    only a whole one can be recognised and masked where the text is shown (red team rt47, F3)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if _PIECE_AT.match(text, limit):
        head = _TRAILING_PIECE.sub("", head)
    return head + "\u2026"


# A query parameter that carries a credential in a signed or shared URL: an S3 or GCS presigned URL's X-Amz-* or
# X-Goog-* signature, credential and session token, an Azure SAS's sig, a bearer token or key (red team rt93 F2: a
# presigned https:// URL was echoed whole)
URL_QUERY_SECRET = re.compile(r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                              r"x-goog-credential|sig|signature|sas|token|access_token|api_key|apikey|key|code)=)"
                              r"(?!<withheld>)[^&\s#\"'<>;,)]*")


def without_userinfo(text: str) -> str:
    """``text`` with every URL's user:password@ (or user@) withheld, a password holding "/" too, and the value of
    each query parameter that carries a credential (``URL_QUERY_SECRET``)."""
    return URL_QUERY_SECRET.sub(r"\1<withheld>", URL_CREDENTIALS.sub(r"\1<credentials>@", text))


def shown_error(exc: BaseException) -> str:
    """A one-line error as the terminal shows it: control characters as escapes, a URL's user:password@ and any
    credential of a documented format (a log's prefix, a path the user typed) withheld."""
    from .report.common import masked_tokens

    return visible(masked_tokens(without_userinfo(str(exc))))


def redact(text: str, secrets: Mapping[str, str], markup: bool = False) -> str:
    """``text`` with every known secret value, in any encoding no_secret_leak looks for, replaced by its name
    (``<canary:c1>``, ``<token:admin>``; ``markup``: ``text`` is XML or HTML, where the name is written escaped)."""
    if not secrets:
        return text
    forms = _spellings(tuple(sorted(secrets.items())))
    for form, name in forms:  # every spelling whole first: a longer spelling's first characters may begin another
        if markup:  # (html.escape's "&#x27;" and the XML writer's raw apostrophe: red team rt32, F3)
            name = html.escape(name)
        if form in text:
            if len(form) < _SHORT:  # only where it stands alone: "first" must not read "fi<token:admin>st"
                alone = re.compile(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])")
                text = alone.sub(name.replace("\\", "\\\\"), text)  # the name as it is (no group references)
            else:
                text = text.replace(form, name)
    for form, name in forms:  # then what is left of one cut short
        if len(form) > _CUT and form[:_CUT] in text:
            text = _cut_short(text, form, html.escape(name) if markup else name)
    grams = _grams(tuple(sorted(secrets.items())))
    if grams[_PROBE]:
        text = _pieces(text, grams[_PROBE], markup)
    if _ESCAPED.search(text):
        text = _escaped_runs(text, grams, markup)
    return text


@functools.lru_cache(maxsize=64)
def _grams(secrets: tuple[tuple[str, str], ...]) -> dict[int, dict[str, tuple[str, int, str]]]:
    """Of each known value longer than _CUT, as it is written: its blocks of _PROBE characters that begin at a
    multiple of _PROBE (``_pieces``), and each run of _SHORT characters (``_escaped_runs``), -> (the value, where it
    begins in it, its name); one two values share names the first."""
    out: dict[int, dict[str, tuple[str, int, str]]] = {_PROBE: {}, _SHORT: {}}
    for name, value in secrets:
        if len(value) <= _CUT:
            continue
        for at in range(0, len(value) - _PROBE + 1, _PROBE):
            out[_PROBE].setdefault(value[at:at + _PROBE], (value, at, f"<{name}>"))
        for at in range(len(value) - _SHORT + 1):
            out[_SHORT].setdefault(value[at:at + _SHORT], (value, at, f"<{name}>"))
    return out


# A run of _CUT characters of a value holds one of the value's blocks of _PROBE characters that begin at a multiple
# of _PROBE (2 * _PROBE - 1 <= _CUT): those are looked for (str.find), and each found is grown to the whole run.
_PROBE = 6


def _pieces(text: str, blocks: dict[str, tuple[str, int, str]], markup: bool) -> str:
    """``text`` with each run of _CUT or more characters of a known value, wherever in the value it begins (a value
    split across two fields, a quote that begins inside it: red team rt92 F6), shown as the value's name and "..."."""
    spans: list[tuple[int, int, str]] = []
    for block, (value, start, name) in blocks.items():
        p = text.find(block)
        while p >= 0:
            left, right, first = p, p + _PROBE, start
            while left > 0 and first > 0 and text[left - 1] == value[first - 1]:
                left, first = left - 1, first - 1
            stop = first + right - left
            while right < len(text) and stop < len(value) and text[right] == value[stop]:
                right, stop = right + 1, stop + 1
            if right - left >= _CUT:
                spans.append((left, right, name))
            p = text.find(block, p + 1)
    if not spans:
        return text
    out, at = [], 0
    for left, right, name in sorted(spans):
        if right <= at:
            continue
        out.append(text[at:max(left, at)] + (html.escape(name) if markup else name) + "...")
        at = right
    return "".join(out) + text[at:]


# Escapes a value may be written in that the spellings (``_spellings``) do not list: any character percent-encoded
# ("%2E" for "."), an HTML character reference of any character, a JSON or Python escape of a letter (red team rt92
# F3, F4: a known token as a key name written so was quoted whole, as the key it was found under).
_ESCAPED = re.compile(r"%[0-9A-Fa-f]{2}|&#|&[A-Za-z]{2,8};|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}")
# What ends a run an escaped value may be written in: space, quotes, brackets, and the separators of a report's
# cells and lists (a run is decoded, and judged, alone)
_RUN_END = re.compile(r"""([\s"'`<>()\[\]{},|])""")
_PY_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})")


def _decoded(run: str) -> str:
    """``run`` with one layer of percent-encoding, HTML references and \\u or \\x escapes undone."""
    run = _PY_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), run)
    return html.unescape(urllib.parse.unquote(run, errors="replace"))


def _escaped_runs(text: str, grams: dict[int, dict[str, tuple[str, int, str]]], markup: bool) -> str:
    """``text`` with each run that holds an escape (``_ESCAPED``) and, undone (up to three layers: a report writes
    the log's escapes escaped again), holds a known value or _SHORT characters of one, shown as that value's name
    and "...": the whole run, as what else it holds is not worth a guess."""
    parts = _RUN_END.split(text)
    for i in range(0, len(parts), 2):
        run = parts[i]
        if len(run) < _SHORT or not _ESCAPED.search(run):
            continue
        for _layer in range(3):
            undone = _decoded(run)
            if undone == run:
                break
            run = undone
            hit = next((grams[_SHORT][run[p:p + _SHORT]] for p in range(len(run) - _SHORT + 1)
                        if run[p:p + _SHORT] in grams[_SHORT]), None)
            if hit is not None:
                parts[i] = (html.escape(hit[2]) if markup else hit[2]) + "..."
                break
    return "".join(parts)


# A quote cut short (a finding shows 40 or 60 characters of a value) may end inside a secret: its first _CUT
# characters or more, where the quote ends, are the secret's too.
_CUT = 12


def _cut_short(text: str, form: str, name: str) -> str:
    """``text`` with each run of ``form``'s first characters (at least _CUT of them) replaced by ``name``, followed
    by "..." to show the secret went on."""
    out, at = [], 0
    while True:
        p = text.find(form[:_CUT], at)
        if p < 0:
            break
        n = _CUT
        while n < len(form) and p + n < len(text) and text[p + n] == form[n]:
            n += 1
        out.append(text[at:p] + name + "...")
        at = p + n
    return "".join(out) + text[at:]


# A secret form shorter than this (a dev server's token "root", a one-letter test token) is replaced only where it
# stands alone: replaced inside words, it would garble the text and show, by where it is missing, what it was.
_SHORT = 8
