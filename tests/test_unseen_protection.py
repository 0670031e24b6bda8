"""log_protection judges who else can change or replace the audit log, not only its mode bits: the file's owner
(root or the vault's own user: our process for the embedded target; for a URL target and offline the file's owner
is that evidence), every folder up to / (writable only by root and that user, unless sticky as /tmp is), a symbolic
link at the log's path (the file it leads to is judged, both are named), and POSIX ACLs, whose entries can grant
write although the mode bits look strict (the group bits then show the ACL mask).

Real files, real chmod/chown, real ACLs (setfacl when installed; else the system.posix_acl_access attribute written
with os.setxattr, in the format the kernel keeps), in a temporary folder tree.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import struct
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from pytest_auditready.auditlog.model import AccessLedger
from pytest_auditready.checks import log_protection
from pytest_auditready.checks.base import CheckContext, Finding, evaluate, stat_log
from pytest_auditready.config import Settings
from pytest_auditready.vault.scenario import VaultFacts
from tests.conftest import probed_ledger

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
STRANGER = 4242  # a uid no account has: an ordinary user, for the file system


def _log(folder: Path, name: str = "audit.log", mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b'{"time":"2026-01-05T08:00:00.1Z","type":"request"}\n')
    path.chmod(mode)
    return path


def _tree(tmp_path: Path) -> Path:
    """tmp_path/srv/openbao/audit.log: 0600 in 0700, its folders 0755, all ours (root-owned or ours up to /tmp)."""
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv").chmod(0o755)
    folder = tmp_path / "srv" / "openbao"
    folder.mkdir(mode=0o700)
    return _log(folder)


def _ctx(path: Path, live: Optional[str] = None, log_max_mode: str = "0600") -> CheckContext:
    """offline (no vault), or a live run's context for target ``live`` ("embedded" or a URL)."""
    settings = Settings(target=live or "embedded", log_max_mode=log_max_mode)
    if live is None:
        return CheckContext(settings=settings, ledger=None, entries=[], bad_lines=[], log_file=stat_log(str(path)))
    facts = VaultFacts(devices={"auditready": {"type": "file", "options": {"file_path": str(path)}}},
                       device="auditready")
    return CheckContext(settings=settings, ledger=AccessLedger("r", live), entries=[SimpleNamespace(request_id="p")],
                        bad_lines=[], facts=facts, log_file=stat_log(str(path)))


def _findings(ctx: CheckContext) -> list[str]:
    out = evaluate(log_protection.CHECK, ctx, [""])[""]
    return [f.message for f in out.findings]


def _file_findings(path: Path, **kw: Any) -> list[str]:
    """The findings about the file (the live contexts add none of their own: no capabilities were asked)."""
    return [m for m in _findings(_ctx(path, **kw)) if "sys/" not in m and "capabilities" not in m]


# -- a correct setup gives nothing --------------------------------------------------------------------------------

@pytest.mark.parametrize("live", [None, "embedded", "https://vault.example.internal:8200"])
def test_a_private_log_in_a_private_folder_passes(tmp_path: Path, live: Optional[str]) -> None:
    path = _tree(tmp_path)
    info = stat_log(str(path))
    assert info is not None and info.guards is not None
    # every folder up to / was read: /tmp (sticky, root's) among them
    assert {f.path for f in info.guards.folders} >= {str(path.parent), str(tmp_path), "/"}
    assert _file_findings(path, live=live) == []


# -- folders on the way ---------------------------------------------------------------------------------------------

