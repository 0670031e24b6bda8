"""Who made a request, as the access review and `auditready access` show it, never repeats a credential the log
holds in a display name (red team rt14 F3, F4). A real OpenBao logs a token made with ``-display-name`` as
``token-<name>``: a client that names its token after another token's value (or after a canary) puts that value in
every entry the token makes. no_secret_leak finds it; the evidence bundle, the terminal and what travels on pytest's
reports (which ``pytest --debug`` prints) show it masked or redacted, as the finding does."""

from __future__ import annotations

import secrets
import string
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed
from tests.conftest import remember_secret

pytestmark = pytest.mark.vault

CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


@pytest.fixture(scope="module")
def leaky_names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str, Path]]:
    """(a real log, a Vault token's value used as a display name, a canary used as another, the canaries file)."""
    from pytest_auditready.vault.embedded import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    remember_secret(server.root_token)
    alphabet = string.ascii_letters + string.digits  # a service token's body: base62
    token_value = remember_secret("hvs.CAES" + "".join(secrets.choice(alphabet) for _ in range(86)))
    canary = remember_secret("Canary" + secrets.token_hex(16))
    try:
        admin = VaultClient(server.url, server.root_token, timeout=5)
        try:
            assert admin.call("POST", "secret/data/app/db", {"data": {"k": "v"}}).status == 200
            for name in (token_value, canary, "ci-deploy"):
                r = admin.call("POST", "auth/token/create", {"display_name": name, "policies": ["root"], "ttl": "5m"})
                assert r.status == 200, r.error
                user = admin.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))
                assert user.call("GET", "secret/data/app/db").status == 200
        finally:
            admin.close()
        server.settle()
        folder = tmp_path_factory.mktemp("names")
        log = folder / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
        canaries = folder / "canaries.txt"
        canaries.write_text(canary + "\n")
        yield log, token_value, canary, canaries
    finally:
        server.stop()


def _bodies(token_value: str, canary: str) -> tuple[str, ...]:
    """What must never be shown: the token's random part (the vault writes "token-hvs-<body>") and the canary."""
    return token_value[4:], canary


def _clean(text: str, token_value: str, canary: str) -> bool:
    return not any(b in text for b in _bodies(token_value, canary))


def test_the_log_holds_the_names_and_no_secret_leak_finds_the_token(leaky_names: tuple[Path, str, str, Path],
                                                                     tmp_path: Path) -> None:
    log, token_value, canary, canaries = leaky_names
    text = log.read_text()
    assert "token-hvs-" + token_value[4:] in text and "token-" + canary in text  # as the vault writes them
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CONFIG)
    ev = tmp_path / "ev"
    run = completed(["verify", str(log), "--config", str(cfg), "--canaries", str(canaries), "--evidence", str(ev)],
                    timeout=120)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr
    assert "FAIL no_secret_leak" in run.stdout and "display_name" in run.stdout
    assert _clean(run.stdout + run.stderr, token_value, canary)
    for name in ("evidence.json", "report.html", "summary.md"):
        shown = (ev / name).read_text()
        assert _clean(shown, token_value, canary), name
    review = (ev / "evidence.json").read_text()
    assert "token-hvs-<Vault Token sha256 " in review and "token-<canary:1>" in review and "token-ci-deploy" in review


def test_auditready_access_shows_the_names_masked(leaky_names: tuple[Path, str, str, Path], tmp_path: Path) -> None:
    log, token_value, _, _ = leaky_names
    out = tmp_path / "access.json"
    run = completed(["access", "secret/*", str(log), "--json", str(out)], timeout=120)
    assert run.returncode == 0, run.stderr
    assert token_value[4:] not in run.stdout + out.read_text()
    assert "<Vault Token sha256 " in run.stdout and "token-ci-deploy" in run.stdout


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_nothing_on_pytests_reports_or_its_debug_log_holds_them(leaky_names: tuple[Path, str, str, Path],
                                                                pytester: pytest.Pytester, workers: list[str]) -> None:
    log, token_value, canary, canaries = leaky_names
    (pytester.path / "pyproject.toml").write_text(CONFIG)
    (pytester.path / "audit.log").write_bytes(log.read_bytes())
    (pytester.path / "audit.log").chmod(0o600)
    debug = pytester.path / "debug.log"
    res = pytester.runpytest_subprocess("--auditready-offline", "audit.log", "--auditready-canaries", str(canaries),
                                        "--auditready-evidence", "ev", f"--debug={debug}", "-p", "no:cacheprovider",
                                        *workers)
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()[-2000:]
    said: Any = res.stdout.str() + res.stderr.str()
    # (with -n 2 each xdist worker opens the same --debug file and writes at its own offset over the others', so a
    # multi-byte character can be cut in two, and one worker's lines overwritten by another's: read as text whatever
    # the bytes; a secret is ASCII)
    traced = debug.read_bytes().decode("utf-8", "replace")
    evidence = (pytester.path / "ev" / "evidence.json").read_text()
    # the review's state travelled on a worker's report to the controller's evidence (whether the overwritten debug
    # log still shows the report that carried it is chance)
    assert "token-ci-deploy" in evidence and "token-hvs-<Vault Token sha256 " in evidence
    for text in (said, traced, evidence):
        assert _clean(text, token_value, canary)
