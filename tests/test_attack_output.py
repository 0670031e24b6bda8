"""Attacks on the outputs (issue "The security promises hold under attack", classes 2, 3 and 4): text from a log or
a path cannot forge a workflow command or a terminal escape in any front end; credentials in a target URL reach no
output; a lone surrogate or a deeply nested line costs one finding, never the reports."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests._native_runs import completed
from tests.auditrun import run_audit

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
EVIL_ID = "x\n::error::forged\n::stop-commands::tok\x1b[2J\x07\u202e\u200b\U000e0041"
# a secret path that reads like another: a bidi override, a zero-width space and a tag character (invisible)
EVIL_PATH = "secret/data/\u202egpj.exe\u200bdb\U000e0041"
RAW_UNSAFE = ("\x1b", "\x07", "\u202e", "\u200b", "\U000e0041")
EVIL_NAME = "audit\n::add-mask::x\n::error::forged.log"


def _evil_log(folder: Path) -> Path:
    lines = CLEAN.read_text().splitlines()
    d = json.loads(lines[10])
    d["request"]["id"] = EVIL_ID
    d["request"].pop("remote_address", None)  # so that a finding quotes the request id
    deep = json.dumps({"time": d["time"], "type": "request", "request": {"path": "a", "data": 0}})
    deep = deep.replace("0}}", "[" * 12000 + "]" * 12000 + "}}")  # deeper than Go decodes: no entry of a vault
    k = next(i for i in range(11, len(lines)) if json.loads(lines[i])["type"] == "request")
    spoof = json.loads(lines[k])
    spoof["request"]["path"] = EVIL_PATH
    lines[k] = json.dumps(spoof)
    log = folder / EVIL_NAME
    log.write_text("\n".join([*lines[:10], json.dumps(d), deep, *lines[11:]]) + "\n")
    log.chmod(0o600)
    return log


def _assert_nothing_forged(text: str, failed_checks: int) -> None:
    for ch in RAW_UNSAFE:
        assert ch not in text, f"raw {ch!r} in the output"
    commands = [ln for ln in text.splitlines() if ln.lstrip().startswith("::")]
    # only the tool's own annotations, one per failed check, none of them forged by the log or the file name
    assert len(commands) == failed_checks, commands
    assert all(ln.startswith("::error file=") or ln.startswith("::error title=") for ln in commands)
    assert "::add-mask::" not in text.replace("\\x0a::add-mask::", "")
    assert "\\x0a::error::forged" in text  # shown, as text


def test_verify_output_cannot_be_forged_from_a_log(tmp_path: Path) -> None:
    log = _evil_log(tmp_path)
    summary = tmp_path / "summary.md"
    (tmp_path / "ar.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = completed(["verify", str(log), "--config", str(tmp_path / "ar.toml"), "--json", str(tmp_path / "r.json"),
                   "--sarif", str(tmp_path / "r.sarif"), "--junit", str(tmp_path / "r.xml"), "--evidence",
                   str(tmp_path / "ev")], None, env, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    # required_fields (the deep line) and completeness (line 11's request id changed: its request and its response
    # each lack a partner, far from the log's edges)
    _assert_nothing_forged(r.stdout + r.stderr, failed_checks=2)
    assert "JSON nested too deeply" in r.stdout  # the 12,000-deep line is one finding at its line
    for name in ("r.json", "r.sarif", "r.xml", "ev/evidence.json", "ev/summary.md", "ev/report.html"):
        text = (tmp_path / name).read_text()
        assert not [ch for ch in RAW_UNSAFE if ch in text], name
    # the JSON files keep the values exactly (escaped as JSON, not altered)
    review = json.loads((tmp_path / "ev" / "evidence.json").read_text())["review"]
    assert EVIL_PATH in {p["path"] for p in review["paths"]}


def test_pytest_offline_output_cannot_be_forged_from_a_log(tmp_path: Path, pytester: pytest.Pytester) -> None:
    log = _evil_log(tmp_path)
    pytester.makepyprojecttoml("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "-v", "--auditready-offline", str(log))
    assert int(r.ret) == 1
    text = r.stdout.str() + r.stderr.str()
    assert "Traceback" not in text
    _assert_nothing_forged(text, failed_checks=0)


def test_target_url_credentials_are_stripped_with_one_notice() -> None:
    from pytest_auditready.config import load

    notices: list[str] = []
    s = load([("the command line", {"target": "https://alice:s3cr3t-pw@vault.example:8200/"})], notices)
    assert s.target == "https://vault.example:8200" and "s3cr3t" not in json.dumps(s.to_json())
    assert len(notices) == 1 and "s3cr3t" not in notices[0] and "ignored" in notices[0]


@pytest.mark.vault
def test_credentials_in_a_live_target_url_reach_no_output(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    server = bao()
    url_env(server)
    host = server.url.split("://", 1)[1]
    run = run_audit(pytester, server, None, f"--auditready-target=http://alice:Pw-0f-alice@{host}",
                    f"--auditready-evidence={pytester.path / 'ev'}", seal=False)
    assert int(run.result.ret) == 0, run.result.stdout.str()
    everything = run.result.stdout.str() + run.result.stderr.str()
    for p in (pytester.path / "ev").iterdir():
        everything += p.read_text()
    everything += (pytester.path / "compliance.xml").read_text()
    assert "Pw-0f-alice" not in everything and "alice@" not in everything
    assert "user:password@ part of target" in everything  # said once, in one line


@pytest.mark.vault
def test_a_lone_surrogate_in_a_live_log_costs_no_report(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                                        pipeline: Any, tmp_path: Path) -> None:
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"

    def surrogate(e: dict[str, Any]) -> Any:
        if e.get("type") == "request" and e.get("request", {}).get("operation") == "list":
            return json.dumps(e).replace('"operation": "list"', '"operation": "list", "x": "\\ud800 \\udfff"')
        return e

    pipeline(server.log_path, shipped, surrogate)
    shipped.touch(mode=0o600)
    ev = pytester.path / "ev"
    run = run_audit(pytester, server, shipped, f"--auditready-evidence={ev}", seal=False)
    out = run.result.stdout.str()
    assert "Traceback" not in out and "UnicodeEncodeError" not in out
    assert int(run.result.ret) in (0, 1) and (ev / "evidence.json").is_file() and (ev / "report.html").is_file()
    assert (pytester.path / "compliance.xml").is_file()


LEAKY_SOURCE = '''
from pytest_auditready.auditlog.source import FileLogSource
from pytest_auditready.errors import AuditReadyError


class Blabbing(FileLogSource):
    """A log source (a command, a SIEM client) whose failure quotes the vault token it was given."""

    def __init__(self, path, token):
        super().__init__(path)
        self._token = token

    def poll(self, batch):
        raise AuditReadyError(f"the SIEM client failed: bad credentials {self._token}", "fix the client")


def pytest_auditready_make_log_source(settings, endpoint, config):
    return Blabbing(endpoint.log_path, endpoint.token)
'''


@pytest.mark.vault
def test_a_one_line_stop_shows_the_runs_secrets_by_name(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    """Whatever ends the run (a source's or a hook's error quoting a token) is printed redacted."""
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, conftest=LEAKY_SOURCE)
    out = run.result.stdout.str() + run.result.stderr.str()
    assert int(run.result.ret) == 2, out
    assert server.root_token not in out
    assert "bad credentials <token:admin>" in out
