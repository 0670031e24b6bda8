"""The fast leak scan (a Hyperscan prefilter, then detect-secrets as judge) must find everything the slow path
finds: judging every line whole. These tests compare the two on recorded OpenBao lines and on generated values
built to sit at the prefilter's edges (run lengths, where the first non-hex character is, which key holds it)."""

from __future__ import annotations

import base64
import json
import secrets
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_auditready.scan.hyperscan import LeakScanner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openbao"
CANARIES = {f"canary:{i}": v for i, v in enumerate((FIXTURES / "canaries.txt").read_text().split(), 1)}


@pytest.fixture(scope="module")
def scanner():
    with LeakScanner(CANARIES) as s:
        yield s


def slow(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    """Line -> what the judge finds when handed every line whole."""
    out = {}
    for n, raw in enumerate(lines, 1):
        hits = scanner.judge_line(n, raw)
        if hits is not None:
            out[n] = {h.kind for h in hits.generic} | {f"{name}/{enc}" for name, enc, _ in hits.known}
    return out


def fast(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    out = {}
    for hits in scanner.scan_block(b"\n".join(lines), 1):
        out[hits.line] = {h.kind for h in hits.generic} | {f"{name}/{enc}" for name, enc, _ in hits.known}
    return out


def missed(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    want, got = slow(scanner, lines), fast(scanner, lines)
    return {n: kinds - got.get(n, set()) for n, kinds in want.items() if kinds - got.get(n, set())}


@pytest.mark.parametrize("name", ["clean.log", "leaky.log", "leaky-raw.log"])
def test_recorded_logs_fast_scan_misses_nothing(scanner, name):
    lines = (FIXTURES / name).read_bytes().splitlines()
    assert missed(scanner, lines) == {}
    if name != "clean.log":
        assert fast(scanner, lines), "the leaky fixtures hold planted secrets"


def _line(key: str, value: object) -> bytes:
    """An OpenBao-like line with ``value`` under ``key`` in the request data (log_raw: values are not hashed)."""
    entry = {
        "time": "2026-01-05T08:00:00.123456789Z",
        "type": "request",
        "auth": {"client_token": "hmac-sha256:" + "ab" * 32, "display_name": "token-auditready-reader"},
        "request": {"id": "3f0c8a44-1c2e-4d1b-9a55-0b7f1e2d3c4a", "client_id": "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8=",
                    "operation": "update", "path": "secret/data/app", "data": {key: value}},
    }
    return json.dumps(entry, separators=(",", ":")).encode()


def _hexrun(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


# Values at the prefilter's edges. Each is flagged by detect-secrets under a neutral key.
EDGE_VALUES = {
    "sha1-like lowercase hex (40)": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "uppercase hex (40)": "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3",
    "short hex (12)": "9f8e7d6c5b4a",
    "first non-hex character at 30": _hexrun(30) + "GHIJKLMNOPQRSTUVWXYZ",
    "base64 (32 bytes)": base64.b64encode(secrets.token_bytes(32)).decode(),
    "urlsafe (23 chars)": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(23)) + "",
}


@pytest.mark.parametrize("key", ["data", "id", "token", "client_idx", "x_id", "entity_ids", "API_ID", "path"])
@pytest.mark.parametrize("label", sorted(EDGE_VALUES))
def test_edge_values_fast_scan_misses_nothing(scanner, key, label):
    value = EDGE_VALUES[label]
    lines = [_line(key, value), _line("list", [value, "x"]), _line(key, "plain"), _line("k", {value: 1})]
    assert missed(scanner, lines) == {}


def test_edge_values_are_found_under_a_neutral_key(scanner):
    """The edges above are real findings, so the comparison is not vacuous: a prefilter that dropped one of them
    would fail it."""
    for label, value in EDGE_VALUES.items():
        if label == "urlsafe (23 chars)":
            continue  # 23 random characters repeat one about half the time, and then stay under 4.5 bits
        got = fast(scanner, [_line("data", value)])
        assert got and any("High Entropy" in k for k in got[1]), label


def test_id_keys_are_left_to_detect_secrets_rule(scanner):
    """A run under a key ending in "_id" is not handed to the judge (detect-secrets drops it there), under "id"
    it is."""
    value = EDGE_VALUES["base64 (32 bytes)"]
    assert fast(scanner, [_line("entity_id", value)]) == {} == slow(scanner, [_line("entity_id", value)])
    assert fast(scanner, [_line("id", value)])


alphabet = string.ascii_letters + string.digits + "+/=_-\\\"':{}[],. é"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["data", "id", "x_id", "x_ID", "secret", "path", "client_id", "display_name", "a" * 30])
    | st.text(alphabet, max_size=30),
    value=st.text(alphabet, min_size=0, max_size=60)
    | st.builds(lambda a, b: a + b, st.text("0123456789abcdef-", max_size=40), st.text(alphabet, max_size=30)),
    shape=st.sampled_from(["value", "list", "key", "nested"]),
)
def test_generated_values_fast_scan_misses_nothing(scanner, key, value, shape):
    v: object = {"value": value, "list": [value, value], "key": {value: value}, "nested": {"k": {key: value}}}[shape]
    assert missed(scanner, [_line(key, v)]) == {}


@pytest.mark.parametrize("value, flagged", [
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4, False, id="digest"),  # skipped, as the judge skips it
    pytest.param("hmac-sha256:" + "0123456789ABCDEF" * 4, True, id="uppercase"),
    pytest.param("hmac-sha256:" + "ghijklmnopqrstuv" * 4, True, id="not-hex"),
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4 + "0", True, id="65-digits"),
    pytest.param("hmac-sha256:" + "0123456789abcdef" * 4 + "\\\"", True, id="escaped-quote-after"),
])
def test_digest_shaped_values_under_a_keyword(scanner, value, flagged):
    """A well-formed digest under a keyword ("password":"hmac-sha256:...") is passed over without the judge; any
    other value of that shape is still judged."""
    lines = [_line("password", value)]
    assert missed(scanner, lines) == {}
    assert bool(fast(scanner, lines)) is flagged


