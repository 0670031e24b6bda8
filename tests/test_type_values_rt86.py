"""type_values: the words a producer writes for a request's two halves (red team rt86 F2). Consul Enterprise's audit
log writes each HTTP request as an OperationStart event and an OperationComplete one (payload.stage), and field_map's
type could only be "request" or "response": completeness judged nothing and every OperationStart "lacked the
result", with no setting to say what the words mean, so a dropped OperationComplete could not be found either."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from pytest_auditready.config import load

MAP = ('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n[field_map]\n'
       'time = "payload.timestamp"\nidentity = "payload.auth.accessor_id"\nresource = "payload.request.endpoint"\n'
       'action = "payload.request.operation"\nresult = "payload.response.status"\n'
       'source = "payload.request.remote_addr"\nrequest_id = "payload.id"\ntype = "payload.stage"\n')
WORDS = '[type_values]\nrequest = "OperationStart"\nresponse = ["OperationComplete"]\n'


def _event(n: int, stage: str) -> str:
    ms = 381 + (23 if stage == "OperationComplete" else 0)  # one request a second, each answered in 23 ms
    payload: dict[str, Any] = {
        "id": f"1a3c793a-6d52-c436-9733-{n:012d}", "version": "1", "type": "HTTPEvent",
        "timestamp": f"2026-03-02T04:15:{4 + n:02d}.{ms:03d}368-05:00",
        "auth": {"accessor_id": "08f05787-3609-8001-65b4-922e5d52e84c", "description": "ci token"},
        "request": {"operation": "GET", "endpoint": f"/v1/kv/config/app{n}?dc=dc1", "remote_addr": "10.0.3.10:50000"},
        "stage": stage}
    if stage == "OperationComplete":
        payload["response"] = {"status": "200"}
    return json.dumps({"created_at": payload["timestamp"], "event_type": "audit", "payload": payload},
                      separators=(",", ":"))


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, drop: int = -1) -> tuple[int, list[Any]]:
    lines = [_event(n, s) for n in range(15) for s in ("OperationStart", "OperationComplete")]
    if drop >= 0:
        del lines[drop]
    log = tmp_path / "audit.json"
    log.write_text("\n".join(lines) + "\n")
    log.chmod(0o600)
    cfg = tmp_path / "c.toml"
    cfg.write_text(MAP + config)
    out = tmp_path / "out.json"
    rc = main(["verify", str(log), "--config", str(cfg), "--json", str(out)])
    capsys.readouterr()
    report = json.loads(out.read_text())
    return rc, [(o["check"], o["status"], f["where"].rsplit(":", 1)[-1]) for o in report["outcomes"]
                for f in o["findings"] or [{"where": ""}] if o["status"] == "failed"]


def test_consuls_stages_are_paired_once_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, failed = _run(tmp_path, capsys, "")
    assert rc == 1 and {c for c, _, _ in failed} >= {"completeness", "required_fields"}  # the false alarm, before
    assert _run(tmp_path, capsys, WORDS) == (0, [])
    rc, failed = _run(tmp_path, capsys, WORDS, drop=9)  # request 4's OperationComplete dropped
    assert rc == 1 and failed == [("completeness", "failed", "9")], failed


@pytest.mark.parametrize("value", ['{request = "OperationStart", other = "x"}', '{}', '{request = []}',
                                   '{request = "A", response = "A"}', '"OperationStart"'])
def test_type_values_must_name_the_two_halves(value: str) -> None:
    import tomllib

    with pytest.raises(Exception) as caught:
        load([("c.toml", tomllib.loads(f"type_values = {value}\n"))])
    assert "a table of request and response" in str(caught.value)
