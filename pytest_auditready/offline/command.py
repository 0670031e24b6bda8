"""`auditready verify PATH...`: the offline checks over exported audit logs, as a plain command.

Exit 0: every check holds on every file; 1: findings; 2: usage error or a file that cannot be read at all.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import Any

from ..config import LOG_FORMATS
from ..errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="check exported audit logs offline (no vault needed)",
                       description="Check exported Vault/OpenBao (or generic JSON lines) audit logs with every "
                       "offline check. Exit 0: all hold; 1: findings; 2: usage or unreadable input.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files (plain or gzip-compressed)")
    p.add_argument("--format", dest="log_format", choices=list(LOG_FORMATS), default=None,
                   help="vault: Vault/OpenBao file device lines, with or without prefix (default); jsonl: generic "
                   "JSON lines read through field_map in [tool.auditready]; k8s: Kubernetes audit events; "
                   "cloudtrail: AWS CloudTrail log files")
    p.add_argument("--canaries", metavar="FILE", default=None,
                   help="known secret values, one a line, looked for in every encoding")
    p.add_argument("--junit", metavar="PATH", default=None, help="write the compliance JUnit XML report here")
    p.add_argument("--public-key", dest="public_key", metavar="KEY", default=None,
                   help="public key that verifies the digest chain written by `auditready seal`")
    p.add_argument("--cloudtrail-public-keys", dest="cloudtrail_public_keys", metavar="FILE", default=None,
                   help="JSON of `aws cloudtrail list-public-keys`: verifies the digest files of CloudTrail logs")
    p.add_argument("--config", metavar="PATH", default=None,
                   help="read settings from this TOML file instead of ./pyproject.toml")
    p.set_defaults(func=run)
    parser: argparse.ArgumentParser = p
    return parser


def load_settings(args: argparse.Namespace) -> Any:
    from ..config import load, read_toml

    sources: list[tuple[str, Any]] = []
    if args.config:
        sources.append((args.config, read_toml(Path(args.config), table_required=False)))
    elif Path("pyproject.toml").is_file():
        sources.append(("[tool.auditready] of pyproject.toml", read_toml(Path("pyproject.toml"), table_required=True)))
    cli = {"log_format": args.log_format, "canaries_file": args.canaries, "report": args.junit,
           "public_key": args.public_key, "cloudtrail_public_keys": args.cloudtrail_public_keys}
    sources.append(("the command line", {k: v for k, v in cli.items() if v is not None}))
    return load(sources)


def run(args: argparse.Namespace) -> int:
    from ..checks import BUILTIN
    from ..checks.base import FAILED, SKIPPED
    from ..result import AuditResult
    from .engine import offline_checks, read_canaries, verify_file

    try:
        settings = load_settings(args)
    except ConfigError as exc:
        print(f"auditready: {exc}", file=sys.stderr)
        return 2
    secrets = read_canaries(settings.canaries_file)
    checks = offline_checks(BUILTIN)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    outcomes = []
    total_bytes = 0
    out = sys.stdout
    for path in args.paths:
        res = verify_file(path, settings, checks, secrets)  # an unreadable file raises: exit 2 (cli.main)
        total_bytes += res.stats.bytes
        for o in res.outcomes:
            o = type(o)(o.check_id, path, o.status, o.findings, o.reason)
            outcomes.append(o)
            label = {FAILED: "FAIL", SKIPPED: "SKIP"}.get(o.status, "PASS")
            extra = f" ({o.reason})" if o.status == SKIPPED and o.reason else ""
            out.write(f"{label} {o.check_id} {path}{extra}\n")
            for f in o.findings:
                out.write(f"  - {f.text()}\n")
        mb = res.stats.bytes / 1e6
        out.write(f"     {path}: {res.stats.lines} lines, {mb:.1f} MB in {res.seconds:.2f} s\n")
    seconds = time.monotonic() - t0
    result = AuditResult(settings=settings, target="offline", run_id="", checks=checks, outcomes=outcomes,
                         started=started, seconds=seconds)
    if settings.report:
        from ..report import junit

        xml = junit.build_xml(target="offline", checks=checks, outcomes=outcomes, started=started)
        redacted = xml
        for name, value in secrets.items():
            redacted = redacted.replace(value, f"<{name}>")
        junit.write(settings.report, redacted)
        out.write(f"compliance report: {settings.report}\n")
    failed = result.failed_checks
    out.write(f"auditready verify: {len(args.paths)} file(s), {total_bytes / 1e6:.1f} MB in {seconds:.2f} s; "
              f"{len(checks) - len(failed)}/{len(checks)} checks hold"
              + (f"; failed: {', '.join(failed)}\n" if failed else "\n"))
    return 1 if failed else 0

