"""The judge's decoded-tail shortcut (``KnownValues.find``, ``_Needle.tail``) skips no needle its pattern finds.

``find`` compiles and runs a needle's pattern only where the text, with its escape tokens decoded, holds the
needle's tail. The patterns read a character written raw, as a JSON ``\\uXXXX`` or ``\\/`` at any depth, URL-encoded
once to three times, or as an HTML reference whose "&" is itself raw, JSON-escaped or URL-encoded. The cases that
could break the shortcut are tokens begun before the needle (``%`` then a needle opening "2541…", ``\\u00`` then
"41…") and long zero-padded references: each property below puts them around and inside spellings and requires
``find`` to agree with running every pattern everywhere. In a text of no escape token a needle can only be
itself, and ``find`` looks for it without a pattern: it must give what the patterns give, encodings and order too."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_auditready.scan.known import _LINE_BREAK, KnownHit, KnownValues, _decoded

# Characters a tail may hold, digits and hex letters above all (what an escape token is made of).
_SAFE = "0123456789abcdefABCDEFuUxXZz+/=_-.~:"
# Openings of escape tokens, left before or after a spelling.
_OPENINGS = ["", "%", "%2", "%25", "%252", "%2525", "\\", "\\\\", "\\u", "\\u0", "\\u00", "\\u004", "\\U00", "&",
             "&#", "&#x", "&#0", "&#00000000", "\\u0026#", "%26#", "&#x0000000", "#", ";", "&l", "&lt"]


def _spell(c: str, k: int) -> str:
    """The k-th of the ways the patterns read ``c`` (raw, JSON, URL, HTML and their mixtures)."""
    o = ord(c)
    amps = ["&", "\\u0026", "%26", "\\\\u0026"]
    ways = [c, f"\\u{o:04x}", f"\\u{o:04X}", f"\\\\\\u{o:04x}", f"%{o:02x}", f"%{o:02X}", f"%25{o:02x}",
            f"%2525{o:02X}"]
    ways += [f"{a}#{o};" for a in amps] + [f"{a}#x{o:02x};" for a in amps] + [f"&#X{o:02X};"]
    if not c.isalnum():
        ways += [f"&#{o:09d};", f"&#0{o};", f"&#x{o:08x};"]  # zero padded: only a character that is no letter
    if c == "/":
        ways += ["\\/", "\\\\/"]
    return ways[k % len(ways)]


def _spelled(text: str, choices: list[int]) -> str:
    return "".join(_spell(c, choices[i % len(choices)]) for i, c in enumerate(text))


def _without_shortcut(value: str) -> KnownValues:
    """The judge as it was before the shortcut: every needle's pattern runs wherever its anchor or an escape token
    of one of its letters is (the reference ``find`` must agree with, labels and order too)."""
    known = KnownValues({"v": value})
    for n in known._needles:
        n.tail = None
    return known


def _everywhere(known: KnownValues, text: str) -> set[str]:
    """The oracle: names whose needles' patterns match the text, or the text joined at line breaks."""
    joined = _LINE_BREAK.sub("", text)
    return {n.name for n in known._needles if n.regex.search(text) or n.regex.search(joined)}


@settings(max_examples=50, deadline=None)
@given(
    value=st.text(_SAFE, min_size=16, max_size=28),
    which=st.integers(0, 40),
    choices=st.lists(st.integers(0, 40), min_size=1, max_size=60),
    before=st.sampled_from(_OPENINGS),
    after=st.sampled_from(_OPENINGS),
    cut=st.one_of(st.just(0), st.integers(1, 8)),
)
def test_the_tail_shortcut_finds_every_spelling(value, which, choices, before, after, cut):
    """A needle of the value (itself, its base64, base32 or hex), each character spelled some way, with an escape
    token's opening before and after: its own pattern matches the text, and ``find`` finds it. With its first
    characters cut off (so an opening before may join what is left), ``find`` says what running every pattern
    everywhere says, and what the judge without the shortcut says."""
    known = KnownValues({"v": value})
    needle = known._needles[which % len(known._needles)]
    text = before + _spelled(needle.text[cut:], choices) + after
    if cut == 0:
        assert needle.regex.search(text)
        assert [h.name for h in known.find(text)] == ["v"]
    else:
        assert {h.name for h in known.find(text)} == _everywhere(known, text)
        assert known.find(text) == _without_shortcut(value).find(text)


