"""An audit device writing to stdout, read where the platform keeps it (``auditlog.container``): the framing of
containerd / CRI-O (``/var/log/containers``), Docker's json-file driver and journald's JSON export is taken off,
lines the platform split are put back together, the vault's server log on stderr is left out; a log cut inside a
split entry, or an entry journalctl withheld (a field over 4096 bytes without ``--all``), is a finding that names
the hop.

The framed logs are built here from logs recorded from a real OpenBao (fixtures/openbao/odd), framed as each
platform documents it; the split size is the runtime's setting (containerd's ``max_container_log_line_size``), set
small here so that every entry is split into many pieces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from pytest_auditready.errors import AuditReadyError

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CANARIES = read_canaries(str(ROOT / "openbao" / "canaries.txt"))
CHECKS = offline_checks(BUILTIN)
CONTENT = ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "integrity_digest",
           "data_minimisation")
SERVER_LOG = b'2026-01-05T08:00:00.000Z [INFO]  core: successful mount: namespace="" path=secret/ type=kv'
Frame = Callable[[list[bytes], int], list[bytes]]


def _stamp(i: int) -> bytes:
    return b"2026-01-05T08:00:%02d.%09dZ" % (i % 60, i * 1000 + 7)


def cri(lines: list[bytes], size: int) -> list[bytes]:
    """containerd's CRI log: '<time> <stream> <P|F> <piece>', a server-log line on stderr every fifth entry."""
    out = []
    for i, ln in enumerate(lines):
        if i % 5 == 0:
            out.append(_stamp(i) + b" stderr F " + SERVER_LOG)
        pieces = [ln[j:j + size] for j in range(0, len(ln), size)]
        out += [_stamp(i) + (b" stdout F " if k == len(pieces) - 1 else b" stdout P ") + p
                for k, p in enumerate(pieces)]
    return out


def docker(lines: list[bytes], size: int) -> list[bytes]:
    """Docker's json-file driver: every piece but the last of a split line lacks the final newline."""
    out = []
    for i, ln in enumerate(lines):
        t = _stamp(i).decode()
        if i % 5 == 0:
            out.append(json.dumps({"log": SERVER_LOG.decode() + "\n", "stream": "stderr", "time": t}).encode())
        text = ln.decode()
        pieces = [text[j:j + size] for j in range(0, len(text), size)]
        out += [json.dumps({"log": p + ("\n" if k == len(pieces) - 1 else ""), "stream": "stdout", "time": t})
                .encode() for k, p in enumerate(pieces)]
    return out


def journal(lines: list[bytes], size: int) -> list[bytes]:
    """journalctl -o json: MESSAGE is the line; journald marks the pieces of a split line _LINE_BREAK=line-max."""
    out = []
    for i, ln in enumerate(lines):
        base = {"__CURSOR": f"s=0;i={i}", "__REALTIME_TIMESTAMP": str(1767600000000000 + i), "_TRANSPORT": "stdout",
                "SYSLOG_IDENTIFIER": "bao", "_SYSTEMD_UNIT": "openbao.service", "PRIORITY": "6"}
        if i % 5 == 0:
            out.append(json.dumps({**base, "MESSAGE": SERVER_LOG.decode()}).encode())
        text = ln.decode()
        pieces = [text[j:j + size] for j in range(0, len(text), size)]
        for k, p in enumerate(pieces):
            rec = {**base, "MESSAGE": p}
            if k < len(pieces) - 1:
                rec["_LINE_BREAK"] = "line-max"
            out.append(json.dumps(rec).encode())
    return out


FRAMES = {"cri": cri, "docker": docker, "journal": journal}


def _write(tmp_path: Path, name: str, lines: list[bytes]) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    path.chmod(0o600)
    return path


