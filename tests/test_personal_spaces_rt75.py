"""data_minimisation (red team rt75, F4): personal data grouped by a separator other than the ASCII space or "-".

Locale-aware formatters group digits with Unicode spaces (CLDR fr-FR: U+202F; many European locales and word
processors: U+00A0), HTML writes them as named references (``&nbsp;``, which Go's encoder writes ``\\u0026nbsp;``),
a pasted value may hold a tab, and an HTML5 named reference may stand for an address's "@" (``&commat;``). Each is
caught at its line, by the C extension's path and the pure-Python one alike; times, UUIDs, digests, versions and
amounts with the same separators are no finding.

tests/rt75_separators: a real OpenBao request entry (a KV mount tuned with
``-audit-non-hmac-request-keys=note``; server_nbsp.log and server_commat.log as the server wrote them, the others the
same entry with only the value changed, as Go's encoder writes it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.scan import native
from tests.conftest import remember_secret

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SEPARATORS = ROOT / "tests" / "rt75_separators"  # (not under fixtures/: its sweeps hold the planted values fixed)
ALL = tuple(dm.DETECTORS)

# Test values only: a card network's published test number, the IBAN registry's German example, a drama number.
VISA, IBAN, PHONE, EMAIL = "4111111111111111", "DE89370400440532013000", "+442079460958", "jane@example.com"
for _v in (VISA, IBAN, PHONE, EMAIL):
    remember_secret(_v)

CAUGHT = {
    "nbsp.log": "A Visa card number", "nnbsp.log": "A Visa card number", "thin.log": "A Visa card number",
    "figure.log": "A Visa card number", "ideo.log": "A Visa card number", "htmlnbsp.log": "A Visa card number",
    "tab.log": "A Visa card number", "server_nbsp.log": "A Visa card number", "iban_nbsp.log": "An IBAN",
    "phone_nnbsp.log": "A phone number", "server_commat.log": "An e-mail address",
}

# Every Unicode space separator but U+0020, from the Unicode database this Python ships.
ZS = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs" and c != 0x20]
# The WHATWG named references of those spaces, of a tab, and of the hyphens and dashes read as "-".
NAMED_SPACES = ["nbsp", "NonBreakingSpace", "ensp", "emsp", "emsp13", "emsp14", "numsp", "puncsp", "thinsp",
                "ThinSpace", "hairsp", "VeryThinSpace", "MediumSpace", "Tab"]
DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"]
NAMED_DASHES = ["hyphen", "dash", "ndash", "mdash", "horbar", "minus"]

_FINDINGS = """
import json, sys
from pathlib import Path
from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.scan import native
out = {"native": native.lib is not None, "files": {}}
for path in sorted(Path(sys.argv[1]).glob("*.log")):
    o = verify_file(str(path), Settings(), [dm.CHECK], {}).outcomes[0]
    out["files"][path.name] = [o.status, [f.text() for f in o.findings]]
print(json.dumps(out))
"""


def _findings(folder: Path, pure: bool) -> Any:
    """What data_minimisation finds in each .log of ``folder``, in a process with or without the C extension."""
    env = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
    if pure:
        env[native.PURE_ENV] = "1"
    res = subprocess.run([sys.executable, "-c", _FINDINGS, str(folder)], capture_output=True, text=True, timeout=600,
                         env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["native"] is (not pure) or native.lib is None
    return out["files"]


def outcome(path: Path) -> Outcome:
    return verify_file(str(path), Settings(), [dm.CHECK], {}).outcomes[0]


def _line_of(text: str) -> int:
    return int(text.split(", request id")[0].split("]")[0].rsplit(":", 1)[1])


def _entry() -> dict[str, Any]:
    """The real server's entry (a KV write whose "note" the mount logs without HMAC)."""
    entry: dict[str, Any] = json.loads((SEPARATORS / "server_nbsp.log").read_text(encoding="utf-8"))
    return entry


