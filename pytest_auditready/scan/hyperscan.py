"""Hyperscan plumbing and the block scanner: secret detection over raw log text at disk speed.

Databases are compiled in a forked child (``_isolated``) so that the compiler's transient memory never counts
against this process's peak; the child dies with its parent, holds no environment (tokens live there) and has a
deadline. Databases of fixed patterns are kept serialised in the user's cache folder (``compiled``: keyed by the
patterns, the Hyperscan release and the CPU's features, checksummed, written atomically); the known values'
database, whose patterns spell secrets, is compiled per run and never written. Where the C extension is built
(``scan.native``), it does some of these passes itself, with the same results. ``any_match`` answers yes/no
questions over a block; ``LeakScanner`` prefilters a block for anything that could be a secret and hands only
those lines or values to the judges (``scan.known`` for known values, ``scan.secrets`` for detect-secrets).
"""

from __future__ import annotations

import bisect
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional

from ..auditlog.model import HMAC_RE
from . import argv, tokens
from .known import ASCII_ESCAPE, SEPARATED, WRAPPED, KnownValues, fingerprint
from .secrets import (
    CACHE_MAX,
    CREDENTIAL_HEADERS,
    ENV_CREDENTIAL_NAME_END,
    NOT_BY_NAME,
    PEM_B64,
    VAULT_CREDENTIALS,
    WINDOW_MAX,
    DetectorRegex,
    GenericHit,
    GenericScanner,
    detector_regexes,
    json_document,
    loose_values,
    record_values,
)

if TYPE_CHECKING:
    from ..auditlog.formats import LogFormat

_DIGEST_BYTES = re.compile(HMAC_RE.pattern.encode("ascii"))  # HMAC_RE over raw bytes (match with pos and endpos)
_WRAPPED_RE = re.compile(WRAPPED)  # known.WRAPPED: an encoded run wrapped into lines
_SEPARATED_RE = re.compile(SEPARATED)  # known.SEPARATED: hex with separators between bytes

# -- compiling in a child ---------------------------------------------------------------------------------------

COMPILE_DEADLINE = 60.0  # seconds a compile child may take (it takes well under one); then it is killed
# Tests only: the path of a FIFO at which the compile child, once it holds nothing of its parent's, writes its pid
# and then waits until the FIFO is written to and closed (so that a test can catch it mid-compile).
GATE_ENV = "AUDITREADY_TEST_COMPILE_GATE"
_PR_SET_PDEATHSIG = 1


class _Kit:
    """What the compile child needs from libc, found before forking (the child imports and loads nothing):
    prctl on Linux, and memset to overwrite its environment block."""

    def __init__(self) -> None:
        self.prctl: Optional[Callable[..., int]] = None
        self.memset: Optional[Callable[[int, int, int], Any]] = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                self.prctl = ctypes.CDLL(None, use_errno=True).prctl
                self.memset = ctypes.memset
            except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
                pass


_KIT: Optional[_Kit] = None


def _forget_environment(memset: Optional[Callable[[int, int, int], Any]]) -> None:
    """Empty this process's environment: os.environ, and the block /proc/<pid>/environ shows (the one the
    process was started with, which unsetenv leaves in place), overwritten with zeros."""
    os.environ.clear()
    if memset is None:
        return
    try:
        with open("/proc/self/stat", "rb") as f:
            raw = f.read()
        fields = raw[raw.rindex(b")") + 2 :].split()  # fields from the 3rd on: env_start and env_end are 50, 51
        start, end = int(fields[47]), int(fields[48])
    except (OSError, ValueError, IndexError):  # pragma: no cover - no procfs, or a kernel before 3.5
        return
    if 0 < start < end:
        memset(start, 0, end - start)


def _close_all_but(keep: int) -> None:
    """Close every file descriptor above stderr except ``keep`` (those /proc lists, else up to the limit)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):  # pragma: no cover - no procfs
        os.closerange(3, keep)
        os.closerange(keep + 1, max(keep + 2, int(os.sysconf("SC_OPEN_MAX"))))
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:  # the descriptor listdir itself used
                pass


def _child_setup(parent: int, keep: int, kit: _Kit, gate: Optional[str], held: Optional[Any] = None) -> None:
    """In the compile child, right after fork: die with the parent, drop its environment, its open files and
    its signal handlers (a parent that shields clean-up from SIGTERM must not make the child immune)."""
    if kit.prctl is not None:
        kit.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (ValueError, OSError):  # pragma: no cover - not this platform's signal, or not the main thread
            pass
    _release_signals(held)  # the mask the parent held over the fork (see _isolated), now with default handlers
    _forget_environment(kit.memset)
    _close_all_but(keep)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    if null > 2:
        os.close(null)
    if gate:
        fd = os.open(gate, os.O_WRONLY)
        os.write(fd, b"%d\n" % os.getpid())
        os.close(fd)
        fd = os.open(gate, os.O_RDONLY)
        while os.read(fd, 4096):
            pass
        os.close(fd)


def _collect(r: int, pid: int, timeout: float) -> Optional[bytes]:
    """Read the child's output until it closes its end, then reap it. None if it failed or ran out of time (the
    caller then kills and reaps it: ``_reap``)."""
    poller = _readable(r)
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if not poller(left):
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks) if status == 0 and chunks else None


def _reap(pid: int) -> None:
    """Kill and reap the child ``pid`` unless it was reaped already (then its pid may belong to another process
    by now, so it is not signalled: an unreaped child keeps its pid as a zombie until waited for)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # reaped already
        return
    if done:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it ended meanwhile; still a zombie until waited for
        pass
    os.waitpid(pid, 0)


def _readable(fd: int) -> Callable[[float], bool]:
    """A wait for ``fd`` to be readable, at most a given number of seconds (poll: no FD_SETSIZE limit)."""
    import select

    if hasattr(select, "poll"):
        p = select.poll()
        p.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        return lambda seconds: bool(p.poll(max(1, int(seconds * 1000))))
    return lambda seconds: bool(select.select([fd], [], [], seconds)[0])  # pragma: no cover - no poll


def _gate() -> Optional[str]:
    """The test gate's path, if GATE_ENV names a FIFO (anything else is ignored: no file is ever written)."""
    path = os.environ.get(GATE_ENV)
    if not path:
        return None
    try:
        return path if stat.S_ISFIFO(os.stat(path).st_mode) else None
    except OSError:
        return None


def _isolated(build: Callable[[], bytes], timeout: float = COMPILE_DEADLINE) -> bytes:
    """Run ``build`` in a forked child and return its bytes: compiling the databases takes ~15 MB for a moment,
    which would otherwise stay in this process's peak RSS (the memory budget of a long verify). The child dies
    with this process (PR_SET_PDEATHSIG on Linux; elsewhere its write fails once the reader is gone), holds no
    environment variable and no file of ours, and is killed past ``timeout``. Without fork, or if the child
    fails, build here."""
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        return build()
    global _KIT
    if _KIT is None:
        _KIT = _Kit()
    kit, gate, parent = _KIT, _gate(), os.getpid()
    r, w = os.pipe()
    # Ctrl-C and SIGTERM wait until the child is known to the code that kills it: a handler that raises between
    # fork and that code would otherwise leave the child alive, waiting (a signal arrives at any bytecode).
    held = _hold_signals()
    try:
        pid = os.fork()
    except OSError:  # no process to spare: build here
        _release_signals(held)
        os.close(r)
        os.close(w)
        return build()
    if pid == 0:  # the child: no imports, no locks, only the compile and a write
        code = 1
        try:
            _child_setup(parent, w, kit, gate, held)
            data = build()
            view = memoryview(data)
            while view:
                view = view[os.write(w, view) :]
            code = 0
        finally:
            os._exit(code)
    got: Optional[bytes] = None
    try:
        os.close(w)
        _release_signals(held)  # a signal held meanwhile is handled here, inside the try
        got = _collect(r, pid, timeout)
    finally:
        _hold_signals()  # the clean-up below is not cut short by a second signal either
        try:
            os.close(r)
            if got is None:  # failed, out of time, or a handler raised: the child does not outlive this
                _reap(pid)
        finally:
            _release_signals(held)  # the mask as before the fork, whatever happened (a held signal is handled now)
    return got if got is not None else build()


