"""CloudTrail as other tools hand it over (fixtures/cloudtrail/exports, built here from
fixtures/cloudtrail/real/correct.json; the README names each shape's documentation).

Read, where every field the checks judge keeps its meaning (the time's zone too): the records a shipper or a SIEM
kept whole (a CloudWatch Logs event's message, Elastic's event.original, a Splunk export's _raw, records with a
SIEM's fields beside them, an EventBridge event trimmed to its detail, eventTime re-rendered with a fraction or an
offset). Each gives the delivery file's
findings line for record, with the same judged counts.

Refused in one line (exit 2) naming what was found and the way out, never judged: CloudTrail Lake query results
(get-query-results, its rows one a line, the rows merged into objects), Athena's (CSV, get-query-results, UNLOAD
JSON), Elastic's ECS documents without event.original, records whose objects are text or whose eventTime has no
zone (no zone is assumed: no producer of such rows documents one), and a wrapper of keys of its own around each
record.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.auditlog import detect
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CT = FIXTURES / "cloudtrail"
EXPORTS = CT / "exports"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
OFFLINE = offline_checks(BUILTIN)
Rec = dict[str, Any]


def recs(src: str = "real/correct.json") -> list[Rec]:
    return list(json.loads((CT / src).read_text())["Records"])


def c(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def struct(v: Any, lower: bool = True) -> str:
    """A struct, map or array as Trino and Hive print it ({k=v, k2={...}}, [a, b], null)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k.lower() if lower else k}={struct(x, lower)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(struct(x, lower) for x in v) + "]"
    if v is None:
        return "null"
    return str(v).lower() if isinstance(v, bool) else str(v)


def sqltime(t: str) -> str:
    """2026-01-05T08:00:00Z as a SQL timestamp prints it: 2026-01-05 08:00:00.000 (no zone)."""
    return t.replace("T", " ").replace("Z", ".000")


def lines(items: list[Any]) -> str:
    return "".join(c(i) + "\n" for i in items)


# -- the shapes read -------------------------------------------------------------------------------------------
def ecs(r: Rec) -> Rec:
    """Elastic's aws.cloudtrail document of ``r`` (ECS), without event.original."""
    ident = r.get("userIdentity") or {}
    return {"@timestamp": r.get("eventTime", "").replace("Z", ".000Z"),
            "cloud": {"provider": "aws", "region": r.get("awsRegion"), "account": {"id": r.get("recipientAccountId")}},
            "event": {"action": r.get("eventName"), "provider": r.get("eventSource"), "id": r.get("eventID"),
                      "kind": "event", "outcome": "failure" if r.get("errorCode") else "success",
                      "dataset": "aws.cloudtrail", "module": "aws"},
            "source": {"address": r.get("sourceIPAddress")},
            "aws": {"cloudtrail": {"event_version": r.get("eventVersion"), "event_type": r.get("eventType"),
                                   "user_identity": {"type": ident.get("type"), "arn": ident.get("arn"),
                                                     "access_key_id": ident.get("accessKeyId")},
                                   "request_parameters": None if r.get("requestParameters") is None
                                   else c(r["requestParameters"]),
                                   "request_id": r.get("requestID")}},
            "ecs": {"version": "8.11.0"}, "data_stream": {"dataset": "aws.cloudtrail", "type": "logs"},
            "tags": ["preserve_original_event", "forwarded", "aws-cloudtrail"]}


def elastic_original(rs: list[Rec]) -> str:
    return lines([{**ecs(r), "event": {**ecs(r)["event"], "original": c(r)}} for r in rs])


def cloudwatch_events(rs: list[Rec]) -> str:
    """CloudTrail's CloudWatch Logs events one a line (jq -c '.events[]' of get-log-events)."""
    return lines([{"timestamp": 1767600000000 + i * 1000, "message": c(r), "ingestionTime": 1767600003000 + i * 1000,
                   "logStreamName": "111122223333_CloudTrail_eu-west-1"} for i, r in enumerate(rs)])


def splunk_export(rs: list[Rec]) -> str:
    """Splunk's search/jobs/export, output_mode=json, of sourcetype aws:cloudtrail (the record is _raw)."""
    return lines([{"preview": False, "offset": i, "result": {
        "_raw": c(r), "_time": r.get("eventTime", "").replace("Z", ".000+00:00"), "host": "splunk-hf-1", "index": "aws",
        "source": "s3://trail-bucket/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/05/x.json.gz",
        "sourcetype": "aws:cloudtrail"}} for i, r in enumerate(rs)])


def panther(rs: list[Rec]) -> str:
    """Records with a SIEM's own fields beside CloudTrail's (Panther's p_* standard fields)."""
    return lines([{**r, "p_log_type": "AWS.CloudTrail", "p_event_time": sqltime(r.get("eventTime", "")),
                   "p_parse_time": "2026-01-05 08:05:00.000000000", "p_row_id": f"c2a0b1f3e4d5{i:08x}",
                   "p_source_label": "org-trail", "p_any_aws_account_ids": ["111122223333"]} for i, r in enumerate(rs)])


def retimed(suffix: str) -> Callable[[list[Rec]], str]:
    """Records whose eventTime a SIEM re-rendered: the same instant with a fraction or an explicit offset."""
    return lambda rs: lines([{**r, "eventTime": r["eventTime"].replace("Z", suffix)} if "eventTime" in r else r
                             for r in rs])


ACCEPTED: dict[str, Callable[[list[Rec]], str]] = {
    "cloudwatch-events.jsonl": cloudwatch_events,
    "elastic-original.ndjson": elastic_original,
    "splunk-export.jsonl": splunk_export,
    "panther.jsonl": panther,
    "eventtime-millis.jsonl": retimed(".000Z"),
    # an EventBridge event trimmed to its detail (an input transformer's <aws.events.event.detail>, a SIEM's copy)
    "detail-only.jsonl": lambda rs: lines([{"detail": r} for r in rs]),
}


# -- the shapes refused ----------------------------------------------------------------------------------------
COLS = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "additionalEventData",
        "requestID", "eventID", "readOnly", "resources", "eventType", "recipientAccountId", "eventCategory"]


