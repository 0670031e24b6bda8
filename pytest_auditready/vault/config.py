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

import functools
import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import AuditReadyError

# Top-level keys the throw-away server replaces with its own (in-memory storage, loopback listener on a free
# port, the dev seal, no cluster), and those that would reach outside its folder (metrics sinks, its own log file,
# plugin binaries and their downloads): the README lists them.
REPLACED = (
    "storage", "ha_storage", "backend", "ha_backend", "physical", "listener", "seal", "service_registration",
    "api_addr", "cluster_addr", "cluster_name", "disable_clustering", "pid_file",
    "telemetry", "log_file", "plugin_directory", "plugin", "plugin_auto_download", "plugin_auto_register",
)
# file_path values of a file device that write no file (OpenBao reads "stdout" and "discard" in any case); the
# device files that are the same as one of them are written as it (``special_file``).
SPECIAL_FILE_PATHS = ("discard", "stdout")
# The process's own output, in every name the kernel gives it: a terminal, or file descriptor 1 or 2.
_OUTPUT_FILE = re.compile(r"/dev/(?:stdout|stderr|console|tty\w*|pts/\d+|fd/[12])\Z"
                          r"|/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd/[12]\Z")
# Kernel file systems that keep nothing written to them as a file (/dev/null, /dev/zero, /dev/urandom, /dev/full,
# /proc and /sys entries); /dev/shm and /dev/mqueue hold real (if volatile) files.
_KERNEL_TREES = ("/dev/", "/proc/", "/sys/")
_REAL_UNDER_DEV = ("/dev/shm/", "/dev/mqueue/")


def special_file(file_path: str) -> str:
    """"discard" or "stdout" when a file device's file_path keeps nothing anyone can read, in any spelling: the
    keywords in any case (as OpenBao reads them), the process's output by any of its names (/dev/stdout,
    /proc/thread-self/fd/1, a terminal), and any other device or kernel file (/dev/null, /dev/zero; also written
    /dev//null or /var/../dev/null: the kernel reads them alike); else ""."""
    low = file_path.lower()
    if low in SPECIAL_FILE_PATHS:
        return low
    if not file_path.startswith("/"):
        return ""  # a file relative to the vault's working folder
    path = posixpath.normpath("/" + file_path.lstrip("/"))
    if _OUTPUT_FILE.match(path):
        return "stdout"
    if path.startswith(_KERNEL_TREES) and not path.startswith(_REAL_UNDER_DEV):
        return "discard"
    return ""
MAX_CONFIG_FILE_BYTES = 1 << 20
# A device option's boolean as OpenBao and Vault read it (Go's strconv.ParseBool: 1, t, T, TRUE, true, True and their
# false twins; "yes"/"no" are taken too, as some tools write them), lower-cased.
_GO_TRUE = ("1", "t", "true", "yes")
_GO_FALSE = ("0", "f", "false", "no")


def option_true(value: object) -> bool:
    """Whether a device option's value reads as true (``log_raw = "t"`` logs raw, as ``"true"`` does)."""
    return str(value).strip().lower() in _GO_TRUE


def option_false(value: object) -> bool:
    """Whether a device option's value reads as false (``hmac_accessor = "f"`` logs accessors in clear)."""
    return str(value).strip().lower() in _GO_FALSE


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
    def file_path(self) -> str:
        """A file device's file as OpenBao reads it: ``file_path``, else its older name ``path``."""
        return self.options.get("file_path", self.options.get("path", ""))

    @property
    def special(self) -> str:
        """"discard" or "stdout" when a file device keeps nothing the run can read (also written as /dev/null,
        /dev/stdout, "STDOUT", ...), else ""."""
        return special_file(self.file_path) if self.type == "file" else ""

    @property
    def records(self) -> bool:
        """Whether it keeps what it is sent (a discard or stdout file device keeps nothing the run can read)."""
        return not self.special


@dataclass(frozen=True)
class VaultConfig:
    folder: Path
    files: tuple[tuple[str, str], ...]  # (file name, text to pass on: HCL with replaced stanzas blanked, or JSON)
    audits: tuple[AuditDecl, ...]
    policies: tuple[tuple[str, str], ...]  # (policy name, HCL)
    replaced: tuple[str, ...]  # FILE:LINE key, of what was replaced
    # (FILE:LINE, what) of each listener that lets every client set the address the audit log records as the
    # request's source (``forgeable_sources``): the throw-away server replaces the listener, so no run shows it
    forgeable: tuple[tuple[str, str], ...] = ()
    # FILE:LINE of each ``unsafe_allow_api_audit_creation = true`` (``api_audit_sources``)
    api_audit: tuple[str, ...] = ()

    def file_devices(self) -> list[AuditDecl]:
        return [a for a in self.audits if a.type == "file" and a.records]


class _HclError(Exception):
    def __init__(self, line: int, what: str, fix: str = _FIX) -> None:
        super().__init__(what)
        self.line = line
        self.what = what
        self.fix = fix


