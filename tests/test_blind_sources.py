"""Entries that reach auditready through a hop (syslog, journald, a log command): what a blind grader found.

Each input is built from a real OpenBao audit log (fixtures/blind-sources/openbao-audit.log) wrapped as the hop
writes it, following the producer's documentation: rsyslog's CEE cookie (``@cee:``, mmjsonparse), journalctl's
``-o short-iso``/``-o cat``/``-o json`` (journalctl(1), systemd's journal JSON format: ``_STREAM_ID``,
``_LINE_BREAK=line-max``), OpenBao's own server log (hclog: ``<time> [INFO]  core: ...``, or its JSON format).
Each fix has both directions: the defect caught at its line, the correct input read with no finding.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Union

import pytest

from pytest_auditready.auditlog import container
from pytest_auditready.auditlog.model import AuditEntry, BadLine
from pytest_auditready.auditlog.source import SERVER_LINE, FileLogSource, LogBatch, read_line
from pytest_auditready.auditlog.sources import CUT_AT_END, CommandLogSource, blank_secrets
from pytest_auditready.auditlog.syslog import unframe
from pytest_auditready.cli import main
from pytest_auditready.errors import AuditReadyError

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "blind-sources" / "openbao-audit.log"
ENTRIES = FIXTURE.read_bytes().rstrip(b"\n").split(b"\n")
HCLOG = b'2026-12-02T03:48:31.583Z [INFO]  core: successful mount: namespace="" path=secret/ type=kv version=""'
HCLOG_JSON = (b'{"@level":"info","@message":"successful mount","@module":"core",'
              b'"@timestamp":"2026-12-02T03:48:31.583000Z","namespace":"","path":"secret/"}')
HCLOG_OBJECT = b'2026-12-02T03:48:31.583Z [ERROR] core: request failed: body={"type":"request","path":"x"}'
SSHD = b"Accepted publickey for root from 10.0.0.1 port 22 ssh2"


def verify(tmp_path: Path, lines: list[bytes]) -> tuple[int, dict[str, list[int]]]:
    """``auditready verify`` over ``lines``: its exit code and the lines each check found something at."""
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    out = tmp_path / "verify.json"
    code = main(["verify", str(log), "--config", str(cfg), "--json", str(out)])
    found: dict[str, list[int]] = {}
    if out.exists():
        for o in json.loads(out.read_text())["outcomes"]:
            for f in o["findings"]:
                found.setdefault(o["check"], []).append(int(f["where"].rsplit(":", 1)[1].split()[0]))
    return code, found


def journal(i: int, message: Union[str, None], **fields: str) -> bytes:
    """One record as ``journalctl -o json`` writes it (a unit's stdout stream)."""
    rec: dict[str, Any] = {"__CURSOR": f"s=739ad463348b4ceca5a9e69c95a3c93f;i={i:x}",
                           "__REALTIME_TIMESTAMP": str(1764647311583001 + i), "_BOOT_ID": "6ac3c5ac2c7e4c31",
                           "_TRANSPORT": "stdout", "_STREAM_ID": "aa11", "_PID": "812",
                           "_SYSTEMD_UNIT": "openbao.service", "SYSLOG_IDENTIFIER": "bao", "MESSAGE": message}
    rec.update(fields)
    return json.dumps(rec).encode()


# --- rsyslog's CEE cookie ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cookie", [b"@cee:", b"@cee: "])
def test_cee_cookie_before_the_entry_is_framing(tmp_path: Path, cookie: bytes) -> None:
    """mmjsonparse's ``@cee:`` cookie, with or without a space, behind a header or at the line's start (a
    ``%msg%`` template): the entry it carries is read, with no finding (it was refused as plain text)."""
    framed = [b"Dec  2 03:48:31 vault01 vault[812]: " + cookie + e for e in ENTRIES]
    assert unframe(framed[3]) == (ENTRIES[3], "")
    assert verify(tmp_path, framed) == (0, {})
    assert verify(tmp_path, [b"@cee:" + e for e in ENTRIES]) == (0, {})


def test_cee_entry_cut_by_the_hop_is_caught_at_its_line(tmp_path: Path) -> None:
    framed = [b"Dec  2 03:48:31 vault01 vault[812]: @cee:" + e for e in ENTRIES]
    framed[10] = framed[10][:1024]
    code, found = verify(tmp_path, framed)
    assert code == 1 and 11 in found["required_fields"]


# --- the vault server's own log, in the same journal or syslog stream --------------------------------------------

@pytest.mark.parametrize("shape", ["short-iso", "rfc5424"])
@pytest.mark.parametrize("server_line", [HCLOG, HCLOG_JSON, HCLOG_OBJECT], ids=["standard", "json", "object"])
def test_server_log_lines_beside_the_entries_are_left_out(tmp_path: Path, shape: str, server_line: bytes) -> None:
    """``journalctl -o short-iso -u openbao`` prints the unit's own server log between the audit entries a stdout
    device wrote (journald merges a unit's stdout and stderr); they are no audit entries (the ``-o json`` framing
    leaves them out too): no finding. They were "no JSON object after the syslog header" findings (required_fields)."""
    head = {"short-iso": b"2026-12-02T03:48:31+0000 vault01 bao[812]: ",
            "rfc5424": b"<30>1 2026-12-02T03:48:31.583Z vault01 bao 812 - - "}[shape]
    lines = [head + ln for ln in [server_line] * 3 + ENTRIES[:6] + [server_line] + ENTRIES[6:]]
    code, found = verify(tmp_path, lines)
    assert (code, found) == (0, {})


def test_the_lines_left_out_are_counted_in_the_accounting(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Every line read is an entry, an unreadable line or one left out, and the terminal says how many were left
    out and why (as for a platform's framing), under --jobs 1 and 2 alike."""
    head = b"2026-12-02T03:48:31+0000 vault01 bao[812]: "
    lines = [b"-- Boot 7bc3c5ac2c7e4c31b1e6b1e3d2b4d4f2 --"] + [head + e for e in ENTRIES[:6]] + [head + HCLOG] + \
        [head + e for e in ENTRIES[6:]]
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    for jobs in ("1", "2"):
        assert main(["verify", str(log), "--config", str(cfg), "--jobs", jobs]) == 0
        out = capsys.readouterr().out
        assert f"{len(lines)} lines read, {len(ENTRIES)} entries, 0 unreadable" in out, out
        assert "2 lines of the vault's own server log or of journalctl's notes left out" in out, out


@pytest.mark.parametrize("note", [b"-- Boot 7bc3c5ac2c7e4c31b1e6b1e3d2b4d4f2 --", b"-- Reboot --",
                                  b"-- Logs begin at Mon 2026-11-30 10:00:01 UTC, end at Wed 2026-12-02 03:48:31 UTC. --",
                                  b"-- cursor: s=739ad463348b4ceca5a9e69c95a3c93f;i=4e2"])
def test_journalctl_notes_between_messages_are_left_out(tmp_path: Path, note: bytes) -> None:
    """journalctl (systemd 252, run for real on a journal written by systemd-journal-remote) prints ``-- Boot ID --``
    where the boot changes, in its short formats and -o cat; older ones ``-- Logs begin at ... --`` and
    ``-- Reboot --``; ``--show-cursor`` its cursor. They were "no JSON object after the syslog header" findings."""
    head = b"2026-12-02T03:48:31+0000 vault01 bao[812]: "
    lines = [note] + [head + e for e in ENTRIES[:6]] + [note] + [head + e for e in ENTRIES[6:]]
    assert verify(tmp_path, lines) == (0, {})
    note = read_line("log_command[journalctl]", 1, b"-- No entries --")  # journalctl's own note: left out, counted
    assert isinstance(note, BadLine) and note.reason == SERVER_LINE
    assert isinstance(read_line("log_command[journalctl]", 1, b'-- {"type":"request"} --'), BadLine)


def test_a_bare_server_log_line_in_a_file_is_left_out_and_counted(tmp_path: Path) -> None:
    """With no header, the server's own line among the entries says the file captured its output streams (a device
    with file_path = "stdout"): left out and counted, as under a container's or journal's framing, which tell the
    streams apart (red team rt62, F3: the same bytes got three answers by source and by the mix)."""
    code, found = verify(tmp_path, [*ENTRIES[:6], HCLOG, *ENTRIES[6:]])
    assert code == 0 and found == {}
    files = json.loads((tmp_path / "verify.json").read_text())["files"]
    assert [(f.get("framing"), f.get("left_out")) for f in files] == [("merged", 1)]


def test_another_programs_message_is_still_a_finding(tmp_path: Path) -> None:
    """Only the server's own log is left out: another program's message in the audit stream is judged."""
    head = b"2026-12-02T03:48:31+0000 vault01 "
    lines = [head + b"bao[812]: " + e for e in ENTRIES[:6]] + [head + b"sshd[99]: " + SSHD] + \
        [head + b"bao[812]: " + e for e in ENTRIES[6:]]
    code, found = verify(tmp_path, lines)
    assert code == 1 and found == {"required_fields": [7]}


def test_server_log_json_in_journal_export_is_left_out(tmp_path: Path) -> None:
    """``journalctl -o json`` of a unit whose server logs in hclog's JSON format (``log_format = "json"``): those
    MESSAGEs start with "{" and were read as broken audit entries."""
    recs = [journal(i, e.decode()) for i, e in enumerate(ENTRIES)]
    recs[5:5] = [journal(900, HCLOG_JSON.decode())]
    assert verify(tmp_path, recs) == (0, {})


# --- journald's line-max pieces, with another stream's record between them ----------------------------------------

def test_journal_pieces_of_a_split_line_across_another_units_record(tmp_path: Path) -> None:
    """journald splits a line over LineMax into pieces (``_LINE_BREAK=line-max``) of one stream; a whole-system
    ``journalctl -o json`` may hold another unit's record between them. The pieces are one entry (the other
    record was joined to them before, and the file refused or the entry reported broken)."""
    e = ENTRIES[10]
    other = journal(901, SSHD.decode(), _STREAM_ID="", _PID="99", _TRANSPORT="syslog", _SYSTEMD_UNIT="ssh.service",
                    SYSLOG_IDENTIFIER="sshd")
    recs = [journal(i, x.decode()) for i, x in enumerate(ENTRIES)]
    recs[10:11] = [journal(10, e[:700].decode(), _LINE_BREAK="line-max"), other,
                   journal(11, e[700:1400].decode(), _LINE_BREAK="line-max"), other, journal(12, e[1400:].decode())]
    assert verify(tmp_path, recs) == (0, {})


def test_journal_piece_never_completed_is_caught(tmp_path: Path) -> None:
    """A split line whose last piece is missing from the export: the entry is cut, a finding (never left out)."""
    other = journal(901, SSHD.decode(), _STREAM_ID="", _PID="99", _TRANSPORT="syslog", _SYSTEMD_UNIT="ssh.service",
                    SYSLOG_IDENTIFIER="sshd")
    recs = [journal(i, x.decode()) for i, x in enumerate(ENTRIES)]
    recs += [journal(50, ENTRIES[10][:700].decode(), _LINE_BREAK="line-max"), other]
    code, found = verify(tmp_path, recs)
    assert code == 1 and "required_fields" in found
    unwrap = container.Unwrap("journal")
    assert container.LOST not in unwrap.lines(recs)
    assert unwrap.finish() == container.JOURNAL_SPLIT


# --- a log command: its output's end, its stderr -----------------------------------------------------------------

def _drain(source: CommandLogSource, batch: LogBatch, seconds: float = 10.0) -> None:
    """Poll a command's source until its program has exited and its output is read (a deadline, never a hang)."""
    proc = source._proc
    assert proc is not None
    proc.wait(timeout=seconds)
    for _ in range(3):  # its output to the end of the pipe, then the end itself
        source.poll(batch)


def _printer(tmp_path: Path, data: bytes) -> str:
    """A log command that prints ``data`` as it is (no newline added) and exits 0."""
    out = tmp_path / "printed"
    out.write_bytes(data)
    return f"{sys.executable} -c \"import sys; sys.stdout.buffer.write(open({str(out)!r}, 'rb').read())\""


def _printed(tmp_path: Path, data: bytes) -> LogBatch:
    """What a live run reads from a log command that prints ``data`` and exits 0 (``_printer``), to its end."""
    source = CommandLogSource(_printer(tmp_path, data))
    batch = LogBatch()
    source.mark()
    try:
        _drain(source, batch)
    finally:
        source.close()
    return batch


def test_command_output_ending_inside_a_line_is_a_cut_entry(tmp_path: Path) -> None:
    """A command (a SIEM client that truncates, a pipe cut short) exits 0 with a last line that has no newline:
    the entry it was printing is cut, a bad line at its place (it was dropped without a word)."""
    batch = _printed(tmp_path, b"\n".join(ENTRIES[:5]) + b"\n" + ENTRIES[5][:300])
    assert len(batch.entries) == 5
    assert [(b.line, b.reason) for b in batch.bad_lines] == [(6, CUT_AT_END.format(size=300))]


def test_command_output_ending_with_whole_lines_is_clean(tmp_path: Path) -> None:
    batch = _printed(tmp_path, b"\n".join(ENTRIES) + b"\n")
    assert len(batch.entries) == len(ENTRIES) and batch.bad_lines == []


def test_command_journal_pieces_never_completed_are_said_at_the_end(tmp_path: Path) -> None:
    """``journalctl -o json`` run as a command ends after the first piece of a split line: that entry is cut."""
    recs = [journal(i, x.decode()) for i, x in enumerate(ENTRIES[:4])]
    recs.append(journal(9, ENTRIES[10][:700].decode(), _LINE_BREAK="line-max"))
    batch = _printed(tmp_path, b"\n".join(recs) + b"\n")
    assert len(batch.entries) == 4
    assert [b.reason for b in batch.bad_lines] == [container.JOURNAL_SPLIT]


def test_command_server_log_lines_are_left_out(tmp_path: Path) -> None:
    """``journalctl -o cat -u openbao`` (the README's recipe) prints the unit's server log too: no bad line (each
    was one, failing required_fields)."""
    printed = [HCLOG, HCLOG_JSON, *ENTRIES[:6], HCLOG, *ENTRIES[6:]]
    batch = _printed(tmp_path, b"\n".join(printed) + b"\n")
    assert len(batch.entries) == len(ENTRIES) and batch.bad_lines == []
    for left in (read_line("log_command[journalctl]", 1, HCLOG, merged=True),
                 read_line("log_command[journalctl]", 1, b"2026-12-02T03:48:31+0000 h bao[1]: " + HCLOG)):
        assert isinstance(left, BadLine) and left.reason == SERVER_LINE  # left out of the entries, counted, scanned
    assert isinstance(read_line("a file", 1, HCLOG), BadLine)  # a file device's own file: judged
    assert isinstance(read_line("log_command[journalctl]", 1, ENTRIES[3]), AuditEntry)
    assert isinstance(read_line("log_command[journalctl]", 1, b"2026-12-02T03:48:31+0000 h sshd[9]: " + SSHD),
                      BadLine)


def command_error(command: str) -> str:
    """The error a log command that fails within 10 s ends its source with (polled as a live run polls it)."""
    source = CommandLogSource(command)
    source.mark()
    deadline = time.monotonic() + 10
    try:
        with pytest.raises(AuditReadyError) as err:
            while time.monotonic() < deadline:
                source.poll(LogBatch())
                time.sleep(0.02)
    finally:
        source.close()
    return str(err.value)


def test_command_stderr_credentials_never_reach_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIEM client that fails prints its request on stderr, credentials and all; the one-line error shows its
    last stderr lines, and showed them as printed."""
    token, password, bearer = "q7Zt-siem-token-5a1e", "pw-Hunter2-x9", "eyJhbGciOi.payload.sig"
    monkeypatch.setenv("SIEM_TOKEN", token)
    monkeypatch.setenv("SIEM_PASSWORD", password)
    script = tmp_path / "fail.sh"
    script.write_text('echo "GET https://svc:$SIEM_PASSWORD@siem.example/api?token=$SIEM_TOKEN: 401" >&2\n'
                      f'echo "Authorization: Bearer {bearer}" >&2\n'
                      'echo "x-splunk-token $SIEM_TOKEN rejected" >&2\nexit 3\n')
    text = command_error(f"sh {script}")
    assert "exited with status 3" in text and "siem.example" in text
    for secret in (token, password, bearer):
        assert secret not in text


def test_blank_secrets_keeps_ordinary_text() -> None:
    said = "journalctl: No journal files were found. Failed to open unit openbao.service"
    assert blank_secrets(said, dict(os.environ)) == said


# --- --auditready-log naming a shipped copy in a framing ----------------------------------------------------------

def _rsyslog_json(e: bytes) -> bytes:
    """rsyslog's omfile with a JSON template: ``{"@timestamp":"%timereported%","host":"%hostname%",
    "message":"%msg:::json%"}`` (the run's real rsyslogd 8.2302 wrote this shape from OpenBao's socket device)."""
    return json.dumps({"@timestamp": "2026-12-02T03:48:31.747648+00:00", "host": "localhost",
                       "message": e.decode()}).encode()


@pytest.mark.parametrize("shape", ["rsyslog-json-template", "journalctl-json"])
def test_live_log_file_in_a_framing_is_read_as_the_entries_it_carries(tmp_path: Path, shape: str) -> None:
    """``--auditready-log`` naming a shipped copy (a collector's JSON records, ``journalctl -o json`` kept in a file):
    the live source takes the framing off as ``auditready verify`` does. It read each record as an "entry", so
    every action was reported missing (completeness failed 21 actions on a log that held them all)."""
    log = tmp_path / "shipped.log"
    log.write_bytes(b"")
    source = FileLogSource(log)
    source.mark()
    if shape == "journalctl-json":
        recs = [journal(i, e.decode()) for i, e in enumerate(ENTRIES)]
        recs[10:11] = [journal(10, ENTRIES[10][:700].decode(), _LINE_BREAK="line-max"),
                       journal(11, ENTRIES[10][700:].decode()), journal(12, HCLOG.decode())]
    else:
        recs = [_rsyslog_json(e) for e in ENTRIES]
    with log.open("ab") as f:
        f.write(b"\n".join(recs) + b"\n")
    batch = LogBatch()
    try:
        source.poll(batch)
    finally:
        source.close()
    assert batch.bad_lines == []
    assert [dict(e.data) for e in batch.entries] == [json.loads(e) for e in ENTRIES]


def test_live_log_file_of_plain_entries_is_read_as_is(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    source = FileLogSource(log)
    source.mark()
    with log.open("ab") as f:
        f.write(b"\n".join(ENTRIES) + b"\n")
    batch = LogBatch()
    try:
        source.poll(batch)
    finally:
        source.close()
    assert batch.bad_lines == [] and [e.line for e in batch.entries] == list(range(1, len(ENTRIES) + 1))


@pytest.mark.parametrize("server_line", [HCLOG, HCLOG_JSON], ids=["standard", "json"])
def test_the_server_log_named_instead_of_the_audit_log_is_refused_saying_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], server_line: bytes) -> None:
    """The vault's own log (/var/log/openbao.log, journalctl -u openbao -o cat of a file device's server) named by
    mistake: refused in one line that says which log it is and where the audit log is, not "plain text" or "JSON
    lines of no known format" with a field_map hint. Audit entries with server lines among them are read (the
    server's output captured with a stdout device's: red team rt62, F3)."""
    log = tmp_path / "openbao.log"
    log.write_bytes(b"\n".join([server_line] * 10) + b"\n")
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert "holds the vault server's own log" in err and "file_path" in err and len(err.strip().splitlines()) == 1
    code, _found = verify(tmp_path, [server_line] * 2 + ENTRIES)
    assert code != 2


def test_the_servers_output_stream_with_its_audit_entries_is_read_with_its_own_lines_left_out(
        tmp_path: Path) -> None:
    """An audit device with file_path = "stdout": kubectl logs of the server gives its own log with the audit entries
    among them, whatever the mix (here the server's lines lead). The server's lines are left out and counted and
    the entries judged, as the same bytes are under a container's framing or a log command (red team rt62, F3: the
    file was refused when the server's lines led, and failed required_fields when the entries did)."""
    lines = [HCLOG] * 6 + [e for pair in zip(ENTRIES, [HCLOG] * len(ENTRIES)) for e in pair]
    code, found = verify(tmp_path, lines)
    assert code == 0 and found == {}
    files = json.loads((tmp_path / "verify.json").read_text())["files"]
    assert [(f.get("framing"), f.get("left_out")) for f in files] == [("merged", 6 + len(ENTRIES))]
