"""fail_closed: with no audit device able to write, the vault refuses what it cannot audit (drilled on the embedded
target only), and no device's options keep it serving what nothing records (every target).

The drill itself runs in the scenario (vault/scenario.py, ``Runner._drill``) on the embedded target's own throw-away
server; this check judges what it recorded in ``facts.drill``. A URL target is never drilled. On every target it
also judges the devices' own options (``_device_findings``): a device that drops entries by design, a socket device
sending over UDP (it never fails), a device that keeps nothing (``discard``, /dev/null: it never fails either), and
the other devices that keep the vault serving when the device the run reads fails. Whether a file device records is
said only where its file was read (``VaultFacts.device_files``: the run's request ids counted in what the file gained
during the run); one on the vault's host that got none of them is a finding, one that could not be read is "not
checked" (red team rt102 F2).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional, Union

from ..vault.config import (
    PRODUCTION_PATH_MARK,
    PRODUCTION_SOCKET_MARK,
    PRODUCTION_TYPE_MARK,
    option_true,
    special_file,
)
from .base import Check, CheckContext, Finding, Note, Skip

ID = "fail_closed"


def keeps_nothing(file_path: str) -> bool:
    """Whether a file device's file_path writes nothing anyone keeps: "discard" or "stdout" in any case (as Vault and
    OpenBao read them), /dev/null, /dev/stdout and their kin in any spelling (``vault.config.special_file``)."""
    return bool(special_file(file_path))


def _records(dev: Mapping[str, Any]) -> bool:
    """Whether a device keeps what it accepts: a file device writing to "discard" or "stdout" (in any case, as
    Vault and OpenBao read them; a URL target lists them as they were given) or to /dev/null, /dev/stdout and their
    kin keeps nothing."""
    return not (dev.get("type") == "file" and keeps_nothing(str(dev.get("options", {}).get("file_path", ""))))


def _named(path: str, dev: Mapping[str, Any]) -> str:
    origin = dev.get("origin", {})
    opts = dev.get("options", {})
    at = origin.get("file_path") or origin.get("", "")
    typ = origin.get(PRODUCTION_TYPE_MARK) or dev.get("type", "?")  # as the configuration declared it
    fp = origin.get(PRODUCTION_PATH_MARK) or (opts.get("file_path") if typ == "file" else "")
    what = f"file_path={fp}" if fp else f"type {typ}"
    return f"{path!r} ({what}" + (f", declared at {at})" if at else ")")


def _dropping(dev: Mapping[str, Any]) -> str:
    """What a device leaves out of what it records by design, as a clause; "" for none. Vault Enterprise 1.16+:
    ``filter`` keeps only the entries matching its expression, ``exclude`` removes fields from every entry
    (``elide_list_responses`` only shortens list answers: nothing is dropped)."""
    opts = dev.get("options", {})
    said = []
    if str(opts.get("filter", "")).strip():
        said.append(f"drops every entry that does not match its filter {_short(opts['filter'])}")
    if str(opts.get("exclude", "")).strip() not in ("", "[]"):
        said.append("removes the fields its exclude option names from every entry")
    if said:
        said[-1] += " (Vault Enterprise 1.16+ honours these options; OpenBao ignores them)"
    return " and ".join(said)


_ENTERPRISE = ("filter", "exclude", "fallback")  # audit device options only Vault Enterprise 1.16+ honours


def _filters_honoured(facts: Any) -> bool:
    """Whether the server honours ``_ENTERPRISE``'s options: Vault Enterprise (its version ends "+ent"), or a server
    whose version could not be read (then they are taken as honoured: what they may drop is said)."""
    version = str(getattr(facts, "version", "") or "")
    return not version or "+ent" in version


def _datagrams(dev: Mapping[str, Any]) -> bool:
    """Whether a socket device sends over UDP, as the configuration declared it (the embedded target receives it
    over TCP: ``PRODUCTION_SOCKET_MARK``) or as a URL target lists it."""
    declared = dev.get("origin", {}).get(PRODUCTION_SOCKET_MARK) or dev.get("options", {}).get("socket_type", "")
    return dev.get("type") == "socket" and str(declared).strip().lower() == "udp"


def _short(text: object, limit: int = 120) -> str:
    t = str(text)
    return repr(t if len(t) <= limit else t[:limit] + "...")


def _device_findings(ctx: CheckContext, facts: Any) -> Iterator[Union[Finding, Note]]:
    """What the devices' own options say, on every target (no drill needed): a device that drops entries by
    design (a filter without a fallback device or an unfiltered device to catch what it drops; the device the run
    reads being filtered), and the other devices that keep the vault serving when the device the run reads fails
    (a request proceeds when at least ONE device records it). Notes here are appended to the drill's."""
    devices: Mapping[str, Mapping[str, Any]] = facts.devices
    read = str(facts.device or "")
    keeping = {p: d for p, d in devices.items() if _records(d)}
    for p in sorted(p for p, d in devices.items() if p not in keeping and p != read):
        kind = special_file(str(devices[p].get("options", {}).get("file_path", "")))
        text = (f"Audit device {_named(p, devices[p])} keeps nothing (its file is "
                + ("the process's output" if kind == "stdout" else "a sink that swallows every write")
                + "), and its writes never fail: when the devices that keep the log fail (a full disk, a lost "
                "collector), the vault keeps serving, because at least one device still takes each entry, and "
                "records those requests nowhere.")
        if kind == "stdout":  # a container runtime or journald may keep the process's output
            yield Note("", text + " Unless what collects the vault's output keeps it as the audit log, remove it.")
        else:
            yield Finding(ID, "", text, "remove the device (disable it), or point it at a file that is kept",
                          where=_at(devices[p], "file_path"))
    for p in sorted(p for p, d in keeping.items() if _datagrams(d)):
        yield Finding(ID, "", f"Audit device {_named(p, devices[p])} sends over UDP (socket_type udp): a datagram "
                      "is sent whether or not anything receives it, so the device never fails and the vault keeps "
                      "serving while its collector is down or drops entries, none of which leaves a trace.",
                      "set socket_type = \"tcp\" (a write the collector does not take then fails, and with it the "
                      "request), or audit to a file device", where=_at(devices[p], "socket_type"))
    for p in sorted(p for p, d in keeping.items() if _declared(d) == "syslog"):
        yield Note("", f"Audit device {_named(p, devices[p])} hands its entries to the host's syslog daemon: it "
                   "fails, and the vault refuses with it, only when the daemon's socket refuses them. What the "
                   "daemon then drops (a full disk, journald's RateLimitBurst, rsyslog's imuxsock rate limit) is "
                   "served without a trace and no drill here can show it: alert on the daemon's drops, keep a file "
                   "device as well, and verify the file the daemon writes (auditready verify).")
    if not _filters_honoured(facts):  # OpenBao, Vault's community edition: the options are dead (red team rt95 F5)
        for p in sorted(p for p, d in devices.items() if _dropping(d)):
            yield Note("", f"Audit device {_named(p, devices[p])} {_dropping(devices[p])}; this server (version "
                       f"{facts.version}) ignores them and records every entry (completeness judges whether it did): "
                       "they would drop entries only on Vault Enterprise.")
        keeping = {p: {**d, "options": {k: v for k, v in d.get("options", {}).items() if k not in _ENTERPRISE}}
                   for p, d in keeping.items()}
        devices = {**devices, **keeping}
    filtered = {p: d for p, d in keeping.items() if str(d.get("options", {}).get("filter", "")).strip()}
    fallback = sorted(p for p, d in keeping.items() if option_true(d.get("options", {}).get("fallback", "")))
    whole = sorted(p for p in keeping if p not in filtered and p not in fallback)  # they get every entry
    if filtered and not fallback and not whole:
        names = "; ".join(_named(p, devices[p]) for p in sorted(filtered))
        yield Finding(ID, "", f"Every recording audit device has a filter ({names}) and none is a fallback device: "
                      "a request that matches no filter is served and recorded nowhere.",
                      "add a device with fallback = \"true\" (Vault Enterprise 1.16+), or one without a filter",
                      where=_at(devices[sorted(filtered)[0]], "filter"))
    catch = sorted({*fallback, *whole})
    for p in sorted(filtered if read not in filtered and catch else []):
        yield Note("", f"Audit device {p!r} {_dropping(devices[p])}: what it drops is recorded by "
                   + ", ".join(repr(c) for c in catch) + ", whose log must be audited too.")
    drops = _dropping(devices[read]) if read in devices else ""
    if drops:
        where = ("; the entries it drops reach " + ", ".join(_named(c, devices[c]) for c in catch if c != read)
                 if [c for c in catch if c != read] else "; they are recorded by no other device")
        yield Finding(ID, "", f"The device the run reads, {_named(read, devices[read])}, {drops}{where}: its log "
                      "cannot show every request, so a complete check of it proves only what the filter lets "
                      "through.", "audit the fallback (or an unfiltered) device's log instead (audit_device), or "
                      "drop the filter and exclude options from this one", where=_at(devices[read], "filter"))
    if read in fallback and filtered:
        yield Finding(ID, "", f"The device the run reads, {_named(read, devices[read])}, is the fallback device "
                      "(Vault Enterprise 1.16+): it records only the entries that the filters of "
                      + ", ".join(repr(p) for p in sorted(filtered)) + " left out, so its log cannot show every "
                      "request.", "audit an unfiltered device's log (audit_device), or these devices' logs together",
                      where=_at(devices[read], "fallback"))
    seen = {p: _written(facts, p, devices[p]) for p in keeping}
    for p in sorted(keeping):
        failing = _failing(facts, p, devices[p], read, seen[p])
        if failing is not None:
            yield failing
    others = sorted(p for p in keeping if p != read)
    if read in devices and others:
        yield Note("", f"The log read ({read!r}) is not the only record: when only {read!r} fails, the vault keeps "
                   "serving while another device records each request (a request proceeds when at least one audit "
                   "device records it): " + "; ".join(_named(p, devices[p]) + seen[p][1] for p in others) + f". So "
                   f"a gap in {read!r} is no refusal: audit the union of these devices' logs, and alert on each "
                   "device's failure.")
    elif not read and len(keeping) > 1:
        yield Note("", "The vault records to several devices (" + "; ".join(_named(p, devices[p]) + seen[p][1]
                   for p in sorted(keeping)) + ") and serves while any one of them records, so the log read is not "
                   "the only record: a gap in it is no refusal (set audit_device to name the device the run reads).")


