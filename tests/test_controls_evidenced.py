"""A control reads passed only on evidence judged for it (red team rt68 F2, F12): a PCI DSS 10.2.1.x control that
asks for particular events to be captured (mappings.json's ``evidenced_by``) takes the status of the completeness
items that exercised those events, and reads "not evidenced" when none ran (a URL target skips the throw-away
server's actions; an offline log holds none of the run's actions), in the compliance JUnit, the HTML "Checks by
control" table and the step summary alike. A control met by a check as a whole keeps the check's status."""

from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_auditready import compliance
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome, PlannedAction
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.report import github, html
from pytest_auditready.report.junit import build_xml
from pytest_auditready.result import AuditResult
from pytest_auditready.vault.scenario import ActionSpec, add_builtin_actions, new_plan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao"
PCI = "control.PCI DSS v4.0.1"


def _plan_actions() -> list[ActionSpec]:
    plan = new_plan(run_id="r1", kv_mount="secret", prefix="auditready", canaries=2, unprivileged_policies=("default",),
                    token_ttl="10m")
    add_builtin_actions(plan)
    return plan.actions


def _props(xml: str) -> dict[str, str]:
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    return {str(p.get("name")): str(p.get("value")) for p in suite.iter("property")}


def _live(url_target: bool, failed: str = "") -> list[Outcome]:
    """Every check over its subjects, as a live run says it: on a URL target the throw-away server's actions are
    skipped ("the action did not run"); ``failed`` names a completeness item that found its action missing."""
    actions = _plan_actions()
    planned = [PlannedAction(a.name, a.identity, a.expect) for a in actions]
    throwaway = {a.name for a in actions if a.throwaway_only}
    out = []
    for check in BUILTIN:
        for subject in check.subjects(planned):
            if url_target and subject in throwaway:
                out.append(Outcome(check.id, subject, SKIPPED, reason="the action did not run"))
            elif check.id == "completeness" and subject == failed:
                out.append(Outcome(check.id, subject, FAILED, (Finding(check.id, subject, "no entry", "fix"),)))
            else:
                out.append(Outcome(check.id, subject, PASSED))
    return out


def test_url_target_reads_the_throwaway_events_not_evidenced() -> None:
    props = _props(build_xml(target="https://vault.example:8200", checks=BUILTIN, outcomes=_live(True)))
    assert props["check.completeness.status"] == PASSED
    for req in ("10.2.1.5", "10.2.1.7"):  # created, changed, deleted: only on the throw-away server
        assert props[f"{PCI} {req}"] == "completeness=not evidenced", req
        assert "none of those items ran (the action did not run)" in props[f"{PCI} {req}.evidence"]
    # the events a URL target does exercise: passed, saying which items that rests on
    for req, item in (("10.2.1.1", "completeness[read-allowed-c1]"), ("10.2.1.2", "completeness[issue-token-reader]")):
        assert props[f"{PCI} {req}"] == "completeness=passed", req
        assert item in props[f"{PCI} {req}.evidence"] and "create-user" not in props[f"{PCI} {req}.evidence"]
    # API reads of the device configuration are only part of "all access to audit logs" (red team rt82 F6)
    assert props[f"{PCI} 10.2.1.3"] == "completeness=partly evidenced"
    assert "completeness[read-audit-devices]" in props[f"{PCI} 10.2.1.3.evidence"]
    # its disable-audit-attempt item ran: part of 10.2.1.6 only (red team rt82 F5)
    assert props[f"{PCI} 10.2.1.6"] == "denied_access_logged=partly evidenced"
    assert props[f"{PCI} 10.2.1"] == "completeness=passed"  # met by the check as a whole
    assert f"{PCI} 10.2.1.evidence" not in props
    # the testcase's items say which did not run
    case = next(tc for tc in ET.fromstring(build_xml(target="https://v", checks=BUILTIN, outcomes=_live(True)))
                .iter("testcase") if tc.get("name") == "completeness")
    assert "create-user (skipped: the action did not run)" in (case.findtext("system-out") or "")


