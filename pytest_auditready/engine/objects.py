"""Logs in object storage (``s3://bucket/prefix/``, ``gs://...``, ``az://...``), read through fsspec.

The one adapter to fsspec (extra ``[objectstore]``: fsspec and s3fs; gcsfs or adlfs for gs:// and az://). A URL
names one object, a prefix (every object below it, sorted; CloudTrail's bucket layout
``AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/`` is walked like any prefix, its ``CloudTrail-Digest`` objects
left out as they are no logs) or a glob. Objects are streamed in blocks (gzip, bzip2 and xz told by their magic
bytes, as for a local file), never downloaded whole. Credentials and endpoints come only from the usual environment
of each store (for S3: the AWS variables, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL`` for an S3-compatible
server), never from an option. Every request has a deadline. Nothing here imports pytest.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from typing import IO, Any, Optional

from ..errors import AuditReadyError

SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://")
READ_BLOCK = 8 << 20  # bytes per ranged GET: few round trips, flat memory
S3_READ_TIMEOUT = 15  # seconds botocore waits for a byte of an answer (each of s3fs's tries)
# A whole request's deadline (red team rt73, F2): S3_READ_TIMEOUT is a wait between bytes, which an endpoint, proxy
# or link that trickles its answer a byte at a time resets forever. Each S3 request must end, its body read, within
# DEADLINE_FLOOR s plus its size at MIN_RATE: a ranged GET of a block and the block fsspec reads ahead (16 MiB)
# gets 47 s; a request without a Range (a listing page, a HEAD, a small object) 17 s, as if it carried NOMINAL_BYTES.
MIN_RATE = 512 << 10  # bytes a second (about 4 Mbit/s): a store that sends slower is refused, not waited on
DEADLINE_FLOOR = 15.0  # seconds each request gets on top of its size at MIN_RATE
NOMINAL_BYTES = 1 << 20  # what a request without a Range may carry: a listing page of 1000 keys is under 0.5 MB
_NOT_LOGS = (".digests", ".pub", ".key", ".sig")
_INSTALL = "pip install 'pytest-auditready[objectstore]' (fsspec and s3fs; gcsfs for gs://, adlfs for az://)"


def is_url(path: str) -> bool:
    """Whether ``path`` names object storage rather than a local file."""
    return path.lower().startswith(SCHEMES)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it was raised from or while handling, outermost first (at most five)."""
    out = [exc]
    while len(out) < 5:
        nxt = out[-1].__cause__ or out[-1].__context__
        if nxt is None or nxt in out:
            break
        out.append(nxt)
    return out


