"""Red team rt101, finding C: a token display name its creator chose proves nothing of who made a request
(fixtures/openbao/rt101-values, README there: real OpenBao 2.7.2 logs).

The token store writes "token-" and the name given to auth/token/create (or create-orphan, or a role's
create/<role>) as the token's display name (openbao internal/vault/token_store.go, handleCreateCommon), and whoever
may call those paths chooses it: userpass user mallory ran `bao token create -display-name=ci-deploy`, and a rule
that allowed identities "token-ci-*" let her child token's read through. What holds now, and why:

- A rule's identity glob that matches only such a display name does not allow a request whose entry names an
  entity: a child token keeps its parent's entity ("inherit the parent's entity identifier"), so the entity made
  it. The finding says so and names the entity; the fix is to name the entity id, the accessor or a policy.
- A token without an entity was made by a token without one (root's: the documented CI pattern, `bao token create
  -display-name=ci-deploy -policy=ci` with the root or an admin token) or as an orphan (create-orphan and an
  orphan token role need only a policy on their path; no_parent needs sudo). Its display name is then its creator's
  word, and is taken (so the CI pattern is no false alarm), and the pass says how many requests rest on it: unless
  the log shows the token made, without an entity, by a caller with one, or down a chain from such a token, in any
  range of the file (`--jobs`): then it is that entity's, and a finding.
- A rule that names a policy (the README's recommendation) holds every one of these to what a creator cannot
  choose beyond its own grants.
- `auditready access` reports the entity beside the display name for such a token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import access_policy as ap
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.cli import main
from pytest_auditready.config import AccessRule, Settings
from pytest_auditready.engine.files import verify_file

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "rt101-values"
SPOOF = HERE / "token-display-name-spoof.log"
CREATORS = HERE / "token-creators.log"
CHAIN = HERE / "token-chain.log"
MALLORY = "ccac8543-e9a9-232b-d96b-bfa6ab732e90"  # her entity in SPOOF
MALLORY2 = "e3ac6e56-4ddf-bb78-84c2-26a026f51dfe"  # in CREATORS
README_RULE = AccessRule("app secrets", ("secret/data/app/*",), ("read",), ("token-ci-*",), ())
BY_POLICY = AccessRule("app secrets", ("secret/data/app/*",), ("read",), (), ("ci",))


def _copy(src: Path, tmp_path: Path, upto: int = 0) -> str:
    lines = src.read_text().splitlines(keepends=True)
    path = tmp_path / src.name
    path.write_text("".join(lines[:upto] if upto else lines))
    path.chmod(0o600)
    return str(path)


def _settings(*rules: AccessRule) -> Settings:
    return Settings(access=rules, require_tamper_evidence=False, retention_days=0)


def _outcome(log: str, *rules: AccessRule) -> Outcome:
    (o,) = verify_file(log, _settings(*rules), [ap.CHECK], {}).outcomes
    return o


def _at(o: Outcome) -> list[int]:
    return [int(f.where.rsplit(":", 1)[1]) for f in o.findings]


def _by_name(o: Outcome) -> list[int]:
    """The lines of the findings that say the rule matched only a display name the token's creator chose."""
    return [int(f.where.rsplit(":", 1)[1]) for f in o.findings if "matched the rule only by its display name" in
            f.message]


@pytest.mark.parametrize(("name", "chosen"), [
    ("token", True), ("token-ci-deploy", True), ("token-s-abc", True),
    ("root", False), ("userpass-mallory", False), ("tokenx-alice", False), ("approle", False), ("", False)])
def test_which_display_names_the_token_store_wrote_from_a_creator_s_choice(name: str, chosen: bool) -> None:
    assert ap.chosen_name(name) is chosen


# -- the red team's log: a child token of mallory's named token-ci-deploy --------------------------------------------
def test_the_child_token_s_read_is_mallory_s_and_a_finding(tmp_path: Path) -> None:
    """The README's rule (identities token-ci-*): the child's read (line 17) is a finding that says why and names
    mallory's entity; her own read (line 21) one as before. Nothing else."""
    o = _outcome(_copy(SPOOF, tmp_path), README_RULE)
    assert o.status == FAILED and _at(o) == [17, 21], [f.text() for f in o.findings]
    child = o.findings[0]
    assert "only by its display name 'token-ci-deploy', which the token's creator chose" in child.message
    assert f"the entity {MALLORY} made the request" in child.message
    assert "entity id (auth.entity_id), the token accessor as logged, or a token policy" in child.fix
    assert _by_name(o) == [17]


