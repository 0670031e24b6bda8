"""The front ends and their configuration, graded as a user who reads only SPEC.md, the README and docs/ would use
them: every wrong setting is refused in one line naming the key or option and the fix, never a traceback and never
silently ignored; every right one runs clean, the same way for `auditready verify` and `pytest`.

The logs are a real OpenBao dev server's file audit device output, made by the module fixture below."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.cli import main
from pytest_auditready.config import ConfigError, discover, load, token_from_env
from tests.conftest import embedded_root

pytestmark = pytest.mark.vault

CLEAN = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real OpenBao audit log: KV writes and reads, a listing (the server's own set-up lines included)."""
    with embedded_root() as (server, client):
        for i in range(3):
            client.call("POST", f"secret/data/app/db{i}", {"data": {"k": f"value-{i}"}})
            client.call("GET", f"secret/data/app/db{i}")
        client.call("LIST", "secret/metadata/app")
        server.settle()
        log = tmp_path_factory.mktemp("log") / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
        yield log


@pytest.fixture
def project(tmp_path: Path, real_log: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the real log and a pyproject.toml that makes it pass; the working directory."""
    (tmp_path / "audit.log").write_bytes(real_log.read_bytes())
    (tmp_path / "audit.log").chmod(0o600)
    (tmp_path / "pyproject.toml").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["-q", "verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- [tool.auditready]: a key of the wrong type --------------------------------------------------------------------
@pytest.mark.parametrize("line", ['timestamp_digits = "3"', 'retention_days = "0"', 'max_skew = "2"',
                                  'require_tamper_evidence = "false"', 'allow_foreign_prefix = "true"'])
def test_a_quoted_number_or_boolean_in_the_file_is_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                                           line: str) -> None:
    """TOML has numbers and booleans: `"false"` is a string, and a gate must not switch a check off on a string
    (it was taken as false before)."""
    key = line.split(" =")[0]
    (project / "pyproject.toml").write_text("[tool.auditready]\n" + line + "\n")
    code, _, err = verify(capsys, "audit.log")
    msg = one_line(err)
    assert code == 2 and f"'{key}'" in msg and "a quoted string" in msg and "without quotes" in msg


def test_the_same_keys_written_as_toml_numbers_and_booleans_run_clean(project: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(CLEAN + "timestamp_digits = 3\nmax_skew = 2\nallow_foreign_prefix = false\n")
    code, out, err = verify(capsys, "audit.log")
    assert code == 0 and not err and "checks hold" in out


def test_an_empty_required_fields_list_is_refused_not_a_check_that_asks_nothing() -> None:
    with pytest.raises(ConfigError) as exc:
        load([("pyproject.toml", {"required_fields": []})])
    assert "'required_fields'" in str(exc.value) and "at least one" in str(exc.value)


# -- where the settings come from --------------------------------------------------------------------------------
def test_top_level_keys_beside_the_table_of_a_config_file_are_refused(project: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """They were left unread without a word (here: tamper_evidence then failed as if never switched off)."""
    (project / "audit.toml").write_text("require_tamper_evidence = false\n[tool.auditready]\nretention_days = 0\n")
    code, _, err = verify(capsys, "--config", "audit.toml", "audit.log")
    msg = one_line(err)
    assert code == 2 and "require_tamper_evidence" in msg and "[tool.auditready]" in msg
    (project / "audit.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")  # top level only
    assert verify(capsys, "--config", "audit.toml", "audit.log")[0] == 0
    (project / "audit.toml").write_text(CLEAN)  # the table only
    assert verify(capsys, "--config", "audit.toml", "audit.log")[0] == 0


@pytest.mark.parametrize("table", ["tool.audit-ready", "tool.pytest-auditready", "tool.AuditReady", "tools.auditready"])
def test_a_misspelt_table_name_is_refused_not_ignored(project: Path, capsys: pytest.CaptureFixture[str],
                                                      table: str) -> None:
    (project / "pyproject.toml").write_text(CLEAN + f"[{table}]\nlog_wait = 3\n")
    code, _, err = verify(capsys, "audit.log")
    msg = one_line(err)
    assert code == 2 and f"[{table}]" in msg and "rename the table [tool.auditready]" in msg


def test_a_pyproject_without_the_table_given_as_config_is_refused(project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (project / "other.toml").write_text('[project]\nname = "x"\n')
    code, _, err = verify(capsys, "--config", "other.toml", "audit.log")
    assert code == 2 and "has no [tool.auditready] table" in one_line(err)


def test_a_config_file_with_a_byte_order_mark_says_so(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_bytes(b"\xef\xbb\xbf" + CLEAN.encode())
    code, _, err = verify(capsys, "audit.log")
    assert code == 2 and "byte-order mark" in one_line(err)


def test_an_empty_config_path_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="empty path"):
        discover({}, "", options={"config": "--auditready-config"})
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--config", "", "audit.log"])
    assert exc.value.code == 2 and "--config takes a path" in one_line(capsys.readouterr().err)


def test_both_front_ends_read_the_same_table_from_a_subfolder(tmp_path: Path, real_log: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str],
                                                              pytester: pytest.Pytester) -> None:
    """A sub-package's pyproject.toml without the table does not hide the repository's (pytest's own ini lookup
    skips it too): before, `auditready verify` read the empty sub-package file while pytest read the repository's."""
    repo = pytester.path
    (repo / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n" + CLEAN)
    (repo / "audit.log").write_bytes(real_log.read_bytes())
    (repo / "audit.log").chmod(0o600)
    sub = repo / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "sub"\n')
    monkeypatch.chdir(sub)
    code, out, err = verify(capsys, "../audit.log")
    assert code == 0, out + err
    result = pytester.runpytest("--auditready-offline", "../audit.log")
    assert result.ret == 0
    # the sub-package's own table wins for both
    (sub / "pyproject.toml").write_text('[project]\nname = "sub"\n[tool.auditready]\nlog_wait = 3\n')
    assert verify(capsys, "../audit.log")[0] == 1
    assert pytester.runpytest("--auditready-offline", "../audit.log").ret == 1


# -- target URLs --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "hint"), [
    ("http://127.0.0.1:8200?x=1", "without a ?query"),
    ("http://127.0.0.1:8200#top", "without a ?query or #fragment"),
    ("http://127.0.0.1:99999", "a port from 1 to 65535"),
    ("http://127.0.0.1:abc", "a port from 1 to 65535"),
    ("http://127.0.0.1:0", "a port from 1 to 65535"),
    ("127.0.0.1:8200", "add the scheme"),
    ("vault.example.com", "add the scheme"),
    ("ftp://vault", "http(s)://"),
    # the API path: every request would go to /v1/v1/... and be refused as a bad token (red team rt12, F08)
    ("http://127.0.0.1:8200/v1", "without the API's /v1"),
    ("https://proxy.example.com/vault/V1/", "without the API's /v1"),
])
def test_a_target_url_that_would_fail_at_the_first_request_is_a_usage_error(url: str, hint: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load([("the command line", {"target": url})], options={"target": "--auditready-target"})
    assert "--auditready-target" in str(exc.value) and hint in str(exc.value)


@pytest.mark.parametrize(("url", "kept"), [
    ("HTTPS://Vault.example.com:8200/", "https://Vault.example.com:8200"),
    ("http://[::1]:8200", "http://[::1]:8200"),
    ("https://proxy.example.com/vault/", "https://proxy.example.com/vault"),
])
def test_target_urls_as_vault_addr_holds_them_are_accepted(url: str, kept: str) -> None:
    assert load([("pyproject.toml", {"target": url})]).target == kept


def test_a_bad_option_value_names_the_option(project: Path, capsys: pytest.CaptureFixture[str],
                                             pytester: pytest.Pytester) -> None:
    code, _, err = verify(capsys, "--fail-on", "severe", "audit.log")
    msg = one_line(err)
    assert code == 2 and "--fail-on takes" in msg and "low, medium, high, critical" in msg
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), "--auditready-fail-on=severe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--auditready-fail-on takes*low, medium, high, critical*"])


