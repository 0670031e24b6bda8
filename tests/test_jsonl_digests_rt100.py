"""Red team rt100 F1: Okta's System Log, as generic JSON lines, carries a device fingerprint on every sign-in.

Okta's LogEvent ``debugContext.debugData`` holds ``deviceFingerprint`` (32 hex digits for the browser or device) on
``user.session.start`` and ``policy.evaluate_sign_on`` events (Okta System Log API, the debugContext object). It was
read as a "Hex High Entropy String" secret on every sign-in, and twenty sign-ins on the check's cap of 20 distinct
secrets was full: a real GitHub token on line 28 was never named. A key that names a digest (``*Fingerprint``,
``*Hash``, ``*_sha256``, ``checksum``) is judged by a secret's own format only, as a key naming an id is; a token
under it is still found, and a key naming a password's hash keeps every detector.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import remember_secret
from tests.verifying import verify_lines

CONFIG = """require_tamper_evidence = false
retention_days = 0
[field_map]
time = "published"
identity = "actor.alternateId"
resource = ["target.0.alternateId", "eventType"]
action = "eventType"
result = "outcome.result"
source = "client.ipAddress"
request_id = "uuid"
"""
TOKEN = remember_secret("ghp_" + "Q7wK2mZ9pL4xT8vN3bR6cH1jF5dS0aYeGuIo")


def _sign_in(n: int, **debug: str) -> dict[str, Any]:
    """A ``user.session.start`` LogEvent as the System Log API documents it."""
    return {
        "actor": {"id": "00u1abcd2EFGH3ijk4x7", "type": "User", "alternateId": "alice@example.com",
                  "displayName": "Alice Example"},
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
                   "zone": "null", "device": "Computer", "ipAddress": "198.51.100.7",
                   "geographicalContext": {"city": "Lisbon", "country": "Portugal"}},
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": f"102{n:06d}abcDEFghiJKLmn"},
        "displayMessage": "User login to Okta", "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS"},
        "published": f"2026-11-30T08:{n // 60:02d}:{n % 60:02d}.{n:03d}Z",
        "securityContext": {"asNumber": 64500, "isProxy": False},
        "severity": "INFO",
        "debugContext": {"debugData": {"requestId": f"X{n:05d}aBcDeFgHiJkLmNoP", "requestUri": "/api/v1/authn",
                                       "url": "/api/v1/authn?", **debug}},
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": f"X{n:05d}aBcDeFgHiJkLmNoP"},
        "uuid": f"3aeede38-4f67-11ea-abd3-{n:012d}", "version": "0",
        "target": [{"id": "0oa1b2c3d4", "type": "AppInstance", "alternateId": "Okta Admin Console",
                    "displayName": "Okta Admin Console"}],
    }


def _verify(folder: Path, capsys: pytest.CaptureFixture[str], events: list[dict[str, Any]]
            ) -> tuple[int, dict[str, list[int]], str]:
    folder.mkdir()
    return verify_lines(folder, capsys, [json.dumps(e, separators=(",", ":")) for e in events], CONFIG,
                        "--format", "jsonl")


def test_sign_ins_with_device_fingerprints_are_clean_and_a_token_among_them_is_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [_sign_in(n, deviceFingerprint=secrets.token_hex(16), dtHash=secrets.token_hex(32))
              for n in range(30)]
    rc, found, text = _verify(tmp_path / "clean", capsys, events)
    assert (rc, found) == (0, {}), text[-3000:]
    events[27]["displayMessage"] = f"User login to Okta with {TOKEN}"
    rc, found, text = _verify(tmp_path / "leak", capsys, events)
    assert (rc, found) == (1, {"no_secret_leak": [28]}), text[-3000:]
    assert TOKEN not in text


def test_a_token_under_a_digest_key_and_a_password_hash_are_still_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [_sign_in(n, deviceFingerprint=secrets.token_hex(16)) for n in range(5)]
    events[1]["debugContext"]["debugData"]["deviceFingerprint"] = TOKEN
    events[3]["debugContext"]["debugData"]["passwordHash"] = remember_secret(secrets.token_hex(32))
    rc, found, text = _verify(tmp_path / "both", capsys, events)
    assert (rc, found) == (1, {"no_secret_leak": [2, 4]}), text[-3000:]
