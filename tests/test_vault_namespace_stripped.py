"""An entry stripped of request.namespace is named even when auth.token_type went too (red team rt69 F1): Vault 0.10
wrote neither, but neither did it write the fields Vault began writing after namespaces came (policy_results,
mount_type, remote_port, client_id, token_issue_time, ...), so an entry that carries one of them lost its namespace
on the way. Entries with none of them (Vault 0.10's, before an upgrade in the same file) still pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, CheckContext, Finding
from pytest_auditready.checks.required_fields import Fields
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks
from pytest_auditready.offline.reader import Block, vault_block
from tests.test_vault_ssct import _entries, _lines
from tests.test_vault_ssct import _outcomes as outcomes

ROOT = Path(__file__).resolve().parents[1]
ROTATED = ROOT / "fixtures" / "vault-namespace-rt69" / "rotated.log"  # real OpenBao 2.7.2, starts in team1
OLD_AND_NEW = ROOT / "fixtures" / "real-vault" / "elastic-hashicorp-vault-audit.log"  # 2018 entries first
CHECKS = [c for c in offline_checks(BUILTIN) if c.id in ("completeness", "required_fields")]
NAMED = "has no request.namespace"
# the fields of a real OpenBao entry that Vault 0.10 never wrote (checks/required_fields.py _LATER_FIELDS)
LATER = {"auth": ("token_type", "token_ttl", "token_issue_time", "policy_results"),
         "request": ("mount_type", "mount_accessor", "mount_point", "mount_class", "mount_running_version",
                     "remote_port", "client_id"),
         "response": ("mount_type", "mount_accessor", "mount_point", "mount_class", "mount_running_plugin_version")}


def _write(tmp_path: Path, entries: list[dict[str, Any]], framed: bool = False) -> Path:
    """The entries one a line as the server writes them; ``framed``: each after a syslog header (read line by
    line, not decoded)."""
    path = tmp_path / "edited.log"
    head = "Dec  6 02:58:20 bao-1 bao[811]: " if framed else ""
    path.write_text("".join(head + json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in entries))
    path.chmod(0o600)
    return path


def _strip(entry: dict[str, Any], keep: tuple[str, str] = ("", "")) -> None:
    """Delete request.namespace and every field of ``LATER`` from ``entry`` but ``keep`` (object, key)."""
    del entry["request"]["namespace"]
    for part, keys in LATER.items():
        for key in keys:
            if (part, key) != keep and isinstance(entry.get(part), dict):
                entry[part].pop(key, None)


def _namespace_findings(path: Path) -> tuple[Any, list[int]]:
    out = outcomes(path, CHECKS)["required_fields"]
    return out, _lines(out, NAMED)


@pytest.mark.parametrize("framed", [False, True], ids=["decoded", "line-by-line"])
def test_a_rotated_file_s_first_entries_stripped_of_namespace_and_token_type_are_found(tmp_path: Path,
                                                                                       framed: bool) -> None:
    """rt69 F1's input: the first request (a read in namespace team1) and its response, without request.namespace
    and auth.token_type, as a field filter or jq del() leaves them. Unedited, the log and a real upgrade from Vault
    0.10 (entries with none of those fields before entries with all) give no finding."""
    for log in (ROTATED, OLD_AND_NEW):
        res = outcomes(_write(tmp_path, _entries(log), framed), CHECKS)
        for out in res.values():
            assert out.status == PASSED and not out.findings, (log.name, [f.text() for f in out.findings])
    entries = _entries(ROTATED)
    assert entries[0]["request"]["namespace"]["path"] == "team1/"
    for e in entries[:2]:
        del e["request"]["namespace"], e["auth"]["token_type"]
    out, shown = _namespace_findings(_write(tmp_path, entries, framed))
    assert out.status == FAILED and shown == [1, 2], [f.text() for f in out.findings]
    assert all("(Vault 1.5+) shows a producer that does" in f.message for f in out.findings), out.findings


@pytest.mark.parametrize("framed", [False, True], ids=["decoded", "line-by-line"])
def test_every_entry_stripped_of_namespace_and_token_type_is_found(tmp_path: Path, framed: bool) -> None:
    """A whitelisting shipper stage (every entry without both fields): each is a finding, 20 shown."""
    entries = _entries(ROTATED)
    for e in entries:
        del e["request"]["namespace"], e["auth"]["token_type"]
    out, shown = _namespace_findings(_write(tmp_path, entries, framed))
    assert out.status == FAILED and shown == list(range(1, 21)), [f.text() for f in out.findings]
    assert any(f.message == f"{len(entries) - 20} more entries lack the namespace its path is relative to "
               "(request.namespace)." for f in out.findings), [f.text() for f in out.findings]


# (auth.token_type alone: tests/test_vault_namespace.py)
@pytest.mark.parametrize("keep", [(p, k) for p, keys in LATER.items() for k in keys if k != "token_type"],
                         ids="{0[0]}.{0[1]}".format)
def test_any_one_field_vault_0_10_never_wrote_shows_the_namespace_was_lost(tmp_path: Path,
                                                                          keep: tuple[str, str]) -> None:
    """The class: an entry keeping any one of those fields (and none of the rest) is named, by that field."""
    entries = _entries(ROTATED)
    n = next(i for i, e in enumerate(entries, 1) if isinstance(e.get(keep[0]), dict) and keep[1] in e[keep[0]])
    _strip(entries[n - 1], keep)
    out, shown = _namespace_findings(_write(tmp_path, entries[n - 1 :]))
    assert out.status == FAILED and shown == [1], [f.text() for f in out.findings]
    assert f"its {keep[0]}.{keep[1]} (Vault " in out.findings[0].message, out.findings[0].message


def test_a_client_s_data_key_named_like_such_a_field_is_no_sign(tmp_path: Path) -> None:
    """Keys of request.data are the client's (not HMAC'd): a Vault 0.10 write of a secret with a client_id passes;
    the same entry with request.client_id, the field, is named."""
    entries = _entries(OLD_AND_NEW)[:2]
    for e in entries:
        e["request"]["data"] = {"client_id": "hmac-sha256:" + "ab" * 32, "mount_type": "hmac-sha256:" + "cd" * 32}
    out, shown = _namespace_findings(_write(tmp_path, entries))
    assert out.status == PASSED and not out.findings, [f.text() for f in out.findings]
    entries[1]["request"]["client_id"] = "hmac-sha256:" + "ab" * 32
    out, shown = _namespace_findings(_write(tmp_path, entries))
    assert out.status == FAILED and shown == [2], [f.text() for f in out.findings]


def test_an_entry_stripped_of_everything_after_one_that_shows_a_newer_producer_is_found(tmp_path: Path) -> None:
    """Line 1 lost its namespace but kept the rest (a producer that writes namespaces); line 2 lost them all: it
    comes after an entry of that producer, so it is named too (the earlier-entry rule)."""
    entries = _entries(ROTATED)
    del entries[0]["request"]["namespace"]
    _strip(entries[1])
    out, shown = _namespace_findings(_write(tmp_path, entries))
    assert out.status == FAILED and shown == [1, 2], [f.text() for f in out.findings]
    assert "an entry before it shows" in out.findings[1].message


def _fields(raw: list[bytes], cuts: list[int]) -> list[str]:
    """The required_fields visitor's findings (where) for the lines ``raw`` read as ranges cut before each line of
    ``cuts`` and merged in order (as ``--jobs`` reads a file)."""
    ctx = CheckContext(settings=Settings(require_tamper_evidence=False, retention_days=0), ledger=None, entries=[],
                       bad_lines=[], secrets={})
    decode = vault_block("audit.log")
    parts = []
    for start, end in zip([0, *cuts], [*cuts, len(raw)]):
        v = Fields(ctx)
        if start:
            v.later_range()
        data = b"\n".join(raw[start:end])
        v.block("audit.log", start + 1, data)
        batch = decode(Block(start + 1, data))
        assert batch is not None
        v.entries(batch)
        parts.append(v)
    first = parts[0]
    for later in parts[1:]:
        first.merge(later)
    return [f.where for f in first.finish() if isinstance(f, Finding)]


def test_ranges_read_apart_find_the_same(tmp_path: Path) -> None:
    """Read in ranges and merged, the findings are the whole read's: line 1 keeps token_type (found), lines 2-3 lost
    every such field and come after it, in the next ranges."""
    entries = _entries(ROTATED)
    del entries[0]["request"]["namespace"]
    for e in entries[1:3]:
        _strip(e)
    raw = [json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode() for e in entries]
    want = [f"audit.log:{n}" for n in (1, 2, 3)]
    assert _fields(raw, []) == want
    assert _fields(raw, [1]) == want
    assert _fields(raw, [1, 2]) == want