def _timed_out(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__ or "timed out" in str(exc).lower()


def request_deadline(size: int) -> float:
    """Seconds a request that carries ``size`` bytes may take in all, its body read."""
    return DEADLINE_FLOOR + size / MIN_RATE


def _request_size(headers: Any) -> int:
    """The bytes a request asks for: its Range's (``bytes=A-B``), else NOMINAL_BYTES."""
    import re

    m = re.fullmatch(r"bytes=(\d+)-(\d+)", str(headers.get("Range") or headers.get("range") or ""))
    return int(m.group(2)) - int(m.group(1)) + 1 if m else NOMINAL_BYTES


_SESSION_CLS: list[Any] = []


def _deadline_session() -> Any:
    """aiobotocore's aiohttp session with each request's whole deadline set (aiohttp's ``total``, which runs until
    the answer's body is read), from the request's Range; the session's own (for an aiobotocore that asks no
    request's) is that of the largest request a read makes (two blocks: fsspec reads ahead a block)."""
    if _SESSION_CLS:
        return _SESSION_CLS[0]
    import aiohttp
    from aiobotocore.httpsession import AIOHTTPSession  # type: ignore[import-untyped,import-not-found,unused-ignore]

    class DeadlineSession(AIOHTTPSession):  # type: ignore[misc,unused-ignore]  # aiobotocore has no type information
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._timeout = self._whole(2 * READ_BLOCK)

        def _whole(self, size: int, base: Any = None) -> Any:
            base = base or self._timeout
            return aiohttp.ClientTimeout(total=request_deadline(size), sock_connect=base.sock_connect,
                                         sock_read=base.sock_read)

        def _get_request_timeout(self, request: Any) -> Any:  # a newer aiobotocore asks it of each request
            asked = getattr(super(), "_get_request_timeout", None)  # a read_timeout of the request's own
            return self._whole(_request_size(request.headers), (asked(request) if asked else None) or self._timeout)

    _SESSION_CLS.append(DeadlineSession)
    return DeadlineSession


def _why(exc: BaseException) -> str:
    """A one-line reason for a store's error, without anything it echoes of the request's credentials. A client's
    own slip while it handled the store's error (s3fs reads ``args[1]`` of a read timeout that has one argument:
    IndexError) is not the reason: the error it was handling is."""
    chain = _chain(exc)
    late = next((e for e in chain if _timed_out(e)), None)
    if late is not None:
        exc = late
    elif isinstance(exc, (IndexError, KeyError, TypeError, AttributeError)) and len(chain) > 1:
        exc = chain[1]
    name = type(exc).__name__
    text = str(exc).split("\n")[0][:200]
    if "encoded in url" in text.lower():  # aiohttp: an endpoint (AWS_ENDPOINT_URL) with user:password@ in it
        return "the store's endpoint URL carries a user name and password (user:password@), which the client refuses"
    if name == "FileExpired":  # s3fs: the ETag it listed is no longer the object's
        return "the object was replaced after it was listed (its ETag changed): something still writes to the prefix"
    if "Credentials" in name or "credentials" in text.lower():
        return "no credentials found in the environment"
    if isinstance(exc, FileNotFoundError):
        return "no such bucket or object"
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return "access denied"
    if "Timeout" in name or "timed out" in text.lower():
        return (f"the store did not answer in time ({name}): it sent nothing for {S3_READ_TIMEOUT} s, or its answer "
                f"came slower than {MIN_RATE >> 10} KiB/s (a stalled or trickling endpoint, proxy or network)")
    return f"{name}: {text}" if text else name


def _fix(exc: BaseException, otherwise: str) -> str:
    """The fix for a store's error: a stalled store is no matter of URL or credentials."""
    if any(_timed_out(e) for e in _chain(exc)):
        return "check the store's endpoint (AWS_ENDPOINT_URL), any proxy before it and the network, then run again"
    if any(type(e).__name__ == "FileExpired" for e in _chain(exc)):
        return ("find what writes to the prefix (a shipper uploading the log again as it grows) and verify once it "
                "is done, or verify a copy no one writes to: an object rewritten while it is read cannot be judged "
                "whole")
    return otherwise


class StoreError(OSError):
    """A store's error on a read, as the reader's one line says it: the reason (``_why``) and, where the store's
    error tells it, the fix (``_fix``: a stalled store, an object rewritten under the read), else "" for the
    reader's own."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(_why(exc))
        self.fix = _fix(exc, "")


_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def _env_key() -> tuple[tuple[str, str], ...]:
    """The environment a store's client reads its credentials and endpoint from: a filesystem made under one is
    reused (one session, one connection pool for every object of a run) only while it is unchanged."""
    import os

    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith(("AWS_", "GOOGLE_", "GCLOUD_", "AZURE_", "FSSPEC_"))))


# Query keys that carry a credential in a signed or shared URL: an Azure SAS (sig, and the sv/se/sp that sign it),
# an S3 or GCS presigned URL (X-Amz-*, X-Goog-*), a bearer token.
_URL_SECRETS = frozenset({"sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
                          "x-goog-signature", "x-goog-credential", "token", "access_token", "sas", "code", "key"})


def credentials_in(url: str) -> str:
    """What in ``url`` is a credential ("" when nothing): a ``user:password@`` (or, but for Azure's
    ``container@account`` form, any ``user@``) before the bucket, or a signature or token in its query."""
    from urllib.parse import parse_qsl

    rest = url.split("://", 1)[1] if "://" in url else url
    netloc, _, tail = rest.partition("/")
    if "@" in netloc:
        user = netloc.rsplit("@", 1)[0]
        if ":" in user or not url.lower().startswith(("abfs://", "abfss://", "az://")):
            return "a user name and password before the bucket (user:password@)"
    query = tail.partition("?")[2] if "?" in tail else netloc.partition("?")[2]
    keys = {k.lower() for k, _ in parse_qsl(query, keep_blank_values=True)}
    if keys & _URL_SECRETS:
        return "a signature or token in its query (a presigned or SAS URL)"
    return ""


# The URLs a listing gave whose object keys hold a "?" (S3 keys may hold any character): a key's text, not a query
# that could carry a signature, so not refused as a presigned URL (the URL the user gave is judged as given).
_LISTED: set[str] = set()


def _refuse_credentials(url: str) -> None:
    """A URL that carries a credential is refused before anything reads or shows it: it would reach every report,
    the terminal and the CI log (credentials come from the environment only)."""
    why = credentials_in(url) if url not in _LISTED else ""
    if why:
        scheme = url.split("://", 1)[0] if "://" in url else "the"
        raise AuditReadyError(f"an {scheme}:// URL carries {why}, which every report and log line would show",
                              "name the object without credentials and give them in the environment (for S3: "
                              "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; for Azure: "
                              "AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_ACCOUNT_KEY; for GCS: "
                              "GOOGLE_APPLICATION_CREDENTIALS)")


def _fs(url: str) -> tuple[Any, str]:
    """The filesystem for ``url`` and the path inside it (a URL carrying a credential is refused first)."""
    _refuse_credentials(url)
    key = (url.split("://", 1)[0].lower(), _env_key())
    fs = _CACHE.get(key)
    if fs is None:
        fs, path = _fs_new(url)
        for stale in [k for k in _CACHE if k[1] != key[1]]:
            del _CACHE[stale]  # the environment changed: drop clients made under the old one
        _CACHE[key] = fs
        return fs, path
    return fs, str(fs._strip_protocol(url))


def _fs_new(url: str) -> tuple[Any, str]:
    try:
        import fsspec  # type: ignore[import-untyped,import-not-found,unused-ignore]  # no type information
    except ImportError:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs fsspec", _INSTALL) from None
    kwargs: dict[str, Any] = {"skip_instance_cache": True}  # no listing cached from an earlier call
    if url.lower().startswith(("s3://", "s3a://")):
        # botocore's own deadlines (its defaults wait 60 s and retry 4 times), and each request's whole deadline
        # (DeadlineSession); the endpoint and credentials stay the environment's (AWS_ENDPOINT_URL, AWS_* variables,
        # profiles, roles)
        kwargs["config_kwargs"] = {"connect_timeout": 10, "read_timeout": S3_READ_TIMEOUT,
                                   # one attempt: s3fs's tries (below) retry it ("max_attempts" counts retries)
                                   "retries": {"total_max_attempts": 1, "mode": "standard"},
                                   "http_session_cls": _s3_session(url)}
    try:
        fs, path = fsspec.core.url_to_fs(url, **kwargs)
        if url.lower().startswith(("s3://", "s3a://")):
            # s3fs tries each call 5 times with back-off, on top of botocore's attempts: an endpoint that accepts
            # and never answers held the run for 8 minutes. Two tries of each read call (a timeout, a connection
            # lost, a throttle; a read tries its GET twice within each try: at most 4 attempts), one of each
            # listing call (expand_url): a store that never answers is refused in about 30 s (its HEAD and its
            # LIST, S3_READ_TIMEOUT each); one that trickles, after each request's deadline.
            fs.retries = 2
    except ImportError as exc:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs a filesystem fsspec cannot import "
                              f"({exc.name or exc})", _INSTALL) from None
    except (ValueError, OSError) as exc:
        raise AuditReadyError(f"cannot use {url}: {_why(exc)}", "check the URL and the store's environment "
                              "(credentials, AWS_ENDPOINT_URL)") from None
    return fs, str(path)


def _s3_session(url: str) -> Any:
    """The session class that gives each S3 request its whole deadline; an aiobotocore too old to take one (before
    2.12.2) is refused: its requests could hang on a trickling endpoint."""
    import inspect

    try:
        from aiobotocore.config import AioConfig  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs s3fs and its aiobotocore",
                              _INSTALL) from None
    if "http_session_cls" not in inspect.signature(AioConfig.__init__).parameters:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs an aiobotocore that sets a deadline on "
                              "each request (2.12.2 or later): this one lets an endpoint that trickles its answer "
                              "hold the run forever", "pip install -U s3fs aiobotocore")
    return _deadline_session()


def _url(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


def expand_url(url: str) -> list[str]:
    """The log objects ``url`` names (an object, a prefix, or a glob), as URLs, sorted. Naming nothing is an
    AuditReadyError, as is a prefix or glob with no log object: an empty set of evidence is never a pass."""
    fs, path = _fs(url)
    _KEPT.clear()  # a run reads the objects as they are now, not as an earlier run of this process kept them
    # Listing takes a few calls in a row: one try each (s3fs's second try doubled a silent store's wait, past a
    # minute); a store that fails to list is refused at once, and running again is cheap. Reads keep their tries.
    tries = getattr(fs, "retries", None)
    if tries is not None:
        fs.retries = 1
    try:
        fs.invalidate_cache()  # list what is there now, not what an earlier listing saw
        if not url.endswith("/") and fs.isfile(path):
            return [url]  # an object named as it is, also when its key holds a glob's characters (audit[1].log)
        if any(c in path for c in "*?["):
            found = [p for p in fs.glob(path) if fs.isfile(p)]
        else:
            found = list(fs.find(path))
    except Exception as exc:  # the store's client raises its own types (botocore, aiohttp, azure)
        raise AuditReadyError(f"cannot list {url}: {_why(exc)}", _fix(exc, "check the URL and the credentials in the "
                              "environment (for S3: AWS_PROFILE or AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL)")) from None
    finally:
        if tries is not None:
            fs.retries = tries
    logs = sorted(p for p in found if not not_a_log(p))
    if not logs:
        raise AuditReadyError(f"no log object under {url}", "name the prefix that holds the audit logs")
    urls = [_url(fs, p) for p in logs]
    _LISTED.update(u for u in urls if "?" in u)  # a key may hold "?key=": its name, no query (red team rt32, F12)
    return urls


def exists(url: str) -> bool:
    """Whether the object ``url`` is there now (False too when it cannot be asked: no credentials, access denied)."""
    try:
        fs, path = _fs(url)
        return bool(fs.isfile(path))
    except Exception:  # the store's client raises its own types; "cannot tell" is "not shown there"
        return False


def not_a_log(path: str) -> bool:
    """Whether a file found in a folder or under a prefix is no log to read: a hidden file, the sealer's chains
    (rotated ones too) and keys, CloudTrail's digest files (evidence for tamper_evidence, not logs; an
    ``aws s3 sync`` of AWSLogs/ holds them beside the logs). A path named on its own is always read."""
    from ..auditlog.rotation import chain_name

    if os.sep == "\\":  # a separator on Windows only: elsewhere (and in an object key) an ordinary byte of a name
        path = path.replace("\\", "/")
    name = path.rsplit("/", 1)[-1]
    return (not name or name.startswith(".") or name.endswith(_NOT_LOGS) or chain_name(name)
            or "/CloudTrail-Digest/" in f"/{path}" or "_CloudTrail-Digest_" in name)


SMALL = 256 << 10  # an object this small is fetched whole, once, and kept for the next reads of the run


class _Kept:
    """Small objects kept for a run's later reads of them, at most ``cap`` bytes in all (the least recently read
    go first); their total is kept beside them, not summed again at each object."""

    def __init__(self, cap: int) -> None:
        self.cap, self.size = cap, 0
        self.items: "OrderedDict[str, bytes]" = OrderedDict()

    def get(self, url: str) -> Optional[bytes]:
        data = self.items.get(url)
        if data is not None:
            self.items.move_to_end(url)
        return data

    def put(self, url: str, data: bytes) -> None:
        self.size += len(data) - len(self.items.pop(url, b""))
        self.items[url] = data
        while self.size > self.cap:
            self.size -= len(self.items.popitem(last=False)[1])

    def clear(self) -> None:
        self.items.clear()
        self.size = 0


_KEPT = _Kept(4 << 20)


def open_url(url: str) -> IO[bytes]:
    """An object as a binary stream (gzip told by its magic bytes), read in ranged blocks. Missing or refused:
    an AuditReadyError naming the URL. A small object (CloudTrail's, a shipper's chunk) is fetched in one request
    and kept: a run reads each object several times (the format told, the entries read, the set's numbers
    checked), and a request a read over thousands of objects would be most of the run."""
    from ..auditlog.rotation import compression_in
    from ..offline.reader import inflating  # (bounded: a compression bomb is refused as for a local file)

    kept = _KEPT.get(url)
    if kept is not None:
        return inflating(io.BytesIO(kept), compression_in(kept[:6]), url)
    fs, path = _fs(url)
    try:
        size = fs.info(path).get("size")  # from the listing the prefix was walked with, where there is one
        if isinstance(size, int) and size <= SMALL:
            data = bytes(fs.cat_file(path))
            if len(data) <= SMALL:  # kept as read, the same bytes for every read of the run
                _KEPT.put(url, data)
            return inflating(io.BytesIO(data), compression_in(data[:6]), url)
        f: IO[bytes] = fs.open(path, "rb", block_size=READ_BLOCK)
        magic = f.read(6)
        f.seek(0)
    except Exception as exc:  # the store's client raises its own types
        raise AuditReadyError(f"cannot read {url}: {_why(exc)}",
                              _fix(exc, "check the URL and the credentials in the environment")) from None
    return inflating(_Guarded(f), compression_in(magic), url)  # type: ignore[arg-type]  # as a local file


class _Guarded:
    """An object's stream whose reads fail as a local file's do: OSError (a StoreError), whatever the store's client
    raised (a read that stalls mid-body ends in s3fs as IndexError, or as botocore's own timeout), worded by
    ``_why`` with its fix, so that the reader refuses it in one line naming the URL, the bytes read before, the
    reason and the fix (``offline.reader.read_error``)."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)  # type: ignore[no-any-return]
        except Exception as exc:  # the store's client raises its own types (some of them OSErrors)
            raise StoreError(exc) from None

    def seek(self, pos: int, whence: int = 0) -> int:
        try:
            return self._f.seek(pos, whence)  # type: ignore[no-any-return]
        except Exception as exc:
            raise StoreError(exc) from None

    def __getattr__(self, name: str) -> Any:  # tell, close, seekable, readable, closed, ...
        return getattr(self._f, name)

    def __enter__(self) -> "_Guarded":
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


def _copy_capped(fs: Any, path: str, dest: Any, cap: int) -> None:
    """Copy the object ``path`` to the local file ``dest``, at most ``cap`` + 1 bytes (a larger object is cut, and
    then refused by whoever reads the copy with the same cap), in READ_BLOCK reads."""
    import os

    os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
    left = cap + 1
    with fs.open(path, "rb", block_size=READ_BLOCK) as src, open(dest, "xb") as out:
        while left > 0:
            chunk = src.read(min(READ_BLOCK, left))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)


