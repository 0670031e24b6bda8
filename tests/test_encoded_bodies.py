"""Credentials written one layer down in a text field of a log we did not make (red team rt16): a JSON body quoted
inside a message with its quotes escaped ("{\\"password\\":\\"...\\"}", as Go's %q or repr() write it, in an Azure
Key Vault record's resultDescription), and an Azure Storage connection string URL-encoded in a query parameter of
the logged requestUri ("AccountKey%3D..."). Both passed: the first because the prose reader only took objects with
plain quotes, the second because the prefilter and the detectors only read "AccountKey=" as written. Records follow
the Key Vault logging page (AuditEvent, as a diagnostic setting exports them), read with a field_map; both paths."""

from __future__ import annotations

import base64
import json
import secrets
import string
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from tests.conftest import remember_secret
from tests.test_url_passwords import jsonl_config, leak_lines

FIELDS = {"time": "time", "identity": "identity.claim.oid", "resource": "properties.id", "action": "operationName",
          "result": "resultSignature", "source": "callerIpAddress", "request_id": "correlationId"}
URI = "https://contosokeyvault.vault.azure.net/secrets/dbpassword/?api-version=7.4"


def _record(n: int, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "time": f"2026-03-05T01:00:{n:02d}.0810111Z", "category": "AuditEvent", "operationName": "SecretGet",
        "operationVersion": "7.4", "resultType": "Success", "resultSignature": "OK", "resultDescription": "",
        "durationMs": "14", "callerIpAddress": "104.40.82.76", "correlationId": f"5d9dc9f8-1818-e811-892f-{n:012d}",
        "identity": {"claim": {"oid": "81e74ef5-e8e2-5d94-0ed9-04759531985d", "appid": "00001111-aaaa-2222"}},
        "properties": {"requestUri": URI, "id": "https://contosokeyvault.vault.azure.net/secrets/dbpassword",
                       "httpStatusCode": 200},
    }
    rec.update(over)
    return rec


def _write(tmp_path: Path, records: list[dict[str, Any]]) -> tuple[str, Path]:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), jsonl_config(tmp_path, FIELDS)


def _account_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_each_credential_one_layer_down_is_found_at_its_line(tmp_path: Path, pure: bool) -> None:
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    passwords = [remember_secret("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
                                 + "!9a") for _ in range(2)]
    key = remember_secret(_account_key())
    conn = f"DefaultEndpointsProtocol=https;AccountName=contosostore;AccountKey={key};EndpointSuffix=core.windows.net"
    bodies = [json.dumps({"username": "app", "password": p}, separators=(",", ":")) for p in passwords]
    records = [_record(n) for n in range(1, 9)]
    records[2]["resultDescription"] = "bad request: body " + json.dumps(bodies[0])  # {\"password\":...} in the text
    records[4]["resultDescription"] = "bad request: body " + json.dumps(json.dumps(bodies[1]))  # twice: \\\"
    records[6]["properties"]["requestUri"] = URI + "&c=" + conn.replace("=", "%3D").replace(";", "%3B")
    text, cfg = _write(tmp_path, records)
    found, shown = leak_lines(tmp_path, "kv.jsonl", text, pure, cfg)
    assert found == {3, 5, 7}, found
    assert not any(p in shown for p in passwords) and key not in shown


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_quoted_bodies_and_encoded_queries_without_a_credential_stay_clean(tmp_path: Path, pure: bool) -> None:
    """The same shapes holding ids, names and an encoded redirect: no finding but the one planted last."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    records = [_record(n) for n in range(1, 7)]
    records[1]["resultDescription"] = "conflict: body " + json.dumps(json.dumps(
        {"name": "dbpassword", "contentType": "text/plain", "tags": {"owner": "payments"}}))
    records[2]["properties"]["requestUri"] = URI + "&next=%2Fsecrets%2Fdbpassword%3Fapi-version%3D7.4&maxresults=25"
    records[3]["resultDescription"] = "bad request: body " + json.dumps(json.dumps({"password": "<redacted>"}))
    key = remember_secret(_account_key())
    records[5]["properties"]["requestUri"] = URI + "&c=AccountName%3Dx%3BAccountKey%3D" + key.replace("=", "%3D")
    text, cfg = _write(tmp_path, records)
    found, _ = leak_lines(tmp_path, "kv.jsonl", text, pure, cfg)
    assert found == {6}, found
