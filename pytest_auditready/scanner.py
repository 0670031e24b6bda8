"""Secret detection over audit-log values: known values in every encoding, Vault tokens, and detect-secrets.

This is the only module that imports detect-secrets. Its line-based file scan is the judge of its detectors'
hits; we feed it one value at a time (as a one-key JSON line, so that keyword detectors still see the key),
because on a whole audit line its ``is_likely_id_string`` filter hides any secret that comes after an ``*_id``
key, and it reports every ``hmac-sha256:`` digest as a hex secret. Results never hold the value itself: a hit
names the kind, the key it sat under and a short SHA-256 fingerprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import quote, quote_plus

from .auditlog.model import HMAC_RE, walk_strings

# Vault / OpenBao tokens, which detect-secrets has no detector for: service (hvs.), batch (hvb.), recovery
# (hvr.), and the legacy s. (24 base62 characters, optionally a namespace suffix) and b. forms.
VAULT_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{24,}|s\.[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?|b\.[A-Za-z0-9_-]{24,})"
    r"(?![A-Za-z0-9_-])"
)
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\Z")
_DIGEST_BYTES = re.compile(HMAC_RE.pattern.encode("ascii"))  # HMAC_RE over raw bytes (match with pos and endpos)
# Keys of the Vault/OpenBao audit format whose values the vault itself computes: never a user's secret.
STRUCTURAL_KEYS = frozenset(
    {
        "time",
        "type",
        "operation",
        "mount_type",
        "mount_class",
        "mount_accessor",
        "mount_point",
        "mount_running_version",
        "mount_running_plugin_version",
        "token_type",
        "token_issue_time",
        "client_id",
        "remote_address",
        "namespace_id",
        # The identity label the vault composes ("token-" + the display name given at creation): a required audit
        # field, not a credential. With a random run id in it, it reads as high-entropy base64 about one run in
        # ten (entropy 4.5 for the unprivileged identity's name).
        "display_name",
    }
)
_MIN_LEN = 6
# Keys whose values are request paths: judged per segment (see GenericScanner.scan_value).
PATH_KEYS = frozenset({"path", "mount_point"})


def fingerprint(value: str) -> str:
    """A short, non-reversible name for a value, safe to print."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _b64_cores(data: bytes) -> set[str]:
    """The parts of the base64 text of ``data`` that do not depend on the bytes around it, at each of the
    three alignments it can take inside a longer base64 string."""
    out = set()
    for k in range(3):
        full = k + len(data)
        enc = base64.b64encode(b"\0" * k + data).decode()
        core = enc[-(-8 * k // 6) : (8 * full) // 6]
        if len(core) >= _MIN_LEN:
            out.add(core)
    return out


def encodings(value: str) -> dict[str, str]:
    """Every text form of ``value`` SPEC.md lists, keyed by needle: raw, base64 (standard, URL-safe, unpadded,
    at any alignment), hex (lower, upper), URL-encoded, JSON-escaped."""
    data = value.encode("utf-8")
    forms: dict[str, str] = {}

    def add(needle: str, name: str) -> None:
        if len(needle) >= _MIN_LEN:
            forms.setdefault(needle, name)

    add(value, "raw")
    for core in sorted(_b64_cores(data)):
        add(core, "base64")
        add(core.replace("+", "-").replace("/", "_"), "base64url")
    add(data.hex(), "hex")
    add(data.hex().upper(), "HEX")
    add(quote(value, safe=""), "url-encoded")
    add(quote_plus(value, safe=""), "url-encoded")
    add(json.dumps(value)[1:-1], "json-escaped")
    add(json.dumps(value, ensure_ascii=False)[1:-1], "json-escaped")
    return forms


@dataclass(frozen=True)
class KnownHit:
    name: str  # e.g. "canary:c1", "token:reader"
    encoding: str


class KnownValues:
    """Looks for named secret values in any encoding. Holds the values in memory only, never prints them."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._needles: list[tuple[str, str, str]] = []  # (needle, secret name, encoding)
        for name, value in secrets.items():
            for needle, enc in encodings(value).items():
                self._needles.append((needle, name, enc))
        self._pattern = (
            re.compile("|".join(re.escape(n) for n, _, _ in sorted(self._needles, key=lambda t: -len(t[0]))))
            if self._needles
            else None
        )
        self._lookup = {n: (name, enc) for n, name, enc in self._needles}

    def __bool__(self) -> bool:
        return bool(self._needles)

    def find(self, text: str) -> list[KnownHit]:
        if self._pattern is None:
            return []
        hits: dict[tuple[str, str], KnownHit] = {}
        for m in self._pattern.finditer(text):
            name, enc = self._lookup[m.group(0)]
            hits.setdefault((name, enc), KnownHit(name, enc))
        return list(hits.values())


@dataclass(frozen=True)
class GenericHit:
    kind: str  # detector name, e.g. "AWS Access Key", "Vault Token"
    key: str  # the JSON key the value sat under
    fingerprint: str


def _skippable(key: str, value: str, structural: frozenset[str] = STRUCTURAL_KEYS) -> bool:
    return (
        len(value) < _MIN_LEN
        or key in structural
        or HMAC_RE.match(value) is not None
        or _UUID_RE.match(value) is not None
        or _TIME_RE.match(value) is not None
    )


class GenericScanner:
    """Finds secrets nobody told us about in string values. Use as a context manager around a batch of scans:
    detect-secrets only finds anything inside its settings context."""

    def __init__(self, structural: Iterable[str] = ()) -> None:
        self._cache: dict[tuple[str, str], tuple[GenericHit, ...]] = {}
        self._ctx: Any = None
        self.structural = STRUCTURAL_KEYS | frozenset(structural)  # keys whose values are never judged

    def __enter__(self) -> "GenericScanner":
        from detect_secrets.settings import default_settings  # lazy: detect-secrets is slow to import

        self._ctx = default_settings()
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.__exit__(*exc)

    def scan_value(self, key: str, value: str) -> tuple[GenericHit, ...]:
        if self._ctx is None:
            raise RuntimeError("GenericScanner must be entered (with ...:) before scanning")
        if _skippable(key, value, self.structural):
            return ()
        cached = self._cache.get((key, value))
        if cached is not None:
            return cached
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        from detect_secrets.core.scan import _process_line_based_plugins

        found: dict[str, GenericHit] = {}
        for m in VAULT_TOKEN_RE.finditer(value):
            found.setdefault("Vault Token", GenericHit("Vault Token", key, fingerprint(m.group(0))))
        # A request path is judged segment by segment: a secret in a path is a segment of its own, while the
        # whole path (mount, prefix, a random run id, a name) often reads as high-entropy base64 when it is not.
        parts = [p for p in value.split("/") if len(p) >= _MIN_LEN] if key in PATH_KEYS else [value]
        for part in parts:
            line = json.dumps({key: part})
            for secret in _process_line_based_plugins(lines=[(1, line)], filename="audit.log"):
                kind = str(secret.type)
                found.setdefault(kind, GenericHit(kind, key, fingerprint(secret.secret_value or part)))
        hits = tuple(found.values())
        self._cache[(key, value)] = hits
        return hits

    def scan_strings(self, pairs: Iterable[tuple[str, str]]) -> Iterator[GenericHit]:
        seen: set[tuple[str, str]] = set()
        for key, value in pairs:
            for hit in self.scan_value(key, value):
                if (hit.kind, hit.fingerprint) not in seen:
                    seen.add((hit.kind, hit.fingerprint))
                    yield hit


def first_line(text: Optional[str]) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


# -- the fast path: a multi-pattern prefilter over raw text, detect-secrets as the judge of what it lets through --

# detect-secrets' keyword detector fires on a denylisted word used as a name: followed by an assignment or a colon
# (optionally after a closing quote or bracket), compared with ==/!=, or called. A superset of its regexes.
_KEYWORDS = (r"(?:api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|"
             r"client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contrase(?:\xc3\xb1|n)a)")
_KEYWORD_PREFILTERS = (
    _KEYWORDS + r"\w*[\]'\"]{0,2}\s*(?::|=|!|\(|\.assign)",
    r"[=!]=\s*['\"]?\w*" + _KEYWORDS,
)
# detect-secrets' entropy detectors judge quoted runs of a charset. Shannon entropy is at most log2(the number of
# distinct characters): Base64HighEntropyString (limit 4.5) needs 23 of them, so a run of 23 or more characters of
# which one is not a lowercase hex digit or a dash (those are 17 symbols); HexHighEntropyString (limit 3.0) needs
# 9, so a quoted hex run of 9 or more digits. Non-ASCII bytes are in the class because the judge sees them
# \u-escaped.
_B64 = rb"A-Za-z0-9+/=_\\\-\x80-\xff"
_NOT_UUID = rb"G-Zg-zA-F+/=_\\\x80-\xff"  # a character that is not a lowercase hex digit or a dash
# detect-secrets drops an entropy hit that follows "<name>_id" (is_likely_id_string; the judge sees each value as
# {"key": "value"}, so that is a key ending in "_id", any case): a double-quoted run is looked at unless it is the
# value of such a key. The alternatives say what comes before the opening quote; the "^" forms cover a block's
# first bytes. (Every request's client_id is such a value: this halves what the judge is handed.)
_NOT_AFTER_ID = (rb'[^:]"', rb'[^"]:"', rb'[^dD]":"', rb'[^iI][dD]":"', rb'[^_][iI][dD]":"',
                 rb'^"', rb'^:"', rb'^":"', rb'^[dD]":"', rb'^[iI][dD]":"')


def _entropy_prefilters() -> list[bytes]:
    """Hyperscan expressions for the quoted runs the entropy detectors could flag (see above). A run is written
    by where its first character outside [0-9a-f-] sits (one alternation: many separate bounded repeats scan
    several times slower)."""
    u, n, b = rb"[0-9a-f\-]", b"[" + _NOT_UUID + b"]", b"[" + _B64 + b"]"
    runs = [(u + b"{%d}" % p if p else b"") + n + b + b"{%d,}" % (22 - p) for p in range(23)]
    runs.append(u + b"{23,}" + n + b + b"*")
    run = b"(?:" + b"|".join(runs) + b")"
    return [
        b"(?:" + b"|".join(_NOT_AFTER_ID) + b")" + run + b'"',
        b"'" + run + b"'",
        b'"[0-9A-Fa-f]{9,}"',
        b"'[0-9A-Fa-f]{9,}'",
    ]


# detect-secrets' IPPublicDetector leaves out 10., 127., 192.168. and 172.16-31. by lookarounds Hyperscan cannot
# run; this superset keeps those exclusions (and needs a non-word character before), so loopback and private
# client addresses do not send every line to the judge.
_FIRST_OCTET = rb"(?:\d|1[1-9]|[2-9]\d|1[013-9]\d|12[0-689]|2\d\d|[03-9]\d\d)"
_IP_PREFILTER = (
    rb"[^\w.](?:" + _FIRST_OCTET + rb"\.\d{1,3}|192\.(?:\d{1,2}|1[0-57-9]\d|16[0-79]|[02-9]\d\d)"
    rb"|172\.(?:\d|1[0-5]|3[2-9]|[04-9]\d|\d{3}))\.\d{1,3}\.\d{1,3}"
)
_TOKEN_PREFILTER = rb"(?:hv[sbr]\.[A-Za-z0-9_-]{24}|s\.[A-Za-z0-9]{24}|b\.[A-Za-z0-9_-]{24})"
_CACHE_MAX = 50_000  # judged (key, value) pairs kept; the cache is emptied when full so memory stays flat


def _literal(needle: bytes) -> bytes:
    return b"".join(bytes([c]) if chr(c).isalnum() and c < 128 else b"\\x%02x" % c for c in needle)


@dataclass(frozen=True)
class LineHits:
    """What the judge found on one line: known values (name, encoding, key) and generic hits."""

    line: int
    known: tuple[tuple[str, str, str], ...]
    generic: tuple[GenericHit, ...]
    parsed: bool  # False: the line is not a JSON object, it was judged as one string


def _isolated(build: Callable[[], bytes]) -> bytes:
    """Run ``build`` in a forked child and return its bytes: compiling the databases takes ~15 MB for a moment,
    which would otherwise stay in this process's peak RSS (the memory budget of a long verify). Without fork, or
    if the child fails, build here."""
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        return build()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no imports, no locks, only the compile and a write
        code = 1
        try:
            data = build()
            view = memoryview(data)
            while view:
                view = view[os.write(w, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        return build()
    return bytes(b"".join(chunks))


_ANY_MATCH: dict[tuple[bytes, ...], Any] = {}  # compiled once per process, by expressions


def any_match(expressions: tuple[bytes, ...]) -> Optional[Callable[[bytes], bool]]:
    """A fast yes/no over a whole block: does any of ``expressions`` match? (Hyperscan, each expression reporting
    once at most, compiled in a child with ``_isolated``.) None without Hyperscan: the caller's slower way."""
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency
        return None
    db = _ANY_MATCH.get(expressions)
    if db is None:

        def build() -> bytes:
            d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            d.compile(expressions=list(expressions), ids=list(range(len(expressions))), elements=len(expressions),
                      flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(expressions))
            return bytes(hyperscan.dumpb(d))

        db = hyperscan.loadb(_isolated(build), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        _ANY_MATCH[expressions] = db

    def matches(data: bytes) -> bool:
        found: list[int] = []
        db.scan(data, match_event_handler=lambda *_a: found.append(1))
        return bool(found)

    return matches


# Compiled databases by known-needle set: compiling takes ~0.3 s, a process checking many files does it once.
_COMPILED: dict[tuple[str, ...], tuple[Any, Any, int, frozenset[int]]] = {}


class LeakScanner:
    """Secret detection over raw log text at disk speed. A Hyperscan database holds a superset of what can be a
    secret: every encoding of the known values, Vault token shapes, detect-secrets' own detector regexes (compiled
    in prefilter mode), its keyword names, and quoted runs that could pass its entropy limits. Only lines with a
    hit are parsed and judged value by value: known values by KnownValues, everything else by GenericScanner, that
    is, by detect-secrets itself. A quoted run already judged clean under the same key is not judged again.
    Use as a context manager (detect-secrets finds nothing outside its settings context)."""

    def __init__(self, secrets: Mapping[str, str], structural: Iterable[str] = ()) -> None:
        import hyperscan  # lazy: only the offline verification and no_secret_leak need it

        self.known = KnownValues(secrets)
        self.generic = GenericScanner(structural)
        self._clean_values: set[bytes] = set()  # judged clean under any non-structural, non-keyword key
        self._clean_pairs: set[tuple[bytes, bytes]] = set()  # judged clean under this key only
        self._hs = hyperscan
        self._db: Any = None
        self._n_known = 0
        self._keyword_ids: set[int] = set()
        self._entropy_db: Any = None

    def __enter__(self) -> "LeakScanner":
        self.generic.__enter__()
        key = tuple(n for n, _, _ in self.known._needles)
        cached = _COMPILED.get(key)
        if cached is None:
            db = self._compile()
            cached = (db, self._entropy_db, self._n_known, frozenset(self._keyword_ids))
            if len(_COMPILED) > 8:
                _COMPILED.clear()
            _COMPILED[key] = cached
        self._db, self._entropy_db, self._n_known, keyword_ids = cached
        self._keyword_ids = set(keyword_ids)
        return self

    def __exit__(self, *exc: object) -> None:
        self.generic.__exit__(*exc)

    def _compile(self) -> Any:
        hs = self._hs
        from detect_secrets.core.scan import get_plugins  # type: ignore[attr-defined]  # re-exported there

        exprs: list[bytes] = []
        flags: list[int] = []
        exts: list[Any] = []

        def add(pattern: bytes, flag: int, min_length: int = 0) -> int:
            exprs.append(pattern)
            flags.append(flag)
            exts.append(hs.ExpressionExt(flags=hs.HS_EXT_FLAG_MIN_LENGTH if min_length else 0, min_length=min_length))
            return len(exprs) - 1

        for needle, _name, _enc in self.known._needles:
            add(_literal(needle.encode("utf-8")), 0)
        self._n_known = len(exprs)
        add(_TOKEN_PREFILTER, 0)
        for kw in _KEYWORD_PREFILTERS:
            self._keyword_ids.add(add(kw.encode("latin-1"), hs.HS_FLAG_CASELESS))
        add(_IP_PREFILTER, 0)
        unknown = []
        for plugin in get_plugins():
            name = type(plugin).__name__
            if name in ("Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"):
                continue  # prefiltered above
            denylist = getattr(plugin, "denylist", None)
            if denylist is None:
                unknown.append(name)
                continue
            for rx in denylist:
                pat = rx.pattern if isinstance(rx.pattern, str) else rx.pattern.decode()
                if rx.flags & re.VERBOSE:
                    pat = "(?x)" + pat
                flag = hs.HS_FLAG_PREFILTER | (hs.HS_FLAG_CASELESS if rx.flags & re.IGNORECASE else 0)
                add(pat.encode("utf-8"), flag | (hs.HS_FLAG_DOTALL if rx.flags & re.DOTALL else 0))
        if unknown:
            # A detector we cannot prefilter: everything goes to the judge (slow, never wrong).
            add(rb"[^\n]", 0)
        ent = _entropy_prefilters()

        def build() -> bytes:
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags, ext=exts)
            edb = hs.Database(mode=hs.HS_MODE_BLOCK)
            edb.compile(expressions=ent, ids=[0] * len(ent), elements=len(ent), flags=[0] * len(ent))
            a, b = bytes(hs.dumpb(db)), bytes(hs.dumpb(edb))
            return len(a).to_bytes(8, "big") + a + b

        blob = _isolated(build)
        cut = int.from_bytes(blob[:8], "big") + 8
        db, self._entropy_db = hs.loadb(blob[8:cut], hs.HS_MODE_BLOCK), hs.loadb(blob[cut:], hs.HS_MODE_BLOCK)
        for d in (db, self._entropy_db):
            d.scratch = hs.Scratch(d)  # a deserialised database comes without scratch space
        return db

    def scan_block(self, data: bytes, first_line: int) -> list[LineHits]:
        """Judge what the prefilter finds in ``data`` (whole lines, newline-separated; the first is line
        ``first_line``). Returns the lines where something was found, in line order.

        A prefilter hit inside a JSON string value is judged as that value under its key (detect-secrets'
        verdict depends on nothing else), once: clean values are remembered, so a log's repeated paths, client
        ids and addresses cost a set lookup. Hits on known values, and values that are not plain "key":"value"
        pairs, send their whole line to the judge."""
        lines: set[int] = set()  # offsets of lines to judge whole
        pending: dict[tuple[bytes, bytes], int] = {}  # (key, value) -> offset of a first occurrence
        clean, skip = self._clean_values, self._clean_pairs
        n_known, keyword = self._n_known, self._keyword_ids
        digest_at = _DIGEST_BYTES.match

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: Any) -> Optional[bool]:
            if pid < n_known:
                lines.add(data.rfind(b"\n", 0, end) + 1)
                return None
            if pid in keyword and data[end : end + 1] == b'"':
                s0 = end  # a keyword name matched up to its colon: the value follows
            else:
                pos = end - 1
                if data[pos] in (34, 39):  # ended on a closing quote
                    pos -= 1
                s0 = data.rfind(b'"', 0, pos + 1)
            e0 = data.find(b'"', s0 + 1)
            if e0 > 0 and data[e0 + 1 : e0 + 3] == b':"':  # the match ended in a key: judge its value
                s0 = e0 + 2
                e0 = data.find(b'"', s0 + 1)
            if s0 < 2 or e0 < 0 or data[s0 - 2 : s0] != b'":' or data[e0 - 1] == 92:
                lines.add(data.rfind(b"\n", 0, end) + 1)  # not a plain "key":"value": judge the line
                return None
            if digest_at(data, s0 + 1, e0) is not None:
                return None  # an HMAC digest under a keyword ("password":"hmac-sha256:..."): skipped by the judge
            value = data[s0 + 1 : e0]
            ks = data.rfind(b'"', 0, s0 - 2)
            pair = (data[ks + 1 : s0 - 2], value)
            if pair not in skip and pair not in pending:
                pending[pair] = s0
            return None

        self._db.scan(data, match_event_handler=on_match)
        # Entropy runs are many (paths, long key names) and repeat: collect their ends in C-speed appends, then
        # skip the values already judged clean whatever their key, which after the first blocks is nearly all.
        ends: list[int] = []
        push = ends.append
        self._entropy_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: push(e))
        whole: set[bytes] = set()  # values whose line is judged whole (one line per value and block)
        rfind = data.rfind
        for end in ends:
            q = data[end - 1]  # the closing quote, as an int
            s0 = rfind(q, 0, end - 1)
            value = data[s0 + 1 : end - 1]
            if value in clean:
                continue
            if q == 34 and data[end : end + 1] == b":":
                pending.setdefault((b"", value), s0)  # a long key: the judge reads it as a value too
            elif q == 34 and data[s0 - 2 : s0] == b'":' and data[s0 - 3 : s0 - 2] != b"\\":
                ks = rfind(b'"', 0, s0 - 2)
                pair = (data[ks + 1 : s0 - 2], value)
                if pair not in skip:
                    pending.setdefault(pair, s0)
            elif value not in whole:  # in single quotes, a list item, or not a plain "key":"value"
                whole.add(value)
                lines.add(rfind(b"\n", 0, end) + 1)
        for pair, offset in pending.items():
            verdict = self._judge_pair(*pair)
            if verdict is None:
                lines.add(data.rfind(b"\n", 0, offset) + 1)
                continue
            if verdict:
                continue
            # A hit: every line of the block that holds this pair (or this long key) is judged (and reported) whole.
            needle = b'"' + pair[0] + b'":"' + pair[1] + b'"' if pair[0] else b'"' + pair[1] + b'":'
            lines.add(data.rfind(b"\n", 0, offset) + 1)
            at = data.find(needle)
            while at >= 0:
                lines.add(data.rfind(b"\n", 0, at) + 1)
                at = data.find(needle, at + 1)
        out: list[LineHits] = []
        line, pos = first_line, 0
        for ls in sorted(lines):
            line += data.count(b"\n", pos, ls)
            pos = ls
            le = data.find(b"\n", ls)
            hits = self.judge_line(line, data[ls : le if le >= 0 else len(data)])
            if hits is not None:
                out.append(hits)
        return out

    def _judge_pair(self, key_raw: bytes, value_raw: bytes) -> Optional[bool]:
        """True: clean (remembered); False: detect-secrets or the token rule flags it; None: cannot tell
        from the pair alone (escapes that do not decode)."""
        try:
            key = json.loads(b'"' + key_raw + b'"')
            value = json.loads(b'"' + value_raw + b'"')
        except ValueError:
            return None
        if self.known and self.known.find(value):
            return False
        if len(self._clean_values) + len(self._clean_pairs) > _CACHE_MAX:
            self._clean_values.clear()
            self._clean_pairs.clear()
        if _skippable(key, value, self.generic.structural):
            self._clean_pairs.add((key_raw, value_raw))
            return True
        if self.generic.scan_value(key, value):
            return False
        # Clean under this key. For an entropy run the key matters only through the keyword detector (whose
        # names the prefilter matches on their own) and filters that suppress hits: a value that is clean under
        # a neutral key too is remembered alone.
        neutral = ("value", "path") if "/" in value else ("value",)  # "path": judged segment by segment
        if any(self.generic.scan_value(k, value) for k in neutral):
            self._clean_pairs.add((key_raw, value_raw))
        else:
            self._clean_values.add(value_raw)
        return True

    def judge_line(self, line: int, raw: bytes) -> Optional[LineHits]:
        text = raw.decode("utf-8", "replace")
        pairs: list[tuple[str, str]]
        parsed = False
        start = text.find("{")
        data: Any = None
        if start >= 0:
            try:
                data = _loads(text[start:])
            except (ValueError, RecursionError):
                data = None
        if isinstance(data, dict):
            pairs = list(walk_strings(data))
            parsed = True
        else:
            pairs = [("line", text)]
        known: dict[tuple[str, str], str] = {}
        if self.known:
            for hit in self.known.find(text):
                known[(hit.name, hit.encoding)] = ""
            if known:
                for key, value in pairs:
                    for hit in self.known.find(value):
                        if not known.get((hit.name, hit.encoding)):
                            known[(hit.name, hit.encoding)] = key
        generic = tuple(self.generic.scan_strings(pairs))
        if not known and not generic:
            return None
        return LineHits(line, tuple((n, e, k) for (n, e), k in known.items()), generic, parsed)


def _loads(text: str) -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; json is the same, only slower
        return json.loads(text)
    return orjson.loads(text)
