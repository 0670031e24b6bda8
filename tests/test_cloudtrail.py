"""verify-cloudtrail: digest chains built here with our own RSA key, in CloudTrail's exact format (gzip'd JSON
digests, signing string digestEndTime\\nbucket/object\\nhex(sha256(digest))\\nprevious signature, PKCS#1 v1.5
SHA-256), then tampered with in every way the sealed chain is."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pytest_auditready.cli import main
from pytest_auditready.seal.cloudtrail import validate_trail

ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-bucket"
_KEYS: dict[int, rsa.RSAPrivateKey] = {}


def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    if n not in _KEYS:  # RSA generation is the slow part: one key per module
        _KEYS[n] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[n]


def der(key: rsa.RSAPrivateKey) -> bytes:
    # CloudTrail hands out PKCS#1 RSAPublicKey DER
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def fingerprint(key: rsa.RSAPrivateKey) -> str:
    return hashlib.md5(der(key)).hexdigest()


def write_keys(path: Path, *keys: rsa.RSAPrivateKey) -> Path:
    path.write_text(json.dumps({"PublicKeyList": [
        {"Value": base64.b64encode(der(k)).decode(), "Fingerprint": fingerprint(k),
         "ValidityStartTime": "2026-01-01T00:00:00Z", "ValidityEndTime": "2026-02-01T00:00:00Z"} for k in keys]}))
    return path


def _log_key(hour: int, n: int) -> str:
    return (f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/01/01/"
            f"{ACCOUNT}_CloudTrail_{REGION}_20260101T{hour:02d}{n:02d}Z_x{hour}{n}.json.gz")


def _digest_key(hour: int) -> str:
    return (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/01/01/"
            f"{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20260101T{hour + 1:02d}0000Z.json.gz")


def records(hour: int, n: int) -> dict[str, object]:
    return {"Records": [{"eventTime": f"2026-01-01T{hour:02d}:{n:02d}:{i:02d}Z", "eventName": f"Get{i}",
                         "requestID": f"r-{hour}-{n}-{i}"} for i in range(4)]}


def digest_record(account: str, h: int, digest_key: str, key: rsa.RSAPrivateKey,
                  prev: "tuple[str, str, str] | None", logs: list[dict[str, object]]) -> dict[str, object]:
    """The digest of hour ``h`` of 2026-01-01, as CloudTrail writes one: at ``digest_key``, signed by ``key``,
    naming ``prev`` (its key, SHA-256 and signature; None for a chain's first) and listing ``logs``."""
    return {
        "awsAccountId": account, "digestStartTime": f"2026-01-01T{h:02d}:00:00Z",
        "digestEndTime": f"2026-01-01T{h + 1:02d}:00:00Z", "digestS3Bucket": BUCKET, "digestS3Object": digest_key,
        "digestPublicKeyFingerprint": fingerprint(key), "digestSignatureAlgorithm": "SHA256withRSA",
        "previousDigestS3Bucket": BUCKET if prev else None, "previousDigestS3Object": prev[0] if prev else None,
        "previousDigestHashValue": prev[1] if prev else None,
        "previousDigestHashAlgorithm": "SHA-256" if prev else None,
        "previousDigestSignature": prev[2] if prev else None, "logFiles": logs,
    }


def sign_digest(key: rsa.RSAPrivateKey, data: dict[str, object], raw: bytes) -> str:
    prev = data["previousDigestSignature"]
    s = "\n".join([str(data["digestEndTime"]), f"{data['digestS3Bucket']}/{data['digestS3Object']}",
                   hashlib.sha256(raw).hexdigest(), "null" if prev is None else str(prev)])
    return key.sign(s.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


def build_trail(root: Path, hours: int = 3, key: rsa.RSAPrivateKey | None = None, per_hour: int = 2) -> Path:
    """``hours`` of a trail: ``per_hour`` log files an hour (0: an idle account's hours, whose digests CloudTrail
    still delivers) and each hour's signed digest listing them."""
    key = key or rsa_key()
    prev = None  # (object key, sha256, signature)
    for h in range(hours):
        logs = []
        for n in range(per_hour):
            body = json.dumps(records(h, n)).encode()
            p = root / _log_key(h, n)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(gzip.compress(body))
            logs.append({"s3Bucket": BUCKET, "s3Object": _log_key(h, n), "hashValue": hashlib.sha256(body).hexdigest(),
                         "hashAlgorithm": "SHA-256", "newestEventTime": f"2026-01-01T{h:02d}:{n:02d}:03Z",
                         "oldestEventTime": f"2026-01-01T{h:02d}:{n:02d}:00Z"})
        data = digest_record(ACCOUNT, h, _digest_key(h), key, prev, logs)
        data.update(newestEventTime=None, oldestEventTime=None)
        raw = json.dumps(data).encode()
        sig = sign_digest(key, data, raw)
        p = root / _digest_key(h)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(raw))
        if h == 1:  # the other way to keep the S3 metadata: head-object output
            Path(str(p) + ".metadata.json").write_text(json.dumps({"Metadata": {"signature": sig}}))
        else:
            Path(str(p) + ".sig").write_text(sig + "\n")
        prev = (_digest_key(h), hashlib.sha256(raw).hexdigest(), sig)
    return root


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, Path]:
    return build_trail(tmp_path / "copy"), write_keys(tmp_path / "keys.json", rsa_key())


