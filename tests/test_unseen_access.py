""""Who saw that secret?" on every producer, including the requests that never name the secret.

A Kubernetes list or watch of a namespace's Secrets returns every one of them, data included, with no name in its
URI; a Secrets Manager BatchGetSecretValue by filter, an SSM GetParametersByPath, every secret they take in; a secret
is named by its name, its partial ARN or its full ARN with a random suffix. Before, `auditready access` matched
PATTERN against the request's URI or first resource only: each of these readers was missing from the answer (a
false "nobody saw it"), a Kubernetes event logged twice counted twice, an SSM parameter (its name starts with "/")
matched no pattern, and `access_policy` skipped every log but Vault's. Each answer below is asserted whole.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, Outcome
from pytest_auditready.config import AccessRule, Settings, load, read_toml
from pytest_auditready.engine.files import verify_file
from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed
from tests.conftest import assert_no_secret, load_script, log_copy, remember_secret

ACCESS = Path(__file__).resolve().parents[1] / "fixtures" / "access"
K8S, SM, SSM = ACCESS / "k8s.log", ACCESS / "secretsmanager.json", ACCESS / "ssm.json"
DB = "api/v1/namespaces/prod/secrets/db"
COLLECTION = "api/v1/namespaces/prod/secrets"
IAM = "arn:aws:iam::111122223333:user/"
# its session carries sessionContext.sourceIdentity "alice", named with it (red team rt94, F12)
APP_ROLE = "arn:aws:sts::111122223333:assumed-role/app-role/app-session (source identity alice)"
SM_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
PARTIAL = SM_ARN + "prod/db"  # how every read of the secret is shown, whichever way the caller named it
IN_PROD = "all secrets in namespace prod"


def access(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    return completed(["access", *args], cwd)  # a fork of the verify server (tests/_native_runs.py)


def answer(pattern: str, *logs: Path) -> dict[str, Any]:
    r = access(pattern, *map(str, logs), "--json", "-")
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def shape(doc: dict[str, Any]) -> dict[str, Any]:
    """Per identity: (requests, denied, unnamed), operations -> [requests, denied], paths -> requests, and what the
    requests that named no secret saw -> [requests, denied]."""
    out = {}
    for i in doc["identities"]:
        out[i["display_name"]] = (
            (i["requests"], i["denied"], i["unnamed"]),
            {op: [c["requests"], c["denied"]] for op, c in i["operations"].items()},
            i["paths"],
            {what: [c["requests"], c["denied"]] for what, c in i["scopes"].items()})
    return out


def test_the_fixtures_are_built_from_the_producer_fixtures() -> None:
    built = load_script(ACCESS / "build.py", "access_fixtures").files()
    assert {name: (ACCESS / name).read_text() for name in built} == built


# -- Kubernetes -----------------------------------------------------------------------------------------------------
K8S_DB = {
    "system:serviceaccount:prod:app": ((1, 0, 0), {"get": [1, 0]}, {DB: 1}, {}),  # 3 events of one request
    "system:serviceaccount:ci:deployer": ((1, 0, 1), {"list": [1, 0]}, {COLLECTION: 1}, {IN_PROD: [1, 0]}),
    "system:serviceaccount:monitoring:agent": ((1, 0, 1), {"watch": [1, 0]}, {COLLECTION: 1}, {IN_PROD: [1, 0]}),
    "jane@example.com": ((1, 0, 0), {"list": [1, 0]}, {DB: 1}, {}),  # fieldSelector=metadata.name=db
    "carol@example.com": ((1, 0, 1), {"list": [1, 0]}, {COLLECTION: 1}, {
        "the secrets in namespace prod matching labelSelector app.kubernetes.io/name=db, which ones the log does "
        "not say": [1, 0]}),
    "system:serviceaccount:kube-system:backup": ((1, 0, 1), {"list": [1, 0]}, {"api/v1/secrets": 1},
                                                 {"all secrets in the cluster": [1, 0]}),
    "eve@example.com": ((1, 1, 1), {"list": [1, 1]}, {COLLECTION: 1}, {IN_PROD: [1, 1]}),  # 403: an attempt
    "frank@example.com": ((1, 0, 0), {"watch": [1, 0]}, {DB: 1}, {}),  # /api/v1/watch/namespaces/prod/secrets/db
    "grace@example.com": ((1, 0, 0), {"get": [1, 0]}, {DB: 1}, {}),  # RequestReceived, then Panic: one request
    "admin@example.com as system:serviceaccount:prod:app": ((1, 0, 0), {"get": [1, 0]}, {DB: 1}, {}),
    "terraform@example.com": ((1, 0, 0), {"create": [1, 0]}, {DB: 1}, {}),  # posted to the collection
}


def test_kubernetes_every_request_that_saw_the_secret_named_or_not() -> None:
    """Not in the answer: bob's list narrowed to another Secret, dave's list of namespace dev, the list of
    ConfigMaps, and the `kubectl exec` that ran `cat` on a mounted file (not an API read of the Secret)."""
    doc = answer(DB, K8S)
    assert shape(doc) == K8S_DB
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (11, 1, 5)
    assert [i["display_name"] for i in doc["identities"]][-1] == "terraform@example.com"  # by requests, then name


@pytest.mark.parametrize(("query", "named", "scoped"), [
    ("fieldSelector=metadata.name%3Ddb&limit=500", False, True),  # kubectl get secrets -A --field-selector ...
    ("fieldSelector=metadata.name%3Ddb%2Cmetadata.namespace%3Dprod", True, False),
    ("fieldSelector=metadata.name%3Ddb%2Cmetadata.namespace%3Ddev", False, False),
    ("fieldSelector=metadata.name%3Dpayments", False, False),
])
def test_a_list_by_name_across_the_cluster_reaches_that_name_in_every_namespace(query: str, named: bool,
                                                                                 scoped: bool) -> None:
    """The API server answers a cluster-wide list narrowed by metadata.name with the object of that name in every
    namespace (Kubernetes "Field Selectors": every resource type supports metadata.name and metadata.namespace).
    It was taken for the object api/v1/secrets/db, which no namespaced PATTERN names: the reader was missing
    (red team rt29, F3). With metadata.namespace too, it names the one object."""
    reach = ap.k8s_reach(f"/api/v1/secrets?{query}", "list")
    got_named, got_wide = ap.PathMatch([DB]).reached(reach)
    assert (bool(got_named), got_wide) == (named, scoped), reach
    if scoped:
        assert reach.scope == "the secrets named db in every namespace"
        assert ap.PathMatch(["api/v1/namespaces/+/secrets/db"]).reached(reach)[1]


def test_kubernetes_the_text_says_who_saw_every_secret_of_the_namespace() -> None:
    r = access(DB, str(K8S))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"auditready access {DB}: 11 requests (1 denied, 5 named no secret but saw them) by 11 identities" in out
    lines = out[out.index("not by name"):].splitlines()
    assert lines[1:6] == [
        "  carol@example.com saw the secrets in namespace prod matching labelSelector app.kubernetes.io/name=db, "
        "which ones the log does not say (1 request, none named it)",
        "  eve@example.com tried to see all secrets in namespace prod (1 request, refused)",
        "  system:serviceaccount:ci:deployer saw all secrets in namespace prod (1 request, none named it)",
        "  system:serviceaccount:kube-system:backup saw all secrets in the cluster (1 request, none named it)",
        "  system:serviceaccount:monitoring:agent saw all secrets in namespace prod (1 request, none named it)"]


def test_kubernetes_patterns_over_the_namespace_and_the_collection() -> None:
    # another Secret of prod: the unnamed lists saw it too, the reads by name of db did not; bob's list did
    other = shape(answer("api/v1/namespaces/prod/secrets/payments", K8S))
    assert set(other) == {"system:serviceaccount:ci:deployer", "system:serviceaccount:monitoring:agent",
                          "carol@example.com", "system:serviceaccount:kube-system:backup", "eve@example.com",
                          "bob@example.com"}
    assert other["bob@example.com"][2] == {"api/v1/namespaces/prod/secrets/payments": 1}
    # the collection itself named: its lists and watches, not the reads of one Secret by name
    coll = shape(answer(COLLECTION, K8S))
    assert set(coll) == {"system:serviceaccount:ci:deployer", "system:serviceaccount:monitoring:agent",
                         "carol@example.com", "system:serviceaccount:kube-system:backup", "eve@example.com"}
    # a Secret of namespace dev: only the cluster-wide list and dave's list of dev
    dev = shape(answer("api/v1/namespaces/dev/secrets/db", K8S))
    assert set(dev) == {"system:serviceaccount:kube-system:backup", "dave@example.com"}
    # the exec is a request on the pod: answered when the pod is asked about, never as a Secret read
    pod = shape(answer("api/v1/namespaces/prod/pods/*", K8S))
    assert pod == {"admin@example.com": ((1, 0, 0), {"create": [1, 0]}, {
        "api/v1/namespaces/prod/pods/app-7d9f8b6c5d-x7k2p/exec": 1}, {})}


K8S_RULE = AccessRule("prod db", (DB,), ("read",), ("system:serviceaccount:prod:app",))


def outcome(path: Path, *rules: AccessRule) -> Outcome:
    return verify_file(str(path), Settings(access=rules), [ap.CHECK], {}).outcomes[0]


def test_access_policy_judges_kubernetes_lists_as_reads_of_each_secret() -> None:
    """A list of the namespace's Secrets by an identity the rule does not allow breaks a rule on one of them.
    Refused (403): eve. Allowed: the app's get. Not a read: the create, the exec, the other lists."""
    out = outcome(K8S, K8S_RULE)
    assert out.status == FAILED
    got = [(f.where.rsplit(":", 1)[1], f.message.split(" breaks ")[0]) for f in out.findings]
    assert got == [
        ("4", f"list of {COLLECTION} by system:serviceaccount:ci:deployer (it named no secret; its answer held "
              f"{IN_PROD})"),
        ("7", f"watch of {COLLECTION} by system:serviceaccount:monitoring:agent (it named no secret; its answer "
              f"held {IN_PROD})"),
        ("8", f"list of {DB} by jane@example.com"),
        ("10", f"list of {COLLECTION} by carol@example.com (it named no secret; its answer held the secrets in "
               "namespace prod matching labelSelector app.kubernetes.io/name=db, which ones the log does not say)"),
        ("11", "list of api/v1/secrets by system:serviceaccount:kube-system:backup (it named no secret; its answer "
               "held all secrets in the cluster)"),
        ("14", f"watch of {DB} by frank@example.com"),
        ("17", f"get of {DB} by grace@example.com"),
        # impersonation: the one who sent it (admin) is not allowed, whoever it acted as
        ("18", f"get of {DB} by admin@example.com as system:serviceaccount:prod:app"),
    ]
    assert all("RBAC" in f.fix for f in out.findings)
    # each request judged once: the app's three events, the watch's three stages, grace's two
    assert out.tally.excused == (("a Kubernetes event of a request judged at another stage (its last one)", 5),)
    # the sender allowed by name covers what it sent as another user
    admin = AccessRule("prod db", (DB,), ("read",), ("system:serviceaccount:prod:app", "admin@example.com"))
    assert [f.where.rsplit(":", 1)[1] for f in outcome(K8S, admin).findings] == [g[0] for g in got[:-1]]


