"""A checker that cries wolf gets switched off: no false finding of no_secret_leak or data_minimisation on correct
logs full of random identifiers, as a property over many freshly randomised entries of every producer.

Each producer's correct entries (its real fixtures: fixtures/openbao, fixtures/vault/unseen, fixtures/k8s/{real,
unseen,wild}, fixtures/cloudtrail/{real,unseen,lines}, fixtures/jsonl/unseen) are the templates: every identifier in
them (a run of 7 or more letters and digits that holds a digit: UUIDs, ULIDs, hex suffixes, hashes, accessors,
lease ids, request and event ids, account and project numbers) is redrawn at random from its own alphabet, and ids
the templates lack are put where the producer writes them (Kubernetes pod names of the ReplicaSet hash alphabet,
S3 version ids, KMS key ids, AWS request ids, Okta targets, Compute Engine instance ids, GitHub's numeric ids and
epoch milliseconds). ``auditready verify`` with random canaries that are not in the log must find nothing. Then each
identifier class a detector mistook for a secret or personal data is drawn many times in the very shape that fooled
it, and the real thing planted in the same place must still be caught at its line.

Seeds: SEEDS, widened by AUDITREADY_FUZZ_SEEDS ("1,2,3" or a count "20"); entries per producer and seed: ENTRIES,
or AUDITREADY_FUZZ_ENTRIES.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import string
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.cli import main
from pytest_auditready.scan.secrets import json_document

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS = ("no_secret_leak", "data_minimisation")


def _seeds() -> list[int]:
    extra = os.environ.get("AUDITREADY_FUZZ_SEEDS", "").strip()
    if not extra:
        return [11, 23]
    if extra.isdigit():
        return list(range(1, int(extra) + 1))
    return [int(s) for s in extra.split(",") if s.strip()]


SEEDS = _seeds()
ENTRIES = int(os.environ.get("AUDITREADY_FUZZ_ENTRIES", "150"))

OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
# producer -> (fixtures, --format, field_map for JSON lines)
PRODUCERS: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    # (not odd/correct-accessors-in-clear.log: hmac_accessor=false is a finding, tests/test_unseen_digests.py)
    "openbao": (("openbao/clean.log", "openbao/odd/correct.log", "openbao/unseen/oidc-login.log"), "vault", {}),
    "vault": (tuple(f"vault/unseen/{p.name}" for p in sorted((ROOT / "vault" / "unseen").glob("*.log"))), "vault", {}),
    "k8s": (("k8s/real/correct.log", "k8s/unseen/correct.log", "k8s/wild/correct.log"), "k8s", {}),
    "cloudtrail": (("cloudtrail/real/correct.json", "cloudtrail/unseen/correct.json", "cloudtrail/lines/correct.jsonl"),
                   "cloudtrail", {}),
    "azure-keyvault": (("jsonl/unseen/azure-keyvault.jsonl",), "jsonl", {
        "time": "time", "identity": f"identity.claim.{OID}", "resource": "properties.requestUri",
        "action": "operationName", "result": "resultSignature", "source": "callerIpAddress",
        "request_id": "correlationId"}),
    "gcp-secretmanager": (("jsonl/unseen/gcp-secretmanager.jsonl",), "jsonl", {
        "time": "timestamp", "identity": "protoPayload.authenticationInfo.principalEmail",
        "resource": "protoPayload.resourceName", "action": "protoPayload.methodName", "result": "protoPayload.status",
        "source": "protoPayload.requestMetadata.callerIp", "request_id": "insertId"}),
    "okta": (("jsonl/unseen/okta-systemlog.jsonl",), "jsonl", {
        "time": "published", "identity": "actor.alternateId", "resource": "target.0.alternateId",
        "action": "eventType", "result": "outcome.result", "source": "client.ipAddress", "request_id": "uuid"}),
    "github": (("jsonl/unseen/github-audit-stream.jsonl",), "jsonl", {
        "time": "@timestamp", "identity": "actor", "resource": "org", "action": "action",
        "result": "operation_type", "source": "actor_ip", "request_id": "_document_id"}),
    "teleport": (("jsonl/unseen/teleport-events.jsonl",), "jsonl", {
        "time": "time", "identity": "user", "resource": "cluster_name", "action": "event", "result": "success",
        "source": "addr.remote", "request_id": "uid"}),
    "1password": (("jsonl/unseen/1password-itemusages.jsonl",), "jsonl", {
        "time": "timestamp", "identity": "user.email", "resource": "item_uuid", "action": "action",
        "result": "action", "source": "client.ip_address", "request_id": "uuid"}),
}

B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER36 = string.ascii_uppercase + string.digits
K8S_RAND = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand's alphabet: generated names, pod-template-hash


def _templates(producer: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rel in PRODUCERS[producer][0]:
        text = (ROOT / rel).read_text()
        if rel.endswith(".json"):
            doc = json.loads(text)
            rows.extend(doc["Records"] if isinstance(doc, dict) else doc)
        else:
            rows.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return rows


# -- redrawing identifiers ----------------------------------------------------------------------------------------

_RUN = re.compile(r"(?<!hmac-)(?<!%)[A-Za-z0-9]{7,}")  # not the digest's algorithm, not a %XX escape's tail
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_AWS_ID_PREFIX = re.compile(r"A(?:KIA|SIA|ROA|IDA|GPA|NPA|NVA|IPA)[A-Z0-9]{12,}\Z")  # kept: it says what the id is
_KEEP_KEYS = frozenset({"eventVersion", "apiVersion", "@type", "logName"})


def _redraw(rng: random.Random, run: str) -> str:
    """A fresh identifier of ``run``'s length from ``run``'s own alphabet (hex stays hex, decimal stays decimal)."""
    if not any(c.isdigit() for c in run):
        return run  # a word
    if _AWS_ID_PREFIX.match(run):
        return run[:4] + "".join(rng.choice(UPPER36) for _ in run[4:])
    if run.isdigit():
        first = rng.choice("123456789") if run[0] != "0" else rng.choice(string.digits)
        return first + "".join(rng.choice(string.digits) for _ in run[1:])
    for alphabet in (HEX, HEX.upper(), string.ascii_lowercase + string.digits, UPPER36):
        if all(c in alphabet for c in run):
            return "".join(rng.choice(alphabet) for _ in run)
    return "".join(rng.choice(B62) for _ in run)


def _fresh(rng: random.Random, obj: Any, key: str = "") -> Any:
    """``obj`` with every identifier redrawn; times, e-mail addresses, PEM text and embedded documents kept."""
    if isinstance(obj, dict):
        return {k: _fresh(rng, v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fresh(rng, v, key) for v in obj]
    if isinstance(obj, str):
        if (key in _KEEP_KEYS or _TIME.search(obj) or "@" in obj or obj.startswith(("-----", "LS0tLS1"))
                or json_document(obj) is not None):
            return obj
        return _RUN.sub(lambda m: _redraw(rng, m.group(0)), obj)
    return obj


def _rand(rng: random.Random, n: int, alphabet: str = B62) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _pod(rng: random.Random) -> str:
    deployment = rng.choice(["app", "coredns", "ingress-nginx-controller", "cluster-autoscaler", "payments-api",
                             "aws-load-balancer-controller", "kube-state-metrics", "external-secrets-webhook"])
    return f"{deployment}-{_rand(rng, rng.randint(8, 10), K8S_RAND)}-{_rand(rng, 5, K8S_RAND)}"


def _place(rng: random.Random, producer: str, row: dict[str, Any]) -> dict[str, Any]:
    """Fresh ids of the kinds the templates lack, where the producer writes them."""
    if producer == "k8s":
        ref = row.get("objectRef")
        pod = _pod(rng)
        if isinstance(ref, dict) and ref.get("resource") == "pods" and ref.get("name"):
            ref["name"] = pod
            uri = row.get("requestURI")
            if isinstance(uri, str):
                row["requestURI"] = re.sub(r"/pods/[^/?]+", "/pods/" + pod, uri)
        extra = (row.get("user") or {}).get("extra")
        if isinstance(extra, dict) and "authentication.kubernetes.io/pod-name" in extra:
            extra["authentication.kubernetes.io/pod-name"] = [pod]
            extra["authentication.kubernetes.io/pod-uid"] = [str(uuid.UUID(int=rng.getrandbits(128), version=4))]
    elif producer == "cloudtrail":
        row["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if "requestID" in row:
            row["requestID"] = rng.choice([str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                           _rand(rng, 16, HEX.upper()), _rand(rng, 52, B62 + "+/")])
        params = row.get("requestParameters")
        if isinstance(params, dict):
            if "keyId" in params:
                params["keyId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if "versionId" in params:
                params["versionId"] = _rand(rng, 32, B62 + "._")
    elif producer == "okta":
        if rng.random() < 0.3:  # an admin's action on another user, named by its login
            login = f"{_rand(rng, 6, string.ascii_lowercase)}.{_rand(rng, 5, string.ascii_lowercase)}@example.org"
            row["eventType"] = rng.choice(["group.user_membership.add", "user.lifecycle.create",
                                           "user.account.reset_password"])
            row["target"] = [{"id": "00u" + _rand(rng, 17), "type": "User", "alternateId": login,
                              "displayName": login.split("@")[0].replace(".", " ").title(), "detailEntry": None},
                             {"id": "00g" + _rand(rng, 17), "type": "UserGroup", "alternateId": "unknown",
                              "displayName": "Engineering", "detailEntry": None}]
        debug = (row.get("debugContext") or {}).get("debugData")
        if isinstance(debug, dict) and "requestId" in debug:
            debug["requestId"] = _rand(rng, 24, B62 + "-_")
    elif producer == "gcp-secretmanager":
        labels = row.setdefault("resource", {}).setdefault("labels", {})
        if rng.random() < 0.5:
            row["resource"]["type"] = "gce_instance"
            labels.clear()
            labels.update({"project_id": "example-prod", "zone": "europe-west4-a",
                           "instance_id": str(rng.randint(10**18, 10**19 - 1))})
        row["trace"] = "projects/example-prod/traces/" + _rand(rng, 32, HEX)
        row["spanId"] = _rand(rng, 16, HEX)
    elif producer == "github":
        for k in ("actor_id", "org_id", "user_id", "repository_id", "business_id"):
            row[k] = rng.randint(10**6, 10**10)
        row["created_at"] = row["@timestamp"] = rng.randint(1_700_000_000_000, 1_800_000_000_000)
        row["_document_id"] = _rand(rng, 22, B62 + "-_")
    return row


# -- running auditready verify --------------------------------------------------------------------------------------

def _verify(tmp_path: Path, producer: str, rows: list[Any], rng: random.Random) -> list[tuple[str, str, str]]:
    """(check, where, message) of each no_secret_leak and data_minimisation finding of ``auditready verify`` over
    ``rows``, with random canaries that are not in the log."""
    _, fmt, field_map = PRODUCERS[producer]
    log = tmp_path / f"{producer}.log"
    log.write_text("".join((r if isinstance(r, str) else json.dumps(r, separators=(",", ":"))) + "\n"
                           for r in rows))
    canaries = tmp_path / "canaries.txt"
    canaries.write_text("".join(_rand(rng, rng.randint(20, 40)) + "\n" for _ in range(3)))
    text = log.read_text()
    assert not any(c in text for c in canaries.read_text().split())
    config = tmp_path / "auditready.toml"
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in field_map.items())
    config.write_text("[tool.auditready]\n" + (f"field_map = {{{table}}}\n" if table else ""))
    for p in (log, canaries, config):
        p.chmod(0o600)
    out = tmp_path / "report.json"
    code = main(["verify", "--jobs", "1", "-q", str(log), "--format", fmt, "--canaries", str(canaries),
                 "--config", str(config), "--json", str(out)])
    assert code in (0, 1)
    report = json.loads(out.read_text())
    found = [(o["check"], f.get("where", ""), f["message"]) for o in report["outcomes"] if o["check"] in CHECKS
             for f in o["findings"]]
    judged = {o["check"]: o["status"] for o in report["outcomes"] if o["check"] in CHECKS}
    assert judged == {c: "failed" if any(f[0] == c for f in found) else "passed" for c in CHECKS}, judged
    return found


def _lines(found: list[tuple[str, str, str]], check: str) -> set[int]:
    return {int(w.rsplit(":", 1)[1]) for c, w, _ in found if c == check and re.search(r":\d+\Z", w)}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("producer", sorted(PRODUCERS))
def test_correct_entries_with_fresh_random_ids_give_no_finding(tmp_path: Path, producer: str, seed: int) -> None:
    """ENTRIES correct entries of each producer, every identifier freshly drawn: not one finding."""
    rng = random.Random(f"{producer}/{seed}")
    templates = _templates(producer)
    rows = [_place(rng, producer, _fresh(rng, rng.choice(templates))) for _ in range(ENTRIES)]
    assert _verify(tmp_path, producer, rows, rng) == []


# -- each class that cried wolf, drawn in the shape that fooled a detector; the real thing in its place caught ------

def _rows(producer: str, n: int, rng: random.Random, change: Callable[[dict[str, Any], int], None]
          ) -> list[dict[str, Any]]:
    templates = _templates(producer)
    out = []
    for i in range(n):
        row = _fresh(rng, rng.choice(templates))
        change(row, i)
        out.append(row)
    return out


def _upper_id_holding(rng: random.Random, inner: str) -> str:
    """A 26-character uppercase id (1Password's uuid alphabet) with ``inner`` somewhere inside, not at an edge."""
    at = rng.randint(1, 26 - len(inner) - 1)
    return _rand(rng, at, UPPER36) + inner + _rand(rng, 26 - at - len(inner), UPPER36)


AWS_KEY_ID = "AKIA" + "Q3EGRMXT7VNB4YHW"  # an access key id's shape (not a real key)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Vb4Tm2E"  # a secret access key's shape (not a real key)
GITHUB_TOKEN = "ghp_" + "R7aQ2mZt9XkLc4VbN8pWs1YhJd6Fg3EuTo5B"  # a GitHub personal access token's shape
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIiwiaWF0IjoxNzAwMDAwMDAwfQ"
       ".Yq3nV8Hk2LmP9rT4wX7zB1cD5fG6hJ0kL2mN3oP4qR8")
PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98sPxXnU0r3m1QYk9LhZcW2vT5yN8aE4fJ6gH1iK0lM3n\n"
               "-----END RSA PRIVATE KEY-----\n")
ARTIFACTORY_KEY = "AKCp8" + "kR2mT9vX4bN7qL1zW6yH3jF5dS8gA0cE2uP4oI7tY9rK3wQ6xM1nB5vC8zL2aD4fG7hJ0kS3pU6"[:68]


def test_uppercase_ids_that_hold_an_access_key_ids_shape_are_no_key(tmp_path: Path) -> None:
    """1Password's 26-character uppercase uuids (item, vault, event) that hold A3T?/AKIA/ASIA + 16 characters
    inside: part of another id, not an AWS access key id (one such id in a few thousand). Failed before: "looks like
    a AWS Access Key". The key id standing alone, and a secret access key, in the same record: still caught."""
    rng = random.Random(7)

    def change(row: dict[str, Any], i: int) -> None:
        for k in ("uuid", "item_uuid", "vault_uuid"):
            row[k] = _upper_id_holding(rng, rng.choice(["A3T", "AKIA", "ASIA", "ABIA", "ACCA"])
                                       + _rand(rng, 17 if i % 2 else 16, UPPER36))

    rows = _rows("1password", 40, rng, change)
    assert _verify(tmp_path, "1password", rows, rng) == []
    rows[10]["client"]["app_name"] = f"aws-cli aws_access_key_id={AWS_KEY_ID}"
    rows[25]["details"] = {"note": f'aws_secret_access_key = "{AWS_SECRET}"'}
    found = _verify(tmp_path, "1password", rows, rng)
    assert _lines(found, "no_secret_leak") == {11, 26}, found


