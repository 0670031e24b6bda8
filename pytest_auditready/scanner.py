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
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional
from urllib.parse import quote, quote_plus

from .auditlog.model import HMAC_RE

# Vault / OpenBao tokens, which detect-secrets has no detector for: service (hvs.), batch (hvb.), recovery
# (hvr.), and the legacy s. (24 base62 characters, optionally a namespace suffix) and b. forms.
VAULT_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{24,}|s\.[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?|b\.[A-Za-z0-9_-]{24,})"
    r"(?![A-Za-z0-9_-])"
)
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\Z")
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
    }
)
_MIN_LEN = 6


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


def _skippable(key: str, value: str) -> bool:
    return (
        len(value) < _MIN_LEN
        or key in STRUCTURAL_KEYS
        or HMAC_RE.match(value) is not None
        or _UUID_RE.match(value) is not None
        or _TIME_RE.match(value) is not None
    )


class GenericScanner:
    """Finds secrets nobody told us about in string values. Use as a context manager around a batch of scans:
    detect-secrets only finds anything inside its settings context."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[GenericHit, ...]] = {}
        self._ctx: Any = None

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
        if _skippable(key, value):
            return ()
        cached = self._cache.get((key, value))
        if cached is not None:
            return cached
        from detect_secrets.core.scan import _process_line_based_plugins

        found: dict[str, GenericHit] = {}
        for m in VAULT_TOKEN_RE.finditer(value):
            found.setdefault("Vault Token", GenericHit("Vault Token", key, fingerprint(m.group(0))))
        line = json.dumps({key: value})
        for secret in _process_line_based_plugins(lines=[(1, line)], filename="audit.log"):
            kind = str(secret.type)
            found.setdefault(kind, GenericHit(kind, key, fingerprint(secret.secret_value or value)))
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
