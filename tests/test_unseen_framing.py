"""Audit logs as shippers, SIEMs and exports hand them over (``fixtures/framing``, built by its ``build.py`` from
recorded OpenBao and Kubernetes lines): each is either read as the producer's own log (the same findings, at the same
lines) or refused in one line that names the tool and the way out (exit 2), never judged as the producer's log.

- Read (``auditlog.container``'s ``shipper`` framing): a record a line whose string field holds the line as read:
  Filebeat/Elastic Agent and Logstash (``message``, ECS ``event.original``), Elasticsearch documents (``_source``),
  Vector (``message``), Fluent Bit (``log``), a Splunk export (``result._raw``), ``logcli --output=jsonl``
  (``line``); ``journalctl -o json-seq`` (the journal framing after RFC 7464's separator); RFC 6587 octet counts
  before syslog messages one a line (``auditlog.syslog``). A line the shipper cut at its limit is a finding that
  names the limit.
- Refused (``auditlog.detect``): the lines inside one JSON document (CloudWatch Logs get-log-events and subscription
  data, Loki, Datadog, Elasticsearch and Splunk search answers), tools' own line formats (journalctl -o export,
  logcli's default output, Fluentd's and Fluent Bit's out_file, [time, record] arrays, Splunk CSV, objects with no
  newline between, an octet-counted stream), archives and compressions not read (zip, zstd, tar, Snappy, gzip inside
  gzip), binary data; entries a shipper's parser took the time out of; an export newest first; entries nested under
  a shipper's key.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.auditlog.source import LogBatch
from pytest_auditready.auditlog.sources import CommandLogSource
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import FileResult, offline_checks, read_canaries, verify_file
from pytest_auditready.errors import AuditReadyError
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
FRAMING = ROOT / "framing"
CANARIES = read_canaries(str(ROOT / "openbao" / "canaries.txt"))
CHECKS = offline_checks(BUILTIN)
CONTENT = ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "integrity_digest",
           "data_minimisation")


def _build() -> Any:
    return load_script(FRAMING / "build.py", "framing_build")


BUILD = _build()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _result(path: Path, **settings: Any) -> FileResult:
    return verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, **settings), CHECKS,
                       CANARIES)


def _findings(res: FileResult) -> dict[str, list[str]]:
    return {o.check_id: [f.where for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def _lines_of(wheres: list[str]) -> list[int]:
    return sorted({int(w.rsplit(":", 1)[1]) for w in wheres})


def _refusal(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``auditready verify`` says of ``path``: exit 2, one line."""
    assert main(["verify", "--jobs", "1", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err.replace(str(path), "FILE")  # what it says, not the name it was given


def test_the_fixtures_are_current() -> None:
    for name, data in BUILD.build().items():
        assert (FRAMING / name).read_bytes() == data, f"fixtures/framing/{name}: run python fixtures/framing/build.py"


# -- read as the producer's own log ---------------------------------------------------------------------------
SOURCES = {"openbao": ("openbao/odd/correct.log", "openbao/odd/leaky.log"),
           "k8s": ("k8s/real/correct.log", "k8s/real/leaky.log")}
FRAMED_AS = {"journal_seq": "journal", "octet_counted": None}
# openbao/odd/leaky.log's log_raw lines (4: response.auth.client_token, 6: wrap_info.token in clear) are also entries
# no digest of which can be verified (integrity_digest), wherever a shipper put them.
RAW_AT = {"openbao": {"integrity_digest": [4, 6]}}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("wrapper", BUILD.WRAPPERS)
def test_a_correct_log_through_a_shipper_gives_no_finding(tmp_path: Path, wrapper: str, source: str) -> None:
    lines = (ROOT / SOURCES[source][0]).read_text().splitlines()
    res = _result(_write(tmp_path, "shipped.log", BUILD.WRAPPERS[wrapper](lines)))
    assert _findings(res) == {}
    assert (res.entries, res.bad_lines) == (len(lines), 0)  # every entry read, each at its own line
    assert res.accounting().get("framing") == FRAMED_AS.get(wrapper, "shipper")


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("wrapper", BUILD.WRAPPERS)
def test_every_planted_secret_through_a_shipper_is_found_at_its_line(tmp_path: Path, wrapper: str,
                                                                    source: str) -> None:
    lines = (ROOT / SOURCES[source][1]).read_text().splitlines()
    plain = _findings(_result(_write(tmp_path, "plain.log", "".join(ln + "\n" for ln in lines).encode())))
    shipped = _findings(_result(_write(tmp_path, "shipped.log", BUILD.WRAPPERS[wrapper](lines))))
    assert set(shipped) == set(plain) == {"no_secret_leak", *RAW_AT.get(source, {})}
    assert _lines_of(shipped["no_secret_leak"]) == _lines_of(plain["no_secret_leak"]) == list(range(1, len(lines) + 1))
    for check, at in RAW_AT.get(source, {}).items():
        assert _lines_of(shipped[check]) == _lines_of(plain[check]) == at


@pytest.mark.parametrize("name, leaky", [("filebeat.ndjson", False), ("filebeat-leaky.ndjson", True),
                                         ("elasticsearch.ndjson", False), ("elasticsearch-leaky.ndjson", True),
                                         ("splunk-export.json", True), ("fluent-bit.jsonl", False),
                                         ("octet-counted.log", True), ("journal.json-seq", False)])
def test_the_stored_shipper_fixtures_read_as_their_producers_logs(tmp_path: Path, name: str, leaky: bool) -> None:
    path = _write(tmp_path, name, (FRAMING / name).read_bytes())
    res = _result(path)
    found = _findings(res)
    if leaky:
        raw = {} if name.startswith("elasticsearch") else RAW_AT["openbao"]  # from k8s/real: no digests to judge
        assert set(found) == {"no_secret_leak", *raw} and _lines_of(found["no_secret_leak"]) == list(range(1, res.stats.lines + 1))
        assert all(_lines_of(found[c]) == at for c, at in raw.items())
    else:
        assert found == {}
    assert res.entries == res.stats.lines and res.bad_lines == 0


def test_a_gzip_compressed_shipper_file_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "filebeat.ndjson.gz", gzip.compress((FRAMING / "filebeat.ndjson").read_bytes()))
    res = _result(path)
    assert _findings(res) == {} and res.entries == 55


def test_a_line_the_shipper_cut_is_a_finding_naming_its_limit(tmp_path: Path) -> None:
    """Splunk keeps the first 10000 bytes of an event by default (props.conf TRUNCATE): the cut entry is a finding
    at its line that names the setting; the lines around it are read."""
    lines = (ROOT / "openbao/odd/correct.log").read_text().splitlines()
    records = [json.loads(r) for r in BUILD.splunk(lines).splitlines()]
    longest = max(range(len(lines)), key=lambda i: len(lines[i]))
    records[longest]["result"]["_raw"] = lines[longest][:1000]
    res = _result(_write(tmp_path, "export.json", b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    bad = [f for o in res.outcomes if o.check_id == "required_fields" for f in o.findings]
    assert [f.where.rsplit(":", 1)[1] for f in bad] == [str(longest + 1)]
    assert "TRUNCATE" in bad[0].text() and "1000 bytes" in bad[0].text()
    assert res.entries == len(lines) - 1


def test_a_container_collectors_server_log_records_are_left_out(tmp_path: Path) -> None:
    """A collector tailing a container's log keeps the stream: the vault's server log (stderr) is left out and
    counted, as for Docker's own files."""
    lines = (ROOT / "openbao/odd/correct.log").read_text().splitlines()
    records = []
    for i, ln in enumerate(lines):
        if i % 5 == 0:
            records.append({"date": 1795341600.5 + i, "stream": "stderr",
                            "log": "2026-11-22T10:00:00.000Z [INFO]  core: successful mount: path=secret/\n"})
        records.append({"date": 1795341600.5 + i, "stream": "stdout", "log": ln + "\n"})
    res = _result(_write(tmp_path, "collected.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    assert _findings(res) == {} and res.entries == len(lines)
    assert res.accounting()["left_out"] == len(range(0, len(lines), 5))


def test_json_lines_whose_message_is_text_stay_json_lines(tmp_path: Path) -> None:
    """A field_map log of another producer with a ``message`` field is no shipper's record: read as it is."""
    rows = [{"ts": "2026-11-22T10:00:%02d.123Z" % i, "user": "alice", "path": "secret/app", "op": "read",
             "status": "success", "ip": "192.0.2.10", "id": "req-%d" % i, "message": "read secret/app"}
            for i in range(6)]
    path = _write(tmp_path, "app.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    field_map = {"time": "ts", "identity": "user", "resource": "path", "action": "op", "result": "status",
                 "source": "ip", "request_id": "id"}
    res = _result(path, log_format="jsonl", field_map=tuple(field_map.items()))
    assert res.entries == 6 and "framing" not in res.accounting()


def test_a_command_printing_a_shippers_records_is_read_live(tmp_path: Path) -> None:
    """The live source (log_command: a SIEM's client) takes the same framing off."""
    path = _write(tmp_path, "filebeat.ndjson", (FRAMING / "filebeat.ndjson").read_bytes())
    src = CommandLogSource(f"cat {shlex.quote(str(path))}")
    src.mark()
    batch = LogBatch()
    deadline = time.monotonic() + 10
    try:
        while len(batch.entries) + len(batch.bad_lines) < 55:
            assert time.monotonic() < deadline, f"read {len(batch.entries)} of 55 lines in 10 s"
            src.poll(batch)
            time.sleep(0.02)
    finally:
        src.close()
    lines = (ROOT / "openbao/odd/correct.log").read_text().splitlines()
    assert [e.raw for e in batch.entries] == lines and not batch.bad_lines


# -- refused in one line that names the tool and the way out ----------------------------------------------------
REFUSED = {
    "cloudwatch-get-log-events.json": "get-log-events",
    "firehose-cloudwatch.gz": "subscription",
    "firehose-concatenated.json": "no newline between",
    "journal-export.txt": "-o export",
    "splunk.csv": "CSV whose column \"_raw\"",
    "logcli-default.txt": "logcli's default output",
    "fluentd-out_file.log": "Fluentd's out_file",
    "fluent-bit-parsed.log": "Time_Keep",
    "newest-first.log": "newest first",
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_stored_wrapping_that_is_not_read_is_refused_naming_the_tool(tmp_path: Path, name: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    err = _refusal(_write(tmp_path, name, (FRAMING / name).read_bytes()), capsys)
    assert REFUSED[name] in err and "; fix: " in err


def _lines() -> list[str]:
    return (ROOT / "openbao/odd/correct.log").read_text().splitlines()


def _doc(obj: Any, indent: Any = None) -> bytes:
    return json.dumps(obj, indent=indent).encode() + b"\n"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("audit.log", "".join(ln + "\n" for ln in _lines()))
    return buf.getvalue()


def _tar() -> bytes:
    buf = io.BytesIO()
    data = (ROOT / "openbao/odd/correct.log").read_bytes()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("audit.log")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


BUILT: dict[str, tuple[Callable[[], bytes], str]] = {
    "filter-log-events": (lambda: _doc({"events": [{"logStreamName": "bao-0", "timestamp": 1, "message": ln,
                                                     "ingestionTime": 2, "eventId": "3%d" % i}
                                                    for i, ln in enumerate(_lines())], "searchedLogStreams": []}, 2),
                          "filter-log-events"),
    "lambda-awslogs": (lambda: BUILD.lambda_event(_lines()), "awslogs.data"),
    "loki-api": (lambda: _doc({"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": {"job": "openbao"}, "values": [["1795341600%09d" % i, ln] for i, ln in enumerate(_lines())]}]}}),
                 "Loki query API"),
    "datadog-api": (lambda: _doc({"data": [{"id": "AQ%d" % i, "type": "log", "attributes": {
        "timestamp": "2026-11-22T10:00:00Z", "service": "openbao", "message": ln}} for i, ln in enumerate(_lines())]}),
                    "Datadog Logs API"),
    "es-search": (lambda: _doc({"took": 3, "timed_out": False, "hits": {"hits": [
        {"_index": "logs", "_id": str(i), "_source": {"message": ln}} for i, ln in enumerate(_lines())]}}),
                  "search answer"),
    "fluent-bit-out_file": (lambda: BUILD.fluent_bit_out_file(_lines()), "Fluent Bit's out_file"),
    "forward-arrays": (lambda: b"".join(b"[%d, " % (1795341600 + i) + ln.encode() + b"]\n"
                                        for i, ln in enumerate(_lines())), "[time, record] arrays"),
    "octet-stream": (lambda: b"".join(ln for ln in BUILD.octet_counted(_lines()).splitlines()), "RFC 6587"),
    "zip": (_zip, "ZIP archive"),
    "tar": (_tar, "tar archive"),
    "zstd": (lambda: b"\x28\xb5\x2f\xfd" + os.urandom(64), "zstd"),
    "snappy": (lambda: b"\xff\x06\x00\x00sNaPpY" + os.urandom(64), "Snappy"),
    "gzip-in-gzip": (lambda: gzip.compress(gzip.compress((ROOT / "openbao/odd/correct.log").read_bytes())),
                     "compressed twice"),
    "binary": (lambda: bytes(range(256)) * 8, "binary data"),
    "filebeat-json-target": (lambda: b"".join(json.dumps({"@timestamp": "2026-11-22T10:00:00Z", "json": json.loads(ln),
                                                          "host": {"name": "bao-0"}}).encode() + b"\n"
                                              for ln in _lines()), "under the key \"json\""),
}


@pytest.mark.parametrize("name", BUILT)
def test_a_wrapping_that_is_not_read_is_refused_naming_the_tool(tmp_path: Path, name: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    make, said = BUILT[name]
    err = _refusal(_write(tmp_path, name + (".gz" if name == "gzip-in-gzip" else ".log"), make()), capsys)
    assert said in err and "; fix: " in err


def test_entries_a_shippers_parser_took_the_time_from_are_refused_not_blamed_on_the_vault(tmp_path: Path) -> None:
    path = _write(tmp_path, "parsed.log", (FRAMING / "fluent-bit-parsed.log").read_bytes())
    with pytest.raises(AuditReadyError, match="keep_time_key"):
        _result(path)


def test_an_export_newest_first_is_refused_and_a_writers_own_reordering_is_not(tmp_path: Path) -> None:
    with pytest.raises(AuditReadyError, match="newest first"):
        _result(_write(tmp_path, "newest-first.log", (FRAMING / "newest-first.log").read_bytes()))
    # Concurrent requests make a vault write some entries after later ones: still its own order, read and judged.
    lines = _lines()
    for i in range(2, 40, 6):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    res = _result(_write(tmp_path, "concurrent.log", "".join(ln + "\n" for ln in lines).encode()))
    assert res.entries == len(lines)


def test_utf16_without_a_byte_order_mark_names_the_order_iconv_needs(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Without a byte-order mark iconv cannot tell the order: the fix names it, and the command it gives works."""
    text = (ROOT / "openbao/odd/correct.log").read_text()
    for encoding, said in (("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"), ("utf-32-be", "UTF-32BE")):
        path = _write(tmp_path, f"export-{encoding}.log", text.encode(encoding))
        err = _refusal(path, capsys)
        assert f"iconv -f {said} -t UTF-8 FILE" in err
        if shutil.which("iconv"):
            out = subprocess.run(["iconv", "-f", said, "-t", "UTF-8", str(path)], capture_output=True, timeout=30,
                                 check=True).stdout
            assert out.decode() == text


def test_the_cli_reads_a_shippers_file_with_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "filebeat.ndjson", (FRAMING / "filebeat.ndjson").read_bytes())
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    out = tmp_path / "out.json"
    assert main(["verify", "--jobs", "1", str(path), "--config", str(config), "--json", str(out)]) == 0
    said = json.loads(out.read_text())["files"][0]
    assert (said["format"], said["framing"], said["entries"], said["unreadable_lines"]) == ("vault", "shipper", 55, 0)
    capsys.readouterr()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))


# -- a line the checks cannot read names its cause, on both readers ------------------------------------------------
@pytest.mark.parametrize(("damage", "cause"), [
    (lambda a, b: a + b, "JSON objects one after another on one line, no newline between"),
    (lambda a, b: b"\x00" * 40 + a, "40 zero bytes before the entry"),
    (lambda a, b: b"\x00" * 40 + b"\n" + b, "40 zero bytes for a line"),  # the hole ends in a newline: its own line
])
def test_a_damaged_line_names_its_cause_on_both_readers(tmp_path: Path, damage: Callable[[bytes, bytes], bytes],
                                                       cause: str) -> None:
    """Records a shipper concatenated (Firehose without a newline delimiter), and zero bytes a crash left before an
    entry: each is a finding at its line saying so (it said "malformed JSON (trailing characters)" and "a device
    prefix? set log_prefix"), the same from the column reader and the line-by-line parser."""
    from pytest_auditready.auditlog.model import BadLine
    from pytest_auditready.auditlog.vault_json import parse_line
    from pytest_auditready.offline.reader import vault_parser

    lines = (ROOT / "openbao" / "odd" / "correct.log").read_bytes().splitlines()
    mid = len(lines) // 2
    bad = damage(lines[mid], lines[mid + 1])
    kept = [*lines[:mid], bad, *lines[mid + 2:]]
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(kept) + b"\n")
    log.chmod(0o600)
    res = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, {})
    (fields,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    assert [(f.where, cause in f.message) for f in fields.findings] == [(f"{log}:{mid + 1}", True)]
    first = bad.split(b"\n")[0]
    for parsed in (parse_line(str(log), mid + 1, first), vault_parser(str(log))(mid + 1, first)):
        assert isinstance(parsed, BadLine) and parsed.reason.startswith(cause)


def _aks(event: dict[str, Any], parsed: bool = False) -> bytes:
    """One record as Azure Monitor's diagnostic setting writes an AKS cluster's API server audit events to a storage
    account (insights-logs-kube-audit: one JSON record a line, the event as a string in properties.log), or, as a
    shipper that parsed it hands it on (Elastic's AKS test records), the event as an object there."""
    return json.dumps({"time": event.get("stageTimestamp"), "category": "kube-audit",
                       "resourceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/"
                                     "MANAGEDCLUSTERS/C1",
                       "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
                       "properties": {"log": event if parsed else json.dumps(event), "stream": "stdout",
                                      "pod": "kube-apiserver-7d9c8f-abcde"}}).encode()


@pytest.mark.parametrize("parsed", [False, True], ids=["string", "object"])
def test_an_aks_diagnostic_export_reads_the_events_it_carries(tmp_path: Path, parsed: bool) -> None:
    """Refused before as JSON lines of no known format (with a field_map hint that did not fit): read as the
    Kubernetes events it carries, with no finding; an event without its level is found at its record's line. The
    event as a string, as Azure writes it, or as an object, as a shipper that parsed it writes it."""
    src = Path(__file__).resolve().parents[1] / "fixtures" / "k8s" / "unseen" / "correct.log"
    events = [json.loads(ln) for ln in src.read_text().splitlines()]
    log = tmp_path / "PT1H.json"
    log.write_bytes(b"\n".join(_aks(e, parsed) for e in events) + b"\n")
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    out = tmp_path / "r.json"
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["files"][0]["format"] == "k8s" and doc["files"][0]["entries"] == len(events)
    del events[3]["level"]
    log.write_bytes(b"\n".join(_aks(e, parsed) for e in events) + b"\n")
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out)]) == 1
    found = [f["where"] for o in json.loads(out.read_text())["outcomes"] for f in o["findings"]]
    assert found and all(w.startswith(f"{log}:4") for w in found), found


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hole_longer_than_a_line_may_be_is_named_as_a_hole(tmp_path: Path, jobs: int,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A zero run of 17 MiB before an entry (a sparse hole a writer without O_APPEND leaves after a copytruncate)
    was a line over the limit whose fix said to lower the vault's max_request_size (red team rt53 F8): it is named as
    the hole it is, with the truncation as the fix, at its line, by both readers."""
    from pytest_auditready.auditlog.lines import MAX_LINE_BYTES
    from pytest_auditready.cli import main

    lines = (ROOT / "openbao" / "odd" / "correct.log").read_bytes().splitlines()
    mid = len(lines) // 2
    log = tmp_path / "audit.log"
    with open(log, "wb") as f:
        f.write(b"\n".join(lines[:mid]) + b"\n")
        f.seek(MAX_LINE_BYTES + 4096, os.SEEK_CUR)  # a hole: zero bytes, next to no space on disk
        f.write(b"\n".join(lines[mid:]) + b"\n")
    log.chmod(0o600)
    (tmp_path / "cfg.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    capsys.readouterr()
    main(["verify", "--config", str(tmp_path / "cfg.toml"), "--jobs", str(jobs), "--json", str(tmp_path / "r.json"),
          str(log)])
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    (fields,) = [o for o in doc["outcomes"] if o["check"] == "required_fields"]
    (hole,) = [f for f in fields["findings"] if f["where"] == f"{log}:{mid + 1}"]
    assert "zero bytes, space the file system kept for data never written" in hole["message"], hole
    assert "copytruncate" in hole["fix"] and "max_request_size" not in hole["fix"], hole