def test_ids_that_start_like_an_artifactory_password_are_no_credential_under_id_keys(tmp_path: Path) -> None:
    """Okta's requestId and 1Password's uuids that start with AP and a hex digit (Artifactory's encrypted password
    prefix) or AKC: random ids, under keys that name ids. Failed before: "looks like a Artifactory Credentials". An
    Artifactory API key under an id key, and an AP password under a key that is no id, are still caught."""
    rng = random.Random(8)

    def change(row: dict[str, Any], i: int) -> None:
        head = rng.choice(["AP" + rng.choice("0123456789ABCDEF"), "AKC"])
        for k in ("uuid", "item_uuid", "vault_uuid"):
            row[k] = head + _rand(rng, 23, UPPER36)

    rows = _rows("1password", 40, rng, change)
    assert _verify(tmp_path, "1password", rows, rng) == []
    rows[5]["item_uuid"] = ARTIFACTORY_KEY
    rows[30]["details"] = {"note": "AP6" + _rand(rng, 30)}
    found = _verify(tmp_path, "1password", rows, rng)
    assert _lines(found, "no_secret_leak") == {6, 31}, found

    def okta(row: dict[str, Any], i: int) -> None:
        debug = row["debugContext"]["debugData"]
        debug["requestId"] = "AP" + rng.choice("0123456789ABCDEF") + _rand(rng, 21, B62 + "-_")

    rows = _rows("okta", 40, rng, okta)
    assert _verify(tmp_path, "okta", rows, rng) == []


