"""A log's text never silences its own judge. detect-secrets drops a hit on a line that carries its allowlist
comment ("pragma: allowlist secret", in the comment syntaxes of Python, YAML, Go, C, SQL and XML) or that follows
"pragma: allowlist nextline secret". Repositories that run detect-secrets as a pre-commit hook carry such comments
beside real credentials, and that configuration reaches an audit log whole: a ConfigMap written at RequestResponse
level, a request body, a CloudTrail parameter. Both ways: each credential found at its line (C extension and pure
Python), and the same comments beside no credential are no finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from pytest_auditready.scan.secrets import GenericScanner
from tests.conftest import remember_secret
from tests.test_config_text_credentials import k8s_log_of
from tests.test_url_passwords import leak_lines

AWS_KEY = remember_secret("AKIAQ7RZ3M5T2WXKP4LN")
SECRET = remember_secret("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")
PASSWORD = remember_secret("Tr0ub4dor&3-horse")
# (a file's finding names each secret once, at its first line: one secret a case)
AWS_KEY_2 = remember_secret("AKIAW4NQ8ZK2R7TLX5MB")
PASSWORD_2, PASSWORD_3 = remember_secret("Zx7-pQ2!mW9kL4"), remember_secret("hunter2-Rk8vQ3zW")

LEAKS = [
    f"aws_access_key_id = {AWS_KEY}  # pragma: allowlist secret\n",
    f'api_secret = "{SECRET}"  # pragma: allowlist secret\n',
    f"# pragma: allowlist nextline secret\ndb_password: {PASSWORD}\n",
    f'key := "{AWS_KEY_2}" // pragma: allowlist secret\n',
    f"ALTER USER app PASSWORD '{PASSWORD_2}'; -- pragma: allowlist secret\n",
    f"<password>{PASSWORD_3}</password> <!-- pragma: allowlist secret -->\n",
]
CLEAN = [
    "region = eu-west-1  # pragma: allowlist secret\n",
    "# pragma: allowlist nextline secret\ndb_password: ${DB_PASSWORD}\n",
    "log_level: debug // pragma: allowlist secret\n",
]


@pytest.mark.parametrize("text", LEAKS)
def test_the_judge_finds_a_credential_beside_the_comment(text: str) -> None:
    with GenericScanner() as judge:
        assert judge.scan_value("application.yml", text), text


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_at_its_line_and_nothing_else(tmp_path: Path, pure: bool) -> None:
    """A real Kubernetes audit log with a ConfigMap for each text: a no_secret_leak finding at each credential's
    line and at no other; no value reaches the output."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    objects: list[tuple[dict[str, Any], bool]] = [
        ({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"app-{n}"},
          "data": {"application.yml": text}}, text in LEAKS) for n, text in enumerate(LEAKS + CLEAN)]
    log, leaky = k8s_log_of(objects)
    found, shown = leak_lines(tmp_path, "k8s.log", log, pure)
    assert found == leaky, (found, leaky)
    assert not any(v in shown for v in (AWS_KEY, SECRET, PASSWORD, AWS_KEY_2, PASSWORD_2, PASSWORD_3))