# -- detect-secrets' keyed detectors, held by one superset expression (scan.hyperscan._keyed_superset) -----------
_KEYED_NAMES = ["ibm_cloud_iam_api_key", "IAM_APIKEY", "cloud-iam-token", "ibm_password", "cos_hmac_secret_access_key",
                "IBM-COS-SECRET-KEY", "secret_access_key", "softlayer_api_key", "SL_PASSWORD", "cloudant_password",
                "cl_pw", "clou_token", "cloudantapikey"]
_KEYED_FORMS = ['"{n}": "{v}"', "{n} = {v}", "{n}:={v}", "[{n}] => '{v}'", "{n}    {v}", "{n}::{v}",
                "'{n}'     =     \"{v}\"", '["{n}"]: {v}', "x={n}={v}"]
_KEYED_VALUES = {
    "iam": lambda r: "".join(r.choice(string.ascii_letters + string.digits + "_-") for _ in range(44)),
    "cos": lambda r: "".join(r.choice("0123456789abcdef") for _ in range(48)),
    "softlayer": lambda r: "".join(r.choice(string.ascii_lowercase + string.digits) for _ in range(64)),
    "cloudant_hex": lambda r: "".join(r.choice("0123456789abcdef") for _ in range(64)),
    "cloudant_lower": lambda r: "".join(r.choice(string.ascii_lowercase) for _ in range(24)),
}


def _keyed() -> list:
    from pytest_auditready.scan.hyperscan import _keyed_length
    from pytest_auditready.scan.secrets import detector_regexes

    regexes, _ = detector_regexes()
    return [rx for rx in regexes if _keyed_length(rx) is not None]


def test_keyed_detectors_are_recognised():
    """IBM Cloud IAM, IBM COS HMAC, SoftLayer and both Cloudant forms: a detect-secrets release that changes their
    shape is noticed here (the scan stays right: an unrecognised regex is compiled as it is, only slower)."""
    assert len(_keyed()) == 5


def test_keyed_superset_matches_wherever_a_keyed_regex_does():
    import random
    import re

    from pytest_auditready.scan.hyperscan import _keyed_length, _keyed_superset

    keyed = _keyed()
    superset = re.compile(_keyed_superset(min(_keyed_length(rx) for rx in keyed)).decode(), re.IGNORECASE)
    originals = [re.compile(rx.pattern, (re.IGNORECASE if rx.ignorecase else 0) | (re.DOTALL if rx.dotall else 0))
                 for rx in keyed]
    rng = random.Random(7)
    hit_by = [0] * len(originals)
    for name in _KEYED_NAMES:
        for form in _KEYED_FORMS:
            for make in _KEYED_VALUES.values():
                for text in (form.format(n=name, v=make(rng)), "log: " + form.format(n=name, v=make(rng))):
                    matched = [i for i, rx in enumerate(originals) if rx.search(text)]
                    for i in matched:
                        hit_by[i] += 1
                    assert not matched or superset.search(text), text
    assert all(hit_by), hit_by  # every keyed regex matched some of the lines: the comparison was not empty


