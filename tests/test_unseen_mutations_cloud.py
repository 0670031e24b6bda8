"""False passes, hunted by mutation: correct logs of real producers (CloudTrail delivery files and the shapes of them
we read, Kubernetes audit events, generic JSON lines) with exactly one defect planted in each of many records, spread
so that none can mask another. ``verify`` must report each at its line by the check whose contract covers it (or
refuse the input in one line); changes that keep the meaning (key order, keys a newer producer adds, fields the
producer documents as optional) must give no finding.

Fixed here (each failed before):
- a CloudTrail record without its eventID passed required_fields when it kept a requestID: CloudTrail writes eventID
  in every record ("Optional: False"), requestID only where the call returned one (AWS CloudTrail User Guide,
  "CloudTrail record contents", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/
  cloudtrail-event-reference-record-contents.html); the reader now says the record has no request id;
- a record without eventSource (the service an eventName belongs to), a userIdentity without its type (an AWS
  service event's names the service in invokedBy instead), an IAM user's, root's, assumed role's or federated
  user's identity without its arn or principalId (the same guide, "CloudTrail userIdentity element"; a console
  sign-in event may name no one, by design), and an API call's errorMessage whose errorCode was removed (read as
  a success; a failed console sign-in is written with errorMessage alone and reads as that error): each now lacks
  who, what action or the result;
- an SSM SecureString's value under a parameter name that says nothing passed (one named like a password was found
  in a delivery file but not in the same record one a line): the values CloudTrail never logs (that one, a KMS
  plaintext, a secretString or secretBinary, a secretAccessKey) are now secrets by definition
  (formats.cloudtrail_defined_secrets), whatever their shape or entropy;
- a CloudTrail eventTime in the future or before 2013 was hidden by timestamp_accuracy's skip of file order (AWS
  documents no order within a file);
- a Kubernetes event whose stage is missing or not one of the API server's, whose auditID is no string, whose
  stageTimestamp is missing, not RFC 3339 with an offset, cut below timestamp_digits or more than max_skew before
  requestReceivedTimestamp, whose requestReceivedTimestamp was cut below timestamp_digits (the API server writes
  MicroTime, six digits: apimachinery's RFC3339Micro), whose sourceIPs are not IP addresses, or a resource request
  without its objectRef (audit.k8s.io/v1 Event; only non-resource URLs have none): a bad line saying why;
- a JSON-lines field mapped to who, when, which resource, what action, from where or which request that holds true
  or false read as the text "true".

Undetectable from one log, so not asserted:
- CloudTrail records out of order: AWS documents that a log file's records are in no particular order;
- CloudTrail readOnly flipped: whether an API is read-only is AWS's own per-API classification (AssumeRole is
  read-only, ConsoleLogin is not), which no record states; recipientAccountId removed: "Optional: True";
- a denied CloudTrail call with both errorCode and errorMessage removed: a successful read looks the same
  (responseElements is null for both);
- a Kubernetes ResponseComplete whose RequestReceived is missing: the policy may omit that stage rule by rule
  (omitStages), and the policy is not in the log (fixtures/k8s/wild has both kinds side by side);
- the same Kubernetes event (auditID, stage, requestReceivedTimestamp) or CloudTrail record (eventID) written
  twice unchanged: a delivery repeated (webhook retry, two trails), excused by that rule and counted, never passed
  silently; repeated with other content it is a finding (asserted below);
- a generic JSON-lines field holding a number: producers write numeric ids and epoch times there (GitHub's actor_id);
- one valid value swapped for another (a Kubernetes verb get for delete, a CloudTrail sourceIPAddress for another
  address, a userIdentity for another principal's): the record stays one its producer could have written;
- a CloudTrail record without eventVersion, eventType or awsRegion: no check's contract covers those fields (the
  seven of required_fields are all there); left to a schema check.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file

from .test_unseen_cloudtrail_exports import ACCEPTED, CANARIES, OFFLINE, at, delivery, judged, recs, write
from .test_unseen_cloudtrail_lines import event
from .test_unseen_cry_wolf import PRODUCERS, _templates
from .test_unseen_k8s import _write

Rec = dict[str, Any]
Plant = Callable[[list[Rec], int], None]
CONTENT = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
           "data_minimisation", "denied_access_logged")
CANARY = CANARIES.read_text().split()[1]
RF, TP, TA, LEAK, DUP = "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "completeness"


def found(out: dict[str, Any]) -> dict[str, set[str]]:
    """check -> the lines of its findings, over the content checks that found something."""
    return {k: at(out, k) for k in CONTENT if k in out and out[k][1]}


def planted(plants: list[tuple[int, Plant, tuple[str, ...]]], rows: list[Rec]) -> tuple[list[Rec], dict[str, set[str]]]:
    """``rows`` with each plant applied at its index (0-based), and check -> the lines each must be reported at."""
    out = copy.deepcopy(rows)
    want: dict[str, set[str]] = {}
    assert len({i for i, _, _ in plants}) == len(plants), "one defect a record"
    for i, plant, checks in plants:
        plant(out, i)
        for check in checks:
            want.setdefault(check, set()).add(str(i + 1))
    return out, want


def drop(*path: str) -> Plant:
    def plant(rows: list[Rec], i: int) -> None:
        obj: Any = rows[i]
        for k in path[:-1]:
            obj = obj[k]
        assert path[-1] in obj, (i, path)
        del obj[path[-1]]
    return plant


def put(*path: str, value: Any) -> Plant:
    def plant(rows: list[Rec], i: int) -> None:
        obj: Any = rows[i]
        for k in path[:-1]:
            obj = obj.setdefault(k, {}) if obj.get(k) is None else obj[k]
        obj[path[-1]] = value
    return plant


def change(fn: Callable[[Rec], None]) -> Plant:
    return lambda rows, i: fn(rows[i])


# -- CloudTrail ------------------------------------------------------------------------------------------------

CT_BASE = recs() + recs("unseen/correct.json")  # 38 records of 20 services and every userIdentity type
SECRET_JSON = '{"username":"app","password":"Zq8#rT2!vLm9@wXk4$Pn7"}'
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Vb4Tm2E"  # a secret access key's shape (not a real key)
IAM_SECRET = "9drTq3Zc1mWx8Lk2Bv7Nf4Hs6Jp0Yg5Re3Ua1QoX"  # another (each secret is reported at its first line)
ENV_SECRET = '{"DB_PASSWORD":"Vb4Nz8Rt-k7Hq2Lx9"}'


def _index(pred: Callable[[Rec], bool], nth: int = 0) -> int:
    return [i for i, r in enumerate(CT_BASE) if pred(r)][nth]


def _name(name: str, nth: int = 0) -> int:
    return _index(lambda r: r["eventName"] == name, nth)


def _get_secret_value(r: Rec) -> None:
    """GetSecretValue answering with the secret (CloudTrail never logs it: responseElements is null)."""
    r["responseElements"] = {"arn": r["requestParameters"]["secretId"], "name": "prod/db-creds",
                             "versionId": "27d11e45-2ba6-4b61-afb9-875d528690dd", "secretString": SECRET_JSON,
                             "versionStages": ["AWSCURRENT"], "createdDate": "Jan 5, 2026, 7:00:00 AM"}


def _ssm_get_parameter(r: Rec) -> None:
    """An SSM GetParameter WithDecryption whose response carries the decrypted value."""
    r.update(eventSource="ssm.amazonaws.com", eventName="GetParameter",
             requestParameters={"name": "/prod/db/password", "withDecryption": True},
             responseElements={"parameter": {"name": "/prod/api/config", "type": "SecureString",
                                             "value": "k7Hq2Lx9Vb4Nz8Rt", "version": 3}})


def _batch_get_secret_value(r: Rec) -> None:
    """BatchGetSecretValue answering with a binary secret, base64 as the API returns it."""
    r.update(eventName="BatchGetSecretValue", requestParameters={"secretIdList": ["prod/tls"]},
             responseElements={"secretValues": [{"name": "prod/tls", "secretBinary": base64.b64encode(
                 b"\x8a\x11tls-key-material\x02\xff").decode(), "versionStages": ["AWSCURRENT"]}]})


CT_PLANTS: list[tuple[int, Plant, tuple[str, ...]]] = [
    (_name("Decrypt"), drop("eventTime"), (RF, TP)),
    (_name("PutSecretValue"), put("eventTime", value="Jan 5, 2026, 8:00:02 AM"), (TP,)),
    (_name("GetItem"), put("eventTime", value="2026-01-05T08:00:17"), (TP,)),
    (_name("AssumeRole"), change(lambda r: r["responseElements"]["credentials"].update(secretAccessKey=AWS_SECRET)),
     (LEAK,)),  # STS credentials as issued, with their secret access key
    (_name("AssumeRole", 1), drop("eventID"), (RF,)),  # keeps its requestID: the false pass of the brief
    (_name("RotateKey"), drop("eventID"), (RF,)),  # a service event, which has no requestID
    (_name("AssumeRoleWithSAML"), drop("eventName"), (RF,)),
    (_name("ConsoleLogin"), drop("eventSource"), (RF,)),
    (_name("ListSecrets"), drop("userIdentity"), (RF,)),
    (_name("ListConversations"), drop("userIdentity", "type"), (RF,)),
    (_name("GetObject"), drop("userIdentity", "arn"), (RF,)),
    (_name("PutObject"), drop("userIdentity", "principalId"), (RF,)),
    (_name("GenerateDataKey"), drop("sourceIPAddress"), (RF,)),
    (_name("CreateKeyPair"), put("eventName", value=""), (RF,)),
    (_name("RunInstances"), put("sourceIPAddress", value={"ip": "203.0.113.10"}), (RF,)),  # not a value
    (_index(lambda r: r.get("errorCode") == "AccessDenied"), drop("errorCode"), (RF,)),
    (_index(lambda r: r.get("errorCode") == "AccessDenied", 1), put("errorCode", value=""), (RF,)),
    (_name("GetSecretValue"), change(_get_secret_value), (LEAK,)),
    (_name("CreateRole"),
     put("responseElements", "role", "description", value=CANARY.encode().hex()), (LEAK,)),
    (_name("CreatePolicy"), put("requestParameters", "tags", value=[{"key": "db", "value": CANARY}]), (LEAK,)),
    (_name("Decrypt", 1), change(_ssm_get_parameter), (LEAK,)),
    (_name("CreateFunction20150331"),
     put("requestParameters", "environment", value={"variables": {"CONFIG": base64.b64encode(
         ENV_SECRET.encode()).decode()}}), (LEAK,)),
    (_name("CreateAccessKey"), put("responseElements", "accessKey", "secretAccessKey", value=IAM_SECRET), (LEAK,)),
    (_name("Decrypt", 2), put("responseElements", value={"keyId": "alias/app", "plaintext": "c2hvcnQtZGF0YS1rZXk="}),
     (LEAK,)),
    (_name("ListSecrets", 1), change(_batch_get_secret_value), (LEAK,)),
    (_name("GetCallerIdentity"), put("eventTime", value="2036-01-05T08:00:14Z"), (TA,)),
    (_name("DescribeInstances"), put("eventTime", value="2009-01-05T08:00:05Z"), (TA,)),
]


def _ct_rows() -> tuple[list[Rec], dict[str, set[str]]]:
    rows, want = planted(CT_PLANTS, CT_BASE)
    # the record of a ListObjects again with its eventID, other content: a conflict at the copy's line
    dup = copy.deepcopy(rows[_name("ListObjects")])
    dup["sourceIPAddress"] = "198.51.100.99"
    rows.append(dup)
    want[DUP] = {str(len(rows))}
    return rows, want


SHAPES: dict[str, Callable[[list[Rec]], str]] = {
    "delivery.json": lambda rs: json.dumps({"Records": rs}),
    "pretty-delivery.json": lambda rs: json.dumps({"Records": rs}, indent=2),
    "records.jsonl": lambda rs: "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rs),
    "eventbridge.jsonl": lambda rs: "".join(json.dumps(event(r, i)) + "\n" for i, r in enumerate(rs)),
    **ACCEPTED,
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_cloudtrail_defects_are_each_found_at_their_record(tmp_path: Path, shape: str) -> None:
    """Every defect class at its own record, in a delivery file and in every shape of records we read."""
    rows, want = _ct_rows()
    if shape == "detail-only.jsonl":  # a detail without eventTime is no CloudTrail record: a bad line (required_fields)
        want[TP].discard(str(_name("Decrypt") + 1))
    path = write(tmp_path / shape, SHAPES[shape](rows))
    out = judged(path, timestamp_digits=0)
    assert found(out) == want
    said = json.dumps(out)
    assert not any(s in said for s in (CANARY, AWS_SECRET, IAM_SECRET, "k7Hq2Lx9Vb4Nz8Rt", "Zq8#rT2"))


def _newer(r: Rec, rng: random.Random) -> Rec:
    """``r`` as a newer CloudTrail writes it: its keys in another order and fields added since."""
    extra = {"eventCategory": "Management", "addendum": {"reason": "DELIVERY_DELAY", "updatedFields": "",
                                                         "originalRequestID": "", "originalEventID": ""},
             "edgeDeviceDetails": None, "sessionCredentialFromConsole": "true",
             "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                            "clientProvidedHostHeader": "example.amazonaws.com", "keyExchange": "x25519"}}
    out = {**r, **{k: v for k, v in extra.items() if k not in r}}
    if r.get("eventType") != "AwsApiCall":
        del out["sessionCredentialFromConsole"]
    keys = list(out)
    rng.shuffle(keys)
    return {k: out[k] for k in keys}


@pytest.mark.parametrize("shape", ["delivery.json", "records.jsonl", "detail-only.jsonl"])
def test_cloudtrail_changes_that_keep_the_meaning_give_no_finding(tmp_path: Path, shape: str) -> None:
    """Key order, fields a newer CloudTrail adds, requestID absent from a service event and a console sign-in,
    errorCode absent on success: nothing to report."""
    rng = random.Random(5)
    rows = [_newer(r, rng) for r in CT_BASE]
    # a failed console sign-in as AWS writes it: errorMessage "Failed authentication" and no errorCode
    signin = _index(lambda r: r["eventName"] == "ConsoleLogin" and "errorCode" in r)
    rows[signin].pop("errorCode")
    rows[signin]["errorMessage"] = "Failed authentication"
    assert any("requestID" not in r for r in rows) and sum("errorCode" in r for r in rows) < len(rows)
    path = write(tmp_path / shape, SHAPES[shape](rows))
    assert found(judged(path, timestamp_digits=0)) == {}


def test_a_record_repeated_unchanged_within_one_delivered_file_is_found(tmp_path: Path) -> None:
    """The same eventID and content twice in one delivered file: no redelivery (that comes in another file), a
    finding at the copy, not excused (red team rt102 F6)."""
    from pytest_auditready.checks.completeness import REDELIVERED

    rows = [*CT_BASE, CT_BASE[3]]
    out = judged(delivery(tmp_path, rows), timestamp_digits=0)
    assert DUP in found(out), out[DUP]
    assert not [e for e in out[DUP][2]["excused"] if REDELIVERED["cloudtrail"] in e["rule"]], out[DUP][2]


# -- Kubernetes ------------------------------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k8s"


def _k8s(name: str) -> list[Rec]:
    return [json.loads(ln) for ln in (FIXTURES / name).read_text().splitlines() if ln.strip()]


def _k8s_found(path: Path, **kw: Any) -> dict[str, set[str]]:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, **kw), OFFLINE, {})
    return {o.check_id: {f.where.rsplit(":", 1)[-1] for f in o.findings} for o in res.outcomes
            if o.check_id in CONTENT and o.findings}


def _secret_object(r: Rec) -> None:
    """The classic leak: a Secret's data recorded at level RequestResponse."""
    r["level"] = "RequestResponse"
    r["responseObject"] = {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db", "namespace": "prod"},
                           "type": "Opaque", "data": {"password": base64.b64encode(b"Zq8rT2vLm9wXk4Pn7Hj3").decode()}}


