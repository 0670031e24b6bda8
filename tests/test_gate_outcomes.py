"""The pytest front end as a merge gate: its exit status follows the checks' verdicts, not what a conftest makes of
the items (red team rt14). A real OpenBao log with one response removed fails `completeness`; every way a pull
request's conftest can turn that item green (an xfail marker, a report rewritten to passed, the failure swallowed)
still fails the run, while fail_on's own xfail of a check below the threshold passes it."""

from __future__ import annotations

from pathlib import Path

import pytest

CLEAN_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
REMOVED = 21  # a KV read's response entry (secret/data/app-c9d897/app0/db)

CONFTESTS = {
    "none": "",
    "xfail": (
        "import pytest\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for it in items:\n"
        "        if 'completeness' in it.nodeid:\n"
        "            it.add_marker(pytest.mark.xfail(reason='known flaky'))\n"
    ),
    "report rewritten": (
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    rep = outcome.get_result()\n"
        "    rep.outcome = 'passed'\n"
        "    rep.longrepr = None\n"
    ),
    "failure swallowed": (
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_call(item):\n"
        "    outcome = yield\n"
        "    outcome.force_result(None)\n"
    ),
}


def _project(pytester: pytest.Pytester, removed: bool, conftest: str, config: str = CONFIG) -> None:
    lines = CLEAN_LOG.read_text().splitlines(keepends=True)
    if removed:
        del lines[REMOVED - 1]
    log = pytester.path / "audit.log"
    log.write_text("".join(lines))
    log.chmod(0o600)
    (pytester.path / "pyproject.toml").write_text(config)
    if conftest:
        pytester.makeconftest(conftest)


@pytest.mark.parametrize("how", sorted(CONFTESTS))
def test_a_conftest_cannot_turn_a_failed_check_into_a_green_gate(pytester: pytest.Pytester, how: str) -> None:
    _project(pytester, True, CONFTESTS[how])
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider")
    out = res.stdout.str()
    assert res.ret == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    assert "failed checks: completeness" in out


@pytest.mark.parametrize("how", sorted(CONFTESTS))
def test_the_same_conftests_over_a_correct_log_pass(pytester: pytest.Pytester, how: str) -> None:
    _project(pytester, False, CONFTESTS[how])
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider")
    assert res.ret == pytest.ExitCode.OK, res.stdout.str()[-3000:]


def test_fail_on_still_lets_a_check_below_it_pass_the_run(pytester: pytest.Pytester) -> None:
    """completeness is high: fail_on = "critical" makes its failure the plugin's own xfail, and the run passes."""
    _project(pytester, True, "", CONFIG + 'fail_on = "critical"\n')
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider")
    out = res.stdout.str()
    assert res.ret == pytest.ExitCode.OK, out[-3000:]
    assert "failed checks below fail_on=critical" in out and "completeness" in out


# -- runs that audit nothing (red team rt14 F2) ----------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--setup-plan", "--setup-only"])
def test_a_mode_that_runs_no_test_is_refused(pytester: pytest.Pytester, option: str) -> None:
    _project(pytester, True, "", CONFIG + f'[tool.pytest.ini_options]\naddopts = "{option}"\n')
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider")
    assert res.ret == pytest.ExitCode.USAGE_ERROR, res.stdout.str()[-2000:]
    assert f"{option} runs no test, so nothing would be audited" in res.stderr.str()


