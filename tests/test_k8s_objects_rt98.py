"""Red team rt98: the objects a Request or RequestResponse Kubernetes audit event records, judged both ways.

- F1: a Secret is named by its name in ordinary objects (a Pod's ``volumes[].secret.secretName``, an Ingress's
  ``spec.tls[].secretName``, a ConfigMap's ``SECRET_NAME``): the keyword detector took each name for a leaked secret
  with the fix "rotate the exposed credential". A key that names a name or an id is now judged by a secret's own
  format only, as in generic JSON lines: a token under it is still found.
- F2: a 64-bit id written in decimal (GKE's Node annotation ``container.googleapis.com/instance_id``, Datadog's
  ``dd.trace_id``) is 19 digits, and about one in 70 has a card network's prefix and passes Luhn: a "card number".
  A value of digits alone under a key naming an id, and any number under a key naming a quantity, is none; the same
  digits under a key naming a card, or in a sentence, still are.
- F3: a Google Cloud service account's address (``NAME@PROJECT.iam.gserviceaccount.com``, GKE's Workload Identity
  annotation) names a workload, not a person: no e-mail finding; a person's address beside it still is one.

The events are fixtures/k8s/real/correct.log's (audit.k8s.io/v1 as the log backend writes them), with the object of
its RequestResponse get at line 6 replaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks.data_minimisation import personal_data
from tests.conftest import remember_secret
from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EVENTS = [json.loads(ln) for ln in (FIXTURES / "k8s" / "real" / "correct.log").read_text().splitlines()]
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
LINE = 6  # a ResponseComplete event at level RequestResponse (its responseObject a ConfigMap)
# a GitHub token of the documented form (ghp_ and 36 characters), and a GKE instance id that passes as a Visa number
TOKEN = remember_secret("ghp_" + "R8x2kQ7mZp4LwT9vN3bY6cH1fJ5dS0aUeGiK")
INSTANCE_ID = "4010928159013962459"


def _pod(secret_name: str) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-0", "namespace": "prod"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls", "readOnly": True}]}],
                     "volumes": [{"name": "tls", "secret": {"secretName": secret_name, "defaultMode": 420}}]}}


def _ingress(secret_name: str) -> dict[str, Any]:
    return {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"ingressClassName": "nginx",
                     "tls": [{"hosts": ["www.example.com"], "secretName": secret_name}],
                     "rules": [{"host": "www.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                               "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "app", "namespace": "prod"}, "data": data}


def _node(annotations: dict[str, str]) -> dict[str, Any]:
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": "gke-prod-pool-1-5d2f8c1a-x7k2", "annotations": annotations},
            "spec": {"providerID": "gce://prod-project/europe-west1-b/gke-prod-pool-1-5d2f8c1a-x7k2"}}


def _service_account(annotations: dict[str, str]) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "apiVersion": "v1",
            "metadata": {"name": "app", "namespace": "prod", "annotations": annotations}}


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], obj: dict[str, Any], name: str
            ) -> tuple[int, dict[str, list[int]], str]:
    events = json.loads(json.dumps(EVENTS))
    events[LINE - 1]["responseObject"] = obj
    folder = tmp_path / name
    folder.mkdir()
    return verify_lines(folder, capsys, [json.dumps(e, separators=(",", ":")) for e in events], CONFIG)


@pytest.mark.parametrize("make", [_pod, _ingress, lambda v: _configmap({"SECRET_NAME": v, "DB_SECRET_NAME": v})],
                         ids=["pod-volume", "ingress-tls", "configmap"])
def test_a_secret_s_name_is_no_secret_and_a_token_in_its_place_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any) -> None:
    rc, found, text = _verify(tmp_path, capsys, make("www-example-com-tls"), "named")
    assert (rc, found) == (0, {}), text[-3000:]
    rc, found, text = _verify(tmp_path, capsys, make(TOKEN), "token")
    assert (rc, found) == (1, {"no_secret_leak": [LINE]}), text[-3000:]
    assert "GitHub Token" in text and TOKEN not in text


def test_a_password_beside_a_name_in_a_configmap_is_still_found(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Only keys naming a name or an id are judged by format alone: DB_PASSWORD keeps the keyword detector."""
    password = remember_secret("Xq7#pL2vRt9!mK4w")
    rc, found, text = _verify(tmp_path, capsys, _configmap({"DB_SECRET_NAME": "postgres", "DB_PASSWORD": password}),
                              "password")
    assert (rc, found) == (1, {"no_secret_leak": [LINE]}), text[-3000:]
    assert password not in text


