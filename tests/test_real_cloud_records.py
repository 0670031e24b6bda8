"""`auditready verify` on CloudTrail records and Kubernetes audit events that real AWS accounts and clusters wrote
(fixtures/real-cloud/README.md names each source): what their producers log by design raises nothing, and what
they should not have logged still fails, at its record.

Each case copies its records to a private folder (mode 0600, as a trail's or API server's log is kept) and runs the
command the way a user does, with a settings file that leaves out what a lone copied file cannot show (retention,
digest files; CloudTrail's whole-second times, which the SPEC fails by design)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.formats import FORMATS
from pytest_auditready.scan.secrets import GenericScanner
from tests._native_runs import cli_process

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real-cloud"
SETTINGS = {"cloudtrail": "retention_days = 0\nrequire_tamper_evidence = false\ntimestamp_digits = 0\n",
            "k8s": "retention_days = 0\nrequire_tamper_evidence = false\n"}


def _verify(tmp_path: Path, fmt: str, name: str, text: str) -> tuple[int, dict[str, Any]]:
    """Exit code and --json report of `auditready verify` on ``text`` saved as ``name`` (mode 0600)."""
    tmp_path.mkdir(exist_ok=True)
    settings = tmp_path / "auditready.toml"
    settings.write_text("[tool.auditready]\n" + SETTINGS[fmt])
    log = tmp_path / name
    log.write_text(text)
    for p in (settings, log):
        os.chmod(p, 0o600)
    code, stdout, stderr = cli_process(["verify", str(log), "--config", str(settings), "--json", "-"], tmp_path)
    assert code in (0, 1), stderr[-2000:]
    return code, json.loads(stdout)


def _failed(report: dict[str, Any]) -> dict[str, list[str]]:
    """Each failed check's findings, as text."""
    out: dict[str, list[str]] = {}
    for o in report["outcomes"]:
        if o["status"] == "failed":
            out.setdefault(o["check"], []).extend(json.dumps(f) for f in o["findings"])
    return out


def _fixture(tmp_path: Path, rel: str) -> tuple[int, dict[str, Any]]:
    fmt = rel.split("/")[0]
    src = FIXTURES / rel
    return _verify(tmp_path, fmt, src.name, src.read_text())


def _records(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)}, separators=(",", ":"))


