"""The evidence bundle an auditor reviews: evidence.json, summary.md and report.html in one directory, plus
SHA256SUMS (sha256sum -c format) over all three; evidence.json also lists the SHA-256 of the other two.

Nothing secret goes in: the configuration holds no token (tokens never enter Settings) and a URL target loses
any user:password@; log entries keep their structure and clear-text fields (time, path, operation, identity,
remote address, error) and HMAC digests, every other string value becomes "<redacted>"; and the whole text
goes through AuditResult.redact as a second line of defence.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from .. import compliance
from ..auditlog.model import HMAC_RE
from ..safeio import make_folder, write_atomic
from ..text import URL_USERINFO, json_ready, json_visible, without_userinfo
from .common import entries_read, leftovers, rows, safe_target, shown_review, stale, tool_version, verdict

if TYPE_CHECKING:
    from ..auditlog.model import AuditEntry
    from ..result import AuditResult

FORMAT = "pytest-auditready/evidence/1"
FILES = ("evidence.json", "summary.md", "report.html")
REDACTED = "<redacted>"
# Keys whose string values Vault/OpenBao log in clear text by design and that an auditor needs to read.
CLEAR_KEYS = frozenset({
    "type", "time", "id", "path", "operation", "display_name", "entity_id", "remote_address", "remote_port",
    "error", "mount_type", "mount_point", "mount_class", "mount_running_version", "namespace", "policies",
    "token_policies", "identity_policies", "token_type", "client_id", "request_id", "forwarded_from",
    "name", "namespace_id", "token_issue_time",
})


# A command's word that names a credential: its value (the next word, or after "=") is withheld. ("PW", "DB_PW",
# plink's "-pw" too.)
_CREDENTIAL_WORD_RE = re.compile(r"(?i)^-{0,2}(?:[\w.-]*(pass|pwd|token|secret|auth|credential|api[-_]?key"
                                 r"|private[-_]?key)[\w.-]*|(?:[\w.-]*[_.-])?pw)$")
_USER_OPTION_RE = re.compile(r"^(-u|--user)$")  # curl's -u USER:PASSWORD (journalctl's -u UNIT has no ":")
# An HTTP header that carries a credential by its name (Authorization, X-Vault-Token, X-Api-Key, PRIVATE-TOKEN,
# Cookie, X-Amz-Security-Token, ...): its value is withheld, quoted with the header (curl -H "Name: value") or as one
# word (httpie's Name:value).
_HEADER_NAME = r"[\w-]*(?:token|key|secret|pass|pwd|auth|cookie|session|credential|signature)[\w-]*"
_QUOTED_HEADER_RE = re.compile(r"(?i)(['\"])(\s*" + _HEADER_NAME + r"\s*:\s*)([^'\"]*?)(\\?)\1")
_HEADER_WORD_RE = re.compile(r"(?i)(" + _HEADER_NAME + r":)(.*)")
_QUOTES = "'\""
_WITHHELD = "<withheld>"


def mask_command(command: str) -> str:
    """A command of the configuration (log_command, bootstrap) as evidence.json shows it: the program and its
    words, with every credential withheld: a URL's user:password@, the value of an option or variable that names
    a password, token, secret, key or authorization, the value of an HTTP header named for a credential
    (``-H "X-Api-Key: ..."``, ``Cookie:``), the password of ``-u``/``--user USER:PASSWORD``, what a tool's own
    flag takes as a password (``sshpass -p``, ``mysql -pX``, ``redis-cli -a``: scan.argv, also inside
    ``sh -c "..."``), and any word no_secret_leak's judge reads as a credential (a Vault token, a JWT, a cloud
    key)."""
    from ..scan import argv
    from ..scan.secrets import GenericScanner

    text = URL_USERINFO.sub(lambda m: m.group(1) + _WITHHELD + "@", command)
    try:
        words = shlex.split(text)
    except ValueError:  # unbalanced quotes: read as blank-separated words
        words = text.split()
    for _, value in sorted(argv.in_command(words), key=lambda found: -len(found[1])):
        if value and value != _WITHHELD:
            text = text.replace(value, _WITHHELD)
    text = _QUOTED_HEADER_RE.sub(lambda m: m.group(1) + m.group(2) + _WITHHELD + m.group(4) + m.group(1), text)
    out: list[str] = []
    after = ""  # the option word before this one: its value may be withheld
    with GenericScanner() as scanner:
        for word in re.split(r"(\s+)", text):
            if not word or word.isspace():
                out.append(word)
                continue
            lead = word[0] if word[0] in _QUOTES else ""
            trail = word[-1] if len(word) > len(lead) and word[-1] in _QUOTES else ""
            bare = word[len(lead):len(word) - len(trail)]
            name, eq, value = bare.partition("=")
            header = _HEADER_WORD_RE.fullmatch(bare)
            if _WITHHELD in bare:
                pass
            elif after and (_CREDENTIAL_WORD_RE.match(after) or _HEADER_WORD_RE.fullmatch(after)):
                word = lead + _WITHHELD + trail
            elif after and _USER_OPTION_RE.match(after) and ":" in bare:
                word = lead + bare.split(":", 1)[0] + ":" + _WITHHELD + trail
            elif eq and value and _CREDENTIAL_WORD_RE.match(name):
                word = lead + name + "=" + _WITHHELD + trail
            elif header is not None and header.group(2):
                word = lead + header.group(1) + _WITHHELD + trail
            elif scanner.scan_value("log_command", bare) or (eq and scanner.scan_value("log_command", value)):
                word = lead + (name + "=" if eq and value else "") + _WITHHELD + trail
            after = bare if (bare.startswith("-") and not eq) or (header is not None and not header.group(2)) else ""
            out.append(word)
    return "".join(out)


def redact_values(value: Any, key: str = "", in_data: bool = False) -> Any:
    """A log entry's data with every string value that is neither an HMAC digest nor a clear-text field
    replaced by "<redacted>"; numbers, booleans and the structure stay. Inside a request's or response's
    ``data`` (what clients sent and got) only HMAC digests stay, whatever their key."""
    if isinstance(value, Mapping):
        return {str(k): redact_values(v, str(k), in_data or k == "data") for k, v in value.items()}
    if isinstance(value, list):
        return [redact_values(v, key, in_data) for v in value]
    if isinstance(value, str):
        if not value or HMAC_RE.match(value) or (key in CLEAR_KEYS and not in_data):
            return value
        return REDACTED
    return value


def _entry(e: Optional["AuditEntry"]) -> Optional[dict[str, Any]]:
    if e is None:
        return None
    return {"where": e.where, "type": e.type, "time": e.time_text, "request_id": e.request_id,
            "entry": redact_values(dict(e.data))}


def _unreadable(result: "AuditResult") -> list[dict[str, Any]]:
    """The lines that could not be read: each with its reason where the run kept them (a live run's log); per file,
    with the count, where an offline run kept only the count (each line is a required_fields finding at its
    place): never an empty list beside a count that says otherwise."""
    ctx = result.context
    if ctx is not None and ctx.bad_lines:
        return [{"where": b.where, "reason": b.reason} for b in ctx.bad_lines]
    return [{"where": str(a["file"]), "lines": int(a["unreadable_lines"]),
             "reason": f"{int(a['unreadable_lines'])} line(s) of this file could not be read: each is a "
                       "required_fields finding at its line"}
            for a in result.files if int(a.get("unreadable_lines") or 0)]


def build(result: "AuditResult", files: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    ctx = result.context
    check_rows = rows(result)
    settings = result.settings.to_json()
    settings["target"] = safe_target(str(settings.get("target", "")))
    for key, value in settings.items():  # an object store's URL (log, retention_archive...) loses its user:password@
        if isinstance(value, str):
            settings[key] = without_userinfo(value)
        elif isinstance(value, list):
            settings[key] = [without_userinfo(v) if isinstance(v, str) else v for v in value]
    for key in ("log_command", "bootstrap"):  # commands a person wrote: a credential in one is withheld
        if settings.get(key):
            settings[key] = mask_command(str(settings[key]))
    matched = []
    if ctx is not None and result.ledger is not None:
        for a in result.ledger.actions:
            m = ctx.match(a.name)
            matched.append({"action": a.name, "matched_by": m.by, "request": _entry(m.request),
                            "response": _entry(m.response)})
    outcomes_by_check: dict[str, list[dict[str, Any]]] = {}
    for o in result.outcomes:
        outcomes_by_check.setdefault(o.check_id, []).append(o.to_json())
    return {
        "format": FORMAT,
        "tool": {"name": "pytest-auditready", "version": tool_version(), "python": platform.python_version(),
                 "platform": sys.platform},
        "run": {"id": result.run_id, "target": safe_target(result.target),
                "started": result.started.isoformat(), "seconds": round(result.seconds, 3),
                "fail_on": result.settings.fail_on,
                "verdict": verdict(check_rows, stale(result), leftovers(result), result.cut_short),
                "cleanup_could_not_remove": leftovers(result)},
        "vault": result.facts.to_json() if result.facts is not None else None,
        "configuration": settings,
        "ledger": result.ledger.to_json() if result.ledger is not None else None,
        "log": {
            "source": ctx.source if ctx is not None else "",
            "path": ctx.log_path if ctx is not None else None,
            "entries_read": entries_read(result),
            "unreadable_lines": _unreadable(result),
            "unreadable_line_count": sum(int(u.get("lines", 1)) for u in _unreadable(result)),
            "matched": matched,
        },
        "checks": [
            {"id": r.id, "title": r.title, "requirement": r.requirement, "status": r.status,
             "severity": r.severity, "fails_run": r.gating, "findings": len(r.findings), "accepted": len(r.accepted),
             "controls": [c.label for c in compliance.controls_for(r.id)],
             "outcomes": outcomes_by_check.get(r.id, [])}
            for r in check_rows
        ],
        # per log file: what was read, and per check the entries judged and those excused (by rule)
        "accounting": list(result.files),
        # every acceptance of the baseline, used or not: an auditor sees each one
        "acceptances": {
            "baseline": result.baseline.path if result.baseline is not None else "",
            "used": result.baseline.accepted_json() if result.baseline is not None else [],
            "unused": [a.to_json() for a in result.baseline.unused()] if result.baseline is not None else [],
            "stale_findings": [f.to_json() for f in stale(result)],  # each fails the run
            "accepted_findings": [{"check": o.check_id, "item": o.name, "fingerprint": fp, "acceptance": text,
                                   **f.to_json()} for o in result.outcomes for f, fp, text in o.accepted],
        },
        # who read each secret, who is new, and the patterns flagged for a person to review (review.py): paths,
        # identities, counts, times and addresses only; null when no Vault/OpenBao, Kubernetes or CloudTrail log
        # was read
        "review": shown_review(result),
        "frameworks": compliance.frameworks(),
        "files": {"sha256": dict(files or {})},
    }


def _write(path: Path, text: str) -> str:
    """Write one file of the bundle atomically, never through a link; returns the SHA-256 of what was written."""
    data = text.encode("utf-8")
    write_atomic(path, data, f"evidence bundle's {path.name}")
    return hashlib.sha256(data).hexdigest()


def write_bundle(result: "AuditResult", directory: str) -> Path:
    """Write the bundle into ``directory`` (made when missing); AuditReadyError when it cannot be."""
    from . import github, html

    d = make_folder(directory, "evidence bundle")
    sha = {
        "summary.md": _write(d / "summary.md", result.redact(github.summary_markdown(result, heading="#"))),
        "report.html": _write(d / "report.html", result.redact(html.render(result), markup=True)),
    }
    text = json.dumps(json_ready(build(result, sha)), indent=2, ensure_ascii=False, sort_keys=False)
    sha["evidence.json"] = _write(d / "evidence.json", json_visible(result.redact(text)) + "\n")
    _write(d / "SHA256SUMS", "".join(f"{sha[name]}  {name}\n" for name in FILES))
    return d
