"""Red team rt58 (F1, F2, F4): what a syslog hop does to the entries it carries, and a file that ends mid-entry.

F1: with ``parser.escape8BitCharactersOnReceive`` rsyslog writes every byte above 127 as ``#ooo``, so
``secret/data/app/café`` arrived as ``secret/data/app/caf#303#251``: ``auditready access`` said nobody read it.
F2: rsyslog tags its internal messages that carry an error number ``rsyslogd-NNNN:`` (2177 for a rate limit's
"begin to drop messages"): they were named as the rest of an over-long entry, with maxMessageSize as the fix.
F4: the last line of a file with no newline after it, cut mid-entry, read "malformed JSON (unexpected end of data)".
The rsyslog tests start a real ``rsyslogd`` (Debian package rsyslog), fed by a real OpenBao or its entries.
"""

from __future__ import annotations

import gzip
import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.syslog import LOSS, RELAY, unframe
from pytest_auditready.cli import main
from pytest_auditready.offline.reader import FileStats, blocks, open_log
from pytest_auditready.vault.client import VaultClient
from tests.test_syslog import (
    CLEAN,
    HEADERS,
    RSYSLOGD,
    SocketShipper,
    _all_shipped,
    _findings,
    _lines,
    _verify,
    _wait_lines,
    needs_rsyslogd,
)
from tests.test_syslog import rsyslog as rsyslog  # the fixture: a real rsyslogd per call

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# What a suspended action is named (syslog.SUSPENDED)
SUSPENDED = "the relay says one of its actions stopped delivering here ({tag}: action suspended)"


def _said(template: str, tag: str) -> str:
    """The start of a reason of ``syslog``'s, up to its tag: what a line of that kind is named."""
    return template.split("{tag}")[0] + tag


# -- F2: the relay's own messages, as rsyslog tags them ---------------------------------------------------------
# Lines as a real rsyslogd 8.2302 wrote them here (imuxsock rate limit, an omfwd action to a closed port, impstats),
# and as older 8.x wrote them ("imuxsock lost N messages from pid", public logs); journald's form "rsyslogd[pid]:".
LOSS_LINES = {
    "file format, begin to drop": b"2026-12-05T22:56:30.937011+00:00 vm rsyslogd-2177: imuxsock[pid: 17848, name: "
                                  b"/usr/bin/python3] from <vm:openbao>: begin to drop messages due to rate-limiting",
    "file format, lost": b"2026-12-05T22:56:33.939332+00:00 vm rsyslogd-2177: imuxsock[pid: 17848, name: "
                         b"/usr/bin/python3]: 9 messages lost due to rate-limiting (31 allowed within 2 seconds)",
    "traditional": b"Dec  5 23:08:59 vm rsyslogd-2177: imuxsock[pid: 29614, name: /usr/bin/python3] from "
                   b"<vm:openbao>: begin to drop messages due to rate-limiting",
    "rfc5424": b"<46>1 2026-12-05T23:09:02.120750+00:00 vm rsyslogd-2177 - - - imuxsock[pid: 29614, name: "
               b"/usr/bin/python3]: 7 messages lost due to rate-limiting (5 allowed within 2 seconds)",
    "older imuxsock": b"Aug 29 19:06:02 mail rsyslogd-2177: imuxsock lost 9 messages from pid 13249 due to "
                      b"rate-limiting",
    "imjournal": b"Jun 28 10:32:15 localhost rsyslogd-2177: imjournal: begin to drop messages due to rate-limiting",
    "action lost a message": b"Jan 04 19:10:00 vault1 rsyslogd[13431]: action 'action-2-builtin:omfile' (module "
                             b"'builtin:omfile') message lost, could not be processed. Check for additional error "
                             b"messages before this one. [v8.2302.0 try https://www.rsyslog.com/e/2218 ]",
    "disk queue": b"2026-12-05T23:09:09.012031+00:00 vm rsyslogd-3000: main Q: lost 12 messages from diskqueue "
                  b"(invalid .qi file) [v8.2302.0 try https://www.rsyslog.com/e/3000 ]",
    "queue at shutdown": b"2026-12-05T23:09:12.771506+00:00 vm rsyslogd-2041: action-1-builtin:omfwd queue: queue "
                         b"holds 12 messages after shutdown of workers. queue.saveonshutdown is NOT set, so data will "
                         b"be discarded. [v8.2302.0 try https://www.rsyslog.com/e/2041 ]",
    "impstats, discarded": b"2026-12-05T23:09:10.008993+00:00 vm rsyslogd-pstats: main Q: origin=core.queue size=7 "
                           b"enqueued=15 full=3 discarded.full=12 discarded.nf=0 maxqsize=10000 ",
}
SUSPENDED_LINES = {
    "retry": b"2026-12-05T23:09:09.012157+00:00 vm rsyslogd-2007: action 'action-1-builtin:omfwd' suspended (module "
             b"'builtin:omfwd'), retry 0. There should be messages before this one giving the reason for suspension. "
             b"[v8.2302.0 try https://www.rsyslog.com/e/2007 ]",
    "next retry": b"2026-12-05T23:09:09.012409+00:00 vm rsyslogd-2007: action 'action-1-builtin:omfwd' suspended "
                  b"(module 'builtin:omfwd'), next retry is Sat Dec  5 23:09:39 2026, retry nbr 0. There should be "
                  b"messages before this one giving the reason for suspension. [v8.2302.0 try "
                  b"https://www.rsyslog.com/e/2007 ]",
}
OTHER_LINES = {
    "cannot connect": b"2026-12-05T23:09:09.012031+00:00 vm rsyslogd-2027: cannot connect to 127.0.0.1:9: "
                      b"Connection refused [v8.2302.0 try https://www.rsyslog.com/e/2027 ]",
    "resumed": b"Apr 21 07:35:49 raspberrypi rsyslogd-2359: action 'action 17' resumed (module 'builtin:ompipe') "
               b"[try http://www.rsyslog.com/e/2359 ]",
    "error number 0": b"Apr 21 07:35:49 raspberrypi rsyslogd0: action 'action 17' resumed (module "
                      b"'builtin:ompipe') [try http://www.rsyslog.com/e/0 ]",
    "impstats, nothing discarded": b"2026-12-05T23:09:10.008986+00:00 vm rsyslogd-pstats: imuxsock: origin=imuxsock "
                                   b"submitted=0 ratelimit.discarded=0 ratelimit.numratelimiters=0 ",
}


