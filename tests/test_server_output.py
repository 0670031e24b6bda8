"""A bare line of the vault server's own log (hclog) among the audit entries of a plain file: the server's output
streams captured together with a `file_path = "stdout"` device's (kubectl logs, docker logs, a unit's stdout and
stderr in one file).

It was said as "no JSON object on the line ... find what rewrites or truncates the log (a pipeline, a full disk)",
which sent the user after a hop that did nothing wrong (red team rt10, finding 8); then named as the server's line,
a finding. Such lines are now left out and counted, as a journal's or container runtime's framing and a log command
leave them out (red team rt62, F3: the same capture got three answers); a line read one at a time (a live file
source) is still named as the server's.

The hclog lines are OpenBao 2.7.2's own (`bao server -dev`, stderr).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.auditlog.model import BadLine
from pytest_auditready.auditlog.source import read_line
from pytest_auditready.auditlog.vault_json import SERVER_OUTPUT
from pytest_auditready.cli import main

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
HCLOG = [
    '2026-12-03T16:44:00.884Z [INFO]  core: Initializing version history cache for core',
    '2026-12-03T16:44:00.899Z [INFO]  core: successfully mounted: type=system version="v2.7.2+builtin.bao" '
    'path=sys/ namespace="ID: root. Path: "',
    '2026-12-03T16:44:00.884Z [WARN]  no `api_addr` value specified in config or in BAO_API_ADDR; falling back to '
    'detection if possible, but this value should be manually set',
]


def test_server_lines_among_the_entries_are_left_out_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = CLEAN.read_text().splitlines()
    at = (30, 61, 95)  # 1-based line numbers the server's lines land on
    for n, text in zip(at, HCLOG):
        lines.insert(n - 1, text)
    log = tmp_path / "vault-0.log"
    log.write_text("\n".join(lines) + "\n")
    log.chmod(0o600)
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    report = tmp_path / "report.json"
    assert main(["verify", str(log), "--config", str(config), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    doc = json.loads(report.read_text())
    assert [f for o in doc["outcomes"] for f in o["findings"]] == []  # the entries around them are whole
    assert [(f.get("framing"), f.get("left_out")) for f in doc["files"]] == [("merged", len(at))]
    assert "left out" in out


def test_a_live_file_source_says_the_same() -> None:
    """A live file device's line goes through the same parser (a log command that merges the streams leaves such
    lines out instead: auditlog.source.SERVER_LINE)."""
    bad = read_line("audit.log", 7, HCLOG[0].encode())
    assert isinstance(bad, BadLine) and bad.reason == SERVER_OUTPUT
    assert not isinstance(read_line("cmd", 1, CLEAN.read_text().splitlines()[3].encode()), BadLine)
