"""A live log source that is a program: what ``log_command`` prints (``journalctl -o cat -f``, ``kubectl logs -f``,
a SIEM's command-line client) is read as the run's audit lines.

The program is started at ``mark()`` (before the scenario), read as it runs (non-blocking: a poll takes what is
there and never waits), and stopped at ``close()`` (SIGTERM to its process group, SIGKILL after a deadline). It
exiting non-zero is a one-line error with its last stderr lines. It is run without a shell (``shlex`` splits the
line; write ``sh -c '...'`` for a pipe), in the environment of the user's shell minus the vault token
(``VAULT_TOKEN``, ``BAO_TOKEN``): it reads logs, it never needs to act on the vault. Lines are numbered in the
order the program printed them, named ``log_command[PROGRAM]``.
"""

from __future__ import annotations

import collections
import os
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Optional

from ..errors import AuditReadyError
from . import container
from .lines import MAX_LINE_BYTES, WholeLines
from .model import BadLine
from .source import LogBatch, read_line

STOP_SECONDS = 3.0
_HIDDEN_ENV = ("VAULT_TOKEN", "BAO_TOKEN")
_FIX = "run the command by hand to see what it prints; it must print the audit entries, one JSON object a line"


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
        self._errors: collections.deque[str] = collections.deque(maxlen=3)
        # a platform's framing around each line (journalctl -o json, a CRI or Docker log file): told from the first
        # lines printed, then taken off line by line as offline (auditlog.container)
        self._unwrap: Optional[container.Unwrap] = None
        self._framing_known = False

    def mark(self) -> None:
        """Start the program: what it prints from now on is read."""
        self.close()
        env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_ENV}
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
        self._lines, self._line = WholeLines(), 0

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
            # what it printed before it failed was read above; its last stderr lines say why
            said = " | ".join(self._errors) or "nothing on stderr"
            self.close()
            raise AuditReadyError(f"the log command {self.argv[0]!r} exited with status {code}: {said}", _FIX)

    def _feed(self, data: bytes, batch: LogBatch) -> None:
        for piece in self._lines.feed(data):
            if isinstance(piece, int):
                self._line += 1
                batch.add(BadLine(self.name, self._line,
                                  f"line is {piece} bytes, over the {MAX_LINE_BYTES} byte limit"))
            else:
                self._whole(piece[:-1].split(b"\n"), batch)

    def _whole(self, lines: list[bytes], batch: LogBatch) -> None:
        if not self._framing_known and any(ln.strip() for ln in lines):
            self._framing_known = True
            framing = container.detect(lines[:200])
            self._unwrap = container.Unwrap(framing) if framing else None
        unwrap = self._unwrap
        for raw in lines:
            self._line += 1
            if unwrap is not None and raw.strip():
                raw = unwrap.one(raw)
                if raw == container.LOST:
                    batch.add(BadLine(self.name, self._line, unwrap.problems.pop(0), ""))
                    continue
            if raw.strip():
                batch.add(read_line(self.name, self._line, raw, self.prefix))

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

