"""A second audit device writing to the server's standard output (``file_path = "stdout"``) keeps the vault serving
when the file devices fail: fail_closed's drill finds it, and its finding now names the stanza's line as the
configuration declared it (red team rt95, F6f: "discard" carried it, "stdout" did not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_vault_config import _append, audit_config, copy_example, line_of


@pytest.mark.vault
def test_the_drill_s_finding_names_the_stdout_device_s_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    _append(folder / "server.hcl", 'audit "file" "console" {\n  options {\n    file_path = "stdout"\n  }\n}\n')
    run = audit_config(pytester, folder)
    assert "fail_closed" in run.failed_checks(), run.result.stdout.str()[-3000:]
    said = run.text("fail_closed")
    assert "The vault served a request it could not record" in said, said
    at = line_of(folder / "server.hcl", 'file_path = "stdout"')
    assert f"[{at}" in said, said  # the finding's place (file:line), not only its text
