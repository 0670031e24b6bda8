"""Vaults with several audit devices, as real teams configure them (fail_closed, log_protection, the drill).

OpenBao and Vault serve a request that at least ONE audit device records: with a second device, the device the run
reads can fail and the vault keeps serving, so gaps in the log read are no refusals. The report must say so and
name the device that keeps the vault serving. A filtered device (Vault Enterprise 1.16+ ``filter``, ``exclude``)
drops entries by design; every file device's file is judged, not only the one read; the drill never leaves a device
broken.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from pytest_auditready.checks import fail_closed, log_protection
from pytest_auditready.checks.base import CheckContext, evaluate, stat_log
from pytest_auditready.config import Settings
from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault.client import VaultClient
from pytest_auditready.vault.config import PRODUCTION_PATH_MARK
from pytest_auditready.vault.scenario import VaultFacts
from tests.auditrun import run_audit
from tests.conftest import probed_ledger

FILE = {"type": "file", "options": {"file_path": "/w/audit.log", "mode": "0600"}, "origin": {"": "10-audit.hcl:1"}}
SOCKET = {"type": "socket", "options": {"socket_type": "tcp"}, "origin": {"": "10-audit.hcl:9"}}


def _drill(status: int = 500) -> dict[str, Any]:
    """What the scenario's drill records when every device was broken and the vault refused (500) or served."""
    return {"ran": True, "broken": ["primary"], "failed_devices": ["primary"], "server_said_unaudited": status == 500,
            "path": "secret/data/x", "steps": [
                {"step": "write", "what": "POST secret/data/x", "status": status, "request_id": "w"},
                {"step": "read-back", "status": 404, "request_id": ""},
                {"step": "logged-again", "what": "GET sys/mounts/secret", "status": 200, "request_id": "p"}]}


def _ctx(devices: dict[str, Any], read: str = "primary", target: str = "embedded", drill: Optional[dict[str, Any]] = None,
         log_file: Any = None) -> CheckContext:
    facts = VaultFacts(devices=devices, drill=drill if drill is not None else _drill(), device=read)
    return CheckContext(settings=Settings(target=target), ledger=probed_ledger(target),
                        entries=[SimpleNamespace(request_id="p")], bad_lines=[], facts=facts, log_file=log_file)


def _judge(check: Any, ctx: CheckContext) -> Any:
    return evaluate(check.CHECK, ctx, [""])[""]


def _texts(out: Any) -> str:
    return " ".join(f.message + " " + f.fix + " " + f.where for f in out.findings) + " " + out.reason


# -- 1. the device read is not the only record ------------------------------------------------------------------
@pytest.mark.vault
def test_the_vault_serves_while_only_the_device_read_fails(bao: Any) -> None:
    """The semantics the checks rest on, on the real server: with the device read broken and a second device
    working, a write is served (200), missing from the log read and recorded by the other device."""
    server = bao(extra_devices={"second": {"mode": "0600"}})
    c = VaultClient(server.url, server.root_token, timeout=5)
    read = server.file_logs["auditready"]
    held = read.with_name("read.held")
    try:
        os.replace(read, held)
        os.symlink("/dev/full", read)
        server.reopen_audit_files()
        assert server.devices_failing(["auditready"], lambda: c.call("GET", "sys/mounts"), 5)
        served = c.call("POST", "secret/data/unaudited-in-read", {"data": {"v": "1"}})
        assert served.status == 200 and served.request_id
        assert server.said("unaudited") == 0 and server.said("failed:second") == 0
    finally:
        read.unlink()
        os.replace(held, read)
        server.reopen_audit_files()
        c.close()
    assert served.request_id.encode() not in read.read_bytes()
    assert served.request_id.encode() in server.file_logs["second"].read_bytes()


def test_a_second_recording_device_is_named_when_the_drill_refused() -> None:
    out = _judge(fail_closed, _ctx({"primary": FILE, "siem": SOCKET}))
    assert out.status == "passed"
    assert "The log read ('primary') is not the only record" in out.reason
    assert "'siem' (type socket, declared at 10-audit.hcl:9)" in out.reason and "union" in out.reason