def lake_rows(rs: list[Rec]) -> list[list[Rec]]:
    """CloudTrail Lake's QueryResultRows of SELECT *: one-column objects, every value text (structs and maps
    printed, eventTime a SQL timestamp)."""
    def value(r: Rec, col: str) -> Any:
        v = r.get(col)
        if col == "eventTime":
            return sqltime(v) if isinstance(v, str) else v
        if isinstance(v, (dict, list)):
            return struct(v, lower=col == "userIdentity")  # a map keeps its keys as sent
        return None if v is None else struct(v)
    return [[{col: value(r, col)} for col in COLS if r.get(col) is not None or col == "errorCode"] for r in rs]


def athena_value(r: Rec, col: str) -> Any:
    """A value of Athena's CloudTrail table (the documented DDL): structs printed, requestparameters and the other
    STRING columns as delivered."""
    v = r.get(col)
    if col in ("userIdentity", "resources"):
        return None if v is None else struct(v)
    if isinstance(v, (dict, list)):
        return c(v)
    return None if v is None else struct(v)


def athena_csv(rs: list[Rec]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.writerow([col.lower() for col in COLS])
    for r in rs:
        out.writerow(["" if athena_value(r, col) is None else athena_value(r, col) for col in COLS])
    return buf.getvalue()


def athena_answer(rs: list[Rec]) -> str:
    names = [col.lower() for col in COLS]
    rows = [{"Data": [{"VarCharValue": n} for n in names]}] + [
        {"Data": [{"VarCharValue": athena_value(r, col)} if athena_value(r, col) is not None else {} for col in COLS]}
        for r in rs]
    meta = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n, "Type": "varchar",
             "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": True} for n in names]
    return json.dumps({"UpdateCount": 0, "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": meta}}},
                      indent=4) + "\n"


def lower_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {k.lower(): lower_keys(x) for k, x in v.items()}
    return [lower_keys(x) for x in v] if isinstance(v, list) else v


def athena_unload(rs: list[Rec]) -> str:
    """UNLOAD (SELECT * FROM cloudtrail_logs) ... WITH (format = 'JSON'): the table's lowercase columns."""
    return lines([{col.lower(): lower_keys(r[col]) if col in ("userIdentity", "resources") else
                   c(r[col]) if isinstance(r[col], (dict, list)) else r[col] for col in COLS if col in r} for r in rs])


