"""A checker that passes a bad log is worse than none: false passes hunted by mutation, on Vault/OpenBao logs.

The templates are correct logs we did not write: real OpenBao output (fixtures/openbao, odd, unseen) and HashiCorp
Vault 1.10 to 1.21, Community and Enterprise, each in its own key order (fixtures/vault/unseen), and, once, a fresh
OpenBao server's log. Into a copy of a template, many independent defects are planted at once, each at its own line
(spread out, at most as many of one kind as a check shows by line, so that none masks another); ``auditready
verify``'s engine (run in-process as tests/test_unseen_hashicorp.py runs it) must report each AT ITS LINE by the
check whose contract covers it, and nothing at a line that was not planted. Changes that keep the entries' meaning
(keys reordered, lowercase ``t``/``z``, ``\\u`` escapes of plain ASCII in keys and values, another RFC 3339 offset
for the same instant, unknown keys a newer version adds) must give no finding at all.

Seeds: SEEDS, widened by AUDITREADY_FUZZ_SEEDS ("1,2,3" or a count "20").

What the harness deliberately does not plant, and why (each is honestly undetectable from one unsealed log, or no
defect by the contract):

- a whole request/response pair deleted, or two unrelated entries swapped within max_skew: every remaining line is a
  correct entry in a possible order (concurrent requests interleave); only a seal (tamper_evidence) proves it;
- a pair broken within completeness_window of the log's first or last time: a request in flight when the log ends
  and a response whose request is in the previous file look the same (completeness excuses them by that rule), so
  broken pairs are planted in the middle of a long log (``_long``) built from the template;
- one of display_name, entity_id and accessor removed, emptied or set to null while another stays: the contract's
  identity is any of them; a number, object or array in their place is planted (a hop's rewrite: no part of who);
- an identity field rewritten on a login's entries (auth/<method>/login, oidc callback) or on an endpoint the vault
  serves without a token (sys/internal/ui/mounts, ...): required_fields excuses identity there by a positive rule
  (a failed login, an anonymous caller, has no one to name);
- ``policy_results.allowed`` flipped to true while "permission denied" stays: Vault writes that pair when a backend
  (not the ACL) refuses, so it is a possible entry; the error, the evidence of the denial, is still there;
- an error removed from a response whose data still carries its HMAC'd ``data.error`` (a failed login writes only
  that): the result stays an error, with its reason digested;
- a time trimmed to 3 to 8 digits in a 9-digit source: it meets timestamp_digits (3), and Go trims to fewer digits by
  chance; shorter than timestamp_digits is planted (and judged by its odds, see timestamp_precision);
- request.client_token_accessor dropped alone: the entry is still tied to its token by request.client_token and
  auth.accessor; an accessor in clear text: hmac_accessor=false writes it so;
- a data value's digest emptied: no source or document of Vault says the vault never writes an empty value;
- a canary hex-then-base64'd, compressed, reversed or upper-cased, or split across two fields: none of the encodings
  the contract names (detect-secrets may still find high-entropy text); base64 of base64 is found
  (tests/test_double_base64.py);
- a time moved forward past max_skew: the entry after it is the one that goes back; the finding is at that line and
  names the planted line (``_named``), which is what one log can say;
- a response timed before its own request by less than max_skew: the contract's "response not before request" is
  judged on a live run's matched pairs; offline, timestamp_accuracy does not pair entries (completeness does);
- a URL-encoded canary whose % signs and hex digits are \\u-escaped too (two layers of escaping no encoder writes).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import random
import re
import string
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest

from pytest_auditready.checks.base import FAILED
from pytest_auditready.checks.required_fields import _MOUNT_UNAUTHENTICATED_RE, _UNAUTHENTICATED_RE
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import read_canaries, verify_file
from tests.test_unseen_cry_wolf import B62, _rand
from tests.test_unseen_hashicorp import CONTENT, OFFLINE, _write

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
TEMPLATES: dict[str, tuple[str, str]] = {
    **{f"vault-{p.stem}": (f"vault/unseen/{p.name}", "vault/unseen/canaries.txt")
       for p in sorted((ROOT / "vault" / "unseen").glob("*.log"))},
    "openbao-clean": ("openbao/clean.log", "openbao/canaries.txt"),
    "openbao-odd": ("openbao/odd/correct.log", "openbao/canaries.txt"),
    # (odd/correct-accessors-in-clear.log is no template: its hmac_accessor=false is a finding at every line with a
    # token, tests/test_unseen_digests.py)
    "openbao-oidc": ("openbao/unseen/oidc-login.log", "openbao/canaries.txt"),
}


def _seeds() -> list[int]:
    extra = os.environ.get("AUDITREADY_FUZZ_SEEDS", "").strip()
    if not extra:
        return [1]
    if extra.isdigit():
        return list(range(1, int(extra) + 1))
    return [int(s) for s in extra.split(",") if s.strip()]


SEEDS = _seeds()
Entry = dict[str, Any]
Lines = list[bytes]


@dataclass
class Outcome:
    """What verify said: per check, (line or 0, message, fix) of each finding."""

    found: dict[str, list[tuple[int, str, str]]]

    def lines(self, check: str) -> set[int]:
        return {n for n, _, _ in self.found.get(check, [])}


def _verify(path: Path, canaries: dict[str, str]) -> Outcome:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, canaries)
    found: dict[str, list[tuple[int, str, str]]] = {}
    for o in res.outcomes:
        if o.check_id in CONTENT and o.status == FAILED:
            for f in o.findings:
                m = re.search(r":(\d+)\Z", f.where or "")
                found.setdefault(o.check_id, []).append((int(m.group(1)) if m else 0, f.message, f.fix))
    return Outcome(found)


def _template(name: str) -> tuple[list[bytes], dict[str, str]]:
    rel, canaries = TEMPLATES[name]
    return (ROOT / rel).read_bytes().splitlines(), read_canaries(str(ROOT / canaries))


def _dump(d: Entry) -> bytes:
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()


# -- planting -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plant:
    """One defect: where it applies, the line(s) it makes of an entry, and the check that must report it there.
    ``edit`` changes the decoded entry (and returns None) or returns the raw lines to write instead."""

    name: str
    check: str
    applies: Callable[[Entry], bool]
    edit: Callable[[Entry, random.Random], Optional[Lines]]


def _place(lines: list[bytes], plants: list[Plant], rng: random.Random,
           gap: int = 2) -> tuple[Lines, list[tuple[Plant, int]], list[Plant]]:
    """``lines`` with each of ``plants`` that finds room at a line it applies to (at least ``gap`` lines from any
    other planted line), (plant, the line number it must be reported at) for each, and the plants left over."""
    entries = [json.loads(ln) for ln in lines]
    taken: dict[int, Plant] = {}
    left: list[Plant] = []
    for plant in plants:
        free = [i for i, e in enumerate(entries) if plant.applies(e) and all(abs(i - j) > gap for j in taken)]
        if not free:
            assert any(plant.applies(e) for e in entries), f"no line for {plant.name}"
            left.append(plant)
            continue
        taken[rng.choice(free)] = plant
    out: Lines = []
    where: list[tuple[Plant, int]] = []
    for i, raw in enumerate(lines):
        plant = taken.get(i)
        if plant is None:
            out.append(raw)
            continue
        d = json.loads(raw)
        made = plant.edit(d, rng)
        where.append((plant, len(out) + 1))
        out.extend([_dump(d)] if made is None else made)
    return out, where, left


def _run(tmp_path: Path, name: str, plants: list[Plant], rng: random.Random, gap: int = 2,
         canaries: Optional[dict[str, str]] = None) -> tuple[Outcome, list[tuple[Plant, int]], list[Plant]]:
    lines, known = _template(name)
    out, where, left = _place(lines, plants, rng, gap)
    path = tmp_path / f"{name}-planted.log"
    path.write_bytes(b"".join(ln + b"\n" for ln in out))
    path.chmod(0o600)
    return _verify(path, {**known, **(canaries or {})}), where, left


def _every(tmp_path: Path, name: str, plants: list[Plant], size: int, rng: random.Random, exact: tuple[str, ...],
           gap: int = 2, canaries: Optional[dict[str, str]] = None) -> int:
    """Plant ``plants`` into copies of the template, ``size`` a copy (those that find no room go into the next),
    and require each caught at its line (``_assert_caught``); the number of copies verified."""
    todo = list(plants)
    rng.shuffle(todo)
    runs = 0
    while todo:
        outcome, where, left = _run(tmp_path, name, todo[:size], rng, gap, canaries)
        assert where, f"no room for {[p.name for p in todo[:size]]}"
        _assert_caught(outcome, where, exact)
        todo = left + todo[size:]
        runs += 1
    return runs


def _assert_caught(outcome: Outcome, where: list[tuple[Plant, int]], exact: tuple[str, ...]) -> None:
    """Each plant reported at its line by its check; the ``exact`` checks report no other line."""
    missed = [(p.name, n, p.check) for p, n in where if n not in outcome.lines(p.check)]
    assert not missed, (missed, outcome.found)
    for check in exact:
        planted = {n for p, n in where}
        extra = outcome.lines(check) - planted
        assert not extra, (check, extra, outcome.found)


def _get(d: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return KeyError
        d = d[k]
    return d


def _has(*path: str) -> Callable[[Entry], bool]:
    def pred(d: Entry) -> bool:
        v = _get(d, path)
        return isinstance(v, str) and bool(v.strip())
    return pred


_GONE = object()
_BAD_VALUES: dict[str, Any] = {"removed": _GONE, "empty": "", "null": None, "a number": 7, "an object": {"v": "x"},
                               "an array": ["x"], "blank": " "}


def _put(path: tuple[str, ...], value: Any) -> Callable[[Entry, random.Random], None]:
    def edit(d: Entry, rng: random.Random) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        if value is _GONE:
            node.pop(path[-1])
        else:
            node[path[-1]] = json.loads(json.dumps(value))
    return edit


_LOGIN = re.compile(r"auth/.+/(?:login(?:/[^/]+)?|oidc/(?:auth_url|callback))\Z")


def _not_login(d: Entry) -> bool:
    """Not a login's entry, nor one on an endpoint the vault serves without a token (their identity is excused)."""
    path = str(_get(d, ("request", "path")))
    kind = _get(d, ("request", "mount_type"))
    public_mount = _MOUNT_UNAUTHENTICATED_RE.match(path) and (not isinstance(kind, str) or kind in ("", "pki", "ssh"))
    return not _LOGIN.match(path) and not _UNAUTHENTICATED_RE.match(path) and not public_mount