def test_naming_mallory_s_entity_allows_both_of_her_reads(tmp_path: Path) -> None:
    """The sound rule (her entity id) lets both reads through, with no finding: the child's entity is hers."""
    o = _outcome(_copy(SPOOF, tmp_path), AccessRule("app secrets", ("secret/data/app/*",), ("read",), (MALLORY,), ()))
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]
    assert o.reason.startswith("2 requests let through"), o.reason
    assert "creator chose" not in o.reason


def test_a_display_name_the_vault_composed_still_allows(tmp_path: Path) -> None:
    """A login's display name ("userpass-mallory", the vault's composition) is no creator's choice: a rule naming it
    allows her own read (line 21); the child's read (17), under another name, is a finding as before."""
    o = _outcome(_copy(SPOOF, tmp_path),
                 AccessRule("app secrets", ("secret/data/app/*",), ("read",), ("userpass-mallory",), ()))
    assert o.status == FAILED and _at(o) == [17] and not _by_name(o), [f.text() for f in o.findings]


# -- every way a token gets its name: root's CI tokens, mallory's child, orphan and role token ----------------------
def test_root_s_ci_tokens_pass_and_every_token_of_mallory_s_is_a_finding(tmp_path: Path) -> None:
    """Root's CI tokens (no entity: lines 26 and 32) are let through on their names, and the pass would say they rest
    on their creator's word; mallory's child (40, her entity), her orphan through create-orphan (46) and through an
    orphan role (52), both without an entity but made by her in this log, are findings by name; her own read (56)
    as before."""
    o = _outcome(_copy(CREATORS, tmp_path), README_RULE)
    assert o.status == FAILED and _at(o) == [40, 46, 52, 56], [f.text() for f in o.findings]
    assert _by_name(o) == [40, 46, 52]
    orphan, role = o.findings[1], o.findings[2]
    assert f"made by entity {MALLORY2} (line 43)" in orphan.message, orphan.message
    assert f"made by entity {MALLORY2} (line 49)" in role.message, role.message


def test_the_documented_ci_pattern_passes_and_says_what_it_rests_on(tmp_path: Path) -> None:
    """The log up to root's CI tokens' reads (lines 1-33): the README's old rule passes, with zero findings, and
    the pass names the 2 requests let through only by a name their creator chose."""
    o = _outcome(_copy(CREATORS, tmp_path, upto=33), README_RULE)
    assert o.status == PASSED and not o.findings, [f.text() for f in o.findings]
    assert o.reason.startswith("2 requests let through"), o.reason
    assert "(2 of them by a token without an entity that a rule allows only by the display name its creator" \
           in o.reason, o.reason


def test_a_rule_by_policy_holds_every_token_without_trusting_a_name(tmp_path: Path) -> None:
    """The README's recommendation (policies = ["ci"]): root's CI tokens pass (they hold ci), each of mallory's reads
    is a finding (she cannot give a token a policy she does not hold), and nothing rests on a chosen name."""
    o = _outcome(_copy(CREATORS, tmp_path), BY_POLICY)
    assert o.status == FAILED and _at(o) == [40, 46, 52, 56] and not _by_name(o), [f.text() for f in o.findings]
    clean = _outcome(_copy(CREATORS, tmp_path, upto=33), BY_POLICY)
    assert clean.status == PASSED and not clean.findings and "creator chose" not in clean.reason, clean.reason


def test_a_token_made_by_mallory_s_orphan_is_hers_too(tmp_path: Path) -> None:
    """An orphan she made (token-relay, no entity, line 21) makes token-ci-chain (line 23: no entity to inherit),
    which reads the secret (line 26): the chain leads to her entity."""
    o = _outcome(_copy(CHAIN, tmp_path), README_RULE)
    assert o.status == FAILED and _at(o) == [26] and _by_name(o) == [26], [f.text() for f in o.findings]
    assert "made by entity 160baf38-4f6a-b15e-6459-0e0b47c6b5e1" in o.findings[0].message


