"""`auditready access` asked for a KV version 2 secret by the path `bao kv get` shows (secret/app/db) answered
"0 requests by 0 identities", exit 0: the log holds the API path, secret/data/app/db, so "nobody" was a false answer
to the question the engineer asked. With no request on the pattern and some on it with data/ after the mount, the
answer now says so (standard error, and "kv2" in the JSON). Log: fixtures/openbao/clean.log (a real OpenBao run).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_auditready.cli import main

LOG = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    shutil.copyfile(LOG, path)
    path.chmod(0o600)
    return path


def _ask(pattern: str, log: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], str]:
    code = main(["access", pattern, str(log), "--json", "-"])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


@pytest.mark.parametrize(("asked", "near", "n"), [("secret/app-c9d897/app0/db", "secret/data/app-c9d897/app0/db", 6),
                                                  ("secret/app-c9d897/*", "secret/data/app-c9d897/*", 24)])
def test_the_path_kv_get_shows_is_answered_with_the_api_path(log: Path, capsys: pytest.CaptureFixture[str],
                                                             asked: str, near: str, n: int) -> None:
    code, doc, err = _ask(asked, log, capsys)
    assert code == 0 and doc["requests"] == 0
    assert doc["kv2"] == {"pattern": near, "requests": n}
    assert f"no request named {asked}, but {n} named {near}" in err and "fix: ask for " + near in err
    code, doc, err = _ask(near, log, capsys)
    assert code == 0 and doc["requests"] == n and "kv2" not in doc and not err


@pytest.mark.parametrize("asked", ["secret/nothing/here", "secret/data/app-c9d897/none", "nomount"])
def test_no_hint_where_the_api_path_holds_nothing_either(log: Path, capsys: pytest.CaptureFixture[str],
                                                         asked: str) -> None:
    code, doc, err = _ask(asked, log, capsys)
    assert doc["requests"] == 0 and "kv2" not in doc and "KV version 2" not in err
    # a mount no path of the log names: said, exit 1 (red team rt94, F6: tests/test_access_unseen_rt94.py)
    assert code == (1 if asked == "nomount" else 0), err
    assert ("pattern_unseen" in doc) == (asked == "nomount")
