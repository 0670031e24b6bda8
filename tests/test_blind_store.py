"""Blind cases on where exported logs are kept and whether the set is whole: rotated sets built by the real
logrotate (its man page: numbered, compress, copytruncate), the sealer across copytruncate, damaged gzip data on
disk and in a bucket of a real moto S3 server (server mode, on loopback), and a seal chain that sits beside a log
object in a bucket.

The log lines follow the example of docs/tamper-evidence.md (a Vault/OpenBao file device request/response pair),
with fresh request ids and times, one file a day."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import uuid
import zlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.seal.chain import load_private_key
from pytest_auditready.seal.sealer import Sealer
from tests._native_runs import cli_process, completed

TOK = "hmac-sha256:6b5d0680f0f8cc125f82a4769fbb7e0b974929fd44597fc22b69fa8acc6db49d"
ACC = "hmac-sha256:9af6a4da7790a9afc6cb823ae51030edcc47e60b9b14897b09ca1da9680eae18"
START = datetime.date(2026, 11, 1)


def _stamp(t: datetime.datetime) -> str:
    """``t`` as the vault writes a time: Go's RFC3339Nano never ends its fraction in a zero."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "1Z"


def day_lines(day: int, pairs: int, seed: int = 0) -> bytes:
    """``pairs`` request/response pairs on day ``day`` after START, as the file device writes them."""
    r = random.Random(seed * 1000 + day)
    base = datetime.datetime.combine(START + datetime.timedelta(days=day), datetime.time(0, 0))
    out = []
    for s in sorted(r.uniform(60, 86000) for _ in range(pairs)):
        t = base + datetime.timedelta(seconds=s)
        auth = {"client_token": TOK, "accessor": ACC, "display_name": "approle-ci", "policies": ["ci"],
                "token_type": "service"}
        req = {"id": str(uuid.UUID(int=r.getrandbits(128), version=4)), "operation": "read", "client_token": TOK,
               "client_token_accessor": ACC, "namespace": {"id": "root"}, "path": "secret/data/ci/deploy",
               "remote_address": "10.0.4.17"}
        out.append(json.dumps({"time": _stamp(t), "type": "request", "auth": auth, "request": req},
                              separators=(",", ":")))
        out.append(json.dumps({"time": _stamp(t + datetime.timedelta(milliseconds=2)), "type": "response",
                               "auth": auth, "request": req, "response": {"mount_type": "kv"}},
                              separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def verify(tmp: Path, *paths: str, days: int, sealed: bool, key: Path | None = None,
           env: dict[str, str] | None = None, more: str = "online_days = 1") -> tuple[int, str, dict[str, Any]]:
    """`auditready verify` as a user runs it; (exit code, stderr, --json report or {}). ``more``: settings
    lines, each key without its ``retention_`` prefix. ``days``: the set's days, START's on (day_lines 0 to
    days - 1), which retention_days asks; the set is judged as of the day after its last (retention_as_of), the
    days since then being no part of these cases."""
    cfg = tmp / f"cfg-{uuid.uuid4().hex[:6]}.toml"
    as_of = START + datetime.timedelta(days=days)
    lines = ["[tool.auditready]", f"retention_days = {days}", f'retention_as_of = "{as_of}"']
    lines += [f"retention_{x}" for x in more.split("\n")]
    lines += [f'public_key = "{key}"'] if sealed and key else ["require_tamper_evidence = false"]
    cfg.write_text("\n".join(lines) + "\n")
    out = tmp / f"out-{uuid.uuid4().hex[:6]}.json"
    code, _, stderr = cli_process(["-q", "verify", *paths, "--config", str(cfg), "--json", str(out)], tmp,
                                  env={**os.environ, **(env or {})}, timeout=180)  # (tmp: no baseline or settings
    report = json.loads(out.read_text()) if out.exists() else {}  # of the caller's folder)
    return code, stderr, report


def failed(report: dict[str, Any]) -> set[str]:
    return {c["id"] for c in report.get("checks", []) if c["status"] == "failed"}


def findings(report: dict[str, Any], check: str) -> list[str]:
    return [f["message"] for o in report.get("outcomes", []) if o["check"] == check for f in o["findings"]]


@pytest.fixture(scope="module")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One sealing key pair for the module's tests, which only read it (each seals and verifies its own logs)."""
    key = tmp_path_factory.mktemp("keys") / "seal.key"
    subprocess.run([sys.executable, "-m", "pytest_auditready.cli", "keygen", str(key)], check=True,
                   capture_output=True, timeout=60)
    return key, Path(f"{key}.pub")


def _seal(log: Path, key: Path) -> str:
    p = subprocess.run([sys.executable, "-m", "pytest_auditready.cli", "seal", str(log), "--key", str(key)],
                       capture_output=True, text=True, timeout=60, check=True)
    return p.stdout + p.stderr


def _logrotate(folder: Path, options: str) -> tuple[Path, Path]:
    """A logrotate rule for folder/audit.log (its own state file): the real tool, run with -f per rotation."""
    conf = folder.parent / f"{folder.name}.conf"
    conf.write_text(f"{folder / 'audit.log'} {{\n rotate 30\n missingok\n notifempty\n{options}\n}}\n")
    return conf, folder.parent / f"{folder.name}.state"


needs_logrotate = pytest.mark.skipif(shutil.which("logrotate") is None, reason="needs logrotate (apt: logrotate)")


# -- the sealer across logrotate's copytruncate ---------------------------------------------------------------------

@needs_logrotate
@pytest.mark.parametrize("pairs", [[3, 3, 3, 3], [3, 4, 5, 2]], ids=["same-size-days", "growing-days"])
def test_copytruncate_set_sealed_one_shot_verifies_clean(tmp_path: Path, keypair: tuple[Path, Path],
                                                         pairs: list[int]) -> None:
    """logrotate's copytruncate copies the log and truncates it in place (same inode). A one-shot `auditready seal`
    run after the vault wrote as much as, or more than, what was sealed before saw the same inode and a size at or
    past the sealed end, and sealed on from the old offset: nothing (same size) or the middle of new lines as the
    old segment's continuation, so the correct set failed tamper_evidence forever. The sealer now checks that the
    file still holds what its last record sealed."""
    key, pub = keypair
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o700)
    log = folder / "audit.log"
    conf, state = _logrotate(folder, " copytruncate\n compress\n create 0600")
    for day, n in enumerate(pairs):
        with open(log, "ab") as f:
            f.write(day_lines(day, n))
        os.chmod(log, 0o600)
        _seal(log, key)
        if day < len(pairs) - 1:
            subprocess.run(["logrotate", "-f", "-s", str(state), str(conf)], check=True, timeout=60)
    code, err, report = verify(tmp_path, str(folder), days=len(pairs), sealed=True, key=pub)
    assert code == 0, (err, failed(report), findings(report, "tamper_evidence")[:2])
    assert failed(report) == set()
    # the same set, one rotated copy cut short after sealing: caught, at its file
    gz = folder / "audit.log.2.gz"
    data = gzip.decompress(gz.read_bytes())
    gz.write_bytes(gzip.compress(data[: data.rfind(b"\n", 0, len(data) - 1) + 1], mtime=0))
    code, err, report = verify(tmp_path, str(folder), days=len(pairs), sealed=True, key=pub)
    assert code == 1 and "tamper_evidence" in failed(report), err
    assert any("audit.log.2.gz" in m for m in findings(report, "tamper_evidence"))


def test_follow_sees_copytruncate_rewritten_past_its_offset(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    """The following sealer read on from its offset when the file was truncated in place and written past that
    offset between two polls (size never seen smaller). It now finds the bytes it read last gone from their place
    and starts a new segment, so the copy and the new content each verify."""
    key, pub = keypair
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o700)
    log = folder / "audit.log"
    log.write_bytes(day_lines(0, 3))
    os.chmod(log, 0o600)
    with Sealer(log, load_private_key(key), lines_per_record=1000) as s:
        s.seal_once()
        # copytruncate, then the vault writes more than was there before the sealer looks again
        shutil.copy(log, folder / "audit.log.1")
        os.chmod(folder / "audit.log.1", 0o600)
        with open(log, "r+b") as f:
            f.truncate(0)
        with open(log, "ab") as f:
            f.write(day_lines(1, 5))
        stop = threading.Event()
        stop.set()  # one pass of the loop, then the final seal
        s.follow(every_seconds=0.0, poll=0.01, stop=stop)
    records = [json.loads(x) for x in (folder / "audit.log.digests").read_text().splitlines()]
    assert [r["segment"] for r in records] == [0, 1] and records[1]["start"] == 0, records
    code, err, report = verify(tmp_path, str(folder), days=2, sealed=True, key=pub)
    assert code == 0, (err, findings(report, "tamper_evidence")[:2])


# -- damaged gzip data: refused in one line, never a traceback ------------------------------------------------------

# What the search below finds for a compressed stream it takes thousands of tries on (each decompressing the whole
# stream: 3 s of CPU), by the stream's SHA-256: the 1200 pairs of the past-first-block case. The search is a function
# of the stream alone, so a stream listed gets the very position it would find; any other stream (another zlib may
# compress otherwise) is searched.
_FOUND = {"ded6a05e13fed9620476147032e0b0e60408b080f567222119e4f53342c706f9": 29697}


def _damaged_gzip(data: bytes) -> bytes:
    """``data`` gzip-compressed with one byte of its deflate stream changed so that zlib itself fails (not only
    the CRC at the end): the first position that does, found by trying."""
    z0 = gzip.compress(data, mtime=0)
    found = _FOUND.get(hashlib.sha256(z0).hexdigest())
    if found is not None:
        z = bytearray(z0)
        z[found] ^= 0xFF
        with pytest.raises(zlib.error):
            gzip.decompress(bytes(z))
        return bytes(z)
    for pos in range(len(z0) // 2, len(z0) - 8):
        z = bytearray(z0)
        z[pos] ^= 0xFF
        try:
            gzip.decompress(bytes(z))
        except zlib.error:
            return bytes(z)
        except (OSError, EOFError):
            continue
    raise AssertionError("no position breaks the deflate stream")


def _one_line_refusal(code: int, err: str, name: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert name in lines[0] and "damaged gzip data" in lines[0], lines[0]


@pytest.mark.parametrize("where", ["head", "past-first-block"])
def test_damaged_gzip_rotated_file_refused_in_one_line(tmp_path: Path, where: str) -> None:
    """A rotated .gz whose deflate data is damaged raised zlib.error (no OSError) through every reader: a
    traceback, exit 1, as if findings. Now exit 2, one line naming the file; a healthy twin verifies clean."""
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o700)
    pairs = 3 if where == "head" else 1200  # 1200 pairs: ~1.6 MB, damage after the first 512 KiB block
    (folder / "audit.log").write_bytes(day_lines(1, 3))
    good = day_lines(0, pairs)
    (folder / "audit.log.1.gz").write_bytes(gzip.compress(good, mtime=0))
    for p in folder.iterdir():
        os.chmod(p, 0o600)
    code, err, report = verify(tmp_path, str(folder), days=2, sealed=False)
    assert code == 0, (err, failed(report))
    (folder / "audit.log.1.gz").write_bytes(_damaged_gzip(good))
    code, err, _ = verify(tmp_path, str(folder), days=2, sealed=False)
    _one_line_refusal(code, err, "audit.log.1.gz")


# -- a bucket of a real S3 server (moto in server mode) -------------------------------------------------------------

@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[Any, dict[str, str]]]:
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import boto3

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket="blind-store")
    try:
        yield client, env
    finally:
        server.stop()


