"""A baseline names the entry it accepts by what a client cannot choose, and holds no value (red teams rt69 F3, rt70
F1, F3, F4, F7).

rt69 F3 / rt70 F3: an acceptance was keyed by the entry's request id alone, and a Kubernetes client chooses its
Audit-ID (kube-apiserver writes the request's Audit-ID header as the event's auditID), so a later request that
reused the id, with the same defect, was accepted. The entry is now named by its request id and its line's digest:
the replay is written on another line, at other times, and fails; the reviewed entry still passes after lines before
it rotate out. The same holds for a Vault log's request.id.

rt70 F1: the baseline wrote the request id in clear: a client-chosen id holding a canary or an e-mail address went
into the file to be committed. Now only an id of a generated id's shape (a UUID, an S3 request id) is written in
clear, any other by its fingerprint.

rt70 F4: a credential in an acceptance's reason, owner or summary was printed raw in every report; now it is shown
by its kind and fingerprint, and `auditready baseline` refuses a --reason or --owner that holds one (or a canary).
rt70 F7: an owner or reason of invisible or control characters only was taken; now it is empty, for both commands.

The logs are real producers' (fixtures/k8s/real/correct.log, fixtures/openbao/clean.log) with defects planted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready import accept
from pytest_auditready.checks.base import Finding
from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
K8S = FIXTURES / "k8s" / "real" / "correct.log"
VAULT = FIXTURES / "openbao" / "clean.log"
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
CANARY = "S3cretCanaryValue123"
# a GitHub token's shape (detect-secrets' GitHubTokenDetector), an AWS key id's (AWS's documented example)
GITHUB = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ar.toml").write_text(CONFIG)
    (tmp_path / "can.txt").write_text(CANARY + "\n")
    return tmp_path


def _entries(source: Path, change: Callable[[int, dict[str, Any]], None]) -> list[dict[str, Any]]:
    out = []
    for i, raw in enumerate(source.read_text().splitlines(), 1):
        doc = json.loads(raw)
        change(i, doc)
        out.append(doc)
    return out


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
    path.chmod(0o600)


def _baseline(*args: str, reason: str = "known: proxy strips XFF, SEC-1", owner: str = "secops") -> int:
    return main(["baseline", "audit.log", "--config", "ar.toml", "--reason", reason, "--owner", owner,
                 "--expires", "2099-12-31", "--output", "bl.json", *args])


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, dict[str, Any]]:
    rc = main(["verify", "audit.log", "--config", "ar.toml", "--baseline", "bl.json", "--json", "r.json", *args])
    out = capsys.readouterr()
    return rc, out.out + out.err, json.loads(Path("r.json").read_text()) if rc in (0, 1) else {}


def _at(report: dict[str, Any], check: str, key: str = "findings") -> list[str]:
    return [f["where"] for o in report["outcomes"] if o["check"] == check for f in o[key]]


def _k8s_no_source(on: int) -> Callable[[int, dict[str, Any]], None]:
    def change(i: int, doc: dict[str, Any]) -> None:
        if i == on:
            doc["sourceIPs"] = []
    return change


def _replayed(entry: dict[str, Any], stamp_keys: tuple[str, ...], when: str) -> dict[str, Any]:
    """``entry`` sent again later under the same request id: the same request, at other times."""
    return {**entry, **{k: when for k in stamp_keys}}


# -- rt69 F3, rt70 F3: a replayed request id -------------------------------------------------------------------

def test_a_kubernetes_acceptance_accepts_no_later_request_that_reuses_the_audit_id(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _entries(K8S, _k8s_no_source(8))  # a read by prod:app without its source address
    _write(work / "audit.log", entries)
    assert _baseline() == 0
    (a,) = json.loads((work / "bl.json").read_text())["accepted"]
    assert a["check"] == "required_fields" and a["entry"] == f"request id {entries[7]['auditID']}", a
    rc, out, report = _verify(capsys)
    assert rc == 0 and _at(report, "required_fields") == [], out  # the reviewed entry passes
    # the same request sent again three minutes later with the client's Audit-ID: the same defect, not accepted
    replay = _replayed(entries[7], ("requestReceivedTimestamp", "stageTimestamp"), "2026-01-05T08:03:00.196117Z")
    _write(work / "audit.log", [*entries, replay])
    rc, out, report = _verify(capsys)
    assert rc == 1 and "FAIL required_fields audit.log" in out, out
    assert _at(report, "required_fields") == [f"audit.log:{len(entries) + 1}"], out
    assert _at(report, "required_fields", "accepted") == ["audit.log:8"], out
    # three lines rotated out: the reviewed entry, now on line 5, is still accepted, and the replay still fails
    _write(work / "audit.log", [*entries[3:], replay])
    rc, out, report = _verify(capsys)
    assert rc == 1 and "FAIL baseline" not in out, out
    assert _at(report, "required_fields") == [f"audit.log:{len(entries) - 2}"], out
    assert _at(report, "required_fields", "accepted") == ["audit.log:5"], out


def test_a_vault_acceptance_accepts_no_later_entry_that_reuses_the_request_id(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def no_address(i: int, doc: dict[str, Any]) -> None:
        if i == 20:
            doc["request"]["remote_address"] = ""

    entries = _entries(VAULT, no_address)
    _write(work / "audit.log", entries)
    assert _baseline() == 0
    accepted = json.loads((work / "bl.json").read_text())["accepted"]
    assert [a["entry"] for a in accepted] == [f"request id {entries[19]['request']['id']}"], accepted
    rc, out, _ = _verify(capsys)
    assert rc == 0, out
    replay = _replayed(entries[19], ("time",), "2026-11-22T19:20:00.51972476Z")
    _write(work / "audit.log", [*entries, replay])
    rc, out, report = _verify(capsys)
    assert rc == 1 and f"audit.log:{len(entries) + 1}" in _at(report, "required_fields"), out
    assert _at(report, "required_fields", "accepted") == ["audit.log:20"], out


def test_an_entry_is_named_by_its_request_id_and_line_and_by_the_id_alone_where_the_line_is_gone() -> None:
    f = Finding("required_fields", "audit.log", "The entry lacks where from.", "keep it", "audit.log:3",
                "3f0c2a4e-9b1d-4c55-8e21-7d6b5a4c3b2a")
    first, replay = {("audit.log", 3): "a" * 64}, {("audit.log", 3): "b" * 64}
    assert accept.entry_of(f, "", first) == f"request {f.request_id}; line sha256 {'a' * 64}"
    assert accept.fingerprint(f, "", first) != accept.fingerprint(f, "", replay)
    # a line that cannot be read again (a live run's log that is gone, an object URL): the id alone, at any line
    gone = {("audit.log", 3): ""}
    assert accept.entry_of(f, "", gone) == f"request {f.request_id}"
    moved = Finding(f.check_id, f.subject, f.message, f.fix, "audit.log:9", f.request_id)
    assert accept.fingerprint(f, "", gone) == accept.fingerprint(moved, "", {("audit.log", 9): ""})


# -- rt70 F1: a client-chosen request id in the baseline --------------------------------------------------------

def test_a_request_id_of_no_generated_ids_shape_is_written_by_its_fingerprint(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = {3: CANARY, 5: "alice.smith@example.com"}

    def ids(i: int, doc: dict[str, Any]) -> None:
        if i in (3, 5, 8):
            doc["sourceIPs"] = []
        if i in chosen:
            doc["auditID"] = chosen[i]

    entries = _entries(K8S, ids)
    _write(work / "audit.log", entries)
    assert _baseline("--canaries", "can.txt") == 0
    text = (work / "bl.json").read_text()
    assert CANARY not in text and "alice" not in text and "example.com" not in text, text
    shown = {a["where"]: a["entry"] for a in json.loads(text)["accepted"] if a["check"] == "required_fields"}
    assert shown["audit.log:8"] == f"request id {entries[7]['auditID']}", shown  # a UUID: in clear
    for line in ("audit.log:3", "audit.log:5"):
        assert shown[line].startswith("request id <sha256 ") and len(shown[line]) == len("request id <sha256 >") + 10
    # verify without the canaries (a CI job that does not get them; its findings name the ids as the log has them):
    # the acceptance of the canary's finding is stale there, and no acceptance, used or not, names a value
    rc, out, _ = _verify(capsys, "--evidence", "ev")
    assert rc == 1 and "FAIL baseline" in out and "FAIL required_fields" not in out, out
    acceptances = json.loads((work / "ev" / "evidence.json").read_text())["acceptances"]
    listed = json.dumps([acceptances["used"], acceptances["unused"]])
    assert '"entry": "request id <sha256 ' in listed and CANARY not in listed and "alice" not in listed, listed


def test_a_hand_written_entry_with_a_value_is_shown_by_its_fingerprint(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "audit.log", _entries(K8S, _k8s_no_source(8)))
    assert _baseline() == 0
    doc = json.loads((work / "bl.json").read_text())
    doc["accepted"][0]["entry"] = "request id alice.smith@example.com"
    (work / "bl.json").write_text(json.dumps(doc))
    rc, out, _ = _verify(capsys, "--evidence", "ev")
    assert rc == 0 and "alice" not in (work / "ev" / "evidence.json").read_text(), out


# -- rt70 F4: a credential in an acceptance's text ---------------------------------------------------------------

def test_a_credential_in_a_baselines_text_is_masked_in_every_report(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "audit.log", _entries(K8S, _k8s_no_source(8)))
    assert _baseline() == 0
    doc = json.loads((work / "bl.json").read_text())
    used = doc["accepted"][0]
    # what is no credential (a commit id, a link, an e-mail address as the owner) is printed as written
    clean = "see commit 655aa92a5b9ea7179d45678b9ef43de13bb32be9 and https://github.com/org/repo/issues/12"
    used["reason"], used["owner"] = f"{clean}; rotated {GITHUB}", f"jane.doe@example.com ({AWS_KEY})"
    stale = {**used, "fingerprint": "0" * 24, "summary": f"SUMMARY {GITHUB} and {CANARY}"}
    doc["accepted"].append(stale)
    (work / "bl.json").write_text(json.dumps(doc))
    rc, out, _ = _verify(capsys, "--canaries", "can.txt", "--evidence", "ev", "--junit", "j.xml",
                         "--sarif", "s.sarif")
    assert rc == 1 and "the baseline is stale" in out, out  # the stale acceptance, printed with its summary
    assert ("accepted by jane.doe@example.com (<AWS Access Key sha256 " in out
            and f"{clean}; rotated <GitHub Token sha256 " in out), out
    outputs = {"terminal": out, **{p: (work / p).read_text() for p in ("r.json", "j.xml", "s.sarif",
                                                                         "ev/evidence.json", "ev/report.html")}}
    for name, text in outputs.items():
        assert GITHUB not in text and AWS_KEY not in text and CANARY not in text, name
        assert "GitHub Token sha256 " in text and "AWS Access Key sha256 " in text, name


@pytest.mark.parametrize(("option", "value", "says"), [
    ("reason", f"rotated {GITHUB}", "--reason holds a credential (GitHub Token sha256 "),
    ("reason", "password=hunter2xyz in the old chart", "--reason holds a credential (Secret Keyword sha256 "),
    ("owner", "Bearer abcDEF1234567890xyz", "--owner holds a credential (Bearer Token sha256 "),
    ("reason", f"the canary {CANARY} was seen", "--reason holds a canary value"),
])
def test_baseline_refuses_a_credential_in_its_reason_or_owner(work: Path, capsys: pytest.CaptureFixture[str],
                                                               option: str, value: str, says: str) -> None:
    _write(work / "audit.log", _entries(K8S, _k8s_no_source(8)))
    assert _baseline("--canaries", "can.txt", **{option: value}) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert GITHUB not in err and "hunter2" not in err and "abcDEF" not in err and CANARY not in err, err
    assert not (work / "bl.json").exists()
    # a reason naming a commit, a link and a password's rotation, an owner's e-mail address: no credential
    fine = {"reason": "password rotated, see commit 655aa92a5b9ea7179d45678b9ef43de13bb32be9 and "
                      "https://github.com/org/repo/issues/12", "owner": "jane.doe@example.com"}
    assert _baseline("--canaries", "can.txt", **{option: fine[option]}) == 0
    assert json.loads((work / "bl.json").read_text())["accepted"][0][option] == fine[option]


# -- rt70 F7: an owner or reason a reader cannot see -------------------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [("owner", "\u200b"), ("owner", "\x1b"), ("reason", " \u2060\ufeff ")])
def test_baseline_refuses_an_owner_or_reason_of_invisible_characters(work: Path, capsys: pytest.CaptureFixture[str],
                                                                     option: str, value: str) -> None:
    _write(work / "audit.log", _entries(K8S, _k8s_no_source(8)))
    assert _baseline(**{option: value}) == 2
    err = capsys.readouterr().err
    assert f"--{option} is empty" in err and len(err.strip().splitlines()) == 1, err
    assert not (work / "bl.json").exists()


def test_verify_refuses_an_acceptance_whose_owner_is_invisible(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(work / "audit.log", _entries(K8S, _k8s_no_source(8)))
    assert _baseline() == 0
    rc, out, _ = _verify(capsys)
    assert rc == 0, out
    doc = json.loads((work / "bl.json").read_text())
    doc["accepted"][0]["owner"] = "\u200b\x1b"
    (work / "bl.json").write_text(json.dumps(doc))
    rc, out, _ = _verify(capsys)
    assert rc == 2 and "acceptance 1 in bl.json lacks owner" in out and len(out.strip().splitlines()) == 1, out
