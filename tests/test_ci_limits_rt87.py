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
    text, kept_n, found_n = sarif.render(result)
    assert (kept_n, found_n) == (25, 60) and text == sarif.text(result)
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


def test_annotations_put_what_fails_the_run_and_the_most_severe_first(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """F3: 11 failed checks in registration order hid the 11th (access_policy, high) behind timestamp_precision
    (low), and the stale baseline's line came last. GitHub shows 10 errors a step: the baseline first, the checks by
    severity, and the 10th names the rest."""
    from pytest_auditready.checks import BUILTIN

    base = make_result(tmp_path, fail_on="any")
    ids = [c.id for c in BUILTIN if c.id != "fail_closed"]
    checks = [Check(i, i, i, _noop) for i in ids]
    (tmp_path / "a.log").write_text("{}\n")
    outcomes = [Outcome(i, f"{tmp_path}/a.log", FAILED, (Finding(i, "", f"{i} broke", "fix",
                                                                 where=f"{tmp_path}/a.log:1"),)) for i in ids]
    result = AuditResult(settings=Settings(fail_on="any"), target="logs", run_id="run-1", checks=checks,
                         outcomes=outcomes, context=base.context, ledger=None)
    monkeypatch.setattr(github, "stale", lambda r: [Finding("baseline", "", "acceptance 1 matched nothing", "fix")])
    lines = github.annotation_lines(result)
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(ids) == 12 and len(errors) == 10 == len(lines)
    assert "baseline is stale" in errors[0]
    titles = [line.split("title=", 1)[1].split("::", 1)[0] for line in errors[1:9]]
    ranks = [compliance.severity_rank(t.rsplit("(", 1)[1].rstrip(")")) for t in titles]
    assert ranks == sorted(ranks, reverse=True) and "no_secret_leak" in titles[0]  # critical first
    assert "4 more failed check(s)" in errors[-1] and "timestamp_precision (low)" in errors[-1]
    assert not any("timestamp_precision failed" in line for line in errors)


def test_a_refused_run_is_an_annotation_under_github_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str],
                                                            pytester: pytest.Pytester) -> None:
    """F4: a refused run (exit 2 or 4) writes no summary and no report; its reason was only in the raw log. Under
    GitHub Actions it is an ::error annotation too (on standard error, so a report on standard output stays whole);
    elsewhere, nothing more is printed."""
    from pytest_auditready.cli import main

    missing = str(tmp_path / "no-such" / "audit.log")
    for actions in (False, True):
        monkeypatch.setenv("GITHUB_ACTIONS", "true" if actions else "false")
        assert main(["verify", missing, "--json", "-"]) == 2
        out, err = capsys.readouterr()
        (line,) = err.splitlines()  # one line either way: under GitHub Actions, the annotation of it
        head = "::error title=auditready could not audit::" if actions else ""
        assert out == "" and line.startswith(head + "auditready: ") and "no-such" in line, err
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("VAULT_TOKEN", "not-a-real-token")
    res = pytester.runpytest("-p", "no:cacheprovider", "--auditready", "--auditready-target", "http://127.0.0.1:1",
                             "--auditready-log", missing)
    assert res.ret in (2, 4)
    text = res.stdout.str() + res.stderr.str()
    assert "::error title=auditready could not audit::auditready: " in text, text[-2000:]
