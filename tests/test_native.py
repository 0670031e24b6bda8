"""The optional C extension (pytest_auditready._native, issue 16) against the pure-Python reference.

Each C function is held to what it replaces (the Hyperscan databases and Python regexes it stands for) on every
fixture and on generated hostile bytes; then ``auditready verify`` runs both ways (AUDITREADY_PURE_PYTHON=1 forces
the pure path) on every fixture and on crafted hostile logs, and must give the same verdicts, findings, accounting
and exit code. Also: the compiled-database cache (corrupt, foreign or planted entries are never trusted, no
secret ever reaches it, racing processes are safe), judge verdicts remembered across files, and an install
without a compiler.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pytest_auditready.checks import integrity_digest
from pytest_auditready.checks.data_minimisation import _CARD_RES, ENCODED_PREFILTERS, PREFILTERS, _prefilter
from pytest_auditready.offline import reader
from pytest_auditready.scan import hyperscan as hsmod
from pytest_auditready.scan import native
from pytest_auditready.scan.hyperscan import IRREGULAR_LINES, MALFORMED_DIGEST, LeakScanner, any_match
from tests._native_runs import PURE_ENV, build_variant, verify_process

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LIB = native.lib


def _need_lib() -> Any:
    if LIB is None:
        if os.environ.get("CI"):
            pytest.fail("the C extension is not built under CI: pip install -e . needs a C compiler and Python headers")
        pytest.skip("the C extension is not built here (no compiler at install time)")
    return LIB


@pytest.fixture(scope="module", params=["simd", "sse2", "portable"])
def lib(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The built extension (its AVX2 paths where this CPU has AVX2), and the same source built with
    AUDITREADY_NO_AVX2 (the SSE2 paths) and with AUDITREADY_NO_SIMD (the portable paths that platforms without SSE2
    run), loaded from a temporary folder."""
    built = _need_lib()
    if request.param == "simd":
        return built
    module = build_variant(request.param, tmp_path_factory.mktemp(request.param))  # once per test process
    if module is None:
        pytest.skip("no C compiler to build the portable variant")
    return module


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


# -- inputs: every fixture's bytes, cut into blocks, and generated hostile bytes -----------------------------------
def _fixture_blocks() -> list[bytes]:
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and path.suffix in (".log", ".json", ".txt"):
            data = path.read_bytes()
            out.append(data)
            out.extend(data[i : i + 4096] for i in range(0, len(data), 4096))  # cut mid-line and mid-value too
    return out


_TOKENS = [b'"', b"'", b":", b'":"', b'_id":"', b'_ID":"', b'_iD":', b"id", b"d", b"\\", b'\\"', b"\n", b"\n{", b"}",
           b"{", b"}\n{", b"} \t\r{", b" ", b"-", b".", b"@", b"%40", b"%", b"+", b"(", b")", b"hmac-sha256:",
           b'"hmac-sha256:', b"0123456789", b"4111111111111111", b"4111 1111 1111 1111", b"4111-111111-11111",
           b"abcdef", b"ABCDEF", b"GB82WEST12345698765432", b"QQ 12 34 56 C", b"123-45-6789", b"555.123.4567",
           b"(555) 123-4567", b"+44 20 7946 0958", b"user@example.com", b"\xc3\xa9", b"\xff", b"\xed\xa0\x80",
           b"Zm9vYmFyYmF6cXV4cXV1eFpt", b"0" * 64, b"f" * 63, b"A" * 23, b"a1-" * 9, b"=", b"/", b"_", b"\r",
           b"\\u0026", b"1234567890123", b"12345678901234567890", b"\\n", b"\\u0020", b"f13a2580-7104-4636-a3c3",
           b"%20", b"%2b", b"%2B", b"%28", b"%29", b"+", b"+4", b"+44", b"\\u0041", b"\\u0066", b"\\u007f", b"\\u007E",
           b"\\u003a", b"\\u0036", b"4111+1111+1111+1111", b"GB82+WEST+1234", b"AB%2012%2034", b"AB", b"12", b"1234",
           b"%28415%29", b"415+555-0132", b"415%20555.0132"]


def _fuzz(seed: int, n: int = 300, longest: int = 60) -> list[bytes]:
    rng = random.Random(seed)
    return [b"".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, longest))) for _ in range(n)]


def _inputs() -> Iterator[bytes]:
    yield from _fixture_blocks()
    yield from _fuzz(16)
    yield from _fuzz(17, 100, 400)  # long lines: many 64-byte windows of the SIMD passes
    yield b""
    yield b"\n"
    yield b'"' * 40
    yield b'"hmac-sha256:' + b"0" * 64  # a digest cut at the block's end
    yield b'"hmac-sha256:' + b"0" * 65 + b'"'
    yield b'x"hmac-sha256:' + b"0" * 64 + b'\\"'


# -- each C function equals what it replaces ---------------------------------------------------------------------
def test_block_shape_equals_the_counts_and_the_irregular_database(lib: Any) -> None:
    irregular = any_match(IRREGULAR_LINES, native=False)
    assert irregular is not None
    for data in _inputs():
        lines, plain, irr = lib.block_shape(data)
        assert lines == data.count(b"\n") + 1, data[:200]
        assert plain == (data[:1] == b"{" and data.count(b"\n{") == data.count(b"\n")), data[:200]
        assert irr == irregular(data), data[:200]
    assert reader._IRREGULAR == IRREGULAR_LINES  # the reader's set is the one the C pass answers


def _entropy_reference(scanner: LeakScanner, data: bytes) -> list[int]:
    ends: set[int] = set()
    scanner._entropy_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: ends.add(e))
    return sorted(ends)


def test_entropy_ends_equal_the_hyperscan_entropy_database(lib: Any) -> None:
    with LeakScanner({}) as scanner:
        for data in _inputs():
            want = _entropy_reference(scanner, data)
            assert lib.entropy_ends(data, None) == want, data[:300]
            # values in the clean set are left out, and only those
            clean = {data[data.rfind(data[e - 1 : e], 0, e - 1) + 1 : e - 1] for e in want[::2]}
            kept = [e for e in want if data[data.rfind(data[e - 1 : e], 0, e - 1) + 1 : e - 1] not in clean]
            assert lib.entropy_ends(data, clean) == kept
    with pytest.raises(TypeError):
        lib.entropy_ends(b'"x"', ["not a set"])


