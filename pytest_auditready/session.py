"""The one run state of `pytest --auditready` and `pytest --auditready-offline`, a plugin object under a StashKey.

Collection builds one CheckItem per check and subject: per scenario action (live), or per exported file (files).
Live: the vault phase runs once, before the first item, inside pytest_runtestloop, and the engine judges its log.
Files: each process reads a file once, through the same engine as `auditready verify` (its first item computes
every check's verdict for that file); a file's items share one collector, so pytest-xdist's ``loadfile`` keeps them
on one worker. Either way each item's verdict (and its file's accounting) travels on its report, so the controller
builds the result, the reports and the fail_on gate from the same data. An environment problem or input that
cannot be read ends the session with one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NoReturn, Optional

import pytest

from .accept import Baseline
from .checks.base import FAILED, Check, Outcome
from .config import Settings
from .errors import AuditReadyError
from .items import AuditCollector, CheckItem
from .text import redact, visible

SESSION_KEY = pytest.StashKey["AuditReadySession"]()
_ATTR = "auditready_outcome"  # a report's verdict, as JSON (pytest-xdist serialises report attributes)
_FILE_ATTR = "auditready_file"  # the accounting of the file an item judged
_REVIEW_ATTR = "auditready_review"  # the access review's state of that file (review.py), on one report a file
_SETTLE_ATTR = "auditready_settles"  # the set's word on other files' tallies (engine.files.settle), on one report
_OWN_ATTR = "auditready_own"  # a report the session makes itself (``_own_report``): no test of the user's
RUN_NODE = "auditready-offline::access_policy"  # its node id: the check over the run's files together
NOT_RUN_NAME = "not_run"  # the name of the session's own report of the audit items left out of the run
_DESELECTED_KEY = "auditready_deselected"  # an xdist worker's deselected audit items, in its workeroutput
_ITEMS_KEY = "auditready_items"  # an xdist worker's audit items left after collection, in its workeroutput


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so that clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


if TYPE_CHECKING:
    from _pytest.outcomes import Exit as _ExitBase
else:
    _ExitBase = pytest.exit.Exception  # the same class, through pytest's public name


def collector_id(path: str) -> str:
    """The node id of the collector of ``path``'s items (--auditready-offline): "auditready-offline[PATH]", so that
    xdist's loadfile distribution (which groups by what comes before "::") keeps a file's items on one worker. A "::"
    of the path would end the collector's part of the id: written as ":\x3a", as visible() writes what it escapes
    (the item still reads the path as given)."""
    return f"auditready-offline[{visible(path).replace('::', ':' + chr(92) + 'x3a')}]"


class _Stop(_ExitBase):
    """pytest.exit's exception, shown as the one line ``auditready: <cause>; fix: <fix>``. pytest prints an exit as
    ``<type>: <message>``, naming a type by module and name unless it lives in builtins (as pytest's own
    Interrupted does): so the line names no internal class, only the tool."""

    __module__ = "builtins"
    __qualname__ = "auditready"


_Stop.__name__ = "auditready"


def _hook_failed(hook: str, exc: BaseException) -> str:
    """One line for an exception a hook implementation raised: its type, its message (made visible) and the line
    of the implementation where it was raised."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return visible(f"the {hook} hook raised {type(exc).__name__}: {exc}{at}; fix: correct the hook")


def _stop(message: str, code: int) -> NoReturn:
    """End the run with ``auditready: message`` and exit code ``code`` (under GitHub Actions, an annotation too)."""
    from .report.github import say_refusal

    _quiet_signals()
    say_refusal(f"auditready: {message}")
    raise _Stop(message, returncode=code)


_QUIETED: dict[int, Any] = {}  # signal -> its handler before ``_quiet_signals``


def _quiet_signals() -> None:
    """Once the run ends with its one line, a second SIGINT or SIGTERM is dropped until pytest_unconfigure
    (``restore_signals``): arriving while pytest prints that line, it would show as tracebacks instead. Ctrl-C
    pressed twice does it, and so does GNU timeout, which sends its signal to the command and then to its whole
    process group. A signal the process ignores stays ignored."""
    if threading.current_thread() is not threading.main_thread() or _QUIETED:
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(sig)
        if current is not None and current is not signal.SIG_IGN:
            _QUIETED[sig] = signal.signal(sig, _dropped)


def _dropped(signum: int, frame: Any) -> None:
    """The handler of a signal that arrives after the run's last line (``_quiet_signals``)."""


