r"""Red team rt92: what each output does with a hostile file name or logged path.

F8: `auditready seal` and `auditready keygen` printed file names raw (a newline started a forged ``::error::`` line
under GitHub Actions; ESC coloured the terminal), where every other command shows them as escapes.
F9: a live run refused once its session started (exit 2) left pytest's --junitxml behind with no test in it, over
an earlier run's.
F10: evidence.json kept "##[" of a file name or a logged path raw, where the JSON and SARIF reports write #\u0023[.
F12: an annotation's file= mixed two escapes: CR/LF percent-encoded (the runner decodes them), other controls written
\x1b (which it keeps)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.cli import main

SCHEMAS = Path(__file__).resolve().parent / "schemas"

# A name that would start a workflow command of its own, colour the terminal, reorder the line, end it with a
# carriage return and hold GitHub's legacy "##[" command syntax, if it were printed as it is.
HOSTILE = "a\n::error::forged\x1b[31m\u202e\r##[warning]x\x07"


def _line(i: int) -> str:
    return json.dumps({"time": f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z", "type": "request",
                       "request": {"id": f"req-{i}", "path": "secret/data/p"}}) + "\n"


def _write_log(path: Path, n: int, start: int = 0) -> None:
    with open(path, "a") as f:
        f.writelines(_line(i) for i in range(start, start + n))
    path.chmod(0o600)


def _assert_inert(text: str) -> None:
    """Nothing in ``text`` acts: no control character but the newlines that end the tool's own lines, no line a
    runner reads as a workflow command, no bidi override, no "##[" (which the runner reads anywhere in a line)."""
    for ch in text:
        assert ch == "\n" or (ch.isprintable() and ch != "\u202e"), f"{ch!r} printed raw in {text!r}"
    assert "##[" not in text
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line


@pytest.fixture
def actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")


# -- F8: seal and keygen --------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("actions")
def test_keygen_shows_the_key_names_as_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / f"k{HOSTILE}"
    assert main(["keygen", str(key)]) == 0
    out, err = capsys.readouterr()
    _assert_inert(out + err)
    shown = "k" + r"a\x0a::error::forged\x1b[31m\u202e\x0d#\x23[warning]x\x07"
    assert f"private key: {tmp_path}/{shown} (mode 0600)" in out
    assert f"public key:  {tmp_path}/{shown}.pub (key id " in out
    assert key.is_file() and Path(f"{key}.pub").is_file()  # the files themselves have the names given


@pytest.mark.usefixtures("actions")
def test_seal_shows_the_log_and_chain_names_as_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The one-shot seal's warning (the chain starts over a log with lines in it) and its closing line."""
    key = tmp_path / "seal.key"
    assert main(["keygen", str(key)]) == 0
    log = tmp_path / f"{HOSTILE}.log"
    _write_log(log, 5)
    capsys.readouterr()
    assert main(["seal", str(log), "--key", str(key), "--state", str(tmp_path / "state")]) == 0
    out, err = capsys.readouterr()
    _assert_inert(out + err)
    shown = r"a\x0a::error::forged\x1b[31m\u202e\x0d#\x23[warning]x\x07.log"
    assert f"warning: sealing of {tmp_path}/{shown} begins now" in err
    assert f"of {tmp_path}/{shown} in 1 new record(s) -> {tmp_path}/{shown}.digests" in out


