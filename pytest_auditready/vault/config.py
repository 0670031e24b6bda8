"""The user's own vault configuration, for the embedded target (``vault_config``, ``--auditready-vault-config``).

OpenBao parses the server files itself: this module only finds their top-level stanzas, so that the ones that
would reach outside the throw-away server (storage, listeners, seal, cluster and service settings) are blanked
out, and reads the ``audit`` stanzas, which are written again with each file device's ``file_path`` moved into
the server's private folder (the path the production host uses does not exist on a CI runner). Blanking keeps the
line numbers, so OpenBao's own errors still name the user's lines. What is kept is passed to ``bao server -dev``
as further ``-config`` files; OpenBao merges them.

(A general HCL library was weighed: python-hcl2 8 returns every expression re-quoted and pulls lark and regex,
while the only structure needed here is where top-level stanzas start and end, and the literal options of
``audit`` stanzas.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import AuditReadyError

# Top-level keys the throw-away server replaces with its own (in-memory storage, loopback listener on a free
# port, the dev seal, no cluster): the README lists them.
REPLACED = (
    "storage", "ha_storage", "backend", "ha_backend", "physical", "listener", "seal", "service_registration",
    "api_addr", "cluster_addr", "cluster_name", "disable_clustering", "pid_file",
)
# file_path values of a file device that write no file.
SPECIAL_FILE_PATHS = ("discard", "stdout")
MAX_CONFIG_FILE_BYTES = 1 << 20

_FIX = "fix the stanza (OpenBao's HCL syntax: https://openbao.org/docs/configuration/)"


@dataclass(frozen=True)
class AuditDecl:
    """One ``audit "TYPE" "NAME" { ... }`` stanza: where it is, its settings and options (literal strings)."""

    type: str
    name: str
    where: str  # FILE:LINE of the stanza
    options: dict[str, str] = field(default_factory=dict)
    option_lines: dict[str, str] = field(default_factory=dict)  # option -> FILE:LINE
    settings: dict[str, Any] = field(default_factory=dict)  # description, local

    def where_option(self, option: str) -> str:
        return self.option_lines.get(option, self.where)

    @property
    def records(self) -> bool:
        """Whether it keeps what it is sent (a discard or stdout file device keeps nothing the run can read)."""
        return not (self.type == "file" and self.options.get("file_path", "") in SPECIAL_FILE_PATHS)


@dataclass(frozen=True)
class VaultConfig:
    folder: Path
    files: tuple[tuple[str, str], ...]  # (file name, text to pass on: HCL with replaced stanzas blanked, or JSON)
    audits: tuple[AuditDecl, ...]
    policies: tuple[tuple[str, str], ...]  # (policy name, HCL)
    replaced: tuple[str, ...]  # FILE:LINE key, of what was replaced

    def file_devices(self) -> list[AuditDecl]:
        return [a for a in self.audits if a.type == "file" and a.records]


class _HclError(Exception):
    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line = line
        self.what = what


_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
      |(?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n)
      |(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)
      |(?P<num>-?[0-9][0-9.eE+-]*)|(?P<punct>[{}\[\]()=,:])""",
    re.S | re.X,
)


