"""Logs in object storage (``s3://bucket/prefix/``, ``gs://...``, ``az://...``), read through fsspec.

The one adapter to fsspec (extra ``[objectstore]``: fsspec and s3fs; gcsfs or adlfs for gs:// and az://). A URL
names one object, a prefix (every object below it, sorted; CloudTrail's bucket layout
``AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/`` is walked like any prefix, its ``CloudTrail-Digest`` objects
left out as they are no logs) or a glob. Objects are streamed in blocks (gzip, bzip2 and xz told by their magic
bytes, as for a local file), never downloaded whole. Credentials and endpoints come only from the usual environment
of each store (for S3: the AWS variables, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL`` for an S3-compatible
server), never from an option. Every request has a deadline. Every read of an object is pinned to the version its
listing told (S3: its ETag; GCS: its generation; Azure: its ETag), so an object replaced while it is read is
refused, never judged as a join of two versions; what the store told of each object (and the SHA-256 of one this
process read whole) is kept for the evidence (``told``). Nothing here imports pytest.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections import OrderedDict
from typing import IO, Any, NamedTuple, Optional, Sequence

from ..errors import AuditReadyError

SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://")
READ_BLOCK = 8 << 20  # bytes per ranged GET: few round trips, flat memory
S3_READ_TIMEOUT = 15  # seconds a store's client waits for a byte of an answer (each try; GCS and Azure too)
CONNECT_TIMEOUT = 10  # seconds a store's client waits for a connection (each try)
RETRY_PAUSE = 20.0  # seconds a client may wait before its one retry (Azure's first back-off is 15 s +- 3)
# A whole request's deadline (red team rt73, F2): S3_READ_TIMEOUT is a wait between bytes, which an endpoint, proxy
# or link that trickles its answer a byte at a time resets forever. Each S3 request must end, its body read, within
# DEADLINE_FLOOR s plus its size at MIN_RATE: a ranged GET of a block and the block fsspec reads ahead (16 MiB)
# gets 47 s; a request without a Range (a listing page, a HEAD, a small object) 17 s, as if it carried NOMINAL_BYTES.
MIN_RATE = 512 << 10  # bytes a second (about 4 Mbit/s): a store that sends slower is refused, not waited on
DEADLINE_FLOOR = 15.0  # seconds each request gets on top of its size at MIN_RATE
NOMINAL_BYTES = 1 << 20  # what a request without a Range may carry: a listing page of 1000 keys is under 0.5 MB
AZURE_PAGE_BYTES = 8 << 20  # what an Azure listing page may carry: 5000 blobs, about a kilobyte of XML each
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

    m = re.fullmatch(r"bytes=(\d+)-(\d+)", str(headers.get("Range") or headers.get("range")
                                                  or headers.get("x-ms-range") or ""))
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


def store_of(url: str) -> str:
    """"s3", "gs" or "az": the store a URL names."""
    scheme = url.split("://", 1)[0].lower()
    return "s3" if scheme in ("s3", "s3a") else "gs" if scheme in ("gs", "gcs") else "az"


# Where each store's client takes its credentials and endpoint from (the fix of a URL that cannot be listed or read).
_CREDENTIALS = {
    "s3": "for S3: AWS_PROFILE or AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL",
    "gs": "for GCS: GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login; STORAGE_EMULATOR_HOST "
          "for an emulator",
    "az": "for Azure: AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY "
          "or AZURE_STORAGE_SAS_TOKEN",
}
_ENDPOINT = {"s3": "AWS_ENDPOINT_URL", "gs": "STORAGE_EMULATOR_HOST, where set",
             "az": "the BlobEndpoint of AZURE_STORAGE_CONNECTION_STRING, where set"}


def check_fix(url: str) -> str:
    """The fix of a URL its store refused: the credentials and endpoint of that store's environment."""
    return f"check the URL and the credentials in the environment ({_CREDENTIALS[store_of(url)]})"


class ObjectChanged(OSError):
    """An object that is no longer the version its listing told (``what``: "ETag", "generation"): replaced by
    another, or removed (``gone``)."""

    def __init__(self, what: str, gone: bool = False) -> None:
        super().__init__(f"its {what} is no longer the one listed")
        self.what, self.gone = what, gone


class Unpinned(OSError):
    """An object whose listing told nothing its reads could be pinned to (no ETag, no generation)."""


def _gone(exc: BaseException) -> BaseException:
    """A read's error as what it means for an object the run listed: "not found" is the object removed since
    (ObjectChanged, ``gone``; red team rt97 F4: it said "no such bucket or object"); any other error as it is."""
    if any(isinstance(e, FileNotFoundError) or type(e).__name__ == "ResourceNotFoundError" for e in _chain(exc)):
        return ObjectChanged("object", gone=True)
    return exc