def kinds(root: Path, keys: Path) -> set[str]:
    return {p.kind for p in validate_trail(root, keys).problems}


def test_untouched_trail_is_valid(trail: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, keys = trail
    r = validate_trail(root, keys)
    assert r.ok, r.problems
    assert (r.digests, r.log_files, r.valid_log_files) == (3, 6, 6)
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 0
    assert "6/6 log file(s) valid" in capsys.readouterr().out


def _rewrite_log(root: Path, change) -> None:  # type: ignore[no-untyped-def]
    p = root / _log_key(1, 0)
    p.write_bytes(gzip.compress(change(gzip.decompress(p.read_bytes()))))


def _records_edit(edit):  # type: ignore[no-untyped-def]
    def change(body: bytes) -> bytes:
        doc = json.loads(body)
        edit(doc["Records"])
        return json.dumps(doc).encode()
    return change


def _swap(recs: list[object]) -> None:
    recs[1], recs[2] = recs[2], recs[1]


@pytest.mark.parametrize("change", [
    pytest.param(lambda b: b.replace(b"Get1", b"Get9"), id="changed-byte"),
    pytest.param(_records_edit(lambda r: r.pop(2)), id="deleted-record"),
    pytest.param(_records_edit(_swap), id="swapped-records"),
    pytest.param(lambda b: b[:-10], id="truncated-tail"),
    pytest.param(lambda b: b + b"\n{}", id="appended"),
])
def test_tampered_log_file_is_detected(trail: tuple[Path, Path], change, capsys) -> None:  # type: ignore[no-untyped-def]
    root, keys = trail
    _rewrite_log(root, change)
    r = validate_trail(root, keys)
    assert [(p.kind, p.where) for p in r.problems] == [("log-changed", _log_key(1, 0))]
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    assert "FAIL Log file" in capsys.readouterr().out


def test_truncated_gzip_file_is_detected(trail: tuple[Path, Path]) -> None:
    root, keys = trail
    p = root / _log_key(2, 1)
    p.write_bytes(p.read_bytes()[:-12])
    assert kinds(root, keys) == {"log-changed"}


def test_deleted_log_file_is_reported_missing(trail: tuple[Path, Path]) -> None:
    root, keys = trail
    (root / _log_key(0, 1)).unlink()
    r = validate_trail(root, keys)
    assert [(p.kind, p.where) for p in r.problems] == [("log-missing", _log_key(0, 1))]


def test_deleted_digest_is_a_gap_in_the_chain(trail: tuple[Path, Path]) -> None:
    root, keys = trail
    (root / _digest_key(1)).unlink()
    # and the log files it listed can no longer be validated (rt6 F3: listed nowhere is a problem, not a note)
    assert kinds(root, keys) == {"digest-missing", "gap", "log-unlisted"}


def test_edited_digest_fails_its_signature_and_the_chain(trail: tuple[Path, Path]) -> None:
    # someone changes a log file and rewrites its hash in the digest
    root, keys = trail
    _rewrite_log(root, lambda b: b.replace(b"Get1", b"Get9"))
    p = root / _digest_key(1)
    data = json.loads(gzip.decompress(p.read_bytes()))
    body = gzip.decompress((root / _log_key(1, 0)).read_bytes())
    data["logFiles"][0]["hashValue"] = hashlib.sha256(body).hexdigest()
    p.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert kinds(root, keys) == {"digest-signature", "digest-chain"}


def test_digests_signed_by_another_key_are_detected(tmp_path: Path) -> None:
    root = build_trail(tmp_path / "forged", key=rsa_key(1))
    keys = write_keys(tmp_path / "keys.json", rsa_key(0))
    r = validate_trail(root, keys)
    assert {p.kind for p in r.problems} == {"key"} and len(r.problems) == 3
    assert "signed by another key" in r.problems[0].message


def test_digest_re_signed_by_another_key_under_the_right_fingerprint_fails(trail: tuple[Path, Path]) -> None:
    root, keys = trail
    p = root / _digest_key(2)
    raw = gzip.decompress(p.read_bytes())
    Path(str(p) + ".sig").write_text(sign_digest(rsa_key(1), json.loads(raw), raw))
    assert kinds(root, keys) == {"digest-signature"}


def test_missing_signature_metadata_is_reported(trail: tuple[Path, Path]) -> None:
    root, keys = trail
    Path(str(root / _digest_key(0)) + ".sig").unlink()
    r = validate_trail(root, keys)
    assert [p.kind for p in r.problems] == ["digest-signature"] and "no signature beside it" in r.problems[0].message


@pytest.mark.parametrize("args, needle", [
    (["verify-cloudtrail", "/nonexistent/dir", "--public-keys", "k.json"], "is not a folder"),
    (["verify-cloudtrail", "."], "--public-keys"),
])
def test_usage_errors_exit_2_with_one_line(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) if "--public-keys" not in args else _no_raise():
        assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_bad_keys_file_is_a_usage_error(trail: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = trail
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(bad)]) == 2
    assert "list-public-keys" in capsys.readouterr().err


