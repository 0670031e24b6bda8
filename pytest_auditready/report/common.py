"""What every human-facing report shows, computed once: one row per check (status, severity, controls, findings),
the fail_on gate, and text hygiene (secrets redacted, control characters made visible) that each format then
escapes in its own way (HTML, Markdown, workflow commands).
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

from .. import compliance
from ..checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome, counted, entries_of
from ..result import LEFT_OUT_RULE, NOT_RUN, left_out_kind, unit, worst_status
from ..text import visible, visible_lines

if TYPE_CHECKING:
    from ..result import AuditResult
    from ..vault.scenario import VaultFacts

# A check whose findings the baseline accepted, none left failing: it did not hold, and the run does not fail on it.
# Its items are skipped for pytest (JUnit has no such status), but no report calls it "skipped", the word of a check
# that was out of scope (red team rt68 F11).
ACCEPTED = "accepted"
# A control that asks for particular events to be captured (mappings.json's evidenced_by), when none of the items
# that exercise them ran: the check's status says nothing of it (red team rt68 F2).
NOT_EVIDENCED = "not evidenced"


def check_status(outcomes: Sequence[Outcome]) -> str:
    """A check's status over its items, as every report gives it: ``worst_status``, but ``accepted`` where that
    would be "skipped" because the baseline accepted every finding of an item (accept.py skips that item). A check
    that passed on other items stays passed, with its accepted findings beside it."""
    status = worst_status(outcomes)
    if status == SKIPPED and any(o.accepted for o in outcomes):
        return ACCEPTED
    return status


@dataclass(frozen=True)
class ControlStatus:
    """What one check says of one control: its status there and, where that is not the check's own word for the
    whole requirement, what it rests on or why nothing does."""

    check_id: str
    status: str
    basis: str = ""


# A control part of which the run shows (mappings.json's "partly": what is shown and what is not), where the check
# passed: never "passed" (red team rt82 F5, F6, F9, F10).
PARTLY = "partly evidenced"
# How a check's pass says that a setting made it ask less than its default (config.NARROWS): such a pass is no
# evidence of what was left out, so neither is it of a control (red team rt82 F1).
NARROWED = "Narrowed by settings:"
# What every report says of its control lines (red team rt82 F13).
MAPPING_CAVEAT = ("A control line says which evidence this run holds for a requirement, not that the requirement "
                  "is met.")


def target_kind(offline: bool, target: str = "") -> str:
    """The kind of run a control is judged on: "offline", "embedded" (vault and tool on one host clock: the embedded
    server, or a URL target on this host, ``same_host``) or "url"."""
    if offline or target == "offline":
        return "offline"
    return "embedded" if target in ("", "embedded") or same_host(target) else "url"


def same_host(url: str) -> bool:
    """Whether the URL target ``url`` is on the tool's own host, as its address says without asking a resolver: a
    loopback address or "localhost", or this host's own name (red team rt99 F3: a vault at 127.0.0.1 was taken as an
    independent clock, and its agreement with the tool's as evidence of clock synchronisation)."""
    import ipaddress
    import socket

    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost") or host == socket.gethostname().lower():
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _control_worst(outcomes: Sequence[Outcome]) -> str:
    """A check's status over the items a control rests on, the worst first: a finding the baseline accepted on any
    of them means the requirement did not hold there, whatever the other items say (red team rt82 F2)."""
    status = check_status(outcomes)
    return ACCEPTED if status == PASSED and any(o.accepted for o in outcomes) else status


def _narrowing(outcomes: Sequence[Outcome]) -> str:
    """The narrowing notes of the passing items (``NARROWED`` onwards), or ""."""
    said = [o.reason[o.reason.index(NARROWED):] for o in outcomes
            if o.status == PASSED and o.reason and NARROWED in o.reason]
    return "; ".join(dict.fromkeys(said))


