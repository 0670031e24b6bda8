"""A credential written as a JSON key is a leak: Vault and OpenBao digest the values of request and response data,
never the keys, so a client that sends {"<token>": ...} puts the token in clear in every device's log. The block
scanner judged only the value after a key its prefilter matched in, and that value was a digest: the token passed
(red team rt14). Each key is now judged too, on both paths; the same values as values were already found."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import pytest

from pytest_auditready.scan import native
from tests.conftest import remember_secret
from tests.test_url_passwords import leak_lines

CLEAN_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
DIGEST = "hmac-sha256:" + "ab" * 32
_B62 = string.ascii_letters + string.digits


def _random(n: int, alphabet: str = _B62) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


KEYS = {
    "vault service token": lambda: "hvs.CAES" + _random(86),
    "github token": lambda: "ghp_" + _random(36),
    "aws access key id": lambda: "AKIA" + _random(16, string.ascii_uppercase + "234567"),
}


def _with_keys(groups: list[list[str]]) -> tuple[str, list[int]]:
    """clean.log with the keys of each group added (each with a digest as its value) to the data of one create
    request, in order; the line of each group's request."""
    out, at = [], []
    left = list(groups)
    for n, line in enumerate(CLEAN_LOG.read_text().splitlines(), 1):
        e = json.loads(line)
        if left and e["type"] == "request" and e["request"].get("operation") == "create":
            for key in left.pop(0):
                e["request"].setdefault("data", {})[key] = DIGEST
            line = json.dumps(e, separators=(",", ":"))
            at.append(n)
        out.append(line)
    assert not left
    return "\n".join(out) + "\n", at


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_a_credential_as_a_key_is_found_at_its_line(tmp_path: Path, pure: bool) -> None:
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    keys = [remember_secret(make()) for make in KEYS.values()]
    text, at = _with_keys([[k] for k in keys])
    found, shown = leak_lines(tmp_path, "audit.log", text, pure)
    assert found == set(at), (found, at)
    assert not any(k in shown for k in keys)


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_ordinary_keys_beside_digests_stay_clean(tmp_path: Path, pure: bool) -> None:
    """Keys a client writes (words, ids, versions, paths) with digested values: no finding but the one planted."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    plain = ["password", "db_host", "x-request-id", "550e8400-e29b-41d4-a716-446655440000", "v2", "app/config.json",
             "ttl_seconds", "HTTP_AUTHORIZATION"]
    token = remember_secret(KEYS["vault service token"]())
    text, at = _with_keys([plain, [token]])
    found, _ = leak_lines(tmp_path, "audit.log", text, pure)
    assert found == {at[1]}, (found, at)
