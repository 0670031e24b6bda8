"""A URL target's log file holds what was written before the run began: the terminal said "100 lines read" of the
run's own window while retention judged all 237 (red team rt95, F6a; evidence.json alone explained it). The
per-file line is now followed by what the file holds and which checks read all of it. A real OpenBao on loopback."""

from __future__ import annotations

import re

import pytest

from tests.auditrun import run_audit
from tests.test_unseen_live import admin

pytestmark = pytest.mark.vault


def test_the_lines_written_before_the_run_are_said(pytester, bao, url_env):
    server = bao()
    url_env(server)
    root = admin(server)
    for n in range(5):  # entries before the run: not the run's
        assert root.call("GET", "sys/mounts").status == 200, n
    run = run_audit(pytester, server, None, seal=False, retention_days=1)
    out = run.result.stdout.str()
    said = re.search(r"the file holds (\d+) lines: the (\d+) written before this run began are no entries of the run"
                     r"(?: \(([a-z_, ]+) read the whole file\))?", out)
    assert said is not None, out[-3000:]
    held, before = int(said.group(1)), int(said.group(2))
    read = re.search(r"\(vault\): (\d+) lines read", out)
    assert read is not None and before >= 10 and held == before + int(read.group(1)), out[-3000:]
    assert "retention" in (said.group(3) or ""), said.group(0)
