"""Accepted findings: a baseline file that lists known findings by a stable fingerprint, each with a reason, an
owner and an expiry date, so that a CI gate can pass on a finding the team has decided to live with for a while.

An auditor must see every acceptance: an accepted finding is reported as accepted (the item is skipped with the
acceptance as its reason, SARIF marks it suppressed, the evidence bundle lists it), never dropped. An acceptance
past its expiry no longer accepts (the finding fails again, saying so), and one that matches no finding fails the
run: a stale baseline is a finding of its own.

A fingerprint is a digest of the check, the file's name, the finding's message with line numbers taken out and,
for a finding about an entry, that entry: its request id (Vault's request.id, a Kubernetes auditID, a CloudTrail
requestID or eventID) and the digest of the line that holds it, so an acceptance accepts the finding that was
reviewed, never the same defect in a new entry or in another host's file of that name (red team rt68, F1), nor in
a later request that reuses the id: a client chooses a Kubernetes Audit-ID, or a generic log's X-Request-ID, and
the replayed request is written on another line, at other times (red teams rt69 F3, rt70 F3). Where the line
cannot be read again (a live run's log that is gone, an object in a bucket) the request id alone names the entry;
where there is neither, the line's number. Line numbers stay out otherwise, so that lines rotated out before an
entry do not undo its acceptance. A finding about the whole file keeps the file-level fingerprint.

A finding's message never holds a secret value, and neither does the baseline: a request id is written in clear
only when it has the shape of a generated id (``shown_request_id``), and a credential of a documented shape in an
acceptance's text (its reason, owner or summary, as written or as edited by hand) is shown by its kind and
fingerprint wherever it is printed (``masked``; rt70 F1, F4). No pytest here: every front end applies the same
``Baseline``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import lzma
import os
import re
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Optional, Sequence

from .checks.base import FAILED, SKIPPED, Finding, Outcome
from .errors import AuditReadyError
from .text import UUID, redact, visible

# /2: fingerprints name the entry (its request id and its line's digest: ``entry_of``); /1 named none, so one
# acceptance accepted the same defect in every entry of every file of that name: refused, to be written again
# (``load``). A /2 file written before the line's digest joined the request id (never released) still loads: its
# acceptances of entries with a request id match nothing now, and fail as stale until written again.
FORMAT = "auditready-baseline/2"
OLD_FORMATS = frozenset({"auditready-baseline/1"})
DEFAULT_NAME = ".auditready-baseline.json"
# a line number, or a list of them ("lines 30, 45"), in a message: out of the fingerprint
_LINES = re.compile(r"\b(lines?) \d+(?:-\d+)?(?:, \d+(?:-\d+)?)*")
_EXPIRED = re.compile(r"\(its acceptance ([0-9a-f]{24}) by ")
# A request id of the shape of one a server generates, written in clear (``shown_request_id``): a UUID (Vault's
# request.id, a Kubernetes auditID, a CloudTrail eventID and most requestIDs), or the 16 upper-case letters and digits
# of an S3 request id (as CloudTrail writes S3's requestID)
_UUID = re.compile(UUID)
_S3_ID = re.compile(r"(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{16}")
# a word of an acceptance's text long enough to be a credential (``masked``)
_WORD = re.compile(r"[^\s()\[\]{}<>\"'`,;|]{12,}")
_FIX = ("edit the baseline (auditready baseline writes one from a run): give each acceptance a fingerprint, "
        "a check, a reason, an owner and an expiry date (YYYY-MM-DD)")


def shown_request_id(request_id: str, secrets: Mapping[str, str]) -> str:
    """``request_id`` as a baseline shows it: in clear when it has the shape of an id a server generates (``_UUID``,
    ``_S3_ID``) and is no known value (``secrets``: the canaries), else by its fingerprint: a client may choose a
    Kubernetes Audit-ID or an X-Request-ID, and one can hold a canary, a token or an e-mail address, while the
    baseline is a file to commit (red team rt70, F1)."""
    if (_UUID.fullmatch(request_id) or _S3_ID.fullmatch(request_id)) and redact(request_id, secrets) == request_id:
        return request_id
    from .scan.known import fingerprint

    return f"<sha256 {fingerprint(request_id)}>"


def _credentials(texts: Sequence[str]) -> dict[str, str]:
    """Each credential of a documented shape in ``texts`` (as written) -> how it is shown, ``<KIND sha256 FP>`` as
    no_secret_leak names it: the formats of ``scan.tokens`` anywhere in a text, and each word in which a detector of
    a secret's own format (detect-secrets': a GitHub, Slack or Stripe token, an AWS key id, a JWT) finds one.
    Randomness alone is no credential here: a commit id or a fingerprint in a reason is no secret."""
    from .scan import tokens
    from .scan.known import fingerprint
    from .scan.secrets import NOT_BY_NAME, GenericScanner

    shown: dict[str, str] = {}
    words: set[str] = set()
    for text in texts:
        for kind, credential in tokens.find(text):
            if credential:
                shown.setdefault(credential, f"<{kind} sha256 {fingerprint(credential)}>")
        words.update(_WORD.findall(text))
    if words:
        with GenericScanner() as scanner:
            for word in words:
                hits = [h for h in scanner.scan_value("text", word) if h.kind not in NOT_BY_NAME]
                if hits and not any(c in word for c in shown):  # (a token's key and value: named once, as found)
                    shown[word] = "<" + ", ".join(f"{h.kind} sha256 {h.fingerprint}" for h in hits) + ">"
    return shown


def masked(texts: Sequence[str]) -> list[str]:
    """``texts`` (an acceptance's reason, owner, summary, entry: text a person may have written or edited) with each
    credential of a documented shape in them shown by its kind and fingerprint (``_credentials``; red team rt70,
    F4)."""
    shown = _credentials(texts)
    if not shown:
        return list(texts)
    again = re.compile("|".join(re.escape(w) for w in sorted(shown, key=len, reverse=True)))
    return [again.sub(lambda m: shown[m.group(0)], text) for text in texts]


def credentials_in(text: str) -> list[str]:
    """How each credential of a documented shape in ``text`` is shown ("GitHub Token sha256 fbd6b50ba3")."""
    return [v[1:-1] for v in dict.fromkeys(_credentials([text]).values())]


def shows_nothing(text: str) -> bool:
    """``text`` holds no character a reader sees: only spaces, controls and invisible characters (a zero-width
    space, ESC: what ``visible`` shows as an escape). An owner or a reason of such text names nobody and nothing
    (red team rt70, F7)."""
    return all(c.isspace() or visible(c) != c for c in text)


def _split(where: str) -> tuple[str, int]:
    """The file and the line (0: none) a finding's ``where`` names."""
    path, sep, line = where.rpartition(":")
    return (path, int(line)) if sep and line.isascii() and line.isdigit() else (where, 0)


def entry_of(f: Finding, log: str = "", lines: Optional[Mapping[tuple[str, int], str]] = None) -> str:
    """What names the entry ``f`` is about, for its fingerprint: its request id and the digest of its line in
    ``lines`` ((file, line) -> digest, ``line_digests``), since a client may choose the id and send it again; where
    that line could not be read again (a live run's log that is gone, standard input, an object in a bucket) the
    request id alone, or with no request id the line's number; "" for a finding about a whole file. A finding that
    also names further lines (``also_on``) counts them: one more such line is another finding."""
    path, line = _split(f.where)
    digest = (lines or {}).get((path or log, line)) if line else None
    if f.request_id:
        entry = f"request {f.request_id}" + (f"; line sha256 {digest}" if digest else "")
    elif line:
        entry = f"line sha256 {digest}" if digest else f"line {line}"
    else:
        return ""
    return f"{entry}; also on {len(f.also_on)}" if f.also_on else entry


def fingerprint(f: Finding, log: str = "", lines: Optional[Mapping[tuple[str, int], str]] = None) -> str:
    """A finding's stable fingerprint: the same finding of the same entry (``entry_of``) in a file of the same name
    gives the same one, wherever the file lies (``log``: the path the run read it by, when the finding names no
    file:line) and whichever line the entry moved to."""
    path = _split(f.where)[0] or log
    file = os.path.basename(path)
    message = f.message
    for p in {path, log} - {""}:
        message = message.replace(p, os.path.basename(p))
    message = _LINES.sub(r"\1 N", message)
    entry = entry_of(f, log, lines)
    return hashlib.sha256(f"{f.check_id}\0{file}\0{message}\0{entry}".encode("utf-8", "backslashreplace")
                          ).hexdigest()[:24]


_CHUNK = 1 << 20


def line_digests(path: str, wanted: Iterable[int]) -> dict[int, str]:
    """The SHA-256 of each ``wanted`` line (1-based, without its newline) of the log file ``path``, read as the run
    read it (decompressed), in one pass of bounded memory however long a line is. A line that cannot be read again
    (no such file, an object-store URL, a read error) is left out: its finding is then named by its line number."""
    from .engine.objects import is_url
    from .offline.reader import open_log

    want = set(wanted)
    out: dict[int, str] = {}
    if not want or not path or is_url(path):
        return out
    try:
        f = open_log(path)
    except AuditReadyError:
        return out
    last = max(want)
    n = 1
    h = hashlib.sha256() if n in want else None
    try:
        with f:
            while n <= last:
                chunk = f.read(_CHUNK)
                if not chunk:
                    if h is not None:  # the last line, without a newline
                        out[n] = h.hexdigest()
                    break
                start = 0
                while n <= last:
                    nl = chunk.find(b"\n", start)
                    if h is not None:
                        h.update(chunk[start:] if nl < 0 else chunk[start:nl])
                    if nl < 0:
                        break
                    if h is not None:
                        out[n] = h.hexdigest()
                    n, start = n + 1, nl + 1
                    h = hashlib.sha256() if n in want else None
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        pass  # the lines read so far are named by their digests, the rest by their numbers
    return out


def read_lines(findings: Iterable[Finding], log: str, into: dict[tuple[str, int], str]) -> None:
    """Add to ``into`` the digests of the lines that ``findings`` name (``line_digests``), each file read once for
    the lines not yet there."""
    wanted: dict[str, set[int]] = {}
    for f in findings:
        path, line = _split(f.where)
        if line and ((path or log), line) not in into:
            wanted.setdefault(path or log, set()).add(line)
    for path, lines in wanted.items():
        got = line_digests(path, lines)
        into.update(((path, n), got.get(n, "")) for n in lines)  # "": not to be read again; named by its number


@dataclass(frozen=True)
class Acceptance:
    fingerprint: str
    check: str
    reason: str
    owner: str
    expires: datetime.date
    summary: str = ""  # what was found, as the finding said it (never a value)
    where: str = ""  # the file's name, and the line the entry was on when accepted
    # the entry it accepts: "request id X" (``shown_request_id``), "line N" (named by its digest) or "" (the file)
    entry: str = ""

    def text(self) -> str:
        return f"accepted by {self.owner} until {self.expires.isoformat()}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "check": self.check, "where": self.where, "entry": self.entry,
                "summary": self.summary, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat()}


