"""A throw-away server that stops while the bootstrap runs is named as the cause (red team rt95, F6d): the run said
"the bootstrap './bootstrap.sh' failed (exit 2): ... connection refused; fix: run it by hand", blaming the team's
script for a server that was killed under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_vault_config import audit_config, copy_example

# Kills the bao process that listens on VAULT_ADDR's port (found in /proc by its -dev-listen-address), then asks it.
_KILLS_THE_SERVER = """#!/bin/sh
port=${VAULT_ADDR##*:}
for p in /proc/[0-9]*; do
  if tr '\\000' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- "-dev-listen-address=127.0.0.1:$port "; then
    kill -9 "${p#/proc/}"
  fi
done
sleep 1
bao secrets list
"""


@pytest.mark.vault
def test_a_server_killed_during_the_bootstrap_is_named_not_the_bootstrap(pytester: pytest.Pytester,
                                                                        tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    (folder / "bootstrap.sh").write_text(_KILLS_THE_SERVER)
    (folder / "bootstrap.sh").chmod(0o755)
    run = audit_config(pytester, folder)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, out[-2000:]
    assert "the throw-away OpenBao stopped (status -9) while the bootstrap './bootstrap.sh' ran" in out, out[-2000:]
    assert "Traceback" not in out