_KV_TOKENS = [b'"', b"%22", b"%2", b"%", b"\\", b'\\"', b",", b" ", b"\t", b"\n", b"\x0b", b"\x0c", b"\r", b":",
              b"value", b"VaLuE", b"parameterValue", b"PARAMETERvalue", b"parameter", b"password", b"PassWord",
              b"db_pass", b"dbpass", b"api_key", b"secret", b"contrase\xc3\xb1a", b"contrasena", b"CONTRASE\xc3\x91A",
              b"key", b"x", b"name", b"{", b"}", b"pwd", b"_", b"token", b"TOKEN", b"toke", b"n"]


def test_keyword_value_ends_equal_the_hyperscan_whole_line_prefilter(lib: Any) -> None:
    import hyperscan

    exprs = [hsmod._KEYWORD_VALUE.encode("latin-1"), hsmod._TOKEN_NAME_VALUE.encode("latin-1")]
    assert all(e in [w.encode("latin-1") for w in hsmod._WHOLE_LINE_PREFILTERS] for e in exprs)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=[0, 1], elements=2, flags=[hyperscan.HS_FLAG_CASELESS] * 2)
    rng = random.Random(11)
    generated = [b"".join(rng.choice(_KV_TOKENS) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    shapes = [[b'{"name":"', b'"', b"%22", b'\\"'], [b"DB_PASSWORD", b"API_TOKEN", b"token", b"tokens", b"user", b"my secret x", b"pa%ssword", b'pass"word'],
              [b'"', b'\\"', b"%22", b'\\\\"'], [b"", b" ", b"\n", b"\x0b"], [b",", b";"], [b"", b" \t"],
              [b'"', b'\\"', b"%22", b""], [b"value", b"Value", b"parameterValue", b"val"], [b'"', b'\\\\"', b"%22"],
              [b"", b" ", b"\r\n"], [b":", b"="], [b'"x"}']]
    generated += [b"".join(rng.choice(options) for options in shapes) for _ in range(3000)]
    named = [b'{"name":"DB_PASSWORD","value":"x"}', b'{\\"name\\":\\"my_secret\\", \\"Value\\" :"x"}',
             b"%22api_key%22,%22parameterValue%22:", b'"password" ,\n "value"\x0b:', b'"pa%ssword","value":',
             b'"pass\"word","value":']
    found = 0
    for data in [*_inputs(), *generated, *named]:
        ends: set[int] = set()
        db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, ends=ends: ends.add(e))
        assert lib.colon_ends(data)[0] == sorted(ends), data[:300]
        found += bool(ends)
    assert found > 100  # the inputs do exercise it


_TOKEN_SHAPES = [[b"", b"{", b"x", b'\\'], [b"token", b"TOKEN", b"Token", b"api_token", b"tokens", b"toke", b"oken",
                                                 b"subjectFromWebIdentityToken"],
                 [b'"', b"", b'\\"', b"'"], [b"", b" ", b"\t", b"\n", b"\x0b", b"\r\n "], [b":", b"=", b"::"],
                 [b"", b" ", b"\n", b"\x0c"], [b'"', b"", b"'", b'\\"'],
                 [b"", b'"', b"h", b"H", b"hm", b"HM", b"hma", b"hmA", b"hmac", b"HMAC", b"hmac-sha256:ab", b"x", b"hx",
                  b"hmx", b"hmax", b"h\n", b"hm\"", b"\xc3\xa9", b"abc"], [b"", b'"', b"\n", b","]]


def test_token_value_ends_equal_the_hyperscan_prefilter(lib: Any) -> None:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[hsmod._TOKEN_VALUE.encode("latin-1")], ids=[0], elements=1,
               flags=[hyperscan.HS_FLAG_CASELESS])
    rng = random.Random(23)
    generated = [b"".join(rng.choice(options) for options in _TOKEN_SHAPES) for _ in range(6000)]
    generated += [b"".join(b"".join(rng.choice(options) for options in _TOKEN_SHAPES) for _ in range(rng.randint(2, 5)))
                  for _ in range(2000)]
    real = [b'{"auth":{"client_token":"hmac-sha256:' + b"ab" * 32 + b'"},"request":{"id":"1"}}',
            b'{"env":[{"name":"API_TOKEN","value":"x"}],"authToken":"Zq7","token": "h"}']
    found = 0
    for data in [*_inputs(), *generated, *real]:
        ends: list[int] = []
        db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, ends=ends: ends.append(e))
        assert lib.colon_ends(data)[1] == sorted(ends), data[:300]
        found += bool(ends)
    assert found > 150  # the inputs do exercise it


_URI_IP_TOKENS = [b"?", b"&", b"\\u0026", b"\\U0026", b"\\u002", b"\\", b"=", b"==", b"%3D", b"a", b"Z", b"_", b".",
                  b"-", b"+", b"/", b"%", b"token", b"x" * 19, b"Q" * 20, b"0123456789", b" ", b'"', b"\n", b":", b"@",
                  b"\xc3\xa9", b"\xff", b"1", b"10", b"127", b"172", b"192", b"168", b"16", b"31", b"32", b"15", b"010",
                  b"0", b"8", b"255", b"256", b"1234", b"99", b"160", b"3"]


_URI_SHAPES = [[b"", b"/v1/x", b"\\", b"a"], [b"?", b"&", b"\\u0026", b"\\U0026", b"\\u002", b"%26", b""],
               [b"", b"t", b"X-Amz.Sig_n-1", b"a b", b"\xc3\xa9"], [b"=", b"", b":", b"=="],
               [b"A" * 19, b"Zm9v" * 5, b"a%2Fb+c/d=e_f.g-h" * 2, b"0" * 40, b"A" * 19 + b"\"" + b"A"],
               [b"", b"&b=1", b'"', b"\n?y=" + b"Q" * 25, b"#"]]


def _ip_shapes(rng: random.Random) -> bytes:
    """A dotted run of octets of 0 to 4 digits, with what may come before and after."""
    octets = [rng.choice([b"", b"1", b"10", b"127", b"172", b"192", b"168", b"16", b"31", b"32", b"15", b"010", b"0",
                          b"8", b"255", b"999", b"1234", b"19", b"17", b"12", b"160", b"310", b"05"])
              for _ in range(rng.randint(1, 6))]
    before = rng.choice([b"", b" ", b'"', b"x", b"_", b".", b"\n", b"\xff", b"/", b"=", b"1"])
    after = rng.choice([b"", b" ", b'"', b"x", b".", b":8200", b"5", b"\n"])
    return before + b".".join(octets) + after