# S3's answers that AWS documents as ones to try again (Error Responses: 500 InternalError "Please try again",
# 503 SlowDown "Please reduce your request rate", ServiceUnavailable), by error code or HTTP status
_TRANSIENT_CODES = frozenset({"InternalError", "SlowDown", "ServiceUnavailable"})
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
LIST_TRIES = 3  # a listing tried at most this often where the store answers a transient error at once
LIST_PAUSE = 0.5  # seconds before the second try, doubled before each next one


def _transient(exc: BaseException) -> str:
    """The store's status and code ("503 SlowDown") where it answered ``exc`` with an error it asks to be tried
    again (S3: _TRANSIENT_CODES, _TRANSIENT_STATUS), else ""."""
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            code = str((response.get("Error") or {}).get("Code") or "")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if code in _TRANSIENT_CODES or status in _TRANSIENT_STATUS:
                return f"{status or ''} {code}".strip()
    return ""


def _archived(exc: BaseException) -> str:
    """"s3" or "az" when the store refused a read because the object is archived (S3's InvalidObjectState: Glacier
    Flexible Retrieval, Deep Archive, an Intelligent-Tiering archive tier; Azure's BlobArchived), else ""."""
    for e in _chain(exc):
        response = getattr(e, "response", None)  # botocore's error: a dict; Azure's: an HTTP response
        code = str((response.get("Error") or {}).get("Code", "") if isinstance(response, dict)
                   else getattr(e, "error_code", "") or "")
        text = str(e)
        if code == "InvalidObjectState" or "InvalidObjectState" in text or "for the object's storage class" in text:
            return "s3"
        if code == "BlobArchived" or "BlobArchived" in text or "archived blob" in text:
            return "az"
    return ""


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
    if isinstance(exc, ObjectChanged):
        if exc.gone:
            return "the object was removed after it was listed: something still changes the prefix"
        return (f"the object was replaced after it was listed (its {exc.what} changed): something still writes to "
                "the prefix")
    if isinstance(exc, Unpinned):
        return (f"{exc}: its reads could not be pinned to one version, and an object rewritten while it is read "
                "would be judged as a join of two")
    archived = _archived(exc)
    if archived == "s3":
        return ("the object is archived (storage class GLACIER or DEEP_ARCHIVE, or an Intelligent-Tiering archive "
                "tier): S3 serves it only once it is restored")
    if archived == "az":
        return "the blob is in the Archive access tier: Azure serves it only once it is rehydrated to an online tier"
    if "Credentials" in name or "credentials" in text.lower():
        return "no credentials found in the environment"
    if isinstance(exc, FileNotFoundError) or name == "ResourceNotFoundError":
        return "no such bucket or object"
    if (isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text
            or name == "ClientAuthenticationError"):
        return "access denied"
    if "Timeout" in name or "timed out" in text.lower():
        return (f"the store did not answer in time ({name}): it sent nothing for {S3_READ_TIMEOUT} s, or its answer "
                f"came slower than {MIN_RATE >> 10} KiB/s (a stalled or trickling endpoint, proxy or network)")
    busy = _transient(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        text = exc.strerror.split("\n")[0][:200]  # (s3fs's OSError: its errno is no reason of the store's)
    if busy:
        return f"the store answered {busy} ({text}): a throttle or an error on its side, which it asks to try again"
    return f"{name}: {text}" if text else name


def _fix(exc: BaseException, otherwise: str, url: str = "s3://") -> str:
    """The fix for a store's error: a stalled store is no matter of URL or credentials, an archived object must be
    restored, and an object replaced under the read has a writer to find."""
    store = store_of(url)
    if any(_timed_out(e) for e in _chain(exc)):
        return f"check the store's endpoint ({_ENDPOINT[store]}), any proxy before it and the network, then run again"
    if any(type(e).__name__ == "FileExpired" or isinstance(e, ObjectChanged) for e in _chain(exc)):
        return ("find what writes to the prefix (a shipper uploading the log again as it grows) and verify once it "
                "is done, or verify a copy no one writes to: an object rewritten while it is read cannot be judged "
                "whole")
    if any(isinstance(e, Unpinned) for e in _chain(exc)):
        return "verify a copy of the object (download it first), or read it from a store that tells its version"
    if _transient(exc):
        return ("run again in a while (the URL and the credentials were accepted); a store that throttles the prefix "
                "(503 SlowDown) is asked by other clients too: spread or slow them")
    archived = _archived(exc)
    where = url.split("://", 1)[1] if "://" in url else ""
    bucket, _, key = where.partition("/")
    if archived == "s3":
        return (f"restore it first (aws s3api restore-object --bucket {bucket or 'BUCKET'} --key {key or 'KEY'} "
                "--restore-request Days=7; for an Intelligent-Tiering archive tier, without Days) and run again "
                "once the restore is done (minutes to 48 hours), or verify a restored copy")
    if archived == "az":
        return (f"rehydrate it first (az storage blob set-tier --container-name {bucket or 'CONTAINER'} --name "
                f"{key or 'BLOB'} --tier Cool) and run again once it is rehydrated (up to 15 hours), or verify a "
                "copy in an online tier")
    return otherwise


class StoreError(OSError):
    """A store's error on a read, as the reader's one line says it: the reason (``_why``) and, where the store's
    error tells it, the fix (``_fix``: a stalled store, an object rewritten under the read, an archived object),
    else "" for the reader's own."""

    def __init__(self, exc: BaseException, url: str = "s3://") -> None:
        exc = _gone(exc)
        super().__init__(_why(exc))
        self.fix = _fix(exc, "", url)


_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def _env_key() -> tuple[tuple[str, str], ...]:
    """The environment a store's client reads its credentials and endpoint from: a filesystem made under one is
    reused (one session, one connection pool for every object of a run) only while it is unchanged."""
    import os

    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith(("AWS_", "GOOGLE_", "GCLOUD_", "AZURE_", "FSSPEC_", "GCSFS_",
                                         "STORAGE_EMULATOR_HOST"))))