def _written(facts: Any, path: str, dev: Mapping[str, Any]) -> tuple[str, str]:
    """What the run saw a device record (``VaultFacts.device_files``, measured by the scenario): ("records", ...)
    when its file holds the run's requests, ("none" or "part", ...) when the file, on this host, got none or only
    some of them, ("", ...) when it was not checked; the second is a clause for the notes. Never "records" unless
    its file was read and holds them."""
    mark = (getattr(facts, "device_files", None) or {}).get(path)
    local = str(getattr(facts, "device_files_local", "") or "")
    if dev.get("type") != "file":
        return "", f": not checked (what a {_declared(dev) or 'non-file'} device's receiver keeps is not read here)"
    if not mark:
        return "", ": not checked (its file was not looked at)"
    if mark.get("unread"):
        return "", f": not checked ({mark['unread']})"
    want, found = int(mark.get("run_requests", 0) or 0), mark.get("found")
    if not want or found is None:
        return "", ": not checked (no request of the run had a request id to look for in its file)"
    if found and (found >= want or mark.get("cut")):
        return "records", (f": its file holds {found} of the {want} requests of the run answered with a request id, "
                           "so it records")
    if not local:  # a file at that path here may be another host's namesake
        return "", (f": not checked (the file at that path here holds {found} of the {want} requests of the run "
                    "answered with a request id, but nothing shows it is the vault's: the run cannot tell that it "
                    "runs on the vault's host)")
    if mark.get("cut"):
        return "", (f": not checked (its file grew by more than {DEVICE_FILE_BYTES >> 20} MiB during the run, and "
                    "the run's requests were not among what was read)")
    if mark.get("rotated") and not mark.get("rotated_to"):
        return "", (f": not checked (its file was replaced during the run, as a rotation does, and the file it "
                    f"replaced is not in its folder: the new one holds {found} of the {want} requests of the run "
                    "answered with a request id)")
    return ("part" if found else "none"), (f": its file holds only {found} of the {want} requests of the run "
                                           "answered with a request id" if found else f": its file holds none of the "
                                           f"{want} requests of the run answered with a request id")


