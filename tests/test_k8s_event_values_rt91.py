"""Red team rt91, F4 and F5: Kubernetes audit events with a time or a value the API server never writes.

- F4: requestReceivedTimestamp and stageTimestamp are metav1.MicroTime, whose MarshalJSON writes
  ``t.UTC().Format(RFC3339Micro)`` ("2006-01-02T15:04:05.000000Z07:00", k8s.io/apimachinery
  pkg/apis/meta/v1/micro_time.go): six fractional digits and "Z", always. One event re-timed to milliseconds, to
  nanoseconds or to another offset passed; each is now a timestamp_precision finding at its line. v1beta1's
  ``timestamp`` and ``metadata.creationTimestamp`` are metav1.Time (whole seconds) and stay clean.
- F5: a responseStatus.code of 0 (``int32 json:"code,omitempty"``) or a string, a RequestReceived event with a
  responseStatus (k8s.io/apiserver endpoints/filters/audit.go sets one only once a response code exists), a kind
  other than Event, an apiVersion the API server does not write: each a required_fields finding at its line.

The base is fixtures/k8s/real/correct.log (audit.k8s.io/v1 events as the log backend writes them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EVENTS = [json.loads(ln) for ln in (FIXTURES / "k8s" / "real" / "correct.log").read_text().splitlines()]
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
LINE = 6  # a ResponseComplete event of a get (its stageTimestamp 1.4 ms after its requestReceivedTimestamp)
RECEIVED = 3  # the log's RequestReceived event


def _lines(events: list[dict[str, Any]], compact: bool = True) -> list[str]:
    """The events one a line: compact, as the API server's log backend writes them, or as a hop re-serialized them
    with spaces (``json.dumps``'s default)."""
    return [json.dumps(e, separators=(",", ":")) if compact else json.dumps(e) for e in events]


def _changed(line: int, change: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    events = json.loads(json.dumps(EVENTS))
    change(events[line - 1])
    return events


def _v1beta1(e: dict[str, Any]) -> dict[str, Any]:
    """``e`` as an API server of Kubernetes 1.9 to 1.23 writes it with --audit-log-version=audit.k8s.io/v1beta1:
    metadata.creationTimestamp and timestamp (metav1.Time, whole seconds) beside the MicroTime fields."""
    rest = {k: v for k, v in e.items() if k not in ("kind", "apiVersion", "level")}
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1beta1",
            "metadata": {"creationTimestamp": e["stageTimestamp"][:19] + "Z"}, "level": e["level"],
            "timestamp": e["requestReceivedTimestamp"][:19] + "Z", **rest}


# -- both ways: the log as the API server writes it has no finding, the same log with one defect has one ------------

def _both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str], events: list[dict[str, Any]], line: int,
               change: Callable[[dict[str, Any]], None], check: str, compact: bool = True) -> None:
    """``events`` have no finding; with ``change`` made to the event at ``line``, one of ``check`` at that line."""
    rc, found, text = verify_lines(tmp_path / "clean", capsys, _lines(events, compact), CONFIG)
    assert (rc, found) == (0, {}), text[-3000:]
    changed = json.loads(json.dumps(events))
    change(changed[line - 1])
    rc, found, text = verify_lines(tmp_path / "changed", capsys, _lines(changed, compact), CONFIG)
    assert (rc, found) == (1, {check: [line]}), text[-3000:]


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    for sub in ("clean", "changed"):
        (tmp_path / sub).mkdir()
    return tmp_path


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "re-serialized"])
def test_the_api_servers_log_has_no_finding_and_one_re_timed_event_one(
        tmp: Path, capsys: pytest.CaptureFixture[str], compact: bool) -> None:
    _both_ways(tmp, capsys, EVENTS, LINE, _stamp("stageTimestamp", "millis"), "timestamp_precision", compact)


@pytest.mark.parametrize("version", ["audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1"])
def test_older_audit_versions_with_whole_second_metav1_times_have_no_finding_but_re_timed_microtimes(
        tmp: Path, capsys: pytest.CaptureFixture[str], version: str) -> None:
    events = [dict(_v1beta1(e), apiVersion=version) for e in EVENTS]
    _both_ways(tmp, capsys, events, LINE, _stamp("requestReceivedTimestamp", "millis"), "timestamp_precision")


