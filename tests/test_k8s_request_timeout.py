"""A Kubernetes request that runs longer than the API server's default request timeout (60 s): clusters raise it
(--request-timeout; the CIS Kubernetes Benchmark's example is 300s). Its ResponseComplete event carries the
request's start as its time and is written, in its place, when the request ends: a correct log failed
timestamp_accuracy as "the log goes back in time" (red team rt33, F1). k8s_request_timeout names the cluster's
timeout; an event whose stageTimestamp goes back too is re-timed or reordered whatever it is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

CHECK = [c for c in offline_checks(BUILTIN) if c.id == "timestamp_accuracy"]
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)


def _t(s: float) -> str:
    return (T0 + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(n: int, stage: str, received: float, written: float, verb: str = "get") -> dict[str, Any]:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": f"5e0c2f4a-1b3d-4c5e-8f70-{n:012d}", "stage": stage, "requestURI": "/api/v1/configmaps",
            "verb": verb, "user": {"username": "system:serviceaccount:ops:reporter", "groups": ["system:authenticated"]},
            "sourceIPs": ["10.0.3.17"], "userAgent": "reporter/1.0", "objectRef": {"resource": "configmaps",
                                                                                   "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": 200}, "requestReceivedTimestamp": _t(received),
            "stageTimestamp": _t(written)}


def _log(tmp_path: Path, slow_written: float) -> tuple[Path, int]:
    """A cluster-wide list received at 0 s that completes at ``slow_written`` s, among gets every half second."""
    events = [_event(0, "RequestReceived", 0.0, 0.0, "list")]
    for i in range(1, 200):
        t = i * 0.5
        events += [_event(i, "RequestReceived", t, t), _event(i, "ResponseComplete", t, t + 0.002)]
    events.append(_event(0, "ResponseComplete", 0.0, slow_written, "list"))
    events.sort(key=lambda e: e["stageTimestamp"])
    path = tmp_path / "audit.log"
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    path.chmod(0o600)
    at = next(n for n, e in enumerate(events, 1) if e["auditID"].endswith("000000000000")
              and e["stage"] == "ResponseComplete")
    return path, at


@pytest.mark.parametrize("timeout, status", [(60.0, FAILED), (300.0, PASSED)])
def test_a_slow_request_written_in_its_place_passes_within_the_clusters_timeout(tmp_path: Path, timeout: float,
                                                                                status: str) -> None:
    path, at = _log(tmp_path, 75.2)
    res = verify_file(str(path), Settings(log_format="k8s", k8s_request_timeout=timeout), CHECK, {})
    (out,) = res.outcomes
    assert out.status == status, [f.text() for f in out.findings]
    if status == FAILED:
        (f,) = out.findings
        assert f.where.endswith(f":{at}") and "k8s_request_timeout=60 s" in f.message
        assert "--request-timeout" in f.fix


def test_an_event_written_out_of_its_place_fails_whatever_the_timeout(tmp_path: Path) -> None:
    path, at = _log(tmp_path, 75.2)
    lines = path.read_text().splitlines()
    moved = json.loads(lines[at - 1])
    moved["stageTimestamp"] = _t(30.0)  # written, it says, before events written after it: re-timed or reordered
    lines[at - 1] = json.dumps(moved, separators=(",", ":"))
    path.write_text("".join(ln + "\n" for ln in lines))
    res = verify_file(str(path), Settings(log_format="k8s", k8s_request_timeout=300.0), CHECK, {})
    (out,) = res.outcomes
    assert out.status == FAILED and out.findings[0].where.endswith(f":{at}")
    assert "k8s_request_timeout" not in out.findings[0].message


def test_a_request_received_event_written_after_a_slow_authentication_passes(tmp_path: Path) -> None:
    """kube-apiserver writes the RequestReceived event once authentication is done (WithAudit runs inside
    WithAuthentication), with the time the request arrived: a token webhook that takes 4 s put it 4 s behind the
    events written meanwhile, beyond max_skew, in its place (red team rt33, F1)."""
    events = []
    for i in range(1, 40):
        t = i * 0.25
        events += [_event(i, "RequestReceived", t, t), _event(i, "ResponseComplete", t, t + 0.002)]
    events.append(_event(0, "RequestReceived", 0.5, 4.505))  # received at 0.5 s, authenticated at 4.5 s
    events.append(_event(0, "ResponseComplete", 0.5, 4.507))
    events.sort(key=lambda e: e["stageTimestamp"])
    path = tmp_path / "audit.log"
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    path.chmod(0o600)
    res = verify_file(str(path), Settings(log_format="k8s"), CHECK, {})
    (out,) = res.outcomes
    assert out.status == PASSED, [f.text() for f in out.findings]
