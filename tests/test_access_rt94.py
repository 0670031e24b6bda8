"""`auditready access` and access_policy on a real OpenBao 2.7.2 log, Kubernetes and CloudTrail records (red team
rt94, F3 and F5 to F13).

The Vault lines are ``fixtures/access/rt94/live2.log``, written by a real OpenBao 2.7.2 (`bao server -dev`, a file
audit device, ``raw_storage_endpoint = true``) driven by the `bao` CLI and curl; each test takes the lines it needs
by their line numbers (1-based, as the red team's report gives them). The Kubernetes and CloudTrail files were
built from those producers' documented formats."""

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

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "access" / "rt94"
LIVE = (HERE / "live2.log").read_text().splitlines(keepends=True)


def lines(*spans: tuple[int, int]) -> list[str]:
    """The live log's lines of each (first, last) span, 1-based and inclusive."""
    return [ln for a, b in spans for ln in LIVE[a - 1 : b]]


def write(folder: Path, name: str, content: list[str]) -> str:
    path = folder / name
    path.write_text("".join(content))
    path.chmod(0o600)
    return str(path)


def access(tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str, *files: str
           ) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "a.json"
    capsys.readouterr()
    rc = main(["access", pattern, *files, "--json", str(out)])
    return rc, json.loads(out.read_text()), capsys.readouterr().err


def ops(doc: dict[str, Any]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per identity, per operation: (requests, denied)."""
    return {i["display_name"]: {op: (c["requests"], c["denied"]) for op, c in i["operations"].items()}
            for i in doc["identities"]}


def rule(paths: str, operations: str = "read", identities: str = "userpass-alice", name: str = "app readers"
         ) -> AccessRule:
    """One access rule (comma-separated paths, operations and identities)."""
    return AccessRule(name, tuple(paths.split(",")), tuple(operations.split(",")),
                      tuple(i for i in identities.split(",") if i), ())


def judge(*files: str, rules: tuple[AccessRule, ...]) -> list[Outcome]:
    """access_policy's outcome of each file (the check alone, as `auditready verify` runs it)."""
    settings = Settings(access=rules, require_tamper_evidence=False, retention_days=0)
    return [o for f in files for o in verify_file(f, settings, [ap.CHECK], {}, files).outcomes]


def one(*files: str, rules: tuple[AccessRule, ...]) -> Outcome:
    (outcome,) = judge(*files, rules=rules)
    return outcome


APP_READERS = (rule("secret/data/app/*"),)


# -- F3: a read that returned nothing (404) is an attempt, not a read ----------------------------------------------
@pytest.mark.parametrize("span,pattern", [((231, 232), "secret/data/app/db"),      # version=99: no such version
                                          ((235, 236), "secret/data/app/never")],  # no such secret
                         ids=["missing-version", "missing-secret"])
def test_a_vault_read_answered_404_received_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    span: tuple[int, int], pattern: str) -> None:
    """OpenBao answers a read whose backend returned no response with 404 (sdk/logical/response_util.go,
    RespondErrorCommon), and its response entry holds no data: eve tried, and received nothing. (Lines 8-9, a read
    of sys/audit whose answer the log shows, show that the log's responses keep their data: a log whose every
    response a hop emptied keeps such reads as reads, ``answered_somewhere``.)"""
    log = write(tmp_path, "audit.log", lines((8, 9), span))
    rc, doc, _ = access(tmp_path, capsys, pattern, log)
    assert rc == 0 and ops(doc) == {"userpass-eve": {"read": (1, 1)}}, doc
    outcome = one(log, rules=APP_READERS)
    assert outcome.status == PASSED and not outcome.findings, outcome
    assert "1 more let through that returned nothing" in outcome.reason, outcome.reason
    alone = write(tmp_path, "alone.log", lines(span))  # nothing shows the log keeps answers: a read, as logged
    rc, doc, _ = access(tmp_path, capsys, pattern, alone)
    assert ops(doc) == {"userpass-eve": {"read": (1, 0)}}, doc
    assert one(alone, rules=APP_READERS).status == FAILED


