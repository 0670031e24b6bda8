"""GitHub Actions output: a Markdown table for $GITHUB_STEP_SUMMARY and one workflow-command annotation per
failed check. Text from findings is redacted, cleaned of control characters, then escaped for its format:
Markdown (HTML entities and backslash escapes, so log content cannot open a tag, a link or a table cell) and
workflow commands (% CR LF in the message; also : and , in properties), as GitHub's toolkit does.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..checks.base import FAILED, PASSED
from ..safeio import append_nofollow
from .common import CheckRow, clean, relative_path, rows, safe_target, split_where, tool_version, verdict

if TYPE_CHECKING:
    from ..result import AuditResult

# Inside a table cell only these can start Markdown syntax ($ is GitHub's math); a cell never begins a line.
_MD_PUNCT_RE = re.compile(r"([\\`*_\[\]|~$])")
_SAFE_ID_RE = re.compile(r"[A-Za-z0-9_]+\Z")
FIRST_FINDING_MAX = 300  # characters of the first finding shown in a table cell


def escape_data(text: str) -> str:
    """The message of a workflow command (GitHub toolkit's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value of a workflow command (GitHub toolkit's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def md_cell(text: str) -> str:
    """Text for one Markdown table cell: no raw HTML, no Markdown syntax, no line breaks, no cell breaks."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT_RE.sub(r"\\\1", text)


def _md_id(check_id: str) -> str:
    return f"`{check_id}`" if _SAFE_ID_RE.match(check_id) else md_cell(check_id)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def summary_markdown(result: "AuditResult", heading: str = "##") -> str:
    check_rows = rows(result)
    passed = sum(1 for r in check_rows if r.status == PASSED)
    failed = [r for r in check_rows if r.status == FAILED]
    gate = verdict(check_rows)
    target = clean(result, safe_target(result.target))
    actions = len(result.ledger.actions) if result.ledger is not None else 0
    entries = len(result.context.entries) if result.context is not None else 0
    lines = [
        f"{heading} auditready: {passed}/{len(check_rows)} checks passed against {md_cell(target)}",
        "",
        f"Run {md_cell(result.run_id)}, pytest-auditready {md_cell(tool_version())}: {actions} simulated accesses, "
        f"{entries} audit-log entries read. fail\\_on: {md_cell(result.settings.fail_on)}. "
        f"Verdict: **{'FAIL' if gate == FAILED else 'PASS'}**.",
        "",
        "| check | result | severity | controls | first finding |",
        "|---|---|---|---|---|",
    ]
    for r in check_rows:
        lines.append(
            f"| {_md_id(r.id)} | {_result_word(r)} | {md_cell(r.severity)} | {md_cell(r.controls)} | "
            f"{_first_cell(result, r)} |"
        )
    if failed:
        lines += ["", f"{len(failed)} failed check(s): " + ", ".join(_md_id(r.id) for r in failed) + "."]
    return "\n".join(lines) + "\n"


def _result_word(r: CheckRow) -> str:
    if r.status == FAILED:
        return "\u274c fail" if r.gating else "\u26a0\ufe0f fail (below fail\\_on)"
    if r.status == PASSED:
        return "\u2705 pass"
    return "\u2796 skipped"


def _first_cell(result: "AuditResult", r: CheckRow) -> str:
    if r.first is not None:
        more = f" (+{len(r.findings) - 1} more)" if len(r.findings) > 1 else ""
        return md_cell(_shorten(clean(result, r.first.text()), FIRST_FINDING_MAX) + more)
    if r.reason:
        return md_cell(_shorten(clean(result, r.reason), FIRST_FINDING_MAX))
    return ""


def annotation_lines(result: "AuditResult") -> list[str]:
    """One ::error line per failed check (::warning for a failure that fail_on lets pass)."""
    out = []
    for r in rows(result):
        if r.status != FAILED or r.first is None:
            continue
        first = r.first
        props = []
        path, line = split_where(first.where) if first.where else ("", None)
        if path and line is not None:
            props.append(f"file={escape_property(clean(result, relative_path(path)))}")
            props.append(f"line={line}")
        title = f"auditready {r.id} failed ({r.severity})"
        props.append(f"title={escape_property(clean(result, title))}")
        more = f" (+{len(r.findings) - 1} more finding(s))" if len(r.findings) > 1 else ""
        message = f"{r.title}: {first.text()}{more} Controls: {r.controls}."
        command = "error" if r.gating else "warning"
        out.append(f"::{command} {','.join(props)}::{escape_data(clean(result, message))}")
    return out


def in_github_actions(environ: Optional[dict[str, str]] = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("GITHUB_ACTIONS") == "true"


def append_summary(result: "AuditResult", environ: Optional[dict[str, str]] = None) -> Optional[Path]:
    """Append the table to $GITHUB_STEP_SUMMARY when it is set; return the file."""
    env = os.environ if environ is None else environ
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    return append_nofollow(target, summary_markdown(result) + "\n", "GitHub step summary")
