"""A known value written as HTML numeric references with leading zeros or without their ";" is found.

An HTML or XML export (a SIEM's), or an encoder of fixed width, writes a character as ``&#0090;`` or ``&#x005a;``;
an HTML parser also reads ``&#90`` and ``&#x5a`` (no ";") as "Z" when what follows is no digit (no hex digit after
"&#x") and no ";". The README and scan.known claim HTML-escaped values with numeric references of every character:
before, only ``&#90;`` and ``&#x5a;`` were read, and a canary written the other ways passed (red team report,
section 12). Leading zeros are read up to eight (``scan.known._ZEROS``).

The end-to-end cases put the value in the ``note`` field of a real OpenBao line (fixtures/openbao/odd/correct.log,
line 24: the KV write of secret/data/app/db), as a mount that does not HMAC that key would log it; the Go-written
case writes each "&" as ``\\u0026``, as OpenBao does. Each is found at that line, and the same log without the
value stays clean. The judge must still never find a value that is not there: a reference without ";" followed by
a digit (``&#113`` then "8" is ``&#1138``) is another character, and a value sharing all but one character with the
canary is another value.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.known import KnownValues
from tests.test_blind_encodings import _lines  # the lines findings name
from tests.test_blind_encodings import _verify as verify_encoded

CANARY = "Zq8rT2vLx9Pz-canary"
CORRECT = Path(__file__).resolve().parent.parent / "fixtures" / "openbao" / "odd" / "correct.log"
LINE = 24  # request create secret/data/app/db: its data.note is a string (HMAC'd there)
NOTE = '"note":"hmac-sha256:c3baa2a46967e5e3ddd39c1506d5a84a3a084f70cc48e8cc0fa39302393d18a7"'

Spell = Callable[[str], str]


def _each(fmt: Callable[[int], str]) -> Spell:
    return lambda value: "".join(fmt(ord(c)) for c in value)


# (a) leading zeros, decimal; (b) leading zeros, hex; (c) no ";"; (d) Go's JSON writes "&" as \u0026.
SPELLINGS: dict[str, Spell] = {
    "decimal-zero-padded": _each(lambda o: f"&#{o:04d};"),
    "decimal-eight-zeros": _each(lambda o: f"&#{'0' * 8}{o};"),
    "hex-zero-padded": _each(lambda o: f"&#x{o:04x};"),
    "hex-upper-zero-padded": _each(lambda o: f"&#X{o:06X};"),
    "decimal-no-semicolon": _each(lambda o: f"&#{o}"),
    "hex-no-semicolon": _each(lambda o: f"&#x{o:x}"),
    "go-decimal-no-semicolon": _each(lambda o: f"\\u0026#{o}"),
    "go-hex-no-semicolon": _each(lambda o: f"\\u0026#x{o:x}"),
    "go-decimal-zero-padded": _each(lambda o: f"\\u0026#{o:05d};"),
    "go-hex-zero-padded-no-semicolon": _each(lambda o: f"\\u0026#x{o:04x}"),
    "url-encoded-amp-no-semicolon": _each(lambda o: f"%26#{o}"),
    # some characters only (an encoder that escapes a few): a reference without ";" before a raw letter
    "mixed": lambda v: "".join(f"&#{ord(c)}" if i % 3 == 0 and not v[i + 1 : i + 2].isdigit() else c
                               for i, c in enumerate(v)),
}

# What a reader of the text sees decoded: JSON's and URL's escapes, then HTML (Python's html.unescape reads a
# numeric reference as the HTML5 parser does, with or without ";").


def _decoded(text: str) -> str:
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
    return html.unescape(text)


def _planted(spelled: str) -> str:
    """correct.log with line LINE's note holding ``spelled`` as it is (its escapes kept)."""
    lines = CORRECT.read_text().splitlines()
    assert lines[LINE - 1].count(NOTE) == 1
    lines[LINE - 1] = lines[LINE - 1].replace(NOTE, f'"note":"{spelled}"')
    json.loads(lines[LINE - 1])  # still one valid JSON object
    return "\n".join(lines) + "\n"


def _verify(tmp_path: Path, files: dict[str, str], pure: bool) -> dict[str, list[str]]:
    """``auditready verify --canaries`` on the files (test_blind_encodings' run): per file, the no_secret_leak
    findings' messages, none of which shows the value."""
    found = verify_encoded(tmp_path, files, pure, canaries=(CANARY,))
    out = {name: checks["no_secret_leak"] for name, checks in found.items()}
    assert not any(CANARY in msg for msgs in out.values() for msg in msgs)  # a finding never prints the value
    return out


def test_each_spelling_reads_back_as_the_canary() -> None:
    """The spellings are what an HTML parser reads as the canary (so the cases test what they claim)."""
    for name, spell in SPELLINGS.items():
        assert _decoded(spell(CANARY)) == CANARY, name


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_the_judge_finds_each_spelling(name: str) -> None:
    spelled = SPELLINGS[name](CANARY)
    hits = KnownValues({"canary:1": CANARY}).find(f'{{"note":"{spelled}","n":1}}')
    assert [h.name for h in hits] == ["canary:1"], (name, hits)
    assert all("html-escaped" in h.encoding for h in hits), hits


