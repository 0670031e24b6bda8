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
from ..text import URL_CREDENTIALS, json_ready, json_visible, without_userinfo
from .common import (
    MAPPING_CAVEAT,
    controls_of,
    entries_read,
    leftovers,
    rows,
    safe_target,
    shown_review,
    stale,
    tool_version,
    verdict,
)

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

    text = URL_CREDENTIALS.sub(lambda m: m.group(1) + _WITHHELD + "@", command)
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


# settings a run against no vault (offline) does not use: evidence.json lists them as not used, without values
LIVE_ONLY = ("target", "log", "log_command", "kv_mount", "prefix", "namespace", "ca_file", "audit_device",
             "audit_transport", "log_wait", "request_timeout", "unprivileged_policies",
             "unprivileged_no_default_policy", "canaries", "token_ttl", "allow_foreign_prefix", "vault_config",
             "bootstrap", "bootstrap_timeout")
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_SETTINGS_FILE = "_auditready_settings_file"  # the attribute of Settings that names the file they were read from


def mark_settings_file(settings: Any, path: Optional[str]) -> Any:
    """``settings`` with the file they were read from (a --config file, or the pyproject.toml whose
    [tool.auditready] table was read) kept aside for evidence.json; ``settings`` itself, returned."""
    if path:
        object.__setattr__(settings, _SETTINGS_FILE, str(path))
    return settings


def settings_file_of(config_file: Optional[str], start: Optional[Path] = None, pyproject: Optional[Path] = None
                     ) -> Optional[str]:
    """The file ``config.discover`` reads settings from, found as it finds it: ``config_file`` if given, else the
    nearest pyproject.toml with a [tool.auditready] table at or above ``start``, else ``pyproject`` when it has
    one; None when the settings come from the command line alone."""
    from ..config import _table, find_pyproject

    if config_file:
        return config_file
    found = find_pyproject(start or Path.cwd())
    if found is None and pyproject is not None and pyproject.is_file() and _table(pyproject)[0] is not None:
        found = pyproject
    return str(found) if found is not None else None


def file_digest(path: Optional[str], judged: Optional[Mapping[str, Any]] = None, *, limit: Optional[int] = None
                ) -> Optional[dict[str, Any]]:
    """The SHA-256 and size of ``path``'s bytes as stored (a compressed file's own bytes, said so), or why none is
    given: a file gone, or one that changed since it was judged (``judged``: its ``stored_state`` then) or while it
    was hashed. An object-store URL is named as its store told it (``object_digest``). ``limit``: hash only the
    first so many bytes (what a live run read of a log the vault goes on writing). None for no path."""
    import os

    from ..engine.objects import is_url

    if not path:
        return None
    shown = without_userinfo(str(path))
    if is_url(str(path)):
        return object_digest(str(path), shown)
    from ..engine.files import stored_state

    before = stored_state(str(path))
    if before is None:
        return {"path": shown, "sha256": None, "why": "no such regular file when the evidence was written"}
    if judged and judged.get("changed"):
        return {"path": shown, "sha256": None, "why": "the file changed while it was judged (its size, time or inode "
                "differed after the read from before it): no hash is given, as none would be of the bytes judged"}
    if judged and any(k in judged and judged[k] != before[k] for k in ("size", "mtime_ns", "ctime_ns", "inode")):
        return {"path": shown, "sha256": None, "why": "the file changed after it was judged (its size, time or inode "
                "differ from what was read): no hash is given, as it would not be of the bytes judged"}
    if limit is not None and before["size"] < limit:
        return {"path": shown, "sha256": None, "why": f"the file holds {before['size']} bytes, fewer than the "
                f"{limit} read: it was cut or rewritten after it was judged"}
    h = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(str(path), "rb") as f:
            while limit is None or size < limit:
                chunk = f.read(1 << 20 if limit is None else min(1 << 20, limit - size))
                if not chunk:
                    break
                head = head or chunk[:8]
                h.update(chunk)
                size += len(chunk)
            st = os.fstat(f.fileno())
            changed = (st.st_mtime_ns, st.st_ctime_ns) != (before["mtime_ns"], before["ctime_ns"]) and limit is None
    except OSError as exc:
        return {"path": shown, "sha256": None, "why": f"it could not be read: {exc.strerror or exc}"}
    if changed or (limit is None and size != before["size"]):
        return {"path": shown, "sha256": None, "why": "the file changed while it was hashed: no hash is given"}
    out: dict[str, Any] = {"path": shown, "sha256": h.hexdigest(), "bytes": size}
    if limit is not None and before["size"] > limit:
        out["of"] = f"its first {limit} bytes, what the run read; the vault wrote {before['size'] - limit} more since"
    kind = next((name for magic, name in _COMPRESSED if head.startswith(magic)), "")
    if kind:
        out["as"] = f"the file as stored ({kind}-compressed); its entries were judged decompressed"
    return out


