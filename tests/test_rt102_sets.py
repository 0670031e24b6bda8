"""Which files of a run are one log's files (red team rt102 F1, F4, F7).

- F1: an empty audit.log of a second node or host was excused as "a log just rotated" because a file in another
  folder had the same name (the set was keyed on the file name's stem only), and one holding only its device's
  self-test line was skipped where alone it fails "judged nothing". Two live files (no rotation number or date) of
  one name in two folders are two logs: an empty one fails as it does alone. Within one folder, only the log's own
  rotated files speak for an empty or wholly excused file, never another file whose name shares its stem
  (audit-k8s.json beside audit.log, vault-2.log beside vault-0.log, one numbered chunk beside another).
- F4: a request in flight at the end of one host's audit.log was looked for in another host's audit.log, 30
  minutes later ("the next file of the set in time"): a false alarm. Each host's log is judged on its own.
- F7: a folder holding the checksum list a copy tool wrote beside the logs (sha256sum's SHA256SUMS) was refused
  whole. A file whose whole content is a checksum list is left out, and said so; anything else unreadable in a
  folder is still refused.

A rotated set keeps excusing its live log just rotated (empty): beside audit.log.1, an olddir's rotated file, an
archive folder's, each node's own rotation.

Logs: fixtures/openbao/ha/traffic/node{1,2,3}.audit.log (a real OpenBao HA cluster's three nodes) and
fixtures/openbao/clean.log (a real OpenBao 2.x run; its first line is the device's self-test write).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Sequence

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1]
HA = ROOT / "fixtures" / "openbao" / "ha" / "traffic"
CLEAN = ROOT / "fixtures" / "openbao" / "clean.log"
SELF_TEST = CLEAN.read_bytes().splitlines(keepends=True)[0]
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
EMPTY_SKIP = "is empty (a log just rotated"
MEMBER_SKIP = "is one of the files of its log in the set"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _verify(capsys: pytest.CaptureFixture[str], tmp_path: Path, *paths: Any, jobs: int = 1) -> tuple[int, str]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(CONFIG)
    capsys.readouterr()
    rc = main(["verify", "--jobs", str(jobs), "--config", str(cfg), *(str(p) for p in paths)])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out + cap.err


def _failed_on(out: str, path: Path) -> set[str]:
    """The checks that fail on ``path``."""
    return {ln.split()[1] for ln in out.splitlines() if ln.startswith("FAIL ") and ln.split()[2] == str(path)}


def _nodes(root: Path, third: bytes) -> list[Path]:
    """Three nodes' audit logs, each in a folder of its own: node1's and node2's traffic logs and ``third``."""
    return [*(_write(root / f"node{n}" / "audit.log", (HA / f"node{n}.audit.log").read_bytes()) for n in (1, 2)),
            _write(root / "node3" / "audit.log", third)]


def _named(form: str, root: Path, files: Sequence[Path]) -> list[Path]:
    return [root] if form.endswith("folder") else list(files)


def _f1(tmp_path: Path, form: str) -> Path:
    """Where the nodes' folders are: f1, or under f1's date partitions (f1/2026/12/06/node1, ...)."""
    return tmp_path / "f1" / "2026" / "12" / "06" if form == "dated folder" else tmp_path / "f1"


# -- F1: an empty or self-test-only log of another node is no log just rotated ------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("form", ["files", "folder", "dated folder"])
def test_an_empty_node_log_beside_other_nodes_logs_fails_as_it_does_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, jobs: int) -> None:
    files = _nodes(_f1(tmp_path, form), b"")
    node3 = files[2]
    rc, alone = _verify(capsys, tmp_path, node3, jobs=jobs)
    assert rc == 1 and "completeness" in _failed_on(alone, node3), alone
    rc, out = _verify(capsys, tmp_path, *_named(form, tmp_path / "f1", files), jobs=jobs)
    assert rc == 1, out
    assert EMPTY_SKIP not in out, out
    assert _failed_on(out, node3) == _failed_on(alone, node3), out
    assert all(not _failed_on(out, f) for f in files[:2]), out  # the two nodes' own logs hold
    assert f"completeness judged nothing: {node3} holds no audit entry" in out, out


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("form", ["files", "folder", "dated folder"])
def test_a_node_log_of_only_its_self_test_beside_other_nodes_logs_fails_as_it_does_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, jobs: int) -> None:
    assert b'"path":"sys/audit/test"' in SELF_TEST
    files = _nodes(_f1(tmp_path, form), SELF_TEST)
    node3 = files[2]
    rc, alone = _verify(capsys, tmp_path, node3, jobs=jobs)
    assert rc == 1, alone
    wanted = {"completeness", "required_fields", "integrity_digest"}
    assert wanted <= _failed_on(alone, node3), alone
    rc, out = _verify(capsys, tmp_path, *_named(form, tmp_path / "f1", files), jobs=jobs)
    assert rc == 1 and MEMBER_SKIP not in out, out
    assert _failed_on(out, node3) == _failed_on(alone, node3), out
    for check in wanted:
        assert f"{check} judged nothing: all 1 entries of {node3} were excused" in out, out


