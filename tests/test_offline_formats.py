"""Offline verification of the other formats an auditor is handed: AWS CloudTrail log files and Kubernetes audit
events (fixtures/cloudtrail, fixtures/k8s: written to the documented record formats, see fixtures/README.md)."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED
from pytest_auditready.cli import main
from pytest_auditready.config import ConfigError, Settings, load
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from pytest_auditready.offline import reader

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
TRAIL = ROOT / "cloudtrail" / "secretsmanager.json"
K8S, K8S_RR = ROOT / "k8s" / "audit.log", ROOT / "k8s" / "audit-requestresponse.log"
CANARIES = ROOT / "openbao" / "canaries.txt"
OFFLINE = offline_checks(BUILTIN)


def run(path: Path, fmt: str, canaries: Path = CANARIES, **kw: Any) -> dict[str, Any]:
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format=fmt, **kw)
    res = verify_file(str(path), settings, OFFLINE, read_canaries(str(canaries)))
    return {o.check_id: o for o in res.outcomes}


def copy(src: Path, dst: Path, data: bytes = b"") -> Path:
    dst.write_bytes(data or src.read_bytes())
    dst.chmod(0o600)
    return dst


def records(tmp_path: Path, recs: list[dict[str, Any]], name: str = "trail.json") -> Path:
    return copy(TRAIL, tmp_path / name, json.dumps({"Records": recs}).encode())


def trail_records() -> list[dict[str, Any]]:
    return list(json.loads(TRAIL.read_text())["Records"])


# -- CloudTrail ------------------------------------------------------------------------------------------------

def test_cloudtrail_file_reads_record_by_record(tmp_path):
    out = run(copy(TRAIL, tmp_path / "t.json"), "cloudtrail")
    assert out["required_fields"].status == PASSED
    assert out["no_secret_leak"].status == PASSED  # access key ids and secret names are CloudTrail's own fields
    # CloudTrail keeps whole seconds and no order within a file: said, not hidden.
    prec = out["timestamp_precision"]
    assert prec.status == FAILED and "CloudTrail records whole seconds" in prec.findings[0].text()
    assert out["timestamp_accuracy"].status == SKIPPED and "no particular order" in out["timestamp_accuracy"].reason
    assert out["integrity_digest"].status == SKIPPED and "verify-cloudtrail" in out["integrity_digest"].reason


def test_cloudtrail_fields_come_from_the_documented_paths():
    trail = reader.CloudTrailReader("t.json", {})
    recs = [trail.parse(i, json.dumps(r).encode()) for i, r in enumerate(trail_records(), 1)]
    got = [(r.time, r.identity, r.resource, r.action, r.result, r.source, r.request_id) for r in recs]
    assert got[0] == ("2026-01-05T08:00:01Z", "arn:aws:sts::111122223333:assumed-role/app-role/app-session",
                      "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf", "GetSecretValue",
                      "success", "203.0.113.10", "6f1c2d3e-4a5b-4c6d-8e7f-000000000001")
    assert got[1][2:5] == ("prod/payments", "GetSecretValue", "error: AccessDenied")  # the denied read
    assert got[3][1] == "secretsmanager.amazonaws.com"  # an AWS service calling KMS: invokedBy
    assert got[4][2] == "secretsmanager.amazonaws.com"  # ListSecrets names no resource: the service
    # field_map replaces a default path
    mapped = reader.CloudTrailReader("t.json", {"identity": "userIdentity.accountId"})
    assert mapped.parse(1, json.dumps(trail_records()[0]).encode()).identity == "111122223333"


@pytest.mark.parametrize("shape", ["gzip", "pretty-printed", "gzip and pretty-printed"])
def test_cloudtrail_as_delivered_or_pretty_printed_reads_the_same(tmp_path, shape):
    data = TRAIL.read_bytes()
    if "pretty" in shape:
        data = json.dumps(json.loads(data), indent=2).encode()
    if "gzip" in shape:
        data = gzip.compress(data)
    plain, other = run(copy(TRAIL, tmp_path / "a.json"), "cloudtrail"), run(copy(TRAIL, tmp_path / "b.json.gz", data),
                                                                           "cloudtrail")
    assert {k: (o.status, [f.text() for f in o.findings]) for k, o in plain.items()} == {
        k: (o.status, [f.text().replace("b.json.gz", "a.json") for f in o.findings]) for k, o in other.items()}


def test_cloudtrail_secret_is_found_at_its_record(tmp_path):
    recs = trail_records()
    canary = CANARIES.read_text().split()[1]
    recs[2]["responseElements"] = {"secretString": canary}  # a service that logs what it returns
    recs[4]["requestParameters"] = {"filters": [{"key": "description", "values": ["ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8"]}]}
    out = run(records(tmp_path, recs), "cloudtrail")
    leak = out["no_secret_leak"]
    assert leak.status == FAILED
    where = {f.where.rsplit(":", 1)[1] for f in leak.findings}
    assert where == {"3", "5"}, [f.text() for f in leak.findings]
    assert any("<canary:2>" in f.text() for f in leak.findings)
    assert not any(canary in f.text() for f in leak.findings)


def test_cloudtrail_access_key_id_is_flagged_in_other_formats(tmp_path):
    """The access key id is skipped only where CloudTrail puts it: in a generic JSON line it is reported."""
    rec = trail_records()[0]
    line = json.dumps({"eventTime": rec["eventTime"], "caller": {"accessKeyId": rec["userIdentity"]["accessKeyId"]},
                       "op": rec["eventName"]}).encode() + b"\n"
    out = run(copy(TRAIL, tmp_path / "x.jsonl", line), "jsonl", field_map=(("time", "eventTime"),),
              required_fields=("time",))
    assert out["no_secret_leak"].status == FAILED
    assert any("AWS Access Key" in f.text() for f in out["no_secret_leak"].findings)


def test_cloudtrail_missing_fields_are_findings(tmp_path):
    recs = trail_records()
    del recs[1]["sourceIPAddress"]
    recs[2]["userIdentity"] = {}
    out = run(records(tmp_path, recs), "cloudtrail")
    found = out["required_fields"]
    assert found.status == FAILED
    assert {f.where.rsplit(":", 1)[1] for f in found.findings} >= {"2", "3"}
    # in CloudTrail's own terms, not a vault's
    texts = [f.text() + " " + f.fix for f in found.findings]
    assert any("where from (sourceIPAddress)" in t for t in texts)
    assert any("who (userIdentity.type, with userIdentity.arn and principalId" in t for t in texts)
    assert not any("request.remote_address" in t or "x_forwarded_for" in t or "vault" in t for t in texts)


@pytest.mark.parametrize(("content", "found"), [(b'{"Digest": "not a trail"}', "JSON lines of no known audit format"),
                                              (b"not json at all\nsecond line", "plain text"),
                                              (b'{"Records": 5}', "JSON lines of no known audit format")])
def test_not_a_cloudtrail_file_given_as_one_is_refused(tmp_path, capsys, content, found):
    """--format cloudtrail on something else: exit 2, one line naming what the file is, nothing blamed on a vault."""
    path = copy(TRAIL, tmp_path / "d.json", content + b"\n")
    assert main(["verify", str(path), "--format", "cloudtrail"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and found in err and "Traceback" not in err


def test_oversized_cloudtrail_file_is_exit_2_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reader, "CLOUDTRAIL_MAX_BYTES", 1000)
    path = records(tmp_path, trail_records())
    assert main(["verify", str(path), "--format", "cloudtrail"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "jq -c '.Records[]'" in err and "Traceback" not in err


# -- Kubernetes ------------------------------------------------------------------------------------------------

def test_k8s_audit_events_pass_and_a_request_response_policy_leaks(tmp_path):
    clean = run(copy(K8S, tmp_path / "a.log"), "k8s")
    statuses = {k: o.status for k, o in clean.items()}
    assert statuses == {**dict.fromkeys(statuses, PASSED), "integrity_digest": SKIPPED,
                        "tamper_evidence": SKIPPED, "retention": SKIPPED, "access_policy": SKIPPED,
                        "completeness": SKIPPED}, {k: [f.text() for f in o.findings] for k, o in clean.items()}
    leaky = run(copy(K8S_RR, tmp_path / "b.log"), "k8s")["no_secret_leak"]
    assert leaky.status == FAILED
    assert {f.where for f in leaky.findings} == {f"{tmp_path / 'b.log'}:6"}
    assert any("<canary:1>" in f.text() and "base64" in f.text() for f in leaky.findings)
    assert leaky.findings[0].request_id == "8d1b6c2e-5f3a-4e7b-9c1d-000000000006"
    # the remedy is the audit policy's level, not a vault's log_raw
    assert "level Metadata" in leaky.findings[0].fix and "log_raw" not in leaky.findings[0].fix


def test_messages_speak_of_the_log_at_hand(tmp_path):
    """Without the skip of tamper evidence, a Kubernetes log's finding names its own format; a missing field
    names the path field_map gave it."""
    path = copy(K8S, tmp_path / "a.log")
    out = verify_file(str(path), Settings(log_format="k8s"), OFFLINE, {})
    tamper = {o.check_id: o for o in out.outcomes}["tamper_evidence"]
    assert tamper.status == FAILED
    assert "Kubernetes audit logs keep none of their own" in tamper.findings[0].text()
    assert "Vault" not in tamper.findings[0].text()
    events = [json.loads(r) for r in K8S.read_bytes().splitlines()]
    del events[0]["user"]["uid"]
    path = copy(K8S, tmp_path / "b.log", b"\n".join(json.dumps(e).encode() for e in events) + b"\n")
    fields = run(path, "k8s", field_map=(("identity", "user.uid"),))["required_fields"]
    assert fields.status == FAILED and "lacks who (user.uid)" in fields.findings[0].text()
    assert "field_map" in fields.findings[0].fix and "x_forwarded_for" not in fields.findings[0].fix


def test_k8s_fields_and_field_map_override(tmp_path):
    raw = K8S.read_bytes().splitlines()
    parse = reader.jsonl_parser("k.log", {**reader.K8S_FIELDS})
    first = parse(1, raw[0])
    assert (first.identity, first.resource, first.action, first.result, first.source) == (
        "system:serviceaccount:prod:app", "/api/v1/namespaces/prod/secrets/db-creds", "get", "200", "10.0.3.17")
    assert parse(2, raw[1]).result == "403"
    # a missing user is a required_fields finding; field_map can point elsewhere
    events = [json.loads(r) for r in raw]
    del events[2]["user"]["username"]
    path = copy(K8S, tmp_path / "c.log", b"\n".join(json.dumps(e).encode() for e in events) + b"\n")
    assert run(path, "k8s")["required_fields"].status == FAILED
    assert run(path, "k8s", field_map=(("identity", "user.uid"),))["required_fields"].status == PASSED


def test_k8s_second_precision_fails_precision(tmp_path):
    lines = [json.loads(r) for r in K8S.read_bytes().splitlines()]
    for e in lines:
        e["requestReceivedTimestamp"] = e["requestReceivedTimestamp"][:19] + "Z"
    path = copy(K8S, tmp_path / "s.log", b"\n".join(json.dumps(e).encode() for e in lines) + b"\n")
    assert run(path, "k8s")["timestamp_precision"].status == FAILED


# -- configuration ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["vault", "jsonl", "k8s", "cloudtrail"])
def test_log_format_accepts_each_reader(fmt):
    assert load([("pyproject.toml", {"log_format": fmt})]).log_format == fmt


def test_log_format_names_the_choices():
    with pytest.raises(ConfigError) as exc:
        load([("pyproject.toml", {"log_format": "splunk"})])
    assert "cloudtrail" in str(exc.value) and "k8s" in str(exc.value)


def test_verify_command_takes_the_new_formats(tmp_path, capsys):
    path = copy(K8S_RR, tmp_path / "k.log")
    assert main(["verify", str(path), "--format", "k8s", "--canaries", str(CANARIES)]) == 1
    out = capsys.readouterr().out
    assert "FAIL no_secret_leak" in out and base64.b64encode(CANARIES.read_text().split()[0].encode()).decode() not in out
    trail = shutil.copy(TRAIL, tmp_path / "t.json")
    Path(trail).chmod(0o600)
    main(["verify", str(trail), "--format", "cloudtrail"])
    assert "SKIP timestamp_accuracy" in capsys.readouterr().out


@pytest.mark.parametrize(("fmt", "fix"), [
    ("jsonl", "map time in field_map"),
    ("vault", "ship the vault's own 'time' field unchanged"),
])
def test_a_time_that_is_not_rfc3339_gets_its_formats_fix(tmp_path: Path, fmt: str, fix: str) -> None:
    """An epoch number in a JSON-lines log was told to 'ship the vault's own time field': each format says how to
    have an RFC 3339 time with an offset of its own."""
    from pytest_auditready.checks import timestamp_precision

    if fmt == "jsonl":
        lines = [json.dumps({"ts": 1767600000000 + i, "who": "u", "what": "read", "on": "app/x", "id": f"r{i}"})
                 for i in range(3)]
        settings = Settings(log_format="jsonl", field_map={"time": "ts", "identity": "who", "action": "what",
                                                            "resource": "on", "request_id": "id"},
                            required_fields=("time", "identity", "action", "resource", "request_id"))
    else:
        base = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[-1])
        lines = [json.dumps(dict(base, time=1767600000 + i)) for i in range(3)]
        settings = Settings(log_format="vault")
    log = tmp_path / "a.log"
    log.write_text("\n".join(lines) + "\n")
    log.chmod(0o600)
    (o,) = verify_file(str(log), settings, [timestamp_precision.CHECK], {}).outcomes
    assert o.status == FAILED and o.findings and all(f.fix.startswith(fix) for f in o.findings[:3])


@pytest.mark.parametrize("join", ["no newline", "newline", "gzip members"])
def test_cloudtrail_log_files_joined_together_are_refused_in_one_line(tmp_path, capsys, join):
    """zcat of delivered objects, cat of .json.gz files: several whole CloudTrail documents in one file were one
    unreadable line, blamed on "a pipeline, a full disk", four checks "judged nothing" (red team rt34, F5)."""
    doc = TRAIL.read_bytes().strip()
    path = tmp_path / ("trail.json.gz" if join == "gzip members" else "trail.json")
    path.write_bytes(gzip.compress(doc) + gzip.compress(doc) if join == "gzip members"
                     else doc + (b"\n" if join == "newline" else b"") + doc + b"\n")
    path.chmod(0o600)
    for argv in (["verify", str(path)], ["access", "prod/*", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "CloudTrail log files joined together" in err, err
        assert "jq -c '.Records[]'" in err
