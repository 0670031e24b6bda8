"""Real Vault and OpenBao audit logs written by others' setups (fixtures/real-vault/, sources in its README): a
careful setup gets no finding, and the same lines with one defect planted get it at its line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests._native_runs import completed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real-vault"
SETTINGS = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


def verify(tmp_path: Path, lines: list[str], name: str = "audit.log") -> dict[str, Any]:
    """``auditready verify --json`` of ``lines`` written as a mode-0600 file; the checks' verdicts by id."""
    log = tmp_path / name
    log.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    os.chmod(log, 0o600)
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    out = tmp_path / "out.json"
    proc = completed(["verify", str(log), "--json", str(out)], tmp_path, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return {c["check"]: c for c in json.loads(out.read_text())["outcomes"]}


def lines_of(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def failed(checks: dict[str, Any]) -> dict[str, list[str]]:
    return {k: [f"{Path(f['where']).name} {f['message']}" for f in c["findings"]]
            for k, c in checks.items() if c["status"] == "failed"}


def set_path(line: str, path: str) -> str:
    entry = json.loads(line)
    entry["request"]["path"] = path
    return json.dumps(entry, separators=(",", ":"))


def test_templated_policy_path_naming_the_logged_identity_is_no_finding(tmp_path: Path) -> None:
    """OpenBao: a policy templated on the JWT alias name (an e-mail claim) puts that address in the secret's path and
    in a wrapped response's creation_path; the log names the same address as who acted (display name, metadata)."""
    checks = verify(tmp_path, lines_of("openbao-templated-policy.log"))
    assert failed(checks) == {}
    assert checks["data_minimisation"]["status"] == "passed"


def test_email_in_path_that_is_no_identity_still_fires(tmp_path: Path) -> None:
    """The same log with a customer's address (no identity of the log) planted in one request's path: found at that
    line, in request.path."""
    lines = lines_of("openbao-templated-policy.log")
    rid = json.loads(lines[2])["request"]["id"]  # the request entry and its response entry, which repeats the path
    lines = [set_path(ln, "secret/data/customers/dan.smith@example.net") if json.loads(ln)["request"].get("id") == rid
             else ln for ln in lines]
    checks = verify(tmp_path, lines)
    found = failed(checks)
    assert list(found) == ["data_minimisation"]
    assert found["data_minimisation"][0].startswith("audit.log:3 ")
    assert "'request.path'" in found["data_minimisation"][0]


def test_email_in_path_fires_when_the_log_never_names_it_as_identity(tmp_path: Path) -> None:
    """Only the admin's entries on the user's path (the user's login and reads left out): nothing in the log says the
    address is an identity, so it is personal data in a path."""
    lines = lines_of("openbao-templated-policy.log")
    checks = verify(tmp_path, [lines[2], lines[3], lines[6], lines[7]])
    found = failed(checks)
    assert list(found) == ["data_minimisation"]
    assert found["data_minimisation"][0].startswith("audit.log:1 ")


def test_email_in_wrap_creation_path_that_is_no_identity_fires(tmp_path: Path) -> None:
    """A wrapped response's creation_path names the wrapped request's path in clear: a non-identity address there is
    found (and an identity's own, above, is not)."""
    lines = lines_of("openbao-templated-policy.log")
    entry = json.loads(lines[7])
    entry["response"]["wrap_info"]["creation_path"] = "secret/data/customers/dan.smith@example.net"
    lines[7] = json.dumps(entry, separators=(",", ":"))
    found = failed(verify(tmp_path, lines))
    assert list(found) == ["data_minimisation"]
    assert found["data_minimisation"][0].startswith("audit.log:8 ")
    assert "wrap_info.creation_path" in found["data_minimisation"][0]


def test_elastic_integration_vault_samples_are_clean(tmp_path: Path) -> None:
    """Vault lines from elastic/integrations' pipeline tests (an OIDC identity with an e-mail in its token metadata,
    a refused unknown token, a token lookup): no finding."""
    checks = verify(tmp_path, lines_of("elastic-hashicorp-vault-audit.log"))
    assert failed(checks) == {}
    judged = {k: c["tally"]["judged"] for k, c in checks.items() if c["status"] == "passed"}
    assert judged["data_minimisation"] == 6 and judged["required_fields"] >= 4


def test_request_failed_during_token_check_names_its_accessor(tmp_path: Path) -> None:
    """OpenBao: a bad `bound_claims` sent by a valid token to auth/jwt/role/<name> fails in the token check's
    existence check; both entries carry an empty auth and the error, and name the token by
    request.client_token_accessor. A JWT login (display name "jwt-<e-mail>") and a read of a path named by that
    address follow: no finding."""
    checks = verify(tmp_path, lines_of("openbao-jwt-errors.log"))
    assert failed(checks) == {}
    rules = [e["rule"] for e in checks["required_fields"]["tally"]["excused"]]
    assert any("request.client_token_accessor" in r for r in rules)


def test_failed_request_without_accessor_still_lacks_identity(tmp_path: Path) -> None:
    """The same error entry with its accessor removed (a hop dropped it): it names no one, found at its line."""
    lines = lines_of("openbao-jwt-errors.log")
    entry = json.loads(lines[0])
    del entry["request"]["client_token_accessor"]
    lines[0] = json.dumps(entry, separators=(",", ":"))
    found = failed(verify(tmp_path, lines))
    assert list(found) == ["required_fields"]
    assert len(found["required_fields"]) == 1 and found["required_fields"][0].startswith("audit.log:1 ")
    assert "lacks who" in found["required_fields"][0]


def test_successful_entry_with_empty_auth_still_lacks_identity(tmp_path: Path) -> None:
    """A successful entry whose auth was emptied keeps no excuse, accessor or not: the vault fills auth for every
    request it served."""
    lines = lines_of("openbao-jwt-errors.log")
    entry = json.loads(lines[4])  # root's read of nomount/<address>: a known token
    entry["auth"] = {"token_type": "default"}
    entry.pop("error", None)
    lines[4] = json.dumps(entry, separators=(",", ":"))
    found = failed(verify(tmp_path, lines))
    assert "required_fields" in found
    assert found["required_fields"][0].startswith("audit.log:5 ") and "lacks who" in found["required_fields"][0]


def test_display_name_prefix_is_not_part_of_the_identity(tmp_path: Path) -> None:
    """Without the JWT login (whose display name "jwt-<address>" is the only place the address is an identity),
    the read of a path named by the address is personal data in a path."""
    lines = lines_of("openbao-jwt-errors.log")
    found = failed(verify(tmp_path, lines[:2] + lines[4:]))
    assert list(found) == ["data_minimisation"]
    assert found["data_minimisation"][0].startswith("audit.log:3 ")


def test_refused_entry_with_a_filled_auth_still_lacks_identity(tmp_path: Path) -> None:
    """An error entry whose auth the vault filled (a policy decision) but whose who was removed gets no excuse from
    its accessor: only the empty auth of a request that failed in the token check does."""
    lines = lines_of("openbao-jwt-errors.log")
    entry = json.loads(lines[4])
    for key in ("display_name", "entity_id", "accessor"):
        entry["auth"].pop(key, None)
    lines[4] = json.dumps(entry, separators=(",", ":"))
    found = failed(verify(tmp_path, lines))
    assert "required_fields" in found
    assert found["required_fields"][0].startswith("audit.log:5 ") and "lacks who" in found["required_fields"][0]