def test_pytest_offline_fails_an_empty_node_log_beside_other_nodes_logs(tmp_path: Path,
                                                                       pytester: pytest.Pytester) -> None:
    files = _nodes(tmp_path / "f1", b"")
    (tmp_path / "ar.toml").write_text(f"[tool.auditready]\n{CONFIG}")
    args = ["-p", "no:cacheprovider", "--auditready-config", str(tmp_path / "ar.toml"), "--auditready-offline"]
    r = pytester.runpytest_inprocess(*args, *(str(f) for f in files[:2]))
    assert int(r.ret) == 0, r.stdout.str()
    r = pytester.runpytest_inprocess(*args, *(str(f) for f in files))
    assert int(r.ret) == 1, r.stdout.str()
    assert r.parseoutcomes().get("failed", 0) >= 7, r.stdout.str()  # each check that judged nothing in node3's log
    assert EMPTY_SKIP not in r.stdout.str()


@pytest.mark.parametrize("case", ["k8s beside vault", "pods of one folder", "numbered in folders", "numbered"])
def test_a_file_sharing_only_the_stem_of_a_name_speaks_for_no_empty_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    """The stem rule joined audit-k8s.json with audit.log, vault-2.log with vault-0.log and all number-named files
    with each other: an empty one was excused as a log just rotated. None is a rotated piece of the other."""
    node1, node2 = (HA / "node1.audit.log").read_bytes(), (HA / "node2.audit.log").read_bytes()
    d = tmp_path / "logs"
    if case == "k8s beside vault":
        files = [_write(d / "audit.log", CLEAN.read_bytes()), _write(d / "audit-k8s.json", b"")]
    elif case == "pods of one folder":
        files = [_write(d / "vault-0.log", node1), _write(d / "vault-1.log", node2), _write(d / "vault-2.log", b"")]
    elif case == "numbered in folders":
        files = [_write(d / "n1" / "000000.log", node1), _write(d / "n2" / "000000.log", node2),
                 _write(d / "n3" / "000000.log", b"")]
    else:
        files = [_write(d / "000000.log", CLEAN.read_bytes()), _write(d / "000001.log", b"")]
    for named in (files, [d]):
        rc, out = _verify(capsys, tmp_path, *named)
        assert rc == 1 and EMPTY_SKIP not in out, out
        assert "completeness" in _failed_on(out, files[-1]), out
        assert all(not _failed_on(out, f) for f in files[:-1]), out


# -- F4: two hosts' logs of one name, one after the other -----------------------------------------------------------
def _hosts(root: Path) -> list[Path]:
    """host1's log ends with a request in flight; host2's is another device's (its own salt and request ids), 30
    minutes later."""
    lines = [ln.rstrip(b"\n") for ln in CLEAN.read_bytes().splitlines()]
    entries = [json.loads(ln) for ln in lines]
    last = max(i for i, e in enumerate(entries) if e["type"] == "response")
    host1 = b"".join(ln + b"\n" for i, ln in enumerate(lines) if i != last)
    out = []
    for e in entries:
        t = e["time"]
        e["time"] = (datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(minutes=30)
                     ).strftime("%Y-%m-%dT%H:%M:%S") + t[19:]
        rid = e["request"].get("id")
        if rid and len(rid) == 36:
            e["request"]["id"] = "ffffffff" + rid[8:]
        s = json.dumps(e, separators=(",", ":"))
        out.append(re.sub(r"hmac-sha256:([0-9a-f]{64})",
                          lambda m: "hmac-sha256:" + hashlib.sha256(m.group(1).encode()).hexdigest(), s))
    return [_write(root / "host1" / "audit.log", host1),
            _write(root / "host2" / "audit.log", "".join(x + "\n" for x in out).encode())]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("form", ["files", "folder"])
def test_two_hosts_logs_of_one_name_one_after_the_other_are_two_logs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, jobs: int) -> None:
    files = _hosts(tmp_path / "f4")
    for f in files:
        rc, out = _verify(capsys, tmp_path, f, jobs=jobs)
        assert rc == 0, out
    rc, out = _verify(capsys, tmp_path, *_named(form, tmp_path / "f4", files), jobs=jobs)
    assert rc == 0 and "FAIL" not in out, out
    assert "the next file of the set in time" not in out


