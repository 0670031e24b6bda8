"""Red team rt99 F1: a long-running request at the end of a real OpenBao log.

``bao debug`` captures a CPU profile and an execution trace (sys/pprof/profile and sys/pprof/trace with
``?seconds=N``, N being its -interval, 30 s by default) while the server keeps serving. OpenBao writes a request entry
before it handles the request and the response entry after, so a log read while the profile runs ends with its
request entry and no response, then other requests. completeness excused a request in flight at a log's end only
within 20 times the slowest request the log had answered (tens of milliseconds on a quiet server): the live log
failed with "a hop dropped it", and passed once the profile was over. Such requests (and a log stream, an event
subscription) are now excused at the log's edge under a rule of their own, counted; a dropped line of any other
request is still found.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest

from pytest_auditready.checks import completeness
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import remember_secret

SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)
# the excuse's rule (str without it: a text no tally holds, so that the test fails on its verdicts)
LONG = getattr(completeness, "long_running", str)(int(SETTINGS.completeness_window * 10**9))


def _get(server: EmbeddedServer, path: str, timeout: float = 10) -> None:
    req = urllib.request.Request(f"{server.url}/v1/{path}", headers={"X-Vault-Token": server.root_token})
    with urllib.request.urlopen(req, timeout=timeout) as answer:
        answer.read()


def _outcome(path: Path, lines: list[bytes]) -> Outcome:
    path.write_bytes(b"".join(ln + b"\n" for ln in lines))
    path.chmod(0o600)
    (o,) = verify_file(str(path), SETTINGS, [completeness.CHECK], {}).outcomes
    return o


@pytest.mark.vault
def test_a_profile_running_at_the_end_of_a_real_openbao_log_is_excused_and_a_dropped_response_is_not(
        tmp_path: Path) -> None:
    with EmbeddedServer() as server:
        remember_secret(server.root_token)
        log = Path(server.log_path)
        for _ in range(3):
            _get(server, "sys/mounts")
        profile = threading.Thread(target=_get, args=(server, "sys/pprof/profile?seconds=3", 20), daemon=True)
        profile.start()
        deadline = time.monotonic() + 10
        while b'"path":"sys/pprof/profile"' not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # (the log goes on well past 20 times its slowest answer after the profile's request)
        for path in ("sys/mounts", "sys/policy", "auth/token/lookup-self", "sys/mounts"):
            _get(server, path)
        running = log.read_bytes().splitlines()
        profile.join(20)
        done = log.read_bytes().splitlines()
    assert sum(b'"path":"sys/pprof/profile"' in ln for ln in running) == 1, "the profile was not running"
    o = _outcome(tmp_path / "running.log", running)
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]
    assert dict(o.tally.excused).get(LONG) == 1, o.tally
    o = _outcome(tmp_path / "done.log", done)  # the profile answered: paired, nothing long-running left
    assert o.status == PASSED and LONG not in dict(
        o.tally.excused), o.tally
    # the same running log with the response of a read before the profile taken out: still found
    at = next(i for i, ln in enumerate(running) if b'"type":"response"' in ln and b'"path":"sys/mounts"' in ln)
    rid = running[at].split(b'"request":{"id":"', 1)[1][:36]
    asked = next(i for i, ln in enumerate(running) if b'"type":"request"' in ln and rid in ln)
    o = _outcome(tmp_path / "dropped.log", running[:at] + running[at + 1:])
    assert o.status == FAILED and [f.where for f in o.findings] == [f"{tmp_path / 'dropped.log'}:{asked + 1}"], [
        f.text() for f in o.findings]