@pytest.fixture(params=[False, True], ids=["native", "pure"])
def pure(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_auditready_verify_finds_each_spelling_at_its_line(tmp_path: Path, pure: bool) -> None:
    """(a) zero padded decimal, (b) zero padded hex, (c) no ";", (d) with Go's \\u0026: each found at line 24 by
    ``auditready verify --canaries`` (with the C extension, and on the pure-Python path); the log without the value
    has no no_secret_leak finding."""
    files = {f"{name}.log": _planted(spell(CANARY)) for name, spell in SPELLINGS.items()}
    files["clean.log"] = CORRECT.read_text()
    found = _verify(tmp_path, files, pure)
    assert found["clean.log"] == []
    for name in SPELLINGS:
        msgs = found[f"{name}.log"]
        assert any("<canary:1> appears in the log" in m and "html-escaped" in m for m in msgs), (name, msgs)
        assert _lines(msgs) == {LINE}, (name, msgs)


# Texts that are not the canary, each built to sit next to a spelling the judge reads.
def _bare(value: str) -> str:
    return "".join(f"&#{ord(c)}" for c in value)


NOT_THERE = {
    # "q" as &#113 then a raw "8": an HTML parser reads &#1138 (one character), so no "q8"
    "a digit after a reference without ';'": "&#90&#1138rT2vLx9Pz-canary",
    "an escaped digit after a reference without ';'": "&#90&#113\\u0038rT2vLx9Pz-canary",
    "a URL-encoded digit after a reference without ';'": "&#90&#113%38rT2vLx9Pz-canary",
    # "x" as &#x78 then a raw "9": &#x789
    "a hex digit after a hex reference without ';'": "Zq8rT2vL&#x789Pz-canary",
    # "c" as &#x63 then a raw "a": &#x63a
    "a hex letter after a hex reference without ';'": "Zq8rT2vLx9Pz-&#x63anary",
    "an escaped hex letter after a hex reference": "Zq8rT2vLx9Pz-&#x63\\u0061nary",
    "a value sharing all but its last character": _bare("Zq8rT2vLx9Pz-canarz"),
    "a value sharing all but its first character": _bare("Yq8rT2vLx9Pz-canary"),
    "a prefix of the value": _bare("Zq8rT2vLx9Pz-cana") + " and more",
    "zeros inside the number": "&#9000&#113&#56rT2vLx9Pz-canary",
    "a reference with no digits is no character": "Zq8rT2vLx9Pz-canar&#;y",
    "nine zeros and a digit more: another number": "&#0000000009000&#113&#56rT2vLx9Pz-canary",
}


@pytest.mark.parametrize("name", sorted(NOT_THERE))
def test_the_judge_finds_no_value_that_is_not_there(name: str) -> None:
    text = NOT_THERE[name]
    assert CANARY not in _decoded(text), name  # the case is what it says
    assert KnownValues({"canary:1": CANARY}).find(f'{{"note":"{text}"}}') == [], name


def test_a_reference_without_semicolon_before_a_non_digit_is_read() -> None:
    """The same places as above with what follows changed to what an HTML parser ends the reference at."""
    known = KnownValues({"canary:1": CANARY})
    for text in ("&#90&#113&#56rT2vLx9Pz-canary", "Zq8rT2vL&#x78&#57Pz-canary", "Zq8rT2vLx9Pz-&#x63;anary",
                 "Zq8rT2vLx9Pz-&#99anary", "&#90q8rT2vLx9Pz-canary", "Zq8rT2vLx9Pz-canar&#121"):
        assert _decoded(text) == CANARY
        assert [h.name for h in known.find(text)] == ["canary:1"], text


def test_the_block_scanner_finds_what_the_judge_finds() -> None:
    """The Hyperscan prefilter (KnownValues.prefilters, compiled as literals) sends every line the judge finds the
    value on to the judge: scanning the block finds each spelling at its line, as judging every line whole does,
    and nothing on the lines around it."""
    lines = CORRECT.read_bytes().splitlines()
    block = []
    for spell in SPELLINGS.values():
        block.append(_planted(spell(CANARY)).splitlines()[LINE - 1].encode())
        block.append(lines[LINE])  # a clean line between
    with LeakScanner({"canary:1": CANARY}) as scanner:
        fast = {h.line: {f"{n}/{e}" for n, e, _ in h.known} for h in scanner.scan_block(b"\n".join(block), 1)}
        slow = {}
        for n, raw in enumerate(block, 1):
            hits = scanner.judge_line(n, raw)
            if hits is not None and hits.known:
                slow[n] = {f"{name}/{e}" for name, e, _ in hits.known}
    assert set(slow) == set(range(1, len(block) + 1, 2))
    assert {n: fast.get(n, set()) for n in slow} == slow


def test_prefilter_literals_hold_every_reference_of_a_letter_or_digit() -> None:
    """For every letter and digit, each reference the judge reads (0 to 8 zeros, either case of "x", with and
    without ";") holds one of the literals ``prefilters`` gives (the proof the block scanner relies on)."""
    import string

    alnum = string.ascii_letters + string.digits
    known = KnownValues({"v": alnum + alnum[::-1]})
    pre = known.prefilters()

    def held(spelled: str) -> bool:
        data = spelled.encode()
        return any((lit.lower() in data.lower()) if caseless else (lit in data) for lit, caseless in pre)

    for c in alnum:
        o = ord(c)
        for zeros in range(9):
            z = "0" * zeros
            for end in (";", "", "-"):
                for spelled in (f"&#{z}{o}{end}", f"&#x{z}{o:x}{end}", f"&#X{z}{o:X}{end}"):
                    assert held(spelled), spelled


@pytest.mark.parametrize(("before", "value"), [
    ("&#\\", "u00312345QxZ9Lm0pTr7vWy3k"),  # \u0031 is "1": the reference &#12345 takes 9 of its characters
    ("&#", "0000065QxZ9Lm0pTr7vWy3k"),  # &#0000065 ("A") takes 7
    ("&#x", "0010abcGxZ9Lm0pTr7vWy3k"),  # &#x0010abc takes 7
    ("&#%", "2523QxZ9Lm0pTr7vWy3k12"),  # %2523 is "#": &# then "#", no reference; the decoded text is used
])
def test_a_needle_whose_opening_a_reference_without_semicolon_takes_is_still_found(before: str, value: str) -> None:
    """A reference without ";" ends at its last digit, so it runs on into a value's opening written raw after it,
    and may take more of it than the 6 characters the decoded-tail shortcut allows for (``_TAIL_SKIP``): the value,
    there as it is, is found all the same."""
    text = "k=" + before + value + " end"
    assert [h.name for h in KnownValues({"v": value}).find(text)] == ["v"]


def test_references_without_semicolon_written_short_are_decoded() -> None:
    """The shortcut still holds for such text as an encoder writes it (a pattern is compiled only where the decoded
    text holds a needle's tail): references of up to six characters after the "#"."""
    from pytest_auditready.scan.known import _decoded as decoded_for_tail

    assert decoded_for_tail("\\u0026#90\\u0026#113&#0056&#x0072%26#x054;") == "Zq8rT"
    assert decoded_for_tail("&#x00005a") is None  # seven: it could take seven characters of a needle after "&#x"


_SAFE = "0123456789abcdefABCDEFuxXZz+/=_-.~:"
_OPENINGS = ["", "&#", "&#x", "&#0", "&#00000000", "\\u0026#", "%26#", "&#x0000000", "\\", "\\u00", "%", "%25",
             "1", "a", ";", "\\u0031", "%31", "&#49", "&#\\", "&#%", "&#%25", "&#x\\"]


def _spell(c: str, k: int) -> str:
    o = ord(c)
    amp = ["&", "\\u0026", "%26"][k % 3]
    ways = [c, f"{amp}#{o};", f"{amp}#0{o};", f"{amp}#{'0' * 8}{o};", f"{amp}#x{o:04x};", f"{amp}#X{o:X};",
            f"{amp}#{o}", f"{amp}#x{o:x}", f"{amp}#000{o}", f"{amp}#x00{o:X}"]
    return ways[k % len(ways)]


@settings(max_examples=30, deadline=None)
@given(
    value=st.text(_SAFE, min_size=16, max_size=24),
    choices=st.lists(st.integers(0, 60), min_size=1, max_size=30),
    before=st.sampled_from(_OPENINGS),
    after=st.sampled_from(_OPENINGS),
    cut=st.one_of(st.just(0), st.integers(1, 8)),
)
def test_the_shortcuts_agree_with_running_every_pattern(value: str, choices: list[int], before: str, after: str,
                                                        cut: int) -> None:
    """The value, its characters spelled with references zero padded or without ";" (where an HTML parser reads them
    so), an escape's opening or a digit before and after, its first characters cut off or not: ``find`` (its
    decoded-tail shortcut and its candidate keys) says what the judge without the shortcut says, and the block
    scanner's literals hold every line ``find`` finds the value on."""
    spelled = []
    for i, c in enumerate(value[cut:]):
        s = _spell(c, choices[i % len(choices)])
        nxt = value[cut:][i + 1 : i + 2]
        if "&" in s or "%26" in s or "\\" in s:
            if not s.endswith(";") and nxt and (nxt.isdigit() or ("#x" in s.lower() and nxt in "abcdefABCDEF")):
                s += ";"  # what an encoder writes there: without it the parser reads another number
        spelled.append(s)
    text = before + "".join(spelled) + after
    known = KnownValues({"v": value})
    reference = KnownValues({"v": value})
    for n in reference._needles:
        n.tail = None
    got = known.find(text)
    assert got == reference.find(text)
    if value in _decoded(text):  # there, as a reader decodes the text: found
        assert [h.name for h in got] == ["v"], text
    if got:
        data = text.encode()
        pre = known.prefilters()
        unanchored = known.unanchored()
        assert any((lit.lower() in data.lower()) if caseless else (lit in data) for lit, caseless in pre) or (
            unanchored is not None and unanchored.search(data) is not None), text