REFUSED: dict[str, tuple[Callable[[list[Rec]], str], tuple[str, ...]]] = {
    "lake-get-query-results.out": (
        lambda rs: json.dumps({"QueryStatus": "FINISHED", "QueryStatistics": {
            "ResultsCount": len(rs), "TotalResultsCount": len(rs), "BytesScanned": 48213},
            "QueryResultRows": lake_rows(rs), "NextToken": "AAIAAX9CiSgmQm7yQ0jKg8ixeVOS3ZrEJfSA6ZAgk1pPuX6Pdn4c"},
            indent=4) + "\n",
        ("get-query-results", "CloudTrail Lake", "no zone", "aws s3 sync s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/")),
    "lake-rows.jsonl": (lambda rs: lines(lake_rows(rs)),
                        ("CloudTrail Lake query rows", "one-column objects", "aws s3 sync")),
    "lake-rows-merged.jsonl": (lambda rs: lines([{k: v for d in row for k, v in d.items()} for row in lake_rows(rs)]),
                               ('eventTime "2026-01-05 08:00:00.000" (no zone', "userIdentity as text",
                                "no zone is assumed", "aws s3 sync")),
    "athena-results.csv": (athena_csv, ("CSV of CloudTrail's fields", "{type=IAMUser", 'SELECT DISTINCT "$path"')),
    "athena-get-query-results.out": (athena_answer, ("aws athena get-query-results", "VarCharValue",
                                                      'SELECT DISTINCT "$path"')),
    "athena-unload.jsonl": (athena_unload, ("column names (eventtime, useridentity", 'SELECT DISTINCT "$path"')),
    "elastic-ecs.ndjson": (lambda rs: lines([ecs(r) for r in rs]),
                           ("Elastic's aws.cloudtrail documents", "preserve_original_event")),
    "json-strings.jsonl": (lambda rs: lines([{k: c(v) if isinstance(v, (dict, list)) else v for k, v in r.items()}
                                             for r in rs]),
                           ("userIdentity as text", "fromjson", "jq -c 'with_entries(if (.key | IN(\"userIdentity\", "
                            "\"requestParameters\"")),
    "wrapped-record.jsonl": (lambda rs: lines([{"ingested": "2026-01-05T08:05:00.123Z", "record": r} for r in rs]),
                             ('under the key "record"', "jq -c '.[\"record\"]'")),
}


# -- helpers ---------------------------------------------------------------------------------------------------
def write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def delivery(tmp: Path, records: list[Rec]) -> Path:
    return write(tmp / "trail.json", json.dumps({"Records": records}))


def verify(path: Path, **kw: Any) -> Any:
    settings = Settings(require_tamper_evidence=False, retention_days=0, **kw)
    return verify_file(str(path), settings, OFFLINE, read_canaries(str(CANARIES)))


def judged(path: Path, **kw: Any) -> dict[str, Any]:
    """check -> (status, [(line, text)], tally) with the file's name taken out of the texts."""
    res = verify(path, **kw)
    return {o.check_id: (o.status, [(f.where.rsplit(":", 1)[-1] if f.where else "",
                                     f.text().replace(str(path), "LOG")) for f in o.findings], o.tally.to_json())
            for o in res.outcomes}


def at(out: dict[str, Any], check: str) -> set[str]:
    return {line for line, _ in out[check][1]}


def refused(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["verify", str(path), *args]) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "fix:" in err, err
    assert "FAIL" not in cap.out and "PASS" not in cap.out  # nothing judged
    return err


# -- tests -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*ACCEPTED, *REFUSED])
def test_the_fixtures_are_the_shapes_built_here(name: str) -> None:
    build = ACCEPTED[name] if name in ACCEPTED else REFUSED[name][0]
    assert (EXPORTS / name).read_text() == build(recs())