def test_access_policy_passes_a_kubernetes_log_its_rule_allows() -> None:
    everyone = AccessRule("prod db", (DB,), ("read",), ("*",))
    out = outcome(K8S, everyone)
    assert out.status == "passed", [f.text() for f in out.findings]
    assert "9 requests let through" in out.reason and "1 more refused" in out.reason, out.reason


# -- CloudTrail: Secrets Manager ----------------------------------------------------------------------------------
SM_DB = {
    APP_ROLE: ((1, 0, 0), {"GetSecretValue": [1, 0]}, {PARTIAL: 1}, {}),  # by full ARN, -AbCdEf suffix
    IAM + "ci": ((1, 0, 0), {"GetSecretValue": [1, 0]}, {PARTIAL: 1}, {}),  # by name
    IAM + "bob": ((1, 0, 0), {"GetSecretValue": [1, 0]}, {PARTIAL: 1}, {}),  # by partial ARN
    IAM + "etl": ((1, 0, 0), {"BatchGetSecretValue": [1, 0]}, {PARTIAL: 1}, {}),  # secretIdList
    IAM + "alice": ((1, 0, 1), {"BatchGetSecretValue": [1, 0]}, {"filters name=prod/": 1}, {
        "every secret matching the filters name=prod/, which ones the log does not say": [1, 0]}),
    IAM + "carol": ((1, 0, 1), {"BatchGetSecretValue": [1, 0]}, {"filters tag-key=team": 1}, {
        "every secret matching the filters tag-key=team, which ones the log does not say": [1, 0]}),
    IAM + "eve": ((1, 1, 0), {"GetSecretValue": [1, 1]}, {PARTIAL: 1}, {}),  # AccessDenied: an attempt
    # Parameter Store hands out the secret: /aws/reference/secretsmanager/prod/db
    IAM + "grace": ((1, 0, 0), {"GetParameter withDecryption": [1, 0]}, {PARTIAL: 1}, {}),
}


