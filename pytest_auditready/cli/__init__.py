# PYTHON_ARGCOMPLETE_OK (argcomplete's global completion looks for this marker in the entry point's module)
"""The `auditready` command. Each subcommand lives in its own module, listed in COMMANDS, which provides
``add_parser(subparsers)`` (returning the parser, with ``func`` set as default) and needs nothing from pytest.

Exit codes: 0 all hold, 1 findings, 2 usage or unreadable input (SPEC.md). Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn, Optional, Sequence, TextIO

from ..errors import AuditReadyError
from ..text import shown_error, visible

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Subcommand modules, in the order `auditready --help` lists them.
COMMANDS: list[str] = [
    "pytest_auditready.cli.verify", "pytest_auditready.cli.access", "pytest_auditready.cli.baseline",
    # tamper evidence: make the sealer's keys, seal a log, validate a CloudTrail trail's digests
    "pytest_auditready.cli.keygen", "pytest_auditready.cli.seal", "pytest_auditready.cli.cloudtrail",
]


def nonempty(what: str, option: str = "") -> Callable[[str], str]:
    """An argparse type for a path or address that may not be empty (``--junit ""`` from an unset variable would
    mean none): its error says what the option takes (naming ``option`` first, where given)."""

    def conv(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{option + ' ' if option else ''}takes {what}, not an empty string")
        return text

    return conv


class _Parser(argparse.ArgumentParser):
    _argv: Sequence[str] = ()
    # called with the parser and the words it was given when it refuses them (a subcommand's: verify clears the
    # earlier run's reports at the paths they name)
    on_refusal: Optional[Callable[[argparse.ArgumentParser, Sequence[str]], None]] = None

    def parse_known_args(self, args: Optional[Sequence[str]] = None,  # type: ignore[override]
                         namespace: Optional[argparse.Namespace] = None) -> tuple[argparse.Namespace, list[str]]:
        self._argv = list(sys.argv[1:] if args is None else args)  # kept for error(): what was not understood
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]  # argparse declares NoReturn
        unknown = self._unknown_options()
        if unknown and "required" in message:
            # `verify -x.log`: argparse takes it for an option and says only that PATH is missing
            message = (f"unrecognized option {unknown[0]!r} (a path that starts with '-' is written ./{unknown[0]}, "
                       "or after --)")
        parser, words = self._refusing()
        if parser is not None and parser.on_refusal is not None:
            with contextlib.suppress(OSError, ValueError):
                parser.on_refusal(parser, words)
        self.exit(2, f"auditready: {message}; see 'auditready --help'\n")

    def _refusing(self) -> tuple[Optional["_Parser"], Sequence[str]]:
        """The parser whose command line is refused, and its words: this one, or (words left over that the
        subcommand did not take are refused by the top parser) the subcommand named first."""
        if self.on_refusal is not None:
            return self, self._argv
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for i, word in enumerate(self._argv):
                    sub = action.choices.get(word)
                    if isinstance(sub, _Parser):
                        return sub, self._argv[i + 1:]
        return None, ()

    def _unknown_options(self) -> list[str]:
        out = []
        for arg in self._argv:
            if arg == "--":
                break
            if arg == "-" or not arg.startswith("-") or arg[1:2].isdigit():
                continue
            name = arg.split("=", 1)[0]
            known = self._option_string_actions
            if name.startswith("--"):  # a long option, or its unambiguous abbreviation (argparse's allow_abbrev)
                if not any(o.startswith(name) for o in known if o.startswith("--")):
                    out.append(arg)
            elif arg[:2] not in known:  # a short option, its value maybe attached (-j2)
                out.append(arg)
        return out


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    """-q/--quiet and -v/--verbose, as ``args.verbosity`` (-1, 0 or 1). On a subcommand their default is
    SUPPRESS, so that `auditready -q verify ...` and `auditready verify -q ...` mean the same."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1, default=default,
                       help="say less: verify prints only failed checks, their findings and its closing line")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1, default=default,
                       help="say more: verify also prints what each check proves, its severity and its controls")


class _Version(argparse.Action):
    """``--version``: the version of the code that runs, as every report gives it (``pytest_auditready.__version__``:
    the installed one only when these are the files it installed, and the digest of the package's files), read only
    when asked (importlib.metadata costs 15 ms at start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: Optional[str] = None) -> None:
        from .. import __version__

        sys.stdout.write(f"auditready {__version__}\n")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="auditready", description="Audit-readiness checks for Vault/OpenBao audit logs.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    _add_verbosity(parser, 0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    for command in sub.choices.values():
        _add_verbosity(command, argparse.SUPPRESS)
        # `auditready verify --version` answers as `auditready --version` does (not "PATH is required")
        command.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    return parser


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion, when the shell asks for it (argcomplete sets _ARGCOMPLETE) and the `completion` extra is
    installed: argcomplete prints the candidates and exits. Costs nothing otherwise."""
    if not os.environ.get("_ARGCOMPLETE"):
        return
    try:
        import argcomplete
    except ImportError:  # pip install 'pytest-auditready[completion]'
        return
    argcomplete.autocomplete(parser)


