"""GitHub Actions output: a Markdown table for $GITHUB_STEP_SUMMARY and one workflow-command annotation per
failed check. Text from findings is redacted, cleaned of control characters, then escaped for its format:
Markdown (HTML entities and backslash escapes, so log content cannot open a tag, a link or a table cell) and
workflow commands (% CR LF in the message; also : and , in properties), as GitHub's toolkit does; a file= property
percent-encodes whatever the cleaning would have shown as an escape (``escape_file``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..checks.base import FAILED, PASSED, Finding
from ..result import unit
from ..safeio import append_nofollow
from .common import (
    ACCEPTED,
    MAPPING_CAVEAT,
    CheckRow,
    accounting_rows,
    below_text,
    clean,
    entries_read,
    file_of,
    file_to_point_at,
    leftovers,
    not_run,
    place,
    rows,
    safe_target,
    stale,
    tool_version,
    verdict,
)

if TYPE_CHECKING:
    from ..result import AuditResult

# Inside a table cell only these can start Markdown syntax ($ is GitHub's math); a cell never begins a line.
_MD_PUNCT_RE = re.compile(r"([\\`*_\[\]|~$])")
# GitHub's Markdown (GFM) turns a bare http://..., https://... or www.... into a link by itself: an escaped ":" or "."
# (rendered the same) keeps text from a log from becoming a link.
_AUTOLINK_RE = re.compile(r":(?=//)|(?<![A-Za-z0-9])([Ww][Ww][Ww])\.")
_AT_RE = re.compile(r"@+")
_SAFE_ID_RE = re.compile(r"[A-Za-z0-9_]+\Z")
FIRST_FINDING_MAX = 300  # characters of the first finding shown in a table cell
FILES_MAX = 50  # files listed in the table of what was read (the rest are counted; evidence.json lists all)
LIST_MAX = 20  # stale acceptances, and what clean-up left, listed (the rest are counted; evidence.json lists all)
# GitHub shows a step's summary of up to 1 MiB and drops a larger one whole (red team rt87 F1: 7,500 stale
# acceptances listed one a line made 2.3 MB, and the verdict table was lost with them): the summary is kept under this
SUMMARY_MAX = 512 * 1024


def escape_data(text: str) -> str:
    """The message of a workflow command (GitHub toolkit's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value of a workflow command (GitHub toolkit's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def escape_file(path: str) -> str:
    """A file's name as the ``file=`` property of a workflow command, in one form throughout: every character
    ``text.visible`` shows as an escape (controls, separators, bidi overrides, invisible characters; a name's byte
    that is no UTF-8, as the byte it is) and the second "#" of "##[" percent-encoded as its UTF-8 bytes, as the
    SARIF report's uri has them, with the characters GitHub's toolkit escapes in a property (%, CR, LF, ":" and ",";
    escapeProperty) in the same form. Made visible first and then escaped, a name held two kinds of escape: CR and
    LF percent-encoded, which the runner decodes, and ESC written \\x1b, which it keeps, so that the name it
    read was neither the file's nor its visible form (red team rt92 F12)."""
    from ..text import visible

    out = []
    for i, ch in enumerate(path):
        if ch in "%:," or visible(ch) != ch or (ch == "#" and path[i - 1:i] == "#" and path[i + 1:i + 2] == "["):
            try:
                data = ch.encode("utf-8", "surrogateescape")  # (a byte of the name that is no UTF-8: that byte)
            except UnicodeEncodeError:
                data = ch.encode("utf-8", "surrogatepass")
            out.append("".join(f"%{b:02X}" for b in data))
        else:
            out.append(ch)
    return "".join(out)


def md_cell(text: str) -> str:
    """Text for one Markdown table cell: no raw HTML, no Markdown syntax, no link, no line breaks, no cell breaks."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT_RE.sub(r"\\\1", text)
    text = _AUTOLINK_RE.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\:", text)
    # GitHub links an e-mail address (and mailto:/xmpp: ones) after parsing, over the text merged from escapes and
    # entities alike: an "@" in a code span of its own splits the text, so no address forms (the text is the same)
    return _AT_RE.sub(lambda m: f"`{m.group()}`", text)


def _md_id(check_id: str) -> str:
    return f"`{check_id}`" if _SAFE_ID_RE.match(check_id) else md_cell(check_id)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def summary_markdown(result: "AuditResult", heading: str = "##") -> str:
    check_rows = rows(result)
    passed = sum(1 for r in check_rows if r.status == PASSED)
    failed = [r for r in check_rows if r.status == FAILED]
    stale_findings = stale(result)
    left = leftovers(result)
    gate = verdict(check_rows, stale_findings, left, result.cut_short)
    target = clean(result, safe_target(result.target))
    entries = entries_read(result)
    if result.ledger is not None:
        read = f"{len(result.ledger.actions)} simulated accesses, {entries} audit-log entries read"
    else:
        lines_read = sum(int(a.get("lines") or 0) for a in result.files)
        units = sorted({unit(a) for a in result.files}) or ["lines"]
        read = f"{len(result.files)} file(s), {lines_read} {' or '.join(units)} read, {entries} audit-log entries"
    lines = [
        f"{heading} auditready: {passed}/{len(check_rows)} checks passed against {md_cell(target)}",
        "",
        f"{f'Run {md_cell(result.run_id)}, ' if result.run_id else ''}pytest-auditready {md_cell(tool_version())}: "
        f"{read}. "
        f"fail\\_on: {md_cell(result.settings.fail_on)}. "
        f"Verdict: **{'FAIL' if gate == FAILED else 'PASS'}**{not_run(check_rows, result.cut_short)}.",
        "",
        "| check | result | severity | controls | first finding (or note) |",
        "|---|---|---|---|---|",
    ]
    for r in check_rows:
        lines.append(
            f"| {_md_id(r.id)} | {_result_word(r)} | {md_cell(r.severity)} | {md_cell(r.controls)} | "
            f"{_first_cell(result, r)} |"
        )
    lines += ["", md_cell(MAPPING_CAVEAT)]  # (red team rt82 F13)
    gating = [r for r in failed if r.gating]
    if gating:
        lines += ["", f"{len(gating)} failed check(s) that fail the run: " + ", ".join(_md_id(r.id) for r in gating)
                  + "."]
    if len(gating) < len(failed):
        lines += ["", f"{len(failed) - len(gating)} failed check(s) below fail\\_on={md_cell(result.settings.fail_on)}"
                  ", which do not fail the run: " + ", ".join(_md_id(r.id) for r in failed if r.below) + "."]
    if stale_findings:
        lines += ["", f"\u274c The baseline is stale, which fails the run: {len(stale_findings)} acceptance(s) "
                  "matched no finding."]
        lines += [f"- {md_cell(_shorten(clean(result, f.text()), FIRST_FINDING_MAX))}"
                  for f in stale_findings[:LIST_MAX]]
        if len(stale_findings) > LIST_MAX:
            lines.append(f"\n{len(stale_findings) - LIST_MAX} more stale acceptance(s): see evidence.json or the JSON "
                         "report.")
    if left:
        lines += ["", "\u274c Clean-up could not remove these from the vault, which fails the run: "
                  + "; ".join(md_cell(_shorten(clean(result, x), FIRST_FINDING_MAX)) for x in left[:LIST_MAX])
                  + (f"; and {len(left) - LIST_MAX} more (see evidence.json or the JSON report)"
                     if len(left) > LIST_MAX else "") + "."]
    table = accounting_rows(result.files)
    if table:
        lines += ["", "| log | read | entries judged (not judged: a skipped check's) | excused (rule) |",
                  "|---|---|---|---|"]
        for file, what, judged, excused in table[:FILES_MAX]:
            lines.append(f"| {md_cell(clean(result, file))} | {md_cell(clean(result, what))} | "
                         f"{md_cell(clean(result, judged))} | {md_cell(clean(result, excused))} |")
        if len(table) > FILES_MAX:
            lines.append(f"\n{len(table) - FILES_MAX} more file(s): see evidence.json or the JSON report.")
    return _within(lines)


def _within(lines: list[str]) -> str:
    """The summary, its lines cut from the end where it would pass SUMMARY_MAX bytes (the verdict and the checks'
    table come first), saying so."""
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) <= SUMMARY_MAX:
        return text
    note = (f"\nThe summary was cut here to stay under {SUMMARY_MAX // 1024} KiB (GitHub drops a step's summary "
            "of more than 1 MiB whole): see evidence.json or the JSON report for the rest.\n")
    size, kept = len(note.encode("utf-8")), []
    for line in lines:
        size += len(line.encode("utf-8")) + 1
        if size > SUMMARY_MAX:
            break
        kept.append(line)
    return "\n".join(kept) + "\n" + note


def _result_word(r: CheckRow) -> str:
    if r.status == ACCEPTED:  # did not hold; the baseline accepted every finding
        return f"\u2611\ufe0f accepted ({len(r.accepted)} finding(s))"
    accepted = f" ({len(r.accepted)} accepted)" if r.accepted else ""
    if r.status == FAILED:
        return ("\u274c fail" if r.gating else "\u26a0\ufe0f fail (below fail\\_on)") + accepted
    if r.status == PASSED:
        return "\u2705 pass" + accepted
    return "\u2796 skipped" + accepted


def _first_cell(result: "AuditResult", r: CheckRow) -> str:
    """A failed check's first finding (and how many more, on how many entries); else its note, labelled as one
    ("note: ", "skipped: ", "accepted ..."), never shown as a finding (red team rt96 F6)."""
    if r.first is not None:
        return md_cell(_shorten(clean(result, r.first.text()), FIRST_FINDING_MAX) + r.more())
    note = r.note
    if note:
        return md_cell(_shorten(clean(result, note), FIRST_FINDING_MAX))
    return ""


# GitHub shows at most 10 error and 10 warning annotations of a step (red team rt87 F3: the 11th failed check, a high
# one, was hidden behind a low one, and the lines that say why the run fails came last)
ANNOTATIONS_SHOWN = 10


def annotation_lines(result: "AuditResult") -> list[str]:
    """The run's workflow commands, as GitHub shows at most ANNOTATIONS_SHOWN of each kind a step: first what fails
    the run beyond a check (checks not run, clean-up incomplete, a stale baseline), then one ::error per failed
    check that fails the run, most severe first (::warning for one that fail_on lets pass); past the limit, the
    last shown names the rest."""
    from .. import compliance

    out = _not_run_lines(result)
    left = leftovers(result)
    if left:  # one annotation for what clean-up left in the vault
        out.append(f"::error title={escape_property('auditready clean-up incomplete')}::"
                   + escape_data(clean(result, "Clean-up could not remove these from the vault, which fails the run: "
                                       + "; ".join(left) + ".")))
    found = stale(result)
    if found:  # one annotation for the baseline, as for a check
        more = f" (+{len(found) - 1} more stale acceptance(s))" if len(found) > 1 else ""
        out.append(_command(result, "error", found[0], "", "auditready baseline is stale",
                            f"The baseline is stale, which fails the run: {found[0].text()}{more}"))
    failed = [r for r in rows(result) if r.status == FAILED and r.first is not None]
    failed.sort(key=lambda r: -compliance.severity_rank(r.severity))  # (stable: check order within a severity)
    for command in ("error", "warning"):
        mine = [r for r in failed if r.gating == (command == "error")]
        room = ANNOTATIONS_SHOWN - sum(1 for line in out if line.startswith(f"::{command} "))
        shown = mine if len(mine) <= room else mine[:max(room - 1, 0)]
        out += [_check_line(result, r) for r in shown]
        rest = mine[len(shown):]
        if rest:
            out.append(f"::{command} title={escape_property(f'auditready: {len(rest)} more failed check(s)')}::"
                       + escape_data(clean(result, f"{len(rest)} more failed check(s), each "
                                           + ("failing" if command == "error" else "not failing") + " the run: "
                                           + ", ".join(f"{r.id} ({r.severity})" for r in rest)
                                           + ". GitHub shows 10 annotations of a kind a step: see the step summary "
                                           "or the reports for their findings.")))
    return out


def _check_line(result: "AuditResult", r: CheckRow) -> str:
    """The ::error (or ::warning) of one failed check, at its first finding's file and line."""
    first = r.first
    assert first is not None
    judged = next(o for o in result.outcomes if o.check_id == r.id and o.status == FAILED and o.findings)
    title = f"auditready {r.id} failed ({r.severity})"
    more = r.more("finding(s)")
    below = f" ({below_text(r.id, result.settings.fail_on)}.)" if r.below else ""
    message = f"{r.title}: {first.text()}{more} Controls: {r.controls}.{below}"
    return _command(result, "error" if r.gating else "warning", first, file_of(result, judged), title, message)


def _not_run_lines(result: "AuditResult") -> list[str]:
    """One ``::error`` naming the checks some of whose planned items did not run, and why, with the rule and the fix
    (a run that leaves them out fails: the exit code says so, and so does this line); none when every item ran."""
    from ..result import LEFT_OUT_RULE

    left = result.left_out
    if not left:
        return []
    said = "; ".join(f"{check}: {', '.join(r[len('not run: '):] for r in reasons[:3])}"
                     + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "") for check, reasons in left.items())
    return [f"::error title={escape_property('auditready checks not run')}::"
            + escape_data(clean(result, f"{len(left)} check(s) not run: {said}. The run fails: {LEFT_OUT_RULE}."))]