@pytest.mark.parametrize("src", ["real/correct.json", "real/leaky.json", "real/insights.json", "unseen/correct.json",
                                 "secretsmanager.json"])
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_an_accepted_shape_gets_the_delivery_files_findings_and_counts(tmp_path: Path, name: str, src: str) -> None:
    records = recs(src)
    want = judged(delivery(tmp_path, records))
    path = write(tmp_path / name, ACCEPTED[name](records))
    res = verify(path)
    assert res.format == "cloudtrail" and res.entries == len(records) and res.bad_lines == 0
    assert judged(path) == want


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_a_correct_export_of_an_accepted_shape_has_no_finding(tmp_path: Path, name: str) -> None:
    """Second precision is what CloudTrail writes: with timestamp_digits = 0 (the precision_fix's advice) a correct
    export has no finding at all; by default the one finding is the delivery file's own, worded for CloudTrail."""
    path = write(tmp_path / name, (EXPORTS / name).read_bytes().decode())
    out = judged(path, timestamp_digits=0)
    assert {k for k, (_, found, _) in out.items() if found} == set(), out
    for check in ("required_fields", "timestamp_precision", "no_secret_leak", "data_minimisation"):
        assert out[check][0] == PASSED, (check, out[check])
    default = judged(path)
    assert {k for k, (_, found, _) in default.items() if found} == {"timestamp_precision"}
    (_, text), = default["timestamp_precision"][1]
    assert "CloudTrail records whole seconds" in text and "not RFC 3339" not in text
    assert default == judged(delivery(tmp_path, recs()))


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_planted_defects_are_found_at_their_lines_in_each_accepted_shape(tmp_path: Path, name: str) -> None:
    records = recs()
    canary = CANARIES.read_text().split()[1]
    records[2]["requestParameters"] = {"secretId": "prod/db", "description": canary}  # a secret in the request
    del records[4]["userIdentity"]  # a record without its caller
    assert "requestID" not in records[13]
    del records[13]["eventID"]  # a service event (no requestID) without its eventID
    path = write(tmp_path / name, ACCEPTED[name](records))
    out = judged(path)
    assert out["no_secret_leak"][0] == FAILED and at(out, "no_secret_leak") == {"3"}
    assert not any(canary in text for _, text in out["no_secret_leak"][1])
    assert out["required_fields"][0] == FAILED and at(out, "required_fields") == {"5", "14"}
    assert out == judged(delivery(tmp_path, records))


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_shape_that_cannot_be_read_faithfully_is_refused_in_one_line(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str],
                                                                      name: str) -> None:
    path = write(tmp_path / name, (EXPORTS / name).read_bytes().decode())
    err = refused(path, capsys)
    for said in REFUSED[name][1]:
        assert said in err, (said, err)
    assert refused(path, capsys, "--format", "cloudtrail") == err  # saying it is CloudTrail reads nothing more


@pytest.mark.parametrize("shape", ["array", "columns"])
def test_lake_rows_otherwise_cut_are_refused_as_lake_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         shape: str) -> None:
    """jq '.QueryResultRows' (pretty-printed): Lake's rows, not records one a line for jq -c '.[]' to write; and
    jq -c '.QueryResultRows[][]', one column a line: Lake's rows, not a log wanting a field_map."""
    rows = lake_rows(recs())
    text = json.dumps(rows, indent=2) if shape == "array" else lines([col for row in rows for col in row])
    err = refused(write(tmp_path / "rows.json", text), capsys)
    assert "CloudTrail Lake query rows" in err and "jq -c '.[]'" not in err and "field_map" not in err