def main(argv: Optional[Sequence[str]] = None) -> int:
    lost: list[str] = []
    with _reader_may_leave(lost):
        code = _main(argv)
    if lost:  # the last of what was said could not be written (a full disk): the answer is lost, not given
        with contextlib.suppress(OSError, ValueError):
            print(f"auditready: cannot write to the standard output: {lost[0]}; fix: free space where it goes, "
                  "or write the answer to a file (--json PATH)", file=sys.stderr)
        return 2
    return code


def _main(argv: Optional[Sequence[str]]) -> int:
    import logging

    # What a library logs (gcsfs's "Could not determine bucket type..." before each try) goes nowhere: with no
    # handler, Python writes its warnings to stderr, around the one line a refusal is (red team rt92 F11).
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except AuditReadyError as exc:
        from ..report.github import say_refusal

        say_refusal(f"auditready: {shown_error(exc)}", alone=True)  # (one line, an annotation under Actions)
        return 2
    except KeyboardInterrupt:
        print("auditready: interrupted", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the command could not use, past the checks that word it themselves
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"auditready: cannot use{visible(str(where))}: {visible(exc.strerror or str(exc))}; fix: check that "
              "path and this user's access to it", file=sys.stderr)
        return 2


class _Unread(io.FileIO):
    """The standard output (or error) file descriptor, where a reader that went away (``| head``: EPIPE) is not an
    error: from then on the descriptor writes to os.devnull (the Python docs' "Note on SIGPIPE"), so the command
    goes on, writes every report it was asked for and exits with its verdict's code. The interpreter's last flush
    then finds nothing to complain about ("Exception ignored ... BrokenPipeError")."""

    def write(self, data: ReadableBuffer) -> int:
        try:
            return super().write(data)  # None, as FileIO says, where a non-blocking descriptor is full
        except BrokenPipeError:
            _to_devnull(self.fileno())
            return memoryview(data).nbytes  # said to no one: taken as written


def _to_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _guarded(stream: Optional[TextIO], fd: int) -> Optional[TextIO]:
    """A stream like ``stream`` (the interpreter's own standard output or error) over ``_Unread``; None where the
    stream is not the process's own (pytest's capture, a caller's StringIO): that one is left as it is."""
    if stream is None:  # the descriptor was closed at start (`auditready verify ... >&-`): nothing is shown
        return open(os.devnull, "w", encoding="utf-8")  # closed by _reader_may_leave
    if not isinstance(stream, io.TextIOWrapper) or stream is not (sys.__stdout__ if fd == 1 else sys.__stderr__):
        return None
    try:
        if stream.fileno() != fd:
            return None
        stream.flush()
    except (OSError, ValueError):
        return None
    raw = _Unread(fd, "w", closefd=False)
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding=stream.encoding, errors=stream.errors,
                            line_buffering=stream.line_buffering, write_through=stream.write_through)


@contextlib.contextmanager
def _reader_may_leave(lost: list[str]) -> Iterator[None]:
    """While a command runs, a standard output or error whose reader went away is written to os.devnull instead
    (``_Unread``): the verdict, its exit code and the report files never depend on who reads the terminal lines.
    The original streams are put back at the end (for a caller of ``main`` in the same process). What the standard
    output could not take at the end (ENOSPC: a full disk, /dev/full) is said in ``lost`` (red team rt54 F5: the
    buffered answer was dropped and the command exited 0)."""
    saved = sys.stdout, sys.stderr
    out, err = _guarded(sys.stdout, 1), _guarded(sys.stderr, 2)
    if out is not None:
        sys.stdout = out
    if err is not None:
        sys.stderr = err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        for stream in (out, err):
            if stream is not None:
                try:
                    stream.close()  # flushed first; the descriptor itself stays open (closefd=False)
                except OSError as exc:
                    if stream is out:
                        lost.append(exc.strerror or str(exc))
                except ValueError:
                    pass


def run() -> NoReturn:
    """The console script: ``main``, then the process ends at once. The interpreter's teardown (freeing every
    module and object one by one: 35 ms after a verify, 3 % of a 200 MB run) is skipped, as mypy does; the exit
    handlers still run (temporary folders, logging) and the standard streams are flushed. While another thread
    still runs, the interpreter ends as usual (it waits for that thread)."""
    code = main()
    if _other_threads():
        sys.exit(code)
    import atexit

    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is None:  # closed before the start (`>&-`)
                continue
            try:
                stream.flush()
            except BrokenPipeError:  # a reader that went away does not change the verdict
                pass
            except (OSError, ValueError):  # a full disk: nothing more can be said there
                code = code or 1
        os._exit(code)


def _other_threads() -> bool:
    """Whether a thread other than this one still runs (only if threading was ever imported)."""
    threading = sys.modules.get("threading")
    return threading is not None and any(t is not threading.current_thread() and t.is_alive() and not t.daemon
                                         for t in threading.enumerate())
