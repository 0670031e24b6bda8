"""The access review counts every reader, as `auditready access` does (review.py).

Before, the review was Vault/OpenBao only and missed three kinds of reader: whoever unwrapped a response-wrapped
read (the unwrap is a ``sys/`` request, linked to the read only by the HMAC digests of the wrapping token), the
tokens of a ``cubbyhole/`` path (each token's own, merged into one path), and every Kubernetes and CloudTrail
reader (a list or watch of a namespace's Secrets, a Secrets Manager or SSM read by any name, by filter or by
path). Each review below is asserted whole, on real OpenBao lines and the producers' fixtures of
tests/test_unseen_access.py; a log cut anywhere and merged gives the review of one pass (or the merge declines and
the file is read whole).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.config import Settings
from pytest_auditready.engine.files import detect
from pytest_auditready.review import Review, merged
from tests._native_runs import completed
from tests.conftest import assert_no_secret, log_copy
from tests.test_access_review import review_of
from tests.test_unseen_access import APP_ROLE, IAM, K8S, PARTIAL, SM, SM_ARN, SSM, kv_log  # noqa: F401

Ops = dict[str, list[int]]
DEFAULTS = Settings()


@pytest.fixture
def wrapped(request: pytest.FixtureRequest) -> Path:
    """Real OpenBao traffic with a response-wrapped read, its unwrap and two tokens' cubbyholes (``kv_log``)."""
    log: Path = request.getfixturevalue("kv_log")
    return log


def review(path: Path, base: Settings = DEFAULTS) -> dict[str, Any]:
    settings = detect(str(path), base)
    doc: dict[str, Any] = review_of([path], settings).report()
    return doc


def shape(doc: dict[str, Any]) -> dict[str, tuple[str, dict[str, tuple[Ops, dict[str, int]]]]]:
    """Per path: what it saw when it named no secret, and per identity its operations -> [requests, denied] and
    its sources."""
    return {p["path"]: (p.get("scope", ""), {i["display_name"]: ({op: [c["requests"], c["denied"]]
                                                          for op, c in i["operations"].items()}, i["sources"])
                                     for i in p["identities"]}) for p in doc["paths"]}


def _cut_and_merged(path: Path, tmp_path: Path, step: int = 1, base: Settings = DEFAULTS) -> tuple[int, int]:
    """Cut the log at every ``step``-th line, review each part alone (its state through JSON, as a part's is sent),
    merge: the review of one pass, or a declined merge (then the engine reads the file whole). (merged, declined)
    counts."""
    settings = detect(str(path), base)
    one = review_of([path], settings).report()
    lines = path.read_bytes().splitlines(keepends=True)
    done = declined = 0
    for k in range(1, len(lines), step):
        a, b = tmp_path / f"a{k}", tmp_path / f"b{k}"
        a.write_bytes(b"".join(lines[:k]))
        b.write_bytes(b"".join(lines[k:]))
        first = review_of([a], settings)
        later = Review.from_state(settings, json.loads(json.dumps(review_of([b], settings).state())))
        try:
            first.merge(later)
        except NotImplementedError:
            declined += 1
            continue
        assert first.report() == one, k
        done += 1
    return done, declined


# -- 1 and 2: Vault/OpenBao response wrapping and cubbyholes ---------------------------------------------------------
@pytest.mark.vault
def test_vault_an_unwrap_is_a_read_of_the_secret_by_whoever_unwrapped_it(wrapped: Path) -> None:
    """The lookup of the wrapping token is no read; the unwrap is, by token-receiver, linked to the wrapped read
    of token-reader by the HMAC digest of the wrapping token."""
    doc = review(wrapped)
    data = shape(doc)["secret/data/prod/db"]
    assert data[0] == ""
    assert {n: ops for n, (ops, _) in data[1].items()} == {
        # (one of the reader's reads was wrapped: it got a wrapping token, as `auditready access` says)
        "token-writer": {"create": [1, 0], "update": [1, 0]}, "token-reader": {"read": [2, 0], "read (wrapped)": [1, 0]},
        "token-receiver": {"unwrap": [1, 0]},  # whoever unwrapped the wrapped read saw the secret
        "token-intruder": {"read": [1, 1]}, "token": {"delete": [1, 0]}}
    assert not any(p.startswith("sys/") for p in shape(doc))  # the unwrap and the lookup are no secret paths
    assert_no_secret(json.dumps(doc))


