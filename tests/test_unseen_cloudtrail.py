"""CloudTrail log file validation, judged as AWS documents it: digest chains per trail, account and region; a key
valid only for its own period ("retrieve the public keys for the time range corresponding to the digest file");
a starting digest (no previous) after logging was stopped; a log file added where digests cover its hour. Digests
are built and signed as tests/test_cloudtrail.py builds them."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from pytest_auditready.cli import main
from pytest_auditready.seal.cloudtrail import validate_trail

from .test_cloudtrail import (
    ACCOUNT,
    BUCKET,
    REGION,
    _log_key,
    _tamper_outcome,
    _texts,
    build_trail,
    digest_record,
    records,
    rsa_key,
    sign_digest,
    write_keys,
)


def _keys(tmp: Path, *periods: tuple[rsa.RSAPrivateKey, object, object]) -> Path:
    """A list-public-keys file whose keys have the given validity periods."""
    path = write_keys(tmp / "keys.json", *(k for k, _, _ in periods))
    doc = json.loads(path.read_text())
    for item, (_, start, end) in zip(doc["PublicKeyList"], periods):
        item["ValidityStartTime"], item["ValidityEndTime"] = start, end
    path.write_text(json.dumps(doc))
    return path


def chain(root: Path, hours: Iterable[int], *, account: str = ACCOUNT, region: str = REGION, trail: str = "trail",
          key_for: Callable[[int], rsa.RSAPrivateKey] = lambda h: rsa_key(0), restart_at: Iterable[int] = (),
          first_prev: Optional[tuple[str, str, str]] = None) -> list[str]:
    """A trail's digests and logs for ``hours`` of 2026-01-01 (two log files an hour), each digest signed by
    ``key_for(hour)``; at the hours of ``restart_at`` a starting digest (no previous), as CloudTrail writes when
    logging is turned back on; the first names ``first_prev`` (key, SHA-256, signature) as its previous digest.
    Returns the log files' keys."""
    prev = first_prev
    logs_written: list[str] = []
    restarts = set(restart_at)
    for h in hours:
        if h in restarts:
            prev = None
        day = f"2026/01/01/{account}_CloudTrail"
        logs = []
        for n in range(2):
            lk = f"AWSLogs/{account}/CloudTrail/{region}/{day}_{region}_20260101T{h:02d}{n:02d}Z_{trail}{h}{n}.json.gz"
            body = json.dumps(records(h, n)).encode()
            p = root / lk
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(gzip.compress(body))
            logs.append({"s3Bucket": BUCKET, "s3Object": lk, "hashValue": hashlib.sha256(body).hexdigest(),
                         "hashAlgorithm": "SHA-256"})
            logs_written.append(lk)
        dk = (f"AWSLogs/{account}/CloudTrail-Digest/{region}/2026/01/01/{account}_CloudTrail-Digest_{region}_{trail}_"
              f"{region}_20260101T{h + 1:02d}0000Z.json.gz")
        key = key_for(h)
        data = digest_record(account, h, dk, key, prev, logs)
        raw = json.dumps(data).encode()
        sig = sign_digest(key, data, raw)
        p = root / dk
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(raw))
        Path(str(p) + ".sig").write_text(sig + "\n")
        prev = (dk, hashlib.sha256(raw).hexdigest(), sig)
    return logs_written


def _problems(root: Path, keys: Path) -> list[tuple[str, str]]:
    return [(p.kind, p.where) for p in validate_trail(root, keys).problems]


# -- digests of other regions, accounts and trails beside the trail's own ------------------------------------------

