"""The GitHub workflow-command annotations of a pytest run (registered like defaults.py, as "auditready-outputs"):
one ``::error`` per failed check that fails the run (``::warning`` for one below fail_on), printed at the end of
the terminal summary under GITHUB_ACTIONS=true. The report files themselves are written by ``report.write_all``
(defaults.py); the fail_on gate is the session's."""

from __future__ import annotations

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
