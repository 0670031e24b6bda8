"""Red team rt74 F3: a setting that narrows what a check asks below its default (``required_fields = ["time"]``,
``timestamp_digits`` under 3 where the producer's own resolution is not judged, ``max_skew`` or a window above its
default) left a plain "pass", mapped to PCI DSS 10.2.2 and NIST AU-3, in every report; only evidence.json's
configuration held the values. Such a pass now says what was asked and what was left out, beside it, in every report
(a Note: the pass's reason, CheckRow.notes). A setting at its default, or one that asks more, says nothing.

The bases are real recordings (fixtures/openbao/rt72: OpenBao 2.7.2; fixtures/cloudtrail/real; fixtures/k8s/rt72;
fixtures/jsonl/unseen: Okta's System Log as its API returns it); each defect is planted on a copy.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1]
OPENBAO = [json.loads(ln) for ln in (ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
NARROWED = "Narrowed by settings:"
BASE = "require_tamper_evidence = false\nretention_days = 0\n"
REPORTS = ("terminal", "json", "junit", "evidence", "summary", "html", "step")


def _log(folder: Path, entries: list[Any], name: str = "audit.log") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    path.chmod(0o600)
    return path


def _verify(folder: Path, logs: list[Path], config: str, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """``auditready verify`` with every report it writes (the step summary as in GitHub Actions): the exit code,
    each report's text, and the outcomes of the JSON report by check (the last file's)."""
    cfg = folder / "settings.toml"
    cfg.write_text(BASE + config)
    out = folder / "out"
    step = folder / "step.md"
    step.write_text("")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    capsys.readouterr()
    rc = main(["verify", *map(str, logs), "--config", str(cfg), "--json", str(out / "r.json"), "--junit",
               str(out / "c.xml"), "--evidence", str(out / "ev"), "--sarif", str(out / "s.sarif"), *extra])
    terminal = capsys.readouterr().out
    report = json.loads((out / "r.json").read_text())
    return {
        "rc": rc,
        "terminal": terminal,
        "json": (out / "r.json").read_text(),
        "junit": (out / "c.xml").read_text(),
        "evidence": (out / "ev" / "evidence.json").read_text(),
        "summary": (out / "ev" / "summary.md").read_text(),
        "html": (out / "ev" / "report.html").read_text(),
        "step": step.read_text(),
        "sarif": (out / "s.sarif").read_text(),
        "outcomes": {o["check"]: o for o in report["outcomes"]},
    }


def _junit_output(xml: str, check: str) -> str:
    """The system-out of ``check``'s testcase in a compliance JUnit report."""
    import xml.etree.ElementTree as ET

    case = next(c for c in ET.fromstring(xml).iter("testcase") if c.get("name") == check)
    out = case.find("system-out")
    return out.text or "" if out is not None else ""


def _line(terminal: str, check: str) -> str:
    """The terminal's verdict line of ``check`` (one file)."""
    lines = [ln for ln in terminal.splitlines() if re.match(rf"(PASS|FAIL|SKIP) {check} ", ln)]
    assert len(lines) == 1, terminal
    return lines[0]


def _passed_saying(res: dict[str, Any], check: str, *words: str) -> str:
    """``check`` passed, and its note (with ``words``) is beside the pass in every report: the terminal's line, the
    JSON and evidence outcomes, the compliance JUnit's output, summary.md, the step summary and report.html."""
    o = res["outcomes"][check]
    assert o["status"] == "passed", o
    note = next((n for n in re.split(r"(?<=\.) (?=[A-Z])", o["reason"]) if n.startswith(NARROWED)), "")
    assert note and all(w in note for w in words), o["reason"]
    assert _line(res["terminal"], check).startswith(f"PASS {check} ") and note in _line(res["terminal"], check)
    ev = next(c for c in json.loads(res["evidence"])["checks"] if c["id"] == check)
    assert [x["reason"] for x in ev["outcomes"]] == [o["reason"]]
    assert note in _junit_output(res["junit"], check)
    for name in ("summary", "step"):  # the row's cell, beside the pass
        row = next(ln for ln in res[name].splitlines() if ln.startswith(f"| `{check}` |"))
        assert "pass" in row and NARROWED in row, row
    cell = re.search(rf'data-check="{check}".*?</tr>', res["html"], re.S)
    assert cell is not None and "Narrowed by settings:" in cell.group() and "pass" in cell.group().lower()
    return note


