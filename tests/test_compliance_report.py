"""The compliance JUnit report is the contract: valid against the JUnit XSD, one testcase per check, every check
mapped to controls of the four frameworks, suite-level properties only."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from pytest_auditready import compliance
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Finding, Outcome
from pytest_auditready.report.junit import build_xml

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "schemas" / "junit.xsd"))
# the SPEC's "valid under the xunit2 schema": the attribute sets pytest's xunit2 family is validated against
XUNIT2 = xmlschema.XMLSchema(str(Path(__file__).parent / "schemas" / "xunit2.xsd"))
FRAMEWORKS = {"SOC 2", "ISO/IEC 27001:2022", "PCI DSS v4.0.1", "NIST SP 800-53"}
# frameworks of their own, beyond the four every check maps to: framework -> the checks it maps
OWN_FRAMEWORKS = {"GDPR": {"data_minimisation"}}
SPEC_IDS = {
    "completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
    "integrity_digest", "denied_access_logged", "log_protection", "tamper_evidence", "retention",
    "data_minimisation", "access_policy", "fail_closed",
}


def test_every_check_is_mapped_in_every_framework_and_no_unknown_ids():
    assert set(compliance.frameworks()) == FRAMEWORKS | set(OWN_FRAMEWORKS)
    mapped = compliance.mapped_check_ids()
    assert mapped <= SPEC_IDS, f"unknown check ids in mappings.json: {mapped - SPEC_IDS}"
    for check in BUILTIN:
        fws = {c.framework for c in compliance.controls_for(check.id)}
        own = {fw for fw, ids in OWN_FRAMEWORKS.items() if check.id in ids}
        assert fws == FRAMEWORKS | own, f"{check.id} is mapped in {fws}, not {FRAMEWORKS | own}"


def test_check_ids_equal_module_names():
    for check in BUILTIN:
        assert check.run.__module__ == f"pytest_auditready.checks.{check.id}"


def _outcomes(status_of: dict[str, str]) -> list[Outcome]:
    out = []
    for check in BUILTIN:
        st = status_of.get(check.id, PASSED)
        findings = (Finding(check.id, "", "Something <is> & \"wrong\".", "fix it", "a.log:3", "rid-1"),) if st == FAILED else ()
        out.append(Outcome(check.id, "", st, findings, "why" if st == SKIPPED else ""))
    return out


@pytest.mark.parametrize("status_of", [{}, {"no_secret_leak": FAILED, "log_protection": SKIPPED}])
def test_report_validates_against_the_junit_xsd(status_of):
    xml = build_xml(target="embedded", checks=BUILTIN, outcomes=_outcomes(status_of), run_id="r1")
    SCHEMA.validate(xml)
    XUNIT2.validate(xml)  # no disabled count, no status on a testcase (it is the check.ID.status property)
    root = ET.fromstring(xml)
    suites = root.findall("testsuite")
    assert len(suites) == 1
    cases = {tc.get("name"): tc for tc in suites[0].iter("testcase")}
    assert set(cases) == {c.id for c in BUILTIN}
    for tc in suites[0].iter("testcase"):
        assert tc.find("properties") is None
    props = {p.get("name"): p.get("value") for p in suites[0].find("properties")}
    assert props["auditready.target"] == "embedded"
    assert "PCI DSS v4.0.1 10.2.2" in props["check.required_fields"]
    if status_of:
        assert cases["no_secret_leak"].find("failure") is not None
        msg = cases["no_secret_leak"].find("failure").get("message")
        assert "a.log:3" in msg and "request id rid-1" in msg and "Fix: fix it" in msg
        assert cases["log_protection"].find("skipped") is not None
        assert "no_secret_leak=failed" in props["control.SOC 2 CC6.1"]


def test_schema_rejects_properties_inside_a_testcase():
    bad = '<testsuites><testsuite name="x" tests="1"><testcase name="a"><properties/></testcase></testsuite></testsuites>'
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(bad)


@pytest.mark.vault
def test_live_report_and_pytest_junitxml(pytester):
    report = pytester.path / "c.xml"
    junit = pytester.path / "j.xml"
    result = pytester.runpytest("--auditready", f"--auditready-report={report}", f"--junitxml={junit}",
                                "-p", "no:cacheprovider")
    assert result.ret == 0
    SCHEMA.validate(str(report))
    names = {tc.get("name") for tc in ET.parse(junit).iter("testcase")}
    assert "completeness[read-denied-c1]" in names and "log_protection" in names