@dataclass
class Baseline:
    """The acceptances of a run, and what they matched (``used``), across every outcome they were applied to."""

    path: str = ""
    acceptances: dict[str, Acceptance] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    today: datetime.date = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).date())
    replaced: int = 0  # acceptances of an earlier format left out (``load(..., replacing=True)``)
    _digests: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)  # (file, line) -> digest

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
        checks = {a.check for a in self.acceptances.values()}  # (a log is read again only for what may match)
        read_lines([f for f in outcome.findings if f.check_id in checks], log, self._digests)
        for f in outcome.findings:
            a = self.acceptances.get(fingerprint(f, log, self._digests))
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


def load(path: Optional[str], *, required: bool = False, replacing: bool = False) -> Baseline:
    """The baseline at ``path`` (none: an empty one). A file that is there but malformed is an error (exit 2):
    a gate never runs on half a baseline. So is one of an earlier format, whose fingerprints named no entry (an
    acceptance of it would accept nothing here, or each of them would fail as stale): it is written again with
    `auditready baseline` (``replacing``: the command that does so, which gets an empty baseline that counts the
    acceptances it leaves out)."""
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
    form = doc.get("format") if isinstance(doc, dict) else None
    if form != FORMAT:
        if replacing and (form is None or form in OLD_FORMATS):
            return Baseline(path, replaced=len(items))
        said = (f"is of format {visible(str(form))!r}" if form not in (None, "") else "names no format") + (
            ", whose fingerprints name no entry: one acceptance accepted the same finding in every entry and in "
            "every file of that name" if form is None or form in OLD_FORMATS else f", not {FORMAT}")
        raise AuditReadyError(f"the baseline {path} {said}",
                              "write it again with `auditready baseline` (each acceptance then names one entry: "
                              "review what it accepts before you commit it)")
    out = Baseline(path)
    loaded: list[Acceptance] = []
    for i, item in enumerate(items, 1):
        where = f"acceptance {i} in {path}"
        if not isinstance(item, dict):
            raise AuditReadyError(f"{where} is not an object", _FIX)
        missing = [k for k in ("fingerprint", "check", "reason", "owner", "expires")
                   if not isinstance(item.get(k), str) or shows_nothing(item[k])]
        if missing:
            raise AuditReadyError(f"{where} lacks {', '.join(missing)}", _FIX)
        loaded.append(Acceptance(item["fingerprint"].strip(), item["check"].strip(), item["reason"].strip(),
                                 item["owner"].strip(), _date(item["expires"], where), str(item.get("summary", "")),
                                 str(item.get("where", "")), _shown_entry(str(item.get("entry", "")))))
    # what every report prints of an acceptance, with no credential in it, however the file was written or edited
    texts = masked([t for a in loaded for t in (a.reason, a.owner, a.summary, a.where, a.entry)])
    for n, a in enumerate(loaded):
        reason, owner, summary, where, entry = texts[5 * n:5 * n + 5]
        out.acceptances[a.fingerprint] = replace(a, reason=reason, owner=owner, summary=summary, where=where,
                                                 entry=entry)
    return out