def _says_nothing(res: dict[str, Any]) -> None:
    """No report of the run holds a narrowing note (no false alarm)."""
    for name in (*REPORTS, "sarif"):
        assert NARROWED not in res[name], name


def _no_addresses(entries: list[Any], who: bool = True) -> list[Any]:
    """The log as a hop that drops from where (and ``who``) leaves it (red team rt74: request.remote_address and
    remote_port, auth.display_name taken out of every entry)."""
    out = copy.deepcopy(entries)
    for e in out:
        e.get("request", {}).pop("remote_address", None)
        e.get("request", {}).pop("remote_port", None)
        if who:
            e.get("auth", {}).pop("display_name", None)
    return out


# -- required_fields ------------------------------------------------------------------------------------------------
def test_required_fields_narrowed_to_a_time_says_what_it_left_out_in_every_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The red team's case: a hop dropped where from and who. At the default the first such entry is named; with
    ``required_fields = ["time"]`` the check passes, and every report says it asked for the time alone and which
    fields it did not ask for."""
    log = _log(tmp_path, _no_addresses(OPENBAO))
    res = _verify(tmp_path, [log], "", monkeypatch, capsys)
    assert res["rc"] == 1 and res["outcomes"]["required_fields"]["status"] == "failed"
    first = res["outcomes"]["required_fields"]["findings"][0]
    line = int(first["where"].rsplit(":", 1)[1])  # an entry the hop took who or from where out of
    assert {"display_name", "remote_address"} & (set(OPENBAO[line - 1].get("auth", {})) | set(OPENBAO[line - 1].get(
        "request", {}))) and " lacks " in first["message"], first
    res = _verify(tmp_path, [log], 'required_fields = ["time"]\n', monkeypatch, capsys)
    note = _passed_saying(res, "required_fields", 'required_fields = ["time"]')
    assert "asked only for time" in note
    assert "not asked: identity, resource, action, result, source and request_id" in note
    # the JSON report's checks row, SARIF's run properties and the compliance JUnit's suite property carry it too
    row = next(c for c in json.loads(res["json"])["checks"] if c["id"] == "required_fields")
    assert row["status"] == "passed" and any(NARROWED in n for n in row["notes"]), row
    sarif = json.loads(res["sarif"])["runs"][0]["invocations"][0]["properties"]["notes"]
    assert any(NARROWED in n for n in sarif["required_fields"]), sarif
    assert re.search(r'name="check\.required_fields\.notes" value="[^"]*' + NARROWED, res["junit"]), res["junit"]


def test_required_fields_that_leave_out_one_field_name_it_and_all_seven_say_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Leaving out the source alone is said (a unix-socket listener's accepted control, as the fix suggests); the
    seven fields in another order ask what the default asks: nothing is said in any report."""
    log = _log(tmp_path, _no_addresses(OPENBAO, who=False))
    res = _verify(tmp_path, [log], 'required_fields = ["time", "identity", "resource", "action", "result", '
                  '"request_id"]\n', monkeypatch, capsys)
    note = _passed_saying(res, "required_fields", "not asked: source,")
    assert "asked only for time, identity, resource, action, result and request_id" in note
    clean = _log(tmp_path, OPENBAO)
    every = '["request_id", "source", "result", "action", "resource", "identity", "time"]'
    res = _verify(tmp_path, [clean], f"required_fields = {every}\n", monkeypatch, capsys)
    assert res["rc"] == 0 and res["outcomes"]["required_fields"]["status"] == "passed"
    _says_nothing(res)


