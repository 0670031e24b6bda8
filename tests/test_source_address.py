"""A Vault/OpenBao entry whose source (request.remote_address) is no IP address fails required_fields at its line.

The vault writes there the host part of the connection's address, or of the X-Forwarded-For address its listener
takes from a proxy it trusts: an IP address either way. A host name, a word or a whole forwarded list names no
source; before, any non-empty value passed (red team report rt11, section 10), where a Kubernetes event's sourceIPs
were already judged. Each case plants the value into the KV read pair of a real OpenBao 2.7.2 log
(tests/test_blind_encodings) and runs `auditready verify` with the C extension and on the pure-Python path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests._native_runs import cli_process
from tests.test_blind_encodings import KV_READ, PROJECT, _planted

PATHS = pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])  # C extension, pure Python


def _at_source(e: dict[str, Any], mark: str) -> None:
    e["request"]["remote_address"] = mark


def _required_fields(tmp_path: Path, value: str, pure: bool) -> list[dict[str, Any]]:
    log = tmp_path / "a.log"
    log.write_text(_planted(_at_source, value))
    os.chmod(log, 0o600)
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    code, _, stderr = cli_process(["verify", str(log), "--json", str(tmp_path / "out.json")], tmp_path, pure,
                                  timeout=300)
    assert code in (0, 1), stderr[-2000:]
    (outcome,) = [o for o in json.loads((tmp_path / "out.json").read_text())["outcomes"]
                  if o["check"] == "required_fields"]
    assert outcome["status"] in ("passed", "failed"), outcome
    return list(outcome["findings"])


NOT_ADDRESSES = {
    "word": "not-an-ip",
    "host-name": "vault-client.example.com",
    "forwarded-list": "198.51.100.7, 10.0.0.1",  # a proxy's whole X-Forwarded-For
    "with-port": "198.51.100.7:51440",
    "bracketed": "[2001:db8::7]",
}


@PATHS
@pytest.mark.parametrize("name", sorted(NOT_ADDRESSES))
def test_a_source_that_is_no_address_is_found_at_its_lines(tmp_path: Path, pure: bool, name: str) -> None:
    findings = _required_fields(tmp_path, NOT_ADDRESSES[name], pure)
    assert sorted(int(f["where"].split(",")[0].rsplit(":", 1)[1]) for f in findings) == list(KV_READ), findings
    assert all("(request.remote_address), which is no IP address" in f["message"] for f in findings)


ADDRESSES = {
    "public-ipv4": "198.51.100.7",
    "ipv6": "2001:db8::7",
    "ipv4-mapped": "::ffff:10.0.0.1",
    "link-local-zone": "fe80::1%eth0",
}


@PATHS
@pytest.mark.parametrize("name", sorted(ADDRESSES))
def test_an_address_the_vault_writes_is_no_finding(tmp_path: Path, pure: bool, name: str) -> None:
    assert _required_fields(tmp_path, ADDRESSES[name], pure) == []