@dataclass
class _Tok:
    kind: str  # nl, str, ident, num, punct, heredoc
    text: str
    line: int
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _HclError(line, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup if m.lastgroup != "tag" else "heredoc"
        if m.group("heredoc"):
            kind = "heredoc"
            tag = m.group("tag")
            end = re.compile(r"^[ \t]*" + re.escape(tag) + r"[ \t]*$", re.M).search(text, m.end())
            if end is None:
                raise _HclError(line, f"heredoc <<{tag} is never closed")
            out.append(_Tok("heredoc", text[m.end():end.start()], line, pos, end.end()))
            line += text.count("\n", pos, end.end())
            pos = end.end()
            continue
        assert kind is not None
        if kind == "nl":
            out.append(_Tok("nl", "\n", line, pos, m.end()))
        elif kind not in ("ws", "comment"):
            out.append(_Tok(kind, m.group(), line, pos, m.end()))
        line += m.group().count("\n")
        pos = m.end()
    return out


@dataclass
class _Item:
    key: str
    labels: list[str]
    line: int
    start: int
    end: int
    value: Optional[_Tok] = None  # an attribute's value when it is a single literal
    body: list["_Item"] = field(default_factory=list)
    is_block: bool = False


def _unquote(tok: _Tok) -> str:
    if tok.kind == "str":
        return str(json.loads(tok.text)) if "${" not in tok.text else tok.text[1:-1]
    return tok.text


def _parse_body(toks: list[_Tok], i: int, opened: int) -> tuple[list[_Item], int]:
    """Items up to the '}' that closes the block opened on line ``opened`` (0: the file's top level)."""
    items: list[_Item] = []
    while i < len(toks):
        t = toks[i]
        if t.kind == "nl" or (t.kind == "punct" and t.text == ","):
            i += 1
            continue
        if t.kind == "punct" and t.text == "}":
            if not opened:
                raise _HclError(t.line, "a '}' closes nothing")
            return items, i + 1
        if t.kind not in ("ident", "str"):
            raise _HclError(t.line, f"expected a key, found {t.text!r}")
        key, start, line = _unquote(t), t.start, t.line
        i += 1
        labels: list[str] = []
        while i < len(toks) and toks[i].kind in ("str", "ident"):
            labels.append(_unquote(toks[i]))
            i += 1
        if i >= len(toks):
            raise _HclError(line, f"{key} ends the file without a value or a block")
        t = toks[i]
        if t.kind == "punct" and t.text in ("=", ":") and not labels:
            i, value, end = _value(toks, i + 1, line, key)
            items.append(_Item(key, [], line, start, end, value))
        elif t.kind == "punct" and t.text == "{":
            body, i = _parse_body(toks, i + 1, line)
            items.append(_Item(key, labels, line, start, toks[i - 1].end, body=body, is_block=True))
        else:
            raise _HclError(t.line, f"expected '=' or '{{' after {key}, found {t.text!r}")
    if opened:
        raise _HclError(opened, "a '{' is never closed")
    return items, i


def _value(toks: list[_Tok], i: int, line: int, key: str) -> tuple[int, Optional[_Tok], int]:
    """Skip one value (a literal, or a bracketed list/object/call spanning lines); the literal if it is one."""
    depth, first, last = 0, i, None
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text in "[{(":
            depth += 1
        elif t.kind == "punct" and t.text in "]})":
            if depth == 0:
                break  # the enclosing block's '}'
            depth -= 1
        elif depth == 0 and (t.kind == "nl" or (t.kind == "punct" and t.text == ",")):
            break
        last = t
        i += 1
    if last is None:
        raise _HclError(line, f"{key} has no value")
    single = toks[first] if i - first == 1 and toks[first].kind in ("str", "ident", "num", "heredoc") else None
    return i, single, last.end


def _literal(tok: Optional[_Tok], where: str, what: str) -> str:
    if tok is None:
        raise AuditReadyError(f"{what} at {where} is not a literal value", "write it as a quoted string")
    if tok.kind == "str":
        if "${" in tok.text:
            raise AuditReadyError(f"{what} at {where} uses an interpolation", "write it as a literal string")
        return str(json.loads(tok.text))
    return tok.text


def _audit_from_hcl(item: _Item, fname: str) -> AuditDecl:
    where = f"{fname}:{item.line}"
    if len(item.labels) != 2:
        raise AuditReadyError(f"the audit stanza at {where} needs a type and a path: audit \"file\" \"NAME\" {{ ... }}",
                              _FIX)
    options: dict[str, str] = {}
    lines: dict[str, str] = {}
    settings: dict[str, Any] = {}
    for sub in item.body:
        if sub.is_block and sub.key == "options":
            for opt in sub.body:
                if opt.is_block:
                    raise AuditReadyError(f"audit option {opt.key} at {fname}:{opt.line} is a block", _FIX)
                options[opt.key] = _literal(opt.value, f"{fname}:{opt.line}", f"audit option {opt.key}")
                lines[opt.key] = f"{fname}:{opt.line}"
        elif not sub.is_block and sub.key in ("description", "local"):
            settings[sub.key] = _literal(sub.value, f"{fname}:{sub.line}", sub.key)
        else:
            raise AuditReadyError(f"unknown setting {sub.key} in the audit stanza at {where}",
                                  "use description, local and an options { ... } block")
    return AuditDecl(item.labels[0], item.labels[1], where, options, lines, settings)


def _read_hcl(path: Path, text: str) -> tuple[str, list[AuditDecl], list[str]]:
    fname = path.name
    try:
        items, _ = _parse_body(_tokens(text), 0, 0)
    except _HclError as exc:
        raise AuditReadyError(f"{fname}:{exc.line} of the vault configuration cannot be read: {exc.what}",
                              _FIX) from None
    audits: list[AuditDecl] = []
    replaced: list[str] = []
    kept = list(text)
    for item in items:
        if item.key == "audit" and item.is_block:
            audits.append(_audit_from_hcl(item, fname))
        elif item.key in REPLACED:
            replaced.append(f"{fname}:{item.line} {item.key}")
        else:
            continue
        for k in range(item.start, item.end):  # blank it, keeping the line numbers
            if kept[k] != "\n":
                kept[k] = " "
    return "".join(kept), audits, replaced


def _read_json(path: Path, text: str) -> tuple[str, list[AuditDecl], list[str]]:
    fname = path.name
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise AuditReadyError(f"{fname} of the vault configuration is not valid JSON ({exc})", "fix the file") from None
    if not isinstance(doc, dict):
        raise AuditReadyError(f"{fname} of the vault configuration is not a JSON object", "fix the file")
    replaced = [f"{fname} {k}" for k in REPLACED if k in doc]
    audits: list[AuditDecl] = []
    raw = doc.get("audit", [])
    for group in raw if isinstance(raw, list) else [raw]:
        for typ, by_name in (group.items() if isinstance(group, dict) else []):
            for name, body in (by_name.items() if isinstance(by_name, dict) else []):
                body = body[0] if isinstance(body, list) and body else body
                where = f'{fname} audit "{typ}" "{name}"'
                if not isinstance(body, dict):
                    raise AuditReadyError(f"the audit stanza {where} is not an object", _FIX)
                opts = body.get("options", {})
                opts = opts[0] if isinstance(opts, list) and opts else opts
                if not isinstance(opts, dict):
                    raise AuditReadyError(f"the options of {where} are not an object", _FIX)
                settings = {k: body[k] for k in ("description", "local") if k in body}
                audits.append(AuditDecl(str(typ), str(name), where,
                                        {str(k): str(v).lower() if isinstance(v, bool) else str(v)
                                         for k, v in opts.items()}, {}, settings))
    if not isinstance(raw, (list, dict)):
        raise AuditReadyError(f"the audit key of {fname} is neither an object nor a list", _FIX)
    rest = {k: v for k, v in doc.items() if k not in REPLACED and k != "audit"}
    return json.dumps(rest, indent=2), audits, replaced


def load_vault_config(folder: Union[str, Path]) -> VaultConfig:
    """Read DIR's *.hcl and *.json server files and DIR/policies/*.hcl. Raises AuditReadyError (one line naming the
    file and line) for what cannot be used."""
    base = Path(folder)
    if not base.is_dir():
        raise AuditReadyError(f"the vault configuration folder {base} does not exist",
                              "point --auditready-vault-config (vault_config) at the folder of your server *.hcl files")
    files: list[tuple[str, str]] = []
    audits: list[AuditDecl] = []
    replaced: list[str] = []
    paths = sorted(p for p in base.iterdir() if p.suffix in (".hcl", ".json") and p.is_file())
    if not paths:
        raise AuditReadyError(f"{base} holds no server configuration file (*.hcl or *.json)",
                              "put the vault's server configuration (with its audit stanza) in that folder")
    for p in paths:
        text = _read_text(p)
        kept, found, rep = (_read_json if p.suffix == ".json" else _read_hcl)(p, text)
        files.append((p.name, kept))
        audits.extend(found)
        replaced.extend(rep)
    names = [f"{a.type}/{a.name}" for a in audits]
    seen = {a.name for a in audits}
    if len(seen) != len(audits):
        raise AuditReadyError(f"two audit stanzas in {base} share a path ({', '.join(names)})",
                              "give each audit device its own path")
    policies: list[tuple[str, str]] = []
    pdir = base / "policies"
    if pdir.is_dir():
        for p in sorted(pdir.glob("*.hcl")):
            policies.append((p.stem, _read_text(p)))
    return VaultConfig(base, tuple(files), tuple(audits), tuple(policies), tuple(replaced))


def _read_text(p: Path) -> str:
    try:
        data = p.read_bytes()[: MAX_CONFIG_FILE_BYTES + 1]
    except OSError as exc:
        raise AuditReadyError(f"cannot read {p}: {exc.strerror}", "check the file's permissions") from None
    if len(data) > MAX_CONFIG_FILE_BYTES:
        raise AuditReadyError(f"{p} is larger than {MAX_CONFIG_FILE_BYTES} bytes", "is it a server configuration?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditReadyError(f"{p} is not UTF-8 text", "save it as UTF-8") from None


def _receivable(a: AuditDecl) -> bool:
    """A socket device over TCP or an http device: the embedded target receives what it sends itself
    (auditlog/socket_source.py, auditlog/http_source.py)."""
    return (a.type == "socket" and a.options.get("socket_type", "tcp") == "tcp") or a.type == "http"


def outward(a: AuditDecl) -> bool:
    """A device that sends its entries off the host (a socket or http device: to a collector) or to its syslog.
    The throw-away server must reach none of them: the embedded target points each socket and http device at a
    receiver of its own (``audit_hcl``'s ``local``), and writes each syslog device's entries to a file."""
    return a.type in ("socket", "http", "syslog")


def choose_device(cfg: VaultConfig, wanted: Optional[str]) -> AuditDecl:
    """The device whose log the audit reads: ``audit_device`` if set, else the only file device, else the only
    TCP socket device (received by the embedded target itself)."""
    stanza = 'audit "file" "<name>" { options { file_path = "..." } }'
    if not cfg.audits:
        raise AuditReadyError(f"the vault configuration in {cfg.folder} declares no audit device: an audit stanza is "
                              "missing, so the vault would serve every request without recording it",
                              f"add {stanza} to a server *.hcl file")
    if wanted:
        name = wanted.strip("/")
        for a in cfg.audits:
            if a.name.strip("/") == name:
                if a not in cfg.file_devices() and not _receivable(a):
                    raise AuditReadyError(f"audit_device {wanted!r} ({a.where}) is a {a.type} device that writes no "
                                          "file, TCP stream or HTTP POST the audit can read", f"set audit_device to a "
                                          f"file device, a socket device with socket_type \"tcp\" or an http device, "
                                          f"or add {stanza}")
                return a
        raise AuditReadyError(f"audit_device {wanted!r} is not declared in {cfg.folder} "
                              f"(it declares: {', '.join(a.name for a in cfg.audits)})",
                              "set audit_device to one of those paths")
    files = cfg.file_devices() or [a for a in cfg.audits if _receivable(a)]
    if not files:
        raise AuditReadyError(f"the vault configuration in {cfg.folder} declares no file audit device that writes a "
                              "file, nor a TCP socket or http device (the audit reads one of them)", f"add {stanza}")
    if len(files) > 1:
        raise AuditReadyError(f"the vault configuration in {cfg.folder} declares several {files[0].type} audit "
                              f"devices ({', '.join(a.name for a in files)})", "set audit_device to the one to audit")
    return files[0]


ORIGIN_MARK = "auditready-origin:"


# Options that say where a device sends its entries (and how it authenticates there): replaced by ``local``'s.
_DESTINATION = {"socket": ("address", "socket_type"), "http": ("uri", "headers"), "syslog": ("facility", "tag")}


def audit_hcl(cfg: VaultConfig, workdir: Path,
              local: Optional[dict[str, dict[str, str]]] = None) -> tuple[str, dict[str, Path]]:
    """The audit stanzas as the throw-away server declares them: each file device writes into ``workdir``; each
    socket and http device sends to the local receiver ``local`` names for it (device -> {"address": ...} or
    {"uri": ...}: its destination options replaced, the rest kept) instead of the production collector; each syslog
    device becomes a file device in ``workdir`` with the same formatting options (a CI runner has no syslog to
    reach; ``outward``). The description carries where the stanza and each option were declared (read back by the
    scenario's facts), and what was redirected. Returns the HCL and each file device's log path."""
    out: list[str] = []
    paths: dict[str, Path] = {}
    for i, a in enumerate(cfg.audits):
        opts = dict(a.options)
        kind, name = a.type, a.name.strip("/")
        redirected = ""
        if kind == "syslog":
            kind, redirected = "file", "auditready: this syslog device writes to a file of the throw-away server"
            opts = {k: v for k, v in opts.items() if k not in _DESTINATION["syslog"]}
        if kind == "file" and (a.type == "syslog" or a.records):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "device"
            paths[name] = workdir / f"audit-{i}-{safe}.log"
            opts["file_path"] = str(paths[name])
            if a.type == "syslog":
                opts["mode"] = "0600"
        if kind in ("socket", "http") and local is not None and name in local:
            opts = {k: v for k, v in opts.items() if k not in _DESTINATION[kind]}
            opts.update(local[name])
            redirected = f"auditready: this {kind} device sends to a local receiver of the throw-away server"
        origin = {"": a.where, **{k: a.where_option(k) for k in a.options}}
        if redirected:
            origin["auditready"] = redirected.split(": ", 1)[1]  # in the evidence beside the device
        desc = str(a.settings.get("description", ""))
        desc = " ".join(d for d in (desc, redirected) if d)
        desc = (desc + " " if desc else "") + ORIGIN_MARK + json.dumps(origin, separators=(",", ":"))
        body = [f"  description = {json.dumps(desc)}"]
        if "local" in a.settings:
            body.append(f"  local = {str(a.settings['local']).lower()}")
        body.append("  options {")
        body += [f"    {json.dumps(k)} = {json.dumps(v)}" for k, v in opts.items()]
        body.append("  }")
        out.append(f"audit {json.dumps(kind)} {json.dumps(a.name)} {{\n" + "\n".join(body) + "\n}\n")
    return "".join(out), paths


def origins_from_description(desc: str) -> dict[str, str]:
    """What ``audit_hcl`` put in a device's description: option -> FILE:LINE ("" for the stanza)."""
    at = desc.find(ORIGIN_MARK)
    if at < 0:
        return {}
    try:
        d = json.loads(desc[at + len(ORIGIN_MARK):])
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in d.items()} if isinstance(d, dict) else {}
