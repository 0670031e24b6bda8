"""Object stores beyond S3 (red team rt81): gs:// and az:// reads pinned to the version listed (F1) and bounded by
deadlines (F2), an archived S3 object named as such (F3), the evidence naming each object as its store told it
(F4), and each store's own wording (F6). Real servers on loopback, started here: the Python GCS emulator
(gcp-storage-emulator, in the test extra), moto's S3 server (conftest), a listener that accepts and never answers,
and Azurite where it is installed (it needs npm, which CI does not install: `npm install azurite` and put its
``.bin`` on PATH, or set AZURITE_BLOB to its ``azurite-blob``); the Azure tests that need no answer run without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from pytest_auditready.cli import main
from tests.test_object_store import FAKE_SECRET, s3  # noqa: F401  (a bucket on the loopback S3 server)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
# Azurite's documented development account and key (public, in every Azure Storage emulator guide)
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
BLOCK = 16 << 10  # READ_BLOCK here: the 154 KB log is read in ten ranged GETs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connection_string(endpoint: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={AZ_ACCOUNT};AccountKey={AZ_KEY};"
            f"BlobEndpoint={endpoint}/{AZ_ACCOUNT};")


def _spliced() -> tuple[bytes, bytes]:
    """Two versions of the OpenBao log, of one length, each leaking a known value (the canaries file's first):
    v1 in its last entry, v2 in its first. Read as v1's first block and v2's rest (a re-upload during the read),
    neither leak is there."""
    lines = CLEAN.read_bytes().splitlines(keepends=True)
    canary = CANARIES.read_text().split()[0].encode()
    harmless = b"x" * len(canary)

    def plant(first: bytes, last: bytes) -> bytes:
        out = list(lines)
        out[0] = out[0].replace(b'{"time"', b'{"note":"' + first + b'","time"', 1)
        out[-1] = out[-1].replace(b'{"time"', b'{"note":"' + last + b'","time"', 1)
        return b"".join(out)

    return plant(harmless, canary), plant(canary, harmless)


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, str]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_days = 0\ncanaries_file = "{CANARIES}"\n')
    rc = main(["verify", url, "--config", str(cfg), *extra])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "Traceback" not in text and AZ_KEY not in text and FAKE_SECRET not in text, text
    return rc, text


def _refusal(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith("auditready: cannot")]
    assert len(lines) == 1, text
    return lines[0]


def _ended(run: Callable[[], Any], cap: float = 60.0) -> Any:
    """``run()``'s result, run in a thread: a run still going after ``cap`` s hangs (and fails the test), where
    the fix ends it in one line at its deadlines."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(run()), daemon=True)
    worker.start()
    worker.join(cap)
    assert not worker.is_alive(), "the run hangs on a store that never answers"
    return out[0]


# -- servers ---------------------------------------------------------------------------------------------------
class Hop(http.server.ThreadingHTTPServer):
    """A loopback HTTP hop before a store. ``before_later_block`` runs once, before the first GET of an object's
    bytes past its first (a ``Range`` or ``x-ms-range`` that does not start at 0) is passed on: a writer
    re-uploading the object there. ``stall`` holds every GET of an object's bytes unanswered (the listing passes)."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit("/", 1)[-1].split(":")
        self.upstream = (host, int(port))
        self.before_later_block: Optional[Callable[[], None]] = None
        self.stall = False
        self.done = threading.Event()
        super().__init__(("127.0.0.1", 0), _HopHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.done.set()
        self.shutdown()
        self.server_close()


class _HopHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Hop

    def log_message(self, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        span = str(self.headers.get("Range") or self.headers.get("x-ms-range") or "")
        media = self.command == "GET" and ("alt=media" in self.path or bool(span))
        if media and self.server.stall:
            self.server.done.wait(120)
            return
        hook = self.server.before_later_block
        if self.command == "GET" and span.startswith("bytes=") and not span.startswith("bytes=0-") and hook:
            self.server.before_later_block = None
            hook()
        up = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        up.request(self.command, self.path, body=body or None, headers=dict(self.headers.items()))
        answer = up.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        up.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback listener that accepts every connection and never answers (a firewall that drops)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for c in held:
        c.close()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deadlines cut to a second or two (each is the same code path at its real length), and no client kept from
    another test (a client holds the deadlines it was made with)."""
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "S3_READ_TIMEOUT", 1)
    monkeypatch.setattr(objects, "CONNECT_TIMEOUT", 1, raising=False)  # (raising=False: without the fix, none)
    monkeypatch.setattr(objects, "DEADLINE_FLOOR", 1.5)
    monkeypatch.setattr(objects, "MIN_RATE", 1 << 40)
    monkeypatch.setattr(objects, "RETRY_PAUSE", 1.0, raising=False)
    monkeypatch.setattr(objects, "_CACHE", {})


