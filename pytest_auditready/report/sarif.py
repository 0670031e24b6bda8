"""SARIF 2.1.0 for GitHub code scanning: one result per finding, at the file:line it names (a finding without a line
sits on its file as a whole-file result, one without a file on the log its check judged), one rule per check with
its severity and controls, and a rule and results of their own for a stale baseline (a finding that names no file at
all, which no result can hold for code scanning, is listed in the invocation's findingsWithoutLocation). A result's
level says whether it fails the run: "error" at or above fail_on, "warning" below it (the check did not hold all the
same); a finding the baseline accepted is a result too, suppressed (kind "external", naming the baseline, who and
why). The invocation carries the run's verdict, what each file gave the checks and, under ``notRun``, the checks
whose planned items did not run and why (they fail the run). Messages are redacted like every report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import quote, urlsplit

from ..checks.base import FAILED, Finding
from ..safeio import write_atomic
from ..text import json_ready, json_visible, visible
from .common import (
    MAPPING_CAVEAT,
    clean,
    controls_of,
    file_of,
    file_to_point_at,
    gates,
    is_url,
    level,
    place,
    rows,
    run_verdict,
    stale,
    tool_version,
)

if TYPE_CHECKING:
    from ..result import AuditResult


def _plain(text: str) -> str:
    """A finding's text as a SARIF plain text message: a brace is a placeholder there and a bracket opens an
    embedded link (SARIF 2.1.0 3.11.5, 3.11.6), so both are escaped as the format says; a log's bytes then show as
    written, never as a link or a placeholder a viewer fills."""
    return text.replace("[", "\\[").replace("]", "\\]").replace("{", "{{").replace("}", "}}")

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/pytest-auditready/"
# severity -> GitHub's security-severity score (the SARIF level says whether a finding fails the run: common.level)
_SCORES = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
# Results one run keeps: GitHub code scanning shows 5,000 a run and refuses an upload of more than 25,000 whole (red
# team rt87 F2: 1,250 hourly files with one repeated defect gave 31,250, and not one alert would have shown)
RESULTS_MAX = 5_000


def _uri(path: str) -> str:
    """A file path as a SARIF uri-reference: relative stays relative (percent-encoded), absolute is file://. An
    object-store URL becomes the relative reference scheme/bucket/key: code scanning refuses a whole upload that
    has a location of another scheme (the URL itself goes in the result's properties). A name's bytes that are no
    UTF-8 are percent-encoded as the bytes they are (RFC 3986; red team rt32, F10: the uri named a file of the
    escape's text)."""
    if is_url(path):
        parts = urlsplit(path)
        return quote(f"{parts.scheme}/{parts.netloc}{parts.path}")
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(os.fsencode(p.as_posix()))


# Further lines of one finding (``also_on``) given as related locations, at most: GitHub code scanning shows 100 a
# result (the rest are counted in the result's properties; every one is in the JSON report)
RELATED_MAX = 100


def _result(result: "AuditResult", rule: str, index: int, level: str, f: Finding, fallback: str,
            item: str) -> Optional[dict[str, Any]]:
    """One SARIF result for a finding at the file (and line) its ``where`` names; a finding that names no file
    sits on the file its outcome judged (``fallback``). One with no line is a whole-file result (line 1,
    ``wholeFile``): code scanning needs a location with a start line, and a failed check must not vanish for
    having no line. One that names a record of a file whose unit is records (CloudTrail) sits at line 1 too, the
    record's place in ``properties.record``. A finding that stands for several entries (``Finding.entries``: a
    roll-up past a check's cap, a leak on many lines) says so, in its message and in ``properties.entries``, and how
    many of them it locates nowhere; the further lines it names (``also_on``) are its ``relatedLocations``. None
    when no file is known at all."""
    from ..seal.verify import sealed_span

    path, line, record = place(result, f, fallback)
    if fallback and line is None and record is None and (
            os.path.normpath(path) == os.path.normpath(visible(fallback))):
        path = fallback  # the file itself: a finding's text shows its name's control characters as escapes
    shown = file_to_point_at(path)
    if not shown:
        return None
    # a finding about a digest record's range of lines names the file alone and the range in its text: the region
    # is that range (red team rt77 F7), not line 1 of the file
    span = sealed_span(f.message) if line is None and record is None and f.check_id == "tamper_evidence" else None
    region = {"startLine": span[0], "endLine": span[1]} if span else {"startLine": max(line or 1, 1)}
    uri = _uri(result.redact(shown, raw=True))
    text = clean(result, f.text())
    props: dict[str, Any] = {"item": clean(result, item)}
    whole = line is None and record is None and span is None
    if record is not None:  # (red team rt96 F2: startLine 4 of a one-line delivery file named no line)
        props["record"] = record
        text += (f" (This result sits at line 1: {record} is the record's place in the file, whose unit is records, "
                 "not a line.)")
    if f.entries > 1:
        props["entries"] = f.entries
        unlisted = f.unlisted
        if unlisted:
            props["entriesNotLocated"] = unlisted
            here = ("this record" if record is not None else "this line") + (
                " and its related locations" if f.also_on else "")
            text += (f" (This one result stands for {f.entries:,} entries of the file, none of which it locates: line "
                     "1 stands for the file as a whole, not for one of them.)" if whole else
                     f" (This one result stands for {f.entries:,} entries; it locates {f.entries - unlisted:,} of them "
                     f"({here}), not the other {unlisted:,}.)")
    res: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": index,
        "level": level,
        "message": {"text": _plain(text)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        "properties": props,
    }
    if f.also_on:  # the further lines of the same finding, as code scanning shows them (records: named, no line)
        props["alsoOn"] = len(f.also_on)
        if record is not None:
            props["alsoOnRecords"] = list(f.also_on[:RELATED_MAX])
        else:
            res["relatedLocations"] = [
                {"id": i, "message": {"text": f"also on line {n}"},
                 "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": n}}}
                for i, n in enumerate(f.also_on[:RELATED_MAX], 1) if n >= 1]
        if len(f.also_on) > RELATED_MAX:
            props["relatedLocationsLeftOut"] = len(f.also_on) - RELATED_MAX
    if is_url(path):
        props["url"] = clean(result, path)
    if whole:  # code scanning needs a region: line 1 stands for the whole file, and says so
        props["wholeFile"] = True
    if f.request_id:
        props["requestId"] = clean(result, f.request_id)
    return res


