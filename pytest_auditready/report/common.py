"""What every human-facing report shows, computed once: one row per check (status, severity, controls, findings),
the fail_on gate, and text hygiene (secrets redacted, control characters made visible) that each format then
escapes in its own way (HTML, Markdown, workflow commands).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

from .. import compliance
from ..checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome
from ..result import worst_status
from ..text import visible, visible_lines

if TYPE_CHECKING:
    from ..result import AuditResult



@dataclass(frozen=True)
class CheckRow:
    id: str
    title: str
    requirement: str
    status: str  # passed, failed, skipped
    severity: str
    gating: bool  # a failure of this check fails the run under the fail_on setting
    findings: tuple[tuple[str, Finding], ...]  # (item name, finding)
    reason: str = ""  # why it was skipped

    @property
    def first(self) -> Optional[Finding]:
        return self.findings[0][1] if self.findings else None

    @property
    def controls(self) -> str:
        return compliance.summary(self.id)


def gates(fail_on: str, check_id: str) -> bool:
    """Whether a failure of ``check_id`` fails the run under ``fail_on`` ("any" or a severity level)."""
    if fail_on == "any":
        return True
    return compliance.severity_rank(compliance.severity(check_id)) >= compliance.severity_rank(fail_on)


def rows(result: "AuditResult") -> list[CheckRow]:
    by_check: dict[str, list[Outcome]] = {}
    for o in result.outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    out = []
    for check in result.checks:
        outs = by_check.get(check.id, [])
        status = worst_status(outs)
        out.append(
            CheckRow(
                id=check.id,
                title=check.title,
                requirement=check.requirement,
                status=status,
                severity=compliance.severity(check.id),
                gating=status == FAILED and gates(result.settings.fail_on, check.id),
                findings=tuple((o.name, f) for o in outs if o.status == FAILED for f in o.findings),
                reason="; ".join(sorted({o.reason for o in outs if o.reason})) if status == SKIPPED else "",
            )
        )
    return out


def verdict(check_rows: Sequence[CheckRow]) -> str:
    """'failed' when a gating check failed, else 'passed'."""
    return FAILED if any(r.gating for r in check_rows) else PASSED


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


def split_where(where: str) -> tuple[str, Optional[int]]:
    """'path:line' -> (path, line); a where without a line number -> (where, None)."""
    path, sep, line = where.rpartition(":")
    if sep and line.isdigit() and path:
        return path, int(line)
    return where, None


def relative_path(path: str) -> str:
    """A path as GitHub and SARIF want it: relative to the workspace (or the working directory) when inside it."""
    if not path:
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


_FRAMING = {"cri": "CRI (containerd, CRI-O)", "docker": "Docker json-file", "journal": "journald JSON export"}


def accounting_lines(files: Sequence[Mapping[str, Any]]) -> list[str]:
    """What each file gave the checks, for a terminal: lines read, entries, unreadable lines, and per check the
    entries judged and those excused, with the rule that excused them."""
    out: list[str] = []
    for a in files:
        out.append(f"{visible(str(a['file']))} ({a['format'] or 'empty'}): {a['lines']} lines read, {a['entries']} "
                   f"entries, {a['unreadable_lines']} unreadable")
        if a.get("framing"):
            out.append(f"  framing taken off: {_FRAMING.get(str(a['framing']), visible(str(a['framing'])))}; "
                       f"{a.get('left_out', 0)} records of the vault's own server log (stderr) left out")
        judged = [f"{cid} {t['judged']}" for cid, t in a["checks"].items() if t.get("judged") is not None]
        if judged:
            out.append("  entries judged: " + ", ".join(judged))
        for cid, t in a["checks"].items():
            for e in t.get("excused", ()):
                out.append(f"  {cid} excused {e['entries']}: {visible(str(e['rule']))}")
    return out


def tool_version() -> str:
    """This package's version, read when a report is written: importing a report module never reads the
    installed distribution's metadata (importlib.metadata costs 8 ms of every start-up)."""
    from .. import __version__

    return __version__
