"""data_minimisation: no card number, e-mail address, phone number, IBAN or national identifier in clear text.

An audit log must say who did what to which secret, from where and when; it need not hold the personal data or
card numbers that requests carry. Vault and OpenBao HMAC every string of a request and response, unless a mount
opts keys out (``audit_non_hmac_request_keys``) or a device logs raw; paths, errors and headers are clear text
too. Values in the fields a format writes in clear text as evidence (``LogFormat.clear_text``: identities, source
addresses, ids, times) are judged only for card numbers, IBANs and national identifiers, which are never who acted:
an identity is often an e-mail address, and it is what the log is for. In a Vault log, an e-mail address in a secret's
path (request.path, request_uri, a wrapped response's creation_path) that the same log names as who acted (a display
name, token metadata: a policy templated on the identity) is that identity's own secret, not more personal data. The
certificate ids the cert auth method writes into a token's metadata (``cert_login_ids``) are no card numbers. A
Kubernetes event's audit annotations are clear text only where the API server writes them with values of its own
(``formats.k8s_server_annotation``); what a mutating webhook's patch set, a webhook's or a policy's annotations are
judged as the request's object is, a patch's values under the keys they set, and RBAC's reason with the actor named
again excused.

Detectors (``data_minimisation_detectors``), each a shape plus a validation, so that ids and timestamps do not
count:
- ``card``: 13 to 19 digits (contiguous, or grouped 4-4-4-4[-1..3], 4-6-5, 4-6-4 by spaces or dashes; 4-4-4-4 by
  dots or slashes) with a card network's prefix and length, passing the Luhn check. 13 to 15 digits (a byte count
  of terabytes, a duration) only as a string whose key names no quantity, or as a JSON number whose key names a
  card;
- ``email``: an addr-spec (also URL-encoded, ``%40``, once or more) with a domain of labels and a top-level domain
  of letters or an IDNA A-label (``xn--``); UTF-8 in both parts (RFC 6531, U-label domains);
- ``phone``: an international number (``+``, country code, 8 to 15 digits) or a North American one written
  ``(NXX) NXX-XXXX`` / ``NXX-NXX-XXXX`` / ``NXX.NXX.XXXX``; under a key or after a word naming a phone (phone,
  tel, mobile, fax, msisdn...) also a national number (trunk prefix 0, ``020 7946 0958``), a North American one
  with spaces or none, and ``00`` + a country code;
- ``iban``: a country's IBAN length and the ISO 7064 mod-97 check, in any case, grouped by four (by spaces or
  dashes, the same throughout) or not;
- ``national_id``: a US social security number ``AAA-GG-SSSS`` outside the ranges never issued (area 000, 666,
  900-999; group 00; serial 0000), a UK National Insurance number with valid prefix letters, a Spanish DNI/NIE
  (mod-23 letter), an Italian codice fiscale (check letter), a French NIR (key mod 97); under a key or after a word
  naming it (their check digits pass one random number in ten or eleven) a German Steuer-ID (ISO 7064 MOD 11,10),
  a Dutch BSN (11-proof), an Indian Aadhaar number (Verhoeff), and a US SSN written with spaces or no separator
  (``SSN 123 45 6789``, ``ssn=123456789``: nine digits are any number's).

Each detector also reads its text in the other forms it reaches a log in: URL-encoded (decoded up to three times),
HTML character references (``&#64;``, ``&#x40;``, every digit as ``&#52;``: an HTML or XML export), without its
invisible characters (zero-width spaces and joiners, the BOM, the soft hyphen between groups), full-width or other
Unicode digits and signs (NFKC: ``＠``), a JSON float (``4.111111111111111E15``), and base64 or base64url (16
characters or more) that decodes to printable UTF-8 text (Transit's ``plaintext``, a ConfigMap's ``binaryData``).
A key that is itself personal data (KV data keyed by an e-mail address) is shown masked in a finding's field path
(``masked_key_path``).

Findings show a masked form only (a card's first 6 and last 4 digits, an SSN's last 4), never the value, nor any
hash of it (a card number's hash is reversible by trying every number with that prefix and suffix).

Speed: one Hyperscan pass over each block finds every place a detector could match (a superset); only those lines
are looked at, first as raw text (most candidates, such as long numbers, fail validation there), and a line with a
valid candidate is parsed to learn under which field each value sits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import re
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from ..auditlog.formats import (
    K8S_PATCH_ANNOTATION,
    format_of,
    k8s_annotation_value,
    k8s_server_annotation,
    producer_record,
)
from ..auditlog.model import HMAC_PREFIX, Entries, Record
from ..auditlog.vault_json import dumps, loads
from ..config import field_alternatives, field_paths
from ..scan import personal
from ..scan.known import ASCII_ESCAPE
from ..text import _INVISIBLE, URL_USERINFO
from .base import Check, CheckContext, Finding, Note, Skip, Visitor, feed

ID = "data_minimisation"
_MAX = 20  # distinct values reported; then the rest is counted

# -- validators ---------------------------------------------------------------------------------------------------


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for i, c in enumerate(reversed(personal.ascii_digits(digits))):
        d = ord(c) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str:
    """The card network whose prefixes and lengths ``digits`` fits, or ""."""
    digits = personal.ascii_digits(digits)
    n = len(digits)
    if n < 13:
        return ""
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "Mastercard"
    if p2 in (34, 37) and n == 15:
        return "American Express"
    if (p4 == 6011 or 644 <= p3 <= 649 or p2 == 65) and 16 <= n <= 19:
        return "Discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "JCB"
    if (300 <= p3 <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19:
        return "Diners Club"
    if p2 == 62 and 16 <= n <= 19:
        return "UnionPay"
    if p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763) and 13 <= n <= 19:
        return "Maestro"
    return ""


# IBAN lengths by country (the SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24,
    "XK": 20,
}
# The countries whose BBAN (the IBAN past its check digits) is digits only (the SWIFT IBAN registry: BE's is
# 3!n7!n2!n): letters there are no such IBAN (red team rt97 F5: S3's request id, 16 hex characters such as
# BE1853C115B94E60 in CloudTrail's requestID, passed the mod-97 check as a Belgian IBAN about one time in 97).
IBAN_NUMERIC = frozenset({"AE", "AT", "BA", "BE", "CR", "CZ", "DE", "DK", "EE", "ES", "FI", "FO", "GL", "HR", "HU",
                          "IL", "IS", "LT", "ME", "MR", "NO", "PL", "PT", "RS", "SE", "SI", "SK", "ST", "TL", "TN",
                          "XK"})


def iban_valid(iban: str) -> bool:
    """A country's IBAN length, its BBAN of digits only where the registry says so (IBAN_NUMERIC), and the ISO 7064
    mod-97-10 check (``iban`` without spaces)."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    if iban[:2] in IBAN_NUMERIC and not iban[4:].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """A US SSN outside the ranges never issued: area 000, 666 or 900-999, group 00, serial 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})

# -- detectors: shape (a regex over text) + validation -> (kind, masked form) ------------------------------------

_B = r"(?<![0-9A-Za-z])"  # no letter or digit before
_E = r"(?![0-9A-Za-z])"  # none after
_CARD_RES = (
    re.compile(_B + r"\d{13,19}" + _E),
    re.compile(r"(?<![0-9A-Za-z-])\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?(?![0-9A-Za-z]|[ -]\d)"),
    re.compile(r"(?<![0-9A-Za-z-])\d{4}([ -])\d{6}\1\d{4,5}(?![0-9A-Za-z]|[ -]\d)"),
)
# 4-4-4-4 by dots or slashes (a form's or a printout's): not after or before a dot or slash and a digit, so not a
# part of a longer dotted number (a version, an OID); judged apart from the C extension's spans (card_spans).
_CARD_DOTTED_RE = re.compile(r"(?<![0-9A-Za-z./-])\d{4}([./])\d{4}\1\d{4}\1\d{4}(?![0-9A-Za-z]|[./-]\d)")
# an addr-spec: a local part of 1 to 64 characters starting with a letter or digit, not preceded by another
# local-part character; a domain of labels and a top-level domain of letters or an IDNA A-label (found from each
# "@"). RFC 6531 (SMTPUTF8) allows UTF-8 letters and digits in the local part, IDNA U-labels in the domain.
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
# SSH names its own extensions NAME@DOMAIN (RFC 4251, 6): OpenSSH's key and certificate types
# (ssh-ed25519-cert-v01@openssh.com in every signed certificate), ciphers and MACs, libssh's key exchanges. Public
# names of algorithms, never anyone's address.
_SSH_NAMES = frozenset({"openssh.com", "libssh.org"})
# Google Cloud names each service account by an address in gserviceaccount.com (NAME@PROJECT.iam.gserviceaccount.com,
# PROJECT_NUMBER-compute@developer.gserviceaccount.com, service-N@gcp-sa-*.iam.gserviceaccount.com): a workload's
# identity, as GKE's iam.gke.io/gcp-service-account annotation and every IAM binding write it, never a person's
# mailbox (red team rt98 F3).
_MACHINE_DOMAIN = "gserviceaccount.com"
_EMAIL_DOMAIN = re.compile(r"(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+([^\W\d_]{2,24}|[xX][nN]--[A-Za-z0-9-]{1,59})"
                           r"(?!(?:[^\W_]|-))")
# "+", a country code's first digit, 2 to 7 groups of digits (E.164 in print): the reference; ``_intl`` finds its
# matches (see there).
_PHONE_INTL_RE = re.compile(r"(?<![\w+])\+[1-9](?:[ .-]?\(?\d{1,4}\)?){2,7}(?![\w])")
_INTL_START = re.compile(r"(?<![\w+])\+[1-9]")
_INTL_FIRST = re.compile(r"[ .-]?\(?(\d+)")  # the first group's separator and "(", and a run of digits
_INTL_NEXT = re.compile(r"\)?[ .-]?\(?(\d+)")  # a group's ")", the next one's separator and "(", a run of digits
_WORD = re.compile(r"\w")
_PHONE_NANP_RE = re.compile(r"(?<![\w.+-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}([-.]))[2-9]\d{2}(?(1)\1|[-.])\d{4}"
                            r"(?![\w.-]|-\d)")
# Under a key or after a word naming a phone only (personal.PHONE_WORDS): a national number (ITU-T E.123: the
# trunk prefix 0, an area code, groups of digits), "00" and a country code (E.164, at most 15 digits), a North
# American number with spaces or none.
_PHONE_END = r"(?![\w.-]|[ /]\d)"
_PHONE_NATIONAL_RE = re.compile(r"(?<![\w+.-])0[1-9]\d{0,4}(?:[ ./-]?\d{2,8}){1,5}" + _PHONE_END)
_PHONE_00_RE = re.compile(r"(?<![\w+.-])00[1-9]\d{0,3}(?:[ ./-]?\d{1,8}){1,6}" + _PHONE_END)
_PHONE_NANP_PLAIN_RE = re.compile(r"(?<![\w+.-])[2-9]\d{2}( ?)[2-9]\d{2}\1\d{4}" + _PHONE_END)
# The two with groups of digits whose separators are optional are the reference only: a long run of digits splits
# into groups in so many ways that Python's re, backtracking through them at each start, took 73 s on a 10 KB request
# path any client can send (red team rt89). ``_grouped`` finds the same matches in one pass (tests/test_redos_rt89.py
# holds them equal): (start, first part's least and most digits, a group's least and most, the groups' least and
# most).
_GROUPED = {_PHONE_00_RE: (re.compile(r"(?<![\w+.-])00[1-9]"), 3, 6, 1, 8, 1, 6),
            _PHONE_NATIONAL_RE: (re.compile(r"(?<![\w+.-])0[1-9]"), 2, 6, 2, 8, 1, 5)}
