"""`auditready verify PATH...`: the offline checks over exported audit logs, as a plain command.

The same engine, settings discovery, report writer and fail_on gate as `pytest --auditready-offline`. Exit 0:
every check holds (or only checks below fail_on failed); 1: findings that fail the run; 2: usage error, or input
that cannot be read at all or is of no known format (one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Mapping, Sequence

from .. import accept
from ..config import LOG_FORMATS, refuse_clashes
from ..errors import AuditReadyError, ConfigError
from ..text import shown_error, visible
from . import nonempty

if TYPE_CHECKING:
    from ..engine.files import FileResult


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="check exported audit logs offline (no vault needed)",
                       description="Check exported audit logs (Vault/OpenBao, Kubernetes, CloudTrail, generic JSON "
                       "lines; the format is told from the content) with every offline check. Exit 0: all hold; "
                       "1: findings; 2: usage, unreadable input or content of no known format.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="log files (plain or gzip-compressed), folders of them, or glob patterns")
    p.add_argument("--format", dest="log_format", choices=list(LOG_FORMATS), default=None,
                   help="what the files must be (default: told from each file's content; a format that disagrees "
                   "with the content is refused): vault, jsonl (generic JSON lines through field_map in "
                   "[tool.auditready]), k8s, cloudtrail")
    p.add_argument("--canaries", metavar="FILE", default=None, type=nonempty("a path", "--canaries"), action=_Once,
                   help="known secret values, one a line, looked for in every encoding")
    p.add_argument("--junit", metavar="PATH", default=None, type=nonempty("a path", "--junit"),
                   help="write the compliance JUnit XML report here ('-': standard output, the rest to standard error)")
    p.add_argument("--sarif", metavar="PATH", default=None, type=nonempty("a path", "--sarif"),
                   help="write findings as SARIF 2.1.0 here ('-': standard output, the rest to standard error)")
    p.add_argument("--evidence", metavar="DIR", default=None, type=nonempty("a path", "--evidence"),
                   help="write the evidence bundle (evidence.json, summary.md, report.html) into DIR")
    p.add_argument("--json", dest="json_path", metavar="PATH", default=None, type=nonempty("a path", "--json"),
                   help="write verdicts, findings and what was read, judged and excused, as JSON ('-': standard "
                   "output, the rest to standard error)")
    p.add_argument("--fail-on", dest="fail_on", metavar="SEVERITY", default=None,
                   help="fail (exit 1) on any failed check (\"any\", the default) or only on failed checks of this "
                   "severity or higher: low, medium, high, critical")
    p.add_argument("--public-key", dest="public_key", metavar="KEY", default=None,
                   type=nonempty("a path", "--public-key"),
                   help="public key that verifies the digest chain written by `auditready seal`")
    p.add_argument("--cloudtrail-public-keys", dest="cloudtrail_public_keys", metavar="FILE", default=None,
                   type=nonempty("a path", "--cloudtrail-public-keys"),
                   help="JSON of `aws cloudtrail list-public-keys`: verifies the digest files of CloudTrail logs")
    p.add_argument("--seal-archive", dest="seal_archive", metavar="DIR", action="append", default=None,
                   type=nonempty("a path", "--seal-archive"),
                   help="a folder where rotated, sealed log files were moved (repeatable): a sealed segment whose "
                   "file is gone is looked for there")
    p.add_argument("--baseline", metavar="FILE", default=None, type=nonempty("a path", "--baseline"),
                   help="accepted findings (`auditready baseline` writes it; default: .auditready-baseline.json "
                   "when present): accepted findings are reported as accepted and do not fail the run; an expired "
                   "or unused acceptance does")
    p.add_argument("--review-since", dest="review_since", metavar="T", default=None,
                   help="the access review (evidence bundle, report.html) lists the identities first seen at or after "
                   "T as new (an RFC 3339 time or a UTC date YYYY-MM-DD; default: the last 7 days of the log)")
    p.add_argument("--config", metavar="PATH", default=None, type=nonempty("a path", "--config"),
                   help="read settings from this TOML file instead of the nearest pyproject.toml")
    p.add_argument("--jobs", "-j", type=_jobs, metavar="N", default=None,
                   help="processes that read the logs at once, a large file in ranges (default: the cores this "
                   "process may use; 1 reads in this process; a run under 16 MB is read in this process)")
    p.add_argument("--dask-scheduler", dest="dask_scheduler", metavar="ADDRESS", default=None,
                   type=nonempty("an address (tcp://HOST:8786)", "--dask-scheduler"),
                   help="run the reading as tasks on the Dask cluster of this scheduler (tcp://HOST:8786; extra "
                   "[distributed]); its workers read the paths (a shared file system) or object-store URLs")
    p.set_defaults(func=run)
    p.on_refusal = refused_command_line  # a command line argparse refuses leaves no earlier run's reports either
    parser: argparse.ArgumentParser = p
    return parser


class _Once(argparse.Action):
    """An option whose second occurrence would silently drop the first (a second --canaries file): refused."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: Any = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} was given twice, and only one file is read; put every known value in one "
                         "file, one a line, and give that file once")
        setattr(namespace, self.dest, values)


