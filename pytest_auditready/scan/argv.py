"""Credentials a command line passes as arguments.

A Kubernetes audit event at Request level and above logs command lines: a container's ``command`` and ``args`` (a
Pod, a Deployment, a Job) as lists, and an exec request's as the ``command`` parameters of its requestURI
(``/api/v1/namespaces/n/pods/p/exec?command=mysql&command=-pXXXX``), often a shell's (``sh -c "..."``). A
credential there is in the log in clear, under no key that names it:

- a flag that names a credential followed by its value as the next argument (``--db-password X``, ``-token X``);
- the tools whose own flags take one, as their manuals give them: ``mysql -pX`` (MySQL and MariaDB clients: the
  password attached), ``redis-cli -a X``, ``curl -u user:X``, ``sshpass -p X``, ``mongosh -p X``, ``zip -P X``,
  ``7z -pX``, ``smbclient -U user%X``, ``ldapsearch -w X``, ``sqlcmd -P X``, ``docker login -p X``, ``openssl ...
  pass:X``, ``htpasswd -b file user X``.

A value that is a reference (``$VAR``, a file) or a placeholder is none (scan.tokens.credential).
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

from . import tokens

# A flag that names a credential ("--password", "--api-key", "-token"). Not one that only asks for it or names where
# it is kept ("--no-password", "--ask-password", "--password-file": the last does not end in the word).
CREDENTIAL_FLAG = re.compile(r"(?i)--?[A-Za-z0-9_.-]*" + tokens.CREDENTIAL_KEY)
_NOT_GIVEN = re.compile(r"(?i)--?(?:no|ask|prompt|read|stdin|use)[_-]")

_MYSQL = ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow", "mysqlslap", "mariadb",
          "mariadb-dump", "mariadb-admin", "mariadb-import", "mariadb-check", "mariadb-show", "mariadb-slap")
_MONGO = ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop",
          "mongofiles")
_LDAP = ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapmodrdn", "ldapwhoami", "ldappasswd",
         "ldapcompare", "ldapexop")
_REGISTRY = ("docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oras", "crane")


def _after(sep: str) -> Callable[[str], str]:
    """The part after the first ``sep`` ("user:password"); none when there is no such separator."""
    return lambda value: value.partition(sep)[2]


def _whole(value: str) -> str:
    return value


@dataclass(frozen=True)
class _Flag:
    tools: tuple[str, ...]
    flag: str
    attached: bool  # "-pVALUE"
    separate: bool  # "-p" "VALUE"
    credential: Callable[[str], str] = _whole  # the credential in the value
    subcommand: str = ""  # only after this argument ("docker login")


_FLAGS = (
    _Flag(_MYSQL, "-p", True, False),  # "-p" alone prompts: the next argument is the database
    _Flag(("redis-cli", "valkey-cli", "keydb-cli"), "-a", False, True),
    _Flag(("redis-cli", "valkey-cli", "keydb-cli"), "--pass", False, True),
    _Flag(("curl",), "-u", True, True, _after(":")),
    _Flag(("curl",), "--user", False, True, _after(":")),
    _Flag(("curl",), "-U", True, True, _after(":")),
    _Flag(("curl",), "--proxy-user", False, True, _after(":")),
    _Flag(("curl",), "--oauth2-bearer", False, True),
    _Flag(("sshpass",), "-p", True, True),
    _Flag(_MONGO, "-p", False, True),
    _Flag(("zip", "unzip", "zipcloak"), "-P", False, True),
    _Flag(("7z", "7za", "7zr"), "-p", True, False),
    _Flag(("smbclient", "rpcclient", "smbcacls", "net"), "-U", True, True, _after("%")),
    _Flag(("smbclient", "rpcclient", "smbcacls"), "--user", False, True, _after("%")),
    _Flag(_LDAP, "-w", True, True),
    _Flag(("sqlcmd", "bcp", "osql", "isql"), "-P", True, True),
    _Flag(_REGISTRY, "-p", False, True, subcommand="login"),
)
_BY_TOOL: dict[str, tuple[_Flag, ...]] = {}
for _f in _FLAGS:
    for _t in _f.tools:
        _BY_TOOL[_t] = (*_BY_TOOL.get(_t, ()), _f)
TOOLS = frozenset(_BY_TOOL) | {"openssl", "htpasswd"}
# A tool's name as a word of a text (a shell command line, a JSON list item, a URI parameter): what the scanner's
# prefilter looks for (scan.hyperscan), and what a text must hold to be read as a command line.
TOOL_WORD = (r"(?:" + "|".join(re.escape(t) for t in sorted(TOOLS, key=lambda t: (-len(t), t))) + r")")
_TOOL_IN_TEXT = re.compile(r"(?<![\w.-])" + TOOL_WORD + r"(?=\s)")
_SEPARATORS = frozenset({";", "&&", "||", "|", "&"})
# Words that run the command after them (and a variable's assignment before it): a tool after one of them is the
# program; anywhere else its name is an argument (a host called "mongo").
_RUNNERS = frozenset({"env", "sudo", "exec", "nohup", "nice", "time", "xargs", "command", "--"})


def _program(arg: str) -> str:
    return arg.rsplit("/", 1)[-1]


def _tool_credentials(tool: str, args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(flag, credential) in ``args``, the arguments after ``tool`` up to a shell separator."""
    if tool == "openssl":  # a pass phrase argument: "pass:<password>" (openssl-passphrase-options)
        for a in args:
            if a.startswith("pass:"):
                yield "pass:", a[5:]
        return
    if tool == "htpasswd":  # batch mode takes the password as the last argument: -b file user pw, -nb user pw
        letters = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
        words = [a for a in args if not a.startswith("-")]
        at = 1 if "n" in letters else 2
        if "b" in letters and len(words) > at:
            yield "-b", words[at]
        return
    flags = _BY_TOOL.get(tool, ())
    for i, a in enumerate(args):
        for f in flags:
            if f.subcommand and f.subcommand not in args[:i]:
                continue
            if f.separate and a == f.flag and i + 1 < len(args) and not args[i + 1].startswith("-"):
                yield f.flag, f.credential(args[i + 1])
            elif f.attached and a.startswith(f.flag) and len(a) > len(f.flag):  # (only short flags are attached)
                yield f.flag, f.credential(a[len(f.flag):])
            elif a.startswith(f.flag + "="):  # a long flag's "--flag=value"
                yield f.flag, f.credential(a[len(f.flag) + 1:])