# -- tamper_evidence on a CloudTrail log file (log_format = "cloudtrail"): the trail's own digests ----------------

def _tamper_outcome(log: Path, keys: Path | None) -> Any:
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks, verify_file

    settings = Settings(log_format="cloudtrail", cloudtrail_public_keys=str(keys) if keys else None)
    res = verify_file(str(log), settings, offline_checks(BUILTIN), {})
    return {o.check_id: o for o in res.outcomes}["tamper_evidence"]


def _texts(outcome: Any) -> str:
    return "\n".join(f.text() + " Fix: " + f.fix for f in outcome.findings)


def test_cloudtrail_log_with_valid_digests_is_tamper_evident(trail: tuple[Path, Path]) -> None:
    from pytest_auditready.checks.base import PASSED
    from pytest_auditready.seal.evidence import TAMPERINGS, assess_cloudtrail

    root, keys = trail
    log = root / _log_key(1, 0)
    assert _tamper_outcome(log, keys).status == PASSED
    a = assess_cloudtrail(log, keys)
    assert a.mechanism == "CloudTrail log file validation" and a.report is not None and a.report.ok
    # the self-test made every tampering, record by record, and the recorded SHA-256 caught each
    assert [(t.kind, t.detected) for t in a.teeth] == [(k, True) for k in TAMPERINGS]


