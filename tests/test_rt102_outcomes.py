"""Red team rt102: requests whose outcome the log does not record, and records a delivered file holds twice.

F2: a Kubernetes log whose every ResponseComplete a pipeline dropped (one that de-duplicates by auditID keeps the
first event, RequestReceived) passed: completeness excused every event as a policy that omits the later stages, and
required_fields counted 480 events judged though none carries a result. A request whose only logged stage is
RequestReceived has no recorded outcome (PCI DSS 10.2.2): a finding at its line, unless it is still in flight where
the log ends; a policy that omits RequestReceived (only ResponseComplete events) still passes. F3: `auditready access`
said "outcome not logged" for Kubernetes requests and an HA standby's forwarded ones and exited 0 (1 for Vault's).
F6: one delivered CloudTrail log file holding one record 300 times passed as "two trails' files joined".

Every log is built from the project's real-format fixtures (fixtures/k8s/real/correct.log, fixtures/openbao,
fixtures/cloudtrail/real/correct.json)."""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import completeness
from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
REAL_K8S = ROOT / "k8s" / "real" / "correct.log"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
CT_CONFIG = CONFIG + "timestamp_digits = 0\n"
OLD = "audit-2026-01-05T08-08-00.000.log"  # lumberjack's backup name for a rotation at 08:08:00
T0 = datetime.datetime(2026, 1, 5, 8, 0, 0)
BOUND = 120 * 10**9  # the default completeness_window, over the default k8s_request_timeout
Event = dict[str, Any]


