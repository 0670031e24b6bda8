"""A rotated log object deleted in a versioned S3 bucket (red team rt81 F5). The delete marker is direct evidence
that a log of the set was removed; the bucket still keeps its last version. Without this, a set missing one day
passed: retention_max_gap_days = 1 lets a one-day hole through, and a daily `dateext` series has no numbers to
show a gap. Runs against moto's S3 server on loopback."""

from __future__ import annotations

import datetime
import gzip
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.checks import retention
from pytest_auditready.checks.base import Finding, Note
from pytest_auditready.engine import objects
from tests.test_blind_store import START, day_lines, failed, findings, s3, verify

__all__ = ["s3"]  # the module's moto server fixture, shared

DAYS = 8


def _dateext_set(client: Any, bucket: str, prefix: str) -> list[str]:
    """A daily set as logrotate's `dateext` with `compress` leaves it: audit.log (the newest day) and
    audit.log-YYYYMMDD.gz for each older day. Returns the keys, oldest first."""
    keys = []
    for day in range(DAYS):
        data = day_lines(day, 3)
        if day == DAYS - 1:
            key, body = f"{prefix}audit.log", data
        else:
            stamp = (START + datetime.timedelta(days=day + 1)).strftime("%Y%m%d")
            key, body = f"{prefix}audit.log-{stamp}.gz", gzip.compress(data, mtime=0)
        client.put_object(Bucket=bucket, Key=key, Body=body)
        keys.append(key)
    return keys


@pytest.fixture
def versioned(s3: tuple[Any, dict[str, str]], request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    client, _env = s3
    bucket = "ver-" + request.node.name.lower().replace("_", "-")[-40:].strip("-")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    yield client, bucket


def test_a_rotated_object_deleted_in_a_versioned_bucket_fails_retention(
        tmp_path: Path, s3: tuple[Any, dict[str, str]], versioned: tuple[Any, str]) -> None:
    client, bucket = versioned
    env = s3[1]
    keys = _dateext_set(client, bucket, "vault/")
    url = f"s3://{bucket}/vault/"
    code, err, report = verify(tmp_path, url, days=DAYS, sealed=False, env=env)
    assert code == 0 and failed(report) == set(), (err, findings(report, "retention"))
    # another host's log sharing the folder, deleted: no file of this set
    client.put_object(Bucket=bucket, Key="vault/other-host.log", Body=day_lines(2, 3, seed=7))
    client.delete_object(Bucket=bucket, Key="vault/other-host.log")
    code, err, report = verify(tmp_path, url, days=DAYS, sealed=False, env=env)
    assert code == 0 and failed(report) == set(), (err, findings(report, "retention"))
    gone = keys[3]  # one day in the middle: a one-day hole, which retention_max_gap_days = 1 lets through
    version = client.list_object_versions(Bucket=bucket, Prefix=gone)["Versions"][0]["VersionId"]
    client.delete_object(Bucket=bucket, Key=gone)
    code, err, report = verify(tmp_path, url, days=DAYS, sealed=False, env=env)
    assert code == 1 and failed(report) == {"retention"}, err
    (said,) = findings(report, "retention")
    assert said.startswith(f"s3://{bucket}/{gone} was deleted on ") and version in said, said
    assert "other-host" not in said
    wheres = [f["where"] for o in report["outcomes"] if o["check"] == "retention" for f in o["findings"]]
    assert wheres == [f"s3://{bucket}/{gone}"]
    # the same set read with two jobs: the same finding
    code2, _err2, report2 = verify(tmp_path, url, "--jobs", "2", days=DAYS, sealed=False, env=env)
    assert code2 == 1 and findings(report2, "retention") == [said]
    # restored (the delete marker removed): clean again
    marker = client.list_object_versions(Bucket=bucket, Prefix=gone)["DeleteMarkers"][0]["VersionId"]
    client.delete_object(Bucket=bucket, Key=gone, VersionId=marker)
    code, err, report = verify(tmp_path, url, days=DAYS, sealed=False, env=env)
    assert code == 0 and failed(report) == set(), (err, findings(report, "retention"))


def test_without_versioning_a_deleted_object_leaves_nothing_to_find(
        tmp_path: Path, s3: tuple[Any, dict[str, str]]) -> None:
    """No versioning, no delete marker: the versions asked show no deletion, and the run does not claim one."""
    client, env = s3
    client.create_bucket(Bucket="plain-unversioned")
    keys = _dateext_set(client, "plain-unversioned", "vault/")
    client.delete_object(Bucket="plain-unversioned", Key=keys[3])
    code, err, report = verify(tmp_path, "s3://plain-unversioned/vault/", days=DAYS, sealed=False, env=env)
    assert code == 0 and not findings(report, "retention"), err


def test_old_deletions_are_a_note_and_an_unlistable_folder_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version written before the retention period, deleted (as a lifecycle rule's expiry does), is a note; a
    folder whose versions could not be listed (s3:ListBucketVersions denied) is said, never a pass claim."""
    recent = objects.Deleted("s3://b/v/audit.log-20261110.gz", "m1", "2026-11-20T00:00:00Z", "2026-11-10T00:00:01Z",
                             "v1", 1234)
    old = objects.Deleted("s3://b/v/audit.log-20250101.gz", "m2", "2026-11-20T00:00:00Z", "2025-01-01T00:00:01Z",
                          "v2", 99)
    purged = objects.Deleted("s3://b/v/audit.log-20261111.gz", "m3", "2026-11-21T00:00:00Z", "", "", 0)
    monkeypatch.setattr(objects, "deleted_beside", lambda urls: ([recent, old, purged],
                                                                 ["s3://b/v/: listing its versions failed: denied"]))
    out = list(retention.deleted_objects(["s3://b/v/audit.log"], "the log set", datetime.date(2026, 12, 1), 365))
    found = [o for o in out if isinstance(o, Finding)]
    notes = [o.text for o in out if isinstance(o, Note)]
    assert [f.where for f in found] == [recent.url, purged.url]
    assert "v1" in found[0].message and "1,234 bytes" in found[0].message and "m1" in found[0].fix
    assert "no version of it is left" in found[1].message and "backup" in found[1].fix
    assert len(notes) == 2 and old.url in notes[0] and "lifecycle" in notes[0]
    assert "not looked for in s3://b/v/: listing its versions failed: denied" in notes[1]
    assert list(retention.deleted_objects(["/var/log/vault/audit.log"], "x", datetime.date(2026, 12, 1), 365)) == []