# Query keys that carry a credential in a signed or shared URL: an Azure SAS (sig, and the sv/se/sp that sign it),
# an S3 or GCS presigned URL (X-Amz-*, X-Goog-*), a bearer token.
_URL_SECRETS = frozenset({"sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
                          "x-goog-signature", "x-goog-credential", "token", "access_token", "sas", "code", "key"})


def credentials_in(url: str) -> str:
    """What in ``url`` is a credential ("" when nothing): a ``user:password@`` (or, but for Azure's
    ``container@account`` form, any ``user@``) before the bucket, or a signature or token in its query."""
    from urllib.parse import parse_qsl

    from ..text import userinfo_end

    rest = url.split("://", 1)[1] if "://" in url else url
    end = userinfo_end(url)
    if end >= 0:  # (a password may hold a "/": red team rt92 F1)
        user = url[:end].split("://", 1)[-1][:-1]
        if ":" in user or not url.lower().startswith(("abfs://", "abfss://", "az://")):
            return "a user name and password before the bucket (user:password@)"
    netloc, _, tail = rest.partition("/")
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
    store = store_of(url)
    if store == "s3":
        # botocore's own deadlines (its defaults wait 60 s and retry 4 times), and each request's whole deadline
        # (DeadlineSession); the endpoint and credentials stay the environment's (AWS_ENDPOINT_URL, AWS_* variables,
        # profiles, roles)
        kwargs["config_kwargs"] = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": S3_READ_TIMEOUT,
                                   # one attempt: s3fs's tries (below) retry it ("max_attempts" counts retries)
                                   "retries": {"total_max_attempts": 1, "mode": "standard"},
                                   "http_session_cls": _s3_session(url)}
    elif store == "gs":
        # gcsfs's documented deadlines (red team rt81, F2: its defaults have none, and a store that accepts and never
        # answers held the run for ever): each try of a request ends, its body read, within the deadline of a ranged
        # GET of two blocks; gcsfs's own tries (6, with back-off) are bounded per request by _bound_gcs
        try:
            import aiohttp

            kwargs["requests_timeout"] = aiohttp.ClientTimeout(
                total=request_deadline(2 * READ_BLOCK), sock_connect=CONNECT_TIMEOUT, sock_read=S3_READ_TIMEOUT)
        except ImportError:
            pass  # gcsfs needs aiohttp: importing it below says so
        kwargs["retry_timeout"] = S3_READ_TIMEOUT  # gcsfs's Storage Control calls (zonal and HNS buckets), 60 s else
    else:
        # adlfs's documented deadlines for its reads; the client's own, for every other call, in _bound_azure
        kwargs.update(connection_timeout=CONNECT_TIMEOUT, read_timeout=S3_READ_TIMEOUT)
    try:
        if store == "gs" and os.environ.get("STORAGE_EMULATOR_HOST"):
            # an emulator has no Storage Control API: gcsfs's experimental class (GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT,
            # on by default) would spend a minute on each bucket asking it whether the bucket is zonal
            from gcsfs.core import GCSFileSystem  # type: ignore[import-untyped,import-not-found,unused-ignore]

            fs = GCSFileSystem(**kwargs)
            path = fs._strip_protocol(url)
        else:
            fs, path = fsspec.core.url_to_fs(url, **kwargs)
        if store == "s3":
            # s3fs tries each call 5 times with back-off, on top of botocore's attempts: an endpoint that accepts
            # and never answers held the run for 8 minutes. Two tries of each read call (a timeout, a connection
            # lost, a throttle; a read tries its GET twice within each try: at most 4 attempts), one of each
            # listing call (expand_url): a store that never answers is refused in about 30 s (its HEAD and its
            # LIST, S3_READ_TIMEOUT each); one that trickles, after each request's deadline.
            fs.retries = 2
        elif store == "gs":
            _bound_gcs(fs)
        else:
            _bound_azure(fs, url)
    except ImportError as exc:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs a filesystem fsspec cannot import "
                              f"({exc.name or exc})", _INSTALL) from None
    except (ValueError, OSError) as exc:
        raise AuditReadyError(f"cannot use {url}: {_why(exc)}", f"check the URL and the store's environment "
                              f"({_CREDENTIALS[store]})") from None
    return fs, str(path)


