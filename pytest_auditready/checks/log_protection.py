"""log_protection: the log file is private, ordinary users cannot see or switch off audit devices, nothing logs raw."""

from __future__ import annotations

import posixpath
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
    if info.real_path:  # a symbolic link: the folder of the file it leads to guards the log too
        rmode = stat.S_IMODE(info.real_dir_mode)
        if rmode & 0o002 and not rmode & stat.S_ISVTX:
            yield Finding(ID, "", f"The audit log {info.path} is a symbolic link to {info.real_path}, whose folder is "
                          f"writable by others (mode {rmode:04o}): anyone can delete or replace the log.",
                          "point the device's file_path at the real file in a folder only the vault can write, or "
                          "chmod o-w that folder")


# Folders every user may write on a usual host: a log file there can be planted or replaced by anyone while it is
# rotated away (a sticky bit only protects a file that exists).
_SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/shm", "/var/crash")


def _device_file_findings(ctx: CheckContext) -> Iterator[Finding]:
    """Each other file device's file, judged from its options (it may be on another host, or, booted from the
    user's configuration, written elsewhere by the throw-away server): the mode it is created with (unset: 0600,
    the default of Vault and OpenBao) and whether its folder is one every user may write."""
    facts = ctx.facts
    if facts is None:
        return
    from ..vault.config import PRODUCTION_PATH_MARK  # no I/O: a constant

    read = facts.device if ctx.log_file is not None else ""
    allowed = int(ctx.settings.log_max_mode, 8)
    for path, dev in sorted(facts.devices.items()):
        opts = dev.get("options", {})
        fp = str(dev.get("origin", {}).get(PRODUCTION_PATH_MARK) or opts.get("file_path", ""))
        if dev.get("type") != "file" or fp.lower() in ("discard", "stdout", "/dev/null", "/dev/stdout", ""):
            continue
        folder = posixpath.dirname(posixpath.normpath(fp))
        if folder in _SHARED_DIRS:
            yield Finding(ID, "", f"Audit device {path!r} writes {fp}, in {folder}, which every user may write: "
                          "anyone can plant a file or a link at its name while it is rotated away, or before the "
                          "vault creates it.", f"set device {path!r}'s file_path to a folder only the vault can write "
                          "(e.g. /var/log/openbao/)", where=_origin(ctx, path, "file_path"))
        if path == read:
            continue  # its file itself was judged above
        text = str(opts.get("mode", "")).strip()
        try:
            mode = int(text, 8) if text else 0o600
        except ValueError:
            continue  # the vault would have refused to enable it
        at = _origin(ctx, path, "mode")
        if mode == 0:
            yield Finding(ID, "", f"Audit device {path!r} has mode {text!r}: its file {fp} keeps whatever mode the "
                          "host gives it, which nothing here can judge.",
                          f"set device {path!r}'s mode option to \"0600\"", where=at)
            continue
        wide = mode & 0o022
        reads = mode & 0o044 & ~allowed
        if wide or reads:
            bits = wide | reads
            who = " and ".join(w for w, bit in (("group", 0o060), ("others", 0o006)) if bits & bit)
            can = "change or erase" if wide else "read"
            yield Finding(ID, "", f"Audit device {path!r} creates its file {fp} with mode {mode:04o}: {who} can "
                          f"{can} it (log_max_mode is {ctx.settings.log_max_mode}).",
                          f"set device {path!r}'s mode option to \"{ctx.settings.log_max_mode}\"", where=at)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip]]:
    yield from _file_findings(ctx)
    yield from _device_file_findings(ctx)
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
