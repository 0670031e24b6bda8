"""pytest11 entry point. Imports only pytest and the standard library at module level: without --auditready
the plugin adds options and hooks and nothing else."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pytest

# Option dest -> [tool.auditready] key, for the options that have a key.
CLI_KEYS = {
    "auditready_target": "target",
    "auditready_log": "log",
    "auditready_log_command": "log_command",
    "auditready_report": "report",
    "auditready_canaries": "canaries_file",
    "auditready_evidence": "evidence",
    "auditready_sarif": "sarif",
    "auditready_fail_on": "fail_on",
    "auditready_vault_config": "vault_config",
    "auditready_audit_transport": "audit_transport",
}


def _not_rewritten(pluginmanager: Any) -> None:
    """pytest rewrites the asserts of every module of a plugin's installed distribution, compiling each from its
    source at import (cached beside it, unless bytecode is not written: PYTHONDONTWRITEBYTECODE). This package's
    asserts are its own invariants, never test reports: its modules are taken off that list, so they load from their
    bytecode as any library's (0.14 s of a live run where the rewritten ones are not cached). pytest offers no public
    way to unmark: the hook's private set is left as it is if it has changed."""
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked, cache = getattr(hook, "_must_rewrite", None), getattr(hook, "_marked_for_rewrite_cache", None)
    if isinstance(marked, set) and isinstance(cache, dict) and __package__ in marked:
        marked.discard(__package__)
        for name in [n for n in cache if n == __package__ or n.startswith(__package__ + ".")]:
            del cache[name]


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _not_rewritten(pluginmanager)
    group = parser.getgroup("auditready", "audit-trail readiness (pytest-auditready)")
    group.addoption("--auditready", action="store_true", dest="auditready", default=False,
                    help="run the audit suite against a vault (default target: an embedded OpenBao)")
    group.addoption("--auditready-target", dest="auditready_target", metavar="embedded|URL", default=None,
                    help="'embedded' (default) or the URL of a Vault/OpenBao server (token from VAULT_TOKEN)")
    group.addoption("--auditready-log", dest="auditready_log", metavar="PATH", default=None,
                    help="the file audit device's output (required for a URL target)")
    group.addoption("--auditready-log-command", dest="auditready_log_command", metavar="CMD", default=None,
                    help="read the run's audit entries from what CMD prints (journalctl -o cat -f, kubectl logs -f, "
                    "a SIEM client); started before the scenario, stopped at the end")
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
                    action="append",
                    help="known secret values, one a line, that --auditready-offline looks for in every encoding")
    group.addoption("--auditready-vault-config", dest="auditready_vault_config", metavar="DIR", default=None,
                    help="boot the embedded OpenBao from your vault configuration: DIR's server *.hcl/*.json (audit "
                    "stanzas kept; storage, listeners, seal, cluster replaced), DIR/policies/*.hcl, then bootstrap")
    group.addoption("--auditready-audit-transport", dest="auditready_audit_transport", metavar="file|socket|http",
                    default=None, help="embedded target: read a file audit device (default), or receive a TCP socket "
                    "audit device's stream or an http audit device's POSTs itself (no file)")
    group.addoption("--auditready-config", dest="auditready_config", metavar="PATH", default=None,
                    help="read settings from this TOML file ([tool.auditready] table or top-level keys) "
                    "instead of pyproject.toml")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _options() -> dict[str, str]:
    """[tool.auditready] key -> the pytest option that sets it, for the errors that name one."""
    return {**{key: "--" + dest.replace("_", "-") for dest, key in CLI_KEYS.items()}, "config": "--auditready-config"}


def load_settings(config: pytest.Config, notices: Optional[list[str]] = None) -> Any:
    """The run's settings, found as every front end finds them (config.discover): --auditready-config, else
    [tool.auditready] of the nearest pyproject.toml that has one at or above the directory pytest was started in
    (or the folder of a pyproject.toml given with -c), else of pytest's own pyproject.toml (its rootdir follows the
    paths given); then the command line."""
    from .config import discover
    from .errors import ConfigError

    start, pyproject = _where_settings(config)
    cli = {key: config.getoption(dest) for dest, key in CLI_KEYS.items()}
    canaries = cli.get("canaries_file")
    if isinstance(canaries, list):  # repeatable on the parser only to refuse a second file, which would be dropped
        if len(canaries) > 1:
            raise ConfigError(f"--auditready-canaries was given {len(canaries)} times, and only one file is read",
                              "put every known value in one file, one a line, and give that file once")
        cli["canaries_file"] = canaries[0] if canaries else None
    given = config.getoption("auditready_config")
    settings = discover(cli, given, start, pyproject, notices, _options())
    from .report.evidence import mark_settings_file, settings_file_of

    return mark_settings_file(settings, settings_file_of(given, start, pyproject))


