"""timestamp_precision judges each service's clock on its own in a Cloud Logging export (red team rt102).

A Cloud Audit Logs entry names the service whose clock stamped its ``timestamp`` (``protoPayload.serviceName``). The
fixture (fixtures/jsonl/rt102-gcp/make_fixture.py, deterministic) mixes Secret Manager's AccessSecretVersion entries,
stamped to the nanosecond, with Bigtable's Data API entries, stamped to the millisecond as Google's Bigtable audit
log example shows; about one Bigtable time in a thousand falls on a whole second ("2026-11-30T08:15:09Z"), three
here. Weighed against the nanosecond clock they were reported as re-timed; weighed against Bigtable's own
milliseconds they are chance. Both ways: the correct export passes, and a hop that cut one service's times to whole
seconds (all of them, or a stretch of lines), or everyone's, is still found at those lines; two processes reading the
file in ranges (``--jobs``) give the same verdicts as one.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks import timestamp_precision as tp
from pytest_auditready.cli import main
from pytest_auditready.config import discover
from pytest_auditready.engine import parallel
from pytest_auditready.engine.files import FileResult, offline_checks, verify_file
from pytest_auditready.offline.reader import BLOCK
from tests.test_rt101_who import _write as write_lines

ROOT = Path(__file__).resolve().parents[1]
MAKER = ROOT / "fixtures" / "jsonl" / "rt102-gcp" / "make_fixture.py"
ID = "timestamp_precision"
SM, BT = "secretmanager.googleapis.com", "bigtable.googleapis.com"
FIELD_MAP = {"time": "timestamp", "identity": "protoPayload.authenticationInfo.principalEmail",
             "resource": "protoPayload.resourceName", "action": "protoPayload.methodName",
             "result": "protoPayload.status", "source": "protoPayload.requestMetadata.callerIp",
             "request_id": "insertId"}
CONTENT = ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "data_minimisation")


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rt102_make_fixture", MAKER)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_LINES: list[str] = _maker().lines()


def _whole(t: str) -> str:
    """``t`` cut to a whole second, as a hop that drops the fraction writes it."""
    return t[:19] + "Z"


def _entries(change: Optional[Callable[[int, dict[str, Any]], None]] = None) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in _LINES]
    for i, d in enumerate(docs):
        if change is not None:
            change(i + 1, d)
    return docs


def _write(tmp_path: Path, docs: Sequence[Any], name: str = "export.jsonl") -> Path:
    return write_lines(tmp_path, list(docs), name)


def _config(tmp_path: Path, field_map: Optional[dict[str, str]] = None) -> Path:
    cfg = tmp_path / "auditready.toml"
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in (field_map or FIELD_MAP).items())
    cfg.write_text(f'log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n'
                   f"field_map = {{{table}}}\n")
    cfg.chmod(0o600)
    return cfg


def _verify(tmp_path: Path, log: Path, field_map: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """``auditready verify`` of ``log``: its outcomes by check."""
    out = tmp_path / "report.json"
    code = main(["verify", "--jobs", "1", "-q", str(log), "--format", "jsonl", "--config",
                 str(_config(tmp_path, field_map)), "--json", str(out)])
    assert code in (0, 1)
    return {o["check"]: o for o in json.loads(out.read_text())["outcomes"]}


def _lines(outcome: dict[str, Any]) -> list[int]:
    return [int(f["where"].rsplit(":", 1)[1]) for f in outcome["findings"] if re.search(r":\d+\Z", f["where"])]


def _service_lines(service: str) -> list[int]:
    return [i + 1 for i, d in enumerate(_entries()) if d["protoPayload"]["serviceName"] == service]


def test_fixture_mixes_a_nanosecond_and_a_millisecond_clock() -> None:
    """What the export holds: Secret Manager's times carry up to nine digits, Bigtable's three, and several of
    Bigtable's fall on a whole second, about as often as a millisecond clock leaves one (1 in 1,000)."""
    digits: dict[str, list[int]] = {SM: [], BT: []}
    for d in _entries():
        t = d["timestamp"]
        digits[d["protoPayload"]["serviceName"]].append(len(t[20:-1].rstrip("0")) if t[19] == "." else 0)
    assert max(digits[SM]) == 9 and min(digits[SM]) > 3
    assert max(digits[BT]) == 3
    whole = digits[BT].count(0)
    assert 3 <= whole <= 6, whole
    assert tp.poisson_tail(whole, len(digits[BT]) / 1000) > tp.RETIMED  # chance, for a millisecond clock


