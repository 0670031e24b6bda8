"""Whole lines out of a byte stream that arrives in pieces (a program's stdout, a socket): what the live stream
sources share. Nothing here imports pytest."""

from __future__ import annotations

from typing import Iterator, Union

MAX_LINE_BYTES = 16 * 1024 * 1024
_TOO_LONG = "bytes, over the {} byte limit".format(MAX_LINE_BYTES)


def too_long(size: int) -> str:
    """The BadLine reason for a line of ``size`` bytes, over MAX_LINE_BYTES: skipped as it streams past, never held
    (and so never scanned: ``unscanned``)."""
    return f"line is {size} {_TOO_LONG}"


def unscanned(reason: str) -> bool:
    """Whether a BadLine's ``reason`` is ``too_long``'s: its text was never held, so never scanned."""
    return reason.startswith("line is ") and _TOO_LONG in reason


class WholeLines:
    """Cuts a stream into whole lines: a partial last line waits for its newline; a line over ``limit`` bytes is
    not kept (memory stays bounded) and is said by its size, in its place among the lines."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self.buf = b""  # the start of a line whose newline has not come yet
        self.skipping = 0  # bytes of an over-long line being dropped

    @property
    def pending(self) -> int:
        """Bytes of a line begun and not ended (kept or being dropped)."""
        return len(self.buf) + self.skipping

    def feed(self, data: bytes) -> Iterator[Union[bytes, int]]:
        """What ``data`` completes, in order: runs of whole lines (bytes, each line ending with a newline) and, for
        a line over the limit, its size (an int)."""
        if self.skipping:
            cut = data.find(b"\n")
            if cut < 0:
                self.skipping += len(data)
                return
            yield self.skipping + cut
            self.skipping, data = 0, data[cut + 1:]
        data = self.buf + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.buf = data
            if len(self.buf) > self.limit:
                self.skipping, self.buf = len(self.buf), b""
            return
        self.buf = data[cut + 1:]
        whole = data[:cut + 1]
        if len(whole) <= self.limit:  # no line in it can be over the limit
            yield whole
            return
        run = start = 0
        while start < len(whole):
            end = whole.index(b"\n", start)
            if end - start > self.limit:
                if run < start:
                    yield whole[run:start]
                yield end - start
                run = end + 1
            start = end + 1
        if run < len(whole):
            yield whole[run:]
