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


@pytest.mark.parametrize("lost", ["first piece", "export starts inside"])
def test_a_split_entry_without_its_first_piece_is_lost_not_left_out(tmp_path: Path, lost: str) -> None:
    """journald split an entry at LineMax and its first piece is not in the export (a record lost, or journalctl
    --since began inside it): the rest was left out as the vault's own server output, and the entry passed unseen
    (red team rt48 F6). Each piece without its start is a line lost; the server log beside it is still left out."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    framed = journal(lines, 97)
    assert _verify(_write(tmp_path, "whole.json", framed)) == {}
    starts = [i for i, ln in enumerate(framed) if json.loads(ln).get("MESSAGE", "").startswith('{"time"')]
    cut = framed[starts[3] + 1:] if lost == "export starts inside" else framed[:starts[3]] + framed[starts[3] + 1:]
    pieces = next(k for k in range(starts[3] + 1, len(framed)) if "_LINE_BREAK" not in json.loads(framed[k]))
    found = _verify(_write(tmp_path, "cut.json", cut))
    said = [t for t in found.get("required_fields", ()) if "whose first piece is not in the export" in t]
    assert len(said) == pieces - starts[3], found  # every piece left of the entry
    assert not [t for t in found.get("required_fields", ()) if "SERVER_LOG" in t or "successful mount" in t]


def test_an_entry_journalctl_withheld_fails_naming_all(tmp_path: Path) -> None:
    lines = journal((ROOT / "openbao/odd/correct.log").read_bytes().splitlines(), 1 << 20)
    rec = json.loads(lines[7])
    rec["MESSAGE"] = None  # journalctl -o json without --all: a field over 4096 bytes is written as null
    lines[7] = json.dumps(rec).encode()
    found = _verify(_write(tmp_path, "journal.json", lines))
    (text,) = [t for t in found["required_fields"] if "--all" in t]
    assert text.startswith(f"{tmp_path / 'journal.json'}:8 ")


# What `bao server` / `vault server` prints on stdout itself, where a "stdout" device writes the entries: OpenBao's
# banner as recorded from 2.7.2 (`bao server -config`, raft storage; then a SIGTERM), Vault's as its documentation
# and Helm-deployed pods print it.
BANNERS = [(ROOT / "openbao/server-stdout" / name).read_bytes().rstrip(b"\n").split(b"\n")
           for name in ("openbao-2.7.2.txt", "vault.txt")]


def _on_stdout(frame: str, i: int, text: bytes) -> bytes:
    """One whole line on the container's stdout, as ``frame`` writes it."""
    if frame == "cri":
        return _stamp(i) + b" stdout F " + text
    return json.dumps({"log": text.decode() + "\n", "stream": "stdout", "time": _stamp(i).decode()}).encode()


def _dev_notice(server: str, unseal_key: str, root_token: str) -> list[bytes]:
    """The notice a dev server prints on stdout (command/server.go), with its unseal key and root token."""
    return [f"WARNING! dev mode is enabled! In this mode, {server} runs entirely in-memory".encode(),
            b"and starts unsealed with a single unseal key. The root token is already",
            f"authenticated to the CLI, so you can immediately begin using {server}.".encode(), b"",
            b"You may need to set the following environment variables:", b"",
            b"    $ export BAO_ADDR='http://127.0.0.1:8200'", b"",
            b"The unseal key and root token are displayed below in case you want to",
            b"seal/unseal the Vault or re-authenticate.", b"",
            f"Unseal Key: {unseal_key}".encode(), f"Root Token: {root_token}".encode(), b"",
            b"Development mode should NOT be used in production installations!", b""]


