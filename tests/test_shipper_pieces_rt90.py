"""A shipper's records of a container's standard output, and cloud exports, as their producers document them (red team
rt90 F3 to F6).

- A container runtime splits a line over 16 KiB (containerd's max_container_log_line_size; Docker json-file's 16 KiB
  buffer) into pieces. Fluent Bit's documented ``cri`` parser (docs.fluentbit.io, Kubernetes, "Container Runtime
  Interface (CRI) parser": time, stream, logtag, message) keeps each piece a record with its tag P or F, some
  configurations name the last group ``log``, and the multiline ``cri`` parser keeps a piece it did not merge with
  ``_p`` (and a line it merged with its first piece's ``_p``, P); Docker's json-file record keeps a piece's ``log``
  without the final "\\n" however a shipper orders its keys.
  Those records hold every byte of the entry: joined, they are judged as the entry unsplit. A piece that is missing
  is a finding at its line, and a line the shipper cut at its own limit is still named as such (F3).
- Google Cloud Logging's LogEntry (cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry; a sink to Cloud
  Storage, or gcloud logging read --format=json through jq -c '.[]') keeps a line not parsed as JSON in
  ``textPayload``, or in ``jsonPayload.message``: read (F4). A structured line is parsed into ``jsonPayload``, its
  ``time`` taken out into the LogEntry's ``timestamp`` by Google's agent: refused with a fix that puts it back (F5).
- A CloudWatch Logs subscription payload, base64 of gzip one a line (a Lambda function's awslogs.data), is refused
  naming it, with the command that gets the entries out (F6).

The entries are a real OpenBao server's (fixtures/openbao/clean.log); two request/response pairs are made longer than
16 KiB the way a KV write of a secret with many keys makes them (OpenBao writes each key in clear and each value as
its HMAC), one of them longer than 32 KiB, so that it is split into three pieces.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.cli import main
from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LINES = [ln for ln in (FIXTURES / "openbao" / "clean.log").read_text().splitlines() if ln.strip()]
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
PIECE = 16384  # containerd's max_container_log_line_size, and Docker's split, by default
BIG = {17: 300, 18: 300, 29: 400, 30: 400}  # entry index (a KV write's request and response) -> keys in its secret
THREE = 29  # the request split into three pieces
SERVER_LOG = "2026-11-22T19:15:59.531Z [INFO]  core: successful mount: namespace=\"\" path=secret/ type=kv"
POD = {"pod_name": "openbao-0", "namespace_name": "openbao", "pod_id": "5b1c7e2a-3f4d-4a8e-9c6b-2d7f1e0a9b3c",
       "container_name": "openbao", "host": "node-1",
       "docker_id": "4f7d0c1e9a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5",
       "container_image": "quay.io/openbao/openbao:2.7.2"}
Record = dict[str, Any]
KEYS = ("db_host", "db_password", "api_key", "smtp_relay_password", "tls_client_key_pem", "oauth_client_secret",
        "s3_secret_access_key", "ldap_bind_dn", "feature_flags")


def _secret(keys: int) -> dict[str, str]:
    """A secret's data as OpenBao's audit device writes it: each key in clear, each value as its HMAC."""
    return {f"{KEYS[k % len(KEYS)]}_{k // len(KEYS)}": "hmac-sha256:" + hashlib.sha256(f"v{k}".encode()).hexdigest()
            for k in range(keys)}


def _entries() -> list[str]:
    out = []
    for i, line in enumerate(LINES):
        if i in BIG:
            entry = json.loads(line)
            entry["request"]["data"]["data"] = _secret(BIG[i])
            line = json.dumps(entry, separators=(",", ":"))
        out.append(line)
    return out


ENTRIES = _entries()


def _pieces(line: str) -> list[str]:
    """``line`` as the runtime splits it: 16 KiB pieces (of bytes; the entries are ASCII)."""
    data = line.encode()
    return [data[i:i + PIECE].decode() for i in range(0, len(data), PIECE)]


def fluent_bit_cri(entries: list[str], tag: str = "logtag", key: str = "message") -> list[tuple[int, Record]]:
    """Fluent Bit's cri parser's records, one a piece (the regex's groups time, stream, logtag and message, with
    Time_Keep On), each with the entry it is of; the vault's server log on stderr every tenth entry."""
    out: list[tuple[int, Record]] = []
    for i, line in enumerate(entries):
        t = json.loads(line)["time"]
        if i % 10 == 5:
            out.append((-1, {"time": t, "stream": "stderr", tag: "F", key: SERVER_LOG}))
        pieces = _pieces(line)
        out += [(i, {"time": t, "stream": "stdout", tag: "F" if k == len(pieces) - 1 else "P", key: piece,
                     "kubernetes": POD}) for k, piece in enumerate(pieces)]
    return out


