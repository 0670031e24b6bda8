"""An orphan token made by an entity in one file of a rotated set and used in another (rt102).

A token's display name that starts with "token-" is what its creator typed, and a rule matched only by it does not
allow a request when the log shows an entity made the token as an orphan (tests/test_rt101_access.py). That held in
one file and across `--jobs` ranges of one file, but not across the files of a rotated set (audit.log.1, then
audit.log, or their folder): the orphan made in the older file was not linked to its maker, and its read in the
newer file passed on its chosen name. The set is judged now as the same lines in one file are, in whichever order
the files (or the lines of one file) are read: never a pass for a finding.

Log: fixtures/access/rt102-orphan (README.md there): real OpenBao 2.7.2, rotated by rename and SIGHUP between the
makings (audit.log.1) and the uses (audit.log). Its newer file: root's orphan token-ci-nightly reads (line 1), mallory's
orphan token-ci-deploy reads (3), her orphan token-relay makes token-ci-chain (5-6), which reads (7).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Outcome
from pytest_auditready.cli import main
from pytest_auditready.config import AccessRule, Settings
from pytest_auditready.engine.files import verify_file

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "access" / "rt102-orphan"
OLD = (HERE / "audit.log.1").read_text().splitlines(keepends=True)  # 25 lines: set-up and the makings
NEW = (HERE / "audit.log").read_text().splitlines(keepends=True)  # 8 lines: the uses
MALLORY = "2d3f56a0-f67d-8263-ef33-c87d8e925a57"  # her entity
DEPLOY_MADE, RELAY_MADE = 23, 25  # OLD's lines: the response entries of her two create-orphan calls
NIGHTLY_READ, DEPLOY_READ, CHAIN_READ = 1, 3, 7  # NEW's lines
RULE = AccessRule("app secrets", ("secret/data/app/*",), ("read",), ("token-ci-*",), ())
CONFIG = ('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n\n'
          '[[tool.auditready.access.rules]]\nname = "app secrets"\npaths = ["secret/data/app/*"]\n'
          'operations = ["read"]\nidentities = ["token-ci-*"]\n')
TRUSTED = "by a token without an entity that a rule allows only by the display name its creator chose"


def _write(folder: Path, name: str, lines: Sequence[str]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(lines))
    path.chmod(0o600)
    return str(path)


def _rotated(folder: Path, old: Sequence[str] = OLD, new: Sequence[str] = NEW) -> tuple[str, str]:
    """The set as the vault and the rename left it: (audit.log.1, audit.log)."""
    return _write(folder, "audit.log.1", old), _write(folder, "audit.log", new)


def _settings() -> Settings:
    return Settings(access=(RULE,), require_tamper_evidence=False, retention_days=0)


def _cli(tmp_path: Path, *paths: str, jobs: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """`auditready verify PATHS --config ...`: the exit code and the access_policy outcome of each file."""
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "r.json"
    rc = main(["verify", *paths, "--config", str(cfg), "--json", str(out), *(["--jobs", str(jobs)] if jobs else [])])
    return rc, [o for o in json.loads(out.read_text())["outcomes"] if o["check"] == ap.ID]


def _by_file(results: Sequence[Any]) -> dict[str, Outcome]:
    """The access_policy outcome of each file's result (``FileResult``), by its path."""
    return {r.path: o for r in results for o in r.outcomes if o.check_id == ap.ID}


def _in_set(paths: Sequence[str]) -> dict[str, Outcome]:
    """Each file of the set verified as `auditready verify` does it (``verify_file`` with the set), in the order
    given: its access_policy outcome by file."""
    return _by_file([verify_file(p, _settings(), [ap.CHECK], {}, tuple(paths)) for p in paths])


def _parallel(paths: Sequence[str], range_bytes: Optional[int] = None) -> dict[str, Outcome]:
    """The same with `--jobs 2`: parts read by two worker processes, merged and finished here."""
    from pytest_auditready.engine import parallel

    return _by_file(parallel.verify_files(_settings(), [ap.CHECK], {}, list(paths), 2, range_bytes=range_bytes,
                                          min_bytes=0))


def _where(o: Outcome) -> list[str]:
    return [f.where for f in o.findings]