def _where_settings(config: pytest.Config) -> tuple[Any, Any]:
    """Where ``load_settings`` looks for [tool.auditready]: the folder it starts from, and pytest's own
    pyproject.toml (or None)."""
    inipath = config.inipath
    pyproject = inipath if inipath is not None and inipath.name == "pyproject.toml" else None
    start = config.invocation_params.dir
    if pyproject is not None and getattr(config.option, "inifilename", None):
        start = pyproject.parent  # -c FILE: the user named pytest's configuration file
    return start, pyproject


# options under which pytest runs no test and writes no report: a refusal then removes nothing
_LISTINGS = ("collectonly", "help", "showfixtures", "show_fixtures_per_test", "markers")


def clear_refused_reports(config: pytest.Config, settings: Any = None, logs: Sequence[str] = ()) -> None:
    """A run the plugin refuses (a bad setting or option: exit 4; a key, the canaries or a log it cannot read: exit
    2) leaves no earlier run's report at this run's report paths, pytest's own --junitxml included: pytest writes
    that one only for a session that started, and these refusals end the run first, so a JUnit publisher would show
    the earlier run's tests as this run's (red team rt60 F2). ``settings``: None when they were refused (what they
    name is read as far as it can be: ``report.named_in_settings``). Never an input (``report.clear_refused``),
    and nothing under an option that writes no report (--collect-only, --help, --fixtures, --markers) nor on an
    xdist worker."""
    import os
    from types import SimpleNamespace

    from .cli.verify import inputs_of, outputs_of
    from .report import clear_refused, named_in_settings, settings_inputs

    if hasattr(config, "workerinput") or any(getattr(config.option, name, False) for name in _LISTINGS):
        return
    here = str(config.invocation_params.dir)
    given = config.getoption("auditready_config", default=None)
    if settings is None:
        start, pyproject = _where_settings(config)
        cli = {key: config.getoption(dest, default=None) for dest, key in CLI_KEYS.items()}
        outputs, inputs = named_in_settings(cli, given, str(start), pyproject)
        settings = SimpleNamespace(**outputs)
    else:
        inputs = [*settings_inputs(settings), *(p for _, p in inputs_of(settings, [], given, here) if p)]
    xml = getattr(config.option, "xmlpath", None)
    reports = [*outputs_of(settings, prefix="--auditready-"), ("--junitxml", os.path.join(here, xml) if xml else None)]
    from .accept import DEFAULT_NAME

    clear_refused(reports, [*inputs, *logs, *(files_from(config) or []), given, os.path.join(here, DEFAULT_NAME)])


def drop_junitxml(config: pytest.Config) -> None:
    """pytest's --junitxml writer taken out of a run that ends with its one line once its session started
    (``session.AuditReadySession._leave_no_report``): pytest would write the file at the session's end all the same,
    with no test in it when the live phase was refused, and say "generated xml file"; the runs a refusal ends before
    they start write none. pytest keeps the writer under a stash key of its junitxml plugin and unregisters it at
    unconfigure, only if it is still there."""
    from _pytest.junitxml import xml_key  # (pytest has no public name for it)

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        del config.stash[xml_key]
        config.pluginmanager.unregister(xml)


def _outputs_writable(settings: Any) -> None:
    """Refuse, before a vault is touched or a log read, a report path that could never be written (a folder where
    a file goes, a file where the evidence folder goes, a path under a file)."""
    from .safeio import check_writable

    for path, what in ((settings.report, "compliance JUnit report"), (settings.sarif, "SARIF report")):
        if path and path != "-":
            check_writable(path, what)
    if settings.evidence:
        check_writable(settings.evidence, "evidence bundle", folder=True)