def test_embedded_target_every_event_evidenced_by_its_own_items() -> None:
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live(False)))
    # only the clock controls: the embedded server reads the tool's own host clock (red team rt82 F3)
    assert {k for k, v in props.items() if "not evidenced" in v and not k.endswith(".evidence")} == {
        "control.ISO/IEC 27001:2022 A.8.17", f"{PCI} 10.6.1", f"{PCI} 10.6.2", "control.NIST SP 800-53 AU-8"}
    assert props[f"{PCI} 10.2.1.5"] == "completeness=passed"
    assert "completeness[change-password]" in props[f"{PCI} 10.2.1.5.evidence"]
    # an item that failed fails the controls it evidences, and only those
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live(False, failed="change-password")))
    assert props[f"{PCI} 10.2.1.5"] == "completeness=failed" and props[f"{PCI} 10.2.1.7"] == "completeness=passed"


def test_the_html_table_and_step_summary_say_not_evidenced(tmp_path: Path) -> None:
    outcomes = _live(True)
    result = AuditResult(settings=Settings(), target="https://vault.example:8200", run_id="r", checks=BUILTIN,
                         outcomes=outcomes)
    md = github.summary_markdown(result)
    (row,) = [ln for ln in md.splitlines() if ln.startswith("| `completeness`")]
    assert "10.2.1.5 (not evidenced)" in row and "10.2.1.7 (not evidenced)" in row
    assert "10.2.1.1," in row and "10.2.1.1 (" not in row
    page = html.render(result)
    assert '10.2.1.5 (not evidenced)</span>' in page and "the action did not run" in page
    full = AuditResult(settings=Settings(), target="embedded", run_id="r", checks=BUILTIN, outcomes=_live(False))
    (row,) = [ln for ln in github.summary_markdown(full).splitlines() if ln.startswith("| `completeness`")]
    assert "not evidenced" not in row and "10.2.1.5 (not evidenced)" not in html.render(full)


def test_offline_verify_never_reads_an_event_control_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "audit.log"
    log.write_bytes((FIXTURES / "clean.log").read_bytes())
    log.chmod(0o600)
    (tmp_path / "ar.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert main(["verify", "audit.log", "--config", "ar.toml", "--junit", "c.xml", "--evidence", "ev"]) == 0
    props = _props((tmp_path / "c.xml").read_text())
    assert props["check.completeness.status"] == PASSED
    for req in ("10.2.1.1", "10.2.1.2", "10.2.1.3", "10.2.1.5", "10.2.1.7"):
        assert props[f"{PCI} {req}"] == "completeness=not evidenced", req
        assert "an offline log holds none of the run's own actions" in props[f"{PCI} {req}.evidence"]
    assert props[f"{PCI} 10.2.1"] == "completeness=passed"
    # a live-only check's control is listed, not evidenced (red team rt82 F8)
    assert props[f"{PCI} 10.2.1.6"] == "denied_access_logged=not evidenced"
    assert "10.2.1.5 (not evidenced)" in (tmp_path / "summary.md").read_text()
    assert "10.2.1.5 (not evidenced)" in (tmp_path / "ev" / "report.html").read_text()


def test_the_mapping_names_real_actions_and_the_right_controls() -> None:
    names = [a.name for a in _plan_actions()]
    scoped = 0
    for fw, body in compliance.frameworks().items():
        for req, spec in body["requirements"].items():
            for check_id, scope in (spec.get("evidenced_by") or {}).items():
                scoped += 1
                assert check_id in spec["checks"], (fw, req, check_id)
                assert scope["what"] and scope["actions"], (fw, req)
                for glob in scope["actions"]:  # a typo would leave the control never evidenced
                    assert fnmatch.filter(names, glob), (fw, req, glob)
    assert scoped >= 6
    pci = compliance.frameworks()["PCI DSS v4.0.1"]["requirements"]
    assert "log_protection" not in pci["10.2.1.6"]["checks"]
    assert "keyed" not in pci["3.5.1"]["title"] and "unreadable" in pci["3.5.1"]["title"]  # 3.5.1.1 is the keyed one
    nist = compliance.frameworks()["NIST SP 800-53"]["requirements"]
    # AU-9(3): cryptographic protection of the integrity of audit information; the HMAC of values protects the
    # secrets in an entry (SC-28, IA-5), not the record
    assert nist["AU-9(3)"]["checks"] == ["tamper_evidence"]
    assert "integrity_digest" in nist["IA-5"]["checks"] and "integrity_digest" in nist["SC-28"]["checks"]
