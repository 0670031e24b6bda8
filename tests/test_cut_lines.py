"""Lines a hop cut at its size limit (fixtures/framing/rsyslog-udp-8k-cut.log: a real rsyslogd 8.2302 receiving
OpenBao's socket device over UDP, RSYSLOG_TraditionalFileFormat, default 8k messages; red team rt9 FA-1): the cut is
required_fields' finding, and what the cut line still holds is judged value by value, as a whole line would be."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.engine.files import verify_file
from pytest_auditready.scan.secrets import loose_values
from tests.test_real_engines import OFFLINE, SETTINGS, _failed

CUT = Path(__file__).resolve().parents[1] / "fixtures" / "framing" / "rsyslog-udp-8k-cut.log"


def test_a_cut_line_holding_the_runs_own_display_name_is_no_leak(tmp_path: Path) -> None:
    """Fails without judging value by value: the cut line was judged as one run of text, and the display name
    token-auditready-<run>-unprivileged, with the quote after it, read as a Base64 High Entropy String (a critical
    finding telling the user to rotate a credential that does not exist)."""
    log = tmp_path / "audit.log"
    log.write_bytes(CUT.read_bytes())
    log.chmod(0o600)
    assert _failed(log) == {"required_fields": [5, 6]}


@pytest.mark.parametrize("planted", [
    '"metadata":{"password":"Zm9vYmFyYmF6cXV4cXV1eFptOTAxMjM0NTY3ODk="},',
    '"note":"AKIAIOSFODNN7EXAMPLE",',
    '"metadata":{"ci":"ghp_R8x2Lq7ZtW4mN9vB3kD6sF1hJ5pC0yE2aG7u"},',
], ids=["password", "aws-key", "github-token"])
def test_a_secret_in_a_cut_line_is_still_found_at_its_line(tmp_path: Path, planted: str) -> None:
    lines = CUT.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"auth":{', b'"auth":{' + planted.encode(), 1)
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(lines))
    log.chmod(0o600)
    assert _failed(log) == {"required_fields": [5, 6], "no_secret_leak": [5]}


def test_loose_values_reads_a_cut_line_value_by_value() -> None:
    text = ('Dec  3 08:54:20 localhost  {"time":"2026-12-03T08:54:20Z","auth":{"display_name":"token-a-b",'
            '"policies":["default","team-0\\u00e9","team-1\\u00')
    assert loose_values(text) == [
        ("time", "2026-12-03T08:54:20Z"), ("display_name", "token-a-b"), ("policies", "default"),
        ("policies", "team-0\u00e9"), ("policies", "team-1"),
        ("line", "Dec  3 08:54:20 localhost { : , :{ : , :[ , ,")]


def test_loose_values_reads_the_rest_of_a_cut_entry_from_inside_a_string() -> None:
    """The rest a hop wrote as a line of its own begins inside a string: read from a quote before it, nothing of
    it is left as one run of text."""
    assert loose_values('ication-policy","team-002","path":"secret/data/x"}}') == [
        ("", "ication-policy"), ("", "team-002"), ("path", "secret/data/x"), ("line", ", , : }}")]


def test_loose_values_keeps_text_that_is_no_json_whole() -> None:
    assert loose_values("password=hunter2hunter2 token s.abcdefghijklmnopqrstuvwx") == [
        ("line", "password=hunter2hunter2 token s.abcdefghijklmnopqrstuvwx")]


REST = CUT.with_name("rsyslog-tcp-8k-rest.log")  # the same over TCP: the rest of each cut entry a message of its own


def test_the_rest_of_a_cut_entry_is_required_fields_finding_alone(tmp_path: Path) -> None:
    """Fails without the fix (red team rt9 MC-1): rsyslog read the rest's 'hmac-sha256:' as a message tag and wrote
    a space after it, and integrity_digest blamed a shipper for a malformed digest on a line required_fields
    already names as the rest of a cut entry. The request whose response was cut has none (completeness)."""
    log = tmp_path / "audit.log"
    log.write_bytes(REST.read_bytes())
    log.chmod(0o600)
    assert _failed(log) == {"completeness": [3], "required_fields": [4, 5, 6]}
    lines = REST.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"hmac-sha256:', b'"hmac-sha256: ', 1)  # in an entry: still found
    log.write_bytes(b"".join(lines))
    assert _failed(log) == {"completeness": [3], "required_fields": [4, 5, 6], "integrity_digest": [1]}


@pytest.mark.parametrize("size, named", [(49152, "journald splits a line longer than LineMax= (48K)"),
                                         (16384, "a container runtime splits a line longer than 16 KiB")])
def test_a_line_split_where_a_platform_splits_lines_names_that_limit(tmp_path: Path, size: int, named: str) -> None:
    """Red team rt9 MC-2: journalctl -o cat prints journald's LineMax pieces as lines; they were "malformed JSON"
    and "a device prefix? set log_prefix", pointing the wrong way. The pieces fail required_fields naming the
    platform's limit and the rest as the rest, at their lines; a line cut at another length stays malformed JSON."""
    import json

    first = REST.read_bytes().splitlines()[0]
    entry = json.loads(first[first.index(b"{"):])
    entry["request"]["data"] = {"note": "x" * 60000}
    whole = json.dumps(entry, separators=(",", ":")).encode()
    log = tmp_path / "audit.log"
    whole_entries = b"".join(ln[ln.index(b"{"):] + b"\n" for ln in REST.read_bytes().splitlines()[:3])
    log.write_bytes(whole_entries + whole[:size] + b"\n" + whole[size:] + b"\n" + whole[: size - 1] + b"\n")
    log.chmod(0o600)
    res = verify_file(str(log), SETTINGS, OFFLINE, {})
    said = {int(f.where.rsplit(":", 1)[1]): f.message for o in res.outcomes if o.check_id == "required_fields"
            for f in o.findings}
    assert f"cut at {size} bytes: {named}" in said[4], said
    assert "the rest of an entry a hop cut or split" in said[5] and "device prefix?" not in said[5], said
    assert "malformed JSON" in said[6], said


