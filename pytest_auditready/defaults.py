"""The built-in implementations of the pytest_auditready_* hooks, registered like any other plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .auditlog.source import LogSource
    from .config import Settings
    from .result import AuditResult
    from .vault.scenario import Plan
    from .vault.targets import Endpoint, Target


@pytest.hookimpl(trylast=True)
def pytest_auditready_make_target(settings: "Settings", config: pytest.Config) -> "Target":
    from .vault.targets import EmbeddedTarget, UrlTarget

    return EmbeddedTarget(settings) if settings.embedded else UrlTarget(settings)


@pytest.hookimpl(trylast=True)
def pytest_auditready_make_log_source(
    settings: "Settings", endpoint: "Endpoint", config: pytest.Config
) -> "LogSource":
    from .auditlog.source import FileLogSource

    if endpoint.log_source is not None:  # the target receives its log itself (the embedded socket device)
        return endpoint.log_source  # type: ignore[no-any-return]
    if settings.log_command:  # a program that prints the audit lines (auditlog/sources.py)
        from .auditlog.sources import CommandLogSource

        return CommandLogSource(settings.log_command, prefix=settings.log_prefix)
    assert endpoint.log_path is not None
    return FileLogSource(endpoint.log_path, prefix=settings.log_prefix)


@pytest.hookimpl(tryfirst=True)
def pytest_auditready_scenario(plan: "Plan", config: pytest.Config) -> None:
    from .vault.scenario import add_builtin_actions

    add_builtin_actions(plan)


def pytest_auditready_checks(config: pytest.Config) -> Any:
    from .checks import BUILTIN

    return list(BUILTIN)


def pytest_auditready_report(result: "AuditResult", config: pytest.Config) -> None:
    """The built-in reports (compliance JUnit, evidence, SARIF, GitHub), by the writer every front end uses."""
    from .report import write_all

    config.stash[REPORTS_KEY].extend(write_all(result))


# (label, path) of every file the reporters wrote, for the terminal summary.
REPORTS_KEY = pytest.StashKey[list[tuple[str, str]]]()
