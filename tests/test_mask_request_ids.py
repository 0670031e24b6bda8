"""A credential a client chose as its request id (a Kubernetes Audit-ID header becomes the event's auditID) never
reaches a report: not past the 20 secrets no_secret_leak names (red team rt43, F9), not as the head of an id too long
to show (red team rt42, F12). And two secrets of one line under one key name are both named (rt42, F14)."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.vault.embedded import EmbeddedServer
from tests._native_runs import completed
from tests.conftest import load_script, remember_secret
from tests.test_secret_data import _log_lines, _logs
from tests.test_token_keys import _base

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api
_ALNUM = string.ascii_letters + string.digits


# one fingerprint key for the runs and for the names the tests expect (a test process's own may differ)
_ENV = {**os.environ, "AUDITREADY_FINGERPRINT_KEY": "test-mask-request-ids"}


def fingerprint(value: str) -> str:
    """``value``'s fingerprint as the runs below name it."""
    return subprocess.run([sys.executable, "-c", "import sys; from pytest_auditready.scan.known import fingerprint; "
                           "print(fingerprint(sys.stdin.read()))"], input=value, capture_output=True, text=True,
                          env=_ENV, timeout=60, check=True).stdout.strip()


def _event(base: dict[str, Any], audit_id: str, backwards: bool = False) -> str:
    """A copy of a real Metadata event under ``audit_id``; ``backwards``: its stage time before its receipt."""
    event = dict(base, auditID=audit_id)
    if backwards:
        event["requestReceivedTimestamp"], event["stageTimestamp"] = event["stageTimestamp"], \
            event["requestReceivedTimestamp"]
    return json.dumps(event, separators=(",", ":"))


def _outputs(tmp_path: Path, text: str) -> tuple[dict[str, Any], str]:
    """``auditready verify`` with every report: its JSON report, and everything it printed and wrote."""
    log = tmp_path / "k8s.log"
    log.write_text(text)
    log.chmod(0o600)
    out = tmp_path / "out"
    proc = completed(["verify", str(log), "--json", str(out / "r.json"), "--sarif", str(out / "r.sarif"), "--junit",
                      str(out / "r.xml"), "--evidence", str(out / "ev")], None, _ENV, timeout=120)
    assert proc.returncode == 1, proc.stderr
    written = "".join(p.read_text(errors="replace") for p in sorted(out.rglob("*")) if p.is_file())
    return json.loads((out / "r.json").read_text()), proc.stdout + proc.stderr + written


def test_a_credential_as_request_id_is_masked_past_the_secrets_named(tmp_path: Path) -> None:
    """22 events whose auditIDs are distinct GitHub tokens, then a GitLab token as the auditID of an event whose
    times go backwards (a timestamp_accuracy finding on its line): no_secret_leak stops naming after 20 secrets,
    and the GitLab token was printed as that finding's request id in every report."""
    lines, base = _base()
    ghp = [remember_secret("ghp_" + "".join(secrets.choice(_ALNUM) for _ in range(36))) for _ in range(22)]
    glpat = remember_secret("glpat-" + "".join(secrets.choice(_ALNUM) for _ in range(20)))
    lines += [_event(base, t) for t in ghp] + [_event(base, glpat, backwards=True)]
    doc, shown = _outputs(tmp_path, "\n".join(lines) + "\n")
    assert glpat not in shown and not any(t in shown for t in ghp)
    said = [f for o in doc["outcomes"] if o["check"] == "timestamp_accuracy" for f in o["findings"]]
    assert any(f["request_id"] == f"<GitLab Token sha256 {fingerprint(glpat)}>" for f in said), said


def test_a_plain_request_id_is_shown_as_it_is(tmp_path: Path) -> None:
    lines, base = _base()
    lines.append(_event(base, "0b7e3f2a-5c1d-4e8f-9a6b-2d4c6e8f0a1b", backwards=True))
    doc, _ = _outputs(tmp_path, "\n".join(lines) + "\n")
    said = [f for o in doc["outcomes"] if o["check"] == "timestamp_accuracy" for f in o["findings"]]
    assert [f["request_id"] for f in said] == ["0b7e3f2a-5c1d-4e8f-9a6b-2d4c6e8f0a1b"]


def test_a_long_credential_as_request_id_shows_no_head(tmp_path: Path) -> None:
    """A 125-character JWT as the auditID: the id was cut to its first 60 characters before no_secret_leak masked
    it, so the cut head (the token's header and claims) no longer matched and was printed in every report."""
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"sub": "ci-bot", "n": secrets.token_hex(8)}).encode()).rstrip(b"=")
    jwt = remember_secret("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + claims.decode() + "."
                          + "".join(secrets.choice(_ALNUM + "-_") for _ in range(43)))
    assert len(jwt) > 120
    lines, base = _base()
    lines.append(_event(base, jwt, backwards=True))
    doc, shown = _outputs(tmp_path, "\n".join(lines) + "\n")
    assert jwt[:40] not in shown and jwt.split(".")[1][:20] not in shown
    ids = {f["request_id"] for o in doc["outcomes"] for f in o["findings"] if f["request_id"]}
    assert ids == {f"<{len(jwt)} characters, sha256 {fingerprint(jwt)}>"}, ids


@pytest.mark.vault
def test_two_secrets_under_one_key_name_on_a_line_are_both_named(bao: Callable[..., EmbeddedServer],
                                                                  tmp_path: Path) -> None:
    """A KV version 1 mount tuned to log "password" in clear: a replica's password one level down and the top
    level's PIN, both under a key named password. Only the first was named; the other stayed unrotated."""
    s = bao()
    _api(s, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    _api(s, "POST", "sys/mounts/kv1/tune", {"audit_non_hmac_request_keys": ["password"]})
    # (a PIN of digits, which no detector names: only the secret-data rule does; too short to remember as a secret
    # that no output may hold, as a fingerprint's digits may spell it)
    replica, pin = remember_secret("Rq7-Vx2-Lm9-Tz4-Kp8"), str(1000 + secrets.randbelow(9000))
    _api(s, "POST", "kv1/svc", {"replica": {"password": replica}, "password": pin})
    (log,) = _logs(tmp_path, audit=_log_lines(s, "kv1/svc", 2))
    out = tmp_path / "r.json"
    proc = completed(["verify", str(log), "--json", str(out)], None, _ENV, timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    said = " ".join(f["message"] for o in doc["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"])
    assert f"sha256 {fingerprint(replica)}" in said and f"sha256 {fingerprint(pin)}" in said, said
    assert replica not in said