def test_a_single_device_vault_says_nothing_of_other_records() -> None:
    out = _judge(fail_closed, _ctx({"primary": FILE}))
    assert out.status == "passed" and "not the only record" not in out.reason


def test_an_unnamed_device_read_among_several_is_said_too() -> None:
    out = _judge(fail_closed, _ctx({"primary": FILE, "siem": SOCKET}, read=""))
    assert out.status == "passed" and "the log read is not the only record" in out.reason


def test_a_device_that_keeps_nothing_is_not_named_as_a_record() -> None:
    stdout = {"type": "file", "options": {"file_path": "stdout"}}
    out = _judge(fail_closed, _ctx({"primary": FILE, "debug": stdout}))
    assert out.status == "passed" and "not the only record" not in out.reason


# -- 2. devices that drop entries by design ----------------------------------------------------------------------
def _filtered(expr: str = 'mount_type == "kv"', at: str = "10-audit.hcl:4") -> dict[str, Any]:
    return {"type": "file", "options": {"file_path": "/w/f.log", "filter": expr}, "origin": {"": "10-audit.hcl:1",
                                                                                            "filter": at}}


FALLBACK = {"type": "file", "options": {"file_path": "/w/all.log", "fallback": "true"}, "origin": {"": "x.hcl:20"}}


def test_a_filtered_device_read_fails_naming_the_fallback() -> None:
    out = _judge(fail_closed, _ctx({"primary": _filtered(), "catchall": FALLBACK}))
    assert out.status == "failed"
    text = _texts(out)
    assert "drops every entry that does not match its filter" in text and "'catchall'" in text
    assert "10-audit.hcl:4" in text


def test_only_filtered_devices_without_a_fallback_fail() -> None:
    out = _judge(fail_closed, _ctx({"a": _filtered(), "b": _filtered('operation == "read"')}, read="a"))
    assert out.status == "failed"
    assert "none is a fallback device" in _texts(out) and "recorded nowhere" in _texts(out)


def test_a_filtered_other_device_with_a_fallback_passes_naming_it() -> None:
    out = _judge(fail_closed, _ctx({"primary": FILE, "kv-only": _filtered(), "catchall": FALLBACK}))
    assert out.status == "passed"
    assert "'kv-only' drops every entry" in out.reason and "'catchall'" in out.reason


def test_reading_the_fallback_device_fails() -> None:
    out = _judge(fail_closed, _ctx({"catchall": FALLBACK, "kv-only": _filtered()}, read="catchall"))
    assert out.status == "failed" and "is the fallback device" in _texts(out) and "'kv-only'" in _texts(out)
    alone = _judge(fail_closed, _ctx({"catchall": FALLBACK}, read="catchall"))
    assert alone.status == "passed"  # with no filtered device it gets every entry


def test_exclude_on_the_device_read_fails() -> None:
    dev = {"type": "file", "options": {"file_path": "/w/a.log", "exclude": '[{"fields":["/auth/display_name"]}]'}}
    out = _judge(fail_closed, _ctx({"primary": dev}))
    assert out.status == "failed" and "removes the fields its exclude option names" in _texts(out)


def test_elide_list_responses_drops_nothing() -> None:
    dev = {"type": "file", "options": {"file_path": "/w/a.log", "elide_list_responses": "true"}}
    out = _judge(fail_closed, _ctx({"primary": dev}))
    assert out.status == "passed"


def test_a_filtered_device_on_a_url_target_is_reported_not_skipped() -> None:
    out = _judge(fail_closed, _ctx({"primary": _filtered(), "catchall": FALLBACK}, target="https://vault.example:8200"))
    assert out.status == "failed" and "'catchall'" in _texts(out)
    ok = _judge(fail_closed, _ctx({"primary": FILE, "siem": SOCKET}, target="https://vault.example:8200"))
    assert ok.status == "skipped" and "'siem'" in ok.reason


# -- 3. every file device's file ---------------------------------------------------------------------------------
def _dev(mode: Optional[str] = None, fp: str = "/var/log/openbao/b.log", prod: str = "") -> dict[str, Any]:
    opts = {"file_path": fp, **({"mode": mode} if mode is not None else {})}
    origin = {"": "10-audit.hcl:12", "mode": "10-audit.hcl:15", **({PRODUCTION_PATH_MARK: prod} if prod else {})}
    return {"type": "file", "options": opts, "origin": origin}