def test_an_ancestor_anyone_can_write_is_found_two_levels_up(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    (tmp_path / "srv").chmod(0o777)
    found = _file_findings(path)
    assert len(found) == 1 and f"The folder {tmp_path / 'srv'} (mode 0777)" in found[0]
    assert "writable by others" in found[0] and "a folder on the way to the audit log" in found[0]
    (tmp_path / "srv").chmod(0o1777)  # sticky, as /tmp: only an entry's owner may rename it
    assert _file_findings(path) == []


def test_the_logs_own_folder_writable_by_others_is_found(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    path.parent.chmod(0o707)
    found = _file_findings(path)
    assert len(found) == 1 and f"which holds the audit log {path}" in found[0]


@ROOT_ONLY
def test_an_ancestor_owned_by_an_ordinary_user_is_found(tmp_path: Path) -> None:
    """drwxr-xr-x stranger: the owner may chmod it and rename what is inside."""
    path = _tree(tmp_path)
    os.chown(tmp_path / "srv", STRANGER, -1)
    for live in (None, "embedded", "https://vault.example.internal:8200"):
        found = _file_findings(path, live=live)
        assert len(found) == 1 and f"{tmp_path / 'srv'}" in found[0] and f"its owner uid {STRANGER}" in found[0]


@ROOT_ONLY
def test_an_ancestor_writable_by_a_group_of_unknown_members_is_found(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    os.chown(tmp_path / "srv", -1, STRANGER)  # a gid the host does not list
    (tmp_path / "srv").chmod(0o775)
    found = _file_findings(path)
    assert len(found) == 1 and f"group {STRANGER}" in found[0] and "members are unknown" in found[0]
    (tmp_path / "srv").chmod(0o755)
    assert _file_findings(path) == []


@ROOT_ONLY
def test_an_ancestor_writable_by_a_group_with_another_member_is_found(tmp_path: Path) -> None:
    trusted = {0, os.geteuid()}
    group = next((g for g in grp.getgrall() if g.gr_gid != 0 and any(
        _uid(n) not in trusted for n in g.gr_mem if _uid(n) is not None)), None)
    if group is None:
        pytest.skip("no group on this host has a member besides root")
    path = _tree(tmp_path)
    os.chown(path.parent, -1, group.gr_gid)
    path.parent.chmod(0o770)
    found = _file_findings(path)
    assert len(found) == 1 and f"group {group.gr_gid}" in found[0] and "members uid" in found[0]


def _uid(name: str) -> Optional[int]:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


# -- the file's owner -------------------------------------------------------------------------------------------------

@ROOT_ONLY
def test_a_log_owned_by_another_user_than_the_embedded_vaults_is_found(tmp_path: Path) -> None:
    """The embedded vault runs as our process: a file owned by someone else is theirs to chmod or truncate. For a
    URL target or offline the owner is the evidence of the vault's user: no finding about it."""
    path = _tree(tmp_path)
    os.chown(path, STRANGER, -1)
    found = _file_findings(path, live="embedded")
    assert len(found) == 1 and f"is owned by uid {STRANGER}" in found[0]
    assert _file_findings(path) == []
    assert _file_findings(path, live="https://vault.example.internal:8200") == []


# -- symbolic links ---------------------------------------------------------------------------------------------------

def test_a_link_is_judged_by_the_file_it_leads_to_and_names_both(tmp_path: Path) -> None:
    real = _log(tmp_path / "real", mode=0o600)
    (tmp_path / "real").chmod(0o700)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = private / "audit.log"
    link.symlink_to(real)
    assert _file_findings(link) == []
    os.chmod(tmp_path / "real", 0o777)
    found = _file_findings(link)
    assert len(found) == 1 and f"{link} (a symbolic link to {real})" in found[0] and str(tmp_path / "real") in found[0]
    os.chmod(tmp_path / "real", 0o700)
    private.chmod(0o777)  # the folder of the link itself: whoever writes it can point the log elsewhere
    found = _file_findings(link)
    assert len(found) == 1 and f"The folder {private}" in found[0]


@ROOT_ONLY
def test_a_link_an_ordinary_user_owns_in_a_sticky_folder_is_found(tmp_path: Path) -> None:
    """In a sticky folder (as /tmp) the owner of a link may remove it and plant another: a finding. In a folder
    nobody else may write, the link's owner cannot change it: none."""
    real = _log(tmp_path / "real")
    (tmp_path / "real").chmod(0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = shared / "audit.log"
    link.symlink_to(real)
    os.lchown(link, STRANGER, -1)
    found = _file_findings(link)
    assert len(found) == 1 and f"symbolic link to {real}, in the sticky folder {shared}" in found[0]
    assert f"owned by uid {STRANGER}" in found[0]
    shared.chmod(0o755)
    assert _file_findings(link) == []


def test_a_folder_reached_through_a_linked_folder_is_judged_on_both_paths(tmp_path: Path) -> None:
    """/srv/run -> /srv/real-run (as /var/run -> /run): the folders of the path as given and of the real one."""
    (tmp_path / "real-run").mkdir(mode=0o700)
    path = _log(tmp_path / "real-run" / "openbao")
    (tmp_path / "real-run" / "openbao").chmod(0o700)
    (tmp_path / "given").mkdir(mode=0o755)
    (tmp_path / "given" / "run").symlink_to(tmp_path / "real-run")
    given = tmp_path / "given" / "run" / "openbao" / "audit.log"
    assert _file_findings(given) == []
    (tmp_path / "given").chmod(0o777)  # whoever writes it can replace the "run" link
    found = _file_findings(given)
    assert len(found) == 1 and f"The folder {tmp_path / 'given'}" in found[0]
    assert path.exists()


# -- POSIX ACLs -------------------------------------------------------------------------------------------------------

def _acl_bytes(entries: list[tuple[int, int, int]]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


_UNDEFINED = 0xFFFFFFFF


def _set_acl(path: Path, user: int, perms: int, mask: int) -> None:
    """user:USER:perms with mask, in the kernel's format (what `setfacl -m u:USER:rw,m:rw` writes)."""
    P = log_protection
    mode = path.stat().st_mode
    os.setxattr(str(path), "system.posix_acl_access", _acl_bytes([
        (P.ACL_USER_OBJ, (mode >> 6) & 7, _UNDEFINED), (P.ACL_USER, perms, user),
        (P.ACL_GROUP_OBJ, 0, _UNDEFINED), (P.ACL_MASK, mask, _UNDEFINED), (P.ACL_OTHER, mode & 7, _UNDEFINED)]))


def _acls_supported(path: Path) -> bool:
    try:
        _set_acl(path, STRANGER, 0, 0)
    except OSError:
        return False
    os.removexattr(str(path), "system.posix_acl_access")
    return True


def test_the_acl_format_is_decoded_as_setfacl_writes_it(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    if shutil.which("setfacl") is None or not _acls_supported(path):
        pytest.skip("setfacl is not installed, or the file system keeps no ACLs")
    subprocess.run(["setfacl", "-m", f"u:{STRANGER}:rw,g::r", str(path)], check=True, timeout=10)
    acl = log_protection.decode_acl(os.getxattr(str(path), "system.posix_acl_access"))
    P = log_protection
    assert (P.ACL_USER, 6, STRANGER) in acl and (P.ACL_GROUP_OBJ, 4, _UNDEFINED) in acl
    assert (P.ACL_MASK, 6, _UNDEFINED) in acl
    assert log_protection.decode_acl(b"\x01\x00\x00\x00") == () and log_protection.decode_acl(b"\x02\x00") == ()


def test_an_acl_granting_a_user_write_on_the_log_is_found(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    if not _acls_supported(path):
        pytest.skip("the file system keeps no ACLs")
    _set_acl(path, STRANGER, 6, 6)
    found = _file_findings(path)
    acl = [m for m in found if "access ACL" in m]
    assert any(f"user uid {STRANGER} (an ACL entry) change or erase it" in m for m in acl), found
    assert any("mode reads 0660" in m and "the group bits show its mask" in m for m in acl)
    assert any("the ACL mask (group class)" in m for m in found)  # the mode finding says what the bits are
    os.removexattr(str(path), "system.posix_acl_access")
    path.chmod(0o600)
    assert _file_findings(path) == []


def test_an_acl_granting_a_user_read_beyond_the_logs_group_is_found(tmp_path: Path) -> None:
    """log_max_mode 0640 (a log-reader group): mode 0640 passes; an ACL entry naming another user to read does not
    (the mask r-- shows as the group bits 4)."""
    path = _tree(tmp_path)
    path.chmod(0o640)
    if not _acls_supported(path):
        pytest.skip("the file system keeps no ACLs")
    assert _file_findings(path, log_max_mode="0640") == []
    _set_acl(path, STRANGER, 4, 4)
    found = _file_findings(path, log_max_mode="0640")
    assert len(found) == 1 and f"lets user uid {STRANGER} (an ACL entry) read it" in found[0]


def test_an_acl_granting_a_group_read_is_a_log_reader_group_under_0640(tmp_path: Path) -> None:
    """setfacl -m g:<shipper>:r is the usual way to give a log shipper's group read: log_max_mode 0640 allows it, as
    it allows the file's own group (red team rt40, F13: it failed, saying "keep the file 0600"); 0600 does not, and
    write is never allowed."""
    path = _tree(tmp_path)
    path.chmod(0o600)
    if not _acls_supported(path):
        pytest.skip("the file system keeps no ACLs")
    P = log_protection

    def grant(perms: int) -> None:
        os.setxattr(str(path), "system.posix_acl_access", _acl_bytes([
            (P.ACL_USER_OBJ, 6, _UNDEFINED), (P.ACL_GROUP_OBJ, 0, _UNDEFINED), (P.ACL_GROUP, perms, STRANGER),
            (P.ACL_MASK, perms, _UNDEFINED), (P.ACL_OTHER, 0, _UNDEFINED)]))

    grant(4)
    assert _file_findings(path, log_max_mode="0640") == []
    found = [f for f in _file_findings(path) if "access ACL" in f]  # (and its mode, whose group bits show the mask)
    assert len(found) == 1 and f"lets group {STRANGER} (an ACL entry)" in found[0] and "read it" in found[0], found
    grant(6)
    found = [f for f in _file_findings(path, log_max_mode="0640") if "access ACL" in f]
    assert len(found) == 1 and "change or erase it" in found[0], found


def test_an_acl_granting_a_user_write_on_an_ancestor_is_found(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    srv = tmp_path / "srv"
    if not _acls_supported(srv):
        pytest.skip("the file system keeps no ACLs")
    _set_acl(srv, STRANGER, 7, 7)
    found = _file_findings(path)
    assert len(found) == 1 and f"The folder {srv}" in found[0] and f"user uid {STRANGER} (an ACL entry)" in found[0]
    _set_acl(srv, STRANGER, 7, 5)  # the mask takes write away: effective r-x
    assert _file_findings(path) == []


# -- devices of the user's configuration that keep no file ----------------------------------------------------------

def _devices_ctx(devices: dict[str, Any], target: str, status: int = 200) -> CheckContext:
    """A run that read 'primary', whose drill broke it and got ``status`` for its write."""
    drill = {"ran": True, "broken": ["primary"], "failed_devices": ["primary"], "server_said_unaudited": status == 500,
             "path": "secret/data/x", "steps": [
                 {"step": "write", "what": "POST secret/data/x", "status": status, "request_id": "w"},
                 {"step": "read-back", "status": 404, "request_id": ""},
                 {"step": "logged-again", "what": "GET sys/mounts/secret", "status": 200, "request_id": "p"}]}
    facts = VaultFacts(devices=devices, drill=drill, device="primary")
    return CheckContext(settings=Settings(target=target), ledger=probed_ledger(target),
                        entries=[SimpleNamespace(request_id="p")], bad_lines=[], facts=facts)



PRIMARY = {"type": "file", "options": {"file_path": "/var/log/openbao/audit.log", "mode": "0600"}}


@pytest.mark.parametrize("sink", ["discard", "Discard", "STDOUT", "/dev/null", "/dev/stderr", "/dev/fd/1"])
def test_a_device_writing_nowhere_is_no_record_in_any_spelling(sink: str) -> None:
    """Vault and OpenBao read "discard" and "stdout" in any case (a URL target lists them as given): served with
    only such a device left, the vault recorded nothing; and no note claims it as a second record."""
    from pytest_auditready.checks import fail_closed

    devices = {"primary": PRIMARY, "debug": {"type": "file", "options": {"file_path": sink}}}
    out = evaluate(fail_closed.CHECK, _devices_ctx(devices, "embedded"), [""])[""]
    assert out.status == "failed" and any("could not record" in f.message for f in out.findings)
    # on any target, from sys/audit: a device that keeps nothing never fails, so the vault never fails closed (a
    # finding; the process's output, which a runtime may keep, a note) (red team rt18: passed on a URL target)
    url = evaluate(fail_closed.CHECK, _devices_ctx(devices, "https://vault.example.internal:8200"), [""])[""]
    output = sink.lower() in ("stdout", "/dev/stderr", "/dev/fd/1")
    assert url.status == ("skipped" if output else "failed") and "not the only record" not in url.reason, url
    assert ("keeps nothing" in url.reason) if output else ("keeps nothing" in url.findings[0].message)


@pytest.mark.parametrize("sink", ["/dev/stderr", "STDOUT", "/dev/fd/2"])
def test_log_protection_judges_no_file_mode_for_a_device_writing_to_the_vaults_output(sink: str) -> None:
    """A device that writes to the vault's own output has no file whose mode could be judged: its mode option is
    no finding; a file device's own mode still is (absent: 0600, the default)."""
    devices = {"primary": PRIMARY, "out": {"type": "file", "options": {"file_path": sink, "mode": "0644"}},
               "second": {"type": "file", "options": {"file_path": "/var/log/openbao/second.log"}}}
    ctx = _devices_ctx(devices, "https://vault.example.internal:8200")
    assert _findings(ctx) == []
    devices["second"] = {"type": "file", "options": {"file_path": "/var/log/openbao/second.log", "mode": "0644"}}
    assert any("'second'" in m and "0644" in m for m in _findings(ctx))


@pytest.mark.parametrize(("mount", "kind", "keys", "secret"), [
    ("cubbyhole/", "cubbyhole", ["api_creds"], True),  # arbitrary secrets under any key (red team rt40, F1)
    ("ns1/cubbyhole/", "ns_cubbyhole", ["value"], True),  # a namespace's cubbyhole, so typed (red team rt43, F3)
    ("kv1/", "kv", ["DB_USERNAME", "POSTGRES_USER", "dbUser", "admin_email"], False),  # names (rt42 F11)
    ("kv1/", "kv", ["bank_account"], True),  # no name
    ("sys/", "system", ["keys_base64", "recovery_keys_base64"], True),  # unseal and recovery key shares (rekey)
    ("secret/", "kv", ["username"], False),  # a key that names who
    ("pki/", "pki", ["common_name"], False),  # the Vault docs' own example: a name
    ("auth/token/", "token", ["display_name", "explicit_max_ttl"], False),
    # settings about a credential (red team rt40, F9): which policies and lifetimes a login gets
    ("auth/userpass/", "userpass", ["token_policies", "token_ttl", "token_type", "token_bound_cidrs"], False),
    ("auth/approle/", "approle", ["secret_id_ttl", "secret_id_num_uses", "role_name"], False),
    ("pki/", "pki", ["common_name", "private_key_format", "key_bits"], False),
    ("auth/userpass/", "userpass", ["password", "token_ttl"], True),  # the credential itself beside them
    ("auth/approle/", "approle", ["secret_id"], True),
])
def test_keys_tuned_out_of_hmac_are_judged_by_what_the_mount_holds(mount: str, kind: str, keys: list[str],
                                                                   secret: bool) -> None:
    said = list(log_protection._clear_keys({mount: {"response": keys}}, {mount: kind}))
    assert len(said) == 1 and type(said[0]).__name__ == ("Finding" if secret else "Note"), said
    text = said[0].text() if isinstance(said[0], Finding) else said[0].text
    assert all(repr(k) in text for k in keys)


# -- the unprivileged identity's probes of the audit devices ----------------------------------------------------------

def _probe_findings(statuses: dict[str, int]) -> list[str]:
    ctx = _devices_ctx({"primary": PRIMARY}, "https://vault.example.internal:8200")
    ctx.ledger = probed_ledger(ctx.settings.target, statuses)
    return [f.message for f in evaluate(log_protection.CHECK, ctx, [""])[""].findings]


def test_probes_the_vault_refused_pass() -> None:
    assert _probe_findings({"list-audit-devices": 403, "disable-audit-attempt": 403}) == []


@pytest.mark.parametrize("status", [200, 204])
def test_a_probe_the_vault_served_is_a_power_the_identity_holds(status: int) -> None:
    assert _probe_findings({"list-audit-devices": status, "disable-audit-attempt": 403}) == [
        f"An identity with only the policies [none] can list the audit devices (GET sys/audit) (answered {status})."]
    found = _probe_findings({"list-audit-devices": 403, "disable-audit-attempt": status})
    assert len(found) == 1 and "can disable an audit device" in found[0] and "nothing was switched off" in found[0]


@pytest.mark.parametrize("status", [0, 429, 500, 503])
def test_a_probe_without_the_vaults_refusal_judged_nothing(status: int) -> None:
    """No answer, a rate limit or a server error shows neither power nor its absence: before, anything but a 2xx
    passed as refused."""
    found = _probe_findings({"list-audit-devices": status, "disable-audit-attempt": 403})
    assert len(found) == 1 and "only the vault's 403 shows it cannot, so this was not judged" in found[0]
    assert ("got no answer" if status == 0 else f"answered {status}") in found[0]


@pytest.mark.parametrize("missing", ["list-audit-devices", "disable-audit-attempt"])
def test_a_probe_missing_from_the_run_is_not_judged_and_says_so(missing: str) -> None:
    statuses = {"list-audit-devices": 403, "disable-audit-attempt": 403}
    del statuses[missing]
    found = _probe_findings(statuses)
    assert len(found) == 1 and f"its action {missing} is not in the run" in found[0]
