"""The leak scanner's main Hyperscan database without its costliest expression: scan.tokens' password-file line
(scan.native.PASS_FILE), found by the C extension's pass_file_ends instead. The pass must give exactly the ends
Hyperscan gives (on every fixture, on generated lines of the expression's own characters, at a block's edges); the
scanner must take it only while tokens holds the expression it implements; and what the scanner judges (the values,
the lines judged whole) and finds must not change: against the same scanner with the expression back in Hyperscan,
and against the pure-Python path, on every fixture and on planted secrets of each detect-secrets plugin's shape.
The C extension's events must also reach the judge in a Vault/OpenBao log (they once shared the id of the one
expression such a log's scanner ignores)."""

from __future__ import annotations

import base64
import gzip
import json
import random
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Optional

import pytest

from pytest_auditready.auditlog.formats import FORMATS, LogFormat
from pytest_auditready.scan import hyperscan as hsmod
from pytest_auditready.scan import native, tokens
from pytest_auditready.scan.hyperscan import LeakScanner, LineHits
from pytest_auditready.scan.known import SEPARATED, WRAPPED
from tests.test_native import _need_lib, lib  # noqa: F401  (the module-scoped fixture: simd, sse2, portable)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CANARIES = {f"canary:{i}": v for i, v in
            enumerate((FIXTURES / "openbao" / "canaries.txt").read_text().split(), 1)}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def _fixture_texts() -> list[bytes]:
    """Every fixture log's bytes (fixtures/**/*.log, *.json, *.jsonl, *.ndjson, *.gz decompressed)."""
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".gz":
            try:
                out.append(gzip.decompress(path.read_bytes()))
            except (OSError, EOFError):  # a fixture of a damaged archive
                pass
        elif path.suffix in (".log", ".json", ".jsonl", ".ndjson"):
            out.append(path.read_bytes())
    return out


_TEXTS = _fixture_texts()


def _hs_ends(data: bytes) -> list[int]:
    """Where Hyperscan reports native.PASS_FILE (compiled alone, as the scanner compiled it: no flag)."""
    ends = hsmod.match_ends((native.PASS_FILE,))
    assert ends is not None
    return ends(data)


# -- pass_file_ends equals Hyperscan ------------------------------------------------------------------------------

_PIECES = [b'"', b"\\n", b"\\", b"n", b":", b"*", b"0", b"5432", b"12345", b"123456", b"db", b"user", b"p@ss",
           b"h", b" ", b"\t", b"\n", b"\x0b", b"\x0c", b"\r", b"\x85", b"\xa0", b"\xc3\xa9", b"{", b"}", b",",
           b'":"', b'\\"', b"%3A", b"x" * 127, b"x" * 128, b"y" * 129, b"z" * 252, b"z" * 253, b"z" * 254,
           b'"h:5432:db:u:p', b"\\nh:*:db:u:p", b"localhost", b"::1", b":*:", b":5432:"]


def _generated(seed: int, n: int, longest: int) -> list[bytes]:
    """Lines of the expression's own characters: quotes, escaped newlines, colons, ports, runs at the length
    limits, blanks of every kind (\\s is tab to carriage return and space, no other byte)."""
    rng = random.Random(seed)
    return [b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, longest))) for _ in range(n)]


def _pass_file_lines(rng: random.Random) -> bytes:
    """A password file's line as a value, an escaped line of a value, or a key, with each field at and past its
    limits."""
    def field(lo: int, hi: int) -> bytes:
        return bytes(rng.choice(b"abcXYZ09.-_\\/@!") for _ in range(rng.randint(lo, hi)))

    host = field(1, 2) if rng.random() < 0.5 else b"h" * rng.choice((1, 252, 253, 254, 255))
    port = rng.choice((b"*", b"5432", b"1", b"12345", b"123456", b"", b"**", b"54a"))
    fields = [host, port, field(1, 3) if rng.random() < 0.7 else b"d" * rng.choice((128, 129)), field(0, 3),
              field(0, 3)]
    line = b":".join(fields)
    lead = rng.choice((b'{"v":"', b'{"v":"a\\n', b'{"', b'{"v":"x\\\\n', b"", b'"\\n', b'{"v":" '))
    tail = rng.choice((b'"}', b'":"x"}', b"\\nnext", b"", b' "}', b'\\"}'))
    return lead + line + tail