def _stamp(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _requests() -> list[tuple[Event, Event]]:
    """480 requests, one every 2 s, each as the log backend writes it with no omitStages: its RequestReceived event
    and its ResponseComplete 3 ms later; each is a request of fixtures/k8s/real/correct.log that is not
    long-running, under its own auditID (as the red team's mk_k8s_dedup.py builds them). The 40 gets of the Secret
    prod/payments were refused (403), as the real fixture's was."""
    real = [json.loads(line) for line in REAL_K8S.read_text().splitlines()]
    out: list[tuple[Event, Event]] = []
    i = 0
    for _ in range(40):
        for e in real:
            if e["verb"] == "watch" or e["stage"] != "ResponseComplete":
                continue
            i += 1
            rid = str(uuid.UUID(int=i))
            t = T0 + datetime.timedelta(seconds=i * 2, microseconds=(i * 7919) % 1000000)
            received, done = _stamp(t), _stamp(t + datetime.timedelta(microseconds=3217))
            rr = json.loads(json.dumps(e))
            rr.update(stage="RequestReceived", annotations={}, auditID=rid, requestReceivedTimestamp=received,
                      stageTimestamp=received)
            rr.pop("responseStatus", None)
            rr.pop("responseObject", None)
            rc = json.loads(json.dumps(e))
            rc.update(auditID=rid, requestReceivedTimestamp=received, stageTimestamp=done)
            out.append((rr, rc))
    return out


def _full(reqs: list[tuple[Event, Event]]) -> list[Event]:
    return [e for pair in reqs for e in pair]


def _dedup(events: list[Event]) -> list[Event]:
    """``events`` after a pipeline that de-duplicates by auditID, keeping the first event of each."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e["auditID"] not in seen:
            seen.add(e["auditID"])
            out.append(e)
    return out


def _write(path: Path, events: list[Event]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    path.chmod(0o600)
    return str(path)


def _verify(folder: Path, capsys: pytest.CaptureFixture[str], *paths: str, jobs: str = "1",
            config: str = CONFIG) -> tuple[int, dict[str, Any]]:
    (folder / "auditready.toml").write_text(config)
    capsys.readouterr()
    rc = main(["verify", *paths, "--config", str(folder / "auditready.toml"), "--json", str(folder / "r.json"),
               "-q", "--jobs", jobs])
    capsys.readouterr()
    return rc, json.loads((folder / "r.json").read_text())


def _outcomes(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [o for o in report["outcomes"] if o["check"] == check]


def _found(report: dict[str, Any], check: str = "completeness") -> list[tuple[str, int, str]]:
    return [(Path(f["where"].rsplit(":", 1)[0]).name, int(f["where"].rsplit(":", 1)[1]), f["message"])
            for o in _outcomes(report, check) for f in o["findings"] if f["where"]]


def _excused(report: dict[str, Any], check: str = "completeness") -> dict[str, int]:
    out: dict[str, int] = {}
    for f in report["files"]:
        for e in f["checks"][check]["excused"]:
            out[e["rule"]] = out.get(e["rule"], 0) + e["entries"]
    return out


def _ns(stamp: str) -> int:
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + t.microsecond * 1000


def _line(events: list[Event], rid: str, stage: str = "RequestReceived") -> int:
    return next(i for i, e in enumerate(events, 1) if e["auditID"] == rid and e["stage"] == stage)


# -- F2: a request whose only logged stage is RequestReceived ------------------------------------------------------
def test_the_whole_log_with_both_stages_passes_with_every_event_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _full(_requests())
    for jobs in ("1", "2"):
        rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events), jobs=jobs)
        assert (rc, _found(report), _found(report, "required_fields")) == (0, [], []), _found(report)
        (comp,) = _outcomes(report, "completeness")
        assert comp["status"] == "passed" and comp["tally"]["judged"] == 960 and not comp["tally"]["excused"]
        (fields,) = _outcomes(report, "required_fields")
        assert fields["status"] == "passed" and fields["tally"]["judged"] == 480  # (the ResponseComplete events)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_log_whose_every_outcome_a_dedup_pipeline_dropped_fails_at_each_request_received(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    events = _dedup(_full(_requests()))
    assert len(events) == 480 and {e["stage"] for e in events} == {"RequestReceived"}
    rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events), jobs=jobs)
    assert rc == 1
    last = max(_ns(e["stageTimestamp"]) for e in events)
    in_flight = [i for i, e in enumerate(events, 1) if last - _ns(e["stageTimestamp"]) <= BOUND]
    (comp,) = _outcomes(report, "completeness")
    assert comp["status"] == "failed" and comp["tally"]["judged"] == 480 - len(in_flight)
    assert _excused(report) == {completeness.k8s_in_flight(BOUND): len(in_flight)}
    found = _found(report)
    # each at its RequestReceived line, in file order from the first (no excuse near the log's start: the log
    # backend writes in order, so no later stage can be in the file before), the rest counted at the 21st
    assert [line for _, line, _ in found] == list(range(1, 22))
    assert all("no later stage of its request" in m and "de-duplicates" in m for _, _, m in found[:20])
    assert found[20][2].startswith(f"{480 - len(in_flight) - 20} more events have no later stage")
    (fields,) = _outcomes(report, "required_fields")  # no event records an outcome: judged nothing, not a pass
    assert fields["status"] == "failed" and fields["tally"]["judged"] == 0
    assert "required_fields judged nothing" in fields["findings"][0]["message"]


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("round_", [0, 20])
def test_the_refused_read_whose_403_was_dropped_is_found_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str, round_: int) -> None:
    """Each round's get of the Secret prod/payments was refused (403, as in the real fixture): its ResponseComplete
    dropped, 16 s into the log (round 0: no webhook batches to have put it in the file before) or mid-log."""
    reqs = _requests()
    rid = [rc["auditID"] for _, rc in reqs if rc["responseStatus"]["code"] == 403][round_]
    events = [e for e in _full(reqs) if not (e["auditID"] == rid and e["stage"] == "ResponseComplete")]
    rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events), jobs=jobs)
    ((name, line, message),) = _found(report)
    assert (rc, name, line) == (1, "audit.log", _line(events, rid))
    assert "outcome (allowed or refused) is not in the log" in message


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_rotated_set_of_deduplicated_files_fails_in_each_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    events = _dedup(_full(_requests()))
    old = _write(tmp_path / OLD, events[:240])
    new = _write(tmp_path / "audit.log", events[240:])
    rc, report = _verify(tmp_path, capsys, old, new, jobs=jobs)
    assert rc == 1
    found = _found(report)
    assert {(name, line) for name, line, _ in found} >= {(OLD, 1), ("audit.log", 1)}, found
    # neither file judged an outcome: each skipped as a member of a set whose other file holds entries, none passed
    assert [o["status"] for o in _outcomes(report, "required_fields")] == ["skipped", "skipped"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_request_split_by_the_rotation_is_paired_across_the_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    events = _full(_requests())
    cut = 481  # past request 240's RequestReceived: its ResponseComplete opens the next file
    assert events[cut - 1]["stage"] == "RequestReceived" and events[cut]["stage"] == "ResponseComplete"
    old = _write(tmp_path / OLD, events[:cut])
    new = _write(tmp_path / "audit.log", events[cut:])
    rc, report = _verify(tmp_path, capsys, old, new, jobs=jobs)
    assert (rc, _found(report)) == (0, []), _found(report)


def test_a_log_whose_policy_omits_request_received_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``omitStages: [RequestReceived]``, the Kubernetes docs' example policy: every outcome is there."""
    events = [e for e in _full(_requests()) if e["stage"] != "RequestReceived"]
    rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events), jobs="2")
    assert (rc, _found(report), _found(report, "required_fields")) == (0, [], [])
    (fields,) = _outcomes(report, "required_fields")
    assert fields["status"] == "passed" and fields["tally"]["judged"] == 480


