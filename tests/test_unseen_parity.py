"""One log set, four ways: `auditready verify --jobs 1`, `--jobs 2` (byte ranges of a file), `--dask-scheduler` (a
LocalCluster of 2 workers on loopback) and `pytest --auditready-offline`. SPEC promises one engine: the same verdicts,
findings (where and text), counts read/judged/excused, access review and exit code whichever way.

The entries whose state crosses a range's cut or a file's end are put exactly there: a replayed response whose first
is the last entry before a cut, a request answered again after a cut, a request in flight at a file's end whose
response opens the next file (on both sides of a cut), a namespace batch split by a cut (access rules and the access
review), an entry that is neither request nor response, a bad line and a line longer than a block at a cut, CRLF
lines, an empty member and a missing number in a rotated set, a set in an object store. Ranges are forced small
(``range_bytes`` = one block), as tests/test_parallel.py does, and every way is compared with the one-process pass.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.config import discover
from pytest_auditready.engine import files, parallel
from pytest_auditready.engine.files import FileResult, expand, offline_checks, read_canaries, settled, verify_file
from pytest_auditready.offline.reader import BLOCK
from tests._parity_runs import runs
from tests.test_object_store import FAKE_SECRET, s3  # noqa: F401  (fixtures: a loopback S3 bucket)
from tests.test_parallel import scheduler_process

CHECKS = offline_checks(BUILTIN)
L = 700  # bytes per padded line (newline included)
_H = "5f" * 32
RULES = ('[[tool.auditready.access.rules]]\nname = "app"\npaths = ["team-a/secret/data/app/*", "secret/data/app/*"]\n'
         'operations = ["read", "list"]\nidentities = ["approle-1"]\n')
_TIMING = re.compile(r"(?m)^\s+\S.*: \d+ (?:lines|records), [\d.]+ MB in [\d.]+ s$|(?<=MB in )[\d.]+(?= s)|^(JSON|evidence bundle): .*$")


# -- building logs ------------------------------------------------------------------------------------------------
def _t(i: int, day: int = 5) -> str:
    """Line ``i``'s time: 10 ms apart from 08:00 on 2026-01-``day``."""
    s, ms = divmod(i * 10, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return "2026-01-%02dT%02d:%02d:%02d.%03d123Z" % (day, 8 + h, m, s, ms)


def _entry(kind: str, rid: str, t: str, *, ns: str = "", path: str = "secret/data/app/x", who: str = "approle-1",
           err: str = "", size: int = L) -> bytes:
    """A Vault/OpenBao entry, padded to ``size`` bytes with its newline (0: not padded)."""
    req: dict[str, Any] = {"id": rid, "operation": "read", "mount_type": "kv", "path": path,
                           "remote_address": "127.0.0.1"}
    # (a producer that writes policy_results and mount_type writes request.namespace on every entry: rt69)
    req["namespace"] = {"id": ns.strip("/"), "path": ns} if ns else {"id": "root"}
    d: dict[str, Any] = {"time": t, "type": kind, "auth": {
        "client_token": "hmac-sha256:" + _H, "accessor": "hmac-sha256:" + _H, "display_name": who,
        "policies": ["default", "app"], "token_policies": ["default", "app"], "policy_results": {"allowed": True}},
        "request": req}
    if kind == "response":
        d["response"] = {"mount_type": "kv"}
    if err:
        d["error"] = err
    if size:
        d["note"] = ""
        room = size - 1 - len(json.dumps(d, separators=(",", ":")))
        assert room >= 0, room
        d["note"] = "x" * room
    return json.dumps(d, separators=(",", ":")).encode()


def _pairs(n: int, start: int = 0, prefix: str = "r", day: int = 5) -> list[bytes]:
    out: list[bytes] = []
    for i in range(start, start + n, 2):
        out += [_entry("request", f"{prefix}{i}", _t(i, day)), _entry("response", f"{prefix}{i}", _t(i, day))]
    return out[:n]


def _write(path: Path, lines: Sequence[bytes], eol: bytes = b"\n") -> str:
    path.write_bytes(eol.join(lines) + eol)
    path.chmod(0o600)
    return str(path)


# the logs here are of 2026-01-04 and 2026-01-05 (``_t``): judged as of the day after (retention_as_of), the days
# since being no part of these cases
AS_OF = "2026-01-06"


def _cfg(tmp_path: Path, extra: str = "", retention: str = "retention_days = 0\n") -> Path:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nmax_skew = 5\n"
                   f'retention_as_of = "{AS_OF}"\n' + retention + extra)
    return cfg


