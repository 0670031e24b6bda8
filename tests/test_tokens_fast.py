"""scan.tokens.find's fast path (a Hyperscan pass over tokens.GATES, then each rule on the lines around its gate's
hits) yields exactly what the rule-by-rule loop (tokens._find_reference) does: the same (kind, credential) pairs in
the same order, on every fixture, on the reports of a real run, on each rule's own examples wherever they sit (line
starts and ends, across line breaks, JSON- and HTML-escaped, with the non-ASCII characters Python's (?i) and \\s
take for ASCII ones), and on drawn mixes of them; and report.common.masked_tokens masks the same."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import random
import re
import string
import sys
from pathlib import Path
from typing import Iterator
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_auditready.report import common
from pytest_auditready.scan import tokens

ROOT = Path(__file__).resolve().parent.parent
_A = string.ascii_letters + string.digits
_RNG = random.Random(20261206)


def _r(n: int, alphabet: str = _A) -> str:
    while True:  # random, with capitals, small letters and digits (the joined forms' check asks for all three)
        s = "".join(_RNG.choice(alphabet) for _ in range(n))
        if alphabet != _A or (any(c.isupper() for c in s) and any(c.islower() for c in s)
                              and any(c.isdigit() for c in s)):
            return s


_HEX = "0123456789abcdef"
_PW = "Wq8vT3xZ9nL2pR6k"
# Each rule's own examples, by the rule's index in tokens.RULES (test_examples_cover_every_rule holds each found).
EXAMPLES: dict[int, list[str]] = {
    0: ["hvs." + _r(90), "s." + _r(24), "s." + _r(24) + "." + _r(5), "b." + _r(30), "token-hvs." + _r(24)],
    1: ["deploy_s." + _r(24), "vault_hvs." + _r(40), "leaked-b." + _r(24), "s." + _r(24) + "-old"],
    2: ["r." + _r(24), "backup_r." + _r(24)],
    3: ["token-s-" + _r(24), "token-r." + _r(24), "token-hvs-" + _r(30)],
    4: ["auth/token/lookup/s1234abcd-custom-id", "/v1/auth/token/revoke-orphan/c0ffee-" + _r(12)],
    5: ["Unseal Key: " + base64.b64encode(bytes(range(32))).decode(), "Recovery Key 1: " + "ab" * 32,
        "unseal key 3:\t" + base64.b64encode(bytes(range(1, 34))).decode()],
    6: ["github_pat_" + _r(22) + "_" + _r(59)],
    7: ["npm_" + _r(36)],
    8: ["shpat_" + _r(32, _HEX)],
    9: ["sk-ant-api03-" + _r(93, _A + "-_")],
    10: ["sk-proj-" + _r(120, _A + "-_")],
    11: ["dop_v1_" + _r(64, _HEX)],
    12: ["hf_" + _r(17, string.ascii_lowercase) + _r(17, string.ascii_uppercase)],
    13: ["dapi" + _r(32, _HEX), "dapi" + _r(32, _HEX) + "-2"],
    14: ["AGE-SECRET-KEY-1" + _r(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")],
    15: ["glsa_" + _r(32) + "_" + _r(8, _HEX), "glc_" + _r(40, _A + "+/") + "=="],
    16: ["dp.pt." + _r(43)],
    17: [_r(14) + ".atlasv1." + _r(67)],
    18: ["pul-" + _r(40, _HEX)],
    19: ["PMAK-" + _r(24, _HEX) + "-" + _r(34, _HEX)],
    20: ["lin_api_" + _r(40)],
    21: ["ATATT3xFfGF0" + _r(180, _A + "_-") + "=" + _r(8, "0123456789ABCDEF")],
    22: ["AIza" + _r(35, _A + "-_")],
    23: ["GOCSPX-" + _r(28, _A + "-_"), "ya29." + _r(60, _A + "-_")],
    24: ["https://hooks.slack.com/services/T" + _r(8, string.ascii_uppercase) + "/B" + _r(8, string.ascii_uppercase)
         + "/" + _r(24)],
    25: ["postgresql://app:Zq7vXw4Lp9sKd2@db.internal:5432/prod", "redis://:" + _PW + "@cache:6379/0"],
    26: ["app:" + _PW + "@tcp(db.internal:3306)/prod", "root:" + _PW + "@unix(/run/mysqld.sock)/x"],
    27: ["scott/" + _PW + "@//db.example.com:1521/ORCL", "system/" + _PW + "@dbhost:1521/XE"],
    28: ["base64:" + base64.b64encode(bytes(range(200, 232))).decode()],
    29: ["Password=" + _PW + ";", "PGPASSWORD=" + _PW, "api_key = '" + _PW + " x'", 'client_secret="' + _PW + '"',
          "spark.hadoop.fs.s3a.secret.key=" + _PW],
    30: ["<password>" + _PW + "</password>", '<ns:db_password type="x">' + _PW + "</ns:db_password>"],
    31: ['<add key="ApiKey" value="' + _PW + '"/>', "<entry key='secret'>" + _PW + "</entry>"],
    32: ["  password: " + _PW, '- "api_key": "' + _PW + '"  # a comment', "db_pass:\t" + _PW + "\r"],
    33: ["CREATE USER bob WITH PASSWORD '" + _PW + "'", "ALTER ROLE app ENCRYPTED PASSWORD '" + _PW + "';",
          "CREATE USER x IDENTIFIED BY " + _PW, "GRANT ALL ON db.* TO 'u'@'%' IDENTIFIED BY '" + _PW + "'"],
    34: ["SET PASSWORD FOR 'bob'@'%' = '" + _PW + "'", "set password = password('" + _PW + "')"],
    35: ["machine api.example.com login bob password " + _PW, 'default login x account y password "' + _PW + '"'],
    36: ["db.example.com:5432:app:alice:" + _PW, "*:*:*:postgres:" + _PW],
    37: ["Bearer " + _r(40, _A + "-_."), "authorization: bearer " + _r(30) + "=="],
    38: ["Basic " + base64.b64encode(b"svc-backup:" + _PW.encode()).decode()],
}
# The same across line breaks (where a rule's \s, (?s) or attribute text allows one) and with the non-ASCII
# characters Python's regexes take for ASCII ones: (?i)'s long s, Kelvin sign and dotted/dotless i, \s's white
# spaces, \d's digits of other scripts.
SPANNING = [
    "Bearer\n" + _r(40), "basic\r\n  " + base64.b64encode(b"u:" + _PW.encode()).decode(),
    "password\n=\n" + _PW, "token =\r\n'" + _PW + "'", "<password\n  kind='x'\n>" + _PW + "</password>",
    '<add key="ApiKey"\n     value="' + _PW + '"/>', '<add\nkey\n=\n"secret"\n\n>' + _PW + "<",
    "CREATE\nUSER bob\nWITH\nPASSWORD\n'" + _PW + "'", "GRANT SELECT\nON x TO y\nIDENTIFIED\nBY " + _PW,
    "SET\nPASSWORD\nFOR x\n=\n'" + _PW + "'", "machine example.com\n  login bob\n  password " + _PW + "\n",
    "default\nlogin bob\naccount\tx\npassword\n\"" + _PW + "\"",
    "secret\n\n=\n\n" + _PW, "x\npassword\r\n=\n " + _PW + "\ny",
    "paſſword=" + _PW, "api_\u212aey=" + _PW, "grant\u00a0all to x \u0131dent\u0131f\u0131ed\u2003by '" + _PW + "'",
    "CREATE USER a \u0130DENT\u0130F\u0130ED BY " + _PW,
    "SET\u00a0PASSWORD = '" + _PW + "'", "password\u2028=\u3000" + _PW, "secret\u00a0\u2003=" + _PW,
    "Unseal Key \u0661\u0662: " + "ab" * 32, "db.example.com:\u0665\u0664\u0663\u0662:app:alice:" + _PW,
    "machine\u00a0h login\u2000u password\u3000" + _PW, "Bearer\u00a0" + _r(30), "ba\u017fic\u00a0"
    + base64.b64encode(b"u:" + _PW.encode()).decode(), "  pa\u017f\u017fword:\t" + _PW,
    '<add key="\u212aey" value="x"/><entry \u212aey = "token" >' + _PW + "<", "\udcff token=" + _PW + "\udcfe",
]
_ALL = [e for examples in EXAMPLES.values() for e in examples] + SPANNING


@contextlib.contextmanager
def _fast_always() -> Iterator[None]:
    """find takes its fast path on a text of any length."""
    with mock.patch.object(tokens, "FAST_MIN", 0), mock.patch.object(tokens, "FAST_MIN_LOADED", 0):
        yield


def _same(text: str) -> list[tuple[str, str]]:
    """Assert the fast path's findings in ``text`` are the reference's, at any length and at the default ones."""
    expected = list(tokens._find_reference(text))
    with _fast_always():
        assert list(tokens.find(text)) == expected
    assert list(tokens.find(text)) == expected
    return expected


def _masked_same(text: str) -> None:
    """masked_tokens on ``text`` (plain and markup) shows what it shows with the reference."""
    for markup in (False, True):
        with mock.patch.object(tokens, "find", tokens._find_reference):
            expected = common.masked_tokens(text, markup)
        with _fast_always():
            assert common.masked_tokens(text, markup) == expected


def _contexts(example: str) -> list[str]:
    return [example, f"{example}\n", f"\n{example}", f"x\n{example}\ny", f"say {example} now", f"{example}\r\n",
            f"a.{example}.b", f'"{example}"', json.dumps(example), json.dumps({"v": f"line\n{example}\n"}),
            json.dumps(json.dumps({"error": example})), html.escape(example), f"<td>{html.escape(example)}</td>",
            f"{example}\n{example}", f"{example}{example}", example.replace(" ", "\n"), f"|{example}|"]


def test_fold_holds_every_non_ascii_character_python_takes_for_an_ascii_letter_or_white_space() -> None:
    letters = [c for c in range(0x80, sys.maxunicode + 1) if re.match(r"(?i)[a-z]", chr(c))]
    spaces = [c for c in range(0x80, sys.maxunicode + 1) if re.match(r"\s", chr(c))]
    assert all(re.fullmatch("(?i)" + tokens._FOLD[c], chr(c)) for c in letters)
    assert sorted(tokens._FOLD) == sorted(letters + spaces)
    assert all(tokens._FOLD[c] == " " for c in spaces)
    assert [c for c in range(0x80) if re.match(r"\s", chr(c))] == [*range(9, 14), *range(0x1C, 0x21)]  # _WS


def test_examples_cover_every_rule() -> None:
    for i, rule in enumerate(tokens.RULES):
        assert any(rule.check is None or rule.check(m) for e in EXAMPLES[i] for m in rule.pattern.finditer(e)), i
    assert len(tokens.GATES) == len(tokens.RULES) == len(EXAMPLES)
    for text in SPANNING:
        assert list(tokens._find_reference(text)), text  # each spanning or non-ASCII form is a finding


@pytest.mark.parametrize("example", _ALL)
def test_each_example_wherever_it_sits(example: str) -> None:
    for text in _contexts(example):
        _same(text)


def test_all_examples_in_one_long_text() -> None:
    parts = [c for e in _ALL for c in _contexts(e)]
    _RNG.shuffle(parts)
    text = "\n".join(parts)
    assert len(text) > tokens.FAST_MIN
    found = _same(text)
    assert {kind for kind, _ in found} == {rule.kind for rule in tokens.RULES}
    _same(json.dumps(text))
    _same(html.escape(text))
    _masked_same(text)


def test_every_fixture() -> None:
    files = [p for p in sorted((ROOT / "fixtures").rglob("*")) if p.is_file()]
    assert len(files) > 100
    found = 0
    for path in files:
        # (its first 32 KB: its kinds of line, at a third of the 10 MB the reference took 8 s of CI to read)
        text = path.read_bytes()[: 1 << 15].decode("utf-8", "surrogateescape")
        found += len(_same(text))
    assert found > 50  # the fixtures hold credentials: the paths compared are not all empty ones


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The texts find is given during a verify of a leaky log writing every report, each compared as it is given;
    and the reports written."""
    from pytest_auditready.cli import main

    out = tmp_path_factory.mktemp("reports")
    given: list[str] = []
    reference, fast = tokens._find_reference, tokens.find

    found: list[tuple[str, str]] = []
    differ: list[str] = []  # recorded, not raised: the command may catch an exception a report's writing raises

    def both(value: str) -> Iterator[tuple[str, str]]:
        given.append(value)
        expected = list(reference(value))
        found.extend(expected)
        with _fast_always():
            if list(fast(value)) != expected:
                differ.append(value)
        return iter(expected)

    with mock.patch.object(tokens, "find", both):
        code = main(["verify", str(ROOT / "fixtures" / "openbao" / "leaky.log"), "--evidence", str(out / "ev"),
                     "--json", str(out / "r.json"), "--junit", str(out / "r.xml"), "--sarif", str(out / "s.sarif")])
    assert code == 1
    written = [p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()]
    assert not differ, differ[:3]
    assert len(given) > 20 and max(map(len, given)) > 20_000 and len(written) >= 6
    assert found  # a credential the reports mask (the log's Bearer JWT)
    return written


