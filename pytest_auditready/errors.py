"""The one error type the core raises for things a user can fix: a cause and a remedy, shown on one line."""

from __future__ import annotations

# Exit codes shared by `pytest --auditready` and `auditready verify` (README "Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_AUDIT = 2  # unreachable or sealed vault, missing log, interrupted, unreadable input
EXIT_USAGE = 4  # pytest's own code for usage errors; `auditready verify` uses 2 as SPEC.md says


class AuditReadyError(Exception):
    """A problem with the environment or input, never a bug: it carries the cause and the fix."""

    exit_code = EXIT_CANNOT_AUDIT

    def __init__(self, cause: str, fix: str = "") -> None:
        super().__init__(cause)
        self.cause = " ".join(cause.split())
        self.fix = " ".join(fix.split())

    def __str__(self) -> str:
        return f"{self.cause}; fix: {self.fix}" if self.fix else self.cause


class ConfigError(AuditReadyError):
    """A bad option or [tool.auditready] key."""

    exit_code = EXIT_USAGE