# [tool.auditready] key -> the option of `auditready verify` that sets it, for the errors that name one
OPTIONS = {"log_format": "--format", "canaries_file": "--canaries", "report": "--junit", "public_key": "--public-key",
           "cloudtrail_public_keys": "--cloudtrail-public-keys", "sarif": "--sarif", "evidence": "--evidence",
           "fail_on": "--fail-on", "seal_archive": "--seal-archive", "baseline": "--baseline",
           "review_since": "--review-since", "config": "--config"}


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--jobs takes a whole number of processes, 1 or more, not {text!r}")
    return n


def outputs_of(settings: Any, json_path: Any = None, prefix: str = "") -> list[tuple[str, Any]]:
    """What a run writes, each named by the option that asks for it (``prefix`` "--auditready-" under pytest)."""
    from ..report.evidence import FILES

    names = {"report": "--junit", "sarif": "--sarif", "evidence": "--evidence"} if not prefix else \
        {"report": f"{prefix}report", "sarif": f"{prefix}sarif", "evidence": f"{prefix}evidence"}
    out: list[tuple[str, Any]] = [("--json", json_path)] if json_path else []
    out += [(names["report"], settings.report), (names["sarif"], settings.sarif)]
    if settings.evidence:
        out += [(f"{names['evidence']} ({name})", os.path.join(settings.evidence, name))
                for name in (*FILES, "SHA256SUMS")]
    return out


def inputs_of(settings: Any, logs: Any, config_file: Any = None, start: Any = None) -> list[tuple[str, Any]]:
    """What a run reads: the logs and their seal chains, the key files, the canaries, the baseline, the settings."""
    out: list[tuple[str, Any]] = []
    for log in logs:
        out += [(f"the audit log {log}", log), (f"the seal chain of {log}", f"{log}.digests")]
    return [*out, ("the canaries file", settings.canaries_file), ("the public key", settings.public_key),
            ("the CloudTrail public keys file", settings.cloudtrail_public_keys),
            ("the baseline", accept.default_path(settings, start)), ("the configuration file", config_file)]


def refuse_scanned_outputs(settings: Any, json_path: Any, named: Sequence[str], logs: Sequence[str]) -> None:
    """Refuse, before any log is read, an output that the next scan of a log folder would read as a log: the
    evidence bundle written into a log folder named as input (or under it), or into a folder that holds a log
    being verified, and a report (--json, --junit, --sarif) written where a scan of a named log folder reads it.
    Each run after this one would stop on the tool's own files (exit 2). Paths are compared as the folders they
    name (``config.path_key``), as ``config.refuse_clashes`` does; object-store URLs and "-" are left out."""
    from ..config import path_key as key
    from ..engine.files import read_by_scan, scanned_folders
    from ..engine.objects import is_url
    from ..report import inside

    def local(path: Any) -> bool:
        return bool(path) and path != "-" and not is_url(path)

    bundle = "the bundle's files (evidence.json, summary.md, report.html, SHA256SUMS) as logs"
    wanted = [("--evidence", settings.evidence, bundle, settings.evidence)] if local(settings.evidence) else []
    for option, path in (("--json", json_path), ("--junit", settings.report), ("--sarif", settings.sarif)):
        if local(path) and read_by_scan(path):  # a hidden name (.report.json) is never read by a scan
            wanted.append((option, path, "it as a log", os.path.dirname(os.path.abspath(path))))
    if not wanted:
        return
    folders = [(p, [os.path.normcase(d) for d in scanned_folders(p)]) for p in named if local(p) and os.path.isdir(p)]
    for option, path, what, where in wanted:
        for folder, walked in folders:
            if any(inside(key(where), d) for d in walked):
                raise ConfigError(f"{option} would be written into the log folder {folder} being verified ({path}), "
                                  f"and the next scan of that folder would read {what}",
                                  f"give {option} a path outside {folder}")
    if local(settings.evidence):
        for log in logs:
            if local(log) and inside(key(log), key(settings.evidence)):
                raise ConfigError(f"--evidence would be written into a folder that holds the audit log {log} being "
                                  f"verified ({settings.evidence}), and a scan of that folder would read {bundle}",
                                  "give --evidence a folder that holds no audit log")


