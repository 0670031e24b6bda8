"""One progress line on stderr while a long offline read runs: bytes, MB/s, files, ETA.

Only on a terminal: nothing when stderr is piped or redirected, under CI (``CI`` or ``GITHUB_ACTIONS`` set to a
true value) or with ``TERM=dumb``, so logs and captured output never hold it. The line appears after the read has
run for ``DELAY`` seconds, is redrawn at most every ``EVERY`` seconds, and is erased at the end. The readers report
the bytes they read (``offline.reader.blocks``) to the progress that ``tracking`` installed; with none installed,
reporting costs one global lookup. Nothing here imports pytest.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator, Optional, Sequence

DELAY = 1.0
EVERY = 0.2
_TRUE = ("1", "true", "yes", "on")


def wanted(stream: IO[str], environ: Optional[dict[str, str]] = None) -> bool:
    """Whether a progress line belongs on ``stream``: a terminal, outside CI."""
    env = os.environ if environ is None else environ
    if any(env.get(k, "").strip().lower() in _TRUE for k in ("CI", "GITHUB_ACTIONS")):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _size(path: str) -> Optional[int]:
    """The bytes a read of ``path`` will report, when that is known before reading: a local file not gzip'd."""
    try:
        with open(path, "rb") as f:
            if f.read(2) == b"\x1f\x8b":
                return None
        return os.path.getsize(path)
    except OSError:
        return None  # an object-store URL, or unreadable (the read says why)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """Counts what the readers read and draws the line."""

    def __init__(self, paths: Sequence[str], stream: IO[str]) -> None:
        self.stream = stream
        self.files = len(paths)
        self.file = 0
        self.done = 0
        sizes = [_size(p) for p in paths]
        self.total: Optional[int] = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)
        self.started = time.monotonic()
        self.drawn = 0.0
        self.shown = False

    def next_file(self) -> None:
        self.file = min(self.file + 1, self.files)

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.started >= DELAY and now - self.drawn >= EVERY:
            self.drawn = now
            self.stream.write("\r\x1b[K" + self.line(now))
            self.stream.flush()
            self.shown = True

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        mb = self.done / 1e6
        text = f"auditready: {mb:,.1f}"
        if self.total:
            text += f"/{self.total / 1e6:,.1f}"
        text += f" MB  {rate / 1e6:,.1f} MB/s  file {max(self.file, 1)}/{self.files}"
        if self.total and rate > 0:
            text += f"  ETA {_clock(max(self.total - self.done, 0) / rate)}"
        return text

    def end(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


current: Optional[Progress] = None


@contextmanager
def tracking(paths: Sequence[str], stream: Optional[IO[str]] = None) -> Iterator[Optional[Progress]]:
    """Show progress over the read of ``paths`` while the block runs (when ``wanted``); yields the Progress or
    None."""
    global current
    out = sys.stderr if stream is None else stream
    if not wanted(out):
        yield None
        return
    current = Progress(paths, out)
    try:
        yield current
    finally:
        current.end()
        current = None