def test_elastic_documents_from_a_search_export_are_refused_as_elastics(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Elasticsearch documents one a line (_index, _source) of the aws.cloudtrail data stream: the ECS refusal, not
    a request for a field_map; with event.original kept, the records are read."""
    docs = [{"_index": ".ds-logs-aws.cloudtrail-default", "_id": f"id{i}", "_source": ecs(r)}
            for i, r in enumerate(recs())]
    err = refused(write(tmp_path / "es.jsonl", lines(docs)), capsys)
    assert "Elastic's aws.cloudtrail documents" in err and "field_map" not in err
    kept = [{**d, "_source": {**d["_source"], "event": {**d["_source"]["event"], "original": c(r)}}}
            for d, r in zip(docs, recs())]
    path = write(tmp_path / "kept.jsonl", lines(kept))
    assert judged(path) == judged(delivery(tmp_path, recs()))


@pytest.mark.parametrize("when", ["2026-01-05 08:00:00", "2026-01-05T08:00:00", "2026-01-05T08:00:00.000",
                                  "1767600000", "2026-01-05 08:00:00 UTC"])
def test_an_eventtime_without_its_zone_is_refused_never_assumed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               when: str) -> None:
    value: Any = int(when) if when.isdigit() else when
    path = write(tmp_path / "e.jsonl", lines([{**r, "eventTime": value} for r in recs()]))
    err = refused(path, capsys)
    assert "eventTime" in err and "no zone is assumed" in err and "fromjson" not in err


@pytest.mark.parametrize("suffix", ["+00:00", ".5Z"])
def test_an_eventtime_with_its_zone_rerendered_is_read(tmp_path: Path, suffix: str) -> None:
    """The same instant with an explicit offset, or with a fraction CloudTrail did not write: read (the fraction
    then counts for timestamp_precision as written)."""
    path = write(tmp_path / "e.jsonl", retimed(suffix)(recs()))
    res = verify(path)
    assert res.format == "cloudtrail" and res.entries == 20 and res.bad_lines == 0
    out = judged(path)
    assert out["required_fields"][0] == PASSED
    assert all("not RFC 3339" not in t for _, t in out["timestamp_precision"][1])


def test_a_few_flattened_records_among_whole_ones_are_judged_at_their_lines(tmp_path: Path) -> None:
    """The shape is the producer's, told from most records: one odd record is that record's defect, found at its
    line, not a refusal of the file."""
    records = recs()
    records[3] = {**records[3], "eventTime": "2026-01-05 08:00:03"}
    records[7] = {**records[7], "userIdentity": struct(records[7]["userIdentity"])}
    path = write(tmp_path / "e.jsonl", lines(records))
    out = judged(path)
    assert "4" in at(out, "timestamp_precision")
    assert "8" in at(out, "required_fields")  # no caller: userIdentity is text


def test_a_refusal_shows_no_part_of_a_secret_the_export_holds(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A refusal shows no value but a time and the first name of a struct: a secret a refused export holds never
    reaches the output, not even in part."""
    records = recs()
    canary = CANARIES.read_text().split()[1]
    records[0]["requestParameters"] = {"secretId": canary}
    records[1]["userIdentity"] = {"type": canary, "arn": canary}
    for name in ("lake-rows-merged.jsonl", "json-strings.jsonl", "lake-rows.jsonl", "athena-results.csv"):
        path = write(tmp_path / name, (REFUSED[name][0])(records))
        err = refused(path, capsys)
        assert not any(canary[i:i + 6] in err for i in range(len(canary) - 5)), err


def test_the_vault_path_sniffs_no_slower(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new shapes are told only on branches that never run for Vault/OpenBao lines (JSON of no known format,
    CloudTrail records, a leading "[", CSV): sniffing a Vault/OpenBao sample does no new work."""
    sample = (FIXTURES / "openbao" / "clean.log").read_bytes()
    sample = (sample * (detect.SAMPLE_BYTES // max(len(sample), 1) + 1))[:detect.SAMPLE_BYTES]
    sample = sample[:sample.rfind(b"\n") + 1]
    calls: list[str] = []
    for fn in ("_flattened", "_reshaped", "_cloudtrail_csv"):
        monkeypatch.setattr(detect, fn, lambda *a, fn=fn: calls.append(fn))
    assert detect.sniff("v.log", sample, True).format == "vault"
    assert calls == []


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize("name", ["json-strings.jsonl", "wrapped-record.jsonl"])
def test_the_jq_a_refusal_names_gives_the_delivery_files_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  name: str) -> None:
    """The way out is exact: the jq line the refusal gives, run as written, makes records that are judged as the
    delivery file is."""
    records = recs()
    records[2]["requestParameters"] = {"secretId": "prod/db", "description": CANARIES.read_text().split()[1]}
    path = write(tmp_path / name, REFUSED[name][0](records))
    err = refused(path, capsys)
    m = re.search(r"\((jq -c '.*?' \S+ > (\S+))\)", err)
    assert m is not None, err
    subprocess.run(["bash", "-c", m.group(1)], cwd=tmp_path, check=True, timeout=60)
    out = tmp_path / m.group(2)
    out.chmod(0o600)
    assert judged(out) == judged(delivery(tmp_path, records))
