"""Sets of audit log files as real retention and rotation leave them, judged by `auditready verify` (exit 0/1/2).

- A glob of the log (`auditready verify 'audit.log*'`, or the shell's expansion of it, as the retention fix tells
  users to run) matches the digest chain `audit.log.digests` too, and a logrotate rule on the log's whole folder
  leaves rotated copies of the chain (`audit.log.digests.1`): a chain is never read as a log, and a chain split by
  rotation is reported as such.
- Right after logrotate's `create` (or the vault's SIGHUP reopen) the live log is empty: the set still passes, its
  per-entry checks skipped on the empty file with the reason, and retention judged on a file that holds entries.
  A lone empty file still fails."""

from __future__ import annotations

import datetime
import gzip
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from tests.test_retention import days_between, write_set
from tests.test_sealed_set import sealed_set  # noqa: F401  # the fixture: a real sealed, rotated set

D = datetime.date


def _verify(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", "--jobs", "1", *(str(a) for a in args)])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def _failed(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("FAIL ") or ln.startswith("  - ")]


# -- the digest chain among the files a glob or a folder names -----------------------------------------------------


def test_names_of_chains_rotated_or_not_are_no_rotated_logs() -> None:
    from pytest_auditready.auditlog.rotation import chain_name, related_name, rotated_name

    log = Path("audit.log")
    for nm in ("audit.log.digests", "audit.log.digests.1", "audit.log.digests.2.gz", "audit.log.digests-20260101",
               "audit.log.digests-20260101.gz"):
        assert chain_name(nm), nm
        assert not rotated_name(log, nm) and not related_name(["audit.log"], nm), nm
    for nm in ("audit.log.1", "audit.log.2.gz", "audit.log-20260101", "audit-20260101.log", "audit.1.log",
               "audit-2026-01-05T08-00-00.000.log"):
        assert rotated_name(log, nm) and not chain_name(nm), nm


def test_other_files_named_like_the_log_are_no_rotated_files(tmp_path: Path) -> None:
    """OpenBao 2.x declares its audit device in a config file, often audit.hcl beside the log; an export
    (audit.json), an editor's swap file: no rotation names a file so (a number or a date follows the name), and a
    live run's retention counted them as history or failed on them (red team rt20)."""
    from pytest_auditready.auditlog.rotation import rotated_name
    from pytest_auditready.checks.retention import rotated_beside

    log = tmp_path / "audit.log"
    for nm in ("audit.hcl", "audit.json", "audit.txt", "audit.log.swp", "audit.log.old", "audit.log"):
        (tmp_path / nm).write_text("x\n")
        assert nm == "audit.log" or not rotated_name(log, nm), nm
    (tmp_path / "audit.log.1").write_text("x\n")
    assert [Path(p).name for p in rotated_beside(str(log))] == ["audit.log.1"]


def test_a_sealed_set_named_by_a_glob_passes(sealed_set: dict[str, Path],  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    logs, pub = sealed_set["log"].parent, sealed_set["pub"]
    rc, out = _verify(capsys, f"{logs}/audit.log*", "--public-key", pub)  # quoted: expanded by auditready
    assert rc == 0 and not _failed(out), out
    assert "audit.log.digests " not in out
    shell = sorted(logs.glob("audit.log*"))  # unquoted: the shell names the chain too
    assert logs / "audit.log.digests" in shell
    rc, out = _verify(capsys, *shell, "--public-key", pub)
    assert rc == 0 and not _failed(out), out


def test_a_folder_holding_a_rotated_copy_of_the_chain_passes(sealed_set: dict[str, Path],  # noqa: F811
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    logs, pub = sealed_set["log"].parent, sealed_set["pub"]
    shutil.copy(logs / "audit.log.digests", logs / "audit.log.digests.1")
    with open(logs / "audit.log.digests", "rb") as src, gzip.open(logs / "audit.log.digests-20260101.gz", "wb") as o:
        shutil.copyfileobj(src, o)
    for p in logs.iterdir():
        p.chmod(0o600)
    rc, out = _verify(capsys, logs, "--public-key", pub)
    assert rc == 0 and not _failed(out), out


def test_a_chain_split_by_rotation_fails_naming_the_rotated_piece(sealed_set: dict[str, Path],  # noqa: F811
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    logs, pub = sealed_set["log"].parent, sealed_set["pub"]
    chain = (logs / "audit.log.digests").read_bytes().splitlines(keepends=True)
    (logs / "audit.log.digests.1").write_bytes(b"".join(chain[:8]))  # copytruncate on the chain
    (logs / "audit.log.digests").write_bytes(b"".join(chain[8:]))
    rc, out = _verify(capsys, logs, "--public-key", pub)
    assert rc == 1, out
    starts = [ln for ln in _failed(out) if "The chain starts at record seq 8" in ln]
    assert starts and all("rotated away into audit.log.digests.1" in ln for ln in starts), out
    assert "keep LOG.digests out of log rotation" in starts[0]


def test_naming_only_chains_is_refused_in_one_line(sealed_set: dict[str, Path],  # noqa: F811
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    logs, pub = sealed_set["log"].parent, sealed_set["pub"]
    rc, out = _verify(capsys, logs / "audit.log.digests", "--public-key", pub)
    assert rc == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "audit.log.digests is a digest chain" in lines[0] and "fix: name the log" in lines[0]


# -- the live log just rotated: empty ------------------------------------------------------------------------------


def test_a_sealed_set_whose_newest_file_is_empty_passes(sealed_set: dict[str, Path],  # noqa: F811
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    logs, pub = sealed_set["log"].parent, sealed_set["pub"]
    # one more rotation (rename, then the device's new file), the sealer not run since: the new log is empty
    os.rename(logs / "audit.log.2.gz", logs / "audit.log.3.gz")
    os.rename(logs / "audit.log.1", logs / "audit.log.2")
    os.rename(logs / "audit.log", logs / "audit.log.1")
    (logs / "audit.log").write_bytes(b"")
    (logs / "audit.log").chmod(0o600)
    rc, out = _verify(capsys, logs, "--public-key", pub)
    assert rc == 0 and not _failed(out), out
    empty = [ln for ln in out.splitlines() if ln.endswith(f"{logs / 'audit.log'} is empty (a log just rotated, or "
                                                           "rotated while idle): no entry in it to judge; the other 3 "
                                                           "file(s) of the set hold the entries)")]
    assert any(ln.startswith("SKIP completeness ") for ln in empty), out
    assert any(ln.startswith("PASS tamper_evidence ") and f"{logs / 'audit.log'} " in ln
               for ln in out.splitlines()), out


def test_a_retention_set_whose_newest_file_is_empty_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(  # the set judged as of the day its empty live file was made
        '[tool.auditready]\nrequire_tamper_evidence = false\nretention_as_of = "2026-02-01"\n')
    logs = tmp_path / "logs"
    write_set(logs, days_between(D(2025, 1, 1), D(2026, 1, 31)), newest="audit.log-20260131")
    empty = logs / "audit.log-20260201"  # dateext: the newest name sorts last, and it is the empty live file
    empty.write_bytes(b"")
    empty.chmod(0o600)
    rc, out = _verify(capsys, logs)
    assert rc == 0 and not _failed(out), out
    assert f"judged with the whole log set of 14 files on {logs / 'audit.log-20260131'}" in out
    verdict = [ln for ln in out.splitlines() if ln.startswith(f"PASS retention {logs / 'audit.log-20260131'}")]
    assert verdict and "spans 396 days (2025-01-01 to 2026-01-31)" in verdict[0], out
    assert f"SKIP retention {empty} ({empty} is empty" in out


def test_a_lone_empty_file_and_a_set_of_empty_files_still_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    for nm in ("audit.log", "audit.log.1"):
        (logs / nm).write_bytes(b"")
        (logs / nm).chmod(0o600)
    rc, out = _verify(capsys, logs / "audit.log")
    assert rc == 1 and "completeness judged nothing" in out, out
    rc, out = _verify(capsys, logs)
    assert rc == 1 and "completeness judged nothing" in out and "No history can be measured" in out, out


def test_the_parallel_path_says_the_same_of_an_empty_newest_file(tmp_path: Path) -> None:
    """engine.parallel finishes each file from its parts: an empty file is excused there as verify_file excuses it,
    so --jobs 2 on a set large enough to be spread over workers says what one process says."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks
    from pytest_auditready.engine.parallel import verify_files

    logs = tmp_path / "logs"
    write_set(logs, days_between(D(2025, 1, 1), D(2026, 1, 31)), newest="audit.log-20260131")
    empty = logs / "audit.log-20260201"
    empty.write_bytes(b"")
    empty.chmod(0o600)
    paths = sorted(str(p) for p in logs.iterdir())
    settings = Settings(require_tamper_evidence=False)
    checks = offline_checks(BUILTIN)

    def said(jobs: int) -> list[tuple[str, str, str]]:
        results = verify_files(settings, checks, {}, paths, jobs, min_bytes=0)
        return [(r.path, o.check_id, o.status) for r in results for o in r.outcomes]

    one, two = said(1), said(2)
    assert one == two
    assert {status for path, _, status in one if path == str(empty)} <= {"skipped", "passed", "failed"}
    assert not [x for x in one if x[2] == "failed" and x[0] == str(empty) and x[1] != "log_protection"], one
