"""`auditready access` counts a request whose request entry a hop dropped, from its response entry.

The response entry of a Vault/OpenBao request repeats its request (path, operation, the caller's auth) and proves
the vault served it. Red team rt11: with the three request entries of one identity's reads removed, the answer left
that identity out ("nobody" from present evidence) with exit 0. Built from a log recorded from OpenBao 2.7.2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main

LOG = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "odd" / "correct.log"


def _pairs() -> tuple[list[bytes], str, str]:
    """The log's lines, and a path read by an identity through a request/response pair, with that identity."""
    lines = LOG.read_bytes().splitlines()
    docs = [json.loads(ln) for ln in lines]
    for d in docs:
        if d["type"] == "request" and d["request"].get("operation") == "read" and d.get("auth", {}).get(
                "display_name") and not d.get("error") and d["request"].get("path", "").startswith("secret/"):
            return lines, d["request"]["path"], d["auth"]["display_name"]
    raise AssertionError("no read in the fixture")


def _answer(tmp_path: Path, name: str, lines: list[bytes], pattern: str,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], str]:
    log = tmp_path / name
    log.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / f"{name}.json"
    capsys.readouterr()
    code = main(["access", pattern, str(log), "--json", str(out)])
    return code, json.loads(out.read_text()), capsys.readouterr().err


def test_a_read_whose_request_entry_was_dropped_counts_from_its_response(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lines, path, who = _pairs()
    code, whole, err = _answer(tmp_path, "whole.log", lines, path, capsys)
    assert (code, err, whole["counted_from_response"]) == (0, "", 0)
    readers = {i["display_name"]: i["requests"] for i in whole["identities"]}  # type: ignore[attr-defined]
    assert readers.get(who)
    dropped = [ln for ln in lines if not (json.loads(ln)["type"] == "request"
                                          and json.loads(ln)["request"].get("path") == path)]
    code, cut, err = _answer(tmp_path, "dropped.log", dropped, path, capsys)
    assert code == 1 and "counted from their response entry" in err and "\n" not in err.strip()
    assert {i["display_name"]: i["requests"] for i in cut["identities"]} == readers  # type: ignore[attr-defined]
    assert cut["counted_from_response"] == len(lines) - len(dropped)  # each request entry dropped, once
