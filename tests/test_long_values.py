"""A value judged as many texts (a request path of thousands of segments, a value of a megabyte read in windows) has
its texts prefiltered by the block scanner's databases before detect-secrets reads them (blind red team rt53, F7: a
1 MB path took 14 s, a 4 MB one minutes). The prefilter must be a superset: the findings with it are the findings
without it, for secrets of every kind planted among thousands of clean segments, and every short text in which
detect-secrets finds something is one it lets through."""

from __future__ import annotations

import functools
import json
import random
import string
import urllib.parse

import pytest

from pytest_auditready.scan import native
from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.secrets import PREFILTER_MIN, GenericScanner, _windows

PLANTED = [
    "AKIAQ7RZ3M5T2WXKP4LN",  # AWS access key id
    "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",  # GitHub token
    "lj9gMCQHIDa1a3ET7uLr1rWHwumyD9MVwQCNNfi6Zk",  # high-entropy base64
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",  # high-entropy hex
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",  # JWT
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",  # Slack token
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe key
    "password=Zx7pQ2mW9kL4",  # a keyword assignment
    "postgres://app:Tr0ub4dor3horse@db.internal:5432/orders",  # a URL with credentials
]


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(string.ascii_lowercase + "-_.") for _ in range(rng.randint(8, 30))) for _ in range(n)]


def _hits(scanner: GenericScanner, key: str, value: str) -> set[tuple[str, str]]:
    return {(h.kind, h.fingerprint) for h in scanner.scan_value(key, value)}


def _plain(key: str, value: str) -> set[tuple[str, str]]:
    """What the scanner finds without the prefilter (it never reads the C extension: the same for both parameters)."""
    with GenericScanner() as plain:
        return _hits(plain, key, value)


@pytest.fixture(scope="module", params=[False, True], ids=["native", "pure"])
def leak(request):
    if not request.param and native.lib is None:
        pytest.skip("the C extension is not built")
    saved = native.lib
    native.lib = None if request.param else saved
    try:
        with LeakScanner({}) as s:
            yield s
    finally:
        native.lib = saved


@functools.lru_cache(maxsize=None)
def _long_path(planted: tuple[str, ...]) -> tuple[str, set[tuple[str, str]]]:
    """A path of 3000 clean segments with ``planted`` among them, and what the scanner finds in it without the
    prefilter (made once, for the native and the pure parameter alike)."""
    rng = random.Random(len(planted))
    segments = _words(rng, 3000)
    for n, secret in enumerate(planted):
        segments[rng.randrange(len(segments))] = secret + "x" * n  # each its own
    # (and each as a query parameter's value, where every detector reads it: a segment is read by the detectors of
    # a secret's own format only)
    query = "&".join(["version=2"] + [f"p{n}={urllib.parse.quote(secret)}" for n, secret in enumerate(planted)])
    path = "secret/data/" + "/".join(segments) + "?" + query
    return path, _plain("path", path)


@pytest.mark.parametrize("planted", [[p] for p in PLANTED] + [PLANTED, []], ids=[*range(len(PLANTED)), "all", "none"])
def test_a_long_path_is_judged_as_without_the_prefilter(leak: LeakScanner, planted: list[str]) -> None:
    path, expected = _long_path(tuple(planted))
    assert leak.generic.prefilter is not None
    assert _hits(leak.generic, "path", path) == expected
    assert len({kind for kind, _ in expected}) >= min(len(planted), 6)


@functools.lru_cache(maxsize=None)
def _long_value() -> tuple[str, set[tuple[str, str]]]:
    """A value of 40,000 clean words with every planted secret among them, and what the scanner finds in it without
    the prefilter (made once, for both parameters)."""
    rng = random.Random(7)
    text = " ".join(_words(rng, 40_000))
    assert len(_windows(text)) > PREFILTER_MIN
    at = [rng.randrange(len(text)) for _ in PLANTED]
    for secret, i in sorted(zip(PLANTED, at), key=lambda p: p[1], reverse=True):
        text = text[:i] + f' "{secret}" ' + text[i:]
    return text, _plain("message", text)


def test_a_long_value_read_in_windows_is_judged_as_without_the_prefilter(leak: LeakScanner) -> None:
    text, expected = _long_value()
    assert len(_windows(text)) > PREFILTER_MIN
    assert expected
    assert _hits(leak.generic, "message", text) == expected


def _corpus() -> list[str]:
    """Short texts of many shapes: each planted value alone, quoted, after keywords and assignments of the syntaxes
    detect-secrets' keyword detector reads, and random runs of each alphabet."""
    rng = random.Random(11)
    out: list[str] = []
    for secret in PLANTED:
        for form in ("{}", '"{}"', "'{}'", "password: {}", 'password = "{}"', "api_key := '{}'", 'secret("{}")',
                     '"{}" == password', 'db_pass "{}";', "private_key => '{}'", "x{}y", "://{}"):
            out.append(form.format(secret))
    alphabets = (string.ascii_letters + string.digits + "+/=", "0123456789abcdef", string.ascii_lowercase)
    for _ in range(600):
        run = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(6, 60)))
        out.append(rng.choice(("{}", '"{}"', "'{}'", "secret={}", 'pwd: "{}"')).format(run))
    return out


@functools.lru_cache(maxsize=None)
def _found_by_detect_secrets() -> tuple[list[str], list[bool]]:
    """The corpus as JSON texts and, for each, whether detect-secrets finds something in it (made once, for both
    parameters: detect-secrets never reads the C extension)."""
    from detect_secrets.core.scan import _process_line_based_plugins

    texts = [json.dumps({key: value}) for value in _corpus() for key in ("path", "value", "password")]
    with GenericScanner():
        found = [bool(list(_process_line_based_plugins(lines=[(1, t)], filename="audit.log"))) for t in texts]
    return texts, found


def test_every_text_detect_secrets_finds_something_in_is_let_through(leak: LeakScanner) -> None:
    texts, found = _found_by_detect_secrets()
    hold = leak._may_hold(texts)
    assert sum(found) > 100  # the corpus holds many
    assert [t for t, f, h in zip(texts, found, hold) if f and not h] == []
