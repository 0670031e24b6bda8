"""Refusals that say what the file is: a producer's log read with --format jsonl is named as that producer's (it
was called "JSON lines of no known format, neither Vault/OpenBao..."), and a GKE cluster's audit log as Google
Cloud Logging exports it (LogEntry records of Cloud Audit Logs, from Google's LogEntry and AuditLog reference) is
named so, with the field_map that reads it; that field_map does read it, clean, and finds a record without who."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parent.parent / "fixtures"


def _gke(n: int, who: str = "alice@example.com", granted: bool = True) -> str:
    """A Cloud Logging entry as Google exports it: proto3 JSON leaves out a field at its default, so a success's
    google.rpc.Status (code 0) is {} (odd n) or not there at all (even n), as in Panther's and Wazuh's GKE samples."""
    proto = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": who},
        "authorizationInfo": [{"granted": granted, "permission": "io.k8s.core.v1.secrets.get",
                               "resource": "core/v1/namespaces/default/secrets/db"}],
        "methodName": "io.k8s.core.v1.secrets.get",
        "requestMetadata": {"callerIp": "203.0.113.7", "callerSuppliedUserAgent": "kubectl/v1.30.1"},
        "resourceName": "core/v1/namespaces/default/secrets/db", "serviceName": "k8s.io"}
    if not granted:
        proto["status"] = {"code": 7, "message": "PERMISSION_DENIED"}
    elif n % 2:
        proto["status"] = {}
    return json.dumps({
        "protoPayload": proto,
        "insertId": f"a1b2c3d4-{n:04d}",
        "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "prod", "location": "us-central1",
                                                       "project_id": "acme-prod"}},
        "timestamp": f"2026-11-30T08:38:{n:02d}.127266Z",
        "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
        "operation": {"id": f"a1b2c3d4-{n:04d}", "producer": "k8s.io", "first": True, "last": True},
        "receiveTimestamp": f"2026-11-30T08:38:{n:02d}.905864307Z"})


@pytest.mark.parametrize(("fixture", "title", "fmt"), [("openbao/clean.log", "a Vault/OpenBao audit log", "vault"),
                                                       ("k8s/audit.log", "a Kubernetes audit log", "k8s")])
def test_a_producers_log_read_as_jsonl_is_named_as_its_producers(capsys: pytest.CaptureFixture[str], fixture: str,
                                                                  title: str, fmt: str) -> None:
    assert main(["verify", "--format", "jsonl", str(ROOT / fixture)]) == 2
    err = capsys.readouterr().err
    assert f"is {title}, and log_format/--format jsonl reads generic JSON lines through a field_map" in err
    assert f"use --format {fmt}" in err and "no known audit format" not in err


def test_a_gke_export_is_named_with_the_field_map_that_reads_it(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "cloudaudit.json"
    log.write_text("\n".join(_gke(n, granted=n % 3 != 0) for n in range(1, 9)) + "\n")
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "Google Cloud Logging entries of Cloud Audit Logs" in err and len(err.strip().splitlines()) == 1
    field_map = err.split("e.g. ", 1)[1].strip()
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'log_format = "jsonl"\nfield_map = {field_map}\nrequire_tamper_evidence = false\n'
                   "retention_days = 0\n")
    assert main(["verify", str(log), "--config", str(cfg)]) == 0, capsys.readouterr().out
    lines = log.read_text().splitlines()
    lines[4] = _gke(5, who="")
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "r.json"
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out)]) == 1
    found = [f["where"] for o in json.loads(out.read_text())["outcomes"] for f in o["findings"]]
    assert found == [f"{log}:5"], found


def test_the_gke_field_map_reads_successes_whose_status_proto3_json_left_out(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The field_map the refusal gives reads the result at protoPayload.status.code, which proto3 JSON leaves out
    of every success: an export of successes only was refused, one with a denial failed required_fields at every
    success (red team rt27, F2). A status left out of an AuditLog is its code 0; anywhere else it is no result."""
    log = tmp_path / "cloudaudit.json"
    log.write_text("\n".join(_gke(n) for n in range(1, 9)) + "\n")
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    field_map = capsys.readouterr().err.split("e.g. ", 1)[1].strip()
    assert 'result = "protoPayload.status.code"' in field_map
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'log_format = "jsonl"\nfield_map = {field_map}\nrequire_tamper_evidence = false\n'
                   "retention_days = 0\n")
    assert main(["verify", str(log), "--config", str(cfg)]) == 0, capsys.readouterr().out
    lines = [_gke(n, granted=n != 3) for n in range(1, 9)]
    lines[5] = lines[5].replace('"type.googleapis.com/google.cloud.audit.AuditLog"', '"type.example/Other"')
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "r.json"
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out)]) == 1
    found = [(o["check"], f["where"]) for o in json.loads(out.read_text())["outcomes"] for f in o["findings"]]
    assert found == [("required_fields", f"{log}:6")], found