def _edge_inputs() -> Iterator[bytes]:
    yield from _TEXTS
    for text in _TEXTS:  # cut mid-line and mid-value: a block may start or end anywhere
        yield from (text[i : i + 4096] for i in range(0, len(text), 4096))
    yield from _generated(61, 3000, 40)
    yield from _generated(62, 200, 400)
    rng = random.Random(63)
    lines = [_pass_file_lines(rng) for _ in range(3000)]
    yield from lines
    yield b"\n".join(lines)  # across newlines
    for line in lines[:300]:  # the block starts or ends inside it
        yield from (line[k:] for k in range(0, len(line), 7))
        yield from (line[:k] for k in range(0, len(line), 7))
    yield from (b"", b":", b'"h:1:d:u:p', b'"h:1:d:u:', b"\\nh:1:d:u:p", b'h:1:d:u:p', b'"h:1:d:u:p\n"h:1:d:u:p')


def test_pass_file_ends_equal_the_hyperscan_expression(lib: Any) -> None:  # noqa: F811
    checked = found = 0
    for data in _edge_inputs():
        want = _hs_ends(data)
        assert lib.pass_file_ends(data) == want, data[:300]
        checked += 1
        found += len(want)
    assert checked > 10_000 and found > 1000  # the generated lines hold many matches, not only misses


def test_pass_file_is_tokens_expression_and_the_scanner_takes_the_c_pass_only_while_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _need_lib()
    assert (native.PASS_FILE, False) in tokens.PREFILTERS  # else the C pass is never used: update native.PASS_FILE
    line = b'{"type":"request","request":{"data":{"conf":"db.internal:5432:app:svc:Xk29vLq7mP"}}}'
    with LeakScanner({}) as taken:
        assert taken._pass_file is not None
        assert native.PASS_FILE not in hsmod._MATERIAL[taken._material_key()][1]
        assert [h.line for h in taken.scan_block(line, 1)] == [1]
    monkeypatch.setattr(hsmod, "_CLEAN", {})
    monkeypatch.setattr(native, "PASS_FILE", native.PASS_FILE + b"x")  # a changed pattern: Hyperscan's again
    with LeakScanner({}) as left:
        assert left._pass_file is None
        assert native.PASS_FILE[:-1] in hsmod._MATERIAL[left._material_key()][1]
        assert [h.line for h in left.scan_block(line, 1)] == [1]


_SPLIT_PIECES = [b"\\", b"\\\\", b"\\\\\\\\", b"r", b"n", b"\\n", b"\\r\\n", b"\\\\r\\\\n", b"A" * 39, b"A" * 40,
                 b"a" * 41, b"=", b"+/", b"Zm9v", b"0F", b"ab", b"g", b":", b"-", b" ", b"\n", b'"', b"0a:", b"ff-",
                 b"12 ", b"de:ad:be:ef:", b"\xc3\xa9"]


def _split_inputs() -> Iterator[bytes]:
    """Every fixture, and lines of WRAPPED's and SEPARATED's own characters: base64 runs about 40 long before
    escaped line ends, hex pairs with every mix of separators (SEPARATED takes any of the three at each place)."""
    yield from _edge_inputs()
    rng = random.Random(66)
    for _ in range(20_000):
        yield b"".join(rng.choice(_SPLIT_PIECES) for _ in range(rng.randint(0, 30)))
    for _ in range(3000):
        pairs = [bytes(rng.choice(b"0123456789abcdefABCDEFg") for _ in range(2)) for _ in range(rng.randint(6, 10))]
        yield b"".join(p + bytes([rng.choice(b":- .")]) for p in pairs)[: rng.randint(20, 40)]


def test_split_known_equals_the_hyperscan_any_match(lib: Any) -> None:  # noqa: F811
    reference = hsmod.any_match(native.SPLIT_KNOWN, native=False)
    assert reference is not None
    yes = 0
    for data in _split_inputs():
        want = reference(data)
        assert lib.split_known(data) is want, data[:300]
        yes += want
    assert yes > 1000


