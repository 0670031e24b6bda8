"""The compliance JUnit report: one testsuite per target, one testcase per check id (what a pass rests on in its
output; a failed testcase named ``baseline`` when the baseline is stale, as that fails the run), suite-level
properties that say each check's status and whether it fails the run, map each check to SOC 2, ISO/IEC 27001:2022,
PCI DSS v4.0.1 and NIST SP 800-53 controls and say what each file gave the checks. A check that failed below fail_on
did not hold, yet the run passes: its testcase is a ``<skipped type="auditready.below_fail_on">`` saying so with
every finding (its property check.ID.status "failed"), never a ``<failure>`` that would turn a CI test reporter red
on a run that exits 0. A check whose findings the baseline all accepted is a ``<skipped
type="auditready.accepted">`` naming them and who accepted them (its property "accepted"). A control that asks for
particular events to be captured (mappings.json's ``evidenced_by``) reads "not evidenced" when none of the items
that exercise them ran, never the check's own status. Planned audit items that did not run (deselected, skipped by a
marker or hook, removed: ``result.left_out_reason``) fail the run: a failed testcase ``not_run`` names their checks,
with the properties ``auditready.not_run`` and ``check.ID.not_run``. The suite's time is the run's wall time (none
is written when it is not known); no testcase has a time of its own, as a check's wall time is not measured. Written
with junit-xml, valid under the xunit2 schema (tests/schemas/xunit2.xsd: no status on a testcase, no disabled
count).

Every text that goes in comes from Findings, which never carry secret values; the caller redacts any known secret
anyway (AuditResult.redact), as a second line of defence.
"""

from __future__ import annotations

import datetime
import re
import socket
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from .. import compliance
from ..checks.base import FAILED, PASSED, SKIPPED, Check, Finding, Outcome, counted, entries_of
from ..result import LEFT_OUT_RULE, NOT_RUN, left_out_kind, unit
from ..safeio import write_atomic
from ..text import visible
from .common import (
    ACCEPTED,
    MAPPING_CAVEAT,
    below_text,
    check_status,
    control_view,
    gates,
    safe_target,
    tally_parts,
    tool_version,
)

