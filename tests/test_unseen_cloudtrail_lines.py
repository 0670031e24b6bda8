"""CloudTrail records exported one a line (a CloudTrail Lake export, Athena or a SIEM's output, `lookup-events`
through jq) and EventBridge's events of them (the record under ``detail``): told from their content as CloudTrail,
read with CloudTrail's own fields, rules and excuses, and judged as the same records in a delivery file are, line
for line as record for record (fixtures/cloudtrail/lines, made from fixtures/cloudtrail/real/correct.json)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from tests._native_runs import completed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CT = FIXTURES / "cloudtrail"
LINES = CT / "lines"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
OFFLINE = offline_checks(BUILTIN)
SOURCES = ["secretsmanager.json", "real/correct.json", "real/leaky.json", "real/insights.json", "unseen/correct.json"]


def recs(src: str = "real/correct.json") -> list[dict[str, Any]]:
    return list(json.loads((CT / src).read_text())["Records"])


def event(rec: dict[str, Any], i: int = 0) -> dict[str, Any]:
    """``rec`` as EventBridge delivers it."""
    return {"version": "0", "id": f"0d9b6a1c-3f2e-4b5a-9c8d-{i:012d}", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws." + str(rec.get("eventSource", "cloudtrail.")).split(".")[0],
            "account": "111122223333", "time": rec.get("eventTime"), "region": "eu-west-1", "resources": [],
            "detail": rec}


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def delivery(tmp: Path, records: list[Any], name: str = "trail.json") -> Path:
    return write(tmp / name, json.dumps({"Records": records}).encode())


def lines(tmp: Path, items: list[Any], name: str = "export.jsonl") -> Path:
    return write(tmp / name, b"".join((i if isinstance(i, bytes) else json.dumps(i).encode()) + b"\n" for i in items))


def verify(path: Path, fmt: str = "auto", **kw: Any) -> Any:
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format=fmt, **kw)
    return verify_file(str(path), settings, OFFLINE, read_canaries(str(CANARIES)))


def judged(path: Path, fmt: str = "auto", **kw: Any) -> dict[str, Any]:
    """check -> (status, [(line, text)]) with the file's name taken out of the texts."""
    res = verify(path, fmt, **kw)
    return {o.check_id: (o.status, [(f.where.rsplit(":", 1)[-1] if f.where else "",
                                     f.text().replace(str(path), "LOG")) for f in o.findings])
            for o in res.outcomes}


def at(out: dict[str, Any], check: str) -> set[str]:
    return {line for line, _ in out[check][1]}


@pytest.mark.parametrize("shape", ["records", "eventbridge", "gzip"])
@pytest.mark.parametrize("src", SOURCES)
def test_an_export_gets_the_delivery_files_findings_line_for_record(tmp_path: Path, src: str, shape: str) -> None:
    records = recs(src)
    want = judged(delivery(tmp_path, records))
    items = [event(r, i) for i, r in enumerate(records)] if shape == "eventbridge" else records
    path = lines(tmp_path, items)
    if shape == "gzip":
        path = write(tmp_path / "export.jsonl.gz", gzip.compress(path.read_bytes()))
    assert verify(path).format == "cloudtrail"
    assert judged(path) == want


@pytest.mark.parametrize("name", ["correct.jsonl", "eventbridge.jsonl"])
def test_a_correct_export_passes_as_its_delivery_file_does(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, (LINES / name).read_bytes())
    res = verify(path)
    assert res.format == "cloudtrail" and res.entries == 20 and res.bad_lines == 0
    out = judged(path)
    for check in ("required_fields", "no_secret_leak", "data_minimisation"):
        assert out[check] == (PASSED, []), out[check]
    # no finding but the one CloudTrail's own records always earn (whole seconds), as in the delivery file
    assert {k for k, (_, found) in out.items() if found} == {"timestamp_precision"}
    assert "CloudTrail records whole seconds" in out["timestamp_precision"][1][0][1]
    assert out == judged(delivery(tmp_path, recs()))


def test_planted_defects_are_caught_at_their_lines(tmp_path: Path) -> None:
    records = recs()
    canary = CANARIES.read_text().split()[1]
    records[2]["requestParameters"] = {"secretId": "prod/db", "description": canary}  # a secret in the request
    del records[4]["eventTime"]
    items: list[Any] = list(records)
    items[6] = json.dumps(records[6]).encode()[:-9]  # a record cut short: unreadable
    items.insert(9, json.dumps({"time": "2026-01-05T08:00:00Z", "type": "request",
                                "request": {"path": "secret/x"}}).encode())  # another log's line among them
    path = lines(tmp_path, items)
    res = verify(path)
    assert res.format == "cloudtrail" and res.bad_lines == 2
    out = judged(path)
    assert out["no_secret_leak"][0] == FAILED and at(out, "no_secret_leak") == {"3"}
    assert not any(canary in text for _, text in out["no_secret_leak"][1])
    assert out["required_fields"][0] == FAILED
    assert at(out, "required_fields") == {"5", "7", "10"}
    texts = dict(out["required_fields"][1])
    assert "malformed JSON" in texts["7"] and "not a CloudTrail record" in texts["10"]
    # the records' findings are those of the same records in a delivery file
    same = [r for i, r in enumerate(records) if i != 6]
    want = judged(delivery(tmp_path, same))
    assert [t for line, t in want["required_fields"][1] if line == "5"] == [t for line, t in out["required_fields"][1]
                                                                          if line == "5"]
    assert [t for _, t in want["no_secret_leak"][1]] == [t for _, t in out["no_secret_leak"][1]]


