"""A credential given as a token's display name, as a real OpenBao logs it: "token-" and the name with every
character but letters, digits and "-" made "-" (red team rt35, F7: GitHub, Stripe and npm tokens passed, only the
vault's own tokens were read back)."""

from __future__ import annotations

import secrets
import string
import time
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests.conftest import load_script, remember_secret

_api = load_script(Path(__file__).resolve().parent / "schemas" / "opt_build.py", "opt_build")._api
CHECK = [c for c in offline_checks(BUILTIN) if c.id == "no_secret_leak"]


def _alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.mark.vault
def test_each_credential_given_as_a_display_name_is_found_and_a_name_is_not(bao: Callable[..., EmbeddedServer],
                                                                             tmp_path: Path) -> None:
    s = bao()
    given = {  # documented shapes: GitHub classic and fine-grained, Stripe's live secret key, npm
        "GitHub Token": "ghp_" + _alnum(36),
        "GitHub fine-grained": "github_pat_" + _alnum(22) + "_" + _alnum(59),
        "Stripe Access Key": "sk_live_" + _alnum(24),
        "npm Token": "npm_" + _alnum(36),
        "a name": "ci_deployer_payments_prod_2026",
    }
    for name in given.values():
        tok = _api(s, "POST", "auth/token/create", {"policies": ["default"], "display_name": remember_secret(name)})
        _api(s, "GET", "auth/token/lookup-self", token=remember_secret(tok["auth"]["client_token"]))
    end = time.monotonic() + 10
    while Path(s.log_path).read_text().count('"path":"auth/token/lookup-self"') < 2 * len(given):
        assert time.monotonic() < end, "the device did not write the last response within 10 s"
        time.sleep(0.05)
    log = tmp_path / "audit.log"
    log.write_text(Path(s.log_path).read_text())
    log.chmod(0o600)
    lines = log.read_text().splitlines()
    res = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0), CHECK, {})
    (out,) = res.outcomes
    got = sorted({int(f.where.rsplit(":", 1)[1]) for f in out.findings} | {n for f in out.findings for n in f.also_on})
    logged = {k: "token-" + v.replace("_", "-") for k, v in given.items()}
    want = sorted(n for n, ln in enumerate(lines, 1)
                  if any(f'"display_name":"{v}"' in ln for k, v in logged.items() if k != "a name"))
    assert want and got == want
    assert any(f'"display_name":"{logged["a name"]}"' in ln for ln in lines)  # logged, and no finding
    shown = " ".join(f.message for f in out.findings)
    assert all(v not in shown and v.replace("_", "-") not in shown for v in given.values())
