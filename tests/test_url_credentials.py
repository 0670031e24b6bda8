"""An object-store URL that carries a credential (``s3://KEY:SECRET@bucket/...``, an Azure SAS or a presigned URL)
is refused in one line before anything reads or shows it: the URL would otherwise reach the terminal, every report
and the CI log. The same objects named without the credential are read (against a loopback moto S3 server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from pytest_auditready.engine.objects import credentials_in
from tests.test_object_store import s3  # noqa: F401  (the loopback S3 server)

moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"
SIG = "sp%3Dr%26sig%3DQmFzZTY0U2lnbmF0dXJlVmFsdWU%3D"


@pytest.fixture
def bucket(s3: Any) -> str:  # noqa: F811  (the loopback S3 server's bucket, credentials in the environment)
    s3.put_object(Bucket=s3.bucket, Key="vault/audit@node-1.log", Body=CLEAN.read_bytes())
    return str(s3.bucket)


@pytest.mark.parametrize("url", [
    f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@creds/vault/",
    f"s3://{SECRET}@creds/vault/",
    f"s3://creds/vault/audit.log?X-Amz-Credential=AKIA&X-Amz-Signature={SECRET}",
    f"az://logs/vault/audit.log?sv=2022-11-02&sig={SECRET}",
    f"abfs://logs@acct.dfs.core.windows.net/audit.log?sig={SECRET}",
    f"abfss://user:{SECRET}@acct.dfs.core.windows.net/audit.log",
    f"gs://logs/audit.log?X-Goog-Signature={SECRET}",
])
def test_a_url_with_a_credential_is_refused_without_showing_it(
        url: str, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["verify", url, "--json", str(tmp_path / "r.json")], ["access", "secret/*", url]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert SECRET not in out + err and "sig=" not in out + err
        assert err.count("\n") == 1 and "carries" in err and "environment" in err, err
    assert not (tmp_path / "r.json").exists()


def test_pytest_offline_refuses_it_too(bucket: str, tmp_path: Path) -> None:
    url = f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@creds/vault/"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--auditready-offline", url,
                           "--junitxml", str(tmp_path / "j.xml")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert SECRET not in proc.stdout + proc.stderr
    assert "carries a user name and password" in proc.stdout + proc.stderr
    assert not (tmp_path / "j.xml").exists() or SECRET not in (tmp_path / "j.xml").read_text()


def test_the_same_objects_named_without_credentials_are_read(bucket: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    # an '@' in an object's key is no credential: only one before the bucket is
    assert main(["verify", f"s3://{bucket}/vault/", "--config", str(cfg)]) in (0, 1)
    out = capsys.readouterr().out
    assert "audit@node-1.log" in out and "carries" not in out


@pytest.mark.parametrize("url, why", [
    ("s3://bucket/prefix/", ""),
    ("s3://bucket/a@b/c.log", ""),
    ("s3://bucket/a.log?versionId=3HL4kqtJlcpXroDTDmJ", ""),
    ("abfs://container@account.dfs.core.windows.net/logs/", ""),
    ("az://container/logs/?prefix=x", ""),
    ("s3://k:s@bucket/", "user:password@"),
    ("gs://me@bucket/", "user:password@"),
    ("az://c/x?SIG=abc", "signature"),
    ("s3://b/x?x-amz-security-token=abc", "signature"),
])
def test_what_counts_as_a_credential_in_a_url(url: str, why: str) -> None:
    got = credentials_in(url)
    assert (why in got) if why else got == "", got


def test_no_network_is_needed_to_refuse(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before any client is made: with an endpoint nothing listens on, the answer is still the refusal."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert main(["verify", f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@creds/"]) == 2
    err = capsys.readouterr().err
    assert "carries a user name and password" in err and SECRET not in err



def test_an_object_replaced_after_it_was_listed_is_named_as_such() -> None:
    """s3fs raises FileExpired when an object's ETag changed between the listing and the read (a shipper still
    uploading, a lifecycle rule): refused, but the line said to check the URL and the credentials (red team rt34,
    F7)."""
    from s3fs.utils import FileExpired

    from pytest_auditready.engine import objects

    exc = FileExpired("logs/many/audit-29.log", '"5acb"')
    assert "replaced after it was listed" in objects._why(exc)
    assert "a copy no one writes to" in objects._fix(exc, "check the URL and the credentials in the environment")
    other = FileNotFoundError("nope")
    assert objects._fix(other, "check the URL") == "check the URL"
