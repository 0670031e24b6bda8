"""Personal data's shapes and check digits beyond the card, e-mail, IBAN, SSN and NINO detectors of data_minimisation:
national identifiers (DE Steuer-ID, FR NIR, NL BSN, IN Aadhaar, ES DNI/NIE, IT codice fiscale), national and
"00"-prefixed phone numbers, and the words that name such a field; base64 text and full-width digits read as text.

Pure functions, no state: checks/data_minimisation.py decides where they apply.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from typing import Iterable, Iterator, Optional

# -- check digits -------------------------------------------------------------------------------------------------


def steuer_id_valid(digits: str) -> bool:
    """A German tax identification number (Steuer-ID, §139b AO): 11 digits, the first not 0; among the first ten one
    digit appears twice or three times, the others at most once; the last is the ISO 7064 MOD 11,10 check digit."""
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    counts = sorted((digits[:10].count(c) for c in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    product = 10
    for c in digits[:10]:
        s = (int(c) + product) % 10 or 10
        product = (2 * s) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


def bsn_valid(digits: str) -> bool:
    """A Dutch citizen service number (BSN): 9 digits passing the 11-proof (weights 9..2 and -1)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "0" * 9:
        return False
    total = sum(int(c) * w for c, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 2, 4, 1),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 8, 3, 2, 1, 7, 0, 6), (4, 2, 8, 9, 5, 7, 6, 3, 1, 0),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(digits: str) -> bool:
    """The Verhoeff check (dihedral group D5) of a string of digits, its check digit last."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def aadhaar_valid(digits: str) -> bool:
    """An Indian Aadhaar number (UIDAI): 12 digits, the first 2 to 9, the last a Verhoeff check digit."""
    return len(digits) == 12 and digits.isdigit() and digits[0] not in "01" and verhoeff_valid(digits)


def nir_valid(nir: str) -> bool:
    """A French social security number (NIR, numéro d'inscription au répertoire): sex (1, 2, or 3, 7, 8 for a
    provisional number), year, month (01-12, or 20, 30-42, 50-99 where the month is unknown), département (2A and
    2B for Corsica), commune, order (not 000), and the key 97 - (the first 13 digits mod 97)."""
    nir = nir.upper()
    if len(nir) != 15 or nir[0] not in "12378":
        return False
    body = nir[:13]
    if body[5:7] in ("2A", "2B"):
        number = int(body[:5] + ("19" if body[6] == "A" else "18") + body[7:])  # INSEE: 2A as 19, 2B as 18
    elif body.isdigit():
        number = int(body)
    else:
        return False
    month = int(body[3:5]) if body[3:5].isdigit() else -1
    if not (1 <= month <= 12 or month == 20 or 30 <= month <= 42 or 50 <= month <= 99):
        return False
    if body[10:13] == "000" or not nir[13:].isdigit():
        return False
    return 97 - number % 97 == int(nir[13:])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_valid(number: str, letter: str) -> bool:
    """A Spanish DNI (8 digits) or NIE (X, Y or Z and 7 digits) with its mod-23 letter."""
    lead = {"X": "0", "Y": "1", "Z": "2"}.get(number[0].upper(), number[0])
    digits = lead + number[1:]
    return digits.isdigit() and int(digits) > 0 and _DNI_LETTERS[int(digits) % 23] == letter.upper()


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8,
                    12, 14, 16, 10, 22, 25, 24, 23)))
_CF_MONTHS = frozenset("ABCDEHLMPRST")
_CF_OMOCODIA = dict(zip("LMNPQRSTUV", "0123456789"))  # a letter for a digit where two codes would be the same


def codice_fiscale_valid(code: str) -> bool:
    """An Italian tax code (codice fiscale) of a person: 6 letters, year, month letter, day (41-71 for a woman),
    place, and the check letter of the odd/even tables (DM 23/12/1976); digits may be written as letters
    (omocodia)."""
    code = code.upper()
    if len(code) != 16 or not code.isalnum() or code[8] not in _CF_MONTHS:
        return False
    day = "".join(_CF_OMOCODIA.get(c, c) for c in code[9:11])
    if not day.isdigit() or not (1 <= int(day) <= 31 or 41 <= int(day) <= 71):
        return False
    total = sum(_CF_ODD[c] if i % 2 == 0 else (int(c) if c.isdigit() else ord(c) - 65)
                for i, c in enumerate(code[:15]))
    return chr(65 + total % 26) == code[15]


# -- phone numbers: country calling codes (ITU-T E.164 assignments) ------------------------------------------------

_CC = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 "
    "86 90 91 92 93 94 95 98 "
    "211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 "
    "243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 "
    "297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 380 381 382 383 385 386 "
    "387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599 670 672 673 "
    "674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 "
    "963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998".split())


def country_code(digits: str) -> str:
    """The E.164 country calling code ``digits`` (an international number without its prefix) starts with, or ""."""
    for n in (1, 2, 3):
        if digits[:n] in _CC:
            return digits[:n]
    return ""


# -- words that name a field --------------------------------------------------------------------------------------

_WORDS_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def words(text: str) -> list[str]:
    """The words of a key or a text, lower case: camelCase, snake_case, kebab-case and path segments split, digits
    dropped ("phoneNumber2" -> phone, number)."""
    return [w.lower() for w in _WORDS_RE.findall(text)]


def named(ws: Iterable[str], vocabulary: frozenset[str]) -> bool:
    """Whether one of ``ws`` (words), or two of them written together ("tax", "id"), is in ``vocabulary``."""
    prev = ""
    for w in ws:
        if w in vocabulary or (prev and prev + w in vocabulary):
            return True
        prev = w
    return False


# What names a phone number's field (English, and the common European and Latin American words).
PHONE_WORDS = frozenset({"phone", "phonenumber", "telephone", "tel", "telno", "mobile", "mobil", "mobilenumber",
                         "cell", "cellphone", "fax", "msisdn", "handy", "telefon", "telefono", "telefone",
                         "telephonenumber", "portable", "gsm", "sms", "whatsapp", "celular", "movil", "cellulare",
                         "rufnummer", "telefonnummer", "mobilnummer", "callback", "callerid", "landline"})
STEUER_WORDS = frozenset({"steuer", "steuerid", "steueridentifikationsnummer", "steuernummer", "idnr", "tin",
                          "taxid", "taxnumber", "taxno", "identifikationsnummer"})
BSN_WORDS = frozenset({"bsn", "burgerservicenummer", "sofi", "sofinummer", "citizenservicenumber"})
AADHAAR_WORDS = frozenset({"aadhaar", "aadhar", "uidai", "adhaar"})
SSN_WORDS = frozenset({"ssn", "ssns", "socialsecurity", "socialsecuritynumber", "socialsecurityno", "socsec"})
# What names a quantity (a size, a count, a time): a 13-15 digit number there is that quantity, not a card number.
QUANTITY_WORDS = frozenset({"size", "bytes", "byte", "free", "used", "total", "storage", "capacity", "allocatable",
                            "memory", "mem", "disk", "count", "length", "len", "avail", "available", "quota",
                            "offset", "sum", "transferred", "usage", "limit", "max", "min", "inodes", "blocks",
                            "time", "timestamp", "ts", "epoch", "ms", "ns", "millis", "nanos", "seconds", "duration",
                            "ttl", "elapsed", "latency", "ki", "mi", "gi", "ti", "kb", "mb", "gb", "tb", "amount"})


# -- text in other forms ------------------------------------------------------------------------------------------

# A base64 or base64url run: 16 or more characters of the two alphabets and its padding (one alphabet: see
# base64_texts), its first 16 holding a capital letter: base64 of any text of a dozen characters has one there (the
# first character of every four encodes the top of a byte: I to Z for " " to "g"); a digest's hex, a UUID, a path
# of lower-case words have none.
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_UPPER = re.compile(r"[A-Z]")
_HEX_OR_ID = re.compile(r"[0-9a-fA-F-]+\Z")
# The prefilter's expression: where such a run starts (nothing of either alphabet before it) with the first five
# groups of four characters that fifteen bytes of printable ASCII give: each group's first character encodes the top
# six bits of a byte from " " to "~", so it is one of I-Z (" " to "g") or a-f ("h" to "~"), and text holds a byte
# under "h" (a space, a quote, a digit, a capital) in one of five. A random token's run (a Vault entry's client_id,
# on every line) has that start once in about 140; a digest's hex never has an I-Z there. (Judging every line's
# runs tripled the time of a Vault log.)
_B64_CHAR = b"[A-Za-z0-9+/_\\-]"
B64_PREFILTER = b"(?:^|[^A-Za-z0-9+/_\\-])(?:" + b"|".join(
    b"".join((b"[I-Z]" if i == k else b"[I-Za-f]") + _B64_CHAR + b"{3}" for i in range(5)) for k in range(5)) + b")"


def printable_text(raw: bytes) -> Optional[str]:
    """``raw`` as text when it is UTF-8 of printable characters (and tabs and line ends), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or not all(c.isprintable() or c in "\t\r\n" for c in text):
        return None
    return text


