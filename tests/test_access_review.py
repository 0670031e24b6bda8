"""The access review of the evidence bundle and report.html (review.py): who read each secret, who is new, and
the flagged patterns as review items, never failures.

Each pattern is proven by a fixture of real OpenBao lines that plants it (fixtures/review/, built by its build.py
from fixtures/openbao/clean.log), against a clean fixture that flags nothing; the live embedded run's review is
checked against a count made here from the log itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from pytest_auditready.config import Settings, load
from pytest_auditready.engine.driver import drive, reader_for
from pytest_auditready.errors import ConfigError
from pytest_auditready.offline.reader import FileStats, open_log
from pytest_auditready.review import MAX_PATHS, Review, merged
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "review"
SOURCE = ROOT / "fixtures" / "openbao" / "clean.log"
SECRET = "secret/data/app-c9d897/app0/db"
VAULT = Settings(log_format="vault")


def _builder() -> Any:
    return load_script(FIX / "build.py", "review_fixtures")


def review_of(paths: list[Path], settings: Settings = VAULT) -> Review:
    """One Review fed every file of ``paths`` in order, through the engine's one driver (one read of each)."""
    r = Review(settings)
    for p in paths:
        read_blocks, parse, whole = reader_for(settings, str(p))
        f = open_log(str(p))
        try:
            drive([r], read_blocks(f, str(p), FileStats()), str(p), parse, whole)
        finally:
            f.close()
    return r


def items(doc: dict[str, Any]) -> list[tuple[str, str, str, str, int, str]]:
    return [(i["pattern"], i["path"], i["display_name"], i["when"], i["reads"], i["source"]) for i in doc["items"]]


# -- fixtures: each pattern planted, and a clean log ------------------------------------------------------------
def test_the_fixtures_are_what_build_py_makes_of_real_openbao_lines() -> None:
    built = _builder().logs()
    assert sorted(built) == sorted(p.name for p in FIX.glob("*.log"))
    for name, text in built.items():
        assert (FIX / name).read_text() == text, f"run python fixtures/review/build.py ({name} is stale)"
    real = json.loads(SOURCE.read_text().splitlines()[19])
    first = json.loads((FIX / "clean.log").read_text().splitlines()[0])
    for key in ("auth", "type", "mount_point"):  # only time, request id and source address were changed
        assert first.get(key) == real.get(key)
    assert first["request"]["path"] == real["request"]["path"] == SECRET


def test_clean_log_flags_nothing_and_counts_every_read() -> None:
    doc = review_of([FIX / "clean.log"]).report()
    assert doc["items"] == [] and doc["items_more"] == {}
    (path,) = doc["paths"]
    assert path["path"] == SECRET and path["requests"] == 40 and path["denied"] == 10
    by = {i["display_name"]: i for i in path["identities"]}
    assert by["token-reader"]["operations"] == {"read": {"requests": 30, "denied": 0}}
    assert by["token-nobody"]["operations"] == {"read": {"requests": 10, "denied": 10}}
    assert by["token-reader"]["first"] == "2026-11-02T09:00:00.000000123Z"
    assert by["token-reader"]["last"] == "2026-11-13T16:00:00.000000123Z"
    assert by["token-reader"]["sources"] == {"127.0.0.1": 30}
    assert all(a.startswith("hmac-sha256:") for a in by["token-reader"]["accessors"])
    assert doc["new_identities"]["judged"] and doc["new_identities"]["identities"] == []


@pytest.mark.parametrize(("log", "expected"), [
    ("burst.log", ("burst", SECRET, "token-reader", "2026-11-10T14:00:00.000000123Z", 25, "")),
    ("new-source.log", ("new_source", SECRET, "token-reader", "2026-11-10T13:15:00.000000123Z", 1, "10.9.8.7")),
    ("off-hours.log", ("off_hours", SECRET, "token-reader", "2026-11-10T23:30:00.000000123Z", 2, "")),
    ("denied-run.log", ("denied_run", SECRET, "token-nobody", "2026-11-10T15:00:00.000000123Z", 6, "")),
])
def test_each_planted_pattern_is_one_review_item(log: str, expected: tuple[Any, ...]) -> None:
    assert items(review_of([FIX / log]).report()) == [expected]


