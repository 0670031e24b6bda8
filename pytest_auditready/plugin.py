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
    "auditready_canaries": "canaries_file",
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
    group.addoption("--auditready-offline", dest="auditready_offline", metavar="PATH", nargs="+", action="extend",
                    default=None, help="check existing audit log files, no vault: one item per file and check "
                    "(pytest-xdist -n spreads files across workers)")
    group.addoption("--auditready-canaries", dest="auditready_canaries", metavar="FILE", default=None,
                    help="known secret values, one a line, that --auditready-offline looks for in every encoding")
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
    # pytest's rootdir follows the paths given: `--auditready-offline /var/log/x.log` run from a project
    # should still read that project's [tool.auditready], so the directory pytest was started in is asked too.
    for candidate in (config.rootpath / "pyproject.toml", config.invocation_params.dir / "pyproject.toml"):
        if candidate.is_file():
            return candidate
    return None


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
    if config.getoption("auditready_offline", default=None):
        _configure_offline(config)
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


def _configure_offline(config: pytest.Config) -> None:
    from .errors import ConfigError
    from .offline_session import OFFLINE_KEY, OfflineSession

    if config.getoption("auditready", default=False):
        raise pytest.UsageError("auditready: --auditready and --auditready-offline are separate runs; give one")
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"auditready: {exc}") from None
    # Items of one file share a collector: -n's default "load" distribution becomes "loadfile", so that each
    # worker reads whole files (a file is read once per process).
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadfile"
    offline = OfflineSession(config, settings, list(config.getoption("auditready_offline")))
    config.stash[OFFLINE_KEY] = offline
    config.pluginmanager.register(offline, "auditready-offline-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    from .offline_session import OFFLINE_KEY
    from .session import SESSION_KEY

    offline = config.stash.get(OFFLINE_KEY, None)
    if offline is not None:
        config.pluginmanager.unregister(offline)
        del config.stash[OFFLINE_KEY]

    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


# -- fixtures (what the plugin offers without --auditready) ----------------------------------------------------
@pytest.fixture(scope="session")
def auditready_settings(pytestconfig: pytest.Config) -> Any:
    """The validated [tool.auditready] settings (with the command line applied), as a frozen Settings."""
    from .errors import ConfigError

    try:
        return load_settings(pytestconfig)
    except ConfigError as exc:
        raise pytest.UsageError(f"auditready: {exc}") from None


@pytest.fixture(scope="session")
def auditready_vault() -> Any:
    """A throw-away OpenBao dev server on a free loopback port with a file audit device (mode 0600), for your
    own tests: ``.url``, ``.root_token``, ``.log_path``. Needs pytest-auditready[openbao]; stopped and removed
    at the end of the session.

    Example::

        def test_my_app_reads_its_secret(auditready_vault):
            client = MyApp(vault_url=auditready_vault.url, token=auditready_vault.root_token)
            ...
    """
    from .errors import AuditReadyError
    from .vault.embedded import EmbeddedServer

    server = EmbeddedServer()
    try:
        server.start()
    except AuditReadyError as exc:
        pytest.skip(f"auditready_vault: {exc}")
    try:
        yield server
    finally:
        server.stop()
