"""Extension points of pytest-auditready. Implement them in a conftest.py or a plugin; the built-ins are
ordinary implementations of these same hooks (see defaults.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import pytest

if TYPE_CHECKING:
    from .auditlog.source import LogSource
    from .config import Settings
    from .result import AuditResult
    from .vault.scenario import Plan
    from .vault.targets import Endpoint, Target


@pytest.hookspec(firstresult=True)
def pytest_auditready_make_target(settings: "Settings", config: pytest.Config) -> Optional["Target"]:
    """Return the target to audit (first non-None wins; the default handles "embedded" and URLs).

    Example::

        def pytest_auditready_make_target(settings, config):
            if settings.target == "https://vault.internal:8200":
                return MyTarget(settings)
    """


@pytest.hookspec(firstresult=True)
def pytest_auditready_make_log_source(
    settings: "Settings", endpoint: "Endpoint", config: pytest.Config
) -> Optional["LogSource"]:
    """Return where this run's audit entries are read from (first non-None wins; the default reads the file
    audit device's file).

    Example::

        def pytest_auditready_make_log_source(settings, endpoint, config):
            return FileLogSource("/var/log/shipped/vault-audit.log")
    """


@pytest.hookspec
def pytest_auditready_scenario(plan: "Plan", config: pytest.Config) -> None:
    """Add scenario actions to ``plan`` with ``plan.add`` (called at collection, before any request is sent).

    The built-in actions (the scenario of the SPEC) stay as they are: one a hook takes out of ``plan.actions``,
    renames or changes is a planned audit item left out of the run, which fails it (exit 1) and is named in every
    report ("removed from the scenario by a hook: <action>").

    Example::

        from pytest_auditready.vault.scenario import ActionSpec

        def pytest_auditready_scenario(plan, config):
            plan.add(ActionSpec("read-metadata-again", "reader", "GET", plan.metadata_path("c1"), "read"))
    """


@pytest.hookspec
def pytest_auditready_checks(config: pytest.Config) -> Any:
    """Return a list of Check objects to run (all implementations' lists are joined; the default returns the
    built-in checks).

    Add checks of your own, with ids of their own. A built-in check missing from the joined list once every
    implementation (and wrapper) ran, or replaced there by another Check object of its id, is left out of the run,
    which fails it (exit 1) and is named in every report ("removed from the checks by a hook"): narrow what a check
    asks by settings, which every report shows.

    Example::

        from pytest_auditready.checks.base import Check, Finding

        def pytest_auditready_checks(config):
            return [Check("no_root_token_use", "Root is not used", "no entry by root", run=my_run)]
    """


@pytest.hookspec
def pytest_auditready_report(result: "AuditResult", config: pytest.Config) -> None:
    """Write a report of a finished audit (every implementation runs; the default writes the compliance JUnit
    report when --auditready-report is given). Pass every text through ``result.redact``.

    Example::

        def pytest_auditready_report(result, config):
            Path("failed.txt").write_text("\\n".join(result.failed_checks))
    """