@pytest.mark.parametrize("fixture", ["k8s/real/correct.log", "k8s/rt101/correct.log", "k8s/unseen/correct.log",
                                     "k8s/audit.log", "k8s/wild/correct.log"])
def test_the_real_correct_logs_still_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture: str) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes((ROOT / fixture).read_bytes())
    path.chmod(0o600)
    rc, report = _verify(tmp_path, capsys, str(path))
    assert (rc, _found(report), _found(report, "required_fields")) == (0, [], [])


def _watch(n: int, at: float, stages: tuple[str, ...]) -> list[Event]:
    """The watch of fixtures/k8s/real/correct.log (its ResponseStarted and ResponseComplete) as request ``n``,
    received ``at`` s after T0, at each of ``stages``: ResponseStarted 2 ms after, ResponseComplete 516 s after."""
    real = [json.loads(line) for line in REAL_K8S.read_text().splitlines()]
    started = next(e for e in real if e["verb"] == "watch" and e["stage"] == "ResponseStarted")
    t = T0 + datetime.timedelta(seconds=at)
    out = []
    for stage in stages:
        e = json.loads(json.dumps(started))
        e.update(stage=stage, auditID=str(uuid.UUID(int=10**6 + n)), requestReceivedTimestamp=_stamp(t),
                 stageTimestamp=_stamp(t + datetime.timedelta(
                     seconds={"RequestReceived": 0, "ResponseStarted": 0.002, "ResponseComplete": 516}[stage])))
        if stage == "RequestReceived":
            e.pop("responseStatus", None)
            e["annotations"] = {}
        out.append(e)
    return out


def _in_time(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: _ns(e["stageTimestamp"]))


