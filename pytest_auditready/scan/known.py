"""Known secret values (canaries, scenario tokens, values of a --canaries file) in every encoding a producer writes.

A value is looked for as several *needles*: itself, its base64 (standard and URL-safe, at each of the three
alignments it can take inside a longer base64 string, unpadded), its base64 as UTF-16LE (what PowerShell's
-EncodedCommand and .NET's Convert.ToBase64String(Encoding.Unicode...) write) and as UTF-16BE (Java's and .NET's
big-endian Unicode), the base64 of its base64 (each at any alignment: a Kubernetes Secret's ``.dockerconfigjson`` is
base64 data holding ``"auth": base64("user:password")``, in an audit event's requestObject), its base32 (RFC 4648,
at each of the five alignments; in either case: DNS labels and multibase write it lower case) and its hex (lower and
upper case; also with a separator between bytes, ``53:75``, ``53-75``, ``53 75``, as openssl and hexdump print it:
``find`` reads such runs joined, see SEPARATED), and the base64 of its hex (at any alignment: a digest-style
encoder's ``base64(hex(value))``). Each needle is matched as a pattern, not a literal: every
character may be written

- raw (its UTF-8 bytes);
- as a JSON escape of any producer, at any nesting depth: ``\\uXXXX`` with either case of hex (a surrogate pair
  beyond the BMP), or the short forms ``\\" \\\\ \\/ \\b \\f \\n \\r \\t``. Go's encoding/json, which Vault and
  OpenBao log with, writes ``& < >`` as ``\\u0026 \\u003c \\u003e``, U+2028/U+2029 as ``\\u2028``/``\\u2029`` and
  other control characters as ``\\u00XX``; Python's json writes non-ASCII as ``\\u00e9`` (ensure_ascii), .NET's
  writes ``+`` as ``\\u002B``; a string inside a string (a shipper's ``"log"`` field) doubles the backslashes;
- URL-encoded: ``%XX`` per UTF-8 byte in either case, ``+`` for a space; also encoded twice or three times
  (``%2541``: a proxy or a client that encodes an already encoded path or parameter again);
- HTML-escaped: a character that is not a letter or digit as ``&amp; &lt; &gt; &quot; &apos;`` or a numeric
  reference (``&#38;``, ``&#x26;``), a letter or digit as a numeric reference (``&#65;``, ``&#x41;``: an encoder
  that writes every character so), its ``&`` itself raw, JSON-escaped or URL-encoded (a SIEM's HTML or XML
  export, then a JSON hop). A numeric reference may carry up to eight leading zeros (``&#0065;``, ``&#x0041;``: a
  fixed-width encoder's) and may lack its ``;`` where an HTML parser still reads it as the same character: when
  what follows is no digit (no hex digit after ``&#x``) and no ``;``, raw or escaped (``&#65`` then ``8`` is
  ``&#658``, so not "A8");
- a non-ASCII character also as replacement characters (U+FFFD, raw or ``\\ufffd``: what Go writes for bytes that
  are not UTF-8, so a value sent in another encoding still matches), and as rsyslog writes it with
  ``escape8BitCharactersOnReceive``: each UTF-8 byte as ``#`` and three octal digits (``ü`` as ``#303#274``);
- ``=`` and a non-ASCII character also quoted-printable, as RFC 2045 requires them (``=3D``; each UTF-8 byte as
  ``=XX``, either case: a MIME body relayed into a log); ``find`` reads the text with its soft line breaks ("=" at
  a line's end, where a line would pass 76 characters) taken out too.

``find`` also reads the text with its invisible characters (Unicode's default-ignorable code points: zero-width
spaces and joiners, the soft hyphen, the BOM; raw or as JSON escapes) taken out and in Unicode normalisation form KC
(full-width letters and digits as ASCII), and reads each gzip member written in base64 (``H4sI…``: Helm 3's release
storage, a ConfigMap's ``binaryData``, a compressed request body; also that base64 in base64, a Kubernetes Secret's
data) inflated, at most INFLATE_MAX bytes of one body and INFLATE_BUDGET of one text (a zip bomb costs no more; what
was left uninflated is counted in ``KnownValues.uninflated``). A look-alike letter (Cyrillic "е" for "e") is not read
as the letter: that is another string, which would not authenticate as the value.

So one pattern per needle covers the raw, JSON-escaped and URL-encoded forms and their mixtures, whichever
characters a given encoder chooses to escape. ``KnownValues.find`` is the judge (Python ``re``); ``prefilters``
gives the Hyperscan expressions that let the block scanner skip lines, with the proof that they skip nothing the
judge would find (see ``prefilters``).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import hmac
import os
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from ..text import _INVISIBLE

MIN_LEN = 6  # shorter needles (a short value's base64 core) would match by chance
ANCHOR_MAX = 256  # characters of a needle's anchor a Hyperscan literal holds (see KnownValues.prefilters)

# The JSON short escapes: character -> the letter after the backslash.
_SHORT = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
# HTML's named references for the characters it escapes.
_ENTITY = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
# A line break (raw, in a decoded value, or written as a JSON escape at any depth) between two characters of an
# encoded run: where base64 (or base32, hex) of a value was wrapped into lines before it was logged (`base64`,
# OpenSSL, Python's encodebytes and MIME wrap at 76 characters, PEM at 64), so its needle may be cut anywhere.
# ``find`` reads the text joined too.
_LINE_BREAK = re.compile(r"(?<=[A-Za-z0-9+/=])(?:\\+(?:r\\+)?n|\r?\n)(?=[A-Za-z0-9+/=])")
# A quoted-printable soft line break: "=" ending an encoded line, which RFC 2045 (6.7, rule 5) puts wherever a line
# would pass 76 characters, between any two encoded characters (raw, or its line end written as a JSON escape at any
# depth). ``find`` reads the text with them taken out too (red team rt98 F4: a value the break cut was missed).
_QP_SOFT_BREAK = re.compile(r"=(?:\\+(?:r\\+)?n|\r?\n)")
# The two in raw log bytes: a line break after a run of 40 encoded characters (a wrapped line is 64 or 76), or after
# "=": the block scanner sends such lines to the judge when there are known values to look for.
WRAPPED = rb"[A-Za-z0-9+/=]{40}\\+(?:r\\+)?n[A-Za-z0-9+/=]|=\\+(?:r\\+)?n"
# Escape tokens that write one ASCII letter or digit (the only ones the candidate test needs, see _Needle.keys).
# A backslash run of an escape at any depth a producer writes: a string in a string doubles the backslashes, so
# seven levels write 127. Bounded, so that a line of millions of backslashes costs linear time to search (an
# unbounded run is retried from each of its backslashes: quadratic).
_BACKSLASHES = r"\\{1,127}"
_TOKEN = re.compile(_BACKSLASHES + r"u([0-9a-fA-F]{4})|%(?:25){0,2}([0-9a-fA-F]{2})")
# rsyslog's escape of a byte with the eighth bit set (escape8BitCharactersOnReceive): "#" and three octal digits.
_EIGHT_BIT = re.compile(r"#[23][0-7]{2}")
# "%", or "%25" once or twice more: a byte URL-encoded once, twice or three times.
_PERCENT = "%(?:25){0,2}"
# Leading zeros an HTML numeric reference may carry (``&#0065;``, ``&#x00000041;``): up to eight, so a letter or
# digit padded to any fixed width up to 10 digits (a 32-bit number's in decimal; encoders pad to 4 to 8) is read.
# Bounded, so that a run of zeros costs linear time to search, as a backslash run does.
_ZEROS = "0{0,8}"
# What may not follow a numeric reference written without its ";", raw or as an escape the patterns read (``\\u``
# at any depth, ``%XX`` encoded up to three times): a digit, or a hex letter after "&#x", which an HTML parser
# reads as more of the number, or a ";", which it reads as the reference's end (``_atom``).
_DIGIT_OR_END = r"[0-9;]|" + _BACKSLASHES + r"u003[0-9bB]|" + _PERCENT + r"3[0-9bB]"
_HEX_LETTER = r"[a-fA-F]|" + _BACKSLASHES + r"u00[46][1-6]|" + _PERCENT + r"[46][1-6]"
# An HTML numeric reference of an ASCII letter or digit, as ``_atom`` spells one (decimal, or two hex digits, after
# up to eight zeros, with or without its ";"), and the key ``find`` takes from it (see _Needle.keys). Its "&" may be
# escaped: the key is read from "#" on. A letter's or digit's code has no leading zero (48 to 122, 0x30 to 0x7a), so
# the zeros and the code part where ``_atom`` parts them.
_ENTITY_TOKEN = re.compile(r"#(?:" + _ZEROS + r"([1-9][0-9]{1,2})|[xX]" + _ZEROS + r"([1-9a-fA-F][0-9a-fA-F]))")
# Hex with one separator between bytes (":", "-" or " "), of eight bytes or more (a value is at least eight
# characters; a MAC address has six): ``find`` reads each such run with its separators taken out, so the hex
# needles find a value written so. SEPARATED is its superset in raw log bytes (Hyperscan has no back-references):
# the block scanner sends such lines to the judge when there are known values to look for.
_QP_TOKEN = re.compile(r"=[0-9a-fA-F]{2}")  # a quoted-printable byte (``_atom``)
_SEPARATED_HEX = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{2}([:\- ])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){6,}"
                            r"(?![0-9a-fA-F])")
SEPARATED = rb"(?:[0-9a-fA-F]{2}[:\- ]){7}[0-9a-fA-F]{2}"
_HEX_SEPARATORS = (":", "-", " ")


# The characters of a needle whose pattern ``find`` may skip on the decoded text (see _Needle.tail): printable ASCII
# that no escape token begins with or is made of ("\\", "%", "&", "#", ";", quoted-printable's "="), that has no
# short escape but "/", and no second raw spelling ("+" for a space, replacement characters for non-ASCII).
_TAIL_SAFE = frozenset(map(chr, range(0x21, 0x7F))) - set("\\%&#;\"=")
# A needle's first TAIL_SKIP characters may belong to an escape token begun before it (``%`` then "2541" of the
# needle, ``\\`` then "u0041"): the decoded text is only sure to hold the rest, its tail. An HTML reference that
# decodes is at most 8 digits long and ends in ";": a needle of more (at least _TAIL_SKIP + _TAIL_MIN) cannot lie
# inside one. A reference without its ";" ends at its last digit, so it may run on into a needle's opening written
# raw (``&#`` then "123abc...", ``&#\\`` then "u00312345abc..."): it is decoded only where what the log writes from
# after its "#" to its end (a needle holds no "#": it begins there at the earliest) is at most TAIL_SKIP long.
_TAIL_SKIP = 6
_TAIL_MIN = 10
# Escape tokens, decoded in two passes: JSON (\\uXXXX, its "u" in either case as a caseless pattern reads it, and
# \\/, at any depth) and URL (%XX, encoded up to three times), then HTML references (whose "&" the first pass may
# have decoded). A text whose numeric references are longer than these, or lack their ";" and are written longer
# than that, is not decoded (``_decoded`` gives None).
# A backslash run is read whole from its first backslash (unbounded, unlike _BACKSLASHES: a pattern finds its
# escape in the last 127 of a longer run, and the decoding must too; from the run's start only, so it stays linear).
_ESCAPE = re.compile(r"(?<!\\)\\+[uU]([0-9a-fA-F]{4})|(?<!\\)\\+(/)|" + _PERCENT + "([0-9a-fA-F]{2})")
# The named references of _ENTITY's characters a tail may hold (in either case, as a caseless pattern reads them).
_NAMED = {name: c for c, name in _ENTITY.items() if c in _TAIL_SAFE}
# A reference: numeric, ended by ";" or by what is no digit of it (as an HTML parser reads one), or named.
_REFERENCE = re.compile(r"&(?:#([0-9]{1,8})(?:;|(?![0-9]))|#[xX]([0-9a-fA-F]{1,8})(?:;|(?![0-9a-fA-F]))|("
                        + "|".join(_NAMED) + ");)", re.IGNORECASE)
_LONG_REFERENCE = re.compile(r"&#(?:[0-9]{9}|[xX][0-9a-fA-F]{9})")
# A numeric reference without its ";" (followed by no digit, no hex digit after "&#x", and no ";").
_BARE_REFERENCE = re.compile(r"&#(?:[0-9]{1,8}(?![0-9;])|[xX][0-9a-fA-F]{1,8}(?![0-9a-fA-F;]))")


def _escape_char(m: re.Match[str]) -> str:
    u, slash, p = m.group(1), m.group(2), m.group(3)
    return chr(int(u, 16)) if u is not None else slash if slash is not None else chr(int(p, 16))


def _reference_char(m: re.Match[str]) -> str:
    d, x, name = m.group(1), m.group(2), m.group(3)
    if name is not None:
        return _NAMED[name.lower()]
    n = int(d) if d is not None else int(x, 16)
    return chr(n) if n < 0x110000 else m.group(0)


def _decoded(text: str) -> Optional[str]:
    """``text`` with every escape token a needle's pattern reads as one character (of ``_TAIL_SAFE``) written as
    that character, so a spelling of a needle holds its tail; None when a numeric reference is too long to decode,
    or lacks its ";" and could take more than a needle's opening (see _TAIL_SKIP)."""
    # the first pass's tokens: where each one's character is in its output, and where the token is in ``text``
    at: list[int] = []
    spans: list[tuple[int, int]] = []
    taken = [0]  # characters the tokens so far took out

    def escape(m: re.Match[str]) -> str:
        at.append(m.start() - taken[0])
        spans.append(m.span())
        taken[0] += m.end() - m.start() - 1
        return _escape_char(m)

    if "\\" in text or "%" in text:
        text = _ESCAPE.sub(escape, text)
    if "&" in text:
        if _LONG_REFERENCE.search(text) is not None:
            return None
        for m in _BARE_REFERENCE.finditer(text):
            if _written(at, spans, m.end() - 1)[1] - _written(at, spans, m.start() + 1)[0] - 1 > _TAIL_SKIP:
                return None
        text = _REFERENCE.sub(_reference_char, text)
    return text


