"""Access rules that named no request of any file of a run fail the run (red team rt69, F2).

Each file of a run of several is judged alone, and a file none of whose requests falls under the rules (a day
nobody read those secrets) is skipped as a quiet file. With a mistyped rule every file of the run was quiet, so
`auditready verify audit.log*` passed with the rule judging nothing, where the same log as one file fails. Now the
check fails once for the run (subject "") with one finding naming the rules and the fix, in `auditready verify`
(every report, the exit code) and `pytest --auditready-offline` (a failed item of its own, --junitxml) alike, and
with --jobs and Dask as in one process. The same run with the rule spelled as the log spells it passes, its quiet
file skipped; rules that allow nobody pass a set whose requests none of them names.

The logs are a real OpenBao server's file device (fixtures/openbao/clean.log), cut where a rotation would: the
first 17 lines hold no request on the app's secrets, the rest read them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome
from pytest_auditready.cli import main
from pytest_auditready.config import AccessRule, Settings

ROOT = Path(__file__).resolve().parents[1]
OPENBAO = ROOT / "fixtures" / "openbao" / "clean.log"
K8S = ROOT / "fixtures" / "access" / "k8s.log"
BASE = "require_tamper_evidence = false\nretention_days = 0\n"
TYPO = '[[access.rules]]\nname = "app secrets"\npaths = ["secrets/data/app-c9d897/*"]\noperations = ["read"]\n' \
       'identities = ["token-*"]\n'
RIGHT = TYPO.replace("secrets/data", "secret/data")
NOBODY = '[[access.rules]]\nname = "audit devices"\npaths = ["sys/audit*"]\noperations = ["delete"]\nidentities = []\n'
QUIET_LINES = 17  # the lines of clean.log before its first request on secret/data/app-c9d897/


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    path.chmod(0o600)
    return path.name


@pytest.fixture
def rotated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """audit.log.1 (quiet under RIGHT) and audit.log (reads of the app's secrets), oldest first."""
    monkeypatch.chdir(tmp_path)
    lines = OPENBAO.read_bytes().splitlines(keepends=True)
    assert not any(b"app-c9d897" in ln for ln in lines[:QUIET_LINES])
    assert b"secret/data/app-c9d897/" in lines[QUIET_LINES]
    return [_write(tmp_path / "audit.log.1", b"".join(lines[:QUIET_LINES])),
            _write(tmp_path / "audit.log", b"".join(lines[QUIET_LINES:]))]


def _verify(files: list[str], rules: str, capsys: pytest.CaptureFixture[str], *more: str
            ) -> tuple[int, str, list[dict[str, Any]]]:
    Path("ar.toml").write_text(BASE + rules)
    rc = main(["verify", *files, "--config", "ar.toml", "--json", "r.json", *more])
    out = capsys.readouterr()
    mine = [o for o in json.loads(Path("r.json").read_text())["outcomes"] if o["check"] == "access_policy"]
    return rc, out.out + out.err, mine


def _run_finding(o: dict[str, Any], files: int) -> None:
    """``o`` is the run's own failed outcome, with the one finding that names the mistyped rule and the fix."""
    assert o["subject"] == "" and o["status"] == "failed", o
    (f,) = o["findings"]
    assert f["message"].startswith(f"access_policy judged nothing: no request of the run's {files} files is on a "
                                   "path and operation the rules name"), f
    assert "rule 'app secrets' (paths secrets/data/app-c9d897/*; operations read; allows identities token-*) " \
           "named no request" in f["message"], f
    assert "Vault policy globs" in f["fix"] and "<mount>/data/<path>" in f["fix"], f


def test_a_typo_fails_a_run_of_quiet_files_once_in_every_report(rotated: list[str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, mine = _verify(rotated, TYPO, capsys, "--sarif", "r.sarif", "--junit", "c.xml", "--evidence", "ev")
    assert rc == 1, out
    assert "FAIL access_policy (the run's 2 files)\n  - access_policy judged nothing" in out, out
    assert "failed: access_policy" in out.splitlines()[-1], out
    files = [o for o in mine if o["subject"]]
    assert [o["subject"] for o in files] == rotated and all(o["status"] == "skipped" for o in files), files
    assert all(o["reason"].startswith(ap.QUIET_FILE) for o in files), files
    (whole,) = [o for o in mine if not o["subject"]]
    _run_finding(whole, 2)
    report = json.loads(Path("r.json").read_text())
    assert report["verdict"] == "failed"
    # SARIF: the run's finding names no file, so it is listed with the invocation, failing the run
    sarif = json.loads(Path("r.sarif").read_text())["runs"][0]
    unlocated = sarif["invocations"][0]["properties"]["findingsWithoutLocation"]
    assert [(u["ruleId"], u["failsRun"]) for u in unlocated] == [("access_policy", True)], unlocated
    assert "access_policy judged nothing" in unlocated[0]["message"]
    # the compliance JUnit report and the evidence bundle
    case = [c for c in ET.parse("c.xml").iter("testcase") if c.get("name") == "access_policy"]
    assert len(case) == 1 and case[0].find("failure") is not None, ET.tostring(case[0])
    evidence = json.loads(Path("ev/evidence.json").read_text())
    (check,) = [c for c in evidence["checks"] if c["id"] == "access_policy"]
    assert check["status"] == "failed" and check["fails_run"] and check["findings"] == 1, check


def test_a_quiet_file_beside_a_judged_one_is_skipped_and_the_run_passes(
        rotated: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, mine = _verify(rotated, RIGHT, capsys)
    assert rc == 0 and "FAIL" not in out, out
    got = {o["subject"]: o for o in mine}
    assert set(got) == set(rotated), got  # no outcome of the run's own
    assert got["audit.log.1"]["status"] == "skipped" and got["audit.log.1"]["reason"].startswith(ap.QUIET_FILE)
    assert got["audit.log"]["status"] == "passed" and not got["audit.log"]["findings"], got


def test_below_fail_on_the_run_verdict_is_shown_and_does_not_fail_the_run(
        rotated: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, mine = _verify(rotated, TYPO, capsys, "--fail-on", "critical")
    assert rc == 0, out
    assert "FAIL access_policy (the run's 2 files) (severity high, below fail_on=critical" in out, out
    _run_finding(next(o for o in mine if not o["subject"]), 2)


def test_an_empty_file_just_rotated_beside_a_quiet_one_still_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The quiet file alone fails; a live file just rotated (empty) beside it judges nothing either."""
    monkeypatch.chdir(tmp_path)
    files = [_write(tmp_path / "audit.log.1", OPENBAO.read_bytes()), _write(tmp_path / "audit.log", b"")]
    rc, out, mine = _verify(files, TYPO, capsys)
    assert rc == 1 and "FAIL access_policy (the run's 2 files)" in out, out
    assert [o["status"] for o in mine if o["subject"]] == ["skipped", "skipped"], mine
    _run_finding(next(o for o in mine if not o["subject"]), 2)


def test_rules_that_allow_nobody_pass_a_set_where_nothing_they_forbid_was_done(
        rotated: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Nobody may disable an audit device: a set of files none of whose requests does is what the rule asks, each
    file a pass that says so (as one file alone), never a quiet file."""
    rc, out, mine = _verify(rotated, NOBODY, capsys)
    assert rc == 0, out
    assert [o["status"] for o in mine] == ["passed", "passed"], mine
    assert all("the rules allow nobody: nothing they forbid was done" in o["reason"] for o in mine), mine


def test_a_kubernetes_run_of_quiet_files_fails_naming_how_it_names_a_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    lines = K8S.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    files = [_write(tmp_path / "audit-1.log", b"".join(lines[:half])),
             _write(tmp_path / "audit-2.log", b"".join(lines[half:]))]
    rc, out, mine = _verify(files, '[[access.rules]]\nname = "prod"\npaths = ["api/v1/namespace/prod/secrets/*"]\n'
                            'operations = ["read"]\nidentities = ["system:serviceaccount:*"]\n', capsys)
    assert rc == 1, out
    (whole,) = [o for o in mine if not o["subject"]]
    assert whole["status"] == "failed" and "rule 'prod'" in whole["findings"][0]["message"], whole
    assert "api/v1/namespaces/<namespace>/secrets/<name>" in whole["findings"][0]["fix"], whole


# -- the decision itself ----------------------------------------------------------------------------------------
RULE = AccessRule("app", ("secrets/data/app/*",), ("read",), ("token-*",), ())


def _quiet(subject: str) -> Outcome:
    return Outcome(ap.ID, subject, SKIPPED, reason=f"{ap.QUIET_FILE} (3 requests on others; ...)")


def test_run_verdict_fails_only_when_no_file_held_a_request() -> None:
    settings = Settings(access=(RULE,))
    whole = ap.run_verdict([_quiet("a"), _quiet("b"), Outcome("retention", "a", PASSED)], settings, ["vault"])
    assert whole is not None and whole.status == FAILED and whole.subject == "" and len(whole.findings) == 1
    assert "rule 'app'" in whole.findings[0].message and "run's 2 files" in whole.findings[0].message
    # a file that held a request: passed, failed, or its findings accepted by the baseline
    held = [Outcome(ap.ID, "b", PASSED), Outcome(ap.ID, "b", FAILED, (Finding(ap.ID, "", "x.", "y"),)),
            Outcome(ap.ID, "b", SKIPPED, accepted=((Finding(ap.ID, "", "x.", "y"), "fp", "ok"),))]
    for other in held:
        assert ap.run_verdict([_quiet("a"), other], settings) is None, other
    # no quiet file (each skipped for another reason: a log of no format the rules name), or no rules
    other_skip = Outcome(ap.ID, "a", SKIPPED, reason="access rules name Vault/OpenBao ... paths")
    assert ap.run_verdict([other_skip], settings) is None
    assert ap.run_verdict([_quiet("a"), _quiet("b")], Settings()) is None
    # the quiet skip is known by its mark, not by wording elsewhere in the reason
    assert ap.run_verdict([Outcome(ap.ID, "a", SKIPPED, reason="x " + ap.QUIET_FILE)], settings) is None


def test_pytest_offline_fails_the_run_once_and_junitxml_says_so(rotated: list[str], tmp_path: Path,
                                                                pytester: pytest.Pytester) -> None:
    (tmp_path / "ar.toml").write_text(BASE + TYPO)
    args = ["-p", "no:cacheprovider", "--auditready-offline", *(str(tmp_path / f) for f in rotated),
            "--auditready-config", str(tmp_path / "ar.toml"), "--junitxml", str(tmp_path / "j.xml"),
            "--auditready-report", str(tmp_path / "c.xml")]
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 1, r.stdout.str()
    r.assert_outcomes(failed=1, passed=16, skipped=6)
    assert "FAILED auditready-offline::access_policy" in r.stdout.str(), r.stdout.str()
    assert "access_policy judged nothing: no request of the run's 2 files" in r.stdout.str()
    cases = [c for c in ET.parse(tmp_path / "j.xml").iter("testcase") if c.get("classname") == "auditready-offline"]
    assert [c.get("name") for c in cases] == ["access_policy"] and cases[0].find("failure") is not None
    (case,) = [c for c in ET.parse(tmp_path / "c.xml").iter("testcase") if c.get("name") == "access_policy"]
    assert case.find("failure") is not None, ET.tostring(case)
    # below fail_on: an xfail, the run passes
    r = pytester.runpytest_inprocess(*args, "--auditready-fail-on", "critical")
    assert int(r.ret) == 0, r.stdout.str()
    r.assert_outcomes(passed=16, skipped=6, xfailed=1)
    # the rule spelled as the log spells it: the quiet file skipped, the run passes with no item of its own
    (tmp_path / "ar.toml").write_text(BASE + RIGHT)
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 0, r.stdout.str()
    assert "auditready-offline::access_policy" not in r.stdout.str()


def test_the_parallel_engine_gives_the_verdicts_the_run_verdict_reads(rotated: list[str]) -> None:
    """--jobs N: the files cut in ranges and read by worker processes give each file's access_policy outcome as
    one process does, so the run's verdict is the same."""
    from pytest_auditready.engine import parallel
    from pytest_auditready.engine.files import verify_file

    settings = Settings(access=(AccessRule("app secrets", ("secrets/data/app-c9d897/*",), ("read",), ("token-*",),
                                           ()),), require_tamper_evidence=False, retention_days=0)
    checks = [ap.CHECK]
    one = [o for p in rotated for o in verify_file(p, settings, checks, {}, tuple(rotated)).outcomes]
    many = [o for r in parallel.verify_files(settings, checks, {}, rotated, 2, range_bytes=4096, min_bytes=0)
            for o in r.outcomes]
    assert [(o.status, o.reason) for o in many] == [(o.status, o.reason) for o in one], many
    assert all(ap.quiet_file(o) for o in many), many
    subjects = [(o, p) for o, p in zip(many, rotated)]
    whole = ap.run_verdict([Outcome(o.check_id, p, o.status, o.findings, o.reason) for o, p in subjects], settings,
                           ["vault"])
    assert whole is not None and whole.status == FAILED and "rule 'app secrets'" in whole.findings[0].message


def test_a_dask_run_fails_the_same(rotated: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    from tests.test_parallel import _CLUSTER, scheduler_process

    (tmp_path / "dask").mkdir()
    with scheduler_process(_CLUSTER, tmp_path / "dask") as (address, _proc):  # its workers read absolute paths
        rc, out, mine = _verify([str(tmp_path / f) for f in rotated], TYPO, capsys, "--dask-scheduler", address)
    assert rc == 1, out
    _run_finding(next(o for o in mine if not o["subject"]), 2)