def _cuts(cfg: Path, path: str) -> list[int]:
    """The 0-based line indexes where the engine starts the ranges of ``path`` (range_bytes = BLOCK)."""
    settings = discover({}, str(cfg), notices=[])
    setup = parallel.prepare_setup(settings, CHECKS, {}, [path])
    (parts,) = parallel.plan(setup, [path], 2, BLOCK)
    data = Path(path).read_bytes()
    return [data[:p.start].count(b"\n") for p in parts]


# -- the four ways ------------------------------------------------------------------------------------------------
def _strip(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("seconds", "started", "finished", "duration")}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    return d


def _norm(results: Sequence[FileResult]) -> dict[str, Any]:
    results = settled(results)  # the set's word on the tallies of the files read before it (as verify reports)
    return {"outcomes": [_strip({**o.to_json(), "subject": o.subject or r.path, "accepted": []})
                         for r in results for o in r.outcomes],
            "files": [_strip(r.accounting()) for r in results], "review": [r.review for r in results]}


def _in_process(cfg: Path, paths: Sequence[str], jobs: int) -> dict[str, Any]:
    """One process (what --jobs 1 runs), or 2 local workers with every file past a block cut into ranges; the
    edges this process remembered are dropped before and after, as a fresh command starts without them."""
    settings = discover({}, str(cfg), notices=[])
    secrets = read_canaries(settings.canaries_file)
    ps = expand(list(paths))
    files._EDGES.clear()
    try:
        if jobs == 1:
            setup = parallel.prepare_setup(settings, CHECKS, secrets, ps)
            res = [verify_file(p, setup.settings[p], CHECKS, secrets, tuple(ps), detected=True) for p in ps]
        else:
            res = parallel.verify_files(settings, CHECKS, secrets, ps, jobs, min_bytes=0, range_bytes=BLOCK)
    finally:
        files._EDGES.clear()
    return _norm(res)


# (``_norm`` and ``_strip`` are this module's, their source put in the script: importing the module, and the
# fixtures' modules it imports, cost each run most of a second)
_DASK = textwrap.dedent('''
    from __future__ import annotations  # (the annotations of the functions below name what is not imported)
    import json, sys
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import discover
    from pytest_auditready.engine import parallel
    from pytest_auditready.engine.files import expand, offline_checks, read_canaries, settled
    from pytest_auditready.offline.reader import BLOCK
''') + inspect.getsource(_strip) + inspect.getsource(_norm) + textwrap.dedent('''
    cfg, address, *paths = sys.argv[1:]
    settings = discover({}, cfg, notices=[])
    ps = expand(paths)
    res = parallel.verify_dask(settings, offline_checks(BUILTIN), read_canaries(settings.canaries_file), ps, address,
                               range_bytes=BLOCK, deadline=120)
    print(json.dumps(_norm(res)))
''')


def _dask_run(cfg: Path, paths: Sequence[str], address: str) -> dict[str, Any]:
    """The Dask way with ranges forced small, as a run (``_parity_runs``) of a process of its own (this one forks
    local workers), from the checkout's folder."""
    return {"script": _DASK, "argv": [str(cfg), address, *paths], "cwd": str(Path(__file__).resolve().parents[1])}


