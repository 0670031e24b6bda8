"""Generic JSON lines read inside a SIEM's or a shipper's wrapper (an Elasticsearch hit's ``_source``, a Splunk HTTP
Event Collector event's ``event``), through a field_map whose paths go through the wrapper's key: each producer's
own rules still hold (red team rt100 F4). Google's AuditLog leaves a success's status out; an Okta admin action
names its user targets by login; a Secret Manager payload's data is a secret whatever its shape; a Compute Engine
instance id in a resource label is no card number. Before, they ran only on a record that was the line itself: the
wrapped correct Google log failed required_fields at every success, and its payload's secret passed.
"""

from __future__ import annotations

import base64
import json
import random
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from pytest_auditready.auditlog.detect import UnknownFormat
from pytest_auditready.auditlog.formats import record_root
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from tests.test_unseen_cry_wolf import _luhn_visa
from tests.test_unseen_jsonl import CONTENT, DEFECTS, OFFLINE, PRODUCERS, RFC3339, _log, _rows, _write
from tests.test_unseen_jsonl import _findings as unwrapped

# wrapper -> (the key it holds the record under, the line around a record)
WRAPPERS: dict[str, tuple[str, Callable[[int, Any], dict[str, Any]]]] = {
    "elasticsearch": ("_source", lambda i, rec: {"_index": ".ds-logs-audit-2026.11.30-000001", "_id": f"Xq{i:06d}",
                                                 "_score": None, "_source": rec, "sort": [i]}),
    "splunk-hec": ("event", lambda i, rec: {"time": 1764496800.123 + i, "host": "collector-1", "source": "audit",
                                            "sourcetype": "_json", "index": "security", "event": rec}),
}


def _field_map(producer: str, key: str) -> dict[str, str]:
    return {name: f"{key}.{path}" for name, path in PRODUCERS[producer][1].items()}