def test_records_missing_from_a_lake_export_row_and_extra_columns(tmp_path: Path) -> None:
    """A CloudTrail Lake export's rows may carry columns a delivery file has not: they change no verdict, and a
    secret in one is still found."""
    records = recs()
    want = judged(delivery(tmp_path, records))
    extra = [dict(r, eventCategory=r.get("eventCategory", "Management"), eventDataStore="arn:aws:cloudtrail:"
                  "eu-west-1:111122223333:eventdatastore/6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d") for r in records]
    assert judged(lines(tmp_path, extra)) == want
    canary = CANARIES.read_text().split()[1]
    extra[1]["queryNote"] = canary
    out = judged(lines(tmp_path, extra, "leaky.jsonl"))
    assert out["no_secret_leak"][0] == FAILED and at(out, "no_secret_leak") == {"2"}


def test_an_eventbridge_event_with_keys_of_its_own_is_scanned_whole(tmp_path: Path) -> None:
    canary = CANARIES.read_text().split()[1]
    items = [event(r, i) for i, r in enumerate(recs())]
    items[3]["note"] = canary
    items[5] = {"version": "0", "id": "x", "detail-type": "EC2 Instance State-change Notification",
                "source": "aws.ec2", "detail": {"instance-id": "i-0abc", "state": "running"}}
    out = judged(lines(tmp_path, items))
    assert at(out, "no_secret_leak") == {"4"}
    assert at(out, "required_fields") == {"6"} and "not a CloudTrail record" in out["required_fields"][1][0][1]


def test_format_cloudtrail_reads_an_export_and_other_formats_are_refused(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "e.jsonl", (LINES / "correct.jsonl").read_bytes())
    assert verify(path, "cloudtrail").format == "cloudtrail"
    assert judged(path, "cloudtrail") == judged(path)
    assert main(["verify", str(path), "--format", "k8s"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--format cloudtrail" in err and "Traceback" not in err


def test_a_cloudtrail_line_among_vault_lines_is_caught_at_its_line(tmp_path: Path) -> None:
    vault = (FIXTURES / "openbao" / "clean.log").read_bytes().splitlines()[:6]
    path = lines(tmp_path, [*vault[:3], recs()[0], *vault[3:]])
    res = verify(path)
    assert res.format == "vault"
    out = judged(path)
    assert "4" in at(out, "required_fields")


def test_tamper_evidence_says_an_export_cannot_be_validated(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", (LINES / "correct.jsonl").read_bytes())
    res = verify_file(str(path), Settings(retention_days=0), OFFLINE, {})
    te = next(o for o in res.outcomes if o.check_id == "tamper_evidence")
    assert te.status == FAILED and "cannot be validated" in te.findings[0].text()


def test_an_export_newest_first_is_read_and_its_order_not_judged(tmp_path: Path) -> None:
    """lookup-events answers newest first, and a query's rows come in any order: CloudTrail keeps no order."""
    path = lines(tmp_path, recs()[::-1])
    res = verify(path)
    assert res.format == "cloudtrail"
    ta = next(o for o in res.outcomes if o.check_id == "timestamp_accuracy")
    assert ta.status == SKIPPED and "no particular order" in ta.reason


def test_auditready_access_answers_an_export_as_its_delivery_file(tmp_path: Path) -> None:
    records = recs()
    d = delivery(tmp_path, records)
    e = write(tmp_path / "e.jsonl", (LINES / "eventbridge.jsonl").read_bytes())
    answers = []
    for path in (d, e):
        r = completed(["access", "*", str(path), "--json", "-"], tmp_path, timeout=120)
        assert r.returncode == 0, r.stderr
        answers.append(json.loads(r.stdout)["identities"])
    assert answers[0] and answers[0] == answers[1]


def test_an_export_among_a_trails_digests_is_not_taken_as_validated(tmp_path: Path) -> None:
    """An export beside the trail's digest files (its own name, or a delivered file rewritten one record a line) is
    listed in no digest or matches none: never a pass."""
    from .test_cloudtrail import _tamper_outcome, build_trail, rsa_key, write_keys

    root = build_trail(tmp_path)
    keys = write_keys(tmp_path / "keys.json", rsa_key(0))
    log = sorted(p for p in root.rglob("*.json.gz") if "Digest" not in str(p))[0]
    assert _tamper_outcome(log, keys).status == PASSED  # the delivered file validates
    records = [dict(r, eventVersion="1.08", eventSource="secretsmanager.amazonaws.com")
               for r in json.loads(gzip.decompress(log.read_bytes()))["Records"]]
    export = lines(log.parent, records, log.name.replace(".json.gz", ".jsonl"))
    assert _tamper_outcome(export, keys).status == FAILED
    write(log, gzip.compress(export.read_bytes()))
    assert _tamper_outcome(log, keys).status == FAILED


@pytest.mark.parametrize("shape", ["answer", "events one a line"])
def test_lookup_events_output_is_refused_with_the_jq_that_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   shape: str) -> None:
    """`aws cloudtrail lookup-events` holds each record as a JSON string (CloudTrailEvent): one line naming the jq
    that writes the records one a line, never judged as records without their fields."""
    evs = [{"EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "true", "EventTime": 1767600000,
            "EventSource": r["eventSource"], "Resources": [], "CloudTrailEvent": json.dumps(r)} for r in recs()]
    data = (json.dumps({"Events": evs}, indent=4) + "\n").encode() if shape == "answer" else \
        b"".join(json.dumps(e).encode() + b"\n" for e in evs)
    path = write(tmp_path / "lookup.json", data)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    jq = ".Events[].CloudTrailEvent | fromjson" if shape == "answer" else "'.CloudTrailEvent | fromjson'"
    assert len(err.splitlines()) == 1 and "lookup-events" in err and jq in err and "Traceback" not in err
