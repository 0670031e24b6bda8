"""Secret engines and auth methods beyond KV on a real OpenBao, their secrets in clear and their public material
(red team rt21). A mount tuned to log a key without HMAC writes its value in clear: transit's ``plaintext`` (base64
of a card number), a TOTP seed given as ``key`` (base32), a numeric userpass ``password``, an SSH one-time password
(a UUID), a token whose id was chosen (a UUID) are secrets by the API whatever their shape, each a ``no_secret_leak`` finding at its line on both paths
(the C extension and pure Python). A certificate issued with PKI's ``format=der`` (base64 of DER) and an SSH
certificate's serial written without leading zeros (any count of hex digits) are public: no finding.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan.secrets import correlation_id, skippable
from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed

pytestmark = pytest.mark.vault

PAN = "4111111111111111"
SEED = "JBSWY3DPEHPK3PXP"
PIN = "123456789"


def _ok(client: VaultClient, method: str, path: str, body: Any = None) -> dict[str, Any]:
    r = client.call(method, path, body)
    assert r.ok, (path, r.status, r.error)
    return dict(r.data or {})


def _scenario(admin: VaultClient) -> dict[str, str]:
    """Mounts tuned to log secret-bearing keys in clear, each used once; what was sent or answered, by name."""
    _ok(admin, "POST", "sys/mounts/transit", {"type": "transit"})
    _ok(admin, "POST", "sys/mounts/transit/tune", {"audit_non_hmac_request_keys": ["plaintext"]})
    _ok(admin, "POST", "transit/keys/cards", {})
    _ok(admin, "POST", "transit/encrypt/cards", {"plaintext": base64.b64encode(PAN.encode()).decode()})
    _ok(admin, "POST", "sys/mounts/totp", {"type": "totp"})
    _ok(admin, "POST", "sys/mounts/totp/tune", {"audit_non_hmac_request_keys": ["key"]})
    _ok(admin, "POST", "totp/keys/alice", {"key": SEED, "issuer": "Example", "account_name": "alice"})
    _ok(admin, "POST", "sys/auth/userpass", {"type": "userpass"})
    _ok(admin, "POST", "sys/auth/userpass/tune", {"audit_non_hmac_request_keys": ["password"]})
    _ok(admin, "POST", "auth/userpass/users/frank", {"password": PIN, "token_policies": ["default"]})
    _ok(admin, "POST", "sys/mounts/ssh", {"type": "ssh"})
    _ok(admin, "POST", "sys/mounts/ssh/tune", {"audit_non_hmac_response_keys": ["key"],
                                               "audit_non_hmac_request_keys": ["otp"]})
    _ok(admin, "POST", "ssh/roles/otp", {"key_type": "otp", "default_user": "ops", "cidr_list": "10.0.0.0/8"})
    otp = _ok(admin, "POST", "ssh/creds/otp", {"ip": "10.0.0.7"})["key"]
    _ok(admin, "POST", "ssh/verify", {"otp": otp})
    chosen = "0b5d6c1e-8f3a-4e2b-9c7d-1a2b3c4d5e6f"  # a token whose id was chosen: a UUID
    _ok(admin, "POST", "auth/token/create", {"id": chosen, "policies": ["default"], "ttl": "10m"})
    _ok(admin, "POST", "sys/auth/token/tune", {"audit_non_hmac_request_keys": ["token"]})
    _ok(admin, "POST", "auth/token/lookup", {"token": chosen})
    _ok(admin, "POST", "sys/mounts/pki", {"type": "pki"})
    _ok(admin, "POST", "sys/mounts/pki/tune", {"max_lease_ttl": "87600h", "audit_non_hmac_response_keys": [
        "certificate", "issuing_ca", "serial_number", "ca_chain"]})
    _ok(admin, "POST", "pki/root/generate/internal", {"common_name": "example.com", "ttl": "8760h",
                                                      "format": "der"})
    _ok(admin, "POST", "pki/roles/web", {"allowed_domains": "example.com", "allow_subdomains": True})
    issued = _ok(admin, "POST", "pki/issue/web", {"common_name": "c.example.com", "format": "der"})
    return {"otp": str(otp), "certificate": str(issued["certificate"]), "private_key": str(issued["private_key"]),
            "token": chosen}


def _verify(log: Path, pure: bool) -> list[str]:
    (log.parent / "pyproject.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\n"
                                               "retention_days = 0\n")
    env = dict(os.environ)
    env.pop("AUDITREADY_PURE_PYTHON", None)
    if pure:
        env["AUDITREADY_PURE_PYTHON"] = "1"
    out = log.parent / f"out-{pure}.json"
    proc = completed(["verify", str(log), "--json", str(out)], log.parent, env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    return [f"{f['where']} {f['message']}" for o in doc["outcomes"] if o["check"] == "no_secret_leak"
            for f in o["findings"]]


@pytest.fixture(scope="module")
def engines_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    from pytest_auditready.vault.embedded import EmbeddedServer
    from tests.conftest import remember_secret

    server = EmbeddedServer()
    server.start()
    try:
        remember_secret(server.root_token)
        admin = VaultClient(server.url, server.root_token, timeout=10)
        try:
            made = _scenario(admin)
        finally:
            admin.close()
        log = tmp_path_factory.mktemp("engines") / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
    finally:
        server.stop()
    return log, made


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_secrets_of_other_engines_in_clear_are_found_at_their_lines(engines_log: tuple[Path, dict[str, str]],
                                                                    pure: bool) -> None:
    log, made = engines_log
    lines = log.read_text().splitlines()

    def at(text: str) -> int:  # the first line that holds ``text`` in clear
        return next(i for i, ln in enumerate(lines, 1) if text in ln)

    found = _verify(log, pure)
    want = {
        "'plaintext'": at(base64.b64encode(PAN.encode()).decode()),
        "'key'": min(at(SEED), at(made["otp"])),
        "'password'": at(f'"password":"{PIN}"'),
        "'token'": at(f'"token":"{made["token"]}"'),
    }
    for key, line in want.items():
        assert any(f.startswith(f"{log}:{line}") and f"key {key}" in f for f in found), (key, line, found)
    assert any("'otp'" in f or made["otp"] not in "".join(found) for f in found)
    # public material in clear is no finding: the DER certificate and CA, their serial numbers
    assert made["certificate"] in log.read_text() and made["private_key"] not in log.read_text()
    assert not [f for f in found if any(k in f for k in ("'certificate'", "'issuing_ca'", "'serial_number'",
                                                             "'ca_chain'"))], found


def test_public_shapes_of_certificates_are_skipped_and_a_der_private_key_is_not() -> None:
    """An SSH certificate's serial is written without leading zeros (strconv.FormatUint(serial, 16)): any count of
    hex digits; a DER certificate in base64 is public, a DER private key is not."""
    for serial in ("3706ed120a31a55", "fb3c10d2accf4f4", "1a", "0f:3c:aa", "12345"):
        assert correlation_id("serial_number", serial), serial
    assert not correlation_id("serial_number", "not-a-serial-value")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    der_key = base64.b64encode(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())).decode()
    assert der_key.startswith("MI") and not skippable("private_key", der_key)
