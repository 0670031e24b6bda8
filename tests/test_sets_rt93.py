"""Red team rt93: sets of files, their seal chains and their producers' habits.

- F1: a chain ``FILE.digests`` left beside the run's files whose log is gone (a sealed file deleted, history sealed
  file by file; every file of a second log of the folder deleted) is a tamper_evidence finding; one whose segments
  all end before the retention period, or whose file is elsewhere the run looks, is not.
- F4: an empty rotated file (logrotate's default ifempty on an idle day), plain or a gzip of nothing, holds no line
  that could be lost: it does not fail; a sealed file emptied still does.
- F9: a chain rotated away by a folder-wide rule is named (its rotated pieces) when the live chain holds no record.
- F6: a CloudTrail file delivered since the newest digest is not yet covered by one: excused and named while the
  next digest is not due, failed after.

Real `auditready seal` and `auditready verify` runs (in process) on real OpenBao lines; real logrotate where it is
installed."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.checks.base import CheckContext, Finding, Note, Skip
from pytest_auditready.checks.tamper_evidence import CHECK
from pytest_auditready.cli import main
from pytest_auditready.config import load
from pytest_auditready.seal import cloudtrail
from pytest_auditready.seal import sealer as sealer_mod
from tests.sealing import keys_and_logs
from tests.test_cloudtrail import ACCOUNT, REGION, build_trail, records, rsa_key, write_keys

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"


def _lines() -> list[bytes]:
    return CLEAN.read_bytes().splitlines(keepends=True)


def _write(path: Path, lines: list[bytes], gz: bool = False) -> Path:
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    path.chmod(0o600)
    return path


def _seal(log: Path, key: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seal", str(log), "--key", str(key), "--lines", "10"]) == 0, capsys.readouterr()
    capsys.readouterr()


def _verify(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["-q", "verify", *(str(a) for a in args)])
    return rc, capsys.readouterr().out


def _config(tmp_path: Path, text: str = "retention_days = 0\n") -> Path:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[tool.auditready]\n" + text)
    return cfg


def _ctx(path: Path, log_set: tuple[str, ...], **settings: object) -> CheckContext:
    ctx = CheckContext(settings=load([("test", settings)]), ledger=None, entries=[], bad_lines=[],
                       source=str(path), log_path=str(path))
    ctx.log_set = log_set
    return ctx


# -- F1: a chain left beside the set whose log is gone ----------------------------------------------------------


def _per_file_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, list[Path]]:
    """Three rotated files and the live log, each sealed once on its own (`auditready seal FILE`), as the README
    tells for history from before sealing began: each has its FILE.digests."""
    keys, logs, log = keys_and_logs(tmp_path)
    lines = _lines()
    files = [_write(logs / "audit.log-20261120.gz", lines[0:30], gz=True),
             _write(logs / "audit.log-20261121.gz", lines[30:60], gz=True),
             _write(logs / "audit.log-20261122", lines[60:90]), _write(log, lines[90:])]
    for f in files:
        _seal(f, keys / "seal", capsys)
    return keys, logs, files


def test_a_sealed_file_deleted_with_its_chain_left_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys, logs, files = _per_file_history(tmp_path, capsys)
    cfg = _config(tmp_path)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 0, out  # control: every chain's file is there
    files[1].unlink()
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 1 and "FAIL tamper_evidence" in out, out
    assert f"{files[1]} is gone, but its digest chain {files[1]}.digests is still beside" in out, out
    assert "Segment 0 of the chain" in out and "has no file" in out, out
    assert out.count(f"{files[1]} is gone") == 1, out  # said once a run, not for every file


def test_a_chain_whose_file_is_found_elsewhere_is_no_finding(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The file compressed since it was sealed (a rotated name its records give), or moved to seal_archive."""
    keys, logs, files = _per_file_history(tmp_path, capsys)
    plain = files[2]
    with open(plain, "rb") as src, gzip.open(logs / (plain.name + ".gz"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    (logs / (plain.name + ".gz")).chmod(0o600)
    plain.unlink()
    archive = tmp_path / "archive"
    archive.mkdir(mode=0o700)
    files[1].rename(archive / files[1].name)
    cfg = _config(tmp_path, f'retention_days = 0\nseal_archive = ["{archive}"]\n')
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 0, out


def test_every_file_of_a_second_log_deleted_with_its_chain_left_fails(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    keys, logs, log = keys_and_logs(tmp_path)
    lines = _lines()
    _write(log, lines[:60])
    _seal(log, keys / "seal", capsys)
    second = _write(logs / "audit-second.log", lines[60:])
    _seal(second, keys / "seal", capsys)
    cfg = _config(tmp_path)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 0, out
    second.unlink()
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 1 and f"{second} is gone, but its digest chain {second}.digests" in out, out


@pytest.mark.parametrize("old", [True, False])
def test_a_chain_left_whose_segments_end_before_the_retention_period_is_excused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, old: bool) -> None:
    """The rule for a sealed segment with no file (``verify._missing``): past retention_days, rotation may delete
    it. Sealed when its entries were written (2026-11-22) it is past a 1-day period; sealed today it is not."""
    keys, logs, log = keys_and_logs(tmp_path)
    lines = _lines()
    if old:
        monkeypatch.setattr(sealer_mod, "_utc_now", lambda: "2026-11-22T19:16:00.000000Z")
    second = _write(logs / "audit-second.log", lines[60:])
    _seal(second, keys / "seal", capsys)
    monkeypatch.undo()
    _write(log, lines[:60])
    _seal(log, keys / "seal", capsys)
    second.unlink()
    said = list(CHECK.run(_ctx(log, (str(log),), public_key=str(keys / "seal.pub"), retention_days=1)))
    found = [x.message for x in said if isinstance(x, Finding)]
    notes = " ".join(x.text for x in said if isinstance(x, Note))
    if old:
        assert not found and "end before the retention period" in notes and "audit-second.log is gone" in notes, said
    else:
        assert len(found) == 1 and "audit-second.log is gone" in found[0], said


def test_a_rotated_chain_of_a_folder_wide_rule_is_not_taken_for_a_chain_without_its_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """logrotate on `*.log *.digests`: LOG.digests.1 is no chain of a log "LOG.digests.1" gone (never listed as
    one); the finding is the live chain's, naming the rotated piece (F9)."""
    keys, logs, log = keys_and_logs(tmp_path)
    _write(log, _lines())
    _seal(log, keys / "seal", capsys)
    chain = logs / "audit.log.digests"
    cfg = _config(tmp_path)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 0, out
    chain.rename(logs / "audit.log.digests.1")
    chain.write_bytes(b"")
    chain.chmod(0o600)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 1 and "holds no digest record: its records were rotated away into audit.log.digests.1" in out, out
    assert "is gone" not in out, out


# -- F4: an idle day's rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_an_empty_rotated_file_passes_and_an_emptied_sealed_one_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], gz: bool) -> None:
    """Lines, rotation, a rotation with nothing written (ifempty), more lines: audit.log.2.gz holds the first
    day, audit.log.1 (or its gzip of nothing, 20 bytes) the idle one."""
    keys, logs, log = keys_and_logs(tmp_path)
    lines = _lines()
    _write(log, lines[:50])
    _seal(log, keys / "seal", capsys)
    log.rename(logs / "audit.log.1")
    _write(log, [])
    _seal(log, keys / "seal", capsys)
    (logs / "audit.log.1").rename(logs / "audit.log.2")
    _write(logs / "audit.log.2.gz", [(logs / "audit.log.2").read_bytes()], gz=True)
    (logs / "audit.log.2").unlink()
    log.rename(logs / "audit.log.1")  # the idle day: rotated empty
    _write(log, [])
    _seal(log, keys / "seal", capsys)
    _write(log, lines[50:])
    _seal(log, keys / "seal", capsys)
    if gz:
        _write(logs / "audit.log.1.gz", [], gz=True)
        (logs / "audit.log.1").unlink()
    cfg = _config(tmp_path)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 0, out
    # a file that held sealed bytes, emptied: its segment has no file
    _write(logs / "audit.log.2.gz", [], gz=True)
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", cfg)
    assert rc == 1 and "Segment 0 of the chain" in out and "has no file" in out, out


@pytest.mark.skipif(shutil.which("logrotate") is None and not os.path.exists("/usr/sbin/logrotate"),
                    reason="logrotate is not installed")
def test_the_documented_logrotate_stanza_over_an_idle_day_passes(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Real logrotate with the stanza of docs/tamper-evidence.md (create, compress, delaycompress; ifempty by
    default), a one-shot seal after each step: day 1 lines, rotation, day 2 idle, rotation, day 3 lines."""
    lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
    keys, logs, log = keys_and_logs(tmp_path)
    conf = tmp_path / "lr.conf"
    conf.write_text(f"{log} {{\n    daily\n    rotate 400\n    create 0600\n    compress\n    delaycompress\n}}\n")
    lines = _lines()

    def rotate() -> None:
        subprocess.run([lr, "-f", "-s", str(tmp_path / "lr.state"), str(conf)], check=True, timeout=30,
                       capture_output=True)

    _write(log, lines[:50])
    _seal(log, keys / "seal", capsys)
    rotate()
    _seal(log, keys / "seal", capsys)
    rotate()  # nothing written since: an empty audit.log.1, the first day compressed as audit.log.2.gz
    _seal(log, keys / "seal", capsys)
    with open(log, "ab") as f:
        f.write(b"".join(lines[50:]))
    _seal(log, keys / "seal", capsys)
    assert (logs / "audit.log.1").stat().st_size == 0 and (logs / "audit.log.2.gz").exists()
    rc, out = _verify(capsys, logs, "--public-key", keys / "seal.pub", "--config", _config(tmp_path))
    assert rc == 0, out


# -- F6: CloudTrail's current hour ----------------------------------------------------------------------------


def _at(text: str) -> Any:
    import datetime

    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fresh_file(root: Path, stamp: str, n: int = 7) -> Path:
    """A log file of the trail delivered at ``stamp`` (YYYYMMDDTHHmm) that no digest lists."""
    p = (root / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/01/01/"
         f"{ACCOUNT}_CloudTrail_{REGION}_{stamp}Z_fresh{n}.json.gz")
    p.write_bytes(gzip.compress(json.dumps(records(3, n)).encode()))
    p.chmod(0o600)
    return p


def _trail_verdict(log: Path, keys: Path) -> tuple[list[str], str]:
    said = list(CHECK.run(_ctx(log, (str(log),), log_format="cloudtrail", cloudtrail_public_keys=str(keys))))
    return ([x.message for x in said if isinstance(x, Finding)],
            " ".join(x.text if isinstance(x, Note) else x.reason for x in said if isinstance(x, (Note, Skip))))


@pytest.mark.parametrize("now, excused", [("2026-01-01T03:20:00Z", True), ("2026-01-01T04:55:00Z", True),
                                          ("2026-01-01T05:10:00Z", False), ("2026-01-02T00:00:00Z", False)])
def test_a_cloudtrail_file_after_the_newest_digest_is_excused_until_its_digest_is_due(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: str, excused: bool) -> None:
    """The trail's digests cover 00:00 to 03:00; a file delivered at 03:10 is listed by the digest of 03:00 to
    04:00, delivered within the hour after: not due before 05:00."""
    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    monkeypatch.setattr(cloudtrail, "_now", lambda: _at(now))
    fresh = _fresh_file(root, "20260101T0310")
    found, notes = _trail_verdict(fresh, keys)
    if excused:
        assert not found and "not yet covered by a digest" in notes and "due by 2026-01-01T05:00Z" in notes, notes
    else:
        assert len(found) == 1 and "No digest file beside it lists" in found[0], found
    r = cloudtrail.validate_trail(root, keys)  # auditready verify-cloudtrail: the same rule
    assert r.ok is excused and len(r.excused) == (1 if excused else 0), r.problems


def test_a_cloudtrail_file_inside_the_digests_hours_unlisted_still_fails(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    monkeypatch.setattr(cloudtrail, "_now", lambda: _at("2026-01-01T03:20:00Z"))
    added = _fresh_file(root, "20260101T0110")
    found, _ = _trail_verdict(added, keys)
    assert len(found) == 1, found
    # the control: a listed file of the same trail, at the same moment, passes
    listed = sorted((root / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/01/01").glob("*_x10.json.gz"))
    ok: Optional[Path] = listed[0] if listed else None
    assert ok is not None
    found, _ = _trail_verdict(ok, keys)
    assert found == [], found


def test_a_trail_none_of_whose_files_is_digested_yet_is_not_called_valid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """verify-cloudtrail on a copy whose one log file came after the newest digest: nothing of it is proved yet, so
    no "valid" and no exit 0, but when to verify again (as tamper_evidence skips it, never passes it)."""
    key = rsa_key()
    root = build_trail(tmp_path / "copy", key=key, per_hour=0)
    keys = write_keys(tmp_path / "keys.json", key)
    monkeypatch.setattr(cloudtrail, "_now", lambda: _at("2026-01-01T03:20:00Z"))
    r = cloudtrail.validate_trail(root, keys)
    assert (r.digests, r.valid_log_files, r.log_files, r.problems) == (3, 0, 0, []) and r.ok  # idle, and signed
    (root / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/01/01").mkdir(parents=True)
    _fresh_file(root, "20260101T0310")
    r = cloudtrail.validate_trail(root, keys)
    assert (r.valid_log_files, r.log_files, r.problems, len(r.excused)) == (0, 0, [], 1)
    assert not r.ok and "NOT validated yet" in r.summary()
    capsys.readouterr()
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    out = capsys.readouterr().out
    assert "not yet validated: " in out and "due by 2026-01-01T05:00Z" in out and "valid:" not in out, out
