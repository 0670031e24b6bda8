"""The leak scanner's Hyperscan prefilters (scan.tokens.PREFILTERS) must each match wherever their rule does, or
the rule never sees the line: a credential the judge finds in a line (``judge_line``) went unreported by the block
scan that every verify runs. Found by the helper that built tokens.GATES: a vault unseal key numbered in another
script's digits, an Oracle Easy Connect password over 128 characters, a .netrc login over 256 characters before its
password, a MySQL "SET" with more than eight blanks before "PASSWORD", and a password file's line whose port is
written in another script's digits (the C pass, native.PASS_FILE, too); red team rt84 F1: a keyword written with a
letter Python's (?i) takes for an ASCII one (a capital I with a dot, a dotless i, a long s, the Kelvin sign)."""

from __future__ import annotations

import base64
import json

import pytest

from pytest_auditready.scan import tokens
from pytest_auditready.scan.hyperscan import LeakScanner

PW = "Wq8vT3xZ9nL2pR6k"
SHORT = "Xy7q9LmN2pQ4rT"  # (too short for the entropy prefilter to send its line to the judge)
KEY = base64.b64encode(bytes(range(32))).decode()
CASES = {
    "unseal key numbered in Arabic-Indic digits": ("Unseal Key \u0661: " + KEY, "Vault Unseal Key"),
    "unseal key after a tab": ("Recovery Key 2:\t" + KEY, "Vault Unseal Key"),
    "Easy Connect password of 150 characters": ("scott/" + "p7Q" * 50 + "@//db.example.com:1521/ORCL",
                                                "Connect String Password"),
    "netrc login of 300 characters": ("machine h login " + "u" * 300 + " password " + PW, "Secret Keyword"),
    "netrc password after a line break": ("machine h\nlogin bob\npassword " + PW, "Secret Keyword"),
    "SET with nine blanks before PASSWORD": ("SET" + " " * 9 + "PASSWORD FOR 'bob'@'%' = '" + PW + "'",
                                             "SQL Password"),
    "SET then a no-break space before PASSWORD": ("SET\u00a0PASSWORD = '" + PW + "'", "SQL Password"),
    # letters Python's (?i) takes for ASCII (red team rt84 F1): "api_key".upper() under a Turkish locale, ...
    "a capital I with a dot in API_KEY": ("env: AP\u0130_KEY=" + SHORT, "Secret Keyword"),
    "a dotless i in private_key": ("load failed: pr\u0131vate_key=" + SHORT, "Secret Keyword"),
    "long s in password": ("db connect failed: pa\u017f\u017fword=" + SHORT, "Secret Keyword"),
    "the Kelvin sign in api_key": ("upstream said api_\u212aey=" + SHORT, "Secret Keyword"),
    "the Kelvin sign in Unseal Key": ("Unseal \u212aey 1: " + KEY, "Vault Unseal Key"),
}


def _line(value: str, ascii_only: bool) -> bytes:
    entry = {"time": "2026-01-05T08:00:00.123456789Z", "type": "response",
             "request": {"id": "6f1c2d1e-0000-4000-8000-000000000001", "path": "secret/data/app"},
             "response": {"data": {"note": value}}}
    return json.dumps(entry, ensure_ascii=ascii_only, separators=(",", ":")).encode()


@pytest.mark.parametrize("ascii_only", [False, True], ids=["utf8", "json-escaped"])  # Go writes UTF-8; others \u
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_block_scan_finds_what_the_rule_finds(name: str, ascii_only: bool) -> None:
    value, kind = CASES[name]
    assert kind in {k for k, _ in tokens.find(value)}  # the rule itself finds it
    line = _line(value, ascii_only)
    with LeakScanner({}) as scanner:
        judged = scanner.judge_line(1, line)
        assert judged is not None and kind in {g.kind for g in judged.generic}
        found = {h.line: {g.kind for g in h.generic} for h in scanner.scan_block(line, 1)}
    assert kind in found.get(1, set()), found


@pytest.mark.parametrize("native_pass", [True, False], ids=["c-pass", "hyperscan"])
def test_a_password_file_line_with_a_port_in_other_digits_is_found(native_pass: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """As a vault writes it (Go: UTF-8, not \\u escapes), by the C pass and by Hyperscan's expression alike."""
    from pytest_auditready.scan import hyperscan as hsmod
    from pytest_auditready.scan import native

    if not native_pass:  # a changed pattern: the scanner compiles the expression into Hyperscan's database again
        monkeypatch.setattr(hsmod, "_CLEAN", {})
        monkeypatch.setattr(native, "PASS_FILE", native.PASS_FILE + b"x")
    line = _line("db.example.com:\u0665\u0664\u0663\u0662:app:alice:" + PW, False)
    with LeakScanner({}) as scanner:
        assert (scanner._pass_file is not None) == (native_pass and native.lib is not None)
        found = {h.line: {g.kind for g in h.generic} for h in scanner.scan_block(line, 1)}
    assert "Secret Keyword" in found.get(1, set()), found


def test_prose_with_password_judged_whole_stays_clean() -> None:
    """The widened prefilters send more lines to the judge whole; a vault's own failed-login text is no finding."""
    line = _line("invalid username or password provided for user bob", False)
    with LeakScanner({}) as scanner:
        assert list(scanner.scan_block(line, 1)) == []


def test_turkish_prose_judged_whole_stays_clean() -> None:
    """A line with a dotless i or a capital I with a dot goes to the judge whole (rt84 F1): Turkish text without a
    credential in it (a display name, a translated error) is no finding."""
    line = _line("Kullan\u0131c\u0131 ad\u0131 veya \u015fifre ge\u00e7ersiz: \u0130stanbul ofisi, Ay\u015fe Y\u0131lmaz",
                 False)
    with LeakScanner({}) as scanner:
        assert list(scanner.scan_block(line, 1)) == []
