"""The pytest items: one per check and subject. Each reads the verdict the session computed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import pytest

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


class CheckItem(pytest.Item):
    def __init__(self, *, check: "Check", subject: str, audit: "AuditReadySession", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.subject = subject
        self.audit = audit
        self.add_marker(pytest.mark.auditready)

    def runtest(self) -> None:
        from .checks.base import FAILED, SKIPPED

        outcome = self.audit.outcome(self.check.id, self.subject)
        if outcome.status == SKIPPED:
            # reported at the item, not at this line
            raise pytest.skip.Exception(outcome.reason, _use_item_location=True)
        if outcome.status == FAILED:
            raise AuditFindings(outcome)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Optional[str] = None
    ) -> Any:
        if isinstance(excinfo.value, AuditFindings):
            o = excinfo.value.outcome
            lines = [f"{o.name}: {self.check.requirement}"]
            lines += [f"  - {f.text()}" for f in o.findings]
            return "\n".join(lines)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Union[Path, str], Optional[int], str]:
        import sys

        module = sys.modules.get(getattr(self.check.run, "__module__", "") or "")
        path = Path(module.__file__) if module is not None and module.__file__ else self.path
        return path, 0, f"auditready: {self.name}"