def test_uri_ip_ends_equal_the_hyperscan_prefilters(lib: Any) -> None:
    """The long-URI-parameter and public-IPv4 prefilters of the block database, found by the C extension."""
    import hyperscan

    uri_db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    uri_db.compile(expressions=[hsmod._URI_PARAM.encode("latin-1")], ids=[0], elements=1,
                   flags=[hyperscan.HS_FLAG_CASELESS])
    ip_db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    ip_db.compile(expressions=[hsmod._IP_PREFILTER], ids=[0], elements=1, flags=[0])
    rng = random.Random(23)
    generated = [b"".join(rng.choice(_URI_IP_TOKENS) for _ in range(rng.randint(0, 60))) for _ in range(4000)]
    generated += [b"".join(_ip_shapes(rng) for _ in range(rng.randint(1, 4))) for _ in range(6000)]
    generated += [b"".join(rng.choice(options) for options in _URI_SHAPES) for _ in range(3000)]
    named = [b"GET /x?token=" + b"A" * 30 + b"&b=1", b'"path":"a\\u0026sig=' + b"Zm9v" * 6 + b'"', b"8.8.8.8",
             b" 192.168.1.1 192.169.1.1 172.16.0.1 172.160.0.1 172.15.0.1 172.32.0.1 10.1.2.3 127.0.0.1 010.1.2.3",
             b'"remote_address":"203.0.113.7"', b"1.2.3.4.5.6", b"x1.2.3.4", b"a.1.2.3.4"]
    found = [0, 0]
    for data in [*_inputs(), *generated, *named]:
        want: tuple[set[int], set[int]] = (set(), set())
        uri_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, w=want[0]: w.add(e))
        ip_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, w=want[1]: w.add(e))
        got = lib.uri_ip_ends(data)
        assert (got[0], got[1]) == (sorted(want[0]), sorted(want[1])), data[:300]
        found[0] += bool(want[0])
        found[1] += bool(want[1])
    assert min(found) > 300, found  # the inputs do exercise both


def test_the_ip_prefilter_holds_every_address_detect_secrets_flags() -> None:
    """A superset: wherever IPPublicDetector finds a public address, the prefilter matches (its exclusions are
    detect-secrets' own), and it leaves the private and loopback ranges out."""
    import hyperscan
    from detect_secrets.plugins.ip_public import IPPublicDetector

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[hsmod._IP_PREFILTER], ids=[0], elements=1, flags=[0])
    detector = IPPublicDetector()
    rng = random.Random(29)
    flagged = 0
    for _ in range(20000):
        data = _ip_shapes(rng)
        text = data.decode("latin-1")
        if list(detector.analyze_string(text)):
            flagged += 1
            hits: list[int] = []
            db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, hits=hits: hits.append(e))
            assert hits, data
    assert flagged > 200  # the shapes do hold public addresses
    for private in (b"10.1.2.3", b"127.0.0.1", b"192.168.0.1", b"172.16.0.1", b"172.31.255.255"):
        seen: list[int] = []
        db.scan(b" " + private + b" ", match_event_handler=lambda _i, _s, e, _f, _c, seen=seen: seen.append(e))
        assert not seen, private


def _times(rng: random.Random) -> str:
    """A time as a log might write it: mostly the plain UTC form, with every way of not quite being one."""
    year = rng.choice([999, 1000, 1677, 1678, 1969, 1970, 2000, 2024, 2025, 2100, 2261, 2262, 9999, rng.randint(1000, 9999)])
    if rng.random() < 0.6:  # a plain one (a leap day only in a leap year, 1 to 9 fraction digits)
        day = datetime.date(min(max(year, 1000), 9998), 1, 1) + datetime.timedelta(days=rng.randint(0, 365))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
        return f"{day.year:04d}-{day.month:02d}-{day.day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
               f"{rng.randint(0, 59):02d}.{frac}Z"
    month, day = rng.choice([rng.randint(1, 12), 0, 13, 2]), rng.choice([rng.randint(1, 28), 29, 30, 31, 0, 32])
    h, m, sec = rng.choice([rng.randint(0, 23), 24]), rng.choice([rng.randint(0, 59), 60]), rng.choice(
        [rng.randint(0, 59), 60])
    frac = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 6, 9, 0, 10])))
    t = f"{year:04d}-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{sec:02d}" + (f".{frac}" if frac else "") + "Z"
    roll = rng.random()
    if roll < 0.04:
        t = t.replace("T", "t")
    elif roll < 0.08:
        t = t[:-1] + "+00:00"
    elif roll < 0.1:
        t = t.replace("1", "\u0661", 1)  # an Arabic-Indic digit: a digit to str.isdigit, not to the format
    elif roll < 0.12:
        t = t[:-1]
    elif roll < 0.14:
        t = " " + t
    return t


_REFERENCES: dict[Any, Any] = {}


def _reference(key: Any, work: Callable[[], Any]) -> Any:
    """What a pure-Python or Hyperscan reference answers for a test's inputs, worked out once for the three builds
    that are held to it (only read)."""
    if key not in _REFERENCES:
        _REFERENCES[key] = work()
    return _REFERENCES[key]


def _utc_batches() -> list[tuple[list[str], Any]]:
    """20,000 batches of times, each with what the pure check answers: its ns where it vouches for the batch."""
    from pytest_auditready.auditlog import model

    out = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(model, "_UTC_NS", None)  # the pure path
        rng = random.Random(31)
        for _ in range(20000):
            times = [_times(rng) for _k in range(rng.choice([1, 1, 2, 5]))]
            batch = model.Entries("f", range(len(times)), ["request"] * len(times), times,
                                  *([[""] * len(times)] * 6))
            out.append((times, batch.times_ns() if batch.utc_times() else None))
    return out


def test_utc_ns_equals_utc_times_and_times_ns(lib: Any) -> None:
    """The C pass vouches for exactly the batches the pure check vouches for, with the same ns."""
    vouched = 0
    for times, pure in _reference("utc_ns", _utc_batches):
        assert lib.utc_ns(times) == pure, times
        vouched += pure is not None
    assert vouched > 2000
    assert lib.utc_ns([]) == []
    with pytest.raises(TypeError):
        lib.utc_ns(("2026-01-01T00:00:00.1Z",))


