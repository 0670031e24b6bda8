"""Control mappings against the standards' texts (red team rt96, F3 and F4).

- F3: offline, the file `log_protection` judges may be a copy whose mode is the copier's: that evidences no
  protection of the vault's own log, for SOC 2 CC6.1 and ISO/IEC 27001:2022 A.8.15 as for A.5.33, PCI DSS 10.3.1,
  10.3.2 and NIST AU-9. Live, the same pass evidences them.
- F4: PCI DSS v4.0.1 10.7.3 asks for a response to a control's failure, documented (its duration, cause,
  remediation): the fail_closed drill shows the vault refusing requests while it cannot audit, and auditing again once
  restored, not that response. It reads "partly evidenced", as 10.7.2 does."""

from __future__ import annotations

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.report.junit import build_xml
from tests.test_controls_rt82 import NE, PARTLY, PCI, _live, _props

ISO = "ISO/IEC 27001:2022"


@pytest.mark.parametrize("label", ["SOC 2 CC6.1", f"{ISO} A.8.15", f"{ISO} A.5.33", f"{PCI} 10.3.1",
                                   "NIST SP 800-53 AU-9"])
def test_an_offline_log_protection_pass_evidences_no_control_of_the_vault_s_file(label: str) -> None:
    offline = _props(build_xml(target="offline", checks=BUILTIN, outcomes=_live()))
    assert offline["check.log_protection.status"] == "passed"
    assert f"log_protection={NE}" in offline[f"control.{label}"], offline[f"control.{label}"]
    assert "may be a copy" in offline[f"control.{label}.evidence"]
    live = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    assert "log_protection=passed" in live[f"control.{label}"], live[f"control.{label}"]


def test_the_fail_closed_drill_partly_evidences_the_response_pci_10_7_3_asks_for() -> None:
    props = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live()))
    assert props["check.fail_closed.status"] == "passed"
    assert props[f"control.{PCI} 10.7.3"] == f"fail_closed={PARTLY}"
    said = props[f"control.{PCI} 10.7.3.evidence"]
    assert "refuses requests" in said and "duration and cause" in said, said
    failed = _props(build_xml(target="embedded", checks=BUILTIN, outcomes=_live(failed="fail_closed")))
    assert failed[f"control.{PCI} 10.7.3"] == "fail_closed=failed"
