"""The result of one audit (live or offline), as handed to every reporter (pytest_auditready_report)."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from .checks.base import FAILED, PASSED, SKIPPED, Check, CheckContext, Outcome

if TYPE_CHECKING:
    from .auditlog.model import AccessLedger
    from .config import Settings
    from .vault.scenario import VaultFacts


# why a check that had no item at all is skipped (no subject to judge in this run): it proves nothing, so no report
# may show it as passed. An item planned and then kept from running says why on an outcome of its own (``left_out``).
NOT_RUN = "not run: none of its items ran (it had no subject to judge)"

# How the reason of a planned audit item that did not run begins, then its kind (``LEFT_OUT_KINDS``) and, for a skip,
# the reason the marker or hook gave: the session gives each such item an outcome of its own (session._left_out), and
# a run with one never passes (report.common.verdict), whatever kept it out; the plugin's own skips (a check turned off
# by a setting, one that does not apply to the target) are verdicts of the items that ran, never left out.
LEFT_OUT = "not run: "
DESELECTED = "deselected"
SKIPPED_BY = "skipped by a marker or hook"
REMOVED = "removed from the run by a hook"
UNREPORTED = "run by a hook without a report"
STOPPED = "the run stopped first"
SETUP_FAILED = "its setup failed"
NO_VERDICT = "a hook kept it from giving its verdict"
# a built-in action of the scenario, or a built-in check, that a pytest_auditready_scenario or
# pytest_auditready_checks hook took out (or renamed, or changed, or put another object in its place: red team rt75)
SCENARIO_REMOVED = "removed from the scenario by a hook"
CHECK_REMOVED = "removed from the checks by a hook"
LEFT_OUT_KINDS = (DESELECTED, SKIPPED_BY, REMOVED, UNREPORTED, STOPPED, SETUP_FAILED, NO_VERDICT, SCENARIO_REMOVED,
                  CHECK_REMOVED)
_KIND_DETAIL = {
    DESELECTED: " (-k, -m, --deselect or --lf: on the command line, in addopts or PYTEST_ADDOPTS; or by a hook)",
    REMOVED: " (a pytest_collection_modifyitems hook took it out of the items)",
    UNREPORTED: " (it was among the items when collection ended; a pytest_runtest_protocol or pytest_runtestloop hook "
                "ran or dropped it and reported nothing)",
    SETUP_FAILED: " (a fixture or hook raised)",
}
# what every report says beside the checks left out, with the fix (SPEC: a check that judged nothing does not pass)
LEFT_OUT_RULE = ("a run that leaves out audit items never passes: run the whole audit, and narrow what the checks ask "
                 "by settings (every report shows them), never by pytest's selection, a marker or a conftest")


def left_out_reason(kind: str, detail: str = "") -> str:
    """The reason of an item left out of the run: ``not run: <kind>``, what the kind covers, and ``detail`` (a
    skip's own reason)."""
    return f"{LEFT_OUT}{kind}{_KIND_DETAIL.get(kind, '')}" + (f": {detail}" if detail else "")


def left_out_kind(reason: str) -> str:
    """The kind of a reason ``left_out_reason`` made, or "" for any other reason."""
    if reason.startswith(LEFT_OUT):
        rest = reason[len(LEFT_OUT):]
        for kind in LEFT_OUT_KINDS:
            if rest.startswith(kind):
                return kind
    return ""


def worst_status(outcomes: Sequence[Outcome]) -> str:
    """A check's verdict over its items: failed if any failed, skipped if all were skipped or none ran (a check
    that judged nothing never reads as passed), else passed."""
    if any(o.status == FAILED for o in outcomes):
        return FAILED
    if all(o.status == SKIPPED for o in outcomes):
        return SKIPPED
    return PASSED


def unit(a: Mapping[str, Any]) -> str:
    """What a file's ``lines`` (in ``AuditResult.files``) count: a CloudTrail file's records (a delivery
    ``{"Records": [...]}`` is one line, and findings name a record by its place in it, file:N; records one a line are
    one each), else lines."""
    return "records" if a.get("format") == "cloudtrail" else "lines"


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

    @functools.cached_property
    def record_files(self) -> frozenset[str]:
        """The run's files whose unit is records (``unit``): a finding's file:N there names its Nth record, no
        line. (Asked for every finding of a report: made once; ``files`` is set when the result is made.)"""
        return frozenset(str(a.get("file")) for a in self.files if unit(a) == "records")

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
    def left_out(self) -> dict[str, list[str]]:
        """Check id -> the reasons (``left_out_reason``) of its planned items that did not run, each said once, in
        the checks' order: each fails the run."""
        out: dict[str, list[str]] = {}
        for o in self.outcomes:
            if o.status == SKIPPED and left_out_kind(o.reason) and o.reason not in out.get(o.check_id, ()):
                out.setdefault(o.check_id, []).append(o.reason)
        ids = [c.id for c in self.checks]
        return dict(sorted(out.items(), key=lambda kv: ids.index(kv[0]) if kv[0] in ids else len(ids)))

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
