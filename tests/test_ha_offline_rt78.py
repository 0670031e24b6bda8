"""Red team rt78 F2-F5: a correct OpenBao HA cluster's audit logs, offline and live.

The files are a real 3-node OpenBao 2.7.2 raft cluster's (fixtures/openbao/ha, its README): the raft join handshake
on the leader and a standby, and a minute of client traffic sent to every node in turn, where a write (or a login)
that reached a standby is logged there as a refused attempt ("cannot write to readonly storage", a login's "invalid
request") and on the active node as the request itself, under another request id on the same connection.

- F2: required_fields excuses the raft join handshake (sys/storage/raft/bootstrap/challenge, answer) under its own
  rule, and nothing beside it.
- F3: `auditready access` and the access review count such a request once, as the active node logged it, never as
  denied, and say how many standby traces they folded; in whichever order and however the files are given.
- F4: the active node's entries of a forwarded write dropped, with the nodes' files given together (or merged into
  one file): a completeness finding at the standby's line; a standby's file alone (or with a copy of itself, or
  split as a rotated set) passes with a note saying the forwarded entries are in the active node's log.
- F5: a live run against an HA cluster (VaultFacts.ha) says beside its completeness pass that each node writes its
  own audit log and the run read one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional, Sequence

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import PASSED, CheckContext, evaluate
from pytest_auditready.config import Settings, discover
from pytest_auditready.engine import parallel
from pytest_auditready.engine.files import FileResult, offline_checks, verify_file
from pytest_auditready.review import merged
from tests._native_runs import completed

ROOT = Path(__file__).resolve().parent.parent
HA = ROOT / "fixtures" / "openbao" / "ha"
TRAFFIC = [HA / "traffic" / f"node{n}.audit.log" for n in (1, 2, 3)]
START = [HA / "start" / "node1.audit.log", HA / "start" / "node2.audit.log"]
CHECKS = [c for c in offline_checks(BUILTIN) if c.id in ("completeness", "required_fields")]
# alice's write of secret/data/app/t41: sent to node 2, a standby (its lines 49-50 in traffic/node2.audit.log), and
# forwarded to node 1, then active (its lines 80-81 in traffic/node1.audit.log)
T41_STANDBY = 50
T41_ACTIVE = (80, 81)
READONLY = "cannot write to readonly storage"


def _settings(tmp_path: Path) -> Settings:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\nlog_max_mode = \"0644\"\n")
    return discover({}, str(cfg), notices=[])


def _verify(settings: Settings, paths: Sequence[Path]) -> list[FileResult]:
    names = [str(p) for p in paths]
    return [verify_file(p, settings, CHECKS, {}, tuple(names)) for p in names]


def _outcome(result: FileResult, check: str) -> Any:
    return next(o for o in result.outcomes if o.check_id == check and not o.subject)


def _copy(tmp_path: Path, sources: Sequence[Path], folder: str = "logs", drop: Optional[dict[int, Sequence[int]]] = None
          ) -> list[Path]:
    """The files copied into ``tmp_path/folder`` (mode 0600), with the 1-based lines ``drop[i]`` of the i-th left
    out."""
    out = tmp_path / folder
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i, src in enumerate(sources):
        lines = src.read_bytes().split(b"\n")
        gone = set((drop or {}).get(i, ()))
        dst = out / src.name
        dst.write_bytes(b"\n".join(x for n, x in enumerate(lines, 1) if n not in gone))
        dst.chmod(0o600)
        made.append(dst)
    return made


def _interleaved(path: Path, sources: Sequence[Path], drop: Optional[dict[int, Sequence[int]]] = None) -> Path:
    """The files' lines merged into one file by their time (as a collector that merges the nodes' logs writes it),
    with the 1-based lines ``drop[i]`` of the i-th source left out."""
    lines = []
    for i, src in enumerate(sources):
        gone = set((drop or {}).get(i, ()))
        lines += [x for n, x in enumerate(src.read_text().splitlines(), 1) if x and n not in gone]
    lines.sort(key=lambda x: json.loads(x)["time"])
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _access(pattern: str, *paths: Path) -> tuple[int, dict[str, Any], str]:
    proc = completed(["access", pattern, *map(str, paths), "--json", "-"], str(ROOT), timeout=60)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _ops(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    """(identity, operation) -> (requests, denied) of an access answer."""
    return {(i["display_name"], op): (c["requests"], c["denied"]) for i in doc["identities"]
            for op, c in i["operations"].items()}


# -- F2: the raft join handshake --------------------------------------------------------------------------------
def test_the_raft_join_handshake_is_excused_under_its_own_rule_and_nothing_beside_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    (leader,) = _verify(settings, START[:1])
    fields = _outcome(leader, "required_fields")
    assert fields.status == PASSED, [f.message for f in fields.findings]
    rules = dict(fields.tally.excused)
    raft = next(rule for rule in rules if "sys/storage/raft/bootstrap/challenge" in rule)
    assert rules[raft] == 20 and "raft join handshake" in raft  # lines 2-21 of the leader's file, named as such
    for node in _verify(settings, TRAFFIC):  # the cluster's traffic: the standbys' and the leader's logs
        assert _outcome(node, "required_fields").status == PASSED
    # Another endpoint's entry that names no one is still found, at its line: the rule names two paths only.
    lines = START[0].read_text().splitlines()
    lines[2] = lines[2].replace("sys/storage/raft/bootstrap/challenge", "sys/storage/raft/snapshot-auto/config/x")
    bad = tmp_path / "other.log"
    bad.write_text("\n".join(lines) + "\n")
    (res,) = _verify(settings, [bad])
    where = [f.where for f in _outcome(res, "required_fields").findings]
    assert where == [f"{bad}:3"], where


# -- F3: a write through a standby counted once, never as denied --------------------------------------------------
def test_access_counts_each_write_through_a_standby_once_and_never_as_denied(tmp_path: Path) -> None:
    rc, doc, err = _access("secret/data/app/*", *TRAFFIC)
    assert rc == 0, err
    ops = _ops(doc)
    # alice wrote t10-t12, t20-t22, t30, t40-t42 (all answered 200; 7 through a standby), read each once; bob was
    # refused each read
    assert ops[("userpass-alice", "create")] == (10, 0), ops
    assert ops[("userpass-alice", "read")] == (10, 0) and ops[("userpass-bob", "read")] == (10, 10), ops
    assert (doc["requests"], doc["denied"], doc["outcome_not_logged"]) == (30, 10, 0)
    assert doc["forwarded_from_standby"] == {"folded": 7, "not_found": 0}
    # the same answer in whichever order the files come, and from the three merged into one file by time
    _rc, backwards, _ = _access("secret/data/app/*", *reversed(TRAFFIC))
    _rc, one, _ = _access("secret/data/app/*", _interleaved(tmp_path / "merged.log", TRAFFIC))
    assert _ops(backwards) == _ops(one) == ops
    assert backwards["forwarded_from_standby"] == one["forwarded_from_standby"] == {"folded": 7, "not_found": 0}
    # the standby's pair and the active node's pair of the one write alone (the red team's two excerpts)
    pair = _copy(tmp_path, TRAFFIC[1::-1], "pair", drop={
        0: [n for n in range(1, 60) if n not in (T41_STANDBY - 1, T41_STANDBY)],
        1: [n for n in range(1, 90) if n not in T41_ACTIVE]})
    rc, small, err = _access("secret/data/app/*", *pair)
    assert rc == 0 and _ops(small) == {("userpass-alice", "create"): (1, 0)}, (small, err)
    assert "counted once" in _table("secret/data/app/*", *pair)


def _table(pattern: str, *paths: Path) -> str:
    proc = completed(["access", pattern, *map(str, paths)], str(ROOT), timeout=60)
    return proc.stdout + proc.stderr


def test_a_login_through_a_standby_counts_once_and_a_real_refusal_still_counts_denied(tmp_path: Path) -> None:
    """A login a standby refused "invalid request" and forwarded is the login the active node logged; the logins
    that succeeded are the truth (every login of the traffic did)."""
    logins = 0
    for path in TRAFFIC:
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if (d["type"] == "response" and d["request"]["path"].startswith("auth/userpass/login/")
                    and not d.get("error")):
                logins += 1
    rc, doc, err = _access("auth/userpass/login/*", *TRAFFIC)
    assert rc == 0, err
    assert (doc["requests"], doc["denied"]) == (logins, 0) and logins == 23, doc
    assert doc["forwarded_from_standby"]["folded"] == 16
    # a standby's "invalid request" with no forwarded login anywhere is a refusal, as before
    rc, alone, _ = _access("auth/userpass/login/*", TRAFFIC[2])
    refused = sum(1 for x in TRAFFIC[2].read_text().splitlines() if '"error":"invalid request"' in x)
    assert alone["denied"] == refused == 7 and alone["forwarded_from_standby"]["folded"] == 0


def test_the_access_review_agrees_with_access(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    results = _verify(settings, TRAFFIC)
    review = merged(settings, [r.review for r in results])
    assert review is not None
    doc = review.report()
    app = [p for p in doc["paths"] if p["path"].startswith("secret/data/app/")]
    counted = {(i["display_name"], op): c for p in app for i in p["identities"] for op, c in i["operations"].items()}
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for p in app:
        for i in p["identities"]:
            for op, c in i["operations"].items():
                r, d = totals.get((i["display_name"], op), (0, 0))
                totals[(i["display_name"], op)] = (r + c["requests"], d + c["denied"])
    _rc, answer, _ = _access("secret/data/app/*", *TRAFFIC)
    assert totals == _ops(answer), (totals, counted)
    assert all(c["requests"] == 1 for (_who, op), c in counted.items() if op == "create")
    assert doc["forwarded_from_standby"]["folded"] >= 7 and doc["forwarded_from_standby"]["not_found"] == 0


# -- F4: the active node's entries of a forwarded write dropped ------------------------------------------------------
def test_a_forwarded_write_whose_active_entries_were_dropped_is_found_at_the_standby_s_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    nodes = _copy(tmp_path, TRAFFIC, drop={0: T41_ACTIVE})
    results = {r.path: r for r in _verify(settings, nodes)}
    found = [f for r in results.values() for f in _outcome(r, "completeness").findings]
    assert [f.where for f in found] == [f"{nodes[1]}:{T41_STANDBY}"], [f.message for f in found]
    assert READONLY in found[0].message and str(nodes[0]) in found[0].message
    assert all(_outcome(results[str(p)], "completeness").status == PASSED for p in (nodes[0], nodes[2]))
    # merged into one file by a collector: the same finding, at the trace's line there
    one = _interleaved(tmp_path / "merged.log", TRAFFIC, drop={0: T41_ACTIVE})
    (res,) = _verify(settings, [one])
    lines = one.read_text().splitlines()
    at = next(n for n, x in enumerate(lines, 1) if '"secret/data/app/t41"' in x and READONLY in x)
    assert [f.where for f in _outcome(res, "completeness").findings] == [f"{one}:{at}"]
    # access: the successful write is no refusal, its outcome is not in the files (an answer that may be
    # incomplete: exit 1, red team rt102 F3)
    rc, doc, err = _access("secret/data/app/t41", *nodes)
    assert rc == 1 and _ops(doc)[("userpass-alice", "create")] == (1, 0), doc
    assert doc["outcome_not_logged"] == 1 and doc["forwarded_from_standby"] == {"folded": 0, "not_found": 1}
    assert "in none of these files" in err


def test_the_correct_cluster_passes_together_merged_and_each_alone(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    for run in (TRAFFIC, START, [_interleaved(tmp_path / "merged.log", TRAFFIC)]):
        for r in _verify(settings, run):
            out = _outcome(r, "completeness")
            assert out.status == PASSED and "forwarded" not in out.reason, (r.path, out.findings, out.reason)
    # each node's file alone: a pass that says where the forwarded requests' entries are
    standby_writes = {0: 2, 1: 2, 2: 3}  # traces of each node's file (node 1 was a standby at 11:27:24)
    for i, path in enumerate(TRAFFIC):
        (r,) = _verify(settings, [path])
        out = _outcome(r, "completeness")
        assert out.status == PASSED, [f.message for f in out.findings]
        assert f"{standby_writes[i]} request(s) this log records as refused with {READONLY!r}" in out.reason
        assert "active node's log" in out.reason


def test_a_standby_s_file_split_as_a_rotated_set_is_no_other_node(tmp_path: Path) -> None:
    """Files are another node's when they cover the trace's time without holding its request id: a rotated file
    of the standby's log covers none of the other file's times."""
    settings = _settings(tmp_path)
    lines = TRAFFIC[1].read_text().splitlines()
    rotated = tmp_path / "rotated"
    rotated.mkdir()
    for name, part in (("audit.log.1", lines[:30]), ("audit.log", lines[30:])):
        (rotated / name).write_text("\n".join(part) + "\n")
        (rotated / name).chmod(0o600)
    results = _verify(settings, [rotated / "audit.log.1", rotated / "audit.log"])
    said = [_outcome(r, "completeness") for r in results]
    assert all(o.status == PASSED for o in said), [f.message for o in said for f in o.findings]
    assert "1 request(s) this log records" in said[0].reason and "1 request(s) this log records" in said[1].reason


def test_another_vault_s_log_covering_the_time_is_no_other_node(tmp_path: Path) -> None:
    """A log of another vault (its own audit salt: no token digest in common) covering the trace's time is no node
    of the standby's cluster: the standby's file alone beside it passes with the note; node 1's file beside them is
    (the finding of the dropped write names it, not the other vault's)."""
    settings = _settings(tmp_path)
    nodes = _copy(tmp_path, TRAFFIC, drop={0: T41_ACTIVE})
    other = ROOT / "fixtures" / "openbao" / "rt72" / "openbao-2.7.2.log"  # a dev server's, recorded elsewhere
    lines = other.read_text().splitlines()
    stamp = re.compile(r'\A\{"time":"[^"]+"')
    retimed = [stamp.sub(f'{{"time":"2026-12-06T11:{26 + k // 60:02d}:{k % 60:02d}.{k:06d}000Z"', x, count=1)
               for k, x in enumerate(lines)]  # (one a second from 11:26:00, past t41's 11:27:58)
    elsewhere = tmp_path / "logs" / "other-vault.audit.log"
    elsewhere.write_text("\n".join(retimed) + "\n")
    elsewhere.chmod(0o600)
    results = _verify(settings, [nodes[1], elsewhere])
    said = _outcome(results[0], "completeness")
    assert said.status == PASSED and "2 request(s) this log records" in said.reason, [
        f.message for f in said.findings]
    results = _verify(settings, [elsewhere, nodes[1], nodes[0]])
    found = [f for r in results for f in _outcome(r, "completeness").findings]
    assert [f.where for f in found] == [f"{nodes[1]}:{T41_STANDBY}"]
    assert str(nodes[0]) in found[0].message and elsewhere.name not in found[0].message


def test_ranges_read_by_workers_judge_as_one_pass(tmp_path: Path) -> None:
    """A log past two blocks read in ranges (engine.parallel): the traces of every range, and the review's, merged
    as one pass keeps them. The log: the merged traffic seven times, an hour apart, each copy's request ids its
    own; the last copy without the active node's entries of t41."""
    settings = _settings(tmp_path)
    base = _interleaved(tmp_path / "merged.log", TRAFFIC).read_text().splitlines()
    lost = _interleaved(tmp_path / "lost.log", TRAFFIC, drop={0: T41_ACTIVE}).read_text().splitlines()
    rid = re.compile(r'"id":"[0-9a-f]([0-9a-f-]{35})"')
    out: list[str] = []
    for k in range(7):
        for x in (lost if k == 6 else base):
            out.append(rid.sub(f'"id":"{k}\\1"', x.replace("T11:", f"T{11 + k:02d}:")))
    big = tmp_path / "big.log"
    big.write_text("\n".join(out) + "\n")
    big.chmod(0o600)
    from pytest_auditready.offline.reader import BLOCK

    one = _verify(settings, [big])
    two = parallel.verify_files(settings, CHECKS, {}, [str(big)], 2, min_bytes=0, range_bytes=BLOCK)
    assert len(parallel.plan(parallel.prepare_setup(settings, CHECKS, {}, [str(big)]), [str(big)], 2, BLOCK)[0]) > 1
    at = next(n for n, x in enumerate(out, 1) if x.startswith('{"time":"2026-12-06T17') and
              '"secret/data/app/t41"' in x and READONLY in x)
    for results in (one, two):
        assert [f.where for f in _outcome(results[0], "completeness").findings] == [f"{big}:{at}"]
    reviews = [merged(settings, [r.review for r in results]) for results in (one, two)]
    docs = [r.report() for r in reviews if r is not None]
    assert docs[0] == docs[1] and docs[0]["forwarded_from_standby"]["folded"] >= 7 * 7 - 1


# -- F5: a live run against an HA cluster -------------------------------------------------------------------------
def _live_ctx(ha: dict[str, Any]) -> tuple[CheckContext, str]:
    """A live run's context of one action (alice's write of t40, which node 1 served as the active node), matched
    to the node's real entries as a live run matches them; ``VaultFacts.ha`` set to ``ha``."""
    from pytest_auditready.auditlog.match import match_actions
    from pytest_auditready.auditlog.model import AccessLedger, Action, AuditEntry, parse_time
    from pytest_auditready.auditlog.source import read_line
    from pytest_auditready.vault.scenario import VaultFacts

    path = TRAFFIC[0]
    entries = [e for n, raw in enumerate(path.read_bytes().splitlines(), 1)
               for e in (read_line(str(path), n, raw),) if isinstance(e, AuditEntry)]
    req = next(e for e in entries if e.path == "secret/data/app/t40" and e.operation == "create")
    sent = parse_time(req.time_text)
    assert sent is not None
    action = Action("write-t40", "writer", "userpass-alice", "POST", "secret/data/app/t40", "create", sent[0],
                    sent[0] + 10**7, 200, request_id=req.request_id)
    ledger = AccessLedger("rt78", "http://127.0.0.1:8200", actions=[action])
    facts = VaultFacts()
    object.__setattr__(facts, "ha", ha)  # (VaultFacts.ha, filled by the live run's set-up)
    ctx = CheckContext(settings=Settings(), ledger=ledger, entries=entries, bad_lines=[],
                       matches=match_actions([action], entries, 5 * 10**9), facts=facts, source=str(path))
    return ctx, action.name


def test_a_live_run_against_an_ha_cluster_says_each_node_writes_its_own_log() -> None:
    check = next(c for c in BUILTIN if c.id == "completeness")
    nodes = ["http://127.0.0.1:8201", "http://127.0.0.1:8202", "http://127.0.0.1:8203"]
    ctx, name = _live_ctx({"enabled": True, "is_self": True, "leader": nodes[0], "nodes": nodes})
    out = evaluate(check, ctx, [name])[name]
    assert out.status == PASSED and f"an HA cluster of 3 nodes ({', '.join(nodes)})" in out.reason, out.reason
    assert "the target is the active node" in out.reason and "each node writes its own audit log" in out.reason
    assert f"this run judged {TRAFFIC[0]} alone" in out.reason
    # sys/ha-status not readable by the audit token: the active node alone is known, no count is made up
    ctx, name = _live_ctx({"enabled": True, "is_self": False, "leader": nodes[0], "nodes": nodes[:1],
                           "nodes_error": "sys/ha-status answered 403: permission denied"})
    out = evaluate(check, ctx, [name])[name]
    assert f"an HA cluster (active node {nodes[0]}), and the target is a standby" in out.reason, out.reason
    # ... and the target the active node: raft storage is HA-enabled with one node too, so no cluster is claimed
    # (red team rt95 F6)
    ctx, name = _live_ctx({"enabled": True, "is_self": True, "leader": nodes[0], "nodes": nodes[:1],
                           "nodes_error": "sys/ha-status answered 403: permission denied"})
    out = evaluate(check, ctx, [name])[name]
    assert "HA cluster" not in out.reason and "how many nodes it has is not known" in out.reason, out.reason
    assert "sys/ha-status answered 403" in out.reason and "read on sys/ha-status" in out.reason
    for not_ha in ({}, {"enabled": False, "is_self": False, "nodes": []}):
        ctx, name = _live_ctx(not_ha)
        out = evaluate(check, ctx, [name])[name]
        assert out.status == PASSED and "HA cluster" not in out.reason, out.reason