def test_split_known_is_knowns_pair_and_any_match_takes_the_c_pass_only_while_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    built = _need_lib()
    assert native.SPLIT_KNOWN == (WRAPPED, SEPARATED)  # else the C pass is never used: update native.SPLIT_KNOWN
    assert hsmod.any_match((WRAPPED, SEPARATED)) is built.split_known
    monkeypatch.setattr(native, "SPLIT_KNOWN", (WRAPPED, SEPARATED + b"x"))  # a changed pattern: Hyperscan's again
    other = hsmod.any_match((WRAPPED, SEPARATED))
    assert other is not None and other is not built.split_known
    assert other(b"de:ad:be:ef:00:11:22:33") and not other(b"de:ad:be:ef:00:11:22")


# -- what the scanner judges and finds is the same -----------------------------------------------------------------

def _plants() -> list[tuple[str, str]]:
    """A value of each detect-secrets plugin's shape (and of the password-file line), under a neutral key."""
    a = "AKIA" + "IOSFODNN7" + "EXAMPLQ"
    return [
        ("aws", a), ("aws_secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEQ"),
        ("azure", "DefaultEndpointsProtocol=https;AccountKey=" + "Zm9vYmFy" * 11),
        ("url", "https://admin:Tr0ub4dor3x@db.example.net/app"),
        ("cloudant", "https://acct:" + "a" * 24 + "@acct.cloudant.com"),
        ("discord", "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
        ("github", "ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"), ("gitlab", "glpat-" + "x9Yq2Lm4Nz7Rt5Vb8Wc3"),
        ("ibm", 'ibm_cloud_iam_api_key = "' + "abcDEF123456ghiJKL789012mnoPQR345678stuVWX90" + '"'),
        ("cos", 'cos_hmac_secret_access_key = "' + "a1b2c3d4" * 6 + '"'),
        ("ip", "upstream 52.94.76.10 refused"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaS1ib3QifQ.c2lnbmF0dXJlLXZhbHVlLXRoYXQtaXMtbG9uZw"),
        ("note", "password = hunter2hunter2"), ("mailchimp", "0123456789abcdef0123456789abcdef-us12"),
        ("npmrc", "//registry.npmjs.org/:_authToken=npm_" + "A1b2C3d4E5" * 3 + "A1b2C3"),
        ("openai", "sk-" + "A1b2C3d4E5f6G7h8I9j0" + "T3BlbkFJ" + "K1l2M3n4O5p6Q7r8S9t0"),
        ("pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"),
        ("pypi", "pypi-AgEIcHlwaS5vcmc" + "A1b2C3d4E5" * 8), ("sendgrid", "SG." + "a" * 22 + "." + "b" * 43),
        ("slack", "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"),
        ("softlayer", "https://api.softlayer.com/soap/v3/" + "a1b2c3d4" * 8),
        ("square", "sq0csp-" + "A1b2C3d4E5" * 4 + "A1b"), ("stripe", "sk_live_" + "A1b2C3d4E5f6G7h8I9j0K1l2"),
        ("telegram", "123456789:" + "AAH" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P"),
        ("twilio", "AC" + "0123456789abcdef" * 2), ("twilio_sk", "SK" + "fedcba9876543210" * 2),
        ("b64", "Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk9PT0="), ("hex", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"),
        ("pgpass", "db.internal:5432:app:svc:Xk29vLq7mPz"), ("conf", "line one\ndb:*:app:svc:Zq8wRt5yUi3"),
        ("api_token", "abc123"),
    ]


def _planted_lines() -> list[bytes]:
    """Each plant in an OpenBao entry's request data (log_raw: values in clear), in a nested JSON document, in a
    list, and under a keyword's key; and fixture lines between them."""
    base = json.loads((FIXTURES / "openbao" / "clean.log").read_bytes().splitlines()[-1])
    out = []
    for key, value in _plants():
        for data in ({key: value}, {"doc": json.dumps({key: value})}, {"items": [value, "x"]},
                     {"password": value}):
            e = json.loads(json.dumps(base))
            e.setdefault("request", {})["data"] = data
            out.append(json.dumps(e, separators=(",", ":")).encode())
    return out


_FORMATS: list[Optional[LogFormat]] = [None, FORMATS["jsonl"]]


def _record(monkeypatch: pytest.MonkeyPatch, fmt: Optional[LogFormat], blocks: list[bytes],
            pure: bool = False, hyperscan_pass_file: bool = False) -> tuple[list[Any], list[list[LineHits]]]:
    """Scan ``blocks`` with a fresh scanner (nothing remembered clean from another): every pair handed to the judge
    and every line judged whole, in order, and what scan_block returned for each block."""
    with monkeypatch.context() as m:
        m.setattr(hsmod, "_CLEAN", {})
        if pure:
            m.setattr(native, "lib", None)
        if hyperscan_pass_file:
            m.setattr(native, "PASS_FILE", b"(?:never)")
        calls: list[Any] = []
        judge_pair, judge_line = LeakScanner._judge_pair, LeakScanner.judge_line

        def pair(self: LeakScanner, key: bytes, value: bytes) -> Optional[bool]:
            calls.append(("pair", key, value))
            return judge_pair(self, key, value)

        def line(self: LeakScanner, n: int, raw: bytes) -> Optional[LineHits]:
            calls.append(("line", raw))
            return judge_line(self, n, raw)

        m.setattr(LeakScanner, "_judge_pair", pair)
        m.setattr(LeakScanner, "judge_line", line)
        with LeakScanner(CANARIES, fmt=fmt) as s:
            found = [s.scan_block(b, 1) for b in blocks]
    return calls, found


def _blocks() -> list[bytes]:
    out = [b"\n".join(_planted_lines())]
    rng = random.Random(64)
    out.append(b"\n".join(_pass_file_lines(rng) for _ in range(500)))
    canary = next(iter(CANARIES.values())).encode()  # a known value wrapped into lines, and as hex with separators
    wrapped = base64.b64encode(b"prefix " + canary + b" and a long enough tail")
    out.append(b'{"type":"request","request":{"data":{"pem":"' + wrapped[:40] + b"\\n" + wrapped[40:] + b'"}}}')
    out.append(b'{"type":"request","request":{"data":{"hex":"' + canary.hex(":").encode() + b'"}}}')
    # the first 32 KB of each fixture: its kinds of line, at a third of the judging all 10 MB took (test_native's
    # every-fixture test holds each whole fixture's findings native and pure)
    out.extend(text[: 1 << 15] for text in _TEXTS)
    return out


class _Native(NamedTuple):
    fmt: Optional[LogFormat]
    blocks: list[bytes]
    record: tuple[list[Any], list[list[LineHits]]]  # _record of the scanner as it runs: C passes, the C pass_file


@pytest.fixture(scope="module", params=_FORMATS, ids=["vault", "jsonl"])
def native_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Native]:
    """The blocks of a format scanned as the scanner runs, once for the two tests that hold it against another
    path (Hyperscan's PASS_FILE, the pure-Python path): the scan is the same fresh scan in both."""
    _need_lib()
    fmt: Optional[LogFormat] = request.param
    blocks = _blocks()
    with pytest.MonkeyPatch.context() as m:  # (_own_cache's folder: this fixture is set up before it)
        m.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
        yield _Native(fmt, blocks, _record(m, fmt, blocks))


def test_the_c_pass_hands_the_judge_what_hyperscan_did(monkeypatch: pytest.MonkeyPatch, native_run: _Native) -> None:
    with LeakScanner({}) as s:
        assert s._pass_file is not None
    fast = native_run.record
    slow = _record(monkeypatch, native_run.fmt, native_run.blocks, hyperscan_pass_file=True)
    assert fast[0] == slow[0]  # the same values and lines judged, in the same order
    assert fast[1] == slow[1]
    assert sum(map(len, fast[1])) > 50


def test_findings_are_the_same_native_and_pure(monkeypatch: pytest.MonkeyPatch, native_run: _Native) -> None:
    fast = native_run.record[1]
    pure = _record(monkeypatch, native_run.fmt, native_run.blocks, pure=True)[1]
    assert fast == pure
    assert [h.known for h in fast[2] + fast[3]] == [(("canary:1", "base64+line-wrapped", "pem"),),
                                                    (("canary:1", "hex with separators", "hex"),)]
    planted = {h.line for h in fast[0]}
    # every plant is found in the OpenBao log, by both paths (four lines a plant)
    assert {(n - 1) // 4 for n in planted} == set(range(len(_plants())))


def test_a_token_pair_in_an_openbao_log_reaches_the_judge_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    """colon_ends' token pairs and uri_ip_ends' addresses are handed to the judge under id -1, which must not be the
    id a Vault log's scanner ignores (it ignores none: _VAULT_CREDENTIAL_VALUE's pairs are its candidates)."""
    _need_lib()
    line = b'{"type":"request","request":{"id":"x","data":{"api_token":"abc123"}}}'
    for pure in (False, True):
        calls, found = _record(monkeypatch, None, [line], pure=pure)
        assert ("pair", b"api_token", b"abc123") in calls
        assert [h.line for h in found[0]] == [1]


_1PASSWORD = {"time": "timestamp", "identity": "user.email", "resource": "item_uuid", "action": "action",
              "result": "action", "source": "client.ip_address", "request_id": "uuid"}  # test_unseen_jsonl's


_PER_LOG = 5  # plants a log (a report names 20 distinct secrets at most)


@pytest.mark.parametrize("part", range(0, len(_plants()) + _PER_LOG, _PER_LOG))
@pytest.mark.parametrize("producer", ["openbao", "1password"])
def test_verify_reports_the_same_native_and_pure_on_planted_secrets(tmp_path: Path, producer: str, part: int) -> None:
    """The whole command (AUDITREADY_PURE_PYTHON=1 and not) on a few plants each, then on password-file lines, in an
    OpenBao log and in JSON lines of another producer (1Password's item usages, a "details" member added)."""
    from tests.test_native import _verify

    _need_lib()
    rng = random.Random(65)
    datas = [json.loads(ln)["request"]["data"] for ln in _planted_lines()[4 * part : 4 * (part + _PER_LOG)]]
    if not datas:  # generated password-file lines, around one of a real shape
        datas.extend({"details": _pass_file_lines(rng).decode("latin-1")} for _ in range(50))
        datas.insert(25, {"conf": "db.internal:5432:app:svc:Xk29vLq7mPz"})
    args = ["--canaries", str(FIXTURES / "openbao" / "canaries.txt")]
    if producer == "1password":
        base = json.loads((FIXTURES / "jsonl" / "unseen" / "1password-itemusages.jsonl").read_bytes().splitlines()[0])
        lines = [json.dumps({**base, "details": data}, separators=(",", ":")) for data in datas]
        cfg = tmp_path / "auditready.toml"
        cfg.write_text('[tool.auditready]\nlog_format = "jsonl"\nfield_map = {'
                       + ", ".join(f"{k} = {json.dumps(v)}" for k, v in _1PASSWORD.items()) + "}\n")
        args += ["--config", str(cfg)]
    else:
        base = json.loads((FIXTURES / "openbao" / "clean.log").read_bytes().splitlines()[-1])
        lines = [json.dumps({**base, "request": {**base["request"], "data": data}}, separators=(",", ":"))
                 for data in datas]
    log = tmp_path / "planted.log"
    log.write_text("\n".join(lines) + "\n")
    runs = []
    for pure in (False, True):
        (tmp_path / str(pure)).mkdir()
        code, doc, _ = _verify([str(log), *args], tmp_path / str(pure) / "out.json", pure)
        # (no_secret_leak's outcome only: another check's message names the time of the run)
        runs.append((code, [o for o in doc["outcomes"] if o["check"] == "no_secret_leak"]))
    assert runs[0] == runs[1]
    assert runs[0][0] == 1
    leaks = runs[0][1][0]["findings"]
    assert leaks and "there may be more" not in json.dumps(leaks)