def test_keyed_shapes_are_replaced_only_when_held():
    from pytest_auditready.scan.hyperscan import _KEYED_HEAD, _KEYED_MID, _keyed_length
    from pytest_auditready.scan.secrets import DetectorRegex

    def shaped(names: str, value: str) -> DetectorRegex:
        return DetectorRegex(_KEYED_HEAD + names + _KEYED_MID + value + r")(?:\"|\'|)", True, False, False)

    assert _keyed_length(shaped("(?:acme|)(?:key|token)", "[a-z0-9]{30}")) == 30
    assert _keyed_length(shaped("(?:acme|)(?:foo|key)", "[a-z0-9]{30}")) is None  # a name need not end in a word
    assert _keyed_length(shaped("(?:acme|)(?:key|token)?", "[a-z0-9]{30}")) is None
    assert _keyed_length(shaped("(?:acme|)(?:key|token)", "[a-z0-9.]{30}")) is None  # "." is outside the class
    assert _keyed_length(shaped("(?:acme|)(?:key|token)", "[^\"]{30}")) is None


@pytest.mark.parametrize("text", [
    "conf: iam_token = {iam}",
    "SL_PASS {softlayer}",
    "cl_pw={cloudant_hex}",
    "conn cloudant_token: {cloudant_lower}",
])
def test_keyed_secret_in_prose_is_found(scanner, text):
    """Inside a longer string the value is no quoted run of its own, and these names are not keyword-detector
    names: only the keyed expression sends the line to the judge."""
    import random

    rng = random.Random(3)
    value = text.format(**{k: make(rng) for k, make in _KEYED_VALUES.items()})
    lines = [_line("message", value)]
    assert fast(scanner, lines) == slow(scanner, lines) != {}


# Shapes the static expressions exist for, planted at random points of real lines of every producer.
_PLANTS = (b'"password":"hunter2hunter2"', b"AKIAIOSFODNN7EXAMPLE", b"ghp_" + b"a1B2" * 9,
           b"xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn", b"-----BEGIN RSA PRIVATE KEY-----",
           b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
           b"hvs." + b"A" * 24, b'"secret\\":\\"abc"', b"sk_live_" + b"a" * 24, b"?token=" + b"A" * 30,
           b'{\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"x\\"}', b'"authorization":["Bearer abc"]',
           b'"api_key": "zzzzzzzzzzzz"', b'"kind":"Secret"', b'"resource":"secrets"', b'"SecureString"',
           b'"q":"' + b"Zx9" * 9 + b'"', b'"h":"0123456789abcdef0"', b"github_pat_" + b"a1_B" * 12,
           b"npm_" + b"a1B2" * 9, b"shpat_" + b"ab12" * 8, b"Bearer abc123def456ghi789", b"Basic dXNlcjpwYXNz",
           b"sk-ant-api03-x", b"AIza" + b"a1B2-" * 7, b"https://hooks.slack.com/services/T1/B2/c3",
           b"dp.pt." + b"a1B2" * 11, b"dop_v1_" + b"ab12" * 16, b"hf_" + b"aBcD" * 9, b"glsa_" + b"a1B2" * 8,
           b"postgres://app:S3cr!t(1)@db:5432/x", b"redis://:p$w;d=1@cache:6379")


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_the_block_library_finds_what_python_finds(monkeypatch, pure):
    """Vectorscan 5.4.12 (hyperscan >= 0.7.30) misses some matches of some expression shapes (an alternation with an
    unbounded repeat: ``qr|qx*y`` finds no "qr" ending a 17 to 34 byte buffer; see scan.known.prefilters): every
    static expression given to it, and the entropy expressions of the pure path, must find on real lines of every
    producer, with a secret's shape planted at a random point, cut at a random point or alone at a buffer's start
    or end, whatever Python's ``re`` finds there (a superset where the expression is compiled in prefilter mode)."""
    import ast

    import hyperscan as hs

    from pytest_auditready.scan import hyperscan as scan_hs
    from pytest_auditready.scan import native

    if pure:
        monkeypatch.setattr(native, "lib", None)
    seen: list[bytes] = []
    monkeypatch.setattr(scan_hs, "_STATIC", {})
    real = scan_hs.compiled
    monkeypatch.setattr(scan_hs, "compiled", lambda material, build, load: (seen.append(material),
                                                                             real(material, build, load))[1])
    with LeakScanner({}):
        pass
    _, exprs, flags, ent = ast.literal_eval(seen[-1].decode())
    sets = [(exprs, flags)] + ([(ent, [0] * len(ent))] if pure else [])
    cases = _block_cases()
    for es, fs in sets:
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=es, ids=list(range(len(es))), elements=len(es), flags=fs)
        by_re = [_re_finds(e, f) for e, f in zip(es, fs)]
        missed = []
        for n, c in enumerate(cases):
            got: set[int] = set()
            db.scan(c, match_event_handler=lambda i, _s, _e, _f, found: found.add(i), context=got)
            missed += [(es[i][:60], c[:120]) for i, found in enumerate(by_re) if i not in got and n in found]
        assert not missed, missed[:5]


