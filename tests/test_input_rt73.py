"""Offline input under degraded or hostile conditions (red team rt73): it fails closed, ends, and says why in one line.

- F1: a compressed file of a few bytes that expands to millions of empty (or other short) lines was read for hours;
  a file of nothing but empty lines was judged as a vault's log (exit 1, millions of unreadable lines).
- F4: a quoted `**` glob over a folder that links back up never ended, and one link back read one file 41 times.
- F5: a file truncated by copytruncate and written past its old size while its reader stalled was read as a splice
  of the two and blamed on the vault.
- F6: a file read in ranges by workers at once showed their time added up as if it were its own.

The logs are `fixtures/blind-cli/audit.log`, written by a real OpenBao dev server, and logs built from it with fresh
request ids and times (bench/run.py's ``build``), rotated by the real logrotate.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.engine.files import FileResult, expand
from pytest_auditready.errors import AuditReadyError
from pytest_auditready.offline.reader import BLOCK, FileStats, blocks, open_log
from tests._native_runs import completed
from tests._parity_runs import runs
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "fixtures" / "blind-cli" / "audit.log"
PYPROJECT = "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n"
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: gzip.compress(b, 6), "bzip2": lambda b: bz2.compress(b, 9),
    "xz": lambda b: lzma.compress(b, preset=6)}
EXT = {"gzip": "gz", "bzip2": "bz2", "xz": "xz"}


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI")}
    return completed([*args], cwd, env, timeout=timeout)


def _clis(cwd: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Each of ``commands`` (`auditready ARGS`) in ``cwd`` as ``_cli`` runs it, each in a process of its own forked
    from one runner (tests/_parity_runs.py: the interpreter and the product's imports once)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI")}
    said = runs([{"argv": list(c), "cwd": str(cwd)} for c in commands], env=env)
    return [subprocess.CompletedProcess(["auditready", *c], s["rc"], s["stdout"], s["stderr"])
            for c, s in zip(commands, said)]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _built(path: Path, size: int) -> Path:
    """A log of about ``size`` bytes made of the real one with fresh request ids and times (bench/run.py)."""
    load_script(ROOT / "bench" / "run.py", "bench_run").build(LOG, path, size)
    return path


def _read_all(path: Path) -> int:
    """Every byte of ``path``'s content, read as the reader reads it (open_log, in blocks); how many."""
    f = open_log(str(path))
    n = 0
    try:
        while True:
            data = f.read(BLOCK)
            if not data:
                return n
            n += len(data)
    finally:
        f.close()


# -- F1: how far a compressed file may expand -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_compression_bomb_of_empty_lines_after_a_real_log_is_refused_in_one_line(work: Path, kind: str) -> None:
    """Before: 4 million empty lines behind a real log's entries, a few kilobytes compressed, were each read and
    judged (an entry removed, 2.5 us each: a 3 KB bzip2 file of them ran about 3 hours), exit 1. The real log alone,
    compressed the same way, is read whole and passes."""
    head = LOG.read_bytes()
    name = f"audit.log.1.{EXT[kind]}"
    _write(work / "bomb" / name, COMPRESS[kind](head + b"\n" * (4 << 20)))
    _write(work / "real" / name, COMPRESS[kind](head))
    _write(work / "plain" / "audit.log.1", head)
    r, real, plain = _clis(work, ["verify", f"bomb/{name}"], ["verify", f"real/{name}"], ["verify", "plain/audit.log.1"])
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"auditready: bomb/{name} expands further than any log "
                                                             f"compresses: "), r.stderr
    tool = {"gzip": "gzip -dc", "bzip2": "bzip2 -dc", "xz": "xz -dc"}[kind]
    assert f"fix: if it is a log all the same, decompress it ({tool} bomb/{name} > bomb/{name}.log)" in r.stderr
    r = real
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "lines read" in ln]
    assert lines and lines == [ln.replace("plain/audit.log.1", f"real/{name}")
                               for ln in plain.stdout.splitlines() if "lines read" in ln]


