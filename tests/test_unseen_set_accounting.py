"""A log set judged as one log, with true accounting: audit.log, audit.log.1, audit.log.2.gz as real logrotate
leaves them, of real OpenBao entries (fixtures/openbao/clean.log), or padded entries where byte ranges matter.

1. What the set judges at the edges of its files (a pair split between two files, found paired; a partner lost
   between them, a finding) is counted judged in each file's read/judged/excused table, whichever file is read
   first and whichever way (one process, byte ranges on 2 workers, Dask, pytest): only what no file of the run can
   judge stays excused (the first file's opening responses, the last file's requests in flight).
2. An entry of one file written again at the start of the next (a chunk shipped twice, a copytruncate run twice, a
   restored copy merged in) is a finding at the later line naming the earlier file:line; a file that is a twin of
   another (a copy beside its compressed twin) is judged once and is no duplicate.
3. A log_framing / log_format the user set holds for every member read for the set's judge (and a member that
   does not match it is refused as the first file would be); a detected one never carries over to another file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest

from pytest_auditready.checks.completeness import before_log, in_flight
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine import files
from pytest_auditready.engine.files import detect, given, read_edges, settled, verify_file
from pytest_auditready.errors import AuditReadyError
from tests.test_object_store import s3  # noqa: F401  (fixtures of the Dask cluster)
from tests.test_unseen_parity import (  # noqa: F401  (address: a Dask LocalCluster fixture)
    CHECKS,
    _cfg,
    _entry,
    _four_ways,
    _in_process,
    _pairs,
    _t,
    _write,
    address,
)

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
# real OpenBao entries: request, response, ... (each pair adjacent, within one second); lines 4-5 carry no request id
STREAM = (ROOT / "openbao" / "clean.log").read_bytes().splitlines(keepends=True)[1:]
EDGE_RULES = (in_flight(120 * 10**9), before_log(120 * 10**9))


def _excused(res: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each file's completeness excuses, by rule."""
    return {Path(f["file"]).name: {e["rule"]: e["entries"] for e in f["checks"]["completeness"]["excused"]}
            for f in res["files"]}