def _all(*preds: Callable[[Entry], bool]) -> Callable[[Entry], bool]:
    return lambda d: all(p(d) for p in preds)


def _denied(d: Entry) -> bool:
    return _get(d, ("auth", "policy_results", "allowed")) is False and _has("error")(d)


def _self_test(d: Entry) -> bool:
    return _get(d, ("request", "path")) == "sys/audit/test" or str(_get(d, ("request", "id"))).startswith("dev-")


def _ordinary(d: Entry) -> bool:
    """An entry no excuse rule covers: made with a token, from a client, not a login."""
    return (_has("auth", "display_name")(d) and _has("request", "remote_address")(d) and _has("request", "id")(d)
            and _not_login(d) and not _self_test(d))


def _fields() -> list[Plant]:
    """Every required field removed, emptied, nulled, blanked or given another JSON type (required_fields)."""
    out = []
    for label, path in (("request.path", ("request", "path")), ("request.operation", ("request", "operation")),
                        ("request.remote_address", ("request", "remote_address")),
                        ("request.id", ("request", "id")), ("type", ("type",))):
        for how, value in _BAD_VALUES.items():
            out.append(Plant(f"{label} {how}", "required_fields", _ordinary, _put(path, value)))
    for how in ("a number", "an object", "an array"):
        for label in ("display_name", "entity_id"):
            out.append(Plant(f"auth.{label} {how}", "required_fields", _all(_ordinary, _has("auth", label)),
                             _put(("auth", label), _BAD_VALUES[how])))
    for how in ("removed", "empty", "blank", "null", "a number"):
        out.append(Plant(f"a denied entry's error {how}", "required_fields", _denied, _put(("error",), _BAD_VALUES[how])))
    out.append(Plant("the type another word", "required_fields", _ordinary, _put(("type",), "audit")))
    return out