def _tries(fs: Any) -> int:
    """How many times each call of ``fs`` is tried now: two for a read, one while a prefix is listed."""
    return int(getattr(fs, "auditready_tries", 2))


def _bound(size: int, tries: int) -> float:
    """Seconds a call that carries ``size`` bytes may take in all, over ``tries`` tries and the pauses between."""
    return tries * request_deadline(size) + (tries - 1) * RETRY_PAUSE


def _bound_gcs(fs: Any) -> None:
    """Bound each of gcsfs's requests, its tries included: gcsfs tries a request 6 times with back-off (about two
    minutes for a store that never answers, per call), which no setting lowers. Each request may take
    ``_tries(fs)`` tries' deadlines (``request_deadline`` of its Range), then it is cancelled."""
    import asyncio

    request = getattr(fs, "_request", None)
    if request is None or not asyncio.iscoroutinefunction(request):
        raise AuditReadyError("reading gs:// URLs needs a gcsfs whose requests can be given a deadline (its "
                              "_request coroutine): this one could hold the run for ever", "pip install -U gcsfs")

    async def bounded(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.wait_for(request(*args, **kwargs),
                                      _bound(_request_size(kwargs.get("headers") or {}), _tries(fs)))

    fs._request = bounded


def _bound_azure(fs: Any, url: str) -> None:
    """Give every request of adlfs's Azure client a deadline (azure-core waits 20 s to connect and 60 s between
    bytes, and the storage client retries 3 times from 15 s of back-off: a store that never answers held the run for
    ever): its transport's connect and read timeouts, one retry (none while listing: ``_tries``), and a policy that
    ends each try of a request, its answer read, within ``request_deadline``. A client whose pipeline is not so
    built is refused: it could hang."""
    import asyncio

    client = getattr(fs, "service_client", None)
    pipeline = getattr(client, "_pipeline", None)
    config = getattr(getattr(pipeline, "_transport", None), "connection_config", None)
    policies = getattr(pipeline, "_impl_policies", None)
    retries = [p for p in policies or () if hasattr(p, "total_retries")]
    if config is None or not policies or not retries:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs an azure-storage-blob whose requests can "
                              "be given a deadline: this one could hold the run for ever",
                              "pip install -U adlfs azure-storage-blob")
    from azure.core.pipeline.policies import AsyncHTTPPolicy  # type: ignore[import-untyped,import-not-found,unused-ignore]

    class Deadline(AsyncHTTPPolicy):  # type: ignore[misc,type-arg,unused-ignore]  # azure-core's types are not checked here
        """Each try of a request ends, its answer read (a listing page; a download's body is read under
        ``_Pinned``'s own deadline), within the deadline of its Range, or of AZURE_PAGE_BYTES."""

        async def send(self, request: Any) -> Any:
            size = max(_request_size(request.http_request.headers), AZURE_PAGE_BYTES)
            return await asyncio.wait_for(self.next.send(request), request_deadline(size))

    config.timeout, config.read_timeout = CONNECT_TIMEOUT, S3_READ_TIMEOUT
    for policy in retries:
        policy.total_retries = 1
    last = policies[-1]  # (the clients made from this one link the same policies afresh, this last)
    deadline = Deadline()
    deadline.next, last.next = last.next, deadline
    policies.append(deadline)
    fs.auditready_retry_policies = retries


class _Listing:
    """Within it, each call of ``fs`` is tried once (s3fs: its ``retries``; gcsfs: ``_bound_gcs``; Azure: its retry
    policies): a store that fails to list is refused at once, and running again is cheap (s3fs's second try doubled
    a silent store's wait, past a minute). Reads keep their tries."""

    def __init__(self, fs: Any, store: str) -> None:
        self.fs = fs
        self.retries = getattr(fs, "retries", None) if store == "s3" else None

    def __enter__(self) -> None:
        self.fs.auditready_tries = 1
        if self.retries is not None:
            self.fs.retries = 1
        for policy in getattr(self.fs, "auditready_retry_policies", ()):
            policy.total_retries = 0

    def __exit__(self, *exc: object) -> None:
        self.fs.auditready_tries = 2
        if self.retries is not None:
            self.fs.retries = self.retries
        for policy in getattr(self.fs, "auditready_retry_policies", ()):
            policy.total_retries = 1


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


def _url(url: str, path: str) -> str:
    """The URL of the object ``path`` found under ``url``, in the scheme ``url`` was given in (az://, not adlfs's
    abfs://): reports name what the user named."""
    return f"{url.split('://', 1)[0].lower()}://{path}"


# What each store told of the objects a listing of this process found (``_identity``), by URL: the version every
# read of the object is pinned to, and the evidence's record of what was judged (``told``).
_TOLD: dict[str, dict[str, Any]] = {}