@pytest.mark.usefixtures("actions")
def test_seal_follow_names_the_log_and_chain_as_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`auditready seal --follow` runs as a service whose journal or CI log shows its lines: its banner too (the
    sealer stops at once here, as if stopped by SIGTERM before the log grew)."""
    from pytest_auditready.seal.sealer import Sealer

    monkeypatch.setattr(Sealer, "follow", lambda self, every_seconds, stop: self.summary)
    key = tmp_path / "seal.key"
    assert main(["keygen", str(key)]) == 0
    log = tmp_path / f"{HOSTILE}.log"
    _write_log(log, 5)
    capsys.readouterr()
    assert main(["seal", str(log), "--key", str(key), "--state", str(tmp_path / "state"), "--follow"]) == 0
    out, err = capsys.readouterr()
    _assert_inert(out + err)
    shown = r"a\x0a::error::forged\x1b[31m\u202e\x0d#\x23[warning]x\x07.log"
    assert f"auditready: sealing {tmp_path}/{shown} into {tmp_path}/{shown}.digests (every 1000 lines" in err


@pytest.mark.usefixtures("actions")
def test_seal_notes_name_the_files_found_beside_the_log_as_escapes(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The notes of a seal that found the log rotated while it was stopped name files it found in the log's
    folder, not typed by anyone; a new chain's warning names where the old one went. (No newline in this log's
    name: rotation.rotation_slot does not take one.)"""
    key = tmp_path / "seal.key"
    assert main(["keygen", str(key)]) == 0
    name = HOSTILE.replace("a\n", "")
    log = tmp_path / f"{name}.log"
    state = ["--state", str(tmp_path / "state")]
    _write_log(log, 5)
    assert main(["seal", str(log), "--key", str(key), *state]) == 0
    os.rename(log, f"{log}.2")  # rotated twice while the sealer was stopped: .1 was made whole since
    _write_log(Path(f"{log}.1"), 3, 5)
    _write_log(log, 2, 8)
    capsys.readouterr()
    assert main(["seal", str(log), "--key", str(key), *state]) == 0
    out, err = capsys.readouterr()
    _assert_inert(out + err)
    shown = r"::error::forged\x1b[31m\u202e\x0d#\x23[warning]x\x07.log"
    assert f"note: {tmp_path}/{shown}.1 was rotated whole while the sealer was stopped" in err
    assert main(["seal", str(log), "--key", str(key), *state, "--new-chain"]) == 0
    out, err = capsys.readouterr()
    _assert_inert(out + err)
    assert (f"warning: starting a new chain in {tmp_path}/{shown}.digests (--new-chain); the old one was moved to "
            f"{tmp_path}/{shown}.digests.replaced-") in err


# -- F9: a refused live run leaves no --junitxml ---------------------------------------------------------------
_EARLIER = '<testsuites><testsuite name="pytest" tests="40" failures="0"/></testsuites>\n'


def _assert_no_report(result: pytest.RunResult, *paths: Path) -> None:
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, out[-2000:]
    for path in paths:
        assert not path.exists(), f"{path.name} left behind: {path.read_text()[:300]}"
    assert "generated xml file" not in out  # (pytest said it wrote one)


@pytest.mark.vault
def test_a_refused_bootstrap_leaves_no_junitxml(pytester: pytest.Pytester) -> None:
    """The embedded target booted from a vault_config whose bootstrap fails: refused as the live phase begins,
    after pytest's session started (which writes --junitxml at its end)."""
    vc = pytester.path / "vc"
    (vc / "policies").mkdir(parents=True)
    (vc / "server.hcl").write_text('disable_mlock = true\naudit "file" "file" {\n  options {\n'
                                   '    file_path = "/var/log/openbao/audit.log"\n    mode = "0600"\n  }\n}\n')
    (vc / "bootstrap.sh").write_text("#!/bin/sh\nexit 7\n")
    (vc / "bootstrap.sh").chmod(0o755)
    pytester.makepyprojecttoml('[tool.auditready]\nbootstrap = "./bootstrap.sh"\n')
    junit, sarif = pytester.path / "junit.xml", pytester.path / "audit.sarif"
    junit.write_text(_EARLIER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--auditready", f"--auditready-vault-config={vc}",
                                f"--junitxml={junit}", f"--auditready-sarif={sarif}")
    assert "the bootstrap './bootstrap.sh' failed (exit 7)" in result.stdout.str() + result.stderr.str()
    _assert_no_report(result, junit, sarif)


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A vault that refuses every token: 403, as Vault and OpenBao answer one that is invalid or expired."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"errors": ["permission denied"]}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_LIST = _any


