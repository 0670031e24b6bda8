"""SARIF 2.1.0 for GitHub code scanning: one result per finding that names a file:line (no_secret_leak's leaks
above all), one rule per check with its severity and controls. Messages are redacted like every report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..checks.base import FAILED
from ..safeio import write_atomic
from ..text import json_visible
from .common import clean, relative_path, rows, split_where, tool_version

if TYPE_CHECKING:
    from ..result import AuditResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/pytest-auditready/"
# severity -> (SARIF level, GitHub's security-severity score)
_LEVELS = {"critical": ("error", "9.5"), "high": ("error", "8.0"), "medium": ("warning", "5.5"),
           "low": ("note", "3.0")}


def _uri(path: str) -> str:
    """A file path as a SARIF uri-reference: relative stays relative (percent-encoded), absolute is file://."""
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(p.as_posix())


def build(result: "AuditResult") -> dict[str, Any]:
    check_rows = rows(result)
    rules = []
    results = []
    for index, r in enumerate(check_rows):
        level, score = _LEVELS.get(r.severity, ("error", "8.0"))
        rules.append({
            "id": r.id,
            "name": "".join(part.capitalize() for part in r.id.split("_")),
            "shortDescription": {"text": clean(result, r.title)},
            "fullDescription": {"text": clean(result, r.requirement)},
            "help": {"text": clean(result, f"Must hold: {r.requirement}. Controls: {r.controls}.")},
            "defaultConfiguration": {"level": level},
            "properties": {"tags": ["security", "audit-log"], "security-severity": score,
                           "severity": r.severity, "controls": r.controls},
        })
        accepted = [(o.name, f, text) for o in result.outcomes if o.check_id == r.id for f, _, text in o.accepted]
        if r.status != FAILED and not accepted:
            continue
        found = [(item, f, "") for item, f in r.findings] + accepted
        for item, f, acceptance in found:
            path, line = split_where(f.where) if f.where else ("", None)
            if not path or line is None:
                continue
            res: dict[str, Any] = {
                "ruleId": r.id,
                "ruleIndex": index,
                "level": level,
                "message": {"text": clean(result, f.text())},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(clean(result, relative_path(path)))},
                        "region": {"startLine": max(line, 1)},
                    }
                }],
                "properties": {"item": clean(result, item)},
            }
            if f.request_id:
                res["properties"]["requestId"] = clean(result, f.request_id)
            if acceptance:  # accepted in the baseline: shown as suppressed, with who accepted it and why
                res["suppressions"] = [{"kind": "external", "status": "accepted",
                                        "justification": clean(result, acceptance)}]
            results.append(res)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "pytest-auditready", "version": tool_version(), "semanticVersion": tool_version(),
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "invocations": [{"executionSuccessful": True,
                         "properties": {"runId": clean(result, result.run_id), "failOn": result.settings.fail_on}}],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if os.environ.get("GITHUB_WORKSPACE"):
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path(os.environ["GITHUB_WORKSPACE"]).as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write(result: "AuditResult", path: str) -> Path:
    """Write the SARIF file at ``path`` atomically, never through a link; AuditReadyError when it cannot be."""
    text = json_visible(result.redact(json.dumps(build(result), indent=2, ensure_ascii=False)))
    return write_atomic(path, text + "\n", "SARIF report")