def _hold_signals() -> Optional[Any]:
    """Block SIGINT and SIGTERM in this thread (they stay pending); the previous mask, or None where there is no
    pthread_sigmask."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _release_signals(held: Optional[Any]) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


# -- compiled databases cached on disk -----------------------------------------------------------------------

CACHE_ENV = "AUDITREADY_HS_CACHE"  # "0": never read or write the cache (a compile child every run)
_CACHE_MAGIC = b"auditready-hyperscan-cache 1\n"
_CACHE_MAX_BYTES = 64 << 20


def cache_dir() -> Optional[str]:
    """The user's cache folder for compiled databases: $XDG_CACHE_HOME/pytest-auditready (an absolute
    XDG_CACHE_HOME only, as the XDG spec says), else ~/.cache/pytest-auditready; None when CACHE_ENV is "0" or
    there is no home."""
    if os.environ.get(CACHE_ENV, "") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "pytest-auditready")


def _platform() -> bytes:
    """What a serialised database depends on besides its patterns: the Hyperscan release and the CPU's features
    (Hyperscan compiles for the instructions the CPU has)."""
    import hyperscan

    hs_version = getattr(hyperscan, "__version__", None)
    if not isinstance(hs_version, str):  # a build without it: the installed distribution's (costs 5-10 ms)
        try:
            from importlib.metadata import version

            hs_version = version("hyperscan")
        except Exception:  # no metadata: the version is unknown, and keyed as such
            hs_version = "?"
    flags = ""
    try:
        with open("/proc/cpuinfo", "rb") as f:
            for line in f.read(1 << 16).splitlines():  # the first processor's block: its flags line
                if line.startswith((b"flags", b"Features")):
                    flags = line.split(b":", 1)[-1].decode("ascii", "replace").strip()
                    break
    except OSError:
        pass
    machine = os.uname().machine if hasattr(os, "uname") else sys.platform  # platform.machine(), without its import
    return repr((hs_version, sys.version_info[:2], machine, flags)).encode()


_PLATFORM: Optional[bytes] = None


def _cache_key(material: bytes) -> str:
    import hashlib

    global _PLATFORM
    if _PLATFORM is None:
        _PLATFORM = _platform()
    return hashlib.sha256(_PLATFORM + b"\0" + material).hexdigest()


def _cache_read(path: str) -> Optional[bytes]:
    """The payload of a cache file, or None when it is missing, not a regular file of this user's that only this
    user can write, or fails its checksum (a torn write, a bit flip, anything else): never trusted blindly."""
    import hashlib

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_size > _CACHE_MAX_BYTES or st.st_mode & 0o022
                or (hasattr(os, "getuid") and st.st_uid != os.getuid())):
            return None
        chunks: list[bytes] = []
        left = st.st_size + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
    head = len(_CACHE_MAGIC) + 32
    if len(raw) <= head or not raw.startswith(_CACHE_MAGIC):
        return None
    payload = raw[head:]
    if hashlib.sha256(payload).digest() != raw[len(_CACHE_MAGIC) : head]:
        return None
    return payload


def _cache_write(path: str, payload: bytes) -> None:
    """Store ``payload`` atomically (safeio.write_atomic: a temporary file renamed over the name, so a racing
    reader sees the old file or the new one, never half of one). Best effort: an unwritable cache is no error."""
    import hashlib

    from ..errors import AuditReadyError
    from ..safeio import write_atomic

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_atomic(path, _CACHE_MAGIC + hashlib.sha256(payload).digest() + payload, "Hyperscan cache",
                     mode=0o600)
    except (AuditReadyError, OSError):
        pass


def compiled(material: bytes, build: Callable[[], bytes], load: Callable[[bytes], Any]) -> Any:
    """``load(blob)`` of the serialised databases ``build`` makes (in a child: ``_isolated``), from the user's
    cache when a valid entry for ``material`` (everything the patterns are) and this platform is there; else
    built, loaded and stored. A cache entry that does not load (checksum right but refused by Hyperscan) is
    replaced."""
    folder = cache_dir()
    path = os.path.join(folder, _cache_key(material) + ".hsdb") if folder else None
    if path is not None:
        blob = _cache_read(path)
        if blob is not None:
            try:
                return load(blob)
            except Exception:  # whatever Hyperscan says of it, the entry is rebuilt
                pass
    blob = _isolated(build)
    db = load(blob)
    if path is not None:
        _cache_write(path, blob)
    return db


def _load_one(blob: bytes) -> Any:
    import hyperscan

    db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
    db.scratch = hyperscan.Scratch(db)  # a deserialised database comes without scratch space
    return db


_ANY_MATCH: dict[tuple[bytes, ...], Any] = {}  # compiled once per process, by expressions

# Expression sets the C extension answers itself (scan.native), each with the function that does: the same
# yes/no, in one pass without a callback (tests/test_native.py holds them equal). Any other set is Hyperscan's.
IRREGULAR_LINES = (rb"[^}]\n", rb"\n[^{]", rb"\}[ \t\r]*\{")  # offline.reader: not one object a line
# checks.integrity_digest's two sets, answered together by the C extension's digest_flags (see digest_checks):
# a malformed digest: a value that opens with "hmac-sha256:" and is not 64 lowercase hex digits to its closing quote,
# or opens with a misspelling of that prefix (the case of a letter, "_" or no separator, "sha-256", another number:
# the vault writes only the one spelling, so a hop or a hand changed it), which Hyperscan, lacking lookahead, is told
# as the five ways to depart from it,
_H, _S, _N = rb'[Hh][Mm][Aa][Cc]', rb'[Ss][Hh][Aa]', rb'[0-9]+:'
MALFORMED_DIGEST = (rb'"hmac-sha256:(?:[0-9a-f]{0,63}[^0-9a-f]|[0-9a-f]{64}[^"\\])',
                    rb'"(?:H[Mm][Aa][Cc]|[Hh]M[Aa][Cc]|[Hh][Mm]A[Cc]|[Hh][Mm][Aa]C)[-_]?' + _S + rb'[-_]?' + _N,
                    rb'"' + _H + rb'[-_]?(?:S[Hh][Aa]|[Ss]H[Aa]|[Ss][Hh]A)[-_]?' + _N,
                    rb'"' + _H + rb'_?' + _S + rb'[-_]?' + _N,
                    rb'"' + _H + rb'[-_]?' + _S + rb'[-_]' + _N,
                    rb'"' + _H + rb'[-_]?' + _S
                    + rb'[-_]?(?:[0-9]{1,2}|[0-9]{4,}|[013-9][0-9]{2}|2[0-46-9][0-9]|25[0-57-9]):')
# A value that does not start an HMAC digest and is not empty (a quote, escaped at any depth, right after the opening
# one): what follows a key whose value the vault always digests when it is written in clear.
_NOT_DIGEST = (rb'(?:[^h\\"]|\\+[^\\"]|h(?:[^m]|m(?:[^a]|a(?:[^c]|c(?:[^-]|-(?:[^s]|s(?:[^h]|h(?:[^a]|a(?:[^2]|'
               rb'2(?:[^5]|5(?:[^6]|6[^:])))))))))))')
# and a client token, or a response-wrapping token, written in clear (log_raw), quotes escaped at any depth (a
# shipper's line inside a string)
RAW_DIGESTED = (rb'client_token\\*":\\*"' + _NOT_DIGEST,
                rb'wrap_info\\*":\{[^{}]*\\*"token\\*":\\*"' + _NOT_DIGEST)
# and the accessor of the request's token in clear (a device with hmac_accessor=false; the vault digests it by
# default)
CLEAR_ACCESSOR = (rb'client_token_accessor\\*":\\*"' + _NOT_DIGEST,)


def _native_any(expressions: tuple[bytes, ...]) -> Optional[Callable[[bytes], bool]]:
    from . import native

    lib = native.lib
    if lib is None:
        return None
    if expressions == IRREGULAR_LINES:
        shape = lib.block_shape
        return lambda data: bool(shape(data)[2])
    if expressions == native.SPLIT_KNOWN:  # LeakScanner's (WRAPPED, SEPARATED)
        return lib.split_known  # type: ignore[no-any-return]
    return None


def block_db(expressions: tuple[bytes, ...], tag: str) -> Any:
    """A Hyperscan block-mode database of ``expressions`` (ids their indexes, every match reported), compiled once
    per process in a child or loaded from the cache (``compiled``; ``tag`` names its use in the cache key). None
    without Hyperscan."""
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency
        return None
    key = (tag.encode(), *expressions)
    db = _ANY_MATCH.get(key)
    if db is None:

        def build() -> bytes:
            d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            d.compile(expressions=list(expressions), ids=list(range(len(expressions))), elements=len(expressions),
                      flags=[0] * len(expressions))
            return bytes(hyperscan.dumpb(d))

        db = _ANY_MATCH[key] = compiled(repr((tag, expressions)).encode(), build, _load_one)
    return db


def match_ends(expressions: tuple[bytes, ...]) -> Optional[Callable[[bytes], list[int]]]:
    """Where ``expressions`` match in a block: the end of each match (``block_db``). None without Hyperscan: the
    caller's slower way."""
    db = block_db(expressions, "ends")
    if db is None:
        return None

    def ends(data: bytes) -> list[int]:
        found: list[int] = []
        push = found.append
        db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: push(e))
        return found

    return ends


