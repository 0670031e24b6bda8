"""A live audit, start to end, without pytest: target -> scenario -> log -> context for the checks.

The scenario's clean-up always runs (also on errors and Ctrl-C) before the target closes, and the log is read
after clean-up so that the teardown steps are audited too. SIGINT or SIGTERM (which the session turns into
KeyboardInterrupt) ends the run with an ``Interrupted`` error that says what clean-up verifiably removed or could
not remove.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from ..auditlog.match import Match, match_actions
from ..auditlog.model import AccessLedger, BadLine
from ..auditlog.source import LogBatch, LogSource
from ..checks.base import SKIPPED, Check, CheckContext, Outcome, PlannedAction, evaluate, stat_log
from ..config import Settings
from ..errors import AuditReadyError
from ..vault.scenario import Interrupted, Plan, Runner, ScenarioError, VaultFacts, shielded
from ..vault.targets import Endpoint, KeptLog, Target


@dataclass
class LiveResult:
    context: CheckContext
    ledger: AccessLedger
    facts: VaultFacts
    seconds: float
    kept: Optional["tempfile.TemporaryDirectory[str]"] = None  # the target's log kept for the checks
    # a file source's place in its file: "path" (as entries name it), the lines and bytes before the run's mark
    # ("lines_before", "bytes_before") and up to the end of what was read ("lines_to", "bytes_to"); {} otherwise
    window: dict[str, Any] = dataclasses.field(default_factory=dict)

    def release(self) -> None:
        """Remove the copy of the target's log once the checks have judged it."""
        if self.kept is not None:
            self.kept.cleanup()
            self.kept = None


def _token_digests(facts: VaultFacts) -> dict[str, str]:
    digests = facts.digests.get(facts.device, {}) if facts.device else {}
    return {name.split(":", 1)[1]: d for name, d in digests.items() if name.startswith("token:")}


def collect(source: LogSource, ledger: AccessLedger, settings: Settings, facts: VaultFacts) -> tuple[
    LogBatch, dict[str, Match]
]:
    """Poll the source until every action has its request and response entry, or log_wait runs out."""
    batch = LogBatch()
    deadline = time.monotonic() + settings.log_wait
    digests = _token_digests(facts)
    while True:
        source.poll(batch)
        matches = match_actions(ledger.actions, batch.entries, settings.max_skew_ns, digests)
        # a log command that exited has printed all it will
        if (all(m.complete for m in matches.values()) or time.monotonic() >= deadline
                or getattr(source, "ended", False)):
            return batch, matches
        time.sleep(0.05)


def _not_the_device_file(source: LogSource, batch: LogBatch, ledger: AccessLedger, facts: VaultFacts) -> None:
    """A log file that received nothing since the run began while the vault's file audit devices write other files
    is not this vault's log: refused in one line naming them (exit 2), not judged as a vault that logs nothing."""
    import os

    given = getattr(source, "path", None) if getattr(source, "hop", None) is None else None
    if given is None or batch.entries or batch.bad_lines or not ledger.actions:
        return
    written = [str(dev.get("options", {}).get("file_path", "")) for dev in facts.devices.values()
               if dev.get("type") == "file"]
    written = [w for w in written if w and w not in ("stdout", "discard")]
    if written and os.path.realpath(given) not in {os.path.realpath(w) for w in written}:
        raise AuditReadyError(
            f"the log {given} received no entry while the vault answered {len(ledger.actions)} requests, and the "
            f"vault's file audit device{'s' if len(written) > 1 else ''} write{'' if len(written) > 1 else 's'} "
            f"{', '.join(written)}: it is not this vault's audit log (or a copy a pipeline has not filled yet)",
            f"point --auditready-log at {written[0]}, or at the copy a pipeline keeps of it (raise log_wait if the "
            "pipeline lags)")


def _prefix_of(bad_lines: Sequence[BadLine]) -> Optional[str]:
    """The text that at least half of ``bad_lines`` (and one) carry before a JSON object, if it is one text: an
    audit device's prefix, or one a stage of a log command adds."""
    heads = collections.Counter(b.raw[: b.raw.find("{")] for b in bad_lines[:_PREFIX_SAMPLE] if b.raw.find("{") > 0)
    if not heads:
        return None
    head, count = heads.most_common(1)[0]
    return (head if count * 2 >= min(len(bad_lines), _PREFIX_SAMPLE) and head.strip() and len(head) <= _PREFIX_MAX
            else None)


