"""A request refused at authentication names no one (red team rt86 F4). Azure Key Vault logs the unauthenticated
request the Azure SDK sends before each new client's first call ("Unauthenticated requests that result in a 401
response" are logged): each was a required_fields finding, one per client start, with no setting to say why. An
entry through field_map whose result says 401 / Unauthorized / Unauthenticated may lack who (as the Kubernetes API
server's failed-authentication events may); any other entry without who is still a finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.verifying import verify_lines

OID = "identity.claim.http://schemas.microsoft.com/identity/claims/objectidentifier"
CONFIG = ('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n[field_map]\ntime = "time"\n'
          f'identity = "{OID}"\nresource = "properties.id"\naction = "operationName"\n'
          'result = "properties.httpStatusCode"\nsource = "callerIpAddress"\nrequest_id = "correlationId"\n')


def _entry(n: int, status: int, who: Optional[str], source: str = "20.61.103.228") -> str:
    e: dict[str, Any] = {
        "time": f"2026-03-02T09:15:{n:02d}.7331740Z", "category": "AuditEvent",
        "operationName": "Authentication" if status == 401 else "SecretGet",
        "correlationId": f"5147fd7f-41d7-fa74-65f3-{n:012d}", "callerIpAddress": source,
        "properties": {"httpStatusCode": status, "id": "https://kv-payments-prod.vault.azure.net/secrets/db-password"},
        "resultSignature": "Unauthorized" if status == 401 else "OK"}
    if who:
        e["identity"] = {"claim": {"http://schemas.microsoft.com/identity/claims/objectidentifier": who}}
    return json.dumps(e, separators=(",", ":"))


def _found(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]) -> tuple[int, list[int], str]:
    rc, found, text = verify_lines(tmp_path, capsys, lines, CONFIG, name="PT1H.json")
    return rc, found.get("required_fields", []), text


def test_the_sdks_401_challenge_names_no_one_and_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    who = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
    lines = [_entry(n, 401 if n % 2 == 0 else 200, None if n % 2 == 0 else who) for n in range(12)]
    rc, found, text = _found(tmp_path, capsys, lines)
    assert (rc, found) == (0, []) and "excused 6: a request refused at authentication" in text, text
    lines[5] = _entry(5, 200, None)  # a secret read with no one named
    lines[8] = _entry(8, 401, None, source="")  # a refusal that does not say where it came from
    rc, found, _ = _found(tmp_path, capsys, lines)
    assert rc == 1 and found == [6, 9], found
