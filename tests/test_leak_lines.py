"""no_secret_leak names a secret once, at its first line, and the further lines it is on: the message the first
five, the JSON report (``also_on``) every one, so that a team can purge each line it is on (red team rt21 F11:
"and 5 more" was all any report said). Beyond _ALSO further lines, the message says how many it holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_auditready.checks import no_secret_leak
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from tests._native_runs import completed

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"  # recorded from OpenBao
CANARY = "Zq8vN3xLp2RtY7wK4mJc9HbF"


def _planted(tmp_path: Path, count: int) -> tuple[Path, Path, list[int]]:
    """The recorded log with the canary in the request data of its first ``count`` KV requests (a mount tuned to
    log a key without HMAC), the canaries file, and the lines planted (1-based)."""
    out, planted = [], []
    for n, line in enumerate(CLEAN.read_text().splitlines(), 1):
        e = json.loads(line)
        if (len(planted) < count and e.get("type") == "request"
                and e.get("request", {}).get("path", "").startswith("secret/data/")):
            e["request"]["data"] = {"note": CANARY}
            planted.append(n)
        out.append(json.dumps(e, separators=(",", ":")))
    assert len(planted) == count
    log = tmp_path / "audit.log"
    log.write_text("\n".join(out) + "\n")
    log.chmod(0o600)
    canaries = tmp_path / "canaries.txt"
    canaries.write_text(CANARY + "\n")
    return log, canaries, planted


def _leaks(doc: dict) -> list[dict]:
    return [f for o in doc["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]]


def test_the_json_report_lists_every_line_the_message_shortens(tmp_path: Path) -> None:
    log, canaries, planted = _planted(tmp_path, 12)
    proc = completed(["verify", str(log), "--canaries", str(canaries), "--json", str(tmp_path / "out.json")], tmp_path,
                     {k: v for k, v in os.environ.items() if k != "AUDITREADY_PURE_PYTHON"}, timeout=300)
    assert proc.returncode == 1, proc.stderr
    (leak,) = _leaks(json.loads((tmp_path / "out.json").read_text()))
    assert leak["where"].endswith(f"audit.log:{planted[0]}")
    assert leak["also_on"] == planted[1:]
    assert "also on lines " + ", ".join(map(str, planted[1:6])) + " and 6 more (every one under also_on" in (
        leak["message"])
    assert CANARY not in proc.stdout + proc.stderr + (tmp_path / "out.json").read_text()


def test_a_secret_on_one_line_says_no_more_and_a_correct_log_none(tmp_path: Path) -> None:
    log, _, planted = _planted(tmp_path, 1)
    settings = Settings(require_tamper_evidence=False, retention_days=0)
    res = verify_file(str(log), settings, [no_secret_leak.CHECK], {"canary:1": CANARY}, ())
    (o,) = res.outcomes
    (f,) = o.findings
    assert f.where.endswith(f":{planted[0]}") and not f.also_on and "also on" not in f.message
    assert "also_on" not in f.to_json()
    clean = tmp_path / "clean.log"
    clean.write_bytes(CLEAN.read_bytes())
    clean.chmod(0o600)
    (o,) = verify_file(str(clean), settings, [no_secret_leak.CHECK], {"canary:1": CANARY}, ()).outcomes
    assert o.status == "passed" and not o.findings


def test_past_the_cap_the_message_says_how_many_the_report_holds(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(no_secret_leak, "_ALSO", 3)
    log, _, planted = _planted(tmp_path, 12)
    settings = Settings(require_tamper_evidence=False, retention_days=0)
    (o,) = verify_file(str(log), settings, [no_secret_leak.CHECK], {"canary:1": CANARY}, ()).outcomes
    (f,) = o.findings
    assert list(f.also_on) == planted[1:4]
    assert "and 6 more (the first 3 under also_on" in f.message, f.message