def test_requests_in_flight_where_the_log_ends_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The log ends while its last 30 requests (60 s) wait for their ResponseComplete, a watch opened at its end
    has only its RequestReceived, and a watch opened mid-log has its ResponseStarted (its ResponseComplete, 516 s
    later, is past the end): each in flight, none a finding."""
    reqs = _requests()
    events = [e for i, (rr, rc) in enumerate(reqs) for e in ((rr, rc) if i < 450 else (rr,))]
    events = _in_time(events + _watch(1, 500.271828, ("RequestReceived", "ResponseStarted"))
                      + _watch(2, 960.314159, ("RequestReceived",)))
    rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events))
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report) == {completeness.k8s_in_flight(BOUND): 31}


def test_a_watch_whose_response_started_was_dropped_is_found_unless_the_policy_omits_that_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A watch's outcome (its status) is in its ResponseStarted, written once its response headers are sent
    (Kubernetes "Auditing": "only generated for long-running requests (e.g. watch)"). A watch mid-log with its
    RequestReceived alone, in a log that writes ResponseStarted (another watch has one), lost it; where the log shows
    a policy that omits ResponseStarted (a watch with RequestReceived and ResponseComplete, none between), its
    outcome comes when it ends, which may be past the log's end."""
    base = [e for e in _full(_requests()) if not e["requestURI"].split("?")[0].endswith("/exec")]  # (no RS built)
    lone = _watch(2, 300.654321, ("RequestReceived",))
    events = _in_time(base + _watch(1, 100.123457, ("RequestReceived", "ResponseStarted")) + lone)
    rc, report = _verify(tmp_path / "kept", capsys, _write(tmp_path / "kept" / "audit.log", events))
    ((_, line, message),) = _found(report)
    assert (rc, line) == (1, _line(events, lone[0]["auditID"])) and "no later stage" in message
    events = _in_time(base + _watch(1, 100.123457, ("RequestReceived", "ResponseComplete")) + lone)
    rc, report = _verify(tmp_path / "omitted", capsys, _write(tmp_path / "omitted" / "audit.log", events))
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report)[completeness.K8S_LONG] == 1


def test_a_dropped_response_complete_near_the_log_s_start_is_found_unless_the_log_shows_reordered_batches(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The log backend writes in order: a request received 10 s into the file has its later stage after it. Only a
    webhook receiver's file, whose batches come out of order (one of its requests' ResponseComplete before its
    RequestReceived), may have put that stage in the file before."""
    reqs = _requests()
    rid = reqs[4][0]["auditID"]  # received 10 s after the first
    events = [e for e in _full(reqs) if not (e["auditID"] == rid and e["stage"] == "ResponseComplete")]
    rc, report = _verify(tmp_path / "log", capsys, _write(tmp_path / "log" / "audit.log", events))
    assert (rc, [line for _, line, _ in _found(report)]) == (1, [_line(events, rid)])
    at = _line(events, reqs[200][0]["auditID"])  # a webhook receiver's file: request 200's stages swapped
    events[at - 1], events[at] = events[at], events[at - 1]
    rc, report = _verify(tmp_path / "webhook", capsys, _write(tmp_path / "webhook" / "audit.log", events))
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report)[completeness.k8s_before(BOUND)] == 1


def test_a_log_of_request_received_events_alone_does_not_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ten RequestReceived events in 20 s: each may be in flight, and none records an outcome. No check that judges
    the outcome passes: completeness has no pair to judge (skipped), required_fields judged nothing (failed)."""
    events = _dedup(_full(_requests()))[:10]
    rc, report = _verify(tmp_path, capsys, _write(tmp_path / "audit.log", events))
    assert rc == 1
    assert [o["status"] for o in _outcomes(report, "completeness")] == ["skipped"]
    (fields,) = _outcomes(report, "required_fields")
    assert fields["status"] == "failed" and fields["tally"]["judged"] == 0


# -- F3: auditready access exits 1 wherever a matching request's outcome is not logged -----------------------------
def _access(capsys: pytest.CaptureFixture[str], pattern: str, *paths: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["access", pattern, *paths])
    return rc, capsys.readouterr().err