# The most bytes the scenario reads of what a device's file gained during the run, to find the run's request ids in
# it (vault.scenario._count_ids)
DEVICE_FILE_BYTES = 64 << 20


def _failing(facts: Any, path: str, dev: Mapping[str, Any], read: str, seen: tuple[str, str]) -> Optional[Finding]:
    """A file device on this host whose file got none (or only some) of the run's requests while the vault served
    them: a copy that is failing (a full disk, a file it may no longer write), which nothing in the vault's answers
    shows (red team rt102 F2). What a device whose filter the server honours left out is its filter's."""
    kind, _ = seen
    if kind not in ("none", "part") or (_dropping(dev) and _filters_honoured(facts)):
        return None  # (what a device whose filter the server honours leaves out is its filter's)
    mark = facts.device_files[path]
    want, found, grew = int(mark["run_requests"]), int(mark.get("found", 0)), int(mark.get("grew", 0))
    how = ("its file did not grow" if not grew and not mark.get("rotated") else
           f"its file grew by {grew} bytes" + (f" (a new file at its path; the one it replaced, now "
                                               f"{mark['rotated_to']}, read too)" if mark.get("rotated") else "")
           + (", none of them an entry of the run" if not found else ""))
    said = (f"wrote none of the run's {want} requests that the vault answered with a request id ({how})" if not found
            else f"wrote only {found} of the run's {want} requests that the vault answered with a request id ({how})")
    tail = ("it is the log the run reads, so the run's requests are missing there (completeness): a device that "
            "cannot write is the likely cause, and the vault kept serving, as another device took each request"
            if path == read else "the vault kept serving, as another device took each request, so nothing in its "
            "answers shows that this copy lacks them")
    return Finding(ID, "", f"Audit device {_named(path, dev)} {said}: that copy is failing (a full disk, a file it "
                   f"may no longer write, a file system gone read-only), and {tail} (checked here: "
                   f"{facts.device_files_local}).",
                   "find why in the vault's server log (\"backend failed to log\" names the device and the error), "
                   "free the disk or repair the file, then SIGHUP the vault; alert on the audit failure metrics "
                   "(vault.audit.log_request_failure, vault.audit.log_response_failure)",
                   where=_at(dev, "file_path"))


