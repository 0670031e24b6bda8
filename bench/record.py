#!/usr/bin/env python3
"""Record real OpenBao audit logs: a clean one and one with planted secrets of many kinds.

Starts a throw-away OpenBao dev server (the package's EmbeddedServer), drives it with plain HTTP requests as
several identities (KV v2 writes, reads, denied reads, lists, metadata, deletes, token lookups), and copies the
audit device's file out. The leaky variant additionally plants secrets the way they reach real logs: a mount
tuned with ``audit_non_hmac_request_keys`` (values logged in clear), an audited request header with
``hmac=false`` carrying a JWT, and a second audit device with ``log_raw=true`` (tokens unhashed).

    python bench/record.py clean OUT.log [--rounds N]
    python bench/record.py leaky OUT.log --canaries CANARIES.txt

Every planted value is fake (random, of the right shape); the canaries file lists the known values, one a line.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import shutil
import string
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_auditready.vault.embedded import EmbeddedServer


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Http:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Optional[dict[str, Any]] = None, token: Optional[str] = None,
             headers: Optional[dict[str, str]] = None) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/v1/{path}", data=data, method=method)
        req.add_header("X-Vault-Token", token or self.token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else {}


def traffic(h: Http, rounds: int, run: str) -> None:
    """An ordinary working day: writers, readers, a user without rights, listings, rotations, deletes."""
    read_policy = (f'path "secret/data/{run}/*" {{ capabilities = ["read"] }}\n'
                   f'path "secret/metadata/{run}/*" {{ capabilities = ["read", "list"] }}')
    h.call("PUT", "sys/policies/acl/app-read", {"policy": read_policy})
    h.call("PUT", "sys/policies/acl/app-write", {"policy": 'path "secret/*" { capabilities = ["create", "read", '
                                                 '"update", "delete", "list"] }}'})
    tokens = {}
    for name, pols in (("reader", ["app-read"]), ("writer", ["app-write"]), ("nobody", ["default"])):
        _, body = h.call("POST", "auth/token/create", {"policies": pols, "display_name": name, "ttl": "1h"})
        tokens[name] = body["auth"]["client_token"]
    for i in range(rounds):
        p = f"{run}/app{i % 7}/db"
        password = _rand(string.ascii_letters, 20)
        h.call("POST", f"secret/data/{p}", {"data": {"username": f"svc{i}", "password": password}},
               token=tokens["writer"])
        h.call("GET", f"secret/data/{p}", token=tokens["reader"])
        h.call("GET", f"secret/data/{p}", token=tokens["nobody"])
        h.call("LIST", f"secret/metadata/{run}", token=tokens["reader"])
        h.call("GET", f"secret/metadata/{p}", token=tokens["reader"])
        if i % 5 == 4:
            h.call("DELETE", f"secret/metadata/{p}", token=tokens["writer"])
        h.call("GET", "auth/token/lookup-self", token=tokens["reader"])
    h.call("GET", "sys/audit", token=tokens["nobody"])


def plant(h: Http, run: str, canaries_out: Path) -> None:
    """Secrets of many kinds, each reaching the log the way it does in real deployments."""
    clear = ["access_key", "ci_token", "billing", "hook", "key_pem", "password", "blob", "note"]
    h.call("POST", "sys/mounts/leaky", {"type": "kv", "options": {"version": "1"},
                                        "config": {"audit_non_hmac_request_keys": clear}})
    h.call("POST", "sys/config/auditing/request-headers/X-Debug-Auth", {"hmac": False})
    alnum = string.ascii_letters + string.digits
    # c3 holds characters that URL encoding changes, so that its url-encoded form differs from the raw one.
    canaries = {"c1": _rand(alnum, 40), "c2": _rand(alnum, 40), "c3": _rand(alnum, 36) + "+/=" + _rand(alnum, 4)}
    canaries_out.write_text("".join(v + "\n" for v in canaries.values()))
    aws = "AKIA" + _rand(string.ascii_uppercase + string.digits, 16)
    ghp = "ghp_" + _rand(alnum, 36)
    stripe = "sk_live_" + _rand(alnum, 24)
    slack = "xoxb-" + _rand(string.digits, 11) + "-" + _rand(string.digits, 12) + "-" + _rand(alnum.lower(), 24)
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" + _rand(alnum, 60) + "\n-----END RSA PRIVATE KEY-----"

    def b64u(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    jwt = b64u({"alg": "HS256", "typ": "JWT"}) + "." + b64u({"sub": "svc", "iat": 1700000000}) + "." + _rand(alnum, 43)
    # Each write is one line-pair in the log, on a KV v1 mount whose audit_non_hmac_request_keys leave these keys
    # in clear.
    h.call("POST", f"leaky/{run}/aws", {"access_key": aws})
    h.call("POST", f"leaky/{run}/gh", {"ci_token": ghp})
    h.call("POST", f"leaky/{run}/stripe", {"billing": stripe})
    h.call("POST", f"leaky/{run}/slack", {"hook": slack})
    h.call("POST", f"leaky/{run}/tls", {"key_pem": key})
    h.call("POST", f"leaky/{run}/pw", {"password": "Tr0ub4dor&3-" + _rand(alnum, 10)})
    h.call("GET", "auth/token/lookup-self", headers={"X-Debug-Auth": "Bearer " + jwt})
    h.call("POST", f"leaky/{run}/c1", {"blob": base64.b64encode(canaries["c1"].encode()).decode()})
    h.call("POST", f"leaky/{run}/c2", {"blob": canaries["c2"].encode().hex()})
    h.call("POST", f"leaky/{run}/c3", {"note": "u=" + urllib.parse.quote("a b/" + canaries["c3"], safe="")})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["clean", "leaky"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--canaries", type=Path, help="where the leaky variant writes its canary values")
    args = ap.parse_args()
    run = "app-" + secrets.token_hex(3)
    extra = {"raw": {"log_raw": "true", "mode": "0600"}} if args.kind == "leaky" else None
    with EmbeddedServer(extra_devices=extra) as server:
        h = Http(server.url, server.root_token)
        traffic(h, args.rounds, run)
        if args.kind == "leaky":
            if args.canaries is None:
                ap.error("leaky needs --canaries FILE")
            plant(h, run, args.canaries)
        h.call("GET", "sys/health")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log_path, args.out)
        if args.kind == "leaky":
            assert server.workdir is not None
            raw = server.workdir / "raw.log"
            shutil.copyfile(raw, args.out.with_name(args.out.stem + "-raw" + args.out.suffix))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
