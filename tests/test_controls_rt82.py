"""A control reads "passed" only where the run holds evidence for what its requirement asks (red team rt82), the same
in the compliance JUnit, report.html, the step summary, SARIF and evidence.json: a pass narrowed by a setting, a
finding accepted on one item beside a pass on another, a live-only check offline, a clock judged with no independent
reference, a file mode judged on a copy, and evidence of only part of a requirement each say so, with why."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

import pytest

from pytest_auditready import compliance
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome, PlannedAction
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.report import github, html, sarif
from pytest_auditready.report.common import MAPPING_CAVEAT
from pytest_auditready.report.junit import build_xml
from pytest_auditready.result import AuditResult
from pytest_auditready.vault.scenario import add_builtin_actions, new_plan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
PCI = "PCI DSS v4.0.1"
NE, PARTLY = "not evidenced", "partly evidenced"


def _props(xml: str) -> dict[str, str]:
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    return {str(p.get("name")): str(p.get("value")) for p in suite.iter("property")}


def _live(failed: str = "", reasons: dict[str, str] | None = None) -> list[Outcome]:
    """Every check over its subjects, passed, as a live run says it; ``failed``: an item that failed; ``reasons``:
    the note of a check's passing items."""
    plan = new_plan(run_id="r1", kv_mount="secret", prefix="auditready", canaries=2,
                    unprivileged_policies=("default",), token_ttl="10m")
    add_builtin_actions(plan)
    planned = [PlannedAction(a.name, a.identity, a.expect) for a in plan.actions]
    out = []
    for check in BUILTIN:
        for subject in check.subjects(planned):
            if f"{check.id}[{subject}]" == failed or (check.id == failed and not subject):
                out.append(Outcome(check.id, subject, FAILED, (Finding(check.id, subject, "wrong", "fix"),)))
            else:
                out.append(Outcome(check.id, subject, PASSED, reason=(reasons or {}).get(check.id, "")))
    return out


def _result(target: str, outcomes: Sequence[Outcome]) -> AuditResult:
    return AuditResult(settings=Settings(), target=target, run_id="r", checks=BUILTIN, outcomes=list(outcomes))


def _row(md: str, check_id: str) -> str:
    (row,) = [ln for ln in md.splitlines() if ln.startswith(f"| `{check_id}`")]
    return row


def _sarif_controls(result: AuditResult) -> dict[str, Any]:
    run = sarif.build(result)["runs"][0]
    controls: dict[str, Any] = run["invocations"][0]["properties"]["controls"]
    return controls


def _rule(result: AuditResult, check_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in sarif.build(result)["runs"][0]["tool"]["driver"]["rules"]
                                if r["id"] == check_id)
    return rule


def _verify(tmp_path: Path, config: str, *more: str) -> dict[str, str]:
    """``auditready verify`` of the real OpenBao log (mode 0600) with ``config``: its compliance JUnit properties."""
    log = tmp_path / "audit.log"
    log.write_bytes((FIXTURES / "clean.log").read_bytes())
    log.chmod(0o600)
    (tmp_path / "ar.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n" + config)
    assert main(["verify", str(log), "--config", str(tmp_path / "ar.toml"), "--junit", str(tmp_path / "c.xml"),
                 "--sarif", str(tmp_path / "o.sarif"), "--evidence", str(tmp_path / "ev"), *more]) == 0
    return _props((tmp_path / "c.xml").read_text())


