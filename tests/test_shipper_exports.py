"""Shipper and SIEM exports of a real OpenBao audit log (red team rt67): an export of exactly a query tool's default
limit of records never passes (F3); a record holding several entries (a multiline merge) names each finding at the
record's line (F4); AWS CLI text output (F5) and Elastic's HashiCorp Vault integration records (F6) are refused
naming the producer and a fix that works; a bare line cut at Splunk's TRUNCATE names it (F9)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import FileResult, offline_checks, read_canaries, verify_file
from pytest_auditready.errors import AuditReadyError

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "shippers-rt67"
CANARIES = read_canaries(str(ROOT / "canaries.txt"))
CHECKS = offline_checks(BUILTIN)
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _lines(name: str) -> list[bytes]:
    return gzip.decompress((ROOT / name).read_bytes()).rstrip(b"\n").split(b"\n")


def _run(tmp_path: Path, name: str) -> FileResult:
    path = tmp_path / name
    shutil.copyfile(ROOT / name, path)
    path.chmod(0o600)
    return verify_file(str(path), SETTINGS, CHECKS, CANARIES)


def _failed(res: FileResult) -> dict[str, list[str]]:
    return {o.check_id: [f"{f.where} {f.text()}" for f in o.findings] for o in res.outcomes if o.status == FAILED}


def test_an_export_of_logclis_default_limit_never_passes(tmp_path: Path) -> None:
    texts = _failed(_run(tmp_path, "loki_fwd_limit30.jsonl.gz"))["required_fields"]
    assert any(":30 " in t and "exactly 30 records" in t and "--limit" in t for t in texts)


def test_a_request_cut_off_at_an_exports_end_is_no_request_in_flight(tmp_path: Path) -> None:
    """The export ends where the query did: the request whose response lay past logcli's limit is a completeness
    finding at its line, not a request "still in flight when the log ends" (red team rt67 F3)."""
    res = _run(tmp_path, "loki_fwd_limit30.jsonl.gz")
    texts = _failed(res)["completeness"]
    assert any(":30 " in t and "no response entry, in a logcli export" in t for t in texts), texts
    (o,) = [o for o in res.outcomes if o.check_id == "completeness"]
    assert not any("in flight" in rule for rule, _ in o.tally.excused), o.tally


def test_a_whole_logcli_export_gives_no_finding(tmp_path: Path) -> None:
    res = _run(tmp_path, "loki_fwd.jsonl.gz")
    assert _failed(res) == {}
    assert res.stats.export == "logcli"  # the fact completeness reads: the file's end is the query's


@pytest.mark.parametrize(("cap", "wrap", "flag"), [
    (100, lambda line: {"preview": False, "offset": 0, "result": {"_raw": line}}, "-maxout"),
    (10, lambda line: {"_index": "logs", "_id": "1", "_source": {"message": line}}, "size"),
])
def test_other_query_tools_capped_exports_are_findings(tmp_path: Path, cap: int, wrap: object, flag: str) -> None:
    carried = [orjson.loads(r)["line"] for r in _lines("loki_fwd.jsonl.gz")]
    assert callable(wrap)
    path = _write(tmp_path, "export.json", b"\n".join(orjson.dumps(wrap(c)) for c in (carried * 2)[:cap]) + b"\n")
    texts = _failed(verify_file(str(path), SETTINGS, CHECKS, CANARIES))["required_fields"]
    assert any(f"exactly {cap} records" in t and flag in t for t in texts)
    path = _write(tmp_path, "whole.json", b"\n".join(orjson.dumps(wrap(c)) for c in carried) + b"\n")
    assert _failed(verify_file(str(path), SETTINGS, CHECKS, CANARIES)) == {}


def test_a_multiline_merge_keeps_every_finding_at_its_records_line(tmp_path: Path) -> None:
    # records 10 and 11 merged into one (Filebeat multiline); the leaked entry is record 32's
    texts = _failed(_run(tmp_path, "filebeat_multiline_leak.json.gz"))["no_secret_leak"]
    assert [t.split(" ")[0].split(",")[0].rsplit(":", 1)[1] for t in texts if "<canary:2>" in t] == ["32"]


def test_a_multiline_merge_of_whole_entries_gives_no_finding(tmp_path: Path) -> None:
    res = _run(tmp_path, "filebeat_multiline.json.gz")
    assert _failed(res) == {}
    assert res.entries == 67


def test_aws_cli_text_output_is_refused_with_a_fix_that_works(tmp_path: Path) -> None:
    path = tmp_path / "cw_fle.txt.gz"
    shutil.copyfile(ROOT / "cw_fle.txt.gz", path)
    with pytest.raises(AuditReadyError, match="filter-log-events") as err:
        verify_file(str(path), SETTINGS, CHECKS, CANARIES)
    assert "events[].[message]" in str(err.value) and "pretty-printed" not in str(err.value)


def test_elastic_vault_integration_records_are_refused_naming_preserve_original_event(tmp_path: Path) -> None:
    path = tmp_path / "es.ndjson.gz"
    shutil.copyfile(ROOT / "es_vault_integration.ndjson.gz", path)
    with pytest.raises(AuditReadyError, match="HashiCorp Vault integration") as err:
        verify_file(str(path), SETTINGS, CHECKS, CANARIES)
    assert "preserve_original_event" in str(err.value) and "field_map" not in str(err.value)


def test_elastic_vault_integration_with_the_original_kept_is_read(tmp_path: Path) -> None:
    carried = [orjson.loads(r)["line"] for r in _lines("loki_fwd.jsonl.gz")]
    hits = [orjson.loads(r) for r in _lines("es_vault_integration.ndjson.gz")]
    for hit, line in zip(hits, carried):
        hit["_source"]["event"]["original"] = line  # preserve_original_event: true
    path = _write(tmp_path, "es.ndjson", b"\n".join(map(orjson.dumps, hits)) + b"\n")
    assert _failed(verify_file(str(path), SETTINGS, CHECKS, CANARIES)) == {}


def test_a_bare_line_cut_at_splunks_truncate_names_it(tmp_path: Path) -> None:
    texts = _failed(_run(tmp_path, "splunk_trunc_raw.log.gz"))["required_fields"]
    assert any(":42 " in t and "cut at 10000 bytes" in t and "TRUNCATE" in t for t in texts)
