"""Classes of secrets named by the whole secret, found under the names and prefixes that carry them, and values that
are no secret left alone (red team rt65: F1 private keys and prefix-reporting detectors, F2 legacy recovery tokens,
F3 credentials in container environments, F6 commit ids under tag and release names, F7 ids as a map's keys, F8
personal data found as a secret)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pytest_auditready.auditlog.formats import FORMATS
from pytest_auditready.scan import tokens
from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.known import fingerprint
from pytest_auditready.scan.secrets import GenericScanner
from tests._native_runs import completed

TOKEN_BODY = "aB3dE5fG7hI9jK1lM3nO5pQ7"  # 24 base62 characters, as base62.Random(24) gives them
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"


@pytest.fixture(scope="module")
def k8s() -> Iterator[GenericScanner]:
    with GenericScanner(fmt=FORMATS["k8s"]) as g:
        yield g


@pytest.fixture(scope="module")
def vault() -> Iterator[GenericScanner]:
    with GenericScanner() as g:
        yield g


def _rsa_pkcs1() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _ec_pkcs8() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def _kinds(hits: Any) -> list[tuple[str, str]]:
    return sorted((h.kind, h.fingerprint) for h in hits)


# -- F1: a private key is named by its body, a token by the whole of it --------------------------------------------

def test_each_private_key_is_named_by_its_own_body(vault: GenericScanner) -> None:
    one, two, three = _rsa_pkcs1(), _rsa_pkcs1(), _ec_pkcs8()
    for pem in (one, two, three):
        assert _kinds(vault.scan_value("private_key", pem)) == [("Private Key", fingerprint(_body(pem)))]
    # the same key however its lines end, or escaped once more, is one name
    assert _kinds(vault.scan_value("private_key", one.replace("\n", "\r\n"))) == _kinds(
        vault.scan_value("private_key", one))
    assert _kinds(vault.scan_value("note", one.replace("\n", "\\n"))) == [("Private Key", fingerprint(_body(one)))]


def test_two_private_keys_in_one_value_are_two(vault: GenericScanner) -> None:
    one, two = _rsa_pkcs1(), _rsa_pkcs1()
    assert _kinds(vault.scan_value("bundle", one + two)) == sorted(
        [("Private Key", fingerprint(_body(one))), ("Private Key", fingerprint(_body(two)))])


def test_a_later_key_is_no_accepted_finding(tmp_path: Any) -> None:
    """Two issuances of a PKI role, each key in clear: the second key is its own finding, so accepting the first
    (a baseline fingerprints the message) does not accept it."""
    messages = []
    with LeakScanner({}) as scanner:
        for pem in (_rsa_pkcs1(), _rsa_pkcs1()):
            line = json.dumps({"time": "2026-11-30T08:00:00.123456789Z", "type": "response",
                               "request": {"id": str(uuid.uuid4()), "operation": "update", "path": "pki/issue/web"},
                               "response": {"data": {"private_key": pem, "private_key_type": "rsa"}}})
            hits = scanner.scan_block(line.encode(), 1)
            messages.append([(g.kind, g.fingerprint) for h in hits for g in h.generic])
    assert len(messages[0]) == len(messages[1]) == 1 and messages[0] != messages[1]


def test_tokens_a_detector_reports_by_prefix_are_named_whole(vault: GenericScanner) -> None:
    a = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    b = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    assert _kinds(vault.scan_value("note", f"rotated {a} for {b}")) == sorted(
        [("GitHub Token", fingerprint(a)), ("GitHub Token", fingerprint(b))])
    gl = "glsoat-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    assert _kinds(vault.scan_value("note", f"uses {gl} now")) == [("GitLab Token", fingerprint(gl))]


# -- F2: a legacy recovery token ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [f"r.{TOKEN_BODY}", f"break-glass r.{TOKEN_BODY}", f"secret/breakglass/r.{TOKEN_BODY}",
                                  f"deploy_r.{TOKEN_BODY}", "r.ABCDEFGHijklmnopQRSTuvwx"])
def test_a_legacy_recovery_token_is_a_vault_token(text: str) -> None:
    token = text[text.index("r."):]
    assert list(tokens.find(text)) == [("Vault Token", token)]


@pytest.mark.parametrize("text", ["r.someLongCamelCaseNameXyz", "see r.abcdefghijklmnopqrstuvwx", "r.getHttpConnectionPools",
                                  f"r.{TOKEN_BODY}x", f"foo.r.{TOKEN_BODY}", "path/r.ABCDEFGHIJKLMNOPQRSTUVWX"])
def test_words_after_r_dot_are_no_token(text: str) -> None:
    assert list(tokens.find(text)) == []


def test_a_recovery_token_is_masked_in_every_report() -> None:
    from pytest_auditready.report.common import masked_tokens

    token = f"r.{TOKEN_BODY}"
    shown = masked_tokens(f"secret/data/breakglass/{token}")
    assert token not in shown and shown == f"secret/data/breakglass/<Vault Token sha256 {fingerprint(token)}>"


def test_a_recovery_token_is_found_at_its_line() -> None:
    token = f"r.{TOKEN_BODY}"
    line = json.dumps({"time": "2026-11-30T08:00:00.123456789Z", "type": "response",
                       "auth": {"client_token": "hmac-sha256:" + "ab" * 32, "metadata": {"recovery": token}},
                       "request": {"id": str(uuid.uuid4()), "operation": "update", "path": "auth/token/create"}})
    with LeakScanner({}) as scanner:
        hits = scanner.scan_block(("{}\n" + line).encode(), 1)
    assert [(h.line, [(g.kind, g.fingerprint) for g in h.generic]) for h in hits] == [
        (2, [("Vault Token", fingerprint(token))])]


# -- F3: credentials in container environments ---------------------------------------------------------------------

ENV_CREDENTIALS = [("RABBITMQ_DEFAULT_PASS", "Winter2026!Spring"), ("SMTP_PASS", "Zq7vXw4Lp9"),
                   ("REDIS_AUTH", "Winter2026!Spring"), ("JWT_SIGNING_KEY", "Winter2026!Spring"),
                   ("ENCRYPTION_KEY", "Winter2026!Spring"), ("MASTER_KEY", "Mk7pQ2xZ9rT4"),
                   ("LDAP_BIND_CREDENTIALS", "Winter2026!Spring"), ("CREDENTIALS", "app:Winter2026!Spring"),
                   ("RABBITMQ_ERLANG_COOKIE", "QWERTYUIOPASDFGHJKLZ"), ("SMTP_PASS", "changeme")]


@pytest.mark.parametrize(("name", "value"), ENV_CREDENTIALS)
def test_a_credential_under_an_environment_name_is_found(k8s: GenericScanner, name: str, value: str) -> None:
    assert _kinds(k8s.scan_value(name, value)) == [("Secret Keyword", fingerprint(value))]


@pytest.mark.parametrize("text", ["base64:CiNdHYDCl5OdHctfJudzw7xWaBcZG6PY/wWNM3JaSL4=", "APP_KEY=base64:"
                                  "CiNdHYDCl5OdHctfJudzw7xWaBcZG6PY/wWNM3JaSL4=\nAPP_ENV=production"])
def test_a_prefixed_random_key_is_found(k8s: GenericScanner, text: str) -> None:
    payload = "CiNdHYDCl5OdHctfJudzw7xWaBcZG6PY/wWNM3JaSL4="
    assert ("Application Key", fingerprint(payload)) in _kinds(k8s.scan_value("APP_KEY", text))


@pytest.mark.parametrize("text", ["base64:SGVsbG8gd29ybGQgaG93IGFyZSB5b3UgdG9kYXk=", "base64:c2hvcnQ=",
                                  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"])
def test_base64_of_text_or_data_is_no_key(text: str) -> None:
    assert list(tokens.find(text)) == []


@pytest.mark.parametrize("text", ["app/Winter2026!Spring@//db.example.com:1521/ORCLPDB1",
                                  "sqlplus app/Winter2026!Spring@db.example.com:1521/ORCLPDB1",
                                  "jdbc:oracle:thin:app/Winter2026!Spring@//db:1521/X"])
def test_an_oracle_connect_string_password_is_found(k8s: GenericScanner, text: str) -> None:
    assert ("Connect String Password", fingerprint("Winter2026!Spring")) in _kinds(k8s.scan_value("ORACLE_CONN", text))


BENIGN_ENV = [("GPG_SIGNING_KEY", "gpg-2024-release"), ("SIGNING_KEY", "/keys/sign.pem"), ("SIGNING_KEY", "sign.pem"),
              ("ENCRYPTION_KEY", "alias/app-key"), ("MASTER_KEY", "key-2024-01"), ("DB_PASSWORD_FILE", "/run/secrets/db"),
              ("SMTP_PASS", "${SMTP_PASS}"), ("SMTP_PASS", "<password>"), ("SMTP_PASS", "********"),
              ("CACHE_KEY", "Users2026Cache"), ("PRIMARY_KEY", "user_id_2026"), ("BYPASS", "Enabled2026"),
              ("IMAGE", "ghcr.io/acme/web@sha256:9f8e7d6c"), ("ACTION", "uses actions/checkout@v4"),
              ("GOFLAGS", "golang.org/x/mod@v0.1.0"), ("auth", "kubernetes"), ("credentials", "default")]


@pytest.mark.parametrize(("name", "value"), BENIGN_ENV)
def test_what_real_producers_put_under_such_names_is_none(k8s: GenericScanner, name: str, value: str) -> None:
    assert k8s.scan_value(name, value) == ()


def _pod(env: list[dict[str, Any]]) -> str:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "app"},
           "spec": {"containers": [{"name": "web", "image": "ghcr.io/acme/web:1.2.3", "env": env}]}}
    t = "2026-11-30T10:00:00.123456Z"
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request", "auditID": str(uuid.uuid4()),
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/app/pods", "verb": "create",
        "user": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl/v1.30.1",
        "objectRef": {"resource": "pods", "namespace": "app", "name": "web", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj,
        "requestReceivedTimestamp": t, "stageTimestamp": t}, separators=(",", ":"))


def test_a_pod_env_credential_is_found_at_its_line_and_a_reference_is_not() -> None:
    clean = _pod([{"name": "SMTP_PASS", "valueFrom": {"secretKeyRef": {"name": "smtp", "key": "password"}}},
                  {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}, {"name": "SMTP_PASS", "value": ""},
                  {"name": "IMAGE_TAG", "value": COMMIT}, {"name": "SENTRY_RELEASE", "value": COMMIT}])
    leak = _pod([{"name": "RABBITMQ_DEFAULT_PASS", "value": "Winter2026!Spring"},
                 {"name": "APP_KEY", "value": "base64:CiNdHYDCl5OdHctfJudzw7xWaBcZG6PY/wWNM3JaSL4="}])
    with LeakScanner({}, fmt=FORMATS["k8s"]) as scanner:
        assert scanner.judge_line(1, clean.encode()) is None
        hits = scanner.judge_line(2, leak.encode())
    assert hits is not None and sorted((g.kind, g.key) for g in hits.generic) == [
        ("Application Key", "APP_KEY"), ("Secret Keyword", "RABBITMQ_DEFAULT_PASS")]


@pytest.mark.parametrize("env", [[{"name": "SMTP_PASS", "value": "Zq7vXw4Lp9"}],
                                 [{"value": "Zq7vXw4Lp9", "name": "REDIS_AUTH"}]])
def test_a_pod_env_credential_reaches_the_judge(env: list[dict[str, Any]]) -> None:
    with LeakScanner({}, fmt=FORMATS["k8s"]) as scanner:
        hits = scanner.scan_block(_pod(env).encode(), 1)
    assert [(h.line, [g.key for g in h.generic]) for h in hits] == [(1, [env[0]["name"]])]


# -- F6: a commit id under a tag, release or ref name -------------------------------------------------------------

def _cloudtrail(event: str, source: str, params: dict[str, Any]) -> str:
    return json.dumps({"Records": [{
        "eventVersion": "1.09", "eventTime": "2026-11-30T10:00:00Z", "eventSource": source, "eventName": event,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/ci", "accountId": "123456789012"},
        "requestParameters": params, "responseElements": None, "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}]},
        separators=(",", ":"))


@pytest.mark.parametrize(("event", "source", "params"), [
    ("CreateStack", "cloudformation.amazonaws.com",
     {"stackName": "web", "parameters": [{"parameterKey": "ImageTag", "parameterValue": COMMIT}]}),
    ("StartBuild", "codebuild.amazonaws.com",
     {"projectName": "web", "environmentVariablesOverride": [
         {"name": "IMAGE_TAG", "value": COMMIT, "type": "PLAINTEXT"},
         {"name": "VCS_REF", "value": COMMIT, "type": "PLAINTEXT"}]}),
    ("TagResource", "ecr.amazonaws.com", {"tags": [{"key": "release", "value": COMMIT}, {"key": "tag", "value": COMMIT}]}),
])
def test_a_commit_id_under_a_tag_or_release_name_is_none(event: str, source: str, params: dict[str, Any]) -> None:
    with LeakScanner({}, fmt=FORMATS["cloudtrail"]) as scanner:
        assert scanner.scan_block(_cloudtrail(event, source, params).encode(), 1) == []


def test_forty_hex_under_a_credential_name_is_still_found() -> None:
    params = {"projectName": "web", "environmentVariablesOverride": [
        {"name": "GITHUB_TOKEN", "value": COMMIT, "type": "PLAINTEXT"}]}
    with LeakScanner({}, fmt=FORMATS["cloudtrail"]) as scanner:
        hits = scanner.scan_block(_cloudtrail("StartBuild", "codebuild.amazonaws.com", params).encode(), 1)
    assert [(g.key, g.fingerprint) for h in hits for g in h.generic] == [("GITHUB_TOKEN", fingerprint(COMMIT))]


# -- F7: an id as a map's key -------------------------------------------------------------------------------------

PGP_PUBLIC = ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGSJdlABEAC7p0Vx3W2n8P2o6bH4ZJ1s9vM0tFhYq3kR8eXcT5uL2wQ\n"
              "=Xk9q\n-----END PGP PUBLIC KEY BLOCK-----\n")


@pytest.mark.parametrize("value", [PGP_PUBLIC, "hello world", "4AEE18F83AFDEB23 is our release key"])
def test_an_id_as_a_key_is_not_judged_as_its_value(k8s: GenericScanner, value: str) -> None:
    assert k8s.scan_value("4AEE18F83AFDEB23", value) == ()


def test_a_secret_under_an_id_key_is_still_found(k8s: GenericScanner) -> None:
    secret = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee"
    assert _kinds(k8s.scan_value("4AEE18F83AFDEB23", secret)) == [("Hex High Entropy String", fingerprint(secret))]


# -- F8: personal data found as a secret gets no fingerprint ------------------------------------------------------

def test_personal_data_found_as_a_secret_has_no_fingerprint(tmp_path: Any) -> None:

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hr", "namespace": "app"},
           "data": {"note": "AB123456C", "token_hint": "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee"}}
    t = "2026-11-30T10:00:00.123456Z"
    line = json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request", "auditID": str(uuid.uuid4()),
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/app/configmaps", "verb": "create",
        "user": {"username": "alice", "groups": ["system:authenticated"]}, "sourceIPs": ["10.0.0.5"],
        "objectRef": {"resource": "configmaps", "namespace": "app", "name": "hr", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj,
        "requestReceivedTimestamp": t, "stageTimestamp": t})
    log = tmp_path / "audit.log"
    log.write_text(line + "\n")
    log.chmod(0o600)
    out = tmp_path / "r.json"
    proc = completed(["verify", str(log), "--json", str(out)], timeout=120)
    assert proc.returncode == 1, proc.stderr
    text = out.read_text()
    report = json.loads(text)
    leaks = [f["message"] for o in report["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]]
    assert sorted(leaks) == sorted([
        "A value under key 'note' looks like a Hex High Entropy String (personal data: no fingerprint, "
        "data_minimisation shows it masked).",
        "A value under key 'token_hint' looks like a Hex High Entropy String (sha256 "
        f"{fingerprint('9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee')}).",
    ]), leaks
    assert fingerprint("AB123456C") not in text + proc.stdout


@pytest.mark.parametrize(("name", "value", "found"), [
    ("REGISTRY_AUTH", "htpasswd", False),  # the docker-registry chart, Docker's registry docs
    ("KAFKA_TLS_CLIENT_AUTH", "requested", False),  # Bitnami's Kafka image
    ("MINIO_AUDIT_KAFKA_TLS_CLIENT_AUTH", "VerifyClientCertIfGiven", False),  # MinIO
    ("KAFKA_SASL_AUTH", "SCRAM-SHA-512", False),
    ("REDIS_AUTH", "Zq7vXw4Lp9", True),
    ("REGISTRY_AUTH", "ci:Wint3r!Spring", True),
])
def test_a_name_ending_in_auth_is_a_credential_only_with_a_credentials_value(name: str, value: str,
                                                                           found: bool) -> None:
    """An environment variable ending in _AUTH holds a mode as often as a password (red team rt69 F4: three real
    charts' modes failed as leaked credentials): only a value that reads as a credential is one."""
    with LeakScanner({}, fmt=FORMATS["k8s"]) as scanner:
        hits = scanner.scan_block(_pod([{"name": name, "value": value}]).encode(), 1)
    assert bool(hits) is found, hits
    assert not found or [(g.kind, g.key) for h in hits for g in h.generic] == [("Secret Keyword", name)]