def test_thresholds_are_settings() -> None:
    """The same logs judged with other settings: the items follow them (and the defaults flag nothing above)."""
    s = dataclasses.replace(VAULT, review_burst_reads=26)  # the burst has 25 reads
    assert items(review_of([FIX / "burst.log"], s).report()) == []
    s = dataclasses.replace(VAULT, review_denied_run=7)
    assert items(review_of([FIX / "denied-run.log"], s).report()) == []
    s = dataclasses.replace(VAULT, review_learning_days=9)  # the new address comes on day 8
    assert items(review_of([FIX / "new-source.log"], s).report()) == []
    s = dataclasses.replace(VAULT, review_hours="08:00-23:59")
    assert items(review_of([FIX / "off-hours.log"], s).report()) == []
    # in Tokyo (UTC+9) the clean log's 16:00 UTC reads are at 01:00 the next day: off hours
    s = dataclasses.replace(VAULT, review_timezone="Asia/Tokyo")
    found = items(review_of([FIX / "clean.log"], s).report())
    assert found and {i[0] for i in found} == {"off_hours"}
    # a denied read more than review_denied_seconds after the one before starts a new run
    s = dataclasses.replace(VAULT, review_denied_seconds=4)
    assert items(review_of([FIX / "denied-run.log"], s).report()) == []


def test_refused_reads_are_no_burst_no_new_source_and_no_off_hours() -> None:
    """token-nobody's reads were all refused: with thresholds every served read would cross, they give only their
    denied_run, never "N reads" of a burst, a new source or off hours (red team rt29, F6: 22 refused reads were
    "22 reads within ..." and "22 reads ... outside working hours")."""
    s = dataclasses.replace(VAULT, review_burst_reads=2, review_burst_seconds=10**6, review_hours="00:00-00:01",
                            review_learning_days=0)
    found = items(review_of([FIX / "denied-run.log"], s).report())
    nobody = {i[0] for i in found if i[2] == "token-nobody"}
    assert nobody == {"denied_run"}, found
    assert {"burst", "off_hours"} <= {i[0] for i in found if i[2] == "token-reader"}, found


def test_new_identities_since_a_date() -> None:
    doc = review_of([FIX / "clean.log"], dataclasses.replace(VAULT, review_since="2026-11-02T09:30:00Z")).report()
    new = doc["new_identities"]
    assert new["since"] == "2026-11-02T09:30:00.000000000Z" and new["cutoff"] == "review_since"
    assert [(i["display_name"], i["first"]) for i in new["identities"]] == [
        ("token-nobody", "2026-11-02T10:00:00.000000123Z")]
    # a log shorter than the default window cannot tell who is new, and says so
    short = review_of([SOURCE]).report()["new_identities"]
    assert not short["judged"] and short["identities"] == [] and "review_since" in short["reason"]


def test_review_settings_are_checked() -> None:
    for key, bad in (("review_since", "last week"), ("review_timezone", "Mars/Olympus"),
                     ("review_hours", "18:00-08:00"), ("review_workdays", ["someday"]),
                     ("review_burst_reads", 1), ("review_paths", ["secret/*/x"])):
        with pytest.raises(ConfigError, match=key):
            load([("pyproject.toml", {key: bad})])
    s = load([("t", {"review_since": "2026-01-31", "review_workdays": "sat, sun", "review_timezone": "Europe/Berlin"})])
    assert s.review_workdays == ("sat", "sun") and s.review_since == "2026-01-31"


