"""The detect-secrets adapter: the only module that imports detect-secrets.

Its line-based file scan is the judge of its detectors' hits. We feed it one value at a time (as a one-key JSON
line, so that keyword detectors still see the key), always inside its settings context (``default_settings``:
outside it ``scan_line`` silently finds nothing), because on a whole audit line its ``is_likely_id_string``
filter hides any secret that comes after an ``*_id`` key, and it reports every ``hmac-sha256:`` digest as a hex
secret. Results never hold the value itself: a hit names the kind, the key it sat under and a short SHA-256
fingerprint.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ..auditlog.model import HMAC_RE
from .known import MIN_LEN, fingerprint

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
        # The identity label the vault composes ("token-" + the display name given at creation): a required audit
        # field, not a credential. With a random run id in it, it reads as high-entropy base64 about one run in
        # ten (entropy 4.5 for the unprivileged identity's name).
        "display_name",
    }
)
# Keys whose values are request paths: judged per segment (see GenericScanner.scan_value).
PATH_KEYS = frozenset({"path", "mount_point"})
# Detectors the block scanner prefilters with expressions of its own (scan.hyperscan), not with their regexes.
OWN_PREFILTERS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"})
CACHE_MAX = 50_000  # judged (key, value) pairs kept; the cache is emptied when full so memory stays flat


@dataclass(frozen=True)
class GenericHit:
    kind: str  # detector name, e.g. "AWS Access Key", "Vault Token"
    key: str  # the JSON key the value sat under
    fingerprint: str


@dataclass(frozen=True)
class DetectorRegex:
    """One regex of a detect-secrets detector, as plain data for another regex engine."""

    pattern: str
    ignorecase: bool
    dotall: bool
    verbose: bool


def skippable(key: str, value: str, structural: frozenset[str] = STRUCTURAL_KEYS) -> bool:
    """Values the judge never flags: short ones, structural fields, HMAC digests, UUIDs and timestamps."""
    return (
        len(value) < MIN_LEN
        or key in structural
        or HMAC_RE.match(value) is not None
        or _UUID_RE.match(value) is not None
        or _TIME_RE.match(value) is not None
    )


def detector_regexes() -> tuple[list[DetectorRegex], list[str]]:
    """The regexes of every active detector except those in OWN_PREFILTERS, and the names of detectors that have
    none to offer (a caller that cannot prefilter those must hand everything to the judge)."""
    from detect_secrets.settings import default_settings, get_plugins

    out: list[DetectorRegex] = []
    unknown: list[str] = []
    with default_settings():
        plugins = list(get_plugins())
    for plugin in plugins:
        name = type(plugin).__name__
        if name in OWN_PREFILTERS:
            continue
        denylist = getattr(plugin, "denylist", None)
        if denylist is None:
            unknown.append(name)
            continue
        for rx in denylist:
            pat = rx.pattern if isinstance(rx.pattern, str) else rx.pattern.decode()
            out.append(DetectorRegex(pat, bool(rx.flags & re.IGNORECASE), bool(rx.flags & re.DOTALL),
                                     bool(rx.flags & re.VERBOSE)))
    return out, unknown


class GenericScanner:
    """Finds secrets nobody told us about in string values. Use as a context manager around a batch of scans:
    detect-secrets only finds anything inside its settings context."""

    def __init__(self, structural: Iterable[str] = ()) -> None:
        self._cache: dict[tuple[str, str], tuple[GenericHit, ...]] = {}
        self._ctx: Any = None
        self.structural = STRUCTURAL_KEYS | frozenset(structural)  # keys whose values are never judged

    def __enter__(self) -> GenericScanner:
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
        if skippable(key, value, self.structural):
            return ()
        cached = self._cache.get((key, value))
        if cached is not None:
            return cached
        if len(self._cache) > CACHE_MAX:
            self._cache.clear()
        from detect_secrets.core.scan import _process_line_based_plugins

        found: dict[str, GenericHit] = {}
        for m in VAULT_TOKEN_RE.finditer(value):
            found.setdefault("Vault Token", GenericHit("Vault Token", key, fingerprint(m.group(0))))
        # A request path is judged segment by segment: a secret in a path is a segment of its own, while the
        # whole path (mount, prefix, a random run id, a name) often reads as high-entropy base64 when it is not.
        parts = [p for p in value.split("/") if len(p) >= MIN_LEN] if key in PATH_KEYS else [value]
        for part in parts:
            line = json.dumps({key: part})
            for secret in _process_line_based_plugins(lines=[(1, line)], filename="audit.log"):
                kind = str(secret.type)
                found.setdefault(kind, GenericHit(kind, key, fingerprint(secret.secret_value or part)))
        # detect-secrets runs its plugins in no fixed order: sort, so that every run reports the same findings
        hits = tuple(sorted(found.values(), key=lambda h: (h.kind, h.fingerprint)))
        self._cache[(key, value)] = hits
        return hits

    def scan_strings(self, pairs: Iterable[tuple[str, str]]) -> Iterator[GenericHit]:
        seen: set[tuple[str, str]] = set()
        for key, value in pairs:
            for hit in self.scan_value(key, value):
                if (hit.kind, hit.fingerprint) not in seen:
                    seen.add((hit.kind, hit.fingerprint))
                    yield hit