def _mallory_s(o: Outcome, made: Sequence[str]) -> None:
    """``o``'s findings are mallory's two reads by chosen names, each naming her entity and where her token was made
    (``made``: how each finding says it, in order)."""
    assert len(o.findings) == len(made), [f.text() for f in o.findings]
    for f, name, at in zip(o.findings, ("token-ci-deploy", "token-ci-chain"), made):
        assert f"only by its display name {name!r}, which the token's creator chose" in f.message, f.message
        assert f"made by entity {MALLORY} ({at})" in f.message, f.message
        assert "never a token's display name" in f.fix


# -- 1. the set: made in the older file, used in the newer -----------------------------------------------------------
@pytest.mark.parametrize("order", ["folder", "old-first", "new-first"])
def test_an_orphan_made_in_the_older_file_is_its_maker_s_in_the_newer(tmp_path: Path, order: str) -> None:
    """`auditready verify` of the folder, or of the two files named in either order: mallory's orphan's read and her
    relay's child's read in audit.log are findings at their lines there, naming her entity and the line of
    audit.log.1 that made the token (the relay: its child's making is in audit.log, the chain runs through both);
    root's orphan's read stays the creator's word. audit.log.1 holds no request on the rule's paths."""
    old, new = _rotated(tmp_path / "logs")
    args = {"folder": [str(tmp_path / "logs")], "old-first": [old, new], "new-first": [new, old]}[order]
    rc, outcomes = _cli(tmp_path, *args)
    assert rc == 1
    by_file = {o["subject"]: o for o in outcomes}
    assert by_file[old]["status"] == SKIPPED and not by_file[old]["findings"], by_file[old]
    mine = by_file[new]
    assert mine["status"] == FAILED
    assert [f["where"] for f in mine["findings"]] == [f"{new}:{DEPLOY_READ}", f"{new}:{CHAIN_READ}"], mine["findings"]
    for f, made in zip(mine["findings"], (DEPLOY_MADE, RELAY_MADE)):
        assert f"made by entity {MALLORY} (line {made} of {old})" in f["message"], f["message"]


def test_the_same_through_verify_file_and_the_tally(tmp_path: Path) -> None:
    """What the reports count: 3 reads held to the rule in audit.log, 1 of them (root's orphan) let through on the
    name its creator chose, mallory's 2 findings; read newest first, the same."""
    old, new = _rotated(tmp_path)
    for paths in ([old, new], [new, old]):
        got = _in_set(paths)
        assert got[old].status == SKIPPED
        _mallory_s(got[new], [f"line {DEPLOY_MADE} of {old}", f"line {RELAY_MADE} of {old}"])
        assert _where(got[new]) == [f"{new}:{DEPLOY_READ}", f"{new}:{CHAIN_READ}"]
        assert got[new].tally.judged == 4, got[new].tally  # 4 request entries, 4 response entries excused


# -- 2. one file: the same verdict --------------------------------------------------------------------------------
def test_the_same_lines_in_one_file_give_the_same_findings(tmp_path: Path) -> None:
    """The two files as the one the vault would have written without the rotation: the same two findings (their
    lines 25 further on), naming the lines of the same file that made the tokens."""
    (o,) = verify_file(_write(tmp_path, "audit.log", [*OLD, *NEW]), _settings(), [ap.CHECK], {}).outcomes
    assert o.status == FAILED
    assert [int(w.rsplit(":", 1)[1]) for w in _where(o)] == [len(OLD) + DEPLOY_READ, len(OLD) + CHAIN_READ]
    _mallory_s(o, [f"line {DEPLOY_MADE}", f"line {RELAY_MADE}"])


def test_a_use_written_before_its_making_in_one_file_is_still_a_finding(tmp_path: Path) -> None:
    """Fail closed on order within a file too: the newer file's lines first, then the older's (a use logged before
    the token's making: lines out of order, or two files joined newest first) give the same findings, where the
    token was let through at its use and its maker came later."""
    (o,) = verify_file(_write(tmp_path, "audit.log", [*NEW, *OLD]), _settings(), [ap.CHECK], {}).outcomes
    assert o.status == FAILED and [int(w.rsplit(":", 1)[1]) for w in _where(o)] == [DEPLOY_READ, CHAIN_READ]
    _mallory_s(o, [f"line {len(NEW) + DEPLOY_MADE}", f"line {len(NEW) + RELAY_MADE}"])