# misspellings of the digest prefix (MALFORMED_DIGEST's last five expressions), and near ones that are none
_MISSPELLED = ("HMAC-SHA256:", "hMac-sha256:", "hmac-Sha256:", "hmac-shA256:", "hmac_sha256:", "hmacsha256:",
               "hmac-sha-256:", "hmac_sha_256:", "hmac-sha512:", "hmac-sha1:", "hmac-sha2560:", "hmac-sha25:",
               "hmac-sha257:", "hmac-sha356:", "hmac-sha246:", "HMAC_SHA_256:", "hmac-sha:", "hmac-sha256",
               "hmac-sha2-256:", "hmac--sha256:", "hmacsha:", "HMAC-SHA256 ", "hmac-sha256x:", "HmAc")


def _raw_token_inputs() -> Iterator[bytes]:
    """Every shape of a client token and a wrapping token, digested, empty or in clear, escaped at any depth, cut at
    every byte of the prefix, inside and outside wrap_info, beside malformed and correct digests."""
    digest = "hmac-sha256:" + "ab" * 32
    values = [digest, "", "hvs.CAES", "h", "hmac-sha25", "hmac-sha256:", "\\u0041", "hmac-sha256:" + "ab" * 31 + "g",
              *(m + "ab" * 32 for m in _MISSPELLED)]
    for q in ('"', '\\"', '\\\\\\"'):
        for v in values:
            yield f'{{{q}auth{q}:{{{q}client_token{q}:{q}{v}{q}}},{q}x{q}:{q}hmac-sha256:zz{q}}}'.encode()
            yield f'{{{q}response{q}:{{{q}wrap_info{q}:{{{q}ttl{q}:60,{q}token{q}:{q}{v}{q}}}}}}}'.encode()
            yield f'{{{q}wrap_info{q}:{{{q}a{q}:{{}},{q}token{q}:{q}{v}{q}}}}}'.encode()  # a brace between
            yield f'{{{q}data{q}:{{{q}token{q}:{q}{v}{q}}}}}'.encode()
            yield f'{{{q}wrap_info{q} :{{{q}token{q}:{q}{v}{q}}}}}'.encode()
            line = f'{{{q}client_token{q}:{q}{v}{q}}}'.encode()
            for cut in range(len(line)):
                yield line[:cut]
            # the request's token accessor (digested unless hmac_accessor=false), and keys that only end alike
            yield f'{{{q}request{q}:{{{q}client_token_accessor{q}:{q}{v}{q},{q}id{q}:{q}x{q}}}}}'.encode()
            yield f'{{{q}mount_accessor{q}:{q}{v}{q},{q}accessor{q}:{q}{v}{q}}}'.encode()
            yield f'{{{q}client_token_accessor{q} :{q}{v}{q}}}'.encode()
            line = f'{{{q}auth{q}:{{{q}client_token{q}:{q}{digest}{q}}},{q}client_token_accessor{q}:{q}{v}{q}}}'
            for cut in range(len(line) - 12, len(line) + 1):
                yield line[:cut].encode()


def test_digest_flags_equal_the_three_hyperscan_tests_and_integrity_digest_uses_them(lib: Any) -> None:
    """digest_flags answers MALFORMED_DIGEST (bit 1), RAW_DIGESTED (bit 2) and CLEAR_ACCESSOR (bit 4) in one walk
    over the quotes."""
    malformed = any_match(MALFORMED_DIGEST, native=False)
    raw = any_match(hsmod.RAW_DIGESTED, native=False)
    accessor = any_match(hsmod.CLEAR_ACCESSOR, native=False)
    assert malformed is not None and raw is not None and accessor is not None
    seen = set()
    for data in [*_inputs(), *_raw_token_inputs()]:
        want = int(malformed(data)) | (2 if raw(data) else 0) | (4 if accessor(data) else 0)
        assert lib.digest_flags(data) == want, data[:300]
        seen.add(want)
    assert seen >= {0, 1, 2, 3, 4, 5, 6}
    assert hsmod.digest_checks() is _need_lib().digest_flags
    from pytest_auditready.checks.base import CheckContext
    from pytest_auditready.config import Settings

    ctx = CheckContext(settings=Settings(log_format="vault"), ledger=None, entries=[], bad_lines=[], source="x",
                       log_path=None)
    assert integrity_digest.DigestFormat(ctx).flags is _need_lib().digest_flags  # the one integrity_digest uses


def _auth_shape_inputs() -> Iterator[bytes]:
    """Real lines (every fixture log) broken at random, and lines built from the pieces of the auth shape: pairs in
    both orders, empty, escaped and cut values, entries without auth, wrapped tokens, lines carried in strings,
    values across newlines, every cut of the block's end."""
    rng = random.Random(11)
    pieces = [b'"auth":{', b'"client_token":"', b'","accessor":"', b'"accessor":"', b'"wrap_info":{', b'"token":"',
              b'"type":"request",', b'"type":"response",', b'\\"auth\\":{', b'\\"auth":{', b'"', b'\\', b'{',
              b'}', b',', b'x', b'\n', b"hmac-sha256:" + b"a" * 64, b'"x":"y"']
    for f in sorted((FIXTURES / "openbao").rglob("*.log")) + sorted((FIXTURES / "vault").rglob("*.log")):
        data = f.read_bytes()[:100_000]
        yield data
        for _ in range(20):
            d = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                i = rng.randrange(len(d) + 1)
                if rng.random() < 0.5 and len(d) > 1:
                    del d[i:i + rng.randint(1, 12)]
                else:
                    d[i:i] = rng.choice(pieces)
            yield bytes(d)
    for _ in range(6000):
        line = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        yield line
        if rng.random() < 0.05:
            yield from (line[:cut] for cut in range(len(line)))


def test_digest_walk_equals_digest_flags_and_integrity_digest_s_hyperscan_suspects(lib: Any) -> None:
    """digest_walk gives digest_flags' answer and, in the same walk, the ends of integrity_digest's _SUSPECT matches
    exactly as its Hyperscan database reports them (None where a line is carried inside a string), and
    integrity_digest uses it."""
    from pytest_auditready.checks.base import CheckContext
    from pytest_auditready.config import Settings

    hs = integrity_digest.suspects()
    assert hs is not None
    kinds = set()
    for data in _auth_shape_inputs():
        flags, ends = lib.digest_walk(data)
        assert flags == lib.digest_flags(data), data[:300]
        want = hs(data)
        assert (None if ends is None else sorted(set(ends))) == (None if want is None else sorted(set(want))), data[:300]
        kinds.add("carried" if ends is None else "suspect" if ends else "plain")
    assert kinds == {"carried", "suspect", "plain"}
    ctx = CheckContext(settings=Settings(log_format="vault"), ledger=None, entries=[], bad_lines=[], source="x",
                       log_path=None)
    assert integrity_digest.DigestFormat(ctx).walk is _need_lib().digest_walk


