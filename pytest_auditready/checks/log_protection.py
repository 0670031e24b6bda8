"""log_protection: the log file is private and nobody but root and the vault's own user can change or replace it (its
owner, its ACL, a symbolic link at its path, every folder up to /), ordinary users cannot see or switch off audit
devices nor give themselves the power to (by glob or by a real name), read no whole KV mount, and the default policy
reads no KV secret; nothing logs raw."""

from __future__ import annotations

import functools
import os
import posixpath
import re
import stat
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ..auditlog.model import AccessLedger
from ..scan.secret_data import IDENTITY_KEY
from ..scan.tokens import CREDENTIAL_KEY
from ..vault.config import PRODUCTION_TYPE_MARK, option_false, option_true
from .base import Check, CheckContext, Finding, Note, Skip
from .fail_closed import keeps_nothing

if TYPE_CHECKING:
    from ..vault.scenario import VaultFacts

ID = "log_protection"
_DANGEROUS = {"create", "update", "delete", "sudo", "root"}
# A mount tuned with audit_non_hmac_request_keys / _response_keys has every device log those keys' values in clear.
# On a KV mount every key holds a secret but one that names who (a username: scan.secret_data.IDENTITY_KEY);
# elsewhere a key that names a credential or plain data does. Other keys (PKI's common_name, the Vault docs'
# example) name things: told, not failed.
# (cubbyhole: arbitrary secrets, red team rt40; ns_cubbyhole, a namespace's: rt43 F3)
_SECRET_MOUNT_TYPES = frozenset({"kv", "generic", "cubbyhole", "ns_cubbyhole"})
# (SSH's and TOTP's key: an OTP, a seed; TOTP's url and barcode carry the seed; a backup, a random_bytes answer, a
# transit export's keys: red team rt21; a TOTP code, and sys/audit-hash's and sys/tools/hash's input, the value to
# hash: red team rt35)
_SECRET_KEY = re.compile(r"(?i)" + CREDENTIAL_KEY + r"|plaintext|\Avalue\Z|\Adata\Z|jwt|otp|seed|pem_bundle"
                         r"|secret_id|passphrase|\A(?:recovery_)?keys?(?:_base64)?\Z|\Aurl\Z|\Abarcode\Z"
                         r"|\Abackup\Z|\Arandom_bytes\Z|\Acode\Z|\Ainput\Z")


# A setting about a credential, no credential: the token fields every auth method shares (token_policies, token_ttl,
# token_type, token_num_uses, token_bound_cidrs...), AppRole's secret_id_ttl, PKI's private_key_format and key_bits
# (the OpenBao API docs); teams log them in clear to show which policies and lifetimes were granted (red team rt40,
# F9).
_SETTING_KEY = re.compile(r"(?i)_(?:(?:explicit_)?max_)?ttl\Z|_polic(?:y|ies)\Z|_type\Z|_(?:num_)?uses\Z|_cidrs?\Z"
                          r"|_period\Z|_format\Z|_bits\Z|_length\Z|_no_default_policy\Z")


# -- who can change the file: what ``base.stat_log`` reads of it (the only I/O here; the check itself reads none) ---
# POSIX ACL tags (linux/posix_acl.h), as the system.posix_acl_access attribute stores them
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
Acl = tuple[tuple[int, int, int], ...]  # (tag, permission bits rwx = 4 2 1, user or group id)


@dataclass(frozen=True)
class PathFacts:
    """A file or folder: its mode, owner, group and access ACL (empty without one)."""

    path: str
    mode: int
    uid: int
    gid: int
    acl: Acl = ()


@dataclass(frozen=True)
class Guards:
    """Everything that decides who can change an audit log besides its own mode bits."""

    file: PathFacts  # the file the vault writes (where a symbolic link leads)
    link: Optional[PathFacts]  # the symbolic link at the path the device was given, when it is one
    folders: tuple[PathFacts, ...]  # every folder from the file's (and the link's) up to /
    # gid -> its members' uids (None: the group is not in the host's databases), for the groups the modes and ACLs name
    members: tuple[tuple[int, Optional[tuple[int, ...]]], ...]
    names: tuple[tuple[int, str], ...] = ()  # uid -> user name, for messages


