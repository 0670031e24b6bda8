"""Red team rt68 F4, F5, F6, F12: the evidence bundle names the bytes it judged (SHA-256 and size of each log as
stored, its seal chain, the canaries file by hash only, the baseline and the settings file), and never a hash of a
file that changed since it was judged; an offline run says it was one (no live-only settings) and how long it took;
the version of every report is that of the code that ran."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
LEAKY, CANARIES = FIXTURES / "leaky.log", FIXTURES / "canaries.txt"
PACKAGE = Path(__file__).resolve().parents[1] / "pytest_auditready"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("audit.log", "old.log"):
        (tmp_path / name).write_bytes(LEAKY.read_bytes())
    with gzip.open(tmp_path / "old.log.1.gz", "wb") as f:  # a rotated member, stored compressed
        f.write((tmp_path / "old.log").read_bytes())
    (tmp_path / "old.log").unlink()
    (tmp_path / "ar.toml").write_text(f'require_tamper_evidence = false\nretention_days = 0\n'
                                      f'canaries_file = "{CANARIES}"\n')
    return tmp_path


def test_verify_evidence_hashes_every_input_and_says_offline(work: Path) -> None:
    main(["verify", "audit.log", "old.log.1.gz", "--config", "ar.toml", "--evidence", "ev"])
    doc = json.loads((work / "ev" / "evidence.json").read_text())
    logs = {e["path"]: e for e in doc["inputs"]["logs"]}
    assert logs["audit.log"]["sha256"] == _sha(work / "audit.log")
    assert logs["audit.log"]["bytes"] == (work / "audit.log").stat().st_size
    member = logs["old.log.1.gz"]
    assert member["sha256"] == _sha(work / "old.log.1.gz") and "as stored (gzip-compressed)" in member["as"]
    assert doc["inputs"]["canaries_file"]["sha256"] == _sha(CANARIES)
    assert doc["inputs"]["settings_file"]["path"] == "ar.toml"  # the --config file read
    assert doc["inputs"]["settings_file"]["sha256"] == _sha(work / "ar.toml")
    text = (work / "ev" / "evidence.json").read_text()
    for value in CANARIES.read_text().split():  # the canaries by hash only, never what they hold
        assert value not in text
    from pytest_auditready.report.evidence import LIVE_ONLY

    conf = doc["configuration"]
    assert conf["target"] == "offline" and doc["run"]["target"] == "offline"
    assert conf["not_used"]["keys"] == [k for k in LIVE_ONLY if k != "target"]  # each live-only one said unused
    assert "kv_mount" in conf["not_used"]["keys"] and "canaries" in conf["not_used"]["keys"]


def test_pytest_offline_evidence_records_settings_baseline_and_real_duration(work: Path,
                                                                           pytester: pytest.Pytester) -> None:
    assert main(["baseline", "audit.log", "--config", "ar.toml", "--reason", "planted on purpose in a fixture",
                 "--owner", "sec-team", "--expires", "2099-12-31"]) == 0
    shutil.copy(work / ".auditready-baseline.json", pytester.path / ".auditready-baseline.json")
    pytester.chdir()
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(work / "audit.log"),
                                     "--auditready-config", str(work / "ar.toml"), "--auditready-evidence", "ev")
    assert int(r.ret) == 0, r.stdout.str()
    doc = json.loads((pytester.path / "ev" / "evidence.json").read_text())
    assert doc["run"]["seconds"] > 0
    assert "(0.00 s)" not in (pytester.path / "ev" / "report.html").read_text()
    log = doc["inputs"]["logs"][0]
    assert log["sha256"] == _sha(work / "audit.log") and "judged_state" not in log  # its state when judged was kept
    assert doc["inputs"]["settings_file"]["path"] == str(work / "ar.toml")
    assert doc["inputs"]["settings_file"]["sha256"] == _sha(work / "ar.toml")
    assert doc["inputs"]["baseline"]["sha256"] == _sha(pytester.path / ".auditready-baseline.json")
    assert doc["configuration"]["target"] == "offline"


def test_a_file_changed_after_it_was_judged_gets_no_hash(work: Path) -> None:
    from pytest_auditready.engine.files import stored_state
    from pytest_auditready.report.evidence import file_digest

    log = work / "audit.log"
    judged = stored_state(str(log))
    assert file_digest(str(log), judged)["sha256"] == _sha(log)  # type: ignore[index]
    with open(log, "ab") as f:
        f.write(b'{"type":"request"}\n')  # a vault writes on after the judgment
    said = file_digest(str(log), judged)
    assert said is not None and said["sha256"] is None and "changed after it was judged" in said["why"]
    changed = file_digest(str(log), {"changed": True})
    assert changed is not None and changed["sha256"] is None


def test_a_same_size_edit_with_its_time_put_back_gets_no_hash(work: Path) -> None:
    """An edit in place that keeps the size and puts the modification time back (``touch -r``, ``rsync --inplace
    --times``) still changes the file's change time, which no user can set back (red team rt70 F2)."""
    import time as clock

    from pytest_auditready.engine.files import stored_state
    from pytest_auditready.report.evidence import file_digest

    log = work / "audit.log"
    judged = stored_state(str(log))
    st = log.stat()
    data = bytearray(log.read_bytes())
    data[10:14] = b"0000" if data[10:14] != b"0000" else b"1111"
    for _ in range(200):  # (until the file system's coarse clock has ticked: the edit's change time is later)
        clock.sleep(0.005)
        with open(log, "r+b") as f:  # in place, the same size
            f.write(bytes(data))
        os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
        if log.stat().st_ctime_ns != st.st_ctime_ns:
            break
    assert log.stat().st_size == st.st_size and log.stat().st_mtime_ns == st.st_mtime_ns
    said = file_digest(str(log), judged)
    assert said is not None and said["sha256"] is None and "changed after it was judged" in said["why"], said


