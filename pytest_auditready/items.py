"""The one pytest item: a check on one subject (the whole log, an action of the scenario, or an exported file).
It reads the verdict its session computed; it never computes one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import pytest

from .text import visible

if TYPE_CHECKING:
    from .checks.base import Check, Outcome
    from .session import AuditReadySession


class AuditFindings(Exception):
    """Raised by a failing item; its repr is the findings, one a line, never a traceback."""

    def __init__(self, outcome: "Outcome") -> None:
        super().__init__(outcome.name)
        self.outcome = outcome


class AuditCollector(pytest.Collector):
    def collect(self) -> list[Union[pytest.Item, pytest.Collector]]:  # pragma: no cover - built explicitly
        return []


def item_name(check_id: str, subject: str) -> str:
    """The item's name: the check id, with its subject in brackets (a path is shown, never acted on)."""
    return f"{check_id}[{visible(subject)}]" if subject else check_id


class CheckItem(pytest.Item):
    """``check`` on ``subject``: "" (the whole live log), an action name, or (``log`` set) an exported file."""

    def __init__(self, *, check: "Check", subject: str, audit: "AuditReadySession", log: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.subject = subject
        self.log = log
        self.audit = audit
        self.user_outcome: Optional["Outcome"] = None
        self.add_marker(pytest.mark.auditready)

    def runtest(self) -> None:
        from .checks.base import FAILED, SKIPPED, counted, entries_of

        outcome = self.user_outcome = self.audit.outcome(self)
        if outcome.status == SKIPPED:
            # reported at the item, not at this line
            raise pytest.skip.Exception(visible(outcome.reason), _use_item_location=True)
        if outcome.status == FAILED:
            from .report.common import below_text, gates

            fail_on = self.audit.settings.fail_on
            if not gates(fail_on, outcome.check_id) and not getattr(self.config.option, "runxfail", False):
                # did not hold, yet fail_on lets the run pass: an xfail (pytest's JUnit: <skipped type="pytest.xfail">)
                # with every finding, never a failure a CI test reporter would show red on a run that exits 0
                pytest.xfail(self.audit.redact("\n".join(
                    [f"did not hold ({below_text(outcome.check_id, fail_on)}): "
                     f"{counted(len(outcome.findings), entries_of(outcome.findings))}"]
                    + [f"  - {visible(f.text())}" for f in outcome.findings])))
            raise AuditFindings(outcome)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Optional[str] = None
    ) -> Any:
        from .errors import AuditReadyError

        if isinstance(excinfo.value, AuditFindings):
            from .checks.base import counted, entries_of

            o = excinfo.value.outcome
            on = f" on {visible(self.log)}" if self.log else ""
            lines = [f"{item_name(o.check_id, '' if self.log else o.subject)}{on}: {self.check.requirement}"]
            lines += [f"  - {f.text()}" for f in o.findings]
            n = entries_of(o.findings)
            if n != len(o.findings):  # a finding that stands for several entries (a roll-up past a check's cap)
                lines.append(f"  ({counted(len(o.findings), n)})")
            return self.audit.redact("\n".join(lines))
        if isinstance(excinfo.value, AuditReadyError):
            return f"auditready: {visible(str(excinfo.value))}"
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]  # pytest's style type

    def reportinfo(self) -> tuple[Union[Path, str], Optional[int], str]:
        import sys

        if self.log:
            return visible(self.log), 0, f"auditready offline: {self.name}"
        module = sys.modules.get(getattr(self.check.run, "__module__", "") or "")
        path = Path(module.__file__) if module is not None and module.__file__ else self.path
        return path, 0, f"auditready: {self.name}"
