"""Syslog framing (issue 15, part 1): audit entries read through a real rsyslog hop.

The header a syslog hop writes before each entry (RFC 3164, rsyslog's file formats, RFC 5424) is framing: the line
reads as the entry it carries, at its own file:line. A message cut at the hop's size limit (rsyslog's default
maxMessageSize is 8k) is a finding that names the limit and the setting to raise. The rsyslog tests start a real
``rsyslogd`` (Debian package rsyslog) on a loopback port, fed from a real OpenBao audit device.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from pytest_auditready.auditlog.model import AuditEntry, BadLine
from pytest_auditready.auditlog.source import FileLogSource, LogBatch
from pytest_auditready.auditlog.syslog import unframe
from pytest_auditready.cli import main
from pytest_auditready.vault.client import VaultClient
from tests.auditrun import assert_no_secret_in_outputs, run_audit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
LEAKY = FIXTURES / "openbao" / "leaky.log"
CANARIES = FIXTURES / "openbao" / "canaries.txt"

HEADERS = {
    "rfc3164": b"Dec  1 07:54:37 vault1 bao[812]: ",
    "traditional, no tag": b"Dec  1 07:54:37 localhost  ",
    "file format": b"2026-12-01T07:54:37.583001+00:00 vault1 bao: ",
    "journalctl short-precise": b"Dec 01 07:54:37.583001 vault1 bao[812]: ",
    "journalctl short-iso": b"2026-12-01T07:54:37+0000 vault1 bao[812]: ",
    "rfc5424": b"<13>1 2026-12-01T07:54:37.583001+00:00 vault1 bao 812 - - ",
    "rfc5424 with sd": b'<13>1 2026-12-01T07:54:37.591450Z vault1 bao - - [timeQuality tzKnown="1" isSynced="0"] ',
}


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _verify(tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any],
                                                                                                  str]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_days = 0\ncanaries_file = "{CANARIES}"\n')
    out_json = tmp_path / f"{log.name}.json"
    rc = main(["verify", str(log), "--config", str(cfg), "--json", str(out_json), *extra])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    data = json.loads(out_json.read_text()) if out_json.exists() else {}
    return rc, data, cap.out + cap.err


def _accounting(data: dict[str, Any]) -> dict[str, Any]:
    files = data["files"]
    assert len(files) == 1
    return dict(files[0])


def _findings(data: dict[str, Any], check: str) -> list[tuple[str, str]]:
    """A check's findings as (message, line), the file's name left out."""
    return [(f["message"], f["where"].rsplit(":", 1)[-1]) for o in data["outcomes"] if o["check"] == check
            for f in o["findings"]]


# -- the framing itself, no daemon ------------------------------------------------------------------------------
@pytest.mark.parametrize("style", list(HEADERS))
def test_each_header_style_reads_as_the_entry_it_carries(style: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.log"
    plain.write_bytes(CLEAN.read_bytes())
    framed = tmp_path / "framed.log"
    framed.write_bytes(b"".join(HEADERS[style] + ln + b"\n" for ln in _lines(CLEAN)))
    for p in (plain, framed):
        p.chmod(0o600)
    rc_plain, d_plain, _ = _verify(tmp_path, plain, capsys)
    rc, d, text = _verify(tmp_path, framed, capsys)
    assert rc == rc_plain == 0, text
    a, b = _accounting(d), _accounting(d_plain)
    assert a["entries"] == b["entries"] == len(_lines(CLEAN)) and a["unreadable_lines"] == 0
    assert a["checks"] == b["checks"]


def test_rsyslog_control_character_escapes_neither_break_parsing_nor_hide_a_leak(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # rsyslog writes a tab between JSON tokens as "#011" ($EscapeControlCharactersOnReceive, on by default)
    lines = [HEADERS["rfc3164"] + ln.replace(b'{"', b'{#011"', 1) for ln in _lines(LEAKY)]
    assert all(b"#011" in ln for ln in lines)
    log = tmp_path / "escaped.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    log.chmod(0o600)
    rc, d, text = _verify(tmp_path, log, capsys)
    acc = _accounting(d)
    assert acc["unreadable_lines"] == 0 and acc["entries"] == len(lines), text
    # the leaky log's canary is still found behind header and escapes, under its key
    _, d_plain, _ = _verify(tmp_path, LEAKY, capsys)
    assert rc == 1 and any("<canary:" in m for m, _ in _findings(d, "no_secret_leak"))
    assert _findings(d, "no_secret_leak") == _findings(d_plain, "no_secret_leak") != []
    # a "#011" inside a JSON string is text, not an escape: kept as written
    assert unframe(HEADERS["rfc3164"] + b'{"path":"a#011b"}') == (b'{"path":"a#011b"}', "")


def test_a_cut_entry_is_a_finding_naming_the_limit_and_the_leak_in_it_is_still_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(LEAKY)
    header = HEADERS["traditional, no tag"]
    # the entry that carries <canary:1> (line 50), padded past 8k at its end and cut at 8192 bytes, as rsyslog's
    # imtcp does (the rest becomes a message of its own)
    entry = json.loads(lines[49])
    entry["zz_padding"] = "p" * 9000
    big = json.dumps(entry, separators=(",", ":")).encode()
    out = [header + big[:8192], header + big[8192:]] + [header + ln for ln in lines[:49]]
    log = tmp_path / "cut.log"
    log.write_bytes(b"\n".join(out) + b"\n")
    log.chmod(0o600)
    rc, d, text = _verify(tmp_path, log, capsys)
    assert rc == 1
    assert ("Line 1 of " in text and "cut at 8192 bytes: the syslog hop's message size limit (rsyslog: "
            "$MaxMessageSize / global(maxMessageSize=...))") in text, text
    assert "Line 2 of" in text and "rest of an entry the syslog hop cut" in text
    assert _accounting(d)["unreadable_lines"] == 2
    leaks = _findings(d, "no_secret_leak")
    assert any(m.startswith("<canary:1> appears in an unparseable line") and line == "1" for m, line in leaks), leaks
    # lines 36..48, read behind headers: seven values, each one finding however many detectors name it
    assert sum(1 for m, _ in leaks if m.startswith("A value under key")) == 7


def test_a_cut_at_no_usual_limit_is_not_blamed_on_the_hop_s_limit() -> None:
    """A last line cut while the file was copied mid-write ends at any size: only a cut at (or a header short of) a
    usual size limit is named as the hop's limit (red team rt17: 448 bytes was "the message size limit")."""
    line = max(_lines(CLEAN), key=len)
    assert len(line) > 600
    _, why = unframe(HEADERS["rfc3164"] + line[:448])
    assert why.startswith("ends mid-entry after 448 bytes") and "maxMessageSize" in why, why
    cut = 1024 - len(HEADERS["rfc3164"])
    _, why = unframe(HEADERS["rfc3164"] + (line * 3)[:cut])
    assert why.startswith("cut at 1024 bytes: the syslog hop's message size limit"), why