@pytest.mark.parametrize("mode, says", [("0644", "others can read"), ("0620", "group can change or erase"),
                                        ("0000", "keeps whatever mode the host gives it")])
def test_another_devices_wide_mode_fails(mode: str, says: str) -> None:
    out = _judge(log_protection, _ctx({"primary": FILE, "backup": _dev(mode)}))
    assert out.status == "failed"
    assert "'backup'" in _texts(out) and says in _texts(out) and "10-audit.hcl:15" in _texts(out)


@pytest.mark.parametrize("mode", [None, "0600", "600"])
def test_another_devices_private_or_default_mode_passes(mode: Optional[str]) -> None:
    assert _judge(log_protection, _ctx({"primary": FILE, "backup": _dev(mode)})).status == "passed"


@pytest.mark.parametrize("fp", ["/tmp/vault_audit.log", "/var/tmp/audit.log", "/dev/shm/a.log"])
def test_a_device_file_in_a_folder_every_user_may_write_fails(fp: str) -> None:
    # booted from the user's configuration: the production path is judged, not the throw-away server's
    out = _judge(log_protection, _ctx({"primary": FILE, "backup": _dev("0600", "/srv/w/b.log", prod=fp)}))
    assert out.status == "failed" and fp in _texts(out) and "every user may write" in _texts(out)
    # also the device the run reads
    out = _judge(log_protection, _ctx({"primary": _dev("0600", fp)}, read="primary"))
    assert out.status == "failed" and fp in _texts(out)


def test_a_symlinked_log_leading_into_a_folder_anyone_can_write_fails(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # after mkdir: the umask would take the bits off
    (shared / "audit.log").write_bytes(b"")
    os.chmod(shared / "audit.log", 0o600)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "audit.log").symlink_to(shared / "audit.log")
    info = stat_log(str(private / "audit.log"))
    assert info is not None and stat.S_IMODE(info.mode) == 0o600
    out = _judge(log_protection, _ctx({"primary": FILE}, log_file=info))
    assert out.status == "failed" and "symbolic link" in _texts(out) and str(shared) in _texts(out)
    os.chmod(shared, 0o755)
    assert _judge(log_protection, _ctx({"primary": FILE}, log_file=stat_log(str(private / "audit.log")))).status \
        == "passed"


# -- a whole run on a team's configuration: file (read) + socket + syslog + a group-readable second file -------
CONFIG = '''ui = true

audit "file" "primary" {
  options {
    file_path = "/var/log/openbao/audit.log"
    mode      = "0600"
  }
}

audit "socket" "siem" {
  options {
    address     = "siem.example.internal:9090"
    socket_type = "tcp"
  }
}

audit "syslog" "local" {
  options {
    tag = "openbao"
  }
}

audit "file" "backup" {
  options {
    file_path = "/var/log/openbao/backup.log"
    mode      = "0640"
  }
}
'''


@pytest.mark.vault
def test_a_team_configuration_names_the_other_records_and_judges_every_file(pytester: pytest.Pytester,
                                                                           tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "10-audit.hcl").write_text(CONFIG)
    evidence = pytester.path / "evidence"
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", f"--auditready-evidence={evidence}",
                    audit_device="primary")
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    text = run.text("log_protection")
    assert "'backup'" in text and "0640" in text and "10-audit.hcl:26" in text
    bundle = json.dumps(json.loads((evidence / "evidence.json").read_text()))
    assert "The log read ('primary') is not the only record" in bundle
    assert "'backup' (file_path=/var/log/openbao/backup.log, declared at 10-audit.hcl:25)" in bundle
    assert "'local' (type syslog, declared at 10-audit.hcl:17)" in bundle  # not the throw-away server's file
    assert "'siem' (type socket, declared at 10-audit.hcl:10)" in bundle


