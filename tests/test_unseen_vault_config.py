"""Vault configurations as real teams write them (fixtures/vault-config/unseen/, written to OpenBao's configuration
documentation): each either boots the throw-away OpenBao with the right verdicts, or is refused in one line naming
the file and line, the cause and the fix; none reaches anything outside the server's folder."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.vault.config import REPLACED_MARK, audit_hcl, choose_device, load_vault_config
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.auditrun import assert_no_secret_in_outputs, run_audit

UNSEEN = Path(__file__).resolve().parents[1] / "fixtures" / "vault-config" / "unseen"
PRODUCTION = UNSEEN / "production"
# The documented AWS example secret key the production fixture's disabled seal holds: never in any output.
SEAL_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def line_of(path: Path, needle: str) -> str:
    for i, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return f"{path.name}:{i}"
    raise AssertionError(f"{needle!r} not in {path}")


# -- reading (no server) -------------------------------------------------------------------------------------------
def test_the_production_configuration_is_read_as_openbao_reads_it() -> None:
    """A stanza split over lines, options as an inline map with a number and trailing commas, a heredoc
    description, type/path inside the stanza, a one-line stanza, a JSON device in the type/path shape; every
    stanza that reaches outside (telemetry sinks, the log file, plugins and their downloads too) is blanked."""
    cfg = load_vault_config(PRODUCTION)
    audit = PRODUCTION / "10-audit.hcl"
    devices = {a.name: a for a in cfg.audits}
    assert {n: a.type for n, a in devices.items()} == {"primary": "file", "siem": "socket", "local-syslog": "syslog",
                                                       "collector": "http"}
    primary = devices["primary"]
    assert primary.where == "10-audit.hcl:2" and primary.settings["description"].strip().startswith("primary audit")
    assert primary.options == {"file_path": "/var/log/openbao/audit.log", "mode": "0600", "hmac_accessor": "true",
                               "log_raw": "false", "elide_list_responses": "true"}
    assert primary.where_option("mode") == line_of(audit, "mode                 = 0600")
    assert devices["local-syslog"].options == {"facility": "AUTH", "tag": "openbao"}
    assert choose_device(cfg, None) is primary
    kept = dict(cfg.files)["00-server.hcl"]
    assert kept.count("\n") == (PRODUCTION / "00-server.hcl").read_text().count("\n")
    for gone in ("statsd", "dogstatsd", "/var/log/openbao/openbao.log", "/etc/openbao/plugins", "ghcr.io",
                 "plugin_auto_download", 'storage "raft"', 'seal "transit"', "retry_join", SEAL_SECRET):
        assert gone not in kept, gone
    assert "log_rotate_max_files" in kept and "user_lockout" in kept  # the rest is OpenBao's to read
    keys = {r.split()[1] for r in cfg.replaced}
    assert {"telemetry", "log_file", "plugin_directory", "plugin", "plugin_auto_download", "storage", "listener",
            "seal", "service_registration"} <= keys


@pytest.mark.parametrize(("fixture", "line", "says"), [
    ("bool-option.hcl", 5, "is the boolean false: OpenBao reads audit options as strings"),
    ("local-string.hcl", 3, "local at local-string.hcl:3 is not a boolean"),
    ("jsonx.hcl", 5, 'format = "jsonx"'),
    ("mode-0000.hcl", 5, "keeps the mode the host gave the file"),
    ("folder-path.hcl", 3, "is a folder"),
    ("prefix-not-allowed.hcl", 5, "unless allow_audit_log_prefixing = true"),
    ("file-path-outside-options.hcl", 2, "move file_path into the stanza's options"),
    ("unclosed-comment.hcl", 2, "a /* comment is never closed"),
    ("options-only.json", 0, "an object that holds only objects"),
    ("bool-option.json", 0, "audit option hmac_accessor of bool-option.json audit \"file\" \"main\" is true"),
])
def test_what_openbao_would_refuse_is_refused_in_one_line(fixture: str, line: int, says: str) -> None:
    """Each would boot the throw-away server (its audit stanzas are written again) while OpenBao refuses it on the
    production host, or would be judged on a file the host never writes."""
    with pytest.raises(AuditReadyError) as exc:
        load_vault_config(UNSEEN / "refused" / fixture)  # one server file, as --auditready-vault-config FILE
    text = str(exc.value)
    assert says in text and "\n" not in text and exc.value.fix
    if line:
        assert f"{fixture}:{line}" in text


def test_a_byte_order_mark_is_named_as_such(tmp_path: Path) -> None:
    for name in ("10-audit.hcl", "20-collector.json"):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (PRODUCTION / name).read_bytes())
        with pytest.raises(AuditReadyError, match="byte-order mark, which OpenBao refuses") as exc:
            load_vault_config(tmp_path / name)
        assert exc.value.fix == "save it as UTF-8 without BOM"


def test_crlf_editor_files_and_a_single_file_are_read(tmp_path: Path) -> None:
    """CRLF line endings (also in heredocs); the editor lock files OpenBao skips; one FILE given instead of DIR."""
    (tmp_path / "10-audit.hcl").write_bytes((PRODUCTION / "10-audit.hcl").read_bytes().replace(b"\n", b"\r\n"))
    (tmp_path / ".#10-audit.hcl").write_text("half-written {")
    (tmp_path / "#10-audit.hcl#").write_text("half-written {")
    cfg = load_vault_config(tmp_path)
    assert [a.name for a in cfg.audits] == ["primary", "siem", "local-syslog"]
    assert cfg.audits[0].where_option("log_raw") == "10-audit.hcl:13"
    one = load_vault_config(tmp_path / "10-audit.hcl")
    assert one.folder == tmp_path and [n for n, _ in one.files] == ["10-audit.hcl"]


@pytest.mark.parametrize(("written", "as_openbao"), [
    ('file_path = "/dev/null"', "discard"), ('file_path = "STDOUT"', "stdout"), ('path = "Discard"', "discard"),
    ('file_path = "/dev/stdout"', "stdout"), ('file_path = "/dev/stderr"', "stdout"),
    # other spellings of the same kernel files, and other devices that keep nothing (red team report rt12, F01)
    ('file_path = "/dev//null"', "discard"), ('file_path = "/dev/./null"', "discard"),
    ('file_path = "/var/../dev/null"', "discard"), ('file_path = "/dev/zero"', "discard"),
    ('file_path = "/dev/urandom"', "discard"), ('file_path = "/proc/thread-self/fd/1"', "stdout"),
    ('file_path = "/proc/1/fd/2"', "stdout"), ('file_path = "/dev/fd/1/"', "stdout"),
    ('file_path = "/dev/pts/0"', "stdout"),
])
def test_a_device_that_keeps_nothing_is_known_in_every_spelling(tmp_path: Path, written: str, as_openbao: str) -> None:
    (tmp_path / "server.hcl").write_text('audit "file" "main" {\n  options {\n    file_path = "/var/log/a.log"\n'
                                         f'  }}\n}}\naudit "file" "sink" {{\n  options {{\n    {written}\n  }}\n}}\n')
    cfg = load_vault_config(tmp_path)
    sink = cfg.audits[1]
    assert not sink.records and choose_device(cfg, None).name == "main"
    text, paths = audit_hcl(cfg, tmp_path / "work")
    assert set(paths) == {"main"}  # the sink is not moved into a file the drill could break
    assert f'"file_path" = "{as_openbao}"' in text and '"path"' not in text


@pytest.mark.parametrize("path", ["/var/log/vault/audit.log", "/dev/shm/vault/audit.log", "audit.log",
                                  "/srv/dev/null", " discard"])
def test_a_file_anyone_can_read_is_moved_into_the_runs_folder(tmp_path: Path, path: str) -> None:
    """A real file, even a volatile one (/dev/shm), a relative one, or one whose name only looks like a device's,
    is the device the run reads (OpenBao reads the keywords only as they are, in any case)."""
    (tmp_path / "server.hcl").write_text(f'audit "file" "main" {{\n  options {{\n    file_path = "{path}"\n'
                                         "  }\n}\n")
    cfg = load_vault_config(tmp_path)
    assert cfg.audits[0].records and choose_device(cfg, None).name == "main"
    assert set(audit_hcl(cfg, tmp_path / "work")[1]) == {"main"}


def test_the_older_path_option_is_moved_like_file_path(tmp_path: Path) -> None:
    (tmp_path / "server.hcl").write_text('audit "file" "main" {\n  options {\n    path = "/var/log/a.log"\n  }\n}\n')
    cfg = load_vault_config(tmp_path)
    text, paths = audit_hcl(cfg, tmp_path / "work")
    assert f'"file_path" = "{paths["main"]}"' in text and '"path"' not in text
    assert '\\"file_path\\":\\"server.hcl:3\\"' in text  # the evidence names the user's line


def test_no_message_quotes_a_string_it_could_not_read(tmp_path: Path) -> None:
    """A token pasted where a key belongs is not repeated in the refusal."""
    (tmp_path / "server.hcl").write_text('seal "transit" {\n  "s.0123456789abcdef"\n}\n')
    with pytest.raises(AuditReadyError) as exc:
        load_vault_config(tmp_path)
    assert "server.hcl:" in str(exc.value) and "0123456789abcdef" not in str(exc.value)


# -- booted --------------------------------------------------------------------------------------------------------
@pytest.mark.vault
def test_the_production_configuration_passes_and_reaches_nothing(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The whole production configuration boots (its log_level "warn" and log_format "json" do not hide what the
    drill waits for), passes every check, and nothing it names outside is reached: the statsd sink (a UDP port of
    this test) gets no datagram and the log file is not written; the evidence says what was left out."""
    folder = tmp_path / "cfg"
    shutil.copytree(PRODUCTION, folder)
    statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    statsd.bind(("127.0.0.1", 0))
    statsd.setblocking(False)
    server_log = tmp_path / "openbao-logs" / "openbao.log"
    server_log.parent.mkdir()
    text = (folder / "00-server.hcl").read_text()
    text = text.replace("statsd.example.internal:8125", "127.0.0.1:%d" % statsd.getsockname()[1])
    (folder / "00-server.hcl").write_text(text.replace("/var/log/openbao/openbao.log", str(server_log)))
    evidence = pytester.path / "evidence"
    try:
        run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", f"--auditready-evidence={evidence}")
        with pytest.raises(BlockingIOError):
            statsd.recv(65536)
    finally:
        statsd.close()
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert run.failed_checks() == set() and run.status("fail_closed") == "passed"
    assert not server_log.exists()
    bundle = json.loads((evidence / "evidence.json").read_text())
    devices = bundle["vault"]["devices"]
    assert set(devices) == {"primary", "siem", "local-syslog", "collector"}
    assert devices["primary"]["origin"]["log_raw"] == "10-audit.hcl:13"
    replaced = devices["primary"]["origin"][REPLACED_MARK]
    for what in ("00-server.hcl:62 telemetry", "00-server.hcl:80 log_file", "00-server.hcl:84 plugin_directory",
                 "00-server.hcl:6 storage", "00-server.hcl:50 seal"):
        assert what in replaced, replaced
    assert [s["status"] for s in bundle["vault"]["drill"]["steps"] if s["step"] == "write"] == [500]
    assert_no_secret_in_outputs(run)
    for where, out in [*run.outputs.items(), ("evidence", (evidence / "evidence.json").read_text())]:
        assert SEAL_SECRET not in out, where


