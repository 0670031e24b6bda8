"""The `auditready` command. Each subcommand lives in its own module, listed in COMMANDS, which provides
``add_parser(subparsers)`` (returning the parser, with ``func`` set as default) and needs nothing from pytest.

Exit codes: 0 all hold, 1 findings, 2 usage or unreadable input (SPEC.md). Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import AuditReadyError
from ..text import visible

# Subcommand modules, in the order `auditready --help` lists them.
COMMANDS: list[str] = ["pytest_auditready.cli.verify"]

# Tamper evidence (issue 4): make the sealer's keys, seal a log, validate a CloudTrail trail's digests.
COMMANDS += [
    "pytest_auditready.seal.cmd_keygen",
    "pytest_auditready.seal.cmd_seal",
    "pytest_auditready.seal.cmd_cloudtrail",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # argparse declares NoReturn
        self.exit(2, f"auditready: {message}; see 'auditready --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="auditready", description="Audit-readiness checks for Vault/OpenBao audit logs.")
    parser.add_argument("--version", action="version", version=f"auditready {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except AuditReadyError as exc:
        print(f"auditready: {visible(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("auditready: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