def test_access_refuses_a_compression_bomb_too(work: Path) -> None:
    """`auditready access` reads through the same reader: the bomb is refused there in one line too."""
    _write(work / "audit.log.2.bz2", bz2.compress(LOG.read_bytes() + b"\n" * (4 << 20), 9))
    r = _cli(work, "access", "secret/*", "audit.log.2.bz2")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout[-2000:] + r.stderr
    assert "audit.log.2.bz2 expands further than any log compresses" in r.stderr


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_short_lines_and_long_lines_past_the_bounds_are_refused_and_real_logs_are_not(tmp_path: Path,
                                                                                        kind: str) -> None:
    """The bound is on lines and on bytes for each compressed byte, judged afresh on each MiB of compressed data.
    Refused: short lines (`{}`) past 16 lines a compressed byte, and (bzip2, whose run-length stage alone gets past
    10,000 bytes a byte) 1 MiB lines of one byte. Read whole: a realistic log of 15 MB (one real run replayed with
    fresh ids and times), and a log whose every response is one 100 KB list answer, which xz compresses 300 to 800
    times (measured on a real OpenBao's list of 2,000 keys repeated 1,500 times: 1,400 times)."""
    # (8 Mi lines of `{}`, as eight streams of 1 Mi lines each after the log's: a reader reads a file's streams one
    # after another, as `bzip2 -dc` does, and bzip2 takes 4 s to sort 24 MB of one repeated line in one stream)
    short = _write(tmp_path / f"short.{kind}", COMPRESS[kind](LOG.read_bytes())
                   + COMPRESS[kind](b"{}\n" * (1 << 20)) * 8)
    with pytest.raises(AuditReadyError, match=r"expands further than any log compresses: .* past 16 lines or "
                                              r"10,000 bytes for each"):
        _read_all(short)
    if kind == "bzip2":  # 2 GiB of 1 MiB lines, as 32 streams one after another (bzip2 -dc reads them all)
        long = _write(tmp_path / "long.bz2", bz2.compress((b"x" * (1 << 20) + b"\n") * 64, 9) * 32)
        with pytest.raises(AuditReadyError, match="expands further than any log compresses"):
            _read_all(long)
    built = _built(tmp_path / "real.log", 15 << 20)
    real = _write(tmp_path / f"real.{kind}", COMPRESS[kind](built.read_bytes()))
    assert _read_all(real) == built.stat().st_size
    keys = ["hmac-sha256:" + secrets.token_hex(32) for _ in range(1200)]
    entries = []
    for i in range(100):  # (about 9.6 MB: the ratio is each entry's, whatever their count)
        rid = f"{i:08d}-aaaa-bbbb-cccc-{secrets.token_hex(6)}"
        t = f"2026-01-05T08:{i // 60:02d}:{i % 60:02d}.{secrets.randbelow(10**8):08d}1Z"
        request = {"id": rid, "operation": "list", "path": "secret/metadata/app/", "remote_address": "10.0.0.7"}
        entries.append(json.dumps({"time": t, "type": "request", "auth": {"display_name": "approle"},
                                   "request": request}))
        entries.append(json.dumps({"time": t, "type": "response", "auth": {"display_name": "approle"},
                                   "request": request, "response": {"data": {"keys": keys}}}))
    listed = ("\n".join(entries) + "\n").encode()
    packed = _write(tmp_path / f"list.{kind}", COMPRESS[kind](listed))
    assert _read_all(packed) == len(listed)
    from pytest_auditready.offline.reader import Inflated

    f = open_log(str(packed))
    f.close()
    assert isinstance(f, Inflated)


