"""The audit cannot be narrowed through its own extension hooks, nor a hook's doing be misnamed (red team rt75).

F1: a conftest ``pytest_auditready_scenario`` hook that took the built-in actions out of ``plan.actions`` (the denied
reads, the audit-device probes) turned a vault whose default policy grants sudo on sys/audit/* from exit 1 into a
pass; denied_access_logged read "no subject to judge". A built-in action taken out, renamed or changed is now a
planned audit item left out of the run: exit 1, named in every report. Adding actions stays allowed.

F2: a ``pytest_auditready_checks`` wrapper that filtered built-in checks out of the list: "9/11 checks passed",
exit 0. A built-in check a hook left out (or replaced by another check of its id) is left out of the run, live and
offline. Adding checks stays allowed.

F5: an item a ``pytest_runtest_protocol`` hook swallowed was said to be removed "by a pytest_collection_modifyitems
hook": it is now said to have been run by a hook without a report.

Real pytest runs (pytester) against the embedded OpenBao, or over a log a real OpenBao wrote (the helpers of
tests/test_gate_rt74.py): each a session of its own, in this process (pytester's inline run: its own rootdir,
conftest, command line and exit code), but with xdist, whose workers are processes of their own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.test_gate_rt74 import AS_JSON, _assert_left_out, _project, _reports

LIVE = ["-p", "no:cacheprovider", "--auditready", "--auditready-report=out/c.xml", "--auditready-evidence=out/ev",
        "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml"]
# hypothesis's pytest plugin imports hypothesis in the terminal summary of every process of a run (a tenth of a
# subprocess run's CPU); no test here involves it
NO_HYPOTHESIS = ("-p", "no:hypothesispytest")
SCENARIO = "removed from the scenario by a hook"
CHECKS = "removed from the checks by a hook"
BUILTIN_IDS = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
               "integrity_digest", "denied_access_logged", "log_protection", "tamper_evidence", "retention",
               "data_minimisation", "access_policy", "fail_closed")


def _live(pytester: pytest.Pytester, conftest: str, *args: str) -> pytest.RunResult:
    pytester.makepyprojecttoml("[tool.auditready]\n")
    pytester.makeconftest(AS_JSON + conftest)
    return pytester.runpytest(*LIVE, *args)


def _offline(pytester: pytest.Pytester, *xdist: str) -> pytest.RunResult:
    """The offline audit of the project's audit.log (tests/test_gate_rt74.py's), in this process; with xdist's
    ``-n``, in a process of its own."""
    args = ["--auditready-offline", "audit.log", "-p", "no:cacheprovider", "--auditready-report=out/c.xml",
            "--auditready-evidence=out/ev", "--auditready-sarif=out/s.sarif", "--junitxml=out/pytest.xml"]
    if xdist:
        return pytester.runpytest_subprocess(*args, *NO_HYPOTHESIS, *xdist)
    return pytester.runpytest(*args)


def _passes(pytester: pytest.Pytester, res: pytest.RunResult) -> None:
    """The run passed and no report says anything was left out."""
    assert res.ret == pytest.ExitCode.OK, res.stdout.str()[-3000:]
    assert " not run: " not in res.stdout.str()
    r = _reports(pytester)
    assert r["evidence"]["run"]["verdict"] == "passed" and r["evidence"]["run"]["not_run"] is None
    assert r["props"]["auditready.verdict"] == "passed" and "not_run" not in r["cases"]


# -- F1: the scenario's built-in actions -----------------------------------------------------------------------------

# the red team's hook: "speed up" the audit by dropping the denied reads and the audit-device probes
DROP = ("def pytest_auditready_scenario(plan, config):\n"
        "    plan.actions[:] = [a for a in plan.actions if 'denied' not in a.name and 'audit' not in a.name]\n")
SCENARIO_HOOKS = {
    "removed": DROP,
    "renamed": ("import dataclasses\n"
                "def pytest_auditready_scenario(plan, config):\n"
                "    plan.actions[:] = [dataclasses.replace(a, name=a.name + '-x') if a.name == 'read-denied-c1'\n"
                "                       else a for a in plan.actions]\n"),
    # the same name, no longer expected to be denied: denied_access_logged no longer judges it
    "retyped": ("import dataclasses\n"
                "def pytest_auditready_scenario(plan, config):\n"
                "    plan.actions[:] = [dataclasses.replace(a, expect='info') if a.name == 'read-denied-c1'\n"
                "                       else a for a in plan.actions]\n"),
}


def test_the_red_team_s_vault_with_its_probes_dropped_fails(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The red team's case: the vault's default policy grants sudo on sys/audit/* (log_protection and
    denied_access_logged fail it), and the hook drops the probes that show it: exit 0 and "passed" before."""
    folder = tmp_path / "vc_bad"
    (folder / "policies").mkdir(parents=True)
    (folder / "server.hcl").write_text('audit "file" "file" {\n  options {\n'
                                       '    file_path = "/var/log/openbao/audit.log"\n    mode = "0600"\n  }\n}\n')
    (folder / "policies" / "default.hcl").write_text(
        'path "auth/token/lookup-self" { capabilities = ["read"] }\n'
        'path "auth/token/revoke-self" { capabilities = ["update"] }\n'
        'path "sys/capabilities-self" { capabilities = ["update"] }\n'
        'path "sys/audit" { capabilities = ["read", "sudo"] }\n'
        'path "sys/audit/*" { capabilities = ["create", "update", "delete", "sudo"] }\n'
        'path "secret/*" { capabilities = ["read", "list"] }\n')
    res = _live(pytester, DROP, f"--auditready-vault-config={folder}")
    r = _assert_left_out(pytester, res, {
        "denied_access_logged": f"{SCENARIO}: read-denied-c1",
        "completeness": f"{SCENARIO}: disable-audit-attempt"}, exact=False)
    assert "no subject to judge" not in str(r["evidence"]) + res.stdout.str()
    assert r["props"]["check.denied_access_logged.status"] == "skipped"
    # log_protection is named as left out too, and fails on its own: its probes are gone, so nothing was judged
    assert f"{SCENARIO}: list-audit-devices" in r["props"]["check.log_protection.not_run"]
    assert r["props"]["check.log_protection.status"] == "failed"
    failure = r["cases"]["log_protection"].find("failure")
    assert failure is not None and "its action list-audit-devices is not in the run" in failure.text