@pytest.fixture
def refusing_vault() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_token_the_vault_rejects_leaves_no_junitxml(pytester: pytest.Pytester, refusing_vault: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL target whose vault rejects VAULT_TOKEN: refused at the live phase's first call; the earlier run's
    --junitxml is removed, and pytest writes none (it wrote one with no test in it, a run that passed)."""
    monkeypatch.setenv("VAULT_TOKEN", "hvs.not-a-valid-token")
    log = pytester.path / "audit.log"
    log.write_text("")
    log.chmod(0o600)
    pytester.makepyprojecttoml("[tool.auditready]\nretention_days = 0\n")
    junit = pytester.path / "reports" / "junit.xml"
    junit.parent.mkdir()
    junit.write_text(_EARLIER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--auditready", f"--auditready-target={refusing_vault}",
                                f"--auditready-log={log}", f"--junitxml={junit}")
    assert "rejected the token (403: permission denied)" in result.stdout.str() + result.stderr.str()
    _assert_no_report(result, junit)
    assert log.exists()  # an input is never removed


# -- F10 and F12: a hostile name in evidence.json and in an annotation's file= -------------------------------------
NAME = "g##[error]h\x1b[31m\n::x,y%.log"
DENIED = "secret/data/app/::error::fromdenied ##[warning]x"


def _hostile_log(folder: Path) -> str:
    """A real OpenBao file device's log, named NAME, whose denied read (entries 28 and 29) asked for DENIED; the
    name, relative to ``folder`` (the working directory)."""
    lines = (SCHEMAS / "opt_correct.log").read_text().splitlines(True)
    for i in (27, 28):
        assert "permission denied" in lines[i] and '"path":"secret/data/app/db"' in lines[i]
        lines[i] = lines[i].replace('"path":"secret/data/app/db"', f'"path":"{DENIED}"')
    (folder / NAME).write_text("".join(lines))
    (folder / NAME).chmod(0o600)
    return NAME


def test_evidence_json_writes_the_hash_of_a_workflow_command_as_the_json_report_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    name = _hostile_log(tmp_path)
    assert main(["verify", name, "--evidence", "ev", "--json", "r.json"]) == 1
    capsys.readouterr()
    text = (tmp_path / "ev" / "evidence.json").read_text()
    assert "##[" not in text and "##[" not in (tmp_path / "r.json").read_text()
    assert "#\\u0023[" in text  # as the JSON report writes it
    doc = json.loads(text)  # valid JSON, and the same strings to a reader
    assert doc["inputs"]["logs"][0]["path"] == NAME
    assert DENIED in json.dumps(doc["review"], ensure_ascii=False)
    sums = dict(reversed(line.split("  ")) for line in (tmp_path / "ev" / "SHA256SUMS").read_text().splitlines())
    assert sums["evidence.json"] == hashlib.sha256(text.encode()).hexdigest()  # the digest is of what was written


@pytest.mark.usefixtures("actions")
def test_an_annotations_file_property_is_percent_encoded_throughout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    name = _hostile_log(tmp_path)
    assert main(["verify", name]) == 1
    out, err = capsys.readouterr()
    _assert_inert(out.replace("\n::error ", "\n").replace("\n::warning ", "\n") + err)
    commands = [line for line in out.splitlines() if line.startswith("::error file=")]
    assert commands, out[-2000:]
    for line in commands:
        prop = line[len("::error file="):].split(",line=")[0].split(",title=")[0]
        assert prop == "g#%23[error]h%1B[31m%0A%3A%3Ax%2Cy%25.log"
        assert urllib.parse.unquote(prop) == NAME  # one form: percent-decoded, the file's name
        message = line.split("::", 2)[2]  # the message keeps its escapes: made visible, then escapeData
        assert "\\x1b[31m\\x0a::x,y%25.log" in message


@pytest.mark.parametrize("name", [
    "audit.log", "logs/audit-2026-01-05.log", "s3://bucket/audit.log", "a b.log",
    "a\rb\tc\x00d\x7fe\x9bf.log",  # C0, DEL and C1 controls
    "bidi\u202eexe.gol\u2066x\u2028y.log", "zero\u200bwidth\ufeff\U000e0041.log",  # reordering, invisible
    "bytes\udcff\udc80.log",  # a name's bytes that are no UTF-8, as Python reads them
    "#[a] ##[b] ###[c] %0A %3A.log", "caf\u00e9 \u65e5\u672c.log",
])
def test_escape_file_round_trips_every_name(name: str) -> None:
    from pytest_auditready.report.github import escape_file

    prop = escape_file(name)
    assert all(ch.isprintable() and ch not in ":,\\" for ch in prop), prop
    assert "##[" not in prop
    assert urllib.parse.unquote(prop, errors="surrogateescape") == name
    if name.isascii() and name.isprintable() and not set(name) & set("%:,#"):
        assert prop == name  # an ordinary name is as it is
