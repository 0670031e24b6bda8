"""A record written twice in generic JSON lines (red team rt100 F2). Completeness skipped such a log (one record an
event, no request/response pairs), so an event written again with other content (its identity, its result changed)
passed with exit 0. With a request id mapped, a record is now keyed as CloudTrail's are: the same request id, time
and action again with the same record is a delivery repeated (Okta's System Log polled over overlapping windows, a
Pub/Sub or EventBridge retry), excused and counted; with other content it is a finding at the second naming the
first, in one file, across a rotated set's files, and alike with --jobs 2. The bases are the producers' documented
records (fixtures/jsonl/unseen)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks.completeness import NO_KEY, REDELIVERED
from pytest_auditready.cli import main
from tests.test_unseen_jsonl import PRODUCERS, RFC3339, _config, _get, _log, _rows, _set, _write


def _outcomes(tmp_path: Path, producer: str, paths: list[Path], *args: str) -> tuple[int, list[dict[str, Any]]]:
    """The exit code of `auditready verify PATHS ARGS` and its completeness outcomes (one a file)."""
    out = tmp_path / "out.json"
    rc = main(["verify", *map(str, paths), "--config", str(_config(tmp_path, producer)), "--json", str(out), *args])
    return rc, [o for o in json.loads(out.read_text())["outcomes"] if o["check"] == "completeness"]


def _completeness(tmp_path: Path, producer: str, paths: list[Path], *args: str) -> tuple[int, dict[str, Any]]:
    rc, (outcome,) = _outcomes(tmp_path, producer, paths, *args)
    return rc, outcome


def _altered(row: dict[str, Any], producer: str) -> dict[str, Any]:
    """``row`` with its identity changed (or, where it has none, its result)."""
    row = copy.deepcopy(row)
    fields = PRODUCERS[producer][1]
    path = fields["identity"] if _get(row, fields["identity"]) is not None else fields["result"]
    _set(row, path, "mallory@example.net")
    return row


@pytest.mark.parametrize("producer", RFC3339)
def test_a_record_written_again_with_other_content_is_a_finding_at_its_line(tmp_path: Path, producer: str,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(producer)
    path = _log(tmp_path, producer, [*rows[:2], _altered(rows[1], producer), *rows[2:]])
    rc, outcome = _completeness(tmp_path, producer, [path])
    assert rc == 1 and outcome["status"] == "failed", outcome
    (finding,) = outcome["findings"]
    assert finding["where"] == f"{path}:3" and f"({path}:2)" in finding["message"], finding
    rid = _get(rows[1], PRODUCERS[producer][1]["request_id"])  # (shown masked where it reads as a secret)
    assert finding["request_id"] == rid or finding["request_id"].startswith("<"), finding


@pytest.mark.parametrize("producer", RFC3339)
def test_a_record_delivered_again_unchanged_is_excused_and_counted(tmp_path: Path, producer: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(producer)
    path = _log(tmp_path, producer, [*rows[:2], copy.deepcopy(rows[1]), *rows[2:]])
    rc, outcome = _completeness(tmp_path, producer, [path])
    assert rc == 0 and outcome["status"] == "skipped" and not outcome["findings"], outcome
    assert "no record repeats the request id, time and action of another with other content" in outcome["reason"]
    assert {"rule": REDELIVERED["jsonl"], "entries": 1} in [
        {k: e[k] for k in ("rule", "entries")} for e in outcome["tally"]["excused"]], outcome["tally"]


@pytest.mark.parametrize("producer", RFC3339)
def test_a_correct_log_is_judged_for_repeats_and_passes(tmp_path: Path, producer: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    rc, outcome = _completeness(tmp_path, producer, [_log(tmp_path, producer, _rows(producer))])
    assert rc == 0 and outcome["status"] == "skipped" and not outcome["findings"], outcome
    assert "no record repeats the request id" in outcome["reason"] and not outcome["tally"]["excused"], outcome


def test_across_a_rotated_set_and_with_two_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The older file's record written again with other content at the start of the newer file: a finding there
    naming the first, with --jobs 1 and 2 alike; written again unchanged, excused."""
    producer = "okta-systemlog"
    rows = _rows(producer)
    older = tmp_path / "okta.jsonl.1"
    newer = tmp_path / "okta.jsonl"
    for again, want in ((_altered(rows[2], producer), 1), (copy.deepcopy(rows[2]), 0)):
        for path, part in ((older, rows[:3]), (newer, [again, *rows[3:]])):
            _write(tmp_path, path.name, "".join(json.dumps(r) + "\n" for r in part))
        said = [_outcomes(tmp_path, producer, [newer, older], "--jobs", jobs) for jobs in ("1", "2")]
        assert said[0] == said[1]
        rc, outcomes = said[0]
        findings = [f for o in outcomes for f in o["findings"]]
        assert rc == want, outcomes
        if want:  # (the set's finding is said by the file that judges the set)
            (finding,) = findings
            assert finding["where"] == f"{newer}:1" and f"({older}:3)" in finding["message"], finding
        else:
            assert not findings and any(REDELIVERED["jsonl"] == e["rule"] for o in outcomes
                                        for e in o["tally"]["excused"]), outcomes


@pytest.mark.parametrize("keyed", [True, False])
def test_a_keyed_file_is_read_by_one_process_not_cut_and_read_again(tmp_path: Path, keyed: bool) -> None:
    """Cut into ranges, a file whose records are remembered by key is read again whole (the ranges' merge declines):
    with --jobs 2 a 124 MB Okta log took 79 s where one pass took 52. So it is not cut; without a request id mapped
    it still is."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import discover
    from pytest_auditready.engine import parallel
    from pytest_auditready.engine.files import offline_checks

    producer = "okta-systemlog"
    rows = _rows(producer)
    path = _log(tmp_path, producer, rows * 2000)
    cfg = _config(tmp_path, producer)
    if not keyed:
        cfg.write_text(cfg.read_text().replace(', request_id = "uuid"', "")
                       + 'required_fields = ["time", "identity", "resource", "action", "result", "source"]\n')
    settings = discover({}, str(cfg), notices=[])
    setup = parallel.prepare_setup(settings, offline_checks(BUILTIN), {}, [str(path)])
    (parts,) = parallel.plan(setup, [str(path)], 2, 1 << 20)
    assert (len(parts) == 1) is keyed, (len(parts), path.stat().st_size)


def test_a_record_without_a_request_id_is_excused_not_counted_judged(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A record the key cannot be made of (no request id) was compared with nothing: the tally says so under its own
    rule (NO_KEY), as a Kubernetes event's; required_fields names it."""
    producer = "okta-systemlog"
    rows = _rows(producer)
    rows[1].pop("uuid")
    rc, outcome = _completeness(tmp_path, producer, [_log(tmp_path, producer, rows)])
    assert rc == 1 and not outcome["findings"], outcome  # (required_fields fails the run)
    assert [e["entries"] for e in outcome["tally"]["excused"] if e["rule"] == NO_KEY] == [1], outcome["tally"]


def test_github_s_records_hold_no_repeat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GitHub's audit stream (its times are epoch milliseconds, which the time checks refuse): no record of a
    correct log reads as a repeat."""
    producer = "github-audit-stream"
    _rc, outcome = _completeness(tmp_path, producer, [_log(tmp_path, producer, _rows(producer))])
    assert outcome["status"] == "skipped" and not outcome["findings"] and not outcome["tally"]["excused"], outcome
