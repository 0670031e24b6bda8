"""What AWS services write beside the logs they deliver (red team rt85 F2, F3). A CloudWatch Logs export task puts
`aws-logs-write-test` ("Permission Check Successful") in its destination, and the whole export prefix was refused
(exit 2, "holds plain text"). In a shared log-archive bucket, AWS Config's 0-byte `ConfigWritabilityCheckFile`
under `AWSLogs/ACCOUNT/Config/` failed completeness as a log whose entries were lost, and a Config snapshot ended
the run. `auditready verify .../AWSLogs/` walks the trail: those objects are left out, as CloudTrail's digests are."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pytest_auditready.cli import main
from pytest_auditready.engine.objects import not_a_log

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRAIL = FIXTURES / "cloudtrail" / "real" / "correct.json"
VAULT = FIXTURES / "openbao" / "clean.log"


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[str], str]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\ntimestamp_digits = 0\n")  # (CloudTrail's)
    out = tmp_path / "out.json"
    rc = main(["verify", str(path), "--config", str(cfg), "--json", str(out)])
    text = capsys.readouterr()
    report = json.loads(out.read_text()) if out.exists() else {}
    return rc, [f["file"].rsplit("/", 1)[-1] for f in report.get("files", [])], text.out + text.err


def test_a_cloudwatch_export_prefix_is_read_without_its_write_test_object(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "exportedlogs"
    (export / "3f1c0d2e-task" / "vault-audit").mkdir(parents=True)
    shutil.copy(VAULT, export / "3f1c0d2e-task" / "vault-audit" / "audit.log")
    (export / "3f1c0d2e-task" / "vault-audit" / "audit.log").chmod(0o600)
    rc_alone, files_alone, _ = _verify(tmp_path, capsys, export)
    (export / "aws-logs-write-test").write_text("Permission Check Successful")
    rc, files, text = _verify(tmp_path, capsys, export)
    assert (rc, files) == (rc_alone, files_alone) == (0, ["audit.log"]), text


def test_other_services_in_a_log_archive_are_left_out_of_the_trail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "o-a1b2c3d4e5" / "AWSLogs" / "111122223333"
    trail = archive / "CloudTrail" / "us-east-1" / "2026" / "12" / "01"
    trail.mkdir(parents=True)
    name = "111122223333_CloudTrail_us-east-1_20261201T0000Z_a1b2c3d4e5f6g7h8.json.gz"
    (trail / name).write_bytes(gzip.compress(TRAIL.read_bytes(), mtime=0))
    (trail / name).chmod(0o600)
    rc_alone, files_alone, _ = _verify(tmp_path, capsys, tmp_path / "o-a1b2c3d4e5" / "AWSLogs")
    config = archive / "Config"
    (config / "us-east-1" / "2026" / "12" / "1" / "ConfigSnapshot").mkdir(parents=True)
    (config / "ConfigWritabilityCheckFile").write_bytes(b"")
    snapshot = {"fileVersion": "1.0", "configSnapshotId": "5a7e0c2b-0d1f-4c3e-9a8b-7f6e5d4c3b2a",
                "configurationItems": [{"configurationItemVersion": "1.3", "resourceType": "AWS::S3::Bucket",
                                        "resourceId": "logs", "awsRegion": "us-east-1"}]}
    (config / "us-east-1" / "2026" / "12" / "1" / "ConfigSnapshot" / "snap.json.gz").write_bytes(
        gzip.compress(json.dumps(snapshot).encode(), mtime=0))
    (archive / "elasticloadbalancing").mkdir()
    (archive / "elasticloadbalancing" / "ELBAccessLogTestFile").write_text("")
    rc, files, text = _verify(tmp_path, capsys, tmp_path / "o-a1b2c3d4e5" / "AWSLogs")
    assert (rc, files) == (rc_alone, files_alone) and files == [name], text
    assert rc == 0 and "ConfigWritabilityCheckFile" not in text, text


@pytest.mark.parametrize("path,left_out", [
    ("b/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/x.json.gz", False),
    ("b/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/12/01/x.json.gz", False),
    ("b/AWSLogs/111122223333/Config/us-east-1/2026/12/1/ConfigHistory/x.json.gz", True),
    ("b/AWSLogs/o-a1b2c3d4e5/111122223333/vpcflowlogs/us-east-1/x.log.gz", True),
    ("b/exports/aws-logs-write-test", True),
    ("b/vault/audit.log", False),
    ("b/vault/AWSLogs-notes/audit.log", False),
])
def test_which_objects_of_an_aws_layout_are_logs(path: str, left_out: bool) -> None:
    assert not_a_log(path) is left_out
