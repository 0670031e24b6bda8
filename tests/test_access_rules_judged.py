"""Access rules that judged nothing do not pass (red team rt68, F8): a rule whose paths or operations match no
request of the log (a mistyped mount) left ``access_policy`` skipped and the run green, so one typo turned the
least-privilege gate off. Now the check fails, naming the rules that named no request and how to fix them, in
``auditready verify`` and ``pytest --auditready-offline`` alike; the same rules spelled as the log spells the paths
hold (no finding); a rule that allows nobody holds on a log where nothing it forbids was done; and a rule that
named nothing beside one that judged requests is named in the pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.cli import main
from pytest_auditready.config import AccessRule, Settings
from pytest_auditready.engine.files import verify_file

ROOT = Path(__file__).resolve().parents[1]
OPENBAO = ROOT / "fixtures" / "openbao" / "clean.log"  # a real OpenBao server's file device
K8S = ROOT / "fixtures" / "access" / "k8s.log"
BASE = "require_tamper_evidence = false\nretention_days = 0\n"
TYPO = '[[access.rules]]\nname = "app secrets"\npaths = ["secrets/data/app-c9d897/*"]\noperations = ["read"]\n' \
       'identities = ["token-*"]\n'
RIGHT = TYPO.replace("secrets/data", "secret/data")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "audit.log"
    log.write_bytes(OPENBAO.read_bytes())
    log.chmod(0o600)
    return tmp_path


def _verify(work: Path, capsys: pytest.CaptureFixture[str], rules: str) -> tuple[int, str, dict[str, Any]]:
    (work / "ar.toml").write_text(BASE + rules)
    rc = main(["verify", "audit.log", "--config", "ar.toml", "--json", "r.json"])
    out = capsys.readouterr()
    (o,) = [o for o in json.loads((work / "r.json").read_text())["outcomes"] if o["check"] == "access_policy"]
    return rc, out.out + out.err, o


def test_a_mistyped_rule_fails_the_run_naming_the_rule(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, o = _verify(work, capsys, TYPO)
    assert rc == 1 and "FAIL access_policy audit.log" in out, out
    assert o["status"] == "failed"
    (f,) = o["findings"]
    assert f["message"].startswith("access_policy judged nothing: none of the ") and "\n" not in f["message"]
    assert "rule 'app secrets' (paths secrets/data/app-c9d897/*; operations read; allows identities token-*) " \
           "named no request" in f["message"], f
    assert "Vault policy globs" in f["fix"] and "<mount>/data/<path>" in f["fix"]
    # the same rule spelled as the log spells the paths holds, with no finding
    rc, out, o = _verify(work, capsys, RIGHT)
    assert rc == 0 and "PASS access_policy audit.log" in out, out
    assert o["status"] == "passed" and not o["findings"] and "named no request" not in str(o["reason"]), o
    # beside it, the mistyped rule is named in the pass (the other rule judged the reads)
    rc, out, o = _verify(work, capsys, RIGHT + TYPO.replace('"app secrets"', '"typo"'))
    assert rc == 0 and o["status"] == "passed", out
    assert "rule 'typo' (paths secrets/data/app-c9d897/*" in str(o["reason"]) and "named no request" in str(
        o["reason"]), o


def test_a_rule_that_allows_nobody_holds_when_nothing_it_forbids_was_done(work: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Nobody may disable an audit device. A healthy log has no such request: that is what the rule asks, not a
    rule that judged nothing."""
    rc, out, o = _verify(work, capsys, '[[access.rules]]\nname = "audit devices"\npaths = ["sys/audit*", '
                         '"sys/audit/+"]\noperations = ["delete"]\nidentities = []\n')
    assert rc == 0 and o["status"] == "passed", out
    assert "the rules allow nobody: nothing they forbid was done" in str(o["reason"]), o
    # beside an allowing rule that names nothing too, the allowing one is named in the failure
    rc, out, o = _verify(work, capsys, TYPO + '[[access.rules]]\npaths = ["sys/audit*"]\noperations = ["delete"]\n'
                         'identities = []\n')
    assert rc == 1 and o["status"] == "failed", out
    (f,) = o["findings"]
    assert "rule 'app secrets'" in f["message"] and "sys/audit" not in f["message"], f


def test_kubernetes_rules_that_judged_nothing_fail_too() -> None:
    mistyped = AccessRule("prod", ("api/v1/namespace/prod/secrets/*",), ("read",), ("system:serviceaccount:*",), ())
    o = verify_file(str(K8S), Settings(access=(mistyped,), log_format="k8s"), [ap.CHECK], {}).outcomes[0]
    assert o.status == FAILED and "rule 'prod'" in o.findings[0].message, o
    assert "api/v1/namespaces/<namespace>/secrets/<name>" in o.findings[0].fix
    right = AccessRule("prod", ("api/v1/namespaces/prod/secrets/*",), ("read",), ("*",), ())
    o = verify_file(str(K8S), Settings(access=(right,), log_format="k8s"), [ap.CHECK], {}).outcomes[0]
    assert o.status == PASSED and not o.findings, o


def test_pytest_offline_fails_the_same_way(work: Path, pytester: pytest.Pytester) -> None:
    (work / "ar.toml").write_text(BASE + TYPO)
    args = ["-p", "no:cacheprovider", "--auditready-offline", str(work / "audit.log"),
            "--auditready-config", str(work / "ar.toml")]
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 1, r.stdout.str()
    r.assert_outcomes(failed=1, passed=8, skipped=2)
    assert "access_policy judged nothing" in r.stdout.str()
    (work / "ar.toml").write_text(BASE + RIGHT)
    r = pytester.runpytest_inprocess(*args)
    assert int(r.ret) == 0, r.stdout.str()


def test_a_quiet_file_of_a_set_is_skipped_and_a_file_alone_fails(work: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A day on which nobody read the secrets a rule names is a quiet file of a rotated set, no typo: each file is
    judged alone, so it is skipped there, saying why; the same file alone fails (the rule named nothing)."""
    quiet = work / "audit.log.1"
    quiet.write_bytes(b"".join(ln for ln in OPENBAO.read_bytes().splitlines(keepends=True)
                               if b"app-c9d897" not in ln))
    quiet.chmod(0o600)
    (work / "ar.toml").write_text(BASE + RIGHT)
    rc = main(["verify", "audit.log.1", "audit.log", "--config", "ar.toml", "--json", "r.json"])
    out = capsys.readouterr().out
    got = {o["subject"]: o for o in json.loads((work / "r.json").read_text())["outcomes"]
           if o["check"] == "access_policy"}
    # (the two files share entries, which completeness names: only access_policy is asked about here)
    assert got["audit.log"]["status"] == "passed" and "FAIL access_policy" not in out, out
    assert got["audit.log.1"]["status"] == "skipped" and "a quiet file of the run's 2 files" in str(
        got["audit.log.1"]["reason"]), got
    rc = main(["verify", "audit.log.1", "--config", "ar.toml", "--json", "r.json"])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL access_policy audit.log.1" in out, out


def test_the_audit_devices_self_test_write_is_no_request_of_anyone(work: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Nobody may write sys/audit*: the vault's own self-test write when a device is enabled (sys/audit/test, no
    token) is made by no identity, and is counted as excused, not as a broken rule."""
    rc, out, o = _verify(work, capsys, '[[access.rules]]\nname = "audit devices"\npaths = ["sys/audit*"]\n'
                         'operations = ["update", "delete"]\nidentities = []\n')
    assert rc == 0 and o["status"] == "passed" and not o["findings"], out
    assert any("self-test" in str(r) for r in o["tally"]["excused"]), o["tally"]
