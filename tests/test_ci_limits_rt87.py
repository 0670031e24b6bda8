"""GitHub's own limits on what a run hands it (red team rt87). A step summary of more than 1 MiB is dropped whole:
7,500 stale acceptances listed one a line made 2.3 MB, and the verdict table was lost with them (F1). Code scanning
shows 5,000 results a run and refuses an upload of more than 25,000: 1,250 hourly files with one repeated defect
gave 31,250 results, and not one alert would have shown (F2)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pytest_auditready import compliance
from pytest_auditready.checks.base import FAILED, Check, Finding, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.report import github, sarif, write_all
from pytest_auditready.result import AuditResult
from tests.test_reports import make_result


def _noop(ctx: object) -> list[object]:
    return []


def _many(tmp_path: Path, per_check: int) -> AuditResult:
    """A result whose three failed checks have ``per_check`` findings each, under fail_on = "high"."""
    base = make_result(tmp_path, fail_on="high")
    ids = ["timestamp_precision", "no_secret_leak", "completeness"]  # low, critical, high (fail_on high: 2 gate)
    assert [compliance.severity(i) for i in ids] == ["low", "critical", "high"]
    checks = [Check(i, i, i, _noop) for i in ids]
    for n in range(len(ids)):
        (tmp_path / f"audit-{n}.log").write_text("{}\n" * per_check)
    outcomes = [Outcome(i, f"{tmp_path}/audit-{n}.log", FAILED, tuple(
        Finding(i, "", f"{i} finding {k}", "fix", where=f"{tmp_path}/audit-{n}.log:{k + 1}")
        for k in range(per_check))) for n, i in enumerate(ids)]
    return AuditResult(settings=Settings(fail_on="high"), target="logs", run_id="run-1", checks=checks,
                       outcomes=outcomes, context=base.context, ledger=None)


def test_sarif_keeps_the_results_that_fail_the_run_first_and_counts_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sarif, "RESULTS_MAX", 25)
    result = _many(tmp_path, 20)
    run = sarif.build(result)["runs"][0]
    kept = run["results"]
    assert len(kept) == 25
    assert [r["ruleId"] for r in kept].count("timestamp_precision") == 0  # below fail_on: left out first
    assert all(r["properties"]["failsRun"] for r in kept)
    # the critical check's results all kept, then the high one's in file order
    assert [r["ruleId"] for r in kept].count("no_secret_leak") == 20
    left = run["invocations"][0]["properties"]["resultsLeftOut"]
    assert left["results"] == 60 and left["limit"] == 25
    assert left["byRule"] == {"timestamp_precision": 20, "completeness": 15}
    text = sarif.text(result)
    assert sarif.counts(text) == (25, 60)
    settings = Settings(fail_on="high", sarif=str(tmp_path / "out.sarif"))
    written = dict(write_all(dataclasses.replace(result, settings=settings)))
    assert "25 of 60 results" in written["SARIF"]
    assert json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["invocations"][0]["properties"][
        "resultsLeftOut"]["results"] == 60


def test_sarif_under_the_limit_is_whole(tmp_path: Path) -> None:
    run = sarif.build(_many(tmp_path, 5))["runs"][0]
    assert len(run["results"]) == 15 and "resultsLeftOut" not in run["invocations"][0]["properties"]


def test_the_step_summary_lists_20_stale_acceptances_and_stays_under_its_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = [Finding("baseline", "", f"acceptance {n} of audit-{n}.log matched no finding " + "x" * 200, "fix")
             for n in range(7500)]
    monkeypatch.setattr(github, "stale", lambda result: stale)
    text = github.summary_markdown(make_result(tmp_path))
    assert text.count("\n- acceptance ") == 20 and "7480 more stale acceptance(s)" in text
    assert "The baseline is stale, which fails the run: 7500 acceptance(s)" in text
    assert len(text.encode()) < github.SUMMARY_MAX
    monkeypatch.setattr(github, "SUMMARY_MAX", 3000)
    cut = github.summary_markdown(make_result(tmp_path))
    assert len(cut.encode()) <= 3000 and "The summary was cut here" in cut
    assert "Verdict: **FAIL**" in cut and "| check | result |" in cut  # the verdict and the table come first
