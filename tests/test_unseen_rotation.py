"""Log sets across files and time as real rotation and shipping tools leave them, judged by `auditready verify`.

- logrotate's copytruncate copies the log, then truncates it: what the vault writes in between is lost. Each file
  alone excuses a pair broken at its edges (a request in flight at its end, a response whose request came before
  it); across the set, the partner is looked for in the file next in time, and its absence is a completeness
  finding. A set whose boundary splits a pair legitimately passes.
- The order of a set is the time of its entries, not the sort of its names: audit.log.10 is older than audit.log.9,
  and an object store's keys (Fluent Bit's s3_key_format with $UUID) carry random suffixes.
- A numbered rotated file missing between two present ones (logrotate numbers without gaps) is a retention
  finding even when the file held a single day (which retention_max_gap_days tolerates).
- A copy kept beside its compressed twin is judged once; the logs of two writers overlapping in time are not
  paired with each other.

The entries are those a real OpenBao wrote (fixtures/openbao/clean.log); the rotations are made by the real
logrotate where it is installed."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Sequence

import pytest

from pytest_auditready.cli import main
from tests.test_retention import days_between

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
STREAM = CLEAN.read_bytes().splitlines(keepends=True)[1:]  # request, response, ... (each pair adjacent), no self-test
D = datetime.date
NO_RETENTION = "require_tamper_evidence = false\nretention_days = 0\n"


def _rid(line: bytes) -> str:
    return str(json.loads(line)["request"].get("id", ""))


def _config(tmp_path: Path, body: str = NO_RETENTION) -> Path:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(body)
    return cfg


def _verify(capsys: pytest.CaptureFixture[str], cfg: Path, *paths: Any, jobs: int = 1) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["verify", "--jobs", str(jobs), "--config", str(cfg), *(str(p) for p in paths)])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out + cap.err


def _failed(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("FAIL ") or ln.startswith("  - ")]


def _write(path: Path, lines: Sequence[bytes], gz: bool = False) -> Path:
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    path.chmod(0o600)
    return path


def _logrotate(folder: Path, options: str) -> None:
    """Run the real logrotate once (forced) on folder/audit.log with ``options``."""
    exe = shutil.which("logrotate") or (shutil.which("logrotate", path="/usr/sbin:/sbin"))
    if exe is None:
        pytest.skip("logrotate is not installed (apt-get install logrotate)")
    conf = folder.parent / "logrotate.conf"
    conf.write_text(f"{folder / 'audit.log'} {{\n{options}\n}}\n")
    conf.chmod(0o600)
    subprocess.run([exe, "-f", "-s", str(folder.parent / "logrotate.state"), str(conf)], check=True, timeout=30,
                   capture_output=True)


def _append(path: Path, lines: Sequence[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(lines))
    path.chmod(0o600)


# -- copytruncate's lost window --------------------------------------------------------------------------------


def test_copytruncate_splitting_a_pair_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    cut = 7  # STREAM[6] is a request, STREAM[7] its response: the rotation falls between them
    assert _rid(STREAM[cut - 1]) == _rid(STREAM[cut]) and _rid(STREAM[cut])
    _append(logs / "audit.log", STREAM[:cut])
    _logrotate(logs, "copytruncate\nrotate 5\nmissingok")
    assert (logs / "audit.log.1").read_bytes() == b"".join(STREAM[:cut]) and (logs / "audit.log").stat().st_size == 0
    _append(logs / "audit.log", STREAM[cut:])
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


def _lost_window(logs: Path) -> tuple[str, str]:
    """audit.log.1 and audit.log as copytruncate leaves them when the vault writes STREAM[7:11] between the copy
    and the truncation (made with logrotate's ``copy`` and the truncation copytruncate then does): the response of
    the request ending audit.log.1 is lost, and so is the request of the response opening audit.log. Returns their
    request ids."""
    logs.mkdir()
    _append(logs / "audit.log", STREAM[:7])
    _logrotate(logs, "copy\nrotate 5\nmissingok")
    _append(logs / "audit.log", STREAM[7:11])  # written after the copy, before the truncation: lost
    with open(logs / "audit.log", "r+b") as f:
        f.truncate(0)
    _append(logs / "audit.log", STREAM[11:])
    assert STREAM[6] != STREAM[11] and json.loads(STREAM[11])["type"] == "response"
    return _rid(STREAM[6]), _rid(STREAM[11])


def test_copytruncate_lost_window_is_a_completeness_finding(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    lost_response, lost_request = _lost_window(logs)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    failed = _failed(out)
    assert f"[{logs / 'audit.log.1'}:7, request id {lost_response}] The request entry has no response entry: it " \
           f"was still in flight when {logs / 'audit.log.1'} ends" in out, out
    assert f"[{logs / 'audit.log'}:1, request id {lost_request}] The response entry has no request entry: it opens " \
           f"{logs / 'audit.log'}" in out, out
    assert "instead of copytruncate" in out
    assert [ln.split()[1] for ln in failed if ln.startswith("FAIL ")] == ["completeness"], out


def test_the_parallel_path_finds_the_lost_window_too(tmp_path: Path) -> None:
    """engine.parallel finishes each file from its parts; the set's boundaries are judged there as verify_file
    judges them."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks
    from pytest_auditready.engine.parallel import verify_files

    logs = tmp_path / "logs"
    _lost_window(logs)
    paths = sorted(str(p) for p in logs.iterdir())
    checks = offline_checks(BUILTIN)

    def said(jobs: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
        results = verify_files(Settings(require_tamper_evidence=False, retention_days=0), checks, {}, paths, jobs,
                               min_bytes=0)
        return [(r.path, o.check_id, o.status, tuple(f.where for f in o.findings)) for r in results
                for o in r.outcomes]

    one, two = said(1), said(2)
    assert one == two
    broken = [x for x in one if x[1] == "completeness" and x[2] == "failed"]
    assert broken and set(broken[0][3]) == {f"{logs / 'audit.log.1'}:7", f"{logs / 'audit.log'}:1"}, one


# -- the order of a set: numbers, dates, object keys --------------------------------------------------------------


def _cuts(n: int) -> list[int]:
    """``n`` - 1 places that split STREAM into ``n`` chunks, each between a request and its response."""
    cuts = [c for c in range(9, len(STREAM) - 2, 2) if _rid(STREAM[c])][: n - 1]
    step = max(1, len(cuts) // (n - 1))
    return sorted(set(cuts[::step]))[: n - 1]


def _numbered_set(logs: Path, n: int) -> list[list[bytes]]:
    """STREAM written and rotated ``n`` - 1 times by logrotate (rotate 20, compress, delaycompress), each rotation
    splitting a pair: audit.log (newest), audit.log.1, audit.log.2.gz ... audit.log.N-1.gz (oldest)."""
    logs.mkdir()
    cuts = _cuts(n)
    bounds = [0, *cuts, len(STREAM)]
    chunks = [STREAM[a:b] for a, b in zip(bounds, bounds[1:])]
    assert len(chunks) == n
    for i, chunk in enumerate(chunks):
        _append(logs / "audit.log", chunk)
        if i < n - 1:
            _logrotate(logs, "rotate 20\ncompress\ndelaycompress\ncreate 0600\nmissingok")
    return chunks


def test_a_numbered_set_of_twelve_files_is_paired_in_time_order(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _numbered_set(logs, 12)
    names = sorted(p.name for p in logs.iterdir())
    assert "audit.log.10.gz" in names and "audit.log.9.gz" in names and "audit.log.1" in names
    rc, out = _verify(capsys, _config(tmp_path), logs)  # the folder sorts audit.log.10.gz before audit.log.2.gz
    assert rc == 0 and not _failed(out), out


def test_a_deleted_middle_file_of_a_numbered_set_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _numbered_set(logs, 12)
    (logs / "audit.log.10.gz").unlink()
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    ends = [ln for ln in _failed(out) if f"when {logs / 'audit.log.11.gz'} ends, and {logs / 'audit.log.9.gz'}, the "
            "next file of the set in time, does not hold its response" in ln]
    opens = [ln for ln in _failed(out) if f"it opens {logs / 'audit.log.9.gz'}, and {logs / 'audit.log.11.gz'}" in ln]
    assert len(ends) == 1 and len(opens) == 1, out


def test_a_middle_file_moved_to_the_archive_is_looked_for_there(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A rotated file moved to retention_archive (or seal_archive) is no lost window: its pairs are found there."""
    logs = tmp_path / "logs"
    _numbered_set(logs, 12)
    archive = tmp_path / "archive"
    archive.mkdir(mode=0o700)
    (logs / "audit.log.10.gz").rename(archive / "audit.log.10.gz")
    for key in ("retention_archive", "seal_archive"):
        rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + f'{key} = ["{archive}"]\n'), logs)
        assert rc == 0 and not _failed(out), (key, out)
    (archive / "audit.log.10.gz").unlink()
    (tmp_path / "elsewhere").mkdir()
    rc, out = _verify(capsys, _config(tmp_path, NO_RETENTION + f'retention_archive = ["{tmp_path / "elsewhere"}"]\n'),
                      logs)
    assert rc == 1 and len([ln for ln in _failed(out) if "written between the two files are lost" in ln]) == 2, out


def _on_day(day: D, k: int) -> list[bytes]:
    """Two whole pairs of STREAM (past the dev server's own set-up), their times moved to ``day``."""
    out = []
    for ln in STREAM[6 + 4 * (k % 20): 10 + 4 * (k % 20)]:
        d = json.loads(ln)
        d["time"] = day.isoformat() + d["time"][10:]
        out.append(json.dumps(d, separators=(",", ":")).encode() + b"\n")
    return out


def _daily_set(logs: Path, days: Sequence[D]) -> None:
    """One file a day, rotated daily by logrotate (rotate 30, compress, delaycompress): the newest day in audit.log,
    the oldest in audit.log.N.gz."""
    logs.mkdir()
    for i, day in enumerate(days):
        _append(logs / "audit.log", _on_day(day, 2 * i))
        if i < len(days) - 1:
            _logrotate(logs, "rotate 30\ncompress\ndelaycompress\ncreate 0600\nmissingok")


# for the daily sets of 2026-11-01 to 2026-11-15 here and in test_unseen_file_defects, judged as of the day after
# their last (retention_as_of): the days since are no part of these cases
RETAIN_14 = ("require_tamper_evidence = false\nretention_days = 14\nretention_online_days = 14\n"
             'retention_as_of = "2026-11-16"\n')


def test_a_daily_numbered_set_passes_retention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _daily_set(logs, days_between(D(2026, 11, 1), D(2026, 11, 15)))
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 0 and not _failed(out), out
    assert "spans 15 days (2026-11-01 to 2026-11-15)" in out


def test_a_deleted_day_of_a_numbered_set_is_a_retention_finding(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """One day missing is within retention_max_gap_days (1): only the numbering shows that audit.log.3.gz is gone."""
    logs = tmp_path / "logs"
    _daily_set(logs, days_between(D(2026, 11, 1), D(2026, 11, 15)))
    (logs / "audit.log.3.gz").unlink()
    (logs / "audit.log.1").unlink()  # the newest rotated file, too: LOG and LOG.2 are there
    rc, out = _verify(capsys, _config(tmp_path, RETAIN_14), logs)
    assert rc == 1, out
    failed = _failed(out)
    assert [ln.split()[1] for ln in failed if ln.startswith("FAIL ")] == ["retention"], out
    assert any(f"{logs / 'audit.log'}.1, {logs / 'audit.log'}.3 are not in the log set of 13 files" in ln
               and "logrotate numbers rotated files without gaps" in ln for ln in failed), out
    assert not any("No entry on" in ln for ln in failed), out  # the day gaps alone are tolerated


def test_a_day_moved_to_the_retention_archive_is_no_missing_file(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    _daily_set(logs, days_between(D(2026, 11, 1), D(2026, 11, 15)))
    archive = tmp_path / "archive"
    archive.mkdir(mode=0o700)
    (logs / "audit.log.3.gz").rename(archive / "audit.log.3.gz")
    # the archived day (2026-11-12) lies outside the newest 3 days that must be at hand (retention_online_days)
    online_3 = RETAIN_14.replace("retention_online_days = 14", "retention_online_days = 3")
    rc, out = _verify(capsys, _config(tmp_path, online_3 + f'retention_archive = ["{archive}"]\n'), logs)
    assert rc == 0 and not _failed(out), out


def test_names_that_are_no_numbered_rotation_are_never_a_missing_file() -> None:
    from pytest_auditready.checks.retention import missing_numbers

    for names in (["audit.log", "audit.log.1", "audit.log.2.gz", "audit.log.3.gz"],  # complete
                  ["audit.log.2", "audit.log.3"],  # a subset named from the top: nothing between them is gone
                  ["audit.log.0", "audit.log.1"],  # start 0
                  ["logs/audit.log", "logs/audit.log.1", "archive/audit.log.2.gz", "logs/audit.log.3.gz"],  # archived
                  ["audit.log-20261101", "audit.log-20261103", "audit.log-2026110312-1764763200"],  # dateext
                  ["logs/2026/11/22/19/15/59-0d1e.gz", "logs/2026/11/24/00/00/01-9f3a.gz"],  # object keys
                  ["audit.log.261130", "audit.log.261202"],  # dateext with dateformat .%y%m%d: dates, no counter
                  ["audit.log.20261130.gz", "audit.log.20261202.gz"]):  # dateformat .%Y%m%d
        assert list(missing_numbers(names, "the set")) == [], names
    assert [f.where for f in missing_numbers(["audit.log.1", "audit.log.3.gz"], "s")] == ["audit.log.3.gz"]


def test_each_host_folder_s_numbers_are_its_own() -> None:
    """One folder a host, each with its own audit.log*: host A's audit.log.1 stood in for host B's, deleted, when
    both were verified in one run (red team rt45 F3). A folder without the live log (logrotate's olddir, an
    archive) still lends its numbers to the one folder that holds the log."""
    from pytest_auditready.checks.retention import missing_numbers

    hosts = [f"{h}/audit.log{n}" for h in ("a", "b") for n in ("", ".1", ".2", ".3")]
    assert list(missing_numbers(hosts, "the set")) == []
    gone = [f.message for f in missing_numbers([n for n in hosts if n != "b/audit.log.1"], "the set")]
    assert len(gone) == 1 and gone[0].startswith("b/audit.log.1 is not in the set"), gone
    olddir = ["live/audit.log", "old/audit.log.1", "old/audit.log.2", "old/audit.log.3"]
    assert list(missing_numbers(olddir, "the set")) == []
    assert len(list(missing_numbers([n for n in olddir if n != "old/audit.log.2"], "the set"))) == 1


def test_dateext_names_with_hours_and_epoch_seconds_pair_in_time_order(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """dateext with dateformat -%Y%m%d%H (hourly) and -%Y%m%d-%s: whatever the names, the set is paired by time."""
    logs = tmp_path / "logs"
    logs.mkdir()
    a, b, c = _cuts(3)[0], _cuts(3)[1], len(STREAM)
    _write(logs / "audit.log-2026112219-1764839759.gz", STREAM[:a], gz=True)
    _write(logs / "audit.log-2026112219-1764839760", STREAM[a:b])
    _write(logs / "audit.log", STREAM[b:c])
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


# -- object stores: Fluent Bit's keys ----------------------------------------------------------------------------


moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")
from tests.test_object_store import FAKE_SECRET, s3  # noqa: E402,F401  # the loopback S3 fixtures


def _fluent_bit_keys(n: int) -> list[str]:
    """Keys as Fluent Bit's s3 output writes them with s3_key_format /fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S-$UUID
    and compression gzip: chunks uploaded in the same second sort by their random suffix, not by time."""
    suffixes = sorted((uuid.uuid4().hex[:8] for _ in range(n)), reverse=True)  # time order is the reverse of key order
    return [f"fluent-bit-logs/vault.audit/2026/11/22/19/15/59-{sfx}.gz" for sfx in suffixes]


def _chunks(n: int) -> tuple[list[str], list[Sequence[bytes]]]:
    """The stream cut in ``n`` chunks, with the Fluent Bit keys they are uploaded under."""
    bounds = [0, *_cuts(n), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in zip(bounds, bounds[1:])]
    return _fluent_bit_keys(len(chunks)), chunks


def _upload(client: Any, keys: Sequence[str], chunks: Sequence[Sequence[bytes]]) -> None:
    for key, chunk in zip(keys, chunks):
        client.put_object(Bucket=client.bucket, Key=key, Body=gzip.compress(b"".join(chunk)))


def test_fluent_bit_chunks_in_s3_pair_in_time_order(s3: Any, tmp_path: Path,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    keys, chunks = _chunks(4)
    assert sorted(keys) != keys
    _upload(s3, keys, chunks)
    rc, out = _verify(capsys, _config(tmp_path), f"s3://{s3.bucket}/fluent-bit-logs/")
    assert rc == 0 and not _failed(out), out
    assert FAKE_SECRET not in out


def test_a_chunk_lost_by_the_shipper_is_found_in_s3(s3: Any, tmp_path: Path,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    keys, chunks = _chunks(4)
    _upload(s3, keys[:2] + keys[3:], chunks[:2] + chunks[3:])  # the third chunk's upload failed
    rc, out = _verify(capsys, _config(tmp_path), f"s3://{s3.bucket}/fluent-bit-logs/")
    assert rc == 1, out
    broken = [ln for ln in _failed(out) if "the entries written between the two files are lost" in ln]
    assert len(broken) == 2, out
    assert f"when s3://{s3.bucket}/{keys[1]} ends, and s3://{s3.bucket}/{keys[3]}, the next file" in out, out


# -- the same entries twice; several writers --------------------------------------------------------------------


def test_a_copy_beside_its_compressed_twin_is_judged_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "audit.log.1", STREAM[:7])
    _write(logs / "audit.log.1.gz", STREAM[:7], gz=True)  # compress interrupted: the copy is still there
    _write(logs / "audit.log", STREAM[7:])
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out
    assert f"{logs / 'audit.log.1.gz'} holds the same entries as {logs / 'audit.log.1'} (judged once)" in out, out
    # and a window lost after the twins is still found, once
    _write(logs / "audit.log", STREAM[11:])
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1, out
    broken = [ln for ln in _failed(out) if "the entries written between the two files are lost" in ln]
    assert len(broken) == 2, out


def test_two_writers_overlapping_in_time_are_not_paired_with_each_other(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Two nodes' audit logs (each with a pair open at both edges) in one set: neither follows the other."""
    pairs = [STREAM[i:i + 2] for i in range(0, len(STREAM), 2)]
    node_a = [ln for p in pairs[0::2] for ln in p]
    node_b = [ln for p in pairs[1::2] for ln in p]
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "node-a.log", node_a[3:-1])  # opens with a response, ends with a request
    _write(logs / "node-b.log", node_b[3:-1])
    for nm in ("node-a.log", "node-b.log"):
        first, last = (logs / nm).read_bytes().splitlines()[0], (logs / nm).read_bytes().splitlines()[-1]
        assert json.loads(first)["type"] == "response" and json.loads(last)["type"] == "request"
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out


def test_offsets_in_entry_times_do_not_reorder_the_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A shipper that rewrote the newer file's times to +01:00: the set is still ordered by the instant."""
    logs = tmp_path / "logs"
    logs.mkdir()
    newer = []
    for ln in STREAM[7:]:
        d = json.loads(ln)
        t = datetime.datetime.fromisoformat(d["time"][:26] + "+00:00")
        d["time"] = (t.astimezone(datetime.timezone(datetime.timedelta(hours=1))).isoformat()
                     .replace("+01:00", d["time"][26:-1] + "+01:00"))
        newer.append(json.dumps(d, separators=(",", ":")).encode() + b"\n")
    assert b"T20:15:59." in newer[0] and b"+01:00" in newer[0]
    _write(logs / "audit.log.1", STREAM[:7])
    _write(logs / "audit.log", newer)
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 0 and not _failed(out), out
    _write(logs / "audit.log", newer[4:])  # and a lost window there is found
    rc, out = _verify(capsys, _config(tmp_path), logs)
    assert rc == 1 and len([ln for ln in _failed(out) if "written between the two files are lost" in ln]) == 2, out


def test_a_log_of_another_vault_days_later_is_not_its_next_file(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An old cluster's log that ends with a request in flight (the server stopped), and a new cluster's log that
    begins days later under another name: no pair is looked for between them."""
    later = []
    for ln in STREAM[8:]:
        d = json.loads(ln)
        d["time"] = "2026-11-25" + d["time"][10:]
        later.append(json.dumps(d, separators=(",", ":")).encode() + b"\n")
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    _write(tmp_path / "old" / "vault_audit.log", STREAM[:7])
    _write(tmp_path / "new" / "audit.log", later)
    rc, out = _verify(capsys, _config(tmp_path), tmp_path / "old", tmp_path / "new")
    assert rc == 0 and not _failed(out), out
    # the same two pieces named as one log's rotation are one log: the request's response is missing
    _write(tmp_path / "new" / "audit.log.1", STREAM[:7])
    rc, out = _verify(capsys, _config(tmp_path), tmp_path / "new")
    assert rc == 1 and len([ln for ln in _failed(out) if "written between the two files are lost" in ln]) == 1, out


@pytest.mark.parametrize("named", ["audit.log.1", "audit.log-20261101", "audit.log.1.gz"])
@pytest.mark.parametrize("given", ["folder", "glob"])
def test_a_rotated_set_named_by_its_folder_or_a_glob_is_read_oldest_first(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, named: str, given: str) -> None:
    """Fails without the order (red team rt10, finding 1): a folder's or a glob's files were read in name order,
    audit.log before its rotated file, so a slow request whose response the live log holds 33 entries later had
    its response judged "no request entry". Named oldest first, it passed; now the folder and the glob read the
    set as rotation wrote it, whatever the rotated file's name (number, dateext, compressed)."""
    k = 60  # a request the rotated file ends with
    response = json.loads(STREAM[k + 1])
    assert response["type"] == "response" and _rid(STREAM[k]) == response["request"]["id"]
    response["time"] = json.loads(STREAM[k + 33])["time"]  # answered after the 32 entries that follow
    live = [*STREAM[k + 2 : k + 34], (json.dumps(response, separators=(",", ":")) + "\n").encode(), *STREAM[k + 34 :]]
    folder = tmp_path / "logs"
    folder.mkdir()
    older = b"".join(STREAM[: k + 1])
    (folder / named).write_bytes(gzip.compress(older) if named.endswith(".gz") else older)
    (folder / "audit.log").write_bytes(b"".join(live))
    for p in folder.iterdir():
        p.chmod(0o600)
    rc, out = _verify(capsys, _config(tmp_path), folder if given == "folder" else folder / "audit.log*")
    assert rc == 0, _failed(out)
    assert out.index(f"{folder / named}") < out.index(f"{folder / 'audit.log'}:"), out  # the older file first


def test_a_file_cut_short_while_it_is_read_is_refused(tmp_path: Path) -> None:
    """logrotate's copytruncate (or a writer starting its file over) while the file is read: the reader stopped at
    the early end and judged the part read as the whole file, passing with a bad line further on unread, or
    blaming the log for the cut line (red team rt44, F1). The read is refused, naming the cause; a file that only
    grows meanwhile is read as it was (the docs' promise)."""
    from pytest_auditready.errors import AuditReadyError
    from pytest_auditready.offline.reader import BLOCK, FileStats, blocks, open_log

    line = b'{"time":"2026-01-05T08:00:00.000000001Z","type":"request","request":{"id":"x","path":"secret/data/a"}}\n'
    log = tmp_path / "audit.log"
    log.write_bytes(line * (3 * BLOCK // len(line) + 1))
    with open_log(str(log)) as f:
        read = blocks(f, str(log), FileStats())
        next(read)
        os.truncate(log, 0)  # what copytruncate does once it has copied the file
        with pytest.raises(AuditReadyError, match=r"shrank while it was read.*copytruncate"):
            list(read)
    log.write_bytes(line * (3 * BLOCK // len(line) + 1))
    size = log.stat().st_size
    with open_log(str(log)) as f:
        stats = FileStats()
        read = blocks(f, str(log), stats)
        next(read)
        with open(log, "ab") as grow:
            grow.write(line * 100)
        list(read)
    assert stats.bytes == size