@pytest.mark.parametrize("frame", ["cri", "docker"])
def test_the_servers_own_output_on_stdout_is_left_out_and_anything_else_there_judged(tmp_path: Path,
                                                                                    frame: str) -> None:
    """Beside the entries of a "stdout" device, a pod's stdout holds what the server prints itself: its banner (and
    again after a restart), "==> ... shutdown triggered", and with -combine-logs its server log. None is an entry:
    left out and counted, no finding (each was a required_fields finding, on every correct pod). Any other text
    there is still judged, at its line."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    entries = FRAMES[frame](lines, 1 << 20)  # a line each, so that what is put between them cuts no entry
    own = [b for banner in BANNERS for b in banner] + [SERVER_LOG]
    framed = ([_on_stdout(frame, i, t) for i, t in enumerate(BANNERS[0])] + entries[:9]
              + [_on_stdout(frame, 9, SERVER_LOG)] + [_on_stdout(frame, 10, t) for t in BANNERS[1]] + entries[9:])
    res = verify_file(str(_write(tmp_path, "pod.log", framed)), Settings(require_tamper_evidence=False,
                                                                         retention_days=0), CHECKS, CANARIES)
    assert {o.check_id: [f.text() for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED} == {}
    assert res.entries == len(lines)
    stderr = len(range(0, len(lines), 5))
    assert res.accounting()["left_out"] == stderr + len([t for t in own if t.strip()])
    junk = framed[:]
    junk.insert(20, _on_stdout(frame, 20, b"panic: runtime error: index out of range [3] with length 3"))
    at = len(BANNERS[0])
    junk.insert(at, _on_stdout(frame, at, b"==> not the server's"))
    assert _lines_of(_verify(_write(tmp_path, "junk.log", junk))["required_fields"]) == [at + 1, 22]


@pytest.mark.parametrize("frame", FRAMES)
def test_a_secret_in_the_servers_own_output_is_found_at_its_line(tmp_path: Path, frame: str) -> None:
    """The records left out as the vault's own server log (stderr, a journal message that is no entry) are no
    entries, but a secret there is in the file: found at its line, said to be in the server's log. They were
    skipped unscanned (red team rt11: a canary and a Vault token on a CRI stderr line passed)."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    framed = FRAMES[frame](lines, 1 << 20)
    assert _verify(_write(tmp_path, "clean.log", framed)) == {}
    canary = next(iter(CANARIES.values()))
    token = "hvs.CAESI" + "Jk3xQm9Lp2ZtR8vW4yNb7HcA1sDfG6hJ0kE5uTqYoXi"
    said = f"2026-01-05T08:00:02.000Z [ERROR] secrets.kv.kv_1: failed to write: value={canary} token={token}"
    i = next(n for n, ln in enumerate(framed) if n > 5 and b"successful mount" in ln)  # a server-log record
    if frame == "cri":
        framed[i] = framed[i].replace(SERVER_LOG, said.encode())
    else:
        rec = json.loads(framed[i])
        rec["log" if frame == "docker" else "MESSAGE"] = said + ("\n" if frame == "docker" else "")
        framed[i] = json.dumps(rec).encode()
    found = _verify(_write(tmp_path, "leaky.log", framed))
    assert set(found) == {"no_secret_leak"}
    assert _lines_of(found["no_secret_leak"]) == [i + 1, i + 1]
    assert all("a line of the vault's own server log (left out as no audit entry)" in t.lower()
               for t in found["no_secret_leak"])
    assert not any(canary in t or token in t for t in found["no_secret_leak"])


@pytest.mark.parametrize("server", ["OpenBao", "Vault"])
def test_a_dev_servers_unseal_key_on_stdout_is_found(tmp_path: Path, server: str) -> None:
    """A dev server's notice names its unseal key (before "server started!" in Vault, after it in OpenBao): left
    out as the server's output, and reported as the leak it is."""
    import base64
    import secrets as random

    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    key = base64.b64encode(random.token_bytes(32)).decode()
    banner = BANNERS[0] if server == "OpenBao" else BANNERS[1][:-2]
    notice = _dev_notice(server, key, "root")
    at = banner.index(next(b for b in banner if b.startswith(b"==> ") and b"started" in b))
    text = [*banner[:at + 1], b"", *notice] if server == "OpenBao" else banner[:at] + notice + banner[at:]
    framed = [_on_stdout("cri", i, t) for i, t in enumerate(text)] + cri(lines, 1 << 20)
    found = _verify(_write(tmp_path, "dev.log", framed))
    (leak,) = found.pop("no_secret_leak")
    assert found == {}
    line = 1 + text.index(f"Unseal Key: {key}".encode())
    assert leak.startswith(f"{tmp_path / 'dev.log'}:{line} ") and "Vault Unseal Key" in leak and key not in leak


