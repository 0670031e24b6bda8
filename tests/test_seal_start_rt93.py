"""`auditready seal` started just before a rotation (red team rt93, F5): the sealer opens the log a moment after it
was started (imports; on a loaded host, seconds), and a rotation in between left the file the log then was unsealed
for good ("rotated before sealing began"), though sealing had been asked for before it was rotated. A new chain now
seals first the newest rotated file renamed after the sealer's start; one rotated before it still fails.

Real OpenBao lines (fixtures/openbao/clean.log); the sealer and the verifier as the CLI runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_auditready.cli import main
from pytest_auditready.seal import Sealer, load_private_key
from pytest_auditready.seal.sealer import process_started
from tests.sealing import keys_and_logs

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
LINES = CLEAN.read_bytes().splitlines(keepends=True)


def _write(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(lines))
    path.chmod(0o600)


def _rotate(logs: Path) -> None:
    """logrotate's rename and create, and the vault writing the new file."""
    (logs / "audit.log").rename(logs / "audit.log.1")
    _write(logs / "audit.log", LINES[20:40])


def _verify(capsys: pytest.CaptureFixture[str], logs: Path, keys: Path) -> tuple[int, str]:
    cfg = logs.parent / "auditready.toml"
    cfg.write_text("retention_days = 0\n")  # (a set of minutes: no history is asked of it)
    capsys.readouterr()
    rc = main(["-q", "verify", str(logs), "--public-key", str(keys / "seal.pub"), "--config", str(cfg)])
    return rc, capsys.readouterr().out


def _seal(log: Path, keys: Path, started_at: float) -> list[str]:
    notes: list[str] = []
    with Sealer(log, load_private_key(keys / "seal"), started_at=started_at,
                on_note=lambda kind, text: notes.append(text)) as s:
        s.seal_once()
    return notes


def test_a_rotation_after_the_sealer_started_is_sealed_first(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    keys, logs, log = keys_and_logs(tmp_path)
    _write(log, LINES[:20])
    started = time.time()
    time.sleep(0.1)  # (a rename's ctime is read in the file system's ticks)
    _rotate(logs)
    notes = _seal(log, keys, started)
    assert any(f"{logs / 'audit.log.1'} was rotated away from {log} after the sealer was started" in n
               for n in notes), notes
    assert any(f"sealing of {logs / 'audit.log.1'} begins now" in n for n in notes), notes
    rc, out = _verify(capsys, logs, keys)
    assert rc == 0, out


def test_a_file_rotated_before_the_sealer_started_still_fails(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    keys, logs, log = keys_and_logs(tmp_path)
    _write(log, LINES[:20])
    _rotate(logs)
    time.sleep(0.2)
    notes = _seal(log, keys, time.time())
    assert not any("rotated away" in n for n in notes), notes
    rc, out = _verify(capsys, logs, keys)
    assert rc == 1 and "FAIL tamper_evidence" in out and "audit.log.1" in out, out


def test_only_the_newest_rotated_file_is_taken_and_only_for_a_new_chain(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """One rotation renames every file: audit.log.1 to .2 as well. Only the newest was the log when the sealer was
    started; the older one fails as before. A chain already begun is resumed by its records, not by this."""
    keys, logs, log = keys_and_logs(tmp_path)
    _write(log, LINES[:20])
    _rotate(logs)
    started = time.time()
    time.sleep(0.1)
    (logs / "audit.log.1").rename(logs / "audit.log.2")
    _rotate(logs)
    notes = _seal(log, keys, started)
    assert [n for n in notes if "rotated away" in n] == [
        f"{logs / 'audit.log.1'} was rotated away from {log} after the sealer was started and before it opened the "
        "log: sealed first, as segment 0"]
    rc, out = _verify(capsys, logs, keys)
    assert rc == 1 and "audit.log.2" in out and "holds no segment" in out, out
    _write(log, LINES[40:44])
    assert not any("rotated away" in n for n in _seal(log, keys, started))  # the chain has records: resumed


def test_the_process_start_is_read_from_proc() -> None:
    started = process_started()
    if not os.path.exists("/proc/self/stat"):
        assert started is None
        return
    assert started is not None and started <= time.time()
    code = "import time; from pytest_auditready.seal.sealer import process_started; print(time.time() - process_started())"
    age = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               check=True).stdout)
    assert 0 <= age < 30, age  # a fresh process: started moments ago (its imports)
