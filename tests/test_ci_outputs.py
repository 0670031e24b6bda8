"""The CI gate and the auditor's evidence, end to end against real OpenBao servers: the GitHub step summary and
annotations (GITHUB_ACTIONS=true), SARIF, the evidence bundle, fail_on, and report.html in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.auditrun import AuditRun, assert_no_secret_in_outputs, run_audit

pytestmark = pytest.mark.vault

SCHEMAS = Path(__file__).parent / "schemas"
ROW_RE = re.compile(r"^\| `(?P<id>[a-z_]+)` \| (?P<result>[^|]+) \| (?P<sev>[a-z]+) \| (?P<controls>[^|]*) \|")


def _github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def _table(summary: str) -> dict[str, dict[str, str]]:
    rows = {}
    for line in summary.splitlines():
        m = ROW_RE.match(line)
        if m:
            rows[m["id"]] = {"result": m["result"].strip(), "severity": m["sev"], "controls": m["controls"].strip(),
                             "line": line}
    return rows


def _annotations(run: AuditRun) -> list[str]:
    return [line for line in run.result.outlines if line.startswith(("::error", "::warning"))]


def _collect(run: AuditRun, *paths: Path) -> None:
    """Add every file the run wrote to the outputs that assert_no_secret_in_outputs searches."""
    for p in paths:
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file():
                run.outputs[str(f)] = f.read_text(encoding="utf-8")


def _validate_sarif(path: Path) -> dict[str, Any]:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text())
    doc: dict[str, Any] = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(doc)
    return doc


def test_passing_run_summary_and_no_annotation(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = bao()
    url_env(server)
    summary = _github_env(monkeypatch, tmp_path)
    sarif, bundle = tmp_path / "out.sarif", tmp_path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-sarif={sarif}", f"--auditready-evidence={bundle}",
                    require_tamper_evidence=False)
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    text = summary.read_text()
    assert text.startswith("# earlier step\n"), "the summary is appended, never overwritten"
    rows = _table(text)
    assert set(rows) == {n.split("[")[0] for n in run.items}
    assert rows["no_secret_leak"]["result"] == "\u2705 pass" and rows["no_secret_leak"]["severity"] == "critical"
    assert "SOC 2 CC6.1" in rows["no_secret_leak"]["controls"]
    assert all(r["result"] in ("\u2705 pass", "\u2796 skipped") for r in rows.values()), text
    assert "Verdict: **PASS**" in text
    assert _annotations(run) == []
    assert _validate_sarif(sarif)["runs"][0]["results"] == []
    assert (bundle / "report.html").is_file() and (bundle / "evidence.json").is_file()
    _collect(run, summary, sarif, bundle)
    assert_no_secret_in_outputs(run)


def test_failing_run_summary_annotations_sarif_and_evidence(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = bao(audit_options={"log_raw": "true"})
    url_env(server)
    summary = _github_env(monkeypatch, tmp_path)
    sarif, bundle = tmp_path / "out.sarif", tmp_path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-sarif={sarif}", f"--auditready-evidence={bundle}",
                    require_tamper_evidence=False)
    assert run.result.ret == 1
    failed = run.failed_checks()
    assert {"no_secret_leak", "log_protection"} <= failed
    rows = _table(summary.read_text())
    for check in failed:
        assert rows[check]["result"] == "\u274c fail"
        assert rows[check]["line"].rstrip().rstrip("|").strip().split("|")[-1].strip(), "first finding shown"
    assert "\u2705 pass" in rows["completeness"]["result"]
    assert "Verdict: **FAIL**" in summary.read_text()
    # one ::error per failed check, in check order; the leak points at the log line
    notes = _annotations(run)
    assert sorted(re.search(r"title=auditready (\w+) failed", n)[1] for n in notes) == sorted(failed)
    assert all(n.startswith("::error ") for n in notes)
    leak = next(n for n in notes if "no_secret_leak" in n)
    m = re.match(r"::error file=(?P<file>[^,]+),line=(?P<line>\d+),title=", leak)
    assert m and m["file"].endswith("audit.log") and int(m["line"]) >= 1
    assert "\n" not in leak
    doc = _validate_sarif(sarif)
    results = doc["runs"][0]["results"]
    assert results and {r["ruleId"] for r in results} >= {"no_secret_leak"}
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)
    ev = json.loads((bundle / "evidence.json").read_text())
    assert ev["run"]["verdict"] == "failed" and ev["vault"]["version"]
    assert len(ev["log"]["matched"]) == len(ev["ledger"]["actions"]) > 0
    assert {c["id"]: c["status"] for c in ev["checks"]}["no_secret_leak"] == "failed"
    # the raw canary values sit in the log itself; none may reach an output
    log_text = server.log_path.read_text()
    assert any(v in log_text for v in run.secrets.values()), "log_raw put the values in the log"
    _collect(run, summary, sarif, bundle)
    assert_no_secret_in_outputs(run)


@pytest.mark.parametrize(("fail_on", "ret", "command"), [("any", 1, "::error"), ("critical", 0, "::warning"),
                                                         ("high", 1, "::error")])
def test_fail_on_gates_by_severity(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail_on: str, ret: int,
                                   command: str) -> None:
    server = bao(audit_options={"mode": "0644"})  # only log_protection (high) fails
    url_env(server)
    _github_env(monkeypatch, tmp_path)
    run = run_audit(pytester, server, None, f"--auditready-fail-on={fail_on}", require_tamper_evidence=False)
    assert run.failed_checks() == {"log_protection"}
    assert run.result.ret == ret
    notes = _annotations(run)
    assert len(notes) == 1 and notes[0].startswith(command + " ")


# -- report.html in headless Chromium ---------------------------------------------------------------------------
def _chromium() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browse(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _png_pixels(path: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of colours painted in a screenshot."""
    from PIL import Image

    with Image.open(path) as img:
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
        return rgb.width, rgb.height, {c for _, c in colours}