def _written(at: list[int], spans: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """Where the character at ``i`` of the first decoding pass's output is written in its input: its token's span
    (``at``: where each token's character is in the output, ``spans``: where the token is), or its own."""
    k = bisect.bisect_right(at, i) - 1
    if k >= 0 and at[k] == i:
        return spans[k]
    j = i if k < 0 else spans[k][1] + i - at[k] - 1
    return j, j + 1


def _keys(text: str) -> set[int]:
    """The codes of the letters and digits the escape tokens of ``text`` write (see _Needle.keys)."""
    keys: set[int] = set()
    if "\\" in text or "%" in text:
        for m in _TOKEN.finditer(text):
            u, p = m.group(1), m.group(2)
            keys.add(int(u if u is not None else p, 16))
    if "#" in text:
        for m in _ENTITY_TOKEN.finditer(text):
            d, x = m.group(1), m.group(2)
            keys.add(int(d) if d is not None else int(x, 16))
    return keys


# The invisible characters a prefilter looks for (``KnownValues.prefilters``): those of the BMP but the variation
# selectors (an emoji's U+FE0F, common in text), as themselves and as JSON escapes; the tag characters (U+E0000 on)
# by their first three UTF-8 bytes.


def _class_chars(body: str) -> str:
    """The characters of a regex class body of literal characters and ranges ("a-c"), in the Basic Multilingual
    Plane (read from its text: matching each of 65,536 characters cost 70 ms of every run's start-up)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out += map(chr, range(ord(body[i]), min(ord(body[i + 2]), 0xFFFF) + 1))
            i += 3
        else:
            out.append(body[i])
            i += 1
    return "".join(c for c in out if ord(c) < 0x10000)


_INVISIBLE_LITERALS = "".join(c for c in _class_chars(_INVISIBLE) if not 0xFE00 <= ord(c) <= 0xFE0F)
_TAG_PREFIXES = (b"\xf3\xa0\x80", b"\xf3\xa0\x81", b"\xf3\xa0\x82", b"\xf3\xa0\x83")
# Invisible characters (text._INVISIBLE: zero-width spaces and joiners, the soft hyphen, the BOM...), raw or as JSON
# escapes at any depth (Python's json writes them so), which a person or an editor puts inside a value: read away.
_IGNORABLE = re.compile("[" + _INVISIBLE + "]|" + _BACKSLASHES + r"(?i:u(?:" + "|".join(
    f"{ord(c):04x}" for c in _INVISIBLE_LITERALS) + "))")
# A full-width form of printable ASCII (U+FF01-U+FF5E) as a JSON escape: read as the character NFKC gives.
_FULLWIDTH_ESCAPE = re.compile(_BACKSLASHES + r"u[fF][fF](?:0[1-9a-fA-F]|[1-4][0-9a-fA-F]|5[0-9a-eA-E])")


def _fullwidth_char(m: re.Match[str]) -> str:
    return chr(int(m.group(0)[-4:], 16) - 0xFEE0)


def _folded(text: str) -> str:
    """``text`` without its invisible characters, full-width escapes read, in Unicode normalisation form KC
    (full-width letters, digits and signs as ASCII); ``text`` itself when it holds none of them."""
    if text.isascii() and "\\" not in text:
        return text
    folded = _IGNORABLE.sub("", text)
    if "\\" in folded:
        folded = _FULLWIDTH_ESCAPE.sub(_fullwidth_char, folded)
    return folded if folded.isascii() else unicodedata.normalize("NFKC", folded)


# A gzip member (its magic 1f 8b and method 08) written in base64 ("H4sI"), or that base64 in base64 ("SDRzS"): a
# run of either alphabet (a "/" may be JSON-escaped: "\/"), not inside a longer run.
INFLATE_MAX = 8 << 20  # bytes inflated of one gzip body at most
INFLATE_BUDGET = 32 << 20  # bytes inflated for one ``find`` at most (bodies in a body included)
_GZIP_MAGIC = re.compile(r"H4sI|SDRzS")
_GZIP_RUN = re.compile(r"(?<![A-Za-z0-9+/_\\-])(?:H4sI|SDRzS)(?:[A-Za-z0-9+/_-]|\\+/)*={0,2}")


def _b64(run: str) -> Optional[bytes]:
    """The bytes a base64 or base64url ``run`` decodes to, or None."""
    run = run.rstrip("=")
    url = "-" in run or "_" in run
    if (url and ("+" in run or "/" in run)) or len(run) % 4 == 1:
        return None
    try:
        return base64.b64decode(run + "=" * (-len(run) % 4), altchars=b"-_" if url else b"+/", validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=4)
def _inflated(run: str, limit: int) -> tuple[bytes, bool]:
    """What the gzip members in base64 ``run`` inflate to (``limit`` bytes at most; a body cut in the log gives
    what it holds), and whether more was left; (b"", False) for no gzip. Remembered: a line's text and then its
    values are read."""
    raw = _b64(run)
    if raw is None:
        return b"", False
    out: list[bytes] = []
    left = limit
    while raw[:3] == b"\x1f\x8b\x08" and left > 0:  # member after member (a multi-member file)
        inflater = zlib.decompressobj(wbits=31)
        try:
            out.append(inflater.decompress(raw, left))
        except zlib.error:
            break
        left -= len(out[-1])
        if inflater.unconsumed_tail:
            return b"".join(out), True
        raw = inflater.unused_data
    return b"".join(out), left <= 0 and raw[:3] == b"\x1f\x8b\x08"


def gunzipped(value: str) -> Optional[str]:
    """The text ``value`` inflates to when the whole value is one gzip body in base64 (``H4sI…``: a ConfigMap's
    ``binaryData``, a Helm release) that inflates whole within INFLATE_MAX, else None: compressed bytes are random
    by construction, so what such a value says is in its text."""
    if not value.startswith("H4sI") or _GZIP_RUN.fullmatch(value) is None or "\\" in value:
        return None
    inflated, cut = _inflated(value, INFLATE_MAX)
    return inflated.decode("utf-8", "replace") if inflated and not cut else None


def _joined_hex(m: re.Match[str]) -> str:
    return m.group(0).replace(m.group(1), "")


# A printable ASCII character written as a \u escape by an encoder other than Go's (which escapes only "&", "<" and
# ">", so in every Vault/OpenBao line): .NET's writes "+" as \u002B, others escape ":", "@", "-" or every character.
# The literals a prefilter looks for are then not in the raw text (scan.hyperscan's whole-line prefilters, and
# checks.data_minimisation's encoded shapes, look for this instead).
ASCII_ESCAPE = r"\\u00(?:2[0-57-9a-fA-F]|3[0-9abdfABDF]|[4-6][0-9a-fA-F]|7[0-9a-eA-E])"


def fingerprint(value: str) -> str:
    """A short name for a value, safe to print: the first 10 hex digits of its HMAC-SHA256 under
    ``fingerprint_key``. An unkeyed hash of a human password is reversed with a word list; a keyed one is not,
    while the same value still gets the same name wherever the key is the same (a report's lines, its files,
    a baseline's acceptances)."""
    return hmac.new(fingerprint_key(), value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:10]


FINGERPRINT_KEY_ENV = "AUDITREADY_FINGERPRINT_KEY"
_KEY: list[bytes] = []


def fingerprint_key() -> bytes:
    """The key of ``fingerprint``: from AUDITREADY_FINGERPRINT_KEY when set (a CI secret: the same names on every
    runner, so a baseline's acceptances hold), else the one kept in the user's config folder (made once, mode
    0600), else one for this process (a folder that cannot be written)."""
    if not _KEY:
        _KEY.append(_load_key())
    return _KEY[0]


def use_fingerprint_key(key: bytes) -> None:
    """Name values with ``key`` from now on (a worker process: the front end's, so one report names a value once)."""
    _KEY[:] = [key]


def _load_key() -> bytes:
    given = os.environ.get(FINGERPRINT_KEY_ENV, "")
    if given:
        return hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return os.urandom(32)
        base = os.path.join(home, ".config")
    folder = os.path.join(base, "pytest-auditready")
    path = os.path.join(folder, "fingerprint.key")
    key = _read_key(path)
    if key is not None:
        return key
    try:  # made once: written aside, then linked in place (another process's, if it came first, wins)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, os.urandom(32))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError:
        return os.urandom(32)
    return _read_key(path) or os.urandom(32)


def _read_key(path: str) -> Optional[bytes]:
    """The key kept at ``path``, or None (no file, unreadable, or too short to be one)."""
    try:
        with open(path, "rb") as f:
            key = f.read(64)
    except OSError:
        return None
    return key if len(key) >= 32 else None


def _plain(c: str) -> bool:
    """An ASCII letter or digit: no encoder escapes one, so an escaped one is rare in any log."""
    return c.isascii() and c.isalnum()


def _hex(n: int, width: int) -> str:
    """A regex for the hex digits of ``n``, either case."""
    return "".join(d if d.isdigit() else f"[{d}{d.upper()}]" for d in f"{n:0{width}x}")


def _units(c: str) -> list[int]:
    """The UTF-16 code units of ``c``: what a JSON ``\\u`` escape writes."""
    data = c.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _raw_text(c: str) -> str:
    return re.escape(c)


def _raw_bytes(c: str) -> str:
    return c if _plain(c) else "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogatepass"))


