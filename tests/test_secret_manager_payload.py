"""A Google Cloud Secret Manager secret in its own audit log (red team rt16 F4): a SecretPayload's data (the secret,
base64) in an AddSecretVersion request or an AccessSecretVersion response. The AuditLog never records it, so in the
log it is a leak whatever its shape; a human password passed without --canaries, as a CloudTrail secretString
would not have. Entries follow Cloud Logging's LogEntry with an AuditLog protoPayload, read as JSON lines."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.scan import native
from tests.conftest import remember_secret
from tests.test_url_passwords import jsonl_config, leak_lines

FIELDS = {"time": "timestamp", "identity": "protoPayload.authenticationInfo.principalEmail",
          "resource": "protoPayload.resourceName", "action": "protoPayload.methodName",
          "source": "protoPayload.requestMetadata.callerIp", "request_id": "insertId", "result": "severity"}
SECRET = "projects/123456789012/secrets/db-password"


def _entry(n: int, method: str, service: str = "secretmanager.googleapis.com",
           request: Optional[dict[str, Any]] = None, response: Optional[dict[str, Any]] = None) -> str:
    proto: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {},
        "authenticationInfo": {"principalEmail": "app-sa@acme-prod.iam.gserviceaccount.com"},
        "requestMetadata": {"callerIp": "35.187.13.9", "callerSuppliedUserAgent": "grpc-python/1.62.1"},
        "serviceName": service, "methodName": f"google.cloud.secretmanager.v1.SecretManagerService.{method}",
        "resourceName": f"{SECRET}/versions/{n}"}
    if request is not None:
        proto["request"] = request
    if response is not None:
        proto["response"] = response
    return json.dumps({"protoPayload": proto, "insertId": f"q2jqhip6n2k{n:03d}",
                       "resource": {"type": "audited_resource", "labels": {"service": service}},
                       "timestamp": f"2026-03-05T02:00:{n:02d}.787789328Z", "severity": "INFO",
                       "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
                       "receiveTimestamp": f"2026-03-05T02:00:{n:02d}.912345678Z"}, separators=(",", ":"))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_a_payloads_data_is_found_however_short_and_nothing_else(tmp_path: Path, pure: bool) -> None:
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    human = remember_secret("Summer2026-" + secrets.token_hex(2))  # a password no entropy rule would flag
    other = remember_secret("S3cr3t-Pr0d-" + secrets.token_hex(3))
    lines = [
        _entry(1, "AccessSecretVersion", request={"@type": "type.googleapis.com/google.cloud.secretmanager.v1."
                                                            "AccessSecretVersionRequest", "name": f"{SECRET}/versions/1"}),
        _entry(2, "AddSecretVersion", request={"parent": SECRET, "payload": {"data": _b64(human),
                                                                            "dataCrc32c": "3171526317"}}),
        _entry(3, "GetSecret", request={"name": SECRET}, response={"name": SECRET, "replication": {"automatic": {}}}),
        _entry(4, "AccessSecretVersion", response={"name": f"{SECRET}/versions/4",
                                                   "payload": {"dataCrc32c": "11", "data": _b64(other)}}),
        # the same shape from another service is no Secret Manager payload (judged as any value: a short word)
        _entry(5, "Publish", service="pubsub.googleapis.com", request={"payload": {"data": _b64("hello")}}),
        _entry(6, "AddSecretVersion", request={"parent": SECRET, "payload": {"dataCrc32c": "42"}}),
    ]
    cfg = jsonl_config(tmp_path, FIELDS)
    found, shown = leak_lines(tmp_path, "gcp.jsonl", "\n".join(lines) + "\n", pure, cfg)
    assert found == {2, 4}, found
    assert human not in shown and _b64(human) not in shown and _b64(other) not in shown