@pytest.mark.parametrize("pattern", ["prod/db", PARTIAL, SM_ARN + "prod/db-AbCdEf", "prod/d*"])
def test_cloudtrail_a_secret_by_name_partial_or_full_arn_and_by_filter(pattern: str) -> None:
    """Not in the answer: the KMS Decrypt Secrets Manager made for the app's read (not a read by itself), dave's
    batch filtered on dev/, henry's batch whose response names only prod/api, frank's read of prod/db-replica
    (but "prod/d*" takes it in)."""
    doc = answer(pattern, SM)
    want = dict(SM_DB)
    if pattern == "prod/d*":
        want[IAM + "frank"] = ((1, 0, 0), {"GetSecretValue": [1, 0]}, {SM_ARN + "prod/db-replica": 1}, {})
    assert shape(doc) == want
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (len(want), 1, 2)


def test_cloudtrail_what_a_batch_response_names_is_what_it_returned() -> None:
    api = shape(answer("prod/api", SM))
    assert set(api) == {IAM + "etl", IAM + "alice", IAM + "carol", IAM + "henry"}
    assert api[IAM + "henry"] == ((1, 0, 0), {"BatchGetSecretValue": [1, 0]}, {SM_ARN + "prod/api": 1}, {})
    assert api[IAM + "etl"][2] == {SM_ARN + "prod/api": 1}  # named by its full ARN in the list