def test_live_file_source_reads_framed_lines_as_their_entries(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    src = FileLogSource(log)
    src.mark()
    lines = _lines(CLEAN)[:5]
    with open(log, "ab") as f:
        f.write(b"".join(HEADERS["rfc5424"] + ln + b"\n" for ln in lines))
        f.write(HEADERS["rfc5424"] + lines[0][:100] + b"\n")
    batch = LogBatch()
    src.poll(batch)
    src.close()
    assert [e.raw.encode() for e in batch.entries] == lines
    assert all(isinstance(e, AuditEntry) and e.line == i for i, e in enumerate(batch.entries, 1))
    assert len(batch.bad_lines) == 1 and isinstance(batch.bad_lines[0], BadLine)
    assert batch.bad_lines[0].line == 6 and batch.bad_lines[0].reason.startswith("ends mid-entry after 100 bytes")


# -- a real rsyslogd fed by a real OpenBao ------------------------------------------------------------------------
RSYSLOGD = shutil.which("rsyslogd") or next((p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd")
                                              if os.access(p, os.X_OK)), None)
needs_rsyslogd = pytest.mark.skipif(RSYSLOGD is None and not os.environ.get("CI"), reason="rsyslogd is not installed (Debian package rsyslog; "
                                    ".ci/run installs it)")
TEMPLATES = {"trad": "RSYSLOG_TraditionalFileFormat", "file": "RSYSLOG_FileFormat",
             "p23": "RSYSLOG_SyslogProtocol23Format"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rsyslog:
    """rsyslogd in the foreground with its own config, pid file and work dir: an imtcp input on a loopback port
    and one omfile output (mode 0600) per template."""

    def __init__(self, workdir: Path, max_message_size: Optional[str], escape_8bit: bool = False,
                 forward: Optional[int] = None) -> None:
        assert RSYSLOGD is not None
        self.port = _free_port()
        self.out = {name: workdir / f"{name}.log" for name in TEMPLATES}
        size = f' maxMessageSize="{max_message_size}"' if max_message_size else ""
        size += ' parser.escape8BitCharactersOnReceive="on"' if escape_8bit else ""
        conf = [f'global(workDirectory="{workdir}"{size})', 'module(load="imtcp")',
                f'input(type="imtcp" port="{self.port}" address="127.0.0.1")']
        conf += [f'action(type="omfile" file="{self.out[n]}" template="{t}" fileCreateMode="0600")'
                 for n, t in TEMPLATES.items()]
        if forward is not None:  # and on over TCP, each message after its length (RFC 6587), as to a SIEM
            conf.append(f'action(type="omfwd" target="127.0.0.1" port="{forward}" protocol="tcp" '
                        'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")')
        (workdir / "rsyslog.conf").write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(workdir / "rsyslog.conf"), "-i",
                                      str(workdir / "rsyslogd.pid")], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
                raise AssertionError(f"rsyslogd exited ({self.proc.returncode}): {err[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("rsyslogd did not listen within 10 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()


class SocketShipper:
    """What OpenBao's socket audit device does (one JSON entry and a newline over TCP), fed from its file device:
    a thread that follows the device's file and sends each new line to rsyslog."""

    def __init__(self, src: Path, port: int) -> None:
        self.src = src
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._stop = threading.Event()
        self._offset = 0
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _once(self) -> None:
        try:
            with open(self.src, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        cut = data.rfind(b"\n")
        if cut >= 0:
            self._offset += cut + 1
            self.sock.sendall(data[: cut + 1])
            self.sent += data[: cut + 1].count(b"\n")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._once()
            time.sleep(0.01)
        self._once()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Callable[..., Rsyslog]]:
    started: list[Rsyslog] = []

    def start(max_message_size: Optional[str], escape_8bit: bool = False, forward: Optional[int] = None) -> Rsyslog:
        d = tmp_path / f"rsyslog{len(started)}"
        d.mkdir()
        r = Rsyslog(d, max_message_size, escape_8bit, forward)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


class Capture:
    """A TCP receiver on a loopback port that writes the bytes of one connection to a file (mode 0600) as they
    come, framing and all: what a capture of a syslog sender's stream holds."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(20)
        self.port = int(self.server.getsockname()[1])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = os.open(self.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(20)
                while True:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    f.write(data)
                    f.flush()

    def close(self) -> None:
        """Wait for the sender to close its connection (rsyslog does when it stops), then stop listening."""
        self._thread.join(timeout=20)
        self.server.close()
        assert not self._thread.is_alive(), "the sender kept its connection open 20 s after it stopped"


def _all_shipped(shipper: SocketShipper, log: Path, seconds: float = 10) -> None:
    """Wait until ``shipper`` has sent every line of the device's file ``log``."""
    deadline = time.monotonic() + seconds
    while shipper.sent < log.read_bytes().count(b"\n"):
        assert time.monotonic() < deadline, f"{shipper.sent} lines of {log} sent after {seconds} s"
        time.sleep(0.05)


def _write_through(server: Any, hop: Rsyslog, writes: list[tuple[str, dict[str, Any]]]) -> int:
    """Each of ``writes`` (path, body) made as root, the device's entries shipped to ``hop`` and written by it, and
    ``hop`` stopped: how many entries were shipped."""
    shipper = SocketShipper(server.log_path, hop.port)
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        for path, body in writes:
            r = admin.call("POST", path, body)
            assert r.status in (200, 204), r.error
        _all_shipped(shipper, server.log_path)
    finally:
        admin.close()
        shipper.stop()
    _wait_lines(hop.out["file"], shipper.sent)
    hop.stop()
    return shipper.sent


def _wait_lines(path: Path, n: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_bytes().count(b"\n") >= n):
        assert time.monotonic() < deadline, f"{path} holds fewer than {n} lines after {seconds} s"
        time.sleep(0.05)



@needs_rsyslogd
@pytest.mark.vault
def test_rsyslog_hop_with_a_raised_limit_passes_live_and_offline(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                                                   rsyslog: Any, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    server = bao()
    url_env(server)
    hop = rsyslog("64k")
    shipper = SocketShipper(server.log_path, hop.port)
    try:
        run = run_audit(pytester, server, hop.out["file"], seal=False, log_wait=5.0)
        VaultClient(server.url, server.root_token, timeout=5).call(
            "POST", "secret/data/big", {"data": {f"key_{i:04d}_{'k' * 30}": "v" for i in range(200)}})
    finally:
        shipper.stop()
    assert run.failed_checks() == set(), run.result.stdout.str()
    assert_no_secret_in_outputs(run)
    sent = shipper.sent
    assert sent > 20
    for out in hop.out.values():
        _wait_lines(out, sent)
    hop.stop()
    # the device's own file and each of rsyslog's file formats give the same verdict on the same entries
    rc0, d0, text0 = _verify(tmp_path, server.log_path, capsys)
    big = max(len(ln) for ln in _lines(server.log_path))
    assert big > 8192  # the large secret's entry, which the default limit would cut
    for name, out in hop.out.items():
        rc, d, text = _verify(tmp_path, out, capsys)
        assert rc == rc0, f"{name}: {text}\n---\n{text0}"
        acc, acc0 = _accounting(d), _accounting(d0)
        assert acc["unreadable_lines"] == 0 and acc["entries"] == acc0["entries"] == sent, name
        assert acc["checks"] == acc0["checks"], name


@needs_rsyslogd
@pytest.mark.vault
def test_a_live_run_through_an_8k_hop_fails_at_its_own_long_entries(pytester: pytest.Pytester, bao: Any,
                                                                    url_env: Any, rsyslog: Any) -> None:
    """rsyslog's default 8k limit cuts the run's own first canary write and its reads (about 17 KB: the scenario's
    HOP_PROBE_KEYS): required_fields names the limit. Before, no entry of the run was past 8 KiB and the hop that
    would cut production entries passed (red team rt51 F6)."""
    server = bao()
    url_env(server)
    hop = rsyslog(None)
    shipper = SocketShipper(server.log_path, hop.port)
    try:
        run = run_audit(pytester, server, hop.out["file"], seal=False, log_wait=5.0)
    finally:
        shipper.stop()
    assert "required_fields" in run.failed_checks(), run.result.stdout.str()[-3000:]
    assert "cut at 8192 bytes: the syslog hop's message size limit" in run.text("required_fields")
    assert_no_secret_in_outputs(run)


@needs_rsyslogd
@pytest.mark.vault
def test_rsyslog_default_8k_limit_cuts_a_large_entry_and_says_so(bao: Any, rsyslog: Any, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    server = bao()
    hop = rsyslog(None)  # rsyslog's default maxMessageSize: 8k
    shipper = SocketShipper(server.log_path, hop.port)
    try:
        r = VaultClient(server.url, server.root_token, timeout=5).call(
            "POST", "secret/data/big", {"data": {f"key_{i:04d}_{'k' * 30}": "v" for i in range(200)}})
        assert r.status in (200, 204), r.error
        _all_shipped(shipper, server.log_path)
    finally:
        shipper.stop()
    _wait_lines(hop.out["file"], shipper.sent + 1)  # the cut entry's rest arrives as a message of its own
    hop.stop()
    for name, out in hop.out.items():
        rc, d, text = _verify(tmp_path, out, capsys)
        assert rc == 1, f"{name}: {text}"
        assert ("cut at 8192 bytes: the syslog hop's message size limit (rsyslog: $MaxMessageSize / "
                "global(maxMessageSize=...))") in text, f"{name}: {text}"
        assert _accounting(d)["unreadable_lines"] >= 2, name


@needs_rsyslogd
@pytest.mark.vault
@pytest.mark.parametrize("tuned", [True, False])
def test_a_secret_the_8k_limit_cuts_in_two_is_still_found(bao: Any, rsyslog: Any, tmp_path: Path, tuned: bool,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """rsyslog's default 8k limit cuts an entry and writes its rest as a message of its own: a known value astride
    the cut was whole on neither line, and no_secret_leak passed (red team rt28, F3; with --fail-on critical the run
    exited 0). Sixteen writes whose values sit 8 bytes apart, around the cut, put several astride it; each is named
    at the piece that holds 12 of its characters at least. HMAC'd (the mount not tuned), nothing is found."""
    server = bao()
    hop = rsyslog(None)
    shipper = SocketShipper(server.log_path, hop.port)
    values = [f"cut-{i:02d}-" + os.urandom(16).hex() for i in range(16)]
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        if tuned:
            r = admin.call("POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["filler", "note"]})
            assert r.status in (200, 204), r.error
        for i, value in enumerate(values):
            r = admin.call("POST", f"secret/data/cut{i}", {"data": {"filler": "x" * (7000 + 8 * i), "note": value}})
            assert r.status in (200, 204), r.error
        _all_shipped(shipper, server.log_path)
    finally:
        admin.close()
        shipper.stop()
    last = _lines(server.log_path)[-1][-40:]  # the end of the last entry: rsyslog has written all before it
    deadline = time.monotonic() + 10
    while not hop.out["file"].exists() or last not in hop.out["file"].read_bytes():  # (rsyslog makes it lazily)
        assert time.monotonic() < deadline, "rsyslog did not write the last entry within 10 s"
        time.sleep(0.05)
    hop.stop()
    canaries = tmp_path / "canaries.txt"
    canaries.write_text("".join(v + "\n" for v in values))
    shipped = hop.out["file"].read_bytes()
    astride = [i for i, v in enumerate(values, 1) if v.encode() not in shipped and v[:12].encode() in shipped]
    assert len(astride) >= 2 or not tuned, shipped.count(b"\n")
    rc, d, text = _verify(tmp_path, hop.out["file"], capsys, "--canaries", str(canaries), "--fail-on", "critical")
    found = {m.split(">", 1)[0].split(":")[-1]: line for m, line in _findings(d, "no_secret_leak")}
    if tuned:
        lines = shipped.splitlines()
        for i in astride:  # named at the cut line or at its rest, whichever holds a run of 12 of its characters
            assert str(i) in found, (i, text)
            piece, value = lines[int(found[str(i)]) - 1], values[i - 1].encode()
            assert value not in piece and any(value[j : j + 12] in piece for j in range(len(value) - 11)), (i, found)
        assert rc == 1, text
    else:
        assert found == {} and rc == 0, text


@needs_rsyslogd
@pytest.mark.vault
@pytest.mark.parametrize("tuned", [True, False])
def test_rsyslog_8bit_escapes_hide_no_secret(bao: Any, rsyslog: Any, tmp_path: Path, tuned: bool,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """rsyslog's parser.escape8BitCharactersOnReceive writes each byte with the eighth bit set as "#ooo" (the JSON
    stays valid): a non-ASCII secret a mount logs in clear (audit_non_hmac_request_keys) is still found at its line,
    as in the device's own file (red team rt17); HMAC'd, nothing is found."""
    server = bao()
    hop = rsyslog("64k", escape_8bit=True)
    secret = "Grüße-" + os.urandom(12).hex()
    tune = [("sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["note"]})] if tuned else []
    _write_through(server, hop, [*tune, ("secret/data/app", {"data": {"note": secret}})])
    canaries = tmp_path / "canaries.txt"
    canaries.write_text(secret + "\n")
    own = _lines(server.log_path)
    at = [str(i) for i, ln in enumerate(own, 1) if secret.encode() in ln]
    assert bool(at) == tuned
    for log in (server.log_path, hop.out["file"], hop.out["p23"]):
        if log != server.log_path:
            assert b"Gr#303#274#303#237e-" in log.read_bytes() or not tuned, log
        rc, d, text = _verify(tmp_path, log, capsys, "--canaries", str(canaries))
        lines = sorted({line for m, line in _findings(d, "no_secret_leak") if "<canary:1>" in m}, key=int)
        assert lines == at[:1], (log.name, text)
        assert rc == (1 if tuned else 0), text


@pytest.mark.parametrize("tail", [b"a" * 200_000, b"[a" * 100_000, b"a [" * 70_000, b"x " * 100_000])
def test_a_hostile_line_after_a_header_costs_linear_time(tail: bytes) -> None:
    # the header's tag/structured-data pattern has no nested repetition (a line of 8k without spaces once hung it)
    started = time.monotonic()
    for _ in range(20):
        payload, why = unframe(HEADERS["traditional, no tag"] + tail)
        assert payload is None and why
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("line", [b"5 <13>x" * 40_000, b"4 <13>" * 50_000, b"7 <13>1 {" * 30_000])
def test_a_line_of_many_octet_counted_messages_costs_linear_time(line: bytes) -> None:
    started = time.monotonic()
    for _ in range(2):
        payload, why = unframe(line)
        assert payload is None and "octet-counted syslog stream (RFC 6587) on one line" in why
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("header", ["<13>1 2026-12-02T15:42:04.102481+00:00 localhost AUDIT - - -  ",
                                    "Dec  2 15:42:04 localhost AUDIT:  "], ids=["rfc5424", "traditional"])
def test_a_device_prefix_the_hop_read_as_its_tag_is_the_entry_s(tmp_path: Path, header: str) -> None:
    """A socket device with prefix = "AUDIT: " sends "AUDIT: {...}" to rsyslog, which reads the prefix as its tag (or
    APP-NAME): with log_prefix set, as the tool asks for a prefixed device, each entry is read (before: every line
    an entry without the prefix; red team rt3, F2). A header that names no prefix is still no entry of the device."""
    lines = (FIXTURES / "openbao" / "clean.log").read_text().splitlines()
    log = tmp_path / "audit.log"
    log.write_text("".join(header + ln + "\n" for ln in lines))
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\nlog_prefix = "AUDIT: "\n')
    assert main(["verify", str(log), "--config", str(cfg), "-q"]) == 0
    # no line names the prefix: the settings do not fit this log, refused in one line (red team rt10, finding 5)
    log.write_text("".join(header.replace("AUDIT", "other") + ln + "\n" for ln in lines))
    assert main(["verify", str(log), "--config", str(cfg), "-q"]) == 2
    # one line that does not: an entry without the prefix, at its line
    log.write_text("".join(header.replace("AUDIT", "other" if i == 3 else "AUDIT") + ln + "\n"
                           for i, ln in enumerate(lines)))
    out = tmp_path / "out.json"
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(out), "-q"]) == 1
    assert "an entry without the prefix" in out.read_text()


@needs_rsyslogd
@pytest.mark.vault
@pytest.mark.parametrize("limit", ["64k", None])
def test_an_octet_counted_stream_is_framed_by_its_counts(bao: Any, rsyslog: Any, tmp_path: Path, limit: Optional[str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """rsyslog forwarding over TCP with octet counting (RFC 6587), captured as sent. Each message ends with the
    template's line end, so a capture holds one a line after its count, and reads as the vault's own file does.
    A message cut at the 8k limit loses its line end with its tail, so the next message joins its line: the line
    is the size limit's finding, named as the newline-framed copies of the same run are, and the entry of the
    message that joined it still pairs with its partner. Before (red team rt48 F3), the joined message's count was
    read as part of a digest (integrity_digest's finding of a malformed digest) and its partner was called lost."""
    server = bao()
    capture = Capture(tmp_path / "octet.raw")
    hop = rsyslog(limit, forward=capture.port)
    # a write whose request and response are past 8k, then small ones whose entries follow them
    sent = _write_through(server, hop, [("secret/data/big", {"data": {f"key_{i:04d}_{'k' * 30}": "v"
                                                                        for i in range(300)}}),
                                        *((f"secret/data/small{i}", {"data": {"note": "n"}}) for i in range(3))])
    capture.close()
    raw = capture.out.read_bytes()
    assert raw[:1].isdigit() and b" <" in raw[:10], raw[:80]
    rc0, d0, _ = _verify(tmp_path, server.log_path, capsys)
    rc1, d1, _ = _verify(tmp_path, hop.out["p23"], capsys)
    rc, d, text = _verify(tmp_path, capture.out, capsys)
    if limit:  # nothing cut: the same verdict and entries as the device's own file
        assert rc == rc0 == 0, text
        assert _accounting(d)["entries"] == _accounting(d0)["entries"] == sent, text
        return
    joined = [ln for ln in raw.split(b"\n") if len(ln) > 8192]
    assert joined, "no message was cut"
    assert rc == rc1 == 1, text
    cut = [m for m, _ in _findings(d, "required_fields")]
    assert cut and all("cut at 8192 bytes: the syslog hop's message size limit" in m and
                       "octet-counted syslog stream (RFC 6587) on one line" in m for m in cut), cut
    assert _findings(d, "completeness") == _findings(d1, "completeness") == [], text
    assert _findings(d, "integrity_digest") == [], text