# -- one pass, or parts merged in order --------------------------------------------------------------------------
def _combined() -> list[str]:
    """Every planted pattern in one log, at small thresholds so that they cross the cut points often."""
    b = _builder()
    events = b.baseline()
    tue = b.START + datetime.timedelta(days=8)
    t = tue.replace(hour=14)
    for i in range(40):  # dense runs broken by pauses: several bursts, and cuts inside and between them
        t += datetime.timedelta(seconds=(1, 1, 1, 1, 9, 1, 2, 12)[i % 8])
        events.append((t, "read", b.HOME))
    t = tue.replace(hour=15)
    for i in range(14):  # denied runs broken by pauses and by one allowed read
        t += datetime.timedelta(seconds=(5, 5, 5, 5000, 5, 5, 5)[i % 7])
        events.append((t, "read" if i == 10 else "denied", b.HOME))
    events += [(tue.replace(hour=13, minute=15), "read", "10.9.8.7"), (tue.replace(hour=23), "read", b.HOME)]
    return b._lines(events).splitlines(keepends=True)  # type: ignore[no-any-return]


def _parts(tmp_path: Path, lines: list[str], cuts: list[int]) -> list[Path]:
    out = []
    for n, (a, z) in enumerate(zip([0, *cuts], [*cuts, len(lines)])):
        p = tmp_path / f"part{n}.log"
        p.write_text("".join(lines[a:z]))
        out.append(p)
    return out


def test_merge_of_parts_equals_one_pass(tmp_path: Path) -> None:
    lines = _combined()
    s = dataclasses.replace(VAULT, review_burst_reads=4, review_burst_seconds=5, review_denied_run=3,
                            review_denied_seconds=600)
    whole = tmp_path / "whole.log"
    whole.write_text("".join(lines))
    one = review_of([whole], s).report()
    found = [i["pattern"] for i in one["items"]]
    assert found.count("burst") >= 3 and found.count("denied_run") >= 3 and "new_source" in found, found
    assert "off_hours" in found
    rng = random.Random(18)
    # every cut inside the burst and the denied run, and random two- and three-way cuts elsewhere
    burst_at = next(i for i, ln in enumerate(lines) if '"2026-11-10T14:00:01' in ln)
    denied_at = next(i for i, ln in enumerate(lines) if '"2026-11-10T15:00:05' in ln)
    cut_sets = [[c] for c in range(burst_at - 4, burst_at + 84)] + [[c] for c in range(denied_at - 4, denied_at + 30)]
    cut_sets += [[c, c + d] for c in range(burst_at, burst_at + 40, 3) for d in (1, 2, 5, 8)]
    cut_sets += [sorted(rng.sample(range(1, len(lines)), k)) for k in (1, 2, 3) for _ in range(15)]
    for cuts in cut_sets:
        parts = _parts(tmp_path, lines, cuts)
        # each part in its own Review (another process would do this), its state carried as JSON, merged in order
        states = [json.loads(json.dumps(review_of([p], s).state())) for p in parts]
        got = merged(s, states)
        assert got is not None
        assert got.report() == one, cuts
        # merge on the objects (pickled, as a process pool sends them) gives the same
        first, *rest = [pickle.loads(pickle.dumps(review_of([p], s))) for p in parts]
        for r in rest:
            first.merge(r)
        assert first.report() == one, cuts