_PREFIX_SAMPLE = 200
_PREFIX_MAX = 128  # longer text before every JSON object is no prefix to set: the usual message says what to do


def _nothing_of_the_run(source: LogSource, matches: dict[str, Match], ledger: AccessLedger,
                        settings: Settings, bad_lines: Sequence[BadLine] = ()) -> None:
    """A log command none of whose lines is an entry of the run (it exited before the run, it reads another log,
    or a stage before it drops the vault's entries) gave nothing to judge: refused in one line (exit 2), not judged
    as a vault that logs nothing. Lines that all carry one text before their JSON object are said to (the file
    source's detection says the same: auditlog/detect.py); a command that printed nothing but wrote to its standard
    error is said to. A file source has its own (``_not_the_device_file``)."""
    argv = getattr(source, "argv", None)
    if not argv or not ledger.actions or any(m.entries for m in matches.values()):
        return
    n = int(getattr(source, "lines_read", 0))
    head = _prefix_of(bad_lines)
    if head is not None:
        shown = json.dumps(head)
        raise AuditReadyError(
            f"the log command {argv[0]!r} printed {n} line(s), each starting with the text {shown} before its JSON "
            "object (an audit device prefix, or one a stage of the command adds), so none was read as an entry of "
            "this run",
            f"set log_prefix = {json.dumps(head)} in [tool.auditready], or have the command print the entries as "
            "the device writes them")
    said = int(getattr(source, "stderr_bytes", 0))
    on_stderr = (f"; it wrote {said} byte(s) to its standard error, which is not read (if the log goes there, "
                 "redirect it: 2>&1)") if said and not n else ""
    if getattr(source, "ended", False):
        raise AuditReadyError(
            f"the log command {argv[0]!r} exited (status 0) after printing {n} line(s), none of them an entry of "
            f"this run's {len(ledger.actions)} requests: a log command must keep running and print the audit log "
            "as it grows" + on_stderr,
            _FOLLOW)
    part = int(getattr(source, "pending_bytes", 0))
    if part and not n:  # bytes, but not one line end (red team rt73, F6): not "0 lines" of a log it does not print
        raise AuditReadyError(
            f"the log command {argv[0]!r} printed {part} byte(s) in the {settings.log_wait:g} s log_wait allowed and "
            "not one newline, so not one line to read as an entry of this run" + on_stderr,
            "make it print one entry a line, each ending with a newline, and pass each line on as it comes "
            "(grep --line-buffered, sed -u, stdbuf -oL)")
    raise AuditReadyError(
        f"the log command {argv[0]!r} printed {n} line(s) in the {settings.log_wait:g} s log_wait allowed, none of "
        f"them an entry of this run's {len(ledger.actions)} requests: it does not print this vault's audit log"
        + on_stderr,
        "point it at the audit device of the vault this run talks to (its unit, pod, container or stream), check "
        "that no stage before it drops the vault's entries, or raise log_wait if its pipeline lags")


_FOLLOW = ("make it follow the log and keep running until it is stopped (journalctl -f, kubectl logs -f, tail -F with "
           "no head after it, logcli --tail); it is started before the scenario and stopped after it")


def _ended_before_the_run(source: LogSource, matches: dict[str, Match], ledger: AccessLedger) -> None:
    """A log command that exited 0 before the run's last request was logged in what it printed (``tail -F | head
    -n 20``, a client that stops after one page) gave a part of the run: refused in one line (exit 2), not judged
    as a vault that dropped the rest, nor passed on the part it printed (red team rt73, F3). It printed the run to
    its end when it printed the last request's response entry, or a line after its request entry (a response lost
    then is the vault's or a stage's to answer for): judged as any log, also when it exited then (a query run after
    the fact)."""
    argv = getattr(source, "argv", None)
    if not argv or not getattr(source, "ended", False) or not ledger.actions:
        return
    last = ledger.actions[-1]
    m = matches.get(last.name, Match())
    n = int(getattr(source, "lines_read", 0))
    if m.response is not None or (m.request is not None and m.request.line < n):
        return
    unlogged = sum(1 for a in ledger.actions if not matches.get(a.name, Match()).entries)
    raise AuditReadyError(
        f"the log command {argv[0]!r} exited (status 0) after printing {n} line(s), before the run's last request "
        f"({last.method} {last.path}) was in them: {unlogged} of the run's {len(ledger.actions)} requests have no "
        "entry in what it printed, and what it did not print cannot be judged",
        _FOLLOW)


