"""The merge gate cannot be narrowed by pytest's machinery (red team rt74).

F1: a planned audit item that pytest's selection or a conftest kept from running (``-k``/``--deselect`` from the
command line, ``addopts`` or PYTEST_ADDOPTS; ``-m``; ``--lf``; a skip marker, ``xfail(run=False)``, ``pytest.skip()``
in a hook; items removed from the list; every item skipped) left its check "not run" beside a PASS and exit 0, on a
log or a vault that fails that very check. Such a run never passes: exit 1, and every report names the checks and
why, with the rule and the fix; the plugin's own skips (a check turned off by a setting) still pass.

F4: ``-W error`` or ``filterwarnings = error`` turned the plugin's own notices ("-n auto is off", "VAULT_ADDR is set
... not read") into an INTERNALERROR traceback, exit 3. They are shown, one line each, and the run goes on.

Real pytest runs (pytester) over a log a real OpenBao wrote (fixtures/openbao/clean.log, made world-readable so that
log_protection fails), and live runs against the embedded OpenBao.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.test_unseen_reports import XSD

ROOT = Path(__file__).resolve().parents[1]
CLEAN_LOG = ROOT / "fixtures" / "openbao" / "clean.log"
EXAMPLE = ROOT / "examples" / "vault-config"
# the plugin's own skips (retention and tamper evidence turned off, access_policy with no rule): never "left out"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
ITEM = "auditready-offline[audit.log]::log_protection"
RULE = "a run that leaves out audit items never passes"
# a conftest that keeps the run's result as JSON (report.as_json, what `--json` writes), through the public hook
AS_JSON = ("import json as _json\n"
           "def pytest_auditready_report(result, config):\n"
           "    from pytest_auditready.report import as_json\n"
           "    (config.rootpath / 'result.json').write_text(_json.dumps(as_json(result)))\n")
WHO = "any(k in item.nodeid for k in ('log_protection', 'no_secret_leak', 'integrity_digest'))"
CONFTESTS = {
    "skip marker": ("import pytest\n"
                    "def pytest_collection_modifyitems(items):\n"
                    "    for item in items:\n"
                    f"        if {WHO}:\n"
                    "            item.add_marker(pytest.mark.skip(reason='flaky, quarantined'))\n"),
    "xfail(run=False)": ("import pytest\n"
                         "def pytest_collection_modifyitems(items):\n"
                         "    for item in items:\n"
                         f"        if {WHO}:\n"
                         "            item.add_marker(pytest.mark.xfail(run=False, reason='known'))\n"),
    "pytest.skip in setup": ("import pytest\n"
                             "def pytest_runtest_setup(item):\n"
                             f"    if {WHO}:\n"
                             "        pytest.skip('not today')\n"),
    "items removed": ("import pytest\n"
                      "@pytest.hookimpl(trylast=True)\n"
                      "def pytest_collection_modifyitems(items):\n"
                      f"    items[:] = [item for item in items if not {WHO}]\n"),
}
KIND = {"skip marker": "skipped by a marker or hook: flaky, quarantined",
        "xfail(run=False)": "skipped by a marker or hook: xfail [NOTRUN] known",
        "pytest.skip in setup": "skipped by a marker or hook: not today",
        "items removed": "removed from the run by a hook"}


def _project(pytester: pytest.Pytester, mode: int = 0o644, conftest: str = "", config: str = CONFIG) -> None:
    """A real OpenBao log, world-readable (mode 0644: log_protection fails) unless ``mode`` says otherwise."""
    log = pytester.path / "audit.log"
    log.write_bytes(CLEAN_LOG.read_bytes())
    log.chmod(mode)
    (pytester.path / "pyproject.toml").write_text(config)
    pytester.makeconftest(AS_JSON + conftest)


def _offline(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    """The offline audit of the project's audit.log: in this process (pytester's inline run, a session of its own
    reading its own rootdir, ini, conftest, PYTEST_ADDOPTS and command line) unless ``subprocess`` (xdist's
    workers)."""
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return run("--auditready-offline", "audit.log", "-p", "no:cacheprovider", "--auditready-report=out/c.xml",
               "--auditready-evidence=out/ev", "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml", *args)


def _reports(pytester: pytest.Pytester) -> dict[str, Any]:
    """What each report of the run says of its verdict and of the checks not run."""
    out = pytester.path / "out"
    XSD.validate(str(out / "c.xml"))
    suite = ET.parse(out / "c.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    evidence = json.loads((out / "ev" / "evidence.json").read_text())
    sarif = json.loads((out / "s.sarif").read_text())["runs"][0]["invocations"][0]["properties"]
    pytest_xml = ET.parse(out / "pytest.xml").getroot()
    return {"props": props, "cases": cases, "evidence": evidence, "sarif": sarif,
            "summary": (out / "ev" / "summary.md").read_text(), "html": (out / "ev" / "report.html").read_text(),
            "json": json.loads((pytester.path / "result.json").read_text()),
            "pytest failures": {tc.get("name") for tc in pytest_xml.iter("testcase") if tc.find("failure") is not None}}


def _assert_left_out(pytester: pytest.Pytester, res: pytest.RunResult, checks: dict[str, str],
                     exact: bool = True) -> dict[str, Any]:
    """The run failed (exit 1) and every report names each check of ``checks`` (id -> why) as not run, and why,
    with the rule (``exact``: and no other check); none calls the run passed."""
    out = res.stdout.str()
    assert res.ret == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    assert "INTERNALERROR" not in out + res.stderr.str()
    line = next(ln for ln in out.splitlines() if ln.startswith("auditready: ") and " not run: " in ln)
    assert RULE in line and all(c in line and why in line for c, why in checks.items()), line
    assert "FAILED auditready" in out and "::not_run" in out  # pytest's own summary counts them as a failure
    r = _reports(pytester)
    assert r["props"]["auditready.verdict"] == "failed"
    assert all(c in r["props"]["auditready.not_run"] for c in checks) and RULE in r["props"]["auditready.not_run"]
    assert all(why in r["props"][f"check.{c}.not_run"] for c, why in checks.items())
    failure = r["cases"]["not_run"].find("failure")
    assert failure is not None and all(c in (failure.get("message") or "") for c in checks)
    for c in checks:
        skipped = r["cases"][c].find("skipped")
        assert skipped is not None and checks[c] in (skipped.get("message") or "") and RULE in (
            skipped.get("message") or "")
    ev = r["evidence"]
    assert ev["run"]["verdict"] == "failed" and RULE in ev["run"]["not_run"]["rule"]
    said = {c["id"]: " ".join(c["why"]) for c in ev["run"]["not_run"]["checks"]}
    assert (set(said) == set(checks) if exact else set(said) >= set(checks)), said
    assert all(why in said[c] for c, why in checks.items()), said
    assert r["sarif"]["verdict"] == "failed"
    assert {c["id"] for c in r["sarif"]["notRun"]["checks"]} == set(said)
    assert r["json"]["verdict"] == "failed"
    reasons = {c["id"]: c["reason"] for c in r["json"]["checks"]}
    assert all(why in reasons[c] and RULE in reasons[c] for c, why in checks.items()), reasons
    # each such check fails the run, in every report that says which checks do
    assert all(c["fails_run"] for c in r["json"]["checks"] + ev["checks"] if c["id"] in checks)
    assert all(r["props"][f"check.{c}.fails_run"] == "true" for c in checks)
    verdict = next(ln for ln in r["summary"].splitlines() if "Verdict:" in ln)
    assert "Verdict: **FAIL**" in verdict and RULE in verdict and all(c in verdict for c in checks), verdict
    assert '<span id="verdict" class="verdict failed">FAIL</span>' in r["html"] and RULE in r["html"]
    assert any(name.endswith("not_run") for name in r["pytest failures"]), r["pytest failures"]
    return r


# -- F1: every route of the class fails the run and names the checks -----------------------------------------------

DESELECTED = "deselected"


@pytest.mark.parametrize("how", ["addopts", "PYTEST_ADDOPTS", "--deselect", "-k"])
def test_a_deselected_check_fails_the_run_and_is_named(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                        how: str) -> None:
    """log_protection fails this log; deselecting it (from the command line, the project's addopts or the
    environment) gave "Verdict: PASS (1 check not run: log_protection)" and exit 0."""
    config = CONFIG + ('[tool.pytest.ini_options]\naddopts = \'-k "not log_protection"\'\n' if how == "addopts" else "")
    _project(pytester, config=config)
    args: list[str] = []
    if how == "PYTEST_ADDOPTS":
        monkeypatch.setenv("PYTEST_ADDOPTS", '-k "not log_protection"')
    elif how == "--deselect":
        args = ["--deselect", ITEM]
    elif how == "-k":
        args = ["-k", "not log_protection"]
    res = _offline(pytester, *args)
    _assert_left_out(pytester, res, {"log_protection": DESELECTED})
    res.assert_outcomes(passed=7, skipped=3, failed=1, deselected=1)  # the failure: auditready-offline::not_run


@pytest.mark.parametrize("how", sorted(CONFTESTS))
def test_a_conftest_that_keeps_a_check_from_running_fails_the_run(pytester: pytest.Pytester, how: str) -> None:
    _project(pytester, conftest=CONFTESTS[how])
    res = _offline(pytester)
    r = _assert_left_out(pytester, res, {"log_protection": KIND[how], "no_secret_leak": KIND[how],
                                         "integrity_digest": KIND[how]})
    assert "failed checks: log_protection" not in res.stdout.str()  # it never ran: not run, never "failed"
    assert r["evidence"]["checks"][[c["id"] for c in r["evidence"]["checks"]].index("log_protection")][
        "status"] == "skipped"


def test_every_item_skipped_by_a_conftest_fails_and_writes_every_report(pytester: pytest.Pytester) -> None:
    """Before: "11 skipped", exit 0, and no report at all."""
    _project(pytester, conftest="import pytest\n"
                                "def pytest_collection_modifyitems(items):\n"
                                "    for item in items:\n"
                                "        item.add_marker(pytest.mark.skip(reason='quarantine'))\n")
    res = _offline(pytester)
    why = "skipped by a marker or hook: quarantine"
    checks = ["completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
              "integrity_digest", "log_protection", "tamper_evidence", "retention", "data_minimisation",
              "access_policy"]
    _assert_left_out(pytester, res, {c: why for c in checks})
    res.assert_outcomes(skipped=11, failed=1)


def test_lf_from_the_cache_leaves_checks_out_and_fails(pytester: pytest.Pytester) -> None:
    """--lf keeps only the items that failed last time: every other check is deselected, and that fails the run."""
    _project(pytester)
    base = ["--auditready-offline", "audit.log", "--auditready-report=out/c.xml", "--auditready-evidence=out/ev",
            "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml"]
    first = pytester.runpytest(*base)
    assert first.ret == pytest.ExitCode.TESTS_FAILED and "failed checks: log_protection" in first.stdout.str()
    (pytester.path / "audit.log").chmod(0o600)  # fixed: the rerun of what failed passes it
    again = pytester.runpytest(*base, "--lf")
    r = _assert_left_out(pytester, again, {"completeness": DESELECTED, "no_secret_leak": DESELECTED}, exact=False)
    assert r["props"]["check.log_protection.status"] == "passed"


@pytest.mark.parametrize("how", [["-m", "not auditready"], ["-k", "test_own"]])
def test_every_audit_item_deselected_beside_tests_that_ran_fails(pytester: pytest.Pytester, how: list[str]) -> None:
    """The audit's items all deselected while the user's own test ran: exit 0 and no report before; now the run
    fails and its reports say that no check ran. (With nothing selected at all pytest's own exit 5 stays.)"""
    _project(pytester)
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    res = _offline(pytester, "test_own.py", *how)
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()[-3000:]
    r = _reports(pytester)
    assert r["evidence"]["run"]["verdict"] == "failed" and len(r["evidence"]["run"]["not_run"]["checks"]) == 11
    assert "Verdict: **FAIL** (11 checks not run: " in r["summary"]
    nothing = pytester.runpytest("--auditready-offline", "audit.log", "-p", "no:cacheprovider",
                                 "--auditready-report=out/c.xml", *how)
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED and not (pytester.path / "out" / "c.xml").exists()


def test_with_xdist_a_worker_s_deselection_and_removal_are_named(pytester: pytest.Pytester) -> None:
    """Under -n 2 the items are collected and deselected on the workers: the controller learns which (their output)
    and names them "deselected"; items a hook removed reach no process and read "removed"."""
    pytest.importorskip("xdist")
    _project(pytester)
    res = _offline(pytester, "-n", "2", "-k", "not log_protection", subprocess=True)
    _assert_left_out(pytester, res, {"log_protection": DESELECTED})
    (pytester.path / "conftest.py").write_text(AS_JSON + CONFTESTS["items removed"])
    res = _offline(pytester, "-n", "2", subprocess=True)
    _assert_left_out(pytester, res, {c: "removed from the run by a hook"
                                     for c in ("log_protection", "no_secret_leak", "integrity_digest")})


def test_a_check_left_out_on_one_file_of_two_fails_and_names_the_file(pytester: pytest.Pytester) -> None:
    """A check deselected on one file only: it ran on the other, and still the run fails, naming the file."""
    _project(pytester, mode=0o600)
    (pytester.path / "archived").mkdir()
    second = pytester.path / "archived" / "audit.log"
    second.write_bytes(CLEAN_LOG.read_bytes())
    second.chmod(0o600)
    res = pytester.runpytest("--auditready-offline", "audit.log", "archived/audit.log", "-p", "no:cacheprovider",
                             "--auditready-report=c.xml", "-k", "not (archived and required_fields)")
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()[-3000:]
    suite = ET.parse(pytester.path / "c.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["auditready.verdict"] == "failed" and "deselected" in str(props["check.required_fields.not_run"])
    case = next(tc for tc in suite.iter("testcase") if tc.get("name") == "required_fields")
    skipped = case.find("skipped")
    assert skipped is not None and "not run on every file: not on archived/audit.log (deselected)" in (
        skipped.get("message") or "")


def test_a_skip_reason_is_the_conftest_s_text_and_each_report_escapes_it(pytester: pytest.Pytester,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reason a conftest gives its skip reaches every report: as text, never as markup, an escape sequence or a
    workflow command; and under GitHub Actions one ::error annotation names the check."""
    hostile = "<script>x</script> \\x1b[31m ::error::forged %0A [l](http://e)"
    _project(pytester, conftest="import pytest\n"
                                "def pytest_runtest_setup(item):\n"
                                "    if 'log_protection' in item.nodeid:\n"
                                f"        pytest.skip({hostile!r}.replace('\\\\x1b', chr(27)))\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "step.md"))
    res = _offline(pytester)
    out = res.stdout.str()
    assert res.ret == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    assert "\x1b[31m" not in out and "\\x1b[31m" in out
    assert not any(ln.lstrip().startswith("::error::forged") for ln in out.splitlines())
    notes = [ln for ln in out.splitlines() if ln.startswith("::error title=auditready checks not run::")]
    assert len(notes) == 1 and "log_protection: skipped by a marker or hook" in notes[0], notes
    r = _reports(pytester)
    row = next(ln for ln in r["summary"].splitlines() if ln.startswith("| `log_protection` |"))
    assert "&lt;script&gt;" in row and "<script>" not in r["summary"] and "\x1b" not in r["summary"]
    assert "<script>x" not in r["html"] and "&lt;script&gt;x" in r["html"]
    step = (pytester.path / "step.md").read_text()
    assert "Verdict: **FAIL** (1 check not run: log_protection (skipped by a marker or hook); " in step


# -- no false alarm: the whole run passes, the plugin's own skips included ----------------------------------------

def test_the_whole_run_over_a_correct_log_passes_with_the_plugins_own_skips(pytester: pytest.Pytester) -> None:
    _project(pytester, mode=0o600)
    res = _offline(pytester)
    assert res.ret == pytest.ExitCode.OK, res.stdout.str()[-3000:]
    res.assert_outcomes(passed=8, skipped=3)  # retention, tamper_evidence, access_policy: off by the settings
    assert " not run: " not in res.stdout.str()
    r = _reports(pytester)
    assert r["props"]["auditready.verdict"] == "passed" and "auditready.not_run" not in r["props"]
    assert "not_run" not in r["cases"] and not r["pytest failures"]
    assert r["evidence"]["run"]["verdict"] == "passed" and r["evidence"]["run"]["not_run"] is None
    assert "notRun" not in r["sarif"] and r["json"]["verdict"] == "passed"
    assert "Verdict: **PASS**." in r["summary"]


def test_the_conftests_that_touch_other_tests_only_leave_the_audit_whole(pytester: pytest.Pytester) -> None:
    """A conftest that skips, marks or removes the project's own tests, not audit items: the audit passes."""
    _project(pytester, mode=0o600, conftest="import pytest\n"
                                            "@pytest.hookimpl(trylast=True)\n"
                                            "def pytest_collection_modifyitems(items):\n"
                                            "    items[:] = [i for i in items if 'drop_me' not in i.nodeid]\n"
                                            "    for i in items:\n"
                                            "        if 'skip_me' in i.nodeid:\n"
                                            "            i.add_marker(pytest.mark.skip(reason='later'))\n")
    pytester.makepyfile(test_own="def test_skip_me():\n    pass\n\ndef test_drop_me():\n    pass\n\n"
                                 "def test_kept():\n    pass\n")
    res = _offline(pytester, "test_own.py", "-k", "not nothing_of_ours")
    assert res.ret == pytest.ExitCode.OK, res.stdout.str()[-3000:]
    res.assert_outcomes(passed=9, skipped=4)


# -- live: the red team's vault configuration, and the embedded target ----------------------------------------------

def test_the_vault_config_that_logs_secrets_in_clear_fails_when_its_checks_are_deselected(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The red team's case: examples/vault-config with `log_raw = "true"` on its file device (no_secret_leak,
    integrity_digest and log_protection fail), and a pytest.ini whose addopts deselect those three: exit 0 and
    "Verdict: PASS (3 checks not run: ...)" before."""
    folder = tmp_path / "vault-config"
    shutil.copytree(EXAMPLE, folder)
    hcl = folder / "server.hcl"
    assert 'log_raw       = "false"' in hcl.read_text()
    hcl.write_text(hcl.read_text().replace('log_raw       = "false"', 'log_raw       = "true"', 1))
    (pytester.path / "pytest.ini").write_text(
        '[pytest]\naddopts = -k "not no_secret_leak and not integrity_digest and not log_protection"\n')
    pytester.makeconftest(AS_JSON)
    res = pytester.runpytest(
        "-p", "no:cacheprovider", "--auditready", f"--auditready-vault-config={folder}",
        f"--auditready-config={folder / 'auditready.toml'}", "--auditready-report=out/c.xml",
        "--auditready-evidence=out/ev", "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml")
    _assert_left_out(pytester, res, {c: DESELECTED for c in ("no_secret_leak", "integrity_digest", "log_protection")})


def test_live_items_skipped_all_by_a_conftest_fail_and_write_every_report(pytester: pytest.Pytester) -> None:
    """Before: "120 skipped", exit 0, no report at all."""
    pytester.makepyprojecttoml("[tool.auditready]\n")
    pytester.makeconftest(AS_JSON + "import pytest\n"
                                    "def pytest_collection_modifyitems(items):\n"
                                    "    for item in items:\n"
                                    "        item.add_marker(pytest.mark.skip(reason='quarantine'))\n")
    res = pytester.runpytest("-p", "no:cacheprovider", "--auditready", "--auditready-report=out/c.xml",
                             "--auditready-evidence=out/ev", "--auditready-sarif=out/s.sarif",
                             "--junitxml=out/pytest.xml")
    r = _assert_left_out(pytester, res, {"completeness": "quarantine", "no_secret_leak": "quarantine",
                                         "log_protection": "quarantine"}, exact=False)
    assert len(r["evidence"]["run"]["not_run"]["checks"]) == len(r["evidence"]["checks"])


def test_live_one_action_deselected_fails_and_the_whole_run_passes(pytester: pytest.Pytester) -> None:
    """A check deselected on one action of the scenario; then the same run whole passes (no false alarm)."""
    pytester.makepyprojecttoml("[tool.auditready]\n")
    pytester.makeconftest(AS_JSON)
    args = ["-p", "no:cacheprovider", "--auditready", "--auditready-report=out/c.xml", "--auditready-evidence=out/ev",
            "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml"]
    res = pytester.runpytest(*args, "-k", "not read-allowed-c1")
    r = _assert_left_out(pytester, res, {"completeness": DESELECTED}, exact=False)
    skipped = r["cases"]["completeness"].find("skipped")
    assert skipped is not None and "not run on every subject: not on read-allowed-c1 (deselected)" in (
        skipped.get("message") or "")
    whole = pytester.runpytest(*args)
    assert whole.ret == pytest.ExitCode.OK, whole.stdout.str()[-3000:]
    assert _reports(pytester)["evidence"]["run"]["not_run"] is None


def test_live_every_item_deselected_beside_a_test_that_ran_fails_without_auditing(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.auditready]\n")
    pytester.makeconftest(AS_JSON)
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    res = pytester.runpytest("test_own.py", "-p", "no:cacheprovider", "--auditready", "-m", "not auditready",
                             "--auditready-report=out/c.xml", "--auditready-evidence=out/ev",
                             "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml")
    assert "no audit item ran, so the vault was not audited" in res.stdout.str()
    r = _assert_left_out(pytester, res, {"completeness": DESELECTED, "fail_closed": DESELECTED}, exact=False)
    assert r["evidence"]["ledger"] is None


# -- F4: the plugin's notices under any warning filter ------------------------------------------------------------

XDIST_OFF = "auditready: the live audit runs in one process: -n 2 (pytest-xdist) is off for this run"
ADDR = "auditready: VAULT_ADDR is set, and the audit runs against the embedded throw-away OpenBao"


def _said_once(res: pytest.RunResult, notice: str) -> None:
    out = res.stdout.str() + res.stderr.str()
    assert "INTERNALERROR" not in out and "Traceback" not in out, out[-3000:]
    assert sum(notice in ln for ln in out.splitlines()) == 1, out[-3000:]


@pytest.mark.parametrize("filters", [["-W", "error"], ["-W", "error::pytest.PytestConfigWarning"],
                                     ["-W", "ignore::pytest.PytestConfigWarning"], "ini"])
def test_the_notices_are_shown_and_the_run_goes_on_under_any_warning_filter(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, filters: Any) -> None:
    """Before: exit 3 with 25 INTERNALERROR lines ending in "PytestConfigWarning: auditready: ..."."""
    pytest.importorskip("xdist")
    ini = '[tool.pytest.ini_options]\naddopts = "-p xdist -n 2"\nfilterwarnings = ["error"]\n'
    pytester.makepyprojecttoml("[tool.auditready]\n" + (ini if filters == "ini" else ""))
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.com:8200")
    args = [] if filters == "ini" else [*filters, "-p", "xdist", "-n", "2"]
    res = pytester.runpytest("-p", "no:cacheprovider", "--auditready", *args)
    assert res.ret == pytest.ExitCode.OK, (res.stdout.str() + res.stderr.str())[-3000:]
    _said_once(res, XDIST_OFF)
    _said_once(res, ADDR)


def test_the_notice_of_audit_options_without_the_audit_survives_warnings_as_errors(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    res = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "--auditready-target=https://vault.example.com:8200")
    assert res.ret == pytest.ExitCode.OK, (res.stdout.str() + res.stderr.str())[-3000:]
    _said_once(res, "auditready: --auditready-target given without --auditready or --auditready-offline")


def test_a_log_setting_the_embedded_target_does_not_read_is_said_under_w_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.auditready]\nlog = "/var/log/vault/audit.log"\n')
    res = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "--auditready", "--collect-only")
    assert res.ret == pytest.ExitCode.OK, (res.stdout.str() + res.stderr.str())[-3000:]
    _said_once(res, "auditready: log is set, and the audit runs against the embedded throw-away OpenBao")