# HCL 1 (what OpenBao reads): newlines separate nothing, a value is one literal or a bracketed list or object.
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
      |(?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\r?\n)
      |(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<num>-?(?:0[xX][0-9a-fA-F]+|[0-9][0-9.eE+-]*))
      |(?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)|(?P<punct>[{}\[\]=,:])""",
    re.S | re.X,
)


@dataclass
class _Tok:
    kind: str  # str, ident, num, punct, heredoc
    text: str
    line: int
    start: int
    end: int

    def shown(self) -> str:
        """The token for an error message: never a string's content (it may be a credential)."""
        return {"str": "a quoted string", "num": "a number", "heredoc": "a heredoc string"}.get(
            self.kind, repr(self.text))


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line = 0, 1
    if text.startswith("\ufeff"):
        raise _HclError(1, "the file starts with a UTF-8 byte-order mark, which OpenBao refuses (\"illegal char\")",
                        "save it as UTF-8 without BOM")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            what = {'"': "a string is never closed on its line", "/": "a /* comment is never closed"}.get(
                text[pos], f"unexpected character {text[pos]!r}")
            raise _HclError(line, what)
        kind = m.lastgroup if m.lastgroup != "tag" else "heredoc"
        if m.group("heredoc"):
            tag = m.group("tag")
            end = re.compile(r"^[ \t]*" + re.escape(tag) + r"[ \t]*\r?$", re.M).search(text, m.end())
            if end is None:
                raise _HclError(line, f"heredoc <<{tag} is never closed")
            out.append(_Tok("heredoc", text[m.end():end.start()], line, pos, end.end()))
            line += text.count("\n", pos, end.end())
            pos = end.end()
            continue
        assert kind is not None
        if kind not in ("ws", "comment"):
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
    is_block: bool = False  # key [labels] { ... }
    is_object: bool = False  # key = { ... } (read as a block by OpenBao)

    @property
    def members(self) -> Optional[list["_Item"]]:
        """The items inside, for a block or an object value."""
        return self.body if self.is_block or self.is_object else None


def _unquote(tok: _Tok) -> str:
    if tok.kind == "str":
        return str(json.loads(tok.text)) if "${" not in tok.text else tok.text[1:-1]
    return tok.text


def _parse_body(toks: list[_Tok], i: int, opened: int) -> tuple[list[_Item], int]:
    """Items up to the '}' that closes the block opened on line ``opened`` (0: the file's top level)."""
    items: list[_Item] = []
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text == ",":
            i += 1
            continue
        if t.kind == "punct" and t.text == "}":
            if not opened:
                raise _HclError(t.line, "a '}' closes nothing")
            return items, i + 1
        if t.kind not in ("ident", "str"):
            raise _HclError(t.line, f"expected a key, found {t.shown()}")
        key, start, line = _unquote(t), t.start, t.line
        shown = key if t.kind == "ident" else "a quoted key"
        i += 1
        labels: list[str] = []
        while i < len(toks) and toks[i].kind in ("str", "ident"):
            labels.append(_unquote(toks[i]))
            i += 1
        if i >= len(toks):
            raise _HclError(line, f"{shown} ends the file without a value or a block")
        t = toks[i]
        if t.kind == "punct" and t.text in ("=", ":") and not labels:
            i, item = _value(toks, i + 1, key, line, start)
            items.append(item)
        elif t.kind == "punct" and t.text == "{":
            body, i = _parse_body(toks, i + 1, t.line)
            items.append(_Item(key, labels, line, start, toks[i - 1].end, body=body, is_block=True))
        else:
            raise _HclError(t.line, f"expected '=' or '{{' after {shown}, found {t.shown()}")
    if opened:
        raise _HclError(opened, "a '{' is never closed")
    return items, i


def _value(toks: list[_Tok], i: int, key: str, line: int, start: int) -> tuple[int, _Item]:
    """One value: a literal, an object (parsed: OpenBao reads ``key = { ... }`` as the block ``key { ... }``) or a
    list (skipped)."""
    if i >= len(toks):
        raise _HclError(line, f"{key} has no value")
    t = toks[i]
    if t.kind == "punct" and t.text == "{":
        body, j = _parse_body(toks, i + 1, t.line)
        return j, _Item(key, [], line, start, toks[j - 1].end, body=body, is_object=True)
    if t.kind == "punct" and t.text == "[":
        depth, j = 0, i
        while j < len(toks):
            p = toks[j]
            if p.kind == "punct" and p.text in "[{":
                depth += 1
            elif p.kind == "punct" and p.text in "]}":
                depth -= 1
                if depth == 0:
                    return j + 1, _Item(key, [], line, start, p.end)
            j += 1
        raise _HclError(t.line, f"the list of {key} is never closed")
    if t.kind in ("str", "ident", "num", "heredoc"):
        return i + 1, _Item(key, [], line, start, t.end, t)
    raise _HclError(t.line, f"{key} has no value (found {t.shown()})")