@pytest.fixture(scope="module")
def gcs_server() -> Iterator[str]:
    """The Python GCS emulator on a free loopback port, for the module's tests (each makes its own bucket)."""
    pytest.importorskip("gcsfs", reason="gcsfs is in the test extra")
    emulator = pytest.importorskip("gcp_storage_emulator.server", reason="gcp-storage-emulator is in the test extra")
    port = _free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def gcs(gcs_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket on the emulator, the environment pointing there (STORAGE_EMULATOR_HOST), and a client of the
    emulator itself (``direct``) for the test's own writes."""
    # (gcsfs's experimental class asks a Storage Control API no emulator has)
    from gcsfs.core import GCSFileSystem  # type: ignore[import-untyped,import-not-found,unused-ignore]

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # google-auth: no metadata server to look for
    direct = GCSFileSystem(skip_instance_cache=True, token="anon", endpoint_url=gcs_server)
    bucket = "rt81-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    direct.mkdir(bucket)
    return type("Gcs", (), {"direct": direct, "bucket": bucket, "endpoint": gcs_server})


def _azurite_binary() -> Optional[str]:
    return os.environ.get("AZURITE_BLOB") or shutil.which("azurite-blob")


@pytest.fixture(scope="module")
def azurite() -> Iterator[str]:
    """Azurite's Blob service on a free loopback port, where it is installed (npm); else the test is skipped."""
    pytest.importorskip("adlfs", reason="adlfs is in the test extra")
    binary = _azurite_binary()
    if binary is None:
        pytest.skip("Azurite is not installed (npm install azurite; put its .bin on PATH or set AZURITE_BLOB)")
    port = _free_port()
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent",
                             "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--inMemoryPersistence"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def az(azurite: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh container on Azurite, the environment's connection string pointing there, and a client of Azurite
    itself (``direct``) for the test's own writes."""
    import fsspec  # type: ignore[import-untyped,import-not-found,unused-ignore]

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", _connection_string(azurite))
    direct = fsspec.filesystem("az", skip_instance_cache=True, connection_string=_connection_string(azurite))
    container = "rt81-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    direct.mkdir(container)
    return type("Az", (), {"direct": direct, "container": container, "endpoint": azurite})


# -- F1: an object replaced while it is read -------------------------------------------------------------------
def _blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "SMALL", 1024)  # read in ranged GETs, as a large object is
    monkeypatch.setattr(objects, "READ_BLOCK", BLOCK)


def test_a_gcs_object_replaced_while_it_is_read_is_refused_not_judged_as_a_splice(
        gcs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: gcsfs pins no generation, so the entries were read from two versions, a log that is
    neither (the red team's run passed a leak each version holds, exit 0; red team rt81 F1). Each read is pinned to
    the generation listed (this emulator ignores ifGenerationMatch and names no generation in its answer: the
    object's generation asked after the GET is another): refused in one line, exit 2, as S3 refuses it."""
    _blocks(monkeypatch)
    v1, v2 = _spliced()
    key = f"{gcs.bucket}/flip/audit.log"
    gcs.direct.pipe_file(key, v1)
    hop = Hop(gcs.endpoint)
    hop.before_later_block = lambda: gcs.direct.pipe_file(key, v2)  # a shipper uploading it again
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", hop.url)
    try:
        rc, text = _verify(tmp_path, capsys, f"gs://{gcs.bucket}/flip/")
    finally:
        hop.stop()
    line = _refusal(text)
    assert rc == 2 and f"cannot read gs://{gcs.bucket}/flip/audit.log" in line, text
    assert "the object was replaced after it was listed (its generation changed)" in line, line
    assert "fix: find what writes to the prefix" in line, line


def test_a_gcs_object_read_in_blocks_is_judged_and_named_by_its_generation(
        gcs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The correct setup through the same hop, read in the same ranged GETs: no refusal, no finding; the evidence
    names the object by the generation its reads were pinned to and the SHA-256 of the bytes read (F4)."""
    _blocks(monkeypatch)
    body = CLEAN.read_bytes()
    key = f"{gcs.bucket}/vault/audit.log"
    gcs.direct.pipe_file(key, body)
    hop = Hop(gcs.endpoint)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", hop.url)
    try:
        rc, text = _verify(tmp_path, capsys, f"gs://{gcs.bucket}/vault/", "--evidence", str(tmp_path / "ev"))
    finally:
        hop.stop()
    assert rc == 0 and "cannot read" not in text and "FAIL" not in text, text
    [entry] = json.loads((tmp_path / "ev" / "evidence.json").read_text())["inputs"]["logs"]
    assert entry["path"] == f"gs://{gcs.bucket}/vault/audit.log" and entry["pinned_to"] == "generation"
    assert entry["store"]["generation"] == gcs.direct.info(key)["generation"], entry
    assert entry["store"]["size"] == len(body) and entry["sha256"] == hashlib.sha256(body).hexdigest(), entry


def test_an_azure_blob_replaced_while_it_is_read_is_refused_not_judged_as_a_splice(
        az: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: adlfs sends no If-Match, so the entries were read from two versions (red team rt81
    F1). Each ranged GET carries If-Match with the ETag listed: Azurite answers 412, refused in one line, exit 2."""
    _blocks(monkeypatch)
    v1, v2 = _spliced()
    key = f"{az.container}/flip/audit.log"
    az.direct.pipe_file(key, v1)
    hop = Hop(az.endpoint)
    hop.before_later_block = lambda: az.direct.pipe_file(key, v2)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", _connection_string(hop.url))
    try:
        rc, text = _verify(tmp_path, capsys, f"az://{az.container}/flip/")
    finally:
        hop.stop()
    line = _refusal(text)
    assert rc == 2 and f"cannot read az://{az.container}/flip/audit.log" in line, text
    assert "the object was replaced after it was listed (its ETag changed)" in line, line


def test_an_azure_blob_read_in_blocks_is_judged_under_the_url_given(
        az: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The correct setup, read in the same ranged GETs: no finding; every line names az:// as given, not adlfs's
    abfs:// (F6), and the evidence names the blob by the ETag its reads were pinned to and its SHA-256 (F4)."""
    _blocks(monkeypatch)
    body = CLEAN.read_bytes()
    az.direct.pipe_file(f"{az.container}/vault/audit.log", body)
    rc, text = _verify(tmp_path, capsys, f"az://{az.container}/vault/", "--evidence", str(tmp_path / "ev"))
    assert rc == 0 and "FAIL" not in text and "abfs://" not in text, text
    assert f"PASS no_secret_leak az://{az.container}/vault/audit.log" in text, text
    [entry] = json.loads((tmp_path / "ev" / "evidence.json").read_text())["inputs"]["logs"]
    assert entry["path"] == f"az://{az.container}/vault/audit.log" and entry["pinned_to"] == "etag", entry
    assert entry["store"]["etag"] == az.direct.info(f"{az.container}/vault/audit.log")["etag"], entry
    assert entry["sha256"] == hashlib.sha256(body).hexdigest(), entry


def test_an_object_whose_listing_names_no_version_is_refused_not_read_unpinned(
        gcs: Any, tmp_path: Path) -> None:
    """Fail closed: an object whose listing told no generation (a store that offers no way to pin) could be read as
    a join of two versions, so it is refused, never judged."""
    from pytest_auditready.engine import objects
    from pytest_auditready.errors import AuditReadyError

    gcs.direct.pipe_file(f"{gcs.bucket}/v/audit.log", CLEAN.read_bytes())
    [url] = objects.expand_url(f"gs://{gcs.bucket}/v/")
    objects._TOLD[url].pop("generation")
    with pytest.raises(AuditReadyError) as refused:
        objects.open_url(url)
    assert "the store told no generation for it: its reads could not be pinned" in str(refused.value)


# -- F2: a store that never answers ----------------------------------------------------------------------------
def test_a_gcs_endpoint_that_never_answers_is_refused_in_one_line(
        gcs: Any, black_hole: str, quick: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: gcsfs has no deadline by default and retries 6 times, so the run hung with no output
    (red team rt81 F2). Each request ends at its deadline (cut to 1.5 s here): one line naming the store's
    endpoint setting, exit 2."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", black_hole)
    url = f"gs://{gcs.bucket}/vault/"
    rc, text = _ended(lambda: _verify(tmp_path, capsys, url))
    line = _refusal(text)
    assert rc == 2 and line.startswith(f"auditready: cannot list {url}: the store did not answer in time"), text
    assert "STORAGE_EMULATOR_HOST" in line and "AWS_ENDPOINT_URL" not in line, line


def test_an_azure_endpoint_that_never_answers_is_refused_in_one_line(
        black_hole: str, quick: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: azure-core waits 60 s between bytes and the storage client retries 3 times, so the
    run hung (red team rt81 F2). Its transport's timeouts, one try while listing and a deadline on each try: one
    line naming the connection string's endpoint, exit 2. (No Azurite needed: nothing answers.)"""
    pytest.importorskip("adlfs", reason="adlfs is in the test extra")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", _connection_string(black_hole))
    url = "az://auditaz/vault/"
    rc, text = _ended(lambda: _verify(tmp_path, capsys, url))
    line = _refusal(text)
    assert rc == 2 and line.startswith(f"auditready: cannot list {url}: the store did not answer in time"), text
    assert "AZURE_STORAGE_CONNECTION_STRING" in line and "AWS_" not in line, line


def test_a_gcs_read_that_stalls_after_the_listing_is_refused_in_one_line(
        gcs: Any, quick: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The listing answers and the object's GET never does: the read ends at its deadline, over its two tries (cut
    to seconds here), in one line naming the object, exit 2."""
    gcs.direct.pipe_file(f"{gcs.bucket}/vault/audit.log", CLEAN.read_bytes())
    hop = Hop(gcs.endpoint)
    hop.stall = True
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", hop.url)
    try:
        rc, text = _ended(lambda: _verify(tmp_path, capsys, f"gs://{gcs.bucket}/vault/"))
    finally:
        hop.stop()
    line = _refusal(text)
    assert rc == 2 and f"cannot read gs://{gcs.bucket}/vault/audit.log" in line, text
    assert "the store did not answer in time" in line, line


# -- F3: an archived object ------------------------------------------------------------------------------------
def test_an_archived_s3_object_is_named_archived_and_read_once_restored(
        s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """Fails without the fix: S3's InvalidObjectState (an object a lifecycle rule moved to Glacier) was refused as
    "access denied; check the credentials" (red team rt81 F3). It is named archived, with the restore to run; once
    restored (its listing still says GLACIER) it is read and judged as any other, not refused by its class."""
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log-20261202", Body=CLEAN.read_bytes(), StorageClass="GLACIER")
    rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    line = _refusal(text)
    assert rc == 2 and "access denied" not in line and "the object is archived" in line, line
    assert f"aws s3api restore-object --bucket {s3.bucket} --key vault/audit.log-20261202" in line, line
    s3.restore_object(Bucket=s3.bucket, Key="vault/audit.log-20261202", RestoreRequest={"Days": 1})
    rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == 0 and "cannot read" not in text and "FAIL" not in text, text


def test_an_archived_azure_blob_is_named_archived_with_the_rehydration_to_run(
        az: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Azure's BlobArchived (409) for a blob in the Archive tier: named as such, with the rehydration to run."""
    from azure.storage.blob import BlobServiceClient  # type: ignore[import-untyped,import-not-found,unused-ignore]

    az.direct.pipe_file(f"{az.container}/vault/audit.log", CLEAN.read_bytes())
    blob = BlobServiceClient.from_connection_string(_connection_string(az.endpoint)).get_blob_client(
        az.container, "vault/audit.log")
    blob.set_standard_blob_tier("Archive")
    rc, text = _verify(tmp_path, capsys, f"az://{az.container}/vault/")
    line = _refusal(text)
    assert rc == 2 and "the blob is in the Archive access tier" in line and "az storage blob set-tier" in line, line


# -- F4: what the evidence names -------------------------------------------------------------------------------
def test_the_evidence_names_each_s3_object_by_its_etag_and_the_bytes_judged(
        s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: every object got "sha256": null and nothing its store told (red team rt81 F4). Each
    one is named by its store's ETag, size and time as listed, and by the SHA-256 of the bytes read whole: a small
    object fetched in one GET, a larger one read block by block."""
    _blocks(monkeypatch)
    lines = CLEAN.read_bytes().splitlines(keepends=True)
    bodies = {"vault/audit.log-20261201": b"".join(lines[:60]), "vault/audit.log": b"".join(lines[60:])}
    small = b"".join(lines[:1])  # under SMALL: one GET
    bodies["vault/audit.log-20261130"] = small
    for key, body in bodies.items():
        s3.put_object(Bucket=s3.bucket, Key=key, Body=body)
    rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/", "--evidence", str(tmp_path / "ev"))
    assert rc in (0, 1) and "cannot read" not in text, text  # (a set cut in three judged as such: not the point)
    logs = {e["path"]: e for e in json.loads((tmp_path / "ev" / "evidence.json").read_text())["inputs"]["logs"]}
    for key, body in bodies.items():
        entry = logs[f"s3://{s3.bucket}/{key}"]
        head = s3.head_object(Bucket=s3.bucket, Key=key)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["pinned_to"] == "etag", entry
        assert entry["store"]["etag"] == head["ETag"] and entry["store"]["size"] == len(body), entry
        assert entry["store"]["last_modified"].startswith(head["LastModified"].strftime("%Y-%m-%dT%H:%M")), entry


# -- F6: each store's own words --------------------------------------------------------------------------------
def test_a_missing_gcs_bucket_gets_the_fix_of_gcs_not_of_s3(
        gcs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: a Google error gave S3's fix (AWS_PROFILE, AWS_ENDPOINT_URL; red team rt81 F6)."""
    rc, text = _verify(tmp_path, capsys, "gs://no-such-bucket-rt81/x/")
    line = _refusal(text)
    assert rc == 2 and "no such bucket" in line and "GOOGLE_APPLICATION_CREDENTIALS" in line, line
    assert "AWS_" not in line, line


def test_a_missing_azure_container_is_said_so(az: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the fix: a container that is not there was "no log object under ...; name the prefix" (red
    team rt81 F6); an empty prefix of a container that is there still says that."""
    rc, text = _verify(tmp_path, capsys, "az://no-such-container-rt81/x/")
    line = _refusal(text)
    assert rc == 2 and "no such container (no-such-container-rt81)" in line, line
    assert "AZURE_STORAGE_CONNECTION_STRING" in line and "AWS_" not in line, line
    rc, text = _verify(tmp_path, capsys, f"az://{az.container}/empty/")
    assert rc == 2 and f"no log object under az://{az.container}/empty/" in text, text
