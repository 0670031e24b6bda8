"""Log sources: where the entries a live run produced are read from.

A source is marked before the scenario starts and then polled; it hands back only what was appended since the
mark, whole lines only (a partial last line waits for its newline).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol, Union

from ..errors import AuditReadyError
from .model import AuditEntry, BadLine
from .vault_json import parse_line

_CHUNK = 1 << 20


@dataclass
class LogBatch:
    """What a source has produced so far: parsed entries, lines that would not parse, and where it came from."""

    entries: list[AuditEntry] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    partial_tail: int = 0  # bytes of an unterminated last line still waiting for its newline

    def add(self, item: Union[AuditEntry, BadLine]) -> None:
        if isinstance(item, AuditEntry):
            self.entries.append(item)
        else:
            self.bad_lines.append(item)


class LogSource(Protocol):
    """The interface a `pytest_auditready_make_log_source` hook returns."""

    name: str
    path: Optional[Path]  # the local file behind it, when there is one (log_protection stats it)

    def mark(self) -> None:
        """Remember the current end of the log: entries before it are not this run's."""

    def poll(self, batch: LogBatch) -> None:
        """Append to ``batch`` what is new since the last poll."""


class FileLogSource:
    """A file written by a file audit device (or by a pipeline that copies one)."""

    def __init__(self, path: Union[str, Path], prefix: str = "") -> None:
        self.path: Optional[Path] = Path(path)
        self.name = str(path)
        self.prefix = prefix
        self._offset = 0
        self._line = 0  # lines before _offset
        self._tail = b""

    def _need_path(self) -> Path:
        assert self.path is not None
        return self.path

    def mark(self) -> None:
        path = self._need_path()
        try:
            with open(path, "rb") as f:
                lines = 0
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    lines += chunk.count(b"\n")
                    self._offset += len(chunk)
                self._line = lines
        except FileNotFoundError:
            # A device may create its file on the first request; an absent file starts at zero.
            self._offset, self._line = 0, 0
        except OSError as exc:
            raise AuditReadyError(
                f"cannot read the audit log {path}: {exc.strerror}",
                "give this user read access to the file (or point --auditready-log at a readable copy)",
            ) from None

    def poll(self, batch: LogBatch) -> None:
        path = self._need_path()
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AuditReadyError(f"cannot read the audit log {path}: {exc.strerror}", "fix its permissions") from None
        if size < self._offset:
            # Truncated or replaced under us: read the new file from its start.
            self._offset, self._line, self._tail = 0, 0, b""
        if size == self._offset:
            batch.partial_tail = len(self._tail)
            return
        try:
            with open(path, "rb") as f:
                f.seek(self._offset)
                data = f.read(size - self._offset)
        except OSError as exc:
            raise AuditReadyError(f"cannot read the audit log {path}: {exc.strerror}", "fix its permissions") from None
        self._offset += len(data)
        data = self._tail + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._tail = data
            batch.partial_tail = len(self._tail)
            return
        self._tail = data[cut + 1 :]
        for raw in data[:cut].split(b"\n"):
            self._line += 1
            if raw.strip():
                batch.add(parse_line(self.name, self._line, raw.rstrip(b"\r"), self.prefix))
        batch.partial_tail = len(self._tail)
