"""Red team rt97 F2: a Kubernetes request split at a rotation of the API server's log.

kube-apiserver's log backend rotates by size with lumberjack (``--audit-log-maxsize``), into
``audit-2006-01-02T15-04-05.000.log`` beside ``audit.log``; the next event goes to the new file. A request that is not
long-running ends within ``--request-timeout`` (60 s), and its ResponseComplete comes after its RequestReceived. At a
rotation a request's RequestReceived may end one file and its ResponseComplete open the next.

Each file alone excuses such an edge (in flight at its end; a later stage with its RequestReceived before it). In a
set whose files follow each other in time, the set judges the edge as it does a Vault/OpenBao request split so: a
RequestReceived at the end of one file whose later stage the next file, running on past the bound, does not hold is
a finding at its line (it passed: exit 0, where the same bytes as one file were a finding); a later stage opening a
file whose RequestReceived the file before does not end with is one too; a pair split across the two is paired, and
neither file excuses it any more.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
OLD = "audit-2026-01-05T08-04-10.000.log"  # lumberjack's backup name for a rotation at 08:04:10


def _stamp(ms: int) -> str:
    """metav1.MicroTime as the API server writes it: six fractional digits, "Z"; ``ms`` after 08:00 on 2026-01-05."""
    s, rest = divmod(ms, 1000)
    m, s = divmod(s, 60)
    return "2026-01-05T08:%02d:%02d.%03d417Z" % (m, s, rest)


def _event(stage: str, rid: str, received: int, at: int, n: int) -> dict[str, Any]:
    """An audit.k8s.io/v1 Event at level Metadata of a service account's get of a ConfigMap."""
    e: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": rid, "stage": stage,
        "requestURI": f"/api/v1/namespaces/prod/configmaps/app-config-{n % 3}", "verb": "get",
        "user": {"username": "system:serviceaccount:prod:app", "uid": "b24bd542-ae95-4e5e-9e2a-69883276bc2c",
                 "groups": ["system:serviceaccounts", "system:serviceaccounts:prod", "system:authenticated"]},
        "sourceIPs": ["10.244.1.17"], "userAgent": "app/1.4.2 (linux/amd64) kubernetes/client-go",
        "objectRef": {"resource": "configmaps", "namespace": "prod", "name": f"app-config-{n % 3}",
                      "apiVersion": "v1"},
        "requestReceivedTimestamp": _stamp(received), "stageTimestamp": _stamp(at)}
    if stage == "ResponseComplete":
        e["responseStatus"] = {"metadata": {}, "code": 200}
    return e


def _requests(first: int, count: int) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``count`` gets 100 ms apart from ``first`` ms, each answered in 3 ms: (auditID, RequestReceived,
    ResponseComplete)."""
    out = []
    for n in range(first // 100, first // 100 + count):
        rid = str(uuid.UUID(int=n + 1))
        out.append((rid, _event("RequestReceived", rid, 100 * n, 100 * n, n),
                    _event("ResponseComplete", rid, 100 * n, 100 * n + 3, n)))
    return out


def _lines(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


def _write(folder: Path, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    folder.mkdir()
    (folder / "auditready.toml").write_text(CONFIG)
    paths = []
    for name, events in ((OLD, old), ("audit.log", new)):
        p = folder / name
        p.write_text(_lines(events))
        p.chmod(0o600)
        paths.append(str(p))
    return paths


def _verify(folder: Path, capsys: pytest.CaptureFixture[str], paths: list[str], jobs: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    rc = main(["verify", *paths, "--config", str(folder / "auditready.toml"), "--json", str(folder / "r.json"),
               "--jobs", jobs])
    capsys.readouterr()
    return rc, json.loads((folder / "r.json").read_text())


def _found(report: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(Path(f["where"].rsplit(":", 1)[0]).name, int(f["where"].rsplit(":", 1)[1]), f["message"])
            for o in report["outcomes"] if o["check"] == "completeness" for f in o["findings"]]


def _excused(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {Path(f["file"]).name: {e["rule"][:40]: e["entries"] for e in f["checks"]["completeness"]["excused"]}
            for f in report["files"]}


def _split(cut: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, Any, Any]]]:
    """3,000 requests over 300 s; the API server's log rotated after request ``cut``'s RequestReceived (past the
    bound after the log's first event, and before its last: a file alone would judge it)."""
    reqs = _requests(0, 3000)
    old = [e for _, a, b in reqs[:cut] for e in (a, b)] + [reqs[cut][1]]
    new = [reqs[cut][2]] + [e for _, a, b in reqs[cut + 1:] for e in (a, b)]
    return old, new, reqs


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_request_split_by_the_rotation_is_paired_and_excused_by_neither_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    old, new, _ = _split(1500)
    rc, report = _verify(tmp_path / "set", capsys, _write(tmp_path / "set", old, new), jobs)
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report) == {OLD: {}, "audit.log": {}}, _excused(report)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_response_complete_dropped_at_the_rotation_is_found_as_in_one_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    old, new, reqs = _split(1500)
    rc, report = _verify(tmp_path / "one", capsys, [_write(tmp_path / "one", old + new[1:], [])[0]], jobs)
    assert rc == 1 and [(n, line) for n, line, _ in _found(report)] == [(OLD, len(old))], _found(report)
    rc, report = _verify(tmp_path / "set", capsys, _write(tmp_path / "set", old, new[1:]), jobs)
    assert rc == 1, _found(report)
    ((name, line, message),) = _found(report)
    assert (name, line) == (OLD, len(old)) and "has no later stage of its request" in message, message
    assert "audit.log" in message and reqs[1500][0] not in message  # (the next file is named; the id is its own)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_request_received_dropped_at_the_rotation_is_found_at_its_later_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    old, new, _ = _split(1500)
    rc, report = _verify(tmp_path / "set", capsys, _write(tmp_path / "set", old[:-1], new), jobs)
    assert rc == 1, _found(report)
    ((name, line, message),) = _found(report)
    assert (name, line) == ("audit.log", 1) and "RequestReceived" in message, message