# Set when -n (pytest-xdist) was turned off for a live run, to say so once the run is configured.
_XDIST_OFF = pytest.StashKey[str]()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    """A live audit is one run against one vault, in one process: pytest-xdist's ``-n``/``--tx`` are turned off
    for it (before xdist reads them), or each worker would run a scenario of its own and no process would hold the
    run its reports are made of. ``--auditready-offline`` keeps them: its items are spread by file."""
    opt = config.option
    if (config.getoption("auditready", default=False) and not config.getoption("auditready_offline", default=None)
            and (getattr(opt, "numprocesses", None) or getattr(opt, "tx", None))):
        config.stash[_XDIST_OFF] = f"-n {opt.numprocesses}" if getattr(opt, "numprocesses", None) else "--tx"
        opt.numprocesses = 0
        opt.tx = []
        opt.dist = "no"
    yield


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
    live = config.getoption("auditready", default=False)
    files = files_from(config)
    if not live and files is None:
        _said_without_audit(config)
        return
    loaded: list[Any] = []
    try:
        _configure_audit(config, live, files, loaded)
    except pytest.UsageError:  # a usage error leaves no earlier run's report behind
        clear_refused_reports(config, loaded[0] if loaded else None)
        raise


def _configure_audit(config: pytest.Config, live: bool, files: Optional[list[str]], loaded: list[Any]) -> None:
    """The run's settings loaded (put in ``loaded``) and checked, and its session registered; a usage error is a
    pytest.UsageError."""
    if live and files is not None:
        raise pytest.UsageError("auditready: --auditready and --auditready-offline are separate runs; give one")
    from .errors import ConfigError
    from .text import visible

    notices: list[str] = []
    try:
        settings = load_settings(config, notices)
    except ConfigError as exc:
        raise pytest.UsageError(f"auditready: {visible(str(exc))}") from None
    loaded.append(settings)
    from .errors import AuditReadyError

    try:
        _outputs_writable(settings)
    except AuditReadyError as exc:  # a usage error: said before the run, not after it
        raise pytest.UsageError(f"auditready: {visible(str(exc))}") from None
    for flag, option in (("setupplan", "--setup-plan"), ("setuponly", "--setup-only")):
        if getattr(config.option, flag, False):  # in addopts, it would turn a merge gate green with no audit run
            raise pytest.UsageError(f"auditready: {option} runs no test, so nothing would be audited; run without it "
                                    "(--collect-only lists the audit's items)")
    early = _begin_embedded(config, settings) if live else None
    try:
        _configure_session(config, settings, files, notices, early)
    except BaseException:
        if early is not None:
            early.close()
        raise


def _begin_embedded(config: pytest.Config, settings: Any) -> Any:
    """The default embedded target, its server starting now (``EmbeddedTarget.begin``) while pytest imports the
    checks and collects, when the run will use it: the built-in pytest_auditready_make_target is the only one
    (a plugin's own is called when the live phase begins, as ever), and the run is no --collect-only or --help.
    None otherwise. The session uses it, or closes it at unconfigure."""
    if not settings.embedded or config.option.collectonly or getattr(config.option, "help", False):
        return None
    if not default_target_only(config):
        return None
    from . import defaults

    target = defaults.pytest_auditready_make_target(settings=settings, config=config)
    begin = getattr(target, "begin", None)
    if callable(begin):
        begin()
    return target


def default_target_only(config: pytest.Config) -> bool:
    """Whether the built-in pytest_auditready_make_target is the only one registered (a conftest collected later
    may add its own: the live phase asks again)."""
    from . import defaults

    impls = config.hook.pytest_auditready_make_target.get_hookimpls()
    return [i.function for i in impls] == [defaults.pytest_auditready_make_target]


def _configure_session(config: pytest.Config, settings: Any, files: Optional[list[str]], notices: list[str],
                       early: Any) -> None:
    from .session import SESSION_KEY, AuditReadySession

    if files is None:
        notices.extend(_unread_environment(settings))
    if _XDIST_OFF in config.stash:
        notices.append(f"the live audit runs in one process: {config.stash[_XDIST_OFF]} (pytest-xdist) is off for "
                       "this run")
    for notice in notices:
        _notice(config, notice)
    if files is not None and getattr(config.option, "dist", "no") == "load":
        # Items of one file share a collector: -n's default "load" distribution becomes "loadfile", so that each
        # worker reads whole files (a file is read once per process).
        config.option.dist = "loadfile"
    session = AuditReadySession(config, settings, files, early_target=early)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "auditready-session")


