"""A rotated, sealed set is one chain (issue 12, item 5).

`auditready seal LOG --key KEY` is run as the log rotates the way logrotate does it (rename, new file, the older
file gzip-compressed), so LOG.digests holds one segment per file. Verifying any files of the set verifies the
chain across them: a rotated file finds its chain, a compressed one is recognised and verified by its content, a
sealed file that is gone fails (unless found in a declared ``seal_archive`` folder), and an edited one fails with
its segment and lines. Tested through `auditready verify` (exit codes 0/1) on real OpenBao audit lines."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks.base import CheckContext, Finding
from pytest_auditready.checks.tamper_evidence import CHECK
from pytest_auditready.cli import main
from pytest_auditready.config import load
from pytest_auditready.errors import ConfigError
from pytest_auditready.seal import evidence as evidence_mod
from pytest_auditready.seal import sealer
from pytest_auditready.seal import verify as verify_mod
from pytest_auditready.seal.evidence import TAMPERINGS, assess
from tests._native_runs import completed
from tests.sealing import keys_and_logs

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
PARTS = ((0, 40), (40, 80), (80, 117))  # the fixture's lines in the oldest, middle and current file


def _lines() -> list[bytes]:
    return CLEAN.read_bytes().splitlines(keepends=True)


def _time(line: bytes) -> str:
    return str(json.loads(line)["time"])


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))
    path.chmod(0o600)


def _seal(log: Path, key: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seal", str(log), "--key", str(key), "--lines", "10"]) == 0, capsys.readouterr()
    capsys.readouterr()


def _compress(path: Path) -> Path:
    """What logrotate's compress does: write PATH.gz, then remove PATH."""
    gz = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(src, out)
    gz.chmod(0o600)
    path.unlink()
    return gz


@pytest.fixture
def sealed_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    """logs/audit.log.2.gz (segment 0), logs/audit.log.1 (segment 1), logs/audit.log (segment 2), sealed as they
    rotated into logs/audit.log.digests with `auditready seal`; the key pair in keys/."""
    monkeypatch.chdir(tmp_path)  # defaults, but a set of one day is no year of history (retention: off)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nretention_days = 0\n")
    keys, logs, log = keys_and_logs(tmp_path)
    lines = _lines()
    # the sealer runs as the log is written: each record's sealed_at is its last entry's time (the fixture's are old)
    sealed_at = ""
    monkeypatch.setattr(sealer, "_utc_now", lambda: sealed_at)
    sealed_at = _time(lines[PARTS[0][1] - 1])
    _write(log, lines[PARTS[0][0] : PARTS[0][1]])
    _seal(log, keys / "seal", capsys)
    log.rename(logs / "audit.log.1")  # rotation: rename, then the device writes a new file
    _write(log, lines[PARTS[1][0] : PARTS[1][1]])
    sealed_at = _time(lines[PARTS[1][1] - 1])
    _seal(log, keys / "seal", capsys)
    (logs / "audit.log.1").rename(logs / "audit.log.2")
    log.rename(logs / "audit.log.1")
    _write(log, lines[PARTS[2][0] : PARTS[2][1]])
    sealed_at = _time(lines[PARTS[2][1] - 1])
    _seal(log, keys / "seal", capsys)
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    gz = _compress(logs / "audit.log.2")
    segments = [json.loads(x)["segment"] for x in (logs / "audit.log.digests").read_bytes().splitlines()]
    assert segments == [0] * 4 + [1] * 4 + [2] * 4  # three files, ten lines a record
    return {"oldest": gz, "middle": logs / "audit.log.1", "log": log, "pub": keys / "seal.pub", "dir": tmp_path}