def _clean_up(runner: Runner) -> bool:
    """Run teardown to its end; True if SIGINT/SIGTERM arrived meanwhile. A signal that lands before teardown
    shields itself cuts it short: it is run again then (it is idempotent)."""
    interrupted = False
    for _ in range(3):
        try:
            runner.teardown()
        except KeyboardInterrupt:
            interrupted = True
        if runner.verified:
            break
    return interrupted


def _run_scenario(runner: Runner) -> Optional[AuditReadyError]:
    """Preflight, setup and main, then clean-up whatever happened. Returns the error that ended the scenario;
    raises KeyboardInterrupt, once clean-up is done, when a signal arrived."""
    error: Optional[AuditReadyError] = None
    interrupted = False
    try:
        try:
            runner.preflight()
            runner.setup()
            runner.main()
        except AuditReadyError as exc:
            error = exc
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:  # a hook's code or a fault of ours: one line, the run's values named, clean-up said
            error = AuditReadyError(f"the scenario stopped on an unexpected {type(exc).__name__}: "
                                    f"{runner.redacted(str(exc))}",
                                    "report it with the run's output; if a pytest_auditready_scenario hook adds "
                                    "actions, check them first")
        finally:
            interrupted = _clean_up(runner) or interrupted
    finally:
        runner.close()
    if interrupted:
        raise KeyboardInterrupt
    if error is None and runner.parent_gone:  # its clean-up could not be done as planned: no log to judge by it
        error = runner.token_gone("its own lookup answered 403 at clean-up")
    return error


def run_live(
    settings: Settings,
    plan: Plan,
    target: Target,
    make_source: Callable[[Endpoint], LogSource],
) -> LiveResult:
    """Raises AuditReadyError when the run cannot be audited, and ``Interrupted`` after SIGINT/SIGTERM."""
    from ..scan.secrets import preload
    from ..vault.client import VaultClient

    started = time.monotonic()
    kept: Optional[KeptLog] = None
    kept_dir: Optional[tempfile.TemporaryDirectory[str]] = None
    runner: Optional[Runner] = None
    source: Optional[LogSource] = None
    interrupted = False
    try:
        try:
            # detect-secrets' 0.1 s of imports, while the vault starts (the judge waits for it if need be); in the
            # try: a Ctrl-C here is one before the run wrote anything, and the target is closed
            preload()
            endpoint = target.open()
            source = make_source(endpoint)
            source.mark()
            window = _place(source, "before")
            plan.secrets["token:admin"] = endpoint.token
            ledger = AccessLedger(plan.run_id, endpoint.name)
            admin = VaultClient(
                endpoint.url,
                endpoint.token,
                timeout=settings.request_timeout,
                namespace=settings.namespace,
                ca_file=settings.ca_file,
            )
            runner = Runner(plan, admin, ledger, log_path=endpoint.log_path, audit_device=settings.audit_device)
            error = _run_scenario(runner)
            facts = runner.facts
            if error is not None:
                if facts.residue:
                    gone = (" (from the embedded throw-away OpenBao, which is stopped and deleted with everything "
                            "in it)") if settings.embedded else ""
                    raise ScenarioError(
                        f"{error.cause}; and clean-up could not remove: {', '.join(facts.residue)}{gone}", error.fix
                    )
                raise error
            from ..scan.hyperscan import known_ahead

            known_ahead(dict(plan.secrets.items()))  # final now: their database compiles while the log is read
            batch, matches = collect(source, ledger, settings, facts)
            window.update(_place(source, "to") if window else {})
            _not_the_device_file(source, batch, ledger, facts)
            _nothing_of_the_run(source, matches, ledger, settings, batch.bad_lines)
            _ended_before_the_run(source, matches, ledger)
            log_file = stat_log(str(source.path) if source.path else None)
            # A target whose log goes with it (the embedded one) seals it and keeps a copy for the checks, which
            # judge it like any sealed log once the target is closed.
            keep_log = getattr(target, "keep_log", None)
            if callable(keep_log):
                kept_dir = tempfile.TemporaryDirectory(prefix="auditready-kept-")
                kept = keep_log(kept_dir.name)
        except KeyboardInterrupt:
            interrupted = True
            if runner is not None and not runner.verified:  # it landed between the scenario and its clean-up
                _clean_up(runner)
        finally:
            with shielded():  # a second Ctrl-C does not leave the embedded server or its folder behind
                close_source = getattr(source, "close", None)
                if callable(close_source):
                    close_source()
                target.close()
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        if kept_dir is not None:
            kept_dir.cleanup()
        if runner is None:
            raise Interrupted("interrupted before the run wrote anything to the vault")
        raise runner.interrupted()
    assert source is not None
    ctx = CheckContext(
        settings=settings,
        ledger=ledger,
        entries=batch.entries,
        bad_lines=batch.bad_lines,
        left_out=batch.left_out,
        around=batch.around,
        matches=matches,
        facts=facts,
        log_file=log_file,
        secrets=dict(plan.secrets.items()),
        source=getattr(source, "hop", None) or (source.name if not settings.embedded else "the embedded audit log"),
        log_path=kept.path if kept is not None else str(source.path) if source.path else None,
        seal_problem=kept.problem if kept is not None else None,
    )
    if kept is not None:  # its chain is verified with the key it was sealed with, as any log's is
        ctx.settings = dataclasses.replace(settings, public_key=kept.public_key)
    return LiveResult(ctx, ledger, facts, time.monotonic() - started, kept_dir, window)


