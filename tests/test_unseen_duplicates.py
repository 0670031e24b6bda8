"""completeness on logs we did not write: a record delivered twice, and request/response pairing.

Vault/OpenBao writes one request and one response entry a request to each audit device's file (recorded below from a
real OpenBao with two devices). A response written again (a shipper retrying without deduplication, two devices
naming one file) is a finding at the second line that names the first, on every path: the column batches
(``entries``), the records (``entry``) and the byte ranges merged for ``--jobs`` (``merge``). The responses
remembered for that are bounded: those within ``completeness_window`` of the log's time, at most ``ANSWERED``.

Kubernetes (auditID, stage, requestReceivedTimestamp) and CloudTrail (eventID) records repeated unchanged are
deliveries repeated (webhook retries, one event in two trails' files): excused by that rule, never a
failure; repeated with other content they are a finding naming the first.
"""

from __future__ import annotations

import dataclasses
import json
import random
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import completeness
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import remember_secret
from tests.test_completeness_offline import _client_request, _in_ranges, _records, _said, _visitor, kind_of, replicate

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)


def _write(tmp_path: Path, lines: list[bytes], name: str = "audit.log") -> Path:
    p = tmp_path / name
    p.write_bytes(b"\n".join(lines) + b"\n")
    p.chmod(0o600)
    return p


def _outcome(path: Path, settings: Settings = SETTINGS) -> Outcome:
    (o,) = verify_file(str(path), settings, [completeness.CHECK], {}).outcomes
    return o


def _where(o: Outcome) -> list[int]:
    return [int(f.where.rsplit(":", 1)[1]) for f in o.findings]


def _rid(line: bytes) -> str:
    return str(json.loads(line)["request"].get("id", ""))


def _response_of(lines: list[bytes], i: int) -> int:
    rid = _rid(lines[i])
    return next(j for j in range(i + 1, len(lines)) if kind_of(lines[j]) == "response" and _rid(lines[j]) == rid)