@pytest.mark.vault
@pytest.mark.parametrize("stanza", [
    'audit "syslog" "sys" {\n  options {\n    tag = "openbao"\n  }\n}\n',
    'audit "socket" "unix" {\n  options {\n    address = "/run/openbao/audit.sock"\n    socket_type = "unix"\n'
    '  }\n}\n',
], ids=["syslog", "unix-socket"])
def test_a_configuration_whose_only_device_is_syslog_or_a_unix_socket_is_audited(
        pytester: pytest.Pytester, tmp_path: Path, stanza: str) -> None:
    """The throw-away server writes a syslog device's entries to a file and receives a socket device's over TCP,
    whatever its socket_type: a production setup with no file device is audited (it was refused, told to add a
    file device: red team rt4, F9)."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "10-audit.hcl").write_text('ui = true\n\n' + stanza)
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}")
    out = run.result.stdout.str()
    assert run.result.ret == 0 and run.failed_checks() == set(), out[-3000:]
    # log_protection's pass says what it did not judge: the syslog daemon's own file (red team rt9 VP-1)
    said = any("stand-in for the syslog device 'sys'" in text for text in run.outputs.values())
    assert said is stanza.startswith('audit "syslog"'), list(run.outputs)
    # and fail_closed's, that the drill cannot show what the syslog daemon drops (red team rt12, F05)
    told = any("hands its entries to the host's syslog daemon" in text for text in run.outputs.values())
    assert told is stanza.startswith('audit "syslog"'), list(run.outputs)


UDP = 'audit "socket" "siem" {\n  options {\n    address = "127.0.0.1:9090"\n    socket_type = "udp"\n  }\n}\n'


@pytest.mark.vault
@pytest.mark.parametrize("file_device", [False, True], ids=["udp-only", "file-and-udp"])
def test_a_udp_socket_device_fails_fail_closed_alone(pytester: pytest.Pytester, tmp_path: Path,
                                                     file_device: bool) -> None:
    """Fails without the rule (red team rt9 FP-1): a UDP socket device was received over TCP and every check passed,
    the drill included, while the real server with that device serves every request with its collector down (a
    datagram's send never fails). Its entries are still read (received over TCP); the declared socket_type is
    kept in the evidence."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    files = ('audit "file" "file" {\n  options {\n    file_path = "/var/log/openbao/audit.log"\n  }\n}\n'
             if file_device else "")
    (folder / "10-audit.hcl").write_text('ui = true\n\n' + files + UDP)
    evidence = tmp_path / "ev"
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", f"--auditready-evidence={evidence}",
                    **({"audit_device": "file"} if file_device else {}))
    out = run.result.stdout.str()
    assert run.result.ret == 1 and run.failed_checks() == {"fail_closed"}, out[-3000:]
    assert "'siem' (type socket, declared at 10-audit.hcl:" in out and "sends over UDP" in out, out[-3000:]
    bundle = json.loads((evidence / "evidence.json").read_text())
    assert '"auditready:socket_type": "udp"' in json.dumps(bundle), "the declared socket_type is not in the evidence"


