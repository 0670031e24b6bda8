"""``filter``, ``exclude`` and ``fallback`` are Vault Enterprise 1.16+ audit device options; OpenBao (and Vault's
community edition) ignores them and records every entry (red team rt95, F5: a filtered device failed fail_closed on
OpenBao, "its log cannot show every request", while the same finding said OpenBao ignores the option and the log
held every entry). On a server whose version is not Vault Enterprise's they are a note; on Vault Enterprise, or a
server whose version could not be read, what they drop is still a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_auditready.checks import fail_closed
from tests.test_unseen_devices import FALLBACK, FILE, _ctx, _filtered, _judge, _texts
from tests.test_vault_config import audit_config, copy_example


@pytest.mark.parametrize("version, status", [("2.7.2", "passed"), ("1.16.2", "passed"), ("1.16.2+ent", "failed"),
                                             ("", "failed")])
def test_a_filtered_device_read_fails_only_where_the_server_honours_filters(version: str, status: str) -> None:
    ctx = _ctx({"primary": _filtered(), "catchall": FALLBACK})
    assert ctx.facts is not None
    ctx.facts.version = version
    out = _judge(fail_closed, ctx)
    assert out.status == status, _texts(out)
    if status == "passed":
        assert f"this server (version {version}) ignores them and records every entry" in out.reason, out.reason


def test_every_device_filtered_on_openbao_is_no_finding_either() -> None:
    ctx = _ctx({"primary": _filtered(), "b": _filtered('operation == "read"')})
    assert ctx.facts is not None
    ctx.facts.version = "2.7.2"
    out = _judge(fail_closed, ctx)
    assert out.status == "passed" and "would drop entries only on Vault Enterprise" in out.reason, _texts(out)
    ctx.facts.version = "1.17.0+ent"
    assert _judge(fail_closed, ctx).status == "failed"


def test_an_unfiltered_setup_says_nothing_of_filters() -> None:
    ctx = _ctx({"primary": FILE})
    assert ctx.facts is not None
    ctx.facts.version = "2.7.2"
    out = _judge(fail_closed, ctx)
    assert out.status == "passed" and "Vault Enterprise" not in out.reason


@pytest.mark.vault
def test_a_filter_on_the_real_openbao_is_a_note_and_the_log_holds_every_entry(pytester: pytest.Pytester,
                                                                             tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    text = (folder / "server.hcl").read_text()
    at = text.index('audit "file" "file"')
    end = text.index("options {", at) + len("options {")
    (folder / "server.hcl").write_text(text[:end] + '\n    filter = "mount_type == \\"kv\\""' + text[end:])
    run = audit_config(pytester, folder)
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert "fail_closed" not in run.failed_checks() and "completeness" not in run.failed_checks()
