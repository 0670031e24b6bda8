"""Audit device options and server setups of OpenBao 2.x, recorded from a real OpenBao 2.7.2 (red team rt88): each
correct log passes with zero findings, and a real defect planted in it is found at its line.

- F1: a request to a mount's root without its slash (`bao path-help secret/`, GET /v1/pki): the router routes it as
  "secret/" and the response entry is written from the routed request.
- F2: OpenBao's inline authentication (X-Vault-Inline-Auth-*): the token is not stored, so the request made with it
  names no accessor, right after the login that issued it on the same connection.
- F3: the audit device disabled and enabled again on the same file: its own disabling has no response entry in it,
  its enabling no request entry.
- F4: an mTLS client certificate's decimal serial that passes the Luhn test with a card's prefix.
- F5: request ids of go-chi's shape in an X-Request-Id header audited in clear.
- L1, L2: a canary in an audited header names the header's setting as the fix; a prefixed JSONx device is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.cli import main
from tests.verifying import verify_lines

RT88 = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "rt88"
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], *args: str,
            name: str = "audit.log") -> tuple[int, dict[str, list[int]], str]:
    return verify_lines(tmp_path, capsys, lines, CONFIG, "--jobs", "1", *args, name=name)


def _lines(name: str) -> list[str]:
    return (RT88 / name).read_text().splitlines()


def _edit(lines: list[str], n: int, fn: Callable[[dict[str, Any]], object]) -> list[str]:
    """``lines`` with line ``n`` (1-based) decoded, changed by ``fn`` and written back compact."""
    e = json.loads(lines[n - 1])
    fn(e)
    return [*lines[: n - 1], json.dumps(e, separators=(",", ":")), *lines[n:]]


@pytest.mark.parametrize("name", ["mount-root.log", "path-help.log"])
def test_a_mount_named_without_its_slash_is_one_request(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        name: str) -> None:
    lines = _lines(name)
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    # a response entry naming another path than its request still differs
    moved = _edit(lines, 2, lambda e: e["request"].__setitem__("path", e["request"]["path"] + "data/x"))
    rc, found, _ = _verify(tmp_path, capsys, moved)
    assert rc == 1 and found == {"completeness": [2]}, found


def test_inline_authentication_names_no_accessor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("inline-auth.log")
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    assert "integrity_digest excused 4: a request made with an inline-authentication token" in text
    # the accessors taken out of an ordinary token's entry, and an inline token's request from another connection
    stripped = _edit(lines, 11, lambda e: (e["auth"].pop("accessor"), e["request"].pop("client_token_accessor")))
    moved = _edit(stripped, 15, lambda e: e["request"].__setitem__("remote_port", 40000))
    rc, found, _ = _verify(tmp_path, capsys, moved)
    assert rc == 1 and found.get("integrity_digest") == [11, 15], found


def test_a_device_disabled_and_enabled_again_on_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("disable-reenable.log")
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    assert "was disabled at line 9 (sys/audit/plain) and enabled again at line 10" in text
    for args in (["--jobs", "2"],):  # ranges decline: the pair is judged in one pass
        rc, found, _ = _verify(tmp_path, capsys, lines, *args)
        assert (rc, found) == (0, {})
    # the self-test between them taken out: the disabling has no response, the enabling no request
    rc, found, _ = _verify(tmp_path, capsys, lines[:9] + lines[10:])
    assert rc == 1 and found.get("completeness") == [9, 10], found
    # a line dropped after the device came back is still found
    rc, found, _ = _verify(tmp_path, capsys, lines[:11] + lines[12:])
    assert rc == 1 and found.get("completeness") == [12], found


def test_a_client_certificate_serial_is_no_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("client-cert-serial.log")
    assert '"client_certificate_serial_number":"4514023036872197812"' in lines[0]
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    # the same number anywhere else in clear is a card number
    carded = _edit(lines, 2, lambda e: e["request"].__setitem__("data", {"note": "4514023036872197812"}))
    rc, found, _ = _verify(tmp_path, capsys, carded)
    assert rc == 1 and found.get("data_minimisation") == [2], found


def test_go_chi_request_ids_are_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("chi-request-id.log")
    assert sum("/f6b0NAeoU8-0000" in ln for ln in lines) == 20
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    leaked = _edit(lines, 7, lambda e: e["request"]["headers"].__setitem__(
        "x-request-id", ["sk_live_51HqLyjWDarjtT1zdp7dcXGmJyaQqLeZ0Ab7nF3hTk9"]))
    rc, found, _ = _verify(tmp_path, capsys, leaked)
    assert rc == 1 and list(found) == ["no_secret_leak"] and set(found["no_secret_leak"]) == {7}, found


def test_a_canary_in_an_audited_header_names_the_headers_setting(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc, found, text = _verify(tmp_path, capsys, _lines("header-canary.log"), "--canaries",
                              str(RT88 / "header-canaries.txt"))
    assert rc == 1 and found == {"no_secret_leak": [1, 1, 1, 1]}, found
    canary_lines = [ln for ln in text.splitlines() if "<canary:" in ln and "appears in" in ln and "Fix:" in ln]
    assert len(canary_lines) == 2 and all("sys/config/auditing/request-headers" in ln and "log_raw" not in ln
                                          for ln in canary_lines), canary_lines


def test_prefixed_jsonx_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes((RT88 / "prefixed.jsonx").read_bytes())
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "holds JSONx" in err and "after the device's prefix \"vault: \"" in err, err


def test_an_inline_login_at_the_end_of_a_block_still_excuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The login's response is the last line of one block and the request made with its token the first of the
    next: the block before is looked back into."""
    from pytest_auditready.offline import reader

    lines = _lines("inline-auth.log")
    monkeypatch.setattr(reader, "BLOCK", sum(len(ln) + 1 for ln in lines[:14]) + 3)
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    assert "integrity_digest excused 4: a request made with an inline-authentication token" in text


