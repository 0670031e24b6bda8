"""Input sources under degraded conditions (red team rt73): an object store that trickles its answer or never
answers, an object rewritten while it is read (against a moto S3 server on loopback, behind a small proxy started
here), and a log command that ends before the run does (against a real OpenBao, as tests/test_sources.py)."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from pytest_auditready.auditlog.match import match_actions
from pytest_auditready.auditlog.model import AccessLedger, Action
from pytest_auditready.auditlog.source import LogBatch
from pytest_auditready.auditlog.sources import CommandLogSource
from pytest_auditready.cli import main
from pytest_auditready.errors import AuditReadyError
from tests.auditrun import run_audit
from tests.test_object_store import FAKE_SECRET, s3  # noqa: F401  (a bucket on the loopback S3 server)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"


# -- object storage --------------------------------------------------------------------------------------------
class Proxy:
    """A loopback hop in front of the S3 server. ``mode``: "pass" forwards; "trickle-get" sends the headers of an
    object's GET (a path with no query) at once and its body ``step`` bytes every ``pause`` s; "trickle-all" so
    sends every answer, headers too; "silent" reads each request and never answers. ``before_get`` runs before a
    ranged GET past the object's first byte is forwarded. ``requests`` counts the requests seen."""

    def __init__(self, upstream: str, mode: str, step: int = 64, pause: float = 0.02) -> None:
        host, port = upstream.rsplit("/", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.mode, self.step, self.pause = mode, step, pause
        self.before_get: Optional[Callable[[], None]] = None
        self.requests = 0
        self._done = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        state = {"slow": False, "head": False}
        if self.mode == "silent":
            with contextlib.suppress(OSError):
                while client.recv(65536):
                    self.requests += 1
            self._done.wait(60)
            client.close()
            return
        upstream = socket.create_connection(self.upstream, timeout=60)

        def up() -> None:
            with contextlib.suppress(OSError):
                while data := client.recv(65536):
                    line = data.split(b"\r\n", 1)[0].split(b" ")
                    if len(line) == 3 and line[2].startswith(b"HTTP/"):  # a request's first bytes
                        self.requests += 1
                        get = line[0] == b"GET" and b"?" not in line[1]
                        state["slow"] = self.mode == "trickle-all" or (self.mode == "trickle-get" and get)
                        state["head"] = True
                        ranged = get and b"\r\nrange: bytes=" in data.lower() and b"bytes=0-" not in data.lower()
                        if ranged and self.before_get is not None:
                            self.before_get()
                    upstream.sendall(data)

        threading.Thread(target=up, daemon=True).start()
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if not state["slow"]:
                    client.sendall(data)
                    continue
                if state["head"] and self.mode == "trickle-get" and b"\r\n\r\n" in data:
                    head, _, data = data.partition(b"\r\n\r\n")
                    client.sendall(head + b"\r\n\r\n")
                state["head"] = False
                for i in range(0, len(data), self.step):
                    if self._done.is_set():
                        return
                    client.sendall(data[i:i + self.step])
                    time.sleep(self.pause)
        client.close()
        upstream.close()

    def stop(self) -> None:
        self._done.set()
        self._listener.close()


@pytest.fixture
def proxy(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Proxy]]:  # noqa: F811
    made: list[Proxy] = []

    def start(mode: str, **kw: Any) -> Proxy:
        p = Proxy(s3.endpoint, mode, **kw)
        made.append(p)
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)  # a new environment: a new client, through the proxy
        return p

    yield start
    for p in made:
        p.stop()


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    rc = main(["verify", url, "--config", str(cfg), "-q"])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "Traceback" not in text and FAKE_SECRET not in text
    return rc, text


def _lines(n_bytes: int) -> bytes:
    """Whole lines of the recorded OpenBao log, about ``n_bytes`` of them."""
    out = b""
    for line in CLEAN.read_bytes().splitlines(keepends=True):
        if len(out) >= n_bytes:
            break
        out += line
    return out


