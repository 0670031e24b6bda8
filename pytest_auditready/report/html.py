"""report.html: one self-contained page for the auditor (inline CSS, no script, no external asset): the verdict,
a check-by-control table, a timeline of the simulated accesses against the log entries that recorded them, and
every finding. Every text is redacted, cleaned of control characters, then HTML-escaped.
"""

from __future__ import annotations

import datetime
from html import escape
from typing import TYPE_CHECKING, Any, Optional

from .. import compliance
from ..checks.base import FAILED, PASSED
from ..text import visible
from .common import (
    ACCEPTED,
    MAPPING_CAVEAT,
    NOT_EVIDENCED,
    CheckRow,
    accounting_rows,
    below_text,
    clean,
    controls_of,
    leftovers,
    not_run,
    rows,
    safe_target,
    shown_review,
    stale,
    tool_version,
    verdict,
)

if TYPE_CHECKING:
    from ..auditlog.model import Action, AuditEntry
    from ..result import AuditResult

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;margin:0 0 12px}.verdict{display:inline-block;padding:2px 10px;border-radius:12px;
font-weight:600;color:#fff}.verdict.passed{background:#1a7f37}.verdict.failed{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f6f8fa}code{font:12px ui-monospace,monospace}
tr.failed td.status{background:#ffebe9;color:#cf222e;font-weight:600}
tr.passed td.status{background:#dafbe1;color:#1a7f37;font-weight:600}
tr.skipped td.status,tr.failed.below td.status,tr.accepted td.status{background:#fff8c5;color:#7d4e00}
.unevidenced{color:#7d4e00}
tr.missing td{background:#fff5f5}.miss{color:#cf222e;font-weight:600}
.bar{position:relative;height:14px;min-width:160px;background:#f6f8fa;border:1px solid #d0d7de}
.win{position:absolute;top:2px;height:8px;background:#0969da;min-width:2px}
.tick{position:absolute;top:0;width:2px;height:12px}.tick.request{background:#8250df}
.tick.response{background:#bf8700}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
.small{font-size:12px;color:#57606a}.t{font:12px ui-monospace,monospace;word-break:break-all}
td code{word-break:break-all}#checks td code{word-break:normal;white-space:nowrap}
tr.denied td.den{color:#cf222e;font-weight:600}
"""


def _e(result: "AuditResult", text: str) -> str:
    return escape(clean(result, text), quote=True)


def _utc(ns: int) -> str:
    dt = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    return dt.strftime("%H:%M:%S.") + f"{(ns // 1_000_000) % 1000:03d}"


def _word(r: CheckRow) -> str:
    if r.status == ACCEPTED:  # did not hold; the baseline accepted every finding
        return f"ACCEPTED ({len(r.accepted)} finding(s) accepted by the baseline)"
    accepted = f" ({len(r.accepted)} accepted)" if r.accepted else ""
    if r.status == FAILED:
        return ("FAIL" if r.gating else "FAIL (below fail_on)") + accepted
    return ("PASS" if r.status == PASSED else "SKIPPED") + accepted


def _requirement(result: "AuditResult", r: CheckRow, fw: str, req: str) -> str:
    """One requirement in a check's row: with its own status when that is not the check's (a control scoped to
    events none of whose items ran reads "not evidenced", with why on hover)."""
    for f, q, status, basis in r.scoped:
        if (f, q) == (fw, req):
            cls = ' class="unevidenced"' if status == NOT_EVIDENCED else ""
            return f'<span{cls} title="{_e(result, basis)}">{escape(req)} ({escape(status)})</span>'
    return escape(req)


def _checks_table(result: "AuditResult", check_rows: list[CheckRow]) -> str:
    fws = list(compliance.frameworks())
    head = "".join(f"<th>{escape(fw)}</th>" for fw in fws)
    out = [f'<table id="checks"><thead><tr><th>Check</th><th>Result</th><th>Severity</th>{head}'
           "<th>First finding (or note)</th></tr></thead><tbody>"]
    for r in check_rows:
        by_fw: dict[str, list[str]] = {}
        for c in compliance.controls_for(r.id):
            by_fw.setdefault(c.framework, []).append(c.requirement)
        cells = "".join(f"<td>{', '.join(_requirement(result, r, fw, req) for req in by_fw.get(fw, []))}</td>"
                        for fw in fws)
        # a failed check's first finding; else its note, labelled as one, never shown as a finding (red team rt96 F6)
        first = r.first.text() if r.first is not None else r.note
        more = r.more()
        out.append(
            f'<tr class="{r.status}{" below" if r.below else ""}" data-check="{_e(result, r.id)}"><td><code>'
            f'{_e(result, r.id)}</code><br>'
            f'<span class="small">{_e(result, r.title)}</span></td><td class="status">{escape(_word(r))}</td>'
            f"<td>{escape(r.severity)}</td>{cells}<td>{_e(result, first)}{escape(more)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _controls_table(result: "AuditResult") -> str:
    """Every control of the mapping, with what each of its checks says of it and on what (or why not)."""
    out = ['<table id="controls"><thead><tr><th>Framework</th><th>Requirement</th><th>Title</th><th>Evidence</th>'
           "</tr></thead><tbody>"]
    frameworks = compliance.frameworks()
    for fw, req, said in controls_of(result):
        title = str(frameworks[fw]["requirements"][req]["title"])
        cells = "<br>".join(f"<code>{_e(result, c.check_id)}</code> {escape(c.status)}"
                            + (f": {_e(result, c.basis)}" if c.basis else "") for c in said)
        out.append(f'<tr data-control="{escape(fw)} {escape(req)}"><td>{escape(fw)}</td><td>{escape(req)}</td>'
                   f"<td>{escape(title)}</td><td>{cells}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _entry_cell(result: "AuditResult", e: Optional["AuditEntry"], a: "Action") -> str:
    if e is None:
        return '<span class="miss">not in the log</span>'
    ts = e.timestamp
    delta = f" ({(ts.ns - a.sent_ns) / 1e6:+.1f} ms after send)" if ts is not None else ""
    short = f"{e.file.replace(chr(92), '/').rsplit('/', 1)[-1]}:{e.line}"
    return (f'<code title="{_e(result, e.where)}">{_e(result, short)}</code><br>'
            f'<span class="t">{_e(result, e.time_text)}</span><span class="small">{escape(delta)}</span>')


def _timeline(result: "AuditResult") -> str:
    ledger, ctx = result.ledger, result.context
    if ledger is None or ctx is None or not ledger.actions:
        return '<p id="timeline">No simulated accesses in this run.</p>'
    points = [a.sent_ns for a in ledger.actions] + [a.received_ns for a in ledger.actions]
    for a in ledger.actions:
        for e in ctx.match(a.name).entries:
            if e.timestamp is not None:
                points.append(e.timestamp.ns)
    t0, t1 = min(points), max(points)
    span = max(t1 - t0, 1)

    def pct(ns: int) -> float:
        return round(min(max((ns - t0) / span * 100, 0.0), 100.0), 2)

    out = ['<table id="timeline"><thead><tr><th>#</th><th>Sent (UTC)</th><th>Action</th><th>Identity</th>'
           "<th>Request</th><th>HTTP</th><th>Expected</th><th>Timeline</th><th>Request entry</th>"
           "<th>Response entry</th><th>Matched by</th></tr></thead><tbody>"]
    for i, a in enumerate(ledger.actions, 1):
        m = ctx.match(a.name)
        left, right = pct(a.sent_ns), pct(a.received_ns)
        bar = [f'<div class="win" style="left:{left}%;width:{max(right - left, 0.4)}%"></div>']
        for kind, logged in (("request", m.request), ("response", m.response)):
            ts = logged.timestamp if logged is not None else None
            if ts is not None:
                bar.append(f'<div class="tick {kind}" style="left:{pct(ts.ns)}%"></div>')
        cls = "recorded" if m.complete else "missing"
        out.append(
            f'<tr class="{cls}" data-action="{_e(result, a.name)}"><td>{i}</td><td>{_utc(a.sent_ns)}</td>'
            f"<td><code>{_e(result, a.name)}</code></td><td>{_e(result, a.display_name or a.identity)}</td>"
            f"<td><code>{_e(result, a.method)} {_e(result, a.path)}</code></td><td>{a.status}</td>"
            f'<td>{_e(result, a.expect)}</td><td><div class="bar">{"".join(bar)}</div></td>'
            f"<td>{_entry_cell(result, m.request, a)}</td><td>{_entry_cell(result, m.response, a)}</td>"
            f"<td>{_e(result, m.by or '-')}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append('<p class="legend small">Timeline bar: <span style="background:#0969da"></span>client send to '
               'receive<span style="background:#8250df"></span>request entry<span style="background:#bf8700">'
               "</span>response entry (scaled over the whole run)</p>")
    return "".join(out)


def _accounting(result: "AuditResult") -> str:
    """Per log file: lines read, entries, unreadable lines, and per check the entries judged, excused (rule) and not
    judged because the check was skipped."""
    table = accounting_rows(result.files)
    if not table:
        return '<p id="accounting">No log was read.</p>'
    out = ['<table id="accounting"><thead><tr><th>Log</th><th>Read</th><th>Entries judged (not judged: a skipped '
           "check's)</th><th>Excused (rule)</th></tr></thead><tbody>"]
    out += [f"<tr><td><code>{_e(result, file)}</code></td><td>{_e(result, what)}</td><td>{_e(result, judged)}</td>"
            f"<td>{_e(result, excused)}</td></tr>" for file, what, judged, excused in table]
    out.append("</tbody></table>")
    return "".join(out)


def _stale(result: "AuditResult") -> str:
    found = stale(result)
    if not found:
        return ""
    items = "".join(f"<li>{_e(result, f.text())}</li>" for f in found)
    return (f'<div id="stale-baseline"><h3><code>baseline</code>: stale, which fails the run ({len(found)} '
            f"acceptance(s) matched no finding)</h3><ul>{items}</ul></div>")


def _accepted(result: "AuditResult", check_rows: list[CheckRow]) -> str:
    """Every finding the baseline accepted, with its acceptance (who, until when, why)."""
    rows_ = [r for r in check_rows if r.accepted]
    if not rows_:
        return ""
    out = ['<div id="accepted">']
    for r in rows_:
        out.append(f"<h3><code>{_e(result, r.id)}</code>: {len(r.accepted)} finding(s) accepted by the baseline</h3>"
                   "<ul>")
        out += [f"<li><code>{_e(result, item)}</code>: {_e(result, f.text())} <em>({_e(result, text)})</em></li>"
                for item, f, text in r.accepted]
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def _findings(result: "AuditResult", check_rows: list[CheckRow]) -> str:
    failed = [r for r in check_rows if r.status == FAILED]
    if not failed:
        return _stale(result) + _accepted(result, check_rows) + \
            '<p id="findings">No findings: every check holds.</p>'
    out = [_stale(result), _accepted(result, check_rows), '<div id="findings">']
    for r in failed:
        below = f" ({escape(below_text(r.id, result.settings.fail_on))})" if r.below else ""
        out.append(f"<h3><code>{_e(result, r.id)}</code> ({escape(r.severity)}): {escape(r.counted)}{below}"
                   "</h3><ul>")
        out += [f"<li><code>{_e(result, item)}</code>: {_e(result, f.text())}</li>" for item, f in r.findings]
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def _v(result: "AuditResult", text: object) -> str:
    """A value from a log (a path, a name, an address): redacted, on one line with every control character shown
    as an escape, then HTML-escaped."""
    return escape(visible(result.redact("" if text is None else str(text))), quote=True)


def _who(result: "AuditResult", d: dict[str, Any]) -> str:
    name = _v(result, d.get("display_name") or "(no display name)")
    eid = f'<br><span class="small">entity <code>{_v(result, d["entity_id"])}</code></span>' \
        if d.get("entity_id") else ""
    return f"{name}{eid}"


def _unnamed(doc: dict[str, Any]) -> str:
    """The review's requests that named no secret (a list of Kubernetes Secrets), said apart."""
    n = int(doc.get("unnamed") or 0)
    return f", {n} named no secret but saw every one they took in" if n else ""


def _review(result: "AuditResult") -> str:
    """The access review (review.py): per secret path and identity what was done, when and from where; the new
    identities; the review items. Data from logs: every value escaped."""
    doc = shown_review(result)
    if not doc:
        return '<p id="review">No access review: no Vault/OpenBao, Kubernetes or CloudTrail audit log was read.</p>'
    span = doc.get("span") or {}
    new = doc.get("new_identities") or {}
    items = doc.get("items") or []
    more = doc.get("items_more") or {}
    out = [f'<div id="review"><p>{len(doc["paths"])} secret paths, {int(doc["identities"])} identities, '
           f'{int(doc["requests"])} requests ({int(doc["denied"])} denied{_unnamed(doc)}) from '
           f'{_v(result, span.get("first") or "-")} '
           f'to {_v(result, span.get("last") or "-")}. Review items are for a person to look at; they are not '
           "failures and do not change the verdict.</p>"]
    out.append('<h3>Who accessed each secret</h3><table id="review-paths"><thead><tr><th>Path</th><th>Identity</th>'
               "<th>Tokens</th><th>Operations (requests / denied)</th><th>Denied</th><th>First (UTC)</th>"
               "<th>Last (UTC)</th><th>Sources</th></tr></thead><tbody>")
    for p in doc["paths"]:
        idents = p["identities"]
        span_rows = max(len(idents), 1) + (1 if p.get("identities_more") else 0)
        head = f'<td rowspan="{span_rows}"><code>{_v(result, p["path"])}</code></td>'
        if not idents:
            out.append(f"<tr>{head}<td colspan=\"7\">-</td></tr>")
        for i, d in enumerate(idents):
            ops = ", ".join(f'{_v(result, op)} {int(c["requests"])} / {int(c["denied"])}'
                            for op, c in d["operations"].items())
            sources = ", ".join(f"<code>{_v(result, a)}</code> ({int(n)})" for a, n in d["sources"].items())
            if d.get("sources_more"):
                sources += f" (+{int(d['sources_more'])} more requests)"
            tokens = ", ".join(f"<code>{_v(result, a)}</code>" for a in d["accessors"])
            if d.get("accessors_more"):
                tokens += f" (+{int(d['accessors_more'])})"
            cls = ' class="denied"' if d["denied"] else ""
            out.append(f'<tr{cls} data-path="{_v(result, p["path"])}">{head if i == 0 else ""}'
                       f"<td>{_who(result, d)}</td><td>{tokens or '-'}</td><td>{ops}</td>"
                       f'<td class="den">{int(d["denied"])}</td><td class="t">{_v(result, d["first"] or "-")}</td>'
                       f'<td class="t">{_v(result, d["last"] or "-")}</td><td>{sources or "-"}</td></tr>')
        if p.get("identities_more"):
            out.append(f'<tr><td colspan="7" class="small">{int(p["identities_more"])} more requests by identities '
                       "not listed (only the first 50 of a path are)</td></tr>")
    out.append("</tbody></table>")
    if doc.get("paths_more"):
        out.append(f'<p class="small">{int(doc["paths_more"])} more requests on paths not listed (only the first '
                   "paths are kept).</p>")
    if doc.get("again_in_other_files"):
        from ..review import AGAIN

        out.append(f"<p><strong>{escape(AGAIN[0].upper() + AGAIN[1:])}.</strong></p>")
    out.append(f'<h3>New identities</h3><p class="small">First seen at or after {_v(result, new.get("since") or "-")}'
               f' ({_v(result, new.get("cutoff", ""))}). {_v(result, new.get("reason", ""))}</p>')
    if new.get("identities"):
        out.append('<table id="review-new"><thead><tr><th>Identity</th><th>First (UTC)</th><th>Last (UTC)</th>'
                   "<th>Requests</th></tr></thead><tbody>")
        for d in new["identities"]:
            out.append(f'<tr><td>{_who(result, d)}</td><td class="t">{_v(result, d["first"])}</td>'
                       f'<td class="t">{_v(result, d["last"] or "-")}</td><td>{int(d["requests"])}</td></tr>')
        out.append("</tbody></table>")
    elif new.get("judged"):
        out.append("<p>None.</p>")
    out.append(f"<h3>Review items ({len(items) + sum(int(n) for n in more.values())})</h3>")
    if not items:
        out.append('<p id="review-items">None: no burst of reads, no read from a new source address, no read outside '
                   "working hours and no run of denied reads.</p>")
    else:
        out.append('<table id="review-items"><thead><tr><th>When (UTC)</th><th>Pattern</th><th>Path</th>'
                   "<th>Identity</th><th>Reads</th><th>Source</th><th>What</th></tr></thead><tbody>")
        for it in items:
            out.append(f'<tr data-pattern="{_v(result, it["pattern"])}"><td class="t">{_v(result, it["when"])}</td>'
                       f"<td>{_v(result, it['pattern'])}</td><td><code>{_v(result, it['path'])}</code></td>"
                       f"<td>{_who(result, it)}</td><td>{int(it['reads'])}</td>"
                       f"<td>{_v(result, it['source'] or '-')}</td><td>{_v(result, it['detail'])}</td></tr>")
        out.append("</tbody></table>")
    if more:
        out.append('<p class="small">Not listed: ' + ", ".join(f"{int(n)} more {_v(result, k)}" for k, n in
                                                               sorted(more.items())) + ".</p>")
    out.append("</div>")
    return "".join(out)


def render(result: "AuditResult") -> str:
    check_rows = rows(result)
    left = leftovers(result)
    gate = verdict(check_rows, stale(result), left, result.cut_short)
    passed = sum(1 for r in check_rows if r.status == PASSED)
    cleanup = ("<p><strong>Clean-up could not remove</strong> (this fails the run): "
               + "; ".join(_e(result, x) for x in left) + ".</p>") if left else ""
    version = result.facts.version if result.facts is not None and result.facts.version else "unknown"
    title = f"Audit-trail readiness: {safe_target(result.target)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(result, title)}</title><style>{_CSS}</style></head>
<body>
<h1>{_e(result, title)}</h1>
<p class="meta">Run <code>{_e(result, result.run_id)}</code>, started {escape(result.started.isoformat())}
({result.seconds:.2f} s). pytest-auditready {escape(tool_version())}; vault version {_e(result, version)}.
fail_on: {escape(result.settings.fail_on)}.</p>
<p><span id="verdict" class="verdict {gate}">{'FAIL' if gate == FAILED else 'PASS'}</span>
{passed}/{len(check_rows)} checks passed{escape(not_run(check_rows, result.cut_short))}.</p>
{cleanup}
<h2>Checks by control</h2>
<p class="small">{escape(MAPPING_CAVEAT)}</p>
{_checks_table(result, check_rows)}
<h2>What was read, judged and excused</h2>
{_accounting(result)}
<h2>Timeline: simulated accesses and the log entries that recorded them</h2>
{_timeline(result)}
<h2>Findings</h2>
{_findings(result, check_rows)}
<h2>Access review</h2>
{_review(result)}
<h2>Evidence for each control</h2>
<p class="small">{escape(MAPPING_CAVEAT)}</p>
{_controls_table(result)}
<p class="small">evidence.json in this folder holds the ledger, the matched log entries (values redacted), every
verdict and the framework mapping; SHA256SUMS holds the SHA-256 of each file.</p>
</body></html>
"""
