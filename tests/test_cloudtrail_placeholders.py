"""CloudTrail records a hop rewrote in the fields CloudTrail writes itself (red team rt57 F2, F4).

F2: a placeholder for no value ("-", "null", "N/A", ...) where CloudTrail writes who called (userIdentity's type,
arn, principalId, onBehalfOf.userId, invokedBy) or from where (sourceIPAddress: an IP address or an AWS service's
name) names no one: read as an empty field, a required_fields finding at the record that names the path, as in
generic JSON lines. What CloudTrail itself writes in those records (HIDDEN_DUE_TO_SECURITY_REASONS as an unknown
user's userName, "AWS Internal", service principals, a service event's userIdentity of accountId and invokedBy
only, ANONYMOUS_PRINCIPAL with an empty principalId for an unauthenticated S3 call) raises nothing.

F4: CloudTrail writes eventTime in whole seconds, so a time whose fraction is not all zeros was re-timed by a hop: a
timestamp_precision finding at that record, whatever timestamp_digits says, and the trail's own whole-second
records are never the ones named. A fraction of zeros (".000Z", a re-rendering that kept the value) is none.

Each test judges the correct records (no finding) and the same records with the defect (the finding at its line).
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file

from .test_unseen_cloudtrail_lines import event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
OFFLINE = offline_checks(BUILTIN)
Rec = dict[str, Any]
ACCOUNT = "111122223333"


def correct() -> list[Rec]:
    """fixtures/cloudtrail/real/correct.json (an assumed role, IAM users, AWSService, a SAML user, root and an unknown
    user's failed sign-in with HIDDEN_DUE_TO_SECURITY_REASONS, a federated user, an Identity Center user, an AWS
    service event of accountId and invokedBy only, a cross-account AWSAccount), then the User Guide's KMS RotateKey
    service event ("AWS Internal" as invokedBy and sourceIPAddress) and an unauthenticated S3 GetObject
    (ANONYMOUS_PRINCIPAL, empty principalId)."""
    records: list[Rec] = json.loads((FIXTURES / "cloudtrail" / "real" / "correct.json").read_text())["Records"]
    base = {"eventVersion": "1.08", "awsRegion": "eu-west-1", "recipientAccountId": ACCOUNT, "readOnly": False,
            "requestParameters": None, "responseElements": None, "eventCategory": "Management"}
    records.append({**base, "userIdentity": {"accountId": ACCOUNT, "invokedBy": "AWS Internal"},
                    "eventTime": "2026-01-05T08:00:20Z", "eventSource": "kms.amazonaws.com", "eventName": "RotateKey",
                    "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
                    "eventID": "a4b9f2c1-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "eventType": "AwsServiceEvent",
                    "managementEvent": True,
                    "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                   "ARN": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],
                    "serviceEventDetails": {"rotationType": "AUTOMATIC"}})
    records.append({**base, "eventVersion": "1.09",
                    "userIdentity": {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
                    "eventTime": "2026-01-05T08:00:21Z", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                    "sourceIPAddress": "198.51.100.9", "userAgent": "curl/8.5.0", "readOnly": True,
                    "requestParameters": {"bucketName": "public-assets", "key": "logo.png",
                                          "Host": "public-assets.s3.eu-west-1.amazonaws.com"},
                    "requestID": "8XQ2B3CPZ5K0V7WD", "eventID": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
                    "eventType": "AwsApiCall", "managementEvent": False, "eventCategory": "Data",
                    "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::public-assets/logo.png"},
                                  {"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                                   "ARN": "arn:aws:s3:::public-assets"}]})
    return records


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


# How a trail's records reach a verifier: the delivered object (gzip), jq -c '.Records[]', EventBridge's events.
SHAPES: dict[str, Callable[[Path, list[Rec]], Path]] = {
    "delivery-gzip": lambda tmp, rs: _write(tmp / "trail.json.gz", gzip.compress(json.dumps({"Records": rs}).encode())),
    "records": lambda tmp, rs: _write(tmp / "records.jsonl", "".join(json.dumps(r) + "\n" for r in rs).encode()),
    "eventbridge": lambda tmp, rs: _write(tmp / "events.jsonl",
                                          "".join(json.dumps(event(r, i)) + "\n" for i, r in enumerate(rs)).encode()),
}


def judged(path: Path, **kw: Any) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """check -> (status, [(line, text)]) of `verify` on ``path``, with the file's name taken out of the texts."""
    settings = Settings(require_tamper_evidence=False, retention_days=0, **kw)
    res = verify_file(str(path), settings, OFFLINE, read_canaries(str(CANARIES)))
    assert res.format == "cloudtrail" and res.bad_lines == 0
    return {o.check_id: (o.status, [(f.where.rsplit(":", 1)[-1] if f.where else "",
                                     f.text().replace(str(path), "LOG")) for f in o.findings])
            for o in res.outcomes}


