"""retention (issue 18, item 1): a log set holds the history the policy asks for, without holes.

The sets are built from entries a real OpenBao wrote (fixtures/openbao/clean.log), their times moved to the days
of the history being built, one file a month as logrotate leaves them (some gzip-compressed), so that the check
reads what a vault writes, only older.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import pytest

from pytest_auditready.checks import retention
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from tests._native_runs import completed
from tests.auditrun import run_audit

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
RECORDED = [ln for ln in CLEAN.read_bytes().splitlines() if ln.strip()]
PAIRED = RECORDED[1:]  # request, response, request, response, ... (every pair adjacent, as recorded)
CHECKS = [retention.CHECK]
DAY = datetime.timedelta(days=1)


def days_between(first: datetime.date, last: datetime.date, skip: Iterable[datetime.date] = ()) -> list[datetime.date]:
    gone = set(skip)
    n = (last - first).days + 1
    return [first + i * DAY for i in range(n) if first + i * DAY not in gone]


def entries_on(days: Sequence[datetime.date], per_day: int = 2) -> list[bytes]:
    """Real recorded entries, ``per_day`` of them on each of ``days``, their times moved to that day (the time of
    day and fraction kept), in time order. A request and its response stay together on one day (``PAIRED``: the
    recorded log without its device self-test, whose request has no response), as the vault writes them."""
    out = []
    k = 0
    for day in days:
        for _ in range(per_day):
            d = json.loads(PAIRED[k % len(PAIRED)])
            k += 1
            d["time"] = day.isoformat() + d["time"][10:]
            out.append(json.dumps(d, separators=(",", ":")).encode())
    return out


def write_set(folder: Path, days: Sequence[datetime.date], name: str = "audit.log",
              newest: Optional[str] = None) -> list[Path]:
    """One file a month: the newest month is ``newest`` (default ``name``), older ones ``name-YYYYMM`` (every
    other one gzipped), as logrotate with dateext leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    months: dict[str, list[datetime.date]] = {}
    for d in days:
        months.setdefault(d.strftime("%Y%m"), []).append(d)
    keys = sorted(months)
    paths = []
    for i, ym in enumerate(keys):
        data = b"".join(ln + b"\n" for ln in entries_on(months[ym]))
        if ym == keys[-1]:
            p = folder / (newest or name)
        elif i % 2:
            p = folder / f"{name}-{ym}.gz"
            data = gzip.compress(data)
        else:
            p = folder / f"{name}-{ym}"
        p.write_bytes(data)
        p.chmod(0o600)
        paths.append(p)
    return paths


THIRTEEN_MONTHS = days_between(datetime.date(2025, 1, 1), datetime.date(2026, 1, 31))
# The day the historical sets here are judged as of (retention_as_of): the day after THIRTEEN_MONTHS' last, as an
# archive closed then; without it the days since 2026-01-31 are a run without entries (red team rt55 F1).
AS_OF = "2026-02-01"


def judge(paths: Sequence[Path], settings: Optional[Settings] = None, as_of: str = AS_OF) -> list[Outcome]:
    """The retention outcome of each file, the files read as `auditready verify` reads them (log_set = all), judged
    as of ``as_of`` (retention_as_of; "": the verification's day) unless ``settings`` names a day."""
    s = settings or Settings()
    if not s.retention_as_of:
        s = dataclasses.replace(s, retention_as_of=as_of)
    names = tuple(str(p) for p in paths)
    return [verify_file(n, s, CHECKS, {}, names).outcomes[0] for n in names]


def verdict(paths: Sequence[Path], settings: Optional[Settings] = None, as_of: str = AS_OF) -> Outcome:
    """The set's verdict: carried by the last file of the set; the others pass with a note naming it."""
    outs = judge(paths, settings, as_of)
    for o in outs[:-1]:
        assert o.status == PASSED and f"on {paths[-1]}" in o.reason, o
    return outs[-1]


def texts(o: Outcome) -> list[str]:
    return [f.text() for f in o.findings]