def digest_checks() -> Optional[Callable[[bytes], int]]:
    """checks.integrity_digest's three questions about a block in one pass: bit 1, does MALFORMED_DIGEST match; bit
    2, does RAW_DIGESTED; bit 4, does CLEAR_ACCESSOR (the C extension's digest_flags, else three Hyperscan passes).
    None without either."""
    from . import native

    if native.lib is not None:
        return native.lib.digest_flags  # type: ignore[no-any-return]
    malformed, raw, accessor = any_match(MALFORMED_DIGEST), any_match(RAW_DIGESTED), any_match(CLEAR_ACCESSOR)
    if malformed is None or raw is None or accessor is None:  # pragma: no cover - hyperscan is a dependency
        return None
    return lambda data: int(malformed(data)) | (2 if raw(data) else 0) | (4 if accessor(data) else 0)


def any_match(expressions: tuple[bytes, ...], *, native: bool = True) -> Optional[Callable[[bytes], bool]]:
    """A fast yes/no over a whole block: does any of ``expressions`` match? (Hyperscan, each expression reporting
    once at most, compiled in a child with ``_isolated`` or loaded from the cache; or the C extension's own pass
    for the sets it knows, unless ``native`` is False.) None without Hyperscan: the caller's slower way."""
    fast = _native_any(expressions) if native else None
    if fast is not None:
        return fast
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - hyperscan is a dependency
        return None
    db = _ANY_MATCH.get(expressions)
    if db is None:

        def build() -> bytes:
            d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            d.compile(expressions=list(expressions), ids=list(range(len(expressions))), elements=len(expressions),
                      flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(expressions))
            return bytes(hyperscan.dumpb(d))

        db = compiled(repr(("any", expressions)).encode(), build, _load_one)
        _ANY_MATCH[expressions] = db

    def matches(data: bytes) -> bool:
        found: list[int] = []
        db.scan(data, match_event_handler=lambda *_a: found.append(1))
        return bool(found)

    return matches


# -- the block scanner's prefilters: a superset of what detect-secrets and the token rule could flag ------------

# detect-secrets' keyword detector fires on a denylisted word used as a name: followed by an assignment or a colon
# (optionally after a closing quote or bracket), compared with ==/!=, or called. A superset of its regexes.
_KEYWORDS = (r"(?:api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|"
             r"client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contrase(?:\xc3\xb1|n)a)")
_KEYWORD_PREFILTERS = (
    _KEYWORDS + r"\w*[\]'\"]{0,2}\s*(?::|=|!|\(|\.assign)",
    r"[=!]=\s*['\"]?\w*" + _KEYWORDS,
    # a key that names a pre-shared key or a passphrase (scan.secrets._names_a_shared_secret), its value after it
    r"(?:shared_?key|passphrase|psk)[\]'\"]{0,2}\s*(?::|=)",
)
# Lines the judge reads whole (see scan.secrets.record_values), because what makes a value a secret is not in its
# own "key":"value" pair: a keyword used as a key inside a JSON document that is itself a string value (escaped
# quotes) or URL-encoded; a name/value object whose name holds a keyword ({"name":"DB_PASSWORD","value":"..."},
# either order); an object of a kind that holds secrets by definition (a Kubernetes Secret, TokenRequest,
# TokenReview). Matched caseless.
_Q = r'\\*(?:"|%22)'  # a quote, raw, escaped at any depth, or URL-encoded
# The words a name names a credential by, for the judge: detect-secrets' keywords, and "token"
# (scan.secrets._names_a_token: a token under a key that names one, however short). Where "token" would stand before a
# run ("token" followed by anything up to a quote, on every Vault line), its own expressions below want it last.
_NAMED = r"(?:" + _KEYWORDS + r"|token)"
_NAMES = r"(?:name|key|parameterKey)"
_VALUES = r"(?:value|parameterValue)"
# (Written with "*": with "{0,64}" this library missed matches after an earlier "-" on the line, where Python's re
# finds them; tests/test_config_text_credentials.py holds the two equal.)
_FLAG_VALUE = _Q + r"-[\w.\-]*" + tokens.CREDENTIAL_KEY + _Q + r"\s*,\s*" + _Q
# The name/value form (the second below) for a name that ends in "token" ({"name":"API_TOKEN","value":"..."}); found
# with it by the C extension.
_TOKEN_NAME_VALUE = r"token" + _Q + r"\s*,\s*" + _Q + _VALUES + _Q + r"\s*:"
# Letters that are not ASCII but that Python's (?i) takes for ASCII ones (tokens.FOLD_LETTERS: a capital I with a
# dot, a dotless i, a long s and the Kelvin sign), in UTF-8 or as JSON escapes (caseless: either case of hex).
# Hyperscan's caseless is ASCII's, so a keyword written with one ("APİ_KEY=", what "api_key".upper() gives under a
# Turkish locale; "paſſword=") hit no prefilter and never reached the judge, whose rules take it (red team rt84 F1):
# a line holding one is judged whole.
_FOLDING_LETTERS = b"|".join([b"".join(b"\\x%02x" % b for b in chr(c).encode("utf-8")) for c in tokens.FOLD_LETTERS]
                             + [b"\\\\u%04x" % c for c in tokens.FOLD_LETTERS])