def test_a_file_of_nothing_but_empty_lines_is_no_format_and_a_few_blank_lines_are_read_as_before(work: Path) -> None:
    """Before: a file of nothing but empty lines was taken for a Vault/OpenBao log and judged (exit 1, each line an
    entry removed; 64 MiB of them took 87 s), where content of no known format is exit 2 (SPEC). Refused in one
    line, plain or compressed, and so is a file whose first 256 KiB are empty lines. A real log that ends with an
    editor's newline too many is read as before (exit 0), one with an empty line among its entries fails
    required_fields there (an entry removed), and an empty file is judged empty (exit 1), as before."""
    blanks = (("blank.log", b"\n" * 100_000), ("blank.log.gz", gzip.compress(b"\r\n" * 100_000)),
              ("spaces.log", b"  \n\t\n" * 10))
    lines = LOG.read_bytes().split(b"\n")
    for name, data in (*blanks, ("late.log", b"\n" * (300 << 10) + LOG.read_bytes()),
                       ("audit.log", LOG.read_bytes() + b"\n"), ("gap.log", b"\n".join([*lines[:5], b"", *lines[5:]])),
                       ("empty.log", b"")):
        _write(work / name, data)
    names = [name for name, _ in blanks] + ["late.log", "audit.log", "gap.log", "empty.log"]
    said = dict(zip(names, _clis(work, *(["verify", name] for name in names))))
    for name, _ in blanks:
        r = said[name]
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (name, r.stdout[-2000:] + r.stderr)
        assert r.stderr.startswith(f"auditready: {name} holds nothing but ") and "empty line" in r.stderr, r.stderr
    r = said["late.log"]
    assert r.returncode == 2 and "late.log holds nothing but empty lines in its first 262,144 bytes" in r.stderr
    r = said["audit.log"]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    r = said["gap.log"]
    assert r.returncode == 1 and "FAIL required_fields gap.log" in r.stdout and "[gap.log:6]" in r.stdout, r.stdout
    r = said["empty.log"]
    assert r.returncode == 1 and "judged nothing" in r.stdout, r.stdout[-2000:] + r.stderr


# -- F4: a glob over a folder that links back up ----------------------------------------------------------------------
def _looped(top: Path, *links: tuple[str, str]) -> None:
    shutil.copyfile(LOG, top / "audit.log")
    (top / "audit.log").chmod(0o600)
    (top / "x").mkdir()
    for name, target in links:
        (top / "x" / name).symlink_to(target)


def test_a_glob_reaches_each_real_folder_once_and_reads_a_file_linked_in_once(tmp_path: Path) -> None:
    """Before: `logs/**/*.log` over a folder with one link back up (x/up -> ..) named the one file 41 times
    (logs/x/up/x/up/.../audit.log, each read and counted), and `logs/*/audit.log` read a file twice when a folder
    links to another (current -> 2026-01). Each is read once now; a link to a file is a name of its own, kept (a
    rotated file replaced by a link is completeness's to judge), and a folder named twice is read once."""
    top = tmp_path / "logs"
    top.mkdir()
    _looped(top, ("up", ".."))
    assert expand([f"{top}/**/*.log"]) == [f"{top}/audit.log"]
    assert expand([f"{top}/**"]) == [f"{top}/audit.log"]
    assert expand([f"{top}/x/up/**/audit.log", f"{top}/audit.log"]) == [f"{top}/x/up/audit.log"]
    months = tmp_path / "months"
    (months / "2026-01").mkdir(parents=True)
    shutil.copyfile(LOG, months / "2026-01" / "audit.log")
    (months / "current").symlink_to("2026-01")
    (months / "2026-01" / "audit.log.1").symlink_to("audit.log")
    assert expand([f"{months}/*/audit.log"]) == [f"{months}/2026-01/audit.log"]
    assert expand([f"{months}/*/audit.log*"]) == [f"{months}/2026-01/audit.log.1", f"{months}/2026-01/audit.log"]
    both = expand([str(months), f"{months}/current/audit.log"])  # (which name a walk meets first is the folder's)
    assert sorted(os.path.basename(p) for p in both) == ["audit.log", "audit.log.1"], both


@pytest.mark.parametrize("command", [["verify"], ["access", "secret/*"]])
def test_a_glob_over_links_back_up_ends_as_the_folder_does(work: Path, command: list[str]) -> None:
    """Before: two links back to the top (x/up -> .., x/again -> ../../loopd) made Python's glob walk 2^40 paths: the
    run never ended, its memory growing (killed at 60 s, 297 MB). The glob now gives the folder's answer: one file,
    exit 0."""
    top = work / "loopd"
    top.mkdir()
    _looped(top, ("up", ".."), ("again", "../../loopd"))
    r = _cli(work, *command, "loopd/**/*.log")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    if command == ["verify"]:
        assert "auditready verify: 1 file(s)" in r.stdout and "loopd/audit.log (vault)" in r.stdout, r.stdout
        assert _cli(work, "verify", "loopd").stdout.splitlines()[-1].split(" in ")[0] == \
            r.stdout.splitlines()[-1].split(" in ")[0]
    else:
        assert "more than one file" not in r.stdout + r.stderr, r.stdout