def test_a_real_v1beta1_event_has_no_finding_but_its_stage_time_re_timed_has(
        tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """falcosecurity/falco's trace of a pod's creation (fixtures/real-cloud/k8s): "timestamp" and
    "metadata.creationTimestamp" in whole seconds."""
    lines = (FIXTURES / "real-cloud" / "k8s" / "create-pod-selflink.log").read_text().splitlines()
    assert '"timestamp":"2018-10-25T14:09:49Z"' in lines[0]
    events = [json.loads(ln) for ln in lines]
    _both_ways(tmp, capsys, events, 1, _stamp("stageTimestamp", "offset"), "timestamp_precision")


def test_webhook_items_without_kind_and_api_version_have_no_finding_but_a_code_of_0(
        tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [{k: v for k, v in e.items() if k not in ("kind", "apiVersion")} for e in EVENTS]
    _both_ways(tmp, capsys, events, LINE, lambda e: e["responseStatus"].update(code=0), "required_fields")


def test_a_string_code_in_the_clients_object_is_no_finding_but_in_the_events_status_is(
        tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the event's own responseStatus.code is judged: a "code" the client's object holds is its own."""
    events = _changed(LINE, lambda e: e.update(level="Request", requestObject={"code": "0", "status": {"code": 0}}))
    _both_ways(tmp, capsys, events, LINE, lambda e: e["responseStatus"].update(code="200"), "required_fields")


# -- F4: one event re-timed ------------------------------------------------------------------------------------------

def _stamp(field: str, how: str) -> Callable[[dict[str, Any]], None]:
    def change(e: dict[str, Any]) -> None:
        t = e[field]  # "YYYY-MM-DDTHH:MM:SS.ffffffZ"
        e[field] = {"millis": t[:23] + "Z", "nanos": t[:26] + "123Z",
                    "offset": f"{t[:11]}{int(t[11:13]) + 1:02d}{t[13:26]}+01:00"}[how]
    return change


@pytest.mark.parametrize("how, shows", [("millis", "has 3 fractional digits"), ("nanos", "has 9 fractional digits"),
                                        ("offset", "has the offset '+01:00'")])
@pytest.mark.parametrize("field", ["requestReceivedTimestamp", "stageTimestamp"])
def test_one_event_re_timed_is_found_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str,
                                                  how: str, shows: str) -> None:
    rc, found, text = verify_lines(tmp_path, capsys, _lines(_changed(LINE, _stamp(field, how))), CONFIG)
    assert (rc, found) == (1, {"timestamp_precision": [LINE]}), text[-3000:]
    assert f"event's {field} '" in text and shows in text, text[-3000:]
    assert "as MicroTime, six fractional digits" in text and "a hop re-timed this event" in text, text[-3000:]


def test_both_times_of_one_event_re_timed_are_one_finding_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(e: dict[str, Any]) -> None:
        _stamp("requestReceivedTimestamp", "millis")(e)
        _stamp("stageTimestamp", "millis")(e)

    rc, found, text = verify_lines(tmp_path, capsys, _lines(_changed(LINE, change)), CONFIG)
    assert (rc, found) == (1, {"timestamp_precision": [LINE]}), text[-3000:]
    assert "requestReceivedTimestamp '" in text and "; its stageTimestamp '" in text


def test_many_events_re_timed_show_three_and_count_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = json.loads(json.dumps(EVENTS))
    for e in events[4:9]:  # lines 5 to 9
        _stamp("stageTimestamp", "millis")(e)
    rc, found, text = verify_lines(tmp_path, capsys, _lines(events), CONFIG)
    # (the roll-up of the other two at the first of them, line 8: red team rt96 F1)
    assert (rc, found) == (1, {"timestamp_precision": [5, 6, 7, 8]}), text[-3000:]
    assert "2 more events have a requestReceivedTimestamp or stageTimestamp" in text


# -- F5: values the API server never writes --------------------------------------------------------------------------

F5 = {
    "code 0": (LINE, lambda e: e["responseStatus"].update(code=0), 'responseStatus.code 0 is no HTTP status'),
    "code string": (LINE, lambda e: e["responseStatus"].update(code="200"),
                    'responseStatus.code "200" is no HTTP status'),
    "received with status": (RECEIVED, lambda e: e.update(responseStatus={"metadata": {}, "code": 200}),
                             "is on a RequestReceived event"),
    "kind": (LINE, lambda e: e.update(kind="EventX"), 'kind "EventX" is not Event'),
    "apiVersion": (LINE, lambda e: e.update(apiVersion="audit.k8s.io/v9"),
                   'apiVersion "audit.k8s.io/v9" is none the API server writes'),
}


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "re-serialized"])
@pytest.mark.parametrize("case", list(F5))
def test_a_value_the_api_server_never_writes_is_found_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, compact: bool) -> None:
    line, change, shows = F5[case]
    rc, found, text = verify_lines(tmp_path, capsys, _lines(_changed(line, change), compact), CONFIG)
    assert (rc, found) == (1, {"required_fields": [line]}), text[-3000:]
    assert shows in text and "a hop rewrote the event" in text, text[-3000:]
