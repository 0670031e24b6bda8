"""Fields a producer leaves out by design, read through field_map (red team rt100 F5). The Okta System Log names Okta
itself (a SystemPrincipal, system@okta.com) as the actor of what it does on its own, with its client's fields all
null: no source address to log. Azure Key Vault writes correlationId only when the client passed one: no request id
to log. Each such entry of a correct log was a required_fields finding; it is now excused under its own rule and
counted. The same gap anywhere else (a user's Okta event without an address, a Key Vault request without a source,
another producer or another mapping) is still a finding at its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_unseen_jsonl import _compact, _rows, _toml
from tests.verifying import verify_lines


def _okta_system(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as Okta writes an event of its own: a user deactivated by a lifecycle rule."""
    return dict(row, actor={"id": "0oa1systemprincipal0", "type": "SystemPrincipal", "alternateId": "system@okta.com",
                            "displayName": "Okta System", "detailEntry": None},
                client={"userAgent": None, "zone": None, "device": None, "id": None, "ipAddress": None,
                        "geographicalContext": None},
                eventType="user.lifecycle.deactivate", displayMessage="Deactivate Okta user",
                transaction={"type": "JOB", "id": "unknown", "detail": {}},
                target=[{"id": "00uformer0employee01", "type": "User", "alternateId": "former.employee@example.com",
                         "displayName": "Former Employee", "detailEntry": None}])


def test_oktas_own_actions_have_no_source_and_are_excused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows("okta-systemlog")
    rows[1] = _okta_system(rows[1])
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("okta-systemlog"), name="okta.jsonl")
    assert (rc, found.get("required_fields")) == (0, None), text
    assert "excused 1: an action Okta took itself" in text, text


def test_a_users_okta_event_without_an_address_is_still_a_finding(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A person's sign-in with its client's address null; an Okta system event whose client's address a hop dropped
    (not written null); one whose who is read from another path than the actor's login (the same text,
    "system@okta.com", proves nothing there)."""
    rows = _rows("okta-systemlog")
    rows[0]["client"]["ipAddress"] = None
    rows[2] = _okta_system(rows[2])
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), _toml("okta-systemlog"), name="okta.jsonl")
    assert rc == 1 and found.get("required_fields") == [1], found
    rows[0] = _rows("okta-systemlog")[0]
    del rows[2]["client"]["ipAddress"]  # Okta's own event, the null a hop dropped: missing evidence
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), _toml("okta-systemlog"), name="okta.jsonl")
    assert rc == 1 and found.get("required_fields") == [3], found
    rows[2] = _okta_system(_rows("okta-systemlog")[2])
    other = _toml("okta-systemlog", identity="displayMessage|actor.alternateId")
    rows[2]["displayMessage"] = "system@okta.com"
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), other, name="okta.jsonl")
    assert rc == 1 and found.get("required_fields") == [3], found


def test_key_vault_requests_without_a_correlation_id_are_excused(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A Key Vault request whose client sent no correlation id (correlationId written empty, as Key Vault writes
    it), and the SDK's unauthenticated 401 challenge without one: excused and counted, the log passes."""
    rows = _rows("azure-keyvault")
    rows[0]["correlationId"] = ""
    rows[1]["correlationId"] = ""
    challenge = dict(rows[2], resultSignature="Unauthorized", operationName="Authentication",
                     properties=dict(rows[2]["properties"], httpStatusCode=401), correlationId="")
    del challenge["identity"]
    rows.insert(3, challenge)
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert (rc, found.get("required_fields")) == (0, None), text
    assert "excused 2: a Key Vault request whose client passed no correlation id (" in text, text
    assert "excused 1: a Key Vault request whose client passed no correlation id (correlationId is \"an optional " \
           "GUID that the client can pass\", Key Vault's logging docs), refused at authentication" in text, text