def _go_json(obj: Any) -> str:
    """JSON as Go's encoding/json writes it: UTF-8 raw, "&", "<" and ">" as \\u escapes."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            .replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _write(path: Path, notes: list[str], ascii_escapes: bool = False) -> Path:
    """One entry a line, each with its ``note``; its non-ASCII characters as JSON escapes with ``ascii_escapes``
    (Python's encoder, a shipper's re-encoding)."""
    rows = []
    for note in notes:
        entry = _entry()
        entry["request"]["data"]["data"]["note"] = note
        rows.append(json.dumps(entry, separators=(",", ":")) if ascii_escapes else _go_json(entry))
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    path.chmod(0o600)
    return path


# -- the red team's entries, caught at their line, with and without the C extension -----------------------------------
@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_each_separator_of_the_red_team_is_caught_at_its_line(name: str) -> None:
    o = outcome(SEPARATORS / name)
    assert o.status == FAILED, (name, o.status)
    texts = [f.text() for f in o.findings]
    assert len(texts) == 1, texts
    assert texts[0].split("] ", 1)[1].startswith(CAUGHT[name]), texts
    assert "'request.data.data.note'" in texts[0] and _line_of(texts[0]) == 1
    for value in (VISA, IBAN, PHONE, EMAIL, "4111\u00a01111", "1111\t1111"):
        assert value not in texts[0]


def test_the_pure_path_finds_what_the_extension_finds_in_the_red_team_s_entries() -> None:
    fast, pure = _findings(SEPARATORS, pure=False), _findings(SEPARATORS, pure=True)
    assert fast == pure
    assert set(fast) == set(CAUGHT) and all(status == FAILED for status, _ in fast.values())


# -- the class: every Zs character, the named references, tabs, dashes; raw and escaped ------------------------------
def _class_notes() -> list[str]:
    notes = []
    for sep in [*ZS, *(f"&{n};" for n in NAMED_SPACES), "\t", *DASHES, *(f"&{n};" for n in NAMED_DASHES)]:
        notes.append(sep.join(("4111", "1111", "1111", "1111")))
        notes.append(sep.join(("DE89", "3704", "0044", "0532", "0130", "00")))
        notes.append("tel " + sep.join(("+44", "20", "7946", "0958")))
    notes += ["jane&commat;example.com", "jane&commat;example&period;com", "jane.doe@example&period;com",
              "tel &plus;44 20 7946 0958", "call &lpar;415&rpar; 555-0132", "4111&period;1111&period;1111&period;1111"]
    return notes


@pytest.mark.parametrize("ascii_escapes", [False, True], ids=["go-utf8", "json-escapes"])
def test_every_unicode_space_named_reference_tab_and_dash_is_read_as_the_ascii_separator(
        tmp_path: Path, ascii_escapes: bool) -> None:
    notes = _class_notes()
    for i, note in enumerate(notes):  # one file each: a value is reported once, at its first line
        _write(tmp_path / f"n{i:03}.log", [note], ascii_escapes)
    fast, pure = _findings(tmp_path, pure=False), _findings(tmp_path, pure=True)
    assert fast == pure
    missed = [notes[i] for i in range(len(notes)) if fast[f"n{i:03}.log"][0] != FAILED]
    assert not missed
    assert all(len(texts) == 1 and _line_of(texts[0]) == 1 for _, texts in fast.values())


def test_the_zs_class_is_every_unicode_space_separator() -> None:
    read = set(dm._SPACES_RE.findall("".join(ZS)))
    assert read == set(ZS)
    for c in ZS:  # each raw, escaped and (where it has one) named form is a prefilter's line
        utf8, escaped = f"4111{c}1111".encode(), f"4111\\u{ord(c):04x}1111".encode()
        for data in (utf8, escaped):
            assert dm._separator_prefilter(ALL)(data) == {0: set(ALL)}, (hex(ord(c)), data)
            assert dm._separator_prefilter(ALL, hyperscan=False)(data) == {0: set(ALL)}, (hex(ord(c)), data)


# -- no false alarm ----------------------------------------------------------------------------------------------------
QUIET = [
    "2026-12-06\t08:39:58.444739498Z", "2026\u201012\u201006T08:39:58Z", "08:39\u202f58", "12\u00a0h\u00a030",
    "a51236a8\u2011889a\u2011252f\u2011d4f3\u201185f187bc920a", "a51236a8\t889a\t252f\td4f3\t85f187bc920a",
    "hmac-sha256:4901a8135bb8fd1536fe8ab20a106d44a3b565f897bdfafeb7192e17fe16828b\tok",
    "v2.7.2\t+builtin.bao", "OpenBao\u00a0v2.7.2\u00a0(build\u00a020261206)", "1\u202f234\u202f567,89\u00a0\u20ac",
    "12\u00a0345\u00a0678 octets", "total\t1234\t5678", "pages 12\u201334", "jane&nbsp;doe", "&lpar;see below&rpar;",
    "id 0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8=\tx", "port\t44422\tpid\t1234",
]


@pytest.mark.parametrize("ascii_escapes", [False, True], ids=["go-utf8", "json-escapes"])
def test_times_ids_digests_versions_and_amounts_with_such_separators_are_no_finding(
        tmp_path: Path, ascii_escapes: bool) -> None:
    _write(tmp_path / "quiet.log", QUIET, ascii_escapes)
    fast, pure = _findings(tmp_path, pure=False), _findings(tmp_path, pure=True)
    assert fast == pure == {"quiet.log": [PASSED, []]}


@pytest.mark.parametrize("path", [
    FIXTURES / "openbao" / "clean.log", *sorted((FIXTURES / "real-vault").glob("*.log")),
    FIXTURES / "k8s" / "audit.log", FIXTURES / "k8s" / "audit-requestresponse.log",
    FIXTURES / "cloudtrail" / "secretsmanager.json",
], ids=lambda p: str(p.relative_to(FIXTURES)))
def test_real_producer_logs_give_no_finding(path: Path) -> None:
    o = outcome(path)
    assert not o.findings and o.status == PASSED, [f.text() for f in o.findings][:3]


def test_the_separator_table_sends_no_line_of_a_real_vault_log_to_the_judge() -> None:
    for path in (FIXTURES / "openbao" / "clean.log", *sorted((FIXTURES / "real-vault").glob("*.log"))):
        data = path.read_bytes()
        assert dm._separator_prefilter(ALL)(data) == {}, path