# The fields of each store's listing that name an object's version and content, as the evidence names them.
_FIELDS = {
    "s3": (("etag", "ETag"), ("version_id", "VersionId"), ("last_modified", "LastModified"),
           ("storage_class", "StorageClass")),
    "gs": (("generation", "generation"), ("metageneration", "metageneration"), ("etag", "etag"),
           ("md5", "md5Hash"), ("crc32c", "crc32c"), ("last_modified", "updated"), ("storage_class", "storageClass")),
    "az": (("etag", "etag"), ("version_id", "version_id"), ("last_modified", "last_modified")),
}
PIN = {"s3": "etag", "gs": "generation", "az": "etag"}  # what each store's reads are pinned to
_PIN_NAME = {"s3": "ETag", "gs": "generation", "az": "ETag"}


def _identity(store: str, info: Any) -> dict[str, Any]:
    """What the store told of an object (its listing's or HEAD's ``info``): size, version, times, checksums."""
    import base64

    def text(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(bytes(value)).decode("ascii")
        return value if isinstance(value, (int, str)) else str(value)

    info = info if isinstance(info, dict) else {}
    out: dict[str, Any] = {"size": info.get("size")}
    for name, field in _FIELDS[store]:
        if info.get(field) not in (None, ""):
            out[name] = text(info[field])
    md5 = (info.get("content_settings") or {}).get("content_md5") if store == "az" else None
    if md5:
        out["md5"] = text(md5)
    return out


def told(url: str) -> Optional[dict[str, Any]]:
    """What the store told of the object ``url`` when this process listed it (size, ETag, version id or
    generation, last modified, checksums), with ``sha256`` where this process read it whole; None when this
    process did not list it."""
    found = _TOLD.get(url)
    return dict(found) if found is not None else None


def _listed(fs: Any, url: str, path: str) -> dict[str, Any]:
    """The objects ``url`` names, path -> what the store told of each: the object itself, the objects a glob
    matches, or every object under a prefix."""
    if not url.endswith("/") and fs.isfile(path):
        # an object named as it is, also when its key holds a glob's characters (audit[1].log)
        return {"": fs.info(path)}
    if any(c in path for c in "*?["):
        return {p: i for p, i in fs.glob(path, detail=True).items() if (i or {}).get("type") == "file"}
    return dict(fs.find(path, detail=True))


def expand_url(url: str) -> list[str]:
    """The log objects ``url`` names (an object, a prefix, or a glob), as URLs, sorted. Naming nothing is an
    AuditReadyError, as is a prefix or glob with no log object: an empty set of evidence is never a pass."""
    fs, path = _fs(url)
    store = store_of(url)
    _KEPT.clear()  # a run reads the objects as they are now, not as an earlier run of this process kept them
    container = path.split("/", 1)[0]
    for attempt in range(LIST_TRIES):
        try:
            with _Listing(fs, store):
                fs.invalidate_cache()  # list what is there now, not what an earlier listing saw
                found = _listed(fs, url, path)
                # adlfs lists a container that is not there as empty: said as what it is
                missing = store == "az" and not found and not fs.exists(container)
            break
        except Exception as exc:  # the store's client raises its own types (botocore, aiohttp, azure)
            if _transient(exc) and attempt + 1 < LIST_TRIES:  # (red team rt97 F3: one 503 SlowDown ended the run)
                time.sleep(LIST_PAUSE * 2**attempt)
                continue
            raise AuditReadyError(f"cannot list {url}: {_why(exc)}", _fix(exc, check_fix(url), url)) from None
    if missing:
        raise AuditReadyError(f"cannot list {url}: no such container ({container})", check_fix(url))
    if "" in found:
        _TOLD[url] = _identity(store, found[""])
        return [url]
    logs = sorted(p for p in found if not not_a_log(p))
    if not logs:
        raise AuditReadyError(f"no log object under {url}", "name the prefix that holds the audit logs")
    urls = [_url(url, p) for p in logs]
    for u, p in zip(urls, logs):
        _TOLD[u] = _identity(store, found[p])
    _LISTED.update(u for u in urls if "?" in u)  # a key may hold "?key=": its name, no query (red team rt32, F12)
    return urls


class Deleted(NamedTuple):
    """A log object that a versioned S3 bucket keeps under a delete marker (``deleted_beside``)."""

    url: str
    marker_id: str  # the delete marker's version id
    deleted_at: str  # the delete marker's LastModified, ISO 8601
    written_at: str  # the newest version's LastModified ("" when no version is left: deleted for good)
    version_id: str  # that version's id
    size: int


_VERSION_PAGES = 50  # pages of up to 1,000 versions read of one folder (``deleted_beside``)
_VERSION_FOLDERS = 400  # folders asked (a CloudTrail trail has one a day)


def deleted_beside(urls: Sequence[str]) -> tuple[list[Deleted], list[str]]:
    """The log objects deleted beside ``urls`` (S3 only): in each of their folders, the objects whose newest
    version is a delete marker (a versioned bucket keeps what a delete hides) and whose name is a rotated form of
    a listed one's, or the other way round (``rotation.rotated_name``: audit.log-20261203.gz beside
    audit.log-20261202.gz; not another host's log that shares the folder). Second, one line per folder whose
    versions could not be listed, saying why (``s3:ListBucketVersions`` is a permission of its own). A bucket
    without versioning has no delete marker: nothing is found there, and nothing can be."""
    from pathlib import Path

    from ..auditlog.rotation import rotated_name

    folders: dict[str, list[str]] = {}
    for u in urls:
        if store_of(u) == "s3":
            folder, _, name = u.rpartition("/")
            folders.setdefault(folder, []).append(name)
    gone: list[Deleted] = []
    unasked: list[str] = []
    for n, (folder, names) in enumerate(sorted(folders.items())):
        if n >= _VERSION_FOLDERS:
            unasked.append(f"{len(folders) - n} more folders of the set (after {_VERSION_FOLDERS}) were not asked")
            break
        try:
            versions, markers, whole = _versions(folder)
        except Exception as exc:  # the store's client raises its own types (botocore, aiohttp)
            unasked.append(f"{folder}/: listing its versions failed: {_why(exc)}")
            continue
        if not whole:
            unasked.append(f"{folder}/: it holds more than {_VERSION_PAGES * 1000:,} versions and deleted "
                           "objects were looked for among the first only")
        present = set(names)
        for key, (marker_id, deleted_at) in sorted(markers.items()):
            name = key.rpartition("/")[2]
            if name in present or not_a_log(key) or not any(
                    rotated_name(Path(m), name) or rotated_name(Path(name), m) for m in names):
                continue
            version_id, written_at, size = versions.get(key, ("", "", 0))
            gone.append(Deleted(f"{folder}/{name}", marker_id, deleted_at, written_at, version_id, size))
    return gone, unasked


def _versions(folder: str) -> tuple[dict[str, tuple[str, str, int]], dict[str, tuple[str, str]], bool]:
    """Of the objects directly in ``folder`` (an s3:// URL): key -> (version id, last modified, size) of its
    newest version; key -> (version id, last modified) of a delete marker that is its newest; and whether every
    page was read."""
    fs, path = _fs(folder + "/")
    bucket, _, prefix = path.strip("/").partition("/")
    prefix = prefix + "/" if prefix else ""
    versions: dict[str, tuple[str, str, int]] = {}
    markers: dict[str, tuple[str, str]] = {}
    marker: dict[str, str] = {}
    with _Listing(fs, "s3"):
        for _ in range(_VERSION_PAGES):
            page = fs.call_s3("list_object_versions", Bucket=bucket, Prefix=prefix, Delimiter="/", **marker)
            for v in page.get("Versions", ()):
                when = _iso(v.get("LastModified"))
                if v["Key"] not in versions or when > versions[v["Key"]][1]:
                    versions[v["Key"]] = (str(v.get("VersionId", "")), when, int(v.get("Size", 0)))
            for d in page.get("DeleteMarkers", ()):
                if d.get("IsLatest"):
                    markers[d["Key"]] = (str(d.get("VersionId", "")), _iso(d.get("LastModified")))
            if not page.get("IsTruncated"):
                return versions, markers, True
            marker = {"KeyMarker": page.get("NextKeyMarker", ""),
                      "VersionIdMarker": page.get("NextVersionIdMarker", "")}
    return versions, markers, False


def _iso(value: Any) -> str:
    """A time of the store's answer (a datetime from botocore) as ISO 8601 text in UTC."""
    import datetime

    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return str(value.isoformat(timespec="seconds")) + "Z"
    return str(value or "")


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
            or "/CloudTrail-Digest/" in f"/{path}" or "_CloudTrail-Digest_" in name or name in _AWS_MARKERS
            or _other_aws_service(path))