@settings(max_examples=75, deadline=None)
@given(
    value=st.text(_SAFE, min_size=16, max_size=24),
    picks=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60), st.integers(1, 60)), min_size=1, max_size=6),
    noise=st.text(_SAFE + " ", max_size=8),
)
def test_a_text_without_escape_tokens_is_judged_as_before(value, picks, noise):
    """A text of no escape token (the common case: a needle can then only be itself, found without a pattern):
    pieces and wholes of the value's needles, in any case, with noise between. ``find`` gives what the patterns
    give: the same names, encodings and order."""
    known = KnownValues({"v": value})
    pieces = []
    for which, start, length in picks:
        text = known._needles[which % len(known._needles)].text
        piece = text if length > 50 else text[start % len(text):][:length]
        pieces.append(piece.lower() if start % 7 == 0 else piece)
    text = noise.join(pieces)
    assert known.find(text) == _without_shortcut(value).find(text)


@settings(max_examples=75, deadline=None)
@given(value=st.text(_SAFE, min_size=16, max_size=28),
       noise=st.text(_SAFE + "%\\&#;", max_size=12),
       choices=st.lists(st.integers(0, 40), min_size=1, max_size=28))
def test_a_spelling_inside_noise_of_token_characters(value, noise, choices):
    """Noise made of the characters tokens are made of, on both sides of a spelling of the raw value."""
    text = noise + _spelled(value, choices) + noise[::-1]
    known = KnownValues({"v": value})
    assert known._needles[0].text == value and known._needles[0].regex.search(text)
    assert [h.name for h in known.find(text)] == ["v"]


@pytest.mark.parametrize(("before", "needle_head"), [
    ("%", "2541"), ("%2", "541"), ("%25", "41"), ("\\", "u0041"), ("\\u", "0041"), ("\\u00", "41"),
    ("%", "252541"), ("\\\\", "u0041"),
])
def test_a_needle_whose_opening_an_earlier_token_takes_is_still_found(before, needle_head):
    """The text decodes ``before`` + the needle's first characters to one character: the tail is what is left."""
    value = needle_head + "QxZ9Lm0pTr7vWy3k"
    text = "k=" + before + value + " end"
    assert _decoded(text) is not None and value not in _decoded(text)  # the token took the opening
    assert [h.name for h in KnownValues({"v": value}).find(text)] == ["v"]


def test_a_value_inside_a_long_reference_is_found() -> None:
    """Digits long enough to be a tail, inside a reference too long to decode: the text is not decoded, and every
    pattern its anchor allows runs."""
    value = "0000000000000043"
    text = f"x=&#{value};"
    assert _decoded(text) is None
    assert [h.name for h in KnownValues({"v": value}).find(text)] == ["v"]


def test_escapes_that_hide_nothing_compile_no_pattern() -> None:
    """What the shortcut is for: a line with every character of another value escaped (letters written as
    \\u escapes put every needle's letters in reach) compiles the pattern of no needle of a value it lacks."""
    values = {f"c{i}": base64.b64encode(bytes([i]) * 30).decode() for i in range(20)}
    known = KnownValues(values)
    other = "".join(f"\\u{ord(c):04x}" for c in "AnotherValueEntirely0123456789")
    assert known.find(f'{{"data":"{other}"}}') == []
    assert not any(n._regex is not None for n in known._needles)
    spelled = "".join(f"\\u{ord(c):04x}" for c in values["c7"])
    assert [h.name for h in known.find(f'{{"data":"{spelled}"}}')] == ["c7"]
    assert sum(n._regex is not None for n in known._needles) < len(known._needles) // 10


def test_a_value_found_as_itself_is_not_found_again_as_wrapped() -> None:
    """A JSON-escaped line break inside a second copy: the text joined at line breaks has no escape token, and its
    copy, found without a pattern, is the one already found, not a second finding "+line-wrapped"."""
    value = "QxZ9Lm0pTr7vWy3kAb12Cd34"
    text = f"first {value} then {value[:10]}\\n{value[10:]}"
    assert KnownValues({"v": value}).find(text) == _without_shortcut(value).find(text) == [KnownHit("v", "raw")]
    wrapped_only = f"only {value[:10]}\\n{value[10:]}"
    assert KnownValues({"v": value}).find(wrapped_only) == [KnownHit("v", "raw+line-wrapped")]
