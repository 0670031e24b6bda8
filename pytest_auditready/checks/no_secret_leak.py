"""no_secret_leak: no canary value or scenario token in any encoding, and nothing detect-secrets would flag."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from ..auditlog.formats import format_of
from ..auditlog.lines import long_fix, unscanned
from ..auditlog.model import BadLine, Entries, Record
from ..scan import secret_data
from ..scan.hyperscan import LeakScanner
from ..scan.secrets import COMMAND_LINE, HEADER_CREDENTIAL, HEADER_KINDS, NOT_BY_NAME, RESPONSE_HEADER_CREDENTIAL
from ..text import PIECE, UUID
from .base import Check, CheckContext, Finding, Outcome, Skip, Visitor, feed
from .data_minimisation import masked_key_path, personal_data

ID = "no_secret_leak"
_GENERIC_FIX = (
    "rotate the exposed credential, then find how it reached the log in clear text (log_raw, a non-HMAC key, an "
    "audited header, a pipeline that adds fields)"
)
_MAX = 20
_ALSO = 100_000  # further lines kept per secret (for the JSON's also_on); the rest counted
_KEYS = 50  # further keys kept per secret (each named: the fix is per key); the rest counted
_UNSCANNED_FIX = ("find what wrote so long a line (an entry of a request of many MiB: Vault's max_request_size is 32 "
                  "MiB by default) and lower max_request_size, or keep such requests away from the audited vault")
# What a platform's or a shipper's own fields hold by the dozen and no secret needs: random ids (Filebeat's host.id and
# log.file.fingerprint, a CloudWatch stream's name, a container's id) and a host's addresses. Beside the entries, a
# value is judged by a secret's own format, its key's name and the run's known values only.
_BY_CHANCE = frozenset({"Base64 High Entropy String", "Hex High Entropy String", "Public IP (ipv4)"})
_AROUND_FIX = (
    "rotate the exposed value, then stop the platform or the log shipper from writing it beside the audit entries "
    "(Docker's --log-opt env, env-regex and labels; a shipper's added fields or enrichment; a process's command line "
    "in its journal fields): whatever ships or keeps the audit log keeps it too"
)
_SERVER_LOG_FIX = (
    "rotate the exposed value, then find what wrote it into the vault's own server log (the lines its framing "
    "left out as no audit entry: a plugin's or a storage backend's error message, log_level trace or debug) and "
    "stop it there; keep the server log out of the audit trail's file if it need not be there"
)
_COMMAND_FIX = (
    "rotate the credential, then give it to the command from a file or an environment variable (a Kubernetes "
    "Secret mounted, or referenced with secretKeyRef) instead of as an argument: the audit log records a "
    "container's command and args and an exec request's command as they are"
)
_DATA_FIX = (
    "take the key out of the mount's audit_non_hmac_request_keys / audit_non_hmac_response_keys (bao secrets tune, "
    "sys/mounts/<mount>/tune) or turn the device's log_raw off, rotate the secret, and purge the log's copies"
)
_NUMBER_FIX = (
    "store the secret's values as JSON strings (the vault HMACs strings only: a number is written as it is on every "
    "audit device), rotate the secret, and purge the log's copies"
)
_HEADER_FIX = (
    "rotate the credential, and log that header HMAC'd (sys/config/auditing/request-headers/<name> with hmac=true) "
    "or stop auditing it"
)
_RESPONSE_HEADER_FIX = (
    "rotate the credential (end the session), and take the header out of the mount's allowed_response_headers "
    "(sys/mounts/<path>/tune), which writes it into every response entry in clear"
)
_HEADER_FIXES = {HEADER_CREDENTIAL: _HEADER_FIX, RESPONSE_HEADER_CREDENTIAL: _RESPONSE_HEADER_FIX}


# A known value cut by a hop: syslog's message size limit writes the rest of a message as a message of its own, a
# container runtime a long line as pieces, so a value astride the cut is whole on neither line. An unreadable line
# that ends inside a value (its last characters, _PART at least, begin the value and do not end it), or that holds
# a value's last _PART characters near its start (the rest), holds that value cut; in any spelling the scan looks
# for (base64, hex, URL, JSON and HTML escapes), as the whole value is found.
_PART = 12
_EDGE = 320

Ends = dict[str, list[tuple[str, str]]]  # a spelling's first (or last) _PART characters -> [(spelling, name)]


def _parts(secrets: dict[str, str]) -> tuple[Ends, Ends]:
    """The spellings of the known values (of _PART + 2 characters at least: the shorter side of a cut of a shorter
    one could not tell it), by their first and by their last _PART characters."""
    from ..text import _spellings

    starts: Ends = {}
    ends: Ends = {}
    for form, shown in _spellings(tuple(sorted(secrets.items()))):
        if len(form) >= _PART + 2:
            starts.setdefault(form[:_PART], []).append((form, shown[1:-1]))
            ends.setdefault(form[-_PART:], []).append((form, shown[1:-1]))
    return starts, ends


def _cut_values(text: str, starts: Ends, ends: Ends) -> list[str]:
    """The names of the known values ``text`` (an unreadable line) holds cut: ending inside one, or holding the end
    of one near its start, not whole."""
    names: set[str] = set()
    tail = text[-_EDGE:]
    for i in range(len(tail) - _PART + 1):
        for form, name in starts.get(tail[i : i + _PART], ()):
            if len(tail) - i < len(form) and form.startswith(tail[i:]):
                names.add(name)
    head = text[:_EDGE]
    for i in range(len(head) - _PART + 1):
        for form, name in ends.get(head[i : i + _PART], ()):
            if form not in text:
                names.add(name)
    return sorted(names)


class Leaks(Visitor):
    """Scans raw text block by block (see scan.hyperscan.LeakScanner). Each secret is reported once, at its first line,
    with the other lines it appears on and every other key it is under (the same credential in two audited
    headers, a value in two tuned keys: each key is fixed on its own, red team rt80 F1); judging stops after _MAX
    distinct secrets."""

    stays = ("parts",)  # the known values' spellings: memory only, never sent to another process

    def __init__(self, ctx: CheckContext) -> None:
        fmt = format_of(ctx.settings)
        self.known_fix = fmt.known_fix
        self.defined = {label for label, _ in fmt.secret_objects.values()}  # secrets by the format's definition
        self.defined.update(HEADER_KINDS)
        self.defined.update(fmt.defined_labels)
        self.scanner = LeakScanner(ctx.secrets, fmt=fmt).__enter__()
        # personal data found as a secret gets no fingerprint (data_minimisation's test: see _secret_data)
        self.scanner.generic.personal = _personal
        self.vault = fmt.name == "vault"  # a secret's data in clear (scan.secret_data)
        self.parts = _parts(dict(ctx.secrets))
        # (what, which) -> [file, first line, message, fix, further lines (at most _ALSO), further lines not kept,
        # the key the message names, {further key: its fix} (at most _KEYS), further keys not kept]
        self.secrets: dict[tuple[str, str], list[Any]] = {}
        self.request_ids: dict[tuple[str, int], str] = {}
        self.closed = False
        # A later range of a file (``later_range``): every sighting in order, None before each block scanned, for
        # ``merge`` to replay after the sightings of the ranges before (the first line of a secret may be there).
        self.sightings: Optional[list[Optional[tuple[tuple[str, str], str, int, str, str, str]]]] = None
        # Lines too long to hold, skipped as they streamed past unscanned (file, line, why): the check cannot say
        # they hold no secret, so each is a finding (fail closed), not a pass.
        self.unscanned: list[tuple[str, int, str]] = []
        self.more_unscanned = 0
        self.more_unscanned_where = ""  # the first of those counted past _MAX (file:line): their roll-up points there

    def later_range(self) -> None:
        self.sightings = []

    def bad_line(self, bad: BadLine) -> None:
        if unscanned(bad.reason):
            if len(self.unscanned) < _MAX:
                self.unscanned.append((bad.file, bad.line, bad.reason))
            else:
                if not self.more_unscanned:
                    self.more_unscanned_where = f"{bad.file}:{bad.line}"
                self.more_unscanned += 1
        elif self.parts[0] and bad.raw and len(self.secrets) < _MAX:
            names = _cut_values(bad.raw, *self.parts)
            if names:  # (two known values that begin alike, cut where they agree: both named)
                shown = " or ".join(f"<{n}>" for n in names)
                self._add(("known", f"{'|'.join(names)}/cut"), bad.file, bad.line,
                          f"Part of {shown} appears in an unparseable line: a hop cut the line inside the value, "
                          "which was in the entry whole.", self.known_fix)

    def merge(self, later: Visitor) -> None:
        """Replay ``later``'s sightings block by block, as one pass would have made them after this range's."""
        assert isinstance(later, Leaks)
        if later.sightings is None:
            raise NotImplementedError("the visitor of a later range was not told so (later_range)")
        scanning = True
        for seen in later.sightings:
            if seen is None:
                scanning = len(self.secrets) < _MAX
                if scanning and self.sightings is not None:
                    self.sightings.append(None)
            elif scanning:
                self._add(*seen)
        for file, line, why in later.unscanned:
            self.bad_line(BadLine(file, line, why))
        if later.more_unscanned and not self.more_unscanned:
            self.more_unscanned_where = later.more_unscanned_where
        self.more_unscanned += later.more_unscanned
        for key, request_id in later.request_ids.items():
            if key in self.request_ids:
                self.request_ids[key] = request_id
        self.merge_excused(later)

    def _add(self, ident: tuple[str, str], file: str, line: int, message: str, fix: str, under: str = "") -> None:
        """A sighting of the secret ``ident`` at ``line``, under the key ``under`` (quoted as a finding shows it;
        "" when none is known)."""
        if self.sightings is not None:
            self.sightings.append((ident, file, line, message, fix, under))
        seen = self.secrets.get(ident)
        if seen is None:
            self.secrets[ident] = [file, line, message, fix, [], 0, under, {}, 0]
            self.request_ids[(file, line)] = ""
            return
        if under and under != seen[6] and under not in seen[7]:
            if len(seen[7]) < _KEYS:
                seen[7][under] = fix
            else:
                seen[8] += 1
        if (seen[0], seen[1]) != (file, line) and seen[4][-1:] != [line]:  # (a line once, under any key)
            if len(seen[4]) < _ALSO:
                seen[4].append(line)
            else:
                seen[5] += 1

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self._scan(file, first_line, data, False)

    def left_out(self, file: str, line: int, raw: bytes) -> None:
        """The vault's own server log is no entry, but a secret there is in the log all the same."""
        self._scan(file, line, raw + b"\n", True)

    def around(self, file: str, first: int, records: Sequence[tuple[int, bytes]]) -> None:
        """The fields a platform or a shipper wrote beside the entries: scanned as one text of the block's lines."""
        lines = [b""] * (records[-1][0] + 1)
        for i, raw in records:
            lines[i] = raw
        self._scan(file, first, b"\n".join(lines) + b"\n", False, beside=True)

    def _scan(self, file: str, first_line: int, data: bytes, server_log: bool, beside: bool = False) -> None:
        if len(self.secrets) >= _MAX:
            return
        if self.sightings is not None:
            self.sightings.append(None)
        found: set[tuple[int, str]] = set()  # (line, fingerprint or key) named by the scan
        for hits in self.scanner.scan_block(data, first_line):
            what = ("a line of the vault's own server log (left out as no audit entry)" if server_log
                    else "a field the platform or the log shipper wrote beside the entry" if beside
                    else "the log" if hits.parsed else "an unparseable line")
            headers = {g.key: g.kind for g in hits.generic if g.kind in HEADER_KINDS}
            for name, encoding, key in hits.known:
                # a key of the framing's record
                under = repr(masked_key_path(key)) if key and not server_log else ""
                # (in a request header audited in clear, the header's setting is the fix: red team rt88 L1)
                self._add(("known", f"{name}/{encoding}"), file, hits.line,
                          f"<{name}> appears in {what} ({encoding}){f' under key {under}' if under else ''}.",
                          _SERVER_LOG_FIX if server_log else _AROUND_FIX if beside
                          else _HEADER_FIXES[headers[key]] if key in headers else self.known_fix,
                          under)
            # a value's own format before its randomness or its key's name: one value is one finding (``_add``), named
            # by the first kind that names it, and every other key it is under named in it
            for g in sorted(hits.generic, key=lambda h: h.kind in NOT_BY_NAME):
                if headers and g.key in headers and g.kind not in HEADER_KINDS:
                    continue  # the credential header's value, already reported as what it is
                if beside and (g.kind in _BY_CHANCE or g.personal):
                    continue  # a platform's ids and addresses (a host's id, a file's fingerprint): no entry's values
                fix = _GENERIC_FIX
                # (personal data: named without its fingerprint, as _secret_data does; red team rt65 F8)
                named = _PERSONAL_NAMED if g.personal else f"sha256 {g.fingerprint}"
                if server_log:
                    msg = f"{what[0].upper()}{what[1:]} holds what looks like {_a(g.kind)} ({named})."
                    fix = _SERVER_LOG_FIX
                elif beside:
                    msg = (f"A field the platform or the log shipper wrote beside the entry, "
                           f"{masked_key_path(g.key)!r}, holds what looks like {_a(g.kind)} ({named}).")
                    fix = _AROUND_FIX
                elif g.kind == COMMAND_LINE:
                    msg = (f"A command line in the log passes a credential as {masked_key_path(g.key)!r} "
                           f"({named}).")
                    fix = _COMMAND_FIX
                elif g.kind in self.defined:
                    msg = f"The value under key {masked_key_path(g.key)!r} is {g.kind} ({named})."
                    fix = _HEADER_FIXES.get(g.kind, self.known_fix)
                elif hits.parsed:
                    msg = f"A value under key {masked_key_path(g.key)!r} looks like {_a(g.kind)} ({named})."
                else:
                    msg = f"An unparseable line holds what looks like {_a(g.kind)} ({named})."
                self._add(("generic", g.fingerprint), file, hits.line, msg, fix,  # one value: one finding
                          "" if server_log else repr(masked_key_path(g.key)))
            found.update((hits.line, x) for g in hits.generic
                         for x in (g.fingerprint, _NAMED_UNDER + g.key, f"{g.fingerprint}\0{g.key}"))
            found.update((hits.line, _KNOWN_UNDER + key) for _, _, key in hits.known)
        if self.vault and not server_log and not beside:
            self._secret_data(file, first_line, data, found)

    def _secret_data(self, file: str, first_line: int, data: bytes, found: set[tuple[int, str]]) -> None:
        """A secret's data the block holds in clear (``scan.secret_data``), each value once a key and line: not where
        the scan above named it (under its key, or a credential in it, or a known value under its key). Another
        value under a key the scan named is named too (red team rt42, F14: one of two stayed unrotated), and a value
        the scan named under another key is named under this one too (rt80 F1)."""
        from ..scan.known import fingerprint
        from .access_policy import line_object

        line, at = first_line, 0
        for start in secret_data.candidate_lines(data):
            line += data.count(b"\n", at, start)
            at = start
            end = data.find(b"\n", start)
            doc = line_object(data[start : end if end >= 0 else len(data)])
            for where, path, key, value, number in secret_data.clear_values(doc):
                fp = fingerprint(value)
                at_key = f"{fp}\0{where}.{path}"  # (one value under two paths: each named)
                if (line, at_key) in found or (line, f"{fp}\0{key}") in found or (
                        (line, _KNOWN_UNDER + key) in found) or (
                        (line, _NAMED_UNDER + key) in found  # the credential the scan named in it, if any
                        and any((line, h.fingerprint) in found for h in self.scanner.generic.scan_value(key, value))):
                    continue
                if len(self.secrets) >= _MAX:
                    return
                found.add((line, at_key))
                # (the request's path is not quoted: it is the log's text too, and may hold what the scan named)
                how = ("a JSON number, which the vault writes in clear whatever the tuning (it HMACs strings only)"
                       if number else "written in clear where the vault writes a digest: the mount is tuned to log "
                       "that key without HMAC or the device logs raw values")
                # Personal data gets no fingerprint: data_minimisation shows it masked (a card number's first six
                # and last four digits), and a keyed hash of a value of so few possible ones gives it back to
                # whoever holds the key by trying them all (PCI DSS 3.5.1's note on hashed and truncated forms;
                # red team rt56 F8).
                named = _PERSONAL_NAMED if personal_data(value, path, number) else f"sha256 {fp}"
                self._add(("generic", fp), file, line,
                          f"The value under key {masked_key_path(path)!r} of the secret's data in {where} is "
                          f"{secret_data.KIND} ({named}), {how}.", _NUMBER_FIX if number else _DATA_FIX,
                          f"{masked_key_path(path)!r} in {where}")

    def entry(self, rec: Record) -> None:
        if self.request_ids and (rec.file, rec.line) in self.request_ids:
            self.request_ids[(rec.file, rec.line)] = rec.request_id

    def entries(self, batch: Entries) -> None:
        if self.request_ids:
            lines = batch.lines
            for file, line in self.request_ids:
                if file == batch.file and line in lines:
                    self.entry(batch.record(lines.index(line)))

    def finish(self) -> Iterator[Union[Finding, Skip]]:
        if not self.closed:
            self.closed = True
            self.scanner.__exit__(None, None, None)
        for file, line, message, fix, more, untold, _, keys, keys_untold in list(self.secrets.values())[:_MAX]:
            if keys:  # every key that holds it: each is fixed on its own
                message = message[:-1] + f"; also under key{'s' if len(keys) + keys_untold > 1 else ''} " + (
                    ", ".join(keys) + (f" and {keys_untold} more" if keys_untold else "") + ".")
                for other in dict.fromkeys(f for f in keys.values() if f != fix):
                    fix += f"; under {', '.join(k for k, f in keys.items() if f == other)}: {other}"
            if more:
                shown = ", ".join(str(n) for n in more[:5])
                rest = len(more) - 5 + untold
                message = message[:-1] + f"; also on line{'s' if len(more) > 1 else ''} {shown}" + (
                    f" and {rest} more ({'every one' if not untold else f'the first {_ALSO}'} under also_on in the "
                    "JSON report)." if rest > 0 else ".")
            # (it stands for every line it names: its own, those under also_on, and those counted past _ALSO)
            yield Finding(ID, "", message, fix, where=f"{file}:{line}",
                          request_id=self.request_ids.get((file, line), ""), also_on=tuple(more),
                          entries=1 + len(more) + untold)
        if len(self.secrets) >= _MAX:
            yield Finding(ID, "", f"Stopped after {_MAX} distinct secrets; there may be more: judging every value of "
                          "a log this full of secrets would take long and tell nothing new of the vault.",
                          "rotate and purge these, fix how they reached the log, and verify again for the rest")
        for file, line, why in self.unscanned:
            yield Finding(ID, "", f"The line was not scanned for secrets ({why}): a canary, token or credential in it "
                          "would go unseen, so the log cannot be said to hold none.", long_fix(why, _UNSCANNED_FIX),
                          where=f"{file}:{line}")
        if self.more_unscanned:
            yield Finding(ID, "", f"{self.more_unscanned} more lines were too long to scan for secrets.",
                          _UNSCANNED_FIX, where=self.more_unscanned_where, entries=self.more_unscanned)
        cut = self.scanner.known.uninflated if self.scanner.known.needles else 0
        if cut:  # fail closed: what a known value may hide in was not read whole (a zip bomb, or a body past the cap)
            from ..scan.known import INFLATE_MAX

            yield Finding(ID, "", f"{cut} gzip bodies written in base64 inflate past {INFLATE_MAX >> 20} MiB (or past "
                          "a line's budget) and were read only in part: a canary or a scenario token beyond the cut "
                          "would go unseen.", "find what writes such bodies into the log (a request body, an "
                          "object's data) and keep them out of it: an audit log needs no compressed payloads")