@pytest.mark.vault
def test_a_dev_null_device_fails_fail_closed_at_its_line(pytester: pytest.Pytester) -> None:
    """file_path "/dev/null" keeps nothing, as "discard" does: the vault serves what it cannot record."""
    run = run_audit(pytester, None, None, f"--auditready-vault-config={UNSEEN / 'sinks'}")
    assert run.result.ret == 1, run.result.stdout.str()[-3000:]
    assert run.failed_checks() == {"fail_closed"}
    at = line_of(UNSEEN / "sinks" / "server.hcl", '"/dev/null"')
    assert f"'debug' (file_path=discard, declared at {at})" in run.text("fail_closed")
    assert_no_secret_in_outputs(run)


@pytest.mark.vault
def test_a_device_openbao_refuses_at_start_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "server.hcl").write_text('ui = true\n\naudit "file" "main" {\n  options {\n'
                                         '    file_path = "/var/log/a.log"\n    hmac_accessor = "sometimes"\n  }\n}\n')
    server = EmbeddedServer(vault_config=load_vault_config(tmp_path))
    with pytest.raises(AuditReadyError) as exc:
        server.start()
    assert "failed to create new audit device main/" in exc.value.cause and "sometimes" in exc.value.cause
    assert exc.value.fix.startswith("fix the audit stanza at server.hcl:3") and "\n" not in str(exc.value)
    assert server.workdir is None  # nothing left behind


