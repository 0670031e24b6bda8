"""A Vault/OpenBao token joined to a word of a name ("deploy_s.<24>", "leaked-s.<24>", "vault_hvs.<...>": a KV path
named after the token it holds) is a token (blind red team rt60, F3: only one after "/" was found, and the evidence
bundle and `auditready access` printed the others in clear). Both ways, on a real OpenBao's log: each such path is a
no_secret_leak finding and is masked in every output; names whose part after "-s." or "_b." is a word are none."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Iterator

import pytest

from pytest_auditready.scan import tokens
from tests._native_runs import completed
from tests.conftest import embedded_root, remember_secret

CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
_BASE62 = string.ascii_letters + string.digits
HVS = remember_secret("hvs.CAES" + "".join(secrets.choice(_BASE62) for _ in range(86)))
WORDS = ["release-s.FeatureBranchNameForTests", "x-s.abcdefghijklmnopqrstuvwx", "app_b.configurationbackupfiles1",
         "cfg.hvs.notes"]


@pytest.mark.parametrize("name", ["deploy_{}", "leaked-{}", "vault_{}", "cfg.{}", "{}_old", "{}-backup"])
def test_a_token_joined_to_a_word_is_found(name: str) -> None:
    token = remember_secret("s." + "".join(secrets.choice(_BASE62) for _ in range(23)) + "7")
    for value in (token, HVS):
        if name.startswith("cfg.") and value is token:
            continue  # the legacy one-letter forms after "." are a word's ("process.s.", "aws.s.")
        found = list(tokens.find("secret/data/ci/" + name.format(value)))
        # (an hv form's body may hold "_" and "-": a suffix is read as part of it, the token inside)
        assert [(kind, v[:len(value)]) for kind, v in found] == [("Vault Token", value)], (name, found)


@pytest.mark.parametrize("name", ["deploy_{}", "leaked-{}", "{}_old"])
def test_a_joined_token_without_a_digit_is_found(name: str) -> None:
    """One real token in about 60 has no digit among its 24 characters (a real OpenBao's made this test fail now and
    then): six and more of each letter case still read as random, as no word of a name does."""
    token = remember_secret("s.AbCdEfGhIjKlMnOpQrStUvWx")
    found = list(tokens.find("secret/data/ci/" + name.format(token)))
    assert [(kind, v[:len(token)]) for kind, v in found] == [("Vault Token", token)], (name, found)


@pytest.mark.parametrize("name", WORDS)
def test_a_word_after_the_joint_is_none(name: str) -> None:
    assert list(tokens.find("secret/data/ci/" + name)) == []


@pytest.fixture(scope="module")
def joined_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """A real OpenBao log of KV writes to paths named after tokens it issued (joined by "_" and "-") and to the
    look-alikes; the tokens."""
    issued: list[str] = []
    with embedded_root() as (server, admin):
        for _ in range(2):
            r = admin.call("POST", "auth/token/create", {"policies": ["default"], "ttl": "5m"})
            assert r.status == 200, r.error
            issued.append(remember_secret(str((r.body or {})["auth"]["client_token"])))
        for name in [f"deploy_{issued[0]}", f"leaked-{issued[1]}", f"vault_{HVS}", *WORDS]:
            assert admin.call("POST", f"secret/data/ci/{name}", {"data": {"v": "1"}}).status == 200
        server.settle()
        folder = tmp_path_factory.mktemp("joined")
        log = folder / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
        (folder / "pyproject.toml").write_text(CONFIG)
        yield log, [*issued, HVS]


@pytest.mark.vault
def test_verify_finds_each_and_no_output_shows_one(joined_log: tuple[Path, list[str]], tmp_path: Path) -> None:
    log, values = joined_log
    out, evidence = tmp_path / "r.json", tmp_path / "ev"
    config = ["--config", str(log.parent / "pyproject.toml")]
    run = completed(["verify", str(log), *config, "--json", str(out), "--evidence", str(evidence)], timeout=120)
    assert run.returncode == 1, run.stderr
    doc = json.loads(out.read_text())
    messages = [f["message"] for o in doc["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]]
    assert sum("Vault Token" in m for m in messages) == len(values), messages
    assert not any(word in m for m in messages for word in WORDS)
    access = completed(["access", "secret/data/ci/*", str(log), "--json", "-"], timeout=120)
    assert access.returncode == 0, access.stderr
    paths = [p for who in json.loads(access.stdout)["identities"] for p in who["paths"]]
    assert all(word in " ".join(paths) for word in WORDS)  # the look-alikes shown as they are
    shown = run.stdout + run.stderr + out.read_text() + access.stdout + access.stderr + "".join(
        p.read_text(errors="replace") for p in evidence.rglob("*") if p.is_file())
    assert not any(v in shown for v in values)
    assert not any(v.split(".", 1)[1] in shown for v in values)