def _verify(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", *(str(a) for a in args)])
    return rc, capsys.readouterr().out


def _tamper_verdict(out: str, path: Path) -> list[str]:
    """The tamper_evidence verdict line of ``path`` and its findings."""
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if ln.endswith(f" tamper_evidence {path}") or f" tamper_evidence {path} (" in ln:
            found = [ln]
            for more in lines[i + 1 :]:
                if not more.startswith("  - "):
                    break
                found.append(more)
            return found
    raise AssertionError(f"no tamper_evidence verdict for {path} in:\n{out}")


# -- an intact set -----------------------------------------------------------------------------------------------


def test_the_whole_set_named_passes(sealed_set: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    rc, out = _verify(capsys, s["oldest"], s["middle"], s["log"], "--public-key", s["pub"])
    assert rc == 0, out
    for f, seg in (("oldest", 0), ("middle", 1), ("log", 2)):
        (verdict,) = _tamper_verdict(out, s[f])
        # the pass says what it rests on: the file's segment of the chain
        assert verdict.startswith(f"PASS tamper_evidence {s[f]} ({s[f]} is segment {seg} ("), verdict
        assert f"of the digest chain {s['log']}.digests" in verdict


def test_only_the_middle_file_named_finds_its_chain_and_passes(sealed_set: dict[str, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    rc, out = _verify(capsys, s["middle"], "--public-key", s["pub"])
    assert rc == 0, out
    (verdict,) = _tamper_verdict(out, s["middle"])
    assert verdict.startswith(f"PASS tamper_evidence {s['middle']} ({s['middle']} is segment 1 ("), verdict


def test_each_verdict_says_which_segment_of_which_chain_holds_the_file(sealed_set: dict[str, Path]) -> None:
    s = sealed_set
    lines = _lines()
    named = [str(s[f]) for f in ("oldest", "middle", "log")]
    for f, seg, (a, b) in (("oldest", 0, PARTS[0]), ("middle", 1, PARTS[1]), ("log", 2, PARTS[2])):
        a_ = assess(s[f], s["pub"], log_set=named)
        assert a_.error is None and a_.report is not None and a_.report.ok, a_.report
        assert a_.verdict.startswith(f"{s[f]} is segment {seg} (lines 1-{b - a}, {_time(lines[a])} to "
                                     f"{_time(lines[b - 1])}; recognised by content) of the digest chain "
                                     f"{s['log']}.digests, which ends with record seq "), a_.verdict
        assert [t.kind for t in a_.teeth] == list(TAMPERINGS) and all(t.detected for t in a_.teeth), a_.teeth


# -- a file of the set is gone ----------------------------------------------------------------------------------


def test_the_middle_file_deleted_fails_naming_the_missing_segment(sealed_set: dict[str, Path],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    lines = _lines()
    s["middle"].unlink()
    for named in ((s["oldest"], s["log"]), (s["log"],)):
        rc, out = _verify(capsys, *named, "--public-key", s["pub"])
        assert rc == 1, out
        for f in named:  # the chain of every remaining file is broken
            verdict = _tamper_verdict(out, f)
            assert verdict[0] == f"FAIL tamper_evidence {f}" and len(verdict) == 2, verdict
            msg = verdict[1]
            assert "[segment 1, lines 1-40] Segment 1 of the chain" in msg and "has no file" in msg
            assert "sealed from audit.log" in msg and f"{_time(lines[40])} to {_time(lines[79])}" in msg
            assert "seal_archive" in msg  # the fix names the setting


def test_the_log_rotated_with_its_sealed_file_deleted_names_the_missing_segment_not_the_new_log(
        sealed_set: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """logrotate renamed the log to audit.log.1 and made a new, empty audit.log (create); audit.log.1 was then
    deleted. The new file was never sealed: segment 2 has no file. It was said to be the log with "sealed lines
    ... cut off" (red team rt93 F8). The log cut to nothing in place (its inode kept) is still a cut log."""
    s = sealed_set
    log, inode = s["log"], s["log"].stat().st_ino
    log.rename(log.parent / "moved-away")
    _write(log, [])
    assert log.stat().st_ino != inode
    rc, out = _verify(capsys, s["oldest"], s["middle"], log, "--public-key", s["pub"])
    assert rc == 1, out
    verdict = _tamper_verdict(out, log)
    assert verdict[0] == f"FAIL tamper_evidence {log}" and len(verdict) == 2, verdict
    n = PARTS[2][1] - PARTS[2][0]
    assert f"[segment 2, lines 1-{n}] Segment 2 of the chain" in verdict[1] and "has no file" in verdict[1], verdict
    assert "cut off" not in out, out
    log.unlink()
    (log.parent / "moved-away").rename(log)
    os.truncate(log, 0)  # the same file, emptied
    rc, out = _verify(capsys, s["oldest"], s["middle"], log, "--public-key", s["pub"])
    verdict = _tamper_verdict(out, log)
    assert rc == 1 and f"sealed lines 1-{n} are cut off" in verdict[1], verdict


def test_a_file_past_the_retention_period_may_be_gone(sealed_set: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Rotation deletes files older than the retention period (logrotate's maxage, a lifecycle rule): a segment
    whose entries all end before it is said in a note, not a missing file; within the period it stays a finding
    (red team rt20: every sealed set failed for ever once its oldest file expired)."""
    s = sealed_set
    s["oldest"].unlink()
    ended = datetime.datetime.fromisoformat(_time(_lines()[39]).replace("Z", "+00:00"))
    past = (datetime.datetime.now(datetime.timezone.utc) - ended).days  # whole days since its last entry
    assert past >= 2
    for days, expired in ((past - 1, True), (past + 30, False)):
        (s["dir"] / "pyproject.toml").write_text(f"[tool.auditready]\nretention_days = {days}\n")
        _, out = _verify(capsys, s["middle"], s["log"], "--public-key", s["pub"])  # (retention fails: 1 day)
        verdicts = [_tamper_verdict(out, f)[0].split(" (")[0] for f in (s["middle"], s["log"])]
        assert verdicts == [f"{'PASS' if expired else 'FAIL'} tamper_evidence {f}"
                            for f in (s["middle"], s["log"])], out
        assert ("Segment 0 of the chain" in out and "has no file" in out) != expired, out
        said = _tamper_verdict(out, s["log"])[0]  # the pass says what it does not rest on
        assert ("end before the retention period" in said and "not judged (segment 0 (" in said) == expired, said


def test_a_missing_file_is_never_excused_by_old_entry_times(sealed_set: dict[str, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The retention excuse rests on what the chain says of a segment's time, not on its entries' alone (red team
    rt55 F4): a deleted middle file, whose older neighbour is still there, is no rotation however old its entries;
    a segment whose last entry is old (a clock stepped back, a line appended before the next seal) but which the
    sealer sealed within the period is a missing file."""
    s = sealed_set
    ended = datetime.datetime.fromisoformat(_time(_lines()[PARTS[1][1] - 1]).replace("Z", "+00:00"))
    past = (datetime.datetime.now(datetime.timezone.utc) - ended).days
    (s["dir"] / "pyproject.toml").write_text(f"[tool.auditready]\nretention_days = {past - 1}\n")
    s["middle"].unlink()  # the oldest (segment 0) is kept
    _, out = _verify(capsys, s["oldest"], s["log"], "--public-key", s["pub"])
    assert "Segment 1 of the chain" in out and "has no file" in out, out
    assert _tamper_verdict(out, s["log"])[0].startswith("FAIL"), out
    # a set sealed now whose oldest file's entries are old: that file is missing, not expired
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    keys, logs, log = keys_and_logs(fresh)
    lines = _lines()
    _write(log, lines[PARTS[0][0] : PARTS[0][1]])
    _seal(log, keys / "seal", capsys)
    log.rename(logs / "audit.log.1")
    _write(log, lines[PARTS[1][0] : PARTS[1][1]])
    _seal(log, keys / "seal", capsys)
    (logs / "audit.log.1").unlink()
    _, out = _verify(capsys, log, "--public-key", keys / "seal.pub")
    assert "Segment 0 of the chain" in out and "has no file" in out, out


def test_a_chain_or_public_key_others_may_write_fails_log_protection(sealed_set: dict[str, Path],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Whoever may write the chain and the key that verifies it can replace both with their own: log_protection
    names each such file; the pass of tamper_evidence names the key it verified with (red team rt20)."""
    s = sealed_set
    chain = s["log"].parent / "audit.log.digests"
    for mode, bad in ((0o644, False), (0o666, True)):
        chain.chmod(mode)
        s["pub"].chmod(mode)
        _, out = _verify(capsys, s["log"], "--public-key", s["pub"])
        named = [x for x in out.splitlines() if x.startswith("  - [") and "can replace it" in x]
        assert (f"FAIL log_protection {s['log']}" in out) == bad, out
        assert len(named) == (2 if bad else 0) and all(("group and others" in x) for x in named), named
        said = _tamper_verdict(out, s["log"])[0]
        assert said.startswith("PASS") and "verified with the public key " in said and str(s["pub"]) in said, said
    s["pub"].chmod(0o644)


def test_history_retention_counts_from_the_archive_is_sealed_history(sealed_set: dict[str, Path],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A sealed set's file moved to retention_archive is history the chain proves; a file put there that holds no
    segment (forged old days) is a retention finding and its days are not counted (red team rt20: it made a year
    of history out of nothing while tamper_evidence, which judges the run's files, passed)."""
    s = sealed_set
    arch = s["dir"] / "arch"
    arch.mkdir()
    s["oldest"].rename(arch / s["oldest"].name)
    cfg = s["dir"] / "pyproject.toml"
    cfg.write_text('[tool.auditready]\nretention_days = 1\nretention_archive = ["arch"]\nseal_archive = ["arch"]\n')
    _, out = _verify(capsys, s["middle"], s["log"], "--public-key", s["pub"])
    assert "holds no segment of the digest chain" not in out and f"PASS retention {s['log']}" in out, out
    forged = arch / "audit.log-20251101"
    old = [ln.replace(b'"time":"2026-11-22', b'"time":"2025-11-01') for ln in _lines()[:5]]
    forged.write_bytes(b"\n".join(old) + b"\n")
    forged.chmod(0o600)
    cfg.write_text('[tool.auditready]\nretention_days = 300\nretention_archive = ["arch"]\nseal_archive = ["arch"]\n')
    _, out = _verify(capsys, s["middle"], s["log"], "--public-key", s["pub"])
    found = [x for x in out.splitlines() if x.startswith("  - [") and "holds no segment of the digest chain" in x]
    assert len(found) == 1 and "arch/audit.log-20251101]" in found[0], out
    assert f"FAIL retention {s['log']}" in out and "1 day (2026-11-22)" in out, out  # its days not counted


def test_a_missing_file_passes_when_declared_archived_and_is_verified_there(sealed_set: dict[str, Path],
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    archive = s["dir"] / "archive"
    archive.mkdir(mode=0o700)
    moved = archive / "audit.log.1"
    s["middle"].rename(moved)
    cfg = s["dir"] / "auditready.toml"
    cfg.write_text(f'seal_archive = ["{archive}"]\npublic_key = "{s["pub"]}"\nretention_days = 0\n')
    rc, out = _verify(capsys, s["oldest"], s["log"], "--config", cfg)
    assert rc == 0, out
    # the same from the command line alone
    rc, out = _verify(capsys, s["oldest"], s["log"], "--public-key", s["pub"], "--seal-archive", archive)
    assert rc == 0, out
    # archived means verified there: an edited archived file fails ...
    data = moved.read_bytes().splitlines(keepends=True)
    data[25] = data[25].replace(b'"type"', b'"tYpe"', 1)
    _write(moved, data)
    rc, out = _verify(capsys, s["log"], "--config", cfg)
    assert rc == 1 and "[segment 1, lines 21-30] Sealed lines 21-30 of " in out, out
    # ... and a file declared archived but absent there is still missing
    moved.unlink()
    rc, out = _verify(capsys, s["log"], "--config", cfg)
    assert rc == 1, out
    msg = _tamper_verdict(out, s["log"])[1]
    assert "Segment 1 of the chain" in msg and f"nor does any in the archive folder(s) {archive}" in msg


def test_seal_archive_takes_a_folder_or_a_list_of_folders() -> None:
    assert load([("t", {"seal_archive": "/a"})]).seal_archive == ("/a",)
    assert load([("t", {"seal_archive": ["/a", "/b"]})]).seal_archive == ("/a", "/b")
    for bad in (3, [""], [1], {"x": 1}):
        with pytest.raises(ConfigError) as exc:
            load([("[tool.auditready] of pyproject.toml", {"seal_archive": bad})])
        assert "'seal_archive'" in str(exc.value) and "folder path" in str(exc.value)


# -- a file of the set was changed ------------------------------------------------------------------------------


def test_the_middle_file_edited_fails_with_its_segment_and_lines(sealed_set: dict[str, Path],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    data = s["middle"].read_bytes().splitlines(keepends=True)
    data[14], data[15] = data[15], data[14]  # lines 15 and 16: record seq 5, lines 11-20 of segment 1
    _write(s["middle"], data)
    rc, out = _verify(capsys, s["oldest"], s["middle"], s["log"], "--public-key", s["pub"])
    assert rc == 1, out
    verdict = _tamper_verdict(out, s["middle"])
    assert verdict[0] == f"FAIL tamper_evidence {s['middle']}" and len(verdict) == 2, verdict
    assert f"[{s['middle']}] [segment 1, lines 11-20] Sealed lines 11-20 of {s['middle']}" in verdict[1]
    # the other files of the run verify: the edit is the middle file's finding, reported once
    for f in ("oldest", "log"):
        (verdict,) = _tamper_verdict(out, s[f])
        assert verdict.startswith(f"PASS tamper_evidence {s[f]} ("), verdict
    # named alone, the log still carries it: its set does not verify
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])
    assert rc == 1 and "[segment 1, lines 11-20]" in _tamper_verdict(out, s["log"])[1], out


def test_lines_appended_to_a_rotated_file_after_its_seal_fail(sealed_set: dict[str, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # the chain moved on to the next file: lines added to a rotated one can never be sealed, so they prove nothing
    s = sealed_set
    with open(s["middle"], "ab") as f:
        f.write(_lines()[60])
    rc, out = _verify(capsys, s["middle"], "--public-key", s["pub"])
    assert rc == 1, out
    msg = _tamper_verdict(out, s["middle"])[1]
    assert "[segment 1, 1 unsealed line(s)]" in msg and ": never sealed" in msg


def test_a_rotated_file_that_holds_no_segment_fails(sealed_set: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # named like the set's files but sealed by nothing (rotated before sealing began, or rewritten from scratch)
    s = sealed_set
    stray = s["log"].with_name("audit.log.3")
    _write(stray, [ln.replace(b"2026", b"2025") for ln in _lines()[:20]])
    rc, out = _verify(capsys, stray, "--public-key", s["pub"])
    assert rc == 1, out
    msg = _tamper_verdict(out, stray)[1]
    assert "holds no segment of its chain" in msg and f"{s['log']}.digests" in msg


def test_a_rotated_file_without_any_chain_still_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    _write(logs / "audit.log.1", _lines()[:40])
    _write(logs / "audit.log", _lines()[40:])
    rc, out = _verify(capsys, logs / "audit.log.1")
    assert rc == 1
    assert "has no integrity mechanism: no digest chain beside it" in _tamper_verdict(out, logs / "audit.log.1")[1]


# -- a compressed rotated file -----------------------------------------------------------------------------------


def test_a_compressed_rotated_file_is_verified_by_its_content(sealed_set: dict[str, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    gz = s["oldest"]
    rc, out = _verify(capsys, gz, "--public-key", s["pub"])
    assert rc == 0, out
    (verdict,) = _tamper_verdict(out, gz)
    assert verdict.startswith(f"PASS tamper_evidence {gz} ({gz} is segment 0 (") and "recognised by content" in verdict
    # decompress, change one byte of line 33, compress again: found in segment 0, lines 31-40
    data = gzip.decompress(gz.read_bytes()).splitlines(keepends=True)
    data[32] = data[32].replace(b"response", b"responsE", 1)
    gz.write_bytes(gzip.compress(b"".join(data)))
    rc, out = _verify(capsys, gz, "--public-key", s["pub"])
    assert rc == 1, out
    assert f"[segment 0, lines 31-40] Sealed lines 31-40 of {gz}" in _tamper_verdict(out, gz)[1]


@pytest.mark.parametrize("suffix", [".bz2", ".xz"])
def test_other_compressors_are_read_too(sealed_set: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                        suffix: str) -> None:
    import bz2
    import lzma

    s = sealed_set
    compress = bz2.compress if suffix == ".bz2" else lzma.compress
    plain = gzip.decompress(s["oldest"].read_bytes())
    other = s["oldest"].with_name("audit.log.2" + suffix)
    other.write_bytes(compress(plain))
    other.chmod(0o600)
    s["oldest"].unlink()
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])  # its segment is found, by content
    assert rc == 0, out
    other.write_bytes(compress(plain.replace(b'"type"', b'"tYpe"', 1)))  # and verified: a change is found
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])
    assert rc == 1 and f"[segment 0, lines 1-10] Sealed lines 1-10 of {other}" in out, out


def test_a_compressed_file_of_the_set_is_verified_when_only_the_log_is_named(sealed_set: dict[str, Path],
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    gz = s["oldest"]
    data = gzip.decompress(gz.read_bytes()).splitlines(keepends=True)
    del data[3]  # line 4: record seq 0, the one a file is first recognised by
    gz.write_bytes(gzip.compress(b"".join(data)))
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])
    assert rc == 1, out
    msg = _tamper_verdict(out, s["log"])[1]
    assert f"[segment 0, lines 1-10] Sealed lines 1-10 of {gz}" in msg and "1 line(s) fewer" in msg


def test_a_damaged_compressed_file_of_the_set_fails(sealed_set: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    raw = s["oldest"].read_bytes()
    s["oldest"].write_bytes(raw[: len(raw) // 2])  # cut in the middle: no longer a whole gzip stream
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])
    assert rc == 1, out
    msg = "\n".join(_tamper_verdict(out, s["log"]))
    assert "cannot be decompressed" in msg and "[segment 0, " in msg


def test_a_compressed_file_that_decompresses_far_past_its_seal_is_cut_short_and_fails(
        sealed_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # a bomb among the rotated files: its sealed lines, then far more than was ever sealed
    s = sealed_set
    monkeypatch.setattr(verify_mod, "_DECOMPRESS_SLACK", 1 << 20)
    sealed = gzip.decompress(s["oldest"].read_bytes())
    s["oldest"].write_bytes(gzip.compress(sealed + _lines()[7] * ((4 << 20) // len(_lines()[7]))))
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])
    assert rc == 1, out
    msg = _tamper_verdict(out, s["log"])[1]
    assert f"[segment 0, after line 40] {s['oldest']} decompresses to more than {len(sealed) + (1 << 20)} bytes" in msg


# -- how the verdicts of one run share the set's findings -------------------------------------------------------


def _ctx(path: Path, pub: Path, log_set: tuple[str, ...]) -> CheckContext:
    ctx = CheckContext(settings=load([("test", {"public_key": str(pub)})]), ledger=None, entries=[], bad_lines=[],
                       source=str(path), log_path=str(path))
    ctx.log_set = log_set
    return ctx


def test_a_file_named_in_the_run_carries_its_own_findings_and_a_missing_one_concerns_all(
        sealed_set: dict[str, Path]) -> None:
    s = sealed_set
    data = s["oldest"].read_bytes()
    plain = gzip.decompress(data).replace(b'"type"', b'"tYpe"', 1)
    s["oldest"].write_bytes(gzip.compress(plain))
    s["middle"].unlink()
    named = (str(s["oldest"]), str(s["log"]))
    out = {k: [f for f in CHECK.run(_ctx(s[k], s["pub"], named)) if isinstance(f, Finding)] for k in ("oldest", "log")}
    assert any("[segment 0, lines 1-10] Sealed lines 1-10" in f.message for f in out["oldest"]), out
    assert not any("Sealed lines" in f.message for f in out["log"]), out  # the .gz's own verdict carries it
    for k in ("oldest", "log"):
        assert any("Segment 1 of the chain" in f.message and "has no file" in f.message for f in out[k]), out
    # a run that does not name the .gz: the log's verdict carries the .gz's finding
    alone = [f.message for f in CHECK.run(_ctx(s["log"], s["pub"], (str(s["log"]),))) if isinstance(f, Finding)]
    assert any("[segment 0, lines 1-10]" in m for m in alone), alone


def test_a_rotated_file_kept_elsewhere_and_named_in_the_run_is_not_missing(sealed_set: dict[str, Path],
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    elsewhere = s["dir"] / "copies"
    elsewhere.mkdir(mode=0o700)
    moved = elsewhere / "audit.log.1"
    s["middle"].rename(moved)
    rc, out = _verify(capsys, moved, s["log"], "--public-key", s["pub"])
    assert rc == 0, out


def test_a_rotated_file_renamed_out_of_the_pattern_is_found_by_content_when_named(
        sealed_set: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    renamed = s["middle"].with_name("vault-2026-11.txt")
    s["middle"].rename(renamed)
    rc, out = _verify(capsys, renamed, s["log"], "--public-key", s["pub"])
    assert rc == 0, out
    rc, out = _verify(capsys, s["log"], "--public-key", s["pub"])  # not named: nothing says it belongs to the set
    assert rc == 1 and "Segment 1 of the chain" in _tamper_verdict(out, s["log"])[1], out


# -- a set named file by file is read once ----------------------------------------------------------------------


def test_each_settled_file_of_a_set_is_verified_once_per_run(sealed_set: dict[str, Path],
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    s = sealed_set
    monkeypatch.setattr(verify_mod, "_now_ns", lambda: 1 << 62)  # every file counts as unchanged for long
    checked: list[str] = []
    real = verify_mod._check_segment

    def counting(lf, recs, seg):  # type: ignore[no-untyped-def]
        checked.append(lf.path.name)
        return real(lf, recs, seg)

    monkeypatch.setattr(verify_mod, "_check_segment", counting)
    rc, out = _verify(capsys, s["oldest"], s["middle"], s["log"], "--public-key", s["pub"])
    assert rc == 0, out
    checked = [n for n in checked if n.startswith("audit.log")]  # not the teeth's copies
    assert sorted(checked) == ["audit.log", "audit.log.1", "audit.log.2.gz"]  # three verdicts, one reading each
    # a change moves the file's ctime and size: it is read again, and the change is found
    data = s["middle"].read_bytes().splitlines(keepends=True)
    del data[5]
    _write(s["middle"], data)
    checked.clear()
    rc, out = _verify(capsys, s["middle"], "--public-key", s["pub"])
    assert rc == 1 and [n for n in checked if n.startswith("audit.log")] == ["audit.log.1"], out
    assert "[segment 1, lines 1-10]" in _tamper_verdict(out, s["middle"])[1]


# -- hostile neighbours -----------------------------------------------------------------------------------------


def test_a_fifo_named_like_a_rotated_file_does_not_hang_the_verifier(sealed_set: dict[str, Path]) -> None:
    s = sealed_set
    os.mkfifo(s["log"].with_name("audit.log.9"))
    run = completed(["verify", str(s["log"]), "--public-key", str(s["pub"])], s["dir"], timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_teeth_are_proven_on_the_compressed_file_s_own_segment(sealed_set: dict[str, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    s = sealed_set
    a = assess(s["oldest"], s["pub"])
    assert a.report is not None and a.report.ok and all(t.detected for t in a.teeth) and len(a.teeth) == 4
    # a verifier gone blind is caught on the copy of segment 0 too
    real = evidence_mod.verify_log

    def blind(path, key, digests=None, **kw):  # type: ignore[no-untyped-def]
        rep = real(path, key, digests, **kw)
        if "auditready-teeth-" in str(path) and Path(path).parent.name != "base":
            rep.problems.clear()
        return rep

    monkeypatch.setattr(evidence_mod, "verify_log", blind)
    out = [f.message for f in CHECK.run(_ctx(s["oldest"], s["pub"], (str(s["oldest"]),))) if isinstance(f, Finding)]
    assert len(out) == 4 and all("went undetected" in m for m in out), out