@pytest.mark.vault
def test_a_quiet_log_level_and_a_metrics_sink_change_nothing(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The shipped example with production's log_level "warn" and log_format "json" (read again on the drill's
    SIGHUP: they hid the INFO lines the drill waits for) and a statsd sink (a UDP port of this test)."""
    folder = tmp_path / "cfg"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "vault-config", folder)
    statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    statsd.bind(("127.0.0.1", 0))
    statsd.setblocking(False)
    with (folder / "server.hcl").open("a") as f:
        f.write('\nlog_level  = "warn"\nlog_format = "json"\ntelemetry {\n  statsd_address = "127.0.0.1:%d"\n}\n'
                % statsd.getsockname()[1])
    try:
        run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}")
        with pytest.raises(BlockingIOError):
            statsd.recv(65536)
    finally:
        statsd.close()
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert run.status("fail_closed") == "passed"


def test_a_device_prefix_the_log_is_not_read_with_is_named_before_the_boot(tmp_path: Path) -> None:
    """With allow_audit_log_prefixing, a device may write a prefix before each entry: unless log_prefix says it,
    every entry of the run was refused as text before the JSON, after the log wait, naming no line of the file."""
    from pytest_auditready.config import Settings
    from pytest_auditready.errors import ConfigError
    from pytest_auditready.vault.targets import EmbeddedTarget, _same_prefix

    (tmp_path / "server.hcl").write_text('allow_audit_log_prefixing = true\n\naudit "file" "main" {\n  options {\n'
                                         '    file_path = "/var/log/a.log"\n    prefix = "AUDIT:"\n  }\n}\n')
    with pytest.raises(ConfigError) as exc:
        EmbeddedTarget(Settings(vault_config=str(tmp_path))).open()
    assert "server.hcl:6" in exc.value.cause and '"AUDIT:"' in exc.value.cause
    assert exc.value.fix.startswith('set log_prefix = "AUDIT:"')
    _same_prefix(load_vault_config(tmp_path), Settings(vault_config=str(tmp_path), log_prefix="AUDIT:"))  # agrees
