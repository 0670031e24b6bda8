"""A Kubernetes request is judged by the object the API server served, whatever escaping its client chose.

The audit Event's ``requestURI`` is the URI as the client sent it (audit.k8s.io/v1 reference), while the API server
routes on the percent-decoded path with the slashes at either end trimmed (RequestInfoFactory). Red team rt11:
``GET /api/v1/namespaces/prod/secrets/d%62`` reads Secret prod/db, yet it counted for nobody: ``access_policy``
held and ``auditready access`` left the reader out. Events written to the documented Event format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.checks.access_policy import k8s_reach
from pytest_auditready.cli import main

RULES = """[tool.auditready]
require_tamper_evidence = false
retention_days = 0

[[tool.auditready.access.rules]]
name = "prod db secret"
paths = ["api/v1/namespaces/prod/secrets/db"]
operations = ["read"]
identities = ["alice"]
"""
SPELLINGS = ["/api/v1/namespaces/prod/secrets/d%62", "/api/v1/namespaces/pro%64/secrets/db",
             "/api/v1/namespaces/prod/secret%73/db", "/api/v1/namespaces/prod/secrets/db/",
             "/api/v1/namespaces/prod/secrets/%64%62?resourceVersion=0"]


def _event(i: int, user: str, uri: str) -> str:
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"b8a1abcd-1a69-46c7-8da4-f9fc3c6da5{i:02d}", "stage": "ResponseComplete", "requestURI": uri,
        "verb": "get", "user": {"username": user, "groups": ["system:authenticated"]}, "sourceIPs": [f"10.1.2.{i}"],
        "userAgent": "curl/8.5.0", "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db",
                                                 "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": f"2026-03-04T10:00:{i:02d}.100417Z",
        "stageTimestamp": f"2026-03-04T10:00:{i:02d}.104863Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}})


def _log(tmp_path: Path, uris: list[tuple[str, str]]) -> tuple[Path, Path]:
    log = tmp_path / "k8s-audit.log"
    log.write_text("".join(_event(i, u, uri) + "\n" for i, (u, uri) in enumerate(uris, 1)))
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(RULES)
    return log, cfg


@pytest.mark.parametrize("uri", SPELLINGS)
def test_a_read_spelled_otherwise_is_the_read_of_the_same_secret(tmp_path: Path, uri: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert k8s_reach(uri, "get").named[0].shown == "api/v1/namespaces/prod/secrets/db"
    log, cfg = _log(tmp_path, [("alice", "/api/v1/namespaces/prod/secrets/db"), ("mallory", uri)])
    out = tmp_path / "verify.json"
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out), "-q"]) == 1
    (policy,) = [o for o in json.loads(out.read_text())["outcomes"] if o["check"] == "access_policy"]
    assert [f["where"].split(",")[0] for f in policy["findings"]] == [f"{log}:2"]
    assert "by mallory breaks rule 'prod db secret'" in policy["findings"][0]["message"]
    capsys.readouterr()
    assert main(["access", "api/v1/namespaces/prod/secrets/db", str(log)]) == 0
    table = capsys.readouterr().out
    assert "2 requests (0 denied) by 2 identities" in table and "mallory" in table


def test_the_allowed_reader_alone_passes(tmp_path: Path) -> None:
    log, cfg = _log(tmp_path, [("alice", "/api/v1/namespaces/prod/secrets/db"), ("alice", SPELLINGS[0])])
    assert main(["verify", str(log), "--config", str(cfg), "-q"]) == 0
