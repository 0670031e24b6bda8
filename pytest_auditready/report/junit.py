"""The compliance JUnit report: one testsuite per target, one testcase per check id, suite-level properties that
map each check to SOC 2, ISO/IEC 27001:2022, PCI DSS v4.0 and NIST SP 800-53 controls. Written with junit-xml.

Every text that goes in comes from Findings, which never carry secret values; the caller redacts any known
secret anyway (AuditResult.redact), as a second line of defence.
"""

from __future__ import annotations

import datetime
import socket
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from .. import compliance
from ..checks.base import FAILED, SKIPPED, Check, Outcome
from ..result import worst_status
from ..safeio import write_atomic
from .common import tool_version


def build_xml(
    *,
    target: str,
    checks: Sequence[Check],
    outcomes: Iterable[Outcome],
    run_id: str = "",
    started: Optional[datetime.datetime] = None,
    files: Sequence[Mapping[str, Any]] = (),
) -> str:
    from junit_xml import TestCase, TestSuite, to_xml_report_string  # lazy: only when a report is asked for

    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    cases = []
    status_of: dict[str, str] = {}
    for check in checks:
        outs = by_check.get(check.id, [])
        status = worst_status(outs)
        status_of[check.id] = status
        subjects = ", ".join(o.subject or "(whole log)" for o in outs)
        tc = TestCase(
            check.id,
            classname=f"auditready.{'embedded' if target == 'embedded' else 'url'}",
            elapsed_sec=0.0,
            stdout=f"{check.title}. Must hold: {check.requirement}. Controls: {compliance.summary(check.id)}. "
            f"Items: {subjects or 'none'}.",
        )
        if status == FAILED:
            findings = [(o, f) for o in outs if o.status == FAILED for f in o.findings]
            first = findings[0][1]
            lines = [f"{o.name}: {f.text()}" for o, f in findings]
            tc.add_failure_info(
                message=f"{len(findings)} finding(s); first: {first.text()}", output="\n".join(lines),
                failure_type="AuditFinding",
            )
        elif status == SKIPPED:
            tc.add_skipped_info(message="; ".join(sorted({o.reason for o in outs if o.reason})) or "skipped")
        cases.append(tc)
    props: dict[str, str] = {
        "auditready.version": tool_version(),
        "auditready.target": target,
        "auditready.run_id": run_id,
    }
    for check in checks:
        props[f"check.{check.id}"] = compliance.summary(check.id)
    # what was read, judged and excused, per file (fail closed: a verdict says what it rests on)
    for i, a in enumerate(files, 1):
        key = f"auditready.file.{i}"
        props[key] = str(a["file"])
        props[f"{key}.format"] = str(a["format"])
        props[f"{key}.lines"] = str(a["lines"])
        props[f"{key}.entries"] = str(a["entries"])
        props[f"{key}.unreadable_lines"] = str(a["unreadable_lines"])
        for cid, t in a["checks"].items():
            if t.get("judged") is not None:
                props[f"{key}.{cid}.judged"] = str(t["judged"])
            if t.get("excused"):
                props[f"{key}.{cid}.excused"] = "; ".join(f"{x['entries']} by: {x['rule']}" for x in t["excused"])
    for fw, body in compliance.frameworks().items():
        for req, spec in body["requirements"].items():
            ids = [c for c in spec["checks"] if c in status_of]
            if ids:
                props[f"control.{fw} {req}"] = ", ".join(f"{c}={status_of[c]}" for c in ids)
    when = started or datetime.datetime.now(datetime.timezone.utc)
    suite = TestSuite(
        f"auditready {target}",
        cases,
        hostname=socket.gethostname(),
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%S"),
        properties=props,
    )
    xml = to_xml_report_string([suite], prettyprint=True, encoding="utf-8")
    return xml.decode("utf-8") if isinstance(xml, bytes) else xml


def write(path: str, xml: str) -> Path:
    """Write the report at ``path`` atomically, never through a link; AuditReadyError when it cannot be."""
    return write_atomic(path, xml, "compliance JUnit report")