def test_access_exits_1_for_a_vault_request_without_its_response(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines(keepends=True)
    whole = tmp_path / "whole.log"
    whole.write_text("".join(lines))
    cut = tmp_path / "requests.log"
    cut.write_text("".join(line for line in lines if json.loads(line)["type"] == "request"))
    assert _access(capsys, "secret/*", str(whole))[0] == 0
    rc, err = _access(capsys, "secret/*", str(cut))
    assert rc == 1 and "have a request entry and no response entry" in err


def test_access_exits_1_for_kubernetes_requests_known_by_their_request_received_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _full(_requests())
    assert _access(capsys, "api/v1/namespaces/prod/secrets/*", _write(tmp_path / "full.log", events))[0] == 0
    rc, err = _access(capsys, "api/v1/namespaces/prod/secrets/*", _write(tmp_path / "dedup.log", _dedup(events)))
    assert rc == 1 and "80 matching Kubernetes requests are known by their RequestReceived event alone" in err


def test_access_exits_1_for_a_standby_s_forwarded_requests_whose_active_node_log_is_not_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _access(capsys, "secret/*", str(ROOT / "openbao" / "ha" / "traffic" / "node1.audit.log"))
    assert rc == 1 and "2 matching requests reached a standby" in err
    nodes = [str(ROOT / "openbao" / "ha" / "traffic" / f"node{n}.audit.log") for n in (1, 2, 3)]
    rc, err = _access(capsys, "secret/*", *nodes)  # every node's log: each forwarded request found, outcome known
    assert rc == 0 and "reached a standby" not in err, err


# -- F6: a record repeated within one delivered CloudTrail log file ------------------------------------------------
TRAIL = "111122223333_CloudTrail_us-east-1_20260105T0800Z_{}.json"


def _records() -> list[dict[str, Any]]:
    return list(json.loads((ROOT / "cloudtrail" / "real" / "correct.json").read_text())["Records"])


def _delivered(path: Path, records: list[dict[str, Any]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Records": records}))
    path.chmod(0o600)
    return str(path)


def test_a_record_repeated_within_one_delivered_file_is_found_at_each_copy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = _records()
    one = _delivered(tmp_path / "one" / TRAIL.format("aaaaaaaaaaaaaaaa"), [records[0]] * 300)
    rc, report = _verify(tmp_path / "one", capsys, one, config=CT_CONFIG)
    found = _found(report)
    assert rc == 1 and [line for _, line, _ in found] == list(range(2, 23)), found
    assert all(f"{Path(one).name}:1" in m and "one delivered CloudTrail log file" in m for _, _, m in found[:20])
    assert found[20][2] == "279 more records repeat the eventID of another record."
    mixed = _delivered(tmp_path / "mixed" / TRAIL.format("bbbbbbbbbbbbbbbb"), [*records, records[1]])
    rc, report = _verify(tmp_path / "mixed", capsys, mixed, config=CT_CONFIG)
    ((_, line, message),) = _found(report)
    assert (rc, line) == (1, len(records) + 1) and f"{Path(mixed).name}:2" in message


def test_two_trails_files_that_repeat_each_other_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A record delivered again is a whole file: another trail's (global service events go to every trail that
    includes them), or a file copied twice. Each file alone holds each record once."""
    records = _records()
    for two in (("a", "b"), ("trail", "trail")):  # two trails' folders; one folder holding both
        a = _delivered(tmp_path / two[0] / TRAIL.format("aaaaaaaaaaaaaaaa"), records)
        b = _delivered(tmp_path / two[1] / TRAIL.format("cccccccccccccccc"), records)
        rc, report = _verify(tmp_path, capsys, a, b, config=CT_CONFIG)
        assert (rc, _found(report)) == (0, []), _found(report)
        assert [o["status"] for o in _outcomes(report, "completeness")] == ["skipped", "skipped"]
    alone = _delivered(tmp_path / "alone" / TRAIL.format("dddddddddddddddd"), records)
    rc, report = _verify(tmp_path / "alone", capsys, alone, config=CT_CONFIG)
    assert (rc, _found(report), _excused(report)) == (0, [], {})


def test_records_one_a_line_may_repeat_a_record_delivered_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Records one a line (jq -c '.Records[]' of two trails' files, an EventBridge stream, delivered at least once)
    are no one delivered file: a record repeated among them stays excused as delivered again."""
    records = _records()
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*records, records[0]]))
    path.chmod(0o600)
    rc, report = _verify(tmp_path, capsys, str(path), config=CT_CONFIG)
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report) == {completeness.REDELIVERED["cloudtrail"]: 1}