def _dask_said(said: dict[str, Any]) -> dict[str, Any]:
    assert said["rc"] == 0, said["stderr"][-2000:]
    out: dict[str, Any] = json.loads(said["stdout"].strip().splitlines()[-1])
    return out


def _cli_run(cfg: Path, paths: Sequence[str], extra: Sequence[str], cwd: Path, tag: str) -> dict[str, Any]:
    """`auditready verify` on ``paths`` as a run (``_parity_runs``) of a process of its own, in ``cwd``; its JSON
    report and evidence bundle go to files named by ``tag``."""
    out, ev = cwd / f"{tag}.json", cwd / f"{tag}-evidence"
    shutil.rmtree(ev, ignore_errors=True)
    out.unlink(missing_ok=True)
    return {"argv": ["verify", *paths, "--config", str(cfg), "--json", str(out), "--evidence", str(ev), *extra],
            "cwd": str(cwd)}


def _cli_said(said: dict[str, Any], cwd: Path, tag: str) -> dict[str, Any]:
    out, ev = cwd / f"{tag}.json", cwd / f"{tag}-evidence"
    assert said["rc"] in (0, 1), (tag, said["stderr"])
    data = json.loads(out.read_text())
    evidence = json.loads((ev / "evidence.json").read_text())
    return {"rc": said["rc"], "printed": _TIMING.sub("", said["stdout"]), "outcomes": _strip(data["outcomes"]),
            "files": _strip(data["files"]), "review": _strip(evidence["review"])}


def _pytest(cfg: Path, paths: Sequence[str], cwd: Path, *extra: str) -> dict[str, Any]:
    ev = cwd / "pytest-evidence"
    shutil.rmtree(ev, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *extra, "--auditready-config",
                           str(cfg), "--auditready-evidence", str(ev), "--auditready-offline", *paths],
                          cwd=cwd, capture_output=True, text=True, timeout=180)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-2000:]
    evidence = json.loads((ev / "evidence.json").read_text())
    return {"rc": proc.returncode, "outcomes": [_strip(o) for c in evidence["checks"] for o in c["outcomes"]],
            "files": _strip(evidence["accounting"]), "review": _strip(evidence["review"])}


def _by_key(outcomes: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["subject"], o["check"]): {k: v for k, v in o.items() if k != "accepted"} for o in outcomes}


