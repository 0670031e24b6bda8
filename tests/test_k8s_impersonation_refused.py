"""A refused Kubernetes impersonation (`kubectl --as=bob@example.com` by someone not allowed to): the API server's
impersonation filter answers Forbidden before it records an impersonatedUser, and the Status names the target in
details.name and its message (k8s.io/apiserver impersonation.go, responsewriters.Forbidden). Who someone tried to
act as is the evidence of the attempt: data_minimisation failed it as personal data (red team rt33, F2). The same
address anywhere a caller wrote it is judged as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "data_minimisation"]
MESSAGE = ('users "bob@example.com" is forbidden: User "oidc:alice@example.com" cannot impersonate resource "users" '
           'in API group "" at the cluster scope')


def _refused(details: bool) -> dict[str, Any]:
    ev = json.loads((ROOT / "k8s" / "audit.log").read_text().splitlines()[0])
    ev["user"] = {"username": "oidc:alice@example.com", "groups": ["system:authenticated"]}
    ev["responseStatus"] = {"metadata": {}, "status": "Failure", "message": MESSAGE, "reason": "Forbidden", "code": 403}
    if details:
        ev["responseStatus"]["details"] = {"name": "bob@example.com", "kind": "users"}
    ev["annotations"] = {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
    return ev


def _status(tmp_path: Path, events: list[dict[str, Any]]) -> tuple[str, list[str]]:
    path = tmp_path / "audit.log"
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    path.chmod(0o600)
    res = verify_file(str(path), Settings(log_format="k8s"), CHECK, {})
    (out,) = res.outcomes
    return out.status, [f.where.rsplit(":", 1)[1] for f in out.findings]


@pytest.mark.parametrize("details", [True, False])
def test_a_refused_impersonations_target_is_evidence(tmp_path: Path, details: bool) -> None:
    assert _status(tmp_path, [_refused(details)]) == (PASSED, [])


def test_the_same_address_in_a_403_that_is_no_impersonation_is_judged(tmp_path: Path) -> None:
    ev = _refused(True)
    ev["responseStatus"]["details"] = {"name": "bob@example.com", "kind": "configmaps"}
    ev["responseStatus"]["message"] = 'configmaps "bob@example.com" is forbidden: User "oidc:alice@example.com" cannot get'
    assert _status(tmp_path, [ev]) == (FAILED, ["1"])
