"""Bounded memory and time (issue 13, item 8): a CloudTrail digest that is a gzip bomb is refused after a bounded
inflation, and `auditready seal` streams a line of any length (hashing it in chunks, never holding it).

Memory is measured as the peak RSS of the real command, in a subprocess of its own (VmHWM, printed by a wrapper as
it exits), against the size of what a non-streaming version would hold."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.seal import load_private_key, load_public_key, verify_log, write_keypair
from pytest_auditready.seal import sealer as sealer_mod
from pytest_auditready.seal.cloudtrail import MAX_DIGEST_BYTES, _gunzip, validate_trail
from pytest_auditready.seal.sealer import Sealer
from tests.test_cloudtrail import _digest_key, _log_key, build_trail, rsa_key, write_keys

MIB = 1 << 20
BOMB_BYTES = 256 * MIB  # what the bomb inflates to: held whole by a reader without a cap
LINE_BYTES = 160 * MIB  # one line for the sealer
DEADLINE = 120.0

# The peak is VmHWM of /proc/self/status: the high-water mark of this program's own memory. (ru_maxrss is no use
# here: Linux folds the parent's peak into it when the child execs, and pytest's worker can be large.)
_PEAK = """\
import sys
from pytest_auditready.cli import main
try:
    rc = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as f:
        hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")][0]
    print("PEAK_RSS_KIB", hwm, file=sys.stderr)
