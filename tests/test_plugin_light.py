"""Without --auditready the plugin costs nothing: no items, no heavy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_plugin_import_is_light():
    code = (
        "import sys, pytest_auditready.plugin\n"
        "heavy = [m for m in ('hvac', 'requests', 'detect_secrets', 'junit_xml') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_items_without_the_option(pytester: pytest.Pytester):
    pytester.makepyfile(test_x="def test_a():\n    assert 1\n")
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "auditready::" not in result.stdout.str()


def test_a_run_without_the_option_imports_nothing_of_the_audit(pytester: pytest.Pytester):
    """A user's own test run (the plugin installed, no --auditready) loads no part of the audit: neither the
    session and its checks (about 0.16 s a run) nor the libraries they use."""
    pytester.makepyfile(test_x="def test_a():\n    assert 1\n")
    pytester.makeconftest(
        "import sys, pytest\n"
        "@pytest.hookimpl(trylast=True)\n"  # after the plugin's own
        "def pytest_unconfigure(config):\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('hvac', 'detect_secrets', 'junit_xml')\n"
        "                    or m.startswith(('pytest_auditready.session', 'pytest_auditready.checks')))\n"
        "    print('LOADED', loaded)\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=0)
    assert "LOADED []" in result.stdout.str(), result.stdout.str()


def test_collect_only_contacts_no_vault(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VAULT_TOKEN", "x")
    result = pytester.runpytest("--auditready", "--auditready-target=http://127.0.0.1:9",
                                "--auditready-log=/nonexistent", "--collect-only", "-q")
    assert result.ret == 0
    assert "auditready::completeness[read-denied-c1]" in result.stdout.str()


@pytest.mark.vault
def test_fixtures_offered_without_the_option(pytester: pytest.Pytester):
    pytester.makepyprojecttoml("[tool.auditready]\nmax_skew = 0.5\n")
    pytester.makepyfile(test_f='''
import json, urllib.request

def test_settings(auditready_settings):
    assert auditready_settings.max_skew == 0.5

def test_vault(auditready_vault):
    req = urllib.request.Request(auditready_vault.url + "/v1/sys/audit",
                                 headers={"X-Vault-Token": auditready_vault.root_token})
    devices = json.load(urllib.request.urlopen(req, timeout=5))["data"]
    assert devices["auditready/"]["options"]["mode"] == "0600"
    assert auditready_vault.log_path.exists()
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_verify_loads_what_the_log_needs_only(tmp_path):
    """A log without a digest chain is verified without loading cryptography (6 MB of a 50 MB memory goal): the
    seal modules import it where a key is used."""
    log = tmp_path / "audit.log"
    log.write_bytes((Path(__file__).parent.parent / "fixtures" / "openbao" / "clean.log").read_bytes())
    log.chmod(0o600)
    code = (
        "import sys\n"
        "from pytest_auditready.cli import main\n"
        "try:\n"
        f"    main(['verify', '--jobs', '1', '-q', {str(log)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print([m for m in sys.modules if m.startswith('cryptography')], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "no integrity mechanism" in done.stdout  # tamper_evidence judged the log
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_the_package_is_taken_off_pytests_assert_rewriting():
    """An installed (not editable) distribution's modules are all marked for assert rewriting: pytest then compiles
    each from source at import, uncached where bytecode is not written (0.14 s a live run). The plugin unmarks its
    own package, and only it."""
    from types import SimpleNamespace

    from pytest_auditready.plugin import _not_rewritten

    hook = SimpleNamespace(_must_rewrite={"pytest_auditready", "xdist", "hypothesis"},
                           _marked_for_rewrite_cache={"pytest_auditready.plugin": True, "xdist.plugin": True,
                                                      "pytest_auditready_other": False})
    _not_rewritten(SimpleNamespace(rewrite_hook=hook))
    assert hook._must_rewrite == {"xdist", "hypothesis"}
    assert hook._marked_for_rewrite_cache == {"xdist.plugin": True, "pytest_auditready_other": False}
    _not_rewritten(SimpleNamespace())  # no hook (assert rewriting off): nothing to do