def _tokens() -> list[Plant]:
    """The caller's token digests taken out, alone or with their accessor (integrity_digest)."""
    out = []
    made_with_token = _all(_ordinary, _has("auth", "client_token"), _has("request", "client_token"))
    for how, value in _BAD_VALUES.items():
        if how == "blank":
            continue  # a blank token is a token in clear: the raw-token class below
        out.append(Plant(f"request.client_token {how} (auth's kept)", "integrity_digest", made_with_token,
                         _put(("request", "client_token"), value)))
        out.append(Plant(f"auth.client_token {how}", "integrity_digest", made_with_token,
                         _put(("auth", "client_token"), value)))
        out.append(Plant(f"auth.accessor {how}", "integrity_digest",
                         _all(made_with_token, _has("auth", "accessor"), _has("request", "client_token_accessor")),
                         _put(("auth", "accessor"), value)))
    return out


def _digest_paths(d: Entry) -> list[tuple[Union[str, int], ...]]:
    out: list[tuple[Union[str, int], ...]] = []

    def walk(o: Any, path: tuple[Union[str, int], ...]) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, (*path, k))
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, (*path, i))
        elif isinstance(o, str) and re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", o):
            out.append(path)

    walk(d, ())
    return out


def _redigest(change: Callable[[str, random.Random], str]) -> Callable[[Entry, random.Random], None]:
    def edit(d: Entry, rng: random.Random) -> None:
        path = rng.choice(_digest_paths(d))
        node: Any = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = change(node[path[-1]], rng)
    return edit


def _malformed() -> list[Plant]:
    """A digest (any HMAC'd value) no longer 'hmac-sha256:' + 64 lowercase hex digits (integrity_digest)."""
    has = lambda d: bool(_digest_paths(d)) and not _self_test(d)  # noqa: E731
    return [
        Plant("a digest truncated", "integrity_digest", has, _redigest(lambda v, r: v[: r.randint(13, 75)])),
        Plant("a digest upper-cased", "integrity_digest", has, _redigest(lambda v, r: v[:12] + v[12:].upper())),
        Plant("a digest one digit longer", "integrity_digest", has, _redigest(lambda v, r: v + "0")),
        Plant("a digest of no hex", "integrity_digest", has, _redigest(lambda v, r: v[:12] + _rand(r, 64, "ghijkz"))),
        Plant("the digest prefix alone", "integrity_digest", has, _redigest(lambda v, r: "hmac-sha256:")),
    ]


def _raw_token(key: str) -> Callable[[Entry, random.Random], None]:
    def edit(d: Entry, rng: random.Random) -> None:
        token = rng.choice(["hvs.", "s.", "b.", ""]) + _rand(rng, rng.randint(24, 90), B62)
        if key == "both":
            d["auth"]["client_token"] = d["request"]["client_token"] = token
        elif key == "blank":
            d["request"]["client_token"] = " "
        else:
            d[key]["client_token"] = token
    return edit


def _raw() -> list[Plant]:
    """A token the vault always digests written in clear, or replaced by another prefix (integrity_digest)."""
    with_token = _all(_ordinary, _has("auth", "client_token"), _has("request", "client_token"))
    return [Plant(f"a token in clear in {k}", "integrity_digest", with_token, _raw_token(k))
            for k in ("both", "auth", "request", "blank")] + [
        Plant("the token digest under another prefix", "integrity_digest", with_token,
              _put(("request", "client_token"), "sha256:" + "ab" * 32)),
    ]


# -- times ---------------------------------------------------------------------------------------------------------

_T = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z\Z")


def _shift(text: str, seconds: float) -> str:
    m = _T.match(text)
    assert m is not None, text
    t = datetime.datetime.strptime(f"{m.group(1)}T{m.group(2)}", "%Y-%m-%dT%H:%M:%S")
    t += datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (m.group(3) or "") + "Z"


def _retime(change: Callable[[str, random.Random], Any]) -> Callable[[Entry, random.Random], None]:
    def edit(d: Entry, rng: random.Random) -> None:
        value = change(d["time"], rng)
        if value is _GONE:
            d.pop("time")
        else:
            d["time"] = value
    return edit


def _nano(d: Entry) -> bool:
    return bool(_T.match(str(d.get("time")))) and not _self_test(d)