def test_thirteen_months_of_rotated_compressed_files_pass(tmp_path: Path) -> None:
    paths = write_set(tmp_path, THIRTEEN_MONTHS)
    assert len(paths) == 13 and any(p.suffix == ".gz" for p in paths)
    o = verdict(paths)
    assert o.status == PASSED, texts(o)
    assert "396 days (2025-01-01 to 2026-01-31)" in o.reason
    # the verdict rests on every file: each alone holds one month and fails
    alone = judge([paths[-1]])[0]
    assert alone.status == FAILED and "31 days (2026-01-01 to 2026-01-31)" in texts(alone)[0]


def test_ten_days_fail_and_the_fix_names_archiving(tmp_path: Path) -> None:
    paths = write_set(tmp_path, days_between(datetime.date(2026, 1, 22), datetime.date(2026, 1, 31)))
    o = verdict(paths)
    assert o.status == FAILED
    (text,) = texts(o)
    assert "10 days (2026-01-22 to 2026-01-31) of history: less than the 365 days retention_days asks" in text
    assert "nor the 90 most recent days retention_online_days asks" in text
    assert "archive" in text and "retention_archive" in text


def test_a_missing_week_fails_naming_the_dates(tmp_path: Path) -> None:
    week = days_between(datetime.date(2025, 6, 10), datetime.date(2025, 6, 16))
    one_day = [datetime.date(2025, 9, 3)]  # within retention_max_gap_days = 1: allowed
    paths = write_set(tmp_path, days_between(THIRTEEN_MONTHS[0], THIRTEEN_MONTHS[-1], skip=week + one_day))
    o = verdict(paths)
    assert o.status == FAILED
    (text,) = texts(o)
    assert "No entry from 2025-06-10 to 2025-06-16 (7 days)" in text and "retention_max_gap_days" in text
    # with no missing day allowed, the single day is named too
    strict = verdict(paths, Settings(retention_max_gap_days=0))
    assert [t.split(" in the log set")[0] for t in texts(strict)] == [
        "No entry from 2025-06-10 to 2025-06-16 (7 days)", "No entry on 2025-09-03 (1 day)"]


def test_a_rotated_file_left_out_of_the_set_is_a_gap(tmp_path: Path) -> None:
    paths = write_set(tmp_path, THIRTEEN_MONTHS)
    march = next(p for p in paths if "202503" in p.name)
    o = verdict([p for p in paths if p != march])
    assert o.status == FAILED
    assert any("No entry from 2025-03-01 to 2025-03-31 (31 days)" in t for t in texts(o)), texts(o)


def test_the_newest_months_must_be_at_hand_not_only_in_the_archive(tmp_path: Path) -> None:
    paths = write_set(tmp_path / "logs", THIRTEEN_MONTHS)
    archive = tmp_path / "archive"
    archive.mkdir()
    # the newest two months at hand, eleven in the archive: a year in all, but not the last 90 days at hand
    for p in paths[:-2]:
        p.rename(archive / p.name)
    o = verdict(paths[-2:], Settings(retention_archive=(str(archive),)))
    assert o.status == FAILED
    (text,) = texts(o)
    assert "The most recent 90 days" in text and "(2025-11-03 to 2026-01-31)" in text
    assert "files outside retention_archive begin on 2025-12-01" in text
    # four months at hand: it holds
    for p in paths[-4:-2]:
        (archive / p.name).rename(p)
    ok = verdict(paths[-4:], Settings(retention_archive=(str(archive),)))
    assert ok.status == PASSED, texts(ok)
    assert "396 days" in ok.reason


