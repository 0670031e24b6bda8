"""The compliance JUnit report: one testsuite per target, one testcase per check id (what a pass rests on in its
output; a failed testcase named ``baseline`` when the baseline is stale, as that fails the run), suite-level
properties that map each check to SOC 2, ISO/IEC 27001:2022, PCI DSS v4.0 and NIST SP 800-53 controls and say
what each file gave the checks. Written with junit-xml.

Every text that goes in comes from Findings, which never carry secret values; the caller redacts any known
secret anyway (AuditResult.redact), as a second line of defence.
"""

from __future__ import annotations

import datetime
import socket
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from .. import compliance
from ..checks.base import FAILED, PASSED, SKIPPED, Check, Finding, Outcome
from ..result import worst_status
from ..safeio import write_atomic
from ..text import visible
from .common import gates, tool_version


def build_xml(
    *,
    target: str,
    checks: Sequence[Check],
    outcomes: Iterable[Outcome],
    run_id: str = "",
    started: Optional[datetime.datetime] = None,
    files: Sequence[Mapping[str, Any]] = (),
    stale: Sequence[Finding] = (),
    fail_on: str = "any",
) -> str:
    from junit_xml import TestCase, TestSuite, to_xml_report_string  # lazy: only when a report is asked for

    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    cases = []
    status_of: dict[str, str] = {}
    classname = f"auditready.{target if target in ('embedded', 'offline') else 'url'}"
    for check in checks:
        outs = by_check.get(check.id, [])
        status = worst_status(outs)
        status_of[check.id] = status
        subjects = ", ".join(o.subject or "(whole log)" for o in outs)
        tc = TestCase(
            check.id,
            classname=classname,
            elapsed_sec=0.0,
            stdout=f"{check.title}. Must hold: {check.requirement}. Controls: {compliance.summary(check.id)}. "
            f"Items: {subjects or 'none'}." + "".join(f"\n{visible(o.name)}: {visible(o.reason)}" for o in outs
                                                       if o.status == PASSED and o.reason)
            + "".join(f"\naccepted by the baseline: {o.name}: {f.text()} ({visible(text)})" for o in outs
                      for f, _, text in o.accepted),
        )
        if status == FAILED:
            findings = [(o, f) for o in outs if o.status == FAILED for f in o.findings]
            first = findings[0][1]
            lines = [f"{o.name}: {f.text()}" for o, f in findings]
            below = "" if gates(fail_on, check.id) else \
                f" (severity {compliance.severity(check.id)}, below fail_on={fail_on}: it does not fail the run)"
            tc.add_failure_info(
                message=f"{len(findings)} finding(s){below}; first: {first.text()}", output="\n".join(lines),
                failure_type="AuditFinding",
            )
        elif status == SKIPPED:
            tc.add_skipped_info(message="; ".join(sorted({o.reason for o in outs if o.reason})) or "skipped")
        cases.append(tc)
    if stale:  # a stale baseline fails the run: a CI system reading this report must see it fail too
        tc = TestCase("baseline", classname=classname, elapsed_sec=0.0,
                      stdout="Every acceptance of the baseline matches a finding of the run.")
        tc.add_failure_info(message=f"{len(stale)} stale acceptance(s); first: {stale[0].text()}",
                            output="\n".join(f.text() for f in stale), failure_type="StaleBaseline")
        cases.append(tc)
    props: dict[str, str] = {
        "auditready.version": tool_version(),
        "auditready.target": target,
        "auditready.run_id": run_id,
        "auditready.fail_on": fail_on,
        # the run's verdict, as its exit code gives it: a failed check at or above fail_on, or a stale baseline
        "auditready.verdict": FAILED if stale or any(
            status_of[c] == FAILED and gates(fail_on, c) for c in status_of) else PASSED,
    }
    for check in checks:
        props[f"check.{check.id}"] = compliance.summary(check.id)
    # what was read, judged and excused, per file (fail closed: a verdict says what it rests on)
    for i, a in enumerate(files, 1):
        key = f"auditready.file.{i}"
        props[key] = visible(str(a["file"]))  # a path's control characters shown, never stripped or live
        props[f"{key}.format"] = str(a["format"])
        props[f"{key}.lines"] = str(a["lines"])
        props[f"{key}.entries"] = str(a["entries"])
        props[f"{key}.unreadable_lines"] = str(a["unreadable_lines"])
        for cid, t in a["checks"].items():
            if t.get("judged") is not None:
                props[f"{key}.{cid}.judged"] = str(t["judged"])
            if t.get("excused"):
                props[f"{key}.{cid}.excused"] = "; ".join(f"{x['entries']} by: {visible(str(x['rule']))}"
                                                          for x in t["excused"])
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
