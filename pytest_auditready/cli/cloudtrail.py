"""`auditready verify-cloudtrail DIR --public-keys FILE`: validate a local copy of a CloudTrail trail."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser
    p = sub.add_parser("verify-cloudtrail", help="validate a local copy of a CloudTrail trail's digest and log files",
                       description="Validate CloudTrail digest files (RSA signatures by keys valid at each digest's "
                       "time, the chain of previous digests and gaps in time per trail, account and region, digests "
                       "moved from where CloudTrail put them) and the log files they list (SHA-256; a log file no "
                       "digest lists is a problem), offline, as `aws cloudtrail validate-logs` does against S3. "
                       "Each digest's signature must sit beside it as DIGEST.sig "
                       "(hex) or DIGEST.metadata.json (aws s3api head-object ... --query Metadata). "
                       "Exit 0: valid; 1: problems, or no log file validated yet (each delivered since the newest "
                       "digest); 2: usage or unreadable input.")
    p.add_argument("root", metavar="DIR", help="local copy of the bucket (or its prefix), e.g. from aws s3 sync")
    p.add_argument("--public-keys", required=True, metavar="FILE",
                   help="JSON output of `aws cloudtrail list-public-keys` covering the trail's time range")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..seal.cloudtrail import validate_trail
    from ..text import visible

    report = validate_trail(Path(args.root), Path(args.public_keys))
    # (file names come from the copy of the bucket: each line shown on one line, with no workflow command)
    for prob in report.problems:
        print(visible(f"FAIL {prob.message} Fix: {prob.fix}"))
    for note in report.notes:
        print(visible(f"note: {note}"))
    for fresh in report.excused if report.unproved else ():  # what nothing proves yet, and when to verify again
        print(visible(f"not yet validated: {fresh}"))
    print(visible(report.summary()))
    return 0 if report.ok else 1