_WHOLE_LINE_PREFILTERS = (
    _KEYWORDS + r"\w*(?:\\+\"|%22)\s*(?::|%3A)",
    _KEYWORDS + r"[^\"%]*" + _Q + r"\s*,\s*" + _Q + _VALUES + _Q + r"\s*:",
    _Q + _VALUES + _Q + r"\s*:\s*" + _Q + r"[^\"]*" + _Q + r"\s*,\s*" + _Q + _NAMES + _Q + r"\s*:\s*" + _Q
    + r"[^\"%]*" + _NAMED,
    _Q + r"kind" + _Q + r"\s*:\s*" + _Q + r"(?:Secret|SecretList|TokenRequest|TokenReview)" + _Q,
    # a long query parameter of a URI (judged decoded, part by part: the entropy runs above stop at a "%")
    r"(?:[?&]|\\u0026)[\w.\-]+=[A-Za-z0-9+/=_%.\-]{20,}",
    # an audited request header that carries a credential (scan.secrets.CREDENTIAL_HEADERS, or a cookie; a response
    # header a mount lets through, a Set-Cookie) with a value that is neither empty nor an HMAC digest: a Basic
    # password or an opaque token has no shape to find
    _Q + r"(?:" + "|".join(sorted(CREDENTIAL_HEADERS | {"cookie", "set-cookie"})) + r")" + _Q + r"\s*:\s*\[?\s*" + _Q
    + r"(?:[^h\"]|h(?:[^m]|m(?:[^a]|a(?:[^c]|c(?:[^-]|-(?:[^s]|s(?:[^h]|h(?:[^a]|a(?:[^2]|2(?:[^5]|5(?:[^6]|"
    r"6[^:])))))))))))",
    # an OAuth credential in a URI's query, however short (a Kubernetes requestURI: formats.K8S rules judge it), or a
    # parameter that is a credential by its protocol (scan.secrets.QUERY_CREDENTIALS: a SAS signature, an OAuth code)
    r"(?:[?&]|\\u0026|%26)(?:access_token|id_token|refresh_token|client_secret|sig|signature|x-amz-signature"
    r"|x-goog-signature|code|auth)=",
    # a Kubernetes event on a Secret: its data, in a patch that names no kind, is the Secret's (however short)
    _Q + r"resource" + _Q + r"\s*:\s*" + _Q + r"secrets" + _Q,
    # a value CloudTrail never logs (formats.cloudtrail_defined_secrets): a KMS plaintext, an SSM SecureString's or
    # a decrypted parameter's value
    _Q + r"(?:plaintext|withDecryption)" + _Q + r"\s*:|" + _Q + r"SecureString" + _Q,
    # a Secret Manager payload's data (formats.secret_manager_defined_secrets)
    _Q + r"payload" + _Q + r"\s*:\s*\{[^{}]{0,256}" + _Q + r"data" + _Q + r"\s*:",
    # a Key Vault secret's id (formats.key_vault_defined_secrets: the value beside it), "/" escaped or not
    r"\.(?:vault|managedhsm)\.(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)(?::443)?(?:/|\\/)"
    r"(?:deleted)?secrets(?:/|\\/)",
    # a printable ASCII character written as a \u escape, at any depth, by an encoder other than Go's
    # (known.ASCII_ESCAPE): the literals the rules above look for (a token's prefix, a URL's "://", "-----BEGIN",
    # "Basic ") are then not in the raw text, only in the decoded value the judge reads
    ASCII_ESCAPE,
    # a command-line flag that names a credential, then the list's next item (a container's args: "--db-password",
    # "..."): record_values pairs them
    _FLAG_VALUE,
    # a key that ends in "token" (scan.secrets._names_a_token) inside a JSON document that is a string value, or
    # URL-encoded: the first form above for it, with the quote right after the word ("token" followed by other
    # word characters, on every Vault line, cost a tenth of this database's time)
    r"token(?:\\+\"|%22)\s*(?::|%3A)",
    _TOKEN_NAME_VALUE,
    # a command line that names a tool whose own flags take a credential (scan.argv: "mysql","-pX" in a list,
    # "sh -c 'redis-cli -a X'", "command=curl&command=-u"), and an exec request's URI (its command parameters are
    # one): record_values reads them as command lines
    r"(?:^|[^\w.-])" + argv.TOOL_WORD + r"(?:[\"&+\s]|\\[tn\"]|\\u0026|%20)",
    r"/exec[^\"?\s]*\?",
    # a JSON Web Key: its private members are secrets by their names (scan.secrets.JWK_PRIVATE)
    _Q + r"kty" + _Q + r"\s*:",
    # a PEM block base64-encoded inside a text (a kubeconfig's client-key-data in a ConfigMap): the judge decodes it
    # (scan.secrets.pem_private_b64)
    PEM_B64,
    # a name/value pair (a container's env: {"name":"SMTP_PASS","value":"..."}, either order) whose name is a
    # credential's as environments name them (scan.secrets.ENV_CREDENTIAL_NAME_END): the judge pairs them
    ENV_CREDENTIAL_NAME_END + _Q + r"\s*,\s*" + _Q + _VALUES + _Q + r"\s*:",
    _Q + _VALUES + _Q + r"\s*:\s*" + _Q + r"[^\"]*" + _Q + r"\s*,\s*" + _Q + _NAMES + _Q + r"\s*:\s*" + _Q
    + r"[^\"%]*" + ENV_CREDENTIAL_NAME_END + _Q,
)
# A JSON pair whose key names a token and whose value is not an HMAC digest ("API_TOKEN":"...", "authToken":"..."):
# the judge takes such a value as a credential however short (scan.secrets._names_a_token). Vault's and OpenBao's
# "client_token":"hmac-sha256:..." on every line is no candidate.
_TOKEN_VALUE = r'token"\s*:\s*"(?:[^h"]|h(?:[^m]|m(?:[^a]|a[^c])))'
# A key that is a credential by Vault's API whatever its value's shape (scan.secrets.VAULT_CREDENTIALS: a UUID, base32,
# digits) with a value that is no HMAC digest: the pair goes to the judge (only a Vault/OpenBao log's judge takes it).
_VAULT_CREDENTIAL_VALUE = (r'"(?:' + "|".join(sorted(VAULT_CREDENTIALS)) + r')"\s*:\s*"'
                           r'(?:[^h"]|h(?:[^m]|m(?:[^a]|a[^c])))')
_URI_PARAM = _WHOLE_LINE_PREFILTERS[4]
# The name/value form (the second above): costly for Hyperscan (a keyword, then any run up to a quote), so the C
# extension finds it itself when it is built (scan.native: colon_ends, held equal by tests/test_native.py).
_KEYWORD_VALUE = _WHOLE_LINE_PREFILTERS[1]
# detect-secrets' entropy detectors judge quoted runs of a charset. Shannon entropy is at most log2(the number of
# distinct characters): Base64HighEntropyString (limit 4.5) needs 23 of them, so a run of 23 or more characters of
# which one is not a lowercase hex digit or a dash (those are 17 symbols); HexHighEntropyString (limit 3.0) needs
# 9, so a quoted hex run of 9 or more digits. Non-ASCII bytes are in the class because the judge sees them
# \u-escaped.
_B64 = rb"A-Za-z0-9+/=_\\\-\x80-\xff"
_NOT_UUID = rb"G-Zg-zA-F+/=_\\\x80-\xff"  # a character that is not a lowercase hex digit or a dash
# detect-secrets drops an entropy hit that follows "<name>_id" (is_likely_id_string; the judge sees each value as
# {"key": "value"}, so that is a key ending in "_id", any case): a double-quoted run is looked at unless it is the
# value of such a key. The alternatives say what comes before the opening quote; the "^" forms cover a block's
# first bytes. (Every request's client_id is such a value: this halves what the judge is handed.)
_NOT_AFTER_ID = (rb'[^:]"', rb'[^"]:"', rb'[^dD]":"', rb'[^iI][dD]":"', rb'[^_][iI][dD]":"',
                 rb'^"', rb'^:"', rb'^":"', rb'^[dD]":"', rb'^[iI][dD]":"')