def _padded(src: Path, after: int, tmp_path: Path, pairs: int = 520) -> tuple[str, int]:
    """``src`` with ``pairs`` copies of root's read of sys/internal/ui/mounts/secret/app/db (its lines 16-17: on no
    rule's path; each copy its own request id) after line ``after``: more than 1 MiB, so that a run with ranges of
    about half or a third of it cuts the file (at its 512 KiB blocks) between a token's making and its use. The
    file, and how many lines were put in."""
    lines = src.read_text().splitlines()
    filler = lines[15:17]
    rid = json.loads(filler[0])["request"]["id"]
    pad = [ln.replace(rid, f"{n:08x}-0000-4000-8000-{n:012x}") for n in range(pairs) for ln in filler]
    path = tmp_path / ("padded-" + src.name)
    path.write_text("".join(ln + "\n" for ln in [*lines[:after], *pad, *lines[after:]]))
    path.chmod(0o600)
    return str(path), len(pad)


@pytest.mark.parametrize(("log", "after", "want"), [(CREATORS, 43, [40, 46, 52, 56]), (CHAIN, 21, [26])],
                         ids=["creators", "chain"])
def test_the_same_in_ranges_read_in_parallel(tmp_path: Path, log: Path, after: int, want: list[int]) -> None:
    """`--jobs`: the file read in ranges, mallory's orphan made in the first range (CREATORS line 43; CHAIN line 21,
    the relay) and used, or used to make the chain's token, in a later one: the merge places the tokens the later
    range saw made and judges its requests again against the ranges before. The findings of one pass, at every cut."""
    from pytest_auditready.engine import parallel
    from pytest_auditready.offline.reader import BLOCK

    path, added = _padded(log, after, tmp_path)
    size = Path(path).stat().st_size
    assert size > 2 * BLOCK
    expected = [n + added if n > after else n for n in want]
    alone = _outcome(path, README_RULE)
    assert (alone.status, _at(alone)) == (FAILED, expected), [f.text() for f in alone.findings]
    settings = _settings(README_RULE)
    for cut in (size // 2, size // 3):
        got = [o for r in parallel.verify_files(settings, [ap.CHECK], {}, [path], 3, range_bytes=cut, min_bytes=0)
               for o in r.outcomes]
        assert [(o.status, sorted(_at(o))) for o in got] == [(FAILED, expected)], \
            (cut, [f.text() for o in got for f in o.findings])
        assert [sorted(_by_name(o)) for o in got] == [[n for n in expected if n != 56 + added]], cut
        assert all("by a token without an entity" not in o.reason for o in got), cut


def test_a_chosen_name_with_an_entity_is_judged_by_the_entity_on_a_refused_or_empty_read(tmp_path: Path) -> None:
    """A read the vault refused is no access (the vault enforced it), whatever the name: the rule judges only what
    was let through."""
    lines = SPOOF.read_text().splitlines()
    entry = json.loads(lines[16])
    entry["error"] = "1 error occurred:\n\t* permission denied\n\n"
    entry["auth"]["policy_results"] = {"allowed": False}
    lines[16] = json.dumps(entry, separators=(",", ":"))
    path = tmp_path / "refused.log"
    path.write_text("".join(ln + "\n" for ln in lines))
    path.chmod(0o600)
    o = _outcome(str(path), README_RULE)
    assert _at(o) == [21] and not _by_name(o), [f.text() for f in o.findings]


# -- auditready access: who saw the secret ---------------------------------------------------------------------------
def test_access_reports_the_entity_beside_the_chosen_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`auditready access secret/data/app/*`: the child's read is counted under token-ci-deploy *and* mallory's
    entity id, in the JSON and in the table."""
    out = tmp_path / "a.json"
    capsys.readouterr()
    assert main(["access", "secret/data/app/*", _copy(SPOOF, tmp_path), "--json", str(out)]) == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    reads = {(i["display_name"], i["entity_id"]) for i in doc["identities"] if "read" in i["operations"]}
    assert reads == {("token-ci-deploy", MALLORY), ("userpass-mallory", MALLORY)}, reads
    capsys.readouterr()
    assert main(["access", "secret/data/app/*", _copy(SPOOF, tmp_path)]) == 0
    table = capsys.readouterr().out
    assert any(ln.startswith("token-ci-deploy") and MALLORY in ln for ln in table.splitlines()), table