@pytest.mark.parametrize("kind", ["changed byte", "deleted line", "swapped lines", "truncated tail"])
def test_record_tamperings_are_real_record_changes(kind: str) -> None:
    from pytest_auditready.seal.evidence import _tamper_records

    body = json.dumps(records(0, 0)).encode()
    changed = _tamper_records(body, kind)
    assert changed is not None and changed != body
    if kind == "truncated tail":  # cut off where the last record starts, as a file whose end was lost
        assert body.startswith(changed) and body[len(changed):].startswith(b'{"eventTime"')
    elif kind != "changed byte":  # a CloudTrail file whose records were deleted or reordered
        recs = json.loads(changed)["Records"]
        ids = [r["requestID"] for r in recs]
        assert sorted(ids) != sorted(r["requestID"] for r in records(0, 0)["Records"]) or ids != sorted(ids)
    one = json.dumps({"Records": [records(0, 0)["Records"][0]]}).encode()
    assert _tamper_records(one, "swapped lines") is None  # nothing to swap: no tooth rather than a false one


@pytest.mark.parametrize("tamper, needle", [
    pytest.param(lambda root: _rewrite_log(root, lambda b: b.replace(b"Get1", b"Get9")),
                 "does not match the SHA-256", id="log-changed"),
    pytest.param(lambda root: Path(str(root / _digest_key(1)) + ".metadata.json").write_text(
        json.dumps({"Metadata": {"signature": "00" * 256}})), "does not match its signature", id="digest-forged"),
    pytest.param(lambda root: (root / _digest_key(1)).unlink(), "No digest file beside it lists", id="digest-deleted"),
])
def test_cloudtrail_log_tampering_fails_tamper_evidence(trail: tuple[Path, Path], tamper, needle) -> None:  # type: ignore[no-untyped-def]
    from pytest_auditready.checks.base import FAILED

    root, keys = trail
    tamper(root)
    out = _tamper_outcome(root / _log_key(1, 0), keys)
    assert out.status == FAILED and needle in _texts(out), _texts(out)
    # the files of the other hours keep verifying, except the one whose previous digest is gone
    nxt = _tamper_outcome(root / _log_key(2, 0), keys)
    if "deleted" in needle or "beside it lists" in needle:
        assert nxt.status == FAILED and "is missing: a digest was deleted" in _texts(nxt)
    else:
        assert _tamper_outcome(root / _log_key(0, 0), keys).status == "passed"


@pytest.mark.parametrize("hour", [0, 1, 2])
def test_a_whole_hour_of_log_files_deleted_fails_at_the_files_beside_it(trail: tuple[Path, Path], hour: int) -> None:
    """Every file a digest lists deleted (an hour of the trail gone, its digest left): no file of that digest is
    left to report it, so the files of the hours beside it do, naming each deleted file; before, all passed."""
    from pytest_auditready.checks.base import FAILED

    root, keys = trail
    for n in (0, 1):
        (root / _log_key(hour, n)).unlink()
    for other in {0, 1, 2} - {hour}:
        out = _tamper_outcome(root / _log_key(other, 0), keys)
        texts = _texts(out)
        adjacent = abs(other - hour) == 1
        assert (out.status == FAILED) == adjacent, texts
        if adjacent:
            assert all(_log_key(hour, n) in texts for n in (0, 1)) and "no file that digest lists is left" in texts


