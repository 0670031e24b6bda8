"""`auditready baseline PATH... --reason R --owner O --expires YYYY-MM-DD`: accept every finding a verify run of
PATH gives today, in a baseline file an auditor can read (fingerprints, what was found, who accepted it, why and
until when; never a value). Acceptances already in the file for the same findings are kept as they are."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from ..text import visible


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("baseline", help="accept the findings a verify run gives today, with a reason, owner and "
                       "expiry", description="Write (or extend) the baseline of accepted findings from a run of "
                       "`auditready verify` over PATH. Exit 0 when written; 2 on a usage error or unreadable input.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files, folders of them, or glob patterns")
    p.add_argument("--reason", required=True, help="why these findings are accepted (shown in every report)")
    p.add_argument("--owner", required=True, help="who accepted them (a person or a team)")
    p.add_argument("--expires", required=True, type=_date, metavar="YYYY-MM-DD",
                   help="until when; an expired acceptance fails the run again")
    p.add_argument("--output", metavar="FILE", default=None,
                   help="the baseline file (default: baseline in [tool.auditready], else .auditready-baseline.json)")
    p.add_argument("--format", dest="log_format", default=None, help="as for `auditready verify`")
    p.add_argument("--canaries", metavar="FILE", default=None, help="as for `auditready verify`")
    p.add_argument("--public-key", dest="public_key", metavar="KEY", default=None, help="as for `auditready verify`")
    p.add_argument("--config", metavar="PATH", default=None, help="as for `auditready verify`")
    p.set_defaults(func=run)
    parser: argparse.ArgumentParser = p
    return parser


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def run(args: argparse.Namespace) -> int:
    from .. import accept
    from ..checks import BUILTIN
    from ..config import discover
    from ..engine.files import offline_checks, prepare, verify_file

    settings = discover({"log_format": args.log_format, "canaries_file": args.canaries,
                         "public_key": args.public_key}, args.config)
    target = args.output or settings.baseline or accept.DEFAULT_NAME
    paths, secrets = prepare(settings, args.paths)
    checks = offline_checks(BUILTIN)
    outcomes = [(p, o) for p in paths for o in verify_file(p, settings, checks, secrets, tuple(paths)).outcomes]
    keep = accept.load(target)
    n = accept.write(target, outcomes, args.reason, args.owner, args.expires, keep)
    print(f"auditready baseline: {n} accepted finding(s) in {visible(target)} (owner {visible(args.owner)}, until "
          f"{args.expires.isoformat()}); commit it, and review it before it expires")
    return 0