def _place(source: LogSource, when: str) -> dict[str, Any]:
    """Where a file source stands in its file (auditlog.source.FileLogSource: the lines and bytes it has passed), as
    ``lines_<when>`` and ``bytes_<when>``, with the file's path as its entries name it; {} for a source that reads
    no one file (a log command, a socket or http device) or one rotated away meanwhile (the counts are of another
    file then)."""
    from ..auditlog.source import FileLogSource

    path = getattr(source, "path", None)
    at = source.position if isinstance(source, FileLogSource) else None
    if path is None or getattr(source, "hop", None) is not None or at is None:
        return {}
    return {"path": str(path), f"lines_{when}": at[0], f"bytes_{when}": at[1]}


def _stored(live: LiveResult) -> Optional[dict[str, Any]]:
    """The log's bytes the run judged, hashed before the copy kept for the checks is removed: an embedded server's
    log (deleted with its folder) as copied and sealed when the scenario ended, with its seal chain's head; a URL
    target's file up to where the run read it. Named by the path its entries name. None for a source that reads no
    one file."""
    from ..report.evidence import file_digest, seal_digest

    ctx, w = live.context, live.window
    if not w.get("path") or "bytes_to" not in w:
        return None
    if live.kept is not None and ctx.log_path:  # the embedded target's log, kept as a sealed copy
        out = file_digest(ctx.log_path)
        if out is None:
            return None
        out = {**out, "path": w["path"], "kept": "the embedded server's log, deleted with its folder when the run "
               "ended: hashed as it was copied and sealed then, the bytes the checks judged"}
        out.pop("judged_state", None)
        seal = seal_digest(ctx.log_path)
        if seal is not None:
            out["seal"] = {**seal, "path": w["path"] + ".digests"}
        return out
    out = file_digest(w["path"], limit=int(w["bytes_to"]))
    return out


def _window(live: LiveResult, checks: dict[str, Any]) -> dict[str, Any]:
    """What a URL target's log file held before the run and what of it was judged (red team rt68 F7): the lines
    before the run's mark are not read as entries (the per-entry checks judge the run's own window); a check fed
    more entries than the window holds (retention) read the whole file."""
    w = live.window
    before = int(w.get("lines_before", 0) or 0)
    if not before or "lines_to" not in w:
        return {}
    window = int(w["lines_to"]) - before
    whole = sorted(c for c, t in checks.items() if isinstance(t.get("fed"), int) and t["fed"] > window)
    return {"file_lines": int(w["lines_to"]),
            "before_run": {"lines": before, "bytes": int(w.get("bytes_before", 0) or 0), "judged_by": whole,
                           "why": "written before this run began: not read as entries of the run, as the per-entry "
                                  "checks judge the run's own window (its requests and what they caused); "
                                  + (", ".join(whole) + " read the whole file" if whole else
                                     "no check read them as entries")}}