_BLOCK_CASES: list[bytes] = []
_RE_FINDS: dict[tuple[bytes, int], frozenset[int]] = {}


def _block_cases() -> list[bytes]:
    """test_the_block_library_finds_what_python_finds's buffers (the same for both paths; made once)."""
    import random

    if not _BLOCK_CASES:
        rng = random.Random(20261202)
        lines = [ln for p in sorted(Path(FIXTURES).parent.glob("**/*.log"))
                 for ln in p.read_bytes().split(b"\n")[:200] if ln.strip()]
        for ln in rng.sample(lines, 600):
            plant = rng.choice(_PLANTS)
            k = rng.randint(0, len(ln))
            m = ln[:k] + plant + ln[k:]
            _BLOCK_CASES.extend([ln, m, m[: rng.randint(1, len(m))], m[rng.randint(0, len(m) - 1):],
                                 plant + b"x" * rng.randint(0, 40), b"x" * rng.randint(0, 40) + plant])
    return _BLOCK_CASES


def _re_finds(expression: bytes, flags: int) -> frozenset[int]:
    """The buffers of _block_cases() where Python's ``re`` finds ``expression`` (compiled with Hyperscan ``flags``'
    caseless and dotall meanings): the reference, worked out once per expression for both paths (the pure path's
    expressions hold the native path's)."""
    import re

    import hyperscan as hs

    key = (expression, flags)
    if key not in _RE_FINDS:
        rx = re.compile(expression, (re.I if flags & hs.HS_FLAG_CASELESS else 0) | (re.S if flags & hs.HS_FLAG_DOTALL
                                                                                     else 0))
        _RE_FINDS[key] = frozenset(n for n, c in enumerate(_block_cases()) if rx.search(c))
    return _RE_FINDS[key]


@pytest.mark.parametrize("unit", [b"Bearer ", b"1", b"\\\\u0041", b"QUJD", b"%41"])
def test_a_value_that_repeats_a_shape_is_judged_once_at_its_line(unit: bytes) -> None:
    """A value holding a prefilter's shape thousands of times (one hostile line): each hit looked back over the
    whole value for its quote and its line's start, quadratic in the value (a 2 MB value of "Bearer " ran past
    120 s). The block's other lines are found as before, and the long line once."""
    from pytest_auditready.checks.data_minimisation import _prefilter
    from pytest_auditready.scan.hyperscan import LeakScanner, line_finder

    before = b'{"type":"request","request":{"path":"a","data":{"k":"Bearer abcdef0123456789xyz"}}}'
    long = b'{"type":"request","request":{"path":"a","data":{"junk":"' + unit * 20_000 + b'"}}}'
    after = b'{"type":"request","request":{"path":"b","data":{"ok":"x"}}}'
    data = b"\n".join([before, long, after, before])
    line_of, _ = line_finder(data)
    starts = [0, len(before) + 1, len(before) + len(long) + 2, len(before) + len(long) + len(after) + 3]
    assert [line_of(s + 1) for s in starts] == starts and line_of(starts[2] - 1) == starts[1]
    with LeakScanner({}) as scanner:
        lines = [h.line for h in scanner.scan_block(data, 1)]
    assert lines == [1, 4] or lines == [1, 2, 4], lines  # the long line at most once
    found = _prefilter(("card", "email", "phone", "iban", "national_id"))
    assert found is not None and set(found(data)) <= set(starts)