@pytest.mark.parametrize("line", list(LOSS_LINES.values()), ids=list(LOSS_LINES))
def test_each_relay_tag_rsyslog_writes_names_its_loss_notice_as_loss(line: bytes) -> None:
    """Before, a tag with an error number ("rsyslogd-2177:") named no relay: the notice read as the rest of an entry
    cut at the hop's size limit, and a "message lost" through journald as a stray message."""
    entry, why = unframe(line)
    tag = line.split(b" rsyslogd", 1)[1].split(b":", 1)[0].split(b" ", 1)[0].split(b"[", 1)[0]
    assert entry is None and why.startswith(_said(LOSS, "rsyslogd" + tag.decode())), why
    assert "RateLimit.Interval=0" in why and "maxMessageSize" not in why


@pytest.mark.parametrize("line, template", [*((v, SUSPENDED) for v in SUSPENDED_LINES.values()),
                                            *((v, RELAY) for v in OTHER_LINES.values())],
                         ids=[*SUSPENDED_LINES, *OTHER_LINES])
def test_the_relay_s_other_coded_messages_are_named_as_its_own(line: bytes, template: str) -> None:
    """A suspended action is named with the retry that keeps its messages; a message that tells of no loss (a
    connection refused, an action resumed, counters of nothing discarded) as the relay's own, never as a cut entry."""
    entry, why = unframe(line)
    assert entry is None and why.startswith(template.split(" ({tag}")[0]), why
    assert "maxMessageSize" not in why
    if template == SUSPENDED:
        assert "action.resumeRetryCount" in why


