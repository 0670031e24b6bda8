"""A field_map that does not fit the run is a setting to fix, refused in one line (exit 2), never a finding on
every entry (red team rt10, findings 4 and 6):

- generic JSON lines have no path of their own, so a field required_fields lists and field_map does not name would
  read as lacking in every entry;
- a field_map replaces a Kubernetes or CloudTrail log's own paths (README, "Offline formats"), so one written for
  another producer's log, in a run that also reads such a log, would read as every record lacking its fields.

Both ways: a fitting field_map over the same logs reads them, and a record planted without its identity is still a
finding at its line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
TRAIL = ROOT / "cloudtrail" / "real" / "correct.json"
K8S = ROOT / "k8s" / "audit.log"
APP_MAP = ('field_map = {time = "ts", identity = "user", resource = "path", action = "op", result = "status", '
           'source = "ip", request_id = "id"}')


def _app(tmp_path: Path, drop_identity_at: int = -1, user_at: tuple[int, Any] = (-1, None)) -> Path:
    """An application's JSON lines, every field at its own key (``user_at``: a line's user replaced)."""
    lines = []
    for i in range(4):
        rec = {"ts": f"2026-12-01T10:00:0{i}.123Z", "user": "alice", "path": "kv/app/db", "op": "read",
               "status": "ok", "ip": "10.0.0.1", "id": f"req-{i}"}
        if i == drop_identity_at:
            del rec["user"]
        if i == user_at[0]:
            rec["user"] = user_at[1]
        lines.append(json.dumps(rec))
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _config(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
                    "retention_online_days = 0\n" + "\n".join(lines) + "\n")
    return path


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    dst.chmod(0o600)
    return dst


def test_a_jsonl_field_map_without_required_fields_is_refused(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Mapping only time gave a required_fields finding on every entry ("lacks who (no field_map entry)..."): the
    settings name no path for them, which is said once, with both ways out."""
    config = _config(tmp_path, 'log_format = "jsonl"', 'field_map = {time = "ts"}')
    code, out, err = _verify(capsys, str(_app(tmp_path)), "--config", str(config))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "field_map names no path for identity, resource, action, result, source, request_id" in err
    assert "required_fields" in err and "fix:" in err


def test_a_jsonl_field_map_for_the_fields_required_reads_the_log(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The same map with required_fields cut down to what it names is read, and judged on that field alone."""
    config = _config(tmp_path, 'log_format = "jsonl"', 'field_map = {time = "ts"}', 'required_fields = ["time"]')
    code, out, _ = _verify(capsys, str(_app(tmp_path, drop_identity_at=1)), "--config", str(config))
    assert "PASS required_fields" in out and "PASS timestamp_precision" in out
    assert code == 0


def test_a_full_jsonl_field_map_still_finds_an_entry_without_its_identity(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, 'log_format = "jsonl"', APP_MAP)
    code, out, _ = _verify(capsys, str(_app(tmp_path, drop_identity_at=2)), "--config", str(config))
    assert code == 1
    assert "FAIL required_fields" in out and re.search(r"app\.jsonl:3, request id req-2\] The entry lacks who \(user\)", out)
    assert out.count("The entry lacks") == 1


@pytest.mark.parametrize(("held", "what"), [(["alice", "bob"], "an array of 2 values"),
                                             ({"name": "alice"}, "an object of 1 key")])
def test_a_mapped_field_holding_an_array_or_object_is_named_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              held: Any, what: str) -> None:
    """The field is there but holds no one value: said so at its line, with a fix for the mapping (it was "The entry
    lacks who (user)", which sends an auditor to the producer: red team rt44 F4). The other lines pass."""
    config = _config(tmp_path, 'log_format = "jsonl"', APP_MAP)
    code, out, _ = _verify(capsys, str(_app(tmp_path, user_at=(1, held))), "--config", str(config))
    assert code == 1 and "FAIL required_fields" in out and "lacks" not in out
    assert re.search(rf"app\.jsonl:2\] Line 2 of \S+ is not a readable audit entry: its identity \(user\) holds "
                     rf"{what}, not one value that field_map can read\. Fix: map the field in field_map to a path", out)
    assert out.count("not a readable audit entry") == 1


@pytest.mark.parametrize(("fixture", "title"), [(TRAIL, "an AWS CloudTrail log file"), (K8S, "a Kubernetes audit log")])
def test_another_producers_field_map_over_a_told_format_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   fixture: Path, title: str) -> None:
    """log_format "auto" with a field_map written for an application's JSON lines: a CloudTrail or Kubernetes log in
    the same run had its own paths replaced by the application's, a finding on every record. It is refused, naming
    the file and the paths it does not have."""
    log = _copy(fixture, tmp_path / fixture.name)
    config = _config(tmp_path, APP_MAP)
    code, out, err = _verify(capsys, str(_app(tmp_path)), str(log), "--config", str(config))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f"{log} is {title}, and none of its first" in err
    assert 'request_id = "id"' in err and "applies to every file of a run" in err


@pytest.mark.parametrize(("fixture", "mapping"), [(TRAIL, 'field_map = {request_id = "eventID"}'),
                                                  (K8S, 'field_map = {identity = "user.username"}')])
def test_a_field_map_that_fits_a_told_format_still_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             fixture: Path, mapping: str) -> None:
    """A field_map whose paths the log has overrides its format's as documented: the correct log is clean, and a
    record with that identity removed is a finding at its line."""
    log = _copy(fixture, tmp_path / fixture.name)
    config = _config(tmp_path, mapping, "timestamp_digits = 0")  # CloudTrail writes whole seconds
    code, out, _ = _verify(capsys, str(log), "--config", str(config))
    assert "PASS required_fields" in out, out

    text = log.read_text()
    if fixture is TRAIL:
        doc = json.loads(text)
        del doc["Records"][1]["eventID"]
        log.write_text(json.dumps(doc))
    else:
        events = [json.loads(line) for line in text.splitlines()]
        del events[1]["user"]["username"]
        log.write_text("".join(json.dumps(e) + "\n" for e in events))
    code, out, _ = _verify(capsys, str(log), "--config", str(config))
    assert code == 1 and "FAIL required_fields" in out
    assert re.findall(r"\[[^\]]*?:(\d+)(?:, [^\]]*)?\] The \w+ entry lacks", out) == ["2"], out