def _declared(dev: Mapping[str, Any]) -> str:
    """A device's type as the configuration declared it (the throw-away server writes a syslog device to a file)."""
    return str(dev.get("origin", {}).get(PRODUCTION_TYPE_MARK) or dev.get("type", ""))


def _at(dev: Mapping[str, Any], option: str) -> str:
    origin = dev.get("origin", {})
    return str(origin.get(option) or origin.get("", ""))


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    facts = ctx.facts
    said = list(_device_findings(ctx, facts)) if facts is not None else []
    yield from (s for s in said if isinstance(s, Finding))
    extra = " ".join(s.text for s in said if isinstance(s, Note))
    if not ctx.settings.embedded:
        yield Skip("", "a URL target is never drilled: a drill must not be able to harm a real vault (run it "
                   "against your configuration on the embedded target: --auditready-vault-config DIR)"
                   + (". " + extra if extra else ""))
        return
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
                          "record", request_id=rid,
                          # at the stanza of the device that took it, where the configuration declared it (rt95 F6f)
                          where=next((w for w in (_at(d, "file_path") for _, d in sorted(accepted.items())) if w),
                                     ""))
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
               f"{probe_rid})." + (" " + extra if extra else ""))


CHECK = Check(
    id=ID,
    title="The vault fails closed",
    requirement="when no audit device can write, the vault refuses to serve the requests it cannot audit (drilled "
    "on the embedded target only, never on a URL target); a working second device may serve them, and the check "
    "says so; on every target, no audit device's options keep the vault serving what no log records (a device that "
    "keeps nothing, a socket device over UDP, filters that drop entries no other device catches), and no file device "
    "the run can read on the vault's host got none of the run's requests",
    run=run,
    live_only=True,
)
