"""HashiCorp Vault's server-side consistent tokens (SSCT, ``hvs.CAES…``, Vault 1.10+): a request made with one is
written with the SSCT's digest in auth.client_token and its inner token's in request.client_token, one accessor in
both (vault/request_handling.go PopulateTokenEntry, audit/entry_formatter.go; red team rt64 F1). Such entries pass;
a token digest edited in one of them is still found, against the token's other entries. And a Vault Enterprise
device's ``exclude`` option is named where it can be why the token digests are gone (rt64 F3)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "vault-ssct"
ARTICLE, SSCT = DATA / "ssct_support_article.log", DATA / "ssct.log"
CHECKS = [c for c in offline_checks(BUILTIN) if c.id in ("integrity_digest", "completeness")]


def _outcomes(path: Path, checks: Any = CHECKS) -> dict[str, Any]:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), checks, {})
    return {o.check_id: o for o in res.outcomes}


def _lines(out: Any, text: str) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings if f.where and text in f.message)


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def _write(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "edited.log"
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("log", [ARTICLE, SSCT], ids=["support-article", "three-requests"])
def test_entries_made_with_a_server_side_consistent_token_pass(log: Path) -> None:
    entries = _entries(log)
    assert all(e["auth"]["client_token"] != e["request"]["client_token"]
               and e["auth"]["accessor"] == e["request"]["client_token_accessor"] for e in entries)
    for out in _outcomes(log).values():
        assert out.status == PASSED and not out.findings, [f.text() for f in out.findings]


@pytest.mark.parametrize(("lines", "side"), [([3], "auth"), ([5], "request"), ([5, 6], "auth")],
                         ids=["auth-one-entry", "request-one-entry", "auth-both-entries-of-a-request"])
def test_a_token_digest_edited_in_an_ssct_entry_is_found_at_its_line(tmp_path: Path, lines: list[int],
                                                                      side: str) -> None:
    """The accessor left alone, another digest in auth.client_token (or request.client_token): the SSCT's other
    entries pair it with its one inner token (and the inner token with its one SSCT)."""
    entries = _entries(SSCT)
    other = "hmac-sha256:" + secrets.token_hex(32)
    for n in lines:
        entries[n - 1][side]["client_token"] = other
    out = _outcomes(_write(tmp_path, entries))["integrity_digest"]
    assert out.status == FAILED and _lines(out, "names two tokens") == lines, [f.text() for f in out.findings]


def test_an_inner_token_used_as_itself_elsewhere_is_no_ssct(tmp_path: Path) -> None:
    """An entry whose auth names another token than its request, with the request's accessor, where the request's
    token is used as itself in the other entries (OpenBao's, or a Vault legacy token's): a client never holds an
    SSCT's inner token, so this is another token's digest put in auth, found at its line."""
    entries = _entries(DATA / "base.log")
    n = next(i for i, e in enumerate(entries, 1) if e["type"] == "response" and e["auth"].get("accessor")
             and e["request"].get("client_token") and "/login" not in e["request"]["path"])
    entries[n - 1]["auth"]["client_token"] = "hmac-sha256:" + secrets.token_hex(32)
    out = _outcomes(_write(tmp_path, entries))["integrity_digest"]
    assert out.status == FAILED and _lines(out, "names two tokens") == [n], [f.text() for f in out.findings]


def test_token_digests_a_device_excludes_name_the_exclude_option() -> None:
    """Vault Enterprise 1.18+: a device's exclude option took the token digests out; failing is fair (the entries
    can no longer be tied to a token), and the finding names that option beside a shipper's filter."""
    out = _outcomes(DATA / "excl_c_tokens.log")["integrity_digest"]
    stripped = [f for f in out.findings if "took them out" in f.message]
    assert out.status == FAILED and stripped
    assert all("exclude option" in f.message and "vault audit list -detailed" in f.fix for f in stripped)