def test_a_key_vault_correlation_id_of_the_nil_guid_is_none_passed(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A client that passes .NET's Guid.Empty passes no correlation id: excused as one written empty (red team
    rt102: zeros alone are no request id); the same zeros where the rule does not hold are a finding."""
    rows = _rows("azure-keyvault")
    rows[0]["correlationId"] = "00000000-0000-0000-0000-000000000000"
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert (rc, found.get("required_fields")) == (0, None), text
    assert "excused 1: a Key Vault request whose client passed no correlation id (" in text, text
    for r in rows:
        r["properties"]["requestUri"] = r["properties"]["requestUri"].replace(".vault.azure.net", ".example.net")
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert rc == 1 and found.get("required_fields", [])[:1] == [1], found


def test_a_missing_correlation_id_is_still_a_finding_where_the_rule_does_not_hold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The key dropped, or a null or a placeholder in its place (what a hop leaves: missing evidence); without a
    source too; with the request id mapped to another field as well (the first of a list that holds a value gives
    it, so correlationId is not all it is read from); a resource that is no Key Vault's."""
    rows = _rows("azure-keyvault")
    del rows[0]["correlationId"]
    rows[1]["correlationId"] = None
    rows[2]["correlationId"] = "-"
    rows[3]["correlationId"] = ""
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert rc == 1 and found.get("required_fields") == [1, 2, 3], found
    assert "excused 1: a Key Vault request whose client passed no correlation id" in text, text
    rows = _rows("azure-keyvault")
    for r in rows:
        r["correlationId"] = ""
    rows[1]["callerIpAddress"] = ""
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert rc == 1 and found.get("required_fields") == [2], found
    rows[1] = _rows("azure-keyvault")[1]
    rows[1]["correlationId"] = ""
    listed = _toml("azure-keyvault", request_id="correlationId|properties.requestId")
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), listed, name="kv.json")
    assert rc == 1 and found.get("required_fields", [])[:3] == [1, 2, 3], found
    assert "8 entries lack the request id" in text or "lacks the request id" in text, text
    assert "no correlation id" not in text, text
    for r in rows:
        r["properties"]["requestUri"] = r["properties"]["requestUri"].replace(".vault.azure.net", ".example.net")
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), _toml("azure-keyvault"), name="kv.json")
    assert rc == 1 and found.get("required_fields", [])[:3] == [1, 2, 3], found
    assert "no correlation id" not in text, text


def test_the_azkvauditlogs_tables_correlation_id_is_read_as_the_diagnostic_settings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Log Analytics export of the AZKVAuditLogs table names the column CorrelationId: written empty, it is
    excused as correlationId is (red team rt101: a finding before). The empty key must be the one field_map reads:
    the other spelling written empty beside a dropped CorrelationId is still a finding."""
    rows = _rows("azure-keyvault")
    for r in rows:
        r["CorrelationId"] = r.pop("correlationId")
    rows[1]["CorrelationId"] = ""
    table = _toml("azure-keyvault", request_id="CorrelationId")
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), table, name="kv.json")
    assert (rc, found.get("required_fields")) == (0, None), text
    assert "excused 1: a Key Vault request whose client passed no correlation id" in text, text
    del rows[1]["CorrelationId"]
    rows[1]["correlationId"] = ""
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), table, name="kv.json")
    assert rc == 1 and found.get("required_fields") == [2], found


def _cert_create(n: int, client_ip: str = "198.51.100.5") -> dict[str, Any]:
    """A Teleport cert.create event as the auth server writes it after a login: who and from where under
    ``identity`` (identity.user, identity.client_ip), no top-level user, addr.remote or success; its code says how
    it ended."""
    identity: dict[str, Any] = {"user": "alice", "roles": ["access", "editor"], "logins": ["ubuntu"],
                                "expires": "2026-11-30T23:00:00.482113942Z", "route_to_cluster": "teleport.example.com",
                                "teleport_cluster": "teleport.example.com",
                                "prev_identity_expires": "0001-01-01T00:00:00Z"}
    if client_ip:
        identity["client_ip"] = client_ip
    return {"ei": 0, "event": "cert.create", "uid": f"efd326fc-dd13-4df8-acef-{n:012d}", "code": "TC000I",
            "time": f"2026-11-30T12:00:0{n}.530Z", "cluster_name": "teleport.example.com", "cert_type": "user",
            "identity": identity}


def test_teleport_events_that_name_who_elsewhere_are_read_through_a_list_field_map(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Teleport's cert.create names who and from where under ``identity``, and its outcome by its code: a field_map
    that lists each field's paths (the first that holds a value gives it) reads them, and the log passes. A
    cert.create whose client address is gone is still a finding at its line."""
    rows = _rows("teleport")
    rows.insert(1, _cert_create(0))
    rows.insert(3, _cert_create(1))
    lists = _toml("teleport", identity="user|identity.user", source="addr.remote|identity.client_ip",
                    result="success|code")
    rc, found, text = verify_lines(tmp_path, capsys, _compact(rows), lists, name="teleport.jsonl")
    assert (rc, found) == (0, {}), text
    rows[3] = _cert_create(1, client_ip="")
    rc, found, _ = verify_lines(tmp_path, capsys, _compact(rows), lists, name="teleport.jsonl")
    assert rc == 1 and found == {"required_fields": [4]}, found
