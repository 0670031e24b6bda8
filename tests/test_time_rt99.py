"""Red team rt99 (time), F3 and F5.

- F3: a URL target on the tool's own host (a loopback address, "localhost", this host's name) runs on the tool's
  clock, as the embedded server does: its agreement with the tool's clock shows nothing of clock synchronisation.
  It was reported "partly evidenced" for ISO/IEC 27001 A.8.17 and PCI DSS 10.6.1/10.6.2, and NIST AU-8 evidenced;
  it now reads "not evidenced" there, as the embedded target does. A vault on another host still evidences them.
- F5: ``retention_as_of`` is the day an archived set was closed; a day after today (UTC) judged days yet to come
  ("no entry ... 26,322 days"). It is refused as a bad setting, as a malformed date is.
"""

from __future__ import annotations

import datetime
import socket
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import PASSED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.errors import ConfigError
from pytest_auditready.report.junit import build_xml

CLOCK = ("control.ISO/IEC 27001:2022 A.8.17", "control.PCI DSS v4.0.1 10.6.1", "control.PCI DSS v4.0.1 10.6.2",
         "control.NIST SP 800-53 AU-8")


def _clock_controls(target: str) -> dict[str, str]:
    """What the compliance JUnit says of the clock controls' timestamp_accuracy when every check passed."""
    outcomes = [Outcome(c.id, "", PASSED) for c in BUILTIN]
    root = ET.fromstring(build_xml(target=target, checks=BUILTIN, outcomes=outcomes))
    props = {p.get("name", ""): p.get("value", "") for p in root.iter("property")}
    return {k: props.get(k, "") for k in CLOCK}


@pytest.mark.parametrize("target", ["http://127.0.0.1:8200", "https://localhost:8200", "http://[::1]:8200",
                                    "http://127.0.1.1:8200", f"https://{socket.gethostname()}:8200", "embedded"])
def test_a_vault_on_the_tool_s_host_evidences_no_clock_synchronisation(target: str) -> None:
    said = _clock_controls(target)
    assert all("timestamp_accuracy=not evidenced" in v for v in said.values()), said


def test_a_vault_on_another_host_still_evidences_it_in_part() -> None:
    said = _clock_controls("https://vault.prod.example:8200")
    assert said["control.PCI DSS v4.0.1 10.6.1"] == "timestamp_accuracy=partly evidenced", said
    assert said["control.NIST SP 800-53 AU-8"] == "timestamp_precision=passed, timestamp_accuracy=passed", said


def _retention_as_of(value: Any) -> Settings:
    from pytest_auditready.config import discover

    return discover({"retention_as_of": value}, None, notices=[])


def test_retention_as_of_after_today_is_refused_and_today_is_not() -> None:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert _retention_as_of(today.isoformat()).retention_as_of == today.isoformat()
    assert _retention_as_of("2026-01-31").retention_as_of == "2026-01-31"
    for later in ((today + datetime.timedelta(days=1)).isoformat(), "2099-01-01", today + datetime.timedelta(days=9)):
        with pytest.raises(ConfigError, match=r"retention_as_of.*not a day after today"):
            _retention_as_of(later)