def _upload_set(client: Any, prefix: str, days: int = 3) -> None:
    """A rotated set as logrotate leaves it (audit.log, audit.log.1, audit.log.2.gz ...), one day a file."""
    for n in range(days):
        data = day_lines(days - 1 - n, 3)
        key = "audit.log" if n == 0 else (f"audit.log.{n}" if n == 1 else f"audit.log.{n}.gz")
        client.put_object(Bucket="blind-store", Key=prefix + key,
                          Body=gzip.compress(data, mtime=0) if key.endswith(".gz") else data)


def test_damaged_gzip_object_refused_in_one_line(tmp_path: Path, s3: tuple[Any, dict[str, str]]) -> None:
    """The same damage in an object of a bucket: exit 2, one line naming the object (it was a traceback)."""
    client, env = s3
    _upload_set(client, "clean/")
    code, err, report = verify(tmp_path, "s3://blind-store/clean/", days=3, sealed=False, env=env)
    assert code == 0 and failed(report) == set(), err
    _upload_set(client, "damaged/")
    client.put_object(Bucket="blind-store", Key="damaged/audit.log.2.gz", Body=_damaged_gzip(day_lines(0, 3)))
    code, err, _ = verify(tmp_path, "s3://blind-store/damaged/", days=3, sealed=False, env=env)
    _one_line_refusal(code, err, "s3://blind-store/damaged/audit.log.2.gz")