def test_service_of_a_line() -> None:
    """The service a line names: read without parsing where the line is one AuditLog naming one service, parsed
    otherwise, and the same either way; only protoPayload.serviceName of an AuditLog at the time's LogEntry."""
    for line in _LINES[:200]:
        raw = line.encode()
        assert tp.service_of(raw, ()) == json.loads(line)["protoPayload"]["serviceName"]
        assert tp.service_of(b'{"_source":' + raw + b"}", ("_source",)) == json.loads(line)["protoPayload"][
            "serviceName"]
    doc = json.loads(_LINES[0])
    doc["protoPayload"]["serviceName"] = "big\ttable.googleapis.com"  # (written escaped: parsed)
    assert tp.service_of(json.dumps(doc).encode(), ()) == "big\ttable.googleapis.com"
    doc["protoPayload"]["request"] = {"serviceName": "other.googleapis.com"}  # (twice in the line: parsed)
    assert tp.service_of(json.dumps(doc).encode(), ()) == "big\ttable.googleapis.com"
    doc["protoPayload"]["@type"] = "type.googleapis.com/google.cloud.audit.Other"
    assert tp.service_of(json.dumps(doc).encode(), ()) == ""  # no AuditLog
    assert tp.service_of(b'{"jsonPayload":{"serviceName":"app"},"timestamp":"2026-01-02T03:04:05Z"}', ()) == ""
    assert tp.service_of(b"not json", ()) == ""


def test_correct_mixed_export_has_no_precision_finding(tmp_path: Path) -> None:
    """The false alarm: Bigtable's whole seconds were counted against Secret Manager's nine digits."""
    found = _verify(tmp_path, _write(tmp_path, _entries()))
    assert found[ID]["status"] == "passed", [f["message"] for f in found[ID]["findings"]][:3]
    assert found[ID]["findings"] == []
    assert found[ID]["tally"]["judged"] == len(_LINES) == found[ID]["tally"]["fed"]
    assert {c: found[c]["status"] for c in CONTENT} == {c: "passed" for c in CONTENT}


def test_correct_export_inside_a_siem_wrapper(tmp_path: Path) -> None:
    """The same export as Elasticsearch hits (each entry under ``_source``, the field_map through it)."""
    docs = [{"_index": "gcp-audit", "_id": f"{i:08x}", "_source": d} for i, d in enumerate(_entries())]
    wrapped = {k: "_source." + v for k, v in FIELD_MAP.items()}
    found = _verify(tmp_path, _write(tmp_path, docs), wrapped)
    assert found[ID]["status"] == "passed" and found[ID]["findings"] == []


@pytest.mark.parametrize("service", [BT, SM])
def test_one_service_cut_to_whole_seconds_is_found_at_its_lines(service: str, tmp_path: Path) -> None:
    """A hop cut every time of one service to whole seconds: reported at that service's lines, the rest rolled up;
    the other service's entries are named nowhere."""

    def cut(_: int, d: dict[str, Any]) -> None:
        if d["protoPayload"]["serviceName"] == service:
            d["timestamp"] = _whole(d["timestamp"])

    found = _verify(tmp_path, _write(tmp_path, _entries(cut)))[ID]
    assert found["status"] == "failed"
    lines = _service_lines(service)
    assert _lines(found)[:3] == lines[:3]
    assert set(_lines(found)) <= set(lines)
    assert sum(f.get("entries") or 1 for f in found["findings"]) == len(lines)
    assert service in found["findings"][0]["message"]


def test_a_stretch_of_one_service_cut_is_found_at_those_lines(tmp_path: Path) -> None:
    """A hop that re-timed part of the log (lines 1001 to 1600): Secret Manager's times there are whole seconds,
    against its own nine digits elsewhere; Bigtable's (whole seconds 1 in 1,000 whatever the hop) are left alone."""
    stretch = range(1001, 1601)

    def cut(line: int, d: dict[str, Any]) -> None:
        if line in stretch and d["protoPayload"]["serviceName"] == SM:
            d["timestamp"] = _whole(d["timestamp"])

    found = _verify(tmp_path, _write(tmp_path, _entries(cut)))[ID]
    assert found["status"] == "failed"
    cut_lines = [n for n in _service_lines(SM) if n in stretch]
    assert len(cut_lines) > 50
    assert _lines(found)[:3] == cut_lines[:3]
    assert set(_lines(found)) <= set(cut_lines)
    assert sum(f.get("entries") or 1 for f in found["findings"]) == len(cut_lines)


def test_a_hop_that_cut_everything_fails(tmp_path: Path) -> None:
    def cut(_: int, d: dict[str, Any]) -> None:
        d["timestamp"] = _whole(d["timestamp"])

    found = _verify(tmp_path, _write(tmp_path, _entries(cut)))[ID]
    assert found["status"] == "failed"
    assert _lines(found) == [1]
    assert "fewer than the 3 required" in found["findings"][0]["message"]