def object_digest(url: str, shown: str) -> dict[str, Any]:
    """An object judged, as its store told it when the run listed it (``engine.objects.told``: size, ETag, version
    id or generation, last modified, the store's checksums) under ``store``, every read of it pinned to the field
    ``pinned_to`` names; its SHA-256 where the run read it whole in this process (a small object, or one read from
    its first byte to its last in order), else null and why."""
    from ..engine.objects import PIN, store_of, told

    known = told(url)
    if known is None:
        return {"path": shown, "sha256": None, "why": "an object-store object this process did not list (read by "
                "another process, or never read): what its store told of it was not recorded here"}
    sha = known.pop("sha256", None)
    out: dict[str, Any] = {"path": shown, "sha256": sha}
    if sha:
        out["bytes"] = known.get("size")
        out["as"] = "the object's bytes as stored, read whole by this run, every read pinned to the version under store"
    else:
        out["why"] = ("read in ranges, or by another process (--jobs, --dask-scheduler): no SHA-256 of its whole "
                      "bytes; the version judged is the one under store, to which every read was pinned")
    out["store"] = known
    out["pinned_to"] = PIN[store_of(url)]
    return out


def seal_digest(log: str) -> Optional[dict[str, Any]]:
    """``log``'s seal chain (LOG.digests) hashed as ``file_digest`` does, with the head of the chain (its last
    record's seq, end, lines, sha256 and key_id); None when there is none."""
    import os

    seal = f"{log}.digests"
    if "://" in log or not os.path.isfile(seal):
        return None
    out = file_digest(seal)
    try:
        with open(seal, "rb") as f:
            last = [line for line in f.read().splitlines() if line.strip()][-1:]
        record = json.loads(last[0]) if last else {}
    except (OSError, ValueError):
        record = {}
    if isinstance(record, dict) and out is not None:
        out["head"] = {k: record[k] for k in ("seq", "end", "lines", "sha256", "key_id") if k in record}
    return out


def inputs(result: "AuditResult") -> dict[str, Any]:
    """What the run judged, by content: each log file (a live run's, as its engine hashed it before its copy was
    removed: ``stored``), its seal chain, the canaries file (its hash only, never what it holds), the key files, the
    baseline and the settings file. A local file is hashed as stored, and only when it is as it was when judged; an
    object is named as its store told it (``object_digest``)."""
    from ..engine.objects import is_url

    logs = []
    for acct in result.files:
        stored = acct.get("stored")
        if isinstance(stored, dict) and "sha256" in stored:  # hashed by the engine that read it (a live run)
            logs.append(dict(stored))
            continue
        name = str(acct.get("file", ""))
        if is_url(name):  # named as its store told it (no local size, time or inode to compare)
            logs.append(object_digest(name, without_userinfo(name)))
            continue
        judged = stored if isinstance(stored, dict) else None
        entry = file_digest(name, judged) or {"path": name, "sha256": None, "why": "no path"}
        if (entry.get("sha256") and judged is None and "as" not in entry
                and acct.get("bytes") is not None and int(acct["bytes"]) != int(entry.get("bytes", -1))):
            entry = {"path": entry["path"], "sha256": None, "why": f"the file holds {entry['bytes']} bytes and "
                     f"{acct['bytes']} were judged: it changed after it was judged, and no hash is given"}
        if entry.get("sha256") and judged is None:
            entry["judged_state"] = ("its size, time and inode when judged were not recorded: the hash is of the file "
                                     "as it was when the evidence was written" + ("" if "as" in entry else
                                                                                  ", which holds the bytes judged"))
        seal = seal_digest(name) if entry.get("sha256") else None
        if seal is not None:
            entry["seal"] = seal
        logs.append(entry)
    s = result.settings
    baseline = result.baseline.path if result.baseline is not None and result.baseline.path else None
    return {
        "logs": logs,
        "canaries_file": read_digest(s.canaries_file),
        "public_key": read_digest(s.public_key),
        "cloudtrail_public_keys": read_digest(s.cloudtrail_public_keys),
        "baseline": read_digest(baseline),
        "settings_file": read_digest(s.__dict__.get(_SETTINGS_FILE)),
    }


def read_digest(path: Optional[str]) -> Optional[dict[str, Any]]:
    """A small input (settings, canaries, key or baseline file) by the bytes this process read it as
    (``safeio.READ_DIGESTS``), not as the file is now (red team rt70 F2: a canaries file replaced during the run
    was named by the new file's hash); no hash when two reads of it differed; one it did not read (here: a worker
    read it) is hashed as it is now (``file_digest``), said so. None for no path."""
    import os

    from ..safeio import READ_DIGESTS

    if not path:
        return None
    key = os.path.abspath(str(path))
    if key not in READ_DIGESTS:
        out = file_digest(path)
        if out is not None and out.get("sha256"):
            out["judged_state"] = "not read by this process: the hash is of the file as it was when the evidence " \
                                  "was written"
        return out
    read = READ_DIGESTS[key]
    shown = without_userinfo(str(path))
    if read is None:
        return {"path": shown, "sha256": None, "why": "the run read it twice and found two contents: it changed "
                "while the run read it, so no hash is given"}
    return {"path": shown, "sha256": read[0], "bytes": read[1], "as": "the bytes the run read"}