def _precision() -> list[Plant]:
    """A time that is no RFC 3339 time with an offset, or without the sub-second digits (timestamp_precision)."""
    return [Plant(n, "timestamp_precision", _nano, _retime(f)) for n, f in (
        ("the time removed", lambda t, r: _GONE),
        ("the time a number", lambda t, r: 1772614800),
        ("the time an object", lambda t, r: {"t": t}),
        ("the time null", lambda t, r: None),
        ("the time unparseable", lambda t, r: "yesterday at noon"),
        ("the zone dropped", lambda t, r: t[:-1]),
        ("a space for T and no zone", lambda t, r: t[:-1].replace("T", " ")),
        ("another day format", lambda t, r: f"{t[8:10]}/{t[5:7]}/{t[:4]} {t[11:]}"),
        ("the day without dashes", lambda t, r: t[:10].replace("-", "") + t[10:]),
        ("the fraction removed", lambda t, r: t.split(".")[0] + "Z"),
        ("a single fraction digit", lambda t, r: t.split(".")[0] + ".5Z"),
        ("a 25th hour", lambda t, r: t[:11] + "25" + t[13:]),
        ("a 13th month", lambda t, r: t[:5] + "13" + t[7:]),
        ("an offset without its colon", lambda t, r: t[:-1] + "+0000"),
    )]


# -- canaries ------------------------------------------------------------------------------------------------------

def _b64(v: str, alt: bytes = b"+/", pad: bool = True) -> str:
    text = base64.b64encode(v.encode(), altchars=alt).decode()
    return text if pad else text.rstrip("=")


ENCODINGS: dict[str, Callable[[str], str]] = {
    "clear": lambda c: c,
    "clear inside text": lambda c: f"password={c}; retry",
    "base64": _b64,
    "base64 unpadded": lambda c: _b64(c, pad=False),
    "base64 URL-safe": lambda c: _b64(c, b"-_"),
    "base64 URL-safe unpadded": lambda c: _b64(c, b"-_", False),
    "base64 at an offset": lambda c: _b64("x" + c),
    "base64 of a JSON body": lambda c: _b64(json.dumps({"password": c, "user": "app"})),
    "hex": lambda c: c.encode().hex(),
    "HEX": lambda c: c.encode().hex().upper(),
    "URL-encoded": lambda c: urllib.parse.quote(c, safe=""),
    "URL-encoded in a query": lambda c: "/v1/secret/data/app?token=" + urllib.parse.quote(c, safe="") + "&v=2",
    "every byte percent-encoded": lambda c: "".join(f"%{b:02X}" for b in c.encode()),
}
_ESCAPED = "\x00ESC\x00"  # replaced by the value \u-escaped in the line's text


def _strings(d: Any, path: tuple[Union[str, int], ...] = ()) -> list[tuple[Union[str, int], ...]]:
    if isinstance(d, dict):
        return [p for k, v in d.items() for p in _strings(v, (*path, k))]
    if isinstance(d, list):
        return [p for i, v in enumerate(d) for p in _strings(v, (*path, i))]
    return [path] if isinstance(d, str) else []


def _canary_plant(encoding: str, value: str, go: bool = False) -> Plant:
    """``value`` written, in ``encoding``, into a string field of the entry (any but its time), or as a new key of
    request.data; ``go``: JSON-escaped as Go's encoder writes & < > (or, with ``\\uXXXX`` for every character)."""

    def edit(d: Entry, rng: random.Random) -> Optional[Lines]:
        paths = [p for p in _strings(d) if p[0] != "time"]
        text = ENCODINGS[encoding](value)
        if rng.random() < 0.2 or not paths:
            d.setdefault("request", {}).setdefault("data", {})["note"] = _ESCAPED
        else:
            path = rng.choice(paths)
            node: Any = d
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = _ESCAPED
        if go and encoding == "clear":
            esc = json.dumps(text)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        elif go:  # every character as \\u, but a %XX of URL-encoding (no encoder escapes it twice over)
            esc = "".join(part if part.startswith("%") else "".join(f"\\u{ord(ch):04x}" for ch in part)
                          for part in re.split(r"(%[0-9A-Fa-f]{2})", text))
        else:
            esc = json.dumps(text)[1:-1]
        return [_dump(d).replace(_ESCAPED.encode().replace(b"\x00", b"\\u0000"), esc.encode())]

    return Plant(f"a canary ({encoding}{', JSON-escaped' if go else ''})", "no_secret_leak", _ordinary, edit)


# -- lines ---------------------------------------------------------------------------------------------------------

def _line(change: Callable[[bytes, random.Random], Lines]) -> Callable[[Entry, random.Random], Lines]:
    return lambda d, rng: change(_dump(d), rng)


