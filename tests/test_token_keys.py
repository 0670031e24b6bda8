"""A token under a key that names one is a leak however short: an environment variable of a Pod or an ECS task
({"name":"API_TOKEN","value":"..."}), a JSON configuration inside a ConfigMap ({"authToken":"..."}), a custom
resource's field ("accessToken":"..."). detect-secrets' keyword detector names passwords, secrets and API keys but
not tokens, so such a value passed when it was too short for the entropy detectors. Paging cursors, idempotency and
grant tokens, HMAC digests, references, masks, switches ("enabled"), a message with spaces and a key that names a
token over an object stay clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from pytest_auditready.scan.secrets import GenericScanner
from tests._native_runs import completed
from tests.conftest import remember_secret
from tests.test_url_passwords import ROOT, leak_lines

# Each a credential of its own, remembered: no output may show one.
SECRETS = ["Zq7vXw4ApiTk", "Zq7vXw4GhTk", "Zq7vXw4AuthTk", "Zq7vXw4AccTk", "Zq7vXw4EcsTk", "Zq7vXw4Refresh"]
for _s in SECRETS:
    remember_secret(_s)


def _pod(env: list[dict[str, Any]], n: int = 0) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": f"app-{n}"},
            "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1", "env": env}]}}


def _config_map(doc: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "app"},
            "data": {"config.json": json.dumps(doc, indent=2)}}


def _custom(spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Notifier", "apiVersion": "example.com/v1", "metadata": {"name": "app"}, "spec": spec}


LEAKS = [
    _pod([{"name": "LOG_LEVEL", "value": "info"}, {"name": "API_TOKEN", "value": SECRETS[0]}]),
    _pod([{"value": SECRETS[1], "name": "GITHUB_TOKEN"}]),  # the value first
    _config_map({"url": "https://hooks.example.com", "authToken": SECRETS[2]}),  # JSON inside a string
    _custom({"endpoint": "https://api.example.com", "accessToken": SECRETS[3]}),
    _custom({"oauth": {"refresh_token": SECRETS[5]}}),
]
CLEAN = [
    _pod([{"name": "KUBE_TOKEN", "value": "enabled"}, {"name": "TOKEN_TTL", "value": "3600"},
          {"name": "SA_TOKEN", "value": "/var/run/secrets/tokens/vault"}, {"name": "TOKEN", "value": "$(TOKEN_FILE)"},
          {"name": "VAULT_TOKEN", "valueFrom": {"secretKeyRef": {"name": "vault", "key": "token"}}},
          {"name": "GH_TOKEN", "value": ""}, {"name": "ID_TOKEN", "value": "${ID_TOKEN}"}]),
    _config_map({"nextToken": "AAAABBBBCCCCDDDD", "paginationToken": "eyJwIjoyfQ", "grantToken": "AQpAM2Rh",
                 "clientRequestToken": "a1b2c3d4-e5f6", "nextForwardToken": "f/3712", "$skipToken": "page-2"}),
    _custom({"token": "hmac-sha256:" + "ab" * 32, "authToken": "********", "sessionToken": "<redacted>",
             "serviceAccountToken": {"expirationSeconds": 3607, "audience": "vault"}, "token_type": "Bearer"}),
    _custom({"idToken": "true", "bearerToken": "none", "csrf_token": "{{ .Values.csrf }}"}),
]


def _event(obj: dict[str, Any], n: int, base: dict[str, Any]) -> str:
    event = dict(base, level="RequestResponse", auditID=f"00000000-0000-4000-8000-{n:012d}", requestObject=obj)
    return json.dumps(event, separators=(",", ":"))


def events(leaks: list[dict[str, Any]], clean: list[dict[str, Any]]) -> tuple[list[str], set[int]]:
    """A real Kubernetes log with one RequestResponse event after it for each object, leaks first: its lines, and
    the numbers of the leaks' lines."""
    lines, base = _base()
    leaky = set()
    for n, obj in enumerate(leaks + clean):
        lines.append(_event(obj, n, base))
        if n < len(leaks):
            leaky.add(len(lines))
    return lines, leaky


def _base() -> tuple[list[str], dict[str, Any]]:
    src = (ROOT / "k8s/real/correct.log").read_text().splitlines()
    return src, json.loads(src[3])


@pytest.fixture(scope="module")
def generic():
    with GenericScanner() as g:
        yield g


@pytest.mark.parametrize("key", ["API_TOKEN", "authToken", "access_token", "x-amz-security-token", "Token"])
def test_a_value_under_a_key_that_names_a_token_is_a_secret_keyword(generic, key: str) -> None:
    assert {h.kind for h in generic.scan_value(key, "Zq7vXw4Short")} == {"Secret Keyword"}


