"""Right on producer logs the team never made: the records of other AWS services, Kubernetes events of other
resources and Vault/OpenBao's OIDC login, written to each producer's documentation (fixtures/*/unseen, see
fixtures/README.md). A correct log gives no finding; the same records with one planted defect are caught at that
line; files of another producer's format are refused in one line (exit 2).
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.scan.secrets import digest, public_pem, skippable

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
           "integrity_digest", "data_minimisation")
CORRECT = [
    ("cloudtrail/unseen/correct.json", {"timestamp_digits": 0}),  # CloudTrail writes whole seconds
    ("k8s/unseen/correct.log", {}),
    ("openbao/unseen/oidc-login.log", {}),
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _findings(path: Path, **settings: Any) -> dict[str, list[str]]:
    """Check id -> the where of each finding, over the content checks that failed."""
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, **settings), OFFLINE, {})
    return {o.check_id: [f.where for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def _config(tmp_path: Path, extra: dict[str, Any]) -> Path:
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in extra.items())
    return _write(tmp_path, "auditready.toml", "[tool.auditready]\nrequire_tamper_evidence = false\n"
                  "retention_days = 0\n" + body)


@pytest.mark.parametrize(("name", "extra"), CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_log_of_an_unseen_producer_gives_no_finding(tmp_path: Path, name: str, extra: dict[str, Any],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, Path(name).name, (ROOT / name).read_text())
    assert _findings(path, **extra) == {}
    assert main(["verify", "--jobs", "1", str(path), "--config", str(_config(tmp_path, extra))]) == 0, \
        capsys.readouterr().out


# -- CloudTrail -------------------------------------------------------------------------------------------------

def _records() -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = json.loads((ROOT / "cloudtrail/unseen/correct.json").read_text())["Records"]
    return recs


def _trail(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    return _write(tmp_path, "trail.json", json.dumps({"Records": records}))


def test_a_secret_under_a_digest_or_cursor_name_is_still_found(tmp_path: Path) -> None:
    """Only a digest's exact shape is a digest: a secret access key under codeSha256, a password hash (crackable),
    a private key beside a certificate, are each caught at their record."""
    recs = _records()
    recs[0]["responseElements"]["codeSha256"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters: no digest
    recs[2]["requestParameters"]["passwordSha256"] = secrets.token_hex(32)
    recs[4]["requestParameters"]["privateKey"] = ("-----BEGIN CERTIFICATE-----\n" + base64.b64encode(
        secrets.token_bytes(300)).decode() + "\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\n"
        + base64.b64encode(secrets.token_bytes(600)).decode() + "\n-----END RSA PRIVATE KEY-----\n")
    path = _trail(tmp_path, recs)
    found = _findings(path, timestamp_digits=0)
    assert sorted(set(found.get("no_secret_leak", []))) == [f"{path}:1", f"{path}:3", f"{path}:5"], found


def _named(rng: Any) -> list[dict[str, Any]]:
    """Records as AWS writes them for generated names: an IAM Identity Center session (its permission-set role
    AWSReservedSSO_<set>_<16 hex>), an EKS node's CloudFormation role (<stack>-NodeInstanceRole-<12 characters>), a
    Lambda deployment from a versioned S3 object, and IAM Identity Center's Federate event."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    sso = f"AWSReservedSSO_AdministratorAccess_{rng.getrandbits(64):016x}"
    node = "eksctl-prod-nodegroup-ng-1-NodeInstanceRole-" + "".join(rng.choice(alnum) for _ in range(12))
    version = base64.b64encode(rng.randbytes(48)).decode()

    def who(role: str, session: str) -> dict[str, Any]:
        return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{session}",
                "arn": f"arn:aws:sts::123456789012:assumed-role/{role}/{session}", "accountId": "123456789012",
                "accessKeyId": "ASIAEXAMPLEKEY123456", "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID", "accountId": "123456789012",
                                      "arn": f"arn:aws:iam::123456789012:role/{role}", "userName": role},
                    "attributes": {"creationDate": "2026-11-30T09:00:00Z", "mfaAuthenticated": "false"}}}

    base = _records()[0]
    out = []
    for i, (identity, source, name, params, extra) in enumerate([
            (who(sso, "jane.doe@example.org"), "secretsmanager.amazonaws.com", "GetSecretValue",
             {"secretId": "prod/db"}, {}),
            (who(node, "i-0abc1234def567890"), "ecr.amazonaws.com", "GetAuthorizationToken", None, {}),
            (who(sso, "jane.doe@example.org"), "lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
             {"functionName": "fn", "s3Bucket": "b", "s3Key": "fn.zip", "s3ObjectVersion": version}, {}),
            (who(sso, "jane.doe@example.org"), "sso.amazonaws.com", "Federate", None,
             {"additionalEventData": {"RoleName": sso}})]):
        rec = dict(base, userIdentity=identity, eventSource=source, eventName=name, requestParameters=params,
                   responseElements=None, eventID=f"6c1f3e2a-9b8d-4f7e-a6c5-{i:012d}",
                   requestID=f"1a2b3c4d-5e6f-4a7b-8c9d-{i:012d}", **extra)
        rec.pop("resources", None)
        out.append(rec)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_generated_names_and_version_ids_are_identifiers_not_secrets(tmp_path: Path, seed: int) -> None:
    """Generated role names and S3 version ids read as high-entropy strings: every SSO session's records and an
    EKS node's raised false leaks. Values under the keys AWS names identifiers by (...Name, ...VersionId,
    S3ObjectVersion) are not judged; a secret under any other key, and a known value under a name key, still are."""
    import random

    recs = _named(random.Random(seed))
    assert _findings(_trail(tmp_path, recs), timestamp_digits=0) == {}
    recs[1]["requestParameters"] = {"description": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    recs[3]["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] = "AKIA" + "Q" * 12 + "roleName"
    path = _trail(tmp_path, recs)
    canaries = _write(tmp_path, "canaries.txt", "roleName\n")
    found = _findings(path, timestamp_digits=0)
    assert found == {"no_secret_leak": [f"{path}:2"]}, found
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, timestamp_digits=0),
                      OFFLINE, {"canary:1": canaries.read_text().strip()})
    leak = next(o for o in res.outcomes if o.check_id == "no_secret_leak")
    assert sorted({f.where for f in leak.findings}) == [f"{path}:2", f"{path}:4"]