def _is_float(tok: _Tok) -> bool:
    return tok.kind == "num" and not tok.text.lower().lstrip("-").startswith("0x") and any(c in tok.text for c in ".eE")


def _literal(tok: Optional[_Tok], where: str, what: str) -> str:
    """An audit option's value as OpenBao reads it into its string map: a quoted string, a heredoc or a whole
    number; a boolean, a fraction, a list or an object make OpenBao refuse to start ("unknown type for string")."""
    if tok is None:
        raise AuditReadyError(f"{what} at {where} is not a single value: OpenBao reads audit options as strings and "
                              "refuses to start", "write it as a quoted string")
    if tok.kind == "str":
        if "${" in tok.text:
            raise AuditReadyError(f"{what} at {where} uses an interpolation", "write it as a literal string")
        return str(json.loads(tok.text))
    if tok.kind == "ident" and tok.text in ("true", "false"):
        raise AuditReadyError(f"{what} at {where} is the boolean {tok.text}: OpenBao reads audit options as strings "
                              "and refuses to start (\"unknown type for string\")",
                              f"quote it: {what.split()[-1]} = \"{tok.text}\"")
    if tok.kind == "ident" or _is_float(tok):
        raise AuditReadyError(f"{what} at {where} is not a quoted string: OpenBao refuses to start",
                              "write it as a quoted string")
    return tok.text


# Audit device options: the README's list of what a misplaced one looks like at the stanza's level.
_KNOWN_OPTIONS = ("file_path", "path", "mode", "log_raw", "hmac_accessor", "prefix", "format", "elide_list_responses",
                  "address", "socket_type", "write_timeout", "facility", "tag", "uri", "headers", "skip_test",
                  "filter", "fallback", "exclude")


def _audit_from_hcl(item: _Item, fname: str) -> AuditDecl:
    """An ``audit`` stanza as OpenBao's parser reads it: ``audit "TYPE" "PATH" { ... }``, or ``type``/``path``
    inside (which win over the labels); ``options`` as a block or an object."""
    where = f"{fname}:{item.line}"
    options: dict[str, str] = {}
    lines: dict[str, str] = {}
    settings: dict[str, Any] = {}
    named: dict[str, str] = {}
    for sub in item.body:
        at = f"{fname}:{sub.line}"
        members = sub.members
        key = sub.key.lower()  # (HCL 1 matches a stanza's keys in any case: OpenBao reads Options as options)
        if key == "options" and members is not None:
            for opt in members:
                if opt.members is not None:
                    raise AuditReadyError(f"audit option {opt.key} at {fname}:{opt.line} is a block", _FIX)
                options[opt.key] = _literal(opt.value, f"{fname}:{opt.line}", f"audit option {opt.key}")
                lines[opt.key] = f"{fname}:{opt.line}"
        elif key == "description" and members is None:
            tok = sub.value
            if tok is None or tok.kind not in ("str", "num", "heredoc"):
                raise AuditReadyError(f"the description at {at} is not a string: OpenBao refuses to start",
                                      "write it as a quoted string")
            settings["description"] = _unquote(tok)
        elif key == "local" and members is None:
            if sub.value is None or sub.value.text not in ("true", "false") or sub.value.kind != "ident":
                raise AuditReadyError(f"local at {at} is not a boolean: OpenBao refuses to start (\"unknown type\")",
                                      "write local = true or local = false, unquoted")
            settings["local"] = sub.value.text
        elif key in ("type", "path") and members is None and sub.value is not None and sub.value.kind == "str":
            named[key] = _literal(sub.value, at, sub.key)
        else:
            hint = (f"move {sub.key} into the stanza's options {{ ... }} block" if sub.key in _KNOWN_OPTIONS else
                    "use description, local and an options { ... } block")
            raise AuditReadyError(f"unknown setting {sub.key} in the audit stanza at {where} (OpenBao ignores it with "
                                  "a warning)", hint)
    two = len(item.labels) == 2
    typ = named.get("type") or (item.labels[0] if two else "")
    name = named.get("path") or (item.labels[1] if two else "")
    if not typ or not name:
        raise AuditReadyError(f"the audit stanza at {where} needs a type and a path: audit \"file\" \"NAME\" {{ ... }} "
                              "(or type = \"file\" and path = \"NAME\" inside)", _FIX)
    return AuditDecl(typ, name, where, options, lines, settings)


@functools.lru_cache(maxsize=8)
def _hcl_items(text: str) -> list[_Item]:
    """A server file's top-level items, parsed once for the readers of one file (shared: not to be changed).
    Raises _HclError."""
    return _parse_body(_tokens(text), 0, 0)[0]


