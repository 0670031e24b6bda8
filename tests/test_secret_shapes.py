"""Credentials in the shapes the generic rules missed, and public values they took for credentials (blind red teams
rt42 and rt43): a token's display name as the token store sanitises it, a token sent in a token endpoint's path, a
JSON Web Key's short symmetric key; WireGuard public keys and multi-source commit ids. Each both ways, on a real
OpenBao's log or real Kubernetes events, by the C extension and the pure-Python path."""

from __future__ import annotations

import base64
import json
import secrets
import string
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from pytest_auditready.scan.known import fingerprint
from pytest_auditready.scan.secrets import GenericScanner
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import load_script, remember_secret
from tests.test_secret_data import _log_lines, _logs
from tests.test_token_keys import events
from tests.test_url_passwords import leak_lines

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api
_ALNUM = string.ascii_letters + string.digits


def _b64url(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def _random(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _legacy_token() -> str:
    """A legacy Vault token, s. and 24 base62 characters, of those that mix capitals, small letters and digits: the
    display-name rule asks that of a sanitised name (scan.tokens._random_body), so that a name of words is none,
    and misses the one token in about 60 that lacks one of the three (a limit of the rule, not of this test)."""
    while True:
        body = _random(24)
        if any(c.isupper() for c in body) and any(c.islower() for c in body) and any(c.isdigit() for c in body):
            return remember_secret("s." + body)


def _jwt() -> str:
    """An HS256 token of the usual shape: header and claims, each the base64url of a JSON object, and a signature."""
    head, claims = _b64url({"alg": "HS256", "typ": "JWT"}), _b64url({"sub": "ci-bot", "iat": int(time.time())})
    return remember_secret(f"{head}.{claims}.{_random(43, _ALNUM + '-_')}")


def _every_line(tmp_path: Path, text: str, pure: bool) -> tuple[set[int], str]:
    """leak_lines, with each finding's further lines (also_on) too."""
    found, shown = leak_lines(tmp_path, "audit.log", text, pure)
    doc = json.loads((tmp_path / "audit.log.json").read_text())
    return found | {n for o in doc["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]
                    for n in f.get("also_on", ())}, shown


def _pure(monkeypatch: pytest.MonkeyPatch, gate: str) -> bool:
    if gate == "native" and native.lib is None:
        pytest.skip("the C extension is not built")
    return gate == "pure"


@pytest.fixture(scope="module")
def tokens_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], set[str]]:
    """A real OpenBao's log: tokens created with credentials as display names and read back; a token with a custom
    id looked up and revoked by the path forms; and tokens of plain names, looked up by the body form. Returns the
    log, each credential with what it is, and the plain names."""
    s = EmbeddedServer()
    s.start()
    try:
        creds = {_jwt(): "a JSON Web Token",
                 remember_secret(_jwt()[:-1] + "_"): "a JSON Web Token whose last character the store drops",
                 remember_secret(f"SG.{_random(22, _ALNUM + '-_')}.{_random(43, _ALNUM + '-_')}"): "a SendGrid key",
                 _legacy_token(): "a legacy Vault token",
                 remember_secret(f"AKIA{_random(16, string.ascii_uppercase + '234567')}"): "an AWS access key id"}
        # the same after a word of the name (red team rt46 F6: only a name's start was read back)
        prefixed = {"deploy ": _legacy_token(), "Bearer ": _jwt()}
        creds.update({f"{word}{token}": "a credential after a word" for word, token in prefixed.items()})
        plain = {"ci-deploy.prod_v2", "team.payments-bot", "s-three-app", "svc_Reporting.2026"}
        for name in [*creds, *sorted(plain)]:
            made = _api(s, "POST", "auth/token/create", {"policies": ["default"], "display_name": name})
            _api(s, "GET", "auth/token/lookup-self", token=made["auth"]["client_token"])
            _api(s, "POST", "auth/token/lookup", {"token": made["auth"]["client_token"]})  # the body form: HMAC'd
        custom = remember_secret("opensesame-ci-2026")  # a custom id: no detector's shape
        _api(s, "POST", "auth/token/create", {"id": custom, "policies": ["default"]})
        creds[custom] = "a token sent in a path"
        _api(s, "GET", f"auth/token/lookup/{custom}")
        _api(s, "POST", f"auth/token/revoke/{custom}")
        (log,) = _logs(tmp_path_factory.mktemp("tokens"), audit=_log_lines(s, f"auth/token/revoke/{custom}", 2))
    finally:
        s.stop()
    return log, creds, plain


def _after_a_word(creds: dict[str, str]) -> dict[str, str]:
    """The credentials given after a word of the name: the name -> the credential."""
    return {name: name.split(" ", 1)[1] for name, what in creds.items() if what == "a credential after a word"}


@pytest.mark.vault
@pytest.mark.parametrize("gate", ["native", "pure"])
def test_credentials_as_display_names_and_in_token_paths_are_found(
        tokens_log: tuple[Path, dict[str, str], set[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        gate: str) -> None:
    """OpenBao logs -display-name=<credential> as "token-" and the name with "." and "_" made "-": a JWT's and a
    SendGrid key's dots were never read back (red teams rt42 F7, rt43 F7); a token with a custom id sent as
    auth/token/lookup/<token> passed once a path's segments were judged by a secret's own format (rt43 F6). Each is
    found at every line that holds it, and no line only of a plain name."""
    log, creds, plain = tokens_log
    lines = log.read_text().splitlines()
    # the token store makes each character but letters, digits and "-" a "-", then drops one "-" at the end
    sanitized = {c: "token-" + "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in c).removesuffix("-")
                 for c in creds}
    want = {n for n, ln in enumerate(lines, 1) if any(f'"{v}"' in ln or f"/{c}\"" in ln
                                                      for c, v in sanitized.items())}
    assert any(f'"token-{p.replace(".", "-").replace("_", "-")}"' in log.read_text() for p in plain)
    found, shown = _every_line(tmp_path, log.read_text(), _pure(monkeypatch, gate))
    assert found == want, (sorted(found), sorted(want))
    assert not any(c in shown for c in creds)
    vault_token = next(c for c, what in creds.items() if what == "a legacy Vault token")
    assert f"Vault Token (sha256 {fingerprint(vault_token)})" in shown  # named by its own fingerprint
    assert "looks like an AWS Access Key" in shown and "looks like a AWS" not in shown
    vault_after = next(t for t in _after_a_word(creds).values() if t.startswith("s."))
    assert f"Vault Token (sha256 {fingerprint(vault_after)})" in shown  # the token's own, not the name's


def _jwk_event(keys: list[dict[str, str]], n: int) -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"jwks-{n}"},
            "data": {"jwks.json": json.dumps({"keys": keys})}}


# RFC 7517 Appendix A.3's first symmetric key, 128 bits: 22 characters, which no entropy limit reaches
_A128KW = {"kty": "oct", "alg": "A128KW", "k": "GawgguFyGrWKav7AX4VKUg"}
_WG = "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY="
_COMMIT = "9f1c3b7e2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e"


def _node(annotations: dict[str, str]) -> dict[str, Any]:
    return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "node-a", "annotations": annotations}}