@pytest.mark.parametrize(("framing", "fixture", "seen"), [("cri", "openbao/clean.log", "none"),
                                                           ("docker", "framing/fluent-bit.jsonl", "shipper"),
                                                           ("journal", "k8s/audit.log", "none")])
def test_a_log_framing_the_lines_are_not_in_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       framing: str, fixture: str, seen: str) -> None:
    """log_framing = "cri" over a plain Vault log was taken as said and the log read as if unframed, exit 0: a
    setting that disagrees with the content is refused, as a log_format that does is."""
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'log_framing = "{framing}"\n')
    assert main(["verify", str(ROOT / fixture), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f'log_framing = "{framing}" names' in err and f'set log_framing = "{seen}"' in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("drop", [("apiVersion",), ("apiVersion", "kind")])
def test_a_webhook_events_kept_without_its_api_version_is_read_as_kubernetes(tmp_path: Path, drop: tuple[str, ...],
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """falco's recorded webhook traces hold each Event with "kind": "Event" and no apiVersion (the EventList's
    carries it): such a file was refused as JSON lines of no known format, while items with neither were read.
    Both are read as the Kubernetes events they are, with the verdicts of the same events with their apiVersion."""
    src = ROOT / "real-cloud" / "k8s" / "create-pod-selflink.log"
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    verdicts = []
    for name, keep in (("whole.log", ()), ("items.log", drop)):
        log = tmp_path / name
        events = [json.loads(ln) for ln in src.read_text().splitlines()]
        log.write_text("".join(json.dumps({k: v for k, v in e.items() if k not in keep}) + "\n" for e in events))
        log.chmod(0o600)
        out = tmp_path / f"{name}.json"
        code = main(["verify", str(log), "--config", str(cfg), "--json", str(out)])
        doc = json.loads(out.read_text())
        verdicts.append((code, doc["files"][0]["format"], doc["files"][0]["entries"],
                         [(o["check"], o["status"]) for o in doc["outcomes"]]))
    capsys.readouterr()
    assert verdicts[0][1] == "k8s" and verdicts[1] == verdicts[0]


def test_a_cloudtrail_digest_file_named_as_a_log_is_refused_as_what_it_is(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A trail's digest file (its fields as AWS's "CloudTrail digest file structure" lists them) named as the log
    was refused with the generic field_map hint; the refusal now says it is a digest and how digests are used."""
    digest = {"awsAccountId": "111122223333", "digestStartTime": "2026-11-30T00:00:00Z",
              "digestEndTime": "2026-11-30T01:00:00Z", "digestS3Bucket": "trail-bucket",
              "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/30/"
                                "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261130T010000Z.json.gz",
              "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
              "digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": "2026-11-30T00:59:01Z",
              "oldestEventTime": "2026-11-30T00:00:04Z", "previousDigestS3Bucket": None,
              "previousDigestS3Object": None, "previousDigestHashValue": None,
              "previousDigestHashAlgorithm": None, "previousDigestSignature": None,
              "logFiles": [{"s3Bucket": "trail-bucket", "s3Object": "AWSLogs/111122223333/CloudTrail/us-east-1/"
                            "2026/11/30/111122223333_CloudTrail_us-east-1_20261130T0005Z_a.json.gz",
                            "hashValue": "ab" * 32, "hashAlgorithm": "SHA-256",
                            "newestEventTime": "2026-11-30T00:04:59Z", "oldestEventTime": "2026-11-30T00:00:04Z"}]}
    log = tmp_path / "digest.json"
    log.write_text(json.dumps(digest) + "\n")
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "is a CloudTrail digest file" in err and "verify-cloudtrail" in err and "field_map" not in err


@pytest.mark.parametrize("quoted", [True, False], ids=["a-json-string-a-line", "rsyslog-msg-json"])
def test_entries_json_escaped_as_strings_are_refused_with_a_fix_that_works(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                           quoted: bool) -> None:
    """Each line one whole entry, its quotes escaped (a shipper's string field: "{\\"time\\"...}"; rsyslog's
    %msg:::json% template: {\\"time\\"...}): refused with a fix that turns it back into the log (before: "JSON spread
    over several lines", fix jq -c ., which changes nothing; red team rt3, F7)."""
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines()
    escaped = [json.dumps(ln) if quoted else json.dumps(ln)[1:-1] for ln in lines]
    log = tmp_path / "escaped.log"
    log.write_text("\n".join(escaped) + "\n")
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "is an audit entry JSON-escaped as a string" in err and ("jq -r ." if quoted else "fromjson") in err, err


@pytest.mark.parametrize("kind", ["eventlist", "entries"])
def test_pretty_printed_json_is_refused_with_a_fix_that_gives_one_entry_a_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    """A pretty-printed EventList (the webhook backend's batch, saved with jq .) flattened by jq -c . is one batch a
    line, refused again: the fix takes its items out (jq -c '.items[]'); pretty-printed entries need jq -c '.'."""
    if kind == "eventlist":
        batch = (ROOT / "k8s" / "unseen" / "webhook-eventlist.log").read_text().splitlines()[0]
        text, fix = json.dumps(json.loads(batch), indent=2), "jq -c '.items[]' {log} > {log}.jsonl"
    else:
        rows = (ROOT / "openbao" / "clean.log").read_text().splitlines()[:3]
        text, fix = "\n".join(json.dumps(json.loads(r), indent=2) for r in rows), "jq -c '.' {log} > {log}.jsonl"
    log = tmp_path / "pretty.json"
    log.write_text(text + "\n")
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "spread over several lines" in err and fix.format(log=log) in err and len(err.strip().splitlines()) == 1, err


# Kubernetes 1.8's auditing documentation, "Log backend" example (audit.k8s.io/v1beta1, before stage timestamps)
_K8S_1_8 = [
    {"kind": "Event", "apiVersion": "audit.k8s.io/v1beta1", "metadata": {"creationTimestamp": None}, "level": "Metadata",
     "timestamp": "2017-09-05T10:04:55Z", "auditID": "77e58433-d345-40ac-b2d8-9866bd355cea", "stage": stage,
     "requestURI": "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", "verb": "list",
     "user": {"username": "kubecfg", "groups": ["system:masters", "system:authenticated"]},
     "sourceIPs": ["172.16.116.128"], "objectRef": {"resource": "roles", "namespace": "default",
                                                    "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
     **({"responseStatus": {"metadata": {}, "code": 200}} if stage == "ResponseComplete" else {})}
    for stage in ("RequestReceived", "ResponseComplete")]


def test_kubernetes_1_8_events_are_refused_as_the_schema_they_are(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Events of Kubernetes 1.8 carry one "timestamp" and no stage times: each line was "not a readable audit
    entry ... find what rewrites or truncates the log", a pipeline blamed for an old schema (red team rt27, F1).
    The file is refused in one line that says what it is; the same events with their stage times are read."""
    log = tmp_path / "audit.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in _K8S_1_8))
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "as Kubernetes 1.8 wrote them" in err, err
    later = [dict(e, requestReceivedTimestamp="2017-09-05T10:04:55.000123Z",  # (a RequestReceived's stage time is
                  stageTimestamp="2017-09-05T10:04:55.000" + ("123" if e.get("stage") == "RequestReceived" else "456")
                  + "Z") for e in _K8S_1_8]  # its receipt: processAuditEvent)
    log.write_text("".join(json.dumps(e) + "\n" for e in later))
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", str(log), "--config", str(cfg)]) == 0, capsys.readouterr().out


# Another producer's JSON lines that happen to carry "time" and "type": "request"/"response": an access log whose
# request is its request line, an application log whose auth is a scheme. The vault writes both as objects in every
# entry, so these are no Vault entries: they were judged as a vault's and blamed on it (every field missing).
ACCESS_LOG = [{"time": "2026-03-02T10:00:00+00:00", "type": "request", "remote_addr": "10.0.0.1",
               "request": "GET /v1/secret/data/app HTTP/1.1", "status": 200},
              {"time": "2026-03-02T10:00:01+00:00", "type": "response", "remote_addr": "10.0.0.1",
               "request": "GET /v1/secret/data/app HTTP/1.1", "status": 403, "auth": "Bearer"}]


@pytest.mark.parametrize("fmt", [(), ("--format", "vault")], ids=["told-from-content", "format-vault"])
def test_lines_with_a_request_that_is_no_object_are_no_vault_log(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 fmt: tuple[str, ...]) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in ACCESS_LOG))
    log.chmod(0o600)
    assert main(["verify", str(log), *fmt]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no known audit format" in err, err


def test_a_vault_entry_whose_request_was_rewritten_is_found_at_its_line(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Among a real OpenBao log's entries the same line is no longer refused as a whole file: it is found."""
    lines = (ROOT / "openbao/rt72/openbao-2.7.2.log").read_text().splitlines()
    entry = json.loads(lines[5])
    entry["request"] = ACCESS_LOG[0]["request"]
    lines[5] = json.dumps(entry)
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    log.chmod(0o600)
    assert main(["verify", str(log), "--json", str(tmp_path / "r.json")]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    where = {f["where"] for o in report["outcomes"] for f in o["findings"]}
    assert f"{log}:6" in where, where
