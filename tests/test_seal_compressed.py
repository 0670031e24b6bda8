"""`auditready seal` on a compressed file (history rotated and compressed before sealing began: the documented way
to bring it in) seals its decompressed stream, as the verifier reads it (blind red team rt61, F1: it sealed the
gzip bytes as text lines, and verifying the untouched file then said "lines were deleted ... treat the log as
tampered"; a 400-day set of such archives counted none of their days). Both ways: each compressed form verifies
untouched, sealing it again adds nothing, an edit inside it is found at its lines, a damaged stream and --follow
are refused in one line (exit 2), and a retention set of sealed .gz archives counts their days."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.cli import main
from pytest_auditready.seal import load_public_key, verify_log
from tests._native_runs import completed
from tests.test_seal import write_log

COMPRESS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": (".gz", gzip.compress), "bzip2": (".bz2", bz2.compress), "xz": (".xz", lzma.compress)}


@pytest.fixture
def key(tmp_path: Path) -> Path:
    k = tmp_path / "seal.key"
    assert main(["keygen", str(k)]) == 0
    return k


def _archive(tmp_path: Path, kind: str, lines: int = 40) -> tuple[Path, bytes]:
    plain = tmp_path / "plain.log"
    write_log(plain, lines)
    data = plain.read_bytes()
    plain.unlink()
    suffix, compress = COMPRESS[kind]
    path = tmp_path / f"audit.log-20261205{suffix}"
    path.write_bytes(compress(data))
    return path, data


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_compressed_file_is_sealed_as_it_is_read(tmp_path: Path, key: Path, kind: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, data = _archive(tmp_path, kind)
    assert main(["seal", str(path), "--key", str(key)]) == 0
    out = capsys.readouterr().out
    assert f"sealed 40 line(s) ({len(data)} bytes)" in out and "unterminated" not in out
    report = verify_log(path, load_public_key(Path(str(key) + ".pub")))
    assert report.ok, [p.message for p in report.problems]
    assert main(["seal", str(path), "--key", str(key)]) == 0  # sealing again: nothing new
    assert "sealed 0 line(s)" in capsys.readouterr().out
    assert verify_log(path, load_public_key(Path(str(key) + ".pub"))).ok


def test_an_edit_inside_the_compressed_file_is_found(tmp_path: Path, key: Path) -> None:
    path, data = _archive(tmp_path, "gzip")
    assert main(["seal", str(path), "--key", str(key)]) == 0
    lines = data.splitlines(keepends=True)
    del lines[7]  # line 8 deleted, the file compressed again
    path.write_bytes(gzip.compress(b"".join(lines)))
    report = verify_log(path, load_public_key(Path(str(key) + ".pub")))
    assert not report.ok
    assert any("deleted" in p.message or "do not match" in p.message for p in report.problems)


def test_a_damaged_stream_and_follow_are_refused_in_one_line(tmp_path: Path, key: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _archive(tmp_path, "gzip")
    follow = completed(["seal", str(path), "--key", str(key), "--follow"], timeout=60)  # (it must not follow)
    assert follow.returncode == 2, follow.stderr
    err = follow.stderr
    assert "gzip-compressed" in err and "without --follow" in err and len(err.strip().splitlines()) == 1
    capsys.readouterr()
    damaged = tmp_path / "cut.log.gz"
    damaged.write_bytes(path.read_bytes()[:-30])
    assert main(["seal", str(damaged), "--key", str(key)]) == 2
    err = capsys.readouterr().err
    assert "cannot be decompressed" in err and "fix:" in err and len(err.strip().splitlines()) == 1
    assert not Path(str(damaged) + ".digests").exists() or Path(str(damaged) + ".digests").stat().st_size == 0


def test_a_set_of_sealed_compressed_archives_counts_their_days(tmp_path: Path, key: Path) -> None:
    """The live log sealed as it is written, ten earlier days in archive/ rotated and compressed before sealing
    began, each sealed once: retention and tamper_evidence judge them all."""
    def day(n: int) -> bytes:  # write_log's lines, on 2026-11-<n>
        plain = tmp_path / "day.log"
        write_log(plain, 10)
        data = plain.read_bytes().replace(b'"2026-01-01T', f'"2026-11-{n:02d}T'.encode())
        plain.unlink()
        return data

    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(1, 11):
        path = archive / f"audit.log-202611{n:02d}.gz"
        path.write_bytes(gzip.compress(day(n)))
        path.chmod(0o600)
        assert main(["seal", str(path), "--key", str(key)]) == 0
    log = tmp_path / "audit.log"
    log.write_bytes(day(11))
    log.chmod(0o600)
    assert main(["seal", str(log), "--key", str(key)]) == 0
    (tmp_path / "pyproject.toml").write_text(
        '[tool.auditready]\npublic_key = "seal.key.pub"\nretention_archive = "archive"\nretention_days = 10\n'
        'retention_online_days = 1\nretention_as_of = "2026-11-11"\n')
    out = tmp_path / "r.json"
    run = completed(["verify", str(log), "--json", str(out)], tmp_path, timeout=120)
    outcomes = {o["check"]: o for o in json.loads(out.read_text())["outcomes"]}
    for check in ("tamper_evidence", "retention"):
        assert outcomes[check]["findings"] == [], (check, outcomes[check]["findings"], run.stdout[-2000:])
