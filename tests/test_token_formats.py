"""Credentials of a documented shape (scan.tokens) are leaks wherever a value holds them: alone, inside prose (an
error message, where detect-secrets' entropy detectors never look), or in a request path (whose segments the other
detectors see one by one). Each is found by the block scan exactly as by the judge, and by ``auditready verify``
at its line; look-alikes (placeholders of URL templates, words, identifiers of one case) are not."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

import pytest

from pytest_auditready.scan import tokens
from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.secrets import GenericScanner

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
_A = string.ascii_letters + string.digits


def _r(rng: random.Random, n: int, alphabet: str = _A) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# One generator per documented shape: kind -> value, random every call.
SHAPES = {
    "GitHub Token": lambda r: "github_pat_" + _r(r, 22) + "_" + _r(r, 59),
    "npm Token": lambda r: "npm_" + _r(r, 36),
    "Shopify Token": lambda r: "shpat_" + _r(r, 32, "0123456789abcdef"),
    "Anthropic API Key": lambda r: "sk-ant-api03-" + _r(r, 93, _A + "-_") + "AA",
    "OpenAI Token": lambda r: "sk-proj-" + _r(r, 120, _A + "-_"),
    "DigitalOcean Token": lambda r: "dop_v1_" + _r(r, 64, "0123456789abcdef"),
    "Hugging Face Token": lambda r: "hf_" + _r(r, 17, string.ascii_lowercase) + _r(r, 17, string.ascii_uppercase),
    "Databricks Token": lambda r: "dapi" + _r(r, 32, "0123456789abcdef"),
    "age Secret Key": lambda r: "AGE-SECRET-KEY-1" + _r(r, 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
    "Grafana Token": lambda r: "glsa_" + _r(r, 32) + "_" + _r(r, 8, "0123456789abcdef"),
    "Doppler Token": lambda r: "dp.pt." + _r(r, 43),
    "Terraform Cloud Token": lambda r: _r(r, 14) + ".atlasv1." + _r(r, 67),
    "Pulumi Token": lambda r: "pul-" + _r(r, 40, "0123456789abcdef"),
    "Postman API Key": lambda r: "PMAK-" + _r(r, 24, "0123456789abcdef") + "-" + _r(r, 34, "0123456789abcdef"),
    "Linear API Key": lambda r: "lin_api_" + _r(r, 40),
    "Atlassian API Token": lambda r: "ATATT3xFfGF0" + _r(r, 180, _A + "_-") + "=" + _r(r, 8, "0123456789ABCDEF"),
    "Google API Key": lambda r: "AIza" + _r(r, 35, _A + "-_"),
    "Google OAuth Credential": lambda r: "GOCSPX-" + _r(r, 28, _A + "-_"),
    "Vault Token": lambda r: "hvs." + _r(r, 24),
    "Slack Token": lambda r: "https://hooks.slack.com/services/T" + _r(r, 8, string.ascii_uppercase)
                             + "/B" + _r(r, 8, string.ascii_uppercase) + "/" + _r(r, 24),
    "Basic Auth Credentials": lambda r: "Basic " + base64.b64encode(b"svc-backup:" + _r(r, 14).encode()).decode(),
    "Bearer Token": lambda r: "Bearer " + _r(r, 40, _A + "-_."),
}
URL_PASSWORD = "postgresql://app:Zq7vXw4Lp9sKd2@db.internal:5432/prod"  # a password in a URL's user information


def _line(where: str, value: str) -> bytes:
    """A Vault/OpenBao response entry holding ``value`` in its data, in prose in its error, or in its path."""
    entry = {"time": "2026-01-05T08:00:00.123456789Z", "type": "response",
             "auth": {"client_token": "hmac-sha256:" + "ab" * 32, "display_name": "token-ci"},
             "request": {"id": "3f0c8a44-1c2e-4d1b-9a55-0b7f1e2d3c4a", "operation": "update",
                         "path": "secret/data/app", "remote_address": "10.0.0.7"},
             "response": {"data": {"note": "ok"}}}
    if where == "data":
        entry["response"]["data"]["note"] = value
    elif where == "prose":
        entry["error"] = f"upstream rejected the request (sent {value}); retry later"
    else:
        entry["request"]["path"] = "secret/data/ci/" + value
    return json.dumps(entry, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def scanner():
    with LeakScanner({}) as s:
        yield s


def _kinds_fast(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    return {h.line: {g.kind for g in h.generic} for h in scanner.scan_block(b"\n".join(lines), 1)}


def _kinds_slow(scanner: LeakScanner, lines: list[bytes]) -> dict[int, set[str]]:
    out = {}
    for n, raw in enumerate(lines, 1):
        hits = scanner.judge_line(n, raw)
        if hits is not None:
            out[n] = {g.kind for g in hits.generic}
    return out


@pytest.mark.parametrize("where", ["data", "prose", "path"])
def test_every_documented_shape_is_found_wherever_it_sits(scanner, where):
    rng = random.Random(f"tokens-{where}")
    plain = _line(where, "nothing to see")
    lines, want = [], {}
    for kind, make in SHAPES.items():
        for _ in range(3):
            lines.append(plain)
            lines.append(_line(where, make(rng)))
            want[len(lines)] = kind
    lines.append(_line(where, URL_PASSWORD))
    want[len(lines)] = "Basic Auth Credentials"
    fast, slow = _kinds_fast(scanner, lines), _kinds_slow(scanner, lines)
    assert fast == slow
    assert set(fast) == set(want), sorted(set(want) ^ set(fast))
    assert all(want[n] in kinds for n, kinds in fast.items()), {n: k for n, k in fast.items() if want[n] not in k}


@pytest.mark.parametrize("text", [
    "postgresql://{{username}}:{{password}}@db:5432/app",  # Vault's database engine's connection URL template
    "mysql://{{.Username}}:{{.Password}}@tcp(db:3306)/app",
    "postgres://<user>:<password>@localhost/db",
    "https://deploy:${DEPLOY_PASSWORD}@git.example.com/repo.git",
    "redis://:%s@cache:6379",
    "https://admin:****@grafana.example.com",
    "postgres://report:xxxxx@db/app",  # a mask (detect-secrets' own Basic Auth detector read it as a password)
    "Basic auth is disabled for this mount",
    "Basic dXNlcm5hbWU=",  # "username": no password
    "Basic dXNlcjoqKioq",  # "user:****"
    "the request had no Bearer token",
    "Bearer hmac-sha256:" + "cd" * 32,
    "hf_transfer_enabled_for_all_mirrors",  # one case: a name
    "npm_config_registry",
    "shpat_not_a_token",
    "the gateway's dapi endpoint",
])
def test_look_alikes_are_not_credentials(text):
    with GenericScanner() as g:
        assert g.scan_value("error", text) == ()
        assert g.scan_value("connection_url", text) == ()


def test_a_url_template_in_a_raw_logged_request_is_no_leak():
    """Vault's database secrets engine takes its connection URL as a template
    ("postgresql://{{username}}:{{password}}@..."); a device with log_raw, or a key left out of HMAC, writes it in
    clear. A URL's password is found in any value, a path too (scan.tokens), but "{{password}}" is none: only the
    real password beside it is a leak."""
    lines = (ROOT / "openbao/odd/leaky.log").read_bytes().splitlines()
    with GenericScanner() as g, LeakScanner({}) as s:
        hits = s.judge_line(2, lines[1])
        assert hits is not None
        assert {h.key for h in hits.generic} == {"password"}  # the planted password, not the template
        assert g.scan_value("connection_url", "postgresql://app:Zq7vXw4Lp9sKd2@db:5432/app")


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_names_each_planted_line(tmp_path, pure):
    """The whole engine over a real OpenBao log: each credential, planted in one entry (its data, its error's prose
    or its path), is a no_secret_leak finding at that entry's line, and no other line has one (half of the shapes
    with the C extension, half without)."""
    src = (ROOT / "openbao/clean.log").read_text().splitlines()
    rng = random.Random(11)
    planted: dict[int, str] = {}
    shapes = list(SHAPES.items())[int(pure)::2]  # half each run (findings stop at 20 distinct secrets)
    spots = rng.sample(range(len(src)), len(shapes))
    for (kind, make), i in zip(shapes, spots):
        entry = json.loads(src[i])
        value, where = make(rng), rng.choice(["data", "prose", "path"])
        if where == "data":
            entry.setdefault("request", {}).setdefault("data", {})["note"] = value
        elif where == "prose":
            entry["error"] = "backend said: " + value + " was rejected"
        else:
            entry.setdefault("request", {})["path"] = "secret/data/" + value
        src[i] = json.dumps(entry, separators=(",", ":"))
        planted[i + 1] = kind
    from tests.test_url_passwords import leak_lines

    lines, text = leak_lines(tmp_path, "audit.log", "\n".join(src) + "\n", pure)
    assert lines == set(planted), sorted(set(planted) ^ lines)
    assert "svc-backup" not in text and "Zq7vXw4Lp9sKd2" not in text


def test_prefilters_are_a_superset_of_the_rules():
    """Every rule's match is matched by one of the block scan's expressions (Python's re standing in for the
    block library, which tests/test_leak_prefilter.py holds to it)."""
    import re

    pre = [re.compile(e, re.I if caseless else 0) for e, caseless in tokens.PREFILTERS]
    pre.append(re.compile(rb"://[^:/?#\[\]@!$&'()*+,;=\s]+:[^:/?#\[\]@!$&'()*+,;=\s]+@"))  # detect-secrets' own
    rng = random.Random(5)
    samples = [make(rng) for make in SHAPES.values() for _ in range(5)] + [URL_PASSWORD]
    for s in samples:
        assert list(tokens.find(s)), s[:20]
        for rule in tokens.RULES:
            for m in rule.pattern.finditer(s):
                assert any(p.search(m.group(0).encode()) for p in pre), (rule.kind, s[:20])


def test_a_bearer_credential_of_a_known_format_is_named_by_its_format_once():
    """A Bearer JWT is a JSON Web Token (one finding, not a second as a Bearer token); an opaque one is a Bearer
    token; under an audited Authorization header either is the header's credential (scan.secrets
    .header_credentials), not a hit of its own."""
    jwt = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtY2kiLCJpYXQiOjE3MDAwMDAwMDB9."
           "3q2fXbI1fQy7n0JgX9wV7m2kT8cQeR4sLpZuA6dHhYo")
    with GenericScanner() as g:
        assert [h.kind for h in g.scan_value("x-debug-auth", "Bearer " + jwt)] == ["JSON Web Token"]
        assert [h.kind for h in g.scan_value("x-debug-auth", "Bearer Zq7vXw4Lp9sKd2mN8bV1cX3")] == ["Bearer Token"]
        assert g.scan_value("authorization", "Bearer Zq7vXw4Lp9sKd2mN8bV1cX3") == ()
