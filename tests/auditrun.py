"""Run `pytest --auditready` inside a test (pytester) and read back each item's outcome and the secrets used."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.conftest import SEEN_SECRETS, audit_args, write_config
from tests.sealing import FollowSealer

# A conftest for the audited session that records the run's secret values to a file, so that the test can
# prove none of them reached any output. (It uses the public report hook, as any reporter would.)
SECRET_RECORDER = '''
import json, os
def pytest_auditready_report(result, config):
    with open(os.path.join(str(config.rootpath), "secrets.json"), "w") as f:
        json.dump(dict(result.context.secrets), f)
'''


@dataclass
class AuditRun:
    result: pytest.RunResult
    items: dict[str, str]  # item name -> "passed" | "failed" | "skipped"
    messages: dict[str, str]  # item name -> failure text
    outputs: dict[str, str]  # every text the run produced, by name
    secrets: dict[str, str]

    def status(self, check: str) -> str:
        """The worst status among a check's items."""
        st = [s for n, s in self.items.items() if n == check or n.startswith(check + "[")]
        assert st, f"no item for check {check}"
        for worst in ("failed", "passed", "skipped"):
            if worst in st:
                return worst
        return st[0]

    def failed_checks(self) -> set[str]:
        return {n.split("[")[0] for n, s in self.items.items() if s == "failed"}

    def text(self, check: str) -> str:
        return "\n".join(m for n, m in self.messages.items() if n == check or n.startswith(check + "["))


def parse_junit(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    items, messages = {}, {}
    for tc in ET.parse(path).iter("testcase"):
        name = tc.get("name", "")
        status = "passed"
        for child in tc:
            if child.tag in ("failure", "error"):
                status = "failed"
                messages[name] = (child.get("message") or "") + "\n" + (child.text or "")
            elif child.tag == "skipped" and child.get("type") == "pytest.xfail":  # failed below fail_on
                status = "failed"
                messages[name] = child.get("message") or ""
            elif child.tag == "skipped":
                status = "skipped"
                messages[name] = child.get("message") or ""  # the reason
        items[name] = status
    return items, messages


def run_audit(
    pytester: pytest.Pytester,
    server: Any = None,
    log: Optional[Path] = None,
    *extra: str,
    subprocess: bool = False,
    conftest: str = "",
    seal: bool = True,
    **config: Any,
) -> AuditRun:
    """Audit ``server`` (a URL target) or, with server=None, the embedded target. ``conftest`` is added to the
    audited session's conftest.py, after the secret recorder."""
    sealer = None
    if seal and "require_tamper_evidence" not in config:
        # A well-run vault has a sealer beside its log (README "Tamper evidence"); the embedded target seals its
        # own. seal=False audits a URL target without one (write_config then leaves tamper_evidence off).
        config["require_tamper_evidence"] = True
        if server is not None:
            sealer = FollowSealer(Path(log or server.log_path), pytester.path / "seal-keys")
            config.setdefault("public_key", str(sealer.public_key))
    write_config(pytester, **config)
    pytester.makeconftest(SECRET_RECORDER + "\n" + conftest)
    junit = pytester.path / "pytest-junit.xml"
    report = pytester.path / "compliance.xml"
    args = (
        audit_args(server, log, *extra)
        if server is not None
        else ["--auditready", "-p", "no:cacheprovider", *extra]
    )
    args += [f"--junitxml={junit}", f"--auditready-report={report}"]
    try:
        result = pytester.runpytest_subprocess(*args) if subprocess else pytester.runpytest(*args)
    finally:
        if sealer is not None:
            sealer.stop()
    items, messages = parse_junit(junit) if junit.exists() else ({}, {})
    secrets_file = pytester.path / "secrets.json"
    secrets = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    SEEN_SECRETS.update(v for v in secrets.values() if v)
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for name, p in (("pytest junit", junit), ("compliance report", report)):
        if p.exists():
            outputs[name] = p.read_text()
    return AuditRun(result, items, messages, outputs, secrets)


def assert_no_secret_in_outputs(run: AuditRun) -> None:
    assert run.secrets, "the run recorded no secrets; the recorder conftest did not run"
    for where, text in run.outputs.items():
        for name, value in run.secrets.items():
            assert value not in text, f"secret {name} appeared in {where}"
