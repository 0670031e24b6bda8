"""The only module that imports hvac: a small client that times every call and never raises on HTTP errors.

Each call returns a Reply with the client-side send/receive times (UTC, ns), the HTTP status, the request id the
vault returned (successful answers carry one) and the vault's error text. Network failures become an
AuditReadyError naming the cause and the fix. Tokens live only inside the adapter's headers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import AuditReadyError


@dataclass(frozen=True)
class Reply:
    status: int
    body: Optional[dict[str, Any]]
    request_id: str
    error: str
    sent_ns: int
    received_ns: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        d = (self.body or {}).get("data")
        return d if isinstance(d, dict) else {}


class VaultClient:
    def __init__(
        self,
        url: str,
        token: Optional[str],
        *,
        timeout: float,
        namespace: Optional[str] = None,
        ca_file: Optional[str] = None,
        _session: Any = None,
    ) -> None:
        import hvac.adapters  # lazy: only a live audit needs it
        import requests

        self.url = url
        self.timeout = timeout
        self._namespace = namespace
        self._ca_file = ca_file
        self._session = _session or requests.Session()
        # No proxy from the environment between us and the vault: timings and the logged source address
        # must be ours, and a token must not go through a proxy nobody configured for this.
        self._session.trust_env = False
        self._adapter = hvac.adapters.RawAdapter(
            base_uri=url,
            token=token,
            verify=ca_file if ca_file else True,
            timeout=timeout,
            namespace=namespace,
            session=self._session,
            ignore_exceptions=True,
        )

    def with_token(self, token: str) -> "VaultClient":
        """A client for another identity, sharing this one's connection pool."""
        return VaultClient(
            self.url,
            token,
            timeout=self.timeout,
            namespace=self._namespace,
            ca_file=self._ca_file,
            _session=self._session,
        )

    def call(self, method: str, path: str, json: Optional[dict[str, Any]] = None) -> Reply:
        import requests

        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = json
        sent = time.time_ns()
        try:
            resp = self._adapter.request(method, "/v1/" + path.lstrip("/"), raise_exception=False, **kwargs)
        except requests.exceptions.SSLError:
            raise AuditReadyError(
                f"TLS verification failed for {self.url}",
                "set ca_file in [tool.auditready] to the CA bundle that signed the vault's certificate",
            ) from None
        except requests.exceptions.Timeout:
            raise AuditReadyError(
                f"the vault at {self.url} did not answer {method} {path} within {self.timeout:g} s",
                "check that it is up and not overloaded, or raise request_timeout",
            ) from None
        except requests.exceptions.ConnectionError:
            raise AuditReadyError(
                f"cannot connect to the vault at {self.url}",
                "start it, or point --auditready-target at a running Vault/OpenBao",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise AuditReadyError(f"request to {self.url} failed: {type(exc).__name__}", "check the URL") from None
        received = time.time_ns()
        body: Optional[dict[str, Any]] = None
        if resp.content:
            try:
                parsed = resp.json()
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        errors = (body or {}).get("errors")
        error = "; ".join(str(e).strip() for e in errors) if isinstance(errors, list) else ""
        if resp.status_code == 503 and "sealed" in error.lower():
            raise AuditReadyError(f"the vault at {self.url} is sealed", "unseal it, then run the audit again")
        request_id = (body or {}).get("request_id")
        return Reply(
            status=resp.status_code,
            body=body,
            request_id=request_id if isinstance(request_id, str) else "",
            error=error,
            sent_ns=sent,
            received_ns=received,
        )

    def close(self) -> None:
        self._session.close()
