"""Red team rt96: what the reports say of findings past a check's cap, of a leak on many lines, of a CloudTrail
record, and of a passing check's note.

F1: past its cap (20 findings of one kind in a file), a check folded the rest into one "N more entries lack ..."
finding with no line: every report counted 21 findings for 25 (or 30,000) defective entries, SARIF put the roll-up at
line 1 (a line with no defect) as if it were the place, and a leak on 25 lines was one SARIF result with no related
location. A finding now carries the entries it stands for (``Finding.entries``), and every report says both counts.
F2: a CloudTrail finding's number is its record's place in the file, not a line: SARIF's startLine and the
annotation's line= named a line a one-line delivery file does not have.
F6: the step summary's and report.html's "first finding" column showed a passing check's note as a finding.

Every log here is built from a real OpenBao log (fixtures/openbao/clean.log), as the red team built theirs.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
import xmlschema

from pytest_auditready.checks.base import Finding, Outcome
from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "fixtures" / "openbao" / "clean.log"
K8S = ROOT / "fixtures" / "k8s" / "audit-requestresponse.log"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
FIRST = 32  # the line of the first request entry added after the real log's first 31 lines (``_log``)


def _log(path: Path, n: int, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> list[int]:
    """The real log with ``n`` more request/response pairs of its read at line 32 (each with a request id of its own)
    inserted after its line 31, each changed by ``change(request, response)``; the lines of the requests added."""
    src = [json.loads(line) for line in CLEAN.read_text().splitlines()]
    out = src[:31]
    for i in range(n):
        req, resp = copy.deepcopy(src[31]), copy.deepcopy(src[32])
        rid = str(uuid.UUID(int=i + 1))
        req["request"]["id"] = resp["request"]["id"] = rid
        change(req, resp)
        out += [req, resp]
    out += src[33:]
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in out))
    path.chmod(0o600)
    return [FIRST + 2 * i for i in range(n)]


def _no_source(req: dict[str, Any], _resp: dict[str, Any]) -> None:
    del req["request"]["remote_address"]  # (a pipeline stage that drops the field drops it on every entry)


class Run:
    """One ``auditready verify`` under GitHub Actions, with every report written."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log: Path,
                 *extra: str) -> None:
        monkeypatch.chdir(tmp)
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp / "summary.md"))
        (tmp / "ar.toml").write_text(CONFIG)
        capsys.readouterr()
        self.rc = main(["verify", "--config", "ar.toml", log.name, "--json", "r.json", "--sarif", "s.sarif",
                        "--junit", "c.xml", "--evidence", "ev", *extra])
        self.out = capsys.readouterr().out
        self.json = json.loads((tmp / "r.json").read_text())
        self.sarif = json.loads((tmp / "s.sarif").read_text())
        self.evidence = json.loads((tmp / "ev" / "evidence.json").read_text())
        self.html = (tmp / "ev" / "report.html").read_text()
        self.summary = (tmp / "summary.md").read_text()
        self.junit = (tmp / "c.xml").read_text()
        xmlschema.XMLSchema(str(SCHEMAS / "xunit2.xsd")).validate(str(tmp / "c.xml"))
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(self.sarif, json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text()))

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.json["checks"] if c["id"] == check_id)

    def findings(self, check_id: str) -> list[dict[str, Any]]:
        return [f for o in self.json["outcomes"] if o["check"] == check_id for f in o["findings"]]

    def results(self, check_id: str) -> list[dict[str, Any]]:
        return [r for r in self.sarif["runs"][0]["results"] if r["ruleId"] == check_id]

    def annotation(self, check_id: str) -> str:
        return next(line for line in self.out.splitlines() if f"title=auditready {check_id} failed" in line)

    def row(self, check_id: str) -> str:
        return next(line for line in self.summary.splitlines() if line.startswith(f"| `{check_id}` |"))

    def html_row(self, check_id: str) -> str:
        m = re.search(rf'<tr class="[^"]*" data-check="{check_id}">(.*?)</tr>', self.html)
        assert m, check_id
        return m.group(1)


def _region(result: dict[str, Any]) -> dict[str, Any]:
    region: dict[str, Any] = result["locations"][0]["physicalLocation"]["region"]
    return region