def decode_acl(raw: bytes) -> Acl:
    """The entries of a system.posix_acl_access (or _default) attribute: a little-endian u32 version (2), then
    (u16 tag, u16 permissions, u32 id) each. Anything else: no entries."""
    if len(raw) < 4 or (len(raw) - 4) % 8 or struct.unpack_from("<I", raw)[0] != 2:
        return ()
    return tuple(struct.unpack_from("<HHI", raw, 4 + 8 * i) for i in range((len(raw) - 4) // 8))


def _acl(path: str) -> Acl:
    getxattr = getattr(os, "getxattr", None)
    if getxattr is None:  # pragma: no cover - not Linux
        return ()
    try:
        return decode_acl(getxattr(path, "system.posix_acl_access", follow_symlinks=True))
    except OSError:  # no ACL, or a file system without them
        return ()


def _facts(path: str) -> PathFacts:
    st = os.stat(path)
    return PathFacts(path, st.st_mode, st.st_uid, st.st_gid, _acl(path))


@functools.lru_cache(maxsize=64)
def _members(gid: int) -> Optional[tuple[int, ...]]:
    """The uids of a group's users: its member list and the users whose primary group it is; None when the host
    does not know the group (then nothing says who is in it). Read once a run for each group (every file of a set
    asks: the user database read 6,000 times); ``engine.files.prepare`` forgets them."""
    try:
        import grp
        import pwd
    except ImportError:  # pragma: no cover - not POSIX
        return None
    uids = {p.pw_uid for p in pwd.getpwall() if p.pw_gid == gid}
    try:
        names = grp.getgrgid(gid).gr_mem
    except KeyError:
        return tuple(sorted(uids)) if uids else None
    for name in names:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            continue
    return tuple(sorted(uids))


def _name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return ""


def guards_of(path: str) -> Guards:
    """Read what decides who can change the log at ``path`` (``base.stat_log`` calls this): the file it leads to,
    the link itself when it is one, every folder up to / of both, the members of each group that may write there.
    Raises OSError when the file cannot be read."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    link: Optional[PathFacts] = None
    if os.path.islink(absolute):
        st = os.lstat(absolute)
        link = PathFacts(absolute, st.st_mode, st.st_uid, st.st_gid)
    folders: dict[str, PathFacts] = {}
    for start in (absolute, real):
        folder = os.path.dirname(start)
        while True:
            resolved = os.path.realpath(folder)
            if resolved not in folders:
                folders[resolved] = _facts(resolved)
            if folder == os.path.dirname(folder):
                break
            folder = os.path.dirname(folder)
    # a folder reached through a link on the way (/var/run -> /run) is guarded by the folders of both paths
    file = _facts(real)
    every = [file, *folders.values(), *([link] if link else [])]
    # the groups that may write somewhere here: the owning group of what has group write (with an ACL the group bits
    # are its mask, which caps the owning group's entry), and the groups ACL entries name
    gids = {f.gid for f in every if f.mode & 0o020} | {i for f in every for tag, _p, i in f.acl if tag == ACL_GROUP}
    members = tuple((g, _members(g)) for g in sorted(gids))
    uids = {f.uid for f in every} | {i for f in every for tag, _p, i in f.acl if tag == ACL_USER}
    uids |= {u for _g, us in members for u in us or ()}
    return Guards(file, link, tuple(folders.values()), members, tuple((u, _name(u)) for u in sorted(uids)))


def _origin(ctx: CheckContext, device: str, option: str) -> str:
    """Where the user's configuration declared a device's option (FILE:LINE), when the vault was booted from it."""
    dev = ctx.facts.devices.get(device, {}) if ctx.facts is not None else {}
    origin = dev.get("origin", {})
    return str(origin.get(option) or origin.get("", ""))


def _classes(bits: int, group: str = "group") -> str:
    """Who the permission ``bits`` (already masked to those that matter) let in: "group", "others" or both."""
    return " and ".join(w for w, mask in ((group, 0o070), ("others", 0o007)) if bits & mask)


def _file_findings(ctx: CheckContext) -> Iterator[Finding]:
    info = ctx.log_file
    if info is None:
        return
    at = _origin(ctx, ctx.facts.device, "mode") if ctx.facts is not None else ""
    mode = stat.S_IMODE(info.mode)
    group = "group" if info.guards is None or not info.guards.file.acl else "the ACL mask (group class)"
    if mode & 0o022:
        who = _classes(mode & 0o022, group)
        yield Finding(ID, "", f"The audit log {info.path} has mode {mode:04o}: {who} can change or erase it.",
                      f"chmod go-w {info.path}, and set the device's mode option to \"0600\"", where=at)
    allowed = int(ctx.settings.log_max_mode, 8)
    extra_read = mode & 0o044 & ~allowed
    if extra_read:
        who = _classes(extra_read, group)
        yield Finding(ID, "", f"The audit log {info.path} has mode {mode:04o}: {who} can read it "
                      f"(log_max_mode is {ctx.settings.log_max_mode}).",
                      f"chmod {ctx.settings.log_max_mode[1:]} the file and set the device's mode option to "
                      f"\"{ctx.settings.log_max_mode}\", or raise log_max_mode if a log-reader group is intended",
                      where=at)
    if info.guards is not None:
        yield from _guard_findings(ctx, info.guards, at)
        return
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


def _trusted(ctx: CheckContext, guards: Guards) -> tuple[set[int], str]:
    """root and the vault's own user, and how that user is known: the embedded target is our own process; a URL
    target writes the file as its user, so the file's owner is the evidence (offline too)."""
    if ctx.ledger is not None and ctx.settings.embedded:
        return {0, os.geteuid()}, "the embedded vault's process user"
    return {0, guards.file.uid}, "the log's owner"


def _who(guards: Guards, uid: int) -> str:
    name = dict(guards.names).get(uid, "")
    return f"uid {uid} ({name})" if name else f"uid {uid}"


def _group(guards: Guards, gid: int, trusted: set[int], how: str) -> Iterable[str]:
    """The group ``gid`` when a user outside ``trusted`` is in it (its members unknown: any group but root's)."""
    known = dict(guards.members)
    members = known.get(gid)
    others = sorted(set(members) - trusted) if members is not None else []
    if others:
        yield f"group {gid} {how} (members {', '.join(_who(guards, u) for u in others[:4])})"
    elif members is None and gid != 0:
        yield f"group {gid} {how} (a group the host does not list: its members are unknown)"


def _seal_file_findings(ctx: CheckContext) -> Iterator[Finding]:
    """The digest chain beside the log and the public key that verifies it (``public_key``): whoever may write them
    can replace the proof that the log is unchanged (a chain of their own, signed with a key of their own, that the
    key they put in place verifies)."""
    info = ctx.log_file
    if info is None:
        return
    from ..seal.chain import digests_path_for

    for path, what in ((str(digests_path_for(info.path)), "The digest chain beside the audit log"),
                       (ctx.settings.public_key or "", "The public key that verifies the audit log's digest chain")):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode) if path else 0
        except OSError:
            continue  # none there: tamper_evidence says so
        if mode & 0o022:
            who = _classes(mode & 0o022)
            yield Finding(ID, "", f"{what} ({path}) has mode {mode:04o}: {who} can replace it, and with it the proof "
                          f"that {info.path} is unchanged (a forged chain signed with a key of their own would "
                          "verify against a key they put in its place).",
                          f"chmod go-w {path}; keep the public key where only its owner can write it (the "
                          "repository, or a host the vault's cannot reach)", where=path)


def _writers(f: PathFacts, guards: Guards, trusted: set[int], bit: int = 0o2) -> list[str]:
    """Who, besides ``trusted``, may write (``bit`` 2; read: 4) ``f``: its owner (who can always chmod), its group
    and others by the mode bits, or by the access ACL whose mask caps every named entry and the owning group. In a
    folder with the sticky bit only an entry's owner may rename or remove it: nobody else is counted."""
    out = [f"its owner {_who(guards, f.uid)}"] if f.uid not in trusted and bit == 0o2 else []
    mode = stat.S_IMODE(f.mode)
    if stat.S_ISDIR(f.mode) and mode & stat.S_ISVTX:
        return out
    if not f.acl:
        if mode & (bit << 3):
            out += _group(guards, f.gid, trusted, "(its group, by the mode bits)")
        if mode & bit:
            out.append("others")
        return out
    mask = next((p for tag, p, _i in f.acl if tag == ACL_MASK), 7)
    for tag, perm, ident in f.acl:
        if tag == ACL_USER and perm & mask & bit and ident not in trusted:
            out.append(f"user {_who(guards, ident)} (an ACL entry)")
        elif tag == ACL_GROUP_OBJ and perm & mask & bit:
            out += _group(guards, f.gid, trusted, "(its group, by the ACL)")
        elif tag == ACL_GROUP and perm & mask & bit:
            out += _group(guards, ident, trusted, "(an ACL entry)")
        elif tag == ACL_OTHER and perm & bit:
            out.append("others")
    return out


def _guard_findings(ctx: CheckContext, guards: Guards, at: str) -> Iterator[Finding]:
    """Who else can change or replace the log: its owner, its ACL, a symbolic link and every folder up to /."""
    info = ctx.log_file
    assert info is not None
    trusted, vault_user = _trusted(ctx, guards)
    real = guards.file.path
    name = f"{info.path} (a symbolic link to {real})" if guards.link is not None else info.path
    if guards.file.uid not in trusted:
        yield Finding(ID, "", f"The audit log {name} is owned by {_who(guards, guards.file.uid)}, neither root nor "
                      f"{vault_user} ({_who(guards, max(trusted))}): its owner can chmod, rewrite or truncate it.",
                      f"chown the file to the vault's user (or root): chown {max(trusted)} {real}", where=at)
    link_dir = next((f for f in guards.folders if guards.link is not None
                     and f.path == os.path.realpath(os.path.dirname(guards.link.path))), None)
    if guards.link is not None and guards.link.uid not in trusted and link_dir is not None \
            and stat.S_IMODE(link_dir.mode) & stat.S_ISVTX:
        # in a sticky folder (as /tmp) the owner of an entry may remove it and put another link in its place
        yield Finding(ID, "", f"The audit log {info.path} is a symbolic link to {real}, in the sticky folder "
                      f"{link_dir.path}, owned by {_who(guards, guards.link.uid)}, neither root nor {vault_user}: "
                      "its owner can replace it and point the vault's log elsewhere.", "point the device's file_path "
                      "at the real file in a folder only the vault can write", where=at)
    if guards.file.acl:
        mode = stat.S_IMODE(guards.file.mode)
        # log_max_mode with group read (0640: a log-reader group) allows a group the ACL names to read, the usual way
        # to give a shipper's group read without changing the file's group (red team rt40, F13); a user named to
        # read is beyond a group still
        readers = int(ctx.settings.log_max_mode, 8) & 0o040
        for bit, can in ((0o2, "change or erase"), (0o4, "read")):
            named = [w for w in _writers(guards.file, guards, trusted, bit) if "ACL entry" in w
                     and not (bit == 0o4 and readers and w.startswith("group "))]
            if named:
                yield Finding(ID, "", f"An access ACL on the audit log {name} lets {', '.join(named)} {can} it, "
                              f"although its mode reads {mode:04o} (with an ACL the group bits show its mask).",
                              f"remove those ACL entries (setfacl -x, or setfacl -b {real} for all) and keep the "
                              f"file {ctx.settings.log_max_mode[-3:]}"
                              + ("" if bit == 0o2 else ", or raise log_max_mode to 0640 if a log-reader is intended"),
                              where=at)
    immediate = {os.path.dirname(f.path) for f in (guards.file, guards.link) if f is not None}
    for folder in guards.folders:
        writers = _writers(folder, guards, trusted)
        if not writers:
            continue
        holds = f"the audit log {name}" if folder.path in immediate else f"a folder on the way to the audit log {name}"
        who = ", ".join(writers)
        mode = stat.S_IMODE(folder.mode)
        anyone = "anyone" if "others" in writers else "they"
        yield Finding(ID, "", f"The folder {folder.path} (mode {mode:04o}), which holds {holds}, is writable by "
                      f"{who.replace('others', 'others (every user)')}: {anyone} can delete or replace the log "
                      "(rename the folder or the file away and put another in its place).",
                      f"chown root (or the vault's user) {folder.path} and chmod go-w it (or set its sticky bit, as "
                      "/tmp has); remove ACL entries that grant write (setfacl -b)", where=at)


# Folders every user may write on a usual host: a log file there can be planted or replaced by anyone while it is
# rotated away (a sticky bit only protects a file that exists).
_SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/shm", "/var/crash")


def _device_file_findings(ctx: CheckContext) -> Iterator[Finding]:
    """Each file device's file, judged from its options (it may be on another host, or, booted from the user's
    configuration, written elsewhere by the throw-away server): the mode it is created with (unset: 0600, the
    default of Vault and OpenBao) and whether its folder is one every user may write. The file the run reads is
    judged as it is (``_file_findings``), and by its option too when that is wider than the file is now."""
    facts = ctx.facts
    if facts is None:
        return
    from ..vault.config import PRODUCTION_PATH_MARK  # no I/O: a constant

    read = facts.device if ctx.log_file is not None else ""
    allowed = int(ctx.settings.log_max_mode, 8)
    for path, dev in sorted(facts.devices.items()):
        opts = dev.get("options", {})
        fp = str(dev.get("origin", {}).get(PRODUCTION_PATH_MARK) or opts.get("file_path", ""))
        if dev.get("type") != "file" or not fp or keeps_nothing(fp):
            continue  # no file: nothing to protect (fail_closed judges a device that keeps nothing)
        folder = posixpath.dirname(posixpath.normpath(fp))
        if folder in _SHARED_DIRS:
            yield Finding(ID, "", f"Audit device {path!r} writes {fp}, in {folder}, which every user may write: "
                          "anyone can plant a file or a link at its name while it is rotated away, or before the "
                          "vault creates it.", f"set device {path!r}'s file_path to a folder only the vault can write "
                          "(e.g. /var/log/openbao/)", where=_origin(ctx, path, "file_path"))
        now = ""
        if path == read and ctx.log_file is not None:  # its file was judged above; its option says what the
            current = ctx.log_file.mode & 0o777  # vault will set
            if current & 0o022 or current & 0o044 & ~allowed:
                continue  # found already
            now = (f" (it is {current:04o} now, and the vault sets the option's mode again whenever it opens the "
                   "file: at a SIGHUP, after a rotation)")
        text = str(opts.get("mode", "")).strip()
        try:
            mode = int(text, 8) if text else 0o600
        except ValueError:
            continue  # the vault would have refused to enable it
        at = _origin(ctx, path, "mode")
        if mode == 0:
            if now:
                continue  # the mode the host gives it: the file's own, judged above
            yield Finding(ID, "", f"Audit device {path!r} has mode {text!r}: its file {fp} keeps whatever mode the "
                          "host gives it, which nothing here can judge.",
                          f"set device {path!r}'s mode option to \"0600\"", where=at)
            continue
        wide = mode & 0o022
        reads = mode & 0o044 & ~allowed
        if wide or reads:
            bits = wide | reads
            who = _classes(bits)
            can = "change or erase" if wide else "read"
            yield Finding(ID, "", f"Audit device {path!r} creates its file {fp} with mode {mode:04o}{now}: {who} "
                          f"can {can} it (log_max_mode is {ctx.settings.log_max_mode}).",
                          f"set device {path!r}'s mode option to \"{ctx.settings.log_max_mode}\"", where=at)


# Paths a policy could open to an ordinary identity that lead to any policy it likes (asked with
# sys/capabilities-self): define a token role and make tokens from it (a role's allowed_policies need not be the
# maker's); put an entity in a group, or set an entity's policies (its own, once it logs in through an auth method);
# enable an auth method. The probe names exist nowhere, so only a glob or a template grants them; a grant under a
# real name is asked by that name (``named_probes``: the names the identity's policies give, and those the audit
# token can list), red team rt76 F1.
PROBE = "auditready-probe"
# (an entity or a group by id: the policies it carries; an alias: ties a login of its own to an entity, or an external
# group to a group, that holds policies: red team rt40, F2)
_IDENTITY_WRITES = ["identity/group", f"identity/group/name/{PROBE}", f"identity/group/id/{PROBE}",
                    f"identity/entity/id/{PROBE}", f"identity/entity/name/{PROBE}"]
_ALIAS_WRITES = ["identity/entity-alias", f"identity/entity-alias/id/{PROBE}", "identity/group-alias",
                 f"identity/group-alias/id/{PROBE}"]
# A mount's tuning (audit_non_hmac_request_keys / _response_keys) decides which keys every device writes in clear.
_TUNES = [f"sys/mounts/{PROBE}/tune", f"sys/auth/{PROBE}/tune"]
# Which request headers every device writes, and whether as an HMAC (the endpoint asks for sudo).
_HEADERS = f"sys/config/auditing/request-headers/{PROBE}"
ESCALATION_PROBES = [f"auth/token/roles/{PROBE}", f"auth/token/create/{PROBE}", *_IDENTITY_WRITES, *_ALIAS_WRITES,
                     f"sys/auth/{PROBE}", f"sys/raw/{PROBE}", *_TUNES, _HEADERS]
# Each family of those routes, as the paths it holds (any name in place of the probe's)
_TOKEN_ROLE = re.compile(r"auth/token/roles/([^/]+)")
_IDENTITY = re.compile(r"identity/group|identity/(?:group|entity)/(?:name|id)/[^/]+")
_ALIAS = re.compile(r"identity/(?:entity|group)-alias(?:/id/[^/]+)?")
_TUNE = re.compile(r"sys/(?:mounts|auth)/.+/tune")
_HEADER = re.compile(r"sys/config/auditing/request-headers/[^/]+")
_RAW = re.compile(r"sys/raw(?:/.*)?")
_AUTH_ENABLE = re.compile(r"sys/auth/(?!.*/tune\Z).+")
_ESCALATIONS = (re.compile(r"auth/token/create/[^/]+"), _TOKEN_ROLE, _IDENTITY, _ALIAS, _TUNE, _HEADER, _RAW,
                _AUTH_ENABLE)
# ... and the paths the run's own loop judges (a policy it holds, tokens of any policy, the audit devices)
_OWN = re.compile(r"sys/(?:policies/acl|policy)/[^/]+|auth/token/create(?:-orphan)?|sys/audit(?:/.+)?")
_WRITE = ("create", "update")
# Auth methods whose roles, users or groups carry the policies their logins get (token_policies / policies, as the
# methods' API docs give them): whoever may write one gives a login of its own any policy. By type, the paths of
# such an object under the method's mount, "{}" its name (asked for the mounts the vault has, ``auth_probes``):
# userpass's "update policies on user" (users/:username/policies) and AppRole's role/:role_name/policies write the
# policies alone (red team rt40, F2).
AUTH_OBJECTS = {
    "approle": ("role/{}", "role/{}/policies"), "userpass": ("users/{}", "users/{}/policies"), "jwt": ("role/{}",),
    "oidc": ("role/{}",), "kubernetes": ("role/{}",), "ldap": ("groups/{}", "users/{}"),
    "okta": ("groups/{}", "users/{}"), "radius": ("users/{}",), "cert": ("certs/{}",),
    "github": ("map/teams/{}", "map/users/{}"), "aws": ("role/{}",), "gcp": ("role/{}",), "azure": ("role/{}",),
    "alicloud": ("role/{}",), "oci": ("role/{}",), "kerberos": ("groups/{}",), "cf": ("roles/{}",),
}


# ... and the paths under a method's mount whose use (not a role's policies) gives a login of any role or user: an
# AppRole role's SecretID, made or chosen (custom-secret-id; its RoleID is no secret), a user's password, the method's
# trust (the keys, cluster, directory or organization its logins are checked against). By type, (path, what its
# writer can do).
_TRUST = "replace what the method trusts ({}) with its own, and log in as any of its roles or users"
_SECRET_ID = "make a SecretID of any role and, with the role's RoleID (no secret), log in as that role"
AUTH_USES: dict[str, tuple[tuple[str, str], ...]] = {
    "approle": (("role/{}/secret-id", _SECRET_ID), ("role/{}/custom-secret-id", _SECRET_ID)),
    "userpass": (("users/{}/password", "set any user's password and log in as that user"),),
    "jwt": (("config", _TRUST.format("the issuer's keys")),), "oidc": (("config", _TRUST.format("the issuer's keys")),),
    "kubernetes": (("config", _TRUST.format("the cluster that reviews tokens")),),
    "ldap": (("config", _TRUST.format("the directory")),), "okta": (("config", _TRUST.format("the organization")),),
    "radius": (("config", _TRUST.format("the RADIUS server")),),
    "github": (("config", _TRUST.format("the organization")),),
}
# A use of one named entry (not any): a login as that entry alone, an escalation when the entry's policies hold what
# the identity does not (``_named_use``). "{}" is the entry's name.
_NAMED_USES = {"role/{}/secret-id": "make a SecretID of the AppRole role {} and, with its RoleID (no secret), log in "
               "as that role", "role/{}/custom-secret-id": "give the AppRole role {} a SecretID of its choosing and, "
               "with its RoleID (no secret), log in as that role",
               "users/{}/password": "set the password of the user {} and log in as that user"}
_MOST_SHOWN = 6  # paths one finding names
# Tokens of an existing token role, by its name (auth/token/create/<role>): they carry any policy the role allows,
# not only their maker's (red team rt79 F1); the audit token reads the role (auth/token/roles/<role>).
_TOKEN_CREATE = re.compile(r"auth/token/create/([^/]+)")
TOKEN_ROLES = "auth/token/roles"


def auth_probes(auth_types: Mapping[str, str]) -> list[str]:
    """The paths asked of the unprivileged identity for each auth method mounted ("auth/<path>/" -> type): a role,
    user or group named by the probe (it exists nowhere: only a glob or a template grants it), and what gives a
    login of any of them (``AUTH_USES``)."""
    return [f"{mount}{where.format(PROBE)}" for mount, kind in sorted(auth_types.items())
            for where in (*AUTH_OBJECTS.get(kind, ()), *(w for w, _ in AUTH_USES.get(kind, ())))]


def tune_probes(mounts: Sequence[str]) -> list[str]:
    """The tuning endpoint of each mount ("secret/", "auth/<path>/"), asked of the unprivileged identity: a policy
    may name a mount's tuning by its path, where the probe's glob stands for the rest."""
    return [f"sys/{'auth/' + m[5:] if m.startswith('auth/') else 'mounts/' + m}tune" for m in sorted(mounts)]


def concrete(pattern: str) -> str:
    """A path a policy's ``pattern`` grants, as asked of the vault: each ``+`` segment and a trailing ``*`` become
    the probe's name (a named path stays as it is)."""
    path = "/".join(PROBE if seg == "+" else seg for seg in pattern.strip().lstrip("/").split("/"))
    return path[:-1] + PROBE if path.endswith("*") else path


def _template(path: str) -> "re.Pattern[str]":
    """A path of ``AUTH_OBJECTS``/``AUTH_USES`` under its mount, its "{}" one segment's name (group 1)."""
    return re.compile(re.escape(path).replace(re.escape("{}"), "([^/]+)"))


def name_groups(auth_types: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The escalation paths with a name in them ("{}"), by the folder that holds the names: a token role's pair
    (the role and the tokens made of it), an identity group or entity by name or id, an alias, a role, user or
    group of each auth method mounted, and its uses. A name one of them is asked with is asked in each path of its
    folder (the role ci: auth/token/roles/ci and auth/token/create/ci)."""
    groups: dict[str, tuple[str, ...]] = {"auth/token/roles": ("auth/token/roles/{}", "auth/token/create/{}")}
    for kind in ("group/name", "group/id", "entity/name", "entity/id", "entity-alias/id", "group-alias/id"):
        groups[f"identity/{kind}"] = (f"identity/{kind}/{{}}",)
    for mount, kind in sorted(auth_types.items()):
        for where in (*AUTH_OBJECTS.get(kind, ()), *(w for w, _ in AUTH_USES.get(kind, ()))):
            if "{}" in where:
                folder = mount + where.split("/{}")[0]
                groups[folder] = (*groups.get(folder, ()), mount + where)
    return groups


def name_listings(auth_types: Mapping[str, str]) -> list[str]:
    """The folders whose names the audit token lists (LIST), a second source of real names beside the policies'
    texts: token roles, identity groups by name and id, each AppRole mount's roles and each userpass mount's
    users."""
    return ["auth/token/roles", "identity/group/name", "identity/group/id",
            *(f"{m}{'role' if k == 'approle' else 'users'}" for m, k in sorted(auth_types.items())
              if k in ("approle", "userpass"))]


def _routed(path: str, auth_types: Mapping[str, str]) -> bool:
    """Whether ``path`` is one of the escalation routes ``_escalations`` judges."""
    return any(rx.fullmatch(path) for rx in _ESCALATIONS) or any(
        _template(m + where).fullmatch(path) for m, kind in auth_types.items()
        for where in (*AUTH_OBJECTS.get(kind, ()), *(w for w, _ in AUTH_USES.get(kind, ()))))


def named_probes(grants: Iterable[Sequence[Any]], auth_types: Mapping[str, str],
                 names: Mapping[str, Sequence[str]]) -> list[str]:
    """The escalation paths to ask beside the probes: each path of the identity's policies (``grants``: [pattern,
    capabilities]) that lies on a route (a glob or ``+`` as the probe's name, a named one as it is), with the other
    paths of its name's folder; and the same for each real name the audit token listed (``names``: folder ->
    names). Templated paths ({{identity...}}) are left out: ``templated`` tells them."""
    groups = name_groups(auth_types)
    folders = [(_template(t), ts) for ts in groups.values() for t in ts]
    out: list[str] = []
    for pattern, caps in grants:
        path = concrete(str(pattern))
        if "{{" in path or not set(caps) - {"deny"}:
            continue
        if (_routed(path, auth_types) or _OWN.fullmatch(path)) and not (PROBE in path and _OWN.fullmatch(path)):
            out.append(path)  # (a glob over sys/audit/* or sys/policies/acl/*: the devices and the policies held)
            for rx, templates in folders:
                m = rx.fullmatch(path)
                if m:
                    out += [t.replace("{}", m.group(1)) for t in templates]
    for folder, found in sorted(names.items()):
        out += [t.replace("{}", n) for n in found for t in groups.get(folder, ())]
    return list(dict.fromkeys(out))


def named_uses(caps: Mapping[str, Sequence[str]], auth_types: Mapping[str, str]) -> list[str]:
    """The entries whose use by name the unprivileged identity holds: of auth methods (auth/<mount>/role/<name>,
    .../users/<name>: ``_NAMED_USES``, a SecretID, a password), and token roles (auth/token/roles/<name>, for
    auth/token/create/<name>); the audit token reads each for the policies its logins or tokens get
    (``VaultFacts.use_objects``)."""
    out = {f"{TOKEN_ROLES}/{m.group(1)}" for m, held in ((_TOKEN_CREATE.fullmatch(p), h) for p, h in caps.items())
           if m and PROBE not in m.group(1) and set(held) & {"root", *_WRITE}}
    for mount, kind in auth_types.items():
        for where, _ in AUTH_USES.get(kind, ()):
            if where not in _NAMED_USES:
                continue
            rx = _template(mount + where)
            for path, held in caps.items():
                m = rx.fullmatch(path)
                if m and PROBE not in m.group(1) and set(held) & {"root", *_WRITE}:
                    out.add(mount + where[:where.index("{}")] + m.group(1))
    return sorted(out)


def _name_glob(pattern: str) -> "re.Pattern[str]":
    """A token role's policy glob (allowed_policies_glob, disallowed_policies_glob) as the token store matches a
    policy name with it: ``*`` any run of characters, nothing else special."""
    return re.compile(".*".join(map(re.escape, pattern.split("*"))))


def _role_list(role: Mapping[str, Any], key: str) -> list[str]:
    value = role.get(key)
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(p).strip() for p in items if str(p).strip()]


def token_role_globs(role: Mapping[str, Any]) -> list[str]:
    """A token role's allowed_policies_glob (as the audit token read auth/token/roles/<name>)."""
    return _role_list(role, "allowed_policies_glob")


