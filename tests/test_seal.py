"""The sealed digest chain: keygen, sealing (one-shot, follow, rotation, resume) and verification against every
kind of tampering, each finding naming the segment and the lines."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import time
from pathlib import Path

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.seal import (
    Sealer,
    load_private_key,
    load_public_key,
    seal,
    verify_log,
    write_keypair,
)
from pytest_auditready.seal.evidence import TAMPERINGS, assess, prove_teeth


def _line(i: int) -> bytes:
    entry = {"time": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z", "type": "request",
             "request": {"id": f"req-{i}", "path": f"secret/data/p{i % 7}"}, "pad": "x" * (i % 37)}
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def write_log(path: Path, n: int, start: int = 0) -> None:
    with open(path, "ab") as f:
        for i in range(start, start + n):
            f.write(_line(i))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "keys").mkdir()
    priv, pub, _ = write_keypair(tmp_path / "keys" / "k")
    return priv, pub


@pytest.fixture
def sealed(tmp_path: Path, keys: tuple[Path, Path]) -> Path:
    """A 250-line log sealed in records of 40 lines (the last record holds 10)."""
    log = tmp_path / "audit.log"
    write_log(log, 250)
    summary = seal(log, load_private_key(keys[0]), lines_per_record=40)
    assert (summary.records, summary.lines) == (7, 250)
    return log


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().split(b"\n")[:-1]


def _write(log: Path, lines: list[bytes]) -> None:
    log.write_bytes(b"".join(ln + b"\n" for ln in lines))


def _verify(log: Path, keys: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    return verify_log(log, load_public_key(keys[1]))


# -- keys ------------------------------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    priv, pub, kid = write_keypair(tmp_path / "k")
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert pub == tmp_path / "k.pub" and b"PUBLIC KEY" in pub.read_bytes() and b"PRIVATE" not in pub.read_bytes()
    assert len(kid) == 16
    with pytest.raises(AuditReadyError, match="already exists"):
        write_keypair(tmp_path / "k")


def test_a_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    priv, _pub, _ = write_keypair(tmp_path / "k")
    os.chmod(priv, 0o644)
    with pytest.raises(AuditReadyError, match="chmod 600"):
        load_private_key(priv)
    with pytest.raises(AuditReadyError, match="holds a private key"):
        load_public_key(priv)


# -- a clean chain -----------------------------------------------------------------------------------------------


def test_untouched_log_verifies(sealed: Path, keys: tuple[Path, Path]) -> None:
    r = _verify(sealed, keys)
    assert r.ok, [p.text() for p in r.problems]
    assert (r.records, r.segments, r.verified_lines, r.unsealed_lines) == (7, 1, 250, 0)
    recs = [json.loads(x) for x in (sealed.parent / "audit.log.digests").read_bytes().splitlines()]
    assert recs[0]["first_time"] == "2026-01-01T00:00:00.000000Z"
    assert recs[-1]["last_time"] == json.loads(_line(249))["time"]
    assert recs[1]["prev_sig"] == recs[0]["sig"] and recs[1]["first_line"] == 41 and recs[1]["start"] == recs[0]["end"]


def test_sealing_again_appends_only_what_is_new(sealed: Path, keys: tuple[Path, Path]) -> None:
    write_log(sealed, 30, start=250)
    with open(sealed, "ab") as f:
        f.write(b'{"time":"partial')  # an unterminated last line waits for its newline
    s = seal(sealed, load_private_key(keys[0]), lines_per_record=40)
    assert (s.records, s.lines, s.unsealed_tail) == (1, 30, len(b'{"time":"partial'))
    r = _verify(sealed, keys)
    assert [p.kind for p in r.problems] == ["unsealed"] and r.unsealed_bytes == len(b'{"time":"partial')
    assert r.verified_lines == 280


# -- the four kinds of tampering of the log, and appended bytes ----------------------------------------------


def test_changed_byte_is_detected_with_its_segment_and_lines(sealed: Path, keys: tuple[Path, Path]) -> None:
    data = bytearray(sealed.read_bytes())
    off = sum(len(_line(i)) for i in range(100)) + 20  # inside line 101 (record 3: lines 81-120)
    data[off] = ord("Z")
    sealed.write_bytes(bytes(data))
    r = _verify(sealed, keys)
    assert [(p.kind, p.segment, p.lines) for p in r.problems] == [("content", 0, "lines 81-120")]
    assert "changed in place or reordered" in r.problems[0].message
    assert r.verified_lines == 250 - 40  # the other records still verify


def test_deleted_line_is_detected_and_does_not_cascade(sealed: Path, keys: tuple[Path, Path]) -> None:
    lines = _lines(sealed)
    del lines[44]  # line 45, in record 2 (lines 41-80)
    _write(sealed, lines)
    r = _verify(sealed, keys)
    assert [(p.kind, p.segment, p.lines) for p in r.problems] == [("content", 0, "lines 41-80")]
    assert "1 line(s) fewer than were sealed" in r.problems[0].message
    assert r.verified_lines == 210 and r.unsealed_lines == 0


def test_swapped_pair_of_lines_is_detected(sealed: Path, keys: tuple[Path, Path]) -> None:
    lines = _lines(sealed)
    lines[150], lines[151] = lines[151], lines[150]  # lines 151 and 152, record 4 (121-160)
    _write(sealed, lines)
    r = _verify(sealed, keys)
    assert [(p.kind, p.lines) for p in r.problems] == [("content", "lines 121-160")]


def test_swap_across_a_record_boundary_names_both_records(sealed: Path, keys: tuple[Path, Path]) -> None:
    lines = _lines(sealed)
    lines[39], lines[40] = lines[40], lines[39]  # lines 40 and 41
    _write(sealed, lines)
    r = _verify(sealed, keys)
    assert [(p.kind, p.lines) for p in r.problems] == [("content", "lines 1-80")]


def test_truncated_tail_is_detected(sealed: Path, keys: tuple[Path, Path]) -> None:
    data = sealed.read_bytes()
    sealed.write_bytes(data[: len(data) - len(_line(249)) - 5])  # the last line and a bit of the one before
    r = _verify(sealed, keys)
    assert [(p.kind, p.segment, p.lines) for p in r.problems] == [("truncated", 0, "lines 241-250")]
    assert "truncated" in r.problems[0].message


def test_inserted_line_is_detected(sealed: Path, keys: tuple[Path, Path]) -> None:
    lines = _lines(sealed)
    lines.insert(180, b'{"time":"2026-01-01T00:00:00Z","forged":true}')
    _write(sealed, lines)
    r = _verify(sealed, keys)
    assert [(p.kind, p.lines) for p in r.problems] == [("content", "lines 161-200")]
    assert "1 line(s) more" in r.problems[0].message


def test_bytes_appended_after_the_last_seal_are_reported_as_unsealed(sealed: Path, keys: tuple[Path, Path]) -> None:
    write_log(sealed, 3, start=900)
    r = _verify(sealed, keys)
    assert [p.kind for p in r.problems] == ["unsealed"]
    assert (r.unsealed_lines, r.unsealed_bytes) == (3, sum(len(_line(i)) for i in range(900, 903)))
    assert "3 line(s)" in r.problems[0].message


# -- the chain itself ----------------------------------------------------------------------------------------


def _digests(log: Path) -> Path:
    return log.parent / (log.name + ".digests")


def test_deleted_digest_record_is_detected_with_the_lines_it_left_uncovered(sealed: Path,
                                                                           keys: tuple[Path, Path]) -> None:
    d = _digests(sealed)
    recs = d.read_bytes().splitlines()
    del recs[2]  # record seq 2: lines 81-120
    d.write_bytes(b"\n".join(recs) + b"\n")
    r = _verify(sealed, keys)
    kinds = {p.kind: p for p in r.problems}
    assert set(kinds) == {"chain", "coverage"}
    assert "seq 2 are missing" in kinds["chain"].message
    assert kinds["coverage"].lines == "lines 81-120" and kinds["coverage"].segment == 0


def test_edited_digest_record_is_detected(sealed: Path, keys: tuple[Path, Path]) -> None:
    # an attacker who deleted a line rewrites the record's hash and counts to match: the signature breaks
    lines = _lines(sealed)
    del lines[10]
    _write(sealed, lines)
    d = _digests(sealed)
    recs = [json.loads(x) for x in d.read_bytes().splitlines()]
    import hashlib

    first = b"".join(ln + b"\n" for ln in lines[:39])
    recs[0].update(sha256=hashlib.sha256(first).hexdigest(), lines=39, end=len(first))
    d.write_text("".join(json.dumps(x) + "\n" for x in recs))
    r = _verify(sealed, keys)
    assert "record" in {p.kind for p in r.problems}
    assert any("edited after it was signed" in p.message and p.lines == "lines 1-39" for p in r.problems)


def test_damaged_digest_line_is_detected(sealed: Path, keys: tuple[Path, Path]) -> None:
    d = _digests(sealed)
    recs = d.read_bytes().splitlines()
    recs[4] = b'{"format": "auditready-seal/1", "seq": 4'
    d.write_bytes(b"\n".join(recs) + b"\n")
    r = _verify(sealed, keys)
    assert any(p.kind == "record" and p.where.endswith(".digests:5") for p in r.problems)
    assert any(p.kind == "coverage" and p.lines == "lines 161-200" for p in r.problems)


def test_chain_signed_by_another_key_is_detected(sealed: Path, tmp_path: Path) -> None:
    _, other_pub, other_id = write_keypair(tmp_path / "other")
    r = verify_log(sealed, load_public_key(other_pub))
    assert [p.kind for p in r.problems] == ["key"]
    assert "signed by another key" in r.problems[0].message and other_id in r.problems[0].message


def test_chain_forged_with_another_key_is_detected(sealed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    # someone rewrites the log and re-seals it from scratch with their own key
    lines = _lines(sealed)
    del lines[5]
    _write(sealed, lines)
    _digests(sealed).unlink()
    forger, _, _ = write_keypair(tmp_path / "forger")
    seal(sealed, load_private_key(forger), lines_per_record=40)
    r = _verify(sealed, keys)
    assert [p.kind for p in r.problems] == ["key"]


def test_missing_chain_is_an_error_with_the_remedy(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = tmp_path / "bare.log"
    write_log(log, 3)
    with pytest.raises(AuditReadyError, match="no digest chain") as exc:
        _verify(log, keys)
    assert "auditready seal" in exc.value.fix


# -- sealing: resume, other key, rotation, follow --------------------------------------------------------------


def test_a_second_key_cannot_extend_the_chain(sealed: Path, tmp_path: Path) -> None:
    other, _, _ = write_keypair(tmp_path / "other")
    with pytest.raises(AuditReadyError, match="not signed by this key"):
        seal(sealed, load_private_key(other))


def test_rotation_by_rename_starts_a_new_segment_chained_to_the_old(sealed: Path, keys: tuple[Path, Path]) -> None:
    write_log(sealed, 15, start=250)  # written before rotation, not yet sealed
    sealed.rename(sealed.parent / "audit.log.1")
    write_log(sealed, 60, start=1000)
    s = seal(sealed, load_private_key(keys[0]), lines_per_record=40)
    assert s.segments_started == 1 and s.lines == 15 + 60  # the old file's rest, then the new file
    r = _verify(sealed, keys)
    assert r.ok, [p.text() for p in r.problems]
    assert (r.segments, r.verified_lines) == (2, 250 + 15 + 60)
    recs = [json.loads(x) for x in _digests(sealed).read_bytes().splitlines()]
    assert recs[-2]["reason"] == "rotated" and recs[-2]["segment"] == 1 and recs[-2]["first_line"] == 1
    # tampering in the rotated file is found in segment 0, found again by its inode
    old = sealed.parent / "audit.log.1"
    lines = _lines(old)
    lines[3], lines[4] = lines[4], lines[3]
    _write(old, lines)
    r = _verify(sealed, keys)
    assert [(p.kind, p.segment, p.lines) for p in r.problems] == [("content", 0, "lines 1-40")]


def test_follow_seals_by_lines_and_by_time_and_across_rotation(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = tmp_path / "audit.log"
    write_log(log, 25)
    sealer = Sealer(log, load_private_key(keys[0]), lines_per_record=10)
    sealer.open()
    stop = threading.Event()
    t = threading.Thread(target=lambda: sealer.follow(every_seconds=0.1, poll=0.02, stop=stop), daemon=True)
    t.start()
    digests = _digests(log)

    def sealed_lines() -> int:
        if not digests.exists():
            return 0
        return sum(json.loads(x)["lines"] for x in digests.read_bytes().splitlines())

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 10
        while sealed_lines() < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sealed_lines() == n

    try:
        wait_for(25)  # 10 + 10 by count, the last 5 once they are 0.1 s old
        write_log(log, 7, start=25)
        wait_for(32)
        log.rename(tmp_path / "audit.log.1")
        write_log(log, 4, start=500)
        wait_for(36)
    finally:
        stop.set()
        t.join(10)
        sealer.close()
    recs = [json.loads(x) for x in digests.read_bytes().splitlines()]
    assert [r["lines"] for r in recs] == [10, 10, 5, 7, 4]
    assert [r["segment"] for r in recs] == [0, 0, 0, 0, 1]
    r = _verify(log, keys)
    assert r.ok and r.verified_lines == 36, [p.text() for p in r.problems]


def test_sealer_memory_does_not_hold_the_log(tmp_path: Path, keys: tuple[Path, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # with 64 KiB reads, sealing an 8 MB log must peak far below the log's size: memory follows the read size
    import tracemalloc

    from pytest_auditready.seal import sealer as sealer_mod

    monkeypatch.setattr(sealer_mod, "CHUNK", 64 << 10)
    log = tmp_path / "big.log"
    block = b"".join(_line(i) for i in range(2000))
    with open(log, "wb") as f:
        for _ in range(8 * (1 << 20) // len(block)):
            f.write(block)
    tracemalloc.start()
    try:
        seal(log, load_private_key(keys[0]), max_record_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert _verify(log, keys).ok


# -- the check's self-test -------------------------------------------------------------------------------------


def test_every_tampering_is_proven_detected_on_a_copy(sealed: Path, keys: tuple[Path, Path]) -> None:
    before = sealed.read_bytes()
    teeth = prove_teeth(sealed, _digests(sealed), load_public_key(keys[1]))
    assert [t.kind for t in teeth] == list(TAMPERINGS)
    assert all(t.detected for t in teeth), teeth
    assert sealed.read_bytes() == before  # the original is never touched


def test_assess_reports_no_mechanism_without_a_chain(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    log = tmp_path / "plain.log"
    write_log(log, 5)
    a = assess(log, keys[1])
    assert a.mechanism == "" and a.report is None


def test_assess_with_a_chain_but_no_public_key_names_the_setting(sealed: Path) -> None:
    a = assess(sealed, None)
    assert a.error is not None and "public_key" in a.error.fix


def test_a_copy_of_the_log_without_its_rotated_file_names_the_missing_segment(sealed: Path, keys: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    sealed.rename(tmp_path / "audit.log.1")
    write_log(sealed, 12, start=300)
    seal(sealed, load_private_key(keys[0]), lines_per_record=40)
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    shutil.copy(sealed, elsewhere / "audit.log")
    shutil.copy(_digests(sealed), elsewhere / "audit.log.digests")
    r = _verify(elsewhere / "audit.log", keys)
    assert [(p.kind, p.segment, p.lines) for p in r.problems] == [("missing", 0, "lines 1-250")]
    assert r.verified_lines == 12 and "seal_archive" in r.problems[0].fix
    assert "sealed from audit.log" in r.problems[0].message and json.loads(_line(0))["time"] in r.problems[0].message
    # declared archived: looked for, and verified, there
    archive = tmp_path / "archive"
    archive.mkdir()
    (tmp_path / "audit.log.1").rename(archive / "audit.log.1")
    r = verify_log(elsewhere / "audit.log", load_public_key(keys[1]), archive=[archive])
    assert r.ok and r.verified_lines == 262, [p.text() for p in r.problems]
    assert [(m.segment, Path(m.path).name) for m in r.members] == [(0, "audit.log.1"), (1, "audit.log")]


def test_a_record_cut_short_by_a_killed_sealer_is_dropped_on_restart(sealed: Path, keys: tuple[Path, Path]) -> None:
    d = _digests(sealed)
    with open(d, "ab") as f:
        f.write(b'{"format":"auditready-seal/1","seq":7,"segm')  # no newline: the write never finished
    write_log(sealed, 5, start=250)
    s = seal(sealed, load_private_key(keys[0]), lines_per_record=40)
    assert s.lines == 5 and any("incomplete last record" in n for n in s.notes)
    r = _verify(sealed, keys)
    assert r.ok and r.verified_lines == 255, [p.text() for p in r.problems]


def test_a_copy_beside_the_original_is_checked_as_itself_not_as_a_rotation(sealed: Path,
                                                                          keys: tuple[Path, Path]) -> None:
    # the chain's recorded inode is the original's; a tampered copy next to it must not pass as "rotated"
    copy = sealed.parent / "forged.log"
    data = bytearray(sealed.read_bytes())
    data[10] = ord("Z")
    copy.write_bytes(bytes(data))
    shutil.copy(_digests(sealed), _digests(copy))
    r = _verify(copy, keys)
    assert [(p.kind, p.lines) for p in r.problems] == [("content", "lines 1-40")]


def test_follow_keeps_sealing_the_old_file_until_the_new_one_is_written(tmp_path: Path,
                                                                        keys: tuple[Path, Path]) -> None:
    # logrotate renames, creates an empty file, then signals the vault: lines still land in the old file meanwhile
    log = tmp_path / "audit.log"
    write_log(log, 5)
    sealer = Sealer(log, load_private_key(keys[0]), lines_per_record=100)
    sealer.open()
    stop = threading.Event()
    t = threading.Thread(target=lambda: sealer.follow(every_seconds=0.05, poll=0.01, stop=stop), daemon=True)
    t.start()
    digests = _digests(log)

    def sealed() -> list[dict[str, int]]:
        return [json.loads(x) for x in digests.read_bytes().splitlines()] if digests.exists() else []

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 10
        while sum(r["lines"] for r in sealed()) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sum(r["lines"] for r in sealed()) == n

    try:
        wait_for(5)
        old = tmp_path / "audit.log.1"
        log.rename(old)
        log.touch()
        time.sleep(0.2)  # the sealer sees the new, empty file
        write_log(old, 3, start=5)  # the vault has not reopened yet
        wait_for(8)
        write_log(log, 2, start=100)  # reopened: now the new file gets the lines
        wait_for(10)
    finally:
        stop.set()
        t.join(10)
        sealer.close()
    assert [(r["segment"], r["lines"]) for r in sealed()] == [(0, 5), (0, 3), (1, 2)]
    r = _verify(log, keys)
    assert r.ok and r.verified_lines == 10, [p.text() for p in r.problems]