# Digest objects fetched once per process for a region's day and the next, by (bucket, prefix, region, day): the
# dozens of log objects of a day are listed by the same digests. Each use lists them again; a digest added,
# removed or rewritten (size, ETag, LastModified) is fetched again. Kept in a private folder removed at exit.
_DIGEST_COPIES: dict[tuple[str, ...], tuple[str, tuple[Any, ...]]] = {}
_DIGEST_COPIES_MAX = 64
_DIGEST_ROOT: list[str] = []


def _digest_root() -> str:
    import atexit
    import shutil
    import tempfile

    if not _DIGEST_ROOT:
        d = tempfile.mkdtemp(prefix="auditready-trail-digests-")  # 0700
        atexit.register(shutil.rmtree, d, True)
        _DIGEST_ROOT.append(d)
    return _DIGEST_ROOT[0]


def _fetch_digests(fs: Any, found: dict[str, Any], cache_key: tuple[str, ...], cap: int) -> str:
    """The local folder holding the digest objects ``found`` (path -> info) with their keys as paths, each with
    the signature of its S3 metadata as ``.sig``: the copy made for the same objects before, else a new one."""
    import os
    import shutil
    import tempfile

    state = tuple(sorted((p, i.get("size"), str(i.get("ETag", "")), str(i.get("LastModified", "")))
                         for p, i in found.items()))
    cached = _DIGEST_COPIES.get(cache_key)
    if cached is not None and cached[1] == state:
        return cached[0]
    root = tempfile.mkdtemp(dir=_digest_root())
    try:
        for p in sorted(found):
            local = os.path.join(root, p.split("/", 1)[1])
            _copy_capped(fs, p, local, cap)
            sig = (fs.metadata(p) or {}).get("signature")
            if isinstance(sig, str) and len(sig) <= 64 << 10:
                with open(local + ".sig", "x", encoding="ascii", errors="replace") as f:
                    f.write(sig + "\n")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    if cached is not None:
        shutil.rmtree(cached[0], ignore_errors=True)
    elif len(_DIGEST_COPIES) >= _DIGEST_COPIES_MAX:
        oldest = next(iter(_DIGEST_COPIES))
        shutil.rmtree(_DIGEST_COPIES.pop(oldest)[0], ignore_errors=True)
    _DIGEST_COPIES[cache_key] = (root, state)
    return root


