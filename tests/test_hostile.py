"""Hostile log content (terminal escapes, XML-breaking characters, NULs, Markdown/HTML) that reaches a finding
comes out escaped: the terminal shows no raw control character and the compliance report stays valid XML."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema

from tests.auditrun import assert_no_secret_in_outputs, run_audit

pytestmark = pytest.mark.vault

EVIL = "\x1b[2J\x1b]0;pwned\x07<script>alert(1)</script>&]]>\x00|**bold**|"


def _hostile(e: dict) -> dict:
    if e.get("type") == "request" and e.get("request", {}).get("operation") == "list":
        e["time"] = EVIL  # not a time: timestamp_precision quotes it
        e.setdefault("request", {}).setdefault("headers", {})[EVIL] = ["hvs.CAESIJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG"]
    return e


def test_hostile_values_are_escaped_everywhere(pytester, bao, url_env, pipeline, tmp_path):
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, _hostile)
    run = run_audit(pytester, server, shipped)
    assert {"timestamp_precision", "no_secret_leak"} <= run.failed_checks()
    for where, text in run.outputs.items():
        for ch in ("\x1b", "\x07", "\x00"):
            assert ch not in text, f"raw control character {ch!r} in {where}"
    assert "<script>" not in run.outputs["compliance report"]
    xmlschema.XMLSchema(str(Path(__file__).parent / "schemas" / "junit.xsd")).validate(
        str(pytester.path / "compliance.xml")
    )
    assert "\\x1b[2J" in run.outputs["stdout"]  # shown, as text
    assert_no_secret_in_outputs(run)