def _verify(path: Path) -> dict[str, list[str]]:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, CANARIES)
    return {o.check_id: [f"{f.where} {f.text()}" for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def _lines_of(where_texts: list[str]) -> list[int]:
    return sorted(int(t.split(" ", 1)[0].rsplit(":", 1)[1]) for t in where_texts)


@pytest.mark.parametrize("frame", FRAMES)
def test_a_correct_log_behind_platform_framing_gives_no_finding(tmp_path: Path, frame: str) -> None:
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    framed = _write(tmp_path, "framed.log", FRAMES[frame](lines, 97))
    assert _verify(framed) == {}
    res = verify_file(str(framed), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, CANARIES)
    assert res.entries == len(lines)  # every entry put back together, no server-log line read as one
    assert res.bad_lines == 0
    said = res.accounting()  # the report says what framing was taken off and what was left out
    assert (said["framing"], said["left_out"]) == (frame, len(range(0, len(lines), 5)))


@pytest.mark.parametrize("frame", FRAMES)
def test_every_planted_secret_behind_framing_is_found_at_the_line_that_ends_its_entry(tmp_path: Path,
                                                                                    frame: str) -> None:
    lines = (ROOT / "openbao/odd/leaky.log").read_bytes().splitlines()
    plain = _verify(_write(tmp_path, "plain.log", lines))["no_secret_leak"]
    framed_lines = FRAMES[frame](lines, 97)
    found = _verify(_write(tmp_path, "framed.log", framed_lines))["no_secret_leak"]
    assert len(found) == len(plain) > 0
    # The record that ends entry n is the n-th one that does not continue a split line.
    ends = [i for i, ln in enumerate(framed_lines, 1)
            if b" stdout F " in ln or b'\\n", "stream": "stdout"' in ln
            or (b'"MESSAGE"' in ln and b"line-max" not in ln and b"[INFO]" not in ln)]
    assert _lines_of(found) == [ends[n - 1] for n in _lines_of(plain)]


@pytest.mark.parametrize("frame", FRAMES)
def test_a_log_cut_inside_a_split_entry_fails_naming_the_platform(tmp_path: Path, frame: str) -> None:
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    framed = FRAMES[frame](lines, 97)[:-1]  # the last piece never written
    found = _verify(_write(tmp_path, "cut.log", framed))
    (text,) = found["required_fields"]
    assert text.startswith(f"{tmp_path / 'cut.log'}:{len(framed)} ")
    assert {"cri": "CRI tag P", "docker": "json-file", "journal": "LineMax"}[frame] in text


def test_an_entry_journalctl_withheld_fails_naming_all(tmp_path: Path) -> None:
    lines = journal((ROOT / "openbao/odd/correct.log").read_bytes().splitlines(), 1 << 20)
    rec = json.loads(lines[7])
    rec["MESSAGE"] = None  # journalctl -o json without --all: a field over 4096 bytes is written as null
    lines[7] = json.dumps(rec).encode()
    found = _verify(_write(tmp_path, "journal.json", lines))
    (text,) = [t for t in found["required_fields"] if "--all" in t]
    assert text.startswith(f"{tmp_path / 'journal.json'}:8 ")


def test_a_server_log_line_on_stdout_is_not_left_out(tmp_path: Path) -> None:
    """Only the stderr stream is the server's: text on stdout, where the audit device writes, is judged (a line
    that is no audit entry is a finding), never skipped."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    framed = cri(lines, 1 << 20)
    framed.insert(3, _stamp(3) + b" stdout F " + SERVER_LOG)
    found = _verify(_write(tmp_path, "cri.log", framed))
    assert _lines_of(found["required_fields"]) == [4]


def _cloudwatch(lines: list[bytes]) -> list[bytes]:
    """A CloudWatch Logs export to S3: '<time> <message>' a line, in no particular order (AWS documents it)."""
    return [json.loads(ln)["time"][:23].encode() + b"Z " + ln for ln in lines]


def test_a_cloudwatch_export_out_of_time_order_is_read_and_its_order_not_judged(tmp_path: Path) -> None:
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()[::-1]  # newest first
    with pytest.raises(AuditReadyError, match="newest first"):  # a plain file in that order is refused
        _verify(_write(tmp_path, "plain.log", lines))
    framed = _write(tmp_path, "000000", _cloudwatch(lines))
    assert _verify(framed) == {}
    res = verify_file(str(framed), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, CANARIES)
    (order,) = [o for o in res.outcomes if o.check_id == "timestamp_accuracy"]
    assert order.status == "skipped" and "CloudWatch Logs export keeps no time order" in order.reason
    assert res.entries == len(lines) and res.accounting()["framing"] == "cloudwatch"


def test_log_framing_none_reads_the_lines_as_they_are(tmp_path: Path) -> None:
    """A named framing is taken as said: with log_framing = "none" the CloudWatch times are text before the JSON,
    and every line is reported, not silently unwrapped."""
    lines = _cloudwatch((ROOT / "openbao/odd/correct.log").read_bytes().splitlines())
    framed = _write(tmp_path, "000000", lines)
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format="vault", log_framing="none")
    res = verify_file(str(framed), settings, CHECKS, CANARIES, detected=True)
    assert res.bad_lines == len(lines)
