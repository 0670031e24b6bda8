"""Logs in object storage (``s3://bucket/prefix/``, ``gs://...``, ``az://...``), read through fsspec.

The one adapter to fsspec (extra ``[objectstore]``: fsspec and s3fs; gcsfs or adlfs for gs:// and az://). A URL
names one object, a prefix (every object below it, sorted; CloudTrail's bucket layout
``AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/`` is walked like any prefix, its ``CloudTrail-Digest`` objects
left out as they are no logs) or a glob. Objects are streamed in blocks, gzip told by its magic bytes, never
downloaded whole. Credentials and endpoints come only from the usual environment of each store (for S3: the AWS
variables, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL`` for an S3-compatible server), never from an option.
Every request has a deadline. Nothing here imports pytest.
"""

from __future__ import annotations

from typing import IO, Any

from ..errors import AuditReadyError

SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://")
READ_BLOCK = 8 << 20  # bytes per ranged GET: few round trips, flat memory
_NOT_LOGS = (".digests", ".pub", ".key", ".sig")
_INSTALL = "pip install 'pytest-auditready[objectstore]' (fsspec and s3fs; gcsfs for gs://, adlfs for az://)"


def is_url(path: str) -> bool:
    """Whether ``path`` names object storage rather than a local file."""
    return path.lower().startswith(SCHEMES)


def _why(exc: BaseException) -> str:
    """A one-line reason for a store's error, without anything it echoes of the request's credentials."""
    name = type(exc).__name__
    text = str(exc).split("\n")[0][:200]
    if "Credentials" in name or "credentials" in text.lower():
        return "no credentials found in the environment"
    if isinstance(exc, FileNotFoundError):
        return "no such bucket or object"
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return "access denied"
    return f"{name}: {text}" if text else name


_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def _env_key() -> tuple[tuple[str, str], ...]:
    """The environment a store's client reads its credentials and endpoint from: a filesystem made under one is
    reused (one session, one connection pool for every object of a run) only while it is unchanged."""
    import os

    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith(("AWS_", "GOOGLE_", "GCLOUD_", "AZURE_", "FSSPEC_"))))


def _fs(url: str) -> tuple[Any, str]:
    """The filesystem for ``url`` and the path inside it."""
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
        # botocore's own deadlines (its defaults wait 60 s and retry 4 times); the endpoint and credentials stay
        # the environment's (AWS_ENDPOINT_URL, AWS_* variables, profiles, roles)
        kwargs["config_kwargs"] = {"connect_timeout": 10, "read_timeout": 30, "retries": {"max_attempts": 2}}
    try:
        fs, path = fsspec.core.url_to_fs(url, **kwargs)
    except ImportError as exc:
        raise AuditReadyError(f"reading {url.split('://')[0]}:// URLs needs a filesystem fsspec cannot import "
                              f"({exc.name or exc})", _INSTALL) from None
    except (ValueError, OSError) as exc:
        raise AuditReadyError(f"cannot use {url}: {_why(exc)}", "check the URL and the store's environment "
                              "(credentials, AWS_ENDPOINT_URL)") from None
    return fs, str(path)


def _url(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


def expand_url(url: str) -> list[str]:
    """The log objects ``url`` names (an object, a prefix, or a glob), as URLs, sorted. Naming nothing is an
    AuditReadyError, as is a prefix or glob with no log object: an empty set of evidence is never a pass."""
    fs, path = _fs(url)
    try:
        fs.invalidate_cache()  # list what is there now, not what an earlier listing saw
        if any(c in path for c in "*?["):
            found = [p for p in fs.glob(path) if fs.isfile(p)]
        elif not url.endswith("/") and fs.isfile(path):
            return [url]
        else:
            found = list(fs.find(path))
    except Exception as exc:  # the store's client raises its own types (botocore, aiohttp, azure)
        raise AuditReadyError(f"cannot list {url}: {_why(exc)}", "check the URL and the credentials in the "
                              "environment (for S3: AWS_PROFILE or AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL)") from None
    logs = sorted(p for p in found if not _skipped(p))
    if not logs:
        raise AuditReadyError(f"no log object under {url}", "name the prefix that holds the audit logs")
    return [_url(fs, p) for p in logs]


def _skipped(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (not name or name.startswith(".") or name.endswith(_NOT_LOGS)
            or "/CloudTrail-Digest/" in f"/{path}")  # CloudTrail's digest files: evidence, not logs


def open_url(url: str) -> IO[bytes]:
    """An object as a binary stream (gzip told by its magic bytes), read in ranged blocks. Missing or refused:
    an AuditReadyError naming the URL."""
    import gzip

    fs, path = _fs(url)
    try:
        f: IO[bytes] = fs.open(path, "rb", block_size=READ_BLOCK)
        magic = f.read(2)
        f.seek(0)
    except Exception as exc:  # the store's client raises its own types
        raise AuditReadyError(f"cannot read {url}: {_why(exc)}", "check the URL and the credentials in the "
                              "environment") from None
    if magic == b"\x1f\x8b":
        return gzip.open(f, "rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return f
