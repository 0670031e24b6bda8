"""Offline sources in object storage (issue 15, part 3): `auditready verify` and `--auditready-offline` read an S3
prefix through fsspec/s3fs, streaming and gzip-aware, credentials and endpoint from the environment only. Every
test runs against a moto S3 server it starts on loopback; nothing reaches the internet."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.cli import main

moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
LEAKY = FIXTURES / "openbao" / "leaky.log"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
TRAIL = FIXTURES / "cloudtrail" / "secretsmanager.json"
FAKE_SECRET = "fake-secret-key-for-moto-0123456789"


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket on the loopback server; the environment holds fake credentials and the endpoint, as a user's
    shell would (never an option)."""
    import boto3

    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORMOTO00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3")
    bucket = "audit-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    client.endpoint = s3_endpoint  # (for a proxy a test puts before the store)
    return client


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_days = 0\ncanaries_file = "{CANARIES}"\n')
    return cfg


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "verdict.json"
    if out.exists():
        out.unlink()
    rc = main(["verify", *paths, "--config", str(_config(tmp_path)), "--json", str(out)])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "Traceback" not in text and FAKE_SECRET not in text
    return rc, (json.loads(out.read_text()) if out.exists() else {}), text


def _rotated_set(folder: Path) -> dict[str, bytes]:
    """CLEAN as a rotated Vault set: the oldest part gzip'd, plus a seal chain and a key that are no logs."""
    lines = CLEAN.read_bytes().splitlines(keepends=True)
    third = len(lines) // 3
    files = {
        "audit.log.2.gz": gzip.compress(b"".join(lines[:third])),
        "audit.log.1": b"".join(lines[third : 2 * third]),
        "audit.log": b"".join(lines[2 * third :]),
        "audit.log.digests": b"not a log\n",
        "seal.pub": b"not a log either\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)
    return files


def _counts(data: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [(f["file"].rsplit("/", 1)[-1], f["lines"], f["entries"], f["format"]) for f in data["files"]]


def test_an_s3_prefix_reads_like_the_same_local_folder(s3: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "vault"
    for name, data in _rotated_set(local).items():
        s3.put_object(Bucket=s3.bucket, Key=f"vault/{name}", Body=data)
    rc_local, d_local, text_local = _verify(tmp_path, capsys, str(local))
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == rc_local, text + "\n---\n" + text_local
    assert _counts(d) == _counts(d_local)
    assert [f["file"] for f in d["files"]] == [f"s3://{s3.bucket}/vault/{n}" for n in  # oldest first
                                               ("audit.log.2.gz", "audit.log.1", "audit.log")]
    assert sum(f["entries"] for f in d["files"]) == len(CLEAN.read_bytes().splitlines())
    # a glob and a single object name the same objects
    rc_glob, d_glob, _ = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/audit.log*")
    assert _counts(d_glob) == _counts(d) and rc_glob == rc
    _, d_one, _ = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/audit.log.2.gz")
    assert _counts(d_one) == [c for c in _counts(d) if c[0] == "audit.log.2.gz"]


def test_a_log_folder_synced_just_after_a_rotation_reads_as_on_disk(s3: Any, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A log folder copied whole to a store (aws s3 sync) right after logrotate's create holds its live log empty:
    the same verdict as the folder on disk. Before, the empty object was called emptied, as a shipper's chunk of 0
    bytes is (red team rt52). An empty object that is no live log beside its rotated files still is."""
    local = tmp_path / "vault"
    files = _rotated_set(local)
    files["audit.log.1"] += files["audit.log"]
    files["audit.log"] = b""
    for name, data in files.items():
        (local / name).write_bytes(data)
        s3.put_object(Bucket=s3.bucket, Key=f"vault/{name}", Body=data)
    rc_local, d_local, text_local = _verify(tmp_path, capsys, str(local))
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == rc_local == 0, text + "\n---\n" + text_local
    assert _counts(d) == _counts(d_local)
    s3.put_object(Bucket=s3.bucket, Key="vault/chunk-20261205T141551Z-c91e.log", Body=b"")
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == 1 and "chunk-20261205T141551Z-c91e.log is an object of 0 bytes" in text, text
    s3.delete_object(Bucket=s3.bucket, Key="vault/chunk-20261205T141551Z-c91e.log")
    for name in ("audit.log.1", "audit.log.2.gz"):  # the live log alone: nothing beside it was rotated
        s3.delete_object(Bucket=s3.bucket, Key=f"vault/{name}")
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/audit.log")
    assert rc != 0, text


def test_pytest_offline_reads_an_s3_prefix(s3: Any, tmp_path: Path, pytester: pytest.Pytester) -> None:
    for name, data in _rotated_set(tmp_path / "vault").items():
        s3.put_object(Bucket=s3.bucket, Key=f"vault/{name}", Body=data)
    s3.put_object(Bucket=s3.bucket, Key="leaky/audit.log", Body=LEAKY.read_bytes())
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", f"s3://{s3.bucket}/vault/",
                                     f"s3://{s3.bucket}/leaky/", "--auditready-config", str(_config(tmp_path)))
    text = r.stdout.str()
    assert FAKE_SECRET not in text + r.stderr.str()
    assert f"auditready-offline[s3://{s3.bucket}/leaky/audit.log]::no_secret_leak FAILED" in " ".join(text.split()) \
        or ("no_secret_leak" in text and int(r.ret) == 1), text
    assert int(r.ret) == 1


def test_a_syslog_hop_that_cut_an_entry_fails_through_s3_too(s3: Any, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    header = b"Dec  1 07:54:37 vault1 bao[812]: "
    lines = CLEAN.read_bytes().splitlines()
    entry = json.loads(lines[0])
    entry["zz_padding"] = "p" * 9000
    big = json.dumps(entry, separators=(",", ":")).encode()
    body = b"\n".join([header + big[: 8192 - len(header)]] + [header + ln for ln in lines[1:]]) + b"\n"
    s3.put_object(Bucket=s3.bucket, Key="syslog/2026/12/01/vault.log.gz", Body=gzip.compress(body))
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/syslog/")
    assert rc == 1
    assert "cut at 8192 bytes: the syslog hop's message size limit" in text
    assert d["files"][0]["unreadable_lines"] == 1 and d["files"][0]["entries"] == len(lines) - 1


def test_cloudtrail_bucket_layout_is_walked_without_its_digests(s3: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    base = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/01/"
    key = base + "123456789012_CloudTrail_us-east-1_20261201T0000Z_abc.json.gz"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=gzip.compress(TRAIL.read_bytes()))
    s3.put_object(Bucket=s3.bucket, Key="AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/12/01/"
                  "123456789012_CloudTrail-Digest_us-east-1_x_us-east-1_20261201T010000Z.json.gz",
                  Body=gzip.compress(b'{"digestStartTime": "x"}'), Metadata={"signature": "00"})
    _, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/AWSLogs/")
    assert [f["file"] for f in d["files"]] == [f"s3://{s3.bucket}/{key}"], text
    assert d["files"][0]["format"] == "cloudtrail"
    assert d["files"][0]["entries"] == len(json.loads(TRAIL.read_bytes())["Records"])


@pytest.mark.parametrize("what", ["no bucket", "empty prefix", "no credentials"])
def test_unreadable_store_is_one_line_exit_2(what: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"s3://{s3.bucket}/nothing-here/"
    if what == "no bucket":
        url = "s3://no-such-bucket-auditready/x/"
    elif what == "no credentials":
        s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=CLEAN.read_bytes())
        url = f"s3://{s3.bucket}/vault/"
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(var)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    rc, _, text = _verify(tmp_path, capsys, url)
    assert rc == 2, text
    line = text.strip()
    assert len(line.splitlines()) == 1 and url.split("/")[2] in line, line
    if what == "no credentials":
        assert "no credentials found in the environment" in line


def _upload_trail(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A signed CloudTrail digest chain (tests/test_cloudtrail.py) put in the bucket with its S3 layout; each
    digest's signature as CloudTrail keeps it, in the object's metadata."""
    from tests import test_cloudtrail as ct

    monkeypatch.setattr(ct, "BUCKET", s3.bucket)
    root = ct.build_trail(tmp_path / "trail")
    keys = ct.write_keys(tmp_path / "keys.json", ct.rsa_key())
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith((".sig", ".metadata.json")):
            continue
        key = str(p.relative_to(root))
        meta = {}
        for side in (Path(str(p) + ".sig"), Path(str(p) + ".metadata.json")):
            if side.exists():
                text = side.read_text()
                meta["signature"] = text.strip() if side.suffix == ".sig" else json.loads(text)["Metadata"]["signature"]
        s3.put_object(Bucket=s3.bucket, Key=key, Body=p.read_bytes(), Metadata=meta)
    return root, keys


def _verify_trail(s3: Any, tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from tests.test_cloudtrail import ACCOUNT, REGION

    cfg = tmp_path / "trail.toml"
    cfg.write_text(f'require_tamper_evidence = true\nretention_days = 0\ncloudtrail_public_keys = "{keys}"\n'
                   'log_format = "cloudtrail"\n')
    rc = main(["verify", f"s3://{s3.bucket}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/", "--config", str(cfg)])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "Traceback" not in text and FAKE_SECRET not in text
    return rc, text


def _tamper_lines(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if "tamper_evidence" in ln or "digest" in ln.lower()
                     or "Log file" in ln)


def test_cloudtrail_prefix_in_s3_is_verified_with_its_digest_objects(s3: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, keys = _upload_trail(s3, tmp_path, monkeypatch)
    _, text = _verify_trail(s3, tmp_path, keys, capsys)
    verdicts = [ln.split()[0] for ln in text.splitlines() if ln.split()[1:2] == ["tamper_evidence"]]
    assert verdicts == ["PASS"] * 6, _tamper_lines(text)  # each of the 6 log objects, by its digest object


@pytest.mark.parametrize("tamper, needle", [
    pytest.param("log-deleted", "is missing: it was deleted", id="log-object-deleted"),
    pytest.param("log-altered", "does not match the SHA-256", id="log-object-altered"),
    pytest.param("digest-deleted", "No digest file beside it lists", id="digest-object-missing"),
])
def test_tampered_cloudtrail_objects_fail_tamper_evidence_naming_the_object(
        s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tamper: str, needle: str) -> None:
    from tests.test_cloudtrail import _digest_key, _log_key

    root, keys = _upload_trail(s3, tmp_path, monkeypatch)
    if tamper == "log-deleted":
        s3.delete_object(Bucket=s3.bucket, Key=_log_key(1, 1))
        named = _log_key(1, 1)
    elif tamper == "log-altered":
        body = gzip.decompress((root / _log_key(1, 0)).read_bytes()).replace(b"Get1", b"Get9")
        s3.put_object(Bucket=s3.bucket, Key=_log_key(1, 0), Body=gzip.compress(body))
        named = _log_key(1, 0).rsplit("/", 1)[1]
    else:
        s3.delete_object(Bucket=s3.bucket, Key=_digest_key(1))
        named = _log_key(1, 0).rsplit("/", 1)[1]
    rc, text = _verify_trail(s3, tmp_path, keys, capsys)
    failed = [ln for ln in text.splitlines() if ln.startswith("FAIL tamper_evidence")]
    assert rc == 1 and failed, _tamper_lines(text)
    assert needle in text and named in text, _tamper_lines(text)


def test_a_days_digest_objects_are_fetched_once_for_all_its_log_objects(s3: Any, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_auditready.engine import objects

    _, keys = _upload_trail(s3, tmp_path, monkeypatch)
    fetched: list[str] = []
    real = objects._copy_capped

    def counting(fs: Any, path: str, dest: Any, cap: int) -> None:
        fetched.append(path.rsplit("/", 1)[-1])
        real(fs, path, dest, cap)

    monkeypatch.setattr(objects, "_copy_capped", counting)
    _, text = _verify_trail(s3, tmp_path, keys, capsys)
    assert [ln.split()[0] for ln in text.splitlines() if ln.split()[1:2] == ["tamper_evidence"]] == ["PASS"] * 6
    digests = [n for n in fetched if "_CloudTrail-Digest_" in n]
    assert sorted(digests) == sorted(set(digests)) and len(digests) == 3  # 3 hourly digests, each fetched once
    assert len([n for n in fetched if "_CloudTrail_" in n]) == 6


def test_a_small_object_is_fetched_once_for_all_the_reads_of_a_run(s3: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A run reads each object several times (the format told, the entries read, the set's numbers checked): a
    small one is fetched in one request and kept, so a prefix of thousands of CloudTrail-sized objects costs a
    request each, not three; the verdicts are those of the same files on disk. A second run lists and fetches
    again (an object replaced between runs is read as it is now)."""
    from pytest_auditready.engine import objects

    lines = CLEAN.read_bytes().splitlines(keepends=True)
    local = tmp_path / "local"
    local.mkdir()
    for i in range(6):
        body = b"".join(lines[i * 8:(i + 1) * 8])
        s3.put_object(Bucket=s3.bucket, Key=f"vault/audit-{i}.log", Body=body)
        (local / f"audit-{i}.log").write_bytes(body)
        (local / f"audit-{i}.log").chmod(0o600)
    fetches: list[str] = []

    def counted(url: str) -> tuple[Any, str]:
        fs, path = real(url)
        cat, opener = fs.cat_file, fs.open

        class Counting:  # the store's filesystem, counting what it is asked to fetch
            def __getattr__(self, name: str) -> Any:
                return getattr(fs, name)

            def cat_file(self, p: str, *a: Any, **k: Any) -> Any:
                fetches.append(p)
                return cat(p, *a, **k)

            def open(self, p: str, *a: Any, **k: Any) -> Any:
                fetches.append(p)
                return opener(p, *a, **k)

        return Counting(), path

    real = objects._fs
    monkeypatch.setattr(objects, "_fs", counted)
    code, data, _ = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert sorted(fetches) == sorted(f"{s3.bucket}/vault/audit-{i}.log" for i in range(6)), fetches
    monkeypatch.setattr(objects, "_fs", real)
    local_code, local_data, _ = _verify(tmp_path, capsys, str(local))
    assert (code, _counts(data)) == (local_code, _counts(local_data))
    s3.put_object(Bucket=s3.bucket, Key="vault/audit-0.log", Body=b"not a log\n")
    assert _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")[0] == 2  # read as it is now: refused


@pytest.fixture
def stalling_endpoint(s3_endpoint: str) -> Iterator[tuple[str, list[int]]]:
    """A loopback hop in front of the S3 server that forwards its answers until ``budget[0]`` bytes have gone
    through (over all connections), then holds every connection open and silent: a store that stalls mid-body."""
    import socket
    import threading

    host, port = s3_endpoint.rsplit("/", 1)[1].split(":")
    budget = [1 << 62, 0]
    done = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def pipe(client: socket.socket) -> None:
        upstream = socket.create_connection((host, int(port)), timeout=30)

        def up() -> None:
            with contextlib.suppress(OSError):
                while data := client.recv(65536):
                    upstream.sendall(data)

        threading.Thread(target=up, daemon=True).start()
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if budget[0] < len(data):
                    done.wait(60)  # silent: the client waits for bytes that do not come
                    break
                budget[0] -= len(data)
                client.sendall(data)
        client.close()
        upstream.close()

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                budget[1] += 1
                threading.Thread(target=pipe, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", budget
    finally:
        done.set()
        listener.close()


def test_an_object_that_stalls_mid_body_is_refused_in_one_line_naming_the_stall(
        s3: Any, stalling_endpoint: tuple[str, list[int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The store sends the first 8 MiB block of a 20 MB object, then nothing. Before: s3fs's handling of the read
    timeout raised IndexError mid-read, a traceback (red team rt3 F6). Now one line, exit 2, naming the URL, the
    bytes read before the stall and the timeout. (botocore's read deadline is cut to 1 s here: the same path, in
    seconds rather than a minute.)"""
    from pytest_auditready.engine import objects

    body = CLEAN.read_bytes() * (20_000_000 // len(CLEAN.read_bytes()))
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=body)
    endpoint, budget = stalling_endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setattr(objects, "S3_READ_TIMEOUT", 1)
    # the listing, the format's sample and the first block of the read go through; the second block stalls
    budget[0] = 2 * objects.READ_BLOCK + (1 << 20)
    url = f"s3://{s3.bucket}/vault/audit.log"
    rc, _, text = _verify(tmp_path, capsys, url)
    line = text.strip()
    assert rc == 2, text
    assert len(line.splitlines()) == 1, line
    assert url in line and f"after its first {objects.READ_BLOCK:,} bytes" in line and "did not answer in time" in line, line
    assert "IndexError" not in line and "check the store's endpoint" in line and "credentials" not in line


def test_a_cut_compressed_object_is_blamed_on_its_content_not_the_network(
        s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rotated object gzipped and cut short: one line, exit 2, saying the object's content is cut (running again
    reads the same bytes), as a local file is; it said to check the endpoint and the network (red team rt7, F5)."""
    import gzip

    whole = gzip.compress(CLEAN.read_bytes() * 20)
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log.1.gz", Body=whole[: len(whole) // 2])
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=CLEAN.read_bytes())
    rc, _, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    line = text.strip()
    assert rc == 2 and len(line.splitlines()) == 1, text
    assert "audit.log.1.gz" in line and "compressed content is cut or damaged" in line, line
    assert "the network" not in line, line


def test_listing_a_store_that_never_answers_gives_up_within_two_deadlines(
        s3: Any, stalling_endpoint: tuple[str, list[int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A listing is a few calls in a row; with s3fs's second try each, a silent store held the run past a minute
    (rt7, F4). One try each: the first call's one connection, given up after botocore's read deadline (cut to 1 s
    here); the time is only a guard against a hang (the count of tries is what tells one try from two)."""
    import time

    from pytest_auditready.engine import objects

    endpoint, budget = stalling_endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setattr(objects, "S3_READ_TIMEOUT", 1)
    budget[0] = 0  # not a byte of any answer
    started = time.monotonic()
    rc, _, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == 2 and "did not answer in time" in text, text
    assert budget[1] == 1, f"{budget[1]} connections: the stalled call was tried again"
    assert time.monotonic() - started < 30, time.monotonic() - started


def test_an_object_key_with_a_nul_byte_is_read_and_its_name_shown_escaped(s3: Any, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """S3 takes any UTF-8 in a key, a NUL too; the run asked the local file system for it by name and ended in a
    traceback, the other objects unreported (red team rt22)."""
    s3.put_object(Bucket=s3.bucket, Key="v/audit\x00.log", Body=CLEAN.read_bytes())
    s3.put_object(Bucket=s3.bucket, Key="v/other.log", Body=CLEAN.read_bytes())
    rc, d, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/v/")
    assert rc in (0, 1), text
    assert len(d["files"]) == 2 and all(f["entries"] == len(CLEAN.read_bytes().splitlines()) for f in d["files"])
    assert "\x00" not in text and "\\x00" in text


def test_an_objects_skipped_log_protection_says_what_of_its_store_was_not_judged(
        s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Red team rt81 F6: offline, log_protection judges a local file's mode and owner; for an object it judged
    nothing, and its skip said only "no local log file", as if the bucket's own protection had been looked at
    elsewhere. It names what was not judged (policy, ACLs, public access, Object Lock, versioning) and the tools."""
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=CLEAN.read_bytes())
    _, _, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/audit.log")
    skip = next(ln for ln in text.splitlines() if ln.startswith("SKIP log_protection"))
    assert "object in a store (s3://)" in skip and "Object Lock" in skip and "get-bucket-policy-status" in skip
    local = tmp_path / "audit.log"
    local.write_bytes(CLEAN.read_bytes())
    local.chmod(0o600)
    _, _, text = _verify(tmp_path, capsys, str(local))
    assert not any(ln.startswith("SKIP log_protection") for ln in text.splitlines())  # a local file is judged