# -- verify options -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--junit", "--json", "--sarif", "--evidence", "--canaries", "--public-key",
                                    "--dask-scheduler"])
def test_an_empty_path_option_is_refused_not_a_report_silently_not_written(
        project: Path, capsys: pytest.CaptureFixture[str], option: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", option, "", "audit.log"])
    assert exc.value.code == 2
    assert f"{option} takes a" in one_line(capsys.readouterr().err)


def test_a_second_canaries_file_is_refused_not_dropped(project: Path, capsys: pytest.CaptureFixture[str],
                                                       pytester: pytest.Pytester) -> None:
    """Before, the last --canaries won and the first file's known secrets were not looked for."""
    (project / "a.txt").write_text("a-known-secret-value\n")
    (project / "b.txt").write_text("another-secret-value\n")
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--canaries", "a.txt", "--canaries", "b.txt", "audit.log"])
    assert exc.value.code == 2 and "--canaries was given twice" in one_line(capsys.readouterr().err)
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"),
                                f"--auditready-canaries={project / 'a.txt'}",
                                f"--auditready-canaries={project / 'b.txt'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--auditready-canaries was given 2 times*"])
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"),
                                f"--auditready-canaries={project / 'a.txt'}", "-p", "no:cacheprovider")
    assert result.ret == 0  # the log holds none of them: clean