def test_no_readable_time_and_empty_files_fail_closed(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    o = judge([empty])[0]
    assert o.status == FAILED and texts(o) == [f"No history can be measured in the audit log {empty}: it holds no "
                                               "audit entry. Fix: point the check at the audit log the vault's audit "
                                               "device writes (its file_path), with its entries"]
    untimed = tmp_path / "untimed.log"
    lines = []
    for ln, t in zip(RECORDED[:5], ["yesterday", "", "2026-13-01T00:00:00.1Z", "9999-12-31T23:59:60.5Z", "0"]):
        d = json.loads(ln)
        d["time"] = t  # no time, not a time, no such month, a leap second past the last day there is
        lines.append(json.dumps(d).encode())
    untimed.write_bytes(b"\n".join(lines) + b"\n")
    o = judge([untimed])[0]
    assert o.status == FAILED and "none of its 5 entries carries a readable time" in texts(o)[0]


def test_retention_days_zero_skips_with_the_reason(tmp_path: Path) -> None:
    paths = write_set(tmp_path, days_between(datetime.date(2026, 1, 30), datetime.date(2026, 1, 31)))
    o = judge(paths, Settings(retention_days=0))[0]
    assert o.status == SKIPPED and "retention_days = 0" in o.reason


def test_verify_command_judges_the_set(tmp_path: Path) -> None:
    """`auditready verify` over a folder: every other check runs too, and the set passes retention."""
    logs = tmp_path / "logs"
    write_set(logs, THIRTEEN_MONTHS)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_as_of = "{AS_OF}"\n')
    r = completed(["verify", "--config", str(cfg), str(logs), "--json", str(tmp_path / "out.json")], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    ret = [o for o in doc["outcomes"] if o["check"] == "retention"]
    assert len(ret) == 13 and all(o["status"] == "passed" for o in ret)
    assert sum("396 days" in o["reason"] for o in ret) == 1
    # the same set with a week gone: exit 1, the dates named
    week = days_between(datetime.date(2025, 6, 10), datetime.date(2025, 6, 16))
    holed = tmp_path / "holed"
    write_set(holed, days_between(THIRTEEN_MONTHS[0], THIRTEEN_MONTHS[-1], skip=week))
    r = completed(["verify", "--config", str(cfg), str(holed)], timeout=120)
    assert r.returncode == 1 and "FAIL retention" in r.stdout and "2025-06-10 to 2025-06-16" in r.stdout


# -- live runs ---------------------------------------------------------------------------------------------------
@pytest.mark.vault
def test_embedded_target_skips_retention_with_the_reason(pytester: pytest.Pytester) -> None:
    run = run_audit(pytester, None, retention_days=365)
    assert run.status("retention") == "skipped"
    assert "an OpenBao started for this run, with no history to retain" in run.outputs["pytest junit"]
    assert run.result.ret == 0, run.result.stdout.str()[-2000:]


@pytest.mark.vault
def test_url_target_judges_its_log_and_the_rotated_files_beside_it(pytester: pytest.Pytester, bao: Any,
                                                                     url_env: Any) -> None:
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, retention_days=365)
    assert run.status("retention") == "failed"
    text = run.text("retention")
    assert f"The audit log {server.log_path} holds" in text and "less than the 365 days retention_days asks" in text
    assert "rarely holds more than a few days" in text and "set retention_archive" in text
    # thirteen months rotated beside it (up to yesterday; today is the live log's): the run holds
    today = datetime.datetime.now(datetime.timezone.utc).date()
    history = days_between(today - 400 * DAY, today - DAY)
    rotated = write_set(server.log_path.parent, history, newest="audit.log.1")
    assert len(rotated) >= 13 and server.log_path not in rotated
    run = run_audit(pytester, server, seal=False, retention_days=365)
    assert run.status("retention") == "passed", run.text("retention")
    assert run.failed_checks() == set(), run.result.stdout.str()[-3000:]


def test_pytest_offline_with_xdist_judges_the_set_once(pytester: pytest.Pytester) -> None:
    """`pytest --auditready-offline` spreads files over workers: the worker that carries the verdict reads the day
    counts of the files it did not see; the verdict is the same as in one process."""
    week = days_between(datetime.date(2025, 6, 10), datetime.date(2025, 6, 16))
    paths = write_set(pytester.path / "logs", days_between(THIRTEEN_MONTHS[0], THIRTEEN_MONTHS[-1], skip=week))
    cfg = pytester.path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_as_of = "{AS_OF}"\n')
    args = ["-p", "no:cacheprovider", "--auditready-config", str(cfg), "-k", "retention", "-rf",
            "--auditready-offline", *map(str, paths)]
    for extra in ([], ["-n", "2"]):
        r = pytester.runpytest(*extra, *args)
        r.assert_outcomes(passed=12, failed=2)  # and auditready-offline::not_run: -k left the other checks out
        out = r.stdout.str()
        assert f"auditready-offline[{paths[-1]}]::retention" in out and "2025-06-10 to 2025-06-16" in out


# -- days after this verification are no history; an old history says how old (red team rt6 F5) ------------------


def test_days_after_this_verification_are_not_history(tmp_path: Path) -> None:
    """Fails without the fix: a log dated wholly in the future passed 'spans 400 days, the newest 90 at hand'."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    ahead = days_between(today + 200 * DAY, today + 599 * DAY)
    o = verdict(write_set(tmp_path / "future", ahead), as_of="")
    assert o.status == FAILED and any("every day it holds is after this verification" in t for t in texts(o)), o
    # a year that ends today, and a month more dated after it: that month fills no gap and adds no day
    year = days_between(today - 340 * DAY, today) + days_between(today + 5 * DAY, today + 40 * DAY)
    o = verdict(write_set(tmp_path / "mixed", year), as_of="")
    assert o.status == FAILED and any("341 days" in t and "Its 36 day(s) dated after this verification are not "
                                      "counted" in t for t in texts(o)), texts(o)


def test_a_history_that_ended_long_ago_says_how_long(tmp_path: Path) -> None:
    """A set whose newest entry is months old: the days since, up to this verification, are a run without entries
    (it passed, saying only how old it was: red team rt55 F1); judged as of the day it was closed, it holds."""
    paths = write_set(tmp_path, THIRTEEN_MONTHS)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    quiet = (today - datetime.date(2026, 1, 31)).days - 1
    o = verdict(paths, as_of="")
    assert o.status == FAILED
    (text,) = texts(o)
    assert (f"No entry from 2026-02-01 to {today - DAY} ({quiet} days) in the log set of 13 files" in text
            and f"its newest entry is on 2026-01-31, and nothing after it up to this verification ({today})"
            in text), text
    ok = verdict(paths, Settings(retention_as_of="2026-02-01"))
    assert ok.status == PASSED, texts(ok)
    assert "judged as of 2026-02-01 (retention_as_of)" in ok.reason, ok.reason


def test_retention_as_of_judges_what_the_set_held_on_that_day(tmp_path: Path) -> None:
    """retention_as_of judges the set as it was on that day: its days after it are not counted (red team rt61 F2: a
    set that held 242 of the 365 days on its as-of day passed on the months after it, and so did an as-of day before
    its first entry). The same set as of its own last day holds."""
    paths = write_set(tmp_path, THIRTEEN_MONTHS)  # 2025-01-01 to 2026-01-31
    mid = verdict(paths, as_of="2025-08-31")  # 243 days held then
    assert mid.status == FAILED
    said = texts(mid)
    assert any("243 days" in t and "less than the 365 days" in t for t in said), said
    before = verdict(paths, as_of="2024-12-01")
    assert before.status == FAILED
    assert any("every day it holds is after 2024-12-01" in t and "retention_as_of" in t for t in texts(before)), \
        texts(before)
    assert verdict(paths, as_of="2026-01-31").status == PASSED


def test_a_live_log_command_run_judges_the_archive_it_is_given(tmp_path: Path) -> None:
    """A log command's entries have no local file: with retention_archive the archive's days are judged (it failed
    "no local log file" whatever the archive held: red team rt9 IN-1); without it, the fix names retention_archive."""
    from types import SimpleNamespace

    archive = tmp_path / "archive"
    write_set(archive, THIRTEEN_MONTHS)

    def live(settings: Settings) -> list[Any]:
        ctx = SimpleNamespace(settings=settings, ledger=object(), log_path=None, source="log_command[journalctl]",
                              current="", tallies={})
        return list(retention.run(ctx))  # type: ignore[arg-type]

    held = live(Settings(target="https://vault.example:8200", retention_archive=(str(archive),),
                         retention_online_days=0, retention_as_of=AS_OF))
    assert held and not any(isinstance(s, retention.Finding) for s in held), held
    assert any("396 days" in getattr(s, "text", "") for s in held), held
    short = tmp_path / "short"
    write_set(short, days_between(datetime.date(2026, 1, 22), datetime.date(2026, 1, 31)))
    failed = live(Settings(target="https://vault.example:8200", retention_archive=(str(short),),
                           retention_as_of=AS_OF))
    assert any(isinstance(s, retention.Finding) and "10 days" in s.message for s in failed), failed
    (none,) = live(Settings(target="https://vault.example:8200"))
    assert isinstance(none, retention.Finding) and "set retention_archive" in none.fix


# -- the days after the newest entry up to the verification are days without entries (red team rt55 F1) ------------


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


def test_a_set_that_ended_weeks_ago_fails_unless_judged_as_of_its_close(tmp_path: Path) -> None:
    """400 days ending 40 days ago span retention_days from their own newest day: they passed. The 39 days since
    (today, under way, aside) are now a run without entries; judged as of the day after its last, the set holds."""
    today = _today()
    first, last = today - 439 * DAY, today - 40 * DAY
    paths = write_set(tmp_path, days_between(first, last))
    o = verdict(paths, as_of="")
    assert o.status == FAILED
    (text,) = texts(o)
    assert f"No entry from {last + DAY} to {today - DAY} (39 days)" in text, text
    assert f"its newest entry is on {last}, and nothing after it up to this verification ({today})" in text, text
    assert "more than the 1 day without entries retention_max_gap_days allows" in text, text
    assert "Fix: " in text and "set retention_as_of in [tool.auditready]" in text.split("Fix: ")[1], text
    closed = (last + DAY).isoformat()
    ok = verdict(paths, Settings(retention_as_of=closed))
    assert ok.status == PASSED, texts(ok)
    assert "spans 400 days" in ok.reason and f"judged as of {closed} (retention_as_of)" in ok.reason, ok.reason
    # judged as of a later day, the days up to it are named, and the day it names
    later = verdict(paths, Settings(retention_as_of=(last + 5 * DAY).isoformat()))
    assert later.status == FAILED
    (text,) = texts(later)
    assert (f"No entry from {last + DAY} to {last + 4 * DAY} (4 days)" in text
            and f"the day retention_as_of judges it as of ({last + 5 * DAY})" in text), text
    # judged as of a day before its newest entry: the days after it are said, and not counted (red team rt61 F2)
    early = verdict(paths, Settings(retention_as_of=(last - 3 * DAY).isoformat()))
    assert early.status == PASSED and "spans 397 days" in early.reason, early.reason
    assert "3 day(s)" in early.reason and "are not counted: it is judged by what it held then" in early.reason


def test_the_day_under_way_is_not_counted_and_max_gap_days_holds_for_the_tail(tmp_path: Path) -> None:
    """A set ending yesterday has no day without entries (today is under way), even with none allowed; a set
    ending the day before has one (yesterday): within retention_max_gap_days = 1, a finding with 0."""
    today = _today()
    to_yesterday = write_set(tmp_path / "yesterday", days_between(today - 399 * DAY, today - DAY))
    for gap in (1, 0):
        o = verdict(to_yesterday, Settings(retention_max_gap_days=gap), as_of="")
        assert o.status == PASSED, (gap, texts(o))
    two_ago = write_set(tmp_path / "two", days_between(today - 400 * DAY, today - 2 * DAY))
    o = verdict(two_ago, as_of="")
    assert o.status == PASSED, texts(o)
    strict = verdict(two_ago, Settings(retention_max_gap_days=0), as_of="")
    assert strict.status == FAILED
    (text,) = texts(strict)
    assert f"No entry on {today - DAY} (1 day)" in text and f"its newest entry is on {today - 2 * DAY}" in text, text


def _verify_cli(tmp_path: Path, logs: Path, setting: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 10\n"
                   f"retention_online_days = 10\n{setting}")
    return completed(["verify", "--config", str(cfg), str(logs)], tmp_path)  # a fork of the verify server


def test_retention_as_of_is_a_date(tmp_path: Path) -> None:
    """retention_as_of takes a UTC date: no such day and a word are usage errors (exit 2, one line naming the key);
    a TOML date is a date."""
    logs = tmp_path / "logs"
    write_set(logs, days_between(datetime.date(2026, 1, 22), datetime.date(2026, 1, 31)))
    for bad in ('"2026-02-30"', '"yesterday"'):
        r = _verify_cli(tmp_path, logs, f"retention_as_of = {bad}\n")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "retention_as_of" in lines[0], (bad, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
    r = _verify_cli(tmp_path, logs, "")
    assert r.returncode == 1 and "FAIL retention" in r.stdout and "No entry from 2026-02-01 to" in r.stdout, r.stdout
    r = _verify_cli(tmp_path, logs, "retention_as_of = 2026-01-31\n")  # a TOML local date, unquoted
    assert r.returncode == 0, r.stdout + r.stderr
    assert "judged as of 2026-01-31 (retention_as_of)" in r.stdout, r.stdout