def control_status(check_id: str, outcomes: Sequence[Outcome], spec: Mapping[str, Any],
                   offline: bool, target: str = "") -> ControlStatus:
    """The status ``check_id`` gives the control ``spec`` (a requirement of mappings.json): NOT_EVIDENCED where the
    mapping says this kind of run cannot evidence it (``not_evidenced_on``), else the check's own over its items
    (or, when the control names the actions that evidence it for this check, ``evidenced_by``, over those of its
    items that ran, NOT_EVIDENCED when none did), the worst item first; a pass narrowed by a setting reads
    NOT_EVIDENCED, and one beside logs that were skipped (offline), or that the mapping says shows only part of
    the requirement (``partly``), reads PARTLY, saying why."""
    kind = target_kind(offline, target)
    cut = (spec.get("not_evidenced_on") or {}).get(check_id)
    if cut and kind in cut.get("targets", ()):
        return ControlStatus(check_id, NOT_EVIDENCED, str(cut.get("why", "")))
    scope = (spec.get("evidenced_by") or {}).get(check_id)
    basis = ""
    considered = outcomes
    if scope:
        globs = [str(g) for g in scope.get("actions", ())]
        mine = [o for o in outcomes if o.subject and any(fnmatchcase(o.subject, g) for g in globs)]
        ran = [o for o in mine if o.status != SKIPPED or o.accepted]
        what = str(scope.get("what") or ", ".join(globs))
        if not ran:
            if offline or not mine:
                return ControlStatus(check_id, NOT_EVIDENCED, f"it rests on {what}, and no such action ran"
                                     + (" (an offline log holds none of the run's own actions)" if offline else ""))
            why = "; ".join(sorted({o.reason for o in mine if o.reason})) or NOT_RUN
            return ControlStatus(check_id, NOT_EVIDENCED, f"it rests on {what}, and none of those items ran ({why})")
        considered, outcomes, basis = mine, ran, f"{what}: {', '.join(o.name for o in ran)}"
    status = _control_worst(outcomes)
    if status != PASSED:
        return ControlStatus(check_id, status, basis)
    narrowed = _narrowing(outcomes)
    if narrowed:
        return ControlStatus(check_id, NOT_EVIDENCED, f"a setting narrowed the check: {narrowed}")
    # Offline, an item is a log: passed on some, not judged on others (a check that skipped one file of the set).
    # (Live, an item is an action; those a URL target does not take are out of its scope by design.)
    left = [o for o in considered if o.status == SKIPPED and not o.accepted] if kind == "offline" else []
    if left:
        why = "; ".join(sorted({o.reason for o in left if o.reason})) or NOT_RUN
        return ControlStatus(check_id, PARTLY, f"passed on {len(considered) - len(left)} of {len(considered)} "
                             f"items; not judged on {', '.join(o.name for o in left)} ({why})")
    part = (spec.get("partly") or {}).get(check_id)
    if part:
        return ControlStatus(check_id, PARTLY, str(part) + (f" ({basis})" if basis else ""))
    return ControlStatus(check_id, status, basis)


def _absent(offline: bool) -> str:
    return ("the check runs only live (pytest --auditready): an offline run cannot evidence it" if offline
            else "the check was not part of this run")


def control_view(outcomes: Sequence[Outcome], check_ids: Sequence[str], offline: bool,
                 target: str = "") -> list[tuple[str, str, list[ControlStatus]]]:
    """Every control of the mapping: (framework, requirement, what each of its checks says of it), in the
    mapping's order; a check not in ``check_ids`` (a live-only check offline) says NOT_EVIDENCED, and why."""
    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    out = []
    for fw, body in compliance.frameworks().items():
        for req, spec in body["requirements"].items():
            said = [control_status(c, by_check.get(c, []), spec, offline, target) if c in check_ids
                    else ControlStatus(c, NOT_EVIDENCED, _absent(offline)) for c in spec["checks"]]
            if said:
                out.append((fw, req, said))
    return out


def controls_of(result: "AuditResult") -> list[tuple[str, str, list[ControlStatus]]]:
    """``control_view`` of a run, as every report gives it."""
    return control_view(result.outcomes, [c.id for c in result.checks], result.target == "offline", result.target)


