"""Blind round 3 (access): denials, access rules and `auditready access` against real OpenBao servers.

Every log here is written by a real OpenBao dev server (the venv's `bao`), driven over its HTTP API: listings
(OpenBao logs a LIST on the folder with a trailing '/', and a policy path without it grants it), a token used past
its `num_uses`, a response-wrapping token unwrapped twice, an unknown token, and a denied write by the reader.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import requests

from pytest_auditready.vault.embedded import EmbeddedServer
from tests._native_runs import completed
from tests.auditrun import run_audit
from tests.conftest import remember_secret


def cli(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    return completed(list(args), cwd)  # a fork of the verify server (tests/_native_runs.py)


class Api:
    """The server's HTTP API, with a token per call (tokens stay in memory; each is remembered as a secret)."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.url, self.root = server.url, server.root_token

    def call(self, token: Optional[str], method: str, path: str, body: Any = None, wrap: str = ""
             ) -> requests.Response:
        headers = {"X-Vault-Token": token} if token else {}
        if wrap:
            headers["X-Vault-Wrap-TTL"] = wrap
        return requests.request(method, f"{self.url}/v1/{path}", headers=headers, json=body, timeout=5)

    def token(self, name: str, policies: list[str], **extra: Any) -> str:
        r = self.call(self.root, "POST", "auth/token/create", {"policies": policies, "display_name": name, **extra})
        assert r.status_code == 200, r.text
        return remember_secret(str(r.json()["auth"]["client_token"]))


def lines_of(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines() if x.strip()]


def line_no(log: Path, want: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [n for n, e in enumerate(lines_of(log), 1) if want(e)]


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real server's log of a known set of requests (counts in each test)."""
    with EmbeddedServer() as server:
        api = Api(server)
        root = api.root
        for name, text in (
            ("app-read", 'path "secret/data/app/*" { capabilities = ["read"] }\n'
                         'path "secret/metadata/app" { capabilities = ["list"] }'),
            ("app-write", 'path "secret/data/app/*" { capabilities = ["create", "update"] }'),
        ):
            assert api.call(root, "PUT", f"sys/policies/acl/{name}", {"policy": text}).status_code == 204
        alice = api.token("alice", ["app-read"])
        writer = api.token("writer", ["app-write"])
        uses = api.token("uses", ["app-read"], num_uses=2)
        courier = api.token("courier", ["default"])
        assert api.call(writer, "POST", "secret/data/app/db", {"data": {"k": remember_secret("v-" + "9" * 40)}}
                        ).status_code == 200
        # 1 listing by alice, logged as secret/metadata/app/
        assert api.call(alice, "LIST", "secret/metadata/app").status_code == 200
        # 3 reads by "uses": the third one past its num_uses, refused with no identity in its entry
        assert [api.call(uses, "GET", "secret/data/app/db").status_code for _ in range(3)] == [200, 200, 403]
        # a read wrapped for the courier, who unwraps it twice (the second refused: the token is spent)
        r = api.call(alice, "GET", "secret/data/app/db", wrap="60s")
        wrapping = remember_secret(str(r.json()["wrap_info"]["token"]))
        assert api.call(courier, "POST", "sys/wrapping/unwrap", {"token": wrapping}).status_code == 200
        assert api.call(courier, "POST", "sys/wrapping/unwrap", {"token": wrapping}).status_code == 400
        # a token the vault never issued
        assert api.call("s.unknown-token-for-the-test", "GET", "secret/data/app/db").status_code == 403
        server.settle()
        log = tmp_path_factory.mktemp("blind-access") / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
    yield log


def rules_config(folder: Path, *rules: str) -> Path:
    cfg = folder / "pyproject.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
                   + "".join(f"\n[[tool.auditready.access.rules]]\n{r}\n" for r in rules))
    return cfg