def test_a_run_at_the_defaults_says_no_narrowing_in_any_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No false alarm: the real OpenBao log at the defaults passes every per-entry check, and no report (nor
    SARIF) holds a narrowing note; nor with settings that ask more than the defaults (a tighter max_skew, more
    digits than the vault's floor asks, a shorter window)."""
    log = _log(tmp_path, OPENBAO)
    res = _verify(tmp_path, [log], "", monkeypatch, capsys)
    assert res["rc"] == 0, res["terminal"]
    for check in ("required_fields", "timestamp_precision", "timestamp_accuracy", "completeness"):
        assert res["outcomes"][check]["status"] == "passed", check
    _says_nothing(res)
    res = _verify(tmp_path, [log], "max_skew = 1\ntimestamp_digits = 6\ncompleteness_window = 60\n", monkeypatch,
                  capsys)
    assert res["rc"] == 0, res["terminal"]
    _says_nothing(res)


# -- timestamp_precision --------------------------------------------------------------------------------------------
def _okta_in_seconds() -> list[Any]:
    rows = [json.loads(ln) for ln in (ROOT / "fixtures/jsonl/unseen/okta-systemlog.jsonl").read_text().splitlines()]
    for r in rows:
        r["published"] = re.sub(r"\.\d+Z\Z", "Z", r["published"])
    return rows


OKTA = ('log_format = "jsonl"\nfield_map = {time = "published", identity = "actor.alternateId", resource = '
        '"target.0.alternateId", action = "eventType", result = "outcome.result", source = "client.ipAddress", '
        'request_id = "uuid"}\n')


def test_timestamp_digits_below_the_default_says_so_where_it_lets_whole_seconds_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON lines re-timed to whole seconds fail at the default; timestamp_digits = 0 passes them, saying so. A real
    CloudTrail file (whole seconds, as CloudTrail writes them) passes at timestamp_digits = 0 saying so too."""
    log = _log(tmp_path, _okta_in_seconds(), "okta.jsonl")
    res = _verify(tmp_path, [log], OKTA, monkeypatch, capsys)
    assert res["outcomes"]["timestamp_precision"]["status"] == "failed"
    assert "at most 0 significant fractional digit(s)" in res["outcomes"]["timestamp_precision"]["findings"][0][
        "message"]
    res = _verify(tmp_path, [log], OKTA + "timestamp_digits = 0\n", monkeypatch, capsys)
    note = _passed_saying(res, "timestamp_precision", "timestamp_digits = 0; default 3")
    assert "times in whole seconds pass" in note
    res = _verify(tmp_path, [log], OKTA + "timestamp_digits = 1\n", monkeypatch, capsys)
    assert res["outcomes"]["timestamp_precision"]["status"] == "failed"  # asked for one digit: still a finding
    trail = tmp_path / "trail.json"
    trail.write_bytes((ROOT / "fixtures/cloudtrail/real/correct.json").read_bytes())
    trail.chmod(0o600)
    res = _verify(tmp_path, [trail], "timestamp_digits = 0\n", monkeypatch, capsys)
    note = _passed_saying(res, "timestamp_precision", "timestamp_digits = 0; default 3")
    assert "CloudTrail writes no other" in note


def test_timestamp_digits_below_the_default_narrows_nothing_on_a_vault_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Vault/OpenBao times are held to what Go's clock writes (at least six digits) whatever timestamp_digits says:
    a log cut to milliseconds fails at timestamp_digits = 0 too, and the real log's pass says nothing."""
    cut = copy.deepcopy(OPENBAO)
    for e in cut:
        e["time"] = re.sub(r"(\.\d{1,3})\d*Z\Z", lambda m: m.group(1).rstrip("0").rstrip(".") + "Z", e["time"])
    res = _verify(tmp_path, [_log(tmp_path, cut)], "timestamp_digits = 0\n", monkeypatch, capsys)
    assert res["outcomes"]["timestamp_precision"]["status"] == "failed"
    res = _verify(tmp_path, [_log(tmp_path, OPENBAO)], "timestamp_digits = 0\n", monkeypatch, capsys)
    assert res["rc"] == 0
    _says_nothing(res)


# -- timestamp_accuracy and completeness ----------------------------------------------------------------------------
def test_max_skew_above_the_default_says_what_it_lets_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A request entry re-timed a minute back is named at the default; max_skew = 90 lets it pass, saying so."""
    back = copy.deepcopy(OPENBAO)
    i = next(j for j in range(len(back) // 2, len(back)) if back[j]["type"] == "request")  # its response stays after
    was = datetime.datetime.fromisoformat(back[i]["time"][:26])
    back[i]["time"] = (was - datetime.timedelta(seconds=60)).isoformat() + back[i]["time"][26:]
    log = _log(tmp_path, back)
    res = _verify(tmp_path, [log], "", monkeypatch, capsys)
    assert res["outcomes"]["timestamp_accuracy"]["status"] == "failed"
    assert any(f["where"].endswith(f"audit.log:{i + 1}") for f in res["outcomes"]["timestamp_accuracy"]["findings"])
    res = _verify(tmp_path, [log], "max_skew = 90\n", monkeypatch, capsys)
    note = _passed_saying(res, "timestamp_accuracy", "max_skew = 90 s (default 2 s)")
    assert "up to 90 s behind an earlier entry" in note


def test_a_window_above_the_default_says_what_it_excuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """completeness_window above its default says how far from the log's edges an entry without partner is excused;
    on a Kubernetes log, k8s_request_timeout above its default says so on timestamp_accuracy (the events written at a
    request's end), and on completeness once it is longer than the window."""
    log = _log(tmp_path, OPENBAO)
    res = _verify(tmp_path, [log], "completeness_window = 600\n", monkeypatch, capsys)
    note = _passed_saying(res, "completeness", "completeness_window = 600 s (default 120 s)")
    assert "up to 600 s from the log's end or start" in note
    assert res["outcomes"]["completeness"]["reason"].startswith(NARROWED)  # first: a cut cell keeps it
    k8s = tmp_path / "k8s.log"
    k8s.write_bytes((ROOT / "fixtures/k8s/rt72/audit.log").read_bytes())
    k8s.chmod(0o600)
    res = _verify(tmp_path, [k8s], "", monkeypatch, capsys)
    assert res["outcomes"]["completeness"]["status"] == "passed"
    _says_nothing(res)
    res = _verify(tmp_path, [k8s], "k8s_request_timeout = 100\n", monkeypatch, capsys)
    _passed_saying(res, "timestamp_accuracy", "k8s_request_timeout = 100 s (default 60 s)")
    assert NARROWED not in res["outcomes"]["completeness"]["reason"]  # the window (120 s) still bounds it
    res = _verify(tmp_path, [k8s], "k8s_request_timeout = 300\n", monkeypatch, capsys)
    _passed_saying(res, "completeness", "k8s_request_timeout = 300 s (default 60 s)", "up to 300 s")


def test_every_file_of_a_run_in_several_processes_says_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Two files read by two processes: each file's pass carries the note."""
    logs = [_log(tmp_path, OPENBAO, "a.log"), _log(tmp_path, [json.loads(ln) for ln in (
        ROOT / "fixtures/openbao/clean.log").read_text().splitlines()], "b.log")]
    res = _verify(tmp_path, logs, 'required_fields = ["time", "action"]\n', monkeypatch, capsys, "--jobs", "2")
    assert res["rc"] == 0, res["terminal"]
    said = [o for o in json.loads(res["json"])["outcomes"] if o["check"] == "required_fields"]
    assert len(said) == 2 and all(o["status"] == "passed" and o["reason"].startswith(NARROWED) for o in said)


# -- pytest's front ends ----------------------------------------------------------------------------------------------
def _said_in_reports(folder: Path, *checks: str) -> dict[str, str]:
    """The note of each of ``checks`` in the compliance JUnit's output and the evidence bundle, as written by pytest."""
    ev = {c["id"]: c for c in json.loads((folder / "ev" / "evidence.json").read_text())["checks"]}
    junit = (folder / "c.xml").read_text()
    summary = (folder / "ev" / "summary.md").read_text()
    out = {}
    for check in checks:
        reasons = [o["reason"] for o in ev[check]["outcomes"] if o["status"] == "passed" and o["reason"]]
        note = next((r for r in reasons if r.startswith(NARROWED)), "")
        assert note, (check, reasons)
        assert note in _junit_output(junit, check), check
        row = next(ln for ln in summary.splitlines() if ln.startswith(f"| `{check}` |"))
        assert "pass" in row and NARROWED in row, row
        out[check] = note
    return out


def test_pytest_offline_reports_say_it(pytester: pytest.Pytester) -> None:
    """`pytest --auditready-offline`: the compliance JUnit and the evidence bundle carry the note; at the defaults
    they hold none."""
    log = _log(pytester.path, _no_addresses(OPENBAO))
    pytester.makefile(".toml", settings=BASE + 'required_fields = ["time", "resource"]\n', defaults=BASE)
    args = ["-p", "no:cacheprovider", "--auditready-offline", str(log), "--auditready-report",
            str(pytester.path / "c.xml"), "--auditready-evidence", str(pytester.path / "ev")]
    result = pytester.runpytest(*args, "--auditready-config", str(pytester.path / "settings.toml"))
    assert result.ret == 0, result.stdout.str()
    note = _said_in_reports(pytester.path, "required_fields")["required_fields"]
    assert "not asked: identity, action, result, source and request_id" in note
    said = [ln for ln in result.stdout.lines if ln.startswith("required_fields passed: " + NARROWED)]
    assert len(said) == 1 and "not asked: identity" in said[0], result.stdout.str()  # pytest's terminal summary
    clean = _log(pytester.path, OPENBAO)
    args[3] = str(clean)
    result = pytester.runpytest(*args, "--auditready-config", str(pytester.path / "defaults.toml"))
    assert result.ret == 0, result.stdout.str()
    assert NARROWED not in result.stdout.str()
    for name in ("c.xml", "ev/evidence.json", "ev/summary.md", "ev/report.html"):
        assert NARROWED not in (pytester.path / name).read_text(), name


@pytest.mark.vault
def test_live_embedded_run_says_it(pytester: pytest.Pytester) -> None:
    """`pytest --auditready` on the embedded vault with required_fields without the source and a max_skew of 30 s:
    both passes say so in the compliance JUnit and the evidence bundle, held to the client's clock too."""
    pytester.makepyprojecttoml("[tool.auditready]\nretention_days = 0\nmax_skew = 30\nrequired_fields = "
                               '["time", "identity", "resource", "action", "result", "request_id"]\n')
    result = pytester.runpytest("--auditready", "-p", "no:cacheprovider", "--auditready-report",
                                str(pytester.path / "c.xml"), "--auditready-evidence", str(pytester.path / "ev"))
    assert result.ret == 0, result.stdout.str()
    notes = _said_in_reports(pytester.path, "required_fields", "timestamp_accuracy")
    assert "not asked: source" in notes["required_fields"]
    assert "max_skew = 30 s (default 2 s): a time up to 30 s off the client's clock" in notes["timestamp_accuracy"]
    for c in json.loads((pytester.path / "ev" / "evidence.json").read_text())["checks"]:
        if c["id"] not in notes:
            assert NARROWED not in json.dumps(c), c["id"]


def test_data_minimisation_with_detectors_left_out_says_which(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A card number planted in a value: found at the default; with ``data_minimisation_detectors = ["email"]`` the
    check passes and every report names the detectors it did not run; all five in another order say nothing."""
    entries = copy.deepcopy(OPENBAO)
    k = next(i for i, e in enumerate(entries) if e.get("type") == "request" and e.get("request", {}).get("path"))
    entries[k]["request"]["path"] += "/4111111111111111"
    log = _log(tmp_path, entries)
    res = _verify(tmp_path, [log], "", monkeypatch, capsys)
    assert res["outcomes"]["data_minimisation"]["status"] == "failed"
    assert res["outcomes"]["data_minimisation"]["findings"][0]["where"].endswith(f":{k + 1}")
    res = _verify(tmp_path, [log], 'data_minimisation_detectors = ["email"]\n', monkeypatch, capsys)
    note = _passed_saying(res, "data_minimisation", "detectors run: email", "not run: card, phone, iban, national_id")
    assert "settings.toml" in note
    res = _verify(tmp_path, [_log(tmp_path, OPENBAO, "clean.log")],
                  'data_minimisation_detectors = ["national_id", "iban", "phone", "email", "card"]\n', monkeypatch,
                  capsys)
    assert res["outcomes"]["data_minimisation"]["status"] == "passed"
    assert NARROWED not in res["outcomes"]["data_minimisation"]["reason"]