def test_cloudtrail_log_without_digests_or_keys_fails_with_the_remedy(trail: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    from pytest_auditready.checks.base import FAILED

    root, keys = trail
    out = _tamper_outcome(root / _log_key(0, 1), None)
    assert out.status == FAILED and "no public keys were given" in _texts(out)
    assert "cloudtrail_public_keys" in _texts(out)
    lone = tmp_path / "lone" / _log_key(0, 1)
    lone.parent.mkdir(parents=True)
    lone.write_bytes((root / _log_key(0, 1)).read_bytes())
    out = _tamper_outcome(lone, keys)
    assert out.status == FAILED and "has none of the trail's signed digest files beside it" in _texts(out)
    assert "log file validation" in _texts(out) and "Vault" not in _texts(out)


def test_digests_of_the_days_around_are_read_for_a_days_last_hour_and_deleted_neighbours(tmp_path: Path) -> None:
    from pytest_auditready.seal.cloudtrail import _day_folders

    folder = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / REGION
    log = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail" / REGION / "2026" / "01" / "31" / "x.json.gz"
    assert [str(p.relative_to(folder)) for p in _day_folders(log, folder)] == ["2026/01/30", "2026/01/31",
                                                                              "2026/02/01"]
    assert _day_folders(tmp_path / "flat" / "x.json.gz", folder) == [folder]


def test_verify_command_takes_the_cloudtrail_keys(trail: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root, keys = trail
    log = root / _log_key(1, 1)
    log.chmod(0o600)
    main(["verify", "--format", "cloudtrail", "--cloudtrail-public-keys", str(keys), str(log)])
    assert f"PASS tamper_evidence {log}" in capsys.readouterr().out
    main(["verify", "--format", "cloudtrail", str(log)])
    assert f"FAIL tamper_evidence {log}" in capsys.readouterr().out


def test_a_days_digests_are_verified_once_for_all_its_files(trail: tuple[Path, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_auditready.seal import cloudtrail

    root, keys = trail
    folder = cloudtrail.digest_folder_for(root / _log_key(0, 0))
    assert folder is not None
    loads: list[Path] = []
    real = cloudtrail._load_digests

    def counted(shown_from: Path, under: Path, report: Any) -> Any:
        loads.append(under)
        return real(shown_from, under, report)

    monkeypatch.setattr(cloudtrail, "_load_digests", counted)
    checked = [cloudtrail.check_log_file(root / _log_key(h, n), folder, keys) for h in range(3) for n in range(2)]
    assert all(c.report.ok and c.listed_in for c in checked), [c.report.problems for c in checked]
    assert len(loads) == 1  # six files of one day: its folder read once (the next day's is absent here)
    # A digest changed in the meantime is read again, not answered from the cache.
    Path(str(root / _digest_key(1)) + ".metadata.json").write_text(json.dumps({"Metadata": {"signature": "00" * 256}}))
    again = cloudtrail.check_log_file(root / _log_key(1, 0), folder, keys)
    assert len(loads) == 2 and "digest-signature" in {p.kind for p in again.report.problems}


def test_a_deleted_log_file_fails_tamper_evidence_of_the_files_its_digest_lists(trail: tuple[Path, Path]) -> None:
    """A deleted log file has no item of its own: the files its digest also lists carry it, naming it."""
    from pytest_auditready.checks.base import FAILED

    root, keys = trail
    (root / _log_key(1, 1)).unlink()
    out = _tamper_outcome(root / _log_key(1, 0), keys)
    assert out.status == FAILED and f"Log file {_log_key(1, 1)}, listed by" in _texts(out), _texts(out)
    assert "is missing: it was deleted" in _texts(out)
    assert _tamper_outcome(root / _log_key(0, 0), keys).status == "passed"  # another hour's digest: untouched


def test_hostile_file_names_in_the_copy_are_shown_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of the bucket whose folder and an unlisted log file carry a newline, a GitHub workflow command and
    "##[": each line `verify-cloudtrail` prints stays one line, and no line starts a workflow command (red team
    rt60's note: this command printed names as they are)."""
    root = build_trail(tmp_path / "copy\n::error title=Forged::x ##[group]")
    extra = (root / _log_key(0, 0)).with_name(f"{ACCOUNT}_CloudTrail_{REGION}_20260101T0009Z_x\n::warning::y ##[endgroup]"
                                              ".json.gz")
    extra.write_bytes(gzip.compress(json.dumps(records(0, 9)).encode()))
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    assert main(["verify-cloudtrail", str(root), "--public-keys", str(keys)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(ln.startswith("FAIL ") for ln in lines) and lines[-1].startswith(str(tmp_path / "copy"))
    assert all(ln.startswith(("FAIL ", "note: ", str(tmp_path))) for ln in lines), lines
    assert "##[" not in out and not any(ln.lstrip().startswith("::") for ln in lines)
