"""Right on Kubernetes audit logs as modern clusters write them (kube-apiserver's log backend, audit.k8s.io/v1, one
Event a line), from the Kubernetes and managed clusters' documentation (fixtures/k8s/wild, see fixtures/README.md):
EKS identities with the authenticator's extra values, bound service account tokens with their pod and node, AKS
and GKE users, long-running requests written when they end, dry runs, RequestReceived stages and admission
annotations. A correct log gives no finding; each planted defect is caught at its line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

WILD = Path(__file__).resolve().parents[1] / "fixtures" / "k8s" / "wild" / "correct.log"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
           "data_minimisation")
SECRET_REF = {"resource": "secrets", "namespace": "prod", "name": "db", "apiVersion": "v1"}


def _events() -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in WILD.read_text().splitlines()]


def _write(tmp_path: Path, events: list[dict[str, Any]], name: str = "audit.log") -> Path:
    text = "".join(json.dumps(e, separators=(",", ":")).replace("&", "\\u0026").replace("<", "\\u003c")
                   .replace(">", "\\u003e") + "\n" for e in events)
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _outcomes(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Check id -> (where, message) of each finding, over the content checks that failed."""
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, {})
    return {o.check_id: [(f.where, f.message) for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def _findings(path: Path) -> dict[str, list[str]]:
    return {k: [w for w, _ in v] for k, v in _outcomes(path).items()}


def _line(events: list[dict[str, Any]], pred: Callable[[dict[str, Any]], bool]) -> int:
    """The index of the first event ``pred`` holds for."""
    return next(i for i, e in enumerate(events) if pred(e))


def _eks(e: dict[str, Any]) -> bool:
    return "accessKeyId" in e["user"].get("extra", {})


def test_the_wild_log_gives_no_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """EKS users and nodes carry the access key id they signed with in user.extra (an identifier, beside the ARN
    and session name, an e-mail address); was flagged as an AWS access key on every EKS line."""
    events = _events()
    assert sum(map(_eks, events)) >= 4
    path = _write(tmp_path, events)
    assert _findings(path) == {}
    config = tmp_path / "auditready.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(config)]) == 0, capsys.readouterr().out


def test_an_access_key_id_off_the_authenticator_s_extra_is_still_found(tmp_path: Path) -> None:
    """Only the key id EKS's authenticator writes beside the caller's ARN is excused: the same extra without the
    ARN, another key id in a ConfigMap an EKS user creates, a secret access key in the extra are judged."""
    events = _events()
    eks = [i for i, e in enumerate(events) if _eks(e)]
    no_arn, with_cm, with_secret = eks[0], eks[1], eks[2]
    del events[no_arn]["user"]["extra"]["arn"]
    events[with_cm].update(level="Request", requestObject={
        "kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "s3"},
        "data": {"accessKeyId": "AKIAZ7Q4XW2KDN3MPL5T"}})
    events[with_secret]["user"]["extra"]["secretAccessKey"] = ["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"]
    path = _write(tmp_path, events)
    found = _findings(path)
    assert list(found) == ["no_secret_leak"]
    assert set(found["no_secret_leak"]) == {f"{path}:{i + 1}" for i in (no_arn, with_cm, with_secret)}


@pytest.mark.parametrize("param", ["access_token", "id_token", "refresh_token", "client_secret"])
def test_a_credential_in_the_request_uri_query_is_a_leak(tmp_path: Path, param: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """RFC 6750 2.3's access_token (and OAuth's other credentials) in a requestURI: a bearer token in clear
    whatever its shape; a Google access token (dots break the entropy runs) was passed."""
    events = _events()
    i = _line(events, lambda e: e["verb"] == "list" and "?" in e["requestURI"])
    token = "ya29.a0AfH6SMBx3kQ9Zp7LmN2vR8tY4wE1uI5oP6aS7dF8gH9jK0lZ"
    events[i]["requestURI"] += f"&{param}={token}"
    path = _write(tmp_path, events)
    found = _outcomes(path)
    assert list(found) == ["no_secret_leak"]
    assert {where for where, _ in found["no_secret_leak"]} == {f"{path}:{i + 1}"}
    assert any("is a credential in a request URI's query" in message for _, message in found["no_secret_leak"])
    config = tmp_path / "auditready.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(config)]) == 1
    assert token not in capsys.readouterr().out


def test_an_empty_or_cursor_query_parameter_is_no_credential(tmp_path: Path) -> None:
    events = _events()
    i = _line(events, lambda e: e["verb"] == "list" and "?" in e["requestURI"])
    events[i]["requestURI"] += "&access_token=&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyMTMsInN0YXJ0IjoiYXBwXHUwMDAwIn0"
    assert _findings(_write(tmp_path, events)) == {}


def _secret_response(e: dict[str, Any]) -> None:
    e.update(level="RequestResponse", verb="get", requestURI="/api/v1/namespaces/prod/secrets/db",
             objectRef=dict(SECRET_REF), responseObject={
                 "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db", "namespace": "prod"},
                 "type": "Opaque", "data": {"url": "cG9zdGdyZXM6Ly9hcHA6eEBkYg=="}})


def _dry_run_secret(e: dict[str, Any]) -> None:
    e.update(level="Request", requestObject={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db"},
                                             "stringData": {"url": "postgres://app:x@db"}})


def _token_request(e: dict[str, Any]) -> None:
    e.update(level="RequestResponse", responseObject={
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": {"name": "app"},
        "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3607},
        "status": {"token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "expirationTimestamp": "2026-01-05T09:00:00Z"}})


def _no_user(e: dict[str, Any]) -> None:
    e["user"] = {}


def _no_offset(e: dict[str, Any]) -> None:
    e["requestReceivedTimestamp"] = e["requestReceivedTimestamp"].rstrip("Z")


def _someone_else(e: dict[str, Any]) -> None:
    e["objectRef"]["name"] = "bob.smith@example.org"
    e["requestURI"] = e["requestURI"].replace("/app", "/bob.smith@example.org")


PLANTED: list[tuple[str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], None], str]] = [
    ("secret-at-requestresponse", lambda e: e["verb"] == "get" and "configmaps" in e["requestURI"],
     _secret_response, "no_secret_leak"),
    ("dry-run-secret-at-request", lambda e: "dryRun=All" in e["requestURI"] and e["stage"] == "ResponseComplete",
     _dry_run_secret, "no_secret_leak"),
    ("token-request-token", lambda e: e["requestURI"].endswith("/token"), _token_request, "no_secret_leak"),
    ("eks-user-missing", _eks, _no_user, "required_fields"),
    ("exec-time-without-offset", lambda e: "/exec" in e["requestURI"], _no_offset, "timestamp_precision"),
    ("address-not-the-caller", lambda e: e["requestURI"] == "/api/v1/namespaces/prod/configmaps/app",
     _someone_else, "data_minimisation"),
]


@pytest.mark.parametrize(("name", "where", "plant", "check"), PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_defect_is_caught_at_its_line(tmp_path: Path, name: str, where: Callable[[dict[str, Any]], bool],
                                                plant: Callable[[dict[str, Any]], None], check: str) -> None:
    events = copy.deepcopy(_events())
    i = _line(events, where)
    plant(events[i])
    for e in events:  # (a policy's level is its request's, in every stage's event: filters/audit.go)
        if e["auditID"] == events[i]["auditID"]:
            e["level"] = events[i]["level"]
    path = _write(tmp_path, events)
    assert _findings(path) == {check: [f"{path}:{i + 1}"]}


PATCHES: list[tuple[str, Any]] = [
    ("strategic-merge-data", {"data": {"pin": "NDkyMTc3"}}),  # kubectl edit / patch: a short value, no entropy
    ("merge-stringdata", {"stringData": {"pin": "492177"}}),
    ("json-patch-key", [{"op": "replace", "path": "/data/pin", "value": "NDkyMTc3"}]),
    ("json-patch-data", [{"op": "add", "path": "/data", "value": {"pin": "NDkyMTc3"}}]),
]


@pytest.mark.parametrize(("name", "body"), PATCHES, ids=[p[0] for p in PATCHES])
def test_a_secret_patch_s_data_at_level_request_is_a_leak(tmp_path: Path, name: str, body: Any) -> None:
    """A patch body names no kind: the event's objectRef says it patches a Secret, and the data it sets is the
    Secret's (was passed when the value had no shape or entropy a detector knows), reported once."""
    events = _events()
    i = _line(events, lambda e: e["verb"] == "patch" and e.get("objectRef", {}).get("resource") == "secrets"
              and e["level"] == "Request")
    events[i]["requestObject"] = body
    path = _write(tmp_path, events)
    found = _outcomes(path)
    assert list(found) == ["no_secret_leak"]
    (where, message), = found["no_secret_leak"]
    assert where == f"{path}:{i + 1}" and "is a Kubernetes Secret's data in a patch" in message


def test_a_patch_of_another_resource_or_of_a_secret_s_metadata_is_no_leak(tmp_path: Path) -> None:
    """The same bodies on a ConfigMap, on a custom resource named secrets in another API group, and a Secret patch
    that only labels it or removes a key set no Secret data."""
    events = _events()
    i = _line(events, lambda e: e["verb"] == "patch" and e.get("objectRef", {}).get("resource") == "secrets"
              and e["level"] == "Request")
    extra = []
    for n, ref in enumerate(({"resource": "configmaps", "namespace": "prod", "name": "db", "apiVersion": "v1"},
                             {"resource": "secrets", "apiGroup": "vault.example.com", "namespace": "prod",
                              "name": "db", "apiVersion": "v1alpha1"})):
        e = copy.deepcopy(events[i])
        e.update(objectRef=ref, auditID=e["auditID"][:-1] + str(n), requestObject={"data": {"pin": "492177"}})
        extra.append(e)
    events[i + 1:i + 1] = extra
    assert _findings(_write(tmp_path, events)) == {}


def test_kubectl_auth_whoami_on_eks_names_the_caller_s_key_id_and_no_other(tmp_path: Path) -> None:
    """A SelfSubjectReview answers the caller's own user info, the authenticator's accessKeyId included: that is
    the id the event's user carries; another key id there is judged."""
    events = _events()
    i = _line(events, _eks)
    user = events[i]["user"]
    events[i].update(level="RequestResponse", verb="create", requestURI="/apis/authentication.k8s.io/v1/selfsubjectreviews",
                     objectRef={"resource": "selfsubjectreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1"},
                     responseObject={"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                                     "metadata": {"creationTimestamp": "2026-01-05T08:00:01Z"},
                                     "status": {"userInfo": copy.deepcopy(user)}})
    assert _findings(_write(tmp_path, events)) == {}
    events[i]["responseObject"]["status"]["userInfo"]["extra"]["accessKeyId"] = ["ASIAZ7Q4XW2KDN3MPL5T"]
    path = _write(tmp_path, events, "other.log")
    assert _findings(path) == {"no_secret_leak": [f"{path}:{i + 1}"]}


@pytest.mark.parametrize("short", ["token", "patch"])
def test_a_short_credential_or_a_short_secret_patch_reaches_the_judge(tmp_path: Path, short: str) -> None:
    """The rules above judge only the lines the block scanner sends to the judge: in an event with nothing else a
    prefilter looks for, a query credential shorter than the long-parameter prefilter's 20 characters was never
    judged (a false pass); it, and a Secret patch, are sent by expressions of their own
    (scan.hyperscan._WHOLE_LINE_PREFILTERS)."""
    event: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "0b6f2c1e-5d4a-4c3b-9a8f-7e6d5c4b3a21", "stage": "ResponseComplete",
        "requestURI": "/api/v1/pods?access_token=Zx81kq", "verb": "list",
        "user": {"username": "bob", "groups": ["dev"]}, "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl",
        "objectRef": {"resource": "pods", "apiVersion": "v1"}, "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-11-30T10:00:01.123456Z", "stageTimestamp": "2026-11-30T10:00:01.125678Z"}
    if short == "patch":
        event.update(level="Request", verb="patch", requestURI="/api/v1/namespaces/a/secrets/b",
                     objectRef={"resource": "secrets", "namespace": "a", "name": "b", "apiVersion": "v1"},
                     requestObject={"data": {"pin": "NDkyMTc3"}})
    path = _write(tmp_path, [event])
    found = _outcomes(path)
    assert list(found) == ["no_secret_leak"], found
    assert {where for where, _ in found["no_secret_leak"]} == {f"{path}:1"}


@pytest.mark.parametrize("back_us", [1, 900_000])
def test_a_stage_stamped_before_its_receipt_is_caught_within_max_skew_too(tmp_path: Path, back_us: int) -> None:
    """The API server stamps an event's stageTimestamp when the request reaches that stage, after its
    requestReceivedTimestamp: one earlier by any amount (here 1 µs and 0.9 s, both within max_skew, which a stage
    further back was already refused by) was re-timed, found at its line by timestamp_accuracy."""
    from datetime import datetime, timedelta

    events = _events()
    assert _findings(_write(tmp_path, events)) == {}
    i = _line(events, lambda e: e["stage"] == "ResponseComplete" and e["stageTimestamp"] > e["requestReceivedTimestamp"])
    received = datetime.fromisoformat(events[i]["requestReceivedTimestamp"].replace("Z", "+00:00"))
    events[i]["stageTimestamp"] = (received - timedelta(microseconds=back_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    found = _outcomes(_write(tmp_path, events))
    assert list(found) == ["timestamp_accuracy"], found
    ((where, message),) = found["timestamp_accuracy"]
    assert where.endswith(f":{i + 1}") and "stageTimestamp" in message


def test_an_event_at_a_whole_millisecond_is_written_with_microseconds(tmp_path: Path) -> None:
    """The API server writes MicroTime, six digits with trailing zeros kept: a one-event log whose times fall on a
    whole millisecond (".120000") carries six digits, not two. Before: a timestamp_precision finding. Asked for
    more digits than the API server writes, the same log fails."""
    event = _events()[0]
    event.update(requestReceivedTimestamp="2026-11-30T10:00:01.120000Z", stageTimestamp="2026-11-30T10:00:01.130000Z")
    path = _write(tmp_path, [event])
    assert _findings(path) == {}
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, timestamp_digits=7),
                      OFFLINE, {})
    assert "timestamp_precision" in [o.check_id for o in res.outcomes if o.status == FAILED]


def test_times_re_timed_to_whole_seconds_and_padded_are_no_precision(tmp_path: Path) -> None:
    """".000000" is six digits written and none carried: a log whose every time is a whole second, padded, fails
    (red team rt26: it passed on the digits written)."""
    events = _events()
    for e in events:
        for k in ("requestReceivedTimestamp", "stageTimestamp"):
            if isinstance(e.get(k), str) and "." in e[k]:
                e[k] = e[k][:19] + ".000000Z"
    assert "timestamp_precision" in _findings(_write(tmp_path, events))
    assert "timestamp_precision" not in _findings(_write(tmp_path, _events(), "ok.log"))


def test_the_stages_of_one_request_at_a_whole_second_are_one_chance(tmp_path: Path) -> None:
    """Each stage of a request carries its one requestReceivedTimestamp: a request received at .000000 (one in a
    million) wrote two such times, which were counted as two chances and failed a correct log (red team rt28, F4).
    In a log of some hundred events, one request at a whole second is chance; two are still beyond it, each found
    at its line."""
    events = [dict(e, auditID=f"{e['auditID'][:-4]}{k:04d}") for k in range(12) for e in _events()]  # 10^2 events+
    staged = [e["auditID"] for e in events if e["stage"] == "RequestReceived"]
    both = [a for a in staged if sum(e["auditID"] == a for e in events) >= 2]
    assert len(both) >= 2

    def whole(ids: list[str]) -> list[dict[str, Any]]:
        out = [dict(e) for e in events]
        for e in out:
            if e["auditID"] in ids:
                e["requestReceivedTimestamp"] = e["requestReceivedTimestamp"][:19] + ".000000Z"
        return out

    assert "timestamp_precision" not in _findings(_write(tmp_path, whole(both[:1])))
    found = _outcomes(_write(tmp_path, whole(both[:2]), "two.log"))["timestamp_precision"]
    lines = {int(w.rsplit(":", 1)[1]) for w, _m in found}
    assert len(found) >= 2 and all("whole second" in m for _w, m in found), found
    firsts = sorted(next(i for i, e in enumerate(events, 1) if e["auditID"] == a) for a in both[:2])
    assert lines == set(firsts), (lines, firsts)


def test_a_long_running_request_s_end_moved_back_in_the_file_is_caught(tmp_path: Path) -> None:
    """A watch's (or exec's, log's) ResponseComplete carries the requestReceivedTimestamp of its start, so its
    requestReceivedTimestamp tells nothing of its place; its stageTimestamp, when the API server wrote it, does. One
    moved 100 s back among the events (its stage 100 s before the events before it) goes back in time at its line.
    Before: excused as long-running."""
    events = _events()
    assert _findings(_write(tmp_path, events)) == {}
    i = _line(events, lambda e: e["verb"] == "watch" and e["stage"] == "ResponseComplete")
    from datetime import datetime, timedelta

    watch = events.pop(i)
    events.insert(i + 5, watch)  # five events later, its stage 100 s before the one now before it
    before = datetime.fromisoformat(events[i + 4]["stageTimestamp"].replace("Z", "+00:00"))
    watch["stageTimestamp"] = (before - timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    found = _outcomes(_write(tmp_path, events))
    assert list(found) == ["timestamp_accuracy"], found
    ((where, message),) = found["timestamp_accuracy"]
    assert where.endswith(f":{i + 6}") and "goes back in time" in message
