"""A generic JSON-lines log's mapped resource names what was accessed: a secrets platform's own log writes which
secret was read under a key that names one ("secret", "secretKey", "secret_path"), and the keyword detector took
every such name for a credential, on every line. The resource is judged as a Vault request path is: its segments by
a secret's own format only, its query parameters by every detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.verifying import verify_lines

NAMES = ("db-password", "prod/payments/DB_PASSWORD", "projects/p1/secrets/api-key/versions/3",
         "https://kv-prod.vault.azure.net/secrets/db-password/7c1b2e9f0a4d4c3e8b5a6f7e8d9c0b1a")
LEAKS = ("ghp_Zx9eW3rT5yU7iO1pA3sD5fG7hJ9kL1zX2cV4",  # a token of its own format as a segment
         "https://kv-prod.example/x?sig=Zk9vYmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo%3D")  # a credential in the query


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, values: list[str]) -> tuple[int, list[int]]:
    lines = [json.dumps({"time": f"2026-03-02T09:15:{n:02d}.123456Z", "user": "svc-billing", key: v, "op": "read",
                         "status": 200, "ip": "10.0.0.1", "rid": f"req-{n}"}) for n, v in enumerate(values)]
    config = ('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n[field_map]\n'
              f'time = "time"\nidentity = "user"\nresource = "{key}"\naction = "op"\nresult = "status"\n'
              'source = "ip"\nrequest_id = "rid"\n')
    rc, found, _ = verify_lines(tmp_path, capsys, lines, config, "--jobs", "1", name="platform.jsonl")
    return rc, found.get("no_secret_leak", [])


@pytest.mark.parametrize("key", ["secret", "secretKey", "secret_path"])
def test_a_resource_that_names_a_secret_is_clean_and_a_credential_in_it_is_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    assert _verify(tmp_path, capsys, key, list(NAMES)) == (0, [])
    rc, lines = _verify(tmp_path, capsys, key, [NAMES[0], LEAKS[0], NAMES[1], LEAKS[1]])
    assert rc == 1 and lines == [2, 4], lines