def fluent_bit_ml(entries: list[str]) -> list[tuple[int, Record]]:
    """Fluent Bit's multiline cri parser's records of pieces it did not merge: its regex's groups time, stream, _p
    and log (src/multiline/flb_ml_parser_cri.c)."""
    return fluent_bit_cri(entries, tag="_p", key="log")


def fluent_bit_ml_merged(entries: list[str]) -> list[tuple[int, Record]]:
    """The multiline cri parser's records as it gives them: a split line it merged keeps its first piece's fields,
    _p P among them, with the whole line in log (src/multiline/flb_ml.c registers the first record's map); the pieces
    of a line it did not merge (its flush timeout passed between them), a record each."""
    out: list[tuple[int, Record]] = []
    for i, rec in fluent_bit_ml(entries):
        if i in (17, 18) and out and out[-1][0] == i:
            out[-1][1]["log"] += rec["log"]
        else:
            out.append((i, dict(rec)))
    return out


def fluent_bit_cri_log(entries: list[str]) -> list[tuple[int, Record]]:
    """Fluent Bit's cri parser configured with the last group named log."""
    return fluent_bit_cri(entries, key="log")


def docker_reordered(entries: list[str]) -> list[tuple[int, Record]]:
    """Docker json-file's records as a shipper writes them on (Fluent Bit's docker parser, its kubernetes filter
    and an Elasticsearch-style output): @timestamp first, each piece's log as Docker wrote it, the last with its
    "\\n"."""
    out: list[tuple[int, Record]] = []
    for i, line in enumerate(entries):
        t = json.loads(line)["time"][:23] + "Z"
        if i % 10 == 5:
            out.append((-1, {"@timestamp": t, "kubernetes": POD, "stream": "stderr", "log": SERVER_LOG + "\n"}))
        pieces = _pieces(line)
        out += [(i, {"@timestamp": t, "kubernetes": POD, "stream": "stdout",
                     "log": piece + ("\n" if k == len(pieces) - 1 else "")}) for k, piece in enumerate(pieces)]
    return out


FRAMES: dict[str, Callable[[list[str]], list[tuple[int, Record]]]] = {
    "cri-logtag-message": fluent_bit_cri, "cri-logtag-log": fluent_bit_cri_log, "multiline-cri-_p": fluent_bit_ml,
    "multiline-cri-merged": fluent_bit_ml_merged, "docker-reordered": docker_reordered}


def _written(records: list[tuple[int, Record]]) -> list[str]:
    return [json.dumps(rec, separators=(",", ":")) for _, rec in records]


def _last_line(records: list[tuple[int, Record]], entry: int) -> int:
    """The line (1-based) of the record that ends ``entry``."""
    return max(n for n, (i, _) in enumerate(records, 1) if i == entry)


def _tagged(rec: Record) -> str:
    return rec.get("logtag") or rec.get("_p") or ("F" if rec["log"].endswith("\n") else "P")


# --- F3: pieces joined; a missing piece, a cut, a dropped entry found at their lines --------------------------------


@pytest.mark.parametrize("frame", FRAMES)
def test_pieces_a_shipper_kept_a_record_each_are_joined_and_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frame: str) -> None:
    records = FRAMES[frame](ENTRIES)
    # (one pair split in two pieces each, one in three; or the first pair merged, its records still marked P)
    assert sum(_tagged(rec) == "P" for _, rec in records) == 6
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    assert (rc, found) == (0, {}), text
    assert "cut at 16384 bytes" not in text