def cloudtrail_objects(url: str, dest: Any, log_cap: int, digest_cap: int) -> Optional[
    tuple[Any, Any, str, set[str]]
]:
    """For a CloudTrail log object ``s3://BUCKET/.../AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE``: fetch it
    into the folder ``dest`` with its key as path (at most ``log_cap`` bytes), and the digest objects of its day and
    the next (``.../CloudTrail-Digest/REGION/YYYY/MM/DD/``, each at most ``digest_cap`` bytes, with its S3 metadata
    signature as ``.sig``) into a private folder (``_fetch_digests``). Returns (local log, local digest folder of
    the region, bucket, the keys of the log objects of the day before, the day and the next in the store), or None
    when the URL is not in that layout or no digest object is beside it."""
    import datetime
    import os
    import re
    from pathlib import Path

    m = re.match(r"s3a?://([^/]+)/((?:.*/)?AWSLogs/[^/]+)/CloudTrail/([^/]+)/(\d{4})/(\d{2})/(\d{2})/[^/]+\Z", url)
    if m is None:
        return None
    bucket, base, region = m.group(1), m.group(2), m.group(3)
    try:
        day = datetime.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return None
    fs, _ = _fs(url)

    def folder(kind: str, d: datetime.date) -> str:
        return f"{bucket}/{base}/{kind}/{region}/{d.year:04d}/{d.month:02d}/{d.day:02d}/"

    one = datetime.timedelta(days=1)
    try:
        fs.invalidate_cache()  # what is there now
        found = {p: i for d in (day, day + one) for p, i in fs.find(folder("CloudTrail-Digest", d), detail=True).items()
                 if p.endswith((".json.gz", ".json")) and "_CloudTrail-Digest_" in p.rsplit("/", 1)[-1]}
        if not found:
            return None
        logs = {p.split("/", 1)[1] for d in (day - one, day, day + one) for p in fs.find(folder("CloudTrail", d))}
        key = url.split("://", 1)[1].split("/", 1)[1]
        local_log = os.path.join(os.fspath(dest), key)
        _copy_capped(fs, f"{bucket}/{key}", local_log, log_cap)
        root = _fetch_digests(fs, found, (bucket, base, region, day.isoformat()), digest_cap)
    except AuditReadyError:
        raise
    except Exception as exc:  # the store's client raises its own types
        raise AuditReadyError(f"cannot read the CloudTrail digests beside {url}: {_why(exc)}",
                              "check the URL and the credentials in the environment (s3:GetObject and "
                              "s3:ListBucket on the CloudTrail-Digest/ prefix)") from None
    return Path(local_log), Path(root) / base / "CloudTrail-Digest" / region, bucket, logs
