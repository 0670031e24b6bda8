"""An Azure Key Vault secret's value in a JSON-lines log (red team rt86 F6). Key Vault's AuditEvent logs name a
secret by its id ("https://<vault>.vault.azure.net/secrets/<name>/<version>") and never its value, so a SecretBundle
({"value", "id", "attributes"}) that an application or an SDK's HTTP logging wrote is a leak whatever the value's
shape: a short password passes every detector, and was found only when named with --canaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.verifying import verify_lines

CONFIG = ('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n[field_map]\ntime = "time"\n'
          'identity = "user"\nresource = "resource"\naction = "op"\nresult = "status"\nsource = "ip"\n'
          'request_id = "rid"\n')
SECRET = "Winter2026"  # short and plain: no detector finds it by its shape


def _entry(n: int, response: Any = None) -> dict[str, Any]:
    e: dict[str, Any] = {"time": f"2026-03-02T09:15:{n:02d}.733174Z", "user": "app-payments", "op": "SecretGet",
                         "resource": "https://kv-payments-prod.vault.azure.net/secrets/db-password", "status": 200,
                         "ip": "10.1.2.3", "rid": f"5147fd7f-41d7-fa74-65f3-{n:012d}"}
    if response is not None:
        e["response"] = response
    return e


def _bundle(value: str = SECRET, vault: str = "https://kv-payments-prod.vault.azure.net") -> dict[str, Any]:
    return {"value": value, "id": f"{vault}/secrets/db-password/7c1b2e9f0a4d4c3e8b5a6f7e8d9c0b1a",
            "attributes": {"enabled": True, "created": 1772442900, "updated": 1772442900,
                           "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": {"owner": "payments"}}


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]) -> tuple[int, list[int], str]:
    rc, found, text = verify_lines(tmp_path, capsys, lines, CONFIG, "--jobs", "1", name="app.jsonl")
    return rc, found.get("no_secret_leak", []), text


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "slashes-escaped"])
def test_a_secret_bundles_value_is_found_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     escaped: bool) -> None:
    entries = [_entry(n) for n in range(10)]
    entries[3]["response"] = _bundle()
    entries[7]["response"] = {"recoveryId": "https://kv-payments-prod.vault.azure.net/deletedsecrets/db-password",
                              **_bundle("p@ss", "https://kv-legacy.vault.usgovcloudapi.net")}
    lines = [json.dumps(e, separators=(",", ":")) for e in entries]
    if escaped:  # PHP's json_encode and some loggers write "/" as "\/"
        lines = [ln.replace("/", "\\/") for ln in lines]
    rc, found, text = _verify(tmp_path, capsys, lines)
    assert rc == 1 and found == [4, 8], (found, text)
    assert "Key Vault's logs never record" in text
    assert SECRET not in text and '"p@ss"' not in text


def test_a_correct_log_of_key_vault_ids_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = [_entry(n) for n in range(10)]
    # the same answer without its value (an SDK logging the secret's properties), a key's id with a value of no
    # secret's, and a value beside an id of another service
    entries[2]["response"] = {k: v for k, v in _bundle().items() if k != "value"}
    entries[4]["response"] = {"id": "https://kv-payments-prod.vault.azure.net/keys/signing/1a2b", "value": "RS256"}
    entries[6]["response"] = {"id": "https://example.com/secrets/x", "value": "enabled"}
    rc, found, text = _verify(tmp_path, capsys, [json.dumps(e, separators=(",", ":")) for e in entries])
    assert (rc, found) == (0, []), text
