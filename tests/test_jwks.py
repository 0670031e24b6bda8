"""A JSON Web Key Set as a real OpenBao's OIDC discovery endpoint answers it, logged readable: its public members
(an RSA key's n and e) are no secret (red team rt35, F3: n was reported as a high-entropy credential); a private
member (d) planted in the same key is one."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import load_script, remember_secret

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "no_secret_leak"]


def _lines_found(path: Path) -> list[int]:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), CHECK, {})
    (out,) = res.outcomes
    return sorted({int(f.where.rsplit(":", 1)[1]) for f in out.findings})


@pytest.mark.vault
def test_a_jwks_is_public_and_a_private_member_in_it_is_not(bao: Callable[..., EmbeddedServer],
                                                             tmp_path: Path) -> None:
    s = bao()
    _api(s, "POST", "sys/mounts/identity/tune", {"audit_non_hmac_response_keys": ["http_raw_body"]})
    _api(s, "POST", "identity/oidc/key/k1", {"algorithm": "RS256", "allowed_client_ids": "*"})
    _api(s, "POST", "identity/oidc/role/r1", {"key": "k1"})
    _api(s, "GET", "identity/oidc/.well-known/keys", anonymous=True)
    end = time.monotonic() + 10
    while Path(s.log_path).read_text().count('"path":"identity/oidc/.well-known/keys"') < 2:
        assert time.monotonic() < end, "the device did not write the last response within 10 s"
        time.sleep(0.05)
    lines = Path(s.log_path).read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if '"type":"response"' in ln and "well-known/keys" in ln)
    entry = json.loads(lines[n])
    jwks = json.loads(entry["response"]["data"]["http_raw_body"])
    assert jwks["keys"] and all(k["kty"] == "RSA" and len(k["n"]) > 300 for k in jwks["keys"])
    path = tmp_path / "audit.log"
    path.write_text("".join(ln + "\n" for ln in lines))
    path.chmod(0o600)
    assert _lines_found(path) == []
    jwks["keys"][0]["d"] = remember_secret(secrets.token_urlsafe(256))  # a private exponent's shape
    entry["response"]["data"]["http_raw_body"] = json.dumps(jwks, separators=(",", ":"))
    lines[n] = json.dumps(entry, separators=(",", ":"))
    path.write_text("".join(ln + "\n" for ln in lines))
    assert _lines_found(path) == [n + 1]