def _entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    return -sum(text.count(c) / len(text) * math.log2(text.count(c) / len(text)) for c in set(text)) if text else 0.0


def test_kubernetes_generated_pod_names_are_no_secret(tmp_path: Path) -> None:
    """Pod names the ReplicaSet and its controller generate (<deployment>-<hash>-<5>, apimachinery's alphabet), in
    objectRef.name, the requestURI and a service account token's pod-name extra: about one in a hundred of a
    deployment named with many distinct letters (vault-agent-injector) reads as high-entropy base64; drawn from those.
    Failed before. A GitHub token, a JWT and a private key in the same places: still caught."""
    rng = random.Random(9)
    templates = [t for t in _templates("k8s") if (t.get("objectRef") or {}).get("resource") == "pods"
                 and (t.get("objectRef") or {}).get("name")]
    extra_tpl = [t for t in _templates("k8s")
                 if "authentication.kubernetes.io/pod-name" in ((t.get("user") or {}).get("extra") or {})]
    assert templates and extra_tpl
    rows: list[dict[str, Any]] = []
    for i in range(40):
        row = _fresh(rng, rng.choice(templates if i % 2 else extra_tpl))
        pod = ""
        while _entropy(pod) <= 4.5:  # the names that read as high-entropy base64 (1 in 100 of these deployments')
            pod = (f"{rng.choice(['vault-agent-injector', 'quickwit-indexer', 'jupyterhub-idle-culler'])}-"
                   f"{_rand(rng, rng.choice([9, 10]), K8S_RAND)}-{_rand(rng, 5, K8S_RAND)}")
        if i % 2:
            row["objectRef"]["name"] = pod
            row["requestURI"] = re.sub(r"/pods/[^/?]+", "/pods/" + pod, row["requestURI"])
        else:
            row["user"]["extra"]["authentication.kubernetes.io/pod-name"] = [pod]
        rows.append(row)
    assert _verify(tmp_path, "k8s", rows, rng) == []
    rows[3]["user"]["extra"]["authentication.kubernetes.io/pod-name"] = [GITHUB_TOKEN]
    rows[7]["requestURI"] = re.sub(r"/pods/[^/?]+", "/pods/" + JWT, rows[7]["requestURI"])
    rows[9]["objectRef"]["name"] = PRIVATE_KEY
    found = _verify(tmp_path, "k8s", rows, rng)
    assert _lines(found, "no_secret_leak") == {4, 8, 10}, found


