"""An entry over the 16 MiB line limit, written so by the vault: a list response of some 230,000 keys (the device
writes them whole unless it sets elide_list_responses), a write of many MiB.

Such a line is skipped as it streams past, and so can be neither judged nor scanned: required_fields and
no_secret_leak each name it (fail closed). What they said blamed a pipeline ("find what rewrites or truncates the
log"), and completeness called its request's response dropped, as the line's request id was never read (red team
rt10, finding 7). The line's first 64 KiB now say which entry it is: its request id (and kind, and time where the
entry opens with it) pair it, and its findings name the entry and the device option that keeps it readable.

Logs: fixtures/openbao/clean.log (a real OpenBao 2 run; keys in OpenBao's order, time first) and the same entries
with their keys sorted, as HashiCorp Vault 1.18+ writes them (time and type last).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
KEYS = 230_000  # hmac-sha256 digests of 76 bytes each, quoted: about 18 MB


def _entries() -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in CLEAN.read_text().splitlines()]


def _index(entries: list[dict[str, Any]], kind: str, operation: str) -> int:
    return next(i for i, e in enumerate(entries) if e["type"] == kind and e["request"].get("operation") == operation
                and i > 0 and entries[i - 1]["request"].get("id") == e["request"].get("id"))


def _write(tmp_path: Path, entries: list[dict[str, Any]], sort_keys: bool = False) -> Path:
    path = tmp_path / "audit.log"
    path.write_text("".join(json.dumps(e, separators=(",", ":"), sort_keys=sort_keys) + "\n" for e in entries))
    path.chmod(0o600)
    return path


def _verify(capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path, jobs: int = 1) -> dict[str, list[Any]]:
    """Each check's findings (where, message, fix) in a verify run."""
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    report = tmp_path / "report.json"
    main(["verify", str(path), "--config", str(config), "--json", str(report), "--jobs", str(jobs)])
    capsys.readouterr()
    out: dict[str, list[Any]] = {}
    for o in json.loads(report.read_text())["outcomes"]:
        out.setdefault(o["check"], []).extend((f["where"], f["message"], f["fix"]) for f in o["findings"])
    return out


def _big_list(entries: list[dict[str, Any]]) -> int:
    """The first list response made to hold KEYS key digests; its index."""
    i = _index(entries, "response", "list")
    entries[i]["response"]["data"] = {"keys": [f"hmac-sha256:{k:064x}" for k in range(KEYS)]}
    return i


@pytest.mark.parametrize(("sort_keys", "jobs"), [(False, 1), (False, 2), (True, 1)],
                         ids=["openbao", "openbao-jobs2", "vault-sorted-keys"])
def test_a_list_response_over_the_limit_is_paired_and_named_with_its_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], sort_keys: bool, jobs: int) -> None:
    entries = _entries()
    i = _big_list(entries)
    path = _write(tmp_path, entries, sort_keys)
    assert path.stat().st_size > 16 * 2**20 + 10**6
    found = _verify(capsys, tmp_path, path, jobs)
    assert found.get("completeness", []) == []  # its request is answered: by the line too long to read
    where = f"{path}:{i + 1}"
    for check in ("required_fields", "no_secret_leak"):
        (hit,) = [f for f in found.get(check, []) if f[0] == where]
        assert "the response entry of a list request on \"secret/metadata/" in hit[1]
        assert "set elide_list_responses = true on the audit device" in hit[2]
        assert "pipeline" not in hit[2]


def test_a_long_write_is_named_as_a_request_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A write of many MiB (digested values of a huge secret): named as the request entry it is, with the fix for
    the size a listener accepts; its response pairs with it."""
    entries = _entries()
    i = _index(entries, "response", "update") - 1  # its request entry
    entries[i]["request"]["data"] = {"blob": "hmac-sha256:" + "ab" * 32, "items": ["x" * 64] * 270_000}
    path = _write(tmp_path, entries)
    found = _verify(capsys, tmp_path, path)
    assert found.get("completeness", []) == []
    (hit,) = [f for f in found["required_fields"] if f[0] == f"{path}:{i + 1}"]
    assert ": a request entry on " in hit[1] and "max_request_size" in hit[2]


def test_a_long_response_whose_request_was_dropped_is_still_found(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Paired by its head, the long line is judged as the entry it is: with its request entry deleted from the
    middle of the log, completeness names it at its line (as it names any response without request)."""
    entries = _entries()
    i = _big_list(entries)
    del entries[i - 1]
    path = _write(tmp_path, entries)
    found = _verify(capsys, tmp_path, path)
    assert [f[0] for f in found["completeness"]] == [f"{path}:{i}"]


def test_a_long_line_that_is_no_entry_keeps_the_general_fix(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    entries = _entries()
    path = _write(tmp_path, entries)
    with path.open("a") as f:
        f.write("x" * (17 * 2**20) + "\n")
    found = _verify(capsys, tmp_path, path)
    (hit,) = [f for f in found["required_fields"] if f[0] == f"{path}:{len(entries) + 1}"]
    assert hit[1].endswith("over the 16777216 byte limit.") and "elide_list_responses" not in hit[2]