_PERSONAL_NAMED = "personal data: no fingerprint, data_minimisation shows it masked"


def _personal(key: str, text: str) -> bool:
    """Whether ``text``, found under ``key``, is personal data by data_minimisation's detectors."""
    return personal_data(text, key)


def _a(kind: str) -> str:
    """``kind`` after its article: "an AWS Access Key", "a GitHub Token"."""
    return f"{'an' if kind[:1] in 'AEIOUaeiou' else 'a'} {kind}"


# (line, one of these + key) in ``_scan``'s set: a known value was found under that key; the scan named a value there
_KNOWN_UNDER, _NAMED_UNDER = "\0known under ", "\0named under "

# what a finding here says of a value it found: its kind and fingerprint (``_scan``)
_NAMED = re.compile(r"(?:looks like an? |is |as |holds what looks like an? )(.+?) \(sha256 ([0-9a-f]{10})\)")
# a value a finding quotes: as Python's repr does, or as JSON does (a reader's reason: its sourceIPs ["..."])
_QUOTED = re.compile(r"'((?:[^'\\]|\\.){8,})'|\"((?:[^\"\\]|\\.){8,})\"")
_PIECES = re.compile(PIECE + "{8,}")


def found_secrets(outcomes: Sequence[Outcome]) -> dict[str, str]:
    """The fingerprints of the values this check's findings in ``outcomes`` name, and what each is."""
    return {fp: kind for o in outcomes if o.check_id == ID for f in o.findings
            for kind, fp in _NAMED.findall(f.message)}


