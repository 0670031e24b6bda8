"""The events of one Kubernetes request agree (blind red team rt45, F4): each stage's event (RequestReceived, then
ResponseStarted or ResponseComplete) is written by the API server from the one request, with its user, verb, URI
and source (audit.k8s.io/v1 Event: "auditID: Unique audit ID, generated for each request"); and a request its
authorizer forbade (annotation authorization.k8s.io/decision "forbid") is answered 403. An event edited to credit
another user, or a forbidden read rewritten to a 200, passed with completeness skipped. Both ways: the stages as
the API server writes them pass; each edit is a finding at its line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import completeness
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file

ROOT = Path(__file__).resolve().parents[1] / "fixtures"


def _stages(decision: str = "allow", code: int = 200) -> list[dict[str, Any]]:
    """A secret read by a real event's user (fixtures/k8s/real/correct.log), as its RequestReceived and
    ResponseComplete events: the first without a response status, at the time the request was received."""
    base = json.loads((ROOT / "k8s/real/correct.log").read_text().splitlines()[0])
    events = []
    for n in range(3):
        done = dict(base, auditID=f"00000000-0000-4000-8000-00000000000{n}", verb="get",
                    requestURI=f"/api/v1/namespaces/prod/secrets/db-{n}",
                    objectRef={"resource": "secrets", "namespace": "prod", "name": f"db-{n}", "apiVersion": "v1"},
                    requestReceivedTimestamp=f"2026-01-05T08:00:0{n}.100000Z",
                    stageTimestamp=f"2026-01-05T08:00:0{n}.101432Z", responseStatus={"metadata": {}, "code": code},
                    annotations={"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""})
        received = {k: v for k, v in done.items() if k not in ("responseStatus", "annotations")}
        received.update(stage="RequestReceived", stageTimestamp=done["requestReceivedTimestamp"])
        events += [received, dict(done, stage="ResponseComplete")]
    return events


def _found(tmp_path: Path, events: list[dict[str, Any]]) -> tuple[str, list[tuple[int, str]]]:
    log = tmp_path / "k8s.log"
    log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    log.chmod(0o600)
    (o,) = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0),
                       [completeness.CHECK], {}).outcomes
    return o.status, [(int(f.where.rsplit(":", 1)[1]), f.message) for f in o.findings]


@pytest.mark.parametrize(("decision", "code"), [("allow", 200), ("forbid", 403)])
def test_stages_as_the_api_server_writes_them_pass(tmp_path: Path, decision: str, code: int) -> None:
    status, found = _found(tmp_path, _stages(decision, code))
    assert found == [] and status != FAILED


@pytest.mark.parametrize(("edit", "what"), [
    (lambda e: e.update(user=dict(e["user"], username="bob@example.com")), "user (user.username)"),
    (lambda e: e.update(requestURI="/api/v1/namespaces/prod/secrets/other"), "requestURI"),
    (lambda e: e.update(sourceIPs=["198.51.100.9"]), "source (sourceIPs)"),
])
def test_a_stage_that_names_another_user_uri_or_source_is_found(tmp_path: Path, edit: Callable[[dict[str, Any]], None],
                                                               what: str) -> None:
    events = _stages()
    edit(events[3])  # the second request's ResponseComplete
    status, found = _found(tmp_path, events)
    assert status == FAILED and [n for n, _ in found] == [4], found
    assert f"names another {what} than the RequestReceived event of its request" in found[0][1]


def test_a_forbidden_request_answered_200_is_found(tmp_path: Path) -> None:
    events = _stages("forbid", 403)
    events[5]["responseStatus"] = {"metadata": {}, "code": 200}
    status, found = _found(tmp_path, events)
    assert status == FAILED and [n for n, _ in found] == [6], found
    assert "decision is forbid" in found[0][1] and "result is 200" in found[0][1]