@pytest.mark.parametrize("mode, path, what", [
    ("trickle-get", "small", "cannot read"),  # one GET of the whole object, no Range
    ("trickle-get", "ranged", "cannot read"),  # an object read in ranged GETs
    ("trickle-all", "small", "cannot list"),  # the listing's answers trickle too
])
def test_a_store_that_trickles_its_answer_is_refused_at_each_requests_deadline(
        mode: str, path: str, what: str, s3: Any, proxy: Callable[..., Proxy], tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: botocore's read_timeout is a wait between bytes, which a trickle (64 bytes every
    20 ms here, 4 every 50 ms for every answer) resets, so the read went on as long as the trickle did (red team rt73 F2: a run never ended). Each
    request has a deadline as a whole (cut to 1.5 s here, from DEADLINE_FLOOR s plus its size at MIN_RATE): one
    line, exit 2, naming the URL, the cause and the fix."""
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "DEADLINE_FLOOR", 1.5, raising=False)
    # the floor alone: these bodies take seconds to trickle (raising=False: without the fix, no such setting)
    monkeypatch.setattr(objects, "MIN_RATE", 1 << 40, raising=False)
    if path == "ranged":
        monkeypatch.setattr(objects, "SMALL", 1024)  # read in ranged GETs, as a large object is
    body = _lines(30_000 if mode == "trickle-get" else 2_000)  # 10 to 30 s at the trickle's rate
    s3.put_object(Bucket=s3.bucket, Key=f"{path}/audit.log", Body=body)
    if mode == "trickle-all":
        proxy(mode, step=4, pause=0.05)  # an answer of a few hundred bytes takes seconds
    else:
        proxy(mode)
    url = f"s3://{s3.bucket}/{path}/audit.log"
    rc, text = _verify(tmp_path, capsys, url)
    line = text.strip()
    assert rc == 2 and len(line.splitlines()) == 1, text
    assert line.startswith(f"auditready: {what} {url}: the store did not answer in time"), line
    assert "its answer came slower than" in line and "any proxy before it and the network" in line, line


def test_a_store_at_its_usual_speed_is_read_within_the_same_deadlines(
        s3: Any, proxy: Callable[..., Proxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same deadlines through the same hop passing answers on at once: every object is read, no refusal."""
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "DEADLINE_FLOOR", 1.5, raising=False)
    monkeypatch.setattr(objects, "MIN_RATE", 1 << 40, raising=False)
    monkeypatch.setattr(objects, "SMALL", 1024)
    s3.put_object(Bucket=s3.bucket, Key="v/audit.log", Body=CLEAN.read_bytes())
    proxy("pass")
    rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/v/audit.log")
    assert rc == 0, text


def test_a_store_that_never_answers_is_asked_each_listing_call_once(
        s3: Any, proxy: Callable[..., Proxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: botocore's retries={"max_attempts": 1} is one retry, so each call was sent twice and
    a silent store was refused after 62 s where the code said about 30 s (red team rt73 F6). Its HEAD and its LIST
    are each sent once, S3_READ_TIMEOUT (cut to 1 s here) each."""
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "S3_READ_TIMEOUT", 1)
    silent = proxy("silent")
    url = f"s3://{s3.bucket}/vault/audit.log"
    rc, text = _verify(tmp_path, capsys, url)
    assert rc == 2 and f"cannot list {url}: the store did not answer in time" in text, text
    assert silent.requests == 2  # HEAD (is it an object?), then LIST (is it a prefix?)


def test_an_object_rewritten_while_it_is_read_gets_a_fix_about_its_writer(
        s3: Any, proxy: Callable[..., Proxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: the refusal of an object whose ETag changed between two ranged GETs said to check
    the endpoint and the network (red team rt73 F6). The fix is about what writes to the prefix."""
    import boto3  # type: ignore[import-untyped,unused-ignore]

    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "SMALL", 1024)
    monkeypatch.setattr(objects, "READ_BLOCK", 16 << 10)  # a block read after the first one
    body = CLEAN.read_bytes()
    s3.put_object(Bucket=s3.bucket, Key="race/audit.log", Body=body)
    hop = proxy("pass")
    direct = boto3.client("s3", endpoint_url=s3.endpoint)

    def rewrite() -> None:  # a shipper uploading the log again as it grows
        direct.put_object(Bucket=s3.bucket, Key="race/audit.log", Body=body + body[:1000])
        hop.before_get = None

    hop.before_get = rewrite
    url = f"s3://{s3.bucket}/race/audit.log"
    rc, text = _verify(tmp_path, capsys, url)
    line = text.strip()
    assert rc == 2 and len(line.splitlines()) == 1, text
    assert f"cannot read {url}" in line and "replaced after it was listed (its ETag changed)" in line, line
    assert "fix: find what writes to the prefix" in line and "the network" not in line, line


# -- a log command that ends -----------------------------------------------------------------------------------
def _entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in log.read_text().splitlines()]


def _ledger(log: Path) -> AccessLedger:
    """A ledger of the recorded log's requests, by their request ids, in the log's order (the scenario's own)."""
    ledger = AccessLedger("rt73", "recorded")
    seen: set[str] = set()
    for i, e in enumerate(_entries(log)):
        rid = e.get("request", {}).get("id", "")
        if e.get("type") != "request" or not rid or rid in seen:
            continue
        seen.add(rid)
        req = e["request"]
        ledger.record(Action(f"a{i}", "admin", "", "POST", req.get("path", ""), req.get("operation", ""), 0, 0,
                             200, request_id=rid))
    return ledger


def _judged(command: str, log: Path) -> Optional[AuditReadyError]:
    """Run ``command`` as the live run's log source until it exits, match what it printed to the recorded log's
    requests, and return the refusal the live run gives it (None: judged)."""
    from pytest_auditready.engine.live import _ended_before_the_run

    src = CommandLogSource(command)
    src.mark()
    batch = LogBatch()
    try:
        deadline = time.monotonic() + 30
        while not src.ended:
            assert time.monotonic() < deadline, "the command did not exit"
            src.poll(batch)
            time.sleep(0.02)
    finally:
        src.close()
    ledger = _ledger(log)
    matches = match_actions(ledger.actions, batch.entries, 2 * 10**9)
    try:
        _ended_before_the_run(src, matches, ledger)
    except AuditReadyError as exc:
        return exc
    return None