def token_role_policies(role: Mapping[str, Any], known: Union[Sequence[str], str] = ()) -> tuple[list[str], str]:
    """The policies a token made of a token role (auth/token/create/<name>) may carry whatever its maker holds, as
    the token store resolves them (resolveTokenPolicies): each of allowed_policies, and each policy of the vault
    (``known``, LIST sys/policies/acl; or why it could not be listed) that allowed_policies_glob matches, but none
    disallowed_policies or disallowed_policies_glob names; never root (a root token needs a root maker). A role
    without allowed_policies(_glob) gives only its maker's own policies: none. Returns (those policies, why the
    globs could not be matched, or "")."""
    allowed = set(_role_list(role, "allowed_policies"))
    globs = token_role_globs(role)
    why = ""
    if globs and isinstance(known, str):
        why = f"its allowed_policies_glob {', '.join(globs)} could not be matched to the vault's policies ({known})"
    elif globs:
        allowed |= {n for n in known if any(_name_glob(g).fullmatch(n) for g in globs)}
    denied = set(_role_list(role, "disallowed_policies"))
    denied_globs = [_name_glob(g) for g in _role_list(role, "disallowed_policies_glob")]
    return sorted(p for p in allowed - denied - {"root"} if not any(g.fullmatch(p) for g in denied_globs)), why