def _atom(c: str, raw: Callable[[str], str], replaced: str) -> str:
    """A regex for every way the encodings above write the character ``c``; ``raw`` writes it as itself and
    ``replaced`` is the raw form of replacement characters (the text and the bytes patterns differ only there)."""
    if c == "\\":
        alts = [_BACKSLASHES]  # raw, or its short escape at any depth
    else:
        alts = [raw(c)]
        if c in _SHORT:
            alts.append(_BACKSLASHES + re.escape(_SHORT[c]))
    alts.append("".join(_BACKSLASHES + "u" + _hex(u, 4) for u in _units(c)))
    alts.append("".join(_PERCENT + _hex(b, 2) for b in c.encode("utf-8", "surrogatepass")))
    if c == " ":
        alts.append(r"\+")
    if c == "=" or not c.isascii():  # quoted-printable (RFC 2045 encodes "=" and every 8-bit byte)
        alts.append("".join("=" + _hex(b, 2) for b in c.encode("utf-8", "surrogatepass")))
    if not c.isascii():
        alts += [replaced, r"(?:" + _BACKSLASHES + r"u[fF]{3}[dD])+"]
        # rsyslog's escape8BitCharactersOnReceive: each byte of its UTF-8 as "#" and three octal digits
        alts.append("".join(f"#{b:03o}" for b in c.encode("utf-8", "surrogatepass")))
    amp = r"(?:&|" + _BACKSLASHES + r"u0026|%26)"
    # a numeric reference, zero padded or not, ended by ";" or by what an HTML parser reads as no part of it (the
    # prefilter's literals hold every such reference of a letter or digit: ``KnownValues.prefilters``)
    alts.append(amp + r"#(?:" + _ZEROS + str(ord(c)) + r"|[xX]" + _ZEROS + _hex(ord(c), 1) + r"(?!" + _HEX_LETTER
                + r"))(?:;|(?!" + _DIGIT_OR_END + r"))")
    if c in _ENTITY:
        alts.append(amp + _ENTITY[c] + ";")
    return "(?:" + "|".join(alts) + ")"


