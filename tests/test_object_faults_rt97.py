"""Red team rt97, F3 and F4: an S3 store that fails for a moment, and an object removed while it is read.

- F3: Amazon S3 answers ``503 SlowDown`` ("Please reduce your request rate.") and ``500 InternalError`` ("Please try
  again.") and documents both as errors to retry (S3 API Reference, Error responses). One such answer to a listing
  ended the run in one line with a fix to check the URL and the credentials, and s3fs's errno in the text
  ("[Errno 16]"); reads already retried it. A listing is now tried again (LIST_TRIES, with a pause) on such an answer
  only: a store that still answers so is refused in one line that says what it answered, with a fix to run again.
- F4: an object deleted between the listing and a later ranged read was "no such bucket or object"; it is "the
  object was removed after it was listed", as docs/offline.md says, with the fix to find what changes the prefix.

moto's S3 server on loopback (conftest), behind a loopback hop (tests/test_object_stores_rt81.Hop) that answers the
listing with the error before passing requests on, or deletes the object before the second block's GET.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.test_object_store import s3  # noqa: F401  (a bucket on the loopback S3 server)
from tests.test_object_stores_rt81 import CLEAN, Hop, _blocks, _HopHandler, _refusal, _verify

_ERRORS = {"SlowDown": (503, "Please reduce your request rate."),
           "InternalError": (500, "We encountered an internal error. Please try again.")}


class _Failing(_HopHandler):
    """Answers the hop's next ``listing_errors`` (error codes) to S3 listings (ListObjectsV2), one each, as S3 does."""

    def _forward(self) -> None:
        errors: list[str] = getattr(self.server, "listing_errors", [])
        if self.command == "GET" and "list-type=2" in self.path and errors:
            code = errors.pop(0)
            status, message = _ERRORS[code]
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                    "<RequestId>4442587FB7D0A2F9</RequestId></Error>").encode()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super()._forward()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


@contextlib.contextmanager
def _hop(s3: Any, monkeypatch: pytest.MonkeyPatch, errors: list[str]) -> Iterator[Hop]:  # noqa: F811
    """A hop before the loopback S3 server, the run's endpoint while the block lasts, answering ``errors`` first."""
    from pytest_auditready.engine import objects

    monkeypatch.setattr(objects, "_CACHE", {})  # (a client made for another endpoint is not reused)
    monkeypatch.setattr(objects, "LIST_PAUSE", 0.05, raising=False)  # (raising=False: without the fix, none)
    hop = Hop(s3.endpoint)
    hop.RequestHandlerClass = _Failing
    hop.listing_errors = list(errors)  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_ENDPOINT_URL", hop.url)
    try:
        yield hop
    finally:
        hop.stop()


@pytest.mark.parametrize("errors", [["SlowDown"], ["InternalError"], ["SlowDown", "InternalError"]],
                         ids=["503", "500", "twice"])
def test_a_listing_a_store_fails_for_a_moment_is_tried_again_and_judged(
        s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        errors: list[str]) -> None:
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=CLEAN.read_bytes())
    with _hop(s3, monkeypatch, errors) as hop:
        rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    assert rc == 0 and "cannot list" not in text, text
    assert hop.listing_errors == []  # type: ignore[attr-defined]  # (each error was answered)


def test_a_store_that_keeps_answering_slow_down_is_refused_in_one_line_saying_so(
        s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    s3.put_object(Bucket=s3.bucket, Key="vault/audit.log", Body=CLEAN.read_bytes())
    with _hop(s3, monkeypatch, ["SlowDown"] * 3):
        rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/vault/")
    line = _refusal(text)
    assert rc == 2 and f"cannot list s3://{s3.bucket}/vault/: the store answered 503 SlowDown (Please reduce" in line
    assert "Errno" not in line and "credentials in the environment" not in line and "run again" in line, line


def test_an_object_removed_while_it_is_read_is_said_removed_after_it_was_listed(
        s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    _blocks(monkeypatch)
    s3.put_object(Bucket=s3.bucket, Key="gone/audit.log", Body=CLEAN.read_bytes())
    with _hop(s3, monkeypatch, []) as hop:
        hop.before_later_block = lambda: s3.delete_object(Bucket=s3.bucket, Key="gone/audit.log")  # a lifecycle rule
        rc, text = _verify(tmp_path, capsys, f"s3://{s3.bucket}/gone/")
    line = _refusal(text)
    assert rc == 2 and f"cannot read s3://{s3.bucket}/gone/audit.log" in line, text
    assert "the object was removed after it was listed" in line and "no such bucket" not in line, line
    assert "find what writes to the prefix" in line, line