def failed(out: dict[str, tuple[str, list[tuple[str, str]]]]) -> dict[str, list[tuple[str, str]]]:
    return {check: found for check, (status, found) in out.items() if status == FAILED}


def _set(rec: Rec, path: str, value: str) -> None:
    *keys, last = path.split(".")
    for k in keys:
        rec = rec[k]
    rec[last] = value


def _index(records: list[Rec], test: Callable[[Rec], bool]) -> int:
    return next(i for i, r in enumerate(records) if test(r))


def _ui(r: Rec) -> Rec:
    ui = r.get("userIdentity")
    return ui if isinstance(ui, dict) else {}


# (which record, {path: placeholder}) -> the paths the finding names
BLANKED: dict[str, tuple[Callable[[Rec], bool], dict[str, str]]] = {
    # the red team's record: an assumed role whose arn and principalId a hop blanked
    "assumed-role": (lambda r: _ui(r).get("type") == "AssumedRole",
                     {"userIdentity.arn": "-", "userIdentity.principalId": "-"}),
    "source-ip": (lambda r: _ui(r).get("type") == "AssumedRole", {"sourceIPAddress": "-"}),
    "who-and-where": (lambda r: _ui(r).get("type") == "AssumedRole",
                      {"userIdentity.arn": "-", "sourceIPAddress": "-"}),
    "principal-id-alone": (lambda r: _ui(r).get("type") == "IAMUser" and "arn" in _ui(r),
                           {"userIdentity.principalId": "N/A"}),
    "type": (lambda r: _ui(r).get("type") == "FederatedUser", {"userIdentity.type": "null"}),
    "identity-center-user": (lambda r: _ui(r).get("type") == "IdentityCenterUser",
                             {"userIdentity.onBehalfOf.userId": "None"}),
    "service-event": (lambda r: r.get("eventType") == "AwsServiceEvent" and "type" not in _ui(r),
                      {"userIdentity.invokedBy": "<nil>"}),
    "service-source": (lambda r: _ui(r).get("type") == "AWSService", {"sourceIPAddress": " -- "}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("case", list(BLANKED))
def test_a_placeholder_where_cloudtrail_names_who_or_where_is_an_empty_field(tmp_path: Path, case: str,
                                                                             shape: str) -> None:
    records = correct()
    good = judged(SHAPES[shape](tmp_path, records), timestamp_digits=0)
    assert failed(good) == {} and good["required_fields"][0] == PASSED

    which, blanked = BLANKED[case]
    bad = copy.deepcopy(records)
    i = _index(bad, which)
    for path, value in blanked.items():
        _set(bad[i], path, value)
    out = judged(SHAPES[shape](tmp_path, bad), timestamp_digits=0)
    assert list(failed(out)) == ["required_fields"], out
    (line, text), = out["required_fields"][1]
    assert line == str(i + 1)
    lacks = [w for f, w in (("userIdentity", "lacks who"), ("sourceIPAddress", "where from")) if
             any(p.startswith(f) for p in blanked)]
    assert all(w in text for w in lacks), text
    for path, value in blanked.items():
        assert f"{path} {json.dumps(value)}" in text, text
    assert "placeholder" in text and "a hop blanked" in text


def test_required_fields_judges_only_the_fields_it_lists(tmp_path: Path) -> None:
    """A placeholder is judged as an empty field is: in the fields required_fields lists."""
    records = correct()
    i = _index(records, lambda r: _ui(r).get("type") == "AssumedRole")
    records[i]["sourceIPAddress"] = "-"
    path = SHAPES["records"](tmp_path, records)
    assert at_lines(judged(path, timestamp_digits=0), "required_fields") == {str(i + 1)}
    kept = ("time", "identity", "resource", "action", "result", "request_id")
    out = judged(path, timestamp_digits=0, required_fields=kept)
    assert failed(out) == {} and out["required_fields"][0] == PASSED


def at_lines(out: dict[str, tuple[str, list[tuple[str, str]]]], check: str) -> set[str]:
    return {line for line, _ in out[check][1]}


def _retime(records: list[Rec], at: dict[int, str]) -> list[Rec]:
    """``records`` with the eventTime of each index of ``at`` given that fraction (same second)."""
    out = copy.deepcopy(records)
    for i, fraction in at.items():
        out[i]["eventTime"] = out[i]["eventTime"].replace("Z", fraction + "Z")
    return out


@pytest.mark.parametrize("shape", list(SHAPES))
def test_an_eventtime_with_a_fraction_is_a_record_a_hop_retimed(tmp_path: Path, shape: str) -> None:
    """The red team's file: one record's eventTime 2025-03-04T10:01:12.345Z among CloudTrail's whole seconds."""
    records = correct()
    assert failed(judged(SHAPES[shape](tmp_path, records), timestamp_digits=0)) == {}
    out = judged(SHAPES[shape](tmp_path, _retime(records, {0: ".345"})), timestamp_digits=0)
    assert list(failed(out)) == ["timestamp_precision"], out
    (line, text), = out["timestamp_precision"][1]
    assert line == "1"
    assert "'2026-01-05T08:00:00.345Z' has 3 significant fractional digit(s)" in text
    assert "CloudTrail writes eventTime in whole seconds, so a hop re-timed this record" in text


def test_with_timestamp_digits_left_at_3_the_trails_own_records_are_not_called_retimed(tmp_path: Path) -> None:
    """By default CloudTrail's whole seconds fail timestamp_digits as one finding (the documented precision_fix);
    the re-timed record is named on its own, and never the records CloudTrail wrote (before: the 21 whole-second
    records were 're-timed' against the one millisecond time, which passed)."""
    records = correct()
    (_, only), = judged(SHAPES["records"](tmp_path, records))["timestamp_precision"][1]
    out = judged(SHAPES["records"](tmp_path, _retime(records, {4: ".5"})))
    found = out["timestamp_precision"][1]
    assert [line for line, _ in found] == ["1", "5"], found
    assert found[0][1] == only.replace(f"Across {len(records)} ", f"Across {len(records) - 1} ")
    assert "at most 0 significant fractional digit(s), fewer than the 3 required" in found[0][1]
    assert "'2026-01-05T08:00:04.5Z' has 1 significant fractional digit(s)" in found[1][1]
    assert not any("no sub-second part" in text for _, text in found)


def test_a_fraction_of_zeros_is_no_retiming_and_many_retimed_records_are_counted(tmp_path: Path) -> None:
    """".000Z" on every record (a SIEM's rendering, the same instant) or on one is none; a file whose every time was
    replaced by a time with milliseconds names the first three records and counts the rest."""
    records = correct()
    zeros = judged(SHAPES["records"](tmp_path, _retime(records, dict.fromkeys(range(len(records)), ".000"))),
                   timestamp_digits=0)
    one = judged(SHAPES["records"](tmp_path, _retime(records, {3: ".000000"})), timestamp_digits=0)
    assert failed(zeros) == {} and failed(one) == {}
    every = _retime(records, {i: f".{i + 1:03d}" for i in range(len(records))})
    out = judged(SHAPES["records"](tmp_path, every), timestamp_digits=0)
    found = out["timestamp_precision"][1]
    assert [line for line, _ in found[:3]] == ["1", "2", "3"]
    assert f"] {len(records) - 3} more records have an eventTime with a fraction of a second" in found[3][1]
    assert len(found) == 4 and list(failed(out)) == ["timestamp_precision"]