def _entropy_prefilters() -> list[bytes]:
    """Hyperscan expressions for the quoted runs the entropy detectors could flag (see above). A run is written
    by where its first character outside [0-9a-f-] sits (one alternation: many separate bounded repeats scan
    several times slower)."""
    u, n, b = rb"[0-9a-f\-]", b"[" + _NOT_UUID + b"]", b"[" + _B64 + b"]"
    runs = [(u + b"{%d}" % p if p else b"") + n + b + b"{%d,}" % (22 - p) for p in range(23)]
    runs.append(u + b"{23,}" + n + b + b"*")
    run = b"(?:" + b"|".join(runs) + b")"
    return [
        b"(?:" + b"|".join(_NOT_AFTER_ID) + b")" + run + b'"',
        b"'" + run + b"'",
        b'"[0-9A-Fa-f]{9,}"',
        b"'[0-9A-Fa-f]{9,}'",
    ]


# detect-secrets' IPPublicDetector leaves out 10., 127., 192.168. and 172.16-31. (as prefixes) by lookarounds
# Hyperscan cannot run; this superset keeps those exclusions (and needs a non-word character or the start before),
# so loopback and private client addresses do not send every line to the judge. An octet: 1 to 3 digits.
_FIRST_OCTET = rb"(?:\d|[02-9]\d|1[1-9]|[02-9]\d\d|1[013-68]\d|12[0-689]|17[013-9]|19[013-9])"
_IP_PREFILTER = (
    rb"(?:^|[^\w.])(?:" + _FIRST_OCTET + rb"\.\d{1,3}|192\.(?:\d{1,2}|[02-9]\d\d|1[0-57-9]\d|16[0-79])"
    rb"|172\.(?:\d|(?:0\d|1[0-5]|3[2-9]|[4-9]\d)\d?))\.\d{1,3}\.\d{1,3}"
)

# detect-secrets' keyed detectors (IBM Cloud IAM, IBM COS HMAC, SoftLayer, Cloudant) share one shape: after
# "(?:(?<=\W)|(?<=^))(?:\[|)(?:"|\'|)", optional name prefixes, then a name ending in key/pwd/pw/password/pass/token;
# an optional closing quote and bracket; spaces, an assignment (= : := => :: or spaces), spaces; an optional quote;
# then the value: {N} characters of a class. Hyperscan scans their optional prefixes slowly (a quarter of the
# block database's time). A regex of exactly that shape, whose name ends in one of those words and whose value
# class lies within [A-Za-z0-9_-] (caseless), is replaced by ``_keyed_superset`` of the smallest N: every string
# one of them matches has the word, at most two of "'], a run of " =:>", at most one quote, and N such characters.
_KEYED_HEAD = r"""(?:(?<=\W)|(?<=^))(?:\[|)(?:"|\'|)"""
_KEYED_MID = r"""(?:"|\'|)(?:\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\'|)("""
_KEYED_SHAPE = re.compile(re.escape(_KEYED_HEAD) + r"(?P<names>.*)" + re.escape(_KEYED_MID)
                          + r"(?P<value>\[[^\]]*\])\{(?P<n>\d+)\}")
_KEYED_WORDS = ("key", "pwd", "pw", "password", "pass", "token")
_KEYED_LAST = re.compile(r"\(\?:(?:%s)(?:\|(?:%s))*\)$|\(\?:secret\[-_\]\?\(\?:access\)\?\[-_\]\?key\)$"
                         % (("|".join(_KEYED_WORDS),) * 2))


def _keyed_length(rx: DetectorRegex) -> Optional[int]:
    """N, when ``rx`` has the keyed detectors' shape (above) and ``_keyed_superset(N)`` matches wherever it does;
    else None."""
    m = _KEYED_SHAPE.match(rx.pattern)
    if m is None or rx.verbose or _KEYED_LAST.search(m.group("names")) is None:
        return None
    value = re.compile(m.group("value").encode("latin-1"), re.IGNORECASE)
    allowed = re.compile(rb"[A-Za-z0-9_\-]")
    if any(value.fullmatch(bytes([b])) and not allowed.fullmatch(bytes([b])) for b in range(256)):
        return None
    return int(m.group("n"))


def _keyed_superset(n: int) -> bytes:
    """One expression that matches wherever a keyed regex with a value of ``n`` or more characters does."""
    return rb"""(?:%s)["'\]]{0,2}[ =:>]+["']?[A-Za-z0-9_\-]{%d}""" % ("|".join(_KEYED_WORDS).encode(), n)


def line_finder(data: bytes) -> tuple[Callable[[int], int], list[int]]:
    """``line_of(end)``: the start of the line of ``data`` that holds the byte before ``end``, and ``span``: [start,
    end) of the line it found last. Hits come in order and many fall in one line (a long value holds a shape again
    and again), where looking back for the line's start each time would cost the line's length a hit."""
    rfind, find, size = data.rfind, data.find, len(data)
    span = [0, -1]

    def line_of(end: int) -> int:
        if span[0] < end <= span[1]:
            return span[0]
        ls = rfind(b"\n", 0, end) + 1
        le = find(b"\n", ls)
        span[0], span[1] = ls, le if le >= 0 else size
        return ls

    return line_of, span


@dataclass(frozen=True)
class LineHits:
    """What the judge found on one line: known values (name, encoding, key) and generic hits."""

    line: int
    known: tuple[tuple[str, str, str], ...]
    generic: tuple[GenericHit, ...]
    parsed: bool  # False: the line is not a JSON object, it was judged as one string


# The static databases (everything but the known values), compiled once per process or loaded from the user's
# cache: (main db, entropy db, keyword expression ids, whole-line expression ids).
_STATIC: dict[bytes, tuple[Any, Any, frozenset[int], frozenset[int]]] = {}
# LeakScanner's expressions (``_material``) with the key they are compiled and cached by, by whether the C extension
# is missing and whether its pass_file_ends is not used: made once a process.
_Material = tuple[bytes, list[bytes], list[int], frozenset[int], frozenset[int], list[bytes]]
_MATERIAL: dict[tuple[bool, bool], _Material] = {}
# The known values' small database, by needle set: compiled per run in a child, never cached on disk (its patterns
# spell secrets).
_KNOWN: dict[tuple[str, ...], Any] = {}
# Values and pairs judged clean, by everything the verdict depends on: remembered across the files of a process.
_CLEAN: dict[Any, tuple[set[bytes], set[tuple[bytes, bytes]]]] = {}
_AHEAD: dict[tuple[str, ...], threading.Thread] = {}  # known_ahead's compiles, by the needles they are for
_AHEAD_VALUES: list[tuple[dict[str, str], KnownValues]] = []  # known_ahead's values and their needles (the last)


def _known_values(secrets: Mapping[str, str]) -> KnownValues:
    """The needles of ``secrets``: the ones known_ahead made for the same values, else made now."""
    for values, known in _AHEAD_VALUES:
        if values == secrets:
            return known
    return KnownValues(secrets)


