"""Red team rt77: what verification says about a live log (F5), a copytruncate rotation (F3), the origin of a chain
(F6), and where a finding about a record's lines points (F7). Real OpenBao audit lines, chains written by the real
sealer (`Sealer`); only the chain's last record is signed again where a test needs the `interval_s` a following
sealer writes and a chosen `sealed_at` (nothing chains after the last record, so the chain stays whole)."""

from __future__ import annotations

import datetime
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks.base import CheckContext, Note
from pytest_auditready.checks.tamper_evidence import CHECK
from pytest_auditready.cli import main
from pytest_auditready.config import load
from pytest_auditready.seal import Sealer, load_private_key, load_public_key, write_keypair
from pytest_auditready.seal.chain import canonical, sign_record
from pytest_auditready.seal.verify import SealReport, verify_log

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"


def _lines() -> list[bytes]:
    return CLEAN.read_bytes().splitlines(keepends=True)


def _append(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(lines))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    d = tmp_path / "keys"
    d.mkdir(mode=0o700)
    priv, pub, _ = write_keypair(d / "seal")
    return priv, pub


def _seal(log: Path, priv: Path, lines: int = 20) -> None:
    with Sealer(log, load_private_key(priv), lines_per_record=lines) as s:
        s.seal_once()


def _at(seconds_from_now: float) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _restamp(digests: Path, priv: Path, **fields: Any) -> None:
    """Sign the chain's last record again with ``fields`` set (as a following sealer writes them)."""
    lines = digests.read_bytes().splitlines(keepends=True)
    body = {k: v for k, v in json.loads(lines[-1]).items() if k != "sig"}
    body.update(fields)
    lines[-1] = canonical(sign_record(load_private_key(priv), body)) + b"\n"
    digests.write_bytes(b"".join(lines))


def _verify(log: Path, pub: Path) -> SealReport:
    return verify_log(log, load_public_key(pub))


def _ctx(log: Path, **settings: object) -> CheckContext:
    return CheckContext(settings=load([("test", settings)]), ledger=None, entries=[], bad_lines=[],
                        source=str(log), log_path=str(log))


# -- F5: the live log's tail within the sealer's interval ---------------------------------------------------------


