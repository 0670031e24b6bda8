"""The embedded audit, end to end, against a real OpenBao the plugin starts itself."""

from __future__ import annotations

import pytest

from pytest_auditready.checks import BUILTIN

pytestmark = pytest.mark.vault


def test_embedded_audit_passes_every_check(pytester: pytest.Pytester) -> None:
    report = pytester.path / "compliance.xml"
    result = pytester.runpytest("--auditready", f"--auditready-report={report}", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=result.parseoutcomes()["passed"])
    assert result.ret == 0
    out = result.stdout.str()
    for check in BUILTIN:
        assert f"auditready::{check.id}" in out
    result.stdout.fnmatch_lines([f"*{len(BUILTIN)}/{len(BUILTIN)} checks passed*"])
    assert "FAILED" not in out
    assert report.is_file()