def mask_found(text: str, found: Mapping[str, str]) -> str:
    """``text`` with it whole, or each piece of it, that is a value ``found`` names (``found_secrets``) shown as
    this check names it: ``<KIND sha256 FP>``."""
    if not found or not text:
        return text
    from ..scan.known import fingerprint

    kind = found.get(fingerprint(text))
    if kind is not None:
        return f"<{kind} sha256 {fingerprint(text)}>"

    def named(m: "re.Match[str]") -> str:
        hit = found.get(fingerprint(m.group()))
        return f"<{hit} sha256 {fingerprint(m.group())}>" if hit is not None else m.group()

    return _PIECES.sub(named, text)


def mask_quoted(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """``outcomes`` with each value another check's finding quotes from the log (a request path, a source address,
    a name) shown as this check names it, ``<KIND sha256 FP>``, where this check found it a secret: the value
    itself never reaches a report through another check's words (red team rt22). A value this check did not get
    to name (it stops after _MAX secrets: red team rt43, F9) is judged here by a secret's own format, and a request
    id that is no UUID by its randomness too (red team rt47, F2)."""
    from ..scan.known import fingerprint
    from ..scan.secrets import NOT_BY_NAME, GenericScanner

    found = found_secrets(outcomes)
    judged: dict[tuple[str, bool], str] = {}  # (piece, random) -> its mask, or "" (no credential of its own format)
    scanner: Optional[GenericScanner] = None

    def own_format(piece: str, random: bool) -> str:
        nonlocal scanner
        if (piece, random) not in judged:
            if _PLAIN_ID.match(piece) is not None:
                judged[piece, random] = ""
            else:
                if scanner is None:
                    scanner = GenericScanner().__enter__()
                hit = next((h for h in scanner.scan_value("id", piece) if random or h.kind not in NOT_BY_NAME), None)
                judged[piece, random] = f"<{hit.kind} sha256 {fingerprint(piece)}>" if hit is not None else ""
        return judged[piece, random]

    def shown(quoted: str, inner: str, random: bool = False) -> str:
        """``quoted`` with ``inner`` and each of its pieces masked where this check named it, or where it is a
        credential by its own format (``random``: by its randomness too, as a request id that is no UUID is)."""
        for piece in sorted({inner, *_PIECES.findall(inner)}, key=len, reverse=True):
            if piece not in quoted:
                continue  # (a longer piece holding it was masked already)
            kind = found.get(fingerprint(piece))
            mask = f"<{kind} sha256 {fingerprint(piece)}>" if kind is not None else own_format(piece, random)
            if mask:
                quoted = quoted.replace(piece, mask)
        return quoted

    def masked(message: str) -> str:
        # quoted values, judged whole and by their pieces; then any piece this check named, wherever it stands
        # (a reason that quotes none: "a resource request (/api/v1/.../<token>)", red team rt47 F4)
        message = _QUOTED.sub(lambda m: shown(m.group(0), m.group(1) if m.group(1) is not None else m.group(2)),
                              message)
        return mask_found(message, found)

    # A request id is the log's text too, and some producers take it from the client (a Kubernetes Audit-ID header
    # becomes the event's auditID, red team rt32 F2): every finding's, this check's own included.
    out = []
    try:
        for o in outcomes:
            if o.findings:
                o = dataclasses.replace(o, findings=tuple(
                    dataclasses.replace(f, message=masked(f.message) if o.check_id != ID else f.message,
                                        request_id=shown(f.request_id, f.request_id, True) if f.request_id else "")
                    for f in o.findings))
            out.append(o)
    finally:
        if scanner is not None:
            scanner.__exit__(None, None, None)
    return out


# a request id of the usual form (a UUID, as Vault, Kubernetes and CloudTrail write one): no credential
_PLAIN_ID = re.compile(UUID + r"\Z")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    leaks = feed(Leaks(ctx), ctx)
    for b in ctx.left_out:  # a live source's lines of the server's own log
        leaks.left_out(b.file, b.line, b.raw.encode("utf-8", "surrogateescape"))
    for b in ctx.around:  # and its records' fields beside the lines they carry
        leaks.around(b.file, b.line, [(0, b.raw.encode("utf-8", "surrogateescape"))])
    yield from leaks.finish()
    why = ctx.facts.audited_headers_error if ctx.facts is not None else ""
    if why:  # the probe could not know which headers to send a canary in: that clause judged nothing
        yield Finding(ID, "", f"The vault's audited request headers (sys/config/auditing/request-headers) could not "
                      f"be read ({why}), so no header was probed: a header the vault audits without hmac = true, "
                      "an API key or a session cookie written in clear in every entry, would not be found.",
                      "give the audit token read and sudo on sys/config/auditing/request-headers (as "
                      "examples/auditready-policy.hcl does)")


CHECK = Check(
    id=ID,
    title="No secret in the log",
    requirement="no canary value and no scenario token appears in any encoding (raw, base64 standard/URL-safe/"
    "unpadded, hex, URL-encoded, JSON-escaped as the producer writes it: Go's \\u0026 \\u003c \\u003e, any "
    "\\uXXXX); detect-secrets finds nothing in values that are not HMAC digests",
    run=run,
    visitor=Leaks,
)