def _shown(path: str) -> str:
    """A path asked, as a policy names it: the probe's name as the glob it stands for."""
    return path.replace(PROBE, "*")


def _listed(items: Sequence[str], joint: str = " and ") -> str:
    more = len(items) - _MOST_SHOWN
    return joint.join(items[:_MOST_SHOWN]) + (f" ({more} more)" if more > 0 else "")


def _escalations(facts: "VaultFacts", pols: str) -> Iterator[Finding]:
    """The routes to any policy open to the unprivileged identity, on every path asked (the probes and the named
    paths of its policies and of the vault's roles, users and groups): each leads to tokens of any policy, sudo on
    sys/audit/* among them."""
    caps, auth_types = facts.capabilities, facts.auth_types

    def can(path: str, *wanted: str) -> list[str]:
        return sorted(set(caps.get(path, ())) & {"root", *wanted})

    who = f"An identity with only the policies [{pols}] holds"
    asked = sorted(caps)
    pairs, roles, paired = [], [], set()
    for path in asked:
        m = _TOKEN_ROLE.fullmatch(path)
        make = f"auth/token/create/{m.group(1)}" if m else ""
        if m and can(path, *_WRITE) and can(make, *_WRITE):
            pairs.append(f"{', '.join(can(path, *_WRITE))} on {_shown(path)} and {', '.join(can(make, *_WRITE))} on "
                         f"{_shown(make)}")
            roles.append(_shown(path))
            paired.add(m.group(1))
    if pairs:
        yield Finding(ID, "", f"{who} {_listed(pairs, '; ')}: it can define a token role (or rewrite that one) whose "
                      "allowed_policies are any policy, then make a token of that role (sudo on sys/audit/* among "
                      "them: switch auditing off).",
                      f"remove write capabilities on {_listed(roles, ', ')} from the policies {pols}")
    yield from _token_role_uses(facts, who, pols, paired)
    for rx, what in ((_IDENTITY, "give an entity (its own, once it logs in through an auth method) any policy, "
                      "directly or through a group"),
                     (_ALIAS, "tie a login of its own (or an external group) to an entity or group that holds other "
                      "policies, and log in with them")):
        hits = [p for p in asked if rx.fullmatch(p) and can(p, *_WRITE)]
        if hits:  # (one finding for each kind of route)
            held = [", ".join(can(p, *_WRITE)) + " on " + _shown(p) for p in hits]
            yield Finding(ID, "", f"{who} {_listed(held)}: it can {what} (sudo on sys/audit/* among them).",
                          f"remove write capabilities on {_listed([_shown(p) for p in hits], ', ')} from the policies "
                          f"{pols}")
    for mount, kind in sorted(auth_types.items()):
        for where in AUTH_OBJECTS.get(kind, ()):
            rx = _template(mount + where)
            for path in (p for p in asked if rx.fullmatch(p) and can(p, *_WRITE)):
                yield Finding(ID, "", f"{who} {', '.join(can(path, *_WRITE))} on {_shown(path)}: it can write an entry "
                              f"of the {kind} auth method at {mount}, or its policies, so that its logins carry any "
                              "policy it names (token_policies; sudo on sys/audit/* among them), and log in with it.",
                              f"remove write capabilities on {_shown(path)} from the policies {pols}")
        for where, use in AUTH_USES.get(kind, ()):
            rx = _template(mount + where)
            for path in (p for p in asked if can(p, *_WRITE)):
                m = rx.fullmatch(path)
                if m is None:
                    continue
                if m.groups() and PROBE not in m.group(1) and where in _NAMED_USES:
                    yield from _named_use(facts, who, pols, path, mount + where[:where.index("{}")] + m.group(1),
                                          _NAMED_USES[where].replace("{}", m.group(1)))
                    continue
                yield Finding(ID, "", f"{who} {', '.join(can(path, *_WRITE))} on {_shown(path)}: it can {use} (whose "
                              "logins may carry any policy, sudo on sys/audit/* among them).",
                              f"remove write capabilities on {_shown(path)} from the policies {pols} (grant each "
                              "identity its own entry by an ACL template instead)")
    globs = [p for p in _TUNES if can(p, "update")]  # every mount of its kind: named once, as the glob
    tuned = [_shown(p) for p in globs] + [
        p for p in asked if _TUNE.fullmatch(p) and PROBE not in p and can(p, "update")
        and not any(p.startswith(g.split(PROBE)[0]) for g in globs)]
    if tuned:
        yield Finding(ID, "", f"{who} update on {_listed(tuned, ', ')}: it can tune a mount to log any request or "
                      "response key without HMAC (audit_non_hmac_request_keys / _response_keys), and every audit "
                      "device then writes the values sent or returned under those keys in clear (a KV mount's "
                      "secrets among them).",
                      f"remove update on sys/mounts/*/tune and sys/auth/*/tune from the policies {pols}")
    headers = [p for p in asked if _HEADER.fullmatch(p) and (can(p, "root") or (
        "sudo" in caps[p] and can(p, *_WRITE)))]
    if headers:
        which = "any request header" if _HEADERS in headers else "those request headers"
        yield Finding(ID, "", f"{who} {', '.join(can(headers[0], 'sudo', *_WRITE))} on "
                      f"{_listed([_shown(p) for p in headers], ', ')}: it can have every audit device write {which} "
                      "in clear (hmac = false), an API key or a session cookie sent in one among them.",
                      f"remove sudo and write capabilities on {_listed([_shown(p) for p in headers], ', ')} from the "
                      f"policies {pols}")
    raws = [p for p in asked if _RAW.fullmatch(p) and can(p, "read", "list", "create", "update", "delete", "sudo")]
    if raws:  # (the endpoint exists only with raw_storage_endpoint = true; sudo is what it asks for)
        raw = can(raws[0], "read", "list", "create", "update", "delete", "sudo")
        yield Finding(ID, "", f"{who} {', '.join(raw)} on {_listed([_shown(p) for p in raws], ', ')}: with "
                      "raw_storage_endpoint = true it reads and writes the storage under every mount past the ACLs, "
                      "decrypted: every secret in clear, and the policies and the audit table themselves "
                      "(sys/raw/sys/policy/..., sys/raw/core/audit).",
                      f"remove every capability on sys/raw/* from the policies {pols} (and set raw_storage_endpoint "
                      "= false unless a recovery needs it)")
    enables = [p for p in asked if _AUTH_ENABLE.fullmatch(p) and (can(p, "root") or (
        "sudo" in caps[p] and can(p, *_WRITE)))]
    if enables:
        yield Finding(ID, "", f"{who} {', '.join(can(enables[0], 'sudo', *_WRITE))} on "
                      f"{_listed([_shown(p) for p in enables], ', ')}: it can enable an auth method of its own, whose "
                      "logins carry whatever policies it sets (sudo on sys/audit/* among them).",
                      f"remove sudo and write capabilities on {_listed([_shown(p) for p in enables], ', ')} from the "
                      f"policies {pols}")