def _later(field: str, seconds: int) -> Plant:
    def plant(rows: list[Rec], i: int) -> None:
        from datetime import datetime, timedelta

        t = datetime.strptime(rows[i][field], "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(seconds=seconds)
        rows[i][field] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return plant


def _no_zone(field: str) -> Plant:
    return change(lambda r: r.update({field: r[field].rstrip("Z")}))


def _whole_seconds(field: str) -> Plant:
    """The time with its microseconds cut off (2026-01-05T08:00:10Z)."""
    return change(lambda r: r.update({field: r[field][:19] + "Z"}))


# fixtures/k8s/wild/correct.log: 25 events (see fixtures/README.md)
K8S_WILD: list[tuple[int, Plant, tuple[str, ...]]] = [
    (0, drop("auditID"), (RF,)),
    (1, drop("stage"), (RF,)),
    (2, drop("verb"), (RF,)),
    (5, drop("user", "username"), (RF,)),
    (7, drop("objectRef"), (RF,)),  # a resource request (create secrets)
    (8, put("sourceIPs", value=[]), (RF,)),
    (9, drop("requestURI"), (RF,)),
    (10, drop("stageTimestamp"), (RF,)),
    (11, _no_zone("requestReceivedTimestamp"), (TP,)),
    (12, _whole_seconds("stageTimestamp"), (RF,)),
    (14, _no_zone("stageTimestamp"), (RF,)),
    (16, _whole_seconds("requestReceivedTimestamp"), (RF,)),
    (17, _later("requestReceivedTimestamp", 60), (RF,)),  # its stage a minute before its receipt
    (18, put("stage", value="Done"), (RF,)),
    (19, change(_secret_object), (LEAK,)),
    (20, put("auditID", value=48213), (RF,)),
    (23, put("stageTimestamp", value="2026-01-05 08:00:19.204981"), (RF,)),
]

# fixtures/k8s/real/correct.log: 15 events, with refusals (403)
K8S_REAL: list[tuple[int, Plant, tuple[str, ...]]] = [
    (0, drop("requestReceivedTimestamp"), (RF, TP)),
    (3, drop("sourceIPs"), (RF,)),
    (5, drop("user"), (RF,)),
    (7, drop("responseStatus", "code"), (RF,)),  # a denied get of a Secret, its 403 gone
    (9, put("sourceIPs", value="10.0.0.1"), (RF,)),  # not a list
    (12, put("verb", value=""), (RF,)),
    (14, put("sourceIPs", value=["unknown"]), (RF,)),
]


@pytest.mark.parametrize("name,plants", [("wild/correct.log", K8S_WILD), ("real/correct.log", K8S_REAL)])
def test_kubernetes_defects_are_each_found_at_their_event(tmp_path: Path, name: str,
                                                          plants: list[tuple[int, Plant, tuple[str, ...]]]) -> None:
    events = _k8s(name)
    assert _k8s_found(_write(tmp_path, events, "clean.log")) == {}
    rows, want = planted(plants, events)
    assert _k8s_found(_write(tmp_path, rows)) == want


def test_kubernetes_times_no_clock_wrote_and_a_key_written_twice(tmp_path: Path) -> None:
    """A time after this verification, and an event (auditID, stage, requestReceivedTimestamp) again with other
    content, at the end of the log (the future time goes last: every later one would go back from it). The log's
    RequestReceived at line 17, whose later stage the sample does not hold, was in flight at the log's end; the
    future time puts that end ten years on, so its outcome is missing too (red team rt102 F2: only a request near
    the log's last event is taken as in flight)."""
    events = _k8s("wild/correct.log")
    dup = copy.deepcopy(events[23])
    dup["userAgent"] = "kubectl/v1.31.0 (linux/amd64)"
    future = copy.deepcopy(events[24])
    future["requestReceivedTimestamp"] = "2036-01-05T08:00:20.618342Z"
    future["stageTimestamp"] = "2036-01-05T08:00:20.618981Z"
    assert _k8s_found(_write(tmp_path, [*events[:24], dup, future])) == {DUP: {"17", "25"}, TA: {"26"}}


def test_kubernetes_changes_that_keep_the_meaning_give_no_finding(tmp_path: Path) -> None:
    """Key order, annotations, user.extra and impersonatedUser, a non-resource URL without objectRef, a
    RequestReceived without responseStatus: nothing to report."""
    rng = random.Random(3)
    rows = []
    for e in _k8s("wild/correct.log"):
        e = dict(e, annotations={**e.get("annotations", {}), "example.com/new": "x"})
        e["user"] = dict(e["user"], extra={**e["user"].get("extra", {}), "example.com/team": ["payments"]})
        if e["verb"] == "get" and "secrets" not in e["requestURI"]:
            e["impersonatedUser"] = {"username": "system:serviceaccount:prod:app", "groups": ["system:authenticated"]}
        keys = list(e)
        rng.shuffle(keys)
        rows.append({k: e[k] for k in keys})
    healthz = copy.deepcopy(rows[2])
    healthz.update(requestURI="/healthz", verb="get")
    healthz.pop("objectRef", None)
    healthz["auditID"] = "0f4c1c9e-1111-4a7b-9c1d-6e2b7a5d9c10"
    rows.insert(3, healthz)
    assert any(r["stage"] == "RequestReceived" and "responseStatus" not in r for r in rows)
    assert _k8s_found(_write(tmp_path, rows)) == {}


# -- generic JSON lines ----------------------------------------------------------------------------------------

JSONL = sorted(p for p, (_, fmt, _) in PRODUCERS.items() if fmt == "jsonl")


def _jsonl_found(tmp_path: Path, producer: str, rows: list[Rec]) -> dict[str, set[str]]:
    path = tmp_path / f"{producer}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path.chmod(0o600)
    field_map = PRODUCERS[producer][2]
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                                          field_map=tuple(field_map.items()), timestamp_digits=0), OFFLINE,
                      {"canary": CANARY})
    return {o.check_id: {f.where.rsplit(":", 1)[-1] for f in o.findings} for o in res.outcomes
            if o.check_id in CONTENT and o.findings}


