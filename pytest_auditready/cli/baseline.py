"""`auditready baseline PATH... --reason R --owner O --expires YYYY-MM-DD`: accept every finding a verify run of
PATH gives today, in a baseline file an auditor can read (fingerprints, what was found, who accepted it, why and
until when; never a value). Acceptances already in the file for the same findings are kept as they are.

It writes only acceptances its own verify honours (red team rt68, F9): an empty --reason or --owner (or one of
invisible or control characters only: rt70 F7), or an --expires before today (UTC, the date an acceptance is judged
by), is a usage error (exit 2) before any log is read. So is a --reason or --owner that holds a credential of a
documented shape or a canary (rt70 F4): the file is to be committed, and its reason printed in every report. An expiry
more than a year ahead is written, with a note on standard error: how long a risk is accepted is the owner's call,
and every report shows the date, but nothing brings such an acceptance back for review in the meantime."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from ..text import visible


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("baseline", help="accept the findings a verify run gives today, with a reason, owner and "
                       "expiry", description="Write (or extend) the baseline of accepted findings from a run of "
                       "`auditready verify` over PATH: one acceptance per finding, of the entry it names (its request "
                       "id and its line's digest), never of the same defect in another entry nor in a later request "
                       "that reuses the id. Exit 0 when written; 2 on a usage error, unreadable input, or a --reason "
                       "or --owner holding a credential.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files, folders of them, or glob patterns")
    p.add_argument("--reason", required=True,
                   help="why these findings are accepted (not empty, no credential; shown in every report)")
    p.add_argument("--owner", required=True, help="who accepted them (a person or a team; not empty, no credential)")
    p.add_argument("--expires", required=True, type=_date, metavar="YYYY-MM-DD",
                   help="until when: today or later (UTC; beyond a year, a note says so); an expired "
                   "acceptance fails the run again")
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


HORIZON_DAYS = 366  # an expiry further ahead than this is noted (``run``)


def _terms(args: argparse.Namespace) -> None:
    """Refuse acceptance terms that verify would refuse, that accept nothing from the day they are written, or that
    would write a credential into the baseline."""
    from ..accept import credentials_in, shows_nothing
    from ..errors import AuditReadyError

    for option in ("reason", "owner"):
        text = str(getattr(args, option))
        if shows_nothing(text):
            said = " (only invisible or control characters)" if text.strip() else ""
            raise AuditReadyError(f"--{option} is empty{said}: an acceptance names who accepted the findings and why",
                                  f"give --{option} a non-empty text (verify refuses an acceptance without one)")
        found = credentials_in(text)
        if found:
            instead = "name the ticket" if option == "reason" else "name the person or team"
            raise AuditReadyError(f"--{option} holds a credential ({', '.join(found)}): the baseline is to be "
                                  "committed, and its text is printed in every report",
                                  f"write --{option} without it ({instead} instead), and rotate the credential")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    if args.expires < today:
        raise AuditReadyError(f"--expires {args.expires.isoformat()} is before today ({today.isoformat()}, UTC): "
                              "the acceptances would accept nothing",
                              "give --expires a date from today on, when the findings are to be reviewed again")


def run(args: argparse.Namespace) -> int:
    import sys

    from .. import accept
    from ..checks import BUILTIN
    from ..config import discover
    from ..engine.files import offline_checks, prepare, verify_file
    from ..errors import AuditReadyError
    from ..text import redact

    _terms(args)
    settings = discover({"log_format": args.log_format, "canaries_file": args.canaries,
                         "public_key": args.public_key}, args.config)
    target = args.output or settings.baseline or accept.DEFAULT_NAME
    paths, secrets = prepare(settings, args.paths)
    for option in ("reason", "owner"):
        if redact(getattr(args, option), secrets) != getattr(args, option):
            raise AuditReadyError(f"--{option} holds a canary value: the baseline is to be committed, and its text "
                                  "is printed in every report", f"write --{option} without it")
    checks = offline_checks(BUILTIN)
    outcomes = [(p, o) for p in paths for o in verify_file(p, settings, checks, secrets, tuple(paths)).outcomes]
    keep = accept.load(target, replacing=True)
    n = accept.write(target, outcomes, args.reason.strip(), args.owner.strip(), args.expires, keep, secrets)
    if keep.replaced:
        print(f"auditready baseline: note: the {keep.replaced} acceptance(s) of the earlier format in "
              f"{visible(target)} named no entry and were not kept: these are written anew", file=sys.stderr)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    if (args.expires - today).days > HORIZON_DAYS:
        print(f"auditready baseline: note: --expires {args.expires.isoformat()} is more than a year from today: "
              "nothing brings these acceptances back for review before then; a date within a year does",
              file=sys.stderr)
    print(f"auditready baseline: {n} accepted finding(s) in {visible(target)} (owner {visible(args.owner)}, until "
          f"{args.expires.isoformat()}); commit it, and review it before it expires")
    return 0
