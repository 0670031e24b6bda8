"""Blind cases for AWS CloudTrail and Kubernetes audit logs, built from the producers' documentation
(fixtures/cloudtrail/blind/README.md, fixtures/k8s/blind/README.md): documented shapes are read with zero findings,
and one planted defect at a time is caught at its record or line by the check whose contract covers it.

- A CloudTrail record without a field the record contents mark "Optional: False" (eventVersion, awsRegion, and
  since eventVersion 1.02 eventType and recipientAccountId; an Insights event's insightDetails, a network activity
  event's vpcEndpointId) is a required_fields finding at its record, in every shape read as CloudTrail (a delivery
  file, records one a line, EventBridge events); an older record is not held to later fields, nor an Insights event
  to recipientAccountId (optional there).
- A Kubernetes event without the level the API server writes in every event is a required_fields finding.
- The signed digests of an organization trail (AWSLogs/o-ORG/ACCOUNT/) and of a trail with an S3 key prefix
  validate their log files: the other log files a digest lists are found in the copy, not reported deleted.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RECORDS: list[dict[str, Any]] = json.loads((FIXTURES / "cloudtrail/blind/records.json").read_text())["Records"]
K8S_LOG = FIXTURES / "k8s/blind/levels-stages.log"
ACCOUNT, REGION, BUCKET = "111122223333", "us-east-2", "amzn-s3-demo-bucket"

# Whole seconds are CloudTrail's precision, and a copy in a test folder has no history or digests: those checks
# are set aside so that the checks under test speak alone.
CLOUDTRAIL_CFG = "timestamp_digits = 0\nrequire_tamper_evidence = false\nretention_days = 0\n"
K8S_CFG = "require_tamper_evidence = false\nretention_days = 0\n"

Findings = list[tuple[str, str, str]]


def _verify(where: Path, name: str, content: bytes, cfg: str) -> tuple[int, Findings]:
    """``auditready verify`` of ``content`` written to ``where/name`` (gzip-compressed for .gz, mode 0600):
    the exit code and the findings as (check, record or line number, message)."""
    path = where / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    path.chmod(0o600)
    config = where / "pyproject.toml"
    config.write_text("[tool.auditready]\n" + cfg)
    out = where / "out.json"
    rc = main(["verify", str(path), "--config", str(config), "--json", str(out), "-q"])
    return rc, _findings(out)


def _findings(out: Path) -> Findings:
    if not out.exists():
        return []
    found = []
    for outcome in json.loads(out.read_text())["outcomes"]:
        for f in outcome["findings"]:
            found.append((f["check"], f["where"].rpartition(":")[2] if ":" in f["where"] else "", f["message"]))
    return found


def _delivery(records: list[Any]) -> bytes:
    return json.dumps({"Records": records}).encode()


def _lines(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


_DETAIL_TYPES = {"AwsApiCall": "AWS API Call via CloudTrail", "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
                 "AwsServiceEvent": "AWS Service Event via CloudTrail",
                 "AwsCloudTrailInsight": "AWS Insight via CloudTrail"}


def _eventbridge(records: list[Any]) -> bytes:
    """Each record as EventBridge delivers it (Amazon EventBridge User Guide, "AWS service event metadata")."""
    events = []
    for r in records:
        source = r.get("eventSource") or r.get("insightDetails", {}).get("eventSource") or "cloudtrail.amazonaws.com"
        events.append({"version": "0", "id": r["eventID"], "source": "aws." + source.split(".")[0],
                       "detail-type": _DETAIL_TYPES.get(r.get("eventType", ""), "AWS API Call via CloudTrail"),
                       "account": ACCOUNT, "time": r["eventTime"], "region": r.get("awsRegion", REGION),
                       "resources": [], "detail": r})
    return _lines(events)


SHAPES: dict[str, tuple[str, Callable[[list[Any]], bytes]]] = {
    "delivery": (f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/03/24/"
                 f"{ACCOUNT}_CloudTrail_{REGION}_20260324T2115Z_Mu0KsOhtH1ar15ZZ.json.gz", _delivery),
    "lines": ("records.jsonl", _lines),
    "eventbridge": ("eventbridge.jsonl", _eventbridge),
}


def _index(event_type: str) -> int:
    return next(i for i, r in enumerate(RECORDS) if r.get("eventType") == event_type)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_documented_cloudtrail_shapes_hold(tmp_path: Path, shape: str) -> None:
    name, build = SHAPES[shape]
    rc, found = _verify(tmp_path, name, build(RECORDS), CLOUDTRAIL_CFG)
    assert (rc, found) == (0, [])


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("field", ["eventVersion", "awsRegion", "eventType", "recipientAccountId"])
def test_optional_false_field_missing_is_caught_at_its_record(tmp_path: Path, shape: str, field: str) -> None:
    records = copy.deepcopy(RECORDS)
    at = 1  # an assumed role's GetSecretValue (eventVersion 1.10)
    del records[at][field]
    name, build = SHAPES[shape]
    rc, found = _verify(tmp_path, name, build(records), CLOUDTRAIL_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("required_fields", str(at + 1))]
    assert field in found[0][2]


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(eventVersion=1.1), "eventVersion"),  # a number: a pipeline rewrote it
    (lambda r: r.update(awsRegion=""), "awsRegion"),
    (lambda r: r.update(eventType=None), "eventType"),
])
def test_optional_false_field_emptied_is_caught(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                                field: str) -> None:
    records = copy.deepcopy(RECORDS)
    change(records[0])
    rc, found = _verify(tmp_path, "log.json", _delivery(records), CLOUDTRAIL_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("required_fields", "1")]
    assert field in found[0][2]


def test_older_record_and_insights_not_held_to_later_or_optional_fields(tmp_path: Path) -> None:
    """eventType and recipientAccountId came with eventVersion 1.02; an Insights event's recipientAccountId is
    "Optional: True": neither absence is a finding (the fixture's last record is a 1.01 record without both)."""
    old = RECORDS[-1]
    assert old["eventVersion"] == "1.01" and "eventType" not in old and "recipientAccountId" not in old
    insights = [copy.deepcopy(r) for r in RECORDS if r.get("eventType") == "AwsCloudTrailInsight"]
    for r in insights:
        del r["recipientAccountId"]
    rc, found = _verify(tmp_path, "log.json", _delivery([old, *insights]), CLOUDTRAIL_CFG)
    assert (rc, found) == (0, [])
    old_without_region = dict(old, eventID="a1b2c3d4-0000-4000-8000-000000000199")
    del old_without_region["awsRegion"]
    rc, found = _verify(tmp_path, "log.json", _delivery([old, old_without_region]), CLOUDTRAIL_CFG)
    assert rc == 1 and [(c, n) for c, n, _ in found] == [("required_fields", "2")]


@pytest.mark.parametrize("event_type, field", [("AwsCloudTrailInsight", "insightDetails"),
                                               ("AwsVpceEvent", "vpcEndpointId")])
def test_event_kind_without_its_own_field_is_caught(tmp_path: Path, event_type: str, field: str) -> None:
    records = copy.deepcopy(RECORDS)
    at = _index(event_type)
    del records[at][field]
    rc, found = _verify(tmp_path, "log.json", _delivery(records), CLOUDTRAIL_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("required_fields", str(at + 1))]
    assert field in found[0][2]


def test_k8s_every_level_and_stage_holds(tmp_path: Path) -> None:
    rc, found = _verify(tmp_path, "audit.log", K8S_LOG.read_bytes(), K8S_CFG)
    assert (rc, found) == (0, [])


@pytest.mark.parametrize("level", [None, "None", "Everything", ""])
def test_k8s_event_without_a_written_level_is_caught(tmp_path: Path, level: Optional[str]) -> None:
    events = [json.loads(line) for line in K8S_LOG.read_text().splitlines()]
    if level is None:
        del events[2]["level"]
    else:
        events[2]["level"] = level
    rc, found = _verify(tmp_path, "audit.log", _lines(events), K8S_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("required_fields", "3")]
    assert "level" in found[0][2]


# -- signed digests in an organization trail's and a prefixed trail's key layout ---------------------------------

def _signed_trail(root: Path, base: str, delete_other: bool = False) -> str:
    """Two log files of ``RECORDS`` under ``base``/CloudTrail/ and the signed digest that lists both under
    ``base``/CloudTrail-Digest/ (AWS CloudTrail User Guide, "CloudTrail digest file structure": the signing string
    is digestEndTime, bucket/key, the digest's SHA-256 and the previous signature), a test key given as
    `aws cloudtrail list-public-keys` output; the first log file's key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    fingerprint = hashlib.md5(der).hexdigest()
    (root / "keys.json").write_text(json.dumps({"PublicKeyList": [{
        "Value": base64.b64encode(der).decode(), "ValidityStartTime": "2020-01-01T00:00:00Z",
        "ValidityEndTime": "2030-01-01T00:00:00Z", "Fingerprint": fingerprint}]}))
    listed = []
    for i, part in enumerate((RECORDS[:12], RECORDS[12:])):
        log_key = (f"{base}/CloudTrail/{REGION}/2026/03/24/{ACCOUNT}_CloudTrail_{REGION}_20260324T21{15 + 5 * i}Z_"
                   f"Mu0KsOhtH1ar15Z{i}.json.gz")
        body = _delivery(part)
        path = root / log_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body))
        path.chmod(0o600)
        listed.append({"s3Bucket": BUCKET, "s3Object": log_key, "hashValue": hashlib.sha256(body).hexdigest(),
                       "hashAlgorithm": "SHA-256", "newestEventTime": "2026-03-24T21:11:59Z",
                       "oldestEventTime": "2026-03-24T21:00:05Z"})
    digest_key = (f"{base}/CloudTrail-Digest/{REGION}/2026/03/24/{ACCOUNT}_CloudTrail-Digest_{REGION}_management_"
                  f"{REGION}_20260324T220000Z.json.gz")
    digest = {"awsAccountId": ACCOUNT, "digestStartTime": "2026-03-24T21:00:00Z",
              "digestEndTime": "2026-03-24T22:00:00Z", "digestS3Bucket": BUCKET, "digestS3Object": digest_key,
              "digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
              "newestEventTime": "2026-03-24T21:11:59Z", "oldestEventTime": "2026-03-24T21:00:05Z",
              "previousDigestS3Bucket": None, "previousDigestS3Object": None, "previousDigestHashValue": None,
              "previousDigestHashAlgorithm": None, "previousDigestSignature": None, "logFiles": listed}
    raw = json.dumps(digest).encode()
    signing = "\n".join([digest["digestEndTime"], f"{BUCKET}/{digest_key}", hashlib.sha256(raw).hexdigest(),
                         "null"]).encode()
    path = root / digest_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw))
    Path(str(path) + ".sig").write_text(key.sign(signing, padding.PKCS1v15(), hashes.SHA256()).hex())
    if delete_other:
        os.remove(root / listed[1]["s3Object"])
    return str(listed[0]["s3Object"])


@pytest.mark.parametrize("base", [f"AWSLogs/{ACCOUNT}", f"AWSLogs/o-exampleorgid/{ACCOUNT}",
                                  f"myprefix/AWSLogs/{ACCOUNT}", f"myprefix/AWSLogs/o-exampleorgid/{ACCOUNT}"])
def test_digests_of_every_key_layout_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = "[tool.auditready]\ntimestamp_digits = 0\nretention_days = 0\ncloudtrail_public_keys = \"keys.json\"\n"
    (tmp_path / "pyproject.toml").write_text(cfg)
    first = _signed_trail(tmp_path, base)
    assert main(["verify", first, "--json", "out.json", "-q"]) == 0
    assert _findings(tmp_path / "out.json") == []

    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "pyproject.toml").write_text(cfg)
    monkeypatch.chdir(gone)
    first = _signed_trail(gone, base, delete_other=True)
    assert main(["verify", first, "--json", "out.json", "-q"]) == 1
    found = _findings(gone / "out.json")
    assert [c for c, _, _ in found] == ["tamper_evidence"]
    assert "is missing: it was deleted after delivery" in found[0][2]


# -- file order of Kubernetes events: a slow request's event follows those received while it ran -----------------

def _k8s_at(received: str, stage_time: str, stage: str = "ResponseComplete", **kw: Any) -> dict[str, Any]:
    event = json.loads(K8S_LOG.read_text().splitlines()[0])
    if stage == "RequestReceived":  # (that stage's time is its receipt: processAuditEvent)
        stage_time = received
    event.update(requestReceivedTimestamp=received, stageTimestamp=stage_time, stage=stage,
                 auditID=hashlib.sha256(received.encode() + stage.encode()).hexdigest()[:32], **kw)
    if stage == "RequestReceived":
        event.pop("responseStatus", None)
    return event


def test_k8s_slow_request_written_after_later_ones_holds(tmp_path: Path) -> None:
    """The log backend writes an event when its stage is reached, with the requestReceivedTimestamp of the request's
    start: a create that waited 12.5 s on an admission webhook, or a 5 s list, follows the events received while it
    ran (within the API server's 60 s request timeout), which is no clock going back."""
    t = "2026-03-24T21:00:"
    events = [_k8s_at(t + "01.000100Z", t + "01.001100Z"), _k8s_at(t + "14.400100Z", t + "14.401100Z"),
              _k8s_at(t + "02.000100Z", t + "14.500100Z", verb="create"),
              _k8s_at(t + "14.600100Z", t + "14.601100Z"), _k8s_at(t + "15.000100Z", t + "20.000100Z", verb="list"),
              _k8s_at(t + "19.900100Z", t + "19.901100Z")]
    events[4], events[5] = events[5], events[4]
    rc, found = _verify(tmp_path, "audit.log", _lines(events), K8S_CFG)
    assert (rc, found) == (0, [])


@pytest.mark.parametrize("stage, received", [("ResponseComplete", "2026-03-24T20:58:30.000100Z"),
                                             ("RequestReceived", "2026-03-24T21:00:10.000100Z")])
def test_k8s_event_going_back_past_what_latency_explains_is_caught(tmp_path: Path, stage: str,
                                                                    received: str) -> None:
    """Past the request timeout (and max_skew) no latency explains it; an event at RequestReceived is written when
    the request arrives, so it has no latency at all."""
    t = "2026-03-24T21:00:"
    events = [_k8s_at(t + "01.000100Z", t + "01.001100Z"), _k8s_at(t + "14.400100Z", t + "14.401100Z"),
              _k8s_at(received, received, stage=stage), _k8s_at(t + "14.600100Z", t + "14.601100Z")]
    rc, found = _verify(tmp_path, "audit.log", _lines(events), K8S_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("timestamp_accuracy", "3")]


# -- the webhook backend's EventList, one event a line as its refusal says (jq -c '.items[]') ---------------------

def _webhook_items() -> list[dict[str, Any]]:
    """The fixture's events as the webhook backend's EventList holds them: the API server writes the list's kind
    and apiVersion only (its items carry neither), so `jq -c '.items[]'` gives events without them."""
    events = [json.loads(line) for line in K8S_LOG.read_text().splitlines()]
    return [{k: v for k, v in e.items() if k not in ("kind", "apiVersion")} for e in events]


def test_k8s_eventlist_refused_and_its_items_read(tmp_path: Path) -> None:
    items = _webhook_items()
    batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items}
    rc, _ = _verify(tmp_path / "batch", "webhook.log", json.dumps(batch).encode() + b"\n", K8S_CFG)
    assert rc == 2
    rc, found = _verify(tmp_path / "items", "webhook-items.log", _lines(items), K8S_CFG)
    assert (rc, found) == (0, [])


@pytest.mark.parametrize("field, check", [("auditID", "required_fields"), ("level", "required_fields"),
                                          ("responseObject", "no_secret_leak")])
def test_k8s_eventlist_item_defect_caught_at_its_line(tmp_path: Path, field: str, check: str) -> None:
    items = _webhook_items()
    if field == "responseObject":
        items[4].update(level="RequestResponse", responseObject={
            "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db", "namespace": "prod"},
            "data": {"password": base64.b64encode(b"Zq8#mK2!vLp9@xR4wT-prod").decode()}, "type": "Opaque"})
    else:
        del items[4][field]
    rc, found = _verify(tmp_path, "webhook-items.log", _lines(items), K8S_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [(check, "5")]


def test_k8s_event_moved_back_within_a_request_timeout_is_caught_by_its_stage_time(tmp_path: Path) -> None:
    """A slow request's event is excused only where it was written in its place: an event moved 13 s back, its
    stageTimestamp (when the log backend wrote it) too, is caught, though a request may last 60 s (before: excused
    as a slow request's end)."""
    t = "2026-03-24T21:00:"
    events = [_k8s_at(t + "01.000100Z", t + "01.001100Z"), _k8s_at(t + "14.400100Z", t + "14.401100Z"),
              _k8s_at(t + "30.000100Z", t + "30.001100Z"), _k8s_at(t + "16.000100Z", t + "17.000100Z"),
              _k8s_at(t + "31.600100Z", t + "31.601100Z")]
    rc, found = _verify(tmp_path, "audit.log", _lines(events), K8S_CFG)
    assert rc == 1
    assert [(c, n) for c, n, _ in found] == [("timestamp_accuracy", "4")]
    assert "2026-03-24T21:00:16.000100Z comes after 2026-03-24T21:00:30.000100Z" in found[0][2]