def _command(result: "AuditResult", command: str, f: Finding, fallback: str, title: str, message: str) -> str:
    """One workflow command at the file (and line) the finding names; a finding with no file sits on the file its
    outcome judged (``fallback``), with no line, and so does one that names a record of a file whose unit is records
    (a CloudTrail delivery file: its message says file:N, the record)."""
    props = []
    path, line, _record = place(result, f, fallback)
    shown = file_to_point_at(path)
    if shown:
        props.append(f"file={escape_file(result.redact(shown, raw=True))}")
        if line is not None:
            props.append(f"line={line}")
    props.append(f"title={escape_property(clean(result, title))}")
    return f"::{command} {','.join(props)}::{escape_data(clean(result, message))}"


def say_refusal(line: str, alone: bool = False) -> None:
    """Under GitHub Actions, a run refused in one line (exit 2 or 4: nothing audited, no report written) is also an
    ``::error`` annotation, where reviewers look (red team rt87 F4: the reason was only in the raw log); ``alone``:
    the annotation is the one line (the runner shows its text in the log), else the line is printed as it is. On
    standard error, which the runner reads for workflow commands too, so that a report asked on standard output
    (``--json -``) is never mixed with it. ``line``: the refusal as printed, already made visible and redacted."""
    import sys

    if in_github_actions():
        sys.stderr.write(f"::error title={escape_property('auditready could not audit')}::{escape_data(line)}\n")
    elif alone:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


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