def build(result: "AuditResult") -> dict[str, Any]:
    check_rows = rows(result)
    rules = []
    results = []
    unlocated: list[dict[str, Any]] = []
    baseline = result.baseline.path if result.baseline is not None else ""
    for index, r in enumerate(check_rows):
        # "error" when a failure of this check fails the run under fail_on, else "warning": the check did not hold,
        # the run passes; the same word the annotations use (::error / ::warning)
        lvl, score = level(gates(result.settings.fail_on, r.id)), _SCORES.get(r.severity, "8.0")
        rules.append({
            "id": r.id,
            "name": "".join(part.capitalize() for part in r.id.split("_")),
            "shortDescription": {"text": clean(result, r.title)},
            "fullDescription": {"text": clean(result, r.requirement)},
            "help": {"text": clean(result, f"Must hold: {r.requirement}. Controls: {r.controls}.")},
            "defaultConfiguration": {"level": lvl},
            "properties": {"tags": ["security", "audit-log"], "security-severity": score,
                           "severity": r.severity, "controls": r.controls},
        })
        found = [(o, f, "", "") for o in result.outcomes if o.check_id == r.id and o.status == FAILED
                 for f in o.findings]
        found += [(o, f, fp, text) for o in result.outcomes if o.check_id == r.id for f, fp, text in o.accepted]
        for o, f, fp, acceptance in found:
            res = _result(result, r.id, index, lvl, f, file_of(result, o), o.name)
            if res is None:  # no file (the embedded target's throw-away log, gone): code scanning refuses a whole
                # upload that holds a result without a location, so the finding is listed with the invocation
                unlocated.append({"ruleId": r.id, "item": clean(result, o.name), "message": clean(result, f.text()),
                                  "failsRun": not fp and r.gating, "accepted": bool(fp)})
                continue
            # whether this finding fails the run: one accepted by the baseline never does, one below fail_on not
            res["properties"]["failsRun"] = not fp and r.gating
            if fp:  # accepted in the baseline (an external store): suppressed, saying which baseline, who and why
                res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": clean(
                    result, f"baseline {baseline or '(unnamed)'}, acceptance {fp}: {acceptance}")}]
                res["properties"]["acceptance"] = clean(result, fp)
            results.append(res)
    stale_findings = stale(result)
    if stale_findings:  # a stale baseline fails the run: a rule and a result of its own, as the exit code says
        rules.append({
            "id": "baseline",
            "name": "Baseline",
            "shortDescription": {"text": "Every acceptance of the baseline matches a finding"},
            "fullDescription": {"text": "An acceptance that matches no finding of the run (the finding was fixed, "
                                        "or it moved) makes the baseline stale, and fails the run."},
            "help": {"text": "Remove the acceptance from the baseline, or run the audit over the file it was made "
                             "for."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "audit-log"], "severity": "high"},
        })
        for f in stale_findings:
            res = _result(result, "baseline", len(rules) - 1, "error", f, "", "baseline")
            if res is not None:
                res["properties"]["failsRun"] = True
                results.append(res)
    results, left_out = _capped(results, {r.id: r.severity for r in check_rows})
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "pytest-auditready", "version": tool_version(), "semanticVersion": tool_version(),
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "invocations": [{"executionSuccessful": True,
                         "properties": {"runId": clean(result, result.run_id), "failOn": result.settings.fail_on,
                                        "verdict": run_verdict(result),
                                        # the checks some of whose planned items did not run, and why: each fails
                                        # the run (no result can hold them: they name no file)
                                        **_not_run(result),
                                        # what a check's pass rests on or leaves out (a setting that narrowed it)
                                        "notes": {r.id: [clean(result, n) for n in r.notes]
                                                  for r in check_rows if r.notes},
                                        # every control: what each of its checks says of it, and on what
                                        "controls": {f"{fw} {req}": [{"check": c.check_id, "status": c.status,
                                                                      "basis": clean(result, c.basis)} for c in said]
                                                     for fw, req, said in controls_of(result)},
                                        "controlsNote": MAPPING_CAVEAT,
                                        # what each file gave the checks: lines read, entries judged and excused
                                        "accounting": [dict(a) for a in result.files],
                                        # findings that name no file (no result can hold them): said here
                                        "findingsWithoutLocation": unlocated,
                                        **left_out}}],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if os.environ.get("GITHUB_WORKSPACE"):
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path(os.environ["GITHUB_WORKSPACE"]).as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _capped(results: list[dict[str, Any]], severity: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """At most RESULTS_MAX results, in their order: those that fail the run first, then by their check's severity;
    with ``{"resultsLeftOut": ...}`` (how many, of which rule) when some were left out, else {}."""
    if len(results) <= RESULTS_MAX:
        return results, {}
    from .. import compliance

    def rank(rule: str) -> int:  # (the baseline's rule has no check row: it fails the run, so comes first anyway)
        return -compliance.severity_rank(severity[rule]) if rule in severity else 1

    order = sorted(range(len(results)), key=lambda i: (not results[i]["properties"].get("failsRun"),
                                                        rank(results[i]["ruleId"]), i))
    kept = sorted(order[:RESULTS_MAX])
    left: dict[str, int] = {}
    for i in order[RESULTS_MAX:]:
        left[results[i]["ruleId"]] = left.get(results[i]["ruleId"], 0) + 1
    return [results[i] for i in kept], {"resultsLeftOut": {
        "limit": RESULTS_MAX, "results": len(results), "byRule": left,
        "why": "GitHub code scanning shows 5,000 results a run and refuses more than 25,000: the results that fail "
               "the run and those of the most severe checks are kept; every finding is in the JSON report and the "
               "evidence bundle"}}


def _not_run(result: "AuditResult") -> dict[str, Any]:
    """``{"notRun": {...}}``: per check, why planned items of it did not run, with the rule and its fix; {} when every
    planned item ran."""
    from ..result import LEFT_OUT_RULE

    left = result.left_out
    if not left:
        return {}
    return {"notRun": {"checks": [{"id": check, "why": [clean(result, r) for r in reasons]}
                                  for check, reasons in left.items()], "rule": LEFT_OUT_RULE}}


def text(result: "AuditResult") -> str:
    """The SARIF document as written: redacted, nothing invisible, no workflow command (``##[``) in CI's log."""
    return render(result)[0]


def render(result: "AuditResult") -> tuple[str, int, int]:
    """``text``, with how many results it holds and how many the run found (more where RESULTS_MAX cut them)."""
    from . import without_workflow_commands

    doc = build(result)
    run = doc["runs"][0]
    left = run["invocations"][0]["properties"].get("resultsLeftOut")
    kept = len(run["results"])
    written = without_workflow_commands(json_visible(result.redact(json.dumps(json_ready(doc), indent=2,
                                                                              ensure_ascii=False)))) + "\n"
    return written, kept, left["results"] if left else kept


def write(result: "AuditResult", path: str, document: Optional[str] = None) -> Path:
    """Write the SARIF file (``document``, else ``text``) at ``path`` atomically, never through a link;
    AuditReadyError when it cannot be."""
    return write_atomic(path, text(result) if document is None else document, "SARIF report")