def test_an_email_in_an_error_that_names_someone_else_is_still_personal_data(tmp_path: Path) -> None:
    recs = _records()
    denied = recs[9]
    assert "alice@example.com" in denied["errorMessage"] and "alice@example.com" in denied["userIdentity"]["arn"]
    denied["errorMessage"] += " (requested for bob.smith@example.org)"
    path = _trail(tmp_path, recs)
    assert _findings(path, timestamp_digits=0) == {"data_minimisation": [f"{path}:10"]}


def test_records_of_an_aws_event_notification_are_refused_in_one_line(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """S3, SNS and SQS notifications are {"Records": [...]} too: read as CloudTrail they were judged (exit 1, with
    findings blaming the log for missing caller and request id)."""
    path = _write(tmp_path, "n.json", (ROOT / "cloudtrail/unseen/s3-event-notification.json").read_text())
    assert main(["verify", "--jobs", "1", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'eventSource "aws:s3"' in err and "not an AWS CloudTrail log file" in err


def test_a_cloudtrail_record_that_lost_fields_is_still_read_and_judged(tmp_path: Path) -> None:
    recs = _records()
    del recs[3]["eventTime"], recs[3]["eventSource"]  # still a CloudTrail record: a pipeline cut it
    path = _trail(tmp_path, recs)
    found = _findings(path, timestamp_digits=0)
    assert found["required_fields"] == [f"{path}:4"]


def test_a_cloudtrail_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Detection allowed the mark an export tool writes but the reader did not skip it: the whole file was one
    unreadable line and every content check failed as "judged nothing"."""
    text = (ROOT / "cloudtrail/unseen/correct.json").read_text()
    plain = _write(tmp_path, "plain.json", text)
    marked = tmp_path / "marked.json"
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    marked.chmod(0o600)
    settings = Settings(require_tamper_evidence=False, retention_days=0, timestamp_digits=0)
    a, b = (verify_file(str(p), settings, OFFLINE, {}) for p in (plain, marked))
    assert [(o.check_id, o.status) for o in a.outcomes] == [(o.check_id, o.status) for o in b.outcomes]
    assert _findings(marked, timestamp_digits=0) == {}


# -- Kubernetes -------------------------------------------------------------------------------------------------

def _events() -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (ROOT / "k8s/unseen/correct.log").read_text().splitlines()]


def _k8s(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(e).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") + "\n"
                   for e in events)
    return _write(tmp_path, "audit.log", text)


def _pem(kind: str, size: int) -> bytes:
    body = base64.b64encode(secrets.token_bytes(size))
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN " + kind.encode() + b"-----\n" + lines + b"\n-----END " + kind.encode() + b"-----\n"


def test_a_private_key_where_public_pem_material_goes_is_still_found(tmp_path: Path) -> None:
    events = _events()
    csr, hook = events[4], events[5]
    csr["requestObject"]["spec"]["request"] = base64.b64encode(_pem("PRIVATE KEY", 1200)).decode()
    bundle = base64.b64decode(hook["requestObject"]["webhooks"][0]["clientConfig"]["caBundle"])
    hook["requestObject"]["webhooks"][0]["clientConfig"]["caBundle"] = base64.b64encode(
        bundle + _pem("EC PRIVATE KEY", 120)).decode()
    path = _k8s(tmp_path, events)
    assert _findings(path) == {"no_secret_leak": [f"{path}:5", f"{path}:6"]}


def _kubeconfig(key: bytes) -> str:
    """A kubeconfig as a ConfigMap or a parameter holds it: its certificate and ``key`` base64 inside the YAML."""
    b64 = base64.b64encode
    return ("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: "
            f"{b64(_pem('CERTIFICATE', 600)).decode()}\n    server: https://10.0.0.1:6443\n  name: prod\n"
            "users:\n- name: admin\n  user:\n    client-certificate-data: "
            f"{b64(_pem('CERTIFICATE', 600)).decode()}\n" + (f"    client-key-data: {b64(key).decode()}\n" if key else ""))


@pytest.mark.parametrize("key", [b"", _pem("RSA PRIVATE KEY", 1190), _pem("EC PRIVATE KEY", 120)],
                         ids=["certificates only", "rsa key", "ec key"])
def test_a_private_key_base64_inside_a_text_is_found(tmp_path: Path, key: bytes) -> None:
    """A kubeconfig's client-key-data (base64 of a PEM private key) inside a ConfigMap's file passed: only a whole
    value of base64 was decoded (red team rt50 F5). Its certificates alone are public, no finding."""
    events = _events()
    events[0]["requestObject"] = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "admin-kubeconfig"},
                                  "data": {"config": _kubeconfig(key)}}
    path = _k8s(tmp_path, events)
    assert _findings(path) == ({"no_secret_leak": [f"{path}:1"]} if key else {})


@pytest.mark.parametrize("path, found", [("/data/password", True), ("/stringData", True),
                                         ("/metadata/labels/filled", False)])
def test_a_secret_s_data_in_a_webhook_patch_annotation_is_found(tmp_path: Path, path: str, found: bool) -> None:
    """A mutating webhook that fills a Secret's data: the API server records its JSON patch in the audit annotation
    patch.webhook.admission.k8s.io/round_N_index_M (level Request and above). The same patch in requestObject was
    found, in the annotation it passed (red team rt50 F4). A patch of the Secret's metadata is no finding."""
    events = _events()
    human = "Winter" + secrets.choice(["Sun", "Moon", "Star"]) + "2024!"  # a value of no shape nor randomness
    value: Any = base64.b64encode(human.encode()).decode()
    if path == "/stringData":
        value = {"conn": human}
    patch = {"configuration": "secret-filler", "webhook": "fill.example.com", "patchType": "JSONPatch",
             "patch": [{"op": "add", "path": path, "value": value if found else "yes"}]}
    events[0].update(objectRef={"resource": "secrets", "namespace": "prod", "name": "db", "apiVersion": "v1"},
                     requestObject={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db"}},
                     annotations={**events[0].get("annotations", {}),
                                  "patch.webhook.admission.k8s.io/round_0_index_0": json.dumps(patch)})
    path_ = _k8s(tmp_path, events)
    assert _findings(path_) == ({"no_secret_leak": [f"{path_}:1"]} if found else {})


def test_the_forbidden_message_naming_another_address_is_still_personal_data(tmp_path: Path) -> None:
    events = _events()
    forbidden = events[7]
    assert forbidden["user"]["username"] in forbidden["responseStatus"]["message"]
    forbidden["responseStatus"]["message"] += ' (on behalf of "carol.jones@example.net")'
    path = _k8s(tmp_path, events)
    assert _findings(path) == {"data_minimisation": [f"{path}:8"]}


def test_webhook_eventlist_batches_are_refused_naming_the_batch(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Read with a field_map (what the refusal used to advise), each batch would be one entry."""
    path = _write(tmp_path, "webhook.log", (ROOT / "k8s/unseen/webhook-eventlist.log").read_text())
    assert main(["verify", "--jobs", "1", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "EventList" in err and "jq -c '.items[]'" in err
    assert "field_map" not in err


# -- Vault / OpenBao ----------------------------------------------------------------------------------------------

def test_an_anonymous_entry_off_the_oidc_login_paths_still_lacks_who(tmp_path: Path) -> None:
    lines = (ROOT / "openbao/unseen/oidc-login.log").read_text().splitlines()
    request = json.loads(lines[0])
    assert request["request"]["path"] == "auth/oidc/oidc/auth_url" and "display_name" not in request["auth"]
    moved = json.dumps(dict(request, request=dict(request["request"], path="auth/oidc/role/default")))
    path = _write(tmp_path, "audit.log", "\n".join([*lines, moved]) + "\n")
    found = _findings(path)
    assert found["required_fields"] == [f"{path}:{len(lines) + 1}"]


# -- the rules themselves -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "expected"), [
    ("codeSha256", base64.b64encode(secrets.token_bytes(32)).decode(), True),
    ("ETag", '"' + secrets.token_hex(16) + '-12"', True),
    ("checksum/config", secrets.token_hex(32), True),
    ("hash", secrets.token_hex(64).upper(), True),
    ("imageDigest", "sha256:" + secrets.token_hex(32), True),
    ("codeSha256", base64.b64encode(secrets.token_bytes(30)).decode(), False),  # no digest's length
    ("apiKey", secrets.token_hex(32), False),  # a key that names no digest
    ("password_sha256", secrets.token_hex(32), False),  # a password hash can be cracked
    ("token_sha256", secrets.token_hex(32), False),  # may be the token itself under a misleading name
    ("api_key_digest", base64.b64encode(secrets.token_bytes(32)).decode(), False),
    ("checksum/secret", secrets.token_hex(32), True),  # Helm: a digest of the Secret's manifest
], ids=["lambda-code-sha256", "s3-multipart-etag", "helm-checksum", "openapi-hash", "ecr-image-digest",
        "no-digest-length", "no-digest-name", "password-hash", "token-digest", "api-key-digest", "helm-secret"])
def test_a_digest_is_its_name_and_its_exact_shape(key: str, value: str, expected: bool) -> None:
    assert digest(key, value) is expected
    assert skippable(key, value) is expected


def test_public_pem_is_only_certificates_requests_and_public_keys() -> None:
    cert, req, pub, priv = (_pem(k, 400) for k in ("CERTIFICATE", "CERTIFICATE REQUEST", "PUBLIC KEY", "PRIVATE KEY"))
    for text in (cert, cert + cert, req, pub):
        assert public_pem(text.decode()) and public_pem(base64.b64encode(text).decode())
    for text in (priv, cert + priv, cert + b"trailing words"):
        assert not public_pem(text.decode()) and not public_pem(base64.b64encode(text).decode())


def test_an_identity_center_user_is_named_by_their_user_id(tmp_path: Path) -> None:
    """userIdentity of type IdentityCenterUser (AWS CloudTrail User Guide, "CloudTrail userIdentity element") has no
    arn and no principalId: the person is onBehalfOf.userId. The answer to "who" named only "IdentityCenterUser".
    (A user of the trail's own account: one of another account is named with it, tests/test_access_systems.py.)"""
    rec = dict(_records()[0])
    rec["userIdentity"] = {
        "type": "IdentityCenterUser", "accountId": rec["recipientAccountId"],
        "onBehalfOf": {"userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
                       "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"},
        "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"}
    path = _trail(tmp_path, [rec])
    out = tmp_path / "who.json"
    assert main(["access", "*", str(path), "--json", str(out)]) == 0
    assert [i["display_name"] for i in json.loads(out.read_text())["identities"]] == [
        "544894e8-80c1-707f-60e3-3ba6510dfac1"]


@pytest.mark.parametrize("change", ["drop", "rename", "other", "number"])
def test_a_vault_entry_of_no_type_the_vault_writes_is_a_finding_at_its_line(tmp_path: Path, change: str) -> None:
    """Every entry a Vault/OpenBao device writes is a request or a response. A line whose type a hop dropped or
    rewrote passed every check: completeness does not pair it, required_fields found all seven fields."""
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines()
    k = len(lines) // 2
    entry = json.loads(lines[k])
    if change == "drop":
        del entry["type"]
    else:
        entry["type"] = {"rename": "Request", "other": "audit", "number": 1}[change]
    lines[k] = json.dumps(entry)
    path = _write(tmp_path, "audit.log", "\n".join(lines) + "\n")
    found = _findings(path)
    assert found.get("required_fields") == [f"{path}:{k + 1}"], found
    assert _findings(_write(tmp_path, "clean.log", (ROOT / "openbao" / "clean.log").read_text())) == {}
