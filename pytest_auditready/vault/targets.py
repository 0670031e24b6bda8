"""Targets: what `pytest_auditready_make_target` returns. A target opens to an Endpoint and closes after."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from ..config import Settings, token_from_env
from ..errors import AuditReadyError, ConfigError
from ..text import redact
from .embedded import EmbeddedServer, child_env, drills_allowed, find_bao


@dataclass(frozen=True)
class Endpoint:
    name: str  # "embedded" or the URL
    url: str
    token: str
    log_path: Optional[str]
    # the source the target itself reads its log with (the embedded socket device's receiver), if any: the
    # default pytest_auditready_make_log_source returns it
    log_source: Optional[Any] = field(default=None, compare=False)

    def __repr__(self) -> str:  # the token never shows
        return f"Endpoint(name={self.name!r}, url={self.url!r}, log_path={self.log_path!r})"


@dataclass(frozen=True)
class KeptLog:
    """A target's log kept past its close, for the checks: the log, and the public key of its sealed chain
    (``LOG.digests`` beside it); ``public_key`` is None when it could not be sealed, with ``problem`` saying why."""

    path: str
    public_key: Optional[str]
    problem: Optional[AuditReadyError] = None


class Target(Protocol):
    name: str

    def open(self) -> Endpoint: ...

    def close(self) -> None: ...


def _same_prefix(cfg: Any, settings: Settings) -> None:
    """The audited device's ``prefix`` is the one the log is read with (log_prefix): otherwise every entry of the
    run would be refused as text before the JSON, after the log wait, with no line of the configuration named."""
    from .config import choose_device

    chosen = choose_device(cfg, settings.audit_device)
    prefix = chosen.options.get("prefix", "")
    if prefix and prefix != settings.log_prefix:
        import json

        raise ConfigError(f"the audited device {json.dumps(chosen.name)} ({chosen.where_option('prefix')}) writes "
                          f"the prefix {json.dumps(prefix)} before each entry, and log_prefix is "
                          f"{json.dumps(settings.log_prefix)}",
                          f"set log_prefix = {json.dumps(prefix)} in [tool.auditready], or drop the device's prefix")


class EmbeddedTarget:
    name = "embedded"

    def __init__(self, settings: Settings, socket_relay: Optional[Callable[[str], str]] = None) -> None:
        """``socket_relay``: see ``EmbeddedServer`` (a hop between the socket device and its receiver)."""
        self._settings = settings
        self._timeout = settings.request_timeout
        self._relay = socket_relay
        self._server = EmbeddedServer(audit_transport=settings.audit_transport, socket_relay=socket_relay)
        self._kept = False
        self._early: Optional[threading.Thread] = None  # the start begun by ``begin``
        self._early_error: Optional[BaseException] = None

    def begin(self) -> None:
        """Start the default server (no vault_config) on a thread of its own now: its boot, about 0.15 s spent in
        the bao process, overlaps what this process does meanwhile (pytest importing the checks and collecting).
        ``open`` takes the server over, and says the start's error if it failed; ``close`` stops it either way."""
        if self._settings.vault_config or self._settings.bootstrap or self._early is not None:
            return

        def start() -> None:
            try:
                self._server.start()
            except BaseException as exc:  # said by open(), in the main thread
                self._early_error = exc

        self._early = threading.Thread(target=start, name="auditready-early-start", daemon=True)
        self._early.start()

    def _started(self) -> None:
        """Wait for the start ``begin`` began (bounded by the server's own start deadline)."""
        if self._early is not None:
            self._early.join()

    def open(self) -> Endpoint:
        """Start the throw-away server: from the user's vault_config (policies written, bootstrap run) if set."""
        settings = self._settings
        if settings.vault_config:
            from .config import load_vault_config

            cfg = load_vault_config(settings.vault_config)
            _same_prefix(cfg, settings)
            self._server = EmbeddedServer(vault_config=cfg, audit_device=settings.audit_device,
                                          audit_transport=settings.audit_transport, socket_relay=self._relay)
        elif settings.bootstrap:
            raise ConfigError("bootstrap is set but vault_config is not",
                              "set vault_config (--auditready-vault-config DIR) to the folder the bootstrap configures")
        if self._early is None:
            self._server.start()
        self._started()
        if self._early_error is not None:  # the start ``begin`` began failed
            raise self._early_error
        if self._server.vault_config is not None:
            self._write_policies()
            if self._settings.bootstrap:
                self._bootstrap(self._settings.bootstrap)
        drills_allowed(self._server)  # this throw-away server, and only it, may be drilled (checks/fail_closed)
        source = None
        if self._server.receiver is not None:
            from ..auditlog.socket_source import SocketLogSource

            source = SocketLogSource(self._server.receiver, prefix=settings.log_prefix)
        return Endpoint("embedded", self._server.url, self._server.root_token, str(self._server.log_path), source)

    def _write_policies(self) -> None:
        from .client import VaultClient

        cfg = self._server.vault_config
        assert cfg is not None
        client = VaultClient(self._server.url, self._server.root_token, timeout=self._timeout)
        try:
            for name, text in cfg.policies:
                r = client.call("PUT", f"sys/policies/acl/{name}", {"policy": text})
                if not r.ok:
                    raise AuditReadyError(f"the policy {name} (policies/ of {cfg.folder}) was refused by OpenBao "
                                          f"({r.status}: {r.error[:200]})", "fix the policy")
        finally:
            client.close()

    def _bootstrap(self, command: str) -> None:
        """Run the user's bootstrap against the throw-away server, in the vault_config folder, within
        bootstrap_timeout; its failure is one line with the last lines it wrote to stderr."""
        server, cfg = self._server, self._server.vault_config
        assert cfg is not None and server.workdir is not None
        bao_dir = os.path.dirname(find_bao())
        env = child_env(server.workdir, VAULT_ADDR=server.url, BAO_ADDR=server.url, VAULT_TOKEN=server.root_token,
                        BAO_TOKEN=server.root_token)
        env["PATH"] = bao_dir + os.pathsep + env.get("PATH", os.defpath)  # the `bao` CLI is there for it
        if server.ca_file is not None:
            env.update(VAULT_CACERT=str(server.ca_file), BAO_CACERT=str(server.ca_file))
        try:
            args = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"bootstrap is not a valid command line ({exc})", "quote it as a shell would") from None
        timeout = self._settings.bootstrap_timeout
        fix = f"run it by hand against a dev server (bao server -dev) from {cfg.folder}"
        try:
            # its own process group, so that a timeout ends whatever it started too
            proc = subprocess.Popen(args, cwd=cfg.folder, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise AuditReadyError(f"the bootstrap {command!r} cannot run: {exc.strerror}",
                                  "check the command (relative paths start in the vault_config folder)") from None
        tail = bytearray()  # the last of what it writes to stderr (bounded), read while it runs
        reader = threading.Thread(target=_read_tail, args=(proc.stderr, tail), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)  # the bootstrap itself: what it started in the background is not waited for
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if isinstance(exc, subprocess.TimeoutExpired):
                raise AuditReadyError(f"the bootstrap {command!r} did not finish within {timeout:g} s",
                                      f"raise bootstrap_timeout, or {fix}") from None
            raise
        finally:
            # Whatever it left running (a `cmd &` holding its stderr) ends with it: nothing outlives the bootstrap.
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            reader.join(5)
            assert proc.stderr is not None
            if not reader.is_alive():  # else a process in a session of its own (setsid) still holds the pipe: closing
                proc.stderr.close()    # it would wait for the reader's lock, the process's whole life; it ends then
        stderr = bytes(tail)
        if proc.returncode != 0:
            # the root token in any spelling no_secret_leak reads (base64, hex, escapes, ...) and in any case, and
            # what has a credential's shape
            from ..auditlog.sources import blank_secrets

            err = redact(stderr.decode(errors="replace"), {"root token": server.root_token})
            err = blank_secrets(re.sub(re.escape(server.root_token), "<root token>", err, flags=re.IGNORECASE), env)
            last = " | ".join(ln.strip() for ln in err.strip().splitlines()[-3:] if ln.strip())
            stopped = server.exit_status()
            if stopped is not None:  # the server died under it: that, not the bootstrap, is the cause (rt95 F6d)
                raise AuditReadyError(
                    f"the throw-away OpenBao stopped (status {stopped}) while the bootstrap {command!r} ran, which "
                    f"then failed (exit {proc.returncode})" + (f": {last[:300]}" if last else ""),
                    "run again; if the server stops again, run `bao server -dev` with the vault_config folder's "
                    "files by hand to see why (memory, a signal, another process)")
            raise AuditReadyError(f"the bootstrap {command!r} failed (exit {proc.returncode})"
                                  + (f": {last[:400]}" if last else ""), fix)

    def keep_log(self, dest: str) -> "KeptLog":
        """Before the throw-away server and its folder go: seal its audit log with an ephemeral key (the sealer
        any vault runs beside its log) and copy the log, its digest chain and the public key into ``dest`` (a
        private folder the caller removes once the checks have judged them). Judges nothing itself."""
        from ..seal.evidence import seal_with_ephemeral_key

        assert self._server.workdir is not None
        self._server.settle()  # what the socket device sent is all spooled before the seal
        kept = KeptLog(*seal_with_ephemeral_key(self._server.log_path, self._server.workdir, dest))
        self._kept = True
        return kept

    def close(self) -> None:
        """Stop the server: at once (SIGKILL) when its log was read and sealed (keep_log), else gracefully; one
        ``begin`` started is waited for first."""
        self._started()
        self._server.stop(fast=self._kept)


def _read_tail(stream: Any, tail: bytearray, keep: int = 64 << 10) -> None:
    """Read ``stream`` to its end, keeping its last ``keep`` bytes in ``tail``."""
    with contextlib.suppress(OSError, ValueError):
        for chunk in iter(lambda: stream.read1(1 << 16), b""):
            tail += chunk
            del tail[:-keep]


class UrlTarget:
    def __init__(self, settings: Settings) -> None:
        self.name = settings.target
        self._settings = settings

    def open(self) -> Endpoint:
        if self._settings.vault_config or self._settings.bootstrap:
            raise ConfigError(f"vault_config and bootstrap boot the embedded target, not {self.name}",
                              "drop --auditready-target (the embedded target is the default) or vault_config")
        if self._settings.audit_transport != "file":
            raise ConfigError(f"audit_transport = \"{self._settings.audit_transport}\" is for the embedded target, "
                              f"whose device auditready receives itself, not {self.name}",
                              "for a URL target, read what your collector keeps: --auditready-log or "
                              "--auditready-log-command")
        token = token_from_env()
        if token is None:
            raise ConfigError(
                f"no token for {self.name}",
                "export VAULT_TOKEN (or BAO_TOKEN) in the environment; tokens are never taken from options",
            )
        log = self._settings.log
        if not log and self._settings.log_command:  # the entries come from what log_command prints
            return Endpoint(self.name, self.name, token, None)
        if not log:
            raise ConfigError(
                f"a URL target ({self.name}) needs the file its audit device writes",
                "pass --auditready-log PATH (or set log in [tool.auditready])",
            )
        if not os.path.exists(log):
            raise AuditReadyError(
                f"the audit log {log} does not exist",
                "point --auditready-log at the file_path of the vault's file audit device (bao audit list -detailed)",
            )
        if not os.access(log, os.R_OK):
            raise AuditReadyError(f"the audit log {log} is not readable by this user",
                                  "run as a user in the log's group, or give read access to a copy")
        return Endpoint(self.name, self.name, token, log)

    def close(self) -> None:
        pass
