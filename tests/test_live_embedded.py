"""The embedded audit, end to end, against a real OpenBao the plugin starts itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_auditready.checks import BUILTIN

pytestmark = pytest.mark.vault


def test_embedded_audit_passes_every_check(pytester: pytest.Pytester) -> None:
    report = pytester.path / "compliance.xml"
    result = pytester.runpytest("--auditready", f"--auditready-report={report}", "-p", "no:cacheprovider", "-v")
    # skipped by design: retention (the embedded server has no history) and access_policy (no rules)
    result.assert_outcomes(passed=result.parseoutcomes()["passed"], skipped=2)
    assert result.ret == 0
    out = result.stdout.str()
    for check in BUILTIN:
        assert f"auditready::{check.id}" in out
    n = len(BUILTIN)  # no history on a throw-away server, no access rules in the project: skipped, and said so
    result.stdout.fnmatch_lines([f"*{n - 2}/{n} checks passed, 2 skipped (access_policy, retention)*"])
    assert "FAILED" not in out
    assert report.is_file()


HOLD_EMBEDDED = '''
import json, os, time
from pytest_auditready.vault.scenario import ActionSpec

def _hold(box):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                if int(stat[1]) == os.getpid():
                    kids.append({"pid": int(entry), "cwd": os.readlink(f"/proc/{entry}/cwd")})
            except OSError:
                continue
    with open("ready.tmp", "w") as f:
        json.dump(kids, f)
    os.rename("ready.tmp", "ready.json")  # whole, or not there
    deadline = time.monotonic() + 60
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.02)
    return {}

def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("hold", "reader", "GET", plan.data_path("c1"), "read", body=_hold))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's process from /proc")
def test_interrupted_embedded_run_leaves_no_server_and_no_folder(pytester: pytest.Pytester) -> None:
    """SIGINT while the scenario runs (at a defined point: a step that waits for the test): the run says what
    clean-up verified, and the embedded OpenBao and its private folder (audit log, config) are gone."""
    pytester.makeconftest(HOLD_EMBEDDED)
    pytester.makepyprojecttoml("[tool.auditready]\nlog_wait = 1.0\n")
    proc = pytester.popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--auditready"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ready = pytester.path / "ready.json"
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        servers = json.loads(ready.read_text())
        assert len(servers) == 1, servers
        os.kill(proc.pid, signal.SIGINT)
        (pytester.path / "go").touch()
        out = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 2, out[-3000:]
    assert "Traceback" not in out
    assert "auditready: interrupted; the run's canaries, tokens and policies were removed" in out
    pid, workdir = servers[0]["pid"], Path(servers[0]["cwd"])
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the server still runs"
    assert not workdir.exists()


def test_embedded_log_is_judged_like_any_sealed_log_and_nothing_is_left(pytester: pytest.Pytester,
                                                                        tmp_path: Path) -> None:
    """The target seals its log and keeps a copy; the check verifies it with its key (it judges, not the target);
    after the run neither the server's folder nor the kept copy remains in the temp folder."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    ev = pytester.path / "ev"
    env_before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(private_tmp)
    try:
        result = pytester.runpytest_subprocess("--auditready", "-p", "no:cacheprovider", f"--auditready-evidence={ev}")
    finally:
        if env_before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = env_before
    assert result.ret == 0, result.stdout.str()[-2000:]
    evidence = json.loads((ev / "evidence.json").read_text())
    (tamper,) = [c for c in evidence["checks"] if c["id"] == "tamper_evidence"]
    assert tamper["status"] == "passed" and "is segment 0" in tamper["outcomes"][0]["reason"]
    assert list(private_tmp.iterdir()) == []


def test_live_bench_smoke(tmp_path: Path) -> None:
    """bench/live.py runs end to end (its figures are not judged here): a median, the goal, each stage's share."""
    bench = Path(__file__).resolve().parents[1] / "bench" / "live.py"
    r = subprocess.run([sys.executable, str(bench), "--repeat", "1", "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "pytest --auditready (embedded): median" in r.stdout and "goal 1.0 s" in r.stdout
    for stage in ("imports", "start the server", "scenario requests", "read and judge the log", "stop the server"):
        assert stage in r.stdout