def _read_hcl(path: Path, text: str) -> tuple[str, list[AuditDecl], list[str], dict[str, str]]:
    fname = path.name
    try:
        items = _hcl_items(text)
    except _HclError as exc:
        raise AuditReadyError(f"{fname}:{exc.line} of the vault configuration cannot be read: {exc.what}",
                              exc.fix) from None
    audits: list[AuditDecl] = []
    replaced: list[str] = []
    top: dict[str, str] = {}
    kept = list(text)
    for item in items:
        key = item.key.lower()  # OpenBao's HCL 1 finds a top-level key in any case (Audit, LISTENER: EqualFold)
        if key == "audit" and item.members is not None:
            audits.append(_audit_from_hcl(item, fname))
        elif key in REPLACED:
            replaced.append(f"{fname}:{item.line} {item.key}")
        else:
            if item.value is not None:
                top[key] = _unquote(item.value)
            continue
        for k in range(item.start, item.end):  # blank it, keeping the line numbers
            if kept[k] not in "\r\n":
                kept[k] = " "
    return "".join(kept), audits, replaced, top


def _json_option(v: Any, where: str, key: str) -> str:
    """A JSON audit option as OpenBao reads it: a string or a number (its text); a boolean, null, list or object
    make OpenBao refuse to start."""
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    shown = json.dumps(v) if isinstance(v, bool) or v is None else type(v).__name__
    raise AuditReadyError(f"audit option {key} of {where} is {shown}, not a string: OpenBao reads audit options as "
                          "strings and refuses to start", f"quote it: \"{key}\": \"{shown}\"" if isinstance(v, bool)
                          else "write it as a JSON string")


def _json_devices(fname: str, raw: Any) -> list[AuditDecl]:
    """The JSON ``audit`` key's devices, in the shapes OpenBao's reader accepts: a list (or object) of
    {"TYPE": {"PATH": {...}}}, or of {"type": ..., "path": ..., "options": ...}."""
    if not isinstance(raw, (list, dict)):
        raise AuditReadyError(f"the audit key of {fname} is neither an object nor a list", _FIX)
    found: list[tuple[str, str, Any]] = []
    for group in raw if isinstance(raw, list) else [raw]:
        if not isinstance(group, dict):
            raise AuditReadyError(f"an element of the audit list of {fname} is not an object", _FIX)
        if isinstance(group.get("type"), str) or isinstance(group.get("path"), str):
            found.append((str(group.get("type", "")), str(group.get("path", "")), group))
            continue
        for typ, by_name in group.items():
            for byn in by_name if isinstance(by_name, list) else [by_name]:
                if not isinstance(byn, dict):
                    raise AuditReadyError(f"the audit devices of type {typ!r} in {fname} are not an object", _FIX)
                for name, body in byn.items():
                    found.append((str(typ), str(name), body))
    audits: list[AuditDecl] = []
    for typ, name, body in found:
        body = body[0] if isinstance(body, list) and len(body) == 1 else body
        where = f'{fname} audit "{typ}" "{name}"'
        if not isinstance(body, dict):
            raise AuditReadyError(f"the audit stanza {where} is not an object", _FIX)
        if body and all(isinstance(v, dict) for v in body.values()) and "type" not in body:
            # OpenBao's JSON reader (HCL 1) flattens an object whose members are all objects into further labels:
            # the device then has three labels ("options" the third) and OpenBao refuses to start.
            raise AuditReadyError(f"OpenBao cannot read the audit device {where}: an object that holds only objects "
                                  "(here \"options\") is read as one more label, and OpenBao refuses to start (\"audit "
                                  "type must be specified\")", "add \"description\": \"...\" beside \"options\"")
        typ = str(body.get("type") or typ)
        name = str(body.get("path") or name)
        if not typ or not name:
            raise AuditReadyError(f"the audit stanza {where} needs a type and a path", _FIX)
        opts = body.get("options", {})
        opts = opts[0] if isinstance(opts, list) and len(opts) == 1 else opts
        if not isinstance(opts, dict):
            raise AuditReadyError(f"the options of {where} are not an object", _FIX)
        settings: dict[str, Any] = {}
        if "description" in body:
            settings["description"] = str(body["description"])
        if "local" in body:
            if not isinstance(body["local"], bool):
                raise AuditReadyError(f"local of {where} is not a boolean: OpenBao refuses to start",
                                      "write \"local\": true or false, unquoted")
            settings["local"] = str(body["local"]).lower()
        unknown = sorted(set(body) - {"type", "path", "options", "description", "local"})
        if unknown:
            raise AuditReadyError(f"unknown setting {unknown[0]} in the audit stanza {where} (OpenBao ignores it with "
                                  "a warning)", "use description, local and an \"options\" object")
        audits.append(AuditDecl(typ, name, where, {str(k): _json_option(v, where, str(k)) for k, v in opts.items()},
                                {}, settings))
    return audits