# -- Vault/OpenBao: a response written twice ---------------------------------------------------------------------
@pytest.mark.parametrize("gap", [0, 4])
def test_a_replayed_response_is_a_duplicate_naming_the_first(tmp_path: Path, gap: int) -> None:
    """Before: "the response entry has no request entry" (a dropped line, the wrong cause and fix). Now: written a
    second time, at its line, naming the first; the same time as the first says a hop copied the line."""
    lines = replicate(6)
    r = _response_of(lines, _client_request(lines, len(lines) // 2))
    lines.insert(r + 1 + gap, lines[r])
    o = _outcome(_write(tmp_path, lines))
    assert o.status == FAILED
    assert _where(o) == [r + 2 + gap] and o.findings[0].request_id == _rid(lines[r])
    text = o.findings[0].text()
    assert "response entry is written a second time" in text and f"audit.log:{r + 1}" in text
    assert "a hop copied the line" in text, text


def test_a_replayed_response_at_the_start_of_a_log_is_not_excused(tmp_path: Path) -> None:
    """A log cut after a request: its response first, then replayed. Before: both excused as responses whose
    request came before the log (the check passed); now the second is a duplicate naming the first."""
    lines = replicate(3)
    r = _response_of(lines, _client_request(lines, 10))
    cut = lines[r:]
    cut.insert(2, cut[0])
    o = _outcome(_write(tmp_path, cut))
    assert o.status == FAILED and _where(o) == [3], [f.text() for f in o.findings]
    assert "audit.log:1" in o.findings[0].text()
    assert dict(o.tally.excused)[completeness.BEFORE] >= 1  # the first is still excused by that rule


def test_a_request_replayed_after_its_response_at_the_end_of_a_log_is_not_excused(tmp_path: Path) -> None:
    """Before: a request entry written again after its response, in the log's last window, was excused as a
    request still in flight. Now it is a duplicate naming its response."""
    lines = replicate(3)
    i = _client_request(lines, len(lines) - 40)
    r = _response_of(lines, i)
    lines.append(lines[i])
    o = _outcome(_write(tmp_path, lines))
    assert o.status == FAILED and _where(o) == [len(lines)], [f.text() for f in o.findings]
    text = o.findings[0].text()
    assert "after its request was answered" in text and f"audit.log:{r + 1}" in text


@pytest.mark.parametrize("gap", [0, 4])
def test_a_request_and_its_response_copied_again_are_both_a_hop_s_copy(tmp_path: Path, gap: int) -> None:
    """A pair appended again byte for byte (a file joined with its own tail): each copy is named as the same entry
    at the same time, so a hop copied it. The request's copy was compared with its response's time and said to be
    a second writer's entry (red team rt93 F7); a request written again with a time of its own still is."""
    lines = replicate(3)
    i = _client_request(lines, len(lines) // 2)
    r = _response_of(lines, i)
    copied = [*lines[:r + 1 + gap], lines[i], lines[r], *lines[r + 1 + gap:]]
    o = _outcome(_write(tmp_path, copied))
    assert o.status == FAILED and _where(o) == [r + 2 + gap, r + 3 + gap], [f.text() for f in o.findings]
    request, response = (f.text() for f in o.findings)
    assert "after its request was answered" in request and "a hop copied the line" in request, request
    assert "response entry is written a second time" in response and "a hop copied the line" in response, response
    entry = json.loads(lines[i])
    t = entry["time"]
    entry["time"] = t[:-2] + ("1" if t[-2] != "1" else "2") + "Z"  # another moment, the same request id
    retimed = [*lines[:r + 1 + gap], json.dumps(entry, separators=(",", ":")).encode(), *lines[r + 1 + gap:]]
    (again,) = _outcome(_write(tmp_path, retimed, "retimed.log")).findings
    assert "after its request was answered" in again.text() and "a second writer wrote it" in again.text()


def test_a_request_moved_after_its_response_is_named_reordered_not_written_twice(tmp_path: Path) -> None:
    """Two workers shipping in parallel put a request entry after its response: one finding at the request, naming
    its response, that the lines are out of order. It was two: the response "has no request entry" (a line dropped)
    and the request "written a second time" by a second writer (red team rt48 F7)."""
    lines = replicate(3)
    i = _client_request(lines, len(lines) // 2)
    r = _response_of(lines, i)
    moved = lines[:i] + lines[i + 1:r + 1] + [lines[i]] + lines[r + 1:]
    o = _outcome(_write(tmp_path, moved))
    assert o.status == FAILED and _where(o) == [r + 1], [f.text() for f in o.findings]
    text = o.findings[0].text()
    assert f"comes after its own response entry ({tmp_path / 'audit.log'}:{r})" in text, text
    assert "written a second time" not in text


def test_a_correct_log_and_each_device_file_of_a_correct_log_give_no_finding(tmp_path: Path) -> None:
    o = _outcome(_write(tmp_path, replicate(6)))
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]


@pytest.mark.parametrize("at", [0, 5])
def test_the_device_s_self_test_written_twice_is_a_duplicate(tmp_path: Path, at: int) -> None:
    """The self-test entry (sys/audit/test) is excused from pairing: the vault writes no response for it. Its copy
    from an at-least-once hop was excused with it (red team rt28, F9); it is now the entry written a second time,
    at its line, as any other entry's copy is."""
    lines = (ROOT / "openbao" / "odd" / "correct.log").read_bytes().splitlines()
    (test,) = [ln for ln in lines if b'"path":"sys/audit/test"' in ln]
    assert _outcome(_write(tmp_path, lines)).status == PASSED
    cut = lines.index(test) + 1 + at
    copied = [*lines[:cut], test, *lines[cut:]]
    o = _outcome(_write(tmp_path, copied, "copied.log"))
    assert o.status == FAILED and _where(o) == [lines.index(test) + 2 + at], [f.text() for f in o.findings]
    assert "written a second time" in o.findings[0].message


@pytest.mark.parametrize("seed", range(4))
def test_replayed_responses_are_judged_alike_by_batches_records_and_ranges(seed: int) -> None:
    from pytest_auditready.auditlog.model import Entries

    rnd = random.Random(seed)
    lines = replicate(8)
    copies: list[int] = []
    for _ in range(rnd.randrange(1, 4)):
        r = _response_of(lines, _client_request(lines, rnd.randrange(len(lines) // 2)))
        at = r + 1 + rnd.randrange(3)
        lines.insert(at, lines[r])
        copies = [c + (c >= at) for c in copies] + [at]
    records = _records(lines)
    one = _visitor()
    for rec in records:
        one.entry(rec)  # type: ignore[arg-type]
    said = _said(one)[0]
    assert sorted(int(w.rsplit(":", 1)[1]) for w, t in said if "response entry is written a second time" in t) == \
        sorted(c + 1 for c in copies)
    for size in (1, 37):
        batched = _visitor()
        for a in range(0, len(records), size):
            batched.entries(Entries.of(records[a:a + size]))  # type: ignore[arg-type]
        assert _said(batched) == _said(one)
    for _ in range(3):
        try:
            merged = _in_ranges(records, rnd)
        except NotImplementedError:  # declined: the file is read whole, as one pass
            continue
        assert _said(merged) == _said(one)


def test_the_responses_remembered_are_bounded_by_time_and_count(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the window a replayed response names its first; past the window (or past ANSWERED newer
    responses) it is no longer recognised as a copy, but is still a finding (a response with no request), never
    a pass. The visitor never holds more than ANSWERED responses."""
    lines = replicate(6)
    r = _response_of(lines, _client_request(lines, len(lines) // 4))
    t = json.loads(lines[r])["time"]
    late = next(j for j in range(r, len(lines)) if json.loads(lines[j])["time"] > t[:14] + "%02d" % (int(t[14:16]) + 3)
                and json.loads(lines[j])["request"]["path"] != "sys/audit/test") + 1  # after an entry 3 min on
    lines.insert(late, lines[r])
    o = _outcome(_write(tmp_path, lines))
    assert o.status == FAILED and _where(o) == [late + 1]
    assert "has no request entry" in o.findings[0].text()
    wide = dataclasses.replace(SETTINGS, completeness_window=600)  # a window that holds it: a copy again
    o = _outcome(_write(tmp_path, lines), wide)
    said = {int(f.where.rsplit(":", 1)[1]): f.text() for f in o.findings}  # (and the dev server's fixed ids)
    assert "response entry is written a second time" in said[late + 1]

    lines = replicate(3)
    r = _response_of(lines, _client_request(lines, len(lines) // 3 + 10))  # past the log's first window
    between = sum(1 for ln in lines[r + 1:r + 30] if kind_of(ln) == "response")
    lines.insert(r + 30, lines[r])
    monkeypatch.setattr(completeness, "ANSWERED", between - 1)  # fewer than the responses in between
    v = _visitor()
    for rec in _records(lines):
        v.entry(rec)  # type: ignore[arg-type]
        assert len(v.answered) <= completeness.ANSWERED
    (where, text), = _said(v)[0]
    assert where == f"audit.log:{r + 31}" and "has no request entry" in text
    monkeypatch.setattr(completeness, "ANSWERED", between + 1)
    v = _visitor()
    for rec in _records(lines):
        v.entry(rec)  # type: ignore[arg-type]
    (where, text), = _said(v)[0]
    assert where == f"audit.log:{r + 31}" and "written a second time" in text


def test_a_response_replayed_across_a_range_boundary_with_two_jobs(tmp_path: Path) -> None:
    """--jobs: the first response last before a cut, its copy first after it: the same report as one pass."""
    from pytest_auditready.offline.reader import BLOCK
    from tests.test_parallel import L, _both, _cuts, _findings, _pair, _settings, _time

    n = 4 * BLOCK // L
    lines: list[bytes] = []
    for i in range(0, n, 2):
        lines += _pair(i, b"r%d" % i, _time(10 * i))
    path = tmp_path / "audit.log"
    _write(tmp_path, lines)
    settings = _settings(tmp_path, canaries=None)
    c1 = _cuts(tmp_path, path, settings)[1]
    first = c1 - 1 if c1 % 2 == 0 else c1 - 2  # the last response before the cut (pairs start at even lines)
    at = c1 if c1 % 2 else c1 + 1  # the first response after it, replaced by the copy: the lines keep their bytes
    lines[at] = lines[first]
    _write(tmp_path, lines)
    assert _cuts(tmp_path, path, settings)[1] == c1
    one, two = _both(settings, [str(path)], range_bytes=BLOCK)
    assert one == two
    said = {f["where"]: f["message"] for f in _findings(one, "completeness")}
    assert "response entry is written a second time" in said[f"{path}:{at + 1}"]
    assert f"{path}:{first + 1}" in said[f"{path}:{at + 1}"]


# -- a real OpenBao with two audit devices ---------------------------------------------------------------------
class _OneFile(EmbeddedServer):
    """An embedded OpenBao whose second file device is declared with the first one's file_path."""

    def _config(self) -> str:
        return super()._config().replace("__FIRST__", str(self.log_path))


def _traffic(server: EmbeddedServer, n: int = 5) -> None:
    for path in ["sys/mounts", "sys/policy", "auth/token/lookup-self"][:n]:
        req = urllib.request.Request(f"{server.url}/v1/{path}", headers={"X-Vault-Token": server.root_token})
        with urllib.request.urlopen(req, timeout=10) as answer:
            answer.read()


def _lines_of(path: Path, at_least: int, within: float = 10.0) -> list[bytes]:
    """The file's lines once it holds ``at_least`` entries for the traffic (the device writes as it answers)."""
    import time

    end = time.monotonic() + within
    while True:
        lines = path.read_bytes().splitlines()
        if sum(b'"path":"sys/mounts"' in ln for ln in lines) >= at_least or time.monotonic() > end:
            return lines
        time.sleep(0.05)


@pytest.mark.vault
def test_real_openbao_two_devices_two_files_pass_one_file_names_the_cause(tmp_path: Path) -> None:
    """Recorded from OpenBao: two file devices write one request and one response entry a request each, to their
    own files (each file passes), with their own time and HMAC salt. Declared with one file_path, both write
    into it: every request's second request and second response entry is a finding that names the first and says
    two devices (another time, not a copy of the line)."""
    with EmbeddedServer(extra_devices={"second": {}}) as server:
        remember_secret(server.root_token)
        _traffic(server)
        files = [Path(server.log_path), Path(server.log_path).parent / "second.log"]
        logs = [_lines_of(f, 2) for f in files]
    for f, lines in zip(files, logs):
        local = _write(tmp_path, lines, f.name)
        o = _outcome(local)
        assert o.status == PASSED and not o.findings, [x.text() for x in o.findings]
    ids = [{_rid(ln) for ln in lines if b'"path":"sys/mounts"' in ln} for lines in logs]
    assert ids[0] == ids[1] and ids[0]  # one request id a request, in both files

    with _OneFile(extra_devices={"second": {"file_path": "__FIRST__"}}) as server:
        remember_secret(server.root_token)
        _traffic(server)
        lines = _lines_of(Path(server.log_path), 4)
    o = _outcome(_write(tmp_path, lines, "one.log"))
    assert o.status == FAILED
    health = [n for n, ln in enumerate(lines, 1) if b'"path":"sys/mounts"' in ln]
    assert len(health) == 4 and {health[1], health[3]} <= set(_where(o)), (health, _where(o))
    for f in o.findings:
        assert "written a second time" in f.text() and "two audit devices declared with one file_path" in f.text()


def _two_devices(rounds: int) -> tuple[list[Path], list[list[bytes]]]:
    """A real OpenBao with two file devices after ``rounds`` of traffic: their files and lines."""
    with EmbeddedServer(extra_devices={"second": {}}) as server:
        remember_secret(server.root_token)
        for _ in range(rounds):
            _traffic(server)
        files = [Path(server.log_path), Path(server.log_path).parent / "second.log"]
        return files, [_lines_of(f, 2 * rounds) for f in files]


@pytest.mark.vault
def test_the_access_review_of_two_devices_files_says_it_counts_each_copy(tmp_path: Path) -> None:
    """Two devices' files verified together hold every request twice (red team rt23: the review counted each twice
    without a word, where auditready access counts it once). The review says so, in --jobs ranges too; one
    device's rotated files, read together, hold no request twice and say nothing."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.engine import parallel
    from pytest_auditready.engine.files import offline_checks
    from pytest_auditready.review import AGAIN, merged, summary

    logs = _two_devices(3)[1]
    a, b = (_write(tmp_path, lines, name) for lines, name in zip(logs, ("a.log", "b.log")))
    half = len(logs[0]) // 2
    old, new = _write(tmp_path, logs[0][:half], "audit.log.1"), _write(tmp_path, logs[0][half:], "audit.log")
    settings = dataclasses.replace(SETTINGS, review_paths=("*",))
    checks = offline_checks(BUILTIN)

    def review(paths: list[Path], jobs: int = 1) -> dict[str, Any]:
        names = [str(p) for p in paths]
        if jobs == 1:
            results = [verify_file(n, settings, checks, {}, tuple(names)) for n in names]
        else:
            results = parallel.verify_files(settings, checks, {}, names, jobs, min_bytes=0, range_bytes=4096)
        r = merged(settings, [x.review for x in results])
        assert r is not None
        return r.report()

    one, both, rotated = review([a]), review([a, b]), review([old, new])
    assert both["requests"] == 2 * one["requests"] > 0
    assert both["again_in_other_files"] > 0 and AGAIN in (summary(both) or "")
    assert review([a, b], jobs=2)["again_in_other_files"] == both["again_in_other_files"]
    assert rotated["requests"] == one["requests"] and rotated["again_in_other_files"] == 0
    assert one["again_in_other_files"] == 0 and AGAIN not in (summary(rotated) or "")


@pytest.mark.vault
def test_a_file_whose_responses_come_from_another_device_is_named(tmp_path: Path) -> None:
    """One device HMACs both entries of a request with its salt: a file whose response entries are the other
    device's (spliced, or a pair pinned on another token) gives each pair two token digests (red team rt26: it
    passed; every token auth/token/create makes is named "token", so the display name cannot tell). Offline, the
    digests' values cannot be verified, and integrity_digest's pass says so."""
    from pytest_auditready.checks import integrity_digest

    files, logs = _two_devices(2)
    a = [ln for ln in logs[0] if b'"type":"request"' in ln]
    b = {_rid(ln): ln for ln in logs[1] if b'"type":"response"' in ln}
    spliced = [x for ln in a for x in ([ln, b[_rid(ln)]] if _rid(ln) in b else [ln])]
    o = _outcome(_write(tmp_path, spliced, "spliced.log"))
    assert o.status == FAILED and o.findings and all("who sent it" in f.message for f in o.findings), o.findings
    for f, lines in zip(files, logs):
        res = verify_file(str(_write(tmp_path, lines, f.name)), SETTINGS, [integrity_digest.CHECK], {})
        (d,) = res.outcomes
        assert d.status == PASSED and "Offline, the digests' form was judged" in d.reason, d.reason


# -- Kubernetes: one event a request and stage --------------------------------------------------------------------
K8S = (ROOT / "k8s/real/correct.log").read_bytes().splitlines()


def _k8s(tmp_path: Path, lines: list[bytes]) -> Outcome:
    p = _write(tmp_path, lines, "k8s.log")
    return _outcome(p, dataclasses.replace(SETTINGS, log_format="k8s"))


def _edit(line: bytes, **changes: Any) -> bytes:
    d = json.loads(line)
    d.update(changes)
    return json.dumps(d, separators=(",", ":")).encode()


def test_k8s_correct_log_and_an_event_delivered_twice_unchanged_are_no_finding(tmp_path: Path) -> None:
    o = _k8s(tmp_path, K8S)
    assert o.status == SKIPPED and not o.findings and "no request/response pairs" in o.reason
    # a webhook batch retried: the same events again, byte for byte (one of them framed by a container runtime)
    framed = b"2026-01-05T08:00:09.000000001Z stdout F " + K8S[3]
    o = _k8s(tmp_path, [*K8S, K8S[2], framed])
    assert o.status == SKIPPED and not o.findings, [f.text() for f in o.findings]
    assert dict(o.tally.excused)[completeness.REDELIVERED["k8s"]] == 2


def test_k8s_an_event_repeated_with_other_content_is_a_finding_naming_the_first(tmp_path: Path) -> None:
    """Before: the check skipped every Kubernetes log, so an edited second copy passed unseen."""
    forged = _edit(K8S[4], verb="get", user={"username": "someone-else"})
    o = _k8s(tmp_path, [*K8S, forged])
    assert o.status == FAILED and _where(o) == [len(K8S) + 1]
    assert "k8s.log:5" in o.findings[0].text() and o.findings[0].request_id == json.loads(K8S[4])["auditID"]


def test_k8s_the_same_audit_id_at_another_stage_or_receive_time_is_not_judged(tmp_path: Path) -> None:
    """Stages of one request share the auditID (omitStages may drop any), and a client or a front API server may
    choose the Audit-ID, so one auditID at another stage or receive time is not a duplicate."""
    base = json.loads(K8S[4])
    other_stage = _edit(K8S[4], stage="ResponseStarted" if base["stage"] != "ResponseStarted" else "Panic")
    other_time = _edit(K8S[4], requestReceivedTimestamp="2020-01-01T00:00:00.000001Z", verb="list")
    o = _k8s(tmp_path, [*K8S, other_stage, other_time])
    assert o.status == SKIPPED and not o.findings, [f.text() for f in o.findings]


# -- CloudTrail: one eventID an event --------------------------------------------------------------------------
TRAIL = json.loads((ROOT / "cloudtrail/real/correct.json").read_bytes())["Records"]


def _trail(tmp_path: Path, records: list[Any], name: str = "trail.json") -> Outcome:
    p = tmp_path / name
    p.write_text(json.dumps({"Records": records}))
    p.chmod(0o600)
    return _outcome(p, dataclasses.replace(SETTINGS, log_format="cloudtrail"))


def test_cloudtrail_a_record_twice_in_one_delivered_file_is_a_finding(tmp_path: Path) -> None:
    """One delivered file ({"Records": [...]}) holding a record twice is no redelivery (CloudTrail delivers a
    record again in another file: two trails, a file copied): a finding at the copy (red team rt102 F6). Across
    files the excuse stands (tests/test_rt102_outcomes.py)."""
    o = _trail(tmp_path, TRAIL)
    assert o.status == SKIPPED and not o.findings
    o = _trail(tmp_path, [*TRAIL, dict(reversed(list(TRAIL[3].items())))])  # the same record, keys reordered
    assert o.status == FAILED and _where(o) == [len(TRAIL) + 1]
    assert completeness.REDELIVERED["cloudtrail"] not in dict(o.tally.excused)


def test_cloudtrail_an_event_id_repeated_with_other_content_is_a_finding(tmp_path: Path) -> None:
    """Before: a repeated eventID was not judged. The request id the record path pairs by is requestID, so the
    eventID is read from the record itself."""
    forged: dict[str, Any] = json.loads(json.dumps(TRAIL[5]))
    forged["sourceIPAddress"] = "203.0.113.9"
    o = _trail(tmp_path, [*TRAIL, forged])
    assert o.status == FAILED and _where(o) == [len(TRAIL) + 1]
    assert "trail.json:6" in o.findings[0].text() and o.findings[0].request_id == TRAIL[5]["eventID"]



@pytest.mark.vault
def test_live_run_against_a_vault_whose_two_devices_share_one_file(pytester: pytest.Pytester, url_env: Any) -> None:
    """The live run (URL target): each scenario action's request and response entry is in the file twice, one
    from each device. Before: completeness passed (it only asked whether the entries were there). Now every such
    action fails, naming the lines and the cause; a vault with the devices on their own files passes."""
    from tests.auditrun import run_audit

    with _OneFile(extra_devices={"second": {"file_path": "__FIRST__"}}) as server:
        remember_secret(server.root_token)
        url_env(server)
        run = run_audit(pytester, server, seal=False, audit_device="auditready")
    assert run.status("completeness") == "failed"
    text = run.text("completeness")
    assert "written 2 times into one file" in text and "two audit devices are declared with one file_path" in text
    judged = {n: s for n, s in run.items.items() if n.startswith("completeness[") and s != "skipped"}
    assert len(judged) > 10 and set(judged.values()) == {"failed"}, judged
