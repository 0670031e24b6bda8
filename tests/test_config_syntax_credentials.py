"""Credentials in configuration syntaxes the keyword rules missed (blind red team rt50, F6): a Hadoop or Spark
property whose words are joined by "." ("spark.hadoop.fs.s3a.secret.key=", as a Glue job's "--conf" argument holds
it), a .netrc entry ("machine H login U password P", the GNU inetutils and curl manuals), a PostgreSQL password
file's line ("host:port:database:user:password", PostgreSQL's manual), and a key that names a pre-shared key or a
passphrase (EC2 CreateVpnConnection's tunnelOptions[].preSharedKey) with a human-chosen value no entropy limit
reaches. Both ways: each found at its line by the C extension and the pure-Python path, and the look-alikes (prose,
clock times, IPv6 addresses, ARNs, references, a pre-shared key's identity or ARN) are none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from tests.conftest import remember_secret
from tests.test_config_text_credentials import k8s_log_of
from tests.test_url_passwords import _entry, leak_lines, scanner  # noqa: F401  (the scanner fixture)

SECRETS = [remember_secret(s) for s in ("lj9gMCQHIDa1a3ET7uLr1rWHwumyD9MVw/CNNfi6", "Zq8pLm2vRt9xKw",
                                        "Zq8 pLm2 quoted", "Zq8pgpassRt9", "CompanyVpnKey2024",
                                        "correct horse battery staple", "Wifi2024home")]

TEXTS = [
    f"spark.hadoop.fs.s3a.secret.key={SECRETS[0]}",  # a Glue job's --conf
    f"machine github.com login deploy password {SECRETS[1]}\n",
    f'machine github.com\n  login deploy\n  password "{SECRETS[2]}"\n',  # one token a line; curl's quotes
    f"db.internal:5432:orders:app:{SECRETS[3]}\n",
]
KEYED = [("preSharedKey", SECRETS[4]), ("passphrase", SECRETS[5]), ("psk", SECRETS[6])]
CLEAN_TEXTS = [
    "spark.hadoop.fs.s3a.secret.key=${S3_SECRET}",
    "the default password expired for machine learning; password reset sent",
    "build:1:2:3:done", "10:30:00:12:45", "2001:db8:0:1:ffff", "arn:aws:iam::123456789012:role/app",
    "*:*:*:postgres:hmac-sha256:" + "ab" * 32,
    "machine github.com login deploy password ${NETRC_PASSWORD}\n",
]
CLEAN_KEYED = [("pskIdentity", "client-7"), ("preSharedKeyArn", "arn:aws:secretsmanager:eu-west-1:1:secret:psk"),
               ("passphrase", "********"), ("psk", "true")]


def _keyed(key: str, value: str) -> str:
    """A response entry whose data holds ``value`` under ``key``."""
    doc = json.loads(_entry(""))
    doc["response"]["data"] = {key: value}
    return json.dumps(doc, separators=(",", ":"))


@pytest.mark.parametrize("line", [_entry(t) for t in TEXTS] + [_keyed(k, v) for k, v in KEYED])
def test_a_credential_in_such_a_syntax_is_found(scanner, line):  # noqa: F811
    hits = scanner.scan_block(line.encode(), 1)
    assert [h.line for h in hits] == [1], line
    assert "Secret Keyword" in {g.kind for g in hits[0].generic}


@pytest.mark.parametrize("line", [_entry(t) for t in CLEAN_TEXTS] + [_keyed(k, v) for k, v in CLEAN_KEYED])
def test_look_alikes_are_none(scanner, line):  # noqa: F811
    assert scanner.scan_block(line.encode(), 1) == []


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_in_a_configmap_at_its_line_and_nothing_else(tmp_path: Path, pure: bool) -> None:
    """A real Kubernetes audit log with ConfigMaps written at RequestResponse level, one a case: a finding at each
    credential's line and none at a look-alike's; no value reaches the output."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    cases: list[tuple[dict[str, Any], bool]] = (
        [({"file": t}, True) for t in TEXTS] + [({k: v}, True) for k, v in KEYED]
        + [({"file": t}, False) for t in CLEAN_TEXTS] + [({k: v}, False) for k, v in CLEAN_KEYED])
    text, leaky = k8s_log_of([({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"app-{n}"},
                                "data": data}, leaks) for n, (data, leaks) in enumerate(cases)])
    found, shown = leak_lines(tmp_path, "k8s.log", text, pure)
    assert found == leaky, (found, leaky)
    assert not any(v in shown for v in SECRETS)