# -- F1: a roll-up past the cap ------------------------------------------------------------------------------------
def test_a_roll_up_counts_its_entries_in_every_report_and_points_at_one_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """25 requests without request.remote_address: 20 named, the other 5 one finding that stands for 5 entries, at
    the first of them (line 72), in every report; SARIF's result for it is there, never at line 1."""
    lines = _log(tmp_path / "many25.log", 25, _no_source)
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "many25.log")
    assert run.rc == 1
    found = run.findings("required_fields")
    assert [f["where"] for f in found] == [f"many25.log:{n}" for n in lines[:21]]
    roll = found[-1]
    assert roll["message"] == "5 more entries lack where from (request.remote_address)."
    assert roll["entries"] == 5 and all("entries" not in f for f in found[:-1])
    # the counts: 21 findings on 25 entries, in the JSON, evidence.json, JUnit, report.html, the summary, the annotation
    assert (run.check("required_fields")["findings"], run.check("required_fields")["entries"]) == (21, 25)
    ev = next(c for c in run.evidence["checks"] if c["id"] == "required_fields")
    assert (ev["findings"], ev["entries"]) == (21, 25)
    assert [f.get("entries", 1) for o in ev["outcomes"] for f in o["findings"]][-1] == 5
    assert re.search(r'<failure [^>]*message="21 finding\(s\) on 25 entries; first: \[many25\.log:32, ', run.junit)
    assert "required_fields</code> (medium): 21 finding(s) on 25 entries</h3>" in run.html
    assert "(+20 more; 25 entries in all)" in run.html_row("required_fields")
    assert "(+20 more; 25 entries in all)" in run.row("required_fields")
    assert run.annotation("required_fields").startswith("::error file=many25.log,line=32,")
    assert "(+20 more finding(s); 25 entries in all)" in run.annotation("required_fields")
    # a check whose findings each stand for one entry says one count, as before
    assert run.check("completeness")["entries"] == 0
    # SARIF: the roll-up sits at the first entry it stands for, says how many, and how many it locates nowhere
    results = run.results("required_fields")
    assert [_region(r)["startLine"] for r in results] == lines[:21]
    last = results[-1]
    assert last["properties"]["entries"] == 5 and last["properties"]["entriesNotLocated"] == 4
    assert "wholeFile" not in last["properties"]
    assert "stands for 5 entries; it locates 1 of them (this line), not the other 4." in last["message"]["text"]
    assert all(r["properties"].get("entries", 1) == 1 for r in results[:-1])


def _raw_token(token: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def change(req: dict[str, Any], resp: dict[str, Any]) -> None:
        for e in (req, resp):  # (a device with log_raw: the token in clear where the vault writes its digest)
            e["auth"]["client_token"] = token
            e["request"]["client_token"] = token
    return change


def test_a_roll_up_with_no_line_says_in_sarif_that_line_1_is_not_one_of_its_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """integrity_digest names 5 raw entries and counts the rest without lines: its roll-up is a whole-file result
    that says it stands for those entries and that line 1 is not one of them."""
    token = "hvs.CAESI" + secrets.token_urlsafe(24)
    _log(tmp_path / "raw.log", 7, _raw_token(token))
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "raw.log")
    roll = [f for f in run.findings("integrity_digest") if "more entries were written raw" in f["message"]]
    assert len(roll) == 1 and roll[0]["where"] == "" and roll[0]["entries"] == 9  # (14 raw entries, 5 named)
    result = next(r for r in run.results("integrity_digest") if "more entries were written raw" in r["message"]["text"])
    assert _region(result) == {"startLine": 1}
    assert result["properties"]["wholeFile"] is True
    assert result["properties"]["entries"] == result["properties"]["entriesNotLocated"] == 9
    assert ("stands for 9 entries of the file, none of which it locates: line 1 stands for the file as a whole, not "
            "for one of them") in result["message"]["text"]
    check = run.check("integrity_digest")
    assert check["entries"] == check["findings"] + 8
    assert token not in json.dumps(run.sarif) + json.dumps(run.json) + run.junit + run.html + run.summary + run.out


