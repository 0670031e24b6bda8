"""The optional C extension (``pytest_auditready._native``, built from ``_native.c`` by setup.py), or None.

Every function of it has a pure-Python (or Hyperscan) equivalent in the package, which stays the reference: the
extension is used when it was built and imports, unless AUDITREADY_PURE_PYTHON=1 asks for the pure path (the
tests run both and compare). Callers look ``lib`` up when they set up (a scanner, a reader), not per line.
"""

from __future__ import annotations

import os
from typing import Any, Optional

PURE_ENV = "AUDITREADY_PURE_PYTHON"


def load() -> Optional[Any]:
    """The extension module, or None when it is absent, fails to import, or PURE_ENV is set (to anything but ""
    or "0")."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    import importlib

    try:
        return importlib.import_module("pytest_auditready._native")
    except ImportError:
        return None


lib: Optional[Any] = load()

# scan.tokens' prefilter for a password file's line (.pgpass: host:port:database:user:password), as ``_native.
# pass_file_ends`` implements it: costly for Hyperscan (two thirds of the leak scanner's main database on a Vault
# log), so LeakScanner takes the C pass instead while tokens.PREFILTERS holds exactly this (case-sensitive) entry.
PASS_FILE = rb"(?:\"|\\n)[^:\s\"\\]{1,253}:(?:[0-9\x80-\xff]{1,20}|\*):[^:\s\"]{1,128}:[^:\s\"]{1,128}:[^:\s\"\\]"
# scan.known's WRAPPED and SEPARATED (an encoded run wrapped into lines or a quoted-printable soft line break, hex with
# separators between its bytes), whose
# any_match ``_native.split_known`` answers while they are exactly these.
SPLIT_KNOWN = (rb"[A-Za-z0-9+/=]{40}\\+(?:r\\+)?n[A-Za-z0-9+/=]|=\\+(?:r\\+)?n",
               rb"(?:[0-9a-fA-F]{2}[:\- ]){7}[0-9a-fA-F]{2}")


# data_minimisation's prefilters as ``_native.dm_lines`` implements them (bit i: the i-th detector here). The check
# uses the C pass only while its PREFILTERS are exactly these: a changed pattern falls back to Hyperscan.
DM_PREFILTERS: dict[str, tuple[bytes, ...]] = {
    "card": (rb"(?:^|[^0-9A-Za-z]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{13}",
             rb"(?:^|[^0-9A-Za-z\-]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{4}[ \-]\d{4,6}[ \-]\d{4}"),
    "email": (rb"@[A-Za-z0-9\-]+\.", rb"%40[A-Za-z0-9\-]+\."),
    "phone": (rb"\+[1-9][\d ().\-]{6}", rb"\(\d{3}\) ?\d{3}[\-.]\d{4}", rb"\d{3}[\-.]\d{3}[\-.]\d{4}"),
    "iban": (rb"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2}",),
    "national_id": (rb"\d{3}-\d{2}-\d{4}", rb"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"),
}
DM_BITS = {name: 1 << i for i, name in enumerate(DM_PREFILTERS)}
# ... and its ENCODED_PREFILTERS, which ``dm_lines`` looks for too when DM_ENCODED_BIT is in its mask.
_DM_ESCAPE = rb"\\u00(?:2[0-57-9a-fA-F]|3[0-9abdfABDF]|[4-6][0-9a-fA-F]|7[0-9a-eA-E])"
_DM_SPACE = rb"(?:\+|%20)"
DM_ENCODED: dict[str, tuple[bytes, ...]] = {
    "card": (_DM_ESCAPE, rb"\d{4}" + _DM_SPACE + rb"\d{4,6}" + _DM_SPACE + rb"\d{4}"),
    "email": (_DM_ESCAPE,),
    "phone": (_DM_ESCAPE, rb"%2[bB][1-9]", rb"%28\d{3}%29", rb"\+[1-9]\d{0,3}" + _DM_SPACE + rb"\(?\d",
              rb"\d{3}" + _DM_SPACE + rb"\d{3}[\-.]\d{4}"),
    "iban": (_DM_ESCAPE, rb"[A-Z]{2}\d{2}" + _DM_SPACE + rb"[A-Z0-9]{4}" + _DM_SPACE + rb"[A-Z0-9]{4}"),
    "national_id": (_DM_ESCAPE, rb"[A-Z]{2}" + _DM_SPACE + rb"\d{2}" + _DM_SPACE + rb"?\d{2}"),
}
DM_ENCODED_BIT = 32
# ... and its EXTRA_PREFILTERS (with personal.B64_PREFILTER under BASE64), which ``dm_lines`` looks for too when
# DM_EXTRA_BIT is in its mask; a line's bits then hold DM_EXTRA_BIT where the BASE64 prefilter matched.
_DM_ANY_FORM = (rb"%25(?:25)*(?:40|2[bB]|20|28)",
                rb"(?:\xef\xbc[\x90-\x99]|\xd9[\xa0-\xa9]|\xdb[\xb0-\xb9]|\xe0\xa5[\xa6-\xaf])",
                rb"\\u(?:[fF][fF]1[0-9]|066[0-9]|06[fF][0-9]|096[6-9a-fA-F])")
_DM_INVISIBLE = (rb"(?:\xc2\xad|\xe2\x80[\x8b-\x8d]|\xe2\x81[\xa0-\xa4]|\xef\xbb\xbf)",
                 rb"\\u(?:00[aA][dD]|200[bBcCdD]|206[0-4]|[fF][eE][fF][fF])")
_DM_HTML_DIGIT = (rb"(?:&|\\u0026)#(?:0{0,8}(?:4[89]|5[0-7])|[xX]0{0,8}3[0-9])", rb"\d(?:&|\\u0026)#")
_DM_NEAR = rb")[^\n]{0,40}\d{3}"
_DM_B64_CHAR = b"[A-Za-z0-9+/_\\-]"
_DM_B64 = b"(?:^|[^A-Za-z0-9+/_\\-])(?:" + b"|".join(
    b"".join((b"[I-Z]" if i == k else b"[I-Za-f]") + _DM_B64_CHAR + b"{3}" for i in range(5)) for k in range(5)) + b")"
DM_EXTRA: dict[str, tuple[bytes, ...]] = {
    "base64": (_DM_B64,),
    "card": (*_DM_ANY_FORM, *_DM_INVISIBLE, *_DM_HTML_DIGIT, rb"\d\.\d{0,18}[eE]\+?1[2-9]",
             rb"\d{4}[./]\d{4}[./]\d{4}[./]\d{4}"),
    "email": (*_DM_ANY_FORM, *_DM_INVISIBLE, rb"(?:&|\\u0026)#(?:0{0,8}64|[xX]0{0,8}40)",
              rb"@[A-Za-z0-9\-]+(?:&|\\u0026)#", rb"\xef\xbc\xa0", rb"\\u[fF][fF]20",
              rb"@[A-Za-z0-9\-\x80-\xff]*[\x80-\xff][A-Za-z0-9\-\x80-\xff]*\.", rb"@[A-Za-z0-9\-]*\\u[0-9a-fA-F]{4}",
              rb"%40[A-Za-z0-9\-%]+\."),
    "phone": (*_DM_ANY_FORM, *_DM_INVISIBLE, *_DM_HTML_DIGIT,
              rb"(?i)(?:phone|tel|mobil|cell|fax|msisdn|handy|gsm|sms|whatsapp|celular|movil|portable|callback"
              rb"|callerid|landline|rufnummer" + _DM_NEAR),
    "iban": (*_DM_ANY_FORM, *_DM_INVISIBLE, *_DM_HTML_DIGIT,
             rb"(?:^|[^0-9A-Za-z:\-]|[^6]:)[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2} ?[A-Za-z0-9]{3}",
             rb"(?:^|[^0-9A-Za-z:\-]|[^6]:)[A-Za-z]{2}\d{2}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}"),
    "national_id": (*_DM_ANY_FORM, *_DM_INVISIBLE, *_DM_HTML_DIGIT,
                    rb"(?:^|[^0-9A-Za-z.:,+\-])\d{8}(?: ?[A-Za-z]|-[A-Zg-z])",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[XYZxyz][ \-]?\d{7}[ \-]?[A-Za-z]",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[a-z]{6}[0-9lmnpqrstuv]{2}[abcdehlmprst][0-9lmnpqrstuv]{2}[a-z]",
                    rb"(?:^|[^0-9A-Za-z\-])[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3}",
                    rb"(?i)(?:bsn|burgerservice|sofi|citizenservice|steuer|idnr|tin|tax|identifikation|aadha|adhaar"
                    rb"|uidai|ssn|social" + _DM_NEAR),
}
DM_EXTRA_BIT = 64