def credentials(argv: Sequence[str], generic: bool = True) -> Iterator[tuple[str, str]]:
    """(what names it, credential) for each credential a command line passes: "<tool> <flag>" for a tool's own flag,
    the flag's name for a flag that names a credential (``generic``)."""
    i = 0
    while i < len(argv):
        tool = _program(argv[i])
        before = argv[i - 1] if i else ""
        if tool in TOOLS and (not i or before in _SEPARATORS or _program(before) in _RUNNERS
                              or ("=" in before and not before.startswith("-"))):
            end = i + 1
            while end < len(argv) and argv[end] not in _SEPARATORS:
                end += 1
            for flag, value in _tool_credentials(tool, argv[i + 1:end]):
                if tokens.credential(flag, value):
                    yield f"{tool} {flag}", value
        i += 1
    if generic:
        for flag, value in zip(argv, argv[1:]):
            if (CREDENTIAL_FLAG.fullmatch(flag) is not None and _NOT_GIVEN.match(flag) is None
                    and not value.startswith("-") and tokens.credential(flag.lstrip("-"), value)):
                yield flag.lstrip("-"), value


def shell_words(text: str) -> Optional[list[str]]:
    """The words of ``text`` read as a shell command line, when it names a tool of ours (``sh -c "mysql -pX"``);
    None otherwise, or when it is no command line (unbalanced quotes)."""
    if _TOOL_IN_TEXT.search(text) is None:
        return None
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return None


def exec_command(uri: str) -> Optional[list[str]]:
    """The command an exec request runs, from its URI's ``command`` parameters in order (Kubernetes' pods/exec
    subresource, ``.../pods/<name>/exec?command=...``, and the kubelet's ``/exec/<ns>/<pod>/<container>?...``);
    None for any other URI."""
    path, sep, query = uri.partition("?")
    if not sep or "command=" not in query or not (path.endswith("/exec") or path.startswith("/exec/")):
        return None
    return [v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k == "command"]


def in_command(argv: Sequence[str], generic: bool = True) -> Iterator[tuple[str, str]]:
    """``credentials`` of a command line and of each shell command line among its arguments (``sh -c "..."``)."""
    yield from credentials(argv, generic)
    for a in argv:
        if " " in a:
            words = shell_words(a)
            if words:
                yield from credentials(words, generic=False)