def _leak(value: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def change(req: dict[str, Any], _resp: dict[str, Any]) -> None:
        req["request"]["headers"] = {"x-debug": [value]}  # (an audited header sent by a client in clear)
    return change


@pytest.mark.parametrize("n", [25, 130])
def test_a_leak_on_many_lines_names_each_as_a_related_location(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], n: int) -> None:
    """One canary raw on n lines: one finding, for n entries; SARIF gives its further lines as relatedLocations, at
    most 100, saying how many more."""
    canary = secrets.token_urlsafe(32)
    (tmp_path / "canaries.txt").write_text(canary + "\n")
    (tmp_path / "canaries.txt").chmod(0o600)
    lines = _log(tmp_path / "leak.log", n, _leak(canary))
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "leak.log", "--canaries", "canaries.txt")
    found = run.findings("no_secret_leak")
    assert len(found) == 1 and found[0]["where"] == f"leak.log:{lines[0]}"
    assert found[0]["also_on"] == lines[1:] and found[0]["entries"] == n
    assert (run.check("no_secret_leak")["findings"], run.check("no_secret_leak")["entries"]) == (1, n)
    assert re.search(rf'<failure [^>]*message="1 finding\(s\) on {n} entries; first: ', run.junit)
    assert f"no_secret_leak</code> (critical): 1 finding(s) on {n} entries</h3>" in run.html
    [result] = run.results("no_secret_leak")
    assert _region(result)["startLine"] == lines[0]
    related = result["relatedLocations"]
    assert [r["physicalLocation"]["region"]["startLine"] for r in related] == lines[1:101]
    assert all(r["physicalLocation"]["artifactLocation"]["uri"] == "leak.log" for r in related)
    assert len({r["id"] for r in related}) == len(related)
    assert result["properties"]["entries"] == n and result["properties"]["alsoOn"] == n - 1
    assert result["properties"].get("relatedLocationsLeftOut", 0) == max(0, n - 1 - 100)
    assert "entriesNotLocated" not in result["properties"]  # (every line it stands for is named)
    assert canary not in json.dumps(run.sarif) + json.dumps(run.json) + run.junit + run.html + run.summary + run.out


def _email(req: dict[str, Any], _resp: dict[str, Any]) -> None:
    req["request"]["headers"] = {"x-user": [f"user{req['request']['id'][-4:]}@example.org"]}  # one value each


def test_a_roll_up_of_values_past_the_cap_counts_its_sightings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """data_minimisation lists 20 values and counts the sightings of the rest: its roll-up says sightings (not
    distinct values, which it does not count), stands for them, and sits at the first."""
    lines = _log(tmp_path / "mail.log", 25, _email)
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "mail.log")
    found = run.findings("data_minimisation")
    assert [f["where"] for f in found] == [f"mail.log:{n}" for n in lines[:21]]
    assert found[-1]["message"] == ("5 more sightings of e-mail address values are logged in clear text (only the "
                                    "first 20 values are listed).")
    assert found[-1]["entries"] == 5 and run.check("data_minimisation")["entries"] == 25


def test_entries_and_further_lines_survive_a_verdict_sent_from_a_worker() -> None:
    """pytest-xdist sends each item's outcome as JSON: a roll-up's count and a leak's further lines go with it."""
    roll = Finding("required_fields", "", "5 more entries lack where from.", "fix", where="a.log:72", entries=5)
    leak = Finding("no_secret_leak", "", "A leak.", "fix", where="a.log:32", also_on=(34, 36), entries=4)
    plain = Finding("required_fields", "", "The entry lacks it.", "fix", where="a.log:30")
    sent = Outcome("required_fields", "", "failed", (roll, leak, plain)).to_json()
    back = Outcome.from_json(json.loads(json.dumps(sent)))
    assert back.findings == (roll, leak, plain)
    assert [f.entries for f in back.findings] == [5, 4, 1]
    assert Finding("c", "", "m", "f", where="a.log:1", also_on=(2, 3)).entries == 3  # (at least its lines)


def test_pytest_says_the_entries_its_findings_stand_for(tmp_path: Path, pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's own failure text for an offline item counts the entries beside the findings."""
    here = pytester.path
    monkeypatch.chdir(here)
    _log(here / "many25.log", 25, _no_source)
    (here / "ar.toml").write_text(CONFIG)
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(here / "many25.log"),
                                     "--auditready-config", str(here / "ar.toml"))
    text = r.stdout.str()
    assert r.ret == 1
    assert "  (21 finding(s) on 25 entries)" in text, text[-3000:]
    # (no count where each finding is one entry; the failure's own text only, for pytest's short summary repeats
    # the whole of it where the environment says CI)
    failures = text.partition("short test summary info")[0]
    assert failures.count("finding(s) on") == 1, failures


# -- F2: a CloudTrail record is no line ----------------------------------------------------------------------------
def _trail(path: Path) -> None:
    """A CloudTrail delivery file as AWS writes it (one JSON document, one line), of 5 documented GetSecretValue
    records, the 4th without its sourceIPAddress."""
    def rec(i: int) -> dict[str, Any]:
        r = {"eventVersion": "1.08",
             "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice",
                              "arn": "arn:aws:sts::123456789012:assumed-role/app/alice", "accountId": "123456789012",
                              "accessKeyId": "ASIAEXAMPLEKEY12345"},
             "eventTime": f"2024-05-01T10:0{i}:00Z", "eventSource": "secretsmanager.amazonaws.com",
             "eventName": "GetSecretValue", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
             "userAgent": "aws-cli/2.15.0", "requestParameters": {"secretId": "prod/db"}, "responseElements": None,
             "requestID": str(uuid.UUID(int=i + 1)), "eventID": str(uuid.UUID(int=1000 + i)), "readOnly": True,
             "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "123456789012",
             "eventCategory": "Management"}
        if i == 3:
            del r["sourceIPAddress"]
        return r
    path.write_text(json.dumps({"Records": [rec(i) for i in range(5)]}))
    path.chmod(0o600)