def _responded(log: Path) -> int:
    """The line of the recorded log's last response entry (1-based)."""
    return max(i for i, e in enumerate(_entries(log), 1) if e.get("type") == "response")


@pytest.mark.parametrize("cut", ["whole", "to-the-last-response"])
def test_a_command_that_printed_the_run_to_its_end_and_exited_is_judged(cut: str) -> None:
    """A query run after the fact (the log whole, or up to the last request's response entry, then exit 0)
    printed the run to its end: judged as any log, not refused."""
    n = _responded(CLEAN) if cut != "whole" else len(_entries(CLEAN))
    cmd = f"head -n {n} {shlex.quote(str(CLEAN))}"
    assert _judged(cmd, CLEAN) is None


@pytest.mark.parametrize("cut", [20, "before-the-last-response"])
def test_a_command_that_exited_before_the_runs_last_request_is_refused(cut: Any) -> None:
    """Fails without the fix: what a command printed before it exited 0 was judged as the whole run, the rest
    blamed on the vault (red team rt73 F3). Refused in one line naming what it printed and the fix."""
    n = cut if isinstance(cut, int) else _responded(CLEAN) - 1
    err = _judged(f"head -n {n} {shlex.quote(str(CLEAN))}", CLEAN)
    assert err is not None
    assert f"the log command 'head' exited (status 0) after printing {n} line(s), before the run's last request" in (
        err.cause)
    assert "follow the log" in err.fix and "\n" not in str(err)


# `tail -F -n +1 LOG | sed "/MARK/q"` (or `| head -n N`), as a command that surely exits: it prints the log from its
# start and follows it until it printed a line holding every MARK, then exits 0. (The shell running such a pipe exits
# only when tail does, at its next write after sed or head is gone, and tail may have written the rest of the run in
# one write already; the lines a run writes before its first action vary with when the command started.)
FOLLOW_UNTIL = """
import sys, time
marks = [m.encode() for m in sys.argv[2:]]
with open(sys.argv[1], "rb") as f:
    part = b""
    while True:
        part += f.readline()
        if not part.endswith(b"\\n"):
            time.sleep(0.01)
            continue
        sys.stdout.buffer.write(part)
        sys.stdout.flush()
        if all(m in part for m in marks):
            break
        part = b""
"""


@pytest.mark.vault
def test_live_run_through_a_command_that_stops_partway_is_refused_in_one_line(
        pytester: pytest.Pytester, bao: Any, url_env: Any, tmp_path: Path) -> None:
    """Fails without the fix: a command that follows the log and exits 0 partway through the run (here once it
    printed the response to the run's first canary write) had what it printed judged as the whole run: about 25
    items failed blaming the vault's pipeline and 30 passed on entries it never printed (red team rt73 F3,
    `tail -F | head -n 20`). One line, exit 2, naming what it printed; no check judged."""
    server = bao()
    url_env(server)
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW_UNTIL)
    marks = ['"type":"response"', '/data/auditready/']
    cmd = " ".join(shlex.quote(w) for w in (sys.executable, str(script), str(server.log_path), *marks))
    run = run_audit(pytester, server, None, f"--auditready-log-command={cmd}", seal=False, log_wait=5.0)
    text = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, text[-3000:]
    said = r"exited \(status 0\) after printing \d+ line\(s\), before the run's last request \(\w+ [^)]+\) was in them"
    assert re.search(said, text), text[-3000:]
    assert "make it follow the log" in text
    assert not [name for name, status in run.items.items() if status != "skipped"], run.items


# -- what a command printed, said as printed (F6) ---------------------------------------------------------------
def test_a_command_that_fails_after_printing_says_how_much_it_printed() -> None:
    """Fails without the fix: `exited with status 3: nothing on stderr`, with no word of the line it printed."""
    src = CommandLogSource("sh -c 'echo hello; exit 3'")
    src.mark()
    deadline = time.monotonic() + 10
    with pytest.raises(AuditReadyError) as err:
        while time.monotonic() < deadline:
            src.poll(LogBatch())
            time.sleep(0.02)
    assert "exited with status 3: nothing on stderr (it had printed 1 line(s) on its standard output)" in str(
        err.value)


@pytest.mark.vault
def test_a_command_that_prints_bytes_and_no_newline_says_so(pytester: pytest.Pytester, bao: Any,
                                                            url_env: Any) -> None:
    """Fails without the fix: a command printing the log with its newlines taken out was said to have printed
    "0 line(s)". It printed bytes and not one newline: said, with the fix."""
    server = bao()
    url_env(server)
    cmd = f"sh -c 'tail -F -n0 {shlex.quote(str(server.log_path))} | tr -d \"\\n\"'"
    run = run_audit(pytester, server, None, f"--auditready-log-command={cmd}", seal=False, log_wait=2.0)
    text = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == 2, text[-3000:]
    assert "byte(s) in the 2 s log_wait allowed and not one newline" in text, text[-3000:]
    assert "each ending with a newline" in text and "0 line(s)" not in text