def files_from(config: pytest.Config) -> Optional[list[str]]:
    """The exported logs of `pytest --auditready-offline PATH...`, or None for a live run."""
    import os

    paths = config.getoption("auditready_offline", default=None)
    return [os.fspath(p) for p in paths] if paths else None


def _unread_environment(settings: Any) -> list[str]:
    """The vault CLI's variables a live run does not read (only VAULT_TOKEN/BAO_TOKEN are), named when they are set
    and their setting is not, and a log the embedded target does not read: so that nobody takes the run for one
    against the vault they point at."""
    import os

    said: list[str] = []
    env = [n for n in ("VAULT_ADDR", "BAO_ADDR") if os.environ.get(n, "").strip()]
    if env and settings.embedded:
        said.append(f"{env[0]} is set, and the audit runs against the embedded throw-away OpenBao: {env[0]} is not "
                    "read (to audit that vault, pass --auditready-target with its URL, or set target)")
    if settings.embedded and settings.log:
        said.append("log is set, and the audit runs against the embedded throw-away OpenBao, which is judged by its "
                    "own log: log is not read (to audit the vault that writes it, set target or --auditready-target "
                    "to its URL)")
    if settings.embedded:
        return said
    unread = ((("VAULT_NAMESPACE", "BAO_NAMESPACE"), "namespace"), (("VAULT_CACERT", "BAO_CACERT"), "ca_file"))
    for names, key in unread:
        given = [n for n in names if os.environ.get(n, "").strip()]
        if given and getattr(settings, key) is None and (key != "ca_file" or settings.target.startswith("https:")):
            said.append(f"{given[0]} is set but not read: set {key} in [tool.auditready] if the run needs it")
    return said


def _said_without_audit(config: pytest.Config) -> None:
    """Options of the audit given without --auditready or --auditready-offline: no audit runs, and a run that
    passes on the project's own tests must not read as an audit. Said as a warning (the settings fixture reads
    them too)."""
    given = [f"--{dest.replace('_', '-')}" for dest in CLI_KEYS
             if dest not in ("auditready_canaries",) and config.getoption(dest) is not None]
    if config.getoption("auditready_canaries"):
        given.append("--auditready-canaries")
    if given:
        _notice(config, f"{', '.join(given)} given without --auditready or --auditready-offline: no audit runs "
                "(add --auditready to audit the vault, or --auditready-offline PATH to check exported logs)")


def _notice(config: pytest.Config, text: str) -> None:
    """A notice of the plugin's, ``auditready: text``, shown as pytest shows a warning issued while it configures
    (one line of its warnings summary), whatever the warning filters say: handed to pytest's hook as a recorded
    warning, never through ``warnings.warn``, which ``-W error`` or ``filterwarnings = error`` (in pytest's
    configuration or addopts) would turn into an INTERNALERROR traceback and exit 3 (red team rt74 F4), and an
    "ignore" filter would hide. The notice is the plugin's word on the run, not a warning of Python's."""
    import sys
    import warnings

    caller = sys._getframe(1).f_code, sys._getframe(1).f_lineno
    record = warnings.WarningMessage(pytest.PytestConfigWarning(f"auditready: {text}"), pytest.PytestConfigWarning,
                                     caller[0].co_filename, caller[1])
    config.hook.pytest_warning_recorded.call_historic(kwargs=dict(
        warning_message=record, when="config", nodeid="", location=(caller[0].co_filename, caller[1],
                                                                    caller[0].co_name)))


def pytest_unconfigure(config: pytest.Config) -> None:
    import sys

    if "pytest_auditready.session" not in sys.modules:
        return  # no audit was configured in this process: nothing to undo, and no need to import it (0.16 s)
    from .session import SESSION_KEY, restore_signals

    restore_signals()  # dropped while the run's last line was printed
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close_early_target()  # a server started early for a live phase that never came
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


# -- fixtures (what the plugin offers without --auditready) ----------------------------------------------------
@pytest.fixture(scope="session")
def auditready_settings(pytestconfig: pytest.Config) -> Any:
    """The validated [tool.auditready] settings (with the command line applied), as a frozen Settings. A bad key
    or value ends the session as any usage error does: one line, exit 4 (never a traceback of this fixture)."""
    from .errors import ConfigError
    from .session import _stop
    from .text import visible

    try:
        return load_settings(pytestconfig)
    except ConfigError as exc:
        _stop(visible(str(exc)), exc.exit_code)


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
