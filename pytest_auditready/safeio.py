"""Safe file access for every input and output: no hang, no unbounded read, no write through a planted link.

Inputs (logs, canaries, configuration, keys, digest files) must be regular files: a FIFO would block the open or
the read forever and a device such as /dev/zero never ends, so they are refused with a one-line AuditReadyError
naming what the path is and what to give instead. ``stat`` decides before anything is opened (opening a device
can have side effects), then the file is opened with O_NONBLOCK (a FIFO swapped in meanwhile cannot block the
open) and ``fstat`` confirms what was opened. Small inputs are read with a byte cap.

Outputs are written to a fresh temporary file beside the target (``mkstemp``: O_EXCL, O_NOFOLLOW) and renamed over
it, so a link planted at ``NAME.tmp`` is never followed; a symbolic link (or anything but a regular file) at the
target itself is refused. Files appended to are opened with O_APPEND|O_NOFOLLOW. Every OSError becomes an
AuditReadyError ("cannot write the X to PATH: reason"), never a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Optional, Union

from .errors import AuditReadyError

PathLike = Union[str, "os.PathLike[str]"]

KIB = 1 << 10
MIB = 1 << 20
MAX_CONFIG_BYTES = 1 * MIB  # a TOML configuration file
MAX_KEY_BYTES = 1 * MIB  # a PEM key (a few hundred bytes in practice)
MAX_LIST_BYTES = 16 * MIB  # a canaries file, the JSON of `aws cloudtrail list-public-keys`

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

REGULAR_FIX = "give the path of a regular file (save a stream or a device's output to a file first)"
WRITABLE_FIX = "choose a writable path"


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two names are one file: the same name, a link or another spelling of the path. An object's URL is
    its own name (no local path resolves it), and a name no path can be (an object key holding a NUL: red team rt32,
    F4) is only itself."""
    x, y = os.fspath(a), os.fspath(b)
    if x == y:
        return True
    if "://" in x or "://" in y or "\0" in x or "\0" in y:
        return False
    try:
        return os.path.samefile(x, y)
    except (OSError, ValueError):
        return os.path.realpath(x) == os.path.realpath(y)


def stat_key(path: PathLike) -> Optional[tuple[str, int, int, int, int]]:
    """One state of a local file: its real path, device, inode, size and modification time (ns), for a cache of what
    was read from it or to tell two names of one file; None for a file that is not there or a name no path can be."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # (ValueError: a NUL in the name, as an object key may hold)
        return None
    return os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO (named pipe)", "a character device", "a folder", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def size_text(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    if n >= KIB:
        return f"{n / KIB:.1f} KiB"
    return f"{n} bytes"


def _not_regular(path: PathLike, what: str, mode: int, fix: str) -> AuditReadyError:
    return AuditReadyError(f"the {what} {os.fspath(path)} is {kind_of(mode)}, not a regular file", fix or REGULAR_FIX)


def _too_large(path: PathLike, what: str, size: str, max_bytes: int) -> AuditReadyError:
    return AuditReadyError(f"the {what} {os.fspath(path)} is {size}, over the {size_text(max_bytes)} a {what} may "
                           "hold", f"give the {what} itself (this is not one)")


def _cannot_read(path: PathLike, what: str, exc: OSError, fix: str) -> AuditReadyError:
    """A path that could not be opened: access refused is always remedied by access (a caller's ``fix`` speaks to
    what a path should name)."""
    denied = exc.errno in (errno.EACCES, errno.EPERM)
    if exc.errno == errno.ELOOP:  # a symbolic link that leads back to itself: no remedy of a caller's fits
        fix = f"make the symbolic link (or a link in its path) point at the {what}: it now leads back to itself"
    return AuditReadyError(f"cannot read the {what} {os.fspath(path)}: {exc.strerror or exc}",
                           "give this user read access to it (and search access to its folders)" if denied
                           else fix or "give this user read access to it")


def open_regular(path: PathLike, what: str, *, max_bytes: Optional[int] = None, fix: str = "") -> BinaryIO:
    """``path`` opened for binary reading, once it is known to be a regular file (of at most ``max_bytes``).

    A missing file raises FileNotFoundError (callers word that themselves); anything else that is wrong is an
    AuditReadyError naming the ``what`` (e.g. "canaries file") and the path. ``fix`` replaces the generic remedy
    for a path that is not a regular file or cannot be opened for another reason than refused access."""
    try:
        before = os.stat(path)  # decide before opening anything: opening a device can have effects of its own
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _cannot_read(path, what, exc, fix) from None
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, what, before.st_mode, fix)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOCTTY | _CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _cannot_read(path, what, exc, fix) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for something else between stat and open
            raise _not_regular(path, what, st.st_mode, fix)
        if max_bytes is not None and st.st_size > max_bytes:
            raise _too_large(path, what, size_text(st.st_size), max_bytes)
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_small(path: PathLike, what: str, max_bytes: int, *, fix: str = "") -> bytes:
    """The whole content of a small regular file, refused past ``max_bytes`` (also when the file grows while it is
    read, or claims size 0 as /proc files do). Errors as ``open_regular``."""
    parts: list[bytes] = []
    total = 0
    with open_regular(path, what, max_bytes=max_bytes, fix=fix) as f:
        while total <= max_bytes:  # in pieces: read(max_bytes) would allocate max_bytes up front
            try:
                piece = f.read(min(64 * KIB, max_bytes + 1 - total))
            except OSError as exc:
                raise _cannot_read(path, what, exc, fix) from None
            if not piece:
                break
            parts.append(piece)
            total += len(piece)
    if total > max_bytes:
        raise _too_large(path, what, f"over {size_text(max_bytes)}", max_bytes)
    data = b"".join(parts)
    _remember_read(path, data)
    return data


# The bytes each small file was read as in this process (its SHA-256 and size; None once two reads differed): what
# the evidence names a settings, canaries, key or baseline file by, rather than the file as it is when the evidence
# is written (red team rt70 F2: a canaries file replaced during the run was named by the new file's hash).
READ_DIGESTS: dict[str, Optional[tuple[str, int]]] = {}
_READ_DIGESTS_MAX = 10_000


def _remember_read(path: PathLike, data: bytes) -> None:
    import hashlib

    key = os.path.abspath(os.fspath(path))
    seen = (hashlib.sha256(data).hexdigest(), len(data))
    if key in READ_DIGESTS:
        if READ_DIGESTS[key] != seen:
            READ_DIGESTS[key] = None  # read twice, as two contents: no one of them is "the" input
    elif len(READ_DIGESTS) < _READ_DIGESTS_MAX:
        READ_DIGESTS[key] = seen


# -- outputs ---------------------------------------------------------------------------------------------------


def _cannot_write(path: PathLike, what: str, reason: str, fix: str = "") -> AuditReadyError:
    return AuditReadyError(f"cannot write the {what} to {os.fspath(path)}: {reason}", fix or WRITABLE_FIX)


def _link_refused(path: PathLike, what: str) -> AuditReadyError:
    return AuditReadyError(f"the {what} path {os.fspath(path)} is a symbolic link: nothing is written through a "
                           "link (it could point anywhere)", "remove the link or choose another path")


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (os.umask sets it to read it)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _check_target(p: Path, what: str) -> None:
    """A target that exists must be a regular file, and not through a link."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise _link_refused(p, what)
    if not stat.S_ISREG(st.st_mode):
        raise _cannot_write(p, what, f"it is {kind_of(st.st_mode)}", "choose the path of a file")