@pytest.mark.parametrize("frame", FRAMES)
def test_a_missing_middle_piece_is_a_finding_where_the_entry_ends(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frame: str) -> None:
    records = FRAMES[frame](ENTRIES)
    pieces = [n for n, (i, _) in enumerate(records) if i == THREE]
    assert len(pieces) == 3
    del records[pieces[1]]
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    ends = _last_line(records, THREE)
    assert rc == 1 and found.get("required_fields") == [ends], text
    # (and at most its own consequences: the joined line is scanned as it is, and the request it was is lost to
    # its response, at the response's line)
    assert {n for lines in found.values() for n in lines} <= {ends, _last_line(records, THREE + 1)}, text
    assert "cut at 16384 bytes" not in text


@pytest.mark.parametrize("frame", FRAMES)
def test_a_log_that_ends_on_a_piece_is_a_finding_at_its_end(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frame: str) -> None:
    records = FRAMES[frame](ENTRIES)
    first = next(n for n, (i, _) in enumerate(records) if i == THREE)
    records = records[:first + 2]  # the request's first two pieces, not the last
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    assert rc == 1 and found == {"required_fields": [len(records)]}, text
    assert "split at 16 KiB" in text and "did not merge" in text


@pytest.mark.parametrize("frame", FRAMES)
def test_a_dropped_entry_is_found_among_joined_pieces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frame: str) -> None:
    records = FRAMES[frame](ENTRIES)
    records = [(i, rec) for i, rec in records if i != 18]  # the big write's response, all its pieces
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    assert rc == 1 and found == {"completeness": [_last_line(records, 17)]}, text


@pytest.mark.parametrize("mark", ["F", None])
def test_a_line_the_shipper_cut_is_still_named_among_joined_pieces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], mark: str | None) -> None:
    """A whole line (tag F, or no tag at all) cut by a limit of the shipper's own (Logstash's truncate filter,
    Vector's truncate): the shipper's cut, named as before."""
    records = fluent_bit_cri(ENTRIES)
    at = next(n for n, (i, _) in enumerate(records) if i == 24)
    cut = dict(records[at][1], message=records[at][1]["message"][:1000])
    if mark is None:
        del cut["logtag"]
    records[at] = (24, cut)
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    assert rc == 1 and found.get("required_fields") == [at + 1], text
    assert "cut at 1000 bytes" in text


def test_pieces_of_another_containers_stream_between_are_kept_apart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An export of every container of a node: another container's record between two pieces of one entry is of
    another stream, and the pieces are joined across it."""
    records = fluent_bit_cri(ENTRIES)
    first = next(n for n, (i, _) in enumerate(records) if i == THREE)
    agent = {"time": json.loads(ENTRIES[THREE])["time"], "stream": "stdout", "logtag": "F",
             "message": "2026-11-22T19:15:59.531Z [INFO]  agent.sink.file: token written: path=/home/vault/.token",
             "kubernetes": dict(POD, pod_name="app-7d9f8c6b5-x2k4q", container_name="vault-agent")}
    records.insert(first + 1, (-1, agent))
    rc, found, text = verify_lines(tmp_path, capsys, _written(records), CONFIG)
    assert (rc, found) == (0, {}), text


def test_a_short_export_of_split_entries_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that holds little but pieces (the big write's request and response) is told as the shipper's records
    (most of its records carry no whole entry), and as Vector's records of the runtime's own lines too."""
    records = [rec for i, rec in fluent_bit_cri(ENTRIES[17:19])]
    rc, found, text = verify_lines(tmp_path, capsys, [json.dumps(r) for r in records], CONFIG)
    assert (rc, found) == (0, {}), text
    vector = [json.dumps({"file": "/var/log/containers/openbao-0_openbao_openbao-4f7d0c1e.log", "host": "node-1",
                          "message": f"{r['time']} {r['stream']} {r['logtag']} {r['message']}",
                          "source_type": "file", "timestamp": r["time"]}) for r in records]
    rc, found, text = verify_lines(tmp_path, capsys, vector, CONFIG, name="vector.log")
    assert (rc, found) == (0, {}), text


# --- F4: Google Cloud Logging's textPayload and jsonPayload.message -------------------------------------------------