@pytest.mark.vault
def test_vault_each_cubbyhole_is_its_tokens_own(wrapped: Path) -> None:
    doc = review(wrapped)
    got = shape(doc)
    # each token's cubbyhole is its own path, shown with its accessor (as `auditready access` shows it)
    cub = {p: v for p, v in got.items() if p.startswith("cubbyhole/")}
    by = {n: (p, ops) for p, (_, who) in cub.items() for n, (ops, _) in who.items()}
    assert set(by) == {"token-courier", "token-receiver"} and len(cub) == 2
    accessors = [list(p["identities"][0]["accessors"]) for p in doc["paths"] if p["path"] in cub]
    assert [p for p in doc["paths"] if p["path"] in cub] and all(len(a) == 1 for a in accessors)
    assert sorted(cub) == sorted(f"cubbyhole/prod/db (the cubbyhole of token {a[0]})" for a in accessors)
    assert accessors[0] != accessors[1]
    assert by["token-courier"][1] == {"create": [1, 0], "read": [1, 0]}
    assert by["token-receiver"][1] == {"read": [1, 0]}
    assert "cubbyhole/prod/db" not in got
    assert_no_secret(json.dumps(doc))


@pytest.mark.vault
def test_vault_wrap_and_unwrap_in_two_parts_merge_as_one_pass(wrapped: Path, tmp_path: Path) -> None:
    done, declined = _cut_and_merged(wrapped, tmp_path)
    assert done and declined  # a cut between the wrapped read and its unwrap declines: the file is read whole
    # two files (a rotation between the read and the unwrap): the unwrap is still credited to the secret
    lines = wrapped.read_bytes().splitlines(keepends=True)
    cut = next(k for k, ln in enumerate(lines) if b"sys/wrapping/unwrap" in ln)
    a, b = tmp_path / "1.log", tmp_path / "2.log"
    a.write_bytes(b"".join(lines[:cut]))
    b.write_bytes(b"".join(lines[cut:]))
    settings = detect(str(wrapped), Settings())
    both = merged(settings, [review_of([a], settings).state(), review_of([b], settings).state()])
    assert both is not None
    ops = {i["display_name"]: i["operations"] for p in both.report()["paths"] if p["path"] == "secret/data/prod/db"
           for i in p["identities"]}
    assert ops["token-receiver"] == {"unwrap": {"requests": 1, "denied": 0}}


# -- 3: Kubernetes and CloudTrail ------------------------------------------------------------------------------------
DB = "api/v1/namespaces/prod/secrets/db"
PROD = "api/v1/namespaces/prod/secrets"
K8S_IP = {"10.244.1.17": 1}


def _k(op: str, denied: int = 0) -> tuple[Ops, dict[str, int]]:
    return {op: [1, denied]}, K8S_IP


K8S_REVIEW = {
    DB: ("", {"admin@example.com as system:serviceaccount:prod:app": _k("get"), "frank@example.com": _k("watch"),
              "grace@example.com": _k("get"), "jane@example.com": _k("list"),
              "system:serviceaccount:prod:app": _k("get"), "terraform@example.com": _k("create")}),
    f"{PROD} (all secrets in namespace prod)": ("all secrets in namespace prod", {
        "eve@example.com": _k("list", 1), "system:serviceaccount:ci:deployer": _k("list"),
        "system:serviceaccount:monitoring:agent": _k("watch")}),
    "api/v1/namespaces/dev/secrets (all secrets in namespace dev)": ("all secrets in namespace dev", {
        "dave@example.com": _k("list")}),
    f"{PROD} (the secrets in namespace prod matching labelSelector app.kubernetes.io/name=db, which ones the log "
    "does not say)": ("the secrets in namespace prod matching labelSelector app.kubernetes.io/name=db, which ones "
                      "the log does not say", {"carol@example.com": _k("list")}),
    "api/v1/namespaces/prod/secrets/payments": ("", {"bob@example.com": _k("list")}),
    "api/v1/secrets (all secrets in the cluster)": ("all secrets in the cluster", {
        "system:serviceaccount:kube-system:backup": _k("list")}),
}