def _remember_known(key: tuple[str, ...], db: Any) -> None:
    if len(_KNOWN) > 8:
        _KNOWN.clear()
    _KNOWN[key] = db


def _compile_known(hs: Any, known: KnownValues) -> Any:
    """The literal database of ``known``'s needles that have an anchor (compiled in a child: ``_isolated``), or None
    when every needle is found by ``unanchored``."""
    pre = known.prefilters()
    if not pre:
        return None
    exprs = [e for e, _ in pre]
    flags = [hs.HS_FLAG_CASELESS if caseless else 0 for _, caseless in pre]

    def build() -> bytes:
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags, literal=True)
        return bytes(hs.dumpb(db))

    return _load_one(_isolated(build))


def known_ahead(secrets: Mapping[str, str]) -> None:
    """Begin compiling the known-value database of ``secrets`` on a thread now: a live run calls it once the
    scenario is over and the values are final, and the compile (in its child, which the thread waits for) overlaps
    the log's collection and seal. The LeakScanner made for the same values then takes it instead of compiling it
    (about 25 ms on the critical path). A failure here is nothing: the scanner compiles it again and says why."""
    import hyperscan

    known = KnownValues(secrets)
    _AHEAD_VALUES[:] = [(dict(secrets), known)]
    key = known.needles
    if not key or key in _KNOWN or key in _AHEAD:
        return

    def run() -> None:
        try:
            _remember_known(key, _compile_known(hyperscan, known))
        except Exception:  # the scanner compiles it again, in the main thread, and reports what fails
            pass

    _AHEAD[key] = thread = threading.Thread(target=run, name="auditready-known-ahead", daemon=True)
    thread.start()