def base64_texts(text: str) -> Iterator[str]:
    """The printable UTF-8 text (a JSON document among others) of each base64 or base64url run of 16 or more
    characters in ``text``. Digests, random tokens and certificates decode to bytes that are no such text."""
    for m in _B64_RUN.finditer(text):
        decoded = _decoded(m.group(0).rstrip("="))
        if decoded is not None:
            yield decoded


@functools.lru_cache(maxsize=1 << 14)
def _decoded(run: str) -> Optional[str]:
    """``run``'s printable text (``base64_texts``), or None. Remembered: a log repeats its runs (ids, names,
    certificates) on many lines, and most decode to no text."""
    if len(run) % 4 == 1 or _UPPER.search(run, 0, 16) is None or _HEX_OR_ID.match(run):
        return None
    url = "-" in run or "_" in run
    if url and ("+" in run or "/" in run):
        return None  # both alphabets: a path or a name, no base64
    alt = "-_" if url else "+/"
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), altchars=alt.encode(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return printable_text(raw)


def nfkc(text: str) -> str:
    """``text`` in Unicode normalisation form KC (full-width digits and letters as ASCII, an ideographic space as a
    space); ASCII text as it is."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def ascii_digits(text: str) -> str:
    """The decimal digits of ``text`` (any script's: Arabic-Indic, full-width...) as ASCII digits, in order."""
    if text.isascii():
        return "".join(c for c in text if c.isdigit())
    return "".join(str(unicodedata.decimal(c)) for c in text if unicodedata.decimal(c, -1) >= 0)