def _read_json(path: Path, text: str) -> tuple[str, list[AuditDecl], list[str], dict[str, str]]:
    fname = path.name
    if text.startswith("\ufeff"):
        raise AuditReadyError(f"{fname} of the vault configuration starts with a UTF-8 byte-order mark, which OpenBao "
                              "refuses (\"illegal char\")", "save it as UTF-8 without BOM")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise AuditReadyError(f"{fname} of the vault configuration is not valid JSON ({exc})", "fix the file") from None
    if not isinstance(doc, dict):
        raise AuditReadyError(f"{fname} of the vault configuration is not a JSON object", "fix the file")
    replaced = [f"{fname} {k}" for k in REPLACED if k in doc]
    audits = _json_devices(fname, doc["audit"]) if "audit" in doc else []
    rest = {k: v for k, v in doc.items() if k not in REPLACED and k != "audit"}
    top = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in rest.items()
           if isinstance(v, (str, int, float, bool))}
    return json.dumps(rest, indent=2), audits, replaced, top


def _temporary(name: str) -> bool:
    """An editor's temporary or lock file, which OpenBao skips in a configuration folder."""
    return name.endswith("~") or name.startswith(".#") or (name.startswith("#") and name.endswith("#"))


def _check_devices(audits: list[AuditDecl], top: dict[str, str]) -> None:
    """Refuse, naming the line, what OpenBao would refuse on the production host although the throw-away server
    could be made to start with it (the file it writes there is not the production one)."""
    prefixing = option_true(top.get("allow_audit_log_prefixing", ""))
    for a in audits:
        if "prefix" in a.options and not prefixing:
            raise AuditReadyError(f"audit option prefix at {a.where_option('prefix')} ({a.name}): OpenBao refuses to "
                                  "start with a prefixed audit device unless allow_audit_log_prefixing = true",
                                  "drop the prefix option, or set allow_audit_log_prefixing = true at the top level "
                                  "(and log_prefix in [tool.auditready])")
        fmt = a.options.get("format", "json")
        if fmt != "json":
            raise AuditReadyError(f"audit option format = {json.dumps(fmt)} at {a.where_option('format')} ({a.name}): "
                                  "OpenBao refuses to start (it writes only \"json\"; jsonx was removed in 2.0)",
                                  "drop the format option or set it to \"json\"")
        if a.type != "file" or a.special:
            continue
        fp = a.file_path
        at = a.where_option("file_path" if "file_path" in a.options else "path")
        if not fp:
            raise AuditReadyError(f"the file audit device {a.name} at {a.where} has no file_path: OpenBao refuses to "
                                  "start (\"file_path is required\")", "add options { file_path = \"...\" }")
        if fp.endswith(("/", "/.", "/..")) or fp in (".", "..") or (Path(fp).is_absolute() and Path(fp).is_dir()):
            raise AuditReadyError(f"file_path = {json.dumps(fp)} at {at} ({a.name}) is a folder: OpenBao cannot open "
                                  "it for writing and refuses to start", "name the log file in that folder, e.g. "
                                  f"{json.dumps(fp.rstrip('/') + '/audit.log')}")
        if "mode" in a.options and a.options["mode"].strip("0") == "":
            mode = json.dumps(a.options["mode"])
            raise AuditReadyError(f"mode = {mode} at {a.where_option('mode')} ({a.name}) keeps the mode the host gave "
                                  "the file, which a throw-away server cannot know or check",
                                  "set mode = \"0600\" (or \"0640\" for a log-reader group)")


def load_vault_config(folder: Union[str, Path]) -> VaultConfig:
    """Read DIR's *.hcl and *.json server files and DIR/policies/*.hcl and *.json (or one server FILE, with the
    policies/ beside it). Raises AuditReadyError (one line naming the file and line) for what cannot be used."""
    given = Path(folder)
    if given.is_file():
        if given.suffix not in (".hcl", ".json"):
            raise AuditReadyError(f"{given} is not a server configuration file (*.hcl or *.json)",
                                  "point --auditready-vault-config (vault_config) at your server .hcl file or its "
                                  "folder")
        base, paths = given.parent, [given]
    elif given.is_dir():
        base = given
        paths = sorted(p for p in base.iterdir() if p.suffix in (".hcl", ".json") and p.is_file()
                       and not _temporary(p.name))
    else:
        raise AuditReadyError(f"the vault configuration {given} does not exist",
                              "point --auditready-vault-config (vault_config) at the folder of your server *.hcl "
                              "files, or at one of them")
    files: list[tuple[str, str]] = []
    audits: list[AuditDecl] = []
    replaced: list[str] = []
    forgeable: list[tuple[str, str]] = []
    api_audit: list[str] = []
    top: dict[str, str] = {}
    if not paths:
        raise AuditReadyError(f"{base} holds no server configuration file (*.hcl or *.json)",
                              "put the vault's server configuration (with its audit stanza) in that folder")
    for p in paths:
        text = _read_text(p)
        kept, found, rep, values = (_read_json if p.suffix == ".json" else _read_hcl)(p, text)
        files.append((p.name, kept))
        audits.extend(found)
        replaced.extend(rep)
        forgeable.extend(forgeable_sources(p.name, text))
        api_audit.extend(api_audit_sources(p.name, text))
        for k, v in values.items():
            if k == "allow_audit_log_prefixing" and option_true(top.get(k, "")):
                continue  # OpenBao merges the files: one true is enough
            top[k] = v
    names = [f"{a.type}/{a.name}" for a in audits]
    seen = {a.name.strip("/") for a in audits}
    if len(seen) != len(audits):
        raise AuditReadyError(f"two audit stanzas in {given} share a path ({', '.join(names)})",
                              "give each audit device its own path")
    _check_devices(audits, top)
    return VaultConfig(base, tuple(files), tuple(audits), tuple(_policies(base / "policies")), tuple(replaced),
                       tuple(forgeable), tuple(api_audit))