def planned_actions(plan: Plan) -> list[PlannedAction]:
    return [PlannedAction(a.name, a.identity, a.expect) for a in plan.actions]


def evaluate_all(checks: Sequence[Check], ctx: CheckContext, planned: Sequence[PlannedAction]) -> list[Outcome]:
    """Every check over every subject it declares; an action that never ran is skipped, not passed."""
    ran = {a.name for a in ctx.ledger.actions} if ctx.ledger else set()
    action_names = {p.name for p in planned}
    out: list[Outcome] = []
    for check in checks:
        subjects = check.subjects(planned)
        results = evaluate(check, ctx, subjects)
        for s in subjects:
            o = results[s]
            if s in action_names and s not in ran and o.status != "failed":
                o = Outcome(check.id, s, SKIPPED, reason="the action did not run")
            out.append(o)
    return out


def refuse_unreadable(live: LiveResult) -> None:
    """Raise UnknownFormat when most of what the run's log source read is no Vault/OpenBao entry (a JSONx device,
    an undeclared prefix, a shipper's framing): one line naming what was found, instead of every action 'missing'."""
    ctx = live.context
    if not ctx.bad_lines or len(ctx.bad_lines) < len(ctx.entries):
        return
    from ..auditlog.detect import check_format, detect_lines

    raws = [b.raw for b in ctx.bad_lines[:200] if b.raw] + [e.raw for e in ctx.entries[:200]]
    if not raws:
        return
    found = detect_lines(ctx.source, raws, ctx.settings.log_prefix)
    check_format(ctx.source, found, "vault", ())


def accounting(live: LiveResult, outcomes: Sequence[Outcome], stored: Optional[dict[str, Any]] = None
               ) -> dict[str, Any]:
    """What the run's log held and what each check judged, in the shape an exported file's accounting has; with
    ``stored`` (``_stored``: the bytes judged, hashed) and, for a file that held lines before the run, what it held
    and what of that was judged (``_window``)."""
    ctx = live.context
    checks = {o.check_id: o.tally.to_json() for o in outcomes if o.subject == ""}
    out: dict[str, Any] = {
        "file": ctx.source or ctx.log_path,  # as findings name it (the embedded log's copy is gone by then)
        "format": "vault",
        "lines": len(ctx.entries) + len(ctx.bad_lines) + len(ctx.left_out),
        "bytes": sum(len(e.raw) + 1 for e in ctx.entries) + sum(len(b.raw) + 1 for b in (*ctx.bad_lines,
                                                                                        *ctx.left_out)),
        "entries": len(ctx.entries),
        "unreadable_lines": len(ctx.bad_lines),
        "checks": checks,
    }
    if ctx.left_out:  # said as offline says the lines a framing leaves out
        from ..auditlog.container import kind

        platforms = {kind(b.raw.encode("utf-8", "surrogateescape")) for b in ctx.left_out} - {""}
        framing = (platforms.pop() if len(platforms) == 1 else
                   "merged" if all(b.file.startswith("log_command[") for b in ctx.left_out) else "syslog")
        out.update(framing=framing, left_out=len(ctx.left_out))
    out.update(_window(live, checks))
    if stored is not None:
        out["stored"] = stored
    return out


def judge(checks: Sequence[Check], live: LiveResult, plan: Any) -> tuple[dict[tuple[str, str], Outcome],
                                                                           dict[str, Any]]:
    """Every check over every subject, keyed by (check id, subject), and the log's accounting. The copy of a
    target's log kept for the checks is removed afterwards."""
    try:
        refuse_unreadable(live)
        outcomes = evaluate_all(checks, live.context, planned_actions(plan))
        stored = _stored(live)  # before the kept copy goes
    finally:
        live.release()
    return {(o.check_id, o.subject): o for o in outcomes}, accounting(live, outcomes, stored)
