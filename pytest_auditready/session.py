"""Run state of one `pytest --auditready` session, as a plugin object kept under a StashKey.

Collection builds the plan (no network) and one item per check and subject. The live phase runs once, before
the first item, inside pytest_runtestloop; items then read their verdicts. An environment problem ends the
session with one line and exit code 2; the scenario's clean-up has run by then.
"""

from __future__ import annotations

import contextlib
import datetime
import signal
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from .checks.base import FAILED, Check, Outcome
from .config import Settings
from .errors import AuditReadyError
from .items import AuditCollector, CheckItem

SESSION_KEY = pytest.StashKey["AuditReadySession"]()


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


class AuditReadySession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        from .vault.scenario import new_run_id

        self.config = config
        self.settings = settings
        self.run_id = new_run_id()
        self.plan: Any = None
        self.checks: list[Check] = []
        self.outcomes: dict[tuple[str, str], Outcome] = {}
        self.live: Any = None
        self.audit_only = not config.option.file_or_dir
        self.started = datetime.datetime.now(datetime.timezone.utc)

    # -- collection ------------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> Optional[bool]:
        # `pytest --auditready` with no paths runs the audit only, without collecting the project's tests.
        return True if self.audit_only else None

    def _build_plan(self) -> None:
        from .vault.scenario import new_plan

        s = self.settings
        self.plan = new_plan(
            run_id=self.run_id,
            kv_mount=s.kv_mount,
            prefix=s.prefix,
            canaries=s.canaries,
            unprivileged_policies=s.unprivileged_policies,
            token_ttl=s.token_ttl,
        )
        hook = self.config.hook
        try:
            hook.pytest_auditready_scenario(plan=self.plan, config=self.config)
        except ValueError as exc:
            raise pytest.UsageError(f"auditready: {exc}") from None
        checks: list[Check] = []
        for result in hook.pytest_auditready_checks(config=self.config):
            checks.extend(result or [])
        seen: set[str] = set()
        for c in checks:
            if not isinstance(c, Check):
                raise pytest.UsageError(f"auditready: pytest_auditready_checks returned {c!r}, not a Check")
            if c.id in seen:
                raise pytest.UsageError(f"auditready: two checks share the id {c.id!r}; ids must be unique")
            seen.add(c.id)
        self.checks = checks

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        from .live import planned_actions

        self._build_plan()
        planned = planned_actions(self.plan)
        collector = AuditCollector.from_parent(session, name="auditready", nodeid="auditready")
        new: list[pytest.Item] = []
        for check in self.checks:
            for subject in check.subjects(planned):
                name = f"{check.id}[{subject}]" if subject else check.id
                new.append(CheckItem.from_parent(collector, name=name, check=check, subject=subject, audit=self))
        items[:0] = new
        # Tell the terminal (and anything else counting) that these items were collected.
        report = pytest.CollectReport(collector.nodeid, "passed", None, list(new))
        session.ihook.pytest_collectreport(report=report)

    # -- the live phase --------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self.config.option.collectonly or not any(isinstance(i, CheckItem) for i in session.items):
            return
        from .live import evaluate_all, planned_actions, run_live

        hook = self.config.hook
        target = hook.pytest_auditready_make_target(settings=self.settings, config=self.config)

        def make_source(endpoint: Any) -> Any:
            return hook.pytest_auditready_make_log_source(settings=self.settings, endpoint=endpoint,
                                                          config=self.config)

        try:
            with _sigterm_as_interrupt():
                self.live = run_live(self.settings, self.plan, target, make_source)
        except AuditReadyError as exc:
            pytest.exit(f"auditready: {exc}", returncode=exc.exit_code)
        except KeyboardInterrupt:
            pytest.exit("auditready: interrupted; the run's canaries, tokens and policies were removed", returncode=2)
        outcomes = evaluate_all(self.checks, self.live.context, planned_actions(self.plan))
        self.outcomes = {(o.check_id, o.subject): o for o in outcomes}

    def outcome(self, check_id: str, subject: str) -> Outcome:
        try:
            return self.outcomes[(check_id, subject)]
        except KeyError:
            raise RuntimeError(f"no verdict for {check_id}[{subject}]: the live phase did not run") from None

    # -- reporting -------------------------------------------------------------------------------------------
    def result(self) -> Any:
        from .result import AuditResult

        assert self.live is not None
        return AuditResult(
            settings=self.settings,
            target=self.settings.target,
            run_id=self.run_id,
            checks=self.checks,
            outcomes=list(self.outcomes.values()),
            context=self.live.context,
            ledger=self.live.ledger,
            facts=self.live.facts,
            started=self.started,
            seconds=self.live.seconds,
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.outcomes or self.live is None:
            return
        self.config.hook.pytest_auditready_report(result=self.result(), config=self.config)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.live is None:
            return
        from .defaults import REPORTS_KEY

        tr = terminalreporter
        failed = sorted({o.check_id for o in self.outcomes.values() if o.status == FAILED})
        total = len(self.checks)
        tr.write_sep("-", "auditready")
        tr.write_line(
            f"run {self.run_id} against {self.settings.target}: {len(self.live.ledger.actions)} actions, "
            f"{len(self.live.context.entries)} log entries, {total - len(failed)}/{total} checks passed "
            f"({self.live.seconds:.2f} s live)"
        )
        if failed:
            tr.write_line("failed checks: " + ", ".join(failed), red=True)
        residue = self.live.facts.residue
        if residue:
            tr.write_line("clean-up could NOT remove: " + "; ".join(residue) + " (remove them by hand)", red=True)
        for label, path in self.config.stash.get(REPORTS_KEY, []):
            tr.write_line(f"{label}: {path}")