def restore_signals() -> None:
    """Give SIGINT and SIGTERM back the handlers ``_quiet_signals`` replaced."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig, handler in _QUIETED.items():
        signal.signal(sig, handler)
    _QUIETED.clear()


class AuditReadySession:
    def __init__(self, config: pytest.Config, settings: Settings, files: Optional[list[str]] = None,
                 early_target: Any = None) -> None:
        """``early_target``: the live run's target, its server already starting (plugin._begin_embedded)."""
        from .vault.scenario import new_run_id

        self.config = config
        self.settings = settings
        self.files = files  # None: a live run
        self.named = list(files or ())  # the paths given, as given (``files`` becomes the files they name)
        self.run_id = "" if files else new_run_id()
        self.plan: Any = None
        self.checks: list[Check] = []
        self.secrets: dict[str, str] = {}
        self.live: Any = None
        self.live_outcomes: dict[tuple[str, str], Outcome] = {}
        self.live_accounting: dict[str, Any] = {}
        self.results: dict[str, Any] = {}  # path -> FileResult, computed in this process
        self.detected: dict[str, Settings] = {}  # path -> the settings its content was found to need
        self.baseline = Baseline()  # the accepted findings, loaded at session start
        self.outcomes: dict[tuple[str, str, str], Outcome] = {}  # (file, check, subject) -> verdict (controller)
        self.accounting: dict[str, dict[str, Any]] = {}  # file -> what was read, judged, excused (controller)
        self.reviews: dict[str, Any] = {}  # file -> its access review state (controller); "" the live log's
        self.settles: list[Any] = []  # the set's word on files' tallies, from the file that judged it (controller)
        self._review_doc: Optional[dict[str, Any]] = None
        # (file, check, subject) of every item the run was to have: one that did not run (deselected, skipped by a
        # marker or hook, removed from the items, or the run stopped first) fails the run (``_left_out``)
        self.planned: list[tuple[str, str, str]] = []
        self.deselected: set[str] = set()  # node ids of audit items pytest deselected (here, or on an xdist worker)
        self.unran: dict[str, str] = {}  # node id -> why an audit item that reached the run gave no verdict
        self.collected: set[str] = set()  # node ids of the audit items in session.items once collection ended
        # planned items that no hook may take out, taken out by one (a built-in check, a built-in action of the
        # scenario): key -> why. Each is left out of the run whatever else ran under its key (``_left_out``).
        self.dropped: dict[tuple[str, str, str], str] = {}
        # built-in checks a pytest_auditready_checks hook took out, and how (``_keep_builtin_checks``)
        self.removed_checks: list[tuple[Check, str]] = []
        self.reported = False  # the run's result was built and reported (pytest_sessionfinish)
        self._nodes: dict[str, tuple[str, str, str]] = {}  # node id -> its planned (file, check, subject)
        self.cut_short = ""  # why the session ended before its items did (pytest_keyboard_interrupt, -x, --maxfail)
        self.failed_other = False  # a failed item that is not an audit item (the user's own tests)
        self.audit_only = not config.option.file_or_dir
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.seconds = 0.0
        self._clock = time.monotonic()  # the run's start: an offline run's duration is measured from it
        self._early_target = early_target  # until the live phase takes it over

    def node_id(self, key: tuple[str, str, str]) -> str:
        """The node id of the planned item ``key`` (file, check, subject), as collection names it."""
        file, check, subject = key
        return f"{collector_id(file)}::{check}" if self.files is not None else f"auditready::{_name(check, subject)}"

    def close_early_target(self) -> None:
        """Stop the server started early for a live phase that did not take it (the run ended first)."""
        target, self._early_target = self._early_target, None
        if target is not None:
            target.close()

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")  # set by pytest-xdist on its workers

    def _exit(self, exc: AuditReadyError) -> NoReturn:
        """End the run with ``exc`` in one line: any secret of the run it quotes (a command's stderr, a hook's
        message) shown by name, never by value."""
        self._end(visible(self.redact(str(exc))), exc.exit_code)

    def _end(self, message: str, code: int) -> NoReturn:
        """End the run with its one line (``_stop``: refused, or interrupted before a verdict), leaving no report
        (``_leave_no_report``)."""
        self._leave_no_report()
        _stop(message, code)

    def _leave_no_report(self) -> None:
        """For a run that ends with its one line: what an earlier run wrote at this run's report paths removed, and
        pytest's --junitxml neither left nor written. pytest writes that file at the end of any session that
        started, so a live run refused as its phase began (a failing bootstrap, a token the vault refuses) left
        one with no test in it, which a JUnit publisher shows as a run that passed, and replaced an earlier run's
        (red team rt92 F9); an offline run refused at its start ends before pytest writes it."""
        from .plugin import clear_refused_reports, drop_junitxml

        clear_refused_reports(self.config, self.settings, [*self.named, *(self.files or ())])
        drop_junitxml(self.config)

    def redact(self, text: str) -> str:
        """``text`` with every known value of the run (canaries, tokens, --canaries values) shown by name."""
        secrets = dict(self.secrets)
        if self.plan is not None:
            secrets.update(self.plan.secrets.items())
        return redact(text, secrets)

    # -- set-up ----------------------------------------------------------------------------------------------
    def _load_checks(self) -> None:
        checks: list[Check] = []
        try:
            results = self.config.hook.pytest_auditready_checks(config=self.config)
        except Exception as exc:  # a bug in the hook: said in one line, where it is, not as an INTERNALERROR
            said = self.redact(_hook_failed("pytest_auditready_checks", exc))
            raise pytest.UsageError("auditready: " + said) from None
        for result in results:
            checks.extend(result or [])
        seen: set[str] = set()
        for c in checks:
            if not isinstance(c, Check):
                raise pytest.UsageError(f"auditready: pytest_auditready_checks returned {c!r}, not a Check")
            if c.id in seen:
                raise pytest.UsageError(f"auditready: two checks share the id {c.id!r}; ids must be unique")
            seen.add(c.id)
        self.checks = [c for c in checks if not c.live_only] if self.files is not None else checks
        self._keep_builtin_checks()

    def _keep_builtin_checks(self) -> None:
        """Every built-in check of this kind of run (``checks.BUILTIN``; offline, those not live-only) must be in
        the list the hooks returned, as itself: one a pytest_auditready_checks hook (a wrapper that filters the
        list, a plugin that returns a narrowed copy) left out is a planned audit item that did not run (red team
        rt75 F2), and fails the run in every report (``_left_out``). Another Check object under a built-in id (a
        copy with another run or subjects) counts as removed, and does not run in its place: the id is what every
        report maps to the SPEC's requirement and the compliance controls, so its pass must be the built-in's; a
        check of one's own takes an id of its own. Adding checks stays allowed. (`auditready verify` runs BUILTIN
        and has no hooks.)"""
        from .checks import BUILTIN

        by_id = {c.id: c for c in self.checks}
        for builtin in BUILTIN:
            if self.files is not None and builtin.live_only:
                continue
            found = by_id.get(builtin.id)
            if found is not None and found == builtin:
                continue
            if found is not None:
                self.checks.remove(found)
            self.removed_checks.append((builtin, "a pytest_auditready_checks hook left it out of the list" if found is
                                        None else "a pytest_auditready_checks hook put another check of its id in "
                                        "its place"))

    def _dropped_checks(self, files: list[str]) -> None:
        """The planned items of the built-in checks a hook took out (``_keep_builtin_checks``), one per file
        offline (``files``) and one for the whole run live, each left out with why."""
        from .result import CHECK_REMOVED, left_out_reason

        for check, how in self.removed_checks:
            for file in files:
                self.dropped[(file, check.id, "")] = left_out_reason(CHECK_REMOVED, how)

    @property
    def reported_checks(self) -> list[Check]:
        """The checks every report lists: those that ran, then the built-in ones a hook took out (each not run)."""
        return [*self.checks, *(check for check, _ in self.removed_checks)]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self._start()
        except pytest.UsageError:  # (a refusal, _Stop, leaves none itself: ``_end``)
            self._leave_no_report()
            raise

    def _start(self) -> None:
        from . import accept

        self._load_checks()
        try:
            self.baseline = accept.load(accept.default_path(self.settings, str(self.config.invocation_params.dir)),
                                        required=bool(self.settings.baseline))
        except AuditReadyError as exc:
            self._exit(exc)
        if self.files is None:
            self._refuse_clashes([self.settings.log] if self.settings.log else [])
            self._clear_previous()
            from .engine.files import check_inputs

            try:
                check_inputs(self.settings)  # a key that could never verify the log's chain: said before the run
            except AuditReadyError as exc:
                self._exit(exc)
            return
        from .engine.files import detect, prepare

        try:
            self.files, self.secrets = prepare(self.settings, self.files)
            self._refuse_clashes(self.files)
            self._clear_previous()
            if not self.is_worker:  # unreadable input, or content of no known format: refused before any verdict
                self.detected = {path: detect(path, self.settings) for path in self.files}
        except AuditReadyError as exc:
            self._exit(exc)
        self.planned = [(path, check.id, "") for path in self.files for check in self.checks]
        self._nodes = {self.node_id(key): key for key in self.planned}
        self._dropped_checks(self.files)
        self.planned += list(self.dropped)

    def _clear_previous(self) -> None:
        """Once no report path names an input (``_refuse_clashes``): the reports an earlier run wrote at this run's
        paths removed, so that a run refused below leaves none of them behind (``report.clear_previous``); the
        controller's to do, and not for --collect-only, which writes none."""
        if self.is_worker or getattr(self.config.option, "collectonly", False):
            return
        from .report import clear_previous

        try:
            clear_previous(self.settings)
        except AuditReadyError as exc:
            self._exit(exc)

    def _refuse_clashes(self, logs: list[str]) -> None:
        """A report (or pytest's own --junitxml) named like a log, its seal chain, a key, the canaries or another
        report would be written over it: refused before the run (the live log is the vault's own)."""
        from .cli.verify import inputs_of, outputs_of
        from .config import refuse_clashes

        outputs = outputs_of(self.settings, prefix="--auditready-")
        xml = getattr(self.config.option, "xmlpath", None)
        outputs.append(("--junitxml", os.path.join(str(self.config.invocation_params.dir), xml) if xml else None))
        try:
            refuse_clashes(outputs, inputs_of(self.settings, logs, self.config.getoption("auditready_config"),
                                              str(self.config.invocation_params.dir)))
        except AuditReadyError as exc:
            self._exit(exc)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> Optional[bool]:
        # `pytest --auditready` with no paths runs the audit only, without collecting the project's tests.
        return True if self.audit_only else None

    def _new_plan(self) -> Any:
        from .vault.scenario import new_plan

        s = self.settings
        return new_plan(
            run_id=self.run_id,
            kv_mount=s.kv_mount,
            prefix=s.prefix,
            canaries=s.canaries,
            unprivileged_policies=s.unprivileged_policies,
            token_ttl=s.token_ttl,
            no_default_policy=s.unprivileged_no_default_policy,
            settings_in=s.set_in(),
        )

    def _build_plan(self) -> None:
        self.plan = self._new_plan()
        try:
            self.config.hook.pytest_auditready_scenario(plan=self.plan, config=self.config)
        except ValueError as exc:
            raise pytest.UsageError(f"auditready: {exc}") from None
        except Exception as exc:  # a bug in the hook: said in one line, where it is, not as an INTERNALERROR
            said = self.redact(_hook_failed("pytest_auditready_scenario", exc))
            raise pytest.UsageError("auditready: " + said) from None

    def _keep_builtin_actions(self) -> None:
        """Every built-in action of the scenario (``vault.scenario.add_builtin_actions``, planned afresh from the
        run's settings) must still be in ``plan.actions`` once the pytest_auditready_scenario hooks ran, once, and
        as planned: ``plan.actions`` is a plain list, and a hook that took out the denied reads and the
        audit-device probes turned a vault that fails denied_access_logged and log_protection into a pass (red team
        rt75 F1). One taken out, renamed or changed (who acts, the request, what is expected of it, its phase, its
        canaries or its body) is a planned audit item that did not run: each check that would judge it (its
        subjects over the built-in scenario) gets an item left out with why, which fails the run in every report
        (``_left_out``), also where a hook's action of that name ran: a built-in check whose subjects a hook took
        away fails, never reads "no subject to judge". Adding actions stays allowed."""
        from .engine.live import planned_actions
        from .result import SCENARIO_REMOVED, left_out_reason
        from .vault.scenario import CAPABILITIES_ACTION, HEADERS_ACTION, add_builtin_actions

        reference = self._new_plan()
        add_builtin_actions(reference)
        changed: dict[str, str] = {}  # built-in action -> how it differs from the plan the hooks left
        for want in reference.actions:
            have = [a for a in self.plan.actions if a.name == want.name]
            if not have:
                changed[want.name] = want.name
            elif len(have) > 1 or not _same_action(want, have[0]):
                changed[want.name] = (f"{want.name} (renamed or changed: the action of that name is not the "
                                      "built-in one)")
        # built-in actions a check reads by name for its whole-run verdict (the vault's answer to them, or the facts
        # the runner learns with them), beside the checks that judge each action as a subject
        read_by = {"list-audit-devices": ("log_protection",), "disable-audit-attempt": ("log_protection",),
                   CAPABILITIES_ACTION: ("log_protection",), HEADERS_ACTION: ("log_protection", "no_secret_leak")}
        subjects = [(check.id, subject) for check in self.checks
                    for subject in check.subjects(planned_actions(reference))]
        for name, how in changed.items():
            keys = [("", check, subject) for check, subject in subjects if subject == name]
            keys += [("", c.id, name) for c in self.checks if c.id in read_by.get(name, ())]
            if not keys and self.checks:  # judged by no check of the run: still the run's to say
                keys = [("", self.checks[0].id, name)]
            for key in keys:
                self.dropped[key] = left_out_reason(SCENARIO_REMOVED, how)

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        new: list[pytest.Item] = []
        if self.files is None:
            from .engine.live import planned_actions

            self._build_plan()
            planned = planned_actions(self.plan)
            pairs = [(check, subject) for check in self.checks for subject in check.subjects(planned)]
            self.planned = [("", check.id, subject) for check, subject in pairs]
            self._nodes = {self.node_id(key): key for key in self.planned}
            self._keep_builtin_actions()
            self._dropped_checks([""])
            self.planned += [key for key in self.dropped if key not in self.planned]
            groups: list[tuple[str, Optional[str], list[tuple[Check, str]]]] = [("auditready", None, pairs)]
        else:
            # one collector per file (``collector_id``): node ids read "auditready-offline[PATH]::CHECK"
            groups = [(collector_id(path), path, [(check, "") for check in self.checks]) for path in self.files]
        for nodeid, log, pairs in groups:
            collector = AuditCollector.from_parent(session, name=nodeid, nodeid=nodeid)
            mine = [CheckItem.from_parent(collector, name=check.id if log else _name(check.id, subject),
                                          check=check, subject=subject, audit=self, log=log)
                    for check, subject in pairs]
            session.ihook.pytest_collectreport(report=pytest.CollectReport(collector.nodeid, "passed", None,
                                                                           list(mine)))
            new.extend(mine)
        items[:0] = new

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Audit items pytest deselected (-k, -m, --deselect, --lf, or a hook that says so): each fails the run
        (``_left_out``). An xdist worker sends them to the controller with its output (``pytest_testnodedown``)."""
        ids = [item.nodeid for item in items if isinstance(item, CheckItem) and item.audit is self]
        self.deselected.update(ids)
        output = getattr(self.config, "workeroutput", None)
        if ids and isinstance(output, dict):
            output[_DESELECTED_KEY] = sorted(set(output.get(_DESELECTED_KEY, [])) | set(ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The audit items left in the run once collection ended: one of them that gave no report was taken over
        by a hook as it ran (``result.UNREPORTED``), one not among them was taken out of the items
        (``result.REMOVED``; red team rt75 F5). An xdist worker sends them to the controller with its output."""
        ids = {item.nodeid for item in session.items if isinstance(item, CheckItem) and item.audit is self}
        self.collected.update(ids)
        output = getattr(self.config, "workeroutput", None)
        if ids and isinstance(output, dict):
            output[_ITEMS_KEY] = sorted(set(output.get(_ITEMS_KEY, [])) | ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist's controller, as a worker ends: the audit items that worker deselected, and those it kept."""
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict):
            self.deselected.update(str(n) for n in output.get(_DESELECTED_KEY, ()))
            self.collected.update(str(n) for n in output.get(_ITEMS_KEY, ()))

    # -- the live phase --------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if (self.files is not None or self.config.option.collectonly
                or not any(isinstance(i, CheckItem) for i in session.items)):
            return
        from .engine.live import judge, run_live

        hook = self.config.hook
        target, self._early_target = self._early_target, None  # run_live closes it from here on
        if target is not None:
            from .plugin import default_target_only

            if not default_target_only(self.config):  # a conftest collected since brought its own target
                target.close()
                target = None
        if target is None:
            target = hook.pytest_auditready_make_target(settings=self.settings, config=self.config)

        def make_source(endpoint: Any) -> Any:
            return hook.pytest_auditready_make_log_source(settings=self.settings, endpoint=endpoint,
                                                          config=self.config)

        try:
            with _sigterm_as_interrupt():
                self.live = run_live(self.settings, self.plan, target, make_source)
                self.live_outcomes, self.live_accounting = judge(self.checks, self.live, self.plan)
                from .engine.driver import drive_lines
                from .review import Review

                plan = self.plan  # the live log's entries, through the one driver; the run's own folders no item
                review = Review(self.settings, tuple(f"{plan.kv_mount}/{kind}/{plan.base}" for kind in
                                                    ("data", "metadata")))
                drive_lines(review, self.live.context)
                self.reviews[""] = review.state()
        except AuditReadyError as exc:
            self._exit(exc)
        except Exception as exc:  # a check of a hook's, or a fault of ours, while judging: one line, values named
            self._exit(AuditReadyError(
                f"judging the log stopped on an unexpected {type(exc).__name__}: {self.redact(str(exc))[:300]}; "
                "no verdict was reached",
                "if a pytest_auditready_checks hook adds checks, check them first; else report it with the run's "
                "output"))
        except KeyboardInterrupt:
            facts = getattr(self.live, "facts", None)
            residue = list(getattr(facts, "residue", []) or [])
            if self.live is None:
                self._end("interrupted; clean-up ran, but whether it removed everything is not known: list the "
                          "run's prefix and tokens by hand", 2)
            left = f"; clean-up could NOT remove: {', '.join(residue)}" if residue else ""
            self._end(f"interrupted while judging the log; no verdict was reached{left}", 2)
        self.seconds = self.live.seconds

    def outcome(self, item: CheckItem) -> Outcome:
        """The verdict of ``item``: from the live phase, or from its file (read once in this process)."""
        if item.log is None:
            found: Optional[Outcome] = self.live_outcomes.get((item.check.id, item.subject))
            if found is None:
                raise RuntimeError(f"no verdict for {item.name}: the live phase did not run")
            return self.baseline.apply(found)
        from .engine.files import verify_file

        res = self.results.get(item.log)
        if res is None:
            try:
                known = self.detected.get(item.log)
                res = self.results[item.log] = verify_file(item.log, known or self.settings, self.checks,
                                                           self.secrets, tuple(self.files or ()),
                                                           detected=known is not None)
            except AuditReadyError as exc:
                self._exit(exc)
        for o in res.outcomes:
            if o.check_id == item.check.id:
                return self.baseline.apply(Outcome(o.check_id, item.log, o.status, o.findings, o.reason, o.tally),
                                           item.log)
        raise RuntimeError(f"no verdict for {item.check.id} on {item.log}")

    # -- verdicts travel on the reports ----------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if isinstance(item, CheckItem) and call.when == "call" and item.user_outcome is not None:
            rep = report.get_result()
            sent = self._sent
            setattr(rep, _ATTR, sent(item.user_outcome.to_json()))
            if item.log is not None and item.log in self.results:
                setattr(rep, _FILE_ATTR, sent(self.results[item.log].accounting()))
                if item.log not in self.reviews:  # once a file: the state may be large
                    from .review import shown_state

                    setattr(rep, _REVIEW_ATTR, sent(shown_state(self.results[item.log].review, self.secrets)))
                    self.reviews.setdefault(item.log, None)
                if item.check.id == "completeness" and self.results[item.log].settles:
                    setattr(rep, _SETTLE_ATTR, sent([list(x) for x in self.results[item.log].settles]))

    def _sent(self, value: Any) -> Any:
        """A verdict's data as its report carries it: on an xdist worker, as JSON text, whose \\udcXX escapes carry
        a file name's undecodable bytes (Python reads them as lone surrogates, which execnet cannot send: red team
        rt60 F4) to the controller as they were (``_received``); in one process, as it is."""
        if not self.is_worker:
            return value
        import json

        return json.dumps(value, ensure_ascii=True)

    @staticmethod
    def _received(report: pytest.TestReport, name: str) -> Any:
        """A verdict's data from ``report`` (``_sent``): None when it carries none."""
        value = getattr(report, name, None)
        if isinstance(value, str):
            import json

            return json.loads(value)
        return value

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        received = self._received
        data = received(report, _ATTR)
        if isinstance(data, dict):
            o = Outcome.from_json(data)
            file = o.subject if self.files is not None else ""
            self.outcomes[(file, o.check_id, o.subject if self.files is None else "")] = o
            acct = received(report, _FILE_ATTR)
            if isinstance(acct, dict):
                self.accounting[str(acct["file"])] = acct
                settles = received(report, _SETTLE_ATTR)
                if isinstance(settles, list):
                    self.settles.extend(tuple(x) for x in settles)
                review = received(report, _REVIEW_ATTR)
                if isinstance(review, dict):
                    self.reviews[str(acct["file"])] = review
        else:
            self._note_unran(report)
            if report.failed and not getattr(report, _OWN_ATTR, False):
                self.failed_other = True

    def _note_unran(self, report: pytest.TestReport) -> None:
        """An audit item's report that carries no verdict: why its item gave none, kept for ``_left_out`` (a skip
        marker, xfail(run=False) or pytest.skip in a hook: skipped at setup; a fixture or hook that raised; a hook
        that ran something else in its place). The skip's own reason is a conftest's text: made visible, shortened."""
        from .result import NO_VERDICT, SETUP_FAILED, SKIPPED_BY, left_out_reason

        if report.nodeid not in self._nodes or report.nodeid in self.unran or report.when not in ("setup", "call"):
            return
        if report.skipped:
            said = getattr(report, "wasxfail", None)
            longrepr = report.longrepr
            text = (f"xfail {said}" if said else str(longrepr[2]) if isinstance(longrepr, (tuple, list))
                    and len(longrepr) == 3 else str(longrepr or ""))
            text = text[len("Skipped: "):] if text.startswith("Skipped: ") else text
            shown = visible(self.redact(" ".join(text.split())))
            self.unran[report.nodeid] = left_out_reason(SKIPPED_BY, shown[:200] + ("..." if len(shown) > 200 else ""))
        elif report.when == "setup" and report.failed:
            self.unran[report.nodeid] = left_out_reason(SETUP_FAILED)
        elif report.when == "call":
            self.unran[report.nodeid] = left_out_reason(NO_VERDICT)

    # -- reporting -------------------------------------------------------------------------------------------
    def review(self) -> Optional[dict[str, Any]]:
        """The access review of the run: the live log's, or the files' merged in order (review.py)."""
        if self._review_doc is None:
            from .review import merged

            order = [""] if self.files is None else list(self.files)
            r = merged(self.settings, [self.reviews.get(f) for f in order])
            self._review_doc = r.report() if r is not None else None
        return self._review_doc

    def _file_order(self, file: str) -> tuple[int, str]:
        """Files in the order the run was given them (as `auditready verify` reports them), then by name."""
        order = self.files or []
        return (order.index(file) if file in order else len(order), file)

    def _in_run_order(self, key: tuple[str, str, str]) -> tuple[tuple[int, str], int, str, str]:
        """An outcome's place: its file's (offline), then its check's place in the run, then its subject."""
        ids = [c.id for c in self.checks]
        file, check, subject = key
        return (self._file_order(file), ids.index(check) if check in ids else len(ids), check, subject)

    def _settled(self, files: list[dict[str, Any]], outcomes: list[Outcome]) -> list[dict[str, Any]]:
        """The files' accounting with the set's word on their completeness tallies, as ``outcomes`` (settled by
        ``_settle``) say them (``engine.files.settle``)."""
        import copy

        files = copy.deepcopy(files)
        tallies = {o.subject: o.tally.to_json() for o in outcomes if o.check_id == "completeness"}
        for acct in files:
            if self.settles and str(acct.get("file")) in tallies and "completeness" in acct.get("checks", {}):
                acct["checks"]["completeness"] = tallies[str(acct["file"])]
        return files

    def _settle(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Offline: ``outcomes`` with the set's word on the completeness tallies of the files read before it."""
        if not self.settles:
            return outcomes
        from .engine.files import settle

        moves: dict[str, list[Any]] = {}
        for x in self.settles:
            moves.setdefault(str(x[0]), []).append(x)
        return [settle([o], moves[o.subject])[0] if o.subject in moves else o for o in outcomes]

    def _left_out(self) -> dict[tuple[str, str, str], str]:
        """Each planned item (file, check, subject) that gave no verdict, and why (``result.left_out_reason``): a
        built-in check or action a hook took out of the run (``dropped``: whatever ran under its key), deselected
        (here, or on an xdist worker), skipped by a marker or hook (with the skip's reason), its setup failed, a hook
        kept its verdict from the run, the session stopped first, or else taken over as it ran by a hook that gave
        no report (it was among the items at the end of collection) or removed from the items by a hook. The
        plugin's own skips are verdicts of items that ran: never here."""
        from .result import DESELECTED, REMOVED, STOPPED, UNREPORTED, left_out_reason

        out = {}
        for key in self.planned:
            if key in self.dropped:
                out[key] = self.dropped[key]
                continue
            if key in self.outcomes:
                continue
            node = self.node_id(key)
            out[key] = self.unran.get(node) or left_out_reason(
                DESELECTED if node in self.deselected else STOPPED if self.cut_short
                else UNREPORTED if node in self.collected else REMOVED)
        return out

    def _not_run(self, outcomes: list[Outcome], left: dict[tuple[str, str, str], str]) -> list[Outcome]:
        """``outcomes`` with each check that some of its items did not judge (``left``: ``_left_out``) shown as
        skipped where it passed, with what was left out: a check holds for the run only where it ran. A check that
        failed anywhere stays failed. Each item left out is an outcome of its own, skipped with its reason, which
        fails the run (report.common.verdict)."""
        import dataclasses

        from .checks.base import PASSED, SKIPPED
        from .result import left_out_kind

        missing: dict[str, list[tuple[str, str]]] = {}
        for (file, check, subject), why in left.items():
            missing.setdefault(check, []).append((file or subject, why))
        failed = {o.check_id for o in outcomes if o.status == FAILED}
        out = []
        for o in outcomes:
            gone = missing.get(o.check_id)
            if gone and o.status == PASSED and o.check_id not in failed:
                what = "file" if self.files is not None else "subject"
                more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
                shown = ", ".join(visible(x) or "(whole log)" for x, _ in gone[:3]) + more
                kinds = ", ".join(dict.fromkeys(left_out_kind(why) for _, why in gone))
                o = dataclasses.replace(o, status=SKIPPED, reason=(
                    f"not run on every {what}: not on {shown} ({kinds}), and a check holds only where it ran"))
            out.append(o)
        out += [Outcome(check, file or subject, SKIPPED, reason=why) for (file, check, subject), why in left.items()]
        return out

    def _judged_only(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The files' accounting without the tallies of checks none of whose items for that file ran: the engine
        read the file for every check, but a deselected check judged nothing in this run, and no report may say it
        did."""
        ran = {(file if self.files is not None else "", check) for file, check, _ in self.outcomes}
        out = []
        for acct in files:
            file = str(acct.get("file", "")) if self.files is not None else ""
            checks = acct.get("checks")
            if isinstance(checks, dict) and any((file, c) not in ran for c in checks):
                acct = {**acct, "checks": {c: t for c, t in checks.items() if (file, c) in ran}}
            out.append(acct)
        return out

    def result(self) -> Any:
        from .checks.base import CheckContext
        from .result import AuditResult

        ran = [self.outcomes[k] for k in sorted(self.outcomes, key=self._in_run_order)]
        if self.files is not None:
            ran = self._settle(ran)
        offline = self.files is not None
        outcomes = sorted(self._not_run(ran, self._left_out()), key=lambda o: self._in_run_order(
            (o.subject if offline else "", o.check_id, "" if offline else o.subject)))
        if self.files is None:
            live = self.live
            if live is None:  # every audit item was left out before the live phase (deselected or removed)
                return AuditResult(settings=self.settings, target=self.settings.target, run_id=self.run_id,
                                   checks=self.reported_checks, outcomes=outcomes, context=CheckContext(
                                       self.settings, None, [], [], secrets=dict(self.plan.secrets.items())
                                       if self.plan is not None else {}),
                                   started=self.started, baseline=self.baseline, review=None,
                                   cut_short=self.cut_short)
            return AuditResult(settings=self.settings, target=self.settings.target, run_id=self.run_id,
                               checks=self.reported_checks, outcomes=outcomes, context=live.context,
                               ledger=live.ledger, facts=live.facts, started=self.started,
                               seconds=live.seconds, files=self._judged_only([self.live_accounting]),
                               baseline=self.baseline,
                               review=self.review(), cut_short=self.cut_short)
        ctx = CheckContext(self.settings, None, [], [], secrets=self.secrets, source="offline")
        return AuditResult(settings=self.settings, target="offline", run_id="", checks=self.reported_checks,
                           outcomes=outcomes, context=ctx, started=self.started, seconds=self.seconds,
                           files=self._judged_only(self._settled([self.accounting[f] for f in sorted(
                               self.accounting, key=self._file_order)], ran)),
                           baseline=self.baseline,
                           review=self.review(), cut_short=self.cut_short)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C, or pytest.exit from a hook or a test (pytest reports both here): the session ends before its
        items; a verdict over checks that did not run then fails, whatever exit code pytest.exit asked for."""
        # (said in every report: a fixed text, never the message a hook or a test gave, which no reporter escapes)
        self.cut_short = "interrupted" if isinstance(excinfo.value, KeyboardInterrupt) else "ended by pytest.exit"

    def _stopped(self, session: pytest.Session) -> str:
        """Why the session stopped before its items did, or "". (Items left out while the session ran to its end,
        a whole file's among them (red team rt53 F6), fail the run as items of their own: ``_left_out``.)"""
        if self.cut_short:
            return self.cut_short
        if session.shouldstop or session.shouldfail:
            return "stopped early (-x, --maxfail or a hook)"
        return ""

    def _say_stand_ins(self, tr: Any) -> None:
        """One line when the throw-away server was booted from the team's vault configuration: what it did not take
        from it and which devices it pointed elsewhere (red team rt76 F5: said in the evidence only)."""
        from .vault.config import PRODUCTION_ADDRESS_MARK, PRODUCTION_PATH_MARK, PRODUCTION_URI_MARK, REPLACED_MARK

        facts = self.live.context.facts if self.live is not None else None
        if facts is None or not self.settings.vault_config:
            return
        replaced: dict[str, None] = {}
        moved = []
        for name, dev in sorted(facts.devices.items()):
            origin = dev.get("origin", {})
            replaced.update(dict.fromkeys(p.strip() for p in str(origin.get(REPLACED_MARK, "")).split(",") if p))
            for mark, what in ((PRODUCTION_PATH_MARK, "writes a file of the run's"),
                               (PRODUCTION_ADDRESS_MARK, "sends to a receiver of the run's"),
                               (PRODUCTION_URI_MARK, "posts to a receiver of the run's")):
                if origin.get(mark):
                    moved.append(f"device {name} {what} (yours: {origin[mark]})")
        if replaced or moved:
            said = "; ".join(([f"not taken from it: {', '.join(replaced)}"] if replaced else []) + moved)
            tr.write_line(visible(self.redact(f"auditready: the throw-away server ran your vault configuration with "
                                              f"stand-ins ({said}); the evidence lists each")))

    def _unjudged(self) -> list[str]:
        """The files named to --auditready-offline none of whose items ran (said apart in the terminal)."""
        ran = {file for file, _check, _subject in self.outcomes}
        return [f for f in dict.fromkeys(file for file, _c, _s in self.planned) if f not in ran]

    def _reports(self, session: pytest.Session) -> bool:
        """Whether the run gives a verdict and writes its reports: when an audit item gave its verdict, and when
        planned items all gave none though the run went on (every one skipped by a conftest, or deselected beside
        tests of the user's that ran: a run that leaves them out fails). Not under --collect-only, not when pytest
        selected no item at all (its own exit 5), nor when the run was refused or ended with its one line."""
        if self.outcomes:
            return True
        return (bool(self.planned) and not self.config.option.collectonly
                and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED))

    @pytest.hookimpl(tryfirst=True)  # before pytest's --junitxml writes its file: the baseline's report is in it
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or not self._reports(session):
            return
        self.reported = True
        from .report.common import gates
        from .report.common import run_verdict as verdict_of

        # acceptances applied on the workers travel on the outcomes; one that matched nothing fails the run
        self.baseline.note_used(self.outcomes.values())
        self.stale = self.baseline.unused_findings()
        self.cut_short = self._stopped(session)
        whole = self._run_verdict()
        if self.files is not None:
            self.seconds = time.monotonic() - self._clock
        result = self.result()
        try:
            self.config.hook.pytest_auditready_report(result=result, config=self.config)
        except AuditReadyError as exc:
            self._exit(exc)
        # fail_on: when every failed item is an audit item of a check below the threshold, the run passes.
        fail_on = self.settings.fail_on
        failed = {o.check_id for o in self.outcomes.values() if o.status == FAILED}
        if (fail_on != "any" and session.exitstatus == pytest.ExitCode.TESTS_FAILED and failed
                and not self.failed_other and not any(gates(fail_on, c) for c in failed)):
            session.exitstatus = pytest.ExitCode.OK
        # A check that failed and gates the run fails it, whatever pytest made of its item: a conftest that marks
        # audit items xfail (a "quarantine" of flaky tests), rewrites their reports or swallows their failure must
        # not turn the gate green while every report says the check failed. fail_on is the only way to let a
        # failed check pass, and its items are the plugin's own xfails (items.CheckItem).
        if session.exitstatus == pytest.ExitCode.OK and any(gates(fail_on, c) for c in failed):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.stale and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.stale:
            self._baseline_failed()
        if whole is not None:
            self._run_failed(whole)
        # what clean-up could not remove from a vault that outlives the run (a canary, a live token, a policy) fails
        # it whatever the checks say: a gate that passed would leave them there unnoticed
        residue = self._residue()
        if residue and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if residue:  # a test report of its own, so that pytest's summary and --junitxml fail too (red team rt95 F4)
            self._own_report("auditready::cleanup", ("auditready", None, "auditready: clean-up"), self.redact(
                "\n".join([f"clean-up could not remove {len(residue)} thing(s) the run made from the vault:"]
                          + [f"  - {visible(r)}" for r in residue])))
        # planned audit items that did not run (deselected, skipped by a marker or hook, removed from the items, or
        # the session stopped first): a test report of their own, so that pytest's summary and --junitxml say what
        # every report and the exit status say (red team rt74 F1)
        left = result.left_out
        if left:
            self._left_out_failed(left)
        # a verdict that failed is never exit 0: a session cut short (pytest.exit(returncode=0) from a conftest, a
        # time budget) before checks ran is interrupted; a run that left out audit items failed
        if session.exitstatus == pytest.ExitCode.OK and verdict_of(result) == "failed":
            session.exitstatus = pytest.ExitCode.INTERRUPTED if result.cut_short else pytest.ExitCode.TESTS_FAILED

    def _left_out_failed(self, left: dict[str, list[str]]) -> None:
        """The audit items left out of the run (``AuditResult.left_out``: check -> why), as a failed test report
        of its own (``NOT_RUN_NAME``), saying the rule and the fix."""
        from .result import LEFT_OUT_RULE

        where = "auditready-offline" if self.files is not None else "auditready"
        nodeid = f"{where}::{NOT_RUN_NAME}"
        lines = [f"{len(left)} check(s) with planned audit items that did not run; {LEFT_OUT_RULE}"]
        lines += [f"  - {check}: {'; '.join(whys)}" for check, whys in left.items()]
        self._own_report(nodeid, (where, None, nodeid), self.redact("\n".join(lines)))

    def _baseline_failed(self) -> None:
        """The baseline's judgment, once every item has run (only then is an acceptance known to match nothing), as
        a failed test report of its own, ``auditready::baseline``: pytest's summary ("1 failed"), its short summary
        and --junitxml then say what the exit code and every report of the run say (red team rt68 F3). Made on the
        controller, which alone holds every item's verdict (pytest-xdist's workers do not)."""
        path = visible(self.baseline.path)
        text = self.redact("\n".join(
            [f"baseline {path}: {len(self.stale)} acceptance(s) matched no finding of this run (the baseline is "
             "stale: remove them, or renew the baseline)"] + [f"  - {visible(f.text())}" for f in self.stale]))
        self._own_report("auditready::baseline", (path, None, "auditready: baseline"), text)

    def _run_verdict(self) -> Optional[Outcome]:
        """Offline, once every file's items ran: the run's own access_policy verdict (``access_policy.run_verdict``:
        rules none of the files held a request to judged nothing; red team rt69, F2), added to the outcomes so that
        every report and the exit status say it, as `auditready verify` does. None for a live run, and when an
        access_policy item of a file did not run (deselected, or the run stopped first): what that file held is
        not known, and the check does not read as passed there (``_not_run``)."""
        from .checks.access_policy import ID, run_verdict

        if self.files is None or any((f, c, s) not in self.outcomes for f, c, s in self.planned if c == ID):
            return None
        whole = run_verdict(list(self.outcomes.values()), self.settings,
                            [str(self.accounting.get(f, {}).get("format", "")) for f in self.files])
        if whole is not None:
            self.outcomes[("", whole.check_id, "")] = whole
        return whole

    def _run_failed(self, whole: Outcome) -> None:
        """The run's own verdict (``_run_verdict``) as a test report of its own (``RUN_NODE``), so that pytest's
        summary and --junitxml say what every report and the exit status say: failed, or xfailed below fail_on
        (as ``items.CheckItem`` shows a check's)."""
        from .report.common import below_text, gates

        lines = [f"{whole.check_id} over the run's {len(self.files or ())} files"] + [
            f"  - {visible(f.text())}" for f in whole.findings]
        below = not gates(self.settings.fail_on, whole.check_id) and not getattr(self.config.option, "runxfail",
                                                                                 False)
        if below:
            lines[0] = f"did not hold ({below_text(whole.check_id, self.settings.fail_on)}): {lines[0]}"
        self._own_report(RUN_NODE, ("auditready-offline", None, RUN_NODE), self.redact("\n".join(lines)), below)

    def _own_report(self, nodeid: str, location: tuple[str, Optional[int], str], text: str,
                    below: bool = False) -> None:
        """A verdict the session gives once every item has run (a stale baseline, the run's own access_policy), as
        a test report of its own through pytest's hook, so that its summary and --junitxml say it: failed, or
        xfailed when ``below`` fail_on. Marked as the session's (``_OWN_ATTR``), no failure of the user's tests."""
        report = pytest.TestReport(nodeid=nodeid, location=location, keywords={"auditready": 1},
                                   outcome="skipped" if below else "failed",
                                   longrepr=(location[0], 0, text) if below else text, when="call", sections=[],
                                   duration=0.0, user_properties=[])
        if below:
            report.wasxfail = text  # pytest's mark of an xfail
        setattr(report, _OWN_ATTR, True)
        self.config.hook.pytest_runtest_logreport(report=report)

    @staticmethod
    def _say_left_out(tr: Any, left: dict[str, list[str]]) -> None:
        """The checks some of whose planned items did not run, and why, with the rule and the fix: one red line."""
        if not left:
            return
        from .result import LEFT_OUT_RULE

        groups: dict[tuple[str, ...], list[str]] = {}  # the same reasons -> the checks they kept from running
        for check, reasons in left.items():
            groups.setdefault(tuple(reasons), []).append(check)

        def why(reasons: tuple[str, ...]) -> str:
            more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            return "; ".join(r[len("not run: "):] for r in reasons[:3]) + more

        said = "; ".join(f"{', '.join(checks)}: {why(reasons)}" for reasons, checks in groups.items())
        tr.write_line(visible(f"auditready: {len(left)} check(s) not run: {said}; {LEFT_OUT_RULE}"), red=True)

    def _residue(self) -> list[str]:
        """What clean-up could not remove from a URL target (``report.common.left_in_vault``)."""
        from .report.common import left_in_vault

        return left_in_vault(self.live.facts if self.live is not None else None, self.settings.embedded)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if self.is_worker:
            return
        if not self.reported:  # said when the exit status would read as an audit that passed
            if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
                terminalreporter.write_line("auditready: no audit item ran (--collect-only, every item deselected, or "
                                            "the run stopped before them): nothing was audited, and no report was "
                                            "written", yellow=True)
            return
        from .defaults import REPORTS_KEY
        from .report.common import accounting_lines, safe_target

        tr = terminalreporter
        result = self.result()
        failed, accepted = result.failed_checks, result.accepted_checks
        # a check some of whose items did not run (deselected, -x, Ctrl-C) is "not run", never merely skipped (red
        # team rt95 F6: "4/13 checks passed, 8 skipped" after -x): it fails the run
        unrun = [c for c in result.skipped_checks if c in result.left_out and c not in accepted]
        skipped = [c for c in result.skipped_checks if c not in accepted and c not in unrun]
        total = len(result.checks)
        held = total - len(failed) - len(skipped) - len(unrun) - len(accepted)
        also = (f", {len(skipped)} skipped ({', '.join(skipped)})" if skipped else "") + (
            f", {len(unrun)} not run ({', '.join(unrun)})" if unrun else "") + (
            f", {len(accepted)} accepted by the baseline ({', '.join(accepted)})" if accepted else "")
        if self.files is None:
            tr.write_sep("-", "auditready")
        if self.files is None and self.live is None:
            tr.write_line(f"run {self.run_id}: no audit item ran, so the vault was not audited")
        elif self.files is None:
            target = safe_target(self.settings.target)
            tr.write_line(
                f"run {self.run_id} against {target}: {len(self.live.ledger.actions)} actions, "
                f"{len(self.live.context.entries)} log entries, {held}/{total} checks passed{also} "
                f"({self.live.seconds:.2f} s live)"
            )
            self._say_stand_ins(tr)
        else:
            tr.write_sep("-", "auditready offline")
            tr.write_line(f"{len(self.accounting)} file(s): {held}/{total} checks hold on every file{also}")
            unjudged = self._unjudged()
            if unjudged:
                more = f" and {len(unjudged) - 3} more" if len(unjudged) > 3 else ""
                tr.write_line(f"auditready: {len(unjudged)} named file(s) judged by no check, all their items "
                              f"deselected, skipped or removed: {', '.join(visible(f) for f in unjudged[:3])}"
                              f"{more}; the run fails: name only the files to audit", red=True)
        self._say_left_out(tr, result.left_out)
        for line in accounting_lines(result.files):
            tr.write_line(line)
        from .checks.base import PASSED
        from .report.common import rows

        for r in rows(result):  # a pass a setting narrowed says so here too (red team rt74 F3); what other passes
            if r.status == PASSED:  # rest on is in the reports
                for note in r.notes:
                    if note.startswith("Narrowed by settings:"):
                        tr.write_line(visible(self.redact(f"{r.id} passed: {note}")))
        from .review import summary

        review_line = summary(self.review())
        if review_line:
            tr.write_line(visible(review_line))
        from .report.common import gates

        below = [c for c in failed if not gates(self.settings.fail_on, c)]  # shown as xfailed items
        if len(below) < len(failed):
            tr.write_line("failed checks: " + ", ".join(c for c in failed if c not in below), red=True)
        if below:
            tr.write_line(f"failed checks below fail_on={self.settings.fail_on} (they did not hold, and do not fail "
                          f"the run; shown as xfailed): " + ", ".join(below), yellow=True)
            for o in result.outcomes:  # pytest shows an xfail's reason only with -rx: the findings are said here
                if o.check_id in below:
                    for f in o.findings:
                        tr.write_line(visible(self.redact(f"  - {o.check_id}: {f.text()}")))
        if self.settings.fail_on != "any" and failed:
            tr.write_line(f"auditready fail_on={self.settings.fail_on}: only failed checks of severity "
                          f"{self.settings.fail_on} or higher fail the run")
        accepted = sum(len(o.accepted) for o in self.outcomes.values())
        if accepted:
            tr.write_line(f"{accepted} finding(s) accepted by {visible(self.baseline.path)} (shown as skipped, "
                          "with the acceptance)")
        for f in getattr(self, "stale", ()):
            tr.write_line(f"baseline: {f.text()}", red=True)
        residue = self.live.facts.residue if self.live is not None else []
        if residue and self.settings.embedded:  # the throw-away server is stopped and deleted with what it holds
            tr.write_line("clean-up could not remove: " + "; ".join(residue) + " from the embedded throw-away "
                          "OpenBao, which is stopped and deleted with everything in it")
        elif residue:
            tr.write_line("clean-up could NOT remove: " + "; ".join(residue) + " (remove them by hand; the run "
                          "fails until nothing is left)", red=True)
        for label, path in self.config.stash.get(REPORTS_KEY, []):
            tr.write_line(f"{label}: {visible(str(path))}")


def _same_action(want: Any, have: Any) -> bool:
    """Whether the plan's action ``have`` is the built-in action ``want`` as planned: every field, and a body built
    by the same code over the same values (compared without calling it: a hook's callable may act when called)."""
    import dataclasses

    fields = [f.name for f in dataclasses.fields(want) if f.name != "body"]
    if type(have) is not type(want) or any(getattr(want, f) != getattr(have, f) for f in fields):
        return False
    a, b = want.body, have.body
    if not (callable(a) or callable(b)):
        return bool(a == b)
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    if code_a is None or code_a is not code_b:
        return False
    try:
        cells = [tuple(c.cell_contents for c in (f.__closure__ or ())) for f in (a, b)]
    except ValueError:  # an empty cell
        return False
    return cells[0] == cells[1] and getattr(a, "__defaults__", None) == getattr(b, "__defaults__", None)


def _name(check_id: str, subject: str) -> str:
    from .items import item_name

    return item_name(check_id, subject)
