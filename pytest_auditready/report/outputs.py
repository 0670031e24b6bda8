"""The GitHub workflow-command annotations of a pytest run (registered like defaults.py, as "auditready-outputs"):
one ``::error`` per failed check that fails the run (``::warning`` for one below fail_on), and one for the checks
whose planned audit items did not run (deselected, skipped by a marker or hook, removed), printed at the end of
the terminal summary under GITHUB_ACTIONS=true, or on standard output at the end of the run where pytest's terminal
reporter is off (``-p no:terminal``): GitHub reads them from the step's output either way. The report files
themselves are written by ``report.write_all`` (defaults.py); the fail_on gate is the session's."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..result import AuditResult

_ANNOTATIONS_KEY = pytest.StashKey[list[str]]()


def pytest_auditready_report(result: "AuditResult", config: pytest.Config) -> None:
    from . import github

    if github.in_github_actions():
        config.stash[_ANNOTATIONS_KEY] = [result.redact(line) for line in github.annotation_lines(result)
                                          + _not_run_lines(result)]


def _not_run_lines(result: "AuditResult") -> list[str]:
    """One ``::error`` naming the checks some of whose planned items did not run, and why, with the rule and the fix
    (a run that leaves them out fails: the exit code says so, and so does this line); none when every item ran."""
    from ..result import LEFT_OUT_RULE
    from .common import clean
    from .github import escape_data, escape_property

    left = result.left_out
    if not left:
        return []
    said = "; ".join(f"{check}: {', '.join(r[len('not run: '):] for r in reasons[:3])}"
                     + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "") for check, reasons in left.items())
    return [f"::error title={escape_property('auditready checks not run')}::"
            + escape_data(clean(result, f"{len(left)} check(s) not run: {said}. The run fails: {LEFT_OUT_RULE}."))]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(_ANNOTATIONS_KEY, []):
        terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Without pytest's terminal reporter (``-p no:terminal``, red team rt60 F7), the annotations on standard
    output: the exit code alone fails the job, and docs/ci.md promises one annotation per failed check."""
    config = session.config
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        for line in config.stash.get(_ANNOTATIONS_KEY, []):
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
