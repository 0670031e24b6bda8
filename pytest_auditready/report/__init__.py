"""Reports: one writer for every front end (``write_all``), so that `pytest --auditready`, `pytest
--auditready-offline` and `auditready verify` write the same compliance JUnit, evidence bundle, SARIF, JSON and
GitHub outputs from the same AuditResult. Every writer raises AuditReadyError (one line), never OSError."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from pathlib import Path

    from ..result import AuditResult


STDOUT = "-"  # an output path that means standard output (as `auditready access --json -`)

_WORKFLOW_COMMAND = re.compile(r"(?<=#)#(?=\[)")


def without_workflow_commands(json_text: str) -> str:
    """JSON text with the second "#" of every "##[" written ``\\u0023``: the same string to a program, and no
    legacy workflow command ("##[name]data", which GitHub's runner takes anywhere in a line of a step's output, as
    ``text.visible`` says) when the document is printed in CI (``--json -``, ``--sarif -``; red team rt60 F1). A
    "#" of JSON text is always a character of a string, never part of an escape, so the text stays valid."""
    return _WORKFLOW_COMMAND.sub(r"\\u0023", json_text)


def clear_previous(settings: Any, json_path: Optional[str] = None) -> None:
    """Remove what an earlier run wrote at this run's report paths (each report file, the evidence bundle's own
    files), before anything is read: a run that ends without its reports (exit 2: input it cannot read) must leave
    no earlier run's "passed" to stand in for it, where CI uploads whatever is there (red team rt53 F2). Only
    regular files are removed; one that cannot be is refused now, as writing it later would be."""
    import os

    from ..errors import AuditReadyError
    from .evidence import FILES

    paths = [(p, what) for p, what in ((settings.report, "compliance JUnit report"), (settings.sarif, "SARIF report"),
                                       (json_path, "JSON report")) if p and p != STDOUT]
    if settings.evidence:
        paths += [(os.path.join(settings.evidence, n), "evidence bundle") for n in (*FILES, "SHA256SUMS")]
    for path, what in paths:
        if os.path.isfile(path) and not os.path.islink(path):
            try:
                os.unlink(path)
            except OSError as exc:
                raise AuditReadyError(f"cannot replace the earlier {what} {path}: {exc.strerror or exc}",
                                      "give this user write access to its folder, or choose another path") from None


# the settings that name a report (what a refused run may remove), and those that name what a run reads (a log, a
# key, the canaries, a folder of them), which a refusal never removes
OUTPUT_KEYS = ("report", "sarif", "evidence")
INPUT_KEYS = ("log", "canaries_file", "public_key", "cloudtrail_public_keys", "seal_archive", "baseline", "ca_file",
              "retention_archive", "vault_config")


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies in ``folder`` (both absolute, as os.path.realpath gives them)."""
    import os

    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive (Windows)
        return False


def clear_refused(outputs: Sequence[tuple[str, Optional[str]]], inputs: Sequence[Optional[str]]) -> None:
    """For a run refused before (or without) ``clear_previous``: remove what an earlier run wrote at its report paths
    ``outputs`` ((what, path): each report file, each file of the evidence bundle, pytest's --junitxml), so that no
    earlier "passed" stands beside a refusal for CI to upload (red team rt60 F2: a bad setting or option, an
    unreadable key, a missing canaries file). An output that names an input (``inputs``: every path the run was to
    read, as given: a log, a folder or glob of logs, a key, the settings; or its seal chain) or lies in a folder a
    scan of a named folder reads, is left alone: a refusal never removes what the run was to read. Only regular
    files are removed, and one that cannot be stays: the refusal is said as it is."""
    import contextlib
    import glob
    import os

    from ..auditlog.rotation import chain_name
    from ..config import path_key
    from ..engine.files import scanned_folders

    def local(path: Optional[str]) -> bool:
        return bool(path) and path != STDOUT and "://" not in str(path)

    named: set[str] = set()
    folders: list[str] = []
    for given in inputs:
        if given is None or not local(given):
            continue
        found = glob.glob(given, recursive=True) if glob.has_magic(given) and not os.path.lexists(given) else []
        for path in (given, *found):
            named.update((path_key(path), path_key(path + ".digests")))
            if os.path.isdir(path):
                folders.extend(scanned_folders(path))

    def read(out: str) -> bool:
        where = os.path.realpath(os.path.dirname(os.path.abspath(out)))
        return (path_key(out) in named or chain_name(os.path.basename(out))
                or any(inside(where, folder) for folder in folders))

    for _, out in outputs:
        if out and local(out) and os.path.isfile(out) and not os.path.islink(out) and not read(out):
            with contextlib.suppress(OSError):
                os.unlink(out)