# -- 3. root's orphan across files: the creator's word, no false alarm ----------------------------------------------
@pytest.mark.parametrize("order", ["folder", "old-first", "new-first"])
def test_root_s_orphan_made_in_the_older_file_passes_on_its_creator_s_word(tmp_path: Path, order: str) -> None:
    """The set up to root's orphan's read (audit.log lines 1-2): root has no entity, so token-ci-nightly's name is
    its creator's word, taken and counted, as in one file; no finding, exit 0."""
    old, new = _rotated(tmp_path / "logs", new=NEW[:2])
    args = {"folder": [str(tmp_path / "logs")], "old-first": [old, new], "new-first": [new, old]}[order]
    rc, outcomes = _cli(tmp_path, *args)
    by_file = {o["subject"]: o for o in outcomes}
    assert by_file[new]["status"] == PASSED and not by_file[new]["findings"], by_file[new]
    assert by_file[new]["reason"].startswith("1 requests let through"), by_file[new]["reason"]
    assert f"(1 of them {TRUSTED}" in by_file[new]["reason"], by_file[new]["reason"]
    assert rc == 0, outcomes


def test_root_s_orphan_in_one_file_passes_the_same(tmp_path: Path) -> None:
    (o,) = verify_file(_write(tmp_path, "audit.log", [*OLD, *NEW[:2]]), _settings(), [ap.CHECK], {}).outcomes
    assert o.status == PASSED and not o.findings and f"(1 of them {TRUSTED}" in o.reason, o.reason


# -- 4. --jobs 2: the same verdicts ----------------------------------------------------------------------------------
def test_with_two_jobs_each_file_a_part(tmp_path: Path) -> None:
    """`--jobs 2`, each file read by a worker and finished here: the findings of the set read in one process, and
    root's orphan alone passes on its creator's word."""
    old, new = _rotated(tmp_path / "all")
    for paths in ([old, new], [new, old]):
        got = _parallel(paths)
        assert got[old].status == SKIPPED
        assert got[new].status == FAILED and _where(got[new]) == [f"{new}:{DEPLOY_READ}", f"{new}:{CHAIN_READ}"]
        _mallory_s(got[new], [f"line {DEPLOY_MADE} of {old}", f"line {RELAY_MADE} of {old}"])
    old, new = _rotated(tmp_path / "root", new=NEW[:2])
    got = _parallel([old, new])
    assert got[new].status == PASSED and not got[new].findings and f"(1 of them {TRUSTED}" in got[new].reason


def _filler(pairs: int) -> list[str]:
    """``pairs`` copies of root's write of sys/policies/acl/ci (OLD's lines 12-13: on no rule's path, no token made),
    each with its own request id."""
    first, second = OLD[11], OLD[12]
    rid = json.loads(first)["request"]["id"]
    return [ln.replace(rid, f"{n:08x}-0000-4000-8000-{n:012x}") for n in range(pairs) for ln in (first, second)]


def test_with_two_jobs_and_files_cut_in_ranges(tmp_path: Path) -> None:
    """Both files over 1 MiB, read in ranges by two workers: audit.log.1 cut between mallory's two makings, audit.log
    between root's orphan's read and mallory's reads. The same two findings, at the same entries, as read whole;
    the same with the files given newest first."""
    from pytest_auditready.offline.reader import BLOCK

    pad = _filler(520)
    old_lines = [*OLD[:DEPLOY_MADE], *pad, *OLD[DEPLOY_MADE:]]
    new_lines = [*NEW[:2], *pad, *NEW[2:]]
    old, new = _rotated(tmp_path, old_lines, new_lines)
    size = min(Path(old).stat().st_size, Path(new).stat().st_size)
    assert size > 2 * BLOCK
    want = [f"{new}:{len(pad) + DEPLOY_READ}", f"{new}:{len(pad) + CHAIN_READ}"]
    made = [f"line {DEPLOY_MADE} of {old}", f"line {len(pad) + RELAY_MADE} of {old}"]
    whole = _in_set([old, new])
    assert _where(whole[new]) == want
    _mallory_s(whole[new], made)
    for paths in ([old, new], [new, old]):
        for cut in (size // 2, size // 3):
            got = _parallel(paths, range_bytes=cut)
            assert got[old].status == SKIPPED, (cut, got[old].reason)
            assert got[new].status == FAILED and _where(got[new]) == want, (cut, [f.text() for f in got[new].findings])
            _mallory_s(got[new], made)
