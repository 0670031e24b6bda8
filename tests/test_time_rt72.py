"""Red team rt72: times that are not the producer's own readings, whatever the producer's clock.

- F1: a log whose times were rewritten to one value (the whole log, a frozen stretch, every response given its
  request's time; a Kubernetes log with every stamp one value) passed both time checks. The two readings of one
  request (a Vault/OpenBao request entry and its response entry; a Kubernetes event past RequestReceived: its
  requestReceivedTimestamp and stageTimestamp) are now held apart where the log's times show the clock's tick.
- F2: a whole log cut to milliseconds passed as its own best precision (Go-trimmed ".24Z"; Kubernetes padded
  ".123000Z"): the producer's own resolution is the floor now.
- F4: a 5,000-digit fraction passed timestamp_precision; "the log goes back in time" lost its reference.

The bases are real or modelled recordings (fixtures/openbao/rt72, fixtures/k8s/rt72, fixtures/blind-time):
each case plants one re-timing on a copy and checks that the finding names it at its line, and that the copy as the
producer wrote it gives no finding.
"""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from typing import Any, Callable

from pytest_auditready.auditlog.model import parse_time
from pytest_auditready.offline.reader import BLOCK
from tests.test_blind_time import verify, where

ROOT = Path(__file__).resolve().parents[1]
OPENBAO = [json.loads(ln) for ln in (ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
K8S = [json.loads(ln) for ln in (ROOT / "fixtures/k8s/rt72/audit.log").read_text().splitlines()]
DEV = [json.loads(ln) for ln in (ROOT / "fixtures/blind-time/openbao-dev.log").read_text().splitlines()]
ALIKE = "is its request entry's"  # the finding's words, Vault/OpenBao
STAGE_ALIKE = "stageTimestamp is its requestReceivedTimestamp"  # Kubernetes


def _ns(t: str) -> int:
    ts = parse_time(t)
    assert ts is not None, t
    return ts[0]


def _go(ns: int, unit: int = 1) -> str:
    """``ns`` (cut to ``unit`` ns) as Go's RFC3339Nano writes it: UTC, trailing zeros trimmed."""
    s, f = divmod(ns - ns % unit, 10**9)
    frac = f"{f:09d}".rstrip("0")
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{frac}" if frac else "") + "Z"


def _micro(ns: int) -> str:
    """``ns`` as the API server's MicroTime writes it: six digits, trailing zeros kept."""
    s, f = divmod(ns, 10**9)
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{f // 1000:06d}Z"


def _retimed(entries: list[Any], fix: Callable[[int, dict[str, Any]], None]) -> list[Any]:
    out = copy.deepcopy(entries)
    for i, e in enumerate(out):
        fix(i, e)
    return out


def _time_findings(res: dict[str, Any], check: str, words: str) -> list[str]:
    return [w for w, m in res["found"][check] if words in m]


def _responses(entries: list[Any]) -> list[int]:
    """The 1-based lines of the response entries that answer a request entry of the log."""
    asked = {e["request"].get("id") for e in entries if e.get("type") == "request"} - {None}
    return [i + 1 for i, e in enumerate(entries) if e.get("type") == "response" and e["request"].get("id") in asked]


# -- F1: the two readings of one request, Vault/OpenBao -----------------------------------------------------------
def test_a_real_openbao_log_gives_no_time_finding_and_one_value_for_all_is_found(tmp_path: Path) -> None:
    """The recording as OpenBao wrote it passes both time checks; every time set to one value (the first's, or the
    last's), each response then reads its request's time: the first three such responses are named."""
    for base in (OPENBAO, DEV):
        res = verify(tmp_path, base)
        assert res["rc"] == 0 and res["found"] == {"timestamp_precision": [], "timestamp_accuracy": []}, res
    for one in (OPENBAO[0]["time"], OPENBAO[-1]["time"]):
        res = verify(tmp_path, _retimed(OPENBAO, lambda i, e, one=one: e.__setitem__("time", one)))
        assert res["found"]["timestamp_precision"] == [], res
        named = _time_findings(res, "timestamp_accuracy", ALIKE)
        assert named == [f"audit.log:{n}" for n in _responses(OPENBAO)[:3]], res
        said = res["found"]["timestamp_accuracy"][0][1]
        assert f"{len(_responses(OPENBAO))} of the {len(_responses(OPENBAO))} responses within 10 µs" in said, said
        assert any(m.startswith(f"{len(_responses(OPENBAO)) - 3} more response entries have their request entry's")
                   for _, m in res["found"]["timestamp_accuracy"]), res


def test_a_frozen_stretch_and_responses_given_their_request_s_time_are_found(tmp_path: Path) -> None:
    """A hop's clock frozen for 40 entries (each takes the time before them), and every response given its request's
    exact time (the other times kept): named at the first response inside the re-timing."""
    frozen = _retimed(OPENBAO, lambda i, e: e.__setitem__("time", OPENBAO[59]["time"]) if 60 <= i < 100 else None)
    res = verify(tmp_path, frozen)
    inside = [n for n in _responses(OPENBAO) if 61 <= n <= 100]
    assert _time_findings(res, "timestamp_accuracy", ALIKE) == [f"audit.log:{n}" for n in inside[:3]], res
    asked = _asked(OPENBAO)
    same = _retimed(OPENBAO, lambda i, e: e.__setitem__("time", asked[e["request"].get("id")])
                    if i + 1 in _responses(OPENBAO) else None)
    res = verify(tmp_path, same)
    assert _time_findings(res, "timestamp_accuracy", ALIKE) == [f"audit.log:{n}" for n in _responses(OPENBAO)[:3]]
    assert res["found"]["timestamp_precision"] == [] and res["rc"] == 1, res


def test_a_few_alike_pairs_are_chance_and_a_coarse_clock_is_not_judged(tmp_path: Path) -> None:
    """Two responses at their request's time among 60 are no finding (chance explains them); nor is a clock that
    counts in 100 ns and ticks in 15.625 ms, as Go's wall clock on Windows does, where a fast request's two entries
    read alike: seven digits do not show the tick. The same log with nanoseconds written is found."""
    asked = _asked(OPENBAO)
    two = set(_responses(OPENBAO)[10:12])
    res = verify(tmp_path, _retimed(OPENBAO, lambda i, e: e.__setitem__("time", asked[e["request"].get("id")])
                                    if i + 1 in two else None))
    assert res["rc"] == 0 and res["found"]["timestamp_accuracy"] == [], res
    tick = 15_625_000
    phase = 4_213_700  # where the tick falls within the second: in 100 ns units, like every reading

    def windows(unit: int) -> Callable[[int, dict[str, Any]], None]:
        def fix(i: int, e: dict[str, Any]) -> None:
            ns = _ns(OPENBAO[i]["time"])
            e["time"] = _go(ns - (ns - phase) % tick + (17 if unit == 1 else 0), unit)
        return fix

    coarse = _retimed(OPENBAO, windows(100))
    pairs_alike = sum(1 for n in _responses(OPENBAO) if coarse[n - 1]["time"] == _asked(coarse)[OPENBAO[n - 1]
                                                                                                ["request"]["id"]])
    assert pairs_alike > len(_responses(OPENBAO)) // 2  # most requests answered within one tick
    res = verify(tmp_path, coarse)
    assert res["rc"] == 0 and res["found"] == {"timestamp_precision": [], "timestamp_accuracy": []}, res
    res = verify(tmp_path, _retimed(OPENBAO, windows(1)))  # the same readings, shown in nanoseconds
    assert _time_findings(res, "timestamp_accuracy", ALIKE), res


def _asked(entries: list[Any]) -> dict[str, str]:
    """Request id -> the time of its request entry."""
    return {e["request"]["id"]: e["time"] for e in entries if e.get("type") == "request" and e["request"].get("id")}


# -- F1: the two readings of one request, Kubernetes --------------------------------------------------------------
def test_kubernetes_stamps_of_one_value_are_found_and_received_stages_are_not(tmp_path: Path) -> None:
    """The log as the API server writes it (each RequestReceived event's two stamps one reading, by design) passes;
    every stamp one value, or each ResponseComplete's stageTimestamp its requestReceivedTimestamp, is named at the
    first ResponseComplete events."""
    res = verify(tmp_path, K8S, "--format", "k8s")
    assert res["rc"] == 0 and res["found"] == {"timestamp_precision": [], "timestamp_accuracy": []}, res
    complete = [i + 1 for i, e in enumerate(K8S) if e["stage"] == "ResponseComplete"]
    one = K8S[0]["requestReceivedTimestamp"]
    for fix in (lambda i, e: e.update(requestReceivedTimestamp=one, stageTimestamp=one),
                lambda i, e: e.update(stageTimestamp=e["requestReceivedTimestamp"])):
        res = verify(tmp_path, _retimed(K8S, fix), "--format", "k8s")
        assert _time_findings(res, "timestamp_accuracy", STAGE_ALIKE) == [f"audit.log:{n}" for n in complete[:3]]
        assert f"{len(complete)} of the {len(complete)} such events" in res["found"]["timestamp_accuracy"][0][1]


def test_many_kubernetes_requests_in_one_microsecond_are_no_finding(tmp_path: Path) -> None:
    """A busy API server receives requests in the same microsecond (each its own auditID): readings of different
    requests are not held apart. Nor are a few events whose stage came within the microsecond of its request."""
    t0 = _ns(K8S[0]["requestReceivedTimestamp"])

    def burst(i: int, e: dict[str, Any]) -> None:
        received = t0 + (i // 40) * 1_000  # 40 events (20 requests) a microsecond
        e["requestReceivedTimestamp"] = _micro(received)
        e["stageTimestamp"] = _micro(received if e["stage"] == "RequestReceived" else received + 350_000 + 977 * i)

    busy = _retimed(K8S, burst)
    busy[1]["stageTimestamp"] = busy[1]["requestReceivedTimestamp"]  # one fast answer, within the microsecond
    res = verify(tmp_path, busy, "--format", "k8s")
    assert res["found"]["timestamp_accuracy"] == [], res
    # each answer given its request's stamp, in the same busy log: that is no clock's
    alike = _retimed(busy, lambda i, e: e.update(stageTimestamp=e["requestReceivedTimestamp"]))
    res = verify(tmp_path, alike, "--format", "k8s")
    assert _time_findings(res, "timestamp_accuracy", STAGE_ALIKE) == ["audit.log:2", "audit.log:4", "audit.log:6"]


# -- F2: the producer's own resolution ----------------------------------------------------------------------------
def test_a_vault_log_cut_to_milliseconds_is_found_and_one_cut_to_microseconds_is_not(tmp_path: Path) -> None:
    """Go writes at least microseconds on every platform it supports (macOS: microseconds), so a log cut to
    milliseconds and written as Go writes it (".24Z") is found at its lines; one cut to microseconds is a macOS
    vault's, and passes."""
    res = verify(tmp_path, _retimed(OPENBAO, lambda i, e: e.__setitem__("time", _go(_ns(e["time"]), 10**6))))
    shown = res["found"]["timestamp_precision"]
    assert where(res, "timestamp_precision")[:3] == ["audit.log:1", "audit.log:2", "audit.log:3"], res
    assert "while the vault writes at least 6 on every platform Go supports" in shown[0][1], shown
    assert shown[-1][1].startswith(f"{len(OPENBAO) - 3} more entries have times with"), shown
    res = verify(tmp_path, _retimed(OPENBAO, lambda i, e: e.__setitem__("time", _go(_ns(e["time"]), 1_000))))
    assert res["found"]["timestamp_precision"] == [], res


def test_a_kubernetes_log_cut_to_milliseconds_and_padded_is_found(tmp_path: Path) -> None:
    """MicroTime writes six digits of a microsecond clock: "000" endings come once in a thousand requests, so a log
    all of whose stamps end so was cut to milliseconds. A few such requests are chance, as are copies of one event."""
    cut = _retimed(K8S, lambda i, e: e.update({k: e[k][:23] + "000Z"
                                               for k in ("requestReceivedTimestamp", "stageTimestamp")}))
    res = verify(tmp_path, cut, "--format", "k8s")
    assert where(res, "timestamp_precision")[:3] == ["audit.log:1", "audit.log:3", "audit.log:5"], res
    assert "a fraction whose last 3 digits are zeros comes about once in 1,000 requests" in \
        res["found"]["timestamp_precision"][0][1]
    few = copy.deepcopy(K8S)
    for i in (0, 1, 80, 81):  # two requests (both their events) received at a whole millisecond
        few[i]["requestReceivedTimestamp"] = few[i]["requestReceivedTimestamp"][:23] + "000Z"
        if few[i]["stage"] == "RequestReceived":  # (that stage's time is its receipt: processAuditEvent)
            few[i]["stageTimestamp"] = few[i]["requestReceivedTimestamp"]
    res = verify(tmp_path, few, "--format", "k8s")
    assert res["rc"] == 0 and res["found"]["timestamp_precision"] == [], res


# -- F4: a fraction longer than Go writes; the finding that the log goes back keeps its reference -----------------
def test_a_fraction_longer_than_nine_digits_is_found_and_going_back_names_its_reference(tmp_path: Path) -> None:
    long = _retimed(OPENBAO, lambda i, e: e.__setitem__("time", e["time"][:20] + "7" * 5000 + "Z") if i == 60 else None)
    res = verify(tmp_path, long)
    (finding,) = [m for w, m in res["found"]["timestamp_precision"] if w == "audit.log:61"]
    assert "has 5,000 fractional digits" in finding and "at most nine" in finding and len(finding) < 400, finding
    back = _retimed(OPENBAO, lambda i, e: e.__setitem__("time", "2026-12-06T04:40:00." + "1" * 5000 + "Z")
                    if i == 60 else None)
    res = verify(tmp_path, back)
    (gone,) = [m for _, m in res["found"]["timestamp_accuracy"] if m.startswith("The log goes back in time")]
    assert f"comes after {OPENBAO[59]['time']} (line 60), more than max_skew=2 s earlier" in gone, gone
    assert len(gone) < 400, gone
    ten = _retimed(OPENBAO, lambda i, e: e.__setitem__("time", e["time"][:20] + "1234567891Z") if i == 60 else None)
    assert where(verify(tmp_path, ten), "timestamp_precision") == ["audit.log:61"]


# -- the same findings when a large file is read in ranges --------------------------------------------------------
def test_alike_pairs_across_range_boundaries_give_the_findings_of_one_pass(tmp_path: Path) -> None:
    """A Vault/OpenBao log read in byte ranges (--jobs): pairs that read alike before and after each cut are
    counted and named as one pass names them (the first three by line, and how many more)."""
    from tests.test_parallel import L, _both, _cuts, _pair, _settings, _write

    base = _ns("2026-01-05T08:00:00.000123457Z")
    lines: list[bytes] = []
    for i in range(0, 4 * BLOCK // L, 2):
        t = _go(base + i * 10_000_000).encode()
        req, resp = _pair(i, b"p%d" % i, t)
        if i % 50 == 0:  # one pair in 25 as the vault writes it (the response 412 µs later); the others alike
            resp = resp.replace(t, _go(base + i * 10_000_000 + 412_346).encode())
        lines += [req, resp]
    path = tmp_path / "audit.log"
    _write(path, lines)
    settings = _settings(tmp_path, canaries=None)
    assert len(_cuts(tmp_path, path, settings)) > 2
    one, two = _both(settings, [str(path)], range_bytes=BLOCK)
    assert one == two
    found = [f for o in one[0][7] if o["check"] == "timestamp_accuracy" for f in o["findings"]]
    assert [f["where"] for f in found if ALIKE in f["message"]] == [f"{path}:{n}" for n in (4, 6, 8)], found