def test_a_few_entries_of_a_service_all_whole_seconds_are_found(tmp_path: Path) -> None:
    """A service with three entries, all on whole seconds: a clock of the three digits timestamp_digits asks for
    leaves that about once in a billion, so they are reported (a service's own best is no excuse below it)."""
    docs = _entries()
    odd = [12, 40, 77]
    for n in odd:
        docs[n - 1]["protoPayload"]["serviceName"] = "iam.googleapis.com"
        docs[n - 1]["timestamp"] = _whole(docs[n - 1]["timestamp"])
    found = _verify(tmp_path, _write(tmp_path, docs))[ID]
    assert found["status"] == "failed"
    assert _lines(found) == odd
    assert "iam.googleapis.com" in found["findings"][0]["message"]


def test_entries_that_name_no_service_are_judged_together_as_before(tmp_path: Path) -> None:
    """Without protoPayload.serviceName nothing tells the clocks apart: the entries are judged together, as a JSON
    lines source always was (Bigtable's three whole seconds against nine digits)."""

    def anonymous(_: int, d: dict[str, Any]) -> None:
        del d["protoPayload"]["serviceName"]

    found = _verify(tmp_path, _write(tmp_path, _entries(anonymous)))[ID]
    assert found["status"] == "failed"
    assert _lines(found) == [n for n, d in enumerate(_entries(), 1) if d["timestamp"][19] == "Z"]


def test_entries_that_name_no_service_beside_named_ones_keep_the_logs_best(tmp_path: Path) -> None:
    """In an export whose other entries name their service, those that name none are still weighed against the
    log's best digits (nine): Bigtable's three whole seconds, their serviceName taken out, are reported as before."""
    whole = [n for n, d in enumerate(_entries(), 1) if d["timestamp"][19] == "Z"]

    def anonymous(line: int, d: dict[str, Any]) -> None:
        if line in whole:
            del d["protoPayload"]["serviceName"]

    found = _verify(tmp_path, _write(tmp_path, _entries(anonymous)))[ID]
    assert found["status"] == "failed"
    assert _lines(found) == whole
    assert "name no service" in found["findings"][0]["message"]


def test_services_past_the_bound_are_judged_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``_SERVICES`` distinct service names (a hostile log of random names), the log is judged as a whole, as
    before: fail closed, and no memory a name."""
    monkeypatch.setattr(tp, "_SERVICES", 1)
    found = _verify(tmp_path, _write(tmp_path, _entries()))[ID]
    assert found["status"] == "failed" and len(_lines(found)) == 3


# -- two processes, each a range of the file, merged: the same verdicts as one ------------------------------------
# (completeness reads JSON lines keyed by request id whole: without it, the file is cut into ranges)
CHECKS = [c for c in offline_checks(BUILTIN) if c.id != "completeness"]


def _norm(results: Sequence[FileResult]) -> list[Any]:
    return [(r.path, r.entries, r.bad_lines, r.accounting(), [o.to_json() for o in r.outcomes]) for r in results]


def _one_and_two(tmp_path: Path, log: Path) -> tuple[list[Any], list[Any]]:
    settings = discover({}, str(_config(tmp_path)), notices=[])
    (parts,) = parallel.plan(parallel.prepare_setup(settings, CHECKS, {}, [str(log)]), [str(log)], 2, BLOCK)
    assert len(parts) > 4  # (read in ranges, merged)
    one = [verify_file(str(log), settings, CHECKS, {}, (str(log),))]
    two = parallel.verify_files(settings, CHECKS, {}, [str(log)], 2, min_bytes=0, range_bytes=BLOCK)
    return _norm(one), _norm(two)


def _precision(norm: list[Any]) -> dict[str, Any]:
    return next(o for o in norm[0][4] if o["check"] == ID)


@pytest.mark.parametrize("case", ["correct", "bigtable-cut", "stretch-cut", "late-service"])
def test_two_jobs_equal_one(case: str, tmp_path: Path) -> None:
    """Ranges of BLOCK bytes: the export is read in about nine, each service's whole seconds and counts in several,
    a service first seen in a later range ("late-service"), merged into the first."""
    docs = _entries()
    if case == "bigtable-cut":
        for d in docs:
            if d["protoPayload"]["serviceName"] == BT:
                d["timestamp"] = _whole(d["timestamp"])
    elif case == "stretch-cut":
        for n, d in enumerate(docs, 1):
            if 1001 <= n <= 1600 and d["protoPayload"]["serviceName"] == SM:
                d["timestamp"] = _whole(d["timestamp"])
    elif case == "late-service":
        for n in (3000, 3100, 3200, 3300):
            docs[n - 1]["protoPayload"]["serviceName"] = "iam.googleapis.com"
            docs[n - 1]["timestamp"] = _whole(docs[n - 1]["timestamp"])
    log = _write(tmp_path, docs)
    assert log.stat().st_size > 4 * BLOCK
    one, two = _one_and_two(tmp_path, log)
    assert one == two
    assert _precision(one)["status"] == ("passed" if case == "correct" else "failed")