def test_a_last_file_that_ends_within_the_bound_leaves_its_request_in_flight(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The set's last file ends 20 s after the split request: its later stage may still come; excused, as before."""
    reqs = _requests(0, 1700)
    old = [e for _, a, b in reqs[:1500] for e in (a, b)] + [reqs[1500][1]]
    new = [e for _, a, b in reqs[1501:] for e in (a, b)]
    rc, report = _verify(tmp_path / "set", capsys, _write(tmp_path / "set", old, new), "1")
    assert (rc, _found(report)) == (0, []), _found(report)
    assert sum(_excused(report)[OLD].values()) == 1, _excused(report)


def test_a_lone_request_s_dropped_stage_at_the_rotation_is_found_and_a_policy_that_omits_it_is_excused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The split request is the only one of its policy key (another user): nothing shows the policy keeps its later
    stage, and nothing shows it omits it: a finding, as one file says (red team rt97's own reproduction). A second
    request of that key without a later stage shows a policy that omits it: excused so, by that rule."""
    old, new, _ = _split(1500)
    old[-1]["user"]["username"] = "system:serviceaccount:kube-system:replicaset-controller"
    rc, report = _verify(tmp_path / "once", capsys, _write(tmp_path / "once", old, new[1:]), "1")
    ((name, line, message),) = _found(report)
    assert (rc, name, line) == (1, OLD, len(old)) and "No other request the same policy rule matched" in message
    twin = dict(old[-1], auditID=str(uuid.UUID(int=10**6)), requestReceivedTimestamp=_stamp(130_050),
                stageTimestamp=_stamp(130_050))  # (past the bound after the file's first event: judged there)
    with_twin = [*old[:2 * 1301], twin, *old[2 * 1301:]]
    rc, report = _verify(tmp_path / "unkept", capsys, _write(tmp_path / "unkept", with_twin, new[1:]), "1")
    assert (rc, _found(report)) == (0, []), _found(report)
    assert _excused(report)[OLD] == {"a RequestReceived event with no later st": 2}, _excused(report)


def test_more_lost_edges_than_shown_are_one_finding_that_counts_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """25 requests received in the last 2.5 s of the old file, whose later stages the next file (running on for
    150 s) does not hold: 20 findings at their lines, and one at the 21st that stands for the other 5."""
    reqs = _requests(0, 3000)
    old = [e for _, a, b in reqs[:1475] for e in (a, b)] + [a for _, a, _b in reqs[1475:1500]]
    new = [e for _, a, b in reqs[1500:] for e in (a, b)]
    rc, report = _verify(tmp_path / "set", capsys, _write(tmp_path / "set", old, new), "1")
    found = [f for o in report["outcomes"] if o["check"] == "completeness" for f in o["findings"]]
    assert rc == 1 and [int(f["where"].rsplit(":", 1)[1]) for f in found] == list(range(2951, 2972)), found
    assert found[-1]["message"].startswith("5 more Kubernetes requests") and found[-1]["entries"] == 5, found[-1]
