"""Writes the opt_* fixtures beside it: real OpenBao audit logs under the device and mount options that change what
the vault writes (log_raw, hmac_accessor=false, elide_list_responses, audit_non_hmac_*_keys, audited request
headers with hmac=false, response wrapping, token metadata). Run: python tests/schemas/opt_build.py (it starts
throw-away OpenBao dev servers; every value in the files is from servers that no longer exist), and beside each leaky
or correct log its values to look for (opt_<name>.canaries.txt).

Each file is the device's own output, lines unchanged; opt_hmac_accessor_false.log keeps only the lines of the
scaffolding and of one token whose accessor (24 random base62 characters) passes detect-secrets' base64 entropy
limit, as about one accessor in twenty does (found by trying tokens until one does).
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Optional

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from pytest_auditready.vault.embedded import EmbeddedServer  # noqa: E402


def _api(s: EmbeddedServer, method: str, path: str, body: Optional[dict[str, Any]] = None, token: str = "",
         headers: Optional[dict[str, str]] = None, anonymous: bool = False) -> dict[str, Any]:
    h = {} if anonymous else {"X-Vault-Token": token or s.root_token}
    h.update(headers or {})
    r = requests.request(method, f"{s.url}/v1/{path}", json=body, headers=h, timeout=10)
    try:
        out: dict[str, Any] = r.json()
        return out
    except ValueError:
        return {}


def _kv(s: EmbeddedServer, canary: str) -> None:
    _api(s, "POST", "secret/data/app/db", {"data": {"password": canary, "user": "svc-payments"}})
    _api(s, "GET", "secret/data/app/db")
    _api(s, "LIST", "secret/metadata/app")


def _run(name: str, body: Any, **options: str) -> dict[str, str]:
    s = EmbeddedServer(audit_options=options)
    s.start()
    try:
        found: dict[str, str] = body(s)
        time.sleep(0.3)
        shutil.copy(s.log_path, HERE / f"opt_{name}.log")
    finally:
        s.stop()
    return found


def log_raw(s: EmbeddedServer) -> dict[str, str]:
    """log_raw=true: every value in clear, a wrapped response's token included."""
    canary = secrets.token_urlsafe(32)
    _kv(s, canary)
    tok = _api(s, "POST", "auth/token/create", {"policies": ["default"]})["auth"]["client_token"]
    _api(s, "GET", "secret/data/app/db", token=tok)  # denied
    wrapped = _api(s, "GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})["wrap_info"]["token"]
    _api(s, "POST", "sys/wrapping/unwrap", {"token": wrapped})
    return {"canary": canary, "token": tok, "wrap": wrapped}


def correct(s: EmbeddedServer) -> dict[str, str]:
    """A correct device and mount: wrapping, a token with metadata, a denied read, a userpass login that failed,
    a missing path, and a mount that leaves non-secret keys un-HMAC'd (audit_non_hmac_*_keys: the token auth
    method's display_name and explicit_max_ttl; on a KV mount every key is a secret, so none is tuned there)."""
    _api(s, "POST", "sys/auth/token/tune", {"audit_non_hmac_request_keys": ["display_name", "explicit_max_ttl"],
                                            "audit_non_hmac_response_keys": ["display_name"]})
    canary = secrets.token_urlsafe(32)
    _kv(s, canary)
    _api(s, "POST", "secret/data/app/cfg", {"data": {"user": "svc-payments", "region": "eu-west-1",
                                                     "note": "rotated by CI job 1234"}})
    _api(s, "GET", "secret/data/app/cfg")
    _api(s, "POST", "sys/auth/userpass", {"type": "userpass"})
    _api(s, "POST", "auth/userpass/users/bob", {"password": secrets.token_urlsafe(18), "token_policies": "default"})
    _api(s, "POST", "auth/userpass/login/bob", {"password": "wrong"}, anonymous=True)
    tok = _api(s, "POST", "auth/token/create", {"policies": ["default"], "display_name": "ci-runner",
                                                "explicit_max_ttl": "2h",
                                                "meta": {"team": "payments", "ticket": "OPS-1234"}})
    t = tok["auth"]["client_token"]
    _api(s, "GET", "secret/data/app/db", token=t)  # denied
    _api(s, "GET", "auth/token/lookup-self", token=t)
    wrapped = _api(s, "GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})["wrap_info"]["token"]
    _api(s, "POST", "sys/wrapping/unwrap", {"token": wrapped})
    _api(s, "GET", "secret/data/does/not/exist")
    return {"canary": canary, "token": t, "wrap": wrapped}


def non_hmac_secret(s: EmbeddedServer) -> dict[str, str]:
    """A mount that leaves its secret's key un-HMAC'd (audit_non_hmac_request_keys / _response_keys = password)."""
    _api(s, "POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["password"],
                                               "audit_non_hmac_response_keys": ["password"]})
    canary = secrets.token_urlsafe(32)
    _kv(s, canary)
    return {"canary": canary}


def headers(s: EmbeddedServer) -> dict[str, str]:
    """Request headers audited with hmac=false: correlation ids (benign), then credentials (leaks)."""
    for h in ("Authorization", "Proxy-Authorization", "Cookie", "Traceparent", "X-B3-Traceid", "X-Request-Id"):
        _api(s, "POST", f"sys/config/auditing/request-headers/{h}", {"hmac": False})
    _api(s, "POST", "sys/config/auditing/request-headers/User-Agent", {"hmac": True})
    _api(s, "POST", "secret/data/app/db", {"data": {"password": secrets.token_urlsafe(32)}})
    for _ in range(3):
        _api(s, "GET", "secret/data/app/db", headers={
            "Traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01", "X-B3-Traceid": secrets.token_hex(16),
            "X-Request-Id": secrets.token_hex(16), "User-Agent": "vault-client-go/0.4.3"})
    password = secrets.token_urlsafe(12)
    basic = "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
    _api(s, "GET", "secret/data/app/db", headers={"Authorization": basic})
    cookie = secrets.token_urlsafe(10)
    _api(s, "GET", "secret/data/app/db", headers={"Cookie": f"theme=dark; session={cookie}"})
    _api(s, "GET", "secret/data/app/db", headers={"Proxy-Authorization": basic})
    return {"password": password, "cookie": cookie}


def unauthenticated(s: EmbeddedServer) -> dict[str, str]:
    """Endpoints the vault serves without a token: the UI's login page, a wrapping token's look-up, a login's MFA
    step, OIDC discovery, a PKI mount's CA, CRL, issuer and certificate reads; and one authenticated read."""
    _api(s, "POST", "sys/mounts/pki", {"type": "pki"})
    serial = _api(s, "POST", "pki/root/generate/internal", {"common_name": "example.test", "ttl": "24h"})
    canary = secrets.token_urlsafe(32)
    _kv(s, canary)
    wrapped = _api(s, "GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})["wrap_info"]["token"]
    for method, path, body in (("GET", "sys/internal/ui/mounts", None), ("POST", "sys/wrapping/lookup",
                                {"token": wrapped}), ("PUT", "sys/mfa/validate", {}),
                               ("GET", "identity/oidc/.well-known/openid-configuration", None),
                               ("GET", "identity/oidc/.well-known/keys", None), ("GET", "pki/ca/pem", None),
                               ("GET", "pki/ca", None), ("GET", "pki/crl", None), ("GET", "pki/ca_chain", None),
                               ("GET", "pki/cert/" + serial["data"]["serial_number"], None),
                               ("GET", "pki/issuer/default/json", None), ("GET", "pki/crl/pem", None)):
        _api(s, method, path, body, anonymous=True)
    _api(s, "GET", "secret/data/app/db")
    return {"canary": canary, "wrap": wrapped}


def accessors(s: EmbeddedServer) -> dict[str, str]:
    """hmac_accessor=false: tokens until one's accessor passes the base64 entropy limit."""
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    limit = Base64HighEntropyString().entropy_limit
    for _ in range(200):
        auth = _api(s, "POST", "auth/token/create", {"policies": ["default"]})["auth"]
        if Base64HighEntropyString().calculate_shannon_entropy(auth["accessor"]) > limit:
            _api(s, "GET", "auth/token/lookup-self", token=auth["client_token"])
            _api(s, "GET", "secret/data/app/db", token=auth["client_token"])  # denied
            return {"accessor": auth["accessor"]}
    raise SystemExit("no accessor over the entropy limit in 200 tokens")


def _keep_accessor_lines(accessor: str) -> None:
    path = HERE / "opt_hmac_accessor_false.log"
    lines = path.read_text().splitlines()
    keep = [ln for ln in lines if "auth/token/create" not in ln or accessor in ln]
    path.write_text("".join(ln + "\n" for ln in keep))


def main() -> None:
    found = {"log_raw": _run("log_raw", log_raw, log_raw="true"),
             "correct": _run("correct", correct),
             "elide": _run("elide_list_responses", correct, elide_list_responses="true"),
             "non_hmac_secret": _run("non_hmac_secret", non_hmac_secret),
             "headers": _run("headers", headers),
             "unauthenticated": _run("unauthenticated", unauthenticated)}
    acc = _run("hmac_accessor_false", accessors, hmac_accessor="false")
    _keep_accessor_lines(acc["accessor"])
    for name, values in found.items():
        if name != "elide":  # (the same scenario as correct)
            (HERE / f"opt_{name}.canaries.txt").write_text("".join(v + "\n" for v in values.values()))
    print(json.dumps({k: sorted(v) for k, v in found.items()}))


if __name__ == "__main__":
    main()