def test_chain_beside_log_object_is_named_not_denied(tmp_path: Path, s3: tuple[Any, dict[str, str]],
                                                     keypair: tuple[Path, Path]) -> None:
    """A sealed set uploaded with its chain (s3://.../audit.log.digests beside the objects): a chain is verified on
    a local copy only, so tamper_evidence fails; it said "no digest chain beside it", which is false and sends the
    user to set up a sealer that already runs. The finding now names the chain object and the copy to verify, on
    rotated objects too; without a chain object it still says there is none."""
    client, env = s3
    pub = keypair[1]
    _upload_set(client, "sealed/")
    client.put_object(Bucket="blind-store", Key="sealed/audit.log.digests", Body=b"{}\n")
    code, err, report = verify(tmp_path, "s3://blind-store/sealed/", days=3, sealed=True, key=pub, env=env)
    assert code == 1 and failed(report) == {"tamper_evidence"}, err
    said = findings(report, "tamper_evidence")
    assert len(said) == 3 and all("s3://blind-store/sealed/audit.log.digests" in m and "no digest chain" not in m
                                  for m in said), said
    _upload_set(client, "unsealed/")
    code, err, report = verify(tmp_path, "s3://blind-store/unsealed/", days=3, sealed=True, key=pub, env=env)
    said = findings(report, "tamper_evidence")
    assert code == 1 and len(said) == 3 and all("no digest chain beside it" in m for m in said), said


