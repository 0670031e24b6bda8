"""Red team rt101, data_minimisation both ways (fixtures/k8s/rt101 and fixtures/openbao/rt101-personal, README there).

- F1 (a miss): a Kubernetes event's audit annotations were all taken for the API server's own words, so personal data
  in what a mutating webhook's patch set (patch.webhook.admission.k8s.io/round_N_index_M, level Request and above),
  in an admission webhook's or a ValidatingAdmissionPolicy's audit annotations (WEBHOOK/KEY, POLICY/KEY) or in a
  policy's failure message was never judged. Now only the annotations the API server writes with values of its own
  (the decision, latencies, deprecation, the legacy or stale token's subject, an issued token's id, Pod Security's
  level and exemption, the x509 checks' fixed reasons) are clear text; every other one is judged as the request's
  object is, a patch's values under the keys they set. authorization.k8s.io/reason is judged, the actor or a group
  the event names excused (RBAC names the binding's subject that matched: the user or one of its groups).
- F2 (a false alarm): OpenBao's and Vault's cert auth method writes the client certificate's decimal serial into the
  token's metadata (serial_number, beside subject_key_id and authority_key_id), so every entry of that token names
  it in auth.metadata; a random 63-bit serial passes as a Visa number about one time in a hundred. Those ids are no
  card where the auth block's metadata is the cert method's own (its keys only, of their shapes, of a token a login
  issued); the same number a caller chose (token create's metadata, an AppRole secret id's, a secret's data) is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.auditlog.formats import k8s_annotation_value, k8s_server_annotation
from pytest_auditready.checks.data_minimisation import cert_login_ids
from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
K8S = FIXTURES / "k8s" / "rt101"
CERT = FIXTURES / "openbao" / "rt101-personal" / "cert.log"
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
SERIAL = "4212742994062585587"  # the red team's certificate serial: a Visa prefix, and it passes Luhn
PATCH = "patch.webhook.admission.k8s.io/round_0_index_0"


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], *args: str,
            name: str = "audit.log") -> tuple[int, dict[str, list[int]], str]:
    return verify_lines(tmp_path, capsys, lines, CONFIG, "--jobs", "1", *args, name=name)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _edit(lines: list[str], n: int, fn: Callable[[dict[str, Any]], object]) -> list[str]:
    """``lines`` with line ``n`` (1-based) decoded, changed by ``fn`` and written back compact."""
    e = json.loads(lines[n - 1])
    fn(e)
    return [*lines[: n - 1], json.dumps(e, separators=(",", ":")), *lines[n:]]


def _add_op(e: dict[str, Any], op: dict[str, Any]) -> None:
    """Add ``op`` to the JSON patch the event's patch annotation records, as the API server writes it."""
    said = json.loads(e["annotations"][PATCH])
    said["patch"].append(op)
    e["annotations"][PATCH] = json.dumps(said, separators=(",", ":"))


# -- F1: Kubernetes audit annotations -----------------------------------------------------------------------------