def _edge_excuses(res: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each file's excuses of a pair split at its edges (in flight at its end, answered before it begins)."""
    return {name: {r[:40]: n for r, n in rules.items() if r in EDGE_RULES} for name, rules in _excused(res).items()}


def _findings(res: dict[str, Any]) -> list[tuple[str, str]]:
    """(file name:line, text) of every completeness finding."""
    return [(Path(f["where"]).name, f["message"]) for o in res["outcomes"] if o["check"] == "completeness"
            for f in o["findings"]]


def _both_ways(cfg: Path, paths: Sequence[str]) -> dict[str, Any]:
    """One process, then 2 workers with every file past a block in byte ranges: the same results."""
    one = _in_process(cfg, paths, 1)
    assert _in_process(cfg, paths, 2) == one
    return one


# -- a real logrotate --------------------------------------------------------------------------------------------
needs_logrotate = pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed")


def _logrotate(folder: Path, chunks: Sequence[Sequence[bytes]]) -> list[str]:
    """``folder``/audit.log written chunk by chunk, rotated by logrotate (copytruncate, compress, delaycompress)
    between two chunks: audit.log, audit.log.1, audit.log.2.gz, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "audit.log"
    log.touch(mode=0o600)
    conf = folder / "logrotate.conf"
    conf.write_text(f"{log} {{\n  rotate 9\n  copytruncate\n  compress\n  delaycompress\n  missingok\n}}\n")
    conf.chmod(0o644)
    for i, chunk in enumerate(chunks):
        with open(log, "ab") as f:
            f.write(b"".join(chunk))
        if i < len(chunks) - 1:
            subprocess.run(["logrotate", "-f", "-s", str(folder / "state"), str(conf)], check=True, timeout=30,
                           capture_output=True)
    return sorted(str(p) for p in folder.glob("audit.log*"))


@needs_logrotate
def test_a_set_rotated_by_logrotate_with_pairs_split_at_each_boundary_is_all_judged(tmp_path: Path) -> None:
    """Each rotation splits a pair (a request at the end of one file, its response opening the next). Every file's
    table counts those entries judged: before, each file but the one carrying the set's verdict still excused
    them as "in the next file of the set" (or "in the previous"), though the set had paired them."""
    paths = _logrotate(tmp_path / "logs", [STREAM[:41], STREAM[41:81], STREAM[81:]])
    assert [Path(p).name for p in paths] == ["audit.log", "audit.log.1", "audit.log.2.gz"]
    assert gzip.decompress(Path(paths[2]).read_bytes()) == b"".join(STREAM[:41])
    res = _both_ways(_cfg(tmp_path), paths)
    assert _findings(res) == []
    assert _edge_excuses(res) == {"audit.log": {}, "audit.log.1": {}, "audit.log.2.gz": {}}
    tallies = {Path(f["file"]).name: f["checks"]["completeness"] for f in res["files"]}
    assert tallies["audit.log.1"] == {"fed": 40, "judged": 40, "excused": []}
    assert tallies["audit.log"]["judged"] == tallies["audit.log"]["fed"] == len(STREAM) - 81
    assert tallies["audit.log.2.gz"]["judged"] == 41 - 2  # two entries with no request id stay excused (NO_KEY)


def test_a_set_is_told_without_reading_any_file_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """One process reads each file of a set once: the file that judges the set is read last, every other file's
    edges are known from its own pass, and its tally takes the set's word afterwards (``settle``). Reading every
    other member again up front cost a set 15 to 60 % more (each member decoded twice)."""
    paths = [_write(tmp_path / "audit.log.2", STREAM[:41]), _write(tmp_path / "audit.log.1", STREAM[41:81]),
             _write(tmp_path / "audit.log", STREAM[81:])]
    reads: list[str] = []
    real = files.read_with
    monkeypatch.setattr(files, "read_with", lambda make, path, settings: reads.append(path) or real(make, path,
                                                                                                   settings))
    files._EDGES.clear()
    files._SETS.clear()
    out = tmp_path / "out.json"
    assert main(["verify", "--jobs", "1", "--config", str(_cfg(tmp_path)), "--json", str(out), *paths]) == 0
    assert reads == []
    doc = json.loads(out.read_text())
    tallies = {Path(f["file"]).name: f["checks"]["completeness"] for f in doc["files"]}
    assert tallies["audit.log.1"] == {"fed": 40, "judged": 40, "excused": []}
    # each outcome's tally says what its file's accounting says (both take the set's word)
    said = {Path(o["subject"]).name: o["tally"] for o in doc["outcomes"] if o["check"] == "completeness"}
    assert said == tallies
    capsys.readouterr()


def test_pytest_offline_reports_take_the_set_s_word_too(tmp_path: Path) -> None:
    """`pytest --auditready-offline` over the same set: the evidence bundle's outcomes and files say each file's
    edges judged, as `auditready verify` does."""
    paths = [_write(tmp_path / "audit.log.2", STREAM[:41]), _write(tmp_path / "audit.log.1", STREAM[41:81]),
             _write(tmp_path / "audit.log", STREAM[81:])]
    (tmp_path / "pyproject.toml").write_text(_cfg(tmp_path).read_text())  # [tool.auditready] of the project
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--auditready-offline",
                           *paths, "--auditready-evidence", str(tmp_path / "ev")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    tallies = {Path(f["file"]).name: f["checks"]["completeness"] for f in doc["accounting"]}
    assert tallies["audit.log.1"] == {"fed": 40, "judged": 40, "excused": []}
    said = {Path(o["subject"]).name: o["tally"] for c in doc["checks"] if c["id"] == "completeness"
            for o in c["outcomes"]}
    assert said == tallies


def test_what_no_file_of_the_run_can_judge_stays_excused(tmp_path: Path) -> None:
    """A response opening the set's first file and a request in flight at its last file's end have no file of the
    run to be judged against: they alone stay excused; the pair split between the two files is judged."""
    first = _write(tmp_path / "audit.log.1", STREAM[7:41])  # opens with the response of line 6's request
    last = _write(tmp_path / "audit.log", STREAM[41:101])  # ends with the request of line 100, in flight
    res = _both_ways(_cfg(tmp_path), [last, first])
    assert _findings(res) == []
    assert _edge_excuses(res) == {"audit.log": {in_flight(120 * 10**9)[:40]: 1},
                                  "audit.log.1": {before_log(120 * 10**9)[:40]: 1}}


@needs_logrotate
def test_a_window_lost_between_two_files_is_judged_in_both_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                  ) -> None:
    """copytruncate lost STREAM[41:45] (written between the copy and the truncation): the request at the end of
    audit.log.1 and the response opening audit.log are findings of the set, and each is counted judged in its own
    file's table (JSON and terminal), not excused as "its response is in the next file". Before, the file read
    first (audit.log) excused its opening response though the set reported it."""
    paths = _logrotate(tmp_path / "logs", [STREAM[:41], STREAM[45:]])
    cfg = _cfg(tmp_path)
    res = _both_ways(cfg, paths)
    where = sorted(w for w, _ in _findings(res))
    assert where == ["audit.log.1:41", "audit.log:1"], where
    assert _edge_excuses(res) == {"audit.log": {}, "audit.log.1": {}}
    tallies = {Path(f["file"]).name: f["checks"]["completeness"] for f in res["files"]}
    assert tallies["audit.log"] == {"fed": len(STREAM) - 45, "judged": len(STREAM) - 45, "excused": []}
    assert tallies["audit.log.1"]["judged"] == 41 - 2
    capsys.readouterr()
    assert main(["verify", "--jobs", "1", "--config", str(cfg), "--json", str(tmp_path / "out.json"), *paths]) == 1
    out = capsys.readouterr().out
    assert "still in flight when the log ends" not in out and "written before the log begins" not in out
    assert f"entries judged: completeness {len(STREAM) - 45}," in out and "entries judged: completeness 39," in out
    printed = json.loads((tmp_path / "out.json").read_text())["files"]
    assert {Path(f["file"]).name: f["checks"]["completeness"] for f in printed} == tallies


# -- entries written again across the files of a set -------------------------------------------------------------
def test_a_chunk_shipped_again_into_the_next_file_is_a_duplicate_naming_the_first(tmp_path: Path) -> None:
    """A shipper restarted and sent its last chunk again: audit.log opens with the 10 entries audit.log.1 ends with.
    Each is a finding at its line in audit.log naming its first in audit.log.1, as a copy (the same time). Before,
    the set passed: each file alone is whole, and files overlapping in time were not judged together."""
    old = _write(tmp_path / "audit.log.1", [ln.rstrip(b"\n") for ln in STREAM[:40]])
    new = _write(tmp_path / "audit.log", [ln.rstrip(b"\n") for ln in STREAM[30:]])
    res = _both_ways(_cfg(tmp_path), [new, old])
    found = dict(_findings(res))
    assert sorted(found) == sorted(f"audit.log:{n}" for n in range(1, 11)), sorted(found)
    assert f"(the first at {old}:32)" in found["audit.log:2"] and f"response entry at {old}:32" in found["audit.log:1"]
    assert all("same entry at the same time" in t and "audit.log.1" in t for t in found.values())
    assert _edge_excuses(res) == {"audit.log": {}, "audit.log.1": {}}


def test_a_request_written_again_at_another_time_in_the_next_file_is_a_second_writer(tmp_path: Path) -> None:
    """The next file opens with a request and response entry of a request the file before answered at its end,
    at another time: written by a second writer (or made up). Each file alone is whole."""
    old = _pairs(20, 0, "a")
    again = [_entry("request", "a18", _t(30)), _entry("response", "a18", _t(31))]
    first = _write(tmp_path / "audit.log.1", old)
    second = _write(tmp_path / "audit.log", again + _pairs(20, 40, "b"))
    res = _both_ways(_cfg(tmp_path), [second, first])
    found = dict(_findings(res))
    assert sorted(found) == ["audit.log:1", "audit.log:2"]
    assert f"response entry at {first}:20" in found["audit.log:1"]
    assert f"(the first at {first}:20)" in found["audit.log:2"]
    assert all("two audit devices" in t for t in found.values())


def test_a_request_entry_copied_alone_into_the_next_file_is_a_copy(tmp_path: Path) -> None:
    """The next file opens with the request entry of a request the file before answered a moment later, byte for
    byte: the same entry at its request's time, so a hop copied it. Before, no finding: a copy was known only by
    its response's time, so a next file this short, overlapping the one before in time, was not taken to follow it,
    and the request was excused as in flight at its end (found while mending red team rt93 F7's wording)."""
    old = [*_pairs(18, 0, "a"), _entry("request", "a18", _t(18)), _entry("response", "a18", _t(19))]
    first = _write(tmp_path / "audit.log.1", old)
    # (and one more pair within 25 ms of it: the file's own pass leaves a request that opens it in flight)
    second = _write(tmp_path / "audit.log", [old[-2], _entry("request", "b1", _t(19)), _entry("response", "b1", _t(20))])
    found = dict(_findings(_both_ways(_cfg(tmp_path), [second, first])))
    assert list(found) == ["audit.log:1"], found
    assert f"response entry at {first}:20" in found["audit.log:1"]
    assert "the same entry at the same time, so a hop copied the line" in found["audit.log:1"], found


def test_an_id_again_past_the_window_is_not_judged_a_duplicate(tmp_path: Path) -> None:
    """Beyond the pairing window (completeness_window) an id is no longer remembered, across files as within one."""
    first = _write(tmp_path / "audit.log.1", _pairs(20, 0, "a"))
    later = [_entry("request", "a18", _t(19, day=6)), _entry("response", "a18", _t(19, day=6))]
    second = _write(tmp_path / "audit.log", later + _pairs(20, 40, "b", day=6))
    assert _findings(_both_ways(_cfg(tmp_path), [second, first])) == []


@needs_logrotate
def test_a_copy_beside_its_compressed_twin_is_judged_once_and_no_duplicate(tmp_path: Path) -> None:
    """audit.log.1 kept beside audit.log.1.gz (the same entries): judged once, no entry of it a duplicate, and the
    pairs split at both their edges are judged in both tables."""
    paths = _logrotate(tmp_path / "logs", [STREAM[:41], STREAM[41:81], STREAM[81:]])
    one = Path(paths[1])
    (one.parent / "audit.log.1.gz").write_bytes(gzip.compress(one.read_bytes()))
    (one.parent / "audit.log.1.gz").chmod(0o600)
    paths = sorted(str(p) for p in one.parent.glob("audit.log*"))
    res = _both_ways(_cfg(tmp_path), paths)
    assert _findings(res) == []
    assert all(not rules for rules in _edge_excuses(res).values()), _edge_excuses(res)
    notes = [o["reason"] for o in res["outcomes"] if o["check"] == "completeness" and o["reason"]]
    assert any("audit.log.1.gz holds the same entries as" in n and "judged once" in n for n in notes), notes


def _chunks(folder: Path, *pieces: tuple[str, Sequence[bytes]]) -> list[str]:
    """Gzipped chunks named as a shipper names them (Fluent Bit's s3 output, Firehose), private."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, lines in pieces:
        p = folder / f"vault-audit-{name}.gz"
        p.write_bytes(gzip.compress(b"".join(lines)))
        p.chmod(0o600)
        out.append(str(p))
    return out


def test_a_chunk_shipped_twice_under_another_name_is_a_finding(tmp_path: Path, s3: Any) -> None:  # noqa: F811
    """At-least-once delivery (a shipper's retry after a timeout) writes a whole chunk again under a new object key:
    each of its entries is then in the set twice. Before, the copy was judged once as a twin and only named in the
    pass reason (red team rt48 F1). A copy under the same name in another folder (an archive's), and one file under
    two names (a link), are still judged once without a finding; as local files and as objects."""
    first, second = STREAM[:41], STREAM[41:]
    ok = _chunks(tmp_path / "ok", ("20261205T141539Z-7f3a", first), ("20261205T141551Z-c91e", second))
    assert _findings(_both_ways(_cfg(tmp_path), ok)) == []
    again = _chunks(tmp_path / "ok", ("20261205T141551Z-d02b", second))[0]
    found = _findings(_both_ways(_cfg(tmp_path), [*ok, again]))
    assert len(found) == 1 and found[0][0] == Path(again).name and "shipped twice" in found[0][1], found
    assert "vault-audit-20261205T141551Z-c91e.gz, under another name" in found[0][1], found
    # the same name in an archive folder, and a link under another name: one file kept twice, judged once
    Path(again).unlink()
    archived = _chunks(tmp_path / "archive", ("20261205T141551Z-c91e", second))
    link = tmp_path / "ok" / "current.gz"
    link.hardlink_to(ok[1])
    res = _both_ways(_cfg(tmp_path), [*ok, *archived, str(link)])
    assert _findings(res) == []
    notes = [o["reason"] for o in res["outcomes"] if o["check"] == "completeness" and o["reason"]]
    assert any("(judged once)" in n for n in notes), notes
    # objects: the retry's copy under a new key in the same prefix
    for key, path in (("a", ok[0]), ("b", ok[1]), ("c", ok[1])):
        s3.put_object(Bucket=s3.bucket, Key=f"vault/{key}-{Path(path).name}", Body=Path(path).read_bytes())
    found = _findings(_in_process(_cfg(tmp_path), [f"s3://{s3.bucket}/vault/"], 1))
    assert len(found) == 1 and "shipped twice" in found[0][1], found


def _salted(line: bytes) -> bytes:
    """``line`` as a second audit device writes it: each HMAC digest made with another salt."""
    return re.sub(rb"hmac-sha256:([0-9a-f]{64})", lambda m: b"hmac-sha256:" + hashlib.sha256(m.group(1)).hexdigest()
                  .encode(), line)


@pytest.mark.parametrize("empty_live", [False, True])
def test_two_devices_folders_of_one_log_name_are_two_logs(tmp_path: Path, empty_live: bool) -> None:
    """Two audit devices (or hosts) archived in folders of their own under one name (dev1/audit.log*,
    dev2/audit.log*): each folder's rotation is judged on its own entries. Before, the set took both for one log
    whose files overlap in time, judged no edge, and the response dev1 lost at its rotation passed with dev2 beside
    it (red team rt52 F4). The same with each live log empty, just rotated (logrotate's create), and with the two
    folders named by their parent folder."""
    cfg = _cfg(tmp_path)
    for dev in ("dev1", "dev2"):
        # each device hashes with a salt of its own: the same requests, other digests (so the two folders are two
        # logs, not a file and its copy, which would be compared: engine.files._copies_differ)
        stream = STREAM if dev == "dev1" else [_salted(ln) for ln in STREAM]
        live = [] if empty_live else stream[81:]
        d = tmp_path / "archive" / dev
        d.mkdir(parents=True)
        middle = stream[42:81] if dev == "dev1" else stream[41:81]  # dev1 lost the response opening audit.log.1
        _write(d / "audit.log.2", stream[:41])
        _write(d / "audit.log.1", middle + (stream[81:] if empty_live else []))
        (d / "audit.log").write_bytes(b"".join(live))
        (d / "audit.log").chmod(0o600)
    dev1, dev2 = str(tmp_path / "archive" / "dev1"), str(tmp_path / "archive" / "dev2")
    alone = _findings(_both_ways(cfg, [dev1]))
    assert alone and all(name.startswith("audit.log.2:") for name, _ in alone), alone
    assert _findings(_both_ways(cfg, [dev2])) == []
    assert _findings(_both_ways(cfg, [dev1, dev2])) == alone
    assert _findings(_both_ways(cfg, [str(tmp_path / "archive")])) == alone


# -- the four ways: one process, byte ranges on 2 workers, Dask, pytest ---------------------------------------
def test_a_set_of_ranges_with_a_split_pair_a_lost_pair_and_a_chunk_again_four_ways(tmp_path: Path,
                                                                                  address: str) -> None:  # noqa: F811
    """Three files of padded entries, each past a block (read in byte ranges by 2 workers and Dask): a pair split
    between the first two (judged), a window lost between the last two (two findings), and the last opening with a
    chunk of the second's end shipped again (findings naming the first). The same verdicts, findings and
    read/judged/excused counts every way; no file excuses an edge the set judged."""
    a = [*_pairs(1598, 0, "a"), _entry("request", "X", _t(1599))]
    b = [_entry("response", "X", _t(1600)), *_pairs(1599, 1601, "b")]
    b[-1] = _entry("request", "L", _t(3199))  # its response is lost with the window
    c = b[-7:-1] + _pairs(1600, 3300, "c")  # the last 6 entries of b before L, shipped again
    c.insert(6, _entry("response", "M", _t(3250)))  # its request is lost with the window
    paths = [_write(tmp_path / "audit.log.2", a), _write(tmp_path / "audit.log.1", b),
             _write(tmp_path / "audit.log", c)]
    res = _four_ways(_cfg(tmp_path), paths, tmp_path, address)
    found = dict(_findings(res))
    assert sorted(found) == sorted(["audit.log.1:1600", "audit.log:7"] + [f"audit.log:{n}" for n in range(1, 7)])
    assert all("same entry at the same time" in found[f"audit.log:{n}"] for n in range(1, 7))
    assert _edge_excuses(res) == {"audit.log.2": {}, "audit.log.1": {}, "audit.log": {}}
    for f in res["files"]:
        assert f["checks"]["completeness"]["judged"] == f["checks"]["completeness"]["fed"] == f["entries"]


# -- the user's framing and format hold for every member ---------------------------------------------------------
def _shipped(lines: Sequence[bytes], server: int = 0) -> list[bytes]:
    """Filebeat's records of ``lines`` (each carries one in "message"), after ``server`` records of the vault's own
    server log shipped into the same sink (a vault starting up writes many)."""
    def rec(message: str, source: str) -> bytes:
        return json.dumps({"@timestamp": "2026-01-05T08:00:00.000Z", "message": message,
                           "log": {"file": {"path": source}}, "agent": {"type": "filebeat"}}).encode()

    noise = [rec(f"2026-01-05T08:00:00.000Z [INFO]  core: starting step {i}", "/var/log/openbao/server.log")
             for i in range(server)]
    return noise + [rec(ln.decode().rstrip("\n"), "/var/log/openbao/audit.log") for ln in lines]


def test_the_framing_the_user_set_holds_for_a_member_read_for_the_set(tmp_path: Path) -> None:
    """log_framing = "shipper": audit.log.1, a sink file that opens with the vault's start-up server log, is read
    for the set's judge (audit.log) by a process that has not read it (`pytest -n 2`, an archive). It was told
    anew from its content: the start-up lines outnumber the audit lines of its first MB, so no framing, and the
    set's judge failed (exit 2: JSON lines of no known format). Now the user's framing holds: its edges are those
    its own pass reads, and the pair split between the two files is judged, not excused."""
    old = [*_pairs(20, 0, "a"), _entry("request", "X", _t(20))]
    new = [_entry("response", "X", _t(30)), *_pairs(20, 31, "b")]
    member = _write(tmp_path / "audit.log.1", _shipped(old, server=60))
    judge = _write(tmp_path / "audit.log", _shipped(new))
    user = Settings(require_tamper_evidence=False, retention_days=0, log_framing="shipper")
    log_set = (member, judge)
    told = detect(judge, user)
    files._EDGES.clear()
    files._SETS.clear()
    try:
        res = verify_file(judge, told, CHECKS, {}, log_set, detected=True)
        alone = read_edges(member, told)
        files._EDGES.clear()
        own = verify_file(member, detect(member, user), CHECKS, {}, log_set, detected=True)
        assert read_edges(member, told) == alone  # its own pass remembered the same edges
    finally:
        files._EDGES.clear()
        files._SETS.clear()
    (o,) = [o for o in res.outcomes if o.check_id == "completeness"]
    assert o.status == "passed" and not o.findings
    assert alone is not None and set(alone.pending) == {"X"}
    for acct in [r.accounting() for r in settled([res, own])]:  # the member's tally, with the set's word on it
        t = acct["checks"]["completeness"]
        assert not [e for e in t["excused"] if e["rule"] in EDGE_RULES], t
    assert given(told) == ("auto", "shipper") and given(detect(judge, Settings())) == ("auto", "auto")


def test_a_member_that_does_not_match_the_format_the_user_set_is_refused_like_the_first(tmp_path: Path) -> None:
    """--format k8s: a Vault/OpenBao member read for the set is refused as the first file would be (the same
    words), never read in the format its own content shows."""
    vault = _write(tmp_path / "audit.log.1", [ln.rstrip(b"\n") for ln in STREAM[:40]])
    user = Settings(log_format="k8s")
    with pytest.raises(AuditReadyError) as first:
        detect(vault, user)
    k8s = ROOT / "k8s" / "real" / "correct.log"
    told = detect(str(k8s), user)
    files._EDGES.clear()
    try:
        with pytest.raises(AuditReadyError) as member:
            read_edges(vault, told)
    finally:
        files._EDGES.clear()
    assert str(member.value) == str(first.value)
    assert given(told) == ("k8s", "auto") and told.log_framing == "none"  # the user's, not the file's


# -- Kubernetes and CloudTrail: one record delivered again across the files of a set ---------------------------------
K8S = (ROOT / "k8s" / "real" / "correct.log").read_bytes().splitlines()
TRAIL = json.loads((ROOT / "cloudtrail" / "real" / "correct.json").read_bytes())["Records"]
REDELIVERED_K8S = "an event delivered again unchanged"


def _edit(line: bytes, **changes: Any) -> bytes:
    d = json.loads(line)
    d.update(changes)
    return json.dumps(d, separators=(",", ":")).encode()


def test_k8s_events_of_one_file_again_in_the_next_are_judged_across_the_set(tmp_path: Path) -> None:
    """The API server's log backend rotated (audit-TIME.log, then audit.log) while a webhook receiver retried a
    batch: the next file opens with the last 3 events of the one before, unchanged (excused in its table as a
    delivery repeated), then with one of them changed (a finding at its line naming the first). Before, each file
    was judged alone: the changed copy passed."""
    old = _write(tmp_path / "audit-2026-01-05T08-00-00.000.log", K8S[:10])
    new = _write(tmp_path / "audit.log", K8S[7:])
    res = _both_ways(_cfg(tmp_path), [new, old])
    assert _findings(res) == []
    assert {r[:34]: n for r, n in _excused(res)["audit.log"].items() if r.startswith(REDELIVERED_K8S)} == \
        {REDELIVERED_K8S[:34]: 3}
    forged = _edit(K8S[8], verb="get", user={"username": "someone-else"})
    new = _write(tmp_path / "audit.log", [forged, *K8S[10:]])
    res = _both_ways(_cfg(tmp_path), [new, old])
    found = dict(_findings(res))
    assert list(found) == ["audit.log:1"] and f"({old}:9)" in found["audit.log:1"], found


def test_cloudtrail_an_event_id_of_one_file_again_in_the_next_is_judged_across_the_set(tmp_path: Path) -> None:
    """Two trails' delivered files joined, or a file delivered again: a record repeated unchanged in the next file is
    a delivery repeated; repeated with other content, a finding naming the first. Before, each file was alone."""
    def trail(name: str, records: list[Any]) -> str:
        p = tmp_path / name
        p.write_text(json.dumps({"Records": records}))
        p.chmod(0o600)
        return str(p)

    old = trail("111122223333_CloudTrail_us-east-1_20260105T0800Z_a.json", TRAIL[:6])
    new = trail("111122223333_CloudTrail_us-east-1_20260105T0805Z_b.json", TRAIL[4:])
    res = _both_ways(_cfg(tmp_path), [old, new])
    assert _findings(res) == []
    forged: dict[str, Any] = json.loads(json.dumps(TRAIL[5]))
    forged["sourceIPAddress"] = "203.0.113.9"
    new = trail("111122223333_CloudTrail_us-east-1_20260105T0805Z_b.json", [forged, *TRAIL[6:]])
    res = _both_ways(_cfg(tmp_path), [old, new])
    (finding,) = [f for o in res["outcomes"] if o["check"] == "completeness" for f in o["findings"]]
    assert finding["request_id"] == TRAIL[5]["eventID"] and finding["where"].startswith(f"{new}:")
    assert f"({old}:" in finding["message"] and "eventID" in finding["message"]