def test_report_html_renders_in_headless_chromium(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                                  tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        reason = "no chromium on PATH: install Debian's 'chromium' package (.ci/run does) to test report.html"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a skip there would hide a missing install step
        pytest.skip(reason)
    server = bao(audit_options={"log_raw": "true"})
    url_env(server)
    bundle = tmp_path / "evidence"
    run = run_audit(pytester, server, None, f"--auditready-evidence={bundle}", require_tamper_evidence=False)
    page = bundle / "report.html"
    assert page.is_file(), run.result.stdout.str()[-2000:]
    ledger = json.loads((bundle / "evidence.json").read_text())["ledger"]

    dom = _browse(binary, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    checks = re.search(r'<table id="checks">.*?</table>', html, re.S)
    timeline = re.search(r'<table id="timeline">.*?</table>', html, re.S)
    assert checks and timeline, "both tables are in the rendered DOM"
    assert checks[0].count('data-check="') == len({n.split("[")[0] for n in run.items}) >= 8
    assert 'data-check="no_secret_leak"' in checks[0] and "FAIL" in checks[0]
    assert timeline[0].count('data-action="') == len(ledger["actions"]) > 0
    assert 'id="verdict" class="verdict failed"' in html

    shot = tmp_path / "report.png"
    res = _browse(binary, tmp_path / "profile-shot", "--hide-scrollbars", "--window-size=1280,2400",
                  f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    width, height, colours = _png_pixels(shot)
    assert (width, height) == (1280, 2400)
    # what is painted: the FAIL badge (#cf222e), PASS and FAIL cells of the check table (#dafbe1, #ffebe9)
    # and the timeline's client-window bars (#0969da)
    for name, rgb in (("FAIL badge", (0xCF, 0x22, 0x2E)), ("PASS cell", (0xDA, 0xFB, 0xE1)),
                      ("FAIL cell", (0xFF, 0xEB, 0xE9)), ("timeline bar", (0x09, 0x69, 0xDA))):
        assert rgb in colours, f"{name} not painted"
    keep = os.environ.get("AUDITREADY_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    _collect(run, bundle)
    assert_no_secret_in_outputs(run)