_RUN_RE = re.compile(r"\d{1,64}(?:[ ./-]\d{1,64}){0,8}")  # longer than any match: a longer run is none
_END_RE = re.compile(_PHONE_END)


def _grouped(rx: "re.Pattern[str]", text: str) -> Iterator[tuple[int, int]]:
    """The spans ``rx.finditer(text)`` gives, for an expression of ``_GROUPED``: only a whole run of digits and single
    separators can match (any shorter end is followed by a digit or a separator and a digit, which the end
    excludes), and it does where its runs split into the groups' counts."""
    start_rx, fmin, fmax, gmin, gmax, cmin, cmax = _GROUPED[rx]
    pos = 0
    for m in start_rx.finditer(text):
        s = m.start()
        if s < pos:
            continue
        run = _RUN_RE.match(text, s)
        if run is None or _END_RE.match(text, run.end()) is None:
            continue
        first, *rest = re.split(r"[ ./-]", run.group(0))
        if any(len(r) < gmin for r in rest):
            continue
        low = sum(-(-len(r) // gmax) for r in rest)
        high = sum(len(r) // gmin for r in rest)
        for f in range(fmin, min(fmax, len(first)) + 1):
            left = len(first) - f
            if left and left < gmin:
                continue
            lo, hi = low + -(-left // gmax), high + left // gmin
            if max(lo, cmin) <= min(hi, cmax):
                pos = run.end()
                yield s, run.end()
                break
def _intl(text: str) -> Iterator[tuple[int, int]]:
    """The spans ``_PHONE_INTL_RE.finditer(text)`` gives, in one pass: Python's re, backtracking through the ways a run
    of digits splits into groups at each "+", took about 9 s on a 100 KB request path any client can send (red team
    rt89). A match is a string of runs of digits joined by what may lie between two groups; it may end after a run
    or its ")" where no word character follows, and only where its runs make 2 to 7 groups of 1 to 4 digits (from
    one per 4 digits, rounded up, to one per digit). Of those ends the expression gives the furthest: at each choice
    it tries the longer way first, and a longer way reaches every end a shorter one does (tests/test_redos_rt89.py
    holds them equal)."""
    pos = 0
    for m in _INTL_START.finditer(text):
        s = m.start()
        if s < pos:
            continue
        q, step, low, high, best = m.end(), _INTL_FIRST, 0, 0, -1
        while (run := step.match(text, q)) is not None:
            n = len(run.group(1))
            low, high = low + -(-n // 4), high + n
            if low > 7:
                break
            q, step = run.end(), _INTL_NEXT
            if max(low, 2) <= min(high, 7):
                for end in ((q + 1, q) if text.startswith(")", q) else (q,)):
                    if _WORD.match(text, end) is None:
                        best = end
                        break
        if best >= 0:
            pos = best
            yield s, best


# A word naming a phone or one of the weak national identifiers anywhere in a text (a cheap test before the shapes
# that count only after one: personal.PHONE_WORDS and the identifiers' words say which words, whole); the same
# stems make those detectors' prefilters (EXTRA_PREFILTERS).
_PHONE_STEMS = ("phone|tel|mobil|cell|fax|msisdn|handy|gsm|sms|whatsapp|celular|movil|portable|callback|callerid"
                "|landline|rufnummer")
_ID_STEMS = "bsn|burgerservice|sofi|citizenservice|steuer|idnr|tin|tax|identifikation|aadha|adhaar|uidai|ssn|social"
_PHONE_WORD = re.compile(r"(?i)" + _PHONE_STEMS).search
_ID_WORD = re.compile(r"(?i)" + _ID_STEMS).search
_IBAN_RE = re.compile(_B + r"([A-Za-z]{2}\d{2}([ -]?)[A-Za-z0-9]{4}(?:\2[A-Za-z0-9]{4}){1,6}(?:\2[A-Za-z0-9]{1,3})?)"
                      + _E)
_SSN_RE = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
_NINO_RE = re.compile(_B + r"([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])" + _E)
# A Spanish DNI (8 digits) or NIE (X, Y, Z and 7 digits) and its letter; an Italian codice fiscale (digits may be
# letters, omocodia); a French NIR, contiguous or in its printed groups (1 85 05 78 006 084 91).
_ID_B = r"(?<![\w.:,+-])"  # not after a letter, digit, "_" or a number's "." ":" "," (a time's fraction: .12345678Z)
_DNI_RE = re.compile(_ID_B + r"(\d{8}|[XYZxyz][ -]?\d{7})[ -]?([A-Za-z])" + _E)
_CF_RE = re.compile(_ID_B + r"([A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
                    r"[0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z])" + _E)
_NIR_RE = re.compile(r"(?<![\w-])([12378])( ?)(\d{2})\2(\d{2})\2(\d{2}|2[ABab])\2(\d{3})\2(\d{3}) ?(\d{2})"
                     r"(?![\w-]|[ ]\d)")
# Under a key or after a word naming them only: a German Steuer-ID (11 digits, also 2-3-3-3), a Dutch BSN (9
# digits, also 4-2-3 and 3-3-3 with dots), an Indian Aadhaar number (12 digits, also 4-4-4).
_STEUER_RE = re.compile(r"(?<![\w.-])(\d{2}) ?(\d{3}) ?(\d{3}) ?(\d{3})(?![\w-]|[ .]\d)")
_BSN_RE = re.compile(r"(?<![\w.-])(\d{3,4})([ .]?)(\d{2,3})\2(\d{3})(?![\w-]|[ .]\d)")
_SSN_WEAK_RE = re.compile(r"(?<![\w.-])(\d{3})( ?)(\d{2})\2(\d{4})(?![\w-]|[ .]\d)")
_AADHAAR_RE = re.compile(r"(?<![\w.-])([2-9]\d{3})([ -]?)(\d{4})\2(\d{4})(?![\w-]|[ .]\d)")

KINDS = {
    "card": "a card number",
    "email": "an e-mail address",
    "phone": "a phone number",
    "iban": "an IBAN",
    "national_id": "a national identifier",
}


@dataclass(frozen=True)
class Hit:
    """One value found: its detector, what it is (with its network or kind), and its masked form. ``value``: the
    value itself while a line is judged; once kept by the check, its keyed digest (``Minimisation._add``), which
    tells values apart in every process of the run and is all that travels between them. Never shown."""

    detector: str
    what: str
    masked: str
    value: str

    def __repr__(self) -> str:
        return f"Hit({self.detector!r}, {self.masked!r})"


@dataclass(frozen=True)
class Where:
    """Where a text sits: the key it is the value of and that key's parent (a dotted path's last two segments), and
    whether it was a JSON number. Detectors whose shapes a random number fits often enough ask for a key or a
    nearby word naming them; a 13-15 digit card number is never under a key naming a quantity."""

    key: str = ""
    parent: str = ""
    number: bool = False

    @staticmethod
    def of(path: str, number: bool = False) -> "Where":
        parts = path.rsplit(".", 2)
        return Where(parts[-1], parts[-2] if len(parts) > 1 else "", number)


NOWHERE = Where()


def _mask_keep(text: str, keep_start: int, keep_end: int) -> str:
    return "".join(c if (i < keep_start or i >= len(text) - keep_end or not c.isalnum()) else "*"
                   for i, c in enumerate(text))


def _article(noun: str) -> str:
    """``noun`` after "a" or "an" as it is said: "an American Express", "a UnionPay", "an e-mail"."""
    vowel = noun[:1] in "AEIOaeio" or (noun[:1] in "Uu" and not noun[:3].lower() == "uni")
    return ("an " if vowel else "a ") + noun


_CUT = re.compile(r"[,;{}\[\]&?|\n]")


def _near(text: str, start: int) -> list[str]:
    """The last words before ``start`` in ``text`` since the previous value's end (a comma, a brace, an "&"):
    what names the value that starts there (a JSON key, a path segment, a query parameter's name, a label)."""
    window = text[max(0, start - 40) : start]
    cut = [m.end() for m in _CUT.finditer(window)]
    return personal.words(window[cut[-1] if cut else 0 :])[-3:]


def _named(text: str, start: int, where: Where, vocabulary: frozenset[str]) -> bool:
    """Whether the value at ``start`` of ``text`` sits under a key, or after a word, in ``vocabulary``."""
    return (personal.named(personal.words(where.parent) + personal.words(where.key), vocabulary)
            or personal.named(_near(text, start), vocabulary))


# What names a card number's field: a JSON number of 13 to 15 digits is judged only there.
CARD_WORDS = frozenset({"card", "cc", "pan", "cardnumber", "ccnumber", "creditcard", "debitcard", "cardno", "ccn",
                        "kreditkarte", "carte", "tarjeta"})
# The last word of a key that names an identifier (instance_id, traceId, request.uid).
ID_WORDS = frozenset({"id", "ids", "uid", "guid", "uuid", "identifier"})


def _only_after_plus(span: str, text: str) -> bool:
    """Every occurrence of ``span`` (digits) in ``text`` that a card number can start at follows a "+"."""
    return re.search(r"(?<![+0-9A-Za-z])" + span, text) is None


def _cards(text: str, where: Where = NOWHERE) -> Iterator[Hit]:
    from ..scan.native import lib  # the C extension finds the same matches in ASCII text, much faster

    seen: set[str] = set()
    spans = lib.card_spans(text) if lib is not None else None
    if spans is None:
        spans = [m.group(0) for rx in _CARD_RES for m in rx.finditer(text)]
    if "." in text or "/" in text:
        spans = [*spans, *(m.group(0) for m in _CARD_DOTTED_RE.finditer(text))]
    for span in spans:
        digits = personal.ascii_digits(span)
        if digits in seen or not 13 <= len(digits) <= 19:
            continue
        if span == digits and "+" + span in text and _only_after_plus(span, text):
            continue  # "+4915112345678": an international phone number (the phone detector's), not a card number
        network = card_network(digits)
        if not network or not luhn(digits):
            continue
        key = personal.words(where.key)
        if key and not personal.named(key, CARD_WORDS) and (
                personal.named(key, personal.QUANTITY_WORDS) or (key[-1] in ID_WORDS and text.strip() == span)):
            # Under a key naming a quantity (a byte count, a time), or whole under a key naming an id: a 64-bit id
            # written in decimal (GKE's container.googleapis.com/instance_id, Datadog's dd.trace_id, a Snowflake
            # id) is 19 digits, and one in about 70 has a card network's prefix and passes Luhn (red team rt98 F2)
            continue
        if len(digits) <= 15:
            # A legacy length (a 13-digit Visa) that a quantity fits as often: a byte count of 4 to 5 TB passes as a
            # Visa one time in ten. As a JSON number, judged only under a key naming a card; as a string, not under
            # a key or after a word naming a quantity (free, bytes, storage, size, ...).
            at = text.find(span)
            if where.number and not _named(text, at, where, CARD_WORDS):
                continue
            if personal.named(_near(text, at), personal.QUANTITY_WORDS):
                continue
        seen.add(digits)
        yield Hit("card", f"{_article(network)} card number", digits[:6] + "*" * (len(digits) - 10) + digits[-4:],
                  digits)


def personal_data(value: str, path: str = "", number: bool = False) -> bool:
    """Whether ``value`` (under the dotted ``path``; a JSON number if ``number``) is personal data by any detector
    (``DETECTORS``): what another check must not fingerprint, as the few values it can be give it back."""
    return bool(detect(value, tuple(DETECTORS), Where.of(path, number)))


def _userinfo(text: str, start: int, at: int) -> bool:
    """Whether ``text[start:at]`` and the "@" after it end a URL's user information (``postgres://app:S3cret@db``:
    user@host or user:password@host, which no_secret_leak judges), not an e-mail address, whose masked form would
    show the password's first character."""
    if text.find("://", max(0, start - 256), at) < 0:  # (no scheme before it: the common case, found fast)
        return False
    return any(m.end() == at + 1 for m in URL_USERINFO.finditer(text, max(0, start - 256), at + 1))


# A remote shell's destination, USER@HOST: in the command line of ssh, scp, sftp, rsync, mosh or git (an exec
# event's command: Teleport's, a shell history), or in scp's and git's HOST:PATH form (git@github.com:org/repo.git).
# A login on a host, not anyone's address.
_REMOTE_COMMAND_RE = re.compile(r"(?:^|[\s;&|\"'(])(?:ssh|scp|sftp|rsync|mosh|ssh-copy-id|git)(?:\s[^;&|\n]*)?\s\Z")


def _remote_login(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]``, a USER@HOST, is a remote shell's destination (above), not an address."""
    if text[end : end + 1] == ":" and end + 1 < len(text) and not text[end + 1].isspace():
        return True
    if start == 0 or not text[start - 1].isspace():  # (the expression ends in a space before USER: found fast)
        return False
    return _REMOTE_COMMAND_RE.search(text, max(0, start - 256), start) is not None


def _local_char(c: str) -> bool:
    return c in _EMAIL_LOCAL or (not c.isascii() and c.isalnum())


def _emails(text: str, where: Where = NOWHERE) -> Iterator[Hit]:
    at = text.find("@")
    while at >= 0:
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        start = at
        while start > 0 and at - start <= 64 and _local_char(text[start - 1]):
            start -= 1
        local = text[start:at]
        if (domain is not None and 1 <= len(local) <= 64 and local[0].isalnum()
                and domain.group(0).lower() not in _SSH_NAMES and not _machine(domain.group(0))
                and not _userinfo(text, start, at) and not _remote_login(text, start, domain.end())):
            yield Hit("email", "an e-mail address", f"{local[0]}***@***.{domain.group(1)}",
                      (local + "@" + domain.group(0)).lower())
        at = text.find("@", at + 1)


def _machine(domain: str) -> bool:
    """Whether ``domain`` names a cloud's service accounts (_MACHINE_DOMAIN or below it)."""
    d = domain.lower()
    return d == _MACHINE_DOMAIN or d.endswith("." + _MACHINE_DOMAIN)


def _phones(text: str, where: Where = NOWHERE) -> Iterator[Hit]:
    for start, end in _intl(text):
        digits = re.sub(r"\D", "", text[start:end])
        if 8 <= len(digits) <= 15:
            yield Hit("phone", "a phone number", "+" + "*" * (len(digits) - 2) + digits[-2:], "+" + digits)
    for m in _PHONE_NANP_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        yield Hit("phone", "a phone number", "*" * 8 + digits[-2:], "+1" + digits)
    if not (_PHONE_WORD(text) or _PHONE_WORD(where.key) or _PHONE_WORD(where.parent)):
        return
    for rx in (_PHONE_00_RE, _PHONE_NATIONAL_RE, _PHONE_NANP_PLAIN_RE):
        spans = _grouped(rx, text) if rx in _GROUPED else (m.span() for m in rx.finditer(text))
        for start, end in spans:
            digits = re.sub(r"\D", "", text[start:end])
            if rx is _PHONE_00_RE:
                ok = 8 <= len(digits) - 2 <= 15 and personal.country_code(digits[2:]) != ""
                value = "+" + digits[2:]
            elif rx is _PHONE_NATIONAL_RE:
                ok = 9 <= len(digits) <= 13
                value = digits
            else:
                ok = len(digits) == 10
                value = "+1" + digits
            if ok and _named(text, start, where, personal.PHONE_WORDS):
                yield Hit("phone", "a phone number", "*" * (len(digits) - 2) + digits[-2:], value)


def _ibans(text: str, where: Where = NOWHERE) -> Iterator[Hit]:
    for m in _IBAN_RE.finditer(text):
        iban = m.group(1).replace(m.group(2) or " ", "").upper()
        if iban_valid(iban):
            yield Hit("iban", "an IBAN", iban[:2] + "*" * (len(iban) - 6) + iban[-4:], iban)


def _national_ids(text: str, where: Where = NOWHERE) -> Iterator[Hit]:
    for m in _SSN_RE.finditer(text):
        if ssn_valid(*m.group(1, 2, 3)):
            yield Hit("national_id", "a US social security number", "***-**-" + m.group(3), m.group(0))
    for m in _NINO_RE.finditer(text):
        if m.group(1) not in _NINO_BAD_PREFIXES:
            value = "".join(m.group(1, 2, 3, 4, 5))
            yield Hit("national_id", "a UK National Insurance number", "*" * 8 + value[-1],
                      value)
    for m in _DNI_RE.finditer(text):
        number = m.group(1).replace(" ", "").replace("-", "").upper()
        if personal.dni_valid(number, m.group(2)):
            what = "a Spanish NIE" if number[0] in "XYZ" else "a Spanish DNI"
            yield Hit("national_id", what, "*" * len(number) + m.group(2).upper(), number + m.group(2).upper())
    for m in _CF_RE.finditer(text):
        code = m.group(1).upper()
        if (m.group(1).isupper() or m.group(1).islower()) and personal.codice_fiscale_valid(code):
            yield Hit("national_id", "an Italian codice fiscale", "*" * 15 + code[15], code)
    for m in _NIR_RE.finditer(text):
        nir = "".join(m.group(1, 3, 4, 5, 6, 7, 8)).upper()
        if personal.nir_valid(nir) and not where.number:
            yield Hit("national_id", "a French social security number (NIR)", "*" * 13 + nir[13:], nir)
    if not _TWO_DIGITS(text) or not (_ID_WORD(text) or _ID_WORD(where.key) or _ID_WORD(where.parent)):
        return
    for m in _SSN_WEAK_RE.finditer(text):
        if ssn_valid(*m.group(1, 3, 4)) and _named(text, m.start(), where, personal.SSN_WORDS):
            yield Hit("national_id", "a US social security number", "***-**-" + m.group(4),
                      "-".join(m.group(1, 3, 4)))
    for rx, valid, words, what in (
            (_STEUER_RE, personal.steuer_id_valid, personal.STEUER_WORDS, "a German tax identification number"),
            (_BSN_RE, personal.bsn_valid, personal.BSN_WORDS, "a Dutch citizen service number (BSN)"),
            (_AADHAAR_RE, personal.aadhaar_valid, personal.AADHAAR_WORDS, "an Indian Aadhaar number")):
        for m in rx.finditer(text):
            digits = "".join(g for g in m.groups() if g and g.isdigit())
            if valid(digits) and _named(text, m.start(), where, words):
                yield Hit("national_id", what, "*" * (len(digits) - 2) + digits[-2:], digits)


DETECTORS: dict[str, Callable[[str, Where], Iterator[Hit]]] = {
    "card": _cards,
    "email": _emails,
    "phone": _phones,
    "iban": _ibans,
    "national_id": _national_ids,
}

# Hyperscan prefilters: where a detector could match (a superset of its regexes, without their lookarounds). Kept
# as narrow as the shapes allow: a log's request ids (UUIDs with digit-only groups) and times must not send every
# line to the judge.
PREFILTERS: dict[str, tuple[bytes, ...]] = {
    # 13 digits where the judge's card number can start: nothing alphanumeric before them once the JSON escapes are
    # read (a \uXXXX may lend its hex digits to the raw run); not the digits inside an HMAC digest, which every
    # Vault line holds. Nothing is asked of what follows: that would take a newline into the match. A grouped number
    # where the judge's can start: not after a "-" either, so not the groups of digits in a UUID (a request id:
    # about one Vault line in a hundred has one, and each was judged whole for nothing).
    "card": (rb"(?:^|[^0-9A-Za-z]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{13}",
             rb"(?:^|[^0-9A-Za-z\-]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{4}[ \-]\d{4,6}[ \-]\d{4}"),
    "email": (rb"@[A-Za-z0-9\-]+\.", rb"%40[A-Za-z0-9\-]+\."),
    "phone": (rb"\+[1-9][\d ().\-]{6}", rb"\(\d{3}\) ?\d{3}[\-.]\d{4}", rb"\d{3}[\-.]\d{3}[\-.]\d{4}"),
    "iban": (rb"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2}",),
    "national_id": (rb"\d{3}-\d{2}-\d{4}", rb"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"),
}
# The same shapes where PREFILTERS cannot see them, kept apart (the C extension's pass implements each set as it is
# here: scan.native's DM_PREFILTERS and DM_ENCODED; a changed set falls back to Hyperscan): a printable ASCII
# character written as a \u escape by an encoder other than Go's (which escapes only "&", "<" and ">"; a line of
# Vault/OpenBao never holds such an escape), for every detector; and URL-encoded text, which ``detect`` reads
# decoded: an encoded "+", "(" or ")" before a number, a space written "+" or "%20" in a grouped card number, IBAN
# or National Insurance number.
_ASCII_ESCAPE = ASCII_ESCAPE.encode("ascii")
_SPACE = rb"(?:\+|%20)"
ENCODED_PREFILTERS: dict[str, tuple[bytes, ...]] = {
    "card": (_ASCII_ESCAPE, rb"\d{4}" + _SPACE + rb"\d{4,6}" + _SPACE + rb"\d{4}"),
    "email": (_ASCII_ESCAPE,),
    "phone": (_ASCII_ESCAPE, rb"%2[bB][1-9]", rb"%28\d{3}%29", rb"\+[1-9]\d{0,3}" + _SPACE + rb"\(?\d",
              rb"\d{3}" + _SPACE + rb"\d{3}[\-.]\d{4}"),
    "iban": (_ASCII_ESCAPE, rb"[A-Z]{2}\d{2}" + _SPACE + rb"[A-Z0-9]{4}" + _SPACE + rb"[A-Z0-9]{4}"),
    "national_id": (_ASCII_ESCAPE, rb"[A-Z]{2}" + _SPACE + rb"\d{2}" + _SPACE + rb"?\d{2}"),
}


# The shapes PREFILTERS and ENCODED_PREFILTERS do not cover, looked for in the same C pass (scan.native's DM_EXTRA;
# a changed set falls back to Hyperscan): base64 text (16 characters of either alphabet with a capital letter: a
# digest's hex and a UUID have none), text
# URL-encoded more than once, digits of other scripts (full-width, Arabic-Indic, Devanagari: UTF-8), a JSON float
# with an exponent, an e-mail address with a UTF-8 domain, an IBAN not in capitals, the national identifiers, and
# the numbers that count only under a word naming them (a national phone number; a Steuer-ID, BSN or Aadhaar).
_ANY_FORM = (rb"%25(?:25)*(?:40|2[bB]|20|28)",
             rb"(?:\xef\xbc[\x90-\x99]|\xd9[\xa0-\xa9]|\xdb[\xb0-\xb9]|\xe0\xa5[\xa6-\xaf])",
             rb"\\u(?:[fF][fF]1[0-9]|066[0-9]|06[fF][0-9]|096[6-9a-fA-F])")  # the same digits as JSON escapes
_NEAR = rb"[^\n]{0,40}\d{3}"
# An invisible character (raw or as a JSON escape) between a value's characters, and an HTML character reference
# (its "&" raw or as Go's escape \u0026) of a digit, after a digit (a separator: "4111&#32;1111"), or of "@", "."
# or "-" after a letter or digit (an address): the text ``_forms`` reads without them.
_INVISIBLE_FORM = (rb"(?:\xc2\xad|\xe2\x80[\x8b-\x8d]|\xe2\x81[\xa0-\xa4]|\xef\xbb\xbf)",
                   rb"\\u(?:00[aA][dD]|200[bBcCdD]|206[0-4]|[fF][eE][fF][fF])")
_HTML_AMP = rb"(?:&|\\u0026)#"
_HTML_DIGIT = (_HTML_AMP + rb"(?:0{0,8}(?:4[89]|5[0-7])|[xX]0{0,8}3[0-9])", rb"\d" + _HTML_AMP)
_HTML_AT = (_HTML_AMP + rb"(?:0{0,8}64|[xX]0{0,8}40)", rb"@[A-Za-z0-9\-]+" + _HTML_AMP)
BASE64 = "base64"  # the prefilters' name for a base64 run, which any detector may find decoded
EXTRA_PREFILTERS: dict[str, tuple[bytes, ...]] = {
    # (every Vault line has one: client_id is the base64 of a token's SHA-256; such a line is judged only where a
    # run decodes to text: Scanner.judge_line)
    BASE64: (personal.B64_PREFILTER,),
    "card": (*_ANY_FORM, *_INVISIBLE_FORM, *_HTML_DIGIT, rb"\d\.\d{0,18}[eE]\+?1[2-9]",
             rb"\d{4}[./]\d{4}[./]\d{4}[./]\d{4}"),
    # (a full-width "@", U+FF20, raw or escaped)
    "email": (*_ANY_FORM, *_INVISIBLE_FORM, *_HTML_AT, rb"\xef\xbc\xa0", rb"\\u[fF][fF]20",
              rb"@[A-Za-z0-9\-\x80-\xff]*[\x80-\xff][A-Za-z0-9\-\x80-\xff]*\.",
              rb"@[A-Za-z0-9\-]*\\u[0-9a-fA-F]{4}",
              rb"%40[A-Za-z0-9\-%]+\."),
    "phone": (*_ANY_FORM, *_INVISIBLE_FORM, *_HTML_DIGIT, rb"(?i)(?:" + _PHONE_STEMS.encode() + rb")" + _NEAR),
    # (not after a "-": a UUID's last group of 12 hex digits; the shortest IBAN has 15 characters)
    "iban": (*_ANY_FORM, *_INVISIBLE_FORM, *_HTML_DIGIT,
             rb"(?:^|[^0-9A-Za-z:\-]|[^6]:)[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2} ?[A-Za-z0-9]{3}",
             # (grouped by dashes: not after a letter, digit or "-", as above, for a UUID's groups hold the shape:
             # one Vault line in ten was judged whole for it)
             rb"(?:^|[^0-9A-Za-z:\-]|[^6]:)[A-Za-z]{2}\d{2}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}"),
    # (a DNI's letter after a "-" in small letters, never a hex digit: a UUID's first group of eight digits is
    # followed by one, on Kubernetes events' auditID and credential-id lines)
    "national_id": (*_ANY_FORM, *_INVISIBLE_FORM, *_HTML_DIGIT,
                    rb"(?:^|[^0-9A-Za-z.:,+\-])\d{8}(?: ?[A-Za-z]|-[A-Zg-z])",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[XYZxyz][ \-]?\d{7}[ \-]?[A-Za-z]",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]",
                    rb"(?:^|[^0-9A-Za-z.:,+\-])[a-z]{6}[0-9lmnpqrstuv]{2}[abcdehlmprst][0-9lmnpqrstuv]{2}[a-z]",
                    rb"(?:^|[^0-9A-Za-z\-])[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3}",
                    rb"(?i)(?:" + _ID_STEMS.encode() + rb")" + _NEAR),
}

# Separators a locale-aware formatter or a word processor groups a number with, which ``_forms`` reads as the ASCII
# ones: every Unicode space (Zs: no-break U+00A0, narrow no-break U+202F (CLDR fr-FR), thin, figure, ideographic...)
# and a tab between two letters or digits as a space; a Unicode hyphen or dash (U+2010-U+2015, the minus sign) as
# "-"; each raw (UTF-8), as a JSON escape, or as an HTML named reference (the WHATWG list: &nbsp; &thinsp; &numsp;
# &hyphen; &ndash;...; numeric references are in EXTRA_PREFILTERS), after a letter, a digit or ")". And the named
# references of the other characters the detectors read (&commat; &period; &plus; &lpar; &rpar; &lowbar; &percnt;).
# Kept apart from the three tables above, which the C extension's pass implements: this one, of literals, runs as one
# Hyperscan database beside it (_separator_prefilter).
_AFTER = rb"[0-9A-Za-z)]"
_HTML_AMP_NAMED = rb"(?:&|\\u0026)"
_SEPARATED = (_AFTER + rb"(?:\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\x90-\x95\xaf]|\xe2\x81\x9f|\xe2\x88\x92"
                        rb"|\xe3\x80\x80|\xef\xb9[\x98\xa3]|\xef\xbc\x8d)",
              _AFTER + rb"\\u(?:00[aA]0|1680|200[0-9aA]|201[0-5]|202[fF]|205[fF]|2212|3000|[fF][eE]58|[fF][eE]63"
                       rb"|[fF][fF]0[dD])",
              _AFTER + rb"(?:\t|\\t|\\u0009)[0-9A-Za-z(]",
              _AFTER + _HTML_AMP_NAMED + rb"(?:nbsp|NonBreakingSpace|ensp|emsp|numsp|puncsp|thinsp|ThinSpace|hairsp"
                                         rb"|VeryThinSpace|MediumSpace|Tab|hyphen|dash|ndash|mdash|horbar|minus"
                                         rb"|period|rpar)",
              _HTML_AMP_NAMED + rb"(?:plus|lpar)")
SEPARATOR_PREFILTERS: dict[str, tuple[bytes, ...]] = {
    "card": _SEPARATED,
    "phone": _SEPARATED,
    "iban": _SEPARATED,
    "national_id": _SEPARATED,
    "email": (_SEPARATED[0], _SEPARATED[1],
              _HTML_AMP_NAMED + rb"(?:commat|period|hyphen|dash|lowbar|UnderBar|percnt|plus|minus)"),
}


# A "+" between two letters or digits (or after a closing parenthesis): a space in form-encoded text (a query
# string: "4111+1111+1111+1111", "GB82+WEST+1234...", "%28415%29+555-0132"). A "+" that starts a number is kept.
_FORM_SPACE = re.compile(r"(?<=[0-9A-Za-z)])\+(?=[0-9A-Za-z(])")
# The shapes ENCODED_PREFILTERS looks for with a "+" for a space, as decoded text holds them: only then is the text
# read with its "+" as spaces (a grouped card number, an international, national or North American phone number, a
# grouped IBAN, a National Insurance number, a grouped NIR or Aadhaar number).
_FORM_SHAPES = re.compile(r"\d{4}\+\d{4,6}\+\d{4}|\+[1-9]\d{0,3}\+\(?\d|\d{3}\+\d{3}[\-.+]\d{4}|\)\+\d{3}"
                          r"|[A-Za-z]{2}\d{2}\+[A-Za-z0-9]{4}\+[A-Za-z0-9]{4}|[A-Z]{2}\+\d{2}\+?\d{2}|0\d{1,4}\+\d{2,8}"
                          r"|\d\+\d{2}\+\d{2}\+\d{2}")
# A JSON number written with a fraction or an exponent (Python's 4111111111111111.0, Jackson's 4.111111111111111E15):
# read as the integer it is, when it is one of 12 digits or more.
_FLOAT_RE = re.compile(r"(?<![\w.+-])(\d+\.\d+[eE]\+?\d{1,2}|\d+[eE]\+?\d{1,2}|\d{12,}\.\d+)(?![\w.])")


def _integral(m: re.Match[str]) -> str:
    try:
        n = Decimal(m.group(0))
    except InvalidOperation:  # pragma: no cover - the expression reads numbers only
        return m.group(0)
    if n != n.to_integral_value() or not 10**12 <= n < 10**20:
        return m.group(0)
    return str(int(n))


# Invisible characters (text._INVISIBLE: zero-width spaces and joiners, the soft hyphen, the BOM...) inside a value.
_INVISIBLE_RE = re.compile("[" + _INVISIBLE + "]")
# The separators SEPARATOR_PREFILTERS looks for (after an HTML reference is read): a Unicode space (Zs, U+0020 aside)
# anywhere or a tab between two letters or digits, read as a space; a Unicode hyphen or dash between two, as "-".
ZS = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACES_RE = re.compile("[" + ZS + "]|(?<=[0-9A-Za-z)])\t(?=[0-9A-Za-z(])")
_DASHES_RE = re.compile(r"(?<=[^\W_])[\u2010-\u2015\u2212\ufe58\ufe63\uff0d](?=[^\W_])")


def _forms(text: str, numbers: bool = True) -> list[str]:
    """``text`` and the other forms it is read in: without its invisible characters, its HTML character references
    read (``&#64;``, ``&commat;``), its Unicode spaces, tabs and dashes between characters as " " and "-"
    (``_SPACES_RE``, ``_DASHES_RE``), its NFKC form (full-width digits, ``＠``), URL-decoded up to three times (an
    address encoded twice, ``%2540``), a form's "+" read as a space, and (``numbers``: for a detector of a number)
    JSON floats as integers."""
    texts = [text]

    def add(t: str) -> None:
        if t not in texts:
            texts.append(t)

    if not text.isascii():
        text = _INVISIBLE_RE.sub("", text)
        add(text)
    if "&" in text:
        text = html.unescape(text)
        add(text)
    if "\t" in text or not text.isascii():
        spaced = _DASHES_RE.sub("-", _SPACES_RE.sub(" ", text))
        if spaced != text:
            text = spaced
            add(text)
    add(personal.nfkc(text))
    decoded = text
    for _ in range(3):
        if "%" not in decoded:
            break
        once = urllib.parse.unquote(decoded)
        if once == decoded:
            break
        decoded = once
        add(decoded)
        add(personal.nfkc(decoded))
    if "+" in decoded and _FORM_SHAPES.search(decoded) is not None:  # (a "+" of base64 is no space: left alone)
        add(_FORM_SPACE.sub(" ", decoded))
    for t in list(texts) if numbers else ():
        if ("e" in t or "E" in t or "." in t) and _FLOAT_RE.search(t) is not None:
            add(_FLOAT_RE.sub(_integral, t))
    return texts


def detect(text: str, detectors: Sequence[str], where: Where = NOWHERE, _depth: int = 0, *,
           base64: bool = True) -> list[Hit]:
    """Every value of the given detectors in ``text`` (read in every form ``_forms`` gives; a base64 or base64url
    run of 16 characters or more that decodes to printable UTF-8 text is judged decoded too, with its JSON escapes
    read, twice over at most; not when ``base64`` is False: the caller knows there is none). ``where``: the key
    ``text`` is the value of, which some detectors ask for (Where)."""
    out: list[Hit] = []
    seen: set[tuple[str, str]] = set()

    def keep(hits: Iterable[Hit]) -> None:
        for hit in hits:
            if (hit.detector, hit.value) not in seen:
                seen.add((hit.detector, hit.value))
                out.append(hit)

    texts = _forms(text, numbers=any(name != "email" for name in detectors))  # (a float is no e-mail address)
    for t in texts:
        for name in detectors:
            keep(DETECTORS[name](t, where))
    if base64 and _depth < 2:
        for t in texts:
            keep(_in_payloads(t, detectors, _depth))
    return out


def _in_payloads(text: str, detectors: Sequence[str], depth: int = 0) -> Iterator[Hit]:
    """What ``detect`` finds in the text each base64 or base64url payload of ``text`` decodes to (its JSON escapes
    read), one payload after the other."""
    for decoded in personal.base64_texts(text):
        yield from detect(_read_escapes(decoded), detectors, NOWHERE, depth + 1)


# -- where a value sits ----------------------------------------------------------------------------------------

# Detectors whose finds are never evidence of who acted: a card number, an IBAN or a national identifier is no
# identity, so it is judged in the clear-text fields too. Vault and OpenBao write a token's metadata (auth.metadata,
# set by whoever creates the token: `bao token create -metadata=...`) in clear, never HMAC'd.
_NEVER_IDENTITY = frozenset({"card", "iban", "national_id"})

# Where a Vault entry names the request's path: request.path, and (newer Vault, audit/types.go) request.request_uri,
# the HTTP request's target ("/v1/" + the namespace + the path, with its query string); a wrapped response names the
# path of the request that made it (response.wrap_info.creation_path, written in clear).
_PATHS = frozenset({"request.path", "request.request_uri", "response.wrap_info.creation_path"})
# Paths that name an identity as a segment (userpass, ldap, okta, radius logins and users; identity store names):
# who logs in or is managed, evidence like a display name. The name's segment is not judged; the rest is.
_IDENTITY_IN_PATH_RE = re.compile(r"((?:auth/.+/(?:login|users|groups)|identity/(?:entity|entity-alias|group)/name)/)"
                                  r"[^/]+")
# Where a Vault entry names who acted (a token's display name and metadata: an OIDC/JWT login's e-mail claim).
_VAULT_IDENTITY = (("auth", "display_name"), ("auth", "metadata"), ("response", "auth", "display_name"),
                   ("response", "auth", "metadata"))
# The key of a finding in a secret's path (request.path, request.request_uri), kept apart from the same value found
# elsewhere: a path segment that names an identity the log names anyway is that identity's own secret.
_IN_PATH = "path"
# The fix for a value in a secret's path: a Vault or OpenBao audit device HMACs request and response data, never a
# path, so no tuning of the mount applies (red team rt65, L1).
_PATH_FIX = ("keep personal data and card numbers out of secret paths: the vault writes a path in clear text whatever "
             "the audit device's or the mount's settings, so name secrets by an id and keep the personal data in the "
             "secret's data, which the vault HMACs; restrict and purge what the log already holds")


def vault_identity_emails(data: dict[str, Any]) -> set[str]:
    """The e-mail addresses a Vault entry names as who acted: in its token's display name and metadata (a JWT/OIDC
    login's e-mail claim, a userpass name). A policy templated on that identity
    (``secret/data/{{identity.entity.aliases.<accessor>.name}}``) names the same address in the secret's path. A
    display name is the login mount's path, "-" and the alias name ("jwt-carol@example.org", "my-oidc-..."): each
    address after a "-" of the local part counts too."""
    found: set[str] = set()
    for keys in _VAULT_IDENTITY:
        v: Any = data
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        for _, text in values(v) if v is not None else ():
            for h in _emails(text):
                local, _, domain = h.value.partition("@")
                parts = local.split("-")
                found.update("-".join(parts[i:]) + "@" + domain for i in range(len(parts)) if parts[i])
    return found


def values(data: Any, skip: Callable[[str], bool] = lambda _p: False) -> Iterator[tuple[str, str]]:
    """Every string and integer of parsed JSON with its dotted path (list items take their list's path), and every
    key longer than 5 characters (KV v1 keys, header names carry data too) under its parent's path; nothing at or
    below a path ``skip`` says yes to. A key that is personal data is masked in the paths (``masked_key``)."""
    for path, value, _number in typed_values(data, skip):
        yield path, value


def typed_values(data: Any, skip: Callable[[str], bool] = lambda _p: False) -> Iterator[tuple[str, str, bool]]:
    """``values``, each with whether it was a JSON number (an integer, or a float with an integral value: Python's
    ``4111111111111111.0``, Jackson's ``4.111111111111111E15``, of 10 ** 12 or more, written as its digits)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, str):
            yield p, v, False
        elif isinstance(v, dict):
            for k, vv in v.items():
                key = str(k)
                if len(key) > 5:
                    yield p, key, False
                shown = key if _KEY_GATE(key) is None else masked_key(key, Where.of(p))
                child = f"{p}.{shown}" if p else shown
                if not skip(child):
                    stack.append((child, vv))
        elif isinstance(v, list):
            stack.extend((p, vv) for vv in v)
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**12:
            yield p, str(v), True
        elif isinstance(v, float) and v.is_integer() and 10**12 <= abs(v) < 10**20:
            yield p, str(int(v)), True


# A key that may hold personal data: "@" (or its encodings), two digits in a row, a non-ASCII character.
_KEY_GATE = re.compile(r"@|%[24]|\d\d|[^\x00-\x7f]").search


def masked_key(key: str, where: Where = NOWHERE) -> str:
    """``key`` (one key of a JSON object: KV data keyed by a customer's address or card number) as a finding's
    field path shows it: as written, or, when a detector finds personal data in it, ``<KIND MASKED>`` with the
    masked form the finding of that value shows (``<e-mail address j***@***.com>``)."""
    if _KEY_GATE(key) is None:
        return key
    hits = detect(key, tuple(DETECTORS), where)
    if not hits:
        return key
    return "<" + ", ".join(dict.fromkeys(f"{h.what.split(' ', 1)[1]} {h.masked}" for h in hits)) + ">"


def masked_key_path(path: Union[str, Sequence[str]]) -> str:
    """A field path as a finding may print it: no key that is itself personal data (an e-mail address, a card
    number, a phone number, an IBAN, a national identifier) in clear, each masked as ``masked_key`` masks it.

    ``path``: the keys from the root (exact), or a dotted string. A dotted string cannot say where a key holding
    dots starts (``data.jane.doe@example.com.card``): the segments from the first one to the last that an
    e-mail address found there can reach are masked together, the rest kept (``<e-mail address
    d***@***.com>.card``); other values are masked segment by segment, or over the fewest adjacent segments that
    hold them."""
    if not isinstance(path, str):
        keys = list(path)
        return ".".join(masked_key(k, Where(keys[i - 1] if i else "")) for i, k in enumerate(keys))
    if _KEY_GATE(path) is None:
        return path
    segs = path.split(".")
    names = tuple(DETECTORS)

    def found(i: int, j: int) -> list[Hit]:
        text = ".".join(segs[i:j])
        return detect(text, names, Where(segs[i - 1] if i else "")) if _KEY_GATE(text) else []

    out: list[str] = []
    done = 0  # segments before this one are in ``out``
    while done < len(segs):
        # the first segment a value ends in, then the last one it can start at: the fewest segments that hold it
        end = next((j for j in range(done + 1, len(segs) + 1) if found(done, j)), 0)
        if not end:
            out.extend(segs[done:])
            break
        start = max(i for i in range(done, end) if found(i, end))
        hits = found(start, end)
        if any(h.detector == "email" for h in hits):
            # an address's local part may hold dots: from the path's start, nothing an "@" can reach is kept
            out, start = [], 0
        out.extend(segs[done:start])
        out.append("<" + ", ".join(dict.fromkeys(f"{h.what.split(' ', 1)[1]} {h.masked}" for h in hits)) + ">")
        done = end
    return ".".join(out)


def _prune(data: Any, tree: dict[str, Any], removed: Optional[list[Any]] = None) -> None:
    """Remove from parsed JSON the values at the paths of ``tree`` (lists are gone through item by item), and add
    them to ``removed``."""
    if isinstance(data, list):
        for item in data:
            _prune(item, tree, removed)
        return
    if not isinstance(data, dict):
        return
    for key, sub in tree.items():
        if key not in data:
            continue
        if sub is None:
            if removed is not None:
                removed.append(data[key])
            del data[key]
        else:
            _prune(data[key], sub, removed)


# A JSON escape in raw text, read as a space before the detectors look: "\n4111..." is a card number after a
# newline, not after the letter n. No detector's shape holds a character JSON escapes (quote, backslash, controls).
# A \u escape of any other printable ASCII character (an encoder that writes "@" as \u0040, "+" as \u002B, or
# every character escaped) is read as that character, as the parsed value holds it.
_ESCAPE_RE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)")


def _unescape(m: re.Match[str]) -> str:
    code = int(m.group(1), 16) if m.group(1) else 0
    if 0x20 <= code < 0x7F and code not in (0x22, 0x5C):
        return chr(code)
    # beyond ASCII (an encoder that escapes every such character, as Python's json does: full-width digits, an
    # internationalised address), a printable character that is no surrogate's half
    return chr(code) if code >= 0xA0 and not 0xD800 <= code < 0xE000 and chr(code).isprintable() else " "


_PRINTABLE_ESCAPE = re.compile(r"\\u(?:00[2-7]|00[a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]|[1-9a-cA-CeEfF][0-9a-fA-F]{2})"
                               r"[0-9a-fA-F]")
_ESCAPE_BLANK = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")


def _read_escapes(text: str) -> str:
    """``text`` with its JSON escapes read as above (see _unescape); with none of printable ASCII (the common case:
    Go escapes only "&", "<" and ">"), every escape a space in one pass without a call per escape."""
    if "\\" not in text:
        return text
    if _PRINTABLE_ESCAPE.search(text) is None:
        return _ESCAPE_BLANK.sub(" ", text)
    return _ESCAPE_RE.sub(_unescape, text)


_TWO_DIGITS = re.compile(r"\d\d").search
# A value that may hold base64 text, which the gates below cannot tell (nor text URL-encoded twice, nor a character
# beyond ASCII: full-width digits, an internationalised address; Scanner.judge_line sends each to every detector).
_B64_GATE = re.compile(r"[A-Za-z0-9+/_-]{16}").search
# What a value must hold for a detector to have a chance (every shape above has it): a cheap test before the regexes.
_GATES: dict[str, Callable[[str], object]] = {
    "card": _TWO_DIGITS,
    "phone": _TWO_DIGITS,
    "iban": _TWO_DIGITS,
    "national_id": _TWO_DIGITS,
    "email": lambda v: "@" in v or "%40" in v,
}


# A Google Cloud audit log entry (a LogEntry whose logName is one of cloudaudit.googleapis.com's logs) names the
# resource it is about by its monitored resource's labels, which Google sets from the resource type's descriptor
# (gce_instance: project_id, instance_id, zone; audited_resource: service, method, project_id): a Compute Engine
# instance id is 19 decimal digits, which pass a card network's prefix and the Luhn check about one time in twenty.
# Ids of the resource, never what a caller sent: not judged. Any other value of the entry is.
_GCP_AUDIT_LOG_RE = re.compile(r"(?:projects|organizations|folders|billingAccounts)/[^/]+/logs/"
                               r"cloudaudit\.googleapis\.com%2F[a-z_]+\Z")


def _drop_gcp_resource_labels(data: dict[str, Any]) -> None:
    """Remove a Google Cloud audit log entry's monitored resource labels (see _GCP_AUDIT_LOG_RE) from ``data``."""
    log, resource = data.get("logName"), data.get("resource")
    if (isinstance(log, str) and isinstance(resource, dict) and isinstance(resource.get("type"), str)
            and isinstance(resource.get("labels"), dict) and _GCP_AUDIT_LOG_RE.match(log) is not None):
        del resource["labels"]


# A Google Cloud audit log entry of an IAM policy change (SetIamPolicy on a secret, a project, a bucket) names whom
# access was granted or revoked as IAM names principals: "user:EMAIL", "group:EMAIL", "serviceAccount:EMAIL",
# "domain:NAME", a deleted one's "deleted:user:EMAIL?uid=N", a workload or workforce identity's "principal://..." or
# "principalSet://..." (google.iam.v1 Binding.members; BindingDelta.member: "same format as Binding.members"). Its
# request's policy and its response list them (protoPayload.request.policy.bindings[].members,
# protoPayload.response.bindings[].members), and its AuditData the change (protoPayload.serviceData or, in newer
# entries, protoPayload.metadata: policyDelta.bindingDeltas[].member). That is the evidence of whom access to the
# secret was given, which an access review needs (red team rt101: every grant was a finding), not data to minimise:
# those members are judged only for what is never an identity (a card number), as Okta's user targets are below.
_IAM_MEMBER = re.compile(r"(?:deleted:)?(?:user|group|serviceAccount|domain):[^\s]+\Z|principal(?:Set)?://\S+\Z")


def _gcp_iam_members(data: dict[str, Any]) -> list[Any]:
    """Take the IAM members of a Google Cloud audit entry's policy and policy change (see _IAM_MEMBER) out of
    ``data``; return them."""
    log, payload = data.get("logName"), data.get("protoPayload")
    if not (isinstance(log, str) and isinstance(payload, dict) and _GCP_AUDIT_LOG_RE.match(log) is not None):
        return []
    holders: list[tuple[Any, str]] = []  # (a binding or a delta, the key of its members)
    request, response = payload.get("request"), payload.get("response")
    for policy in (request.get("policy") if isinstance(request, dict) else None, response):
        bindings = policy.get("bindings") if isinstance(policy, dict) else None
        if isinstance(bindings, list):
            holders += [(b, "members") for b in bindings]
    for audit in (payload.get("serviceData"), payload.get("metadata")):
        delta = audit.get("policyDelta") if isinstance(audit, dict) else None
        deltas = delta.get("bindingDeltas") if isinstance(delta, dict) else None
        if isinstance(deltas, list):
            holders += [(d, "member") for d in deltas]
    taken: list[Any] = []
    for holder, key in holders:
        if not isinstance(holder, dict):
            continue
        value = holder.get(key)
        if isinstance(value, str) and _IAM_MEMBER.match(value):
            taken.append(holder.pop(key))
        elif isinstance(value, list):
            kept: list[Any] = []
            for m in value:
                (taken if isinstance(m, str) and _IAM_MEMBER.match(m) else kept).append(m)
            holder[key] = kept
    return taken


# An Okta System Log event (LogEvent: an actor, an eventType, a target list) names the user an admin's action was
# taken on as it names its actor: a target of type User by its login (alternateId, often an e-mail address) and its
# displayName ("group.user_membership.add", "user.lifecycle.create", "application.user_membership.add": whom an
# admin added, created, assigned). That is the evidence of what was done to whom, not data to minimise: those two
# fields are not judged for an e-mail address or a phone number, nor an AppUser target's (a user's assignment to an
# app) that names the same login. Every other value is: an AppUser of its own (in a sign-on event it is the actor's,
# so another address there is not evidence), the same address in a URL, a message or a request's data.
_OKTA_TARGET_NAMES = ("alternateId", "displayName")


def _okta_user_targets(data: dict[str, Any]) -> list[Any]:
    """Take the names of an Okta event's user targets (see _OKTA_TARGET_NAMES) out of ``data``; return them."""
    actor, targets = data.get("actor"), data.get("target")
    if not (isinstance(actor, dict) and isinstance(actor.get("alternateId"), str) and isinstance(targets, list)
            and isinstance(data.get("eventType"), str)):
        return []
    users = [t for t in targets if isinstance(t, dict) and t.get("type") == "User"]
    logins = {t.get("alternateId") for t in users} - {None}
    users += [t for t in targets
              if isinstance(t, dict) and t.get("type") == "AppUser" and t.get("alternateId") in logins]
    return [t.pop(k) for t in users for k in _OKTA_TARGET_NAMES if k in t]


# Clear-text fields that hold a number by design, judged by no detector: a Vault/OpenBao entry's mTLS client
# certificate serial (decimal; a random 63-bit serial, as kubeadm's and client-go's CAs make them, passes the Luhn
# test with a card network's prefix about twice in a hundred: red team rt88 F4).
SERIALS = frozenset({"request.client_certificate_serial_number"})

# The ids the cert auth method writes of the client certificate into the token's metadata at login (OpenBao
# internal/builtin/credential/cert/path_login.go, Vault builtin/credential/cert/path_login.go: "serial_number":
# SerialNumber.String(), decimal; "subject_key_id" and "authority_key_id": certutil.GetHexFormatted(..., ":")),
# beside "cert_name" and "common_name", and a key per allowed_metadata_extensions OID (its dots made dashes): each
# value of its own shape. The metadata travels with the token, so every later entry of it names them in
# auth.metadata (red team rt101 F2: a 19-digit serial passed as a Visa number). Other methods' numeric ids are keyed
# ...id (GCE instance_id, AliCloud account_id: a whole value under an id's key is no card, _cards) or too short for
# a card (AWS account_id, GCP project_number: 12 digits).
_CERT_IDS = {"serial_number": re.compile(r"-?[0-9]+\Z"),
             "subject_key_id": re.compile(r"(?:[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*)?\Z"),
             "authority_key_id": re.compile(r"(?:[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*)?\Z")}
_CERT_KEYS = frozenset({"cert_name", "common_name", *_CERT_IDS})
_OID_KEY = re.compile(r"[0-9]+(?:-[0-9]+)+\Z")
# A token the token store made (auth/token/create: "token", "token-" and the display_name asked for; the root token):
# its metadata is whatever its creator asked for, never a login's.
_TOKEN_STORE_NAME = re.compile(r"(?:token(?:-.*)?|(?:.+_)?root)\Z", re.S)


def cert_login_ids(entry: dict[str, Any]) -> set[str]:
    """The dotted paths of a Vault/OpenBao entry's certificate ids the cert auth method wrote (_CERT_IDS), in the
    auth blocks (``auth``, ``response.auth``) whose metadata is that method's: its keys only (the cert's and the
    extension OIDs'), cert_name and serial_number among them, each id of its shape, of a token a login issued (the
    entry is a login on a cert mount, or the display name is not the token store's). A serial_number a caller chose
    (token create's metadata, an AppRole secret id's metadata beside role_name, a secret's data) is none of these."""
    request = entry.get("request")
    login = (isinstance(request, dict) and request.get("mount_type") == "cert"
             and str(request.get("path", "")).rpartition("/")[2] == "login")
    response = entry.get("response")
    out: set[str] = set()
    for where, auth in (("auth", entry.get("auth")),
                        ("response.auth", response.get("auth") if isinstance(response, dict) else None)):
        meta = auth.get("metadata") if isinstance(auth, dict) else None
        if not (isinstance(meta, dict) and "cert_name" in meta and "serial_number" in meta
                and all(isinstance(v, str) for v in meta.values())
                and all(k in _CERT_KEYS or _OID_KEY.match(k) for k in meta)
                and all(rx.match(meta.get(k, "")) for k, rx in _CERT_IDS.items())):
            continue
        name = auth.get("display_name") if isinstance(auth, dict) else None
        if login or (isinstance(name, str) and name and _TOKEN_STORE_NAME.match(name) is None):
            out.update(f"{where}.metadata.{k}" for k in _CERT_IDS if k in meta)
    return out


# The fix for a value in a Kubernetes event's audit annotations, by who wrote it: what a mutating webhook's patch set
# is recorded at level Request and above only (mutating.PatchAuditAnnotationPrefix); a webhook's and a policy's own
# audit annotations at every level; authorization.k8s.io/reason is the authorizer's.
_PATCH_FIX = ("set the audit policy for the resource to level Metadata (a mutating webhook's patch is recorded, "
              "under patch.webhook.admission.k8s.io/, at level Request and above), or have the webhook not write "
              "personal data into the object; restrict and purge what the log already holds")
_AUDIT_ANNOTATION_FIX = ("have the admission webhook (AdmissionResponse.auditAnnotations, recorded as WEBHOOK/KEY) or "
                         "the ValidatingAdmissionPolicy (auditAnnotations[].valueExpression, as POLICY/KEY; "
                         "validations[].messageExpression) that writes this annotation write no personal data: "
                         "annotations are recorded at every audit level; restrict and purge what the log already holds")
_REASON_FIX = ("have the authorizer that wrote this reason (an authorization webhook: its SubjectAccessReview "
               "status.reason) name no one but the caller; restrict and purge what the log already holds")


def _annotation_fix(path: str) -> str:
    """The fix for a finding at ``path`` in a Kubernetes event's annotations."""
    if path.startswith("annotations." + K8S_PATCH_ANNOTATION):
        return _PATCH_FIX
    return _REASON_FIX if path == "annotations.authorization.k8s.io/reason" else _AUDIT_ANNOTATION_FIX


def _k8s_annotations(data: dict[str, Any]) -> list[Any]:
    """Take the audit annotations the API server writes of its own (formats.k8s_server_annotation) out of a
    Kubernetes event ``data``, and read each other one as its content (formats.k8s_annotation_value): return the
    values taken."""
    notes = data.get("annotations")
    if not isinstance(notes, dict):
        return []
    taken = [notes.pop(k) for k in [k for k in notes if k8s_server_annotation(str(k))]]
    for k, v in notes.items():
        if isinstance(v, str):
            notes[k] = k8s_annotation_value(str(k), v)
    return taken


class Scanner:
    """Judges whole lines: which values of the enabled detectors sit, in clear text, outside the fields the format
    declares as expected clear text. Knows the format's clear-text fields and the field_map's paths."""

    def __init__(self, settings: Any) -> None:
        fmt = format_of(settings)
        clear = list(fmt.clear_text)
        if fmt.name in ("jsonl", "k8s"):
            # the canonical fields as field_map reads them: who, from where, when, which request (a list item's
            # index dropped: values in a list sit at the list's path)
            clear += [".".join(seg for seg in p.split(".") if not seg.isdigit())
                      for name, spec in settings.field_map if name in ("time", "identity", "source", "request_id",
                                                                       "type", "action")
                      for p in field_alternatives(spec)]
        self.clear = tuple(clear)
        self.clear_dot = tuple(c + "." for c in clear)
        self.tree: dict[str, Any] = {}  # the clear-text paths as a tree of keys (None: the whole value)
        for c in sorted(clear, key=len):
            node: Any = self.tree
            parts = c.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if node is None:
                    break
            else:
                node[parts[-1]] = None
        self.vault = fmt.name == "vault"
        self.k8s = fmt.name == "k8s"
        self.serials = SERIALS if self.vault else frozenset()
        self.echo = fmt.identity_echo
        self.echo_dot = tuple(e + "." for e in self.echo)
        # Generic JSON lines: the object that holds the mapped identity describes who acted (Okta's actor, Google's
        # authenticationInfo with its delegation chain, the claims of an Azure token, 1Password's user), and the
        # identity's own address repeated anywhere in the line (an Okta target that is the actor, a message naming
        # the caller) is that evidence again, not more personal data.
        identity = dict(settings.field_map).get("identity", "") if fmt.name == "jsonl" else ""
        self.identity = field_paths(identity) if identity else ()
        self.echo_all = fmt.name == "jsonl"
        self.root = fmt.root
        self.detectors = tuple(settings.data_minimisation_detectors)
        self.prefix = settings.log_prefix

    def exempt(self, path: str) -> bool:
        return (path in self.clear or path.startswith(self.clear_dot)
                or (self.k8s and path.startswith("annotations.") and k8s_server_annotation(path[12:])))

    def _identity_holder(self, data: dict[str, Any], clear: list[Any]) -> Callable[[str], bool]:
        """Take the object that holds the line's mapped identity (not the producer's record itself, nor one inside a
        list) out of ``data`` into ``clear``; the test of a dotted path that says whether it lies in that object."""
        from ..offline.reader import resolve

        depth = len(self.root) + 2  # (a SIEM's wrapper is no holder: rt100 F4, Teleport's "_source.user")
        keys = next((k for k in (resolve(data, p) for p in self.identity if len(p) >= depth) if k), None)
        if not keys or len(keys) < depth or not all(isinstance(k, str) for k in keys):
            return self.exempt
        node: Any = data
        for k in keys[:-2]:
            node = node[k]
        if not isinstance(node, dict) or not isinstance(node.get(keys[-2]), dict):
            return self.exempt
        clear.append(node.pop(keys[-2]))
        holder = ".".join(str(k) for k in keys[:-1])
        return lambda path: self.exempt(path) or path == holder or path.startswith(holder + ".")

    def judge_line(self, raw: bytes, detectors: Optional[Iterable[str]] = None,
                   identities: Optional[set[str]] = None) -> list[tuple[str, Hit]]:
        """(field path, hit) for each value ``detectors`` (default: all enabled) find in clear text on one line; a
        line that is not a JSON object is judged as one text under the path "line". A Vault line's identity e-mail
        addresses (``vault_identity_emails``) are added to ``identities``."""

        wanted = set(self.detectors if detectors is None else detectors)
        text = raw.decode("utf-8", "replace")
        # a base64 run that decodes to text (looked for once: most lines have none): any detector may find its value.
        # What the runs hold is judged first, on its own: only where it holds personal data is the whole line judged
        # by every detector (to place it), else the line is judged as without them (a Kubernetes list's continue
        # token decodes to JSON on every list: judged whole, it doubled the time of a Kubernetes log)
        b64 = ((detectors is None or BASE64 in wanted)
               and next(_in_payloads(_read_escapes(text), self.detectors), None) is not None)
        if b64:
            wanted.update(self.detectors)
        names = tuple(d for d in self.detectors if d in wanted)
        if not names:
            return []
        # (a webhook's patch names the key a value is set under in its operation's path, apart from the value: the
        # raw text cannot tell a value that counts only under its key, a national phone number under .../phone)
        if not detect(_read_escapes(text), names, base64=b64) and not (self.k8s and K8S_PATCH_ANNOTATION in text):
            return []  # no valid candidate anywhere on the line: nothing to place
        start = text.find("{")
        data: Any = None
        if start >= 0:
            try:
                data = loads(text[start:])
            except (ValueError, RecursionError):
                data = None
        if not isinstance(data, dict):
            return [("line", h) for h in detect(text, names, base64=b64)]
        if self.vault and identities is not None and "email" in names:
            identities.update(vault_identity_emails(data))
        targets: list[Any] = []
        if self.echo_all:
            inner = producer_record(data, self.root)  # (inside a SIEM's or a shipper's wrapper: rt100 F4)
            if isinstance(inner, dict):
                _drop_gcp_resource_labels(inner)
                targets = _okta_user_targets(inner) + _gcp_iam_members(inner)
        # Most candidates sit in the clear-text fields (an identity that is an e-mail address, on every line):
        # without those fields, a line that holds no candidate is done, without walking its values.
        clear: list[Any] = []
        exempt = self._identity_holder(data, clear) if self.identity else self.exempt
        _prune(data, self.tree, clear)
        if self.k8s:
            clear.extend(_k8s_annotations(data))
        out: list[tuple[str, Hit]] = []
        strict = tuple(d for d in names if d in _NEVER_IDENTITY)
        if targets and strict:  # a user target's names: judged for what is never an identity
            out.extend(("target", hit) for v in targets if isinstance(v, str) for hit in detect(v, strict, base64=b64))
        # (JSON lines: clear fields whose keys hold dots are not pruned, so the whole line is what tells)
        probe = text if self.echo_all else dumps(clear).decode("utf-8", "replace") if clear else ""
        if probe and strict and detect(_read_escapes(probe), strict, base64=b64):
            whole = loads(text[start:])  # (the same line: it parsed above)
            serials = (self.serials | cert_login_ids(whole)) if self.vault else self.serials
            for path, value, number in typed_values(whole):
                if exempt(path) and not value.startswith(HMAC_PREFIX) and path not in serials:
                    out.extend((path, hit) for hit in detect(value, strict, Where.of(path, number), base64=b64))
        found = detect(_read_escapes(dumps(data).decode("utf-8", "replace")), names, base64=b64)
        if not found:
            return out
        # The e-mail addresses the line's clear-text fields hold (who acted): where the producer's own words repeat
        # them (LogFormat.identity_echo: a Kubernetes Forbidden message names the user, CloudTrail's errorMessage the
        # caller's ARN, a SelfSubjectReview the caller), that is the same evidence, not more personal data. The same
        # address in what a caller sent (a description, a request's data) is judged as any value.
        named = ({h.value for _, v in values(clear) for h in _emails(v)}
                 if (self.echo or self.echo_all) and "email" in names else set())
        if self.echo and "email" in names:
            named.update(h.value for h in _emails(_impersonation_refused(data)))
        if self.echo_all and named and all(h.detector == "email" and h.value in named for h in found):
            return out  # (JSON lines: what the values hold is only who acted, named again: an Okta AppUser's login)
        gates = [(d, _GATES[d]) for d in names]
        for path, value, number in typed_values(data, exempt):
            if value.startswith(HMAC_PREFIX):
                continue
            if self.vault and path in _PATHS:
                value = _IDENTITY_IN_PATH_RE.sub(r"\1", value)  # the name of who logs in or is managed: evidence
            other = (b64 and _B64_GATE(value) is not None) or "%25" in value or "&" in value or not value.isascii()
            maybe = list(names) if other else [d for d, gate in gates if gate(value)]
            if maybe:
                echo = bool(named) and (self.echo_all or path in self.echo or path.startswith(self.echo_dot))
                out.extend((path, hit) for hit in detect(value, maybe, Where.of(path, number), base64=b64)
                           if not (echo and hit.detector == "email" and hit.value in named))
        return out


# What a Kubernetes caller may ask to act as (kube-apiserver's impersonation filter: users, groups, uids, service
# accounts, user extras). Refused, the filter answers Forbidden before it records an impersonatedUser, and the
# Status names the target in details.name and the message (k8s.io/apiserver endpoints/filters/impersonation.go,
# responsewriters.Forbidden): who someone tried to act as, the evidence of the attempt (red team rt33, F2).
_IMPERSONATED = frozenset({"users", "groups", "uids", "serviceaccounts", "userextras"})


_REFUSED_AS = re.compile(r'(users|groups|uids|serviceaccounts|userextras)(?:/[^ "]*)? "([^"]*)" is forbidden: .*'
                         r"cannot impersonate resource")


def _impersonation_refused(data: dict[str, Any]) -> str:
    """The identity a refused Kubernetes impersonation asked to act as (``responseStatus.details.name`` of a 403
    whose details name an impersonable kind, or the name its message gives), else ""."""
    status = data.get("responseStatus")
    if not isinstance(status, dict) or status.get("code") != 403:
        return ""
    details = status.get("details")
    if isinstance(details, dict) and details.get("kind") in _IMPERSONATED and isinstance(details.get("name"), str):
        return str(details["name"])
    m = _REFUSED_AS.match(status["message"]) if isinstance(status.get("message"), str) else None
    return m.group(2) if m is not None else ""


_PREFILTER_DBS: dict[tuple[Any, ...], Any] = {}


def _hyperscan_lines(pairs: list[tuple[str, bytes]]) -> Optional[Callable[[bytes], dict[int, set[str]]]]:
    """The lines of a block where one of ``pairs`` (detector, expression) matches, with their detectors, by one
    Hyperscan database (cached); None without Hyperscan."""
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency
        return None
    from ..scan.hyperscan import line_finder

    if not pairs:
        return lambda _data: {}
    owner = [d for d, _ in pairs]
    exprs = [e for _, e in pairs]
    key = tuple(pairs)
    db = _PREFILTER_DBS.get(key)
    if db is None:
        from ..scan.hyperscan import _load_one, compiled

        def build() -> bytes:
            d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            d.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=[0] * len(exprs))
            return bytes(hyperscan.dumpb(d))

        db = compiled(repr(("data_minimisation", exprs)).encode(), build, _load_one)
        _PREFILTER_DBS[key] = db

    def lines(data: bytes) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        line_of = line_finder(data)[0]  # a line with many hits (a long value) is looked back over once
        db.scan(data, match_event_handler=lambda i, _s, e, _f, _c: out.setdefault(line_of(e), set()).add(owner[i]))
        return out

    return lines


def _pairs(detectors: tuple[str, ...], *tables: dict[str, tuple[bytes, ...]]) -> list[tuple[str, bytes]]:
    """(name, expression) of each detector's prefilters in ``tables``, and the BASE64 ones while any is enabled."""
    names = (*detectors, BASE64) if detectors else ()
    return [(d, e) for table in tables for d in names for e in table.get(d, ())]


def _prefilter(detectors: tuple[str, ...], native: bool = True) -> Optional[Callable[[bytes], dict[int, set[str]]]]:
    """For ``detectors``: the start offset of each line of a block where a prefilter (PREFILTERS,
    ENCODED_PREFILTERS or EXTRA_PREFILTERS) matched, with the detectors (and BASE64) that could match there. The C
    extension's pass looks for each table while it is the one the pass implements (scan.native's DM_PREFILTERS,
    DM_ENCODED, DM_EXTRA), unless ``native`` is False; Hyperscan for the rest (its databases cached): in the common
    case no Hyperscan database runs. None when Hyperscan is missing and needed."""
    from ..scan import native as fast

    if native and fast.lib is not None and PREFILTERS == fast.DM_PREFILTERS and detectors:
        mask = sum(fast.DM_BITS[d] for d in detectors)
        rest: list[dict[str, tuple[bytes, ...]]] = []
        if ENCODED_PREFILTERS == fast.DM_ENCODED:
            mask |= fast.DM_ENCODED_BIT
        else:
            rest.append(ENCODED_PREFILTERS)
        if EXTRA_PREFILTERS == fast.DM_EXTRA:
            mask |= fast.DM_EXTRA_BIT
        else:
            rest.append(EXTRA_PREFILTERS)
        named = [(fast.DM_BITS[d], d) for d in detectors] + [(fast.DM_EXTRA_BIT, BASE64)]
        sets = [frozenset(d for bit, d in named if bits & bit) for bits in range(2 * fast.DM_EXTRA_BIT)]
        dm_lines = fast.lib.dm_lines
        others = _hyperscan_lines(_pairs(detectors, *rest)) if rest else None
        if rest and others is None:  # pragma: no cover - hyperscan is a dependency
            return None

        def lines(data: bytes) -> dict[int, set[str]]:
            out = {ls: set(sets[bits]) for ls, bits in dm_lines(data, mask).items()}
            if others is not None:
                for ls, names in others(data).items():
                    out.setdefault(ls, set()).update(names)
            return out

        return lines
    return _hyperscan_lines(_pairs(detectors, PREFILTERS, ENCODED_PREFILTERS, EXTRA_PREFILTERS))


def _slow_prefilter(detectors: tuple[str, ...]) -> Callable[[bytes], dict[int, set[str]]]:
    """``_prefilter`` with Python's re (where Hyperscan is missing): slower, the same lines."""
    return _re_lines(_pairs(detectors, PREFILTERS, ENCODED_PREFILTERS, EXTRA_PREFILTERS))


def _re_lines(pairs: list[tuple[str, bytes]]) -> Callable[[bytes], dict[int, set[str]]]:
    """The lines of a block where one of ``pairs`` (detector, expression) matches, with their detectors, by
    Python's re."""
    from ..scan.hyperscan import line_finder

    compiled = [(d, re.compile(e)) for d, e in pairs]

    def lines(data: bytes) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        line_of = line_finder(data)[0]  # any end, in any order: it only remembers the line it found last
        for d, rx in compiled:
            for m in rx.finditer(data):
                out.setdefault(line_of(m.end()), set()).add(d)
        return out

    return lines


def _separator_prefilter(detectors: tuple[str, ...], hyperscan: bool = True) -> Callable[[bytes], dict[int, set[str]]]:
    """The lines of a block where SEPARATOR_PREFILTERS matches, with the detectors that could match there: by one
    Hyperscan database beside the C pass or Hyperscan's of the other tables (``_prefilter``), by Python's re
    without Hyperscan or when ``hyperscan`` is False."""
    pairs = _pairs(detectors, SEPARATOR_PREFILTERS)
    fast = _hyperscan_lines(pairs) if hyperscan else None
    return fast if fast is not None else _re_lines(pairs)


def _joined(first: Callable[[bytes], dict[int, set[str]]],
            second: Callable[[bytes], dict[int, set[str]]]) -> Callable[[bytes], dict[int, set[str]]]:
    """The lines either prefilter gives, with the detectors of both."""

    def lines(data: bytes) -> dict[int, set[str]]:
        out = first(data)
        for ls, names in second(data).items():
            out.setdefault(ls, set()).update(names)
        return out

    return lines

_DIGESTED = "hmac-sha256:"  # a Hit.value that is already the keyed digest of one (a value replayed by ``merge``)


class Minimisation(Visitor):
    """Scans raw text block by block; each distinct value is reported once, at its first line, with the other
    lines it appears on; after _MAX distinct values the rest is counted."""

    # A later range of a file (``later_range``): every value found, in order, for ``merge`` to replay.
    sightings: Optional[list[tuple[str, int, str, Hit]]] = None
    stays = ("key",)  # the run's digest key: only the digests travel

    def later_range(self) -> None:
        self.sightings = []

    def merge(self, later: Visitor) -> None:
        """Replay ``later``'s values, as one pass would have found them after this range's."""
        assert isinstance(later, Minimisation)
        if later.sightings is None:
            raise NotImplementedError("the visitor of a later range was not told so (later_range)")
        for seen in later.sightings:
            self._add(*seen)
        for key, request_id in later.request_ids.items():
            if key in self.request_ids:
                self.request_ids[key] = request_id
        self.identities |= later.identities
        self.merge_excused(later)

    def __init__(self, ctx: CheckContext) -> None:
        self.settings = ctx.settings
        self.key = ctx.digest_key
        self.scanner = Scanner(ctx.settings)
        self.fix = format_of(ctx.settings).minimise_fix
        detectors = self.scanner.detectors
        self.prefilter = (_joined(_prefilter(detectors) or _slow_prefilter(detectors), _separator_prefilter(detectors))
                          if detectors else None)
        # (detector, value) -> [file, line, path, hit, further lines]
        self.found: dict[tuple[str, str, str], list[Any]] = {}
        self.more: dict[str, int] = {}  # detector -> sightings of values past the first _MAX (not listed)
        self.more_where: dict[str, str] = {}  # detector -> the first of those (file:line): their roll-up points there
        self.request_ids: dict[tuple[str, int], str] = {}
        # the digests of the e-mail addresses the log names as who acted (Scanner.judge_line's ``identities``)
        self.identities: set[str] = set()

    def _digest(self, detector: str, value: str) -> str:
        return _DIGESTED + hmac.new(self.key, f"{detector}\0{value}".encode(), hashlib.sha256).hexdigest()

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if self.prefilter is None:
            return
        starts = self.prefilter(data)
        line, pos = first_line, 0
        named: set[str] = set()
        for ls in sorted(starts):
            le = data.find(b"\n", ls)
            hits = self.scanner.judge_line(data[ls : le if le >= 0 else len(data)], starts[ls], named)
            if hits:  # the line's number is counted only for a line with a hit (most candidates have none)
                line += data.count(b"\n", pos, ls)
                pos = ls
                for path, hit in hits:
                    self._add(file, line, path, hit)
        self.identities.update(self._digest("email", v) for v in named)

    def _add(self, file: str, line: int, path: str, hit: Hit) -> None:
        if not hit.value.startswith(_DIGESTED):  # kept from here on: its digest, never the value
            hit = dataclasses.replace(hit, value=self._digest(hit.detector, hit.value))
        if self.sightings is not None:
            self.sightings.append((file, line, path, hit))
        # an e-mail address in a Vault secret's path is told apart (finish: an identity's own secret is no finding)
        ident = (hit.detector, hit.value, _IN_PATH if self.scanner.vault and path in _PATHS else "")
        seen = self.found.get(ident)
        if seen is not None:
            if (seen[0], seen[1]) != (file, line) and line not in seen[4][-1:]:
                seen[4].append(line)
            return
        if len(self.found) >= _MAX:
            if hit.detector not in self.more:
                self.more_where[hit.detector] = f"{file}:{line}"
            self.more[hit.detector] = self.more.get(hit.detector, 0) + 1
            return
        self.found[ident] = [file, line, path, hit, []]
        self.request_ids[(file, line)] = ""

    def entry(self, rec: Record) -> None:
        if (rec.file, rec.line) in self.request_ids:
            self.request_ids[(rec.file, rec.line)] = rec.request_id

    def entries(self, batch: Entries) -> None:
        if not self.request_ids:
            return
        lines = batch.lines
        for file, line in [k for k, v in self.request_ids.items() if not v]:
            if file == batch.file and line in lines:
                self.entry(batch.record(lines.index(line)))

    def finish(self) -> Iterator[Any]:
        if not self.scanner.detectors:
            where = self.settings.set_in("data_minimisation_detectors")
            yield Skip("", f"data_minimisation_detectors = [] {where}: no detector is enabled")
            return
        left = [d for d in DETECTORS if d not in self.scanner.detectors]
        if left:  # a pass with detectors left out is no evidence of them (red team rt74 F3)
            where = self.settings.set_in("data_minimisation_detectors")
            yield Note("", f"Narrowed by settings: detectors run: {', '.join(self.scanner.detectors)}; not run: "
                       f"{', '.join(left)} (data_minimisation_detectors {where}), which the default runs: this pass "
                       "is no evidence of them.")
        for (detector, value, where), (file, line, path, hit, more) in self.found.items():
            if where == _IN_PATH and detector == "email" and value in self.identities:
                continue  # a path templated on who acted ({{identity.entity.aliases.<accessor>.name}}): evidence
            where_key = "the line (not a readable entry)" if path == "line" else f"field {path!r}"
            also = ""
            if more:
                shown = ", ".join(str(n) for n in more[:5])
                also = f"; also on line{'s' if len(more) > 1 else ''} {shown}" + (
                    f" and {len(more) - 5} more" if len(more) > 5 else "")
            fix = (_PATH_FIX if self.scanner.vault and path in _PATHS
                   else _annotation_fix(path) if self.scanner.k8s and path.startswith("annotations.") else self.fix)
            yield Finding(ID, "", f"{hit.what[0].upper()}{hit.what[1:]}, {hit.masked}, is logged in clear text in "
                          f"{where_key}{also}.", fix, where=f"{file}:{line}",
                          request_id=self.request_ids.get((file, line), ""), entries=1 + len(more))
        for detector, n in self.more.items():
            # (each sighting past the first _MAX values is counted: a value seen twice there counts twice)
            yield Finding(ID, "", f"{n} more sightings of {KINDS[detector].partition(' ')[2]} values "
                          f"are logged in clear text (only the first {_MAX} values are listed).", self.fix,
                          where=self.more_where.get(detector, ""), entries=n)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    yield from feed(Minimisation(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="No personal data or card numbers in clear text",
    requirement="no card number (Luhn-valid, of a card network), e-mail address, phone number, IBAN or national "
    "identifier in clear text in values the format does not declare as expected clear text; findings show at "
    "most a masked form",
    run=run,
    visitor=Minimisation,
)