def _cli(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives, by their [tool.auditready] keys."""
    return {"log_format": args.log_format, "canaries_file": args.canaries, "report": args.junit,
            "public_key": args.public_key, "cloudtrail_public_keys": args.cloudtrail_public_keys,
            "sarif": args.sarif, "evidence": args.evidence, "fail_on": args.fail_on, "seal_archive": args.seal_archive,
            "baseline": getattr(args, "baseline", None), "review_since": getattr(args, "review_since", None)}


def load_settings(args: argparse.Namespace, notices: list[str]) -> Any:
    """The run's settings, with the file they were read from kept for the evidence's ``inputs``."""
    from ..config import discover
    from ..report.evidence import mark_settings_file, settings_file_of

    settings = discover(_cli(args), args.config, notices=notices, options=OPTIONS)
    return mark_settings_file(settings, settings_file_of(args.config))


class _Redacting:
    """A text stream that writes each text with every known secret (the --canaries values), in any encoding
    no_secret_leak looks for, replaced by its name: the terminal's second line of defence, as AuditResult.redact is
    the reports'. A finding quotes a path or a name from the log, which may hold one."""

    def __init__(self, stream: IO[str], secrets: Mapping[str, str]) -> None:
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        from ..report.common import redacted

        return self.stream.write(redacted(text, self.secrets))


def _colour(out: IO[str]) -> bool:
    return out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _ready(args: argparse.Namespace, settings: Any) -> tuple[list[str], dict[str, str], list[str]]:
    """What comes before the read: the report paths checked (one standard output, each writable, none an input nor
    read by a scan), the paths expanded and the known values read (``prepare``); then the earlier run's reports
    removed. (The paths, the known values, the options that write to standard output.)"""
    from ..engine.files import prepare
    from ..report import STDOUT, clear_previous
    from ..safeio import check_writable

    outputs = (("--json", args.json_path, "JSON report"), ("--junit", settings.report, "compliance JUnit report"),
               ("--sarif", settings.sarif, "SARIF report"))
    to_stdout = [option for option, out_path, _ in outputs if out_path == STDOUT]
    if len(to_stdout) > 1:
        raise AuditReadyError(f"{' and '.join(to_stdout)} each ask for standard output ('-')",
                              "send at most one report to standard output, and write the others to files")
    for _, out_path, what in outputs:
        if out_path and out_path != STDOUT:
            check_writable(out_path, what)  # before the read, not after gigabytes of it
    if settings.evidence:
        check_writable(settings.evidence, "evidence bundle", folder=True)
    paths, secrets = prepare(settings, args.paths)
    refuse_scanned_outputs(settings, args.json_path, args.paths, paths)
    refuse_clashes(outputs_of(settings, args.json_path), inputs_of(settings, paths, args.config))
    # (once no report path is an input: a run refused below leaves no earlier run's reports behind)
    clear_previous(settings, args.json_path)
    return paths, secrets, to_stdout


def clear_refused_run(args: argparse.Namespace, settings: Any = None) -> None:
    """A run refused before its reports were cleared (a bad setting or option: ``settings`` None; a key, the
    canaries or a report path refused): what an earlier run wrote at its report paths removed, never an input
    (``report.clear_refused``; red team rt60 F2)."""
    from types import SimpleNamespace

    from ..report import clear_refused, named_in_settings, settings_inputs

    if settings is None:
        outputs, inputs = named_in_settings(_cli(args), args.config)
        settings = SimpleNamespace(**outputs)
    else:
        inputs = [*settings_inputs(settings), *(p for _, p in inputs_of(settings, [], args.config) if p)]
    clear_refused(outputs_of(settings, args.json_path),
                  [*inputs, *args.paths, args.config, os.path.join(os.getcwd(), accept.DEFAULT_NAME)])


_OUTPUT_DESTS = ("junit", "json_path", "sarif", "evidence")


def refused_command_line(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """argparse refused the command line (an unknown option, --jobs 0, a --format of no format): the earlier run's
    reports at the paths it names removed all the same (``clear_refused_run``). Every word that is not the value of
    a report option may name an input, and is never removed."""
    values: dict[str, str] = {}
    inputs: list[str] = []
    rest, only_paths = list(argv), False
    while rest:
        arg = rest.pop(0)
        if only_paths or arg == "-" or not arg.startswith("-"):
            inputs.append(arg)
            continue
        if arg == "--":
            only_paths = True
            continue
        name, eq, value = arg.partition("=")
        known = parser._option_string_actions  # (an option abbreviated, as argparse allows, names one action)
        actions = {a for o, a in known.items() if o == name or (name.startswith("--") and o.startswith(name))}
        action = actions.pop() if len(actions) == 1 else known.get(name)
        if action is None or action.nargs == 0:
            inputs.append(value)
            continue
        if not eq:
            if not rest:
                continue
            value = rest.pop(0)
        if action.dest in _OUTPUT_DESTS or action.dest == "config":
            values[action.dest] = value
        if action.dest not in _OUTPUT_DESTS:
            inputs.append(value)
    named: dict[str, Any] = {a.dest: None for a in parser._actions}
    clear_refused_run(argparse.Namespace(**{**named, **values, "paths": inputs}))


def run(args: argparse.Namespace) -> int:
    from ..checks import BUILTIN
    from ..checks.access_policy import run_verdict
    from ..checks.base import CheckContext
    from ..engine.files import offline_checks, verify_file
    from ..report import write_all
    from ..report.common import accounting_lines, below_text, gates
    from ..report.github import annotation_lines, in_github_actions
    from ..result import AuditResult

    notices: list[str] = []
    try:
        settings = load_settings(args, notices)
    except ConfigError as exc:
        print(f"auditready: {shown_error(exc)}", file=sys.stderr)
        clear_refused_run(args)
        return 2
    for notice in notices:
        print(f"auditready: {visible(notice)}", file=sys.stderr)
    try:
        paths, secrets, to_stdout = _ready(args, settings)
    except AuditReadyError:  # (a run refused before its reports were cleared: the earlier run's go all the same)
        clear_refused_run(args, settings)
        raise
    baseline = accept.load(accept.default_path(settings), required=bool(settings.baseline))
    checks = offline_checks(BUILTIN)
    # a report on standard output ("-") keeps it for itself: what a person reads goes to standard error
    stream = sys.stderr if to_stdout else sys.stdout
    out = _Redacting(stream, secrets)  # every line a person reads, with the known secrets redacted as in the reports
    colour = _colour(stream)
    # -q: only failed checks, their findings and the closing line; -v: also what each check proves (cli.main)
    verbosity = getattr(args, "verbosity", 0)
    by_id = {c.id: c for c in checks}
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    outcomes: list[Any] = []
    # Every file is read before anything is printed as a verdict: a file that cannot be read is exit 2 (cli.main).
    from ..engine import parallel
    from ..engine.progress import tracking

    jobs = getattr(args, "jobs", None) or parallel.usable_cores()
    scheduler = getattr(args, "dask_scheduler", None)
    try:
        with tracking(paths):  # one progress line on stderr, on a terminal only (engine/progress.py)
            if scheduler:  # tasks on a Dask cluster (engine/parallel.py)
                results = parallel.verify_dask(settings, checks, secrets, paths, scheduler)
            elif jobs > 1:  # local processes, a large file in byte ranges (engine/parallel.py)
                results = parallel.verify_files(settings, checks, secrets, paths, jobs)
            else:
                from ..scan.secrets import held

                with held():  # detect-secrets' settings entered once for the run, not once a file
                    results = [verify_file(p, settings, checks, secrets, tuple(paths)) for p in paths]
    except AuditReadyError as exc:  # a refusal may quote the log (a prefix): the known values named, as everywhere
        from ..report.common import redacted
        from ..report.github import say_refusal

        # (one line, an annotation under GitHub Actions; red team rt32, F9)
        say_refusal(f"auditready: {redacted(shown_error(exc), secrets)}", alone=True)
        return 2
    from ..engine.files import settled

    results = settled(results)  # with the set's word on the tallies of the files read before it was told
    files = [res.accounting() for res in results]

    def say(o: Any, shown: str) -> None:
        """One outcome as the terminal shows it: its verdict, then its findings and acceptances."""
        label = {"failed": "FAIL", "skipped": "ACCEPTED" if o.accepted else "SKIP"}.get(o.status, "PASS")
        if colour:
            label = {"FAIL": "\x1b[31mFAIL\x1b[0m", "SKIP": "\x1b[33mSKIP\x1b[0m",
                     "ACCEPTED": "\x1b[33mACCEPTED\x1b[0m"}.get(label, "\x1b[32mPASS\x1b[0m")
        if verbosity < 0 and o.status != "failed":
            return
        extra = f" ({visible(o.reason)})" if o.status != "failed" and o.reason else ""
        if o.status == "failed" and not gates(settings.fail_on, o.check_id):
            extra = f" ({below_text(o.check_id, settings.fail_on)})"  # did not hold; the run passes on it
        out.write(f"{label} {o.check_id} {shown}{extra}\n")
        if verbosity > 0 and o.check_id in by_id:
            from ..compliance import severity, summary

            out.write(f"    proves ({severity(o.check_id)}): {by_id[o.check_id].requirement}\n"
                      f"    controls: {summary(o.check_id)}\n")
        for f in o.findings:
            out.write(f"  - {f.text()}\n")
        for f, fp, text in o.accepted:
            out.write(f"  ~ accepted [{fp}] {f.text()} ({visible(text)})\n")

    for res in results:
        shown = visible(res.path)
        for o in res.outcomes:
            o = baseline.apply(dataclasses.replace(o, subject=res.path), res.path)
            outcomes.append(o)
            say(o, shown)
        if verbosity >= 0:
            out.write(file_line(res, time.monotonic() - t0) + "\n")
    # the run's own verdict where each file's alone cannot give it: access rules none of the files held a request
    # to judged nothing (red team rt69, F2); in every report, and in the exit code
    whole = run_verdict(outcomes, settings, [res.format for res in results])
    if whole is not None:
        outcomes.append(whole)
        say(whole, f"(the run's {len(results)} files)")
    seconds = time.monotonic() - t0
    ctx = CheckContext(settings, None, [], [], secrets=secrets, source="offline")
    from ..review import merged
    from ..review import summary as review_summary

    review = merged(settings, [r.review for r in results])  # the files in the order given, as one log
    result = AuditResult(settings=settings, target="offline", run_id="", checks=checks, outcomes=outcomes,
                         context=ctx, started=started, seconds=seconds, files=files, baseline=baseline,
                         review=review.report() if review is not None else None)
    for line in accounting_lines(files) if verbosity >= 0 else ():
        out.write(line + "\n")
    review_line = review_summary(result.review)
    if review_line and verbosity >= 0:
        out.write(visible(review_line) + "\n")
    for label, path in write_all(result, args.json_path):
        if verbosity >= 0:
            out.write(f"{label}: {visible(path)}\n")
    if in_github_actions():  # the only lines that start with "::" (a path at a line's start is shown as ./PATH)
        for line in annotation_lines(result):
            out.write(result.redact(line) + "\n")
    stale = baseline.unused_findings()  # an acceptance that matched nothing fails the run: the baseline is stale
    if stale:
        out.write(f"FAIL baseline {visible(baseline.path)}\n" + "".join(f"  - {f.text()}\n" for f in stale))
    failed = result.failed_checks
    gating = [c for c in failed if gates(settings.fail_on, c)] + (["baseline"] if stale else [])
    total_mb = sum(r.stats.bytes for r in results) / 1e6
    n_accepted = sum(len(o.accepted) for o in outcomes)
    accepted = result.accepted_checks  # did not hold; the baseline accepted every finding
    skipped = [c for c in result.skipped_checks if c not in accepted]  # judged nowhere: never counted as holding
    below = [c for c in failed if not gates(settings.fail_on, c)]  # did not hold; fail_on lets the run pass
    out.write(f"auditready verify: {len(paths)} file(s), {total_mb:.1f} MB in {seconds:.2f} s; "
              f"{len(checks) - len(failed) - len(skipped) - len(accepted)}/{len(checks)} checks hold"
              + (f", {len(skipped)} skipped ({', '.join(skipped)})" if skipped else "")
              + (f", {len(accepted)} accepted ({', '.join(accepted)})" if accepted else "")
              + (f"; failed: {', '.join(failed)}" if failed else "")
              + (f"; {n_accepted} finding(s) accepted by {visible(baseline.path)}" if n_accepted else "")
              + (f" (fail_on={settings.fail_on}: {len(gating)} fail the run"
                 + (f"; below it, not failing the run: {', '.join(below)}" if below else "") + ")"
                 if settings.fail_on != "any" and failed else "") + "\n")
    return 1 if gating else 0


def file_line(res: "FileResult", elapsed: float) -> str:
    """The line that says what a file (``res``) gave the checks. A file read in ranges by workers at once has their
    times added up, more than the ``elapsed`` seconds of the run so far: said so (red team rt73 F6, a file "in 172.67
    s" of a run of 86.73 s)."""
    from ..report.common import shown_path

    summed = " (its workers' time added up)" if res.seconds > elapsed else ""
    unit = "records" if res.format == "cloudtrail" else "lines"  # (a delivery file's records, as its reports say)
    return (f"     {shown_path(res.path)}{summed}: {res.stats.lines} {unit}, {res.stats.bytes / 1e6:.1f} MB in "
            f"{res.seconds:.2f} s")
