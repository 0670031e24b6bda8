"""The tamper_evidence check: offline from a log path and public_key, live on the embedded target (which seals
its own log) and on a URL target with and without a sealer beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_auditready.checks.base import CheckContext, Finding, Skip
from pytest_auditready.checks.tamper_evidence import CHECK
from pytest_auditready.config import load
from pytest_auditready.errors import ConfigError
from pytest_auditready.seal import evidence as evidence_mod
from pytest_auditready.seal import load_private_key, seal, write_keypair
from tests.auditrun import run_audit
from tests.test_seal import _lines, _write, write_log


def _ctx(log: Path, **settings: object) -> CheckContext:
    return CheckContext(settings=load([("test", settings)]), ledger=None, entries=[], bad_lines=[],
                        source=str(log), log_path=str(log))


def _run(ctx: CheckContext) -> list[object]:
    return list(CHECK.run(ctx))


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Path, Path]:
    priv, pub, _ = write_keypair(tmp_path / "k")
    log = tmp_path / "audit.log"
    write_log(log, 120)
    seal(log, load_private_key(priv), lines_per_record=30)
    return log, pub


def test_offline_sealed_log_passes(sealed: tuple[Path, Path]) -> None:
    log, pub = sealed
    said = _run(_ctx(log, public_key=str(pub)))
    assert [type(x).__name__ for x in said] == ["Note"] and "is segment 0" in said[0].text  # no finding, and why


def _tamper(log: Path, kind: str) -> None:
    lines = _lines(log)
    if kind == "changed byte":
        lines[50] = lines[50].replace(b"request", b"requesT", 1)
    elif kind == "deleted line":
        del lines[70]
    elif kind == "swapped lines":
        lines[10], lines[11] = lines[11], lines[10]
    elif kind == "truncated tail":
        lines = lines[:-2]
    elif kind == "appended":
        lines.append(b'{"time":"2026-01-01T00:00:00Z","forged":true}')
    _write(log, lines)


@pytest.mark.parametrize("kind, where", [
    ("changed byte", "lines 31-60"),
    ("deleted line", "lines 61-90"),
    ("swapped lines", "lines 1-30"),
    ("truncated tail", "lines 91-120"),
    ("appended", "1 unsealed line(s)"),
])
def test_offline_tampering_fails_the_check_naming_segment_and_lines(sealed: tuple[Path, Path], kind: str,
                                                                   where: str) -> None:
    log, pub = sealed
    _tamper(log, kind)
    out = _run(_ctx(log, public_key=str(pub)))
    assert out and all(isinstance(f, Finding) for f in out)
    assert any(f"[segment 0, {where}]" in f.message for f in out if isinstance(f, Finding)), out


def test_offline_chain_signed_by_another_key_fails(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    log, _ = sealed
    _, other, _ = write_keypair(tmp_path / "other")
    out = _run(_ctx(log, public_key=str(other)))
    assert len(out) == 1 and isinstance(out[0], Finding) and "signed by another key" in out[0].message


def test_offline_no_chain_fails_with_the_remedy(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write_log(log, 5)
    out = _run(_ctx(log))
    assert len(out) == 1 and isinstance(out[0], Finding)
    assert "no integrity mechanism" in out[0].message
    assert "auditready seal" in out[0].fix and "require_tamper_evidence = false" in out[0].fix


def test_offline_chain_without_public_key_names_the_setting(sealed: tuple[Path, Path]) -> None:
    log, _ = sealed
    out = _run(_ctx(log))
    assert len(out) == 1 and isinstance(out[0], Finding) and "public_key" in out[0].fix


def test_disabled_is_skipped_with_the_reason(tmp_path: Path) -> None:
    out = _run(_ctx(tmp_path / "audit.log", require_tamper_evidence=False))
    assert len(out) == 1 and isinstance(out[0], Skip) and "require_tamper_evidence = false" in out[0].reason


def test_a_verifier_without_teeth_fails_the_check(sealed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # if verification stopped noticing changes, the self-test on a copy must say so for each kind
    log, pub = sealed
    real = evidence_mod.verify_log

    def blind(path, key, digests=None, **kw):  # type: ignore[no-untyped-def]
        rep = real(path, key, digests, **kw)
        rep.problems.clear()
        return rep

    monkeypatch.setattr(evidence_mod, "verify_log", blind)
    out = _run(_ctx(log, public_key=str(pub)))
    texts = [f.message for f in out if isinstance(f, Finding)]
    assert len(texts) == 4
    for kind in evidence_mod.TAMPERINGS:
        assert any(f"a {kind} went undetected" in t for t in texts), texts


@pytest.mark.parametrize("value", ["maybe", 1, ["true"]])
def test_require_tamper_evidence_takes_a_boolean(value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"require_tamper_evidence": value})])
    assert "'require_tamper_evidence'" in str(exc.value) and "true or false" in str(exc.value)


# -- live ----------------------------------------------------------------------------------------------------


@pytest.mark.vault
def test_embedded_target_seals_its_own_log_and_passes(pytester: pytest.Pytester) -> None:
    run = run_audit(pytester, None)
    assert run.status("tamper_evidence") == "passed", run.result.stdout.str()[-2000:]


@pytest.mark.vault
def test_embedded_target_skips_when_not_required(pytester: pytest.Pytester) -> None:
    run = run_audit(pytester, None, require_tamper_evidence=False)
    assert run.status("tamper_evidence") == "skipped"
    assert run.result.ret == 0


@pytest.mark.vault
def test_url_target_without_a_chain_fails_with_the_remedy(pytester, bao, url_env) -> None:  # type: ignore[no-untyped-def]
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, require_tamper_evidence=True)
    assert run.status("tamper_evidence") == "failed"
    text = run.text("tamper_evidence")
    assert "no integrity mechanism" in text and "auditready seal" in text and "--follow" in text


@pytest.mark.vault
def test_url_target_with_a_sealer_beside_it_passes(pytester, bao, url_env) -> None:  # type: ignore[no-untyped-def]
    server = bao()
    url_env(server)
    run = run_audit(pytester, server)  # a follow sealer runs beside the log, public_key set
    assert run.status("tamper_evidence") == "passed", run.text("tamper_evidence")


@pytest.mark.vault
def test_url_target_skips_when_not_required(pytester, bao, url_env) -> None:  # type: ignore[no-untyped-def]
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, require_tamper_evidence=False)
    assert run.status("tamper_evidence") == "skipped"
    assert "require_tamper_evidence = false" in run.result.stdout.str() + run.outputs.get("pytest junit", "")


# -- through `auditready verify` (the offline command) -----------------------------------------------------------


def _fixture_copy(tmp_path: Path) -> Path:
    src = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
    log = tmp_path / "audit.log"
    log.write_bytes(src.read_bytes())
    log.chmod(0o600)
    return log


@pytest.mark.parametrize("kind", ["changed byte", "deleted line", "swapped lines", "truncated tail", "appended"])
def test_auditready_verify_with_public_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], kind: str) -> None:
    from pytest_auditready.cli import main

    monkeypatch.chdir(tmp_path)  # defaults, but a log of one day is no year of history (retention: off)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nretention_days = 0\n")
    log = _fixture_copy(tmp_path)
    priv, pub, _ = write_keypair(tmp_path / "k")
    seal(log, load_private_key(priv), lines_per_record=25)
    assert main(["verify", str(log), "--public-key", str(pub)]) == 0, capsys.readouterr()
    capsys.readouterr()
    _tamper(log, kind)
    assert main(["verify", str(log), "--public-key", str(pub)]) == 1
    out = capsys.readouterr().out
    assert "FAIL tamper_evidence" in out and "[segment 0, " in out


def test_a_sealer_started_just_before_the_audit_is_waited_for(tmp_path: Path) -> None:
    """`auditready seal --follow` started just before a live audit: its first record may not be written yet when
    the check looks. Within log_wait the check waits for the chain to appear, then verifies it."""
    import threading

    from pytest_auditready.seal import seal
    from pytest_auditready.seal.chain import load_private_key, write_keypair
    from pytest_auditready.seal.evidence import assess

    log = tmp_path / "audit.log"
    log.write_bytes((Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_bytes())
    priv, pub, _ = write_keypair(tmp_path / "k")
    assert not assess(log, pub).mechanism  # nothing there yet and no waiting: no mechanism
    late = threading.Timer(0.5, lambda: seal(log, load_private_key(priv)))
    late.start()
    try:
        a = assess(log, pub, wait=5.0)
    finally:
        late.join()
    assert a.mechanism and a.error is None and a.report is not None and a.report.ok


def test_a_sealer_still_on_the_rotated_file_is_waited_for(tmp_path: Path) -> None:
    """The log was rotated and the vault writes to the new file, but the following sealer has not switched yet:
    the chain's last record is of the old file. That is not "caught up": within log_wait the check waits for the
    sealer to reach the new file instead of finding its lines unsealed."""
    import os
    import threading

    from pytest_auditready.seal.chain import load_private_key, write_keypair
    from pytest_auditready.seal.evidence import assess
    from pytest_auditready.seal.sealer import Sealer

    lines = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines(True)
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(lines[:10]))
    priv, pub, _ = write_keypair(tmp_path / "k")
    sealer = Sealer(log, load_private_key(priv), lines_per_record=5)
    sealer.open()
    sealer.seal_once()  # the old file, sealed to its end
    os.rename(log, str(log) + ".1")
    log.write_bytes(b"".join(lines[10:20]))  # the vault reopened its path and wrote on
    stop = threading.Event()
    late = threading.Timer(0.5, lambda: sealer.follow(every_seconds=0.01, poll=0.01, stop=stop))
    late.start()
    try:
        a = assess(log, pub, wait=5.0)
    finally:
        stop.set()
        late.join()
        sealer.close()
    assert a.error is None and a.report is not None
    assert not a.report.problems_for(str(log), ()), [p.text() for p in a.report.problems]


# -- require_tamper_evidence = false excuses the lack of a mechanism, never a mechanism that is there (rt6 F2) -----


@pytest.mark.parametrize("kind", ["deleted line", "changed byte", "truncated tail"])
def test_a_chain_that_is_there_is_verified_when_not_required(sealed: tuple[Path, Path], kind: str) -> None:
    """Fails without the fix: the setting skipped the check outright, so a sealed log with lines deleted passed
    (a team sets it to quiet its unsealed logs, and the sealed ones went unchecked too)."""
    log, pub = sealed
    said = _run(_ctx(log, public_key=str(pub), require_tamper_evidence=False))
    assert [type(x).__name__ for x in said] == ["Note"], said
    _tamper(log, kind)
    out = _run(_ctx(log, public_key=str(pub), require_tamper_evidence=False))
    assert out and all(isinstance(f, Finding) for f in out), out


def test_a_chain_without_its_key_is_skipped_when_not_required(sealed: tuple[Path, Path]) -> None:
    log, _ = sealed
    out = _run(_ctx(log, require_tamper_evidence=False))
    assert len(out) == 1 and isinstance(out[0], Skip), out
    assert "require_tamper_evidence = false" in out[0].reason and "no key" in out[0].reason


def test_cloudtrail_digest_files_that_are_there_are_verified_when_not_required(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip
    import json

    from pytest_auditready.cli import main
    from tests.test_cloudtrail import _log_key, build_trail, rsa_key, write_keys

    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    config = tmp_path / "auditready.toml"
    config.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    log = root / _log_key(1, 0)
    for p in (root / "AWSLogs").rglob("*.json.gz"):
        p.chmod(0o600)
    args = ["verify", "--format", "cloudtrail", str(log), "--config", str(config), "--cloudtrail-public-keys",
            str(keys)]
    main(args)  # the test trail's records are not clean for every other check: only tamper_evidence's verdict counts
    assert "PASS tamper_evidence" in capsys.readouterr().out
    doc = json.loads(gzip.decompress(log.read_bytes()))
    doc["Records"][0]["sourceIPAddress"] = "198.51.100.7"
    log.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "FAIL tamper_evidence" in out and "does not match the SHA-256" in out


# -- a key that can verify nothing is a usage error before any verdict, whatever the check's setting (rt6 F6) -----


@pytest.mark.parametrize("required", [True, False])
@pytest.mark.parametrize("key", ["garbage", "private"])
def test_an_unusable_public_key_is_refused_in_one_line(sealed: tuple[Path, Path], tmp_path: Path, key: str,
                                                       required: bool) -> None:
    """Fails without the fix: a key that is no key was a tamper_evidence finding (exit 1, blamed on the log), and
    with require_tamper_evidence = false it was never read (exit 0)."""
    from tests.test_attack_io import cli, one_line_exit_2

    log, pub = sealed
    bad = tmp_path / "bad.pub"
    bad.write_text("garbage\n")
    given = bad if key == "garbage" else pub.with_suffix("")  # k.pub's private half is k
    config = tmp_path / "auditready.toml"
    config.write_text(f"require_tamper_evidence = {str(required).lower()}\nretention_days = 0\n")
    proc = cli("verify", str(log), "--public-key", str(given), "--config", str(config), cwd=tmp_path)
    one_line_exit_2(proc, "not a PEM public key" if key == "garbage" else "holds a private key", "--public-key")


# -- findings that say what happened, in numbers that hold (red team rt6 F7) --------------------------------------


def test_an_unterminated_last_line_is_said_as_one(sealed: tuple[Path, Path]) -> None:
    """Was '0 line(s) (N bytes) at the end ... were written after the last seal'."""
    log, pub = sealed
    with open(log, "ab") as f:
        f.write(b'{"time":"2026-01-01T00:00:00Z","type":"request"')  # no newline: the sealer seals whole lines
    out = [f for f in _run(_ctx(log, public_key=str(pub))) if isinstance(f, Finding)]
    assert len(out) == 1 and "a last line without a newline (47 bytes)" in out[0].message, out
    assert "0 line(s)" not in out[0].message and "an unterminated line" in out[0].message


def test_a_copied_digest_record_names_the_lines_it_covers_twice(sealed: tuple[Path, Path]) -> None:
    """Was 'lines 31-30 (bytes ...-...)': a range running backwards."""
    log, pub = sealed
    chain = Path(str(log) + ".digests")
    recs = chain.read_bytes().splitlines(keepends=True)
    chain.write_bytes(b"".join([*recs[:2], recs[1], *recs[2:]]))
    texts = [f.message for f in _run(_ctx(log, public_key=str(pub))) if isinstance(f, Finding)]
    assert any("lines 31-60" in t and "covered by more than one digest record" in t for t in texts), texts
    import re

    for a, b in re.findall(r"lines (\d+)-(\d+)", " ".join(texts)):
        assert int(a) <= int(b), texts


def test_junk_in_place_of_the_chain_is_said_in_a_bounded_number_of_findings(sealed: tuple[Path, Path]) -> None:
    """Was one finding per junk line: thousands of lines of report for one bad file."""
    log, pub = sealed
    Path(str(log) + ".digests").write_bytes(b"".join(b"junk %d\n" % i for i in range(5000)))
    texts = [f.message for f in _run(_ctx(log, public_key=str(pub))) if isinstance(f, Finding)]
    assert 20 < len(texts) < 30, len(texts)
    assert any("4980 more line(s)" in t for t in texts), texts


def test_a_passing_chain_names_its_last_record_so_a_cut_end_can_be_compared(sealed: tuple[Path, Path]) -> None:
    """A tail cut with the records that sealed it leaves a log and a chain that agree (rt6 F1: a hash chain has no
    outside anchor); the note names where the chain ends, to compare with its copy off the host."""
    log, pub = sealed
    said = _run(_ctx(log, public_key=str(pub)))
    assert "which ends with record seq 3, sealed at 20" in said[0].text, said
    chain = Path(str(log) + ".digests")
    chain.write_bytes(b"".join(chain.read_bytes().splitlines(keepends=True)[:-1]))
    _write(log, _lines(log)[:90])
    said = _run(_ctx(log, public_key=str(pub)))
    assert [type(x).__name__ for x in said] == ["Note"] and "which ends with record seq 2," in said[0].text, said


def test_line_endings_converted_to_crlf_are_said_so(sealed: tuple[Path, Path]) -> None:
    """Was '1 line(s) fewer than were sealed: lines were deleted' for a log whose every line gained a CR."""
    log, pub = sealed
    log.write_bytes(log.read_bytes().replace(b"\n", b"\r\n"))
    texts = [f.message for f in _run(_ctx(log, public_key=str(pub))) if isinstance(f, Finding)]
    assert any("each line ends in CR LF where the vault wrote LF" in t for t in texts), texts
    assert not any("lines were deleted" in t for t in texts), texts