# -- tokens from the environment ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["hvs.abc\u20acdef-0123456789", "hvs.first\nhvs.second", "hvs.a\x01b-0123456789"])
def test_a_token_no_header_can_carry_is_refused_by_name_never_shown(bad: str) -> None:
    with pytest.raises(ConfigError) as exc:
        token_from_env({"VAULT_TOKEN": bad})
    text = str(exc.value)
    assert "VAULT_TOKEN" in text and bad not in text and "hvs." not in text


def test_token_variables_as_documented() -> None:
    assert token_from_env({"VAULT_TOKEN": "hvs.v\n", "BAO_TOKEN": "hvs.b"}) == "hvs.v"  # VAULT_TOKEN first
    assert token_from_env({"VAULT_TOKEN": "  ", "BAO_TOKEN": " hvs.b\n"}) == "hvs.b"  # blank: unset
    assert token_from_env({"VAULT_TOKEN": ""}) is None


def test_a_non_ascii_token_is_one_line_exit_4_not_an_internal_error(pytester: pytest.Pytester, bao: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: INTERNALERROR with a UnicodeEncodeError traceback (exit 3)."""
    server = bao()
    pytester.makepyprojecttoml(CLEAN)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    monkeypatch.setenv("VAULT_TOKEN", "tok\u20acen-of-the-operator")
    result = pytester.runpytest_subprocess("--auditready", f"--auditready-target={server.url}",
                                           f"--auditready-log={server.log_path}", "-p", "no:cacheprovider")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "INTERNALERROR" not in text and "Traceback" not in text and "VAULT_TOKEN holds a character" in text
    assert "of-the-operator" not in text


# -- pytest: outputs refused before the vault is touched ------------------------------------------------------------
@pytest.mark.parametrize(("option", "make"), [("--auditready-evidence", "file"), ("--auditready-report", "dir"),
                                              ("--auditready-sarif", "dir")])
def test_an_unwritable_output_is_refused_before_the_vault_is_touched(pytester: pytest.Pytester, bao: Any,
                                                                     url_env: Any, option: str, make: str) -> None:
    """Before: the whole scenario ran against the vault, then the run ended with exit 2 at the report."""
    server = bao()
    url_env(server)
    pytester.makepyprojecttoml(CLEAN)
    target = pytester.path / "out"
    if make == "file":
        target.write_text("")
    else:
        target.mkdir()
    size = server.log_path.stat().st_size
    result = pytester.runpytest("--auditready", f"--auditready-target={server.url}",
                                f"--auditready-log={server.log_path}", f"{option}={target}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*auditready: cannot write the *out*; fix: choose the path of a *"])
    assert server.log_path.stat().st_size == size  # not one request was sent


# -- a deselected item never lets its check read as passed, nor the run pass (red team rt74 F1) ---------------------
def test_a_check_deselected_on_one_file_is_not_passed_for_the_run(project: Path, pytester: pytest.Pytester) -> None:
    (project / "archived").mkdir()  # the log's copy in an archive folder: one file kept twice, judged once
    second = project / "archived" / "audit.log"
    second.write_bytes((project / "audit.log").read_bytes())
    second.chmod(0o600)
    pytester.makepyprojecttoml(CLEAN)
    report = pytester.path / "compliance.xml"
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), str(second),
                                "-k", "not (archived and required_fields)", f"--auditready-report={report}",
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()  # a run that leaves out items fails
    cases = {tc.get("name"): tc for tc in ET.parse(report).iter("testcase")}
    skipped = cases["required_fields"].find("skipped")
    assert skipped is not None and "not run on every file: not on" in (skipped.get("message") or "")
    assert "archived" in (skipped.get("message") or "")
    assert cases["timestamp_precision"].find("skipped") is None  # ran on both files: passed
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), str(second),
                                f"--auditready-report={report}", "-p", "no:cacheprovider")
    assert result.ret == 0 and ET.parse(report).getroot().find(".//testcase[@name='required_fields']/skipped") is None


def test_a_named_file_all_of_whose_items_are_deselected_fails_the_run(project: Path,
                                                                      pytester: pytest.Pytester) -> None:
    """`-k "not audit.log.1"` (in addopts, or a CI matrix) left a named file out of the gate: exit 0, SARIF
    "passed", while the summary said no check holds on every file (red team rt53 F6). The run fails and says which
    file; narrowing to some checks (`-k completeness`) leaves checks out, and fails too (red team rt74 F1)."""
    (project / "archived").mkdir()
    second = project / "archived" / "audit.log"
    second.write_bytes((project / "audit.log").read_bytes())
    second.chmod(0o600)
    pytester.makepyprojecttoml(CLEAN)
    sarif = pytester.path / "out.sarif"
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), str(second), "-k", "not archived",
                                f"--auditready-sarif={sarif}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(["auditready: 1 named file(s) judged by no check, all their items deselected*"
                                 "archived*the run fails*"])
    assert json.loads(sarif.read_text())["runs"][0]["invocations"][0]["properties"]["verdict"] == "failed"
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), str(second), "-k", "completeness",
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(["auditready: 10 check(s) not run: *: deselected *a run that leaves out audit items "
                                 "never passes*"])


def test_a_live_check_deselected_on_one_action_is_not_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.auditready]\n")
    report = pytester.path / "compliance.xml"
    result = pytester.runpytest("--auditready", "-k", "not read-allowed-c1", f"--auditready-report={report}",
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()  # a run that leaves out items fails
    skipped = ET.parse(report).getroot().find(".//testcase[@name='completeness']/skipped")
    assert skipped is not None and "read-allowed-c1" in (skipped.get("message") or "")


def test_audit_options_without_the_audit_are_said(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--auditready-target=https://vault.example.com:8200", "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--auditready-target given without --auditready*no audit runs*"])
    assert "without --auditready" not in pytester.runpytest("-p", "no:cacheprovider").stdout.str()


def test_the_usage_error_for_a_bad_key_is_one_line_for_pytest_too(project: Path, pytester: pytest.Pytester) -> None:
    """The working directory's pyproject.toml (the project's), as for `auditready verify`."""
    (project / "pyproject.toml").write_text('[tool.auditready]\nrequire_tamper_evidence = "no"\n')
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: auditready: bad value for 'require_tamper_evidence'*a quoted string*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("mode", ["0400", "0700", "0650", "0440"])
def test_a_log_max_mode_whose_owner_or_execute_bits_would_be_ignored_is_refused(mode: str) -> None:
    """log_protection judges group and others' read bits against log_max_mode: "0400" read as if it asked the owner
    not to write, and a 0600 log then passed it."""
    with pytest.raises(ConfigError) as exc:
        load([("pyproject.toml", {"log_max_mode": mode})])
    assert "'log_max_mode'" in str(exc.value) and '"0640"' in str(exc.value)
    for ok in ("0600", "0640", "600", "0644", "0604"):
        assert load([("pyproject.toml", {"log_max_mode": ok})]).log_max_mode == ok.zfill(4)


def test_vault_cli_variables_the_run_does_not_read_are_named(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Only VAULT_TOKEN/BAO_TOKEN are read (README): a VAULT_ADDR pointing at a vault while the default embedded
    target runs is said, not left to be mistaken for an audit of that vault."""
    pytester.makepyprojecttoml("[tool.auditready]\n")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.com:8200")
    result = pytester.runpytest("--auditready", "--collect-only", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*VAULT_ADDR is set, and the audit runs against the embedded*--auditready-target*"])
    monkeypatch.delenv("VAULT_ADDR")
    pytester.makepyprojecttoml('[tool.auditready]\nlog = "/var/log/vault/audit.log"\n')
    result = pytester.runpytest("--auditready", "--collect-only", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*log is set, and the audit runs against the embedded*log is not read*"])
    monkeypatch.setenv("VAULT_NAMESPACE", "team-a")
    result = pytester.runpytest("--auditready", "--collect-only", "-p", "no:cacheprovider",
                                "--auditready-target=https://vault.example.com:8200")
    result.stdout.fnmatch_lines(["*VAULT_NAMESPACE is set but not read: set namespace in ?tool.auditready?*"])
    pytester.makepyprojecttoml('[tool.auditready]\nnamespace = "team-a"\n')
    result = pytester.runpytest("--auditready", "--collect-only", "-p", "no:cacheprovider",
                                "--auditready-target=https://vault.example.com:8200")
    assert "VAULT_NAMESPACE" not in result.stdout.str()


@pytest.mark.parametrize("command", ["verify", "seal", "access", "keygen"])
def test_version_answers_after_a_subcommand_too(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`auditready verify --version` said "the following arguments are required: PATH" (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main([command, "--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("auditready ")


def test_seal_interval_without_follow_is_refused_not_ignored(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "k"]) == 0
    capsys.readouterr()
    assert main(["seal", "audit.log", "--key", "k", "--interval", "5"]) == 2
    assert "--interval applies with --follow only" in one_line(capsys.readouterr().err)
    assert not (project / "audit.log.digests").exists()
    with pytest.raises(SystemExit) as exc:
        main(["seal", "audit.log", "--key", ""])
    assert exc.value.code == 2 and "--key: takes the path of the private key" in one_line(capsys.readouterr().err)
    assert main(["seal", "audit.log", "--key", "k"]) == 0  # the right form seals
    assert (project / "audit.log.digests").exists()


def test_the_settings_fixture_refuses_a_bad_key_in_one_line(pytester: pytest.Pytester) -> None:
    """Before: the test errored with the fixture's traceback (pytest.UsageError raised inside it)."""
    pytester.makepyprojecttoml("[tool.auditready]\nlog_wiat = 3\n")
    pytester.makepyfile("def test_x(auditready_settings):\n    assert auditready_settings\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str()
    assert "Traceback" not in text and "def auditready_settings" not in text
    result.stdout.fnmatch_lines(["! auditready: unknown key 'log_wiat'*(did you mean 'log_wait'?)*"])
    pytester.makepyprojecttoml("[tool.auditready]\nlog_wait = 3\n")
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0


def test_the_accounting_names_no_entries_judged_by_a_deselected_check(project: Path,
                                                                      pytester: pytest.Pytester) -> None:
    """Before: `-k completeness` still reported "entries judged: ... no_secret_leak 24 ..." for checks that did not
    run, beside their "not run" verdict. (The run fails: it left out checks, red team rt74 F1.)"""
    pytester.makepyprojecttoml(CLEAN)
    evidence = pytester.path / "evidence"
    result = pytester.runpytest("--auditready-offline", str(project / "audit.log"), "-k", "completeness",
                                f"--auditready-evidence={evidence}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    judged = [ln for ln in result.stdout.lines if "entries judged:" in ln]
    assert judged and "completeness" in judged[0] and "no_secret_leak" not in judged[0], judged
    import json

    accounting = json.loads((evidence / "evidence.json").read_text())["accounting"]
    assert [sorted(a["checks"]) for a in accounting] == [["completeness"]]


def test_a_path_that_starts_with_a_dash_is_explained(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: "the following arguments are required: PATH", with the path given right there."""
    (project / "-x.log").write_bytes((project / "audit.log").read_bytes())
    (project / "-x.log").chmod(0o600)
    with pytest.raises(SystemExit) as exc:
        main(["verify", "-j1", "-x.log"])
    msg = one_line(capsys.readouterr().err)
    assert exc.value.code == 2 and "unrecognized option '-x.log'" in msg and "./-x.log" in msg
    assert verify(capsys, "--", "-x.log")[0] == 0
    assert verify(capsys, "./-x.log")[0] == 0


# -- an output that names an input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("option", "victim"), [("--junit", "audit.log"), ("--json", "audit.log"),
                                                ("--sarif", "audit.log.digests"), ("--junit", "canaries.txt")])
def test_verify_never_writes_a_report_over_what_it_reads(project: Path, capsys: pytest.CaptureFixture[str],
                                                         option: str, victim: str) -> None:
    """Before: `--junit audit.log` replaced the audit log it had just judged with the JUnit XML (exit 0)."""
    (project / "canaries.txt").write_text("a-known-secret-value\n")
    (project / "audit.log.digests").write_text("chain\n")
    before = (project / victim).read_bytes()
    code, _, err = verify(capsys, "--canaries", "canaries.txt", option, f"./{victim}", "audit.log")
    msg = one_line(err)
    assert code == 2 and f"{option} would be written over" in msg and (project / victim).read_bytes() == before


def test_verify_refuses_two_reports_on_one_path(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = verify(capsys, "--junit", "out", "--sarif", "out", "audit.log")
    assert code == 2 and "--sarif would be written over --junit" in one_line(err)
    assert not (project / "out").exists()


def test_pytest_never_writes_a_report_over_the_log(project: Path, pytester: pytest.Pytester) -> None:
    log = project / "audit.log"
    before = log.read_bytes()
    pytester.makepyprojecttoml(CLEAN)
    for args in ([f"--junitxml={log}"], [f"--auditready-report={log}"], ["--junitxml=x.xml", "--auditready-report=x.xml"]):
        result = pytester.runpytest("--auditready-offline", str(log), "-p", "no:cacheprovider", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stdout.fnmatch_lines(["! auditready: --* would be written over *; fix: give --* a path of its own !"])
        assert log.read_bytes() == before


def test_a_live_report_named_like_the_vault_log_is_refused_before_the_run(pytester: pytest.Pytester, bao: Any,
                                                                          url_env: Any) -> None:
    server = bao()
    url_env(server)
    pytester.makepyprojecttoml(CLEAN)
    size = server.log_path.stat().st_size
    result = pytester.runpytest("--auditready", f"--auditready-target={server.url}",
                                f"--auditready-log={server.log_path}", f"--auditready-report={server.log_path}",
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*--auditready-report would be written over the audit log*"])
    assert server.log_path.stat().st_size == size
