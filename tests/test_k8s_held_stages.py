"""A Kubernetes request whose last stage the log does not (yet) hold is still a request (red team rt15 F1). Under
the policy the Kubernetes docs show first (``omitStages: ["RequestReceived"]``) an open watch is one
ResponseStarted event until it ends, minutes or hours later; a failed authentication is one ResponseStarted event
(kube-apiserver's WithFailedAuthenticationAudit: code 401, no user). ``auditready access``, the access review and
``access_policy`` counted a request at its last stage or at RequestReceived only, so those were never counted:
an identity streaming a Secret, and every unauthenticated probe of it, were missing from "who saw that secret?"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import AccessRule, Settings
from pytest_auditready.engine.files import verify_file
from tests._native_runs import completed

EKS_ROLE = "arn:aws:sts::111122223333:assumed-role/EKSAdminRole/jane-session"


def _event(n: int, stage: str, verb: str, uri: str, user: Optional[str], code: int,
           name: Optional[str] = "db") -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": "secrets", "namespace": "prod", "apiVersion": "v1"}
    if name:
        ref["name"] = name
    ev: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"5e0c2f4a-1b3d-4c5e-8f70-{n:012d}", "stage": stage, "requestURI": uri, "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]} if user else {},
        "sourceIPs": ["198.51.100.77" if user is None else "203.0.113.5"], "userAgent": "kubectl/v1.31.0",
        "objectRef": ref, "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": f"2026-01-15T10:00:{n:02d}.000000Z",
        "stageTimestamp": f"2026-01-15T10:00:{n:02d}.001000Z",
    }
    if user is None:
        ev["responseStatus"]["message"] = "Authentication failed, attempted: bearer"
        ev["responseStatus"]["status"] = "Failure"
        ev["responseStatus"]["reason"] = "Unauthorized"
    else:
        ev["annotations"] = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    return ev


def _log(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    log = tmp_path / "audit.log"
    log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    log.chmod(0o600)
    return log


def _events() -> list[dict[str, Any]]:
    return [
        _event(1, "ResponseStarted", "get", "/api/v1/namespaces/prod/secrets/db", None, 401),  # a failed login
        _event(2, "ResponseStarted", "watch", "/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%3Ddb"
               "&watch=true", EKS_ROLE, 200, name=None),  # still open: no ResponseComplete yet
        # a request logged at every stage: counted once
        _event(3, "RequestReceived", "get", "/api/v1/namespaces/prod/secrets/db", "oidc:jane@example.com", 0),
        _event(3, "ResponseStarted", "get", "/api/v1/namespaces/prod/secrets/db", "oidc:jane@example.com", 200),
        _event(3, "ResponseComplete", "get", "/api/v1/namespaces/prod/secrets/db", "oidc:jane@example.com", 200),
    ]


def _access(log: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "access.json"
    run = completed(["access", "api/v1/namespaces/prod/secrets/db", str(log), "--json", str(out)], timeout=120)
    assert run.returncode == 0, run.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def test_access_counts_an_open_watch_and_a_failed_login_once_each(tmp_path: Path) -> None:
    doc = _access(_log(tmp_path, _events()), tmp_path)
    who = {i["display_name"]: i for i in doc["identities"]}
    assert set(who) == {"", EKS_ROLE, "oidc:jane@example.com"}, sorted(who)
    failed_login = who[""]["operations"]["get"]
    assert (failed_login["requests"], failed_login["denied"]) == (1, 1), failed_login
    assert who[EKS_ROLE]["operations"]["watch"]["requests"] == 1
    assert who["oidc:jane@example.com"]["operations"]["get"]["requests"] == 1  # three stages, one request
    assert doc["requests"] == 3 and doc["denied"] == 1


def test_the_access_review_counts_them_too(tmp_path: Path) -> None:
    log = _log(tmp_path, _events())
    ev = tmp_path / "ev"
    completed(["verify", str(log), "--evidence", str(ev)], timeout=120)
    review = json.loads((ev / "evidence.json").read_text())["review"]
    assert review["requests"] == 3 and review["denied"] == 1, (review["requests"], review["denied"])


def test_access_policy_judges_an_open_watch_and_accounts_for_every_event(tmp_path: Path) -> None:
    """Only jane may read prod/db: the EKS role's open watch breaks the rule; the failed login was refused by the
    API server; each of the five events is judged or excused, none lost."""
    log = _log(tmp_path, _events())
    rule = AccessRule("db", ("api/v1/namespaces/prod/secrets/db",), ("read",), ("oidc:jane@example.com",), ())
    o = verify_file(str(log), Settings(access=(rule,)), [ap.CHECK], {}).outcomes[0]
    assert o.status == FAILED and len(o.findings) == 1, [f.text() for f in o.findings]
    assert EKS_ROLE in o.findings[0].message and "watch" in o.findings[0].message
    assert o.tally.judged + sum(n for _, n in o.tally.excused) == o.tally.fed == 5, o.tally
    jane_only = _log(tmp_path, [e for e in _events() if e["user"].get("username") != EKS_ROLE])
    ok = verify_file(str(jane_only), Settings(access=(rule,)), [ap.CHECK], {}).outcomes[0]
    assert ok.status == PASSED and "1 more refused by the vault" in ok.reason, ok.reason


@pytest.mark.parametrize("stage", ["ResponseComplete", "Panic"])
def test_a_watch_that_ended_is_counted_at_its_last_stage_once(tmp_path: Path, stage: str) -> None:
    started = _event(2, "ResponseStarted", "watch", "/api/v1/namespaces/prod/secrets?fieldSelector="
                     "metadata.name%3Ddb&watch=true", EKS_ROLE, 200, name=None)
    ended = dict(started, stage=stage, stageTimestamp="2026-01-15T10:09:02.000000Z")
    doc = _access(_log(tmp_path, [started, ended]), tmp_path)
    assert doc["requests"] == 1 and doc["identities"][0]["operations"]["watch"]["requests"] == 1


def test_the_access_table_gives_each_time_its_zone(tmp_path: Path) -> None:
    """The table's first and last times end in Z, as the JSON's and the footer's do (red team rt15 F6)."""
    log = _log(tmp_path, _events())
    run = completed(["access", "api/v1/namespaces/prod/secrets/db", str(log)], timeout=120)
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith("oidc:jane@example.com"))
    assert "2026-01-15T10:00:03.000Z  2026-01-15T10:00:03.000Z" in row, row


def test_a_kubernetes_exports_left_out_records_are_not_called_the_vaults() -> None:
    from pytest_auditready.report.common import accounting_lines

    acct = {"file": "eks.gz", "format": "k8s", "framing": "cloudwatch", "left_out": 0, "lines": 3, "entries": 3,
            "unreadable_lines": 0, "checks": {}}
    text = "\n".join(accounting_lines([acct]))
    assert "records of the producer's own server output" in text and "vault" not in text
    vault = "\n".join(accounting_lines([dict(acct, format="vault", file="audit.log")]))
    assert "records of the vault's own server output" in vault
