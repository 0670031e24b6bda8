"""`auditready access` over a folder of several systems' logs, and CloudTrail callers from other accounts (red team
rt54, F6, F8).

- F6: a folder mixing a Vault/OpenBao log (a real OpenBao run, fixtures/openbao/clean.log) and a CloudTrail file:
  a `BatchGetSecretValue` by tag could match any name, so it counts for a Vault path too ("could match"; an SSM
  `GetParametersByPath /` does not: a parameter of a hierarchy is named from its root, /secret/..., red team rt94
  F5), but the answer listed the two AWS roles among the Vault path's readers
  without saying they come from another system. Each identity now says its system (JSON `system`; with files of
  several systems, a `system` column and the system after each "not by name" reader).
- F8: a call from another AWS account is logged with `userIdentity.type` `AWSAccount`, its `principalId` and
  `accountId`, and no `arn` (CloudTrail userIdentity element docs): the answer showed the principal id alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests._native_runs import completed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VAULT_LOG = FIXTURES / "openbao" / "clean.log"
VAULT_PATH = "secret/data/app-c9d897/app0/db"
OWNER = "111122223333"


def access(*args: str) -> subprocess.CompletedProcess[str]:
    return completed(["access", *args])  # a fork of the verify server (tests/_native_runs.py)


def record(n: int, identity: dict[str, Any], source: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """A CloudTrail record as the CloudTrail record contents and userIdentity element docs describe one."""
    return {"eventVersion": "1.09", "userIdentity": identity, "eventTime": f"2026-11-10T12:0{n}:00Z",
            "eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
            "userAgent": "aws-cli/2.15.0", "requestParameters": params, "responseElements": None,
            "requestID": f"00000000-0000-0000-0000-0000000000b{n}", "eventID": f"00000000-0000-0000-0000-0000000000a{n}",
            "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": OWNER,
            "eventCategory": "Management"}


def role(session: str) -> dict[str, Any]:
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEROLE:{session}",
            "arn": f"arn:aws:sts::{OWNER}:assumed-role/App/{session}", "accountId": OWNER,
            "accessKeyId": "ASIAEXAMPLEKEY00000"}


SM, SSM = "secretsmanager.amazonaws.com", "ssm.amazonaws.com"
SECRET = f"arn:aws:secretsmanager:us-east-1:{OWNER}:secret:prod/db-a1B2c3"


def trail(folder: Path) -> Path:
    records = [
        record(0, {"type": "AWSAccount", "principalId": "AIDAEXAMPLEXACCT:bob", "accountId": "444455556666"}, SM,
               "GetSecretValue", {"secretId": SECRET}),
        record(1, {"type": "AWSService", "invokedBy": "ecs-tasks.amazonaws.com"}, SM, "GetSecretValue",
               {"secretId": "prod/db"}),
        record(2, {"type": "IAMUser", "principalId": "AIDAEXAMPLECARL", "arn": f"arn:aws:iam::{OWNER}:user/carl",
                   "accountId": OWNER, "userName": "carl"}, SM, "GetSecretValue", {"secretId": "prod/db"}),
        record(3, role("sam"), SSM, "GetParametersByPath", {"path": "/", "recursive": True,
                                                            "withDecryption": True}),
        record(4, role("wes"), SM, "BatchGetSecretValue", {"filters": [{"key": "tag-key", "values": ["team"]}]}),
    ]
    path = folder / f"{OWNER}_CloudTrail_us-east-1_20261110T1200Z_abc.json"
    path.write_text(json.dumps({"Records": records}))
    path.chmod(0o600)
    return path


def test_a_caller_from_another_account_shows_its_account(tmp_path: Path) -> None:
    proc = access("prod/db", str(trail(tmp_path)), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    named = {i["display_name"] for i in doc["identities"] if not i["scopes"]}
    assert named == {"AIDAEXAMPLEXACCT:bob (account 444455556666)", "ecs-tasks.amazonaws.com",
                     f"arn:aws:iam::{OWNER}:user/carl"}, named  # an ARN says its account; a service has none
    assert {i["system"] for i in doc["identities"]} == {"cloudtrail"}
    table = access("prod/db", str(trail(tmp_path))).stdout
    assert "AIDAEXAMPLEXACCT:bob (account 444455556666)" in table and "system" not in table.splitlines()[1], table


def _folder(tmp_path: Path, with_trail: bool) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copyfile(VAULT_LOG, folder / "audit.log")
    (folder / "audit.log").chmod(0o600)
    if with_trail:
        trail(folder)
    return folder


def test_a_folder_of_several_systems_says_which_system_each_reader_is_of(tmp_path: Path) -> None:
    folder = _folder(tmp_path, True)
    proc = access(VAULT_PATH, str(folder), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    systems = {i["display_name"]: i["system"] for i in doc["identities"]}
    # the "could match" request: a BatchGetSecretValue by tag (a secret may have any name); not sam's
    # GetParametersByPath of /, whose parameters are all named from the root (/secret/...), as the Vault path is not
    # (red team rt94, F5)
    aws = {f"arn:aws:sts::{OWNER}:assumed-role/App/wes"}
    assert {k for k, v in systems.items() if v == "cloudtrail"} == aws, systems
    vault_only = json.loads(access(VAULT_PATH, str(VAULT_LOG), "--json", "-").stdout)
    assert [i for i in doc["identities"] if i["system"] == "vault"] == vault_only["identities"]
    table = access(VAULT_PATH, str(folder)).stdout.splitlines()
    assert table[1].split()[-1] == "system", table
    rows = [ln for ln in table if ln.startswith(("arn:aws:sts", "token", "userpass", "root", "approle"))]
    assert rows and all(ln.rstrip().endswith(("AWS CloudTrail", "Vault/OpenBao")) for ln in rows
                        if not ln.startswith("  ")), rows
    scopes = [ln for ln in table if ln.startswith("  arn:aws:sts")]
    assert len(scopes) == 1 and all(" (AWS CloudTrail) saw " in ln for ln in scopes), table


def test_a_folder_of_one_system_is_answered_as_before(tmp_path: Path) -> None:
    folder = _folder(tmp_path, False)
    doc = json.loads(access(VAULT_PATH, str(folder), "--json", "-").stdout)
    assert doc["identities"] and {i["system"] for i in doc["identities"]} == {"vault"}
    table = access(VAULT_PATH, str(folder)).stdout.splitlines()
    assert table[1].split()[-1] == "sources" and "Vault/OpenBao" not in "\n".join(table), table