def test_the_decoded_lines_and_the_raw_lines_give_the_same_review(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Who made a request is read from the reader's decoded line structs when it has them, else from the raw
    line: on every planted pattern, on a log whose accessors are in clear, and with refusals of both kinds
    (an error, and policies that did not allow it), the two give the same review."""
    from pytest_auditready.offline import reader

    lines = _combined()
    extra = []
    for ln in lines[:60]:
        doc = json.loads(ln)
        auth = doc.get("auth") or {}
        if auth.get("accessor"):
            auth["accessor"] = "clear-accessor-" + auth["accessor"][-6:]  # hmac_accessor = false
        if doc.get("type") == "request" and doc.get("request", {}).get("operation") == "read":
            auth.setdefault("policy_results", {})["allowed"] = False
        extra.append(json.dumps(doc, separators=(",", ":")) + "\n")
    log = tmp_path / "both.log"
    log.write_text("".join(lines + extra))
    s = dataclasses.replace(VAULT, review_burst_reads=4, review_burst_seconds=5, review_denied_run=3,
                            review_denied_seconds=600)
    decoded = review_of([log], s).report()
    made = reader.vault_block

    def without_structs(file: str, prefix: str = "") -> Any:
        decode = made(file, prefix)

        def strip(blk: Any) -> Any:
            batch = decode(blk)
            if batch is not None:
                batch.decoded = None
            return batch
        return strip

    monkeypatch.setattr(reader, "vault_block", without_structs)
    raw = review_of([log], s).report()
    assert decoded == raw
    assert decoded["items"] and any(p["denied"] for p in decoded["paths"]), decoded


def test_memory_is_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    """More distinct paths than are kept: the review keeps MAX_PATHS and counts the requests of the others."""
    real = [json.loads(x) for x in SOURCE.read_text().splitlines()[19:21]]
    out = []
    n = MAX_PATHS + 40
    for i in range(n):
        for e in real:
            e = json.loads(json.dumps(e))
            e["request"]["path"] = f"secret/data/many/{i}"
            out.append(json.dumps(e))
    log = tmp_path / "many.log"
    log.write_text("\n".join(out) + "\n")
    doc = review_of([log]).report()
    assert len(doc["paths"]) == MAX_PATHS and doc["paths_more"] == 40
    assert doc["requests"] == n == sum(p["requests"] for p in doc["paths"]) + doc["paths_more"]


# -- reports: evidence, report.html, the terminal, the exit code ---------------------------------------------
def _project(tmp_path: Path, *logs: str) -> tuple[list[Path], Path]:
    copies = []
    for name in logs:
        dst = tmp_path / name
        shutil.copy(FIX / name, dst)
        dst.chmod(0o600)
        copies.append(dst)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    return copies, cfg


def test_verify_evidence_holds_the_review_and_items_never_change_the_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (clean,), cfg = _project(tmp_path, "clean.log")
    assert main(["verify", str(clean), "--config", str(cfg), "--evidence", str(tmp_path / "ev0")]) == 0
    out = capsys.readouterr().out
    assert "access review: 1 paths, 2 identities, 0 items to review" in out
    planted, _ = _project(tmp_path, "burst.log", "new-source.log", "off-hours.log", "denied-run.log")
    for log in planted:
        ev = tmp_path / f"ev-{log.stem}"
        assert main(["verify", str(log), "--config", str(cfg), "--evidence", str(ev)]) == 0, log.name
        out = capsys.readouterr().out
        assert out.count("access review:") == 1 and "1 items to review" in out
        doc = json.loads((ev / "evidence.json").read_text())
        assert items(doc["review"]) == items(review_of([FIX / log.name]).report())
        assert doc["run"]["verdict"] == "passed"
        html = (ev / "report.html").read_text()
        assert f'<tr data-pattern="{doc["review"]["items"][0]["pattern"]}">' in html
        assert "<table id=\"review-paths\">" in html and SECRET in html
    # several files: one review of them all, in the order given
    ev = tmp_path / "ev-all"
    assert main(["verify", *map(str, planted), "--config", str(cfg), "--evidence", str(ev), "--review-since",
                 "2026-11-02"]) == 0
    doc = json.loads((ev / "evidence.json").read_text())["review"]
    assert sorted(i["pattern"] for i in doc["items"]) == ["burst", "denied_run", "new_source", "off_hours"]
    assert doc["settings"]["since"] == "2026-11-02" and doc["new_identities"]["cutoff"] == "review_since"
    assert doc["requests"] == sum(review_of([p]).report()["requests"] for p in planted)


def _hostile(tmp_path: Path) -> Path:
    """A real read pair whose path and display name carry markup and a newline with a workflow command."""
    real = [json.loads(x) for x in SOURCE.read_text().splitlines()[19:21]]
    out = []
    for e in real:
        e["request"]["path"] = "secret/data/<script>alert(1)</script>\n::error::pwned"
        e["auth"]["display_name"] = "<img src=x onerror=alert(2)>\n::error::name"
        e["request"]["remote_address"] = "\"><b>addr"
        out.append(json.dumps(e))
    log = tmp_path / "hostile.log"
    log.write_text("\n".join(out) + "\n")
    log.chmod(0o600)
    return log


def test_hostile_paths_and_identities_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _hostile(tmp_path)
    ev = tmp_path / "ev"
    main(["verify", str(log), "--evidence", str(ev)])
    out = capsys.readouterr().out
    assert not any(line.startswith("::error::") for line in out.splitlines())
    html = (ev / "report.html").read_text()
    i = html.index('<div id="review">')
    review_html = html[i:html.index("</div>", i)]
    assert "<script" not in html and "<img" not in html and "<b>" not in review_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x0a::error::pwned" in review_html
    assert "&lt;img src=x onerror=alert(2)&gt;\\x0a::error::name" in review_html
    assert "&quot;&gt;&lt;b&gt;addr" in review_html
    assert "\n::error::" not in html
    doc = json.loads((ev / "evidence.json").read_text())["review"]
    assert doc["paths"][0]["path"] == "secret/data/<script>alert(1)</script>\n::error::pwned"  # data kept as data


def test_offline_pytest_front_end_merges_the_files_like_verify(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """`pytest --auditready-offline A B` (files read on pytest-xdist workers) writes the same review as verify."""
    logs, cfg = _project(tmp_path, "burst.log", "off-hours.log")
    ev_verify = tmp_path / "ev-verify"
    main(["verify", *map(str, logs), "--config", str(cfg), "--evidence", str(ev_verify)])
    want = json.loads((ev_verify / "evidence.json").read_text())["review"]
    pytester.makepyprojecttoml("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    ev = pytester.path / "ev"
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--auditready-offline", *map(str, logs),
                                      f"--auditready-evidence={ev}")
    assert int(r.ret) == 0, r.stdout.str()
    assert r.stdout.str().count("access review:") == 1
    got = json.loads((ev / "evidence.json").read_text())["review"]
    assert got == want


# -- the live run --------------------------------------------------------------------------------------------
COUNTER = '''
import json, os
def pytest_auditready_report(result, config):
    """Count, from the log's own entries, each identity's requests and denied requests per canary path."""
    counts = {}
    for e in result.context.entries:
        d = e.data
        if d.get("type") != "request":
            continue
        req, auth = d.get("request") or {}, d.get("auth") or {}
        key = "|".join((req.get("path", ""), auth.get("display_name", ""), req.get("operation", "")))
        c = counts.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += 1 if d.get("error") else 0
    with open(os.path.join(str(config.rootpath), "counts.json"), "w") as f:
        json.dump({"counts": counts, "canaries": dict(result.ledger.canaries)}, f)
'''


@pytest.mark.vault
def test_live_embedded_review_counts_what_the_log_holds(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTER)
    ev = pytester.path / "ev"
    r = pytester.runpytest("--auditready", "-p", "no:cacheprovider", f"--auditready-evidence={ev}")
    assert r.ret == 0, r.stdout.str()
    assert len(r.stdout.lines) and sum("access review:" in ln for ln in r.stdout.lines) == 1
    data = json.loads((pytester.path / "counts.json").read_text())
    review = json.loads((ev / "evidence.json").read_text())["review"]
    by_path = {p["path"]: p for p in review["paths"]}
    canary_paths = set(data["canaries"].values())
    assert canary_paths
    seen_identities = set()
    for path in canary_paths:
        want: dict[tuple[str, str], list[int]] = {}
        for key, (n, denied) in data["counts"].items():
            p, name, op = key.split("|")
            if p == path:
                want[(name, op)] = [n, denied]
        assert want, f"the scenario touched no canary at {path}"
        got = {(i["display_name"], op): [c["requests"], c["denied"]]
               for i in by_path[path]["identities"] for op, c in i["operations"].items()}
        assert got == want, path
        seen_identities |= {name for name, _ in got}
    assert len(seen_identities) >= 2  # the scenario's reader, writer, unprivileged identities, ...
    html = (ev / "report.html").read_text()
    for path in canary_paths:
        assert path in html


def _burst_reference(times: list[int], n: int, w: int) -> list[list[int]]:
    """Burst episodes by the definition, read by read: a read is in a burst when it and the n - 1 reads before it
    lie within w (any time order); an episode is a run of consecutive such reads, [start, end, reads, lead]. The
    first _EPISODES ended ones are kept, and the one still open."""
    from pytest_auditready.review import _EPISODES

    out: list[list[int]] = []
    cur = None
    for i, t in enumerate(times):
        if i < n - 1:
            continue
        window = times[i - n + 1 : i + 1]
        if max(window) - min(window) <= w:
            if cur is not None:
                cur[1], cur[2] = t, cur[2] + 1
            else:
                cur = [min(window), t, n, int(i + 1 == n)]
        elif cur is not None:
            if len(out) < _EPISODES:
                out.append(cur)
            cur = None
    return [*out, *([cur] if cur is not None else [])]


@pytest.mark.parametrize("seed", range(8))
def test_burst_episodes_hold_to_the_definition_in_any_time_order(seed: int) -> None:
    """Burst keeps whether its last reads are in time order, to find a window's bounds without looking at it: in
    order, out of order, and across a state round trip and a merge of two parts, the episodes are the definition's."""
    from pytest_auditready.review import Burst

    rnd = random.Random(seed)
    n, w = rnd.choice([(1, 5), (2, 5), (3, 10), (20, 60)])
    t, times = 0, []
    for _ in range(600):
        t += rnd.choice([0, 1, 1, 2, 3, 8, 30, 90])
        times.append(t)
    for _ in range(rnd.randrange(0, 60)):  # some reads logged out of time order
        i = rnd.randrange(1, len(times))
        times[i - 1], times[i] = times[i], times[i - 1]
    one = Burst()
    for x in times:
        one.add(x, n, w)
    assert one.episodes() == _burst_reference(times, n, w)
    cut = rnd.randrange(1, len(times))
    a, b = Burst(), Burst()
    for x in times[:cut]:
        a.add(x, n, w)
    a = Burst.of(pickle.loads(pickle.dumps(a.state())))
    for x in times[cut:]:
        b.add(x, n, w)
    a.merge(b, n, w)
    for x in [times[-1] + 1, times[-1] - 2, times[-1] + 3]:  # reads after the merge continue the same way
        a.add(x, n, w)
        one.add(x, n, w)
    assert a.episodes() == one.episodes() == _burst_reference([*times, times[-1] + 1, times[-1] - 2,
                                                              times[-1] + 3], n, w)


def test_a_review_path_without_its_slash_names_the_folders_listing() -> None:
    """OpenBao logs a LIST on the folder with a trailing '/' (``secret/metadata/app-c9d897/``); a review path
    written without it names the listing too, as a Vault policy path does (and access_policy, auditready access)."""
    listed = [json.loads(line)["request"]["path"] for line in SOURCE.read_text().splitlines()
              if json.loads(line).get("type") == "request" and json.loads(line)["request"].get("operation") == "list"]
    folder = listed[0]
    assert folder.endswith("/")
    for named in (folder, folder[:-1]):
        doc = review_of([SOURCE], dataclasses.replace(VAULT, review_paths=(named,))).report()
        assert [p["path"] for p in doc["paths"]] == [folder], named
        assert sum(p["requests"] for p in doc["paths"]) == listed.count(folder)


@pytest.mark.vault
def test_the_live_runs_own_reads_are_counted_but_no_item_to_review(pytester: pytest.Pytester) -> None:
    """Outside working hours (here: today is no workday) the scenario's reads of its canaries were items to review
    on every clean run (red team rt40, F10): they are the run's ledger's, still counted with their paths."""
    import datetime

    today = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.datetime.now(datetime.timezone.utc).weekday()]
    days = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d != today]
    pytester.makepyprojecttoml("[tool.auditready]\nreview_workdays = [" + ", ".join(f'"{d}"' for d in days) + "]\n")
    ev = pytester.path / "ev"
    r = pytester.runpytest("--auditready", "-p", "no:cacheprovider", f"--auditready-evidence={ev}")
    assert r.ret == 0, r.stdout.str()
    doc = json.loads((ev / "evidence.json").read_text())
    review, canaries = doc["review"], set(doc["ledger"]["canaries"].values())
    assert canaries and canaries <= {p["path"] for p in review["paths"]}  # counted as any path
    run_id = doc["ledger"]["run_id"]
    assert not [i for i in review["items"] if run_id in i["path"]], review["items"]