def access_policy_of(proc: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(x for x in proc.stdout.splitlines() if "access_policy" in x or x.startswith("  - ["))


def test_a_rule_without_the_trailing_slash_covers_the_listing(real_log: Path, tmp_path: Path) -> None:
    """OpenBao logs a LIST at `secret/metadata/app/`; the policy path `secret/metadata/app` (or `+`) grants it, so a
    rule naming it covers the listing: a disallowed lister is a finding at its line, an allowed one none."""
    listing = line_no(real_log, lambda e: e["type"] == "request" and e["request"]["operation"] == "list")
    assert len(listing) == 1 and lines_of(real_log)[listing[0] - 1]["request"]["path"] == "secret/metadata/app/"
    for path in ("secret/metadata/app", "secret/metadata/+"):
        cfg = rules_config(tmp_path, f'paths = ["{path}"]\noperations = ["list"]\nidentities = []')
        proc = cli("verify", str(real_log), "--config", str(cfg))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        text = access_policy_of(proc)
        assert "FAIL access_policy" in text and f"{real_log}:{listing[0]}," in text, text
        assert text.count("  - [") == 1, text
        cfg = rules_config(tmp_path, f'paths = ["{path}"]\noperations = ["list"]\nidentities = ["token-alice"]')
        proc = cli("verify", str(real_log), "--config", str(cfg))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "PASS access_policy" in proc.stdout and "1 requests let through" in proc.stdout, proc.stdout


def test_access_answers_who_listed_a_folder_named_without_its_slash(real_log: Path) -> None:
    for pattern in ("secret/metadata/app", "secret/metadata/+", "secret/metadata/app/"):
        proc = cli("access", pattern, str(real_log), "--json", "-")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        got = {(i["display_name"], op): (c["requests"], c["denied"])
               for i in doc["identities"] for op, c in i["operations"].items()}
        assert got == {("token-alice", "list"): (1, 0)}, (pattern, got)


def test_a_refused_request_counts_for_the_identity_of_its_token(real_log: Path) -> None:
    """A read past `num_uses` and a spent wrapping token's unwrap are logged with no display name, but with the
    digest of a token that other entries name: the answer counts them there; an unknown token stays no one."""
    proc = cli("access", "secret/data/app/db", str(real_log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    got = {(i["display_name"], op): (c["requests"], c["denied"])
           for i in doc["identities"] for op, c in i["operations"].items()}
    assert got == {("token-writer", "create"): (1, 0), ("token-uses", "read"): (3, 1),
                   ("token-alice", "read (wrapped)"): (1, 0), ("token-courier", "unwrap"): (2, 1),
                   ("", "read"): (1, 1)}, got
    assert (doc["requests"], doc["denied"]) == (8, 3)


def test_a_rule_that_names_no_request_is_named_in_the_pass(real_log: Path, tmp_path: Path) -> None:
    cfg = rules_config(tmp_path, 'name = "kv1 style"\npaths = ["secret/app/*"]\noperations = ["read"]\n'
                       'identities = []',
                       'name = "reads"\npaths = ["secret/data/app/*"]\noperations = ["read"]\n'
                       'policies = ["app-read", "default"]')
    proc = cli("verify", str(real_log), "--config", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PASS access_policy"))
    assert "rule 'kv1 style' (paths secret/app/*" in line and "named no request" in line, line
    assert "rule 'reads'" not in line, line


# a denied write by the reader (its policy has no update on the path), judged like the unprivileged denials
WRITE_DENIED = '''
from pytest_auditready.vault.scenario import ActionSpec


def pytest_auditready_scenario(plan, config):
    for c in plan.canary_names:
        plan.add(ActionSpec(f"write-denied-{c}", "reader", "POST", plan.data_path(c), "update",
                            body={"data": {"x": "y"}}, expect="denied"))
'''


def test_every_denied_action_is_judged_whoever_makes_it(
        bao: Callable[..., EmbeddedServer], url_env: Callable[[EmbeddedServer], None],
        pipeline: Callable[..., Any], pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A scenario hook's denied write by the reader is a denial to audit: logged with its error it passes; shipped
    without the error (a pipeline that drops it from both entries) it fails at its line."""
    server = bao()
    url_env(server)
    out = tmp_path / "shipped.log"

    def strip(e: dict[str, Any]) -> dict[str, Any]:
        req = e.get("request") or {}
        if req.get("operation") == "update" and str(req.get("path", "")).endswith("/c1") and "error" in e:
            e.pop("error")
        return e

    pipeline(server.log_path, out, strip)
    run = run_audit(pytester, server, out, seal=False, conftest=WRITE_DENIED)
    assert run.items.get("denied_access_logged[write-denied-c2]") == "passed", run.items
    assert run.items.get("denied_access_logged[write-denied-c1]") == "failed", run.items
    text = run.text("denied_access_logged[write-denied-c1]")
    assert "logged without error" in text and f"{out}:" in text, text


def test_a_scan_is_a_listing_of_every_name_below_it(bao: Callable[..., EmbeddedServer], tmp_path: Path) -> None:
    """OpenBao's `scan` (a recursive LIST) of a parent folder lists every name a list rule on a folder below it
    protects: a finding by an identity the rule does not allow, at its line; a rule naming an entity id allows
    that entity's every token (two userpass logins), not a look-alike user's."""
    server = bao()
    api = Api(server)
    policy = ('path "secret/data/app/*" { capabilities = ["read"] }\n'
              'path "secret/metadata/*" { capabilities = ["scan", "list"] }')
    assert api.call(api.root, "PUT", "sys/policies/acl/app", {"policy": policy}).status_code == 204
    assert api.call(api.root, "POST", "sys/auth/userpass", {"type": "userpass"}).status_code == 204
    tokens = {}
    for user in ("alice", "alice2", "alice"):
        pw = remember_secret(f"pw-{user}-" + "7" * 24)
        assert api.call(api.root, "POST", f"auth/userpass/users/{user}", {"password": pw,
                        "token_policies": ["app"]}).status_code == 204
        r = api.call(None, "POST", f"auth/userpass/login/{user}", {"password": pw})
        assert r.status_code == 200, r.text
        tokens.setdefault(user, []).append((remember_secret(r.json()["auth"]["client_token"]),
                                            r.json()["auth"]["entity_id"]))
    assert tokens["alice"][0][1] == tokens["alice"][1][1]
    assert api.call(api.root, "POST", "secret/data/app/db", {"data": {"k": remember_secret("v" * 40)}}
                    ).status_code == 200
    for tok, _ in tokens["alice"]:
        assert api.call(tok, "GET", "secret/data/app/db").status_code == 200
    assert api.call(tokens["alice2"][0][0], "GET", "secret/data/app/db").status_code == 200
    scanner = tokens["alice2"][0][0]
    assert api.call(scanner, "SCAN", "secret/metadata/").status_code == 200
    assert api.call(scanner, "LIST", "secret/metadata/").status_code == 200  # lists "app/" alone: no name below
    server.settle()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    log.chmod(0o600)
    scan = line_no(log, lambda e: e["type"] == "request" and e["request"]["operation"] == "scan")
    alice2_read = line_no(log, lambda e: e["type"] == "request" and e["request"]["path"] == "secret/data/app/db"
                          and e["auth"].get("display_name") == "userpass-alice2")
    assert len(scan) == 1 and len(alice2_read) == 1
    entity = tokens["alice"][0][1]
    cfg = rules_config(tmp_path, 'paths = ["secret/metadata/app/*"]\noperations = ["list"]\nidentities = []',
                       f'paths = ["secret/data/app/*"]\noperations = ["read"]\nidentities = ["{entity}"]')
    proc = cli("verify", str(log), "--config", str(cfg))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = access_policy_of(proc)
    found = [x for x in text.splitlines() if x.startswith("  - [")]
    assert len(found) == 2, text
    assert f"{log}:{scan[0]}," in found[0] or f"{log}:{scan[0]}," in found[1], text
    assert any(f"{log}:{alice2_read[0]}," in x for x in found), text
    assert "scan of secret/metadata/ (a recursive listing" in text, text
    cfg = rules_config(tmp_path, 'paths = ["secret/metadata/app/*"]\noperations = ["list"]\n'
                       'identities = ["userpass-alice2"]',
                       f'paths = ["secret/data/app/*"]\noperations = ["read"]\nidentities = ["{entity}", '
                       '"userpass-alice2"]')
    proc = cli("verify", str(log), "--config", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_whoever_unwraps_a_covered_read_is_held_to_its_rule(real_log: Path, tmp_path: Path) -> None:
    """A response-wrapped read hands the secret to whoever unwraps it: the courier's unwrap of alice's wrapped
    read of secret/data/app/db is a read of it by the courier (a finding at the unwrap's line); its second,
    refused unwrap is no finding; allowed, the courier is none. Also when the file is cut into ranges read by two
    processes with the wrap and the unwrap in different ranges (the verdict one process gives)."""
    from pytest_auditready.checks import access_policy
    from pytest_auditready.config import discover
    from pytest_auditready.engine.parallel import verify_files

    entries = lines_of(real_log)
    unwraps = line_no(real_log, lambda e: e["type"] == "request" and e["request"]["path"] == "sys/wrapping/unwrap")
    assert len(unwraps) == 2 and "error" in entries[unwraps[1] - 1] and "error" not in entries[unwraps[0] - 1]
    rule = 'paths = ["secret/data/app/*"]\noperations = ["read"]\nidentities = ["token-alice", "token-uses"]'
    proc = cli("verify", str(real_log), "--config", str(rules_config(tmp_path, rule)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = [x for x in access_policy_of(proc).splitlines() if x.startswith("  - [")]
    assert len(found) == 1 and f"{real_log}:{unwraps[0]}," in found[0], found
    assert "unwrap of a response-wrapped read of secret/data/app/db by display name 'token-courier'" in found[0]
    proc = cli("verify", str(real_log), "--config", str(rules_config(tmp_path, rule.replace('"token-uses"',
                                                                                            '"token-uses", "token-courier"'))))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # the same lines with 3 MB of the log's own first line (the audit device's test entry) between the wrap and the
    # unwrap: ranges of 1 MiB put them in different parts
    raw = real_log.read_bytes().splitlines(keepends=True)
    padded = tmp_path / "padded.log"
    filler = raw[0] * (3_000_000 // len(raw[0]))
    padded.write_bytes(b"".join(raw[: unwraps[0] - 1]) + filler + b"".join(raw[unwraps[0] - 1 :]))
    padded.chmod(0o600)
    at = unwraps[0] + filler.count(b"\n")
    settings = discover({}, str(rules_config(tmp_path, rule)))
    for jobs, cut in ((1, None), (2, 1 << 20)):
        (res,) = verify_files(settings, [access_policy.CHECK], {}, [str(padded)], jobs, range_bytes=cut, min_bytes=0)
        (out,) = [o for o in res.outcomes if o.check_id == "access_policy"]
        assert [f.where for f in out.findings] == [f"{padded}:{at}"], (jobs, out)


def test_a_rule_may_name_a_token_by_its_accessor(real_log: Path, tmp_path: Path) -> None:
    """An identity of a rule may be the token accessor as the log holds it (its HMAC digest): that token's
    requests are allowed, another accessor's are not."""
    (listing,) = [e for e in lines_of(real_log) if e["type"] == "request" and e["request"]["operation"] == "list"]
    accessor = listing["auth"]["accessor"]
    assert accessor.startswith("hmac-sha256:")
    for allowed, code in ((accessor, 0), ("hmac-sha256:" + "0" * 64, 1)):
        cfg = rules_config(tmp_path, f'paths = ["secret/metadata/app"]\noperations = ["list"]\n'
                           f'identities = ["{allowed}"]')
        proc = cli("verify", str(real_log), "--config", str(cfg))
        assert proc.returncode == code, proc.stdout + proc.stderr


def test_a_kv_folder_named_as_bao_kv_list_names_it_points_at_its_metadata(real_log: Path) -> None:
    """`bao kv list secret/app` lists at secret/metadata/app/: asked as `secret/app`, the answer points there."""
    proc = cli("access", "secret/app", str(real_log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kv2"] == {"pattern": "secret/metadata/app", "requests": 1}
    assert "ask for secret/metadata/app" in proc.stderr