# -- CloudTrail: SSM Parameter Store -------------------------------------------------------------------------------
PARAM = "/prod/db/password"
SSM_DB = {
    APP_ROLE: ((1, 0, 0), {"GetParameter withDecryption": [1, 0]}, {PARAM: 1}, {}),
    IAM + "bob": ((1, 0, 0), {"GetParameter": [1, 0]}, {PARAM: 1}, {}),  # ":3" version selector, no decryption
    IAM + "ci": ((1, 0, 0), {"GetParameters withDecryption": [1, 0]}, {PARAM: 1}, {}),
    IAM + "alice": ((1, 0, 1), {"GetParametersByPath withDecryption": [1, 0]}, {"/prod/": 1},
                    {"every parameter under /prod/ and below": [1, 0]}),
    IAM + "dave": ((1, 0, 1), {"GetParametersByPath withDecryption": [1, 0]}, {"/prod/db": 1},
                   {"every parameter under /prod/db (one level)": [1, 0]}),
    IAM + "erin": ((1, 0, 0), {"GetParameter": [1, 0]}, {PARAM: 1}, {}),  # by ARN
    IAM + "eve": ((1, 1, 0), {"GetParameter withDecryption": [1, 1]}, {PARAM: 1}, {}),
}


@pytest.mark.parametrize("pattern", [PARAM, "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db/password"])
def test_ssm_parameter_reads_by_name_arn_names_and_path(pattern: str) -> None:
    """Not in the answer: carol's GetParametersByPath of /prod/ one level only (the parameter is two levels
    below), the KMS Decrypt of the SecureString, frank's read of /prod/db/password-old."""
    doc = answer(pattern, SSM)
    assert shape(doc) == SSM_DB
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (7, 1, 2)