def _at(path: str, value: Any) -> Plant:
    """Set the dotted field_map ``path`` (a key may hold dots) to ``value``; a list index is kept."""
    from pytest_auditready.offline.reader import resolve

    def plant(rows: list[Rec], i: int) -> None:
        keys = resolve(rows[i], path.split("."))
        assert keys is not None, (path, rows[i])
        obj: Any = rows[i]
        for k in keys[:-1]:
            obj = obj[k]
        if value is drop:
            del obj[keys[-1]]
        else:
            obj[keys[-1]] = value
    return plant


@pytest.mark.parametrize("producer", JSONL)
def test_jsonl_mapped_fields_removed_emptied_or_of_no_value_type_are_found(tmp_path: Path, producer: str) -> None:
    """Each mapped field (but the result, whose absence a producer may mean as success) removed, emptied, an
    object, a list, true, null, each at its own line; a canary planted in clear, base64 and hex."""
    templates = _templates(producer)
    field_map = PRODUCERS[producer][2]
    rows = [copy.deepcopy(templates[i % len(templates)]) for i in range(40)]
    for i in range(len(rows)):  # in time order, each time RFC 3339 (GitHub's epoch milliseconds are judged apart)
        _at(field_map["time"], f"2026-01-05T08:{i // 60:02d}:{i % 60:02d}.{i * 7 % 1000:03d}Z")(rows, i)
    assert _jsonl_found(tmp_path, producer, rows) == {}
    clean = rows
    # one run a field and three kinds of value (a check shows its first few findings by line, then counts the rest)
    for name in ("identity", "resource", "action", "source", "request_id", "time"):
        # Key Vault writes correlationId empty when the client passed none: excused, not a finding; the key
        # dropped, or any other value of no use, is still missing evidence (red team rt100 F5)
        optional = producer == "azure-keyvault" and name == "request_id"
        for values in ((drop, "", {"v": 1}), ([], True, None)):
            # (a line whose field holds an object is no entry, so no time of it is judged: rt44 F4)
            plants = [(5 + 9 * k, _at(field_map[name], v), () if optional and v == "" else
                       (RF, TP) if name == "time" and v != {"v": 1} else (RF,)) for k, v in enumerate(values)]
            rows, want = planted(plants, clean)
            assert _jsonl_found(tmp_path, producer, rows) == want, (name, values)
    leaks = [(7 + 11 * k, put("note", value=f"debug {text}"), (LEAK,)) for k, text in enumerate(
        (CANARY, base64.b64encode(CANARY.encode()).decode(), CANARY.encode().hex()))]
    rows, want = planted(leaks, clean)
    assert _jsonl_found(tmp_path, producer, rows) == want


