"""The live log source across rotation: entries read before a rename are named by the file's new name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_auditready.auditlog.source import FileLogSource, LogBatch


def _line(i: int) -> bytes:
    return json.dumps({"time": f"2026-01-05T08:00:0{i}.123456789Z", "type": "request",
                       "request": {"id": f"r{i}", "path": f"secret/data/c{i}", "operation": "read"}}).encode() + b"\n"


def _where(batch: LogBatch) -> list[str]:
    return [f"{Path(e.file).name}:{e.line}" for e in batch.entries] + [
        f"{Path(b.file).name}:{b.line} (bad)" for b in batch.bad_lines]


def test_entries_read_before_a_rename_name_the_rotated_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(_line(0))  # before the run: not this run's
    src = FileLogSource(log)
    src.mark()
    batch = LogBatch()
    with open(log, "ab") as f:
        f.write(_line(1) + b"not json\n")
    src.poll(batch)
    assert _where(batch) == ["audit.log:2", "audit.log:3 (bad)"]
    with open(log, "ab") as f:
        f.write(_line(2))  # written just before the rotation, read by the poll that notices it
    os.rename(log, tmp_path / "audit.log.1")
    log.write_bytes(_line(3))
    src.poll(batch)
    src.close()
    assert _where(batch) == ["audit.log.1:2", "audit.log.1:4", "audit.log:1", "audit.log.1:3 (bad)"]
    # each named line is the entry's own line in the file it names now
    for e in batch.entries:
        assert json.loads(Path(e.file).read_bytes().splitlines()[e.line - 1])["request"]["id"] == e.request_id


def test_a_rotated_file_that_is_gone_keeps_the_path_it_was_read_from(tmp_path: Path) -> None:
    log, src, batch = _followed(tmp_path / "logs", b"")
    os.rename(log, log.parent / "elsewhere.gz")  # compressed or moved away: not found beside the log by its inode
    log.write_bytes(_line(2))
    src.poll(batch)
    src.close()
    assert _where(batch) == ["audit.log:1", "audit.log:1"]


def test_what_the_vault_writes_to_the_renamed_file_before_it_reopens_its_path_is_read(tmp_path: Path) -> None:
    """logrotate's create makes the new file before its postrotate SIGHUP: until the vault reopens its path, its
    entries go on into the renamed file. Read at the next poll, under the rotated name, after what the first held
    (before: lost once the source followed the path)."""
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    src = FileLogSource(log)
    src.mark()
    batch = LogBatch()
    with open(log, "ab") as old:
        old.write(_line(1))
        os.rename(log, tmp_path / "audit.log.1")
        log.write_bytes(b"")  # created, empty: the vault has not reopened yet
        src.poll(batch)
        old.write(_line(2))  # still written to the renamed file
        old.flush()
        src.poll(batch)
    with open(log, "ab") as new:  # reopened: now the path
        new.write(_line(3))
    src.poll(batch)
    src.close()
    assert _where(batch) == ["audit.log.1:1", "audit.log.1:2", "audit.log:1"]


def _copytruncate(log: Path, compress: bool = False) -> None:
    """The real logrotate once (forced), copytruncate: a copy beside the log, then the log cut to nothing."""
    exe = shutil.which("logrotate") or shutil.which("logrotate", path="/usr/sbin:/sbin")
    if exe is None:
        pytest.skip("logrotate is not installed (apt-get install logrotate)")
    conf = log.parent.parent / "logrotate.conf"
    conf.write_text(f"{log} {{\ncopytruncate\nrotate 5\n{'compress' if compress else ''}\n}}\n")
    conf.chmod(0o600)
    subprocess.run([exe, "-f", "-s", str(log.parent.parent / "logrotate.state"), str(conf)], check=True, timeout=30,
                   capture_output=True)


def _followed(folder: Path, before: bytes) -> tuple[Path, FileLogSource, LogBatch]:
    """folder/audit.log holding ``before`` (not the run's), followed from its end, then _line(1) written and read."""
    folder.mkdir()
    log = folder / "audit.log"
    log.write_bytes(before)
    log.chmod(0o600)
    src = FileLogSource(log)
    src.mark()
    batch = LogBatch()
    with open(log, "ab") as f:
        f.write(_line(1))
    src.poll(batch)
    return log, src, batch


def test_a_log_cut_by_copytruncate_is_read_on_in_its_copy(tmp_path: Path) -> None:
    """Entries written after the last poll and before logrotate's copytruncate are in the copy beside the log, not
    gone (red team rt40, F5: every action of the run was "no request and no response entry"); the entries read
    before are named by the copy, where their lines now are."""
    log, src, batch = _followed(tmp_path / "logs", _line(0))
    with open(log, "ab") as f:
        f.write(_line(2) + _line(3))  # not polled yet
    folder = log.parent
    _copytruncate(log)
    assert log.stat().st_size == 0 and (folder / "audit.log.1").exists()
    with open(log, "ab") as f:
        f.write(_line(4))
    src.poll(batch)
    src.poll(batch)  # the copy is not read twice
    src.close()
    assert _where(batch) == ["audit.log.1:2", "audit.log.1:3", "audit.log.1:4", "audit.log:1"]
    for e in batch.entries:
        assert json.loads(Path(e.file).read_bytes().splitlines()[e.line - 1])["request"]["id"] == e.request_id


def test_a_log_cut_with_no_copy_beside_it_is_read_again_from_its_start(tmp_path: Path) -> None:
    """Compressed at once (compress without delaycompress), or cut by hand: the unread lines are gone, and what was
    read keeps its name; the checks then say which actions are missing."""
    for compress in (True, False):
        log, src, batch = _followed(tmp_path / f"logs{compress}", b"")
        folder = log.parent
        with open(log, "ab") as f:
            f.write(_line(2))
        if compress:
            _copytruncate(log, compress=True)
            assert (folder / "audit.log.1.gz").exists() and not (folder / "audit.log.1").exists()
        else:
            os.truncate(log, 0)
        with open(log, "ab") as f:
            f.write(_line(3))
        src.poll(batch)
        src.close()
        assert _where(batch) == ["audit.log:1", "audit.log:1"], compress
        assert [e.request_id for e in batch.entries] == ["r1", "r3"]


def test_the_position_a_file_source_has_passed_is_its_lines_and_bytes_until_a_rotation(tmp_path: Path) -> None:
    """What a URL target's accounting states of the file's history (engine.live ``_place``: the lines before the
    run, the run's window) is the source's position: the lines and bytes it passed."""
    from pytest_auditready.engine.live import _place

    log = tmp_path / "audit.log"
    log.write_bytes(_line(0) + _line(1))  # the file's history before the run
    src = FileLogSource(log)
    src.mark()
    assert src.position == (2, len(_line(0) + _line(1)))
    assert _place(src, "before") == {"path": str(log), "lines_before": 2, "bytes_before": len(_line(0) + _line(1))}
    with open(log, "ab") as f:
        f.write(_line(2))
    batch = LogBatch()
    src.poll(batch)
    assert src.position == (3, log.stat().st_size)
    assert _place(src, "after") == {"path": str(log), "lines_after": 3, "bytes_after": log.stat().st_size}
    src.close()
