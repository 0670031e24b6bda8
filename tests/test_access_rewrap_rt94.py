"""A response-wrapped read, rewrapped, then unwrapped by another identity (red team rt94 F1, F2).

``sys/wrapping/rewrap`` swaps a wrapping token for a new one that wraps the same response, for long-term storage
(OpenBao's docs, api/system/wrapping-rewrap), so the wrap, the rewrap and the unwrap often fall in different files of
a rotation, and the original wrap in a file not named. The fixture is six real OpenBao 2.7.2 entries: alice's read
of secret/data/app/db asked with wrap_ttl, root's rewrap of its token, carol's unwrap of the new one.
- access_policy missed carol where the rewrap and the unwrap were in the file after the wrap's (it passed);
- ``auditready access`` settled carol's unwrap as "of another path" where the wrap was in no file named: 0 requests,
  0 unattributed, exit 0, where an unwrap of a token no named file wrapped is to be said and fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main

LINES = (Path(__file__).resolve().parents[1] / "fixtures/access/rewrap-rt94/wrap-rewrap-unwrap.log").read_text(
).splitlines(keepends=True)
RULES = ('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n\n'
         '[[tool.auditready.access.rules]]\nname = "app db readers"\npaths = ["secret/data/app/*"]\n'
         'operations = ["read"]\nidentities = ["userpass-alice"]\n')


def _write(folder: Path, name: str, lines: list[str]) -> str:
    path = folder / name
    path.write_text("".join(lines))
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("split", [2, 3, 4, 6], ids=["wrap|rewrap+unwrap", "wrap+rewrap-request|...",
                                                    "wrap+rewrap|unwrap", "one-file"])
@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_an_unwrap_through_a_rewrap_breaks_the_rule_wherever_the_wrap_is(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str],
                                                                          split: int, order: str) -> None:
    files = [_write(tmp_path, "audit.log.1", LINES[:split])]
    if split < len(LINES):
        files.append(_write(tmp_path, "audit.log", LINES[split:]))
    if order == "new-first":
        files.reverse()
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(RULES)
    assert main(["verify", *files, "--config", str(cfg), "--json", str(tmp_path / "r.json")]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    (outcome,) = [o for o in report["outcomes"] if o["check"] == "access_policy" and o["findings"]]
    (found,) = outcome["findings"]
    assert "userpass-carol" in found["message"] and "unwrap of a response-wrapped read" in found["message"]
    last = files[-1] if order == "old-first" else files[0]
    assert found["where"] == f"{last if split < len(LINES) else files[0]}:{len(LINES) - (split % len(LINES)) - 1}"


def _access(tmp_path: Path, capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, dict[str, object], str]:
    out = tmp_path / "a.json"
    rc = main(["access", "secret/data/app/db", *files, "--json", str(out)])
    return rc, json.loads(out.read_text()), capsys.readouterr().err


def test_an_unwrap_of_a_rewrapped_token_whose_wrap_is_in_no_file_is_said(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rc, answer, err = _access(tmp_path, capsys, _write(tmp_path, "audit.log", LINES[2:]))
    assert rc == 1, answer
    assert answer["unwraps_not_attributed"]["count"] == 1, answer["unwraps_not_attributed"]  # type: ignore[index]
    assert "in none of these files" in err


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_the_unwrapper_of_a_rewrapped_token_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     order: str) -> None:
    files = [_write(tmp_path, "audit.log.1", LINES[:2]), _write(tmp_path, "audit.log", LINES[2:])]
    rc, answer, _ = _access(tmp_path, capsys, *(files if order == "old-first" else files[::-1]))
    assert rc == 0
    who = {(i["display_name"], op) for i in answer["identities"] for op in i["operations"]}  # type: ignore[attr-defined]
    assert ("userpass-carol", "unwrap") in who and ("userpass-alice", "read (wrapped)") in who, who


def test_a_wrapped_read_of_nothing_is_no_stripped_wrapping_token(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A real OpenBao 2.7.2 read asked with X-Vault-Wrap-TTL of a path that holds nothing: it answered 404, and the
    vault wraps nothing then ("We are wrapping if there is anything to wrap (not a nil response)"), so its response
    entry has no wrap_info. integrity_digest said a hop took it out (red team rt94 F4); it is excused and counted."""
    log = _write(tmp_path, "audit.log", (Path(__file__).resolve().parents[1]
                                         / "fixtures/access/rewrap-rt94/wrapped-404.log").read_text().splitlines(True))
    out = tmp_path / "r.json"
    cfg = tmp_path / "c.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    main(["verify", log, "--config", str(cfg), "--json", str(out)])
    (digest,) = [o for o in json.loads(out.read_text())["outcomes"] if o["check"] == "integrity_digest"]
    assert digest["status"] == "passed", digest["findings"]
    assert "the vault wraps only an answer there is" in json.dumps(digest["tally"])
