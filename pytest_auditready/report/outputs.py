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
        config.stash[_ANNOTATIONS_KEY] = [result.redact(line) for line in github.annotation_lines(result)]


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
