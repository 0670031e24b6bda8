"""The fields a platform or a log shipper writes beside the entries it carries (red team rt90 F1): Docker's attrs
(from --log-opt env, env-regex and labels), a journal record's _CMDLINE, a shipper's added fields. A secret there is
in the file as much as one in an entry, and was never scanned: only the carried line was. Each record shape here is
the one its tool documents, with ids as random as the real ones (a host's id, a file's fingerprint, a container's
id, a journal's cursor): those are no finding, and a secret planted beside one entry is found at its line."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.verifying import verify_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LINES = [ln for ln in (FIXTURES / "openbao" / "clean.log").read_text().splitlines() if ln.strip()]
CANARY = "Sup3rS3cretCanaryValue_xyz123"
CONFIG = "require_tamper_evidence = false\nretention_days = 0\n"
PLANT = 7  # the line whose record gets the secret


def _hex(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def _uuid(rnd: random.Random) -> str:
    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def _journal(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    boot = _hex(random.Random(1), 32)
    ts = 1796609404644684 + i * 1000
    return {"__CURSOR": f"s={_hex(rnd, 32)};i={i + 100:x};b={boot};m={ts:x};t={ts:x};x={_hex(rnd, 16)}",
            "__REALTIME_TIMESTAMP": str(ts), "__MONOTONIC_TIMESTAMP": str(ts - 1700000000000000), "_BOOT_ID": boot,
            "_MACHINE_ID": _hex(random.Random(2), 32), "_HOSTNAME": "vault-1", "PRIORITY": "6", "_UID": "998",
            "_GID": "998", "_COMM": "bao", "_EXE": "/usr/bin/bao", "_CAP_EFFECTIVE": "0",
            "_CMDLINE": "/usr/bin/bao server -config=/etc/openbao/openbao.hcl",
            "_SYSTEMD_CGROUP": "/system.slice/openbao.service", "_SYSTEMD_UNIT": "openbao.service",
            "_SYSTEMD_INVOCATION_ID": _hex(random.Random(3), 32), "SYSLOG_IDENTIFIER": "bao",
            "_TRANSPORT": "stdout", "_STREAM_ID": _hex(random.Random(4), 32), "_PID": "1234", "MESSAGE": line}


def _docker(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    return {"log": line + "\n", "stream": "stdout",
            "attrs": {"tag": "openbao/" + _hex(random.Random(5), 12), "com.docker.compose.project": "vault",
                      "com.docker.compose.config-hash": _hex(random.Random(6), 64), "image": "openbao/openbao:2.1"},
            "time": f"2026-12-07T02:10:04.{i * 1000:09d}Z"}


def _fluent_bit(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    return {"time": f"2026-12-07T02:10:04.{i:09d}Z", "stream": "stdout", "_p": "F", "log": line,
            "kubernetes": {"pod_name": "openbao-0", "namespace_name": "openbao", "pod_id": _uuid(random.Random(7)),
                           "labels": {"app.kubernetes.io/name": "openbao",
                                      "controller-revision-hash": "openbao-" + _hex(random.Random(8), 10)},
                           "annotations": {"checksum/config": _hex(random.Random(9), 64)},
                           "host": "ip-10-0-1-23.eu-west-1.compute.internal", "container_name": "openbao",
                           "docker_id": _hex(random.Random(10), 64),
                           "container_hash": "quay.io/openbao/openbao@sha256:" + _hex(random.Random(11), 64)}}


def _filebeat(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    return {"@timestamp": "2026-12-07T02:10:04.644Z", "@metadata": {"beat": "filebeat", "version": "8.15.0"},
            "log": {"offset": i * 900, "file": {"path": "/var/log/openbao/audit.log", "device_id": "66305",
                                                "inode": "3145761", "fingerprint": _hex(rnd, 64)}},
            "message": line, "input": {"type": "filestream"}, "ecs": {"version": "8.0.0"},
            "host": {"name": "vault-1", "id": _hex(random.Random(12), 32), "mac": ["02-42-AC-11-00-02"],
                     "ip": ["10.0.1.23", "52.94.76.10"]},
            "agent": {"type": "filebeat", "id": _uuid(random.Random(13)), "ephemeral_id": _uuid(rnd)}}


def _filebeat_decoded(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    """Filebeat's decode_json_fields with target "" and overwrite_keys: the entry's fields at the record's top,
    and the line as read kept in message (red team rt90 F7)."""
    return {**_filebeat(rnd, i, line), **json.loads(line)}


def _elasticsearch(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return {"_index": ".ds-logs-hashicorp_vault.audit-default-2026.12.07-000001",
            "_id": "".join(rnd.choice(b64) for _ in range(20)), "_score": 1.0,
            "_source": {"@timestamp": "2026-12-07T02:10:04.644Z", "message": line,
                        "elastic_agent": {"id": _uuid(random.Random(14)), "version": "8.15.0"}}}


def _splunk(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    return {"preview": False, "offset": i,
            "result": {"_bkt": f"main~12~{_uuid(random.Random(15)).upper()}", "_cd": f"12:{rnd.randint(1, 10**7)}",
                       "_raw": line, "_serial": str(i), "host": "vault-1", "index": "main",
                       "source": "/var/log/openbao/audit.log", "sourcetype": "hashicorp_vault_audit_log"}}


def _cloudwatch(rnd: random.Random, i: int, line: str) -> dict[str, Any]:
    return {"id": str(rnd.randint(10**55, 10**56)), "timestamp": 1796609404644 + i, "message": line,
            "ingestionTime": 1796609405000, "logStreamName": "openbao/" + _hex(random.Random(16), 32)}


Wrap = Callable[[random.Random, int, str], dict[str, Any]]
# each producer's record, and where in it a secret is planted: (the record, the field's path, the value)
WRAPPERS: dict[str, tuple[Wrap, tuple[str, ...]]] = {
    "journal": (_journal, ("_CMDLINE",)),
    "docker-attrs": (_docker, ("attrs", "VAULT_TOKEN")),
    "fluent-bit-kubernetes": (_fluent_bit, ("kubernetes", "annotations", "vault.hashicorp.com/token")),
    "filebeat": (_filebeat, ("fields", "db_password")),
    "filebeat-decoded": (_filebeat_decoded, ("fields", "db_password")),
    "elasticsearch": (_elasticsearch, ("_source", "labels", "note")),
    "splunk": (_splunk, ("result", "DB_PASSWORD")),
    "cloudwatch-events": (_cloudwatch, ("note",)),
}
SECRETS = {
    "canary": (CANARY, "<canary:1>"),
    "vault-token": ("hvs.CAESIJ8aZx3Qm2pLk7Wn0Rt5Yv9Uc4Bd6Fe1Gh3Ij5Kl7Mn", "Vault Token"),
    "password": ("Tr0ub4dor&3xq", "Secret Keyword"),
}


def _records(wrap: Wrap, plant: tuple[tuple[str, ...], str] | None = None) -> list[str]:
    rnd = random.Random(90)
    out = []
    for i, line in enumerate(LINES):
        rec = wrap(rnd, i, line)
        if plant is not None and i + 1 == PLANT:
            path, value = plant
            at = rec
            for key in path[:-1]:
                at = at.setdefault(key, {})
            at[path[-1]] = value if path[-1] != "_CMDLINE" else f"/usr/bin/bao server -dev -dev-root-token-id={value}"
        out.append(json.dumps(rec, separators=(",", ":")))
    return out


@pytest.mark.parametrize("producer", sorted(WRAPPERS))
def test_the_fields_beside_each_entry_of_a_correct_export_are_no_finding(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], producer: str) -> None:
    (tmp_path / "canaries.txt").write_text(CANARY + "\n")
    rc, found, text = verify_lines(tmp_path, capsys, _records(WRAPPERS[producer][0]), CONFIG,
                                   "--canaries", str(tmp_path / "canaries.txt"), name="export.log")
    assert "no_secret_leak" not in found, text
    assert rc == 0, text


@pytest.mark.parametrize("secret", sorted(SECRETS))
@pytest.mark.parametrize("producer", sorted(WRAPPERS))
def test_a_secret_beside_an_entry_is_found_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], producer: str, secret: str) -> None:
    """Fails without the fix: no_secret_leak passed each (red team rt90 F1)."""
    wrap, path = WRAPPERS[producer]
    value, named = SECRETS[secret]
    if secret == "password" and path[-1] in ("_CMDLINE", "note", "vault.hashicorp.com/token", "VAULT_TOKEN"):
        path = (*path[:-1], "DB_PASSWORD")  # a keyword finds it by the name it sits under
    (tmp_path / "canaries.txt").write_text(CANARY + "\n")
    rc, found, text = verify_lines(tmp_path, capsys, _records(wrap, (path, value)), CONFIG,
                                   "--canaries", str(tmp_path / "canaries.txt"), name="export.log")
    assert found.get("no_secret_leak") == [PLANT], text
    assert rc == 1 and named in text and "beside the entry" in text, text
    assert value not in text


PRINTER = """
import json, sys
for i, line in enumerate(open(sys.argv[1], encoding="utf-8").read().splitlines()):
    print(json.dumps({"__CURSOR": "s=0;i=%d" % i, "_TRANSPORT": "stdout", "_SYSTEMD_UNIT": "openbao.service",
                      "_CMDLINE": "/usr/bin/bao server -dev -dev-root-token-id=" + sys.argv[2], "MESSAGE": line}),
          flush=True)