@pytest.mark.parametrize(("key", "value"), [
    ("nextToken", "Zq7vXw4Short"), ("NextContinuationToken", "Zq7vXw4Short"), ("sequenceToken", "4963"),
    ("api_token", "hmac-sha256:" + "cd" * 32), ("api_token", "not yet issued"), ("api_token", "default"),
    ("tokens", "Zq7vXw4Short"), ("token_ttl", "Zq7vXw4Short"), ("api_token", "abc"),
])
def test_cursors_digests_prose_and_other_keys_are_no_token(generic, key: str, value: str) -> None:
    assert generic.scan_value(key, value) == ()


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_token_at_its_line_and_nothing_else(tmp_path: Path, pure: bool) -> None:
    """A real Kubernetes audit log with one RequestResponse event for each case: a no_secret_leak finding at each
    leak's line and at no other; no token reaches the output."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    lines, leaky = events(LEAKS, CLEAN)
    base = _base()[1]
    stale = dict(base, auditID="00000000-0000-4000-8000-999999999999", annotations={
        "authentication.k8s.io/stale-token": "subject: system:serviceaccount:default:app, seconds after warning "
                                             "threshold: 120"})
    lines.append(json.dumps(stale, separators=(",", ":")))
    found, shown = leak_lines(tmp_path, "k8s.log", "\n".join(lines) + "\n", pure)
    assert found == leaky, (found, leaky)
    assert not any(v in shown for v in SECRETS)


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_an_ecs_task_definitions_environment_token_in_cloudtrail_is_found(tmp_path: Path, pure: bool) -> None:
    """CloudTrail logs RegisterTaskDefinition's container definitions as sent, their environment included: a token
    there is found at its record; a paginated DescribeTaskDefinition's nextToken beside it is not."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    rec = json.loads((ROOT / "real-cloud/cloudtrail/get-secret-value.json").read_text())["Records"][0]
    leak = dict(rec, eventSource="ecs.amazonaws.com", eventName="RegisterTaskDefinition", readOnly=False,
                eventID="00000000-0000-4000-8000-000000000001", requestParameters={
                    "family": "app", "containerDefinitions": [{"name": "app", "image": "app:1", "environment": [
                        {"name": "STAGE", "value": "prod"}, {"name": "SLACK_TOKEN", "value": SECRETS[4]}]}]})
    clean = dict(rec, eventSource="ecs.amazonaws.com", eventName="ListTaskDefinitions",
                 eventID="00000000-0000-4000-8000-000000000002",
                 requestParameters={"familyPrefix": "app", "nextToken": "AAAABBBBCCCCDDDDzz"})
    config = tmp_path / "auditready.toml"
    config.write_text("[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\ntimestamp_digits = 0\n")
    text = json.dumps({"Records": [clean, leak]}, indent=2)
    found, shown = leak_lines(tmp_path, "trail.json", text, pure, config)
    assert len(found) == 1  # one record of two (a CloudTrail file's records are numbered by their line)
    assert SECRETS[4] not in shown


def _aws_record(**fields: Any) -> dict[str, Any]:
    rec = json.loads((ROOT / "real-cloud/cloudtrail/get-secret-value.json").read_text())["Records"][0]
    return dict(rec, readOnly=False, **fields)


# Records as the AWS documentation shows them, each with a value under a key that names a token, a password or a
# secret without being one: what the token's subject is (every EKS pod with an IAM role writes such an
# AssumeRoleWithWebIdentity record), a root password change's result, an RDS-managed secret's state, CodeBuild
# environment variables that name where the secret is kept.
DOCUMENTED_CLEAN = [
    _aws_record(eventSource="sts.amazonaws.com", eventName="AssumeRoleWithWebIdentity",
                eventID="00000000-0000-4000-8000-000000000011",
                responseElements={"provider": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.amazonaws.com/id/X",
                                  "subjectFromWebIdentityToken": "system:serviceaccount:prod:app",
                                  "audience": "sts.amazonaws.com"}),
    _aws_record(eventSource="sts.amazonaws.com", eventName="AssumeRoleWithWebIdentity",
                eventID="00000000-0000-4000-8000-000000000012",
                responseElements={"provider": "accounts.google.com", "subjectFromWebIdentityToken":
                                  "113632458324056836621", "audience": "448771483088-25fslbvr9thm.apps.example"}),
    _aws_record(eventSource="signin.amazonaws.com", eventName="PasswordUpdated", eventType="AwsConsoleSignIn",
                eventID="00000000-0000-4000-8000-000000000013", requestParameters=None,
                responseElements={"PasswordUpdated": "Success"}),
    _aws_record(eventSource="rds.amazonaws.com", eventName="CreateDBInstance",
                eventID="00000000-0000-4000-8000-000000000014",
                requestParameters={"dBInstanceIdentifier": "db1", "manageMasterUserPassword": True},
                responseElements={"dBInstanceIdentifier": "db1", "masterUserSecret": {
                    "secretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-0a1b-Xy7Qa2",
                    "secretStatus": "creating"}}),
    _aws_record(eventSource="codebuild.amazonaws.com", eventName="CreateProject",
                eventID="00000000-0000-4000-8000-000000000015",
                requestParameters={"name": "build", "environment": {"environmentVariables": [
                    {"name": "DB_PASSWORD", "type": "SECRETS_MANAGER", "value": "prod/db:password"},
                    {"name": "NPM_TOKEN", "type": "PARAMETER_STORE", "value": "ci-npm-token"}]}}),
]


@pytest.mark.parametrize("rec", DOCUMENTED_CLEAN, ids=["irsa", "google", "root-password", "rds", "codebuild"])
def test_documented_records_about_a_credential_raise_nothing(tmp_path: Path, rec: dict[str, Any]) -> None:
    config = tmp_path / "auditready.toml"
    config.write_text("[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\ntimestamp_digits = 0\n")
    log = tmp_path / "trail.json"
    log.write_text(json.dumps({"Records": [rec]}))
    log.chmod(0o600)
    out = tmp_path / "out.json"
    proc = completed(["verify", str(log), "--config", str(config), "--json", str(out)], timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_password_under_a_key_about_one_is_still_found(generic) -> None:
    """Only a state, a result, a number or a time is what a key about a credential holds: anything else under it is
    judged as before."""
    assert {h.kind for h in generic.scan_value("passwordStatus", "Zq7vXw4!pw")} == {"Secret Keyword"}
    assert generic.scan_value("PasswordUpdated", "Success") == ()