class LeakScanner:
    """Secret detection over raw log text at disk speed. A Hyperscan database holds a superset of what can be a
    secret: Vault token shapes, detect-secrets' own detector regexes (compiled in prefilter mode), its keyword
    names, and quoted runs that could pass its entropy limits (found by the C extension when it is built:
    scan.native); a small one holds every spelling of the known values (``KnownValues.prefilters``). Only lines
    with a hit are parsed and judged value by value: known values by KnownValues, everything else by
    GenericScanner, that is, by detect-secrets itself. A quoted run already judged clean under the same key (in
    this file or an earlier one of the process) is not judged again. Use as a context manager (detect-secrets
    finds nothing outside its settings context)."""

    def __init__(self, secrets: Mapping[str, str], structural: Iterable[str] = (),
                 fmt: Optional[LogFormat] = None) -> None:
        import hyperscan  # lazy: only the offline verification and no_secret_leak need it

        from . import native

        self.known = _known_values(secrets)
        self.fmt = fmt  # the log's format: what is structure, by design or a secret by definition there
        self.generic = GenericScanner(structural, fmt)
        verdict_key = (self.known.needles, frozenset(self.generic.structural), frozenset(self.generic.placeholders),
                       frozenset(self.generic.path_keys), frozenset(self.generic.resource_keys),
                       self.generic.names.pattern if self.generic.names else "")
        if verdict_key not in _CLEAN:
            if len(_CLEAN) >= 4:
                _CLEAN.clear()
            _CLEAN[verdict_key] = (set(), set())
        # judged clean under any non-structural, non-keyword key; and under this key only
        self._clean_values, self._clean_pairs = _CLEAN[verdict_key]
        self._hs = hyperscan
        self._native = native.lib  # the C extension's entropy pass, or None: the Hyperscan entropy database
        # the C extension's pass for tokens' password-file prefilter, while tokens holds the one it implements
        self._pass_file: Optional[Callable[[bytes], list[int]]] = (
            native.lib.pass_file_ends if native.lib is not None and (native.PASS_FILE, False) in tokens.PREFILTERS
            else None)
        self._db: Any = None
        self._known_db: Any = None
        self._unanchored: Optional[re.Pattern[bytes]] = None
        # is there an encoded run wrapped into lines, or hex with separators between bytes? (one pass for both)
        self._wrapped: Optional[Callable[[bytes], bool]] = None
        self._keyword_ids: frozenset[int] = frozenset()
        self._whole_ids: frozenset[int] = frozenset()  # expressions whose lines are judged whole, like known values
        # the id of an expression whose matches this log's judge would not take (None: none; never the id -1 that the
        # C extension's events are handed under)
        self._vault_pair: Optional[int] = None
        self._entropy_db: Any = None

    def __enter__(self) -> LeakScanner:
        self.generic.__enter__()
        self._db, self._entropy_db, self._keyword_ids, self._whole_ids = self._static()
        # a Vault credential key's pair (_VAULT_CREDENTIAL_VALUE) is a candidate in a Vault/OpenBao log only
        self._vault_pair = None if self.generic.vault else _MATERIAL[self._material_key()][1].index(
            _VAULT_CREDENTIAL_VALUE.encode("latin-1"))
        key = self.known.needles
        ahead = _AHEAD.pop(key, None)
        if ahead is not None:  # known_ahead began it: its compile child is bounded by COMPILE_DEADLINE
            ahead.join()
        if key and key not in _KNOWN:
            _remember_known(key, _compile_known(self._hs, self.known))
        self._known_db = _KNOWN.get(key)
        self._unanchored = self.known.unanchored()
        self._wrapped = any_match((WRAPPED, SEPARATED)) if self.known else None
        self.generic.prefilter = self._may_hold
        return self

    def __exit__(self, *exc: object) -> None:
        self.generic.__exit__(*exc)

    def _material_key(self) -> tuple[bool, bool]:
        return self._native is None, self._pass_file is None

    def _static(self) -> tuple[Any, Any, frozenset[int], frozenset[int]]:
        made = _MATERIAL.get(self._material_key())
        if made is None:  # the same in every scanner of the process: made once (a set of 1,000 files made it 1,000
            exprs, flags, keyword_ids, whole_ids, ent = self._material()  # times, a millisecond each)
            made = _MATERIAL[self._material_key()] = (repr(("leak", exprs, flags, ent)).encode(), exprs, flags,
                                                      keyword_ids, whole_ids, ent)
        material, exprs, flags, keyword_ids, whole_ids, ent = made
        cached = _STATIC.get(material)
        if cached is not None:
            return cached
        hs = self._hs

        def build() -> bytes:
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
            edb = hs.Database(mode=hs.HS_MODE_BLOCK)
            edb.compile(expressions=ent, ids=[0] * len(ent), elements=len(ent), flags=[0] * len(ent))
            a, b = bytes(hs.dumpb(db)), bytes(hs.dumpb(edb))
            return len(a).to_bytes(8, "big") + a + b

        def load(blob: bytes) -> tuple[Any, Any]:
            cut = int.from_bytes(blob[:8], "big") + 8
            if not 8 < cut < len(blob):
                raise ValueError("not two databases")
            return _load_one(blob[8:cut]), _load_one(blob[cut:])

        db, edb = compiled(material, build, load)
        _STATIC.clear()  # one pattern set per process in practice
        _STATIC[material] = out = (db, edb, keyword_ids, whole_ids)
        return out

    def _material(self) -> tuple[list[bytes], list[int], frozenset[int], frozenset[int], list[bytes]]:
        """The main database's expressions and flags, the ids of the keyword and whole-line ones, and the entropy
        database's expressions."""
        from . import native

        hs = self._hs
        exprs: list[bytes] = []
        flags: list[int] = []
        keyword_ids: set[int] = set()
        whole_ids: set[int] = set()

        def add(pattern: bytes, flag: int) -> int:
            exprs.append(pattern)
            flags.append(flag)
            return len(exprs) - 1

        for token, caseless in tokens.PREFILTERS:  # credentials of a documented shape (scan.tokens)
            if self._pass_file is not None and (token, caseless) == (native.PASS_FILE, False):
                continue  # the C extension's pass_file_ends
            add(token, hs.HS_FLAG_CASELESS if caseless else 0)
        for kw in _KEYWORD_PREFILTERS:
            keyword_ids.add(add(kw.encode("latin-1"), hs.HS_FLAG_CASELESS))
        if self._native is None:  # else the C extension's colon_ends
            add(_TOKEN_VALUE.encode("latin-1"), hs.HS_FLAG_CASELESS)
        add(_VAULT_CREDENTIAL_VALUE.encode("latin-1"), 0)
        for whole in _WHOLE_LINE_PREFILTERS:
            if self._native is not None and whole in (_KEYWORD_VALUE, _TOKEN_NAME_VALUE, _URI_PARAM):
                continue  # the C extension's colon_ends and uri_ip_ends (costly expressions for Hyperscan)
            whole_ids.add(add(whole.encode("latin-1"), hs.HS_FLAG_CASELESS))
        if self._native is None:
            add(_IP_PREFILTER, 0)
        whole_ids.add(add(_FOLDING_LETTERS, hs.HS_FLAG_CASELESS))
        regexes, unknown = detector_regexes()
        lengths = [_keyed_length(rx) for rx in regexes]
        keyed = [n for n in lengths if n is not None]
        if keyed:
            add(_keyed_superset(min(keyed)), hs.HS_FLAG_CASELESS)
        for rx, n in zip(regexes, lengths):
            if n is not None:
                continue  # held by the keyed superset
            flag = hs.HS_FLAG_PREFILTER | (hs.HS_FLAG_CASELESS if rx.ignorecase else 0)
            add((("(?x)" if rx.verbose else "") + rx.pattern).encode("utf-8"),
                flag | (hs.HS_FLAG_DOTALL if rx.dotall else 0))
        if unknown:
            # A detector we cannot prefilter: everything goes to the judge (slow, never wrong).
            add(rb"[^\n]", 0)
        return exprs, flags, frozenset(keyword_ids), frozenset(whole_ids), _entropy_prefilters()

    def scan_block(self, data: bytes, first_line: int) -> list[LineHits]:
        """Judge what the prefilter finds in ``data`` (whole lines, newline-separated; the first is line
        ``first_line``). Returns the lines where something was found, in line order.

        A prefilter hit inside a JSON string value is judged as that value under its key (detect-secrets'
        verdict depends on nothing else), once: clean values are remembered, so a log's repeated paths, client
        ids and addresses cost a set lookup. Hits on known values, and values that are not plain "key":"value"
        pairs, send their whole line to the judge."""
        lines: set[int] = set()  # offsets of lines to judge whole
        pending: dict[tuple[bytes, bytes], int] = {}  # (key, value) -> offset of a first occurrence
        clean, skip = self._clean_values, self._clean_pairs
        keyword, whole_ids = self._keyword_ids, self._whole_ids
        digest_at = _DIGEST_BYTES.match
        rfind = data.rfind
        line_of, span = line_finder(data)
        if self._native is not None:  # _KEYWORD_VALUE, found by the C extension: the line is judged whole
            named, token_pairs = self._native.colon_ends(data)
            for end in named:
                lines.add(line_of(end))
        if self._known_db is not None:  # a known value's spelling: its line is judged whole
            self._known_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: lines.add(line_of(e)))
        if self._unanchored is not None:  # needles with no anchor to look for (KnownValues.prefilters)
            for m in self._unanchored.finditer(data):
                lines.add(line_of(m.end()))
        if self.known and self._wrapped is not None and self._wrapped(data):
            for m in _WRAPPED_RE.finditer(data):  # an encoded run wrapped into lines: a needle may be cut by a
                lines.add(line_of(m.end()))  # line break (KnownValues.find)
            for m in _SEPARATED_RE.finditer(data):  # hex with separators between bytes: read joined
                lines.add(line_of(m.end()))
        done = [-1, -1]  # the value last judged (its quotes' offsets): later hits inside it are the same value

        ignored = self._vault_pair

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: Any) -> Optional[bool]:
            if pid == ignored or (span[0] < end <= span[1] and span[0] in lines):
                return None  # no candidate in this log's format, or in a line judged whole
            if pid in whole_ids:
                lines.add(line_of(end))
                return None
            if done[0] < end <= done[1]:
                return None  # in the value just judged
            if pid in keyword and data[end : end + 1] == b'"':
                s0 = end  # a keyword name matched up to its colon: the value follows
            else:
                pos = end - 1
                if data[pos] in (34, 39):  # ended on a closing quote
                    pos -= 1
                s0 = data.rfind(b'"', 0, pos + 1)
            e0 = data.find(b'"', s0 + 1)
            if e0 > 0 and data[e0 + 1 : e0 + 3] == b':"':  # the match ended in a key: judge it, and its value
                key_text = data[s0 + 1 : e0]  # (Vault digests values, never keys: a token as a key is in clear)
                if data[e0 - 1] != 92 and (b"", key_text) not in skip:
                    pending.setdefault((b"", key_text), s0)
                s0 = e0 + 2
                e0 = data.find(b'"', s0 + 1)
            if s0 < 2 or e0 < 0 or data[s0 - 2 : s0] != b'":' or data[e0 - 1] == 92:
                lines.add(line_of(end))  # not a plain "key":"value": judge the line
                return None
            done[0], done[1] = s0, e0
            if digest_at(data, s0 + 1, e0) is not None:
                return None  # an HMAC digest under a keyword ("password":"hmac-sha256:..."): skipped by the judge
            value = data[s0 + 1 : e0]
            ks = data.rfind(b'"', 0, s0 - 2)
            pair = (data[ks + 1 : s0 - 2], value)
            if pair not in skip and pair not in pending:
                pending[pair] = s0
            return None

        passes = self._pass_file(data) if self._pass_file is not None else None
        if passes:  # native.PASS_FILE's ends, handed over in their place among Hyperscan's (which come by their end)
            passes.reverse()

            def in_order(pid: int, start: int, end: int, flags: int, ctx: Any) -> Optional[bool]:
                while passes and passes[-1] < end:
                    on_match(-1, 0, passes.pop(), 0, None)
                return on_match(pid, start, end, flags, ctx)

            self._db.scan(data, match_event_handler=in_order)
            while passes:
                on_match(-1, 0, passes.pop(), 0, None)
        else:
            self._db.scan(data, match_event_handler=on_match)
        if self._native is not None:  # _URI_PARAM (its line judged whole), _IP_PREFILTER and _TOKEN_VALUE, found by
            uri, ip = self._native.uri_ip_ends(data)  # the C extension
            for end in uri:
                lines.add(line_of(end))
            for end in ip:
                on_match(-1, 0, end, 0, None)
            for end in token_pairs:
                on_match(-1, 0, end, 0, None)
        # Entropy runs are many (paths, long key names) and repeat: collect their ends in C-speed appends, then
        # skip the values already judged clean whatever their key, which after the first blocks is nearly all.
        ends: list[int]
        if self._native is not None:  # the same ends, less those of values already judged clean, in one C pass
            ends = self._native.entropy_ends(data, clean)
        else:
            ends = []
            push = ends.append
            self._entropy_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: push(e))
        whole: set[bytes] = set()  # values whose line is judged whole (one line per value and block)
        for end in ends:
            q = data[end - 1]  # the closing quote, as an int
            s0 = rfind(q, 0, end - 1)
            value = data[s0 + 1 : end - 1]
            if value in clean:
                continue
            if q == 34 and data[end : end + 1] == b":":
                pending.setdefault((b"", value), s0)  # a long key: the judge reads it as a value too
            elif q == 34 and data[s0 - 2 : s0] == b'":' and data[s0 - 3 : s0 - 2] != b"\\":
                ks = rfind(b'"', 0, s0 - 2)
                pair = (data[ks + 1 : s0 - 2], value)
                if pair not in skip:
                    pending.setdefault(pair, s0)
            elif value not in whole:  # in single quotes, a list item, or not a plain "key":"value"
                whole.add(value)
                lines.add(line_of(end))
        for pair, offset in pending.items():
            verdict = self._judge_pair(*pair)
            if verdict is None:
                lines.add(data.rfind(b"\n", 0, offset) + 1)
                continue
            if verdict:
                continue
            # A hit: every line of the block that holds this pair (or this long key) is judged (and reported) whole.
            needle = b'"' + pair[0] + b'":"' + pair[1] + b'"' if pair[0] else b'"' + pair[1] + b'":'
            lines.add(data.rfind(b"\n", 0, offset) + 1)
            at = data.find(needle)
            while at >= 0:
                lines.add(data.rfind(b"\n", 0, at) + 1)
                at = data.find(needle, at + 1)
        out: list[LineHits] = []
        line, pos = first_line, 0
        for ls in sorted(lines):
            le = data.find(b"\n", ls)
            hits = self.judge_line(0, data[ls : le if le >= 0 else len(data)])
            if hits is not None:  # the line's number is counted only for a line with a hit
                line += data.count(b"\n", pos, ls)
                pos = ls
                out.append(LineHits(line, hits.known, hits.generic, hits.parsed))
        return out

    def _may_hold(self, texts: list[str]) -> list[bool]:
        """For each of ``texts`` (what detect-secrets is handed, one line each), whether any expression of the
        block databases matches in it: every text where detect-secrets could find something does (the databases
        are a superset of its detectors)."""
        data = "\n".join(texts).encode("utf-8", "surrogatepass")
        starts = [0]
        for text in texts[:-1]:
            starts.append(starts[-1] + len(text.encode("utf-8", "surrogatepass")) + 1)
        ends: list[int] = []
        push = ends.append
        self._db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: push(e))
        if self._native is not None:  # the expressions the C extension finds instead (see _material)
            for found in (*self._native.colon_ends(data), *self._native.uri_ip_ends(data)):
                ends.extend(found)
            if self._pass_file is not None:
                ends.extend(self._pass_file(data))
            ends.extend(self._native.entropy_ends(data, None))
        else:
            self._entropy_db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c: push(e))
        hold = [False] * len(texts)
        for end in ends:
            hold[bisect.bisect_right(starts, end - 1) - 1] = True
        return hold

    def _judge_pair(self, key_raw: bytes, value_raw: bytes) -> Optional[bool]:
        """True: clean (remembered); False: detect-secrets or the token rule flags it; None: cannot tell
        from the pair alone (escapes that do not decode)."""
        try:
            key = json.loads(b'"' + key_raw + b'"')
            value = json.loads(b'"' + value_raw + b'"')
        except ValueError:
            return None
        if self.known and self.known.find(value):
            return False
        if json_document(value) is not None:
            return None  # judged as the values it holds, in the line's context
        if len(self._clean_values) + len(self._clean_pairs) > CACHE_MAX:
            self._clean_values.clear()
            self._clean_pairs.clear()
        if self.generic.skips(key, value):
            self._clean_pairs.add((key_raw, value_raw))
            return True
        if self.generic.scan_value(key, value):
            return False
        # Clean under this key. For an entropy run the key matters only through the keyword detector (whose
        # names the prefilter matches on their own) and filters that suppress hits: a value that is clean under
        # a neutral key too is remembered alone. (Not a value read in windows: judging a megabyte again under two
        # more keys costs more than it saves, and such a value seldom comes back under another key.)
        neutral = ("value", "path") if "/" in value else ("value",)  # "path": judged segment by segment
        if len(value) > WINDOW_MAX or any(self.generic.scan_value(k, value) for k in neutral):
            self._clean_pairs.add((key_raw, value_raw))
        else:
            self._clean_values.add(value_raw)
        return True

    def judge_line(self, line: int, raw: bytes) -> Optional[LineHits]:
        """Everything found on one line: the known values spelled anywhere in its text (named by the key whose
        value holds them, when one does), the values the format defines as secrets, and detect-secrets' hits in
        each of its string values (as scan.secrets.record_values takes them apart)."""
        text = raw.decode("utf-8", "replace")
        pairs: list[tuple[str, str]]
        parsed = False
        start = text.find("{")
        data: Any = None
        if start >= 0:
            try:
                data = _loads(text[start:])
            except (ValueError, RecursionError):
                data = None
        defined: list[tuple[str, str, str]] = []
        if isinstance(data, dict):
            pairs, defined = record_values(data, self.fmt)
            parsed = True
        else:
            pairs = loose_values(text)
        known: tuple[tuple[str, str, str], ...] = ()
        found = self.known.find(text) if self.known else []
        held: set[tuple[str, str]] = set()  # the pairs whose value holds a known value
        if found:
            # The text says how each value was written; the parsed values (escapes decoded) say under which keys: the
            # keys of the values that hold the secret in that encoding (hex under one key, base64 under another: each
            # finding names its own; red team rt60 F6), else in that encoding once the text's escapes are taken off
            # (a JSON-escaped base64 is base64 in the value), else the first that holds it at all. Every key that
            # holds it is named: each is fixed on its own (two audited headers with one credential, rt80 F1).
            keys: dict[tuple[str, str], dict[str, None]] = {}
            for key, value in pairs:
                hits = self.known.find(value)
                if hits:
                    held.add((key, value))
                for hit in hits:
                    for spelled in (hit.encoding, _needle_encoding(hit.encoding)):
                        keys.setdefault((hit.name, spelled), {})[key] = None
                    keys.setdefault((hit.name, ""), {key: None})
            known = tuple((h.name, h.encoding, key) for h in found
                          for key in (keys.get((h.name, h.encoding)) or keys.get((h.name, _needle_encoding(h.encoding)))
                                      or keys.get((h.name, "")) or ("",)))
        generic = tuple(GenericHit(kind, key, fingerprint(value)) for kind, key, value in defined)
        if held:
            # A known value is reported as itself: not again as a high-entropy string or a keyword's value (what
            # detect-secrets says of its randomness or its key); a credential of a format it also holds still is.
            rest = [pair for pair in pairs if pair not in held]
            generic += tuple(h for h in self.generic.scan_strings(sorted(held)) if h.kind not in NOT_BY_NAME)
            generic += tuple(h for h in self.generic.scan_strings(rest) if h not in generic)
        else:
            generic += tuple(self.generic.scan_strings(pairs))
        if not known and not generic:
            return None
        return LineHits(line, known, generic, parsed)


_SPELLINGS = ("url-encoded", "json-escaped", "rsyslog-escaped", "html-escaped", "line-wrapped")


def _needle_encoding(label: str) -> str:
    """The encoding a KnownHit's label names, without how its characters were written ("base64+json-escaped" ->
    "base64", "hex with separators" -> "hex", "json-escaped" -> "raw")."""
    parts = [p for p in label.replace(" with separators", "").replace(" (lower case)", "").split("+")
             if p not in _SPELLINGS]
    return parts[0] if parts else "raw"


def _loads(text: str) -> Any:
    from ..auditlog.vault_json import loads

    return loads(text)
