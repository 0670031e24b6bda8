"""The one driver: blocks of log lines in, every check's visitor fed in file order, counts out.

Both front ends come through here: exported files (``engine.files``) stream their blocks from disk, and a live
run's lines (``checks.base.feed``) are cut into the same blocks. One parser per format reads a line
(``reader_for``), so a check sees the same entries and the same unreadable lines whichever way the log arrived.
Nothing here imports pytest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Iterator, Optional, Sequence, Union

from ..auditlog.model import AuditEntry, BadLine, Entries, Record
from ..errors import AuditReadyError

if TYPE_CHECKING:
    from ..checks.base import CheckContext, Visitor
    from ..config import Settings
    from ..offline.reader import Block

Parse = Callable[[int, bytes], Union[Record, BadLine]]
WholeBlock = Optional[Callable[["Block"], Optional[Entries]]]


@dataclass
class Counts:
    """What one pass read: entries parsed and lines that would not parse."""

    entries: int = 0
    bad_lines: int = 0
    blank: int = 0  # empty lines that stand for no removed entry (``removed_lines``): no entry, not unreadable


def reader_for(settings: "Settings", file: str) -> tuple[Callable[..., Iterator["Block"]], Parse, WholeBlock]:
    """How a log of ``settings.log_format`` (a format, never "auto": see ``auditlog.detect``) splits into blocks
    of lines, reads one line, and (Vault/OpenBao) decodes a whole block at once."""
    import functools

    from ..auditlog.formats import K8S_FIELDS, format_of
    from ..offline.reader import (
        CloudTrailReader,
        NoBlankLines,
        blocks,
        jsonl_parser,
        k8s_parser,
        vault_block,
        vault_parser,
    )

    fmt, field_map = settings.log_format, dict(settings.field_map)
    blocks = functools.partial(blocks, framing=settings.log_framing)
    if fmt == "cloudtrail":
        trail = CloudTrailReader(file, field_map, settings.log_framing)
        return (lambda f, _file, stats: trail.blocks(f, stats)), trail.parse, None
    if fmt == "k8s":
        return blocks, k8s_parser(file, {**K8S_FIELDS, **field_map}, settings.timestamp_digits,
                                  settings.max_skew_ns), None
    if fmt == "jsonl":
        if not field_map:
            raise AuditReadyError("log_format is \"jsonl\" but field_map is empty, so no field can be found",
                                  "set field_map in [tool.auditready], e.g. {time = \"ts\", identity = \"user\"}")
        return blocks, jsonl_parser(file, field_map, types=dict(settings.type_values),
                                    epoch=settings.epoch_unit), None
    parse: Parse = vault_parser(file, settings.log_prefix)
    if format_of(settings).no_blank_lines:
        parse = NoBlankLines(parse)  # an empty line stands where an entry was removed (drive)
    if settings.log_prefix:  # a syslog hop may carry the device prefix in its header (syslog.carried_prefix)
        blocks = functools.partial(blocks, prefix=settings.log_prefix.encode("utf-8"))
    return blocks, parse, vault_block(file, settings.log_prefix)


def drive(visitors: Sequence["Visitor"], source: Iterable["Block"], name: str, parse: Parse,
          whole_block: WholeBlock, to_end: bool = True) -> Counts:
    """Feed every block of ``source`` to ``visitors``: raw bytes to ``block``, the lines its framing left out to
    ``left_out``, entries (as column batches) to ``entries``, unreadable lines to ``bad_line``, in file order.
    ``to_end``: whether ``source`` ends where the file does (not so a range before the last: ``--jobs``)."""
    from ..checks.base import overrides

    on_entries = [v.entries for v in visitors if overrides(v, "entries")]
    on_bad = [v.bad_line for v in visitors if overrides(v, "bad_line")]
    on_block = [v.block for v in visitors if overrides(v, "block")]
    on_left = [v.left_out for v in visitors if overrides(v, "left_out")]
    on_around = [v.around for v in visitors if overrides(v, "around")]
    from ..offline.reader import BLANK, NoBlankLines, removed_lines

    blank_is_bad = isinstance(parse, NoBlankLines)  # a blank line where the producer writes none: a removed entry
    counts = Counts()
    pending: list[Record] = []

    def flush() -> None:
        if pending:
            batch = Entries.of(pending)
            counts.entries += len(pending)
            for entries_fn in on_entries:
                entries_fn(batch)
            pending.clear()

    def bad(item: BadLine) -> None:
        flush()
        counts.bad_lines += 1
        for fn in on_bad:
            fn(item)

    # An empty line that ends a block is an export's newline too many only if the file ends there: told when the
    # next block comes, or the source ends (every block ends at a newline, so this one may end any block).
    held: Optional[BadLine] = None
    for blk in source:
        if held is not None:
            bad(held)
            held = None
        data, first = blk.data, blk.first
        if blk.around:
            for around_fn in on_around:
                around_fn(name, first, blk.around)
        if isinstance(data, BadLine):
            bad(data)
            continue
        for block_fn in on_block:
            block_fn(name, first, data)
        for i, raw in blk.left:
            for left_fn in on_left:
                left_fn(name, first + i, raw)
        batch = whole_block(blk) if whole_block is not None else None
        if batch is not None:
            counts.entries += len(batch)
            for entries_fn in on_entries:
                entries_fn(batch)
            continue
        # Line by line: bad lines are reported in order among the entries.
        ascii_ok = data.isascii()
        pieces = data.split(b"\n")
        removed: Collection[int] = ()
        last_blank = -1  # the block's last line: removed unless the file ends there
        if blank_is_bad and not blk.unwrapped:
            removed = removed_lines(pieces, first == 1, file_end=False)
            end = len(pieces) - 1
            if end in removed and end not in removed_lines(pieces, first == 1):
                last_blank = end
        n = first - 1
        for i, raw in enumerate(pieces):
            n += 1
            if not raw or raw.isspace():
                if i == last_blank:
                    held = BadLine(name, n, BLANK, raw.decode("ascii", "replace"))
                elif i in removed:
                    bad(BadLine(name, n, BLANK, raw.decode("ascii", "replace")))
                elif not blk.unwrapped:  # (a framing's empty lines are the records it left out, counted there)
                    counts.blank += 1
                continue
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if not ascii_ok:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad(BadLine(name, n, f"not UTF-8 (byte {exc.start})", raw.decode("utf-8", "replace")))
                    continue
            item = parse(n, raw)
            if type(item) is Record:
                pending.append(item)
            else:
                bad(item)  # type: ignore[arg-type]  # not a Record: a BadLine
        blk.lines = n - first + 1  # counted by the split
        flush()
    if held is not None:
        if to_end:
            counts.blank += 1
        else:
            bad(held)
    return counts


def _runs(items: Sequence[Union[AuditEntry, BadLine]]) -> Iterator[tuple[str, "Block"]]:
    """A live run's lines as (file, Block) runs of consecutive lines of one file."""
    from ..offline.reader import Block

    run: list[bytes] = []
    file, first, last = "", 0, 0

    def cut() -> Iterator[tuple[str, Block]]:
        if run:
            yield file, Block(first, b"\n".join(run), len(run))

    for item in items:
        raw = item.raw.encode("utf-8", "surrogatepass") if item.raw else b""
        if isinstance(item, BadLine) and (not raw or b"\n" in raw):
            yield from cut()
            run = []
            yield item.file, Block(item.line, item, 1)
            continue
        if run and (item.file != file or item.line != last + 1):
            yield from cut()
            run = []
        if not run:
            file, first = item.file, item.line
        run.append(raw)
        last = item.line
    yield from cut()


def drive_lines(visitor: "Visitor", ctx: "CheckContext") -> int:
    """Feed a live run's lines (``ctx.entries`` and ``ctx.bad_lines``, in file order) to ``visitor`` through
    ``drive``; the entries fed."""
    import dataclasses

    items: list[Union[AuditEntry, BadLine]] = [*ctx.entries, *ctx.bad_lines]
    # the files in the order they were read (a rotated file before the one the path names since: audit.log.1,
    # then audit.log, which sorts before it by name), and each file's lines in order
    rank: dict[str, int] = {}
    for i in items:
        rank.setdefault(i.file, len(rank))
    items.sort(key=lambda i: (rank[i.file], i.line))
    settings = ctx.settings
    if settings.log_format == "auto":
        settings = dataclasses.replace(settings, log_format="vault")  # a live source reads an audit device
    fed = 0
    readers: dict[str, Any] = {}
    for file, blk in _runs(items):
        if file not in readers:
            _, parse, whole = reader_for(settings, file)
            readers[file] = (parse, whole)
        parse, whole = readers[file]
        fed += drive([visitor], [blk], file, parse, whole).entries
    return fed