# -- a rotated set still excuses its live log just rotated ------------------------------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("form", ["files", "folder"])
@pytest.mark.parametrize("layout", ["beside", "dateext", "olddir", "archive elsewhere", "each node's rotation"])
def test_a_live_log_just_rotated_is_excused_by_its_own_rotated_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, form: str, jobs: int) -> None:
    root = tmp_path / "set"
    logs = root / "logs"
    clean = CLEAN.read_bytes()
    if layout == "each node's rotation":  # three nodes, node3's live log just rotated: its audit.log.1 holds bytes
        files = _nodes(root, b"")
        files.insert(2, _write(root / "node3" / "audit.log.1", (HA / "node3.audit.log").read_bytes()))
    else:
        rotated = {"beside": logs / "audit.log.1", "dateext": logs / "audit.log-20261122",
                   "olddir": logs / "old" / "audit.log.1", "archive elsewhere": root / "archive" / "audit.log.1"}
        files = [_write(rotated[layout], clean), _write(logs / "audit.log", b"")]
    live = files[-1]
    rc, out = _verify(capsys, tmp_path, *_named(form, root, files), jobs=jobs)
    assert rc == 0 and "FAIL" not in out, out
    skipped = {ln.split()[1]: ln for ln in out.splitlines() if ln.startswith("SKIP ") and ln.split()[2] == str(live)}
    for check in ("completeness", "required_fields", "no_secret_leak", "integrity_digest"):
        assert f"({live} {EMPTY_SKIP}" in skipped.get(check, ""), out
    rc, alone = _verify(capsys, tmp_path, live, jobs=jobs)
    assert rc == 1, alone  # alone, the empty live log still judged nothing


# -- F7: a checksum list beside the logs ------------------------------------------------------------------------------
def _sums(folder: Path, how: str) -> Path:
    """A checksum list of the folder's audit.log as ``how`` writes it (sha256sum, sha256sum -b, sha256sum --tag,
    md5sum, sha1sum, sha512sum)."""
    data = (folder / "audit.log").read_bytes()
    algo = {"md5sum": "md5", "sha1sum": "sha1", "sha512sum": "sha512"}.get(how, "sha256")
    digest = hashlib.new(algo, data).hexdigest()
    line = {"sha256sum --tag": f"SHA256 (audit.log) = {digest}",
            "sha256sum -b": f"{digest} *audit.log"}.get(how, f"{digest}  audit.log")
    name = {"md5sum": "MD5SUMS", "sha1sum": "SHA1SUMS", "sha512sum": "SHA512SUMS"}.get(how, "SHA256SUMS")
    return _write(folder / name, (line + "\n").encode())


@pytest.mark.parametrize("how", ["sha256sum", "sha256sum -b", "sha256sum --tag", "md5sum", "sha1sum", "sha512sum"])
def test_a_checksum_list_beside_the_logs_is_left_out_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              how: str) -> None:
    archive = tmp_path / "archive"
    log = _write(archive / "audit.log", CLEAN.read_bytes())
    sums = _sums(archive, how)
    said = f"auditready: {sums} is left out: a checksum list ("
    for named in ([archive], [log, sums], [f"{archive}/*"]):  # a folder, the shell's expansion, a glob
        for jobs in (1, 2):
            rc, out = _verify(capsys, tmp_path, *named, jobs=jobs)
            assert rc == 0 and "FAIL" not in out, out
            assert said in out and "not a log" in out, out
            assert "1 file(s)" in out, out
    rc, out = _verify(capsys, tmp_path, sums)  # named alone: no log to verify
    assert rc == 2 and out.count("\n") == 1 and f"{sums} is a checksum list" in out, out


@pytest.mark.parametrize("content", [
    "plain notes\n",
    "{digest}  audit.log\nand a line of plain text\n",  # a checksum line, then no checksum list
    "{digest} audit.log\n",  # one space: no coreutils line
    "{short}  audit.log\n",  # a digest of no algorithm's length
])
def test_anything_else_unreadable_in_the_folder_is_still_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 content: str) -> None:
    archive = tmp_path / "archive"
    _write(archive / "audit.log", CLEAN.read_bytes())
    digest = hashlib.sha256(CLEAN.read_bytes()).hexdigest()
    other = _write(archive / "SHA256SUMS", content.format(digest=digest, short=digest[:50]).encode())
    rc, out = _verify(capsys, tmp_path, archive)
    assert rc == 2 and out.count("\n") == 1 and str(other) in out and "left out" not in out, out


def test_a_log_in_folders_of_its_dates_is_still_one_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CloudTrail's own layout (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/): a record of one day's file whose
    eventID a record of the day before holds with other content is found across the two day folders, as it is
    within one (the folders of a log's dates are not the folders of two hosts)."""
    records = sorted(json.loads((ROOT / "fixtures" / "cloudtrail" / "real" / "correct.json").read_text())["Records"],
                     key=lambda r: r["eventTime"])
    again = {**records[9], "sourceIPAddress": "203.0.113.99"}
    trail = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "01"
    for day, recs in (("05", records[:10]), ("06", [again, *records[10:]])):
        _write(trail / day / f"111122223333_CloudTrail_us-east-1_202601{day}T0800Z_x{day}.json",
               json.dumps({"Records": recs}).encode())
    rc, out = _verify(capsys, tmp_path, tmp_path / "AWSLogs")
    assert rc == 1 and "FAIL completeness " in out and "is already the eventID of another record" in out, out
