"""README's log_command recipes, run where their real component runs here (issue 15).

journald: the vault's audit lines go into a real journal file, written by systemd-journal-remote (Debian package
``systemd-journal-remote``) from journal export records, as journald stores a unit's output. The README recipe
``journalctl -o cat -f -n 100 -u openbao`` reads it, with ``--file`` added because no journald runs here. The
other recipes (Kubernetes, Loki, Elastic, Splunk, CloudWatch) need a cluster or a service, or AWS CLI v2 (here is
v1, without ``logs tail``). They are not run, and a stand-in is not a SIEM.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.auditrun import assert_no_secret_in_outputs, run_audit

JOURNAL_REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
                       if os.access(p, os.X_OK)), None)
pytestmark = [
    pytest.mark.vault,
    # .ci/run installs them: under CI the tests run (and fail) rather than skip a missing install step
    pytest.mark.skipif((JOURNAL_REMOTE is None or shutil.which("journalctl") is None) and not os.environ.get("CI"),
                       reason="needs systemd-journal-remote (Debian package systemd-journal-remote) and journalctl"),
]


class Journal:
    """The unit ``openbao.service``'s output in a journal file: each new line of ``src`` becomes one journal entry
    (MESSAGE = the line), written by a real systemd-journal-remote."""

    def __init__(self, src: Path, journal: Path) -> None:
        assert JOURNAL_REMOTE is not None
        self.path = journal
        self._src = src
        self._proc = subprocess.Popen([JOURNAL_REMOTE, "-o", str(journal), "-"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._stop = threading.Event()
        self._n = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _entry(self, line: bytes) -> bytes:
        self._n += 1
        return (f"__REALTIME_TIMESTAMP={time.time_ns() // 1000}\n__MONOTONIC_TIMESTAMP={self._n}\n"
                "_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=openbao.service\n"
                "SYSLOG_IDENTIFIER=bao\n").encode() + b"MESSAGE=" + line + b"\n\n"

    def _run(self) -> None:
        assert self._proc.stdin is not None
        with open(self._src, "rb") as f:
            tail = b""
            while not self._stop.is_set():
                data = f.read()
                if not data:
                    time.sleep(0.02)
                    continue
                lines = (tail + data).split(b"\n")
                tail = lines.pop()
                self._proc.stdin.write(b"".join(self._entry(ln) for ln in lines if ln.strip()))
                self._proc.stdin.flush()

    def wait_for_file(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not (self.path.exists() and self._n) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.path.exists(), "systemd-journal-remote wrote no journal file"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Any]:
    made: list[Journal] = []

    def make(src: Path) -> Journal:
        j = Journal(src, tmp_path / "remote.journal")
        made.append(j)
        return j

    yield make
    for j in made:
        j.stop()


def _recipe(journal: Path, unit: str = "openbao") -> str:
    # README: journalctl -o cat -f -n 100 -u openbao (plus --file: no journald runs here)
    return f"journalctl --file={shlex.quote(str(journal))} -o cat -f -n 100 -u {unit} --no-pager"


def test_journald_recipe_reads_a_real_journal(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                              journal: Any) -> None:
    server = bao()
    url_env(server)
    j = journal(server.log_path)
    from pytest_auditready.vault.client import VaultClient

    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        c.call("GET", "sys/health")  # a first line, so the journal file exists before journalctl opens it
    finally:
        c.close()
    j.wait_for_file()
    run = run_audit(pytester, server, None, f"--auditready-log-command={_recipe(j.path)}", seal=False,
                    log_wait=5.0)
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert run.failed_checks() == set()
    assert "log_command[journalctl]" in run.result.stdout.str()
    assert_no_secret_in_outputs(run)


def test_journald_recipe_with_the_wrong_unit_is_refused_naming_the_hop(
        pytester: pytest.Pytester, bao: Any, url_env: Any, journal: Any) -> None:
    """A command that prints none of the run's entries gave nothing to judge: refused in one line (exit 2) naming
    it, not ~38 findings whose fixes blame the vault's filters (red team rt7, F2)."""
    server = bao()
    url_env(server)
    j = journal(server.log_path)
    from pytest_auditready.vault.client import VaultClient

    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        c.call("GET", "sys/health")
    finally:
        c.close()
    j.wait_for_file()
    run = run_audit(pytester, server, None, f"--auditready-log-command={_recipe(j.path, 'vault')}", seal=False,
                    log_wait=1.0)
    assert run.result.ret == 2, run.result.stdout.str()[-2000:]
    out = run.result.stdout.str() + run.result.stderr.str()
    assert "the log command 'journalctl' printed" in out and "it does not print this vault's audit log" in out