def test_a_secret_in_a_server_log_line_behind_a_syslog_header_is_found(tmp_path: Path) -> None:
    """The same for a syslog stream of the unit's stdout and stderr: the server's own line behind a header is left
    out, and scanned."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    head = b"2026-01-05T08:00:00+0000 vault01 bao[812]: "
    framed = [head + ln for ln in lines[:4]] + [head + SERVER_LOG] + [head + ln for ln in lines[4:]]
    assert _verify(_write(tmp_path, "clean.log", framed)) == {}
    token = "hvs.CAESI" + "Jk3xQm9Lp2ZtR8vW4yNb7HcA1sDfG6hJ0kE5uTqYoXi"
    framed[4] += f" token={token}".encode()
    found = _verify(_write(tmp_path, "leaky.log", framed))
    assert list(found) == ["no_secret_leak"] and set(_lines_of(found["no_secret_leak"])) == {5}


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


def test_a_live_source_keeps_the_servers_own_records_apart_for_the_leak_scan() -> None:
    """A live source read through a platform's framing (a log command printing a CRI file) hands the server's own
    records over as lines left out, which the leak scan reads (``LogBatch.left_out``), not as nothing."""
    from pytest_auditready.auditlog.model import AuditEntry
    from pytest_auditready.auditlog.source import SERVER_LINE, Framing, LogBatch

    entry = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()[0]
    token = "hvs.CAESI" + "Jk3xQm9Lp2ZtR8vW4yNb7HcA1sDfG6hJ0kE5uTqYoXi"
    raw = [_on_stdout("cri", 0, BANNERS[0][1]), _stamp(1) + b" stderr F " + SERVER_LOG + f" token={token}".encode(),
           _on_stdout("cri", 2, entry)]
    framing, batch = Framing(), LogBatch()
    framing.tell(raw)
    for n, line in enumerate(raw, 1):
        item = framing.item("log_command[cat]", n, line, "")
        assert item is not None
        batch.add(item)
    assert [type(e) for e in batch.entries] == [AuditEntry] and batch.bad_lines == []
    assert [(b.line, b.reason) for b in batch.left_out] == [(1, SERVER_LINE), (2, SERVER_LINE)]
    assert token in batch.left_out[1].raw  # as read: the leak scan reads it


def _kubectl(lines: list[bytes]) -> list[bytes]:
    """``kubectl logs --timestamps``: each line after the time it was read, Go's RFC3339Nano (trailing zeros
    trimmed), stdout and stderr merged."""
    out = []
    for i, ln in enumerate(lines):
        frac = (b"%09d" % (i * 7919 + 123)).rstrip(b"0")
        out.append(b"2026-01-05T08:00:%02d.%sZ " % (i % 60, frac) + ln)
    return out


def test_kubectl_timestamps_are_taken_off_and_file_order_is_still_judged(tmp_path: Path) -> None:
    """A time of more than millisecond precision before each line is no CloudWatch export (whose event times are
    milliseconds, in no order): file order is judged there. Red team rt11: ``kubectl logs --timestamps`` was read
    as a CloudWatch export, so a reordered log passed timestamp_accuracy."""
    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    merged = [*lines[:5], SERVER_LOG, *BANNERS[0][1:], *lines[5:]]  # the pod's stderr and banner, merged in
    framed = _write(tmp_path, "kubectl.log", _kubectl(merged))
    assert _verify(framed) == {}
    res = verify_file(str(framed), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, CANARIES)
    said = res.accounting()
    assert (said["framing"], said["left_out"]) == ("timestamped", 1 + len([b for b in BANNERS[0][1:] if b.strip()]))
    moved = lines[:]
    k = next(i for i in range(12, len(lines) - 1)
             if json.loads(lines[i])["type"] == "request" and json.loads(lines[i + 1])["type"] == "response"
             and json.loads(lines[i])["request"].get("id") == json.loads(lines[i + 1])["request"].get("id"))
    moved[k - 8:k - 8] = [moved.pop(k), moved.pop(k)]  # a pair put back eight lines, as a reordering hop would
    plain = _lines_of(_verify(_write(tmp_path, "plain.log", moved))["timestamp_accuracy"])
    framed_found = _lines_of(_verify(_write(tmp_path, "moved.log", _kubectl(moved)))["timestamp_accuracy"])
    assert framed_found == plain and plain
