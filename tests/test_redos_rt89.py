"""Hostile request paths (red team rt89): any client, even without a token, chooses a request path, and the vault
writes it in clear. Three of the product's expressions took time square in such a text or worse (a 10 KB path: 73 s
in the "00" phone form, 9 s in the national one, 40 s at 20 KB in the Secret Keyword rule), and an AWS key pair in a
path showed its secret half in the evidence bundle. The rewritten matchers find exactly what the reference
expressions find (held equal here on random texts), and the hostile paths are judged within a deadline."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.scan import tokens
from tests._native_runs import completed

PAIR = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "rt89" / "refused-pair.log"


def _random_texts(seed: int, n: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 5)):
            runs = ["".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 12))) for _ in range(rnd.randint(1, 8))]
            body = rnd.choice(["00", "0", "", "01", "0044"]) + "".join(r + rnd.choice(" ./-") for r in runs)[:-1]
            parts.append(rnd.choice(["", " ", "x", "+", "-", ".", "/"]) + body + rnd.choice(["", " ", ".", "x", " 5"]))
        out.append("".join(parts))
    return out


def test_grouped_phone_forms_match_their_reference_expressions() -> None:
    matched = 0
    for text in _random_texts(7, 5_000):
        for rx in dm._GROUPED:
            want = [m.span() for m in rx.finditer(text)]
            assert list(dm._grouped(rx, text)) == want, (rx.pattern, text)
            matched += len(want)
    assert matched > 500  # (the texts exercise the forms, not only their refusals; 1,071 of them)


def _intl_texts(seed: int, n: int) -> Iterator[str]:
    """Texts of "+" and digits with every separator, parenthesis and neighbour the international form looks at."""
    rnd = random.Random(seed)
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 4)):
            p = rnd.choice(["+", "+", "x+", " +", "(+", "++", "_+", ""]) + rnd.choice("0123456789")
            for _ in range(rnd.randint(0, 9)):
                p += (rnd.choice(["", "", " ", ".", "-", "/", ") ", " (", ")", "(", ")-", "x", "٣"])
                      + rnd.choice(["", "("]) + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 6)))
                      + rnd.choice(["", "", ")"]))
            parts.append(p + rnd.choice(["", " ", "x", ")", "_", ".", "5", "é"]))
        yield "".join(parts)


def test_the_international_phone_form_matches_its_reference_expression() -> None:
    matched = 0
    for text in _intl_texts(3, 40_000):
        want = [m.span() for m in dm._PHONE_INTL_RE.finditer(text)]
        assert list(dm._intl(text)) == want, text
        matched += len(want)
    assert matched > 10_000


def test_the_international_phone_form_is_linear_in_a_megabyte_of_hostile_digits() -> None:
    # rt89's shape: a "+" and 31 digits, again and again; the reference took about 100 s on this megabyte
    code = ("from pytest_auditready.checks import data_minimisation as dm\n"
            "text = 'secret/data/' + ('+1' + '1' * 30 + ' ') * 30_000 + '+44 20 7946 0958'\n"
            "print([h.masked for h in dm._phones(text)])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["['+**********58']"], proc.stderr


def test_the_secret_keyword_rule_starts_only_at_a_name() -> None:
    rule = next(r.pattern for r in tokens.RULES if r.kind == "Secret Keyword" and "[A-Za-z0-9_.-])[A-Za-z0-9_.-]*?"
                in r.pattern.pattern)
    reference = re.compile(rule.pattern.replace("(?<![A-Za-z0-9_.-])", "(?<![A-Za-z0-9])", 1))
    rnd = random.Random(11)
    words = ["password", "pwd", "token", "db_pass", "api_key", "PASSWORD", "x", "a-", "_", ".", "-", "=", " ", '"',
             "'", ";", "hunter2", "key", "&", "=="]
    found = 0
    for _ in range(50_000):
        text = "".join(rnd.choice(words) for _ in range(rnd.randint(1, 14)))
        want = [(m.span(), m.groups()) for m in reference.finditer(text)]
        assert [(m.span(), m.groups()) for m in rule.finditer(text)] == want, text
        found += len(want)
    assert found > 3_000


def _log(tmp_path: Path, path: str) -> Path:
    log = tmp_path / "audit.log"
    with log.open("w") as f:
        for line in PAIR.read_text().splitlines():
            e = json.loads(line)
            e["request"]["path"] = path
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    log.chmod(0o600)
    return log


@pytest.mark.parametrize("path", [
    "secret/data/" + "a-" * 50_000 + " password=hunter2xyzzy",  # the Secret Keyword rule
    "secret/data/phone/+12345678 " + ("001" + "1" * 60 + " ") * 1_500,  # "00" and a country code
    "secret/data/phone/+12345678 " + ("01" + "1" * 45 + " ") * 4_000,  # a national number
    "secret/data/" + ("+1" + "1" * 30 + " ") * 3_000,  # "+" and a country code, no word needed
], ids=["keyword", "phone-00", "phone-national", "phone-intl"])
def test_a_hostile_path_is_judged_within_a_deadline(tmp_path: Path, path: str) -> None:
    log = _log(tmp_path, path)
    proc = completed(["verify", str(log), "--jobs", "1"], timeout=120)  # (hours before the rewrite)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr


def test_an_aws_key_pair_in_a_path_is_masked_whole(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    for path in (f"secret/data/aws/AKIAIOSFODNN7EXAMPLE/{secret}",
                 "secret/data/aws/AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"):
        log = _log(tmp_path, path)
        out = tmp_path / "evidence"
        proc = completed(["verify", str(log), "--jobs", "1", "--evidence", str(out)], timeout=120)
        assert proc.returncode == 1, proc.stderr
        written = {p.name: p.read_text() for p in out.iterdir()}
        assert {"evidence.json", "report.html"} <= set(written)
        for name, text in written.items():
            assert "wJalrXUtnFEMI" not in text and "bPxRfiCYEXAMPLEKEY" not in text, name
        assert "AWS Access Key sha256" in written["evidence.json"]
