"""A token in a field the vault computes (client id, remote address, mount, token type...) is found; the field's own
values are not.

Those fields hold ids, addresses and names the vault makes, so the secret scan judged none of them: a Vault or GitHub
token in `request.client_id`, `request.remote_address` (a proxy writes what a client sent as X-Forwarded-For) or
`request.mount_point` (a mount enabled at a path holding a token) passed `no_secret_leak`, where the README says a
Vault token is found anywhere in a value (red team report rt11, section 11). Now they are judged by the detectors of
a secret's own format only: never by randomness (a client id is a random hash) or by the key's name.

Each case plants a value into the KV read pair of a real OpenBao 2.7.2 log (tests/test_blind_encodings: fixture,
planting, and `auditready verify` with the C extension and on the pure-Python path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan.secrets import GenericScanner
from tests.test_blind_encodings import KV_READ, _lines, _planted, _verify

PATHS = pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])  # C extension, pure Python

# Credentials of their own formats (made up, each of the shape its detector or rule takes).
TOKENS = {
    "vault": ("Vault Token", "hvs.CAESIGx7Qm2Rt9Vw4Yb8Nc3Lp6Hj1Kd5Fs0GaZe"),
    "github": ("GitHub Token", "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c"),
    "jwt": ("JSON Web Token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjaS1kZXBsb3kiLCJpYXQiOjE3NjQ4MDAwMDB9"
                              ".Qm2Rt9Vw4Yb8Nc3Lp6Hj1Kd5Fs0GaZeX7x9Lm2Rt8Vw"),
}

# (object, key) of the fields the vault computes, in both entries of the pair
FIELDS = {
    "client_id": ("request", "client_id"),
    "remote_address": ("request", "remote_address"),
    "mount_point": ("request", "mount_point"),
    "mount_type": ("request", "mount_type"),
    "token_type": ("auth", "token_type"),
}


def _in_field(field: str) -> Any:
    obj, key = FIELDS[field]

    def place(e: dict[str, Any], mark: str) -> None:
        e[obj][key] = mark

    return place


@PATHS
@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("token", sorted(TOKENS))
def test_a_token_in_a_field_the_vault_computes_is_found_at_its_line(tmp_path: Path, pure: bool, field: str,
                                                                     token: str) -> None:
    kind, value = TOKENS[token]
    found = _verify(tmp_path, {"t.log": _planted(_in_field(field), value)}, pure)
    leaks = found["t.log"]["no_secret_leak"]
    assert _lines(leaks) == set(KV_READ), leaks
    assert any(kind in msg and f"'{field}'" in msg for msg in leaks), leaks
    assert not any(value in msg for msg in leaks)


# What those fields hold in correct logs: a public source address (IPv4, IPv6, the forwarded client's), a random
# client id (the base64 of a hash), a mount at a path of random characters, an accessor, a plugin's version.
OWN_VALUES = {
    "public-ipv4": ("remote_address", "203.0.113.77"),
    "public-ipv6": ("remote_address", "2001:db8:85a3::8a2e:370:7334"),
    "random-client-id": ("client_id", "q7X9Lm2Rt8Vw1Yb6Nc3Hj5Kd0Fs4GaZeP2u8Wm6Tr1="),
    "random-mount": ("mount_point", "kv-Q7x9Lm2Rt8Vw1Yb6Nc3Hj5Kd/"),
    "mount-type": ("mount_type", "vault-plugin-secrets-kv"),
}


@PATHS
@pytest.mark.parametrize("name", sorted(OWN_VALUES))
def test_the_values_those_fields_hold_are_no_finding(tmp_path: Path, pure: bool, name: str) -> None:
    field, value = OWN_VALUES[name]
    found = _verify(tmp_path, {"c.log": _planted(_in_field(field), value)}, pure)
    assert found["c.log"] == {"no_secret_leak": [], "data_minimisation": []}


def test_the_scanner_judges_those_keys_by_a_format_only() -> None:
    """The live checks' scanner (the same GenericScanner): a random id under those keys is no hit, while the same
    under a key of a caller's data is (a possible secret); a token under them is."""
    with GenericScanner() as scanner:
        assert scanner.scan_value("client_id", "q7X9Lm2Rt8Vw1Yb6Nc3Hj5Kd0Fs4GaZeP2u8Wm6Tr1=") == ()
        assert scanner.scan_value("note", "q7X9Lm2Rt8Vw1Yb6Nc3Hj5Kd0Fs4GaZeP2u8Wm6Tr1=") != ()
        for kind, value in TOKENS.values():
            assert [h.kind for h in scanner.scan_value("remote_address", value)] == [kind]
