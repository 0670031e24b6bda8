"""Reports: one writer for every front end (``write_all``), so that `pytest --auditready`, `pytest
--auditready-offline` and `auditready verify` write the same compliance JUnit, evidence bundle, SARIF, JSON and
GitHub outputs from the same AuditResult. Every writer raises AuditReadyError (one line), never OSError."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ..result import AuditResult


STDOUT = "-"  # an output path that means standard output (as `auditready access --json -`)


def clear_previous(settings: Any, json_path: Optional[str] = None) -> None:
    """Remove what an earlier run wrote at this run's report paths (each report file, the evidence bundle's own
    files), before anything is read: a run that ends without its reports (exit 2: input it cannot read) must leave
    no earlier run's "passed" to stand in for it, where CI uploads whatever is there (red team rt53 F2). Only
    regular files are removed; one that cannot be is refused now, as writing it later would be."""
    import os

    from ..errors import AuditReadyError
    from .evidence import FILES

    paths = [(p, what) for p, what in ((settings.report, "compliance JUnit report"), (settings.sarif, "SARIF report"),
                                       (json_path, "JSON report")) if p and p != STDOUT]
    if settings.evidence:
        paths += [(os.path.join(settings.evidence, n), "evidence bundle") for n in (*FILES, "SHA256SUMS")]
    for path, what in paths:
        if os.path.isfile(path) and not os.path.islink(path):
            try:
                os.unlink(path)
            except OSError as exc:
                raise AuditReadyError(f"cannot replace the earlier {what} {path}: {exc.strerror or exc}",
                                      "give this user write access to its folder, or choose another path") from None


def _stdout(text: str) -> str:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return "standard output"


def write_all(result: "AuditResult", json_path: Optional[str] = None) -> list[tuple[str, str]]:
    """Write every report the settings ask for; (label, path) of each written. A report whose path is "-" goes
    to standard output (the caller sends its own text elsewhere, and lets only one report ask for it)."""
    from . import github

    settings = result.settings
    written: list[tuple[str, str]] = []
    if settings.report:
        from . import junit
        from .common import leftovers, stale

        xml = result.redact(junit.build_xml(target=result.target, checks=result.checks, outcomes=result.outcomes,
                                            run_id=result.run_id, started=result.started, files=result.files,
                                            stale=stale(result), fail_on=result.settings.fail_on,
                                            leftovers=leftovers(result)), markup=True)
        where = _stdout(xml) if settings.report == STDOUT else str(junit.write(settings.report, xml))
        written.append(("compliance report", where))
    if settings.evidence:
        from .evidence import write_bundle

        written.append(("evidence bundle", str(write_bundle(result, settings.evidence))))
    if settings.sarif:
        from . import sarif

        where = _stdout(sarif.text(result)) if settings.sarif == STDOUT else str(sarif.write(result, settings.sarif))
        written.append(("SARIF", where))
    if json_path:
        written.append(("JSON", _stdout(json_text(result)) if json_path == STDOUT else str(write_json(result,
                                                                                                      json_path))))
    if github.in_github_actions():
        path = github.append_summary(result)
        if path is not None:
            written.append(("GitHub step summary", str(path)))
    return written


def as_json(result: "AuditResult") -> dict[str, Any]:
    """Verdicts, findings and the accounting (what was read, judged, excused), as data for tools."""
    from .common import leftovers, rows, safe_target, stale, verdict

    check_rows = rows(result)
    stale_findings = stale(result)
    left = leftovers(result)
    return {
        "target": safe_target(result.target),
        "run_id": result.run_id,
        "started": result.started.isoformat(),
        "seconds": round(result.seconds, 3),
        "fail_on": result.settings.fail_on,
        "verdict": verdict(check_rows, stale_findings, left, result.cut_short),
        # what clean-up could not remove from the vault: it fails the run, as the exit code says
        "cleanup": {"could_not_remove": left},
        "checks": [{"id": r.id, "status": r.status, "severity": r.severity, "fails_run": r.gating,
                    "reason": r.reason, "findings": len(r.findings), "accepted": len(r.accepted)}
                   for r in check_rows],
        "outcomes": [o.to_json() for o in result.outcomes],
        "files": list(result.files),
        # a baseline's acceptances that matched no finding: each fails the run, as the exit code says
        "baseline": {"path": result.baseline.path if result.baseline is not None else "",
                     "stale": [f.to_json() for f in stale_findings]},
    }


def json_text(result: "AuditResult") -> str:
    from ..text import json_ready

    return result.redact(json.dumps(json_ready(as_json(result)), indent=2, ensure_ascii=True) + "\n")


def write_json(result: "AuditResult", path: str) -> Any:
    from ..safeio import write_atomic

    return write_atomic(path, json_text(result), "JSON report")