# A listener's trust of what a client sends as its address (OpenBao's listener docs: x_forwarded_for_authorized_addrs
# "the list of source IP CIDRs for which an X-Forwarded-For header will be trusted", which then sets the audit log's
# remote_address; proxy_protocol_behavior "use_always" takes the PROXY header's address from anyone).
_XFF = re.compile(r'x_forwarded_for_authorized_addrs"?\s*[=:]\s*(\[[^\]]*\]|"[^"]*")')
_PROXY_ALWAYS = re.compile(r'proxy_protocol_behavior"?\s*[=:]\s*"use_always"')


# OpenBao's declarative audit RFC (after CVE-2025-54997): "API-driven audit device creation is fundamentally unsafe";
# this top-level setting opens it again.
_API_AUDIT = re.compile(r'(?i)unsafe_allow_api_audit_creation"?\s*[=:]\s*"?true\b')


def _found(fname: str, text: str, pattern: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
    """Each match of ``pattern`` in a server file outside a comment line, with its FILE:LINE."""
    out = []
    for m in pattern.finditer(text):
        line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()].lstrip()
        if not line.startswith(("#", "//")):
            out.append((f"{fname}:{text.count(chr(10), 0, m.start()) + 1}", m))
    return out


def forgeable_sources(fname: str, text: str) -> list[tuple[str, str]]:
    """Where (FILE:LINE) and how a server file lets every client write the address the audit log records as a
    request's source: an X-Forwarded-For header trusted from every address, or a PROXY protocol header used from
    anyone (``use_always``, or authorized from every address). "Every address" is any list of CIDRs whose union is
    0.0.0.0/0 or ::/0 (0.0.0.0/1 and 128.0.0.0/1). An HCL file is read as OpenBao reads it (keys in any case,
    heredocs, comments of the three styles left out); a JSON file by its text."""
    if not fname.endswith(".hcl"):
        out = [(at, f"trusts X-Forwarded-For from every address ({m.group(1)[:80]})")
               for at, m in _found(fname, text, _XFF) if _everyone(_cidrs(m.group(1)))]
        return out + [(at, "uses the PROXY protocol header of every connection (proxy_protocol_behavior = "
                       "\"use_always\")") for at, _m in _found(fname, text, _PROXY_ALWAYS)]
    out = []
    for listener in (i for i in _hcl_items(text) if i.key.lower() == "listener"):
        for block in [listener, *(b for b in listener.members or () if b.members is not None)]:
            said = {sub.key.lower(): sub for sub in block.members or () if sub.members is None}
            xff, behavior = said.get("x_forwarded_for_authorized_addrs"), said.get("proxy_protocol_behavior")
            if xff is not None and _everyone(_strings(text, xff)):
                out.append((f"{fname}:{xff.line}", f"trusts X-Forwarded-For from every address "
                            f"({', '.join(_strings(text, xff))[:80]})"))
            how = _unquote(behavior.value).lower() if behavior is not None and behavior.value is not None else ""
            authorized = said.get("proxy_protocol_authorized_addrs")
            if how == "use_always" or (how in ("allow_authorized", "deny_unauthorized") and authorized is not None
                                       and _everyone(_strings(text, authorized))):
                assert behavior is not None
                out.append((f"{fname}:{behavior.line}", "uses the PROXY protocol header of every connection "
                            f"(proxy_protocol_behavior = \"{how}\"" + (
                                ", authorized from every address)" if how != "use_always" else ")")))
    return out


def _strings(text: str, item: _Item) -> list[str]:
    """The addresses an attribute's value lists: its strings (a list of them, or one; a heredoc), each split at
    commas as OpenBao splits a string of CIDRs."""
    toks = _tokens(text[item.start:item.end])[1:]  # (its key first)
    found = [_unquote(t) for t in toks if t.kind in ("str", "heredoc")]
    return [part.strip() for s in found for part in s.split(",") if part.strip()]


def _cidrs(listed: str) -> list[str]:
    """The CIDRs of a JSON value's text (a string of them, or a list)."""
    return [part.strip() for s in re.findall(r'"([^"]*)"', listed) for part in s.split(",") if part.strip()]