def test_the_reports_of_a_real_run(reports: list[str]) -> None:
    for text in reports:
        _same(text)


def test_masked_reports(reports: list[str]) -> None:
    for text in reports:
        _masked_same(text)
    _masked_same("\n".join([*reports, *_ALL]))


_NOISE = st.text(alphabet=st.sampled_from([*"ab Zz09_.-=:;'\"<>/@\n\r\t\\{}#*%", "\u017f", "\u212a", "\u0131", "\u00a0",
                                           "\u0661", "\u00e9"]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_ALL), _NOISE, st.sampled_from(_ALL).map(json.dumps),
                          st.sampled_from(_ALL).map(html.escape)), max_size=12),
       st.sampled_from(["", "\n", " ", "\r\n", "\\n", "=", ":", "\n\n\n"]))
def test_drawn_mixes(parts: list[str], joint: str) -> None:
    _same(joint.join(parts))


def test_while_another_thread_scans_the_loop_answers() -> None:
    text = "\n".join(_ALL) * 2
    expected = list(tokens._find_reference(text))
    tokens._gate_db()
    with tokens._SCANNING:  # the scratch space in use: find does not wait for it, nor use it
        assert tokens._windows(text) is None
        assert list(tokens.find(text)) == expected
    assert tokens._windows(text) is not None
