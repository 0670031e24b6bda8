"""`auditready seal LOG --key KEY [--follow]`: append signed digest records for LOG to LOG.digests."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..text import visible
from . import nonempty


def _positive_int(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def _positive_float(v: str) -> float:
    try:
        n = float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not a number") from None
    if not 0 < n <= 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 seconds")
    return n


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser
    p = sub.add_parser("seal", help="seal an audit log with a signed digest chain (LOG.digests)",
                       description="Append Ed25519-signed digest records covering LOG's whole lines to LOG.digests "
                       "(each record: byte range, line count, SHA-256, first/last entry time, the previous "
                       "record's hash and signature). Resumes where the chain ends, and refuses a chain that ends "
                       "before what it signed (kept in its state folder). With --follow it keeps sealing as the log "
                       "grows, and across rotation, until stopped (SIGINT/SIGTERM).")
    p.add_argument("log", metavar="LOG", type=nonempty("the path of the audit log"),
                   help="the audit log (the file audit device's file_path)")
    p.add_argument("--key", required=True, metavar="PRIVATE_KEY", type=nonempty("the path of the private key"),
                   help="private key from `auditready keygen KEY`")
    p.add_argument("--follow", action="store_true", help="keep sealing as the log grows (and is rotated)")
    p.add_argument("--lines", type=_positive_int, default=1000, metavar="N",
                   help="close a record every N lines (default 1000)")
    p.add_argument("--interval", type=_positive_float, default=None, metavar="SECONDS",
                   help="with --follow, close a record once its oldest line is this old (default 5)")
    p.add_argument("--state", metavar="DIR", type=nonempty("the path of the state folder"), default=None,
                   help="where the sealer records how far it signed, a folder only its user can write (default: "
                   "$STATE_DIRECTORY, which systemd's StateDirectory= sets, else ~/.local/state/auditready)")
    p.add_argument("--new-chain", action="store_true",
                   help="start a new chain: the one at LOG.digests is moved aside (LOG.digests.replaced-TIME) and "
                   "the new chain's first record names it; for after a refused start has been investigated")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import os

    from ..seal.chain import load_private_key
    from ..seal.sealer import Sealer, check_log, default_state_dir, process_started

    if args.interval is not None and not args.follow:  # it would be ignored: one seal closes every record at once
        from ..errors import AuditReadyError

        raise AuditReadyError("--interval applies with --follow only (one seal closes its records at once)",
                              "add --follow to keep sealing as the log grows, or leave --interval out")
    interval = 5.0 if args.interval is None else args.interval
    key = load_private_key(args.key)
    if not args.follow or os.path.exists(args.log):  # a log that is there must be a regular file
        check_log(args.log, missing_fix="point the sealer at the file_path of the file audit device (with --follow "
                  "it waits for the file to appear)")
    if args.follow and os.path.exists(args.log):
        from ..auditlog.rotation import compression_of

        kind = compression_of(Path(args.log))
        if kind is not None:
            from ..errors import AuditReadyError

            raise AuditReadyError(f"{args.log} is {kind}-compressed: it no longer grows, so there is nothing to follow",
                                  f"seal it once, without --follow: auditready seal {args.log} --key KEY")

    def say(kind: str, text: str) -> None:  # at once: a following sealer may never exit
        # a note names the log, its rotated files and its chain as they are: a file name's newline or ESC would
        # start a line of its own (a forged ::error:: under GitHub Actions) or act on the terminal (red team rt92 F8)
        print(f"auditready: {kind}: {visible(text)}", file=sys.stderr, flush=True)

    state = Path(args.state) if args.state is not None else default_state_dir()
    # (a rotation between this process's start and the log's opening is sealed first: Sealer._rotated_while_starting)
    sealer = Sealer(args.log, key, lines_per_record=args.lines, state_dir=state, new_chain=args.new_chain,
                    on_note=say, started_at=process_started())
    with sealer:
        if not args.follow:
            s = sealer.seal_once()
        else:
            stop = threading.Event()

            def on_signal(_signum: int, _frame: Any) -> None:
                stop.set()

            old = signal.signal(signal.SIGTERM, on_signal)
            old_int = signal.signal(signal.SIGINT, on_signal)
            try:
                print(f"auditready: sealing {visible(args.log)} into {visible(str(sealer.digests_path))} (every "
                      f"{args.lines} lines or {interval:g} s); stop with Ctrl-C or SIGTERM", file=sys.stderr,
                      flush=True)
                s = sealer.follow(every_seconds=interval, stop=stop)
            finally:
                signal.signal(signal.SIGTERM, old)
                signal.signal(signal.SIGINT, old_int)
    tail = f"; {s.unsealed_tail} bytes of an unterminated last line wait for the next seal" if s.unsealed_tail else ""
    print(f"sealed {s.lines} line(s) ({s.bytes} bytes) of {visible(args.log)} in {s.records} new record(s) -> "
          f"{visible(str(sealer.digests_path))}{tail}")
    return 0