def _everyone(cidrs: list[str]) -> bool:
    """Whether ``cidrs`` together hold every IPv4 or every IPv6 address."""
    import ipaddress

    nets: dict[int, list[Any]] = {4: [], 6: []}
    for c in cidrs:
        try:
            net = ipaddress.ip_network(c, strict=False)
        except ValueError:
            continue
        nets[net.version].append(net)
    return any(n.prefixlen == 0 for v in nets.values() for n in ipaddress.collapse_addresses(v))


def api_audit_sources(fname: str, text: str) -> list[str]:
    """Where (FILE:LINE) a server file lets the API enable, change and disable audit devices
    (``unsafe_allow_api_audit_creation = true``), an HCL file read as OpenBao reads it (a key in any case, never in
    a comment)."""
    if not fname.endswith(".hcl"):
        return [at for at, _m in _found(fname, text, _API_AUDIT)]
    return [f"{fname}:{i.line}" for i in _hcl_items(text)
            if i.key.lower() == "unsafe_allow_api_audit_creation" and i.value is not None
            and option_true(_unquote(i.value))]


def _policies(pdir: Path) -> list[tuple[str, str]]:
    """DIR/policies/NAME.hcl and NAME.json (OpenBao takes a policy's text in HCL or JSON), each as (NAME, text).
    Anything else there (another suffix, a folder, two files of one name) is refused: a policy that is not loaded
    leaves OpenBao's own in its place, and the run would audit that one."""
    if not pdir.is_dir():
        return []
    out: dict[str, tuple[str, str]] = {}
    for p in sorted(pdir.iterdir()):
        if p.name.startswith(".") or _temporary(p.name):
            continue
        if not p.is_file() or p.suffix.lower() not in (".hcl", ".json"):
            raise AuditReadyError(f"{p} is no policy file (DIR/policies/NAME.hcl or NAME.json): it would not be "
                                  "written to the vault, which would keep its own policy of that name",
                                  "rename it NAME.hcl (or NAME.json), or move it out of the policies folder")
        if p.stem in out:
            raise AuditReadyError(f"{p} and {out[p.stem][0]} are both the policy {p.stem!r}",
                                  "keep one file per policy")
        out[p.stem] = (p.name, _read_text(p))
    return [(name, text) for name, (_, text) in out.items()]


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
    """A device whose entries the embedded target reads without a file device: a socket device (its destination
    replaced by a receiver of the target's own over TCP, whatever its socket_type: auditlog/socket_source.py; a
    declared udp is judged by checks/fail_closed.py), an
    http device (auditlog/http_source.py), or a syslog device (written to a file of the throw-away server:
    ``audit_hcl``)."""
    return a.type in ("socket", "http", "syslog")


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
                    raise AuditReadyError(f"audit_device {wanted!r} ({a.where}) is a {a.type} device whose entries "
                                          "the audit cannot read", f"set audit_device to a file, syslog, socket or "
                                          f"http device, or add {stanza}")
                return a
        raise AuditReadyError(f"audit_device {wanted!r} is not declared in {cfg.folder} "
                              f"(it declares: {', '.join(a.name for a in cfg.audits)})",
                              "set audit_device to one of those paths")
    files = cfg.file_devices() or [a for a in cfg.audits if _receivable(a)]
    if not files:
        raise AuditReadyError(f"the vault configuration in {cfg.folder} declares no audit device whose entries the "
                              "audit can read (a file, syslog, socket or http device)", f"add {stanza}")
    if len(files) > 1:
        raise AuditReadyError(f"the vault configuration in {cfg.folder} declares several {files[0].type} audit "
                              f"devices ({', '.join(a.name for a in files)})", "set audit_device to the one to audit")
    return files[0]


ORIGIN_MARK = "auditready-origin:"
# The origin key listing the top-level stanzas left out of the throw-away server (REPLACED), FILE:LINE key each.
REPLACED_MARK = "auditready:replaced"
# The origin key holding a file device's file_path as the configuration wrote it (the server writes elsewhere).
PRODUCTION_PATH_MARK = "auditready:file_path"
# The origin key holding a device's type as the configuration declared it, when the server runs it as another.
PRODUCTION_TYPE_MARK = "auditready:type"


# The origin key holding a socket device's socket_type as the configuration declared it, when the throw-away server
# sends over TCP to the receiver instead (checks/fail_closed.py judges the declared one).
PRODUCTION_SOCKET_MARK = "auditready:socket_type"
# The origin key holding an http device's uri as the configuration declared it, scheme and host only (no user
# information, path or query: a token may sit there), when the throw-away server posts to a receiver instead
# (checks/log_protection.py judges the declared scheme).
PRODUCTION_URI_MARK = "auditready:uri"
# The origin key holding a socket device's address as the configuration declared it, when the throw-away server
# sends to a receiver of its own instead (checks/log_protection.py judges whether it leaves the host).
PRODUCTION_ADDRESS_MARK = "auditready:address"