def test_kubernetes_every_secret_reader_named_or_not() -> None:
    """Not reviewed: the ConfigMaps list and the pod exec (no Secret). A request logged at three stages counts
    once; the one whose RequestReceived a Panic follows, once."""
    doc = review(K8S)
    assert shape(doc) == K8S_REVIEW
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (13, 1, 6)
    assert doc["settings"]["paths"] == ["every Kubernetes Secret"]


def test_kubernetes_cut_anywhere_merges_as_one_pass(tmp_path: Path) -> None:
    done, _ = _cut_and_merged(K8S, tmp_path)
    assert done


SM_IP = {"203.0.113.10": 1}


def _c(op: str, denied: int = 0) -> tuple[Ops, dict[str, int]]:
    return {op: [1, denied]}, SM_IP


def _filters(f: str) -> str:
    return f"every secret matching the filters {f}, which ones the log does not say"


SM_REVIEW = {
    PARTIAL: ("", {IAM + "bob": _c("GetSecretValue"), IAM + "ci": _c("GetSecretValue"),
                   IAM + "etl": _c("BatchGetSecretValue"), IAM + "eve": _c("GetSecretValue", 1),
                   IAM + "grace": _c("GetParameter withDecryption"), APP_ROLE: _c("GetSecretValue")}),
    SM_ARN + "prod/api": ("", {IAM + "etl": _c("BatchGetSecretValue"), IAM + "henry": _c("BatchGetSecretValue")}),
    SM_ARN + "prod/db-replica": ("", {IAM + "frank": _c("GetSecretValue")}),
    **{f"filters {f} ({_filters(f)})": (_filters(f), {IAM + who: _c("BatchGetSecretValue")})
       for f, who in (("name=dev/", "dave"), ("name=prod/", "alice"), ("tag-key=team", "carol"))},
}
SSM_REVIEW = {
    "/prod/db/password": ("", {IAM + "bob": _c("GetParameter"), IAM + "ci": _c("GetParameters withDecryption"),
                               IAM + "erin": _c("GetParameter"), IAM + "eve": _c("GetParameter withDecryption", 1),
                               APP_ROLE: _c("GetParameter withDecryption")}),
    "/prod/ (every parameter under /prod/ (one level))": ("every parameter under /prod/ (one level)", {
        IAM + "carol": _c("GetParametersByPath")}),
    "/prod/ (every parameter under /prod/ and below)": ("every parameter under /prod/ and below", {
        IAM + "alice": _c("GetParametersByPath withDecryption")}),
    "/prod/db (every parameter under /prod/db (one level))": ("every parameter under /prod/db (one level)", {
        IAM + "dave": _c("GetParametersByPath withDecryption")}),
    "/prod/db/password-old": ("", {IAM + "frank": _c("GetParameter withDecryption")}),
    "/prod/db/user": ("", {IAM + "ci": _c("GetParameters withDecryption")}),
}


def test_secrets_manager_reads_by_any_name_by_list_and_by_filter() -> None:
    """One secret however it was named (name, partial or full ARN, through Parameter Store); a batch by list on
    each secret it returned (one request); a batch by filter on what it asked for. Not reviewed: the KMS
    Decrypt (no secret by itself)."""
    doc = review(SM)
    assert shape(doc) == SM_REVIEW
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (11, 1, 3)


def test_ssm_parameter_reads_by_name_and_by_path() -> None:
    doc = review(SSM)
    assert shape(doc) == SSM_REVIEW
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (9, 1, 3)


