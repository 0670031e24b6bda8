"""`pytest --auditready-offline PATH...`: the offline checks over exported logs, one pytest item per file and check.

Each process reads a file once (the first of its items computes every check's verdict for that file; the others
read it). A file's items share one collector, and the default ``-n`` distribution becomes ``loadfile``, so
pytest-xdist spreads files, not checks, across workers. Each item's verdict travels on its report (a JSON
attribute xdist serialises), so the compliance report is built whole on the controller.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any, Optional, Union

import pytest

from .checks.base import FAILED, SKIPPED, Check, Finding, Outcome
from .config import Settings
from .errors import AuditReadyError
from .items import AuditCollector, AuditFindings

OFFLINE_KEY = pytest.StashKey["OfflineSession"]()
_ATTR = "auditready_offline"


def outcome_from_json(d: dict[str, Any]) -> Outcome:
    findings = tuple(Finding(f["check"], f["subject"], f["message"], f["fix"], f["where"], f["request_id"])
                     for f in d["findings"])
    return Outcome(d["check"], d["subject"], d["status"], findings, d["reason"])


class OfflineItem(pytest.Item):
    def __init__(self, *, check: Check, log: str, offline: "OfflineSession", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.log = log
        self.offline = offline
        self.add_marker(pytest.mark.auditready)

    def runtest(self) -> None:
        outcome = self.offline.outcome(self.log, self.check.id)
        self.user_outcome = outcome
        if outcome.status == SKIPPED:
            raise pytest.skip.Exception(outcome.reason, _use_item_location=True)
        if outcome.status == FAILED:
            raise AuditFindings(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Optional[str] = None) -> str:
        if isinstance(excinfo.value, AuditFindings):
            o = excinfo.value.outcome
            lines = [f"{self.check.id} on {self.log}: {self.check.requirement}"]
            lines += [f"  - {f.text()}" for f in o.findings]
            return "\n".join(lines)
        if isinstance(excinfo.value, AuditReadyError):
            return f"auditready: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))  # type: ignore[arg-type]  # pytest's style type

    def reportinfo(self) -> tuple[Union[Path, str], Optional[int], str]:
        return self.log, 0, f"auditready offline: {self.name}"


class OfflineSession:
    def __init__(self, config: pytest.Config, settings: Settings, paths: list[str]) -> None:
        self.config = config
        self.settings = settings
        self.paths = paths
        self.checks: list[Check] = []
        self.results: dict[str, Any] = {}  # path -> FileResult, in this process
        self.outcomes: dict[tuple[str, str], Outcome] = {}  # (path, check id) -> verdict, on the controller
        self.secrets: dict[str, str] = {}
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.audit_only = not config.option.file_or_dir

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")  # set by pytest-xdist on its workers

    def _load(self) -> None:
        from .offline.engine import offline_checks, read_canaries

        checks: list[Check] = []
        for result in self.config.hook.pytest_auditready_checks(config=self.config):
            checks.extend(result or [])
        self.checks = offline_checks(checks)
        self.secrets = read_canaries(self.settings.canaries_file)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self._load()
            for p in self.paths:
                if not os.path.isfile(p):
                    what = "is a folder, not a log file" if os.path.isdir(p) else "does not exist"
                    raise AuditReadyError(f"{p} {what}", "pass the exported log files to --auditready-offline")
                if not os.access(p, os.R_OK):
                    raise AuditReadyError(f"cannot read {p}: permission denied", "give this user read access to it")
        except AuditReadyError as exc:
            pytest.exit(f"auditready: {exc}", returncode=2)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> Optional[bool]:
        return True if self.audit_only else None

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # One collector per file: node ids read "auditready-offline[PATH]::CHECK", so xdist's loadfile
        # distribution (which groups by what comes before "::") keeps a file's items on one worker.
        new: list[pytest.Item] = []
        for path in self.paths:
            name = f"auditready-offline[{path}]"
            collector = AuditCollector.from_parent(session, name=name, nodeid=name)
            mine = [OfflineItem.from_parent(collector, name=check.id, check=check, log=path, offline=self)
                    for check in self.checks]
            session.ihook.pytest_collectreport(report=pytest.CollectReport(collector.nodeid, "passed", None,
                                                                           list(mine)))
            new.extend(mine)
        items[:0] = new

    def outcome(self, path: str, check_id: str) -> Outcome:
        from .offline.engine import verify_file

        res = self.results.get(path)
        if res is None:
            res = self.results[path] = verify_file(path, self.settings, self.checks, self.secrets)
        for o in res.outcomes:
            if o.check_id == check_id:
                return Outcome(o.check_id, path, o.status, o.findings, o.reason)
        raise RuntimeError(f"no verdict for {check_id} on {path}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        outcome = getattr(item, "user_outcome", None)
        if isinstance(item, OfflineItem) and call.when == "call" and outcome is not None:
            setattr(report.get_result(), _ATTR, outcome.to_json())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, _ATTR, None)
        if isinstance(data, dict):
            o = outcome_from_json(data)
            self.outcomes[(o.subject, o.check_id)] = o

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or not self.outcomes:
            return
        from .checks.base import CheckContext
        from .result import AuditResult

        outcomes = [self.outcomes[k] for k in sorted(self.outcomes)]
        ctx = CheckContext(self.settings, None, [], [], secrets=self.secrets, source="offline")
        result = AuditResult(settings=self.settings, target="offline", run_id="", checks=self.checks,
                             outcomes=outcomes, context=ctx, started=self.started)
        self.config.hook.pytest_auditready_report(result=result, config=self.config)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.outcomes:
            return
        from .defaults import REPORTS_KEY

        tr = terminalreporter
        failed = sorted({o.check_id for o in self.outcomes.values() if o.status == FAILED})
        files = sorted({o.subject for o in self.outcomes.values()})
        tr.write_sep("-", "auditready offline")
        tr.write_line(f"{len(files)} file(s): {len(self.checks) - len(failed)}/{len(self.checks)} checks hold on "
                      "every file")
        if failed:
            tr.write_line("failed checks: " + ", ".join(failed), red=True)
        for label, path in self.config.stash.get(REPORTS_KEY, []):
            tr.write_line(f"{label}: {path}")