def test_resource_names_are_judged_id_by_id(tmp_path: Path) -> None:
    """A Google Cloud LogEntry's trace ("projects/<project>/traces/<32 hex digits>", AIP-122 resource name) reads
    whole as high-entropy base64, and its trace id alone as hex: no finding (failed before: "a Base64 High Entropy
    String" under 'trace'). A GitHub token as a resource name's id, and an AWS secret access key (slashes and all)
    under the same key, are still caught."""
    rng = random.Random(13)

    def change(row: dict[str, Any], i: int) -> None:
        project = rng.choice(["example-prod", "payments-eu-west4-7f3k", "sre-observability-2291"])
        row["trace"] = f"projects/{project}/traces/{_rand(rng, 32, HEX)}"
        row["spanId"] = _rand(rng, 16, HEX)

    rows = _rows("gcp-secretmanager", 40, rng, change)
    assert _verify(tmp_path, "gcp-secretmanager", rows, rng) == []
    rows[6]["trace"] = f"projects/example-prod/secrets/{GITHUB_TOKEN}"
    rows[20]["trace"] = AWS_SECRET
    found = _verify(tmp_path, "gcp-secretmanager", rows, rng)
    assert _lines(found, "no_secret_leak") == {7, 21}, found


def _luhn_visa(rng: random.Random) -> str:
    while True:
        n = "4" + _rand(rng, 18, string.digits)
        total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if int(d) > 4 else 2 * int(d))
                    for i, d in enumerate(reversed(n)))
        if total % 10 == 0:
            return n


