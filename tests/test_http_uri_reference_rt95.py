"""An http audit device whose uri OpenBao resolves on the vault's host (red team rt95, F3).

OpenBao's http device passes ``uri`` through parseutil.ParsePath: ``env://NAME`` is a variable of the server's
environment, ``file://PATH`` a file's content. The run cannot read either on the vault's host, so whether the device
posts over plain HTTP to another host is unknown: it passed log_protection without a word, and its message wrote
the variable's name lower-cased (``env://siem_uri``). It is now a finding naming the reference as written; a
literal https:// uri still passes. Real throw-away OpenBao servers from the example configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.auditrun import assert_no_secret_in_outputs
from tests.test_vault_config import _append, audit_config, copy_example, line_of

pytestmark = pytest.mark.vault


@pytest.mark.parametrize("uri", ["env://SIEM_URI", "file:///etc/auditready-siem-uri"])
def test_a_uri_resolved_on_the_vault_s_host_is_a_finding_naming_it(pytester: pytest.Pytester, tmp_path: Path,
                                                                  uri: str) -> None:
    folder = copy_example(tmp_path)
    _append(folder / "server.hcl", f'audit "http" "siem" {{\n  options {{\n    uri = "{uri}"\n  }}\n}}\n')
    run = audit_config(pytester, folder)
    assert run.result.ret == 1, run.result.stdout.str()[-3000:]
    assert run.failed_checks() == {"log_protection"}, run.result.stdout.str()[-3000:]
    said = run.text("log_protection")
    assert f"Audit device 'siem' takes its uri from {uri}" in said and "cannot tell" in said, said
    assert line_of(folder / "server.hcl", "uri = ") in said, said
    assert uri.lower() == uri or uri.lower() not in run.result.stdout.str()  # the name as written
    assert_no_secret_in_outputs(run)


def test_a_literal_https_uri_still_passes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    _append(folder / "server.hcl", 'audit "http" "siem" {\n  options {\n'
            '    uri = "https://siem.example.com/ingest"\n  }\n}\n')
    run = audit_config(pytester, folder)
    assert "log_protection" not in run.failed_checks(), run.text("log_protection")
