"""A finding names a secret by a keyed fingerprint, never by a hash anyone can recompute (red team rt16 F5): the
first 10 hex digits of an unkeyed SHA-256 of "Summer2026!" were found again from the report with a short word
list. The key comes from AUDITREADY_FINGERPRINT_KEY (a CI secret: the same names on every runner, so a baseline's
acceptances hold), else from a file made once in the user's config folder (mode 0600)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import remember_secret
from tests.test_url_passwords import jsonl_config, leak_lines

WEAK = "Summer2026!"


def _fingerprint(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", "from pytest_auditready.scan.known import fingerprint; "
                          f"print(fingerprint({WEAK!r}))"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AUDITREADY_FINGERPRINT_KEY"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.update(extra)
    return env


def test_the_key_is_made_once_private_and_shared_by_the_users_processes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first, second = _fingerprint(env), _fingerprint(env)
    assert first == second and len(first) == 10
    assert first != hashlib.sha256(WEAK.encode()).hexdigest()[:10]  # no word list finds it
    key = tmp_path / "config" / "pytest-auditready" / "fingerprint.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert _fingerprint(_env(tmp_path / "another-user")) != first  # another user's key names it otherwise


def test_the_environments_key_wins_and_names_alike_on_every_machine(tmp_path: Path) -> None:
    a = _fingerprint(_env(tmp_path / "runner-1", AUDITREADY_FINGERPRINT_KEY="ci-secret"))
    b = _fingerprint(_env(tmp_path / "runner-2", AUDITREADY_FINGERPRINT_KEY="ci-secret"))
    c = _fingerprint(_env(tmp_path / "runner-1", AUDITREADY_FINGERPRINT_KEY="another-secret"))
    assert a == b != c
    assert not (tmp_path / "runner-1" / "config" / "pytest-auditready" / "fingerprint.key").exists()


def test_a_reported_weak_password_is_not_found_again_from_the_report(tmp_path: Path) -> None:
    """The rt16 case: a Teleport exec event runs `mysql -p<password>`; the finding's fingerprint is no SHA-256
    prefix of the password, in the terminal or the JSON report."""
    remember_secret(WEAK)
    event = {"event": "exec", "code": "T3002I", "time": "2026-03-05T04:00:07.404Z", "user": "alice",
             "uid": "bdc2ae99-8b52-4b4a-97b7-50923ceb3ffd", "addr.remote": "151.181.228.114:51770",
             "command": f"mysql -u root -p{WEAK} orders", "exitCode": "0"}
    cfg = jsonl_config(tmp_path, {"time": "time", "identity": "user", "resource": "command", "action": "event",
                                  "result": "code", "source": "addr.remote", "request_id": "uid"})
    found, shown = leak_lines(tmp_path, "teleport.jsonl", json.dumps(event) + "\n", False, cfg)
    assert found == {1}
    assert WEAK not in shown and hashlib.sha256(WEAK.encode()).hexdigest()[:10] not in shown