def test_compute_engine_instance_ids_in_an_audit_entrys_resource_labels_are_no_card(tmp_path: Path) -> None:
    """A Google Cloud audit entry names a VM by its monitored resource's instance_id, 19 decimal digits: one in
    twenty passes a card network's prefix and Luhn. Drawn from those only: no finding (failed before: "a Visa card
    number ... in field 'resource.labels.instance_id'"). The same number in what the caller sent, and in a
    resource label of a log that is no audit log (written by anyone) under a key that names no id (an id key's
    digits alone are an id anywhere: red team rt98 F2), is still a card number."""
    rng = random.Random(10)

    def change(row: dict[str, Any], i: int) -> None:
        row["resource"] = {"type": "gce_instance", "labels": {"project_id": "example-prod", "zone": "europe-west4-a",
                                                                "instance_id": _luhn_visa(rng)}}

    rows = _rows("gcp-secretmanager", 40, rng, change)
    assert _verify(tmp_path, "gcp-secretmanager", rows, rng) == []
    rows[4]["protoPayload"].setdefault("request", {})["description"] = "card " + _luhn_visa(rng)
    rows[12]["logName"] = "projects/example-prod/logs/my-app"
    rows[12]["resource"]["labels"]["machine"] = _luhn_visa(rng)
    found = _verify(tmp_path, "gcp-secretmanager", rows, rng)
    assert _lines(found, "data_minimisation") == {5, 13}, found


def test_okta_user_targets_are_named_by_their_login(tmp_path: Path) -> None:
    """An Okta admin action names the user it was taken on by login (a User target's alternateId, an e-mail address,
    and the AppUser of the same login) and displayName, as it names its actor: no finding (failed before: "An e-mail
    address ... in field 'target.alternateId'"). The same address in the request's URL, an address in an app
    target's name, an AppUser of another login, and a card number in a user target's login are still caught."""
    rng = random.Random(12)
    logins: list[str] = []

    def change(row: dict[str, Any], i: int) -> None:
        login = f"{_rand(rng, 6, string.ascii_lowercase)}@example.org"
        logins.append(login)
        row["eventType"] = rng.choice(["group.user_membership.add", "application.user_membership.add"])
        row["target"] = [{"id": "00u" + _rand(rng, 17), "type": "User", "alternateId": login,
                          "displayName": "New Hire", "detailEntry": None},
                         {"id": "00g" + _rand(rng, 17), "type": "UserGroup", "alternateId": "unknown",
                          "displayName": "Engineering", "detailEntry": None},
                         {"id": "0ua" + _rand(rng, 17), "type": "AppUser", "alternateId": login,
                          "displayName": "New Hire", "detailEntry": None}]

    rows = _rows("okta", 30, rng, change)
    assert _verify(tmp_path, "okta", rows, rng) == []
    rows[2]["debugContext"]["debugData"]["url"] = f"/api/v1/users/{logins[2]}/lifecycle/activate?"
    rows[8]["target"][1] = {"id": "0oa" + _rand(rng, 17), "type": "AppInstance", "alternateId": "ops@other.example",
                            "displayName": "ops@other.example", "detailEntry": None}
    rows[15]["target"][0]["alternateId"] = _luhn_visa(rng)
    rows[21]["target"][2]["alternateId"] = "someone.else@example.org"  # an app user that is not the target user
    found = _verify(tmp_path, "okta", rows, rng)
    assert _lines(found, "data_minimisation") == {3, 9, 16, 22}, found
