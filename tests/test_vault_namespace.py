"""A Vault/OpenBao request's namespace (request.namespace, which request.path is relative to): Vault (0.11+) and
OpenBao write it in both entries of every request from the one request context (audit/entry_formatter.go
FormatRequest and FormatResponse). Edited in one entry of a pair, completeness names it; dropped from an entry whose
producer writes it, required_fields names it at its line (red team rt64 F2). Vault 0.10 and older wrote none (and no
auth.token_type): their entries pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.engine.files import offline_checks
from tests.test_vault_ssct import _entries, _lines
from tests.test_vault_ssct import _outcomes as outcomes

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "fixtures" / "vault-ssct" / "base.log"  # lines 23-24: a read in namespace team-b/
OLD_AND_NEW = ROOT / "fixtures" / "real-vault" / "elastic-hashicorp-vault-audit.log"  # 2018 entries first
CHECKS = [c for c in offline_checks(BUILTIN) if c.id in ("completeness", "required_fields")]
TEAM_B = (23, 24)


def _outcomes(path: Path) -> dict[str, Any]:
    return outcomes(path, CHECKS)


def _write(tmp_path: Path, entries: list[dict[str, Any]], framed: bool = False) -> Path:
    """The entries one a line; ``framed``: each after a syslog header (read line by line, not decoded)."""
    path = tmp_path / "edited.log"
    head = "Dec  3 08:54:20 vault-1 vault[811]: " if framed else ""
    path.write_text("".join(head + json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("log", [BASE, OLD_AND_NEW], ids=["vault-namespaces", "vault-0.x-then-1.x"])
def test_correct_logs_pass(log: Path) -> None:
    for out in _outcomes(log).values():
        assert out.status == PASSED and not out.findings, [f.text() for f in out.findings]


@pytest.mark.parametrize("edited", TEAM_B, ids=["request-entry", "response-entry"])
@pytest.mark.parametrize("to", [{"id": "root"}, {"id": "Zz9aa", "path": "team-c/"}], ids=["root", "other"])
def test_a_namespace_edited_in_one_entry_of_a_pair_is_found(tmp_path: Path, edited: int, to: dict[str, str]) -> None:
    entries = _entries(BASE)
    assert all(entries[n - 1]["request"]["namespace"]["path"] == "team-b/" for n in TEAM_B)
    entries[edited - 1]["request"]["namespace"] = to
    out = _outcomes(_write(tmp_path, entries))["completeness"]
    assert out.status == FAILED and _lines(out, "request.namespace") == [TEAM_B[1]], [f.text() for f in out.findings]


@pytest.mark.parametrize("framed", [False, True], ids=["decoded", "line-by-line"])
@pytest.mark.parametrize("dropped", ["team-b", "all"])
def test_a_namespace_dropped_from_entries_whose_producer_writes_it_is_found(tmp_path: Path, framed: bool,
                                                                             dropped: str) -> None:
    entries = _entries(BASE)
    want = list(TEAM_B) if dropped == "team-b" else list(range(1, len(entries) + 1))
    for n in want:
        del entries[n - 1]["request"]["namespace"]
    out = _outcomes(_write(tmp_path, entries, framed))["required_fields"]
    shown = _lines(out, "has no request.namespace")
    assert out.status == FAILED and shown == want[:20], [f.text() for f in out.findings]
    if len(want) > 20:
        assert any(f.message == f"{len(want) - 20} more entries lack the namespace its path is relative to "
                   "(request.namespace)." for f in out.findings)


def test_an_old_producer_s_entry_after_a_namespaced_one_is_found(tmp_path: Path) -> None:
    """Vault 0.10's entries (no namespace, no token_type) pass before the first entry with a namespace (an upgrade
    in the log); after one, such an entry lost both on the way."""
    entries = _entries(OLD_AND_NEW)
    assert "namespace" not in entries[0]["request"] and "token_type" not in entries[0]["auth"]
    moved = [*entries[2:], *entries[:2]]
    out = _outcomes(_write(tmp_path, moved))["required_fields"]
    assert out.status == FAILED and _lines(out, "has no request.namespace") == [len(moved) - 1, len(moved)]