def test_a_device_off_and_on_says_the_same_in_ranges(tmp_path: Path) -> None:
    """The disabling and enabling judged in one pass, or the file read in two ranges cut before any line: a merge
    that could judge otherwise declines (the file is then read whole), and every merge that goes on says the same."""
    from tests.test_blind_vault_workloads import _feed_ranges, _said

    raw = (RT88 / "disable-reenable.log").read_bytes()
    whole = _said(_feed_ranges(raw, [], columns=True))
    assert [said["text"].split(" (")[0] for said in whole[0]] == ["The audit device writing this log was disabled at "
                                                                   "line 9"]  # the note alone, no finding
    assert "the request that disabled this audit device" in " ".join(whole[1])
    declined = 0
    for cut in range(1, len(raw.splitlines())):
        for columns in (True, False):
            try:
                assert _said(_feed_ranges(raw, [cut], columns)) == whole, (cut, columns)
            except NotImplementedError:
                declined += 1
    assert declined >= 2  # (the cuts around the device's own lines)


def test_an_inline_login_at_a_ranges_edge_declines_the_merge() -> None:
    """The login at the end of one range and the request made with its token at the start of the next: the later
    range cannot see the login, so the merge declines (the file is read whole) rather than name a stripped entry;
    every other cut merges to what one pass says, or declines."""
    from pytest_auditready.checks.base import CheckContext
    from pytest_auditready.checks.integrity_digest import DigestFormat
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.driver import drive
    from pytest_auditready.offline.reader import Block, vault_block, vault_parser

    ctx = CheckContext(settings=Settings(), ledger=None, entries=[], bad_lines=[], secrets={})
    lines = (RT88 / "inline-auth.log").read_bytes().splitlines()

    def fed(a: int, b: int, later: bool) -> DigestFormat:
        v = DigestFormat(ctx)
        if later:
            v.later_range()
        drive([v], [Block(a + 1, b"\n".join(lines[a:b]))], "audit.log", vault_parser("audit.log"),
              vault_block("audit.log"), to_end=b == len(lines))
        return v

    def said(v: DigestFormat) -> tuple[list[dict[str, Any]], dict[str, int]]:
        return [f.__dict__ for f in v.finish()], v.excused

    whole = said(fed(0, len(lines), False))
    assert not [f for f in whole[0] if "where" in f] and whole[1].get(next(k for k in whole[1] if "inline" in k)) == 4
    declined = []
    for cut in range(1, len(lines)):
        first = fed(0, cut, False)
        try:
            first.merge(fed(cut, len(lines), True))
        except NotImplementedError:
            declined.append(cut)
            continue
        assert said(first) == whole, cut
    assert 14 in declined and 20 in declined, declined  # the cuts between each login and its request
