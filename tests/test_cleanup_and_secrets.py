"""Nothing is lost and nothing leaks: after a passing, a failing, an aborted and an interrupted run the vault
holds no canary, token or policy of the run, and no secret value reaches any output."""

from __future__ import annotations

import os
import signal

import pytest

from tests.auditrun import assert_no_secret_in_outputs, run_audit
from tests.conftest import assert_no_secret, leftover
from tests.test_attack_cleanup import VaultProxy, finish, last_word, start_audit

pytestmark = pytest.mark.vault

EMPTY = {"canaries": [], "policies": [], "tokens": []}


def test_passing_run_leaves_nothing(pytester, bao, url_env):
    server = bao()
    url_env(server)
    run = run_audit(pytester, server)
    assert run.result.ret == 0
    assert leftover(server) == EMPTY


def test_failing_run_leaves_nothing_and_prints_no_secret(pytester, bao, url_env):
    server = bao(audit_options={"log_raw": "true"})
    url_env(server)
    run = run_audit(pytester, server)
    assert run.result.ret == 1
    assert leftover(server) == EMPTY
    assert_no_secret_in_outputs(run)


ABORT = '''
from pytest_auditready.vault.scenario import ActionSpec

def pytest_auditready_scenario(plan, config):
    # the reader has no policy for this path: an "allowed" step that is denied aborts the run
    plan.add(ActionSpec("read-elsewhere", "reader", "GET", "secret/data/not-ours", "read"))
'''


def test_aborted_run_says_why_in_one_line_and_cleans_up(pytester, bao, url_env):
    server = bao()
    url_env(server)
    pytester.makeconftest(ABORT)
    from tests.conftest import audit_args, write_config

    write_config(pytester)
    result = pytester.runpytest_subprocess(*audit_args(server))
    assert result.ret == 2
    err = result.stdout.str() + result.stderr.str()
    assert "scenario step read-elsewhere (GET secret/data/not-ours as reader) answered 403" in err
    assert "Traceback" not in err
    assert leftover(server) == EMPTY


BAD_BODY = '''
from pytest_auditready.vault.scenario import ActionSpec

def pytest_auditready_scenario(plan, config):
    # a builder that raises with the canary in its message (int() of it)
    plan.add(ActionSpec("write-extra", "writer", "POST", plan.data_path("c1"), "update",
                        lambda box: {"data": {"n": int(box["canary:c1"])}}))
'''


def test_a_scenario_hook_whose_builder_raises_says_so_in_one_line_and_cleans_up(pytester, bao, url_env):
    """An action's body that raised escaped as pytest's INTERNALERROR (exit 3) with the canary in its message, on
    the terminal and in the JUnit XML, and clean-up's outcome unsaid (red team rt30, F2)."""
    server = bao()
    url_env(server)
    pytester.makeconftest(BAD_BODY)
    from tests.conftest import audit_args, write_config

    write_config(pytester)
    result = pytester.runpytest_subprocess(*audit_args(server), "--junitxml=j.xml")
    assert result.ret == 2, result.stdout.str()[-3000:]
    err = result.stdout.str() + result.stderr.str()
    assert "the body of scenario action write-extra raised ValueError" in err and "<canary:c1>" in err, err[-2000:]
    assert "Traceback" not in err and "INTERNALERROR" not in err
    assert leftover(server) == EMPTY  # (clean-up ran: a leftover would be named on that line)
    assert_no_secret((pytester.path / "j.xml").read_text() if (pytester.path / "j.xml").exists() else "")
    assert_no_secret(err)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_cleans_up(bao, tmp_path, sig):
    """The signal comes at a defined point: while a loopback proxy holds the reader's first read of a canary, when
    the canaries exist and every identity holds a token."""
    server = bao()
    with VaultProxy(server.url) as proxy:
        hold = proxy.hold("GET", "/v1/secret/data/auditready/")
        proc = start_audit(tmp_path, proxy.url, server.log_path, server.root_token)
        try:
            assert hold.arrived.wait(60), "the run never read a canary"
            os.kill(proc.pid, sig)
            hold.release()
        finally:
            out = finish(proc)
    assert proc.returncode == 2, out[-3000:]
    assert last_word(out) == "auditready: interrupted; the run's canaries, tokens and policies were removed"
    assert leftover(server) == EMPTY


def test_embedded_run_prints_no_secret(pytester):
    run = run_audit(pytester, None)
    assert run.result.ret == 0
    assert {"canary:c1", "canary:c1@v2", "token:reader", "token:writer", "token:unprivileged", "token:admin"} <= set(
        run.secrets
    )
    assert_no_secret_in_outputs(run)


EARLY_CTRL_C = '''
import pytest_auditready.scan.secrets as s

def _ctrl_c():
    raise KeyboardInterrupt

s.preload = _ctrl_c  # a Ctrl-C in the live phase's first moment, before any request
'''


def test_a_ctrl_c_before_the_first_request_says_nothing_was_written_and_closes_the_target(pytester, monkeypatch,
                                                                                         tmp_path):
    """A Ctrl-C that landed while the live phase imported detect-secrets said clean-up's result was not known
    ("list by hand") though nothing was written, and left the embedded server's folder (red team rt30, F13)."""
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))
    pytester.makeconftest(EARLY_CTRL_C)
    result = pytester.runpytest_subprocess("--auditready", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, out[-2000:]
    assert "interrupted before the run wrote anything to the vault" in out and "by hand" not in out, out[-2000:]
    assert not [p.name for p in work.iterdir() if p.name.startswith("auditready-")], list(work.iterdir())
