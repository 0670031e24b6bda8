"""The canaries file of `auditready verify --canaries` (and --auditready-canaries): a byte-order mark is no part of
the first value (it hid that canary: a leak of it passed), and a file that lists no value is refused (a run asked
to look for known values that looks for none passed on nothing)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests._native_runs import completed

CLEAN = Path(__file__).resolve().parent.parent / "fixtures" / "openbao" / "clean.log"


def _verify(tmp_path: Path, canaries: bytes) -> subprocess.CompletedProcess[str]:
    log = tmp_path / "audit.log"
    log.write_bytes(CLEAN.read_bytes())
    log.chmod(0o600)
    (tmp_path / "c.txt").write_bytes(canaries)
    (tmp_path / "ar.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")
    return completed(["verify", str(log), "--canaries", str(tmp_path / "c.txt"), "--config", str(tmp_path / "ar.toml")],
                     timeout=120)


@pytest.mark.parametrize("form", ["plain", "bom", "bom+crlf"])
def test_a_canary_found_in_the_log_fails_whatever_the_files_encoding(tmp_path: Path, form: str) -> None:
    # a value the log holds in clear: a request id
    value = next(json.loads(ln)["request"]["id"] for ln in CLEAN.read_text().splitlines()
                 if json.loads(ln).get("request", {}).get("id"))
    text = (value + ("\r\n" if "crlf" in form else "\n")).encode()
    r = _verify(tmp_path, (b"\xef\xbb\xbf" if "bom" in form else b"") + text)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL no_secret_leak" in r.stdout and "canary:1" in r.stdout
    assert value not in r.stdout + r.stderr


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# the canaries of run 7\n\n", b"\xef\xbb\xbf"])
def test_a_canaries_file_that_lists_no_value_is_refused(tmp_path: Path, content: bytes) -> None:
    r = _verify(tmp_path, content)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "lists no value" in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