@pytest.mark.parametrize("how", [["--co"], ["-m", "not auditready"], ["-k", "nothing_of_the_audit"]])
def test_a_run_that_audits_nothing_says_so(pytester: pytest.Pytester, how: list[str]) -> None:
    """Listing the items is the user's to ask for: the exit status stays pytest's, and the run says that nothing was
    audited and that no report was written (the composite action fails such a run: tests/test_workflows.py).
    Deselecting every audit item while the user's own test runs leaves every check out: the run fails, and its
    report says so (red team rt74 F1); with nothing selected at all, pytest's own exit 5 stays."""
    _project(pytester, True, "")
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    res = pytester.runpytest_subprocess("test_own.py", "--auditready-offline", "audit.log", "-p", "no:cacheprovider",
                                        "--auditready-report=compliance.xml", *how)
    if how != ["-m", "not auditready"]:  # (-k nothing_of_the_audit deselects the user's test too: pytest's exit 5)
        assert res.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), res.stdout.str()[-2000:]
        assert "auditready: no audit item ran" in res.stdout.str() and "nothing was audited" in res.stdout.str()
        assert not (pytester.path / "compliance.xml").exists()
        return
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()[-2000:]
    assert "auditready: 11 check(s) not run: " in res.stdout.str()
    assert '"auditready.verdict" value="failed"' in (pytester.path / "compliance.xml").read_text()
    alone = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider",
                                          "--auditready-report=compliance.xml", *how)
    assert alone.ret == pytest.ExitCode.NO_TESTS_COLLECTED, alone.stdout.str()[-2000:]
    assert "auditready: no audit item ran" in alone.stdout.str() and "nothing was audited" in alone.stdout.str()
    assert not (pytester.path / "compliance.xml").exists()


@pytest.mark.parametrize("name", ["h::i[j]k.log", "a::b.log", "l[m]::n.log"])
def test_a_log_named_with_a_double_colon_is_audited_not_an_internal_error(pytester: pytest.Pytester,
                                                                          name: str) -> None:
    """pytest reads "::" in a node id as the end of its collector's part: a path holding one (then a "[") made
    pytest stop with an INTERNALERROR traceback (red team rt14 F8). The file is audited under its own name."""
    _project(pytester, True, "")
    (pytester.path / "audit.log").rename(pytester.path / name)
    res = pytester.runpytest_subprocess("--auditready-offline", name, "-p", "no:cacheprovider", "-rA")
    out = res.stdout.str()
    assert res.ret == pytest.ExitCode.TESTS_FAILED, out[-2000:]
    assert "INTERNALERROR" not in out + res.stderr.str()
    assert "failed checks: completeness" in out and f"[{name}:{REMOVED - 1}" in out


@pytest.mark.parametrize("stop", ["pytest.exit('enough for today', returncode=0)", "raise KeyboardInterrupt"])
def test_a_session_cut_short_before_a_check_ran_is_no_pass(pytester: pytest.Pytester, stop: str) -> None:
    """A conftest's pytest.exit(returncode=0), or a Ctrl-C, while the audit items run: log_protection, which fails
    this world-readable log, never ran, and the run exited 0 (pytest.exit) with an evidence bundle saying PASS
    (both) (red team rt30, F1, F11). The verdict of a session cut short with checks that did not run fails, and
    says why; deselecting a check (-k) is no cut, and fails the run as a check left out (red team rt74 F1)."""
    import json

    _project(pytester, False, "import pytest\n"
                              "def pytest_runtest_setup(item):\n"
                              "    if 'timestamp_precision' in item.nodeid:\n"
                              f"        {stop}\n")
    (pytester.path / "audit.log").chmod(0o644)
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider",
                                        "--auditready-evidence", "ev")
    assert res.ret == pytest.ExitCode.INTERRUPTED, res.stdout.str()[-3000:]
    doc = json.loads((pytester.path / "ev" / "evidence.json").read_text())
    assert doc["run"]["verdict"] == "failed"
    summary = (pytester.path / "ev" / "summary.md").read_text()
    assert "Verdict: **FAIL**" in summary and "the run was " in summary, summary
    (pytester.path / "conftest.py").unlink()
    whole = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider")
    assert whole.ret == pytest.ExitCode.TESTS_FAILED and "failed checks: log_protection" in whole.stdout.str()
    chosen = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "-p", "no:cacheprovider",
                                           "-k", "not log_protection")
    assert chosen.ret == pytest.ExitCode.TESTS_FAILED, chosen.stdout.str()[-2000:]
    assert "auditready: 1 check(s) not run: log_protection: deselected" in chosen.stdout.str()
