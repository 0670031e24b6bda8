"""Run `auditready verify` in process on a log a test writes, and read back where each check's findings are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main


def verify_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], config: str, *args: str,
                 name: str = "audit.log") -> tuple[int, dict[str, list[int]], str]:
    """Write ``lines`` as the log ``name`` (mode 0600) and ``config`` as its settings, and verify it with a JSON
    report: the exit code, the line of each check's findings in order (0 for a finding that names no line), and the
    terminal's text followed by the report's."""
    log = tmp_path / name
    log.write_text("".join(ln + "\n" for ln in lines))
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(config)
    out = tmp_path / "out.json"
    rc = main(["verify", str(log), "--config", str(cfg), "--json", str(out), *args])
    text = capsys.readouterr().out
    written = out.read_text()
    found: dict[str, list[int]] = {}
    for o in json.loads(written)["outcomes"]:
        for f in o["findings"]:
            where = f.get("where") or ""
            found.setdefault(o["check"], []).append(int(where.rsplit(":", 1)[-1]) if where[-1:].isdigit() else 0)
    return rc, found, text + written