def uri_reference(uri: str) -> Optional[str]:
    """``uri`` when it is a reference OpenBao resolves on the vault's host (``env://NAME``: a variable of the server's
    environment; ``file://PATH``: a file's content: its http device passes uri through parseutil.ParsePath), else
    None. The run cannot read what it names there (red team rt95, F3)."""
    text = uri.strip()
    return text if _REFERENCE.match(text) else None


_REFERENCE = re.compile(r"(?:env|file)://\S+\Z")  # (as parseutil.ParsePath: lower case)


def uri_origin(uri: str) -> str:
    """``scheme://host[:port]`` of a URI, nothing else of it (no user information, path, query or fragment); ""
    when it names no host. A reference (``uri_reference``) is kept as written: its name is no host, and its case
    is the variable's or the file's."""
    from urllib.parse import urlsplit

    ref = uri_reference(uri)
    if ref is not None:
        return ref

    try:
        parts = urlsplit(uri.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


# Options that say where a device sends its entries (and how it authenticates there): replaced by ``local``'s.
_DESTINATION = {"socket": ("address", "socket_type"), "http": ("uri", "headers"), "syslog": ("facility", "tag")}


def audit_hcl(cfg: VaultConfig, workdir: Path,
              local: Optional[dict[str, dict[str, str]]] = None) -> tuple[str, dict[str, Path]]:
    """The audit stanzas as the throw-away server declares them: each file device writes into ``workdir``; each
    socket and http device sends to the local receiver ``local`` names for it (device -> {"address": ...} or
    {"uri": ...}: its destination options replaced, the rest kept) instead of the production collector; each syslog
    device becomes a file device in ``workdir`` with the same formatting options (a CI runner has no syslog to
    reach; ``outward``); a file device that keeps nothing (``AuditDecl.special``) is written with "discard" or
    "stdout". The description carries where the stanza and each option were declared (read back by the scenario's
    facts), what was redirected and which top-level stanzas were left out (``REPLACED_MARK``). Returns the HCL and
    each file device's log path."""
    out: list[str] = []
    paths: dict[str, Path] = {}
    shared: dict[str, Path] = {}  # a production file_path -> the file in workdir its first device writes
    for i, a in enumerate(cfg.audits):
        opts = dict(a.options)
        kind, name = a.type, a.name.strip("/")
        redirected = ""
        if kind == "syslog":
            kind, redirected = "file", "auditready: this syslog device writes to a file of the throw-away server"
            opts = {k: v for k, v in opts.items() if k not in _DESTINATION["syslog"]}
        if kind == "file":
            opts.pop("path", None)  # file_path's older name: file_path is written instead
        if kind == "file" and (a.type == "syslog" or a.records):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "device"
            paths[name] = workdir / f"audit-{i}-{safe}.log"
            if a.type == "file":  # two devices with one file_path write into one file, as in production
                paths[name] = shared.setdefault(os.path.normpath(a.file_path), paths[name])
            opts["file_path"] = str(paths[name])
            if a.type == "syslog":
                opts["mode"] = "0600"
        elif a.special:
            opts["file_path"] = a.special  # as OpenBao reads it: the checks know the keyword
            if a.file_path != a.special:
                redirected = (f"auditready: file_path {json.dumps(a.file_path)} is written as {json.dumps(a.special)}, "
                              "the same for the vault (whatever it writes there is kept nowhere the run reads)")
        declared_type = opts.get("socket_type", "tcp").strip().lower() if kind == "socket" else ""
        if kind in ("socket", "http") and local is not None and name in local:
            opts = {k: v for k, v in opts.items() if k not in _DESTINATION[kind]}
            opts.update(local[name])
            redirected = f"auditready: this {kind} device sends to a local receiver of the throw-away server"
        origin = {"": a.where, **{k: a.where_option(k) for k in a.options}}
        if a.type == "file" and "path" in a.options:
            origin.setdefault("file_path", a.where_option("path"))
        if a.type == "file" and a.records:  # where production writes it (log_protection judges the folder)
            origin[PRODUCTION_PATH_MARK] = a.file_path
        if kind != a.type:
            origin[PRODUCTION_TYPE_MARK] = a.type
        if declared_type and opts.get("socket_type", "tcp").strip().lower() != declared_type:
            origin[PRODUCTION_SOCKET_MARK] = declared_type  # received over TCP here, sent as declared in production
        if kind == "socket" and opts.get("address") != a.options.get("address"):
            origin[PRODUCTION_ADDRESS_MARK] = str(a.options.get("address", ""))  # sent to a receiver here
        if kind == "http" and opts.get("uri") != a.options.get("uri"):
            origin[PRODUCTION_URI_MARK] = uri_origin(str(a.options.get("uri", "")))  # posted to a receiver here
        if redirected:
            origin["auditready"] = redirected.split(": ", 1)[1]  # in the evidence beside the device
        if cfg.replaced:  # what the throw-away server did not take from the configuration, in the evidence
            origin[REPLACED_MARK] = ", ".join(cfg.replaced)
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