# -- F1: a pass narrowed by a setting is no evidence of a control --------------------------------------------------
@pytest.mark.parametrize(("config", "check_id", "controls"), [
    ('data_minimisation_detectors = ["email"]\n', "data_minimisation",
     [f"{PCI} 3.5.1", f"{PCI} 3.4.1", "GDPR Art. 5(1)(c)"]),
    ('required_fields = ["time"]\n', "required_fields", [f"{PCI} 10.2.2", "NIST SP 800-53 AU-3"]),
])
def test_a_narrowed_pass_reads_not_evidenced_in_every_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               config: str, check_id: str,
                                                               controls: list[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    props = _verify(tmp_path, config)
    assert props[f"check.{check_id}.status"] == PASSED  # the check's own status is unchanged
    for label in controls:
        assert f"{check_id}={NE}" in props[f"control.{label}"], label
        assert "Narrowed by settings" in props[f"control.{label}.evidence"]
    req = controls[0].split(" ")[-1]
    assert f"{req} ({NE})" in _row((tmp_path / "summary.md").read_text(), check_id)
    assert f"{req} ({NE})</span>" in (tmp_path / "ev" / "report.html").read_text()
    rule = next(r for r in json.loads((tmp_path / "o.sarif").read_text())["runs"][0]["tool"]["driver"]["rules"]
                if r["id"] == check_id)
    assert f"{req} ({NE})" in rule["properties"]["controls"]


def test_the_default_settings_give_the_same_controls_passed(tmp_path: Path) -> None:
    props = _verify(tmp_path, "")
    assert props[f"control.{PCI} 3.5.1"] == "integrity_digest=passed, data_minimisation=passed"
    assert props[f"control.{PCI} 10.2.2"] == "required_fields=passed, timestamp_precision=passed"
    assert f"control.{PCI} 3.5.1.evidence" not in props


def test_a_narrowed_retention_is_no_evidence_of_a_year_of_history() -> None:
    note = ("Narrowed by settings: retention_days = 30 (default 365). PCI DSS 10.5.1 asks for 12 months of history, "
            "the most recent three at hand: this pass is no evidence of them.")
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live(reasons={"retention": note})))
    assert props["check.retention.status"] == PASSED
    assert props[f"control.{PCI} 10.5.1"] == f"retention={NE}"
    assert props["control.NIST SP 800-53 AU-11"] == f"retention={NE}"
    assert "retention_days = 30" in props[f"control.{PCI} 10.5.1.evidence"]
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    assert props[f"control.{PCI} 10.5.1"] == "retention=passed"


# -- F2: an accepted item beside a passed one -----------------------------------------------------------------------
def _two_files(accepted: bool) -> list[Outcome]:
    f = Finding("data_minimisation", "host1.log", "a card number in clear", "fix", "host1.log:40")
    first = (Outcome("data_minimisation", "host1.log", SKIPPED, reason="accepted by the baseline",
                     accepted=((f, "fp1", "legacy path, SEC-1"),)) if accepted
             else Outcome("data_minimisation", "host1.log", PASSED))
    return [o for o in _live() if o.check_id != "data_minimisation"] + [
        first, Outcome("data_minimisation", "host2.log", PASSED)]


def test_an_accepted_finding_in_one_file_is_no_pass_of_the_control() -> None:
    props = _props(build_xml(target="offline", checks=BUILTIN, outcomes=_two_files(True)))
    assert props["check.data_minimisation.status"] == PASSED  # the check: passed, its accepted finding beside it
    assert props[f"control.{PCI} 3.5.1"].endswith("data_minimisation=accepted")
    assert props[f"control.{PCI} 3.4.1"] == "data_minimisation=accepted"
    assert props["control.GDPR Art. 5(1)(c)"] == "data_minimisation=accepted"
    result = _result("offline", _two_files(True))
    assert "3.4.1 (accepted)" in _row(github.summary_markdown(result), "data_minimisation")
    assert "3.4.1 (accepted)</span>" in html.render(result)
    assert "3.4.1 (accepted)" in _rule(result, "data_minimisation")["properties"]["controls"]
    assert _sarif_controls(result)[f"{PCI} 3.4.1"][0]["status"] == "accepted"
    clean = _props(build_xml(target="offline", checks=BUILTIN, outcomes=_two_files(False)))
    assert clean[f"control.{PCI} 3.4.1"] == "data_minimisation=passed"


def test_a_skipped_item_beside_a_passed_one_makes_the_control_partly_evidenced() -> None:
    """A control rests on every item of its check: a local file's pass beside an object's skip (log_protection
    judges no object) evidences it for one of the two logs only: partly evidenced, naming the item not judged
    (it read passed)."""
    def outcomes(second: str) -> list[Outcome]:
        return [o for o in _live() if o.check_id != "data_minimisation"] + [
            Outcome("data_minimisation", "host1.log", PASSED),
            Outcome("data_minimisation", "s3://b/host2.log", second, reason="not read: an archived object")]

    props = _props(build_xml(target="offline", checks=BUILTIN, outcomes=outcomes(SKIPPED)))
    assert props["check.data_minimisation.status"] == PASSED  # the check's own word is unchanged
    assert props[f"control.{PCI} 3.4.1"] == f"data_minimisation={PARTLY}"
    said = props[f"control.{PCI} 3.4.1.evidence"]
    assert "passed on 1 of 2 items" in said and "s3://b/host2.log" in said and "an archived object" in said
    result = _result("offline", outcomes(SKIPPED))
    assert f"3.4.1 ({PARTLY})" in _row(github.summary_markdown(result), "data_minimisation")
    assert _sarif_controls(result)[f"{PCI} 3.4.1"][0]["status"] == PARTLY
    both = _props(build_xml(target="offline", checks=BUILTIN, outcomes=outcomes(PASSED)))
    assert both[f"control.{PCI} 3.4.1"] == "data_minimisation=passed"