def test_digests_of_other_regions_accounts_and_trails_are_chains_of_their_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One bucket receives the digests of every region, account (organization trail) and trail: each its own chain
    with its own hours, none a gap in another."""
    root = tmp_path / "bucket"
    build_trail(root)  # us-east-1, hours 0-2
    chain(root, [1, 2, 3, 4], region="eu-west-1")
    chain(root, [2, 3], account="444455556666")
    chain(root, [0, 1, 2, 3, 4, 5], trail="other")  # a second trail of the same account and region
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    assert _problems(root, keys) == []
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 0
    assert "30/30 log file(s) valid" in capsys.readouterr().out
    # tamper_evidence of a log file of the trail, beside another trail's digests in the same folder
    out = _tamper_outcome(root / _log_key(1, 0), keys)
    assert out.status == "passed", _texts(out)
    # a digest deleted from one of those chains is still a digest deleted, and only that (its hour's log files are
    # not taken for added ones because the other chains cover the hour)
    deleted = next((root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/01").glob("*_other_*T030000Z*.gz"))
    deleted.unlink()
    problems = validate_trail(root, keys).problems
    assert {p.kind for p in problems} == {"digest-missing", "gap", "log-unlisted"}, problems
    assert all("in an hour no digest here of its account and region covers" in p.message
               for p in problems if p.kind == "log-unlisted")


# -- a key valid only for another period; a chain across a key rotation --------------------------------------------

def test_a_digest_signed_by_a_key_outside_its_validity_period_fails(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    logs = chain(root, [0, 1, 2])
    keys = _keys(tmp_path, (rsa_key(0), "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"))
    problems = validate_trail(root, keys).problems
    assert {p.kind for p in problems} == {"key"} and len(problems) == 3
    assert "outside the validity period" in problems[0].message
    out = _tamper_outcome(root / logs[2], keys)
    assert out.status == "failed" and "outside the validity period" in _texts(out), _texts(out)


def test_a_chain_across_a_key_rotation_verifies_and_each_key_only_in_its_period(tmp_path: Path) -> None:
    """The region's key rotates at 02:00: the digests before are signed by the old key, those after by the new;
    the old key signing after its period is refused. Epoch seconds (cli_timestamp_format = none) are read too."""
    root = tmp_path / "rotated"
    chain(root, [0, 1, 2, 3], key_for=lambda h: rsa_key(0) if h < 2 else rsa_key(1))
    keys = _keys(tmp_path, (rsa_key(0), "2026-01-01T00:00:00Z", "2026-01-01T02:00:00+00:00"),
                 (rsa_key(1), 1767232800.0, None))  # 2026-01-01T02:00:00Z, still valid
    assert _problems(root, keys) == []
    late = tmp_path / "late"
    logs = chain(late, [0, 1, 2, 3])  # the old key signs on after the rotation
    problems = _problems(late, keys)
    assert [k for k, _ in problems] == ["key", "key"] and all("T030000Z" in w or "T040000Z" in w
                                                              for _, w in problems)
    assert _tamper_outcome(late / logs[0], keys).status == "passed"  # its own digest is within the period
    assert _tamper_outcome(late / logs[6], keys).status == "failed"


def test_a_keys_file_with_an_unreadable_validity_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "bucket"
    chain(root, [0, 1])
    keys = _keys(tmp_path, (rsa_key(0), "last tuesday", "2026-02-01T00:00:00Z"))
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 2
    err = capsys.readouterr().err
    assert "ValidityStartTime" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# -- logging stopped and started again: a starting digest after a gap ----------------------------------------------

def test_a_starting_digest_after_logging_was_stopped_is_no_gap(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: a starting digest (previous fields null) is written when logging is turned back on; validate-logs
    reports 'No log files were delivered by CloudTrail between ...' and exits 0."""
    root = tmp_path / "bucket"
    logs = chain(root, [0, 1, 4, 5], restart_at=[4])
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    r = validate_trail(root, keys)
    assert r.ok, r.problems
    assert any("no log files were delivered between 2026-01-01T02:00:00Z and 2026-01-01T04:00:00Z" in n
               for n in r.notes), r.notes
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 0
    capsys.readouterr()
    out = _tamper_outcome(root / logs[4], keys)  # listed in the starting digest
    assert out.status == "passed", _texts(out)
    # the same hours lost before a digest that names its previous one: a gap, not a restart
    named = tmp_path / "named"
    chain(named, [0, 1, 4, 5])
    assert {k for k, _ in _problems(named, keys)} == {"gap"}


# -- a log file present but listed in no digest ---------------------------------------------------------------------