def _shown_entry(entry: str) -> str:
    """An acceptance's ``entry`` as read, with a request id of no generated id's shape shown by its fingerprint
    (a baseline written by hand, or before ``shown_request_id``)."""
    head, sep, request_id = entry.partition("request id ")
    if not sep or head or request_id.startswith("<sha256 "):
        return entry
    return f"request id {shown_request_id(request_id, {})}"


def write(path: str, outcomes: Iterable[tuple[str, Outcome]], reason: str, owner: str, expires: datetime.date,
          keep: Optional[Baseline] = None, secrets: Optional[Mapping[str, str]] = None) -> int:
    """Write a baseline accepting every finding of ``outcomes`` ((log file, outcome) pairs; acceptances already
    in ``keep`` for the same fingerprint are kept as they are); the number of acceptances written. What it says of
    a finding names no value: each of ``secrets`` (the canaries) by its name, a credential of a documented shape by
    its kind and fingerprint (``masked``), a request id by its fingerprint unless it has a generated id's shape."""
    from .safeio import write_atomic

    known = secrets or {}
    pairs = list(outcomes)
    digests: dict[tuple[str, int], str] = {}
    by_log: dict[str, list[Finding]] = {}
    for log, o in pairs:
        by_log.setdefault(log, []).extend(o.findings)
    for log, findings in by_log.items():  # each file read once, for every check's findings
        read_lines(findings, log, digests)
    made: list[Acceptance] = []
    entries: dict[str, Optional[Acceptance]] = {}
    for log, o in pairs:
        for f in o.findings:
            fp = fingerprint(f, log, digests)
            old = keep.acceptances.get(fp) if keep is not None else None
            if old is not None:
                entries[fp] = old
                continue
            file, line = _split(f.where)
            entry = (f"request id {shown_request_id(f.request_id, known)}" if f.request_id
                     else f"line {line}" if line else "")
            where = (f"{os.path.basename(file)}:{line}" if line else os.path.basename(file)) or os.path.basename(log)
            made.append(Acceptance(fp, f.check_id, reason, owner, expires, redact(f.message, known),
                                   redact(where, known), entry))
            entries[fp] = None
    texts = masked([t for a in made for t in (a.summary, a.where)])
    for n, a in enumerate(made):
        entries[a.fingerprint] = replace(a, summary=texts[2 * n][:300], where=texts[2 * n + 1])
    doc = {"format": FORMAT, "accepted": [a.to_json() for _, a in sorted(entries.items()) if a is not None]}
    write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=True) + "\n", "baseline")
    return len(entries)


def default_path(settings: Any, start: Optional[str] = None) -> Optional[str]:
    """``baseline`` of the settings, else ``.auditready-baseline.json`` in the working directory if there is one."""
    configured: Optional[str] = getattr(settings, "baseline", None)
    if configured:
        return configured
    candidate = os.path.join(start or os.getcwd(), DEFAULT_NAME)
    return candidate if os.path.lexists(candidate) else None