# -- F8: offline, the controls of live-only checks are listed, not evidenced ----------------------------------------
def test_offline_lists_the_live_only_controls_not_evidenced(tmp_path: Path) -> None:
    props = _verify(tmp_path, "")
    for label, check_id in ((f"{PCI} 10.2.1.4", "denied_access_logged"), (f"{PCI} 10.2.1.6", "denied_access_logged"),
                            (f"{PCI} 10.7.3", "fail_closed"), ("NIST SP 800-53 AU-5(4)", "fail_closed")):
        assert props[f"control.{label}"] == f"{check_id}={NE}", label
        assert "runs only live" in props[f"control.{label}.evidence"]
    page = (tmp_path / "ev" / "report.html").read_text()
    row = page.split(f'data-control="{PCI} 10.2.1.4"', 1)[1].split("</tr>", 1)[0]
    assert NE in row and "runs only live" in row
    controls = json.loads((tmp_path / "o.sarif").read_text())["runs"][0]["invocations"][0]["properties"]["controls"]
    assert controls["NIST SP 800-53 AU-5(4)"][0]["status"] == NE


# -- F3: clock synchronisation needs a clock independent of the vault's ---------------------------------------------
@pytest.mark.parametrize("target", ["offline", "embedded"])
def test_clock_controls_are_not_evidenced_without_an_independent_clock(target: str) -> None:
    props = _props(build_xml(target=target, checks=BUILTIN, outcomes=_live()))
    assert props["check.timestamp_accuracy.status"] == PASSED
    for label in (f"{PCI} 10.6.1", f"{PCI} 10.6.2", "ISO/IEC 27001:2022 A.8.17"):
        assert props[f"control.{label}"] == f"timestamp_accuracy={NE}", label
        assert "independent of the vault's" in props[f"control.{label}.evidence"]
    assert props["control.NIST SP 800-53 AU-8"] == f"timestamp_precision=passed, timestamp_accuracy={NE}"
    result = _result(target, _live())
    assert f"10.6.1 ({NE})" in _row(github.summary_markdown(result), "timestamp_accuracy")
    assert f"10.6.1 ({NE})</span>" in html.render(result)


def test_a_url_target_evidences_clock_agreement_only() -> None:
    props = _props(build_xml(target="https://vault.example:8200", checks=BUILTIN, outcomes=_live()))
    assert props[f"control.{PCI} 10.6.1"] == f"timestamp_accuracy={PARTLY}"
    assert "agreed with the tool's" in props[f"control.{PCI} 10.6.1.evidence"]
    failed = _props(build_xml(target="https://vault.example:8200", checks=BUILTIN,
                              outcomes=_live(failed="timestamp_accuracy")))
    assert failed[f"control.{PCI} 10.6.1"] == "timestamp_accuracy=failed"


# -- F4: file modes judged offline may be a copy's ------------------------------------------------------------------
def test_log_protection_controls_are_not_evidenced_offline(tmp_path: Path) -> None:
    props = _verify(tmp_path, "")
    assert props["check.log_protection.status"] == PASSED
    for label in (f"{PCI} 10.3.1", f"{PCI} 10.3.2", "ISO/IEC 27001:2022 A.5.33"):
        assert f"log_protection={NE}" in props[f"control.{label}"], label
        assert "copy" in props[f"control.{label}.evidence"]
    assert "log_protection=" + NE in props["control.NIST SP 800-53 AU-9"]
    live = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    assert live[f"control.{PCI} 10.3.1"] == "log_protection=passed"


