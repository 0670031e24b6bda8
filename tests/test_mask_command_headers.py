"""A log command that reads the log from an HTTP API or over ssh carries its credential in a header or a tool's own
flag: evidence.json withholds it (blind red team rt60, F5: `-H "X-Api-Key: ..."`, `Cookie:`, `sshpass -p`,
`mysql -pX`, `PW=` were written in clear, and a withheld header lost its closing quote). Both ways: each credential
withheld wherever it stands (also inside `sh -c '...'`), the rest of the command kept as written, and commands
without a credential unchanged."""

from __future__ import annotations

import json
import secrets

import pytest

from pytest_auditready.config import Settings
from pytest_auditready.report.evidence import build, mask_command
from pytest_auditready.result import AuditResult
from tests.conftest import remember_secret

SECRET = remember_secret("Correct" + secrets.token_hex(6) + "Staple")

LEAKY = {
    'curl -s -H "X-Api-Key: {s}" https://siem.example/export': 'curl -s -H "X-Api-Key: <withheld>" https://siem.example/export',
    'curl -s -H "X-Vault-Token: {s}" http://127.0.0.1:8200/v1/sys/audit':
        'curl -s -H "X-Vault-Token: <withheld>" http://127.0.0.1:8200/v1/sys/audit',
    "curl -s -H 'PRIVATE-TOKEN: {s}' https://gitlab.example/api": "curl -s -H 'PRIVATE-TOKEN: <withheld>' https://gitlab.example/api",
    'curl -s -H "Cookie: theme=dark; session={s}" https://siem/': 'curl -s -H "Cookie: <withheld>" https://siem/',
    'curl -s -H "DD-API-KEY: {s}" https://api.datadoghq.com/': 'curl -s -H "DD-API-KEY: <withheld>" https://api.datadoghq.com/',
    'curl -s -H "Authorization: Bearer {s}" https://x/': 'curl -s -H "Authorization: <withheld>" https://x/',
    "http GET https://siem/ X-Api-Key:{s} Accept:application/json":
        "http GET https://siem/ X-Api-Key:<withheld> Accept:application/json",
    "sshpass -p {s} ssh logs@host cat /var/log/vault/audit.log":
        "sshpass -p <withheld> ssh logs@host cat /var/log/vault/audit.log",
    'mysql -p{s} -e "select line from audit"': 'mysql -p<withheld> -e "select line from audit"',
    "env PW={s} siem-cli export": "env PW=<withheld> siem-cli export",
    "plink -pw {s} host cat /var/log/vault/audit.log": "plink -pw <withheld> host cat /var/log/vault/audit.log",
    """sh -c 'curl -s -H "X-Api-Key: {s}" https://siem/ ; exec tail -F audit.log'""":
        """sh -c 'curl -s -H "X-Api-Key: <withheld>" https://siem/ ; exec tail -F audit.log'""",
    "sh -c 'redis-cli -a {s} --raw lrange audit 0 -1'": "sh -c 'redis-cli -a <withheld> --raw lrange audit 0 -1'",
}
PLAIN = [
    "journalctl -o cat -f -u vault",
    'curl -s -H "Content-Type: application/json" -H "Accept: text/plain" https://siem.example/export',
    "ssh -p 2222 logs@host tail -F /var/log/vault/audit.log",
    "kubectl logs -f vault-0 -c audit",
    "http GET https://siem/ Accept:application/json",
]


@pytest.mark.parametrize("command", sorted(LEAKY))
def test_the_credential_is_withheld_and_the_rest_kept(command: str) -> None:
    assert mask_command(command.format(s=SECRET)) == LEAKY[command]


@pytest.mark.parametrize("command", PLAIN)
def test_a_command_without_a_credential_is_kept_as_written(command: str) -> None:
    assert mask_command(command) == command


def test_evidence_json_holds_none() -> None:
    command = next(iter(LEAKY)).format(s=SECRET)
    settings = Settings(log_command=command, bootstrap=f"sshpass -p {SECRET} ssh ops@vault ./setup")
    doc = build(AuditResult(settings=settings, target="offline", run_id="", checks=[], outcomes=[]))
    assert SECRET not in json.dumps(doc)
    assert doc["configuration"]["log_command"] == LEAKY[next(iter(LEAKY))]