def test_a_node_s_instance_id_is_no_card_number_and_a_card_in_an_annotation_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert personal_data(INSTANCE_ID, "x.card_number")  # (the id passes as a Visa number by its digits)
    rc, found, text = _verify(tmp_path, capsys, _node({"container.googleapis.com/instance_id": INSTANCE_ID}), "id")
    assert (rc, found) == (0, {}), text[-3000:]
    rc, found, text = _verify(tmp_path, capsys, _node({"container.googleapis.com/instance_id": INSTANCE_ID,
                                                       "billing/note": f"paid with card {INSTANCE_ID[:16]}"}),
                              "card")
    assert (rc, found) == (1, {"data_minimisation": [LINE]}), text[-3000:]


@pytest.mark.parametrize(("value", "path", "number", "personal"), [
    (INSTANCE_ID, "dd.trace_id", False, False),  # Datadog's decimal trace id
    (INSTANCE_ID, "span.traceId", True, False),
    (INSTANCE_ID, "metadata.uid", False, False),
    (INSTANCE_ID, "payment.card_id", False, True),  # a key naming a card: judged
    (INSTANCE_ID, "event.note", False, True),  # no key naming an id
    (f"trace {INSTANCE_ID}", "dd.trace_id", False, True),  # not the digits alone
    ("4532015112830366", "responseObject.sizeBytes", True, False),  # a quantity, at any length
    ("4532015112830366", "responseObject.value", True, True),
    ("4532015112830366", "payment.card_size", False, True),  # a key naming a card outweighs a quantity
])
def test_a_card_s_digits_under_a_key_naming_an_id_or_a_quantity(value: str, path: str, number: bool,
                                                                 personal: bool) -> None:
    assert personal_data(value, path, number) is personal


def test_a_service_account_s_address_is_no_person_s_and_a_person_s_beside_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sa = {"iam.gke.io/gcp-service-account": "app-runner@prod-project.iam.gserviceaccount.com",
          "example.com/default-compute": "123456789012-compute@developer.gserviceaccount.com"}
    rc, found, text = _verify(tmp_path, capsys, _service_account(sa), "sa")
    assert (rc, found) == (0, {}), text[-3000:]
    rc, found, text = _verify(tmp_path, capsys, _service_account({**sa, "owner": "alice.smith@example.com"}), "owner")
    assert (rc, found) == (1, {"data_minimisation": [LINE]}), text[-3000:]
    assert personal_data("svc@gserviceaccount.com.evil.example") and personal_data("a@notgserviceaccount.com")


@pytest.mark.parametrize("iban", ["BE68539007547034", "DE89370400440532013000", "AT611904300234573201",
                                  "ES9121000418450200051332", "SE4550000000058398257466", "GB29NWBK60161331926819",
                                  "FR1420041010050500013M02606", "NL91ABNA0417164300"])
def test_the_registry_s_example_ibans_are_personal_data(iban: str) -> None:
    assert personal_data(iban, "payment.note")


def test_an_s3_request_id_that_passes_mod_97_as_a_belgian_iban_is_none() -> None:
    """S3's request id (16 hex characters, CloudTrail's requestID) may start "BE" and two digits and pass the
    mod-97 check (one in 97); a Belgian BBAN is 12 digits (the SWIFT registry's 3!n7!n2!n): no IBAN (red team rt97
    F5). An id of digits alone that passes Luhn under that key is no card number either (rt98 F2's rule)."""
    assert not personal_data("BE1853C115B94E60", "requestID")
    assert not personal_data("BE1853C115B94E60", "event.note")
    assert not personal_data("5384212070220096", "requestID")
    assert personal_data("5384212070220096", "event.note")  # (a Mastercard's digits, under no key naming an id)
