"""Targets: what `pytest_auditready_make_target` returns. A target opens to an Endpoint and closes after."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Protocol

from ..config import Settings, token_from_env
from ..errors import AuditReadyError, ConfigError
from .embedded import EmbeddedServer


@dataclass(frozen=True)
class Endpoint:
    name: str  # "embedded" or the URL
    url: str
    token: str
    log_path: Optional[str]

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


class EmbeddedTarget:
    name = "embedded"

    def __init__(self, settings: Settings) -> None:
        self._server = EmbeddedServer()
        self._timeout = settings.request_timeout

    def open(self) -> Endpoint:
        self._server.start()
        return Endpoint("embedded", self._server.url, self._server.root_token, str(self._server.log_path))

    def keep_log(self, dest: str) -> "KeptLog":
        """Before the throw-away server and its folder go: seal its audit log with an ephemeral key (the sealer
        any vault runs beside its log) and copy the log, its digest chain and the public key into ``dest`` (a
        private folder the caller removes once the checks have judged them). Judges nothing itself."""
        from ..seal.evidence import seal_with_ephemeral_key

        assert self._server.workdir is not None
        return KeptLog(*seal_with_ephemeral_key(self._server.log_path, self._server.workdir, dest))

    def close(self) -> None:
        self._server.stop()


class UrlTarget:
    def __init__(self, settings: Settings) -> None:
        self.name = settings.target
        self._settings = settings

    def open(self) -> Endpoint:
        token = token_from_env()
        if token is None:
            raise ConfigError(
                f"no token for {self.name}",
                "export VAULT_TOKEN (or BAO_TOKEN) in the environment; tokens are never taken from options",
            )
        log = self._settings.log
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