def _token_role_uses(facts: "VaultFacts", who: str, pols: str, paired: set[str]) -> Iterator[Finding]:
    """Tokens of an existing token role the identity may make (auth/token/create/<role>; a role it may also write
    is a pair, ``paired``, found already): each named role is judged by the policies its tokens may carry (red team
    rt79 F1), a glob (auth/token/create/*) by every role the audit token listed, and fails when they could not all
    be listed."""
    caps = facts.capabilities
    for path in sorted(caps):
        m = _TOKEN_CREATE.fullmatch(path)
        if m and PROBE not in m.group(1) and m.group(1) not in paired and set(caps[path]) & {"root", *_WRITE}:
            yield from _named_use(facts, who, pols, path, f"{TOKEN_ROLES}/{m.group(1)}",
                                  f"make tokens of the token role {m.group(1)}, which carry the policies the role "
                                  "allows (allowed_policies, allowed_policies_glob) whatever their maker holds")
    glob = f"auth/token/create/{PROBE}"
    bad = ", ".join(sorted(set(caps.get(glob, ())) & {"root", *_WRITE}))
    unlisted = str((facts.use_objects.get(TOKEN_ROLES) or {}).get("error") or "")
    cut = [c for c in facts.names_cut if c.startswith(f"{TOKEN_ROLES}:")]
    if bad and PROBE not in paired and (unlisted or cut):
        why = (f"the token roles could not be listed ({unlisted})" if unlisted else
               f"the audit token listed more token roles than the run asks about ({cut[0]}), and the rest were not "
               "read")
        yield Finding(ID, "", f"{who} {bad} on {_shown(glob)}: it can make tokens of every token role, which carry any "
                      f"policy the role allows; {why}, so whether one of them could switch auditing off was not "
                      "judged.",
                      f"grant auth/token/create/<role> for the roles the identity needs instead of a glob, or give "
                      f"the audit token list on {TOKEN_ROLES} and read on {TOKEN_ROLES}/* "
                      "(examples/auditready-policy.hcl)")


def _named_use(facts: "VaultFacts", who: str, pols: str, path: str, entry: str, how: str) -> Iterator[Finding]:
    """A SecretID or password of one named entry (``entry``: auth/<mount>/role/<name>), or a token of one token role
    (auth/token/roles/<name>), the identity may make: a login or token with the entry's policies
    (``VaultFacts.use_objects``, as the audit token read them), an escalation when one of them it does not hold
    already grants update, delete or sudo on an audit device (or is root)."""
    bad = ", ".join(sorted(set(facts.capabilities.get(path, ())) & {"root", *_WRITE}))
    seen = facts.use_objects.get(entry) or {"error": f"{entry} was not read"}
    power, unread = _audit_power([str(p) for p in seen.get("policies", ())], facts)
    whys = dict(seen.get("unread") or {})
    unread = [f"{p} ({whys[p]})" if p in whys else p for p in unread]
    role = entry.startswith(f"{TOKEN_ROLES}/")
    if power:
        yield Finding(ID, "", f"{who} {bad} on {path}: it can {how}{'; those' if role else ', whose'} policies hold "
                      f"{_listed(power, '; ')}: switch auditing off.",
                      f"remove write capabilities on {path} from the policies {pols}, or take those "
                      + (f"policies out of the role's allowed_policies (bao write {entry} allowed_policies=...)" if role
                         else f"capabilities out of {entry}'s policies"))
    elif seen.get("error") or unread:
        why = "; ".join(w for w in (str(seen.get("error") or ""), "its policies " + ", ".join(unread) + " could not "
                                    "be read" if unread else "") if w)
        yield Finding(ID, "", f"{who} {bad} on {path}: it can {how}; what {'such a token' if role else 'that login'} "
                      f"may do could not be told ({why}), so whether it could switch auditing off was not judged.",
                      f"give the audit token read on {entry.rsplit('/', 1)[0]}/* and sys/policies/acl/*"
                      + (" and list on sys/policies/acl" if role else "") + " (examples/auditready-policy.hcl), or "
                      f"remove write capabilities on {path} from the policies {pols}")


def _audit_power(policies: Sequence[str], facts: "VaultFacts") -> tuple[list[str], list[str]]:
    """What ``policies`` (an entry's, as its logins get them) grant on the audit devices beyond the identity's own
    (judged as asked): each path pattern of their texts (``VaultFacts.policy_grants``) with update, delete or sudo
    that matches sys/audit/<device>; and the policies whose text was not read. Their own routes to further policies
    are not followed."""
    from .access_policy import vault_glob

    devices = [f"sys/audit/{d}" for d in facts.devices] or [f"sys/audit/{PROBE}"]
    power: list[str] = []
    unread: list[str] = []
    for name in policies:
        if name in facts.unprivileged_policies or name == "default":
            continue
        if name == "root":
            power.append("every capability (the root policy)")
            continue
        grants = facts.policy_grants.get(name)
        if grants is None:
            unread.append(name)
            continue
        for pattern, caps in grants:
            bad = sorted(set(caps) & _DANGEROUS)
            if bad and "deny" not in caps and "{{" not in pattern and any(
                    vault_glob(str(pattern)).match(d) for d in devices):
                power.append(f"{', '.join(bad)} on {pattern} (policy {name})")
    return power, unread


def templated(facts: "VaultFacts") -> tuple[list[str], list[str]]:
    """The paths of the identity's policies templated on the requester ({{identity...}}) that lie on an escalation
    route with a capability beyond reading, which the vault cannot be asked about (the run's unprivileged token has
    no entity, so they resolve to nothing for it): (those that use one's own entry, a SecretID or password of one's
    own: no other policy; those that write one's own entry, an entity, a group, a role or user and its policies: any
    policy), each "capabilities on pattern (policy)"."""
    uses: list[str] = []
    writes: list[str] = []
    grants = [(name, str(pattern), caps) for name in facts.unprivileged_policies
              for pattern, caps in facts.policy_grants.get(name, ())]
    makes = {pattern for _n, pattern, caps in grants if set(caps) & {"root", *_WRITE}}
    for name, pattern, caps in grants:
        bad = sorted(set(caps) & _DANGEROUS)
        path = concrete(re.sub(r"\{\{.*?\}\}", PROBE, pattern))
        if "{{" not in pattern or not bad or not (_routed(path, facts.auth_types) or _OWN.fullmatch(path)):
            continue
        if pattern.startswith("auth/token/create/") or (  # a token role of one's own is a route with its tokens only
                pattern.startswith("auth/token/roles/") and pattern.replace("/roles/", "/create/", 1) not in makes):
            continue
        use = any(_template(m + where).fullmatch(path) for m, kind in facts.auth_types.items()
                  for where in _NAMED_USES if where in dict(AUTH_USES.get(kind, ())))
        (uses if use else writes).append(f"{', '.join(bad)} on {pattern} ({name})")
    return uses, writes


# -- the secrets of KV mounts (red team rt76 F2) --------------------------------------------------------------------

def _mount_rest(segments: Sequence[str], mount: str) -> Optional[list[str]]:
    """The segments of a policy path (``segments``) past the KV ``mount`` ("team/kv/") when the path's first ones
    name it, each equal to the mount's or a ``+`` (one segment, as the vault matches it); None when they name
    another place, end within the mount, or end in a glob (``*``) within it: a glob over the whole mount, which its
    probe judges."""
    names = mount.strip("/").split("/")
    if len(segments) <= len(names):
        return None
    for seg, name in zip(segments, names):
        if seg != "+" and seg != name:
            return None
    return list(segments[len(names):])