def test_control_a_vault_read_that_returned_the_secret_is_a_read(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    log = write(tmp_path, "audit.log", lines((241, 242)))  # eve's read of secret/data/app/db: data returned
    rc, doc, _ = access(tmp_path, capsys, "secret/data/app/db", log)
    assert rc == 0 and ops(doc) == {"userpass-eve": {"read": (1, 0)}}, doc
    outcome = one(log, rules=APP_READERS)
    assert outcome.status == FAILED and "userpass-eve" in outcome.findings[0].message, outcome


def test_a_404_read_whose_response_is_in_a_later_range_is_taken_back(tmp_path: Path) -> None:
    """access_policy judges a request at its request entry; its response entry (which says it returned nothing)
    may be read in another range of the file (``--jobs``): the merge takes the judgment back there too."""
    from pytest_auditready.engine import parallel

    log = write(tmp_path, "audit.log", lines((225, 230), (231, 232), (233, 234)))
    settings = Settings(access=APP_READERS, require_tamper_evidence=False, retention_days=0)
    size = Path(log).stat().st_size
    for cut in (1024, 2048, 4096, size // 2):
        got = [o for r in parallel.verify_files(settings, [ap.CHECK], {}, [log], 2, range_bytes=cut, min_bytes=0)
               for o in r.outcomes]
        assert [(o.status, len(o.findings)) for o in got] == [(PASSED, 0)], (cut, got)


def test_a_kubernetes_get_answered_404_received_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A get of a Secret that does not exist: responseStatus.code 404, NotFound, no object."""
    rc, doc, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/nope", str(HERE / "k8s_get_404.log"))
    assert rc == 0 and ops(doc) == {"ivy": {"get": (1, 1)}}, doc
    k8s_rules = (rule("api/v1/namespaces/prod/secrets/*", identities="alice"),)
    outcome = one(str(HERE / "k8s_get_404.log"), rules=k8s_rules)
    assert outcome.status == PASSED and not outcome.findings, outcome
    # control: the same get answered 200 is a read by ivy, whom the rule does not allow
    ok = write(tmp_path, "k8s.log", [(HERE / "k8s_get_404.log").read_text().replace('"code":404', '"code":200')])
    rc, doc, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/nope", ok)
    assert ops(doc) == {"ivy": {"get": (1, 0)}}, doc
    outcome = one(ok, rules=k8s_rules)
    assert outcome.status == FAILED and "ivy" in outcome.findings[0].message, outcome


# -- F9: KV v2 "Invalid path" (no data/) named no secret, in both ---------------------------------------------------
def test_a_kv2_invalid_path_read_is_no_read_and_a_rule_written_so_judged_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`bao read secret/app/db` on a KV version 2 mount: the engine answers a raw 404, "Invalid path for a versioned
    K/V secrets engine" (internal/builtin/logical/kv/backend.go, pathInvalid). access counts it as denied; for
    access_policy it is no access let through, and a rule written without data/ named no secret: it judged nothing
    and fails, as the README says of a mistyped KV version 2 rule."""
    log = write(tmp_path, "audit.log", lines((138, 139)))
    rc, doc, _ = access(tmp_path, capsys, "secret/app/db", log)
    assert rc == 0 and ops(doc) == {"token": {"read": (1, 1)}}, doc
    outcome = one(log, rules=(rule("secret/app/*", name="typo"),))
    assert outcome.status == FAILED and len(outcome.findings) == 1, outcome
    message = outcome.findings[0].message
    assert "judged nothing" in message and "rule 'typo'" in message and "breaks" not in message, message


def test_control_a_soft_deleted_version_read_names_its_secret(tmp_path: Path) -> None:
    """A read of a deleted version (the same raw 404, on data/) names a secret: the rule named it, nothing was
    let through, and the check passes (no "judged nothing")."""
    log = write(tmp_path, "audit.log", lines((233, 234)))
    outcome = one(log, rules=APP_READERS)
    assert outcome.status == PASSED and not outcome.findings, outcome
    assert "1 more let through that returned nothing" in outcome.reason, outcome.reason


# -- F10: a Vault request entry whose response entry is in no file: outcome not logged -----------------------------
def test_a_vault_request_without_its_response_entry_is_outcome_not_logged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An allowed request's response entry is where an error or a 404 shows: without it, whether approle received
    the secret is not logged, as a response without its request entry is said (exit 1)."""
    log = write(tmp_path, "audit.log", lines((102, 106), (108, 111)))  # approle's read (106) without line 107
    rc, doc, err = access(tmp_path, capsys, "secret/data/app/db", log)
    assert rc == 1 and doc["outcome_not_logged"] == 1 and doc["response_not_logged"] == 1, doc
    approle = next(i for i in doc["identities"] if i["display_name"] == "approle")
    assert approle["operations"]["read"]["outcome_not_logged"] == 1, approle
    assert "1 matching Vault requests have a request entry and no response entry" in err, err
    # control: with its response entry, a plain read, exit 0
    rc, doc, err = access(tmp_path, capsys, "secret/data/app/db", write(tmp_path, "whole.log", lines((102, 111))))
    assert rc == 0 and doc["outcome_not_logged"] == 0 and doc["response_not_logged"] == 0 and not err, (doc, err)
    assert ops(doc) == {"approle": {"read": (1, 0)}, "token-svc": {"read": (1, 0)}}, doc


def test_the_audit_devices_self_test_write_needs_no_response(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """sys/audit/test (no token) is the device's own test write, logged without a response: no hole."""
    rc, doc, _ = access(tmp_path, capsys, "sys/audit/*", write(tmp_path, "audit.log", lines((1, 5))))
    assert rc == 0 and doc["response_not_logged"] == 0 and doc["requests"] == 1, doc


# -- F11: a trailing '/' names the same KV version 2 secret ---------------------------------------------------------
def test_an_attempt_on_the_path_with_a_trailing_slash_counts_for_the_secret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """OpenBao's KV v2 cleans a key of its trailing '/' for the secret's metadata (keysutil encryptedKeyStorage:
    paths.Clean), so eve's read of secret/data/app/db/ looked up secret app/db: an attempt on it (500, "could not
    find version data"), counted denied for the exact pattern."""
    log = write(tmp_path, "audit.log", lines((237, 238)))
    rc, doc, _ = access(tmp_path, capsys, "secret/data/app/db", log)
    assert rc == 0 and ops(doc) == {"userpass-eve": {"read": (1, 1)}}, doc
    # control: another secret's pattern does not count it
    rc, doc, _ = access(tmp_path, capsys, "secret/data/app/d", log)
    assert doc["requests"] == 0, doc


# -- F8: the unwrap of a wrapped KV write received version metadata -----------------------------------------------
def test_the_unwrapper_of_a_wrapped_kv_write_made_no_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Root's `bao kv put -wrap-ttl=5m secret/app/new`, then carol's unwrap: the write was root's (allowed); carol
    received its answer, version metadata, as `auditready access` counts it ("unwrap (of create)")."""
    log = write(tmp_path, "audit.log", lines((186, 189)))
    writers = (rule("secret/data/app/*", "create,update", "token", "writers"),)
    outcome = one(log, rules=writers)
    assert outcome.status == PASSED and not outcome.findings, outcome
    _, doc, _ = access(tmp_path, capsys, "secret/data/app/new", log)
    assert ops(doc)["userpass-carol"] == {"unwrap (of create)": (1, 0)}, doc
    # control: the unwrap of a wrapped read (alice's, unwrapped by alice: 155-158) is still that read
    outcome = one(write(tmp_path, "r1.log", lines((155, 158))), rules=(rule("secret/data/app/*", "read", "nobody"),))
    assert outcome.status == FAILED and "unwrap of a response-wrapped read" in outcome.findings[-1].message, outcome