def test_loose_form_equals_integrity_digest_s_regex(lib: Any) -> None:
    """loose_form answers integrity_digest's _LOOSE_RE search on every fixture block and on lines written in other
    JSON forms (blanks around colons, CR, \\u escapes of each ASCII character), and integrity_digest uses it."""
    rng = random.Random(16)
    forms = [b'{"a": 1}', b'{"a" :1}', b'{"a"\t:1}', b'{"a":\r1}', b'{"a"  :  1}', b'{"a":1}', b'"x": ', b'":',
             b'": ', b'"', b":", b" :", b'{"a":"b: c"}', b'{"a":"\\": x"}']
    forms += [b"\\u00" + bytes(f"{c:02x}", "ascii") for c in range(0x18, 0x82)]
    forms += [b"\\u00" + bytes(f"{c:02X}", "ascii") for c in (0x2d, 0x3a, 0x3c, 0x3e, 0x26, 0x7f)]
    forms += [b"\\u00", b"\\u0", b"\\u002", b"\\u002g", b"\\\\u0041"]
    inputs = [*_fixture_blocks(), *forms]
    inputs += [bytes(rng.choice(b' \t\r":\\u0027ab{}') for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    hs = any_match(integrity_digest._LOOSE_EXPRS, native=False)  # the path without the extension
    assert hs is not None
    for data in inputs:
        assert bool(lib.loose_form(data)) == integrity_digest._loose_py(data) == hs(data), data[:200]
    assert any(integrity_digest._loose_py(f) for f in forms) and not integrity_digest._loose_py(b'{"a":1}')
    assert integrity_digest._loose(b'{"a": 1}') and not integrity_digest._loose(b'{"a":1}')


def test_card_spans_equal_the_card_regexes(lib: Any) -> None:
    texts = [d.decode("latin-1") for d in _inputs()]
    texts += ["4111 1111 1111 1111 1", "4111 1111 1111 1111 123 4", "-4111-1111-1111-1111", "x4111111111111111",
              "4111 111111 11111 1", "4111 111111 1111", "1234 5678 9012 3456 7890 1234 5678", "\u0664" * 16,
              "card 4111111111111111 and 5500-0000-0000-0004, 3782 822463 10005"]
    wants = _reference("card_spans", lambda: [[m.group(0) for rx in _CARD_RES for m in rx.finditer(text)]
                                              for text in texts])
    for text, want in zip(texts, wants):
        got = lib.card_spans(text)
        if text.isascii():
            assert got == want, text[:200]
        else:
            assert got is None  # \d is any Unicode digit: the regexes decide


@pytest.mark.parametrize("detectors", [tuple(PREFILTERS), ("card",), ("email", "phone"), ("iban", "national_id")])
def test_dm_lines_equal_the_data_minimisation_prefilter_database(lib: Any, detectors: tuple[str, ...],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # else the check falls back to Hyperscan (and this test says so)
    assert PREFILTERS == native.DM_PREFILTERS and ENCODED_PREFILTERS == native.DM_ENCODED
    monkeypatch.setattr(native, "lib", lib)
    fast, slow = _prefilter(detectors), _prefilter(detectors, native=False)
    assert fast is not None and slow is not None
    inputs = list(_inputs())
    wants = _reference(("dm_lines", detectors), lambda: [slow(data) for data in inputs])
    for data, want in zip(inputs, wants):
        assert fast(data) == want, data[:300]


def test_key_suspects_name_every_line_the_reference_finds_a_key_twice_in(lib: Any) -> None:
    """Each build (SIMD, SSE2, portable) names every line where auditlog/dupkeys.py's reference finds a key twice,
    on every fixture and on hostile bytes; the lines it names are the same in each build."""
    from pytest_auditready.auditlog.dupkeys import duplicate_keys

    twice = 0
    for data in [*_inputs(), b'{"a":1,"a":2}\n{"b":"\\"","b":1}\n{"c\\u0022":1,"c\\"":2}', b'{"' + b"x" * 40 + b'":1,"'
                 + b"x" * 40 + b'":2}']:
        named = lib.key_suspects(data)
        assert named == sorted(set(named)), data[:300]
        at = 0
        for line in data.split(b"\n"):
            if duplicate_keys(line):
                twice += 1
                assert at in named, line[:300]
            at += len(line) + 1
    assert twice >= 4


def test_key_suspects_name_every_line_with_a_number_beyond_a_double(lib: Any) -> None:
    """Each build names every line where the reference reads a number beyond a double's range (in any place, any
    spelling), and no line whose numbers all lie below 10 ** 300."""
    from pytest_auditready.auditlog.dupkeys import out_of_range

    rng = random.Random(5)
    large = ["1e999", "-1E+400", "1" + "0" * 310, "0.5e310", "1e308", "0.000001e311"]  # at least 10 ** 300
    small = ["12.5e-3", "-0", "1e-999", "7", "3.25", "0.00001", "123456789012345678901234567890", "9" * 299]
    lines, values, beyond = [], [], 0
    for _ in range(3000):
        values.append([rng.choice(large + small) for _ in range(rng.randint(1, 3))])
        text = '{"a":"' + rng.choice(["1e999", "x", "9" * 400]) + '","n":[' + ",".join(values[-1]) + '],"b":true}'
        lines.append(text.encode())
    at, starts = 0, []
    for ln in lines:
        starts.append(at)
        at += len(ln) + 1
    named = set(lib.key_suspects(b"\n".join(lines)))
    for s, ln, v in zip(starts, lines, values):
        if out_of_range(ln):
            beyond += 1
            assert s in named, ln
        if not set(v) & set(large):
            assert s not in named, ln
    assert 500 < beyond < 2900


def _near(rng: random.Random) -> bytes:
    """A line near an encoded shape of data_minimisation (ENCODED_PREFILTERS): each part of one shape as the shape
    asks, or now and then one digit, letter or separator off, between random bytes."""
    def digits(k: int) -> bytes:
        k = max(0, k + (rng.choice([-1, 1]) if rng.random() < 0.15 else 0))
        return bytes(rng.choice(b"0123456789") for _ in range(k))

    def sp() -> bytes:
        return rng.choice([b"+", b"%20"]) if rng.random() < 0.85 else rng.choice([b"%21", b" ", b"-", b"%2", b""])

    def up(k: int) -> bytes:
        return bytes(rng.choice(b"ABCXYZ" if rng.random() < 0.9 else b"ab1") for _ in range(k))

    shapes = [
        lambda: digits(4) + sp() + digits(rng.randint(4, 6)) + sp() + digits(4),
        lambda: b"+" + rng.choice([b"1", b"4", b"0"]) + digits(rng.randint(0, 3)) + sp() + rng.choice([b"(", b""])
        + digits(1),
        lambda: digits(3) + sp() + digits(3) + rng.choice([b"-", b".", b"+"]) + digits(4),
        lambda: b"%2" + rng.choice([b"b", b"B", b"c"]) + rng.choice([b"0", b"5"]),
        lambda: b"%28" + digits(3) + rng.choice([b"%29", b"%2", b")"]),
        lambda: up(2) + digits(2) + sp() + up(2) + digits(2) + sp() + up(1) + digits(3),
        lambda: up(2) + sp() + digits(2) + rng.choice([b"+", b"%20", b""]) + digits(2),
        lambda: b"\\u00" + bytes(rng.choice(b"234567") for _ in range(1)) + bytes(rng.choice(b"06afAFg") for _ in range(1)),
    ]
    fill = [b"", b"x", b"A", b"1", b" ", b'"', b"%", b"+", b"\\", b"9"]
    return rng.choice(fill) + rng.choice(shapes)() + rng.choice(fill) + (rng.choice(shapes)() if rng.random() < 0.3
                                                                        else b"")


@pytest.mark.parametrize("detector", list(PREFILTERS))
def test_dm_lines_find_each_encoded_shape_as_hyperscan_does(lib: Any, detector: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines near the encoded shapes (separators "+" and "%20", "%2b", "%28", escapes), one detector at a time, so
    that no other shape of the line hides a wrong answer: the C pass marks the lines Hyperscan does."""
    monkeypatch.setattr(native, "lib", lib)
    fast, slow = _prefilter((detector,)), _prefilter((detector,), native=False)
    assert fast is not None and slow is not None
    rng = random.Random(detector)
    marked = 0
    for _ in range(6000):
        data = _near(rng)
        want = slow(data)
        assert fast(data) == want, data
        marked += bool(want)
    assert 300 < marked < 5700


# -- auditready verify, both ways ------------------------------------------------------------------------------------
def _strip(doc: Any) -> Any:
    """A --json report without what differs from run to run (times)."""
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in ("seconds", "started", "run_id")}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def _verify(args: list[str], out: Path, pure: bool) -> tuple[int, Any, str]:
    """``auditready verify ARGS --json OUT`` in a process of its own (AUDITREADY_PURE_PYTHON=1 if ``pure``), run in
    OUT's folder: its exit code, its report without times, its output (times as "N s") and errors."""
    code, stdout, stderr = verify_process([*args, "--json", out.name], out.parent, pure)
    doc = _strip(json.loads(out.read_text())) if out.exists() else None
    text = re.sub(r"\d+(\.\d+)? s\b", "N s", stdout)
    return code, doc, text + stderr


def _both(tmp_path: Path, args: list[str], refused: bool = False) -> None:
    _need_lib()
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    fast = _verify(args, tmp_path / "a" / "out.json", pure=False)
    pure = _verify(args, tmp_path / "b" / "out.json", pure=True)
    assert fast[0] == pure[0], (fast[2], pure[2])
    assert fast[1] == pure[1]
    assert fast[2] == pure[2]
    assert fast[0] in ((2,) if refused else (0, 1)), fast[2]


_LOGS = sorted(str(p) for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".log", ".json")
               and "vault-config" not in p.relative_to(FIXTURES).parts  # server configurations, not logs
               and not p.name.endswith(".ledger.json"))  # a live run's ledger beside its log (openbao/rt83), no log
# Fixtures of what is not an audit log of a known format, refused in one line (exit 2) by both paths alike.
_REFUSED = {"cloudtrail/unseen/s3-event-notification.json", "k8s/unseen/webhook-eventlist.log",
            "framing/fluentd-out_file.log", "framing/newest-first.log", "framing/cloudwatch-get-log-events.json",
            "framing/firehose-concatenated.json", "framing/fluent-bit-parsed.log"}


@pytest.mark.parametrize("log", _LOGS, ids=lambda p: os.path.relpath(p, FIXTURES))
def test_verify_gives_the_same_report_native_and_pure_on_every_fixture(tmp_path: Path, log: str) -> None:
    _both(tmp_path, [log, "--canaries", str(FIXTURES / "openbao" / "canaries.txt")],
          refused=os.path.relpath(log, FIXTURES) in _REFUSED)


def _hostile_lines() -> list[bytes]:
    base = json.loads((FIXTURES / "openbao" / "clean.log").read_bytes().splitlines()[-1])

    def entry(**request_data: Any) -> bytes:
        e = json.loads(json.dumps(base))
        e.setdefault("request", {})["data"] = request_data
        return json.dumps(e, separators=(",", ":")).encode()

    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    return [
        entry(card="4111 1111 1111 1111", iban="GB82 WEST 1234 5698 7654 32", ssn="123-45-6789"),
        entry(note="escaped \"4111111111111111\" and \\n5500000000000004 and \u00e9 4111-1111-1111-1111"),
        entry(password="Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk="),
        entry(client_id="Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk=", my_id="Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3"),
        entry(doc='{"password":"c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA="}'),
        entry(email="alice@example.com", phone="+44 20 7946 0958", us="(555) 123-4567"),
        entry(single="'Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk='", hexed="'0123456789abcdef0123'"),
        entry(arabic="\u0664\u0661\u0661\u0661" * 4),
        entry(lone="\ud800 surrogate"),
        b'{"time":"2026-01-05T08:00:00Z","type":"request","request":{"id":"x","path":"hmac-sha256:zz"}}',
        b'{"type":"response","x":"hmac-sha256:' + b"0" * 63 + b'g"}',
        b'{"time":"2026-01-05T08:00:00Z","type":"request"}{"type":"response"}',
        b'{"type":"request","bad":"\xff\xfe not utf-8 4111111111111111"}',
        b'{"type":"request","cesu":"\xed\xa0\x80"}',
        b"not json at all 4111111111111111 Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk=",
        b"<13>1 2026-01-05T08:00:00Z host vault - - - " + entry(card="5500000000000004"),
        b"",
        b"   \r",
        deep,
        entry(big="A1b2" * 200_000),  # a line over a block (512 KiB)
        entry(after="x") + b"\r",
    ]


def test_verify_gives_the_same_report_native_and_pure_on_hostile_lines(tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    log.write_bytes(b"\n".join(_hostile_lines()) + b"\n")
    _both(tmp_path, [str(log), "--format", "vault"])


def test_verify_gives_the_same_report_native_and_pure_on_a_generated_log(tmp_path: Path) -> None:
    """Many blocks: fixture lines and hostile lines mixed, so that block edges fall everywhere."""
    lines = [ln for ln in (FIXTURES / "openbao" / "leaky.log").read_bytes().splitlines() if ln]
    rng = random.Random(7)
    hostile = _hostile_lines()[:10]
    out = [rng.choice(lines) if rng.random() < 0.9 else rng.choice(hostile) for _ in range(4000)]
    log = tmp_path / "mixed.log"
    log.write_bytes(b"\n".join(out))  # no final newline
    _both(tmp_path, [str(log), "--canaries", str(FIXTURES / "openbao" / "canaries.txt")])


def test_pure_python_is_forced_by_the_environment(tmp_path: Path) -> None:
    assert PURE_ENV == native.PURE_ENV  # the name the verify runs (tests/_native_runs.py) set
    code = "from pytest_auditready.scan import native; print(native.lib is None)"
    env = {**os.environ, native.PURE_ENV: "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert res.stdout.strip() == "True", res.stderr
    env[native.PURE_ENV] = "0"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert res.stdout.strip() == str(LIB is None), res.stderr


# -- the compiled-database cache ---------------------------------------------------------------------------------
def _counting_build(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the compiles (each runs ``_isolated``)."""
    calls: list[int] = []
    real = hsmod._isolated

    def counted(build: Callable[[], bytes], timeout: float = hsmod.COMPILE_DEADLINE) -> bytes:
        calls.append(1)
        return real(build, timeout)

    monkeypatch.setattr(hsmod, "_isolated", counted)
    return calls


def _any_db(material: bytes) -> Any:
    import hyperscan

    def build() -> bytes:
        d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        d.compile(expressions=[rb"needle[0-9]"], ids=[0], elements=1, flags=[0])
        return bytes(hyperscan.dumpb(d))

    return hsmod.compiled(material, build, hsmod._load_one)


def _hits(db: Any, data: bytes) -> list[int]:
    out: list[int] = []
    db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: out.append(e))
    return out


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "pytest-auditready").glob("*.hsdb"))


def test_compiled_databases_are_cached_in_the_user_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = _counting_build(monkeypatch)
    assert _hits(_any_db(b"test-cache 1"), b"a needle42 b") == [9]
    assert len(calls) == 1 and len(_entries(tmp_path)) == 1
    entry = _entries(tmp_path)[0]
    assert entry.stat().st_mode & 0o777 == 0o600 and entry.parent.stat().st_mode & 0o777 == 0o700
    assert _hits(_any_db(b"test-cache 1"), b"a needle42 b") == [9]
    assert len(calls) == 1, "the second load came from the cache"
    _any_db(b"test-cache 2")  # another pattern set: another entry
    assert len(calls) == 2 and len(_entries(tmp_path)) == 2
    monkeypatch.setenv(hsmod.CACHE_ENV, "0")  # switched off: built every time, nothing written
    _any_db(b"test-cache 3")
    assert len(calls) == 3 and len(_entries(tmp_path)) == 2


def test_the_cache_key_holds_the_library_version_and_the_cpu_features(monkeypatch: pytest.MonkeyPatch) -> None:
    key = hsmod._cache_key(b"x")
    assert hsmod._cache_key(b"y") != key
    monkeypatch.setattr(hsmod, "_PLATFORM", hsmod._platform().replace(b"'", b"'other "))
    assert hsmod._cache_key(b"x") != key
    from importlib.metadata import version

    assert version("hyperscan").encode() in hsmod._platform()


@pytest.mark.parametrize("damage", ["truncated", "bitflip", "garbage", "empty", "valid checksum, not a database",
                                    "group-writable", "symlink", "folder"])
def test_a_damaged_or_foreign_cache_entry_is_ignored_and_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  damage: str) -> None:
    import hashlib

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = _counting_build(monkeypatch)
    _any_db(b"damaged")
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "bitflip":
        entry.write_bytes(good[:-10] + bytes([good[-10] ^ 1]) + good[-9:])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(len(good)))
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "valid checksum, not a database":
        payload = b"\x00" * 4096
        entry.write_bytes(hsmod._CACHE_MAGIC + hashlib.sha256(payload).digest() + payload)
    elif damage == "group-writable":
        entry.chmod(0o620)
    elif damage == "symlink":
        elsewhere = tmp_path / "planted"
        elsewhere.write_bytes(good)
        entry.unlink()
        entry.symlink_to(elsewhere)
    elif damage == "folder":
        entry.unlink()
        entry.mkdir()
    db = _any_db(b"damaged")
    assert _hits(db, b"needle7") == [7]
    assert len(calls) == 2, "the damaged entry was not trusted: the database was compiled again"
    if damage not in ("folder", "symlink"):
        assert entry.read_bytes() == good and entry.stat().st_mode & 0o777 == 0o600  # and replaced
        _any_db(b"damaged")
        assert len(calls) == 2
    if damage == "symlink":  # never read nor written through: left as it is, and its target untouched
        assert entry.is_symlink() and (tmp_path / "planted").read_bytes() == good


def test_no_secret_reaches_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The known values' database (its patterns spell the secrets) is compiled per run, never written."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(hsmod, "_STATIC", {})  # not compiled yet in this process: loaded or built, and stored
    monkeypatch.setattr(hsmod, "_KNOWN", {})
    secret = "Zm9vLWNhbmFyeS12YWx1ZS0xMjM0NTY3ODk"
    with LeakScanner({"canary:1": secret}) as scanner:
        hits = scanner.scan_block(b'{"x":"' + secret.encode() + b'"}', 1)
    assert [h.known[0][0] for h in hits] == ["canary:1"]
    entries = _entries(tmp_path)
    assert entries, "the static databases are cached"
    blob = b"".join(p.read_bytes() for p in entries)
    for needle in (secret, secret[:12], secret.encode().hex()[:16]):
        assert needle.encode() not in blob and needle.encode().upper() not in blob


def test_processes_racing_on_an_empty_cache_all_succeed(tmp_path: Path) -> None:
    log = FIXTURES / "openbao" / "leaky.log"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "pytest_auditready", "verify", str(log), "--format", "vault", "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1] * 4, outs
    assert len({re.sub(rb"[0-9.]+ s\b", b"N s", o[0]) for o in outs}) == 1
    entries = _entries(tmp_path / "cache")
    assert entries and all(hsmod._cache_read(str(p)) is not None for p in entries)
    assert not [p for p in (tmp_path / "cache" / "pytest-auditready").iterdir() if p.suffix != ".hsdb"]


# -- judge verdicts remembered across files -------------------------------------------------------------------------
def test_values_judged_clean_are_not_judged_again_in_the_next_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_auditready.scan.secrets import GenericScanner

    block = (FIXTURES / "openbao" / "clean.log").read_bytes().rstrip(b"\n")
    judged: list[tuple[str, str]] = []
    real = GenericScanner.scan_value

    def counted(self: GenericScanner, key: str, value: str) -> Any:
        judged.append((key, value))
        return real(self, key, value)

    monkeypatch.setattr(GenericScanner, "scan_value", counted)
    hsmod._CLEAN.clear()
    with LeakScanner({"canary:1": "a-canary-value-never-logged"}) as first:
        assert first.scan_block(block, 1) == []
    assert judged, "the first file's values were judged"
    judged.clear()
    with LeakScanner({"canary:1": "a-canary-value-never-logged"}) as second:  # the next file of the same run
        assert second.scan_block(block, 1) == []
    assert judged == []
    with LeakScanner({"canary:1": "another-canary-value-here"}) as other:  # other known values: judged afresh
        assert other.scan_block(block, 1) == []
    assert judged


# -- an install without a compiler ------------------------------------------------------------------------------------
def test_an_install_without_a_compiler_falls_back_to_pure_python(tmp_path: Path) -> None:
    """``pip install .`` with no working compiler (CC=false) installs, without the extension, and runs pure. In a
    fresh virtual environment (this one's editable install would answer for the package) that borrows only the
    dependencies of this one (a path in a .pth file: their own .pth files, the editable finder's, are not read)."""
    import sysconfig

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "*.so",
                                                             "__pycache__", ".mypy_cache", ".ruff_cache", "tests",
                                                             "docs", "fixtures", "site", ".hypothesis"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in (native.PURE_ENV, "PYTHONPATH")}
    env.update(CC="false", CXX="false", LDSHARED="false")
    res = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", str(src)], capture_output=True, text=True, timeout=300,
                         env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    code = ("import pytest_auditready; from pytest_auditready.scan import native; "
            "print(native.lib is None, pytest_auditready.__file__.startswith(sys.prefix))")
    res = subprocess.run([str(py), "-c", "import sys; " + code], capture_output=True, text=True, timeout=60, env=env,
                         cwd=tmp_path)
    assert res.stdout.split() == ["True", "True"], res.stdout + res.stderr
    assert not list(Path(site).glob("pytest_auditready/_native*.so")), "nothing was compiled"
    res = subprocess.run([str(py), "-m", "pytest_auditready", "verify", str(FIXTURES / "openbao" / "leaky.log"),
                          "--format", "vault"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert res.returncode == 1 and "FAIL no_secret_leak" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]


def test_the_16_byte_passes_agree_at_every_offset(lib: Any) -> None:
    """The 16-byte passes (the quote and colon finders, the class tests of a quoted run 16 bytes at a time) against
    the Hyperscan references, with the interesting byte at every offset of a 16-byte chunk and at both ends."""
    import hyperscan

    reference_digest = any_match(MALFORMED_DIGEST, native=False)
    assert reference_digest is not None
    kv = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    kv.compile(expressions=[hsmod._KEYWORD_VALUE.encode("latin-1"), hsmod._TOKEN_NAME_VALUE.encode("latin-1")],
               ids=[0, 1], elements=2, flags=[hyperscan.HS_FLAG_CASELESS] * 2)
    digests = [b'"hmac-sha256:' + b"0" * 63 + b'g"', b'"hmac-sha256:' + b"a" * 64 + b'"', b'"hmac-sha256:' + b"a" * 64 + b"x"]
    kvs = [b'"password","value":', b'\\"password\\",\\"VALUE\\":', b"%22pwd%22,%22value%22 :", b'"secret","value"\t:',
           b'"API_TOKEN","value":', b'\\"tokEN\\\\",\\"parameterValue\\":', b"%22token%22,%22value%22:"]
    runs = [b'"' + bytes([c]) * k + b'"' for c in (ord("a"), ord("Z"), ord("-"), 0xC3) for k in (9, 15, 16, 17, 23, 33, 48)]
    runs += [b'"' + b"0123456789abcdef0123456789abcdef"[:k] + bytes([bad]) + b"Zq" * 10 + b'"'
             for k in range(0, 33, 3) for bad in (ord(":"), ord("G"), ord("-"), 0x80, ord('"'))]
    with LeakScanner({}) as scanner:
        for pad in range(0, 40):
            for fill in (b"x", b"0", b"\\"):
                for body in [*digests, *kvs, *runs]:
                    data = fill * pad + body + fill * (pad % 7)
                    assert bool(lib.digest_flags(data) & 1) == reference_digest(data), data
                    ends: set[int] = set()
                    kv.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, ends=ends: ends.add(e))
                    assert lib.colon_ends(data)[0] == sorted(ends), data
                    assert lib.entropy_ends(data, None) == _entropy_reference(scanner, data), data


def test_a_value_quoting_an_auth_object_never_stops_a_verify_on_either_path(tmp_path: Path) -> None:
    """A value that quotes an auth object (a secret written as '{"auth":{}}', logged as '"{\\"auth\\":{}}"') makes
    integrity_digest read its block whole; the Hyperscan scan of the pure-Python path stopped by its handler raised
    ScanTerminated (a traceback, no report) until it was caught."""
    lines = (FIXTURES / "openbao" / "clean.log").read_bytes().splitlines()
    hostile = lines[1][:-1] + b',"note":"{\\"auth\\":{\\"client_token\\":\\"\\"}}"}'
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join([lines[0], hostile, *lines[2:]]) + b"\n")
    log.chmod(0o600)
    for pure in (False, True):  # each in a process of its own, AUDITREADY_PURE_PYTHON=1 or unset
        code, stdout, stderr = verify_process([str(log)], Path.cwd(), pure)
        assert code in (0, 1) and "Traceback" not in stderr, stderr[-2000:]
        assert "integrity_digest" in stdout
