"""The embedded target booted from the user's own vault configuration (issue 14): the example passes every check,
and each regression a pull request could bring fails the gate with the owning check and a message naming the
config line or policy. Real OpenBao servers, started by the audited sessions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault.config import choose_device, load_vault_config
from tests.auditrun import AuditRun, assert_no_secret_in_outputs, run_audit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "vault-config"


def line_of(path: Path, needle: str) -> str:
    """FILE:LINE of the first line of ``path`` that contains ``needle``."""
    for i, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return f"{path.name}:{i}"
    raise AssertionError(f"{needle!r} not in {path}")


def copy_example(tmp_path: Path) -> Path:
    dest = tmp_path / "vault-config"
    shutil.copytree(EXAMPLE, dest)
    return dest


def audit_config(pytester: pytest.Pytester, folder: Path, *extra: str, **keys: object) -> AuditRun:
    keys.setdefault("bootstrap", "./bootstrap.sh")
    return run_audit(pytester, None, None, f"--auditready-vault-config={folder}", *extra, **keys)


# -- reading the configuration (no server) ----------------------------------------------------------------------
def test_replaced_stanzas_are_blanked_and_audit_stanzas_read_with_their_lines() -> None:
    cfg = load_vault_config(EXAMPLE)
    server = EXAMPLE / "server.hcl"
    (name, kept), = cfg.files
    assert name == "server.hcl"
    assert kept.count("\n") == server.read_text().count("\n")  # line numbers kept for OpenBao's own errors
    for gone in ('storage "raft"', 'listener "tcp"', "0.0.0.0:8200", "api_addr", "cluster_addr", 'audit "'):
        assert gone not in kept
    assert 'log_level     = "info"' in kept
    assert {r.split()[1] for r in cfg.replaced} == {"storage", "listener", "api_addr", "cluster_addr"}
    file_dev, socket_dev = cfg.audits
    assert (file_dev.type, file_dev.name, socket_dev.type) == ("file", "file", "socket")
    assert file_dev.where == line_of(server, 'audit "file" "file"')
    assert file_dev.where_option("mode") == line_of(server, 'mode          = "0600"')
    assert file_dev.options["hmac_accessor"] == "true"
    assert dict(cfg.policies).keys() == {"default", "app-payments"}
    assert choose_device(cfg, None) is file_dev


_LISTENER = '  tls_key_file  = "/etc/openbao/tls/tls.key"\n'


@pytest.mark.parametrize("added, forgeable", [
    ('  x_forwarded_for_authorized_addrs = "0.0.0.0/1,128.0.0.0/1"\n', True),  # every address, in two halves
    ('  x_forwarded_for_authorized_addrs = ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]\n', True),
    ('  x_forwarded_for_authorized_addrs = "0.0.0.0/00"\n', True),
    ('  X_Forwarded_For_Authorized_Addrs = "::/0"\n', True),  # HCL 1 finds a key in any case
    ('  x_forwarded_for_authorized_addrs = <<EOT\n0.0.0.0/0\nEOT\n', True),
    ('  proxy_protocol_behavior = "allow_authorized"\n  proxy_protocol_authorized_addrs = "0.0.0.0/0"\n', True),
    ('  Proxy_Protocol_Behavior = "use_always"\n', True),
    ('  x_forwarded_for_authorized_addrs = [\n    "10.20.0.0/16",  # load balancers\n'
     '    # "0.0.0.0/0",  # never again\n  ]\n', False),
    ('  /* x_forwarded_for_authorized_addrs = "0.0.0.0/0" */\n', False),
    ('  x_forwarded_for_authorized_addrs = "10.0.0.0/8,192.168.0.0/16"\n', False),
    ('  proxy_protocol_behavior = "allow_authorized"\n  proxy_protocol_authorized_addrs = "10.0.0.0/8"\n', False),
])
def test_a_listener_that_lets_every_client_set_the_source_is_read_as_openbao_reads_it(
        tmp_path: Path, added: str, forgeable: bool) -> None:
    """The listener's trust is read from the parsed stanza: every address as a union of CIDRs, a key in any case, a
    heredoc, the PROXY protocol authorized from everyone are findings; a commented-out entry is none (red team
    rt51: the text was matched by a pattern, which missed the first and called the last live)."""
    d = copy_example(tmp_path)
    _set(d / "server.hcl", _LISTENER, _LISTENER + added)
    found = load_vault_config(d).forgeable
    assert bool(found) == forgeable, found
    if forgeable:
        (at, _), = found
        assert at == line_of(d / "server.hcl", added.strip().split()[0].split("=")[0][:24]), found


@pytest.mark.parametrize("text, found", [("unsafe_allow_api_audit_creation = true\n", True),
                                         ("Unsafe_Allow_API_Audit_Creation = \"true\"\n", True),
                                         ("/* unsafe_allow_api_audit_creation = true */\n", False),
                                         ("unsafe_allow_api_audit_creation = false\n", False)])
def test_api_audit_creation_is_read_as_openbao_reads_it(tmp_path: Path, text: str, found: bool) -> None:
    d = copy_example(tmp_path)
    _append(d / "server.hcl", text)
    assert bool(load_vault_config(d).api_audit) == found


def test_top_level_stanzas_in_another_case_are_read_and_replaced(tmp_path: Path) -> None:
    """OpenBao finds a top-level key in any case (Audit, LISTENER): such an audit device was not seen (a config of
    one was refused as declaring none, and a second one wrote the production path with the run's canaries), and
    such a listener was passed on to the throw-away server (red team rt51 F5)."""
    d = copy_example(tmp_path)
    text = (d / "server.hcl").read_text()
    text = text.replace('audit "socket"', 'AUDIT "socket"').replace('listener "tcp"', 'Listener "tcp"')
    (d / "server.hcl").write_text(text + 'Audit "file" "raw" {\n  Options {\n    file_path = "/var/log/raw.log"\n'
                                         '    log_raw = "true"\n  }\n}\n')
    cfg = load_vault_config(d)
    assert [(a.type, a.name) for a in cfg.audits] == [("file", "file"), ("socket", "collector"), ("file", "raw")]
    assert cfg.audits[2].options["log_raw"] == "true"
    (_, kept), = cfg.files
    assert "0.0.0.0:8200" not in kept and "/var/log/raw.log" not in kept and "Listener" not in kept
    assert any(r.endswith(" Listener") for r in cfg.replaced)


def test_json_server_files_are_read_too(tmp_path: Path) -> None:
    (tmp_path / "server.json").write_text(json.dumps({
        "storage": {"raft": {"path": "/var/lib/openbao"}},
        "audit": [{"file": {"main": {"description": "d", "options": {"file_path": "/var/log/a.log", "log_raw": "false"}}}}],
        "log_level": "info",
    }))
    cfg = load_vault_config(tmp_path)
    (dev,) = cfg.audits
    assert (dev.name, dev.options["log_raw"]) == ("main", "false")
    assert json.loads(cfg.files[0][1]) == {"log_level": "info"}


@pytest.mark.parametrize(("text", "message"), [
    ('ui = true\naudit "file" "a" {\n  options {\n    file_path = "/x"\n', "server.hcl:3"),  # innermost
    ('ui = true\n\naudit "file" {\n  options { file_path = "/x" }\n}\n', "server.hcl:3"),
    ('audit "file" "a" {\n  options {\n    file_path = "${env}"\n  }\n}\n', "server.hcl:3"),
])
def test_an_unusable_stanza_is_one_line_naming_its_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "server.hcl").write_text(text)
    with pytest.raises(AuditReadyError) as exc:
        load_vault_config(tmp_path)
    assert message in exc.value.cause and "\n" not in str(exc.value)


def test_audit_device_picks_one_of_several_file_devices(tmp_path: Path) -> None:
    (tmp_path / "server.hcl").write_text(
        'audit "file" "a" { options { file_path = "/a.log" } }\naudit "file" "b" { options { file_path = "/b.log" } }\n'
        'audit "syslog" "s" { options { tag = "x" } }\n')
    cfg = load_vault_config(tmp_path)
    with pytest.raises(AuditReadyError, match="several file audit devices"):
        choose_device(cfg, None)
    assert choose_device(cfg, "b/").name == "b"
    assert choose_device(cfg, "s").name == "s"  # the throw-away server writes a syslog device's entries to a file


# -- the gate ------------------------------------------------------------------------------------------------------
@pytest.mark.vault
def test_the_example_configuration_passes_every_check(pytester: pytest.Pytester) -> None:
    evidence = pytester.path / "evidence"
    started = time.monotonic()
    run = audit_config(pytester, EXAMPLE, f"--auditready-evidence={evidence}")
    took = time.monotonic() - started
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert run.failed_checks() == set()
    assert run.status("fail_closed") == "passed"
    # what the throw-away server did not take from the configuration is said in the terminal too (red team rt76 F5)
    said = next(ln for ln in run.result.stdout.lines if "ran your vault configuration with stand-ins" in ln)
    assert "server.hcl:9 storage" in said and "server.hcl:14 listener" in said, said
    assert "device collector sends to a receiver of the run's (yours: 127.0.0.1:5170)" in said, said
    assert "device file writes a file of the run's (yours: /var/log/openbao/audit.log)" in said, said
    # the PCI DSS 10.2.1 events, triggered on the throw-away server and found in the log
    for action in ("read-audit-devices", "enable-scratch-mount", "enable-userpass", "create-user", "change-password",
                   "delete-user", "disable-userpass", "disable-scratch-mount"):
        assert run.items[f"completeness[{action}]"] == "passed", action
    assert "password:user@v2" in run.secrets  # the changed password is looked for in every encoding
    bundle = json.loads((evidence / "evidence.json").read_text())
    (fc,) = [c for c in bundle["checks"] if c["id"] == "fail_closed"]
    reason = fc["outcomes"][0]["reason"]
    # the socket device sends to a receiver of the run's, which the drill breaks with the file device: nothing can write
    assert "answered 500" in reason and "not applied (read back: 404)" in reason and "logged again" in reason
    steps = [s["step"] for s in bundle["vault"]["drill"]["steps"]]
    assert steps == ["break", "write", "restore", "read-back", "logged-again"]
    devices = bundle["vault"]["devices"]
    assert devices["file"]["origin"]["mode"] == line_of(EXAMPLE / "server.hcl", 'mode          = "0600"')
    assert_no_secret_in_outputs(run)
    print(f"example audit wall time: {took:.2f} s")


def _set(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


# (id, change to the copied example, owning check, texts the failure names (FILE:LINE computed after the change))
Regression = Callable[[Path], tuple[str, list[str]]]


def _log_raw(d: Path) -> tuple[str, list[str]]:
    _set(d / "server.hcl", 'log_raw       = "false"', 'log_raw       = "true"')
    return "log_protection", ["logs raw values", line_of(d / "server.hcl", 'log_raw       = "true"')]


def _hmac_accessor(d: Path) -> tuple[str, list[str]]:
    _set(d / "server.hcl", 'hmac_accessor = "true"', 'hmac_accessor = "false"')
    return "log_protection", ["hmac_accessor=false", line_of(d / "server.hcl", 'hmac_accessor = "false"')]


def _mode(d: Path) -> tuple[str, list[str]]:
    _set(d / "server.hcl", 'mode          = "0600"', 'mode          = "0644"')
    return "log_protection", ["has mode 0644", line_of(d / "server.hcl", 'mode          = "0644"')]


def _non_hmac_mount(d: Path) -> tuple[str, list[str]]:
    _append(d / "bootstrap.sh", "bao secrets tune -audit-non-hmac-request-keys=value secret/\n")
    return "no_secret_leak", ["<canary:c1>", "under key 'value'"]


def _default_reads_secrets(d: Path) -> tuple[str, list[str]]:
    _append(d / "policies" / "default.hcl", 'path "secret/data/*" {\n  capabilities = ["read"]\n}\n')
    return "denied_access_logged", ["was not denied", "default"]


def _default_disables_audit(d: Path) -> tuple[str, list[str]]:
    _append(d / "policies" / "default.hcl", 'path "sys/audit/*" {\n  capabilities = ["update", "delete", "sudo"]\n}\n')
    return "log_protection", ["policies [default] holds delete, sudo, update on sys/audit/file"]


def _json_default_disables_audit(d: Path) -> tuple[str, list[str]]:
    """The team's default policy kept as JSON (OpenBao takes HCL or JSON): it was skipped, OpenBao's own audited
    in its place (red team rt18)."""
    (d / "policies" / "default.hcl").unlink()
    (d / "policies" / "default.json").write_text(json.dumps({"path": {
        "sys/audit/*": {"capabilities": ["update", "delete", "sudo"]},
        "sys/capabilities-self": {"capabilities": ["update"]}}}))
    return "log_protection", ["policies [default] holds delete, sudo, update on sys/audit/file"]


def _default_reads_raw_storage(d: Path) -> tuple[str, list[str]]:
    """sys/raw reads every secret past the ACLs (red team rt18: open to every token, it passed)."""
    _append(d / "server.hcl", "raw_storage_endpoint = true\n")
    _append(d / "policies" / "default.hcl", 'path "sys/raw/*" {\n  capabilities = ["read", "list"]\n}\n')
    return "log_protection", ["policies [default] holds list, read on sys/raw/*"]


def _forgeable_source(d: Path) -> tuple[str, list[str]]:
    """A listener that trusts X-Forwarded-For from every address lets any client write the remote_address the log
    records; the throw-away server replaces it, so only its stanza shows it (red team rt18: passed)."""
    _set(d / "server.hcl", '  tls_key_file  = "/etc/openbao/tls/tls.key"\n',
         '  tls_key_file  = "/etc/openbao/tls/tls.key"\n  x_forwarded_for_authorized_addrs = "0.0.0.0/0"\n')
    return "log_protection", ["trusts X-Forwarded-For from every address",
                              line_of(d / "server.hcl", "x_forwarded_for_authorized_addrs")]


def _plain_http_collector(d: Path) -> tuple[str, list[str]]:
    """An http device posting the audit stream over plain HTTP to another host: readable and changeable on the way
    (red team rt18: passed). Its token in the query is never shown."""
    _append(d / "server.hcl", 'audit "http" "siem" {\n  options {\n'
            '    uri = "http://siem.example.com:8080/ingest?token=rt18-not-shown"\n  }\n}\n')
    return "log_protection", ["posts its entries to http://siem.example.com:8080 over plain HTTP",
                              line_of(d / "server.hcl", "uri = ")]


def _api_audit_creation(d: Path) -> tuple[str, list[str]]:
    """Audit devices the API may enable, change and disable (OpenBao's declarative audit RFC: unsafe; red team
    rt18: passed)."""
    _append(d / "server.hcl", "unsafe_allow_api_audit_creation = true\n")
    return "log_protection", ["lets whoever holds sudo on sys/audit/* enable, change and disable audit devices",
                              line_of(d / "server.hcl", "unsafe_allow_api_audit_creation")]


def _header_without_hmac(d: Path) -> tuple[str, list[str]]:
    # an API key's header audited in clear (a correlation id in clear is no secret: log_protection notes it)
    _set(d / "bootstrap.sh", "x-correlation-id hmac=true", "x-api-key hmac=false")
    return "no_secret_leak", ["<canary:header>", "x-api-key"]


def _discarding_second_device(d: Path) -> tuple[str, list[str]]:
    _append(d / "server.hcl", 'audit "file" "debug" {\n  options {\n    file_path = "discard"\n  }\n}\n')
    return "fail_closed", ["served a request it could not record", "'debug' (file_path=discard, declared at "
                           + line_of(d / "server.hcl", 'file_path = "discard"')]


@pytest.mark.vault
@pytest.mark.parametrize("change", [_log_raw, _hmac_accessor, _mode, _non_hmac_mount, _default_reads_secrets,
                                    _default_disables_audit, _json_default_disables_audit,
                                    _default_reads_raw_storage, _forgeable_source, _plain_http_collector,
                                    _api_audit_creation, _header_without_hmac, _discarding_second_device],
                         ids=lambda f: f.__name__.strip("_"))
def test_each_regression_fails_the_gate_with_the_owning_check(pytester: pytest.Pytester, tmp_path: Path,
                                                              change: Regression) -> None:
    folder = copy_example(tmp_path)
    check, texts = change(folder)
    run = audit_config(pytester, folder)
    assert run.result.ret == 1, run.result.stdout.str()[-3000:]
    assert check in run.failed_checks()
    for t in texts:
        assert t in run.text(check), run.text(check)
    assert_no_secret_in_outputs(run)
    assert "rt18-not-shown" not in run.result.stdout.str() + run.result.stderr.str()


def test_listeners_that_let_every_client_set_its_logged_address_are_named() -> None:
    from pytest_auditready.vault.config import forgeable_sources

    hcl = ('listener "tcp" {\n  # x_forwarded_for_authorized_addrs = "0.0.0.0/0"\n'
           '  x_forwarded_for_authorized_addrs = ["10.0.0.0/8", "::/0"]\n  proxy_protocol_behavior = "use_always"\n}\n')
    assert [where for where, _ in forgeable_sources("s.hcl", hcl)] == ["s.hcl:3", "s.hcl:4"]
    narrow = 'listener "tcp" {\n  x_forwarded_for_authorized_addrs = "10.0.0.0/8, 192.168.10.0/24"\n}\n'
    assert forgeable_sources("s.hcl", narrow) == []
    assert forgeable_sources("s.json", '{"listener": {"tcp": {"x_forwarded_for_authorized_addrs": "0.0.0.0/0"}}}')


def test_api_audit_creation_is_found_where_it_is_turned_on() -> None:
    from pytest_auditready.vault.config import api_audit_sources

    hcl = ("# unsafe_allow_api_audit_creation = true\nunsafe_allow_api_audit_creation = false\n"
           "unsafe_allow_api_audit_creation = true\n")
    assert api_audit_sources("s.hcl", hcl) == ["s.hcl:3"]
    assert api_audit_sources("s.json", '{\n "unsafe_allow_api_audit_creation": true\n}') == ["s.json:2"]
    assert api_audit_sources("s.hcl", 'unsafe_allow_api_audit_creation = "false"\n') == []


def test_only_plain_http_to_another_host_is_an_exposed_transport() -> None:
    from pytest_auditready.checks.log_protection import _plain_http
    from pytest_auditready.vault.config import uri_origin

    for uri in ("http://siem.example.com/in", "HTTP://10.0.0.5:8080/", "http://[2001:db8::1]:80/x",
                "http://localhost.example.com/"):
        assert _plain_http(uri), uri
    for uri in ("https://siem.example.com/in", "http://127.0.0.1:5170/audit", "http://[::1]/a",
                "http://localhost:8080/", "http://LOCALHOST./", "http://app.localhost/", "", "not a uri",
                "http://[::1/"):
        assert not _plain_http(uri), uri
    assert uri_origin("https://user:pw@Siem.Example.com:8443/in?token=t#f") == "https://siem.example.com:8443"
    assert uri_origin("http://[2001:db8::1]:80/x") == "http://[2001:db8::1]:80"
    assert uri_origin("siem.example.com/in") == "" == uri_origin("http://[::1/")


def test_a_file_in_policies_that_is_no_policy_is_refused(tmp_path: Path) -> None:
    """A file of policies/ that would not be written (another suffix, a folder, two files of one policy) would
    leave OpenBao's own policy in its place: refused in one line naming it."""
    for extra in ("default.HCL.bak", "sub/", "app-payments.json"):
        folder = copy_example(tmp_path / extra.strip("/").replace(".", "-"))
        target = folder / "policies" / extra.strip("/")
        if extra.endswith("/"):
            target.mkdir()
        else:
            target.write_text("{}" if extra.endswith(".json") else "path \"x\" {}\n")
        with pytest.raises(AuditReadyError) as err:
            load_vault_config(folder)
        assert str(target) in str(err.value), err.value
    folder = copy_example(tmp_path / "json")
    (folder / "policies" / "extra.json").write_text('{"path": {"secret/*": {"capabilities": ["read"]}}}')
    assert "extra" in dict(load_vault_config(folder).policies)


@pytest.mark.vault
def test_a_configuration_without_an_audit_device_is_one_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    text = (folder / "server.hcl").read_text()
    (folder / "server.hcl").write_text(text[: text.index("# The audit log the audit reads")])
    run = audit_config(pytester, folder)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, out[-2000:]
    assert "declares no audit device: an audit stanza is missing" in out
    assert 'add audit "file" "<name>" { options { file_path = "..." } }' in out
    assert "Traceback" not in out


@pytest.mark.vault
def test_a_failing_bootstrap_is_one_line_with_its_last_stderr(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    _append(folder / "bootstrap.sh", "bao secrets enable -path=payments nosuchengine\n")
    run = audit_config(pytester, folder)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, out[-2000:]
    assert "the bootstrap './bootstrap.sh' failed (exit 2)" in out and "nosuchengine" in out
    assert "Traceback" not in out


@pytest.mark.vault
def test_a_bootstrap_that_hangs_is_cut_off_with_what_it_started(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    (folder / "bootstrap.sh").write_text("#!/bin/sh\nsleep 60 &\necho $! > sleeper.pid\nsleep 60\n")
    started = time.monotonic()
    run = audit_config(pytester, folder, bootstrap_timeout=1)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2 and time.monotonic() - started < 20, out[-2000:]
    assert "the bootstrap './bootstrap.sh' did not finish within 1 s" in out and "Traceback" not in out
    pid = int((folder / "sleeper.pid").read_text())
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "its child still runs"


@pytest.mark.vault
def test_a_bootstrap_that_leaves_a_process_behind_finishes_and_nothing_outlives_it(pytester: pytest.Pytester,
                                                                                   tmp_path: Path) -> None:
    """Fails without the fix (red team rt9 UM-1): a bootstrap that exits 0 with `cmd &` still holding its stderr
    was waited for to bootstrap_timeout (300 s by default) and then said not to have finished. It finishes when it
    exits; what it left running is ended with it."""
    folder = copy_example(tmp_path)
    text = (folder / "bootstrap.sh").read_text()
    (folder / "bootstrap.sh").write_text(text + "\nsleep 600 &\necho $! > sleeper.pid\nexit 0\n")
    started = time.monotonic()
    run = audit_config(pytester, folder, bootstrap_timeout=30)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret in (0, 1) and "did not finish" not in out, out[-2000:]
    assert time.monotonic() - started < 25, "waited for the process the bootstrap left running"
    pid = int((folder / "sleeper.pid").read_text())
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "its child still runs"


@pytest.mark.vault
def test_a_bootstrap_that_leaves_a_process_in_its_own_session_does_not_hang_the_run(pytester: pytest.Pytester,
                                                                                    tmp_path: Path) -> None:
    """A process started with setsid is out of the bootstrap's process group, out of reach, and holds its stderr:
    the run waited for it its whole life, bootstrap_timeout or not (red team rt30, F7)."""
    folder = copy_example(tmp_path)
    text = (folder / "bootstrap.sh").read_text()
    (folder / "bootstrap.sh").write_text(text + "\nsetsid sleep 40 &\necho $! > sleeper.pid\nexit 0\n")
    started = time.monotonic()
    try:
        run = audit_config(pytester, folder, bootstrap_timeout=30)
        out = run.result.stdout.str() + run.result.stderr.str()
        assert run.result.ret in (0, 1) and "did not finish" not in out, out[-2000:]
        assert time.monotonic() - started < 30, "waited for the process the bootstrap left in its own session"
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((folder / "sleeper.pid").read_text()), signal.SIGKILL)


@pytest.mark.vault
def test_a_failing_bootstraps_stderr_shows_the_root_token_in_no_spelling(pytester: pytest.Pytester,
                                                                         tmp_path: Path) -> None:
    """Fails without the fix (red team rt9 LK-1): only the raw root token was hidden; its base64 and upper-case
    forms in the bootstrap's stderr reached the one-line error."""
    folder = copy_example(tmp_path)
    _append(folder / "bootstrap.sh", 'printf "b64 %s\\n" "$(printf %s "$BAO_TOKEN" | base64)" >&2\n'
            'printf "up %s\\n" "$(printf %s "$BAO_TOKEN" | tr a-z A-Z)" >&2\nexit 3\n')
    run = audit_config(pytester, folder)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2 and "failed (exit 3)" in out, out[-2000:]
    said = out[out.index("failed (exit 3)"):].splitlines()[0]
    assert "b64 <root token>" in said and "up <root token>" in said, said