@dataclass(frozen=True)
class CheckRow:
    id: str
    title: str
    requirement: str
    status: str  # passed, failed, skipped
    severity: str
    gating: bool  # a failure of this check fails the run under the fail_on setting
    findings: tuple[tuple[str, Finding], ...]  # (item name, finding)
    reason: str = ""  # why it was skipped, or which acceptances hold its findings
    notes: tuple[str, ...] = ()  # what a pass rests on (the Notes of its passing items), when the check said
    # findings the baseline accepted: (item name, finding, the acceptance), shown whatever the status
    accepted: tuple[tuple[str, Finding, str], ...] = ()
    # the controls of this check whose status is not the check's own: (framework, requirement, status, basis)
    scoped: tuple[tuple[str, str, str, str], ...] = ()
    # the kinds of what kept planned items of this check from running (result.LEFT_OUT_KINDS, fixed words): each fails
    # the run, and the reason says it with LEFT_OUT_RULE
    left_out: tuple[str, ...] = ()

    @property
    def fails_run(self) -> bool:
        """This check fails the run: it failed at or above fail_on, or planned items of it did not run."""
        return self.gating or bool(self.left_out)

    @property
    def below(self) -> bool:
        """The check did not hold, but its severity is below fail_on: the run does not fail on it."""
        return self.status == FAILED and not self.gating

    @property
    def first(self) -> Optional[Finding]:
        return self.findings[0][1] if self.findings else None

    @property
    def entries(self) -> int:
        """The entries its findings stand for (``Finding.entries``: a roll-up past a check's cap counts all it holds,
        a leak every line it names): more than ``findings`` where one stands for several."""
        return entries_of(f for _, f in self.findings)

    @property
    def counted(self) -> str:
        """'21 finding(s)', or '21 finding(s) on 25 entries': what every report says of its findings' number."""
        return counted(len(self.findings), self.entries)

    def more(self, noun: str = "") -> str:
        """' (+20 more)' (' (+20 more finding(s))' with ``noun``), or ' (+20 more; 25 entries in all)', beside the first
        finding; "" for one."""
        if len(self.findings) < 2:
            return ""
        n = self.entries
        return (f" (+{len(self.findings) - 1} more{' ' + noun if noun else ''}"
                + (f"; {n:,} entries in all)" if n != len(self.findings) else ")"))

    @property
    def note(self) -> str:
        """What a check that has no finding says instead, labelled as what it is, never as a finding (red team rt96
        F6): a pass's note ("note: ..."), why it was skipped ("skipped: ..."), or the acceptances that hold its
        findings; "" when none."""
        if self.first_accepted:
            return self.first_accepted
        if self.reason:
            return f"{'skipped' if self.status == SKIPPED else 'note'}: {self.reason}"
        return f"note: {'; '.join(self.notes)}" if self.notes else ""

    @property
    def controls(self) -> str:
        """'SOC 2 CC7.2; PCI DSS v4.0.1 10.2.1, 10.2.1.5 (not evidenced)': the check's controls, each whose status is
        not the check's own saying it."""
        other = {(fw, req): status for fw, req, status, _ in self.scoped}
        by_fw: dict[str, list[str]] = {}
        for c in compliance.controls_for(self.id):
            status = other.get((c.framework, c.requirement))
            by_fw.setdefault(c.framework, []).append(c.requirement + (f" ({status})" if status else ""))
        return "; ".join(f"{fw} {', '.join(reqs)}" for fw, reqs in by_fw.items()) or "unmapped"

    @property
    def first_accepted(self) -> str:
        """The first accepted finding and its acceptance, and how many more, for a cell; "" when none."""
        if not self.accepted:
            return ""
        _, f, text = self.accepted[0]
        more = f" (+{len(self.accepted) - 1} more accepted)" if len(self.accepted) > 1 else ""
        return f"accepted ({text}): {f.text()}{more}"  # who and why first: a cell may be cut short


def gates(fail_on: str, check_id: str) -> bool:
    """Whether a failure of ``check_id`` fails the run under ``fail_on`` ("any" or a severity level)."""
    if fail_on == "any":
        return True
    return compliance.severity_rank(compliance.severity(check_id)) >= compliance.severity_rank(fail_on)


def below_text(check_id: str, fail_on: str) -> str:
    """Why a failed check does not fail the run, in the words every report uses."""
    return f"severity {compliance.severity(check_id)}, below fail_on={fail_on}: it does not fail the run"


def level(fails_run: bool) -> str:
    """The SARIF level of a finding (and of its rule): "error" when it fails the run, "warning" when fail_on lets
    it pass (the check did not hold all the same). GitHub code scanning gates a pull request on "error"."""
    return "error" if fails_run else "warning"


def rows(result: "AuditResult") -> list[CheckRow]:
    by_check: dict[str, list[Outcome]] = {}
    for o in result.outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    view = controls_of(result)
    out = []
    for check in result.checks:
        outs = by_check.get(check.id, [])
        status = check_status(outs)
        left = tuple(dict.fromkeys(k for k in (left_out_kind(o.reason) for o in outs if o.status == SKIPPED) if k))
        reason = (("; ".join(sorted({o.reason for o in outs if o.reason})) or NOT_RUN) if status == SKIPPED
                  else "; ".join(sorted({o.reason for o in outs if o.accepted and o.status == SKIPPED and o.reason}))
                  if status == ACCEPTED else "")
        if left and status == SKIPPED:
            reason = f"{reason}; {LEFT_OUT_RULE}"
        out.append(
            CheckRow(
                id=check.id,
                title=check.title,
                requirement=check.requirement,
                status=status,
                severity=compliance.severity(check.id),
                gating=status == FAILED and gates(result.settings.fail_on, check.id),
                findings=tuple((o.name, f) for o in outs if o.status == FAILED for f in o.findings),
                reason=reason,
                notes=tuple(dict.fromkeys(o.reason for o in outs if o.status == PASSED and o.reason)),
                accepted=tuple((o.name, f, text) for o in outs for f, _, text in o.accepted),
                scoped=tuple((fw, req, c.status, c.basis) for fw, req, said in view for c in said
                             if c.check_id == check.id and c.status != status),
                left_out=left,
            )
        )
    return out


