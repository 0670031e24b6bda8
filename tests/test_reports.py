"""The CI and auditor reports on a hand-made AuditResult (no vault): escaping of hostile log content in HTML,
Markdown and workflow commands, redaction of secrets, SARIF against the 2.1.0 schema, the evidence bundle's
hashes, severities and fail_on."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready import compliance
from pytest_auditready.auditlog.match import Match
from pytest_auditready.auditlog.model import AccessLedger, Action, AuditEntry
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, Check, CheckContext, Finding, Outcome
from pytest_auditready.config import Settings, load
from pytest_auditready.errors import ConfigError
from pytest_auditready.report import evidence, github, html, sarif
from pytest_auditready.result import AuditResult

SCHEMAS = Path(__file__).parent / "schemas"
SECRET = "s3cr3t-CANARY-value-0123456789abcdef0123456789abcdef"
TOKEN = "hvs.TESTTOKENvalue0123456789abcdefXYZ"
HOSTILE = "<script>alert(1)</script> | **bold** `tick` [x](http://evil) $x$ %0A\r\n::error::fake \x1b[31mred\x07 a,b:c"
DIGEST = "hmac-sha256:" + "ab" * 32


def _noop(ctx: CheckContext) -> list[Any]:
    return []


def make_result(tmp_path: Path, *, fail_on: str = "any", failing: bool = True) -> AuditResult:
    log = tmp_path / "audit.log"
    ledger = AccessLedger("run-1", "embedded")
    action = Action("read-allowed-c1", "reader", "token-reader", "GET", f"secret/data/p/{HOSTILE}", "read",
                    sent_ns=1_700_000_000_000_000_000, received_ns=1_700_000_000_004_000_000, status=200,
                    request_id="rid-1", error=HOSTILE)
    ledger.record(action)
    req = AuditEntry(str(log), 7, {"type": "request", "time": "2023-11-14T22:13:20.001Z",
                                   "auth": {"client_token": TOKEN, "display_name": "token-reader"},
                                   "request": {"id": "rid-1", "path": "secret/data/p", "operation": "read",
                                               "data": {"value": SECRET, "digest": DIGEST,
                                                        "display_name": SECRET},
                                               "remote_address": "127.0.0.1"},
                                   "error": HOSTILE})
    resp = AuditEntry(str(log), 8, {"type": "response", "time": "2023-11-14T22:13:20.003Z",
                                    "request": {"id": "rid-1"}})
    ctx = CheckContext(settings=Settings(fail_on=fail_on), ledger=ledger, entries=[req, resp], bad_lines=[],
                       matches={action.name: Match(req, resp, "request id")},
                       secrets={"canary:c1": SECRET, "token:reader": TOKEN}, source="test log")
    checks = [Check("no_secret_leak", "No secret in the log", "no secret", _noop),
              Check("timestamp_precision", "Timestamps are precise", "precise", _noop),
              Check("completeness", "Every access is in the log", "complete", _noop)]
    leak = Finding("no_secret_leak", "", f"{SECRET} leaked next to {HOSTILE} and {TOKEN}", f"fix {HOSTILE}",
                   where=f"{log}:7", request_id="rid-1")
    second = Finding("no_secret_leak", "", "second leak", "fix", where=f"{log}:8")
    precision = Finding("timestamp_precision", "", f"imprecise {HOSTILE}", "fix it")
    outcomes = [
        Outcome("no_secret_leak", "", FAILED if failing else PASSED, (leak, second) if failing else ()),
        Outcome("timestamp_precision", "", FAILED if failing else PASSED, (precision,) if failing else ()),
        Outcome("completeness", "read-allowed-c1", PASSED),
    ]
    return AuditResult(settings=Settings(fail_on=fail_on), target="https://user:pw@vault.example:8200",
                       run_id="run-1", checks=checks, outcomes=outcomes, context=ctx, ledger=ledger)


def assert_clean(text: str) -> None:
    assert SECRET not in text and TOKEN not in text
    assert "user:pw" not in text
    assert "\x1b" not in text and "\x07" not in text


# -- GitHub workflow commands and step summary ----------------------------------------------------------------
def test_annotations_one_per_failed_check_escaped_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = github.annotation_lines(make_result(tmp_path))
    assert len(lines) == 2
    leak, precision = lines
    # file= relative to the working directory, line= from the finding; no location for a finding without one
    assert leak.startswith("::error file=audit.log,line=7,title=auditready no_secret_leak failed (critical)::")
    assert precision.startswith("::error title=auditready timestamp_precision failed (low)::")
    for line in lines:
        assert_clean(line)
        assert "\n" not in line and "\r" not in line
        body = line.split("::", 2)[2]
        # a message cannot start a new command: LF and CR from the log are shown as text, a literal %0A is escaped
        assert "\\x0a" in body and "\\x0d" in body and "%250A" in body
        assert "\\x1b[31m" in body  # the terminal escape is shown, not sent
    assert "<canary:c1>" in leak and "<token:reader>" in leak
    assert "(+1 more finding(s))" in leak


def test_annotations_point_at_the_repository_s_files_or_at_none(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A live run names the vault configuration's files as its folder holds them (server.hcl:30): the annotation
    points at the file as the repository holds it (vault-config/server.hcl). A log outside the workspace (the
    embedded server's own, gone after the run) gets no file= at all (red team rt14 F6), nor a SARIF location."""
    work = tmp_path / "ws"
    (work / "vault-config").mkdir(parents=True)
    (work / "vault-config" / "server.hcl").write_text('audit "file" "a" {}\n')
    monkeypatch.chdir(work)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(work))
    elsewhere = tmp_path / "auditready-tmp" / "audit.log"
    settings = Settings(vault_config="vault-config")
    checks = [Check("log_protection", "Protected", "p", _noop), Check("no_secret_leak", "No secret", "n", _noop)]
    outcomes = [Outcome("log_protection", "", FAILED, (Finding("log_protection", "", "log_raw", "fix",
                                                               where="server.hcl:30"),)),
                Outcome("no_secret_leak", "", FAILED, (Finding("no_secret_leak", "", "leak", "fix",
                                                               where=f"{elsewhere}:20"),))]
    result = AuditResult(settings=settings, target="embedded", run_id="r", checks=checks, outcomes=outcomes,
                         context=CheckContext(settings=settings, ledger=None, entries=[], bad_lines=[]))
    leak, protection = github.annotation_lines(result)  # (the most severe first: no_secret_leak is critical)
    assert protection.startswith("::error file=vault-config/server.hcl,line=30,title=auditready log_protection")
    assert leak.startswith("::error title=auditready no_secret_leak") and "file=" not in leak.split("::")[1]
    run = sarif.build(result)["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["vault-config/server.hcl"]  # and none at the gone log: its finding is listed without a place
    assert [u["ruleId"] for u in run["invocations"][0]["properties"]["findingsWithoutLocation"]] == ["no_secret_leak"]


def test_workflow_command_escaping_follows_githubs_rules() -> None:
    assert github.escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_summary_table_escapes_markdown_and_html(tmp_path: Path) -> None:
    md = github.summary_markdown(make_result(tmp_path))
    assert_clean(md)
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == ["`no_secret_leak`", "`timestamp_precision`", "`completeness`"]
    leak_row = rows[0]
    assert "\u274c fail" in leak_row and "critical" in leak_row and "SOC 2 CC6.1" in leak_row
    # hostile text cannot open a tag, a link, code, emphasis or a new cell
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\*\\*bold\\*\\*" in md and "\\`tick\\`" in md and "\\[x\\]" in md and "\\$x\\$" in md
    assert leak_row.count(" | ") == 5 - 1 and "\\|" in leak_row
    assert "Verdict: **FAIL**" in md
    assert "vault.example:8200" in md


def test_summary_of_a_passing_run(tmp_path: Path) -> None:
    md = github.summary_markdown(make_result(tmp_path, failing=False))
    assert "3/3 checks passed" in md and "Verdict: **PASS**" in md
    assert "\u274c" not in md
    assert github.annotation_lines(make_result(tmp_path, failing=False)) == []


def test_fail_on_turns_low_failures_into_warnings(tmp_path: Path) -> None:
    lines = github.annotation_lines(make_result(tmp_path, fail_on="high"))
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning"]
    md = github.summary_markdown(make_result(tmp_path, fail_on="critical"))
    assert "below fail\\_on" in md and "Verdict: **FAIL**" in md  # no_secret_leak is critical


# -- HTML ------------------------------------------------------------------------------------------------------
def test_html_escapes_hostile_content_and_is_self_contained(tmp_path: Path) -> None:
    page = html.render(make_result(tmp_path))
    assert_clean(page)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "no external asset"
    assert "@import" not in page and "url(" not in page
    assert 'id="checks"' in page and 'id="timeline"' in page
    assert 'data-action="read-allowed-c1"' in page and "audit.log:7" in page


# -- SARIF -----------------------------------------------------------------------------------------------------
def _sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_validates_and_locates_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = sarif.write(make_result(tmp_path), str(tmp_path / "out" / "auditready.sarif"))
    text = path.read_text()
    assert_clean(text)
    doc = json.loads(text)
    _sarif_validator().validate(doc)
    results = doc["runs"][0]["results"]
    # the two located findings; the precision finding has no file:line
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("no_secret_leak", 7), ("no_secret_leak", 8)]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "audit.log"
    assert results[0]["level"] == "error"
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["no_secret_leak", "timestamp_precision", "completeness"]