def _findings(tmp_path: Path, producer: str, rows: list[Any], wrapper: str = "elasticsearch") -> dict[str, list[str]]:
    """Check id -> the line number of each finding of the content checks that failed, over ``rows`` written each
    inside ``wrapper``'s line (a str row is written as it is)."""
    key, wrap = WRAPPERS[wrapper]
    path = _write(tmp_path, f"{wrapper}-{producer}.jsonl", "".join(
        (r if isinstance(r, str) else json.dumps(wrap(i, r))) + "\n" for i, r in enumerate(rows)))
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                        field_map=tuple(_field_map(producer, key).items()))
    res = verify_file(str(path), settings, OFFLINE, {})
    return {o.check_id: [f.where.rsplit(":", 1)[-1] for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def test_the_record_root_is_where_every_mapped_path_goes_through() -> None:
    assert record_root(_field_map("okta-systemlog", "_source")) == ("_source",)
    assert record_root(PRODUCERS["okta-systemlog"][1]) == ()
    assert record_root({"time": "a.b.t", "identity": "a.b.who|a.c.who"}) == ("a",)  # (a list: joined by "|")
    assert record_root({"time": "ts"}) == ()


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
@pytest.mark.parametrize("producer", RFC3339)
def test_a_correct_log_inside_a_wrapper_gives_no_finding(tmp_path: Path, producer: str, wrapper: str) -> None:
    """Google's successes (their status {}, or left out as proto3 JSON does) have a result; the other producers'
    correct logs give no finding either, as they give none unwrapped (test_unseen_jsonl)."""
    rows = _rows(producer)
    if producer == "gcp-secretmanager":
        del rows[0]["protoPayload"]["status"]  # a success's google.rpc.Status left out whole
    assert _findings(tmp_path, producer, rows, wrapper) == {}


@pytest.mark.parametrize("defect", list(DEFECTS))
@pytest.mark.parametrize("producer", RFC3339)
def test_a_defect_inside_a_wrapper_is_caught_at_its_line(tmp_path: Path, producer: str, defect: str) -> None:
    """Each planted defect of test_unseen_jsonl is caught at its line inside the wrapper, and the verdicts are those
    of the same log unwrapped (an Okta actor's address, no longer the identity, is personal data in both)."""
    check, plant = DEFECTS[defect]
    rows = _rows(producer)
    plant(producer, rows)
    plain = {c: [w.rsplit(":", 1)[-1] for w in where]
             for c, where in unwrapped(_log(tmp_path, producer, rows), producer).items()}
    if isinstance(rows[1], str):  # the unreadable line: cut inside the wrapper's line, as a shipper would cut it
        rows[1] = json.dumps(WRAPPERS["elasticsearch"][1](1, _rows(producer)[1]))[:80]
    found = _findings(tmp_path, producer, rows)
    assert found.get(check) == ["2"] and found == plain, (found, plain)


def _gcp_status(rows: list[dict[str, Any]]) -> None:
    rows[2]["protoPayload"]["status"] = {"code": 7, "message": "Permission denied"}


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
def test_a_secret_manager_payloads_data_inside_a_wrapper_is_a_secret(tmp_path: Path, wrapper: str) -> None:
    """A SecretPayload's data (base64 of a short password no detector knows) is a secret by definition inside a
    wrapper too: it passed, the producer's rule looking for protoPayload at the line's top."""
    rows = _rows("gcp-secretmanager")
    rows[2]["protoPayload"]["request"] = {"parent": "projects/123456789012/secrets/db-password",
                                          "payload": {"data": base64.b64encode(b"Summer2026!").decode()}}
    assert _findings(tmp_path, "gcp-secretmanager", rows, wrapper) == {"no_secret_leak": ["3"]}


def test_compute_engine_instance_ids_inside_a_wrapper_are_no_card(tmp_path: Path) -> None:
    """A Google audit entry's monitored resource labels (a VM's 19-digit instance id, which passes a card's Luhn
    check one time in twenty) are ids of the resource inside a wrapper too; the same number in what the caller sent
    is still a card number at its line."""
    rng = random.Random(100)
    rows = _rows("gcp-secretmanager")
    for row in rows:
        row["resource"] = {"type": "gce_instance", "labels": {"project_id": "example-prod",
                                                              "instance_id": _luhn_visa(rng)}}
    assert _findings(tmp_path, "gcp-secretmanager", rows) == {}
    rows[1]["protoPayload"].setdefault("request", {})["description"] = "card " + _luhn_visa(rng)
    assert _findings(tmp_path, "gcp-secretmanager", rows) == {"data_minimisation": ["2"]}


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
def test_okta_user_targets_inside_a_wrapper_are_named_by_their_login(tmp_path: Path, wrapper: str) -> None:
    """An Okta admin action's User target (and the AppUser of the same login) is whom the action was taken on:
    evidence inside a wrapper too. An AppUser of another login is still personal data at its line."""
    rows = _rows("okta-systemlog")
    rows[1]["eventType"] = "group.user_membership.add"
    rows[1]["target"] = [{"id": "00uNEWHIRE0000000001", "type": "User", "alternateId": "new.hire@example.com",
                          "displayName": "New Hire", "detailEntry": None},
                         {"id": "0uaNEWHIRE0000000001", "type": "AppUser", "alternateId": "new.hire@example.com",
                          "displayName": "New Hire", "detailEntry": None}]
    assert _findings(tmp_path, "okta-systemlog", rows, wrapper) == {}
    rows[1]["target"][1]["alternateId"] = "someone.else@example.org"
    assert _findings(tmp_path, "okta-systemlog", rows, wrapper) == {"data_minimisation": ["2"]}


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
def test_wrapped_google_entries_without_a_field_map_are_refused_with_one_through_the_key(tmp_path: Path,
                                                                                         wrapper: str) -> None:
    """No field_map: the one-line refusal names what the records hold and offers Google's field_map through the
    wrapper's key, which then reads the log (no finding)."""
    key, wrap = WRAPPERS[wrapper]
    path = _write(tmp_path, "gcp.jsonl", "".join(json.dumps(wrap(i, r)) + "\n"
                                                 for i, r in enumerate(_rows("gcp-secretmanager"))))
    with pytest.raises(UnknownFormat) as exc:
        verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, {})
    assert f'under each record\'s "{key}"' in exc.value.cause, exc.value.cause
    assert f'identity = "{key}.protoPayload.authenticationInfo.principalEmail"' in exc.value.fix, exc.value.fix
    offered = tomllib.loads("m = " + exc.value.fix[exc.value.fix.index("e.g. {") + 5:])["m"]
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                                          field_map=tuple(offered.items())), OFFLINE, {})
    assert [o.check_id for o in res.outcomes if o.status == FAILED] == []


def test_a_status_is_read_in_its_own_entry_when_another_path_stays_outside_the_wrapper(tmp_path: Path) -> None:
    """A team maps the request id to the Elasticsearch document's own ``_id``: the paths then share no wrapper key,
    but the result's path still goes into the Google entry under ``_source``. A success's status written ``{}``
    is a result there, as one left out is (it was "lacks the result" at each success written ``{}``)."""
    key, wrap = WRAPPERS["elasticsearch"]
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                        field_map=tuple({**_field_map("gcp-secretmanager", key), "request_id": "_id"}.items()))
    rows = _rows("gcp-secretmanager")
    path = _write(tmp_path, "g.jsonl", "".join(json.dumps(wrap(i, r)) + "\n" for i, r in enumerate(rows)))
    res = verify_file(str(path), settings, OFFLINE, {})
    assert [o.check_id for o in res.outcomes if o.status == FAILED] == []
    del rows[2]["protoPayload"]["status"]
    path = _write(tmp_path, "g.jsonl", "".join(json.dumps(wrap(i, r)) + "\n" for i, r in enumerate(rows)))
    res = verify_file(str(path), settings, OFFLINE, {})
    assert [o.check_id for o in res.outcomes if o.status == FAILED] == []