# -- retention: the newest days at hand, not only in the archive ----------------------------------------------------

def _daily_set(folder: Path, days: int) -> None:
    """One file a day as logrotate's daily rule with compress leaves it: audit.log (the newest day), audit.log.1.gz
    and on (older days, higher numbers)."""
    folder.mkdir(mode=0o700)
    for n in range(days):
        data = day_lines(days - 1 - n, 3)
        p = folder / ("audit.log" if n == 0 else f"audit.log.{n}.gz")
        p.write_bytes(gzip.compress(data, mtime=0) if n else data)
        os.chmod(p, 0o600)


@pytest.mark.parametrize("moved,holds", [((5, 6, 7), True), ((1, 2, 3), False)], ids=["oldest-archived",
                                                                                       "newest-archived"])
def test_newest_days_must_be_at_hand_not_in_the_archive(tmp_path: Path, moved: tuple[int, ...], holds: bool) -> None:
    """retention_online_days = 5 over 8 daily files: archiving the 3 oldest keeps the newest 5 days at hand; archiving
    the 3 newest rotated files (days 5-7 of 8) leaves only the live log's day of those 5 at hand. The check only
    asked that the at-hand files begin before the window (the oldest days were still at hand) and passed."""
    folder, archive = tmp_path / "logs", tmp_path / "archive"
    _daily_set(folder, 8)
    archive.mkdir(mode=0o700)
    for n in moved:
        shutil.move(str(folder / f"audit.log.{n}.gz"), str(archive / f"audit.log.{n}.gz"))
    code, err, report = verify(tmp_path, str(folder), days=8, sealed=False,
                               more=f'online_days = 5\narchive = ["{archive}"]')
    if holds:
        assert code == 0 and failed(report) == set(), (err, findings(report, "retention"))
    else:
        assert code == 1 and failed(report) == {"retention"}, err
        said = findings(report, "retention")
        assert len(said) == 1 and "2026-11-05, 2026-11-06, 2026-11-07" in said[0] and "retention_archive" in said[0]