def test_a_log_file_added_where_digests_cover_its_hour_fails(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "bucket"
    build_trail(root)
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    added = _log_key(0, 30)
    (root / added).write_bytes(gzip.compress(json.dumps(records(0, 30)).encode()))
    assert _problems(root, keys) == [("log-unlisted", added)]
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    assert f"FAIL Log file {added} is not listed in any digest" in capsys.readouterr().out
    out = _tamper_outcome(root / added, keys)
    assert out.status == "failed" and "No digest file beside it lists" in _texts(out)
    # A file of the newest hour may be listed by the next digest, not copied yet; one of a region without digests
    # here is not judged by these; one before the oldest digest predates them: none can be validated, so none leaves
    # the trail valid (rt6 F3: a note and "trail valid", exit 0), each said for what it is.
    (root / added).unlink()
    late = _log_key(2, 40)
    (root / late).write_bytes(gzip.compress(json.dumps(records(2, 40)).encode()))
    other = _log_key(0, 30).replace(REGION, "ap-south-1")
    (root / other).parent.mkdir(parents=True)
    (root / other).write_bytes(gzip.compress(json.dumps(records(0, 30)).encode()))
    early = _log_key(0, 0).replace("20260101T0000Z", "20251231T2350Z")
    (root / early).write_bytes(gzip.compress(json.dumps(records(0, 0)).encode()))
    r = validate_trail(root, keys)
    said = {p.where: p.message for p in r.problems}
    assert set(said) == {late, other, early} and {p.kind for p in r.problems} == {"log-unlisted"}, r.problems
    assert "at or after the end of the newest digest here" in said[late] and "before the oldest digest" in said[early]
    assert "in an account and region with no digest here" in said[other]
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    assert "CloudTrail trail NOT valid" in capsys.readouterr().out


# -- a digest moved from where CloudTrail delivered it; backfill digests -------------------------------------------

def test_a_digest_moved_from_its_original_location_fails(tmp_path: Path) -> None:
    """validate-logs: "INVALID: has been moved from its original location". A genuine digest renamed into the place
    of another hour's (deleted with its log files) is no digest of that hour."""
    root = tmp_path / "bucket"
    logs = chain(root, [0, 1, 2])
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    folder = root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/01"
    d0 = next(folder.glob("*T010000Z.json.gz"))
    moved = folder / d0.name.replace("T010000Z", "T005959Z")
    d0.rename(moved)
    Path(str(d0) + ".sig").rename(str(moved) + ".sig")
    problems = validate_trail(root, keys).problems
    # and the next digest's previous one is missing from where it was delivered, in a folder the copy holds
    assert [(p.kind, Path(p.where).name) for p in problems] == [("digest-moved", moved.name), (
        "digest-missing", folder.glob("*T020000Z.json.gz").__next__().name)], problems
    assert "moved or copied from its original location" in problems[0].message
    out = _tamper_outcome(root / logs[0], keys)  # the file it lists: failed, naming the moved digest
    assert out.status == "failed" and f"{moved.name} was delivered as" in _texts(out), _texts(out)


def test_backfill_digests_chain_among_themselves_without_hourly_gaps(tmp_path: Path) -> None:
    """Backfill digests (``..._backfill.json.gz``) list late log files when needed: they form their own chain,
    which is neither a gap in the hourly one nor expected to be hourly itself."""
    root = tmp_path / "bucket"
    chain(root, [0, 1, 2, 3, 4])
    chain(root, [1, 4], trail="late")  # stands in for two backfill digests, linked, three hours apart
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    folder = root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/01"
    for p in sorted(folder.glob("*_late_*.json.gz")):  # rename and re-sign as the trail's backfill digests
        data = json.loads(gzip.decompress(p.read_bytes()))
        name = p.name.replace("_late_", "_trail_").replace(".json.gz", "_backfill.json.gz")
        data["digestS3Object"] = data["digestS3Object"].replace(p.name, name)
        if data["previousDigestS3Object"]:
            data["previousDigestS3Object"] = data["previousDigestS3Object"].replace("_late_", "_trail_").replace(
                ".json.gz", "_backfill.json.gz")
            prev = folder / Path(data["previousDigestS3Object"]).name
            data["previousDigestHashValue"] = hashlib.sha256(gzip.decompress(prev.read_bytes())).hexdigest()
            data["previousDigestSignature"] = Path(str(prev) + ".sig").read_text().strip()
        raw = json.dumps(data).encode()
        (folder / name).write_bytes(gzip.compress(raw))
        Path(str(folder / name) + ".sig").write_text(sign_digest(rsa_key(0), data, raw))
        p.unlink()
        Path(str(p) + ".sig").unlink()
    r = validate_trail(root, keys)
    assert r.ok and r.digests == 7, r.problems


# -- the oldest digest of a copy, deleted with its log files (red team rt6 F4) ---------------------------------------

def test_the_oldest_digest_deleted_with_its_log_files_is_a_deleted_digest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: the digest the oldest one left names, in a folder the copy holds, was only a note
    ('not in the copy'), so an hour deleted at the start of the copy passed both commands."""
    root = tmp_path / "bucket"
    logs = chain(root, [0, 1, 2])
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    folder = root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/01"
    first = next(folder.glob("*T010000Z.json.gz"))
    for p in (first, Path(str(first) + ".sig"), root / logs[0], root / logs[1]):
        p.unlink()
    problems = validate_trail(root, keys).problems
    named_by = str(next(folder.glob("*T020000Z.json.gz")).relative_to(root))
    assert [(p.kind, p.where) for p in problems] == [("digest-missing", named_by)], problems
    assert "although the copy holds its folder" in problems[0].message
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    capsys.readouterr()
    out = _tamper_outcome(root / logs[2], keys)  # a file the digest that names the deleted one lists
    assert out.status == "failed" and "although the copy holds its folder" in _texts(out), _texts(out)


def test_a_copy_that_starts_after_the_chain_did_notes_the_digest_before_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The oldest digest of a copy of whole days names one of the day before, whose folder the copy does not hold:
    the copy starts there, nothing was deleted from it."""
    root = tmp_path / "bucket"
    before = (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2025/12/31/{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_"
              f"{REGION}_20260101T000000Z.json.gz")
    logs = chain(root, [0, 1, 2], first_prev=(before, "ab" * 32, "cd" * 256))
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    r = validate_trail(root, keys)
    assert r.ok and any("which is not in the copy" in n for n in r.notes), (r.problems, r.notes)
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 0
    capsys.readouterr()
    out = _tamper_outcome(root / logs[0], keys)
    assert out.status == "passed", _texts(out)


# -- a day's first and last files, listed by a digest filed on the other day ------------------------------------

def _midnight_trail(root: Path) -> list[str]:
    """Digests every hour from 2026-01-01T21:30Z to 2026-01-02T03:30Z, each listing the files delivered at :40 of its
    first hour and :10 of the next, filed (as CloudTrail files a digest) under the date it ends: the one from 23:30
    lists 23:40 of the 1st and 00:10 of the 2nd, and lies in the 2nd's folder. Returns the log files' keys."""
    import datetime as dt

    from .test_cloudtrail import fingerprint

    key, prev, keys_written = rsa_key(0), None, []
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    template = json.loads((fixtures / "cloudtrail" / "secretsmanager.json").read_text())["Records"][0]
    start = dt.datetime(2026, 1, 1, 21, 30, tzinfo=dt.timezone.utc)

    def at(t: dt.datetime, fmt: str) -> str:
        return t.strftime(fmt)

    for h in range(6):
        t0, t1 = start + dt.timedelta(hours=h), start + dt.timedelta(hours=h + 1)
        logs = []
        for n, when in enumerate((t0 + dt.timedelta(minutes=10), t0 + dt.timedelta(minutes=40))):
            lk = (f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{at(when, '%Y/%m/%d')}/{ACCOUNT}_CloudTrail_{REGION}_"
                  f"{at(when, '%Y%m%dT%H%MZ')}_m{h}{n}.json.gz")
            rec = dict(template, eventTime=at(when, "%Y-%m-%dT%H:%M:%SZ"), requestID=f"m-{h}-{n}",
                       eventID=f"00000000-0000-4000-8000-{h:06d}{n:06d}")
            body = json.dumps({"Records": [rec]}).encode()
            (root / lk).parent.mkdir(parents=True, exist_ok=True)
            (root / lk).write_bytes(gzip.compress(body))
            (root / lk).chmod(0o600)
            logs.append({"s3Bucket": BUCKET, "s3Object": lk, "hashValue": hashlib.sha256(body).hexdigest(),
                         "hashAlgorithm": "SHA-256"})
            keys_written.append(lk)
        dk = (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{at(t1, '%Y/%m/%d')}/{ACCOUNT}_CloudTrail-Digest_"
              f"{REGION}_trail_{REGION}_{at(t1, '%Y%m%dT%H%M%SZ')}.json.gz")
        data = {"awsAccountId": ACCOUNT, "digestStartTime": at(t0, "%Y-%m-%dT%H:%M:%SZ"),
                "digestEndTime": at(t1, "%Y-%m-%dT%H:%M:%SZ"), "digestS3Bucket": BUCKET, "digestS3Object": dk,
                "digestPublicKeyFingerprint": fingerprint(key), "digestSignatureAlgorithm": "SHA256withRSA",
                "previousDigestS3Bucket": BUCKET if prev else None, "previousDigestS3Object": prev[0] if prev else None,
                "previousDigestHashValue": prev[1] if prev else None,
                "previousDigestHashAlgorithm": "SHA-256" if prev else None,
                "previousDigestSignature": prev[2] if prev else None, "logFiles": logs}
        raw = json.dumps(data).encode()
        sig = sign_digest(key, data, raw)
        (root / dk).parent.mkdir(parents=True, exist_ok=True)
        (root / dk).write_bytes(gzip.compress(raw))
        Path(str(root / dk) + ".sig").write_text(sig + "\n")
        prev = (dk, hashlib.sha256(raw).hexdigest(), sig)
    return keys_written


def _intact_day(tmp_path: Path, day: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    """``_midnight_trail``'s copy, its keys and a configuration: (the copy, the folder of ``day``, the
    configuration); the day verified whole passes."""
    root = tmp_path / "bucket"
    _midnight_trail(root)
    keys = write_keys(tmp_path / "keys.json", rsa_key(0))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[tool.auditready]\ncloudtrail_public_keys = \"{keys}\"\ntimestamp_digits = 0\n"
                   "retention_days = 0\n")
    folder = root / f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{day}"
    assert main(["verify", "--jobs", "1", str(folder), "--config", str(cfg)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    return root, folder, cfg


@pytest.mark.parametrize("gone", ["2026/01/01/*_20260101T2340Z_*", "2026/01/02/*_20260102T0010Z_*"],
                         ids=["the first day's last file", "the second day's first file"])
def test_a_days_edge_file_deleted_fails_that_days_verification(tmp_path: Path, gone: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Verifying one day's folder (what an auditor asks for) passed with its last (or first) file deleted: the digest
    listing it is filed on the next day beside a file of that day, which was left, so no file of the day judged
    reported it (red team rt33, F4). verify-cloudtrail of the whole copy failed; now the day's own verification
    does, and an intact day passes."""
    _root, folder, cfg = _intact_day(tmp_path, gone[:10], capsys)
    (victim,) = folder.glob(gone[11:])
    victim.unlink()
    assert main(["verify", "--jobs", "1", str(folder), "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert f"Log file AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{gone[:10]}/{victim.name}" in out and "is missing" in out


@pytest.mark.parametrize("day", ["2026/01/01", "2026/01/02"])
def test_an_hour_deleted_with_its_digest_fails_each_days_verification(tmp_path: Path, day: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The digest that lists a day's last file is filed on the next day; deleted with the files it lists (the same
    bucket, the same permission), the chain's gap was reported at the digest after it, which lists no file of the
    first day: that day verified alone passed (red team rt39, F3). Both days fail now, and an intact day passes."""
    root, folder, cfg = _intact_day(tmp_path, day, capsys)
    digests = root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/02"
    for gone in [*digests.glob("*_20260102T003000Z.json.gz*"), *root.rglob("*_20260101T2340Z_*"),
                 *root.rglob("*_20260102T0010Z_*")]:
        gone.unlink()
    assert main(["verify", "--jobs", "1", str(folder), "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "No digest covers 2026-01-01T23:30:00Z to 2026-01-02T00:30:00Z" in out, out[-3000:]


def test_a_record_after_its_files_delivery_is_re_timed_or_moved(tmp_path: Path) -> None:
    """AWS: "a log file delivered at a specific time can contain records written at any point before that time",
    the time its name gives (AccountID_CloudTrail_Region_YYYYMMDDTHHmmZ_...). A record after it passed wherever no
    digest judged the file, CloudTrail's records being in no order (red team rt33, F5)."""
    import datetime as dt

    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks, verify_file

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    doc = json.loads((fixtures / "cloudtrail" / "secretsmanager.json").read_text())
    last = max(dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ") for r in doc["Records"])
    delivered = last + dt.timedelta(minutes=5)
    path = tmp_path / f"{ACCOUNT}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%M}Z_Mu0KsOhtH1ar15ZZ.json"
    check = [c for c in offline_checks(BUILTIN) if c.id == "timestamp_accuracy"]

    def judged() -> Any:
        path.write_text(json.dumps(doc))
        path.chmod(0o600)
        (o,) = verify_file(str(path), Settings(log_format="cloudtrail"), check, {}).outcomes
        return o

    assert judged().status == "skipped"  # every record before the delivery: file order is not judged
    doc["Records"][1]["eventTime"] = f"{delivered + dt.timedelta(minutes=3):%Y-%m-%dT%H:%M:%SZ}"
    o = judged()
    assert o.status == "failed" and "after its file was delivered" in o.findings[0].message
    assert o.findings[0].where.endswith(":2")
