"""Settings: [tool.auditready] + command line, validated once; bad keys and values are usage errors that name
the key, where it came from and what is allowed."""

from __future__ import annotations

import pytest

from pytest_auditready.config import KEYS, Settings, load, token_from_env
from pytest_auditready.errors import ConfigError


def test_defaults() -> None:
    s = load([])
    assert s == Settings()
    assert s.embedded and s.log_wait == 10.0 and s.timestamp_digits == 3 and s.max_skew == 2.0
    assert s.unprivileged_policies == ("default",)


def test_later_sources_win() -> None:
    s = load([("pyproject", {"target": "http://a:8200", "max_skew": 1}), ("cli", {"target": "embedded"})])
    assert s.target == "embedded" and s.max_skew == 1.0


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("log_wait", -1, "a number from 0 to 600"),
        ("log_wait", "soon", "a number from 0 to 600"),
        ("timestamp_digits", 1.5, "a whole number from 0 to 9"),
        ("timestamp_digits", True, "a whole number from 0 to 9"),
        ("target", "vault.example.com", "an http(s):// URL"),
        ("required_fields", ["time", "colour"], "a list drawn from time, identity"),
        ("unprivileged_policies", [], "a non-empty list of policy names"),
        ("log_max_mode", "0666", "never writable by group or others"),
        ("prefix", "a/b", "a path segment"),
        ("canaries", 0, "a whole number from 1 to 20"),
        ("token_ttl", "forever", 'a duration such as "15m"'),
    ],
)
def test_bad_value_names_key_source_and_allowed(key: str, value: object, allowed: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {key: value})])
    msg = str(exc.value)
    assert repr(key) in msg and "pyproject.toml" in msg and allowed in msg


def test_every_key_is_validated() -> None:
    # each key rejects a value of the wrong kind (a dict is never valid)
    for key in KEYS:
        with pytest.raises(ConfigError, match=repr(key)):
            load([("here", {key: {"x": 1}})])


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as exc:
        load([("pyproject.toml", {"log_wiat": 3})])
    assert "unknown key 'log_wiat' in pyproject.toml" in str(exc.value)
    assert "log_wait" in str(exc.value)


def test_token_only_from_environment() -> None:
    assert token_from_env({"BAO_TOKEN": "b", "VAULT_TOKEN": "v"}) == "v"
    assert token_from_env({"BAO_TOKEN": "b"}) == "b"
    assert token_from_env({}) is None
    assert "token" not in KEYS


def test_usage_error_through_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.auditready]\nmax_skew = 'lots'\n")
    result = pytester.runpytest("--auditready")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*auditready: bad value for 'max_skew' in ?tool.auditready? of*max_skew takes a number*"])
    assert "Traceback" not in result.stderr.str()


def test_bad_target_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--auditready", "--auditready-target=ftp://x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad value for 'target' in the command line*"])


def test_url_target_without_token_or_log(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    result = pytester.runpytest("--auditready", "--auditready-target=http://127.0.0.1:9")
    assert result.ret == 4
    assert "no token for http://127.0.0.1:9; fix: export VAULT_TOKEN" in result.stdout.str()
    monkeypatch.setenv("VAULT_TOKEN", "not-a-real-token")
    result = pytester.runpytest("--auditready", "--auditready-target=http://127.0.0.1:9")
    assert "needs the file its audit device writes; fix: pass --auditready-log PATH" in result.stdout.str()
    assert "not-a-real-token" not in result.stdout.str() + result.stderr.str()


def test_unreachable_vault_is_one_line(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    monkeypatch.setenv("VAULT_TOKEN", "not-a-real-token")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = pytester.runpytest("--auditready", f"--auditready-target=http://127.0.0.1:{port}", f"--auditready-log={log}")
    assert result.ret == 2
    out = result.stdout.str()
    assert f"cannot connect to the vault at http://127.0.0.1:{port}; fix: start it" in out
    assert "Traceback" not in out + result.stderr.str()


def test_prefix_must_stay_in_auditready_namespace() -> None:
    assert load([("p", {"prefix": "auditready-ci"})]).prefix == "auditready-ci"
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"prefix": "prod"})])
    assert "prefix 'prod' in [tool.auditready] of pyproject.toml is outside auditready's own namespace" in str(exc.value)
    assert "allow_foreign_prefix = true" in str(exc.value)
    assert load([("p", {"prefix": "prod", "allow_foreign_prefix": True})]).prefix == "prod"


def test_pyproject_of_the_invocation_dir_is_read_when_paths_lie_elsewhere(pytester: pytest.Pytester, tmp_path) -> None:
    # rootdir follows the log path (outside the project); the project's settings must still apply
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    log = elsewhere / "audit.log"
    log.write_text('{"time":"2026-11-22T18:51:49Z","type":"request"}\n')
    pytester.makepyprojecttoml("[tool.auditready]\ntimestamp_digits = 9\nrequire_tamper_evidence = false\n")
    result = pytester.runpytest("--auditready-offline", str(log), "-p", "no:cacheprovider", "--rootdir", str(elsewhere))
    # the project's timestamp_digits = 9 was applied: the precision finding quotes it
    assert "fewer than the 9 required" in result.stdout.str()
