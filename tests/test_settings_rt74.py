"""Red team rt74. F2: the unprivileged identity carries the vault's default policy, as every token the vault makes
does (OpenBao's `token create -policy=X` answers `token_policies [default X]`; an AppRole login of a role with
token_policies=app-payments holds [app-payments, default]), whatever unprivileged_policies names; only
unprivileged_no_default_policy = true leaves it off, and the pass then says so. F5: settings read from a --config
file while the nearest pyproject.toml has a [tool.auditready] table say so in one line, and what a run says about
a setting names where it was set."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_auditready.config import KEYS, Settings, discover, load
from pytest_auditready.errors import ConfigError
from tests._native_runs import completed
from tests.auditrun import AuditRun, assert_no_secret_in_outputs, run_audit

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vault-config"
LOG = ROOT / "tests" / "schemas" / "opt_correct.log"  # a real OpenBao file device's log

# rt74 F2's widened default policy: every token may switch the audit devices off and read every secret
WIDENED = '''
path "sys/audit/*" { capabilities = ["create", "read", "update", "delete", "sudo"] }
path "sys/audit"   { capabilities = ["read", "sudo"] }
path "secret/*"    { capabilities = ["read", "list"] }
'''
NOT_JUDGED = "was made without the vault's default policy"


# -- F2: the key ---------------------------------------------------------------------------------------------
def test_unprivileged_no_default_policy_is_a_bool_off_by_default_and_stated_in_the_configuration() -> None:
    assert Settings().unprivileged_no_default_policy is False
    assert "unprivileged_no_default_policy" in KEYS
    s = load([("users.toml", {"unprivileged_policies": ["app-payments"], "unprivileged_no_default_policy": True})])
    assert s.unprivileged_no_default_policy is True
    assert s.to_json()["unprivileged_no_default_policy"] is True  # the evidence's configuration
    with pytest.raises(ConfigError) as exc:  # a TOML boolean, as every boolean setting
        load([("users.toml", {"unprivileged_no_default_policy": "true"})])
    assert "'unprivileged_no_default_policy' in users.toml" in str(exc.value)
    assert "true or false, written without quotes" in str(exc.value)


@pytest.mark.parametrize("policies", [None, ["default"], ["app-payments", "default"]])
def test_no_default_policy_with_default_in_the_list_is_refused(policies: object) -> None:
    """OpenBao leaves "default" off a token made with no_default_policy even where the request names it (a token
    of ["default"] so made holds no policy): the two settings together would judge an identity nobody has."""
    keys: dict[str, object] = {"unprivileged_no_default_policy": True}
    if policies is not None:
        keys["unprivileged_policies"] = policies
    with pytest.raises(ConfigError) as exc:
        load([("users.toml", keys)])
    msg = str(exc.value)
    assert "unprivileged_no_default_policy = true in users.toml" in msg and 'names "default"' in msg
    assert "unprivileged_policies" in msg.split("fix:")[1]


# -- F2: the live audit --------------------------------------------------------------------------------------
def _example(tmp: Path, widened: bool) -> Path:
    folder = tmp / "vault-config"
    shutil.copytree(EXAMPLE, folder)
    if widened:
        default = folder / "policies" / "default.hcl"
        default.write_text(default.read_text() + WIDENED)
    return folder


def _audit(pytester: pytest.Pytester, folder: Path, **keys: object) -> tuple[AuditRun, dict[str, object]]:
    evidence = pytester.path / "evidence"
    run = run_audit(pytester, None, None, f"--auditready-vault-config={folder}", f"--auditready-evidence={evidence}",
                    bootstrap="./bootstrap.sh", **keys)
    bundle = json.loads((evidence / "evidence.json").read_text()) if (evidence / "evidence.json").exists() else {}
    return run, bundle


def _reason(bundle: dict[str, object], check: str) -> str:
    checks = bundle.get("checks")
    assert isinstance(checks, list)
    (c,) = [c for c in checks if c["id"] == check]
    return "\n".join(str(o.get("reason") or "") for o in c["outcomes"])


@pytest.mark.vault
def test_a_widened_default_policy_fails_whatever_unprivileged_policies_names(pytester: pytest.Pytester) -> None:
    """rt74 F2: unprivileged_policies = ["app-payments"] (what the example's AppRole gives) used to make the
    identity without default, and a default.hcl granting sudo on sys/audit/* and read on secret/* passed."""
    run, bundle = _audit(pytester, _example(pytester.path, widened=True), unprivileged_policies=["app-payments"])
    out = run.result.stdout.str()
    assert run.result.ret == 1, out[-3000:]
    assert {"log_protection", "denied_access_logged"} <= run.failed_checks(), out[-3000:]
    text = run.text("log_protection")
    assert "An identity with only the policies [app-payments, default]" in text
    assert "holds create, delete, sudo, update on sys/audit/file" in text
    assert "was not denied (HTTP 200)" in run.text("denied_access_logged")
    assert bundle["configuration"]["unprivileged_no_default_policy"] is False  # type: ignore[index]
    assert_no_secret_in_outputs(run)


@pytest.mark.vault
def test_the_example_passes_with_the_policies_its_users_get(pytester: pytest.Pytester) -> None:
    """The correct configuration, judged as its AppRole users' tokens are made (app-payments and default): no
    finding, and nothing said of a policy left out."""
    run, bundle = _audit(pytester, _example(pytester.path, widened=False), unprivileged_policies=["app-payments"])
    out = run.result.stdout.str()
    assert run.result.ret == 0, out[-3000:]
    assert run.failed_checks() == set()
    assert run.status("log_protection") == run.status("denied_access_logged") == "passed"
    assert NOT_JUDGED not in json.dumps(bundle) and NOT_JUDGED not in out


@pytest.mark.vault
def test_users_without_default_are_judged_without_it_and_the_pass_says_so(pytester: pytest.Pytester) -> None:
    """unprivileged_no_default_policy = true: the identity is made without default (what the widened default
    policy grants is then not judged, as it was before), and the pass of log_protection says so in the reports."""
    run, bundle = _audit(pytester, _example(pytester.path, widened=True), unprivileged_policies=["app-payments"],
                         unprivileged_no_default_policy=True)
    out = run.result.stdout.str()
    assert run.result.ret == 0, out[-3000:]
    assert run.status("log_protection") == run.status("denied_access_logged") == "passed"
    reason = _reason(bundle, "log_protection")
    assert NOT_JUDGED in reason and "unprivileged_no_default_policy = true in [tool.auditready] of" in reason
    assert NOT_JUDGED in run.outputs["compliance report"]
    assert bundle["configuration"]["unprivileged_no_default_policy"] is True  # type: ignore[index]
    assert bundle["vault"]["unprivileged_policies"] == ["app-payments"]  # type: ignore[index]


@pytest.mark.vault
def test_a_refusal_of_the_vault_names_the_file_the_setting_is_in(pytester: pytest.Pytester) -> None:
    run, _ = _audit(pytester, _example(pytester.path, widened=False), unprivileged_policies=["ordinary-users"])
    out = run.result.stdout.str()
    assert run.result.ret == 2, out[-3000:]
    assert "unprivileged_policies names the policy 'ordinary-users'" in out
    assert "fix: set unprivileged_policies in [tool.auditready] of pyproject.toml to the policies" in out


# -- F5: where the settings came from ------------------------------------------------------------------------
PYPROJECT = '''[tool.auditready]
retention_days = 0
require_tamper_evidence = false

[[tool.auditready.access.rules]]
name = "nobody reads the run's secret"
paths = ["secret/data/*"]
operations = ["read"]
identities = []
'''
LAX = "retention_days = 0\nrequire_tamper_evidence = false\n"
NOTICE = "the settings are those of {option} lax.toml alone: the [tool.auditready] table of pyproject.toml is not read"


def _project(tmp: Path) -> Path:
    (tmp / "pyproject.toml").write_text(PYPROJECT)
    (tmp / "lax.toml").write_text(LAX)
    shutil.copy(LOG, tmp / "audit.log")
    return tmp


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return completed([*args], cwd, timeout=120)


def _skips(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("SKIP ")]


def test_verify_with_a_config_file_says_the_pyproject_table_is_not_read_and_names_the_file(tmp_path: Path) -> None:
    work = _project(tmp_path)
    r = _cli(work, "verify", "audit.log", "--config", "lax.toml")
    notices = [line for line in r.stderr.splitlines() if "not merged" in line]
    assert notices == ["auditready: " + NOTICE.format(option="--config") + " (the two are not merged)"], r.stderr
    skips = _skips(r.stdout)
    assert any("(retention_days = 0 in lax.toml: no retention period is required)" in s for s in skips), skips
    assert any("(require_tamper_evidence = false in lax.toml: tamper evidence" in s for s in skips), skips
    assert any("(no [[access.rules]] in lax.toml: there is no rule" in s for s in skips), skips
    assert not any("[tool.auditready]" in s for s in skips), skips


def test_verify_reading_the_pyproject_table_names_it_and_says_nothing_more(tmp_path: Path) -> None:
    work = _project(tmp_path)
    for args in ((), ("--config", "pyproject.toml")):  # the table itself, found or named
        r = _cli(work, "verify", "audit.log", *args)
        assert "not merged" not in r.stderr and "auditready:" not in r.stderr, r.stderr
        assert "FAIL access_policy" in r.stdout  # the table's rule is read
        skips = _skips(r.stdout)
        assert any("(retention_days = 0 in [tool.auditready] of pyproject.toml: no retention" in s for s in skips)
        assert any("(require_tamper_evidence = false in [tool.auditready] of pyproject.toml:" in s for s in skips)


def test_a_config_file_with_a_table_names_its_rules_as_that_table_does(tmp_path: Path) -> None:
    (tmp_path / "team.toml").write_text("[tool.auditready]\n" + LAX)
    shutil.copy(LOG, tmp_path / "audit.log")
    r = _cli(tmp_path, "verify", "audit.log", "--config", "team.toml")
    assert "auditready:" not in r.stderr, r.stderr  # no pyproject.toml: nothing unread to say
    skips = _skips(r.stdout)
    assert any("(no [[tool.auditready.access.rules]] in [tool.auditready] of team.toml: there is" in s for s in skips)


def test_fixes_name_the_file_the_run_read(tmp_path: Path) -> None:
    work = _project(tmp_path)
    (work / "strict.toml").write_text("retention_days = 365\n")
    r = _cli(work, "verify", "audit.log", "--config", "strict.toml")
    assert "set public_key = \"KEY.pub\" in strict.toml; or set require_tamper_evidence = false" in r.stdout
    assert "set retention_archive in strict.toml to the archive's folder" in r.stdout
    assert "in [tool.auditready]" not in r.stdout


def test_access_with_a_config_file_says_the_pyproject_table_is_not_read(tmp_path: Path) -> None:
    work = _project(tmp_path)
    r = _cli(work, "access", "secret/*", "audit.log", "--config", "lax.toml")
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if "not merged" in line] == [
        "auditready: " + NOTICE.format(option="--config") + " (the two are not merged)"]
    assert "not merged" not in _cli(work, "access", "secret/*", "audit.log").stderr


def test_pytest_with_a_config_file_says_the_pyproject_table_is_not_read(pytester: pytest.Pytester) -> None:
    work = _project(pytester.path)
    result = pytester.runpytest("-p", "no:cacheprovider", "--auditready-offline", "audit.log",
                                "--auditready-config", "lax.toml", "-rs")
    out = result.stdout.str() + result.stderr.str()
    assert NOTICE.format(option="--auditready-config") in out, out
    assert "SKIPPED [1] audit.log:1: retention_days = 0 in lax.toml: no retention period is required" in out
    assert "no [[access.rules]] in lax.toml" in out
    plain = pytester.runpytest("-p", "no:cacheprovider", "--auditready-offline", str(work / "audit.log"), "-rs")
    out = plain.stdout.str() + plain.stderr.str()
    assert "not merged" not in out
    assert "retention_days = 0 in [tool.auditready] of pyproject.toml" in out
    assert plain.ret == 1 and "access_policy" in out  # the table's rule is read, and the log breaks it


def test_where_a_setting_came_from_outlives_a_copy_of_the_settings(tmp_path: Path) -> None:
    """The offline engine reads each file with a copy of the settings (dataclasses.replace): the copy names the
    same origins; settings made in code name none, and say [tool.auditready] as before."""
    work = _project(tmp_path)
    s = discover({"fail_on": "high"}, str(work / "lax.toml"), start=work, notices=[])
    copy = dataclasses.replace(s, log_format="vault")
    assert copy.set_in("retention_days") == f"in {work / 'lax.toml'}"  # the path as given
    assert copy.set_in("fail_on") == "on the command line" and copy.rules_table == "[[access.rules]]"
    assert copy == dataclasses.replace(load([]), log_format="vault", retention_days=0, require_tamper_evidence=False,
                                       fail_on="high")  # equality is of the settings alone
    assert "origins" not in s.to_json()
    assert Settings().set_in("retention_days") == "in [tool.auditready]"
