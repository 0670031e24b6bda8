"""Built-in reporters beyond the compliance JUnit (registered like defaults.py, as "auditready-outputs"): the
evidence bundle (--auditready-evidence), SARIF (--auditready-sarif), the GitHub step summary and annotations
(under GITHUB_ACTIONS=true), and the fail_on gate, which lets the run pass when every failed item belongs to a
check below the fail_on severity. Imports only pytest at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..result import AuditResult

# nodeid -> check id of every audit item; nodeids of failed items; the workflow commands to print.
_ITEMS_KEY = pytest.StashKey[dict[str, str]]()
_FAILED_KEY = pytest.StashKey[set[str]]()
_ANNOTATIONS_KEY = pytest.StashKey[list[str]]()
_FAIL_ON_KEY = pytest.StashKey[str]()


def pytest_auditready_report(result: "AuditResult", config: pytest.Config) -> None:
    from ..defaults import REPORTS_KEY

    reports = config.stash.get(REPORTS_KEY, [])
    settings = result.settings
    config.stash[_FAIL_ON_KEY] = settings.fail_on
    if settings.evidence:
        from .evidence import write_bundle

        reports.append(("evidence bundle", str(write_bundle(result, settings.evidence))))
    if settings.sarif:
        from . import sarif

        reports.append(("SARIF", str(sarif.write(result, settings.sarif))))
    from . import github

    if github.in_github_actions():
        path = github.append_summary(result)
        if path is not None:
            reports.append(("GitHub step summary", str(path)))
        config.stash[_ANNOTATIONS_KEY] = [result.redact(line) for line in github.annotation_lines(result)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    from ..items import CheckItem

    config.stash[_ITEMS_KEY] = {i.nodeid: i.check.id for i in items if isinstance(i, CheckItem)}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.config.stash.setdefault(_FAILED_KEY, set()).add(item.nodeid)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """fail_on: when every failed item is an audit item of a check below the threshold, the run passes."""
    config = session.config
    fail_on = config.stash.get(_FAIL_ON_KEY, "any")
    failed = config.stash.get(_FAILED_KEY, set())
    if fail_on == "any" or session.exitstatus != pytest.ExitCode.TESTS_FAILED or not failed:
        return
    from .common import gates

    items = config.stash.get(_ITEMS_KEY, {})
    if all(n in items and not gates(fail_on, items[n]) for n in failed):
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_ANNOTATIONS_KEY, [])
    fail_on = config.stash.get(_FAIL_ON_KEY, "any")
    if fail_on != "any" and config.stash.get(_FAILED_KEY, set()):
        terminalreporter.write_line(f"auditready fail_on={fail_on}: only failed checks of severity {fail_on} or "
                                    "higher fail the run")
    for line in lines:
        terminalreporter.write_line(line)