def verdict(check_rows: Sequence[CheckRow], stale: Sequence[Finding] = (), leftovers: Sequence[str] = (),
            cut_short: str = "") -> str:
    """'failed' when a gating check failed, the baseline is stale, clean-up left something in the vault, planned
    items of a check did not run (``CheckRow.left_out``: deselected, skipped by a marker or hook, removed, or the
    session was cut short first), or the session was cut short (``cut_short``) with checks that did not run (each
    fails the run), else 'passed'."""
    short = bool(cut_short) and any(_unrun(r) for r in check_rows)
    left = any(r.left_out for r in check_rows)
    return FAILED if stale or leftovers or short or left or any(r.gating for r in check_rows) else PASSED


def _unrun(r: CheckRow) -> bool:
    """A check skipped because (some of) its items did not run (session._not_run, NOT_RUN, left out)."""
    return r.status == SKIPPED and (r.reason == NOT_RUN or r.reason.startswith("not run on every") or bool(r.left_out))


def not_run(check_rows: Sequence[CheckRow], cut_short: str = "") -> str:
    """What a verdict leaves out, said beside it: " (3 checks not run: a, b (deselected); c (skipped by a marker or
    hook); a run that leaves out audit items never passes: ...)" for the checks some of whose planned items did not
    run (each fails the run) and those none of whose items ran (a PASS over them is no pass of theirs), and why, when
    the session was cut short; else "". Fixed words and check ids only: a skip's own reason (a conftest's text) is the
    check's, in its row, where each report escapes it."""
    groups: dict[str, list[str]] = {}
    for r in check_rows:
        if r.left_out:
            groups.setdefault(", ".join(r.left_out), []).append(r.id)
    plain = [r.id for r in check_rows if not r.left_out and r.status == SKIPPED and r.reason == NOT_RUN]
    n = sum(len(ids) for ids in groups.values()) + len(plain)
    said = [f"{', '.join(ids)} ({kinds})" for kinds, ids in groups.items()] + ([", ".join(plain)] if plain else [])
    why = f"; the run was {cut_short}" if cut_short and any(_unrun(r) for r in check_rows) else ""
    rule = f"; {LEFT_OUT_RULE}" if groups else ""
    return f" ({n} check{'s' if n != 1 else ''} not run: {'; '.join(said)}{why}{rule})" if n or why else ""


def leftovers(result: "AuditResult") -> list[str]:
    """``left_in_vault`` of the run: every report says it, as the exit code does."""
    return left_in_vault(result.facts, result.settings.embedded)


def left_in_vault(facts: Optional["VaultFacts"], embedded: bool) -> list[str]:
    """What clean-up could not remove from a vault that outlives the run (a URL target: the embedded server goes
    with what it holds), by name: it fails the run whatever the checks say."""
    return [] if facts is None or embedded else [str(r) for r in facts.residue]


def stale(result: "AuditResult") -> list[Finding]:
    """The baseline's acceptances that matched no finding of the run: each fails the run (whatever fail_on says),
    so every report says so, as the exit code does."""
    return list(result.baseline.unused_findings()) if result.baseline is not None else []


def run_verdict(result: "AuditResult") -> str:
    """The verdict of the run as its exit code gives it: a gating failed check, a stale baseline, or what clean-up
    left in the vault."""
    return verdict(rows(result), stale(result), leftovers(result), result.cut_short)


def entries_read(result: "AuditResult") -> int:
    """Audit-log entries the run read: the live log's, else the sum over the files an offline run read."""
    if result.context is not None and result.context.entries:
        return len(result.context.entries)
    return sum(int(a.get("entries") or 0) for a in result.files)


def file_of(result: "AuditResult", outcome: Outcome) -> str:
    """The log file an outcome judged: an offline outcome's subject when it names a file of the run, else a URL
    target's log file (the user's --auditready-log); "" when there is none (the embedded target's log is a
    throw-away copy in a temporary folder, nothing a reader could open)."""
    names = {str(a.get("file")) for a in result.files}
    if outcome.subject and outcome.subject in names:
        return outcome.subject
    ctx = result.context
    if ctx is None or result.target in ("embedded", "offline"):
        return ""
    return ctx.log_path or ""


def clean(result: "AuditResult", text: str) -> str:
    """Redact every known secret, then make control characters visible (\\x1b, never a live escape)."""
    return visible_lines(result.redact(text))