def _record(**fields: Any) -> dict[str, Any]:
    """A CloudTrail management event with every field CloudTrail always writes (record contents, eventVersion 1.09),
    then ``fields``."""
    rec: dict[str, Any] = {
        "eventVersion": "1.09", "eventTime": "2024-10-11T08:56:05Z", "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "BatchGetSecretValue", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.17.60", "requestID": "52bd26ff-6fe4-4929-b853-2bda688a84f1",
        "eventID": "283afd25-3625-45e4-b51e-31b0e67963da", "eventType": "AwsApiCall", "readOnly": True,
        "recipientAccountId": "111122223333", "eventCategory": "Management", "responseElements": None,
        "userIdentity": {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                         "arn": "arn:aws:iam::111122223333:user/ops", "accountId": "111122223333",
                         "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "ops"},
    }
    rec.update(fields)
    return rec


@pytest.mark.parametrize("rel", [
    "cloudtrail/batch-get-secret-value.json",  # secretIdList: the secrets' ARNs (was: Secret Keyword)
    "cloudtrail/get-secret-value.json",
    "cloudtrail/send-ssh-public-key.json",  # the public key's "user@host" comment (was: an e-mail address)
    "cloudtrail/user-authentication.json",  # the IAM Identity Center user who signed in (was: an e-mail address)
    "cloudtrail/grafana-saml-user.json",  # Grafana names its SAML caller in additionalEventData (was: an e-mail)
    "cloudtrail/upload-ssh-public-key.json",  # IAM's copy of the key, "Alice@localhost.domain" (was: an e-mail)
    "cloudtrail/create-db-instance.json",  # masterUserPassword: HIDDEN_DUE_TO_SECURITY_REASONS
    "k8s/create-pod-selflink.log",  # the pod's selfLink with its generated name (was: Base64 High Entropy String)
])
def test_real_records_logged_by_design_raise_nothing(tmp_path: Path, rel: str) -> None:
    code, report = _fixture(tmp_path, rel)
    assert _failed(report) == {} and code == 0
    judged = report["files"][0]["checks"]
    assert judged["no_secret_leak"]["judged"] >= 1 and judged["data_minimisation"]["judged"] >= 1


def test_real_session_tag_email_still_fails(tmp_path: Path) -> None:
    """AssumeRole with a session tag whose value is a person's e-mail address: the caller's data, logged as sent."""
    code, report = _fixture(tmp_path, "cloudtrail/assume-role.json")
    failed = _failed(report)
    assert code == 1 and list(failed) == ["data_minimisation"]
    assert "requestParameters.tags.value" in failed["data_minimisation"][0]


def test_iam_user_renamed_to_an_email_is_identity(tmp_path: Path) -> None:
    """IAM UpdateUser (elastic/integrations test-update-user-json.log, with user names that are e-mail addresses, as
    IAM allows): the user it renames, old and new name, is who later records name, as for CreateUser's userName."""
    rec = _record(eventSource="iam.amazonaws.com", eventName="UpdateUser",
                  requestParameters={"userName": "bob@example.com", "newUserName": "robert@example.com"})
    code, report = _verify(tmp_path, "cloudtrail", "rename.json", _records(rec))
    assert _failed(report) == {} and code == 0


def test_saml_principal_tags_are_identity(tmp_path: Path) -> None:
    """AssumeRoleWithSAML (the AWS STS documentation's example record, with an e-mail address as the SAML subject, as
    IAM Identity Center and most IdPs send it): the principalTags the identity provider asserted (Email) name who
    signed in, as roleSessionName, subject and sourceIdentity do."""
    ident = {"type": "SAMLUser", "principalId": "SomeQualifier:jane@example.com", "userName": "jane@example.com",
             "identityProvider": "SomeQualifier"}
    rec = _record(eventSource="sts.amazonaws.com", eventName="AssumeRoleWithSAML", userIdentity=ident,
                  requestParameters={"sAMLAssertionID": "_c0046cEXAMPLEb9d4b8eEXAMPLE2619aEXAMPLE",
                                     "roleSessionName": "jane@example.com",
                                     "principalTags": {"Email": "jane@example.com", "CostCenter": "987654"},
                                     "roleArn": "arn:aws:iam::111122223333:role/SAMLTestRoleShibboleth",
                                     "principalArn": "arn:aws:iam::111122223333:saml-provider/Shibboleth",
                                     "durationSeconds": 3600},
                  responseElements={"subject": "jane@example.com", "subjectType": "transient",
                                    "issuer": "https://server.example.com/idp/shibboleth",
                                    "sourceIdentity": "jane@example.com"})
    code, report = _verify(tmp_path, "cloudtrail", "saml.json", _records(rec))
    assert _failed(report) == {} and code == 0


def test_another_persons_email_in_service_data_still_fails(tmp_path: Path) -> None:
    """additionalEventData repeating the caller (its e-mail in userIdentity) is evidence; another person's address
    there, or the caller's own address in what it sent (a description), is personal data."""
    ident = {"type": "SAMLUser", "userName": "some.user@my.company.com"}
    other = _record(eventSource="grafana.amazonaws.com", eventName="action", userIdentity=ident,
                    additionalEventData={"user": {"name": "someone.else@my.company.com"}})
    code, report = _verify(tmp_path / "other", "cloudtrail", "g.json", _records(other))
    failed = _failed(report)
    assert code == 1 and list(failed) == ["data_minimisation"]
    assert "additionalEventData.user.name" in failed["data_minimisation"][0]
    sent = _record(eventSource="sns.amazonaws.com", eventName="Subscribe", userIdentity=ident,
                   requestParameters={"protocol": "email", "endpoint": "some.user@my.company.com"})
    code, report = _verify(tmp_path / "sent", "cloudtrail", "s.json", _records(sent))
    assert code == 1 and "requestParameters.endpoint" in _failed(report)["data_minimisation"][0]


def test_real_configmap_with_credentials_still_fails(tmp_path: Path) -> None:
    """A ConfigMap whose data holds an AWS secret access key, recorded at level RequestResponse."""
    code, report = _fixture(tmp_path, "k8s/create-configmap-sensitive-values.log")
    failed = _failed(report)
    assert code == 1 and "no_secret_leak" in failed
    assert any("access.properties" in f for f in failed["no_secret_leak"])


@pytest.mark.parametrize("key,value", [
    ("secretIdList", ["prod/app/db-credentials", "MyTestSecret-nxYStj"]),  # Secrets Manager BatchGetSecretValue
    ("secretArn", "prod/app/DbSecret-AbCdEf"),  # RDS / Redshift Data API, a partial ARN
    ("SecretId", "prod/app/db-credentials"),  # Glue, DMS
    ("SecretsManagerSecretId", "prod/app/db-credentials"),
    ("secretArnList", ["arn:aws:secretsmanager:us-east-1:000000000:secret:MyTestSecret-nxYStj"]),
])
def test_secret_identifiers_are_no_secret(tmp_path: Path, key: str, value: Any) -> None:
    """A field that names a secret (its id, name or ARN, or a list of them) holds no secret value."""
    code, report = _verify(tmp_path, "cloudtrail", "ids.json", _records(_record(requestParameters={key: value})))
    assert _failed(report) == {} and code == 0


@pytest.mark.parametrize("key,value,kind", [
    ("secretIdList", ["ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9xC2bV4nM6"], "GitHub Token"),  # a credential's own shape
    ("secretString", "Xk9#pQ2vLw8$zR4tNc6&yB1m", "secretString"),  # a secret's value
    ("secretAccessKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", ""),  # the secret part of a key
    ("sessionToken", "IQoJb3JpZ2luX2VjEB4aCXVzLXdlc3QtMSJHMEUCIQDx7Pn9Zr3sK8mQ2vW5yT1uB4nL6cF0hJ", ""),
])
def test_credentials_under_id_like_keys_still_fail(tmp_path: Path, key: str, value: Any, kind: str) -> None:
    """Only names and ids are let through: a credential's own shape under an id key, and a secret's value, a secret
    access key or a session token outside an STS response, each still fail no_secret_leak at their record."""
    code, report = _verify(tmp_path, "cloudtrail", "leak.json", _records(_record(requestParameters={key: value})))
    failed = _failed(report)
    assert code == 1 and "no_secret_leak" in failed, failed
    assert any(kind in f for f in failed["no_secret_leak"])


def test_id_keys_only_silence_guessing_detectors() -> None:
    """The rule works through the format's name keys: an id key drops the entropy and keyword detectors, never the
    detectors of a credential's own format."""
    with GenericScanner(fmt=FORMATS["cloudtrail"]) as scanner:
        assert scanner.scan_value("secretIdList", "prod/app/DbPassword") == ()
        assert [h.kind for h in scanner.scan_value("secretIdList", "AKIAZ4XQWERTYUIOPLKJ")] == ["AWS Access Key"]
        assert [h.kind for h in scanner.scan_value("secretValue", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9")] == ["Secret Keyword"]


def _pod_event(self_link: str) -> str:
    obj = {"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": self_link.rsplit("/", 1)[-1], "namespace": "default", "selfLink": self_link,
                        "labels": {"app": "web"}}}
    ev = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
          "auditID": "7c8b2603-6a87-4764-b166-49dd7fa46f4c", "stage": "ResponseComplete",
          "requestURI": "/api/v1/namespaces/default/pods", "verb": "create",
          "user": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
          "sourceIPs": ["192.168.99.100"], "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
          "responseStatus": {"metadata": {}, "code": 201}, "responseObject": obj,
          "requestReceivedTimestamp": "2026-01-02T03:04:05.123456Z", "stageTimestamp": "2026-01-02T03:04:05.133456Z"}
    return json.dumps(ev, separators=(",", ":")) + "\n"


def test_k8s_selflink_is_judged_as_a_path(tmp_path: Path) -> None:
    """selfLink is the object's API path, judged segment by segment as requestURI is: a Deployment's generated pod
    name is no secret, a credential in a segment still is."""
    clean = _pod_event("/api/v1/namespaces/default/pods/nginx-deployment-78f5d695bd-nxqz5")
    code, report = _verify(tmp_path / "clean", "k8s", "pod.log", clean)
    assert _failed(report) == {} and code == 0
    dirty = _pod_event("/api/v1/namespaces/default/configmaps/ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9xC2bV4nM6")
    code, report = _verify(tmp_path / "dirty", "k8s", "pod.log", dirty)
    failed = _failed(report)
    assert code == 1 and any("GitHub Token" in f for f in failed["no_secret_leak"])


# The failed console sign-in the AWS documentation shows ("AWS console sign-in events"), with its eventType spelled
# as the page spells it ("AwsConsoleSignin"; records say "AwsConsoleSignIn").
_DOC_FAILED_SIGN_IN = {
    "eventVersion": "1.05", "eventTime": "2014-07-08T17:35:27Z", "eventSource": "signin.amazonaws.com",
    "userIdentity": {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE", "accountId": "111122223333",
                     "arn": "arn:aws:iam::111122223333:user/JaneDoe", "userName": "JaneDoe"},
    "eventName": "ConsoleLogin", "awsRegion": "us-east-2", "sourceIPAddress": "192.0.2.101",
    "userAgent": "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0",
    "errorMessage": "Failed authentication", "requestParameters": None, "responseElements": {"ConsoleLogin": "Failure"},
    "additionalEventData": {"MobileVersion": "No", "LoginTo": "https://console.aws.amazon.com/sns", "MFAUsed": "No"},
    "eventID": "11ea990b-4678-4bcd-8fbe-62509088b7cf", "eventType": "AwsConsoleSignin",
    "recipientAccountId": "111122223333"}


@pytest.mark.parametrize("spelling", ["AwsConsoleSignin", "AwsConsoleSignIn"])
def test_a_failed_sign_in_as_documented_passes(tmp_path: Path, spelling: str) -> None:
    code, report = _verify(tmp_path, "cloudtrail", "signin.json", _records(dict(_DOC_FAILED_SIGN_IN,
                                                                                  eventType=spelling)))
    assert code == 0, _failed(report)


def test_a_record_without_its_event_source_names_it(tmp_path: Path) -> None:
    """eventName names an API only with its eventSource: a record without eventSource lacks its action, and the
    finding says which field is gone (it named eventName, which was there)."""
    rec = {k: v for k, v in _DOC_FAILED_SIGN_IN.items() if k != "eventSource"}
    code, report = _verify(tmp_path, "cloudtrail", "nosource.json", _records(rec))
    assert code == 1
    assert any("eventSource" in f for f in _failed(report)["required_fields"]), _failed(report)