LINE_PLANTS = [
    Plant("the line truncated mid-JSON", "required_fields", _ordinary,
          _line(lambda b, r: [b[: r.randint(1, len(b) - 2)]])),
    Plant("a NUL byte inserted", "required_fields", _ordinary,
          _line(lambda b, r: [b[:40] + b"\x00" + b[40:]])),
    Plant("an invalid UTF-8 byte inserted", "required_fields", _ordinary,
          _line(lambda b, r: [b[: len(b) // 2] + b"\xff" + b[len(b) // 2 :]])),
    Plant("the line split in two", "required_fields", _ordinary,
          _line(lambda b, r: [b[: len(b) // 3], b[len(b) // 3 :]])),
    Plant("the line joined with a copy of itself", "required_fields", _ordinary, _line(lambda b, r: [b + b])),
    Plant("the line's closing brace lost", "required_fields", _ordinary, _line(lambda b, r: [b[:-1]])),
    Plant("the line wrapped in an array", "required_fields", _ordinary, _line(lambda b, r: [b"[" + b + b"]"])),
]


# -- the tests -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_templates_give_no_finding(tmp_path: Path, name: str) -> None:
    lines, known = _template(name)
    path = tmp_path / "t.log"
    path.write_bytes(b"".join(ln + b"\n" for ln in lines))
    path.chmod(0o600)
    assert _verify(path, known).found == {}


BIG = [n for n in sorted(TEMPLATES) if len(_template(n)[0]) >= 40]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", BIG)
def test_every_required_field_defect_is_caught_at_its_line(tmp_path: Path, name: str, seed: int) -> None:
    """Path, operation, source, request id and type removed, emptied, nulled, blanked or of another JSON type;
    display_name or entity_id of another type; a denied entry's error taken out: required_fields at the line."""
    rng = random.Random(f"fields/{name}/{seed}")
    plants = [p for p in _fields() if any(p.applies(json.loads(ln)) for ln in _template(name)[0])]
    _every(tmp_path, name, plants, 18, rng, ("required_fields",))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_token_digest_taken_out_is_caught_at_its_line(tmp_path: Path, name: str, seed: int) -> None:
    """The caller's token digest dropped from the request alone (auth's kept: a hop's field filter), from auth, or
    its accessor; emptied, nulled or of another type; a token in clear; malformed digests: integrity_digest."""
    rng = random.Random(f"tokens/{name}/{seed}")
    lines = _template(name)[0]
    plants = [p for p in _tokens() + _raw() + _malformed() if any(p.applies(json.loads(ln)) for ln in lines)]
    assert plants
    # integrity_digest shows 5 entries of each kind by line: at most 5 of a kind a run
    _every(tmp_path, name, plants, 5, rng, ("integrity_digest",))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_bad_time_is_caught_at_its_line(tmp_path: Path, name: str, seed: int) -> None:
    """A time removed, of another type, unparseable, without its zone, in another day format, out of range, or
    without the sub-second digits the vault writes: timestamp_precision at the line (3 a run: what it shows)."""
    rng = random.Random(f"times/{name}/{seed}")
    _every(tmp_path, name, _precision(), 3, rng, ("timestamp_precision",))


def _named(outcome: Outcome, check: str, line: int) -> bool:
    """Whether ``check`` reports ``line``, or names it in a finding at the line after (a time that jumped ahead)."""
    return line in outcome.lines(check) or any(n == line + 1 and f"(line {line})" in msg
                                               for n, msg, _ in outcome.found.get(check, []))


@pytest.mark.parametrize("name", BIG)
def test_a_time_moved_past_max_skew_is_caught_at_its_line(tmp_path: Path, name: str) -> None:
    """Back or forward well past max_skew (2 s; the templates' entries lie up to a few seconds apart, so a move of
    3 s may keep the order), an hour, a day, into the future, to 1970, another offset for another instant:
    timestamp_accuracy reports the line (it shows the first entry that goes back: one a run)."""
    rng = random.Random(f"accuracy/{name}")
    moves = {"back 30 s": lambda t, r: _shift(t, -30), "back an hour": lambda t, r: _shift(t, -3600),
             "forward 30 s": lambda t, r: _shift(t, 30), "forward a day": lambda t, r: _shift(t, 86400),
             "two years ahead": lambda t, r: _shift(t, 2 * 365 * 86400),
             "the same clock reading at +02:00": lambda t, r: t[:-1] + "+02:00",
             "back to 1970": lambda t, r: "1970-01-01T00:00:00.000000001Z"}
    for label, move in moves.items():
        plant = Plant(label, "timestamp_accuracy", _all(_nano, _ordinary), _retime(move))
        outcome, where, _ = _run(tmp_path, name, [plant], rng)
        (_, line), = where
        assert _named(outcome, "timestamp_accuracy", line), (label, outcome.found)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_canary_in_every_named_encoding_is_caught_at_its_line(tmp_path: Path, name: str, seed: int) -> None:
    """A fresh random canary (passed as the canaries option) a plant, in clear, base64 (standard, URL-safe, padded
    or not, at any offset), hex, URL-encoded or JSON-escaped as Go writes it or every character \\u-escaped, in
    any string field or a new key of request.data: no_secret_leak at the line."""
    rng = random.Random(f"canaries/{name}/{seed}")
    alphabet = string.ascii_letters + string.digits + "&<>/+=_-.~!*'()"
    plants, canaries = [], {}
    for enc in ENCODINGS:
        for go in (False, True):
            value = _rand(rng, rng.randint(32, 48), alphabet if go else B62)
            canaries[f"canary:{len(canaries) + 1}"] = value
            plants.append(_canary_plant(enc, value, go))
    _every(tmp_path, name, plants, 10, rng, ("no_secret_leak",), canaries=canaries)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_unreadable_line_is_caught_at_its_line(tmp_path: Path, name: str) -> None:
    """Truncated mid-JSON, a NUL or an invalid UTF-8 byte, split in two, joined with another, its brace lost,
    wrapped in an array: required_fields says that line is no readable entry."""
    rng = random.Random(f"lines/{name}")
    _every(tmp_path, name, LINE_PLANTS, len(LINE_PLANTS), rng, (), gap=3)


def _luhn(rng: random.Random, head: str, length: int) -> str:
    while True:
        n = head + "".join(rng.choice(string.digits) for _ in range(length - len(head)))
        total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if int(d) > 4 else 2 * int(d))
                    for i, d in enumerate(reversed(n)))
        if total % 10 == 0:
            return n


def _personal(what: str, where: str) -> Plant:
    """Personal data or a card number in clear where the vault writes text as sent: the request path (a secret
    named after a customer), the error text, a key of request.data (keys are never HMAC'd)."""

    def value(rng: random.Random) -> str:
        if what == "a card number":
            return _luhn(rng, *rng.choice([("4", 16), ("51", 16), ("37", 15)]))  # Visa, Mastercard, Amex
        if what == "a card number in groups":
            card = _luhn(rng, "4", 16)
            sep = rng.choice([" ", "-"])
            return sep.join(card[i : i + 4] for i in range(0, 16, 4))
        if what == "an IBAN":  # a German one (18 digits), its check digits by ISO 13616's mod 97
            bban = "".join(rng.choice(string.digits) for _ in range(18))
            return f"DE{98 - int(bban + '131400') % 97:02d}{bban}"
        if what == "a US SSN":
            return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        return f"{_rand(rng, 6, string.ascii_lowercase)}.{_rand(rng, 4, string.ascii_lowercase)}@example.org"

    def edit(d: Entry, rng: random.Random) -> None:
        v = value(rng)
        if where == "path":
            d["request"]["path"] = f"secret/data/customers/{v}/profile"
        elif where == "error":
            d["error"] = f"1 error occurred:\n\t* invalid value for {v}\n\n"
        else:
            d["request"].setdefault("data", {})[v] = "hmac-sha256:" + "0" * 64

    return Plant(f"{what} in {where}", "data_minimisation", _ordinary, edit)


PERSONAL = [_personal(w, p) for w in ("a card number", "a card number in groups", "an IBAN", "a US SSN",
                                      "an e-mail address") for p in ("path", "error", "data key")]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_personal_data_in_clear_is_caught_at_its_line(tmp_path: Path, name: str) -> None:
    """A card number (Luhn-valid, contiguous or grouped), an IBAN, an SSN or an e-mail address in a request path,
    an error text or a request.data key: data_minimisation at the line."""
    rng = random.Random(f"personal/{name}")
    _every(tmp_path, name, PERSONAL, 10, rng, ("data_minimisation",))


# -- pairs, in a long log ------------------------------------------------------------------------------------------

GAP = 300  # s between the copies of a template in a long log: more than completeness_window (120 s)


def _long(name: str, copies: int, rng: random.Random) -> Lines:
    """The template ``copies`` times, each GAP s after the one before, with fresh request ids (a request and its
    response keep sharing theirs): a log whose middle copies lie outside the windows of its first and last time."""
    out: Lines = []
    for c in range(copies):
        ids: dict[str, str] = {}
        for raw in _template(name)[0]:
            d = json.loads(raw)
            d["time"] = _shift(d["time"], c * GAP)
            rid = _get(d, ("request", "id"))
            if isinstance(rid, str) and rid and not rid.startswith("dev-"):
                d["request"]["id"] = ids.setdefault(rid, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            out.append(_dump(d))
    return out


def _pairs(lines: Lines, lo: int, hi: int) -> list[int]:
    """Indexes i in [lo, hi) where lines i and i+1 are one request's request and response entries."""
    ds = [json.loads(ln) for ln in lines]
    return [i for i in range(lo, min(hi, len(ds) - 1)) if ds[i]["type"] == "request" and ds[i + 1]["type"] == "response"
            and _get(ds[i], ("request", "id")) == _get(ds[i + 1], ("request", "id")) and _has("request", "id")(ds[i])]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_broken_pair_is_caught_at_its_line(tmp_path: Path, name: str) -> None:
    """In the middle copies of a long log, one defect a copy: a response deleted (the request's line), a request
    deleted (the response's line), an entry written twice (the copy's line), a request and its response swapped
    (the request's line, written after its response): completeness."""
    rng = random.Random(f"pairs/{name}")
    n = len(_template(name)[0])
    kinds = ["response deleted", "request deleted", "written twice", "swapped"]
    lines = _long(name, len(kinds) + 2, rng)
    expected: list[tuple[str, set[int]]] = []
    out: Lines = []
    cut = 0
    for k, kind in enumerate(kinds):  # copy k + 1 holds defect k
        i = rng.choice(_pairs(lines, (k + 1) * n, (k + 2) * n))
        out.extend(lines[cut:i])
        at = len(out) + 1
        if kind == "response deleted":
            out.append(lines[i])
            expected.append((kind, {at}))
        elif kind == "request deleted":
            out.append(lines[i + 1])
            expected.append((kind, {at}))
        elif kind == "written twice":
            out.extend([lines[i], lines[i + 1], lines[i + 1]])
            expected.append((kind, {at + 2}))
        else:  # one finding, at the request: the lines are out of order (red team rt48 F7)
            out.extend([lines[i + 1], lines[i]])
            expected.append((kind, {at + 1}))
        cut = i + 2
    out.extend(lines[cut:])
    path = _write(tmp_path, "long.log", [ln.decode() for ln in out])
    outcome = _verify(path, _template(name)[1])
    got = outcome.lines("completeness")
    assert all(want <= got for _, want in expected), (expected, outcome.found)
    assert got == set().union(*(w for _, w in expected)), (expected, outcome.found)
    unchanged = _write(tmp_path, "long-ok.log", [ln.decode() for ln in lines])
    assert _verify(unchanged, _template(name)[1]).found == {}


# -- what keeps the meaning gives nothing ---------------------------------------------------------------------------

def _shuffled(o: Any, rng: random.Random) -> Any:
    if isinstance(o, dict):
        items = list(o.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(o, list):
        return [_shuffled(v, rng) for v in o]
    return o


def _escaped(o: Any, rng: random.Random) -> str:
    """JSON text of ``o`` with about a third of the plain ASCII letters and digits of its keys and strings written
    as \\u escapes (the same JSON value)."""
    def text(s: str) -> str:
        return '"' + "".join(f"\\u{ord(c):04x}" if c.isascii() and c.isalnum() and rng.random() < 0.3
                             else json.dumps(c)[1:-1] for c in s) + '"'
    if isinstance(o, dict):
        return "{" + ",".join(text(k) + ":" + _escaped(v, rng) for k, v in o.items()) + "}"
    if isinstance(o, list):
        return "[" + ",".join(_escaped(v, rng) for v in o) + "]"
    return text(o) if isinstance(o, str) else json.dumps(o)


def _offset(t: str, rng: random.Random) -> str:
    """The same instant at another offset (+05:30, -08:00, +00:00)."""
    minutes = rng.choice([330, -480, 0, 60, -210])
    m = _T.match(t)
    if m is None:
        return t
    local = _shift(t, minutes * 60)[:-1]
    sign = "+" if minutes >= 0 else "-"
    return f"{local}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


KEEPERS: dict[str, Callable[[Entry, random.Random], str]] = {
    "keys reordered at every level": lambda d, r: json.dumps(_shuffled(d, r), separators=(",", ":")),
    "lowercase t and z": lambda d, r: json.dumps({**d, "time": str(d.get("time")).replace("T", "t").replace("Z", "z")},
                                                separators=(",", ":")),
    "plain ASCII as \\u escapes": lambda d, r: _escaped(d, r),
    "the same instant at another offset": lambda d, r: json.dumps({**d, "time": _offset(str(d.get("time")), r)}),
    "unknown keys a newer version adds": lambda d, r: json.dumps(
        {**d, "telemetry": {"span_id": _rand(r, 16, "0123456789abcdef"), "sampled": True},
         "request": {**d.get("request", {}), "mount_is_ephemeral": False, "client_cert_subject": "CN=app"},
         "auth": {**d.get("auth", {}), "token_policies_hash": 7}}, separators=(",", ":")),
}


@pytest.mark.parametrize("keeper", [*KEEPERS, "all of them"])
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_what_keeps_the_meaning_gives_no_finding(tmp_path: Path, name: str, keeper: str) -> None:
    """Each change on every other entry (and all of them on every entry): no finding. ``\\u`` escapes of plain
    ASCII gave integrity_digest findings before (a digest and a token digest read as malformed or in clear)."""
    rng = random.Random(f"keep/{name}/{keeper}")
    lines, known = _template(name)
    out = []
    for k, raw in enumerate(lines):
        d = json.loads(raw)
        if keeper == "all of them":
            for change in ("keys reordered at every level", "unknown keys a newer version adds",
                           "the same instant at another offset", "lowercase t and z"):
                d = json.loads(KEEPERS[change](d, rng))
            out.append(_escaped(d, rng))
        else:
            out.append(KEEPERS[keeper](d, rng) if k % 2 == 0 else raw.decode())
    path = _write(tmp_path, "kept.log", out)
    assert _verify(path, known).found == {}


# -- the fixes, one by one ------------------------------------------------------------------------------------------

def _both_ways(tmp_path: Path, planted: list[bytes], i: int) -> list[tuple[str, Path, int]]:
    """The planted log written twice: decoded whole, and read line by line (a bad first line makes its block so);
    with the line the defect at index ``i`` is then on."""
    out = []
    for label, text in (("decoded", planted), ("line by line", [b"{not json", *planted])):
        path = tmp_path / f"{label}.log"
        path.write_bytes(b"".join(ln + b"\n" for ln in text))
        path.chmod(0o600)
        out.append((label, path, i + 1 + (label == "line by line")))
    return out


def _first(lines: Lines, pred: Callable[[Entry], bool], start: int = 0) -> int:
    return next(i for i in range(start, len(lines)) if pred(json.loads(lines[i])))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_request_token_digest_dropped_alone_is_caught_in_both_readings(tmp_path: Path, name: str) -> None:
    """A hop that drops only request.client_token (auth.client_token kept) left the one-pass shape test whole and
    passed before, unless the line was flagged for another reason. Vault writes the caller's token digest in the
    request of every entry made with a token (audit/entry_formatter.go: ClientToken from the request; auth's from
    the same token), a login's response excepted (its auth names the token it issued, as response.auth does): now
    caught at its line, whether the block is decoded whole or read line by line (a bad line in it); a token
    creation's response, whose response.auth names another token, too."""
    lines, known = _template(name)
    made = _all(_ordinary, _has("auth", "client_token"), _has("request", "client_token"))
    i = _first(lines, made, 2)
    d = json.loads(lines[i])
    d["request"].pop("client_token")
    planted = [*lines[:i], _dump(d), *lines[i + 1 :]]
    for label, path, at in _both_ways(tmp_path, planted, i):
        outcome = _verify(path, known)
        assert outcome.lines("integrity_digest") == {at}, (label, outcome.found)
        (_, msg, _), = outcome.found["integrity_digest"]
        assert "request.client_token" in msg and "dropped by name" in msg, msg


def test_a_login_response_needs_no_request_token_a_token_creation_does(tmp_path: Path) -> None:
    """auth/token/create's response: auth names the caller's token, response.auth the new one; the request carried
    the caller's. Dropped, it is a finding (it passed before: a minted token excused any request)."""
    lines, known = _template("openbao-odd")
    i = _first(lines, lambda d: d["type"] == "response" and _get(d, ("request", "path")) == "auth/token/create"
               and isinstance(_get(d, ("response", "auth")), dict))
    d = json.loads(lines[i])
    assert d["auth"]["client_token"] != d["response"]["auth"]["client_token"]
    d["request"].pop("client_token")
    path = _write(tmp_path, "create.log", [ln.decode() for ln in [*lines[:i], _dump(d), *lines[i + 1 :]]])
    assert _verify(path, known).lines("integrity_digest") == {i + 1}


@pytest.mark.parametrize("name", ["vault-community-1.21", "openbao-clean"])
def test_a_help_request_without_its_id_names_the_vault_bug(tmp_path: Path, name: str) -> None:
    """Vault 1.20+ (hashicorp/vault#32026) and OpenBao before openbao/openbao#3440 write a help request (`vault
    path-help`, ?help=1: operation "help") with no request.id: required_fields reports it (true: it cannot be
    paired by id), and its fix names that bug; another entry without its id does not."""
    lines, known = _template(name)
    i = _first(lines, lambda d: _ordinary(d) and d["type"] == "request", 2)
    j = _first(lines, lambda d: _ordinary(d) and d["type"] == "request", i + 6)
    out = list(lines)
    for k in (i, i + 1):
        d = json.loads(out[k])
        if _get(d, ("request", "id")) == _get(json.loads(lines[i]), ("request", "id")):
            d["request"]["operation"] = "help"
            d["request"].pop("id")
            out[k] = _dump(d)
    d = json.loads(out[j])
    d["request"].pop("id")
    out[j] = _dump(d)
    path = _write(tmp_path, "help.log", [ln.decode() for ln in out])
    found = {n: fix for n, _, fix in _verify(path, known).found["required_fields"]}
    assert i + 1 in found and j + 1 in found, found
    assert "hashicorp/vault#32026" in found[i + 1] and "openbao/openbao#3439" in found[i + 1]
    assert "32026" not in found[j + 1]


# -- a fresh OpenBao server's log ----------------------------------------------------------------------------------

@pytest.mark.vault
def test_a_fresh_openbao_log_takes_the_same_plants(tmp_path: Path, bao: Any) -> None:
    """A log just written by a real OpenBao (writes, reads, a denied read, a token created and used): correct, no
    finding; then token digests taken out, required fields broken and malformed digests planted are each caught at
    their line."""
    from pytest_auditready.vault.client import VaultClient
    from tests.conftest import remember_secret

    server = bao()
    root = VaultClient(server.url, server.root_token, timeout=5)
    assert root.call("PUT", "sys/policy/reader", {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'}
                     ).status in (200, 204)
    r = root.call("POST", "auth/token/create", {"policies": ["reader"], "ttl": "10m"})
    user = root.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))
    for k in range(6):
        assert root.call("POST", f"secret/data/app/k{k}", {"data": {"v": f"value-{k}"}}).status == 200
        assert user.call("GET", f"secret/data/app/k{k}").status == 200
        assert user.call("GET", f"secret/data/other/k{k}").status == 403
        assert root.call("LIST", "secret/metadata/app").status == 200
    raw = server.log_path.read_bytes().splitlines()
    (tmp_path / "fresh.log").write_bytes(b"".join(ln + b"\n" for ln in raw))
    (tmp_path / "fresh.log").chmod(0o600)
    assert _verify(tmp_path / "fresh.log", {}).found == {}
    TEMPLATES["fresh"] = (str(tmp_path / "fresh.log"), "openbao/canaries.txt")
    try:
        rng = random.Random(4)
        for plants, check in ((_tokens(), "integrity_digest"), (_malformed(), "integrity_digest"),
                              (_fields(), "required_fields")):
            usable = [p for p in plants if any(p.applies(json.loads(ln)) for ln in raw)]
            assert usable
            _every(tmp_path, "fresh", usable, 5, rng, (check,))
    finally:
        TEMPLATES.pop("fresh")


REFUSING = [n for n in sorted(TEMPLATES) if any(_denied(d) and _has("auth", "display_name")(d)
                                                for d in map(json.loads, _template(n)[0]))]


@pytest.mark.parametrize("name", REFUSING)
def test_who_was_refused_is_not_excused_as_an_unknown_token(tmp_path: Path, name: str) -> None:
    """An entry the policies refused (auth.policy_results.allowed false) was made with a token the vault knew: its
    identity rewritten (a number) is a finding at its line, decoded whole or line by line; it passed before, excused
    by the rule for a token the vault does not know (that entry has no policy decision, and stays excused)."""
    lines, known = _template(name)
    i = _first(lines, lambda d: _denied(d) and _has("auth", "display_name")(d))
    d = json.loads(lines[i])
    d["auth"]["display_name"] = 7
    d["auth"].pop("entity_id", None)
    planted = [*lines[:i], _dump(d), *lines[i + 1 :]]
    for label, path, at in _both_ways(tmp_path, planted, i):
        assert at in _verify(path, known).lines("required_fields"), label


def test_a_wrapped_login_needs_no_request_token(tmp_path: Path) -> None:
    """A login answered response-wrapped (X-Vault-Wrap-TTL): auth names the token it issued, response.auth is gone
    into the wrapping token (response.wrap_info), and the request carried no token: a correct entry, no finding
    (judging every entry whose auth names a token and whose request names none must not flag it)."""
    lines, known = _template("vault-community-1.21")
    i = _first(lines, lambda d: d["type"] == "response" and _LOGIN.match(str(_get(d, ("request", "path"))))
               is not None and isinstance(_get(d, ("response", "auth")), dict))
    d = json.loads(lines[i])
    assert "client_token" not in d["request"] and d["auth"]["client_token"]
    d["response"].pop("auth")
    rng = random.Random(3)
    accessor, token = ("hmac-sha256:" + _rand(rng, 64, "0123456789abcdef") for _ in range(2))
    d["response"]["wrap_info"] = {"accessor": accessor, "creation_path": d["request"]["path"],
                                  "creation_time": d["time"], "token": token, "ttl": 300}
    path = _write(tmp_path, "wrapped.log", [ln.decode() for ln in [*lines[:i], _dump(d), *lines[i + 1 :]]])
    assert _verify(path, known).found == {}
