"""Reports: one writer for every front end (``write_all``), so that `pytest --auditready`, `pytest
--auditready-offline` and `auditready verify` write the same compliance JUnit, evidence bundle, SARIF, JSON and
GitHub outputs from the same AuditResult. Every writer raises AuditReadyError (one line), never OSError."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ..result import AuditResult


def write_all(result: "AuditResult", json_path: Optional[str] = None) -> list[tuple[str, str]]:
    """Write every report the settings ask for; (label, path) of each written."""
    from . import github

    settings = result.settings
    written: list[tuple[str, str]] = []
    if settings.report:
        from . import junit

        xml = junit.build_xml(target=result.target, checks=result.checks, outcomes=result.outcomes,
                              run_id=result.run_id, started=result.started, files=result.files)
        written.append(("compliance report", str(junit.write(settings.report, result.redact(xml)))))
    if settings.evidence:
        from .evidence import write_bundle

        written.append(("evidence bundle", str(write_bundle(result, settings.evidence))))
    if settings.sarif:
        from . import sarif

        written.append(("SARIF", str(sarif.write(result, settings.sarif))))
    if json_path:
        written.append(("JSON", str(write_json(result, json_path))))
    if github.in_github_actions():
        path = github.append_summary(result)
        if path is not None:
            written.append(("GitHub step summary", str(path)))
    return written


def as_json(result: "AuditResult") -> dict[str, Any]:
    """Verdicts, findings and the accounting (what was read, judged, excused), as data for tools."""
    from .common import rows, safe_target, verdict

    check_rows = rows(result)
    return {
        "target": safe_target(result.target),
        "run_id": result.run_id,
        "started": result.started.isoformat(),
        "seconds": round(result.seconds, 3),
        "fail_on": result.settings.fail_on,
        "verdict": verdict(check_rows),
        "checks": [{"id": r.id, "status": r.status, "severity": r.severity, "fails_run": r.gating,
                    "reason": r.reason} for r in check_rows],
        "outcomes": [o.to_json() for o in result.outcomes],
        "files": list(result.files),
    }


def write_json(result: "AuditResult", path: str) -> Any:
    from ..safeio import write_atomic

    text = json.dumps(as_json(result), indent=2, ensure_ascii=True) + "\n"
    return write_atomic(path, result.redact(text), "JSON report")
