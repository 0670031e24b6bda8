"""What the stages of one Kubernetes request must say alike, and a dropped RequestReceived (red team rt91 F1, F3).

k8s.io/apiserver writes every stage's event of a request from the one Event (filters/audit.go, processAuditEvent):
only stage, stageTimestamp, responseStatus, responseObject and annotations change; a RequestReceived event's
stageTimestamp is its requestReceivedTimestamp; an object's fields are filled in once known (audit.LogRequestObject
sets each only where it is empty) and the impersonated user once the impersonation filter, which runs after
RequestReceived is written, has run. So a later stage that names another object, level, group, user agent or
receive time than its RequestReceived was altered; and a later stage whose RequestReceived is missing, where the log
shows that the policy writes that stage for such a request, lost it."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks.base import FAILED, PASSED
from tests.test_k8s_orphan_requests import T0, _line, _requests, _verify, _write

N = 75  # a request well within the log (four minutes from either end)


def _without_stage(events: list[dict[str, Any]], n: int, stage: str) -> list[dict[str, Any]]:
    return [e for e in events if not (e["auditID"].endswith(f"{n:012d}") and e["stage"] == stage)]


def test_a_dropped_request_received_is_found_at_its_later_stage(tmp_path: Path) -> None:
    """Fails without the fix: the lone ResponseComplete was excused as "the policy may omit that stage"."""
    events = _without_stage(_requests(), N, "RequestReceived")
    out = _verify(_write(tmp_path, events))
    assert out.status == FAILED, out.reason
    (found,) = out.findings
    assert found.where.endswith(f":{_line(events, N, 'ResponseComplete')}")
    assert "has no RequestReceived event in the log" in found.message


def test_a_request_received_before_the_log_began_is_no_finding(tmp_path: Path) -> None:
    """The first request's RequestReceived may lie in the file before (a rotated log begins inside a request)."""
    out = _verify(_write(tmp_path, _without_stage(_requests(), 0, "RequestReceived")))
    assert out.status == PASSED, [f.message for f in out.findings]


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def plant(e: dict[str, Any]) -> None:
        at = e
        for key in path[:-1]:
            at = at.setdefault(key, {})
        at[path[-1]] = value
    return plant


def _later(e: dict[str, Any]) -> None:
    e["requestReceivedTimestamp"] = (T0 + timedelta(seconds=N * 4 - 30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


ALTERED = [
    ("objectRef.name", _set(("objectRef", "name"), "prod-root-ca")),
    ("objectRef.namespace", _set(("objectRef", "namespace"), "kube-system")),
    ("user (uid, groups or extra)", _set(("user", "groups"), ["system:authenticated"])),
    ("level", _set(("level",), "Request")),
    ("userAgent", _set(("userAgent",), "curl/8.5.0")),
    ("requestReceivedTimestamp", _later),
]


@pytest.mark.parametrize("what, plant", ALTERED, ids=[a[0].split(" ")[0] for a in ALTERED])
def test_a_later_stage_altered_is_found_at_its_line(tmp_path: Path, what: str,
                                                     plant: Callable[[dict[str, Any]], None]) -> None:
    """Fails without the fix: only user.username, verb, requestURI and sourceIPs were compared."""
    events = copy.deepcopy(_requests())
    at = _line(events, N, "ResponseComplete")
    plant(events[at - 1])
    out = _verify(_write(tmp_path, events))
    assert out.status == FAILED, out.reason
    (found,) = out.findings
    assert found.where.endswith(f":{at}") and f"names another {what} than the RequestReceived" in found.message


def test_fields_filled_in_at_a_later_stage_are_no_finding(tmp_path: Path) -> None:
    """A create's RequestReceived names no object yet, and the impersonated user comes after it: both filled in."""
    events = copy.deepcopy(_requests())
    received, complete = _line(events, N, "RequestReceived"), _line(events, N, "ResponseComplete")
    del events[received - 1]["objectRef"]["name"]
    events[complete - 1]["impersonatedUser"] = {"username": "jane@example.com", "groups": ["system:authenticated"]}
    out = _verify(_write(tmp_path, events))
    assert out.status == PASSED, [f.message for f in out.findings]


def test_a_request_received_stamped_at_another_time_than_its_receipt_is_found(tmp_path: Path) -> None:
    events = copy.deepcopy(_requests())
    at = _line(events, N, "RequestReceived")
    e = events[at - 1]
    e["stageTimestamp"] = e["stageTimestamp"][:-2] + ("0Z" if e["stageTimestamp"][-2] != "0" else "1Z")
    out = _verify(_write(tmp_path, events))
    assert out.status == FAILED, out.reason
    (found,) = out.findings
    assert found.where.endswith(f":{at}") and "stageTimestamp is not its requestReceivedTimestamp" in found.message