def _log_entry(line: str, payload: str) -> Record:
    """A LogEntry as a sink to Cloud Storage (or gcloud logging read --format=json) writes it, the line in
    ``payload``: textPayload, jsonPayload.message; or "jsonPayload", the entry parsed, less its time, which Google's
    agent always moves to the LogEntry's timestamp."""
    t = json.loads(line)["time"]
    rec: Record = {"insertId": hashlib.sha256(line.encode()).hexdigest()[:16],
                   "logName": "projects/acme-prod/logs/stdout", "receiveTimestamp": t,
                   "resource": {"type": "k8s_container", "labels": {
                       "project_id": "acme-prod", "location": "europe-west1", "cluster_name": "vault",
                       "namespace_name": "openbao", "pod_name": "openbao-0", "container_name": "openbao"}},
                   "severity": "INFO", "timestamp": t}
    if payload == "textPayload":
        rec["textPayload"] = line
    elif payload == "jsonPayload.message":
        rec["jsonPayload"] = {"message": line}
    else:
        rec["jsonPayload"] = {k: v for k, v in json.loads(line).items() if k != "time"}
    return rec


@pytest.mark.parametrize("payload", ["textPayload", "jsonPayload.message"])
def test_a_cloud_logging_export_of_the_lines_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: str) -> None:
    lines = [json.dumps(_log_entry(ln, payload)) for ln in LINES]
    rc, found, text = verify_lines(tmp_path, capsys, lines, CONFIG)
    assert (rc, found) == (0, {}), text


@pytest.mark.parametrize("payload", ["textPayload", "jsonPayload.message"])
def test_a_cloud_logging_export_with_an_entry_dropped_is_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: str) -> None:
    lines = [json.dumps(_log_entry(ln, payload)) for i, ln in enumerate(LINES) if i != 20]
    rc, found, text = verify_lines(tmp_path, capsys, lines, CONFIG)
    assert rc == 1 and found == {"completeness": [20]}, text  # (the read whose response is gone)


# --- F5: jsonPayload that is the entry, its time moved to the LogEntry's timestamp ----------------------------------


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes) -> str:
    log = tmp_path / name
    log.write_bytes(data)
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(CONFIG)
    assert main(["verify", str(log), "--config", str(cfg)]) == 2
    return capsys.readouterr().err


def test_a_cloud_logging_export_of_parsed_entries_is_refused_with_a_fix_for_cloud_logging(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [_log_entry(ln, "jsonPayload") for ln in LINES]
    said = _refused(tmp_path, capsys, "gcp.json", "".join(json.dumps(r) + "\n" for r in records).encode())
    assert "Cloud Logging" in said and "jq -c '{time: .timestamp} + .jsonPayload'" in said, said
    assert "Fluent" not in said
    # the fix, followed (jq's object addition: time first, the entry's own fields after it), gives the log back
    back = [json.dumps({"time": r["timestamp"], **r["jsonPayload"]}, separators=(",", ":")) for r in records]
    assert back == LINES
    rc, found, text = verify_lines(tmp_path, capsys, back, CONFIG, name="gcp.json.entries")
    assert (rc, found) == (0, {}), text


# --- F6: CloudWatch Logs subscription payloads, base64 of gzip one a line -------------------------------------------


def test_cloudwatch_subscription_payloads_in_base64_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payloads = []
    for start in (0, 40, 80):  # a delivery's events each, as a subscription filter batches them
        data = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/openbao/audit",
                "logStream": "i-0abc123def4567890", "subscriptionFilters": ["to-lambda"],
                "logEvents": [{"id": str(36000000000000000000000000000000000000000000000000000000 + n),
                               "timestamp": 1795418159531 + n, "message": ln}
                              for n, ln in enumerate(LINES[start:start + 40], start)]}
        payloads.append(base64.b64encode(gzip.compress(json.dumps(data).encode())))
    said = _refused(tmp_path, capsys, "awslogs.txt", b"\n".join(payloads) + b"\n")
    assert "CloudWatch Logs subscription" in said and "base64 of gzip" in said, said
    assert "base64 -d " in said and "| zcat | jq -r '.logEvents[].message' >" in said, said
    assert "plain text" not in said and "\\u2026" not in said


def test_a_refusal_that_quotes_plain_text_shows_its_ellipsis(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    said = _refused(tmp_path, capsys, "notes.txt", b"meeting notes: rotate the audit log every night at two\n")
    assert 'plain text ("meeting notes: rotate the audit log ever\u2026")' in said, said
