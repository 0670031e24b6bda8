"""A live log source that is a program: what ``log_command`` prints (``journalctl -o cat -f``, ``kubectl logs -f``,
a SIEM's command-line client) is read as the run's audit lines.

The program is started at ``mark()`` (before the scenario), read as it runs (non-blocking: a poll takes what is
there and never waits), and stopped at ``close()`` (SIGTERM to its process group, SIGKILL after a deadline). It
exiting non-zero is a one-line error with its last stderr lines (what may be a credential blanked) and what it had
printed; its output ending inside a line is a cut entry. It is run without a shell (``shlex`` splits the
line; write ``sh -c '...'`` for a pipe), in the environment of the user's shell minus the vault token
(``VAULT_TOKEN``, ``BAO_TOKEN``): it reads logs, it never needs to act on the vault. Lines are numbered in the
order the program printed them, named ``log_command[PROGRAM]``.
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Mapping, Optional

from ..errors import AuditReadyError
from ..text import URL_CREDENTIALS
from .lines import WholeLines, too_long
from .model import BadLine
from .source import Framing, LogBatch

STOP_SECONDS = 3.0
_HIDDEN_ENV = ("VAULT_TOKEN", "BAO_TOKEN")
_FIX = "run the command by hand to see what it prints; it must print the audit entries, one JSON object a line"
CUT_AT_END = ("the log command's output ended inside this line (no newline after its last {size} bytes): the entry "
              "it was printing is cut; make the command print whole lines and end each with a newline")
# What a program's stderr may hold of its own credentials (a SIEM client's token, a URL with a password): blanked
# before its lines reach the one-line error. Values of the environment it was given whose names say secret, too.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})  # the working folder: "pwd" in its name, no secret in its value
_SECRET_NAME = re.compile(r"(?i)token|secret|passw|pwd|key|credential|auth|session|cookie|signature|private")
# What the passes put in a value's place (and the bootstrap's own blanking of the root token: vault/targets.py).
PLACEHOLDER = r"<(?:redacted|root token|vault token|credentials|aws access key|github token)>"
_SECRET_TEXT = (
    (URL_CREDENTIALS, r"\1<credentials>@"),  # user:password@ in a URL
    (re.compile(r"(?i)\b(bearer|basic|negotiate|token|splunk)(\s+)[A-Za-z0-9._~+/=:-]{6,}"), r"\1\2<redacted>"),
    # (a name that goes on past the word: AWS_SECRET_ACCESS_KEY=, DB_PASSWORD_FILE=; red team rt92 F2)
    # (never over a value an earlier pass put in its place: "X-Vault-Token: <root token>" stays whole, red team rt102
    # F5; only a whole placeholder of these passes is spared, so a secret that reads "<x>", or what an earlier pass
    # left of a longer value after its placeholder, is still blanked)
    (re.compile(r"(?i)(\b[\w.-]*?(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|credentials?|authorization|"
                r"auth|signature|sig|session(?:[_-]?id)?|cookie|private[_-]?key)[\w.-]*[\"']?\s*[:=]\s*[\"']?)"
                r"(?!" + PLACEHOLDER + r"(?:[\s\"'&,;]|\Z))[^\s\"'&,;]+"), r"\1<redacted>"),
    (re.compile(r"\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{20,}"), "<vault token>"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "<aws access key>"),
    # GitHub's classic tokens (GitHub Docs, "About authentication to GitHub": ghp_, gho_, ghu_, ghs_, ghr_)
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "<github token>"),
    # a run that could be a key of no known shape (an AWS secret access key printed alone: 40 base64 characters):
    # 20 or more of a token's characters, letters and digits mixed
    (re.compile(r"(?<![\w+/=~-])(?=[\w+/=~-]*[0-9])(?=[\w+/=~-]*[A-Za-z])[\w+/=~-]{20,}"), "<redacted>"),
)


def blank_secrets(text: str, env: Mapping[str, str]) -> str:
    """``text`` (a program's stderr) with what may be a credential blanked: the values of ``env`` (and of the
    vault token variables) whose names say secret, then the usual shapes (a URL's user:password, an Authorization
    header, ``token=...``, a Vault token, an AWS access key id)."""
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and k not in _NOT_SECRET and len(v) >= 4}
    values |= {os.environ[k] for k in _HIDDEN_ENV if len(os.environ.get(k, "")) >= 4}
    for v in sorted(values, key=len, reverse=True):
        text = text.replace(v, "<redacted>")
    for pattern, repl in _SECRET_TEXT:
        text = pattern.sub(repl, text)
    from ..report.common import masked_tokens

    return masked_tokens(text)  # every credential of a documented format (Slack's, Stripe's, a JWT...)


class CommandLogSource:
    """The lines a program prints on stdout, read while it runs."""

    def __init__(self, command: str, prefix: str = "") -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise AuditReadyError(f"log_command cannot be split into words ({exc})",
                                  "quote it as a shell would (sh -c '...' for a pipe)") from None
        if not self.argv:
            raise AuditReadyError("log_command is empty", "give the command that prints the audit lines")
        self.name = f"log_command[{os.path.basename(self.argv[0])}]"
        self.path: Optional[Path] = None  # no local file: log_protection asks the vault only
        self.prefix = prefix
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._lines = WholeLines()
        self._line = 0
        self._stderr = b""
        self.stderr_bytes = 0  # what it wrote to its standard error in all (never shown: it may hold secrets)
        self._errors: collections.deque[str] = collections.deque(maxlen=3)
        # a platform's framing around each line (journalctl -o json, a CRI or Docker log file): told from the first
        # lines printed, then taken off line by line as offline (auditlog.container)
        self._framing = Framing()
        self._env: dict[str, str] = {}
        self._ended = False  # its output ended, and what it left unfinished was said

    def mark(self) -> None:
        """Start the program: what it prints from now on is read."""
        self.close()
        env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_ENV}
        self._env, self._ended = env, False
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env, start_new_session=True)
        except FileNotFoundError:
            raise AuditReadyError(f"log_command's program {self.argv[0]!r} was not found",
                                  "install it, or give its full path in log_command") from None
        except OSError as exc:
            raise AuditReadyError(f"log_command's program {self.argv[0]!r} cannot be started: {exc.strerror}",
                                  _FIX) from None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        os.set_blocking(self._proc.stdout.fileno(), False)
        os.set_blocking(self._proc.stderr.fileno(), False)
        self._lines, self._line, self.stderr_bytes = WholeLines(), 0, 0

    @staticmethod
    def _read(fd: int) -> Optional[bytes]:
        """What is there to read now (b"" at end of output), None when nothing is."""
        try:
            return os.read(fd, 1 << 20)
        except BlockingIOError:
            return None

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            data = self._read(self._proc.stderr.fileno())
            if not data:
                break
            self.stderr_bytes += len(data)
            self._stderr = (self._stderr + data)[-4096:]
        for ln in self._stderr.split(b"\n")[:-1]:
            if ln.strip():
                self._errors.append(ln.decode("utf-8", "replace").strip()[:200])
        self._stderr = self._stderr.rsplit(b"\n", 1)[-1]

    def poll(self, batch: LogBatch) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdout is not None
        while True:
            data = self._read(proc.stdout.fileno())
            if not data:
                break
            self._feed(data, batch)
        self._drain_stderr()
        code = proc.poll()
        if code is not None and code != 0:
            # what it printed before it failed was read above; its last stderr lines say why (credentials blanked)
            said = blank_secrets(" | ".join(self._errors), self._env) or "nothing on stderr"
            self.close()
            raise AuditReadyError(f"the log command {self.argv[0]!r} exited with status {code}: {said} (it had "
                                  f"printed {self.printed()} on its standard output)", _FIX)
        if code == 0 and data == b"" and not self._ended:
            self._end(batch)

    @property
    def ended(self) -> bool:
        """Whether the program exited 0 and all it printed was read: nothing more will come."""
        return self._ended

    @property
    def lines_read(self) -> int:
        return self._line

    @property
    def pending_bytes(self) -> int:
        """Bytes it printed after its last newline: a line not ended (yet)."""
        return self._lines.pending

    def printed(self) -> str:
        """What it printed, as a message says it: its whole lines, and the bytes of a line it has not ended."""
        part = self._lines.pending
        if part and not self._line:
            return f"{part} byte(s) and not one newline"
        return f"{self._line} line(s)" + (f" and {part} byte(s) of a line with no newline yet" if part else "")

    def _end(self, batch: LogBatch) -> None:
        """The program's output has ended (it exited 0): a last line without its newline, or pieces of a split line
        never completed (journalctl -o json's line-max pieces, a CRI P line), is an entry cut, said at its line."""
        self._ended = True
        if self._lines.pending:
            self._line += 1
            batch.add(BadLine(self.name, self._line, CUT_AT_END.format(size=self._lines.pending),
                              self._lines.buf[:200].decode("utf-8", "replace")))
            self._lines = WholeLines()
        why = self._framing.unwrap.finish() if self._framing.unwrap is not None else None
        if why:
            batch.add(BadLine(self.name, self._line, why, ""))

    def _feed(self, data: bytes, batch: LogBatch) -> None:
        for piece in self._lines.feed(data):
            if isinstance(piece, int):
                self._line += 1
                batch.add(BadLine(self.name, self._line, too_long(piece)))
            else:
                self._whole(piece[:-1].split(b"\n"), batch)

    def _whole(self, lines: list[bytes], batch: LogBatch) -> None:
        self._framing.tell(lines)
        for raw in lines:
            self._line += 1
            # with no framing of its own, the program prints a unit's merged stdout and stderr (journalctl -o cat)
            item = self._framing.item(self.name, self._line, raw, self.prefix, batch.around, merged=True)
            if item is not None:
                batch.add(item)

    def close(self) -> None:
        """Stop the program: SIGTERM to its process group, SIGKILL after STOP_SECONDS."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)  # its own session (start_new_session): the program and its children
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=STOP_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    continue
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()