@pytest.mark.vault
def test_two_file_devices_with_one_file_path_write_one_file_as_in_production(pytester: pytest.Pytester,
                                                                              tmp_path: Path) -> None:
    """Fails without the shared file (red team rt9 FP-2): the throw-away server gave each device its own file and
    passed, while OpenBao writes both devices' entries (each with its own time and HMAC salt) into the one file,
    which completeness fails offline. Two devices with their own files pass (test_a_team_configuration_names_the_other_records...)."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "10-audit.hcl").write_text(
        'ui = true\n\n' + "".join(f'audit "file" "{n}" {{\n  options {{\n    file_path = "{fp}"\n  }}\n}}\n'
                                   for n, fp in (("file", "/var/log/openbao/audit.log"),
                                                 ("file2", "/var/log/openbao/./audit.log"))))
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", audit_device="file")
    out = run.result.stdout.str()
    assert run.result.ret == 1 and "completeness" in run.failed_checks(), out[-3000:]
    assert "is written 2 times into one file" in out and "two audit devices are declared with one file_path" in out, \
        out[-3000:]


# -- 4. the drill never leaves a device broken -------------------------------------------------------------------
@pytest.mark.vault
def test_an_interrupted_wait_for_the_break_restores_the_devices(bao: Any) -> None:
    server = bao(extra_devices={"second": {"mode": "0600"}})
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert server.break_audit() == ["auditready", "second"]

        def ctrl_c() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            server.devices_failing(["auditready", "second"], ctrl_c, 5)
        assert not any(p.is_symlink() for p in server.file_logs.values())
        assert not any(p.with_name(p.name + ".held").exists() for p in server.file_logs.values())
        after = c.call("POST", "secret/data/after", {"data": {"v": "1"}})
        assert after.status == 200
    finally:
        c.close()
    assert after.request_id.encode() in server.log_path.read_bytes()


INTERRUPT_IN_THE_DRILL = '''
import os, signal
from pytest_auditready.vault import embedded

_wait = embedded.EmbeddedServer.devices_failing


def _ctrl_c_in_the_wait(self, devices, probe, within):
    def probe_after_ctrl_c():
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the drill waits for the broken devices to fail
        return probe()
    return _wait(self, devices, probe_after_ctrl_c, within)


embedded.EmbeddedServer.devices_failing = _ctrl_c_in_the_wait
'''


@pytest.mark.vault
def test_ctrl_c_during_the_drill_restores_and_the_clean_up_message_is_true(pytester: pytest.Pytester) -> None:
    """A Ctrl-C while the drill's devices are broken: they are restored before clean-up, so clean-up is audited
    and succeeds, and the run does not tell the user to remove by hand what a thrown-away server took with it."""
    run = run_audit(pytester, None, None, subprocess=True, conftest=INTERRUPT_IN_THE_DRILL)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, out[-3000:]
    assert "interrupted; the run's canaries, tokens and policies were removed" in out, out[-3000:]
    assert "could NOT remove" not in out


@pytest.mark.vault
def test_a_receiver_that_cannot_listen_again_does_not_leave_the_files_broken(bao: Any) -> None:
    """The collector's port taken while the drill had it down: that is reported, and the file device still gets its
    file back (a file device that fails to write reopens its file once, so it records again even before the
    SIGHUP that the failed restore did not send)."""
    server = bao(audit_transport="socket", extra_devices={"second": {"mode": "0600"}})
    c = VaultClient(server.url, server.root_token, timeout=5)
    squatter = socket.socket()
    try:
        assert server.break_audit() == ["auditready", "second"]
        assert server.receiver is not None
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the closed connections' TIME_WAIT
        squatter.bind(("127.0.0.1", server.receiver.port))  # another program took the port meanwhile
        squatter.listen(1)
        with pytest.raises(AuditReadyError) as exc:
            server.restore_audit()
        assert "cannot listen on" in exc.value.cause
        second = server.file_logs["second"]
        assert not second.is_symlink()
        after = c.call("POST", "secret/data/after", {"data": {"v": "1"}})
        assert after.status == 200
    finally:
        squatter.close()
        c.close()
    assert after.request_id.encode() in second.read_bytes()


@pytest.mark.parametrize("socket_type, failed", [("udp", True), ("UDP", True), ("tcp", False), ("unix", False)])
def test_a_url_target_listing_a_udp_socket_device_fails_fail_closed(socket_type: str, failed: bool) -> None:
    """A URL target is never drilled, but its devices as sys/audit lists them are judged: a socket device listed
    with socket_type udp cannot fail, so the vault serves what nothing received (red team rt9 FP-1)."""
    from types import SimpleNamespace

    from pytest_auditready.checks import fail_closed
    from pytest_auditready.config import Settings

    devices = {"file/": {"type": "file", "options": {"file_path": "/var/log/openbao/audit.log"}},
               "siem/": {"type": "socket", "options": {"address": "10.0.0.5:9090", "socket_type": socket_type}}}
    ctx = SimpleNamespace(facts=SimpleNamespace(devices=devices, device="file/"),
                          settings=Settings(target="https://vault.example:8200"), ledger=None)
    said = list(fail_closed.run(ctx))  # type: ignore[arg-type]
    udp = [s for s in said if isinstance(s, fail_closed.Finding) and "sends over UDP" in s.message]
    assert bool(udp) is failed, said
    assert any(isinstance(s, fail_closed.Skip) for s in said)  # still never drilled