def named_in_settings(cli: Mapping[str, Any], config_file: Optional[str], start: Optional[str] = None,
                      pyproject: Optional["Path"] = None) -> tuple[dict[str, Optional[str]], list[str]]:
    """For a run whose settings were refused (a bad key, value or option): what they name as far as they can be
    read, as ``config.discover`` finds them: the report paths (OUTPUT_KEYS; the command line's ``cli`` first) and
    the values that may name an input (``clear_refused``): those of INPUT_KEYS and of any key the settings do not
    know (a misspelt one). A file that is no TOML names no report, and each of its quoted strings may name an
    input."""
    from pathlib import Path

    from ..config import KEYS, find_pyproject
    from ..errors import AuditReadyError, ConfigError
    from ..safeio import MAX_CONFIG_BYTES, read_small

    table: Mapping[str, Any] = {}
    strings: list[str] = []
    here = Path(start) if start else Path.cwd()
    path: Optional[Path] = Path(config_file) if config_file else None
    if path is None:
        try:
            path = find_pyproject(here) or pyproject
        except ConfigError:  # a pyproject.toml that is no TOML, or names the table wrongly: the nearest one
            path = next((f / "pyproject.toml" for f in (here.resolve(), *here.resolve().parents)
                         if (f / "pyproject.toml").is_file()), None)
    text = ""
    if path is not None:
        try:
            text = read_small(path, "configuration file", MAX_CONFIG_BYTES).decode("utf-8", "replace")
        except (OSError, AuditReadyError):  # unreadable: it names nothing this run could read either
            text = ""
    if text:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.9/3.10 only
            import tomli as tomllib
        try:
            doc: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            strings += [a or b for a, b in re.findall(r'"((?:[^"\\\n]|\\.)*)"|\'([^\'\n]*)\'', text)]
        else:
            tool = doc.get("tool")
            found = tool.get("auditready") if isinstance(tool, dict) else None
            if isinstance(found, dict):
                table = found
            elif config_file is not None:  # a file of settings alone
                table = doc
    for given in (table, cli):
        strings += _strings({k: v for k, v in given.items() if k in INPUT_KEYS or k not in KEYS})
    outputs: dict[str, Optional[str]] = {}
    for key in OUTPUT_KEYS:
        value = cli.get(key) if cli.get(key) is not None else table.get(key)
        outputs[key] = value if isinstance(value, str) else None
    return outputs, strings


def _strings(value: Any) -> Iterator[str]:
    """Every string in JSON-like ``value`` (a TOML document, settings), keys left out."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def settings_inputs(settings: Any) -> list[str]:
    """What ``settings`` (a Settings) name that a run reads (INPUT_KEYS), for ``clear_refused``."""
    return list(_strings({key: getattr(settings, key, None) for key in INPUT_KEYS}))


def _stdout(text: str) -> str:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return "standard output"


def write_all(result: "AuditResult", json_path: Optional[str] = None) -> list[tuple[str, str]]:
    """Write every report the settings ask for; (label, path) of each written. A report whose path is "-" goes
    to standard output (the caller sends its own text elsewhere, and lets only one report ask for it)."""
    from . import github

    settings = result.settings
    written: list[tuple[str, str]] = []
    if settings.report:
        from . import junit
        from .common import leftovers, stale

        xml = result.redact(junit.build_xml(target=result.target, checks=result.checks, outcomes=result.outcomes,
                                            run_id=result.run_id, started=result.started, files=result.files,
                                            stale=stale(result), fail_on=result.settings.fail_on,
                                            leftovers=leftovers(result), seconds=result.seconds), markup=True)
        where = _stdout(xml) if settings.report == STDOUT else str(junit.write(settings.report, xml))
        written.append(("compliance report", where))
    if settings.evidence:
        from .evidence import write_bundle

        written.append(("evidence bundle", str(write_bundle(result, settings.evidence))))
    if settings.sarif:
        from . import sarif

        document, kept, found = sarif.render(result)
        where = _stdout(document) if settings.sarif == STDOUT else str(sarif.write(result, settings.sarif, document))
        if kept < found:  # (GitHub code scanning's limits: sarif.RESULTS_MAX)
            where += (f" ({kept:,} of {found:,} results: those that fail the run and the most severe first, as code "
                      "scanning shows 5,000 a run; every finding is in the JSON report and the evidence bundle)")
        written.append(("SARIF", where))
    if json_path:
        written.append(("JSON", _stdout(json_text(result)) if json_path == STDOUT else str(write_json(result,
                                                                                                      json_path))))
    if github.in_github_actions():
        path = github.append_summary(result)
        if path is not None:
            written.append(("GitHub step summary", str(path)))
    return written


def as_json(result: "AuditResult") -> dict[str, Any]:
    """Verdicts, findings and the accounting (what was read, judged, excused), as data for tools."""
    from .common import leftovers, rows, safe_target, stale, verdict

    check_rows = rows(result)
    stale_findings = stale(result)
    left = leftovers(result)
    return {
        "target": safe_target(result.target),
        "run_id": result.run_id,
        "started": result.started.isoformat(),
        "seconds": round(result.seconds, 3),
        "fail_on": result.settings.fail_on,
        "verdict": verdict(check_rows, stale_findings, left, result.cut_short),
        # what clean-up could not remove from the vault: it fails the run, as the exit code says
        "cleanup": {"could_not_remove": left},
        "checks": [{"id": r.id, "status": r.status, "severity": r.severity, "fails_run": r.fails_run,
                    "reason": r.reason, "notes": list(r.notes), "findings": len(r.findings),
                    # the entries those findings stand for (a roll-up past a check's cap counts every one it holds)
                    "entries": r.entries, "accepted": len(r.accepted)}
                   for r in check_rows],
        "outcomes": [o.to_json() for o in result.outcomes],
        "files": list(result.files),
        # a baseline's acceptances that matched no finding: each fails the run, as the exit code says
        "baseline": {"path": result.baseline.path if result.baseline is not None else "",
                     "stale": [f.to_json() for f in stale_findings]},
    }


def json_text(result: "AuditResult") -> str:
    from ..text import json_ready

    return without_workflow_commands(result.redact(json.dumps(json_ready(as_json(result)), indent=2,
                                                              ensure_ascii=True) + "\n"))


def write_json(result: "AuditResult", path: str) -> Any:
    from ..safeio import write_atomic

    return write_atomic(path, json_text(result), "JSON report")
