"""Real ``journalctl`` exports (systemd 252, a namespaced journald fed the way its clients write; red team rt67):
a server-log line that journalctl writes as an array of byte values is scanned for secrets as the text it holds
(F1); the pieces Docker's journald log driver splits a line over 16 KiB into (``CONTAINER_PARTIAL_MESSAGE=true``)
are joined (F2); journald's LineMax pieces printed by ``journalctl -o short-iso`` are named as such (F7)."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from pytest_auditready.checks import BUILTIN
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from tests.test_shipper_exports import _failed, _run

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "shippers-rt67"
CANARIES = read_canaries(str(ROOT / "canaries.txt"))
CHECKS = offline_checks(BUILTIN)
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)




def test_a_secret_in_a_journal_message_written_as_bytes_is_found_at_its_line(tmp_path: Path) -> None:
    # jbin: the vault's own log line with an ANSI colour code (MESSAGE an array of byte values), then the entries
    failed = _failed(_run(tmp_path, "jbin.json.gz"))
    assert list(failed) == ["no_secret_leak"]
    texts = failed["no_secret_leak"]
    assert any(":1 " in t and "<canary:1>" in t and "server log" in t for t in texts)
    assert any(":1 " in t and "Vault Token" in t for t in texts)
    assert not any(secret in t for t in texts for secret in CANARIES.values())  # named, never shown


def test_the_same_line_written_as_a_string_is_found_the_same_way(tmp_path: Path) -> None:
    texts = _failed(_run(tmp_path, "jstr.json.gz"))["no_secret_leak"]
    assert any(":1 " in t and "<canary:1>" in t for t in texts)


def test_a_record_is_scanned_as_the_text_its_byte_arrays_hold() -> None:
    from pytest_auditready.auditlog.container import as_text

    rec = {"MESSAGE": list(b"\x1b[1mtoken=hvs.X\x1b[0m \xff"), "_PID": "7", "F": [list(b"a\x01"), "b"]}
    text = orjson.loads(as_text(orjson.dumps(rec)))
    assert text == {"MESSAGE": "\x1b[1mtoken=hvs.X\x1b[0m \ufffd", "_PID": "7", "F": ["a\x01", "b"]}
    plain = b'{"MESSAGE":"x","_PID":"7"}'
    assert as_text(plain) is plain  # no byte array: the record as read


def test_docker_journald_driver_pieces_are_joined(tmp_path: Path) -> None:
    # every audit entry over 16 KiB split by the driver's rule: CONTAINER_PARTIAL_MESSAGE=true on all but the last
    res = _run(tmp_path, "docker-journald.json.gz")
    assert _failed(res) == {}
    assert (res.entries, res.bad_lines) == (67, 0)
    assert res.accounting()["left_out"] == 0  # no piece counted as the server's own output


def test_a_docker_journald_piece_whose_start_is_lost_names_the_driver(tmp_path: Path) -> None:
    records = gzip.decompress((ROOT / "docker-journald.json.gz").read_bytes()).split(b"\n")
    first = next(i for i, r in enumerate(records) if b'"CONTAINER_PARTIAL_MESSAGE":"true"' in r)
    path = tmp_path / "cut.json"
    path.write_bytes(b"\n".join(records[:first] + records[first + 1:]))  # the first piece of an entry lost
    path.chmod(0o600)
    texts = _failed(verify_file(str(path), SETTINGS, CHECKS, CANARIES))["required_fields"]
    assert any(f":{first + 1} " in t and "CONTAINER_PARTIAL_MESSAGE" in t and "first piece is not in the export" in t
               for t in texts)


def test_journalctl_short_iso_pieces_name_linemax(tmp_path: Path) -> None:
    texts = _failed(_run(tmp_path, "j.short.gz"))["required_fields"]
    assert any(":60 " in t and "cut at 49152 bytes: journald splits a line longer than LineMax" in t for t in texts)
    assert not any("a size no usual syslog limit has" in t for t in texts)


def test_a_log_command_hands_a_byte_array_record_to_the_leak_scan_as_its_text() -> None:
    """Live (``log_command`` printing ``journalctl -o json``): the server's own line that journald keeps as byte
    values (it holds an ANSI colour code) is left out as the text it holds, so the leak scan reads the token in it
    (red team rt67 F1), as offline."""
    from pytest_auditready.auditlog.source import SERVER_LINE, Framing, LogBatch

    raw = gzip.decompress((ROOT / "jbin.json.gz").read_bytes()).splitlines()
    framing, batch = Framing(), LogBatch()
    framing.tell(raw)
    for n, line in enumerate(raw, 1):
        item = framing.item("log_command[journalctl]", n, line, "")
        if item is not None:
            batch.add(item)
    (server,) = [b for b in batch.left_out if b.reason == SERVER_LINE]
    assert "root token generated" in server.raw and "hvs.CAES" in server.raw, server.raw[:200]
    assert len(batch.entries) > 10 and not batch.bad_lines
