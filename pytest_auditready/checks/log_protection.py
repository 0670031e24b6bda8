"""log_protection: the log file is private, ordinary users cannot see or switch off audit devices, nothing logs raw."""

from __future__ import annotations

import stat
from typing import Iterator, Union

from .base import Check, CheckContext, Finding, Skip

ID = "log_protection"
_DANGEROUS = {"create", "update", "delete", "sudo", "root"}


def _origin(ctx: CheckContext, device: str, option: str) -> str:
    """Where the user's configuration declared a device's option (FILE:LINE), when the vault was booted from it."""
    dev = ctx.facts.devices.get(device, {}) if ctx.facts is not None else {}
    origin = dev.get("origin", {})
    return str(origin.get(option) or origin.get("", ""))


def _file_findings(ctx: CheckContext) -> Iterator[Finding]:
    info = ctx.log_file
    if info is None:
        return
    at = _origin(ctx, ctx.facts.device, "mode") if ctx.facts is not None else ""
    mode = stat.S_IMODE(info.mode)
    if mode & 0o022:
        who = " and ".join(w for w, bit in (("group", 0o020), ("others", 0o002)) if mode & bit)
        yield Finding(ID, "", f"The audit log {info.path} has mode {mode:04o}: {who} can change or erase it.",
                      f"chmod go-w {info.path}, and set the device's mode option to \"0600\"", where=at)
    allowed = int(ctx.settings.log_max_mode, 8)
    extra_read = mode & 0o044 & ~allowed
    if extra_read:
        who = " and ".join(w for w, bit in (("group", 0o040), ("others", 0o004)) if extra_read & bit)
        yield Finding(ID, "", f"The audit log {info.path} has mode {mode:04o}: {who} can read it "
                      f"(log_max_mode is {ctx.settings.log_max_mode}).",
                      f"chmod {ctx.settings.log_max_mode[1:]} the file and set the device's mode option to "
                      f"\"{ctx.settings.log_max_mode}\", or raise log_max_mode if a log-reader group is intended",
                      where=at)
    dmode = stat.S_IMODE(info.dir_mode)
    if dmode & 0o002 and not dmode & stat.S_ISVTX:
        yield Finding(ID, "", f"The folder holding the audit log is writable by others (mode {dmode:04o}): "
                      "anyone can delete or replace the log.", "chmod o-w the folder (or set its sticky bit)")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from _file_findings(ctx)
    facts = ctx.facts
    if facts is None or ctx.ledger is None:
        if ctx.log_file is None:
            yield Skip("", "no local log file and no vault to ask")
        return
    pols = ", ".join(facts.unprivileged_policies) or "none"
    listing = ctx.ledger.by_name("list-audit-devices")
    if listing is not None and 200 <= listing.status < 300:
        yield Finding(ID, "", f"An identity with only the policies [{pols}] can list the audit devices "
                      f"(sys/audit answered {listing.status}).",
                      "remove read/sudo on sys/audit from those policies", request_id=listing.request_id)
    attempt = ctx.ledger.by_name("disable-audit-attempt")
    if attempt is not None and 200 <= attempt.status < 300:
        yield Finding(ID, "", f"An identity with only the policies [{pols}] was allowed to disable an audit device "
                      f"path (answered {attempt.status}; the path did not exist, so nothing was switched off).",
                      "remove update/delete/sudo on sys/audit/* from those policies", request_id=attempt.request_id)
    if facts.capabilities_error:
        yield Finding(ID, "", f"Could not ask sys/capabilities-self as the unprivileged identity "
                      f"({facts.capabilities_error}).", "let the default policy keep sys/capabilities-self")
    for path, caps in sorted(facts.capabilities.items()):
        bad = sorted(set(caps) & (_DANGEROUS | ({"read", "list"} if path == "sys/audit" else set())))
        if bad:
            yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {', '.join(bad)} on {path}.",
                          f"remove those capabilities on {path} from the policies {pols}")
    if facts.devices_error:
        yield Finding(ID, "", f"The audit devices could not be listed with the audit token ({facts.devices_error}), "
                      "so log_raw cannot be ruled out.", "give the audit token sudo+read on sys/audit")
    for path, dev in sorted(facts.devices.items()):
        opts = dev.get("options", {})
        if str(opts.get("log_raw", "")).lower() in ("true", "1", "yes"):
            yield Finding(ID, "", f"Audit device {path!r} logs raw values (log_raw=true): every secret it sees is "
                          "written in clear text.", f"re-create device {path!r} without log_raw",
                          where=_origin(ctx, path, "log_raw"))
        if str(opts.get("hmac_accessor", "")).lower() in ("false", "0", "no"):
            yield Finding(ID, "", f"Audit device {path!r} logs token accessors in clear (hmac_accessor=false): a "
                          "log reader can look up and revoke any token.", f"re-create device {path!r} without "
                          "hmac_accessor=false", where=_origin(ctx, path, "hmac_accessor"))
    if not facts.devices and not facts.devices_error:
        yield Finding(ID, "", "The vault has no audit device enabled.", "enable a file audit device")


CHECK = Check(
    id=ID,
    title="The log is protected",
    requirement="the audit file is not writable (and by default not readable) by group or others; the unprivileged "
    "identity cannot list audit devices and holds no update, delete or sudo on any sys/audit/<device> path; no audit "
    "device logs raw values (log_raw)",
    run=run,
)