def test_loose_values_keeps_key_value_text_whole_for_the_keyword_detector() -> None:
    """A server log line with key="value" pairs (hclog, logfmt) has no JSON names: taken apart, the quoted
    password would lose the word that names it."""
    line = 'core: request failed: password="S3cr3tvalue99" user="bob"'
    assert loose_values(line) == [("line", line)]


def _cut_at(value_form: str, at: int) -> list[bytes]:
    """A correct OpenBao log whose sixth entry holds ``value_form`` in a clear field, cut ``at`` characters into
    it, its rest a line of its own (as rsyslog writes the rest of a message past its size limit)."""
    lines = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines()
    line = lines[5].replace(b'"auth":{', b'"auth":{"note":"' + value_form.encode() + b'",', 1)
    cut = line.index(value_form.encode()) + at
    return [*lines[:5], line[:cut], b"Dec  4 21:05:56 localhost " + line[cut:], *lines[6:]]


@pytest.mark.parametrize("spell", [
    lambda v: v,
    lambda v: __import__("base64").b64encode(v.encode()).decode(),
    lambda v: v.encode().hex(),
    lambda v: v.replace("<", "\\u003c").replace("&", "\\u0026"),  # as Go's encoding/json writes < and &
], ids=["plain", "base64", "hex", "go-json"])
@pytest.mark.parametrize("at", [5, 20])
def test_a_known_value_a_hop_cut_in_two_is_named_in_any_spelling(tmp_path: Path, spell: Any, at: int) -> None:
    """The whole value is found in every spelling the scan knows; cut in two by a hop, it was found plain only
    (red teams rt28, F3; rt31, F4). Named at the piece that ends inside it or holds its end."""
    value = "Zq8<N3&L0>R7-" + secrets.token_hex(12)
    lines = _cut_at(spell(value), at)
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    res = verify_file(str(log), SETTINGS, OFFLINE, {"canary:1": value})
    (leak,) = [o for o in res.outcomes if o.check_id == "no_secret_leak"]
    assert [f.message.split(":")[0] for f in leak.findings] == ["Part of <canary"], [f.text() for f in leak.findings]


def test_another_value_that_begins_as_a_known_one_is_not_named_as_it(tmp_path: Path) -> None:
    """Two JWTs of one issuer share their header: the other one cut in two is no part of the known one (red team
    rt31, F5: it was named so from any 12 characters they share near the line's edges)."""
    header = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1UYWxsZ2tRbGl2In0"
    known, other = (f"{header}.{secrets.token_urlsafe(60)}.{secrets.token_urlsafe(40)}" for _ in range(2))
    for at in (30, len(header) + 20, len(other) - 10):
        log = tmp_path / "audit.log"
        log.write_bytes(b"\n".join(_cut_at(other, at)) + b"\n")
        log.chmod(0o600)
        res = verify_file(str(log), SETTINGS, OFFLINE, {"canary:1": known})
        (leak,) = [o for o in res.outcomes if o.check_id == "no_secret_leak"]
        named = [f.text() for f in leak.findings if "<canary:1>" in f.message]
        assert named == [] or at < len(header), named  # (cut inside the shared header: both begin alike)
