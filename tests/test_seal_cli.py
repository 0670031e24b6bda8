"""`auditready keygen` and `auditready seal` as commands: outputs, exit codes, one-line errors, --follow under
SIGTERM. No key material ever reaches the output."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_auditready.cli import main
from pytest_auditready.seal import load_public_key, verify_log
from tests.test_seal import write_log


def _key_material(priv: Path) -> list[str]:
    body = [ln for ln in priv.read_text().splitlines() if "-----" not in ln]
    return [b for b in body if b]


def test_keygen_then_seal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "seal.key"
    assert main(["keygen", str(key)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and "key id" in out
    log = tmp_path / "audit.log"
    write_log(log, 30)
    assert main(["seal", str(log), "--key", str(key), "--lines", "7"]) == 0
    out += capsys.readouterr().out
    assert "sealed 30 line(s)" in out and "in 5 new record(s)" in out
    for secret in _key_material(key):
        assert secret not in out
    assert verify_log(log, load_public_key(Path(str(key) + ".pub"))).ok


@pytest.mark.parametrize("args, needle", [
    (["seal", "{log}", "--key", "{tmp}/nokey"], "does not exist"),
    (["seal", "{tmp}/nolog", "--key", "{key}"], "does not exist"),  # and leaves no nolog.digests behind
    (["seal", "{log}", "--key", "{key}.pub"], "is a public key"),
    (["seal", "{log}", "--key", "{log}"], "not an unencrypted PEM private key"),
    (["keygen", "{key}"], "already exists"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          needle: str) -> None:
    key = tmp_path / "k"
    assert main(["keygen", str(key)]) == 0
    log = tmp_path / "a.log"
    write_log(log, 3)
    capsys.readouterr()
    argv = [a.format(tmp=tmp_path, key=key, log=log) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "fix:" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "nolog.digests").exists()


def test_bad_option_value_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["seal", "x.log", "--key", "k", "--lines", "0"])
    assert exc.value.code == 2 and "must be 1 or more" in capsys.readouterr().err


def test_follow_keeps_sealing_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert main(["keygen", str(key)]) == 0
    log = tmp_path / "audit.log"
    write_log(log, 12)
    proc = subprocess.Popen([sys.executable, "-m", "pytest_auditready.cli", "seal", str(log), "--key", str(key),
                             "--follow", "--lines", "5", "--interval", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    digests = Path(str(log) + ".digests")

    def sealed() -> int:
        return sum(json.loads(x)["lines"] for x in digests.read_bytes().splitlines()) if digests.exists() else 0

    try:
        deadline = time.monotonic() + 20
        while sealed() < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sealed() == 12
        write_log(log, 3, start=12)
        deadline = time.monotonic() + 20
        while sealed() < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sealed() == 15
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sealed 15 line(s)" in out and "Traceback" not in err
    assert verify_log(log, load_public_key(Path(str(key) + ".pub"))).ok


def test_bench_script_runs_on_a_tiny_log(tmp_path: Path) -> None:
    # keeps bench/seal.py working; the figures themselves are not judged here (no timed unit tests)
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "bench" / "seal.py"), "--size-mb", "1", "--repeat", "1",
                        "--workdir", str(tmp_path / "w")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(result) >= {"sha256sum", "seal --follow", "seal (one-shot)"}
    assert result["seal --follow"]["vs_sha256sum"] > 0 and result["records"] >= 1
