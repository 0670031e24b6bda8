"""Accepted findings: a baseline file that lists known findings by a stable fingerprint, each with a reason, an
owner and an expiry date, so that a CI gate can pass on a finding the team has decided to live with for a while.

An auditor must see every acceptance: an accepted finding is reported as accepted (the item is skipped with the
acceptance as its reason, SARIF marks it suppressed, the evidence bundle lists it), never dropped. An acceptance
past its expiry no longer accepts (the finding fails again, saying so), and one that matches no finding fails the
run: a stale baseline is a finding of its own. Fingerprints are digests of the check, the file's name and the
finding's message with line numbers taken out; a finding's message never holds a secret value, and neither does
the baseline. No pytest here: every front end applies the same ``Baseline``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Optional

from .checks.base import FAILED, SKIPPED, Finding, Outcome
from .errors import AuditReadyError

FORMAT = "auditready-baseline/1"
DEFAULT_NAME = ".auditready-baseline.json"
_LINES = re.compile(r"\b(lines?) \d+(?:-\d+)?")
_EXPIRED = re.compile(r"\(its acceptance ([0-9a-f]{24}) by ")
_FIX = ("edit the baseline (auditready baseline writes one from a run): give each acceptance a fingerprint, "
        "a check, a reason, an owner and an expiry date (YYYY-MM-DD)")


def _file_of(where: str) -> str:
    path, sep, line = where.rpartition(":")
    return os.path.basename(path if sep and line.isdigit() else where)


def fingerprint(f: Finding, log: str = "") -> str:
    """A finding's stable fingerprint: the same finding in the same file gives the same one, wherever the file
    lies (``log``: the path the run read it by, when the finding names no file:line) and whichever line it moved
    to."""
    path = f.where.rpartition(":")[0] if f.where.rpartition(":")[2].isdigit() else f.where
    path = path or log
    file = os.path.basename(path)
    message = f.message
    for p in {path, log} - {""}:
        message = message.replace(p, os.path.basename(p))
    message = _LINES.sub(r"\1 N", message)
    return hashlib.sha256(f"{f.check_id}\0{file}\0{message}".encode("utf-8", "backslashreplace")).hexdigest()[:24]


@dataclass(frozen=True)
class Acceptance:
    fingerprint: str
    check: str
    reason: str
    owner: str
    expires: datetime.date
    summary: str = ""  # what was found, as the finding said it (never a value)
    where: str = ""

    def text(self) -> str:
        return f"accepted by {self.owner} until {self.expires.isoformat()}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "check": self.check, "where": self.where, "summary": self.summary,
                "reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat()}


@dataclass
class Baseline:
    """The acceptances of a run, and what they matched (``used``), across every outcome they were applied to."""

    path: str = ""
    acceptances: dict[str, Acceptance] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    today: datetime.date = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).date())

    def __bool__(self) -> bool:
        return bool(self.acceptances)

    def apply(self, outcome: Outcome, log: str = "") -> Outcome:
        """``outcome`` (of the log file ``log``, if it is a file's) with its accepted findings moved to
        ``accepted``: skipped, with the acceptances as its reason, when every finding was accepted; still failed
        with the rest otherwise. An expired acceptance accepts nothing, and the finding it names says so."""
        if outcome.status != FAILED or not self.acceptances:
            return outcome
        kept: list[Finding] = []
        accepted: list[tuple[Finding, str, str]] = []
        for f in outcome.findings:
            a = self.acceptances.get(fingerprint(f, log))
            if a is None or a.check != f.check_id:
                kept.append(f)
                continue
            self.used.add(a.fingerprint)
            if a.expires < self.today:
                kept.append(replace(f, message=f"{f.message} (its acceptance {a.fingerprint} by {a.owner} expired on "
                                               f"{a.expires.isoformat()})"))
                continue
            accepted.append((f, a.fingerprint, a.text()))
        if not accepted and kept == list(outcome.findings):
            return outcome
        reason = f"{len(accepted)} finding(s) accepted: " + "; ".join(f"[{fp}] {t}" for _, fp, t in accepted)
        if kept:
            return replace(outcome, findings=tuple(kept), accepted=tuple(accepted))
        return replace(outcome, status=SKIPPED, findings=(), reason=reason, accepted=tuple(accepted))

    def note_used(self, outcomes: Iterable[Outcome]) -> None:
        """Count as used the acceptances that outcomes applied elsewhere (another process) carry."""
        for o in outcomes:
            self.used.update(fp for _, fp, _ in o.accepted)
            for f in o.findings:  # an expired acceptance was used too: it names itself in the finding
                self.used.update(fp for fp in _EXPIRED.findall(f.message) if fp in self.acceptances)

    def unused(self) -> list[Acceptance]:
        """Acceptances that matched no finding of the run: the baseline is stale (the finding was fixed, or it
        moved to a file the run did not read)."""
        return [a for fp, a in sorted(self.acceptances.items()) if fp not in self.used]

    def unused_findings(self) -> list[Finding]:
        return [Finding(a.check, "", f"The acceptance {a.fingerprint} in {self.path} ({a.summary or a.check}, "
                        f"{a.text()}) matched no finding of this run: the baseline is stale.",
                        "remove the acceptance from the baseline (the finding is gone), or run the audit over the "
                        "file it was made for", where=self.path) for a in self.unused()]

    def accepted_json(self) -> list[dict[str, str]]:
        return [self.acceptances[fp].to_json() for fp in sorted(self.used) if fp in self.acceptances]


def _date(value: Any, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise AuditReadyError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)", _FIX) from None


def load(path: Optional[str], *, required: bool = False) -> Baseline:
    """The baseline at ``path`` (none: an empty one). A file that is there but malformed is an error (exit 2):
    a gate never runs on half a baseline."""
    if not path:
        return Baseline()
    from .safeio import MAX_LIST_BYTES, read_small

    if not os.path.lexists(path):
        if required:
            raise AuditReadyError(f"no such baseline file: {path}", "write one with `auditready baseline`")
        return Baseline()
    raw = read_small(path, "baseline file", MAX_LIST_BYTES)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise AuditReadyError(f"the baseline {path} is not valid JSON", _FIX) from None
    items = doc.get("accepted") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise AuditReadyError(f"the baseline {path} has no \"accepted\" list", _FIX)
    out = Baseline(path)
    for i, item in enumerate(items, 1):
        where = f"acceptance {i} in {path}"
        if not isinstance(item, dict):
            raise AuditReadyError(f"{where} is not an object", _FIX)
        missing = [k for k in ("fingerprint", "check", "reason", "owner", "expires")
                   if not isinstance(item.get(k), str) or not item[k].strip()]
        if missing:
            raise AuditReadyError(f"{where} lacks {', '.join(missing)}", _FIX)
        a = Acceptance(item["fingerprint"].strip(), item["check"].strip(), item["reason"].strip(),
                       item["owner"].strip(), _date(item["expires"], where), str(item.get("summary", "")),
                       str(item.get("where", "")))
        out.acceptances[a.fingerprint] = a
    return out


def write(path: str, outcomes: Iterable[tuple[str, Outcome]], reason: str, owner: str, expires: datetime.date,
          keep: Optional[Baseline] = None) -> int:
    """Write a baseline accepting every finding of ``outcomes`` ((log file, outcome) pairs; acceptances already
    in ``keep`` for the same fingerprint are kept as they are); the number of acceptances written."""
    from .safeio import write_atomic

    entries: dict[str, dict[str, str]] = {}
    for log, o in outcomes:
        for f in o.findings:
            fp = fingerprint(f, log)
            old = keep.acceptances.get(fp) if keep is not None else None
            a = old or Acceptance(fp, f.check_id, reason, owner, expires, f.message[:300],
                                  _file_of(f.where) or os.path.basename(log))
            entries[fp] = a.to_json()
    doc = {"format": FORMAT, "accepted": [entries[k] for k in sorted(entries)]}
    write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=True) + "\n", "baseline")
    return len(entries)


def default_path(settings: Any, start: Optional[str] = None) -> Optional[str]:
    """``baseline`` of the settings, else ``.auditready-baseline.json`` in the working directory if there is one."""
    configured: Optional[str] = getattr(settings, "baseline", None)
    if configured:
        return configured
    candidate = os.path.join(start or os.getcwd(), DEFAULT_NAME)
    return candidate if os.path.lexists(candidate) else None