def kv_places(pattern: str, kv_mounts: Mapping[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Where a policy path lies in KV mounts' secrets (``kv_mounts``: "secret/" -> version "1" or "2"), matched to
    each mount segment by segment (a ``+`` in the mount's part names every mount of that depth: "+/data/x/*", "team/
    +/data/x/*", red team rt79 F2): for each, (the mount, the path asked for it, the capabilities there that open
    secrets: read of a version 2 mount's data/, list of its metadata/, both through a ``+`` in their place; either on
    a version 1 mount). Nothing for a path elsewhere (a mount's config, another mount), or templated."""
    path = str(pattern).strip().lstrip("/")
    if "{{" in path:
        return []
    segments = path.split("/")
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for mount in sorted(kv_mounts):
        rest = _mount_rest(segments, mount)
        if rest is None:
            continue
        if kv_mounts[mount] != "2":  # no data/ nor metadata/: the path is the secret's
            if rest != [""]:
                out.append((mount, concrete(mount + "/".join(rest)), ("read", "list")))
            continue
        head, tail = rest[0], "/".join(rest[1:])
        if head in ("data", "+") and tail:
            out.append((mount, concrete(f"{mount}data/{tail}"), ("read",)))
        if head in ("metadata", "+") and (len(rest) > 1 or head == "metadata"):
            out.append((mount, concrete(f"{mount}metadata" + (f"/{tail}" if len(rest) > 1 else "")), ("list",)))
    return out


# A second name for a KV mount's probe, of another first character: a grant over a name's start (kv/data/audit*,
# kv/data/a*) lets the first probe through and not this one, so only a grant over every name passes both (red team
# rt95, F2: `kv/data/audit*` was reported as reading every secret of the mount)
_OTHER_PROBE = "~auditready-probe"


def _mount_probes(mount: str, version: str) -> list[tuple[str, str]]:
    """(path, capability) asked on a KV mount's probes (two names, ``_OTHER_PROBE``): reading any secret of it,
    listing any folder's names."""
    out: list[tuple[str, str]] = []
    for name in (PROBE, _OTHER_PROBE):
        if version == "2":
            out += [(f"{mount}data/{name}", "read"), (f"{mount}metadata/{name}", "list")]
        else:
            out += [(f"{mount}{name}", "read"), (f"{mount}{name}", "list")]
    return out


def kv_probes(kv_mounts: Mapping[str, str], default_grants: Iterable[Sequence[Any]] = ()) -> list[str]:
    """The paths asked of the unprivileged identity for the KV mounts: each mount's probe (a glob over the mount),
    and each path of the vault's default policy (``default_grants``: [pattern, capabilities]) that reads or lists
    a KV mount's secrets, as its own name."""
    out = [p for m, v in sorted(kv_mounts.items()) for p, _ in _mount_probes(m, v)]
    for pattern, caps in default_grants:
        out += [path for _m, path, opening in kv_places(str(pattern), kv_mounts)
                if set(caps) & set(opening) and "deny" not in caps]
    return list(dict.fromkeys(out))


def _kv_reads(facts: "VaultFacts", pols: str) -> Iterator[Union[Finding, Note]]:
    """Secrets every token carrying the unprivileged identity's policies can read: a whole KV mount (its probe,
    whichever policy grants it); and, of the vault's default policy, which every token carries (cubbyhole is each
    token's own and no KV mount), any path that reads or lists a KV mount's secrets (another policy of the identity
    reading its own paths is that policy's purpose, and not judged). Listing a whole mount's names without reading
    them is a note, unless the default policy grants it: ordinary users' policies commonly grant it for the UI."""
    caps = facts.capabilities
    whole: set[str] = set()
    for mount, version in sorted(facts.kv_mounts.items()):
        probes: dict[str, list[str]] = {}  # capability -> the probes' paths asked for it
        for p, c in _mount_probes(mount, version):
            probes.setdefault(c, []).append(p)
        # held over the whole mount: granted on both probes' names
        held = [(ps[0], c) for c, ps in probes.items() if all(c in caps.get(p, ()) for p in ps)]
        what = " and ".join(f"{c} on {_shown(p)}" for p, c in held)
        if held and "read" not in dict(held).values():  # names only: the default policy's grant is judged below
            yield Note("", f"An identity with only the policies [{pols}] holds {what}: it can list every secret's "
                       f"name (not value) in the KV mount {mount}, as a UI grant does; make sure no name carries a "
                       "secret or personal data.")
        elif held:
            whole.add(mount)
            yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {what}: every token that carries "
                          f"them can read every secret of the KV mount {mount} (the vault answered so for its probe).",
                          f"remove the grants over {mount} from the policies {pols}: give each application its own "
                          f"paths ({mount}{'data/' if version == '2' else ''}<app>/*) in a policy of its own")
    if "default" not in facts.unprivileged_policies:
        return
    for pattern, granted in facts.policy_grants.get("default", ()):
        if "deny" in granted:
            continue
        answers: dict[str, list[tuple[str, str]]] = {}  # mount -> (capability, path asked) the vault granted
        for mount, probe, opening in kv_places(str(pattern), facts.kv_mounts):
            if mount not in whole:
                answers.setdefault(mount, []).extend(
                    (c, probe) for c in sorted(set(caps.get(probe, ())) & set(opening) & set(granted)))
        for mount, held in sorted(answers.items()):
            if not held:
                continue
            held_caps = sorted({c for c, _p in held})
            asked = "; ".join(f"{c} for {p}" for c, p in held)
            yield Finding(ID, "", f"The default policy, which the vault attaches to every token, grants "
                          f"{', '.join(held_caps)} on {pattern} (secrets of the KV mount {mount}; the vault answered "
                          f"{asked} as the unprivileged identity): every token the vault issues can "
                          f"{' and '.join(held_caps)} them.",
                          f"move path \"{pattern}\" out of the default policy, into the policy of the identities that "
                          "need it")


def _listener_findings(ctx: CheckContext) -> Iterator[Finding]:
    """The user's vault configuration (vault_config) read for listeners that let every client write the source
    address the log records (the throw-away server replaces its listeners, so no request of the run shows it), and
    for audit devices the API may enable, change and disable."""
    if not ctx.settings.vault_config or ctx.ledger is None:  # (offline, the logs are judged, not a configuration)
        return
    from ..errors import AuditReadyError
    from ..vault.config import load_vault_config

    try:
        cfg = load_vault_config(ctx.settings.vault_config)
    except AuditReadyError:
        return  # the run would not have started: said there
    for where in cfg.api_audit:
        yield Finding(ID, "", f"unsafe_allow_api_audit_creation = true at {where} lets whoever holds sudo on "
                      "sys/audit/* enable, change and disable audit devices through the API: point the trail at a "
                      "file or socket of their choosing, log raw values, or switch a device off (OpenBao's "
                      "declarative audit devices RFC, after CVE-2025-54997: API-driven audit device creation is "
                      "fundamentally unsafe).", "remove unsafe_allow_api_audit_creation and declare every audit "
                      "device in the server configuration (audit stanzas)", where=where)
    for where, what in cfg.forgeable:
        yield Finding(ID, "", f"The listener at {where} {what}: any client can then set the address the audit log "
                      "records as the request's source (remote_address), so the log's 'from where' is no evidence "
                      "(PCI DSS 10.2.2).", "trust X-Forwarded-For (or the PROXY header) only from the addresses of "
                      "your load balancers (x_forwarded_for_authorized_addrs, proxy_protocol_authorized_addrs with "
                      "proxy_protocol_behavior = \"allow_authorized\") and set "
                      "x_forwarded_for_reject_not_authorized = true", where=where)


def _plain_http(uri: str) -> bool:
    """Whether an http audit device's ``uri`` sends over plain HTTP to another host (a loopback address stays on
    the host)."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri.strip())
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme.lower() != "http" or not host:
        return False  # https, or no URI the vault would take
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower().rstrip(".") not in ("localhost", "localhost.localdomain") and not host.lower().rstrip(
            ".").endswith(".localhost")


def _off_host(address: str) -> bool:
    """Whether a socket device's ``address`` (host:port, [v6]:port) names another host than this one: no loopback
    address (an IPv4-mapped one too), nor the unspecified address (Go dials 0.0.0.0 and :: on this host), nor
    "localhost" (red team rt95, F6)."""
    import ipaddress

    host = address.strip()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    host = host.lower().rstrip(".")
    if not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: another host unless it is localhost
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return not ((mapped or ip).is_loopback or (mapped or ip).is_unspecified)  # ([::ffff:0.0.0.0] is 0.0.0.0)


def _probe_findings(ledger: AccessLedger, pols: str) -> Iterator[Finding]:
    """The unprivileged identity's two probes of the audit devices: a 2xx is a power it holds; only the vault's
    403 shows it does not. A probe that is missing (taken out of the run) or got any other answer (no answer, a
    5xx, a rate limit) judged nothing, and says so instead of passing."""
    probes = (("list-audit-devices", "list the audit devices (GET sys/audit)", "remove read/sudo on sys/audit"),
              ("disable-audit-attempt", "disable an audit device (DELETE sys/audit/<device>)",
               "remove update/delete/sudo on sys/audit/*"))
    for name, what, remedy in probes:
        action = ledger.by_name(name)
        if action is None:
            yield Finding(ID, "", f"The run did not try to {what} as the identity with only the policies [{pols}] "
                          f"(its action {name} is not in the run), so whether it can was not judged.",
                          "run the audit without hooks or options that take built-in actions out")
        elif 200 <= action.status < 300:
            detail = ("; the path did not exist, so nothing was switched off" if name == "disable-audit-attempt"
                      else "")
            yield Finding(ID, "", f"An identity with only the policies [{pols}] can {what} (answered "
                          f"{action.status}{detail}).", f"{remedy} from those policies",
                          request_id=action.request_id)
        elif action.status != 403:
            answer = f"answered {action.status}" if action.status else "got no answer"
            yield Finding(ID, "", f"The attempt to {what} as the identity with only the policies [{pols}] {answer}"
                          f"{': ' + action.error if action.error else ''}; only the vault's 403 shows it cannot, so "
                          "this was not judged.", "run the audit again when the vault answers (a rate limit quota "
                          "must exempt the audit's client)", request_id=action.request_id)


def _transport_findings(ctx: CheckContext) -> Iterator[Finding]:
    """Each http device that posts its entries over plain HTTP to another host, and each socket device that sends
    them over TCP or UDP to another host (the socket device has no TLS), as the configuration declared it (the
    throw-away server sends to a receiver of its own: ``PRODUCTION_URI_MARK``, ``PRODUCTION_ADDRESS_MARK``) or as a
    URL target lists it."""
    if ctx.facts is None:
        return
    from ..vault.config import (
        PRODUCTION_ADDRESS_MARK,
        PRODUCTION_SOCKET_MARK,
        PRODUCTION_URI_MARK,
        uri_origin,
        uri_reference,
    )

    for path, dev in sorted(ctx.facts.devices.items()):
        origin = dev.get("origin", {})
        kind = origin.get(PRODUCTION_TYPE_MARK) or dev.get("type")
        if kind == "socket":
            address = str(origin.get(PRODUCTION_ADDRESS_MARK) or dev.get("options", {}).get("address", ""))
            how = str(origin.get(PRODUCTION_SOCKET_MARK) or dev.get("options", {}).get("socket_type", "")
                      or "tcp").strip().lower()
            if how.startswith(("tcp", "udp")) and _off_host(address):
                yield Finding(ID, "", f"Audit device {path!r} sends its entries to {address} over {how.upper()} in "
                              "clear (the socket device has no TLS): anyone on the network path can read them "
                              "(paths, identities, addresses, whatever a mount logs in clear) and change or drop "
                              "them on the way.",
                              f"point device {path!r} at a collector on this host (a loopback or unix socket) that "
                              "forwards over TLS (rsyslog's omfwd with StreamDriver gtls), or keep a file device",
                              where=_origin(ctx, path, "address"))
            continue
        if kind != "http":
            continue
        uri = str(origin.get(PRODUCTION_URI_MARK) or dev.get("options", {}).get("uri", ""))
        ref = uri_reference(uri)
        if ref is not None:  # resolved on the vault's host, in its environment or files: unknown here
            yield Finding(ID, "", f"Audit device {path!r} takes its uri from {ref}, which OpenBao resolves on the "
                          "vault's host when the device starts: where it posts its entries, and whether over plain "
                          "HTTP to another host, the run cannot tell.",
                          f"write device {path!r}'s https:// uri in its stanza (a credential belongs in its headers, "
                          "which may come from env://); or, having checked the value the vault's host holds is an "
                          "https:// uri, accept this finding in a baseline", where=_origin(ctx, path, "uri"))
            continue
        if _plain_http(uri):
            yield Finding(ID, "", f"Audit device {path!r} posts its entries to {uri_origin(uri)} over plain HTTP: "
                          "anyone on the network path can read them (paths, identities, addresses, whatever a mount "
                          "logs in clear) and change or drop them on the way, and nothing at the collector shows it.",
                          f"give device {path!r} an https:// uri (OpenBao's http device docs: use HTTPS for all "
                          "production use cases)", where=_origin(ctx, path, "uri"))


def narrowed(ctx: CheckContext) -> str:
    """What a log_max_mode above the default lets read, for the pass to say (red team rt75 F3); "" at the default,
    and where no file's mode is judged (no log file here, no file device)."""
    from ..config import Settings, narrows

    settings = ctx.settings
    devices = ctx.facts.devices.values() if ctx.facts is not None else ()
    if not narrows(settings, "log_max_mode") or (ctx.log_file is None and all(d.get("type") != "file"
                                                                             for d in devices)):
        return ""
    mode, default = settings.log_max_mode, Settings.log_max_mode
    extra = int(mode, 8) & ~int(default, 8) & 0o044
    who = {0o040: "a log-reader group", 0o004: "every user (others)"}.get(
        extra, "the file's group and every user (others)")
    return (f"Narrowed by settings: log mode up to {mode} allowed (log_max_mode = \"{mode}\" "
            f"{settings.set_in('log_max_mode')}; default {default}): {who} may read it; this pass is no evidence "
            "that only the vault can read the log.")


def _no_file(path: str) -> str:
    """Why nothing was judged offline without a local file: for an object, what its store's protection is and
    where to check it (red team rt81 F6: a world-readable bucket is no finding here, and the skip must say so)."""
    from ..engine.objects import is_url, store_of

    if not is_url(path):
        return "no local log file and no vault to ask"
    tools = {"s3": "aws s3api get-bucket-policy-status, get-public-access-block, get-object-lock-configuration "
                   "and get-bucket-versioning",
             "gs": "gcloud storage buckets describe (IAM, public access prevention, retention policy, versioning)",
             "az": "az storage container show and az storage container immutability-policy show"}
    return (f"the log is an object in a store ({path.split('://', 1)[0].lower()}://), not a local file: its bucket's "
            "or container's policy, ACLs, public access, Object Lock or immutability policy and versioning are not "
            "judged here (a world-readable bucket is no finding); check them with the store's own tools "
            f"({tools[store_of(path)]})")


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    said = narrowed(ctx)
    if said:  # first: a report that shows a pass's notes cut short keeps it
        yield Note("", said)
    facts = ctx.facts
    if facts is not None and ctx.ledger is not None and ctx.settings.unprivileged_no_default_policy \
            and "default" not in facts.unprivileged_policies:  # rt74 F2
        yield Note("", "Narrowed by settings: the unprivileged identity was made without the vault's default policy "
                   f"(unprivileged_no_default_policy = true {ctx.settings.set_in('unprivileged_no_default_policy')}): "
                   "what that policy grants was not judged, here or by denied_access_logged. The vault attaches it "
                   "to every token whose role or request does not set token_no_default_policy.")
    yield from _file_findings(ctx)
    yield from _seal_file_findings(ctx)
    yield from _listener_findings(ctx)
    yield from _device_file_findings(ctx)
    yield from _transport_findings(ctx)
    device = str(facts.device or "") if facts is not None else ""
    if facts is not None and facts.devices.get(device, {}).get("origin", {}).get(PRODUCTION_TYPE_MARK) == "syslog":
        yield Note("", f"The log file judged is the throw-away server's stand-in for the syslog device "
                   f"{device!r} (written 0600 by auditready, as a file device): the file your syslog daemon "
                   "writes (its mode, owner and folder; rsyslog creates files 0644 unless told otherwise) and the "
                   "hop's message size limit are not judged here. Verify that file where it is kept (auditready "
                   "verify FILE; a cut entry names the limit).")
    if facts is None or ctx.ledger is None:
        if ctx.log_file is None:
            yield Skip("", _no_file(ctx.log_path or ""))
        return
    files = sorted(p for p, d in facts.devices.items() if d.get("type") == "file")
    if ctx.log_file is None and files:  # read through a command or a socket: the file itself was not looked at
        yield Note("", f"The log was not read from a file here, so the audit file of device(s) {', '.join(files)} "
                   "was judged by the device's options only: its mode as it is now, its owner and the folders up to "
                   "/ were not. Judge them where the file is kept: pytest --auditready with --auditready-log FILE on "
                   "that host, or auditready verify FILE.")
    if "root" in facts.token_policies and not ctx.settings.embedded:
        yield Note("", "The audit ran with a root token (policy root), which holds every power on the vault: more "
                   "than it needs (examples/auditready-policy.hcl grants all it needs). Least privilege (PCI DSS "
                   "7.2) asks for a token of that policy.")
    pols = ", ".join(facts.unprivileged_policies) or "none"
    yield from _probe_findings(ctx.ledger, pols)
    if facts.capabilities_error:
        yield Finding(ID, "", f"Could not ask sys/capabilities-self as the unprivileged identity "
                      f"({facts.capabilities_error}).", "let the default policy keep sys/capabilities-self, or give "
                      "the audit token update on sys/capabilities-accessor (it then asks for the identity)")
    if facts.policies_error:
        yield Finding(ID, "", f"The policies the unprivileged identity holds could not be read with the audit token "
                      f"({facts.policies_error}), so a grant they make under a real name (a token role, an AppRole "
                      "role, a user, an identity group: a way to tokens of any policy; a KV path of the default "
                      "policy) cannot be ruled out: only globs were asked.",
                      "give the audit token read on sys/policies/acl/* (examples/auditready-policy.hcl has it)")
    yield from _escalations(facts, pols)
    yield from _kv_reads(facts, pols)
    own_uses, own_writes = templated(facts)
    if own_writes:
        yield Finding(ID, "", f"The policies [{pols}] grant {_listed(own_writes, '; ')}: paths templated on the "
                      "requester's identity ({{identity...}}), which the vault fills in with each user's own entity, "
                      "group, role or user, so that each user may write their own entry and its policies, and give "
                      "themselves any policy (sudo on sys/audit/* among them). The run's token has no entity to ask "
                      "the vault with: judged from the policies' text.",
                      "grant no more than read on templated paths of entries that carry policies (identity entities "
                      "and groups, an auth method's roles and users); a user's own password (users/<template>/password)"
                      " gives no other policy")
    if own_uses:
        yield Note("", f"The policies [{pols}] grant {_listed(own_uses, '; ')}: paths templated on the requester's "
                   "identity ({{identity...}}), which the vault fills in with each user's own names. The run's "
                   "unprivileged token has no entity, so they grant it nothing and were not asked; for a user they "
                   "name a credential of that user's own entry (their own password), which gives no other policy.")
    if facts.names_cut:
        yield Note("", f"The audit token listed more names than the run asks about ({', '.join(facts.names_cut)}): "
                   "the first ones were asked by name; the rest are judged through the policies' own paths.")
    held = set(facts.unprivileged_policies)
    for path, caps in sorted(facts.capabilities.items()):
        if PROBE in path or _routed(path, facts.auth_types) or kv_places(path, facts.kv_mounts):
            continue  # (judged by _escalations and _kv_reads)
        if path.startswith(("sys/policies/acl/", "sys/policy/")):
            bad = sorted(set(caps) & _DANGEROUS)
            name = path.rsplit("/", 1)[-1]
            what = ("a policy it holds, and so give itself" if name in held else f"the policy {name}, and so give "
                    "the tokens, roles, users and groups that carry it (any it can get among them)")
            if bad:
                yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {', '.join(bad)} on {path}: "
                              f"it can rewrite {what} update, delete or sudo on sys/audit/* (switch auditing off).",
                              f"remove write capabilities on {path.rsplit('/', 1)[0]}/* from the policies {pols}")
            continue
        if path.startswith("sys/audit-hash/"):  # red team rt102 F3
            bad = sorted(set(caps) & {"update", "root"})
            if bad:
                device = path[len("sys/audit-hash/"):]
                yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {', '.join(bad)} on {path}: "
                              f"it can have audit device {device!r} compute its HMAC of any value it guesses, and so "
                              "confirm a guessed password, PIN or token behind any HMAC the log holds (a dictionary "
                              "attack on the log with the device's own key, by anyone who reads the log).",
                              f"remove update on sys/audit-hash/* (and on {path}) from the policies {pols}: only the "
                              "audit token, an auditor's, needs it")
            continue
        if path in ("auth/token/create", "auth/token/create-orphan"):
            bad = sorted(set(caps) & {"sudo", "root"})
            if bad:
                yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {', '.join(bad)} on {path}: "
                              "it can make tokens with policies it does not hold (sudo on sys/audit/* among them).",
                              f"remove sudo on {path} from the policies {pols}")
            continue
        # listing the devices (GET sys/audit) needs sudo as well as read: read or list alone opens nothing there
        bad = sorted(set(caps) & (_DANGEROUS | ({"read", "list"} if path == "sys/audit" and "sudo" in caps
                                                else set())))
        if bad:
            yield Finding(ID, "", f"An identity with only the policies [{pols}] holds {', '.join(bad)} on {path}.",
                          f"remove those capabilities on {path} from the policies {pols}")
    if facts.devices_error:
        yield Finding(ID, "", f"The audit devices could not be listed with the audit token ({facts.devices_error}), "
                      "so log_raw cannot be ruled out.", "give the audit token sudo+read on sys/audit")
    for path, dev in sorted(facts.devices.items()):
        opts = dev.get("options", {})
        if option_true(opts.get("log_raw", "")):
            yield Finding(ID, "", f"Audit device {path!r} logs raw values (log_raw={opts['log_raw']}): every "
                          "secret it sees is written in clear text.", f"re-create device {path!r} without log_raw",
                          where=_origin(ctx, path, "log_raw"))
        if option_false(opts.get("hmac_accessor", "")):
            yield Finding(ID, "", f"Audit device {path!r} logs token accessors in clear "
                          f"(hmac_accessor={opts['hmac_accessor']}): a log reader who holds the accessor endpoints "
                          "(auth/token/lookup-accessor, revoke-accessor: an operator's or a tool's token) can look up "
                          "and revoke any token the log names.",
                          f"re-create device {path!r} without "
                          "hmac_accessor=false", where=_origin(ctx, path, "hmac_accessor"))
    if facts.mounts_error:
        yield Finding(ID, "", f"The mounts could not be listed with the audit token ({facts.mounts_error}), so a "
                      "mount that logs keys without HMAC, or an auth method whose roles or users an ordinary "
                      "identity could write, cannot be ruled out.",
                      "give the audit token read on sys/mounts and sys/auth, and where the vault has namespaces list "
                      "on sys/namespaces and read on each namespace's sys/mounts and sys/auth "
                      "(examples/auditready-policy.hcl)")
    yield from _clear_keys(facts.non_hmac, facts.mount_types, facts.mount_places, facts.namespace,
                           getattr(facts, "kv_versions", {}))
    from ..vault.scenario import probed_headers

    probed = set(probed_headers(facts.audited_headers))
    clear = sorted(n for n, hmac in facts.audited_headers.items() if not hmac and n not in probed
                   and not n.startswith("x-vault-"))
    if clear:
        yield Note("", f"The vault audits the request header{'s' if len(clear) > 1 else ''} "
                   f"{', '.join(map(repr, clear))} without HMAC (sys/config/auditing/request-headers): every audit "
                   "device writes their values in clear. They do not name a credential; make sure no secret is ever "
                   "sent in them.")
    if not facts.devices and not facts.devices_error:
        yield Finding(ID, "", "The vault has no audit device enabled: it serves every request without recording "
                      "it.", "declare an audit \"file\" stanza in the server configuration and SIGHUP the server "
                      "(OpenBao), or enable a file audit device (Vault: vault audit enable file)")


def _tune_fix(mount: str, option: str, places: Mapping[str, Sequence[str]],
              run_namespace: str) -> tuple[str, str, str]:
    """Where ``mount``'s tuning is written, built from its namespace and its path there (``places``; never from its
    display name, "secret/ (namespace ns1/)"): (the endpoint and the CLI that sets ``option`` to the keys to keep,
    the CLI that clears it, the CLI tune command of its kind)."""
    place = places.get(mount)
    namespace, path = (str(place[0]), str(place[1])) if place is not None and len(place) == 2 else ("", mount)
    auth = path.startswith("auth/")
    endpoint = f"sys/{'auth/' + path[5:] if auth else 'mounts/' + path}tune"
    flag = f" -namespace={namespace}" if namespace else ""
    at = f"{namespace}/{endpoint}" if namespace else endpoint + (" in the root namespace" if run_namespace else "")
    tune = f"bao {'auth' if auth else 'secrets'} tune"
    keep = f"{at}: {tune}{flag} -{option.replace('_', '-')}=KEY {path[5:] if auth else path}, the flag once per key"
    return keep, f"bao write{flag} {endpoint} {option}=\"\"", tune


def _clear_keys(non_hmac: Mapping[str, Mapping[str, Sequence[str]]], types: Mapping[str, str],
                places: Optional[Mapping[str, Sequence[str]]] = None,
                run_namespace: str = "", versions: Optional[Mapping[str, str]] = None,
                ) -> Iterator[Union[Finding, Note]]:
    """The mounts tuned to log keys without HMAC: a finding where those keys hold secrets, a note elsewhere.
    ``places``: each mount's [namespace, path] (``VaultFacts.mount_places``), where its tuning is written.

    A key with no name ("", what ``bao secrets tune -audit-non-hmac-request-keys=`` leaves when it clears the list,
    or blanks, which OpenBao trims to it) is no secret's key: OpenBao's audit hashing spares the values whose own
    key equals one of the list (internal/audit/hashstructure.go), so it writes in clear only a value keyed "",
    which no_secret_leak finds at its line. It is told in a note, with the write that really clears the list.

    ``versions``: the KV mounts' versions (``VaultFacts.kv_versions``). A KV version 2 mount sends and returns a
    secret's fields in a map under ``data``, and the vault spares a value by its innermost key only (a map's values
    are judged by their own keys): listing ``data`` leaves those fields HMAC'd and writes in clear only a field that
    is itself named ``data`` (or a ``data`` sent as a plain value), which is said so (red team rt102 F4)."""
    for mount, kinds in sorted(non_hmac.items()):
        kind = types.get(mount, "")
        for which in ("request", "response"):
            listed = list(kinds.get(which, ()))
            keys = [k for k in listed if k.strip()]
            option = f"audit_non_hmac_{which}_keys"
            keep, clear, tune = _tune_fix(mount, option, places or {}, run_namespace)
            what = f"Mount {mount!r}{f' ({kind})' if kind else ''} is tuned to log the {which} keys"
            if len(keys) < len(listed):
                blank = [k for k in listed if not k.strip()]
                yield Note("", f"Mount {mount!r}{f' ({kind})' if kind else ''} lists a key with no name in {option} "
                           f"({', '.join(map(repr, blank))}: what {tune} -{option.replace('_', '-')}= leaves when it "
                           "clears the list): it names no key a value is commonly sent under, so every audit "
                           "device writes in clear only a value whose key is the empty string (no_secret_leak finds "
                           f"one at its line). To clear the list: {clear}.")
            if not keys:
                continue
            secret = ([k for k in keys if not IDENTITY_KEY.search(k)] if kind in _SECRET_MOUNT_TYPES
                      else [k for k in keys if _SECRET_KEY.search(k) and not _SETTING_KEY.search(k)])
            if secret:
                why = (f"on a {'cubbyhole' if kind.endswith('cubbyhole') else 'KV'} mount every value is a secret"
                       if kind in _SECRET_MOUNT_TYPES else "they hold secrets")
                wrapped = ([k for k in secret if k == "data"] if kind in ("kv", "generic")
                           and (versions or {}).get(mount) == "2" else [])
                plain = [k for k in secret if k not in wrapped]
                said = [f"every audit device writes the values of {', '.join(map(repr, plain))} in clear text"
                        ] if plain else []
                if wrapped:
                    said.append("on this KV version 2 mount 'data' is the map a secret's fields are written and read "
                                "in, and their values keep their HMAC under their own names (the vault spares a "
                                "value by its innermost key only), but every audit device writes in clear a field "
                                "that is itself named 'data' (bao kv put PATH data=VALUE) and a 'data' sent as a "
                                "plain value (a malformed write, refused after its request entry is written)")
                yield Finding(ID, "", f"{what} {', '.join(map(repr, keys))} without HMAC ({option}): "
                              f"{'; '.join(said)}, and {why}.",
                              f"take those keys out of {option} ({keep} to keep; none to keep: {clear}), and rotate "
                              "what was written under them")
            else:
                yield Note("", f"{what} {', '.join(map(repr, keys))} without HMAC ({option}): every audit device "
                           "writes their values in clear text. They do not name a secret; make sure no secret is "
                           "ever sent under them.")


CHECK = Check(
    id=ID,
    title="The log is protected",
    requirement="the audit file is not writable (and by default not readable) by group or others; the unprivileged "
    "identity cannot list audit devices and holds no update, delete or sudo on any sys/audit/<device> path, nor a "
    "way to give itself those, by glob or by name; it reads no whole KV mount, and the default policy every token "
    "holds reads no KV secret; no audit device logs raw values (log_raw)",
    run=run,
)