def test_sarif_schema_rejects_a_broken_log() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    v = _sarif_validator()
    good = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                          "results": [{"message": {"text": "m"}, "level": "error"}]}]}
    v.validate(good)
    for broken in (
        {"runs": []},
        {"version": "2.0.0", "runs": []},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "fatal",
                                                                                     "message": {"text": "m"}}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {}}]}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            v.validate(broken)


# -- evidence bundle -------------------------------------------------------------------------------------------
def test_evidence_bundle_hashes_and_redaction(tmp_path: Path) -> None:
    d = evidence.write_bundle(make_result(tmp_path), str(tmp_path / "bundle"))
    assert sorted(p.name for p in d.iterdir()) == ["SHA256SUMS", "evidence.json", "report.html", "summary.md"]
    for p in d.iterdir():
        assert_clean(p.read_text(encoding="utf-8"))
    sums = dict(reversed(line.split("  ", 1)) for line in (d / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"evidence.json", "summary.md", "report.html"}
    for name, digest in sums.items():
        assert hashlib.sha256((d / name).read_bytes()).hexdigest() == digest
    doc = json.loads((d / "evidence.json").read_text())
    assert doc["files"]["sha256"] == {k: v for k, v in sums.items() if k != "evidence.json"}
    entry = doc["log"]["matched"][0]["request"]["entry"]
    assert entry["request"]["data"] == {"value": "<redacted>", "digest": DIGEST, "display_name": "<redacted>"}
    assert entry["auth"] == {"client_token": "<redacted>", "display_name": "token-reader"}
    assert entry["request"]["path"] == "secret/data/p" and entry["request"]["remote_address"] == "127.0.0.1"
    assert doc["run"]["target"] == "https://vault.example:8200"
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["no_secret_leak"]["status"] == FAILED and checks["no_secret_leak"]["severity"] == "critical"
    assert "SOC 2 CC6.1" in checks["no_secret_leak"]["controls"]
    assert doc["run"]["verdict"] == FAILED and "SOC 2" in doc["frameworks"]
    assert doc["ledger"]["actions"][0]["name"] == "read-allowed-c1"


# -- severities and fail_on ------------------------------------------------------------------------------------
def test_every_builtin_check_has_a_known_severity() -> None:
    listed = json.loads((Path(compliance.__file__).parent / "severities.json").read_text())["checks"]
    assert {c.id for c in BUILTIN} <= set(listed)
    assert set(listed.values()) <= set(compliance.severity_levels())
    assert compliance.severity("a_plugin_check") == "high"


@pytest.mark.parametrize(("fail_on", "check", "fails"), [
    ("any", "timestamp_precision", True), ("low", "timestamp_precision", True),
    ("medium", "timestamp_precision", False), ("critical", "log_protection", False),
    ("high", "log_protection", True), ("critical", "no_secret_leak", True),
])
def test_fail_on_threshold(fail_on: str, check: str, fails: bool) -> None:
    from pytest_auditready.report.common import gates

    assert gates(fail_on, check) is fails


def test_fail_on_bad_value_names_key_and_allowed_values() -> None:
    assert load([("x", {"fail_on": "HIGH"})]).fail_on == "high"
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"fail_on": "severe"})])
    text = str(exc.value)
    assert "'fail_on'" in text and "pyproject.toml" in text and "critical" in text and '"any"' in text


def test_html_timeline_marks_an_access_the_log_did_not_record(tmp_path: Path) -> None:
    result = make_result(tmp_path)
    assert result.context is not None and result.ledger is not None
    missing = Action("delete-c1", "writer", "token-writer", "DELETE", "secret/metadata/p", "delete",
                     sent_ns=1_700_000_000_010_000_000, received_ns=1_700_000_000_012_000_000, status=204)
    result.ledger.record(missing)
    result.context.matches[missing.name] = Match()
    page = html.render(result)
    row = re.search(r'<tr class="(\w+)" data-action="delete-c1">.*?</tr>', page, re.S)
    assert row and row[1] == "missing" and row[0].count("not in the log") == 2
    recorded = re.search(r'<tr class="(\w+)" data-action="read-allowed-c1">.*?</tr>', page, re.S)
    assert recorded and recorded[1] == "recorded" and "+1.0 ms after send" in recorded[0]