# -- F5, F6, F9, F10: part of a requirement is shown ----------------------------------------------------------------
def test_partial_evidence_reads_partly_evidenced_in_every_report() -> None:
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    expected = {f"{PCI} 10.2.1.3": ("completeness", "reading an audit log file"),
                f"{PCI} 10.2.1.4": ("denied_access_logged", "failed logins"),
                f"{PCI} 10.2.1.6": ("denied_access_logged", "write no audit entry"),
                f"{PCI} 10.3.4": ("tamper_evidence", "no alert"),
                f"{PCI} 10.7.2": ("fail_closed", "no alert")}
    for label, (check_id, said) in expected.items():
        assert props[f"control.{label}"] == f"{check_id}={PARTLY}", label
        assert said in props[f"control.{label}.evidence"], label
    assert "disable-audit-attempt" in props[f"control.{PCI} 10.2.1.6.evidence"]
    result = _result("embedded", _live())
    assert f"10.2.1.6 ({PARTLY})" in _row(github.summary_markdown(result), "denied_access_logged")
    assert f"10.2.1.6 ({PARTLY})</span>" in html.render(result)
    assert f"10.2.1.6 ({PARTLY})" in _rule(result, "denied_access_logged")["properties"]["controls"]
    # a failure is a failure, never "partly"
    failed = _props(build_xml(target="embedded", checks=BUILTIN,
                              outcomes=_live(failed="denied_access_logged[disable-audit-attempt]")))
    assert failed[f"control.{PCI} 10.2.1.6"] == "denied_access_logged=failed"


# -- F9, F11, F12, F13: the mapping data ----------------------------------------------------------------------------
def test_the_mapping_claims_what_the_checks_show() -> None:
    fws = compliance.frameworks()
    assert fws[PCI]["edition"] == "PCI DSS v4.0.1" and "PCI DSS v4.0" not in fws
    nist = fws["NIST SP 800-53"]["requirements"]
    assert "AU-10" not in nist and "AU-5" not in nist  # non-repudiation; the alerting of AU-5 a
    assert nist["AU-5(4)"]["checks"] == ["fail_closed"]
    assert "AU-9(4)" not in nist  # a file mode is no evidence of who may manage audit logging
    pci = fws[PCI]["requirements"]
    assert pci["10.6.2"]["checks"] == ["timestamp_accuracy"]
    assert "timestamp_precision" not in fws["SOC 2"]["requirements"]["CC7.3"]["checks"]
    assert "timestamp_precision" not in fws["ISO/IEC 27001:2022"]["requirements"]["A.8.17"]["checks"]
    assert "initialization of new audit logs" in pci["10.2.1.6"]["title"] and "starting" in pci["10.2.1.6"]["title"]
    assert "cardholder data" in pci["10.2.1"]["title"] and "transmission" in pci["8.3.2"]["title"]
    assert "alerts" in pci["10.3.4"]["title"] and "audit logs included" not in pci["3.5.1"]["title"]
    for check in BUILTIN:  # every check still maps to something
        assert compliance.controls_for(check.id), check.id


def test_every_report_says_a_mapping_is_evidence_not_proof(tmp_path: Path) -> None:
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    assert props["auditready.controls_note"] == MAPPING_CAVEAT
    assert f"control.{PCI} 10.2.1" in props
    result = _result("embedded", _live())
    assert MAPPING_CAVEAT in html.render(result)
    assert sarif.build(result)["runs"][0]["invocations"][0]["properties"]["controlsNote"] == MAPPING_CAVEAT


# -- F7: evidence.json (needs /tmp/c2-evidence.patch applied to report/evidence.py) ---------------------------------
def test_evidence_json_carries_each_control_status(tmp_path: Path) -> None:
    _verify(tmp_path, 'data_minimisation_detectors = ["email"]\n')
    doc = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    completeness = next(c for c in doc["checks"] if c["id"] == "completeness")
    said = {c["control"]: c["status"] for c in completeness["control_status"]}
    assert completeness["status"] == PASSED and said[f"{PCI} 10.2.1.1"] == NE and said[f"{PCI} 10.2.1"] == PASSED
    minimised = next(c for c in doc["checks"] if c["id"] == "data_minimisation")
    assert {c["control"]: c["status"] for c in minimised["control_status"]}[f"{PCI} 3.5.1"] == NE
    controls = {c["control"]: c["checks"] for c in doc["controls"]}
    assert controls[f"{PCI} 10.2.1.4"] == [{"check": "denied_access_logged", "status": NE, "basis": (
        "the check runs only live (pytest --auditready): an offline run cannot evidence it")}]
    assert doc["controls_note"] == MAPPING_CAVEAT