def test_the_name_without_its_leading_slash_is_no_parameter_of_the_hierarchy() -> None:
    """``prod/db/password`` can only be a Secrets Manager secret: SSM names a parameter of a hierarchy from its root
    (red team rt94, F5)."""
    doc = answer("prod/db/password", SSM)
    assert (doc["requests"], doc["identities"]) == (0, [])


def test_access_policy_judges_secrets_manager_and_ssm_reads() -> None:
    rule = AccessRule("db", (PARTIAL, PARAM), ("read",), ("arn:aws:sts::111122223333:assumed-role/app-role/*",))
    sm = outcome(SM, rule)
    assert sm.status == FAILED
    assert [f.message.split(" breaks ")[0] for f in sm.findings] == [
        f"GetSecretValue of {PARTIAL} by {IAM}ci",
        f"GetSecretValue of {PARTIAL} by {IAM}bob",
        f"BatchGetSecretValue of {PARTIAL} by {IAM}etl",
        f"BatchGetSecretValue of filters name=prod/ by {IAM}alice (it named no secret; its answer held every secret "
        "matching the filters name=prod/, which ones the log does not say)",
        f"BatchGetSecretValue of filters tag-key=team by {IAM}carol (it named no secret; its answer held every "
        "secret matching the filters tag-key=team, which ones the log does not say)",
        f"GetParameter withDecryption of {PARTIAL} by {IAM}grace"]
    ssm = outcome(SSM, rule)
    assert [f.message.split(" breaks ")[0].split(" by ")[1] for f in ssm.findings] == [
        IAM + n for n in ("bob", "ci", "alice (it named no secret; its answer held every parameter under /prod/ and "
                                        "below)", "dave (it named no secret; its answer held every parameter under "
                                                  "/prod/db (one level))", "erin")]
    assert all("IAM" in f.fix for f in [*sm.findings, *ssm.findings])


# -- Vault / OpenBao ------------------------------------------------------------------------------------------------
def _token(admin: VaultClient, name: str, policies: list[str]) -> VaultClient:
    r = admin.call("POST", "auth/token/create", {"display_name": name, "policies": policies, "ttl": "15m"})
    assert r.status == 200, r.error
    return admin.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))