def test_live_tail_within_the_sealers_interval_passes_naming_it(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    priv, pub = keys
    log = tmp_path / "audit.log"
    lines = _lines()
    _append(log, lines[:60])
    _seal(log, priv)
    _append(log, lines[60:66])  # written since the last seal
    # a one-shot seal says nothing of an interval: the tail stays a finding
    r = _verify(log, pub)
    assert [p.kind for p in r.problems] == ["unsealed"] and not r.excused, r.problems
    # a following sealer's last record, sealed a second ago with its interval of 5 s: not sealed yet, by design
    _restamp(Path(f"{log}.digests"), priv, interval_s=5.0, sealed_at=_at(-1))
    r = _verify(log, pub)
    assert r.ok, r.problems
    (e,) = r.excused
    assert e.message.startswith(f"6 line(s) ({sum(map(len, lines[60:66]))} bytes) at the end of {log} written after "
                                "the last seal at "), e.message
    assert "s ago, within the sealer's interval of 5 s: not yet sealed; a sealer that stopped leaves them unsealed " \
           "past that and this check fails" in e.message
    # the check passes, saying so
    said = list(CHECK.run(_ctx(log, public_key=str(pub))))
    assert [type(x).__name__ for x in said] == ["Note"], said
    assert isinstance(said[0], Note) and "6 line(s)" in said[0].text and "not yet sealed" in said[0].text


@pytest.mark.parametrize("when, why", [
    (-60.0, "was 60.0 s ago: more than the sealer's interval of 5 s allows"),  # the sealer stopped
    (60.0, "s ahead of this host's clock"),
])
def test_a_last_seal_too_old_or_ahead_keeps_the_finding_saying_why(tmp_path: Path, keys: tuple[Path, Path],
                                                                   when: float, why: str) -> None:
    priv, pub = keys
    log = tmp_path / "audit.log"
    lines = _lines()
    _append(log, lines[:40])
    _seal(log, priv)
    _append(log, lines[40:43])
    _restamp(Path(f"{log}.digests"), priv, interval_s=5.0, sealed_at=_at(when))
    r = _verify(log, pub)
    (p,) = r.problems
    assert p.kind == "unsealed" and p.file == str(log) and not r.excused, r.problems
    assert why in p.message, p.message
    out = list(CHECK.run(_ctx(log, public_key=str(pub))))
    assert out and all(type(x).__name__ == "Finding" for x in out), out


def test_a_chain_ending_in_a_cut_record_excuses_nothing(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    priv, pub = keys
    log = tmp_path / "audit.log"
    digests = Path(f"{log}.digests")
    lines = _lines()
    _append(log, lines[:40])
    _seal(log, priv)
    _append(log, lines[40:44])
    _restamp(digests, priv, interval_s=5.0, sealed_at=_at(-1))
    whole = digests.read_bytes()
    digests.write_bytes(whole + whole.splitlines(keepends=True)[-1][:40])  # a record without its end
    r = _verify(log, pub)
    assert [p.kind for p in r.problems] == ["unsealed"] and not r.excused, r.problems
    digests.write_bytes(whole)
    r = _verify(log, pub)
    assert r.ok and len(r.excused) == 1, (r.problems, r.excused)


@pytest.mark.parametrize("sealed", [-1.0, -60.0])
def test_a_rotated_file_of_the_last_segment_is_excused_as_the_live_one_is(tmp_path: Path, keys: tuple[Path, Path],
                                                                          sealed: float) -> None:
    """logrotate's create + SIGHUP (the docs' recipe): the vault wrote on into the renamed file until its reopen,
    and the sealer drains it at its next pass. Within the sealer's interval of its last seal both tails are excused
    (red team rt79 F5: the renamed file's failed for up to one interval at each rotation); a stopped sealer's are
    findings."""
    priv, pub = keys
    log = tmp_path / "audit.log"
    lines = _lines()
    _append(log, lines[:40])
    _seal(log, priv)
    rotated = tmp_path / "audit.log.1"
    log.rename(rotated)
    _append(rotated, lines[40:43])  # the vault wrote on into the renamed file before its SIGHUP
    _append(log, lines[43:48])  # then into the new one; the sealer has sealed neither yet
    _restamp(Path(f"{log}.digests"), priv, interval_s=5.0, sealed_at=_at(sealed))
    r = _verify(log, pub)
    if sealed == -1.0:
        assert r.ok, r.problems
        assert {(e.file, e.message.split(" (")[0]) for e in r.excused} == {(str(rotated), "3 line(s)"),
                                                                           (str(log), "5 line(s)")}, r.excused
    else:
        assert not r.excused and {p.file for p in r.problems} == {str(rotated), str(log)}, r.problems
        assert all("sealer has stopped or fallen behind" in p.message or "not sealed yet" in p.message
                   for p in r.problems), r.problems


def _fresh(line: bytes, seconds_from_now: float) -> bytes:
    """An OpenBao line with its time set ``seconds_from_now`` (as the vault writes it: RFC 3339, nanoseconds)."""
    obj = json.loads(line)
    obj["time"] = _at(seconds_from_now)
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def test_lines_after_a_quiet_spell_are_excused_by_their_own_age(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """An idle following sealer writes no record: its last seal grows old while it is alive. Lines written within
    its interval are not yet sealed whatever the last seal's age (red team rt79 F4: "stopped or fallen behind"
    after any quiet spell); lines older than that are a finding, judged by the oldest of them (whoever can write
    the tail can put a fresh time on its first line)."""
    priv, pub = keys
    log = tmp_path / "audit.log"
    lines = _lines()
    _append(log, lines[:40])
    _seal(log, priv)
    _restamp(Path(f"{log}.digests"), priv, interval_s=5.0, sealed_at=_at(-600))
    whole = log.read_bytes()
    _append(log, [_fresh(x, -1.5) for x in lines[40:43]])
    r = _verify(log, pub)
    assert r.ok, r.problems
    (e,) = r.excused
    assert "s ago: nothing came to seal since), the oldest of them written 1." in e.message, e.message
    # the first line freshened, the others as the vault wrote them long ago: the oldest decides
    log.write_bytes(whole + _fresh(lines[40], -1.0) + b"".join(lines[41:43]))
    r = _verify(log, pub)
    (p,) = r.problems
    assert not r.excused and "so was the oldest line after it" in p.message, p.message
    # a line without a time tells nothing of its age
    log.write_bytes(whole + _fresh(lines[40], -1.0) + b'{"no":"time"}\n')
    r = _verify(log, pub)
    assert not r.excused and [p.kind for p in r.problems] == ["unsealed"], r.problems


# -- F3: copytruncate ---------------------------------------------------------------------------------------------


def _copytruncate(log: Path, copy: Path) -> None:
    """What logrotate's copytruncate does: copy the log, then truncate it in place (same inode)."""
    shutil.copy2(log, copy)
    with open(log, "r+b") as f:
        f.truncate(0)


def _follow_once(s: Sealer) -> None:
    """One pass of the following sealer's loop (it sees the truncation and starts a new segment), then its stop."""
    stop = threading.Event()
    stop.set()
    s.follow(every_seconds=5.0, stop=stop)


def _copytruncated_set(folder: Path, priv: Path, late: int) -> Path:
    """A log sealed by a following sealer and rotated with copytruncate, ``late`` lines written after the sealer's
    last read and before the copy; the sealer then starts a new segment on the truncated log."""
    folder.mkdir()
    log = folder / "audit.log"
    lines = _lines()
    _append(log, lines[:40])
    with Sealer(log, load_private_key(priv), lines_per_record=20) as s:
        s.seal_once()
        _append(log, lines[40 : 40 + late])
        _copytruncate(log, folder / "audit.log.1")
        _append(log, lines[60:66])
        _follow_once(s)
    recs = [json.loads(x) for x in Path(f"{log}.digests").read_bytes().splitlines()]
    assert [(r["segment"], r.get("reason")) for r in recs] == [(0, "start"), (0, None), (1, "truncated")], recs
    return log


def test_copytruncate_losing_lines_to_the_seal_says_so_and_how_to_rotate(tmp_path: Path, keys: tuple[Path, Path]
                                                                         ) -> None:
    priv, pub = keys
    # the sealer had read every line before the copy: the set verifies
    r = _verify(_copytruncated_set(tmp_path / "caught-up", priv, 0), pub)
    assert r.ok and len(r.members) == 2, r.problems
    # 4 lines came between the sealer's last read and the copy: in the copy, never sealed
    r = _verify(_copytruncated_set(tmp_path / "lossy", priv, 4), pub)
    (p,) = r.problems
    assert p.kind == "unsealed" and p.file == str(tmp_path / "lossy" / "audit.log.1") and p.segment == 0, p
    assert p.message.startswith("4 line(s) ") and ("then its segment 1 began because audit.log was truncated in "
                                                   "place, as logrotate's copytruncate does") in p.message
    assert "`create`" in p.fix and "SIGHUP" in p.fix and "copytruncate" in p.fix and "(delaycompress)" not in p.fix


def test_a_renamed_file_left_unsealed_keeps_the_rename_fix(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """The contrast: a segment that ended by rename (reason "rotated") keeps the delaycompress advice, and the
    copytruncate advice stays with truncation."""
    priv, pub = keys
    log = tmp_path / "audit.log"
    lines = _lines()
    _append(log, lines[:40])
    _seal(log, priv)
    log.rename(tmp_path / "audit.log.1")
    _append(log, lines[44:50])
    _seal(log, priv)  # the sealer restarted: the renamed file found by inode, sealed to its end, then the new one
    _append(tmp_path / "audit.log.1", lines[40:44])  # added to the rotated file after it was sealed to its end
    _restamp(Path(f"{log}.digests"), priv, interval_s=5.0, sealed_at=_at(-1))
    r = _verify(log, pub)
    (p,) = r.problems
    assert "never sealed (the chain moved on to the next file" in p.message and "(delaycompress)" in p.fix, p
    assert not r.excused


# -- F6: what the chain says of its origin ------------------------------------------------------------------------


def _vault(folder: Path, priv: Path, lines: list[bytes]) -> Path:
    folder.mkdir()
    log = folder / "audit.log"
    _append(log, lines)
    _seal(log, priv)
    return log


def test_the_pass_names_the_files_inodes_and_times_the_chain_recorded(tmp_path: Path, keys: tuple[Path, Path]
                                                                     ) -> None:
    priv, pub = keys
    lines = _lines()
    log = _vault(tmp_path / "vault0", priv, lines[:50])
    ino = log.stat().st_ino
    first, last = json.loads(lines[0])["time"], json.loads(lines[49])["time"]
    said = list(CHECK.run(_ctx(log, public_key=str(pub))))
    assert [type(x).__name__ for x in said] == ["Note"], said
    note = said[0].text if isinstance(said[0], Note) else ""
    assert (f"the chain records segment 0 as sealed from audit.log (inode {ino}), entries from {first} to {last}: "
            "it names no vault or host, so it ties this file to this vault only if its key seals no other vault's "
            "or host's log") in note, note
    # another vault's set sealed with the same key, copied over this one's: it verifies (one key per vault is what
    # tells them apart), but the note shows whose it is: its own times, and an inode this file does not have
    other = _vault(tmp_path / "vault1", priv, lines[60:90])
    other_ino = other.stat().st_ino
    shutil.copyfile(other, log)
    shutil.copyfile(f"{other}.digests", f"{log}.digests")
    r = _verify(log, pub)
    assert r.ok, r.problems
    v = r.verdict()
    assert f"sealed from audit.log (inode {other_ino}; this file's is {ino})" in v, v
    assert f"entries from {json.loads(lines[60])['time']} to {json.loads(lines[89])['time']}" in v, v


@pytest.mark.parametrize("named", [{"hostname": "vault-1.prod"}, {"host": {"name": "vault-1.prod"}}])
def test_a_host_named_by_the_first_entry_is_shown(tmp_path: Path, keys: tuple[Path, Path],
                                                  named: dict[str, Any]) -> None:
    priv, pub = keys
    shipped = [json.dumps({**json.loads(x), **named}, separators=(",", ":")).encode() + b"\n"
               for x in _lines()[:30]]  # JSON lines as a shipper writes them (Fluent Bit, ECS), naming the host
    log = _vault(tmp_path / "v", priv, shipped)
    v = _verify(log, pub).verdict()
    assert "sealed from audit.log (inode " in v and "(its first entry names host vault-1.prod)" in v, v


# -- F7: a finding about a record's lines points at them ----------------------------------------------------------


def test_a_changed_record_is_located_at_its_range(tmp_path: Path, keys: tuple[Path, Path],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    priv, pub = keys
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nretention_days = 0\n")
    lines = _lines()
    log = tmp_path / "audit.log"
    _append(log, lines[:60])
    _seal(log, priv)  # records of lines 1-20, 21-40, 41-60
    one = tmp_path / "one.log"
    _append(one, lines[:3])
    _seal(one, priv, lines=1)  # one line a record
    for f, at in ((log, 45), (one, 1)):
        data = f.read_bytes().splitlines(keepends=True)
        data[at] = data[at].replace(b'"time":"2', b'"time":"3', 1)  # one entry's time changed in place
        f.write_bytes(b"".join(data))
    r = _verify(log, pub)
    (p,) = r.problems
    assert (p.kind, p.where, p.lines) == ("content", str(log), "lines 41-60"), p
    assert p.text().startswith("[segment 0, lines 41-60] Sealed lines 41-60 of "), p.text()
    (q,) = _verify(one, pub).problems
    assert (q.where, q.lines) == (f"{one}:2", "line 2"), q  # one line: that line
    assert main(["verify", "-q", "audit.log", "one.log", "--public-key", str(pub), "--sarif", "r.sarif"]) == 1
    out = capsys.readouterr().out
    assert "  - [audit.log] [segment 0, lines 41-60] Sealed lines 41-60" in out, out
    results = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    got = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]:
           (r["locations"][0]["physicalLocation"]["region"], r["properties"].get("wholeFile"))
           for r in results if r["ruleId"] == "tamper_evidence"}
    assert got == {"audit.log": ({"startLine": 41, "endLine": 60}, None), "one.log": ({"startLine": 2}, None)}, got