def _configuration(result: "AuditResult", settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as evidence.json gives them: for a run against no vault (offline), target "offline", and the
    live-only ones named under "not_used" (their values, as the settings hold them, were not used by this run)."""
    if result.target != "offline":
        return settings
    out = dict(settings)
    out["target"] = "offline"
    out["not_used"] = {"keys": [k for k in LIVE_ONLY if k in settings and k != "target"],
                       "why": "they set up a live run against a vault; this run read exported logs only"}
    return out


def build(result: "AuditResult", files: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    ctx = result.context
    check_rows = rows(result)
    controls = controls_of(result)
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
                "cleanup_could_not_remove": leftovers(result),
                # the checks some of whose planned items did not run, and why: each fails the run
                "not_run": _not_run(result)},
        "vault": result.facts.to_json() if result.facts is not None else None,
        "configuration": _configuration(result, settings),
        # the SHA-256 and size of each input judged (inputs): an auditor re-verifies the bytes they hold
        "inputs": inputs(result),
        "ledger": result.ledger.to_json() if result.ledger is not None else None,
        "log": {
            "source": ctx.source if ctx is not None else "",
            "path": _log_path(result),
            "entries_read": entries_read(result),
            "unreadable_lines": _unreadable(result),
            "unreadable_line_count": sum(int(u.get("lines", 1)) for u in _unreadable(result)),
            "matched": matched,
        },
        "checks": [
            {"id": r.id, "title": r.title, "requirement": r.requirement, "status": r.status,
             "severity": r.severity, "fails_run": r.fails_run, "findings": len(r.findings),
             # the entries those findings stand for (a roll-up past a check's cap counts every one it holds)
             "entries": r.entries, "accepted": len(r.accepted),
             "controls": [c.label for c in compliance.controls_for(r.id)],
             # what this check says of each of its controls, as every report gives it: a control reads "passed" only
             # where the run holds evidence for what it asks (red team rt82 F7)
             "control_status": [{"control": f"{fw} {req}", "status": c.status, "basis": result.redact(c.basis)}
                                for fw, req, said in controls for c in said if c.check_id == r.id],
             "not_run": list(r.left_out),  # what kept planned items of it from running (each fails the run)
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
        # every control of the mapping, with what each of its checks says of it (a live-only check offline: "not
        # evidenced"), as the compliance JUnit's control.* properties give it (red team rt82 F7, F8, F13)
        "controls": [{"control": f"{fw} {req}", "checks": [
            {"check": c.check_id, "status": c.status, "basis": result.redact(c.basis)} for c in said]}
            for fw, req, said in controls],
        "controls_note": MAPPING_CAVEAT,
        "files": {"sha256": dict(files or {})},
    }


def _not_run(result: "AuditResult") -> Optional[dict[str, Any]]:
    """The audit items of the run that did not run: per check, why (each fails the run), with the rule and its fix;
    None when every planned item ran."""
    from ..result import LEFT_OUT_RULE

    left = result.left_out
    if not left:
        return None
    return {"checks": [{"id": check, "why": reasons} for check, reasons in left.items()], "rule": LEFT_OUT_RULE}


def _log_path(result: "AuditResult") -> Optional[str]:
    """The log a live run read, as its entries name it (an embedded server's log, gone with it, is named as the
    server wrote it, never by the copy the checks judged then removed); an offline run's: none (see accounting)."""
    for acct in result.files:
        stored = acct.get("stored")
        if isinstance(stored, dict) and stored.get("path"):
            return str(stored["path"])
    ctx = result.context
    return ctx.log_path if ctx is not None else None


def _write(path: Path, text: str) -> str:
    """Write one file of the bundle atomically, never through a link; returns the SHA-256 of what was written."""
    data = text.encode("utf-8")
    write_atomic(path, data, f"evidence bundle's {path.name}")
    return hashlib.sha256(data).hexdigest()


def write_bundle(result: "AuditResult", directory: str) -> Path:
    """Write the bundle into ``directory`` (made when missing); AuditReadyError when it cannot be."""
    from . import github, html, without_workflow_commands

    d = make_folder(directory, "evidence bundle")
    sha = {
        "summary.md": _write(d / "summary.md", result.redact(github.summary_markdown(result, heading="#"))),
        "report.html": _write(d / "report.html", result.redact(html.render(result), markup=True)),
    }
    text = json.dumps(json_ready(build(result, sha)), indent=2, ensure_ascii=False, sort_keys=False)
    # as the JSON and SARIF reports: a file name's or a logged path's "##[" written #\u0023[, the same string to a
    # reader, no workflow command where CI prints the bundle (red team rt92 F10)
    text = without_workflow_commands(json_visible(result.redact(text)))
    sha["evidence.json"] = _write(d / "evidence.json", text + "\n")
    _write(d / "SHA256SUMS", "".join(f"{sha[name]}  {name}\n" for name in FILES))
    return d
