"""Defects of the FILES a log is kept in and of the transports it travelled through, planted one a case in correct
sets made by real components, each judged by `auditready verify`: a finding naming the file (and line, where there
is one), or a one-line refusal (exit 2); never a pass, a traceback or a hang. The correct sets give no finding.

- A numbered set rotated by the real logrotate (compress, delaycompress, create; each rotation splits a pair) and a
  daily set (one file a day, pairs whole: only the names and days tie the files together), of real OpenBao entries
  (fixtures/openbao/clean.log): a member deleted, emptied, truncated, replaced by another day's file (a copy, a hard
  link, a symlink), renamed out of order, two members swapped; a .gz emptied, truncated, with a bad CRC, of
  concatenated members, holding another file than its name says.
- copytruncate with a writer that keeps its offset (no O_APPEND): a run of NUL bytes at the start of the live file.
- A sealed log and a sealed set (`auditready seal`): lines edited, inserted, reordered; the chain cut, emptied,
  without its last record, swapped with another log's chain, signed by another key; a sealed file deleted.
- A syslog hop (a real rsyslogd where installed): rsyslog's "message repeated N times", the relay's own lines and
  its "messages lost" notices, journald's "Suppressed N messages", control characters escaped (#011, #012), RFC 5424
  sequence numbers with a gap.
- Object storage (the loopback S3 server): an object of 0 bytes, an object deleted between listing and reading, a
  prefix holding another producer's logs.

What no file of an unsealed set can show is a limit: the oldest file deleted (what rotation deletes), the
live log deleted (what logrotate's olddir leaves), whole pairs cut from a file's tail, a plain rotated file emptied
(logrotate's ifempty leaves one for an idle day): only a seal (tested below) or retention's span tells them.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

from pytest_auditready.cli import main
from tests.test_retention import days_between
from tests.test_unseen_rotation import (
    RETAIN_14,
    STREAM,
    D,
    _config,
    _daily_set,
    _failed,
    _logrotate,
    _numbered_set,
    _verify,
)

Build = Callable[[Path], None]
K8S_LOG = (Path(__file__).resolve().parents[1] / "fixtures" / "k8s" / "real" / "correct.log").read_bytes()


def _findings(out: str, check: str = "") -> list[str]:
    """The finding lines (``  - [where] text``) under the FAIL lines of ``check`` (of every check when empty)."""
    said, keep = [], False
    for ln in out.splitlines():
        if ln.startswith("FAIL "):
            keep = not check or ln.split()[1] == check
        elif ln.startswith("  - ") and keep:
            said.append(ln)
        elif not ln.startswith("  "):
            keep = False
    return said


def _names(out: str, path: Path, check: str = "") -> list[str]:
    """The findings of ``check`` that name ``path`` where they are (``[path]`` or ``[path:line...``)."""
    return [ln for ln in _findings(out, check) if ln.startswith(f"  - [{path}]") or ln.startswith(f"  - [{path}:")]


def _refused(rc: int, out: str, *words: str) -> None:
    lines = out.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("auditready: ") and "; fix: " in lines[0], out
    assert all(w in lines[0] for w in words), out


def _swap(a: Path, b: Path) -> None:
    t = a.with_name(a.name + ".swap")
    a.rename(t)
    b.rename(a)
    t.rename(b)


def _cut_tail(p: Path, n: int) -> None:
    p.write_bytes(p.read_bytes()[:-n])


# -- a numbered set: 12 files, every rotation splitting a pair ------------------------------------------------------
@pytest.fixture(scope="module")
def numbered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One numbered set made by logrotate, copied for each case (logrotate runs 11 times once a module)."""
    logs = tmp_path_factory.mktemp("numbered") / "logs"
    _numbered_set(logs, 12)
    return logs


def _copy(src: Path, tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    shutil.copytree(src, logs)
    return logs


def test_the_numbered_set_gives_no_finding(numbered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _copy(numbered, tmp_path)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out
    # the same file named twice (by another spelling) and a link to a member under a name outside the rotation
    # (rotatelogs -L, cronolog --symlink): judged once, no finding
    os.link(logs / "audit.log.6.gz", logs / "current.gz")
    os.symlink(logs / "audit.log", logs / "live")
    rel = "./" + os.path.relpath(logs / "audit.log.3.gz")
    rc, out = _verify(capsys, _config(tmp_path), logs, logs / "audit.log.1", rel)
    assert rc == 0 and not _failed(out), out


def _gz_member_twice(p: Path) -> None:
    p.write_bytes(p.read_bytes() * 2)  # the same gzip member twice: every entry of it written again


def _gz_split_members(p: Path) -> None:
    """Still correct: the file's entries as two gzip members one after the other (gzip -c a >> f; gzip -c b >> f)."""
    lines = gzip.decompress(p.read_bytes()).splitlines(keepends=True)
    half = len(lines) // 2
    p.write_bytes(gzip.compress(b"".join(lines[:half])) + gzip.compress(b"".join(lines[half:])))


def _bad_crc(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-8] ^= 0xFF
    p.write_bytes(bytes(data))


# (case, the defect, the file the finding must name, the check that says it)
NUMBERED: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("middle plain deleted", lambda d: (d / "audit.log.1").unlink(), "audit.log", "completeness"),
    ("middle gz deleted", lambda d: (d / "audit.log.5.gz").unlink(), "audit.log.4.gz", "completeness"),
    ("plain emptied", lambda d: (d / "audit.log.1").write_bytes(b""), "audit.log", "completeness"),
    ("gz emptied to 0 bytes", lambda d: (d / "audit.log.5.gz").write_bytes(b""), "audit.log.5.gz", "completeness"),
    ("gz replaced by an empty one", lambda d: (d / "audit.log.5.gz").write_bytes(gzip.compress(b"")),
     "audit.log.4.gz", "completeness"),
    ("tail lines cut", lambda d: (d / "audit.log.1").write_bytes(
        b"".join((d / "audit.log.1").read_bytes().splitlines(keepends=True)[:-3])), "audit.log", "completeness"),
    ("cut mid-line", lambda d: _cut_tail(d / "audit.log.1", 40), "audit.log.1", "required_fields"),
    ("gz member twice", lambda d: _gz_member_twice(d / "audit.log.5.gz"), "audit.log.5.gz", "completeness"),
    ("gz holds another file", lambda d: shutil.copy(d / "audit.log.8.gz", d / "audit.log.5.gz"), "audit.log.4.gz",
     "completeness"),
    ("two members swapped", lambda d: _swap(d / "audit.log.5.gz", d / "audit.log.6.gz"), "audit.log.6.gz",
     "completeness"),
    ("renamed out of order", lambda d: (d / "audit.log.5.gz").rename(d / "audit.log.15.gz"), "audit.log.15.gz",
     "completeness"),
    ("hard link in a member's place", lambda d: ((d / "audit.log.5.gz").unlink(),
                                                os.link(d / "audit.log.6.gz", d / "audit.log.5.gz")),
     "audit.log.5.gz", "completeness"),
    ("symlink in a member's place", lambda d: ((d / "audit.log.5.gz").unlink(),
                                              os.symlink(d / "audit.log.6.gz", d / "audit.log.5.gz")),
     "audit.log.4.gz", "completeness"),
]


@pytest.mark.parametrize("case, defect, named, check", NUMBERED, ids=[c[0] for c in NUMBERED])
def test_a_defect_of_a_numbered_set_is_a_finding_naming_the_file(numbered: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str], case: str,
                                                                 defect: Build, named: str, check: str) -> None:
    logs = _copy(numbered, tmp_path)
    defect(logs)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    assert _names(out, logs / named, check), (case, out)


def _renamed(logs: Path, log: str) -> None:
    """Each file of the set under ``log``'s name instead of audit.log's (vault-0-audit.log.3, ...)."""
    for p in sorted(logs.iterdir()):
        if p.name.startswith("audit.log"):
            p.rename(logs / (log + p.name[len("audit.log"):]))


RENAMED = [c for c in NUMBERED if "symlink" not in c[0]]  # (a link to a path that is renamed dangles)


@pytest.mark.parametrize("case, defect, named, check", RENAMED, ids=[c[0] for c in RENAMED])
def test_a_defect_of_a_set_whose_log_name_holds_a_digit_is_found_as_well(
        numbered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, defect: Build, named: str,
        check: str) -> None:
    """A node's or a device's log named with a digit (vault-0-audit.log, audit2.log, host1.audit.log): its rotated
    files are one rotation as audit.log's are. Before, a file replaced by a copy of another passed, named "judged
    once", and swapped files passed (red team rt52 F3)."""
    log = "vault-0-audit.log"
    logs = _copy(numbered, tmp_path)
    defect(logs)
    _renamed(logs, log)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    assert _names(out, logs / (log + named[len("audit.log"):]), check), (case, out)


@pytest.mark.parametrize("log", ["vault-0-audit.log", "audit2.log", "host1.audit.log"])
def test_a_set_whose_log_name_holds_a_digit_gives_no_finding(numbered: Path, tmp_path: Path, log: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    logs = _copy(numbered, tmp_path)
    _renamed(logs, log)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


def test_a_gz_of_concatenated_members_is_read_whole(numbered: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    logs = _copy(numbered, tmp_path)
    _gz_split_members(logs / "audit.log.5.gz")
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


@pytest.mark.parametrize("damage", [lambda p: _cut_tail(p, len(p.read_bytes()) // 2), lambda p: _cut_tail(p, 8),
                                    _bad_crc], ids=["truncated", "trailer cut", "bad crc"])
def test_a_damaged_gz_member_is_refused_in_one_line_naming_it(numbered: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              damage: Callable[[Path], None]) -> None:
    logs = _copy(numbered, tmp_path)
    damage(logs / "audit.log.5.gz")
    rc, out = _verify(capsys, _config(tmp_path), logs)
    _refused(rc, out, f"cannot read {logs / 'audit.log.5.gz'}")


def test_the_oldest_and_the_newest_file_deleted_leave_no_trace_without_a_seal(numbered: Path, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]
                                                                              ) -> None:
    """The limit, stated: the oldest file is what rotation deletes, and a folder without its live log is what olddir
    leaves; only a seal (below) or retention's span tells them. Each is then judged as the smaller set it is."""
    logs = _copy(numbered, tmp_path)
    (logs / "audit.log.11.gz").unlink()
    (logs / "audit.log").unlink()
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


# -- a daily set: one file a day, every pair whole ------------------------------------------------------------------
@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("daily") / "logs"
    _daily_set(logs, days_between(D(2026, 11, 1), D(2026, 11, 15)))
    return logs


def test_the_daily_set_gives_no_finding(daily: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _copy(daily, tmp_path)
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 0 and not _failed(out), out
    # an idle day rotated by logrotate (ifempty, compress): an empty gzip stream is what it writes
    (logs / "audit.log.4.gz").write_bytes(gzip.compress(b""))
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 0 and not _failed(out), out


DAILY: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("replaced by another day's file", lambda d: shutil.copy(d / "audit.log.7.gz", d / "audit.log.3.gz"),
     "audit.log.7.gz", "completeness"),
    ("a hard link to another day", lambda d: ((d / "audit.log.3.gz").unlink(),
                                              os.link(d / "audit.log.7.gz", d / "audit.log.3.gz")),
     "audit.log.7.gz", "completeness"),
    ("a symlink to another day", lambda d: ((d / "audit.log.3.gz").unlink(),
                                            os.symlink(d / "audit.log.7.gz", d / "audit.log.3.gz")),
     "audit.log.7.gz", "completeness"),
    ("two days swapped", lambda d: _swap(d / "audit.log.5.gz", d / "audit.log.6.gz"), "audit.log.6.gz",
     "completeness"),
    ("the newest rotated and the live file swapped", lambda d: _swap(d / "audit.log.1", d / "audit.log"),
     "audit.log", "completeness"),
    ("a day renamed out of order", lambda d: (d / "audit.log.5.gz").rename(d / "audit.log.15.gz"),
     "audit.log.15.gz", "completeness"),
    ("a day's gz emptied to 0 bytes", lambda d: (d / "audit.log.4.gz").write_bytes(b""), "audit.log.4.gz",
     "completeness"),
    ("a middle day deleted", lambda d: (d / "audit.log.4.gz").unlink(), "audit.log.14.gz", "retention"),
    ("a later day's gz member concatenated", lambda d: (d / "audit.log.9.gz").write_bytes(
        (d / "audit.log.9.gz").read_bytes() + (d / "audit.log.5.gz").read_bytes()), "audit.log.9.gz", "completeness"),
]


@pytest.mark.parametrize("case, defect, named, check", DAILY, ids=[c[0] for c in DAILY])
def test_a_defect_of_a_daily_set_is_a_finding_naming_the_file(daily: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str], case: str,
                                                              defect: Build, named: str, check: str) -> None:
    """Every pair is whole within its day: before, a day replaced by a copy of another (judged once, as a twin), two
    days swapped or renamed (ordered by time, whatever their names), an emptied .gz (excused as a log just rotated)
    and a later day's gzip member concatenated to an older file (the set overlapping in time was taken for several
    writers and not judged) passed; the day gap each leaves is within retention_max_gap_days."""
    logs = _copy(daily, tmp_path)
    defect(logs)
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 1, out
    assert _names(out, logs / named, check), (case, out)


def test_a_day_deleted_with_retention_off_is_still_a_finding(daily: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """retention_days = 0 asks for no history, not for a set with a hole: a rotated file missing between two present
    ones of a numbered set is a completeness finding then (before, the set passed: each day's pairs are whole and
    retention, which names such a gap, was off). The oldest file deleted is no gap (rotation deletes it)."""
    logs = _copy(daily, tmp_path)
    (logs / "audit.log.14.gz").unlink()
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out
    (logs / "audit.log.4.gz").unlink()
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    said = _names(out, logs / "audit.log.13.gz", "completeness")
    assert len(said) == 1 and f"{logs / 'audit.log'}.4 is not in the log set" in said[0], out
    assert "FAIL retention" not in out


def test_the_parallel_path_finds_the_same_set_defects(daily: Path, tmp_path: Path) -> None:
    """engine.parallel finishes each file from its parts: a day replaced, two swapped and a .gz emptied are found
    there as one process finds them."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks
    from pytest_auditready.engine.parallel import verify_files

    logs = _copy(daily, tmp_path)
    shutil.copy(logs / "audit.log.7.gz", logs / "audit.log.3.gz")
    _swap(logs / "audit.log.10.gz", logs / "audit.log.11.gz")
    (logs / "audit.log.13.gz").write_bytes(b"")
    paths = sorted(str(p) for p in logs.iterdir())
    checks = offline_checks(BUILTIN)

    def said(jobs: int) -> list[tuple[str, str, tuple[str, ...]]]:
        results = verify_files(Settings(require_tamper_evidence=False, retention_days=0), checks, {}, paths, jobs,
                               min_bytes=0)
        return [(r.path, o.status, tuple(f.where for f in o.findings)) for r in results for o in r.outcomes
                if o.check_id == "completeness"]

    one = said(1)
    assert one == said(2)
    where = {w for _, _, ws in one for w in ws}
    assert {str(logs / n) for n in ("audit.log.7.gz", "audit.log.11.gz", "audit.log.13.gz")} <= where, one


def test_the_logs_of_numbered_nodes_are_no_rotation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """vault-0.log, vault-1.log, vault-2.log (a StatefulSet's pods, each its own audit log, overlapping in time):
    numbers after "-" name writers, not rotated files, so their order in time says nothing (logrotate's numbers
    follow a "."); the set passes."""
    from tests.test_unseen_rotation import _write

    pairs = [STREAM[i:i + 2] for i in range(0, len(STREAM), 2)]
    logs = tmp_path / "logs"
    logs.mkdir()
    for node in range(3):
        _write(logs / f"vault-{node}.log", [ln for p in pairs[node::3] for ln in p])
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


def test_a_kubernetes_watch_ending_in_the_live_file_is_no_misnamed_file(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The API server writes a watch's event when it ends, with the requestReceivedTimestamp of its start (40 min
    before): the live audit.log then opens with a time older than its lumberjack backup's first. Kubernetes times
    never order a set's files, so this correct set passes."""
    events = K8S_LOG.splitlines()
    watch = json.loads(events[9])
    watch.update(verb="watch", requestReceivedTimestamp="2026-01-05T07:20:00.418273Z")
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, lines in (("audit-2026-01-05T08-00-05.000.log", events[:8]),
                        ("audit.log", [json.dumps(watch, separators=(",", ":")).encode(), *events[8:]])):
        (logs / name).write_bytes(b"".join(ln + b"\n" for ln in lines))
        (logs / name).chmod(0o600)
    assert json.loads(events[0])["requestReceivedTimestamp"] > "2026-01-05T07:20"
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


def test_dated_names_out_of_time_order_are_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """dateext: a later date holds older entries (two days' files swapped): the order of dates is the order of time."""
    logs = tmp_path / "logs"
    logs.mkdir()
    days = [D(2026, 11, 1), D(2026, 11, 2), D(2026, 11, 3)]
    from tests.test_unseen_rotation import _on_day, _write

    for i, day in enumerate(days):
        _write(logs / f"audit.log-{day:%Y%m%d}.gz", _on_day(day, 2 * i), gz=True)
    _write(logs / "audit.log", _on_day(D(2026, 11, 4), 6))
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out
    _swap(logs / "audit.log-20261101.gz", logs / "audit.log-20261103.gz")
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1 and _names(out, logs / "audit.log-20261102.gz", "completeness"), out
    assert "a rotated file's date grows with time" in out


def _k8s_days(days: Sequence[datetime.date]) -> bytes:
    """A Kubernetes API server's audit log (real events, fixtures/k8s/real) with two events on each of ``days``."""
    out = []
    for day in days:
        for ln in K8S_LOG.splitlines()[:2]:
            d = json.loads(ln)
            for k in ("requestReceivedTimestamp", "stageTimestamp"):
                d[k] = day.isoformat() + d[k][10:]
            out.append(json.dumps(d, separators=(",", ":")).encode() + b"\n")
    return b"".join(out)


def test_another_producers_days_never_fill_the_vaults_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Kubernetes audit log in the vault's log folder (dateext names: no numbering to show a file gone): before,
    retention judged the union of both logs' days, so the API server's entries filled the six days the vault's set
    lost and the set passed. Now each producer's log holds its own history."""
    from tests.test_unseen_rotation import _on_day, _write

    logs = tmp_path / "logs"
    logs.mkdir()
    days = days_between(D(2026, 11, 1), D(2026, 11, 15))
    for i, day in enumerate(days):
        _write(logs / f"audit.log-{day:%Y%m%d}.gz", _on_day(day, 2 * i), gz=True)
    _write(logs / "kube-apiserver-audit.log", [_k8s_days(days)])
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 0 and not _failed(out), out
    for day in days[4:10]:
        (logs / f"audit.log-{day:%Y%m%d}.gz").unlink()
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 1, out
    said = _findings(out, "retention")
    assert len(said) == 1 and "No entry from 2026-11-05 to 2026-11-10 (6 days)" in said[0], out
    assert "kube-apiserver-audit.log" not in said[0]


# -- copytruncate with a writer that keeps its offset ----------------------------------------------------------------
@pytest.mark.parametrize("lost", [0, 4])
def test_copytruncate_under_a_writer_without_o_append_is_refused_naming_the_nul_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lost: int) -> None:
    """OpenBao's file device opens its file with O_APPEND (as Vault's, and rsyslog's omfile), so after copytruncate
    it writes at offset 0. A writer without O_APPEND (lumberjack's new file, opened O_TRUNC) writes on at its old
    offset: the start of the live file reads as NUL bytes, whose length is the bytes copied plus those written
    between the copy and the truncation (lost). Never a pass: one line, naming the file."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "audit.log"
    with open(log, "wb") as f:  # no O_APPEND
        f.write(b"".join(STREAM[:7]))
        f.flush()
        _logrotate(logs, "copy\nrotate 5\nmissingok")
        f.write(b"".join(STREAM[7:7 + lost]))
        f.flush()
        os.truncate(log, 0)
        f.write(b"".join(STREAM[7 + lost:]))
    log.chmod(0o600)
    head = log.read_bytes()
    assert head[:10] == b"\0" * 10 and head.index(b"{") == len(b"".join(STREAM[:7 + lost]))
    rc, out = _verify(capsys, _config(tmp_path), logs)
    _refused(rc, out, str(log), "zero bytes", "copytruncate")


# -- sealed logs -------------------------------------------------------------------------------------------------------
CLEAN_LINES = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines()


@pytest.fixture
def sealed_log(tmp_path: Path) -> dict[str, Path]:
    """A real OpenBao log sealed by `auditready seal` (30 lines a record), its key pair, and a config to verify it."""
    from pytest_auditready.seal import load_private_key, seal, write_keypair

    priv, pub, _ = write_keypair(tmp_path / "k")
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(ln + b"\n" for ln in CLEAN_LINES))
    log.chmod(0o600)
    seal(log, load_private_key(priv), lines_per_record=30)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'retention_days = 0\npublic_key = "{pub}"\n')
    return {"log": log, "priv": priv, "pub": pub, "cfg": cfg, "chain": tmp_path / "audit.log.digests"}


def _lines_of(p: Path) -> list[bytes]:
    return p.read_bytes().splitlines(keepends=True)


def _other_log_chain(s: dict[str, Path]) -> None:
    """The chain of another log sealed with the same key put in this log's chain's place."""
    from pytest_auditready.seal import load_private_key, seal

    other = s["log"].with_name("other.log")
    other.write_bytes(b"".join(ln.replace(b"2026-11-22", b"2026-11-21") + b"\n" for ln in CLEAN_LINES))
    seal(other, load_private_key(s["priv"]), lines_per_record=30)
    shutil.copy(other.with_name("other.log.digests"), s["chain"])
    other.unlink()


def _resealed_with_another_key(s: dict[str, Path]) -> None:
    from pytest_auditready.seal import load_private_key, seal, write_keypair

    priv2, _, _ = write_keypair(s["log"].with_name("k2"))
    s["chain"].unlink()
    seal(s["log"], load_private_key(priv2), lines_per_record=30)


def _edit(p: Path, f: Callable[[list[bytes]], list[bytes]]) -> None:
    p.write_bytes(b"".join(f(_lines_of(p))))


SEALED: list[tuple[str, Callable[[dict[str, Path]], None], str]] = [
    ("a line edited", lambda s: _edit(s["log"], lambda ls: [*ls[:50], ls[50].replace(b'"read"', b'"list"', 1),
                                                            *ls[51:]]), "audit.log"),
    ("a line deleted", lambda s: _edit(s["log"], lambda ls: ls[:70] + ls[71:]), "audit.log"),
    ("a line inserted", lambda s: _edit(s["log"], lambda ls: [*ls[:40], ls[39], *ls[40:]]), "audit.log"),
    ("lines reordered", lambda s: _edit(s["log"], lambda ls: ls[:40] + ls[45:50] + ls[40:45] + ls[50:]),
     "audit.log"),
    ("the chain cut inside a record", lambda s: _cut_tail(s["chain"], 50), "audit.log"),
    ("the chain's last record missing", lambda s: _edit(s["chain"], lambda rs: rs[:-1]), "audit.log"),
    ("the chain emptied", lambda s: s["chain"].write_bytes(b""), "audit.log.digests"),
    ("the chain of another log", _other_log_chain, "audit.log"),
    ("the chain signed by another key", _resealed_with_another_key, ""),
]


@pytest.mark.parametrize("case, defect, where", SEALED, ids=[c[0] for c in SEALED])
def test_a_defect_of_a_sealed_log_is_a_tamper_evidence_finding(sealed_log: dict[str, Path],
                                                               capsys: pytest.CaptureFixture[str], case: str,
                                                               defect: Callable[[dict[str, Path]], None],
                                                               where: str) -> None:
    rc, out = _verify(capsys, sealed_log["cfg"], sealed_log["log"])
    assert f"PASS tamper_evidence {sealed_log['log']}" in out, out
    defect(sealed_log)
    rc, out = _verify(capsys, sealed_log["cfg"], sealed_log["log"])
    said = _findings(out, "tamper_evidence")
    assert rc == 1 and said, (case, out)
    if where:
        assert any(ln.startswith(f"  - [{sealed_log['log'].parent / where}]") for ln in said), (case, said)
    else:
        assert any("signed by another key" in ln for ln in said), said


from tests.test_sealed_set import sealed_set  # noqa: E402,F401  # a real sealed, rotated set (3 files)


@pytest.mark.parametrize("member", ["oldest", "log"])
def test_the_oldest_or_newest_file_of_a_sealed_set_deleted_is_a_finding(sealed_set: dict[str, Path],  # noqa: F811
                                                                        capsys: pytest.CaptureFixture[str],
                                                                        member: str) -> None:
    """What no unsealed set can show (above), the chain does: each segment names its file."""
    s = sealed_set
    logs = s["log"].parent
    capsys.readouterr()
    assert main(["verify", "--jobs", "1", str(logs), "--public-key", str(s["pub"])]) == 0, capsys.readouterr().out
    s[member].unlink()
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", str(logs), "--public-key", str(s["pub"])])
    out = capsys.readouterr().out
    assert rc == 1, out
    said = _findings(out, "tamper_evidence")
    assert said and any("has no file" in ln for ln in said), out


# -- a syslog hop --------------------------------------------------------------------------------------------------
HEADER = b"Dec  1 07:54:37 vault1 bao[812]: "


def _syslog(tmp_path: Path, lines: Sequence[bytes]) -> Path:
    p = tmp_path / "syslog.log"
    p.write_bytes(b"".join(ln + b"\n" for ln in lines))
    p.chmod(0o600)
    return p


def _hop(lines: Sequence[bytes] = CLEAN_LINES) -> list[bytes]:
    return [HEADER + ln for ln in lines]


def test_a_correct_syslog_hop_gives_no_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _verify(capsys, _config(tmp_path), _syslog(tmp_path, _hop()))
    assert rc == 0 and not _failed(out), out


def test_line_feeds_rsyslog_escaped_between_tokens_read_as_the_entry(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A pretty-printing producer's line feeds between JSON tokens, escaped by rsyslog as #012 (and a trailing #012
    of a message sent with its newline): before, the unescaped line feed split the entry and every line was
    unreadable; now it reads as the entry."""
    lines = [HEADER + ln.replace(b',"', b',#012"', 1) + b"#012" for ln in CLEAN_LINES]
    rc, out = _verify(capsys, _config(tmp_path), _syslog(tmp_path, lines))
    assert rc == 0 and not _failed(out), out


REPEATED = b"Dec  1 07:54:37 vault1 bao[812]: message repeated 2 times: [ " + CLEAN_LINES[30] + b"]"
RELAY_START = (b'Dec  1 07:54:37 vault1 rsyslogd: [origin software="rsyslogd" swVersion="8.2302.0" x-pid="1" '
               b'x-info="https://www.rsyslog.com"] start')
RELAY_LOST = b"Dec  1 07:54:38 vault1 rsyslogd[1]: imuxsock lost 125 messages from pid 812 due to rate-limiting"
JOURNAL_LOST = b"Dec  1 07:54:38 vault1 systemd-journald[212]: Suppressed 25 messages from openbao.service"


@pytest.mark.parametrize("line, cause", [
    (REPEATED, "repeated-message reduction"),
    (RELAY_START, "a message of the relay itself (rsyslogd)"),
    (RELAY_LOST, "the relay says it dropped messages here (rsyslogd"),
    (JOURNAL_LOST, "the relay says it dropped messages here (systemd-journald"),
])
def test_a_hops_own_line_is_a_finding_at_its_line_naming_the_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   line: bytes, cause: str) -> None:
    """Before, each was "the rest of an entry the syslog hop cut at its message size limit": the wrong cause and
    fix. A relay saying it dropped messages is a loss of entries, said so."""
    lines = [*_hop(CLEAN_LINES[:30]), line, *_hop(CLEAN_LINES[31:])]
    log = _syslog(tmp_path, lines)
    rc, out = _verify(capsys, _config(tmp_path), log)
    assert rc == 1, out
    said = _names(out, log, "required_fields")
    assert len(said) == 1 and said[0].startswith(f"  - [{log}:31]") and cause in said[0], out


from tests.test_syslog import RSYSLOGD, _free_port, _wait_lines, needs_rsyslogd  # noqa: E402


@needs_rsyslogd
def test_a_real_rsyslog_with_repeated_message_reduction_is_a_finding(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A real rsyslogd ($RepeatedMsgReduction on, as older distributions ship it) given one entry three times (a
    sender retrying) writes it once, then "message repeated 2 times: [ ... ]": a finding at that line naming the
    reduction, the entries around it read as they are."""
    import socket
    import subprocess
    import time

    assert RSYSLOGD is not None
    port, out = _free_port(), tmp_path / "out.log"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'global(workDirectory="{tmp_path}")\n$RepeatedMsgReduction on\nmodule(load="imtcp")\n'
                    f'input(type="imtcp" port="{port}" address="127.0.0.1")\n'
                    f'action(type="omfile" file="{out}" template="RSYSLOG_TraditionalFileFormat" '
                    'fileCreateMode="0600")\n')
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(tmp_path / "pid")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "rsyslogd did not listen"
                time.sleep(0.05)
        with sock:
            sent = [*CLEAN_LINES[:31], CLEAN_LINES[30], CLEAN_LINES[30], *CLEAN_LINES[31:]]
            sock.sendall(b"".join(b"<110>" + HEADER + ln + b"\n" for ln in sent))
        _wait_lines(out, len(CLEAN_LINES) + 1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    written = out.read_bytes().splitlines()
    assert len(written) == len(CLEAN_LINES) + 1 and b"message repeated 2 times: [" in written[31]
    rc, said = _verify(capsys, _config(tmp_path), out)
    assert rc == 1, said
    found = _names(said, out, "required_fields")
    assert len(found) == 1 and found[0].startswith(f"  - [{out}:32]") and "repeated-message reduction" in found[0]
    assert not _findings(said, "completeness"), said


JOURNAL = (Path(__file__).resolve().parents[1] / "fixtures" / "framing" / "journal.json-seq").read_bytes()


def test_journald_saying_it_dropped_the_vaults_messages_is_a_finding_at_its_line(tmp_path: Path,
                                                                                  capsys: pytest.CaptureFixture[str]
                                                                                  ) -> None:
    """`journalctl -o json-seq` of the vault's unit and journald's own record that it suppressed the unit's messages
    (its rate limit): before, the record (no JSON object in MESSAGE) was left out as the vault's server log, and the
    export passed without the dropped entries; now it is a finding at its line naming the rate limit."""
    records = [r for r in JOURNAL.split(b"\x1e") if r.strip()]
    log = tmp_path / "journal.json-seq"
    log.write_bytes(b"".join(b"\x1e" + r for r in records))
    log.chmod(0o600)
    rc, out = _verify(capsys, _config(tmp_path), log)
    assert rc == 0 and not _failed(out), out
    notice = json.dumps({"__CURSOR": "s=0;i=99", "__REALTIME_TIMESTAMP": "1795341600000099", "_TRANSPORT": "driver",
                         "SYSLOG_IDENTIFIER": "systemd-journald", "MESSAGE_ID": "a596d6fe7bfa4994828e72309e95d61e",
                         "MESSAGE": "Suppressed 1024 messages from openbao.service"}).encode() + b"\n"
    log.write_bytes(b"".join(b"\x1e" + r for r in [*records[:6], notice, *records[6:]]))
    rc, out = _verify(capsys, _config(tmp_path), log)
    assert rc == 1, out
    said = _names(out, log, "required_fields")
    assert len(said) == 1 and said[0].startswith(f"  - [{log}:7]") and "Suppressed 1024 messages" in said[0], out


def _rfc5424(lines: Sequence[bytes]) -> list[bytes]:
    """RFC 5424 lines as syslog-ng's syslog() destination writes them: numbered in [meta sequenceId]."""
    return [b'<110>1 2026-11-22T19:15:59.5+00:00 vault1 bao 812 - [meta sequenceId="%d"] ' % i + ln
            for i, ln in enumerate(lines, 1)]


def test_a_gap_in_the_transports_sequence_numbers_is_a_finding_at_its_line(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Two whole request/response pairs dropped by the hop: every pair left is whole, so only the sequence numbers
    show the loss. Before, it passed. A sender that restarts numbers from 1 again, and two senders, each with its
    own numbers, are no gap."""
    numbered = _rfc5424(CLEAN_LINES)
    assert all(json.loads(CLEAN_LINES[i])["type"] == t for i, t in ((21, "request"), (24, "response")))
    rc, out = _verify(capsys, _config(tmp_path), _syslog(tmp_path, numbered))
    assert rc == 0 and not _failed(out), out
    restarted = numbered[:60] + _rfc5424(CLEAN_LINES[60:])
    rc, out = _verify(capsys, _config(tmp_path), _syslog(tmp_path, restarted))
    assert rc == 0 and not _failed(out), out
    log = _syslog(tmp_path, numbered[:21] + numbered[25:])
    rc, out = _verify(capsys, _config(tmp_path), log)
    assert rc == 1, out
    said = _names(out, log, "completeness")
    assert len(said) == 1 and said[0].startswith(f"  - [{log}:22]") and "sequenceId 22 to 25" in said[0], out


# -- object storage --------------------------------------------------------------------------------------------------
pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")
from tests.test_object_store import FAKE_SECRET, s3  # noqa: E402,F401  # the loopback S3 fixtures


def _put_set(client: Any, prefix: str) -> list[str]:
    """STREAM as three chunks uploaded gzip'd, each split between a request and its response."""
    cuts = [0, 41, 81, len(STREAM)]
    keys = [f"{prefix}/audit.log.{2 - i}.gz" for i in range(3)]
    for key, a, b in zip(keys, cuts, cuts[1:]):
        client.put_object(Bucket=client.bucket, Key=key, Body=gzip.compress(b"".join(STREAM[a:b])))
    return keys


def _s3_verify(capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str) -> tuple[int, str]:
    rc, out = _verify(capsys, _config(tmp_path), url)
    assert FAKE_SECRET not in out
    return rc, out


def test_an_object_of_zero_bytes_is_a_finding_naming_it(s3: Any, tmp_path: Path,  # noqa: F811
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Before, a 0-byte object was excused as "a log just rotated"; a shipper uploads chunks whole, never empty."""
    keys = _put_set(s3, "vault")
    url = f"s3://{s3.bucket}/vault/"
    rc, out = _s3_verify(capsys, tmp_path, url)
    assert rc == 0 and not _failed(out), out
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log.3", Body=b"")
    s3.put_object(Bucket=s3.bucket, Key=keys[1], Body=b"")  # the middle chunk's object emptied
    rc, out = _s3_verify(capsys, tmp_path, url)
    assert rc == 1, out
    for key in ("vault/audit.log.3", keys[1]):
        said = [ln for ln in _findings(out, "completeness") if ln.startswith(f"  - [s3://{s3.bucket}/{key}]")]
        assert said and "0 bytes" in said[0], (key, out)


def test_an_object_deleted_between_listing_and_reading_is_refused_in_one_line(
        s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from pytest_auditready.engine import objects

    keys = _put_set(s3, "vault")
    listed = objects.expand_url

    def list_then_delete(url: str) -> list[str]:
        found = listed(url)
        s3.delete_object(Bucket=s3.bucket, Key=keys[1])  # a lifecycle rule expires it now
        return found

    monkeypatch.setattr(objects, "expand_url", list_then_delete)
    rc, out = _s3_verify(capsys, tmp_path, f"s3://{s3.bucket}/vault/")
    _refused(rc, out, keys[1])


@pytest.mark.parametrize("other", ["kube-apiserver-audit.log", "zz-cluster-b-audit.log"])
def test_another_producers_log_in_the_prefix_does_not_hide_a_lost_window(s3: Any, tmp_path: Path,  # noqa: F811
                                                                         capsys: pytest.CaptureFixture[str],
                                                                         other: str) -> None:
    """A Kubernetes API server's audit log (or a second cluster's vault log) under the vault's prefix, its name
    sorting after the vault's files: before, it carried the set's verdict (the last file of the run), so the
    vault's lost window was judged as part of a Kubernetes set (not at all), or the files, overlapping in time,
    were taken for several writers of one log (not at all either): the set passed. Now each log of the prefix is
    judged with its own files; the other log is judged as itself."""
    lost = STREAM[41:45]  # written between copytruncate's copy and its truncation
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log.1.gz", Body=gzip.compress(b"".join(STREAM[:41])))
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=b"".join(STREAM[45:]))
    body = K8S_LOG if other.startswith("kube") else b"".join(STREAM[60:100])
    s3.put_object(Bucket=s3.bucket, Key=f"vault/{other}", Body=body)
    assert json.loads(lost[0])["type"] == "response" and json.loads(STREAM[40])["type"] == "request"
    rc, out = _s3_verify(capsys, tmp_path, f"s3://{s3.bucket}/vault/")
    assert rc == 1, out
    said = _findings(out, "completeness")
    assert any(ln.startswith(f"  - [s3://{s3.bucket}/vault/audit.log.1.gz:41,") and "still in flight" in ln
               for ln in said), out
    assert f"s3://{s3.bucket}/vault/{other}" in out
