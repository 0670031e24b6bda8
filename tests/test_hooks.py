"""Extension points: a conftest.py adds its own scenario action and its own check through the hooks."""

from __future__ import annotations

import pytest

from pytest_auditready.checks import BUILTIN

pytestmark = pytest.mark.vault

CONFTEST = '''
from pytest_auditready.checks.base import Check, Finding
from pytest_auditready.vault.scenario import ActionSpec

def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("read-again-c1", "reader", "GET", plan.data_path("c1"), "read", secrets=("canary:c1@v2",)))  # after rotate

def _no_root(ctx):
    for e in ctx.entries:
        if e.display_name == "{forbidden}":
            yield Finding("no_root_use", "", "the root token was used", "use named tokens", where=e.where)
            return

def pytest_auditready_checks(config):
    return [Check("no_root_use", "Root is not used", "no entry made with the root token", run=_no_root)]
'''


def _items(result: pytest.RunResult) -> str:
    return result.stdout.str()


def test_conftest_adds_an_action_and_a_check_that_pass(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.format(forbidden="nobody"))
    result = pytester.runpytest("--auditready", "-v", "-p", "no:cacheprovider")
    out = _items(result)
    assert result.ret == 0, out
    # the custom action is audited by every per-action check, like a built-in one
    assert "auditready::completeness[read-again-c1] PASSED" in out
    assert "auditready::timestamp_accuracy[read-again-c1] PASSED" in out
    assert "auditready::no_root_use PASSED" in out
    n = len(BUILTIN) + 1  # the built-in checks and no_root_use
    # the embedded target has no history (retention) and the project no access rules (access_policy): skipped, said
    assert f"{n - 2}/{n} checks passed, 2 skipped (access_policy, retention)" in out


def test_custom_check_can_fail(pytester: pytest.Pytester) -> None:
    # the embedded dev server's root token logs as display name "token": the custom check catches it
    pytester.makeconftest(CONFTEST.format(forbidden="token"))
    result = pytester.runpytest("--auditready", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*auditready: no_root_use*", "  - [[]*audit.log:*[]] the root token was used Fix: use named tokens"])


def test_duplicate_check_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
from pytest_auditready.checks import BUILTIN
def pytest_auditready_checks(config):
    return [BUILTIN[0]]
''')
    result = pytester.runpytest("--auditready", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*two checks share the id 'completeness'*"])


@pytest.mark.parametrize("hook", ["pytest_auditready_scenario(plan, config)", "pytest_auditready_checks(config)"])
def test_a_hook_that_raises_is_one_line_naming_it_and_where(pytester: pytest.Pytester, hook: str) -> None:
    """A bug in a conftest hook (an attribute the plan does not have) ends the run with one usage error naming the
    hook, the exception and the line, not an INTERNALERROR traceback."""
    pytester.makeconftest(f'''
def {hook}:
    return config.no_such_attribute
''')
    result = pytester.runpytest("--auditready", "-p", "no:cacheprovider")
    err = result.stderr.str()
    assert result.ret == 4, err
    assert "INTERNALERROR" not in err + result.stdout.str() and "Traceback" not in err
    name = hook.split("(")[0]
    assert f"the {name} hook raised AttributeError" in err and "conftest.py:2" in err


def test_a_custom_check_that_raises_while_judging_is_one_line_with_the_values_named(pytester: pytest.Pytester) -> None:
    """A check added by the hook whose run raises, its message quoting a canary: it was pytest's INTERNALERROR
    (exit 3) with the value in clear (red team rt30, F2)."""
    pytester.makeconftest('''
from pytest_auditready.checks.base import Check

def _bad(ctx):
    raise ValueError("cannot judge " + ctx.secrets["canary:c1"])
    yield

def pytest_auditready_checks(config):
    return [Check("bad_check", "Bad", "raises", run=_bad)]
''')
    result = pytester.runpytest_subprocess("--auditready", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, out[-2000:]
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert "judging the log stopped on an unexpected ValueError: cannot judge <canary:c1>" in out, out[-2000:]