def test_a_cloudtrail_record_is_pointed_at_as_a_record_not_as_a_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A CloudTrail finding sits at line 1 of its file in SARIF, its record in properties.record, and its annotation
    has no line=; Kubernetes and Vault/OpenBao logs hold one entry a line, and their findings stay at their lines."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "k8s.log").write_bytes(K8S.read_bytes())
    (tmp_path / "k8s" / "k8s.log").chmod(0o600)
    k8s = Run(tmp_path / "k8s", monkeypatch, capsys, tmp_path / "k8s" / "k8s.log")
    [result] = k8s.results("no_secret_leak")
    assert _region(result) == {"startLine": 6} and "record" not in result["properties"]
    assert k8s.annotation("no_secret_leak").startswith("::error file=k8s.log,line=6,")
    (tmp_path / "vault").mkdir()
    _log(tmp_path / "vault" / "v.log", 1, _no_source)
    vault = Run(tmp_path / "vault", monkeypatch, capsys, tmp_path / "vault" / "v.log")
    [result] = vault.results("required_fields")
    assert _region(result) == {"startLine": FIRST} and "record" not in result["properties"]
    assert vault.annotation("required_fields").startswith(f"::error file=v.log,line={FIRST},")
    _trail(tmp_path / "trail.json")
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "trail.json")
    assert (tmp_path / "trail.json").read_text().count("\n") == 0  # one physical line
    [finding] = run.findings("required_fields")
    assert finding["where"] == "trail.json:4"  # the record's place, as every report names it
    [result] = run.results("required_fields")
    assert _region(result) == {"startLine": 1}
    assert result["properties"]["record"] == 4 and "wholeFile" not in result["properties"]
    assert "\\[trail.json:4, request id " in result["message"]["text"]
    assert "4 is the record's place in the file, whose unit is records, not a line" in result["message"]["text"]
    line = run.annotation("required_fields")
    assert line.startswith("::error file=trail.json,title=") and "line=" not in line.split("::")[1]
    assert "[trail.json:4, request id " in line
    assert re.search(r'<failure [^>]*message="1 finding\(s\); first: \[trail\.json:4, ', run.junit)




# -- F6: a passing check's note is no finding ----------------------------------------------------------------------
def test_a_passing_checks_note_is_labelled_as_a_note_not_shown_as_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _log(tmp_path / "many25.log", 25, _no_source)
    run = Run(tmp_path, monkeypatch, capsys, tmp_path / "many25.log")
    assert "| check | result | severity | controls | first finding (or note) |" in run.summary
    assert "<th>First finding (or note)</th>" in run.html

    def last_cell(row: str) -> str:
        return row.rstrip().rstrip("|").rsplit(" | ", 1)[-1].strip()

    passed = run.row("integrity_digest")
    assert "\u2705 pass" in passed and last_cell(passed).startswith("note: Offline, the digests")
    assert last_cell(run.row("retention")).startswith("skipped: retention\\_days = 0")
    failed = last_cell(run.row("required_fields"))
    assert failed.startswith("\\[many25.log:32, request id ") and "note:" not in failed

    def cell(check: str) -> str:
        return str(re.findall(r"<td>(.*?)</td>", run.html_row(check))[-1])

    assert cell("integrity_digest").startswith("note: Offline, the digests")
    assert cell("retention").startswith("skipped: retention_days = 0")
    assert cell("required_fields").startswith("[many25.log:32, request id ")


def test_a_cloudtrail_file_s_progress_line_counts_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """F7: a delivery file is one line holding its records; the per-file line said "5 lines"."""
    trail = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail" / "real" / "correct.json"
    n = len(json.loads(trail.read_text())["Records"])
    log = tmp_path / "trail.json"
    log.write_text(json.dumps(json.loads(trail.read_text()), separators=(",", ":")))  # one line, as delivered
    log.chmod(0o600)
    cfg = tmp_path / "c.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    capsys.readouterr()
    main(["verify", str(log), "--config", str(cfg)])
    out = capsys.readouterr().out
    assert f"{log}: {n} records, " in out and f"{log}: {n} lines" not in out, out
