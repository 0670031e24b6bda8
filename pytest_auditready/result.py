"""The result of one audit (live or offline), as handed to every reporter (pytest_auditready_report)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from .checks.base import FAILED, PASSED, SKIPPED, Check, CheckContext, Outcome

if TYPE_CHECKING:
    from .auditlog.model import AccessLedger
    from .config import Settings
    from .vault.scenario import VaultFacts


# why a check none of whose items ran is skipped: it proves nothing, so no report may show it as passed
NOT_RUN = ("not run: none of its items ran (no subject to judge; deselected by -k, -m, --deselect or --lf; skipped "
           "by a marker; or the run stopped first)")


def worst_status(outcomes: Sequence[Outcome]) -> str:
    """A check's verdict over its items: failed if any failed, skipped if all were skipped or none ran (a check
    that judged nothing never reads as passed), else passed."""
    if any(o.status == FAILED for o in outcomes):
        return FAILED
    if all(o.status == SKIPPED for o in outcomes):
        return SKIPPED
    return PASSED


@dataclass
class AuditResult:
    settings: "Settings"
    target: str  # "embedded", a URL, or "offline"
    run_id: str
    checks: Sequence[Check]
    outcomes: Sequence[Outcome]
    context: Optional[CheckContext] = None  # holds secret values in memory: reporters must go through redact()
    ledger: Optional["AccessLedger"] = None
    facts: Optional["VaultFacts"] = None
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    seconds: float = 0.0
    # per log file: format, lines read, entries, unreadable lines, and per check the entries fed / judged /
    # excused by rule (FileResult.accounting)
    files: Sequence[dict[str, Any]] = ()
    baseline: Optional[Any] = None  # accept.Baseline: the acceptances applied, used or not
    review: Optional[dict[str, Any]] = None  # the access review (review.Review.report), Vault/OpenBao logs only
    # why the session ended before every planned audit item ran (Ctrl-C, pytest.exit, -x / --maxfail), or "": a
    # verdict over checks that did not run then fails (report.common.verdict)
    cut_short: str = ""

    def __repr__(self) -> str:
        # never the review, the context or the ledger: they hold what the log and the run held (canaries, names),
        # and a hook's arguments are printed as written by pytest --debug
        return (f"AuditResult(target={self.target!r}, run_id={self.run_id!r}, checks={len(self.checks)}, "
                f"outcomes={len(self.outcomes)}, failed={self.failed_checks!r}, files={len(self.files)})")

    @property
    def failed_checks(self) -> list[str]:
        return sorted({o.check_id for o in self.outcomes if o.status == FAILED})

    @property
    def skipped_checks(self) -> list[str]:
        """Checks that judged nothing anywhere because every outcome of theirs was a skip (with its reason), or
        because none of their items ran."""
        failed = set(self.failed_checks)
        ids = {c.id for c in self.checks} | {o.check_id for o in self.outcomes}
        return sorted(c for c in ids if c not in failed
                      and all(o.status == SKIPPED for o in self.outcomes if o.check_id == c))

    @property
    def accepted_checks(self) -> list[str]:
        """Of ``skipped_checks``, those skipped because the baseline accepted their findings: they did not hold, and
        the run does not fail on them (reported ``accepted``, never as skipped or holding)."""
        return [c for c in self.skipped_checks if any(o.accepted for o in self.outcomes if o.check_id == c)]

    def redact(self, text: str, markup: bool = False, raw: bool = False) -> str:
        """Second line of defence for every report: replace any known secret value by <name>, and any credential
        of a documented format a log value carried (a request path, a source address a client wrote) by its kind
        and fingerprint, as no_secret_leak names it (``markup``: written escaped, in XML or HTML). A lone surrogate
        (a file name's byte that is no UTF-8) is shown as an escape, unless ``raw`` (a name to be encoded as its
        bytes, a SARIF uri)."""
        from .report.common import redacted

        text = redacted(text, self.context.secrets if self.context is not None else {}, markup)
        return text if raw else text.encode("utf-8", "backslashreplace").decode("utf-8")