BELOW_FAIL_ON = "auditready.below_fail_on"  # the type of the <skipped> of a check that failed below fail_on
ACCEPTED_TYPE = "auditready.accepted"  # the type of the <skipped> of a check whose findings were all accepted


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
    leftovers: Sequence[str] = (),
    seconds: Optional[float] = None,
) -> str:
    """The report's XML text; ``seconds``: the run's wall time (the suite's time), when known."""
    from junit_xml import TestCase, TestSuite, to_xml_report_string  # lazy: only when a report is asked for

    outcomes = list(outcomes)
    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    cases = []
    typed: dict[str, str] = {}  # check id -> the type of its <skipped>, when not junit-xml's "skipped"
    status_of: dict[str, str] = {}
    left: dict[str, list[str]] = {}  # check id -> why planned items of it did not run (each fails the run)
    for o in outcomes:
        if o.status == SKIPPED and left_out_kind(o.reason) and o.reason not in left.get(o.check_id, ()):
            left.setdefault(o.check_id, []).append(o.reason)
    classname = f"auditready.{target if target in ('embedded', 'offline') else 'url'}"
    shown_target = visible(safe_target(target))  # a URL target's user:password@ never reaches the report
    for check in checks:
        outs = by_check.get(check.id, [])
        status = check_status(outs)
        status_of[check.id] = status
        # a path is shown, never acted on; an item that did not run says so beside its name
        subjects = ", ".join((visible(o.subject) or "(whole log)")
                             + (f" (skipped: {visible(o.reason)})" if o.status == SKIPPED and not o.accepted else "")
                             for o in outs)
        tc = TestCase(
            check.id,
            classname=classname,
            stdout=f"{check.title}. Must hold: {check.requirement}. Controls: {compliance.summary(check.id)}. "
            f"Items: {subjects or 'none'}." + "".join(f"\n{visible(o.name)}: {visible(o.reason)}" for o in outs
                                                       if o.status == PASSED and o.reason)
            + "".join(f"\naccepted by the baseline: {visible(o.name)}: {f.text()} ({visible(text)})" for o in outs
                      for f, _, text in o.accepted),
        )
        if status == FAILED:
            findings = [(o, f) for o in outs if o.status == FAILED for f in o.findings]
            first = findings[0][1]
            lines = [f"{visible(o.name)}: {f.text()}" for o, f in findings]
            # "21 finding(s) on 25 entries" where a finding stands for several (a roll-up past a check's cap)
            told = counted(len(findings), entries_of(f for _, f in findings))
            if gates(fail_on, check.id):
                tc.add_failure_info(message=f"{told}; first: {first.text()}",
                                    output="\n".join(lines), failure_type="AuditFinding")
            else:  # did not hold, yet the run passes: no <failure> a CI test reporter would show red
                tc.add_skipped_info(message=f"did not hold: {told} ({below_text(check.id, fail_on)}"
                                            f"); first: {first.text()}", output="\n".join(lines))
                typed[check.id] = BELOW_FAIL_ON
        elif status == ACCEPTED:  # did not hold, and the baseline accepted every finding: no pass, no mere skip
            accepted = [(o, f, text) for o in outs for f, _, text in o.accepted]
            tc.add_skipped_info(message=f"did not hold: {len(accepted)} finding(s) accepted by the baseline; first: "
                                        f"{accepted[0][1].text()} ({visible(accepted[0][2])})",
                                output="\n".join(f"{visible(o.name)}: {f.text()} ({visible(text)})"
                                                  for o, f, text in accepted))
            typed[check.id] = ACCEPTED_TYPE
        elif status == SKIPPED:
            # a reason can quote a baseline's acceptance (its owner and reason, as a person wrote them): shown
            tc.add_skipped_info(message=("; ".join(sorted({visible(o.reason) for o in outs if o.reason})) or NOT_RUN)
                                + (f"; {LEFT_OUT_RULE}" if check.id in left else ""))
        cases.append(tc)
    if left:  # audit items left out of the run fail it: a CI system reading this report must see it fail too
        tc = TestCase("not_run", classname=classname, stdout="Every planned audit item ran.")
        tc.add_failure_info(message=f"{len(left)} check(s) not run: {', '.join(left)}; {LEFT_OUT_RULE}",
                            output="\n".join(f"{c}: {visible(r)}" for c, reasons in left.items() for r in reasons),
                            failure_type="AuditItemsLeftOut")
        cases.append(tc)
    if stale:  # a stale baseline fails the run: a CI system reading this report must see it fail too
        tc = TestCase("baseline", classname=classname,
                      stdout="Every acceptance of the baseline matches a finding of the run.")
        tc.add_failure_info(message=f"{len(stale)} stale acceptance(s); first: {stale[0].text()}",
                            output="\n".join(f.text() for f in stale), failure_type="StaleBaseline")
        cases.append(tc)
    if leftovers:  # what clean-up could not remove fails the run: a CI system reading this report must see it fail
        tc = TestCase("cleanup", classname=classname, stdout="Clean-up removed everything the run made.")
        tc.add_failure_info(message=f"clean-up could not remove {len(leftovers)} thing(s) the run made from the vault; "
                                    f"first: {leftovers[0]}", output="\n".join(leftovers), failure_type="Residue")
        cases.append(tc)
    props: dict[str, str] = {
        "auditready.version": tool_version(),
        "auditready.target": shown_target,
        "auditready.run_id": run_id,
        "auditready.fail_on": fail_on,
        # the run's verdict, as its exit code gives it: a failed check at or above fail_on, a stale baseline, what
        # clean-up could not remove from the vault, or audit items left out of the run
        "auditready.verdict": FAILED if stale or leftovers or left or any(
            status_of[c] == FAILED and gates(fail_on, c) for c in status_of) else PASSED,
    }
    if left:
        props["auditready.not_run"] = f"{', '.join(left)}: {LEFT_OUT_RULE}"
    if leftovers:
        props["auditready.cleanup"] = "could not remove (fails the run): " + "; ".join(leftovers)
    for check in checks:
        props[f"check.{check.id}"] = compliance.summary(check.id)
        # each check's verdict and whether it fails the run, as the JSON report's checks say them
        props[f"check.{check.id}.status"] = status_of[check.id]
        props[f"check.{check.id}.fails_run"] = str(check.id in left or (
            status_of[check.id] == FAILED and gates(fail_on, check.id))).lower()
        notes = "; ".join(dict.fromkeys(visible(o.reason) for o in by_check.get(check.id, [])
                                        if o.status == PASSED and o.reason))
        if notes:  # what its pass rests on or leaves out (a setting that narrowed it)
            props[f"check.{check.id}.notes"] = notes
        if check.id in left:  # planned items of it did not run, and why: each fails the run
            props[f"check.{check.id}.not_run"] = "; ".join(visible(r) for r in left[check.id])
    # what was read, judged and excused, per file (fail closed: a verdict says what it rests on)
    for i, a in enumerate(files, 1):
        key = f"auditready.file.{i}"
        props[key] = visible(str(a["file"]))  # a path's control characters shown, never stripped or live
        props[f"{key}.format"] = str(a["format"])
        props[f"{key}.lines"] = str(a["lines"])  # a CloudTrail file's records (``.unit``)
        props[f"{key}.unit"] = unit(a)
        props[f"{key}.entries"] = str(a["entries"])
        props[f"{key}.unreadable_lines"] = str(a["unreadable_lines"])
        for cid, t in a["checks"].items():
            if t.get("judged") is not None:
                props[f"{key}.{cid}.judged"] = str(t["judged"])
            excused, skipped = tally_parts(t)
            if excused:
                props[f"{key}.{cid}.excused"] = "; ".join(f"{n} by: {visible(rule)}" for rule, n in excused)
            if skipped is not None:  # no rule excused them: the check did not run on them
                props[f"{key}.{cid}.not_judged"] = f"{skipped[0]}: the check was skipped ({visible(skipped[1])})"
    # each control: what each of its checks says of it, and (where that is not the check's own word for the whole
    # requirement) what it rests on or why nothing does
    props["auditready.controls_note"] = MAPPING_CAVEAT
    for fw, req, said in control_view(outcomes, list(status_of), target == "offline", target):
        props[f"control.{fw} {req}"] = ", ".join(f"{c.check_id}={c.status}" for c in said)
        basis = "; ".join(f"{c.check_id}: {visible(c.basis)}" for c in said if c.basis)
        if basis:
            props[f"control.{fw} {req}.evidence"] = basis
    when = started or datetime.datetime.now(datetime.timezone.utc)
    suite = TestSuite(
        f"auditready {shown_target}",
        cases,
        hostname=socket.gethostname(),
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%S"),
        properties=props,
    )
    # the run's wall time, at most three decimals (xunit2); none when not known, never a zero that is no measure
    took = f"{seconds:.3f}" if seconds is not None and round(seconds, 3) > 0 else ""
    xml = to_xml_report_string([_Typed(suite, typed, took)], prettyprint=True, encoding="utf-8")
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    # junit-xml counts "disabled" tests on both suites, which the xunit2 family has no attribute for; and it sums
    # the testsuites' time from the suites' as a float ("0.0" when they have none)
    text = _DISABLED.sub(r"\1", text)
    return _SUITES_TIME.sub(lambda m: m.group(1) + (f' time="{took}"' if took else ""), text, count=1)