def safe_target(target: str) -> str:
    """The target as shown in reports: a URL loses any user:password@ part."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return target


def records_file(result: "AuditResult", path: str) -> bool:
    """Whether the "lines" of the run's file ``path`` are records (``unit``: a CloudTrail file, whose delivery is one
    JSON document, often one physical line): a finding's file:N names its Nth record, no line of the file."""
    return path in result.record_files


def place(result: "AuditResult", f: Finding, fallback: str = "") -> tuple[str, Optional[int], Optional[int]]:
    """``locate``, as a location may point at it: (file, line, record): a finding's number is its line, or, in a file
    whose unit is records (``records_file``), the record's place (red team rt96 F2: startLine 4 of a one-line
    CloudTrail delivery file), with no line."""
    path, line = locate(result, f, fallback)
    if line is not None and records_file(result, path):
        return path, None, line
    return path, line, None


def split_where(where: str) -> tuple[str, Optional[int]]:
    """'path:line' -> (path, line); a where without a line number -> (where, None)."""
    path, sep, line = where.rpartition(":")
    if sep and line.isascii() and line.isdigit() and path:  # ("²" is a digit to isdigit, none to int)
        return path, int(line)
    return where, None


def locate(result: "AuditResult", f: Finding, fallback: str = "") -> tuple[str, Optional[int]]:
    """The file (as named on disk) and line a finding names, for a location: its ``where`` is "file:line" or the
    file alone, with the file's control characters shown as escapes. A file of the run whose own name ends in
    ":<digits>" is that file, no line; a finding that names no file sits on ``fallback``, no line."""
    if not f.where:
        return fallback, None
    names = {visible(str(a.get("file"))): str(a.get("file")) for a in result.files}
    if fallback:
        names.setdefault(visible(fallback), fallback)
    if f.where in names:
        return names[f.where], None
    path, line = split_where(f.where)
    return _from_here(result, names.get(path, path)), line


def _from_here(result: "AuditResult", path: str) -> str:
    """``path`` as found from the working directory: a live run's findings name the vault configuration's files by
    their names in its folder (``server.hcl:30``), which an annotation must point at as the repository holds them
    (``vault-config/server.hcl``)."""
    folder = getattr(result.settings, "vault_config", None)
    if not folder or not path or is_url(path) or os.path.isabs(path) or os.path.exists(path):
        return path
    base = folder if os.path.isdir(folder) else os.path.dirname(folder)
    joined = os.path.join(base, path)
    return joined if os.path.isfile(joined) else path


_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str) -> bool:
    """Whether ``path`` is an object-store URL (s3://, gs://, az://), not a local path."""
    return bool(_URL_RE.match(path))


def file_to_point_at(path: str) -> str:
    """``path`` as an annotation or a SARIF location names it (``relative_path``), or "" for a file gone from outside
    the workspace (the embedded server's throw-away log): there is nothing there to point at."""
    shown = relative_path(path)
    return "" if shown and os.path.isabs(shown) and not os.path.exists(shown) else shown