@pytest.fixture
def kv_log(bao: Any, tmp_path: Path) -> Path:
    """Real OpenBao traffic on one KV v2 secret, a KV v1 secret and two tokens' cubbyholes."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert admin.call("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}).status == 204
        for name, rules in (("w", 'path "secret/data/prod/*" { capabilities = ["create", "update"] }'),
                            ("r", 'path "secret/data/prod/*" { capabilities = ["read"] }\n'
                                  'path "kv1/prod/*" { capabilities = ["read"] }'),
                            ("m", 'path "secret/metadata/prod/*" { capabilities = ["read", "list"] }')):
            assert admin.call("PUT", f"sys/policies/acl/{name}", {"policy": rules}).status == 204
        writer, reader = _token(admin, "writer", ["w"]), _token(admin, "reader", ["r"])
        meta, intruder = _token(admin, "meta", ["m"]), _token(admin, "intruder", ["default"])
        courier, receiver = _token(admin, "courier", ["default"]), _token(admin, "receiver", ["default"])
        assert writer.call("POST", "secret/data/prod/db", {"data": {"v": "a" * 24}}).status == 200
        assert writer.call("POST", "secret/data/prod/db", {"data": {"v": "b" * 24}}).status == 200
        assert reader.call("GET", "secret/data/prod/db").status == 200
        assert reader.call("GET", "secret/data/prod/db?version=1").status == 200  # an older value
        wrapped = reader.call("GET", "secret/data/prod/db", headers={"X-Vault-Wrap-TTL": "60s"})
        assert wrapped.status == 200, wrapped.error
        wrap = remember_secret(str((wrapped.body or {})["wrap_info"]["token"]))
        assert courier.call("POST", "sys/wrapping/lookup", {"token": wrap}).status == 200  # not a read
        assert receiver.call("POST", "sys/wrapping/unwrap", {"token": wrap}).status == 200  # saw it
        assert meta.call("GET", "secret/metadata/prod/db").status == 200  # versions, no value
        assert meta.call("LIST", "secret/metadata/prod").status == 200  # names, no value
        assert intruder.call("GET", "secret/data/prod/db").status == 403
        assert admin.call("POST", "kv1/prod/db", {"v": "c" * 24}).status == 204
        assert reader.call("GET", "kv1/prod/db").status == 200
        assert courier.call("POST", "cubbyhole/prod/db", {"v": "d" * 24}).status == 204
        assert courier.call("GET", "cubbyhole/prod/db").status == 200
        assert receiver.call("GET", "cubbyhole/prod/db").status == 404  # its own cubbyhole: nothing there
        assert admin.call("POST", "secret/destroy/prod/db", {"versions": [1]}).status == 204
        assert admin.call("DELETE", "secret/data/prod/db").status == 204
    finally:
        admin.close()
    return log_copy(server, tmp_path)


def _ops(doc: dict[str, Any]) -> dict[tuple[str, str], list[int]]:
    return {(i["display_name"], op): [c["requests"], c["denied"]]
            for i in doc["identities"] for op, c in i["operations"].items()}


@pytest.mark.vault
def test_vault_kv_reads_lists_metadata_destroy_unwrap_and_cubbyholes(kv_log: Path) -> None:
    data = answer("secret/data/prod/db", kv_log)
    # the value: two writes, three reads (one of version 1, one response-wrapped), its unwrap, a denied read, the
    # delete; not the wrapping lookup, the metadata read, the list or the destroy (other paths, no value)
    assert _ops(data) == {("token-writer", "create"): [1, 0], ("token-writer", "update"): [1, 0],
                          ("token-reader", "read"): [2, 0], ("token-reader", "read (wrapped)"): [1, 0],
                          ("token-receiver", "unwrap"): [1, 0],
                          ("token-intruder", "read"): [1, 1], ("token", "delete"): [1, 0]}
    assert data["unnamed"] == 0
    every = answer("secret/+/prod/db", kv_log)  # data/, metadata/, destroy/ of the one secret
    # (and the list of secret/metadata/prod/, which saw its name: red team rt39, F4)
    assert _ops(every) == {**_ops(data), ("token-meta", "read"): [1, 0], ("token", "update"): [1, 0],
                           ("token-meta", "list"): [1, 0]}
    assert every["unnamed"] == 1
    assert {i["display_name"]: i["paths"] for i in every["identities"]}["token"] == {
        "secret/data/prod/db": 1, "secret/destroy/prod/db": 1}
    names = answer("secret/metadata/prod/*", kv_log)  # a list is a list: names only, shown as such
    assert _ops(names) == {("token-meta", "read"): [1, 0], ("token-meta", "list"): [1, 0]}
    assert answer("sys/wrapping/*", kv_log)["identities"]  # the lookup is there, under its own path
    assert _ops(answer("kv1/prod/db", kv_log)) == {("token", "create"): [1, 0], ("token-reader", "read"): [1, 0]}
    # a cubbyhole is the token's own: the same path is another secret for each token, and the answer says whose
    cub = answer("cubbyhole/prod/db", kv_log)
    # (the receiver's read of its own, empty cubbyhole was answered 404, no data: an attempt that received nothing,
    # counted denied: red team rt94 F3)
    assert _ops(cub) == {("token-courier", "create"): [1, 0], ("token-courier", "read"): [1, 0],
                         ("token-receiver", "read"): [1, 1]}
    paths = {i["display_name"]: list(i["paths"]) for i in cub["identities"]}
    acc = {i["display_name"]: list(i["accessors"]) for i in cub["identities"]}
    assert paths["token-courier"] == [f"cubbyhole/prod/db (the cubbyhole of token {acc['token-courier'][0]})"]
    assert paths["token-receiver"] == [f"cubbyhole/prod/db (the cubbyhole of token {acc['token-receiver'][0]})"]
    assert acc["token-courier"] != acc["token-receiver"]
    assert_no_secret(json.dumps([data, every, names, cub]))


@pytest.mark.vault
def test_access_policy_on_vault_a_list_is_not_a_read(kv_log: Path) -> None:
    read = AccessRule("db", ("secret/data/prod/db", "secret/metadata/prod/*"), ("read",), ("token-reader",))
    out = outcome(kv_log, read)
    assert out.status == FAILED
    # the metadata read breaks the rule; the list of names does not (it is no read), nor the refused read; the
    # receiver's unwrap of the reader's response-wrapped read is a read of the secret by the receiver
    assert [f.message.split(" breaks ")[0].split(";")[0] for f in out.findings] == [
        "unwrap of a response-wrapped read of secret/data/prod/db by display name 'token-receiver'",
        "read of secret/metadata/prod/db by display name 'token-meta'"]


# -- generic JSON lines ---------------------------------------------------------------------------------------------
GCP = Path(__file__).resolve().parents[1] / "fixtures" / "jsonl" / "unseen" / "gcp-secretmanager.jsonl"
GCP_MAP = ('{time = "timestamp", identity = "protoPayload.authenticationInfo.principalEmail", resource = '
           '"protoPayload.resourceName", action = "protoPayload.methodName", result = "protoPayload.status", '
           'source = "protoPayload.requestMetadata.callerIp", request_id = "insertId"}')
GSM = "google.cloud.secretmanager.v1.SecretManagerService."


def test_generic_json_lines_invent_no_answer(tmp_path: Path) -> None:
    """Google Cloud audit logs through a field_map name a resource, a method and a status, but not what a request
    reached (a ListSecrets on the project: every secret's name?) nor whether it was refused (a status object).
    `auditready access` refuses them in one line rather than answer "nobody was denied"; `access_policy` skips
    them with that reason. Nothing is invented."""
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'[tool.auditready]\nlog_format = "jsonl"\nfield_map = {GCP_MAP}\n')
    r = access("projects/123456789012/secrets/*", str(GCP), "--config", str(cfg), "--json", "-")
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "not a Vault/OpenBao, Kubernetes or CloudTrail audit log" in r.stderr
    rule = AccessRule("gcp", ("projects/*",), ("read",), ("nobody",))
    settings = load([("auditready.toml", read_toml(cfg, table_required=True))])
    out = verify_file(str(GCP), dataclasses.replace(settings, access=(rule,)), [ap.CHECK], {}).outcomes[0]
    assert out.status == "skipped" and "this log is none of those" in out.reason, out