def test_kubernetes_cut_between_the_stages_of_each_request_merges_as_one_pass(tmp_path: Path) -> None:
    """Every request's RequestReceived event on one side of the cut and its last stage on the other, and one
    request logged at RequestReceived only (counted at the end): the review (bursts, off-hours reads, runs of
    denied reads, lists that named no secret) is the one of one pass. (The engine reads a Kubernetes log whole
    today, completeness does not split it; the review's merge is ready for when it does.)"""
    head, done = K8S.read_text().splitlines()[:2]
    pad = "x" * 400

    def event(line: str, i: int) -> str:
        user = ("app", "ci", "eve")[i % 3]
        uri = "/api/v1/namespaces/prod/secrets" if i % 7 == 0 else f"/api/v1/namespaces/prod/secrets/s{i % 5}"
        minute = i // 5  # 17:00 to 20:00: past the working hours
        t = f"2026-01-05T{17 + minute // 60:02d}:{minute % 60:02d}:{i % 60:02d}.{i:06d}Z"
        staged = f"{t[:-7]}{i + 1840:06d}Z"  # (a stage past RequestReceived: a later reading of the clock)
        return (line.replace("0a4e06be-45aa-5148-9dd0-d3048b803ddd", f"id-{i:06d}")
                .replace('"username":"system:serviceaccount:prod:app"', f'"username":"{user}"')
                .replace("/api/v1/namespaces/prod/secrets/db", uri)
                .replace('"verb":"get"', '"verb":"list"' if i % 7 == 0 else '"verb":"get"')
                .replace('"code":200', f'"code":{403 if user == "eve" else 200}')
                .replace("2026-01-05T09:01:00.000001Z", t).replace("2026-01-05T09:01:00.001841Z", staged)
                .replace("app/1.4.2 (linux/amd64) kubernetes/client-go", pad))

    n = 900
    lines = [event(head, 0)]
    for i in range(1, n):  # the last stage of the request before each one's first: any cut parts a request
        lines += [event(head, i), event(done, i - 1)]
    log = tmp_path / "k8s.log"
    log.write_text("\n".join(lines) + "\n")
    dense = Settings(review_burst_reads=3, review_burst_seconds=600)
    doc = review(log, dense)
    # eve's last request has no last stage: counted at its RequestReceived event, not known to be denied
    assert (doc["requests"], doc["denied"], doc["unnamed"]) == (n, n // 3 - 1, len(range(0, n, 7)))
    assert {i["pattern"] for i in doc["items"]} == {"burst", "off_hours", "denied_run"}
    done_n, declined = _cut_and_merged(log, tmp_path, 97, dense)
    assert done_n == len(range(1, len(lines), 97)) and not declined


@pytest.mark.parametrize(("code", "served"), [(200, True), (404, False), (429, False), (500, False), (403, False)])
def test_kubernetes_reads_answered_with_an_error_are_no_reads_served(tmp_path: Path, code: int, served: bool) -> None:
    """25 gets of a Secret within seconds: a burst of reads when the API server answered 200. Answered 404, 429
    (throttled) or 500 they returned nothing, and they were a burst of "reads" too (red team rt31, F7); 403 is a
    refused read, a denied run."""
    head, done = K8S.read_text().splitlines()[:2]
    lines = []
    for i in range(25):
        t = f"2026-01-05T09:01:{i:02d}.{i + 1:06d}Z"
        staged = f"2026-01-05T09:01:{i:02d}.{i + 1841:06d}Z"  # (past RequestReceived: a later reading)
        lines += [ev.replace("0a4e06be-45aa-5148-9dd0-d3048b803ddd", f"id-{i:06d}")
                  .replace("2026-01-05T09:01:00.000001Z", t).replace("2026-01-05T09:01:00.001841Z", staged)
                  .replace('"code":200', f'"code":{code}')
                  for ev in (head, done)]
    log = tmp_path / "k8s.log"
    log.write_text("\n".join(lines) + "\n")
    doc = review(log)
    assert doc["requests"] == 25
    patterns = {i["pattern"] for i in doc["items"]}
    assert ("burst" in patterns) is served and ("denied_run" in patterns) is (code == 403), doc["items"]


def test_verify_puts_the_kubernetes_review_in_the_evidence_bundle(tmp_path: Path) -> None:
    """`auditready verify` of a Kubernetes log: the review is in evidence.json (as above) and report.html, which
    says apart the requests that named no secret."""
    import html

    ev = tmp_path / "ev"
    proc = completed(["verify", str(K8S), "--evidence", str(ev)], tmp_path, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    assert "access review: 6 paths, 13 identities" in proc.stdout
    doc = json.loads((ev / "evidence.json").read_text())["review"]
    assert shape(doc) == K8S_REVIEW
    page = (ev / "report.html").read_text()
    assert "13 requests (1 denied, 6 named no secret but saw every one they took in)" in page
    assert html.escape(f"{PROD} (all secrets in namespace prod)") in page


@pytest.fixture
def rewrapped(bao: Any, tmp_path: Path) -> Path:
    """Real OpenBao traffic: a response-wrapped read, its token rewrapped by another token, the new token
    unwrapped with itself as the client token, and a late unwrap of the old (revoked) token."""
    from pytest_auditready.vault.client import VaultClient
    from tests.conftest import remember_secret
    from tests.test_unseen_access import _token

    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        rules = 'path "secret/data/prod/*" { capabilities = ["read"] }'
        assert admin.call("PUT", "sys/policies/acl/r2", {"policy": rules}).status == 204
        rewrap = 'path "sys/wrapping/rewrap" { capabilities = ["update"] }'
        assert admin.call("PUT", "sys/policies/acl/rw", {"policy": rewrap}).status == 204
        assert admin.call("POST", "secret/data/prod/api", {"data": {"v": "e" * 24}}).status == 200
        reader, courier = _token(admin, "reader", ["r2"]), _token(admin, "courier", ["rw"])
        late = _token(admin, "late", ["default"])
        got = reader.call("GET", "secret/data/prod/api", headers={"X-Vault-Wrap-TTL": "60s"})
        assert got.status == 200, got.error
        old = remember_secret(str((got.body or {})["wrap_info"]["token"]))
        again = courier.call("POST", "sys/wrapping/rewrap", {"token": old})
        assert again.status == 200, again.error
        new = remember_secret(str((again.body or {})["wrap_info"]["token"]))
        assert admin.with_token(new).call("POST", "sys/wrapping/unwrap").status == 200  # the token as client token
        assert late.call("POST", "sys/wrapping/unwrap", {"token": old}).status >= 400  # revoked by the rewrap
    finally:
        admin.close()
    return log_copy(server, tmp_path)


@pytest.mark.vault
def test_vault_an_unwrap_after_a_rewrap_is_a_read_of_the_secret(rewrapped: Path, tmp_path: Path) -> None:
    """The rewrap's new token wraps what the old one did: its unwrap is a read of the secret, and so is the refused
    attempt on the old token (denied). Cut anywhere, the review merges as one pass or declines."""
    doc = review(rewrapped)
    local = {"127.0.0.1": 1}
    assert shape(doc)["secret/data/prod/api"] == ("", {
        "token": ({"create": [1, 0]}, local), "token-reader": ({"read (wrapped)": [1, 0]}, local),
        # the new token, sent as the client token, is logged with the name of the rewrap's token: whoever held it
        # sent it, named as such (red team rt5), never as the courier's own unwrap
        "holder of a wrapping token from token-courier": ({"unwrap": [1, 0]}, local),
        "": ({"unwrap": [1, 1]}, local)})  # the old token: refused before the vault says who sent it
    assert_no_secret(json.dumps(doc))
    done, declined = _cut_and_merged(rewrapped, tmp_path)
    assert done and declined


def test_a_path_of_megabytes_is_shown_bounded_and_two_such_paths_stay_two(tmp_path: Path) -> None:
    """One hostile line (a request path of 300,000 characters) was copied whole into every place the review shows
    a path: a 2 MB path made a 6 MB report.html (red team rt32, F11). Shown: its head, its length and its
    fingerprint; two long paths with one head are two rows."""
    text = (Path(__file__).resolve().parent.parent / "fixtures/openbao/clean.log").read_text()
    long1, long2 = "secret/data/" + "A" * 300_000 + "/x", "secret/data/" + "A" * 300_000 + "/y"
    text = text.replace('"path":"secret/data/app-c9d897/app1/db"', f'"path":"{long1}"')
    text = text.replace('"path":"secret/data/app-c9d897/app2/db"', f'"path":"{long2}"')
    log = tmp_path / "audit.log"
    log.write_text(text)
    doc = review(log)
    shown = [p["path"] for p in doc["paths"]]
    assert "secret/data/app-c9d897/app0/db" in shown  # a path of a usual length, whole
    long_rows = [p for p in shown if "(300014 characters, sha256 " in p]
    assert len(long_rows) == 2 and all(len(p) < 1100 for p in long_rows), [p[-60:] for p in long_rows]
    assert len(json.dumps(doc)) < 100_000