_DISABLED = re.compile(r'(<testsuites?\b[^>]*?) disabled="\d+"')
_SUITES_TIME = re.compile(r'(<testsuites\b[^>]*?) time="[^"]*"')


class _Typed:
    """A junit-xml suite whose <skipped> of a failed check below fail_on, or of one whose findings were all accepted,
    says so in its type (as pytest's own report types an xfail "pytest.xfail"): junit-xml types every <skipped>
    "skipped". Its time is the run's (``took``), or none: junit-xml sums its testcases' times, which it has none of."""

    def __init__(self, suite: Any, typed: Mapping[str, str], took: str) -> None:
        self.suite, self.typed, self.took = suite, typed, took

    def build_xml_doc(self, encoding: Optional[str] = None) -> Any:
        doc = self.suite.build_xml_doc(encoding=encoding)
        if self.took:
            doc.set("time", self.took)
        else:
            doc.attrib.pop("time", None)
        for case in doc.iter("testcase"):
            kind = self.typed.get(str(case.get("name")))
            if kind:
                for skipped in case.iter("skipped"):
                    skipped.set("type", kind)
        return doc


def write(path: str, xml: str) -> Path:
    """Write the report at ``path`` atomically, never through a link; AuditReadyError when it cannot be."""
    return write_atomic(path, xml, "compliance JUnit report")