@pytest.mark.parametrize("how", sorted(SCENARIO_HOOKS))
def test_a_built_in_action_taken_out_renamed_or_changed_fails(pytester: pytest.Pytester, how: str) -> None:
    """On the embedded OpenBao (which passes the whole audit): before, each of these passed with exit 0."""
    res = _live(pytester, SCENARIO_HOOKS[how])
    why = f"{SCENARIO}: read-denied-c1" + (" (renamed or changed" if how == "retyped" else "")
    _assert_left_out(pytester, res, {"denied_access_logged": why, "completeness": why}, exact=False)


def test_an_action_of_one_s_own_added_to_the_scenario_passes(pytester: pytest.Pytester) -> None:
    res = _live(pytester, "from pytest_auditready.vault.scenario import ActionSpec\n"
                          "def pytest_auditready_scenario(plan, config):\n"
                          "    plan.add(ActionSpec('read-again-c1', 'reader', 'GET', plan.data_path('c1'), 'read',\n"
                          "                        secrets=('canary:c1@v2',)))\n")
    _passes(pytester, res)
    cases = {tc.get("name") for tc in ET.parse(pytester.path / "out" / "pytest.xml").getroot().iter("testcase")}
    assert {"completeness[read-again-c1]", "required_fields[read-again-c1]"} <= cases, cases


# -- F2: the built-in checks ------------------------------------------------------------------------------------------

def _wrapper(*ids: str) -> str:
    """The red team's wrapper: the joined lists with ``ids`` filtered out."""
    return ("import pytest\n"
            "@pytest.hookimpl(wrapper=True)\n"
            "def pytest_auditready_checks(config):\n"
            "    res = yield\n"
            f"    return [[c for c in (r or []) if c.id not in {ids!r}] for r in res]\n")