# The objects AWS services write into a log destination to check that they may: CloudWatch Logs' export task, AWS
# Config, Elastic Load Balancing (red team rt85 F2, F3). No log: a prefix holding one is read without it.
_AWS_MARKERS = frozenset({"aws-logs-write-test", "ConfigWritabilityCheckFile", "ELBAccessLogTestFile"})
# AWSLogs/[o-ORG/]ACCOUNT/SERVICE/...: the layout every AWS service delivers to a shared (log archive) bucket in
_AWS_LOGS = re.compile(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?\d{12}/([^/]+)/")


def _other_aws_service(path: str) -> bool:
    """Whether ``path`` is another AWS service's delivery beside CloudTrail's in the AWSLogs layout (AWS Config's
    snapshots and history, load balancer, VPC flow and other logs): `auditready verify s3://BUCKET/AWSLogs/` walks
    the trail in a shared log-archive bucket, and those are no audit log of the vault or of the trail."""
    m = _AWS_LOGS.search(path)
    return m is not None and m.group(1) != "CloudTrail"


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
    """An object as a binary stream (gzip told by its magic bytes), read in ranged blocks, every one pinned to the
    version its listing told (``_open_pinned``). Missing, refused, replaced or unpinnable: an AuditReadyError naming
    the URL. A small object (CloudTrail's, a shipper's chunk) is fetched in one request and kept: a run reads each
    object several times (the format told, the entries read, the set's numbers checked), and a request a read over
    thousands of objects would be most of the run."""
    from ..auditlog.rotation import compression_in
    from ..offline.reader import inflating  # (bounded: a compression bomb is refused as for a local file)

    kept = _KEPT.get(url)
    if kept is not None:
        return inflating(io.BytesIO(kept), compression_in(kept[:6]), url)
    fs, path = _fs(url)
    store = store_of(url)
    try:
        known = _TOLD.get(url)  # the version listed
        if known is None:  # an object this process did not list (a Dask worker's): the one there now, for every
            known = _TOLD[url] = _identity(store, fs.info(path))  # read of it in this process
        f = _open_pinned(fs, path, store, known)
        size = known.get("size")
        if isinstance(size, int) and size <= SMALL:
            try:
                data = bytes(f.read())
            finally:
                f.close()
            if len(data) <= SMALL:  # kept as read, the same bytes for every read of the run
                _KEPT.put(url, data)
            if len(data) == size and not getattr(f, "decoded", False):
                known["sha256"] = hashlib.sha256(data).hexdigest()
            return inflating(io.BytesIO(data), compression_in(data[:6]), url)
        magic = f.read(6)
        f.seek(0)
    except AuditReadyError:
        raise
    except Exception as exc:  # the store's client raises its own types
        said = _gone(exc)  # (every object read was listed by the run, a Dask worker's by its front end)
        raise AuditReadyError(f"cannot read {url}: {_why(said)}", _fix(said, check_fix(url), url)) from None
    return inflating(_Guarded(f, url, known), compression_in(magic), url)  # type: ignore[arg-type]  # as a file


def _bare(etag: Any) -> str:
    """An ETag without its quotes and weak mark, as listings and answers of one store may differ in them."""
    return str(etag or "").strip().removeprefix("W/").strip('"')


def _open_pinned(fs: Any, path: str, store: str, known: dict[str, Any]) -> Any:
    """The object ``path`` opened for reads pinned to the version ``known`` tells: on S3, s3fs's file, which sends
    the ETag it was opened with as If-Match on every ranged GET (a changed object: FileExpired), checked to be the
    ETag listed (a forked worker's s3fs asks the store afresh); on GCS and Azure, ``_Pinned``. An object whose
    listing told nothing to pin to is refused (Unpinned)."""
    pin = known.get(PIN[store])
    if not pin:
        raise Unpinned(f"the store told no {_PIN_NAME[store]} for it")
    if store != "s3":
        return _Pinned(fs, path, store, known)
    f = fs.open(path, "rb", block_size=READ_BLOCK)
    if _bare((getattr(f, "details", None) or {}).get("ETag")) != _bare(pin):
        f.close()
        raise ObjectChanged("ETag")
    return f


class _Pinned:
    """An object in GCS or Azure Blob Storage read in ranged GETs of READ_BLOCK (a small one in one GET), each
    pinned to the version listed, so that bytes of two versions are never joined (red team rt81, F1): GCS's
    ifGenerationMatch, Azure's If-Match on the ETag, and the version the answer names (GCS's x-goog-generation,
    Azure's ETag) checked; where an answer names none (an emulator), the object's generation is asked after it
    (a generation once replaced never comes back, so the bytes were of the one listed). A replaced or removed object
    raises ObjectChanged. Azure's bytes are read as stored (not decompressed by the client: a gzip object is told by
    its magic bytes, as a file); GCS's as gcsfs reads them (``decoded``: the client decoded a Content-Encoding, so
    no SHA-256 of the stored bytes is given, and a range of such an object is refused)."""

    def __init__(self, fs: Any, path: str, store: str, known: dict[str, Any]) -> None:
        self._fs, self._path, self._store = fs, path, store
        self._pin = str(known[PIN[store]])
        self._size = int(known.get("size") or 0)
        self._pos, self._at, self._buf = 0, 0, b""
        self.closed, self.decoded = False, False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        new = pos if whence == 0 else self._pos + pos if whence == 1 else self._size + pos
        if new < 0:
            raise ValueError("negative seek position")
        self._pos = new
        return new

    def read(self, n: Optional[int] = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        parts = []
        while self._pos < end:
            if not self._at <= self._pos < self._at + len(self._buf):
                self._at, self._buf = self._pos, self._fetch(self._pos, min(self._size, self._pos + READ_BLOCK))
            piece = self._buf[self._pos - self._at:end - self._at]
            parts.append(piece)
            self._pos += len(piece)
        return b"".join(parts)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.closed, self._buf = True, b""

    def __enter__(self) -> "_Pinned":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fetch(self, start: int, end: int) -> bytes:
        import fsspec.asyn  # type: ignore[import-untyped,import-not-found,unused-ignore]

        whole = start == 0 and end == self._size  # no Range: the object's bytes as the client reads a whole one
        if self._store == "gs":  # (each of gcsfs's requests is bounded: _bound_gcs)
            data, decoded = fsspec.asyn.sync(self._fs.loop, _gcs_get, self._fs, self._path, self._pin, start, end,
                                             whole)
        else:
            data, decoded = fsspec.asyn.sync(self._fs.loop, _azure_get, self._fs, self._path, self._pin, start, end,
                                             whole, timeout=_bound(end - start, _tries(self._fs)))
        if decoded:
            if not whole:
                raise OSError("the store sent a range of it content-encoded, which cannot be joined to the next: "
                              "an object stored with Content-Encoding: gzip is read whole or not at all")
            self.decoded, self._size = True, len(data)
        elif len(data) != end - start:
            raise OSError(f"the store answered {len(data)} bytes for the {end - start} asked from byte {start}")
        return bytes(data)


async def _gcs_get(fs: Any, path: str, generation: str, start: int, end: int, whole: bool) -> tuple[bytes, bool]:
    """Bytes ``start``..``end`` of a GCS object, of generation ``generation`` only (GCS JSON API objects.get with
    alt=media and ifGenerationMatch: 412 when the object is another generation now; at gcsfs's own download URL),
    and whether the client decoded them (the answer's Content-Encoding)."""
    bucket, key, _ = fs.split_path(path)
    try:
        headers, data = await fs._call("GET", fs.url(path).split("?", 1)[0], alt="media",
                                       ifGenerationMatch=generation,
                                       headers={} if whole else {"Range": f"bytes={start}-{end - 1}"})
        answered = headers.get("x-goog-generation")  # (Google's answer names it, as google-cloud-storage reads it)
        if answered is None:  # an emulator's answer names no generation: the object's is asked after it
            meta = await fs._call("GET", "b/{}/o/{}", bucket, key, json_out=True)
            answered = meta.get("generation") if isinstance(meta, dict) else None
    except FileNotFoundError:
        raise ObjectChanged("generation", gone=True) from None
    except Exception as exc:  # 412 Precondition Failed: gcsfs's FileExistsError (an older one's HttpError)
        if isinstance(exc, FileExistsError) or getattr(exc, "code", None) == 412:
            raise ObjectChanged("generation") from None
        raise
    if str(answered) != str(generation):
        raise ObjectChanged("generation")
    return data, str(headers.get("Content-Encoding", "identity")).lower() not in ("", "identity")


async def _azure_get(fs: Any, path: str, etag: str, start: int, end: int, whole: bool) -> tuple[bytes, bool]:
    """Bytes ``start``..``end`` of an Azure blob whose ETag is ``etag`` (If-Match: 412 when it is another now), as
    stored (not decompressed by the client)."""
    from azure.core import MatchConditions  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from azure.core.exceptions import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        ResourceModifiedError,
        ResourceNotFoundError,
    )

    container, blob, _ = fs.split_path(path)
    try:
        async with fs.service_client.get_blob_client(container=container, blob=blob) as client:
            stream = await client.download_blob(offset=None if whole else start, length=None if whole else end - start,
                                                etag=etag, match_condition=MatchConditions.IfNotModified,
                                                decompress=False, max_concurrency=1)
            data = await stream.readall()
    except ResourceModifiedError:
        raise ObjectChanged("ETag") from None
    except ResourceNotFoundError:
        raise ObjectChanged("ETag", gone=True) from None
    if _bare(stream.properties.etag) != _bare(etag):
        raise ObjectChanged("ETag")
    return data, False


class _Guarded:
    """An object's stream whose reads fail as a local file's do: OSError (a StoreError), whatever the store's client
    raised (a read that stalls mid-body ends in s3fs as IndexError, or as botocore's own timeout), worded by
    ``_why`` with its fix, so that the reader refuses it in one line naming the URL, the bytes read before, the
    reason and the fix (``offline.reader.read_error``). A read from its first byte to its last in order gives the
    object's SHA-256 to what the store told of it (``known``)."""

    def __init__(self, f: Any, url: str = "s3://", known: Optional[dict[str, Any]] = None) -> None:
        self._f, self._url, self._known = f, url, known
        self._hash: Any = hashlib.sha256() if known is not None else None
        self._hashed = 0

    def read(self, n: int = -1) -> bytes:
        try:
            at = self._f.tell() if self._hash is not None else 0
            data: bytes = self._f.read(n)
        except Exception as exc:  # the store's client raises its own types (some of them OSErrors)
            raise StoreError(exc, self._url) from None
        if self._hash is not None and self._known is not None:
            if at != self._hashed or getattr(self._f, "decoded", False):
                self._hash = None  # read out of order (or decoded by the client): no hash of the whole
            else:
                self._hash.update(data)
                self._hashed += len(data)
                if self._hashed == self._known.get("size"):
                    self._known["sha256"] = self._hash.hexdigest()
                    self._hash = None
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        try:
            return self._f.seek(pos, whence)  # type: ignore[no-any-return]
        except Exception as exc:
            raise StoreError(exc, self._url) from None

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