# -- any record: broken as a line ------------------------------------------------------------------------------

def _broken(lines: list[str], rng: random.Random) -> tuple[list[bytes], set[str]]:
    """``lines`` (JSON objects) with one break each at every fifth: truncated mid-JSON, a NUL inserted, invalid
    UTF-8 inserted, split in two, joined with the next. Returns the bytes and the lines that must be reported."""
    out: list[bytes] = []
    want: set[str] = set()
    i = 0
    kinds = ["truncate", "nul", "utf8", "split", "join"]
    k = 0
    while i < len(lines):
        raw = lines[i].encode()
        if i % 5 == 2:
            kind = kinds[k % len(kinds)]
            k += 1
            cut = rng.randint(20, len(raw) - 20)
            if kind == "truncate":
                out.append(raw[:cut])
            elif kind == "nul":
                out.append(raw[:cut] + b"\x00" + raw[cut:])
            elif kind == "utf8":
                out.append(raw[:cut] + b"\xff\xfe" + raw[cut:])
            elif kind == "split":
                out.extend([raw[:cut], raw[cut:]])
                want.add(str(len(out)))
            else:
                out.append(raw + lines[i + 1].encode())
                i += 1
            want.add(str(len(out)) if kind != "split" else str(len(out) - 1))
        else:
            out.append(raw)
        i += 1
    return out, want