def test_object_whose_key_holds_glob_characters_is_read(tmp_path: Path, s3: tuple[Any, dict[str, str]]) -> None:
    """S3 keys may hold any UTF-8 character, `[`, `]` and `*` too (AWS S3 user guide, "Naming objects"): an
    object named as it is was taken for a glob that matched nothing, exit 2 "no log object". It is read, as a
    local file of that name is; a real glob still expands."""
    client, env = s3
    client.put_object(Bucket="blind-store", Key="nodes/audit[vault-0].log", Body=day_lines(0, 3))
    code, err, report = verify(tmp_path, "s3://blind-store/nodes/audit[vault-0].log", days=1, sealed=False, env=env)
    assert code == 0 and failed(report) == set(), err
    assert {o["subject"] for o in report["outcomes"]} == {"s3://blind-store/nodes/audit[vault-0].log"}
    client.put_object(Bucket="blind-store", Key="nodes/audit[vault-1].log", Body=day_lines(0, 3, seed=1))
    code, err, report = verify(tmp_path, "s3://blind-store/nodes/audit*.log", days=1, sealed=False, env=env)
    assert code == 0 and len({o["subject"] for o in report["outcomes"]}) == 2, err


@pytest.mark.parametrize("odd", ["nul/audit\x00.log", "q/audit?key=abc.log"], ids=["nul", "query-like"])
def test_a_prefix_with_an_odd_key_gets_a_verdict(tmp_path: Path, s3: tuple[Any, dict[str, str]], odd: str) -> None:
    """S3 keys may hold any UTF-8 character. A NUL made retention compare the log set's names as local paths: a
    traceback (red team rt32, F4). "?key=" made each listed object's URL be judged as a presigned URL the user
    typed, and the whole prefix was refused naming nothing (rt32, F12). Each object is its own name: a verdict; a
    URL typed with a signature in its query is still refused."""
    client, env = s3
    prefix = odd.split("/")[0]
    client.put_object(Bucket="blind-store", Key=odd, Body=day_lines(0, 3))
    client.put_object(Bucket="blind-store", Key=f"{prefix}/audit.log", Body=day_lines(0, 3, seed=1))
    code, err, report = verify(tmp_path, f"s3://blind-store/{prefix}/", days=1, sealed=False, env=env)
    assert code in (0, 1) and "Traceback" not in err and "presigned" not in err, err
    assert len({o["subject"] for o in report["outcomes"]}) == 2
    code, err, _ = verify(tmp_path, f"s3://blind-store/{prefix}/audit.log?X-Amz-Signature=abc", days=1,
                          sealed=False, env=env)
    assert code == 2 and "presigned" in err


# -- credentials in an archive URL never shown -----------------------------------------------------------------------

SECRET_URL = "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY@blind-store/archive/"