def relative_path(path: str) -> str:
    """A path as GitHub and SARIF want it: relative to the workspace (or the working directory) when inside it;
    an object-store URL as it is (a Path would fold its // into /)."""
    if not path or is_url(path):
        return path
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    for base in (os.environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if not base:
            continue
        try:
            return p.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return p.as_posix()


_FRAMING = {"cri": "CRI (containerd, CRI-O)", "docker": "Docker json-file", "journal": "journald JSON export",
            "syslog": "syslog or journalctl headers", "cloudwatch": "a CloudWatch Logs export",
            "timestamped": "a time before each line (kubectl logs --timestamps)",
            "merged": "a command's output (the server's stdout and stderr merged; syslog or journalctl headers where "
                      "present)"}


def shown_path(path: str) -> str:
    """A path for the start of a terminal line: control characters visible, and never read as a workflow command
    (GitHub's runner takes a line that starts with "::", after blanks, as one): such a relative path is shown
    as ./PATH, the same file."""
    text = visible(path)
    return "./" + text if text.lstrip().startswith("::") else text


def _empty(a: Mapping[str, Any]) -> str:
    """The empty lines a file's accounting counts apart (no removed entry: an export's padding, or its newline too
    many at the end), as a clause; "" for none."""
    n = int(a.get("empty_lines") or 0)
    return f", {n} empty (an export's padding or last newline, no entry)" if n else ""


# How checks.base.verdicts has worded the entries of a skipped check, as if a rule had excused them. No rule did:
# the reports say them as not judged, the check being skipped (red team rt68 F10; SPEC: an entry is excused only by
# a positive rule). A tally may also say so itself, under "not_judged".
_SKIPPED_RULE = "skipped: "


def tally_parts(t: Mapping[str, Any]) -> tuple[list[tuple[str, int]], Optional[tuple[int, str]]]:
    """A tally (Tally.to_json) as the reports show it: the entries excused by a rule, [(rule, entries)], and the
    entries the check did not judge because it was skipped, (entries, why), or None."""
    said = t.get("not_judged")
    skipped: Optional[tuple[int, str]] = (int(said["entries"]), str(said.get("reason", ""))) if said else None
    excused: list[tuple[str, int]] = []
    for e in t.get("excused", ()):
        rule = str(e["rule"])
        if rule.startswith(_SKIPPED_RULE) and skipped is None:
            skipped = (int(e["entries"]), rule[len(_SKIPPED_RULE):])
        else:
            excused.append((rule, int(e["entries"])))
    return excused, skipped


def _not_judged(n: int, why: str) -> str:
    return f"{n} not judged: the check was skipped ({why})"


def _not_judged_note(skipped: Optional[tuple[int, str]]) -> str:
    return f" ({_not_judged(*skipped)})" if skipped is not None else ""


def accounting_lines(files: Sequence[Mapping[str, Any]]) -> list[str]:
    """What each file gave the checks, for a terminal: lines read, entries, unreadable lines, and per check the
    entries judged, those excused with the rule that excused them, and those a skipped check did not judge."""
    out: list[str] = []
    for a in files:
        out.append(f"{shown_path(str(a['file']))} ({a['format'] or 'empty'}): {a['lines']} {unit(a)} read, "
                   f"{a['entries']} entries, {a['unreadable_lines']} unreadable{_empty(a)}")
        before = a.get("before_run")
        if isinstance(before, Mapping) and before.get("lines"):  # a URL target's file, from before the run on
            whole = [str(c) for c in before.get("judged_by") or ()]
            out.append(f"  the file holds {a.get('file_lines')} lines: the {before['lines']} written before this run "
                       "began are no entries of the run" + (f" ({', '.join(whole)} read the whole file)" if whole
                                                             else ""))
        if a.get("framing"):
            whose = "the vault's" if a.get("format") in ("vault", None, "") else "the producer's"  # (an EKS export)
            left = (f"lines of {whose} own server log or of journalctl's notes"
                    if a["framing"] in ("syslog", "merged")
                    else f"records of {whose} own server output (stderr, its banner on stdout)")
            out.append(f"  framing taken off: {_FRAMING.get(str(a['framing']), visible(str(a['framing'])))}; "
                       f"{a.get('left_out', 0)} {left} left out")
        if a.get("eight_bit_undone"):
            out.append(f"  a syslog hop escaped 8-bit bytes as #ooo (rsyslog's parser.escape8BitCharactersOnReceive): "
                       f"undone in {a['eight_bit_undone']} entries, read as the vault wrote them")
        judged = [f"{cid} {t['judged']}" for cid, t in a["checks"].items() if t.get("judged") is not None]
        if judged:
            out.append("  entries judged: " + ", ".join(judged))
        for cid, t in a["checks"].items():
            excused, skipped = tally_parts(t)
            for rule, n in excused:
                out.append(f"  {cid} excused {n}: {visible(rule)}")
            if skipped is not None:
                out.append(f"  {cid} {visible(_not_judged(*skipped))}")
    return out


def accounting_rows(files: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Per file, for a table: (file, what was read, entries judged per check (with those a skipped check did not
    judge, and why), entries excused per check with the rule), the same numbers ``accounting_lines`` prints;
    control characters shown, not yet escaped for any format."""
    out = []
    for a in files:
        read = (f"{a['format'] or 'empty'}: {a['lines']} {unit(a)} read, {a['entries']} entries, "
                f"{a['unreadable_lines']} unreadable{_empty(a)}")
        parts = {cid: tally_parts(t) for cid, t in a["checks"].items()}
        judged = ", ".join(f"{cid} {t['judged']}{_not_judged_note(parts[cid][1])}"
                           for cid, t in a["checks"].items() if t.get("judged") is not None)
        excused = "; ".join(f"{cid} {n}: {rule}" for cid, (found, _) in parts.items() for rule, n in found)
        out.append((visible(str(a["file"])), read, visible(judged), visible(excused)))
    return out


_REVIEW_TOKEN_RE = re.compile(r"([/?&=\s,;]+)")


def shown_review(result: "AuditResult") -> Optional[dict[str, Any]]:
    """The access review as the reports show it (``mask_credentials``): a token a client put in a request path
    would otherwise reach report.html and evidence.json verbatim. Known secrets are redacted with the rest of
    each report (AuditResult.redact)."""
    review = result.review
    if not review:
        return review
    if _LAST_REVIEW and _LAST_REVIEW[0] is review:  # report.html and evidence.json of one bundle: judged once
        cached: dict[str, Any] = _LAST_REVIEW[1]
        return cached
    from ..checks.no_secret_leak import found_secrets

    shown: dict[str, Any] = mask_credentials(review, found_secrets(result.outcomes))
    _LAST_REVIEW[:] = [review, shown]
    return shown


_LAST_REVIEW: list[Any] = []  # [the review last shown, how it is shown]


# where a review or an access answer holds request paths from a log: the values of "path" and "scope", and the keys
# of "paths" and "scopes" (path -> counts)
_PATH_FIELDS = frozenset({"path", "paths", "scope", "scopes"})
# and who made a request: a display name (the client chooses it: a token made with -display-name is logged as
# token-<name>) and an entity id, each judged as no_secret_leak judges a display name (by the detectors of a
# secret's own format only, so random ids and generated names stay as written)
_NAME_FIELDS = frozenset({"display_name", "entity_id"})
# and what else a client writes that the review keys by: a source address (behind a proxy whose X-Forwarded-For the
# vault trusts, the header's text as sent) and an operation (a Kubernetes verb, a JSON-lines action), judged the same
_KEYED_NAMES = frozenset({"sources", "operations"})


def _mask_personal(path: str) -> str:
    """``path`` with each segment that holds personal data (data_minimisation's detectors: a card number, an e-mail
    address, a phone number, an IBAN, a national identifier) shown in the masked form that check's findings use:
    what the check reports as data the log should not hold is not repeated in clear beside it."""
    from ..checks.data_minimisation import DETECTORS, detect

    parts = path.split("/")
    for i, part in enumerate(parts):
        if part and not part.startswith("<"):
            hits = detect(part, list(DETECTORS))
            if hits:
                parts[i] = "<" + ", ".join(dict.fromkeys(h.masked for h in hits)) + ">"
    return "/".join(parts)


# Credentials found by one half whose other half has no shape of its own: an AWS access key id and its secret key.
_PAIRED_KINDS = frozenset({"AWS Access Key"})


def mask_credentials(doc: Any, found: Optional[Mapping[str, str]] = None) -> Any:
    """``doc`` (JSON-like data from a log: an access review, an access answer) with every part of a request path
    that no_secret_leak's judge (detect-secrets and the token formats, as it judges a path) reads as a credential
    shown as ``<KIND sha256 FINGERPRINT>``, the words its finding uses, never as written, and every segment holding
    personal data masked as data_minimisation shows it; and any value, or piece of one, that the check's findings
    named (``found``: no_secret_leak.found_secrets, a random credential no format names: red team rt47 F1) as they
    name it; everything else unchanged."""
    if not doc:
        return doc
    from ..checks.no_secret_leak import mask_found
    from ..scan.secrets import GenericScanner

    masked: dict[str, str] = {}

    def mask(scanner: GenericScanner, value: str) -> str:
        if value in masked:
            return masked[value]
        out = value
        whole = scanner.scan_value("path", value)
        if whole:
            parts = _REVIEW_TOKEN_RE.split(value)
            for i, part in enumerate(parts):
                hits = scanner.scan_value("path", part) if i % 2 == 0 and part else ()
                if hits:
                    parts[i] = "<" + ", ".join(f"{h.kind} sha256 {h.fingerprint}" for h in hits) + ">"
            out = "".join(parts)
            # flagged only as a whole (a query parameter and its value), or still holding a credential once the parts
            # flagged alone are masked (a password=... beside a token: red team rt32, F5), or an AWS access key id,
            # whose secret key (40 characters of no format of its own, "/" among them) may be any segment near it
            # (red team rt89 F5): nothing of it is shown
            if out == value or _PAIRED_KINDS & {h.kind for h in whole} or scanner.scan_value("path", out):
                out = "<" + ", ".join(f"{h.kind} sha256 {h.fingerprint}" for h in whole) + ">"
        out = _mask_personal(out)
        masked[value] = out
        return out

    names: dict[str, str] = {}  # a name that holds a credential -> how it is shown

    def name(scanner: GenericScanner, value: str) -> str:
        hits = scanner.scan_value("display_name", value) if value else ()
        if not hits:
            return value
        # the credential of a documented format masked where it stands ("token-<Vault Token sha256 ...>", as the
        # state pytest's reports carry shows it: review.shown_state), else the whole name
        out = masked_tokens(value)
        if out == value or scanner.scan_value("display_name", out):  # (another credential in the rest: red team
            out = "<" + ", ".join(f"{h.kind} sha256 {h.fingerprint}" for h in hits) + ">"  # rt32, F1)
        names[value] = out
        return out

    def walk(scanner: GenericScanner, value: Any, key: str) -> Any:
        if isinstance(value, Mapping):
            return {(mask(scanner, k) if key in _PATH_FIELDS and isinstance(k, str) else
                     name(scanner, k) if key in _KEYED_NAMES and isinstance(k, str) else k): walk(scanner, v, str(k))
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(scanner, v, key) for v in value]
        if isinstance(value, str) and key in _PATH_FIELDS:
            return mask(scanner, value)
        if isinstance(value, str) and key in _NAME_FIELDS:
            return name(scanner, value)
        return value

    with GenericScanner() as scanner:
        out = walk(scanner, doc, "")
    if found:  # (every string: a name, a source, a path or a detail that repeats one)
        out = map_strings(out, lambda text: mask_found(text, found))
    if not names:
        return out
    # the same names wherever else the data repeats them (a review item's detail, a list of new identities)
    again = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    return map_strings(out, lambda text: again.sub(lambda m: names[m.group(0)], text))


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """JSON-like ``value`` with ``fn`` applied to every string in it, keys included (tuples become lists)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {map_strings(k, fn): map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_strings(v, fn) for v in value]
    return value


def masked_tokens(text: str, markup: bool = False) -> str:
    """``text`` with each credential of a documented format (``scan.tokens``) in it shown as ``<KIND sha256 FP>``,
    the words no_secret_leak's findings use (``markup``: written escaped, in XML or HTML). The rules read the text
    as written and as its escapes stand for (``_views``), and each credential is masked in every escaped form it
    may be written in (``_written``): a report is redacted whole once serialised, where a finding's quoted value
    holds an XML entity, a JSON or repr escape of a quote, of a letter or of a line break in place of the character
    a rule needs (red team rt84 F2, F3)."""
    from ..scan import tokens
    from ..scan.known import fingerprint

    found = dict.fromkeys(hit for view in _views(text) for hit in tokens.find(view))
    for kind, credential in found:
        if credential:
            shown = f"<{kind} sha256 {fingerprint(credential)}>"
            for form in _written(credential):
                text = text.replace(form, html.escape(shown) if markup else shown)
    return text


# A backslash escape of JSON or of Python's repr (which findings quote values with): \n, \", \', \\, \/, \xNN,
# \uNNNN, \UNNNNNNNN
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[nrtbf\"'\\/])")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescape(m: "re.Match[str]") -> str:
    s = m.group(0)
    return chr(int(s[2:], 16)) if s[1] in "uUx" else _ESCAPED.get(s[1], s[1])


def _views(text: str) -> list[str]:
    """``text``, and what its lines that hold an escape (with the lines around them, for a rule that spans lines)
    read as once the escapes are made the characters they stand for: XML's and HTML's entities, then up to two
    rounds of backslash escapes (a value quoted with repr inside a JSON string)."""
    views = [text]
    lines = text.split("\n")
    near = sorted({j for i, line in enumerate(lines) if "&" in line or "\\" in line for j in (i - 1, i, i + 1)})
    if not near:
        return views
    part = "\n".join(lines[j] for j in near if 0 <= j < len(lines))
    base = html.unescape(part) if "&" in part else part
    if base != part:
        views.append(base)
    for _ in range(2):
        if "\\" not in base:
            break
        base = _ESCAPE.sub(_unescape, base)
        if _SURROGATE.search(base):  # a JSON surrogate pair joined (a lone one, as a file name's byte, is shown so)
            base = base.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        views.append(base)
    return list(dict.fromkeys(views))


def _written(credential: str) -> list[str]:
    """The forms ``credential`` may be written in within a report, longest first: as it is, JSON-escaped (ASCII
    or not), as Python's repr writes it within either quote, XML- or HTML-escaped, and each of those once more."""
    import json

    def forms(s: str) -> tuple[str, ...]:
        return (json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1], repr(s)[1:-1], repr(s + '"')[1:-2],
                html.escape(s), html.escape(s, quote=False))

    out = {credential}
    for _ in range(2):
        out |= {f for s in list(out) for f in forms(s)}
    return sorted(out, key=len, reverse=True)


def redacted(text: str, secrets: Mapping[str, str], markup: bool = False) -> str:
    """``text`` as every output shows it: each known value by its name (``text.redact``) and each credential of a
    documented format by its kind and fingerprint (``masked_tokens``); ``markup``: written escaped (XML, HTML)."""
    from ..text import redact

    return masked_tokens(redact(text, secrets, markup), markup)


def tool_version() -> str:
    """This package's version, read when a report is written: importing a report module never reads the
    installed distribution's metadata (importlib.metadata costs 8 ms of every start-up)."""
    from .. import __version__

    return __version__