"""


def test_a_live_source_keeps_the_fields_beside_each_line_for_the_scan(tmp_path: Path) -> None:
    """`journalctl -o json -f` as log_command: the record's other fields reach the live scan (``CheckContext.around``)
    with the line they are on, and the check finds the known value there."""
    import shlex
    import sys
    import time

    from pytest_auditready.auditlog.source import LogBatch
    from pytest_auditready.auditlog.sources import CommandLogSource
    from pytest_auditready.checks import no_secret_leak
    from pytest_auditready.checks.base import CheckContext
    from pytest_auditready.config import Settings

    script, log = tmp_path / "journal.py", tmp_path / "audit.log"
    script.write_text(PRINTER)
    log.write_text("".join(ln + "\n" for ln in LINES))
    src = CommandLogSource(" ".join(shlex.quote(a) for a in (sys.executable, str(script), str(log), CANARY)))
    src.mark()
    batch = LogBatch()
    try:
        ends = time.monotonic() + 30
        while len(batch.entries) < len(LINES) and time.monotonic() < ends:
            src.poll(batch)
            time.sleep(0.02)
    finally:
        src.close()
    assert len(batch.entries) == len(LINES) and not batch.bad_lines
    assert [b.line for b in batch.around] == [e.line for e in batch.entries]
    assert all(CANARY in b.raw and "MESSAGE" not in b.raw for b in batch.around)
    ctx = CheckContext(settings=Settings(), ledger=None, entries=batch.entries, bad_lines=[], around=batch.around,
                       secrets={"canary:1": CANARY})
    found = [f for f in no_secret_leak.run(ctx) if getattr(f, "where", "")]
    assert [f.where for f in found] == [f"{batch.entries[0].file}:{batch.entries[0].line}"], found
    assert "beside the entry" in found[0].message and CANARY not in found[0].message


def test_a_decoded_record_is_judged_by_the_line_it_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: an entry Filebeat decoded in place, the line kept in message, was read as the entry
    itself, so its host.id and log.file.fingerprint were secrets and the escaped copy of a malformed digest a
    "Vault Token" (red team rt90 F7). The line is the entry; a defect in it is found once, at its line."""
    records = []
    for i, line in enumerate(LINES):
        if i + 1 == PLANT:
            e = json.loads(line)
            e.setdefault("auth", {})["client_token"] = "hmac-sha256:abc"
            line = json.dumps(e, separators=(",", ":"))
        records.append(json.dumps(_filebeat_decoded(random.Random(i), i, line), separators=(",", ":")))
    rc, found, text = verify_lines(tmp_path, capsys, records, CONFIG, name="export.log")
    assert found == {"integrity_digest": [PLANT]} and rc == 1, text
    assert "'hmac-sha256:abc'" in text and "abc\\\\'" not in text