def test_real_events_and_the_api_servers_own_annotations_pass(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Elastic's sample events and events with every kind of annotation the API server writes (a sidecar injector's
    patch at level Request, a policy's audit annotation and failure, Pod Security's, a legacy and stale token's
    subject, an issued token's id, latencies, deprecation, a webhook certificate without SAN), the actor's own
    address and a group's in RBAC's reason: no finding of any check."""
    rc, found, text = _verify(tmp_path, capsys, _lines(K8S / "correct.log"))
    assert (rc, found) == (0, {}), text


def _owner(op: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    """A change that makes an event's only patch annotation an owner injector's ``op``."""
    said = {"configuration": "owner-injector", "webhook": "owner.injector.example.com", "patch": [op],
            "patchType": "JSONPatch"}
    return lambda e: e["annotations"].__setitem__(PATCH, json.dumps(said, separators=(",", ":")))


def _note(key: str, value: str) -> Callable[[dict[str, Any]], object]:
    return lambda e: e["annotations"].__setitem__(key, value)


# One personal value an event, each only in an annotation: (correct.log's line to start from, the change).
LEAKS: list[tuple[int, Callable[[dict[str, Any]], object]]] = [
    # the red team's (a): a mutating webhook's patch adds an owner's address to a Pod created at level Request
    (6, _owner({"op": "add", "path": "/metadata/annotations/owner-contact", "value": "john.roe@example.com"})),
    # (b): a ValidatingAdmissionPolicy's (or a validating webhook's) audit annotation at level Metadata
    (7, _note("owner-audit.example.com/owner", "mary.major@example.com")),
    # a patch that sets a national phone number under a key naming a phone (it counts only there)
    (6, _owner({"op": "add", "path": "/metadata/annotations/owner-phone", "value": "020 7946 0958"})),
    # an admission webhook's AdmissionResponse.auditAnnotations with a card number (the documented test number)
    (7, _note("payments.webhook.example.com/charged", "4111 1111 1111 1111")),
    # a policy's validation failure (a messageExpression) naming an address in the object
    (7, _note("validation.policy.admission.k8s.io/validation_failure", json.dumps([{
        "message": "owner r.miles@example.org is not in the team", "policy": "owners.example.com",
        "binding": "owners-binding", "expressionIndex": 0, "validationActions": ["Audit"]}]))),
    # an authorizer webhook's reason naming someone other than the actor
    (7, _note("authorization.k8s.io/reason", "allowed: on call for ops.lead@example.net")),
    # an annotation key no one documents, with an IBAN (the documented example)
    (7, _note("billing.example.com/account", "GB82 WEST 1234 5698 7654 32")),
]


def test_each_personal_value_in_an_annotation_is_found_at_its_line(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    correct = _lines(K8S / "correct.log")

    def own(i: int) -> Callable[[dict[str, Any]], object]:  # each event its own request, a second apart
        return lambda e: e.update(auditID=f"00000000-0000-4000-8000-{i:012d}",
                                  requestReceivedTimestamp=f"2026-05-04T10:20:0{i}.123456Z",
                                  stageTimestamp=f"2026-05-04T10:20:0{i}.187654Z")

    lines = [_edit(_edit(correct, n, change), n, own(i))[n - 1] for i, (n, change) in enumerate(LEAKS, 1)]
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert rc == 1 and found == {"data_minimisation": [1, 2, 3, 4, 5, 6, 7]}, text
    for value in ("john.roe@example.com", "mary.major@example.com", "020 7946 0958", "4111 1111 1111 1111",
                  "r.miles@example.org", "ops.lead@example.net", "GB82 WEST"):
        assert value not in text  # masked forms only
    # the fix names the stage that wrote it: the audit level for a patch, the webhook or policy, the authorizer
    assert "a mutating webhook's patch is recorded" in text
    assert "auditAnnotations[].valueExpression" in text and "SubjectAccessReview" in text


@pytest.mark.parametrize("line, change, field", [
    # the red team's (a): a webhook's patch adds the owner's address to a Pod created at level Request
    (6, lambda e: _add_op(e, {"op": "add", "path": "/metadata/annotations/owner-contact",
                              "value": "john.roe@example.com"}),
     f"annotations.{PATCH}.patch.metadata.annotations.owner-contact"),
    # (b): a ValidatingAdmissionPolicy's auditAnnotations (or a validating webhook's) at level Metadata
    (7, lambda e: e["annotations"].__setitem__("owner-audit.example.com/owner", "john.roe@example.com"),
     "annotations.owner-audit.example.com/owner"),
    # an object the patch adds, its value judged under its own key (a list's items at the list's path)
    (6, lambda e: _add_op(e, {"op": "add", "path": "/spec/containers/0/env/-",
                              "value": {"name": "ONCALL_PHONE", "value": "+44 20 7946 0958"}}),
     f"annotations.{PATCH}.patch.spec.containers.env.value"),
    # a webhook's configuration and name are judged as object names are
    (6, lambda e: e["annotations"].__setitem__("failed-open.mutation.webhook.admission.k8s.io/round_0_index_1",
                                               "owner-jane.roe@example.com"),
     "annotations.failed-open.mutation.webhook.admission.k8s.io/round_0_index_1"),
])
def test_personal_data_a_webhook_or_policy_wrote_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          line: int, change: Callable[[dict[str, Any]], object],
                                                          field: str) -> None:
    rc, found, text = _verify(tmp_path, capsys, _edit(_lines(K8S / "correct.log"), line, change))
    assert rc == 1 and found == {"data_minimisation": [line]}, text
    assert f"field '{field}'" in text, text


def test_a_value_that_counts_only_under_its_key_is_found_in_a_patch(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A national phone number counts only under a key naming a phone; a patch names that key in its operation's
    path, apart from the value. On a line with no other candidate (a service account's request) it is still found."""
    phone = _edit(_lines(K8S / "correct.log"), 6, LEAKS[2][1])[5:6]
    lone = _edit(phone, 1, lambda e: (
        e.__setitem__("user", {"username": "system:serviceaccount:team-a:deployer", "groups": ["system:authenticated"]}),
        e["annotations"].__setitem__("authorization.k8s.io/reason", "")))
    assert "@" not in lone[0]
    rc, found, text = _verify(tmp_path, capsys, lone)
    assert rc == 1 and found == {"data_minimisation": [1]}, text


def test_hostile_annotations_cost_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A policy's JSON nested past the interpreter's recursion limit is judged as text, a patch's pointer deeper than
    any object's as the operation it is: the address in each is found at its line, the other lines judged."""
    lines = _lines(K8S / "correct.log")
    deep = _edit(lines, 7, lambda e: e["annotations"].__setitem__(
        "p.example.com/k", "[" * 5000 + '"john.roe@example.com"' + "]" * 5000))
    deep = _edit(deep, 6, lambda e: _add_op(e, {"op": "add", "path": "/a" * 100000, "value": "mary.major@example.com"}))
    rc, found, text = _verify(tmp_path, capsys, deep)
    assert rc == 1 and found == {"data_minimisation": [6, 7]}, text


def test_rbacs_reason_names_the_actor_or_its_group_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(K8S / "correct.log")
    # line 7 is allowed through a group that is an address; the same reason where the event names no such group
    ungrouped = _edit(lines, 7, lambda e: e["user"].__setitem__("groups", ["system:authenticated"]))
    rc, found, text = _verify(tmp_path, capsys, ungrouped)
    assert rc == 1 and found == {"data_minimisation": [7]}, text
    assert "field 'annotations.authorization.k8s.io/reason'" in text
    # line 8 is an impersonated request: RBAC names the impersonated user; another user named there is a finding
    other = _edit(lines, 8, lambda e: e["annotations"].__setitem__(
        "authorization.k8s.io/reason", e["annotations"]["authorization.k8s.io/reason"].replace("jane.doe", "john.roe")))
    rc, found, text = _verify(tmp_path, capsys, other)
    assert rc == 1 and found == {"data_minimisation": [8]}, text


def test_the_api_servers_own_annotations_are_still_judged_for_what_is_never_who(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Evidence in clear is no identity's card number: a card in one of the API server's annotations is found."""
    carded = _edit(_lines(K8S / "correct.log"), 6,
                   lambda e: e["annotations"].__setitem__("k8s.io/removed-release", "4111111111111111"))
    rc, found, text = _verify(tmp_path, capsys, carded)
    assert rc == 1 and found == {"data_minimisation": [6]}, text


def test_a_token_under_another_annotation_is_still_a_leak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """authentication.k8s.io/legacy-token names the token's own subject (correct.log line 10 passes); a GitHub token
    a webhook wrote under an annotation of its own is a leak."""
    token = "ghp_" + "Q7mZp4LwT9vN3bY6cH1fJ5dS0aUeGiKR8x2k"
    leaked = _edit(_lines(K8S / "correct.log"), 10,
                   lambda e: e["annotations"].__setitem__("ci.example.com/deploy-token", token))
    rc, found, text = _verify(tmp_path, capsys, leaked)
    assert rc == 1 and found == {"no_secret_leak": [10]}, text
    assert token not in text


@pytest.mark.parametrize("key", ["authorization.k8s.io/decision", "apiserver.latency.k8s.io/etcd",
                                 "apiserver.latency.k8s.io/validating-webhook", "k8s.io/deprecated",
                                 "k8s.io/removed-release", "authentication.k8s.io/legacy-token",
                                 "authentication.k8s.io/stale-token",
                                 "authentication.kubernetes.io/issued-credential-id",
                                 "pod-security.kubernetes.io/enforce-policy", "pod-security.kubernetes.io/exempt",
                                 "missing-san.invalid-cert.kubernetes.io/webhook.ns.svc",
                                 "insecure-sha1.invalid-cert.kubernetes.io/10.0.0.1",
                                 "apiserver.k8s.io/unsafe-delete-ignore-read-error"])
def test_the_api_servers_own_keys(key: str) -> None:
    assert k8s_server_annotation(key)


@pytest.mark.parametrize("key", ["authorization.k8s.io/reason", PATCH, "mutation.webhook.admission.k8s.io/round_0_index_0",
                                 "failed-open.validating.webhook.admission.k8s.io/round_0_index_0",
                                 "validation.policy.admission.k8s.io/validation_failure",
                                 "pod-security.kubernetes.io/audit-violations", "pod-security.kubernetes.io/error",
                                 "authentication.k8s.io/legacy-token-autogenerated-secret",
                                 "demo-policy.example.com/high-replica-count", "imagepolicywebhook.image-policy.k8s.io/x",
                                 "apiserver.latency.k8s.io", "x.apiserver.latency.k8s.io/total",
                                 "other.invalid-cert.kubernetes.io/host", "authorization.k8s.io/decision2"])
def test_every_other_key_is_judged(key: str) -> None:
    assert not k8s_server_annotation(key)


def test_a_patch_is_read_as_the_objects_it_writes() -> None:
    said = json.dumps({"configuration": "c", "webhook": "w.example.com", "patchType": "JSONPatch", "patch": [
        {"op": "add", "path": "/metadata/labels/security.istio.io~1tlsMode", "value": "istio"},
        {"op": "add", "path": "/spec/containers/1/env/-", "value": {"name": "A", "value": "b"}},
        {"op": "replace", "path": "", "value": {"kind": "Pod"}},
        {"op": "remove", "path": "/metadata/labels/x~0y"}]})
    assert k8s_annotation_value(PATCH, said)["patch"] == [
        {"metadata": {"labels": {"security.istio.io/tlsMode": "istio"}}},
        {"spec": {"containers": {"env": {"name": "A", "value": "b"}}}},
        {"kind": "Pod"},
        {"op": "remove", "path": "/metadata/labels/x~0y"}]
    # a policy's or webhook's JSON is read as JSON; text, and what is no JSON, as it is
    assert k8s_annotation_value("p.example.com/k", '{"owner": "x"}') == {"owner": "x"}
    assert k8s_annotation_value("p.example.com/k", "{not json") == "{not json"
    assert k8s_annotation_value("p.example.com/k", "plain") == "plain"


# -- F2: the cert auth method's certificate ids in token metadata ------------------------------------------------


def test_a_cert_logins_serial_is_no_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The red team's real OpenBao 2.7.2 log: a cert login (line 13) and a lookup-self with its token (14, 15)."""
    lines = _lines(CERT)
    assert sum(f'"serial_number":"{SERIAL}"' in ln for ln in lines) == 3
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert (rc, found) == (0, {}), text
    # without the login in the log: the token's later entries name the same metadata
    rc, found, text = _verify(tmp_path, capsys, lines[:11] + lines[13:])
    assert (rc, found) == (0, {}), text


def _meta(e: dict[str, Any], **changes: Any) -> None:
    for auth in (e.get("auth"), (e.get("response") or {}).get("auth")):
        if isinstance(auth, dict) and "metadata" in auth:
            auth["metadata"].update(changes)


@pytest.mark.parametrize("line, change", [
    # a token the token store made (bao token create -metadata ...): its creator chose every key
    (14, lambda e: e["auth"].__setitem__("display_name", "token")),
    (15, lambda e: e["auth"].__setitem__("display_name", "token-payments")),
    # an AppRole login's metadata (role_name beside the secret id's own keys)
    (14, lambda e: _meta(e, role_name="payments")),
    # a key the cert method never writes
    (15, lambda e: _meta(e, owner="svc")),
    # an id of another shape than the method's
    (14, lambda e: _meta(e, subject_key_id="not-a-key-id")),
    # the serial in a secret's data a mount writes in clear, on the cert login's own entry
    (13, lambda e: e["request"].__setitem__("data", {"serial_number": SERIAL})),
])
def test_a_serial_a_caller_chose_is_a_card(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: int,
                                           change: Callable[[dict[str, Any]], object]) -> None:
    rc, found, text = _verify(tmp_path, capsys, _edit(_lines(CERT), line, change))
    assert rc == 1 and found.get("data_minimisation") == [line], text
    assert "421274*********5587" in text and SERIAL not in text


def test_which_metadata_is_the_cert_methods() -> None:
    meta = {"cert_name": "web", "common_name": "web.example.com", "serial_number": SERIAL,
            "subject_key_id": "e0:99:b4", "authority_key_id": "", "1-3-6-1-4-1-311-20-2": "Machine"}
    later = {"auth": {"display_name": "cert-web", "metadata": meta}, "request": {"path": "secret/data/x"}}
    ids = {"auth.metadata.serial_number", "auth.metadata.subject_key_id", "auth.metadata.authority_key_id"}
    assert cert_login_ids(later) == ids
    # a login on a cert mount: its response's auth is the method's whatever the mount's path
    login = {"request": {"mount_type": "cert", "path": "auth/token-certs/login"},
             "auth": {"display_name": "token-certs-web", "metadata": meta},
             "response": {"auth": {"display_name": "token-certs-web", "metadata": meta}}}
    assert cert_login_ids(login) == ids | {"response." + p for p in ids}
    # the same token seen later, under a mount path the token store's names begin with: judged (fail closed)
    assert cert_login_ids({"auth": {"display_name": "token-certs-web", "metadata": meta}}) == set()
    for name in ("root", "ns1_root", "token", None):
        assert cert_login_ids({"auth": {"display_name": name, "metadata": meta}}) == set()
    assert cert_login_ids({"auth": {"display_name": "cert-web", "metadata": dict(meta, serial_number="4212 7429")}}) \
        == set()
    assert cert_login_ids({"auth": {"display_name": "cert-web", "metadata": {"serial_number": SERIAL}}}) == set()


# -- Google Cloud: whom an IAM policy change granted access ------------------------------------------------------

def _set_iam_policy(member: str, delta_in: str = "serviceData") -> dict[str, Any]:
    """A Secret Manager SetIamPolicy audit entry as Cloud Audit Logs writes it (google.iam.v1 SetIamPolicyRequest,
    Policy, and its AuditData's policyDelta), granting secretAccessor to ``member`` and a service account."""
    from tests.test_unseen_jsonl import _rows

    entry = _rows("gcp-secretmanager")[0]
    payload = entry["protoPayload"]
    payload["methodName"] = "google.cloud.secretmanager.v1.SecretManagerService.SetIamPolicy"
    payload["resourceName"] = "projects/123456789012/secrets/db-password"
    bindings = [{"role": "roles/secretmanager.secretAccessor",
                 "members": [member, "serviceAccount:app-sa@example-prod.iam.gserviceaccount.com"]}]
    payload["request"] = {"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                          "resource": "projects/example-prod/secrets/db-password",
                          "policy": {"bindings": bindings, "etag": "BwYhW6Lq1vM="}}
    payload["response"] = {"@type": "type.googleapis.com/google.iam.v1.Policy", "bindings": bindings,
                           "etag": "BwYhW6Lq1vM="}
    payload[delta_in] = {"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {
        "bindingDeltas": [{"action": "ADD", "role": "roles/secretmanager.secretAccessor", "member": member}]}}
    entry["logName"] = "projects/example-prod/logs/cloudaudit.googleapis.com%2Factivity"
    return entry


@pytest.mark.parametrize("member", ["user:bob.smith@example.com", "group:secret-readers@example.com",
                                    "deleted:user:old.admin@example.com?uid=123456789012345678901"])
@pytest.mark.parametrize("delta_in", ["serviceData", "metadata"])
def test_whom_an_iam_grant_names_is_evidence_not_personal_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               member: str, delta_in: str) -> None:
    """Red team rt101: every SetIamPolicy on a secret failed data_minimisation at the member it granted. The
    policy's and the change's members are who was given access: no finding. The same address in the request's
    other text, or a card number as a member, still is."""
    from tests.test_unseen_jsonl import _compact, _rows, _toml

    rows = _rows("gcp-secretmanager")
    rows.insert(2, _set_iam_policy(member, delta_in))
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("gcp-secretmanager"), name="gcp.jsonl")
    assert found.get("data_minimisation") is None, text
    leak = _set_iam_policy(member, delta_in)
    leak["protoPayload"]["request"]["policy"]["etag"] = "see bob.smith@example.com"
    rows[2] = leak
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("gcp-secretmanager"), name="gcp.jsonl")
    assert rc == 1 and found.get("data_minimisation") == [3], text
    rows[2] = _set_iam_policy("user:4111111111111111@example.com", delta_in)
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("gcp-secretmanager"), name="gcp.jsonl")
    assert rc == 1 and found.get("data_minimisation") == [3], text