def test_small_inputs_are_named_by_the_bytes_the_run_read(work: Path) -> None:
    """The canaries file replaced after the run read it: the evidence names the bytes read, not the new file; a
    file read twice as two contents gets no hash (red team rt70 F2)."""
    from pytest_auditready import safeio
    from pytest_auditready.engine.files import read_canaries
    from pytest_auditready.report.evidence import read_digest

    can = work / "can.txt"
    can.write_text("S3cretCanaryValue123\n")
    read_canaries(str(can))
    first = _sha(can)
    can.write_text("SomethingElseEntirely99\n")
    said = read_digest(str(can))
    assert said is not None and said["sha256"] == first and said["as"] == "the bytes the run read", said
    read_canaries(str(can))  # read again, another content
    again = read_digest(str(can))
    assert again is not None and again["sha256"] is None and "read it twice" in again["why"]
    safeio.READ_DIGESTS.pop(os.path.abspath(str(can)), None)


def test_verify_evidence_gives_no_hash_when_the_size_judged_differs(work: Path) -> None:
    """Without a recorded state, an uncompressed log whose size is not the bytes judged is said to have changed."""
    from pytest_auditready.config import Settings
    from pytest_auditready.report.evidence import inputs
    from pytest_auditready.result import AuditResult

    size = (work / "audit.log").stat().st_size
    result = AuditResult(settings=Settings(), target="offline", run_id="", checks=[], outcomes=[],
                         files=[{"file": "audit.log", "format": "vault", "bytes": size - 1, "checks": {}}])
    said = inputs(result)["logs"][0]
    assert said["sha256"] is None and "changed after it was judged" in said["why"]
    same = AuditResult(settings=Settings(), target="offline", run_id="", checks=[], outcomes=[],
                       files=[{"file": "audit.log", "format": "vault", "bytes": size, "checks": {}}])
    assert inputs(same)["logs"][0]["sha256"] == _sha(work / "audit.log")


def _version(pythonpath: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", "import pytest_auditready as p; print(p.__file__); "
                          "print(p.__version__)"], env=env, capture_output=True, text=True, check=True, cwd="/")
    where, version = out.stdout.split()
    assert where.startswith(str(pythonpath))  # the copy under test is the one imported
    return version


def test_version_is_the_installed_one_only_for_the_files_it_installed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "pytest_auditready", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # a source tree on PYTHONPATH that this (editable) environment's metadata does not describe: unknown
    first = _version(site)
    assert first.startswith("0+unknown.src") and len(first.rsplit("src", 1)[1]) == 12
    # the same files, installed as a wheel installs them (each listed in RECORD with its hash)
    info = site / "pytest_auditready-7.7.7.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pytest-auditready\nVersion: 7.7.7\n")
    rows = []
    for f in sorted((site / "pytest_auditready").rglob("*")):
        if f.is_file():
            h = base64.urlsafe_b64encode(hashlib.sha256(f.read_bytes()).digest()).rstrip(b"=").decode()
            rows.append(f"{f.relative_to(site).as_posix()},sha256={h},{f.stat().st_size}")
    (info / "RECORD").write_text("\n".join([*rows, f"{info.name}/RECORD,,"]) + "\n")
    installed = _version(site)
    assert installed == "7.7.7+src" + first.rsplit("src", 1)[1]
    # one file changed after the install (a patched copy): not the code that version names
    cli = site / "pytest_auditready" / "cli" / "__init__.py"
    cli.write_text(cli.read_text() + "\n# patched\n")
    changed = _version(site)
    assert changed.startswith("0+unknown.src") and changed != first


@pytest.mark.vault
def test_live_embedded_evidence_names_one_log_and_keeps_its_hash(pytester: pytest.Pytester) -> None:
    r = pytester.runpytest("--auditready", "--auditready-evidence=ev", "-p", "no:cacheprovider")
    assert r.ret == 0, r.stdout.str()
    doc = json.loads((pytester.path / "ev" / "evidence.json").read_text())
    stored = doc["inputs"]["logs"][0]
    wheres = {m[side]["where"].rsplit(":", 1)[0] for m in doc["log"]["matched"] for side in ("request", "response")
              if m[side]}
    assert wheres == {doc["log"]["path"]} == {stored["path"]}  # one path for the one log
    assert len(stored["sha256"]) == 64 and stored["bytes"] > 0
    assert stored["seal"]["head"]["sha256"] == stored["sha256"]  # the seal's chain covers the bytes hashed
    assert not Path(stored["path"]).exists()  # gone with the server: the hash is what stays
