"""fail_closed: with no audit device able to write, the vault refuses what it cannot audit (the embedded target only).

The drill itself runs in the scenario (vault/scenario.py, ``Runner._drill``) on the embedded target's own
throw-away server; this check judges what it recorded in ``facts.drill``. A URL target is never drilled.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Union

from .base import Check, CheckContext, Finding, Note, Skip

ID = "fail_closed"
_NOTHING_KEPT = ("discard", "stdout")


def _records(dev: Mapping[str, Any]) -> bool:
    """Whether a device keeps what it accepts (a discard or stdout file device keeps nothing)."""
    return not (dev.get("type") == "file" and dev.get("options", {}).get("file_path") in _NOTHING_KEPT)


def _named(path: str, dev: Mapping[str, Any]) -> str:
    origin = dev.get("origin", {})
    opts = dev.get("options", {})
    at = origin.get("file_path") or origin.get("", "")
    what = f"file_path={opts['file_path']}" if "file_path" in opts else f"type {dev.get('type', '?')}"
    return f"{path!r} ({what}" + (f", declared at {at})" if at else ")")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    if not ctx.settings.embedded:
        yield Skip("", "a URL target is never drilled: a drill must not be able to harm a real vault (run it "
                   "against your configuration on the embedded target: --auditready-vault-config DIR)")
        return
    facts = ctx.facts
    if facts is None or ctx.ledger is None:
        yield Skip("", "no live run (the drill needs the embedded target)")
        return
    drill = facts.drill
    if not drill.get("ran"):
        yield Finding(ID, "", "The fail-closed drill did not run: "
                      f"{drill.get('reason', 'the scenario ended before it')}, so nothing shows that the vault "
                      "stops serving when it cannot audit.", "see the run's other errors; the drill needs the "
                      "embedded target's file audit devices")
        return
    steps = {s["step"]: s for s in drill.get("steps", [])}
    broken = list(drill.get("broken", []))
    if drill.get("restore_error"):
        yield Finding(ID, "", f"The drill could not restore the audit devices ({drill['restore_error']}).",
                      "see the embedded server's output")
        return
    from ..vault.scenario import DRILL_HOW  # here: the offline front ends never load the scenario

    write = steps.get("write", {})
    status = int(write.get("status", 0))
    rid = str(write.get("request_id", ""))
    what = f"with audit devices {', '.join(broken)} unable to write ({DRILL_HOW}), {write.get('what', '')}"
    if status == 0:
        yield Finding(ID, "", f"The vault did not answer the drill's write ({write.get('error', '')}).",
                      "see the embedded server's output")
        return
    others = {p: d for p, d in facts.devices.items() if p not in broken}
    accepted = {p: d for p, d in others.items() if p not in drill.get("failed_devices", [])}
    served = 200 <= status < 300
    back = steps.get("read-back", {})
    back_status = int(back.get("status", 0))
    if served:
        keeping = [p for p, d in accepted.items() if _records(d)]
        if not keeping:
            sinks = "; ".join(_named(p, d) for p, d in sorted(accepted.items()))
            yield Finding(ID, "", f"The vault served a request it could not record: {what} answered {status}"
                          + (f", accepted by {sinks}, which keeps nothing." if sinks else "."),
                          "remove the device that keeps nothing (file_path \"discard\" or \"stdout\"), or make it "
                          "write where your logs are kept: with it the vault never refuses a request it cannot "
                          "record", request_id=rid)
            return
        note = (f"Drill: {what} answered {status}: a working second device, "
                + "; ".join(_named(p, accepted[p]) for p in sorted(keeping))
                + ", accepted it, so the vault may serve (make sure its failure alerts someone).")
    else:
        if not 500 <= status < 600 or not drill.get("server_said_unaudited"):
            yield Finding(ID, "", f"The drill's write ({what}) answered {status} ({write.get('error', '')}), not the "
                          "refusal of a request the vault could not audit, so the drill proves nothing.",
                          "check kv_mount and the audit token's policy", request_id=rid)
            return
        if back_status == 200:
            yield Finding(ID, "", f"The vault refused the drill's write ({what} answered {status}) but applied it: "
                          f"reading {drill.get('path', 'it')} back after the drill answered 200, so a change was made "
                          "that no audit log records.", "report it to the vault's maintainers; the change must not "
                          "be applied when its request cannot be audited", request_id=str(back.get("request_id", "")))
            return
        note = (f"Drill: {what} answered {status} ({write.get('error', '') or 'an error'}; the server said no audit "
                f"device succeeded in logging it); the devices were restored and the write was not applied "
                f"(read back: {back_status}).")
    probe = steps.get("logged-again", {})
    probe_rid = str(probe.get("request_id", ""))
    logged = bool(probe_rid) and any(e.request_id == probe_rid for e in ctx.entries)
    if not logged:
        yield Finding(ID, "", f"After the drill restored the audit devices, its request {probe.get('what', '')} "
                      f"(answered {probe.get('status', 0)}) is not in {ctx.source or 'the log'}: auditing did not "
                      "resume.", "a file device must reopen its file on SIGHUP (log rotation relies on it)",
                      request_id=probe_rid)
        return
    yield Note("", note + " After the restore the vault's requests were logged again (request id "
               f"{probe_rid}).")


CHECK = Check(
    id=ID,
    title="The vault fails closed",
    requirement="embedded target only (never a URL target): when no audit device can write, the vault refuses to "
    "serve the requests it cannot audit; a working second device may serve them, and the check says so",
    run=run,
    live_only=True,
)