def _cores(data: bytes, encode: Callable[[bytes], bytes], bits: int) -> set[str]:
    """The parts of the ``encode``-d text of ``data`` (``bits`` bits a character: 6 for base64, 5 for base32) that
    do not depend on the bytes around it, at each alignment it can take inside a longer encoded string."""
    out = set()
    group = 3 if bits == 6 else 5  # bytes a group of characters encodes
    for k in range(group):
        full = k + len(data)
        enc = encode(b"\0" * k + data).decode()
        core = enc[-(-8 * k // bits) : (8 * full) // bits]
        if len(core) >= MIN_LEN:
            out.add(core)
    return out


def _b64_cores(data: bytes) -> set[str]:
    return _cores(data, base64.b64encode, 6)


def _b32_cores(data: bytes) -> set[str]:
    return _cores(data, base64.b32encode, 5)


def encodings(value: str) -> dict[str, str]:
    """The needles of ``value``, each with its encoding's name: raw, base64 (standard and URL-safe, unpadded, at any
    alignment; of its UTF-16LE and UTF-16BE forms; and of its base64 text, at any alignment of either), base32 (at
    any alignment; matched in either case), hex (lower, upper). URL-encoded, JSON-escaped and HTML-escaped forms are
    matched per character, and hex with separators is read joined (see the module's docstring), so they are no
    needles of their own."""
    data = value.encode("utf-8", "surrogatepass")
    forms: dict[str, str] = {}

    def add(needle: str, name: str) -> None:
        if len(needle) >= MIN_LEN:
            forms.setdefault(needle, name)

    add(value, "raw")
    for core in sorted(_b64_cores(data)):
        add(core, "base64")
        add(core.replace("+", "-").replace("/", "_"), "base64url")
    for core in sorted(_b64_cores(value.encode("utf-16-le", "surrogatepass"))):
        add(core, "base64 of UTF-16")
    for core in sorted(_b64_cores(value.encode("utf-16-be", "surrogatepass"))):
        add(core, "base64 of UTF-16")  # one name: either byte order holds the other's needle when text follows
    for inner in sorted(_b64_cores(data)):  # base64 text encoded again (a Kubernetes Secret's .dockerconfigjson
        for core in sorted(_b64_cores(inner.encode("ascii"))):  # holds base64("user:password") in base64 data)
            add(core, "base64 of base64")
            add(core.replace("+", "-").replace("/", "_"), "base64url of base64")
    for core in sorted(_b32_cores(data)):
        add(core, "base32")
    add(data.hex(), "hex")
    add(data.hex().upper(), "HEX")
    for hexed in (data.hex(), data.hex().upper()):
        for core in sorted(_b64_cores(hexed.encode("ascii"))):
            add(core, "base64 of hex")
    return forms


def spellings(value: str) -> set[str]:
    """The needles of ``value`` and the spellings ``find`` reads without needles of their own (base32 in lower
    case, hex with separators): what a report hides (``text.secret_forms``)."""
    forms = set(encodings(value))
    data = value.encode("utf-8", "surrogatepass")
    forms |= {core.lower() for core in _b32_cores(data)}
    if len(data) > 1:
        forms |= {h for sep in _HEX_SEPARATORS for h in (data.hex(sep), data.hex(sep).upper())}
    return forms


@dataclass(frozen=True)
class KnownHit:
    name: str  # e.g. "canary:c1", "token:reader"
    encoding: str  # e.g. "raw", "json-escaped", "base64url+url-encoded"


class _Needle:
    """One text form of one secret, and how to find it in any spelling."""

    def __init__(self, text: str, name: str, encoding: str) -> None:
        self.text, self.name, self.encoding = text, name, encoding
        self._regex: Optional[re.Pattern[str]] = None
        # base32 is matched in either case (its anchor too): its letters, as upper case
        self.caseless = encoding == "base32"
        # The longest run of letters and digits: raw in every spelling that escapes none of them.
        self.anchor = max(re.findall(r"[A-Za-z0-9]+", text) or [""], key=len)
        # The letters and digits an escape token may write (a \u escape, a %XX, an HTML reference: ``find`` reads
        # each as the code of what it writes): one is in every spelling that escapes one of its own.
        plain = {c for c in set(text) if _plain(c)}
        if self.caseless:
            plain |= {c.lower() for c in plain}
        self.keys = frozenset(map(ord, plain))
        # What every spelling of the needle holds once decoded (``_decoded``): all but its first characters, for a
        # needle of characters no escape token is made of. ``find`` runs (and compiles) the pattern only there.
        tail = text[_TAIL_SKIP:] if set(text) <= _TAIL_SAFE and len(text) >= _TAIL_SKIP + _TAIL_MIN else None
        self.tail = tail.upper() if tail is not None and self.caseless else tail

    @property
    def regex(self) -> re.Pattern[str]:
        """Every spelling of the needle (compiled when first needed: most needles never are)."""
        if self._regex is None:
            self._regex = re.compile("".join(_atom(c, _raw_text, "\ufffd+") for c in self.text),
                                     re.IGNORECASE if self.caseless else 0)
        return self._regex

    def label(self, spelled: str) -> str:
        """The encoding's name for one match: the needle's own, plus how its characters were escaped."""
        if spelled == self.text:
            return self.encoding
        if self.caseless and spelled == self.text.lower():
            return self.encoding + " (lower case)"
        parts = []
        if spelled.count("%") > self.text.count("%") or spelled.count("+") > self.text.count("+"):
            parts.append("url-encoded")
        if spelled.count("\\") > self.text.count("\\"):
            parts.append("json-escaped")
        if _EIGHT_BIT.search(spelled) is not None:
            parts.append("rsyslog-escaped")
            spelled = _EIGHT_BIT.sub("", spelled)
        if len(_QP_TOKEN.findall(spelled)) > len(_QP_TOKEN.findall(self.text)):
            parts.append("quoted-printable")
        if any(spelled.count(h) > self.text.count(h) for h in "&;#"):  # "#": a reference with no ";" whose "&"
            parts.append("html-escaped")  # is written \u0026 or %26
        if not parts:
            return self.encoding  # only replacement characters differ: still the value as written
        return "+".join(parts if self.encoding == "raw" else [self.encoding, *parts])

    def prefilter(self) -> str:
        """A Hyperscan expression (over bytes) for every spelling that writes its letters and digits raw."""
        return "".join(_raw_bytes(c) if _plain(c) else _atom(c, _raw_bytes, "[\\x80-\\xff]+") for c in self.text)


class KnownValues:
    """Looks for named secret values in any encoding. Holds the values in memory only, never prints them."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._needles = [_Needle(needle, name, enc) for name, value in secrets.items()
                         for needle, enc in encodings(value).items()]
        self._cut_bodies: set[bytes] = set()  # the digests of the gzip bodies cut short (``uninflated``)

    def __bool__(self) -> bool:
        return bool(self._needles)

    @property
    def needles(self) -> tuple[str, ...]:
        """The needles' texts (secret material: a cache key, never output)."""
        return tuple(n.text for n in self._needles)

    def find(self, text: str) -> list[KnownHit]:
        """Each (secret, encoding) spelled somewhere in ``text``, in the order of their first match.

        A needle's pattern is only run where it can match: a spelling either writes every letter and digit raw,
        and then holds the needle's longest run of them, or escapes one, and then holds that escape token. A needle
        of plain characters (``_TAIL_SAFE``) must also have its tail in the text decoded (``_decoded``), and in a
        text of no escape token it can only be itself: it is looked for as such, with no pattern compiled. The text
        is also read without its invisible characters and NFKC-folded (``_folded``), and each gzip member in base64
        inflated (``_gzip_bodies``: what it holds is named "... in gzip+base64")."""
        if not self._needles:
            return []
        found: dict[tuple[str, str], int] = {}
        self._find_all(text, found, 0, [INFLATE_BUDGET])
        return [KnownHit(name, enc) for (name, enc), _ in sorted(found.items(), key=lambda kv: kv[1])]

    def _find_all(self, text: str, found: dict[tuple[str, str], int], depth: int, budget: list[int]) -> None:
        for t, how in ((text, ""), (_folded(text), "+unicode-folded")):
            if how and t == text:
                break
            keys = _keys(t)
            self._find_in(t, keys, found, how)
            if "\\" in t or "\n" in t:
                joined = _LINE_BREAK.sub("", t)
                if joined != t:  # base64 wrapped into lines (RFC 2045's 76 characters, PEM's 64), then JSON-escaped
                    self._find_in(joined, keys, found, "+line-wrapped" + how)
                soft = _QP_SOFT_BREAK.sub("", t) if "=" in t else t
                if soft != t:  # quoted-printable cut into lines of 76 characters (a MIME body relayed into a log)
                    self._find_in(soft, _keys(soft), found, "+line-wrapped" + how)
            if _SEPARATED_HEX.search(t) is not None:  # hex with a separator between bytes
                self._find_in(_SEPARATED_HEX.sub(_joined_hex, t), keys, found, " with separators" + how)
        if depth < 2 and _GZIP_MAGIC.search(text) is not None:  # (a gzip body in a gzip body: once more at most)
            for at, body in self._gzip_bodies(text, budget):
                inner: dict[tuple[str, str], int] = {}
                self._find_all(body, inner, depth + 1, budget)
                for name, enc in inner:
                    found.setdefault((name, enc + " in gzip+base64"), at)

    def _gzip_bodies(self, text: str, budget: list[int]) -> list[tuple[int, str]]:
        """(offset, inflated text) of each gzip member written in base64 in ``text`` (or in base64 once more),
        while ``budget`` (bytes still to inflate for one ``find``) lasts; a body cut by INFLATE_MAX or by the budget
        is counted in ``uninflated``."""
        out: list[tuple[int, str]] = []
        for m in _GZIP_RUN.finditer(text):
            run = m.group(0).replace("\\", "")
            if run.startswith("SDRzS"):  # base64 of the base64 (a Kubernetes Secret's data)
                inner = _b64(run)
                run = inner.decode("ascii", "replace").strip() if inner is not None else ""
                if not run.startswith("H4sI"):
                    continue
            if budget[0] <= 0:
                self._cut(run)
                continue
            inflated, cut = _inflated(run, min(INFLATE_MAX, budget[0]))
            budget[0] -= INFLATE_MAX if cut else len(inflated)
            if cut:
                self._cut(run)
            if inflated:
                out.append((m.start(), inflated.decode("utf-8", "replace")))
        return out

    def _cut(self, run: str) -> None:
        if len(self._cut_bodies) < 1 << 16:
            self._cut_bodies.add(hashlib.sha256(run.encode("ascii", "replace")).digest())

    @property
    def uninflated(self) -> int:
        """The gzip bodies (distinct base64 runs) read only in part, or not at all, by INFLATE_MAX or
        INFLATE_BUDGET: known values beyond the cut were not looked for there."""
        return len(self._cut_bodies)

    def _find_in(self, text: str, keys: set[int], found: dict[tuple[str, str], int], how: str) -> None:
        upper = ""
        decoded: Optional[str] = None
        decoded_upper = ""
        plain = not ("\\" in text or "%" in text or "&" in text)  # no escape token: decoded, it is itself

        def note(label: str, at: int) -> None:
            if how and (n.name, label) in found:
                return  # found as it is written: not again as wrapped
            key = (n.name, label + how)
            if key not in found or at < found[key]:
                found[key] = at

        for n in self._needles:
            if n.caseless and not upper:
                upper = text.upper()
            if not (n.anchor in (upper if n.caseless else text) or not keys.isdisjoint(n.keys)):  # "" is in every
                continue
            if n.tail is not None:
                if plain and not n.caseless:  # its only spelling here is itself: no pattern to compile
                    at = text.find(n.text)
                    if at >= 0:
                        note(n.encoding, at)
                    continue
                if decoded is None:
                    decoded = _decoded(text) or ""  # "": a text not decoded runs every pattern its anchor allows
                    decoded_upper = decoded.upper()
                if decoded and n.tail not in (decoded_upper if n.caseless else decoded):
                    continue
            for m in n.regex.finditer(text):
                note(n.label(m.group(0)), m.start())

    def prefilters(self) -> list[tuple[bytes, bool]]:
        """Hyperscan literals (and whether each is caseless) of which one matches wherever ``find`` finds a
        needle, built from ``find``'s own shortcut: a spelling either writes every letter and digit raw, and then
        holds the needle's longest run of them (its anchor), or escapes one, and then holds that escape token (the
        escape tokens of every letter and digit the needles hold). Both are rare in a log unless the value is
        there. Literals only: Hyperscan's literal compiler builds them in milliseconds (the escape tokens as two
        caseless alternations took up to 150 ms), and Vectorscan 5.4.12 (the library of hyperscan >= 0.7.30 on
        PyPI) misses some matches of an alternation with an unbounded repeat (``qr|qx*y`` finds no "qr" ending a
        17 to 34 byte block), the very shape of a needle's spelled pattern. A needle whose anchor is shorter than
        MIN_LEN (a value mostly of punctuation) would send nearly every line to the judge: ``unanchored`` finds
        those. An anchor is taken up to ANCHOR_MAX characters (Hyperscan refuses a pattern of some thousands;
        a long value, such as a service account's JSON key, is found by its first ones as well)."""
        anchors = {(n.anchor[:ANCHOR_MAX], n.caseless) for n in self._needles if len(n.anchor) >= MIN_LEN}
        exprs = [(a.encode("ascii"), caseless) for a, caseless in sorted(anchors)]
        plain = sorted(frozenset().union(*(n.keys for n in self._needles)))  # every letter and digit an escape writes
        for escape in ("\\u00", "%", "%25", "%2525"):  # \u0041, %41, %2541, %252541 (caseless: %4a, \U004A)
            exprs.extend((f"{escape}{b:02x}".encode("ascii"), True) for b in plain)
        # &#65; &#x41; (caseless: &#X41;), from "#" whatever wrote the "&", with or without the ";" (the literal
        # ends with the code); a zero before the code: &#065, &#x041; more zeros (up to eight): "#00", "#x00"
        for b in plain:
            exprs += [(f"#{b}".encode("ascii"), False), (f"#0{b}".encode("ascii"), False),
                      (f"#x{b:02x}".encode("ascii"), True), (f"#x0{b:02x}".encode("ascii"), True)]
        if plain:
            exprs += [(b"#00", False), (b"#x00", True)]
        # what ``find`` reads in another form (``_folded``, ``_gzip_bodies``): an invisible character (raw: UTF-8,
        # or a JSON escape), a full-width form of a letter or digit the needles hold (a needle written full-width
        # holds one: its other characters may stay ASCII; NFKC folds any), a gzip body in base64
        if self._needles:
            exprs += [(c.encode("utf-8"), False) for c in _INVISIBLE_LITERALS]
            exprs += [(f"\\u{ord(c):04x}".encode("ascii"), True) for c in _INVISIBLE_LITERALS]
            exprs += [(t, False) for t in _TAG_PREFIXES]
            exprs += [(chr(b + 0xFEE0).encode("utf-8"), False) for b in plain]
            exprs += [(f"\\u{b + 0xFEE0:04x}".encode("ascii"), True) for b in plain]
            exprs += [(b"H4sI", False), (b"SDRzS", False)]
        return exprs

    def unanchored(self) -> Optional[re.Pattern[bytes]]:
        """One Python ``re`` pattern (over bytes) for every spelling, with its letters and digits raw, of the
        needles ``prefilters`` has no anchor for; None when every needle has one. Python's engine, not
        Hyperscan's: these are the patterns Vectorscan can miss (see ``prefilters``)."""
        short = [n.prefilter() for n in self._needles if len(n.anchor) < MIN_LEN]
        return re.compile("|".join(short).encode("ascii")) if short else None