sys.exit(rc)
"""


def peak_run(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """`auditready ARGS` in a subprocess: the result and the process's peak RSS in bytes."""
    try:
        proc = subprocess.run([sys.executable, "-c", _PEAK, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=DEADLINE, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"auditready {' '.join(args)} still ran after {DEADLINE:.0f} s")
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("PEAK_RSS_KIB "), proc.stderr[-2000:]
    proc.stderr = "\n".join(lines[:-1])
    return proc, int(lines[-1].split()[1]) * 1024


def gzip_bomb(size: int) -> bytes:
    """A gzip file of zeros that inflates to ``size`` bytes (about 1/1000 of it on disk)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    zeros = bytes(MIB)
    return b"".join([*(z.compress(zeros) for _ in range(size // MIB)), z.flush()])


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(BOMB_BYTES)


@pytest.fixture
def baseline(tmp_path: Path) -> int:
    """Peak RSS of the command on a trivial input: what the interpreter and libraries cost by themselves."""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "x.log").write_bytes(b'{"time":"2026-01-01T00:00:00.000Z"}\n')
    write_keypair(tmp_path / "base" / "k")
    proc, peak = peak_run("seal", "x.log", "--key", "k", cwd=tmp_path / "base")
    assert proc.returncode == 0, proc.stderr
    return peak


def test_gunzip_stops_at_the_cap_without_inflating_the_rest(tmp_path: Path, bomb: bytes) -> None:
    p = tmp_path / "x_CloudTrail-Digest_y.json.gz"
    p.write_bytes(bomb)
    with pytest.raises(ValueError, match=r"inflates to over 16\.0 MiB"):
        _gunzip(p)
    small = tmp_path / "small.json.gz"
    small.write_bytes(gzip.compress(b"{}"))
    assert _gunzip(small) == b"{}"
    exact = tmp_path / "exact.gz"
    exact.write_bytes(gzip.compress(bytes(MAX_DIGEST_BYTES)))
    assert len(_gunzip(exact)) == MAX_DIGEST_BYTES  # the cap itself is allowed


def test_verify_cloudtrail_refuses_a_gzip_bomb_digest_in_bounded_memory(tmp_path: Path, bomb: bytes,
                                                                         baseline: int) -> None:
    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    (root / _digest_key(1)).write_bytes(bomb)
    proc, peak = peak_run("verify-cloudtrail", str(root), "--public-keys", str(keys), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"Digest file {_digest_key(1)} cannot be read (it inflates to over 16.0 MiB" in proc.stdout
    assert peak - baseline < 64 * MIB, (peak, baseline)  # far below the 256 MiB the bomb holds
    # the other digests are still judged
    assert "digest-damaged" in {p.kind for p in validate_trail(root, keys).problems}


def test_tamper_evidence_reads_cloudtrail_digests_in_bounded_memory(tmp_path: Path, bomb: bytes,
                                                                     baseline: int) -> None:
    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    (root / _digest_key(1)).write_bytes(bomb)  # the digest that lists the log
    log = root / _log_key(1, 1)
    log.chmod(0o600)
    proc, peak = peak_run("verify", "--format", "cloudtrail", "--cloudtrail-public-keys", str(keys), str(log),
                          cwd=tmp_path)
    assert "FAIL tamper_evidence" in proc.stdout, proc.stdout + proc.stderr
    assert peak - baseline < 64 * MIB, (peak, baseline)


def test_seal_streams_a_single_huge_line(tmp_path: Path, baseline: int) -> None:
    log = tmp_path / "one-line.log"
    head = b'{"time":"2026-01-01T00:00:00.000Z","blob":"'
    with open(log, "wb") as f:
        f.write(head)
        chunk = b"x" * MIB
        for _ in range(LINE_BYTES // MIB):
            f.write(chunk)
        f.write(b'"}\n{"time":"2026-01-01T00:00:01.000Z"}\n')
    size = log.stat().st_size
    write_keypair(tmp_path / "k")
    proc, peak = peak_run("seal", str(log), "--key", str(tmp_path / "k"), "--lines", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sealed 2 line(s)" in proc.stdout
    # a sealer that holds the line peaks at its size or twice it; this one at a few read chunks (4 MiB each)
    assert peak - baseline < 48 * MIB, (peak, baseline)
    recs = [json.loads(x) for x in Path(str(log) + ".digests").read_bytes().splitlines()]
    assert [(r["lines"], r["start"], r["end"]) for r in recs] == [(1, 0, size - 36), (1, size - 36, size)]
    assert recs[0]["first_time"] is None and recs[1]["first_time"] == "2026-01-01T00:00:01.000Z"
    assert verify_log(log, load_public_key(tmp_path / "k.pub")).ok


def test_seal_streams_an_unterminated_huge_tail(tmp_path: Path, baseline: int) -> None:
    log = tmp_path / "tail.log"
    with open(log, "wb") as f:
        f.write(b'{"time":"2026-01-01T00:00:00.000Z"}\n')
        chunk = b"y" * MIB
        for _ in range(LINE_BYTES // MIB):
            f.write(chunk)
    write_keypair(tmp_path / "k")
    proc, peak = peak_run("seal", str(log), "--key", str(tmp_path / "k"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{LINE_BYTES} bytes of an unterminated last line wait for the next seal" in proc.stdout
    assert peak - baseline < 48 * MIB, (peak, baseline)


# -- the streaming sealer seals exactly what the holding one did ----------------------------------------------

def _sealed(log: Path, key: Any, **kw: Any) -> list[dict[str, Any]]:
    with Sealer(log, key, **kw) as s:
        s.seal_once()
    return [json.loads(x) for x in Path(str(log) + ".digests").read_bytes().splitlines()]


@pytest.mark.parametrize("lines_per_record", [1, 3, 1000])
def test_long_and_short_lines_across_chunk_boundaries_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             lines_per_record: int) -> None:
    # tiny chunks and a tiny MAX_TIME_LINE: lines that spill, lines that do not, newlines at every chunk offset
    monkeypatch.setattr(sealer_mod, "CHUNK", 7)
    monkeypatch.setattr(sealer_mod, "MAX_TIME_LINE", 40)
    lines = []
    for i in range(60):
        body = "z" * ((i * 13) % 97)
        lines.append(json.dumps({"time": f"2026-01-01T00:00:{i:02d}.000Z", "b": body}).encode())
    log = tmp_path / "mixed.log"
    log.write_bytes(b"\n".join(lines) + b"\n" + b"q" * 90)  # and a spilled unterminated tail
    priv, pub, _ = write_keypair(tmp_path / "k")
    recs = _sealed(log, load_private_key(priv), lines_per_record=lines_per_record)
    assert sum(r["lines"] for r in recs) == 60 and recs[-1]["end"] == log.stat().st_size - 90
    for r in recs:  # a record's times come from lines short enough to parse, else None
        first = lines[r["first_line"] - 1]
        assert r["first_time"] == (json.loads(first)["time"] if len(first) <= 40 else None)
    with open(log, "ab") as f:  # the tail gets its newline: the next seal takes it
        f.write(b"\n")
    recs = _sealed(log, load_private_key(priv), lines_per_record=lines_per_record)
    assert sum(r["lines"] for r in recs) == 61 and recs[-1]["end"] == log.stat().st_size
    assert verify_log(log, load_public_key(pub)).ok


def test_a_record_cut_under_a_long_line_rehashes_it_from_the_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # --follow cuts a record after every_seconds even while a long line is half written: the next record must
    # start with that whole line, although its first bytes were hashed into the (abandoned) old record's state.
    monkeypatch.setattr(sealer_mod, "CHUNK", 16)
    monkeypatch.setattr(sealer_mod, "MAX_TIME_LINE", 32)
    log = tmp_path / "follow.log"
    log.write_bytes(b'{"a":1}\n' + b'{"long":"' + b"L" * 100)
    priv, pub, _ = write_keypair(tmp_path / "k")
    import threading

    stop = threading.Event()
    stop.set()  # one pass: read, cut the record by time (every_seconds=0), seal what is whole
    with Sealer(log, load_private_key(priv)) as s:
        s.follow(every_seconds=0.0, stop=stop)
        assert s.summary.lines == 1 and s.summary.unsealed_tail == 109
        with open(log, "ab") as f:
            f.write(b"L" * 50 + b'"}\n{"b":2}\n')
        s.follow(every_seconds=0.0, stop=stop)
    recs = [json.loads(x) for x in Path(str(log) + ".digests").read_bytes().splitlines()]
    assert sum(r["lines"] for r in recs) == 3
    assert recs[1]["start"] == 8 and recs[1]["first_line"] == 2
    assert verify_log(log, load_public_key(pub)).ok


def test_sealer_refuses_a_log_that_is_a_fifo(tmp_path: Path) -> None:
    # the Sealer class itself (what --follow and the embedded target use), not only the command's first check
    log = tmp_path / "audit.log"
    os.mkfifo(log)
    priv, _, _ = write_keypair(tmp_path / "k")
    code = ("import sys\nfrom pytest_auditready.seal import load_private_key\n"
            "from pytest_auditready.seal.sealer import Sealer\nfrom pytest_auditready.errors import AuditReadyError\n"
            "try:\n    with Sealer(sys.argv[1], load_private_key(sys.argv[2])) as s:\n        s.seal_once()\n"
            "except AuditReadyError as exc:\n    print(exc)\n    sys.exit(2)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(log), str(priv)], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("the sealer hangs on a FIFO")
    assert proc.returncode == 2, proc.stderr
    assert f"the log {log} is a FIFO (named pipe), not a regular file" in proc.stdout