def _app(revisions: list[str]) -> dict[str, Any]:
    return {"kind": "Application", "apiVersion": "argoproj.io/v1alpha1", "metadata": {"name": "shop"},
            "status": {"sync": {"status": "Synced", "revisions": revisions},
                       "operationState": {"syncResult": {"revisions": revisions}}}}


@pytest.mark.parametrize("gate", ["native", "pure"])
def test_a_jwks_short_key_is_found_and_public_keys_and_commits_are_not(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       gate: str) -> None:
    """A JSON Web Key's private member is a secret by its name, however short (rt42 F8); WireGuard public keys under
    Calico's IPv6 and Kilo's annotations and Argo CD's multi-source revisions are public (rt42 F9, F10; rt43 F8),
    while a key named plainly "key" still is judged."""
    remember_secret(_A128KW["k"])
    leaks = [_jwk_event([_A128KW], 0),
             _jwk_event([{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                          "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "shortprivate1"}], 1),
             _node({"example.com/key": _WG})]
    clean = [_jwk_event([{"kty": "RSA", "e": "AQAB", "kid": "k1", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFb"
                          "WhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY"}], 2),
             _node({"projectcalico.org/WireguardPublicKey": _WG, "projectcalico.org/WireguardPublicKeyV6": _WG,
                    "kilo.squat.ai/key": _WG, "network.cilium.io/wg-pub-key": _WG}),
             _app([_COMMIT, "4e1c7a9b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e3a"])]
    lines, leaky = events(leaks, clean)
    found, shown = leak_lines(tmp_path, "k8s.log", "\n".join(lines) + "\n", _pure(monkeypatch, gate))
    assert found == leaky, (sorted(found), sorted(leaky))
    assert _A128KW["k"] not in shown and "shortprivate1" not in shown


@pytest.mark.parametrize(("key", "value", "kinds"), [
    ("display_name", "token-eyJhbGciOiJIUzI1NiJ9-eyJzdWIiOiJjaS1ib3QifQ-dozjgNryP4J3jVmNHl0w5N-XgL0n3I9PlFUP0THsR8U",
     {"JSON Web Token"}),
    ("display_name", "token-eyes-on-the-eyJam-release", set()),  # no base64url JSON object twice
    ("path", "auth/token/lookup-self", set()),
    ("path", "auth/token/lookup-accessor/Zq7vXw4Acc", set()),  # an accessor uses no secret
    ("path", "ns1/auth/token/renew/Zq7vXw4Renew", {"Vault Token"}),
    ("path", "auth/token/revoke-orphan/Zq7vXw4Orph", {"Vault Token"}),
])
def test_token_shapes_by_where_they_stand(key: str, value: str, kinds: set[str]) -> None:
    from pytest_auditready.auditlog.formats import FORMATS

    with GenericScanner(fmt=FORMATS["vault"]) as g:
        assert {h.kind for h in g.scan_value(key, value)} == kinds