def test_live_built_in_checks_filtered_out_by_a_wrapper_fail(pytester: pytest.Pytester) -> None:
    """Before: "9/11 checks passed", exit 0, and 11 checks in every report."""
    res = _live(pytester, _wrapper("no_secret_leak", "denied_access_logged"))
    why = f"{CHECKS}: a pytest_auditready_checks hook left it out of the list"
    r = _assert_left_out(pytester, res, {"no_secret_leak": why, "denied_access_logged": why})
    assert "/13 checks passed" in res.stdout.str()
    assert [c["id"] for c in r["evidence"]["checks"]] == [c for c in BUILTIN_IDS if c not in (
        "no_secret_leak", "denied_access_logged")] + ["no_secret_leak", "denied_access_logged"]


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_offline_a_built_in_check_filtered_out_fails(pytester: pytest.Pytester, xdist: list[str]) -> None:
    """log_protection fails this log (mode 0644); a wrapper that filters it out passed the run before."""
    if xdist:
        pytest.importorskip("xdist")
    _project(pytester, conftest=_wrapper("log_protection"))
    res = _offline(pytester, *xdist)
    _assert_left_out(pytester, res, {"log_protection": f"{CHECKS}: a pytest_auditready_checks hook left it out"})


def test_offline_a_built_in_check_replaced_under_its_id_fails(pytester: pytest.Pytester) -> None:
    """Another Check object under the id log_protection (one that finds nothing) would report its pass as the
    SPEC check's, with its compliance controls: it counts as removed and does not run."""
    _project(pytester, conftest=("import dataclasses\n"
                                 "import pytest\n"
                                 "@pytest.hookimpl(wrapper=True)\n"
                                 "def pytest_auditready_checks(config):\n"
                                 "    res = yield\n"
                                 "    return [[dataclasses.replace(c, run=lambda ctx: iter(()), visitor=None)\n"
                                 "             if c.id == 'log_protection' else c for c in (r or [])] for r in res]\n"))
    res = _offline(pytester)
    r = _assert_left_out(pytester, res, {
        "log_protection": f"{CHECKS}: a pytest_auditready_checks hook put another check of its id in its place"})
    assert r["props"]["check.log_protection.status"] == "skipped"


def test_offline_a_check_of_one_s_own_added_passes(pytester: pytest.Pytester) -> None:
    """Adding a check (here one that finds nothing) beside the built-in ones, through a wrapper."""
    _project(pytester, mode=0o600, conftest=(
        "import pytest\n"
        "from pytest_auditready.checks.base import Check\n"
        "@pytest.hookimpl(wrapper=True)\n"
        "def pytest_auditready_checks(config):\n"
        "    res = yield\n"
        "    return res + [[Check('own_check', 'Own', 'nothing', run=lambda ctx: iter(()))]]\n"))
    res = _offline(pytester)
    _passes(pytester, res)
    assert "own_check" in _reports(pytester)["cases"]


def test_live_a_check_of_one_s_own_added_passes(pytester: pytest.Pytester) -> None:
    res = _live(pytester, "from pytest_auditready.checks.base import Check\n"
                          "def pytest_auditready_checks(config):\n"
                          "    return [Check('own_check', 'Own', 'nothing', run=lambda ctx: iter(()))]\n")
    _passes(pytester, res)
    assert "own_check" in _reports(pytester)["cases"]


# -- F5: a protocol hook that runs an item without reporting it -----------------------------------------------------

SWALLOW = ("import pytest\n"
           "@pytest.hookimpl(tryfirst=True)\n"
           "def pytest_runtest_protocol(item, nextitem):\n"
           "    if 'log_protection' in item.name:\n"
           "        return True\n")
UNREPORTED = "run by a hook without a report"


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_an_item_a_protocol_hook_swallowed_is_said_so(pytester: pytest.Pytester, xdist: list[str]) -> None:
    """Before: "removed from the run by a hook (a pytest_collection_modifyitems hook took it out of the items)"."""
    if xdist:
        pytest.importorskip("xdist")
    _project(pytester, conftest=SWALLOW)
    res = _offline(pytester, *xdist)
    _assert_left_out(pytester, res, {"log_protection": UNREPORTED})
    assert "pytest_collection_modifyitems" not in res.stdout.str()