# -- F5: truncated and written again while it was read ----------------------------------------------------------------
def _rotate(log: Path, how: str) -> None:
    """``log`` rotated by the real logrotate (``how``: its directive, copytruncate or create)."""
    conf = log.parent / "rotate.conf"
    conf.write_text(f"{log} {{\n  {how}\n  rotate 2\n  missingok\n}}\n")
    done = subprocess.run(["logrotate", "-f", "-s", str(log.parent / "rotate.state"), str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _appended(log: Path, data: bytes) -> None:
    """``data`` written as the vault writes its log: O_APPEND, so after a copytruncate from the new file's start."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="needs logrotate")
def test_copytruncate_under_a_stalled_reader_is_refused_and_a_log_that_grows_is_read_to_its_size(
        tmp_path: Path) -> None:
    """Before: the reader, stalled after its first block, went on in the file logrotate's copytruncate had emptied
    and the vault written past its old size, and judged the splice: a malformed line at the seam, entries "after the
    verification began", blamed on a pipeline and the clock (exit 1). Refused now in one line (exit 2), as a file that
    shrank while it was read is, as is one emptied as its read ends. A log the vault only appends to meanwhile, or
    renames away (logrotate's create), is read as it was at the start, whole."""
    log = _built(tmp_path / "audit.log", 3 << 20)
    size, lines = log.stat().st_size, log.read_bytes().count(b"\n")
    more = _built(tmp_path / "more.log", 4 << 20).read_bytes()
    f = open_log(str(log))
    stats = FileStats()
    read = blocks(f, str(log), stats)
    first = next(read)  # the reader stalls here
    assert isinstance(first.data, bytes)
    _rotate(log, "copytruncate")
    assert log.stat().st_size == 0 and (tmp_path / "audit.log.1").stat().st_size == size
    _appended(log, more)
    with pytest.raises(AuditReadyError, match=r"audit.log was truncated and written again while it was read: .*; "
                                              r"fix: verify it when nothing truncates it"):
        for _ in read:
            pass
    f.close()
    emptied = _built(tmp_path / "emptied.log", 3 << 20)
    f = open_log(str(emptied))
    stats = FileStats()
    read = blocks(f, str(emptied), stats)
    while stats.bytes < emptied.stat().st_size:  # every byte read, the last block not yet judged
        next(read)
    os.truncate(emptied, 0)
    with pytest.raises(AuditReadyError, match=r"emptied.log shrank while it was read: at the end of the read it "
                                              r"holds 0 of the bytes it began with"):
        for _ in read:
            pass
    f.close()
    grown = _built(tmp_path / "grown.log", 3 << 20)
    size, lines = grown.stat().st_size, grown.read_bytes().count(b"\n")
    f = open_log(str(grown))
    stats = FileStats()
    read = blocks(f, str(grown), stats)
    next(read)
    _appended(grown, more)
    for _ in read:
        pass
    f.close()
    assert (stats.bytes, stats.lines) == (size, lines)
    g = _built(tmp_path / "renamed.log", 3 << 20)
    size, lines = g.stat().st_size, g.read_bytes().count(b"\n")
    f = open_log(str(g))
    stats = FileStats()
    read = blocks(f, str(g), stats)
    next(read)
    _rotate(g, "create")  # renamed away and a new file made: the reader goes on in the file it opened, whole
    _appended(g, more)
    for _ in read:
        pass
    f.close()
    assert (stats.bytes, stats.lines) == (size, lines)


# -- F6: a file's time ------------------------------------------------------------------------------------------------
def test_a_files_time_added_up_over_workers_is_said_so(tmp_path: Path) -> None:
    """Before: a file read in two ranges at once showed "67.1 MB in 172.67 s" next to a run of 86.73 s. A file whose
    time is more than the run's so far says it is its workers' time added up; one read in one go says its time."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.cli.verify import file_line
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks, verify_file

    log = _write(tmp_path / "audit.log", LOG.read_bytes())
    res: FileResult = verify_file(str(log), Settings(retention_days=0, require_tamper_evidence=False),
                                  offline_checks(BUILTIN), {})
    lines = LOG.read_bytes().count(b"\n")
    assert file_line(res, res.seconds + 1.0) == f"     {log}: {lines} lines, 0.0 MB in {res.seconds:.2f} s"
    res.seconds = 172.67
    assert file_line(res, 86.73) == f"     {log} (its workers' time added up): {lines} lines, 0.0 MB in 172.67 s"

