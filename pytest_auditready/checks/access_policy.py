"""access_policy: who may do what on which secret, as code, checked against every request the log holds.

Each ``[[tool.auditready.access.rules]]`` table names ``paths`` (globs with Vault policy semantics: a trailing
``*`` matches the rest of the path, a ``+`` segment any one segment), ``operations``, and who may do them:
``identities`` (globs on the display name or the entity id) and/or ``policies`` (token policy names). A Vault or
OpenBao request entry on a matching path with a listed operation that the vault let through must come from an
allowed identity or from a token holding an allowed policy; anything else is a finding naming the entry, the
identity and the rule. A request the vault refused (its request entry carries the error) accessed nothing: the
vault enforced the rule. A path in a namespace other than the root is matched with the namespace before it
(``team-a/secret/data/db``), as a client outside the namespace names it: the vault logs it relative to
``request.namespace.path``. The rules are the reviewer's intent; the vault's policies are what it enforces: this check
is where the two are compared, request by request.

The canonical fields (``Record``) carry one identity; who a token is (display name, entity id, accessor) and which
policies it holds are read from the raw line of each entry the rules cover (``RawLines``), so the cost is one JSON
parse per covered request.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Union

from ..auditlog.formats import format_of
from ..auditlog.model import Entries, Record, in_scope, vault_identity
from .base import Check, CheckContext, Finding, Note, Skip, Visitor, feed

if TYPE_CHECKING:
    from ..config import AccessRule

ID = "access_policy"
NO_RULES = ("no [[tool.auditready.access.rules]] in [tool.auditready]: there is no rule to hold the log to (name "
            "who may read, write or list which secret paths)")
_MAX = 50
EXCUSE_RESPONSE = "a response entry (its request entry is the one judged)"


def vault_glob(pattern: str) -> "re.Pattern[str]":
    """A path pattern with Vault policy semantics as a regex: a trailing ``*`` matches the rest of the path (any
    characters, '/' included), a ``+`` segment any characters of one segment; everything else is literal. A
    leading '/' is ignored, as the vault ignores it."""
    prefix = pattern.endswith("*")
    body = pattern[:-1] if prefix else pattern
    parts = [r"[^/]*" if seg == "+" else re.escape(seg) for seg in body.lstrip("/").split("/")]
    return re.compile("/".join(parts) + (".*" if prefix else "") + r"\Z", re.DOTALL)


def paths_regex(patterns: Sequence[str]) -> "re.Pattern[str]":
    """One regex for any of ``patterns`` (see ``vault_glob``)."""
    return re.compile("|".join(f"(?:{vault_glob(p).pattern})" for p in patterns), re.DOTALL)


@dataclass(frozen=True)
class Who:
    """Who made a request, as a Vault/OpenBao entry says: display name, entity id, token accessor (as logged: an
    HMAC digest unless the device logs accessors in clear), the token's policies, the policies that granted the
    request, the source address, and whether the vault refused it."""

    display_name: str = ""
    entity_id: str = ""
    accessor: str = ""
    policies: tuple[str, ...] = ()
    granting: tuple[str, ...] = ()
    remote_address: str = ""
    refused: bool = False

    @property
    def name(self) -> str:
        return vault_identity(self.display_name, self.entity_id, self.accessor) or "no identity (no token)"


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


def line_object(raw: bytes, prefix: str = "") -> Optional[dict[str, Any]]:
    """One raw Vault/OpenBao line as its JSON object (with or without the device ``prefix``, after any framing
    before the first "{"); None when the line holds no JSON object."""
    import orjson

    pre = prefix.encode("utf-8")
    if pre and raw.startswith(pre):
        raw = raw[len(pre) :]
    start = raw.find(b"{")
    if start < 0:
        return None
    try:
        data = orjson.loads(raw[start:])
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def who(raw: bytes, prefix: str = "") -> Optional[Who]:
    """Who made the request of one raw Vault/OpenBao line (with or without the device ``prefix``); None when the
    line holds no JSON object."""
    data = line_object(raw, prefix)
    return who_of(data) if data is not None else None


def who_of(data: dict[str, Any]) -> Who:
    """Who made the request of one Vault/OpenBao entry, parsed (``line_object``)."""
    auth: dict[str, Any] = data["auth"] if isinstance(data.get("auth"), dict) else {}
    req: dict[str, Any] = data["request"] if isinstance(data.get("request"), dict) else {}

    def text(d: Any, k: str) -> str:
        v = d.get(k)
        return v if isinstance(v, str) else ""

    pols: list[str] = []
    for k in ("policies", "token_policies", "identity_policies"):
        for p in _strs(auth.get(k)):
            if p not in pols:
                pols.append(p)
    results: dict[str, Any] = auth["policy_results"] if isinstance(auth.get("policy_results"), dict) else {}
    grants = results.get("granting_policies")
    granting = tuple(str(g["name"]) for g in (grants if isinstance(grants, list) else ())
                     if isinstance(g, dict) and isinstance(g.get("name"), str))
    refused = bool(text(data, "error")) or results.get("allowed") is False
    return Who(text(auth, "display_name"), text(auth, "entity_id"), text(auth, "accessor"), tuple(pols), granting,
               text(req, "remote_address"), refused)


class RawLines:
    """The raw text of the lines of the block being fed (``Visitor.block`` comes before the entries of the same
    lines), so that a check can read a field the canonical ones leave out."""

    def __init__(self) -> None:
        self.file = ""
        self.first = 0
        self.data = b""
        self._lines: Optional[list[bytes]] = None

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.file, self.first, self.data, self._lines = file, first_line, data, None

    def __getstate__(self) -> dict[str, object]:
        """Pickled (a part's state sent to the merging process): empty. The block is the log's raw text, secrets
        and all; it only serves the entries of the same block, in the process that read it."""
        return {"file": "", "first": 0, "data": b"", "_lines": None}

    def get(self, file: str, line: int) -> Optional[bytes]:
        if file != self.file:
            return None
        if self._lines is None:
            self._lines = self.data.split(b"\n")
        i = line - self.first
        if not 0 <= i < len(self._lines):
            return None
        raw = self._lines[i]
        return raw[:-1] if raw.endswith(b"\r") else raw


def _allowed(rule: "AccessRule", w: Who) -> bool:
    for g in rule.identities:
        if (w.display_name and fnmatch.fnmatchcase(w.display_name, g)) or (
                w.entity_id and fnmatch.fnmatchcase(w.entity_id, g)):
            return True
    return any(p in rule.policies for p in w.policies)


def describe_rule(rule: "AccessRule") -> str:
    allowed = []
    if rule.identities:
        allowed.append("identities " + ", ".join(rule.identities))
    if rule.policies:
        allowed.append("policies " + ", ".join(rule.policies))
    return (f"rule {rule.name!r} (paths {', '.join(rule.paths)}; operations {', '.join(rule.operations)}; allows "
            + (" or ".join(allowed) if allowed else "nobody") + ")")


@dataclass
class _Compiled:
    rule: "AccessRule"
    paths: "re.Pattern[str]"
    ops: frozenset[str] = field(default_factory=frozenset)


class Rules(Visitor):
    """Judges the request entries on covered paths; counts the others as excused, by rule."""

    def __init__(self, ctx: CheckContext) -> None:
        self.rules = [_Compiled(r, paths_regex(r.paths), frozenset(r.operations)) for r in ctx.settings.access]
        self.any_path = paths_regex([p for r in ctx.settings.access for p in r.paths]) if self.rules else None
        self.ops = frozenset(o for r in ctx.settings.access for o in r.operations)
        self.vault = format_of(ctx.settings).name == "vault"
        self.prefix = ctx.settings.log_prefix
        self.raw = RawLines()
        self.findings: list[Finding] = []
        self.more = 0
        self.covered = self.refused = self.uncovered = 0

    def block(self, file: str, first_line: int, data: bytes) -> None:
        self.raw.block(file, first_line, data)

    def entry(self, rec: Record) -> None:
        if self.any_path is None or not self.vault:
            return
        if rec.type != "request":
            self.excuse(EXCUSE_RESPONSE)
        elif rec.action not in self.ops or self.any_path.match(rec.secret) is None:
            self.uncovered += 1
        else:
            self._judge(rec)

    def entries(self, batch: Entries) -> None:
        if self.any_path is None or not self.vault:
            return
        covered, ops = self.any_path.match, self.ops
        responses = 0
        scope = batch.scope
        for i, (t, path, op) in enumerate(zip(batch.type, batch.resource, batch.action)):
            if t != "request":
                responses += 1
            elif op not in ops or covered(path if scope is None else in_scope(scope[i], path)) is None:
                self.uncovered += 1
            else:
                self._judge(batch.record(i))
        if responses:
            self.excuse(EXCUSE_RESPONSE, responses)

    def _judge(self, rec: Record) -> None:
        """A request on a covered path with a covered operation."""
        raw = self.raw.get(rec.file, rec.line)
        w = who(raw, self.prefix) if raw is not None else None
        if w is None:
            w = Who(display_name=rec.identity)
        if w.refused or rec.result.startswith("error:"):
            self.refused += 1  # the vault enforced it: nothing was accessed
            return
        judged = False
        for c in self.rules:
            if rec.action in c.ops and c.paths.match(rec.secret) is not None:
                judged = True
                if not _allowed(c.rule, w):
                    self._violation(rec, c.rule, w)
                    break
        if judged:
            self.covered += 1
        else:
            self.uncovered += 1

    def _violation(self, rec: Record, rule: "AccessRule", w: Who) -> None:
        if len(self.findings) >= _MAX:
            self.more += 1
            return
        ids = [f"display name {w.display_name!r}" if w.display_name else "",
               f"entity {w.entity_id}" if w.entity_id else ""]
        who_text = ", ".join(x for x in ids if x) or w.name
        pols = f"; token policies {', '.join(w.policies)}" if w.policies else "; no token policy"
        granted = (f"; granted by vault policy {', '.join(w.granting)}" if w.granting else "")
        self.findings.append(Finding(
            ID, "", f"{rec.action} of {rec.secret} by {who_text}{pols}{granted} breaks "
            f"{describe_rule(rule)}.",
            "if this identity should not have it, take the grant out of the vault policy that allowed it"
            + (f" ({', '.join(w.granting)})" if w.granting else "")
            + " and review what it accessed; if it should, add the identity or its policy to the rule in "
            "[[tool.auditready.access.rules]]",
            where=rec.where, request_id=rec.request_id))

    def merge(self, later: Visitor) -> None:
        assert isinstance(later, Rules)
        for f in later.findings:
            if len(self.findings) >= _MAX:
                self.more += 1
            else:
                self.findings.append(f)
        self.more += later.more
        self.covered += later.covered
        self.refused += later.refused
        self.uncovered += later.uncovered
        self.merge_excused(later)

    # Any: Finding, Skip and a Note (what the pass rests on), which the engine keeps as the pass's reason
    def finish(self) -> Iterator[Any]:
        if not self.rules:
            yield Skip("", NO_RULES)
            return
        if not self.vault:
            yield Skip("", "access rules name Vault/OpenBao paths, operations and policies; this log is not a "
                       "Vault/OpenBao audit log")
            return
        yield from self.findings
        if self.more:
            yield Finding(ID, "", f"{self.more} more requests break the access rules (only the first {_MAX} are "
                          "listed).", "review the rules and the vault policies together")
        yield Note("", f"{self.covered} requests let through on paths and operations the rules name, each by an "
                   f"allowed identity or policy; {self.refused} more refused by the vault; {self.uncovered} requests "
                   "on paths or operations no rule names")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    if not ctx.settings.access:
        yield Skip("", NO_RULES)
        return
    yield from feed(Rules(ctx), ctx).finish()


CHECK = Check(
    id=ID,
    title="Only the allowed identities reach the secrets",
    requirement="every request on a path matched by a [[tool.auditready.access.rules]] table (paths globs with "
    "Vault policy semantics, operations, identities and/or policies) comes from an allowed identity or policy",
    run=run,
    visitor=Rules,
)