def check_writable(path: PathLike, what: str, *, folder: bool = False) -> None:
    """Before a long read, refuse an output path that could never be written: a link, a device, a FIFO or a folder
    where a file goes (a file where a folder goes, ``folder``), or one under something that is no folder. Writes
    nothing; the write itself checks again."""
    p = Path(path)
    for parent in (p.parent, *p.parent.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise _cannot_write(p, what, f"{parent} is not a folder")
            break
    if folder:
        if p.exists() and not p.is_dir():
            raise _cannot_write(p, what, "it is not a folder", "choose the path of a folder")
        return
    _check_target(p, what)


def make_folder(path: PathLike, what: str, *, shown: Optional[PathLike] = None) -> Path:
    """``path`` as a folder (made with its parents when missing); an OSError becomes an AuditReadyError that
    names ``shown`` (the file to be written there), else the folder."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # something that is not a folder is in the way
        raise _cannot_write(shown or p, what, "Not a directory") from None
    except OSError as exc:
        raise _cannot_write(shown or p, what, exc.strerror or str(exc)) from None
    return p


def write_atomic(path: PathLike, data: Union[bytes, str], what: str, *, mode: int = 0o644) -> Path:
    """Write ``data`` (str: as UTF-8) to ``path`` all at once: a new temporary file beside it (O_EXCL|O_NOFOLLOW,
    so nothing planted there is followed), fsynced, then renamed over ``path``. The folder is made when missing.
    ``mode`` is applied under the umask. ``what`` names the file in errors ("compliance JUnit report")."""
    p = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    make_folder(p.parent, what, shown=p)
    try:
        _check_target(p, what)
        fd, tmp = tempfile.mkstemp(prefix=".auditready-", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode & ~_umask())
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)  # replaces a link planted since the check itself, never its target
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise _cannot_write(p, what, exc.strerror or str(exc)) from None
    return p


def open_append(path: PathLike, what: str, *, mode: int = 0o644, read: bool = False, fix: str = "") -> int:
    """A descriptor on ``path`` for appending (O_APPEND; created with ``mode`` when missing; also readable with
    ``read``), never through a symbolic link (O_NOFOLLOW) and only on a regular file (a FIFO cannot block the open:
    O_NONBLOCK). Errors are AuditReadyErrors naming ``what``."""
    flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _NOCTTY \
        | _CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            try:
                is_link = stat.S_ISLNK(os.lstat(path).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise _link_refused(path, what) from None
        raise _cannot_write(path, what, exc.strerror or str(exc), fix) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _cannot_write(path, what, f"it is {kind_of(st.st_mode)}", fix or "choose the path of a file")
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def append_nofollow(path: PathLike, data: Union[bytes, str], what: str) -> Path:
    """Append ``data`` (str: as UTF-8) to the regular file ``path`` (made when missing), never through a link."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = open_append(path, what)
    try:
        write_all(fd, raw)
    except OSError as exc:
        raise _cannot_write(path, what, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    return Path(path)