@pytest.mark.parametrize("kind", ["k8s", "cloudtrail", "okta"])
def test_a_record_broken_as_a_line_is_reported_at_its_line(tmp_path: Path, kind: str) -> None:
    rng = random.Random(kind)
    if kind == "k8s":
        lines = [json.dumps(e, separators=(",", ":")) for e in _k8s("wild/correct.log")]
    elif kind == "cloudtrail":
        lines = [json.dumps(r, separators=(",", ":")) for r in CT_BASE]
    else:
        lines = [json.dumps(r) for r in _templates("okta")] * 3
    raw, want = _broken(lines, rng)
    path = tmp_path / "broken.log"
    path.write_bytes(b"\n".join(raw) + b"\n")
    path.chmod(0o600)
    kw: dict[str, Any] = {"timestamp_digits": 0}
    if kind == "okta":
        kw.update(log_format="jsonl", field_map=tuple(PRODUCERS["okta"][2].items()))
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, **kw), OFFLINE, {})
    got = {f.where.rsplit(":", 1)[-1] for o in res.outcomes if o.check_id == RF for f in o.findings}
    assert want <= got, (want, got)


def test_a_delivery_file_cut_mid_json_is_reported_never_passed(tmp_path: Path) -> None:
    text = json.dumps({"Records": CT_BASE})
    path = write(tmp_path / "trail.json", text[: len(text) // 2])
    out = judged(path, timestamp_digits=0)
    assert out[RF][0] == "failed" and out[RF][1]