def _send(sock_path: Path, lines: list[bytes]) -> None:
    """Each line as a datagram to an imuxsock socket, framed as Go's log/syslog frames a message there (the
    syslog audit device): ``<PRI>Mmm dd hh:mm:ss tag[pid]: message``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        for ln in lines:
            s.sendto(b"<110>Dec  5 10:00:00 openbao[42]: " + ln, str(sock_path))


@needs_rsyslogd
def test_a_real_rsyslog_rate_limit_notice_in_the_audit_file_is_loss_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real rsyslogd whose imuxsock input rate-limits the vault's messages (20 in 600 s) and whose one file holds
    its own messages too (a /var/log/messages-style *.* file): its "rsyslogd-2177: ... begin to drop messages"
    line is a loss at its line, with the rate-limit fix. Beside it, an input with rate limiting off whose messages
    alone go to the audit file: that file passes with no finding."""
    assert RSYSLOGD is not None
    limited, whole = tmp_path / "limited.sock", tmp_path / "whole.sock"
    merged, merged23, audit = tmp_path / "messages.log", tmp_path / "messages23.log", tmp_path / "audit.log"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text("\n".join([
        f'global(workDirectory="{tmp_path}" maxMessageSize="64k" processInternalMessages="on")',
        'module(load="imuxsock" SysSock.Use="off")',
        f'input(type="imuxsock" Socket="{limited}" RateLimit.Interval="600" RateLimit.Burst="20")',
        f'input(type="imuxsock" Socket="{whole}" RateLimit.Interval="0" Ruleset="audit")',
        f'action(type="omfile" file="{merged}" template="RSYSLOG_FileFormat" fileCreateMode="0600")',
        f'action(type="omfile" file="{merged23}" template="RSYSLOG_SyslogProtocol23Format" fileCreateMode="0600")',
        'ruleset(name="audit") {',
        f'  action(type="omfile" file="{audit}" template="RSYSLOG_FileFormat" fileCreateMode="0600")',
        '}', ""]))
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(tmp_path / "pid")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    entries = _lines(CLEAN)
    try:
        deadline = time.monotonic() + 10
        while not (limited.exists() and whole.exists()):
            assert proc.poll() is None and time.monotonic() < deadline, "rsyslogd made no sockets"
            time.sleep(0.05)
        _send(limited, entries)
        _send(whole, entries)
        _wait_lines(audit, len(entries))
        deadline = time.monotonic() + 10
        while not (merged23.exists() and b"begin to drop" in merged.read_bytes()
                   and b"begin to drop" in merged23.read_bytes()):
            assert time.monotonic() < deadline, "rsyslogd wrote no rate-limit notice"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    for log in (merged, merged23):
        log.chmod(0o600)
        notices = [str(i) for i, ln in enumerate(_lines(log), 1) if b"rsyslogd-2177" in ln]
        assert notices, log.read_text()
        rc, d, text = _verify(tmp_path, log, capsys)
        said = {line: m for m, line in _findings(d, "required_fields")}
        assert rc == 1 and all(_said(LOSS, "rsyslogd-2177") in said.get(n, "") for n in notices), text
        assert "no JSON object after the syslog header" not in text
    rc, d, text = _verify(tmp_path, audit, capsys)
    assert rc == 0 and not [f for o in d["outcomes"] for f in o["findings"]], text