def test_seal_archive_url_with_credentials_refused_and_never_shown(tmp_path: Path,
                                                                   keypair: tuple[Path, Path]) -> None:
    """seal_archive names folders; an object-store URL there (AWS's documented example keys in it) was printed in
    every `missing` finding of a sealed set with a file gone, credential and all. `auditready verify` now refuses it
    in one line without the URL, and the verifier's own text never shows such a URL (a live run reaches it without
    the command's input checks)."""
    from pytest_auditready.seal.chain import load_public_key
    from pytest_auditready.seal.verify import verify_member

    key, pub = keypair
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o700)
    log = folder / "audit.log"
    for day in range(3):
        with open(log, "ab") as f:
            f.write(day_lines(day, 3))
        os.chmod(log, 0o600)
        _seal(log, key)
        if day < 2:
            for n in range(day, 0, -1):
                os.rename(folder / f"audit.log.{n}", folder / f"audit.log.{n + 1}")
            os.rename(log, folder / "audit.log.1")  # logrotate's rename; the vault reopens a new audit.log
    (folder / "audit.log.2").unlink()  # the oldest day's file gone: a `missing` finding that names the archive
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'[tool.auditready]\nretention_days = 0\npublic_key = "{pub}"\nseal_archive = ["{SECRET_URL}"]\n')
    p = completed(["-q", "verify", str(folder), "--config", str(cfg)], tmp_path, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "seal_archive" in p.stderr
    for part in ("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"):
        assert part not in p.stdout + p.stderr
    report = verify_member(log, load_public_key(pub), archive=[SECRET_URL])
    assert report is not None
    texts = [pr.text() for pr in report.problems]
    assert any("archive folder" in t for t in texts), texts
    assert not any("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY" in t for t in texts), texts


def test_endpoint_with_userinfo_is_named_not_taken_for_missing_credentials(tmp_path: Path) -> None:
    """AWS_ENDPOINT_URL with user:password@ (as some S3-compatible servers' examples write it): the HTTP client
    refuses it, and the one-line refusal said "no credentials found in the environment", sending the user after
    credentials that are there. It now names the endpoint's userinfo, and never shows it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed: no request gets far
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://minio:Sup3rS3cretPw@127.0.0.1:{port}"}
    pytest.importorskip("s3fs")
    code, err, _ = verify(tmp_path, "s3://blind-store/logs/", days=1, sealed=False, env=env)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "endpoint URL carries a user name and password" in err and "Sup3rS3cretPw" not in err, err


def test_a_fix_for_an_object_names_a_local_copy(tmp_path: Path, s3: tuple[Any, dict[str, str]]) -> None:
    """An object re-encoded as UTF-16 is refused with a command that can run: on a copy of it here, not piped into
    "> s3://...", which no shell command writes (red team rt3, F7)."""
    client, env = s3
    client.put_object(Bucket="blind-store", Key="u16/x.log", Body=day_lines(0, 3).decode().encode("utf-16"))
    code, err, _ = verify(tmp_path, "s3://blind-store/u16/x.log", days=3, sealed=False, env=env)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "copy it here first" in err and "iconv -f UTF-16 -t UTF-8 x.log > x.log.utf8" in err, err
    assert "> s3://" not in err


def test_a_gzip_file_with_bytes_after_its_data_says_so(tmp_path: Path) -> None:
    """A gzip member followed by bytes that are no member (a file appended to after compression): refused in one
    line that says so and how to read the member (before: "cannot read ... after 0 bytes: Not a gzipped file", the
    member read whole; red team rt3, F7). The fix given reads the log."""
    log = tmp_path / "trail.log.gz"
    log.write_bytes(gzip.compress(day_lines(0, 3), mtime=0) + b"trailing text\n")
    log.chmod(0o600)
    proc = completed(["verify", str(log)], tmp_path, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "bytes that are no gzip member follow its gzip data" in proc.stderr and "gzip -dc" in proc.stderr
    assert "after 0 bytes" not in proc.stderr