def _four_ways(cfg: Path, paths: Sequence[str], cwd: Path, address: str) -> dict[str, Any]:
    """Every way run on ``paths``; each compared with the one-process pass. The one-process result comes back."""
    one = _in_process(cfg, paths, 1)
    two = _in_process(cfg, paths, 2)
    assert two == one
    # the Dask way in a script, then the command three ways: four processes of their own, forked from one runner
    ways = (("jobs1", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"]), ("dask", ["--dask-scheduler", address]))
    said = runs([_dask_run(cfg, paths, address), *(_cli_run(cfg, paths, extra, cwd, tag) for tag, extra in ways)])
    assert _dask_said(said[0]) == one
    c1 = _cli_said(said[1], cwd, "jobs1")
    assert (_by_key(c1["outcomes"]), c1["files"]) == (_by_key(one["outcomes"]), one["files"])
    for (tag, _extra), got in zip(ways[1:], said[2:]):
        assert _cli_said(got, cwd, tag) == c1, tag
    pt = _pytest(cfg, paths, cwd)
    assert (pt["rc"], _by_key(pt["outcomes"]), pt["files"], pt["review"]) == \
        (c1["rc"], _by_key(c1["outcomes"]), c1["files"], c1["review"])
    return {**one, "rc": c1["rc"]}


def _found(res: dict[str, Any], check: str) -> list[str]:
    return [f["where"] for o in res["outcomes"] if o["check"] == check for f in o["findings"]]


# -- a Dask cluster for the module ----------------------------------------------------------------------------------
_CLUSTER = textwrap.dedent('''
    import sys
    from distributed import LocalCluster

    if __name__ == "__main__":
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            print(cluster.scheduler_address, flush=True)
            sys.stdin.read()  # until the test module closes it
''')


@pytest.fixture(scope="module")
def address(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A LocalCluster of 2 worker processes on loopback, in a process of its own, whose workers reach the loopback
    S3 server with the fake credentials the ``s3`` fixture sets here."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAFAKEFORMOTO00000", "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    with scheduler_process(_CLUSTER, tmp_path_factory.mktemp("cluster"), env) as (line, _):
        yield line


# -- the access review past its limits, in ranges -------------------------------------------------------------------
def test_a_review_past_its_limits_in_ranges_equals_one_pass(tmp_path: Path) -> None:
    """More paths than the review keeps (review.MAX_PATHS), and more identities of a path than it keeps (_KEEP),
    split by a cut. One pass counts a request on a path (or by an identity of a path) that no longer fits for no
    identity; a later range that kept that path (or held those of the range before only among the ones it dropped)
    counted it, so the merged review named identities one pass never counts. Now the merge declines and the file
    is read whole: the same review as one pass."""
    from pytest_auditready import review

    cfg = _cfg(tmp_path)

    def req(i: int, path: str, who: str = "approle-1") -> bytes:
        return _entry("request", f"q{i}", _t(i), path=path, who=who, size=560)

    lines = [req(i, "secret/data/filler") for i in range(3000)]
    log = _write(tmp_path / "audit.log", lines)
    cut = _cuts(cfg, log)[1]
    assert cut > review.MAX_PATHS
    for j in range(review.MAX_PATHS):  # range 0: the paths one pass keeps
        lines[j] = req(j, f"secret/data/a{j}")
    for j in range(review.MAX_PATHS):  # range 1: paths beyond them (and their identities), then one of range 0's
        lines[cut + j] = req(cut + j, f"secret/data/b{j}", who=f"late-{j}")
    lines[cut + review.MAX_PATHS] = req(cut + review.MAX_PATHS, "secret/data/a7", who="approle-2")
    _write(tmp_path / "audit.log", lines)
    assert _cuts(cfg, log)[1] == cut
    one = _in_process(cfg, [log], 1)
    parent, whole = os.getpid(), []
    real = parallel.run_part

    def counted(setup: Any, part: Any) -> Any:
        if os.getpid() == parent:
            whole.append(part)  # a part read in this process: the file read again for every visitor
        return real(setup, part)

    try:
        parallel.run_part = counted  # type: ignore[assignment]
        two = _in_process(cfg, [log], 2)
    finally:
        parallel.run_part = real  # type: ignore[assignment]
    assert two == one
    assert whole == []  # only the review, which declined, read the file again: not the checks
    idents = {i[0] for i in one["review"][0]["identities"]}
    assert not any(i.startswith("late-") for i in idents) and "approle-2" in idents

    # identities of one path: range 1 brings more than fit with range 0's
    lines = [req(i, "secret/data/filler") for i in range(3000)]
    for j in range(40):
        lines[j] = req(j, "secret/data/shared", who=f"early-{j}")
    for j in range(20):
        lines[cut + j] = req(cut + j, "secret/data/shared", who=f"later-{j}")
    _write(tmp_path / "audit.log", lines)
    one, two = _in_process(cfg, [log], 1), _in_process(cfg, [log], 2)
    assert two == one
    assert sum(1 for i in one["review"][0]["identities"] if i[0].startswith("later-")) == 10  # _KEEP = 50 a path


def test_a_review_merge_that_fits_is_still_taken(tmp_path: Path) -> None:
    """The decline is for limits only: ranges whose keys fit merge as before (no whole re-read)."""
    from pytest_auditready.review import Review

    calls = {"declined": 0, "merged": 0}
    cfg = _cfg(tmp_path)
    lines = _pairs(4 * BLOCK // L)
    log = _write(tmp_path / "audit.log", lines)
    settings = discover({}, str(cfg), notices=[])
    setup = parallel.prepare_setup(settings, CHECKS, {}, [log])
    parts = parallel.plan(setup, [log], 2, BLOCK)[0]
    firsts = list(parallel._lines_before(log, [p.start for p in parts[1:]]))
    results = [parallel.run_part(setup, p) for p in parts[:1]]
    results += [parallel.run_part(setup, Part) for Part in
                (parallel.Part(p.path, p.index, p.start, p.end, n) for p, n in zip(parts[1:], firsts))]
    merge = Review.merge

    def counting(self: Review, later: Any) -> None:
        try:
            merge(self, later)
        except NotImplementedError:
            calls["declined"] += 1
            raise
        calls["merged"] += 1

    Review.merge = counting  # type: ignore[method-assign]
    try:
        got = parallel.finish_file(setup, results)
    finally:
        Review.merge = merge  # type: ignore[method-assign]
    assert calls == {"declined": 0, "merged": len(parts) - 1} and len(parts) > 2
    files._EDGES.clear()
    assert _norm([got]) == _in_process(cfg, [log], 1)


# -- entries at the cuts of one file, four ways ---------------------------------------------------------------------
def test_entries_at_the_cuts_of_a_file_four_ways(tmp_path: Path, address: str) -> None:
    cfg = _cfg(tmp_path, RULES)
    lines = _pairs(6 * BLOCK // L)
    log = _write(tmp_path / "audit.log", lines)
    c1, c2, c3, c4 = _cuts(cfg, log)[1:5]
    # a replayed response: its first is the last entry before c1, the copy the first entry after it
    lines[c1 - 2], lines[c1 - 1] = _entry("request", "A", _t(c1 - 2)), _entry("response", "A", _t(c1 - 1))
    lines[c1] = lines[c1 - 1]
    # a response written again at another time after c2; a request answered before c3 written again after it
    lines[c2 - 2], lines[c2 - 1] = _entry("request", "B", _t(c2 - 2)), _entry("response", "B", _t(c2 - 1))
    lines[c2 + 1] = _entry("response", "B", _t(c2 + 1))
    lines[c3 - 2], lines[c3 - 1] = _entry("request", "C", _t(c3 - 2)), _entry("response", "C", _t(c3 - 1))
    lines[c3] = _entry("request", "C", _t(c3))
    # a namespace batch split by c4, by an identity the rules allow and one they do not; a denied run across it
    for j in range(c4 - 6, c4 + 6, 2):
        who = "approle-2" if (j // 2) % 2 else "approle-1"
        lines[j], lines[j + 1] = (_entry(k, f"n{j}", _t(j), ns="team-a/", who=who) for k in ("request", "response"))
    for j in range(c4 + 6, c4 + 40, 2):
        lines[j], lines[j + 1] = (_entry(k, f"d{j}", _t(j), who="approle-7", path="secret/data/app/k",
                                         err="permission denied") for k in ("request", "response"))
    # an entry neither request nor response, first after c2; a bad line first after c1 + 5 lines
    lines[c2] = _entry("audit", "r%d" % c2, _t(c2))
    lines[c2 + 40] = b'{"time":"2026-01-05T08:00:00.000Z","type":"request", cut' + b"y" * 600
    _write(tmp_path / "audit.log", lines)
    res = _four_ways(cfg, [log], tmp_path, address)
    where = _found(res, "completeness")
    assert all(f"{log}:{n}" in where for n in (c1 + 1, c2 + 2, c3 + 1)), where
    assert f"{log}:{c2 + 1}" in _found(res, "required_fields")
    assert _found(res, "access_policy") and res["rc"] == 1
    # the same lines with CRLF, and a line longer than a block just before a cut
    _write(tmp_path / "audit.log", lines, eol=b"\r\n")
    c2 = _cuts(cfg, log)[2]
    # (a value the leak judge reads, then spaces to the same length and offsets: a value of a block of token
    # characters is judged whole, a second or more in each of the eight ways, and is no case of its own)
    lines[c2 - 1] = _entry("request", "big", _t(c2 - 1), size=0)[:-1] + b',"x":"' + b"q" * 600 + b'","pad":"' + \
        b" " * (BLOCK + 99 - 609) + b'"}'
    _write(tmp_path / "audit.log", lines, eol=b"\r\n")
    _four_ways(cfg, [log], tmp_path, address)


# -- pairs split between the files of a set, at and beside the cuts -------------------------------------------------
def test_a_rotated_set_with_pairs_across_files_and_cuts_four_ways(tmp_path: Path, address: str) -> None:
    cfg = _cfg(tmp_path, retention="retention_days = 1\nretention_online_days = 1\n")
    n = 3 * BLOCK // L
    old, new = _pairs(n, 0, "a"), _pairs(n, n + 10, "b")
    pa, pb = _write(tmp_path / "audit.log.1", old), _write(tmp_path / "audit.log", new)
    ca, cb = _cuts(cfg, pa), _cuts(cfg, pb)
    old[-1], new[0] = _entry("request", "X", _t(n - 1)), _entry("response", "X", _t(n + 10))  # in flight, answered
    old[-3], new[2] = _entry("request", "Y", _t(n - 3)), _entry("response", "Z", _t(n + 12))  # both lost
    k = ca[1]  # a pair across a cut inside the older file
    old[k - 1], old[k] = _entry("request", "P", _t(k - 1)), _entry("response", "P", _t(k))
    k = cb[1]  # a request pending at the cut of the newer file
    new[k - 1] = _entry("request", "Q", _t(n + 10 + k - 1))
    _write(tmp_path / "audit.log.1", old)
    _write(tmp_path / "audit.log", new)
    (tmp_path / "audit.log.3").write_bytes(b"\n".join(_pairs(8, 0, "c", day=4)) + b"\n")  # audit.log.2 missing
    (tmp_path / "audit.log.3").chmod(0o600)
    (tmp_path / "audit.log.0").write_bytes(b"")  # an empty member
    (tmp_path / "audit.log.0").chmod(0o600)
    paths = [pb, str(tmp_path / "audit.log.0"), pa, str(tmp_path / "audit.log.3")]
    res = _four_ways(cfg, paths, tmp_path, address)
    where = _found(res, "completeness")
    assert f"{pa}:{n - 2}" in where and f"{pb}:3" in where, where
    assert not any(w.endswith((f"{pa}:{n}", f"{pb}:1")) for w in where)  # X: found across the files
    said = [f["message"] for o in res["outcomes"] if o["check"] == "retention" for f in o["findings"]]
    assert any("audit.log.2" in m for m in said), said


# -- a set in an object store -----------------------------------------------------------------------------------------
def test_a_set_in_an_object_store_four_ways(tmp_path: Path, address: str, s3: Any) -> None:  # noqa: F811
    """Pairs split between objects of a set, a replayed response, an empty object last in the listing. The empty
    object was taken as holding bytes (any URL was), so it carried the set's verdicts, judged no pair and the
    broken ones at the objects' boundaries passed as excused; the same files on a disk failed. Now an object's
    size is asked of the store, as a file's is of the disk."""
    n = 400
    old, new = _pairs(n, 0, "a"), _pairs(n, n + 10, "b")
    old[-1], new[0] = _entry("request", "X", _t(n - 1)), _entry("response", "X", _t(n + 10))
    old[-3], new[2] = _entry("request", "Y", _t(n - 3)), _entry("response", "Z", _t(n + 12))
    new[50] = new[49]  # a replayed response
    for name, lines in (("logs/audit.log.1", old), ("logs/audit.log", new), ("logs/audit.log.3", _pairs(6, 0, "c", 4))):
        s3.put_object(Bucket=s3.bucket, Key=name, Body=b"\n".join(lines) + b"\n")
    s3.put_object(Bucket=s3.bucket, Key="logs/audit.log.9", Body=b"")  # empty, and last: never the set's judge
    cfg = _cfg(tmp_path)
    res = _four_ways(cfg, [f"s3://{s3.bucket}/logs/"], tmp_path, address)
    where = _found(res, "completeness")
    assert any(w.endswith(f"audit.log.1:{n - 2}") for w in where) and any(w.endswith("audit.log:51") for w in where), \
        where
    assert not any(w.endswith(f"audit.log.1:{n}") for w in where)
    text = json.dumps(res)
    assert FAKE_SECRET not in text


# -- a member of the set read for its edges by another file's verdict -------------------------------------------------
def test_a_framed_member_read_for_the_judge_of_its_set_as_its_own_pass_reads_it(tmp_path: Path) -> None:
    """The file that judges the set reads the edges of a member this process has not read (`pytest -n 2` puts the
    files on two workers; a member in retention_archive) through the engine. It read it with the framing told
    for the judging file: a CRI-framed rotated file, read as plain lines, had no entries, so the request in flight
    at its end was not found answered by the response opening the judge's file, which `--jobs 1` (whose one
    process read the member first) judges. Now a member is read with its own framing told from its content."""
    from pytest_auditready.config import Settings
    from tests.test_container_framing import cri

    old, new = _pairs(20, 0, "a"), _pairs(20, 30, "b")
    old[-1], new[0] = _entry("request", "X", _t(19)), _entry("response", "X", _t(30))
    framed = _write(tmp_path / "audit.log.1", cri(old, 97))
    plain = _write(tmp_path / "audit.log", new)
    settings = Settings(require_tamper_evidence=False, retention_days=0)
    log_set = (framed, plain)

    def judge(first_read: bool) -> Any:
        files._EDGES.clear()
        try:
            if first_read:
                verify_file(framed, settings, CHECKS, {}, log_set)
            (res,) = _norm([verify_file(plain, settings, CHECKS, {}, log_set)])["outcomes"][:1]
        finally:
            files._EDGES.clear()
        return res

    together, alone = judge(True), judge(False)
    assert together["check"] == "completeness" and alone == together
    before = [r["entries"] for r in together["tally"]["excused"] if r["rule"].startswith("a response whose request")]
    assert before == [] and together["status"] == "failed"  # X found across the files; b30's request is lost
    assert [f["request_id"] for f in together["findings"]] == ["a18", "b30"]
    cfg = _cfg(tmp_path)
    one = _pytest(cfg, [framed, plain], tmp_path)
    spread = _pytest(cfg, [framed, plain], tmp_path, "-n", "2")
    assert (spread["rc"], _by_key(spread["outcomes"]), spread["files"]) == \
        (one["rc"], _by_key(one["outcomes"]), one["files"])


def test_a_framed_member_counts_its_days_for_the_judge_of_its_set(tmp_path: Path) -> None:
    """retention, the same class: the days of a CRI-framed rotated file, read for the set's verdict by a process
    that had not read it, were counted as none (read as plain lines), so two days of history read as one."""
    from pytest_auditready.checks import retention
    from pytest_auditready.config import Settings
    from tests.test_container_framing import cri

    framed = _write(tmp_path / "audit.log.1", cri(_pairs(10, 0, "a", day=4), 97))
    plain = _write(tmp_path / "audit.log", _pairs(10, 0, "b", day=5))
    settings = Settings(require_tamper_evidence=False, retention_days=2, retention_online_days=1, retention_as_of=AS_OF)

    def judge(first_read: bool) -> Any:
        retention._READ.clear()
        try:
            if first_read:
                verify_file(framed, settings, CHECKS, {}, (framed, plain))
            res = verify_file(plain, settings, CHECKS, {}, (framed, plain))
        finally:
            retention._READ.clear()
        return next(o.to_json() for o in res.outcomes if o.check_id == "retention")

    together, alone = judge(True), judge(False)
    assert alone == together and together["status"] == "passed", together