# -- F1: a hop that escapes 8-bit bytes ----------------------------------------------------------------------------
def _paths(pattern: str, log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """What ``auditready access PATTERN LOG`` counts per path (every identity's together)."""
    out = tmp_path / "access.json"
    main(["access", pattern, str(log), "--json", str(out), "-q"])
    capsys.readouterr()
    got: dict[str, int] = {}
    for who in json.loads(out.read_text())["identities"]:
        for path, n in who["paths"].items():
            got[path] = got.get(path, 0) + n
    return got


def _undone(log: Path) -> tuple[int, bytes]:
    """How many entries the reader took out of ``log`` with a hop's 8-bit escapes undone, and the bytes it read."""
    stats = FileStats()
    f = open_log(str(log))
    try:
        data = b"\n".join(b.data for b in blocks(f, str(log), stats) if isinstance(b.data, bytes))
    finally:
        f.close()
    return stats.eight_bit, data


@needs_rsyslogd
@pytest.mark.vault
def test_an_8bit_escaping_hop_is_read_as_the_vault_wrote_it(bao: Any, rsyslog: Any, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """OpenBao's socket device through a real rsyslogd with parser.escape8BitCharactersOnReceive: a secret at
    secret/data/app/café written and read is counted under that path, as in the vault's own file (before: 0
    requests, and caf#303#251 a path of its own), and the file passes. Through a hop that escapes nothing, a path
    the vault wrote with "#303#251" in it (the file also holds raw UTF-8) stays that path."""
    server = bao()
    escaping, plain = rsyslog("64k", escape_8bit=True), rsyslog("64k")
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        shipper = SocketShipper(server.log_path, escaping.port)
        try:
            for method, body in (("POST", {"data": {"clé": "valüe"}}), ("GET", None)):
                assert admin.call(method, "secret/data/app/caf%C3%A9", body).status in (200, 204)
            _all_shipped(shipper, server.log_path)
        finally:
            shipper.stop()
        for method, body in (("POST", {"data": {"k": "v"}}), ("GET", None)):
            assert admin.call(method, "secret/data/app/caf%23303%23251", body).status in (200, 204)
        both = SocketShipper(server.log_path, plain.port)
        try:
            _all_shipped(both, server.log_path)
        finally:
            both.stop()
    finally:
        admin.close()
    for hop, sent in ((escaping, shipper.sent), (plain, both.sent)):
        _wait_lines(hop.out["file"], sent)
        hop.stop()
    escaped = escaping.out["file"].read_bytes()
    assert b"caf#303#251" in escaped and escaped.isascii()
    own = _paths("secret/data/app/caf*", server.log_path, tmp_path, capsys)
    assert own == {"secret/data/app/café": 2, "secret/data/app/caf#303#251": 2}, own
    for log in (escaping.out["file"], escaping.out["p23"]):
        assert _paths("secret/data/app/café", log, tmp_path, capsys) == {"secret/data/app/café": 2}, log.name
        assert _paths("secret/data/app/caf*", log, tmp_path, capsys) == {"secret/data/app/café": 2}, log.name
        rc, d, text = _verify(tmp_path, log, capsys)
        assert rc == 0 and not [f for o in d["outcomes"] for f in o["findings"]], text
        assert [f.get("eight_bit_undone", 0) >= 2 for f in d["files"]] == [True], d["files"]  # said, in the report
        undone, data = _undone(log)
        assert undone >= 2 and "clé".encode() in data and b"#303#251" not in data
    for log in (plain.out["file"], plain.out["p23"]):
        assert _paths("secret/data/app/caf*", log, tmp_path, capsys) == own, log.name
        assert _undone(log)[0] == 0
        rc, d, text = _verify(tmp_path, log, capsys)
        assert rc == 0 and "eight_bit_undone" not in d["files"][0], text


def test_escapes_are_undone_only_where_the_whole_file_shows_the_hop_s_escaping(tmp_path: Path) -> None:
    """rsyslog escapes no "#", so "#303#251" may be the vault's own text: a file that holds a byte above 127
    anywhere, even a block after the escapes, came through a hop that passes them as they are, and its "#ooo" stay
    as written (plain and gzip-compressed alike); without one, the escapes spelling UTF-8 are undone."""
    header = HEADERS["file format"]
    entries = _lines(CLEAN)
    at = next(i for i, ln in enumerate(entries) if b'"path":"secret/' in ln)
    escaped = [header + (ln.replace(b'"path":"secret/', b'"path":"secret/caf#303#251/', 1) if i == at else ln)
               for i, ln in enumerate(entries)]
    only = tmp_path / "escaped.log"
    only.write_bytes(b"\n".join(escaped) + b"\n")
    undone, data = _undone(only)
    assert undone == 1 and "secret/café/".encode() in data
    padding = escaped * (700_000 // len(b"\n".join(escaped)) + 1)  # past the reader's first block (512 KiB)
    raw = header + entries[at].replace(b'"path":"secret/', "\"path\":\"secret/naïve/".encode(), 1)
    mixed = tmp_path / "mixed.log"
    mixed.write_bytes(b"\n".join([*escaped, *padding, raw]) + b"\n")
    packed = tmp_path / "mixed.log.gz"
    packed.write_bytes(gzip.compress(mixed.read_bytes()))
    for log in (mixed, packed):
        undone, data = _undone(log)
        assert undone == 0 and b"secret/caf#303#251/" in data and "secret/café/".encode() not in data, log.name


# -- F4: the last line of a file that ends mid-entry -------------------------------------------------------------
@pytest.mark.parametrize("fixture", [CLEAN, FIXTURES / "k8s" / "audit.log"], ids=["vault", "k8s"])
def test_a_last_line_cut_mid_entry_says_the_file_was_copied_while_it_was_written(
        fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of a live file ends inside the entry being written, with no newline after it: named so, with the fix
    (copy a rotated file, not the live one), as the syslog and command sources name it; before, "malformed JSON
    (unexpected end of data)". The same file ending after a whole entry without a newline has no finding; an entry
    cut in the middle of the file (a newline after it) is no such copy, and keeps its own reason."""
    lines = _lines(fixture)
    last = lines[-1][: len(lines[-1]) // 2]
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join([*lines[:-1], last]))
    log.chmod(0o600)
    rc, d, text = _verify(tmp_path, log, capsys)
    said = dict((line, m) for m, line in _findings(d, "required_fields"))
    assert rc == 1 and str(len(lines)) in said, text
    assert (f"ends mid-entry after {len(last)} bytes, where the file ends without a newline" in said[str(len(lines))]
            and "copy a rotated file, not the live one" in said[str(len(lines))]), said
    assert "malformed JSON" not in text
    log.write_bytes(b"\n".join(lines))
    rc, d, text = _verify(tmp_path, log, capsys)
    assert rc == 0 and not [f for o in d["outcomes"] for f in o["findings"]], text
    log.write_bytes(b"\n".join([*lines[:-2], lines[-2][:40], lines[-1]]) + b"\n")
    rc, d, text = _verify(tmp_path, log, capsys)
    said = dict((line, m) for m, line in _findings(d, "required_fields"))
    assert "malformed JSON" in said.get(str(len(lines) - 1), "") and "ends mid-entry" not in text, text

