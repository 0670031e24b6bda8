"""pytest11 entry point. Imports only pytest and the standard library at module level: without --auditready
the plugin adds options and hooks and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

# Option dest -> [tool.auditready] key, for the options that have a key.
CLI_KEYS = {
    "auditready_target": "target",
    "auditready_log": "log",
    "auditready_report": "report",
    "auditready_evidence": "evidence",
    "auditready_sarif": "sarif",
    "auditready_fail_on": "fail_on",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auditready", "audit-trail readiness (pytest-auditready)")
    group.addoption("--auditready", action="store_true", dest="auditready", default=False,
                    help="run the audit suite against a vault (default target: an embedded OpenBao)")
    group.addoption("--auditready-target", dest="auditready_target", metavar="embedded|URL", default=None,
                    help="'embedded' (default) or the URL of a Vault/OpenBao server (token from VAULT_TOKEN)")
    group.addoption("--auditready-log", dest="auditready_log", metavar="PATH", default=None,
                    help="the file audit device's output (required for a URL target)")
    group.addoption("--auditready-report", dest="auditready_report", metavar="PATH", default=None,
                    help="write the compliance JUnit XML report here")
    group.addoption("--auditready-evidence", dest="auditready_evidence", metavar="DIR", default=None,
                    help="write the evidence bundle (evidence.json, summary.md, report.html) into DIR")
    group.addoption("--auditready-sarif", dest="auditready_sarif", metavar="PATH", default=None,
                    help="write findings that have a file:line as SARIF 2.1.0 (for GitHub code scanning)")
    group.addoption("--auditready-fail-on", dest="auditready_fail_on", metavar="any|low|medium|high|critical",
                    default=None, help="fail the run on any failed check (default) or only on failed checks "
                    "of this severity or higher")
    group.addoption("--auditready-config", dest="auditready_config", metavar="PATH", default=None,
                    help="read settings from this TOML file ([tool.auditready] table or top-level keys) "
                    "instead of pyproject.toml")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _pyproject(config: pytest.Config) -> Optional[Path]:
    inipath = config.inipath
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    candidate = config.rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def load_settings(config: pytest.Config) -> Any:
    from .config import load, read_toml

    sources: list[tuple[str, Any]] = []
    cfg_file = config.getoption("auditready_config")
    if cfg_file:
        path = Path(cfg_file)
        sources.append((str(path), read_toml(path, table_required=False)))
    else:
        pp = _pyproject(config)
        if pp is not None:
            sources.append((f"[tool.auditready] of {pp}", read_toml(pp, table_required=True)))
    cli = {key: config.getoption(dest) for dest, key in CLI_KEYS.items()}
    sources.append(("the command line", {k: v for k, v in cli.items() if v is not None}))
    return load(sources)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from . import defaults

    if not config.pluginmanager.has_plugin("auditready-defaults"):
        config.pluginmanager.register(defaults, "auditready-defaults")
    if not config.pluginmanager.has_plugin("auditready-outputs"):
        from .report import outputs

        config.pluginmanager.register(outputs, "auditready-outputs")
    config.addinivalue_line("markers", "auditready: an audit-readiness check item (pytest-auditready)")
    config.stash[defaults.REPORTS_KEY] = []
    if not config.getoption("auditready", default=False):
        return
    from .errors import ConfigError
    from .session import SESSION_KEY, AuditReadySession

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"auditready: {exc}") from None
    session = AuditReadySession(config, settings)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "auditready-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    from .session import SESSION_KEY

    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]
